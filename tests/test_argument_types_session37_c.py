"""PyTorch's argument parser on ``movedim``, ``split``, ``var`` and ``std`` (session 37,
part 3): a bool or float dim / split size fits none of their overloads (``x.movedim(True,
0)``, ``x.split(True)``, ``x.split(1, True)``), ``var``/``std``'s ``unbiased`` and
``keepdim`` must be Python bools (``x.var(0, 1)``, ``x.std(0, keepdim=1)``), a float split
size is ``split_with_sizes``' error. Each case runs the same expression on torch and
chainrule and compares the outcome (values, or error type and full message). The four
cases left as strict xfails in tests/test_argument_types_session37_b.py are the first four
here; the four var/std cases with PyTorch's "didn't match" lines were xfails here until
session 38."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

CASES = [
    "x.movedim(True, 0)",
    "x.split(True)",
    "x.var(0, 1)",
    "x.std(0, keepdim=1)",
    # movedim: either overload, the mismatched arguments marked
    "x.movedim(0, True)",
    "x.movedim(1.0, 0)",
    "x.movedim(0, 1.0)",
    "x.movedim(source=True, destination=0)",
    "x.movedim((True,), (0,))",
    "x.movedim((0, 1), (True, 0))",
    "x.movedim((0,), 1)",
    "x.movedim(0, (1,))",
    "x.movedim(source=(0,), destination=1)",
    "L.movedim(x, True, 0)",
    "L.movedim(x, (0,), 1)",
    "x.moveaxis(True, 0)",
    "x.movedim(np.int64(0), 1)",
    "x.movedim(L.tensor(0), 1)",
    "x.movedim([0, 1], [1, 0])",
    "x.movedim((0, True), (1, 0))",
    "x.movedim(0, 1)",
    "x.movedim(-1, 0)",
    # split: the int overloads (a bool is an int to Tensor.split), else split_with_sizes
    "x.split(True, 1)",
    "x.split(1, True)",
    "x.split(1, 1.0)",
    "x.split(True, True)",
    "x.split(2, dim=True)",
    "x.split(split_size=True)",
    "L.split(x, True)",
    "L.split(x, 1, True)",
    "x.split(1.0)",
    "x.split([True, 2])",
    "x.split([1, 2], True)",
    "x.split([1, 2], 1.0)",
    "x.split(L.tensor(2))",
    "x.split(2, np.int64(1))",
    "x.split(np.int64(2))",
    "x.split(2, -1)",
    "x.split([1, 2])",
    # var / std: unbiased and keepdim Python bools only
    "x.var(0, np.bool_(True))",
    "x.var(0, keepdim=np.bool_(True))",
    "x.var(0, L.tensor(True))",
    "x.std(0, unbiased=1)",
    "x.std(0, 1)",
    "x.var(0, unbiased=1)",
    "x.var(0, keepdim=1.0)",
    "L.var(x, 0, 1)",
    "L.std(x, 0, keepdim=1)",
    "L.var(x, 0, unbiased=0)",
    "x.var(0, True)",
    "x.var(True)",
    "x.std(0, keepdim=True)",
    "x.var(1, False, True)",
    "x.std(dim=0, correction=0, keepdim=True)",
]

# PyTorch's "didn't match" line where the argument count fits an overload (session 38)
CASES += [
    "x.var(keepdim=1)",
    "x.var(0, 1, True)",
    "x.var(0, correction=1, keepdim=1)",
    "x.var(0, keepdim=1, unbiased=True)",
]


def _outcome(lib, src: str):
    L = lib  # noqa: N806 - the expressions' name
    x = lib.arange(12.0).reshape(3, 4)
    try:
        r = eval(src, {"L": L, "x": x, "np": np})  # noqa: S307 - fixed test strings
    except Exception as e:  # noqa: BLE001 - the error is the outcome
        return type(e).__name__, str(e).rstrip("\n")
    if isinstance(r, tuple):  # split's pieces
        return "ok", [t.tolist() for t in r]
    return "ok", r.tolist()


def _compare(src: str) -> None:
    expected = _outcome(torch, src)
    got = _outcome(cr, src)
    if expected[0] == "ok" and got[0] == "ok":
        if src.startswith(("x.split", "L.split")):  # the pieces, each compared
            for g, e in zip(got[1], expected[1], strict=True):
                np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6)
        else:
            np.testing.assert_allclose(np.asarray(got[1]), np.asarray(expected[1]), rtol=1e-6)
    else:
        assert got == expected


@pytest.mark.parametrize("src", CASES)
def test_as_torch(src: str) -> None:
    _compare(src)


def test_gradients_unchanged() -> None:
    """The ops' results and gradients where the arguments fit: as PyTorch's."""
    data = np.arange(12.0).reshape(3, 4) / 7
    outs = []
    for lib in (torch, cr):
        x = lib.tensor(data, requires_grad=True)
        y = x.movedim(0, 1).split(2)[0].sum() + x.var(0, True).sum() + x.std(1, keepdim=True).sum()
        y.backward()
        outs.append((float(y.item()), np.asarray(x.grad.tolist())))
    assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-6)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-6)
