"""Run mutants through :mod:`.child` subprocesses, with a timeout per load, and judge them.

A load passes if it succeeds, or raises one of :data:`ALLOWED` with a message naming the
file; it fails if it runs code from the file (a payload's marker file appears), raises
MemoryError or grows the process by more than :data:`MAX_GROWTH_KB`, takes longer than the
timeout, kills the process, or raises anything else (a raw IndexError, struct.error,
UnicodeDecodeError, ... from the parsing internals).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time

from .mutate import Mutant

__all__ = ["ALLOWED", "judge", "run_mutants", "signature"]

ALLOWED = {"LoadError", "UnpicklingError", "ValueError", "NotImplementedError"}
# what load_checkpoint may raise about a checkpoint whose file loaded but whose content does
# not fit the model / optimizer (those messages are about the state, not the file)
CKPT_ALLOWED = {"LoadError", "UnpicklingError", "ValueError", "RuntimeError"}
MAX_GROWTH_KB = 100 * 1024
HEADROOM = 512 << 20
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _launch(spec_path: str, start: int) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "CHAINRULE_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([_ROOT, env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fuzz_load.child", spec_path, str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=os.path.dirname(spec_path),
        env=env,
        text=True,
    )


def _next(line: dict | None, cases: list[dict], start: int, reference: bool) -> tuple[int, str]:
    """The (case, side) the child works on after printing ``line``."""
    if line is None:
        return start, "cr"
    i, side = line["i"], line["side"]
    if side == "cr" and cases[i]["entry"] == "load_checkpoint" and line["type"] is None:
        return i, "ckpt"
    if side in ("cr", "ckpt") and reference:
        return i, "ref"
    return i + 1, "cr"


def run_cases(
    cases: list[dict], workdir: str, reference: bool = False, timeout: float = 30.0
) -> dict[tuple[int, str], dict]:
    """``{(case index, side): result}`` for every case (see :mod:`.child`)."""
    spec_path = os.path.join(workdir, "cases.json")
    with open(spec_path, "w") as fh:
        json.dump({"cases": cases, "headroom": HEADROOM, "reference": reference}, fh)
    results: dict = {}
    start = 0
    while start < len(cases):
        proc = _launch(spec_path, start)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        last, ready, why = None, False, None
        deadline = time.monotonic() + 120
        while True:
            if not sel.select(max(deadline - time.monotonic(), 0)):
                why = {"type": "HANG", "message": f"no answer in {timeout}s"}
                break
            text = proc.stdout.readline()
            if not text:
                proc.wait()
                why = {"type": "CRASH", "message": f"child exited with {proc.returncode}"}
                break
            text = text.strip()
            deadline = time.monotonic() + timeout
            if text == "READY":
                ready = True
            elif text == "DONE":
                break
            elif text.startswith("{"):
                line = json.loads(text)
                results[(line["i"], line["side"])] = line
                last = line
        proc.kill()
        proc.wait()
        sel.close()
        proc.stdout.close()
        if why is None:
            break
        if not ready:
            raise RuntimeError(f"fuzz_load child failed to start: {why}")
        i, side = _next(last, cases, start, reference)
        if i >= len(cases):
            break
        results[(i, side)] = {"i": i, "side": side, **why, "seconds": timeout}
        start = i + 1
    return results


def judge(res: dict | None, path: str, side: str = "cr") -> str | None:
    """None if the load behaved, else a one-line verdict."""
    if res is None:
        return "MISSING result"
    kind, msg = res.get("type"), res.get("message", "")
    if kind in ("HANG", "CRASH"):
        return f"{kind}: {msg}"
    if kind == "MemoryError" or res.get("rss_kb", 0) > MAX_GROWTH_KB:
        return f"MEMORY: {kind} grew {res.get('rss_kb', 0)} kB: {msg[:200]}"
    if res.get("seconds", 0) > 5 and side != "full":  # a full unpickle may import torch
        return f"SLOW: {res['seconds']}s {kind}: {msg[:200]}"
    if kind is None:
        return None
    if side == "ckpt":
        if kind in CKPT_ALLOWED:
            return None
        return f"CKPT-ERROR {kind}: {msg[:200]}"
    if side == "full" and os.path.basename(path) in msg and kind not in ("SystemExit",):
        return None  # weights_only=False ran the file's program: its errors, naming the file
    if kind == "RuntimeError" and "CUDA device" in msg and os.path.basename(path) in msg:
        return None  # PyTorch's error for a CUDA storage without a GPU
    if kind not in ALLOWED or res.get("module"):
        return f"RAW {res.get('module', '')}{kind}: {msg[:200]}"
    if os.path.basename(path) not in msg:
        return f"UNNAMED {kind}: {msg[:200]}"
    return None


def signature(verdict: str) -> str:
    """A verdict with its numbers, paths and quoted values blanked, to group findings."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'_'", verdict)
    return re.sub(r"\d+", "N", text)[:160]


def run_mutants(
    mutants: list[Mutant], workdir: str, reference: bool = False, timeout: float = 30.0
) -> list[dict]:
    """Write, load and judge ``mutants``: one record per mutant with ``verdicts`` (empty
    when it behaved) and the raw results (``cr``, ``ckpt``, ``ref``)."""
    os.makedirs(workdir, exist_ok=True)
    cases = []
    for i, m in enumerate(mutants):
        ext = os.path.splitext(m.seed.name)[1]
        path = os.path.join(workdir, f"case-{i:05d}{ext}")
        with open(path, "wb") as fh:
            fh.write(m.data)
        cases.append({"entry": m.entry, "path": path, "fmt": m.seed.fmt})
    results = run_cases(cases, workdir, reference, timeout)
    out = []
    for i, (m, case) in enumerate(zip(mutants, cases)):
        rec = {"mutant": m, "path": case["path"], "verdicts": []}
        for side in ("cr", "ckpt", "ref"):
            rec[side] = results.get((i, side))
        v = judge(rec["cr"], case["path"], "full" if m.entry == "load_full" else "cr")
        if v:
            rec["verdicts"].append(v)
        if rec["ckpt"] is not None and (v := judge(rec["ckpt"], case["path"], "ckpt")):
            rec["verdicts"].append(v)
        marker = getattr(m, "marker", None)
        if marker and os.path.exists(marker):
            rec["verdicts"].append(f"CODE-EXEC: {os.path.basename(marker)} created")
            os.unlink(marker)
        out.append(rec)
    return out
