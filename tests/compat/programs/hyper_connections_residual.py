"""Hyper-connections (Zhu et al. 2024, ByteDance), the learnable multi-stream residual that
replaces ``x + f(x)``, as lucidrains/hyper-connections (``hyper_connections/
hyper_connections.py``) writes it, einops spelled out in tensor ops, in a tiny pre-norm
transformer LM.

The idioms kept: ``get_init_and_expand_reduce_stream_functions`` (expand: ``repeat(x, 'b ... ->
(b s) ...', s=num_streams)`` as ``x.repeat_interleave(s, dim=0)``; reduce: ``reduce(x, '(b s)
... -> b ...', 'sum')`` as ``x.view(-1, s, *x.shape[1:]).sum(1)``); ``HyperConnections``'s
``init_residual_index = layer_index % num_residual_streams``, ``init_alpha0 =
torch.zeros((num_residual_streams, 1))`` with ``init_alpha0[init_residual_index, 0] = 1.``,
``static_alpha = nn.Parameter(torch.cat([init_alpha0, torch.eye(num_residual_streams)],
dim=1))``, ``dynamic_alpha_fn = nn.Parameter(torch.zeros(dim, num_residual_streams + 1))``,
``dynamic_alpha_scale = nn.Parameter(torch.ones(()) * 1e-2)``, ``static_beta =
nn.Parameter(torch.ones(num_residual_streams))``; ``width_connection`` (``self.norm(residuals)``
with ``nn.RMSNorm``, ``wc_weight = (normed @ self.dynamic_alpha_fn).tanh()``, ``alpha =
dynamic_alpha + self.static_alpha``, ``einsum(alpha, residuals, '... s t, ... s d -> ... t
d')``, ``branch_input, residuals = mix_h[..., 0, :], mix_h[..., 1:, :]``);
``depth_connection`` (``einsum(branch_output, beta, 'b ... d, b ... s -> b ... s d')`` then
``rearrange(output, 'b ... s d -> (b s) ... d')``, ``residuals + output``); the branch as an
``nn.Module`` wrapped by the connection (``forward(residuals, *branch_args)``); the
``disable = num_residual_streams == 1`` path, checked to be a plain residual.

Changed: 4 streams, width 8, 2 layers (attention and MLP branches each wrapped), sequences of
6, 5 AdamW steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, STREAMS, LAYERS, SEQ, BATCH, STEPS = 12, 8, 4, 2, 6, 3, 5


def make_model(torch_like: Any, num_streams: int = STREAMS) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class HyperConnections(nn.Module):
        def __init__(self, num_residual_streams: int, *, dim: int, branch: Any,
                     layer_index: int) -> None:  # fmt: skip
            super().__init__()
            self.branch = branch
            self.num_residual_streams = num_residual_streams
            self.disable = num_residual_streams == 1
            self.norm = nn.RMSNorm(dim, eps=1e-6)
            init_residual_index = layer_index % num_residual_streams
            init_alpha0 = torch.zeros((num_residual_streams, 1))
            init_alpha0[init_residual_index, 0] = 1.0
            self.static_alpha = nn.Parameter(
                torch.cat([init_alpha0, torch.eye(num_residual_streams)], dim=1)
            )
            self.dynamic_alpha_fn = nn.Parameter(torch.zeros(dim, num_residual_streams + 1))
            self.dynamic_alpha_scale = nn.Parameter(torch.ones(()) * 1e-2)
            self.static_beta = nn.Parameter(torch.ones(num_residual_streams))
            self.dynamic_beta_fn = nn.Parameter(torch.zeros(dim))
            self.dynamic_beta_scale = nn.Parameter(torch.ones(()) * 1e-2)

        def width_connection(self, residuals: Any) -> tuple[Any, Any, Any]:
            s = self.num_residual_streams
            residuals = residuals.view(-1, s, *residuals.shape[1:]).transpose(1, 2)  # b n s d
            normed = self.norm(residuals)
            wc_weight = (normed @ self.dynamic_alpha_fn).tanh()
            dynamic_alpha = wc_weight * self.dynamic_alpha_scale
            alpha = dynamic_alpha + self.static_alpha
            dc_weight = (normed @ self.dynamic_beta_fn).tanh()
            beta = dc_weight * self.dynamic_beta_scale + self.static_beta
            mix_h = torch.einsum("...st,...sd->...td", alpha, residuals)
            branch_input, residuals = mix_h[..., 0, :], mix_h[..., 1:, :]
            return branch_input, residuals, beta

        def depth_connection(self, branch_output: Any, residuals: Any, beta: Any) -> Any:
            output = torch.einsum("b...d,b...s->b...sd", branch_output, beta)
            out = residuals + output  # b n s d
            return out.transpose(1, 2).reshape(-1, *out.shape[1:2], out.shape[-1])

        def forward(self, residuals: Any, *branch_args: Any) -> Any:
            if self.disable:
                return residuals + self.branch(residuals, *branch_args)
            branch_input, residuals, beta = self.width_connection(residuals)
            return self.depth_connection(self.branch(branch_input, *branch_args), residuals, beta)

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.RMSNorm(DIM)
            self.qkv = nn.Linear(DIM, 3 * DIM, bias=False)
            self.out = nn.Linear(DIM, DIM, bias=False)

        def forward(self, x: Any) -> Any:
            q, k, v = self.qkv(self.norm(x)).view(*x.shape[:2], 3, 2, DIM // 2).unbind(2)
            o = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
            )
            return self.out(o.transpose(1, 2).reshape(x.shape))

    class FeedForward(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.RMSNorm(DIM), nn.Linear(DIM, 2 * DIM), nn.GELU(),
                                     nn.Linear(2 * DIM, DIM))  # fmt: skip

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class HyperTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_streams = num_streams
            self.embed = nn.Embedding(VOCAB, DIM)
            self.layers = nn.ModuleList()
            for i in range(LAYERS):
                self.layers.append(nn.ModuleList([
                    HyperConnections(num_streams, dim=DIM, branch=Attention(), layer_index=2 * i),
                    HyperConnections(num_streams, dim=DIM, branch=FeedForward(),
                                     layer_index=2 * i + 1),
                ]))  # fmt: skip
            self.norm = nn.RMSNorm(DIM)
            self.to_logits = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, ids: Any) -> Any:
            x = self.embed(ids)
            x = x.repeat_interleave(self.num_streams, dim=0)
            for attn, ff in self.layers:
                x = attn(x)
                x = ff(x)
            x = x.view(-1, self.num_streams, *x.shape[1:]).sum(1)
            return self.to_logits(self.norm(x))

    return HyperTransformer()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95))
    rng = np.random.default_rng(2)
    values: list[float] = []
    for _ in range(STEPS):
        ids = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    alpha = model.layers[0][0].static_alpha
    values += [alpha.sum().item(), model.layers[1][1].dynamic_beta_fn.abs().sum().item()]
    # one stream: a plain pre-norm residual transformer with the same branches
    plain = make_model(torch, num_streams=1)
    target = plain.state_dict()
    shared = {k: v for k, v in model.state_dict().items() if v.shape == target[k].shape}
    result = plain.load_state_dict(shared, strict=False)
    values += [len(result.missing_keys), len(result.unexpected_keys)]
    ids = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ)))
    with torch.no_grad():
        x = plain.embed(ids)
        for attn, ff in plain.layers:
            x = x + attn.branch(x)
            x = x + ff.branch(x)
        by_hand = plain.to_logits(plain.norm(x))
        values.append(float((plain(ids) - by_hand).abs().max() < 1e-12))
    return values
