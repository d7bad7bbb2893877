"""Gaps found by the session-41 drop-in programs (helper b: time series, recommenders, audio,
point clouds and uncertainty in plain PyTorch), each pinned against the installed PyTorch:

- ``torch.Size`` on the right of ``+``/``+=`` with a non-tuple on the left: SWAG's
  ``values += model.weight.shape`` extends a list (``torch.Size`` is a C type without a
  number-protocol ``+``, so Python falls back to the list's own ``+=``), while ``[1] + size``,
  ``"a" + size`` and ``1 + size`` raise Python's errors naming ``torch.Size``.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 (the error type and text are what is compared)
        return (type(exc).__name__, str(exc))


def _list_iadd(lib: Any) -> Any:
    values: list[Any] = [0.5]
    values += lib.Size([3, 4])
    return values


def _deque_iadd(lib: Any) -> Any:
    values = collections.deque([1])
    values += lib.zeros(2, 5).shape
    return list(values)


def _str_iadd(lib: Any) -> Any:
    text = "a"
    text += lib.Size([1])
    return text


def _int_iadd(lib: Any) -> Any:
    n = 1
    n += lib.Size([1])
    return n


def _none_iadd(lib: Any) -> Any:
    n = None
    n += lib.Size([1])
    return n


@pytest.mark.parametrize(
    "case",
    [
        _list_iadd,
        _deque_iadd,
        _str_iadd,
        _int_iadd,
        _none_iadd,
        lambda lib: [1] + lib.Size([2]),
        lambda lib: "a" + lib.Size([2]),
        lambda lib: 1 + lib.Size([2]),
        lambda lib: None + lib.Size([2]),
        lambda lib: lib.Size([2]) + [1],
        lambda lib: tuple((1,) + lib.Size([2])),
        lambda lib: type((1,) + lib.Size([2])).__name__,
    ],
)
def test_size_as_right_operand_of_add_matches_torch(case: Any) -> None:
    assert _outcome(lambda: case(cr)) == _outcome(lambda: case(torch))


def test_list_extend_by_size_keeps_python_ints() -> None:
    values: list[Any] = []
    values += cr.zeros(3, 16).shape
    assert values == [3, 16]
    assert all(type(v) is int for v in values)
