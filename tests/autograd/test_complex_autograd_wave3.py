"""Complex autograd, third wave: ``gradcheck``/``gradgradcheck`` on complex inputs and outputs,
and the ops that PyTorch differentiates for complex tensors which chainrule used to refuse
(``F.linear``/``nn.Linear``, convolutions, ``lerp``, ``logaddexp``, ``softsign``, ``diag_embed``,
``scatter``, ``slogdet``/``logdet``).

``gradcheck`` works in real coordinates (a complex element is its real and imaginary parts),
so it is checked against PyTorch's verdict: right rules pass, a custom ``Function`` whose
backward misses a conjugate fails in both. Each op case is a function of complex inputs
(``("real", shape)`` marks a real one) and is checked for values and ``.grad`` against torch in
complex128 and (loosely) complex64, by the native complex ``gradcheck`` (with forward mode)
and ``gradgradcheck``, for double backward against torch, and for forward mode against
``torch.func.jvp`` and against reverse mode.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from torch.autograd.gradcheck import GradcheckError as TorchGCE

import chainrule as cr

F_IDX = [[0, 2, 1], [1, 0, 0]]
GCE = cr.autograd.GradcheckError

# name -> (function of (lib, *inputs), input shapes)
CASES = {
    "linear": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [(4, 3), (2, 3), (2,)]),
    "linear_3d_no_bias": (lambda L, x, w: L.nn.functional.linear(x, w), [(2, 2, 3), (4, 3)]),
    "linear_1d": (lambda L, x, w: L.nn.functional.linear(x, w), [(3,), (2, 3)]),
    "linear_then_abs": (lambda L, x, w: L.nn.functional.linear(x, w).abs(), [(2, 3), (2, 3)]),
    "mm_addmm": (lambda L, a, b: L.addmm(a, a, b, beta=0.5, alpha=2) @ L.mm(a, b), [(2, 2)] * 2),
    "bmm_baddbmm": (lambda L, a, b: L.baddbmm(a, a, b, alpha=0.5) - L.bmm(a, b), [(2, 2, 2)] * 2),
    "mv_addmv_outer": (
        lambda L, a, v: L.addmv(v, a, v) * L.mv(a, v) + L.outer(v, v)[0],
        [(2, 2), (2,)],
    ),
    "tensordot_kron": (
        lambda L, a, b: L.tensordot(a, b, dims=1) + L.kron(a, b)[:2, :2],
        [(2, 2)] * 2,
    ),
    "conv1d": (
        lambda L, x, w, b: L.nn.functional.conv1d(x, w, b, padding=1, groups=2),
        [(1, 4, 5), (2, 2, 3), (2,)],
    ),
    "conv2d_strided": (
        lambda L, x, w: L.nn.functional.conv2d(x, w, stride=2, padding=1, dilation=(1, 2)),
        [(1, 2, 4, 5), (2, 2, 2, 2)],
    ),
    "conv3d": (lambda L, x, w: L.nn.functional.conv3d(x, w), [(1, 1, 3, 3, 3), (2, 1, 2, 2, 2)]),
    "conv_transpose2d": (
        lambda L, x, w: L.nn.functional.conv_transpose2d(x, w, stride=2, output_padding=1),
        [(1, 2, 2, 2), (2, 1, 2, 2)],
    ),
    "fold": (
        lambda L, a: L.nn.functional.fold(a, (3, 4), (2, 2), padding=(0, 1)) * a.sum(),
        [(1, 4, 10)],
    ),
    "unfold_fold": (
        lambda L, a: L.nn.functional.fold(L.nn.functional.unfold(a, 2), (3, 3), 2),
        [(1, 1, 3, 3)],
    ),
    "lerp_scalar_weight": (lambda L, a, b: L.lerp(a, b, 0.3 - 0.2j), [(3,), (3,)]),
    "lerp_tensor_weight": (lambda L, a, b, w: L.lerp(a, b, w), [(3,), (3,), (3,)]),
    "logaddexp": (lambda L, a, b: L.logaddexp(a, b), [(4,), (4,)]),
    "logaddexp_broadcast": (lambda L, a, b: a.logaddexp(b * 3), [(2, 3), (3,)]),
    "softsign": (lambda L, a: L.nn.functional.softsign(a), [(4,)]),
    "diag_embed": (lambda L, a: L.diag_embed(a, offset=1), [(2, 3)]),
    "diag_diagflat": (lambda L, a: L.diag(a) * 2 + L.diagflat(a) @ L.diagflat(a), [(3,)]),
    "diagonal_scatter": (lambda L, a, b: L.diagonal_scatter(a, b), [(3, 3), (3,)]),
    "scatter": (lambda L, a, b: a.scatter(0, L.tensor(F_IDX), b), [(3, 3), (2, 3)]),
    "scatter_value": (lambda L, a: a.scatter(1, L.tensor(F_IDX), 2.0) * a, [(2, 3)]),
    "scatter_add": (lambda L, a, b: L.scatter_add(a, 0, L.tensor(F_IDX), b), [(3, 3), (2, 3)]),
    "index_copy": (lambda L, a, b: a.index_copy(0, L.tensor([2, 0]), b), [(3, 2), (2, 2)]),
    "slogdet": (lambda L, a: L.linalg.slogdet(a), [(3, 3)]),
    "slogdet_sign_only": (lambda L, a: L.linalg.slogdet(a)[0] * a.sum(), [(2, 2, 2)]),
    "logdet": (lambda L, a: L.logdet(a), [(2, 3, 3)]),
}


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


def _outs(y) -> tuple:
    return tuple(y) if isinstance(y, tuple) else (y,)


def _parts(lib, y):
    """Every output's real coordinates in one real vector (a complex element gives two)."""
    flat = []
    for o in _outs(y):
        o = o.resolve_conj() if o.is_complex() else o
        flat.append((lib.view_as_real(o) if o.is_complex() else o).reshape(-1))
    return lib.cat(flat)


