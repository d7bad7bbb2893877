"""Session 38: the module hierarchy of an export, against torch 2.13 (live): each node's
``meta["nn_module_stack"]`` (keys and module paths) and ``cr.export.unflatten`` (the module
tree, each submodule's graph, where parameters and buffers live, and outputs equal to the
program's)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import chainrule as cr

from . import _models as M


def block(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)
            self.act = lib.nn.ReLU()

        def forward(self, x):
            return self.act(self.lin(x)) + x

    return Block()


def nested(lib):
    class Nested(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = block(lib)
            self.seq = lib.nn.Sequential(block(lib), lib.nn.Linear(4, 2))
            self.register_buffer("buf", lib.arange(4.0) / 4)

        def forward(self, x):
            return self.seq(self.b1(x) * self.buf)

    return Nested()


def two_outputs(lib):
    class Split(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = lib.nn.Linear(4, 6)

        def forward(self, x):
            h = self.proj(x)
            return h[:, :3].relu(), h[:, 3:].tanh()

    class Two(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.split = Split()
            self.head = lib.nn.Linear(3, 2)

        def forward(self, x):
            a, b = self.split(x)
            return {"out": self.head(a * b), "a": a}

    return Two()


def tied(lib):
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = lib.nn.Linear(4, 3)
            self.dec = Decoder(self.enc)

        def forward(self, x):
            return self.dec(self.enc(x))

    class Decoder(lib.nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.enc_ref = [enc]  # not a submodule: its weight is read through it
            self.scale = lib.nn.Parameter(lib.ones(4))

        def forward(self, z):
            return lib.nn.functional.linear(z, self.enc_ref[0].weight.t()) * self.scale

    return Tied()


def grandchild(lib):
    class Direct(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.seq = lib.nn.Sequential(lib.nn.Linear(4, 4), lib.nn.Tanh())

        def forward(self, x):
            return self.seq[1](self.seq[0](x)) + 1

    return Direct()


def recurrent(lib):
    class Rec(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = lib.nn.GRU(4, 5, batch_first=True)
            self.head = lib.nn.Linear(5, 2)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    return Rec()


def twice(lib):
    class Twice(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(self.lin(x).relu()) + self.lin(x)

    return Twice()


BUILDERS = {
    "nested": (nested, (3, 4)),
    "two_outputs": (two_outputs, (3, 4)),
    "tied": (tied, (3, 4)),
    "grandchild": (grandchild, (3, 4)),
    "recurrent": (recurrent, (2, 5, 4)),
    "mlp": (M.mlp, (3, 4)),
    "twice": (twice, (3, 4)),  # one module called three times: L__self__lin@1, @2
}


def _input_shape(name):
    return BUILDERS[name][1]


def _exports(name):
    builder = BUILDERS[name][0]
    theirs, ours = M.pair(builder)
    t, o = M.inputs(*_input_shape(name))
    return torch.export.export(theirs, (t,)), cr.export.export(ours, (o,))


def _tree(u):
    return [(name, type(m).__name__) for name, m in u.named_modules()]


def _graph(g):
    """The nodes' kinds in order (a call as "call": torch's are ATen functions where some
    of chainrule's are methods) with the inputs' and modules' names, and the state read as
    a set (its get_attr nodes come first, in an order torch does not document)."""

    def kind(n):
        return n.op if n.op in ("placeholder", "output") else "call"

    calls = [
        (kind(n), n.target if n.op in ("call_module", "placeholder") else None)
        for n in g.nodes
        if n.op != "get_attr"
    ]
    return calls, sorted(n.target for n in g.nodes if n.op == "get_attr")


def _leaves(out):
    return [x.detach().numpy() for x in cr.utils._pytree.tree_leaves(out)]


def _stacks(ep):
    """The module stacks of the program's calls in order, a run of equal ones as one
    (torch's ATen graph spells some calls as several nodes: ``h[:, :3]`` is two slices)."""
    out: list = []
    for n in ep.graph.nodes:
        if n.op in ("call_function", "call_method", "call_module"):
            stack = [(k, path) for k, (path, _) in n.meta["nn_module_stack"].items()]
            if not out or out[-1] != stack:
                out.append(stack)
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notice on GRU._flat_weights
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_nn_module_stack_as_torchs(name):
    te, oe = _exports(name)
    assert _stacks(oe) == _stacks(te)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch's unflatten on its TreeSpec
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_unflatten_rebuilds_torchs_hierarchy(name):
    te, oe = _exports(name)
    tu, ou = torch.export.unflatten(te), cr.export.unflatten(oe)
    assert _tree(ou) == _tree(tu)
    assert [n for n, _ in ou.named_parameters()] == [n for n, _ in tu.named_parameters()]
    assert [n for n, _ in ou.named_buffers()] == [n for n, _ in tu.named_buffers()]
    for (path, theirs), (_, ours) in zip(tu.named_modules(), ou.named_modules(), strict=True):
        if getattr(theirs, "graph", None) is not None and name != "recurrent":
            assert _graph(ours.graph) == _graph(theirs.graph), path
    t, o = M.inputs(*_input_shape(name), seed=3)
    got, want = ou(o), tu(t)
    for g, w in zip(
        _leaves(got),
        [x.detach().numpy() for x in torch.utils._pytree.tree_leaves(want)],
        strict=True,
    ):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    for g, w in zip(_leaves(got), _leaves(oe.module()(o)), strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_unflattened_module_checks_its_inputs():
    te, oe = _exports("nested")
    tu, ou = torch.export.unflatten(te), cr.export.unflatten(oe)
    t, o = M.inputs(3, 4)
    with pytest.raises(TypeError, match="There is no flat args adapter specified"):
        tu(t, t)
    with pytest.raises(TypeError, match="There is no flat args adapter specified"):
        ou(o, o)


def test_unflatten_arguments():
    _, oe = _exports("nested")
    with pytest.raises(NotImplementedError, match="flat_args_adapter"):
        cr.export.unflatten(oe, flat_args_adapter=object())


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_module_stack_survives_save_and_load():
    """The archive keeps each node's nn_module_stack in torch's text form
    (``key,path,class;...``), so a loaded program unflattens the same."""
    _, oe = _exports("nested")
    buf = io.BytesIO()
    cr.export.save(oe, buf)
    buf.seek(0)
    loaded = cr.export.load(buf)
    stacks = [n.meta.get("nn_module_stack") for n in oe.graph.nodes if n.op == "call_function"]
    again = [n.meta.get("nn_module_stack") for n in loaded.graph.nodes if n.op == "call_function"]
    assert again == stacks
    o = M.inputs(3, 4, seed=5)[1]
    u, v = cr.export.unflatten(oe), cr.export.unflatten(loaded)
    assert _tree(v) == _tree(u)
    np.testing.assert_array_equal(v(o).detach().numpy(), u(o).detach().numpy())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torch_archive_unflattens():
    """A program torch saved (its nodes' nn_module_stack in the archive) loads and
    unflattens to torch's tree and values."""
    te, _ = _exports("nested")
    buf = io.BytesIO()
    torch.export.save(te, buf)
    buf.seek(0)
    ou, tu = cr.export.unflatten(cr.export.load(buf)), torch.export.unflatten(te)
    assert _tree(ou) == _tree(tu)
    t, o = M.inputs(3, 4, seed=2)
    np.testing.assert_allclose(ou(o).detach().numpy(), tu(t).detach().numpy(), rtol=1e-5, atol=1e-6)
