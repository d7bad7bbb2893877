"""Complex autograd for the wider set of ops (sigmoid, exp2, sinc, pow, norms, var/std, products,
inv/det/solve), against PyTorch and finite differences.

Each case is a function of complex inputs (``("real", shape)`` marks a real one). It is checked
for values and ``.grad`` against torch in complex128 and (loosely) complex64, by
``cr.autograd.gradcheck`` and ``gradgradcheck`` (over the real and imaginary parts: gradcheck
takes float64 inputs, and ``cr.complex``/``view_as_real`` carry PyTorch's convention across),
for double backward against torch, and for forward mode against ``torch.func.jvp``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import chainrule as cr

# name -> (function of (lib, *inputs), input shapes)
CASES = {
    "sigmoid": (lambda L, a: L.sigmoid(a), [(2, 3)]),
    "sigmoid_method": (lambda L, a: a.sigmoid() * a, [(3,)]),
    "exp2": (lambda L, a: L.exp2(a), [(4,)]),
    "sinc": (lambda L, a: L.sinc(a), [(4,)]),
    "rsqrt": (lambda L, a: L.rsqrt(a), [(4,)]),
    "square": (lambda L, a: L.square(a), [(4,)]),
    "tanh": (lambda L, a: L.tanh(a), [(4,)]),
    "log1p_expm1": (lambda L, a: L.log1p(a) + L.expm1(a), [(4,)]),
    "exp_log_sqrt": (lambda L, a: L.exp(a) * L.log(a) + L.sqrt(a) - L.log2(a) + L.log10(a), [(4,)]),
    "trig": (lambda L, a: L.sin(a) * L.cos(a) + L.tan(a) - L.sinh(a) * L.cosh(a), [(4,)]),
    "inverse_trig": (
        lambda L, a: L.asin(a * 0.3) + L.acos(a * 0.3) * L.atan(a) + L.asinh(a) - L.atanh(a * 0.3),
        [(4,)],
    ),
    "reciprocal": (lambda L, a: L.reciprocal(a), [(4,)]),
    "abs": (lambda L, a: L.abs(a), [(4,)]),
    "sgn_angle": (lambda L, a: L.sgn(a) * L.angle(a), [(4,)]),
    "pow_real_scalar": (lambda L, a: a**2.5, [(4,)]),
    "pow_complex_scalar": (lambda L, a: a ** (1.5 - 0.5j), [(4,)]),
    "pow_real_exponent": (lambda L, a, b: L.pow(a, b), [(4,), ("real", (4,))]),
    "pow_complex_exponent": (lambda L, a, b: L.pow(a, b), [(4,), (4,)]),
    "pow_real_base": (lambda L, a, b: L.pow(a.abs() + 0.5, b), [("real", (4,)), (4,)]),
    "vector_norm": (lambda L, a: L.linalg.vector_norm(a), [(2, 3)]),
    "vector_norm_dim_keepdim": (
        lambda L, a: L.linalg.vector_norm(a, dim=1, keepdim=True),
        [(2, 3)],
    ),
    "vector_norm_ord1": (lambda L, a: L.linalg.vector_norm(a, 1, dim=0), [(2, 3)]),
    "vector_norm_ord3": (lambda L, a: L.linalg.vector_norm(a, 3), [(2, 3)]),
    "vector_norm_ord_half": (lambda L, a: L.linalg.vector_norm(a, 0.5, dim=(0, 1)), [(2, 3)]),
    "vector_norm_inf": (lambda L, a: L.linalg.vector_norm(a, float("inf"), dim=1), [(2, 3)]),
    "norm": (lambda L, a: L.norm(a), [(2, 3)]),
    "norm_p3_dim": (lambda L, a: L.norm(a, p=3, dim=0), [(2, 3)]),
    "norm_fro_keepdim": (lambda L, a: a.norm(dim=1, keepdim=True), [(2, 3)]),
    "linalg_norm": (lambda L, a: L.linalg.norm(a), [(2, 3)]),
    "linalg_norm_fro": (lambda L, a: L.linalg.norm(a, "fro"), [(3, 3)]),
    "linalg_norm_ord1": (lambda L, a: L.linalg.norm(a, 1), [(3, 3)]),
    "matrix_norm_inf": (lambda L, a: L.linalg.matrix_norm(a, float("inf")), [(3, 3)]),
    "abs_pow2_sum": (lambda L, a: a.abs().pow(2).sum(), [(2, 3)]),
    "normalize": (lambda L, a: L.nn.functional.normalize(a, dim=0), [(3, 2)]),
    "dist": (lambda L, a, b: L.dist(a, b), [(3,), (3,)]),
    "mean": (lambda L, a: a.mean(dim=1), [(2, 3)]),
    "var": (lambda L, a: a.var(), [(2, 3)]),
    "var_dim_keepdim": (lambda L, a: L.var(a, dim=1, keepdim=True, correction=0), [(2, 3)]),
    "std": (lambda L, a: a.std(dim=0), [(3, 2)]),
    "var_mean": (lambda L, a: L.view_as_real(L.var_mean(a, dim=0)[1]) * L.var_mean(a)[0], [(3,)]),
    "std_mean": (lambda L, a: L.std_mean(a, dim=1)[0], [(2, 3)]),
    "dot": (lambda L, a, b: L.dot(a, b), [(3,), (3,)]),
    "vdot": (lambda L, a, b: L.vdot(a, b), [(3,), (3,)]),
    "inner": (lambda L, a, b: L.inner(a, b), [(2, 3), (3,)]),
    "inv": (lambda L, a: L.linalg.inv(a), [(3, 3)]),
    "inverse_batched": (lambda L, a: L.inverse(a), [(2, 2, 2)]),
    "det": (lambda L, a: L.linalg.det(a), [(3, 3)]),
    "det_batched": (lambda L, a: L.det(a), [(2, 2, 2)]),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), [(3, 3), (3, 2)]),
    "solve_vector": (lambda L, a, b: L.linalg.solve(a, b), [(3, 3), (3,)]),
    "solve_left_false": (lambda L, a, b: L.linalg.solve(a, b, left=False), [(2, 2), (3, 2)]),
    "matrix_power": (lambda L, a: L.linalg.matrix_power(a, 3), [(2, 2)]),
    "matrix_power_negative": (lambda L, a: L.linalg.matrix_power(a, -2), [(2, 2)]),
    "cross": (lambda L, a, b: L.linalg.cross(a, b), [(2, 3), (2, 3)]),
}

# torch.func.jvp drops the imaginary part of pow's tangent in the real input (pow(z, real b)
# along b, pow(real a, w) along a): a torch bug (the exact tangent is y log(z) tb, ta w a^(w-1)).
# These are checked by the jvp/vjp identity below and by gradcheck's forward mode instead.
TORCH_JVP_WRONG = {"pow_real_exponent", "pow_real_base"}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _inputs(name: str) -> list[np.ndarray]:
    rng = _rng(name)
    out = []
    for s in CASES[name][1]:
        if s[0] == "real":
            out.append(rng.standard_normal(s[1]) + 0.5)
        else:
            out.append(rng.standard_normal(s) + 1j * rng.standard_normal(s) + 0.3)
    return out


def _np(t) -> np.ndarray:
    t = t.detach()
    return t.resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.numpy()


def _real_parts(lib, y):
    return lib.view_as_real(y.resolve_conj()) if y.is_complex() else y


def _run(lib, name: str, arrays: list, dtype: str, weights=None):
    fn = CASES[name][0]
    cdt, rdt = (np.complex128, np.float64) if dtype == "complex128" else (np.complex64, np.float32)
    xs = [
        lib.tensor(a.astype(cdt if np.iscomplexobj(a) else rdt), requires_grad=True) for a in arrays
    ]
    y = fn(lib, *xs)
    parts = _real_parts(lib, y)
    if weights is None:
        weights = _rng(name + "w").standard_normal(tuple(parts.shape))
    loss = (parts * lib.tensor(weights.astype(rdt))).sum()
    loss.backward()
    return y, [x.grad for x in xs]


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_grad_match_torch(name: str, dtype: str) -> None:
    arrays = _inputs(name)
    y_t, g_t = _run(torch, name, arrays, dtype)
    y_c, g_c = _run(cr, name, arrays, dtype)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "complex128" else {"rtol": 2e-4, "atol": 1e-4}
    assert y_c.dtype == str(y_t.dtype).replace("torch.", "")
    assert tuple(y_c.shape) == tuple(y_t.shape)
    np.testing.assert_allclose(_np(y_c), _np(y_t), **tol)
    for gc, gt in zip(g_c, g_t):
        assert gc.dtype == str(gt.dtype).replace("torch.", "")
        np.testing.assert_allclose(_np(gc), _np(gt), **tol)


def _as_real_function(name: str):
    """The case as a function of float64 tensors: each complex input becomes (re, im)."""
    fn, shapes = CASES[name]
    arrays = _inputs(name)
    flat = []
    for a in arrays:
        flat += [a.real.copy(), a.imag.copy()] if np.iscomplexobj(a) else [a]

    def f(*ts):
        it = iter(ts)
        args = [cr.complex(next(it), next(it)) if s[0] != "real" else next(it) for s in shapes]
        return _real_parts(cr, fn(cr, *args))

    return f, [cr.tensor(a, requires_grad=True) for a in flat]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_forward_mode_against_finite_differences(name: str) -> None:
    f, inputs = _as_real_function(name)
    assert cr.autograd.gradcheck(f, inputs, check_forward_ad=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name: str) -> None:
    f, inputs = _as_real_function(name)
    assert cr.autograd.gradgradcheck(f, inputs)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"mean"}))  # linear: no second derivative
def test_double_backward_matches_torch(name: str) -> None:
    fn = CASES[name][0]
    arrays = _inputs(name)
    res = []
    for lib in (torch, cr):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        parts = _real_parts(lib, fn(lib, *xs))
        w = lib.tensor(_rng(name + "w").standard_normal(tuple(parts.shape)))
        grads = lib.autograd.grad((parts * w).sum(), xs, create_graph=True)
        second = sum((_real_parts(lib, g) ** 2).sum() for g in grads)
        res.append([_np(h) for h in lib.autograd.grad(second, xs)])
    for hc, ht in zip(res[1], res[0]):
        np.testing.assert_allclose(hc, ht, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_mode_matches_torch_and_reverse_mode(name: str) -> None:
    """``torch.func.jvp``'s tangent, and the identity ``Re<w, J t> = Re<grad_w, t>`` that ties
    a jvp to PyTorch's convention for the gradient (``grad_w`` of the loss ``Re<w, f(z)>``)."""
    fn = CASES[name][0]
    arrays = _inputs(name)
    rng = _rng(name + "t")
    tangents = [
        rng.standard_normal(a.shape)
        + (1j * rng.standard_normal(a.shape) if np.iscomplexobj(a) else 0)
        for a in arrays
    ]
    results = []
    for lib in (torch, cr):
        prim = tuple(lib.tensor(a) for a in arrays)
        tan = tuple(lib.tensor(t) for t in tangents)
        y, jy = lib.func.jvp(lambda *xs, lib=lib: fn(lib, *xs), prim, tan)
        results.append((_np(y), _np(jy)))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    if name not in TORCH_JVP_WRONG:
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-9, atol=1e-11)
    # reverse mode: the gradient of Re(sum(conj(w) f)) with w the same shape as f
    jy = results[1][1]
    w = rng.standard_normal(jy.shape) + (
        1j * rng.standard_normal(jy.shape) if np.iscomplexobj(jy) else 0
    )
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    y = fn(cr, *xs)
    prod = y * cr.tensor(np.conj(w))
    (prod.real if prod.is_complex() else prod).sum().backward()
    lhs = np.real(np.vdot(w, jy))
    rhs = sum(np.real(np.vdot(x.grad.numpy(), t)) for x, t in zip(xs, tangents))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-11)


