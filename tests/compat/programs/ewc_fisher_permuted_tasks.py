"""moskomule/ewc.pytorch (``utils.py``'s ``EWC``, ``normal_train``, ``ewc_train``, ``test``
and ``variable``; ``demo.ipynb``'s ``MLP`` and ``PermutedMNIST``), size-reduced: elastic weight
consolidation (Kirkpatrick et al.) over a sequence of permuted-input tasks.

The idioms kept: ``variable(t, use_cuda=True, **kwargs)`` wrapping ``Variable(t, **kwargs)``
after a ``torch.cuda.is_available()`` check; the ``EWC`` object (``self.params = {n: p for n, p
in self.model.named_parameters() if p.requires_grad}``, ``for n, p in deepcopy(self.params)
.items(): p.data.zero_()`` as the zeroed Fisher buffers, ``self._means[n] = variable(p.data)``);
``_diag_fisher`` in ``model.eval()`` with one sample at a time (``self.model.zero_grad()``,
``output = self.model(input).view(1, -1)``, the model's own prediction as label
``output.max(1)[1].view(-1)``, ``F.nll_loss(F.log_softmax(output, dim=1), label)``,
``precision_matrices[n].data += p.grad.data ** 2 / len(self.dataset)``); ``penalty`` (``loss =
0``, ``loss += (self._precision_matrices[n] * (p - self._means[n]) ** 2).sum()``); ``ewc_train``
(``F.cross_entropy(output, target) + importance * ewc.penalty(model)``, ``epoch_loss +=
loss.item()``, ``epoch_loss / len(data_loader)``); ``test`` (``(F.softmax(output, dim=1).max(
dim=1)[1] == target).data.sum()`` summed as tensors, then ``correct / len(data_loader.dataset)``);
the demo's old-task replay (``old_tasks = old_tasks + task_loader.dataset.get_sample(...)``,
the EWC object rebuilt from the replay set after each task) and ``PermutedMNIST``'s
``torch.stack([img.float().view(-1)[self.perm] / 255 for img in data])``.

Changed: MNIST 28x28 -> 16 random uint8 "pixels", hidden 200 -> 8, 3 tasks of 24 samples,
batch 128 -> 8, 1 epoch per task; ``random.sample`` of the replay set -> its first samples.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # PermutedMNIST builds its inputs with ``img.float()``

N_IN, HIDDEN, N_CLASSES, N_TASKS, N_SAMPLES, BATCH, SAMPLE_SIZE = 16, 8, 4, 3, 24, 8, 6


def make_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    class MLP(nn.Module):
        def __init__(self, hidden_size=HIDDEN):  # noqa: ANN001
            super(MLP, self).__init__()  # noqa: UP008 (as in the repository)
            self.fc1 = nn.Linear(N_IN, hidden_size)
            self.fc2 = nn.Linear(hidden_size, hidden_size)
            self.fc3 = nn.Linear(hidden_size, N_CLASSES)

        def forward(self, input: Any) -> Any:
            x = F.relu(self.fc1(input))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return MLP()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    Variable = torch.autograd.Variable
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader

    def variable(t, use_cuda=True, **kwargs):  # noqa: ANN001, ANN202
        if torch.cuda.is_available() and use_cuda:
            t = t.cuda()
        return Variable(t, **kwargs)

    class EWC(object):  # noqa: UP004
        def __init__(self, model, dataset: list):  # noqa: ANN001
            self.model = model
            self.dataset = dataset

            self.params = {n: p for n, p in self.model.named_parameters() if p.requires_grad}
            self._means = {}
            self._precision_matrices = self._diag_fisher()

            for n, p in deepcopy(self.params).items():
                self._means[n] = variable(p.data)

        def _diag_fisher(self):  # noqa: ANN202
            precision_matrices = {}
            for n, p in deepcopy(self.params).items():
                p.data.zero_()
                precision_matrices[n] = variable(p.data)

            self.model.eval()
            for input in self.dataset:
                self.model.zero_grad()
                input = variable(input)
                output = self.model(input).view(1, -1)
                label = output.max(1)[1].view(-1)
                loss = F.nll_loss(F.log_softmax(output, dim=1), label)
                loss.backward()

                for n, p in self.model.named_parameters():
                    precision_matrices[n].data += p.grad.data**2 / len(self.dataset)

            precision_matrices = {n: p for n, p in precision_matrices.items()}
            return precision_matrices

        def penalty(self, model):  # noqa: ANN001, ANN202
            loss = 0
            for n, p in model.named_parameters():
                _loss = self._precision_matrices[n] * (p - self._means[n]) ** 2
                loss += _loss.sum()
            return loss

    def normal_train(model, optimizer, data_loader):  # noqa: ANN001, ANN202
        model.train()
        epoch_loss = 0
        for input, target in data_loader:
            input, target = variable(input), variable(target)
            optimizer.zero_grad()
            output = model(input)
            loss = F.cross_entropy(output, target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        return epoch_loss / len(data_loader)

    def ewc_train(model, optimizer, data_loader, ewc, importance):  # noqa: ANN001, ANN202
        model.train()
        epoch_loss = 0
        for input, target in data_loader:
            input, target = variable(input), variable(target)
            optimizer.zero_grad()
            output = model(input)
            loss = F.cross_entropy(output, target) + importance * ewc.penalty(model)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        return epoch_loss / len(data_loader)

    def test(model, data_loader):  # noqa: ANN001, ANN202
        model.eval()
        correct = 0
        for input, target in data_loader:
            input, target = variable(input), variable(target)
            output = model(input)
            correct += (F.softmax(output, dim=1).max(dim=1)[1] == target).data.sum()
        return correct / len(data_loader.dataset)

    class PermutedMNIST(Dataset):
        def __init__(self, images: np.ndarray, labels: np.ndarray, permute_idx: Any) -> None:
            data = torch.from_numpy(images)
            self.data = torch.stack([img.float().view(-1)[permute_idx] / 255 for img in data])
            self.targets = torch.from_numpy(labels)

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, index: int) -> tuple[Any, Any]:
            return self.data[index], self.targets[index]

        def get_sample(self, sample_size: int) -> list:
            return [img for img in self.data[:sample_size]]

    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, size=(N_SAMPLES, 4, 4), dtype=np.uint8)
    weights = rng.normal(size=(N_IN, N_CLASSES))
    labels = (images.reshape(N_SAMPLES, -1) / 255.0 @ weights).argmax(1).astype(np.int64)
    perms = [torch.from_numpy(rng.permutation(N_IN)) for _ in range(N_TASKS)]

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    if torch.cuda.is_available():
        model.cuda()
    optimizer = torch.optim.SGD(params=model.parameters(), lr=0.5)
    importance = 1000.0

    torch.manual_seed(3)
    train_loader = [
        DataLoader(PermutedMNIST(images, labels, p), batch_size=BATCH, shuffle=True) for p in perms
    ]
    values: list[float] = []
    old_tasks: list = []
    for task in range(N_TASKS):
        if task == 0:
            values.append(normal_train(model, optimizer, train_loader[task]))
        else:
            old_tasks = old_tasks + train_loader[task - 1].dataset.get_sample(SAMPLE_SIZE)
            ewc = EWC(model, old_tasks)
            values.append(float(sum(m.sum() for m in ewc._precision_matrices.values())))
            values.append(ewc.penalty(model).item())
            values.append(ewc_train(model, optimizer, train_loader[task], ewc, importance))
            values.append(ewc.penalty(model).item())
        for sub_task in range(task + 1):
            values.append(float(test(model, train_loader[sub_task])))
    return values
