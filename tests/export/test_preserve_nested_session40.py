"""Session 40: ``export(..., preserve_module_call_signature=...)`` of submodules taking
nested arguments (tuples, lists, dicts, None and number leaves, keyword arguments, a
parameter of the parent, two calls), against torch 2.13 (live): torch flattens a preserved
call's ``(args, kwargs)`` to its leaves; the program's nodes, the module call graph
(flattened inputs and outputs, pytree specs) and the unflattened module's values are
torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .test_preserve_signature_session39 import _entries


def model(lib, kind):
    class Sub(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)

        def forward(self, *args, **kw):
            if kind == "tuple_dict":
                pair, cfg = args
                a, (b, c) = pair
                return self.lin(a) * cfg["w"] + b - c, [a, cfg["z"][0]]
            if kind == "list_number":
                items, cfg = args
                return items[0] * cfg["s"] + items[1], {"k": items[2]}
            if kind == "none_leaf":
                ((a, n),) = args
                return self.lin(a) if n is None else a
            if kind == "kw_nested":
                return self.lin(kw["inp"]["a"][1]) + kw["inp"]["b"], (kw["flag"],)
            if kind == "twice":
                a, b = args[0]
                return {"s": a + b}
            if kind == "parent_parameter":
                return self.lin(args[0][0]) * args[0][1]
            raise AssertionError(kind)

    class Top(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.sub = Sub()
            self.w = lib.nn.Parameter(lib.ones(4) * 0.5)

        def forward(self, x, y):
            if kind == "tuple_dict":
                o, rest = self.sub((x, (y, x + 1)), {"w": y, "z": (x * 2,)})
                return o + rest[1]
            if kind == "list_number":
                o, d = self.sub([x, y, x - y], {"s": 2.0})
                return o + d["k"]
            if kind == "none_leaf":
                return self.sub((x, None)) + y
            if kind == "kw_nested":
                o, (f,) = self.sub(inp={"a": [x, y], "b": x}, flag=3)
                return o * f
            if kind == "twice":
                return self.sub((x, y))["s"] + self.sub((y, x))["s"]
            if kind == "parent_parameter":
                return self.sub((x, self.w)) + y
            raise AssertionError(kind)

    return Top()


KINDS = ["tuple_dict", "list_number", "none_leaf", "kw_nested", "twice", "parent_parameter"]


def _nodes(ep):
    """The program's nodes as (op, name, the names of the nodes they read)."""
    out = []
    for n in ep.graph.nodes:
        reads = []
        cr.fx.node.map_aggregate(
            n.args,
            lambda a, reads=reads: (
                reads.append(a.name) if hasattr(a, "name") and hasattr(a, "op") else None
            ),
        )
        out.append((n.op, n.name, reads))
    return out


def _exports(kind):
    theirs, ours = model(torch, kind), model(cr, kind)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    a, b = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    kw = {"preserve_module_call_signature": ("sub",)}
    te = torch.export.export(theirs, (torch.tensor(a), torch.tensor(b)), **kw)
    oe = cr.export.export(ours, (cr.tensor(a), cr.tensor(b)), **kw)
    return te, oe


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_nested_preserved_call_as_torchs(kind):
    te, oe = _exports(kind)
    assert _entries(oe) == _entries(te)
    assert _nodes(oe) == _nodes(te)
    assert [(s.kind.name, s.arg.name, s.target) for s in oe.graph_signature.input_specs] == [
        (s.kind.name, s.arg.name, s.target) for s in te.graph_signature.input_specs
    ]
    a, b = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    want = torch.export.unflatten(te)(torch.tensor(a), torch.tensor(b)).detach().numpy()
    got = cr.export.unflatten(oe)(cr.tensor(a), cr.tensor(b)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        oe.module()(cr.tensor(a), cr.tensor(b)).detach().numpy(), want, rtol=1e-5, atol=1e-6
    )
