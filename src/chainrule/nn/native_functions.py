"""ATen's ``native_*`` root functions and ``torch.conv_tbc``, resolved lazily at the root.

``torch.native_batch_norm``, ``native_group_norm``, ``native_dropout``, ``native_norm``,
``native_channel_shuffle`` and ``conv_tbc`` (fairseq's time-batch-channel convolution), with
ATen's positional signatures and tuple results. Each output that PyTorch differentiates is
built from chainrule's differentiable ops; the saved statistics (``save_mean``,
``save_invstd``, group norm's ``mean``/``rstd``) and dropout's mask are constants. Where
PyTorch's CPU kernel crashes or reads out of bounds (batch norm in evaluation without running
statistics, parameters of the wrong size), these raise a clear error instead.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from ..autograd.lower_precision import autocast_lower_precision_op
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._raw_checks import tensor_argument as _tensor
from ..ops._util import constant, dim_range_error
from ..qtypes import scalar_type_name
from . import functional as F

__all__ = [
    "conv_tbc",
    "native_batch_norm",
    "native_channel_shuffle",
    "native_dropout",
    "native_group_norm",
    "native_norm",
]


def _int(op: str, name: str, pos: int, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be int, not {type(v).__name__}"
        )
    return int(v)


def _float(op: str, name: str, pos: int, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be float, not {type(v).__name__}"
        )
    return float(v)


def _bool(op: str, name: str, pos: int, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be bool, not {type(v).__name__}"
        )
    return bool(v)


def _float_kernel(op: str, kernel: str, x: Tensor) -> None:
    """PyTorch's CPU norm kernels take floating inputs only (NotImplementedError)."""
    if x._data.dtype.kind != "f" and not str(x.dtype).endswith("bfloat16"):
        raise NotImplementedError(
            f"{op}: \"{kernel}\" not implemented for '{scalar_type_name(x._data.dtype)}'"
        )


def _same_dtype(x: Tensor, *params: Tensor | None) -> None:
    """ATen's CPU norm kernels' mixed-dtype rule: every parameter has the input's dtype."""
    for p in params:
        if p is not None and p.dtype != x.dtype:
            if x._data.dtype == np.float32:
                raise RuntimeError(
                    "mixed dtype (CPU): expect parameter to have scalar type of Float"
                )
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _per_channel(op: str, name: str, v: Tensor | None, c: int) -> None:
    if v is not None and v.numel() != c:
        raise RuntimeError(
            f"{op}: expected {name} to have {c} elements (one per channel of the input), "
            f"but got {name} of shape {list(v.shape)}"
        )


def _invstd(var: Any, eps: float) -> Any:
    """1 / sqrt(var + eps), 0 where var + eps is 0 (ATen's batch-norm convention)."""
    xp = get_array_module(var)
    d = var + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / xp.sqrt(d)
    return xp.where(d == 0, xp.zeros_like(inv), inv).astype(var.dtype, copy=False)


