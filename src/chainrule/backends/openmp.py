"""``cr.backends.openmp``: whether chainrule's parallel CPU kernels run on OpenMP.

PyTorch reports whether it was built with OpenMP. chainrule's parallel kernels are compiled
by Numba (the ``fast`` extra) and run on Numba's OpenMP threading layer when its runtime
(libgomp) loads, else on Numba's own work queue; NumPy alone has no OpenMP.
"""

from __future__ import annotations

import importlib.util

__all__ = ["is_available"]


def is_available() -> bool:
    """True when Numba's OpenMP threading layer is installed (chainrule's compiled kernels
    then run on it), False otherwise."""
    try:
        return importlib.util.find_spec("numba.np.ufunc.omppool") is not None
    except ImportError:  # no numba: its parent package cannot be searched
        return False