def test_sigmoid_values_in_place_and_overflow_match_torch() -> None:
    z = np.array([-800 + 1j, 800 - 2j, 0j, 1e-3 + 50j, 2 - 3j])
    res = []
    for lib in (torch, cr):
        x = lib.tensor(z[-2:], requires_grad=True)
        y = x * 2
        y.sigmoid_()
        lib.view_as_real(y).sum().backward()
        res.append((lib.sigmoid(lib.tensor(z)).numpy(), y.detach().numpy(), x.grad.numpy()))
        assert (lib.sigmoid(lib.tensor(z, dtype=lib.complex64))).dtype == lib.complex64
    for c, t in zip(res[1], res[0]):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-14)  # NaN where torch is NaN


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_refuses_complex_as_torch(op: str) -> None:
    """PyTorch has no complex softmax/log_softmax kernel (NotImplementedError): neither does
    chainrule; the error names the op and the dtype, as a function and as a method."""
    z = np.array([1 + 1j, 2 - 1j])
    with pytest.raises(NotImplementedError):
        getattr(torch, op)(torch.tensor(z), 0)
    for call in (
        lambda: getattr(cr, op)(cr.tensor(z), 0),
        lambda: getattr(cr.nn.functional, op)(cr.tensor(z, requires_grad=True), dim=0),
        lambda: getattr(cr.tensor(z), op)(0),
    ):
        with pytest.raises(NotImplementedError, match=f"{op}.*complex128"):
            call()


