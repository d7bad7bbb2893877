"""RetNet's multi-scale retention ("Retentive Network", Sun et al. 2023) as Jamie-Stirling/RetNet
(``src/retention.py``, ``src/xpos_relative_position.py``, ``src/retnet.py``) and microsoft
torchscale's ``RetNetRelPos`` write them, size-reduced.

The idioms: the xPos rotation (``fixed_pos_embedding`` with ``torch.einsum("i , j -> i j",
torch.arange(0, seq_len, dtype=torch.float), inv_freq).to(x)``, ``rotate_every_two`` as
``torch.stack((-x2, x1), dim=-1).flatten(-2)``, ``duplicate_interleave`` as ``m.view(-1,
1).repeat(1, 2).view(dim0, -1)``, the ``scale`` buffer raised to ``torch.arange(min_pos,
max_pos, 1).to(self.scale).div(self.scale_base)[:, None]`` and inverted for keys with
``downscale``); ``SimpleRetention`` with raw ``nn.Parameter(torch.randn(hidden, head) /
hidden)`` projections and the decay mask ``D = (self.gamma ** (n - m)) * (n >= m).float()``
cleaned with ``D[D != D] = 0``; its parallel form ``(Q @ K.permute(0, 2, 1)) * D.unsqueeze(0)
@ V``, its recurrent form ``s_n = self.gamma * s_n_1 + (K.transpose(-1, -2) @ V)`` and its
chunkwise form (``r_i = K^T @ (V * D[-1].view(1, chunk_size, 1)) + gamma ** chunk_size *
r_i_1``, the cross-chunk ``e[:, _i, :] = self.gamma ** (_i + 1)`` filled into ``torch.zeros``);
``MultiScaleRetention`` with the per-head ``gammas = (1 - torch.exp(torch.linspace(math.log(1 /
32), math.log(1 / 512), heads))).detach().cpu().tolist()``, ``torch.cat(Y, dim=2)``, an
``nn.GroupNorm(heads, v_dim)`` over ``Y.reshape(-1, v_dim)`` and the swish gate ``X @ W_G``;
``RetNet`` layers of pre-``LayerNorm`` retention + GELU FFN with ``forward_recurrent`` and
``forward_chunkwise`` that must agree with the parallel pass (``torch.allclose``); torchscale's
decay ``torch.log(1 - 2 ** (-5 - torch.arange(heads, dtype=torch.float)))``, its mask from
``torch.tril(torch.ones(slen, slen).to(decay))``, ``masked_fill(..., ~mask.bool(),
float("inf"))``, ``torch.exp(mask * decay[:, None, None])``, ``torch.nan_to_num`` and the row
normalisation by ``mask.sum(dim=-1, keepdim=True).sqrt()``; and a few Adam steps of a
regression on the parallel output.

Changed: sizes (2 layers, hidden 8, 2 heads, a sequence of 6, batch 2), and xPos's buffer
keeps the model's dtype so that float64 runs stay float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

LAYERS, HIDDEN, FFN, HEADS, BATCH, SEQ, CHUNK, STEPS, LR = 2, 8, 16, 2, 2, 6, 3, 4, 1e-2


def fixed_pos_embedding(torch_like: Any, x: Any) -> tuple[Any, Any]:
    torch = torch_like
    seq_len, dim = x.shape
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim) / dim))
    sinusoid_inp = torch.einsum(
        "i , j -> i j", torch.arange(0, seq_len, dtype=torch.float), inv_freq
    ).to(x)
    return torch.sin(sinusoid_inp), torch.cos(sinusoid_inp)


def rotate_every_two(torch_like: Any, x: Any) -> Any:
    x1 = x[:, :, ::2]
    x2 = x[:, :, 1::2]
    x = torch_like.stack((-x2, x1), dim=-1)
    return x.flatten(-2)  # in einsum notation: rearrange(x, '... d j -> ... (d j)')


def duplicate_interleave(m: Any) -> Any:
    """A 2-D (dim0, d) matrix to (dim0, 2d), each column repeated in place."""
    dim0 = m.shape[0]
    m = m.view(-1, 1)  # flatten the matrix
    m = m.repeat(1, 2)  # repeat all elements into the 2nd dimension
    m = m.view(dim0, -1)  # reshape into a matrix, interleaving the copy
    return m


def apply_rotary_pos_emb(torch_like: Any, x: Any, sin: Any, cos: Any, scale: Any = 1) -> Any:
    sin, cos = (duplicate_interleave(t * scale) for t in (sin, cos))
    return (x * cos) + (rotate_every_two(torch_like, x) * sin)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class XPOS(nn.Module):
        def __init__(self, head_dim: int, scale_base: int = 512) -> None:
            super().__init__()
            self.head_dim = head_dim
            self.scale_base = scale_base
            self.register_buffer(
                "scale", (torch.arange(0, head_dim, 2) + 0.4 * head_dim) / (1.4 * head_dim)
            )

        def forward(self, x: Any, offset: int = 0, downscale: bool = False) -> Any:
            length = x.shape[1]
            min_pos = 0
            max_pos = length + offset + min_pos
            scale = (
                self.scale
                ** torch.arange(min_pos, max_pos, 1).to(self.scale).div(self.scale_base)[:, None]
            )
            sin, cos = fixed_pos_embedding(torch, scale)
            if scale.shape[0] > length:
                scale = scale[-length:]
                sin = sin[-length:]
                cos = cos[-length:]
            if downscale:
                scale = 1 / scale
            return apply_rotary_pos_emb(torch, x, sin, cos, scale)

    class SimpleRetention(nn.Module):
        def __init__(self, hidden_size: int, gamma: float, head_size: int) -> None:
            super().__init__()
            self.hidden_size = hidden_size
            self.head_size = head_size
            self.v_dim = head_size
            self.gamma = gamma
            self.W_Q = nn.Parameter(torch.randn(hidden_size, head_size) / hidden_size)
            self.W_K = nn.Parameter(torch.randn(hidden_size, head_size) / hidden_size)
            self.W_V = nn.Parameter(torch.randn(hidden_size, self.v_dim) / hidden_size)
            self.xpos = XPOS(head_size)

        def forward(self, X: Any) -> Any:
            sequence_length = X.shape[1]
            D = self._get_D(sequence_length).to(self.W_Q.device)
            Q = X @ self.W_Q
            K = X @ self.W_K
            Q = self.xpos(Q)
            K = self.xpos(K, downscale=True)
            V = X @ self.W_V
            ret = (Q @ K.permute(0, 2, 1)) * D.unsqueeze(0)
            return ret @ V

        def forward_recurrent(self, x_n: Any, s_n_1: Any, n: int) -> tuple[Any, Any]:
            Q = x_n @ self.W_Q
            K = x_n @ self.W_K
            Q = self.xpos(Q, n + 1)
            K = self.xpos(K, n + 1, downscale=True)
            V = x_n @ self.W_V
            s_n = self.gamma * s_n_1 + (K.transpose(-1, -2) @ V)
            return (Q @ s_n), s_n

        def forward_chunkwise(self, x_i: Any, r_i_1: Any, i: int) -> tuple[Any, Any]:
            batch, chunk_size, _ = x_i.shape
            D = self._get_D(chunk_size)
            Q = x_i @ self.W_Q
            K = x_i @ self.W_K
            Q = self.xpos(Q, i * chunk_size)
            K = self.xpos(K, i * chunk_size, downscale=True)
            V = x_i @ self.W_V
            r_i = (K.transpose(-1, -2) @ (V * D[-1].view(1, chunk_size, 1))) + (
                self.gamma**chunk_size
            ) * r_i_1
            inner_chunk = ((Q @ K.transpose(-1, -2)) * D.unsqueeze(0)) @ V
            e = torch.zeros(batch, chunk_size, 1)
            for _i in range(chunk_size):
                e[:, _i, :] = self.gamma ** (_i + 1)
            cross_chunk = (Q @ r_i_1) * e
            return inner_chunk + cross_chunk, r_i

        def _get_D(self, sequence_length: int) -> Any:
            n = torch.arange(sequence_length).unsqueeze(1)
            m = torch.arange(sequence_length).unsqueeze(0)
            D = (self.gamma ** (n - m)) * (n >= m).float()
            D[D != D] = 0
            return D

    class MultiScaleRetention(nn.Module):
        def __init__(self, hidden_size: int, heads: int) -> None:
            super().__init__()
            self.hidden_size = hidden_size
            self.v_dim = hidden_size
            self.heads = heads
            assert hidden_size % heads == 0, "hidden_size must be divisible by heads"
            self.head_size = hidden_size // heads
            self.head_v_dim = hidden_size // heads
            self.gammas = (
                (1 - torch.exp(torch.linspace(math.log(1 / 32), math.log(1 / 512), heads)))
                .detach()
                .cpu()
                .tolist()
            )
            self.swish = lambda x: x * torch.sigmoid(x)
            self.W_G = nn.Parameter(torch.randn(hidden_size, self.v_dim) / hidden_size)
            self.W_O = nn.Parameter(torch.randn(self.v_dim, hidden_size) / hidden_size)
            self.group_norm = nn.GroupNorm(heads, self.v_dim)
            self.retentions = nn.ModuleList(
                [SimpleRetention(hidden_size, gamma, self.head_size) for gamma in self.gammas]
            )

        def _gate(self, X: Any, Y: Any) -> Any:
            Y_shape = Y.shape
            Y = self.group_norm(Y.reshape(-1, self.v_dim)).reshape(Y_shape)
            return (self.swish(X @ self.W_G) * Y) @ self.W_O

        def forward(self, X: Any) -> Any:
            Y = [self.retentions[i](X) for i in range(self.heads)]
            return self._gate(X, torch.cat(Y, dim=2))

        def forward_recurrent(self, x_n: Any, s_n_1s: list, n: int) -> tuple[Any, list]:
            Y, s_ns = [], []
            for i in range(self.heads):
                y, s_n = self.retentions[i].forward_recurrent(x_n[:, :, :], s_n_1s[i], n)
                Y.append(y)
                s_ns.append(s_n)
            return self._gate(x_n, torch.cat(Y, dim=2)), s_ns

        def forward_chunkwise(self, x_i: Any, r_i_1s: list, i: int) -> tuple[Any, list]:
            Y, r_is = [], []
            for j in range(self.heads):
                y, r_i = self.retentions[j].forward_chunkwise(x_i[:, :, :], r_i_1s[j], i)
                Y.append(y)
                r_is.append(r_i)
            return self._gate(x_i, torch.cat(Y, dim=2)), r_is

    class RetNet(nn.Module):
        def __init__(self, layers: int, hidden_dim: int, ffn_size: int, heads: int) -> None:
            super().__init__()
            self.layers = layers
            self.hidden_dim = hidden_dim
            self.heads = heads
            self.retentions = nn.ModuleList(
                [MultiScaleRetention(hidden_dim, heads) for _ in range(layers)]
            )
            self.ffns = nn.ModuleList(
                [
                    nn.Sequential(
                        nn.Linear(hidden_dim, ffn_size), nn.GELU(), nn.Linear(ffn_size, hidden_dim)
                    )
                    for _ in range(layers)
                ]
            )
            self.layer_norms_1 = nn.ModuleList([nn.LayerNorm(hidden_dim) for _ in range(layers)])
            self.layer_norms_2 = nn.ModuleList([nn.LayerNorm(hidden_dim) for _ in range(layers)])

        def forward(self, X: Any) -> Any:
            for i in range(self.layers):
                Y = self.retentions[i](self.layer_norms_1[i](X)) + X
                X = self.ffns[i](self.layer_norms_2[i](Y)) + Y
            return X

        def forward_recurrent(self, x_n: Any, s_n_1s: list, n: int) -> tuple[Any, list]:
            s_ns = []
            for i in range(self.layers):
                o_n, s_n = self.retentions[i].forward_recurrent(
                    self.layer_norms_1[i](x_n), s_n_1s[i], n
                )
                y_n = o_n + x_n
                s_ns.append(s_n)
                x_n = self.ffns[i](self.layer_norms_2[i](y_n)) + y_n
            return x_n, s_ns

        def forward_chunkwise(self, x_i: Any, r_i_1s: list, i: int) -> tuple[Any, list]:
            r_is = []
            for j in range(self.layers):
                o_i, r_i = self.retentions[j].forward_chunkwise(
                    self.layer_norms_1[j](x_i), r_i_1s[j], i
                )
                y_i = o_i + x_i
                r_is.append(r_i)
                x_i = self.ffns[j](self.layer_norms_2[j](y_i)) + y_i
            return x_i, r_is

    return RetNet(LAYERS, HIDDEN, FFN, HEADS)


def torchscale_decay_mask(torch_like: Any, num_heads: int, slen: int) -> Any:
    """torchscale's ``RetNetRelPos`` parallel decay mask (normalised rows)."""
    torch = torch_like
    decay = torch.log(1 - 2 ** (-5 - torch.arange(num_heads, dtype=torch.float)))
    index = torch.arange(slen).to(decay)
    mask = torch.tril(torch.ones(slen, slen).to(decay))
    mask = torch.masked_fill(index[:, None] - index[None, :], ~mask.bool(), float("inf"))
    mask = torch.exp(mask * decay[:, None, None])
    mask = torch.nan_to_num(mask)
    mask = mask / mask.sum(dim=-1, keepdim=True).sqrt()
    return mask


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    x = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ, HIDDEN)))

    with torch.no_grad():
        parallel = model(x)
        s_n_1s = [
            [torch.zeros(HIDDEN // HEADS, HIDDEN // HEADS).unsqueeze(0).repeat(BATCH, 1, 1)] * HEADS
            for _ in range(LAYERS)
        ]
        recurrent = []
        for n in range(SEQ):
            y_n, s_n_1s = model.forward_recurrent(x[:, n : n + 1, :], s_n_1s, n)
            recurrent.append(y_n)
        recurrent = torch.cat(recurrent, dim=1)
        r_n_1s = [
            [torch.zeros(HIDDEN // HEADS, HIDDEN // HEADS).unsqueeze(0).repeat(BATCH, 1, 1)] * HEADS
            for _ in range(LAYERS)
        ]
        chunked = []
        for i in range(SEQ // CHUNK):
            y_i, r_n_1s = model.forward_chunkwise(x[:, i * CHUNK : (i + 1) * CHUNK, :], r_n_1s, i)
            chunked.append(y_i)
        chunked = torch.cat(chunked, dim=1)
    gammas = model.retentions[0].gammas
    D = model.retentions[0].retentions[1]._get_D(SEQ)
    mask = torchscale_decay_mask(torch_like, HEADS, SEQ)  # float32, as torchscale builds it
    # the same mask from Jamie-Stirling's D in float64 (float32 exp rounds differently per
    # library, so the float32 mask is compared against this, not value by value)
    ref = torch.stack(
        [
            d_h / d_h.sum(dim=-1, keepdim=True).sqrt()
            for d_h in (
                (1 - 2.0 ** (-5 - h)) ** (torch.arange(SEQ)[:, None] - torch.arange(SEQ))
                * torch.ones(SEQ, SEQ).tril()
                for h in range(HEADS)
            )
        ]
    )
    values = [
        float(torch.allclose(parallel, recurrent, atol=1e-10)),
        float(torch.allclose(parallel, chunked, atol=1e-10)),
        *gammas,
        *D[-1].tolist(),
        float(mask.dtype == torch.float32),
        float(torch.allclose(mask.double(), ref, rtol=1e-6, atol=0.0)),
        *ref[1, 3].tolist(),
        *parallel[1, -1].tolist(),
    ]

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    w_target = as_tensor(torch_like, rng.standard_normal((HIDDEN, 1)))
    for _step in range(STEPS):
        xb = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ, HIDDEN)))
        target = torch.cumsum(xb @ w_target, dim=1) / SEQ
        optimizer.zero_grad()
        out = model(xb)
        loss = torch.nn.functional.mse_loss(out.mean(-1, keepdim=True), target)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.retentions[0].W_G.grad.norm().item()]
    return values


def check(values: list[float]) -> None:
    """The parallel, recurrent and chunkwise forms agreed in both frameworks."""
    assert values[:2] == [1.0, 1.0], values[:2]
    mask_at = 2 + HEADS + SEQ
    assert values[mask_at : mask_at + 2] == [1.0, 1.0], values[mask_at : mask_at + 2]
