"""In-place ops whose source shares the written tensor's memory, and writes into expanded
tensors, against PyTorch live (session 34): ``index_add_``, ``index_copy_``, ``index_put_``
(and ``x[index] = v``), ``scatter_``/``scatter_add_``/``scatter_reduce_``,
``index_reduce_`` and ``put_`` refuse a source sharing any element with the tensor
written (the tensor itself included, whatever its layout); ``masked_fill_``/``index_fill_``
(a value that is one element of it) and ``masked_scatter_`` check nothing; elementwise ops
and ``copy_`` refuse a partial overlap only. Into an expanded tensor ``index_fill_``,
``masked_fill_`` and ``index_put_`` write with PyTorch's deprecation warning; other ops
refuse ("more than one element of the written-to tensor refers to a single memory
location")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _outcome(fn):
    """``("ok", values)`` or ``(error type, which of PyTorch's two overlap errors)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn()
        except RuntimeError as err:
            text = str(err)
            if "some elements of the input tensor and the written-to tensor" in text:
                return "RuntimeError", "input overlaps"
            if "more than one element of the written-to tensor" in text:
                return "RuntimeError", "internal overlap"
            return "RuntimeError", text[:60]
    return "ok", np.asarray(out.numpy() if hasattr(out, "numpy") else out).tolist()


def _x6(lib):
    return lib.arange(6.0).reshape(2, 3)


def _i(lib, *v):
    return lib.tensor(list(v), dtype=lib.long)


def _set(x, idx, v):
    x[idx] = v
    return x


def _set_expanded(lib, idx, v):
    x = lib.ones(1, 2)
    x.expand(3, 2)[idx] = v
    return x


CASES = {
    # written at indices: any overlap refused
    "index_add_ self": lambda lib: (lambda x: x.index_add_(0, _i(lib, 0, 1), x))(_x6(lib)),
    "index_add_ view": lambda lib: (lambda x: x.index_add_(0, _i(lib, 0), x[1:]))(_x6(lib)),
    "index_add_ same view": lambda lib: (lambda x: x[0].index_add_(0, _i(lib, 0, 1, 2), x[0]))(
        _x6(lib)
    ),
    "index_add_ non-dense self": lambda lib: (lambda v: v.index_add_(0, _i(lib, 0, 1), v))(
        lib.arange(4.0)[::2]
    ),
    "index_add_ disjoint view": lambda lib: (lambda x: x[:2].index_add_(0, _i(lib, 0, 1), x[2:]))(
        lib.arange(4.0)
    ),
    "index_add_ non-dense overlap": lambda lib: (
        lambda x: x[:, :2].index_add_(1, _i(lib, 0, 1), x[:, 1:])
    )(_x6(lib)),
    "index_add_ clone": lambda lib: (lambda x: x.index_add_(0, _i(lib, 0, 1), x.clone()))(_x6(lib)),
    "index_copy_ self": lambda lib: (lambda x: x.index_copy_(0, _i(lib, 1, 0), x))(_x6(lib)),
    "index_copy_ disjoint": lambda lib: (lambda x: x[:2].index_copy_(0, _i(lib, 1, 0), x[2:]))(
        lib.arange(4.0)
    ),
    "index_put_ self": lambda lib: (lambda x: x.index_put_((_i(lib, 1, 0),), x))(_x6(lib)),
    "index_put_ view": lambda lib: (lambda x: x.index_put_((_i(lib, 0),), x[1:]))(_x6(lib)),
    "index_put_ accumulate view": lambda lib: (
        lambda x: x.index_put_((_i(lib, 0),), x[1:], accumulate=True)
    )(_x6(lib)),
    "setitem index, row view": lambda lib: _set(_x6(lib), _i(lib, 0), _x6(lib)[1]),
    "setitem index, own row": lambda lib: (lambda x: _set(x, _i(lib, 0), x[1]))(_x6(lib)),
    "setitem index, 0-dim view": lambda lib: (lambda x: _set(x, _i(lib, 0, 1), x[0, 0]))(_x6(lib)),
    "setitem mask, 0-dim view": lambda lib: (lambda x: _set(x, x > 2, x[0, 1]))(_x6(lib)),
    "setitem mask, vector view": lambda lib: (lambda x: _set(x, x > 3, x[0, :2]))(_x6(lib)),
    "setitem int+index, other row": lambda lib: (lambda x: _set(x, (0, _i(lib, 0, 1)), x[1, :2]))(
        _x6(lib)
    ),
    "setitem int+index, same row": lambda lib: (lambda x: _set(x, (0, _i(lib, 1, 0)), x[0, :2]))(
        _x6(lib)
    ),
    "setitem slice, overlap": lambda lib: (lambda x: _set(x, (0, slice(0, 2)), x[0, 1:]))(_x6(lib)),
    "scatter_ self": lambda lib: (lambda x: x.scatter_(1, lib.tensor([[2, 1, 0], [0, 1, 2]]), x))(
        _x6(lib)
    ),
    "scatter_add_ self": lambda lib: (
        lambda x: x.scatter_add_(1, lib.tensor([[2, 1, 0], [0, 1, 2]]), x)
    )(_x6(lib)),
    "scatter_reduce_ self": lambda lib: (
        lambda x: x.scatter_reduce_(1, lib.tensor([[2, 1, 0], [0, 1, 2]]), x, "sum")
    )(_x6(lib)),
    "scatter_ disjoint": lambda lib: (lambda x: x[:2].scatter_(0, _i(lib, 1, 0), x[2:]))(
        lib.arange(4.0)
    ),
    "index_reduce_ self": lambda lib: (lambda x: x.index_reduce_(0, _i(lib, 1, 0), x, "prod"))(
        _x6(lib)
    ),
    "put_ self": lambda lib: (lambda x: x.put_(_i(lib, 3, 2, 1, 0), x))(lib.arange(4.0)),
    "put_ disjoint": lambda lib: (lambda x: x[:2].put_(_i(lib, 1, 0), x[2:]))(lib.arange(4.0)),
    # no check
    "masked_scatter_ self": lambda lib: (lambda x: x.masked_scatter_(x > 2, x))(_x6(lib)),
    "masked_scatter_ overlap": lambda lib: (
        lambda x: x.view(-1)[:4].masked_scatter_(lib.ones(4, dtype=lib.bool), x.view(-1)[2:])
    )(_x6(lib)),
    "masked_fill_ value view": lambda lib: (lambda x: x.masked_fill_(x > 2, x[0, 1]))(_x6(lib)),
    "index_fill_ value view": lambda lib: (lambda x: x.index_fill_(1, _i(lib, 0), x[0, 1]))(
        _x6(lib)
    ),
    "fill_ value view": lambda lib: (lambda x: x.fill_(x[1]))(lib.arange(4.0)),
    # elementwise and copy_: a partial overlap refused
    "copy_ self": lambda lib: (lambda x: x.copy_(x))(_x6(lib)),
    "copy_ transpose": lambda lib: (lambda x: x.copy_(x.t()))(lib.arange(9.0).reshape(3, 3)),
    "copy_ shifted": lambda lib: (lambda x: x[:4].copy_(x[2:]))(lib.arange(6.0)),
    "copy_ flipped": lambda lib: (lambda x: x.copy_(x.flip(0)))(lib.arange(6.0)),
    "add_ shifted": lambda lib: (lambda x: x[:4].add_(x[2:]))(lib.arange(6.0)),
    "mul_ self": lambda lib: (lambda x: x.mul_(x))(lib.arange(6.0)),
    "mul_ broadcast row": lambda lib: (lambda x: x.mul_(x[0]))(_x6(lib)),
    "addcmul_ self": lambda lib: (lambda x: x.addcmul_(x, x))(lib.arange(4.0)),
    # expanded tensors written
    "expanded add_": lambda lib: lib.ones(1, 2).expand(3, 2).add_(1),
    "expanded copy_": lambda lib: lib.ones(1, 2).expand(3, 2).copy_(lib.ones(3, 2)),
    "expanded fill_": lambda lib: (lambda x: (x.expand(3, 2).fill_(5), x)[1])(lib.ones(1, 2)),
    "expanded index_add_": lambda lib: (
        lib.ones(1, 2).expand(3, 2).index_add_(0, _i(lib, 0), lib.ones(1, 2))
    ),
    "expanded index_copy_": lambda lib: (
        lib.ones(1, 2).expand(3, 2).index_copy_(0, _i(lib, 0), lib.ones(1, 2))
    ),
    "expanded scatter_": lambda lib: (
        lib.ones(1, 2).expand(3, 2).scatter_(0, lib.zeros(1, 2, dtype=lib.long), 2.0)
    ),
    "expanded masked_scatter_": lambda lib: (
        lib.ones(1, 2).expand(3, 2).masked_scatter_(lib.ones(3, 2, dtype=lib.bool), lib.ones(6))
    ),
    "expanded index_fill_": lambda lib: lib.ones(1, 2).expand(3, 2).index_fill_(1, _i(lib, 0), 3.0),
    "expanded masked_fill_ one row": lambda lib: (
        lambda x, m: (x.expand(3, 2).masked_fill_(m, 3.0), x)[1]
    )(lib.ones(1, 2), lib.tensor([[True, False], [False, False], [False, False]])),
    "expanded index_put_": lambda lib: (
        lib.ones(1, 2).expand(3, 2).index_put_((_i(lib, 0),), lib.tensor([2.0, 3.0]))
    ),
    "expanded setitem mask": lambda lib: _set_expanded(
        lib, lib.tensor([[False, False], [True, False], [False, True]]), 4.0
    ),
    "expanded setitem index": lambda lib: _set_expanded(
        lib, _i(lib, 0, 2), lib.tensor([[5.0, 6.0], [7.0, 8.0]])
    ),
    "expanded setitem row": lambda lib: _set_expanded(lib, 0, 7.0),
    "expanded setitem all": lambda lib: _set_expanded(lib, slice(None), 7.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_aliasing_and_expanded_writes_like_torch(case):
    ours, theirs = _outcome(lambda: CASES[case](cr)), _outcome(lambda: CASES[case](torch))
    assert ours[0] == theirs[0], (ours, theirs)
    if theirs[0] == "ok":
        np.testing.assert_allclose(ours[1], theirs[1])
    else:
        assert ours[1] == theirs[1]


@pytest.mark.parametrize(
    "name, write",
    [
        ("index_fill_", lambda lib, x: x.index_fill_(1, _i(lib, 0), 3.0)),
        ("masked_fill_", lambda lib, x: x.masked_fill_(lib.ones(3, 2, dtype=lib.bool), 3.0)),
        ("index_put_", lambda lib, x: x.index_put_((_i(lib, 0),), lib.ones(2))),
    ],
)
def test_expanded_writes_warn_as_torch(name, write):
    for lib in (torch, cr):
        with pytest.warns(UserWarning, match=f"Use of {name} on expanded tensors is deprecated"):
            write(lib, lib.ones(1, 2).expand(3, 2))


def test_overlap_refusal_leaves_the_tensor_unchanged():
    x = cr.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match="index_add_: unsupported operation: some elements"):
        x.index_add_(0, cr.tensor([0, 1]), x)
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    assert x._version == 0


def test_index_add_of_an_aliasing_source_that_requires_grad_is_refused():
    y = cr.arange(6.0).reshape(2, 3).requires_grad_().clone()
    with pytest.raises(RuntimeError, match="some elements of the input tensor"):
        y.index_add_(0, cr.tensor([0]), y[1:])
    t = torch.arange(6.0).reshape(2, 3).requires_grad_().clone()
    with pytest.raises(RuntimeError, match="some elements of the input tensor"):
        t.index_add_(0, torch.tensor([0]), t[1:])
