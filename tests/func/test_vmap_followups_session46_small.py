"""Session 46 follow-ups, against torch: ``vmap(f, out_dims=(1,))`` for a function returning
one tensor (PyTorch reads a one-entry tuple as its entry there), the refusal of
``masked_fill_`` writing a batched value into an unbatched tensor (PyTorch's in-place
fallback words, ``aten::masked_fill_`` at its level; a number value keeps the binary ops'
words), and ``heaviside``'s dtype checks (its meta function's words and order).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_X = np.arange(6.0).reshape(3, 2)


def _run(lib, call):
    """("ok", values) or (exception type, first line); torch's performance warnings (its
    fallback for masked_fill_) are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            out = call(lib)
        except (RuntimeError, ValueError, TypeError) as exc:
            return type(exc), str(exc).split("\n")[0]
    leaves = out if isinstance(out, (tuple, list)) else (out,)
    return "ok", [np.asarray(t.detach().numpy()) for t in leaves]


def _same(call) -> None:
    """chainrule returns torch's values, or raises an instance of torch's exception type
    (``ShapeError`` is a RuntimeError) with torch's first line."""
    want, got = _run(torch, call), _run(cr, call)
    if want[0] != "ok":
        assert got[0] != "ok" and issubclass(got[0], want[0]), (got, want)
        assert got[1] == want[1]
        return
    assert got[0] == "ok", got
    assert len(got[1]) == len(want[1])
    for g, w in zip(got[1], want[1]):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


# ------------------------------------------------------------------ 7. out_dims=(1,)
_OUT_DIMS = {
    "one_tuple": lambda L: L.func.vmap(lambda t: t * 2, out_dims=(1,))(L.tensor(_X)),
    "one_tuple_neg": lambda L: L.func.vmap(lambda t: t * 2, out_dims=(-1,))(L.tensor(_X)),
    "one_tuple_top_level": lambda L: L.vmap(lambda t: t.sum(), out_dims=(0,))(L.tensor(_X)),
    "nested": lambda L: L.func.vmap(L.func.vmap(lambda t: t * 3, out_dims=(0,)), out_dims=(1,))(
        L.tensor(_X)
    ),
    "int_still": lambda L: L.func.vmap(lambda t: t * 2, out_dims=1)(L.tensor(_X)),
    "pair_out_dims": lambda L: L.func.vmap(lambda t: (t, t * 2), out_dims=(1, 0))(L.tensor(_X)),
}
# where PyTorch refuses: the one-entry rule is for a single tensor output and a tuple only
_OUT_DIMS_REFUSED = {
    "list": lambda L: L.func.vmap(lambda t: t * 2, out_dims=[1])(L.tensor(_X)),
    "two_entries": lambda L: L.func.vmap(lambda t: t * 2, out_dims=(1, 0))(L.tensor(_X)),
    "tuple_output": lambda L: L.func.vmap(lambda t: (t, t), out_dims=(1,))(L.tensor(_X)),
    "list_output": lambda L: L.func.vmap(lambda t: [t], out_dims=(1,))(L.tensor(_X)),
    "none_entry": lambda L: L.func.vmap(lambda t: t * 2, out_dims=(None,))(L.tensor(_X)),
}


@pytest.mark.parametrize("case", list(_OUT_DIMS))
def test_one_entry_out_dims_match_torch(case: str) -> None:
    _same(_OUT_DIMS[case])


def test_one_entry_out_dims_with_chunks_as_without() -> None:
    # torch 2.13 fails an internal assert ("flat_out_dims must not be None") when chunk_size
    # is given: chainrule gives the result torch gives without chunks
    def call(L, chunks):
        return L.func.vmap(lambda t: t + 1, out_dims=(1,), chunk_size=chunks)(L.tensor(_X))

    with pytest.raises(AssertionError, match="flat_out_dims must not be None"):
        call(torch, 2)
    want = call(torch, None).numpy()
    np.testing.assert_array_equal(call(cr, 2).numpy(), want)


@pytest.mark.parametrize("case", list(_OUT_DIMS_REFUSED))
def test_out_dims_that_do_not_fit_are_refused_as_torch(case: str) -> None:
    want, got = _run(torch, _OUT_DIMS_REFUSED[case]), _run(cr, _OUT_DIMS_REFUSED[case])
    assert want[0] is ValueError and got[0] is ValueError, (got, want)
    if case == "none_entry":  # the entry read as None: the message of an out_dim of None
        assert got[1] == want[1]


