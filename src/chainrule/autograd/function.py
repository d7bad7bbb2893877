"""``Function``: the one pattern every op follows, built-in or user-written.

An op is a class with ``forward(ctx, *inputs)`` and ``backward(ctx, *grads)``
(and, for primitives, ``jvp(ctx, *tangents)`` for forward mode). ``Function.apply``
runs ``forward``, wraps the result in a :class:`Tensor`, and, when any input
requires grad and recording is on, links a :class:`Node` into the graph.

The node *is* the ``ctx`` the rules receive (as in PyTorch): ``ctx.save_for_backward``
stores what backward needs, ``ctx.saved_tensors`` gives it back as Tensors connected
to the graph (so a backward written with Tensor ops is itself differentiable), and
``ctx.needs_input_grad`` says which inputs want a gradient.

Built-in ops set ``raw = True``: their ``forward`` receives raw arrays (NumPy or CuPy)
and returns arrays, which keeps per-op overhead low. User functions get Tensors, like
PyTorch's ``torch.autograd.Function``.
"""
from __future__ import annotations

import traceback
from typing import Any

import numpy as _np

from . import grad_mode
from .state import ANOMALY, FORWARD_AD
from .tensor import Tensor

_GRAD = grad_mode._STATE
_ndarray = _np.ndarray


