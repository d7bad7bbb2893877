"""SGD with momentum over sparse gradients (``nn.Embedding(sparse=True)``, word2vec-style
training): the momentum buffer is a sparse tensor, as PyTorch keeps it, and the weights follow
PyTorch's step by step (plain, Nesterov, dampening, maximize)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

W = np.random.default_rng(0).standard_normal((6, 3))


def _train(lib, kw, steps=4):
    emb = lib.nn.Embedding(6, 3, sparse=True, dtype=lib.float64)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(W))
    opt = lib.optim.SGD(emb.parameters(), lr=0.1, **kw)
    for i in range(steps):
        opt.zero_grad()
        (emb(lib.tensor([i, 1, 1, 5])) ** 2).sum().backward()
        opt.step()
    return emb.weight, opt.state[emb.weight]["momentum_buffer"]


@pytest.mark.parametrize(
    "kw",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.9, "dampening": 0.5},
        {"momentum": 0.5, "maximize": True},
    ],
    ids=["momentum", "nesterov", "dampening", "maximize"],
)
def test_sparse_momentum_matches_torch(kw):
    (cw, cbuf), (tw, tbuf) = _train(cr, kw), _train(torch, kw)
    np.testing.assert_allclose(cw.detach().numpy(), tw.detach().numpy(), rtol=1e-12)
    assert cbuf.is_sparse and tbuf.is_sparse
    np.testing.assert_allclose(cbuf.to_dense().numpy(), tbuf.to_dense().numpy(), rtol=1e-12)
    # rows never looked up keep their starting values, in both
    np.testing.assert_array_equal(cw.detach().numpy()[4], W[4])


def test_sparse_momentum_state_dict_round_trip():
    """The sparse buffer comes back from a state dict and the next steps are unchanged."""
    weight, _ = _train(cr, {"momentum": 0.9}, steps=2)
    emb = cr.nn.Embedding(6, 3, sparse=True, dtype=cr.float64)
    opt = cr.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
    with cr.no_grad():
        emb.weight.copy_(weight)
    ref_emb = cr.nn.Embedding(6, 3, sparse=True, dtype=cr.float64)
    ref = cr.optim.SGD(ref_emb.parameters(), lr=0.1, momentum=0.9)
    with cr.no_grad():
        ref_emb.weight.copy_(cr.tensor(W))
    for i in range(2):
        ref.zero_grad()
        (ref_emb(cr.tensor([i, 1, 1, 5])) ** 2).sum().backward()
        ref.step()
    opt.load_state_dict(ref.state_dict())
    assert opt.state[emb.weight]["momentum_buffer"].is_sparse
    for e, o in ((emb, opt), (ref_emb, ref)):
        o.zero_grad()
        (e(cr.tensor([2, 1])) ** 2).sum().backward()
        o.step()
    np.testing.assert_allclose(emb.weight.detach().numpy(), ref_emb.weight.detach().numpy())


def test_sparse_momentum_with_weight_decay_raises_like_torch():
    for lib in (cr, torch):
        emb = lib.nn.Embedding(6, 3, sparse=True)
        opt = lib.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
        emb(lib.tensor([0, 1])).sum().backward()
        with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
            opt.step()
