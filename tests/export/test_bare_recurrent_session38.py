"""Session 38: ``cr.export.export`` of a bare ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (the
layer itself as the exported module), which torch 2.13 exports (live): the program records
one ``chainrule.lstm``/``gru``/``rnn_tanh`` call, as the session-37 recurrent export does for
a layer inside a model, with torch's parameters, outputs and values, a dynamic batch size
and the save/load round trip."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.export import Dim

from . import _models as M

LOOPS = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn_tanh"}


def _specs(ep):
    ins = [(s.kind.name, s.target) for s in ep.graph_signature.input_specs]
    return ins, len(ep.graph_signature.output_specs)


def _round_trip(ep):
    buf = io.BytesIO()
    cr.export.save(ep, buf)
    buf.seek(0)
    return cr.export.load(buf)


def _close(got, want):
    got, want = cr.utils._pytree.tree_leaves(got), torch.utils._pytree.tree_leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-5)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notice on LSTM._flat_weights
@pytest.mark.parametrize("kind", sorted(LOOPS))
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "seq_first"])
def test_bare_layer_exports_as_torchs(kind, batch_first):
    def build(lib):
        return getattr(lib.nn, kind)(4, 5, num_layers=2, batch_first=batch_first)

    theirs, ours = M.pair(build)
    t, o = M.inputs(3, 6, 4)
    te, oe = torch.export.export(theirs, (t,)), cr.export.export(ours, (o,))
    assert _specs(oe) == _specs(te)
    calls = [n.target.__name__ for n in oe.graph.nodes if n.op == "call_function"]
    assert calls.count(LOOPS[kind]) == 1
    assert not [n for n in oe.graph.nodes if n.op == "call_module"]
    _close(oe.module()(o), te.module()(t))
    _close(_round_trip(oe).module()(o), te.module()(t))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bare_layer_with_initial_state_and_dynamic_batch(kind):
    def build(lib):
        return getattr(lib.nn, kind)(4, 5, batch_first=True, bidirectional=True)

    theirs, ours = M.pair(build)
    t, o = M.inputs(3, 6, 4)
    rng = np.random.default_rng(2)
    h = rng.standard_normal((2, 3, 5)).astype(np.float32)
    c = rng.standard_normal((2, 3, 5)).astype(np.float32)
    t_hx = (torch.tensor(h), torch.tensor(c)) if kind == "LSTM" else torch.tensor(h)
    o_hx = (cr.tensor(h), cr.tensor(c)) if kind == "LSTM" else cr.tensor(h)
    t_dims = ({0: torch.export.Dim("b", max=9)}, ({1: torch.export.Dim("b", max=9)},) * 2)
    o_dims = ({0: Dim("b", max=9)}, ({1: Dim("b", max=9)},) * 2)  # hx: (layers, batch, h)
    if kind == "GRU":
        t_dims, o_dims = (t_dims[0], t_dims[1][0]), (o_dims[0], o_dims[1][0])
    te = torch.export.export(theirs, (t, t_hx), dynamic_shapes=t_dims)
    oe = cr.export.export(ours, (o, o_hx), dynamic_shapes=o_dims)
    assert _specs(oe) == _specs(te)
    ranges = [(int(r.lower), int(r.upper)) for r in te.range_constraints.values()]
    assert [(r.lower, r.upper) for r in oe.range_constraints.values()] == ranges
    t2, o2 = M.inputs(5, 6, 4, seed=1)
    h2 = rng.standard_normal((2, 5, 5)).astype(np.float32)
    t_hx2 = (torch.tensor(h2), torch.tensor(h2)) if kind == "LSTM" else torch.tensor(h2)
    o_hx2 = (cr.tensor(h2), cr.tensor(h2)) if kind == "LSTM" else cr.tensor(h2)
    _close(oe.module()(o2, o_hx2), te.module()(t2, t_hx2))


def test_bare_layer_unbatched_input_refused():
    """Unbatched input stays a call of the layer, which a bare layer cannot hold."""
    with pytest.raises(NotImplementedError, match="bare LSTM is exported for batched"):
        cr.export.export(cr.nn.LSTM(4, 6), (cr.randn(3, 4),))


def test_bare_attention_layer_still_refused():
    with pytest.raises(NotImplementedError, match="bare MultiheadAttention"):
        cr.export.export(cr.nn.MultiheadAttention(4, 2), (cr.randn(3, 1, 4),) * 3)
