"""PyTorch's argument parser, second pass of session 38: nothing accepted silently, no raw
NumPy error. Checked against torch live: each case runs the same expression in both
libraries and compares the outcome (the values, or the error's type and full message).

- a ``dtype=`` that is no dtype (``True``, ``np.int64(1)``, a tensor) in reductions, scans,
  softmax and factories (``number_arguments.refuse_dtype``, ``dtypes.as_dtype``);
- ``alpha=None`` in ``add``/``sub``, ``round(decimals=None)``, ``squeeze(None)``,
  ``eye(2, None)``, ``arange(0, None)``, ``repeat_interleave(None)``: defaults that are
  sentinels, so an explicit None is told from no argument;
- ``fill_``/``masked_fill``/``pow``/``clamp`` with a value that is neither a Tensor nor a
  Number: their overloads listed (``overload_errors.number_or_tensor_error``);
- ``full(np.int64(1), ...)``, ``F.embedding(np.int64(1), w)``, ``F.pad(value=(1.0, 2.0))``,
  ``cdist(p='a')``, ``tensordot``'s dims, ``randint``'s fourth positional argument and
  non-tuple size;
- convolutions: argument types before lengths, torch's "Calculated padded input size" text.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPE_CASES = [
    f"{op.format(v)}"
    for op in (
        "x.sum(dtype={})",
        "L.sum(x, dtype={})",
        "x.sum(0, dtype={})",
        "x.mean(dtype={})",
        "x.mean(0, dtype={})",
        "x.prod(dtype={})",
        "L.prod(x, dtype={})",
        "x.prod(0, dtype={})",
        "x.cumsum(0, dtype={})",
        "x.softmax(0, dtype={})",
        "F.log_softmax(x, 0, dtype={})",
        "L.zeros(2, dtype={})",
        "L.ones(2, dtype={})",
        "L.full((2,), 1.0, dtype={})",
        "L.tensor([1, 2], dtype={})",
        "L.zeros_like(x, dtype={})",
        "x.new_zeros(2, dtype={})",
    )
    for v in ("True", "np.int64(1)", "L.tensor(1)", "1.5", "(1.0, 2.0)")
]

DTYPE_FINE = [
    "x.sum(dtype=L.float64)",
    "x.sum(0, dtype=L.int64)",
    "x.cumsum(0, dtype=L.float64)",
    "L.zeros(2, dtype=L.int32)",
    "L.zeros(2, dtype=float)",
    "L.zeros(2, dtype=bool)",
    "L.tensor([1, 2], dtype=L.float16)",
    "x.softmax(0, dtype=L.float64)",
]

CASES = [
    # alpha: None is no Number; a string no raw NumPy error
    "x.add(x, alpha=None)",
    "L.add(x, x, alpha=None)",
    "x.add(x, alpha='a')",
    "x.add(1, alpha='a')",
    "x.sub(x, alpha=None)",
    "x.sub(x, alpha='a')",
    "x.add(x, alpha=2)",
    "x.add(x, alpha=0.5)",
    "x.add(x, alpha=np.float64(2))",
    "x.sub(x, alpha=2)",
    "L.subtract(x, x)",
    "L.subtract(x, x, alpha=3)",
    "x.clone().add_(x, alpha=3)",
    # fill_ / masked_fill / pow / clamp: neither a Tensor nor a Number
    "x.clone().fill_(None)",
    "x.clone().fill_('a')",
    "x.clone().fill_((1.0, 2.0))",
    "L.fill_(x.clone(), None)",
    "x.clone().fill_(2)",
    "x.clone().fill_(np.float32(2))",
    "x.clone().fill_(L.tensor(3.0))",
    "x.masked_fill(x > 1, (1.0, 2.0))",
    "x.masked_fill(x > 1, None)",
    "x.masked_fill(x > 1, 'a')",
    "L.masked_fill(x, x > 1, (1.0, 2.0))",
    "x.masked_fill(x > 1, 5)",
    "x.pow((1.0, 2.0))",
    "x.pow(None)",
    "x.pow('a')",
    "L.pow(x, (1.0, 2.0))",
    "x.pow(2)",
    "x.pow(np.float64(0.5))",
    "x.clamp('a')",
    "x.clamp((1.0, 2.0))",
    "L.clamp(x, 'a')",
    "L.clamp(x, min='a')",
    "x.clamp(0, 'a')",
    "x.clamp(min=(1.0, 2.0))",
    "L.clamp(x, (1.0, 2.0), 3)",
    "x.clamp(0.5, 1)",
    "x.clamp(max=L.tensor(1.0))",
    # round(decimals=None), squeeze(None)
    "x.round(decimals=None)",
    "L.round(x, decimals=None)",
    "x.round(decimals=1)",
    "L.round(x, decimals=1.5)",
    "x.clone().round_(decimals=None)",
    "x.round()",
    "x.squeeze(None)",
    "L.squeeze(x, None)",
    "x.squeeze(dim=None)",
    "x[None].squeeze()",
    "L.squeeze_copy(x[None])",
    "x[None].clone().squeeze_()",
    # factories
    "L.full(np.int64(1), 1.0)",
    "L.full(2, 1.0)",
    "L.full(L.tensor(2), 1.0)",
    "L.full([2, np.int64(1)], 1.0)",
    "L.eye(1.5)",
    "L.eye(None)",
    "L.eye(True)",
    "L.eye(2, None)",
    "L.eye(2, 1.5)",
    "L.eye(np.int64(2))",
    "L.eye(2, 3)",
    "L.eye(2, m=3)",
    "L.arange(0, None)",
    "L.arange(None)",
    "L.arange('a')",
    "L.arange(0, 'a')",
    "L.arange(0, 5, None)",
    "L.arange(3)",
    "L.arange(1, 4)",
    "L.arange(0, 5, 2)",
    "L.arange(end=3)",
    "L.randint(0, 5, (2,), None)",
    "L.randint(0, 5, (2,), L.Generator())",
    "L.randint(0, 5, np.int64(1))",
    "L.randint(0, 5, 3)",
    "L.randint(0, 5, (2,)).shape",
    "L.randint(5, (2,)).shape",
    "L.randint(0, 5, [2]).shape",
    # repeat_interleave
    "x.repeat_interleave(1.5)",
    "L.repeat_interleave(x, 1.5)",
    "x.repeat_interleave(None)",
    "L.repeat_interleave(x, None)",
    "x.repeat_interleave(repeats=None)",
    "x.repeat_interleave(True)",
    "x.repeat_interleave([1, 2, 1])",
    "x.repeat_interleave(2, 1.5)",
    "x.repeat_interleave(2)",
    "x.repeat_interleave(2, dim=None)",
    "x.repeat_interleave(np.int64(2), 0)",
    "L.repeat_interleave(L.tensor([1, 2]))",
    # cdist, tensordot
    "L.cdist(x, x, p='a')",
    "L.cdist(x, x, p=None)",
    "L.cdist(x, x, p=(1.0, 2.0))",
    "L.cdist(x, x, p=True)",
    "L.cdist(x, x, p=1)",
    "L.tensordot(x, x.t(), dims=1.5)",
    "L.tensordot(x, x.t(), dims='a')",
    "L.tensordot(x, x.t(), dims=None)",
    "L.tensordot(x, x.t(), dims=(1.0, 2.0))",
    "L.tensordot(x, x.t(), dims=(1, 0))",
    "L.tensordot(x, x.t(), dims=([1], 1.5))",
    "L.tensordot(x, x.t(), dims=([0], [1.5]))",
    "L.tensordot(x, x.t(), dims=([1, 1.5], [0, 0]))",
    "L.tensordot(x, x.t(), dims=([True], [0]))",
    "L.tensordot(x, x.t(), dims=([1], [0], [0]))",
    "L.tensordot(x, x.t(), dims=([1],))",
    "L.tensordot(x, x.t(), dims=[[1], [0]])",
    "L.tensordot(x, x.t(), dims=([1, 0], [0, 1]))",
    "L.tensordot(x, x.t(), dims=True)",
    "L.tensordot(x, x.t(), dims=1)",
    # nn.functional
    "F.pad(x, (1, 1), value=(1.0, 2.0))",
    "F.pad(x, (1, 1), value='a')",
    "F.pad(x, (1, 1), 'constant', (1.0, 2.0))",
    "F.pad(x, (1, 1), value=None)",
    "F.pad(x, (1, 1), value=True)",
    "F.pad(x, (1, 1), value=np.int64(1))",
    "F.pad(x, (1, 1), value=L.tensor(2.0))",
    "F.embedding(np.int64(1), x)",
    "F.embedding(1, x)",
    "F.embedding(None, x)",
    "F.embedding([1], x)",
    "F.embedding(L.tensor([1, 2]), x)",
    # convolutions: types before lengths; the too-small input in torch's words
    "F.conv2d(x[None, None], x[None, None, :2, :2], stride=(1, 1, 1), padding=1.0)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), stride=(1, 1, 1), groups=1.5)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), stride=0, padding=1.0)",
    "F.conv2d(x[None, None], L.ones(1, 1, 2, 2), padding=(1, 1, 1))",
    "F.conv2d(x[None, None], x[None, None], padding=0, stride=1, dilation=5)",
    "F.conv2d(x[None, None], L.ones(1, 1, 5, 5))",
    "F.conv2d(x[None], L.ones(1, 1, 5, 5))",
    "F.conv2d(x[None, None], L.ones(1, 1, 3, 3), padding=(1, 0), dilation=2)",
    "F.conv1d(x[None], L.ones(1, 3, 5))",
    "F.conv1d(x[None], L.ones(1, 3, 3), dilation=3)",
    "F.conv1d(x[None], L.ones(1, 3, 3), stride=(1, 1), padding=1.0)",
]


def _plain(value):
    if isinstance(value, tuple) and not isinstance(value, torch.Size | cr.Size):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return np.asarray(value.tolist())
    return value


def _outcome(lib, src: str):
    L = lib  # noqa: N806 - the expressions' name
    x = lib.arange(12.0).reshape(3, 4) / 7
    env = {"L": L, "x": x, "np": np, "F": lib.nn.functional}
    try:
        r = eval(src, env)  # noqa: S307 - fixed test strings
    except Exception as e:  # noqa: BLE001 - the error is the outcome
        name = type(e).__name__
        if isinstance(e, RuntimeError) and type(e).__module__.startswith("chainrule"):
            name = "RuntimeError"  # ShapeError: chainrule's RuntimeError (and ValueError)
        return name, str(e).rstrip("\n")
    if "randint" in src and not src.endswith(".shape"):
        return "ok", None  # random values: only that it ran
    return "ok", _plain(r)


def _compare(src: str) -> None:
    expected = _outcome(torch, src)
    got = _outcome(cr, src)
    if expected[0] == "ok" and got[0] == "ok":
        if expected[1] is None:
            assert got[1] is None
        else:
            np.testing.assert_allclose(
                np.asarray(got[1], dtype=float), np.asarray(expected[1], dtype=float), rtol=1e-6
            )
    else:
        assert got == expected


@pytest.mark.parametrize("src", DTYPE_CASES)
def test_dtype_not_a_dtype(src: str) -> None:
    """``dtype=`` given a bool, a number, a tensor, a tuple: torch's TypeError, word for word
    (the reductions without ``dim`` list their overloads)."""
    _compare(src)


@pytest.mark.parametrize("src", DTYPE_FINE)
def test_dtype_still_taken(src: str) -> None:
    _compare(src)
    got = eval(src, {"L": cr, "x": cr.arange(12.0).reshape(3, 4), "np": np})  # noqa: S307
    expected = eval(src, {"L": torch, "x": torch.arange(12.0).reshape(3, 4), "np": np})  # noqa: S307
    assert str(got.dtype) == str(expected.dtype)


@pytest.mark.parametrize("src", CASES)
def test_as_torch(src: str) -> None:
    _compare(src)


def test_sentinel_defaults_print_as_torch() -> None:
    """The sentinel defaults show PyTorch's defaults in signatures (``alpha=1``)."""
    assert str(inspect.signature(cr.add).parameters["alpha"]) == "alpha: 'Any' = 1"
    assert str(inspect.signature(cr.round).parameters["decimals"]) == "decimals: 'Any' = 0"


def test_out_forms_unchanged() -> None:
    """``eye``/``arange`` with ``out=`` re-call themselves without the sentinels."""
    for lib in (torch, cr):
        o = lib.empty(2, 3)
        lib.eye(2, 3, out=o)
        p = lib.empty(3)
        lib.arange(3, out=p)
        q = lib.empty(2, 2)
        lib.eye(2, out=q)
        if lib is torch:
            expected = (o.tolist(), p.tolist(), q.tolist())
    assert (o.tolist(), p.tolist(), q.tolist()) == expected
