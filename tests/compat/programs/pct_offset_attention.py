"""PCT, the Point Cloud Transformer (Guo et al. 2021), as Strawberry-Eat-Mango/PCT_Pytorch
writes it (``model.py``: ``Local_op``, ``Pct``, ``Point_Transformer_Last``, ``SA_Layer``;
``util.py``: ``cal_loss``, ``square_distance``, ``index_points``, ``farthest_point_sample``,
``sample_and_group``, ``knn_point``; ``main.py``: ``train``), size-reduced.

Kept verbatim: ``SA_Layer``'s offset attention with the tied query/key convolutions
(``self.q_conv.weight = self.k_conv.weight``, ``self.q_conv.bias = self.k_conv.bias``),
``torch.bmm(x_q, x_k)``, ``nn.Softmax(dim=-1)`` followed by the column normalisation
``attention / (1e-9 + attention.sum(dim=1, keepdims=True))`` (NumPy's ``keepdims``
spelling) and ``self.trans_conv(x - x_r)``; ``Local_op``'s ``b, n, s, d = x.size()``,
``x.reshape(-1, d, s)`` and ``F.adaptive_max_pool1d(x, 1).view(batch_size, -1)``;
``sample_and_group`` with ``farthest_point_sample`` (``torch.randint(0, N, (B,),
dtype=torch.long)``, ``distance[mask] = dist[mask]``, ``torch.max(distance, -1)[1]``),
``index_points``' ``torch.arange(B, dtype=torch.long).to(device).view(view_shape).repeat(
repeat_shape)`` and ``points[batch_indices, idx, :]``, ``knn_point``'s ``torch.topk(sqrdists,
nsample, dim = -1, largest=False, sorted=False)`` over ``square_distance``'s in-place ``dist
+=``, the grouped features ``torch.cat([grouped_points_norm, new_points.view(B, S, 1,
-1).repeat(1, 1, nsample, 1)], dim=-1)``; ``Pct``'s ``conv_fuse`` ``nn.Sequential(nn.Conv1d,
nn.BatchNorm1d, nn.LeakyReLU(negative_slope=0.2))`` and head; ``cal_loss``' label smoothing
``torch.zeros_like(pred).scatter(1, gold.view(-1, 1), 1)``; ``main.py``'s ``optim.SGD(...,
lr=args.lr*100, momentum=args.momentum, weight_decay=5e-4)`` under ``CosineAnnealingLR(opt,
args.epochs, eta_min=args.lr)``, ``data.permute(0, 2, 1)``, ``logits.max(dim=1)[1]`` and the
accuracy over ``np.concatenate`` of the per-batch predictions.

Changed: ``pointnet2_utils.furthest_point_sample`` (a CUDA kernel) -> the file's own Python
``farthest_point_sample``; 1024 points -> 32, npoint 512/256 -> 8/4, nsample 32 -> 4, channels
64/128/256/1024 -> 8/16/32/64, 40 classes -> 4, synthetic shapes (noisy spheres, boxes, planes,
lines) instead of ModelNet40, batch 32 -> 4, 250 epochs -> 2.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

C0, C1, C2, CF, CLASSES = 8, 16, 32, 64, 4


def _utils(torch_like: Any) -> dict:
    torch = torch_like

    def square_distance(src, dst):  # noqa: ANN001, ANN202
        B, N, _ = src.shape
        _, M, _ = dst.shape
        dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
        dist += torch.sum(src**2, -1).view(B, N, 1)
        dist += torch.sum(dst**2, -1).view(B, 1, M)
        return dist

    def index_points(points, idx):  # noqa: ANN001, ANN202
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

    def farthest_point_sample(xyz, npoint):  # noqa: ANN001, ANN202
        device = xyz.device
        B, N, C = xyz.shape
        centroids = torch.zeros(B, npoint, dtype=torch.long).to(device)
        distance = torch.ones(B, N).to(device) * 1e10
        farthest = torch.randint(0, N, (B,), dtype=torch.long).to(device)
        batch_indices = torch.arange(B, dtype=torch.long).to(device)
        for i in range(npoint):
            centroids[:, i] = farthest
            centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
            dist = torch.sum((xyz - centroid) ** 2, -1)
            mask = dist < distance
            distance[mask] = dist[mask]
            farthest = torch.max(distance, -1)[1]
        return centroids

    def knn_point(nsample, xyz, new_xyz):  # noqa: ANN001, ANN202
        sqrdists = square_distance(new_xyz, xyz)
        _, group_idx = torch.topk(sqrdists, nsample, dim=-1, largest=False, sorted=False)
        return group_idx

    def sample_and_group(npoint, radius, nsample, xyz, points):  # noqa: ANN001, ANN202
        B, N, C = xyz.shape
        S = npoint
        xyz = xyz.contiguous()

        fps_idx = farthest_point_sample(xyz, npoint).long()  # [B, npoint]
        new_xyz = index_points(xyz, fps_idx)
        new_points = index_points(points, fps_idx)
        # new_xyz = xyz[:]
        # new_points = points[:]

        idx = knn_point(nsample, xyz, new_xyz)
        # idx = query_ball_point(radius, nsample, xyz, new_xyz)
        grouped_xyz = index_points(xyz, idx)  # [B, npoint, nsample, C]
        grouped_xyz_norm = grouped_xyz - new_xyz.view(B, S, 1, C)  # noqa: F841
        grouped_points = index_points(points, idx)
        grouped_points_norm = grouped_points - new_points.view(B, S, 1, -1)
        new_points = torch.cat(
            [grouped_points_norm, new_points.view(B, S, 1, -1).repeat(1, 1, nsample, 1)], dim=-1
        )
        return new_xyz, new_points

    def cal_loss(pred, gold, smoothing=True):  # noqa: ANN001, ANN202
        """Calculate cross entropy loss, apply label smoothing if needed."""

        gold = gold.contiguous().view(-1)

        if smoothing:
            eps = 0.2
            n_class = pred.size(1)

            one_hot = torch.zeros_like(pred).scatter(1, gold.view(-1, 1), 1)
            one_hot = one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)
            log_prb = torch.nn.functional.log_softmax(pred, dim=1)

            loss = -(one_hot * log_prb).sum(dim=1).mean()
        else:
            loss = torch.nn.functional.cross_entropy(pred, gold, reduction="mean")

        return loss

    return locals()


def _model(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    sample_and_group = _utils(torch_like)["sample_and_group"]

    class Local_op(nn.Module):  # noqa: N801
        def __init__(self, in_channels, out_channels):  # noqa: ANN001
            super(Local_op, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size=1, bias=False)
            self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm1d(out_channels)
            self.bn2 = nn.BatchNorm1d(out_channels)

        def forward(self, x):  # noqa: ANN001, ANN201
            b, n, s, d = x.size()  # torch.Size([32, 512, 32, 6])
            x = x.permute(0, 1, 3, 2)
            x = x.reshape(-1, d, s)
            batch_size, _, N = x.size()
            x = F.relu(self.bn1(self.conv1(x)))  # B, D, N
            x = F.relu(self.bn2(self.conv2(x)))  # B, D, N
            x = F.adaptive_max_pool1d(x, 1).view(batch_size, -1)
            x = x.reshape(b, n, -1).permute(0, 2, 1)
            return x

    class SA_Layer(nn.Module):  # noqa: N801
        def __init__(self, channels):  # noqa: ANN001
            super(SA_Layer, self).__init__()  # noqa: UP008
            self.q_conv = nn.Conv1d(channels, channels // 4, 1, bias=False)
            self.k_conv = nn.Conv1d(channels, channels // 4, 1, bias=False)
            self.q_conv.weight = self.k_conv.weight
            self.q_conv.bias = self.k_conv.bias
            self.v_conv = nn.Conv1d(channels, channels, 1)
            self.trans_conv = nn.Conv1d(channels, channels, 1)
            self.after_norm = nn.BatchNorm1d(channels)
            self.act = nn.ReLU()
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x):  # noqa: ANN001, ANN201
            # b, n, c
            x_q = self.q_conv(x).permute(0, 2, 1)
            # b, c, n
            x_k = self.k_conv(x)
            x_v = self.v_conv(x)
            # b, n, n
            energy = torch.bmm(x_q, x_k)

            attention = self.softmax(energy)
            attention = attention / (1e-9 + attention.sum(dim=1, keepdims=True))
            # b, c, n
            x_r = torch.bmm(x_v, attention)
            x_r = self.act(self.after_norm(self.trans_conv(x - x_r)))
            x = x + x_r
            return x

    class Point_Transformer_Last(nn.Module):  # noqa: N801
        def __init__(self, args, channels=C2):  # noqa: ANN001
            super(Point_Transformer_Last, self).__init__()  # noqa: UP008
            self.args = args
            self.conv1 = nn.Conv1d(channels, channels, kernel_size=1, bias=False)
            self.conv2 = nn.Conv1d(channels, channels, kernel_size=1, bias=False)

            self.bn1 = nn.BatchNorm1d(channels)
            self.bn2 = nn.BatchNorm1d(channels)

            self.sa1 = SA_Layer(channels)
            self.sa2 = SA_Layer(channels)
            self.sa3 = SA_Layer(channels)
            self.sa4 = SA_Layer(channels)

        def forward(self, x):  # noqa: ANN001, ANN201
            #
            # b, 3, npoint, nsample
            # conv2d 3 -> 128 channels 1, 1
            # b * npoint, c, nsample
            # permute reshape
            batch_size, _, N = x.size()

            # B, D, N
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x1 = self.sa1(x)
            x2 = self.sa2(x1)
            x3 = self.sa3(x2)
            x4 = self.sa4(x3)
            x = torch.cat((x1, x2, x3, x4), dim=1)

            return x

    class Pct(nn.Module):
        def __init__(self, args, output_channels=40):  # noqa: ANN001
            super(Pct, self).__init__()  # noqa: UP008
            self.args = args
            self.conv1 = nn.Conv1d(3, C0, kernel_size=1, bias=False)
            self.conv2 = nn.Conv1d(C0, C0, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm1d(C0)
            self.bn2 = nn.BatchNorm1d(C0)
            self.gather_local_0 = Local_op(in_channels=C1, out_channels=C1)
            self.gather_local_1 = Local_op(in_channels=C2, out_channels=C2)

            self.pt_last = Point_Transformer_Last(args)

            self.conv_fuse = nn.Sequential(
                nn.Conv1d(5 * C2, CF, kernel_size=1, bias=False),
                nn.BatchNorm1d(CF),
                nn.LeakyReLU(negative_slope=0.2),
            )

            self.linear1 = nn.Linear(CF, 32, bias=False)
            self.bn6 = nn.BatchNorm1d(32)
            self.dp1 = nn.Dropout(p=args.dropout)
            self.linear2 = nn.Linear(32, 16)
            self.bn7 = nn.BatchNorm1d(16)
            self.dp2 = nn.Dropout(p=args.dropout)
            self.linear3 = nn.Linear(16, output_channels)

        def forward(self, x):  # noqa: ANN001, ANN201
            xyz = x.permute(0, 2, 1)
            batch_size, _, _ = x.size()
            # B, D, N
            x = F.relu(self.bn1(self.conv1(x)))
            # B, D, N
            x = F.relu(self.bn2(self.conv2(x)))
            x = x.permute(0, 2, 1)
            new_xyz, new_feature = sample_and_group(npoint=8, radius=0.15, nsample=4, xyz=xyz,
                                                    points=x)  # fmt: skip
            feature_0 = self.gather_local_0(new_feature)
            feature = feature_0.permute(0, 2, 1)
            new_xyz, new_feature = sample_and_group(npoint=4, radius=0.2, nsample=4,
                                                    xyz=new_xyz, points=feature)  # fmt: skip
            feature_1 = self.gather_local_1(new_feature)

            x = self.pt_last(feature_1)
            x = torch.cat([x, feature_1], dim=1)
            x = self.conv_fuse(x)
            x = F.adaptive_max_pool1d(x, 1).view(batch_size, -1)
            x = F.leaky_relu(self.bn6(self.linear1(x)), negative_slope=0.2)
            x = self.dp1(x)
            x = F.leaky_relu(self.bn7(self.linear2(x)), negative_slope=0.2)
            x = self.dp2(x)
            x = self.linear3(x)

            return x

    return Pct


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)(SimpleNamespace(dropout=0.5), output_channels=CLASSES)


def _shapes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, CLASSES, n)
    clouds = []
    for c in labels:
        p = rng.normal(size=(32, 3))
        if c == 0:
            p /= np.linalg.norm(p, axis=1, keepdims=True)
        elif c == 1:
            p = np.clip(p, -1, 1)
        elif c == 2:
            p[:, 2] = 0.05 * p[:, 2]
        else:
            p[:, 1:] *= 0.05
        clouds.append(p + rng.normal(0, 0.02, p.shape))
    return np.stack(clouds), labels[:, None]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    CosineAnnealingLR = torch.optim.lr_scheduler.CosineAnnealingLR
    cal_loss = _utils(torch_like)["cal_loss"]
    rng = np.random.default_rng(4)
    train_x, train_y = _shapes(rng, 8)
    args = SimpleNamespace(lr=0.0001, momentum=0.9, epochs=2)

    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = optim.SGD(model.parameters(), lr=args.lr * 100, momentum=args.momentum, weight_decay=5e-4)
    scheduler = CosineAnnealingLR(opt, args.epochs, eta_min=args.lr)
    criterion = cal_loss
    values: list[float] = []
    for _epoch in range(args.epochs):
        train_loss = 0.0
        count = 0.0
        model.train()
        train_pred = []
        train_true = []
        for start in range(0, 8, 4):
            data = as_tensor(torch, train_x[start : start + 4])
            label = as_tensor(torch, train_y[start : start + 4])
            data, label = data, label.squeeze()
            data = data.permute(0, 2, 1)
            batch_size = data.size()[0]
            opt.zero_grad()
            logits = model(data)
            loss = criterion(logits, label)
            loss.backward()
            opt.step()
            preds = logits.max(dim=1)[1]
            count += batch_size
            train_loss += loss.item() * batch_size
            train_true.append(label.cpu().numpy())
            train_pred.append(preds.detach().cpu().numpy())
        scheduler.step()
        train_true = np.concatenate(train_true)
        train_pred = np.concatenate(train_pred)
        values += [train_loss * 1.0 / count, float(np.mean(train_true == train_pred))]
    model.eval()
    with torch.no_grad():
        logits = model(as_tensor(torch, train_x).permute(0, 2, 1))
    values.append(float(logits.sum()))
    values.append(float(len(list(model.parameters()))))
    return values
