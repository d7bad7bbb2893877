"""Module-level functions for the autowrap tests (the tracer patches this module's globals
and ``math``'s attributes, as torch's)."""

from __future__ import annotations

import math
from math import sqrt


def helper(x):
    """A global function the tests autowrap."""
    return x * 2


def uses_sqrt(x):
    """``sqrt`` imported from math, on a traced size."""
    return sqrt(x.size(0)) * x


def uses_math_sqrt(x):
    """``math.sqrt`` by attribute, on a traced size."""
    return math.sqrt(x.size(0)) * x


def uses_helper(x):
    """Calls :func:`helper`."""
    return helper(x) + 1
