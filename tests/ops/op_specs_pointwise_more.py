"""Op specs for ops/pointwise_more.py (appended to the central table in tests/ops/op_specs.py)."""

from __future__ import annotations

SPECS: list = []