class Node:
    """A recorded op application: the graph node and the ``ctx`` of its rules."""

    # Class-level defaults keep construction cheap; instances set only what they use.
    fn: type = None  # the Function subclass
    next_edges: tuple = ()  # per positional input: None, (Node, output_nr) or a leaf Tensor
    input_meta: tuple = ()  # per positional input: (shape, dtype) or None
    needs_input_grad: tuple = ()
    _saved: tuple | None = None
    _saved_entries: tuple | None = None
    _freed = False
    _tensor_hooks: dict | None = None
    _retain: dict | None = None
    _out_meta: tuple | None = None
    _out_tangents: tuple | None = None
    _out_vc: tuple | None = None
    _trace: list | None = None
    _non_diff: set | None = None
    primals: tuple = ()
    out: Any = None

    def save_for_backward(self, *values: Any) -> None:
        """Keep inputs/outputs (arrays or Tensors) for the backward rule."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple:
        """The saved values as Tensors, checked for in-place modification since forward."""
        if self._freed:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to "
                "access saved tensors after they were freed). Saved intermediate values are "
                "freed after .backward() or autograd.grad(); pass retain_graph=True to the "
                "first call if you need to backward through the graph again."
            )
        entries = self._saved_entries
        if entries is None:
            return tuple(_as_tensor(v) for v in (self._saved or ()))
        return tuple(self._unpack(e) for e in entries)

    @property
    def saved_arrays(self) -> tuple:
        """The saved values as raw arrays (for jvp rules and non-differentiable helpers)."""
        return tuple(v.data if isinstance(v, Tensor) else v for v in (self._saved or ()))

    def _unpack(self, entry):
        if entry is None:
            return None
        kind = entry[0]
        if kind == "t":  # an input tensor
            tensor, version = entry[1], entry[2]
            if tensor._vc[0] != version:
                self._raise_modified(tensor.shape, tensor._vc[0], version)
            return tensor
        if kind == "o":  # one of this node's outputs: rebuilt, so no reference cycle
            _, idx, array, vc, version = entry
            if vc[0] != version:
                self._raise_modified(array.shape, vc[0], version)
            t = Tensor._make(array, True, self, idx)
            if self._out_tangents is not None:
                t._fw_tangent = self._out_tangents[idx]
            return t
        if kind == "c":
            return _as_tensor(entry[1])
        return None

    def _raise_modified(self, shape, now, expected) -> None:
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"in-place operation: a tensor of shape {tuple(shape)} saved by {self.name()} is at "
            f"version {now}; expected version {expected}. Use an out-of-place op (e.g. x = x + 1 "
            "instead of x += 1) or .clone() the tensor before modifying it."
        )

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare outputs (e.g. indices) that never carry a gradient."""
        self._non_diff = {id(o.data if isinstance(o, Tensor) else o) for o in outputs}

    def name(self) -> str:
        fn = self.fn
        return getattr(fn, "node_name", None) or f"{fn.__name__}Backward"

    def register_hook(self, nr: int, hook) -> None:
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
        self._tensor_hooks.setdefault(nr, []).append(hook)

    @property
    def next_functions(self) -> tuple:
        """PyTorch-style view of the graph edges: ((node_or_leaf_or_None, output_nr), ...)."""
        out = []
        for e in self.next_edges:
            if e is None:
                out.append((None, 0))
            elif isinstance(e, tuple):
                out.append(e)
            else:
                out.append((e, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def _as_tensor(v):
    if isinstance(v, _np.generic):  # a NumPy scalar (ufuncs on 0-d arrays return these)
        v = _np.asarray(v)
    elif v is None or isinstance(v, (int, float, bool, complex)):
        return v  # Python scalars stay scalars (weak dtype promotion)
    if isinstance(v, Tensor):
        return v
    return Tensor._make(v, False, None, 0)


class Function:
    """Base class for differentiable operations (PyTorch's ``torch.autograd.Function``).

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``MyOp.apply(*args)``. ``backward`` returns one gradient (or None) per positional
    argument of ``forward``. Write ``backward`` with Tensor ops and ``create_graph=True``
    gives higher-order gradients for free. Optional ``jvp(ctx, *tangents)`` gives the
    forward-mode rule: it receives one tangent array (or None for zero) per positional
    argument, may read ``ctx.primals`` (the inputs) and ``ctx.out`` (the output), and
    returns the output tangent.

    Class attributes:
        raw: forward receives raw arrays instead of Tensors (built-in ops).
        is_view: the output shares memory with the first input (shares its version counter).
        differentiable_backward: False if backward cannot itself be differentiated; double
            backward through it then raises a clear error.
    """

    raw = False
    is_view = False
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Node, *args: Any, **kwargs: Any):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Node, *grads: Any):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement backward(ctx, ...)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any):
        # The per-op hot path: one pass over the arguments, no imports, no extra lists
        # unless needed. Profile with benchmarks/bench_ops.py --profile before changing.
        ctx = Node()
        ctx.fn = cls
        grad_on = _GRAD[0]
        fwd_on = FORWARD_AD[0] > 0
        record = forward_ad = False
        raw_args = []
        for a in args:
            if isinstance(a, Tensor):
                if grad_on and a.requires_grad:
                    record = True
                if fwd_on and a._fw_tangent is not None:
                    forward_ad = True
                raw_args.append(a.data)
            else:
                raw_args.append(a)
        if cls.raw:
            out = cls.forward(ctx, *raw_args, **kwargs)
        else:
            _GRAD[0] = False
            try:
                out = cls.forward(ctx, *args, **kwargs)
            finally:
                _GRAD[0] = grad_on
        if type(out) is tuple:
            multi = True
            raw_outs = out
            outs = tuple(_array(o) for o in out)
        else:
            multi = False
            raw_outs = (out,)
            outs = (out if type(out) is _ndarray else _array(out),)
        if ANOMALY[0]:
            _anomaly_forward(ctx, cls, outs)
        non_diff = ctx._non_diff
        if not multi and non_diff is None:
            o = outs[0]
            req = record and o.dtype.kind in "fc"
            results = [Tensor._make(o, req, ctx if req else None, 0)]
        else:
            results = []
            for i, o in enumerate(outs):
                req = record and o.dtype.kind in "fc" and (non_diff is None or
                                                          id(o) not in non_diff)
                results.append(Tensor._make(o, req, ctx if req else None, i))
        if cls.is_view and isinstance(args[0], Tensor):
            for r in results:
                r._vc = args[0]._vc
        if record:
            _link(ctx, args, outs, results, multi, raw_outs)
        if forward_ad:
            _forward_tangents(ctx, cls, args, outs, results, kwargs)
        return tuple(results) if multi else results[0]


