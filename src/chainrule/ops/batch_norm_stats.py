"""The SyncBatchNorm kernels as root functions (``torch.batch_norm_stats`` and friends).

PyTorch runs synchronised batch norm as per-device statistics, a gather across devices and
an element-wise pass, with a matching backward pair; ATen exposes each step (CUDA kernels,
except ``batch_norm_update_stats``):

* ``batch_norm_stats(input, eps) -> (mean, invstd)`` per channel (dim 1);
* ``batch_norm_gather_stats[_with_counts](input, mean, invstd, running_mean, running_var,
  momentum, eps, count|counts) -> (mean, invstd)``: merges per-device rows of statistics
  (``mean``/``invstd`` of shape (world, C)), updating the running statistics in place;
* ``batch_norm_elemt(input, weight, bias, mean, invstd, eps)``: the normalisation;
* ``batch_norm_update_stats(input, running_mean, running_var, momentum) -> (mean, var)``;
* ``batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g,
  bias_g) -> (sum_dy, sum_dy_xmu, grad_weight, grad_bias)`` (None where not asked for);
* ``batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu,
  count) -> grad_input``.

Results are built from chainrule's differentiable ops (running statistics are updated
without a graph). Inputs PyTorch's kernels would misread or crash on (wrong sizes, a
one-dimensional input, mismatched worker rows) raise a clear RuntimeError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._raw_checks import tensor_argument as _t
from ._util import constant, dim_range_error, no_dims_error

__all__ = [
    "batch_norm_backward_elemt",
    "batch_norm_backward_reduce",
    "batch_norm_elemt",
    "batch_norm_gather_stats",
    "batch_norm_gather_stats_with_counts",
    "batch_norm_stats",
    "batch_norm_update_stats",
]


def _num(op: str, name: str, pos: int, v: Any, kind: type = float) -> Any:
    ok = (int, float, np.integer, np.floating) if kind is float else (int, np.integer)
    if isinstance(v, bool) or not isinstance(v, ok):
        raise TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be {kind.__name__}, "
            f"not {type(v).__name__}"
        )
    return kind(v)


def _input(op: str, x: Tensor, *, nonempty: bool = True) -> int:
    """Checks an (N, C, *) input: rank >= 2, floating, and (if ``nonempty``) elements."""
    if x.ndim < 2:
        raise RuntimeError(
            f"{op}: expected an input of shape (N, C, *) with at least 2 dims, but got input "
            f"of shape {list(x.shape)}"
        )
    if x._data.dtype.kind != "f" and not str(x.dtype).endswith("bfloat16"):
        raise NotImplementedError(
            f"\"{op}\" not implemented for '{scalar_type_name(x._data.dtype)}'"
        )
    if nonempty and x.numel() == 0:
        raise RuntimeError(
            f"{op}: input tensor must have at least one element, but got input_sizes = "
            f"{list(x.shape)}"
        )
    return x.shape[1]


def _channels(op: str, c: int, **vectors: Tensor | None) -> None:
    for name, v in vectors.items():
        if v is not None and (v.ndim != 1 or v.shape[0] != c):
            raise RuntimeError(
                f"{op}: expected {name} to be a vector of {c} elements (one per channel), but "
                f"got {name} of shape {list(v.shape)}"
            )


def _floating(op: str, **tensors: Tensor | None) -> None:
    for name, v in tensors.items():
        if v is not None and not v.is_floating_point():
            raise RuntimeError(
                f"{op}: expected {name} to be floating point, but got "
                f"{scalar_type_name(v._data.dtype)}"
            )


def _bcast(v: Tensor, ndim: int) -> Tensor:
    """A per-channel vector shaped to broadcast against an (N, C, *) tensor of ``ndim``."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _axes(ndim: int) -> tuple:
    return (0, *range(2, ndim))


