"""Cheng et al. 2016 "Wide & Deep Learning for Recommender Systems" as jrzaurin/pytorch-widedeep
(``models/tabular/linear/wide.py``, ``models/tabular/mlp/tab_mlp.py``, ``models/wide_deep.py``,
``training/trainer.py``, ``preprocessing/wide_preprocessor.py``) writes it, size-reduced, with the
paper's FTRL-like sparse update for the wide part as Adagrad on sparse gradients.

The idioms: ``Wide`` (``nn.Embedding(input_dim + 1, pred_dim, padding_idx=0)`` over the one-hot
and crossed-column ids, ``_reset_parameters`` with ``nn.init.kaiming_uniform_(...,
a=math.sqrt(5))``, ``nn.init._calculate_fan_in_and_fan_out`` and ``nn.init.uniform_(self.bias,
-bound, bound)``,
``self.wide_linear(X.long()).sum(dim=1) + self.bias``), here with ``sparse=True`` so the table's
gradient is a sparse COO tensor (``weight.grad.is_sparse``, ``coalesce()``, ``_indices()``);
``TabMlp``'s ``nn.ModuleDict({"emb_layer_" + col: nn.Embedding(val + 1, dim,
padding_idx=0)})`` read with ``X[:, self.column_idx[col]].long()``, the continuous columns
``X[:, cont_idx].float()`` through ``nn.BatchNorm1d``, and a ``nn.Sequential`` of named dense
layers (``add_module("dense_layer_{}".format(i), ...)``); ``WideDeep``'s ``out =
self.wide(X["wide"])`` and ``out.add_(self.deeptabular(X["deeptabular"]))``; the
``MultipleOptimizer`` dict (``optim.Adagrad`` with ``lr_decay`` and
``initial_accumulator_value`` for the wide part, ``optim.AdamW`` for the deep part) with a
``StepLR`` per part; ``F.binary_cross_entropy_with_logits(y_pred, y.view(-1, 1))`` and the
accuracy of ``torch.round(torch.sigmoid(y_pred))``; ``WidePreprocessor``'s id encoding of
crossed columns (written with NumPy here).

Changed: the adult census data -> 12 NumPy rows of 3 categorical and 2 continuous columns
with one crossed column; embeddings 3, MLP (8, 4), no dropout; 4 steps of one batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CAT_COLS = {"education": 4, "relationship": 3, "workclass": 5}
CONT_COLS = ["age", "hours"]
WIDE_DIM = 4 + 3 + 12  # education, relationship one-hots and the education x workclass cross
EMB_DIM, MLP = 3, (8, 4)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Wide(nn.Module):
        def __init__(self, input_dim: int, pred_dim: int = 1) -> None:
            super().__init__()
            self.input_dim = input_dim
            self.pred_dim = pred_dim
            # Embeddings: val + 1 because 0 is reserved for padding/unseen cateogories.
            self.wide_linear = nn.Embedding(input_dim + 1, pred_dim, padding_idx=0, sparse=True)
            # (Sum(Embedding) + bias) is equivalent to (OneHotVector + Linear)
            self.bias = nn.Parameter(torch.zeros(pred_dim))
            self._reset_parameters()

        def _reset_parameters(self) -> None:
            nn.init.kaiming_uniform_(self.wide_linear.weight, a=math.sqrt(5))
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.wide_linear.weight)
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, X: Any) -> Any:
            out = self.wide_linear(X.long()).sum(dim=1) + self.bias
            return out

    class TabMlp(nn.Module):
        def __init__(self, column_idx: dict) -> None:
            super().__init__()
            self.column_idx = column_idx
            self.embed_input = [(col, val, EMB_DIM) for col, val in CAT_COLS.items()]
            self.embed_layers = nn.ModuleDict(
                {
                    "emb_layer_" + col: nn.Embedding(val + 1, dim, padding_idx=0)
                    for col, val, dim in self.embed_input
                }
            )
            self.cont_norm = nn.BatchNorm1d(len(CONT_COLS))
            dims = [len(CAT_COLS) * EMB_DIM + len(CONT_COLS), *MLP]
            self.mlp = nn.Sequential()
            for i in range(1, len(dims)):
                self.mlp.add_module(
                    "dense_layer_{}".format(i - 1),  # noqa: UP032 (as in the library)
                    nn.Sequential(nn.Linear(dims[i - 1], dims[i]), nn.ReLU(inplace=True)),
                )
            self.pred_layer = nn.Linear(dims[-1], 1)

        def forward(self, X: Any) -> Any:
            x = [
                self.embed_layers["emb_layer_" + col](X[:, self.column_idx[col]].long())
                for col, _, _ in self.embed_input
            ]
            x_emb = torch.cat(x, 1)
            cont_idx = [self.column_idx[col] for col in CONT_COLS]
            x_cont = self.cont_norm(X[:, cont_idx].float().to(x_emb.dtype))
            return self.pred_layer(self.mlp(torch.cat([x_emb, x_cont], 1)))

    class WideDeep(nn.Module):
        def __init__(self, wide: Any, deeptabular: Any) -> None:
            super().__init__()
            self.wide = wide
            self.deeptabular = deeptabular

        def forward(self, X: dict) -> Any:
            out = self.wide(X["wide"])
            out.add_(self.deeptabular(X["deeptabular"]))
            return out

    column_idx = {c: i for i, c in enumerate([*CAT_COLS, *CONT_COLS])}
    return WideDeep(Wide(WIDE_DIM), TabMlp(column_idx))


class MultipleOptimizer:
    def __init__(self, opts: dict) -> None:
        self._optimizers = opts

    def zero_grad(self) -> None:
        for _, op in self._optimizers.items():
            op.zero_grad()

    def step(self) -> None:
        for _, op in self._optimizers.items():
            op.step()


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cats = {c: rng.integers(1, v + 1, n) for c, v in CAT_COLS.items()}
    cont = rng.standard_normal((n, 2)) * [10.0, 5.0] + [40.0, 38.0]
    # WidePreprocessor: one id per value of each wide column and of the crossed column
    edu, rel, work = cats["education"], cats["relationship"], cats["workclass"]
    cross = (edu - 1) * 3 + (work - 1) % 3 + 1
    wide = np.stack([edu, 4 + rel, 7 + cross], 1)
    deep = np.concatenate([np.stack(list(cats.values()), 1), cont], 1)
    y = ((edu > 2) ^ (rel == 1)).astype(np.float64)
    return wide, deep, y


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(40)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    wide_opt = torch.optim.Adagrad(
        model.wide.parameters(), lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1
    )
    deep_opt = torch.optim.AdamW(model.deeptabular.parameters(), lr=0.01)
    optimizer = MultipleOptimizer({"wide": wide_opt, "deeptabular": deep_opt})
    schedulers = {
        "wide": torch.optim.lr_scheduler.StepLR(wide_opt, step_size=2),
        "deeptabular": torch.optim.lr_scheduler.StepLR(deep_opt, step_size=3, gamma=0.5),
    }
    wide, deep, y = _data(rng, 12)
    X = {"wide": torch.from_numpy(wide), "deeptabular": as_tensor(torch, deep)}
    y = torch.from_numpy(y)
    values: list[float] = []
    model.train()
    for _epoch in range(4):
        optimizer.zero_grad()
        y_pred = model(X)
        loss = F.binary_cross_entropy_with_logits(y_pred, y.view(-1, 1))
        loss.backward()
        grad = model.wide.wide_linear.weight.grad
        assert grad.is_sparse
        values.append(float(grad.coalesce()._indices().numel()))
        optimizer.step()
        for _, sc in schedulers.items():
            sc.step()
        acc = (torch.round(torch.sigmoid(y_pred)).view(-1) == y).float().mean()
        values += [loss.item(), acc.item()]
    values += [g["lr"] for opt in (wide_opt, deep_opt) for g in opt.param_groups]
    model.eval()
    with torch.no_grad():
        preds = torch.sigmoid(model(X)).squeeze(1)
    values += preds.tolist() + model.wide.wide_linear.weight[:3].flatten().tolist()
    values.append(wide_opt.state_dict()["state"][0]["sum"].sum().item())
    return values
