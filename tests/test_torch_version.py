"""``cr.__version__`` compares as a version, as ``torch.__version__`` (a ``TorchVersion``):
programs branch on it (``padding = 1 if torch.__version__ >= '1.5.0' else 2``), and with a
plain "0.1.0" they took the paths written for PyTorch 0.x. The comparisons are checked
against PyTorch's own ``TorchVersion`` on a table of versions."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import torch
from torch.torch_version import TorchVersion as TorchTorchVersion

import chainrule as cr
from chainrule.torch_version import TorchVersion, Version

VERSIONS = [
    "0.4.1",
    "1.5.0",
    "1.5",
    "1.10.0",
    "1.10.0+cu113",
    "2.0",
    "2.0.0a0",
    "2.0.0b1",
    "2.0.0rc2",
    "2.0.0.dev20230101",
    "2.0.0.post1",
    "2.13.0",
    "2.13.0+cpu",
    "2.13.0+chainrule.0.1.0",
    "2.13.1",
    "10.0",
]
OPS = ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]


@pytest.mark.parametrize("a, b", list(itertools.product(VERSIONS, VERSIONS)))
def test_string_comparisons_match_torch(a, b):
    for op in OPS:
        want = getattr(TorchTorchVersion(a), op)(b)
        assert getattr(TorchVersion(a), op)(b) == want, (a, op, b)


@pytest.mark.parametrize("other", [(1, 5), (2, 0), (2, 13), (2, 13, 0), (2, 14), [1, 10]])
def test_tuple_comparisons_match_torch(other):
    for op in OPS[:4]:
        for v in ("2.13.0+cpu", "1.9.1"):
            assert getattr(TorchVersion(v), op)(other) == getattr(TorchTorchVersion(v), op)(other)


def test_version_is_the_mirrored_torch_api_with_chainrule_as_local_label():
    v = cr.__version__
    assert isinstance(v, str) and isinstance(v, TorchVersion)
    assert v == cr.version.__version__
    assert v.split("+")[0] == cr.version.torch_api_version
    assert v.split("+")[0] == torch.__version__.split("+")[0]  # the torch the tests pin
    assert v.endswith(f"+chainrule.{cr.version.chainrule_version}")
    # the idioms of real programs
    assert v >= "1.5.0" and v > (2, 0) and v < "3" and tuple(map(int, v.split(".")[:2])) >= (2, 0)
    assert v != "2.13.0"  # a local label differs, as torch's '2.13.0+cpu'


def test_packaging_reads_it_as_a_version():
    packaging_version = pytest.importorskip("packaging.version")
    assert packaging_version.parse(cr.__version__) >= packaging_version.parse("1.10")


def test_version_object_and_errors():
    assert Version("1.10").release == (1, 10) and Version("2.13.0+cpu").local == "cpu"
    assert Version("1.10") > Version("1.9") and Version("1.10.0") == Version("1.10")
    with pytest.raises(ValueError, match="Invalid version"):
        Version("not a version")
    with pytest.raises(TypeError, match="cannot be compared"):
        _ = cr.__version__ < 2
    assert (cr.__version__ == 2) is False


def test_cli_version_names_both():
    out = subprocess.run(
        [sys.executable, "-m", "chainrule", "--version"], capture_output=True, text=True
    ).stdout
    assert cr.version.chainrule_version in out and cr.version.torch_api_version in out
