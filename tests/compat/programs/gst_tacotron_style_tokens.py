"""Global Style Tokens (Wang et al. 2018) as KinglittleQ/GST-Tacotron writes them (``GST.py``:
``ReferenceEncoder``, ``STL`` and its ``MultiHeadAttention``), size-reduced and trained on a
stand-in reconstruction loss.

The idioms kept: the reference encoder's ``nn.ModuleList`` of stride-2 ``nn.Conv2d(...,
kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))`` + ``nn.BatchNorm2d`` + ``F.relu`` over
``inputs.view(N, 1, -1, hp.n_mels)``, ``calculate_channels`` (``L = (L - kernel_size + 2 * pad)
// stride + 1``), ``out.transpose(1, 2)`` then ``out.contiguous().view(N, T, -1)`` into
``nn.GRU(batch_first=True)`` and ``memory, out = self.gru(out)`` / ``out.squeeze(0)``; the style
token layer's ``nn.Parameter(torch.FloatTensor(hp.token_num, hp.E // hp.num_heads))`` with
``init.normal_(self.embed, mean=0, std=0.5)`` and ``F.tanh(self.embed).unsqueeze(0).expand(N,
-1, -1)``; the hand-written multi-head attention (three bias-free ``nn.Linear``,
``torch.stack(torch.split(querys, split_size, dim=2), dim=0)``, ``torch.matmul(querys,
keys.transpose(2, 3))``, ``scores / (self.key_dim ** 0.5)``, ``F.softmax(scores, dim=3)``,
``torch.cat(torch.split(out, 1, dim=0), dim=3).squeeze(0)``).

Changed: hp.E 256 -> 8, 4 heads -> 2, 10 tokens -> 4, 6 conv filters of 32..128 -> 2 of 4, 80
mels -> 8 and 16 frames of NumPy "mels"; the Tacotron decoder the style embedding conditions is
replaced by one ``nn.Linear`` predicting each utterance's mean mel frame (MSE) with Adam, 4
steps; float32 (``torch.FloatTensor`` makes the tokens float32 whatever the default dtype).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"


class hp:
    E, num_heads, token_num, n_mels, ref_enc_filters = 8, 2, 4, 8, [4, 4]


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F, init = nn.functional, nn.init

    class ReferenceEncoder(nn.Module):
        """inputs --- [N, Ty/r, n_mels*r]  mels; outputs --- [N, ref_enc_gru_size]"""

        def __init__(self):
            super().__init__()
            K = len(hp.ref_enc_filters)
            filters = [1] + hp.ref_enc_filters
            convs = [
                nn.Conv2d(in_channels=filters[i], out_channels=filters[i + 1],
                          kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
                for i in range(K)
            ]  # fmt: skip
            self.convs = nn.ModuleList(convs)
            self.bns = nn.ModuleList(
                [nn.BatchNorm2d(num_features=hp.ref_enc_filters[i]) for i in range(K)]
            )
            out_channels = self.calculate_channels(hp.n_mels, 3, 2, 1, K)
            self.gru = nn.GRU(input_size=hp.ref_enc_filters[-1] * out_channels,
                              hidden_size=hp.E // 2, batch_first=True)  # fmt: skip

        def forward(self, inputs):
            N = inputs.size(0)
            out = inputs.view(N, 1, -1, hp.n_mels)  # [N, 1, Ty, n_mels]
            for conv, bn in zip(self.convs, self.bns):
                out = conv(out)
                out = bn(out)
                out = F.relu(out)  # [N, 128, Ty//2^K, n_mels//2^K]
            out = out.transpose(1, 2)  # [N, Ty//2^K, 128, n_mels//2^K]
            T = out.size(1)
            N = out.size(0)
            out = out.contiguous().view(N, T, -1)  # [N, Ty//2^K, 128*n_mels//2^K]
            memory, out = self.gru(out)  # out --- [1, N, E//2]
            return out.squeeze(0)

        def calculate_channels(self, L, kernel_size, stride, pad, n_convs):
            for _i in range(n_convs):
                L = (L - kernel_size + 2 * pad) // stride + 1
            return L

    class MultiHeadAttention(nn.Module):
        def __init__(self, query_dim, key_dim, num_units, num_heads):
            super().__init__()
            self.num_units = num_units
            self.num_heads = num_heads
            self.key_dim = key_dim
            self.W_query = nn.Linear(in_features=query_dim, out_features=num_units, bias=False)
            self.W_key = nn.Linear(in_features=key_dim, out_features=num_units, bias=False)
            self.W_value = nn.Linear(in_features=key_dim, out_features=num_units, bias=False)

        def forward(self, query, key):
            querys = self.W_query(query)  # [N, T_q, num_units]
            keys = self.W_key(key)  # [N, T_k, num_units]
            values = self.W_value(key)
            split_size = self.num_units // self.num_heads
            querys = torch.stack(torch.split(querys, split_size, dim=2), dim=0)
            keys = torch.stack(torch.split(keys, split_size, dim=2), dim=0)
            values = torch.stack(torch.split(values, split_size, dim=2), dim=0)
            # score = softmax(QK^T / (d_k ** 0.5))
            scores = torch.matmul(querys, keys.transpose(2, 3))  # [h, N, T_q, T_k]
            scores = scores / (self.key_dim**0.5)
            scores = F.softmax(scores, dim=3)
            # out = score * V
            out = torch.matmul(scores, values)  # [h, N, T_q, num_units/h]
            out = torch.cat(torch.split(out, 1, dim=0), dim=3).squeeze(0)  # [N, T_q, num_units]
            return out

    class STL(nn.Module):
        """inputs --- [N, E//2]"""

        def __init__(self):
            super().__init__()
            self.embed = nn.Parameter(torch.FloatTensor(hp.token_num, hp.E // hp.num_heads))
            d_q = hp.E // 2
            d_k = hp.E // hp.num_heads
            self.attention = MultiHeadAttention(query_dim=d_q, key_dim=d_k, num_units=hp.E,
                                                num_heads=hp.num_heads)  # fmt: skip
            init.normal_(self.embed, mean=0, std=0.5)

        def forward(self, inputs):
            N = inputs.size(0)
            query = inputs.unsqueeze(1)  # [N, 1, E//2]
            keys = F.tanh(self.embed).unsqueeze(0).expand(N, -1, -1)
            style_embed = self.attention(query, keys)
            return style_embed

    class GST(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = ReferenceEncoder()
            self.stl = STL()

        def forward(self, inputs):
            enc_out = self.encoder(inputs)
            style_embed = self.stl(enc_out)
            return style_embed

    class StyleReconstruction(nn.Module):
        def __init__(self):
            super().__init__()
            self.gst = GST()
            self.proj = nn.Linear(hp.E, hp.n_mels)

    return StyleReconstruction()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(23)
    out: list[float] = []
    for _step in range(4):
        mels = rng.normal(size=(3, 16, hp.n_mels)) + rng.normal(size=(3, 1, hp.n_mels))
        mels = as_tensor(torch, mels.astype(np.float32))
        style_embed = model.gst(mels)  # [N, 1, E]
        pred = model.proj(style_embed.squeeze(1))
        loss = torch.nn.functional.mse_loss(pred, mels.mean(1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out += [loss.item(), style_embed.abs().sum().item()]
    return out
