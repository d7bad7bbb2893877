"""Printing differences the fuzzer found (``python -m tests.fuzz_repr.hunt``), minimised,
each compared with torch 2.13 live by :func:`tests.fuzz_repr.compare.check` (every
rendering: ``repr``, ``str``, ``format``, f-strings, containers, ``tolist``, 0-d specs).

- ``edgeitems=0``: torch shows ``size=(...)`` after every non-empty tensor (0-d included),
  as its values may all be elided; chainrule showed it only for empty ones.
- ``edgeitems=0`` on a summarised 1-d tensor: ``[...]``, as for n-d ones; chainrule kept the
  summary's leading space (``[ ...]``).
- ``format(p, '')`` / ``f"{p}"`` of a 0-d ``nn.Parameter`` (or user subclass) is its
  ``str`` (``Parameter containing: ...``) and a spec raises TypeError: torch formats only a
  plain tensor's value; chainrule formatted every 0-d tensor's value.
- ``format(b, '.3f')`` of an ``nn.Buffer`` (a plain tensor in torch, a subclass here): the
  TypeError names ``Tensor.__format__``, not ``Buffer.__format__``.
- sparse COO/CSR reprs laid their indices and values out with NumPy (a summary's gap one
  space short, other line breaks) and showed ``dtype=torch.complex64``, the default complex
  dtype, which torch leaves out as for dense tensors.
- a 0-d dual tensor's (forward AD) tangent prints as ``f"{tangent}"``, its Python number
  (``tangent=0.3333333432674408``), not as a tensor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .cases import Case
from .compare import check

CASES = [
    Case("int64", np.array([[0, 0], [0, 0]], "int64"), {"edgeitems": 0}),
    Case("int64", np.array(-7299626405093486179, "int64"), {"edgeitems": 0}),
    Case("float32", np.array([0.0]), {"edgeitems": 0}, view=("select", 0)),
    Case("complex64", np.array([0j]), {"edgeitems": 0, "linewidth": 10}),
    Case("float32", np.array([0.0]), {"edgeitems": 0}, suffix="grad_view"),
    Case("float64", np.array([[0.0, 4.75e-06]]), {"threshold": 1, "edgeitems": 0}, "float64"),
    Case("bool", np.array([True] * 5), {"threshold": 4, "edgeitems": 0}),
    Case("float32", np.arange(7.0), {"threshold": 0, "edgeitems": 0}, suffix="requires_grad"),
    Case("bool", np.array(True), suffix="parameter_nograd"),
    Case("float32", np.array(1.5), suffix="parameter"),
    Case("float64", np.array(-2.25), suffix="subclass"),
    Case("float32", np.ones((2, 3)), suffix="buffer"),
    Case("int64", np.array(3), suffix="buffer"),
    Case("bfloat16", np.array(-549755813888000.0), {"threshold": 10}, suffix="dual"),
    Case("float32", np.array(1 / 3), suffix="dual"),
    Case("complex64", np.array(1 + 2j), suffix="dual"),
    Case("float64", np.arange(4.0) / 3, {"linewidth": 30}, "float64", suffix="dual"),
    Case(
        "float64",
        np.arange(1.0, 13.0).reshape(3, 4) * 123.4567,
        {"threshold": 5},
        suffix="sparse_coo",
    ),
    Case("float32", np.arange(1.0, 13.0).reshape(3, 4) / 7, {"linewidth": 40}, suffix="sparse_csr"),
    Case("complex64", np.array([[1 + 0j, 0], [0, 2j]]), suffix="sparse_coo"),
    Case("complex64", np.array([[1 + 0j, 0], [0, 2j]]), suffix="sparse_csr"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dtype}-{c.data.shape}-{c.suffix}")
def test_found_case_prints_as_torch(case: Case) -> None:
    diffs = check(case)
    assert not diffs, diffs[0]


@pytest.mark.parametrize("shape", [(), (2,), (0, 3)])
def test_repr_tensor_contents_as_torch(shape) -> None:
    """``Tensor.__repr__(tensor_contents=...)``, which a subclass's ``__repr__`` passes: the
    text in place of the values, the suffixes kept (chainrule's took no argument)."""
    t = (torch.ones(shape, requires_grad=True) * 2).__repr__(tensor_contents="[...]")
    c = (cr.ones(shape, requires_grad=True) * 2).__repr__(tensor_contents="[...]")
    assert c == t
