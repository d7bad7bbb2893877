"""What a learner sees when inspecting the autograd graph, compared live with PyTorch:
``grad_fn.name()``, ``repr(grad_fn)``, and the structure of ``next_functions`` (how many
entries, which are None, which are a leaf's ``AccumulateGrad``, the names of the nodes
reached), for the expressions that PyTorch's tutorials and courses print."""

from __future__ import annotations

import gc
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import accumulate_grad

ACC = "torch::autograd::AccumulateGrad"
RNG = np.random.default_rng(0)
DATA = {
    "a": RNG.standard_normal(3),
    "b": RNG.standard_normal(3),
    "A": RNG.standard_normal((2, 3)),
    "B": RNG.standard_normal((3, 4)),
    "X": RNG.standard_normal((2, 3, 4)),
    "Y": RNG.standard_normal((2, 4, 5)),
    "img": RNG.standard_normal((2, 3, 5, 5)),
    "W": RNG.standard_normal((4, 3, 3, 3)),
}


def _env(lib):
    """The leaves (float64, requiring grad) and the modules of one library."""
    leaves = {k: lib.tensor(v, dtype=lib.float64, requires_grad=True) for k, v in DATA.items()}
    return SimpleNamespace(lib=lib, nn=lib.nn, F=lib.nn.functional, **leaves)


