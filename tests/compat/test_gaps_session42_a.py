"""Session 42 (drop-in helper a): gaps left by session 41, each against torch.

``cr.save``/``cr.load`` of an instance of a program's own Tensor subclass (the class kept,
a weights-only load refused until ``add_safe_globals`` allows it), ``operator.iadd(list,
size)`` (a list extended by a ``Size`` from C code), ``view`` under nested vmap with the
inner batch dim moved (each sample's real strides), ``F.embedding_bag`` with indices,
offsets or per-sample weights batched by vmap.
"""

from __future__ import annotations

import functools
import io
import operator
import pickle
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

LIBS = (torch, cr)


class TorchSub(torch.Tensor):
    """A program's own tensor subclass (torch's side)."""


class CrSub(cr.Tensor):
    """The same under chainrule."""


_SUB = {torch: TorchSub, cr: CrSub}


def _both(fn):
    out = []
    for lib in LIBS:
        try:
            out.append(fn(lib))
        except Exception as e:  # noqa: BLE001 - compared below
            out.append((type(e).__name__, str(e)))
    return out


def _saved_subclass(lib):
    t = lib.tensor([1.0, 2.0], requires_grad=True).as_subclass(_SUB[lib])
    t.note = {"step": 3}
    buf = io.BytesIO()
    lib.save({"x": t}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "chainrule"])
def test_save_load_of_a_tensor_subclass_keeps_the_class(lib):
    data = _saved_subclass(lib)
    r = lib.load(io.BytesIO(data), weights_only=False)["x"]
    assert type(r) is _SUB[lib]
    assert r.tolist() == [1.0, 2.0] and r.requires_grad and r.note == {"step": 3}
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        lib.load(io.BytesIO(data))  # weights_only=True: the class is no safe global
    with lib.serialization.safe_globals([_SUB[lib]]):
        r = lib.load(io.BytesIO(data))["x"]
    assert type(r) is _SUB[lib] and r.note == {"step": 3}


def test_save_of_a_local_subclass_refused_as_torch():
    def save(lib):
        class Local(lib.Tensor):
            pass

        lib.save(lib.ones(1).as_subclass(Local), io.BytesIO())

    t, c = _both(save)
    assert t == c and t[0] == "AttributeError"


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "chainrule"])
def test_load_of_a_subclass_allowing_another_class_still_refused(lib):
    """Allowing some other class does not let the file's class be looked up (no code of the
    file's choosing runs), as torch."""
    data = _saved_subclass(lib)
    with lib.serialization.safe_globals([functools.partial]):
        with pytest.raises(pickle.UnpicklingError, match=_SUB[lib].__name__):
            lib.load(io.BytesIO(data))


def test_iadd_of_a_list_and_a_size_from_c_matches_torch():
    def run(lib):
        s = lib.ones(2, 3).shape
        res = [operator.iadd([1], s), functools.reduce(operator.iadd, [s, s], [])]
        for f in (lambda: [1] + s, lambda: operator.iadd("a", s), lambda: 3 + s):
            try:
                f()
            except TypeError as e:
                res.append(str(e))
        values = [0]
        values += s
        return [*res, values]

    t, c = _both(run)
    assert t == c


def test_add_of_a_list_and_a_size_from_c_refused():
    """``operator.add(list, size)``: a TypeError as torch's (the class named 'Size')."""
    with pytest.raises(TypeError, match="can only concatenate list"):
        operator.add([1], cr.ones(2).shape)


_X = np.arange(96.0).reshape(2, 4, 4, 3)  # each inner sample (4, 3), strides by in_dims


