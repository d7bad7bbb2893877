"""chainrule.signal.windows against torch.signal.windows: values in float32 and float64 for
M in (0, 1, 2, 5, 10), symmetric and periodic, with the window parameters; signatures,
dtype defaults, ``requires_grad``, and the errors (types and messages)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.signal.windows as tw

import chainrule as cr
import chainrule.signal.windows as cw

_NAMES = [n for n in dir(tw) if callable(getattr(tw, n)) and not n.startswith("_")]

# each window with the parameter sets it is compared with
_CASES = [
    ("bartlett", {}),
    ("blackman", {}),
    ("cosine", {}),
    ("hamming", {}),
    ("hann", {}),
    ("nuttall", {}),
    ("exponential", {}),
    ("exponential", {"tau": 0.4}),
    ("exponential", {"tau": 3, "center": 1.5, "sym": False}),
    ("gaussian", {}),
    ("gaussian", {"std": 0.3}),
    ("gaussian", {"std": 4}),
    ("general_cosine", {"a": [0.5, 0.5]}),
    ("general_cosine", {"a": (0.46, 0.23, 0.31)}),
    ("general_cosine", {"a": [0.7]}),
    ("general_hamming", {}),
    ("general_hamming", {"alpha": 0.3}),
    ("kaiser", {}),
    ("kaiser", {"beta": 0.0}),
    ("kaiser", {"beta": 5}),
]
_DTYPES = [(cr.float32, torch.float32, 1e-6), (cr.float64, torch.float64, 1e-12)]


def _same(c, t, tol):
    cn, tn = c.detach().numpy(), t.detach().numpy()
    assert cn.shape == tn.shape and cn.dtype == tn.dtype, (cn.shape, cn.dtype, tn.shape, tn.dtype)
    np.testing.assert_allclose(cn, tn, rtol=tol, atol=tol)


def test_every_torch_window_is_here():
    assert sorted(_NAMES) == sorted(cw.__all__)
    assert cr.signal.windows is cw


@pytest.mark.parametrize(("name", "params"), _CASES)
def test_window_matches_torch(name, params):
    syms = [params.pop("sym")] if "sym" in params else [True, False]
    for m in (0, 1, 2, 5, 10):
        for sym in syms:
            for cd, td, tol in _DTYPES:
                c = getattr(cw, name)(m, sym=sym, dtype=cd, **params)
                t = getattr(tw, name)(m, sym=sym, dtype=td, **params)
                _same(c, t, tol)


@pytest.mark.parametrize("name", _NAMES)
def test_signature_matches_torch(name):
    def described(fn):
        out = []
        for p in inspect.signature(fn).parameters.values():
            default = p.default
            if default is torch.strided or default is cr.strided:
                default = "strided"
            out.append((p.name, p.kind, default))
        return out

    assert described(getattr(cw, name)) == described(getattr(tw, name))


def test_defaults_follow_the_default_dtype():
    previous = cr.get_default_dtype()
    try:
        cr.set_default_dtype(cr.float64)
        assert cw.hann(4).dtype == cr.float64
        assert cw.general_cosine(4, a=[1.0]).dtype == cr.float64
        assert cw.kaiser(0).dtype == cr.float64
    finally:
        cr.set_default_dtype(previous)
    assert cw.gaussian(4).dtype == cr.float32 == previous
    _same(cw.kaiser(7), tw.kaiser(7), 1e-6)  # symmetric, beta 12, float32


def test_requires_grad_gives_a_leaf_that_takes_gradients():
    w = cw.exponential(4, requires_grad=True, dtype=cr.float64)
    assert w.requires_grad and w.is_leaf
    (w * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(4, 3.0))
    assert not cw.hann(3).requires_grad
    assert cw.cosine(0, requires_grad=True).requires_grad


def test_periodic_windows_are_the_top_level_periodic_windows():
    for name, params in [("hann", {}), ("hamming", {}), ("blackman", {}), ("bartlett", {})]:
        top = getattr(cr, f"{name}_window")(9, dtype=cr.float64)
        assert cr.equal(getattr(cw, name)(9, sym=False, dtype=cr.float64, **params), top)
    assert cr.allclose(cw.kaiser(9, beta=4.0, sym=False), cr.kaiser_window(9, True, beta=4.0))


def test_argument_forms():
    # M as a NumPy integer or a 0-d integer tensor; sym by truth value; parameters as tensors
    _same(cw.hann(np.int64(5)), tw.hann(5), 1e-6)
    _same(cw.hann(cr.tensor(5)), tw.hann(torch.tensor(5)), 1e-6)
    _same(cw.hann(5, sym=None), tw.hann(5, sym=None), 1e-6)
    _same(cw.gaussian(5, std=cr.tensor(2.0)), tw.gaussian(5, std=torch.tensor(2.0)), 1e-6)
    gen = cw.general_cosine(5, a=(c for c in [0.5, 0.5]))
    _same(gen, tw.general_cosine(5, a=(c for c in [0.5, 0.5])), 1e-6)
    # coefficients are read only for M >= 2, as in PyTorch
    _same(cw.general_cosine(1, a=[]), tw.general_cosine(1, a=[]), 0)
    _same(cw.general_cosine(0, a=None), tw.general_cosine(0, a=None), 0)
    _same(cw.hann(3, device="cpu"), tw.hann(3, device="cpu"), 1e-6)


def test_kaiser_for_a_large_beta():
    # float64 as PyTorch, where I0(beta) overflows too (0 with NaN at the centre past ~713)
    for beta in (700.0, 800.0, float("inf")):
        c = cw.kaiser(5, beta=beta, dtype=cr.float64)
        _same(c, tw.kaiser(5, beta=beta, dtype=torch.float64), 1e-12)
    # float32 is the float64 window rounded (PyTorch's float32 I0 overflows past beta ~ 90)
    want = tw.kaiser(5, beta=100.0, dtype=torch.float64).to(torch.float32)
    _same(cw.kaiser(5, beta=100.0, dtype=cr.float32), want, 1e-6)
    assert torch.isnan(tw.kaiser(5, beta=100.0, dtype=torch.float32)).any()


def _errors(lib):
    w = lib.signal.windows
    return [
        (lambda: w.hann(-1), ValueError, "requires non-negative window length, got M=-1"),
        (lambda: w.kaiser(-2, beta=-1.0), ValueError, "kaiser requires non-negative window"),
        (lambda: w.gaussian(3, dtype=lib.int64), ValueError, "expects float32 or float64"),
        (lambda: w.bartlett(3, dtype=lib.float16), ValueError, "expects float32 or float64"),
        (lambda: w.cosine(0, dtype=lib.complex64), ValueError, "expects float32 or float64"),
        (lambda: w.hann(3, layout=lib.sparse_coo), ValueError, "for strided tensors only"),
        (lambda: w.hann(3, layout=None), ValueError, "for strided tensors only"),
        (lambda: w.hann(-1, layout=lib.sparse_coo), ValueError, "non-negative window length"),
        (lambda: w.hann(3, layout=lib.sparse_coo, dtype=lib.int64), ValueError, "strided"),
        (lambda: w.hann(2.0), TypeError, None),
        (lambda: w.exponential(3, tau=0), ValueError, "Tau must be positive, got: 0 instead"),
        (lambda: w.exponential(0, tau=-1.0), ValueError, "Tau must be positive, got: -1.0"),
        (lambda: w.exponential(3, center=1.0), ValueError, "Center must be None for symmetric"),
        (lambda: w.exponential(1, center=1.0), ValueError, "Center must be None for symmetric"),
        (lambda: w.exponential(3, tau="x"), TypeError, None),
        (lambda: w.exponential(3, center="x", sym=False), TypeError, None),
        (lambda: w.gaussian(3, std=0), ValueError, "Standard deviation must be positive, got: 0"),
        (lambda: w.gaussian(0, std=-1.0), ValueError, "Standard deviation must be positive"),
        (lambda: w.gaussian(3, std=None), TypeError, None),
        (lambda: w.kaiser(3, beta=-1.0), ValueError, "beta must be non-negative, got: -1.0"),
        (lambda: w.kaiser(1, beta=-1.0), ValueError, "beta must be non-negative"),
        (lambda: w.kaiser(3, beta="x"), TypeError, None),
        (lambda: w.general_hamming(0, alpha="x"), TypeError, None),
        (lambda: w.general_cosine(3, a=[]), ValueError, "Coefficients cannot be empty"),
        (lambda: w.general_cosine(3, a=0.5), TypeError, "Coefficients must be a list/tuple"),
        (lambda: w.general_cosine(3, a=None), TypeError, "Coefficients must be a list/tuple"),
        (lambda: w.general_cosine(3, a=[0.5, 0.5j]), TypeError, None),
        (lambda: w.general_cosine(3), TypeError, "missing 1 required keyword-only argument"),
        (lambda: w.general_cosine(3, a=[], dtype=lib.int64), ValueError, "expects float32"),
        (lambda: w.hann(3, False), TypeError, "positional argument"),
        (lambda: w.hann(3, requires_grad=None), TypeError, "must be bool, not NoneType"),
    ]


def test_errors_match_torch():
    for (c_call, c_exc, c_msg), (t_call, t_exc, t_msg) in zip(
        _errors(cr), _errors(torch), strict=True
    ):
        assert c_exc is t_exc and c_msg == t_msg
        with pytest.raises(t_exc, match=t_msg):
            t_call()
        with pytest.raises(c_exc, match=c_msg):
            c_call()


def test_chainrule_error_messages_name_the_window():
    with pytest.raises(ValueError, match="^hann requires non-negative window length, got M=-1$"):
        cw.hann(-1)
    with pytest.raises(ValueError, match="^nuttall expects float32 or float64 dtypes, got: int64"):
        cw.nuttall(3, dtype=cr.int64)
    with pytest.raises(TypeError, match=r"exponential\(\): tau must be a real number"):
        cw.exponential(3, tau="x")
    with pytest.raises(TypeError, match=r"general_cosine\(\): Coefficients must be a list"):
        cw.general_cosine(3, a="ab")
    with pytest.raises(TypeError, match=r"general_cosine\(\): each coefficient must be a real"):
        cw.general_cosine(3, a=[[0.5, 0.5]])