def _my_fn(lib):
    class MyFn(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return MyFn


def _mlp_loss(m):
    lin1, lin2 = m.nn.Linear(3, 3).double(), m.nn.Linear(3, 3).double()
    return m.F.cross_entropy(lin2(m.lib.relu(lin1(m.A))), m.lib.tensor([0, 1]))


# Expressions from tutorials and courses, written once for both libraries.
EXPRS = {
    "add": lambda m: m.a + m.b,
    "add_scalar": lambda m: m.a + 2,
    "radd": lambda m: 2 + m.a,
    "sub": lambda m: m.a - m.b,
    "sub_scalar": lambda m: m.a - 1.5,
    "sub_data": lambda m: m.a.detach() - m.b,
    "mul": lambda m: m.a * m.b,
    "mul_scalar": lambda m: m.a * 2,
    "rmul": lambda m: 3.0 * m.a,
    "div": lambda m: m.a / m.b,
    "div_scalar": lambda m: m.a / 2,
    "rdiv": lambda m: 1 / m.a,
    "rdiv_scalar": lambda m: 2.0 / m.a,
    "neg": lambda m: -m.a,
    "pow": lambda m: m.a**2,
    "pow_tensor": lambda m: m.a.abs() ** m.b,
    "rpow": lambda m: 2**m.a,
    "exp": lambda m: m.a.exp(),
    "log": lambda m: m.a.abs().log(),
    "log2": lambda m: m.a.abs().log2(),
    "log10": lambda m: m.a.abs().log10(),
    "log1p": lambda m: m.a.abs().log1p(),
    "logaddexp2": lambda m: m.lib.logaddexp2(m.a, m.b),
    "add_alpha": lambda m: m.a.add(m.b, alpha=0.5),
    "sub_alpha": lambda m: m.lib.sub(m.a, m.b, alpha=3),
    "rsub_number": lambda m: 2 - m.a,
    "rsub_function": lambda m: m.lib.rsub(m.a, 2.5),
    "bfloat16_mul_exp": lambda m: (m.a.bfloat16() * m.b.bfloat16()).exp(),
    "bfloat16_scalar_ops": lambda m: (m.a.bfloat16() * 2 + 1.7).tanh() ** 3,
    "sqrt": lambda m: m.a.abs().sqrt(),
    "abs": lambda m: m.a.abs(),
    "dot": lambda m: m.a @ m.b,
    "mv": lambda m: m.A @ m.a,
    "mm": lambda m: m.A.mm(m.B),
    "matmul_2d": lambda m: m.lib.matmul(m.A, m.B),
    "bmm": lambda m: m.lib.bmm(m.X, m.Y),
    "conv2d": lambda m: m.nn.Conv2d(3, 4, 3).double()(m.img),
    "conv2d_no_bias": lambda m: m.F.conv2d(m.img.detach(), m.W),
    "relu": lambda m: m.a.relu(),
    "sigmoid": lambda m: m.lib.sigmoid(m.a),
    "tanh": lambda m: m.a.tanh(),
    "gelu": lambda m: m.F.gelu(m.a),
    "softmax": lambda m: m.F.softmax(m.A, dim=1),
    "log_softmax": lambda m: m.F.log_softmax(m.A, dim=1),
    "nll_loss": lambda m: m.F.nll_loss(m.F.log_softmax(m.A, 1), m.lib.tensor([0, 2])),
    "sum": lambda m: m.a.sum(),
    "sum_dim": lambda m: m.A.sum(dim=1),
    "mean": lambda m: m.a.mean(),
    "mean_dim": lambda m: m.A.mean(dim=1),
    "max": lambda m: m.a.max(),
    "min": lambda m: m.A.min(),
    "amax_dim": lambda m: m.A.amax(1),
    "view": lambda m: m.A.view(6),
    "reshape": lambda m: m.A.reshape(3, 2),
    "flatten": lambda m: m.X.flatten(1),
    "t": lambda m: m.A.t(),
    "transpose_3d": lambda m: m.X.transpose(1, 2),
    "permute": lambda m: m.X.permute(2, 0, 1),
    "expand": lambda m: m.a.expand(2, 3),
    "index_int": lambda m: m.A[0],
    "index_column": lambda m: m.A[:, 0],
    "index_slice": lambda m: m.A[:, 1:],
    "index_step": lambda m: m.A[::2],
    "index_numpy_int": lambda m: m.A[np.int64(1)],
    "index_0d_tensor": lambda m: m.A[m.lib.tensor(1)],
    "index_ellipsis": lambda m: m.X[..., 0],
    "index_none": lambda m: m.A[1:, None],  # (PyTorch's chain listed since session 45)
    "index_tensor": lambda m: m.a[m.lib.tensor([0, 2])],
    "index_mask": lambda m: m.a[m.a > 0],
    "cat": lambda m: m.lib.cat([m.a, m.b]),
    "cat_data": lambda m: m.lib.cat([m.a, m.b.detach()]),
    "split": lambda m: m.A.split(1)[0],
    "clone": lambda m: m.a.clone(),
    "to_dtype": lambda m: m.a.to(m.lib.float32),
    "float": lambda m: m.a.float(),
    "dropout": lambda m: m.F.dropout(m.a, 0.5, training=True),
    "bn_train": lambda m: m.nn.BatchNorm2d(3).double().train()(m.img),
    "layer_norm": lambda m: m.nn.LayerNorm(3).double()(m.A),
    "layer_norm_plain": lambda m: m.F.layer_norm(m.A, (3,)),
    "group_norm": lambda m: m.F.group_norm(m.Y, 2),
    "group_norm_affine": lambda m: m.F.group_norm(m.Y, 2, m.Y[0, :, 0], m.Y[1, :, 1]),
    "group_norm_module": lambda m: m.nn.GroupNorm(2, 4).double()(m.Y),
    "group_norm_weight_only": lambda m: m.F.group_norm(m.img, 3, m.a),
    "group_norm_strided": lambda m: m.F.group_norm(m.Y.transpose(1, 2), 5),
    "group_norm_channels_last": lambda m: m.F.group_norm(
        m.img.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), 3, m.W[0, :, 0, 0], m.a
    ),
    "instance_norm": lambda m: m.F.instance_norm(m.Y),
    "instance_norm_affine": lambda m: m.F.instance_norm(
        m.Y, None, None, m.Y[0, :, 0], m.Y[1, :, 1]
    ),
    "instance_norm_module": lambda m: m.nn.InstanceNorm2d(3, affine=True).double()(m.img),
    "instance_norm_eval_stats": lambda m: (
        m.nn.InstanceNorm1d(4, affine=True, track_running_stats=True).double().eval()(m.Y)
    ),
    "embedding": lambda m: m.nn.Embedding(5, 3).double()(m.lib.tensor([1, 2])),
    "max_pool2d": lambda m: m.F.max_pool2d(m.img, 2),
    "my_function": lambda m: _my_fn(m.lib).apply(m.a),
    "detach": lambda m: m.a.detach() * m.b,
    "where": lambda m: m.lib.where(m.a > 0, m.a, m.b),
    "where_scalar": lambda m: m.lib.where(m.a > 0, m.a, 0.0),
    "maximum": lambda m: m.lib.maximum(m.a, m.b.detach()),
    "logaddexp": lambda m: m.lib.logaddexp(m.a, m.b),
    "bce_none": lambda m: m.F.binary_cross_entropy(
        m.a.sigmoid(), m.b.detach().sigmoid(), reduction="none"
    ),
    "mse_loss": lambda m: m.F.mse_loss(m.a, m.b),
    "mse_loss_sum_target": lambda m: m.F.mse_loss(m.a.tanh(), m.b.detach(), reduction="sum"),
    "mse_loss_none": lambda m: m.nn.MSELoss(reduction="none")(m.A, m.A.detach() * 2),
    "silu": lambda m: m.F.silu(m.a * 2),
    # views are named after the op that made them (one computation, several names)
    "unsqueeze": lambda m: m.a.unsqueeze(0),
    "squeeze_dim": lambda m: m.a.unsqueeze(0).squeeze(0),
    "squeeze_all": lambda m: m.X.unsqueeze(1).squeeze(),
    "squeeze_dims": lambda m: m.X.unsqueeze(1).squeeze((0, 1)),
    "transpose_2d": lambda m: m.A.transpose(0, 1),
    "swapaxes": lambda m: m.X.swapaxes(0, 2),
    "permute_2d": lambda m: m.A.permute(1, 0),
    "T_2d": lambda m: m.A.T,
    "mT": lambda m: m.X.mT,
    "t_1d": lambda m: m.a.t(),
    "movedim": lambda m: m.X.movedim(0, -1),
    "contiguous": lambda m: m.A.t().contiguous(),
    "pad_constant": lambda m: m.F.pad(m.A, (1, 2)),
    "tile": lambda m: m.A.tile(2),
    # single nodes under PyTorch's names (session 22)
    "stack": lambda m: m.lib.stack([m.a, m.b]),
    "stack_dim1": lambda m: m.lib.stack([m.A, m.A * 2], 1),
    "unbind": lambda m: m.A.unbind(1)[1],
    "masked_fill": lambda m: m.A.masked_fill(m.A > 0, 0.0),
    "masked_fill_tensor_value": lambda m: m.A.masked_fill(m.A > 0, m.a.sum()),
    "tril": lambda m: m.A.tril(),
    "triu": lambda m: m.A.triu(1),
    "rsqrt": lambda m: m.a.abs().rsqrt(),
    "sign": lambda m: m.a.sign() * m.b,
    "div_floor": lambda m: m.lib.div(m.a, m.b, rounding_mode="floor"),
    "leaky_relu": lambda m: m.F.leaky_relu(m.a, 0.2),
    "elu": lambda m: m.F.elu(m.A),
    "selu": lambda m: m.F.selu(m.A),
    "celu": lambda m: m.F.celu(m.A, 0.5),
    "logsigmoid": lambda m: m.F.logsigmoid(m.a),
    "mish": lambda m: m.F.mish(m.a),
    "hardshrink": lambda m: m.F.hardshrink(m.a),
    "softshrink": lambda m: m.F.softshrink(m.a),
    "threshold": lambda m: m.F.threshold(m.a, 0.1, 2.0),
    "max_dim": lambda m: m.A.max(dim=1)[0],
    "min_dim_keepdim": lambda m: m.A.min(0, keepdim=True).values,
    "sort": lambda m: m.A.sort(1, descending=True)[0],
    "topk": lambda m: m.A.topk(2)[0],
    "cummax": lambda m: m.A.cummax(1)[0],
    "median_dim": lambda m: m.A.median(1)[0],
    "kthvalue": lambda m: m.A.kthvalue(1, 0)[0],
    # single nodes under PyTorch's names (session 23)
    "index_select": lambda m: m.A.index_select(1, m.lib.tensor([2, 0, 2])),
    "index_select_0d": lambda m: m.a.sum().index_select(0, m.lib.tensor([0])),
    "index_add": lambda m: m.A.index_add(1, m.lib.tensor([2, 0]), m.A[:, 1:] * 2, alpha=2.0),
    "index_add_const_source": lambda m: m.A.index_add(0, m.lib.tensor([1]), m.A.detach()[:1]),
    "trace": lambda m: m.A.trace(),
    "trace_product": lambda m: (m.A @ m.B[:, :2]).trace(),
    "lerp_scalar": lambda m: m.a.lerp(m.b, 0.3),
    "lerp_scalar_high": lambda m: m.lib.lerp(m.a, m.b.detach(), 0.8),
    "lerp_tensor": lambda m: m.A.lerp(m.a, m.b.sigmoid()),
    "lerp_tensor_const_weight": lambda m: m.a.lerp(m.b, m.b.detach().sigmoid()),
    "addcmul": lambda m: m.a.addcmul(m.b, m.A, value=0.5),
    "addcmul_const": lambda m: m.lib.addcmul(m.a, m.b.detach(), m.b * 2),
    "addcdiv": lambda m: m.A.addcdiv(m.a, m.b.exp(), value=-2),
    "addcdiv_const_input": lambda m: m.a.detach().addcdiv(m.b, m.a.detach() + 3),
    # single reduction nodes under PyTorch's names (session 24)
    "logsumexp": lambda m: m.A.logsumexp(1),
    "logsumexp_dims_keepdim": lambda m: m.lib.logsumexp(m.X * 2, (0, 2), keepdim=True),
    "var": lambda m: m.A.var(),
    "var_dim_correction": lambda m: m.X.var((0, 2), correction=0, keepdim=True),
    "std": lambda m: m.A.std(1),
    "std_unbiased_false": lambda m: m.lib.std(m.a.exp(), unbiased=False),
    "glu": lambda m: m.F.glu(m.X, -1),
    "glu_dim0": lambda m: m.F.glu(m.Y * 2, 0),
    # scaled products, masked_select, var_mean/std_mean as one node each (session 24)
    "addmm": lambda m: m.lib.addmm(m.B[0], m.A, m.B, beta=0.5, alpha=2),
    "addmm_const_input": lambda m: m.lib.addmm(m.B.detach()[0], m.A, m.B),
    "addmm_const_mat2": lambda m: m.lib.addmm(m.B[0] * 2, m.A.exp(), m.B.detach(), beta=0),
    "addmm_inplace": lambda m: (m.A @ m.B).addmm_(m.A, m.B.detach(), alpha=3),
    "addmv": lambda m: m.lib.addmv(m.A[:, 0], m.A, m.a, alpha=-1),
    "baddbmm": lambda m: m.lib.baddbmm(m.X[:, :, :1], m.X, m.Y, beta=2),
    "addbmm": lambda m: m.lib.addbmm(m.a[:, None], m.X, m.Y, alpha=0.5),
    "masked_select": lambda m: m.A.masked_select(m.A > 0),
    "masked_select_broadcast": lambda m: m.lib.masked_select(m.a * 2, m.A.detach() > 0),
    "var_mean_var": lambda m: m.lib.var_mean(m.X, 1)[0],
    "var_mean_mean": lambda m: m.lib.var_mean(m.A)[1],
    "std_mean_std": lambda m: m.lib.std_mean(m.X, (0, 2), keepdim=True)[0],
    "std_mean_mean": lambda m: m.lib.std_mean(m.a.exp(), unbiased=False)[1],
    # smooth L1 / Huber as one node for every reduction; beta = 0 is abs + mean, as torch
    "smooth_l1_loss": lambda m: m.F.smooth_l1_loss(m.a, m.b),
    "smooth_l1_loss_none": lambda m: m.F.smooth_l1_loss(m.A.exp(), m.A.detach(), reduction="none"),
    "smooth_l1_loss_sum": lambda m: m.nn.SmoothL1Loss(reduction="sum", beta=0.3)(m.a, m.b * 2),
    "smooth_l1_loss_beta0": lambda m: m.F.smooth_l1_loss(m.a, m.b, beta=0.0),
    "huber_loss": lambda m: m.F.huber_loss(m.a, m.b, delta=0.5),
    "huber_loss_none": lambda m: m.nn.HuberLoss(reduction="none")(m.A.detach(), m.A.tanh()),
    "huber_loss_sum": lambda m: m.F.huber_loss(m.X, m.X.detach() * 2, reduction="sum"),
    "huber_loss_weight": lambda m: m.F.huber_loss(m.a, m.b, weight=m.a.detach() * 0 + 2),
    # reflect / replicate padding as one node (negative pads crop inside it, as torch)
    "pad_reflect_1d": lambda m: m.F.pad(m.X, (2, 1), mode="reflect"),
    "pad_reflect_2d": lambda m: m.F.pad(m.img, (1, 2, 3, 0), mode="reflect"),
    "pad_reflect_3d": lambda m: m.F.pad(m.img, (1, 1, 2, 2, 1, 0), mode="reflect"),
    "pad_reflect_crop": lambda m: m.F.pad(m.X.exp(), (-1, 3), mode="reflect"),
    "pad_replicate_1d": lambda m: m.nn.ReplicationPad1d(3)(m.A),
    "pad_replicate_2d": lambda m: m.F.pad(m.img * 2, (2, 2, 1, 1), mode="replicate"),
    "pad_replicate_3d": lambda m: m.F.pad(m.img[None], (1, 0, 0, 1, 2, 2), mode="replicate"),
    "reflection_pad2d": lambda m: m.nn.ReflectionPad2d(1)(m.img),
    # interpolate: one node per mode, as torch (nearest saves no tensor; 'area', below, is
    # torch's adaptive average pooling)
    "interp_nearest_1d": lambda m: m.F.interpolate(m.X, scale_factor=2),
    "interp_nearest_2d": lambda m: m.F.interpolate(m.img, scale_factor=2, mode="nearest"),
    "interp_nearest_2d_frac": lambda m: m.F.interpolate(m.img.exp(), scale_factor=(1.5, 0.6)),
    "interp_nearest_2d_size": lambda m: m.nn.Upsample(size=(7, 3))(m.img),
    "interp_nearest_3d": lambda m: m.F.interpolate(m.img[None], size=(3, 4, 6)),
    "interp_nearest_exact_1d": lambda m: m.F.interpolate(m.X, size=7, mode="nearest-exact"),
    "interp_nearest_exact_2d": lambda m: m.F.interpolate(
        m.img, scale_factor=1.7, mode="nearest-exact"
    ),
    "interp_nearest_exact_3d": lambda m: m.F.interpolate(
        m.img[None], scale_factor=2, mode="nearest-exact"
    ),
    "interp_linear": lambda m: m.F.interpolate(m.X, scale_factor=2, mode="linear"),
    "interp_linear_align": lambda m: m.F.interpolate(
        m.X, size=9, mode="linear", align_corners=True
    ),
    "interp_bilinear": lambda m: m.F.interpolate(m.img, scale_factor=2, mode="bilinear"),
    "interp_bilinear_align": lambda m: m.F.interpolate(
        m.img * 2, size=(8, 3), mode="bilinear", align_corners=True
    ),
    "interp_bilinear_recompute": lambda m: m.F.interpolate(
        m.img, scale_factor=1.3, mode="bilinear", recompute_scale_factor=True
    ),
    "upsampling_bilinear2d": lambda m: m.nn.UpsamplingBilinear2d(scale_factor=2)(m.img),
    "interp_bilinear_aa": lambda m: m.F.interpolate(
        m.img, size=(3, 2), mode="bilinear", antialias=True
    ),
    "interp_bicubic": lambda m: m.F.interpolate(m.img, scale_factor=2, mode="bicubic"),
    "interp_bicubic_aa": lambda m: m.F.interpolate(
        m.img, scale_factor=0.5, mode="bicubic", antialias=True
    ),
    "interp_trilinear": lambda m: m.F.interpolate(m.img[None], scale_factor=2, mode="trilinear"),
    # an antialiased resize that changes no axis is still one node (a copy), as torch
    "interp_bilinear_aa_same_size": lambda m: m.F.interpolate(
        m.img, size=(5, 5), mode="bilinear", antialias=True
    ),
    "interp_bicubic_aa_same_size_align": lambda m: m.F.interpolate(
        m.img * 2, scale_factor=1, mode="bicubic", antialias=True, align_corners=True
    ),
    # 'area' is torch's adaptive average pooling: 1-d pools a 1-row plane, a 1x1 output is a mean
    "interp_area_1d": lambda m: m.F.interpolate(m.X, size=3, mode="area"),
    "interp_area_1d_one": lambda m: m.F.interpolate(m.X, size=1, mode="area"),
    "interp_area_2d": lambda m: m.F.interpolate(m.img, size=(2, 3), mode="area"),
    "interp_area_2d_frac": lambda m: m.F.interpolate(m.img.exp(), scale_factor=0.7, mode="area"),
    "interp_area_2d_recompute": lambda m: m.F.interpolate(
        m.img, scale_factor=(1.5, 0.45), mode="area", recompute_scale_factor=True
    ),
    "interp_area_2d_same": lambda m: m.F.interpolate(m.img, size=(5, 5), mode="area"),
    "interp_area_2d_one": lambda m: m.nn.Upsample(size=1, mode="area")(m.img),
    "interp_area_3d": lambda m: m.F.interpolate(m.img[None], size=(1, 3, 2), mode="area"),
    "interp_area_3d_one": lambda m: m.F.interpolate(m.img[None], size=(1, 1, 1), mode="area"),
    # adaptive average pooling: one node (the area map above); a 1-element output is a mean
    "adaptive_avg_pool1d": lambda m: m.F.adaptive_avg_pool1d(m.X, 3),
    "adaptive_avg_pool1d_one": lambda m: m.nn.AdaptiveAvgPool1d(1)(m.X),
    "adaptive_avg_pool2d": lambda m: m.F.adaptive_avg_pool2d(m.img, (2, 3)),
    "adaptive_avg_pool2d_none": lambda m: m.F.adaptive_avg_pool2d(m.img * 2, (None, 4)),
    "adaptive_avg_pool2d_same": lambda m: m.F.adaptive_avg_pool2d(m.img, 5),
    "adaptive_avg_pool2d_one": lambda m: m.nn.AdaptiveAvgPool2d((1, 1))(m.img),
    "adaptive_avg_pool2d_none_one": lambda m: m.F.adaptive_avg_pool2d(m.img[:, :, :1], (None, 1)),
    "adaptive_avg_pool2d_unbatched": lambda m: m.F.adaptive_avg_pool2d(m.img[0], (3, 2)),
    "adaptive_avg_pool3d": lambda m: m.F.adaptive_avg_pool3d(m.img[None], (2, None, 3)),
    "adaptive_avg_pool3d_one": lambda m: m.nn.AdaptiveAvgPool3d(1)(m.img[None]),
    "adaptive_avg_pool3d_unbatched": lambda m: m.F.adaptive_avg_pool3d(m.img, (2, 2, 2)),
    # masked_scatter: one node listing x and source (the mask broadcast, x too)
    "masked_scatter": lambda m: m.A.masked_scatter(m.A.detach() > 0, m.a * 2),
    "masked_scatter_bcast_mask": lambda m: m.A.masked_scatter(m.a.detach() > 0, m.A * 2),
    "masked_scatter_bcast_x": lambda m: m.a.masked_scatter(m.A.detach() > 0, m.A.exp()),
    "masked_scatter_const_source": lambda m: m.A.masked_scatter(m.A.detach() < 0, m.A.detach()),
    "masked_scatter_inplace": lambda m: (m.A * 1).masked_scatter_(m.A.detach() > 0, m.B),
    # binary_cross_entropy_with_logits: one node listing input and target, every reduction
    "bce_logits": lambda m: m.F.binary_cross_entropy_with_logits(m.A, m.A.detach().sigmoid()),
    "bce_logits_target_grad": lambda m: m.F.binary_cross_entropy_with_logits(
        m.A * 2, m.A.sigmoid(), reduction="sum"
    ),
    "bce_logits_none_weights": lambda m: m.F.binary_cross_entropy_with_logits(
        m.A.tanh(),
        m.A.detach().sigmoid(),
        weight=m.b.detach().exp(),
        pos_weight=m.a.detach().exp(),
        reduction="none",
    ),
    "bce_logits_bcast_weight": lambda m: m.nn.BCEWithLogitsLoss(
        weight=m.A.detach()[:, :1].exp(), pos_weight=m.lib.tensor(2.0, dtype=m.lib.float64)
    )(m.A, m.A.detach().sigmoid()),
    "bce_logits_0d": lambda m: m.F.binary_cross_entropy_with_logits(
        m.a[0], m.b[1].detach().sigmoid(), reduction="none"
    ),
    # binary_cross_entropy: one node listing input and target, weight and reduction inside
    "bce_mean": lambda m: m.F.binary_cross_entropy(m.a.sigmoid(), m.b.detach().sigmoid()),
    "bce_sum_target_grad": lambda m: m.F.binary_cross_entropy(
        m.A.sigmoid(), m.A.tanh().abs(), reduction="sum"
    ),
    "bce_weight_none": lambda m: m.F.binary_cross_entropy(
        m.A.sigmoid(), m.A.detach().sigmoid(), weight=m.a.detach().exp(), reduction="none"
    ),
    "bce_loss_bcast_weight": lambda m: m.nn.BCELoss(weight=m.A.detach()[:, :1].exp())(
        m.A.sigmoid(), m.A.detach().sigmoid()
    ),
    "bce_0d": lambda m: m.F.binary_cross_entropy(m.a[0].sigmoid(), m.b[1].detach().sigmoid()),
}

