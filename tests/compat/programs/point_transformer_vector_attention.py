"""Point Transformer vector attention in its two common PyTorch forms, size-reduced into a small
point-cloud classifier: lucidrains' ``point-transformer-pytorch`` ``PointTransformerLayer``
(``self.to_qkv(x).chunk(3, dim = -1)``, ``rel_pos = pos[:, :, None, :] - pos[:, None, :, :]``,
the subtraction relation ``q[:, :, None, :] - k[:, None, :, :]``, the pair mask ``mask[:, :,
None] * mask[:, None, :]``, ``rel_dist = rel_pos.norm(dim = -1)`` with
``rel_dist.masked_fill_(~mask, torch.finfo(t.dtype).max)``, ``rel_dist.topk(num_neighbors,
largest = False)``, ``batched_index_select`` (``indices[(..., *((None,) * len(value_dims)))]``,
``.expand(*((-1,) * len(indices_shape)), *value_dims)``, ``values[(*((slice(None),) * dim),
*((None,) * value_expand_len), ...)]``, ``values.gather(dim, indices)``), ``sim.masked_fill_(
~mask[..., None], -max_value(sim))``, ``attn = sim.softmax(dim = -2)``, ``einsum('b i j d, b i j d
-> b i d', attn, v)``) and the official ``PointTransformerLayer`` (``model/pointtransformer``:
neighbours by ``torch.cdist`` + ``topk`` instead of ``pointops.knnquery``, ``x_k - x_q.unsqueeze(1)
+ p_r.view(n, nsample, out_planes // mid_planes, mid_planes).sum(2)``, the ``linear_p``/``linear_w``
``Sequential``s applying ``BatchNorm1d`` through ``layer(p_r.transpose(1, 2).contiguous())
.transpose(1, 2).contiguous()`` when ``i`` picks the norm, ``self.softmax(w)`` over the
neighbours and ``((x_v + p_r).view(n, nsample, s, c // s) * w.unsqueeze(2)).sum(1).view(n, c)``
with ``share_planes``); a max-pooled head, ``CrossEntropyLoss(label_smoothing=0.1)``, ``SGD``
with momentum and weight decay, ``MultiStepLR``.

Changed: 1024 points -> 12 per cloud (the last two padded in the second cloud), dim 32 -> 8,
16 neighbours -> 4, one layer of each kind; the ModelNet40 clouds are seeded NumPy shapes in
three classes (sphere, plane, line).
"""

from __future__ import annotations

from typing import Any

import numpy as np

