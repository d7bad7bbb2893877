"""Result layouts: a survey of 80 more cases against PyTorch 2.13 (session 44).

Stacks and concatenations of channels-last inputs, elementwise ops of a transposed
convolution result, ``expand`` + ``contiguous``, the ``*_like`` factories of permuted and
strided inputs (``preserve_format``), ``clone`` / ``to(dtype)`` of non-contiguous inputs,
``where`` / ``lerp`` / ``addcmul`` / ``addcdiv`` of mixed layouts, layer / group / batch /
instance norm of channels-last inputs, ``conv_transpose2d``, ``grid_sample``,
``unfold`` / ``fold`` and more: each result's shape, strides and contiguity are PyTorch's.
(Found differing and mirrored in session 44: pooling of a transposed input, here
``avg_pool_t``; the rest already agreed.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(44)
X = _RNG.standard_normal((2, 4, 6, 6))
M = _RNG.standard_normal((5, 4))
W = _RNG.standard_normal((6, 4, 3, 3))
WT = _RNG.standard_normal((4, 3, 3, 3))
X3 = _RNG.standard_normal((2, 3, 4))


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def cl(lib: Any, a: Any) -> Any:
    """``a`` as a channels-last tensor."""
    return lib.tensor(a).contiguous(memory_format=lib.channels_last)


def conv(lib: Any) -> Any:
    """A convolution's result (channel-major memory in chainrule, marked)."""
    return F(lib).conv2d(lib.tensor(X), lib.tensor(W))


def perm(lib: Any) -> Any:
    """``X`` permuted to (N, H, W, C): a view laid out otherwise than row-major."""
    return lib.tensor(X).permute(0, 2, 3, 1)


