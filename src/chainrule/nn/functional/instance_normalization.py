"""``instance_norm``, built as PyTorch builds it: the input viewed as one sample of N·C
channels, the weight and bias repeated N times, batch norm over that, the result viewed
back (its graph is PyTorch's ``ViewBackward0`` over ``NativeBatchNormBackward0``). The
shared argument checks and dtype rules are ``normalization.py``'s.
"""

from __future__ import annotations

from numpy import float32, floating, integer

from ...autograd.state import LOCAL as _vmap
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._util import no_integer_kernel
from ...ops.batch_norm_eval import BatchNormStatsFn
from ...ops.normalization import BatchNormFn, BatchStats
from ._arg_types import as_float
from ._norm_shared import (
    _empty_result,
    _input_dtype,
    _is_half,
    _no_complex,
    _same_param_dtype,
)

__all__ = ["instance_norm"]


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) over its spatial positions, as torch's instance_norm.

    Built as PyTorch builds it, so the graph is PyTorch's: the (N, C, *spatial) input viewed
    as one sample of N·C channels, the weight and bias repeated N times, batch norm over that
    (``NativeBatchNormBackward0``), and the result viewed back. With ``use_input_stats`` each
    instance uses its own statistics (training-mode batch norm); running_mean/var, when given,
    are updated as PyTorch's repeated buffers are (each copy by the momentum rule toward its
    instance's mean and unbiased variance) and then averaged over the batch. Without it the
    running statistics normalise every instance (evaluation-mode batch norm). A float16 or
    bfloat16 input is normalised in float32 and rounded once, as PyTorch's CPU kernels.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected (N, C, *spatial), got {tuple(input.shape)}")
    no_integer_kernel("instance_norm", input)
    _no_complex("batch_norm", input)  # PyTorch: its batch_norm kernel has no complex instance
    if not isinstance(momentum, (int, float, integer, floating)):  # bool is an int
        raise TypeError(
            f"instance_norm(): argument 'momentum' (position 7) must be float, "
            f"not {type(momentum).__name__}"
        )
    if type(eps) is not float:  # PyTorch's parser: a real number
        eps = as_float("instance_norm", "eps", eps, 8)
    n, c = input.shape[0], input.shape[1]
    # PyTorch's order and words (its batch norm over the n-times repeated tensors checks
    # the element counts: "weight should contain 6 elements not 4", a RuntimeError)
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {n * c} elements not {t.numel() * n}")
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(
                f"instance_norm: {name} must have shape ({c},) for an input with "
                f"{c} channels (shape {tuple(input.shape)}), got {tuple(t.shape)}"
            )
    # weight and bias only: PyTorch's checks of the running statistics here follow no rule
    _same_param_dtype("instance_norm", input, weight=weight, bias=bias)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "instance_norm: expected running_mean and running_var to be defined when "
                "use_input_stats is false"
            )
        return _instance_norm_eval(input, running_mean, running_var, weight, bias, eps)
    if _vmap.state.vmap and (running_mean is not None or running_var is not None):
        # in here: func imports nn (a cycle)
        from ...func._per_sample import per_sample  # noqa: PLC0415

        if _vmap_running_stats(input, running_mean, running_var):  # per-sample statistics:
            return per_sample(  # once per sample, as PyTorch  # type: ignore[no-any-return]
                instance_norm, input, running_mean, running_var, weight, bias, True, momentum, eps
            )
    if (running_mean is None) != (running_var is None):
        raise ValueError(
            "instance_norm: running_mean and running_var must either both be None or "
            "neither be None"
        )
    count = 1  # spatial elements per instance
    for size in input.shape[2:]:
        count *= size
    if input.numel() == 0 and count != 1:  # PyTorch: an empty input gives an empty result
        return _empty_result(input, weight, bias)
    if count <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, "
            f"got input size {list(input.shape)}"
        )
    x, w, b = _instance_operands(input, weight, bias)
    stats = None if running_mean is None else BatchStats()
    y = BatchNormFn.apply(x, w, b, float(eps), stats)
    if stats is not None:
        mean = stats.mean.reshape(n, c)
        var = stats.var.reshape(n, c) * (count / (count - 1))
        for buf, stat in ((running_mean, mean), (running_var, var)):
            arr = buf._data
            if arr.dtype.kind in "fc":  # each repeated copy updated, then their mean
                upd = (1 - momentum) * arr + momentum * stat.astype(arr.dtype, copy=False)
                arr[...] = upd.mean(axis=0)
            else:  # integer statistics: PyTorch computes in floating point and truncates
                arr[...] = (arr * (1 - momentum) + momentum * stat.mean(axis=0)).astype(arr.dtype)
            buf._vc[0] += 1
    return _input_dtype(y.view(input.shape), input)


def _vmap_running_stats(input: Tensor, *stats: Tensor | None) -> bool:
    """Under ``cr.func.vmap``: PyTorch's refusal of running statistics a level batching the
    input does not batch (each sample would update the one buffer in place); whether any
    statistic is batched (then the op runs once per sample)."""
    from ...func._per_sample import batch_levels  # noqa: PLC0415 - in here: func imports nn

    stat_levels = [set(map(id, batch_levels(t))) for t in stats if t is not None]
    for level in batch_levels(input):
        if any(id(level) not in s for s in stat_levels):
            raise RuntimeError(
                "Batch norm got a batched tensor as input while the running_mean or "
                "running_var, which will be updated in place, were not batched."
            )
    return any(stat_levels)


def _instance_operands(
    input: Tensor, weight: Tensor | None, bias: Tensor | None
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """instance_norm's batch-norm operands, as PyTorch forms them: the input made contiguous
    (a ``CloneBackward0`` if it was not) and viewed as (1, N·C, *spatial), the weight and bias
    repeated N times; a float16 or bfloat16 operand cast to float32 (the kernel's opmath)."""
    n, c = input.shape[0], input.shape[1]
    x = input.contiguous().view((1, n * c) + tuple(input.shape[2:]))
    w = None if weight is None else weight.repeat(n)
    b = None if bias is None else bias.repeat(n)
    if _is_half(input.dtype):
        x, w, b = (t if t is None or t.dtype == float32 else t.to(float32) for t in (x, w, b))
    return x, w, b


def _instance_norm_eval(
    input: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> Tensor:
    """instance_norm with ``use_input_stats=False``: PyTorch's graph (the view, the repeats,
    evaluation-mode ``NativeBatchNormBackward0``), every instance normalised with the running
    statistics, which are left as they are."""
    n = input.shape[0]
    x, w, b = _instance_operands(input, weight, bias)
    xp = get_array_module(x._data)
    dt = x.dtype
    mean = xp.tile(running_mean._data.astype(dt), n)
    invstd = xp.tile((1.0 / xp.sqrt(running_var._data.astype(float) + eps)).astype(dt), n)
    y = BatchNormStatsFn.apply(x, w, b, mean, invstd)
    return _input_dtype(y.view(input.shape), input)
