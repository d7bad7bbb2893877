"""``SyncBatchNorm``: batch normalisation whose statistics cover the whole global batch.

With data parallelism each rank sees only its own B samples; plain batch norm would normalise
with per-rank statistics, so N processes x batch B would not match one process with batch N*B.
SyncBatchNorm reduces the statistics over the ranks, in forward and in backward.

Forward, per channel c, each rank computes its count n_r, mean m_r and sum of squared
deviations M2_r, and one ``Iallgather`` shares them. The global mean and variance follow from
Chan's parallel formula (stable, unlike sum-of-squares):

    n = Σ n_r,  m = Σ n_r m_r / n,  M2 = Σ M2_r + Σ n_r (m_r - m)²,  σ² = M2 / n

and y = γ (x - m) / sqrt(σ² + eps) + β. The running variance uses the unbiased M2 / (n - 1).

Backward, with x̂ the normalised input and k = γ / sqrt(σ² + eps), the input gradient needs two
sums over the *global* batch, obtained with one ``all_reduce`` of the local sums:

    dx = k (g - Σ_all g / n - x̂ Σ_all g x̂ / n),   dγ = Σ_local g x̂,   dβ = Σ_local g

dγ and dβ stay local: ``DistributedDataParallel`` averages them with the other gradients.
Outside training, or with one process, it is ordinary batch norm (as PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.function import Function, once_differentiable
from ...autograd.tensor import Tensor
from ...distributed.group import ProcessGroup, _mpi, group_of, is_initialized
from ...distributed.work import wait_requests
from ...ops.normalization import BatchStats
from .. import functional as F
from ..module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ a·b per channel (dim 1) without materialising the product."""
    n, c = a.shape[:2]
    return np.einsum("ncs,ncs->c", a.reshape(n, c, -1), b.reshape(n, c, -1))


def _channel_view(a: np.ndarray, nd: int) -> np.ndarray:
    return a.reshape((1, -1) + (1,) * (nd - 2))


class _SyncBatchNormFn(Function):
    """Training-mode batch norm with statistics reduced over a process group."""

    raw = True

    @staticmethod
    def forward(ctx, x, weight, bias, *, eps, group, stats):
        axes = (0,) + tuple(range(2, x.ndim))
        c = x.shape[1]
        n_local = x.size // c if c else 0
        xd = x.astype(np.float64, copy=False)
        mean_r = xd.mean(axis=axes) if n_local else np.zeros(c)
        dev = xd - _channel_view(mean_r, x.ndim)
        m2_r = _channel_dot(dev, dev) if n_local else np.zeros(c)
        mine = np.concatenate([[float(n_local)], mean_r, m2_r])
        table = np.empty((group.size(), mine.size))
        req = group.comm.Iallgather(mine, table)
        wait_requests([req], group.timeout_s, "SyncBatchNorm (forward statistics)", group.rank())
        counts, means, m2s = table[:, 0], table[:, 1 : 1 + c], table[:, 1 + c :]
        n = counts.sum()
        if n <= 1:
            raise ValueError(
                f"SyncBatchNorm: expected more than 1 value per channel over all "
                f"ranks when training, got {int(n)}"
            )
        mean = (counts[:, None] * means).sum(0) / n
        m2 = m2s.sum(0) + (counts[:, None] * (means - mean) ** 2).sum(0)
        var = m2 / n
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = (xd - _channel_view(mean, x.ndim)) * _channel_view(invstd, x.ndim)
        y = xhat
        if weight is not None:
            y = y * _channel_view(weight.astype(np.float64), x.ndim)
        if bias is not None:
            y = y + _channel_view(bias.astype(np.float64), x.ndim)
        stats.mean, stats.unbiased_var, stats.count = mean, m2 / (n - 1), n
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.group, ctx.count, ctx.has_bias = group, n, bias is not None
        return y.astype(x.dtype, copy=False)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_arrays
        group = ctx.group
        g = grad._data
        nd = g.ndim
        gd = g.astype(np.float64, copy=False)
        axes = (0,) + tuple(range(2, nd))
        sum_g = gd.sum(axis=axes)
        sum_gx = _channel_dot(gd, xhat)
        totals = np.concatenate([sum_g, sum_gx])
        MPI = _mpi()
        req = group.comm.Iallreduce(MPI.IN_PLACE, totals, op=MPI.SUM)
        wait_requests([req], group.timeout_s, "SyncBatchNorm (backward sums)", group.rank())
        c = sum_g.size
        tot_g, tot_gx = totals[:c], totals[c:]
        k = invstd if weight is None else invstd * weight.astype(np.float64)
        dx = _channel_view(k, nd) * (
            gd - _channel_view(tot_g / ctx.count, nd) - xhat * _channel_view(tot_gx / ctx.count, nd)
        )
        dw = sum_gx.astype(weight.dtype) if weight is not None else None
        db = sum_g.astype(g.dtype) if ctx.has_bias else None
        return dx.astype(g.dtype, copy=False), dw, db


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) inputs with statistics synchronised across ranks.

    Args:
        num_features: C, the number of channels.
        eps, momentum, affine, track_running_stats: as ``BatchNorm2d``.
        process_group: the ranks to synchronise over (default: the world).
        bias: with ``affine``, whether to learn the shift β (PyTorch's ``bias=False``).

    Shape:
        input (N, C, *) with at least 2 dims; output the same.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: ProcessGroup | None = None,
        device: Any = None,
        dtype: Any = None,
        bias: bool = True,
    ):
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias
        )
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input)")
        # as PyTorch, the channels are checked by batch norm against the parameters and
        # running statistics (none: any channel count runs)

    def _needs_sync(self) -> bool:
        if not self.training or not is_initialized():
            return False
        return group_of(self.process_group).size() > 1

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)  # PyTorch's add_ (a version bump)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        if not self._needs_sync():
            use_batch = self.training or not self.track_running_stats
            keep = not self.training or self.track_running_stats
            return F.batch_norm(
                input,
                self.running_mean if keep else None,
                self.running_var if keep else None,
                self.weight,
                self.bias,
                use_batch,
                factor,
                self.eps,
            )
        if not (self.eps > 0):
            raise ValueError(f"SyncBatchNorm: eps must be positive during training, got {self.eps}")
        stats = BatchStats()
        out = _SyncBatchNormFn.apply(
            input,
            self.weight,
            self.bias,
            eps=float(self.eps),
            group=group_of(self.process_group),
            stats=stats,
        )
        if self.track_running_stats:
            mean, unbiased_var = stats.mean, stats.unbiased_var
            rm, rv = self.running_mean._data, self.running_var._data
            rm *= 1 - factor
            rm += (factor * mean).astype(rm.dtype, copy=False)
            rv *= 1 - factor
            rv += (factor * unbiased_var).astype(rv.dtype, copy=False)
            # (no version bump: PyTorch's kernel writes the running statistics unrecorded)
        return out

    @classmethod
    def convert_sync_batchnorm(
        cls, module: Module, process_group: ProcessGroup | None = None
    ) -> Module:
        """Replace every ``BatchNorm*d`` in ``module`` (or ``module`` itself) with a
        SyncBatchNorm holding the same parameters, buffers and mode; returns the result."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
        for name, child in list(module.named_children()):
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
