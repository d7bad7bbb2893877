"""The arguments of a convolution as PyTorch reads them: ints or tuples of ints per spatial
dim (``int_tuple``), its checks of stride, dilation and padding in its order
(``check_geometry``), string padding ('same' / 'valid', with PyTorch's warning for a
lopsided 'same', ``padding_pairs``) and the bias dtype rule of string padding
(``string_padding_bias``), and the channel, groups and dtype agreement of input and weight
(``check_channels``). Shared by the 1-d/2-d convolutions (``conv.py``) and the 3-d ones
(``nn/functional/conv3d.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._user_warnings import warn_once
from ..autograd.tensor import Tensor
from ._tensor_args import called_as, torch_type_name
from ._util import DtypeError, ShapeError, torch_words
from .invalid_arguments import combination_error

__all__ = [
    "ConvTypeError",
    "check_channels",
    "check_geometry",
    "check_geometry_first",
    "check_groups",
    "check_zero_dilation",
    "conv_type_error",
    "int_tuple",
    "padding_pairs",
    "refuse_types_first",
    "too_small_input",
    "torch_words",
    "refuse_weight_rank",
    "string_padding_bias",
]


_FORWARD_OPS = ("conv1d", "conv2d", "conv3d")  # two overloads: a type error lists them
_FORWARD_FORMS = (
    "(Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, tuple of "
    "ints padding = 0, tuple of ints dilation = 1, int groups = 1)",
    "(Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, str padding "
    '= "valid", tuple of ints dilation = 1, int groups = 1)',
)
_FORWARD_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_TRANSPOSED_ARGS = (
    *("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
)


class ConvTypeError(TypeError):
    """A convolution argument of a type PyTorch's parser refuses where its error lists the
    overloads (``conv1d/2d/3d``): the public op re-raises it as :func:`conv_type_error`
    with its arguments (this message is the fallback)."""


def _int_like(e: Any, i: int) -> bool:
    """Whether PyTorch's ``tuple of ints`` parser takes ``e`` at position ``i``: an int, a
    NumPy integer, a 0-d integer tensor, and a bool after the first."""
    return (
        type(e) is int
        or isinstance(e, np.integer)
        or (i > 0 and isinstance(e, bool))
        or (isinstance(e, Tensor) and e.ndim == 0 and e.dtype.kind in "iu")
    )


def _parser_error(v: Any, name: str, op: str, i: int | None) -> TypeError:
    """PyTorch's TypeError for ``v`` (element ``i``; None: ``v`` itself) given as ``op``'s
    ``tuple of ints`` argument ``name``."""
    if i:  # a later element fails to unpack, whatever the op
        return TypeError(
            f"{op}(): argument '{name}' failed to unpack the object at pos {i + 1} with error "
            f'"type must be tuple of ints,but got {torch_type_name(v[i])}"'
        )
    if op in _FORWARD_OPS:
        return ConvTypeError(f"{op}(): argument '{name}' must be tuple of ints, got {v!r}")
    _, _, keywords = called_as((op,))
    where = "" if name in keywords else f" (position {_TRANSPOSED_ARGS.index(name) + 1})"
    if i is None or name in keywords:  # a keyword's bad first element: "not tuple"
        return TypeError(
            f"{op}(): argument '{name}'{where} must be tuple of ints, not {torch_type_name(v)}"
        )
    return TypeError(
        f"{op}(): argument '{name}'{where} must be tuple of ints, but found element of type "
        f"{torch_type_name(v[0])} at pos 0"
    )


def int_tuple(v: Any, n: int, name: str, op: str) -> tuple:
    """``v`` (an int or a sequence of ints, as PyTorch's parser takes them: see
    :func:`_int_like`) as ``n`` ints, one given value repeated; PyTorch's TypeError for
    other types and its RuntimeError (a ShapeError is one) for another length."""
    if type(v) is int:
        return (v,) * n
    if isinstance(v, (tuple, list)):
        for i, e in enumerate(v):
            if type(e) is not int and not _int_like(e, i):
                raise _parser_error(v, name, op, i)
        t = tuple(int(e) for e in v)
    elif _int_like(v, 0):
        t = (int(v),)
    else:
        raise _parser_error(v, name, op, None)
    if len(t) == 1:
        t = t * n
    if len(t) != n:
        raise ShapeError(
            f"expected {name} to be a single integer value or a list of {n} values to match "
            f"the convolution dimensions, but got {name}={list(t)}"
        )
    return t


def refuse_weight_rank(w: Tensor, stride: tuple) -> None:
    """PyTorch's RuntimeError for a convolution's weight of another rank than its
    ``len(stride)`` spatial dims (a ``Conv2d`` built with ``kernel_size=()`` or ``(1, 2,
    3)``): under three dims, else the stride (already expanded to the op's dims) that does
    not match the weight's."""
    if w.ndim < 3:
        raise ShapeError("weight should have at least three dimensions")
    if w.ndim != len(stride) + 2:
        raise ShapeError(
            "expected stride to be a single integer value or a list of "
            f"{w.ndim - 2} values to match the convolution dimensions, but got "
            f"stride={list(stride)}"
        )


def check_groups(op: str, groups: Any) -> None:
    """PyTorch's parser for ``groups`` (an int, not a bool; a NumPy integer too): a
    :class:`ConvTypeError` for the forward convolutions, the TypeError naming the argument
    for the transposed ones. Called for a ``groups`` that is not an int only."""
    if isinstance(groups, np.integer) or (
        isinstance(groups, Tensor) and groups.ndim == 0 and groups.dtype.kind in "iu"
    ):
        return
    if op in _FORWARD_OPS:
        raise ConvTypeError(f"{op}(): argument 'groups' must be int, not {groups!r}")
    _, _, keywords = called_as((op,))
    where = "" if "groups" in keywords else " (position 7)"
    raise TypeError(f"{op}(): argument 'groups'{where} must be int, not {torch_type_name(groups)}")


def check_channels(
    op: str,
    x: Tensor,
    w: Tensor,
    groups: int,
    transposed: bool,
    shown: tuple[Tensor, Tensor] | None = None,
) -> None:
    """The channels of ``x`` (N, C, *) and the weight ``w`` agree for ``groups``, and their
    dtypes match (PyTorch promotes nothing here), checked in PyTorch's order and words: the
    weight's first dim is at least ``groups`` (forward and transposed alike), a multiple of
    ``groups``, then ``C`` is the weight's input channels times ``groups`` (forward) or its
    first dim (transposed). ``shown``: the input and weight as the user gave them, whose
    sizes the messages print (conv1d's, computed as a height-1 image). Shared by the
    1-d/2-d and 3-d convolutions."""
    xs, ws = [list(t.shape) for t in (shown if shown is not None else (x, w))]
    if w.shape[0] < groups:  # out_channels=0 (transposed: in_channels): PyTorch's words
        raise torch_words(
            ShapeError(
                f"Given groups={groups}, expected weight to be at least {groups} at "
                f"dimension 0, but got weight of size {ws} instead"
            )
        )
    if w.shape[0] % groups:  # (PyTorch prints the size in two brackets)
        raise torch_words(
            ShapeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at "
                f"dimension 0, but got weight of size [{ws}] instead"
            )
        )
    c = x.shape[1]
    want = w.shape[0] if transposed else w.shape[1] * groups
    if c != want:
        given = "transposed=1" if transposed else f"groups={groups}"
        raise torch_words(
            ShapeError(
                f"Given {given}, weight of size {ws}, expected input{xs} to have {want} "
                f"channels, but got {c} channels instead"
            )
        )
    if x.dtype != w.dtype:
        raise DtypeError(  # a TypeError and, as in PyTorch, a RuntimeError
            f"{op}: input dtype {x.dtype} and weight dtype {w.dtype} differ; "
            "cast one (e.g. model.double() or x.float())"
        )


