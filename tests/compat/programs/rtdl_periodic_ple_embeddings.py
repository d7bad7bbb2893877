"""Numerical-feature embeddings for tabular deep learning, as Yandex's ``rtdl_num_embeddings``
package writes them (``rtdl_num_embeddings.py``: ``_check_input_shape``, ``LinearEmbeddings``,
``_Periodic``, ``_NLinear``, ``PeriodicEmbeddings`` (PLR), ``compute_bins``,
``_PiecewiseLinearEncodingImpl``, ``PiecewiseLinearEmbeddings``; the README's MLP usage),
size-reduced.

The idioms kept verbatim: ``_Periodic``'s ``nn.init.trunc_normal_(self.weight, 0.0,
self._sigma, a=-bound, b=bound)`` and ``2 * math.pi * self.weight * x[..., None]`` ->
``torch.cat([torch.cos(x), torch.sin(x)], -1)``; ``_NLinear``'s per-feature linear layers
``x.transpose(0, 1) @ self.weight`` with ``d_in_rsqrt = self.weight.shape[-2] ** -0.5``
uniform init and its ``assert x.shape[-(self.weight.ndim - 1) :] == self.weight.shape[:-1]``;
``LinearEmbeddings``' ``torch.addcmul(self.bias, self.weight, x[..., None])``; ``compute_bins``'
``q.unique() for q in torch.quantile(X, torch.linspace(0.0, 1.0, n_bins + 1).to(X), dim=0).T``;
the piecewise-linear encoding's buffers ``register_buffer('single_bin_mask', ... if
single_bin_mask.any() else None)`` and the ragged-bins ``mask`` built with
``torch.row_stack`` of ``torch.cat([torch.ones(..., dtype=torch.bool), torch.zeros(...),
torch.ones(1, ...)])``, filled row by row from ``bin_edges.diff()``
(``self.weight[i, : n_bins[i] - 1] = w[:-1]``); its forward ``torch.addcmul(self.bias,
self.weight, x[..., None])`` then ``x[..., :1].clamp_max(1.0)``, ``x[..., 1:-1].clamp(0.0,
1.0)``, ``x[..., -1:].clamp_min(0.0)`` joined by ``torch.cat`` and masked by
``torch.where(self.impl.mask, x_ple, 0.0)``; version 'B' (a ``LinearEmbeddings`` beside an
``_NLinear`` without bias whose weight is ``nn.init.zeros_``); the README model
``embeddings(x_num).flatten(1)`` -> MLP, trained with AdamW and ``F.mse_loss``.

Changed: 4 features (one of few distinct values, so its bins are fewer and the mask is used),
8 frequencies, embeddings of 6, 6 quantile bins, an MLP of one hidden layer of 16; 48 synthetic
rows in batches of 16; PLR and PLE-B each trained 6 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_FEATURES, N_FREQ, D_EMB, N_BINS, HIDDEN, N_ROWS, BATCH, STEPS = 4, 8, 6, 6, 16, 48, 16, 6


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(17)
    X = rng.standard_normal((N_ROWS, N_FEATURES))
    X[:, 2] = rng.integers(0, 3, N_ROWS)  # few distinct values: fewer bins
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] - 0.5 * np.abs(X[:, 3])
    return X, y


def _modules(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    Tensor, Parameter = torch.Tensor, nn.Parameter

    def _check_input_shape(x: Tensor, expected_n_features: int) -> None:
        if x.ndim < 1:
            raise ValueError(f"The input must have at least one dimension, however: {x.ndim=}")
        if x.shape[-1] != expected_n_features:
            raise ValueError(
                "The last dimension of the input was expected to be"
                f" {expected_n_features}, however, {x.shape[-1]=}"
            )

    class LinearEmbeddings(nn.Module):
        def __init__(self, n_features: int, d_embedding: int) -> None:
            super().__init__()
            self.weight = Parameter(torch.empty(n_features, d_embedding))
            self.bias = Parameter(torch.empty(n_features, d_embedding))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            d_rqsrt = self.weight.shape[1] ** -0.5
            nn.init.uniform_(self.weight, -d_rqsrt, d_rqsrt)
            nn.init.uniform_(self.bias, -d_rqsrt, d_rqsrt)

        def forward(self, x: Tensor) -> Tensor:
            _check_input_shape(x, self.weight.shape[0])
            return torch.addcmul(self.bias, self.weight, x[..., None])

    class _Periodic(nn.Module):
        def __init__(self, n: int, k: int, sigma: float) -> None:
            if sigma <= 0.0:
                raise ValueError(f"sigma must be positive, however: {sigma=}")
            super().__init__()
            self._sigma = sigma
            self.weight = Parameter(torch.empty(n, k))
            self.reset_parameters()

        def reset_parameters(self):
            bound = self._sigma * 3
            nn.init.trunc_normal_(self.weight, 0.0, self._sigma, a=-bound, b=bound)

        def forward(self, x: Tensor) -> Tensor:
            _check_input_shape(x, self.weight.shape[0])
            x = 2 * math.pi * self.weight * x[..., None]
            x = torch.cat([torch.cos(x), torch.sin(x)], -1)
            return x

    class _NLinear(nn.Module):
        def __init__(self, n: int, in_features: int, out_features: int, bias: bool = True) -> None:
            super().__init__()
            self.weight = Parameter(torch.empty(n, in_features, out_features))
            self.bias = Parameter(torch.empty(n, out_features)) if bias else None
            self.reset_parameters()

        def reset_parameters(self):
            d_in_rsqrt = self.weight.shape[-2] ** -0.5
            nn.init.uniform_(self.weight, -d_in_rsqrt, d_in_rsqrt)
            if self.bias is not None:
                nn.init.uniform_(self.bias, -d_in_rsqrt, d_in_rsqrt)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.ndim != 3:
                raise ValueError(
                    "_NLinear supports only inputs with exactly one batch dimension,"
                    " so `x` must have a shape like (BATCH_SIZE, N_FEATURES, D_EMBEDDING)."
                )
            assert x.shape[-(self.weight.ndim - 1) :] == self.weight.shape[:-1]
            x = x.transpose(0, 1)
            x = x @ self.weight
            x = x.transpose(0, 1)
            if self.bias is not None:
                x = x + self.bias
            return x

    class PeriodicEmbeddings(nn.Module):
        def __init__(self, n_features: int, d_embedding: int = 24, *, n_frequencies: int = 48,
                     frequency_init_scale: float = 0.01, activation: bool = True,
                     lite: bool) -> None:  # fmt: skip
            super().__init__()
            self.periodic = _Periodic(n_features, n_frequencies, frequency_init_scale)
            if lite:
                if not activation:
                    raise ValueError("lite=True is allowed only when activation=True")
                self.linear = nn.Linear(2 * n_frequencies, d_embedding)
            else:
                self.linear = _NLinear(n_features, 2 * n_frequencies, d_embedding)
            self.activation = nn.ReLU() if activation else None

        def forward(self, x: Tensor) -> Tensor:
            x = self.periodic(x)
            x = self.linear(x)
            if self.activation is not None:
                x = self.activation(x)
            return x

    def compute_bins(X: torch.Tensor, n_bins: int = 48) -> list:
        bins = [
            q.unique()
            for q in torch.quantile(X, torch.linspace(0.0, 1.0, n_bins + 1).to(X), dim=0).T
        ]
        return bins

    class _PiecewiseLinearEncodingImpl(nn.Module):
        def __init__(self, bins: list) -> None:
            assert len(bins) > 0
            super().__init__()
            n_features = len(bins)
            n_bins = [len(x) - 1 for x in bins]
            max_n_bins = max(n_bins)
            self.register_buffer("weight", torch.zeros(n_features, max_n_bins))
            self.register_buffer("bias", torch.zeros(n_features, max_n_bins))
            single_bin_mask = torch.tensor(n_bins) == 1
            self.register_buffer(
                "single_bin_mask", single_bin_mask if single_bin_mask.any() else None
            )
            self.register_buffer(
                "mask",
                None
                if all(len(x) == len(bins[0]) for x in bins)
                else torch.row_stack(
                    [
                        torch.cat(
                            [
                                torch.ones((len(x) - 1) - 1, dtype=torch.bool),
                                torch.zeros(max_n_bins - (len(x) - 1), dtype=torch.bool),
                                torch.ones(1, dtype=torch.bool),
                            ]
                        )
                        for x in bins
                    ]
                ),
            )
            for i, bin_edges in enumerate(bins):
                bin_width = bin_edges.diff()
                w = 1.0 / bin_width
                b = -bin_edges[:-1] / bin_width
                self.weight[i, -1] = w[-1]
                self.bias[i, -1] = b[-1]
                self.weight[i, : n_bins[i] - 1] = w[:-1]
                self.bias[i, : n_bins[i] - 1] = b[:-1]

        def get_max_n_bins(self) -> int:
            return self.weight.shape[-1]

        def forward(self, x: Tensor) -> Tensor:
            x = torch.addcmul(self.bias, self.weight, x[..., None])
            if x.shape[-1] > 1:
                x = torch.cat(
                    [
                        x[..., :1].clamp_max(1.0),
                        *([] if x.shape[-1] == 2 else [x[..., 1:-1].clamp(0.0, 1.0)]),
                        x[..., -1:].clamp_min(0.0),
                    ],
                    dim=-1,
                )
            return x

    class PiecewiseLinearEmbeddings(nn.Module):
        def __init__(self, bins: list, d_embedding: int, *, activation: bool,
                     version: str = "B") -> None:  # fmt: skip
            super().__init__()
            self.impl = _PiecewiseLinearEncodingImpl(bins)
            self.linear0 = LinearEmbeddings(len(bins), d_embedding) if version == "B" else None
            self.linear = _NLinear(
                len(bins), self.impl.get_max_n_bins(), d_embedding, bias=version != "B"
            )
            if version == "B":
                nn.init.zeros_(self.linear.weight)
            self.activation = nn.ReLU() if activation else None

        def forward(self, x: Tensor) -> Tensor:
            x_linear = None if self.linear0 is None else self.linear0(x)
            x_ple = self.impl(x)
            if self.impl.mask is not None:
                x_ple = torch.where(self.impl.mask, x_ple, 0.0)
            x_ple = self.linear(x_ple)
            if self.activation is not None:
                x_ple = self.activation(x_ple)
            return x_ple if x_linear is None else x_linear + x_ple

    return {"PeriodicEmbeddings": PeriodicEmbeddings, "compute_bins": compute_bins,
            "PiecewiseLinearEmbeddings": PiecewiseLinearEmbeddings}  # fmt: skip


def make_model(torch_like: Any, kind: str = "plr") -> Any:
    torch, nn = torch_like, torch_like.nn
    m = _modules(torch_like)
    if kind == "plr":
        embeddings = m["PeriodicEmbeddings"](N_FEATURES, D_EMB, n_frequencies=N_FREQ,
                                             frequency_init_scale=0.5, lite=False)  # fmt: skip
    else:
        X_train = torch.tensor(_data()[0])
        bins = m["compute_bins"](X_train, n_bins=N_BINS)
        embeddings = m["PiecewiseLinearEmbeddings"](bins, D_EMB, activation=False, version="B")
    return nn.Sequential(
        embeddings,
        nn.Flatten(1),
        nn.Linear(N_FEATURES * D_EMB, HIDDEN),
        nn.ReLU(),
        nn.Dropout(0.0),
        nn.Linear(HIDDEN, 1),
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    X, y = _data()
    values: list[float] = []
    for kind in ("plr", "ple"):
        torch.manual_seed(4)
        model = make_model(torch_like, kind)
        if kind == "plr":
            load_numpy_state(torch_like, model, init)
        else:
            mask = model[0].impl.mask
            values.append(float(mask.sum()) if mask is not None else -1.0)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        for step in range(STEPS):
            idx = (np.arange(BATCH) + step * BATCH) % N_ROWS
            x_num, target = as_tensor(torch_like, X[idx]), as_tensor(torch_like, y[idx])
            optimizer.zero_grad()
            loss = F.mse_loss(model(x_num).squeeze(-1), target)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
    return values