# Where chainrule computes with other nodes than PyTorch (a fused op, or a composition of
# ops), the graphs cannot agree from names alone: what chainrule shows, checked to still
# differ from PyTorch (a fix is then noticed here).
DIFFERENT = {
    # batched matmul of 3-d tensors is one node: PyTorch reshapes around bmm / mm
    "matmul_3d": (lambda m: m.X @ m.Y, ("BmmBackward0", ((ACC, 0), (ACC, 0)))),
    "matmul_3d_2d": (
        lambda m: m.X @ m.B.t(),
        ("MmBackward0", ((ACC, 0), (("TBackward0", ((ACC, 0),)), 0))),
    ),
    # the fused linear node reads the weight itself: PyTorch's addmm reads TBackward0(weight)
    "linear_2d": (
        lambda m: m.nn.Linear(3, 4).double()(m.A),
        ("AddmmBackward0", ((ACC, 0), (ACC, 0), (ACC, 0))),
    ),
    # 3-d: torch's view / addmm / view, the fused node reading the weight itself (session 40)
    "linear_3d": (
        lambda m: m.nn.Linear(4, 2).double()(m.X),
        ("ViewBackward0", ((("AddmmBackward0", ((ACC, 0), ("ViewBackward0", 0), (ACC, 0))), 0),)),
    ),
    "linear_2d_no_bias": (
        lambda m: m.nn.Linear(3, 4, bias=False).double()(m.A),
        ("MmBackward0", ((ACC, 0), (ACC, 0))),
    ),
    # fused cross entropy: PyTorch's nll_loss reads a LogSoftmaxBackward0 node
    "cross_entropy": (
        lambda m: m.F.cross_entropy(m.A, m.lib.tensor([0, 2])),
        ("NllLossBackward0", ((ACC, 0),)),
    ),
    "mlp_loss": (
        _mlp_loss,
        (
            "NllLossBackward0",
            ((("AddmmBackward0", ((ACC, 0), ("ReluBackward0", 0), (ACC, 0))), 0),),
        ),
    ),
    # evaluation-mode batch norm is an affine composition
    "bn_eval": (
        lambda m: m.nn.BatchNorm2d(3).double().eval()(m.img),
        (
            "AddBackward0",
            (
                (("MulBackward0", (("AddBackward0", 0), ("ViewBackward0", 0))), 0),
                (("ViewBackward0", ((ACC, 0),)), 0),
            ),
        ),
    ),
}


