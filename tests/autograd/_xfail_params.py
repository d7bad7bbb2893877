"""The parameter lists of the version tests (sessions 42 onwards): every case name, the
known gaps marked ``xfail(strict=True)`` so that a fixed gap fails loudly and its mark
is removed.

One helper instead of the comprehension each test file used to repeat.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import pytest

__all__ = ["xfail_params"]


def xfail_params(names: Iterable[str], gaps: Collection[str], reason: str) -> list:
    """``names`` as ``pytest.mark.parametrize`` values, each name in ``gaps`` a
    ``pytest.param`` marked strict xfail with ``reason``. A gap that names no case is an
    error (a stale entry would otherwise hide silently)."""
    names = list(names)
    unknown = set(gaps) - set(names)
    if unknown:
        raise ValueError(f"xfail_params: gaps name no case: {sorted(unknown)}")
    mark = pytest.mark.xfail(strict=True, reason=reason)
    return [pytest.param(n, marks=mark) if n in gaps else n for n in names]
