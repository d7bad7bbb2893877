"""``jacrev``, ``jacfwd`` and ``hessian`` of ``torch.func``, over pytrees.

The inputs at ``argnums`` (an int or a tuple of ints) and the outputs may be pytrees of
tensors (a dict of parameters from ``functional_call``, a tuple of outputs). The Jacobian
has the output's structure; at each output leaf it holds the structure of the selected
input (a tuple of them when ``argnums`` is a tuple), each leaf of shape ``out.shape +
in.shape``: the layout of the neural-tangent-kernel recipe ``jacrev(fnet_single)(params,
x)``. Reverse mode takes one ``vjp`` per output element, forward mode one ``jvp`` per input
element; both go through :mod:`.transforms`, so they compose with ``vmap``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.forward_ad_captures import remembered
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..autograd.transforms import _cut_tree
from ..creation import zeros
from ..ops.shape import reshape, stack
from ..random_snapshot import restore, snapshot
from ._captures import run_guarded
from ._rng_compare import drew_since
from .transforms import jvp, vjp
from .vmap import _leaves, _unflatten

__all__ = ["hessian", "jacfwd", "jacrev"]


def _argnums(argnums: Any, n: int) -> tuple[int, ...]:
    """The selected positions, with PyTorch's checks (RuntimeError)."""
    if isinstance(argnums, int):
        nums: tuple = (argnums,)
    elif isinstance(argnums, tuple) and all(isinstance(a, int) for a in argnums):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


class _Flat:
    """``func`` as a function of the leaves of its selected inputs, returning the leaves of
    its output; it remembers the output's structure and ``aux``. ``op`` names the transform
    underneath in errors, as PyTorch's (``vjp(f, *primals)`` for jacrev). ``func`` may not
    change a tensor it captures in place (every argument is an input, as in torch.func)."""

    _guards_captures = True

    def __init__(self, func: Callable, args: tuple, argnums: Any, has_aux: bool, op: str):
        self.func, self.args, self.has_aux, self.op = func, args, has_aux, op
        self.nums = _argnums(argnums, len(args))
        self.selected = tuple(args[i] for i in self.nums)
        self.in_leaves = _leaves(self.selected)
        for leaf in self.in_leaves:
            if not isinstance(leaf, Tensor):
                raise ValueError(f"Thing passed to transform API must be Tensor, got {type(leaf)}")
        self.out: Any = None
        self.aux: Any = None

    def __call__(self, *leaves: Any) -> tuple:
        full = list(self.args)
        for i, v in zip(self.nums, _unflatten(self.selected, iter(leaves)), strict=True):
            full[i] = v
        res = run_guarded(self.func, tuple(full), {}, self.func)
        if self.has_aux:
            if not (isinstance(res, tuple) and len(res) == 2):
                raise RuntimeError(
                    f"{self.op}: output of function f should be a tuple: (output, aux) if "
                    "has_aux is True"
                )
            res, self.aux = res
        out_leaves = _leaves(res)
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(
                    f"{self.op}: expected f(*primals) to return only tensors, got "
                    f"unsupported type {type(o)}"
                )
        self.out = res
        return tuple(out_leaves)

    def per_input(self, jac_leaves: list, argnums: Any) -> Any:
        """One output leaf's Jacobians, in the selected inputs' structure."""
        trees = _unflatten(self.selected, iter(jac_leaves))
        return trees[0] if isinstance(argnums, int) else tuple(trees)

    def result(self, per_out: list, argnums: Any) -> Any:
        jac = _unflatten(self.out, iter(self.per_input(j, argnums) for j in per_out))
        if not self.has_aux:
            return jac
        # aux is unwrapped as torch.func does: cut from this transform's private graph
        # unless the differentiated inputs belong to an autograd around it
        outer = is_grad_enabled() and any(
            isinstance(t, Tensor) and t.requires_grad
            for t in _leaves(tuple(self.args[i] for i in self.nums))
        )
        return jac, (self.aux if outer else _cut_tree(self.aux))


def _basis(like: Tensor, i: int) -> Tensor:
    """The i-th unit tensor of ``like``'s (logical) shape and dtype."""
    e = zeros(like.numel(), dtype=like.dtype)
    e._data[i] = 1
    return reshape(e, tuple(like.shape))


