"""Hostile files at every loading entry point, under a memory limit (issue 9, section 4).

Each file claims far more than it holds (a 2 GiB NumPy void scalar, a 2**40-element tensor,
a 2**62-byte header, a 4 GiB memo, an endless /dev/zero) or is malformed (100 000-deep
JSON, bad markers). A subprocess imports chainrule, limits its address space to 1 GiB
above that (RLIMIT_AS), and runs cr.load, Module.load_state_dict, load_checkpoint,
Trainer.fit(resume_from=), `chainrule evaluate` and `chainrule train --resume` on each:
every one must fail fast with a clear error naming the file, never with MemoryError.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict

import pytest
import torch

CHILD = os.path.join(os.path.dirname(__file__), "_hostile_child.py")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux-specific"
)


def _st(path, header: dict | bytes, data: bytes = b"", length: int | None = None) -> str:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if length is None else length
    with open(path, "wb") as fh:
        fh.write(n.to_bytes(8, "little") + raw + data)
    return str(path)


def _tree(path, tree, version=1, raw_tree: str | None = None) -> str:
    meta = json.dumps({"format": "chainrule", "version": version, "tree": tree})
    if raw_tree is not None:
        meta = '{"format": "chainrule", "version": 1, "tree": ' + raw_tree + "}"
    return _st(path, {"__metadata__": {"chainrule": meta}})


class _Ref:
    def __init__(self, numel: int) -> None:
        self.numel = numel


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Ref):
            return ("storage", torch.FloatStorage, "0", "cpu", obj.numel)
        return None


class _Tensor:
    def __init__(self, numel: int, size: tuple, stride: tuple) -> None:
        self.args = (_Ref(numel), 0, size, stride, False, OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-hostile-file",))


def _zip(path, pkl: bytes, storage: bytes = b"\0" * 16) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/data/0", storage)
    return str(path)


def _pickled(obj) -> bytes:
    import io

    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _hostile_files(d) -> dict[str, str]:
    void = {"__scalar__": 2**31 - 1, "dtype": "V1"}
    files = {
        "void_scalar": _tree(d / "void.safetensors", {"a": void, "b": void}),
        "huge_shape": _st(
            d / "shape.safetensors",
            {"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 4 * 2**40]}},
        ),
        "shape_mismatch": _st(
            d / "mismatch.safetensors",
            {"w": {"dtype": "F32", "shape": [2**28], "data_offsets": [0, 4]}},
            b"\0" * 8,
        ),
        "huge_header_length": _st(d / "hlen.safetensors", b"{}", length=2**62),
        "deep_json": _tree(d / "deep.safetensors", None, raw_tree="[" * 100_000 + "]" * 100_000),
        "deep_tree": _tree(d / "deeptree.safetensors", None, raw_tree="[" * 500 + "]" * 500),
        "deep_header": _st(d / "deephdr.safetensors", ("[" * 100_000 + "]" * 100_000).encode()),
        "bad_items": _tree(d / "items.safetensors", {"x": {"__items__": 5}}),
        "bad_tuple": _tree(d / "tuple.safetensors", {"x": {"__tuple__": {"a": 1}}}),
        "bad_version": _tree(d / "version.safetensors", {}, version="1.0"),
        "bad_dtype": _st(
            d / "dtype.safetensors",
            {"w": {"dtype": "V1", "shape": [2], "data_offsets": [0, 2]}},
            b"\0\0",
        ),
        "dev_zero": "/dev/zero",
        "zip_memo": _zip(d / "memo.pt", b"\x80\x02Nr" + (2**29).to_bytes(4, "little") + b"."),
        "zip_binbytes8": _zip(
            d / "bytes8.pt", b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"xx."
        ),
        "zip_storage_numel": _zip(d / "numel.pt", _pickled(_Tensor(2**40, (4,), (1,)))),
        "zip_view_extent": _zip(d / "view.pt", _pickled(_Tensor(4, (2**20, 2**20), (1, 1)))),
        "zip_code": _zip(d / "evil.pt", pickle.dumps({"x": _Evil()}, protocol=2)),
    }
    os.mkfifo(d / "fifo")
    files["fifo"] = str(d / "fifo")
    return files


def _run(cases, cwd) -> list[dict]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "CHAINRULE_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, CHILD, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])["results"]


def _assert_clear(result: dict, name: str) -> None:
    assert result["type"] in ("LoadError", "ValueError", "UnpicklingError", "IsADirectoryError"), (
        result
    )
    assert result["type"] != "MemoryError" and result["seconds"] < 60, result
    assert name in result["message"] or "/dev/zero" in result["message"], result


@pytest.mark.parametrize("entry", ["load", "load_state_dict", "load_checkpoint", "fit_resume"])
def test_library_entry_points_fail_fast_and_clearly(tmp_path, entry):
    files = _hostile_files(tmp_path)
    results = _run([{"entry": entry, "path": p, "name": n} for n, p in files.items()], tmp_path)
    for res in results:
        _assert_clear(res, os.path.basename(res["case"]["path"]))
    assert not (tmp_path / "pwned-by-hostile-file").exists()


_CONFIG = {
    "data": "mnist1d",
    "model": "mlp",
    "input_shape": [40],
    "num_classes": 10,
    "hidden": [8],
    "dropout": 0.0,
}


def _run_dir(d, model_file: str, config: dict | None = None) -> str:
    d.mkdir()
    with open(d / "config.json", "w") as fh:
        json.dump(config or _CONFIG, fh)
    with open(model_file, "rb") as src, open(d / "model.safetensors", "wb") as dst:
        dst.write(src.read())
    return str(d)


def test_cli_evaluate_and_train_resume_fail_fast_and_clearly(tmp_path):
    files = _hostile_files(tmp_path)
    cases = []
    for name in ("void_scalar", "huge_shape", "deep_header", "zip_memo", "zip_code"):
        run = _run_dir(tmp_path / f"eval-{name}", files[name])
        cases.append({"entry": "evaluate", "argv": ["evaluate", run], "name": name})
        out = tmp_path / f"train-{name}"
        out.mkdir()
        with open(files[name], "rb") as src, open(out / "checkpoint.safetensors", "wb") as dst:
            dst.write(src.read())
        cases.append(
            {
                "entry": "train_resume",
                "name": name,
                "argv": [
                    "train",
                    "--resume",
                    "--out",
                    str(out),
                    "--epochs",
                    "1",
                    "--limit-train",
                    "64",
                    "--hidden",
                    "8",
                    "--quiet",
                ],
            }
        )
    tiny = _run_dir(tmp_path / "tiny-src", files["void_scalar"])  # placeholder weights
    for key, value in (
        ("hidden", [10**9]),
        ("num_classes", 10**9),
        ("input_shape", [10**6, 10**6]),
        ("hidden", "wide"),
    ):
        run = _run_dir(
            tmp_path / f"cfg-{key}-{len(cases)}",
            os.path.join(tiny, "model.safetensors"),
            {**_CONFIG, key: value},
        )
        cases.append({"entry": "evaluate", "argv": ["evaluate", run], "name": key})
    for res in _run(cases, tmp_path):
        assert res["rc"] == 2, res
        assert res["message"].startswith("chainrule ") and "Traceback" not in res["message"]
        assert res["seconds"] < 120, res
    assert not (tmp_path / "pwned-by-hostile-file").exists()
