"""Observers (``torch.ao.quantization.observer``): modules that watch the values passing
through them and choose a scale and zero point for them.

``MinMaxObserver`` keeps the running min and max of everything it has seen;
``PerChannelMinMaxObserver`` one min and max per index of ``ch_axis``. ``calculate_qparams``
then maps ``[min(min, 0), max(max, 0)]`` onto ``[quant_min, quant_max]``, in float32 as
PyTorch computes it:

- affine: ``scale = (max - min) / (quant_max - quant_min)``, at least ``eps``;
  ``zero_point = quant_min - round(min / scale)`` clamped to the range (int32);
- symmetric: ``scale = max(-min, max) / ((quant_max - quant_min) / 2)``, at least ``eps``;
  ``zero_point`` 0 for signed dtypes, the middle of the range (128 by default) for quint8
  (int64).

``PlaceholderObserver`` only records a dtype (dynamic quantization's activations are
quantized per call instead).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ... import nn
from ...autograd.tensor import Tensor
from ...creation import tensor as _tensor
from ...dtype_objects import dtype as dtype_class
from ...qtypes import (
    QDtype,
    per_channel_affine,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qint8,
    qint32,
    quint8,
)

__all__ = [
    "MinMaxObserver",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PlaceholderObserver",
    "UniformQuantizationObserverBase",
]

_F32 = np.float32
_EPS = float(np.finfo(np.float32).eps)
_REDUCE_RANGE_WARNING = (
    "Please use quant_min and quant_max to specify the range for observers.                    "
    " reduce_range will be deprecated in a future release of PyTorch."
)


def _range(dtype: Any, reduce_range: bool, quant_min: Any, quant_max: Any) -> tuple[int, int]:
    if quant_min is not None and quant_max is not None:
        if not quant_min <= 0 <= quant_max:
            raise AssertionError("Used-specified quantization range must include 0.")
        if quant_min >= quant_max:
            raise AssertionError("qmin must be strictly less than qmax for user-specified range.")
        if reduce_range:  # torch halves a user's range too (x86's QAT qconfig: 0..255 -> 0..127)
            return int(quant_min) // 2, int(quant_max) // 2
        return int(quant_min), int(quant_max)
    if dtype is qint8:
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype is quint8:
        return (0, 127) if reduce_range else (0, 255)
    if dtype is qint32:
        return -(2**31), 2**31 - 1
    raise NotImplementedError(f"observer: dtype {dtype!r} is not supported (qint8, quint8, qint32)")


_DEFAULT_OBSERVER_WORDS = (
    "Default Observer only works for (torch.qint8, torch.quint8, torch.quint4x2, torch.qint32, "
    "torch.int8, torch.uint8, torch.int16, torch.int32, torch.float8_e5m2, "
    "torch.float8_e4m3fn, torch.uint16) data type"
)


class _ObserverDtypeError(NotImplementedError, AssertionError):
    """An observer's ``dtype`` that is no dtype at all: PyTorch's AssertionError, and the
    NotImplementedError chainrule raises for a dtype it has no observer for."""


class ObserverBase(nn.Module):
    """The base of every observer: a module that sees values and records a dtype."""

    def __init__(self, dtype: Any, is_dynamic: bool = False) -> None:
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic

    @classmethod
    def with_args(cls, **kwargs: Any) -> Any:
        """A factory of this observer with ``kwargs`` (PyTorch's ``functools.partial``)."""
        return _PartialObserver(cls, kwargs)


class _PartialObserver:
    """``Observer.with_args(...)``: calling it builds the observer."""

    def __init__(self, cls: type, kwargs: dict) -> None:
        self.cls, self.kwargs = cls, kwargs

    def __call__(self, **more: Any) -> Any:
        return self.cls(**{**self.kwargs, **more})

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v if isinstance(v, np.dtype) else repr(v)}" for k, v in self.kwargs.items()
        )
        return f"functools.partial(<class '{_public_path(self.cls)}'>, {args}){{}}"


def resize_buffers_to(module: nn.Module, state_dict: dict, prefix: str, names: tuple) -> None:
    """Give ``module``'s buffers ``names`` the shapes they have in ``state_dict`` before it
    is loaded (per-channel ranges and qparams have one entry per channel once observed,
    none or one before), as torch's observers and fake quantizers do."""
    for name in names:
        value = state_dict.get(prefix + name)
        buf = getattr(module, name)
        if value is not None and tuple(value.shape) != tuple(buf.shape):
            buf._data = np.zeros(tuple(value.shape), buf._data.dtype)


