"""Karpathy's minGPT (``mingpt/model.py`` and ``mingpt/trainer.py`` of karpathy/minGPT),
size-reduced, with the model-side idioms the nanoGPT program does not cover.

The idioms: ``configure_optimizers`` building the ``decay`` / ``no_decay`` sets (``for mn, m in
self.named_modules(): for pn, p in m.named_parameters(): fpn = '%s.%s' % (mn, pn) if mn else
pn``, ``isinstance(m, whitelist_weight_modules)`` against ``(torch.nn.Linear, )`` and
``(torch.nn.LayerNorm, torch.nn.Embedding)``), the sanity asserts (``inter_params = decay &
no_decay``, ``param_dict.keys() - union_params``), ``optim_groups`` over ``sorted(list(
decay))`` and ``torch.optim.AdamW(optim_groups, lr=..., betas=...)``; ``self.apply(
self._init_weights)`` (``torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)``,
``zeros_``, ``ones_``) and the scaled residual init ``if pn.endswith('c_proj.weight'):
torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))``; ``n_params =
sum(p.numel() for p in self.transformer.parameters())``; ``nn.ModuleDict(dict(wte=...,
h=nn.ModuleList([...])))``; ``CausalSelfAttention`` with ``register_buffer("bias",
torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))``,
``self.c_attn(x).split(self.n_embd, dim=2)``, ``att.masked_fill(self.bias[:,:,:T,:T] == 0,
float('-inf'))``; ``NewGELU``'s tanh form with ``torch.pow(x, 3.0)``; ``generate()`` under
``@torch.no_grad()`` with top-k (``v, _ = torch.topk(logits, top_k)``, ``logits[logits < v[:,
[-1]]] = -float('Inf')``) and greedy ``_, idx_next = torch.topk(probs, k=1, dim=-1)`` (the
multinomial branch replaced by greedy for determinism); and the Trainer loop's ``model.train()``,
``model.zero_grad(set_to_none=True)``, ``torch.nn.utils.clip_grad_norm_(model.parameters(),
config.grad_norm_clip)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


class CfgNode:
    """minGPT's tiny config object (attribute bag)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


