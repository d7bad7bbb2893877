"""pytorch/examples ``siamese_network`` (``main.py``), size-reduced: ``SiameseNetwork`` wraps a
ResNet whose ``conv1`` is overwritten for 1-channel input, reads ``self.resnet.fc.in_features``,
drops the last layer with ``torch.nn.Sequential(*(list(self.resnet.children())[:-1]))``, and
initialises with ``self.resnet.apply(self.init_weights)`` (``xavier_uniform_``,
``m.bias.data.fill_(0.01)``); ``forward_once`` flattens with ``output.view(output.size()[0], -1)``,
``forward`` concatenates the two embeddings and applies ``fc`` and ``Sigmoid``. ``train`` uses
``nn.BCELoss`` on ``model(images_1, images_2).squeeze()``, ``test`` sums the loss
(``criterion(outputs, targets).sum().item()``) and counts ``torch.where(outputs > 0.5, 1, 0)``
matches with ``pred.eq(targets.view_as(pred)).sum().item()``; the optimizer is ``Adadelta`` with
a ``StepLR(step_size=1, gamma)`` schedule.

``torchvision.models.resnet18`` is written out here as a two-stage ResNet with the same module
names and child order (``conv1, bn1, relu, maxpool, layer1..., avgpool, fc``; ``BasicBlock`` with
a ``downsample`` ``Sequential``); the MNIST pair dataset (``APP_MATCHER``, random pairs) becomes
fixed NumPy pairs; widths 64..512 -> 4/8, ``fc`` 256 -> 8, 28x28 -> 12x12 images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _resnet(torch_like: Any) -> Any:
    """A small ``torchvision.models.resnet18(weights=None)`` (same structure, two stages)."""
    nn = torch_like.nn

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out

    class ResNet(nn.Module):
        def __init__(self, widths: tuple[int, int] = (4, 8), num_classes: int = 10) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = nn.Sequential(BasicBlock(widths[0], widths[0]))
            downsample = nn.Sequential(
                nn.Conv2d(widths[0], widths[1], 1, 2, bias=False), nn.BatchNorm2d(widths[1])
            )
            self.layer2 = nn.Sequential(BasicBlock(widths[0], widths[1], 2, downsample))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(widths[1] * BasicBlock.expansion, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer2(self.layer1(x))
            x = torch_like.flatten(self.avgpool(x), 1)
            return self.fc(x)

    return ResNet()


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class SiameseNetwork(nn.Module):
        """
        Siamese network for image similarity estimation.
        The network is composed of two identical networks, one for each input.
        The output of each network is concatenated and passed to a linear layer.
        The output of the linear layer passed through a sigmoid function.
        """

        def __init__(self) -> None:
            super(SiameseNetwork, self).__init__()  # noqa: UP008 (as in the example)
            # get resnet model
            self.resnet = _resnet(torch_like)

            # over-write the first conv layer to be able to read MNIST images
            # as resnet18 reads (3,x,x) where 3 is RGB channels
            # whereas MNIST has (1,x,x) where 1 is a gray-scale channel
            self.resnet.conv1 = nn.Conv2d(
                1, 4, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False
            )
            self.fc_in_features = self.resnet.fc.in_features

            # remove the last layer of resnet18 (linear layer which is before avgpool layer)
            self.resnet = torch.nn.Sequential(*(list(self.resnet.children())[:-1]))

            # add linear layers to compare between the features of the two images
            self.fc = nn.Sequential(
                nn.Linear(self.fc_in_features * 2, 8),
                nn.ReLU(inplace=True),
                nn.Linear(8, 1),
            )

            self.sigmoid = nn.Sigmoid()

            # initialize the weights
            self.resnet.apply(self.init_weights)
            self.fc.apply(self.init_weights)

        def init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                m.bias.data.fill_(0.01)

        def forward_once(self, x: Any) -> Any:
            output = self.resnet(x)
            output = output.view(output.size()[0], -1)
            return output

        def forward(self, input1: Any, input2: Any) -> Any:
            # get two images' features
            output1 = self.forward_once(input1)
            output2 = self.forward_once(input2)

            # concatenate both images' features
            output = torch.cat((output1, output2), 1)

            # pass the concatenation to the linear layers
            output = self.fc(output)

            # pass the out of the linear layers to sigmoid layer
            output = self.sigmoid(output)

            return output

    return SiameseNetwork()


def _pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of 12x12 "digits" (a class-dependent bar plus noise) and 1.0 when the classes match."""

    def digit(c: int) -> np.ndarray:
        img = 0.2 * rng.random((1, 12, 12))
        img[0, c : c + 3, 2:10] += 0.8
        return img

    a, b, t = [], [], []
    for i in range(n):
        c1 = int(rng.integers(0, 8))
        c2 = c1 if i % 2 == 0 else int((c1 + rng.integers(1, 8)) % 8)
        a.append(digit(c1))
        b.append(digit(c2))
        t.append(float(c1 == c2))
    return np.stack(a), np.stack(b), np.array(t)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    StepLR = torch_like.optim.lr_scheduler.StepLR
    rng = np.random.default_rng(31)
    device = torch.device("cpu")

    def loader(n: int, batch_size: int) -> list[tuple[Any, Any, Any]]:
        a, b, t = _pairs(rng, n)
        return [
            (
                torch.from_numpy(a[i : i + batch_size]).float(),
                torch.from_numpy(b[i : i + batch_size]).float(),
                torch.from_numpy(t[i : i + batch_size]).float(),
            )
            for i in range(0, n, batch_size)
        ]

    train_loader, test_loader = loader(12, 4), loader(8, 4)
    model = make_model(torch_like).to(device)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    values = []

    def train(model: Any, device: Any, train_loader: Any, optimizer: Any, epoch: int) -> None:
        model.train()

        # we aren't using `TripletLoss` as the MNIST dataset is simple, so `BCELoss` can do the
        # trick.
        criterion = nn.BCELoss()

        for _batch_idx, (images_1, images_2, targets) in enumerate(train_loader):
            images_1, images_2, targets = (
                images_1.to(device),
                images_2.to(device),
                targets.to(device),
            )
            optimizer.zero_grad()
            outputs = model(images_1, images_2).squeeze()
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    def test(model: Any, device: Any, test_loader: Any) -> None:
        model.eval()
        test_loss = 0
        correct = 0

        # we aren't using `TripletLoss` as the MNIST dataset is simple, so `BCELoss` can do the
        # trick.
        criterion = nn.BCELoss()

        with torch.no_grad():
            for images_1, images_2, targets in test_loader:
                images_1, images_2, targets = (
                    images_1.to(device),
                    images_2.to(device),
                    targets.to(device),
                )
                outputs = model(images_1, images_2).squeeze()
                test_loss += criterion(outputs, targets).sum().item()  # sum up batch loss
                pred = torch.where(outputs > 0.5, 1, 0)  # get the index of the max log-probability
                correct += pred.eq(targets.view_as(pred)).sum().item()

        test_loss /= len(test_loader) * 4
        values.extend([test_loss, correct])

    for epoch in range(1, 3):
        train(model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
        scheduler.step()
    values.append(optimizer.param_groups[0]["lr"])
    return values
