"""nn layers against torch.nn: constructors (signatures, positional arguments, bad arguments
and their error types), attributes and reprs, default initialisation, and forward/backward
with torch's weights copied in (float64, batched and unbatched), from a broad audit of every
module class the two libraries share."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import copy_params


def _to_cr(v):
    if isinstance(v, torch.Tensor):
        return cr.tensor(v.detach().numpy().copy(), requires_grad=v.requires_grad)
    if isinstance(v, tuple):
        return tuple(_to_cr(e) for e in v)
    return v


def _outputs(o):
    """The tensors of a module's output, flattened (RNN states, (output, weights), ...)."""
    if isinstance(o, (tuple, list)):
        return [t for e in o for t in _outputs(e)]
    return [] if o is None else [o]


def _np(t):
    return np.asarray(t.detach().numpy())


def _build(name, args, kwargs):
    t = getattr(torch.nn, name)(*args, **kwargs)
    c = getattr(cr.nn, name)(*args, **kwargs)
    return t, c


def _check_forward(name, args, kwargs, shapes, train=False, fkw=None):
    """Same module in both libraries (torch's float64 weights copied in): equal repr, state
    keys, outputs, input gradients and parameter gradients of a random weighted sum."""
    torch.manual_seed(0)
    tm, cm = _build(name, args, kwargs)
    assert repr(cm) == repr(tm)
    assert list(cm.state_dict()) == list(tm.state_dict())
    tm.double().train(train)
    cm.double().train(train)
    copy_params(cm, tm)
    gen = torch.Generator().manual_seed(1)
    xt = [torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in shapes]
    xc = [_to_cr(x) for x in xt]
    ot, oc = _outputs(tm(*xt, **(fkw or {}))), _outputs(cm(*xc, **(fkw or {})))
    assert len(ot) == len(oc)
    lt, lc = 0, 0
    for a, b in zip(ot, oc):
        assert tuple(b.shape) == tuple(a.shape)
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-9, atol=1e-11)
        if a.requires_grad:
            w = torch.randn(a.shape, dtype=a.dtype, generator=gen)
            lt, lc = lt + (a * w).sum(), lc + (b * _to_cr(w)).sum()
    lt.backward()
    lc.backward()
    for a, b in zip(xt, xc):
        np.testing.assert_allclose(_np(b.grad), _np(a.grad), rtol=1e-9, atol=1e-11)
    cparams = dict(cm.named_parameters())
    for k, p in tm.named_parameters():
        np.testing.assert_allclose(_np(cparams[k].grad), _np(p.grad), rtol=1e-9, atol=1e-11)
    for k, buf in tm.named_buffers():  # running statistics after a training step
        np.testing.assert_allclose(_np(dict(cm.named_buffers())[k]), _np(buf), rtol=1e-12)