class _ResizingLoad:
    """Loads the buffers ``_resized`` in whatever shape the state dict has them."""

    _resized: tuple = ()

    def _load_from_state_dict(
        self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
        missing_keys: list, unexpected_keys: list, error_msgs: list,
    ) -> None:  # fmt: skip
        resize_buffers_to(self, state_dict, prefix, self._resized)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def _public_path(cls: type) -> str:
    module = getattr(cls, "_public_module", "observer")
    return f"chainrule.ao.quantization.{module}.{cls.__name__}"


class UniformQuantizationObserverBase(ObserverBase):
    """Observers that map a range of values uniformly onto the integers of a dtype."""

    _schemes: tuple = ()

    def __init__(
        self,
        dtype: Any = quint8,
        qscheme: Any = per_tensor_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        factory_kwargs: Any = None,
        eps: float = _EPS,
        is_dynamic: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise NotImplementedError(f"{type(self).__name__}: arguments {sorted(kwargs)}")
        if factory_kwargs is not None:
            raise NotImplementedError(f"{type(self).__name__}: factory_kwargs")
        if not isinstance(dtype, QDtype):
            kind = NotImplementedError if isinstance(dtype, dtype_class) else _ObserverDtypeError
            raise kind(  # a non-dtype: PyTorch's assert's words first
                ("" if kind is NotImplementedError else _DEFAULT_OBSERVER_WORDS + "\n")
                + f"{type(self).__name__}: dtype {dtype!r} is not supported (qint8, quint8, qint32)"
            )
        super().__init__(dtype, is_dynamic)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn(_REDUCE_RANGE_WARNING, UserWarning, stacklevel=3)
        self.reduce_range = reduce_range
        self.register_buffer("eps", _tensor([eps], dtype=np.float32))
        symmetric = qscheme in (per_tensor_symmetric, per_channel_symmetric)
        if symmetric and reduce_range and dtype is quint8:
            raise NotImplementedError(
                "Cannot reduce range for symmetric                                        "
                "quantization for quint8"
            )
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        self.quant_min, self.quant_max = _range(dtype, reduce_range, quant_min, quant_max)

    def _calculate(self, min_val: np.ndarray, max_val: np.ndarray) -> tuple[Tensor, Tensor]:
        """Scale and zero point (each of ``min_val``'s shape, at least 1-d) for the ranges
        ``[min_val, max_val]``."""
        qmin, qmax = self.quant_min, self.quant_max
        eps = _F32(self.eps._data.reshape(-1)[0])
        with np.errstate(all="ignore"):
            min_neg = np.minimum(min_val, _F32(0)).astype(_F32)
            max_pos = np.maximum(max_val, _F32(0)).astype(_F32)
            if self.qscheme in (per_tensor_symmetric, per_channel_symmetric):
                max_pos = np.maximum(-min_neg, max_pos)
                scale = (max_pos / _F32((qmax - qmin) / 2)).astype(_F32)
                scale = np.maximum(scale, eps)
                mid = (qmin + qmax) // 2 if self.has_customized_qrange else 128
                zp = np.full(scale.shape, mid if self.dtype is quint8 else 0, np.int64)
            else:
                scale = ((max_pos - min_neg) / _F32(qmax - qmin)).astype(_F32)
                scale = np.maximum(scale, eps)
                zp = qmin - np.rint(min_neg / scale).astype(np.int64)
                zp = np.clip(zp, qmin, qmax).astype(np.int32)
        return _tensor(np.atleast_1d(scale)), _tensor(np.atleast_1d(zp))


class MinMaxObserver(UniformQuantizationObserverBase):
    """Running min and max of everything seen; qparams per tensor."""

    def __init__(
        self,
        dtype: Any = quint8,
        qscheme: Any = per_tensor_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        factory_kwargs: Any = None,
        eps: float = _EPS,
        is_dynamic: bool = False,
        **kwargs: Any,
    ) -> None:
        if qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise NotImplementedError(
                "MinMaxObserver's qscheme only support torch.per_tensor_symmetric              "
                "       and torch.per_tensor_affine."
            )
        super().__init__(
            dtype, qscheme, reduce_range, quant_min, quant_max, factory_kwargs, eps, is_dynamic,
            **kwargs,
        )  # fmt: skip
        self.register_buffer("min_val", _tensor(float("inf"), dtype=np.float32))
        self.register_buffer("max_val", _tensor(float("-inf"), dtype=np.float32))

    def forward(self, x_orig: Tensor) -> Tensor:
        """Widen the running range by ``x_orig`` and return it unchanged."""
        if x_orig.numel() == 0:
            return x_orig
        x = np.asarray(x_orig.detach()._data, np.float32)
        lo, hi = x.min(), x.max()  # NaN propagates, as torch.aminmax
        # 0-d arrays, not NumPy scalars: load_state_dict copies into them
        self.min_val._data = np.asarray(np.minimum(lo, self.min_val._data), np.float32)
        self.max_val._data = np.asarray(np.maximum(hi, self.max_val._data), np.float32)
        return x_orig

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        """The scale (float32) and zero point of the range seen so far; PyTorch's defaults
        (1.0 and 0) with its warning before anything was seen."""
        lo, hi = self.min_val._data, self.max_val._data
        if lo == np.inf and hi == -np.inf:
            warnings.warn(
                "must run observer before calling calculate_qparams. Returning default values.",
                UserWarning,
                stacklevel=2,
            )
            return _tensor([1.0], dtype=np.float32), _tensor([0])
        return self._calculate(np.asarray(lo), np.asarray(hi))

    def extra_repr(self) -> str:
        return f"min_val={float(self.min_val._data)}, max_val={float(self.max_val._data)}"

    def reset_min_max_vals(self) -> None:
        self.min_val._data = np.asarray(np.inf, np.float32)
        self.max_val._data = np.asarray(-np.inf, np.float32)


class PerChannelMinMaxObserver(_ResizingLoad, UniformQuantizationObserverBase):
    """Running min and max per index of ``ch_axis``; qparams per channel."""

    _resized = ("min_val", "max_val")

    def __init__(
        self,
        ch_axis: int = 0,
        dtype: Any = quint8,
        qscheme: Any = per_channel_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        factory_kwargs: Any = None,
        eps: float = _EPS,
        is_dynamic: bool = False,
        **kwargs: Any,
    ) -> None:
        if qscheme not in (per_channel_affine, per_channel_symmetric):
            raise NotImplementedError(
                f"PerChannelMinMaxObserver: qscheme {qscheme!r} is not supported "
                "(per_channel_affine, per_channel_symmetric)"
            )
        super().__init__(
            dtype, qscheme, reduce_range, quant_min, quant_max, factory_kwargs, eps, is_dynamic,
            **kwargs,
        )  # fmt: skip
        self.ch_axis = ch_axis
        self.register_buffer("min_val", _tensor(np.zeros(0, np.float32)))
        self.register_buffer("max_val", _tensor(np.zeros(0, np.float32)))

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = np.asarray(x_orig.detach()._data, np.float32)
        x = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        lo, hi = x.min(axis=1), x.max(axis=1)
        if self.min_val._data.size:
            lo = np.minimum(lo, self.min_val._data)
            hi = np.maximum(hi, self.max_val._data)
        self.min_val._data = lo.astype(np.float32)
        self.max_val._data = hi.astype(np.float32)
        return x_orig

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        if self.min_val._data.size == 0:
            warnings.warn(
                "must run observer before calling calculate_qparams. Returning default values.",
                UserWarning,
                stacklevel=2,
            )
            return _tensor([1.0], dtype=np.float32), _tensor([0])
        return self._calculate(self.min_val._data, self.max_val._data)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val!r}, max_val={self.max_val!r}"


class PlaceholderObserver(ObserverBase):
    """Records the dtype (and dynamic flag) a later step quantizes to; observes nothing."""

    def __init__(
        self,
        dtype: Any = np.float32,
        custom_op_name: str = "",
        compute_dtype: Any = None,
        quant_min: int | None = None,
        quant_max: int | None = None,
        qscheme: Any = None,
        eps: Any = None,
        is_dynamic: bool = False,
    ) -> None:
        super().__init__(dtype, is_dynamic)
        self.quant_min, self.quant_max = quant_min, quant_max
        self.qscheme = qscheme
        self.custom_op_name = custom_op_name

    def forward(self, x: Tensor) -> Tensor:
        return x

    def extra_repr(self) -> str:
        return f"dtype={self.dtype!r}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self) -> Any:
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")
