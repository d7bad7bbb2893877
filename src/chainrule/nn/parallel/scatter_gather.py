"""``nn.parallel.scatter``/``scatter_kwargs``/``gather`` (``torch.nn.parallel.scatter_gather``):
the nest walks of ``DataParallel``, which split each tensor of a batch into chunks, one per
CUDA device, and join the replicas' outputs on one device.

The walks are PyTorch's: objects that are not tensors are repeated once per device by
``scatter`` and taken from the first replica by ``gather``; tuples, lists, dicts and named
tuples are walked. The tensor step needs CUDA devices: PyTorch's ``gather`` refuses CPU
tensors with an ``AssertionError`` (its message, mirrored here), and ``scatter``'s copies
onto devices raise ``NotImplementedError`` (chainrule has no CUDA devices to copy onto).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...autograd.tensor import Tensor

__all__ = ["gather", "scatter", "scatter_kwargs"]


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _scatter_tensor(t: Tensor, target_gpus: Sequence[Any]) -> list:
    raise NotImplementedError(
        f"nn.parallel.scatter: splitting a tensor of shape {tuple(t.shape)} onto the CUDA "
        f"devices {list(target_gpus)} is not implemented: chainrule has no CUDA devices (one "
        "process runs one device; use DistributedDataParallel with one process per device)"
    )


def scatter(inputs: Any, target_gpus: Sequence[Any], dim: int = 0) -> Any:
    """Split the tensors of ``inputs`` into one chunk per device along ``dim`` and repeat the
    other objects once per device (``torch.nn.parallel.scatter``).

    Raises:
        NotImplementedError: ``inputs`` holds a tensor (its chunks would go to CUDA devices).
    """

    def scatter_map(obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return _scatter_tensor(obj, target_gpus)
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj), strict=False)]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj), strict=False))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj), strict=False)]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()), strict=False)]
        return [obj for _ in target_gpus]

    return scatter_map(inputs)


def scatter_kwargs(
    inputs: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    target_gpus: Sequence[Any],
    dim: int = 0,
) -> tuple[tuple[Any, ...], tuple[dict[str, Any], ...]]:
    """:func:`scatter` of the positional and the keyword arguments, the shorter list padded
    with ``()`` or ``{}`` (``torch.nn.parallel.scatter_gather.scatter_kwargs``)."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(inputs):  # PyTorch compares with len(inputs) here
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def _gather_tensors(target_device: Any, dim: int, tensors: Sequence[Tensor]) -> Tensor:
    if not all(t.device.type != "cpu" for t in tensors):
        raise AssertionError("Gather function not implemented for CPU tensors")
    raise NotImplementedError(
        f"nn.parallel.gather: joining tensors from the devices "
        f"{[str(t.device) for t in tensors]} is not implemented"
    )


def gather(outputs: Any, target_device: Any, dim: int = 0) -> Any:
    """Join the replicas' ``outputs`` (one object per device) on ``target_device``
    (``torch.nn.parallel.gather``): tensors are concatenated along ``dim``, dicts, named
    tuples and sequences walked, None kept.

    Raises:
        AssertionError: a tensor is on the CPU (PyTorch's message: its gather is for CUDA
            tensors).
        ValueError: the dicts have different numbers of keys.
    """

    def gather_map(outputs: Any) -> Any:
        out = outputs[0]
        if isinstance(out, Tensor):
            return _gather_tensors(target_device, dim, outputs)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outputs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outputs])) for k in out)
        if _is_namedtuple(out):
            return type(out)._make(map(gather_map, zip(*outputs, strict=True)))
        return type(out)(map(gather_map, zip(*outputs, strict=True)))

    return gather_map(outputs)