# ----------------------------------------------------------- positional constructor args
# PyTorch's ConvTranspose1d/2d take (..., padding, output_padding, groups, bias, dilation);
# chainrule read the sixth positional argument as dilation (a silently different layer)
FORWARD = [
    ("ConvTranspose2d", (4, 6, 3, 2, 1, 1), {}, [(2, 4, 5, 5)]),
    ("ConvTranspose1d", (4, 6, 3, 2, 1, 1, 2, False, 2), {}, [(2, 4, 5)]),
    ("ConvTranspose3d", (4, 6, 3, 2, 1, 1, 2, False, 2), {}, [(2, 4, 3, 3, 3)]),
    ("Conv2d", (4, 6, 3, 2, 1, 2, 2, False, "reflect"), {}, [(2, 4, 9, 9)]),
    ("Conv1d", (4, 6, 4), {"padding": "same", "padding_mode": "circular"}, [(2, 4, 9)]),
    ("Conv2d", (4, 8, 3), {"groups": 4, "padding": (1, 2)}, [(4, 9, 7)]),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2}, [(2, 4, 5, 5)]),
    ("Conv3d", (2, 4, 3), {"padding": 1, "padding_mode": "replicate"}, [(2, 2, 4, 5, 3)]),
    # representative layers that agreed in the audit
    ("Linear", (3, 5), {}, [(2, 4, 3)]),
    ("Linear", (3, 5), {"bias": False}, [(3,)]),
    ("Bilinear", (3, 4, 5), {}, [(6, 3), (6, 4)]),
    ("MaxPool2d", (3, 2, 1, 1, True, True), {}, [(2, 3, 7, 6)]),
    ("AvgPool2d", (3, 2, 1, True, False, 2), {}, [(2, 3, 7, 6)]),
    ("AvgPool1d", (3, 2, 1), {"ceil_mode": True}, [(3, 9)]),
    ("AdaptiveMaxPool1d", (4,), {"return_indices": True}, [(2, 3, 9)]),
    ("AdaptiveAvgPool3d", ((3, None, 2),), {}, [(2, 3, 5, 6, 4)]),
    ("LPPool2d", (3, 2), {"stride": 1, "ceil_mode": True}, [(2, 3, 7, 6)]),
    ("BatchNorm1d", (3, 1e-3, None), {}, [(4, 3, 5)]),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, [(4, 3, 5, 5)]),
    ("GroupNorm", (2, 4), {}, [(3, 4, 5)]),
    ("LayerNorm", ((4, 5),), {"bias": False}, [(3, 4, 5)]),
    ("RMSNorm", (5,), {"eps": 1e-3}, [(3, 5)]),
    ("PReLU", (3, 0.1), {}, [(2, 3, 4)]),
    ("GLU", (1,), {}, [(2, 4, 3)]),
    ("Softmax2d", (), {}, [(3, 4, 5)]),
    ("Upsample", (None, 2, "bilinear", True), {}, [(2, 3, 4, 5)]),
    ("PixelShuffle", (2,), {}, [(8, 3, 5)]),
    ("Fold", ((4, 5), 2, 1, 0, 1), {}, [(2, 12, 12)]),
    ("Unfold", (2, 1, 1, 2), {}, [(2, 3, 4, 5)]),
    ("ReflectionPad2d", ((1, 2, 0, 1),), {}, [(2, 3, 4, 5)]),
    ("CircularPad1d", (2,), {}, [(3, 4)]),
    ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), 1.5), {}, [(2, 3, 4, 5)]),
    ("LSTM", (3, 4, 2, True, True, 0.0, True, 2), {}, [(2, 5, 3)]),
    ("GRUCell", (3, 4), {}, [(3,)]),
    (
        "MultiheadAttention",
        (8, 2, 0.0, False, True, True, 3, 5, True),
        {},
        [(2, 5, 8), (2, 4, 3), (2, 4, 5)],
    ),
    ("TransformerEncoderLayer", (8, 2, 16, 0.0, "gelu", 1e-3, True, True), {}, [(2, 5, 8)]),
    ("TripletMarginLoss", (0.5, 1.0, 1e-6, True, None, None, "sum"), {}, [(3, 4)] * 3),
    ("CosineSimilarity", (0,), {}, [(4, 5), (1, 5)]),
    ("HuberLoss", ("none", 0.5), {}, [(3, 4), (3, 4)]),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shapes"), FORWARD, ids=lambda v: str(v))
def test_forward_matches_torch(name, args, kwargs, shapes):
    _check_forward(name, args, kwargs, shapes)


@pytest.mark.parametrize("name", ["BatchNorm2d", "InstanceNorm1d", "Dropout", "Sequential"])
def test_train_mode_matches_torch(name):
    if name == "Sequential":  # a container of layers (hidden dropout p=0 keeps it exact)
        tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.0), torch.nn.Tanh())
        cm = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Dropout(0.0), cr.nn.Tanh())
        assert repr(cm) == repr(tm)
        tm.double()
        cm.double()
        copy_params(cm, tm)
        x = torch.randn(5, 3, dtype=torch.float64)
        np.testing.assert_allclose(_np(cm(input=_to_cr(x))), _np(tm(input=x)), rtol=1e-12)
        return
    args, shape = {
        "BatchNorm2d": ((3, 1e-5, None), (4, 3, 2, 2)),
        "InstanceNorm1d": ((3, 1e-5, 0.3, False, True), (4, 3, 5)),
        "Dropout": ((0.0,), (4, 3)),
    }[name]
    _check_forward(name, args, {}, [shape], train=True)


