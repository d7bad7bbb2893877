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

import numpy as np

from ..autograd.forward_ad_captures import remembered
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..autograd.transforms import _cut_tree, _reaches_outer
from ..creation import zeros
from ..ops.shape import movedim, reshape, stack
from ..ops.tensor_queries import strided
from ..random_snapshot import restore, snapshot
from ._batched import BatchedTensor
from ._captures import run_guarded
from ._rng_compare import drew_since
from .transforms import _argnums, jvp, vjp
from .vmap import _leaves, _unflatten, vmap

__all__ = ["hessian", "jacfwd", "jacrev"]


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
            if self.op.startswith("vjp"):  # jacrev: PyTorch's vjp unwraps aux first
                for a in _leaves(self.aux):
                    if not isinstance(a, Tensor):
                        raise RuntimeError(f"Expected tensors, got unsupported type {type(a)}")
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
        # (or that aux reaches otherwise: an enclosing grad's input passed as another
        # argument, grad(lambda x, y: jacrev(f, has_aux=True)(x, y)[1].sum(), argnums=1))
        aux_tensors = [t for t in _leaves(self.aux) if isinstance(t, Tensor)]
        outer = is_grad_enabled() and (
            any(
                isinstance(t, Tensor) and t.requires_grad
                for t in _leaves(tuple(self.args[i] for i in self.nums))
            )
            or _reaches_outer(aux_tensors, [])
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


def _chunking_error(chunk_size: bool | float) -> TypeError:
    """The TypeError PyTorch's jacrev meets splitting the outputs' basis into chunks of a
    non-int ``chunk_size`` (only when the outputs have more elements than it): a float
    multiplies a list, True reaches ``new_zeros`` with a bad argument."""
    if isinstance(chunk_size, bool):
        return TypeError("new_zeros() takes 1 positional argument but 2 were given")
    return TypeError("can't multiply sequence by non-int of type 'float'")


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
    if not (chunk_size is None or chunk_size > 0):  # PyTorch's test (a str: Python's error)
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    def wrapper(*args: Any) -> Any:
        flat = _Flat(func, args, argnums, has_aux, "vjp(f, *primals)")
        out_leaves, vjp_fn = vjp(flat, *flat.in_leaves)
        if isinstance(chunk_size, (bool, float)) and chunk_size < sum(
            o.numel() for o in out_leaves
        ):
            raise _chunking_error(chunk_size)
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
    """The Jacobian of ``func`` w.r.t. ``args[argnums]`` by forward mode: one jvp vmapped
    over the basis of the inputs' elements, so ``func`` runs once (its side effects happen
    once, as in PyTorch). A subclass or sparse input, and inputs with no elements, take one
    jvp per element instead (decided before ``func`` runs).

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
        if sum(x.numel() for x in primals) and _can_vmap(primals):
            try:
                with remembered():  # one search of func for captured tensors
                    per_out = _vmapped_columns(flat, primals, randomness)
                return flat.result(per_out, argnums)
            except _AuxNotTensor as err:  # PyTorch's error, as its type
                raise RuntimeError(str(err)) from None
            except (RuntimeError, NotImplementedError):
                # what vmap cannot batch (func reading its inputs' values for Python control
                # flow or .item(), writing into them in place: PyTorch's vmap batches only the
                # tangents there, chainrule's jvp the primals too): one jvp per element, as
                # before (func runs again; an error of func's own is raised again there)
                if rng is not None:
                    restore(rng)
                flat = _Flat(func, args, argnums, has_aux, "jvp(f, primals, tangents)")
                primals = tuple(flat.in_leaves)
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


class _AuxNotTensor(RuntimeError):
    """PyTorch's error for a non-tensor ``aux`` leaf under jacfwd (not a vmap limit: raised)."""


def _can_vmap(primals: tuple) -> bool:
    """Whether the basis can be pushed through ``func`` in one vmapped jvp, decided before
    ``func`` runs: every selected input a plain dense tensor (a BatchedTensor of an outer
    vmap is fine; subclasses and sparse layouts take the per-column loop)."""
    return all(type(x) in (Tensor, BatchedTensor) and x.layout == strided for x in primals)


def _tangent_basis(primals: tuple) -> list:
    """One batch of tangents per input: row ``r`` of input ``j``'s batch is the unit tangent
    of element ``r - offset_j`` (zero outside input ``j``'s rows), as PyTorch's identity
    basis split over the inputs; each in its input's dtype and (logical) shape."""
    sizes = [x.numel() for x in primals]
    total = sum(sizes)
    basis, offset = [], 0
    for x, n in zip(primals, sizes):
        b = zeros((total, n), dtype=x.dtype)
        b._data[np.arange(offset, offset + n), np.arange(n)] = 1
        basis.append(reshape(b, (total, *tuple(x.shape))))
        offset += n
    return basis


def _vmapped_columns(flat: _Flat, primals: tuple, randomness: str) -> list:
    """``per_out[k][j]``: the Jacobian of output leaf ``k`` w.r.t. input ``j``, from one jvp
    vmapped over the whole tangent basis (so ``func`` runs once, as in PyTorch). Outputs
    and ``aux`` are taken from the first sample (they are the same for every sample unless
    ``func`` draws with ``randomness="different"``, where PyTorch keeps the first)."""
    n_out: list = []

    def push(*tangents: Any) -> tuple:
        out_leaves, tan = jvp(flat, primals, tangents)
        aux = _leaves(flat.aux) if flat.has_aux else []
        for a in aux:
            if not isinstance(a, Tensor):
                raise _AuxNotTensor(f"Expected tensors, got unsupported type {type(a)}")
        n_out.append(len(out_leaves))
        return (*out_leaves, *tan, *aux)

    res = vmap(push, randomness=randomness)(*_tangent_basis(primals))
    k = n_out[0]
    outs, tans, aux = res[:k], res[k : 2 * k], res[2 * k :]
    flat.out = _unflatten(flat.out, iter(o[0] for o in outs))
    if flat.has_aux:
        flat.aux = _unflatten(flat.aux, iter(a[0] for a in aux))
    per_out, sizes = [], [x.numel() for x in primals]
    for o, t in zip(outs, tans):
        shape_o = tuple(o.shape[1:])
        row, per_in = 0, []
        for x, n in zip(primals, sizes):
            piece = movedim(t[row : row + n], 0, -1)
            per_in.append(reshape(piece, shape_o + tuple(x.shape)))
            row += n
        per_out.append(per_in)
    return per_out


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
            try:
                out_leaves, tan = jvp(flat, primals, tangents)
            except Exception:
                # a draw before func's own error: PyTorch raises at the draw (its
                # randomness="error" check), before anything after it runs
                _check_no_draw(rng, randomness)
                raise
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
