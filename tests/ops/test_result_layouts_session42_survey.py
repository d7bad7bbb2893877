"""Strides of op results that PyTorch lays out otherwise than row-major, against PyTorch
2.13 (session 42 survey): channels-last inputs through pooling, interpolation,
normalization, padding, convolution and their gradients; linear algebra's column-major
factors; transposes and expands of results. ``stride()``, ``is_contiguous()`` and (4-d)
``is_contiguous(memory_format=channels_last)`` of every result are compared; the cases
chainrule does not mirror yet are strict xfails naming the gap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((2, 4, 6, 6))
W = _RNG.standard_normal((6, 4, 3, 3))
X3 = _RNG.standard_normal((2, 4, 4, 4, 4))
W3 = _RNG.standard_normal((6, 4, 3, 3, 3))
WT = _RNG.standard_normal((4, 6, 3, 3))
M = _RNG.standard_normal((5, 4))
IDX = [[0, 1], [2, 3]]


def cl(lib: Any, a: Any) -> Any:
    """``a`` as a channels-last tensor."""
    return lib.tensor(a).contiguous(memory_format=lib.channels_last)


def lay(t: Any) -> list:
    """Shape, strides, contiguity (and, 4-d, channels-last contiguity) of ``t``."""
    out = [tuple(t.shape), t.stride(), t.is_contiguous()]
    if t.dim() == 4:
        lib = torch if isinstance(t, torch.Tensor) else cr
        out.append(t.is_contiguous(memory_format=lib.channels_last))
    return out


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def _grad(lib: Any, f: Any, x: Any) -> list:
    """The gradient of ``f(x).pow(2).sum()`` for the leaf ``x``."""
    x = x.requires_grad_()
    return [lib.autograd.grad(f(x).pow(2).sum(), x)[0]]


def double_backward(lib: Any) -> list:
    x, w = lib.tensor(X, requires_grad=True), lib.tensor(W, requires_grad=True)
    y = F(lib).conv2d(x, w, padding=1)
    gx, gw = lib.autograd.grad(y.pow(2).sum(), (x, w), create_graph=True)
    return [gx, gw, *lib.autograd.grad(gx.pow(2).sum() + gw.pow(2).sum(), (x, w))]


def tconv_grads(lib: Any, channels_last: bool = False, weight_cl: bool = False) -> list:
    x = (cl(lib, X) if channels_last else lib.tensor(X)).requires_grad_()
    w = (cl(lib, WT) if weight_cl else lib.tensor(WT)).requires_grad_()
    y = F(lib).conv_transpose2d(x, w, padding=1, stride=2)
    return [y, *lib.autograd.grad(y.pow(2).sum(), (x, w))]


def conv3d_cl_grads(lib: Any) -> list:
    x = lib.tensor(X3).contiguous(memory_format=lib.channels_last_3d).requires_grad_()
    w = lib.tensor(W3, requires_grad=True)
    y = F(lib).conv3d(x, w, padding=1)
    return [y, *lib.autograd.grad(y.pow(2).sum(), (x, w))]


def vmap_grad_x(lib: Any) -> list:
    w = lib.tensor(W)

    def f(x: Any) -> Any:
        return F(lib).conv2d(x[None], w, padding=1).pow(2).sum()

    return [lib.func.vmap(lib.func.grad(f))(lib.tensor(X))]


def vmap_grad_w(lib: Any) -> list:
    def f(w: Any, x: Any) -> Any:
        return F(lib).conv2d(x[None], w, padding=1).pow(2).sum()

    return [lib.func.vmap(lib.func.grad(f), in_dims=(None, 0))(lib.tensor(W), lib.tensor(X))]


def padded_conv(lib: Any, mode: str) -> list:
    conv = lib.nn.Conv2d(4, 6, 3, padding=1, padding_mode=mode).double()
    return [conv(lib.tensor(X))]


def max_unpool(lib: Any) -> list:
    out, idx = F(lib).max_pool2d(cl(lib, X), 2, return_indices=True)
    return [F(lib).max_unpool2d(out, idx, 2)]


CASES: dict[str, Any] = {
    # convolution gradients (task part 2)
    "double_backward": double_backward,
    "tconv_grads": tconv_grads,
    "tconv_grads_cl": lambda lib: tconv_grads(lib, True),
    "tconv_grads_weight_cl": lambda lib: tconv_grads(lib, weight_cl=True),
    "conv3d_cl_grads": conv3d_cl_grads,
    "vmap_grad_conv_x": vmap_grad_x,
    "vmap_grad_conv_w": vmap_grad_w,
    "conv_cl_grad": lambda lib: _grad(lib, lambda x: F(lib).conv2d(x, lib.tensor(W)), cl(lib, X)),
    # other ops whose result PyTorch may lay out otherwise than row-major (part 3)
    "maxpool_cl": lambda lib: [F(lib).max_pool2d(cl(lib, X), 2)],
    "maxpool_idx_cl": lambda lib: list(F(lib).max_pool2d(cl(lib, X), 2, return_indices=True)),
    "avgpool_cl": lambda lib: [F(lib).avg_pool2d(cl(lib, X), 2)],
    "adaptive_avg_cl": lambda lib: [F(lib).adaptive_avg_pool2d(cl(lib, X), 3)],
    "adaptive_max_cl": lambda lib: [F(lib).adaptive_max_pool2d(cl(lib, X), 3)],
    "interp_nearest_cl": lambda lib: [F(lib).interpolate(cl(lib, X), scale_factor=2)],
    "interp_bilinear_cl": lambda lib: [
        F(lib).interpolate(cl(lib, X), scale_factor=2, mode="bilinear")
    ],
    "interp_bicubic_cl": lambda lib: [
        F(lib).interpolate(cl(lib, X), scale_factor=2, mode="bicubic")
    ],
    "batch_norm_cl": lambda lib: [F(lib).batch_norm(cl(lib, X), None, None, training=True)],
    "group_norm_cl": lambda lib: [F(lib).group_norm(cl(lib, X), 2)],
    "instance_norm_cl": lambda lib: [F(lib).instance_norm(cl(lib, X))],
    "layer_norm_cl": lambda lib: [F(lib).layer_norm(cl(lib, X), (6,))],
    "pixel_shuffle": lambda lib: [F(lib).pixel_shuffle(lib.tensor(X), 2)],
    "pixel_shuffle_cl": lambda lib: [F(lib).pixel_shuffle(cl(lib, X), 2)],
    "pixel_unshuffle_cl": lambda lib: [F(lib).pixel_unshuffle(cl(lib, X), 2)],
    "unfold": lambda lib: [F(lib).unfold(lib.tensor(X), 3)],
    "unfold_cl": lambda lib: [F(lib).unfold(cl(lib, X), 3)],
    "fold": lambda lib: [F(lib).fold(F(lib).unfold(lib.tensor(X), 3), (6, 6), 3)],
    "conv_reflect": lambda lib: padded_conv(lib, "reflect"),
    "conv_circular": lambda lib: padded_conv(lib, "circular"),
    "conv_cl": lambda lib: [F(lib).conv2d(cl(lib, X), lib.tensor(W))],
    "pad_reflect_cl": lambda lib: [F(lib).pad(cl(lib, X), (1, 1, 1, 1), mode="reflect")],
    "pad_const_cl": lambda lib: [F(lib).pad(cl(lib, X), (1, 1, 1, 1))],
    "embedding_bag": lambda lib: [F(lib).embedding_bag(lib.tensor(IDX), lib.tensor(M))],
    "embedding": lambda lib: [F(lib).embedding(lib.tensor(IDX), lib.tensor(M))],
    "qr": lambda lib: list(lib.linalg.qr(lib.tensor(M))),
    "qr_complete": lambda lib: list(lib.linalg.qr(lib.tensor(M), mode="complete")),
    "svd": lambda lib: list(lib.linalg.svd(lib.tensor(M), full_matrices=False)),
    "svd_full": lambda lib: list(lib.linalg.svd(lib.tensor(M))),
    "eigh": lambda lib: list(lib.linalg.eigh(lib.tensor(M.T @ M))),
    "eig": lambda lib: list(lib.linalg.eig(lib.tensor(M.T @ M))),
    "inv": lambda lib: [lib.linalg.inv(lib.tensor(M.T @ M))],
    "solve": lambda lib: [lib.linalg.solve(lib.tensor(M.T @ M), lib.tensor(M.T))],
    "cholesky": lambda lib: [lib.linalg.cholesky(lib.tensor(M.T @ M))],
    "lu_factor": lambda lib: list(lib.linalg.lu_factor(lib.tensor(M.T @ M))),
    "lstsq": lambda lib: [lib.linalg.lstsq(lib.tensor(M), lib.tensor(M[:, :2])).solution],
    "pinv": lambda lib: [lib.linalg.pinv(lib.tensor(M))],
    "matmul_t": lambda lib: [(lib.tensor(M) @ lib.tensor(M.T)).t()],
    "bmm_t": lambda lib: [lib.bmm(lib.tensor(X[0]), lib.tensor(X[1]).transpose(1, 2))],
    "matmul_tt": lambda lib: [lib.tensor(M).t() @ lib.tensor(M)],
    "expand_contiguous": lambda lib: [lib.tensor(M[:1]).expand(3, 4).contiguous()],
    "expand_clone": lambda lib: [lib.tensor(M[:1]).expand(3, 4).clone()],
    "permute_clone": lambda lib: [lib.tensor(X).permute(0, 2, 3, 1).clone()],
    "permute_add": lambda lib: [lib.tensor(X).permute(0, 2, 3, 1) + 1],
    "cl_add_row_major": lambda lib: [cl(lib, X) + lib.tensor(X)],
    "dropout_cl": lambda lib: [F(lib).dropout(cl(lib, X), 0.0)],
    "softmax_cl": lambda lib: [F(lib).softmax(cl(lib, X), 1)],
    "cumsum_cl": lambda lib: [cl(lib, X).cumsum(1)],
    "sum_cl_keepdim": lambda lib: [cl(lib, X).sum(1, keepdim=True)],
    "cat_cl": lambda lib: [lib.cat([cl(lib, X), cl(lib, X)], 1)],
    "stack_t": lambda lib: [lib.stack([lib.tensor(M).t(), lib.tensor(M).t()])],
    "sort_t": lambda lib: list(lib.tensor(M).t().sort(1)),
    "topk_t": lambda lib: list(lib.tensor(M).t().topk(2, 1)),
    "tril_t": lambda lib: [lib.tensor(M).t().tril()],
    "triu_cl": lambda lib: [cl(lib, X).triu()],
    "where_cl": lambda lib: [lib.where(cl(lib, X) > 0, cl(lib, X), 0.0)],
    "fft_t": lambda lib: [lib.fft.fft(lib.tensor(M).t())],
    "rfft2_cl": lambda lib: [lib.fft.rfft2(cl(lib, X))],
    "max_unpool_cl": max_unpool,
    "grid_sample_cl": lambda lib: [
        F(lib).grid_sample(
            cl(lib, X), lib.zeros(2, 3, 3, 2, dtype=lib.float64), align_corners=False
        )
    ],
    "interp_grad_cl": lambda lib: _grad(
        lib, lambda x: F(lib).interpolate(x, scale_factor=2, mode="bilinear"), cl(lib, X)
    ),
    "maxpool_grad_cl": lambda lib: _grad(lib, lambda x: F(lib).max_pool2d(x, 2), cl(lib, X)),
    "batch_norm_grad_cl": lambda lib: _grad(
        lib, lambda x: F(lib).batch_norm(x, None, None, training=True), cl(lib, X)
    ),
}

# (what PyTorch does that chainrule does not, yet: the reason for each strict xfail)
GAPS = {
    "double_backward": "the second-order weight gradient: PyTorch's (9, 54, 3, 1)",
    # (sum_cl_keepdim, fft_t, rfft2_cl: mirrored in session 44)
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=GAPS[c])) if c in GAPS else c
        for c in CASES
    ],
)
def test_result_strides_as_pytorch(case: str) -> None:
    want = [lay(o) for o in CASES[case](torch)]
    got = [lay(o) for o in CASES[case](cr)]
    assert got == want
