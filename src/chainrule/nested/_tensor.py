"""The nested tensor object (``torch.nested``'s tensors): a layer over dense tensors.

A :class:`NestedTensor` is a ``Tensor`` subclass holding no array of its own; what it holds
depends on its layout:

- ``strided``: a list of component tensors (``_comps``), of equal dim but any sizes. A leaf
  made with ``requires_grad=True`` packs its components in one flat leaf buffer and views
  them out of it, so gradients reach one place (``nt.grad``).
- ``jagged``: ``_values`` (the components concatenated along the ragged dim), ``_offsets``
  (int64, length B+1), optional ``_lengths`` (a view with holes) and ``_ragged_idx`` (the
  ragged dim of the nested tensor, >= 1; it is ``_ragged_idx - 1`` in ``_values``). The
  ragged size is a :class:`RaggedInt` (``j1``, ``j2``, ...), one per offsets tensor, as
  torch's symbolic ``j`` sizes: two jagged tensors combine only if they share it.

Every public op reaches :meth:`NestedTensor.__torch_function__` (chainrule's
``__torch_function__`` protocol), which runs ``chainrule.nested._ops``'s handler for it on
the values or on each component, with chainrule's dense ops (so autograd runs through them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from .. import overrides as _overrides
from ..autograd import backward as _backward
from ..autograd import torch_function as _tf
from ..autograd.tensor import Tensor
from ..backend import Device
from ..dtype_objects import public_dtype
from ..dtypes import get_default_dtype
from ..ops import cat
from ..ops._util import dim_range_error
from ..ops.tensor_queries import layout, strided
from ._ragged import RaggedInt, RaggedSize, jagged, ragged_of

__all__ = ["NestedTensor", "RaggedInt", "RaggedSize", "jagged"]

_SIZES_ERROR = "Internal error: NestedTensorImpl doesn't support sizes. Please file an issue."


class NestedTensor(Tensor):
    """A batch of tensors of different sizes (``torch.nested``'s nested tensor).

    Build one with ``cr.nested.nested_tensor`` (or ``as_nested_tensor``,
    ``nested_tensor_from_jagged``, ``narrow``, ``masked_select``), not directly."""

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def _strided(cls, comps: list[Tensor], buffer: Tensor | None = None) -> NestedTensor:
        """A strided-layout nested tensor of ``comps`` (views of ``buffer`` for a leaf)."""
        self = cls._blank()
        d = self.__dict__
        d["_layout"], d["_comps"], d["_buffer"] = strided, list(comps), buffer
        return self

    @classmethod
    def _jagged(
        cls,
        values: Tensor,
        offsets: Tensor,
        lengths: Tensor | None = None,
        ragged_idx: int = 1,
        sym: RaggedInt | None = None,
    ) -> NestedTensor:
        """A jagged-layout nested tensor over ``values`` split by ``offsets``."""
        self = cls._blank()
        d = self.__dict__
        d["_layout"], d["_values"], d["_offsets"], d["_lengths"] = jagged, values, offsets, lengths
        d["_ragged_idx"], d["_comps"] = ragged_idx, None
        d["_sym"] = (
            sym if sym is not None else ragged_of(lengths if lengths is not None else offsets)
        )
        return self

    @classmethod
    def _blank(cls) -> NestedTensor:
        ensure_dispatch()
        self = object.__new__(cls)
        self._data = None
        self._grad = None
        self._rg = False
        self._output_nr = 0
        self._vc = [0]
        self._hooks = None
        self._fw = None
        self._view = None
        return self

    # ---- structure ------------------------------------------------------------------------
    @property
    def layout(self) -> layout:
        """``torch.strided`` or ``torch.jagged``."""
        return self.__dict__["_layout"]

    @property
    def is_nested(self) -> bool:
        """True: this is a nested tensor."""
        return True

    @property
    def is_sparse(self) -> bool:
        """False: nested tensors are not sparse."""
        return False

    def _is_jagged(self) -> bool:
        return self.__dict__["_layout"] is jagged

    def _lens(self) -> list[int]:
        """The ragged lengths of a jagged tensor's components."""
        d = self.__dict__
        if d["_lengths"] is not None:
            return [int(n) for n in d["_lengths"].tolist()]
        offs = d["_offsets"].tolist()
        return [int(offs[i + 1] - offs[i]) for i in range(len(offs) - 1)]

    def _starts(self) -> list[int]:
        return [int(o) for o in self.__dict__["_offsets"].tolist()[: len(self._lens())]]

    def _components(self) -> list[Tensor]:
        """The component tensors (jagged: views of the values, made once)."""
        d = self.__dict__
        if d["_comps"] is None:
            r, v = d["_ragged_idx"] - 1, d["_values"]
            d["_comps"] = [v.narrow(r, s, n) for s, n in zip(self._starts(), self._lens())]
        return d["_comps"]

    def dim(self) -> int:
        """The number of dims, the batch dim included."""
        if self._is_jagged():
            return self.__dict__["_values"].dim() + 1
        comps = self.__dict__["_comps"]
        return comps[0].dim() + 1 if comps else 1

    ndimension = dim

    @property
    def ndim(self) -> int:
        """:meth:`dim` as a property."""
        return self.dim()

    def _jagged_sizes(self) -> tuple:
        d = self.__dict__
        rest = list(d["_values"].shape)
        rest[d["_ragged_idx"] - 1] = d["_sym"]
        return (len(self._lens()), *rest)

    def size(self, dim: int | None = None) -> Any:
        """The size of ``dim``: jagged tensors give their ragged dim as ``j<n>``; strided
        ones have no size tuple and raise for an irregular dim (as torch)."""
        if self._is_jagged():
            sizes = self._jagged_sizes()
            if dim is None:
                return tuple.__new__(RaggedSize, sizes)
            return sizes[self._norm_dim(dim, "size")]
        if dim is None:
            raise RuntimeError(_SIZES_ERROR)
        d = self._norm_dim(dim, "size")
        comps = self.__dict__["_comps"]
        if d == 0:
            return len(comps)
        sizes = {c.shape[d - 1] for c in comps}
        if len(sizes) != 1:
            raise RuntimeError(f"Given dimension {d} is irregular and does not have a size.")
        return sizes.pop()

    @property
    def shape(self) -> Any:
        """``size()``: a jagged tensor's sizes; a strided one raises (as torch)."""
        return self.size()

    def _norm_dim(self, dim: int, op: str) -> int:
        n = self.dim()
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"{op}(): dim must be an int, got {type(dim).__name__}")
        if not -n <= dim < n:
            raise dim_range_error(dim, n)
        return dim % n

    def __len__(self) -> int:
        if self._is_jagged():
            return len(self._lens())
        raise RuntimeError(_SIZES_ERROR)

    def numel(self) -> int:
        """The number of elements of all components together."""
        return sum(c.numel() for c in self._components())

    def stride(self, dim: int | None = None) -> Any:
        """Not provided: nested tensors have no strides in chainrule."""
        if not self._is_jagged():
            raise RuntimeError(
                "Internal error: NestedTensorImpl doesn't support strides. Please file an issue."
            )
        raise NotImplementedError("stride(): symbolic strides of jagged nested tensors")

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The components as a tuple (``dim`` must be 0)."""
        if self._norm_dim(dim, "unbind") != 0:
            raise RuntimeError(f"unbind(): nested tensors only support dim=0, got dim={dim}")
        return tuple(self._components())

    def __iter__(self) -> Iterator[Tensor]:
        return iter(self.unbind())

    def values(self) -> Tensor:
        """Jagged: the packed values (components joined along the ragged dim). Strided: the
        components flattened into one buffer."""
        if self._is_jagged():
            return self.__dict__["_values"]
        buffer = self.__dict__["_buffer"]
        return buffer if buffer is not None else cat([c.reshape(-1) for c in self._components()])

    def offsets(self) -> Tensor:
        """The offsets of a jagged tensor's components in its values."""
        if not self._is_jagged():
            raise AttributeError("'Tensor' object has no attribute 'offsets'")
        return self.__dict__["_offsets"]

    def lengths(self) -> Tensor | None:
        """The component lengths of a jagged view with holes, else None."""
        if not self._is_jagged():
            raise AttributeError("'Tensor' object has no attribute 'lengths'")
        return self.__dict__["_lengths"]

    @property
    def _ragged_idx(self) -> int:
        return self.__dict__["_ragged_idx"]

    def to_padded_tensor(self, padding: float, output_size: Any = None) -> Tensor:
        """``torch.nested.to_padded_tensor(self, padding, output_size)``."""
        from .padding import to_padded_tensor  # noqa: PLC0415 - padding imports this module

        return to_padded_tensor(self, padding, output_size)

    # ---- dtype, device, autograd -----------------------------------------------------------
    def _tensors(self) -> list[Tensor]:
        """The tensors holding the data (values, or the components)."""
        if self._is_jagged():
            return [self.__dict__["_values"]]
        buffer = self.__dict__["_buffer"]
        return [buffer] if buffer is not None else self.__dict__["_comps"]

    @property
    def dtype(self) -> Any:
        """The components' dtype."""
        ts = self._tensors()
        if not ts:
            return public_dtype(get_default_dtype())
        return ts[0].dtype

    @property
    def device(self) -> Any:
        """The components' device."""
        ts = self._tensors()
        if not ts:
            return Device("cpu")
        return ts[0].device

    @property
    def requires_grad(self) -> bool:
        """Whether any component is recorded for backward."""
        return any(t.requires_grad for t in self._tensors())

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> NestedTensor:
        """Set ``requires_grad`` of a leaf nested tensor (strided leaves get one buffer)."""
        if not self.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to "
                "use a computed variable in a subgraph that doesn't require differentiation "
                "use var_no_grad = var.detach()."
            )
        d = self.__dict__
        if self._is_jagged():
            d["_values"].requires_grad_(requires_grad)
            d["_comps"] = None
        elif d["_comps"]:
            if d["_buffer"] is None:
                d["_buffer"], d["_comps"] = pack_leaf(d["_comps"])
            d["_buffer"].requires_grad_(requires_grad)
            d["_comps"] = unpack(d["_buffer"], [c.shape for c in d["_comps"]])  # views on the graph
        return self

    @property
    def is_leaf(self) -> bool:
        """Whether no op made this tensor (its data tensors are leaves)."""
        return all(t.is_leaf for t in self._tensors())

    @property
    def grad_fn(self) -> Any:
        """The node of the op that made the data (the first component's for strided)."""
        ts = self._tensors()
        return ts[0].grad_fn if ts else None

    @property
    def grad(self) -> NestedTensor | None:
        """A leaf's gradient, as a nested tensor of the same structure."""
        d = self.__dict__
        if self._is_jagged():
            g = d["_values"].grad
            if g is None:
                return None
            return NestedTensor._jagged(
                g, d["_offsets"], d["_lengths"], d["_ragged_idx"], d["_sym"]
            )
        buffer = d["_buffer"]
        if buffer is None or buffer.grad is None:
            return None
        return NestedTensor._strided(unpack(buffer.grad, [c.shape for c in d["_comps"]]))

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            raise NotImplementedError("setting .grad of a nested tensor (only None)")
        for t in self._tensors():
            t.grad = None

    def backward(
        self,
        gradient: Any = None,
        retain_graph: Any = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Backpropagate ``gradient`` (a nested tensor of the same structure)."""
        if not isinstance(gradient, NestedTensor):
            raise RuntimeError(
                "backward(): a nested tensor needs gradient= a nested tensor of the same "
                f"structure, got {type(gradient).__name__}"
            )
        if inputs is not None:
            raise NotImplementedError("backward(): inputs= on a nested tensor")
        _backward(
            list(self._components()),
            list(gradient._components()),
            retain_graph=retain_graph,
            create_graph=create_graph,
        )

    # ---- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        d = self.__dict__
        grad_fn, rg = self.grad_fn, self.requires_grad
        if self._is_jagged():
            sizes = ", ".join(str(s) for s in self._jagged_sizes())
            out = f"NestedTensor(size=({sizes}), offsets={d['_offsets']!r}"
            if grad_fn is not None:
                out += f", grad_fn={grad_fn!r}"
            elif rg:
                out += ", requires_grad=True"
            contiguous = d["_lengths"] is None and d["_values"].is_contiguous()
            return out + f", contiguous={contiguous})"
        parts = []
        for c in d["_comps"]:
            shown = c.detach()
            if rg:
                shown = shown.clone().requires_grad_(True)
            parts.append("  " + repr(shown).replace("\n", "\n  "))
        body = ",\n".join(parts) if parts else ""
        tail = ""
        if grad_fn is not None:
            tail = f", grad_fn=<{type(grad_fn).__name__}>"
        elif rg:
            tail = ", requires_grad=True"
        return f"nested_tensor([\n{body}\n]{tail})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    # ---- copying and pickling ---------------------------------------------------------------
    def __reduce__(self) -> tuple:
        """``pickle`` (and ``copy.copy``): the layout and the dense tensors holding the data
        (jagged: values, offsets, lengths; strided: the components), rebuilt as a nested
        tensor of the same structure, dtype and ``requires_grad``."""
        d = self.__dict__
        if self._is_jagged():
            state = (d["_values"], d["_offsets"], d["_lengths"], d["_ragged_idx"])
            return (_rebuild_nested, ("jagged", state, d.get("_seqlen")))
        comps = [c.detach() for c in d["_comps"]]
        return (_rebuild_nested, ("strided", (comps, self.requires_grad), None))

    def __copy__(self) -> NestedTensor:
        """``copy.copy``: a nested tensor sharing this one's data (and autograd history)."""
        d = self.__dict__
        if self._is_jagged():
            return NestedTensor._jagged(
                d["_values"], d["_offsets"], d["_lengths"], d["_ragged_idx"], d["_sym"]
            )
        return NestedTensor._strided(d["_comps"], d["_buffer"])

    def __deepcopy__(self, memo: dict) -> NestedTensor:
        """``copy.deepcopy``: a new leaf with its own copy of the data (and of ``grad``),
        keeping ``requires_grad``. Graph outputs refuse, as for dense tensors."""
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol; call .detach() first"
            )
        d = self.__dict__
        if self._is_jagged():
            lengths = d["_lengths"]
            new = NestedTensor._jagged(
                copy.deepcopy(d["_values"], memo),
                copy.deepcopy(d["_offsets"], memo),
                None if lengths is None else copy.deepcopy(lengths, memo),
                d["_ragged_idx"],
            )
        elif d["_buffer"] is not None:
            buffer = copy.deepcopy(d["_buffer"], memo)
            new = NestedTensor._strided(unpack(buffer, [c.shape for c in d["_comps"]]), buffer)
        else:
            new = NestedTensor._strided([copy.deepcopy(c, memo) for c in d["_comps"]])
        memo[id(self)] = new
        return new


