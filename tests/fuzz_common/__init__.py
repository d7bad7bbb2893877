"""What the fuzzers under ``tests/fuzz*`` share: :mod:`.driver`, the hunt loop (arguments,
seeded drawing, grouping by signature, greedy shrinking, the report)."""

from .driver import Args, HuntSpec, drop_numbers, hunt, main, one_pass, parse_args, report, shrink

__all__ = [
    "Args",
    "HuntSpec",
    "drop_numbers",
    "hunt",
    "main",
    "one_pass",
    "parse_args",
    "report",
    "shrink",
]
