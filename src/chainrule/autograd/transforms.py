"""Function transforms in the style of JAX/functorch: grad, vjp, jvp, jacrev, jacfwd, hessian.

These are the plain (outside-vmap) transforms behind ``cr.func`` (:mod:`chainrule.func.transforms`
lifts them through vmap levels) and the helpers of ``gradcheck``. PyTorch's tensor-returning
``torch.autograd.functional`` API (``jacobian(func, inputs)``, ``hessian(func, inputs)``, ...)
is :mod:`chainrule.autograd.functional`.

Reverse-mode transforms (grad, vjp, jacrev) build a graph and run the engine; forward-mode
transforms (jvp, jacfwd) push tangents through each primitive's jvp rule, recording a
backward graph only where the autograd around reads the results (``jvp`` lives in
:mod:`.forward_ad_jvp`). ``hessian = jacfwd(jacrev(f))``: forward-over-reverse works because the
backward rules are ordinary ops, which carry tangents like any other op.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..backend import get_array_module
from ..dtypes import is_floating
from .forward_ad_jvp import hidden, jvp, ones_cotangents, shown, tangents_from_cotangent_grads
from .grad_mode import enable_grad
from .state import current
from .tensor import Tensor

__all__ = ["check_scalar_output", "grad", "hessian", "jacfwd", "jacrev", "jvp", "vjp"]


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class _Running(threading.local):
    """Per thread: the ids of the stand-in leaves of the transforms running now (a count
    each, for a tensor that two nested transforms share)."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}


_RUNNING = _Running()
# every stand-in leaf ``_leaf`` made, by id; once its transform has returned it is a constant
# to the transforms around (an inner jacrev's leaf must not make the outer one nested)
_STAND_INS: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


@contextmanager
def _running(leaves: Sequence[Tensor]) -> Iterator[None]:
    """Mark ``leaves`` as the stand-ins of a running transform while ``f`` runs."""
    ids = _RUNNING.ids
    mine = [id(t) for t in leaves]
    for i in mine:
        ids[i] = ids.get(i, 0) + 1
    try:
        yield
    finally:
        for i in mine:
            if ids[i] == 1:
                del ids[i]
            else:
                ids[i] -= 1


def _leaf(x: Any) -> Tensor:
    """A differentiable stand-in for argument ``x``; nested transforms stay connected."""
    if not isinstance(x, Tensor):
        x = Tensor._new(x)
    if x.requires_grad:
        # an alias recorded in the graph: gradients flow on to ``x`` for the autograd around,
        # while this transform differentiates only this use of it, not another use of ``x``
        # that ``f`` reads from a closure (grad(lambda t: (t * y).sum())(y) is y's value)
        with enable_grad():  # recorded also where the caller runs under no_grad
            return x.view_as(x)
    if not (is_floating(x.dtype) or x.dtype.kind == "c"):  # bfloat16 (kind 'V') is floating
        raise RuntimeError(  # PyTorch's error and message
            "only Tensors of floating point dtype can require gradients\n(cannot differentiate "
            f"with respect to an argument of dtype {x.dtype})"
        )
    t = Tensor._make(x._data, True, None, 0)
    t._fw_tangent = x._fw_tangent
    _STAND_INS[id(t)] = t
    return t


def _reaches_outer(outs: Sequence[Any], own: Sequence[Tensor]) -> bool:
    """Whether the graph of ``outs`` reaches a tensor that requires grad and is none of
    ``own`` (the transform's stand-in leaves): an enclosing transform's input that ``f`` takes
    as another argument or from a closure (``jacrev(jacrev(f, argnums=1), argnums=0)``), a
    captured tensor or a module's parameter. The transform's results must then stay
    differentiable, as torch.func's compose with the autograd around them."""
    own_ids = {id(t) for t in own}
    stack = []
    for o in outs:
        if isinstance(o, Tensor) and o.requires_grad:
            if o.grad_fn is None:
                if id(o) not in own_ids and (
                    _STAND_INS.get(id(o)) is not o or id(o) in _RUNNING.ids
                ):
                    return True
            else:
                stack.append(o.grad_fn)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for e in node.next_edges:
            if type(e) is tuple:
                stack.append(e[0])
            elif isinstance(e, Tensor) and e.requires_grad and id(e) not in own_ids:
                # a finished inner transform's stand-in is a constant here
                if _STAND_INS.get(id(e)) is not e or id(e) in _RUNNING.ids:
                    return True
    return False


def vjp(f: Callable, *primals: Any, has_aux: bool = False):
    """``(f(*primals), vjp_fn)`` where ``vjp_fn(v)`` returns v·J for each primal."""
    with shown():  # inside a jvp's f: a reverse transform sees the tensors' own flags
        return _vjp(f, primals, has_aux)


def _vjp(f: Callable, primals: tuple, has_aux: bool):
    # the autograd around records only in grad mode (torch.func's transforms work under
    # no_grad too, their results then requiring no grad)
    recording = current().grad_enabled
    nested = [p.requires_grad if isinstance(p, Tensor) else False for p in primals]
    leaves = [_leaf(p) for p in primals]
    with _running(leaves), enable_grad():
        res = f(*leaves)
    out, aux = _split_aux(res, "vjp(f, *primals)") if has_aux else (res, None)
    if not any(nested) and _reaches_outer(_as_tuple(out), leaves):
        nested.append(True)  # f reads a tensor of the autograd around: stay differentiable
    nested = [n and recording for n in nested]

    def vjp_fn(*cotangents: Any):
        v = cotangents[0] if len(cotangents) == 1 else cotangents
        outs = _as_tuple(out)
        vs = _as_tuple(v)
        vs = tuple(
            c if isinstance(c, Tensor) else Tensor._new(c, dtype=o.dtype) for c, o in zip(vs, outs)
        )
        from . import grad as autograd_grad

        # an output that does not depend on the primals contributes nothing (torch.func's
        # vjp gives zeros for it rather than refusing it)
        pairs = [(o, c) for o, c in zip(outs, vs) if o.requires_grad]
        if not pairs:
            return tuple(_zeros_if_none(None, p) for p in leaves)
        grads = autograd_grad(
            [o for o, _ in pairs],
            leaves,
            [c for _, c in pairs],
            retain_graph=True,
            create_graph=any(nested) or any(c.requires_grad for c in vs),
            allow_unused=True,
        )
        return tuple(_zeros_if_none(g, p) for g, p in zip(grads, leaves))

    if any(nested):
        return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)
    return (_cut(out), vjp_fn, _cut_tree(aux)) if has_aux else (_cut(out), vjp_fn)


