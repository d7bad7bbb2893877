"""Op specs for ops/stacking.py (appended to the central table in tests/ops/op_specs.py)."""

from __future__ import annotations

SPECS: list = []
