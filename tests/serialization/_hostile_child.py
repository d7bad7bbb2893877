"""Run loading entry points on hostile files under a memory limit (a subprocess of the tests).

Usage: python _hostile_child.py CASES_JSON. Prints one JSON line: per case, the exception
type and message (or the CLI's exit status and stderr), and the memory limit used.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time

import chainrule as cr
from chainrule import cli, nn
from chainrule.train import Trainer, load_checkpoint
from chainrule.utils.data import DataLoader, TensorDataset

_HEADROOM = 1 << 30  # 1 GiB above what the imports use: 2 GiB claims must fail fast


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def _entry(kind: str, path: str) -> None:
    model = nn.Linear(2, 2)
    if kind == "load":
        cr.load(path)
    elif kind == "load_state_dict":
        model.load_state_dict(cr.load(path))
    elif kind == "load_checkpoint":
        load_checkpoint(path, model)
    elif kind == "fit_resume":
        loader = DataLoader(TensorDataset(cr.randn(4, 2), cr.tensor([0, 1, 0, 1])), batch_size=2)
        Trainer(
            model,
            nn.functional.cross_entropy,
            cr.optim.SGD(model.parameters(), lr=0.1),
            verbose=False,
        ).fit(loader, epochs=1, resume_from=path)
    else:
        raise ValueError(f"unknown entry {kind}")


def main() -> None:
    cases = json.loads(sys.argv[1])
    limit = _vm_size() + _HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    results = []
    for case in cases:
        start = time.perf_counter()
        err = io.StringIO()
        out: dict = {"case": case}
        try:
            if case["entry"] in ("evaluate", "train_resume"):
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    out["rc"] = cli.main(case["argv"])
                out["message"] = err.getvalue()
            else:
                _entry(case["entry"], case["path"])
                out["type"] = None
        except BaseException as exc:  # noqa: BLE001 - reported to the parent test
            out["type"] = type(exc).__name__
            out["message"] = str(exc)[:400]
        out["seconds"] = time.perf_counter() - start
        results.append(out)
    print(json.dumps({"limit": limit, "results": results}))


if __name__ == "__main__":
    main()