def _split_aux(res: Any, api: str) -> tuple:
    """``(output, aux)`` of a ``has_aux=True`` function, or PyTorch's error for anything
    else."""
    if not (isinstance(res, tuple) and len(res) == 2):
        raise RuntimeError(
            f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return res


def _cut_tree(aux: Any) -> Any:
    """``aux`` with each tensor cut from the transform's private graph (torch.func unwraps
    it as it does the output: no grad unless the autograd around reaches it)."""
    return _tree_map(lambda t: _cut(t) if isinstance(t, Tensor) else t, aux)


def _check_argnums(nums: tuple, n_args: int) -> None:
    """PyTorch's error for an ``argnums`` entry outside the positional arguments."""
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")  # PyTorch's, per entry
        if not -n_args <= a < n_args:
            raise RuntimeError(f"Got argnum={a}, but only {n_args} positional inputs")


def _cut(out: Any) -> Any:
    """``vjp``'s output as the caller sees it when no primal requires grad: cut from the
    private graph (as torch.func, whose output does not require grad), its tangent kept."""
    if isinstance(out, (tuple, list)):
        parts = [_cut(o) for o in out]
        return type(out)(*parts) if hasattr(out, "_fields") else type(out)(parts)
    if not isinstance(out, Tensor) or not out.requires_grad:
        return out
    t = out.detach()
    t._fw_tangent = out._fw_tangent
    return t


def _zeros_if_none(g, like: Tensor) -> Tensor:
    if g is not None:
        return g
    xp = _xp(like)
    return Tensor._make(xp.zeros(like.shape, like.dtype), False, None, 0)


def _is_tree(x: Any) -> bool:
    """Whether ``x`` is a container of tensors (a pytree, such as a dict of parameters from
    ``named_parameters``) rather than one array-like value (a list of numbers)."""
    if isinstance(x, dict):
        return True
    return isinstance(x, (list, tuple)) and any(
        isinstance(v, (Tensor, dict, list, tuple)) for v in x
    )


def _tree_map(fn: Callable, x: Any) -> Any:
    """``fn`` applied to every leaf of a (nested) dict/list/tuple, keeping the structure."""
    if _is_tree(x):
        if isinstance(x, dict):
            return {k: _tree_map(fn, v) for k, v in x.items()}
        return type(x)(_tree_map(fn, v) for v in x)
    return fn(x)


def _tree_leaves(x: Any) -> list:
    """The leaves of ``x`` in the order ``_tree_map`` visits them."""
    leaves: list = []
    _tree_map(leaves.append, x)
    return leaves


def _xp(t: Tensor):
    return get_array_module(t._data)


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``grad(f)(*args)`` is the gradient of the scalar ``f`` w.r.t. ``args[argnums]``.

    An argument may be a pytree (a dict, list or tuple of tensors, such as the parameter dict
    ``functional_call`` takes): its gradient then has the same structure, as in ``torch.func``.
    """

    def wrapper(*args: Any):
        with shown():  # inside a jvp's f: a reverse transform sees the tensors' own flags
            return _grad_call(f, argnums, has_aux, args)

    return wrapper


def check_scalar_output(out: Any) -> None:
    """torch.func.grad's checks of ``f``'s output, PyTorch's types and words: a Tensor, 0-d
    (a shape-(1,) output is refused too), real (the implicit cotangent 1)."""
    where = "grad_and_value(f)(*args)"
    if not isinstance(out, Tensor):
        raise RuntimeError(f"{where}: Expected f(*args) to return a Tensor, got {type(out)}")
    if out.dim() != 0:
        raise RuntimeError(
            f"{where}: Expected f(*args) to return a scalar Tensor, got tensor with "
            f"{out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
        )
    if out.dtype.is_complex:
        raise RuntimeError(
            f"grad can be implicitly created only for real scalar outputs but got {out.dtype}"
        )


def _grad_call(f: Callable, argnums: Any, has_aux: bool, args: tuple) -> Any:
    if not isinstance(argnums, int | tuple):  # PyTorch's check of the whole, then each entry
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    nums = _as_tuple(argnums)
    _check_argnums(nums, len(args))
    args = list(args)
    # An argument that already requires grad belongs to an enclosing reverse transform
    # (grad(grad(f))): the inner gradient must then itself be differentiable.
    outer = any(
        isinstance(t, Tensor) and t.requires_grad for i in nums for t in _tree_leaves(args[i])
    )
    recording = current().grad_enabled  # under no_grad: results that require no grad
    for i in nums:
        args[i] = _tree_map(_leaf, args[i])
    with _running([t for i in nums for t in _tree_leaves(args[i])]), enable_grad():
        res = f(*args)
    out, aux = _split_aux(res, "grad_and_value(f)(*args)") if has_aux else (res, None)
    check_scalar_output(out)
    from . import grad as autograd_grad

    flat = [t for i in nums for t in _tree_leaves(args[i])]
    # f may read a tensor of the autograd around it through its other arguments or a
    # closure (the mixed partial grad(grad(f, argnums=1), argnums=0))
    outer = (outer or _reaches_outer([out], flat)) and recording
    # an output that does not depend on the inputs (f detaches them): zero gradients, as
    # torch.func's grad, rather than autograd.grad's refusal
    gs = (
        autograd_grad([out], flat, None, retain_graph=True, create_graph=outer, allow_unused=True)
        if out.requires_grad
        else [None] * len(flat)
    )
    it = iter([_zeros_if_none(g, t) for g, t in zip(gs, flat)])
    gs = tuple(_tree_map(lambda _: next(it), args[i]) for i in nums)
    result = gs[0] if isinstance(argnums, int) else gs
    if not has_aux:
        return result
    return result, (aux if outer else _cut_tree(aux))


def _jvp_by_reverse_mode(f: Callable, pairs: list, has_aux: bool, hide: bool = False) -> tuple:
    """``jvp`` inside another ``jvp``: ``J·v`` by two reverse passes, while the outer
    transform's forward level stays open around them.

    The core keeps one forward level at a time (tangents are arrays, not tensors with
    tangents of their own), so the inner transform cannot open a second one. Instead it
    differentiates twice in reverse mode: with a cotangent ``u`` that requires grad,
    ``g(u) = Jᵀu`` is linear in ``u``, and the gradient of ``<g(u), v>`` w.r.t. ``u`` is
    ``J·v`` -- the same values as a forward pass. Every op of both passes is recorded
    (``create_graph``), so the outer level's tangents flow through them: the outer
    transform differentiates the inner result as in PyTorch's nested forward mode."""
    primals = [p for p, _ in pairs]
    if hide:  # cr.func.jvp: f's tensors read requires_grad False, as in the outer jvp
        with hidden(current().fw_level):
            res = _vjp(f, tuple(primals), has_aux)
    else:
        res = vjp(f, *primals, has_aux=has_aux)
    out, vjp_fn = res[0], res[1]
    outs = _as_tuple(out)
    us = ones_cotangents(outs)
    with enable_grad():  # recorded under no_grad too: the outer tangents ride on the ops
        gs = vjp_fn(*us)
        found = tangents_from_cotangent_grads(gs, pairs, us)
    touts = [_zeros_if_none(j, o) for j, o in zip(found, outs)]
    outer = any(o.requires_grad for o in outs) or any(
        p.requires_grad or t.requires_grad for p, t in pairs
    )
    if not outer:  # no reverse transform around reads these: cut from the private graph
        touts = [_cut(t) for t in touts]  # (the outer forward level's tangents stay)
    tout = tuple(touts) if isinstance(out, (tuple, list)) else touts[0]
    return (out, tout, res[2]) if has_aux else (out, tout)


def jacrev(f: Callable, argnums: int = 0) -> Callable:
    """Jacobian by reverse mode: one vjp per output element; shape out.shape + in.shape."""

    def wrapper(*args: Any):
        args = list(args)
        out, vjp_fn = vjp(lambda x: f(*args[:argnums], x, *args[argnums + 1 :]), args[argnums])
        xp = _xp(out)
        rows = []
        n = out.numel()
        for i in range(n):
            e = xp.zeros(n, out.dtype)
            e[i] = 1
            (row,) = vjp_fn(Tensor._make(e.reshape(out.shape), False, None, 0))
            rows.append(row)
        from ..ops.shape import reshape, stack

        x = args[argnums]
        xshape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if not rows:
            return Tensor._make(xp.zeros(out.shape + tuple(xshape), out.dtype), False, None, 0)
        return reshape(stack(rows, 0), out.shape + tuple(xshape))

    return wrapper


def jacfwd(f: Callable, argnums: int = 0) -> Callable:
    """Jacobian by forward mode: one jvp per input element; shape out.shape + in.shape."""

    def wrapper(*args: Any):
        args = list(args)
        x = args[argnums] if isinstance(args[argnums], Tensor) else Tensor._new(args[argnums])
        xp = _xp(x)
        cols = []
        out = None
        for j in range(x.numel()):
            e = xp.zeros(x.numel(), x.dtype)
            e[j] = 1
            out, col = jvp(
                lambda z: f(*args[:argnums], z, *args[argnums + 1 :]),
                (x,),
                (Tensor._make(e.reshape(x.shape), False, None, 0),),
            )
            cols.append(col)
        from ..ops.shape import reshape, stack

        if out is None:
            out = f(*args)
        if not cols:
            return Tensor._make(xp.zeros(out.shape + x.shape, x.dtype), False, None, 0)
        jac = stack(cols, -1)
        return reshape(jac, out.shape + x.shape)

    return wrapper


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """Second derivatives of a scalar function: ``jacfwd(jacrev(f))`` (forward-over-reverse)."""
    return jacfwd(jacrev(f, argnums), argnums)
