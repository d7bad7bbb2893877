"""``vmap``: vectorise a function written for one sample over a batch (``torch.func.vmap``).

Design (recorded in docs/architecture.md):

- **Batched tensors with logical shapes.** Each mapped input is moved so its mapped dim is
  first and wrapped as a :class:`~._batched.BatchedTensor` of a new vmap *level*. The
  wrapper reports the logical (per-sample) shape, so the Python layer of every op (which
  checks shapes and computes dims from ``x.shape``) runs unchanged.
- **One dispatch hook in ``Function.apply``.** While a vmap is active in the thread
  (``state.vmap`` non-empty; otherwise the hook costs one attribute read per op), an op
  with batched arguments goes to its *batching rule* (``_rules_*``): the same op applied
  once to the physical arrays, with dims shifted and ranks aligned. Ops without a rule
  run per sample and are stacked (the fallback), which is always correct.
- **Levels for nesting.** A nested vmap wraps already-batched tensors again; a rule peels
  off only the innermost level, and the ops it calls on the physical values dispatch again
  for the outer levels.
- **Autograd sees physical tensors only.** Rules compute with ordinary ops, so the graph is
  physical; ``grad``/``vjp``/``jvp``/``jacrev``/``jacfwd`` inside vmap differentiate with
  respect to per-sample *physical* leaves (an unbatched input is expanded to the batch
  first), which gives per-sample results (see :mod:`.transforms`).
- **Randomness** is decided where every draw starts, :func:`chainrule.random.gen`
  (see :mod:`._random`).
"""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..ops._util import dim_range_error
from ..ops.shape import broadcast_to, cat, movedim, unsqueeze
from ..random_snapshot import restore, snapshot
from ..utils._pytree import tree_leaves, tree_structure
from . import _rules_elementwise, _rules_fill, _rules_nn  # noqa: F401 - registers the rules
from ._batched import BatchedTensor, Level
from ._random import lift_draw

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _name(func: Callable) -> str:
    return getattr(func, "__name__", repr(func))


def _leaves(x: Any) -> list:
    """Leaves of a pytree, in ``torch.utils._pytree``'s order (dict insertion order)."""
    return tree_leaves(x)


def _unflatten(x: Any, it: Any) -> Any:
    """``x``'s structure (its container types kept: OrderedDict, namedtuple, deque, ...) with
    its leaves replaced by the next items of ``it``."""
    spec = tree_structure(x)
    return spec.unflatten([next(it) for _ in range(spec.num_leaves)])


# the first line of PyTorch's error splitting the batch at indices (True, 2, ...) for
# chunk_size=True (``tensor_split`` refuses a bool among its indices)
_TENSOR_SPLIT_BOOL = (
    "tensor_split() received an invalid combination of arguments - got (tuple, dim=int), "
    "but expected one of:"
)


def _check_chunk_size(chunk_size: Any) -> tuple[int | None, TypeError | None]:
    """PyTorch's check ``chunk_size is None or chunk_size > 0`` (else its ValueError) and
    the TypeError its chunking then meets, raised at the call after the inputs' checks (the
    second item): a positive float fails multiplying a list (``[chunk_size] * n_chunks``),
    True fails ``tensor_split``. A str, list or complex fails the comparison itself, with
    Python's words, as in PyTorch. A NumPy int or 0-d integer tensor is taken as an int."""
    if chunk_size is None:
        return None, None
    if type(chunk_size) is not int and not isinstance(chunk_size, (bool, float)):
        with contextlib.suppress(TypeError):
            chunk_size = operator.index(chunk_size)
    if not chunk_size > 0:  # a str/list/complex: Python's TypeError here, PyTorch's too
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    if isinstance(chunk_size, bool):
        return None, TypeError(_TENSOR_SPLIT_BOOL)
    if isinstance(chunk_size, float):
        return None, TypeError("can't multiply sequence by non-int of type 'float'")
    if type(chunk_size) is not int:  # what no comparison refused and no index converts
        raise TypeError(
            f"vmap: chunk_size must be None or a positive int, got {type(chunk_size).__name__}"
        )
    return chunk_size, None


def _match(dims: Any, x: Any, what: str) -> list:
    """One dim per leaf of ``x``: an int/None applies to the whole subtree, a container must
    have ``x``'s structure."""
    if dims is None or (isinstance(dims, (int, np.integer)) and not isinstance(dims, bool)):
        return [dims] * len(_leaves(x))
    if isinstance(dims, dict) and isinstance(x, dict) and set(dims) == set(x):
        return [d for k in x for d in _match(dims[k], x[k], what)]
    if (
        isinstance(dims, (tuple, list))
        and isinstance(x, (tuple, list))
        and isinstance(dims, list) == isinstance(x, list)
        and len(dims) == len(x)
    ):
        return [d for dd, xx in zip(dims, x) for d in _match(dd, xx, what)]
    raise ValueError(
        f"{what}: {dims!r} is not compatible with the structure of the "
        f"{'inputs' if 'in_dims' in what else 'outputs'}: each entry must be an "
        "int, None, or a (nested) tuple/list/dict matching them"
    )


