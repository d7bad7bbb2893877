"""Run every docstring example (``>>>``) in ``src/chainrule`` as a test.

Why a test file instead of ``pytest --doctest-modules``: that option imports *every* module
under ``src/chainrule`` (CLI entry points, the MPI bindings of ``cr.distributed``, optional
image/TensorBoard back ends) just to look for examples, so one optional dependency missing
on a machine would fail collection of the whole suite. Here only modules whose source text
contains an example are imported, found by reading the files; each becomes one test
(``test_doctests[chainrule.train.metrics]``), so ``python -m pytest`` runs them with the rest
of the suite and CI fails when an example's output no longer matches the code.

A new example anywhere in the package is picked up with no registration. Examples that
need objects they cannot build in a line (a model, a data loader) are marked
``# doctest: +SKIP``, which keeps them visible as documentation.
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import chainrule

PACKAGE_ROOT = Path(chainrule.__file__).resolve().parent
PROMPT = re.compile(r"^\s*>>> ", re.MULTILINE)  # a line that starts an example


def _modules_with_examples() -> list[str]:
    """Dotted names of the package's modules with a line starting with a ``>>>`` prompt."""
    names = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        if not PROMPT.search(path.read_text(encoding="utf-8")):
            continue
        rel = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found() -> None:
    """Guards the discovery itself: an empty list would make every other test vacuous."""
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    examples = 0
    for test in finder.find(module, name):
        examples += len(test.examples)
        runner.run(test, out=report.append)
    assert examples > 0, f"{name}: '>>>' in the source but no docstring example was found"
    assert runner.failures == 0, "".join(report)
