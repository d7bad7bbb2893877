"""Activation checkpointing, mirroring ``torch.utils.checkpoint``.

``checkpoint(fn, *args)`` trades compute for memory: the activations inside ``fn`` are not
kept for backward; backward runs ``fn`` again (with the random state of the first run, so
dropout masks match) and backpropagates through that recomputation.

Both of PyTorch's variants, selected with ``use_reentrant`` (not passing it warns and
selects the reentrant one, as PyTorch 2.13 does):

* **reentrant** (``use_reentrant=True``): ``fn`` runs under ``no_grad``; the result is the
  output of one graph node whose backward recomputes ``fn`` and runs a nested
  ``backward()`` through it. Parameters used inside ``fn`` get their ``.grad`` from that
  nested pass, so only ``.backward()`` works (``autograd.grad`` and ``backward(inputs=)``
  raise), at least one input must require grad (else it warns and nothing gets a gradient),
  and keyword arguments are refused.
* **non-reentrant** (``use_reentrant=False``): works with ``autograd.grad``, with inputs that
  do not require grad, with keyword arguments and with double backward. PyTorch records the
  graph with saved-tensor hooks that drop the activations; chainrule has no such hooks, so
  ``fn`` runs with grad enabled (``is_grad_enabled()`` is True inside, as in PyTorch), the
  recorded graph is walked for the outside tensors requiring grad that it reaches (the
  arguments, the parameters ``fn`` reads) and then dropped. The result is the output of one
  ``CheckpointBackward`` node (PyTorch: of ``fn``'s last op) with those tensors as inputs,
  whose backward recomputes ``fn`` and returns ``autograd.grad`` of the recomputation.

  Deliberate differences: one call's activations live until it returns (not one op each);
  the recomputation always runs all of ``fn`` (``early_stop`` changes nothing); a non-leaf
  tensor from outside that ``fn`` reads without receiving it as an argument is
  differentiated through inside the checkpoint's backward, which fails with a clear error
  if its graph was already freed by then: pass such tensors as arguments.

  ``context_fn`` (non-reentrant only) gives the contexts of the forward and of the
  recomputation; ``create_selective_checkpoint_contexts`` (``selective_checkpoint.py``)
  makes the pair that saves the outputs of the ops a policy picks.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import topological_order
from ..autograd.tensor import Tensor
from ..nn import Sequential
from ..random_snapshot import snapshot
from ._checkpoint_nodes import (
    CheckpointError,
    _meta,
    _NonReentrantCheckpoint,
    _ReentrantCheckpoint,
    _replace_tensors,
    _tensors_in,
    check_backward_validity,
    detach_variable,
)
from .selective_checkpoint import (
    CheckpointPolicy,
    SelectiveCheckpointContext,
    create_selective_checkpoint_contexts,
)

__all__ = [
    "CheckpointError",
    "CheckpointFunction",
    "CheckpointPolicy",
    "SelectiveCheckpointContext",
    "check_backward_validity",
    "checkpoint",
    "checkpoint_sequential",
    "create_selective_checkpoint_contexts",
    "detach_variable",
    "get_device_states",
    "noop_context_fn",
    "set_checkpoint_debug_enabled",
    "set_checkpoint_early_stop",
    "set_device_states",
]

# PyTorch's name for the reentrant checkpoint's Function (``checkpoint(use_reentrant=True)``)
CheckpointFunction = _ReentrantCheckpoint

_checkpoint_debug_enabled: bool | None = None


def get_device_states(*args: Any) -> tuple[list, list]:
    """PyTorch's per-GPU random states of the devices ``args`` live on, which a checkpoint
    restores before recomputing. chainrule draws every device's random numbers from its one
    generator, whose state ``checkpoint(preserve_rng_state=True)`` saves already: there are
    no per-device states, so this is ``([], [])``, as PyTorch's answer for CPU tensors."""
    return [], []


def set_device_states(devices: list, states: list, *, device_type: str | None = None) -> None:
    """Restore what :func:`get_device_states` returned (nothing, in chainrule).

    Raises:
        NotImplementedError: device states that did not come from chainrule (non-empty).
    """
    if len(devices) != len(states):
        raise ValueError(
            f"set_device_states: {len(devices)} devices but {len(states)} states; they pair up"
        )
    if devices:
        raise NotImplementedError(
            "set_device_states: chainrule has no per-device random states (one generator "
            "serves every device; restore it with cr.set_rng_state)"
        )


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None) -> Iterator[None]:
    """Override ``checkpoint``'s ``debug`` flag inside the block (None: use the flag).
    Debug mode (operator logs on a determinism failure) is not supported: a checkpoint
    that would run with it raises NotImplementedError."""
    global _checkpoint_debug_enabled
    prev = _checkpoint_debug_enabled
    _checkpoint_debug_enabled = enabled
    try:
        yield
    finally:
        _checkpoint_debug_enabled = prev


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool) -> Iterator[None]:
    """PyTorch's switch for stopping a non-reentrant checkpoint's recomputation once every
    needed tensor is recomputed. chainrule's recomputation always runs all of ``fn`` (see
    the module docstring), so the block changes no result; it exists so that code written
    for PyTorch runs unchanged."""
    yield


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, ...]:
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def _captured(outs: list, stand_ins: tuple) -> list:
    """The tensors requiring grad that the recorded graph of ``outs`` reaches, other than
    the stand-ins of the arguments: the parameters (and other tensors) the call read."""
    own = {id(s) for s in stand_ins if isinstance(s, Tensor)}
    found: dict[int, Tensor] = {}
    for o in outs:
        if o.requires_grad and o.grad_fn is None and id(o) not in own:
            found.setdefault(id(o), o)
    for node in topological_order([o.grad_fn for o in outs]):
        for e in node.next_edges:
            if isinstance(e, Tensor) and id(e) not in own:
                found.setdefault(id(e), e)
    return list(found.values())


