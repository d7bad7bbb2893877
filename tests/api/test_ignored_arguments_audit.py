"""Arguments accepted but ignored, defaults and keyword names that differ from PyTorch 2.13.

The project's rule: no argument is accepted and silently ignored (an unsupported one raises
NotImplementedError naming it), and names and defaults mirror PyTorch. Each case below runs
the same call in chainrule and torch and compares the result (or the error type); the first
groups are the gaps this audit fixed, the last group a sample of optional arguments that
already agreed (so that a regression in them is caught).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

_RNG = np.random.default_rng(20251)
_X = _RNG.uniform(-1.0, 1.0, (4, 5))
_P = _RNG.uniform(0.05, 0.95, (4, 5))
_SIGN = np.sign(_RNG.uniform(-1.0, 1.0, (4, 5)))
_Y2 = np.array([1.0, -1.0, 1.0, -1.0])
_LOGP = np.log(_RNG.dirichlet(np.ones(5), (6, 2)))


def _as(lib: Any, v: Any) -> Any:
    """``v`` with its NumPy arrays made tensors of ``lib`` (lists and dicts walked)."""
    if isinstance(v, np.ndarray):
        return lib.tensor(v)
    if isinstance(v, list):
        return [_as(lib, e) for e in v]
    if isinstance(v, tuple):
        return tuple(_as(lib, e) for e in v)
    return v


def _np(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_np(e) for e in v]
    if isinstance(v, (torch.Tensor, cr.Tensor)):
        return v.detach().numpy()
    return v


def _outcome(lib: Any, fn: Callable) -> Any:
    """``fn(lib)``'s results as (dtype name, shape, array) triples, or the error raised."""
    try:
        out = fn(lib)
    except Exception as err:  # noqa: BLE001 - the error is what is compared
        return err
    outs = out if isinstance(out, (tuple, list)) else [out]
    return [(str(o.dtype).split(".")[-1], tuple(o.shape), _np(o)) for o in outs]


def _assert_same(case: Callable, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """The same values, dtypes and shapes as torch, or an error of torch's type (chainrule's
    errors subclass the builtin one torch raises)."""
    want, got = _outcome(torch, case), _outcome(cr, case)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), f"torch raised {want!r}, chainrule gave {got!r}"
        return
    assert not isinstance(got, Exception), f"torch answered, chainrule raised {got!r}"
    assert len(want) == len(got)
    for (wd, ws, wv), (gd, gs, gv) in zip(want, got):
        assert (gd, gs) == (wd, ws)
        np.testing.assert_allclose(gv, wv, rtol=rtol, atol=atol)


# -------------------------------------------- the root losses: default reduction is none
_ROOT_LOSSES = {
    "binary_cross_entropy_with_logits": lambda L: L.binary_cross_entropy_with_logits(
        L.tensor(_X), L.tensor(_P)
    ),
    "bce_with_logits_pos_weight": lambda L: L.binary_cross_entropy_with_logits(
        L.tensor(_X), L.tensor(_P), None, L.tensor(_P[0] + 0.5)
    ),
    "hinge_embedding_loss": lambda L: L.hinge_embedding_loss(L.tensor(_X), L.tensor(_SIGN)),
    "hinge_embedding_loss_margin": lambda L: L.hinge_embedding_loss(
        L.tensor(_X), L.tensor(_SIGN), margin=0.5
    ),
    "kl_div": lambda L: L.kl_div(L.tensor(_X), L.tensor(_P)),
    "kl_div_log_target": lambda L: L.kl_div(L.tensor(_X), L.tensor(_X), log_target=True),
    "cosine_embedding_loss": lambda L: L.cosine_embedding_loss(
        L.tensor(_X), L.tensor(_P), L.tensor(_Y2)
    ),
    "margin_ranking_loss": lambda L: L.margin_ranking_loss(
        L.tensor(_X[:, 0]), L.tensor(_P[:, 0]), L.tensor(_Y2)
    ),
    "triplet_margin_loss": lambda L: L.triplet_margin_loss(
        L.tensor(_X), L.tensor(_P), L.tensor(_X + 1)
    ),
    "ctc_loss": lambda L: L.ctc_loss(
        L.tensor(_LOGP), L.tensor(np.array([[1, 2], [1, 1]])), [6, 5], [2, 2]
    ),
    "kl_div_mean": lambda L: L.kl_div(L.tensor(_X), L.tensor(_P), 1),
}


