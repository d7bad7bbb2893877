"""Complex tensors against PyTorch: the cases an audit of complex64/complex128 found wrong
(each fixed), and a sample of the ones that already agreed, so that regressions show.

Gradients follow PyTorch's convention (the gradient of a real loss with respect to
``z = x + iy`` is ``dL/dx + i dL/dy``); each case is differentiated under a random weighted
sum of its outputs' real coordinates. ``tests/autograd/test_complex_autograd*.py`` cover the
elementwise, reduction, linalg and layer rules more widely.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(11)
# points on both sides of the branch cuts of sqrt, log, acosh, asin, ...
BRANCH = np.array([-2 + 0.1j, -2 - 0.1j, 2 + 0.1j, 0.1 - 2j, -0.1 + 2j, 0.5 + 0.01j, -3 + 1j])


def _c(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape) + 0.3


def _r(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 0.5


def _idx(lib, rows):
    return lib.tensor(rows)


# name -> (function of (lib, *inputs), input arrays); every float/complex input requires grad
CASES = {
    # fixed: acosh's gradient (refused; the real rule rsqrt(z^2 - 1) has the wrong sign for
    # Re z < 0) and the real-linear ops that refused complex gradients
    "acosh": (lambda L, a: L.acosh(a), [BRANCH]),
    "acosh_method": (lambda L, a: (a * 2).acosh(), [_c(2, 3)]),
    "unbind": (lambda L, a: a.unbind(1)[1] * a.unbind(0)[0][:2], [_c(2, 3)]),
    "pad_reflect": (lambda L, a: L.nn.functional.pad(a, (2, 1), mode="reflect"), [_c(1, 2, 4)]),
    "pad_replicate": (lambda L, a: L.nn.functional.pad(a, (1, 1), mode="replicate"), [_c(1, 2, 3)]),
    "pad_circular": (lambda L, a: L.nn.functional.pad(a, (1, 2), mode="circular"), [_c(1, 2, 3)]),
    "masked_scatter": (
        lambda L, a, b: a.masked_scatter(a.real > 0.3, b * 1j),
        [_c(2, 3), _c(6)],
    ),
    "as_strided": (lambda L, a: a.as_strided((2, 2), (1, 2)), [_c(2, 3)]),
    "scatter_complex_value": (
        lambda L, a: L.scatter(a, 1, _idx(L, [[0, 2], [1, 0]]), 1 - 2j),
        [_c(2, 3)],
    ),
    "l1_loss": (lambda L, a, b: L.nn.functional.l1_loss(a, b), [_c(2, 3), _c(2, 3)]),
    "l1_loss_real_target": (
        lambda L, a, b: L.nn.functional.l1_loss(a, b, reduction="sum"),
        [_c(2, 3), _r(2, 3)],
    ),
    # fixed: writing through .real / .imag (copies before, the writes were lost)
    "write_real_view": (
        lambda L, a: (lambda u: (u.real.mul_(2), u.real.__setitem__(0, 5.0), u)[-1])(a * 1),
        [_c(3)],
    ),
    "write_imag_view": (
        lambda L, a: (lambda u: (u.imag.add_(u.real), u)[-1])(a * 1),
        [_c(2, 2)],
    ),
    "read_real_after_base_write": (
        lambda L, a: (lambda u, r: (u.mul_(2j), r * 1)[-1])(*(lambda u: (u, u.real))(a * 1)),
        [_c(3)],
    ),
    # already agreed: construction, views, elementwise, operators, reductions, fft, indexing
    "complex_polar": (
        lambda L, a, b: (L.complex(a, b), L.polar(a.abs() + 0.1, b)),
        [_r(3), _r(3)],
    ),
    "view_as_real_complex": (
        lambda L, a, b: L.view_as_complex(L.view_as_real(a) * b.unsqueeze(-1)),
        [_c(2, 3), _r(2, 3)],
    ),
    "real_imag_conj_angle_sgn": (
        lambda L, a: (a.real * a.imag, a.conj_physical(), a.angle(), a.sgn(), a.abs()),
        [_c(4)],
    ),
    "inverse_trig_at_branch_cuts": (
        lambda L, a: (L.asin(a), L.acos(a), L.atan(a), L.asinh(a), L.atanh(a), L.sqrt(a)),
        [BRANCH],
    ),
    "log_family": (
        lambda L, a: (L.log(a), L.log2(a), L.log10(a), L.log1p(a), L.expm1(a), L.rsqrt(a)),
        [BRANCH],
    ),
    "pow_forms": (
        lambda L, a, b: (a**0.5, a ** (1 + 2j), (-2.0) ** a, 2**a, a**b, L.pow(b.real, a)),
        [_c(3), _c(3)],
    ),
    "python_operators": (
        lambda L, a, b: ((1 - 2j) / a, a - 1j, b * (2 + 1j), (1 + 1j) - b, -a, +a, abs(a) * b),
        [_c(3), _r(3)],
    ),
    "reductions": (
        lambda L, a: (a.prod(1), a.cumprod(0), a.cumsum(1), a.mean(), a.var(0), a.std()),
        [_c(2, 3)],
    ),
    "norms_and_products": (
        lambda L, a, b: (L.linalg.vector_norm(a, 3), L.vdot(a[0], b[0]), L.outer(a[0], b[1])),
        [_c(2, 3), _c(2, 3)],
    ),
    "fft_family": (
        lambda L, a: (L.fft.fft(a), L.fft.irfft(a), L.fft.fftn(a), L.fft.fftshift(L.fft.ifft2(a))),
        [_c(3, 4)],
    ),
    "rfft_of_real": (lambda L, a: (L.fft.rfft(a), L.fft.hfft(L.fft.ihfft(a))), [_r(2, 5)]),
    "indexing": (
        lambda L, a, b: (
            L.cat([a, b]).flip(0).roll(1, 1).tril(),
            L.stack([a, b]).gather(2, _idx(L, [[[0, 2]] * 2] * 2)),
            a.index_select(1, _idx(L, [2, 0])).masked_fill(b.real[:, :2] > 0.3, 1j),
            L.where(a.real > 0.3, a, b),
            L.diag(a[:, :2]),
        ),
        [_c(2, 3), _c(2, 3)],
    ),
    "linalg": (
        lambda L, a: (
            L.linalg.det(a),
            L.linalg.inv(a + 3 * L.eye(3)),
            L.linalg.matrix_exp(a * 0.5),
            L.linalg.svdvals(a),
        ),
        [_c(3, 3)],
    ),
    "linear_conv": (
        lambda L, x, w: (L.nn.functional.linear(x[0].T, w[:, 0]), L.nn.functional.conv1d(x, w)),
        [_c(1, 2, 5), _c(3, 2, 2)],
    ),
}


def _flat(out) -> list:
    return [o for item in (out if isinstance(out, tuple) else (out,)) for o in _flat_one(item)]


def _flat_one(o) -> list:
    return list(o) if isinstance(o, tuple) else [o]


def _run(lib, fn, arrays: list, weights: list | None):
    xs = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    outs = _flat(fn(lib, *xs))
    parts = [lib.view_as_real(o.resolve_conj()) if o.is_complex() else o for o in outs]
    if weights is None:
        return outs, None, [tuple(p.shape) for p in parts]
    loss = sum((p * lib.tensor(w)).sum() for p, w in zip(parts, weights))
    grads = lib.autograd.grad(loss, xs, allow_unused=True)
    return outs, grads, None


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().resolve_neg().numpy()
    return t.detach().numpy()


def _name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_dtypes_and_gradients_match_torch(name: str, dtype: str) -> None:
    fn, arrays = CASES[name]
    real = np.float64 if dtype == "complex128" else np.float32
    arrays = [a.astype(dtype if np.iscomplexobj(a) else real) for a in arrays]
    _, _, shapes = _run(torch, fn, arrays, None)
    weights = [RNG.standard_normal(s).astype(real) for s in shapes]
    out_t, g_t, _ = _run(torch, fn, arrays, weights)
    out_c, g_c, _ = _run(cr, fn, arrays, weights)
    tol = {"rtol": 1e-10, "atol": 1e-11} if dtype == "complex128" else {"rtol": 2e-4, "atol": 2e-4}
    assert len(out_c) == len(out_t)
    for c, t in zip(out_c, out_t):
        assert _name(c.dtype) == _name(t.dtype)
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(c), _np(t), **tol)
    for c, t in zip(g_c, g_t):
        assert (c is None) == (t is None)
        if t is not None:
            assert _name(c.dtype) == _name(t.dtype)
            np.testing.assert_allclose(_np(c), _np(t), rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


def test_real_and_imag_are_views_as_torch() -> None:
    z = _c(2, 3)
    for lib in (torch, cr):
        t = lib.tensor(z.copy())
        r, i = t.real, lib.imag(t)
        assert r.stride() == (6, 2) and i.stride() == (6, 2) and not r.is_contiguous()
        r[0, 0] = 100.0
        i.mul_(2)
        t.T.real[1, 0] = -7.0
    want = z.real + 2j * z.imag
    want[0, 0] = 100 + 2j * z.imag[0, 0]
    want[0, 1] = -7 + 2j * z.imag[0, 1]
    np.testing.assert_allclose(t.numpy(), want)
    zero_d = cr.tensor(1 + 2j)
    zero_d.real.add_(5)
    assert zero_d.item() == 6 + 2j
    x = cr.tensor([1.0, 2.0])
    assert cr.real(x) is x  # a real tensor is its own real part, as torch


JVP_CASES = {
    "acosh": lambda L, a: L.acosh(a),
    "unbind": lambda L, a: a.unbind(0)[1] * 2,
    "pad_reflect": lambda L, a: L.nn.functional.pad(a.reshape(1, 1, 4), (1, 1), mode="reflect"),
    "masked_scatter": lambda L, a: a.masked_scatter(L.tensor([True, False, True, False]), a.conj()),
    "write_real_view": lambda L, a: (lambda u: (u.real.mul_(2), u)[-1])(a * 1),
    "write_imag_item": lambda L, a: (lambda u: (u.imag.__setitem__(0, 5.0), u)[-1])(a * 1),
    "write_view_as_real": lambda L, a: (lambda u: (L.view_as_real(u)[..., 0].mul_(3), u)[-1])(
        a * 1
    ),
    "write_view_as_complex": lambda L, a: (lambda u: (L.view_as_complex(u).mul_(1j), u * 1)[-1])(
        L.view_as_real(a) * 1
    ),
    "read_real_after_base_write": lambda L, a: (lambda u, r: (u.mul_(2j), r * 1)[-1])(
        *(lambda u: (u, u.real))(a * 1)
    ),
    "exp_abs_conj": lambda L, a: L.exp(a).abs() + (a.conj() * a).real,
    "sqrt_log_sigmoid": lambda L, a: L.sqrt(a) * L.log(a) + L.sigmoid(a),
    "fft": lambda L, a: L.fft.fft(a) * L.fft.ifft(a),
}


@pytest.mark.parametrize("name", sorted(JVP_CASES))
def test_forward_mode_matches_torch(name: str) -> None:
    """``func.jvp`` with complex tangents. unbind and the paddings gave a zero tangent (they
    had no complex rule and forward mode dropped it); writes through ``.real`` /
    ``view_as_real`` lost the imaginary tangent; a write through ``.imag`` raised."""
    fn = JVP_CASES[name]
    a, t = _c(4), _c(4)
    _, jt = torch.func.jvp(lambda x: fn(torch, x), (torch.tensor(a),), (torch.tensor(t),))
    _, jc = cr.func.jvp(lambda x: fn(cr, x), (cr.tensor(a),), (cr.tensor(t),))
    assert _name(jc.dtype) == _name(jt.dtype)
    np.testing.assert_allclose(jc.numpy(), _np(jt), rtol=1e-10, atol=1e-12)


def test_forward_mode_of_a_complex_to_real_cast_is_the_real_part() -> None:
    """As torch's (not asked here: its cast warns once per process, see the last test); the
    tangent was cast by NumPy with a ComplexWarning, an error under pytest's filters."""
    a, t = _c(3), _c(3)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        _, j = cr.func.jvp(lambda x: x.to(cr.float64) * 2, (cr.tensor(a),), (cr.tensor(t),))
    assert j.dtype == cr.float64
    np.testing.assert_allclose(j.numpy(), 2 * t.real)


