"""pytorch/examples ``regression/main.py`` and ``mnist/main.py``, the two scripts of the
examples repository not yet covered here. Regression kept: ``W_target = torch.randn(POLY_DEGREE,
1) * 5``, ``make_features`` (``torch.cat([x ** i for i in range(1, POLY_DEGREE+1)], 1)``),
``f`` (``x.mm(W_target) + b_target.item()``), ``poly_desc`` formatting 0-dim tensors with
``'{:+.2f} x^{} '.format(w, i + 1)``, the ``for batch_idx in count(1)`` loop with
``fc.zero_grad()``, ``F.smooth_l1_loss``, the manual update ``param.data.add_(-0.1 *
param.grad)`` and the ``if loss < 1e-3: break`` stop. MNIST kept: the ``argparse`` options
(parsed from an empty list), ``use_accel = not args.no_accel and
torch.accelerator.is_available()`` choosing ``torch.accelerator.current_accelerator()`` or
``torch.device("cpu")``, ``Net`` (two ``Conv2d(.., 3, 1)``, ``Dropout(0.25)``/``Dropout(0.5)``,
``torch.flatten(x, 1)``, ``F.log_softmax(x, dim=1)``), ``train`` with the ``'Train Epoch: {}
[{}/{} ({:.0f}%)]\\tLoss: {:.6f}'`` log line, ``test`` (``F.nll_loss(output, target,
reduction='sum').item()``, ``output.argmax(dim=1, keepdim=True)``,
``pred.eq(target.view_as(pred)).sum().item()``), ``optim.Adadelta(model.parameters(),
lr=args.lr)`` with ``StepLR(optimizer, step_size=1, gamma=args.gamma)`` and
``torch.save(model.state_dict(), "mnist_cnn.pt")`` (reloaded here).

Changed: regression stops after at most 60 batches (the original runs until the loss is below
1e-3); MNIST 28x28 -> 12x12 seeded random images (normalised with the script's
``(0.1307,), (0.3081,)``), channels 32/64 -> 4/8, ``fc1`` 9216 -> 128 inputs and 128 -> 16
units, 60000 images -> 24 train and 8 test, batch 64 -> 8, 14 epochs -> 2; the log lines are
collected, not printed.
"""

from __future__ import annotations

import argparse
import tempfile
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np

from ._common import load_numpy_state

POLY_DEGREE = 4


def make_model(torch_like: Any) -> Any:
    nn, F, torch = torch_like.nn, torch_like.nn.functional, torch_like

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008 (as in the example)
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(128, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net()


def _regression(torch: Any) -> list[float]:
    F = torch.nn.functional
    torch.manual_seed(1)
    W_target = torch.randn(POLY_DEGREE, 1) * 5
    b_target = torch.randn(1) * 5

    def make_features(x):  # noqa: ANN001, ANN202
        """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
        x = x.unsqueeze(1)
        return torch.cat([x ** i for i in range(1, POLY_DEGREE+1)], 1)  # fmt: skip

    def f(x):  # noqa: ANN001, ANN202
        """Approximated function."""
        return x.mm(W_target) + b_target.item()

    def poly_desc(W, b):  # noqa: ANN001, ANN202
        """Creates a string description of a polynomial."""
        result = "y = "
        for i, w in enumerate(W):
            result += "{:+.2f} x^{} ".format(w, i + 1)  # noqa: UP032
        result += "{:+.2f}".format(b[0])  # noqa: UP032
        return result

    def get_batch(batch_size=32):  # noqa: ANN001, ANN202
        """Builds a batch i.e. (x, f(x)) pair."""
        random = torch.randn(batch_size)
        x = make_features(random)
        y = f(x)
        return x, y

    # Define model
    fc = torch.nn.Linear(W_target.size(0), 1)
    losses = []
    for batch_idx in count(1):
        # Get data
        batch_x, batch_y = get_batch()

        # Reset gradients
        fc.zero_grad()

        # Forward pass
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()

        # Backward pass
        output.backward()

        # Apply gradients
        for param in fc.parameters():
            param.data.add_(-0.1 * param.grad)

        losses.append(loss)
        # Stop criterion
        if loss < 1e-3 or batch_idx >= 60:
            break

    learned = poly_desc(fc.weight.view(-1), fc.bias)
    actual = poly_desc(W_target.view(-1), b_target)
    assert learned.startswith("y = ") and len(actual.split("x^")) == POLY_DEGREE + 1
    numbers = [float(t) for t in (learned + " " + actual).replace("y =", "").split()
               if not t.startswith("x^")]  # fmt: skip
    return [*losses, batch_idx, *numbers]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F, optim = torch_like, torch_like.nn.functional, torch_like.optim
    StepLR = torch.optim.lr_scheduler.StepLR
    out = _regression(torch)

    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument('--batch-size', type=int, default=8, metavar='N',
                        help='input batch size for training (default: 64)')  # fmt: skip
    parser.add_argument("--test-batch-size", type=int, default=8, metavar="N")
    parser.add_argument("--epochs", type=int, default=2, metavar="N")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M")
    parser.add_argument("--no-accel", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--log-interval", type=int, default=1, metavar="N")
    parser.add_argument("--save-model", action="store_true", default=True)
    args = parser.parse_args([])

    use_accel = not args.no_accel and torch.accelerator.is_available()
    torch.manual_seed(args.seed)
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    rng = np.random.default_rng(2)
    images = rng.random((32, 1, 12, 12))
    labels = rng.integers(0, 10, size=32)
    x = (torch.tensor(images) - 0.1307) / 0.3081
    y = torch.tensor(labels)
    dataset1 = torch.utils.data.TensorDataset(x[:24], y[:24])
    dataset2 = torch.utils.data.TensorDataset(x[24:], y[24:])
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = make_model(torch).to(device)
    load_numpy_state(torch, model, init)
    logs: list[str] = []

    def train(args, model, device, train_loader, optimizer, epoch):  # noqa: ANN001, ANN202
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                logs.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))  # fmt: skip
                if args.dry_run:
                    break

    def test(model, device, test_loader):  # noqa: ANN001, ANN202
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
                pred = output.argmax(dim=1, keepdim=True)  # noqa: E501 - get the index of the max log-probability
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)
        return test_loss, correct

    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        out += list(test(model, device, test_loader))
        scheduler.step()
    out += [float(line.rsplit("Loss: ", 1)[1]) for line in logs]
    assert logs[0].startswith("Train Epoch: 1 [0/24 (0%)]\tLoss: "), logs[0]

    if args.save_model:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "mnist_cnn.pt"
            torch.save(model.state_dict(), path)
            reloaded = make_model(torch)
            reloaded.load_state_dict(torch.load(path))
            out += list(test(reloaded, device, test_loader))
    return out
