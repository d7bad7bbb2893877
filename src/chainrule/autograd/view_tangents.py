"""Forward mode through views: a view's tangent is the part of its base's tangent at the
view's elements, and a write into the view writes that part.

Split from ``view_replay.py`` (session 38): :func:`retake_tangent` re-takes a stale view's
tangent (called by ``refresh_view``), :func:`write_view_tangent` writes a view's new
tangent into the tangent of the tensor it is a view of (the base, or a dual tensor). Views
of another dtype (``.real``, ``view_as_real``, ``view_as_complex``) are mapped on the real
side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backend import get_array_module, is_writeable
from .forward_tangents import given_tangent
from .view_flat import as_real_array, flat_index_map

if TYPE_CHECKING:  # annotations only
    from .tensor import Tensor

__all__ = ["retake_tangent", "write_view_tangent"]


def retake_tangent(view: Tensor, owner: Tensor | None) -> bool:
    """Re-take ``view``'s tangent from ``owner``'s (the tensor whose tangent it is a view
    of, :func:`~.view_base.forward_base`); whether there was one to take."""
    if owner is None:
        return False
    tangent = owner._fw_tangent
    if tangent is None:
        return False
    view._fw_tangent = _tangent_part(tangent, owner._data, view._data)
    return True


def _tangent_part(tangent: Any, owner: Any, view: Any) -> Any:
    """The part of ``owner``'s ``tangent`` at ``view``'s elements (``view`` an array in
    ``owner``'s memory). A view of another dtype (``.real``, ``view_as_real`` of a complex
    owner, ``view_as_complex`` of a float one) is mapped on the real side, as
    ``view_replay._replay`` does. An array even for a 0-d view (indexing with a 0-d index gives a
    NumPy scalar, which the ops would take for a Python number)."""
    xp = get_array_module(tangent)
    if view.dtype == owner.dtype:
        return xp.asarray(tangent.reshape(-1)[flat_index_map(owner, view)])
    if owner.dtype.kind == "c":  # a float view of a complex owner
        real_owner = as_real_array(owner)
        return xp.asarray(as_real_array(tangent).reshape(-1)[flat_index_map(real_owner, view)])
    pairs = tangent.reshape(-1)[flat_index_map(owner, as_real_array(view))]  # fresh, C order
    return pairs.view(view.dtype)[..., 0]


def _put_tangent_part(tangent: Any, owner: Any, view: Any, value: Any) -> None:
    """Write ``value`` (the view's new tangent, or 0) into ``owner``'s C-contiguous
    ``tangent`` at ``view``'s elements; views of another dtype as in :func:`_tangent_part`."""
    if view.dtype == owner.dtype:
        tangent.reshape(-1)[flat_index_map(owner, view)] = value
    elif owner.dtype.kind == "c":
        real_owner = as_real_array(owner)
        as_real_array(tangent).reshape(-1)[flat_index_map(real_owner, view)] = value
    else:
        pairs = as_real_array(value) if getattr(value, "ndim", None) is not None else value
        tangent.reshape(-1)[flat_index_map(owner, as_real_array(view))] = pairs


def write_view_tangent(view: Tensor, base: Tensor) -> None:
    """Forward mode: after writing into ``view``, ``base`` -- the owner of the tangent the
    view's is a view of (:func:`~.view_base.forward_base`) -- takes the view's new tangent
    at the view's positions."""
    xp = get_array_module(base._data)
    t = base._fw_tangent
    value = 0 if view._fw_tangent is None else view._fw_tangent
    given = given_tangent(base)
    if given is not None and is_writeable(t) and t.flags.c_contiguous:
        # as in PyTorch, the tangent make_dual was given is written in place (same object)
        value = value.copy() if xp.may_share_memory(value, t) else value
        _put_tangent_part(t, base._data, view._data, value)
        given._vc[0] += 1
    else:
        t = xp.zeros(base._data.shape, base._data.dtype) if t is None else xp.array(t, order="C")
        _put_tangent_part(t, base._data, view._data, value)
        base._fw_tangent = t
    view._view.version = view._vc[0]
