"""Load fuzzed files under an address-space limit (RLIMIT_AS); a subprocess of the runner.

Usage: ``python -m tests.fuzz_load.child CASES_JSON START``. Prints ``READY``, then one
JSON line per case and side, flushed as soon as it is known, so that the runner can tell
which case hung or crashed the process: ``side`` ``"cr"`` is the chainrule load itself,
``"ckpt"`` what ``load_checkpoint`` then did with the loaded object, ``"ref"`` what
``torch.load`` (zip/legacy files) or ``safetensors.numpy.load_file`` made of the same file.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.train import load_checkpoint


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def _touch(obj, depth: int = 0) -> None:
    """Read the first and last element of every loaded array (a mapping that runs past the
    file's end would fault here)."""
    if depth > 50:
        return
    if isinstance(obj, cr.Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        if obj.size:
            _ = obj[(0,) * obj.ndim], obj[(-1,) * obj.ndim]
    elif isinstance(obj, dict):
        for v in list(obj.values())[:1000]:
            _touch(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in list(obj)[:1000]:
            _touch(v, depth + 1)


def _cr(entry: str, path: str):
    if entry == "load_full":
        return cr.load(path, weights_only=False)
    if entry == "load_mmap":
        return cr.load(path, mmap=True)
    if entry == "load_fileobj":
        with open(path, "rb") as fh:
            return cr.load(fh)
    return cr.load(path)


def _checkpoint(path: str) -> None:
    model = nn.Linear(3, 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    load_checkpoint(path, model, opt)


def _ref(entry: str, path: str, fmt: str):
    if fmt == "st":
        import safetensors.numpy

        return safetensors.numpy.load_file(path)
    import torch

    return torch.load(path, weights_only=entry != "load_full", mmap=entry == "load_mmap")


def _run(fn, *args) -> dict:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out: dict = {"type": None, "message": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _touch(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - reported to the runner
        notes = " ".join(getattr(exc, "__notes__", ()))  # a full unpickle names the file so
        out = {"type": type(exc).__name__, "message": f"{str(exc)[:500]} {notes}".strip()}
        mod = type(exc).__module__
        if mod not in ("builtins", "_pickle", "pickle", "chainrule.serialization.source"):
            out["module"] = mod
    out["seconds"] = round(time.perf_counter() - start, 3)
    out["rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    return out


def main() -> None:
    spec = json.loads(open(sys.argv[1]).read())
    start = int(sys.argv[2])
    if spec.get("reference"):
        import safetensors.numpy  # noqa: F401 - imported before the limit
        import torch  # noqa: F401
    limit = _vm_size() + spec["headroom"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print("READY", flush=True)
    for i, case in enumerate(spec["cases"][start:], start):
        res = _run(_cr, case["entry"], case["path"])
        print(json.dumps({"i": i, "side": "cr", **res}), flush=True)
        if case["entry"] == "load_checkpoint" and res["type"] is None:
            res = _run(_checkpoint, case["path"])
            print(json.dumps({"i": i, "side": "ckpt", **res}), flush=True)
        if spec.get("reference"):
            res = _run(_ref, case["entry"], case["path"], case["fmt"])
            print(json.dumps({"i": i, "side": "ref", **res}), flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
