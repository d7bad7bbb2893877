"""Selective activation checkpointing (PyTorch's ``create_selective_checkpoint_contexts``).

``checkpoint(fn, x, use_reentrant=False, context_fn=partial(
create_selective_checkpoint_contexts, policy))`` runs ``fn`` under the first context this
returns and its recomputation in backward under the second. The first consults
``policy(ctx, op, *args, **kwargs)`` after every op (``ctx.is_recompute`` False; ``op`` the
op's handle, ``chainrule.ops.aten.<name>.<overload>``, see ``ops/aten_namespace.py``) and
keeps the output of each op the policy says to SAVE; the second, during the recomputation,
hands those kept outputs back instead of running the op again, and runs the others (as in
PyTorch 2.13, the policy is not consulted again during the recomputation).

Interception: while a context is entered, ``Function.apply`` (every op's forward) is
swapped for a wrapper, as ``FlopCounterMode`` does (``flop_counter/_recording.py``); with
none entered the plain ``apply`` runs, at no cost. An op called inside another op's forward
is part of that op (as the ATen ops under one dispatch).

Deliberate differences: PyTorch's checkpoint keeps its forward graph and differentiates it
with the recomputed activations; chainrule differentiates the recomputation itself
(``utils/checkpoint.py``). An op whose output is handed back is therefore a node of the
recomputed graph whose backward is the rule of the op's forward node (that node keeps what
its rule saved; its links to the rest of the forward graph are cut when the forward ends),
and double backward through such an op raises (``differentiable_backward=False``).
"""

from __future__ import annotations

import enum
import threading
from collections import defaultdict
from typing import Any

from ..autograd import engine as _engine
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..ops.aten_namespace import OpOverload, OpOverloadPacket, op_for

__all__ = [
    "CheckpointPolicy",
    "SelectiveCheckpointContext",
    "create_selective_checkpoint_contexts",
]


