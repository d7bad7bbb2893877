"""gMLP ("Pay Attention to MLPs", Liu et al. 2021) as lucidrains' ``g-mlp-pytorch`` writes it
(``g_mlp_pytorch/g_mlp_pytorch.py``: the first releases' ``nn.Conv1d`` spatial gating unit and
the later multi-head one with the aMLP "tiny attention"), size-reduced.

The idioms: ``SpatialGatingUnit`` splitting ``res, gate = x.chunk(2, dim=-1)``, ``nn.LayerNorm``
on the gate, a ``nn.Conv1d(dim_seq, dim_seq, 1)`` over the sequence axis initialised by
``nn.init.uniform_(self.proj.weight, -init_eps, init_eps)`` / ``nn.init.constant_(
self.proj.bias, 1.)``, and in causal mode its ``weight[:n, :n]`` masked by
``torch.ones(weight.shape[:2], device=device).triu_(1).bool()`` in ``weight.masked_fill(mask[...,
None], 0.)`` before ``F.conv1d(gate, weight, bias)``; the multi-head unit (``weight =
torch.zeros(shape)`` as an ``nn.Parameter``, ``init_eps /= dim_seq``, ``torch.einsum('b h n d,
h m n -> b h m d', gate, weight)``, the bias as ``bias[None, :, :, None]``, heads split by
``gate.unflatten(-1, (h, -1)).transpose(1, 2)``) with ``act = nn.Tanh()``; the aMLP
``Attention`` (``self.to_qkv(x).chunk(3, dim=-1)``, ``torch.einsum('b i d, b j d -> b i j')``,
``sim.masked_fill_(mask[None, ...], -torch.finfo(q.dtype).max)``, ``sim.softmax(dim=-1)``)
added as ``gate_res``; ``Residual(PreNorm(dim, gMLPBlock(...)))`` layers in an
``nn.ModuleList`` with ``nn.Sequential(nn.Linear(dim, dim_ff), nn.GELU())`` projections;
``dropout_layers`` with ``prob_survival=1``; an autoregressive LM trained with Adam, and the
causality of both variants checked by perturbing a later token.

Changed: sizes (dim 8, dim_ff 16, sequences of 6, 2 layers, 11 tokens, batch 2, 3 steps).
"""

from __future__ import annotations

from random import randrange
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, FF, SEQ, DEPTH, BATCH, STEPS = 11, 8, 16, 6, 2, 2, 3


def exists(val: Any) -> bool:
    return val is not None