# ------------------------------------------------------------------------- signatures
@pytest.mark.parametrize(
    "name",
    [
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
        "TripletMarginLoss",
        "MarginRankingLoss",
        "SyncBatchNorm",
        "Linear",
        "Embedding",
        "EmbeddingBag",
        "BatchNorm1d",
        "LayerNorm",
        "GroupNorm",
        "MultiheadAttention",
        "MaxPool2d",
        "AvgPool2d",
        "Upsample",
    ],
)
def test_constructor_signature_matches_torch(name):
    def params(cls):
        sig = inspect.signature(cls.__init__)
        return [(p.name, p.default) for p in sig.parameters.values()]

    assert params(getattr(cr.nn, name)) == params(getattr(torch.nn, name))


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("Conv2d", (2, 3, 3)),
        ("Conv1d", (2, 3, 3)),
        ("Conv3d", (2, 3, 3)),
        ("ConvTranspose3d", (2, 3, 3)),
        ("MaxPool2d", (2,)),
        ("AvgPool1d", (2,)),
        ("AdaptiveAvgPool2d", (2,)),
        ("AdaptiveMaxPool3d", (2,)),
        ("LocalResponseNorm", (2,)),
    ],
)
def test_forward_takes_input_keyword(name, args):
    # PyTorch's forward(input): ``module(input=x)`` must work as there
    shape = {"Conv1d": (1, 2, 6), "AvgPool1d": (1, 2, 6)}.get(name, (1, 2, 6, 6, 6))
    if name in ("Conv2d", "MaxPool2d", "AdaptiveAvgPool2d", "LocalResponseNorm"):
        shape = (1, 2, 6, 6)
    torch.manual_seed(0)
    tm, cm = _build(name, args, {})
    tm.double()
    cm.double()
    copy_params(cm, tm)
    x = torch.randn(shape, dtype=torch.float64)
    np.testing.assert_allclose(_np(cm(input=_to_cr(x))), _np(tm(input=x)), rtol=1e-10)


def test_conv_positional_device_lands_on_device():
    m = cr.nn.Conv2d(3, 4, 3, 1, 0, 1, 1, True, "zeros", "cpu")
    t = torch.nn.Conv2d(3, 4, 3, 1, 0, 1, 1, True, "zeros", "cpu")
    assert repr(m) == repr(t)
    assert m.output_padding == (0, 0) and m.weight.device == cr.device("cpu")


# --------------------------------------------------------------- bad constructor args
BAD_ARGS = [
    ("Linear", (-1, 3), {}),
    ("Linear", (3, -2), {}),
    ("Conv2d", (-3, 4, 3), {}),
    ("Conv2d", (3, -4, 3), {}),
    ("Conv1d", (3, 4, -1), {}),
    ("ConvTranspose2d", (3, -4, 3), {}),
    ("Embedding", (-1, 4), {}),
    ("Embedding", (10, -4), {}),
    ("Embedding", (10, 4), {"_weight": torch.zeros(3, 4)}),
    ("EmbeddingBag", (10, 4), {"_weight": torch.zeros(3, 4)}),
    ("Embedding", (10, 4), {"padding_idx": 10}),
    ("RNNCell", (3, -4), {}),
    ("GRUCell", (-3, 4), {}),
    ("Hardtanh", (2.0, -2.0), {}),
    ("Hardtanh", (1.0, 1.0), {}),
    ("TripletMarginLoss", (), {"margin": -1.0}),
    ("TripletMarginLoss", (), {"margin": 0.0}),
    ("Dropout", (1.1,), {}),
    ("Dropout2d", (-0.1,), {}),
    ("Conv2d", (3, 4, 3), {"padding_mode": "foo"}),
    ("Conv2d", (3, 4, 3), {"stride": 2, "padding": "same"}),
    ("ConvTranspose2d", (3, 4, 3), {"padding_mode": "reflect"}),
    ("RNN", (3, 4), {"nonlinearity": "sigmoid"}),
    ("LSTM", (3, 4), {"proj_size": 4}),
    ("GroupNorm", (3, 4), {}),
    ("MultiheadAttention", (8, 3), {}),
    ("BatchNorm1d", (-1,), {}),
    ("Linear", (3, 4), {"dtype": torch.int64}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), BAD_ARGS, ids=lambda v: str(v))
