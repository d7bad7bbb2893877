"""PyTorch code that passes arguments by keyword must run unchanged on chainrule.

``F.softmax(input=x, dim=1)``, ``torch.where(condition=c, input=a, other=b)`` and
``x.index_select(dim=0, index=i)`` are common in real code. For every public callable that
exists both in a torch namespace (``torch``, ``nn.functional``, ``linalg``, ``special``,
``fft``, ``Tensor`` methods) and in its chainrule counterpart, every parameter that a PyTorch
user can pass *by keyword* (any overload; positional-only parameters, ``*args`` and private
``_names`` excluded) must be accepted by chainrule under that keyword. How both sides are
read: ``signatures.py``.

What chainrule does not accept yet is listed in :data:`_NOT_YET`, each with its reason; an
entry that starts to be accepted fails :func:`test_the_exception_list_is_current`, so that the
list only shrinks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

from .signatures import NAMESPACES, audit, torch_keyword_names

# (namespace, name) -> {torch parameter: why chainrule does not take it (a TypeError today)};
# empty now that every torch keyword is accepted: a new gap is listed here with its reason.
_NOT_YET: dict[tuple[str, str], dict[str, str]] = {}

_ROWS = audit()


def test_the_audit_compares_enough() -> None:
    # a reader that silently stopped finding signatures would make the parity test vacuous
    per_ns = {ns: sum(1 for r in _ROWS if r[0] == ns) for ns in NAMESPACES}
    assert per_ns["torch"] > 350 and per_ns["torch.Tensor"] > 450, per_ns
    assert min(per_ns.values()) > 15, per_ns


def test_torch_names_are_read_from_docstrings_and_checked_by_torch() -> None:
    assert torch_keyword_names(torch.add, "add", False) == {"input", "other", "alpha", "out"}
    assert {"dim", "keepdim", "other", "out"} <= torch_keyword_names(torch.max, "max", False)
    index_select = torch_keyword_names(torch.Tensor.index_select, "index_select", True)
    assert index_select == {"dim", "index"}
    # the docstring says mul(value); torch's parser takes only ``other``
    assert torch_keyword_names(torch.Tensor.mul, "mul", True) == set()
    # a C function without keywords: everything positional-only
    assert torch_keyword_names(torch.set_num_threads, "set_num_threads", False) == set()
    # Python functions: their signature
    assert torch_keyword_names(torch.nn.functional.softmax, "softmax", False) == {
        "input",
        "dim",
        "dtype",
    }


@pytest.mark.parametrize("ns", list(NAMESPACES))
def test_torch_keywords_are_accepted(ns: str) -> None:
    problems = []
    for row_ns, name, _torch_names, _cr_names, missing in _ROWS:
        if row_ns == ns and missing - set(_NOT_YET.get((ns, name), {})):
            problems.append(f"{ns}.{name}: {sorted(missing - set(_NOT_YET.get((ns, name), {})))}")
    assert not problems, "chainrule does not accept these torch keywords:\n" + "\n".join(problems)


def test_the_exception_list_is_current() -> None:
    # a parameter chainrule now accepts must leave the list
    missing = {(r[0], r[1]): r[4] for r in _ROWS}
    stale = {
        key: sorted(set(params) - missing.get(key, set()))
        for key, params in _NOT_YET.items()
        if set(params) - missing.get(key, set())
    }
    assert not stale, f"accepted now, remove from _NOT_YET: {stale}"


# ---------------------------------------------- the keywords work, with torch's results
_X = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -2.0]])


def _t(lib: object, a: np.ndarray = _X) -> object:
    return lib.tensor(a, dtype=lib.float64)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.softmax(input=_t(lib), dim=1),
        lambda lib: lib.where(condition=_t(lib) > 0, input=_t(lib), other=-_t(lib)),
        lambda lib: _t(lib).index_select(dim=1, index=lib.tensor([2, 0])),
        lambda lib: lib.cat(tensors=[_t(lib), _t(lib)], dim=0),
        lambda lib: lib.sum(input=_t(lib), dim=1, keepdim=True),
        lambda lib: lib.clamp(input=_t(lib), min=-1.0, max=1.0),
        lambda lib: lib.logical_and(input=_t(lib) > 0, other=_t(lib) < 2),
        lambda lib: lib.isclose(input=_t(lib), other=_t(lib) + 1e-9),
        lambda lib: lib.gather(input=_t(lib), dim=1, index=lib.tensor([[1], [0]])),
        lambda lib: lib.permute(_t(lib), dims=(1, 0)),
        lambda lib: _t(lib).reshape(shape=(3, 2)),
        lambda lib: lib.swapaxes(_t(lib), axis0=0, axis1=1),
        lambda lib: _t(lib).swapaxes(axis0=1, axis1=0),
        lambda lib: lib.tensor_split(_t(lib), sections=3, dim=1)[1],
        lambda lib: lib.tensor_split(_t(lib), indices=[1], dim=1)[1],
        lambda lib: _t(lib).split(split_size=2, dim=1)[1],
        lambda lib: lib.cumsum(lib.tensor([1, 2, 3], dtype=lib.int8), 0, dtype=lib.float32),
        lambda lib: lib.prod(_t(lib), 1, dtype=lib.float32),
        lambda lib: lib.norm(_t(lib).float(), p=1, dim=0, dtype=lib.float64),
        lambda lib: lib.sort(lib.tensor([2, 1, 2, 1]), stable=True).indices,
        lambda lib: lib.argsort(lib.tensor([2, 1, 2, 1]), descending=True, stable=True),
        lambda lib: _t(lib).view(dtype=lib.int64),
        lambda lib: _t(lib).new_zeros((2,), device="cpu"),
        lambda lib: lib.nn.functional.normalize(_t(lib), out=lib.empty(2, 3, dtype=lib.float64)),
        lambda lib: lib.floor(_t(lib), out=lib.empty(2, 3, dtype=lib.float64)),
        lambda lib: lib.eq(_t(lib), 0.5, out=lib.empty(2, 3, dtype=lib.bool)),
        lambda lib: lib.hstack([_t(lib), _t(lib)], out=lib.empty(2, 6, dtype=lib.float64)),
        lambda lib: lib.sort(_t(lib), out=(lib.empty(0, dtype=lib.float64), lib.empty(0).long()))[
            0
        ],
    ],
)
def test_keyword_calls_give_torchs_results(call: Callable[[Any], Any]) -> None:
    want, got = np.asarray(call(torch)), np.asarray(call(cr))
    assert want.dtype == got.dtype
    np.testing.assert_allclose(got, want)


def test_new_keywords_check_their_arguments() -> None:
    x = cr.tensor(_X)
    with pytest.raises(NotImplementedError, match="sparse_grad"):  # only on a 0-d input
        cr.gather(cr.tensor(2.0), 0, cr.tensor([0]), sparse_grad=True)
    with pytest.raises(TypeError, match="split_size"):
        x.split(2, split_size=2)
    with pytest.raises(TypeError, match="invalid combination"):  # PyTorch's overloads' text
        cr.tensor_split(x, 2, sections=2)
    with pytest.raises(TypeError, match="dims"):
        cr.permute(x, 1, 0, dims=(1, 0))
    with pytest.raises(NotImplementedError, match="device"):
        cr.from_dlpack(np.arange(3.0), device="cpu")
    a = np.arange(3.0)
    copied = cr.from_dlpack(a, copy=True)
    a[0] = 7.0
    assert copied[0].item() == 0.0


def test_uniform_takes_torchs_from_and_to() -> None:
    x = cr.empty(200, dtype=cr.float64).uniform_(**{"from": 5.0, "to": 6.0})
    assert 5.0 <= x.min().item() and x.max().item() < 6.0
    with pytest.raises(TypeError, match="bogus"):
        cr.empty(2).uniform_(bogus=1.0)


def test_numpy_force_and_cast_memory_format() -> None:
    w = cr.ones(2, requires_grad=True)
    np.testing.assert_array_equal(w.numpy(force=True), np.ones(2, np.float32))
    x = cr.ones(2, 3, 4, 5)
    y = x.double(memory_format=cr.channels_last)
    assert y.dtype == cr.float64 and y.is_contiguous(memory_format=cr.channels_last)
    assert x.float(memory_format=cr.preserve_format).dtype == cr.float32