@pytest.mark.parametrize("shape", [(3, 2, 2), (12,), (6, 2), (2, 6)])
@pytest.mark.parametrize("inner_dim", [0, 1])
def test_view_under_nested_vmap_checks_each_samples_strides(shape, inner_dim):
    def run(lib):
        f = lib.vmap(lib.vmap(lambda x: x.view(*shape), in_dims=inner_dim), in_dims=0)
        return f(lib.tensor(_X)).tolist()

    t, c = _both(run)
    if isinstance(t, tuple):
        assert c[0] == t[0] == "RuntimeError" and c[1].startswith(t[1])
    else:
        np.testing.assert_array_equal(np.array(c), np.array(t))
    if inner_dim == 1 and shape != (3, 2, 2):
        assert isinstance(t, tuple)  # the case the flattened batch used to let through


_W = np.random.default_rng(0).standard_normal((10, 3))
_W[7] = _W[2]  # ties: the first largest gets the max's gradient, as torch


def _bag_run(lib, mode, two_d=False, padding_idx=None, last=False, psw=False, idx_only=False):
    F = lib.nn.functional
    w = lib.tensor(_W, requires_grad=True)
    if two_d:
        idx = lib.tensor([[[1, 2, 7, 5], [4, 3, 2, 9]], [[2, 2, 7, 2], [0, 9, 9, 1]]])
        args = (idx,)
        f = lambda i, *p: F.embedding_bag(  # noqa: E731
            i, w, mode=mode, padding_idx=padding_idx,
            per_sample_weights=p[0] if p else None,
        )  # fmt: skip
    else:
        idx = lib.tensor([[1, 2, 7, 5, 2, 9], [4, 3, 2, 7, 2, 2]])
        offs = lib.tensor([[0, 2, 2, 5], [0, 1, 4, 6]])  # an empty bag in each
        args = (idx,) if idx_only else (idx, offs)
        f = lambda i, *o: F.embedding_bag(  # noqa: E731
            i, w, o[0] if o and not idx_only else lib.tensor([0, 3, 5]), mode=mode,
            padding_idx=padding_idx, include_last_offset=last,
            per_sample_weights=o[-1] if psw else None,
        )  # fmt: skip
    if psw:
        args = (*args, lib.tensor(np.linspace(0.5, 2.0, idx.numel()).reshape(idx.shape)))
    with warnings.catch_warnings():  # torch's "performance drop" note of its fallback
        warnings.simplefilter("ignore", UserWarning)
        out = lib.vmap(f)(*args)
    (out * lib.arange(1.0, out.numel() + 1, dtype=lib.float64).reshape(out.shape)).sum().backward()
    return [out.tolist(), w.grad.tolist()]


_CASES = [
    dict(mode="sum"),
    dict(mode="mean"),
    dict(mode="max"),
    dict(mode="sum", two_d=True),
    dict(mode="mean", two_d=True, padding_idx=2),
    dict(mode="max", two_d=True, padding_idx=2),
    dict(mode="max", padding_idx=2),
    dict(mode="mean", last=True),
    dict(mode="sum", psw=True),
    dict(mode="sum", two_d=True, psw=True),
    dict(mode="max", idx_only=True),
    dict(mode="mean", idx_only=True, padding_idx=7),
]


@pytest.mark.parametrize("case", _CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_embedding_bag_with_batched_indices_matches_torch(case):
    t, c = _both(lambda lib: _bag_run(lib, **case))
    assert not isinstance(t, tuple) and not isinstance(c, tuple), (t, c)
    for a, b in zip(c, t):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12, atol=1e-14)


def test_embedding_bag_module_under_nested_vmap_matches_torch():
    def run(lib):
        bag = lib.nn.EmbeddingBag(10, 3, mode="max").double()
        with lib.no_grad():
            bag.weight.copy_(lib.tensor(_W))
        x = lib.tensor(np.random.default_rng(2).integers(0, 10, (2, 3, 4)))
        return lib.vmap(lib.vmap(lambda i: bag(i[None])))(x).tolist()

    t, c = _both(run)
    np.testing.assert_allclose(np.array(c), np.array(t), rtol=1e-12)


