"""Stevens, Antiga, Viehmann, "Deep Learning with PyTorch" (deep-learning-with-pytorch/dlwpt-code):
chapter 5 (``p1ch5/3_optimizers.ipynb``, ``4_training_validation.ipynb``: the thermometer
data as literal lists, ``model(t_u, w, b)``, ``params = torch.tensor([1.0, 0.0],
requires_grad=True)``, the hand-written loop with ``if params.grad is not None:
params.grad.zero_()`` and ``with torch.no_grad(): params -= learning_rate * params.grad``, then
``optim.SGD([params], lr=learning_rate)``, the ``torch.randperm`` train/validation split and
``assert val_loss.requires_grad == False`` under ``torch.no_grad()``), chapter 6
(``p1ch6/2_activation_functions``/``3_nn_module_subclassing``: ``nn.Sequential(OrderedDict([
('hidden_linear', ...), ('hidden_activation', nn.Tanh()), ('output_linear', ...)]))``, the
``seq_model.output_linear.bias`` attribute, ``t_c.unsqueeze(1)``, ``nn.MSELoss()``) and
chapters 7-8 (``p1ch7/2_birds_airplanes.ipynb``, ``p1ch8/1_convolution.ipynb``: ``imgs =
torch.stack([img_t for img_t, _ in tensor_cifar10], dim=3)``, ``imgs.view(3, -1).mean(dim=1)``,
``label_map = {0: 0, 2: 1}``, ``NetBatchNorm``, ``NetResDeep`` whose ``nn.Sequential(*(n_blocks
* [ResBlock(n_chans=n_chans1)]))`` repeats ONE block (shared weights), ``ResBlock``'s
``kaiming_normal_(self.conv.weight, nonlinearity='relu')``, ``constant_(self.batch_norm.weight,
0.5)`` and ``zeros_``, ``training_loop_l2reg`` (``sum(p.pow(2.0).sum() for p in
model.parameters())``), and ``validate`` with ``_, predicted = torch.max(outputs, dim=1)`` and
``int((predicted == labels).sum())``).

Changed: CIFAR-2 -> 16 seeded random 3x32x32 images; 5000/100 epochs -> 60 (chapter 5),
300 (chapter 6), 2 (chapter 8); ``n_chans1`` 32 -> 4, ``n_blocks`` 10 -> 3, batch 64 -> 4;
``torchvision.transforms.Normalize`` -> the same arithmetic on the stacked tensor.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

_T_C = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
_T_U = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]


def _nets(torch_like: Any) -> tuple[type, type]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class NetBatchNorm(nn.Module):
        def __init__(self, n_chans1=32):  # noqa: ANN001
            super().__init__()
            self.n_chans1 = n_chans1
            self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
            self.conv1_batchnorm = nn.BatchNorm2d(num_features=n_chans1)
            self.conv2 = nn.Conv2d(n_chans1, n_chans1 // 2, kernel_size=3, padding=1)
            self.conv2_batchnorm = nn.BatchNorm2d(num_features=n_chans1 // 2)
            self.fc1 = nn.Linear(8 * 8 * n_chans1 // 2, 32)
            self.fc2 = nn.Linear(32, 2)

        def forward(self, x):  # noqa: ANN001, ANN202
            out = self.conv1_batchnorm(self.conv1(x))
            out = F.max_pool2d(torch.tanh(out), 2)
            out = self.conv2_batchnorm(self.conv2(out))
            out = F.max_pool2d(torch.tanh(out), 2)
            out = out.view(-1, 8 * 8 * self.n_chans1 // 2)
            out = torch.tanh(self.fc1(out))
            out = self.fc2(out)
            return out

    class ResBlock(nn.Module):
        def __init__(self, n_chans):  # noqa: ANN001
            super(ResBlock, self).__init__()  # noqa: UP008 (as in the book)
            self.conv = nn.Conv2d(n_chans, n_chans, kernel_size=3,
                                  padding=1, bias=False)  # <1> # fmt: skip
            self.batch_norm = nn.BatchNorm2d(num_features=n_chans)
            torch.nn.init.kaiming_normal_(self.conv.weight,
                                          nonlinearity='relu')  # <2> # fmt: skip
            torch.nn.init.constant_(self.batch_norm.weight, 0.5)
            torch.nn.init.zeros_(self.batch_norm.bias)

        def forward(self, x):  # noqa: ANN001, ANN202
            out = self.conv(x)
            out = self.batch_norm(out)
            out = torch.relu(out)
            return out + x

    class NetResDeep(nn.Module):
        def __init__(self, n_chans1=32, n_blocks=10):  # noqa: ANN001
            super().__init__()
            self.n_chans1 = n_chans1
            self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
            self.resblocks = nn.Sequential(
                *(n_blocks * [ResBlock(n_chans=n_chans1)]))  # fmt: skip
            self.fc1 = nn.Linear(8 * 8 * n_chans1, 32)
            self.fc2 = nn.Linear(32, 2)

        def forward(self, x):  # noqa: ANN001, ANN202
            out = F.max_pool2d(torch.relu(self.conv1(x)), 2)
            out = self.resblocks(out)
            out = F.max_pool2d(out, 2)
            out = out.view(-1, 8 * 8 * self.n_chans1)
            out = torch.relu(self.fc1(out))
            out = self.fc2(out)
            return out

    return NetBatchNorm, NetResDeep


def _seq_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(OrderedDict([
        ('hidden_linear', nn.Linear(1, 8)),
        ('hidden_activation', nn.Tanh()),
        ('output_linear', nn.Linear(8, 1))
    ]))  # fmt: skip


def make_model(torch_like: Any) -> Any:
    NetBatchNorm, NetResDeep = _nets(torch_like)
    return torch_like.nn.ModuleDict(
        {"seq": _seq_model(torch_like), "bn": NetBatchNorm(n_chans1=4),
         "res": NetResDeep(n_chans1=4, n_blocks=3)}
    )  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    out: list[float] = []

    # chapter 5: a linear model by hand, then with an optimizer and a validation split
    t_c = torch.tensor(_T_C)
    t_u = torch.tensor(_T_U)
    t_un = 0.1 * t_u

    def model(t_u, w, b):  # noqa: ANN001, ANN202
        return w * t_u + b

    def loss_fn(t_p, t_c):  # noqa: ANN001, ANN202
        squared_diffs = (t_p - t_c) ** 2
        return squared_diffs.mean()

    params = torch.tensor([1.0, 0.0], requires_grad=True)
    learning_rate = 1e-2
    for epoch in range(1, 31):  # noqa: B007
        if params.grad is not None:  # <1>
            params.grad.zero_()
        t_p = model(t_un, *params)
        loss = loss_fn(t_p, t_c)
        loss.backward()
        with torch.no_grad():  # <2>
            params -= learning_rate * params.grad
    out += [loss.item(), *params.tolist()]

    torch.manual_seed(0)
    n_samples = t_u.shape[0]
    n_val = int(0.2 * n_samples)
    shuffled_indices = torch.randperm(n_samples)
    train_indices = shuffled_indices[:-n_val]
    val_indices = shuffled_indices[-n_val:]
    train_t_u, train_t_c = t_u[train_indices], t_c[train_indices]
    val_t_u, val_t_c = t_u[val_indices], t_c[val_indices]
    train_t_un, val_t_un = 0.1 * train_t_u, 0.1 * val_t_u

    def training_loop(n_epochs, optimizer, params, train_t_u, val_t_u, train_t_c, val_t_c):  # noqa: ANN001, ANN202
        for epoch in range(1, n_epochs + 1):  # noqa: B007
            train_t_p = model(train_t_u, *params)
            train_loss = loss_fn(train_t_p, train_t_c)
            with torch.no_grad():  # <1>
                val_t_p = model(val_t_u, *params)
                val_loss = loss_fn(val_t_p, val_t_c)
                assert val_loss.requires_grad == False  # <2> # noqa: E712
            optimizer.zero_grad()
            train_loss.backward()
            optimizer.step()
        return params, train_loss.item(), val_loss.item()

    params = torch.tensor([1.0, 0.0], requires_grad=True)
    optimizer = optim.SGD([params], lr=learning_rate)
    params, train_loss, val_loss = training_loop(
        n_epochs=30, optimizer=optimizer, params=params,
        train_t_u=train_t_un, val_t_u=val_t_un, train_t_c=train_t_c, val_t_c=val_t_c)  # fmt: skip
    out += [train_loss, val_loss, *params.tolist()]

    # chapter 6: nn.Sequential with named layers
    holder = make_model(torch)
    if init is not None:
        holder.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    seq_model = holder["seq"]
    t_c6 = t_c.unsqueeze(1)  # <1>
    t_u6 = t_u.unsqueeze(1)
    optimizer = optim.SGD(seq_model.parameters(), lr=1e-3)  # <1>
    loss_fn6 = nn.MSELoss()
    for epoch in range(1, 61):  # noqa: B007
        t_p_train = seq_model(0.1 * t_u6[train_indices])
        loss_train = loss_fn6(t_p_train, t_c6[train_indices])
        optimizer.zero_grad()
        loss_train.backward()
        optimizer.step()
    out += [loss_train.item(), seq_model.output_linear.bias.item()]

    # chapters 7-8: birds vs airplanes
    rng = np.random.default_rng(3)
    raw = rng.random((16, 3, 32, 32))
    cifar10 = [(torch.tensor(raw[i]), int(rng.choice([0, 1, 2]))) for i in range(16)]
    imgs = torch.stack([img_t for img_t, _ in cifar10], dim=3)
    mean, std = imgs.view(3, -1).mean(dim=1), imgs.view(3, -1).std(dim=1)
    label_map = {0: 0, 2: 1}
    cifar2 = [((img - mean[:, None, None]) / std[:, None, None], label_map[label])
              for img, label in cifar10 if label in [0, 2]]  # fmt: skip
    out += [float(mean.sum()), float(std.sum()), len(cifar2)]
    train_loader = torch.utils.data.DataLoader(cifar2, batch_size=4, shuffle=False)

    def training_loop_l2reg(n_epochs, optimizer, model, loss_fn, train_loader):  # noqa: ANN001, ANN202
        losses = []
        for epoch in range(1, n_epochs + 1):  # noqa: B007
            loss_train = 0.0
            for imgs, labels in train_loader:
                outputs = model(imgs)
                loss = loss_fn(outputs, labels)

                l2_lambda = 0.001
                l2_norm = sum(p.pow(2.0).sum()
                              for p in model.parameters())  # <1> # fmt: skip
                loss = loss + l2_lambda * l2_norm

                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

                loss_train += loss.item()
            losses.append(loss_train / len(train_loader))
        return losses

    def validate(model, train_loader, val_loader):  # noqa: ANN001, ANN202
        accdict = {}
        for name, loader in [("train", train_loader), ("val", val_loader)]:
            correct = 0
            total = 0

            with torch.no_grad():
                for imgs, labels in loader:
                    outputs = model(imgs)
                    _, predicted = torch.max(outputs, dim=1)  # <1>
                    total += labels.shape[0]
                    correct += int((predicted == labels).sum())

            accdict[name] = correct / total
        return accdict

    for key in ("bn", "res"):
        net = holder[key]
        optimizer = optim.SGD(net.parameters(), lr=3e-3)
        loss_fn8 = nn.CrossEntropyLoss()
        out += training_loop_l2reg(2, optimizer, net, loss_fn8, train_loader)
        net.eval()
        out += list(validate(net, train_loader, train_loader).values())
    res = holder["res"]
    out.append(sum(p.numel() for p in res.parameters()))
    out.append(float(res.resblocks[0].batch_norm.running_mean.sum()))
    assert res.resblocks[0] is res.resblocks[2]
    return out