def _run(lib, name: str, dtype: str):
    fn = CASES[name][0]
    cdt, rdt = (np.complex128, np.float64) if dtype == "complex128" else (np.complex64, np.float32)
    arrays = _inputs(name)
    xs = [
        lib.tensor(a.astype(cdt if np.iscomplexobj(a) else rdt), requires_grad=True) for a in arrays
    ]
    y = fn(lib, *xs)
    parts = _parts(lib, y)
    weights = _rng(name + "w").standard_normal(tuple(parts.shape)).astype(rdt)
    (parts * lib.tensor(weights)).sum().backward()
    return _outs(y), [x.grad for x in xs]


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_grad_match_torch(name: str, dtype: str) -> None:
    y_t, g_t = _run(torch, name, dtype)
    y_c, g_c = _run(cr, name, dtype)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "complex128" else {"rtol": 2e-4, "atol": 2e-4}
    for yc, yt in zip(y_c, y_t, strict=True):
        assert yc.dtype == str(yt.dtype).replace("torch.", "")
        assert tuple(yc.shape) == tuple(yt.shape)
        np.testing.assert_allclose(_np(yc), _np(yt), **tol)
    for gc, gt in zip(g_c, g_t, strict=True):
        assert gc.dtype == str(gt.dtype).replace("torch.", "")
        np.testing.assert_allclose(_np(gc), _np(gt), **tol)


