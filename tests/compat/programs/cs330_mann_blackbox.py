"""Stanford CS330 (Deep Multi-Task and Meta Learning) homework 1, "Data Processing and
Black-Box Meta-Learning" (``hw1.py``, ``load_data.py``), size-reduced: the memory-augmented
(LSTM) black-box meta-learner on N-way K-shot tasks.

The idioms: ``DataGenerator(IterableDataset)`` whose ``_sample`` stacks ``(K+1, N, 784)``
images with ``np.eye`` one-hot labels, shuffles the query set with a permutation and returns
``(torch.from_numpy(images), torch.from_numpy(labels))``, its ``__iter__`` a ``while True:
yield self._sample()``, wrapped as ``iter(torch.utils.data.DataLoader(train_iterable,
batch_size=config.meta_batch_size, num_workers=config.num_workers))`` and read with
``next(train_loader)``; ``MANN`` (``super(MANN, self).__init__()``, a nested
``initialize_weights`` with ``nn.init.xavier_uniform_(model.weight_ih_l0)`` and
``nn.init.zeros_(model.bias_hh_l0)``, two ``torch.nn.LSTM(..., batch_first=True)`` layers,
``input_labels = input_labels.clone()``, ``input_labels[:, -1, :, :] = 0``, ``torch.cat((
input_images, input_labels), dim=-1)``, ``x.reshape(B, K_1 * N, D + N)``,
``self.layer1(x.float())``, ``x.reshape(B, K_1, N, N)``); ``loss_function``
(``preds[:, -1, :, :].reshape(-1, N)`` and ``F.cross_entropy`` against the one-hot (float)
labels); ``train_step`` (``optim.zero_grad()``, ``predictions.detach(), loss.detach()``); and
the evaluation (``torch.reshape(pred, [-1, config.num_shot + 1, config.num_classes,
config.num_classes])``, ``torch.argmax(pred[:, -1, :, :], axis=2)`` with NumPy's ``axis``
spelling, ``pred.eq(l).sum().item() / (config.meta_batch_size * config.num_classes)``).

Changed: Omniglot 28x28 images -> random 16-pixel "images" (784 -> 16) drawn per class from a
seeded NumPy generator; hidden_dim 128 -> 8; N=3, K=1, meta-batch 2; 25000 steps -> 4 with an
evaluation every 2; ``pin_memory=True`` dropped (PyTorch warns without an accelerator);
the TensorBoard writer becomes a list.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
D = 16


def _mann(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class MANN(nn.Module):
        def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int) -> None:
            super(MANN, self).__init__()  # noqa: UP008 (as in the homework)

            def initialize_weights(model: Any) -> None:
                nn.init.xavier_uniform_(model.weight_ih_l0)
                nn.init.zeros_(model.bias_hh_l0)
                nn.init.zeros_(model.bias_ih_l0)

            self.num_classes = num_classes
            self.samples_per_class = samples_per_class
            self.layer1 = torch.nn.LSTM(num_classes + D, hidden_dim, batch_first=True)
            self.layer2 = torch.nn.LSTM(hidden_dim, num_classes, batch_first=True)
            initialize_weights(self.layer1)
            initialize_weights(self.layer2)

        def forward(self, input_images: Any, input_labels: Any) -> Any:
            """
            MANN
            Args:
                input_images: [B, K+1, N, 784] flattened images
                labels: [B, K+1, N, N] ground truth labels
            Returns:
                [B, K+1, N, N] predictions
            """
            B, K_1, N, D_ = input_images.shape
            input_labels = input_labels.clone()
            input_labels[:, -1, :, :] = 0
            x = torch.cat((input_images, input_labels), dim=-1)
            x = x.reshape(B, K_1 * N, D_ + N)
            x, _ = self.layer1(x.float())
            x, _ = self.layer2(x)
            return x.reshape(B, K_1, N, N)

        def loss_function(self, preds: Any, labels: Any) -> Any:
            """
            Computes MANN loss
            Args:
                preds: [B, K+1, N, N] network output
                labels: [B, K+1, N, N] labels
            Returns:
                scalar loss
            Note:
                Loss should only be calculated on the N test images
            """
            B, K_1, N, _ = preds.shape
            preds = preds[:, -1, :, :].reshape(-1, N)
            labels = labels[:, -1, :, :].reshape(-1, N)
            loss = F.cross_entropy(preds, labels)
            return loss

    return MANN


def make_model(torch_like: Any) -> Any:
    return _mann(torch_like)(num_classes=3, samples_per_class=2, hidden_dim=8)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    IterableDataset = torch.utils.data.IterableDataset
    config = SimpleNamespace(
        num_classes=3, num_shot=1, meta_batch_size=2, hidden_dim=8, learning_rate=1e-2,
        train_steps=4, eval_freq=2, num_workers=0,
    )  # fmt: skip
    prototypes = np.random.default_rng(330).normal(size=(12, D)).astype(np.float32)

    class DataGenerator(IterableDataset):
        """
        Data Generator capable of generating batches of Omniglot data.
        """

        def __init__(self, num_classes: int, num_samples_per_class: int, seed: int) -> None:
            self.num_samples_per_class = num_samples_per_class
            self.num_classes = num_classes
            self.dim_input = D
            self.dim_output = self.num_classes
            self.rng = np.random.default_rng(seed)

        def _sample(self) -> tuple[Any, Any]:
            K, N = self.num_samples_per_class, self.num_classes
            # Step 1: Sample N classes
            classes = self.rng.choice(len(prototypes), N, replace=False)
            # Step 2: K+1 noisy images of each class, one-hot labels
            images = prototypes[classes][None] + 0.3 * self.rng.normal(size=(K, N, D))
            labels = np.tile(np.eye(N), (K, 1, 1))
            # Step 4: Shuffle the order of examples from the query set
            perm = self.rng.permutation(N)
            images[-1], labels[-1] = images[-1][perm], labels[-1][perm]
            return (torch.from_numpy(images.astype(np.float32)),
                    torch.from_numpy(labels.astype(np.float32)))  # fmt: skip

        def __iter__(self) -> Any:
            while True:
                yield self._sample()

    def train_step(images, labels, model, optim, eval=False):  # noqa: ANN001, ANN202, A002
        predictions = model(images, labels)
        loss = model.loss_function(predictions, labels)
        if not eval:
            optim.zero_grad()
            loss.backward()
            optim.step()
        return predictions.detach(), loss.detach()

    train_iterable = DataGenerator(config.num_classes, config.num_shot + 1, seed=1)
    DataLoader = torch.utils.data.DataLoader
    train_loader = iter(DataLoader(train_iterable, batch_size=config.meta_batch_size,
                                   num_workers=config.num_workers))  # fmt: skip
    test_iterable = DataGenerator(config.num_classes, config.num_shot + 1, seed=2)
    test_loader = iter(DataLoader(test_iterable, batch_size=config.meta_batch_size,
                                  num_workers=config.num_workers))  # fmt: skip

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optim = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    values: list[float] = []
    for step in range(config.train_steps):
        i, l = next(train_loader)  # noqa: E741 (as in the homework)
        _, ls = train_step(i, l, model, optim)
        values.append(ls.item())
        if (step + 1) % config.eval_freq == 0:
            i, l = next(test_loader)  # noqa: E741
            pred, tls = train_step(i, l, model, optim, eval=True)
            pred = torch.reshape(
                pred, [-1, config.num_shot + 1, config.num_classes, config.num_classes]
            )
            pred = torch.argmax(pred[:, -1, :, :], axis=2)
            l = torch.argmax(l[:, -1, :, :], axis=2)  # noqa: E741
            acc = pred.eq(l).sum().item() / (config.meta_batch_size * config.num_classes)
            values += [tls.item(), acc]
    return values
