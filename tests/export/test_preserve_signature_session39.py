"""Session 39: ``export(..., preserve_module_call_signature=...)`` and
``ExportedProgram.module_call_graph``, against torch 2.13 (live).

torch lists every module of the exported one (duplicates included, root first, with its
signature), keeps each preserved submodule's calls (flattened inputs and outputs, pytree
specs; a later call as ``sub@1``), and ``unflatten`` rebuilds a preserved submodule as a
module called with its original arguments and returning its original structure."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import chainrule as cr

from . import _models as M


def model(lib):
    class Sub(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)

        def forward(self, x, scale=2.0, *, d):
            return {"a": self.lin(x) + d["y"], "b": (x * scale, x - 1)}

    class Top(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.sub = Sub()
            self.other = lib.nn.Linear(4, 4)
            self.seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(4, 2))

        def forward(self, x):
            o = self.sub(x, 3.0, d={"y": x + 1})
            o2 = self.sub(o["a"], 3.0, d={"y": x})
            return self.seq(self.other(o2["a"]) - o["b"][0])

    return Top()


def _args(a):
    """A signature argument as comparable data (torch's and chainrule's classes)."""
    kind = type(a).__name__
    return (kind, a.name) if kind == "TensorArgument" else (kind, a.value)


def _spec(spec):
    """A pytree spec as nested (type name, context, children)."""
    if spec.is_leaf():
        return "*"
    return (spec.type.__name__, spec.context, [_spec(c) for c in spec.children()])


def _entries(ep):
    out = []
    for e in ep.module_call_graph:
        s = e.signature
        if s is None:
            out.append((e.fqn, None))
        else:
            out.append(
                (
                    e.fqn,
                    [_args(a) for a in s.inputs],
                    [_args(a) for a in s.outputs],
                    _spec(s.in_spec),
                    _spec(s.out_spec),
                    s.forward_arg_names,
                )
            )
    return out


def _exports(preserve):
    theirs, ours = M.pair(model)
    t, o = M.inputs(3, 4)
    kw = {"preserve_module_call_signature": preserve}
    return (
        (theirs, torch.export.export(theirs, (t,), **kw)),
        (ours, cr.export.export(ours, (o,), **kw)),
    )


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("preserve", [(), ("sub",), ("other",), ("sub", "seq.1")])
def test_module_call_graph_as_torchs(preserve):
    (_, te), (_, oe) = _exports(preserve)
    assert _entries(oe) == _entries(te)


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_unflattened_preserved_module_keeps_its_signature():
    (theirs, te), (ours, oe) = _exports(("sub",))
    tu, ou = torch.export.unflatten(te), cr.export.unflatten(oe)
    assert isinstance(ou.sub, cr.export.InterpreterModule)
    assert [n for n, _ in ou.named_modules()] == [n for n, _ in tu.named_modules()]
    t, o = M.inputs(3, 4, seed=2)
    y_t, y_o = M.inputs(3, 4, seed=3)
    got = ou.sub(o, 3.0, d={"y": y_o})
    want = ours.sub(o, 3.0, d={"y": y_o})
    assert set(got) == {"a", "b"} and isinstance(got["b"], tuple)
    for g, w in zip(
        cr.utils._pytree.tree_leaves(got), cr.utils._pytree.tree_leaves(want), strict=True
    ):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        ou(o).detach().numpy(), theirs(t).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(ou(o).detach().numpy(), ours(o).detach().numpy(), rtol=1e-6)
    # the parent calls it with the original arguments' structure
    calls = [n for n in ou.graph.nodes if n.op == "call_module" and n.target == "sub"]
    assert len(calls) == 2
    assert all(n.args[1] == 3.0 and list(n.kwargs) == ["d"] for n in calls)
    with pytest.raises(TypeError, match="structured"):
        ou.sub(o, d={"y": y_o})


def test_preserved_output_unused_outside_is_kept():
    """An output of a preserved call nothing reads stays in the program (torch keeps it
    too), so the rebuilt module still returns it."""

    class Sub(cr.nn.Module):
        def forward(self, x):
            return x + 1, x * 5

    class Top(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.sub = Sub()

        def forward(self, x):
            return self.sub(x)[0]

    x = cr.ones(2)
    ep = cr.export.export(Top(), (x,), preserve_module_call_signature=("sub",))
    assert [a.name for a in ep.module_call_graph[1].signature.outputs] == ["add", "mul"]
    assert cr.export.unflatten(ep).sub(x)[1].tolist() == [5.0, 5.0]


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared below
        return type(e).__name__, str(e).split(":")[0]
    return None


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_preserve_errors_as_torchs():
    for preserve in [("nosuch",), ("sub.nosuch",)]:

        def run(lib, preserve=preserve):
            lib.export.export(
                model(lib), (lib.ones(3, 4),), preserve_module_call_signature=preserve
            )

        assert _error(lambda run=run: run(cr)) == _error(lambda run=run: run(torch))

    def mismatch(lib):
        class Sub(lib.nn.Module):
            def forward(self, x, y=None):
                return x if y is None else x + y

        class Top(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.sub = Sub()

            def forward(self, x):
                return self.sub(x) + self.sub(x, y=x)

        lib.export.export(Top(), (lib.ones(2),), preserve_module_call_signature=("sub",))

    ours, theirs = _error(lambda: mismatch(cr)), _error(lambda: mismatch(torch))
    assert ours[0] == theirs[0] == "AssertionError"
    assert ours[1].startswith("in_spec mismatch for") and theirs[1].startswith("in_spec mismatch")


def test_archives_refuse_preserved_signatures():
    """chainrule's archives do not write preserved signatures: saving refuses them, and
    loading a torch archive that has them refuses it, rather than dropping them."""
    (_, te), (_, oe) = _exports(("sub",))
    with pytest.raises(NotImplementedError, match="preserve_module_call_signature"):
        cr.export.save(oe, io.BytesIO())
    buf = io.BytesIO()
    torch.export.save(te, buf)
    buf.seek(0)
    with pytest.raises(NotImplementedError, match="preserve_module_call_signature"):
        cr.export.load(buf)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_module_call_graph_survives_save_and_load():
    (_, te), (_, oe) = _exports(())
    buf = io.BytesIO()
    cr.export.save(oe, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    assert [e.fqn for e in loaded.module_call_graph] == [e.fqn for e in te.module_call_graph]
    assert _entries(loaded)[0] == _entries(te)[0]