def describe(node, depth=2):
    """``(name, ((child, output_nr), ...))`` of a graph node, children described to ``depth``
    levels (then by name); a leaf's node is ``ACC``."""
    name = node.name()
    if depth == 0 or name == ACC:
        return name
    out = []
    for child, nr in node.next_functions:
        if child is None:
            out.append((None, nr))
        elif child.name() == ACC:
            out.append((ACC, nr))
        else:
            out.append((describe(child, depth - 1), nr))
    return name, tuple(out)


def _both(expr):
    torch.manual_seed(0)
    cr.manual_seed(0)
    return expr(_env(torch)), expr(_env(cr))


@pytest.mark.parametrize("name", list(EXPRS))
def test_graph_matches_torch(name):
    t, c = _both(EXPRS[name])
    assert describe(c.grad_fn) == describe(t.grad_fn)
    # repr: "<NameBackward0 object at 0x...>"; a user Function's node names its module
    pattern = r"^<(?:(?:torch|chainrule)\.autograd\.function\.)?(\w+) object at 0x[0-9a-f]+>$"
    tm = re.match(pattern, repr(t.grad_fn))
    cm = re.match(pattern, repr(c.grad_fn))
    assert tm and cm and tm.group(1) == cm.group(1) == c.grad_fn.name()
    assert repr(c.grad_fn).startswith("<chainrule.") == repr(t.grad_fn).startswith("<torch.")


