"""The argument checks and dtype and layout rules that the normalisation functionals share:
batch, layer and group norm (``normalization.py``), instance norm
(``instance_normalization.py``) and rms norm (``composed_norms.py``).

PyTorch's norms agree on these: affine parameters and running statistics of the input's
dtype or, for a float16 or bfloat16 input, all float32 (computed in float32, the result
rounded back to the input's dtype); no complex input; ``normalized_shape`` a non-empty
tuple of ints; an empty batch gives an empty result still connected to its parameters; and
the result laid out in the input's suggested memory format. One home for them lets
``normalization.py`` re-export ``composed_norms.py``'s functions without an import cycle.
"""

from __future__ import annotations

from typing import Any

from numpy import float16, float32, integer

from ...autograd.state import LOCAL
from ...autograd.tensor import Tensor
from ...dtypes import is_bfloat16
from ...ops._tensor_args import torch_type_name
from ...ops.memory_format import suggested_format

__all__: list[str] = []  # private helpers of the norm functionals, imported by name


def _empty_result(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """Normalising an empty batch: an empty result, still connected to the input and the
    affine parameters (whose gradient is then zero), as PyTorch."""
    y = input * 1.0
    if weight is not None:
        y = y * _bshape(weight, input.ndim)
    return y if bias is None else y + _bshape(bias, input.ndim)


def _same_param_dtype(op: str, input: Tensor, **params: Tensor | None) -> None:
    """The given affine parameters and running statistics share one dtype: the input's or,
    for a float16 or bfloat16 input, float32 (PyTorch's mixed-precision kernels, whose result
    stays in the input's dtype: autocast's bfloat16 activations meet float32 norm weights).
    PyTorch promotes nothing else and raises RuntimeError; so does this."""
    dt = input.dtype
    if all(t is None or t.dtype == dt for t in params.values()):  # the common case, first
        return
    given = {name: t for name, t in params.items() if t is not None}
    dts = {t.dtype for t in given.values()}
    half = _is_half(input.dtype)
    if not dts or dts == {input.dtype} or (half and all(d == float32 for d in dts)):
        return
    also = f" (or all float32, for this {input.dtype} input)" if half else ""
    got = ", ".join(f"{name} {t.dtype}" for name, t in given.items())
    raise RuntimeError(
        f"{op}: expected {', '.join(given)} to have the dtype of input, {input.dtype}"
        f"{also}, got {got}; PyTorch promotes nothing here: convert them with "
        f".to({input.dtype})"
    )


def _is_half(dtype: Any) -> bool:
    """float16 or bfloat16: the dtypes whose norms take float32 parameters."""
    return dtype == float16 or is_bfloat16(dtype)


def _input_dtype(y: Tensor, input: Tensor) -> Tensor:
    """``y`` in the input's dtype: a float16 or bfloat16 input with float32 parameters gives
    a result in the input's dtype, as PyTorch (computed in float32, rounded once)."""
    return y if y.dtype == input.dtype else y.to(input.dtype)


def _suggested(y: Tensor, like: Tensor) -> Tensor:
    """``y`` (shaped as ``like``) in ``like.suggest_memory_format()``, PyTorch's layout for
    batch norm and rms norm results: channels-last (3d) where ``like`` suggests it, else
    row-major (a recorded copy where it is not already)."""
    if LOCAL.state.vmap or (y._data.flags.c_contiguous and like._data.flags.c_contiguous):
        return y
    fmt = suggested_format(like._data)
    return y if fmt is None else y.contiguous(memory_format=fmt)  # None: a conv's own layout


def _bshape(t: Tensor, ndim: int) -> Tensor:
    """Reshape a per-channel (C,) tensor to broadcast over (N, C, *spatial)."""
    return t.reshape((t.shape[0],) + (1,) * (ndim - 2))


def _no_complex(op: str, x: Any) -> None:
    """PyTorch's CPU norm kernels have no complex instance ("not implemented for
    'ComplexFloat'"): refused, not computed."""
    if isinstance(x, Tensor) and x._data.dtype.kind == "c":
        raise NotImplementedError(f"{op}: not implemented for complex input ({x.dtype})")


def _normalized_shape(op: str, normalized_shape: Any) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple, refused as PyTorch refuses it: a bare int or a
    non-integer element is a TypeError (``nn.LayerNorm(4)`` takes an int; ``F.layer_norm``
    does not), an empty shape a RuntimeError."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(
            f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
            f"not {torch_type_name(normalized_shape)}"
        )
    for pos, n in enumerate(normalized_shape):
        if isinstance(n, bool) or not isinstance(n, (int, integer)):
            if isinstance(n, Tensor) and n.ndim == 0 and n._data.dtype.kind in "iu":
                continue  # PyTorch's int list reads a 0-d integer tensor
            if pos:  # PyTorch's parser type-checks the first element, unpacks the rest
                raise TypeError(
                    f"{op}(): argument 'normalized_shape' failed to unpack the object at pos "
                    f'{pos + 1} with error "type must be tuple of ints,but got '
                    f'{torch_type_name(n)}"'
                )
            raise TypeError(
                f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                f"but found element of type {torch_type_name(n)} at pos {pos}"
            )
    if not normalized_shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
            "least one element, but got normalized_shape = []"
        )
    return tuple(int(n) for n in normalized_shape)
