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
  ``np.errstate(all="ignore")`` once (:func:`quiet_fp`).

Anomaly mode (``cr.autograd.detect_anomaly``) is how to find where a NaN or inf appears.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["FP_WARNING", "pass_fp_warning", "rerun_quietly", "quiet_fp"]

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


def quiet_fp() -> Any:
    """A context in which NumPy computes IEEE results without warnings (``np.errstate``)."""
    return np.errstate(all="ignore")
