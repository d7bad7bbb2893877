"""``cr.stft`` / ``cr.istft`` (and the Tensor methods) against torch: values, gradients with
respect to the signal and the window (real and complex), forward mode, round trips, warnings
and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import _user_warnings

RNG = np.random.default_rng(0)


def _signal(shape: tuple, dtype: str) -> np.ndarray:
    x = RNG.standard_normal(shape)
    if dtype.startswith("complex"):
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().resolve_conj().numpy()


def _windows(kw: dict, dtype: str) -> tuple:
    """The window named in ``kw`` as a torch and a chainrule tensor, both requiring grad."""
    kind = kw.get("window")
    if kind is None:
        return kw, kw
    size = kw.get("win_length", kw["n_fft"])
    w = np.hanning(size + 2)[1:-1] if kind == "hann" else np.ones(size)
    if kind == "complex":
        w = w * np.exp(0.3j * np.arange(size))
    w = w.astype(dtype if kind == "complex" else np.dtype(dtype).type(0).real.dtype)
    kt, kc = dict(kw), dict(kw)
    kt["window"] = torch.tensor(w, requires_grad=True)
    kc["window"] = cr.tensor(w, requires_grad=True)
    return kt, kc


STFT_CONFIGS = [
    {"n_fft": 8},
    {"n_fft": 8, "hop_length": 3, "win_length": 5, "window": "hann"},
    {"n_fft": 9, "hop_length": 2, "normalized": True, "window": "hann"},
    {"n_fft": 8, "center": False, "window": "hann"},
    {"n_fft": 8, "pad_mode": "constant", "window": "hann"},
    {"n_fft": 8, "pad_mode": "replicate", "window": "hann"},
    {"n_fft": 8, "pad_mode": "circular", "window": "hann"},
    {"n_fft": 8, "onesided": False, "window": "hann"},
    {"n_fft": 7, "hop_length": 7, "window": "ones"},
    {
        "n_fft": 8,
        "win_length": 4,
        "hop_length": 3,
        "center": False,
        "align_to_window": True,
        "window": "ones",
    },
    {"n_fft": 8, "center": False, "align_to_window": False, "window": "hann"},
    {"n_fft": 8, "hop_length": 2, "window": "complex"},
]


def _stft_cases() -> list:
    cases = []
    for i, kw in enumerate(STFT_CONFIGS):
        for dtype in ("float32", "float64", "complex128"):
            for shape in ((50,), (2, 37)):
                if kw.get("window") == "complex" and dtype == "float32":
                    continue
                cases.append(pytest.param(kw, dtype, shape, id=f"{i}-{dtype}-{len(shape)}d"))
    return cases


@pytest.mark.parametrize("kw,dtype,shape", _stft_cases())
def test_stft_values_and_grads_match_torch(kw: dict, dtype: str, shape: tuple) -> None:
    x = _signal(shape, dtype)
    wdt = "complex128" if dtype == "float64" else dtype
    kt, kc = _windows(kw, wdt if kw.get("window") == "complex" else dtype)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = torch.stft(tx, return_complex=True, **kt)
        cy = cr.stft(cx, return_complex=True, **kc)
    assert cy.dtype == np.dtype(str(ty.dtype).replace("torch.", ""))
    assert tuple(cy.shape) == tuple(ty.shape)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(cy.detach().numpy(), _np(ty), rtol=tol, atol=tol)
    g = _signal(tuple(ty.shape), "complex128").astype(cy.dtype)
    t_in = [tx] + ([kt["window"]] if "window" in kt else [])
    c_in = [cx] + ([kc["window"]] if "window" in kc else [])
    expected = torch.autograd.grad(ty, t_in, torch.tensor(g))
    got = cr.autograd.grad(cy, c_in, grad_outputs=cr.tensor(g))
    for a, b in zip(got, expected):
        assert a.dtype == np.dtype(str(b.dtype).replace("torch.", ""))
        np.testing.assert_allclose(a.numpy(), _np(b), rtol=tol, atol=tol)


ISTFT_CONFIGS = [
    {"n_fft": 8, "window": "hann"},
    {"n_fft": 8, "hop_length": 3, "win_length": 5, "window": "hann"},
    {"n_fft": 9, "hop_length": 2, "normalized": True, "window": "hann"},
    {"n_fft": 8, "window": "hann", "length": 45},
    {"n_fft": 8, "window": "hann", "length": 70},
    {"n_fft": 8, "center": False, "window": "ones", "hop_length": 4},
    {"n_fft": 8, "onesided": False, "window": "hann"},
    {"n_fft": 8, "window": "complex", "return_complex": True},
    {"n_fft": 8},
]


@pytest.mark.parametrize("kw", ISTFT_CONFIGS)
@pytest.mark.parametrize("signal", ["float64", "complex128", "float32"])
@pytest.mark.parametrize("batched", [False, True])
def test_istft_values_and_grads_match_torch(kw: dict, signal: str, batched: bool) -> None:
    """istft of the stft of a signal: values and gradients for the spectrum and the window."""
    shape = (2, 50) if batched else (50,)
    x = _signal(shape, signal)
    kw = dict(kw)
    want_complex = signal.startswith("complex") or kw.get("window") == "complex"
    if want_complex:
        kw["return_complex"] = True
        if kw.get("onesided") is None:
            kw["onesided"] = False
    wdt = (
        ("complex64" if signal == "float32" else "complex128")
        if kw.get("window") == "complex"
        else signal
    )  # noqa: E501
    kt, kc = _windows(kw, wdt)
    stft_kw = {k: v for k, v in kt.items() if k not in ("length", "return_complex")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = torch.stft(torch.tensor(x), return_complex=True, **stft_kw).detach().numpy()
        ts, cs = torch.tensor(spec, requires_grad=True), cr.tensor(spec, requires_grad=True)
        ty = torch.istft(ts, **kt)
        cy = cr.istft(cs, **kc)
    assert cy.dtype == np.dtype(str(ty.dtype).replace("torch.", ""))
    assert tuple(cy.shape) == tuple(ty.shape)
    tol = 1e-4 if signal == "float32" else 1e-10
    np.testing.assert_allclose(cy.detach().numpy(), _np(ty), rtol=tol, atol=tol)
    if "length" not in kw or kw["length"] <= 50:  # stft then istft gives the signal back
        n = ty.shape[-1]
        np.testing.assert_allclose(cy.detach().numpy(), x[..., :n], rtol=tol, atol=tol)
    gdt = "complex128" if ty.is_complex() else "float64"
    g = _signal(tuple(ty.shape), gdt).astype(cy.dtype)
    t_in = [ts] + ([kt["window"]] if "window" in kt else [])
    c_in = [cs] + ([kc["window"]] if "window" in kc else [])
    expected = torch.autograd.grad(ty, t_in, torch.tensor(g))
    got = cr.autograd.grad(cy, c_in, grad_outputs=cr.tensor(g))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.numpy(), _np(b), rtol=tol, atol=tol)


def test_round_trip_gradient_of_real_loss() -> None:
    """Through stft and istft (a real loss of a real signal): gradients equal torch's."""
    x = _signal((3, 64), "float64")
    w = np.hanning(18)[1:-1]
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    tw, cw = torch.tensor(w, requires_grad=True), cr.tensor(w, requires_grad=True)
    ts = torch.stft(tx, 16, 4, window=tw, return_complex=True)
    cs = cr.stft(cx, 16, 4, window=cw, return_complex=True)
    ty = torch.istft(ts * 2, 16, 4, window=tw**2, length=60)
    cy = cr.istft(cs * 2, 16, 4, window=cw**2, length=60)
    (ty * ty).sum().backward()
    (cy * cy).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(cw.grad.numpy(), tw.grad.numpy(), atol=1e-9)


