"""fxia22/pointnet.pytorch (``pointnet/model.py``, ``utils/train_classification.py``), the
reference PyTorch PointNet, size-reduced: ``STN3d`` and ``STNkd`` (``torch.nn.Conv1d(3, 64,
1)``-style shared MLPs, ``nn.BatchNorm1d``, ``torch.max(x, 2, keepdim=True)[0]``,
``x.view(-1, 1024)``, the identity added as ``Variable(torch.from_numpy(np.array([1, 0, 0, 0, 1,
0, 0, 0, 1]).astype(np.float32))).view(1, 9).repeat(batchsize, 1)`` and ``torch.eye(self.k)
.flatten()``, ``if x.is_cuda: iden = iden.cuda()``, ``x.view(-1, 3, 3)``);
``PointNetfeat`` (``x.size()[2]``, ``x.transpose(2, 1)``, ``torch.bmm(x, trans)``, the optional
feature transform, global max pooling, and the segmentation branch's ``x.view(-1, 1024,
1).repeat(1, 1, n_pts)`` + ``torch.cat([x, pointfeat], 1)``); ``PointNetCls`` (``nn.Dropout(p=
0.3)``, ``F.log_softmax(x, dim=1)``); ``feature_transform_regularizer`` (``torch.eye(d)[None, :,
:]``, ``torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I, dim=(1, 2)))``); the
training loop (``points.transpose(2, 1)``, ``target[:, 0]``, ``optim.Adam(..., betas=(0.9,
0.999))``, ``optim.lr_scheduler.StepLR(step_size=20, gamma=0.5)``, ``classifier.train()``,
``F.nll_loss(pred, target)`` plus ``0.001`` times the regulariser, ``pred.data.max(1)[1]``,
``pred_choice.eq(target.data).cpu().sum()``, ``correct.item() / float(opt.batchSize)``) and
the test pass in ``classifier.eval()``; the repository's ``__main__`` shape checks (``PointNetfeat(
global_feat=False)`` on a batch, ``STNkd(k=64)``).

Changed: ShapeNet/ModelNet point clouds are 16 seeded NumPy clouds of 12 points in three shape
classes (sphere, plane, line, with noise); the 64/128/1024/512/256 widths -> 8/8/16/8/8; the
dropout probability 0.3 -> 0 (random masks cannot agree between two frameworks); 250 epochs ->
2 of 2 batches; ``scheduler.step()`` is called after the optimizer steps (PyTorch >= 1.1 order);
the clouds and the model are float64 (the identity stays ``astype(np.float32)`` as written: the
sum promotes), see DTYPE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float64"
# float64: in float32, batch norm on 4 x 12 points and Adam grow the last-bit differences
# between BLAS summation orders (which depend on the thread count: a loaded machine) past 1e-3
RTOL = 1e-7
ATOL = 1e-9
W1, W2, W3, F1, F2 = 8, 8, 16, 8, 8
N_PTS, N_CLS = 12, 3


def _classes(torch_like: Any) -> tuple[type, type, type, Any]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Variable = torch_like.autograd.Variable

    class STN3d(nn.Module):
        def __init__(self) -> None:
            super(STN3d, self).__init__()  # noqa: UP008 (as in the repository)
            self.conv1 = torch.nn.Conv1d(3, W1, 1)
            self.conv2 = torch.nn.Conv1d(W1, W2, 1)
            self.conv3 = torch.nn.Conv1d(W2, W3, 1)
            self.fc1 = nn.Linear(W3, F1)
            self.fc2 = nn.Linear(F1, F2)
            self.fc3 = nn.Linear(F2, 9)
            self.relu = nn.ReLU()

            self.bn1 = nn.BatchNorm1d(W1)
            self.bn2 = nn.BatchNorm1d(W2)
            self.bn3 = nn.BatchNorm1d(W3)
            self.bn4 = nn.BatchNorm1d(F1)
            self.bn5 = nn.BatchNorm1d(F2)

        def forward(self, x: Any) -> Any:
            batchsize = x.size()[0]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.relu(self.bn3(self.conv3(x)))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, W3)

            x = F.relu(self.bn4(self.fc1(x)))
            x = F.relu(self.bn5(self.fc2(x)))
            x = self.fc3(x)

            iden = (
                Variable(torch.from_numpy(np.array([1, 0, 0, 0, 1, 0, 0, 0, 1]).astype(np.float32)))
                .view(1, 9)
                .repeat(batchsize, 1)
            )
            if x.is_cuda:
                iden = iden.cuda()
            x = x + iden
            x = x.view(-1, 3, 3)
            return x

    class STNkd(nn.Module):
        def __init__(self, k: int = 64) -> None:
            super(STNkd, self).__init__()  # noqa: UP008
            self.conv1 = torch.nn.Conv1d(k, W1, 1)
            self.conv2 = torch.nn.Conv1d(W1, W2, 1)
            self.conv3 = torch.nn.Conv1d(W2, W3, 1)
            self.fc1 = nn.Linear(W3, F1)
            self.fc2 = nn.Linear(F1, F2)
            self.fc3 = nn.Linear(F2, k * k)
            self.relu = nn.ReLU()

            self.bn1 = nn.BatchNorm1d(W1)
            self.bn2 = nn.BatchNorm1d(W2)
            self.bn3 = nn.BatchNorm1d(W3)
            self.bn4 = nn.BatchNorm1d(F1)
            self.bn5 = nn.BatchNorm1d(F2)

            self.k = k

        def forward(self, x: Any) -> Any:
            batchsize = x.size()[0]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.relu(self.bn3(self.conv3(x)))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, W3)

            x = F.relu(self.bn4(self.fc1(x)))
            x = F.relu(self.bn5(self.fc2(x)))
            x = self.fc3(x)

            iden = (
                Variable(torch.from_numpy(np.eye(self.k).flatten().astype(np.float32)))
                .view(1, self.k * self.k)
                .repeat(batchsize, 1)
            )
            if x.is_cuda:
                iden = iden.cuda()
            x = x + iden
            x = x.view(-1, self.k, self.k)
            return x

    class PointNetfeat(nn.Module):
        def __init__(self, global_feat: bool = True, feature_transform: bool = False) -> None:
            super(PointNetfeat, self).__init__()  # noqa: UP008
            self.stn = STN3d()
            self.conv1 = torch.nn.Conv1d(3, W1, 1)
            self.conv2 = torch.nn.Conv1d(W1, W2, 1)
            self.conv3 = torch.nn.Conv1d(W2, W3, 1)
            self.bn1 = nn.BatchNorm1d(W1)
            self.bn2 = nn.BatchNorm1d(W2)
            self.bn3 = nn.BatchNorm1d(W3)
            self.global_feat = global_feat
            self.feature_transform = feature_transform
            if self.feature_transform:
                self.fstn = STNkd(k=W1)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            n_pts = x.size()[2]
            trans = self.stn(x)
            x = x.transpose(2, 1)
            x = torch.bmm(x, trans)
            x = x.transpose(2, 1)
            x = F.relu(self.bn1(self.conv1(x)))

            if self.feature_transform:
                trans_feat = self.fstn(x)
                x = x.transpose(2, 1)
                x = torch.bmm(x, trans_feat)
                x = x.transpose(2, 1)
            else:
                trans_feat = None

            pointfeat = x
            x = F.relu(self.bn2(self.conv2(x)))
            x = self.bn3(self.conv3(x))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, W3)
            if self.global_feat:
                return x, trans, trans_feat
            else:
                x = x.view(-1, W3, 1).repeat(1, 1, n_pts)
                return torch.cat([x, pointfeat], 1), trans, trans_feat

    class PointNetCls(nn.Module):
        def __init__(self, k: int = 2, feature_transform: bool = False) -> None:
            super(PointNetCls, self).__init__()  # noqa: UP008
            self.feature_transform = feature_transform
            self.feat = PointNetfeat(global_feat=True, feature_transform=feature_transform)
            self.fc1 = nn.Linear(W3, F1)
            self.fc2 = nn.Linear(F1, F2)
            self.fc3 = nn.Linear(F2, k)
            self.dropout = nn.Dropout(p=0.0)
            self.bn1 = nn.BatchNorm1d(F1)
            self.bn2 = nn.BatchNorm1d(F2)
            self.relu = nn.ReLU()

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            x, trans, trans_feat = self.feat(x)
            x = F.relu(self.bn1(self.fc1(x)))
            x = F.relu(self.bn2(self.dropout(self.fc2(x))))
            x = self.fc3(x)
            return F.log_softmax(x, dim=1), trans, trans_feat

    def feature_transform_regularizer(trans: Any) -> Any:
        d = trans.size()[1]
        I = torch.eye(d)[None, :, :]  # noqa: E741 (as in the repository)
        if trans.is_cuda:
            I = I.cuda()  # noqa: E741
        loss = torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I, dim=(1, 2)))
        return loss

    return PointNetCls, PointNetfeat, STNkd, feature_transform_regularizer


def make_model(torch_like: Any) -> Any:
    PointNetCls, _, _, _ = _classes(torch_like)
    return PointNetCls(k=N_CLS, feature_transform=True)


def _clouds() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(43)
    labels = np.arange(16) % N_CLS
    pts = rng.standard_normal((16, N_PTS, 3))
    pts[labels == 0] /= np.linalg.norm(pts[labels == 0], axis=-1, keepdims=True)  # sphere
    pts[labels == 1, :, 2] = 0.05 * rng.standard_normal(((labels == 1).sum(), N_PTS))  # plane
    line = rng.standard_normal(((labels == 2).sum(), N_PTS, 1))
    pts[labels == 2] = line * np.array([1.0, 0.5, 0.2]) + 0.05 * pts[labels == 2]  # line
    return pts.astype(np.float64), labels[:, None].astype(np.int64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch_like.nn.functional
    _, PointNetfeat, STNkd, feature_transform_regularizer = _classes(torch_like)
    points_np, target_np = _clouds()
    batch_size = 4
    train = [(points_np[i : i + 4], target_np[i : i + 4]) for i in range(0, 8, 4)]
    test = [(points_np[i : i + 4], target_np[i : i + 4]) for i in range(8, 16, 4)]
    classifier = make_model(torch_like)
    if init is not None:
        classifier.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = optim.Adam(classifier.parameters(), lr=0.001, betas=(0.9, 0.999))
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    values: list[float] = []

    for _epoch in range(2):
        for _i, data in enumerate(train, 0):
            points, target = torch.from_numpy(data[0]), torch.from_numpy(data[1])
            target = target[:, 0]
            points = points.transpose(2, 1)
            optimizer.zero_grad()
            classifier = classifier.train()
            pred, trans, trans_feat = classifier(points)
            loss = F.nll_loss(pred, target)
            if classifier.feature_transform:
                loss += feature_transform_regularizer(trans_feat) * 0.001
            loss.backward()
            optimizer.step()
            pred_choice = pred.data.max(1)[1]
            correct = pred_choice.eq(target.data).cpu().sum()
            values += [loss.item(), correct.item() / float(batch_size)]
            values.append(trans.abs().sum().item())
        scheduler.step()

    total_correct = 0
    total_testset = 0
    for _i, data in enumerate(test, 0):
        points, target = torch.from_numpy(data[0]), torch.from_numpy(data[1])
        target = target[:, 0]
        points = points.transpose(2, 1)
        classifier = classifier.eval()
        pred, _, _ = classifier(points)
        pred_choice = pred.data.max(1)[1]
        correct = pred_choice.eq(target.data).cpu().sum()
        total_correct += correct.item()
        total_testset += points.size()[0]
        values.append(F.nll_loss(pred, target).item())
    values.append(total_correct / float(total_testset))

    # the repository's __main__ shape checks
    sim_data = torch.from_numpy(points_np[:4]).transpose(2, 1)
    pointfeat = PointNetfeat(global_feat=False)
    pointfeat.load_state_dict(classifier.feat.state_dict(), strict=False)
    out, _, _ = pointfeat(sim_data)
    values += list(out.size()) + [out.sum().item()]
    trans = STNkd(k=W1)(torch.from_numpy(np.ones((4, W1, N_PTS), dtype=np.float64)))
    values += list(trans.size())
    values.append(feature_transform_regularizer(torch.eye(3)[None].repeat(2, 1, 1)).item())
    return values