def dropout_layers(layers: list, prob_survival: float) -> list:
    if prob_survival == 1:
        return layers
    num_layers = len(layers)
    to_drop = [np.random.uniform() > prob_survival for _ in range(num_layers)]
    if all(to_drop):  # make sure at least one layer makes it
        to_drop[randrange(num_layers)] = False
    return [layer for (layer, drop) in zip(layers, to_drop) if not drop]


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    einsum = torch.einsum

    class Residual(nn.Module):
        def __init__(self, fn: Any) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x: Any) -> Any:
            return self.fn(x) + x

    class PreNorm(nn.Module):
        def __init__(self, dim: int, fn: Any) -> None:
            super().__init__()
            self.fn = fn
            self.norm = nn.LayerNorm(dim)

        def forward(self, x: Any, **kwargs: Any) -> Any:
            x = self.norm(x)
            return self.fn(x, **kwargs)

    class Attention(nn.Module):
        def __init__(self, dim_in: int, dim_out: int, dim_inner: int, causal: bool = False):
            super().__init__()
            self.scale = dim_inner**-0.5
            self.causal = causal
            self.to_qkv = nn.Linear(dim_in, dim_inner * 3, bias=False)
            self.to_out = nn.Linear(dim_inner, dim_out)

        def forward(self, x: Any) -> Any:
            device = x.device
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            sim = einsum("b i d, b j d -> b i j", q, k) * self.scale
            if self.causal:
                mask = torch.ones(sim.shape[-2:], device=device).triu(1).bool()
                sim.masked_fill_(mask[None, ...], -torch.finfo(q.dtype).max)
            attn = sim.softmax(dim=-1)
            out = einsum("b i j, b j d -> b i d", attn, v)
            return self.to_out(out)

    class ConvSpatialGatingUnit(nn.Module):
        """The first release's unit: a 1x1 ``Conv1d`` whose channels are the positions."""

        def __init__(self, dim: int, dim_seq: int, causal: bool = False, init_eps: float = 1e-3):
            super().__init__()
            dim_out = dim // 2
            self.causal = causal
            self.norm = nn.LayerNorm(dim_out)
            self.proj = nn.Conv1d(dim_seq, dim_seq, 1)
            init_eps /= dim_seq
            nn.init.uniform_(self.proj.weight, -init_eps, init_eps)
            nn.init.constant_(self.proj.bias, 1.0)

        def forward(self, x: Any, gate_res: Any = None) -> Any:
            device, n = x.device, x.shape[1]
            res, gate = x.chunk(2, dim=-1)
            gate = self.norm(gate)
            weight, bias = self.proj.weight, self.proj.bias
            if self.causal:
                weight, bias = weight[:n, :n], bias[:n]
                mask = torch.ones(weight.shape[:2], device=device).triu_(1).bool()
                weight = weight.masked_fill(mask[..., None], 0.0)
            gate = F.conv1d(gate, weight, bias)
            if exists(gate_res):
                gate = gate + gate_res
            return gate * res

    class SpatialGatingUnit(nn.Module):
        """The multi-head unit of later releases."""

        def __init__(
            self,
            dim: int,
            dim_seq: int,
            causal: bool = False,
            act: Any = None,
            heads: int = 1,
            init_eps: float = 1e-3,
        ) -> None:
            super().__init__()
            dim_out = dim // 2
            self.heads = heads
            self.causal = causal
            self.norm = nn.LayerNorm(dim_out)
            self.act = act if act is not None else nn.Identity()
            shape = (heads, dim_seq, dim_seq)
            weight = torch.zeros(shape)
            self.weight = nn.Parameter(weight)
            init_eps /= dim_seq
            nn.init.uniform_(self.weight, -init_eps, init_eps)
            self.bias = nn.Parameter(torch.ones(heads, dim_seq))

        def forward(self, x: Any, gate_res: Any = None) -> Any:
            device, n, h = x.device, x.shape[1], self.heads
            res, gate = x.chunk(2, dim=-1)
            gate = self.norm(gate)
            weight, bias = self.weight, self.bias
            weight, bias = weight[:, :n, :n], bias[:, :n]
            if self.causal:
                mask = torch.ones(weight.shape[-2:], device=device).triu_(1).bool()
                mask = mask[None]
                weight = weight.masked_fill(mask, 0.0)
            gate = gate.unflatten(-1, (h, -1)).transpose(1, 2)  # b n (h d) -> b h n d
            gate = einsum("b h n d, h m n -> b h m d", gate, weight)
            gate = gate + bias[None, :, :, None]
            gate = gate.transpose(1, 2).flatten(-2)  # b h n d -> b n (h d)
            if exists(gate_res):
                gate = gate + gate_res
            return self.act(gate) * res

    class gMLPBlock(nn.Module):
        def __init__(
            self,
            *,
            dim: int,
            dim_ff: int,
            seq_len: int,
            heads: int = 1,
            attn_dim: Any = None,
            causal: bool = False,
            act: Any = None,
            conv: bool = False,
        ) -> None:
            super().__init__()
            self.proj_in = nn.Sequential(nn.Linear(dim, dim_ff), nn.GELU())
            self.attn = Attention(dim, dim_ff // 2, attn_dim, causal) if exists(attn_dim) else None
            if conv:
                self.sgu = ConvSpatialGatingUnit(dim_ff, seq_len, causal)
            else:
                self.sgu = SpatialGatingUnit(dim_ff, seq_len, causal, act, heads)
            self.proj_out = nn.Linear(dim_ff // 2, dim)

        def forward(self, x: Any) -> Any:
            gate_res = self.attn(x) if exists(self.attn) else None
            x = self.proj_in(x)
            x = self.sgu(x, gate_res=gate_res)
            x = self.proj_out(x)
            return x

    class gMLP(nn.Module):
        def __init__(self, *, conv: bool, heads: int = 1, attn_dim: Any = None, act: Any = None):
            super().__init__()
            self.prob_survival = 1.0
            self.to_embed = nn.Embedding(VOCAB, DIM)
            self.layers = nn.ModuleList(
                [
                    Residual(
                        PreNorm(
                            DIM,
                            gMLPBlock(
                                dim=DIM,
                                heads=heads,
                                dim_ff=FF,
                                seq_len=SEQ,
                                attn_dim=attn_dim,
                                causal=True,
                                act=act,
                                conv=conv,
                            ),
                        )
                    )
                    for i in range(DEPTH)
                ]
            )
            self.to_logits = nn.Sequential(nn.LayerNorm(DIM), nn.Linear(DIM, VOCAB))

        def forward(self, x: Any) -> Any:
            x = self.to_embed(x)
            layers = (
                self.layers
                if not self.training
                else dropout_layers(self.layers, self.prob_survival)
            )
            out = nn.Sequential(*layers)(x)
            return self.to_logits(out)

    return gMLP


def make_model(torch_like: Any) -> Any:
    gMLP = _classes(torch_like)
    nn = torch_like.nn
    return nn.ModuleDict(
        {
            "conv": gMLP(conv=True),
            "amlp": gMLP(conv=False, heads=2, attn_dim=4, act=nn.Tanh()),
        }
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(4)
    data = torch.from_numpy(rng.integers(0, VOCAB, size=(STEPS, BATCH, SEQ + 1)))
    values: list[float] = []
    for name, model in models.items():
        optim = torch.optim.Adam(model.parameters(), lr=3e-3)
        for step in range(STEPS):
            model.train()
            inp, target = data[step, :, :-1], data[step, :, 1:]
            logits = model(inp)
            loss = F.cross_entropy(logits.transpose(1, 2), target)
            loss.backward()
            optim.step()
            optim.zero_grad()
            values.append(loss.item())
        model.eval()
        with torch.no_grad():
            base = model(data[0, :, :-1])
            changed = data[0, :, :-1].clone()
            changed[:, 4] = (changed[:, 4] + 1) % VOCAB
            after = model(changed)
            # causal: the positions before the perturbed token see no change
            assert torch.equal(base[:, :4], after[:, :4]), name
            values += [(after - base).abs().sum().item(), base.log_softmax(-1)[:, -1].sum().item()]
    return values
