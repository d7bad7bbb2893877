"""``cr.fft`` against ``torch.fft``: values and result dtypes over dims, norms, lengths, odd and
even sizes, batched, real and complex inputs; vjps (complex and real gradients), jvps,
double backward, finite differences in float64; the frequency and shift helpers; errors;
signatures."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)

C2C = ["fft", "ifft"]
C2C_N = ["fftn", "ifftn", "fft2", "ifft2"]
R2C = ["rfft", "ihfft"]
R2C_N = ["rfftn", "ihfftn", "rfft2", "ihfft2"]
C2R = ["irfft", "hfft"]
C2R_N = ["irfftn", "hfftn", "irfft2", "hfft2"]
TRANSFORMS = C2C + C2C_N + R2C + R2C_N + C2R + C2R_N
ONE_D = set(C2C + R2C + C2R)
REAL_ONLY = set(R2C + R2C_N)


def _data(shape: tuple, dtype: str) -> np.ndarray:
    if dtype.startswith("complex"):
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)
    if dtype == "int64":
        return RNG.integers(-5, 5, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().resolve_conj().numpy()


def _variants(name: str) -> list:
    """Keyword sets for ``name`` on a (3, 5, 6) input."""
    norms = [{}, {"norm": "backward"}, {"norm": "ortho"}, {"norm": "forward"}]
    if name in ONE_D:
        return norms + [{"n": 4}, {"n": 9}, {"n": 5, "dim": 0}, {"dim": 1, "norm": "ortho"}]
    out = norms + [{"s": (4, 7)}, {"s": (2, -1)}, {"dim": (0, 2)}, {"dim": (2, 0), "s": (5, 3)}]
    if name.endswith("n"):
        out += [{"dim": 1}, {"s": (3, 4, 5)}, {"s": (7,)}, {"dim": (-1, 0, 1), "norm": "forward"}]
    return out


def _cases() -> list:
    cases = []
    for name in TRANSFORMS:
        dtypes = ["float32", "float64", "int64"]
        if name not in REAL_ONLY:
            dtypes += ["complex64", "complex128"]
        for dt in dtypes:
            for i, kw in enumerate(_variants(name)):
                cases.append(pytest.param(name, dt, kw, id=f"{name}-{dt}-{i}"))
    return cases


@pytest.mark.parametrize("name,dtype,kw", _cases())
def test_values_and_dtypes_match_torch(name: str, dtype: str, kw: dict) -> None:
    x = _data((3, 5, 6), dtype)
    expected = getattr(torch.fft, name)(torch.tensor(x), **kw)
    got = getattr(cr.fft, name)(cr.tensor(x), **kw)
    assert got.dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
    assert tuple(got.shape) == tuple(expected.shape)
    tol = 1e-4 if dtype in ("float32", "complex64", "int64") else 1e-10
    np.testing.assert_allclose(got.numpy(), _np(expected), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("size", [1, 2, 7, 8])
def test_odd_even_and_tiny_sizes(name: str, size: int) -> None:
    x = _data((2, size + 1, size), "float64" if name in REAL_ONLY else "complex128")
    try:
        expected = getattr(torch.fft, name)(torch.tensor(x))
    except RuntimeError as e:  # irfft of a length-1 dim: no data points
        with pytest.raises(RuntimeError, match="Invalid number of data points"):
            getattr(cr.fft, name)(cr.tensor(x))
        assert "Invalid number of data points" in str(e)
        return
    got = getattr(cr.fft, name)(cr.tensor(x))
    np.testing.assert_allclose(got.numpy(), _np(expected), atol=1e-10)


def _grad_cases() -> list:
    cases = []
    for name in TRANSFORMS:
        kinds = ["float64"] if name in REAL_ONLY else ["float64", "complex128"]
        for dt in kinds:
            for i, kw in enumerate(_variants(name)):
                cases.append(pytest.param(name, dt, kw, id=f"{name}-{dt}-{i}"))
    return cases


@pytest.mark.parametrize("name,dtype,kw", _grad_cases())
def test_vjp_matches_torch(name: str, dtype: str, kw: dict) -> None:
    """Random complex grad_outputs for complex results, real ones for real results; the
    gradient of a real input is real."""
    x = _data((3, 5, 6), dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.fft, name)(tx, **kw)
    g = _data(tuple(ty.shape), "complex128" if ty.is_complex() else "float64")
    (expected,) = torch.autograd.grad(ty, tx, torch.tensor(g))
    cx = cr.tensor(x, requires_grad=True)
    cy = getattr(cr.fft, name)(cx, **kw)
    (got,) = cr.autograd.grad(cy, cx, grad_outputs=cr.tensor(g))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.numpy(), _np(expected), atol=1e-10)


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_float32_gradients_keep_precision(name: str, dtype: str) -> None:
    if name in REAL_ONLY and dtype == "complex64":
        return
    x = _data((4, 6), dtype)
    cx = cr.tensor(x, requires_grad=True)
    cy = getattr(cr.fft, name)(cx)
    g = _data(tuple(cy.shape), "complex64" if cy.dtype.kind == "c" else "float32")
    (got,) = cr.autograd.grad(cy, cx, grad_outputs=cr.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    (expected,) = torch.autograd.grad(getattr(torch.fft, name)(tx), tx, torch.tensor(g))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.numpy(), _np(expected), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_jvp_matches_torch(name: str, dtype: str) -> None:
    if name in REAL_ONLY and dtype == "complex128":
        return
    kw = {"n": 7} if name in ONE_D else {"s": (3, 7)}
    x, t = _data((4, 6), dtype), _data((4, 6), dtype)
    ty, tt = torch.func.jvp(
        lambda a: getattr(torch.fft, name)(a, **kw), (torch.tensor(x),), (torch.tensor(t),)
    )
    cy, ct = cr.func.jvp(lambda a: getattr(cr.fft, name)(a, **kw), (cr.tensor(x),), (cr.tensor(t),))
    np.testing.assert_allclose(cy.numpy(), _np(ty), atol=1e-10)
    np.testing.assert_allclose(ct.numpy(), _np(tt), atol=1e-10)


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_finite_differences(name: str, dtype: str) -> None:
    """L(x) = Re sum(conj(g) * f(x)) is real; its gradient dL/dRe(x) + i dL/dIm(x) is the vjp
    of ``g``. Checked by central differences of the forward values in float64."""
    if name in REAL_ONLY and dtype == "complex128":
        return
    fn = getattr(cr.fft, name)
    kw = {"norm": "ortho", "n": 5} if name in ONE_D else {"norm": "forward", "s": (3, 5)}
    x = _data((3, 4), dtype)
    y = fn(cr.tensor(x), **kw)
    g = _data(tuple(y.shape), "complex128" if y.dtype.kind == "c" else "float64")

    def loss(v: np.ndarray) -> float:
        return float(np.real(np.sum(np.conj(g) * fn(cr.tensor(v), **kw).numpy())))

    cx = cr.tensor(x, requires_grad=True)
    (grad,) = cr.autograd.grad(fn(cx, **kw), cx, grad_outputs=cr.tensor(g))
    eps = 1e-6
    numeric = np.zeros(x.shape, dtype=dtype)
    for idx in np.ndindex(x.shape):
        for unit in (1.0, 1j) if dtype.startswith("complex") else (1.0,):
            d = np.zeros(x.shape, dtype=dtype)
            d[idx] = unit * eps
            numeric[idx] += unit * (loss(x + d) - loss(x - d)) / (2 * eps)
    np.testing.assert_allclose(grad.numpy(), numeric, atol=1e-6)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_double_backward_matches_torch(name: str) -> None:
    """The vjp is itself differentiable: d(vjp)/d(grad_outputs) applied to ``h``."""
    dtype = "float64" if name in REAL_ONLY else "complex128"
    x = _data((3, 6), dtype)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, cy = getattr(torch.fft, name)(tx), getattr(cr.fft, name)(cx)
    gdt = "complex128" if ty.is_complex() else "float64"
    g = _data(tuple(ty.shape), gdt)
    h = _data(x.shape, dtype)
    tg, cg = torch.tensor(g, requires_grad=True), cr.tensor(g, requires_grad=True)
    (tgx,) = torch.autograd.grad(ty, tx, tg, create_graph=True)
    (cgx,) = cr.autograd.grad(cy, cx, grad_outputs=cg, create_graph=True)
    (expected,) = torch.autograd.grad(tgx, tg, torch.tensor(h))
    (got,) = cr.autograd.grad(cgx, cg, grad_outputs=cr.tensor(h))
    np.testing.assert_allclose(got.numpy(), _np(expected), atol=1e-10)


def test_backward_node_names_and_leaf_grad() -> None:
    x = cr.tensor(_data((5,), "float64"), requires_grad=True)
    y = cr.fft.rfft(x)
    assert "FftR2C" in y.grad_fn.name()
    z = cr.fft.irfft(y, n=5)
    assert "FftC2R" in z.grad_fn.name()
    z.sum().backward()  # irfft(rfft(x), n=5) is x: the gradient of sum is ones
    np.testing.assert_allclose(x.grad.numpy(), np.ones(5), atol=1e-12)


def test_zero_sized_batch_gives_empty_result() -> None:
    """PyTorch's CPU build raises an MKL error here; chainrule returns the empty result."""
    y = cr.fft.fft(cr.zeros(0, 4))
    assert tuple(y.shape) == (0, 4) and y.dtype == np.complex64