def test_ops_without_a_complex_rule_still_refuse_naming_themselves() -> None:
    z = cr.tensor(np.ones((2, 3)) * (1 + 1j), requires_grad=True)
    with pytest.raises(NotImplementedError, match="EmbeddingFn: autograd through complex"):
        cr.nn.functional.embedding(cr.tensor([0, 1]), z)  # torch refuses it too
    a = cr.tensor(np.eye(2) * (1 + 1j), requires_grad=True)
    for call, op in [
        (lambda: cr.ormqr(a, a[0], a), "ormqr"),
    ]:
        with pytest.raises(NotImplementedError, match=f"{op}: complex inputs are not supported"):
            call()


def test_complex_norm_dtypes_and_errors_match_torch() -> None:
    z = np.array([[1 + 1j, 0j], [0.5 + 2j, -1 + 0.3j]])
    for case in [
        lambda L, x: L.linalg.vector_norm(x, dtype=L.complex128),
        lambda L, x: L.linalg.vector_norm(x.to(L.complex64)),
        lambda L, x: L.linalg.vector_norm(x, 0, dim=1),
        lambda L, x: L.linalg.vector_norm(x, -2, dim=1),
        lambda L, x: L.linalg.vector_norm(x[0, 0], keepdim=True),
        lambda L, x: L.linalg.vector_norm(x, dim=(), keepdim=True),
        lambda L, x: L.norm(x, p=0, dim=1, keepdim=True),
        lambda L, x: L.norm(x, p=float("inf")),
        lambda L, x: L.var(x.to(L.complex64), dim=0),
    ]:
        c, t = case(cr, cr.tensor(z)), case(torch, torch.tensor(z))
        assert c.dtype == str(t.dtype).replace("torch.", "")
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-6)
    for dtype, msg in [("float64", "should be complex"), ("complex64", "without narrowing")]:
        for lib in (torch, cr):
            with pytest.raises(RuntimeError, match=msg):
                lib.linalg.vector_norm(lib.tensor(z), dtype=getattr(lib, dtype))
    with pytest.raises(RuntimeError, match="without narrowing"):
        cr.linalg.matrix_norm(cr.tensor(z), dtype=cr.complex64)