class CheckpointPolicy(enum.Enum):
    """What to do with one op's output: ``{MUST,PREFER}_SAVE`` keep it in the forward and
    reuse it in the recomputation; ``{MUST,PREFER}_RECOMPUTE`` recompute it. (The
    ``MUST``/``PREFER`` distinction matters to ``torch.compile`` only.) ``*_CPU_OFFLOAD``
    save, as chainrule's tensors live on one device."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVE = (
    CheckpointPolicy.MUST_SAVE,
    CheckpointPolicy.PREFER_SAVE,
    CheckpointPolicy.MUST_CPU_OFFLOAD,
    CheckpointPolicy.PREFER_CPU_OFFLOAD,
)


class SelectiveCheckpointContext:
    """The ``ctx`` a policy receives: ``is_recompute`` and the op's output (``op_output``)."""

    def __init__(self, *, is_recompute: bool, op_output: Any = None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


_RECOMPUTE = object()
_CONSUMED = object()
_MISMATCH = (
    "This can happen if the operations in the checkpointed region are nondeterministic or "
    "depend on global state that changed between forward and backward."
)


class _Entry:
    """A kept output: its arrays, versions, and the forward node whose rule differentiates it."""

    def __init__(self, out: Any) -> None:
        outs = out if isinstance(out, tuple) else (out,)
        self.multi = isinstance(out, tuple)
        self.tensors = [o for o in outs if isinstance(o, Tensor)]
        self.versions = [t._version for t in self.tensors]
        self.node = next((t.grad_fn for t in self.tensors if t.grad_fn is not None), None)

    def values(self, allow_mutation: bool) -> Any:
        if not allow_mutation and [t._version for t in self.tensors] != self.versions:
            raise RuntimeError(
                "Tensor cached during selective activation checkpoint has been mutated"
            )
        arrays = tuple(t._data for t in self.tensors)
        return arrays if self.multi else arrays[0]


class _Replay(Function):
    """A kept output in the recomputed graph: forward hands the kept arrays back, backward
    runs the rule of the op's forward node."""

    raw = True
    differentiable_backward = False

    @staticmethod
    def forward(ctx, entry, values, *args):
        ctx.entry = entry
        return values

    @staticmethod
    def backward(ctx, *grads):
        node = ctx.entry.node
        n = len(ctx.needs_input_grad) - 2
        if node is None:
            return (None,) * (n + 2)
        node.needs_input_grad = tuple(ctx.needs_input_grad[2:])
        res = _engine.call_rule(node, list(grads), False)
        return (None, None, *res)


# the modes entered, (thread id, mode), innermost last; Function.apply is ours while any is
_lock = threading.Lock()
_active: list[tuple[int, Any]] = []
_saved_apply: list = []  # [the classmethod replaced, ours]


def _current() -> Any:
    tid = threading.get_ident()
    for t, mode in reversed(_active):
        if t == tid:
            return mode
    return None


def _sac_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    nxt = _saved_apply[0].__func__
    mode = _current()
    if mode is None or mode.busy:
        return nxt(cls, *args, **kwargs)
    mode.busy = True  # the ops inside this op's forward (and the policy's) are this op
    try:
        return mode.run(nxt, cls, args, kwargs)
    finally:
        mode.busy = False


_OURS = classmethod(_sac_apply)


class _Mode:
    """Entering swaps the intercepting ``apply`` in (the first entered), exiting puts it back."""

    busy = False

    def __enter__(self) -> _Mode:
        with _lock:
            # (ours may still be in place: a tool that wrapped it later put it back)
            if not _active and Function.__dict__["apply"] is not _OURS:
                _saved_apply[:] = [Function.__dict__["apply"]]
                Function.apply = _OURS
            _active.append((threading.get_ident(), self))
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            for i in range(len(_active) - 1, -1, -1):
                if _active[i][1] is self:
                    del _active[i]
                    break
            if not _active and Function.__dict__["apply"] is _OURS:
                Function.apply = _saved_apply.pop()


class _CachingMode(_Mode):
    """The forward's context: consults the policy after each op, keeps what it says to save."""

    def __init__(self, policy_fn: Any, storage: dict) -> None:
        self.policy_fn = policy_fn
        self.storage = storage
        self.counter: dict[OpOverload, int] = defaultdict(int)

    def run(self, nxt: Any, cls: type, args: tuple, kwargs: dict) -> Any:
        out = nxt(cls, *args, **kwargs)
        op = op_for(cls, args)
        idx = self.counter[op]
        self.counter[op] += 1
        ctx = SelectiveCheckpointContext(is_recompute=False, op_output=out)
        policy = self.policy_fn(ctx, op, *args, **kwargs)
        if isinstance(policy, bool):  # PyTorch's older form: True saves
            policy = CheckpointPolicy.MUST_SAVE if policy else CheckpointPolicy.PREFER_RECOMPUTE
        self.storage[op][idx] = _Entry(out) if policy in _SAVE else _RECOMPUTE
        return out

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        # the kept nodes' links to the rest of the forward graph: cut, so that the graph
        # (and the activations it holds) is freed as without selective checkpointing
        for per_op in self.storage.values():
            for entry in per_op.values():
                if isinstance(entry, _Entry) and entry.node is not None:
                    entry.node.next_edges = (None,) * len(entry.node.next_edges)


class _CachedMode(_Mode):
    """The recomputation's context: hands kept outputs back, runs the other ops."""

    def __init__(self, storage: dict, allow_cache_entry_mutation: bool) -> None:
        self.storage = storage
        self.allow = allow_cache_entry_mutation
        self.counter: dict[OpOverload, int] = defaultdict(int)

    def __enter__(self) -> _CachedMode:
        self.counter.clear()
        return super().__enter__()

    def run(self, nxt: Any, cls: type, args: tuple, kwargs: dict) -> Any:
        op = op_for(cls, args)
        idx = self.counter[op]
        self.counter[op] += 1
        per_op = self.storage.get(op)
        if per_op is None:
            raise RuntimeError(
                f"{op} encountered during backward but not found in storage. {_MISMATCH}"
            )
        entry = per_op.get(idx)
        if entry is None:
            raise RuntimeError(
                f"{op} invocation index {idx} encountered during backward but not found in "
                f"storage. {_MISMATCH}"
            )
        if entry is _CONSUMED:
            raise RuntimeError(
                "Trying to backward an extra time. You are only allowed to backward once on "
                "any region computed under selective activation checkpoint."
            )
        if entry is _RECOMPUTE:
            return nxt(cls, *args, **kwargs)
        per_op[idx] = _CONSUMED
        return nxt(_Replay, entry, entry.values(self.allow), *args)


def create_selective_checkpoint_contexts(
    policy_fn_or_list: Any, allow_cache_entry_mutation: bool = False
) -> tuple[_CachingMode, _CachedMode]:
    """The two contexts for ``checkpoint(..., use_reentrant=False, context_fn=...)``.

    Args:
        policy_fn_or_list: a policy ``policy(ctx, op, *args, **kwargs)`` returning a
            :class:`CheckpointPolicy` (or a bool, True meaning MUST_SAVE), or a list of op
            overloads (``chainrule.ops.aten.mm.default``) to save, every other op being
            recomputed.
        allow_cache_entry_mutation: when False (default), using a kept output that was
            modified in place since raises RuntimeError.

    Raises:
        ValueError: a list item that is not an op overload (PyTorch's text).
        TypeError: neither a callable nor a list.
    """
    if isinstance(policy_fn_or_list, list):
        for op in policy_fn_or_list:
            if not isinstance(op, OpOverload):
                extra = (
                    "Please update the OpOverloadPacket to a specific OpOverload."
                    "For example, if you have `torch.ops.aten.mm`, change it to "
                    "`torch.ops.aten.mm.default`."
                    if isinstance(op, OpOverloadPacket)
                    else ""
                )
                raise ValueError(
                    f"Expected op in `op_list` to be an OpOverload but got: {op} of type "
                    f"{type(op)}. {extra}"
                )
        ops = policy_fn_or_list

        def policy_fn(ctx: Any, op: Any, *args: Any, **kwargs: Any) -> CheckpointPolicy:
            if op in ops:
                return CheckpointPolicy.MUST_SAVE
            return CheckpointPolicy.PREFER_RECOMPUTE

    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage: dict[Any, dict[int, Any]] = defaultdict(dict)
    return _CachingMode(policy_fn, storage), _CachedMode(storage, allow_cache_entry_mutation)