def conv_type_error(op: str, values: tuple) -> TypeError:
    """PyTorch's TypeError for a forward convolution (``op``: conv1d/2d/3d) whose arguments
    ``values`` (the seven, in its signature's order) no overload takes: the arguments the
    user's call gave (all seven from a module's forward, which passes them positionally)."""
    return combination_error(op, list(zip(_FORWARD_ARGS, values)), _FORWARD_FORMS)


def check_geometry(
    op: str,
    stride: tuple,
    dil: tuple,
    padding: tuple = (),
    output_padding: tuple = (),
    zero_dilation: bool = True,
) -> None:
    """PyTorch's checks of a convolution's numbers, in its order, each a RuntimeError (a
    ShapeError is one, and a ValueError) with PyTorch's words, unprefixed as its (marked
    ``torch_words``, so that conv1d's ``lead_with`` leaves them so). ``zero_dilation=False``:
    a zero dilation is left to :func:`check_zero_dilation` (a forward convolution's kernel
    meets it after the channels)."""
    text = None
    if min(padding, default=0) < 0:
        text = "negative padding is not supported"
    elif min(output_padding, default=0) < 0:
        text = "negative output_padding is not supported"
    elif min(stride) < 1:
        text = "non-positive stride is not supported"
    elif min(dil) < 0:  # PyTorch's words (it checks a zero dilation later)
        text = "dilation should be greater than zero"
    elif min(dil) < 1 and zero_dilation:  # PyTorch's kernels refuse it, in their words
        text = _zero_dilation_text(op, dil)
    if text is not None:
        raise torch_words(ShapeError(text))


def check_zero_dilation(op: str, dil: tuple) -> None:
    """A forward convolution's zero dilation, refused after its channels as PyTorch's
    kernel does ("dilation should be greater than zero, but got [1, 0]")."""
    if min(dil) < 1:
        raise torch_words(ShapeError(_zero_dilation_text(op, dil)))


