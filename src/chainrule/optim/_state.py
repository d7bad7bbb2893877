"""An optimizer's per-parameter state, between what users see and what the update rules use.

``optimizer.state[p]`` holds what PyTorch holds (tensors, the counters ``step``/``eta``/``mu``/
``mu_product`` as 0-d tensors); the update rules in ``optim/*.py`` compute on raw arrays and
Python floats. :func:`array_state` unwraps a state for a rule (the same memory),
:func:`store_state` writes the rule's results back, and :func:`cast_like` turns a loaded
state-dict entry into PyTorch's kind of entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.sparse_tensor import SparseTensor
from ._array_math import scalar_dtype

__all__ = ["array_state", "cast_like", "cast_nested", "store_state"]

# the per-parameter state entries the update rules keep as Python numbers (PyTorch: 0-d
# tensors, read with .item()); the rules see floats, users 0-d tensors
_NUMBER_STATE_KEYS = frozenset({"step", "eta", "mu", "mu_product"})
_NUMBERS = (int, float, np.integer, np.floating)


def cast_like(
    value: Any, p: Tensor, key: str, name: str, counters: bool = True, shaped: bool = True
) -> Any:
    """A saved state entry as the optimizer's state holds it, as PyTorch's
    ``load_state_dict`` makes it: ``step`` keeps its own dtype (a plain number, as older
    checkpoints hold, becomes a tensor of the scalar dtype, unless ``counters`` is False: an
    optimizer with its own step() keeps its numbers); every other tensor or array is
    copied onto ``p``'s device and dtype. A 0-d entry is a counter (ASGD's ``eta``) unless
    ``p`` itself is 0-d and the key is not one of those counters: then it is a buffer the
    update rule changes in place, and must have ``p``'s shape like every other buffer.

    As PyTorch's ``value.to(dtype, device)``, a tensor already of the right dtype and device
    is kept, not copied: loading a live optimizer's ``state_dict()`` into a second optimizer
    makes the two share their buffers (each one's in-place update is seen by the other).
    ``shaped=False`` is for an optimizer whose state is not shaped like its parameters
    (LBFGS keeps flat vectors over all parameters): no shape check then."""
    source = None
    if isinstance(value, Tensor):
        if isinstance(value, SparseTensor):  # SGD's momentum over sparse gradients
            return value.detach().clone().to(dtype=p.dtype)
        source = value
        value = value._data
    counter = key in _NUMBER_STATE_KEYS
    if not counters and source is None and isinstance(value, _NUMBERS):
        return value
    if counter and isinstance(value, _NUMBERS) and not isinstance(value, bool):
        value = np.array(value, scalar_dtype())
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        return value
    # PyTorch casts to a floating-point parameter's dtype only: for a complex parameter
    # every entry keeps its own dtype (ASGD's float32 eta/mu, NAdam's mu_product)
    param_dtype = p._data.dtype if p._data.dtype.kind in "fV" else value.dtype
    if value.ndim == 0 and (p._data.ndim != 0 or counter):
        keep = key == "step"  # PyTorch keeps a step tensor as saved (an int64 one too)
        dtype = value.dtype if keep else scalar_dtype() if key == "step" else param_dtype
        if _reusable(source, value, np, dtype):
            return source
        return Tensor._make(np.array(value, dtype=dtype), False, None, 0)
    if shaped and tuple(value.shape) != tuple(p._data.shape):
        raise ValueError(
            f"{name}.load_state_dict: state {key!r} has shape "
            f"{tuple(value.shape)} but its parameter has shape "
            f"{tuple(p._data.shape)}"
        )
    xp = get_array_module(p._data)
    dtype = value.dtype if key == "step" else param_dtype  # PyTorch never casts a "step"
    if _reusable(source, value, xp, dtype):
        return source
    return Tensor._make(xp.array(value, dtype=dtype, copy=True), False, None, 0)


def cast_nested(
    value: Any, p: Tensor, key: Any, name: str, counters: bool = True, shaped: bool = True
) -> Any:
    """:func:`cast_like` through the containers a custom optimizer's state may hold, as
    PyTorch's ``load_state_dict`` walks them: a dict's entries keep their keys (a nested
    ``"step"`` keeps its dtype; the dict comes back a plain dict), a list's or tuple's
    elements are cast without a key (a ``"step"`` list is cast like any buffer). Strings and
    named tuples are kept as they are."""
    if isinstance(value, dict):
        return {k: cast_nested(v, p, k, name, counters, shaped) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(cast_nested(v, p, None, name, counters, shaped) for v in value)
    return cast_like(value, p, key, name, counters, shaped)


def _reusable(source: Tensor | None, array: Any, xp: Any, dtype: Any) -> bool:
    """Whether a loaded state tensor can be kept as it is (PyTorch's ``.to`` returns it
    unchanged): it is a tensor whose array already has ``dtype`` on ``xp``'s device and can
    be updated in place (not a read-only memory map)."""
    if source is None or get_array_module(array) is not xp or array.dtype != dtype:
        return False
    return bool(getattr(getattr(array, "flags", None), "writeable", True))


def array_state(state: dict[str, Any]) -> dict[str, Any]:
    """A parameter's ``state`` as the update rules read it: each tensor's array (the same
    memory), the counters as Python floats (PyTorch's rules read them with ``.item()``), other
    values as they are (a counter held in a dtype other than the scalar dtype as a NumPy
    scalar of that dtype). A new dict: :func:`store_state` writes it back."""
    arrays = {}
    for k, v in state.items():
        # a plain Tensor first (one type check), else a subclass but SparseTensor (SGD's
        # momentum over sparse gradients stays a tensor)
        if type(v) is Tensor or (isinstance(v, Tensor) and not isinstance(v, SparseTensor)):
            v = v._data
            if k in _NUMBER_STATE_KEYS and v.ndim == 0:
                # a counter loaded in another dtype (PyTorch casts NAdam's mu_product to a
                # float64 parameter's dtype) stays a NumPy scalar: the rule rounds like it
                v = v.item() if k == "step" or v.dtype == scalar_dtype() else v[()]
        arrays[k] = v
    return arrays


def store_state(
    state: dict[str, Any], arrays: dict[str, Any], counters: bool = True, stepped: bool = False
) -> None:
    """Write an update rule's ``arrays`` back into a parameter's ``state`` as PyTorch keeps
    it: an array the rule updated in place is already there (its tensor shares it); a new array
    becomes a tensor; a counter is written into its 0-d tensor (a new one has the scalar
    dtype PyTorch's optimizers use, float64 under a float64 default, else float32), unless
    ``counters`` is False (SparseAdam's ``step`` stays a Python int, as PyTorch's). A
    counter's version moves by one each time it is written, and a new one ``stepped`` (made
    by a step's update, not by ``__init__``) starts at 1: PyTorch's ``tensor(0.0)`` at
    init, then ``step += 1``."""
    for k, v in arrays.items():
        old = state.get(k)
        if type(old) is Tensor or isinstance(old, Tensor):
            data = old._data
            if data is v:  # updated in place (the common case): nothing to write
                continue
            if k in _NUMBER_STATE_KEYS and isinstance(v, _NUMBERS) and data.ndim == 0:
                data[()] = v
                old._vc[0] += 1
                continue
        if counters and k in _NUMBER_STATE_KEYS and isinstance(v, _NUMBERS):
            state[k] = counter = Tensor._make(np.array(v, scalar_dtype()), False, None, 0)
            if stepped:
                counter._vc[0] = 1
        elif isinstance(v, np.ndarray) or get_array_module(v) is not np:
            state[k] = Tensor._make(v, False, None, 0)
        else:
            state[k] = v
