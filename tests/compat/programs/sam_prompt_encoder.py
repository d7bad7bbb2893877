"""Segment Anything's prompt encoder and two-way mask decoder, as facebookresearch/
segment-anything (``modeling/prompt_encoder.py``, ``transformer.py``, ``mask_decoder.py``,
``common.py``) and SAM 2 write them, size-reduced.

The idioms: ``PositionEmbeddingRandom`` (``register_buffer("positional_encoding_gaussian_matrix",
scale * torch.randn((2, num_pos_feats)))``, ``coords = 2 * coords - 1``, ``coords @ matrix``,
``2 * np.pi * coords``, ``torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)``, the
dense grid ``torch.ones((h, w), dtype=torch.float32)`` ``.cumsum(dim=0) - 0.5``, ``torch.stack(
[x_embed, y_embed], dim=-1)``, ``pe.permute(2, 0, 1)``; ``forward_with_coords`` with
``coords_input.clone()``, per-column division written back into slices and ``.to(torch.float)``);
``PromptEncoder._embed_points`` (``points + 0.5``, the padding point ``torch.zeros((b, 1, 2))`` and
label ``-torch.ones((b, 1))``, SAM's boolean-mask writes ``point_embedding[labels == -1] = 0.0``
and ``point_embedding[labels == 0] += self.point_embeddings[0].weight``, SAM 2's ``torch.where(
(labels == -1).unsqueeze(-1), torch.zeros_like(pe) + self.not_a_point_embed.weight, pe)``);
``_embed_boxes`` (``boxes.reshape(-1, 2, 2)``, ``corner_embedding[:, 0, :] += ...weight``);
``torch.empty((bs, 0, embed_dim))`` grown by ``torch.cat``; ``no_mask_embed.weight.reshape(1, -1,
1, 1).expand(bs, -1, h, w)``; ``mask_downscaling`` (strided ``Conv2d`` + ``LayerNorm2d`` +
``nn.GELU``); ``LayerNorm2d`` (``x.mean(1, keepdim=True)``, ``weight[:, None, None]``); the
two-way transformer's ``Attention`` with ``downsample_rate`` (``internal_dim = embedding_dim //
downsample_rate``, ``_separate_heads``/``_recombine_heads``, ``k.permute(0, 1, 3, 2)``),
``TwoWayAttentionBlock`` (``skip_first_layer_pe``, token-to-image and image-to-token cross
attention, ``MLPBlock``) and ``TwoWayTransformer`` (``image_embedding.flatten(2).permute(0, 2,
1)``); ``MaskDecoder.predict_masks`` (``torch.cat([self.iou_token.weight,
self.mask_tokens.weight], dim=0)``, ``.unsqueeze(0).expand(...)``, ``torch.repeat_interleave(
image_embeddings, tokens.shape[0], dim=0)``, ``ConvTranspose2d`` upscaling, the per-token
hypernetwork ``MLP`` outputs ``torch.stack(hyper_in_list, dim=1)``, ``(hyper_in @
upscaled_embedding.view(b, c, h * w)).view(b, -1, h, w)``); a few Adam steps on a focal + dice
loss as the SAM fine-tuning scripts write it.

Changed: tiny sizes (an 8-wide embedding of a 4x4 image grid, 16x16 masks), one transformer
block, NumPy data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5

EMBED, GRID, IMAGE, MASK_CHANS, HEADS, MLP_DIM, N_MASKS, STEPS = 8, 4, 16, 4, 2, 16, 2, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class LayerNorm2d(nn.Module):
        def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))
            self.eps = eps

        def forward(self, x: Any) -> Any:
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]

    class MLPBlock(nn.Module):
        def __init__(self, embedding_dim: int, mlp_dim: int, act: Any = nn.GELU) -> None:
            super().__init__()
            self.lin1 = nn.Linear(embedding_dim, mlp_dim)
            self.lin2 = nn.Linear(mlp_dim, embedding_dim)
            self.act = act()

        def forward(self, x: Any) -> Any:
            return self.lin2(self.act(self.lin1(x)))

    class MLP(nn.Module):
        def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
            super().__init__()
            self.num_layers = num_layers
            h = [hidden_dim] * (num_layers - 1)
            self.layers = nn.ModuleList(
                nn.Linear(n, k) for n, k in zip([input_dim] + h, h + [output_dim], strict=True)
            )

        def forward(self, x: Any) -> Any:
            for i, layer in enumerate(self.layers):
                x = nn.functional.relu(layer(x)) if i < self.num_layers - 1 else layer(x)
            return x

    class PositionEmbeddingRandom(nn.Module):
        def __init__(self, num_pos_feats: int = 64, scale: float | None = None) -> None:
            super().__init__()
            if scale is None or scale <= 0.0:
                scale = 1.0
            self.register_buffer(
                "positional_encoding_gaussian_matrix", scale * torch.randn((2, num_pos_feats))
            )

        def _pe_encoding(self, coords: Any) -> Any:
            coords = 2 * coords - 1
            coords = coords @ self.positional_encoding_gaussian_matrix
            coords = 2 * np.pi * coords
            return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

        def forward(self, size: tuple[int, int]) -> Any:
            h, w = size
            device: Any = self.positional_encoding_gaussian_matrix.device
            grid = torch.ones((h, w), device=device, dtype=torch.float32)
            y_embed = grid.cumsum(dim=0) - 0.5
            x_embed = grid.cumsum(dim=1) - 0.5
            y_embed = y_embed / h
            x_embed = x_embed / w
            pe = self._pe_encoding(torch.stack([x_embed, y_embed], dim=-1))
            return pe.permute(2, 0, 1)

        def forward_with_coords(self, coords_input: Any, image_size: tuple[int, int]) -> Any:
            coords = coords_input.clone()
            coords[:, :, 0] = coords[:, :, 0] / image_size[1]
            coords[:, :, 1] = coords[:, :, 1] / image_size[0]
            return self._pe_encoding(coords.to(torch.float))

    class PromptEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_dim = EMBED
            self.input_image_size = (IMAGE, IMAGE)
            self.image_embedding_size = (GRID, GRID)
            self.pe_layer = PositionEmbeddingRandom(EMBED // 2)
            self.num_point_embeddings = 4
            point_embeddings = [nn.Embedding(1, EMBED) for _ in range(self.num_point_embeddings)]
            self.point_embeddings = nn.ModuleList(point_embeddings)
            self.not_a_point_embed = nn.Embedding(1, EMBED)
            self.mask_input_size = (4 * GRID, 4 * GRID)
            self.mask_downscaling = nn.Sequential(
                nn.Conv2d(1, MASK_CHANS // 4, kernel_size=2, stride=2),
                LayerNorm2d(MASK_CHANS // 4),
                nn.GELU(),
                nn.Conv2d(MASK_CHANS // 4, MASK_CHANS, kernel_size=2, stride=2),
                LayerNorm2d(MASK_CHANS),
                nn.GELU(),
                nn.Conv2d(MASK_CHANS, EMBED, kernel_size=1),
            )
            self.no_mask_embed = nn.Embedding(1, EMBED)
            self.use_where = False

        def get_dense_pe(self) -> Any:
            return self.pe_layer(self.image_embedding_size).unsqueeze(0)

        def _embed_points(self, points: Any, labels: Any, pad: bool) -> Any:
            points = points + 0.5
            if pad:
                padding_point = torch.zeros((points.shape[0], 1, 2), device=points.device)
                padding_label = -torch.ones((labels.shape[0], 1), device=labels.device)
                points = torch.cat([points, padding_point], dim=1)
                labels = torch.cat([labels, padding_label], dim=1)
            point_embedding = self.pe_layer.forward_with_coords(points, self.input_image_size)
            if self.use_where:  # SAM 2
                point_embedding = torch.where(
                    (labels == -1).unsqueeze(-1),
                    torch.zeros_like(point_embedding) + self.not_a_point_embed.weight,
                    point_embedding,
                )
                for i in range(2):
                    point_embedding = torch.where(
                        (labels == i).unsqueeze(-1),
                        point_embedding + self.point_embeddings[i].weight,
                        point_embedding,
                    )
                return point_embedding
            point_embedding[labels == -1] = 0.0
            point_embedding[labels == -1] += self.not_a_point_embed.weight
            point_embedding[labels == 0] += self.point_embeddings[0].weight
            point_embedding[labels == 1] += self.point_embeddings[1].weight
            return point_embedding

        def _embed_boxes(self, boxes: Any) -> Any:
            boxes = boxes + 0.5
            coords = boxes.reshape(-1, 2, 2)
            corner_embedding = self.pe_layer.forward_with_coords(coords, self.input_image_size)
            corner_embedding[:, 0, :] += self.point_embeddings[2].weight
            corner_embedding[:, 1, :] += self.point_embeddings[3].weight
            return corner_embedding

        def forward(self, points: Any, boxes: Any, masks: Any) -> tuple[Any, Any]:
            if points is not None:
                bs = points[0].shape[0]
            elif boxes is not None:
                bs = boxes.shape[0]
            else:
                bs = masks.shape[0]
            sparse_embeddings = torch.empty((bs, 0, self.embed_dim))
            if points is not None:
                coords, labels = points
                point_embeddings = self._embed_points(coords, labels, pad=(boxes is None))
                sparse_embeddings = torch.cat([sparse_embeddings, point_embeddings], dim=1)
            if boxes is not None:
                box_embeddings = self._embed_boxes(boxes)
                sparse_embeddings = torch.cat([sparse_embeddings, box_embeddings], dim=1)
            if masks is not None:
                dense_embeddings = self.mask_downscaling(masks)
            else:
                dense_embeddings = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
                    bs, -1, self.image_embedding_size[0], self.image_embedding_size[1]
                )
            return sparse_embeddings, dense_embeddings

    class Attention(nn.Module):
        def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
            super().__init__()
            self.embedding_dim = embedding_dim
            self.internal_dim = embedding_dim // downsample_rate
            self.num_heads = num_heads
            assert self.internal_dim % num_heads == 0, "num_heads must divide embedding_dim."
            self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
            self.k_proj = nn.Linear(embedding_dim, self.internal_dim)
            self.v_proj = nn.Linear(embedding_dim, self.internal_dim)
            self.out_proj = nn.Linear(self.internal_dim, embedding_dim)

        def _separate_heads(self, x: Any, num_heads: int) -> Any:
            b, n, c = x.shape
            x = x.reshape(b, n, num_heads, c // num_heads)
            return x.transpose(1, 2)

        def _recombine_heads(self, x: Any) -> Any:
            b, n_heads, n_tokens, c_per_head = x.shape
            x = x.transpose(1, 2)
            return x.reshape(b, n_tokens, n_heads * c_per_head)

        def forward(self, q: Any, k: Any, v: Any) -> Any:
            q = self._separate_heads(self.q_proj(q), self.num_heads)
            k = self._separate_heads(self.k_proj(k), self.num_heads)
            v = self._separate_heads(self.v_proj(v), self.num_heads)
            _, _, _, c_per_head = q.shape
            attn = q @ k.permute(0, 1, 3, 2)
            attn = attn / math.sqrt(c_per_head)
            attn = torch.softmax(attn, dim=-1)
            out = self._recombine_heads(attn @ v)
            return self.out_proj(out)

    class TwoWayAttentionBlock(nn.Module):
        def __init__(self, skip_first_layer_pe: bool = False) -> None:
            super().__init__()
            self.self_attn = Attention(EMBED, HEADS)
            self.norm1 = nn.LayerNorm(EMBED)
            self.cross_attn_token_to_image = Attention(EMBED, HEADS, downsample_rate=2)
            self.norm2 = nn.LayerNorm(EMBED)
            self.mlp = MLPBlock(EMBED, MLP_DIM, nn.ReLU)
            self.norm3 = nn.LayerNorm(EMBED)
            self.norm4 = nn.LayerNorm(EMBED)
            self.cross_attn_image_to_token = Attention(EMBED, HEADS, downsample_rate=2)
            self.skip_first_layer_pe = skip_first_layer_pe

        def forward(self, queries: Any, keys: Any, query_pe: Any, key_pe: Any) -> Any:
            if self.skip_first_layer_pe:
                queries = self.self_attn(q=queries, k=queries, v=queries)
            else:
                q = queries + query_pe
                attn_out = self.self_attn(q=q, k=q, v=queries)
                queries = queries + attn_out
            queries = self.norm1(queries)
            q = queries + query_pe
            k = keys + key_pe
            attn_out = self.cross_attn_token_to_image(q=q, k=k, v=keys)
            queries = self.norm2(queries + attn_out)
            queries = self.norm3(queries + self.mlp(queries))
            q = queries + query_pe
            k = keys + key_pe
            attn_out = self.cross_attn_image_to_token(q=k, k=q, v=queries)
            keys = self.norm4(keys + attn_out)
            return queries, keys

    class TwoWayTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([TwoWayAttentionBlock(skip_first_layer_pe=True)])
            self.final_attn_token_to_image = Attention(EMBED, HEADS, downsample_rate=2)
            self.norm_final_attn = nn.LayerNorm(EMBED)

        def forward(self, image_embedding: Any, image_pe: Any, point_embedding: Any) -> Any:
            bs, c, h, w = image_embedding.shape
            image_embedding = image_embedding.flatten(2).permute(0, 2, 1)
            image_pe = image_pe.flatten(2).permute(0, 2, 1)
            queries = point_embedding
            keys = image_embedding
            for layer in self.layers:
                queries, keys = layer(
                    queries=queries, keys=keys, query_pe=point_embedding, key_pe=image_pe
                )
            q = queries + point_embedding
            k = keys + image_pe
            attn_out = self.final_attn_token_to_image(q=q, k=k, v=keys)
            queries = self.norm_final_attn(queries + attn_out)
            return queries, keys

    class MaskDecoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = TwoWayTransformer()
            self.num_mask_tokens = N_MASKS
            self.iou_token = nn.Embedding(1, EMBED)
            self.mask_tokens = nn.Embedding(N_MASKS, EMBED)
            self.output_upscaling = nn.Sequential(
                nn.ConvTranspose2d(EMBED, EMBED // 2, kernel_size=2, stride=2),
                LayerNorm2d(EMBED // 2),
                nn.GELU(),
                nn.ConvTranspose2d(EMBED // 2, EMBED // 4, kernel_size=2, stride=2),
                nn.GELU(),
            )
            self.output_hypernetworks_mlps = nn.ModuleList(
                [MLP(EMBED, EMBED, EMBED // 4, 3) for _ in range(N_MASKS)]
            )
            self.iou_prediction_head = MLP(EMBED, 8, N_MASKS, 2)

        def forward(
            self, image_embeddings: Any, image_pe: Any, sparse: Any, dense: Any
        ) -> tuple[Any, Any]:
            output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
            output_tokens = output_tokens.unsqueeze(0).expand(sparse.size(0), -1, -1)
            tokens = torch.cat((output_tokens, sparse), dim=1)
            src = torch.repeat_interleave(image_embeddings, tokens.shape[0], dim=0)
            src = src + dense
            pos_src = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
            b, c, h, w = src.shape
            hs, src = self.transformer(src, pos_src, tokens)
            iou_token_out = hs[:, 0, :]
            mask_tokens_out = hs[:, 1 : (1 + self.num_mask_tokens), :]
            src = src.transpose(1, 2).view(b, c, h, w)
            upscaled_embedding = self.output_upscaling(src)
            hyper_in_list = [
                self.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :])
                for i in range(self.num_mask_tokens)
            ]
            hyper_in = torch.stack(hyper_in_list, dim=1)
            b, c, h, w = upscaled_embedding.shape
            masks = (hyper_in @ upscaled_embedding.view(b, c, h * w)).view(b, -1, h, w)
            return masks, self.iou_prediction_head(iou_token_out)

    class Sam(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.prompt_encoder = PromptEncoder()
            self.mask_decoder = MaskDecoder()

    return Sam()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    sam = make_model(torch)
    load_numpy_state(torch, sam, init)
    pe_enc = sam.prompt_encoder
    values: list[float] = []

    image_embedding = as_tensor(
        torch, rng.standard_normal((1, EMBED, GRID, GRID)), dtype=torch.float
    )
    coords = as_tensor(torch, rng.uniform(0, IMAGE, (2, 3, 2)), dtype=torch.float)
    labels = torch.tensor([[1, 0, -1], [1, 1, 0]])
    boxes = as_tensor(torch, np.array([[2.0, 3.0, 10.0, 12.0], [1.0, 1.0, 7.0, 9.0]]))
    boxes = boxes.float()
    mask_in = as_tensor(torch, rng.standard_normal((2, 1, 4 * GRID, 4 * GRID)), dtype=torch.float)
    yy, xx = np.mgrid[:IMAGE, :IMAGE]
    target = np.stack(
        [((yy - 8) ** 2 + (xx - 6) ** 2 < 20), ((yy - 4) ** 2 + (xx - 9) ** 2 < 10)]
    ).astype(np.float32)[:, None]
    target_t = as_tensor(torch, target)

    dense_pe = pe_enc.get_dense_pe()
    values += [float(dense_pe.shape[1]), dense_pe.pow(2).sum(1).mean().item()]  # sin^2+cos^2
    values += dense_pe.flatten()[:16].tolist()

    # SAM's boolean-mask writes and SAM 2's torch.where give the same point embeddings
    with torch.no_grad():
        sparse_masked, _ = pe_enc((coords, labels), None, None)
        pe_enc.use_where = True
        sparse_where, dense_none = pe_enc((coords, labels), None, None)
        pe_enc.use_where = False
    values += [(sparse_masked - sparse_where).abs().max().item(), float(sparse_masked.shape[1])]
    values += sparse_masked.flatten().tolist() + dense_none.sum((1, 2, 3)).tolist()

    optimizer = torch.optim.Adam(sam.parameters(), lr=1e-2)
    for step in range(STEPS):
        optimizer.zero_grad()
        pts = (coords, labels) if step != 1 else None
        bxs = boxes if step != 0 else None
        sparse, dense = pe_enc(pts, bxs, mask_in if step == 2 else None)
        low_res_masks, iou_pred = sam.mask_decoder(
            image_embedding, pe_enc.get_dense_pe(), sparse, dense
        )
        upscaled = F.interpolate(
            low_res_masks, (IMAGE, IMAGE), mode="bilinear", align_corners=False
        )[:, :1]
        prob = upscaled.sigmoid()
        ce = F.binary_cross_entropy_with_logits(upscaled, target_t, reduction="none")
        p_t = prob * target_t + (1 - prob) * (1 - target_t)
        focal = (ce * ((1 - p_t) ** 2)).mean()
        inter = (prob * target_t).sum((1, 2, 3))
        dice = 1 - (2 * inter + 1) / (prob.sum((1, 2, 3)) + target_t.sum((1, 2, 3)) + 1)
        iou = inter / (prob.sum((1, 2, 3)) + target_t.sum((1, 2, 3)) - inter)
        loss = 20 * focal + dice.mean() + F.mse_loss(iou_pred[:, 0], iou.detach())
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(sparse.shape[1])]
        for p in (
            pe_enc.point_embeddings[1].weight,
            pe_enc.point_embeddings[3].weight,
            pe_enc.not_a_point_embed.weight,
            pe_enc.no_mask_embed.weight,
            pe_enc.mask_downscaling[0].weight,
        ):
            values += [0.0 if p.grad is None else p.grad.norm().item()]
    return values


def check(values: list[float]) -> None:
    assert values[0] == EMBED and abs(values[1] - EMBED // 2) < 1e-5
    assert values[18] < 1e-6 and values[19] == 4  # masks == where; 3 points + the padding point