@pytest.mark.parametrize("name", sorted(_ROOT_LOSSES))
def test_root_losses_default_reduction_matches_torch(name):
    """torch.kl_div(x, t) (and the other root losses) reduce nothing by default in 2.13."""
    _assert_same(_ROOT_LOSSES[name])


# ------------------------------------------------------------ dtype= arguments honoured
def _norm_dtype(fn: str, src: str, dst: str) -> Callable:
    def case(L: Any) -> Any:
        x = L.ones(2, 3, dtype=getattr(L, src))
        return getattr(L.linalg, fn)(x, dtype=getattr(L, dst))

    return case


_NORM_DTYPES = [
    (fn, src, dst)
    for fn in ("vector_norm", "matrix_norm", "norm")
    for src, dst in [
        ("float64", "float32"),  # narrowing: RuntimeError (was a float32 result)
        ("float32", "float16"),
        ("float16", "bfloat16"),
        ("float32", "complex64"),  # real input: a complex dtype raises (was complex64)
        ("float32", "int64"),  # (was a float64 vector norm)
        ("float32", "float64"),  # widening: computed in float64
        ("float16", "float32"),
        ("bfloat16", "float64"),
        ("float32", "float32"),
    ]
]


@pytest.mark.parametrize(("fn", "src", "dst"), _NORM_DTYPES)
def test_linalg_norm_dtype_argument(fn, src, dst):
    _assert_same(_norm_dtype(fn, src, dst), rtol=1e-3)


@pytest.mark.parametrize("dst", ["int64", "int32", "bool", "float64", "float16"])
def test_nanmean_dtype_argument(dst):
    """An integer dtype= for nanmean raised nothing and returned float32."""
    x = np.array([[1.0, np.nan, 2.0], [3.0, 4.0, np.nan]])
    _assert_same(lambda L: L.nanmean(L.tensor(x), dtype=getattr(L, dst)), rtol=1e-3)
    _assert_same(lambda L: L.tensor(x).nanmean(1, dtype=getattr(L, dst)), rtol=1e-3)


@pytest.mark.parametrize("dst", ["int32", "int64", "bool"])
def test_normal_refuses_an_integer_dtype(dst):
    """torch.normal(0, 1, size, dtype=int) raises NotImplementedError (it returned ints)."""
    _assert_same(lambda L: L.normal(0.0, 1.0, (3,), dtype=getattr(L, dst)))


@pytest.mark.parametrize("dst", ["complex64", "complex128"])
def test_normal_complex_dtype_draws_both_parts(dst):
    """The real and imaginary parts are each N(mean, std**2 / 2), as torch's (the imaginary
    part was always 0)."""
    cr.manual_seed(0)
    z = cr.normal(2.0, 3.0, (40000,), dtype=getattr(cr, dst))
    assert str(z.dtype) == f"torch.{dst}"
    re, im = z.real.numpy(), z.imag.numpy()
    for part in (re, im):
        assert abs(part.mean() - 2.0) < 0.08
        assert abs(part.var() - 4.5) < 0.25
    assert abs(np.corrcoef(re, im)[0, 1]) < 0.05


@pytest.mark.parametrize("dst", ["int32", "int64", "int16", "uint8", "float32", "float64"])
@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
def test_tri_indices_dtype(fn, dst):
    _assert_same(lambda L: getattr(L, fn)(4, 5, 1, dtype=getattr(L, dst)))


