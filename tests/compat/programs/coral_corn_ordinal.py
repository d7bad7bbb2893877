"""Ordinal regression of tabular data with CORAL and CORN, as Raschka's ``coral-pytorch``
writes them (``coral_pytorch/layers.py``: ``CoralLayer``; ``losses.py``: ``coral_loss``,
``corn_loss``; ``dataset.py``: ``levels_from_labelbatch``, ``label_to_levels``,
``proba_to_label``, ``corn_label_from_logits``; the "CORAL MLP for tabular data" and "CORN MLP"
tutorials: the ``MLP``, the ``Dataset`` over the cement-strength table and
``compute_mae_and_mse``), size-reduced.

The idioms kept verbatim: ``CoralLayer``'s ``Linear(size_in, 1, bias=False)`` plus the shared
rank biases ``nn.Parameter(torch.arange(num_classes - 1, 0, -1).float() / (num_classes-1))``
(broadcast over the ``K-1`` binary tasks); ``coral_loss``'s shape check and ``term1 =
(F.logsigmoid(logits)*levels + (F.logsigmoid(logits) - logits)*(1-levels))`` with
``-torch.sum(term1, dim=1)``; ``corn_loss``'s conditional training subsets ``label_mask =
y_train > i-1``, ``(y_train[label_mask] > i).to(torch.int64)``, ``logits[train_examples,
task_index]`` and the running ``losses/num_examples`` (a tensor divided by an int);
``label_to_levels`` (``label.item()``, ``[1]*int_label + [0]*(num_classes - 1 - int_label)``,
``torch.tensor(levels, dtype=dtype)``) stacked by ``levels_from_labelbatch``;
``proba_to_label``'s ``torch.sum(probas > 0.5, dim=1)`` and ``corn_label_from_logits``'s
``torch.cumprod(torch.sigmoid(logits), dim=1)``; the MLP ``Linear(bias=False)`` ->
``LeakyReLU`` -> ``Dropout(0.2)`` -> ``BatchNorm1d`` twice in a ``Sequential``; a ``Dataset``
of ``torch.tensor(X, dtype=torch.float32)`` / ``torch.tensor(y, dtype=torch.int64)`` in a
shuffling ``DataLoader`` (``torch.manual_seed``); ``compute_mae_and_mse`` under
``torch.no_grad()`` (``targets.float()``, ``torch.sum(torch.abs(predicted_labels -
targets))``, float accumulators divided by the example count).

Changed: 5 features, 5 ordinal classes, hidden sizes 16 and 12, 40 synthetic rows in
batches of 8, two epochs per model; float32 as the tutorials.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
IN, NUM_CLASSES, H1, H2, N_ROWS, BATCH, EPOCHS = 5, 5, 16, 12, 40, 8, 2


def make_model(torch_like: Any, corn: bool = False) -> Any:
    torch = torch_like

    class CoralLayer(torch.nn.Module):
        def __init__(self, size_in, num_classes, preinit_bias=True):
            super().__init__()
            self.size_in, self.size_out = size_in, 1
            self.coral_weights = torch.nn.Linear(self.size_in, 1, bias=False)
            if preinit_bias:
                self.coral_bias = torch.nn.Parameter(
                    torch.arange(num_classes - 1, 0, -1).float() / (num_classes - 1)
                )
            else:
                self.coral_bias = torch.nn.Parameter(torch.zeros(num_classes - 1).float())

        def forward(self, x):
            return self.coral_weights(x) + self.coral_bias

    class MLP(torch.nn.Module):
        def __init__(self, in_features, num_classes, num_hidden_1=300, num_hidden_2=300):
            super().__init__()
            self.my_network = torch.nn.Sequential(
                # 1st hidden layer
                torch.nn.Linear(in_features, num_hidden_1, bias=False),
                torch.nn.LeakyReLU(),
                torch.nn.Dropout(0.2),
                torch.nn.BatchNorm1d(num_hidden_1),
                # 2nd hidden layer
                torch.nn.Linear(num_hidden_1, num_hidden_2, bias=False),
                torch.nn.LeakyReLU(),
                torch.nn.Dropout(0.2),
                torch.nn.BatchNorm1d(num_hidden_2),
            )
            if corn:
                self.fc = torch.nn.Linear(num_hidden_2, num_classes - 1)
            else:
                self.fc = CoralLayer(size_in=num_hidden_2, num_classes=num_classes)

        def forward(self, x):
            x = self.my_network(x)
            logits = self.fc(x)
            if corn:
                return logits
            probas = torch.sigmoid(logits)
            return logits, probas

    return MLP(IN, NUM_CLASSES, H1, H2)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional

    def coral_loss(logits, levels, importance_weights=None, reduction="mean"):
        if not logits.shape == levels.shape:
            raise ValueError(
                "Please ensure that logits (%s) has the same shape as levels (%s). "  # noqa: UP031
                % (logits.shape, levels.shape)
            )
        term1 = F.logsigmoid(logits) * levels + (F.logsigmoid(logits) - logits) * (1 - levels)
        if importance_weights is not None:
            term1 *= importance_weights
        val = -torch.sum(term1, dim=1)
        if reduction == "mean":
            loss = torch.mean(val)
        elif reduction == "sum":
            loss = torch.sum(val)
        elif reduction is None:
            loss = val
        else:
            s = (
                'Invalid value for `reduction`. Should be "mean", "sum", or None. Got %s'  # noqa: UP031
                % reduction
            )
            raise ValueError(s)
        return loss

    def corn_loss(logits, y_train, num_classes):
        sets = []
        for i in range(num_classes - 1):
            label_mask = y_train > i - 1
            label_tensor = (y_train[label_mask] > i).to(torch.int64)
            sets.append((label_mask, label_tensor))
        num_examples = 0
        losses = 0.0
        for task_index, s in enumerate(sets):
            train_examples = s[0]
            train_labels = s[1]
            if len(train_labels) < 1:
                continue
            num_examples += len(train_labels)
            pred = logits[train_examples, task_index]
            loss = -torch.sum(
                F.logsigmoid(pred) * train_labels + (F.logsigmoid(pred) - pred) * (1 - train_labels)
            )
            losses += loss
        return losses / num_examples

    def label_to_levels(label, num_classes, dtype=torch.float32):
        if not label <= num_classes - 1:
            raise ValueError("Class label must be smaller or equal to %d (num_classes-1). Got %d."  # noqa: UP031
                             % (num_classes - 1, label))  # fmt: skip
        if isinstance(label, torch.Tensor):
            int_label = label.item()
        else:
            int_label = label
        levels = [1] * int_label + [0] * (num_classes - 1 - int_label)
        levels = torch.tensor(levels, dtype=dtype)
        return levels

    def levels_from_labelbatch(labels, num_classes, dtype=torch.float32):
        levels = []
        for label in labels:
            levels_from_label = label_to_levels(label=label, num_classes=num_classes, dtype=dtype)
            levels.append(levels_from_label)
        levels = torch.stack(levels)
        return levels

    def proba_to_label(probas):
        predict_levels = probas > 0.5
        predicted_labels = torch.sum(predict_levels, dim=1)
        return predicted_labels

    def corn_label_from_logits(logits):
        probas = torch.sigmoid(logits)
        probas = torch.cumprod(probas, dim=1)
        predict_levels = probas > 0.5
        predicted_labels = torch.sum(predict_levels, dim=1)
        return predicted_labels

    class MyDataset(torch.utils.data.Dataset):
        def __init__(self, feature_array, label_array, dtype=np.float32):
            self.features = torch.tensor(feature_array, dtype=torch.float32)
            self.labels = torch.tensor(label_array, dtype=torch.int64)

        def __getitem__(self, index):
            inputs = self.features[index]
            label = self.labels[index]
            return inputs, label

        def __len__(self):
            return self.labels.shape[0]

    rng = np.random.default_rng(5)
    X = rng.standard_normal((N_ROWS, IN)).astype(np.float32)
    score = X @ np.array([1.0, -0.5, 0.8, 0.3, 0.0]) + 0.3 * rng.standard_normal(N_ROWS)
    y = np.digitize(score, np.quantile(score, [0.2, 0.4, 0.6, 0.8]))
    DEVICE = torch.device("cpu")

    def compute_mae_and_mse(model, data_loader, device, corn):
        with torch.no_grad():
            mae, mse, acc, num_examples = 0.0, 0.0, 0.0, 0  # noqa: F841
            for i, (features, targets) in enumerate(data_loader):  # noqa: B007
                features = features.to(device)
                targets = targets.float().to(device)
                if corn:
                    predicted_labels = corn_label_from_logits(model(features)).float()
                else:
                    logits, probas = model(features)
                    predicted_labels = proba_to_label(probas).float()
                num_examples += targets.size(0)
                mae += torch.sum(torch.abs(predicted_labels - targets))
                mse += torch.sum((predicted_labels - targets) ** 2)
            mae = mae / num_examples
            mse = mse / num_examples
            return mae, mse

    values: list[float] = []
    for corn in (False, True):
        torch.manual_seed(123)
        model = make_model(torch_like, corn=corn)
        if not corn:
            load_numpy_state(torch_like, model, init)
        model.to(DEVICE)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        train_loader = torch.utils.data.DataLoader(
            dataset=MyDataset(X, y), batch_size=BATCH, shuffle=True
        )
        for epoch in range(EPOCHS):  # noqa: B007
            model = model.train()
            for batch_idx, (features, class_labels) in enumerate(train_loader):  # noqa: B007
                features = features.to(DEVICE)
                if corn:
                    logits = model(features)
                    loss = corn_loss(logits, class_labels, NUM_CLASSES)
                else:
                    levels = levels_from_labelbatch(class_labels, num_classes=NUM_CLASSES)
                    levels = levels.to(DEVICE)
                    logits, probas = model(features)
                    loss = coral_loss(logits, levels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                values.append(loss.item())
        model.eval()
        test_loader = torch.utils.data.DataLoader(MyDataset(X, y), batch_size=BATCH)
        mae, mse = compute_mae_and_mse(model, test_loader, DEVICE, corn)
        values += [mae.item(), mse.item()]
    return values
