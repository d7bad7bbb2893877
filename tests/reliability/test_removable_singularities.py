"""Gradients at removable singularities match PyTorch (no silent NaN).

std/var of a constant, norms at zero, normalisation of constant rows and friends have a
formula with 0/0 or inf * 0 at these points; PyTorch defines the gradient there (usually
0), and so must chainrule. Each row: an op, a float64 input exactly at the singular
point, and the gradient of ``op(x).sum()`` compared with PyTorch's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr


def _F(lib: Any) -> Any:
    return lib.nn.functional


ZEROS = np.zeros(3)
ONES = np.ones(3)
MIXED = np.array([0.0, 1.5, -2.0])
ROWS = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
CONST_ROWS = np.array([[2.0, 2.0, 2.0], [1.0, -2.0, 0.5]])

# (name, f(lib, x) -> tensor, input)
SINGULAR: list[tuple[str, Callable, np.ndarray]] = [
    ("std-ones", lambda lib, x: x.std(), ONES),
    ("std-dim", lambda lib, x: x.std(0), np.ones((3, 2))),
    ("std-rows", lambda lib, x: x.std(1), CONST_ROWS),
    ("std-correction0", lambda lib, x: x.std(correction=0), ONES),
    ("std-keepdim", lambda lib, x: x.std(1, keepdim=True), CONST_ROWS),
    ("var-ones", lambda lib, x: x.var(), ONES),
    ("norm-zeros", lambda lib, x: x.norm(), ZEROS),
    ("norm-rows", lambda lib, x: x.norm(dim=1), ROWS),
    ("norm-p1", lambda lib, x: x.norm(p=1), MIXED),
    ("norm-p3-zeros", lambda lib, x: x.norm(p=3), ZEROS),
    ("norm-p3-mixed", lambda lib, x: x.norm(p=3), MIXED),
    ("norm-p1.5-mixed", lambda lib, x: x.norm(p=1.5), MIXED),
    ("norm-p0.5-zeros", lambda lib, x: x.norm(p=0.5), ZEROS),
    ("norm-p0.5-mixed", lambda lib, x: x.norm(p=0.5), MIXED),
    ("norm-p0.5-rows", lambda lib, x: x.norm(p=0.5, dim=1), ROWS),
    ("norm-inf-zeros", lambda lib, x: x.norm(p=float("inf")), ZEROS),
    ("norm-p0", lambda lib, x: x.norm(p=0), MIXED),
    ("vector_norm-zeros", lambda lib, x: lib.linalg.vector_norm(x), ZEROS),
    ("vector_norm-p3-zeros", lambda lib, x: lib.linalg.vector_norm(x, 3), ZEROS),
    ("vector_norm-p0.5-rows", lambda lib, x: lib.linalg.vector_norm(x, 0.5, dim=1), ROWS),
    ("linalg_norm-rows", lambda lib, x: lib.linalg.norm(x, dim=1), ROWS),
    ("matrix_norm-fro-zeros", lambda lib, x: lib.linalg.matrix_norm(x), ROWS * 0),
    ("cdist-equal", lambda lib, x: lib.cdist(x, x), CONST_ROWS),
    ("cdist-p1-equal", lambda lib, x: lib.cdist(x, x, p=1), CONST_ROWS),
    ("pairwise_distance-equal", lambda lib, x: _F(lib).pairwise_distance(x, x.detach()), ROWS),
    (
        "cosine_similarity-zero-row",
        lambda lib, x: _F(lib).cosine_similarity(x, x.detach() + 1, dim=1),
        ROWS,
    ),
    ("cosine_similarity-self", lambda lib, x: _F(lib).cosine_similarity(x, x, dim=1), ROWS),
    ("rms_norm-zero-row", lambda lib, x: _F(lib).rms_norm(x, (3,)), ROWS),
    ("instance_norm-const", lambda lib, x: _F(lib).instance_norm(x[None]), CONST_ROWS),
    ("normalize-rows", lambda lib, x: _F(lib).normalize(x, dim=1), ROWS),
    ("layer_norm-const", lambda lib, x: _F(lib).layer_norm(x, (3,)), CONST_ROWS),
    ("group_norm-const", lambda lib, x: _F(lib).group_norm(x[None], 1), CONST_ROWS),
    (
        "batch_norm-const",
        lambda lib, x: _F(lib).batch_norm(x.t(), None, None, training=True),
        CONST_ROWS,
    ),
    (
        "softmax-const",
        lambda lib, x: lib.softmax(x, 1) * lib.arange(3.0, dtype=x.dtype),
        CONST_ROWS,
    ),
    ("logsumexp-const", lambda lib, x: lib.logsumexp(x, 1), CONST_ROWS),
    ("abs-zero", lambda lib, x: x.abs(), MIXED),
    ("relu-zero", lambda lib, x: lib.relu(x), MIXED),
    ("amax-ties", lambda lib, x: x.amax(), np.array([1.0, 3.0, 3.0])),
    ("prod-zero", lambda lib, x: x.prod(), MIXED),
    ("mse-equal", lambda lib, x: _F(lib).mse_loss(x, x.detach()), MIXED),
    ("smooth_l1-equal", lambda lib, x: _F(lib).smooth_l1_loss(x, x.detach()), MIXED),
    (
        "cross_entropy-equal",
        lambda lib, x: _F(lib).cross_entropy(x, lib.tensor([0, 1])),
        np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]),
    ),
]


def _grad(lib: Any, f: Callable, a: np.ndarray) -> np.ndarray:
    x = lib.tensor(a.copy(), requires_grad=True)
    f(lib, x).sum().backward()
    if x.grad is None:  # PyTorch leaves an identically-zero gradient undefined (norm p=0)
        return np.zeros_like(a)
    return x.grad.numpy() if lib is torch else np.asarray(x.grad.data)


@pytest.mark.parametrize("name,f,a", SINGULAR, ids=[s[0] for s in SINGULAR])
def test_gradient_at_singular_point_matches_torch(name: str, f: Callable, a: np.ndarray) -> None:
    got = _grad(cr, f, a)
    want = _grad(torch, f, a)
    np.testing.assert_allclose(
        got,
        want,
        rtol=1e-10,
        atol=1e-12,
        equal_nan=True,
        err_msg=f"{name}: gradient at {a.tolist()}",
    )


def test_std_of_constant_has_zero_gradient() -> None:
    """The reproducer from the issue: ``cr.ones(3, requires_grad=True).std()``."""
    x = cr.ones(3, requires_grad=True)
    x.std().backward()
    assert np.array_equal(np.asarray(x.grad.data), np.zeros(3))


def test_std_double_backward_at_a_regular_point() -> None:
    x = cr.tensor([0.3, -1.2, 2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t.std(), (x,))
    assert cr.autograd.gradgradcheck(lambda t: t.std(), (x,))


@pytest.mark.parametrize("p", [0.5, 1.5, 3.0])
def test_pnorm_gradcheck_and_double_backward(p: float) -> None:
    x = cr.tensor([[0.3, -1.2, 2.0], [0.7, 0.4, -0.9]], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t.norm(p=p, dim=1), (x,))
    assert cr.autograd.gradgradcheck(lambda t: t.norm(p=p, dim=1), (x,))


def test_half_norm_does_not_overflow() -> None:
    """float16 reductions accumulate in float32 (as PyTorch): 300^2 + 300^2 > 65504."""
    x = cr.tensor([300.0, 300.0], dtype=cr.float16)
    assert abs(float(x.norm().item()) - 424.26) < 0.5