def _leaves(name: str) -> list:
    return [cr.tensor(a, requires_grad=True) for a in _inputs(name)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_native_complex_gradcheck_and_gradgradcheck(name: str) -> None:
    fn = CASES[name][0]

    def f(*xs):
        return fn(cr, *xs)

    assert cr.autograd.gradcheck(f, _leaves(name), check_forward_ad=True)
    assert cr.autograd.gradgradcheck(f, _leaves(name))


# linear in every input: no second derivative to compare (torch's second grad refuses)
LINEAR = {
    "unfold_fold",
    "diag_embed",
    "diagonal_scatter",
    "index_copy",
    "lerp_scalar_weight",
    "scatter",
}
LINEAR |= {"scatter_add"}


@pytest.mark.parametrize("name", sorted(set(CASES) - LINEAR))
def test_double_backward_matches_torch(name: str) -> None:
    fn = CASES[name][0]
    res = []
    for lib in (torch, cr):
        xs = [lib.tensor(a, requires_grad=True) for a in _inputs(name)]
        parts = _parts(lib, fn(lib, *xs))
        w = lib.tensor(_rng(name + "w").standard_normal(tuple(parts.shape)))
        grads = lib.autograd.grad((parts * w).sum(), xs, create_graph=True)
        second = sum((_parts(lib, g) ** 2).sum() for g in grads)
        hs = lib.autograd.grad(second, xs, allow_unused=True)
        res.append([np.zeros(x.shape) if h is None else _np(h) for h, x in zip(hs, xs)])
    for hc, ht in zip(res[1], res[0], strict=True):
        np.testing.assert_allclose(hc, ht, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_mode_matches_torch_and_reverse_mode(name: str) -> None:
    """``torch.func.jvp``'s tangents, and ``Re<w, J t> = Re<grad_w, t>``, which ties a jvp to
    PyTorch's convention for the gradient (``grad_w`` of the loss ``Re<w, f(z)>``)."""
    fn = CASES[name][0]
    arrays = _inputs(name)
    rng = _rng(name + "t")
    tangents = [
        rng.standard_normal(a.shape)
        + (1j * rng.standard_normal(a.shape) if a.dtype.kind == "c" else 0)
        for a in arrays
    ]
    results = []
    for lib in (torch, cr):
        prim = tuple(lib.tensor(a) for a in arrays)
        tan = tuple(lib.tensor(t) for t in tangents)
        y, jy = lib.func.jvp(lambda *xs, lib=lib: fn(lib, *xs), prim, tan)
        results.append(([_np(o) for o in _outs(y)], [_np(o) for o in _outs(jy)]))
    for c, t in zip(results[1][0] + results[1][1], results[0][0] + results[0][1], strict=True):
        np.testing.assert_allclose(c, t, rtol=1e-9, atol=1e-11)
    jys = results[1][1]
    ws = [
        rng.standard_normal(j.shape)
        + (1j * rng.standard_normal(j.shape) if j.dtype.kind == "c" else 0)
        for j in jys
    ]
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    loss = sum(
        (o * cr.tensor(np.conj(w))).real.sum() if o.is_complex() else (o * cr.tensor(w)).sum()
        for o, w in zip(_outs(fn(cr, *xs)), ws)
    )
    loss.backward()
    lhs = sum(np.real(np.vdot(w, j)) for w, j in zip(ws, jys))
    rhs = sum(np.real(np.vdot(x.grad.numpy(), t)) for x, t in zip(xs, tangents))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- gradcheck
def _square_functions(lib, conj: bool):
    """z -> z² as a custom Function whose backward has (or misses) PyTorch's conjugate."""

    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * 2 * (z.conj() if conj else z)

    return Square


def _z(n: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("conj", [True, False])
def test_gradcheck_verdict_on_a_custom_backward_matches_torch(conj: bool, fast_mode: bool) -> None:
    verdicts = []
    for lib in (torch, cr):
        fn = _square_functions(lib, conj).apply
        z = lib.tensor(_z(), requires_grad=True)
        verdicts.append(
            lib.autograd.gradcheck(fn, (z,), raise_exception=False, fast_mode=fast_mode)
        )
        if not conj:
            with pytest.raises(TorchGCE if lib is torch else GCE):
                lib.autograd.gradcheck(fn, (z,), fast_mode=fast_mode)
    assert verdicts == [conj, conj]


# functions that are not holomorphic (or not complex at all somewhere): right rules pass
NON_HOLOMORPHIC = {
    "abs": (lambda L, z: z.abs(), 1),
    "real_imag": (lambda L, z: z.real * 2 - z.imag, 1),
    "conj_times_z": (lambda L, z: z.conj() * z, 1),
    "angle": (lambda L, z: L.angle(z), 1),
    "view_as_real": (lambda L, z: L.view_as_real(z), 1),
    "real_in_complex_out": (lambda L, x, y: L.complex(x, y) ** 2, 0),
    "mixed_tuple": (lambda L, z, x: (z * x, (z.conj() * x).abs(), z.real + x), 2),
}


def _nh_inputs(lib, name: str) -> tuple:
    n_complex = NON_HOLOMORPHIC[name][1]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [rng.standard_normal(3) + 1j * rng.standard_normal(3) for _ in range(n_complex)]
    n_real = 2 if n_complex == 0 else (1 if n_complex == 2 else 0)
    arrays += [rng.standard_normal(3) for _ in range(n_real)]
    if name == "mixed_tuple":
        arrays = arrays[:1] + arrays[2:]
    return tuple(lib.tensor(a, requires_grad=True) for a in arrays)


@pytest.mark.parametrize("name", sorted(NON_HOLOMORPHIC))
def test_gradcheck_passes_non_holomorphic_functions_as_torch(name: str) -> None:
    fn = NON_HOLOMORPHIC[name][0]
    for lib in (torch, cr):
        inputs = _nh_inputs(lib, name)

        def f(*xs, lib=lib):
            return fn(lib, *xs)

        for fast in (False, True):
            assert lib.autograd.gradcheck(f, inputs, check_forward_ad=True, fast_mode=fast)
        assert lib.autograd.gradgradcheck(f, inputs)
    assert cr.autograd.gradcheck(f, inputs, check_batched_grad=True, check_grad_dtypes=True)


class _WrongTangent(cr.autograd.Function):
    """exp(z) with a right backward but a forward-mode rule that conjugates the tangent."""

    @staticmethod
    def forward(ctx, z):
        y = z.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y.conj()

    @staticmethod
    def jvp(ctx, t):
        return t.conj() * ctx.primals[0].exp()


def test_gradcheck_forward_mode_and_vjp_jvp_identity_catch_a_wrong_complex_tangent() -> None:
    z = cr.tensor(_z(), requires_grad=True)
    assert cr.autograd.gradcheck(_WrongTangent.apply, (z,))
    assert not cr.autograd.gradcheck(
        _WrongTangent.apply, (z,), check_forward_ad=True, raise_exception=False
    )
    with pytest.raises(GCE, match=r"forward mode.*\.imag"):
        cr.autograd.gradcheck(_WrongTangent.apply, (z,), check_forward_ad=True)
    assert not cr.autograd.gradcheck(
        _WrongTangent.apply, (z,), check_forward_ad=True, fast_mode=True, raise_exception=False
    )
    assert cr.autograd.check_vjp_jvp(lambda a, b: a * b.conj() + a.abs(), (z.detach(), z * 2))
    with pytest.raises(GCE, match="jvp/vjp mismatch"):
        cr.autograd.check_vjp_jvp(_WrongTangent.apply, (z.detach(),))


def test_gradcheck_names_the_complex_coordinate_and_needs_complex128() -> None:
    z = cr.tensor(_z(), requires_grad=True)
    with pytest.raises(GCE, match=r"d out\[\d\]\.(real|imag) / d in\[\d\]\.(real|imag)"):
        cr.autograd.gradcheck(_square_functions(cr, False).apply, (z,))
    for lib in (cr, torch):  # single precision: PyTorch's warning, then the check runs
        z64 = lib.tensor(_z(), dtype=lib.complex64, requires_grad=True)
        with pytest.warns(UserWarning, match="not a double precision floating point"):
            assert lib.autograd.gradcheck(lambda a: a * 2, (z64,), eps=1e-2, atol=1e-3)
        x32 = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        with pytest.warns(UserWarning, match="not a double precision"):
            assert not lib.autograd.gradcheck(lib.sin, (x32,), raise_exception=False)


# ----------------------------------------------------------------------------- layers, errors
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_complex_linear_layer_trains_as_torch(opt: str) -> None:
    x = _z(6, seed=1).reshape(2, 3)
    results = []
    for lib in (torch, cr):
        layer = lib.nn.Linear(3, 2, dtype=lib.complex128)
        assert layer.weight.dtype == lib.complex128 and layer.bias.dtype == lib.complex128
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(_z(6, seed=2).reshape(2, 3)))
            layer.bias.copy_(lib.tensor(_z(2, seed=3)))
        kw = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.1}
        optim = getattr(lib.optim, opt)(layer.parameters(), **kw)
        for _ in range(3):
            optim.zero_grad()
            loss = (layer(lib.tensor(x)).abs() ** 2).sum() + layer.weight.real.sum()
            loss.backward()
            optim.step()
        results.append([_np(p) for p in (layer.weight, layer.bias)])
    for c, t in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(c, t, rtol=1e-10, atol=1e-12)
    assert cr.nn.Linear(3, 2, dtype=cr.cfloat).weight.dtype == cr.complex64


def test_complex_lerp_dtype_errors_match_torch() -> None:
    for lib in (torch, cr):
        z = lib.tensor(_z())
        for end, weight in [(z.real, 0.5), (z, z.real)]:
            with pytest.raises(RuntimeError, match="expected dtype"):
                lib.lerp(z, end, weight)


def test_complex_logaddexp_branch_and_infinities_match_torch() -> None:
    """The imaginary part follows the input of larger real part (not the principal log), and
    equal infinite real parts give PyTorch's values."""
    inf = float("inf")
    a = [1 + 3.1j, 0j, 6j, 0.5 + 3.1j, complex(inf, 1), complex(-inf, 2), complex(inf, 2)]
    b = [1 - 3.1j, 6j, 0j, 0.5 + 3.3j, complex(inf, 1), complex(-inf, -1), complex(3, 1)]
    got = cr.logaddexp(cr.tensor(a, dtype=cr.complex128), cr.tensor(b, dtype=cr.complex128))
    want = torch.logaddexp(
        torch.tensor(a, dtype=torch.cdouble), torch.tensor(b, dtype=torch.cdouble)
    )
    got, want = got.numpy(), want.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    b128 = cr.tensor(b, dtype=cr.complex128)
    assert cr.logaddexp(cr.tensor(a, dtype=cr.complex64), b128).dtype == cr.complex128


def test_complex_logdet_of_a_singular_matrix_matches_torch() -> None:
    for lib in (torch, cr):
        got = lib.logdet(lib.zeros(2, 2, dtype=lib.complex128)).numpy()
        assert np.isneginf(got.real) and np.isnan(got.imag)
