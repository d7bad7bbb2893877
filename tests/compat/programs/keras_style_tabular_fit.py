"""A Keras-like ``fit()`` for tabular binary classification in plain PyTorch, as the many
"Keras-style training loop in PyTorch" scripts (and poutyne / torchsample-like helpers) write it,
size-reduced.

The idioms: the whole table as ``torch.utils.data.TensorDataset(X, y)``; Keras'
``validation_split`` as ``random_split(dataset, [n_train, n_val], generator=torch.Generator()
.manual_seed(seed))`` and the standardisation statistics from the training ``Subset``'s
``indices`` (``X[train_ds.indices].mean(0)``, ``.std(0, unbiased=False)``, ``clamp_min``);
``DataLoader(train_ds, batch_size=..., shuffle=True, generator=g, drop_last=True,
collate_fn=collate)`` with a ``collate_fn`` that ``zip(*batch)``-s the samples,
``torch.stack``-s and normalises the features and returns ``y.float().unsqueeze(1)``;
``len(train_dl)``; a ``Sequential`` MLP with ``nn.BatchNorm1d`` and ``nn.Dropout(0)``;
``nn.BCEWithLogitsLoss(pos_weight=...)``; ``torch.optim.RMSprop(lr, alpha=0.9, eps=1e-07,
momentum=0.9, centered=True)`` (Keras' RMSprop defaults) with
``torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=...)`` (Keras' ``clipvalue``);
a per-epoch ``history`` dict (``history["loss"].append(running / len(train_dl))``) and
``val_acc`` from ``(torch.sigmoid(logits) > 0.5).float()`` under ``torch.no_grad()``;
``ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=1, threshold=0.02,
threshold_mode="abs", cooldown=1, min_lr=1e-3)`` stepped on ``val_acc`` (its ``num_bad_epochs``
/ ``cooldown_counter`` / ``_last_lr`` read back); Keras' ``EarlyStopping(monitor="val_acc",
mode="max", min_delta, patience, restore_best_weights=True)`` written out with ``best_state =
copy.deepcopy(model.state_dict())``, ``torch.save(best_state, path)`` and ``model.load_state_dict(
torch.load(path, weights_only=True))`` after the loop, and ``predict`` under
``torch.inference_mode()`` with ``model.eval()``.

The loaders shuffle from ``torch.Generator().manual_seed(...)``: chainrule's generator
reproduces PyTorch's stream, so the batches, and with them the losses, agree. The model is
float64 and the targets ``y.float()``: the loss is float32, valued with PyTorch's roundings of
its two dtypes (see ``test_gaps_session29_b``).

Changed: the dataset is 40 NumPy rows of 5 features with a noisy linear label; 12 epochs at
most of batch 8; widths 64 -> 8.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["init_state", "make_model", "run"]

# the model is float64, but ``y.float()`` targets make the loss float32 (PyTorch gives
# binary_cross_entropy_with_logits the target's dtype): its float32 mean may differ in the
# last bit between the libraries (chainrule rounds the exact sum), so the losses and the
# weights they train agree to float32 precision
RTOL = 1e-6
ATOL = 1e-9

N, FEATURES, BATCH, EPOCHS, SEED = 40, 5, 8, 12, 7


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(FEATURES, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.0),
        nn.Linear(8, 8),
        nn.ReLU(),
        nn.Linear(8, 1),
    )


def init_state(tmp_path: Path) -> dict:
    import torch  # noqa: PLC0415 - the reference weights come from torch, as in test_programs

    from ._common import state_to_numpy  # noqa: PLC0415

    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        state = state_to_numpy(make_model(torch))
    finally:
        torch.set_default_dtype(prev)
    return {"state": state, "dir": tmp_path}


def _table() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((N, FEATURES)) * np.array([1.0, 3.0, 0.5, 10.0, 1.0]) + 2.0
    w = np.array([1.0, -0.3, 2.0, 0.05, 0.0])
    y = ((X - 2.0) @ w + 0.3 * rng.standard_normal(N) > 0).astype(np.int64)
    return X, y


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    TensorDataset = torch.utils.data.TensorDataset
    DataLoader = torch.utils.data.DataLoader
    random_split = torch.utils.data.random_split
    X_np, y_np = _table()
    X, y = as_tensor(torch, X_np), as_tensor(torch, y_np)
    dataset = TensorDataset(X, y)

    # validation_split=0.25, shuffled by a seeded generator
    n_val = int(len(dataset) * 0.25)
    n_train = len(dataset) - n_val
    train_ds, val_ds = random_split(
        dataset, [n_train, n_val], generator=torch.Generator().manual_seed(SEED)
    )
    mean = X[train_ds.indices].mean(0)
    std = X[train_ds.indices].std(0, unbiased=False).clamp_min(1e-8)
    values: list[float] = [float(i) for i in val_ds.indices]

    def collate(batch: list) -> tuple[Any, Any]:
        xs, ys = zip(*batch)
        xb = (torch.stack(xs) - mean) / std
        return xb, torch.stack(ys).float().unsqueeze(1)

    g = torch.Generator()
    g.manual_seed(SEED + 1)
    train_dl = DataLoader(
        train_ds, batch_size=BATCH, shuffle=True, generator=g, drop_last=True, collate_fn=collate
    )
    val_dl = DataLoader(val_ds, batch_size=64, collate_fn=collate)
    values.append(len(train_dl))

    model = make_model(torch_like)
    load_numpy_state(torch, model, init["state"])
    pos_weight = (y == 0).sum() / (y == 1).sum().clamp_min(1)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight.float().reshape(1))
    optimizer = torch.optim.RMSprop(
        model.parameters(), lr=0.01, alpha=0.9, eps=1e-07, momentum=0.9, centered=True
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max",
        factor=0.5,
        patience=1,
        threshold=0.02,
        threshold_mode="abs",
        cooldown=1,
        min_lr=1e-3,
    )

    # EarlyStopping(monitor="val_acc", mode="max", min_delta=0.01, patience=4,
    #               restore_best_weights=True)
    best_acc, best_epoch, wait, patience, min_delta = -np.inf, -1, 0, 4, 0.01
    best_state = copy.deepcopy(model.state_dict())
    path = Path(init["dir"]) / f"best_{torch_like.__name__}.pt"
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "val_acc": [], "lr": []}
    stopped_epoch = EPOCHS
    for epoch in range(EPOCHS):
        model.train()
        running = 0.0
        for xb, yb in train_dl:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
            optimizer.step()
            running += loss.item()
        history["loss"].append(running / len(train_dl))

        model.eval()
        val_loss, correct, seen = 0.0, 0, 0
        with torch.no_grad():
            for xb, yb in val_dl:
                logits = model(xb)
                val_loss += criterion(logits, yb).item() * xb.size(0)
                preds = (torch.sigmoid(logits) > 0.5).float()
                correct += (preds == yb).sum().item()
                seen += xb.size(0)
        val_acc = correct / seen
        history["val_loss"].append(val_loss / seen)
        history["val_acc"].append(val_acc)
        scheduler.step(val_acc)
        history["lr"].append(optimizer.param_groups[0]["lr"])
        values.extend([scheduler.num_bad_epochs, scheduler.cooldown_counter])
        values.append(scheduler.get_last_lr()[0])

        if val_acc - best_acc > min_delta:
            best_acc, best_epoch, wait = val_acc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
            torch.save(best_state, path)
        else:
            wait += 1
            if wait >= patience:
                stopped_epoch = epoch
                break
    for key in ("loss", "val_loss", "val_acc", "lr"):
        values.extend(history[key])
    values.extend([best_acc, best_epoch, stopped_epoch])

    # the deep copy is not the live state; restore_best_weights from the saved file
    live = model.state_dict()["0.weight"]
    values.append(float((best_state["0.weight"] - live).abs().max()))
    model.load_state_dict(torch.load(path, weights_only=True))
    values.append(float((model.state_dict()["0.weight"] - best_state["0.weight"]).abs().max()))

    def predict(model: Any, X: Any) -> Any:
        model.eval()
        with torch.inference_mode():
            return torch.sigmoid(model((X - mean) / std)).squeeze(1)

    proba = predict(model, X)
    values.extend(proba.tolist())
    values.append(((proba > 0.5).long() == y).float().mean().item())
    return values
