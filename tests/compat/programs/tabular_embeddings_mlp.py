"""An entity-embedding MLP for tabular data, as fastai's ``TabularModel`` and
pytorch-tabular's category-embedding model write it, size-reduced.

One ``nn.Embedding`` per categorical column with fastai's rule of thumb ``min(50, (n + 1) //
2)`` for the width, held in an ``nn.ModuleList`` (fastai) and, keyed by column name, in an
``nn.ModuleDict`` (pytorch-tabular; the two are tied by sharing the same modules), the
embeddings ``torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)`` after
``emb_drop``, continuous columns through ``nn.BatchNorm1d(n_cont)`` then concatenated, and the
body built as a list of ``nn.Linear`` / ``nn.ReLU`` / ``nn.BatchNorm1d`` / ``nn.Dropout`` blocks
unpacked into ``nn.Sequential(*layers)``. Training as fastai's ``fit_one_cycle``: ``AdamW`` with
``torch.optim.lr_scheduler.OneCycleLR(max_lr=..., epochs=..., steps_per_epoch=...)`` stepped
per batch (its momentum cycling writes Adam's ``betas``), label-smoothed
``nn.CrossEntropyLoss(weight=class_weights, label_smoothing=0.1)``, and
``torch.nn.utils.clip_grad_norm_`` whose returned total norm is logged. The losses, the norms,
the lr and beta1 sequences, the BatchNorm running statistics and the eval-mode predictions
(``softmax(...).argmax(1)``, accuracy) are compared. Then the transfer-learning head swap:
``model.layers[-1] = nn.Linear(...)`` (``Sequential.__setitem__``), ``pop``, ``append``, slicing,
``+`` of two ``Sequential``, ``del seq[-1]``, ``insert``, a frozen body
(``requires_grad_(False)``) and a few SGD steps on the new head alone.

Dropout draws differ between the libraries, so the trained model uses ``p=0`` and the eval run
(where dropout is the identity) checks a ``p=0.5`` copy; a train-mode pass of that copy after
``torch.manual_seed`` is compared by what holds for every draw (each activation is zero or twice
the eval one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

CARDINALITIES = {"workclass": 7, "education": 12, "sex": 2}
N_CONT, LAYERS, CLASSES, ROWS, BATCH, EPOCHS = 3, (16, 8), 3, 24, 8, 2


def emb_sz_rule(n_cat: int) -> int:
    return min(50, (n_cat + 1) // 2)


def make_model(torch_like: Any, ps: float = 0.0, embed_p: float = 0.0) -> Any:
    nn = torch_like.nn
    torch = torch_like

    class TabularModel(nn.Module):
        def __init__(self, emb_szs: list[tuple[int, int]], n_cont: int, out_sz: int) -> None:
            super().__init__()
            self.embeds = nn.ModuleList([nn.Embedding(ni, nf) for ni, nf in emb_szs])
            self.emb_drop = nn.Dropout(embed_p)
            self.bn_cont = nn.BatchNorm1d(n_cont)
            n_emb = sum(e.embedding_dim for e in self.embeds)
            self.n_emb, self.n_cont = n_emb, n_cont
            sizes = [n_emb + n_cont, *LAYERS]
            layers: list[Any] = []
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
                layers += [nn.Linear(n_in, n_out), nn.ReLU(inplace=True), nn.BatchNorm1d(n_out)]
                layers.append(nn.Dropout(ps))
            layers.append(nn.Linear(sizes[-1], out_sz))
            self.layers = nn.Sequential(*layers)

        def forward(self, x_cat: Any, x_cont: Any) -> Any:
            if self.n_emb != 0:
                x = [e(x_cat[:, i]) for i, e in enumerate(self.embeds)]
                x = torch.cat(x, 1)
                x = self.emb_drop(x)
            if self.n_cont != 0:
                x_cont = self.bn_cont(x_cont)
                x = torch.cat([x, x_cont], 1) if self.n_emb != 0 else x_cont
            return self.layers(x)

    emb_szs = [(n, emb_sz_rule(n)) for n in CARDINALITIES.values()]
    model = TabularModel(emb_szs, N_CONT, CLASSES)
    return model


def by_column(torch_like: Any, model: Any) -> Any:
    """pytorch-tabular's view: the same embeddings keyed by column name."""
    return torch_like.nn.ModuleDict(dict(zip(CARDINALITIES, model.embeds, strict=True)))


def make_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x_cat = np.stack([rng.integers(0, n, ROWS) for n in CARDINALITIES.values()], 1)
    x_cont = rng.standard_normal((ROWS, N_CONT)) * [1.0, 10.0, 0.1] + [0.0, 40.0, 1.0]
    y = (x_cat[:, 0] + (x_cont[:, 0] > 0)) % CLASSES
    return x_cat, x_cont, y


