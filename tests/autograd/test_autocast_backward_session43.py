"""A backward that builds a graph (``create_graph=True``) inside a CPU autocast block, of an
einsum of three operands or more, against PyTorch 2.13 (session 43).

PyTorch contracted the operands pair by pair (``bmm``), so its backward casts each pair's
products; chainrule's einsum recomputes the same pairs in backward (``einsum._pairwise_grads``),
now also under ``create_graph``, where the gradients must stay recorded functions of the
operands (a second derivative through them) and each operand's gradient its own (not a path
through another operand made from it). Data as in the session-41/42 files: multiples of 1/16,
exact in float32 in any order, so a cast shows and results compare bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

from .test_autocast_backward_session41 import _draw, _same
from .test_autocast_backward_session42 import _EINSUM, _einsum, _grads

torch = pytest.importorskip("torch")

_MANY = ["chain", "chain_of_four", "batched_chain", "vector_pair_first"]


@pytest.mark.parametrize("autocast_dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", _MANY)
def test_einsum_of_three_or_more_create_graph_values(case: str, autocast_dtype: str) -> None:
    """The gradients' values under ``create_graph`` are PyTorch's cast pairwise products,
    and equal those of the backward that builds no graph; each gradient has a ``grad_fn``."""
    eq, shapes = _EINSUM[case]
    f = _einsum(eq)
    got = _grads(cr, shapes, f, "float32", autocast_dtype, create_graph=True)
    want = _grads(torch, shapes, f, "float32", autocast_dtype, create_graph=True)
    _same(got[:-1], want[:-1])
    _same(got[:-1], _grads(cr, shapes, f, "float32", autocast_dtype))
    assert all(name is not None for name in got[-1])  # recorded, as PyTorch's
    # (and cast: the float32 backward outside the block differs)
    plain = _grads(cr, shapes, f, "float32", inside=False)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(got[:-1], plain, strict=True))


def _second_order(m: Any, case: str, autocast_dtype: str) -> list:
    """d/d(operands) of Σ w_i · grad_i (the first gradients taken with ``create_graph``
    inside the block; the second backward outside it), as float64 arrays."""
    eq, shapes = _EINSUM[case]
    rng = np.random.default_rng(3)
    ts = [m.tensor(_draw(rng, s), dtype=m.float32, requires_grad=True) for s in shapes]
    y = m.einsum(eq, *ts)
    g = m.tensor(_draw(rng, tuple(y.shape)), dtype=y.dtype)
    with m.autocast("cpu", dtype=getattr(m, autocast_dtype)):
        grads = m.autograd.grad(y, ts, g, create_graph=True)
    ws = [m.tensor(_draw(rng, tuple(t.shape)), dtype=m.float32) for t in grads]
    total = sum((gr.float() * w).sum() for gr, w in zip(grads, ws))
    second = m.autograd.grad(total, ts, allow_unused=True)
    return [None if s is None else s.detach().double().numpy() for s in second]


@pytest.mark.parametrize("case", ["chain", "batched_chain", "chain_of_four"])
def test_einsum_of_three_double_backward_as_torch(case: str) -> None:
    """A second derivative through the recorded gradients: PyTorch's values bit for bit (its
    graph of cast ``bmm`` products; chainrule's of the same pairs' einsums)."""
    got = _second_order(cr, case, "bfloat16")
    want = _second_order(torch, case, "bfloat16")
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_einsum_of_three_create_graph_operand_made_from_another() -> None:
    """An operand computed from another operand: each gradient is with respect to that
    operand alone (the recorded copies), as in the backward that builds no graph."""
    out = {}
    for m in (cr, torch):
        for graph in (False, True):
            rng = np.random.default_rng(5)
            a = m.tensor(_draw(rng, (3, 4)), dtype=m.float32, requires_grad=True)
            c = m.tensor(_draw(rng, (5, 2)), dtype=m.float32, requires_grad=True)
            b = a.t() * 2  # (4, 3): made from a
            y = m.einsum("ij,jk,kl->il", a, b, m.ones(3, 5) * c.sum())
            g = m.tensor(_draw(rng, tuple(y.shape)), dtype=m.float32)
            with m.autocast("cpu", dtype=m.bfloat16):
                grads = m.autograd.grad(y, (a, b), g, create_graph=graph)
            out[(m.__name__, graph)] = [t.detach().double().numpy() for t in grads]
    for key, value in out.items():
        for x, y_ in zip(value, out[("torch", False)], strict=True):
            np.testing.assert_array_equal(x, y_, err_msg=str(key))


# ------------------------------------------------- bilinear's per-k sum on arrays, bit for bit
_SUMS = [
    ("float32", "float32"),
    ("bfloat16", "float32"),
    ("float32", "float16"),
    ("bfloat16", "float16"),
    ("float64", "float64"),
    ("bfloat16", "bfloat16"),  # (a bfloat16 sum: the Tensor steps, not the arrays')
]


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize(("terms_dtype", "dtype"), _SUMS)
def test_bilinear_sum_over_k_arrays_equal_tensor_steps(
    terms_dtype: str, dtype: str, dim: int
) -> None:
    """``matmul_autocast._sum_over_k`` without a graph (the array steps) equals its Tensor
    steps (run on a tensor that requires grad) bit for bit, on data whose sums round."""
    from chainrule.ops import matmul_autocast

    rng = np.random.default_rng(11)
    data = rng.standard_normal((7, 33, 5)) * np.exp(rng.uniform(-6, 6, (7, 33, 5)))
    terms = cr.tensor(data, dtype=getattr(cr, terms_dtype))
    fast = matmul_autocast._sum_over_k(terms, dim, getattr(cr, dtype))
    slow = matmul_autocast._sum_over_k(terms.clone().requires_grad_(), dim, getattr(cr, dtype))
    assert fast.dtype == slow.dtype == getattr(cr, dtype) and not fast.requires_grad
    on_arrays = matmul_autocast._sum_over_k_arrays(terms._data, dim, getattr(cr, dtype).dtype)
    assert (on_arrays is None) == (dtype == "bfloat16")
    np.testing.assert_array_equal(
        fast.double().numpy(), slow.detach().double().numpy(), strict=True
    )


@pytest.mark.parametrize(
    ("dtype", "autocast_dtype"), [("float32", "bfloat16"), ("float16", "bfloat16")]
)
def test_bilinear_backward_inside_autocast_larger(dtype: str, autocast_dtype: str) -> None:
    """bilinear's gradients inside an autocast block, 24 output features (the per-k sums on
    arrays), as PyTorch's bit for bit; and under ``create_graph`` (the Tensor steps) the
    same values."""
    shapes = [(6, 5), (6, 7), (24, 5, 7)]

    def f(m: Any, a: Any, b: Any, w: Any) -> Any:
        return m.nn.functional.bilinear(a, b, w)

    got = _grads(cr, shapes, f, dtype, autocast_dtype)
    _same(got, _grads(torch, shapes, f, dtype, autocast_dtype))
    _same(got, _grads(cr, shapes, f, dtype, autocast_dtype, create_graph=True)[:-1])