CASES: dict[str, Any] = {
    "stack_cl0": lambda lib: [lib.stack([cl(lib, X), cl(lib, X)])],
    "stack_cl1": lambda lib: [lib.stack([cl(lib, X), cl(lib, X)], 1)],
    "stack_cl_last": lambda lib: [lib.stack([cl(lib, X), cl(lib, X)], -1)],
    "stack_mixed": lambda lib: [lib.stack([cl(lib, X), lib.tensor(X)])],
    "cat_cl0": lambda lib: [lib.cat([cl(lib, X), cl(lib, X)], 0)],
    "cat_cl2": lambda lib: [lib.cat([cl(lib, X), cl(lib, X)], 2)],
    "cat_mixed": lambda lib: [lib.cat([lib.tensor(X), cl(lib, X)], 1)],
    "cat_mixed2": lambda lib: [lib.cat([cl(lib, X), lib.tensor(X)], 1)],
    "cat_t": lambda lib: [lib.cat([lib.tensor(M).t(), lib.tensor(M).t()], 0)],
    "conv_mT_relu": lambda lib: [conv(lib).mT.relu()],
    "conv_mT_add": lambda lib: [conv(lib).mT + 1],
    "conv_mT_mul_conv": lambda lib: [conv(lib).mT * conv(lib)],
    "conv_mT_exp": lambda lib: [conv(lib).mT.exp()],
    "expand_contiguous_3d": lambda lib: [lib.tensor(X3[:, :1]).expand(2, 3, 4).contiguous()],
    "expand_contiguous_t": lambda lib: [lib.tensor(M[:1]).t().expand(4, 3).contiguous()],
    "expand_add": lambda lib: [lib.tensor(M[:1]).expand(5, 4) + 1],
    "empty_like_perm": lambda lib: [lib.empty_like(perm(lib))],
    "zeros_like_perm": lambda lib: [lib.zeros_like(perm(lib))],
    "ones_like_perm": lambda lib: [lib.ones_like(perm(lib), memory_format=lib.preserve_format)],
    "rand_like_perm": lambda lib: [lib.rand_like(perm(lib))],
    "randn_like_t": lambda lib: [lib.randn_like(lib.tensor(M).t())],
    "full_like_cl": lambda lib: [lib.full_like(cl(lib, X), 2.0)],
    "empty_like_step": lambda lib: [lib.empty_like(lib.tensor(X)[:, ::2])],
    "empty_like_perm_step": lambda lib: [lib.empty_like(perm(lib)[:, ::2])],
    "zeros_like_contig_fmt": lambda lib: [
        lib.zeros_like(perm(lib), memory_format=lib.contiguous_format)
    ],
    "clone_t": lambda lib: [lib.tensor(M).t().clone()],
    "clone_perm": lambda lib: [perm(lib).clone()],
    "clone_step_t": lambda lib: [lib.tensor(M)[::2].t().clone()],
    "clone_cl_fmt": lambda lib: [lib.tensor(X).clone(memory_format=lib.channels_last)],
    "to_dtype_t": lambda lib: [lib.tensor(M).t().to(lib.float32)],
    "to_dtype_perm": lambda lib: [perm(lib).to(lib.float32)],
    "to_dtype_step": lambda lib: [lib.tensor(M)[:, ::2].to(lib.float32)],
    "float_t": lambda lib: [lib.tensor(M).t().float()],
    "int_cl": lambda lib: [cl(lib, X).int()],
    "where_mixed": lambda lib: [lib.where(lib.tensor(X) > 0, cl(lib, X), lib.tensor(X))],
    "where_mixed2": lambda lib: [lib.where(cl(lib, X) > 0, lib.tensor(X), cl(lib, X))],
    "where_t": lambda lib: [lib.where(lib.tensor(M) > 0, lib.tensor(M.T).t(), 0.0)],
    "lerp_mixed": lambda lib: [lib.lerp(lib.tensor(X), cl(lib, X), 0.3)],
    "lerp_mixed2": lambda lib: [lib.lerp(cl(lib, X), lib.tensor(X), lib.tensor(X))],
    "addcmul_mixed": lambda lib: [lib.addcmul(lib.tensor(X), cl(lib, X), cl(lib, X))],
    "addcmul_mixed2": lambda lib: [
        lib.addcmul(cl(lib, X), lib.tensor(X), lib.tensor(X), value=0.5)
    ],
    "addcdiv_mixed": lambda lib: [lib.addcdiv(lib.tensor(X), cl(lib, X), cl(lib, X) + 3)],
    "layer_norm_cl": lambda lib: [F(lib).layer_norm(cl(lib, X), (6,))],
    "layer_norm_cl2": lambda lib: [F(lib).layer_norm(cl(lib, X), (6, 6))],
    "group_norm_cl": lambda lib: [F(lib).group_norm(cl(lib, X), 2)],
    "batch_norm_cl": lambda lib: [F(lib).batch_norm(cl(lib, X), None, None, training=True)],
    "batch_norm_cl_eval": lambda lib: [
        F(lib).batch_norm(
            cl(lib, X), lib.zeros(4, dtype=lib.float64), lib.ones(4, dtype=lib.float64)
        )
    ],
    "instance_norm_cl": lambda lib: [F(lib).instance_norm(cl(lib, X))],
    "conv_t_cl": lambda lib: [F(lib).conv_transpose2d(cl(lib, X), lib.tensor(WT))],
    "conv_t_cl_w": lambda lib: [
        F(lib).conv_transpose2d(
            lib.tensor(X), lib.tensor(WT).contiguous(memory_format=lib.channels_last)
        )
    ],
    "conv_cl": lambda lib: [F(lib).conv2d(cl(lib, X), lib.tensor(W))],
    "grid_sample_row": lambda lib: [
        F(lib).grid_sample(
            lib.tensor(X), lib.zeros(2, 3, 3, 2, dtype=lib.float64), align_corners=False
        )
    ],
    "grid_sample_cl": lambda lib: [
        F(lib).grid_sample(
            cl(lib, X), lib.zeros(2, 3, 3, 2, dtype=lib.float64), align_corners=False
        )
    ],
    "affine_grid": lambda lib: [
        F(lib).affine_grid(
            lib.tensor(np.tile(np.eye(2, 3), (2, 1, 1))), (2, 4, 6, 6), align_corners=False
        )
    ],
    "unfold_cl": lambda lib: [F(lib).unfold(cl(lib, X), 3)],
    "unfold_row": lambda lib: [F(lib).unfold(lib.tensor(X), 3)],
    "fold_t": lambda lib: [
        F(lib).fold(
            F(lib).unfold(lib.tensor(X), 3).transpose(1, 2).contiguous().transpose(1, 2), (6, 6), 3
        )
    ],
    "fold_row": lambda lib: [F(lib).fold(F(lib).unfold(lib.tensor(X), 3), (6, 6), 3)],
    "tensor_unfold_t": lambda lib: [lib.tensor(M).t().unfold(1, 2, 1)],
    "softmax_t": lambda lib: [lib.tensor(M).t().softmax(0)],
    "log_softmax_cl": lambda lib: [F(lib).log_softmax(cl(lib, X), -1)],
    "dropout_t": lambda lib: [F(lib).dropout(lib.tensor(M).t(), 0.0)],
    "gelu_cl": lambda lib: [F(lib).gelu(cl(lib, X))],
    "flip_t": lambda lib: [lib.tensor(M).t().flip(0)],
    "roll_t": lambda lib: [lib.tensor(M).t().roll(1, 0)],
    "masked_fill_t": lambda lib: [lib.tensor(M).t().masked_fill(lib.tensor(M).t() > 0, 0.0)],
    "clamp_cl": lambda lib: [cl(lib, X).clamp(-1, 1)],
    "pow_t_scalar": lambda lib: [lib.tensor(M).t() ** 2],
    "matmul_cl": lambda lib: [cl(lib, X) @ lib.tensor(X)],
    "linear_t": lambda lib: [F(lib).linear(lib.tensor(M).t(), lib.tensor(M).t())],
    "cumsum_t": lambda lib: [lib.tensor(M).t().cumsum(0)],
    "nan_to_num_t": lambda lib: [lib.tensor(M).t().nan_to_num()],
    "type_as_cl": lambda lib: [cl(lib, X).type_as(lib.tensor(M).float())],
    "avg_pool_t": lambda lib: [F(lib).avg_pool2d(lib.tensor(X).transpose(2, 3), 2)],
    "interp_t": lambda lib: [F(lib).interpolate(lib.tensor(X).transpose(2, 3), scale_factor=2)],
    "pad_const_cl": lambda lib: [F(lib).pad(cl(lib, X), (1, 1, 1, 1))],
    "embedding_t": lambda lib: [F(lib).embedding(lib.tensor([[0, 1], [2, 3]]).t(), lib.tensor(M))],
    "mse_none_t": lambda lib: [
        F(lib).mse_loss(lib.tensor(M).t(), lib.tensor(M.T), reduction="none")
    ],
    "sigmoid_conv_t": lambda lib: [conv(lib).transpose(1, 2).sigmoid()],
    "bn_conv": lambda lib: [F(lib).batch_norm(conv(lib), None, None, training=True).relu()],
}


def lay(t: Any) -> list:
    """Shape, strides and contiguity of ``t``."""
    return [tuple(t.shape), t.stride(), t.is_contiguous()]


@pytest.mark.parametrize("case", list(CASES))
def test_result_layouts_as_pytorch(case: str) -> None:
    want, got = CASES[case](torch), CASES[case](cr)
    assert [lay(o) for o in got] == [lay(o) for o in want]
    for g, w in zip(got, want, strict=True):
        if "rand" not in case and "empty" not in case:  # (random and uninitialized values)
            np.testing.assert_allclose(
                g.detach().numpy().astype(float), w.detach().numpy().astype(float), atol=1e-6
            )
