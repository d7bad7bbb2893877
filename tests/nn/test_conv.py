"""Convolution ops and layers against PyTorch (float64), gradcheck and double backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ._helpers import close_rel as close

RNG = np.random.default_rng(0)


def _run(cr_fn, torch_fn, arrays, double=True):
    """Compare forward, backward and (optionally) double backward with torch."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    cs = [cr.tensor(a, requires_grad=True) for a in arrays]
    yt, yc = torch_fn(*ts), cr_fn(*cs)
    close(yc.data, yt.detach().numpy())
    gy = RNG.standard_normal(yt.shape)
    gts = torch.autograd.grad(yt, ts, torch.tensor(gy), create_graph=double)
    gcs = cr.autograd.grad(yc, cs, cr.tensor(gy), create_graph=double)
    for gc, gt in zip(gcs, gts):
        close(gc.data, gt.detach().numpy())
    if double:
        vs = [RNG.standard_normal(a.shape) for a in arrays]
        st = sum((g * torch.tensor(v)).sum() for g, v in zip(gts, vs))
        sc = sum(((g * cr.tensor(v)).sum() for g, v in zip(gcs, vs)), cr.tensor(0.0))
        hts = torch.autograd.grad(st, ts, allow_unused=True)
        hcs = cr.autograd.grad(sc, cs, allow_unused=True)
        for hc, ht in zip(hcs, hts):
            if ht is None:
                assert hc is None or np.abs(hc.data).max() == 0
            else:
                close(hc.data, ht.numpy(), 1e-8)


