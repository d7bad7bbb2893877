"""Session 45's fuzzer findings: the second derivative of the 2-norm at a zero norm (PyTorch's
``norm_backward`` mirrored: NaN there), ``prod`` / ``cumprod`` with zeros and +-inf in one
slice (PyTorch's zero-safe backward and its O(n) / O(n^2) ``cumprod_backward`` branches and
both forward-mode rules mirrored op for op: first and second derivatives and tangents), the
gradient of a 0-d ``prod`` (the gradient itself), a full product's gradient outside grad
mode with two zeros (zeros), a 0-d float8 NaN cast to bfloat16 / float16 (crashed), and the
second derivative of ``std`` at a zero std (PyTorch's std_backward mirrored: NaN)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._found import forward, same, tensor
from .programs import Program, Step, assert_same, run

__all__: list[str] = []

_INF, _NAN = float("inf"), float("nan")


def _second(lib, x, f, w_seed=0):
    """f(x), its gradient (create_graph) and the gradient of a weighted sum of that."""
    y = f(x)
    w = lib.tensor(np.cos(np.arange(y.numel()) + w_seed).reshape(tuple(y.shape)))
    (g,) = lib.autograd.grad((y * w).sum(), x, create_graph=True)
    if not g.requires_grad:
        return [y, g]
    v = lib.tensor(np.sin(np.arange(x.numel()) + 1.0).reshape(tuple(x.shape)))
    (h,) = lib.autograd.grad((g * v).sum(), x)
    return [y, g, h]


@pytest.mark.parametrize(
    ("xs", "how"),
    [([0.0, 0.0], "norm"), ([[0.0, 0.0], [1.0, 2.0]], "norm1"), ([[0.0, 0.0], [1.0, 2.0]], "vn"),
     ([0.0, 0.0, 0.0], "vn"), ([[0.0, 0.0], [3.0, -4.0]], "vn0"), ([_INF, 1.0], "norm")],
)  # fmt: skip
def test_two_norm_second_derivative_at_a_zero_norm(xs, how):
    # torch: grad * (x / ||x||).masked_fill_(||x|| == 0, 0), whose derivative divides the
    # masked 0 by ||x|| = 0 (NaN); chainrule masked g / ||x|| (0). Both Norm2 (x.norm) and
    # linalg's EuclideanNorm (vector_norm) now follow torch when differentiated
    f = {
        "norm": lambda t: t.norm(),
        "norm1": lambda t: t.norm(dim=1),
        "vn": lambda t: _vn(t, None),
        "vn0": lambda t: _vn(t, 0),
    }[how]
    same(lambda lib: _second(lib, tensor(lib, xs), f))


def _vn(t, dim):
    lib = torch if isinstance(t, torch.Tensor) else cr
    return lib.linalg.vector_norm(t, dim=dim)


def test_complex_two_norm_second_derivative_at_zero():
    seen = []
    for lib in (torch, cr):
        z = lib.tensor([0j, 0j, 1 + 1j], dtype=lib.complex128, requires_grad=True)
        y = lib.linalg.vector_norm(z[:2]) + z[2:].norm()
        (g,) = lib.autograd.grad(y, z, create_graph=True)
        (h,) = lib.autograd.grad((g.abs() ** 2).sum(), z)
        seen.append(lib.view_as_real(h).numpy())
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-10, atol=1e-12, equal_nan=True)
    assert np.isnan(seen[1][:2]).all()


_EDGE = [0.0, 0.0, _INF, -_INF, 2.0, -0.5, 1.5]


def _edge_cases(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 4, rng.integers(1, 3)))
        out.append((rng.choice(_EDGE, size=shape), int(rng.integers(0, len(shape)))))
    return out


@pytest.mark.parametrize("op", ["prod", "prod_all", "cumprod"])
def test_prod_and_cumprod_derivatives_with_zeros_and_infinities(op):
    # 60 random slices of zeros, +-inf and finite values: before, 132 (prod) and 142
    # (cumprod) of 600 such programs differed from torch in the second derivative
    f = {
        "prod": lambda d: lambda t: t.prod(d),
        "prod_all": lambda d: lambda t: t.prod(),
        "cumprod": lambda d: lambda t: t.cumprod(d),
    }[op]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, (xs, d) in enumerate(_edge_cases(60, {"prod": 1, "prod_all": 2}.get(op, 3))):
            same(lambda lib, xs=xs, d=d, k=k: _second(lib, tensor(lib, xs), f(d), k))


@pytest.mark.parametrize("op", ["prod", "prod_all", "cumprod"])
def test_prod_and_cumprod_tangents_with_zeros_and_infinities(op):
    # forward mode: torch's cumprod_jvp (the running product with the tangent in the first
    # zero's place) and prod's sum(prod_backward(1, x, y) * t) (y / x without zeros: NaN
    # at +-inf)
    f = {
        "prod": lambda d: lambda lib, t: t.prod(d),
        "prod_all": lambda d: lambda lib, t: t.prod(),
        "cumprod": lambda d: lambda lib, t: t.cumprod(d),
    }[op]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for xs, d in _edge_cases(60, {"prod": 4, "prod_all": 5}.get(op, 6)):
            tan = np.cos(np.arange(xs.size)).reshape(xs.shape)
            same(lambda lib, xs=xs, d=d, tan=tan: forward(lib, f(d), xs, tan))


@pytest.mark.parametrize("v", [_INF, -_INF, 0.0, 2.0])
def test_prod_of_a_0d_tensor_passes_the_gradient_through(v):
    # torch's prod_backward returns the gradient for a 0-d input (chainrule: g * y / x, NaN
    # at inf)
    def program(lib):
        x = tensor(lib, v)
        (g,) = lib.autograd.grad(x.prod(), x, create_graph=True)
        (g2,) = lib.autograd.grad(x.prod(0) * 3.0, x)
        return [g, g2]

    same(program)


def test_full_product_gradient_with_two_zeros_outside_grad_mode():
    # torch: zeros_like(input) when the full product has more than one zero (no 0 * inf)
    def program(lib):
        x = tensor(lib, [[0.0, 0.0, _INF], [0.0, 1.0, 2.0]])
        x.prod().backward()
        y = tensor(lib, [0.0, _INF, 2.0])
        y.prod().backward()
        return [x.grad, y.grad]

    same(program)


@pytest.mark.parametrize("src", ["float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("dst", ["bfloat16", "float16", "float32", "int32"])
def test_0d_float8_nan_cast(src, dst):
    # a 0-d float8 NaN to bfloat16 / float16 raised TypeError ('numpy.uint16' object does
    # not support item assignment): the float8 table lookup of a 0-d array gave a NumPy
    # scalar (core seed 998, lowp_chain after prod_edge)
    seen = []
    for lib in (torch, cr):
        y = lib.tensor(_NAN).to(getattr(lib, src)).to(getattr(lib, dst))
        bits = y.view(lib.int16) if dst in ("bfloat16", "float16") else y
        seen.append((tuple(y.shape), str(bits.item())))
    assert seen[1] == seen[0]


def test_std_second_derivative_at_a_zero_std():
    # core seed 1001 (singular2's constant lines, then cosine_similarity): torch's
    # std_backward is var_backward((g / (2 std)).masked_fill_(std == 0, 0)), NaN in its
    # derivative at a zero std where the gradient reaching it is not 0; chainrule gave 0
    prog = Program(
        (((), False, False, "float64"), ((2, 3, 3), True, False, "float64"),
         ((), False, False, "float64")),
        (Step("singular2", (7, 0, 5, 1, 6), -1.5), Step("normalize", (0, 11, 0, 0, 10), -1.5)),
        seed=17081,
        double=True,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = run(torch, prog)
        assert_same(ref, run(cr, prog, skip=ref.skipped))
    assert np.isnan(ref.grads[1]).any()


@pytest.mark.parametrize(
    ("xs", "ts", "dim"),
    [([0.0, 0.0], [_NAN, 1.0], None), ([[0.0, 0.0], [1.0, 2.0]], [[_INF, 1.0], [_NAN, 2.0]], 1),
     ([[0.0, 0.0], [1.0, 2.0]], [[1.0, 1.0], [3.0, 2.0]], 0)],
)  # fmt: skip
def test_two_norm_tangent_at_a_zero_norm_with_a_non_finite_tangent(xs, ts, dim):
    # core seed 1001: torch's norm_jvp masks sum(x t) / ||x|| to 0 where ||x|| = 0 after
    # the sum; chainrule summed x t / 1 there (0 * NaN: NaN)
    same(
        lambda lib: forward(
            lib, lambda lib, t: t.norm(dim=dim) if dim is not None else t.norm(), xs, ts
        )
    )
