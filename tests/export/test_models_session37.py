"""``cr.export`` on chainrule's own language models (``cr.models.gpt``, ``char_lstm``) and on
recurrent layers, recorded as torch records them (``lstm(input, hx, params, ...)`` with
``zeros`` initial states): outputs equal to the model's, dynamic batch and sequence length,
and the save/load round trip."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.export import Dim

from . import _models as M


def _gpt():
    m = cr.models.get_model("gpt", vocab_size=23, block_size=12, n_layer=2, n_head=2, n_embd=16)
    return m.eval()


def _char_lstm():
    return cr.models.char_lstm(vocab_size=23, embedding_dim=8, hidden_size=12).eval()


BUILDERS = {"gpt": _gpt, "char_lstm": _char_lstm}


def _idx(b: int, t: int, seed: int = 0) -> cr.Tensor:
    return cr.tensor(np.random.default_rng(seed).integers(0, 23, (b, t)), dtype=cr.int64)


def _round_trip(ep):
    buf = io.BytesIO()
    cr.export.save(ep, buf)
    buf.seek(0)
    return cr.export.load(buf)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_model_exports_saves_and_loads(name):
    cr.manual_seed(0)
    model = BUILDERS[name]()
    idx = _idx(2, 7)
    ep = cr.export.export(model, (idx,))
    want = model(idx).detach().numpy()
    np.testing.assert_array_equal(ep.module()(idx).detach().numpy(), want)
    loaded = _round_trip(ep)
    np.testing.assert_array_equal(loaded.module()(idx).detach().numpy(), want)
    assert not any(n.op == "call_module" for n in ep.graph.nodes)  # functions only
    with pytest.raises(AssertionError, match=r"Guard failed: idx.size\(\)\[1\] == 7"):
        ep.module()(_idx(2, 5))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_model_with_dynamic_batch_and_length(name):
    cr.manual_seed(0)
    model = BUILDERS[name]()
    shapes = ({0: Dim("batch", max=8), 1: Dim("seq", max=12)},)
    ep = cr.export.export(model, (_idx(2, 7),), dynamic_shapes=shapes)
    assert [repr(r) for r in ep.range_constraints.values()] == ["VR[0, 8]", "VR[0, 12]"]
    for program in (ep, _round_trip(ep)):
        for b, t in ((3, 5), (1, 12), (8, 2)):
            idx = _idx(b, t, seed=b + t)
            got = program.module()(idx).detach().numpy()
            np.testing.assert_allclose(got, model(idx).detach().numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(AssertionError, match=r"Guard failed: idx.size\(\)\[1\] <= 12"):
        ep.module()(_idx(2, 13))


def test_gpt_training_targets_return_the_loss():
    cr.manual_seed(0)
    model = _gpt()
    idx, tgt = _idx(2, 6), _idx(2, 6, seed=1)
    ep = cr.export.export(model, (idx, tgt))
    logits, loss = ep.module()(idx, tgt)
    want_logits, want_loss = model(idx, tgt)
    np.testing.assert_array_equal(logits.detach().numpy(), want_logits.detach().numpy())
    assert loss.item() == want_loss.item()


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notice on LSTM._flat_weights
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_layer_matches_torch_export(kind):
    def build(lib):
        layer = getattr(lib.nn, kind)(4, 5, num_layers=2, batch_first=True, bidirectional=True)

        class R(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = layer

            def forward(self, x):
                out, h = self.rnn(x)
                return out, h

        return R()

    theirs, ours = M.pair(build)
    t, o = M.inputs(3, 6, 4)
    shapes = ({0: torch.export.Dim("b", max=9)},)
    te = torch.export.export(theirs, (t,), dynamic_shapes=shapes)
    oe = cr.export.export(ours, (o,), dynamic_shapes=({0: Dim("b", max=9)},))
    ts = [(s.kind.name, s.arg.name, s.target) for s in te.graph_signature.input_specs]
    os_ = [(s.kind.name, s.arg.name, s.target) for s in oe.graph_signature.input_specs]
    assert os_ == ts
    (t2, o2) = M.inputs(5, 6, 4, seed=1)
    for program in (oe, _round_trip(oe)):
        got = cr.utils._pytree.tree_leaves(program.module()(o2))
        want = torch.utils._pytree.tree_leaves(te.module()(t2))
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-5)
    targets = [n.target.__name__ for n in oe.graph.nodes if n.op == "call_function"]
    loop = "lstm" if kind == "LSTM" else "gru" if kind == "GRU" else "rnn_tanh"
    assert targets.count(loop) == 1 and targets.count("zeros") == (2 if kind == "LSTM" else 1)


def test_unbatched_recurrent_input_stays_one_call():
    class R(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = cr.nn.LSTM(4, 5)

        def forward(self, x):
            return self.lstm(x)[0]

    m, x = R(), cr.randn(6, 4)
    ep = cr.export.export(m, (x,))
    assert [n.target for n in ep.graph.nodes if n.op == "call_module"] == ["lstm"]
    np.testing.assert_array_equal(ep.module()(x).detach().numpy(), m(x).detach().numpy())


def test_isinstance_tensor_holds_for_traced_inputs():
    """As torch's fake tensors: a model checking ``isinstance(x, Tensor)`` exports."""

    class C(cr.nn.Module):
        def forward(self, x, n):
            assert isinstance(x, cr.Tensor) and not isinstance(n, cr.Tensor)
            return x * n

    ep = cr.export.export(C(), (cr.ones(2), 3))
    assert ep.module()(cr.ones(2), 3).tolist() == [3.0, 3.0]


