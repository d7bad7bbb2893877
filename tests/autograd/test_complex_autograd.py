"""Complex tensors through autograd, against PyTorch (its conjugate convention: the gradient of
a real loss with respect to ``z = x + iy`` is ``dL/dx + i dL/dy``).

Every op that ``ops/complex_support.py`` lets through is differentiated here under a real loss
that mixes real and imaginary parts, and compared with torch; the ops that are not listed must
refuse instead of giving a real-number rule's wrong answer.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops.complex_support import HOLOMORPHIC, REAL_LINEAR

RNG = np.random.default_rng(0)


def _c(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape) + 0.3


# name -> (function of (lib, *inputs), input shapes); every input is complex unless its shape
# is given as ("real", shape).
CASES = {
    "add": (lambda L, a, b: a + b, [(2, 3), (3,)]),
    "sub": (lambda L, a, b: a - b, [(2, 3), (2, 3)]),
    "neg": (lambda L, a: -a, [(4,)]),
    "mul": (lambda L, a, b: a * b, [(2, 3), (2, 3)]),
    "mul_real_input": (lambda L, a, b: a * b, [("real", (2, 3)), (2, 3)]),
    "mul_scalar": (lambda L, a: a * (2 - 1j), [(3,)]),
    "div": (lambda L, a, b: a / b, [(2, 3), (2, 3)]),
    "pow_scalar": (lambda L, a: a**3, [(3,)]),
    "pow_tensor": (lambda L, a, b: a**b, [(3,), (3,)]),
    "reciprocal": (lambda L, a: a.reciprocal(), [(3,)]),
    "exp": (lambda L, a: L.exp(a), [(3,)]),
    "log": (lambda L, a: L.log(a), [(3,)]),
    "sqrt": (lambda L, a: L.sqrt(a), [(3,)]),
    "sin": (lambda L, a: L.sin(a), [(3,)]),
    "cos": (lambda L, a: L.cos(a), [(3,)]),
    "sinh": (lambda L, a: L.sinh(a), [(3,)]),
    "cosh": (lambda L, a: L.cosh(a), [(3,)]),
    "tan": (lambda L, a: L.tan(a), [(3,)]),
    "tanh": (lambda L, a: L.tanh(a), [(3,)]),
    "log1p": (lambda L, a: L.log1p(a), [(3,)]),
    "expm1": (lambda L, a: L.expm1(a), [(3,)]),
    "asin": (lambda L, a: L.asin(a), [(3,)]),
    "acos": (lambda L, a: L.acos(a), [(3,)]),
    "atan": (lambda L, a: L.atan(a), [(3,)]),
    "asinh": (lambda L, a: L.asinh(a), [(3,)]),
    "atanh": (lambda L, a: L.atanh(a), [(3,)]),
    "prod": (lambda L, a: a.prod(dim=1), [(2, 3)]),
    "cumprod": (lambda L, a: L.cumprod(a, dim=0), [(4,)]),
    "cumsum": (lambda L, a: L.cumsum(a, dim=1), [(2, 3)]),
    "diagonal": (lambda L, a: L.diagonal(a), [(3, 3)]),
    "unfold": (lambda L, a: a.unfold(0, 2, 1), [(4,)]),
    "pad": (lambda L, a: L.nn.functional.pad(a, (1, 2)), [(2, 3)]),
    "gather": (lambda L, a: L.gather(a, 1, L.tensor([[0, 0], [2, 1]])), [(2, 3)]),
    "scatter_add": (
        lambda L, a, b: a.scatter_add(1, L.tensor([[0, 0, 1]]), b),
        [(1, 3), (1, 3)],
    ),
    "index_add": (lambda L, a, b: a.index_add(0, L.tensor([1, 1]), b), [(3, 2), (2, 2)]),
    "matmul": (lambda L, a, b: a @ b, [(2, 3), (3, 4)]),
    "einsum": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    "sum": (lambda L, a: a.sum(dim=0), [(3, 2)]),
    "mean": (lambda L, a: a.mean(), [(3, 2)]),
    "reshape_permute": (lambda L, a: a.reshape(2, 3).permute(1, 0), [(6,)]),
    "expand": (lambda L, a: a.expand(3, 2), [(1, 2)]),
    "getitem": (lambda L, a: a[1:, ::2], [(3, 4)]),
    "cat_split": (lambda L, a, b: L.cat([a, b])[1:4], [(2,), (3,)]),
    "flip_roll": (lambda L, a: L.roll(L.flip(a, [0]), 1), [(4,)]),
    "clone_contiguous": (lambda L, a: a.t().contiguous().clone(), [(2, 3)]),
    "where": (lambda L, a, b: L.where(a.real > 0, a, b), [(4,), (4,)]),
    "abs": (lambda L, a: a.abs(), [(4,)]),
    "real_imag": (lambda L, a: a.real * 2 + a.imag * a.real, [(4,)]),
    "conj": (lambda L, a, b: a.conj() * b, [(4,), (4,)]),
    "angle": (lambda L, a: L.angle(a), [(4,)]),
    "sgn": (lambda L, a: L.sgn(a), [(4,)]),
    "complex": (lambda L, a, b: L.complex(a, b), [("real", (3,)), ("real", (3,))]),
    # abs >= 0: torch's polar gradient takes the modulus from the result (sgn(result)),
    # so for a negative ``abs`` it differs from the derivative of abs * e^(i angle)
    "polar": (lambda L, a, b: L.polar(a.abs() + 0.1, b), [("real", (3,)), ("real", (3,))]),
    "view_as_real": (lambda L, a: L.view_as_real(a) * 2, [(3,)]),
    "view_as_complex": (lambda L, a: L.view_as_complex(a), [("real", (3, 2))]),
    "mH": (lambda L, a, b: a.mH @ b, [(3, 2), (3, 2)]),
}


def _inplace_program(L, z, w):
    y = z * 1
    y.mul_(w)
    y[0] = y[1] * 2
    y.add_(1j)
    y[1:].sub_(z[:2].conj())
    return y


CASES["inplace_and_setitem"] = (_inplace_program, [(3,), (3,)])


def _inputs(shapes: list) -> list[np.ndarray]:
    out = []
    for s in shapes:
        if s[0] == "real":
            out.append(RNG.standard_normal(s[1]) + 0.5)
        else:
            out.append(_c(*s))
    return out


def _run(lib, fn, arrays, weights=None):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    y = fn(lib, *xs)
    parts = lib.view_as_real(y) if y.is_complex() else y
    w = lib.tensor(weights) if weights is not None else None
    loss = (parts * w).sum() if w is not None else parts.sum()
    loss.backward()
    return y, [x.grad for x in xs], parts.shape


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_torch(name: str) -> None:
    fn, shapes = CASES[name]
    arrays = _inputs(shapes)
    y_t, _, shape = _run(torch, fn, arrays)
    weights = RNG.standard_normal(tuple(shape))
    y_t, g_t, _ = _run(torch, fn, arrays, weights)
    y_c, g_c, _ = _run(cr, fn, arrays, weights)
    np.testing.assert_allclose(
        y_c.detach().numpy(), y_t.detach().resolve_conj().numpy(), rtol=1e-12, atol=1e-12
    )
    for gc, gt in zip(g_c, g_t):
        assert gc.dtype == str(gt.dtype).replace("torch.", "")
        np.testing.assert_allclose(gc.numpy(), gt.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["mul", "exp", "div", "matmul", "abs", "angle", "real_imag"])
def test_gradient_matches_finite_differences(name: str) -> None:
    """The convention itself, without torch: ``grad = dL/dx + i dL/dy`` by central
    differences on the real and imaginary parts of the first input."""
    fn, shapes = CASES[name]
    arrays = _inputs(shapes)
    if np.iscomplexobj(arrays[0]) is False:
        pytest.skip("first input is real")

    def loss(first: np.ndarray) -> float:
        y = fn(cr, cr.tensor(first), *[cr.tensor(a) for a in arrays[1:]])
        parts = cr.view_as_real(y) if y.is_complex() else y
        return float((parts * parts).sum() * 0.5 + parts.sum())

    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    y = fn(cr, *xs)
    parts = cr.view_as_real(y) if y.is_complex() else y
    ((parts * parts).sum() * 0.5 + parts.sum()).backward()
    grad = xs[0].grad.numpy()
    eps = 1e-6
    num = np.zeros_like(arrays[0])
    for idx in np.ndindex(arrays[0].shape):
        for unit in (1.0, 1j):
            up, dn = arrays[0].copy(), arrays[0].copy()
            up[idx] += eps * unit
            dn[idx] -= eps * unit
            num[idx] += unit * (loss(up) - loss(dn)) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


def test_double_backward_through_holomorphic_ops_matches_torch() -> None:
    a, b = _c(3), _c(3)
    res = []
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(b)
        y = (lib.exp(x) * w).abs().sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g.conj()).real.sum(), x)
        res.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-10)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)


def test_forward_mode_of_holomorphic_ops_matches_torch() -> None:
    a, t, b = _c(3), _c(3), _c(3)

    def f(lib):
        return lambda x: lib.exp(x) * lib.tensor(b) + x**2

    _, jc = cr.func.jvp(f(cr), (cr.tensor(a),), (cr.tensor(t),))
    _, jt = torch.func.jvp(f(torch), (torch.tensor(a),), (torch.tensor(t),))
    np.testing.assert_allclose(jc.numpy(), jt.numpy(), rtol=1e-12)


def test_ops_without_a_complex_rule_refuse_instead_of_a_wrong_gradient() -> None:
    def embed(v: cr.Tensor) -> cr.Tensor:
        return cr.nn.functional.embedding(cr.tensor([0, 2]), v.reshape(3, 1))

    z = cr.tensor(_c(3), requires_grad=True)
    with pytest.raises(NotImplementedError, match="EmbeddingFn: autograd through complex"):
        embed(z)  # torch refuses complex embedding gradients too
    w = cr.tensor(_c(3))
    x = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(NotImplementedError, match="complex"):
        embed(x * w)  # a real input meeting a complex constant: the weight is complex
    with cr.no_grad():  # without recording, complex values compute as in torch
        zt = torch.tensor(z.detach().numpy()).reshape(3, 1)
        want = torch.nn.functional.embedding(torch.tensor([0, 2]), zt)
        np.testing.assert_allclose(embed(z).numpy(), want.numpy())


def test_support_table_is_what_the_ops_state() -> None:
    assert all(op.complex_grad == "holomorphic" for op in HOLOMORPHIC)
    assert all(op.complex_grad is True for op in REAL_LINEAR)


def test_user_function_owns_its_complex_rule() -> None:
    class Twice(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    z = cr.tensor(_c(2), requires_grad=True)
    cr.view_as_real(Twice.apply(z)).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), np.full(2, 2 + 2j))


def test_complex_promotion_matches_torch() -> None:
    c64 = np.array([1 + 2j], dtype=np.complex64)
    f32 = np.array([1.5], dtype=np.float32)
    cases = [
        lambda L: L.tensor(c64) + L.tensor(np.array([1.5])),
        lambda L: L.tensor(c64) + L.tensor(f32),
        lambda L: L.tensor(c64) + L.tensor([2]),
        lambda L: L.tensor(f32) * 1j,
        lambda L: L.tensor([2]) * 1j,
        lambda L: L.tensor(np.array([1.5])) * (1 + 1j),
        lambda L: L.tensor(c64) * 2.0,
    ]
    for case in cases:
        c, t = case(cr), case(torch)
        assert c.dtype == str(t.dtype).replace("torch.", "")
        np.testing.assert_allclose(c.numpy(), t.numpy())


def test_complex_api_values_and_errors_match_torch() -> None:
    z = _c(2, 3)
    for name in ("real", "imag", "conj", "angle", "conj_physical", "view_as_real", "sgn"):
        c = getattr(cr, name)(cr.tensor(z))
        t = getattr(torch, name)(torch.tensor(z))
        np.testing.assert_allclose(c.numpy(), t.resolve_conj().numpy())
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    np.testing.assert_allclose(cr.angle(cr.tensor(x)).numpy(), torch.angle(torch.tensor(x)))
    assert cr.conj(cr.tensor(x)) is not None
    np.testing.assert_allclose(cr.tensor(z).real.numpy(), z.real)
    np.testing.assert_allclose(cr.tensor(z).mH.numpy(), z.conj().T)
    np.testing.assert_allclose(cr.tensor(z).adjoint().numpy(), z.conj().T)
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        _ = cr.tensor(x).imag
    with pytest.raises(RuntimeError, match="last dimension of size 2"):
        cr.view_as_complex(cr.tensor(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.complex(cr.tensor(np.ones(2)), cr.tensor(np.ones(2, dtype=np.float32)))


def test_complex_dtypes_and_conversions_match_torch() -> None:
    assert cr.cfloat == cr.complex64 and cr.cdouble == cr.complex128
    for lib in (cr, torch):
        assert lib.zeros(2, dtype=lib.complex64).dtype == lib.cfloat
    res = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        y = x.cdouble() * (1 + 1j)
        assert x.cfloat().dtype == lib.complex64
        y.abs().sum().backward()
        res.append(x.grad.numpy())  # a real input's gradient: the real part
    np.testing.assert_allclose(res[0], res[1])
    with pytest.raises(NotImplementedError, match="complex32"):
        cr.ones(2).chalf()