def test_bad_constructor_arguments_raise_as_torch(name, args, kwargs):
    with pytest.raises(Exception) as terr:
        getattr(torch.nn, name)(*args, **kwargs)
    with pytest.raises(terr.type):
        getattr(cr.nn, name)(*args, **{k: _to_cr(v) for k, v in kwargs.items()})


def test_negative_conv_channels_name_the_layer():
    # was NumPy's bare "negative dimensions are not allowed"
    with pytest.raises(RuntimeError, match=r"(?s)negative dimension -3.*\nConv2d"):
        cr.nn.Conv2d(-3, 4, 3)


# ------------------------------------------------------------------ forward errors
def _raise_like_torch(tcall, ccall):
    with pytest.raises(Exception) as terr:
        tcall()
    with pytest.raises(terr.type):
        ccall()


def test_bce_out_of_range_is_runtime_error():
    x, bad = torch.rand(3, 4, dtype=torch.float64), torch.full((3, 4), 1.5, dtype=torch.float64)
    for a, b in ((bad, x), (x, bad)):
        _raise_like_torch(
            lambda a=a, b=b: torch.nn.BCELoss()(a, b),
            lambda a=a, b=b: cr.nn.BCELoss()(_to_cr(a), _to_cr(b)),
        )


def test_celu_zero_alpha_is_runtime_error():
    x = torch.randn(2, 3)
    _raise_like_torch(lambda: torch.nn.CELU(0.0)(x), lambda: cr.nn.CELU(0.0)(_to_cr(x)))


@pytest.mark.parametrize("target", [[0, 4, 1], [0, -1, 1]])
def test_multi_margin_target_out_of_range_is_runtime_error(target):
    x, t = torch.randn(3, 4), torch.tensor(target)
    _raise_like_torch(
        lambda: torch.nn.MultiMarginLoss()(x, t),
        lambda: cr.nn.MultiMarginLoss()(_to_cr(x), _to_cr(t)),
    )


@pytest.mark.parametrize(
    ("name", "args", "shapes"),
    [
        ("Linear", (3, 5), [(4, 4)]),
        ("Conv2d", (4, 6, 3), [(2, 5, 7, 6)]),
        ("Conv2d", (4, 6, 3), [(1, 2, 4, 7, 6)]),
        ("BatchNorm2d", (3,), [(4, 3, 5)]),
        ("LayerNorm", (5,), [(3, 4, 6)]),
        ("GroupNorm", (2, 4), [(3, 6, 5)]),
        ("PixelShuffle", (2,), [(2, 7, 3, 3)]),
        ("MaxPool2d", (10,), [(2, 3, 7, 6)]),
        ("Bilinear", (3, 4, 5), [(6, 3), (5, 4)]),
        ("RNN", (3, 4), [(5, 2, 4)]),
        ("MultiheadAttention", (8, 2), [(5, 2, 8), (4, 2, 8), (3, 2, 8)]),
    ],
)
def test_wrong_input_shape_raises_as_torch(name, args, shapes):
    torch.manual_seed(0)
    tm, cm = _build(name, args, {})
    xs = [torch.randn(s) for s in shapes]
    _raise_like_torch(lambda: tm(*xs), lambda: cm(*[_to_cr(x) for x in xs]))