def test_forward_mode_refuses_an_op_without_a_complex_rule() -> None:
    """An op whose jvp is written for real numbers raises with a complex tangent, as reverse
    mode does, instead of a silently wrong or dropped tangent."""

    def embed(v: cr.Tensor) -> cr.Tensor:
        return cr.nn.functional.embedding(cr.tensor([0, 2]), v.reshape(3, 1))

    with pytest.raises(NotImplementedError, match="EmbeddingFn: forward-mode AD through complex"):
        cr.func.jvp(embed, (cr.tensor(_c(3)),), (cr.tensor(_c(3)),))


def test_forward_ad_make_dual_writes_through_real_views_as_torch() -> None:
    a, t = _c(2), _c(2)
    res = []
    for lib, fwd in ((torch, torch.autograd.forward_ad), (cr, cr.autograd.forward_ad)):
        with fwd.dual_level():
            tangent = lib.tensor(t.copy())
            d = fwd.make_dual(lib.tensor(a.copy()), tangent)
            d.real.mul_(3)
            d.imag[1] = 0.0
            res.append((_np(fwd.unpack_dual(d).tangent), _np(tangent)))
    np.testing.assert_allclose(res[1][0], res[0][0])
    np.testing.assert_allclose(res[1][1], res[0][1])  # the given tangent written in place


