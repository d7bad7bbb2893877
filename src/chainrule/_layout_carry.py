"""Layout marks passed from an op's inputs to its outputs (``_layout_marks.py``).

``Function.apply`` calls :func:`carry_input_marks` after each forward while some mark is
alive (:data:`~chainrule._layout_marks.LAYOUT_MARKS` not empty; one empty-dict test
otherwise). It gives each output the strides PyTorch would report for it, read from the
strides PyTorch reports for the inputs (their marks; an unmarked array's own strides):

- an output that is a view of a marked input (a slice, a select, a ``view``) gets the
  strides PyTorch derives from the input's (:func:`~chainrule._layout_marks.view_strides`);
- a new output when every input's PyTorch layout runs its dims row-major (a convolution's
  result, a slice of one, a row-major array): PyTorch's result is row-major, whatever the op
  (elementwise, batch norm, pooling, a keepdim reduction, ``stack``), so a channel-major
  output (which chainrule computed from the channel-major memory), or one dense with one
  dim laid out further outside (a ``stack`` of such results: :func:`_one_dim_outward`), is
  marked ``ROW_MAJOR``;
- a new output of an elementwise op (:func:`follow_elementwise_rule`) when some input's
  PyTorch layout is not row-major (a transpose of a convolution's result, or a user's
  transpose beside a marked input): PyTorch's elementwise layout of the inputs' PyTorch
  strides (the rule of ``ops/_result_layout.elementwise_layout``), recorded where it differs
  from the output's own. Other ops then leave the output unmarked (their rule is their own).

Comparisons, which are no Functions, call :func:`carry_elementwise_marks` themselves.

Cost (session 39, thread CPU time, min of 15 x 4000 under load, the output's allocation
subtracted): an op on a convolution's result (relu, ``+ 1.0``, batch norm's five inputs, ``+``
a ``(1, C, 1, 1)`` bias) 2.5-2.7 us, where session 38's rule took 3.8-5.9 us (it looked every
input and output up several times and tested the output's layout with a ``swapaxes``): each
input that is not row-major is looked up once, a new output compared with the marked input's
strides, then marked (a weak reference: ~1.2 us with its removal). A row-major input is only
looked up while some row-major memory carries a mark (:data:`~chainrule._layout_marks.
C_MARKED`: a transpose of a convolution's result): an unmarked 8x8 add beside a live
convolution result 0.4 us (0.6 before); with no mark alive nothing is called.
"""

from __future__ import annotations

from typing import Any

from numpy import may_share_memory
from numpy import ndarray as _ndarray

from ._layout import (
    broadcast_strides,
    contiguous_strides,
    dense_strides,
    stride_order,
    torch_strides,
)
from ._layout_marks import (
    C_MARKED,
    LAYOUT_MARKS,
    ROW_MAJOR,
    channel_major_dense,
    logical_strides,
    mark_as,
    memory_owner,
    set_mark,
    view_strides,
)

__all__ = ["carry_elementwise_marks", "carry_input_marks", "follow_elementwise_rule"]

# the Function classes whose results follow PyTorch's elementwise layout rule (registered by
# ops/layout.py: the Unary/BinaryElementwise bases, which this layer cannot import), and the
# order in which PyTorch reads the operands of those that take them in another (``where``)
_ELEMENTWISE: list[type] = []
_OPERAND_ORDER: dict[type, tuple] = {}
_MARKS = LAYOUT_MARKS


def follow_elementwise_rule(*bases: type, operand_order: tuple | None = None) -> None:
    """Register ``bases``: their subclasses' results are laid out by PyTorch's elementwise
    rule (TensorIterator's: the operands' stride order), which :func:`carry_input_marks`
    then applies to the inputs' PyTorch strides. ``operand_order``: the positions of the
    forward's arguments in PyTorch's operand order, when it differs (``where(cond, a, b)``
    is ``forward(a, b, cond)``: ``(2, 0, 1)``); for these very classes, not subclasses."""
    _ELEMENTWISE.extend(b for b in bases if b not in _ELEMENTWISE)
    if operand_order is not None:
        _OPERAND_ORDER.update(dict.fromkeys(bases, operand_order))


