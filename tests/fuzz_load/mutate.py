"""Draw one mutation of a seed file: generic byte edits or a format-aware one."""

from __future__ import annotations

import numpy as np

from .pickle_mutations import LEGACY_MUTATIONS, PICKLE_MUTATIONS
from .seeds import Seed
from .st_mutations import ST_MUTATIONS
from .zip_mutations import ZIP_MUTATIONS

__all__ = ["Mutant", "draw", "sweep_truncations"]


def flip(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    out = bytearray(data)
    where = []
    for _ in range(int(rng.integers(1, 9))):
        i = int(rng.integers(len(out)))
        out[i] ^= 1 << int(rng.integers(8))
        where.append(i)
    return bytes(out), f"flip bits at {where}"


def set_bytes(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    out = bytearray(data)
    i = int(rng.integers(len(out)))
    k = int(rng.integers(1, 9))
    v = int(rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x01]))
    out[i : i + k] = bytes([v]) * len(out[i : i + k])
    return bytes(out), f"set {k} bytes at {i} to {v:#x}"


def splice(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    i = int(rng.integers(len(data)))
    k = int(rng.integers(1, 65))
    op = str(rng.choice(["delete", "insert", "duplicate"]))
    if op == "delete":
        return data[:i] + data[i + k :], f"delete {k} bytes at {i}"
    if op == "insert":
        return data[:i] + bytes(rng.integers(0, 256, k, dtype=np.uint8)) + data[
            i:
        ], f"insert {k} at {i}"
    return data[: i + k] + data[i : i + k] + data[i + k :], f"duplicate {k} bytes at {i}"


def truncate(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    cut = int(rng.integers(len(data)))
    return data[:cut], f"truncate to {cut}/{len(data)}"


def append(rng: np.random.Generator, data: bytes) -> tuple[bytes, str]:
    k = int(rng.choice([1, 7, 100, 4096]))
    return data + bytes(rng.integers(0, 256, k, dtype=np.uint8)), f"append {k} bytes"


GENERIC = {"flip": flip, "set": set_bytes, "splice": splice, "truncate": truncate, "append": append}


class Mutant:
    """One mutated file: its bytes, the seed it came from, how, and the entry to load with."""

    def __init__(self, seed: Seed, data: bytes, how: str, entry: str) -> None:
        self.seed, self.data, self.how, self.entry = seed, data, how, entry
        self.marker: str | None = None  # the file an injected payload would create

    def __repr__(self) -> str:
        return f"Mutant({self.seed.name}, {self.entry}, {self.how})"


def _table(fmt: str) -> dict:
    if fmt == "zip":
        return {
            **GENERIC,
            **ZIP_MUTATIONS,
            **PICKLE_MUTATIONS,
            "pickle2": PICKLE_MUTATIONS["pickle"],
        }
    if fmt == "st":
        return {**GENERIC, **ST_MUTATIONS}
    if fmt == "legacy":
        return {**GENERIC, **LEGACY_MUTATIONS, "lpickle2": LEGACY_MUTATIONS["lpickle"]}
    return GENERIC


def draw(rng: np.random.Generator, seeds: list[Seed], marker: str) -> Mutant:
    """A random mutation (1 to 3 stacked edits) of a random seed."""
    seed = seeds[int(rng.integers(len(seeds)))]
    table = _table(seed.fmt)
    data, hows = seed.data, []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        name = str(rng.choice(sorted(table)))
        fn = table[name]
        try:
            takes_marker = name.startswith(("pickle", "lpickle"))
            got = fn(rng, data, marker) if takes_marker else fn(rng, data)
        except Exception:  # noqa: BLE001
            got = None  # an earlier edit left nothing this mutator can parse
        if got is None or not got[0]:
            continue
        data, how = got
        hows.append(f"{name}: {how}")
    entries = seed.entries
    if any(h.startswith(("pickle", "lpickle")) and "inject" in h for h in hows):
        entries = tuple(e for e in entries if e != "load_full") or ("load",)
    mutant = Mutant(seed, data, "; ".join(hows) or "unchanged", str(rng.choice(entries)))
    mutant.marker = marker
    return mutant


def sweep_truncations(seeds: list[Seed]) -> list[Mutant]:
    """Every seed truncated at every structural boundary (and one byte either side)."""
    from . import st_mutations, zip_mutations

    out = []
    for seed in seeds:
        if seed.fmt == "zip":
            cuts = set(zip_mutations.boundaries(seed.data))
        else:
            n = int.from_bytes(seed.data[:8], "little")
            cuts = {0, 7, 8, 8 + n - 1, 8 + n, len(seed.data) - 1}
            parts = st_mutations.split(seed.data) if seed.fmt == "st" else None
            for info in (parts[0] if parts else {}).values():
                offs = info.get("data_offsets") if isinstance(info, dict) else None
                cuts |= {8 + n + o for o in offs or ()}
        for cut in sorted({c + d for c in cuts for d in (-1, 0, 1)}):
            if 0 <= cut < len(seed.data):
                entry = seed.entries[cut % len(seed.entries)]
                out.append(Mutant(seed, seed.data[:cut], f"sweep truncate {cut}", entry))
    return out
