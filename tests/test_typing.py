"""The typed public API: the ``Tensor`` stub is current, and mypy accepts a user's code with it.

``Tensor``'s methods are bound at import time, so type checkers only see them through the
generated ``src/chainrule/autograd/tensor.pyi``. These tests fail when an op is bound without
regenerating the stub, when the stub stops type-checking, or when mypy stops catching errors.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import Tensor
from chainrule.backend import Device

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "tools" / "gen_tensor_stub.py"
STUB = ROOT / "src" / "chainrule" / "autograd" / "tensor.pyi"
USAGE = ROOT / "tests" / "typing" / "usage_example.py"

# A user's mistakes that the stub lets mypy catch: (line in BAD_SNIPPET, expected message).
BAD_SNIPPET = """\
import chainrule as cr

x = cr.randn(3, requires_grad=True)
n: int = x.tanh()
x.no_such_method()
x.unsqueeze("0")
"""
BAD_ERRORS = [
    (4, 'Incompatible types in assignment (expression has type "Tensor", variable has type'),
    (5, '"Tensor" has no attribute "no_such_method"'),
    (6, 'Argument 1 to "unsqueeze" of "Tensor" has incompatible type "str"'),
]


@functools.cache
def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_tensor_stub", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stub_is_current():
    """The checked-in stub is exactly what the generator writes for today's Tensor."""
    expected = _load_generator().generate()
    assert STUB.read_text() == expected, (
        "src/chainrule/autograd/tensor.pyi is out of date with the Tensor class (a method "
        "was added, removed or changed); run `python tools/gen_tensor_stub.py` and commit it"
    )


def test_stub_declares_bound_members():
    """Every member of the final class (body and ``_bind()``) appears in the stub."""
    text = STUB.read_text()
    declared = set(re.findall(r"^    (?:def )?(\w+)[(:]", text, flags=re.M))
    skip = {"__module__", "__doc__", "__slots__", "__weakref__", "__dict__"}
    missing = sorted(set(vars(Tensor)) - declared - skip)
    assert not missing, f"members of Tensor missing from the stub: {missing}"
    for name in ("tanh", "sum", "backward", "__add__", "__matmul__", "add_", "T", "grad"):
        assert name in declared


def test_stub_is_valid_python():
    """The stub parses even where mypy is not installed."""
    ast.parse(STUB.read_text(), filename=str(STUB))


def test_annotation_rendering():
    """Annotations the stub can express are kept; anything it cannot import becomes Any."""
    gen = _load_generator()
    r = gen._Renderer({"int", "float", "bool"})
    ns = {"np": np, "Device": Device, "Tensor": Tensor}
    assert r.render("int | None", ns) == "builtins.int | None"  # Tensor.int hides int
    assert (
        r.render("Iterator['Tensor']", {"Iterator": gen.collections.abc.Iterator})
        == "Iterator[Tensor]"
    )
    assert (
        r.render("Literal['mean', 'sum']", {"Literal": gen.typing.Literal})
        == "Literal['mean', 'sum']"
    )
    assert r.render("np.ndarray", ns) == "np.ndarray"
    assert r.render("Device", ns) == "Device" and "Device" in r.imports
    assert r.render("_NotImportable | None", ns) == "Any"
    assert r.render("np.no_such_thing", ns) == "Any"
    assert r.render("list[", ns) == "Any"
    assert r.render(gen.inspect.Parameter.empty, ns) == "Any"


class _Sample:
    """Every kind of member the generator meets, to check the text it writes for each."""

    limit = 3

    def plain(self, a: int, /, b: float = 1.0, *rest: int, flag: bool = False, **kw: str):
        return a

    @property
    def size(self) -> int:
        return 1

    @size.setter
    def size(self, value: int) -> None:
        pass

    @staticmethod
    def make(n: int) -> _Sample:
        return _Sample()

    @classmethod
    def build(cls, n: int) -> int:
        return n

    bound = lambda self, other: other  # noqa: E731  (as _bind() attaches lambdas)


def test_member_kinds():
    """Signatures keep their parameter kinds; the receiver becomes self (cls for classmethods);
    defaults become ``...``; unknown annotations and missing ones become Any."""
    gen = _load_generator()
    r = gen._Renderer({"int", "float", "bool"})
    lines = [line for block in gen._class_members(_Sample, r) for line in block]
    text = "\n".join(lines)
    assert (
        "def plain(\n    self,\n    a: builtins.int,\n    /,\n    b: builtins.float = ...,\n"
        "    *rest: builtins.int,\n    flag: builtins.bool = ...,\n    **kw: str,\n"
        ") -> Any: ..."
    ) in text  # over 100 characters: one parameter a line
    assert "@property\ndef size(self) -> builtins.int: ..." in text
    assert "@size.setter\ndef size(self, value: builtins.int) -> None: ..." in text
    assert "@staticmethod\ndef make(n: builtins.int) -> Any: ..." in text  # _Sample unknown
    assert "@classmethod\ndef build(cls, n: builtins.int) -> builtins.int: ..." in text
    assert "def bound(self, other: Any) -> Any: ..." in text
    assert "limit: builtins.int" in text
    ast.parse("class C:\n" + "\n".join("    " + line for line in lines))


def test_usage_example_runs():
    """The example mypy checks is also real, working code."""
    spec = importlib.util.spec_from_file_location("usage_example", USAGE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory) -> str:
    """One mypy run over the stub, the usage example and a snippet with deliberate errors."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip(
            "mypy is not installed (it is pinned in the `dev` extra: pip install -e .[dev])"
        )
    tmp = tmp_path_factory.mktemp("mypy")
    bad = tmp / "bad_usage.py"
    bad.write_text(BAD_SNIPPET)
    config = tmp / "mypy.ini"
    config.write_text("[mypy]\nfollow_imports = silent\n")
    env = dict(os.environ, MYPYPATH=str(ROOT / "src"))
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(config),
        "--cache-dir",
        str(tmp / "cache"),
        "--follow-imports=silent",
        "--no-error-summary",
        "--show-error-codes",
        "--hide-error-context",
        str(STUB),
        str(USAGE),
        str(bad),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=600)
    if proc.returncode not in (0, 1):  # 2: mypy itself failed (bad flags, crash)
        pytest.fail(f"mypy did not run: {proc.stdout}{proc.stderr}")
    return proc.stdout


def _errors_in(output: str, path: Path) -> list[str]:
    return [
        line for line in output.splitlines() if line.startswith(str(path)) and ": error:" in line
    ]


def test_mypy_accepts_stub_and_usage(mypy_output):
    """mypy finds nothing wrong in the stub or in typical user code using it."""
    errors = _errors_in(mypy_output, STUB) + _errors_in(mypy_output, USAGE)
    assert not errors, "mypy errors:\n" + "\n".join(errors)


def test_mypy_reports_type_errors(mypy_output):
    """The check can fail: mypy, through the stub, reports each deliberate mistake."""
    lines = [line for line in mypy_output.splitlines() if "bad_usage.py:" in line]
    for lineno, message in BAD_ERRORS:
        assert any(f"bad_usage.py:{lineno}: error: {message}" in line for line in lines), (
            f"mypy did not report line {lineno} ({message!r}); it said:\n" + mypy_output
        )