def test_scalar_and_no_dims() -> None:
    x = cr.tensor(2.0)
    assert cr.fft.fftn(x).dtype == np.complex64 and complex(cr.fft.fftn(x).item()) == 2.0
    got = cr.fft.fftn(cr.tensor([[1.0, 2.0]]), dim=())
    np.testing.assert_array_equal(got.numpy(), np.array([[1.0, 2.0]], dtype=np.complex64))


def test_out_argument() -> None:
    x = _data((4, 6), "float32")
    out = cr.empty(0, dtype=np.complex64)
    res = cr.fft.fft(cr.tensor(x), out=out)
    assert res is out
    np.testing.assert_allclose(out.numpy(), torch.fft.fft(torch.tensor(x)).numpy(), atol=1e-5)
    real_out = cr.empty(4, 10)
    cr.fft.irfft(cr.tensor(x), out=real_out)
    np.testing.assert_allclose(
        real_out.numpy(), torch.fft.irfft(torch.tensor(x)).numpy(), atol=1e-5
    )
    with pytest.raises(RuntimeError, match="expects a complex output tensor"):
        cr.fft.fft(cr.tensor(x), out=cr.empty(0))
    with pytest.raises(RuntimeError, match="expects a floating point output tensor"):
        cr.fft.irfft(cr.tensor(x), out=cr.empty(0, dtype=np.complex64))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.fft.fft(cr.tensor(x, requires_grad=True), out=cr.empty(0, dtype=np.complex64))


