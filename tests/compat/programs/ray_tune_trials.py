"""The PyTorch "Hyperparameter tuning with Ray Tune" tutorial (``beginner/hyperparameter_tuning_
tutorial``) with its Ray scheduler replaced by the plain loop people write without Ray,
size-reduced: ``Net(l1=config["l1"], l2=config["l2"])``; ``train_cifar(config, ...)`` making
``optim.SGD(net.parameters(), lr=config["lr"], momentum=0.9)``, splitting the training set
with ``random_split(trainset, [test_abs, len(trainset) - test_abs])`` under a seeded
``torch.Generator`` and loading it with ``DataLoader(train_subset,
batch_size=int(config["batch_size"]), shuffle=True)``; the epoch's ``running_loss`` and
``epoch_steps``, the validation pass under ``torch.no_grad()`` (``_, predicted =
torch.max(outputs.data, 1)``, ``total += labels.size(0)``, ``correct += (predicted ==
labels).sum().item()``, ``val_loss += loss.cpu().numpy()``); the checkpoint ``{"epoch": epoch,
"net_state_dict": net.state_dict(), "optimizer_state_dict": optimizer.state_dict()}`` written
with ``torch.save`` / read with ``torch.load`` when a trial resumes; the search space
``{"l1": 2 ** np.random.randint(2, 9), ..., "lr": np.random.uniform(...),
"batch_size": choice([2, 4, 8, 16])}`` drawn from a seeded NumPy generator;
``torch.manual_seed`` per trial; the best trial picked by the lowest validation loss, its
best-epoch ``copy.deepcopy(net.state_dict())`` kept and loaded into a fresh
``Net(best_trial.config["l1"], best_trial.config["l2"])`` for ``test_accuracy``.

CIFAR-10 becomes random 3x8x8 images with class-dependent means; 10 trials -> 3, 10 epochs -> 2.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

DTYPE = "float32"


def init_state(tmp_path: Path) -> dict:
    return {"root": str(tmp_path)}


def _cifar(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 4, n)
    images = rng.normal(size=(n, 3, 8, 8)).astype(np.float32) * 0.5
    images += labels[:, None, None, None].astype(np.float32) * 0.3
    return images, labels


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, F, optim = torch_like, torch_like.nn, torch_like.nn.functional, torch_like.optim
    random_split = torch_like.utils.data.random_split
    TensorDataset = torch_like.utils.data.TensorDataset
    root = Path(init["root"]) / torch_like.__name__
    rng = np.random.default_rng(2024)
    x, y = _cifar(rng, 40)
    trainset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    xt, yt = _cifar(rng, 12)
    testset = TensorDataset(torch.from_numpy(xt), torch.from_numpy(yt))
    device = "cpu"

    class Net(nn.Module):
        def __init__(self, l1: int = 120, l2: int = 84) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 8, 2)
            self.fc1 = nn.Linear(8 * 1 * 1, l1)
            self.fc2 = nn.Linear(l1, l2)
            self.fc3 = nn.Linear(l2, 4)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    class Trial:
        def __init__(self, trial_id: int, config: dict) -> None:
            self.trial_id, self.config = trial_id, config
            self.results: list[dict] = []
            self.best_state: dict | None = None

    def train_cifar(trial: Trial, max_epochs: int, checkpoint_dir: str, values: list) -> None:
        config = trial.config
        net = Net(config["l1"], config["l2"])
        net.to(device)
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.SGD(net.parameters(), lr=config["lr"], momentum=0.9)
        start_epoch = 0
        checkpoint_path = os.path.join(checkpoint_dir, "checkpoint.pt")
        if os.path.exists(checkpoint_path):
            checkpoint_state = torch.load(checkpoint_path)
            start_epoch = checkpoint_state["epoch"] + 1
            net.load_state_dict(checkpoint_state["net_state_dict"])
            optimizer.load_state_dict(checkpoint_state["optimizer_state_dict"])
        test_abs = int(len(trainset) * 0.8)
        train_subset, val_subset = random_split(
            trainset,
            [test_abs, len(trainset) - test_abs],
            generator=torch.Generator().manual_seed(42),
        )
        trainloader = torch.utils.data.DataLoader(
            train_subset, batch_size=int(config["batch_size"]), shuffle=True, num_workers=0
        )
        valloader = torch.utils.data.DataLoader(
            val_subset, batch_size=int(config["batch_size"]), shuffle=True, num_workers=0
        )
        best_loss = float("inf")
        for epoch in range(start_epoch, max_epochs):  # loop over the dataset multiple times
            running_loss = 0.0
            epoch_steps = 0
            for i, data in enumerate(trainloader, 0):  # noqa: B007 (the tutorial's)
                inputs, labels = data
                inputs, labels = inputs.to(device), labels.to(device)
                optimizer.zero_grad()
                outputs = net(inputs)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                epoch_steps += 1
            values.append(running_loss / epoch_steps)
            # Validation loss
            val_loss = 0.0
            val_steps = 0
            total = 0
            correct = 0
            for i, data in enumerate(valloader, 0):  # noqa: B007 (the tutorial's)
                with torch.no_grad():
                    inputs, labels = data
                    inputs, labels = inputs.to(device), labels.to(device)
                    outputs = net(inputs)
                    _, predicted = torch.max(outputs.data, 1)
                    total += labels.size(0)
                    correct += (predicted == labels).sum().item()
                    loss = criterion(outputs, labels)
                    val_loss += loss.cpu().numpy()
                    val_steps += 1
            checkpoint_data = {
                "epoch": epoch,
                "net_state_dict": net.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
            }
            os.makedirs(checkpoint_dir, exist_ok=True)
            torch.save(checkpoint_data, checkpoint_path)
            result = {"loss": float(val_loss / val_steps), "accuracy": correct / total}
            trial.results.append(result)
            if result["loss"] < best_loss:
                best_loss = result["loss"]
                trial.best_state = copy.deepcopy(net.state_dict())

    def test_accuracy(net: Any) -> float:
        testloader = torch.utils.data.DataLoader(testset, batch_size=4, shuffle=False)
        correct = 0
        total = 0
        with torch.no_grad():
            for data in testloader:
                images, labels = data
                images, labels = images.to(device), labels.to(device)
                outputs = net(images)
                _, predicted = torch.max(outputs.data, 1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        return correct / total

    search = np.random.default_rng(0)
    trials = []
    values: list[float] = []
    for trial_id in range(3):
        config = {
            "l1": int(2 ** search.integers(2, 5)),
            "l2": int(2 ** search.integers(2, 5)),
            "lr": float(np.exp(search.uniform(np.log(1e-3), np.log(1e-1)))),
            "batch_size": int(search.choice([4, 8, 16])),
        }
        torch.manual_seed(trial_id)
        trial = Trial(trial_id, config)
        ckpt_dir = os.path.join(root, f"train_cifar_{trial_id:05d}")
        train_cifar(trial, 1, ckpt_dir, values)
        train_cifar(trial, 2, ckpt_dir, values)  # resumed from the checkpoint, as Ray restores
        values += [r["loss"] for r in trial.results] + [r["accuracy"] for r in trial.results]
        trials.append(trial)

    best_trial = min(trials, key=lambda t: min(r["loss"] for r in t.results))
    best_trained_model = Net(best_trial.config["l1"], best_trial.config["l2"])
    best_trained_model.to(device)
    best_trained_model.load_state_dict(best_trial.best_state)
    values.append(float(best_trial.trial_id))
    values.append(test_accuracy(best_trained_model))
    return values
