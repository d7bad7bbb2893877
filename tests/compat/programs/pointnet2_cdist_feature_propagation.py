"""PointNet++ part segmentation written with ``torch.cdist`` and ``gather`` instead of the CUDA
ops (the pure-PyTorch fallbacks of erikwijmans/Pointnet2_PyTorch-style repositories and of
course notebooks), size-reduced; ``pointnet2_sampling`` covers yanx27's indexing forms.

The idioms: farthest point sampling as a Python loop over ``torch.cdist(xyz,
centroid).squeeze(-1)`` with ``torch.minimum(distance, d)`` and ``torch.argmax(distance,
dim=-1)``, the sampled points read with ``torch.gather(xyz, 1, idx.unsqueeze(-1).expand(-1,
-1, 3))``; ball query from ``dists = torch.cdist(new_xyz, xyz)``, ``dists.topk(nsample,
dim=-1, largest=False)`` and the points outside the radius replaced by the nearest one
(``idx.masked_fill`` / ``torch.where(d > radius, idx[..., :1].expand_as(idx), idx)``);
grouping ``grouped = torch.gather(points.unsqueeze(1).expand(B, S, N, C), 2,
idx.unsqueeze(-1).expand(-1, -1, -1, C))`` and recentering ``grouped_xyz - new_xyz.unsqueeze(2)``;
the shared MLP as ``nn.Conv2d(..., 1)`` + ``nn.BatchNorm2d`` on ``permute(0, 3, 1, 2)`` and the
max over neighbours ``.max(dim=-1)[0]``; feature propagation (``three_nn`` / ``three_interpolate``:
``dist, idx = torch.cdist(unknown, known).topk(3, dim=-1, largest=False)``, ``dist_recip = 1.0 /
(dist + 1e-8)``, ``norm = torch.sum(dist_recip, dim=2, keepdim=True)``, ``weight = dist_recip /
norm``, ``torch.sum(gathered * weight.unsqueeze(-1), dim=2)``) concatenated with the skip
features and an ``nn.Conv1d`` head; per-point ``F.cross_entropy`` on ``(B, classes, N)``
logits, ``Adam`` with ``clip_grad_norm_``; the mean IoU computed from ``torch.bincount(
target * K + pred, minlength=K * K).reshape(K, K)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_POINTS, N_CLASSES = 16, 3


def _fps(torch: Any, xyz: Any, npoint: int) -> Any:
    B, N, _ = xyz.shape
    idx = torch.zeros(B, npoint, dtype=torch.long)
    distance = torch.full((B, N), 1e10, dtype=xyz.dtype)
    farthest = torch.zeros(B, dtype=torch.long)  # point 0 first (no random start)
    for i in range(npoint):
        idx[:, i] = farthest
        centroid = torch.gather(xyz, 1, farthest.view(B, 1, 1).expand(-1, -1, 3))
        d = torch.cdist(xyz, centroid).squeeze(-1)
        distance = torch.minimum(distance, d)
        farthest = torch.argmax(distance, dim=-1)
    return idx


def _ball_query(torch: Any, radius: float, nsample: int, xyz: Any, new_xyz: Any) -> Any:
    dists = torch.cdist(new_xyz, xyz)
    d, idx = dists.topk(nsample, dim=-1, largest=False)
    return torch.where(d > radius, idx[..., :1].expand_as(idx), idx)


def _group(points: Any, idx: Any) -> Any:
    B, N, C = points.shape
    S = idx.shape[1]
    return points.unsqueeze(1).expand(B, S, N, C).gather(2, idx.unsqueeze(-1).expand(-1, -1, -1, C))


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SetAbstraction(nn.Module):
        def __init__(self, npoint: int, radius: float, nsample: int, in_ch: int, out_ch: int):
            super().__init__()
            self.npoint, self.radius, self.nsample = npoint, radius, nsample
            self.conv = nn.Conv2d(in_ch + 3, out_ch, 1)
            self.bn = nn.BatchNorm2d(out_ch)

        def forward(self, xyz: Any, points: Any) -> tuple[Any, Any]:
            fps_idx = _fps(torch, xyz.detach(), self.npoint)
            new_xyz = torch.gather(xyz, 1, fps_idx.unsqueeze(-1).expand(-1, -1, 3))
            idx = _ball_query(torch, self.radius, self.nsample, xyz, new_xyz)
            grouped_xyz = _group(xyz, idx) - new_xyz.unsqueeze(2)
            grouped = torch.cat([grouped_xyz, _group(points, idx)], dim=-1)
            x = F.relu(self.bn(self.conv(grouped.permute(0, 3, 1, 2))))
            return new_xyz, x.max(dim=-1)[0].transpose(1, 2)

    class FeaturePropagation(nn.Module):
        def __init__(self, in_ch: int, out_ch: int) -> None:
            super().__init__()
            self.conv = nn.Conv1d(in_ch, out_ch, 1)
            self.bn = nn.BatchNorm1d(out_ch)

        def forward(self, unknown: Any, known: Any, unknown_feats: Any, known_feats: Any) -> Any:
            dist, idx = torch.cdist(unknown, known).topk(3, dim=-1, largest=False)
            dist_recip = 1.0 / (dist + 1e-8)
            norm = torch.sum(dist_recip, dim=2, keepdim=True)
            weight = dist_recip / norm
            interpolated = torch.sum(_group(known_feats, idx) * weight.unsqueeze(-1), dim=2)
            x = torch.cat([interpolated, unknown_feats], dim=-1).transpose(1, 2)
            return F.relu(self.bn(self.conv(x)))

    class PointNet2Seg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sa1 = SetAbstraction(8, 0.6, 4, 1, 8)
            self.sa2 = SetAbstraction(4, 0.9, 3, 8, 12)
            self.fp2 = FeaturePropagation(12 + 8, 8)
            self.fp1 = FeaturePropagation(8 + 1, 8)
            self.head = nn.Conv1d(8, N_CLASSES, 1)

        def forward(self, xyz: Any, feats: Any) -> Any:
            l1_xyz, l1 = self.sa1(xyz, feats)
            l2_xyz, l2 = self.sa2(l1_xyz, l1)
            l1 = self.fp2(l1_xyz, l2_xyz, l1, l2).transpose(1, 2)
            l0 = self.fp1(xyz, l1_xyz, feats, l1)
            return self.head(l0)

    return PointNet2Seg()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(4)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    xyz_np = rng.uniform(-1, 1, (3, 2, N_POINTS, 3))
    labels_np = (xyz_np[..., 0] > 0.3).astype(np.int64) + (xyz_np[..., 1] > 0.3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _epoch in range(2):
        model.train()
        for xyz_b, y_b in zip(xyz_np, labels_np):
            xyz = torch.from_numpy(xyz_b)
            feats = xyz[..., 2:].clone()
            target = torch.from_numpy(y_b)
            optimizer.zero_grad()
            logits = model(xyz, feats)
            loss = F.cross_entropy(logits, target)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            optimizer.step()
            values += [loss.item(), norm.item()]

    model.eval()
    with torch.no_grad():
        xyz = torch.from_numpy(xyz_np[0])
        target = torch.from_numpy(labels_np[0])
        pred = model(xyz, xyz[..., 2:].clone()).argmax(dim=1)
        K = N_CLASSES
        conf = torch.bincount((target * K + pred).view(-1), minlength=K * K).reshape(K, K)
        inter = conf.diag()
        union = conf.sum(0) + conf.sum(1) - inter
        iou = inter.float() / union.clamp(min=1).float()
        values += conf.view(-1).tolist() + [iou.mean().item()]
        values += _fps(torch, xyz, 5).view(-1).tolist()
        values += _ball_query(torch, 0.5, 3, xyz, xyz[:, :4]).view(-1).tolist()
    return values