def test_unflatten_and_preserved_signatures():
    """unflatten is supported since session 38 (test_unflatten_session38.py): the GPT's
    rebuilt hierarchy computes the program's logits; preserve_module_call_signature since
    session 39 (test_preserve_signature_session39.py): a preserved block is rebuilt as a
    module called as the original one."""
    model = _gpt()
    ep = cr.export.export(model, (_idx(1, 4),))
    assert set(cr.export.__all__) >= {"unflatten", "export"} and hasattr(torch.export, "unflatten")
    u = cr.export.unflatten(ep)
    assert "transformer.h.1.attn" in dict(u.named_modules())
    got, want = u(_idx(1, 4, seed=3))[0], ep.module()(_idx(1, 4, seed=3))[0]
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    ep = cr.export.export(model, (_idx(1, 4),), preserve_module_call_signature=("transformer.h.1",))
    u = cr.export.unflatten(ep)
    got, want = u(_idx(1, 4, seed=3))[0], model(_idx(1, 4, seed=3))[0]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)
    h = cr.randn(1, 4, model.transformer.h[1].ln_1.normalized_shape[0])
    block = u.get_submodule("transformer.h.1")
    np.testing.assert_allclose(
        block(h).detach().numpy(), model.transformer.h[1](h).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_unbounded_length_checked_against_block_size_suggests_torchs_fix():
    """nanoGPT's ``if t > block_size: raise``: an unbounded ``Dim`` is refused with torch's
    suggested range, a bounded one exports."""

    def build(lib):
        class Pos(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.wpe = lib.nn.Embedding(12, 4)

            def forward(self, idx):
                t = idx.shape[1]
                if t > 12:
                    raise ValueError("too long")
                return self.wpe(lib.arange(t)) + idx.sum()

        return Pos()

    fixes = []
    for lib in (torch, cr):
        idx = lib.zeros(2, 7, dtype=lib.int64)
        err = M.error_of(
            lambda lib=lib, idx=idx: lib.export.export(
                build(lib), (idx,), dynamic_shapes=({1: lib.export.Dim("t")},)
            )
        )
        assert err[0] == "UserError" and err[1].startswith("Constraints violated (t)!")
        fixes.append(err[1].split("Suggested fixes:\n")[1].split("\n")[0])
        ep = lib.export.export(
            build(lib), (idx,), dynamic_shapes=({1: lib.export.Dim("t", max=12)},)
        )
        assert ep.module()(lib.zeros(2, 12, dtype=lib.int64)).shape == (12, 4)
    assert fixes[1] == fixes[0] == "  t = Dim('t', max=12)"