def _checkpoint_without_reentrant(
    function: Callable,
    preserve: bool,
    determinism_check: str,
    context_fn: Callable[[], tuple],
    args: tuple,
    kwargs: dict,
) -> Any:
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    forward_context, recompute_context = context_fn()
    if not is_grad_enabled():  # nothing will be differentiated: a plain call (as PyTorch)
        return function(*args, **kwargs)
    if any(isinstance(a, Tensor) and a._fw_tangent is not None for a in args):
        # forward-mode AD (a dual argument): a plain call, so the tangents flow through the
        # function's own ops (PyTorch's checkpoint keeps them too); the backward then keeps
        # the activations, as without checkpoint
        return function(*args, **kwargs)
    rng_state = snapshot() if preserve else None
    stand_ins = detach_variable(args)
    with forward_context:  # (selective checkpointing: open until the graph is walked)
        outputs = function(*stand_ins, **kwargs)  # records a graph, dropped below
        outs = _tensors_in(outputs)
        captured = _captured(outs, stand_ins)
    tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    if not any(o.requires_grad for o in outs):
        return outputs
    info = {
        "function": function,
        "args": tuple(None if isinstance(a, Tensor) else a for a in args),
        "kwargs": kwargs,
        "tensor_indices": tensor_indices,
        "rng_state": rng_state,
        "determinism_check": determinism_check,
        "metadata": [_meta(o) for o in outs],
        "outputs": outs,
        "recompute_context": recompute_context,
    }
    new = _NonReentrantCheckpoint.apply(info, *(args[i] for i in tensor_indices), *captured)
    return _replace_tensors(outputs, iter(new if isinstance(new, tuple) else (new,)))


def _warn_use_reentrant(where: str) -> None:
    warnings.warn(
        f"{where}: the use_reentrant parameter should be passed explicitly. In a future "
        "version, calling it without use_reentrant will raise an exception. "
        "use_reentrant=False is recommended, but if you need to preserve the current default "
        "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
        "differences between the two variants.",
        stacklevel=3,
    )


def checkpoint(
    function: Callable,
    *args: Any,
    use_reentrant: bool | None = None,
    context_fn: Callable[[], tuple] = noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    **kwargs: Any,
) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its activations for backward;
    backward recomputes them (PyTorch's ``torch.utils.checkpoint.checkpoint``).

    Args:
        use_reentrant: which variant (see the module doc). Pass it explicitly: None warns
            and selects the reentrant variant, as PyTorch 2.13 does.
        context_fn: returns two context managers: the forward runs under the first, the
            recomputation under the second (``create_selective_checkpoint_contexts``,
            ``utils/selective_checkpoint.py``). Non-reentrant only (ValueError otherwise).
        determinism_check: ``"default"`` compares the shapes, dtypes and devices of the
            recomputed outputs with the forward's (CheckpointError on a difference);
            ``"none"`` skips it. Non-reentrant only.
        debug: not supported (NotImplementedError when True).
        early_stop: accepted; the recomputation always runs the whole function.
        preserve_rng_state: (keyword) replay the default generator's state of the forward
            during the recomputation, so random ops (dropout) repeat. Default True.
        **kwargs: keyword arguments of ``function`` (non-reentrant only).
    """
    if use_reentrant is None:
        _warn_use_reentrant("chainrule.utils.checkpoint")
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        return _ReentrantCheckpoint.apply(function, preserve, *args)
    if _checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug:
        raise NotImplementedError(
            "checkpoint: debug=True (operator logs of the forward and the recomputation) is "
            "not supported; pass debug=False"
        )
    return _checkpoint_without_reentrant(
        function, preserve, determinism_check, context_fn, args, kwargs
    )


def checkpoint_sequential(
    functions: Any, segments: int, input: Any, use_reentrant: bool | None = None, **kwargs: Any
) -> Any:  # noqa: A002 - PyTorch's argument name
    """Run a sequence of modules/functions in ``segments`` chunks, checkpointing every chunk
    but the last (PyTorch's ``checkpoint_sequential``). ``functions`` is an
    ``nn.Sequential`` or a list; ``input`` one Tensor passed from one to the next.
    ``preserve_rng_state`` is the only keyword argument."""
    if use_reentrant is None:
        _warn_use_reentrant("chainrule.utils.checkpoint.checkpoint_sequential")
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start: int, end: int, functions: list) -> Callable:
        def forward(input: Any) -> Any:  # noqa: A002
            for j in range(start, end + 1):
                input = functions[j](input)
            return input

        return forward

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1  # the last chunk runs normally (its output feeds the loss directly)
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(
            run_function(start, end, functions),
            input,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
        )
    return run_function(end + 1, len(functions) - 1, functions)(input)