def _update_running(
    running_mean: Tensor | None,
    running_var: Tensor | None,
    mean: Any,
    unbiased_var: Any,
    momentum: float,
) -> None:
    """``running = (1 - momentum) running + momentum stat``, in place, without a graph."""
    for run, stat in ((running_mean, mean), (running_var, unbiased_var)):
        if run is not None:
            d = run._data
            d *= 1 - momentum
            d += (momentum * np.asarray(stat)).astype(d.dtype, copy=False)
            run._vc[0] += 1


def _running_pair(op: str, c: int, running_mean: Any, running_var: Any) -> None:
    if (running_mean is None) != (running_var is None):
        raise RuntimeError(f"{op}: running_mean and running_var must both be given or both be None")
    _channels(op, c, running_mean=running_mean, running_var=running_var)


# ------------------------------------------------------------------------------ forward
def batch_norm_stats(input: Tensor, eps: float) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``torch.batch_norm_stats``: the per-channel mean and 1/sqrt(biased var + eps) of an
    (N, C, *) input (0 where var + eps is 0)."""
    op = "batch_norm_stats"
    x = _t(op, "input", 1, input)
    eps = _num(op, "eps", 2, eps)
    _input(op, x)
    axes = _axes(x.ndim)
    mean = x.mean(axes)
    var = ((x - _bcast(mean, x.ndim)) ** 2).mean(axes)
    d = var + eps
    safe = d.detach()._data != 0
    invstd = d.rsqrt() * constant(safe.astype(d._data.dtype))
    return mean, invstd


def batch_norm_elemt(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor | None,
    bias: Tensor | None,
    mean: Tensor,
    invstd: Tensor,
    eps: float,
) -> Tensor:
    """``torch.batch_norm_elemt``: ``(input - mean) * invstd * weight + bias`` per channel
    (``eps`` is unused: ``invstd`` already holds it)."""
    op = "batch_norm_elemt"
    x = _t(op, "input", 1, input)
    weight, bias = _t(op, "weight", 2, weight, True), _t(op, "bias", 3, bias, True)
    mean, invstd = _t(op, "mean", 4, mean), _t(op, "invstd", 5, invstd)
    _num(op, "eps", 6, eps)
    c = _input(op, x, nonempty=False)
    _channels(op, c, weight=weight, bias=bias, mean=mean, invstd=invstd)
    _floating(op, weight=weight, bias=bias, mean=mean, invstd=invstd)
    out = (x - _bcast(mean, x.ndim)) * _bcast(invstd, x.ndim)
    if weight is not None:
        out = out * _bcast(weight, x.ndim)
    if bias is not None:
        out = out + _bcast(bias, x.ndim)
    return out.to(x.dtype)


def batch_norm_gather_stats_with_counts(
    input: Tensor,  # noqa: A002 - PyTorch's name
    mean: Tensor,
    invstd: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
    counts: Tensor,
) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_gather_stats_with_counts``: the global (mean, invstd) of several
    workers' statistics (rows of ``mean``/``invstd``, (world, C)) over ``counts[i]`` elements
    each (workers with count 0 are skipped); the running statistics, when given, move toward
    the global mean and unbiased variance by ``momentum``. ``input`` only names the dtype."""
    op = "batch_norm_gather_stats_with_counts"
    _t(op, "input", 1, input)
    mean, invstd = _t(op, "mean", 2, mean), _t(op, "invstd", 3, invstd)
    running_mean = _t(op, "running_mean", 4, running_mean, True)
    running_var = _t(op, "running_var", 5, running_var, True)
    momentum, eps = _num(op, "momentum", 6, momentum), _num(op, "eps", 7, eps)
    counts = _t(op, "counts", 8, counts)
    if mean.ndim != 2 or invstd.shape != mean.shape:
        raise RuntimeError(
            f"{op}: expected mean and invstd of the same shape (world_size, C), but got "
            f"mean of shape {list(mean.shape)} and invstd of shape {list(invstd.shape)}"
        )
    world, c = mean.shape
    if counts.ndim != 1 or counts.shape[0] != world:
        raise RuntimeError(
            f"{op}: expected counts to be a vector of {world} elements (one per row of mean), "
            f"but got counts of shape {list(counts.shape)}"
        )
    _floating(op, mean=mean, invstd=invstd)
    _running_pair(op, c, running_mean, running_var)
    cnt = counts.detach().to(mean.dtype)
    used = constant((cnt._data > 0).astype(mean._data.dtype))
    cw = (cnt * used).reshape(world, 1)
    total = cw.sum(0)
    if float(total._data.min(initial=np.inf)) <= 0:
        raise RuntimeError(f"{op}: counts must add up to a positive number of elements")
    gmean = (cw * mean).sum(0) / total
    var_i = invstd.pow(-2) - eps
    # masked rows may hold anything (a worker with no data): zero them before summing
    var_i = var_i * used.reshape(world, 1)
    var_n = (cw * var_i).sum(0) + (cw * (mean - gmean) ** 2).sum(0)
    out_invstd = (var_n / total + eps).rsqrt()
    n = total.detach()._data
    with np.errstate(divide="ignore", invalid="ignore"):
        unbiased = var_n.detach()._data / (n - 1)
    _update_running(running_mean, running_var, gmean.detach()._data, unbiased, momentum)
    return gmean, out_invstd