def _rebuild_nested(kind: str, state: tuple, seqlen: Any) -> NestedTensor:
    """The nested tensor :meth:`NestedTensor.__reduce__` describes (unpickling)."""
    if kind == "jagged":
        values, offsets, lengths, ragged_idx = state
        nt = NestedTensor._jagged(values, offsets, lengths, ragged_idx)
        if seqlen is not None:
            nt.__dict__["_seqlen"] = seqlen
        return nt
    comps, requires_grad = state
    buffer, views = pack_leaf(comps)
    nt = NestedTensor._strided(views, buffer)
    return nt.requires_grad_(True) if requires_grad else nt


def pack_leaf(comps: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """A flat leaf buffer holding ``comps`` (copied, detached) and the components as views
    of it: what a strided leaf holds, so that its gradient lands in one tensor."""
    buffer = cat([c.detach().reshape(-1) for c in comps]) if comps else None
    if buffer is None:
        return None, []
    buffer = buffer.detach()
    return buffer, unpack(buffer, [c.shape for c in comps])


def unpack(buffer: Tensor, shapes: list) -> list[Tensor]:
    """The views of ``buffer`` of the given ``shapes``, one after the other."""
    out, at = [], 0
    for shape in shapes:
        n = 1
        for s in shape:
            n *= s
        out.append(buffer.narrow(0, at, n).view(tuple(shape)))
        at += n
    return out


_HANDLER: list[Callable | None] = [None]


def _torch_function(
    cls: type, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None
) -> Any:
    """Route a public op called with a nested tensor to its handler (``_ops.HANDLERS``)."""
    if _HANDLER[0] is None:
        from . import _ops  # noqa: PLC0415 - _ops imports this module

        _HANDLER[0] = _ops.handle
    return _HANDLER[0](func, args, kwargs or {})


# Set after the class statement, so that defining the class (at ``import chainrule``) does
# not put the whole API behind the protocol: that happens when a first nested tensor is made.
NestedTensor.__torch_function__ = classmethod(_torch_function)


def ensure_dispatch() -> None:
    """Route nested tensors to their handler (again, after ``overrides._uninstall``)."""
    if NestedTensor not in _tf._DISPATCHING or not _overrides._installed[0]:
        _tf.register_dispatching_type(NestedTensor)
        _overrides.install()