def test_stft_forward_mode_matches_torch() -> None:
    x, t = _signal((40,), "float64"), _signal((40,), "float64")
    w = np.hanning(8)
    _, tt = torch.func.jvp(
        lambda a: torch.stft(a, 8, 2, window=torch.tensor(w), return_complex=True),
        (torch.tensor(x),),
        (torch.tensor(t),),
    )
    _, ct = cr.func.jvp(
        lambda a: cr.stft(a, 8, 2, window=cr.tensor(w), return_complex=True),
        (cr.tensor(x),),
        (cr.tensor(t),),
    )
    np.testing.assert_allclose(ct.numpy(), _np(tt), atol=1e-10)


def test_return_complex_false_and_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # once per process: as in a fresh one
    x = _signal((30,), "float32")
    w = np.hanning(8).astype("float32")
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        got = cr.tensor(x).stft(8, window=cr.tensor(w), return_complex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.tensor(x).stft(8, window=torch.tensor(w), return_complex=False)
    assert got.dtype == np.float32 and tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5)
    spec = cr.stft(cr.tensor(x), 8, window=cr.tensor(w), return_complex=True)
    back = spec.istft(8, window=cr.tensor(w), length=30)
    np.testing.assert_allclose(back.numpy(), x, atol=1e-5)


def test_warnings_like_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # once per process: as in a fresh one
    x = cr.tensor(_signal((30,), "float64"))
    with pytest.warns(UserWarning, match="A window was not provided"):
        spec = cr.stft(x, 8, return_complex=True)
    with pytest.warns(UserWarning, match="A window was not provided"):
        cr.istft(spec, 8)
    with pytest.warns(UserWarning, match="padded with zeros"):
        y = cr.istft(spec, 8, window=cr.ones(8, dtype=cr.float64), length=40)
    assert tuple(y.shape) == (40,)
    np.testing.assert_array_equal(y.numpy()[34:], 0.0)  # 38 samples after framing, 4 cut


