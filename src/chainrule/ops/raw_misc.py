"""PyTorch's raw helpers behind ``F.embedding(max_norm=...)`` and weight normalisation
(``torch.embedding_renorm_``, ``torch.norm_except_dim``, ``torch._weight_norm`` as
:func:`weight_norm`) and the deprecated out-of-place
``Tensor.resize``/``Tensor.resize_as`` (Tensor methods only, as in PyTorch).

``embedding_renorm_`` rescales, in place, each row of ``input`` named in ``indices`` whose
``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's formula: scale by
``max_norm / (norm + 1e-7)``; a row listed twice is rescaled once). It has no derivative in
PyTorch (its backward raises); chainrule raises NotImplementedError when it would be
recorded (``input`` requires grad and grad mode is on) instead of when backward runs.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from ..autograd.saved_fields import given, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..autograd.view_errors import LEAF_MESSAGE
from ..backend import get_array_module
from ._raw_checks import need_tensor
from ._util import dim_range_error, no_dims_error
from .checked_arguments import scalar_types_error
from .distance import norm_over_dim
from .inplace import check_writable_memory, writes_into_graph
from .layout import contiguous
from .shape import reshape
from .vector_norms import Norm1, Norm2, PNorm

__all__ = ["embedding_renorm_", "norm_except_dim", "resize", "resize_as"]


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Renormalise rows ``indices`` of the 2-d ``input`` to norm at most ``max_norm``, in place;
    returns ``input`` (PyTorch's ``torch.embedding_renorm_``, what ``F.embedding`` runs for
    ``max_norm``). Negative indices count from the end, as PyTorch's row selection does."""
    op = "embedding_renorm_"
    need_tensor(op, "input", input)
    need_tensor(op, "indices", indices)
    for name, value in (("max_norm", max_norm), ("norm_type", norm_type)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{op}(): argument '{name}' must be float, not {type(value).__name__}")
    if input.ndim != 2:
        raise RuntimeError(
            f"Expected 2-dimensional tensor, but got {input.ndim}-dimensional tensor for "
            f"argument #1 'self' (while checking arguments for {op})"
        )
    idx = indices._data
    if idx.dtype.kind not in "iu" or idx.dtype.itemsize not in (4, 8):
        raise RuntimeError(scalar_types_error(2, "indices", "Long, Int", idx.dtype, op))
    if not input.is_floating_point():
        raise RuntimeError(
            f"{op}: norm(): input dtype should be either floating point or complex. Got "
            f"{input.dtype} instead."
        )
    if writes_into_graph(input):
        if input.grad_fn is None and input._view is None:
            raise RuntimeError(LEAF_MESSAGE)  # PyTorch's text, word for word
        raise NotImplementedError(
            f"{op}: the derivative for 'embedding_renorm' is not implemented (as in PyTorch); "
            "call it under `with cr.no_grad():`"
        )
    # (in here: importing chainrule.func runs its package, which imports the ops)
    from ..func._inplace_refusal import unbatched_write  # noqa: PLC0415

    refused = unbatched_write(op, input._data, idx)  # indices batched where the weight is not
    if refused is not None:
        raise refused
    n = input.shape[0]
    if is_vmap_batched(input._data):
        return _renorm_per_sample(input, idx, n, float(max_norm), float(norm_type))
    flat = idx.reshape(-1)
    if flat.size and (int(flat.min()) < -n or int(flat.max()) >= n):
        bad = int(flat.max()) if int(flat.max()) >= n else int(flat.min())
        raise IndexError(
            f"{op}: index {bad} out of range for tensor of size {list(input.shape)} at dimension 0"
        )
    check_writable_memory(input, op)
    xp = get_array_module(input._data)
    # PyTorch renormalises each distinct index value in turn: i and i - n are the same row,
    # renormalised twice (the second pass sees the first's result)
    wrapped = xp.unique(flat) % n if flat.size else flat
    once = xp.unique(wrapped)
    for rows in (once, once[xp.bincount(wrapped, minlength=n)[once] > 1]):
        _renorm_rows(input._data, rows, float(max_norm), float(norm_type), xp)
    input._vc[0] += 1
    return input


def _renorm_per_sample(
    input: Tensor, idx: Any, n: int, max_norm: float, norm_type: float
) -> Tensor:
    """:func:`embedding_renorm_` of a weight batched by ``cr.func.vmap`` (its raw array a
    per-sample ``LogicalArray``): each sample's rows renormalised in place in the physical
    array, so the stacked weight changes as PyTorch's batched fallback changes it. Indices
    batched at the same level give each sample its own rows; a nested-vmap value raises
    vmap's error."""
    op = "embedding_renorm_"
    w = input._data
    per_sample_idx = getattr(type(idx), "vmap_raw_array", False)
    if w.phys is None or (per_sample_idx and (idx.phys is None or idx.level is not w.level)):
        w.__getattr__(f"{op} of a nested-vmap value")
    phys = w.phys
    if not getattr(phys.flags, "writeable", True) or 0 in phys.strides:
        check_writable_memory(Tensor._make(phys, False, None, 0), op)
    for b in range(phys.shape[0]):
        flat = np.asarray(idx.phys[b] if per_sample_idx else idx).reshape(-1)
        if flat.size and (int(flat.min()) < -n or int(flat.max()) >= n):
            bad = int(flat.max()) if int(flat.max()) >= n else int(flat.min())
            raise IndexError(
                f"{op}: index {bad} out of range for tensor of size {list(input.shape)} at "
                "dimension 0"
            )
        wrapped = np.unique(flat) % n if flat.size else flat
        once = np.unique(wrapped)
        for rows in (once, once[np.bincount(wrapped, minlength=n)[once] > 1]):
            _renorm_rows(phys[b], rows, max_norm, norm_type, np)
    input._vc[0] += 1
    return input


def _renorm_rows(data: Any, rows: Any, max_norm: float, norm_type: float, xp: Any) -> None:
    """Scale the rows ``rows`` (distinct) of ``data`` whose norm exceeds ``max_norm``."""
    if not rows.size:
        return
    norms = xp.linalg.norm(data[rows], ord=norm_type, axis=1).astype(xp.float64)
    big = rows[norms > max_norm]
    scale = max_norm / (norms[norms > max_norm] + 1e-7)
    data[big] = (data[big] * scale[:, None]).astype(data.dtype)


def norm_except_dim(v: Tensor, pow: int = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, kept as size-1 dimensions
    (PyTorch's ``torch.norm_except_dim``, weight normalisation's ‖v‖); ``dim=-1`` means the
    norm of all of ``v`` (a 0-d tensor), as in PyTorch (other negative dims count from the end).
    """
    op = "norm_except_dim"
    need_tensor(op, "v", v)
    for name, value in (("pow", pow), ("dim", dim)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    if dim == -1:
        return _norm_all(v, pow)
    if v.ndim == 0:
        raise no_dims_error(dim)
    if not -v.ndim <= dim < v.ndim:
        raise dim_range_error(dim, v.ndim)
    d = dim % v.ndim
    if v.shape[d] == 0:  # PyTorch's reshape to (0, -1) fails on it
        raise RuntimeError(
            f"{op}: dimension {dim} of v (shape {list(v.shape)}) is empty; the norm over the "
            "other dimensions is undefined (PyTorch cannot reshape it to (0, -1) either)"
        )
    return _norm_except(v, pow, dim)


def _norm_except(v: Tensor, pow: int, dim: int) -> Tensor:
    """PyTorch's graph for it: dim 0 (as given) a C-ordered ``view(n, -1)``, the last dim a
    ``view(-1, n)``, each normed by ``at::norm`` (``NormBackward1``) and viewed back; any other
    dim ``transpose(0, dim)`` around the dim-0 case (a negative one too, as PyTorch)."""
    rest = [1] * v.ndim
    if dim == 0 or dim == v.ndim - 1:
        first = dim == 0
        rest[dim] = n = v.shape[dim]
        flat = reshape(contiguous(v), (n, -1) if first else (-1, n))
        norms = norm_over_dim(flat, pow, 1 if first else 0, False)
        if norms is None:  # no at::norm node for it (complex, an integer dtype, p = 0)
            from ..linalg.norms import vector_norm  # in here: linalg imports ops

            norms = vector_norm(flat, pow, dim=1 if first else 0)
        else:
            given(norms, p=pow)  # grad_fn._saved_p as given (an int)
        return reshape(norms, tuple(rest))
    return _norm_except(v.transpose(0, dim), pow, 0).transpose(0, dim)


def _norm_all(v: Tensor, pow: Any) -> Tensor:
    """``at::norm(v, pow)`` of all of ``v``: one ``NormBackward0`` for a real floating ``v``
    (p other than 0), else ``linalg.vector_norm``'s node."""
    p = float(pow)
    if v._data.dtype.kind not in "fV" or p == 0 or v.numel() == 0:
        from ..linalg.norms import vector_norm  # in here: linalg imports ops

        return vector_norm(v, pow)
    cls = _NORM_ALL.get(p)
    out = cls.apply(v, None, False) if cls is not None else _PNORM_ALL.apply(v, p, None, False)
    return given(out, p=pow)


# ``at::norm(x, p)`` (no dim): PyTorch's ``NormBackward0`` (``_saved_p`` / ``_result`` / ``_self``)
_NORM_ALL_FIELDS = {"p": lambda n: given_value(n, "p", 2.0), "result": 1, "self": 0}


def _norm_all_class(base: type) -> type:
    attrs = {"node_name": "NormBackward0", "saved_fields": _NORM_ALL_FIELDS, "__module__": __name__}
    return type(f"{base.__name__}All", (base,), attrs)


_NORM_ALL = {2.0: _norm_all_class(Norm2), 1.0: _norm_all_class(Norm1)}
_PNORM_ALL = _norm_all_class(PNorm)


def weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """The weight ``v * (g / norm_except_dim(v, 2, dim))`` of weight normalisation (PyTorch's
    private ``torch._weight_norm(v, g, dim=0)``, which ``parametrizations.weight_norm`` runs and
    code folding ``weight_g``/``weight_v`` checkpoints calls); ``dim=-1`` takes the norm of all
    of ``v``. Exposed as ``chainrule._weight_norm``; differentiable in ``v`` and ``g`` (a
    composition of differentiable ops, so double backward and forward mode are theirs).

    PyTorch's fused kernel needs ``v`` and ``g`` of one floating dtype and, given a ``g`` whose
    shape does not fit, reads past it; chainrule raises for it (RuntimeError naming the op).
    """
    op = "_weight_norm"
    need_tensor(op, "v", v)
    need_tensor(op, "g", g)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(
            f"{op}(): argument 'dim' (position 3) must be int, not {type(dim).__name__}"
        )
    if v.ndim == 0:
        raise no_dims_error(dim)
    if not (v.is_floating_point() or v.is_complex()):
        raise NotImplementedError(f'"{op}": weight_norm_kernel not implemented for {v.dtype}')
    if g.dtype != v.dtype:
        raise RuntimeError(
            f"{op}: expected v and g to have the same dtype, but v is {v.dtype} and g is {g.dtype}"
        )
    norm = norm_except_dim(v, 2, dim)
    try:
        shape = np.broadcast_shapes(tuple(g.shape), tuple(norm.shape), tuple(v.shape))
    except ValueError:
        shape = None
    if shape != tuple(v.shape):
        raise RuntimeError(
            f"{op}: g of shape {list(g.shape)} does not fit v of shape {list(v.shape)} with "
            f"dim={dim} (expected g of shape {list(norm.shape)})"
        )
    return v * (g / norm)


def _resized(x: Tensor, sizes: tuple) -> Tensor:
    numel = 1
    for s in sizes:
        numel *= s
    if numel != x.numel() or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({numel} elements in total), but "
            f"the given tensor has a size of {'x'.join(map(str, x.shape))} ({x.numel()} "
            "elements). autograd's resize can only change the shape of a given tensor, while "
            "preserving the number of elements."
        )
    return reshape(x, sizes)


def resize(self: Tensor, *sizes: int) -> Tensor:
    """Deprecated out-of-place resize (``Tensor.resize``): warns, then ``reshape`` to ``sizes``
    (given as separate ints, which must keep the number of elements, as PyTorch's autograd
    resize); a view of ``self`` when it is contiguous, a copy otherwise."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        raise RuntimeError(
            f"resize(): sizes must be given as separate ints (x.resize(2, 3)), got {sizes!r}"
        )
    return _resized(self, sizes)


def resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated out-of-place resize to ``tensor``'s shape (``Tensor.resize_as``): warns, then
    ``reshape`` (the number of elements must not change, as PyTorch's autograd resize)."""
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    need_tensor("resize_as", "tensor", tensor)
    return _resized(self, tuple(tensor.shape))
