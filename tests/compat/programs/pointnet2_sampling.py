"""PointNet++ as yanx27/Pointnet_Pointnet2_pytorch (``models/pointnet2_utils.py``,
``models/pointnet2_cls_ssg.py``) writes it, size-reduced: ``square_distance`` (``-2 *
torch.matmul(src, dst.permute(0, 2, 1))`` plus ``torch.sum(src ** 2, -1).view(B, N, 1)`` and
``torch.sum(dst ** 2, -1).view(B, 1, M)``), ``index_points`` (``view_shape[1:] = [1] *
(len(view_shape) - 1)``, ``repeat_shape[0] = 1``, ``torch.arange(B, dtype=torch.long)
.view(view_shape).repeat(repeat_shape)``, ``points[batch_indices, idx, :]``),
``farthest_point_sample`` as its Python loop (``torch.zeros(B, npoint, dtype=torch.long)``,
``distance = torch.ones(B, N) * 1e10``, ``centroid = xyz[batch_indices, farthest, :].view(B, 1,
3)``, ``mask = dist < distance``, ``distance[mask] = dist[mask]``, ``torch.max(distance, -1)
[1]``), ``query_ball_point`` (``group_idx[sqrdists > radius ** 2] = N``, ``.sort(dim=-1)[0][:,
:, :nsample]``, ``group_first = group_idx[:, :, 0].view(B, S, 1).repeat([1, 1, nsample])``,
``group_idx[mask] = group_first[mask]``), ``sample_and_group`` (``grouped_xyz - new_xyz.view(B,
S, 1, C)``, ``torch.cat([grouped_xyz_norm, grouped_points], dim=-1)``), ``sample_and_group_all``,
``PointNetSetAbstraction`` (``nn.ModuleList`` of ``nn.Conv2d(last_channel, out_channel, 1)`` +
``nn.BatchNorm2d``, ``new_points.permute(0, 3, 2, 1)``, ``F.relu(bn(conv(new_points)))``,
``torch.max(new_points, 2)[0]``) and the classifier head (``nn.Linear`` + ``nn.BatchNorm1d`` +
``nn.Dropout``, ``F.log_softmax(x, -1)``) trained with ``F.nll_loss`` and ``Adam``.

Changed: ``farthest_point_sample`` starts at point 0 of every cloud instead of
``torch.randint(0, N, (B,))`` (the two libraries' generators differ); widths and point counts
are small; dropout is 0 (random masks cannot agree).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# The conv biases before batch norm (as in the repository), and the last batch-norm shifts, whose
# effect the training-mode batch norm after them cancels, have gradients that are zero up to
# rounding; Adam scales that rounding noise up to ~1e-6 of a step, which the eval pass (running
# statistics, nothing cancels) shows at ~3e-7 relative. Every training-mode value agrees to 1e-9.
RTOL = 1e-6

B, N, NPOINT, NSAMPLE, RADIUS, N_CLS, STEPS = 4, 24, 8, 6, 0.6, 3, 4


def square_distance(torch: Any, src: Any, dst: Any) -> Any:
    """Squared Euclidean distance between each pair of points of src and dst."""
    B, N, _ = src.shape
    _, M, _ = dst.shape
    dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
    dist += torch.sum(src**2, -1).view(B, N, 1)
    dist += torch.sum(dst**2, -1).view(B, 1, M)
    return dist


def index_points(torch: Any, points: Any, idx: Any) -> Any:
    """points [B, N, C], idx [B, S] or [B, S, K] -> the indexed points."""
    B = points.shape[0]
    view_shape = list(idx.shape)
    view_shape[1:] = [1] * (len(view_shape) - 1)
    repeat_shape = list(idx.shape)
    repeat_shape[0] = 1
    batch_indices = torch.arange(B, dtype=torch.long).view(view_shape).repeat(repeat_shape)
    new_points = points[batch_indices, idx, :]
    return new_points


def farthest_point_sample(torch: Any, xyz: Any, npoint: int) -> Any:
    B, N, C = xyz.shape
    centroids = torch.zeros(B, npoint, dtype=torch.long)
    distance = torch.ones(B, N) * 1e10
    farthest = torch.zeros(B, dtype=torch.long)  # the repository draws torch.randint(0, N, (B,))
    batch_indices = torch.arange(B, dtype=torch.long)
    for i in range(npoint):
        centroids[:, i] = farthest
        centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
        dist = torch.sum((xyz - centroid) ** 2, -1)
        mask = dist < distance
        distance[mask] = dist[mask]
        farthest = torch.max(distance, -1)[1]
    return centroids


def query_ball_point(torch: Any, radius: float, nsample: int, xyz: Any, new_xyz: Any) -> Any:
    B, N, C = xyz.shape
    _, S, _ = new_xyz.shape
    group_idx = torch.arange(N, dtype=torch.long).view(1, 1, N).repeat([B, S, 1])
    sqrdists = square_distance(torch, new_xyz, xyz)
    group_idx[sqrdists > radius**2] = N
    group_idx = group_idx.sort(dim=-1)[0][:, :, :nsample]
    group_first = group_idx[:, :, 0].view(B, S, 1).repeat([1, 1, nsample])
    mask = group_idx == N
    group_idx[mask] = group_first[mask]
    return group_idx


def sample_and_group(
    torch: Any, npoint: int, radius: float, nsample: int, xyz: Any, points: Any
) -> tuple[Any, Any]:
    B, N, C = xyz.shape
    S = npoint
    fps_idx = farthest_point_sample(torch, xyz, npoint)  # [B, npoint]
    new_xyz = index_points(torch, xyz, fps_idx)
    idx = query_ball_point(torch, radius, nsample, xyz, new_xyz)
    grouped_xyz = index_points(torch, xyz, idx)  # [B, npoint, nsample, C]
    grouped_xyz_norm = grouped_xyz - new_xyz.view(B, S, 1, C)
    if points is not None:
        grouped_points = index_points(torch, points, idx)
        new_points = torch.cat([grouped_xyz_norm, grouped_points], dim=-1)
    else:
        new_points = grouped_xyz_norm
    return new_xyz, new_points


def sample_and_group_all(torch: Any, xyz: Any, points: Any) -> tuple[Any, Any]:
    B, N, C = xyz.shape
    new_xyz = torch.zeros(B, 1, C)
    grouped_xyz = xyz.view(B, 1, N, C)
    if points is not None:
        new_points = torch.cat([grouped_xyz, points.view(B, 1, N, -1)], dim=-1)
    else:
        new_points = grouped_xyz
    return new_xyz, new_points


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class PointNetSetAbstraction(nn.Module):
        def __init__(
            self,
            npoint: int | None,
            radius: float | None,
            nsample: int | None,
            in_channel: int,
            mlp: list[int],
            group_all: bool,
        ) -> None:
            super().__init__()
            self.npoint = npoint
            self.radius = radius
            self.nsample = nsample
            self.mlp_convs = nn.ModuleList()
            self.mlp_bns = nn.ModuleList()
            last_channel = in_channel
            for out_channel in mlp:
                self.mlp_convs.append(nn.Conv2d(last_channel, out_channel, 1))
                self.mlp_bns.append(nn.BatchNorm2d(out_channel))
                last_channel = out_channel
            self.group_all = group_all

        def forward(self, xyz: Any, points: Any) -> tuple[Any, Any]:
            xyz = xyz.permute(0, 2, 1)
            if points is not None:
                points = points.permute(0, 2, 1)
            if self.group_all:
                new_xyz, new_points = sample_and_group_all(torch, xyz, points)
            else:
                new_xyz, new_points = sample_and_group(
                    torch, self.npoint, self.radius, self.nsample, xyz, points
                )
            # new_points: [B, npoint, nsample, C+D]
            new_points = new_points.permute(0, 3, 2, 1)  # [B, C+D, nsample, npoint]
            for i, conv in enumerate(self.mlp_convs):
                bn = self.mlp_bns[i]
                new_points = F.relu(bn(conv(new_points)))
            new_points = torch.max(new_points, 2)[0]
            new_xyz = new_xyz.permute(0, 2, 1)
            return new_xyz, new_points

    class get_model(nn.Module):
        def __init__(self, num_class: int, normal_channel: bool = False) -> None:
            super().__init__()
            in_channel = 6 if normal_channel else 3
            self.normal_channel = normal_channel
            self.sa1 = PointNetSetAbstraction(NPOINT, RADIUS, NSAMPLE, in_channel, [8, 8], False)
            self.sa3 = PointNetSetAbstraction(None, None, None, 8 + 3, [8, 12], True)
            self.fc1 = nn.Linear(12, 8)
            self.bn1 = nn.BatchNorm1d(8)
            self.drop1 = nn.Dropout(0.0)
            self.fc3 = nn.Linear(8, num_class)

        def forward(self, xyz: Any) -> tuple[Any, Any]:
            B, _, _ = xyz.shape
            if self.normal_channel:
                norm = xyz[:, 3:, :]
                xyz = xyz[:, :3, :]
            else:
                norm = None
            l1_xyz, l1_points = self.sa1(xyz, norm)
            l3_xyz, l3_points = self.sa3(l1_xyz, l1_points)
            x = l3_points.view(B, 12)
            x = self.drop1(F.relu(self.bn1(self.fc1(x))))
            x = self.fc3(x)
            x = F.log_softmax(x, -1)
            return x, l3_points

    return get_model(N_CLS)


def _clouds(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(B) % N_CLS
    pts = rng.standard_normal((B, N, 3))
    pts[labels == 1, :, 2] *= 0.05  # planes
    pts[labels == 2, :, 1:] *= 0.05  # lines
    return pts, labels


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    pts, labels = _clouds(rng)
    points = as_tensor(torch, pts)
    target = as_tensor(torch, labels)
    values: list[float] = []
    # the sampling utilities on their own
    fps = farthest_point_sample(torch, points, NPOINT)
    new_xyz = index_points(torch, points, fps)
    group = query_ball_point(torch, RADIUS, NSAMPLE, points, new_xyz)
    sq = square_distance(torch, new_xyz, points)
    direct = ((new_xyz[:, :, None, :] - points[:, None, :, :]) ** 2).sum(-1)
    values += fps.flatten().tolist() + group.flatten().tolist()
    values += [(sq - direct).abs().max().item(), fps.dtype == torch.long]
    optimizer = torch.optim.Adam(
        model.parameters(), lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=1e-4
    )
    model.train()
    for _step in range(STEPS):
        optimizer.zero_grad()
        pred, trans_feat = model(points.transpose(2, 1))
        loss = F.nll_loss(pred, target.long())
        loss.backward()
        optimizer.step()
        pred_choice = pred.data.max(1)[1]
        correct = pred_choice.eq(target.long().data).cpu().sum()
        values += [loss.item(), correct.item() / float(B), model.fc1.weight.grad.norm().item()]
        values += [model.sa1.mlp_convs[0].weight.grad.abs().sum().item()]
    model.eval()
    with torch.no_grad():
        pred, feat = model(points.transpose(2, 1))
    values += pred.flatten().tolist() + list(feat.shape)
    return [float(v) for v in values]