# ----------------------------------------------------------- memory_format= and layout=
@pytest.mark.parametrize("method", ["byte", "char", "short", "int", "long", "half", "bool"])
@pytest.mark.parametrize("fmt", ["channels_last", "contiguous_format", "preserve_format", None])
@pytest.mark.parametrize("channels_last_input", [False, True])
def test_cast_methods_honour_memory_format(method, fmt, channels_last_input):
    """x.byte()/char()/short() ignored memory_format=; the strides now follow torch's."""
    strides = []
    for L in (torch, cr):
        x = L.ones(2, 3, 4, 5)
        if channels_last_input:
            x = x.to(memory_format=L.channels_last)
        kw = {} if fmt is None else {"memory_format": getattr(L, fmt)}
        strides.append(tuple(getattr(x, method)(**kw).stride()))
    assert strides[1] == strides[0]


def test_new_empty_strided_checks_layout():
    x = cr.ones(2)
    assert x.new_empty_strided((2, 2), (2, 1), layout=cr.strided).shape == (2, 2)
    with pytest.raises(NotImplementedError, match="layout"):
        x.new_empty_strided((2, 2), (2, 1), layout=cr.sparse_coo)


# ------------------------------------------------------------------ PyTorch's keywords
_KEYWORD_CALLS = {
    "flip_input": lambda L: L.flip(input=L.tensor(_X), dims=[0]),
    "flip_dims": lambda L: L.tensor(_X).flip(dims=(0, 1)),
    "relu_input": lambda L: L.relu(input=L.tensor(_X)),
    "clamp_min_input": lambda L: L.clamp_min(input=L.tensor(_X), min=0.1),
    "clamp_max_input": lambda L: L.clamp_max(input=L.tensor(_X), max=0.1),
    "one_hot_input": lambda L: L.nn.functional.one_hot(input=L.tensor([1, 0, 2])),
    "one_hot_num_classes": lambda L: L.nn.functional.one_hot(L.tensor([1, 0]), num_classes=4),
    "histogram_default_bins": lambda L: L.histogram(L.tensor(_X)),
    "histogram_method": lambda L: L.tensor(_X).histogram(),
    "histogram_bins": lambda L: L.histogram(L.tensor(_X), bins=7, range=(-0.5, 0.5)),
    "airy_ai_x": lambda L: L.special.airy_ai(x=L.tensor(_X)),
    "scaled_k0_x": lambda L: L.special.scaled_modified_bessel_k0(x=L.tensor(_P)),
    "scaled_k1_x": lambda L: L.special.scaled_modified_bessel_k1(x=L.tensor(_P)),
    "spherical_j0_x": lambda L: L.special.spherical_bessel_j0(x=L.tensor(_X)),
    "bessel_j0_input": lambda L: L.special.bessel_j0(input=L.tensor(_X)),
    "hsplit_sections": lambda L: L.hsplit(L.ones(4, 6, 2), sections=2),
    "hsplit_indices": lambda L: L.hsplit(L.ones(4, 6, 2), indices=[1, 4]),
    "vsplit_sections": lambda L: L.ones(4, 6, 2).vsplit(sections=2),
    "dsplit_indices": lambda L: L.dsplit(L.ones(4, 6, 2), indices=[1]),
    "hsplit_positional": lambda L: L.hsplit(L.ones(4, 6, 2), 3),
    "hsplit_none": lambda L: L.hsplit(L.ones(4, 6, 2)),
    "hsplit_two": lambda L: L.hsplit(L.ones(4, 6, 2), 2, sections=2),
    "tensor_split_sections": lambda L: L.tensor_split(L.ones(4, 6), sections=3, dim=1),
}


@pytest.mark.parametrize("name", sorted(_KEYWORD_CALLS))
def test_pytorch_keyword_names(name):
    _assert_same(_KEYWORD_CALLS[name], rtol=1e-6, atol=1e-10)


