"""Wu et al. 2019 "PointConv" with its inverse-density weighting as DylanWusee/pointconv_pytorch
(``utils/pointconv_util.py``, ``model/pointconv.py``, ``train_cls_conv.py``) writes it,
size-reduced.

The idioms: ``square_distance`` (``-2 * torch.matmul(src, dst.permute(0, 2, 1))`` plus
``torch.sum(src ** 2, -1).view(B, N, 1)``); ``index_points`` (``view_shape[1:] = [1] *
(len(view_shape) - 1)``, ``torch.arange(B, dtype=torch.long).to(device).view(view_shape)
.repeat(repeat_shape)``, ``points[batch_indices, idx, :]``); ``farthest_point_sample``
(``torch.ones(B, N) * 1e10``, ``centroids[:, i] = farthest``, ``distance[mask] = dist[mask]``,
``torch.max(distance, -1)[1]``); ``knn_point`` with ``torch.topk(sqrdists, nsample, dim=-1,
largest=False, sorted=False)`` (the neighbours' order is unspecified; everything after it sums or
maxes over them); ``compute_density``'s Gaussian kernel (``torch.exp(- sqrdists / (2.0 *
bandwidth * bandwidth)) / (2.5 * bandwidth)``, ``.mean(dim=-1)``) and ``inverse_density = 1.0 /
xyz_density``; ``sample_and_group`` / ``sample_and_group_all``; ``DensityNet`` and
``WeightNet`` (1x1 ``Conv2d`` + ``BatchNorm2d`` in ``nn.ModuleList``s, the repo's never-true
``if i == len(self.mlp_convs)`` sigmoid branch); ``PointConvDensitySetAbstraction`` (``grouped_
density.max(dim=2, keepdim=True)[0]``, ``density_scale.permute(0, 3, 2, 1)``, the weighted sum
``torch.matmul(input=new_points.permute(0, 3, 1, 2), other=weights.permute(0, 3, 2,
1)).view(B, self.npoint, -1)``, ``self.bn_linear(new_points.permute(0, 2, 1))``); the
classifier's ``F.log_softmax(x, -1)`` and ``F.nll_loss``; ``torch.optim.SGD(...,
momentum=0.9)`` with ``StepLR``; ``pred.data.max(1)[1]`` accuracy.

Changed: ModelNet40 1024-point clouds -> 2 classes of 16 NumPy points (a sphere and a cube)
with their normals as features; npoint 512/128 -> 6, nsample 32 -> 4, mlp widths -> 8/12,
WeightNet out 16 -> 4, one local and one ``group_all`` layer; ``farthest_point_sample``'s random
start ``torch.randint`` -> point 0 (the generators differ); dropout 0; 3 steps of batch 4.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_POINTS, NPOINT, NSAMPLE, WN_OUT = 16, 6, 4, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def square_distance(src: Any, dst: Any) -> Any:
        B, N, _ = src.shape
        _, M, _ = dst.shape
        dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
        dist += torch.sum(src**2, -1).view(B, N, 1)
        dist += torch.sum(dst**2, -1).view(B, 1, M)
        return dist

    def index_points(points: Any, idx: Any) -> Any:
        device = points.device
        B = points.shape[0]
        view_shape = list(idx.shape)
        view_shape[1:] = [1] * (len(view_shape) - 1)
        repeat_shape = list(idx.shape)
        repeat_shape[0] = 1
        batch_indices = (
            torch.arange(B, dtype=torch.long).to(device).view(view_shape).repeat(repeat_shape)
        )
        new_points = points[batch_indices, idx, :]
        return new_points

    def farthest_point_sample(xyz: Any, npoint: int) -> Any:
        device = xyz.device
        B, N, C = xyz.shape
        centroids = torch.zeros(B, npoint, dtype=torch.long).to(device)
        distance = torch.ones(B, N).to(device) * 1e10
        farthest = torch.zeros(B, dtype=torch.long).to(device)  # torch.randint(0, N, (B,))
        batch_indices = torch.arange(B, dtype=torch.long).to(device)
        for i in range(npoint):
            centroids[:, i] = farthest
            centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
            dist = torch.sum((xyz - centroid) ** 2, -1)
            mask = dist < distance
            distance[mask] = dist[mask]
            farthest = torch.max(distance, -1)[1]
        return centroids

    def knn_point(nsample: int, xyz: Any, new_xyz: Any) -> Any:
        sqrdists = square_distance(new_xyz, xyz)
        _, group_idx = torch.topk(sqrdists, nsample, dim=-1, largest=False, sorted=False)
        return group_idx

    def sample_and_group(npoint, nsample, xyz, points, density_scale=None):
        B, N, C = xyz.shape
        S = npoint
        fps_idx = farthest_point_sample(xyz, npoint)  # [B, npoint]
        new_xyz = index_points(xyz, fps_idx)
        idx = knn_point(nsample, xyz, new_xyz)
        grouped_xyz = index_points(xyz, idx)  # [B, npoint, nsample, C]
        grouped_xyz_norm = grouped_xyz - new_xyz.view(B, S, 1, C)
        if points is not None:
            grouped_points = index_points(points, idx)
            new_points = torch.cat([grouped_xyz_norm, grouped_points], dim=-1)
        else:
            new_points = grouped_xyz_norm
        grouped_density = index_points(density_scale, idx)
        return new_xyz, new_points, grouped_xyz_norm, idx, grouped_density

    def sample_and_group_all(xyz, points, density_scale=None):
        B, N, C = xyz.shape
        new_xyz = xyz.mean(dim=1, keepdim=True)
        grouped_xyz = xyz.view(B, 1, N, C) - new_xyz.view(B, 1, 1, C)
        if points is not None:
            new_points = torch.cat([grouped_xyz, points.view(B, 1, N, -1)], dim=-1)
        else:
            new_points = grouped_xyz
        grouped_density = density_scale.view(B, 1, N, 1)
        return new_xyz, new_points, grouped_xyz, grouped_density

    def compute_density(xyz: Any, bandwidth: float) -> Any:
        sqrdists = square_distance(xyz, xyz)
        gaussion_density = torch.exp(-sqrdists / (2.0 * bandwidth * bandwidth)) / (2.5 * bandwidth)
        xyz_density = gaussion_density.mean(dim=-1)
        return xyz_density

    class DensityNet(nn.Module):
        def __init__(self, hidden_unit: list = [8, 4]) -> None:  # noqa: B006 (as in the repo)
            super().__init__()
            self.mlp_convs = nn.ModuleList()
            self.mlp_bns = nn.ModuleList()
            self.mlp_convs.append(nn.Conv2d(1, hidden_unit[0], 1))
            self.mlp_bns.append(nn.BatchNorm2d(hidden_unit[0]))
            for i in range(1, len(hidden_unit)):
                self.mlp_convs.append(nn.Conv2d(hidden_unit[i - 1], hidden_unit[i], 1))
                self.mlp_bns.append(nn.BatchNorm2d(hidden_unit[i]))
            self.mlp_convs.append(nn.Conv2d(hidden_unit[-1], 1, 1))
            self.mlp_bns.append(nn.BatchNorm2d(1))

        def forward(self, density_scale: Any) -> Any:
            for i, conv in enumerate(self.mlp_convs):
                bn = self.mlp_bns[i]
                density_scale = bn(conv(density_scale))
                if i == len(self.mlp_convs):
                    density_scale = F.sigmoid(density_scale)
                else:
                    density_scale = F.relu(density_scale)
            return density_scale

    class WeightNet(nn.Module):
        def __init__(self, in_channel: int, out_channel: int, hidden_unit=[4, 4]) -> None:  # noqa: B006
            super().__init__()
            self.mlp_convs = nn.ModuleList()
            self.mlp_bns = nn.ModuleList()
            self.mlp_convs.append(nn.Conv2d(in_channel, hidden_unit[0], 1))
            self.mlp_bns.append(nn.BatchNorm2d(hidden_unit[0]))
            for i in range(1, len(hidden_unit)):
                self.mlp_convs.append(nn.Conv2d(hidden_unit[i - 1], hidden_unit[i], 1))
                self.mlp_bns.append(nn.BatchNorm2d(hidden_unit[i]))
            self.mlp_convs.append(nn.Conv2d(hidden_unit[-1], out_channel, 1))
            self.mlp_bns.append(nn.BatchNorm2d(out_channel))

        def forward(self, localized_xyz: Any) -> Any:
            weights = localized_xyz
            for i, conv in enumerate(self.mlp_convs):
                bn = self.mlp_bns[i]
                weights = F.relu(bn(conv(weights)))
            return weights

    class PointConvDensitySetAbstraction(nn.Module):
        def __init__(self, npoint, nsample, in_channel, mlp, bandwidth, group_all) -> None:
            super().__init__()
            self.npoint = npoint
            self.nsample = nsample
            self.mlp_convs = nn.ModuleList()
            self.mlp_bns = nn.ModuleList()
            last_channel = in_channel
            for out_channel in mlp:
                self.mlp_convs.append(nn.Conv2d(last_channel, out_channel, 1))
                self.mlp_bns.append(nn.BatchNorm2d(out_channel))
                last_channel = out_channel
            self.weightnet = WeightNet(3, WN_OUT)
            self.linear = nn.Linear(WN_OUT * mlp[-1], mlp[-1])
            self.bn_linear = nn.BatchNorm1d(mlp[-1])
            self.densitynet = DensityNet()
            self.group_all = group_all
            self.bandwidth = bandwidth

        def forward(self, xyz: Any, points: Any) -> tuple[Any, Any]:
            B = xyz.shape[0]
            N = xyz.shape[2]
            xyz = xyz.permute(0, 2, 1)
            if points is not None:
                points = points.permute(0, 2, 1)
            xyz_density = compute_density(xyz, self.bandwidth)
            inverse_density = 1.0 / xyz_density
            if self.group_all:
                new_xyz, new_points, grouped_xyz_norm, grouped_density = sample_and_group_all(
                    xyz, points, inverse_density.view(B, N, 1)
                )
            else:
                new_xyz, new_points, grouped_xyz_norm, _, grouped_density = sample_and_group(
                    self.npoint, self.nsample, xyz, points, inverse_density.view(B, N, 1)
                )
            new_points = new_points.permute(0, 3, 2, 1)
            for i, conv in enumerate(self.mlp_convs):
                bn = self.mlp_bns[i]
                new_points = F.relu(bn(conv(new_points)))
            inverse_max_density = grouped_density.max(dim=2, keepdim=True)[0]
            density_scale = grouped_density / inverse_max_density
            density_scale = self.densitynet(density_scale.permute(0, 3, 2, 1))
            new_points = new_points * density_scale
            grouped_xyz = grouped_xyz_norm.permute(0, 3, 2, 1)
            weights = self.weightnet(grouped_xyz)
            new_points = torch.matmul(
                input=new_points.permute(0, 3, 1, 2), other=weights.permute(0, 3, 2, 1)
            ).view(B, self.npoint, -1)
            new_points = self.linear(new_points)
            new_points = self.bn_linear(new_points.permute(0, 2, 1))
            new_points = F.relu(new_points)
            new_xyz = new_xyz.permute(0, 2, 1)
            return new_xyz, new_points

    class PointConvDensityClsSsg(nn.Module):
        def __init__(self, num_classes: int = 40) -> None:
            super().__init__()
            feature_dim = 3
            self.sa1 = PointConvDensitySetAbstraction(
                npoint=NPOINT, nsample=NSAMPLE, in_channel=feature_dim + 3, mlp=[8, 8],
                bandwidth=0.5, group_all=False,
            )  # fmt: skip
            self.sa3 = PointConvDensitySetAbstraction(
                npoint=1, nsample=None, in_channel=8 + 3, mlp=[8, 12], bandwidth=0.8,
                group_all=True,
            )  # fmt: skip
            self.fc1 = nn.Linear(12, 8)
            self.bn1 = nn.BatchNorm1d(8)
            self.drop1 = nn.Dropout(0.0)
            self.fc3 = nn.Linear(8, num_classes)

        def forward(self, xyz: Any, feat: Any) -> Any:
            B, _, _ = xyz.shape
            l1_xyz, l1_points = self.sa1(xyz, feat)
            l3_xyz, l3_points = self.sa3(l1_xyz, l1_points)
            x = l3_points.view(B, 12)
            x = self.drop1(F.relu(self.bn1(self.fc1(x))))
            x = self.fc3(x)
            x = F.log_softmax(x, -1)
            return x

    return PointConvDensityClsSsg(2)


def _clouds(rng: np.random.Generator, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts, normals = [], []
    for c in labels:
        p = rng.standard_normal((N_POINTS, 3))
        if c == 0:  # a sphere
            p /= np.linalg.norm(p, axis=1, keepdims=True)
            n = p.copy()
        else:  # a cube's surface
            p = np.clip(p, -1, 1)
            axis = rng.integers(0, 3, N_POINTS)
            p[np.arange(N_POINTS), axis] = np.sign(p[np.arange(N_POINTS), axis])
            n = np.zeros_like(p)
            n[np.arange(N_POINTS), axis] = p[np.arange(N_POINTS), axis]
        pts.append(p.T)
        normals.append(n.T)
    return np.stack(pts), np.stack(normals)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(46)
    classifier = make_model(torch_like)
    load_numpy_state(torch_like, classifier, init)
    optimizer = torch.optim.SGD(classifier.parameters(), lr=0.01, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.7)
    values: list[float] = []
    for _step in range(3):
        labels = rng.integers(0, 2, 4)
        points, normals = _clouds(rng, labels)
        points, normals = as_tensor(torch, points), as_tensor(torch, normals)
        target = torch.from_numpy(labels)
        classifier = classifier.train()
        optimizer.zero_grad()
        pred = classifier(points, normals)
        loss = F.nll_loss(pred, target.long())
        pred_choice = pred.data.max(1)[1]
        correct = pred_choice.eq(target.long().data).cpu().sum()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), correct.item() / 4.0]
    values += [p.detach().abs().sum().item() for p in classifier.sa1.weightnet.parameters()][:4]
    return values