@pytest.mark.parametrize("name", list(DIFFERENT))
def test_known_differences_from_torch(name):
    expr, expected = DIFFERENT[name]
    t, c = _both(expr)
    assert describe(c.grad_fn) == expected
    assert describe(c.grad_fn) != describe(t.grad_fn)
    assert c.grad_fn.name() in repr(c.grad_fn)


def test_detach_and_leaves_have_no_grad_fn():
    for lib in (torch, cr):
        m = _env(lib)
        assert m.a.detach().grad_fn is None and m.a.grad_fn is None
        assert (m.a * 2).detach().grad_fn is None


def test_accumulate_grad_node_like_torch():
    views = []
    for lib in (torch, cr):
        m = _env(lib)
        y = m.a * 2
        acc = y.grad_fn.next_functions[0][0]
        assert acc is (m.a + 1).grad_fn.next_functions[0][0]  # one node per leaf
        assert acc.variable is m.a
        views.append((acc.name(), acc.next_functions, type(acc).__name__))
        assert re.match(r"^<AccumulateGrad object at 0x[0-9a-f]+>$", repr(acc))
    assert views[0] == views[1] == (ACC, (), "AccumulateGrad")


def _accumulate_grad_hook_log(lib):
    log = []
    w = lib.ones(3, requires_grad=True)
    w.register_hook(lambda g: log.append("tensor hook") or g + 1)
    acc = (w * 2).grad_fn.next_functions[0][0]
    pre = acc.register_prehook(lambda go: log.append(("pre", go[0].tolist())) or (go[0] * 10,))
    acc.register_hook(lambda gi, go: log.append(("post", gi, go[0].tolist(), w.grad.tolist())))
    (w * 2).sum().backward()
    pre.remove()
    (w * 2).sum().backward()  # accumulates: the post hook sees .grad after the sum
    acc.register_hook(lambda gi, go: (go[0],))
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        (w * 2).sum().backward()
    return log


