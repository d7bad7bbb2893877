"""The PyTorch "Deep Learning with PyTorch: A 60 Minute Blitz" tutorial, part 4 "Training a
Classifier" (``beginner/blitz/cifar10_tutorial``), size-reduced: the tutorial's ``Net``
(``nn.Conv2d(3, 6, 5)``, ``nn.MaxPool2d(2, 2)``, ``self.pool(F.relu(self.conv1(x)))``, the
flatten ``x.view(-1, 16 * 5 * 5)`` -- the part-2 "Neural Networks" spelling -- and three
``nn.Linear``s), ``nn.CrossEntropyLoss()``, ``optim.SGD(net.parameters(), lr=0.001,
momentum=0.9)``, the loop ``for i, data in enumerate(trainloader, 0)`` with ``inputs, labels =
data``, ``running_loss += loss.item()``, and the test pass (``torch.no_grad()``,
``torch.max(outputs.data, 1)``, ``(predicted == labels).sum().item()``, the per-class
accuracy dict built with ``zip``).

Sizes: CIFAR-10's 32x32 images are kept (the ``16 * 5 * 5`` flatten depends on them); 50000
images -> 16 random ones in batches of 4, two epochs; lr 0.001 -> 0.01 so the losses move.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 16 * 5 * 5)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(4)
    images = ((rng.random((16, 3, 32, 32)) - 0.5) / 0.5).astype(np.float32)  # Normalize(0.5, 0.5)
    targets = rng.integers(0, 10, 16)
    batch_size = 4
    trainloader = [
        (torch.tensor(images[i : i + batch_size]), torch.tensor(targets[i : i + batch_size]))
        for i in range(0, 16, batch_size)
    ]
    testloader = trainloader[:2]

    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    values = []
    for epoch in range(2):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # print statistics
            running_loss += loss.item()
            values.append(loss.item())
            if i % 2 == 1:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2:.3f}")
                running_loss = 0.0
    print("Finished Training")

    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images_, labels = data
            # calculate outputs by running images through the network
            outputs = net(images_)
            # the class with the highest energy is what we choose as prediction
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            values.append(outputs.sum().item())
    values.append(100 * correct // total)

    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in CLASSES}
    total_pred = {classname: 0 for classname in CLASSES}
    with torch.no_grad():
        for data in testloader:
            images_, labels = data
            outputs = net(images_)
            _, predictions = torch.max(outputs, 1)
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions, strict=True):
                if label == prediction:
                    correct_pred[CLASSES[label]] += 1
                total_pred[CLASSES[label]] += 1
    values += [correct_pred[c] for c in CLASSES] + [total_pred[c] for c in CLASSES]
    return values