# ------------------------------------------------------------------------ native_batch_norm
def native_batch_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.native_batch_norm``: ``(out, save_mean, save_invstd)``.

    In training, ``out`` is ``F.batch_norm`` over the batch statistics (differentiable in the
    input, weight and bias), ``save_mean``/``save_invstd`` are the per-channel mean and
    1/sqrt(biased var + eps) and the running statistics (when given) are updated in place
    with the unbiased variance. In evaluation, ``out`` uses the running statistics and the
    saved statistics are empty. Raises where PyTorch's kernel would read out of bounds or
    crash: parameters of the wrong size, evaluation without running statistics."""
    op = "native_batch_norm"
    x = _tensor(op, "input", 1, input)
    weight = _tensor(op, "weight", 2, weight, True)
    bias = _tensor(op, "bias", 3, bias, True)
    running_mean = _tensor(op, "running_mean", 4, running_mean, True)
    running_var = _tensor(op, "running_var", 5, running_var, True)
    training = _bool(op, "training", 6, training)
    momentum = _float(op, "momentum", 7, momentum)
    eps = _float(op, "eps", 8, eps)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if x.ndim < 2:
        raise dim_range_error(1, max(x.ndim, 1))  # a 0-d input crashes PyTorch's kernel
    _float_kernel(op, "batch_norm", x)
    _same_dtype(x, weight, bias, running_mean, running_var)
    c = x.shape[1]
    for name, v in (("weight", weight), ("bias", bias)):
        _per_channel(op, name, v, c)
    for name, v in (("running_mean", running_mean), ("running_var", running_var)):
        _per_channel(op, name, v, c)
    xp = get_array_module(x._data)
    empty = constant(xp.empty(0, dtype=x._data.dtype))
    if not training:
        if running_mean is None:
            raise RuntimeError(
                f"{op}: running_mean and running_var must be given when training=False "
                "(evaluation normalises with the running statistics)"
            )
        # PyTorch's order, (x - mean) * invstd * w + b: no cancellation for large w
        shape = (1, c) + (1,) * (x.ndim - 2)
        dt = x._data.dtype
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / xp.sqrt(running_var._data.astype(dt) + eps)
        out = (x - constant(running_mean._data.astype(dt).reshape(shape))) * constant(
            inv.astype(dt).reshape(shape)
        )
        if weight is not None:
            out = out * weight.reshape(shape)
        if bias is not None:
            out = out + bias.reshape(shape)
        return out, empty, constant(xp.empty(0, dtype=dt))
    if x.numel() == 0:
        raise RuntimeError(
            f"{op}: input tensor must have at least one element, but got input_sizes = "
            f"{list(x.shape)}"
        )
    axes = (0, *range(2, x.ndim))
    d = x._data
    with np.errstate(invalid="ignore", over="ignore"):  # +-inf inputs: nan statistics
        mean = d.mean(axis=axes)
        var = ((d - mean.reshape((1, c) + (1,) * (x.ndim - 2))) ** 2).mean(axis=axes)
    invstd = _invstd(var.astype(d.dtype), eps)
    if eps > 0:
        out = F.batch_norm(x, running_mean, running_var, weight, bias, True, momentum, eps)
        return out, constant(mean.astype(d.dtype)), constant(invstd)
    # eps <= 0 (F.batch_norm refuses it): the same map as ordinary ops, 0 * 0 where var = 0
    shape = (1, c) + (1,) * (x.ndim - 2)
    out = (x - constant(mean.astype(d.dtype).reshape(shape))) * constant(invstd.reshape(shape))
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    if running_mean is not None:
        n = x.numel() // c
        with np.errstate(divide="ignore", invalid="ignore"):
            unbiased = var * n / (n - 1)
        for run, stat in ((running_mean, mean), (running_var, unbiased)):
            run._data *= 1 - momentum
            run._data += (momentum * stat).astype(run._data.dtype, copy=False)
            # (no version bump: PyTorch's kernel writes the running statistics unrecorded)
    return out, constant(mean.astype(d.dtype)), constant(invstd)


# ------------------------------------------------------------------------ native_group_norm
def native_group_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor | None,
    bias: Tensor | None,
    N: int,  # noqa: N803 - PyTorch's names
    C: int,  # noqa: N803
    HxW: int,  # noqa: N803
    group: int,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.native_group_norm``: ``(out, mean, rstd)`` for an input read as (N, C, HxW)
    (any shape holding ``N * C * HxW`` elements), normalised over each of ``group`` groups of
    channels; ``out`` has the input's shape, ``mean``/``rstd`` are (N, group) constants."""
    op = "native_group_norm"
    x = _tensor(op, "input", 1, input)
    weight = _tensor(op, "weight", 2, weight, True)
    bias = _tensor(op, "bias", 3, bias, True)
    n, c, hw = _int(op, "N", 4, N), _int(op, "C", 5, C), _int(op, "HxW", 6, HxW)
    group = _int(op, "group", 7, group)
    eps = _float(op, "eps", 8, eps)
    if group <= 0:
        raise RuntimeError(f"{op}: Expected num groups to be greater than 0, got {group}")
    if c % group:
        raise RuntimeError(
            f"{op}: Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(x.shape)} and num_groups={group}"
        )
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and (v.ndim != 1 or v.numel() != c):
            raise RuntimeError(
                f"{op}: Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(v.shape)} and input of shape "
                f"{list(x.shape)}"
            )
    if x.numel() != n * c * hw:
        raise RuntimeError(f"{op}: Expected X.numel() == N * C * HxW to be true, but got false.")
    _float_kernel(op, "GroupNormKernelImpl", x)
    _same_dtype(x, weight, bias)
    d = x._data
    xp = get_array_module(d)
    per_group = (c // group) * hw
    if per_group == 0:  # nothing to normalise: mean 0, rstd nan (0 / 0), as PyTorch
        mean = xp.zeros((n, group), dtype=d.dtype)
        rstd = xp.full((n, group), np.nan, dtype=d.dtype)
        return x.clone(), constant(mean), constant(rstd)
    grouped = d.reshape(n, group, per_group)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = grouped.mean(axis=2)
        var = ((grouped - mean[..., None]) ** 2).mean(axis=2)
        rstd = (1.0 / xp.sqrt(var + eps)).astype(d.dtype)
    out = F.group_norm(x.reshape(n, c, hw), group, weight, bias, eps)
    return out.reshape(tuple(x.shape)), constant(mean), constant(rstd)


# --------------------------------------------------------------------------- native_dropout
def native_dropout(
    input: Tensor,  # noqa: A002 - PyTorch's name
    p: float,
    train: bool | None,
) -> tuple[Tensor, Tensor]:
    """``torch.native_dropout``: ``(out, mask)`` with the bool keep mask. ``train=None``
    means training. In training each element is kept with probability ``1 - p`` and scaled
    by 1/(1-p) (p = 1 zeroes everything); otherwise ``out`` is a copy of the input and the
    mask all True. Masks come from chainrule's default generator (``cr.manual_seed``)."""
    op = "native_dropout"
    x = _tensor(op, "input", 1, input)
    p = _float(op, "p", 2, p)
    train = True if train is None else _bool(op, "train", 3, train)
    xp = get_array_module(x._data)
    if not train:
        return x.clone(), constant(xp.ones(tuple(x.shape), dtype=bool))
    if not 0.0 <= 1.0 - p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1.0 - p}")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(
            "result type Float can't be cast to the desired output type "
            f"{scalar_type_name(x._data.dtype)}"
        )
    if x.numel() == 0:  # PyTorch's mask for an empty input has the input's dtype
        return x.clone(), constant(xp.empty(tuple(x.shape), dtype=x._data.dtype))
    if p == 1.0:
        return x * 0.0, constant(xp.zeros(tuple(x.shape), dtype=bool))
    from .functional.dropout import _keep_mask, _masked

    keep = _keep_mask(tuple(x.shape), x, p, None)
    if is_vmap_batched(keep):  # a mask per sample (randomness='different' in cr.func.vmap)
        return _masked(x, keep, p), constant(keep.astype(bool))
    levels = LOCAL.state.vmap  # PyTorch's 'same' batch rule gives the mask the input's dtype
    dtype = x._data.dtype if levels and levels[-1].randomness == "same" else bool
    return _masked(x, keep, p), constant(xp.asarray(keep).astype(dtype))


