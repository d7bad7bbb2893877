"""IEEE results without NumPy's floating-point warnings, whatever the caller's filters.

PyTorch's ops return the IEEE result of ``log(0)``, ``1/0``, ``0 * inf`` or an overflow
(-inf, inf, nan) silently. NumPy reports the same events as ``RuntimeWarning``. chainrule
hides them in three ways, each where it costs nothing measurable:

- A warnings filter (``chainrule/__init__.py``, :data:`FP_WARNING`) ignores them when they
  come from chainrule's modules. A caller that turns every warning into an error
  (``warnings.simplefilter("error")``, pytest's ``filterwarnings = error``) puts its own
  filter in front, and the warning then arrives as an exception.
- So an op's forward (``Function.apply``) catches that exception and computes the op again
  under ``np.errstate(all="ignore")`` (:func:`rerun_quietly`). A ``try`` costs no time until
  it raises, so the per-op hot path is unchanged; wrapping every op in ``np.errstate``
  would cost ~0.7 us per op. A forward computes into fresh arrays (in-place ops copy the
  result in afterwards), so running it again is safe.
- Whole passes that are not per-op (the backward pass, an optimizer step) run under
  ``np.errstate(all="ignore")``'s setting once (:func:`quiet_fp`, or :func:`quiet_on` /
  :func:`quiet_off` around a hot call). On NumPy 2 that setting is one context variable,
  and the quiet value is derived from the caller's once and reused while the caller's stays
  the same object, so entering costs ~0.2-0.35 us where ``np.errstate`` costs ~1.1 us
  (session 38; per backward pass and per optimizer step). :func:`fp_ignoring` is the same
  for an op that ignores some events only (``np.errstate(over="ignore")``).

Anomaly mode (``cr.autograd.detect_anomaly``) is how to find where a NaN or inf appears.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

try:  # NumPy 2: the floating-point error setting is this context variable (np.errstate's)
    from numpy._core._ufunc_config import _extobj_contextvar

    _get, _set, _reset = _extobj_contextvar.get, _extobj_contextvar.set, _extobj_contextvar.reset
except ImportError:  # NumPy 1.x: np.errstate itself
    _extobj_contextvar = None

__all__ = [
    "FP_WARNING",
    "fp_ignoring",
    "pass_fp_warning",
    "quiet_fp",
    "quiet_off",
    "quiet_on",
    "rerun_quietly",
]

FP_WARNING = r"(divide by zero|invalid value|overflow|underflow) encountered"
_FP_WARNING = re.compile(FP_WARNING)


def rerun_quietly(warning: RuntimeWarning, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``f(*args, **kwargs)`` again with NumPy's floating-point warnings off, after the first
    call raised ``warning``; any other RuntimeWarning (raised as an error) propagates."""
    pass_fp_warning(warning)
    with np.errstate(all="ignore"):
        return f(*args, **kwargs)


def pass_fp_warning(warning: RuntimeWarning) -> None:
    """Let NumPy's floating-point warning (raised as an error) pass; raise any other. An
    in-place NumPy call has finished writing when it raises one (NumPy checks the
    floating-point flags after the loop), so its caller just goes on."""
    if not _FP_WARNING.match(str(warning)):
        raise warning


class _Ignoring:
    """``np.errstate(<each of _events>="ignore")`` as a context manager for NumPy 2 (one
    subclass per set of events, :func:`fp_ignoring`), without building the setting again on
    every entry: ``_last`` holds the caller's setting seen last and the one derived from it,
    reused while the caller's is that same object (NumPy makes a new one for every change:
    ``np.errstate``, ``np.seterr``, ``np.setbufsize``), and ``_before`` the pair it replaced:
    an op entered both from a forward (the user's setting) and from a backward rule (inside
    the pass's quiet setting) alternates between two callers' settings, and without the
    second slot rebuilt its setting through ``np.errstate`` on every entry (session 39: 2.3
    us per entry, twice ``np.errstate``'s; with it 0.4 us, thread_time, min of 7 x 20000)."""

    __slots__ = ("_token",)
    _events: tuple = ("all",)
    _last: tuple = (None, None)
    _before: tuple = (None, None)

    def __enter__(self) -> None:
        current, last = _get(), self._last  # (inlined _setting's common cases: 0.15 us less)
        if current is last[0]:
            self._token = _set(last[1])
        else:
            before = self._before
            self._token = _set(before[1] if current is before[0] else _setting(type(self)))

    def __exit__(self, *exc: Any) -> None:
        _reset(self._token)


def _setting(cls: type) -> Any:
    """The context variable's value that ``cls`` enters, for the current setting (the same
    buffer size, error callback and other events' handling)."""
    current = _extobj_contextvar.get()
    last = cls._last  # (one read: another thread may replace it)
    if current is last[0]:
        return last[1]
    before = cls._before
    if current is before[0]:  # the other caller of an alternation
        return before[1]
    with np.errstate(**dict.fromkeys(cls._events, "ignore")):
        setting = _extobj_contextvar.get()
    cls._before, cls._last = last, (current, setting)
    return setting


def fp_ignoring(*events: str) -> Callable[[], Any]:
    """A context-manager factory (make it once, at import) for ``np.errstate`` ignoring only
    ``events`` (``"all"``, ``"divide"``, ``"over"``, ``"under"``, ``"invalid"``), the others
    as the caller set them: ``with IGNORE_OVER():`` where ``IGNORE_OVER =
    fp_ignoring("over")``; 0.4 us where ``np.errstate`` takes 1.1 us on NumPy 2."""
    if _extobj_contextvar is None:
        return lambda: np.errstate(**dict.fromkeys(events, "ignore"))
    return type("_Ignoring_" + "_".join(events), (_Ignoring,), {"__slots__": (), "_events": events})


_QUIET = fp_ignoring("all")


def quiet_fp() -> Any:
    """A context in which NumPy computes IEEE results without warnings (``np.errstate``'s
    ``all="ignore"``; 0.4 us where ``np.errstate`` takes 1.1 us on NumPy 2)."""
    return _QUIET()


def quiet_on() -> Any:
    """Enter :func:`quiet_fp`'s setting; returns the token :func:`quiet_off` takes (for a hot
    path that runs ``try``/``finally`` itself: 0.2 us with the exit)."""
    if _extobj_contextvar is not None:
        last = _QUIET._last
        return _set(last[1] if _get() is last[0] else _setting(_QUIET))
    ctx = np.errstate(all="ignore")
    ctx.__enter__()
    return ctx


def quiet_off(token: Any) -> None:
    """Leave the setting :func:`quiet_on` entered (``token``: what it returned)."""
    if _extobj_contextvar is not None:
        _reset(token)
    else:
        token.__exit__(None, None, None)
