"""Nested inputs of ``cr.export.export`` (tuples, lists and dicts of tensors, and kwargs)
against torch.export: placeholder names, the input tree spec, ``dynamic_shapes`` given as
matching nested structures, torch's errors for mismatched structures, the calling
module's checks, and the save/load round trip."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import chainrule as cr

from . import _models as M


def build(lib):
    class Nested(lib.nn.Module):
        def forward(self, xs, d, *, k=None):
            return {"sum": xs[0] + xs[1][0] * d["a"]}, d["b"].sum() + k

    return Nested()


def inputs(lib, n=3, seed=0):
    r = np.random.default_rng(seed)

    def t(*s):
        return lib.tensor(r.standard_normal(s).astype(np.float32))

    return ((t(n, 4), [t(n, 4)]), {"a": t(n, 4), "b": t(5, 4)}), {"k": t(4)}


def _dim(lib):
    return lib.export.Dim


def shapes(lib, case):
    b = _dim(lib)("b")
    return {
        "good": {"xs": ({0: b}, [{0: b}]), "d": {"a": {0: b}, "b": None}, "k": None},
        "good-tuple": (({0: b}, [[b, 4]]), {"a": (b, 4), "b": None}, None),
        "short-tuple": {"xs": ({0: b},), "d": None, "k": None},
        "none-for-tuple": {"xs": None, "d": None, "k": None},
        "dict-for-list": {"xs": ({0: b}, {0: b}), "d": None, "k": None},
        "list-for-tuple": {"xs": [{0: b}, [{0: b}]], "d": None, "k": None},
        "dict-keys": {"xs": ({0: b}, [{0: b}]), "d": {"a": {0: b}, "c": None}, "k": None},
        "dict-size": {"xs": ({0: b}, [{0: b}]), "d": {"a": {0: b}}, "k": None},
        "top-length": ((None, [None]), {"a": None, "b": None}),
        "top-keys": {"xs": None, "d": None},
        "spec-length": ((None, [[None, None, None]]), {"a": None, "b": None}, None),
        "spec-kind": ((None, [3]), {"a": None, "b": None}, None),
        "entry-kind": ((None, [{0: "x"}]), {"a": None, "b": None}, None),
        "two-definitions": ((None, [{0: b}]), {"a": {0: _dim(lib)("b", max=5)}, "b": None}, None),
    }[case]


def _export(lib, case=None, n=3):
    args, kwargs = inputs(lib, n)
    ds = None if case is None else shapes(lib, case)
    return lib.export.export(build(lib), args, kwargs, dynamic_shapes=ds)


def _leaves(lib, tree):
    leaves = (torch.utils._pytree if lib is torch else cr.utils._pytree).tree_leaves(tree)
    return [x.detach().numpy() for x in leaves]


@pytest.mark.parametrize("case", [None, "good", "good-tuple"])
def test_nested_program_matches_torch(case):
    te, oe = _export(torch, case), _export(cr, case)
    names = [(s.kind.name, s.arg.name) for s in oe.graph_signature.input_specs]
    assert names == [(s.kind.name, s.arg.name) for s in te.graph_signature.input_specs]
    assert names == [("USER_INPUT", n) for n in ("xs_0", "xs_1_0", "d_a", "d_b", "k")]
    assert str(oe.call_spec.in_spec) == str(te.call_spec.in_spec)
    assert str(oe.call_spec.out_spec) == str(te.call_spec.out_spec)
    n = 3 if case is None else 6
    (ta, tk), (oa, ok) = inputs(torch, n, seed=1), inputs(cr, n, seed=1)
    for got, want in zip(
        _leaves(cr, oe.module()(*oa, **ok)), _leaves(torch, te.module()(*ta, **tk)), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    if case is not None:
        assert [repr(r) for r in oe.range_constraints.values()] == [
            repr(r) for r in te.range_constraints.values()
        ]


def test_guards_name_nested_inputs_as_torch():
    te, oe = _export(torch, "good"), _export(cr, "good")
    (ta, tk), (oa, ok) = inputs(torch, 6), inputs(cr, 6)
    ta[0][1][0], oa[0][1][0] = ta[0][1][0][:2], oa[0][1][0][:2]
    theirs = M.error_of(lambda: te.module()(*ta, **tk))
    ours = M.error_of(lambda: oe.module()(*oa, **ok))
    assert (
        ours == theirs == ("AssertionError", "Guard failed: xs[1][0].size()[0] == xs[0].size()[0]")
    )
    (ta, tk), (oa, ok) = inputs(torch, 6), inputs(cr, 6)
    ta[1]["b"], oa[1]["b"] = ta[1]["b"][:2], oa[1]["b"][:2]
    theirs = M.error_of(lambda: te.module()(*ta, **tk))
    ours = M.error_of(lambda: oe.module()(*oa, **ok))
    assert ours == theirs


@pytest.mark.parametrize(
    "bad",
    ["missing-list-entry", "extra-dict-key", "list-for-tuple"],
)
def test_calls_with_other_structures_are_refused_as_torch(bad):
    def call(lib, ep):
        (xs, d), kw = inputs(lib)
        if bad == "missing-list-entry":
            xs = (xs[0], [])
        elif bad == "extra-dict-key":
            d = dict(d, c=xs[0])
        else:
            xs = list(xs)
        return ep.module()(xs, d, **kw)

    theirs = M.error_of(call, torch, _export(torch))
    ours = M.error_of(call, cr, _export(cr))
    assert ours == theirs
    assert ours[0] == "ValueError"


@pytest.mark.parametrize(
    "case",
    [
        "short-tuple",
        "none-for-tuple",
        "dict-for-list",
        "list-for-tuple",
        "dict-keys",
        "dict-size",
        "top-length",
        "top-keys",
        "spec-length",
        "spec-kind",
        "entry-kind",
        "two-definitions",
    ],
)
def test_mismatched_dynamic_shapes_errors_match_torch(case):
    theirs = M.error_of(_export, torch, case)
    ours = M.error_of(_export, cr, case)
    assert ours[0] == theirs[0] == "UserError"
    assert ours[1] == theirs[1]


def test_nested_program_saves_and_loads():
    oe = _export(cr, "good")
    buf = io.BytesIO()
    cr.export.save(oe, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    oa, ok = inputs(cr, 5, seed=2)
    got = _leaves(cr, loaded.module()(*oa, **ok))
    for g, w in zip(got, _leaves(cr, oe.module()(*oa, **ok)), strict=True):
        np.testing.assert_array_equal(g, w)
    (xs, d), kw = loaded.example_inputs
    assert isinstance(xs, tuple) and isinstance(xs[1], list) and sorted(d) == ["a", "b"]
    assert list(kw) == ["k"]


def test_shapes_collection_with_nested_inputs():
    results = {}
    for lib in (torch, cr):
        (xs, d), kw = inputs(lib)
        sc = lib.export.ShapesCollection()
        b = _dim(lib)("b")
        sc[xs[0]] = {0: b}
        sc[xs[1][0]] = (b, 4)
        sc[d["a"]] = {0: b}
        spec = sc.dynamic_shapes(build(lib), (xs, d), kw)
        ep = lib.export.export(build(lib), (xs, d), kw, dynamic_shapes=sc)
        results[lib.__name__] = (repr(spec), [repr(r) for r in ep.range_constraints.values()])
    assert results["chainrule"] == results["torch"]


def test_unsupported_leaf_is_refused():
    class C(cr.nn.Module):
        def forward(self, xs):
            return xs[0]

    with pytest.raises(NotImplementedError, match=r"input \"xs\[1\]\['s'\]\" is a set"):
        cr.export.export(C(), ([cr.ones(2), {"s": {1}}],))


def test_torch_archive_with_nested_inputs_loads():
    args, kwargs = inputs(torch)
    te = torch.export.export(build(torch), args, kwargs, dynamic_shapes=shapes(torch, "good"))
    buf = io.BytesIO()
    torch.export.save(te, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    assert str(loaded.call_spec.in_spec) == str(te.call_spec.in_spec)
    (ta, tk), (oa, ok) = inputs(torch, 6, seed=3), inputs(cr, 6, seed=3)
    for got, want in zip(
        _leaves(cr, loaded.module()(*oa, **ok)),
        _leaves(torch, te.module()(*ta, **tk)),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    oa[0][1][0] = oa[0][1][0][:2]
    # the archive does not name the nested inputs: the guard names their placeholders
    with pytest.raises(AssertionError, match=r"Guard failed: xs_1_0.size\(\)\[0\] =="):
        loaded.module()(*oa, **ok)