def _zero_dilation_text(op: str, dil: tuple) -> str:
    """PyTorch's words for a zero dilation: the forward kernels print the list, the
    transposed ones each dim by name (conv_transpose1d's as a height-1 image)."""
    if op.startswith("conv_transpose"):
        names = ("depth", "height", "width")[-len(dil) :]
        got = ", ".join(f"dilation_{n}: {d}" for n, d in zip(names, dil))
        return f"dilation should be greater than zero, but got {got}"
    return f"dilation should be greater than zero, but got {list(dil)}"


def check_geometry_first(op: str, padding: Any, stride: tuple, dil: tuple) -> None:
    """PyTorch's checks of a forward convolution's padding, stride and dilation, which it
    makes before it looks at the channels (a bad padding string or 'same' with a stride,
    then :func:`check_geometry`'s numbers): called before :func:`check_channels`."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise torch_words(ShapeError(f"Invalid padding string: {padding!r}"))
        if padding == "same" and any(s != 1 for s in stride):
            raise torch_words(
                ShapeError("padding='same' is not supported for strided convolutions")
            )
        check_geometry(op, stride, dil, zero_dilation=False)
    else:
        padding = int_tuple(padding, len(stride), "padding", op)
        check_geometry(op, stride, dil, padding, zero_dilation=False)


def _warn_same_asymmetric(before: Any, after: Any) -> None:
    """PyTorch's once-per-process warning when ``padding='same'`` pads one side more (an even
    kernel with an odd dilation: ``dilation * (k - 1)`` odd along some axis)."""
    if any(a != b for a, b in zip(before, after)):
        warn_once(
            "conv_same_asymmetric",
            "Using padding='same' with even kernel lengths and odd dilation may require a "
            "zero-padded copy of the input be created",
        )


def string_padding_bias(input: Any, bias: Any, padding: Any) -> Any:
    """The bias, cast to a real input's dtype where ``padding`` is 'same' or 'valid': PyTorch's
    convolution with a padding string adds a bias of any other real dtype (int64, bool,
    float64 to float32...) in the input's dtype, where a numeric padding refuses it ("Input
    type and bias type should be the same"). Its float32 oneDNN kernels still refuse a batch
    of more than one or groups > 1 there: a backend accident, not mirrored."""
    if (
        isinstance(padding, str)
        and isinstance(bias, Tensor)
        and isinstance(input, Tensor)
        and bias.dtype != input.dtype
        and input.dtype.kind in "fV"
        and bias.dtype.kind in "biufV"
    ):
        return bias.to(input.dtype)
    return bias


def padding_pairs(padding: Any, k: tuple, stride: tuple, dil: tuple, op: str) -> tuple:
    """``padding`` as one ``(before, after)`` pair per spatial dim; 'same' puts any odd extra
    element at the end of the axis, as PyTorch does (and warns, once, that it does)."""
    n = len(k)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":  # PyTorch's RuntimeError (a ShapeError is one, and a ValueError)
            raise ShapeError(f"Invalid padding string: {padding!r}")
        if any(s != 1 for s in stride):
            raise ShapeError("padding='same' is not supported for strided convolutions")
        out = tuple((d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for kk, d in zip(k, dil))
        _warn_same_asymmetric([a for a, _ in out], [b for _, b in out])
        return out
    p = int_tuple(padding, n, "padding", op)
    check_geometry(op, stride, dil, p)
    return tuple((v, v) for v in p)


def refuse_types_first(op: str, values: tuple) -> None:
    """On a forward convolution's length or geometry error: PyTorch's parser checks every
    argument's type first, so an argument of a wrong type (``padding=1.0`` beside a stride
    of the wrong length) is its TypeError listing the overloads. ``values``: the seven, in
    its signature's order. Returns where every type fits (the caller re-raises)."""
    _, _, _, stride, padding, dilation, groups = values
    try:
        for name, v in (("stride", stride), ("padding", padding), ("dilation", dilation)):
            if not isinstance(v, str):
                int_tuple(v, len(v) if isinstance(v, (tuple, list)) else 1, name, op)
        if type(groups) is not int:
            check_groups(op, groups)
    except ConvTypeError:
        raise conv_type_error(op, values) from None
    except ShapeError:
        pass


def too_small_input(sizes: tuple, pad: tuple, k: tuple, dil: tuple) -> ShapeError:
    """PyTorch's RuntimeError (a ShapeError is one) for an input smaller than its dilated
    kernel: "Calculated padded input size per channel: (3 x 4). Kernel size: (11 x 16).
    Kernel size can't be greater than actual input size" (``pad``: (before, after) per dim,
    flattened), in its words (marked ``torch_words``: no op name in front)."""
    padded = [s + pad[2 * i] + pad[2 * i + 1] for i, s in enumerate(sizes)]
    kernel = [d * (kk - 1) + 1 for kk, d in zip(k, dil)]
    return torch_words(  # type: ignore[return-value]
        ShapeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, kernel))}). Kernel size can't be greater "
            "than actual input size"
        )
    )