def new_head(
    torch_like: Any, model: Any, x_cat: Any, x_cont: Any, y: Any, rng: np.random.Generator
) -> list[float]:
    """Transfer to a binary task: swap the head in place (``model.layers[-1] = ...``), drop and
    re-add blocks of the body, freeze it, and fine-tune the head alone."""
    torch = torch_like
    nn = torch.nn
    head = nn.Linear(LAYERS[-1], 2)
    with torch.no_grad():
        head.weight.copy_(as_tensor(torch, rng.standard_normal((2, LAYERS[-1])) * 0.1))
        head.bias.zero_()
    old_head = model.layers.pop(-1)
    model.layers.append(head)
    body = model.layers[:-1]
    rebuilt = body + nn.Sequential(model.layers[-1])
    del rebuilt[-1]
    rebuilt.insert(len(rebuilt), head)
    model.layers = rebuilt
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.layers[-1].parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    criterion = nn.CrossEntropyLoss()
    target = (y > 0).long()
    values = [float(old_head.out_features), float(len(model.layers))]
    model.eval()
    for _step in range(3):
        optimizer.zero_grad()
        loss = criterion(model(x_cat, x_cont), target)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return values + [float(frozen), float(model.layers[-1] is head)]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional
    rng = np.random.default_rng(190)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    x_cat_np, x_cont_np, y_np = make_data(rng)
    x_cat = as_tensor(torch, x_cat_np, dtype=torch.long)
    x_cont = as_tensor(torch, x_cont_np)
    y = as_tensor(torch, y_np, dtype=torch.long)
    counts = torch.bincount(y, minlength=CLASSES).to(x_cont.dtype)
    class_weights = counts.sum() / (CLASSES * counts.clamp(min=1))
    criterion = nn.CrossEntropyLoss(weight=class_weights, label_smoothing=0.1)
    steps_per_epoch = ROWS // BATCH
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.05, epochs=EPOCHS, steps_per_epoch=steps_per_epoch, pct_start=0.25
    )
    columns = by_column(torch, model)
    values = [float(len(columns)), float(columns["education"].embedding_dim)]
    values += [float(e.weight.shape[1]) for e in model.embeds]
    for epoch in range(EPOCHS):
        model.train()
        order = np.random.default_rng(epoch).permutation(ROWS)
        for b in range(steps_per_epoch):
            idx = torch.tensor(order[b * BATCH : (b + 1) * BATCH])
            optimizer.zero_grad()
            out = model(x_cat[idx], x_cont[idx])
            loss = criterion(out, y[idx])
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            group = optimizer.param_groups[0]
            values += [loss.item(), norm.item(), scheduler.get_last_lr()[0], group["betas"][0]]
    values += model.bn_cont.running_mean.tolist() + model.bn_cont.running_var.tolist()
    values += [float(model.bn_cont.num_batches_tracked.item())]

    model.eval()
    with torch.no_grad():
        logits = model(x_cat, x_cont)
        preds = F.softmax(logits, dim=1).argmax(1)
        acc = (preds == y).float().mean()
        eval_loss = criterion(logits, y)
        by_name = torch.cat([columns[c](x_cat[:, i]) for i, c in enumerate(CARDINALITIES)], 1)
    values += [acc.item(), eval_loss.item(), *preds.tolist()]
    values += [by_name.sum().item()]
    sex = columns.pop("sex")  # pytorch-tabular drops a column's embedding by name
    values += [float(len(columns)), float(sex.num_embeddings), float("sex" in columns)]

    values += new_head(torch, model, x_cat, x_cont, y, rng)

    dropped = make_model(torch, ps=0.5, embed_p=0.1)
    dropped.layers[-1] = nn.Linear(LAYERS[-1], 2)
    dropped.load_state_dict(model.state_dict())
    dropped.eval()
    with torch.no_grad():
        same = (dropped(x_cat, x_cont) - model(x_cat, x_cont)).abs().max()
        hidden = dropped.layers[:3](torch.randn(4, dropped.n_emb + N_CONT))
        torch.manual_seed(0)
        drop = dropped.layers[3]
        drop.train()
        kept = drop(hidden)
    twice = (kept == 0) | ((kept - 2 * hidden).abs() < 1e-12)
    return values + [same.item(), float(bool(twice.all()))]


def check(values: list[float]) -> None:
    assert values[:5] == [3.0, 6.0, 4.0, 6.0, 1.0]  # embedding widths min(50, (n + 1) // 2)
    assert values[-2] == 0.0  # dropout is the identity in eval mode
    assert values[-1] == 1.0  # in train mode each activation is dropped or scaled by 1/(1-p)