CONV2D = [
    # C, O, k, stride, padding, dilation, groups, H, W
    (3, 4, 3, 1, 1, 1, 1, 7, 8),
    (3, 4, 3, 2, 0, 1, 1, 7, 8),
    (4, 6, 3, 2, 1, 1, 2, 9, 9),
    (4, 4, 3, 1, 1, 1, 4, 6, 6),  # depthwise
    (4, 8, 3, 1, 1, 1, 4, 6, 6),  # depthwise with multiplier 2
    (3, 5, (2, 3), (2, 1), (1, 0), 1, 1, 7, 8),
    (2, 3, 3, 1, 2, 2, 1, 8, 8),  # dilated
    (2, 3, 3, 3, 1, (2, 1), 1, 10, 9),
    (3, 2, 3, 1, "same", 2, 1, 7, 8),
    (3, 2, 4, 1, "same", 1, 1, 7, 8),  # asymmetric 'same'
    (3, 2, 3, 1, "valid", 1, 1, 7, 8),
    (3, 5, 1, 1, 0, 1, 1, 5, 5),  # 1x1
    (3, 5, 1, 2, 0, 1, 1, 5, 5),  # strided 1x1
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cfg", CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(cfg, bias):
    c, o, k, s, p, d, g, h, w = cfg
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [RNG.standard_normal((2, c, h, w)), RNG.standard_normal((o, c // g, kh, kw))]
    if bias:
        arrays.append(RNG.standard_normal(o))
    _run(
        lambda x, wt, *b: F.conv2d(x, wt, b[0] if b else None, s, p, d, g),
        lambda x, wt, *b: TF.conv2d(x, wt, b[0] if b else None, s, p, d, g),
        arrays,
    )


@pytest.mark.parametrize(
    "cfg",
    [
        (3, 4, 3, 1, 0, 1, 1),
        (4, 6, 5, 2, 2, 1, 2),
        (2, 2, 3, 1, "same", 2, 1),
        (4, 4, 3, 2, 1, 1, 4),
    ],
)
def test_conv1d_matches_torch(cfg):
    c, o, k, s, p, d, g = cfg
    arrays = [
        RNG.standard_normal((2, c, 13)),
        RNG.standard_normal((o, c // g, k)),
        RNG.standard_normal(o),
    ]
    _run(
        lambda x, wt, b: F.conv1d(x, wt, b, s, p, d, g),
        lambda x, wt, b: TF.conv1d(x, wt, b, s, p, d, g),
        arrays,
    )


CONVT = [
    # Cin, Cout, k, stride, padding, output_padding, groups, dilation
    (3, 4, 3, 1, 0, 0, 1, 1),
    (3, 4, 3, 2, 1, 1, 1, 1),
    (4, 6, 3, 2, 0, 0, 2, 1),
    (2, 2, 2, 3, 1, 2, 1, 2),
    (4, 4, 4, 2, 1, 0, 4, 1),
    (2, 3, (3, 2), (2, 1), (1, 0), (1, 0), 1, 1),
    (3, 4, 3, 1, 1, 1, 1, 2),  # stride 1, output_padding from dilation
]


@pytest.mark.parametrize("cfg", CONVT)
def test_conv_transpose2d_matches_torch(cfg):
    ci, co, k, s, p, op, g, d = cfg
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [
        RNG.standard_normal((2, ci, 5, 6)),
        RNG.standard_normal((ci, co // g, kh, kw)),
        RNG.standard_normal(co),
    ]
    _run(
        lambda x, wt, b: F.conv_transpose2d(x, wt, b, s, p, op, g, d),
        lambda x, wt, b: TF.conv_transpose2d(x, wt, b, s, p, op, g, d),
        arrays,
    )


def test_conv_transpose1d_matches_torch():
    arrays = [
        RNG.standard_normal((2, 3, 7)),
        RNG.standard_normal((3, 4, 3)),
        RNG.standard_normal(4),
    ]
    _run(
        lambda x, wt, b: F.conv_transpose1d(x, wt, b, 2, 1, 1),
        lambda x, wt, b: TF.conv_transpose1d(x, wt, b, 2, 1, 1),
        arrays,
    )


def test_gradcheck_tiny():
    x = cr.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    w = cr.tensor(RNG.standard_normal((2, 1, 2, 3)), requires_grad=True)
    b = cr.tensor(RNG.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2)

    def fnt(x, w, b):
        return F.conv_transpose2d(x, w, b, stride=2, output_padding=1)

    assert cr.autograd.gradcheck(fn, (x, w, b))
    assert cr.autograd.gradgradcheck(fn, (x, w, b))
    wt = cr.tensor(RNG.standard_normal((2, 3, 2, 2)), requires_grad=True)
    assert cr.autograd.gradcheck(fnt, (x, wt, cr.tensor(RNG.standard_normal(3))))


def test_forward_mode_jvp_matches_vjp():
    x = cr.tensor(RNG.standard_normal((2, 3, 5, 5)))
    w = cr.tensor(RNG.standard_normal((4, 3, 3, 3)))
    tx = cr.tensor(RNG.standard_normal(x.shape))
    tw = cr.tensor(RNG.standard_normal(w.shape))
    _, jv = cr.func.jvp(lambda a, b: F.conv2d(a, b, stride=2, padding=1), (x, w), (tx, tw))
    eps = 1e-6
    fd = (
        F.conv2d(x + eps * tx, w + eps * tw, stride=2, padding=1).data
        - F.conv2d(x - eps * tx, w - eps * tw, stride=2, padding=1).data
    ) / (2 * eps)
    close(jv.data, fd, 1e-6)


def test_unbatched_and_float32():
    x = RNG.standard_normal((3, 6, 6)).astype(np.float32)
    w = RNG.standard_normal((2, 3, 3, 3)).astype(np.float32)
    y = F.conv2d(cr.tensor(x), cr.tensor(w), padding=1)
    assert y.shape == (2, 6, 6) and y.dtype == np.float32
    close(y.data, TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy(), 1e-5)


def test_errors_are_clear():
    x = cr.randn(1, 3, 5, 5)
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(x, cr.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="Kernel size can.t be greater than actual input size"):
        F.conv2d(x, cr.randn(4, 3, 7, 7))
    with pytest.raises(ValueError, match="same"):
        F.conv2d(x, cr.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(x, cr.randn(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(TypeError, match="dtype"):
        F.conv2d(x.double(), cr.randn(4, 3, 3, 3))


@pytest.mark.parametrize(
    "cls,tcls,shape",
    [
        (nn.Conv2d, torch.nn.Conv2d, (2, 4, 9, 9)),
        (nn.Conv1d, torch.nn.Conv1d, (2, 4, 9)),
        (nn.ConvTranspose2d, torch.nn.ConvTranspose2d, (2, 4, 5, 5)),
        (nn.ConvTranspose1d, torch.nn.ConvTranspose1d, (2, 4, 5)),
    ],
)
def test_layers_match_torch_and_init_like_torch(cls, tcls, shape):
    kw = {"stride": 2, "padding": 1, "groups": 2}
    m, mt = cls(4, 6, 3, **kw), tcls(4, 6, 3, **kw).double()
    assert m.weight.shape == tuple(mt.weight.shape)
    fan_in = m.weight.shape[1] * int(np.prod(m.weight.shape[2:]))
    bound = 1 / np.sqrt(fan_in)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert m.weight.data.std() > 0.4 * bound  # really uniform over the range, not tiny
    m = m.double()
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(m.weight.data))
        mt.bias.copy_(torch.tensor(m.bias.data))
    x = RNG.standard_normal(shape)
    close(m(cr.tensor(x)).data, mt(torch.tensor(x)).detach().numpy())
    assert "kernel_size=(3" in repr(m)


def test_conv_keeps_channel_major_memory_internally():
    # The conv output is an (O, N, H, W)-ordered buffer seen as (N, O, H, W).
    y = F.conv2d(cr.randn(2, 3, 8, 8), cr.randn(5, 3, 3, 3), padding=1)
    assert y.shape == (2, 5, 8, 8)
    assert y._data.transpose(1, 0, 2, 3).flags["C_CONTIGUOUS"]
