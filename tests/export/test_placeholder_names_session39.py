"""Session 39: the names of an export's input placeholders and how ``dynamic_shapes`` is
matched against ``forward(self, *xs)``, against torch 2.13 (live).

torch names a user input's placeholder as the argument, builtins included (``input``,
``sum``), in the graph and its signature; the generated code takes the argument under
that name and renames it (``input_1 = input``). A ``*xs`` argument is one input holding a
tuple: ``dynamic_shapes`` gives it one entry, itself a tuple with one entry per element."""

from __future__ import annotations

import re

import pytest
import torch

import chainrule as cr

from . import _models as M


def _module(lib, kind):
    nn = lib.nn

    class Builtins(nn.Module):
        def forward(self, input, sum):
            return input.relu() + sum

    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(3, 3)

        def forward(self, input):
            return self.l(input)

    class Mixed(nn.Module):
        def forward(self, x, input, output, *, type):
            return x + input + output * type

    class Star(nn.Module):
        def forward(self, *xs):
            return xs[0] + xs[1]

    class StarAfter(nn.Module):
        def forward(self, x, *args, z=None):
            return x + args[0] + z

    return {
        "builtins": Builtins,
        "linear": Linear,
        "mixed": Mixed,
        "star": Star,
        "star_after": StarAfter,
    }[kind]()


CALLS = {  # kind -> (number of positional inputs, keyword input names)
    "builtins": (2, ()),
    "linear": (1, ()),
    "mixed": (3, ("type",)),
    "star": (2, ()),
    "star_after": (2, ("z",)),
}


def _export(lib, kind, dynamic_shapes=None):
    n, names = CALLS[kind]
    x = lib.ones(2, 3)
    return lib.export.export(
        _module(lib, kind), (x,) * n, {k: x for k in names}, dynamic_shapes=dynamic_shapes
    )


def _renames(code):
    """The signature line and the ``a = b`` renames of generated code."""
    lines = [ln.strip() for ln in code.splitlines()]
    head = [ln for ln in lines if ln.startswith("def forward")]
    return head + [ln for ln in lines if re.fullmatch(r"\w+ = \w+", ln)]


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_placeholder_names_as_torchs(kind):
    te, oe = _export(torch, kind), _export(cr, kind)
    assert [n.name for n in oe.graph.nodes if n.op == "placeholder"] == [
        n.name for n in te.graph.nodes if n.op == "placeholder"
    ]
    assert [s.arg.name for s in oe.graph_signature.input_specs] == [
        s.arg.name for s in te.graph_signature.input_specs
    ]
    assert _renames(oe.graph_module.code) == _renames(te.graph_module.code)
    # the printed program: the forward line (with annotations) and the renames
    assert _renames(str(oe)) == _renames(str(te))


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_program_runs_with_builtin_names(kind):
    """The program's module runs (positionally and by the arguments' names) as the
    exported module."""
    n, names = CALLS[kind]
    x = M.inputs(2, 3)[1]
    mod = _module(cr, kind)
    ep = cr.export.export(mod, (x,) * n, {k: x for k in names})
    want = mod(*(x,) * n, **{k: x for k in names}).detach().numpy()
    got = ep.module()(*(x,) * n, **{k: x for k in names}).detach().numpy()
    assert (got == want).all()


def test_symbolic_trace_renames_builtin_arguments():
    """``symbolic_trace`` keeps the argument's name in ``forward``'s signature and renames
    the value (``input_1 = input``), so the module is called by keyword as the original."""
    theirs = torch.fx.symbolic_trace(_module(torch, "builtins"))
    ours = cr.fx.symbolic_trace(_module(cr, "builtins"))
    assert ours.code == theirs.code
    x = cr.ones(2)
    assert ours(input=x, sum=x).tolist() == [2.0, 2.0]


def _dim(lib):
    return lib.export.Dim("b")


SHAPES = {  # kind -> dynamic_shapes forms, built for a library's Dim
    "star": [
        lambda D: (({0: D}, {0: D}),),  # one entry for xs: accepted
        lambda D: {"xs": ({0: D}, {0: D})},
        lambda D: ({0: D}, {0: D}),  # one entry per element: refused, as torch
        lambda D: {"xs_0": {0: D}, "xs_1": {0: D}},
        lambda D: ({0: D},),
    ],
    "star_after": [
        lambda D: ({0: D}, ({0: D},), {0: D}),
        lambda D: {"x": {0: D}, "args": ({0: D},), "z": {0: D}},
        lambda D: ({0: D}, {0: D}, {0: D}),
        lambda D: {"x": {0: D}, "args_0": {0: D}, "z": {0: D}},
    ],
}
CASES = [(k, i) for k, forms in SHAPES.items() for i in range(len(forms))]


@pytest.mark.parametrize(("kind", "i"), CASES)
def test_star_dynamic_shapes_as_torchs(kind, i):
    form = SHAPES[kind][i]

    def run(lib):
        ep = _export(lib, kind, form(_dim(lib)))
        return [s.arg.name for s in ep.graph_signature.input_specs], len(ep.range_constraints)

    theirs = M.error_of(run, torch)
    ours = M.error_of(run, cr)
    assert ours == theirs
    if theirs is None:
        assert run(cr) == run(torch)


def test_star_dynamic_size_is_dynamic():
    D = cr.export.Dim("b")
    ep = _export(cr, "star", (({0: D}, {0: D}),))
    y = cr.ones(5, 3)
    assert ep.module()(y, y).shape == (5, 3)