# ------------------------------------------------------------------------------ native_norm
def native_norm(
    input: Any,  # noqa: A002 - PyTorch's name
    p: float | None = 2,
    dim: Any = None,
    keepdim: bool | None = None,
    dtype: Any = None,
    *rest: Any,
) -> Tensor:
    """``torch.native_norm``: the p-norm of a sparse COO tensor's (coalesced) values, as a
    0-d constant (PyTorch has no derivative for it). Like PyTorch's, it reduces over every
    dimension only (``dim`` empty or all of them, no ``keepdim``, no ``dtype``) and has no
    kernel for dense (strided) tensors (NotImplementedError)."""
    op = "native_norm"
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{op}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    full = dim is not None or keepdim is not None or dtype is not None
    name = "aten::native_norm.ScalarOpt_dim_dtype" if full else "aten::native_norm"
    if rest or (full and (dim is None or keepdim is None)):
        raise TypeError(
            f"{op}() received an invalid combination of arguments: expected (Tensor input, "
            "Number p = 2) or (Tensor input, Number p, tuple of ints dim, bool keepdim, "
            "torch.dtype dtype)"
        )
    if not getattr(input, "is_sparse", False):
        raise NotImplementedError(
            f"Could not run '{name}' with arguments from the 'CPU' backend: PyTorch implements "
            "native_norm for sparse COO tensors only (use torch.linalg.vector_norm)"
        )
    if full:
        dims = [dim] if isinstance(dim, Integral) else list(dim)
        nd = input.ndim
        if dims and sorted({int(k) % max(nd, 1) for k in dims}) != list(range(nd)):
            raise RuntimeError(
                "norm_sparse currently only supports full reductions, so 'dim' must either "
                "be empty or contain all dimensions of the input"
            )
        if keepdim:
            raise RuntimeError("norm_sparse currently does not support keepdim=True")
        if dtype is not None:
            raise RuntimeError("norm_sparse currently does not support 'dtype' argument")
    vals = np.asarray(input.coalesce()._values()._data)
    if vals.dtype.kind not in "fc":
        raise RuntimeError(
            "norm(): input dtype should be either floating point or complex. Got "
            f"{scalar_type_name(vals.dtype)} instead."
        )
    a = np.abs(vals).ravel()
    real = a.dtype
    pv = 2.0 if p is None else float(p)
    if pv == 0:
        r = float(np.count_nonzero(a))
    elif math.isinf(pv):
        r = (a.max() if pv > 0 else a.min()) if a.size else (0.0 if pv > 0 else math.inf)
    else:
        with np.errstate(divide="ignore"):
            r = float(np.sum(a.astype(np.float64) ** pv) ** (1.0 / pv))
    return constant(np.asarray(r, dtype=real))


