"""The long hunt of the printing fuzzer: draws COUNT tensors from SEED, prints each in torch
and chainrule every way :func:`tests.fuzz_repr.compare.render` does, groups the
disagreements by rendering, dtype and first differing line, and shrinks one case per group
greedily (no suffix, no view, fewer options, a smaller array). Not a test; run by hand, one
at a time (single-process)::

    python -m tests.fuzz_repr.hunt [COUNT] [SEED] [DTYPE ...]

``DTYPE``: only cases of these dtypes (``float32``, ``bfloat16``, ``int8``, ...). The loop is
:mod:`tests.fuzz_common.driver`'s.
"""

from __future__ import annotations

import sys

import numpy as np

from tests.fuzz_common import driver
from tests.fuzz_common.driver import HuntSpec, parse_args

from .cases import Case, draw
from .compare import check, signature, simpler

__all__ = ["hunt", "main", "spec"]


def spec(dtypes: tuple[str, ...] = ()) -> HuntSpec:
    """The fuzzer's :class:`HuntSpec`; ``dtypes``: keep only cases of these (all if empty)."""

    def pick(rng: np.random.Generator, n: int) -> Case | None:
        case = draw(rng, n)
        return case if not dtypes or case.dtype in dtypes else None

    return HuntSpec(
        draw=pick, check=check, signature=signature, simpler=simpler, unit="tensors", width=None
    )


def hunt(count: int, seed: int, dtypes: tuple[str, ...] = ()) -> dict:
    """The disagreements of ``count`` cases drawn from ``seed``, grouped by signature."""
    return driver.hunt(spec(dtypes), count, seed)


def main(argv: list[str]) -> int:
    """Hunt and print one shrunk case per group of disagreements; the exit status."""
    args = parse_args(argv, count=1000, seed=1)
    return driver.main(spec(tuple(args.rest)), args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