@pytest.mark.parametrize("name", ["acosh", "unbind", "pad_circular", "as_strided", "l1_loss"])
def test_gradcheck_on_complex_inputs(name: str) -> None:
    fn, arrays = CASES[name]
    xs = [cr.tensor(a.astype(np.complex128), requires_grad=True) for a in arrays]
    assert cr.autograd.gradcheck(lambda *v: fn(cr, *v), xs, check_forward_ad=True)


@pytest.mark.parametrize(
    ("op", "reduce"),
    [
        ("scatter_reduce", "sum"),
        ("scatter_reduce", "prod"),
        ("scatter_reduce", "mean"),
        ("index_reduce", "prod"),
        ("index_reduce", "mean"),
    ],
)
def test_complex_scatter_and_index_reduce_refuse_autograd_as_torch(op: str, reduce: str) -> None:
    """They returned a result with no gradient (silently); torch raises RuntimeError.
    (index_reduce has no 'sum'.)"""
    a, b = _c(2, 3), _c(2, 2) if op == "scatter_reduce" else _c(2, 3)

    def call(lib, x):
        if op == "scatter_reduce":
            return x.scatter_reduce(1, lib.tensor([[0, 0], [1, 0]]), lib.tensor(b), reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's "index_reduce is in beta"
            return x.index_reduce(0, lib.tensor([0, 0]), lib.tensor(b), reduce)

    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match=f"{op} does not support automatic differentiation"):
            call(lib, lib.tensor(a, requires_grad=True))
    # without autograd the values agree (mean divided, not floor-divided as for integers)
    np.testing.assert_allclose(call(cr, cr.tensor(a)).numpy(), call(torch, torch.tensor(a)))


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, a, b: L.max(a),
        lambda L, a, b: L.max(a, 1),
        lambda L, a, b: a.min(),
        lambda L, a, b: a < b,
        lambda L, a, b: a >= 0,
        lambda L, a, b: L.gt(a, b),
        lambda L, a, b: L.median(a),
        lambda L, a, b: L.mode(a),
        lambda L, a, b: L.cummax(a, 0),
        lambda L, a, b: L.fmod(a, b),
        lambda L, a, b: a % b,
        lambda L, a, b: a // b,
        lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
        lambda L, a, b: L.atan2(a, b),
        lambda L, a, b: a.scatter_reduce(0, L.tensor([0, 0]), b[0], "amax"),
        lambda L, a, b: L.sort(a),
        lambda L, a, b: L.clamp(a, 0, 1),
        lambda L, a, b: L.nn.functional.mse_loss(a, b),
    ],
)
def test_ops_torch_refuses_for_complex_raise_torchs_error_type(fn) -> None:
    """NotImplementedError (or RuntimeError) as torch, instead of NumPy's raw TypeError or
    chainrule's own TypeError; chainrule's DtypeError is still a TypeError too."""
    a, b = _c(2, 3), _c(2, 3)
    with pytest.raises(RuntimeError) as want:
        fn(torch, torch.tensor(a), torch.tensor(b))
    with pytest.raises(type(want.value)) as got:
        fn(cr, cr.tensor(a), cr.tensor(b))
    assert "ufunc" not in str(got.value)  # not NumPy's message


