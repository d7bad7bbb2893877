"""Derived dims in ``dynamic_shapes`` (``2 * dx``, ``dx + 1``, ``2 * dx - 1``) against
torch.export: the ``Dim`` arithmetic and its errors, range constraints, the checks of the
exported module (``Guard failed: y.size()[0] == 2 * x.size()[0]``), example sizes that
do not fit, the printed shapes, and the save/load round trip."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch

import chainrule as cr

from . import _models as M


def build(lib):
    class Pair(lib.nn.Module):
        def forward(self, x, y):
            return x.sum(0) + y.sum(0)

    return Pair()


def build_cat(lib):
    class Cat(lib.nn.Module):
        def forward(self, x, y):
            return lib.cat([x, x], 0) * y + 1

    return Cat()


def build_two(lib):
    class Two(lib.nn.Module):
        def forward(self, x, y):
            return x * 2, y + 1

    return Two()


CASES = {
    # name: (x rows, y rows, dynamic_shapes from (Dim), calls (x rows, y rows))
    "twice": (
        3,
        6,
        lambda D: _xy(D("dx", min=2, max=10), 1, 2, 0),
        [(4, 8), (4, 9), (11, 22), (1, 2)],
    ),
    "plus-one": (3, 4, lambda D: _xy(D("dx"), 1, 1, 1), [(3, 5), (4, 5)]),
    "root-unused": (
        3,
        4,
        lambda D: {"x": None, "y": {0: D("dx", min=2, max=10) + 1}},
        [(3, 8), (3, 1), (3, 12)],
    ),
    "minus-one": (3, 5, lambda D: _xy(D("dx", min=1), 1, 2, -1), [(3, 6), (4, 7)]),
    "root-second": (7, 3, lambda D: _yx(D("dx", min=1)), [(6, 3), (7, 3)]),
    "composed": (3, 9, lambda D: _composed(D("dx", min=2, max=10)), [(3, 9), (4, 11), (4, 10)]),
    "not-equal": (3, 7, lambda D: _xy(D("dx", min=2, max=10), 1, 2, 0), []),
    "not-integer": (7, 3, lambda D: {"x": {0: 2 * D("dx")}, "y": None}, []),
    "negative-min": (3, 5, lambda D: _xy(D("dx"), 1, 2, -1), []),
}


def _xy(dx, cx, cy, oy):
    return {"x": {0: dx * cx}, "y": {0: dx * cy + oy}}


def _yx(dx):
    return {"x": {0: 2 * dx + 1}, "y": {0: dx}}


def _composed(dx):
    return {"x": {0: dx}, "y": {0: (dx + 1) * 2 + 1}}


def _run(lib, case):
    xr, yr, shapes, calls = CASES[case]
    x, y = M.inputs(xr, 4)[lib is cr], M.inputs(yr, 4, seed=1)[lib is cr]
    ep = lib.export.export(build(lib), (x, y), dynamic_shapes=shapes(lib.export.Dim))
    out = [str(ep.range_constraints)]
    for a, b in calls:
        xa, yb = M.inputs(a, 4)[lib is cr], M.inputs(b, 4)[lib is cr]
        out.append(M.error_of(ep.module(), xa, yb))
    return out


def _symbols(text: str) -> str:
    """Symbols renamed by first appearance (torch's are ``s77``, chainrule's ``s0``)."""
    names: dict[str, str] = {}
    return re.sub(r"\bs\d+\b", lambda m: names.setdefault(m[0], f"s{len(names)}"), text)


@pytest.mark.parametrize(
    "case", ["twice", "plus-one", "root-unused", "minus-one", "root-second", "composed"]
)
def test_derived_dims_match_torch(case):
    theirs, ours = _run(torch, case), _run(cr, case)
    assert _symbols(ours[0]) == _symbols(theirs[0])
    assert ours[1:] == theirs[1:]


@pytest.mark.parametrize("case", ["not-equal", "not-integer", "negative-min"])
def test_example_sizes_that_do_not_fit_are_refused_as_torch(case):
    theirs, ours = M.error_of(_run, torch, case), M.error_of(_run, cr, case)
    assert ours[0] == theirs[0]
    assert ours[1].split("\n")[0] == theirs[1].split("\n")[0]


@pytest.mark.parametrize(
    "expr",
    ["2.5 * dx", "dx * dx", "dx + 1.5", "dx - 1.5", "1 - dx", "-2 * dx", "0 * dx", "dx // 2"],
)
def test_dim_arithmetic_errors_match_torch(expr):
    results = []
    for lib in (torch, cr):
        dx = lib.export.Dim("dx", max=10)
        results.append(M.error_of(eval, expr, {"dx": dx}))
    assert results[1] == results[0]


def test_derived_dim_attributes_match_torch():
    for lib in (torch, cr):
        dx = lib.export.Dim("dx", min=2, max=10)
        got = [(repr(d), d.__name__, d.min, d.max) for d in (2 * dx, dx + 1, (dx + 1) * 2 + 1)]
        got.append(repr(dx * 2 * 3))
        got.append(repr(dx - 1 + 1))
        if lib is torch:
            want = got
        else:
            assert got == want


def test_printed_shapes_and_save_load():
    dx = (torch.export.Dim("dx", min=2, max=10), cr.export.Dim("dx", min=2, max=10))
    (tx, ox), (ty, oy) = M.inputs(3, 4), M.inputs(6, 4, seed=1)
    te = torch.export.export(build_cat(torch), (tx, ty), dynamic_shapes=_xy(dx[0], 1, 2, 0))
    oe = cr.export.export(build_cat(cr), (ox, oy), dynamic_shapes=_xy(dx[1], 1, 2, 0))

    def annotations(ep):
        return _symbols(" ".join(re.findall(r'"[fi]\d+\[[^"]*\]"', str(ep))))

    assert annotations(oe) == annotations(te)
    buf = io.BytesIO()
    cr.export.save(oe, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    assert str(loaded.range_constraints) == str(oe.range_constraints)
    (_, ox2), (_, oy2) = M.inputs(5, 4), M.inputs(10, 4, seed=2)
    np.testing.assert_array_equal(
        loaded.module()(ox2, oy2).numpy(), build_cat(cr)(ox2, oy2).numpy()
    )
    for ep in (oe, loaded):
        with pytest.raises(AssertionError, match=r"y\.size\(\)\[0\] == 2 \* x\.size\(\)\[0\]"):
            ep.module()(ox2, oy2[:9])


def test_torch_archive_with_derived_dims_loads():
    dx = torch.export.Dim("dx", min=2, max=10)
    (tx, _), (ty, _) = M.inputs(3, 4), M.inputs(6, 4, seed=1)
    shapes = {"x": {0: dx}, "y": {0: 2 * dx - 1}}
    te = torch.export.export(build_two(torch), (tx, ty[:5]), dynamic_shapes=shapes)
    buf = io.BytesIO()
    torch.export.save(te, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    assert _symbols(str(loaded.range_constraints)) == _symbols(str(te.range_constraints))
    (tx2, ox2), (ty2, oy2) = M.inputs(5, 4), M.inputs(9, 4, seed=2)
    for got, want in zip(loaded.module()(ox2, oy2), te.module()(tx2, ty2), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    theirs = M.error_of(te.module(), tx2, ty2[:8])
    ours = M.error_of(loaded.module(), ox2, oy2[:8])
    assert ours == theirs == ("AssertionError", "Guard failed: y.size()[0] == -1 + 2 * x.size()[0]")


def test_torch_archive_with_cat_loads():
    (tx, ox), (ty, oy) = M.inputs(3, 4), M.inputs(6, 4, seed=1)
    te = torch.export.export(build_cat(torch), (tx, ty))
    buf = io.BytesIO()
    torch.export.save(te, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    assert "chainrule.cat" in str(loaded)
    np.testing.assert_allclose(loaded.module()(ox, oy).numpy(), te.module()(tx, ty).numpy())
