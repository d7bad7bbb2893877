"""CharLSTM language model and the GRU sequence classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.models.language import generate_tokens


def test_char_lstm_shapes_registry_and_torch_parity():
    m = cr.models.get_model(
        "char_lstm", vocab_size=11, embedding_dim=6, hidden_size=5, num_layers=2
    )
    names = [n for n, _ in m.named_parameters()]
    assert "lstm.weight_ih_l1" in names and "embedding.weight" in names
    idx = np.random.default_rng(0).integers(0, 11, (3, 7))
    logits = m(cr.tensor(idx))
    assert logits.shape == (3, 7, 11)
    # the same network in torch gives the same logits
    emb, lstm, head = (
        torch.nn.Embedding(11, 6),
        torch.nn.LSTM(6, 5, 2, batch_first=True),
        torch.nn.Linear(5, 11),
    )
    sd = m.state_dict()
    for prefix, mod in (("embedding.", emb), ("lstm.", lstm), ("head.", head)):
        mod.load_state_dict(
            {k: torch.tensor(np.asarray(sd[prefix + k].data)) for k in mod.state_dict()}
        )
    ref = head(lstm(emb(torch.tensor(idx)))[0])
    np.testing.assert_allclose(logits.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_char_lstm_stateful_generate_equals_full_recompute():
    m = cr.models.char_lstm(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    fast = m.generate(prompt, 12, temperature=0.8, top_k=5, generator=cr.Generator().manual_seed(3))
    slow = generate_tokens(
        m, prompt, 12, temperature=0.8, top_k=5, generator=cr.Generator().manual_seed(3)
    )
    assert fast.shape == (2, 15)
    np.testing.assert_array_equal(fast.data, slow.data)
    np.testing.assert_array_equal(fast.data[:, :3], prompt)
    with pytest.raises(ValueError, match="temperature"):
        m.generate(prompt, 3, temperature=0.0)


def test_char_lstm_learns_a_repeating_sequence():
    cr.manual_seed(0)
    m = cr.models.char_lstm(vocab_size=5, embedding_dim=8, hidden_size=16, num_layers=1)
    opt = cr.optim.Adam(m.parameters(), lr=0.03)
    seq = np.tile(np.arange(5), 8)[None]
    x, y = cr.tensor(seq[:, :-1]), cr.tensor(seq[:, 1:])
    for _ in range(60):
        loss = cr.nn.functional.cross_entropy(m(x).reshape(-1, 5), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.item()) < 0.1
    out = m.generate(np.array([[0]]), 9, top_k=1)
    np.testing.assert_array_equal(out.data[0], np.tile(np.arange(5), 2))


def test_gru_classifier():
    m = cr.models.get_model("gru", num_classes=10, in_channels=1)
    assert m(cr.randn(4, 1, 40)).shape == (4, 10)
    assert m(cr.randn(4, 40)).shape == (4, 10)
    bi = cr.models.gru(
        num_classes=3, in_channels=2, hidden_size=5, num_layers=2, bidirectional=True
    )
    x = cr.randn(2, 2, 7, requires_grad=True)
    bi(x).sum().backward()
    assert x.grad.shape == (2, 2, 7)
    with pytest.raises(ValueError, match="expected input"):
        m(cr.randn(4, 2, 40))


def test_summary_counts_recurrent_macs():
    s = cr.models.summary(cr.models.char_lstm(), input_size=(1, 64), dtype=cr.int64)
    # 2 layers x (W_ih + W_hh = 2 x 512 x 128) per step, plus the head, over 64 steps
    assert s.total_macs == 64 * (2 * 2 * 512 * 128) + 64 * 128 * 65
    lstm = cr.nn.Sequential(cr.nn.LSTM(3, 4, proj_size=2, bidirectional=True))
    s = cr.models.summary(lstm, input_size=(5, 2, 3))
    per_step = 2 * (16 * 3 + 16 * 2 + 2 * 4)
    assert s.total_macs == 10 * per_step