@pytest.mark.parametrize(
    "offs, idx",
    [
        ([[0, 2], [1, 1]], [[1, 2, 4, 5], [4, 3, 2, 9]]),
        ([[0, 2], [0, 1]], [[1, 2, 4, 5], [4, 3, 2, 10]]),
    ],
)
def test_embedding_bag_with_batched_indices_refuses_bad_samples_as_torch(offs, idx):
    def run(lib):
        w = lib.tensor(_W)
        F = lib.nn.functional
        return lib.vmap(lambda i, o: F.embedding_bag(i, w, o, mode="sum"))(
            lib.tensor(idx), lib.tensor(offs)
        )

    t, c = _both(run)
    assert t[0] == "RuntimeError" and c[0] in ("RuntimeError", "IndexOutOfBounds")
    key = "offsets[0] has to be 0" if offs[1][0] else "but found idx to be 10"
    assert key in t[1] and key in c[1]


def _sparse_mm_function(lib):
    class SparseMM(lib.autograd.Function):
        @staticmethod
        def forward(ctx, W, x):
            ctx.save_for_backward(W, x)
            return lib.mm(W, x)

        @staticmethod
        def backward(ctx, grad_output):
            W, x = ctx.saved_tensors
            return lib.mm(grad_output, x.t()), lib.mm(W.t(), grad_output)

    return SparseMM


def test_custom_function_with_a_sparse_constant_input_matches_torch():
    """ChebNet's ``my_sparse_mm.apply(L, x)``: a sparse Laplacian outside any graph."""

    def run(lib):
        L = lib.sparse_coo_tensor(
            lib.tensor([[0, 1, 2, 2], [1, 0, 2, 0]]), lib.tensor([1.0, 2.0, -1.0, 0.5]), (3, 3)
        )
        x = lib.arange(6.0).reshape(3, 2).requires_grad_()
        y = _sparse_mm_function(lib).apply(L, x)
        (2 * _sparse_mm_function(lib).apply(L, y) - x).pow(2).sum().backward()
        return [y.tolist(), x.grad.tolist(), y.grad_fn.name()]

    t, c = _both(run)
    assert not isinstance(c, tuple), c
    np.testing.assert_allclose(np.array(c[0]), np.array(t[0]), rtol=1e-12)
    np.testing.assert_allclose(np.array(c[1]), np.array(t[1]), rtol=1e-12)
    assert c[2] == t[2]


def _special_spmm(lib):
    class SpecialSpmmFunction(lib.autograd.Function):
        @staticmethod
        def forward(ctx, indices, values, shape, b):
            a = lib.sparse_coo_tensor(indices, values, shape)
            ctx.save_for_backward(a, b)
            ctx.N = shape[0]
            return lib.matmul(a, b)

        @staticmethod
        def backward(ctx, grad_output):
            a, b = ctx.saved_tensors
            grad_a_dense = grad_output.matmul(b.t())
            edge_idx = a._indices()[0, :] * ctx.N + a._indices()[1, :]
            return None, grad_a_dense.view(-1)[edge_idx], None, a.t().matmul(grad_output)

    return SpecialSpmmFunction


def test_custom_function_saving_a_sparse_tensor_it_made_matches_torch():
    """pyGAT's ``SpecialSpmmFunction``: the sparse matrix built in ``forward`` and saved
    comes back sparse in ``backward`` (it came back as a dense-less plain Tensor)."""

    def run(lib):
        idx = lib.tensor([[0, 1, 2, 2], [1, 0, 2, 0]])
        values = lib.tensor([1.0, 2.0, -1.0, 0.5], requires_grad=True)
        b = lib.arange(6.0).reshape(3, 2).requires_grad_()
        out = _special_spmm(lib).apply(idx, values, lib.Size([3, 3]), b)
        (out * lib.tensor([[1.0, -2.0]])).sum().backward()
        return [out.tolist(), values.grad.tolist(), b.grad.tolist()]

    t, c = _both(run)
    assert not isinstance(c, tuple), c
    for a, b in zip(c, t):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-6)
