"""SimSiam pre-training with a kNN monitor and the linear evaluation, as
facebookresearch/simsiam writes them (``simsiam/builder.py``, ``simsiam/loader.py``,
``main_simsiam.py``, ``main_lincls.py``) with the kNN monitor of the SimSiam/SimCLR
reproductions (PatrickHua/SimSiam's ``knn_monitor``, leftthomas/SimCLR's ``test``),
size-reduced.

The idioms: ``SimSiam(base_encoder, dim, pred_dim)`` building ``base_encoder(num_classes=dim,
zero_init_residual=True)``, ``prev_dim = self.encoder.fc.weight.shape[1]``, the projector
``nn.Sequential(nn.Linear(prev_dim, prev_dim, bias=False), nn.BatchNorm1d(prev_dim),
nn.ReLU(inplace=True), ..., self.encoder.fc, nn.BatchNorm1d(dim, affine=False))`` that swallows
the old ``fc``, ``self.encoder.fc[6].bias.requires_grad = False``, the predictor, and
``return p1, p2, z1.detach(), z2.detach()``; a ResNet-style encoder with ``zero_init_residual``
(``nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")``,
``nn.init.constant_(m.bn2.weight, 0)``, ``nn.AdaptiveAvgPool2d((1, 1))``, ``torch.flatten(x,
1)``); the model in ``torch.nn.DataParallel`` (``model.module.encoder``); ``loader.py``'s
``TwoCropsTransform`` (``[q, k]``) through a ``Dataset`` and ``DataLoader`` whose collate gives
``images[0]`` / ``images[1]``; ``init_lr = args.lr * args.batch_size / 256``, ``criterion =
nn.CosineSimilarity(dim=1)``, ``optim_params = [{'params': model.module.encoder.parameters(),
'fix_lr': False}, {'params': model.module.predictor.parameters(), 'fix_lr': True}]`` (an extra
key in a param group), ``torch.optim.SGD(optim_params, init_lr, momentum=..., weight_decay=...)``
(a parameter without gradient in a group), ``model(x1=images[0], x2=images[1])``, ``loss =
-(criterion(p1, z2).mean() + criterion(p2, z1).mean()) * 0.5``, ``adjust_learning_rate``
reading ``param_group['fix_lr']``; the kNN monitor (``F.normalize(feature, dim=1)``,
``torch.cat(feature_bank, dim=0).t().contiguous()``, ``torch.tensor(dataset.targets,
device=feature_bank.device)``, ``torch.mm(feature, feature_bank)``, ``sim_matrix.topk(k=knn_k,
dim=-1)``, ``torch.gather(feature_labels.expand(feature.size(0), -1), dim=-1,
index=sim_indices)``, ``(sim_weight / knn_t).exp()``, ``one_hot_label.scatter(dim=-1,
index=sim_labels.view(-1, 1), value=1.0)``, ``pred_scores.argsort(dim=-1, descending=True)``,
``(pred_labels[:, 0] == target).float().sum().item()``); and ``main_lincls.py``'s linear
evaluation (freezing all but ``fc.weight`` / ``fc.bias`` by name, ``model.fc.weight.data.normal_(
mean=0.0, std=0.01)``, ``model.fc.bias.data.zero_()``, renaming ``module.encoder.`` keys and
``del state_dict[k]``, ``msg = model.load_state_dict(state_dict, strict=False)``, ``assert
set(msg.missing_keys) == {"fc.weight", "fc.bias"}``, ``list(filter(lambda p: p.requires_grad,
model.parameters()))``, ``nn.CrossEntropyLoss()``, ``output.topk(maxk, 1, True, True)`` accuracy
with ``correct[:k].reshape(-1).float().sum(0, keepdim=True)``).

Changed: 8 x 8 images and two augmentations made of NumPy noise, one residual block of width 8,
``dim = 16``, ``pred_dim = 4``, 12 training images in batches of 6 over 2 epochs, kNN with
``k = 5``; the linear classifier's ``normal_`` draw is checked for its scale and replaced by a
NumPy draw (the two libraries' generators differ).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

IMG, WIDTH, DIM, PRED_DIM, CLASSES, N_TRAIN, N_TEST, BATCH, EPOCHS = 8, 8, 16, 4, 3, 12, 6, 6, 2
LR, MOMENTUM, WD, KNN_K, KNN_T = 0.05, 0.9, 1e-4, 5, 0.1


def _resnet(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, num_classes: int = 1000, zero_init_residual: bool = False) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, WIDTH, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(WIDTH)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = nn.Sequential(BasicBlock(WIDTH, WIDTH))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(WIDTH * BasicBlock.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, BasicBlock):
                        nn.init.constant_(m.bn2.weight, 0)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer1(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.fc(x)

    return ResNet


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    base_encoder = _resnet(torch_like)

    class SimSiam(nn.Module):
        """Build a SimSiam model."""

        def __init__(self, base_encoder: Any, dim: int = 2048, pred_dim: int = 512) -> None:
            super().__init__()
            # create the encoder
            # num_classes is the output fc dimension, zero-initialize last BNs
            self.encoder = base_encoder(num_classes=dim, zero_init_residual=True)

            # build a 3-layer projector
            prev_dim = self.encoder.fc.weight.shape[1]
            self.encoder.fc = nn.Sequential(
                nn.Linear(prev_dim, prev_dim, bias=False),
                nn.BatchNorm1d(prev_dim),
                nn.ReLU(inplace=True),  # first layer
                nn.Linear(prev_dim, prev_dim, bias=False),
                nn.BatchNorm1d(prev_dim),
                nn.ReLU(inplace=True),  # second layer
                self.encoder.fc,
                nn.BatchNorm1d(dim, affine=False),
            )  # output layer
            self.encoder.fc[
                6
            ].bias.requires_grad = False  # hack: not use bias as it is followed by BN

            # build a 2-layer predictor
            self.predictor = nn.Sequential(
                nn.Linear(dim, pred_dim, bias=False),
                nn.BatchNorm1d(pred_dim),
                nn.ReLU(inplace=True),  # hidden layer
                nn.Linear(pred_dim, dim),
            )  # output layer

        def forward(self, x1: Any, x2: Any) -> tuple:
            z1 = self.encoder(x1)  # NxC
            z2 = self.encoder(x2)  # NxC
            p1 = self.predictor(z1)  # NxC
            p2 = self.predictor(z2)  # NxC
            return p1, p2, z1.detach(), z2.detach()

    return SimSiam(base_encoder, DIM, PRED_DIM)


def _data(torch_like: Any, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    torch = torch_like
    Dataset = torch_like.utils.data.Dataset

    class TwoCropsTransform:
        """Take two random crops of one image as the query and key."""

        def __init__(self, base_transform: Any) -> None:
            self.base_transform = base_transform

        def __call__(self, x: Any) -> list:
            q = self.base_transform(x)
            k = self.base_transform(x)
            return [q, k]

    class Augment:
        """NumPy noise and a random flip, standing in for the crops and colour jitter."""

        def __init__(self, seed: int) -> None:
            self.rng = np.random.default_rng(seed)

        def __call__(self, x: np.ndarray) -> Any:
            out = x + 0.1 * self.rng.standard_normal(x.shape)
            if self.rng.random() < 0.5:
                out = out[:, :, ::-1]
            return torch.from_numpy(np.ascontiguousarray(out))

    class ToyImages(Dataset):
        def __init__(self, n: int, transform: Any = None) -> None:
            self.classes = [f"c{i}" for i in range(CLASSES)]
            self.targets = [i % CLASSES for i in range(n)]
            base = rng.standard_normal((CLASSES, 3, IMG, IMG))
            self.data = base[self.targets] + 0.5 * rng.standard_normal((n, 3, IMG, IMG))
            self.transform = transform

        def __len__(self) -> int:
            return len(self.targets)

        def __getitem__(self, index: int) -> tuple:
            img, target = self.data[index], self.targets[index]
            if self.transform is not None:
                img = self.transform(img)
            else:
                img = torch.from_numpy(img.copy())
            return img, target

    train = ToyImages(N_TRAIN, TwoCropsTransform(Augment(1)))
    memory = ToyImages(N_TRAIN)
    memory.data = train.data
    test = ToyImages(N_TEST)
    return train, memory, test


def knn_predict(torch_like: Any, feature, feature_bank, feature_labels, classes, knn_k, knn_t):  # noqa: ANN001
    torch = torch_like
    # compute cos similarity between each feature vector and feature bank ---> [B, N]
    sim_matrix = torch.mm(feature, feature_bank)
    # [B, K]
    sim_weight, sim_indices = sim_matrix.topk(k=knn_k, dim=-1)
    # [B, K]
    sim_labels = torch.gather(feature_labels.expand(feature.size(0), -1), dim=-1, index=sim_indices)
    sim_weight = (sim_weight / knn_t).exp()

    # counts for each class
    one_hot_label = torch.zeros(feature.size(0) * knn_k, classes, device=sim_labels.device)
    # [B*K, C]
    one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
    # weighted score ---> [B, C]
    pred_scores = torch.sum(
        one_hot_label.view(feature.size(0), -1, classes) * sim_weight.unsqueeze(dim=-1), dim=1
    )
    pred_labels = pred_scores.argsort(dim=-1, descending=True)
    return pred_labels, pred_scores


def knn_monitor(torch_like: Any, net, memory_data_loader, test_data_loader, k=KNN_K, t=KNN_T):  # noqa: ANN001
    torch = torch_like
    F = torch_like.nn.functional
    net.eval()
    classes = len(memory_data_loader.dataset.classes)
    total_top1, total_num, feature_bank = 0.0, 0, []
    with torch.no_grad():
        # generate feature bank
        for data, _target in memory_data_loader:
            feature = net(data)
            feature = F.normalize(feature, dim=1)
            feature_bank.append(feature)
        # [D, N]
        feature_bank = torch.cat(feature_bank, dim=0).t().contiguous()
        # [N]
        feature_labels = torch.tensor(
            memory_data_loader.dataset.targets, device=feature_bank.device
        )
        # loop test data to predict the label by weighted knn search
        scores = []
        for data, target in test_data_loader:
            feature = net(data)
            feature = F.normalize(feature, dim=1)
            pred_labels, pred_scores = knn_predict(
                torch, feature, feature_bank, feature_labels, classes, k, t
            )
            total_num += data.size(0)
            total_top1 += (pred_labels[:, 0] == target).float().sum().item()
            scores += pred_scores.flatten().tolist()
    return total_top1 / total_num * 100, scores


def adjust_learning_rate(optimizer: Any, init_lr: float, epoch: int, epochs: int) -> None:
    """Decay the learning rate based on schedule"""
    cur_lr = init_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    for param_group in optimizer.param_groups:
        if "fix_lr" in param_group and param_group["fix_lr"]:
            param_group["lr"] = init_lr
        else:
            param_group["lr"] = cur_lr


def accuracy(torch_like: Any, output: Any, target: Any, topk: tuple = (1,)) -> list:
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch_like.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def linear_eval(torch_like: Any, simsiam: Any, memory: Any, rng: np.random.Generator) -> list:
    torch = torch_like
    nn = torch_like.nn
    model = _resnet(torch)(num_classes=CLASSES)
    # freeze all layers but the last fc
    for name, param in model.named_parameters():
        if name not in ["fc.weight", "fc.bias"]:
            param.requires_grad = False
    # init the fc layer
    torch.manual_seed(0)
    model.fc.weight.data.normal_(mean=0.0, std=0.01)
    values = [float(model.fc.weight.abs().max().item() < 0.1)]
    model.fc.weight.data.copy_(torch.from_numpy(0.01 * rng.standard_normal((CLASSES, WIDTH))))
    model.fc.bias.data.zero_()

    # rename moco pre-trained keys
    state_dict = simsiam.state_dict()
    for k in list(state_dict.keys()):
        # retain only encoder up to before the embedding layer
        if k.startswith("module.encoder") and not k.startswith("module.encoder.fc"):
            # remove prefix
            state_dict[k[len("module.encoder.") :]] = state_dict[k]
        # delete renamed or unused k
        del state_dict[k]
    msg = model.load_state_dict(state_dict, strict=False)
    assert set(msg.missing_keys) == {"fc.weight", "fc.bias"}
    values += [len(state_dict), len(msg.unexpected_keys)]

    parameters = list(filter(lambda p: p.requires_grad, model.parameters()))
    assert len(parameters) == 2  # fc.weight, fc.bias
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(parameters, 0.5, momentum=0.9, weight_decay=0.0)
    loader = torch.utils.data.DataLoader(memory, batch_size=BATCH, shuffle=False)
    model.eval()  # main_lincls: BN in eval mode while training the classifier
    for images, target in loader:
        output = model(images)
        loss = criterion(output, target)
        acc1, acc2 = accuracy(torch, output, target, topk=(1, 2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), acc1[0].item(), acc2[0].item()]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    rng = np.random.default_rng(4)
    base = make_model(torch)
    load_numpy_state(torch, base, init)
    model = torch.nn.DataParallel(base)
    train, memory, test = _data(torch, rng)
    train_loader = torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=False)
    memory_loader = torch.utils.data.DataLoader(memory, batch_size=BATCH, shuffle=False)
    test_loader = torch.utils.data.DataLoader(test, batch_size=BATCH, shuffle=False)

    init_lr = LR * BATCH / 256
    criterion = nn.CosineSimilarity(dim=1)
    optim_params = [
        {"params": model.module.encoder.parameters(), "fix_lr": False},
        {"params": model.module.predictor.parameters(), "fix_lr": True},
    ]
    optimizer = torch.optim.SGD(optim_params, init_lr, momentum=MOMENTUM, weight_decay=WD)
    values: list[float] = [float(model.module.encoder.fc[6].bias.requires_grad)]
    values += [float(g["fix_lr"]) for g in optimizer.param_groups]
    values += model.module.encoder.layer1[0].bn2.weight.tolist()
    bias_before = model.module.encoder.fc[6].bias.clone()
    for epoch in range(EPOCHS):
        adjust_learning_rate(optimizer, init_lr, epoch, EPOCHS)
        model.train()
        for _i, (images, _) in enumerate(train_loader):
            p1, p2, z1, z2 = model(x1=images[0], x2=images[1])
            loss = -(criterion(p1, z2).mean() + criterion(p2, z1).mean()) * 0.5
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values += [loss.item(), float(z1.requires_grad), float(p1.requires_grad)]
        values += [g["lr"] for g in optimizer.param_groups]
        top1, scores = knn_monitor(torch, model.module.encoder, memory_loader, test_loader)
        values += [top1, *scores]
    values += [float(torch.equal(bias_before, model.module.encoder.fc[6].bias))]
    values += [float(model.module.encoder.fc[6].bias.grad is None)]
    values += model.module.encoder.fc[7].running_var.tolist()[:4]
    values += [float(optimizer.state_dict()["param_groups"][1]["fix_lr"])]
    values += linear_eval(torch, model, memory, rng)
    return values