# -------------------------------------------------------------------- native_channel_shuffle
def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """``torch.native_channel_shuffle`` (and ``F.native_channel_shuffle``): the channels of
    an input of rank >= 3 interleaved across ``groups``, as ``F.channel_shuffle``."""
    op = "native_channel_shuffle"
    x = _tensor(op, "input", 1, input)
    groups = _int(op, "groups", 2, groups)
    if x.ndim <= 2:
        raise RuntimeError(
            f"{op}: channel_shuffle expects input with > 2 dims, but got input with sizes "
            f"{list(x.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"{op}: Number of groups to divide channels in must be positive. "
            f"Value of groups:{groups}"
        )
    if x.shape[1] % groups:
        raise RuntimeError(
            f"{op}: Number of channels must be divisible by groups. Got {x.shape[1]} channels and "
            f"{groups} groups."
        )
    return F.channel_shuffle(x, groups)


# -------------------------------------------------------------------------------- conv_tbc
@autocast_lower_precision_op  # on PyTorch's CPU autocast lower-precision list
def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:  # noqa: A002
    """``torch.conv_tbc``: fairseq's ConvTBC, a 1-D convolution over (time, batch, channel)
    input with a (kernel_width, in_channels, out_channels) weight, zero-padded by ``pad``
    steps at both ends of time (a negative ``pad`` crops). The output is
    (time + 2 pad - kernel_width + 1, batch, out_channels); differentiable in all three."""
    op = "conv_tbc"
    x = _tensor(op, "self", 1, input)
    w = _tensor(op, "weight", 2, weight)
    b = _tensor(op, "bias", 3, bias)
    pad = _int(op, "pad", 4, pad)
    if x.ndim != 3:
        raise RuntimeError(f"{op}: Input must have 3 dims: time, batch, in_channel")
    if w.ndim != 3:
        raise RuntimeError(
            f"{op}: Weight tensor must have 3 dims: kernel_width, in_channels, out_channels."
        )
    if b.ndim != 1:
        raise RuntimeError(f"{op}: Bias must be 1-D")
    t, n, cin = x.shape
    k, wcin, cout = w.shape
    if cin != wcin:
        raise RuntimeError(
            f"{op}: Input dim 2 (input channels) is not == dim 1 in the weight tensor"
        )
    if b.shape[0] != cout:
        raise RuntimeError(
            f"{op}: Bias size must equal dim 2 in the weight tensor (output channels)."
        )
    t_out = t + 2 * pad - k + 1
    if t_out < 0:
        raise RuntimeError(
            f"{op}: Trying to create tensor with negative dimension {t_out}: [{t_out}, {n}, {cout}]"
        )
    if x.dtype != w.dtype:
        raise RuntimeError(
            f"{op}: self and mat2 must have the same dtype, but got "
            f"{scalar_type_name(x._data.dtype)} "
            f"and {scalar_type_name(w._data.dtype)}"
        )
    out = b.reshape(1, 1, cout).expand(t_out, n, cout)
    if pad or k == 0:
        xp_ = F.pad(x, [0, 0, 0, 0, pad, pad]) if pad else x
    else:
        xp_ = x
    terms = [xp_[j : j + t_out] @ w[j] for j in range(k) if t_out > 0]
    if not terms:
        return out.clone()
    for term in terms:
        out = out + term
    return out
