"""ma-xu/pointMLP-pytorch (``classification_ModelNet40/models/pointmlp.py``, ``main.py``,
``utils.py``'s ``cal_loss``), size-reduced: ``get_activation`` from a string (``nn.ReLU(
inplace=True)``, ``nn.GELU()``, ...); ``square_distance`` (``-2 * torch.matmul(src,
dst.permute(0, 2, 1))`` plus the ``torch.sum(src ** 2, -1).view(B, N, 1)`` terms, in place);
``index_points`` (``view_shape[1:] = [1] * (len(view_shape) - 1)``, ``torch.arange(B,
dtype=torch.long).to(device).view(view_shape).repeat(repeat_shape)``, ``points[batch_indices,
idx, :]``); the Python ``farthest_point_sample`` (``torch.randint(0, N, (B,),
dtype=torch.long)`` start, ``torch.ones(B, N).to(device) * 1e10``, ``torch.min(distance,
dist)``, ``torch.max(distance, -1)[1]``); ``knn_point`` (``torch.topk(sqrdists, nsample,
dim=-1, largest=False, sorted=False)``); ``LocalGrouper``'s geometric affine module
(``affine_alpha``/``affine_beta`` ``nn.Parameter``s of shape ``[1, 1, 1, channel + 3]``, the
"center" and "anchor" means, ``torch.std((grouped_points - mean).reshape(B, -1), dim=-1,
keepdim=True).unsqueeze(dim=-1).unsqueeze(dim=-1)``, ``new_points.view(B, S, 1, -1).repeat(1,
1, self.kneighbors, 1)``); ``ConvBNReLU1D``, ``ConvBNReLURes1D`` (``self.act(self.net2(
self.net1(x)) + x)``), ``PreExtraction`` (``x.permute(0, 1, 3, 2)``, ``x.reshape(-1, d, s)``,
``F.adaptive_max_pool1d(x, 1).view(batch_size, -1)``) and ``PosExtraction``; ``Model`` with
one ``self.act`` module shared by the classifier's ``nn.Sequential`` (printed once per use);
``cal_loss`` with label smoothing (``torch.zeros_like(pred).scatter(1, gold.view(-1, 1), 1)``,
``one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)``); ``main.py``'s ``SGD(lr=0.1,
momentum=0.9, weight_decay=2e-4)``, ``CosineAnnealingLR(optimizer, args.epoch,
eta_min=args.min_lr, last_epoch=start_epoch - 1)``, ``data.permute(0, 2, 1)``,
``nn.utils.clip_grad_norm_(net.parameters(), 1)``, ``logits.max(dim=1)[1]`` and the
``train_true``/``train_pred`` NumPy accuracy.

Changed: ModelNet40's 1024-point clouds are 32 seeded NumPy points in 4 classes; ``embed_dim``
64 -> 8, four stages -> two (``k_neighbors`` 24 -> 4, one block each), classifier widths 512/256
-> 16/8; the CUDA ``pointnet2_utils.furthest_point_sample`` is the file's own Python
``farthest_point_sample``; 300 epochs -> 3 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state


def _model(torch_like: Any) -> type:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional

    def get_activation(activation):  # noqa: ANN001, ANN202
        if activation.lower() == "gelu":
            return nn.GELU()
        elif activation.lower() == "rrelu":
            return nn.RReLU(inplace=True)
        elif activation.lower() == "selu":
            return nn.SELU(inplace=True)
        elif activation.lower() == "silu":
            return nn.SiLU(inplace=True)
        elif activation.lower() == "hardswish":
            return nn.Hardswish(inplace=True)
        elif activation.lower() == "leakyrelu":
            return nn.LeakyReLU(inplace=True)
        else:
            return nn.ReLU(inplace=True)

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
            distance = torch.min(distance, dist)
            farthest = torch.max(distance, -1)[1]
        return centroids

    def knn_point(nsample, xyz, new_xyz):  # noqa: ANN001, ANN202
        sqrdists = square_distance(new_xyz, xyz)
        _, group_idx = torch.topk(sqrdists, nsample, dim=-1, largest=False, sorted=False)
        return group_idx

    class LocalGrouper(nn.Module):
        def __init__(self, channel, groups, kneighbors, use_xyz=True, normalize="center",
                     **kwargs):  # noqa: ANN001, ANN003 # fmt: skip
            super(LocalGrouper, self).__init__()  # noqa: UP008
            self.groups = groups
            self.kneighbors = kneighbors
            self.use_xyz = use_xyz
            if normalize is not None:
                self.normalize = normalize.lower()
            else:
                self.normalize = None
            if self.normalize not in ["center", "anchor"]:
                self.normalize = None
            if self.normalize is not None:
                add_channel = 3 if self.use_xyz else 0
                self.affine_alpha = nn.Parameter(torch.ones([1, 1, 1, channel + add_channel]))
                self.affine_beta = nn.Parameter(torch.zeros([1, 1, 1, channel + add_channel]))

        def forward(self, xyz, points):  # noqa: ANN001, ANN202
            B, N, C = xyz.shape
            S = self.groups
            xyz = xyz.contiguous()  # xyz [btach, points, xyz]

            fps_idx = farthest_point_sample(xyz, self.groups).long()
            new_xyz = index_points(xyz, fps_idx)  # [B, npoint, 3]
            new_points = index_points(points, fps_idx)  # [B, npoint, d]

            idx = knn_point(self.kneighbors, xyz, new_xyz)
            grouped_xyz = index_points(xyz, idx)  # [B, npoint, k, 3]
            grouped_points = index_points(points, idx)  # [B, npoint, k, d]
            if self.use_xyz:
                grouped_points = torch.cat([grouped_points, grouped_xyz], dim=-1)
            if self.normalize is not None:
                if self.normalize == "center":
                    mean = torch.mean(grouped_points, dim=2, keepdim=True)
                if self.normalize == "anchor":
                    mean = torch.cat([new_points, new_xyz], dim=-1) if self.use_xyz else new_points
                    mean = mean.unsqueeze(dim=-2)  # [B, npoint, 1, d+3]
                std = (
                    torch.std((grouped_points - mean).reshape(B, -1), dim=-1, keepdim=True)
                    .unsqueeze(dim=-1)
                    .unsqueeze(dim=-1)
                )
                grouped_points = (grouped_points - mean) / (std + 1e-5)
                grouped_points = self.affine_alpha * grouped_points + self.affine_beta

            new_points = torch.cat(
                [grouped_points, new_points.view(B, S, 1, -1).repeat(1, 1, self.kneighbors, 1)],
                dim=-1,
            )
            return new_xyz, new_points

    class ConvBNReLU1D(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size=1, bias=True,
                     activation="relu"):  # noqa: ANN001 # fmt: skip
            super(ConvBNReLU1D, self).__init__()  # noqa: UP008
            self.act = get_activation(activation)
            self.net = nn.Sequential(
                nn.Conv1d(
                    in_channels=in_channels,
                    out_channels=out_channels,
                    kernel_size=kernel_size,
                    bias=bias,
                ),  # fmt: skip
                nn.BatchNorm1d(out_channels),
                self.act,
            )

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.net(x)

    class ConvBNReLURes1D(nn.Module):
        def __init__(self, channel, kernel_size=1, groups=1, res_expansion=1.0, bias=True,
                     activation="relu"):  # noqa: ANN001 # fmt: skip
            super(ConvBNReLURes1D, self).__init__()  # noqa: UP008
            self.act = get_activation(activation)
            self.net1 = nn.Sequential(
                nn.Conv1d(
                    in_channels=channel,
                    out_channels=int(channel * res_expansion),
                    kernel_size=kernel_size,
                    groups=groups,
                    bias=bias,
                ),  # fmt: skip
                nn.BatchNorm1d(int(channel * res_expansion)),
                self.act,
            )
            self.net2 = nn.Sequential(
                nn.Conv1d(
                    in_channels=int(channel * res_expansion),
                    out_channels=channel,
                    kernel_size=kernel_size,
                    bias=bias,
                ),  # fmt: skip
                nn.BatchNorm1d(channel),
            )

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.act(self.net2(self.net1(x)) + x)

    class PreExtraction(nn.Module):
        def __init__(self, channels, out_channels, blocks=1, groups=1, res_expansion=1,
                     bias=True, activation="relu", use_xyz=True):  # noqa: ANN001 # fmt: skip
            """
            input: [b,g,k,d]: output:[b,d,g]
            """
            super(PreExtraction, self).__init__()  # noqa: UP008
            in_channels = 3 + 2 * channels if use_xyz else 2 * channels
            self.transfer = ConvBNReLU1D(in_channels, out_channels, bias=bias,
                                         activation=activation)  # fmt: skip
            operation = []
            for _ in range(blocks):
                operation.append(
                    ConvBNReLURes1D(
                        out_channels,
                        groups=groups,
                        res_expansion=res_expansion,
                        bias=bias,
                        activation=activation,
                    )  # fmt: skip
                )
            self.operation = nn.Sequential(*operation)

        def forward(self, x):  # noqa: ANN001, ANN202
            b, n, s, d = x.size()  # torch.Size([32, 512, 32, 6])
            x = x.permute(0, 1, 3, 2)
            x = x.reshape(-1, d, s)
            x = self.transfer(x)
            batch_size, _, _ = x.size()
            x = self.operation(x)  # [b, d, k]
            x = F.adaptive_max_pool1d(x, 1).view(batch_size, -1)
            x = x.reshape(b, n, -1).permute(0, 2, 1)
            return x

    class PosExtraction(nn.Module):
        def __init__(self, channels, blocks=1, groups=1, res_expansion=1, bias=True,
                     activation="relu"):  # noqa: ANN001 # fmt: skip
            """
            input[b,d,g]; output[b,d,g]
            """
            super(PosExtraction, self).__init__()  # noqa: UP008
            operation = []
            for _ in range(blocks):
                operation.append(
                    ConvBNReLURes1D(
                        channels,
                        groups=groups,
                        res_expansion=res_expansion,
                        bias=bias,
                        activation=activation,
                    )  # fmt: skip
                )
            self.operation = nn.Sequential(*operation)

        def forward(self, x):  # [b, d, g]  # noqa: ANN001, ANN202
            return self.operation(x)

    class Model(nn.Module):
        def __init__(self, points=32, class_num=4, embed_dim=8, groups=1, res_expansion=1.0,
                     activation="relu", bias=True, use_xyz=True, normalize="center",
                     dim_expansion=[2, 2], pre_blocks=[1, 1], pos_blocks=[1, 1],  # noqa: B006
                     k_neighbors=[4, 4], reducers=[2, 2], **kwargs):  # noqa: ANN001, ANN003, B006 # fmt: skip
            super(Model, self).__init__()  # noqa: UP008
            self.stages = len(pre_blocks)
            self.class_num = class_num
            self.points = points
            self.embedding = ConvBNReLU1D(3, embed_dim, bias=bias, activation=activation)
            assert (
                len(pre_blocks)
                == len(k_neighbors)
                == len(reducers)
                == len(pos_blocks)
                == len(dim_expansion)
            ), (
                "Please check stage number consistent for pre_blocks, pos_blocks k_neighbors, reducers."  # noqa: E501
            )
            self.local_grouper_list = nn.ModuleList()
            self.pre_blocks_list = nn.ModuleList()
            self.pos_blocks_list = nn.ModuleList()
            last_channel = embed_dim
            anchor_points = self.points
            for i in range(len(pre_blocks)):
                out_channel = last_channel * dim_expansion[i]
                pre_block_num = pre_blocks[i]
                pos_block_num = pos_blocks[i]
                kneighbor = k_neighbors[i]
                reduce = reducers[i]
                anchor_points = anchor_points // reduce
                # append local_grouper_list
                local_grouper = LocalGrouper(last_channel, anchor_points, kneighbor, use_xyz,
                                             normalize)  # [b,g,k,d] # fmt: skip
                self.local_grouper_list.append(local_grouper)
                # append pre_block_list
                pre_block_module = PreExtraction(last_channel, out_channel, pre_block_num,
                                                 groups=groups, res_expansion=res_expansion,
                                                 bias=bias, activation=activation,
                                                 use_xyz=use_xyz)  # fmt: skip
                self.pre_blocks_list.append(pre_block_module)
                # append pos_block_list
                pos_block_module = PosExtraction(out_channel, pos_block_num, groups=groups,
                                                 res_expansion=res_expansion, bias=bias,
                                                 activation=activation)  # fmt: skip
                self.pos_blocks_list.append(pos_block_module)

                last_channel = out_channel

            self.act = get_activation(activation)
            self.classifier = nn.Sequential(
                nn.Linear(last_channel, 16),
                nn.BatchNorm1d(16),
                self.act,
                nn.Dropout(0.5),
                nn.Linear(16, 8),
                nn.BatchNorm1d(8),
                self.act,
                nn.Dropout(0.5),
                nn.Linear(8, self.class_num),
            )

        def forward(self, x):  # noqa: ANN001, ANN202
            xyz = x.permute(0, 2, 1)
            batch_size, _, _ = x.size()
            x = self.embedding(x)  # B,D,N
            for i in range(self.stages):
                # Give xyz[b, p, 3] and fea[b, p, d], return new_xyz[b, g, 3], new_fea[b, g, k, d]
                xyz, x = self.local_grouper_list[i](xyz, x.permute(0, 2, 1))  # [b,g,3]  [b,g,k,d]
                x = self.pre_blocks_list[i](x)  # [b,d,g]
                x = self.pos_blocks_list[i](x)  # [b,d,g]

            x = F.adaptive_max_pool1d(x, 1).squeeze(dim=-1)
            x = self.classifier(x)
            return x

    return Model


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional

    def cal_loss(pred, gold, smoothing=True):  # noqa: ANN001, ANN202
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

    rng = np.random.default_rng(3)
    labels = np.arange(8) % 4
    clouds = rng.standard_normal((8, 32, 3)) * (1.0 + 0.3 * labels[:, None, None])
    clouds[:, :, 2] += labels[:, None]

    torch.manual_seed(1)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    anchor = _model(torch_like)(normalize="anchor", activation="gelu")
    values: list[float] = []
    for model in (net, anchor):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
        start_epoch, epoch = 0, 3
        CosineAnnealingLR = torch.optim.lr_scheduler.CosineAnnealingLR  # noqa: N806
        scheduler = CosineAnnealingLR(optimizer, epoch, eta_min=0.005, last_epoch=start_epoch - 1)
        criterion = cal_loss
        for _epoch in range(start_epoch, epoch):
            model.train()
            train_pred, train_true = [], []
            data = torch.tensor(clouds)
            label = torch.tensor(labels)
            data = data.permute(0, 2, 1)  # so, the input data shape is [batch, 3, 1024]
            optimizer.zero_grad()
            logits = model(data)
            loss = criterion(logits, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
            optimizer.step()
            preds = logits.max(dim=1)[1]
            train_true.append(label.cpu().numpy())
            train_pred.append(preds.detach().cpu().numpy())
            scheduler.step()
            train_true = np.concatenate(train_true)
            train_pred = np.concatenate(train_pred)
            values += [loss.item(), float(np.mean(train_true == train_pred))]
            values.append(optimizer.param_groups[0]["lr"])
        model.eval()
        with torch.no_grad():
            values += model(torch.tensor(clouds[:4]).permute(0, 2, 1)).flatten().tolist()
    return values
