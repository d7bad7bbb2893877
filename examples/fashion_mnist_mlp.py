"""An MLP on Fashion-MNIST with the Trainer, early stopping and a plateau schedule.

784-256-128-10 with ReLU, Adam, mini-batches of 128; the learning rate halves whenever the
validation loss stops improving (ReduceLROnPlateau), and training stops (restoring the best
weights) once it has not improved for a few epochs. Falls back to MNIST-1D when the
Fashion-MNIST files are absent (``apt-get install dataset-fashion-mnist``).

Run: ``python examples/fashion_mnist_mlp.py`` (``--quick``: 2,000 images, 2 epochs).
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import Standardize
from chainrule.data.datasets import load_data
from chainrule.train import EarlyStopping, Trainer
from chainrule.utils.data import DataLoader, TensorDataset

QUICK = "--quick" in sys.argv
cr.manual_seed(0)

try:
    x, y, x_test, y_test, classes = load_data("fashion-mnist")
    name = "Fashion-MNIST"
except (RuntimeError, FileNotFoundError, OSError):
    x, y, x_test, y_test, classes = load_data("mnist1d")
    name = "MNIST-1D (Fashion-MNIST files not found)"
if QUICK:
    x, y, x_test, y_test = x[:2200], y[:2200], x_test[:1000], y_test[:1000]

# hold out 10% of the training set for validation; the test set stays untouched
perm = np.random.default_rng(0).permutation(len(x))
n_val = len(x) // 10
val, train = perm[:n_val], perm[n_val:]
scaler = Standardize()  # fitted on the training split only
x_train = scaler.fit_transform(x[train])
x_val, x_test = scaler.transform(x[val]), scaler.transform(x_test)


def loader(a, b, shuffle):
    return DataLoader(TensorDataset(cr.tensor(a), cr.tensor(b)), batch_size=128, shuffle=shuffle)


model = nn.Sequential(
    nn.Linear(x_train.shape[1], 256),
    nn.ReLU(),
    nn.Linear(256, 128),
    nn.ReLU(),
    nn.Linear(128, len(classes)),
)
optimizer = cr.optim.Adam(model.parameters(), lr=1e-3)
plateau = cr.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
trainer = Trainer(
    model,
    nn.CrossEntropyLoss(),
    optimizer,
    scheduler=plateau,
    callbacks=[EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)],
)
print(f"{name}: {len(train)} train / {n_val} val / {len(x_test)} test")
trainer.fit(
    loader(x_train, y[train], True), loader(x_val, y[val], False), epochs=2 if QUICK else 30
)
test = trainer.evaluate(loader(x_test, y_test, False))
print(f"test accuracy {100 * test['acc']:.2f}%")