def _falls(shape: tuple, strides: tuple) -> bool:
    """Whether ``strides`` run the dims row-major: the nonzero strides of the dims longer
    than 1 fall strictly from the outer dims to the inner ones."""
    last = None
    for n, s in zip(shape, strides):
        if n == 1 or s == 0:
            continue
        if last is not None and s >= last:
            return False
        last = s
    return True


def _dense(shape: tuple, strides: tuple) -> bool:
    """Whether ``strides`` (elements) lay ``shape`` out densely, without overlap."""
    step = 1
    for s, n in sorted((s, n) for n, s in zip(shape, strides) if n != 1):
        if s != step:
            return False
        step *= n
    return True


def _elementwise_strides(shape: tuple, operands: list) -> tuple:
    """PyTorch's strides (elements) for an elementwise result of ``shape`` whose array
    operands (in PyTorch's order) have the PyTorch ``(shape, strides)`` pairs ``operands``
    (``ops/_result_layout.elementwise_layout``'s rule): all row-major gives row-major, all
    dense of ``shape`` with the same strides gives those, else dense in their stride order."""
    if all(sh == shape for sh, _ in operands):
        first = operands[0][1]
        row_major = contiguous_strides(shape)
        if all(st == row_major for _, st in operands):
            return row_major
        if _dense(shape, first) and all(st == first for _, st in operands[1:]):
            return first
    broadcast = [broadcast_strides(sh, st, shape) for sh, st in operands]
    return tuple(dense_strides(shape, stride_order(shape, *broadcast)))


