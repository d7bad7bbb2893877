"""Tensor methods PyTorch has only on ``Tensor`` (bound through ``_TENSOR_ONLY`` in
``ops/__init__.py``): the casts ``byte``/``char``/``short``, the legacy ``new``,
``new_empty_strided``, ``bernoulli``, ``prelu``, ``is_pinned``, ``pin_memory``, ``resize_``,
the legacy CPU loops ``map_``/``map2_`` and ``as_subclass``; plus ``resize_as_``, which is
also a root function (re-exported by ``ops/misc_more.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import creation, cuda
from .. import dtypes as _dt
from ..autograd.forward_ad_captures import GUARDING as _GUARDING
from ..autograd.forward_ad_captures import check_captured_write
from ..autograd.tensor import Tensor
from ..creation_options import check_layout
from ..dtype_rules import Size
from ..random import Generator
from ._misc_more_strided import _geometry, _storage, as_strided_
from ._python_loops import check_loop_tensors, loop_fill
from ._util import as_tensor, index_int
from .alias_view import AliasView
from .binding import tensor_method
from .number_arguments import parser_int_list
from .parser_type_errors import BERNOULLI_P_UNSET
from .rearranging import flip_dims

__all__ = [
    "as_strided_method_",
    "as_subclass",
    "bernoulli_method",
    "byte",
    "char",
    "flip_method",
    "reversed_method",
    "is_pinned",
    "pin_memory",
    "map2_",
    "map_",
    "new",
    "new_empty_strided",
    "prelu_method",
    "resize_",
    "resize_as_",
    "short",
]


def byte(self: Tensor, memory_format: Any = None) -> Tensor:
    """``self.to(cr.uint8)`` (``Tensor.byte``)."""
    return self.to(_dt.uint8, memory_format=memory_format)


def char(self: Tensor, memory_format: Any = None) -> Tensor:
    """``self.to(cr.int8)`` (``Tensor.char``)."""
    return self.to(_dt.int8, memory_format=memory_format)


def short(self: Tensor, memory_format: Any = None) -> Tensor:
    """``self.to(cr.int16)`` (``Tensor.short``)."""
    return self.to(_dt.int16, memory_format=memory_format)


def is_pinned(self: Tensor, device: Any = None) -> bool:
    """False: chainrule has no page-locked (pinned) host memory."""
    return False


def pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """``Tensor.pin_memory``: PyTorch copies a CPU tensor into page-locked memory, which makes
    host-to-GPU copies faster. Without an accelerator PyTorch raises, and so does chainrule.
    With one (CuPy), chainrule has no page-locked allocator: the result is an ordinary copy
    (``is_pinned()`` stays False), equal in values, as a pinned copy would be.

    Raises:
        RuntimeError: no accelerator is available, or the tensor is not on the CPU.
    """
    if self.device.type != "cpu":
        raise RuntimeError(
            f"cannot pin a tensor on {self.device}: only dense CPU tensors can be pinned"
        )
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return self.clone()


def new(self: Tensor, *args: Any, device: Any = None) -> Tensor:
    """PyTorch's legacy ``Tensor.new``: ``x.new()`` an empty tensor, ``x.new(2, 3)`` or
    ``x.new(cr.Size([2, 3]))`` an uninitialised one of that size, ``x.new(data)`` a copy of
    ``data`` (a list, tuple or array), ``x.new(t)`` an alias of a tensor ``t`` of the same
    dtype; always of ``x``'s dtype, on ``x``'s device unless ``device`` is given.

    Raises:
        TypeError: a tensor of another dtype, or arguments of no supported form.
    """
    dev = device if device is not None else self.device
    if not args:
        return creation.empty(0, dtype=self.dtype, device=dev)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != self.dtype:
            raise TypeError(
                f"expected {self.dtype} (got {args[0].dtype}) for the tensor given to new()"
            )
        return args[0].detach()
    if len(args) == 1 and isinstance(args[0], Size):
        return creation.empty(tuple(args[0]), dtype=self.dtype, device=dev)
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return creation.empty(tuple(int(a) for a in args), dtype=self.dtype, device=dev)
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
        return creation.tensor(args[0], dtype=self.dtype, device=dev)
    raise TypeError(
        f"new(): expected sizes (ints or a Size), data (a list, tuple or array) or a tensor, "
        f"got {tuple(type(a).__name__ for a in args)}"
    )


def new_empty_strided(
    self: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``Tensor.new_empty_strided``: an uninitialised tensor of ``size`` with element
    ``stride`` over fresh memory, of ``self``'s dtype and device unless given.

    Raises:
        RuntimeError: sizes and strides of different lengths or negative strides.
        NotImplementedError: ``pin_memory=True``.
    """
    if pin_memory:
        raise NotImplementedError("new_empty_strided: pin_memory=True is not supported")
    check_layout("new_empty_strided", layout)  # strided only
    size, stride = _geometry("new_empty_strided", size, stride)
    d = _dt.as_dtype(dtype) if dtype is not None else self.dtype
    need = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    store = creation.empty(need, dtype=d, device=device if device is not None else self.device)
    arr = store._data
    xp_strided = np.lib.stride_tricks.as_strided
    view = xp_strided(arr, size, tuple(s * arr.itemsize for s in stride))
    out = Tensor._make(view, False, None, 0)  # _new would copy into its own layout
    return out._requires_grad_(True) if requires_grad else out