N, DIM, K, SHARE, CLASSES = 12, 8, 4, 2, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def exists(val: Any) -> bool:
        return val is not None

    def max_value(t: Any) -> float:
        return torch.finfo(t.dtype).max

    def batched_index_select(values: Any, indices: Any, dim: int = 1) -> Any:
        value_dims = values.shape[(dim + 1) :]
        values_shape, indices_shape = map(lambda t: list(t.shape), (values, indices))
        indices = indices[(..., *((None,) * len(value_dims)))]
        indices = indices.expand(*((-1,) * len(indices_shape)), *value_dims)
        value_expand_len = len(indices_shape) - (dim + 1)
        values = values[(*((slice(None),) * dim), *((None,) * value_expand_len), ...)]
        value_expand_shape = [-1] * len(values.shape)
        expand_slice = slice(dim, (dim + value_expand_len))
        value_expand_shape[expand_slice] = indices.shape[expand_slice]
        values = values.expand(*value_expand_shape)
        dim += value_expand_len
        return values.gather(dim, indices)

    class LucidrainsPointTransformerLayer(nn.Module):
        def __init__(self, *, dim: int, pos_mlp_hidden_dim: int = 6, attn_mlp_hidden_mult: int = 2,
                     num_neighbors: int | None = None) -> None:  # fmt: skip
            super().__init__()
            self.num_neighbors = num_neighbors
            self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
            self.pos_mlp = nn.Sequential(
                nn.Linear(3, pos_mlp_hidden_dim), nn.ReLU(), nn.Linear(pos_mlp_hidden_dim, dim)
            )
            self.attn_mlp = nn.Sequential(
                nn.Linear(dim, dim * attn_mlp_hidden_mult),
                nn.ReLU(),
                nn.Linear(dim * attn_mlp_hidden_mult, dim),
            )

        def forward(self, x: Any, pos: Any, mask: Any = None) -> Any:
            n, num_neighbors = x.shape[1], self.num_neighbors
            # get queries, keys, values
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            # calculate relative positional embeddings
            rel_pos = pos[:, :, None, :] - pos[:, None, :, :]
            rel_pos_emb = self.pos_mlp(rel_pos)
            # use subtraction of queries to keys
            qk_rel = q[:, :, None, :] - k[:, None, :, :]
            # prepare mask
            if exists(mask):
                mask = mask[:, :, None] * mask[:, None, :]
            # expand values (einops' repeat(v, 'b j d -> b i j d', i = n))
            v = v[:, None, :, :].expand(-1, n, -1, -1)
            # determine k nearest neighbors for each point, if specified
            if exists(num_neighbors) and num_neighbors < n:
                rel_dist = rel_pos.norm(dim=-1)
                if exists(mask):
                    mask_value = max_value(rel_dist)
                    rel_dist.masked_fill_(~mask, mask_value)
                dist, indices = rel_dist.topk(num_neighbors, largest=False)
                v = batched_index_select(v, indices, dim=2)
                qk_rel = batched_index_select(qk_rel, indices, dim=2)
                rel_pos_emb = batched_index_select(rel_pos_emb, indices, dim=2)
                mask = batched_index_select(mask, indices, dim=2) if exists(mask) else None
            # add relative positional embeddings to value
            v = v + rel_pos_emb
            # use attention mlp, making sure to add relative positional embedding first
            sim = self.attn_mlp(qk_rel + rel_pos_emb)
            # masking
            if exists(mask):
                mask_value = -max_value(sim)
                sim.masked_fill_(~mask[..., None], mask_value)
            # attention
            attn = sim.softmax(dim=-2)
            # aggregate
            return torch.einsum("b i j d, b i j d -> b i d", attn, v)

    class PointTransformerLayer(nn.Module):
        def __init__(self, in_planes: int, out_planes: int, share_planes: int = 8,
                     nsample: int = 16) -> None:  # fmt: skip
            super().__init__()
            self.mid_planes = mid_planes = out_planes // 1
            self.out_planes, self.share_planes, self.nsample = out_planes, share_planes, nsample
            self.linear_q = nn.Linear(in_planes, mid_planes)
            self.linear_k = nn.Linear(in_planes, mid_planes)
            self.linear_v = nn.Linear(in_planes, out_planes)
            self.linear_p = nn.Sequential(
                nn.Linear(3, 3), nn.BatchNorm1d(3), nn.ReLU(inplace=True), nn.Linear(3, out_planes)
            )
            self.linear_w = nn.Sequential(
                nn.BatchNorm1d(mid_planes),
                nn.ReLU(inplace=True),
                nn.Linear(mid_planes, mid_planes // share_planes),
                nn.BatchNorm1d(mid_planes // share_planes),
                nn.ReLU(inplace=True),
                nn.Linear(out_planes // share_planes, out_planes // share_planes),
            )
            self.softmax = nn.Softmax(dim=1)

        def forward(self, p: Any, x: Any) -> Any:
            x_q, x_k, x_v = self.linear_q(x), self.linear_k(x), self.linear_v(x)  # (n, c)
            # pointops.queryandgroup: the nsample nearest points (with themselves)
            idx = torch.cdist(p, p).topk(self.nsample, dim=-1, largest=False)[1]  # (n, nsample)
            p_r = p[idx] - p.unsqueeze(1)  # (n, nsample, 3)
            x_k, x_v = x_k[idx], x_v[idx]  # (n, nsample, c)
            for i, layer in enumerate(self.linear_p):
                p_r = (
                    layer(p_r.transpose(1, 2).contiguous()).transpose(1, 2).contiguous()
                    if i == 1
                    else layer(p_r)
                )  # (n, nsample, c)
            w = (
                x_k
                - x_q.unsqueeze(1)
                + p_r.view(
                    p_r.shape[0], p_r.shape[1], self.out_planes // self.mid_planes, self.mid_planes
                ).sum(2)
            )  # (n, nsample, c)
            for i, layer in enumerate(self.linear_w):
                w = (
                    layer(w.transpose(1, 2).contiguous()).transpose(1, 2).contiguous()
                    if i % 3 == 0
                    else layer(w)
                )
            w = self.softmax(w)  # (n, nsample, c)
            n, nsample, c = x_v.shape
            s = self.share_planes
            return ((x_v + p_r).view(n, nsample, s, c // s) * w.unsqueeze(2)).sum(1).view(n, c)

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(3, DIM)
            self.attn1 = LucidrainsPointTransformerLayer(dim=DIM, num_neighbors=K)
            self.attn2 = PointTransformerLayer(DIM, DIM, share_planes=SHARE, nsample=K)
            self.head = nn.Sequential(nn.Linear(DIM, DIM), nn.ReLU(), nn.Linear(DIM, CLASSES))

        def forward(self, pos: Any, mask: Any) -> Any:
            x = self.embed(pos)
            x = x + self.attn1(x, pos, mask=mask)
            pooled = []
            for b in range(pos.shape[0]):  # the official layer takes one packed cloud
                keep = mask[b]
                p_b, x_b = pos[b][keep], x[b][keep]
                x_b = x_b + self.attn2(p_b, x_b)
                pooled.append(x_b.max(dim=0)[0])
            return self.head(torch.stack(pooled))

    return Classifier()


def _clouds(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = np.zeros((n, N, 3))
    labels = np.arange(n) % CLASSES
    for i, c in enumerate(labels):
        u = rng.standard_normal((N, 3))
        if c == 0:
            pts = u / np.linalg.norm(u, axis=1, keepdims=True)
        elif c == 1:
            pts = u * np.array([1.0, 1.0, 0.05])
        else:
            pts = u * np.array([1.0, 0.05, 0.05])
        pos[i] = pts + 0.02 * rng.standard_normal((N, 3))
    mask = np.ones((n, N), dtype=bool)
    mask[1, -2:] = False
    pos[~mask] = 0.0
    return pos, mask, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(355)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3, 5], gamma=0.1)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    values: list[float] = []
    for _epoch in range(6):
        pos, mask, labels = _clouds(rng, 6)
        model.train()
        for i in range(0, 6, 3):
            p = torch.tensor(pos[i : i + 3])
            m = torch.tensor(mask[i : i + 3])
            y = torch.tensor(labels[i : i + 3])
            output = model(p, m)
            loss = criterion(output, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        scheduler.step()
        model.eval()
        with torch.no_grad():
            out = model(torch.tensor(pos), torch.tensor(mask))
            values.append((out.argmax(1) == torch.tensor(labels)).float().mean().item())
    values.append(float(model.attn2.linear_w[0].running_var.sum()))
    return values
