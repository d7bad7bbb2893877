"""TabM, parameter-efficient ensembling of MLPs for tabular data (Gorishniy et al. 2024), as
yandex-research/tabm writes it (``tabm_reference.py``: ``init_rsqrt_uniform_``,
``init_random_signs_``, ``NLinear``, ``LinearEfficientEnsemble``, ``make_efficient_ensemble``,
``MLP``, ``Model``; ``example.ipynb``: the training loop), size-reduced.

Kept verbatim: ``init_random_signs_`` under ``@torch.inference_mode()`` (``x.bernoulli_(0.5).
mul_(2).add_(-1)`` on a parameter); ``LinearEfficientEnsemble``'s ``register_parameter('r',
(nn.Parameter(torch.empty(k, in_features)) if ensemble_scaling_in else None))`` and the
ensemble bias, ``reset_parameters`` copying a shared bias draw into every member ``with
torch.inference_mode(): self.bias.copy_(bias_init)``, the BatchEnsemble forward ``x = x *
self.r``, ``x @ self.weight.T``, ``x * self.s``; ``make_efficient_ensemble`` replacing each
``nn.Linear`` found by ``named_children`` with ``module.add_module(name, EnsembleLayer(...))``;
``NLinear``'s ``x.transpose(0, 1)``, ``x @ self.weight`` heads; the ``MLP`` of
``nn.Sequential(nn.Linear, getattr(nn, activation)(), nn.Dropout(dropout))`` blocks; the
model's ``x[:, None].expand(-1, self.k, -1)``; training with ``torch.optim.AdamW(model.
parameters(), lr=2e-3, weight_decay=3e-4)``, each member trained on its own predictions
(``loss_fn(y_pred.flatten(0, 1), y_true.repeat_interleave(k))``), and the ensemble prediction
``torch.softmax(y_pred, dim=-1).mean(1)`` under ``torch.no_grad()`` at evaluation.

Changed: k 32 -> 4, 3 blocks of 512 -> 2 of 8, 6 synthetic numeric features and 3 classes
instead of the benchmark data sets, no feature embeddings (``num_embeddings=None``), batch 256
-> 16, 3 epochs; the ``tabm`` arch's ``random-signs`` scaling for every adapter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

K, D_IN, D_BLOCK, N_CLASSES = 4, 6, 8, 3


def _classes(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    Tensor, Parameter = torch.Tensor, nn.Parameter

    def init_rsqrt_uniform_(x: Tensor, d: int) -> Tensor:
        assert d > 0
        d_rsqrt = d**-0.5
        return nn.init.uniform_(x, -d_rsqrt, d_rsqrt)

    @torch.inference_mode()
    def init_random_signs_(x: Tensor) -> Tensor:
        return x.bernoulli_(0.5).mul_(2).add_(-1)

    class NLinear(nn.Module):
        """N linear layers for N inputs: (*, *N, D1) -> (*, *N, D2)"""

        def __init__(self, n: int, in_features: int, out_features: int, bias: bool = True):
            super().__init__()
            self.weight = Parameter(torch.empty(n, in_features, out_features))
            self.bias = Parameter(torch.empty(n, out_features)) if bias else None
            self.reset_parameters()

        def reset_parameters(self):  # noqa: ANN201
            d = self.weight.shape[-2]
            init_rsqrt_uniform_(self.weight, d)
            if self.bias is not None:
                init_rsqrt_uniform_(self.bias, d)

        def forward(self, x: Tensor) -> Tensor:
            assert x.ndim == 3
            assert x.shape[-(self.weight.ndim - 1) :] == self.weight.shape[:-1]

            x = x.transpose(0, 1)
            x = x @ self.weight
            x = x.transpose(0, 1)
            if self.bias is not None:
                x = x + self.bias
            return x

    class LinearEfficientEnsemble(nn.Module):
        """
        This layer is a more configurable version of the "BatchEnsemble" layer
        from the paper "BatchEnsemble: An Alternative Approach to Efficient Ensemble and
        Lifelong Learning" (link: https://arxiv.org/abs/2002.06715).
        """

        def __init__(self, in_features: int, out_features: int, bias: bool = True, *, k: int,
                     ensemble_scaling_in: bool, ensemble_scaling_out: bool, ensemble_bias: bool,
                     scaling_init: str):  # fmt: skip
            assert k > 0
            if ensemble_bias:
                assert bias
            super().__init__()

            self.weight = Parameter(torch.empty(out_features, in_features))
            self.register_parameter(
                "r",
                (Parameter(torch.empty(k, in_features)) if ensemble_scaling_in else None),
            )
            self.register_parameter(
                "s",
                (Parameter(torch.empty(k, out_features)) if ensemble_scaling_out else None),
            )
            self.register_parameter(
                "bias",
                (
                    Parameter(torch.empty(out_features))
                    if bias and not ensemble_bias
                    else Parameter(torch.empty(k, out_features))
                    if ensemble_bias
                    else None
                ),
            )

            self.in_features = in_features
            self.out_features = out_features
            self.k = k
            self.scaling_init = scaling_init

            self.reset_parameters()

        def reset_parameters(self):  # noqa: ANN201
            init_rsqrt_uniform_(self.weight, self.in_features)
            scaling_init_fn = {"ones": nn.init.ones_, "random-signs": init_random_signs_}[
                self.scaling_init
            ]
            if self.r is not None:
                scaling_init_fn(self.r)
            if self.s is not None:
                scaling_init_fn(self.s)
            if self.bias is not None:
                bias_init = torch.empty(
                    # NOTE: the shape of bias_init is (out_features,) not (k, out_features).
                    # It means that all biases have the same initialization.
                    # This is similar to having one shared bias plus
                    # k zero-initialized non-shared biases.
                    self.out_features,
                    dtype=self.weight.dtype,
                    device=self.weight.device,
                )
                bias_init = init_rsqrt_uniform_(bias_init, self.in_features)
                with torch.inference_mode():
                    self.bias.copy_(bias_init)

        def forward(self, x: Tensor) -> Tensor:
            # x.shape == (B, K, D)
            assert x.ndim == 3

            # >>> The equation (5) from the paper.
            if self.r is not None:
                x = x * self.r
            x = x @ self.weight.T
            if self.s is not None:
                x = x * self.s
            # <<<

            if self.bias is not None:
                x = x + self.bias
            return x

    def make_efficient_ensemble(module: nn.Module, EnsembleLayer, **kwargs) -> None:  # noqa: ANN001, ANN003, N803
        """Replace linear layers with efficient ensembles of linear layers."""
        for name, submodule in list(module.named_children()):
            if isinstance(submodule, nn.Linear):
                module.add_module(
                    name,
                    EnsembleLayer(
                        in_features=submodule.in_features,
                        out_features=submodule.out_features,
                        bias=submodule.bias is not None,
                        **kwargs,
                    ),
                )
            else:
                make_efficient_ensemble(submodule, EnsembleLayer, **kwargs)

    class MLP(nn.Module):
        def __init__(self, *, d_in: int | None = None, d_out: int | None = None, n_blocks: int,
                     d_block: int, dropout: float, activation: str = "ReLU") -> None:  # fmt: skip
            super().__init__()

            d_first = d_block if d_in is None else d_in
            self.blocks = nn.ModuleList(
                [
                    nn.Sequential(
                        nn.Linear(d_first if i == 0 else d_block, d_block),
                        getattr(nn, activation)(),
                        nn.Dropout(dropout),
                    )
                    for i in range(n_blocks)
                ]
            )
            self.output = None if d_out is None else nn.Linear(d_block, d_out)

        def forward(self, x: Tensor) -> Tensor:
            for block in self.blocks:
                x = block(x)
            if self.output is not None:
                x = self.output(x)
            return x

    class Model(nn.Module):
        """MLP & TabM."""

        def __init__(self, *, n_num_features: int, n_classes: int, k: int, backbone: dict):
            super().__init__()
            self.backbone = MLP(d_in=n_num_features, **backbone)
            make_efficient_ensemble(
                self.backbone,
                LinearEfficientEnsemble,
                k=k,
                ensemble_scaling_in=True,
                ensemble_scaling_out=True,
                ensemble_bias=True,
                scaling_init="random-signs",
            )
            d_block = backbone["d_block"]
            self.output = NLinear(k, d_block, n_classes)
            self.k = k

        def forward(self, x_num: Tensor) -> Tensor:
            x = x_num
            # (B, D) -> (B, K, D)
            x = x[:, None].expand(-1, self.k, -1)
            x = self.backbone(x)
            x = self.output(x)
            # (B, K, d_out)
            return x

    return locals()


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["Model"](
        n_num_features=D_IN, n_classes=N_CLASSES, k=K,
        backbone={"n_blocks": 2, "d_block": D_BLOCK, "dropout": 0.1},
    )  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(21)
    X = rng.normal(size=(64, D_IN))
    Y = (np.argmax(X[:, :3] + 0.3 * X[:, 3:], axis=1)).astype(np.int64)
    X_val, Y_val = X[48:], Y[48:]
    X, Y = X[:48], Y[:48]

    torch.manual_seed(0)
    model = make_model(torch_like)
    values: list[float] = [model.backbone.blocks[0][0].r.abs().sum().item()]
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=3e-4)
    k = model.k

    def loss_fn(y_pred, y_true):  # noqa: ANN001, ANN202
        # TabM produces k predictions per object. Each of them must be trained separately.
        return F.cross_entropy(y_pred.flatten(0, 1), y_true.repeat_interleave(k))

    for _epoch in range(3):
        model.train()
        epoch_loss = 0.0
        for idx in np.array_split(rng.permutation(len(X)), 3):
            x, y_true = as_tensor(torch, X[idx]), as_tensor(torch, Y[idx])
            optimizer.zero_grad()
            loss = loss_fn(model(x), y_true)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        model.eval()
        with torch.no_grad():
            y_pred = model(as_tensor(torch, X_val))
            # Compute the mean of the k predictions.
            y_pred = torch.softmax(y_pred, dim=-1).mean(1)
            acc = (y_pred.argmax(1) == as_tensor(torch, Y_val)).float().mean().item()
        values += [epoch_loss, acc, float(y_pred.max(1).values.sum())]
    return values