# ------------------------------------------------------------------ 8. masked_fill_
_MASK = [True, False, True]
_MASKS = [[True, False, True], [False, False, True]]


def _fill_into_unbatched(value_of):
    def call(L):
        x, m = L.zeros(3), L.tensor(_MASK)
        return L.func.vmap(lambda v: x.clone().masked_fill_(m, value_of(L, v)))(
            L.tensor([1.0, 2.0])
        )

    return call


_MASKED_FILL = {
    "batched_value": _fill_into_unbatched(lambda L, v: v),
    "batched_mask_number": lambda L: L.func.vmap(lambda m: L.zeros(3).masked_fill_(m, 1.0))(
        L.tensor(_MASKS)
    ),
    "batched_mask_tensor": lambda L: L.func.vmap(
        lambda m: L.zeros(3).masked_fill_(m, L.tensor(1.0))
    )(L.tensor(_MASKS)),
    "nested_level_2": lambda L: L.func.vmap(
        L.func.vmap(lambda v: L.zeros(3).masked_fill_(L.tensor(_MASK), v))
    )(L.ones(2, 2)),
    "under_grad": lambda L: L.func.vmap(
        L.func.grad(lambda v: L.zeros(3).masked_fill_(L.tensor(_MASK), v).sum())
    )(L.tensor([1.0, 2.0])),
    "out_of_place": lambda L: L.func.vmap(lambda v: L.zeros(3).masked_fill(L.tensor(_MASK), v))(
        L.tensor([1.0, 2.0])
    ),
    "batched_self": lambda L: L.func.vmap(lambda x, v: x.masked_fill_(L.tensor(_MASK), v))(
        L.zeros(2, 3), L.tensor([1.0, 2.0])
    ),
}


@pytest.mark.parametrize("case", list(_MASKED_FILL))
def test_masked_fill_into_unbatched_tensor_as_torch(case: str) -> None:
    _same(_MASKED_FILL[case])


# ------------------------------------------------------------------ 8. heaviside
def _t(L, values, dtype):
    return L.tensor(values, dtype=getattr(L, dtype))


_HEAVISIDE = {
    "float_int": lambda L: L.heaviside(_t(L, [1.0, 0.0], "float32"), _t(L, [1, 2], "int64")),
    "int_float": lambda L: L.heaviside(_t(L, [1, 0], "int64"), _t(L, [1.0, 2.0], "float32")),
    "float32_float64": lambda L: L.heaviside(
        _t(L, [1.0, 0.0], "float32"), _t(L, [0.5, 0.5], "float64")
    ),
    "method_inplace": lambda L: _t(L, [1, 0], "int64").heaviside_(_t(L, [0.5, 2.0], "float32")),
    "complex": lambda L: L.heaviside(_t(L, [1j], "complex64"), _t(L, [1.0], "float32")),
    "dtype_before_shape": lambda L: L.heaviside(
        _t(L, [1.0, 2.0, 3.0], "float32"), _t(L, [1, 2], "int64")
    ),
    "shape": lambda L: L.heaviside(_t(L, [1.0, 2.0, 3.0], "float32"), _t(L, [1.0, 2.0], "float32")),
    "same_dtype": lambda L: L.heaviside(
        _t(L, [-1.0, 0.0, 2.0], "float32"), _t(L, [0.5], "float32")
    ),
    "out_int": lambda L: L.heaviside(
        _t(L, [1.0, 0.0], "float32"), _t(L, [0.5, 0.5], "float32"), out=L.empty(2, dtype=L.int64)
    ),
    "out_float64": lambda L: L.heaviside(
        _t(L, [1.0, 0.0], "float32"),
        _t(L, [0.5, 0.5], "float32"),
        out=L.empty(2, dtype=L.float64),
    ),
    "out_complex": lambda L: L.heaviside(
        _t(L, [1.0, 0.0], "float32"),
        _t(L, [0.5, 0.5], "float32"),
        out=L.empty(2, dtype=L.complex64),
    ),
}


@pytest.mark.parametrize("case", list(_HEAVISIDE))
def test_heaviside_dtype_checks_as_torch(case: str) -> None:
    _same(_HEAVISIDE[case])