def test_accumulate_grad_hooks_as_torch():
    """Pre hooks run after the leaf's tensor hooks and may replace the gradient; post hooks
    see ``()`` and the added gradient after ``.grad`` was written and must return None."""
    assert _accumulate_grad_hook_log(cr) == _accumulate_grad_hook_log(torch)


def test_accumulate_grad_dies_with_its_leaf():
    leaf = cr.ones(2, requires_grad=True)
    (leaf * 2).grad_fn.next_functions[0][0]  # noqa: B018 - creates the leaf's node
    key = id(leaf)
    assert key in accumulate_grad._NODES
    del leaf
    gc.collect()
    assert key not in accumulate_grad._NODES


def test_walking_next_functions_reaches_every_parameter():
    """A course exercise: walk the graph of an MLP loss down to the AccumulateGrad nodes;
    the leaves found are the model's parameters and the input."""
    found = []
    for lib in (torch, cr):
        torch.manual_seed(0)
        lin = lib.nn.Linear(3, 2).double()
        x = lib.tensor(DATA["A"], dtype=lib.float64, requires_grad=True)
        loss = lib.nn.functional.mse_loss(lib.tanh(lin(x)), lib.zeros(2, 2, dtype=lib.float64))
        stack, seen, leaves = [loss.grad_fn], set(), []
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            if node.name() == ACC:
                leaves.append(node.variable)
            stack.extend(n for n, _ in node.next_functions)
        ids = {id(t) for t in leaves}
        assert ids == {id(lin.weight), id(lin.bias), id(x)}
        found.append(len(leaves))
    assert found[0] == found[1] == 3


