"""The counting wrappers a running :class:`FlopCounterMode` swaps in, and the op formulas.

Nothing here runs while no counter is active. Entering a counter swaps in wrapping versions
of three objects and exiting puts the saved originals back (the mechanism of
``profiler/hooks.py``):

* ``Function.apply`` (every op's forward): an op with a formula adds its FLOPs to the
  modules running it;
* ``engine.call_rule`` (one node's backward rule): a node whose op has a backward formula
  adds those FLOPs (what PyTorch's backward kernels compute for the inputs that want a
  gradient) and the ops its rule calls are not counted again; a node without one lets the
  ops its rule calls count themselves;
* ``Module.__call__``: the module path (``Net``, ``Net.fc``, as PyTorch names them) is
  pushed while the module runs, and every node recorded inside it remembers the path, so
  that its backward is charged to the same modules, as PyTorch's counter does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from math import prod
from typing import Any

from ...autograd import engine as _engine
from ...autograd.function import Function
from ...nn.module import Module
from ...ops.affine import LinearFn
from ...ops.attention import ScaledDotProductAttention
from ...ops.conv_functions import Conv2dFn, ConvTranspose2dFn
from ...ops.linalg import MatMul
from ...profiler.hooks import op_name
from .formulas import conv_flop_count

__all__ = ["Recorder", "active_recorders", "flop_registry", "op_key"]

_lock = threading.Lock()
_active: list[Recorder] = []  # the counting recorders of the process (they nest)
_saved: tuple | None = None  # (replaced objects, our wrappers) while any recorder counts

# user formulas: Function subclass -> (formula, get_raw), filled by register_flop_formula
flop_registry: dict[type, tuple[Callable, bool]] = {}


def active_recorders() -> list[Recorder]:
    """The recorders counting in the calling thread, outermost first."""
    tid = threading.get_ident()
    return [r for r in _active if r.thread == tid]


def op_key(cls: type) -> str:
    """The key of an op in the counts: ``chainrule::<name>`` (see ``profiler.hooks.op_name``;
    a user's Function is named by its class)."""
    return op_name(cls)


# ------------------------------------------------------------------ built-in formulas
def _shape(a: Any) -> tuple:
    return tuple(a.shape)


def _matmul_key(a: tuple, b: tuple, a_grad: bool) -> str | None:
    """The kernel PyTorch's ``matmul`` runs for these ranks (None: a matrix-vector product,
    which it counts no FLOPs for). When a vector or matrix ``a`` that wants a gradient meets
    a batch ``b``, PyTorch computes the transposed product ``bᵀ aᵀ`` with ``b`` folded into
    one matrix: an ``mm``, or an ``mv`` for a vector ``a``."""
    if len(b) == 1:
        return None
    if len(a) <= 2 and len(b) > 2 and a_grad:
        return None if len(a) == 1 else "chainrule::mm"
    return "chainrule::mm" if len(b) == 2 else "chainrule::bmm"


def _matmul_fwd(args: tuple, out: Any) -> tuple[str, int]:
    a, b = _shape(args[0]), _shape(args[1])
    key = _matmul_key(a, b, bool(getattr(args[0], "requires_grad", False)))
    if key is None:
        return "chainrule::mm", 0
    return key, 2 * prod(_shape(out)) * a[-1]


def _linear_fwd(args: tuple, out: Any) -> tuple[str, int]:
    x, w = _shape(args[0]), _shape(args[1])
    key = "chainrule::mm" if args[2] is None else "chainrule::addmm"
    return key, 2 * prod(x[:-1]) * w[0] * w[1]


def _conv_fwd(args: tuple, out: Any) -> tuple[str, int]:
    return "chainrule::convolution", conv_flop_count(_shape(args[0]), _shape(args[1]), _shape(out))


def _conv_t_fwd(args: tuple, out: Any) -> tuple[str, int]:
    x, w = _shape(args[0]), _shape(args[1])
    return "chainrule::convolution", conv_flop_count(x, w, _shape(out), transposed=True)


def _sdpa_terms(q: tuple, k: tuple, v: tuple) -> tuple[int, int]:
    """(Q Kᵀ FLOPs, P V FLOPs) for queries (…, L, E), keys (…, S, E), values (…, S, Ev)."""
    rows = prod(q[:-1]) * k[-2]
    return 2 * rows * q[-1], 2 * rows * v[-1]


def _sdpa_fwd(args: tuple, out: Any) -> tuple[str, int]:
    qk, pv = _sdpa_terms(_shape(args[0]), _shape(args[1]), _shape(args[2]))
    return "chainrule::scaled_dot_product_attention", qk + pv


FORWARD: dict[type, Callable] = {
    MatMul: _matmul_fwd,
    LinearFn: _linear_fwd,
    Conv2dFn: _conv_fwd,
    ConvTranspose2dFn: _conv_t_fwd,
    ScaledDotProductAttention: _sdpa_fwd,
}


def _meta(node: Any, shapes: tuple | None) -> list:
    """The shapes of the node's forward inputs: as recorded by the counter at the forward;
    for a forward run before the counter, from the node's metadata (kept for the inputs that
    want a gradient), else from the tensors the op saved (its inputs, in order)."""
    if shapes is not None:
        return list(shapes)
    out = [None if m is None else tuple(m[0]) for m in node.input_meta]
    if None in out[:3]:
        try:
            saved = node.saved_tensors
        except Exception:  # released or modified in place: the shapes stay unknown
            saved = ()
        for i, t in enumerate(saved[: len(out)]):
            if out[i] is None and t is not None:
                out[i] = tuple(t.shape)
    return out


def _product_bwd(node: Any, grads: list, shapes: tuple | None) -> tuple[str, int]:
    """mm/bmm/linear: each input gradient is one product as costly as the forward's."""
    need = node.needs_input_grad
    shapes = _meta(node, shapes)
    a, b = shapes[0], shapes[1]
    if a is None or b is None:  # forward run outside the counter, an input without a grad
        return "chainrule::mm", 0
    if node._forward_cls is LinearFn:
        flops = 2 * prod(a[:-1]) * b[0] * b[1]
        key = "chainrule::mm"
    else:
        key = _matmul_key(a, b, bool(need[0]))
        if key is None:
            return "chainrule::mm", 0
        flops = 2 * prod(_shape(grads[0])) * a[-1]
    return key, flops * (bool(need[0]) + bool(need[1]))


def _conv_bwd(node: Any, grads: list, shapes: tuple | None) -> tuple[str, int]:
    need = node.needs_input_grad
    shapes = _meta(node, shapes)
    transposed = node._forward_cls is ConvTranspose2dFn
    if shapes[0] is None or shapes[1] is None:
        return "chainrule::convolution_backward", 0
    fwd = conv_flop_count(shapes[0], shapes[1], _shape(grads[0]), transposed=transposed)
    return "chainrule::convolution_backward", fwd * (bool(need[0]) + bool(need[1]))


def _sdpa_bwd(node: Any, grads: list, shapes: tuple | None) -> tuple[str, int]:
    """The math path PyTorch runs on CPU: ``dV = P̃ᵀ g``, ``dP = g Vᵀ``, ``dQ = dS K``,
    ``dK = dSᵀ Q``, each only where a gradient is wanted."""
    need = node.needs_input_grad
    q, k, v = _meta(node, shapes)[:3]
    if None in (q, k, v):
        return "chainrule::scaled_dot_product_attention_backward", 0
    qk, pv = _sdpa_terms(q, k, v)
    mask_grad = len(need) > 3 and need[3]
    flops = pv * bool(need[2]) + pv * bool(need[0] or need[1] or mask_grad)
    flops += qk * (bool(need[0]) + bool(need[1]))
    return "chainrule::scaled_dot_product_attention_backward", flops


BACKWARD: dict[type, Callable] = {
    MatMul: _product_bwd,
    LinearFn: _product_bwd,
    Conv2dFn: _conv_bwd,
    ConvTranspose2dFn: _conv_bwd,
    ScaledDotProductAttention: _sdpa_bwd,
}


# ------------------------------------------------------------------ the recorder
class Recorder:
    """Counts FLOPs into ``counts`` (module name -> op key -> FLOPs) while it is active."""

    def __init__(self, custom: dict[type, tuple[Callable, bool]]):
        self.thread = threading.get_ident()
        self.custom = custom
        self.counts: dict[str, dict[str, int]] = {}
        self.parents: list[str] = ["Global"]  # the module path of the running code
        self.names: dict[int, tuple[Module, str]] = {}  # id(module) -> (module, name)
        # id(node) -> (node, module path, input shapes) of the nodes recorded while counting
        self.nodes: dict[int, tuple[Any, tuple, tuple]] = {}
        self.quiet = 0  # > 0 inside a backward rule counted by its formula

    def start(self) -> None:
        """Count from now on; the first active counter swaps the wrappers in."""
        global _saved
        with _lock:
            if not _active:
                plain_apply = Function.__dict__["apply"]
                plain_rule, plain_call = _engine.call_rule, Module.__call__
                mine = (
                    classmethod(_make_apply(plain_apply.__func__)),
                    _make_call_rule(plain_rule),
                    _make_module_call(plain_call),
                )
                _saved = ((plain_apply, plain_rule, plain_call), mine)
                Function.apply, _engine.call_rule, Module.__call__ = mine
            _active.append(self)

    def stop(self) -> None:
        """Stop counting; the last active counter puts the original objects back."""
        global _saved
        with _lock:
            if self in _active:
                _active.remove(self)
                if not _active and _saved is not None:
                    # put back only what still is ours: a profiler that started later and
                    # stopped already restored the plain objects itself
                    (apply, rule, call), mine = _saved
                    if Function.__dict__["apply"] is mine[0]:
                        Function.apply = apply
                    if _engine.call_rule is mine[1]:
                        _engine.call_rule = rule
                    if Module.__call__ is mine[2]:
                        Module.__call__ = call
                    _saved = None
        self.nodes.clear()
        self.names.clear()

    def add(self, key: str, flops: int, parents: list | tuple | None = None) -> None:
        """Charge ``flops`` of op ``key`` to every module in ``parents`` (and Global)."""
        for name in dict.fromkeys(self.parents if parents is None else parents):
            per_op = self.counts.setdefault(name, {})
            per_op[key] = per_op.get(key, 0) + int(flops)

    def module_name(self, mod: Module) -> str:
        """PyTorch's name: the class name of a module first met outside a known parent,
        ``<parent name>.<attribute>`` for its children."""
        known = self.names.get(id(mod))
        if known is None:
            known = (mod, type(mod).__name__)
            self.names[id(mod)] = known
        name = known[1]
        for child_name, child in mod.named_children():
            if id(child) not in self.names:
                self.names[id(child)] = (child, f"{name}.{child_name}")
        return name

    def forward_flops(self, cls: type, args: tuple, out: Any) -> tuple[str, int] | None:
        custom = self.custom.get(cls) or flop_registry.get(cls)
        if custom is not None:
            formula, get_raw = custom
            outs = out if isinstance(out, tuple) else (out,)
            shapes = outs if get_raw else tuple(_shape_or_value(o) for o in outs)
            shapes = shapes if isinstance(out, tuple) else shapes[0]
            vals = args if get_raw else tuple(_shape_or_value(a) for a in args)
            return op_key(cls), formula(*vals, out_shape=shapes)
        rule = FORWARD.get(cls)
        return None if rule is None else rule(args, out)


def _shape_or_value(a: Any) -> Any:
    shape = getattr(a, "shape", None)
    return tuple(shape) if isinstance(shape, tuple) else a


def _shape_or_none(a: Any) -> tuple | None:
    shape = getattr(a, "shape", None)
    return tuple(shape) if isinstance(shape, tuple) else None


def _make_apply(plain: Callable) -> Callable:
    def counting_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        rs = active_recorders() if _active else None
        if not rs:
            return plain(cls, *args, **kwargs)
        out = plain(cls, *args, **kwargs)
        first = out[0] if isinstance(out, tuple) and out else out
        node = getattr(first, "grad_fn", None)
        if node is not None and node._forward_cls is not cls:
            node = None
        shapes = None if node is None else tuple(_shape_or_none(a) for a in args)
        for r in rs:
            if r.quiet:
                continue
            found = r.forward_flops(cls, args, out)
            if found is not None and found[1]:
                r.add(*found)
            if node is not None:  # its modules and shapes, for its backward
                r.nodes[id(node)] = (node, tuple(r.parents), shapes)
        return out

    return counting_apply


def _enter_rule(r: Recorder, node: Any, grads: list) -> tuple:
    """Charge a node's backward to ``r`` and set its module path; what to restore after."""
    entry = r.nodes.get(id(node))
    if entry is None or entry[0] is not node:
        entry = (node, ("Global",), None)
    saved, r.parents = r.parents, list(entry[1])
    rule = None if r.quiet else BACKWARD.get(node._forward_cls)
    quiet = rule is not None and bool(grads) and grads[0] is not None
    if quiet:
        key, flops = rule(node, grads, entry[2])
        if flops:
            r.add(key, flops)
        r.quiet += 1  # the ops the rule calls are part of these FLOPs
    return saved, quiet


def _make_call_rule(plain: Callable) -> Callable:
    def counting_call_rule(node: Any, grads: list, *args: Any, **kwargs: Any) -> tuple:
        rs = active_recorders() if _active else None
        if not rs:
            return plain(node, grads, *args, **kwargs)
        restore = [(r, _enter_rule(r, node, grads)) for r in rs]
        try:
            return plain(node, grads, *args, **kwargs)
        finally:
            for r, (parents, quiet) in restore:
                r.parents = parents
                if quiet:
                    r.quiet -= 1

    return counting_call_rule


def _make_module_call(plain: Callable) -> Callable:
    def counting_call(self: Module, *args: Any, **kwargs: Any) -> Any:
        rs = active_recorders() if _active else None
        if not rs:
            return plain(self, *args, **kwargs)
        for r in rs:
            r.parents.append(r.module_name(self))
        try:
            return plain(self, *args, **kwargs)
        finally:
            for r in rs:
                r.parents.pop()

    return counting_call
