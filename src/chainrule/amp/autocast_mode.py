"""``cr.autocast``: PyTorch's autocast context, with its rules for disabling itself.

On the CPU, with ``dtype=cr.bfloat16`` (PyTorch's CPU default) or ``cr.float16``,
autocast takes effect as in PyTorch, whose CPU cast lists are the same for both dtypes:
inside the block, matmuls, linear layers, convolutions and attention cast their floating
tensor arguments to the autocast dtype and return it (computed in float32 and rounded once:
bfloat16 through :func:`chainrule.autograd.lower_precision.run_in_float32`, float16
through float32 BLAS, :mod:`chainrule._kernels.half_gemm`); other ops run in the dtype of
their inputs, and gradients flow back through the casts to float32 parameters. The casting
hooks into ``Function.apply`` through ``lower_precision.AUTOCAST``. A CUDA autocast
that would take effect raises ``NotImplementedError`` (PyTorch's CUDA lists differ and are
not implemented for the CuPy backend). What PyTorch itself turns off still turns off
silently or with PyTorch's warning, so the common patterns run unchanged:

- ``autocast(..., enabled=False)`` (``enabled=use_amp``) is a plain context;
- ``autocast("cuda")`` without a GPU warns and disables itself, as PyTorch does;
- a ``dtype`` the device does not support warns and disables, as PyTorch does.

Ops of PyTorch's CPU float32 list cast bfloat16 (and float16) arguments up and return
float32, as in PyTorch: the fused Functions in ``_FLOAT32_OPS`` (``nll_loss``, ``prod``, ...)
and composed ops that call ``lower_precision.autocast_float32`` first (``trace``,
``adaptive_avg_pool3d``, the losses) or are decorated with ``autocast_float32_op`` (the
FFTs, ``stft``, ``polar``, ``quantile``, the linear-algebra solvers and decompositions
(``linalg.inv``/``solve``/``qr``/``svd``/``eigh``/``lstsq``/..., ``cholesky_solve``,
``geqrf``, ``pinverse``), 3-d and fractional max pooling, ``max_unpool``,
reflection/replication padding, the margin and CTC losses). Composed ops of the
lower-precision list (``addmm``, ``baddbmm``, ``addbmm``, ``prelu``, ``linalg.vecdot``,
``scaled_dot_product_attention``, the RNN cells) cast all their arguments first
through ``lower_precision.autocast_lower_precision``; composed ops on neither list whose
parts are cast (``mv``, ``dot``, ``addmv``, adaptive average pooling) run their parts in
``lower_precision.outside_autocast``.

A backward run inside the block (``loss.backward()`` or ``autograd.grad`` called in it) runs
in the block's autocast state, as PyTorch's engine does: PyTorch then casts the ``mm``/``bmm``
its backward formulas call, so the gradients of ``mm``, ``bmm``, ``addmm``, ``matmul`` (but
matrix-vector and 1-d @ batched forms, which go through ``mv``/``dot``) and ``linear`` are the
bfloat16 (float16) products, cast back to their inputs' float32 by the engine (the bias's
column sum, addmm's ``sum``, is not cast). chainrule's rules for those ops ask for that cast
(``ops/_first_order.autocast_products``); the ops that other rules call are not cast (a
backward started before the block was entered: ``backward_passes`` depth), since PyTorch's
formulas for them call no op of the cast lists (convolution's ``convolution_backward``, ``mv``,
``dot``, the elementwise rules). A block entered inside a backward (``amp.custom_bwd``) casts
every op of the lists, as in PyTorch. Session 42: ``einsum``'s contractions (two operands
through ``ops/matmul_autocast.autocast_product_operands``; three or more recomputed pair by
pair, as PyTorch contracts them, and differentiated in the block) and ``F.linear`` under
``LINEAR_GRAPH_AS_TORCH`` too, ``bilinear`` (``_trilinear``'s products,
``ops/matmul_autocast.autocast_trilinear_grads``) and math-path
``scaled_dot_product_attention`` (``ops/attention_autocast.py``; its float32 mask
gradient an ulp off, P's exp). Session 43: an ``einsum`` of three operands or more under
``create_graph`` too (the pairs recomputed from recorded copies of the operands and
differentiated with ``create_graph``: PyTorch's values, first and second order), and
``bilinear``'s per-feature sums on the arrays when no graph is built (the same steps, bit for
bit).

Differences from PyTorch (``tests/test_autocast_cast_lists.py`` checks 97 ops against it):
``nn.LSTM``/``nn.GRU`` and the fused LSTM/GRU cells follow the rule of their inner
products, not PyTorch's per-kernel results for mixed half dtypes.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from .. import cuda, dtypes
from ..autograd.lower_precision import AUTOCAST, in_float32_rerun
from ..autograd.state import current
from ..autograd.tensor import Tensor
from . import autocast_state
from .autocast_state import assign, check_device, get_autocast_dtype, state

__all__ = ["autocast"]

# The Function classes whose float32 tensor arguments CPU autocast casts to bfloat16
# (PyTorch's lower-precision list: mm/bmm/matmul, linear, convolutions, attention). conv1d
# and conv3d run on Conv2dFn; conv3d casts all its arguments first, through
# lower_precision.autocast_arguments.
_LOWER_PRECISION_OPS = frozenset(
    {
        "MatMul",
        "LinearFn",
        "Conv2dFn",
        "ConvTranspose2dFn",
        "ScaledDotProductAttention",
        "LowerPrecisionComposite",  # composed ops: lower_precision.autocast_lower_precision
        "BackwardProduct",  # a backward rule's mm/bmm (ops/_first_order.autocast_products)
    }
)
# The fused Function classes of ops PyTorch's CPU autocast runs in float32 (its float32
# list: cross_entropy, nll_loss, binary_cross_entropy, prod, cdist, grid_sample): their
# bfloat16 tensor arguments are cast up, so they return float32 as in PyTorch.
_FLOAT32_OPS = frozenset(
    {
        "CrossEntropyFn",
        "NLLLossFn",
        "BinaryCrossEntropyFn",
        "Prod",
        "EuclideanCdist",
        "GridSample2dFn",
        "Float32Composite",  # composed ops: lower_precision.autocast_float32
    }
)
_TO_LOWER = (dtypes.float32, dtypes.float16)


def _cast_arguments(cls: type, args: tuple) -> tuple:
    """``args`` of the op ``cls`` as autocast passes them while CPU autocast is on in this
    thread: float32 and float16 tensors cast to the autocast dtype for a lower-precision op,
    bfloat16 and float16 ones to float32 for a float32 op (float64 is never cast). Inside a
    backward pass started in the block only the rules' :class:`BackwardProduct` operands are
    cast (the module's docstring); all ops are where the block was entered inside the backward
    (``amp.custom_bwd``); no op :func:`run_in_float32` reruns is."""
    name = cls.__name__
    lower = name in _LOWER_PRECISION_OPS
    if not lower and name not in _FLOAT32_OPS:
        return args
    enabled, dtype, depth = state()["cpu"]
    if not enabled or in_float32_rerun():
        return args
    if len(current().backward_passes) != depth and name != "BackwardProduct":
        return args  # a rule's op whose PyTorch formula calls no op of the lists
    if lower:  # float32 and the other half dtype cast down (mm of float16 under bfloat16
        # autocast gives bfloat16, and the other way round, as in PyTorch)
        return tuple(
            a.to(dtype)
            if isinstance(a, Tensor)
            and a._data.dtype != dtype
            and (a._data.dtype in _TO_LOWER or dtypes.is_bfloat16(a._data.dtype))
            else a
            for a in args
        )
    return tuple(  # bfloat16 and float16 cast up (float64 stays, as in PyTorch)
        a.float()
        if isinstance(a, Tensor)
        and (a._data.dtype == dtypes.float16 or dtypes.is_bfloat16(a._data.dtype))
        else a
        for a in args
    )


AUTOCAST[1] = _cast_arguments


class autocast:  # noqa: N801 - mirrors torch.autocast
    """Context manager and decorator with ``torch.autocast``'s signature and rules.

    Args:
        device_type: ``'cpu'`` or ``'cuda'``.
        dtype: bfloat16 or float16 (the device's default when None); other dtypes
            disable autocast with a warning, as in PyTorch.
        enabled: False makes the block a plain context.
        cache_enabled: the cast-cache flag inside the block (``is_autocast_cache_enabled``;
            None keeps the thread's). chainrule caches no casts, so it changes nothing else.

    Raises:
        NotImplementedError: a float16 autocast (or a CUDA one) that would take effect.
    """

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        self.device = check_device("autocast", device_type)
        self.fast_dtype = (
            get_autocast_dtype(device_type) if dtype is None else dtypes.as_dtype(dtype)
        )
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda" and not cuda.is_available():
            warnings.warn(
                "autocast: device_type 'cuda' was given but CUDA is not available "
                "(cr.cuda.is_available() is False). Disabling autocast.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        supported = self.fast_dtype == dtypes.float16 or dtypes.is_bfloat16(self.fast_dtype)
        if self._enabled and not supported:
            warnings.warn(
                f"In {device_type} autocast, but the target dtype is not supported. Disabling "
                f"autocast. {device_type} autocast supports bfloat16 and float16, got "
                f"{self.fast_dtype}.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        if self._enabled and device_type != "cpu":
            raise NotImplementedError(
                f"autocast({device_type!r}, dtype={self.fast_dtype}): chainrule's autocast "
                "casts ops on the CPU only (PyTorch's CUDA cast lists are not implemented for "
                "the CuPy backend); pass enabled=False, or cast the model explicitly with "
                "model.half()"
            )
        self._cache_enabled = (
            autocast_state.is_autocast_cache_enabled()
            if cache_enabled is None
            else bool(cache_enabled)
        )
        self._saved: list = []

    def __enter__(self) -> "autocast":
        self._saved.append((list(state()[self.device]), autocast_state.is_autocast_cache_enabled()))
        assign(self.device, self._enabled, self.fast_dtype, len(current().backward_passes))
        autocast_state.set_autocast_cache_enabled(self._cache_enabled)
        autocast_state.autocast_increment_nesting()
        return self

    def __exit__(self, *exc: Any) -> None:
        previous, cache = self._saved.pop()
        if autocast_state.autocast_decrement_nesting() == 0:
            autocast_state.clear_autocast_cache()
        assign(self.device, *previous)
        autocast_state.set_autocast_cache_enabled(cache)

    def __call__(self, fn: Callable) -> Callable:
        """Use as a decorator: ``fn`` runs inside this context."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper
