"""``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian`` that compose with ``vmap``.

Outside vmap each is exactly :mod:`chainrule.autograd.transforms`'s transform. Inside vmap
(one or more active levels), a transform is *lifted* through the innermost level L: the
inputs become their physical values at L (an input that is not batched at L is expanded to
the batch, so every sample has its own slice), the function is rewrapped to take physical
values, and the transform runs on that physical function, recursively for the outer
levels, until no level is left and the plain transform runs. The samples of a batch never
mix in the forward computation, so the physical Jacobian is block-diagonal: a physical
vjp/jvp with per-sample cotangents/tangents gives exactly the per-sample results, which are
wrapped back as batched tensors. ``grad`` is ``vjp`` with a cotangent of one; ``jacrev``/``jacfwd``
(:mod:`.jacobians`) loop over basis vectors of the *logical* shape, as outside vmap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..autograd import transforms as _plain
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..creation import ones_like
from ..utils._pytree import tree_structure
from ._batched import BatchedTensor, physical, physical_nested, wrap, wrap_nested
from ._captures import guarded
from ._flat_out import flat_outputs, restore
from .vmap import _leaves, _unflatten

__all__ = ["grad", "jvp", "vjp"]


def _argnums(argnums: Any, n: int) -> tuple[int, ...]:
    """The selected positions, with PyTorch's checks (RuntimeError)."""
    if isinstance(argnums, int):
        nums: tuple = (argnums,)
    elif isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        for a in argnums:  # PyTorch checks each entry after the tuple
            if not isinstance(a, int):
                raise RuntimeError(f"argnum must be int, got: {type(a)}")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _aux_checked(f: Callable) -> Callable:
    """``f`` (guarded, returning ``(output, aux)``) refusing an ``aux`` with a leaf that is
    not a tensor, in PyTorch's words (its transforms unwrap every leaf of ``aux``)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        res = f(*args, **kwargs)
        if isinstance(res, tuple) and len(res) == 2:
            for a in _leaves(res[1]):
                if not isinstance(a, Tensor):
                    raise RuntimeError(f"Expected tensors, got unsupported type {type(a)}")
        return res

    call._guards_captures = True  # type: ignore[attr-defined]  # (f is guarded)
    return call


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_container(x: Any) -> bool:
    """A pytree node (dict, list, tuple) rather than one tensor or number."""
    return isinstance(x, (dict, list, tuple))


def _structure(x: Any) -> Any:
    """``x``'s pytree structure (compared between primals and tangents)."""
    return tree_structure(x)


