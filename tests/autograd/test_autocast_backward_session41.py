"""A backward run inside a CPU autocast block, against PyTorch 2.13 (session 41).

PyTorch's engine runs the backward in the caller's autocast state, so the ``mm``/``bmm`` its
backward formulas call are autocast: inside ``autocast("cpu", dtype=bfloat16)`` the
gradients of ``mm``, ``addmm``, ``bmm``, ``matmul`` and ``linear`` are the bfloat16 products,
cast back to float32; matrix-vector forms (``mv``, ``dot``), convolutions and the bias's
column sum are not cast, nor is a float64 graph or a backward called outside the block.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_CASES = {
    "mm": ((4, 5), (5, 3), lambda m, a, b: a @ b),
    "bmm": ((2, 4, 5), (2, 5, 3), lambda m, a, b: m.bmm(a, b)),
    "matmul_3d_2d": ((2, 4, 5), (5, 3), lambda m, a, b: a @ b),
    "matmul_2d_3d": ((4, 5), (2, 5, 3), lambda m, a, b: a @ b),
    "matmul_4d": ((2, 2, 4, 5), (2, 2, 5, 3), lambda m, a, b: a @ b),
    "matmul_broadcast": ((2, 1, 4, 5), (3, 5, 6), lambda m, a, b: a @ b),
    "matmul_2d_4d": ((4, 5), (2, 3, 5, 6), lambda m, a, b: a @ b),
    "vec_mat": ((5,), (5, 3), lambda m, a, b: a @ b),
    "mat_vec": ((4, 5), (5,), lambda m, a, b: a @ b),
    "batched_vec": ((2, 4, 5), (5,), lambda m, a, b: a @ b),
    "vec_batched": ((5,), (2, 5, 3), lambda m, a, b: a @ b),
    "dot": ((5,), (5,), lambda m, a, b: a @ b),
    "linear_2d": ((4, 5), (3, 5), lambda m, a, b: m.nn.functional.linear(a, b)),
    "linear_3d": ((2, 4, 5), (3, 5), lambda m, a, b: m.nn.functional.linear(a, b)),
    "linear_1d": ((5,), (3, 5), lambda m, a, b: m.nn.functional.linear(a, b)),
    "linear_bias": ((2, 4, 5), (3, 5), lambda m, a, b: m.nn.functional.linear(a, b, b[:, 0])),
    "conv2d": ((1, 2, 5, 5), (3, 2, 3, 3), lambda m, a, b: m.nn.functional.conv2d(a, b)),
    "tensordot": ((4, 5), (5, 3), lambda m, a, b: m.tensordot(a, b, 1)),
    "einsum": ((4, 5), (5, 3), lambda m, a, b: m.einsum("ij,jk->ik", a, b)),  # (session 42)
}


def _draw(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.integers(-63, 64, shape) / 16.0


def _grads(
    m: Any,
    case: str,
    dtype: str,
    inside: bool,
    create_graph: bool = False,
    bwd: str = "grad",
    b_grad: bool = True,
) -> list:
    sa, sb, f = _CASES[case]
    rng = np.random.default_rng(7)
    # multiples of 1/16 below 4: every product and sum exact in float32 in any order (so
    # the results are compared bit for bit), the sums too long for bfloat16's 8 bits
    a = m.tensor(_draw(rng, sa), dtype=getattr(m, dtype), requires_grad=True)
    b = m.tensor(_draw(rng, sb), dtype=getattr(m, dtype), requires_grad=b_grad)
    y = f(m, a, b)
    g = m.tensor(_draw(rng, tuple(y.shape)), dtype=getattr(m, dtype))
    with m.autocast("cpu", dtype=m.bfloat16, enabled=inside):
        if bwd == "grad":
            grads = m.autograd.grad(y, (a, b) if b_grad else (a,), g, create_graph=create_graph)
        else:
            y.backward(g)
            grads = (a.grad, b.grad) if b_grad else (a.grad,)
    out = [(str(t.dtype).split(".")[-1], t.detach().numpy()) for t in grads]
    if create_graph:
        out.append([None if t.grad_fn is None else t.grad_fn.name() for t in grads])
    return out


def _same(got: list, want: list) -> None:
    n = sum(type(e) is tuple for e in want)
    assert [d for d, _ in got[:n]] == [d for d, _ in want[:n]]
    for (_, x), (_, y) in zip(got[:n], want[:n], strict=True):
        np.testing.assert_array_equal(x, y)
    assert got[n:] == want[n:]


@pytest.mark.parametrize("case", sorted(_CASES))
def test_backward_inside_autocast_matches_torch(case: str) -> None:
    _same(_grads(cr, case, "float32", True), _grads(torch, case, "float32", True))


@pytest.mark.parametrize("case", ["mm", "bmm", "linear_3d", "linear_bias", "vec_mat", "mat_vec"])
def test_cast_or_not_as_torch(case: str) -> None:
    """The products torch casts are bfloat16-rounded (differ from the float32 backward),
    the others equal it, in both libraries."""
    for m in (cr, torch):
        inside = _grads(m, case, "float32", True)
        plain = _grads(m, case, "float32", False)
        cast = not np.array_equal(inside[0][1], plain[0][1])
        assert cast == (case not in ("mat_vec",)), (m.__name__, case)


@pytest.mark.parametrize("case", ["mm", "linear_bias", "matmul_3d_2d"])
def test_backward_method_and_create_graph(case: str) -> None:
    _same(
        _grads(cr, case, "float32", True, bwd="backward"),
        _grads(torch, case, "float32", True, bwd="backward"),
    )
    _same(
        _grads(cr, case, "float32", True, create_graph=True),
        _grads(torch, case, "float32", True, create_graph=True),
    )


@pytest.mark.parametrize("dtype", ["float64", "float16"])
@pytest.mark.parametrize("case", ["mm", "linear_bias"])
def test_other_dtypes(case: str, dtype: str) -> None:
    """float64 is never cast; float16 products become bfloat16 (cast back to float16)."""
    _same(_grads(cr, case, dtype, True), _grads(torch, case, dtype, True))


def test_block_entered_after_backward_started_is_not_needed() -> None:
    """Outside the block nothing is cast: the plain float32 gradients."""
    _same(_grads(cr, "linear_3d", "float32", False), _grads(torch, "linear_3d", "float32", False))


@pytest.mark.parametrize(
    "case", ["matmul_2d_3d", "matmul_2d_4d", "matmul_3d_2d", "matmul_broadcast", "mm"]
)
def test_only_the_first_operand_requires_grad(case: str) -> None:
    """matmul folds a matrix @ batch product whether or not the batch requires grad (the
    matrix's gradient one product, rounded once); a broadcast batch is a bmm per entry."""
    got = _grads(cr, case, "float32", True, b_grad=False)
    _same(got, _grads(torch, case, "float32", True, b_grad=False))
