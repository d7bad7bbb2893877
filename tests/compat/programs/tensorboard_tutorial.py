"""The PyTorch "Visualizing Models, Data, and Training with TensorBoard" tutorial
(``intermediate/tensorboard_tutorial``), size-reduced: the Fashion-MNIST ``Net`` (``Conv2d(1, 6,
5)``, ``MaxPool2d(2, 2)``, ``Conv2d(6, 16, 5)``, ``x.view(-1, 16 * 4 * 4)``, three ``Linear``s)
trained with ``optim.SGD(lr=0.001, momentum=0.9)``; ``writer =
SummaryWriter('runs/fashion_mnist_experiment_1')`` (into a temporary directory);
``matplotlib_imshow``'s tensor steps (``img.mean(dim=0)``, ``img / 2 + 0.5``, ``img.numpy()``)
on a grid of images (``torchvision.utils.make_grid`` written out with ``torch.cat``);
``writer.add_image('four_fashion_mnist_images', img_grid)``, ``writer.add_graph(net,
images)``, ``select_n_random`` (``perm = torch.randperm(len(data))``, ``data[perm][:n]``) and
``writer.add_embedding(features, metadata=class_labels, label_img=images.unsqueeze(1))`` with
``features = images.view(-1, 28 * 28)``; the training loop's ``running_loss += loss.item()`` and
``writer.add_scalar('training loss', running_loss / 1000, epoch * len(trainloader) + i)``;
``images_to_probs`` (``_, preds_tensor = torch.max(output, 1)``, ``np.squeeze(
preds_tensor.numpy())``, ``F.softmax(el, dim=0)[i].item()`` per example); the PR curves
(``class_probs_batch = [F.softmax(el, dim=0) for el in output]``, ``torch.cat([torch.stack(batch)
for batch in class_probs])``, ``tensorboard_truth = test_label == class_index``,
``writer.add_pr_curve(classes[class_index], tensorboard_truth, tensorboard_probs,
global_step=global_step)``) and ``writer.close()``.

Random images stand in for Fashion-MNIST (28x28 -> 24x24, so ``16 * 4 * 4`` -> ``16 * 3 *
3``; 4 classes, 16 training and 8 test images); the tutorial's matplotlib figures
(``add_figure``) are left out. Compared: the losses, the probabilities, the embedding's
``tensors.tsv``/``metadata.tsv`` as written, and which files each writer call creates.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

DTYPE = "float32"
classes = ("T-shirt/top", "Trouser", "Pullover", "Dress")


def init_state(tmp_path: Path) -> dict:
    return {"root": str(tmp_path)}


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, F, optim = torch_like, torch_like.nn, torch_like.nn.functional, torch_like.optim
    # from torch.utils.tensorboard import SummaryWriter
    SummaryWriter = importlib.import_module(
        f"{torch_like.__name__}.utils.tensorboard"
    ).SummaryWriter
    root = Path(init["root"]) / torch_like.__name__
    rng = np.random.default_rng(5)
    images_np = (rng.random((24, 1, 24, 24)) * 2 - 1).astype(np.float32)
    labels_np = rng.integers(0, len(classes), 24)
    for k, lab in enumerate(labels_np):
        images_np[k, 0, 4 * lab : 4 * lab + 6, :] += 0.8
    trainloader = [
        (torch.from_numpy(images_np[i : i + 4]), torch.from_numpy(labels_np[i : i + 4]))
        for i in range(0, 16, 4)
    ]
    testloader = [
        (torch.from_numpy(images_np[i : i + 4]), torch.from_numpy(labels_np[i : i + 4]))
        for i in range(16, 24, 4)
    ]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 3 * 3, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 16 * 3 * 3)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    torch.manual_seed(0)
    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    log_dir = os.path.join(root, "runs", "fashion_mnist_experiment_1")
    writer = SummaryWriter(log_dir)
    values: list[float] = []

    def make_grid(images: Any, padding: int = 2) -> Any:
        """``torchvision.utils.make_grid`` for one row of 1-channel images (3 channels out)."""
        pad = torch.zeros(images.shape[0], 1, images.shape[2], padding)
        row = torch.cat([torch.cat([p, img], dim=2) for img, p in zip(images, pad)], dim=2)
        return row.expand(3, -1, -1)

    def matplotlib_imshow(img: Any, one_channel: bool = False) -> np.ndarray:
        if one_channel:
            img = img.mean(dim=0)
        img = img / 2 + 0.5  # unnormalize
        npimg = img.numpy()
        return npimg  # plt.imshow(npimg, cmap="Greys") in the tutorial

    dataiter = iter(trainloader)
    images, labels = next(dataiter)
    img_grid = make_grid(images)
    values.append(float(matplotlib_imshow(img_grid, one_channel=True).sum()))
    writer.add_image("four_fashion_mnist_images", img_grid / 2 + 0.5)
    writer.add_graph(net, images)
    writer.close()

    def select_n_random(data: Any, labels: Any, n: int = 100) -> tuple[Any, Any]:
        """Selects n random datapoints and their corresponding labels from a dataset"""
        assert len(data) == len(labels)
        perm = torch.randperm(len(data))
        return data[perm][:n], labels[perm][:n]

    data, targets = torch.from_numpy(images_np[:, 0]), torch.from_numpy(labels_np)
    images, labels = select_n_random(data, targets, n=10)
    class_labels = [classes[lab] for lab in labels]
    features = images.view(-1, 24 * 24)
    writer.add_embedding(features, metadata=class_labels, label_img=images.unsqueeze(1))
    writer.close()

    def images_to_probs(net: Any, images: Any) -> tuple[np.ndarray, list]:
        """Generates predictions and corresponding probabilities from a trained network"""
        output = net(images)
        # convert output probabilities to predicted class
        _, preds_tensor = torch.max(output, 1)
        preds = np.squeeze(preds_tensor.numpy())
        return preds, [F.softmax(el, dim=0)[i].item() for i, el in zip(preds, output)]

    running_loss = 0.0
    for epoch in range(2):  # loop over the dataset multiple times
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            values.append(loss.item())
            if i % 2 == 1:  # every 1000 mini-batches in the tutorial
                writer.add_scalar("training loss", running_loss / 2, epoch * len(trainloader) + i)
                preds, probs = images_to_probs(net, inputs)
                values += probs
                running_loss = 0.0
    print("Finished Training")

    class_probs = []
    class_label = []
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            output = net(images)
            class_probs_batch = [F.softmax(el, dim=0) for el in output]
            class_probs.append(class_probs_batch)
            class_label.append(labels)
    test_probs = torch.cat([torch.stack(batch) for batch in class_probs])
    test_label = torch.cat(class_label)

    def add_pr_curve_tensorboard(
        class_index: int, test_probs: Any, test_label: Any, global_step: int = 0
    ) -> None:
        """Takes in a "class_index" from 0 to 9 and plots the corresponding precision-recall
        curve"""
        tensorboard_truth = test_label == class_index
        tensorboard_probs = test_probs[:, class_index]
        writer.add_pr_curve(
            classes[class_index], tensorboard_truth, tensorboard_probs, global_step=global_step
        )
        writer.close()

    for i in range(len(classes)):
        add_pr_curve_tensorboard(i, test_probs, test_label)
    values.append(test_probs.sum().item())

    # what the writer left on disk: the projector files as written, and the event files
    emb_dir = os.path.join(log_dir, "00000", "default")
    tensors = np.loadtxt(os.path.join(emb_dir, "tensors.tsv"), delimiter="\t")
    values += [float(tensors.shape[0]), float(tensors.shape[1]), float(tensors.sum())]
    with open(os.path.join(emb_dir, "metadata.tsv")) as f:
        meta = f.read().splitlines()
    values.append(float(sum(classes.index(m) for m in meta)))
    values.append(float(os.path.exists(os.path.join(emb_dir, "sprite.png"))))
    values.append(float(os.path.exists(os.path.join(log_dir, "projector_config.pbtxt"))))
    events = [f for f in os.listdir(log_dir) if f.startswith("events.out.tfevents")]
    values.append(float(len(events)))  # one per writer reopened after close()
    return values


ATOL = 1e-5