def _pytorch_layout(a: Any, kind: Any) -> tuple:
    """``a``'s strides (elements) as PyTorch reports them, given its mark ``kind``."""
    if kind is None:
        return torch_strides(a)
    return logical_strides(a, tuple(s // a.itemsize for s in a.strides))


def _elementwise_mark(o: Any, inputs: Any, marks: dict) -> None:
    """Mark ``o``, an elementwise op's new result, with PyTorch's elementwise layout of the
    inputs' PyTorch strides (``marks``: id of an input array -> its mark); nothing when an
    input does not broadcast to ``o``'s shape (not the elementwise rule's case)."""
    shape = o.shape
    operands = []
    for a in inputs:
        if type(a) is not _ndarray or a.ndim == 0:
            continue
        if a.ndim > o.ndim or any(
            n != 1 and n != m for n, m in zip(a.shape[::-1], shape[::-1], strict=False)
        ):
            return
        operands.append((a.shape, _pytorch_layout(a, marks.get(id(a)))))
    if operands:
        mark_as(o, _elementwise_strides(shape, operands))


def _one_dim_outward(o: Any) -> bool:
    """Whether ``o`` is dense with its dims (those longer than 1) in row-major order but
    one, laid out further outside, and not the innermost: how a new result made of
    channel-major memory can lie (``stack`` of convolutions' results puts their channels
    outside the batch and maybe the new dim: ``(S, C, N, H, W)`` or ``(C, N, S, H, W)``
    memory for ``(S, N, C, H, W)`` or ``(N, C, S, H, W)``). Not channels-last (a dim laid
    out further *inside*) nor a batch of column-major matrices (the innermost dim outside
    the one before it), which PyTorch has too."""
    dims = sorted((s, d) for d, (n, s) in enumerate(zip(o.shape, o.strides)) if n != 1)
    step = o.itemsize
    for s, d in dims:  # dense, fastest first
        if s != step:
            return False
        step *= o.shape[d]
    order = [d for _, d in reversed(dims)]  # outermost first
    for i, d in enumerate(order[:-1]):
        if d > order[i + 1]:  # the first dim outside one that precedes it: moved outward?
            rest = order[:i] + order[i + 1 :]
            return rest == sorted(rest) and d != max(order)
    return False


def _is_input(o: Any, inputs: Any) -> bool:
    """Whether ``o`` is one of the arrays ``inputs`` or a view of one's memory."""
    owner = memory_owner(o)
    for a in inputs:
        if type(a) is _ndarray and (a is o or memory_owner(a) is owner):
            return True
    return False


def carry_input_marks(
    outs: tuple, inputs: Any, cls: type | None, kwargs: dict | None = None
) -> None:
    """Give the outputs ``outs`` of the op ``cls`` (a Function class; None: an elementwise
    op whose ``inputs`` are its operands in PyTorch's order) the marks their
    inputs' PyTorch layouts imply (see the module docstring); ``inputs``: the forward's raw
    arguments, ``kwargs`` its keyword ones (``where``'s condition), arrays or Tensors.
    Inputs that are row-major in memory are looked up only while some row-major memory is
    marked (:data:`C_MARKED`)."""
    if kwargs:
        inputs = (*inputs, *(getattr(v, "_data", v) for v in kwargs.values()))
    marks = _MARKS
    marked = None  # [(input, its owner, its mark)]
    row_major = True  # every input's PyTorch layout runs its dims row-major
    for a in inputs:
        if type(a) is not _ndarray or a.ndim < 2:
            continue
        contiguous = a.flags.c_contiguous
        if contiguous and not C_MARKED:
            continue
        owner = a if a.base is None else memory_owner(a)
        entry = marks.get(id(owner))
        kind = None
        if entry is not None and entry[0]() is owner:
            kind = entry[1].get((a.shape, a.strides))
        if kind is None:
            if row_major and not contiguous and not _falls(a.shape, a.strides):
                row_major = False
            continue
        if marked is None:
            marked = [(a, owner, kind)]
        else:
            marked.append((a, owner, kind))
        if row_major and kind is not ROW_MAJOR and not _falls(a.shape, kind):
            row_major = False
    if marked is None:
        return
    for o in outs:
        if type(o) is not _ndarray or o.ndim < 2:
            continue
        view = o.base is not None
        owner = memory_owner(o) if view else o
        entry = marks.get(id(owner))
        if entry is not None and entry[0]() is owner and (o.shape, o.strides) in entry[1]:
            continue  # marked already (an in-place op's result, a view made marked)
        if view:
            src = next(((a, k) for a, ow, k in marked if ow is owner), None)
            if src is None and type(owner.base).__name__ == "DummyArray":  # (as_strided's)
                src = next(((a, k) for a, _, k in marked if may_share_memory(o, a)), None)
            if src is not None:  # a view of a marked input
                strides = view_strides(o, *src)
                if strides is not None:
                    mark_as(o, strides)
                continue
            if _is_input(o, inputs):  # a view of an unmarked input: its strides are PyTorch's
                continue
        if row_major:
            if o.flags.c_contiguous and 1 not in o.shape:
                continue  # (row-major memory for a row-major result: nothing to say)
            a, _, kind = marked[0]
            if kind is ROW_MAJOR and o.strides == a.strides and o.shape == a.shape:
                set_mark(o, ROW_MAJOR)  # (relu, +, batch norm: the input's very layout)
            elif o.ndim >= 3 and not _is_input(o, inputs):
                if channel_major_dense(o) or _one_dim_outward(o):
                    set_mark(o, ROW_MAJOR)  # (pooling, a keepdim reduction, a stack)
        elif (cls is None or (_ELEMENTWISE and issubclass(cls, tuple(_ELEMENTWISE)))) and not (
            _is_input(o, inputs)
        ):
            order = _OPERAND_ORDER.get(cls)
            operands = inputs if order is None else [inputs[i] for i in order]
            _elementwise_mark(o, operands, {id(a): k for a, _, k in marked})


def carry_elementwise_marks(out: Any, *operands: Any) -> Any:
    """:func:`carry_input_marks` for ``out``, the result of an elementwise op made outside
    ``Function.apply`` (a comparison: ``ops/logical.py``) from the raw ``operands`` in
    PyTorch's order. Returns ``out``."""
    if _MARKS:
        carry_input_marks((out,), operands, None)
    return out
