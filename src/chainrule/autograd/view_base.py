"""What a view remembers about its base (``Tensor._view``); see :mod:`.view_replay`.

Kept apart from the replay rules so that ``Function.apply`` can record views without
importing the Functions those rules are made of.

A view records the version of the shared counter its history matches; a stale view (the
memory changed in place since) is re-taken when it is next used (``Function.apply``) or
its ``grad_fn`` is read (``Tensor.grad_fn``, :func:`.view_replay.stale_view_grad_fn`), as
in PyTorch. Nothing is kept per view on the counter (session 39; session 38 kept weak
references there and re-took up to 8 views at each in-place change).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from .._layout_relay import VIEW_GROUPS, note_view

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

__all__ = [
    "JVP_FUNCTION",
    "ViewInfo",
    "carries_jvp_tangent",
    "forward_base",
    "hidden_in_jvp",
    "mark_multi_output",
    "outside_graph",
    "owns_tangent",
    "record_view",
    "requires_grad_of",
    "set_jvp_function",
    "stale_no_grad_view",
]


class ViewInfo:
    """What a view remembers about its base.

    Attributes:
        base: the root tensor whose memory the view shares (never itself a view).
        version: the shared version counter's value when the view's ``grad_fn`` was last
            known to match its values; a different current version means "stale".
        grad_mode: whether grad mode was on when the view was made. A view made under
            ``no_grad`` is outside the graph for good: it requires grad when its base does
            but has no gradient edge (:func:`outside_graph`), it is never replayed, and, as
            in PyTorch, modifying it in place with grad mode on, or using it with grad mode
            on after its base changed in place, raises.
        multi_output: for one of several views returned by one op (``split``, ``chunk``,
            ``unbind``), that op's node name: PyTorch refuses to modify such views in place
            or to use them after their base changed, and so does chainrule. Else None.
        fw_base: the tensor whose forward-mode tangent this view's tangent is a part of (the
            same view of it): ``base`` for ordinary views, the dual tensor for a view of one
            that ``make_dual`` returned (its tangent belongs to it, not to the primal it
            aliases). None for a view that owns its tangent itself (a ``make_dual`` result,
            an ``unpack_dual`` primal): PyTorch's "forward view" relation, which these break.
    """

    __slots__ = ("base", "version", "grad_mode", "multi_output", "fw_base")

    def __init__(
        self,
        base: Tensor,
        version: int,
        grad_mode: bool,
        multi_output: str | None,
        fw_base: Tensor | None = None,
    ):
        self.base, self.version, self.grad_mode = base, version, grad_mode
        self.multi_output = multi_output
        self.fw_base = base if fw_base is None else fw_base


def record_view(
    view: Tensor, source: Tensor, grad_mode: bool, multi_output: str | None = None
) -> None:
    """Mark ``view`` (sharing ``source``'s memory and version counter) as a view of
    ``source``'s root base; ``multi_output`` names the op when it returned several views."""
    info = source._view
    if info is None:
        if not source._data.flags.c_contiguous:
            # a result laid out otherwise than PyTorch's (a convolution's): its views are
            # re-taken when it is re-laid, else its memory is marked shared (_layout_relay)
            note_view(view, source)
    elif VIEW_GROUPS:
        note_view(view, info.base, first=False)
    base = source if info is None else info.base
    grad_mode = grad_mode and (info is None or info.grad_mode)
    if info is not None and multi_output is None:
        multi_output = info.multi_output
    # the tangent's owner: source itself when it owns its tangent (not a view, or a view
    # that PyTorch does not treat as a forward view: a dual tensor), else source's owner
    fw_base = source if info is None or info.fw_base is None else info.fw_base
    view._view = ViewInfo(base, view._vc[0], grad_mode, multi_output, fw_base)


def outside_graph(t: Tensor) -> bool:
    """Whether ``t`` is a view without a ``grad_fn`` (made under ``no_grad``, or of a base
    that did not require grad then) whose base requires grad now, and which was not given
    ``requires_grad`` itself: as in PyTorch it requires grad (``Tensor.requires_grad`` reads
    the base's flag, so it follows the base's later ``requires_grad_()`` either way) and is
    a leaf, but it has no edge in the graph (ops on it are recorded, with ``(None, 0)`` in
    ``next_functions``, yet no gradient ever reaches it or its base, and ``t.grad`` stays
    None). A view given ``requires_grad_()`` is its own leaf, as in PyTorch."""
    info = t._view
    return (
        info is not None
        and not t._rg
        and t._grad_fn is None  # (the slot: a stale view's is not re-taken to answer)
        and info.base._rg
        and t._data.dtype.kind in "fcV"  # V: bfloat16; a view as integers never requires grad
    )


class _JvpFunction(threading.local):
    """Per thread: the forward level of the ``cr.func.jvp`` whose function runs now (None
    outside one, and inside a reverse transform that function calls)."""

    level: Any = None


JVP_FUNCTION = _JvpFunction()
_HIDING = 0  # func.jvp functions running now, in any thread: a cheap first test per read
_HIDING_LOCK = threading.Lock()


def set_jvp_function(level: Any) -> Any:
    """Make ``level`` the running ``func.jvp``'s (None: no tensor hidden) in this thread;
    returns the previous one, which the caller restores by calling this again."""
    global _HIDING
    previous = JVP_FUNCTION.level
    with _HIDING_LOCK:
        _HIDING += (level is not None) - (previous is not None)
    JVP_FUNCTION.level = level
    return previous


def requires_grad_of(t: Tensor) -> bool:
    """``Tensor.requires_grad``: the tensor's own flag, or, for a view without a grad_fn,
    its base's flag read now (PyTorch's rule: such a view follows its base's later
    ``requires_grad_()``, see :func:`outside_graph`). Inside the function of
    ``cr.func.jvp`` a tensor carrying that transform's tangent reads False to the user's
    code, as torch.func's wrapped tensors do (chainrule records the graph the autograd
    around needs beneath)."""
    if _HIDING and JVP_FUNCTION.level is not None and hidden_in_jvp(t):
        return False
    return t._rg or (t._view is not None and outside_graph(t))


def hidden_in_jvp(t: Tensor) -> bool:
    """Whether ``t`` carries the tangent of the ``cr.func.jvp`` whose function runs now and
    the code reading its ``requires_grad`` (the caller of the caller of this function) is
    the user's: chainrule's own code, recording the graph beneath the jvp, reads the true
    flag."""
    if not carries_jvp_tangent(t):
        return False
    name = sys._getframe(2).f_globals.get("__name__", "")
    return not (name == "chainrule" or name.startswith("chainrule."))


def carries_jvp_tangent(t: Tensor) -> bool:
    """Whether ``t`` carries the tangent of the ``cr.func.jvp`` whose function runs now."""
    level = JVP_FUNCTION.level
    return level is not None and t._fw is not None and t._fw[0] is level


def stale_no_grad_view(t: Tensor) -> bool:
    """Whether ``t`` is a view made under ``no_grad`` (or a view of one) whose base requires
    grad and was modified in place (through any view) since ``t`` was made: PyTorch refuses
    even to read ``grad_fn`` / ``is_leaf`` of such a view (its history cannot be told)."""
    info = t._view
    return (
        info is not None
        and not info.grad_mode
        and info.version != t._vc[0]
        and info.base._rg
        and t._data.dtype.kind in "fcV"
    )


def mark_multi_output(views: tuple, op: str) -> tuple:
    """Mark the views one op returned together (``split``, ``chunk``, ``unbind``): as in
    PyTorch they may not be modified in place nor used after their base changed."""
    for v in views:
        if v._view is not None:
            v._view.multi_output = op
    return views


def forward_base(t: Tensor) -> Tensor | None:
    """The tensor whose forward-mode tangent ``t``'s tangent is a view of (a write into
    ``t`` changes that tangent too), or None where ``t`` owns its tangent (not a view, or a
    dual tensor: see ``ViewInfo.fw_base``)."""
    info = t._view
    return None if info is None else info.fw_base


def owns_tangent(t: Tensor) -> None:
    """Make ``t`` (a view) the owner of its forward-mode tangent: its views' tangents are
    views of ``t``'s, and writes into them never reach the tangent of the tensor ``t``
    aliases (PyTorch's ``make_dual`` result and ``unpack_dual`` primal)."""
    if t._view is not None:
        t._view.fw_base = None