@pytest.mark.parametrize(
    "call,err,match",
    [
        (lambda f, x: f.fft(x, norm="bad"), RuntimeError, "Invalid normalization mode"),
        (lambda f, x: f.fft(x, n=0), RuntimeError, r"Invalid number of data points \(0\)"),
        (lambda f, x: f.fft(x, dim=2), IndexError, "Dimension out of range"),
        (
            lambda f, x: f.fft(x.half() if hasattr(x, "half") else x, dim=0),
            RuntimeError,
            "Unsupported dtype",
        ),  # noqa: E501
        (lambda f, x: f.rfft(x * 1j), RuntimeError, "rfft expects a real input tensor"),
        (lambda f, x: f.ihfft(x * 1j), RuntimeError, "ihfft expects a real input tensor"),
        (lambda f, x: f.rfftn(x * 1j), RuntimeError, "rfftn expects a real"),
        (lambda f, x: f.irfft(x[:, :1]), RuntimeError, "Invalid number of data points"),
        (lambda f, x: f.fftn(x, s=(3,), dim=(0, 1)), RuntimeError, "same length"),
        (lambda f, x: f.fftn(x, dim=(0, 0)), RuntimeError, "FFT dims must be unique"),
        (lambda f, x: f.fftn(x, s=(1, 2, 3)), RuntimeError, "only has 2 dimensions"),
        (lambda f, x: f.rfftn(x, dim=()), RuntimeError, "must transform at least one axis"),
        (lambda f, x: f.irfftn(x, dim=()), RuntimeError, "must transform at least one axis"),
        (lambda f, x: f.fftn(x, s=(0, 2)), RuntimeError, "Invalid number of data points"),
        (lambda f, x: f.fftshift(x, dim=3), IndexError, "Dimension out of range"),
    ],
)
def test_errors_like_torch(call, err, match) -> None:
    x = _data((4, 5), "float32")
    with pytest.raises(err):
        call(torch.fft, torch.tensor(x))
    with pytest.raises(err, match=match):
        call(cr.fft, cr.tensor(x))


