"""The arguments of 1-D/2-D pooling as PyTorch reads them: sizes (ints only: a float or a
string is its parser's TypeError), flags (Python bools only), the output size of a window
sweep, and the checked geometry ``(kernel, stride, padding, dilation, output)`` of a 2-D op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._tensor_args import called_as, torch_type_name
from ._util import ShapeError, no_complex_kernel

__all__ = ["check_flag", "size_ints", "types_first"]


_POSITIONS = {"kernel_size": 2, "stride": 3, "padding": 4, "dilation": 5}


def size_ints(v: Any, name: str, op: str) -> tuple[int, ...]:
    """A pooling size argument's entries as ints: ints, NumPy ints and 0-d integer tensors; a
    float or a string anywhere is PyTorch's TypeError (``stride=2.5`` was rounded, ``"3"``
    read as 3), a bool leading a list too (after the first entry it is 1, as PyTorch's
    parser reads it)."""
    items = v if isinstance(v, (tuple, list)) else (v,)
    out = []
    for i, e in enumerate(items):
        integer = (isinstance(e, (int, np.integer)) and (i or not isinstance(e, bool))) or (
            getattr(e, "ndim", None) == 0
            and getattr(e, "dtype", None) is not None
            and str(e.dtype).startswith(("torch.int", "torch.uint", "int", "uint"))
        )
        if not integer:
            _refuse_size(v, name, op)
        out.append(int(e))
    return tuple(out)


def _refuse_size(v: Any, name: str, op: str) -> None:
    """PyTorch's parser TypeError for a pooling size ``v`` with a non-int entry: its
    position named where the functional passes it positionally (``max_pool*``' Python
    wrappers always do; ``avg_pool*`` are the builtins, which name none for a keyword)."""
    pos = _POSITIONS.get(name)
    if pos is None or not op.startswith(("max_pool", "avg_pool")):
        where = ""
    elif op.startswith("max_pool"):
        where = f" (position {pos})"
    else:
        where = "" if name in called_as((op,))[2] else f" (position {pos})"
    if not isinstance(v, (tuple, list)):
        raise TypeError(
            f"{op}(): argument '{name}'{where} must be tuple of ints, not {torch_type_name(v)}"
        )
    kind = torch_type_name(v[0])
    if not isinstance(v[0], (int, np.integer)) or isinstance(v[0], (bool, np.bool_)):
        raise TypeError(
            f"{op}(): argument '{name}'{where} must be tuple of ints, but found element of type "
            f"{kind} at pos 0"
        )
    i, e = next((i, e) for i, e in enumerate(v) if not isinstance(e, (int, np.integer)))
    raise TypeError(
        f"{op}(): argument '{name}' failed to unpack the object at pos {i + 1} with error "
        f'"type must be tuple of ints,but got {torch_type_name(e)}"'
    )


_PAIR_WORDS = {  # PyTorch's words per argument
    "kernel_size": "must either be a single int, or a tuple of two ints",
    "stride": "must either be omitted, a single int, or a tuple of two ints",
    "padding": "must either be a single int, or a tuple of two ints",
    "dilation": "must be either a single int, or a tuple of two ints",
}


def _pair(v: Any, name: str, op: str) -> tuple:
    if isinstance(v, (int, np.integer)) or getattr(v, "ndim", None) == 0:  # int, 0-d tensor
        (one,) = size_ints(v, name, op)
        return (one, one)
    t = size_ints(v, name, op)
    if len(t) == 1:
        t = t * 2
    if len(t) != 2:  # PyTorch's RuntimeError (a ShapeError is one, and a ValueError)
        raise ShapeError(f"{op}: {name} {_PAIR_WORDS.get(name, _PAIR_WORDS['kernel_size'])}")
    return t


def _out(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    num = size + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= size + p:  # the last window must start inside the input
        o -= 1
    return o


def check_flag(op: str, name: str, value: Any) -> None:
    """PyTorch's TypeError for a pooling flag that is not a Python bool (``ceil_mode=1``,
    ``count_include_pad=2.5``: its parser takes bools only)."""
    if type(value) is not bool:
        kind = type(value)
        shown = kind.__name__  # PyTorch's parser: module-qualified outside builtins (numpy.bool)
        if kind.__module__ not in ("builtins",) and not isinstance(value, Tensor):
            shown = f"{kind.__module__}.{kind.__qualname__}"
        pos = {"ceil_mode": 6 if op.startswith("max_pool") else 5, "count_include_pad": 6}
        if op.startswith("max_pool") and name in pos:  # the Python wrapper: positional
            where = f" (position {pos[name]})"
        elif op.startswith("avg_pool") and name in pos and name not in called_as((op,))[2]:
            where = f" (position {pos[name]})"
        else:
            where = ""
        raise TypeError(f"{op}(): argument '{name}'{where} must be bool, not {shown}")


def types_first(op: str, kernel_size, stride, padding, dilation, ceil_mode) -> None:
    """PyTorch's parser reads every argument's type before the kernel checks a length or
    a value: the TypeError of the first argument (in signature order) that is not ints or
    a bool, if any. Called where a later check failed (an error path only), before its
    error is raised (``max_pool2d(x, (2, 2, 2), stride=1.0)``: the stride's TypeError)."""
    for name, v in (
        ("kernel_size", kernel_size),
        ("stride", stride),
        ("padding", padding),
        ("dilation", dilation),
    ):
        if type(v) is not int and v is not None:
            size_ints(v, name, op)
    check_flag(op, "ceil_mode", ceil_mode)


def _params(op: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    """:func:`_checked_params`, its errors preceded by any argument's TypeError (PyTorch
    parses all types first)."""
    try:
        return _checked_params(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    except (TypeError, ValueError):
        if isinstance(x, Tensor):
            types_first(op, kernel_size, stride, padding, dilation, ceil_mode)
        raise


def _checked_params(op: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    check_flag(op, "ceil_mode", ceil_mode)
    if not isinstance(x, Tensor) or x.ndim not in (3, 4):  # ShapeError: PyTorch's RuntimeError
        raise ShapeError(
            f"{op}: non-empty 3D or 4D (batch mode) tensor expected for input (a 3-D "
            f"(C, H, W) or 4-D (N, C, H, W) one), got {getattr(x, 'shape', type(x).__name__)}"
        )
    no_complex_kernel(op, x)
    if 0 in tuple(x.shape)[x.ndim - 3 :]:  # only the batch may be empty (PyTorch)
        raise ShapeError(
            f"{op}: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
            f"input, but got:{list(x.shape)}"
        )
    k = _pair(kernel_size, "kernel_size", op)
    s = (
        k
        if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
        else _pair(stride, "stride", op)
    )
    p = _pair(padding, "padding", op)
    d = _pair(dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ShapeError(f"{op}: kernel_size, stride and dilation must be >= 1, got {k}, {s}, {d}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2 or min(p) < 0:
        raise ShapeError(
            f"{op}: padding {p} must be non-negative and at most half the kernel size {k}"
        )
    h, w = x.shape[-2:]
    ho = _out(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = _out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:  # both ValueError and PyTorch's RuntimeError
        raise ShapeError(
            f"{op}: input {tuple(x.shape)} is too small for kernel {k}, "
            f"padding {p}, dilation {d}: output would be {ho}x{wo}"
        )
    return (k, s, p, d, (ho, wo))