def _vjp_levels(f: Callable, primals: tuple, levels: list) -> tuple:
    """``(out, vjp_fn)`` of ``f`` at flat tensor ``primals``, lifted through ``levels``."""
    if not levels:
        return _plain.vjp(f, *primals)
    level, rest = levels[-1], levels[:-1]
    phys = tuple(physical(p, level) for p in primals)

    def lifted(*ps: Any) -> Any:
        out = f(*(wrap(p, level) for p in ps))
        outs = tuple(physical(o, level) for o in _as_tuple(out))
        return outs if isinstance(out, (tuple, list)) else outs[0]

    out_p, vjp_p = _vjp_levels(lifted, phys, rest)
    multi = isinstance(out_p, tuple)
    out = tuple(wrap(o, level) for o in out_p) if multi else wrap(out_p, level)

    def vjp_fn(*cotangents: Any) -> tuple:
        # called later, maybe inside a deeper vmap (NTK-vector products map vjp_fn over a
        # basis): cotangents and results may be batched at levels entered after ``level``
        cots = tuple(
            physical_nested(c if isinstance(c, Tensor) else Tensor._new(c), level)
            for c in cotangents
        )
        return tuple(wrap_nested(g, level) for g in vjp_p(*cots))

    return out, vjp_fn


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(v)`` gives v·J per primal. The primals, the output
    and the cotangents may be pytrees (a dict of parameters from ``functional_call``)."""
    levels = list(LOCAL.state.vmap)
    f = guarded(f)  # f may not change a tensor it captures in place (as torch.func)
    if has_aux:
        f = _aux_checked(f)
    if not levels and all(isinstance(p, Tensor) for p in primals):
        flat_f, box = flat_outputs(f, has_aux)  # a nested pytree output: its leaves
        res = _plain.vjp(flat_f, *primals, has_aux=has_aux)
        if not box:
            return res
        plain_fn = res[1]

        def flat_vjp_fn(*cotangents: Any) -> tuple:
            cots = cotangents[0] if len(cotangents) == 1 else cotangents
            return plain_fn(tuple(_leaves(cots)))

        return (restore(box[-1], res[0]), flat_vjp_fn, *res[2:])
    flat = _leaves(primals)
    aux_box: list = []
    out_box: list = []

    def flat_f(*leaves: Any) -> tuple:
        res = f(*_unflatten(primals, iter(leaves)))
        if has_aux:
            aux_box.append(res[1])
            res = res[0]
        out_box.append(res)
        return tuple(_leaves(res))

    out_leaves, vjp_flat = _vjp_levels(flat_f, tuple(flat), levels)
    out = _unflatten(out_box[-1], iter(out_leaves))

    def vjp_fn(*cotangents: Any) -> tuple:
        cots = cotangents[0] if len(cotangents) == 1 else cotangents
        gs = vjp_flat(*_leaves(cots))
        return _unflatten(primals, iter(gs))

    return (out, vjp_fn, aux_box[-1]) if has_aux else (out, vjp_fn)


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``grad(f)(*args)``: the gradient of the scalar ``f`` w.r.t. ``args[argnums]`` (pytrees
    allowed). Inside vmap it is the gradient of each sample's output (per-sample
    gradients)."""
    f = guarded(f)  # f may not change a tensor it captures in place (as torch.func)
    if has_aux:
        f = _aux_checked(f)
    plain = _plain.grad(f, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _argnums(argnums, len(args))  # PyTorch's checks first (unique, non-empty, in range)
        if not LOCAL.state.vmap:
            if kwargs:
                return _plain.grad(lambda *a: f(*a, **kwargs), argnums, has_aux)(*args)
            return plain(*args)
        nums = _as_tuple(argnums)
        diff = tuple(args[i] for i in nums)

        def g(*d: Any) -> Any:
            full = list(args)
            for i, v in zip(nums, d):
                full[i] = v
            res = f(*full, **kwargs)
            out = res[0] if has_aux else res
            _plain.check_scalar_output(out)  # PyTorch's words; a per-sample 0-d output
            return res

        g._guards_captures = True  # type: ignore[attr-defined]  # (f is guarded)
        res = vjp(g, *diff, has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        gs = vjp_fn(ones_like(out))
        result = gs[0] if isinstance(argnums, int) else tuple(gs)
        return (result, res[2]) if has_aux else result

    return wrapper


def _jvp_levels(f: Callable, primals: tuple, tangents: tuple, levels: list) -> tuple:
    if not levels:
        return _plain.jvp(f, primals, tangents, hide_flags=True)
    level, rest = levels[-1], levels[:-1]
    ps, ts, lifted_in = [], [], []
    for p, t in zip(primals, tangents):
        b = (type(p) is BatchedTensor and p._level is level) or (
            type(t) is BatchedTensor and t._level is level
        )
        ps.append(physical(p, level) if b else p)
        ts.append(physical(t, level) if b else t)
        lifted_in.append(b)

    def lifted(*xs: Any) -> Any:
        out = f(*(wrap(x, level) if b else x for x, b in zip(xs, lifted_in)))
        outs = tuple(physical(o, level) for o in _as_tuple(out))
        return outs if isinstance(out, (tuple, list)) else outs[0]

    out_p, tan_p = _jvp_levels(lifted, tuple(ps), tuple(ts), rest)
    if isinstance(out_p, tuple):
        return tuple(wrap(o, level) for o in out_p), tuple(wrap(t, level) for t in tan_p)
    return wrap(out_p, level), wrap(tan_p, level)


def _check_jvp_args(primals: Any, tangents: Any) -> None:
    """PyTorch's checks of ``jvp``'s arguments: ``primals`` a tuple (``f(*primals)``) with at
    least one Tensor, ``tangents`` of the same pytree structure, every leaf a Tensor."""
    where = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(
            f"{where}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    leaves = _leaves(primals)
    if not leaves:
        raise RuntimeError(f"{where}: Expected primals to contain at least one Tensor.")
    if _structure(primals) != _structure(tangents):
        raise RuntimeError(
            f"{where}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {_structure(primals)} and tangents with structure "
            f"{_structure(tangents)}"
        )
    for name, tree in (("primals", leaves), ("tangents", _leaves(tangents))):
        for leaf in tree:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(
                    f"{where}: Expected {name} to only contain Tensors, got {type(leaf)}"
                )


def jvp(f: Callable, primals: Any, tangents: Any, has_aux: bool = False) -> tuple:
    """Forward mode: ``(f(*primals), J·tangents)``. A primal may be a pytree (a dict of
    parameters), its tangent then a pytree of the same structure."""
    _check_jvp_args(primals, tangents)
    # f may not change a tensor it captures in place (as torch.func); a nested pytree
    # output reaches the core transforms as the tuple of its leaves
    f, box = flat_outputs(_only_tensors(guarded(f), has_aux), has_aux)
    res = _jvp(f, primals, tangents, has_aux)
    if not box:
        return res
    return (restore(box[-1], res[0]), restore(box[-1], res[1]), *res[2:])


def _only_tensors(f: Callable, has_aux: bool) -> Callable:
    """``f`` refusing, with PyTorch's words, an output leaf that is not a Tensor (a Python
    number from ``.argmax().item()``-like code): jvp has no tangent to give it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        res = f(*args, **kwargs)
        out = res[0] if has_aux and isinstance(res, (tuple, list)) and len(res) == 2 else res
        for leaf in _leaves(out):
            if not isinstance(leaf, Tensor):
                raise RuntimeError(
                    "jvp(f, primals, tangents): expected f(*primals) to return only tensors, "
                    f"got unsupported type {type(leaf)}"
                )
        return res

    return call


def _jvp(f: Callable, primals: Any, tangents: Any, has_aux: bool) -> tuple:
    """:func:`jvp` of a checked ``f`` whose output is a tensor or a flat tuple."""
    levels = list(LOCAL.state.vmap)
    if not levels and not any(_is_container(p) for p in primals):
        return _plain.jvp(f, primals, tangents, has_aux=has_aux, hide_flags=True)
    if any(_is_container(p) for p in primals):  # flatten: f of the leaves
        tree, user_f = primals, f

        def call(*leaves: Any) -> Any:
            return user_f(*_unflatten(tree, iter(leaves)))

        primals, tangents = tuple(_leaves(primals)), tuple(_leaves(tangents))
        if not levels:
            return _plain.jvp(call, primals, tangents, has_aux=has_aux, hide_flags=True)
    else:
        call = f
    aux_box: list = []

    def g(*xs: Any) -> Any:
        res = call(*xs)
        if has_aux:
            aux_box.append(res[1])
            return res[0]
        return res

    out, tan = _jvp_levels(g, primals, tangents, levels)
    return (out, tan, aux_box[-1]) if has_aux else (out, tan)