# Circular padding: torch composes it from slice copies (a chain of CopySlices and
# SliceBackward0 nodes, about three per padded dim); chainrule records one node under the
# chain's top name, which reads the input directly and saves nothing, as torch's chain.
CIRCULAR_PADS = {
    "pad_circular_1d": lambda m: m.F.pad(m.X, (2, 1), mode="circular"),
    "pad_circular_2d": lambda m: m.F.pad(m.img, (1, 2, 3, 0), mode="circular"),
    "pad_circular_3d": lambda m: m.F.pad(m.img, (1, 1, 2, 2, 1, 0), mode="circular"),
    "pad_circular_crop": lambda m: m.F.pad(m.X.exp(), (-1, 3), mode="circular"),
    "pad_circular_zero": lambda m: m.F.pad(m.X, (0, 0), mode="circular"),
}


@pytest.mark.parametrize("name", list(CIRCULAR_PADS))
def test_circular_pad_is_one_node_under_torchs_top_name(name):
    torch.manual_seed(0)
    tm, cm = _env(torch), _env(cr)
    t, c = CIRCULAR_PADS[name](tm), CIRCULAR_PADS[name](cm)
    assert c.grad_fn.name() == t.grad_fn.name() == "torch::autograd::CopySlices"
    assert repr(c.grad_fn).split(" object")[0] == repr(t.grad_fn).split(" object")[0]
    # torch's chain (a change there to one node is noticed here)
    assert describe(t.grad_fn.next_functions[-1][0], depth=0) == "SliceBackward0"
    inner = "ExpBackward0" if name.endswith("crop") else ACC
    assert describe(c.grad_fn, depth=1) == ("torch::autograd::CopySlices", ((inner, 0),))
    v = RNG.standard_normal(tuple(t.shape))
    t.backward(torch.tensor(v))
    c.backward(cr.tensor(v))
    leaf = "img" if name.endswith(("2d", "3d")) else "X"
    np.testing.assert_allclose(getattr(cm, leaf).grad.numpy(), getattr(tm, leaf).grad.numpy())
