"""More of ``torch.func``: ``grad_and_value``, ``stack_module_state``, ``linearize``,
``functionalize`` and ``debug_unwrap``.

Each is built on the transforms of :mod:`.transforms` (so each composes with ``vmap`` as they
do); chainrule runs eagerly, so ``linearize`` and ``functionalize``, which PyTorch implements
by tracing a graph, are written as the eager computations that give the same results (their
docstrings say exactly what is the same and what is not).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..autograd.graph import input_edges, walk
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.cast import clone
from ..ops.shape import stack
from ..utils._pytree import tree_structure
from ._batched import BatchedTensor, wrap
from .transforms import _argnums, grad, jvp
from .vmap import _leaves, _unflatten

__all__ = ["debug_unwrap", "functionalize", "grad_and_value", "linearize", "stack_module_state"]

_REMOVE = ("mutations", "mutations_and_views")


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """The value under a batched tensor of :func:`cr.func.vmap` (``torch.func.debug_unwrap``).

    Inside ``vmap`` a tensor is seen one sample at a time; its underlying (physical) value
    has the batch dim first. ``recurse=True`` unwraps every vmap level (for nested vmaps the
    result has all batch dims in front, innermost level's dim first); ``recurse=False``
    unwraps one level. A tensor that is not batched is returned as it is. Meant for
    debugging (printing the whole batch): computing with the result inside the vmapped
    function mixes the samples.
    """
    if type(tensor) is not BatchedTensor:
        return tensor
    value = tensor._value
    return debug_unwrap(value) if recurse else value


def _reached_leaves(out: Tensor) -> list:
    """The leaves (tensors requiring grad) ``out``'s recorded graph leads back to."""
    if out.grad_fn is None:
        return [out] if out.requires_grad else []
    return [e.leaf for node in walk(out) for e in input_edges(node) if e.leaf is not None]


def _cut_keeping_tangent(t: Tensor) -> Tensor:
    """``t`` detached from the graph of ``grad_and_value``'s own differentiation, keeping the
    forward-mode tangent an enclosing ``jvp``/``jacfwd`` gave it (on the physical tensor
    inside vmap: ``jacfwd(grad_and_value(f, has_aux=True))`` differentiates the value)."""
    if type(t) is BatchedTensor:
        return wrap(_cut_keeping_tangent(t._value), t._level)
    cut = t.detach()
    if t._fw_tangent is not None:
        cut._fw_tangent = t._fw_tangent
    return cut


def grad_and_value(
    func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable:
    """Like :func:`grad`, but also returns the value (``torch.func.grad_and_value``).

    ``grad_and_value(func, argnums, has_aux)(*args)`` returns ``(grad, value)``, or with
    ``has_aux=True`` (``func`` returning ``(value, aux)``) ``(grad, (value, aux))``, as
    PyTorch. ``grad`` has the structure of ``args[argnums]`` (a tuple for a tuple of
    argnums). The value is computed once, in the same forward pass as the gradient; it and
    the tensors of ``aux`` are detached from the differentiation ``grad_and_value`` itself
    does, and stay connected to an enclosing transform or to inputs that already required
    grad, as in PyTorch.
    """

    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        _argnums(argnums, len(args))  # PyTorch's checks first (unique, non-empty, in range)
        seen: list = []

        def g(*a: Any, **kw: Any) -> Any:
            res = func(*a, **kw)
            if has_aux:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(
                        "grad_and_value(f)(*args): output of function f should be a tuple: "
                        "(output, aux) if has_aux is True"
                    )
                out, aux = res
                for leaf in _leaves(aux):
                    if not isinstance(leaf, Tensor):  # PyTorch's words
                        raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
            else:
                out, aux = res, None
            if not isinstance(out, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(out)}"
                )
            nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
            seen.extend(debug_unwrap(t) for i in nums for t in _leaves(a[i]))
            return out, ((out, aux) if has_aux else (out,))  # (no None for grad's aux check)

        gr, packed = grad(g, argnums, has_aux=True)(*args, **kwargs)
        value, aux = packed[0], (packed[1] if has_aux else None)
        given = {id(debug_unwrap(t)) for t in _leaves(args) if isinstance(t, Tensor)}
        fresh = {id(t) for t in seen if isinstance(t, Tensor) and id(t) not in given}

        def release(t: Any) -> Any:
            if not isinstance(t, Tensor):
                return t
            reached = _reached_leaves(debug_unwrap(t))
            if not (reached and all(id(r) in fresh for r in reached)):
                return t
            return _cut_keeping_tangent(t)

        value = release(value)
        if not has_aux:
            return gr, value
        return gr, (value, _unflatten(aux, iter([release(t) for t in _leaves(aux)])))

    return wrapper


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stack the parameters and buffers of same-shaped models (``torch.func.stack_module_state``).

    Returns ``(params, buffers)``: dicts keyed by ``named_parameters()`` / ``named_buffers()``
    names whose values stack the models' tensors along a new dim 0. Stacked parameters are
    new leaves (detached from the models) that require grad when the models' do, so an
    ensemble is trained through them: ``vmap(lambda p, b, x: functional_call(base, (p, b),
    (x,)), in_dims=(0, 0, None))(params, buffers, x)`` runs every model at once.

    Raises:
        RuntimeError: no models, models of different classes or of mixed training/eval
            mode, or a parameter that requires grad in some models and not in others.
    """
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    kind = type(models[0])
    if not all(type(m) is kind for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def _stacked_leaf(tensors: list, name: str) -> Tensor:
    """``stack(tensors)``, a new leaf requiring grad when every tensor does."""
    flags = {t.requires_grad for t in tensors}
    if len(flags) > 1:
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    first = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):  # PyTorch stacks them: its stack's words
        if tuple(t.shape) != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                f"and {list(t.shape)} at entry {i}"
            )
    result = stack(tensors)
    if flags == {True}:
        result = result.detach().requires_grad_()
    return result


def linearize(func: Callable, *primals: Any) -> tuple[Any, Callable]:
    """``(func(*primals), jvp_fn)`` (``torch.func.linearize``).

    ``jvp_fn(*tangents)`` is the Jacobian-vector product of ``func`` at ``primals``, with
    ``primals``' structure (pytrees allowed) and each tangent of its primal's shape and
    dtype (a RuntimeError otherwise, as in PyTorch). PyTorch traces the JVP once into a graph
    and replays it; chainrule runs eagerly, so each ``jvp_fn`` call is one forward-mode pass
    of ``func`` at the saved primals (same results; ``func`` runs again per call, so it
    must be free of side effects, as PyTorch's tracing also assumes). As in PyTorch, the
    JVP's gradient flows to the tangents only: the primals are constants of ``jvp_fn``.
    """
    flat = _leaves(primals)
    for i, p in enumerate(flat):
        if not isinstance(p, Tensor):
            raise RuntimeError(
                f"linearize: expected every primal to be a Tensor, got {type(p).__name__} "
                f"at flattened position {i}"
            )
    output = func(*primals)
    meta = [(p.shape, p.dtype, p.device) for p in flat]

    def flat_func(*leaves: Any) -> Any:
        return func(*_unflatten(primals, iter(leaves)))

    # PyTorch traces func once (its writes then happen at linearize); each jvp_fn call here
    # runs func again, so a write into a captured tensor is not refused
    flat_func._guards_captures = True  # type: ignore[attr-defined]

    def jvp_fn(*tangents: Any) -> Any:
        if not _same_structure(tangents, primals):
            raise RuntimeError(  # PyTorch's words, its TreeSpec reprs
                f"Expected the tangents {tree_structure(tangents)} to have the same argspec as "
                f"the primals {tree_structure(primals)}"
            )
        ts = _leaves(tangents)
        for i, (t, (shape, dtype, device)) in enumerate(zip(ts, meta)):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"tangent:{i} must be a Tensor, got {type(t).__name__}")
            for what, got, want in (
                ("shape", t.shape, shape),  # (torch.Size in the words, as PyTorch)
                ("device", t.device, device),
                ("dtype", t.dtype, dtype),
            ):
                if got != want:
                    raise RuntimeError(
                        f"tangent:{i} with {what} {got} in flattened pytree doesn't match "
                        f"the {what} {want} of the corresponding primal."
                    )
        # at the primals' values only, as PyTorch's traced graph (the primals are constants
        # of it): the result is differentiable in the tangents, not in the primals
        return jvp(flat_func, tuple(p.detach() for p in flat), tuple(ts))[1]

    return output, jvp_fn


def _structure(x: Any) -> Any:
    """A comparable description of a pytree's containers (leaves as ``*``)."""
    if isinstance(x, dict):
        return {k: _structure(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x).__name__, [_structure(v) for v in x]
    return "*"


def _same_structure(a: Any, b: Any) -> bool:
    return _structure(a) == _structure(b)


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` with its results free of the aliasing that its mutations could expose
    (``torch.func.functionalize``).

    PyTorch traces ``func`` into a program without in-place ops (``remove="mutations"``)
    and, with ``remove="mutations_and_views"``, without view ops either; run eagerly, that
    program gives ``func``'s results, and mutations of the inputs are copied back to them.
    chainrule runs ``func`` itself (eagerly, the mutations of the inputs happen as in PyTorch)
    and returns its results with PyTorch's aliasing:

    - an output that shares memory with an input ``func`` mutated is returned as a copy;
    - ``remove="mutations_and_views"``: every output that shares memory with an input or
      with an earlier output is returned as a copy;
    - an output that is an input itself, unmutated, is returned as it is (both modes).

    Copies are made with the differentiable :func:`clone`, so gradients flow as in PyTorch.
    There is no traced program: composing with ``make_fx`` (which chainrule does not have)
    is the one use of PyTorch's version that has no counterpart.

    Raises:
        RuntimeError: ``remove`` other than ``"mutations"`` / ``"mutations_and_views"``.
    """
    if remove not in _REMOVE:
        raise RuntimeError(  # PyTorch's words
            f"functionalize(f, remove='mutations'): received invalid argument for "
            f"remove={remove}. Valid options are:\n     remove='mutations': all inplace and out= "
            "operators will be removed from the program, and replaced with their out-of-place "
            "equivalents.\n     remove='mutations_and_views': In addition to the above, all "
            "aliasing operators {view} will be replaced with their non-aliasing counterparts, "
            "{view}_copy.\n"
        )
    views_too = remove == "mutations_and_views"

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        inputs = [t for t in _leaves((args, kwargs)) if isinstance(t, Tensor)]
        versions = [t._version for t in inputs]
        out = func(*args, **kwargs)
        mutated = [t for t, v in zip(inputs, versions) if t._version != v]
        kept: list = []
        results = []
        for o in _leaves(out):
            if not isinstance(o, Tensor):
                results.append(o)
                continue
            if any(o is t for t in inputs) and not any(o is t for t in mutated):
                results.append(o)
                continue
            shared = mutated + (inputs + kept if views_too else [])
            if any(_shares_memory(o, t) for t in shared):
                o = clone(o)
            kept.append(o)
            results.append(o)
        return _unflatten(out, iter(results))

    return wrapped


def _shares_memory(a: Tensor, b: Tensor) -> bool:
    """Whether two tensors may share storage (their arrays' memory bounds overlap)."""
    xa, xb = debug_unwrap(a)._data, debug_unwrap(b)._data
    xp = get_array_module(xa)
    return bool(xp.may_share_memory(xa, xb))