# ------------------------------------------------------------- attributes and reprs
def test_public_attributes_as_torch():
    for name in ("Conv2d", "ConvTranspose1d", "Conv3d", "ConvTranspose3d"):
        t, c = _build(name, (2, 4, 3), {})
        assert c.transposed is t.transposed
    t, c = _build("ConvTranspose3d", (2, 4, 3), {})
    assert isinstance(c, cr.nn.modules.conv._ConvTransposeNd)
    assert isinstance(t, torch.nn.modules.conv._ConvTransposeNd)
    t, c = torch.nn.ReLU6(), cr.nn.ReLU6()
    assert (c.min_val, c.max_val) == (t.min_val, t.max_val)
    t, c = _build("Unflatten", (1, [2, 3]), {})
    assert repr(c) == repr(t) and c.unflattened_size == [2, 3]
    x = torch.randn(4, 6, 5)
    assert tuple(c(_to_cr(x)).shape) == tuple(t(x).shape)


def test_sync_batchnorm_bias_false():
    t, c = _build("SyncBatchNorm", (3,), {"bias": False})
    assert list(c.state_dict()) == list(t.state_dict())
    assert c.bias is None and repr(c) == repr(t)


# ------------------------------------------------------------------ initialisation
@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("Linear", (400, 300), {}),
        ("Bilinear", (30, 40, 50), {}),
        ("Conv2d", (16, 64, 3), {"groups": 4}),
        ("ConvTranspose2d", (64, 16, 3), {"groups": 4}),
        ("Embedding", (1000, 64), {}),
        ("LSTM", (100, 200), {}),
        ("GRUCell", (100, 200), {}),
        ("PReLU", (1000,), {}),
        ("MultiheadAttention", (256, 4), {"kdim": 64, "vdim": 32}),
    ],
)
def test_default_init_statistics_match_torch(name, args, kwargs):
    torch.manual_seed(0)
    tm, cm = _build(name, args, kwargs)
    cparams = dict(cm.named_parameters())
    for key, p in tm.named_parameters():
        x, y = _np(p).astype(np.float64).ravel(), _np(cparams[key]).astype(np.float64).ravel()
        assert x.shape == y.shape
        if x.std() == 0:
            np.testing.assert_array_equal(y, x)
            continue
        se = x.std() / math.sqrt(x.size)
        assert abs(y.mean() - x.mean()) < 6 * se + 1e-12, key
        assert abs(y.std() - x.std()) / x.std() < max(0.05, 8 / math.sqrt(x.size)), key
        # same bounds: the 0.1% and 99.9% quantiles (uniform: the bound; normal: ~3.1)
        q = [0.001, 0.999]
        np.testing.assert_allclose(np.quantile(y, q), np.quantile(x, q), rtol=0.1, err_msg=key)


def test_cross_map_lrn_forward_matches_torch():
    # forward only: torch's legacy hand-written backward is not the exact derivative of its
    # forward (5e-4 off finite differences); chainrule's is (autograd of the same formula)
    x = torch.randn(2, 5, 4, 4, dtype=torch.float64)
    np.testing.assert_allclose(
        _np(cr.nn.CrossMapLRN2d(3)(_to_cr(x))), _np(torch.nn.CrossMapLRN2d(3)(x)), rtol=1e-12
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_rms_norm_half_default_eps_is_float32s(dtype):
    # eps=None: PyTorch takes the epsilon of the float32 it computes in, not the half
    # dtype's (2^-10 / 2^-7 swamped this small mean square: 0.29 instead of 0.64)
    x = torch.tensor([[0.01, 0.02, -0.015], [1.5, -0.3, 0.7]]).to(getattr(torch, dtype))
    xc = cr.tensor(x.float().numpy()).to(getattr(cr, dtype)).requires_grad_()
    xt = x.clone().requires_grad_()
    tm, cm = torch.nn.RMSNorm(3).to(xt.dtype), cr.nn.RMSNorm(3).to(xc.dtype)
    yt, yc = tm(xt), cm(xc)
    assert str(yc.dtype).split(".")[-1] == dtype
    np.testing.assert_array_equal(yc.float().detach().numpy(), yt.float().detach().numpy())
    yt.float().sum().backward()
    yc.float().sum().backward()
    np.testing.assert_allclose(
        xc.grad.float().numpy(), xt.grad.float().numpy(), rtol=2e-2, atol=2e-2
    )
