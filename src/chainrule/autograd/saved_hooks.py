"""PyTorch's hooks for saved tensors (``torch.autograd.graph.saved_tensors_hooks``).

Inside ``saved_tensors_hooks(pack_hook, unpack_hook)``, every array an op saves for its
backward (its inputs, its outputs, the intermediates it keeps) is passed to ``pack_hook`` as
a Tensor when the op is recorded, and the graph keeps only what ``pack_hook`` returns. The
backward calls ``unpack_hook`` on that object and computes with the tensor it returns. Typical
uses: move saved activations to another device or to disk (``save_on_cpu``), compress them,
or count what a model keeps for backward.

As in PyTorch:

* the hooks belong to the thread that set them (another thread's ops are not packed), and
  only the innermost pair of nested hooks applies;
* nothing is packed while the graph is not recorded (``no_grad``, inputs without grad);
* the hooks are off while ``pack_hook`` / ``unpack_hook`` run, so what they compute is not
  packed again;
* ``unpack_hook`` runs every time the backward reads the value (again after
  ``retain_graph=True``) and must return a Tensor (TypeError otherwise).

Two guards PyTorch does not have, so that a hook never gives a silently wrong gradient: the
unpacked tensor must have the saved tensor's shape and dtype, and if it still reads the
memory of a tensor that was modified in place after it was saved, the backward raises the
usual "modified by an inplace operation" error (PyTorch computes with the modified values).
A hook that copies (``save_on_cpu`` to another device, compression) is unaffected by later
in-place changes, as in PyTorch.

Where the values go: ``Function.apply`` packs a node's classified saved values
(``function.pack_saved_values``); ``Node._unpack`` unpacks them and reconnects the result to
the graph (``node.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .state import current
from .tensor import Tensor

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]


class saved_tensors_hooks:
    """Context manager setting a pack / unpack hook pair for the tensors saved for backward.

    Args:
        pack_hook: ``pack_hook(tensor) -> Any``, called when an op saves ``tensor``; its
            result is stored in the graph instead of the tensor.
        unpack_hook: ``unpack_hook(packed) -> Tensor``, called when the backward needs the
            value; must give back a tensor equal to the saved one in size, dtype and values.

    Example::

        def pack(t):
            return t.numpy().copy()          # e.g. keep a NumPy copy

        def unpack(a):
            return cr.from_numpy(a)

        with cr.autograd.graph.saved_tensors_hooks(pack, unpack):
            loss = model(x).sum()
        loss.backward()
    """

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]):
        for name, hook in (("pack_hook", pack_hook), ("unpack_hook", unpack_hook)):
            if not callable(hook):
                raise TypeError(
                    f"saved_tensors_hooks: {name} must be callable, got {type(hook).__name__}"
                )
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook
        self._outer: list = []

    def __enter__(self) -> saved_tensors_hooks:
        state = current()
        if state.saved_hooks_disabled is not None:
            raise RuntimeError(state.saved_hooks_disabled)
        self._outer.append(state.saved_hooks)
        state.saved_hooks = (self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        current().saved_hooks = self._outer.pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep the tensors saved for backward in CPU memory and bring each back to its device
    when the backward needs it (PyTorch's activation offloading).

    With the NumPy backend the saved tensors are already in CPU memory and are kept as they
    are; with CuPy they are copied to host memory when saved and back to the GPU in the
    backward, which frees GPU memory between forward and backward.

    Args:
        pin_memory: PyTorch copies into page-locked host memory for asynchronous transfers.
            NumPy arrays are ordinary host memory, so the value only selects PyTorch's
            semantics (the copy itself is synchronous here).
        device_type: the device type of the tensors to offload (PyTorch's argument; tensors on
            any device are offloaded here).
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        if not isinstance(device_type, str):
            raise TypeError(
                f"save_on_cpu: device_type must be a string such as 'cuda', "
                f"got {type(device_type).__name__}"
            )
        self.pin_memory = bool(pin_memory)
        self.device_type = device_type
        super().__init__(_to_cpu, _to_device)


def _to_cpu(tensor: Tensor) -> tuple:
    """Pack: the tensor's device and the tensor in CPU memory (itself when already there)."""
    return tensor.device, tensor.cpu()


def _to_device(packed: tuple) -> Tensor:
    """Unpack: the CPU copy moved back to the device it was saved from."""
    device, tensor = packed
    return tensor.to(device)


@contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Forbid saved-tensor hooks inside the block: entering ``saved_tensors_hooks`` there
    raises ``RuntimeError(error_message)``, and so does entering this block while hooks are
    set (as in PyTorch, for code that cannot work with packed saved tensors)."""
    state = current()
    if state.saved_hooks is not None:
        raise RuntimeError(error_message)
    outer = state.saved_hooks_disabled
    state.saved_hooks_disabled = error_message
    try:
        yield
    finally:
        state.saved_hooks_disabled = outer
