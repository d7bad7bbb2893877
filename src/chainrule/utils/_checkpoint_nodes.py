"""The graph nodes behind ``utils/checkpoint.py``: the reentrant and the non-reentrant
checkpoint as ``Function``s, and what their backward needs (replaying the random state,
checking that the recomputation matches the forward, walking nested outputs).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from ..autograd import backward as _autograd_backward
from ..autograd import grad as _autograd_grad
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.state import current
from ..autograd.tensor import Tensor
from ..random_snapshot import RngSnapshot, restore, snapshot

__all__ = [
    "CheckpointError",
    "check_backward_validity",
    "detach_variable",
]


class CheckpointError(RuntimeError):
    """The recomputation in backward did not reproduce the forward (non-reentrant
    checkpoint's determinism check)."""


def detach_variable(inputs: tuple) -> tuple:
    """The tuple with each Tensor replaced by a detached leaf keeping its ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(
            "Only tuple of tensors is supported. Got Unsupported input type: "
            f"{type(inputs).__name__}"
        )
    out = []
    for inp in inputs:
        if isinstance(inp, Tensor):
            x = inp.detach()
            x._rg = inp.requires_grad
            inp = x
        out.append(inp)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn when no Tensor input requires grad (reentrant checkpoint: no gradients)."""
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn(
            "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2
        )


@contextlib.contextmanager
def _replay_rng(state: RngSnapshot | None) -> Iterator[None]:
    """Run the block with the default generator at ``state`` (the forward's), restoring the
    caller's state afterwards (PyTorch's ``fork_rng``); a no-op for ``state=None``."""
    if state is None:
        yield
        return
    outer = snapshot()
    restore(state)
    try:
        yield
    finally:
        restore(outer)


def _checkpoint_valid() -> bool:
    """PyTorch's ``_is_checkpoint_valid``: False when the backward pass running the caller
    was started by ``autograd.grad`` or ``backward(inputs=...)``. The passes a non-reentrant
    checkpoint's backward runs for itself (marked ``"checkpoint"`` around them) are skipped:
    what counts is the user's pass that reached it."""
    passes = current().backward_passes
    i = len(passes) - 1
    while i >= 0:
        if passes[i] == "checkpoint":
            i -= 1
        elif i > 0 and passes[i - 1] == "checkpoint":
            i -= 2  # the checkpoint's own autograd.grad, not the user's pass
        else:
            return passes[i] == "backward"
    return True


class _ReentrantCheckpoint(Function):
    """PyTorch's ``CheckpointFunction``: forward without a graph, backward by recomputing
    and running a nested ``backward()``."""

    node_name = "CheckpointFunctionBackward"

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.fwd_rng_state = snapshot() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_indices))
        with no_grad():
            outputs = run_function(*args)
        if not isinstance(outputs, (Tensor, tuple)):
            raise TypeError(
                "checkpoint(use_reentrant=True): the function must return a Tensor or a tuple, "
                f"got {type(outputs).__name__}; use use_reentrant=False for other outputs"
            )
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        if not _checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, chainrule.utils.checkpoint is incompatible"
                " with .grad() or passing an `inputs` parameter to .backward()."
                " To resolve this error, you can either set use_reentrant=False,"
                " or call .backward() without passing the `inputs` argument."
            )
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with _replay_rng(ctx.fwd_rng_state):
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [
            (o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad
        ]
        if not pairs:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        _autograd_backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, *(x.grad if isinstance(x, Tensor) else None for x in detached))


class _NonReentrantCheckpoint(Function):
    """One node standing for a checkpointed call: inputs are the outside tensors the call
    used (its Tensor arguments, then the captured ones), outputs its Tensor outputs; backward
    recomputes the call and differentiates the recomputation with respect to them.
    Recording the backward (``create_graph=True``), the recomputation runs on the inputs
    themselves rather than detached copies, so the gradients it returns stay connected to
    them (double backward)."""

    node_name = "CheckpointBackward"

    @staticmethod
    def forward(ctx, info, *tensors):
        ctx.info = info
        ctx.save_for_backward(*tensors)
        outs = info.pop("outputs")
        ctx.mark_non_differentiable(*(o for o in outs if not o.requires_grad))
        return tuple(o.detach() for o in outs)

    @staticmethod
    def backward(ctx, *grads):
        info = ctx.info
        saved = ctx.saved_tensors
        n_args = len(info["tensor_indices"])
        args = list(info["args"])
        for i, t in zip(info["tensor_indices"], saved[:n_args]):
            args[i] = t
        with _replay_rng(info["rng_state"]), info["recompute_context"]:
            with enable_grad():
                # recording: an alias of each argument (a node of its own, so the gradient
                # taken with respect to it counts only its own uses, not those of another
                # argument that is a view or function of it), connected to the argument
                stand_ins = (
                    tuple(_alias(a) for a in args)
                    if ctx.create_graph
                    else detach_variable(tuple(args))
                )
                outputs = info["function"](*stand_ins, **info["kwargs"])
        outs = _tensors_in(outputs)
        _check_determinism(info, outs)
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
        wrt = [stand_ins[i] for i in info["tensor_indices"]] + list(saved[n_args:])
        want = [k for k, x in enumerate(wrt) if x.requires_grad and ctx.needs_input_grad[k + 1]]
        result: list = [None] * len(wrt)
        if pairs and want:
            passes = current().backward_passes
            passes.append("checkpoint")
            try:
                got = _autograd_grad(
                    [o for o, _ in pairs],
                    [wrt[k] for k in want],
                    [g for _, g in pairs],
                    retain_graph=True,  # the graph of a tensor read from outside stays usable
                    create_graph=ctx.create_graph,
                    allow_unused=True,
                )
            except RuntimeError as e:
                if "second time" not in str(e):
                    raise
                raise RuntimeError(
                    "checkpoint(use_reentrant=False): the checkpointed function read a tensor "
                    "computed outside it (not passed as an argument) whose graph was already "
                    "freed when the checkpoint's backward ran; pass that tensor to checkpoint() "
                    "as an argument"
                ) from e
            finally:
                passes.pop()
            for k, g in zip(want, got):
                result[k] = g
        return (None, *result)


def _alias(a: Any) -> Any:
    """``a`` through a view node of its own where it is a Tensor that requires grad."""
    return a.view_as(a) if isinstance(a, Tensor) and a.requires_grad else a


def _tensors_in(obj: Any) -> list:
    """The Tensors of a (nested tuple/list/dict) output, in order."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _tensors_in(v)]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _tensors_in(v)]
    return []


def _replace_tensors(obj: Any, new: Iterator) -> Any:
    """``obj`` with its Tensors replaced, in order, by the items of ``new``."""
    if isinstance(obj, Tensor):
        return next(new)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_replace_tensors(v, new) for v in obj)
    if isinstance(obj, dict):
        return {k: _replace_tensors(v, new) for k, v in obj.items()}
    return obj


def _meta(t: Tensor) -> tuple:
    return tuple(t.shape), t.dtype, t.device


def _check_determinism(info: dict, outs: list) -> None:
    """``determinism_check="default"``: the recomputed outputs must have the forward's
    shapes, dtypes and devices (PyTorch checks its saved tensors the same way)."""
    before, now = info["metadata"], [_meta(o) for o in outs]
    if info["determinism_check"] == "default" and before != now:
        raise CheckpointError(
            "chainrule.utils.checkpoint: Recomputed values for the following tensors have "
            f"different metadata than during the forward pass.\nsaved metadata: {before}\n"
            f"recomputed metadata: {now}"
        )
