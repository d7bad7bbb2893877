"""Performer FAVOR+ attention as lucidrains/performer-pytorch (``performer_pytorch.py``) writes
it, with the "efficient attention" feature map of Shen et al. and the linear-transformer
``elu(x) + 1`` kernel, size-reduced: ``orthogonal_matrix_chunk`` (``q, r = torch.linalg.qr(
unstructured_block.cpu(), mode='reduced')``, ``q.t()``), ``gaussian_orthogonal_random_matrix``
(``nb_full_blocks = int(nb_rows / nb_columns)``, the remaining rows ``q[:remaining_rows]``,
``torch.cat(block_list)``, ``multiplier = ....norm(dim=1)`` or ``math.sqrt(float(nb_columns)) *
torch.ones((nb_rows,))``, ``torch.diag(multiplier) @ final_matrix``); ``softmax_kernel``
(``data_normalizer = (data.shape[-1] ** -0.25)``, ``ratio = (projection_matrix.shape[0] **
-0.5)``, the projection ``expand``-ed to ``(b, h, j, d)`` and ``.type_as(data)``,
``torch.einsum('...id,...jd->...ij', (data_normalizer * data), projection)``, ``diag_data =
(torch.sum(data ** 2, dim=-1) / 2.0) * (data_normalizer ** 2)``, the stabiliser
``torch.amax(data_dash, dim=-1, keepdim=True).detach()`` for queries and ``dim=(-1, -2)`` for
keys, ``ratio * (torch.exp(...) + eps)``); ``generalized_kernel`` with ``nn.ReLU()``;
``linear_attention`` (``k_cumsum = k.sum(dim=-2)``, ``D_inv = 1. / torch.einsum(
'...nd,...d->...n', q, k_cumsum.type_as(q))``, ``context = torch.einsum('...nd,...ne->...de', k,
v)``, ``torch.einsum('...de,...nd,...n->...ne', context, q, D_inv)``); the non-CUDA causal
linear attention (``t.chunk(chunk_size, dim=-2)`` pieces, ``k.cumsum(dim=-2)``, the per-position
contexts ``torch.einsum('...nd,...ne->...nde', k, v)`` and their ``cumsum(dim=-3)``,
``last_k_cumsum = k_cumsum[:, :, -1:]``); the ``FastAttention`` module (the projection as a
registered buffer, ``redraw_projection_matrix`` copying a new draw with ``.copy_``) inside a
multi-head ``Attention`` (``nn.Linear`` projections, heads by ``view`` + ``transpose(1, 2)``);
the full softmax attention it approximates, compared with it; a few ``AdamW`` steps.

Changed: the Gaussian blocks are drawn with NumPy (the generators differ); widths are small;
the einops ``repeat`` / ``rearrange`` calls are written with ``expand`` / ``view``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DIM, HEADS, DIM_HEAD, NB_FEATURES, SEQ, BATCH, STEPS = 8, 2, 4, 6, 7, 3, 4


def orthogonal_matrix_chunk(torch: Any, cols: int, rng: np.random.Generator) -> Any:
    unstructured_block = torch.from_numpy(rng.standard_normal((cols, cols)))
    q, r = torch.linalg.qr(unstructured_block.cpu(), mode="reduced")
    return q.t()


def gaussian_orthogonal_random_matrix(
    torch: Any, nb_rows: int, nb_columns: int, rng: np.random.Generator, scaling: int = 0
) -> Any:
    nb_full_blocks = int(nb_rows / nb_columns)
    block_list = []
    for _ in range(nb_full_blocks):
        q = orthogonal_matrix_chunk(torch, nb_columns, rng)
        block_list.append(q)
    remaining_rows = nb_rows - nb_full_blocks * nb_columns
    if remaining_rows > 0:
        q = orthogonal_matrix_chunk(torch, nb_columns, rng)
        block_list.append(q[:remaining_rows])
    final_matrix = torch.cat(block_list)
    if scaling == 0:
        multiplier = torch.from_numpy(rng.standard_normal((nb_rows, nb_columns))).norm(dim=1)
    elif scaling == 1:
        multiplier = math.sqrt(float(nb_columns)) * torch.ones((nb_rows,))
    else:
        raise ValueError(f"Invalid scaling {scaling}")
    return torch.diag(multiplier) @ final_matrix


def softmax_kernel(
    torch: Any,
    data: Any,
    *,
    projection_matrix: Any,
    is_query: bool,
    normalize_data: bool = True,
    eps: float = 1e-4,
) -> Any:
    b, h, *_ = data.shape
    data_normalizer = (data.shape[-1] ** -0.25) if normalize_data else 1.0
    ratio = projection_matrix.shape[0] ** -0.5
    projection = projection_matrix.expand(b, h, *projection_matrix.shape)
    projection = projection.type_as(data)
    data_dash = torch.einsum("...id,...jd->...ij", (data_normalizer * data), projection)
    diag_data = data**2
    diag_data = torch.sum(diag_data, dim=-1)
    diag_data = (diag_data / 2.0) * (data_normalizer**2)
    diag_data = diag_data.unsqueeze(dim=-1)
    if is_query:
        data_dash = ratio * (
            torch.exp(data_dash - diag_data - torch.amax(data_dash, dim=-1, keepdim=True).detach())
            + eps
        )
    else:
        data_dash = ratio * (
            torch.exp(
                data_dash - diag_data - torch.amax(data_dash, dim=(-1, -2), keepdim=True).detach()
            )
            + eps
        )
    return data_dash.type_as(data)


def generalized_kernel(
    torch: Any, data: Any, *, projection_matrix: Any, kernel_fn: Any, kernel_epsilon: float = 0.001
) -> Any:
    b, h, *_ = data.shape
    data_normalizer = data.shape[-1] ** -0.25
    projection = projection_matrix.expand(b, h, *projection_matrix.shape).type_as(data)
    data_dash = torch.einsum("...id,...jd->...ij", (data_normalizer * data), projection)
    data_prime = kernel_fn(data_dash) + kernel_epsilon
    return data_prime.type_as(data)


def linear_attention(torch: Any, q: Any, k: Any, v: Any) -> Any:
    k_cumsum = k.sum(dim=-2)
    D_inv = 1.0 / torch.einsum("...nd,...d->...n", q, k_cumsum.type_as(q))
    context = torch.einsum("...nd,...ne->...de", k, v)
    out = torch.einsum("...de,...nd,...n->...ne", context, q, D_inv)
    return out


def causal_linear_attention_noncuda(
    torch: Any, q: Any, k: Any, v: Any, chunk_size: int = 128, eps: float = 1e-6
) -> Any:
    last_k_cumsum = 0
    last_context_cumsum = 0
    outs = []
    for q_, k_, v_ in zip(*(t.chunk(chunk_size, dim=-2) for t in (q, k, v)), strict=True):
        k_cumsum = last_k_cumsum + k_.cumsum(dim=-2)
        D_inv = 1.0 / torch.einsum("...nd,...nd->...n", q_, k_cumsum.type_as(q_) + eps)
        context = torch.einsum("...nd,...ne->...nde", k_, v_)
        context_cumsum = last_context_cumsum + context.cumsum(dim=-3)
        out = torch.einsum("...nde,...nd,...n->...ne", context_cumsum, q_, D_inv)
        last_k_cumsum = k_cumsum[:, :, -1:]
        last_context_cumsum = context_cumsum[:, :, -1:]
        outs.append(out)
    return torch.cat(outs, dim=-2)


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class FastAttention(nn.Module):
        def __init__(self, dim_heads: int, nb_features: int, causal: bool = False) -> None:
            super().__init__()
            self.dim_heads = dim_heads
            self.nb_features = nb_features
            self.causal = causal
            self.register_buffer("projection_matrix", torch.zeros(nb_features, dim_heads))
            self.kernel_fn = nn.ReLU()

        @torch.no_grad()
        def redraw_projection_matrix(self, rng: np.random.Generator) -> None:
            projections = gaussian_orthogonal_random_matrix(
                torch, self.nb_features, self.dim_heads, rng
            )
            self.projection_matrix.copy_(projections)
            del projections

        def forward(self, q: Any, k: Any, v: Any, generalized: bool = False) -> Any:
            if generalized:
                q = generalized_kernel(
                    torch, q, projection_matrix=self.projection_matrix, kernel_fn=self.kernel_fn
                )
                k = generalized_kernel(
                    torch, k, projection_matrix=self.projection_matrix, kernel_fn=self.kernel_fn
                )
            else:
                q = softmax_kernel(
                    torch, q, is_query=True, projection_matrix=self.projection_matrix
                )
                k = softmax_kernel(
                    torch, k, is_query=False, projection_matrix=self.projection_matrix
                )
            if self.causal:
                return causal_linear_attention_noncuda(torch, q, k, v, chunk_size=3)
            return linear_attention(torch, q, k, v)

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int, dim_head: int, causal: bool = False) -> None:
            super().__init__()
            inner_dim = dim_head * heads
            self.heads = heads
            self.fast_attention = FastAttention(dim_head, NB_FEATURES, causal=causal)
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_k = nn.Linear(dim, inner_dim, bias=False)
            self.to_v = nn.Linear(dim, inner_dim, bias=False)
            self.to_out = nn.Linear(inner_dim, dim)

        def split_heads(self, t: Any) -> Any:
            b, n, _ = t.shape
            return t.view(b, n, self.heads, -1).transpose(1, 2)

        def forward(self, x: Any, kind: str = "favor") -> Any:
            b, n, _ = x.shape
            q, k, v = map(self.split_heads, (self.to_q(x), self.to_k(x), self.to_v(x)))
            if kind == "favor":
                out = self.fast_attention(q, k, v)
            elif kind == "relu":
                out = self.fast_attention(q, k, v, generalized=True)
            elif kind == "elu":
                F = torch.nn.functional
                out = linear_attention(torch, F.elu(q) + 1, F.elu(k) + 1, v)
            elif kind == "efficient":
                out = linear_attention(torch, q.softmax(dim=-1), k.softmax(dim=-2), v)
            else:
                scores = torch.einsum("...id,...jd->...ij", q, k) * q.shape[-1] ** -0.5
                if self.fast_attention.causal:
                    mask = torch.ones(n, n, dtype=torch.bool).triu_(1)
                    scores = scores.masked_fill(mask, -torch.finfo(scores.dtype).max)
                out = scores.softmax(dim=-1) @ v
            out = out.transpose(1, 2).reshape(b, n, -1)
            return self.to_out(out)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = Attention(DIM, HEADS, DIM_HEAD)
            self.causal_attn = Attention(DIM, HEADS, DIM_HEAD, causal=True)
            self.norm = nn.LayerNorm(DIM)
            self.head = nn.Linear(DIM, 1)

        def forward(self, x: Any, kind: str = "favor") -> Any:
            x = x + self.attn(self.norm(x), kind)
            x = x + self.causal_attn(self.norm(x), kind)
            return self.head(x).squeeze(-1)

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(23)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    for m in model.modules():
        if type(m).__name__ == "FastAttention":
            m.redraw_projection_matrix(rng)
    proj = model.attn.fast_attention.projection_matrix
    q_only = orthogonal_matrix_chunk(torch, DIM_HEAD, np.random.default_rng(0))
    values: list[float] = proj.flatten().tolist()
    values += [(q_only @ q_only.t() - torch.eye(DIM_HEAD)).abs().max().item()]
    scaled = gaussian_orthogonal_random_matrix(torch, 5, DIM_HEAD, rng, scaling=1)
    values += scaled.norm(dim=1).tolist()
    x = as_tensor(torch, rng.standard_normal((BATCH, SEQ, DIM)))
    y = as_tensor(torch, rng.standard_normal((BATCH, SEQ)))
    with torch.no_grad():
        outs = {kind: model(x, kind) for kind in ("favor", "relu", "elu", "efficient", "full")}
    for kind in ("favor", "relu", "elu", "efficient"):
        values += [(outs[kind] - outs["full"]).abs().mean().item()]
    values += outs["favor"].flatten().tolist()
    # causal attention by cumsum equals a loop over prefixes of the non-causal one
    q, k, v = (as_tensor(torch, rng.random((1, 2, 5, 3))) for _ in range(3))
    causal = causal_linear_attention_noncuda(torch, q, k, v, chunk_size=2, eps=0.0)
    prefix = torch.stack(
        [
            linear_attention(torch, q[:, :, i : i + 1], k[:, :, : i + 1], v[:, :, : i + 1])
            for i in range(5)
        ],
        dim=2,
    ).squeeze(3)
    values += [(causal - prefix).abs().max().item()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    for step in range(STEPS):
        kind = ("favor", "elu", "efficient", "relu")[step % 4]
        optimizer.zero_grad()
        loss = F.mse_loss(model(x, kind), y)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.attn.to_q.weight.grad.norm().item()]
        values += [model.causal_attn.to_k.weight.grad.abs().sum().item()]
    return values


def check(values: list[float]) -> None:
    assert values[NB_FEATURES * DIM_HEAD] < 1e-12  # QR's Q is orthogonal
    scaled = values[NB_FEATURES * DIM_HEAD + 1 : NB_FEATURES * DIM_HEAD + 6]
    assert max(abs(s - math.sqrt(DIM_HEAD)) for s in scaled) < 1e-12
    # the cumsum form of causal linear attention equals attention over each prefix
    assert values[NB_FEATURES * DIM_HEAD + 10 + BATCH * SEQ] < 1e-12