def vmap(
    func: Callable,
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """Vectorise ``func`` over a dim of its inputs (``torch.func.vmap``).

    Args:
        func: a function of tensors (pytrees of tuples, lists and dicts allowed) written for
            one sample; returns a tensor or a pytree of tensors.
        in_dims: per input, the dim to map over (negative counts from the end) or None to
            pass the input unmapped to every sample; an int applies to all inputs, a tuple
            gives one entry (int, None or a matching nested structure) per input.
        out_dims: where the mapped dim goes in each output (int, None for outputs that do
            not depend on the batch, or a structure matching the outputs).
        randomness: 'error' (random ops raise), 'different' (independent draws per
            sample) or 'same' (one draw shared by all samples). Nested vmaps keep each
            level's mode for its own batch dim (PyTorch's rule).
        chunk_size: map at most this many samples at once (bounds memory; the results are
            concatenated), None for all at once.

    Returns:
        The vectorised function; keyword arguments are passed to ``func`` unmapped.

    Raises:
        ValueError: in_dims/out_dims not matching the inputs/outputs, mapping a non-tensor,
            an in_dim out of range, mapped dims of different sizes, or an output that is not
            a tensor.
        RuntimeError: a random op under randomness='error'; an unknown randomness mode.

    Example (per-sample gradients: one gradient of each sample's loss)::

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0])
        >>> xs = cr.tensor([[1.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
        >>> cr.func.vmap(lambda x: (w * x).sum())(xs)
        tensor([1., 6., 3.])
        >>> loss = lambda w, x: ((w * x).sum() - 1.0) ** 2
        >>> cr.func.vmap(cr.func.grad(loss), in_dims=(None, 0))(w, xs)
        tensor([[ 0.,  0.],
                [ 0., 30.],
                [ 4.,  4.]])
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or "
            f"'same'. Got {randomness}"
        )
    chunk_size, chunk_error = _check_chunk_size(chunk_size)
    if isinstance(in_dims, bool):  # an int to PyTorch's check, then refused by its size()
        raise TypeError("size(): argument 'dim' (position 1) must be int, not bool")
    if not (in_dims is None or isinstance(in_dims, (int, tuple))):
        raise ValueError(_in_dims_message(func, in_dims))

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        what = f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>)"
        dims = in_dims
        if dims is None:  # PyTorch refuses None at the top (a tuple may hold Nones)
            raise ValueError(_in_dims_message(func, dims))
        if isinstance(dims, tuple) and len(dims) != len(args):
            raise ValueError(
                f"{what}: in_dims is not compatible with the structure of "
                f"`inputs`: in_dims has {len(dims)} entries but {len(args)} "
                "inputs were given"
            )
        flat = _leaves(args)
        flat_dims = _match(dims if isinstance(dims, tuple) else dims, args, f"{what} in_dims")
        size = _batch_size(flat, flat_dims, what)
        if chunk_error is not None:
            raise chunk_error
        if chunk_size is None or chunk_size >= size:
            return _run(func, args, flat, flat_dims, size, kwargs, out_dims, randomness)
        outs = []
        # randomness='same': every chunk draws what the first one did (PyTorch rewinds the
        # generator before each chunk), so the samples share one draw as unchunked
        rng = snapshot() if randomness == "same" else None
        for start in range(0, size, chunk_size):
            stop = min(start + chunk_size, size)
            if rng is not None and start:
                restore(rng)
            part = [x if d is None else _narrow(x, d, start, stop) for x, d in zip(flat, flat_dims)]
            outs.append(
                _run(func, args, part, flat_dims, stop - start, kwargs, out_dims, randomness)
            )
        return _concat_chunks(outs, out_dims, func)

    return wrapped


def _batch_size(flat: list, dims: list, what: str) -> int:
    sizes = []
    for x, d in zip(flat, dims):
        if d is None:
            continue
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise ValueError(f"{what}: in_dims must contain only ints or None, got {d!r}")
        if not isinstance(x, Tensor):
            raise ValueError(
                f"{what}: Got in_dim={d} for an input but the input is of type "
                f"{type(x)}. We cannot vmap over non-Tensor arguments, please "
                "use None as the respective in_dim"
            )
        n = x.ndim
        if not -n <= d < n:
            raise ValueError(
                f"{what}: Got in_dim={d} for some input, but that input is a "
                f"Tensor of dimensionality {n} so expected in_dim to satisfy "
                f"-{n} <= in_dim < {n}."
            )
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")  # PyTorch's words
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            f"vmap: Expected all tensors to have the same size in the mapped "
            f"dimension, got sizes {sizes} for the mapped dimension"
        )
    return int(sizes[0])


def _narrow(x: Tensor, d: int, start: int, stop: int) -> Tensor:
    idx = [slice(None)] * x.ndim
    idx[d] = slice(start, stop)
    return x[tuple(idx)]


def _run(
    func: Callable,
    args: tuple,
    flat: list,
    dims: list,
    size: int,
    kwargs: dict,
    out_dims: Any,
    randomness: str,
) -> Any:
    levels = LOCAL.state.vmap
    level = Level(levels[-1].id + 1 if levels else 1, size, randomness)
    wrapped = [
        x if d is None else BatchedTensor(movedim(x, int(d), 0), level) for x, d in zip(flat, dims)
    ]
    # each input behind its batched value: PyTorch's vmap hands an input back itself where
    # func returns it as it came, at its own dim (``vmap(lambda a: a)(x) is x``)
    given = {
        id(w._value): (x, int(d) % x.ndim) for w, x, d in zip(wrapped, flat, dims) if d is not None
    }
    levels.append(level)
    try:
        out = func(*_unflatten(args, iter(wrapped)), **kwargs)
        return _unwrap_outputs(out, out_dims, level, func, given)
    finally:
        levels.pop()


def _in_dims_message(func: Callable, in_dims: Any) -> str:
    """PyTorch's text for ``in_dims`` of no type it takes (formatted as its f-string does)."""
    return (
        f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int "
        "or a (potentially nested) tuple matching the structure of inputs, got: "
        f"{type(in_dims)}."
    )


def _bad_out_dims(out_dims: Any) -> bool:
    """Whether ``out_dims`` holds anything but ints and Nones (in tuples, lists, dicts)."""
    if isinstance(out_dims, (tuple, list)):
        return any(_bad_out_dims(d) for d in out_dims)
    if isinstance(out_dims, dict):
        return any(_bad_out_dims(d) for d in out_dims.values())
    return not (out_dims is None or isinstance(out_dims, int))


def _single_output(out_dims: Any, out: Any) -> Any:
    """``out_dims`` for ``out``: PyTorch reads a one-entry tuple given for a function that
    returns a single tensor as its entry (``out_dims=(1,)`` is ``out_dims=1`` there; a list
    or a longer tuple stays a mismatch)."""
    if isinstance(out, Tensor) and type(out_dims) is tuple and len(out_dims) == 1:
        return out_dims[0]
    return out_dims


def _unwrap_outputs(
    out: Any, out_dims: Any, level: Level, func: Callable, given: dict | None = None
) -> Any:
    name = _name(func)
    if isinstance(out_dims, bool):  # an int to PyTorch's check: out_dims=True is dim 1
        out_dims = int(out_dims)
    if _bad_out_dims(out_dims):
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a "
            "python collection of ints representing where in the outputs the vmapped "
            "dimension should appear."
        )
    flat = _leaves(out)
    try:
        flat_dims = _match(
            _single_output(out_dims, out), out, f"vmap({name}, ..., out_dims={out_dims!r})"
        )
    except ValueError:  # PyTorch's words, with both trees' structures
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
            f"with the structure of `outputs`. out_dims has structure "
            f"{tree_structure(out_dims)} but outputs has structure {tree_structure(out)}."
        ) from None
    res = [_unwrap_one(lift_draw(o), d, level, name, given) for o, d in zip(flat, flat_dims)]
    return _unflatten(out, iter(res))


