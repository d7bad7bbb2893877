"""Op specs for pool extra (appended to the central table in tests/ops/op_specs.py)."""

from __future__ import annotations

SPECS: list = []