def test_complex_variance_of_one_element_warns_and_is_nan_as_torch() -> None:
    for lib in (torch, cr):
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            v = lib.var(lib.tensor([1 + 2j]))
        assert np.isnan(v.item())


@pytest.mark.parametrize("op", ["relu", "sign", "nn.functional.softplus"])
def test_ops_torch_refuses_for_complex_refuse_with_the_same_error_type(op: str) -> None:
    """NotImplementedError as PyTorch (still a TypeError, as chainrule raised before)."""
    for lib in (torch, cr):
        fn = lib
        for part in op.split("."):
            fn = getattr(fn, part)
        with pytest.raises(NotImplementedError):
            fn(lib.tensor([1 + 1j]))
    with pytest.raises(TypeError, match=op.split(".")[-1]):
        fn(cr.tensor([1 + 1j]))


def test_matrix_exp_of_complex_matches_torch() -> None:
    rng = np.random.default_rng(7)
    a = (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))) * 0.7
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = cr.linalg.matrix_exp(x), torch.linalg.matrix_exp(t)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-13, atol=1e-14)
    (y.abs() ** 2).sum().backward()
    (yt.abs() ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_cosine_similarity_refuses_complex_as_torch() -> None:
    z = np.array([1 + 1j, 2 - 1j])
    with pytest.raises(RuntimeError):
        torch.nn.functional.cosine_similarity(torch.tensor(z), torch.tensor(z), dim=0)
    with pytest.raises(RuntimeError, match="cosine_similarity"):
        cr.nn.functional.cosine_similarity(cr.tensor(z), cr.tensor(z), dim=0)
