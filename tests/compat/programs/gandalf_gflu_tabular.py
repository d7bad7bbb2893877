"""GANDALF: gated adaptive network for deep automated learning of features (tabular), as
``pytorch_tabular`` writes it (``models/gandalf/gandalf.py``: ``GFLU``, ``GANDALFBackbone``,
``GANDALFModel``; ``models/common/layers/activations.py``: ``t_softmax``, ``RSoftmax``;
``models/common/layers/embeddings.py``: ``Embedding1dLayer``; ``models/common/layers/
batch_norm.py``: ``BatchNorm1d``, ``GBN``), size-reduced.

The idioms kept verbatim: the feature masks drawn per stage from ``torch.distributions.Beta(
torch.tensor([random.uniform(0.5, 10.0)]), torch.tensor([random.uniform(0.5, 10.0)]))
.sample((self.n_features_in,)).squeeze(-1)``, concatenated and reshaped into an
``nn.Parameter(feature_masks, requires_grad=True)``; ``RSoftmax.calculate_t`` (a classmethod:
``torch.exp(input_minus_maxes) == 0.0``, ``zeros_mask.sum(dim=dim, keepdim=True).float()``,
``torch.clamp(..., min=0.0, max=1.0)``, ``input_minus_maxes * (~zeros_mask).float()``,
``-torch.quantile(x_minus_maxes, q.view(-1), dim=dim, keepdim=True).detach()`` then
``t.squeeze(dim).diagonal(dim1=-2, dim2=-1) + eps``) for the learnable sparsity ``self.t``;
``t_softmax``'s ``assert (t >= 0.0).all()``, ``torch.max(input, dim=dim,
keepdim=True).values`` and ``torch.softmax(input_minus_maxes + torch.log(w), dim=dim)``
with ``w = torch.relu(input_minus_maxes + t) + 1e-8``; the check
``self.feature_mask_function.__name__ == "t_softmax"`` and ``self.t[d].relu()``; the GRU-like
stage ``h_in = self.W_in[d](torch.cat([feature * x, h], dim=-1))``, ``z``/``r`` from its two
halves, ``h = (1 - z) * h + z * h_out``; ``Embedding1dLayer``'s ``x.get("continuous",
torch.empty(0, 0))`` dict input, shape asserts, per-column ``nn.Embedding`` concatenated and
the ghost batch norm ``x.chunk(int(np.ceil(x.shape[0] / self.virtual_batch_size)), 0)``;
the head ``nn.Sequential(nn.Dropout, nn.Linear)`` plus the bias ``self.T0 =
nn.Parameter(torch.rand(output_dim), requires_grad=True)``; Adam with ``nn.MSELoss``.

Changed: 3 continuous and 2 categorical features (cardinalities 4 and 3, embeddings of 2), 3
stages, virtual batches of 8 in batches of 16, 48 synthetic rows, 6 steps; the Lightning
``BaseModel`` plumbing (``pack_output``, config objects) dropped.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_CONT, CARDS, EMB, STAGES, VBS, BATCH, N_ROWS, STEPS = 3, (4, 3), 2, 3, 8, 16, 48, 6


def _layers(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    Tensor = torch.Tensor

    def t_softmax(input: Tensor, t: Tensor = None, dim: int = -1) -> Tensor:
        if t is None:
            t = torch.tensor(0.5, device=input.device)
        assert (t >= 0.0).all()
        maxes = torch.max(input, dim=dim, keepdim=True).values
        input_minus_maxes = input - maxes

        w = torch.relu(input_minus_maxes + t) + 1e-8
        return torch.softmax(input_minus_maxes + torch.log(w), dim=dim)

    class TSoftmax(torch.nn.Module):
        def __init__(self, dim: int = -1):
            super().__init__()
            self.dim = dim

        def forward(self, input: Tensor, t: Tensor) -> Tensor:
            return t_softmax(input, t, self.dim)

    class RSoftmax(torch.nn.Module):
        def __init__(self, dim: int = -1, eps: float = 1e-8):
            super().__init__()
            self.dim = dim
            self.eps = eps
            self.tsoftmax = TSoftmax(dim=dim)

        @classmethod
        def calculate_t(cls, input: Tensor, r: Tensor, dim: int = -1, eps: float = 1e-8):
            # r represents what is the fraction of zero values that we want to have
            assert ((0.0 <= r) & (r <= 1.0)).all()

            maxes = torch.max(input, dim=dim, keepdim=True).values
            input_minus_maxes = input - maxes

            zeros_mask = torch.exp(input_minus_maxes) == 0.0
            zeros_frac = (
                zeros_mask.sum(dim=dim, keepdim=True).float() / input_minus_maxes.shape[dim]
            )

            q = torch.clamp((r - zeros_frac) / (1 - zeros_frac), min=0.0, max=1.0)
            x_minus_maxes = input_minus_maxes * (~zeros_mask).float()
            if q.ndim > 1:
                t = -torch.quantile(x_minus_maxes, q.view(-1), dim=dim, keepdim=True).detach()
                t = t.squeeze(dim).diagonal(dim1=-2, dim2=-1) + eps
            else:
                t = -torch.quantile(x_minus_maxes, q, dim=dim).detach() + eps
            return t

        def forward(self, input: Tensor, r: Tensor):
            t = RSoftmax.calculate_t(input, r, self.dim, self.eps)
            return self.tsoftmax(input, t)

    class GFLU(nn.Module):
        def __init__(self, n_features_in: int, n_stages: int, feature_mask_function=t_softmax,
                     feature_sparsity: float = 0.3, learnable_sparsity: bool = True,
                     dropout: float = 0.0):  # fmt: skip
            super().__init__()
            self.n_features_in = n_features_in
            self.n_features_out = n_features_in
            self.feature_mask_function = feature_mask_function
            self._dropout = dropout
            self.n_stages = n_stages
            self.feature_sparsity = feature_sparsity
            self.learnable_sparsity = learnable_sparsity
            self._build_network()

        def _create_feature_mask(self):
            feature_masks = torch.cat(
                [
                    torch.distributions.Beta(
                        torch.tensor([random.uniform(0.5, 10.0)]),
                        torch.tensor([random.uniform(0.5, 10.0)]),
                    )
                    .sample((self.n_features_in,))
                    .squeeze(-1)
                    for _ in range(self.n_stages)
                ]
            ).reshape(self.n_stages, self.n_features_in)
            return nn.Parameter(feature_masks, requires_grad=True)

        def _build_network(self):
            self.W_in = nn.ModuleList(
                [
                    nn.Linear(2 * self.n_features_in, 2 * self.n_features_in)
                    for _ in range(self.n_stages)
                ]  # fmt: skip
            )
            self.W_out = nn.ModuleList(
                [
                    nn.Linear(2 * self.n_features_in, self.n_features_in)
                    for _ in range(self.n_stages)
                ]  # fmt: skip
            )
            self.feature_masks = self._create_feature_mask()
            if self.feature_mask_function.__name__ == "t_softmax":
                t = RSoftmax.calculate_t(
                    self.feature_masks, r=torch.tensor([self.feature_sparsity]), dim=-1
                )
                self.t = nn.Parameter(t, requires_grad=self.learnable_sparsity)
            self.dropout = nn.Dropout(self._dropout) if self._dropout > 0 else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = x
            for d in range(self.n_stages):
                if self.feature_mask_function.__name__ == "t_softmax":
                    feature = self.feature_mask_function(self.feature_masks[d], self.t[d].relu())
                else:
                    feature = self.feature_mask_function(self.feature_masks[d])
                # h_in = self.W_in[d](torch.cat([feature * x, h], dim=-1))
                h_in = self.W_in[d](torch.cat([feature * x, h], dim=-1))
                z = torch.sigmoid(h_in[:, : self.n_features_in])
                r = torch.sigmoid(h_in[:, self.n_features_in :])
                h_out = torch.tanh(self.W_out[d](torch.cat([r * h, x], dim=-1)))
                if self.dropout:
                    h_out = self.dropout(h_out)
                h = (1 - z) * h + z * h_out
            return h

    class GBN(nn.Module):
        """Ghost Batch Normalization https://arxiv.org/abs/1705.08741"""

        def __init__(self, input_dim, virtual_batch_size=128, momentum=0.01):
            super().__init__()
            self.input_dim = input_dim
            self.virtual_batch_size = virtual_batch_size
            self.bn = nn.BatchNorm1d(self.input_dim, momentum=momentum)

        def forward(self, x):
            chunks = x.chunk(int(np.ceil(x.shape[0] / self.virtual_batch_size)), 0)
            res = [self.bn(x_) for x_ in chunks]
            return torch.cat(res, dim=0)

    class BatchNorm1d(nn.Module):
        """BatchNorm1d with Ghost Batch Normalization."""

        def __init__(self, num_features, virtual_batch_size=None, momentum=0.01):
            super().__init__()
            self.num_features = num_features
            self.virtual_batch_size = virtual_batch_size
            if self.virtual_batch_size is None:
                self.bn = nn.BatchNorm1d(self.num_features, momentum=momentum)
            else:
                self.bn = GBN(self.num_features, virtual_batch_size=self.virtual_batch_size,
                              momentum=momentum)  # fmt: skip

        def forward(self, x):
            return self.bn(x)

    class Embedding1dLayer(nn.Module):
        """Enables different values in a categorical features to have different embeddings"""

        def __init__(self, continuous_dim, categorical_embedding_dims, embedding_dropout=0.0,
                     batch_norm_continuous_input=False, virtual_batch_size=None):  # fmt: skip
            super().__init__()
            self.continuous_dim = continuous_dim
            self.categorical_embedding_dims = categorical_embedding_dims
            self.batch_norm_continuous_input = batch_norm_continuous_input

            # Embedding layers
            self.cat_embedding_layers = nn.ModuleList(
                [nn.Embedding(x, y) for x, y in categorical_embedding_dims]
            )
            if embedding_dropout > 0:
                self.embd_dropout = nn.Dropout(embedding_dropout)
            else:
                self.embd_dropout = None
            # Continuous Layers
            if batch_norm_continuous_input:
                self.normalizing_batch_norm = BatchNorm1d(continuous_dim, virtual_batch_size)

        def forward(self, x):
            assert "continuous" in x or "categorical" in x, (
                "x must contain either continuous and categorical features"
            )
            # (B, N)
            continuous_data, categorical_data = (
                x.get("continuous", torch.empty(0, 0)),
                x.get("categorical", torch.empty(0, 0)),
            )
            assert categorical_data.shape[1] == len(self.cat_embedding_layers), (
                "categorical_data must have same number of columns as categorical embedding layers"
            )
            assert continuous_data.shape[1] == self.continuous_dim, (
                "continuous_data must have same number of columns as continuous dim"
            )
            embed = None
            if continuous_data.shape[1] > 0:
                if self.batch_norm_continuous_input:
                    embed = self.normalizing_batch_norm(continuous_data)
                else:
                    embed = continuous_data
                # (B, N, C)
            if categorical_data.shape[1] > 0:
                categorical_embed = torch.cat(
                    [
                        embedding_layer(categorical_data[:, i])
                        for i, embedding_layer in enumerate(self.cat_embedding_layers)
                    ],
                    dim=1,
                )
                # (B, N, C + C)
                if embed is None:
                    embed = categorical_embed
                else:
                    embed = torch.cat([embed, categorical_embed], dim=1)
            if self.embd_dropout is not None:
                embed = self.embd_dropout(embed)
            return embed

    return {"GFLU": GFLU, "Embedding1dLayer": Embedding1dLayer, "RSoftmax": RSoftmax,
            "t_softmax": t_softmax}  # fmt: skip


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    layers = _layers(torch_like)

    class GANDALFBackbone(nn.Module):
        def __init__(self, cat_embedding_dims, n_continuous_features, gflu_stages,
                     gflu_dropout=0.0, gflu_feature_init_sparsity=0.3, learnable_sparsity=True,
                     batch_norm_continuous_input=True, embedding_dropout=0.0,
                     virtual_batch_size=None):  # fmt: skip
            super().__init__()
            self.gflu_stages = gflu_stages
            self.gflu_dropout = gflu_dropout
            self.batch_norm_continuous_input = batch_norm_continuous_input
            self.n_continuous_features = n_continuous_features
            self.cat_embedding_dims = cat_embedding_dims
            self._embedded_cat_features = sum([y for x, y in cat_embedding_dims])
            self.n_features = self._embedded_cat_features + n_continuous_features
            self.embedding_dropout = embedding_dropout
            self.output_dim = self.n_continuous_features + self._embedded_cat_features
            self.gflu_feature_init_sparsity = gflu_feature_init_sparsity
            self.learnable_sparsity = learnable_sparsity
            self.virtual_batch_size = virtual_batch_size
            self._build_network()

        def _build_network(self):
            self.gflus = layers["GFLU"](
                n_features_in=self.n_features,
                n_stages=self.gflu_stages,
                feature_mask_function=layers["t_softmax"],
                dropout=self.gflu_dropout,
                feature_sparsity=self.gflu_feature_init_sparsity,
                learnable_sparsity=self.learnable_sparsity,
            )

        def _build_embedding_layer(self):
            return layers["Embedding1dLayer"](
                continuous_dim=self.n_continuous_features,
                categorical_embedding_dims=self.cat_embedding_dims,
                embedding_dropout=self.embedding_dropout,
                batch_norm_continuous_input=self.batch_norm_continuous_input,
                virtual_batch_size=self.virtual_batch_size,
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.gflus(x)

    class GANDALFModel(nn.Module):
        def __init__(self, output_dim=1, dropout=0.0):
            super().__init__()
            self._backbone = GANDALFBackbone([(c, EMB) for c in CARDS], N_CONT, STAGES,
                                             virtual_batch_size=VBS)  # fmt: skip
            self._embedding_layer = self._backbone._build_embedding_layer()
            self.T0 = nn.Parameter(torch.rand(output_dim), requires_grad=True)
            self._head = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(self._backbone.output_dim, output_dim)
            )

        def forward(self, x):
            x = self._embedding_layer(x)
            backbone_features = self._backbone(x)
            return self._head(backbone_features) + self.T0

    random.seed(42)
    return GANDALFModel()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(23)
    cont = rng.standard_normal((N_ROWS, N_CONT))
    cat = np.stack([rng.integers(0, c, N_ROWS) for c in CARDS], axis=1)
    y = (
        cont[:, 0] * np.array([1.0, -1.0, 0.5, 2.0])[cat[:, 0]]
        + np.tanh(cont[:, 1])
        + 0.3 * cat[:, 1]
    )
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.MSELoss()
    RSoftmax = _layers(torch_like)["RSoftmax"]
    gflu = model._backbone.gflus
    values: list[float] = []
    for step in range(STEPS):
        idx = (np.arange(BATCH) + step * BATCH) % N_ROWS
        x = {"continuous": as_tensor(torch_like, cont[idx]),
             "categorical": as_tensor(torch_like, cat[idx])}  # fmt: skip
        optimizer.zero_grad()
        y_hat = model(x)
        loss = loss_fn(y_hat.squeeze(-1), as_tensor(torch_like, y[idx]))
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    t = RSoftmax.calculate_t(gflu.feature_masks, r=torch.tensor([0.3]), dim=-1)
    values += t.tolist() + gflu.t.tolist()
    model.eval()
    with torch.no_grad():
        x = {
            "continuous": as_tensor(torch_like, cont[:8]),
            "categorical": as_tensor(torch_like, cat[:8]),
        }
        values.append(model(x).sum().item())
    return values