# ------------------------------------- a sample of optional arguments that already agree
_F = "nn.functional"
_AGREE: dict[str, Callable] = {
    "sum_dtype": lambda L: L.sum(L.tensor(_X), 1, dtype=L.float32),
    "mean_dtype": lambda L: L.mean(L.tensor(_X), dtype=L.float32),
    "cumsum_int_dtype": lambda L: L.cumsum(L.tensor(np.arange(6)), 0, dtype=L.float32),
    "softmax_dtype": lambda L: L.nn.functional.softmax(L.tensor(_X), 1, dtype=L.float32),
    "var_correction": lambda L: L.var(L.tensor(_X), 1, correction=2, keepdim=True),
    "std_unbiased": lambda L: L.std(L.tensor(_X), 0, unbiased=False),
    "norm_p1_dim": lambda L: L.norm(L.tensor(_X), p=1, dim=1),
    "vector_norm_ord": lambda L: L.linalg.vector_norm(L.tensor(_X), ord=3, dim=0),
    "matrix_norm_nuc": lambda L: L.linalg.matrix_norm(L.tensor(_X), ord="nuc"),
    "normalize_p_dim_eps": lambda L: L.nn.functional.normalize(L.tensor(_X), 1.0, 0, eps=0.5),
    "pad_reflect": lambda L: L.nn.functional.pad(L.tensor(_X)[None], (2, 1), mode="reflect"),
    "pad_value": lambda L: L.nn.functional.pad(L.tensor(_X), (1, 2, 0, 1), value=3.5),
    "interp_align": lambda L: L.nn.functional.interpolate(
        L.tensor(_X)[None, None], scale_factor=1.7, mode="bilinear", align_corners=True
    ),
    "interp_antialias": lambda L: L.nn.functional.interpolate(
        L.tensor(_X)[None, None], size=(2, 3), mode="bilinear", antialias=True
    ),
    "interp_recompute": lambda L: L.nn.functional.interpolate(
        L.tensor(_X)[None, None], scale_factor=1.7, mode="nearest", recompute_scale_factor=True
    ),
    "embedding_max_norm": lambda L: L.nn.functional.embedding(
        L.tensor([0, 2]), L.tensor(_X), max_norm=0.5, norm_type=1.0
    ),
    "cross_entropy_smoothing": lambda L: L.nn.functional.cross_entropy(
        L.tensor(_X), L.tensor([0, 4, 2, 1]), weight=L.tensor(_P[0]), label_smoothing=0.2
    ),
    "cross_entropy_ignore": lambda L: L.nn.functional.cross_entropy(
        L.tensor(_X), L.tensor([0, 4, 2, 1]), ignore_index=2, reduction="sum"
    ),
    "bce_logits_pos_weight": lambda L: L.nn.functional.binary_cross_entropy_with_logits(
        L.tensor(_X), L.tensor(_P), pos_weight=L.tensor(_P[0] + 0.5)
    ),
    "smooth_l1_beta": lambda L: L.nn.functional.smooth_l1_loss(
        L.tensor(_X), L.tensor(_P), beta=0.3, reduction="none"
    ),
    "huber_delta": lambda L: L.nn.functional.huber_loss(L.tensor(_X), L.tensor(_P), delta=0.3),
    "poisson_nll_full": lambda L: L.nn.functional.poisson_nll_loss(
        L.tensor(_X), L.tensor(_P), full=True, eps=0.5
    ),
    "triplet_swap": lambda L: L.nn.functional.triplet_margin_loss(
        L.tensor(_X), L.tensor(_P), L.tensor(_X + 0.3), p=1, swap=True
    ),
    "avg_pool_divisor": lambda L: L.nn.functional.avg_pool2d(
        L.tensor(_X)[None, None], 2, 1, divisor_override=3
    ),
    "avg_pool_no_pad_count": lambda L: L.nn.functional.avg_pool2d(
        L.tensor(_X)[None, None], 3, 2, 1, ceil_mode=True, count_include_pad=False
    ),
    "max_pool_dilation": lambda L: L.nn.functional.max_pool1d(
        L.tensor(_X)[None], 2, 1, dilation=2, return_indices=True
    ),
    "fft_n_norm": lambda L: L.fft.rfft(L.tensor(_X), n=7, dim=0, norm="ortho"),
    "fft2_s": lambda L: L.fft.fft2(L.tensor(_X), s=(3, 6), norm="forward"),
    "quantile_interp": lambda L: L.quantile(L.tensor(_X), 0.3, 1, interpolation="midpoint"),
    "searchsorted_side": lambda L: L.searchsorted(
        L.tensor([1.0, 2.0, 3.0]), L.tensor([2.0, 0.5]), side="right", out_int32=True
    ),
    "add_alpha": lambda L: L.add(L.tensor(_X), L.tensor(_P), alpha=2.5),
    "div_rounding": lambda L: L.div(L.tensor(_X), L.tensor(_P), rounding_mode="floor"),
    "addmm_beta_alpha": lambda L: L.addmm(
        L.tensor(_X[:3]), L.tensor(_P[:3, :4]), L.tensor(_X[:4]), beta=0.5, alpha=2.0
    ),
    "round_decimals": lambda L: L.round(L.tensor(_X * 100), decimals=-1),
    "scatter_reduce_self": lambda L: L.scatter_reduce(
        L.tensor(_X), 1, L.tensor([[0, 1]] * 4), L.tensor(_P[:, :2]), "mean", include_self=False
    ),
}