def batch_norm_gather_stats(
    input: Tensor,  # noqa: A002 - PyTorch's name
    mean: Tensor,
    invstd: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
    count: int,
) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_gather_stats``: :func:`batch_norm_gather_stats_with_counts` with
    the same element ``count`` for every worker."""
    op = "batch_norm_gather_stats"
    _t(op, "input", 1, input)
    mean = _t(op, "mean", 2, mean)
    count = _num(op, "count", 8, count, int)
    rows = mean.shape[0] if mean.ndim == 2 else 1
    counts = constant(np.full(rows, count, dtype=np.float64))
    return batch_norm_gather_stats_with_counts(
        input, mean, invstd, running_mean, running_var, momentum, eps, counts
    )


def batch_norm_update_stats(
    input: Tensor,  # noqa: A002 - PyTorch's name
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
) -> tuple[Tensor, Tensor]:
    """``torch.batch_norm_update_stats``: the per-channel mean and biased variance of an
    (N, C, *) input, moving the running statistics (when given) toward the mean and the
    unbiased variance by ``momentum``. The results are constants."""
    op = "batch_norm_update_stats"
    x = _t(op, "input", 1, input)
    running_mean = _t(op, "running_mean", 2, running_mean, True)
    running_var = _t(op, "running_var", 3, running_var, True)
    momentum = _num(op, "momentum", 4, momentum)
    if x.ndim < 2:
        raise dim_range_error(1, 1) if x.ndim else no_dims_error(1)
    c = _input("batch_norm_update_stats_cpu", x)
    _running_pair(op, c, running_mean, running_var)
    for v in (running_mean, running_var):
        if v is not None and v.dtype != x.dtype:
            if x._data.dtype == np.float32:
                raise RuntimeError(
                    "mixed dtype (CPU): expect parameter to have scalar type of Float"
                )
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    d = x._data
    axes = _axes(x.ndim)
    mean = d.mean(axis=axes)
    var = ((d - mean.reshape((1, c) + (1,) * (x.ndim - 2))) ** 2).mean(axis=axes)
    n = x.numel() // c
    with np.errstate(divide="ignore", invalid="ignore"):
        unbiased = var * n / (n - 1) if n > 1 else var * np.inf
    _update_running(running_mean, running_var, mean, unbiased, momentum)
    return constant(mean.astype(d.dtype)), constant(var.astype(d.dtype))


# ------------------------------------------------------------------------------ backward
def batch_norm_backward_reduce(
    grad_out: Tensor,
    input: Tensor,  # noqa: A002 - PyTorch's name
    mean: Tensor,
    invstd: Tensor,
    weight: Tensor | None,
    input_g: bool,
    weight_g: bool,
    bias_g: bool,
) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """``torch.batch_norm_backward_reduce``: per channel, ``sum_dy = sum(grad_out)`` and
    ``sum_dy_xmu = sum(grad_out * (input - mean))`` (when ``input_g``), ``grad_weight =
    sum_dy_xmu * invstd`` (when ``weight_g``) and ``grad_bias = sum_dy`` (when ``bias_g``);
    the ones not asked for are None."""
    op = "batch_norm_backward_reduce"
    g, x = _t(op, "grad_out", 1, grad_out), _t(op, "input", 2, input)
    mean, invstd = _t(op, "mean", 3, mean), _t(op, "invstd", 4, invstd)
    weight = _t(op, "weight", 5, weight, True)
    flags = []
    for pos, (name, v) in enumerate(
        (("input_g", input_g), ("weight_g", weight_g), ("bias_g", bias_g)), 6
    ):
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(
                f"{op}(): argument '{name}' (position {pos}) must be bool, not {type(v).__name__}"
            )
        flags.append(bool(v))
    c = _input(op, x, nonempty=False)
    if tuple(g.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{op}: expected grad_out of the input's shape {list(x.shape)}, but got {list(g.shape)}"
        )
    _channels(op, c, mean=mean, invstd=invstd, weight=weight)
    _floating(op, grad_out=g, mean=mean, invstd=invstd, weight=weight)
    axes = _axes(x.ndim)
    sum_dy = g.sum(axes)
    sum_dy_xmu = (g * (x - _bcast(mean, x.ndim))).sum(axes)
    grad_weight = (sum_dy_xmu * invstd).to(x.dtype if weight is None else weight.dtype)
    grad_bias = sum_dy.to(x.dtype if weight is None else weight.dtype)
    return (
        sum_dy.to(mean.dtype) if flags[0] else None,
        sum_dy_xmu.to(mean.dtype) if flags[0] else None,
        grad_weight if flags[1] else None,
        grad_bias if flags[2] else None,
    )


def batch_norm_backward_elemt(
    grad_out: Tensor,
    input: Tensor,  # noqa: A002 - PyTorch's name
    mean: Tensor,
    invstd: Tensor,
    weight: Tensor | None,
    sum_dy: Tensor,
    sum_dy_xmu: Tensor,
    count: Tensor,
) -> Tensor:
    """``torch.batch_norm_backward_elemt``: the input gradient of batch norm from the
    (all-reduced) ``sum_dy`` and ``sum_dy_xmu`` over ``N = count.sum()`` elements per
    channel: ``(grad_out - sum_dy / N - (input - mean) invstd^2 sum_dy_xmu / N) invstd w``."""
    op = "batch_norm_backward_elemt"
    g, x = _t(op, "grad_out", 1, grad_out), _t(op, "input", 2, input)
    mean, invstd = _t(op, "mean", 3, mean), _t(op, "invstd", 4, invstd)
    weight = _t(op, "weight", 5, weight, True)
    sum_dy, sum_dy_xmu = _t(op, "sum_dy", 6, sum_dy), _t(op, "sum_dy_xmu", 7, sum_dy_xmu)
    count = _t(op, "count", 8, count)
    c = _input(op, x, nonempty=False)
    if tuple(g.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{op}: expected grad_out of the input's shape {list(x.shape)}, but got {list(g.shape)}"
        )
    _channels(op, c, mean=mean, invstd=invstd, weight=weight, sum_dy=sum_dy, sum_dy_xmu=sum_dy_xmu)
    _floating(op, grad_out=g, mean=mean, invstd=invstd, weight=weight, sum_dy=sum_dy)
    if count.numel() == 0:
        raise RuntimeError(f"{op}: count must hold at least one element count")
    n = float(np.asarray(count.detach()._data, dtype=np.float64).sum())
    if n <= 0:
        raise RuntimeError(f"{op}: the counts must add up to a positive number of elements")
    nd = x.ndim
    inv = _bcast(invstd, nd)
    gi = g - _bcast(sum_dy, nd) / n - (x - _bcast(mean, nd)) * inv**2 * _bcast(sum_dy_xmu, nd) / n
    gi = gi * inv
    if weight is not None:
        gi = gi * _bcast(weight, nd)
    return gi.to(x.dtype)
