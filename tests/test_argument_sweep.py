"""A small slice of ``tools/argument_sweep.py`` (wrong argument types in common ops) run
against torch: nothing torch refuses is accepted silently, and every refusal raises an
exception of torch's type (chainrule's own subclasses count: a ``ShapeError`` is a
``RuntimeError``). The full sweep (1416 calls) is the tool's command line."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "argument_sweep.py"


def _tool():
    name = "argument_sweep_tool"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOL)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _slice() -> list[str]:
    return _tool().all_calls()[::47]  # 31 calls spread over every family


def test_slice_covers_the_families() -> None:
    calls = _slice()
    assert 25 <= len(calls) <= 40
    for family in ("x.", "L.", "F."):
        assert any(c.startswith(family) for c in calls)


@pytest.mark.parametrize("index", range(31))
def test_slice_same_exception_types_as_torch(index: int) -> None:
    tool = _tool()
    src = _slice()[index]
    d = tool.compare(src)
    assert d.kind not in ("silent", "type", "cr_err"), (src, d.torch, d.chainrule)


def test_classify_kinds() -> None:
    """The sweep's own rules, on made-up outcomes."""
    tool = _tool()
    ok = tool.Outcome("ok", (), "")
    run = tool.Outcome("RuntimeError", ("RuntimeError", "Exception"), "bad")
    shape = tool.Outcome("ShapeError", ("ShapeError", "ValueError", "RuntimeError"), "bad")
    typ = tool.Outcome("TypeError", ("TypeError", "Exception"), "bad")
    assert tool.classify(run, ok) == "silent"
    assert tool.classify(ok, run) == "cr_err"
    assert tool.classify(run, shape) == "same"
    assert tool.classify(run, shape, exact_types=True) == "type"
    assert tool.classify(run, typ) == "type"
    assert tool.classify(typ, typ._replace(text="other")) == "msg"
