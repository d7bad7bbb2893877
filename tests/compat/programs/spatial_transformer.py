"""The PyTorch "Spatial Transformer Networks" tutorial
(``intermediate/spatial_transformer_tutorial``), size-reduced: a localisation network
(``Conv2d``/``MaxPool2d``/``ReLU(True)``) regresses a 2x3 affine matrix through ``fc_loc``,
whose last layer starts at the identity transform (``weight.data.zero_()``,
``bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))``);
``F.affine_grid(theta, x.size())`` and ``F.grid_sample(x, grid)`` warp the input before a LeNet
classifier with ``Dropout2d`` and ``F.dropout(training=self.training)``, trained with SGD on
``F.nll_loss``; then the tutorial's ``test()`` (summed ``nll_loss``, ``max(1, keepdim=True)[1]``,
``eq``/``view_as``) and ``visualize_stn()`` (``self.stn(data)`` under ``no_grad``, ``.cpu()``).

Deviations: ``align_corners=False`` is passed explicitly and ``reduction="sum"`` replaces
``size_average=False`` (same behaviour; the tutorial's calls warn, and the suite turns warnings
into errors). Dropout keeps the tutorial's modules but with ``p=0`` (random masks cannot agree
between two frameworks); channel counts are reduced, the 28x28 MNIST geometry is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super(Net, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.conv1 = nn.Conv2d(1, 4, kernel_size=5)
            self.conv2 = nn.Conv2d(4, 8, kernel_size=5)
            self.conv2_drop = nn.Dropout2d(p=0.0)
            self.fc1 = nn.Linear(128, 16)
            self.fc2 = nn.Linear(16, 10)

            # Spatial transformer localization-network
            self.localization = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=7),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
                nn.Conv2d(4, 5, kernel_size=5),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
            )

            # Regressor for the 3 * 2 affine matrix
            self.fc_loc = nn.Sequential(nn.Linear(5 * 3 * 3, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))

            # Initialize the weights/bias with identity transformation
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        # Spatial transformer network forward function
        def stn(self, x: Any) -> Any:
            xs = self.localization(x)
            xs = xs.view(-1, 5 * 3 * 3)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)

            grid = F.affine_grid(theta, x.size(), align_corners=False)
            x = F.grid_sample(x, grid, align_corners=False)

            return x

        def forward(self, x: Any) -> Any:
            # transform the input
            x = self.stn(x)

            # Perform the usual forward pass
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 128)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, p=0.0, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def _loader(torch_like: Any, rng: np.random.Generator, batches: int) -> list[tuple[Any, Any]]:
    """MNIST-shaped batches: a bright off-centre blob per class, normalised as the tutorial's
    ``transforms.Normalize((0.1307,), (0.3081,))``."""
    out = []
    for _ in range(batches):
        target = rng.integers(0, 10, 6)
        img = 0.1 * rng.random((6, 1, 28, 28))
        for i, t in enumerate(target):
            r, c = 4 + 2 * (t % 5), 6 + 3 * (t // 5) + rng.integers(0, 3)
            img[i, 0, r : r + 8, c : c + 6] += 0.9
        img = ((img - 0.1307) / 0.3081).astype(np.float32)
        out.append((torch_like.from_numpy(img), torch_like.from_numpy(target)))
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    F = torch_like.nn.functional
    rng = np.random.default_rng(11)
    train_loader = _loader(torch_like, rng, 3)
    test_loader = _loader(torch_like, rng, 2)
    device = torch.device("cpu")
    model = make_model(torch_like).to(device)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    values = []

    def train(epoch: int) -> None:
        model.train()
        for _batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)

            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    def test() -> None:
        with torch.no_grad():
            model.eval()
            test_loss = 0
            correct = 0
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)

                # sum up batch loss
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                # get the index of the max log-probability
                pred = output.max(1, keepdim=True)[1]
                correct += pred.eq(target.view_as(pred)).sum().item()

            test_loss /= 12
            values.extend([test_loss, correct])

    def visualize_stn() -> None:
        with torch.no_grad():
            # Get a batch of training data
            data = next(iter(test_loader))[0].to(device)

            input_tensor = data.cpu()
            transformed_input_tensor = model.stn(data).cpu()
            values.append(float((transformed_input_tensor - input_tensor).abs().sum()))
            values.append(float(transformed_input_tensor.numpy()[0, 0, 10:14, 10:14].sum()))

    for epoch in range(1, 3):
        train(epoch)
        test()
    visualize_stn()
    return values