def bernoulli_method(
    self: Tensor, p: float | None = None, *, generator: Generator | None = None
) -> Tensor:
    """``Tensor.bernoulli``: 0/1 draws of ``self``'s shape and dtype, each 1 with
    probability ``self`` (or the number ``p``); not differentiable.

    Raises:
        RuntimeError: a probability outside [0, 1] (as PyTorch).
    """
    from ..creation_random import bernoulli  # noqa: PLC0415 - it imports the ops

    if p is None and not _dt.is_floating(self.dtype):
        raise NotImplementedError(
            f"bernoulli: not implemented for {self.dtype} probabilities; pass a floating "
            "point tensor (e.g. probs.float()), or a number p: x.bernoulli(p)"
        )
    probs = self._data if p is None else np.float64(p)  # vmap's LogicalArray: per sample
    if not ((probs >= 0) & (probs <= 1)).all():
        raise RuntimeError("bernoulli: Expected p_in >= 0 && p_in <= 1 to be true")
    p_arg = BERNOULLI_P_UNSET if p is None else p  # bernoulli refuses an explicit None
    return bernoulli(self, p_arg, generator=generator)  # torch.bernoulli's draws (and vmap's)


def prelu_method(self: Tensor, weight: Tensor) -> Tensor:
    """``Tensor.prelu``: ``cr.nn.functional.prelu(self, weight)``."""
    from ..nn.functional import prelu  # in here: nn.functional imports ops

    return prelu(self, weight)


def _resizable(op: str, x: Tensor) -> None:
    if _GUARDING[0]:  # a captured tensor inside a grad transform of cr.func: as PyTorch
        check_captured_write(x, op)
    if x.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if x._fw_tangent is not None:  # a dual tensor: PyTorch's words, grammar and all
        raise RuntimeError("cannot resize variables that has a forward grad")


def resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """``Tensor.resize_``: give ``self`` the contiguous shape ``sizes`` over its storage
    from its storage offset; when the storage is too small, new memory is allocated and the
    old values are copied to its start (the rest is uninitialised), as PyTorch.

    chainrule cannot grow a NumPy array in place: after a growing resize, other tensors that
    shared the old memory no longer share it with ``self`` (in PyTorch they share the grown
    storage). A shrinking or same-size resize stays a view of the same memory.

    Raises:
        RuntimeError: ``self`` requires grad or has a forward-mode tangent (as PyTorch); a
            negative size.
        NotImplementedError: a ``memory_format`` other than contiguous.
    """
    if memory_format is not None and "contiguous" not in str(memory_format):
        raise NotImplementedError(f"resize_: memory_format={memory_format} is not supported")
    _resizable("resize_", self)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    shape = tuple(int(s) for s in sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    if shape == tuple(self._data.shape):
        return self  # the same shape: nothing changes (strides kept, version not bumped)
    n = math.prod(shape)
    flat, off = _storage("resize_", self._data)
    if off + n <= flat.size:
        self._data = flat[off : off + n].reshape(shape)
    else:
        grown = np.empty(n, self.dtype)
        kept = min(n, flat.size - off)  # the storage's values from the offset on, as PyTorch
        grown[:kept] = flat[off : off + kept]
        self._data = grown.reshape(shape)
    self._vc[0] += 1
    return self


@tensor_method
def resize_as_(input: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:  # noqa: A002
    """``torch.resize_as_`` / ``Tensor.resize_as_``: ``input.resize_(the_template.shape)``."""
    _resizable("resize_as_", input)
    return resize_(input, as_tensor(the_template).shape, memory_format=memory_format)


def as_strided_method_(
    self: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None
) -> Tensor:
    """``Tensor.as_strided_``: :func:`as_strided_` as a method. A function of its own: the
    in-place forms bound through ``_TENSOR_ONLY`` must not be the root function object, which
    would then be left out of ``chainrule.*``."""
    return as_strided_(self, size, stride, storage_offset)


def flip_method(self: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    """``Tensor.flip``: :func:`flip` whose dims may also be ints (``x.flip(0, 1)``,
    ``x.flip(1)``), as PyTorch's method; ``dims=`` by keyword is a tuple or list."""
    if set(kwargs) - {"dims"}:
        raise TypeError(f"flip() got unexpected keyword arguments {sorted(set(kwargs) - {'dims'})}")
    if "dims" in kwargs:
        if dims:
            raise TypeError("flip() got multiple values for argument 'dims'")
        if not isinstance(kwargs["dims"], (tuple, list)):
            kind = type(kwargs["dims"]).__name__
            raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not {kind}")
        dims = (kwargs["dims"],)
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    if len(dims) != 1 or type(dims[0]) is not int:  # a sequence, or not ints
        flat = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if not all(type(index_int(d)) is int for d in flat):  # (a one-element int tensor)
            parser_int_list("flip", "dims", 2, dims)  # None, a bool, a float: PyTorch's error
    return flip_dims(self, dims[0] if len(dims) == 1 else dims)


flip_method.__name__ = flip_method.__qualname__ = "flip"


def reversed_method(self: Tensor) -> Tensor:
    """``Tensor.__reversed__`` (``reversed(x)``): ``x.flip(0)``, a copy under FlipBackward0, as
    PyTorch's; a 0-d tensor is returned itself. d2l's ``BiRNNScratch`` runs its backward RNN
    on ``reversed(inputs)``, which Python would otherwise walk as a lazy ``reversed`` object."""
    if self.ndim == 0:
        return self
    return flip_dims(self, 0)


reversed_method.__name__ = reversed_method.__qualname__ = "__reversed__"


def map_(self: Tensor, tensor: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """Legacy ``Tensor.map_``: ``self[i] = callable(self[i], tensor[i])`` for every element,
    ``tensor`` (a Tensor of ``self``'s dtype) broadcast to ``self`` (a Python loop, CPU only
    as in PyTorch; results stored under PyTorch's conversion rules, see
    :mod:`._python_loops`).

    Raises:
        RuntimeError: ``self`` or ``tensor`` requires grad; ``tensor`` does not broadcast.
        TypeError: ``tensor`` is not a Tensor or has another dtype.
    """
    (other,) = check_loop_tensors("map_", self, [("other", tensor)])
    return loop_fill(self, callable, [other])


def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """Legacy ``Tensor.map2_``: ``self[i] = callable(self[i], x[i], y[i])``, ``x`` and ``y``
    (Tensors of ``self``'s dtype) broadcast to ``self``.

    Raises:
        RuntimeError: a tensor requires grad or does not broadcast.
        TypeError: ``x`` or ``y`` is not a Tensor or has another dtype.
    """
    xs, ys = check_loop_tensors("map2_", self, [("x", x), ("y", y)])
    return loop_fill(self, callable, [xs, ys])


def as_subclass(self: Tensor, cls: type) -> Tensor:
    """``Tensor.as_subclass``: an alias of ``self`` (PyTorch's ``self.alias()``) as an
    instance of the Tensor subclass ``cls`` (no ``__init__`` runs). It is a view of ``self``:
    same memory and version counter, ``_base`` set, and, when ``self`` requires grad, a
    non-leaf whose ``grad_fn`` is ``AliasBackward0`` into ``self``'s history, so a gradient
    reaches ``self`` and an in-place change of either is seen by the other's graph. (So a
    subclass's op results, converted by ``__torch_function__``, and a subclass instance that
    requires grad loaded by ``cr.load`` show ``AliasBackward0``, as PyTorch's do.)

    Raises:
        TypeError: ``cls`` is not a subclass of ``Tensor``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass: cls must be a subclass of Tensor, got {cls!r}")
    alias = AliasView.apply(self)  # the op itself, not dispatched
    out = object.__new__(cls)
    for name in ("_data", "_rg", "grad_fn", "_output_nr", "_vc", "_view", "_grad", "_hooks"):
        object.__setattr__(out, name, getattr(alias, name))
    out._fw = alias._fw
    return out