_X = _signal((2, 20), "float32")
_W = np.hanning(8).astype("float32")


def _stft_call(lib, **kw):
    args = {"n_fft": 8, "window": lib.tensor(_W), "return_complex": True}
    args.update(kw)
    return lib.stft(lib.tensor(args.pop("x", _X)), **args)


def _spec(lib):
    return lib.tensor(
        torch.stft(torch.tensor(_X), 8, window=torch.tensor(_W), return_complex=True).numpy()
    )  # noqa: E501


@pytest.mark.parametrize(
    "call,err,match",
    [
        (lambda L: _stft_call(L, return_complex=None), RuntimeError, "return_complex parameter"),
        (lambda L: _stft_call(L, n_fft=30, center=False, window=L.ones(30)), RuntimeError, "n_fft"),
        (lambda L: _stft_call(L, hop_length=0), RuntimeError, "hop_length > 0"),
        (lambda L: _stft_call(L, win_length=9, window=None), RuntimeError, "win_length"),
        (lambda L: _stft_call(L, window=L.ones(7)), RuntimeError, "1D window tensor"),
        (lambda L: _stft_call(L, x=_X[None]), RuntimeError, "1D or 2D"),
        (lambda L: _stft_call(L, x=_X.astype("int64")), RuntimeError, "floating point or complex"),
        (lambda L: _stft_call(L, x=_X * 1j, onesided=True), RuntimeError, "Cannot have onesided"),
        (lambda L: _stft_call(L, align_to_window=True), RuntimeError, "align_to_window"),
        (lambda L: _stft_call(L, pad_mode="bogus"), NotImplementedError, "padding mode"),
        (
            lambda L: _stft_call(L, x=_X[:, :5], n_fft=16, window=L.ones(16)),
            RuntimeError,
            "Padding size",
        ),  # noqa: E501
        (
            lambda L: L.istft(L.tensor(np.ones((5, 11), "float32")), 8, window=L.tensor(_W)),
            RuntimeError,
            "complex-valued",
        ),  # noqa: E501
        (lambda L: L.istft(_spec(L), 8, window=L.zeros(8)), RuntimeError, "window overlap add min"),  # noqa: E501
        (
            lambda L: L.istft(_spec(L), 8, window=L.tensor(_W), center=False),
            RuntimeError,
            "overlap add min",
        ),  # noqa: E501
        (
            lambda L: L.istft(_spec(L), 8, window=L.tensor(_W), onesided=False),
            RuntimeError,
            "match n_fft when onesided=False",
        ),  # noqa: E501
        (
            lambda L: L.istft(_spec(L), 8, window=L.tensor(_W), return_complex=True),
            RuntimeError,
            "Cannot have onesided",
        ),  # noqa: E501
        (
            lambda L: L.istft(_spec(L), 8, window=L.tensor(_W), hop_length=9),
            RuntimeError,
            "hop_length <= win_length",
        ),  # noqa: E501
        (lambda L: L.istft(_spec(L), 8, window=L.ones(7)), RuntimeError, "Invalid window shape"),
        (
            lambda L: L.istft(_spec(L)[0, :, :0], 8, window=L.tensor(_W)),
            RuntimeError,
            "cannot be empty",
        ),  # noqa: E501
        (
            lambda L: L.istft(_spec(L), 8, window=L.tensor(_W.astype("complex64"))),
            RuntimeError,
            "Complex windows",
        ),  # noqa: E501
        (lambda L: L.istft(_spec(L), 6, window=L.ones(6)), RuntimeError, "n_fft / 2 \\+ 1"),
    ],
)
def test_errors_like_torch(call, err, match) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(err):
            call(torch)
        with pytest.raises(err, match=match):
            call(cr)


def test_align_to_window_odd_offset() -> None:
    """PyTorch overruns its storage for an odd ``n_fft - win_length``; chainrule frames the
    window-aligned signal: frame ``f`` windows samples ``f hop .. f hop + win_length``."""
    x = np.arange(20.0)
    y = cr.stft(
        cr.tensor(x),
        8,
        3,
        5,
        window=cr.ones(5, dtype=cr.float64),
        center=False,
        return_complex=True,
        align_to_window=True,
    )
    assert tuple(y.shape) == (5, 6)
    np.testing.assert_allclose(y.numpy()[0].real, [x[3 * f : 3 * f + 5].sum() for f in range(6)])