def _unwrap_one(o: Any, d: Any, level: Level, name: str, given: dict | None = None) -> Any:
    batched = type(o) is BatchedTensor and o._level is level
    if d is None:
        if batched:
            raise ValueError(
                f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim "
                f"is None\nvmap({name}, ...): `{name}` returned a tensor that depends on "
                "the mapped inputs for an output whose out_dim is None; give it an out_dim"
            )
        return o
    if not isinstance(o, Tensor):
        raise ValueError(
            f"vmap({name}, ...): `{name}` must only return Tensors, got type "
            f"{type(o)}. Did you mean to set out_dims= to None for output?"
        )
    n = o.ndim + 1
    if not -n <= d < n:  # PyTorch's words (its maybe_wrap_dim on the output's rank + 1)
        raise dim_range_error(d, n)
    d = int(d) % n
    if batched:
        v = o._value
        src = given.get(id(v)) if given else None
        if src is not None and src[1] == d:  # an input returned as it came (the same object)
            return src[0]
        return v if d == 0 else movedim(v, 0, d)
    return broadcast_to(unsqueeze(o, d), o.shape[:d] + (level.size,) + o.shape[d:])


def _concat_chunks(outs: list, out_dims: Any, func: Callable) -> Any:
    first = outs[0]
    where = f"vmap({_name(func)}, ..., out_dims={out_dims!r})"
    flat_dims = _match(_single_output(out_dims, first), first, where)
    per_chunk = [_leaves(o) for o in outs]
    res = []
    for i, d in enumerate(flat_dims):
        parts = [p[i] for p in per_chunk]
        if d is None:
            res.append(parts[0])
        else:
            res.append(cat(parts, int(d) % parts[0].ndim))
    return _unflatten(first, iter(res))