def _array(o: Any) -> Any:
    """Op outputs are arrays: unwrap Tensors, turn NumPy scalars into 0-d arrays."""
    if isinstance(o, Tensor):
        return o.data
    if isinstance(o, (_np.generic, int, float, bool)):
        return _np.asarray(o)
    return o


def _link(ctx: Node, args: tuple, outs: tuple, results: list, multi: bool,
          raw_outs: tuple) -> None:
    """Record graph edges, input metadata and saved-value bookkeeping on ``ctx``."""
    edges = []
    meta = []
    needs = []
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            gf = a.grad_fn
            edges.append((gf, a._output_nr) if gf is not None else a)
            d = a.data
            meta.append((d.shape, d.dtype))
            needs.append(True)
        else:
            edges.append(None)
            meta.append(None)
            needs.append(False)
    ctx.next_edges = tuple(edges)
    ctx.input_meta = tuple(meta)
    ctx.needs_input_grad = tuple(needs)
    if multi:
        ctx._out_meta = tuple((o.shape, o.dtype) for o in outs)
    saved = ctx._saved
    if saved:
        ctx._saved_entries = tuple(_saved_entry(s, args, outs, results, raw_outs)
                                   for s in saved)
    if ANOMALY[0]:
        ctx._trace = traceback.extract_stack()[:-3]


def _saved_entry(s: Any, args: tuple, outs: tuple, results: list, raw_outs: tuple):
    if s is None:
        return None
    sd = s.data if isinstance(s, Tensor) else s
    for a in args:
        if isinstance(a, Tensor) and (a is s or a.data is sd):
            return ("t", a, a._vc[0])
    for i, o in enumerate(outs):
        if o is sd or raw_outs[i] is sd:
            r = results[i]
            return ("o", i, o, r._vc, r._vc[0])
    if isinstance(sd, _np.generic):
        sd = _np.asarray(sd)
    return ("c", sd)


def _forward_tangents(ctx, cls, args, outs, results, kwargs) -> None:
    jvp = getattr(cls, "jvp", None)
    if jvp is None:
        raise NotImplementedError(
            f"{cls.__name__} has no forward-mode (jvp) rule, so cr.func.jvp/jacfwd cannot "
            "pass through it; use reverse mode (cr.func.vjp/jacrev) instead"
        )
    ctx.primals = tuple(a.data if isinstance(a, Tensor) else a for a in args)
    ctx.out = outs if len(outs) > 1 else outs[0]
    tangents = [a._fw_tangent if isinstance(a, Tensor) else None for a in args]
    tan = jvp(ctx, *tangents)
    tans = tan if isinstance(tan, tuple) else (tan,)
    for r, t in zip(results, tans):
        if t is not None and r.dtype.kind == "f":
            if isinstance(t, Tensor):
                t = t.data
            if t.shape != r.data.shape:
                from ..backend import get_array_module

                t = get_array_module(t).broadcast_to(t, r.data.shape)
            r._fw_tangent = t
    if ctx.next_edges:
        ctx._out_tangents = tuple(r._fw_tangent for r in results)


def _anomaly_forward(ctx: Node, cls: type, outs: tuple) -> None:
    from ..backend import get_array_module

    for o in outs:
        if o.dtype.kind == "f" and not get_array_module(o).isfinite(o).all():
            frame = user_frame(traceback.extract_stack()[:-3])
            raise RuntimeError(
                f"anomaly detected: {cls.__name__} returned NaN or Inf in its forward output "
                f"(shape {tuple(o.shape)}), called at {frame}"
            )


def user_frame(stack) -> str:
    """The innermost stack frame outside chainrule's own source, formatted for an error."""
    import os

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for fr in reversed(stack):
        if not os.path.abspath(fr.filename).startswith(pkg):
            return f'File "{fr.filename}", line {fr.lineno}, in {fr.name}: {fr.line}'
    fr = stack[-1] if stack else None
    return f'File "{fr.filename}", line {fr.lineno}' if fr else "<unknown>"


class once_differentiable:  # noqa: N801 - PyTorch's name
    """Class decorator marking a Function whose backward cannot be differentiated again."""

    def __new__(cls, fn_cls):
        fn_cls.differentiable_backward = False
        return fn_cls
