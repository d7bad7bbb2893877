"""FoldingNet (Yang et al., 2018) as qinglew/FoldingNet writes it (``model.py``'s ``GraphLayer``,
``Encoder``, ``FoldingLayer``, ``Decoder`` and ``AutoEncoder``; ``utils.py``'s ``knn`` and
``index_points``; ``loss.py``'s ``ChamferLoss``; ``train.py``'s loop), size-reduced.

The idioms: ``knn`` from ``-2 * torch.matmul(x.transpose(2, 1), x)``, ``torch.sum(x ** 2,
dim=1, keepdim=True)`` and ``pairwise_distance.topk(k=k, dim=-1)[1]``; ``index_points``
(``view_shape[1:] = [1] * (len(view_shape) - 1)``, ``torch.arange(batch_size,
dtype=torch.long, device=device).view(view_shape).repeat(repeat_shape)``, ``point_clouds[
batch_indices, index, :]``); the encoder's local covariances ``torch.matmul(knn_x.transpose(2,
3), knn_x).view(b, n, -1).permute(0, 2, 1)`` concatenated to the points, the graph layers'
``torch.max(knn_x, dim=2)[0].permute(0, 2, 1)``, ``nn.Conv1d(..., 1)``/``nn.BatchNorm1d`` shared
MLPs and the codeword ``torch.max(x, dim=-1)[0]``; the decoder's grid ``np.meshgrid`` of
``np.linspace(-0.3, 0.3, 45, dtype=np.float32)`` turned into ``torch.Tensor(self.grid).view(2,
-1)`` (a list of arrays, with PyTorch's slow-path warning) and kept as a plain attribute moved
by ``self.grid.to(x.device)``, ``grid.unsqueeze(0).repeat(batch_size, 1, 1)``, ``x.unsqueeze(2).
repeat(1, 1, self.m)``, the two ``FoldingLayer``s on ``torch.cat([grids, codewords], dim=1)``;
``ChamferLoss`` (``torch.bmm(x, x.transpose(2, 1))``, ``torch.arange(0, num_points_x).type(
dtype)`` with ``dtype = torch.LongTensor`` chosen by ``torch.cuda.is_available()``, the diagonal
``xx[:, diag_ind_x, diag_ind_x].unsqueeze(1).expand_as(zz.transpose(2, 1))``, ``P =
rx.transpose(2, 1) + ry - 2 * zz``, ``torch.min(P, 1)`` and ``torch.min(P, 2)`` summed); the
loop (``optim.Adam(autoendocer.parameters(), lr=args.lr * 16 / args.batch_size, betas=(0.9,
0.999), weight_decay=1e-6)``, ``point_clouds.permute(0, 2, 1)``, ``train_loss += ls.item() *
batch_size``, evaluation under ``model.eval()`` and ``torch.no_grad()``).

Changed: ShapeNet clouds of 2048 points -> 20 NumPy-sampled points on noisy spheres and cubes,
``k`` 16 -> 4, encoder widths 64/128/1024/512 -> 8/12/16/10, the 45x45 grid -> 4x4, folding
MLPs ``[512, 512, 3]`` -> ``[10, 10, 3]``, batch 16 -> 3, a few steps.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

# Every ``nn.Conv1d`` feeding an ``nn.BatchNorm1d`` has a bias whose gradient is rounding noise
# (~1e-13: the batch norm removes it), which Adam turns into full steps of either sign. Training
# mode cancels them exactly; in eval mode the running means lag them, so the evaluated
# reconstructions of two correct libraries agree to ~1e-8 rather than 1e-9.
RTOL = 1e-7
N_POINTS, K, CODE, GRID, BATCH, STEPS = 20, 4, 10, 4, 3, 3


def _utils(torch_like: Any) -> tuple:
    torch = torch_like

    def knn(x, k):  # noqa: ANN001, ANN202
        """
        Args:
            x: (B, C, N)
        """
        inner = -2 * torch.matmul(x.transpose(2, 1), x)
        xx = torch.sum(x**2, dim=1, keepdim=True)
        pairwise_distance = -xx - inner - xx.transpose(2, 1)
        idx = pairwise_distance.topk(k=k, dim=-1)[1]  # (batch_size, num_points, k)
        return idx

    def index_points(point_clouds, index):  # noqa: ANN001, ANN202
        """
        Given a batch of tensor and index, select sub-tensor.
        """
        device = point_clouds.device
        batch_size = point_clouds.shape[0]
        view_shape = list(index.shape)
        view_shape[1:] = [1] * (len(view_shape) - 1)
        repeat_shape = list(index.shape)
        repeat_shape[0] = 1
        batch_indices = (
            torch.arange(batch_size, dtype=torch.long, device=device)
            .view(view_shape)
            .repeat(repeat_shape)
        )
        new_points = point_clouds[batch_indices, index, :]
        return new_points

    return knn, index_points


def make_model(torch_like: Any) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Creating a tensor from a list of numpy")
        return _make_model(torch_like)


def _make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional
    knn, index_points = _utils(torch_like)

    class GraphLayer(nn.Module):
        """
        Graph layer.
        in_channel: it depends on the input of this network.
        out_channel: given by ourselves.
        """

        def __init__(self, in_channel, out_channel, k=16):  # noqa: ANN001
            super(GraphLayer, self).__init__()  # noqa: UP008 (as in the repository)
            self.k = k
            self.conv = nn.Conv1d(in_channel, out_channel, 1)
            self.bn = nn.BatchNorm1d(out_channel)

        def forward(self, x):  # noqa: ANN001, ANN202
            """
            Parameters
            ----------
                x: tensor with size of (B, C, N)
            """
            # KNN
            knn_idx = knn(x, k=self.k)  # (B, N, k)
            knn_x = index_points(x.permute(0, 2, 1), knn_idx)  # (B, N, k, C)
            # Local Max Pooling
            x = torch.max(knn_x, dim=2)[0].permute(0, 2, 1)  # (B, N, C)
            # Feature Map
            x = F.relu(self.bn(self.conv(x)))
            return x

    class Encoder(nn.Module):
        """
        Graph based encoder.
        """

        def __init__(self):  # noqa: ANN204
            super(Encoder, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv1d(12, 8, 1)
            self.conv2 = nn.Conv1d(8, 8, 1)
            self.conv3 = nn.Conv1d(8, 8, 1)
            self.bn1 = nn.BatchNorm1d(8)
            self.bn2 = nn.BatchNorm1d(8)
            self.bn3 = nn.BatchNorm1d(8)
            self.graph_layer1 = GraphLayer(in_channel=8, out_channel=12, k=K)
            self.graph_layer2 = GraphLayer(in_channel=12, out_channel=16, k=K)
            self.conv4 = nn.Conv1d(16, CODE, 1)
            self.bn4 = nn.BatchNorm1d(CODE)

        def forward(self, x):  # noqa: ANN001, ANN202
            b, c, n = x.size()
            # get the covariances, reshape and concatenate with x
            knn_idx = knn(x, k=K)
            knn_x = index_points(x.permute(0, 2, 1), knn_idx)  # (B, N, 16, 3)
            mean = torch.mean(knn_x, dim=2, keepdim=True)
            knn_x = knn_x - mean
            covariances = torch.matmul(knn_x.transpose(2, 3), knn_x).view(b, n, -1).permute(0, 2, 1)
            x = torch.cat([x, covariances], dim=1)  # (B, 12, N)
            # three layer MLP
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.relu(self.bn3(self.conv3(x)))
            # two consecutive graph layers
            x = self.graph_layer1(x)
            x = self.graph_layer2(x)
            x = self.bn4(self.conv4(x))
            x = torch.max(x, dim=-1)[0]
            return x

    class FoldingLayer(nn.Module):
        """
        The folding operation of FoldingNet
        """

        def __init__(self, in_channel: int, out_channels: list):
            super(FoldingLayer, self).__init__()  # noqa: UP008
            layers = []
            for oc in out_channels[:-1]:
                conv = nn.Conv1d(in_channel, oc, 1)
                bn = nn.BatchNorm1d(oc)
                active = nn.ReLU(inplace=True)
                layers.extend([conv, bn, active])
                in_channel = oc
            out_layer = nn.Conv1d(in_channel, out_channels[-1], 1)
            layers.append(out_layer)
            self.layers = nn.Sequential(*layers)

        def forward(self, grids, codewords):  # noqa: ANN001, ANN202
            """
            Parameters
            ----------
                grids: reshaped 2D grids or intermediam reconstructed point clouds
            """
            # concatenate
            x = torch.cat([grids, codewords], dim=1)
            # shared mlp
            x = self.layers(x)
            return x

    class Decoder(nn.Module):
        """
        Decoder Module of FoldingNet
        """

        def __init__(self):  # noqa: ANN204
            super(Decoder, self).__init__()  # noqa: UP008
            # Sample the grids in 2D space
            xx = np.linspace(-0.3, 0.3, GRID, dtype=np.float32)
            yy = np.linspace(-0.3, 0.3, GRID, dtype=np.float32)
            self.grid = np.meshgrid(xx, yy)  # (2, 45, 45)
            # reshape
            self.grid = torch.Tensor(self.grid).view(2, -1)  # (2, 45, 45) -> (2, 45 * 45)
            self.m = self.grid.shape[1]
            self.fold1 = FoldingLayer(CODE + 2, [10, 10, 3])
            self.fold2 = FoldingLayer(CODE + 3, [10, 10, 3])

        def forward(self, x):  # noqa: ANN001, ANN202
            """
            x: (B, C)
            """
            batch_size = x.shape[0]
            # repeat grid for batch operation
            grid = self.grid.to(x.device)  # (2, 45 * 45)
            grid = grid.unsqueeze(0).repeat(batch_size, 1, 1)  # (B, 2, 45 * 45)
            # repeat codewords
            x = x.unsqueeze(2).repeat(1, 1, self.m)  # (B, 512, 45 * 45)
            # two folding operations
            recon1 = self.fold1(grid, x)
            recon2 = self.fold2(recon1, x)
            return recon2

    class AutoEncoder(nn.Module):
        def __init__(self):  # noqa: ANN204
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.encoder(x)
            x = self.decoder(x)
            return x

    return AutoEncoder()


def _chamfer(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ChamferLoss(nn.Module):
        def __init__(self):  # noqa: ANN204
            super(ChamferLoss, self).__init__()  # noqa: UP008
            self.use_cuda = torch.cuda.is_available()

        def forward(self, preds, gts):  # noqa: ANN001, ANN202
            P = self.batch_pairwise_dist(gts, preds)  # noqa: N806
            mins, _ = torch.min(P, 1)
            loss_1 = torch.sum(mins)
            mins, _ = torch.min(P, 2)
            loss_2 = torch.sum(mins)
            return loss_1 + loss_2

        def batch_pairwise_dist(self, x, y):  # noqa: ANN001, ANN202
            bs, num_points_x, points_dim = x.size()
            _, num_points_y, _ = y.size()
            xx = torch.bmm(x, x.transpose(2, 1))
            yy = torch.bmm(y, y.transpose(2, 1))
            zz = torch.bmm(x, y.transpose(2, 1))
            if self.use_cuda:
                dtype = torch.cuda.LongTensor
            else:
                dtype = torch.LongTensor
            diag_ind_x = torch.arange(0, num_points_x).type(dtype)
            diag_ind_y = torch.arange(0, num_points_y).type(dtype)
            rx = xx[:, diag_ind_x, diag_ind_x].unsqueeze(1).expand_as(zz.transpose(2, 1))
            ry = yy[:, diag_ind_y, diag_ind_y].unsqueeze(1).expand_as(zz)
            P = rx.transpose(2, 1) + ry - 2 * zz  # noqa: N806
            return P

    return ChamferLoss()


def _clouds(rng: np.random.Generator, count: int) -> np.ndarray:
    out = []
    for i in range(count):
        p = rng.normal(size=(N_POINTS, 3))
        if i % 2 == 0:  # sphere
            p = 0.5 * p / np.linalg.norm(p, axis=1, keepdims=True)
        else:  # cube surface
            p = np.clip(p, -1, 1) * 0.4
            face = rng.integers(0, 3, N_POINTS)
            p[np.arange(N_POINTS), face] = np.sign(p[np.arange(N_POINTS), face]) * 0.4
        out.append(p + 0.01 * rng.normal(size=p.shape))
    return np.stack(out)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    autoendocer = make_model(torch_like)
    load_numpy_state(torch_like, autoendocer, init)
    cd_loss = _chamfer(torch_like)
    lr, batch_size = 0.004, BATCH
    optimizer = optim.Adam(autoendocer.parameters(), lr=lr * 16 / batch_size, betas=(0.9, 0.999),
                           weight_decay=1e-6)  # fmt: skip
    rng = np.random.default_rng(19)
    values: list[float] = []
    train_loss = 0.0
    autoendocer.train()
    for _ in range(STEPS):
        point_clouds = torch.from_numpy(_clouds(rng, batch_size))
        point_clouds = point_clouds.permute(0, 2, 1)
        recons = autoendocer(point_clouds)
        ls = cd_loss(point_clouds.permute(0, 2, 1), recons.permute(0, 2, 1))
        optimizer.zero_grad()
        ls.backward()
        optimizer.step()
        train_loss += ls.item() * batch_size
        values.append(ls.item())
    values.append(train_loss / (STEPS * batch_size))

    autoendocer.eval()
    with torch.no_grad():
        point_clouds = torch.from_numpy(_clouds(rng, 2)).permute(0, 2, 1)
        recons = autoendocer(point_clouds)
        ls = cd_loss(point_clouds.permute(0, 2, 1), recons.permute(0, 2, 1))
        values.append(ls.item())
        values.extend(recons[0, :, :4].flatten().tolist())
    return values