CONFIG = CfgNode(
    vocab_size=9, block_size=6, n_layer=2, n_head=2, n_embd=8,
    embd_pdrop=0.0, resid_pdrop=0.0, attn_pdrop=0.0,
)  # fmt: skip


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class NewGELU(nn.Module):
        def forward(self, x):
            return (
                0.5 * x
                * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
            )  # fmt: skip

    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd)
            self.attn_dropout = nn.Dropout(config.attn_pdrop)
            self.resid_dropout = nn.Dropout(config.resid_pdrop)
            self.register_buffer(
                "bias",
                torch.tril(torch.ones(config.block_size, config.block_size)).view(
                    1, 1, config.block_size, config.block_size
                ),
            )
            self.n_head = config.n_head
            self.n_embd = config.n_embd

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            y = self.resid_dropout(self.c_proj(y))
            return y

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd)
            self.mlp = nn.ModuleDict(
                dict(
                    c_fc=nn.Linear(config.n_embd, 4 * config.n_embd),
                    c_proj=nn.Linear(4 * config.n_embd, config.n_embd),
                    act=NewGELU(),
                    dropout=nn.Dropout(config.resid_pdrop),
                )
            )
            m = self.mlp
            self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlpf(self.ln_2(x))
            return x

    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.block_size = config.block_size
            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(config.vocab_size, config.n_embd),
                    wpe=nn.Embedding(config.block_size, config.n_embd),
                    drop=nn.Dropout(config.embd_pdrop),
                    h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                    ln_f=nn.LayerNorm(config.n_embd),
                )
            )
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith("c_proj.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
            self.n_params = sum(p.numel() for p in self.transformer.parameters())

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                torch.nn.init.zeros_(module.bias)
                torch.nn.init.ones_(module.weight)

        def configure_optimizers(self, train_config):
            decay = set()
            no_decay = set()
            whitelist_weight_modules = (torch.nn.Linear,)
            blacklist_weight_modules = (torch.nn.LayerNorm, torch.nn.Embedding)
            for mn, m in self.named_modules():
                for pn, _p in m.named_parameters():
                    fpn = "%s.%s" % (mn, pn) if mn else pn  # noqa: UP031 (as minGPT)
                    if pn.endswith("bias"):
                        no_decay.add(fpn)
                    elif pn.endswith("weight") and isinstance(m, whitelist_weight_modules):
                        decay.add(fpn)
                    elif pn.endswith("weight") and isinstance(m, blacklist_weight_modules):
                        no_decay.add(fpn)
            param_dict = {pn: p for pn, p in self.named_parameters()}
            inter_params = decay & no_decay
            union_params = decay | no_decay
            assert len(inter_params) == 0, (
                "parameters %s made it into both decay/no_decay sets!" % (str(inter_params),)  # noqa: UP031
            )
            assert len(param_dict.keys() - union_params) == 0, (
                "parameters %s were not separated into either decay/no_decay set!"  # noqa: UP031
                % (str(param_dict.keys() - union_params),)
            )
            optim_groups = [
                {
                    "params": [param_dict[pn] for pn in sorted(list(decay))],
                    "weight_decay": train_config.weight_decay,
                },
                {"params": [param_dict[pn] for pn in sorted(list(no_decay))], "weight_decay": 0.0},
            ]
            optimizer = torch.optim.AdamW(
                optim_groups, lr=train_config.learning_rate, betas=train_config.betas
            )
            return optimizer, sorted(decay), sorted(no_decay)

        def forward(self, idx, targets=None):
            device = idx.device
            b, t = idx.size()
            assert t <= self.block_size, (
                f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
            )
            pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0)
            tok_emb = self.transformer.wte(idx)
            pos_emb = self.transformer.wpe(pos)
            x = self.transformer.drop(tok_emb + pos_emb)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            logits = self.lm_head(x)
            loss = None
            if targets is not None:
                loss = F.cross_entropy(
                    logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
                )
            return logits, loss

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
            for _ in range(max_new_tokens):
                idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size :]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, top_k)
                    logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                if do_sample:
                    raise NotImplementedError("multinomial sampling: greedy for determinism")
                _, idx_next = torch.topk(probs, k=1, dim=-1)
                idx = torch.cat((idx, idx_next), dim=1)
            return idx, probs

    return GPT(CONFIG)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    train_config = CfgNode(learning_rate=5e-3, betas=(0.9, 0.95), weight_decay=0.1,
                           grad_norm_clip=0.05)  # fmt: skip
    optimizer, decay, no_decay = model.configure_optimizers(train_config)
    values: list[float] = [float(model.n_params), float(len(decay)), float(len(no_decay))]
    values += [float(n.endswith("weight")) for n in decay]
    values += [float(model.transformer.h[0].attn.bias.sum().item())]
    values += [
        float(len(model.state_dict())),
        float("transformer.h.1.attn.bias" in model.state_dict()),
    ]

    rng = np.random.default_rng(11)
    model.train()
    for _step in range(3):
        data = rng.integers(0, CONFIG.vocab_size, (3, CONFIG.block_size + 1))
        x, y = as_tensor(torch, data[:, :-1]), as_tensor(torch, data[:, 1:])
        logits, loss = model(x, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_norm_clip)
        optimizer.step()
        values += [loss.item(), norm.item()]

    model.eval()
    prompt = as_tensor(torch, rng.integers(0, CONFIG.vocab_size, (2, 3)))
    out, probs = model.generate(prompt, 5, temperature=0.8, top_k=3)
    values += out.flatten().tolist()
    values += probs.flatten().tolist()
    values += [float((probs > 0).sum().item() == 2 * 3)]
    return values
