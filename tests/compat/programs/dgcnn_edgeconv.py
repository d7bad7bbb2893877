"""DGCNN (Wang et al. 2019, "Dynamic Graph CNN for Learning on Point Clouds") as
WangYueFt/dgcnn writes it (``pytorch/model.py``, ``pytorch/util.py``, ``pytorch/main.py``,
``pytorch/data.py``), size-reduced.

The idioms: ``knn`` (``inner = -2 * torch.matmul(x.transpose(2, 1), x)``, ``xx =
torch.sum(x ** 2, dim=1, keepdim=True)``, ``pairwise_distance = -xx - inner - xx.transpose(2,
1)``, ``idx = pairwise_distance.topk(k=k, dim=-1)[1]``); ``get_graph_feature`` (``x.view(
batch_size, -1, num_points)``, ``idx_base = torch.arange(0, batch_size, device=device).view(-1,
1, 1) * num_points``, ``idx = idx + idx_base``, ``idx = idx.view(-1)``, ``x.transpose(2,
1).contiguous()``, ``feature = x.view(batch_size * num_points, -1)[idx, :]``, ``feature.view(
batch_size, num_points, k, num_dims)``, ``x.view(batch_size, num_points, 1, num_dims).repeat(1,
1, k, 1)``, ``torch.cat((feature - x, x), dim=3).permute(0, 3, 1, 2).contiguous()``); the
``DGCNN`` classifier (EdgeConv blocks ``nn.Sequential(nn.Conv2d(..., kernel_size=1,
bias=False), self.bn1, nn.LeakyReLU(negative_slope=0.2))`` over ``nn.BatchNorm2d``, ``x1 =
x.max(dim=-1, keepdim=False)[0]``, ``torch.cat((x1, x2, x3, x4), dim=1)``, the ``nn.Conv1d``
embedding, ``F.adaptive_max_pool1d(x, 1).view(batch_size, -1)`` and
``F.adaptive_avg_pool1d(x, 1).view(batch_size, -1)``, ``F.leaky_relu(self.bn6(self.linear1(x)),
negative_slope=0.2)``, ``nn.Dropout(p=args.dropout)``); ``cal_loss`` with label smoothing
(``gold.contiguous().view(-1)``, ``one_hot = torch.zeros_like(pred).scatter(1, gold.view(-1, 1),
1)``, ``one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)``, ``-(one_hot *
log_prb).sum(dim=1).mean()``); ``translate_pointcloud`` (``np.random.uniform`` scales and
shifts, ``np.add(np.multiply(pointcloud, xyz1), xyz2).astype('float32')``); and ``main.py``'s
loop (``optim.SGD(model.parameters(), lr=args.lr * 100, momentum=args.momentum,
weight_decay=1e-4)``, ``CosineAnnealingLR(opt, args.epochs, eta_min=args.lr)``, ``data.permute(0,
2, 1)``, ``logits.max(dim=1)[1]``, ``train_loss += loss.item() * batch_size``,
``metrics.accuracy_score`` and ``balanced_accuracy_score`` written with NumPy, the test pass in
``model.eval()``).

Changed: ModelNet40's 1024 points -> 16 seeded NumPy clouds of 10 points in two classes (a
sphere and a flat disc), ``k = 20`` -> 4, the 64/64/128/256/1024/512/256 widths -> 8/8/8/8/
16/12/8, dropout 0.5 -> 0, 250 epochs -> 2 of 2 batches, and ``device = torch.device('cuda')``
-> the input's device. Float64: the k nearest neighbours come from ``topk`` over distances, and
two nearly equal distances must rank the same in both runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

K, EMB, N_PTS, N_CLS = 4, 16, 10, 2


def _classes(torch_like: Any) -> tuple[Any, Any, Any]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def knn(x: Any, k: int) -> Any:
        inner = -2 * torch.matmul(x.transpose(2, 1), x)
        xx = torch.sum(x**2, dim=1, keepdim=True)
        pairwise_distance = -xx - inner - xx.transpose(2, 1)

        idx = pairwise_distance.topk(k=k, dim=-1)[1]  # (batch_size, num_points, k)
        return idx

    def get_graph_feature(x: Any, k: int = 20, idx: Any = None) -> Any:
        batch_size = x.size(0)
        num_points = x.size(2)
        x = x.view(batch_size, -1, num_points)
        if idx is None:
            idx = knn(x, k=k)  # (batch_size, num_points, k)
        device = x.device

        idx_base = torch.arange(0, batch_size, device=device).view(-1, 1, 1) * num_points

        idx = idx + idx_base

        idx = idx.view(-1)

        _, num_dims, _ = x.size()

        # (batch_size, num_points, num_dims)  -> (batch_size*num_points, num_dims)
        x = x.transpose(2, 1).contiguous()
        feature = x.view(batch_size * num_points, -1)[idx, :]
        feature = feature.view(batch_size, num_points, k, num_dims)
        x = x.view(batch_size, num_points, 1, num_dims).repeat(1, 1, k, 1)

        feature = torch.cat((feature - x, x), dim=3).permute(0, 3, 1, 2).contiguous()

        return feature

    class DGCNN(nn.Module):
        def __init__(self, k: int, emb_dims: int, dropout: float, output_channels: int = 40):
            super(DGCNN, self).__init__()  # noqa: UP008 (as in the repository)
            self.k = k

            self.bn1 = nn.BatchNorm2d(8)
            self.bn2 = nn.BatchNorm2d(8)
            self.bn3 = nn.BatchNorm2d(8)
            self.bn4 = nn.BatchNorm2d(8)
            self.bn5 = nn.BatchNorm1d(emb_dims)

            self.conv1 = nn.Sequential(
                nn.Conv2d(6, 8, kernel_size=1, bias=False),
                self.bn1,
                nn.LeakyReLU(negative_slope=0.2),
            )
            self.conv2 = nn.Sequential(
                nn.Conv2d(8 * 2, 8, kernel_size=1, bias=False),
                self.bn2,
                nn.LeakyReLU(negative_slope=0.2),
            )
            self.conv3 = nn.Sequential(
                nn.Conv2d(8 * 2, 8, kernel_size=1, bias=False),
                self.bn3,
                nn.LeakyReLU(negative_slope=0.2),
            )
            self.conv4 = nn.Sequential(
                nn.Conv2d(8 * 2, 8, kernel_size=1, bias=False),
                self.bn4,
                nn.LeakyReLU(negative_slope=0.2),
            )
            self.conv5 = nn.Sequential(
                nn.Conv1d(32, emb_dims, kernel_size=1, bias=False),
                self.bn5,
                nn.LeakyReLU(negative_slope=0.2),
            )
            self.linear1 = nn.Linear(emb_dims * 2, 12, bias=False)
            self.bn6 = nn.BatchNorm1d(12)
            self.dp1 = nn.Dropout(p=dropout)
            self.linear2 = nn.Linear(12, 8)
            self.bn7 = nn.BatchNorm1d(8)
            self.dp2 = nn.Dropout(p=dropout)
            self.linear3 = nn.Linear(8, output_channels)

        def forward(self, x: Any) -> Any:
            batch_size = x.size(0)
            x = get_graph_feature(x, k=self.k)
            x = self.conv1(x)
            x1 = x.max(dim=-1, keepdim=False)[0]

            x = get_graph_feature(x1, k=self.k)
            x = self.conv2(x)
            x2 = x.max(dim=-1, keepdim=False)[0]

            x = get_graph_feature(x2, k=self.k)
            x = self.conv3(x)
            x3 = x.max(dim=-1, keepdim=False)[0]

            x = get_graph_feature(x3, k=self.k)
            x = self.conv4(x)
            x4 = x.max(dim=-1, keepdim=False)[0]

            x = torch.cat((x1, x2, x3, x4), dim=1)

            x = self.conv5(x)
            x1 = F.adaptive_max_pool1d(x, 1).view(batch_size, -1)
            x2 = F.adaptive_avg_pool1d(x, 1).view(batch_size, -1)
            x = torch.cat((x1, x2), 1)

            x = F.leaky_relu(self.bn6(self.linear1(x)), negative_slope=0.2)
            x = self.dp1(x)
            x = F.leaky_relu(self.bn7(self.linear2(x)), negative_slope=0.2)
            x = self.dp2(x)
            x = self.linear3(x)
            return x

    def cal_loss(pred: Any, gold: Any, smoothing: bool = True) -> Any:
        """Calculate cross entropy loss, apply label smoothing if needed."""
        gold = gold.contiguous().view(-1)

        if smoothing:
            eps = 0.2
            n_class = pred.size(1)

            one_hot = torch.zeros_like(pred).scatter(1, gold.view(-1, 1), 1)
            one_hot = one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)
            log_prb = F.log_softmax(pred, dim=1)

            loss = -(one_hot * log_prb).sum(dim=1).mean()
        else:
            loss = F.cross_entropy(pred, gold, reduction="mean")

        return loss

    return DGCNN, get_graph_feature, cal_loss


def make_model(torch_like: Any) -> Any:
    DGCNN, _, _ = _classes(torch_like)
    return DGCNN(K, EMB, 0.0, output_channels=N_CLS)


def _clouds() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    label = np.arange(16) % N_CLS
    pts = rng.standard_normal((16, N_PTS, 3))
    pts[label == 0] /= np.linalg.norm(pts[label == 0], axis=-1, keepdims=True)
    pts[label == 1, :, 2] *= 0.05
    # translate_pointcloud, drawn once up front (the repository draws per item)
    xyz1 = rng.uniform(low=2.0 / 3.0, high=3.0 / 2.0, size=(16, 1, 3))
    xyz2 = rng.uniform(low=-0.2, high=0.2, size=(16, 1, 3))
    translated_pointcloud = np.add(np.multiply(pts, xyz1), xyz2).astype("float64")
    return translated_pointcloud, label[:, None].astype(np.int64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    _, get_graph_feature, cal_loss = _classes(torch_like)
    points, labels = _clouds()
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    lr, epochs = 0.001, 2
    opt = optim.SGD(model.parameters(), lr=lr * 100, momentum=0.9, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, epochs, eta_min=lr)
    criterion = cal_loss
    values: list[float] = []

    for _epoch in range(epochs):
        train_loss = 0.0
        count = 0.0
        model.train()
        train_pred = []
        train_true = []
        for start in (0, 4):
            data = torch.from_numpy(points[start : start + 4])
            label = torch.from_numpy(labels[start : start + 4]).squeeze()
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
        values += [model.conv1[0].weight.sum().item(), model.bn1.running_var.sum().item()]

    test_loss = 0.0
    count = 0.0
    model.eval()
    test_pred = []
    test_true = []
    with torch.no_grad():
        for start in (8, 12):
            data = torch.from_numpy(points[start : start + 4]).permute(0, 2, 1)
            label = torch.from_numpy(labels[start : start + 4]).squeeze()
            logits = model(data)
            loss = criterion(logits, label, smoothing=False)
            preds = logits.max(dim=1)[1]
            count += data.size()[0]
            test_loss += loss.item() * data.size()[0]
            test_true.append(label.numpy())
            test_pred.append(preds.numpy())
            values += logits.flatten().tolist()
    test_true = np.concatenate(test_true)
    test_pred = np.concatenate(test_pred)
    per_class = [np.mean(test_pred[test_true == c] == c) for c in range(N_CLS)]
    values += [test_loss / count, float(np.mean(test_true == test_pred)), float(np.mean(per_class))]

    # the edge features themselves: every centre point repeated k times, and its neighbours
    x = torch.from_numpy(points[:2]).permute(0, 2, 1)
    feature = get_graph_feature(x, k=K)
    values += list(feature.shape) + [feature.sum().item(), float(feature.is_contiguous())]
    values.append((feature[:, 3:, :, 0] - x).abs().max().item())
    # the nearest neighbour of each point is itself: its edge vector is zero
    values.append(feature[:, :3, :, 0].abs().max().item())
    return values