def test_angle_conversions_refuse_complex_as_torch() -> None:
    for name in ("deg2rad", "rad2deg"):
        for lib in (torch, cr):
            with pytest.raises(RuntimeError, match=f"{name} is not supported for complex"):
                getattr(lib, name)(lib.tensor([1j]))
    np.testing.assert_allclose(cr.deg2rad(cr.tensor([180.0])).numpy(), [np.pi], rtol=1e-6)


def test_scatter_complex_value_into_a_real_tensor_raises_as_torch() -> None:
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="cannot be converted"):
            lib.zeros(3).scatter(0, lib.tensor([1]), 1j)
        out = lib.zeros((), dtype=lib.complex64).scatter(0, lib.tensor(0), 3j)
        assert out.item() == 3j


def test_complex_creation_and_finfo_match_torch() -> None:
    for dt in ("complex64", "complex128"):
        c, t = cr.finfo(getattr(cr, dt)), torch.finfo(getattr(torch, dt))
        assert (c.bits, c.eps, c.max, c.tiny, c.dtype) == (t.bits, t.eps, t.max, t.tiny, t.dtype)
    for args, kw in [((0, 1j, 3), {}), ((1 + 1j, 2, 4), {"dtype": "complex128"}), ((0, 1, 3), {})]:
        c = cr.linspace(*args, **{k: getattr(cr, v) for k, v in kw.items()})
        t = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kw.items()})
        assert _name(c.dtype) == _name(t.dtype)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-7)


def test_complex_to_real_cast_warns_with_torchs_user_warning() -> None:
    """PyTorch's UserWarning and message (NumPy's ComplexWarning before, which
    ``pytest.warns(UserWarning)`` and ``except UserWarning`` miss). torch is not asked here:
    it warns once per process, and tests/compat/test_gaps_session22_a.py wants that warning."""
    z = np.array([1 + 2j, -3j])
    with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary"):
        x = cr.tensor(z, requires_grad=True).to(cr.float64)
    cr._user_warnings._issued.clear()  # PyTorch's warn-once: as in a fresh process again
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        n = cr.tensor(z, requires_grad=True).long()
    assert x.tolist() == [1.0, 0.0] and n.tolist() == [1, 0]