def _zeros(like: Tensor) -> Tensor:
    return zeros(tuple(like.shape), dtype=like.dtype)


def _assemble(pieces: list, out: Tensor, x: Tensor, dim: int) -> Tensor:
    """Stack one vjp row / jvp column per element into ``out.shape + x.shape``."""
    shape = tuple(out.shape) + tuple(x.shape)
    if not pieces:
        return zeros(shape, dtype=out.dtype)
    return reshape(stack(pieces, dim), shape)


def jacrev(
    func: Callable,
    argnums: int | tuple[int, ...] = 0,
    *,
    has_aux: bool = False,
    chunk_size: int | None = None,
) -> Callable:
    """The Jacobian of ``func`` w.r.t. ``args[argnums]`` by reverse mode (one vjp per output
    element). ``chunk_size`` only bounds how many vjps PyTorch batches at once; chainrule
    runs them one at a time, so any positive value gives the same result."""
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    def wrapper(*args: Any) -> Any:
        flat = _Flat(func, args, argnums, has_aux, "vjp(f, *primals)")
        out_leaves, vjp_fn = vjp(flat, *flat.in_leaves)
        per_out = []
        for k, o in enumerate(out_leaves):
            rows = []
            for i in range(o.numel()):
                cots = tuple(
                    _basis(o, i) if j == k else _zeros(other) for j, other in enumerate(out_leaves)
                )
                rows.append(vjp_fn(cots))
            per_out.append(
                [_assemble([r[j] for r in rows], o, x, 0) for j, x in enumerate(flat.in_leaves)]
            )
        return flat.result(per_out, argnums)

    return wrapper


def jacfwd(
    func: Callable,
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    *,
    randomness: str = "error",
) -> Callable:
    """The Jacobian of ``func`` w.r.t. ``args[argnums]`` by forward mode (one jvp per input
    element).

    ``randomness`` is PyTorch's flag for random ops inside ``func`` (PyTorch maps its jvp
    over the columns with ``vmap``): ``"same"`` gives every column the same draws (the
    generator is rewound before each jvp), ``"different"`` new ones (the draws a batched
    draw would give, column after column); ``"error"``, the default, raises vmap's error
    when ``func`` draws from the default generator (the generator is then put back where it
    was, as PyTorch raises before drawing)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )

    def wrapper(*args: Any) -> Any:
        flat = _Flat(func, args, argnums, has_aux, "jvp(f, primals, tangents)")
        primals = tuple(flat.in_leaves)
        rng = snapshot() if randomness != "different" else None
        with remembered():  # one search of func for captured tensors, not one per jvp
            cols, out_leaves = _columns(flat, primals, rng, randomness)
        if out_leaves is None:  # every input is empty: one call for the output's structure
            out_leaves = flat(*primals)
            _check_no_draw(rng, randomness)
        per_out = [
            [_assemble([c[k] for c in cols[j]], o, x, -1) for j, x in enumerate(primals)]
            for k, o in enumerate(out_leaves)
        ]
        return flat.result(per_out, argnums)

    return wrapper


def _columns(flat: _Flat, primals: tuple, rng: Any, randomness: str) -> tuple:
    """``cols[j][e]``: the tangents of every output for element ``e`` of input ``j`` (one
    jvp each), and the output leaves (None when every input is empty)."""
    cols: list = []
    out_leaves: Any = None
    for j, x in enumerate(primals):
        cols.append([])
        for e in range(x.numel()):
            if rng is not None and randomness == "same":
                restore(rng)
            tangents = tuple(_basis(x, e) if m == j else _zeros(p) for m, p in enumerate(primals))
            out_leaves, tan = jvp(flat, primals, tangents)
            _check_no_draw(rng, randomness)
            cols[j].append(tan)
    return cols, out_leaves


def _check_no_draw(rng: Any, randomness: str) -> None:
    """``randomness="error"``: vmap's error where ``func`` drew from the default generator
    (which is put back first)."""
    if randomness != "error" or not drew_since(rng):
        return
    from ._random import ERROR_MESSAGE

    restore(rng)
    raise RuntimeError(ERROR_MESSAGE)


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """Second derivatives of a scalar function: ``jacfwd(jacrev(func))``."""
    return jacfwd(jacrev(func, argnums), argnums)
