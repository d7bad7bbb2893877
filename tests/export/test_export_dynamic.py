"""cr.export's dynamic shapes against torch.export 2.13 live: Dim and its hints, the
dynamic_shapes forms, range constraints, the call-time range and equality checks, and the
errors for a dynamic size the code fixes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.export import Dim as TDim

import chainrule as cr
from chainrule.export import Dim, ShapesCollection

from . import _models as M


def export_both(builder, shapes, dyn_t, dyn_o):
    pairs = [M.inputs(*s, seed=i) for i, s in enumerate(shapes)]
    t = tuple(p[0] for p in pairs)
    o = tuple(p[1] for p in pairs)
    te = torch.export.export(builder(torch), t, dynamic_shapes=dyn_t)
    oe = cr.export.export(builder(cr), o, dynamic_shapes=dyn_o)
    return te, oe


def ranges(ep):
    return [repr(v) for v in ep.range_constraints.values()]


@pytest.mark.parametrize(
    "kw", [{}, {"min": 2, "max": 5}, {"min": 3, "max": 5}, {"max": 5}, {"min": 1}, {"min": 3}]
)
def test_dim_repr_and_bounds(kw):
    theirs, ours = TDim("d", **kw), Dim("d", **kw)
    assert repr(ours) == repr(theirs)
    assert ours.min == theirs.min and ours.__name__ == theirs.__name__
    assert (ours.max == float("inf")) == (str(theirs.max) == "int_oo")


def test_dim_hints_and_bad_dims():
    assert [repr(h) for h in (Dim.AUTO, Dim.STATIC, Dim.DYNAMIC)] == [
        repr(h) for h in (TDim.AUTO, TDim.STATIC, TDim.DYNAMIC)
    ]
    assert M.error_of(lambda: Dim("b", min=5, max=2)) == M.error_of(lambda: TDim("b", min=5, max=2))
    with pytest.raises(TypeError, match="identifier"):
        Dim(3)


def test_named_dim_range_and_guards():
    b_t, b_o = TDim("batch", min=3, max=10), Dim("batch", min=3, max=10)
    te, oe = export_both(
        M.adder, [(4, 4), (4, 4)], {"x": {0: b_t}, "y": {0: b_t}}, {"x": {0: b_o}, "y": {0: b_o}}
    )
    assert ranges(oe) == ranges(te) == ["VR[3, 10]"]
    tm, om = te.module(), oe.module()
    for shapes in [
        ((7, 4), (7, 4)),
        ((2, 4), (2, 4)),
        ((11, 4), (11, 4)),
        ((5, 4), (6, 4)),
        ((5, 3), (5, 3)),
    ]:
        (t1, o1), (t2, o2) = M.inputs(*shapes[0]), M.inputs(*shapes[1], seed=1)
        theirs, ours = M.error_of(tm, t1, t2), M.error_of(om, o1, o2)
        assert ours == theirs
        if theirs is None:
            np.testing.assert_allclose(om(o1, o2).numpy(), tm(t1, t2).numpy(), rtol=1e-6)


def test_printed_program_uses_the_symbol():
    b_t, b_o = TDim("batch", max=64), Dim("batch", max=64)
    te, oe = export_both(M.adder, [(3, 4), (3, 4)], ({0: b_t}, {0: b_t}), ({0: b_o}, {0: b_o}))
    assert ranges(oe) == ranges(te) == ["VR[0, 64]"]
    sym = repr(next(iter(oe.range_constraints)))
    assert f'x: "f32[{sym}, 4]"' in str(oe)
    assert str(oe).split("Range constraints:")[0].count(sym) == str(te).split("Range constraints:")[
        0
    ].count(repr(next(iter(te.range_constraints))))


@pytest.mark.parametrize("hint", ["AUTO", "DYNAMIC"])
def test_unnamed_hints_share_equal_sizes(hint):
    te, oe = export_both(
        M.adder,
        [(3, 4), (3, 4)],
        ({0: getattr(TDim, hint)}, {0: getattr(TDim, hint)}),
        ({0: getattr(Dim, hint)}, {0: getattr(Dim, hint)}),
    )
    assert ranges(oe) == ranges(te)
    (t1, o1), (t2, o2) = M.inputs(5, 4), M.inputs(6, 4)
    assert M.error_of(lambda: oe.module()(o1, o2)) == M.error_of(lambda: te.module()(t1, t2))
    (t1, o1) = M.inputs(1, 4)
    assert M.error_of(lambda: oe.module()(o1, o1)) == M.error_of(lambda: te.module()(t1, t1))


def test_static_hint_and_none():
    te, oe = export_both(
        M.adder, [(3, 4), (3, 4)], ({0: TDim.STATIC}, None), ({0: Dim.STATIC}, None)
    )
    assert ranges(oe) == ranges(te) == []


def test_dynamic_batch_through_a_cnn_and_a_view():
    theirs, ours = M.pair(M.cnn)
    t, o = M.inputs(2, 1, 8, 8)
    te = torch.export.export(theirs, (t,), dynamic_shapes={"x": {0: TDim("batch")}})
    oe = cr.export.export(ours, (o,), dynamic_shapes={"x": {0: Dim("batch")}})
    assert ranges(oe) == ranges(te)
    t5, o5 = M.inputs(5, 1, 8, 8, seed=3)
    np.testing.assert_allclose(
        oe.module()(o5).detach().numpy(), te.module()(t5).detach().numpy(), rtol=1e-4, atol=1e-5
    )


def build_view(lib, fixed):
    class V(lib.nn.Module):
        def forward(self, x):
            return x.view(3, -1) if fixed else x.view(x.shape[0], -1) * 2

    return V()


def test_view_following_the_dynamic_size_exports():
    te, oe = export_both(
        lambda lib: build_view(lib, False), [(3, 2, 2)], ({0: TDim("b")},), ({0: Dim("b")},)
    )
    t, o = M.inputs(6, 2, 2)
    np.testing.assert_allclose(oe.module()(o).numpy(), te.module()(t).numpy())


def test_code_fixing_a_dynamic_size_is_refused_or_made_static():
    def go(lib, dim):
        return lib.export.export(
            build_view(lib, True), (M.inputs(3, 4)[lib is cr],), dynamic_shapes=({0: dim},)
        )

    theirs, ours = M.error_of(lambda: go(torch, TDim("b"))), M.error_of(lambda: go(cr, Dim("b")))
    assert ours[0] == theirs[0] == "UserError"
    assert ours[1].startswith("Constraints violated (b)!") and theirs[1].startswith(
        "Constraints violated (b)!"
    )
    assert ranges(go(cr, Dim.AUTO)) == ranges(go(torch, TDim.AUTO)) == []


def test_branch_on_a_dynamic_size_needs_a_range_that_fits():
    def build(lib):
        class C(lib.nn.Module):
            def forward(self, x):
                return x + 1 if x.shape[0] > 2 else x - 1

        return C()

    t, o = M.inputs(4)
    theirs = M.error_of(
        lambda: torch.export.export(build(torch), (t,), dynamic_shapes=({0: TDim("n")},))
    )
    ours = M.error_of(lambda: cr.export.export(build(cr), (o,), dynamic_shapes=({0: Dim("n")},)))
    assert ours[0] == theirs[0] == "UserError"
    assert ours[1].startswith("Constraints violated (n)!")
    te = torch.export.export(build(torch), (t,), dynamic_shapes=({0: TDim("n", min=3)},))
    oe = cr.export.export(build(cr), (o,), dynamic_shapes=({0: Dim("n", min=3)},))
    assert ranges(oe) == ranges(te) == ["VR[3, int_oo]"]


@pytest.mark.parametrize(
    "case",
    ["dict-keys", "size-one", "out-of-range", "two-names-must-be-equal"],
)
def test_dynamic_shapes_errors_match_torch(case):
    def go(lib, D, shapes=((3, 4), (3, 4))):
        args = tuple(M.inputs(*s)[lib is cr] for s in shapes)
        if case == "dict-keys":
            dyn = {"x": {0: D("b")}}
        elif case == "size-one":
            args = tuple(M.inputs(1, 4)[lib is cr] for _ in shapes)
            dyn = {"x": {0: D("b")}, "y": {0: D("b")}}
        elif case == "out-of-range":
            dyn = {"x": {0: D("b", max=2)}, "y": {0: D("b", max=2)}}
        else:
            dyn = {"x": {0: D("b")}, "y": {0: D("c")}}
        return lib.export.export(M.adder(lib), args, dynamic_shapes=dyn)

    theirs, ours = M.error_of(lambda: go(torch, TDim)), M.error_of(lambda: go(cr, Dim))
    assert ours[0] == theirs[0]
    first = theirs[1].split("\n")[0]
    if case == "two-names-must-be-equal":
        first = first.split("!")[0].replace("(c)", "(b, c)")
    assert ours[1].startswith(first)


def test_shapes_collection():
    (t1, o1), (t2, o2) = M.inputs(3, 4), M.inputs(3, 4, seed=1)
    tsc, osc = torch.export.ShapesCollection(), ShapesCollection()
    tb, ob = TDim("b"), Dim("b")
    tsc[t1], tsc[t2] = (tb, 4), {0: tb}
    osc[o1], osc[o2] = (ob, 4), {0: ob}
    ours, theirs = (
        osc.dynamic_shapes(M.adder(cr), (o1, o2)),
        tsc.dynamic_shapes(M.adder(torch), (t1, t2)),
    )
    assert repr(ours) == repr(theirs)
    oe = cr.export.export(M.adder(cr), (o1, o2), dynamic_shapes=osc)
    te = torch.export.export(M.adder(torch), (t1, t2), dynamic_shapes=tsc)
    assert ranges(oe) == ranges(te)
    assert oe.module()(cr.ones(9, 4), cr.ones(9, 4)).shape == (9, 4)