@pytest.mark.parametrize("name", sorted(_AGREE))
def test_optional_arguments_agree_with_torch(name):
    _assert_same(_AGREE[name], rtol=1e-5, atol=1e-7)


_LAYERS = [
    ("Conv2d", (3, 4, 3), {"padding": 1, "padding_mode": "circular", "dilation": 2}),
    ("Conv2d", (3, 4, 3), {"padding": "same", "padding_mode": "reflect"}),
    ("BatchNorm2d", (3,), {"momentum": None, "eps": 0.5}),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True, "momentum": 0.5}),
    ("GroupNorm", (3, 3), {"eps": 0.5, "affine": False}),
    ("LayerNorm", ((6,),), {"eps": 0.5, "bias": False}),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear", "recompute_scale_factor": True}),
]


@pytest.mark.parametrize(("name", "args", "kw"), _LAYERS)
def test_layer_constructor_arguments_agree(name, args, kw):
    """Forward (training mode) and the buffers after it, with the same parameters."""
    x = _RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(*args, **kw)
    cm = getattr(cr.nn, name)(*args, **kw)
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    want, got = tm(torch.tensor(x)), cm(cr.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=2e-4, atol=2e-5)
    for key, value in tm.state_dict().items():
        np.testing.assert_allclose(
            cm.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key
        )


@pytest.mark.parametrize("factory", ["Linear", "Conv1d", "LayerNorm", "Embedding", "GRU"])
def test_layer_factory_dtype(factory):
    """``dtype=`` reaches every parameter and buffer, as torch's factory kwargs."""
    args = {"Linear": (4, 3), "Conv1d": (2, 3, 3), "LayerNorm": (4,), "Embedding": (5, 3)}
    a = args.get(factory, (4, 3))
    tm = getattr(torch.nn, factory)(*a, dtype=torch.float64, device="cpu")
    cm = getattr(cr.nn, factory)(*a, dtype=cr.float64, device="cpu")
    want = {k: (str(v.dtype), tuple(v.shape)) for k, v in tm.state_dict().items()}
    got = {k: (str(v.dtype), tuple(v.shape)) for k, v in cm.state_dict().items()}
    assert got == want
