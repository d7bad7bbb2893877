"""cr.models.gpt: parameter counts, equivalence with a PyTorch GPT, training and sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
from chainrule import models, nn
from chainrule.models.gpt import GPT, GPTConfig


@pytest.fixture
def no_init(monkeypatch):
    """Counting parameters needs no random weights: skip the initialisers."""
    monkeypatch.setattr(GPT, "reset_parameters", lambda self: None)
    monkeypatch.setattr(nn.Linear, "reset_parameters", lambda self: None)
    monkeypatch.setattr(nn.Embedding, "reset_parameters", lambda self: None)


def test_gpt2_has_gpt2_small_parameter_count(no_init):
    assert GPTConfig().num_parameters() == 124_439_808
    m = models.get_model("gpt2")
    assert m.num_parameters() == 124_439_808  # the tied embedding/head matrix counted once
    assert m.lm_head.weight is m.transformer.wte.weight
    names = list(m.state_dict())  # both names of the tied matrix, as torch's state_dict
    assert names[0] == "transformer.wte.weight" and names[-1] == "lm_head.weight"


@pytest.mark.parametrize("bias", [True, False])
def test_closed_form_count_matches_the_model(bias):
    cfg = GPTConfig(block_size=8, vocab_size=13, n_layer=2, n_head=2, n_embd=12, bias=bias)
    assert GPT(cfg).num_parameters() == cfg.num_parameters()


def test_registry_and_init():
    cr.manual_seed(0)
    m = models.get_model("gpt", vocab_size=50, n_layer=2, n_embd=64, n_head=4)
    assert "gpt" in models.list_models() and "gpt2" in models.list_models()
    w = m.transformer.h[0].mlp.c_fc.weight.data
    assert abs(w.std() - 0.02) < 0.002
    proj = m.transformer.h[1].attn.c_proj.weight.data
    assert abs(proj.std() - 0.02 / math.sqrt(4)) < 0.002
    with pytest.raises(ValueError, match="divisible"):
        models.get_model("gpt", n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="block_size"):
        m(cr.zeros(1, 65, dtype=cr.int64))


# ------------------------------------------------------------------- a PyTorch reference GPT
class _TorchBlock(torch.nn.Module):
    def __init__(self, e, h, bias):
        super().__init__()
        self.h = h
        self.ln_1 = torch.nn.LayerNorm(e, bias=bias, dtype=torch.float64)
        self.attn = torch.nn.Module()
        self.attn.c_attn = torch.nn.Linear(e, 3 * e, bias=bias, dtype=torch.float64)
        self.attn.c_proj = torch.nn.Linear(e, e, bias=bias, dtype=torch.float64)
        self.ln_2 = torch.nn.LayerNorm(e, bias=bias, dtype=torch.float64)
        self.mlp = torch.nn.Module()
        self.mlp.c_fc = torch.nn.Linear(e, 4 * e, bias=bias, dtype=torch.float64)
        self.mlp.c_proj = torch.nn.Linear(4 * e, e, bias=bias, dtype=torch.float64)

    def forward(self, x):
        B, T, E = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(E, 2)
        q, k, v = (t.view(B, T, self.h, E // self.h).transpose(1, 2) for t in (q, k, v))
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, E))
        return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x))))


class _TorchGPT(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        e = cfg.n_embd
        self.transformer = torch.nn.ModuleDict(
            {
                "wte": torch.nn.Embedding(cfg.vocab_size, e, dtype=torch.float64),
                "wpe": torch.nn.Embedding(cfg.block_size, e, dtype=torch.float64),
                "h": torch.nn.ModuleList(
                    _TorchBlock(e, cfg.n_head, cfg.bias) for _ in range(cfg.n_layer)
                ),
                "ln_f": torch.nn.LayerNorm(e, bias=cfg.bias, dtype=torch.float64),
            }
        )
        self.lm_head = torch.nn.Linear(e, cfg.vocab_size, bias=False, dtype=torch.float64)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        t = self.transformer
        x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
        for block in t.h:
            x = block(x)
        return self.lm_head(t.ln_f(x))


@pytest.mark.parametrize("bias", [True, False])
def test_matches_a_torch_gpt_with_copied_weights(bias):
    cfg = GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8, bias=bias)
    torch.manual_seed(0)
    ref = _TorchGPT(cfg)
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0.0, 0.3)
    m = GPT(cfg).double()
    assert list(m.state_dict()) == list(ref.state_dict())
    m.load_state_dict({k: cr.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    idx = np.random.default_rng(0).integers(0, 11, (3, 7))
    tgt = np.random.default_rng(1).integers(0, 11, (3, 7))
    logits, loss = m(cr.tensor(idx), cr.tensor(tgt))
    rlogits = ref(torch.tensor(idx))
    rloss = TF.cross_entropy(rlogits.reshape(-1, 11), torch.tensor(tgt).reshape(-1))
    np.testing.assert_allclose(logits.data, rlogits.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(float(loss.data), rloss.item(), rtol=1e-12)
    loss.backward()
    rloss.backward()
    for (n, p), (rn, rp) in zip(m.named_parameters(), ref.named_parameters()):
        assert n == rn
        np.testing.assert_allclose(p.grad.data, rp.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=n)


def test_lm_recipe_steps_match_nanogpts_with_pytorch():
    """The language-model trainer's update (chainrule.train.lm) is nanoGPT's: AdamW with
    weight decay on every parameter of 2+ dimensions (the tied token embedding/head and the
    position embedding included, LayerNorm gains excluded), beta2 0.99, eps 1e-8, the warm-up
    + cosine learning rate set before each step, the gradient norm clipped to 1 before it."""
    from chainrule.train.lm import LMConfig, _optimizer, build_language_model, lr_at

    lm = LMConfig(block_size=8, n_layer=2, n_head=2, n_embd=8, max_iters=12, warmup_iters=3)
    lm.lr, lm.min_lr = 3e-2, 3e-3  # large steps, so that a wrong detail shows
    lm.grad_clip = 0.5  # below the usual gradient norms here, so that the clip acts
    m = build_language_model(lm, 11).double()
    opt = _optimizer(m, lm)
    cfg = GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8, bias=False)
    ref = _TorchGPT(cfg)
    ref.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    params = list(ref.parameters())
    ropt = torch.optim.AdamW(
        [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=lm.lr,
        betas=(0.9, 0.99),
    )
    assert [len(g["params"]) for g in opt.param_groups] == [
        len(g["params"]) for g in ropt.param_groups
    ]  # 2 embeddings + 4 matrices a block decay; 2 gains a block + ln_f do not
    rng = np.random.default_rng(0)
    norms = []
    for it in range(lm.max_iters):
        idx, tgt = rng.integers(0, 11, (2, 3, 8))
        for g in (*opt.param_groups, *ropt.param_groups):
            g["lr"] = lr_at(it, lm)
        _, loss = m(cr.tensor(idx), cr.tensor(tgt))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(m.parameters(), lm.grad_clip)
        opt.step()
        rloss = TF.cross_entropy(ref(torch.tensor(idx)).reshape(-1, 11), torch.tensor(tgt).view(-1))
        ropt.zero_grad(set_to_none=True)
        rloss.backward()
        rnorm = torch.nn.utils.clip_grad_norm_(ref.parameters(), lm.grad_clip)
        ropt.step()
        assert float(loss.data) == pytest.approx(rloss.item(), rel=1e-10)
        assert float(norm.data) == pytest.approx(rnorm.item(), rel=1e-9)
        norms.append(float(norm.data))
    assert sum(n > lm.grad_clip for n in norms) >= 3  # the clip was active on several steps
    for (n, p), (rn, rp) in zip(m.named_parameters(), ref.named_parameters()):
        assert n == rn
        np.testing.assert_allclose(p.data, rp.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=n)


# ------------------------------------------------------------------------ training, sampling
@pytest.mark.slow
def test_tiny_gpt_overfits_a_short_string():
    text = "to be or not to be, that is the question. "
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text], dtype=np.int64)
    cr.manual_seed(0)
    m = models.get_model(
        "gpt", vocab_size=len(chars), block_size=16, n_layer=1, n_head=2, n_embd=32
    )
    opt = cr.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.0)
    starts = np.arange(len(ids) - 16)
    x = cr.tensor(np.stack([ids[s : s + 16] for s in starts]))
    y = cr.tensor(np.stack([ids[s + 1 : s + 17] for s in starts]))
    first = None
    for _ in range(120):
        _, loss = m(x, y)
        first = float(loss.data) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 2.5 and float(loss.data) < 0.15, (first, float(loss.data))
    prompt = cr.tensor(ids[None, :16])
    out = m.generate(prompt, 20, top_k=1)  # greedy: continues the memorised text
    got = "".join(chars[i] for i in out.data[0, 16:])
    assert got == (text * 2)[16:36]


def test_generate_is_deterministic_with_a_seeded_generator():
    cr.manual_seed(0)
    m = models.get_model("gpt", vocab_size=17, block_size=6, n_layer=1, n_head=2, n_embd=8)
    idx = cr.tensor(np.array([[1, 2, 3], [4, 5, 6]]))
    a = m.generate(idx, 9, temperature=0.8, generator=cr.Generator().manual_seed(5))
    b = m.generate(idx, 9, temperature=0.8, generator=cr.Generator().manual_seed(5))
    c = m.generate(idx, 9, temperature=0.8, generator=cr.Generator().manual_seed(6))
    assert a.shape == (2, 12)  # longer than block_size: the context is cropped
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data[:, :3], idx.data)
    assert not np.array_equal(a.data, c.data)
    greedy = m.generate(idx, 1, top_k=1)
    with cr.no_grad():
        want = m(idx).data[:, -1].argmax(-1)
    np.testing.assert_array_equal(greedy.data[:, -1], want)
    assert m.training  # generate restores the mode


def test_dropout_only_in_training_mode():
    cr.manual_seed(0)
    m = models.get_model(
        "gpt", vocab_size=17, block_size=6, n_layer=1, n_head=2, n_embd=8, dropout=0.5
    )
    idx = cr.tensor(np.array([[1, 2, 3, 4]]))
    assert not np.allclose(m(idx).data, m(idx).data)
    m.eval()
    np.testing.assert_array_equal(m(idx).data, m(idx).data)