def test_non_integer_n_is_refused() -> None:
    with pytest.raises(TypeError):
        torch.fft.fft(torch.ones(4), n=2.5)
    with pytest.raises(TypeError, match="'n' must be int"):
        cr.fft.fft(cr.ones(4), n=2.5)
    with pytest.raises(TypeError, match="'n' must be int"):
        cr.fft.irfft(cr.ones(4), n=2.5)


def test_scalar_dim_error() -> None:
    with pytest.raises(IndexError, match="no dimensions"):
        cr.fft.fft(cr.tensor(1.0))
    with pytest.raises(IndexError):
        torch.fft.fft(torch.tensor(1.0))


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("d", [1.0, 0.1, 3])
@pytest.mark.parametrize("dtype", [None, "float64", "complex64"])
def test_freqs_match_torch(name: str, n: int, d: float, dtype: str | None) -> None:
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    ckw = {} if dtype is None else {"dtype": dtype}
    if dtype == "complex64":  # PyTorch's CPU arange has no complex kernel
        with pytest.raises(NotImplementedError):
            getattr(torch.fft, name)(n, d, **tkw)
        with pytest.raises(NotImplementedError, match="complex"):
            getattr(cr.fft, name)(n, d, **ckw)
        return
    expected = getattr(torch.fft, name)(n, d, **tkw)
    got = getattr(cr.fft, name)(n, d, **ckw)
    assert got.dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_freq_options_and_errors() -> None:
    f = cr.fft.fftfreq(4, requires_grad=True)
    assert f.requires_grad and f.dtype == np.float32
    out = cr.empty(0, dtype=cr.float64)
    assert cr.fft.rfftfreq(6, out=out) is out
    np.testing.assert_array_equal(out.numpy(), torch.fft.rfftfreq(6, dtype=torch.float64).numpy())
    with pytest.raises(RuntimeError, match="floating point or complex dtype"):
        cr.fft.fftfreq(5, dtype=cr.int64)
    with pytest.raises(RuntimeError, match="negative dimension"):
        cr.fft.fftfreq(-1)
    with pytest.raises(NotImplementedError, match="strided"):
        cr.fft.fftfreq(4, layout="sparse_coo")


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), [1]])
def test_shifts_match_torch(name: str, dim) -> None:
    x = _data((3, 4, 5), "complex128")
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, cy = getattr(torch.fft, name)(tx, dim=dim), getattr(cr.fft, name)(cx, dim=dim)
    np.testing.assert_array_equal(cy.detach().numpy(), _np(ty))
    g = _data(x.shape, "complex128")
    (expected,) = torch.autograd.grad(ty, tx, torch.tensor(g))
    (got,) = cr.autograd.grad(cy, cx, grad_outputs=cr.tensor(g))
    np.testing.assert_array_equal(got.numpy(), _np(expected))


def _torch_signature(name: str) -> str:
    first = getattr(torch.fft, name).__doc__.strip().splitlines()[0]
    return re.sub(r"\s*->.*$", "", first[len(name) :])


@pytest.mark.parametrize("name", cr.fft.__all__)
def test_signatures_match_torch(name: str) -> None:
    """Parameter names, order, keyword-only marks and defaults as in torch's documented
    signature (``layout=torch.strided`` is ``layout=None`` here, meaning the same)."""
    params = []
    star = False
    for p in inspect.signature(getattr(cr.fft, name)).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        params.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    ours = "(" + ", ".join(params) + ")"
    theirs = _torch_signature(name).replace("layout=torch.strided", "layout=None")
    assert ours.replace("'", "") == theirs.replace("'", "")


def test_namespace_matches_torch() -> None:
    public = {
        n for n in dir(torch.fft) if not n.startswith("_") and callable(getattr(torch.fft, n))
    }
    assert set(cr.fft.__all__) == public - {"Tensor"}
