"""The long hunt of the ``torch.func`` fuzzer: draws COUNT programs from SEED (transform
compositions of :mod:`.programs`, then module programs of :mod:`.modules`), runs each on
torch and chainrule, groups the disagreements by their message and shrinks one program per
group greedily (fewer steps and layers, simpler options, float64, smaller shapes). Not a
test; run by hand, one at a time (it is single-process)::

    python -m tests.fuzz_func.hunt [COUNT] [SEED] [LAYER ...]

``LAYER``: only programs whose layers are of these kinds (vmap, grad, ..., see ``LAYERS``;
``modules`` for the module programs only).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from typing import Any

import numpy as np

from . import modules
from .programs import LAYERS, Program, check, draw


def signature(prog: Any, diffs: list[str]) -> str:
    """The layer kinds and the first difference with numbers and arrays dropped."""
    msg = re.sub(r"\[[^\]]*\]|\([^)]*\)", "()", diffs[0])
    msg = re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)
    kinds = "/".join(la[0] for la in prog.layers) if isinstance(prog, Program) else prog.kind
    return f"{kinds}: {msg[:160]}"


def _simpler_layer(layer: tuple):
    rep = list(layer)
    if layer[0] == "vmap":
        for k, v in ((3, None), (4, "error"), (2, 0), (5, 2), (1, 0)):
            if layer[k] != v:
                yield tuple(rep[:k] + [v] + rep[k + 1 :])
    elif layer[0] in ("grad", "gv", "jacrev", "jacfwd", "hessian") and layer[1] != 0:
        yield tuple(rep[:1] + [0] + rep[2:])
    if layer[0] == "jacrev" and layer[3] is not None:
        yield tuple(rep[:3] + [None])


def _simpler(prog: Program):
    """Programs one step simpler than ``prog``."""
    rep = dataclasses.replace
    for k in range(len(prog.body)):
        yield rep(prog, body=prog.body[:k] + prog.body[k + 1 :])
    if len(prog.layers) > 1:
        for k in range(len(prog.layers) - 1):
            yield rep(prog, layers=prog.layers[:k] + prog.layers[k + 1 :])
    for k, layer in enumerate(prog.layers):
        for new in _simpler_layer(layer):
            yield rep(prog, layers=prog.layers[:k] + (new,) + prog.layers[k + 1 :])
    if prog.dtype != "float64":
        yield rep(prog, dtype="float64")
    if prog.out != "tensor":
        yield rep(prog, out="tensor")
    if len(prog.s) == 2:
        yield rep(prog, s=prog.s[1:])
    if any(n > 1 for n in prog.s):
        yield rep(prog, s=tuple(max(1, n - 1) for n in prog.s))
    if prog.seed:
        yield rep(prog, seed=0)


def shrink(prog: Any, sig: str, budget: float = 30.0) -> Any:
    """Greedily simplify ``prog`` while its signature stays ``sig``."""
    simpler = _simpler if isinstance(prog, Program) else modules.simpler
    run = check if isinstance(prog, Program) else modules.check
    end = time.monotonic() + budget
    changed = True
    while changed and time.monotonic() < end:
        changed = False
        for p in simpler(prog):
            try:
                d = run(p)
            except Exception:  # noqa: BLE001 - a broken simplification is skipped
                continue
            if d and signature(p, d) == sig:
                prog, changed = p, True
                break
    return prog


def hunt(count: int, seed: int, kinds: tuple = LAYERS) -> dict:
    """Run ``count`` programs from ``seed``; the disagreements grouped by signature."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    start = time.monotonic()
    for n in range(count):
        if kinds == ("modules",) or (kinds == LAYERS and n % 4 == 3):
            prog: Any = modules.draw(rng)
            diffs = modules.check(prog)
        else:
            prog = draw(rng, kinds)
            diffs = check(prog)
        if diffs:
            groups.setdefault(signature(prog, diffs), []).append((prog, diffs))
        if (n + 1) % 200 == 0:
            took = time.monotonic() - start
            print(f"{n + 1} programs, {len(groups)} groups, {took:.0f} s", flush=True)
    return groups


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 500
    seed = int(argv[1]) if len(argv) > 1 else 1
    kinds = tuple(argv[2:]) or LAYERS
    groups = hunt(count, seed, kinds)
    total = sum(len(v) for v in groups.values())
    print(f"{count} programs, {total} disagreements in {len(groups)} groups")
    for sig, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        prog, _ = found[0]
        small = shrink(prog, sig)
        run = check if isinstance(small, Program) else modules.check
        print(f"\n[{len(found)}x] {sig}\n  {small!r}")
        for d in run(small)[:3]:
            print(f"    {d[:400]}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
