"""Neural Additive Models (Agarwal et al. 2021) as the PyTorch port of google-research/nam
(``nam/models/activation/exu.py``, ``relu.py``, ``featurenn.py``, ``nam.py``,
``nam/trainer/losses.py``) writes it, size-reduced.

The idioms: the ExU unit (``self.weights = Parameter(torch.Tensor(in_features, out_features))``,
``self.bias = Parameter(torch.Tensor(in_features))``, ``reset_parameters`` with
``torch.nn.init.trunc_normal_(self.weights, mean=4.0, std=0.5)`` and
``torch.nn.init.trunc_normal_(self.bias, std=0.5)``, ``forward(inputs, n=1)`` computing
``(inputs - self.bias).matmul(torch.exp(self.weights))``, ``F.relu`` then ``torch.clamp(output,
0, n)`` (ReLU-n)); the ``LinReLU`` unit (``(inputs - self._bias) @ self._weights``,
``F.relu``, ``xavier_uniform_``); ``FeatureNN`` (a first ExU or LinReLU layer, hidden
``LinReLU`` layers in an ``nn.ModuleList``, ``F.dropout(x, p=self.dropout,
training=self.training)``, a final ``nn.Linear(..., 1, bias=False)``, ``inputs.unsqueeze(1)``);
``NAM`` (``self.feature_nns = nn.ModuleList([FeatureNN(...) for i in range(num_inputs)])``,
``calc_outputs`` returning ``[self.feature_nns[i](inputs[:, i]) for i in
range(self.num_inputs)]``, ``torch.cat(individual_outputs, dim=-1)``, ``self.dropout_layer =
nn.Dropout(p=self.feature_dropout)``, ``torch.sum(dropout_out, dim=-1)``, ``self._bias =
torch.nn.Parameter(data=torch.zeros(1))``); the penalised loss (``F.mse_loss`` for regression,
``F.binary_cross_entropy_with_logits`` for classification, ``output_penalty`` as the mean over
features of ``torch.mean(torch.square(outputs))``, ``weight_decay`` as ``sum([(x ** 2).sum()
for x in model.parameters()]) / num_networks``); ``Adam(..., weight_decay=...)`` and
``ExponentialLR``; a ``DataLoader`` shuffled with a seeded ``torch.Generator``; the shape
functions read off per feature under ``torch.no_grad()`` on a ``torch.linspace`` grid.
The dropout masks come from each library's own generator, seeded alike (``torch.manual_seed``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

N_FEATURES, N_UNITS, HIDDEN = 3, 6, (4,)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Parameter = torch_like.nn.Parameter

    class ExU(torch.nn.Module):
        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weights = Parameter(torch.Tensor(in_features, out_features))
            self.bias = Parameter(torch.Tensor(in_features))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            ## Page(4): initializing the weights using a normal distribution
            ##          N(x; 0:5) with x 2 [3; 4] works well in practice.
            # (mean 4 lies 4 std above the default [a, b] = [-2, 2]: both libraries warn,
            # PyTorch from inside torch.nn.init, and sample the truncated tail)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                torch.nn.init.trunc_normal_(self.weights, mean=4.0, std=0.5)
            torch.nn.init.trunc_normal_(self.bias, std=0.5)

        def forward(self, inputs: Any, n: int = 1) -> Any:
            output = (inputs - self.bias).matmul(torch.exp(self.weights))
            # ReLU activations capped at n (ReLU-n)
            output = F.relu(output)
            output = torch.clamp(output, 0, n)
            return output

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}"

    class LinReLU(torch.nn.Module):
        __constants__ = ["bias"]

        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self._weights = Parameter(torch.Tensor(in_features, out_features))
            self._bias = Parameter(torch.Tensor(in_features))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self._weights)
            torch.nn.init.trunc_normal_(self._bias, std=0.5)

        def forward(self, inputs: Any) -> Any:
            output = (inputs - self._bias) @ self._weights
            output = F.relu(output)
            return output

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}"

    class FeatureNN(torch.nn.Module):
        """Neural Network model for each individual feature."""

        def __init__(
            self,
            input_shape: int,
            feature_num: int,
            num_units: int,
            dropout: float,
            hidden_sizes: tuple[int, ...] = (64, 32),
            activation: str = "relu",
        ) -> None:
            super().__init__()
            self._input_shape = input_shape
            self._num_units = num_units
            self._feature_num = feature_num
            self._hidden_sizes = hidden_sizes
            self._activation = activation
            self.dropout = dropout

            all_hidden_sizes = [self._num_units] + list(self._hidden_sizes)

            layers = []

            ## First layer is ExU
            if self._activation == "exu":
                layers.append(ExU(in_features=input_shape, out_features=num_units))
            else:
                layers.append(LinReLU(in_features=input_shape, out_features=num_units))

            ## Hidden Layers
            for in_features, out_features in zip(all_hidden_sizes, all_hidden_sizes[1:]):
                layers.append(LinReLU(in_features, out_features))

            ## Last Linear Layer
            layers.append(nn.Linear(in_features=all_hidden_sizes[-1], out_features=1, bias=False))

            self.model = nn.ModuleList(layers)

        def forward(self, inputs: Any) -> Any:
            """Computes FeatureNN output with either evaluation or training mode."""
            outputs = inputs.unsqueeze(1)
            for layer in self.model:
                outputs = F.dropout(layer(outputs), p=self.dropout, training=self.training)
            return outputs

    class NAM(torch.nn.Module):
        def __init__(
            self,
            num_inputs: int,
            num_units: int,
            hidden_sizes: tuple[int, ...],
            dropout: float,
            feature_dropout: float,
            activation: str,
        ) -> None:
            super().__init__()
            self.num_inputs = num_inputs
            self.num_units = num_units
            self.hidden_sizes = hidden_sizes
            self.dropout = dropout
            self.feature_dropout = feature_dropout

            self.dropout_layer = nn.Dropout(p=self.feature_dropout)

            ## Builds the FeatureNNs on the first call.
            self.feature_nns = nn.ModuleList(
                [
                    FeatureNN(
                        input_shape=1,
                        num_units=self.num_units,
                        dropout=self.dropout,
                        feature_num=i,
                        hidden_sizes=self.hidden_sizes,
                        activation=activation,
                    )
                    for i in range(num_inputs)
                ]
            )

            self._bias = torch.nn.Parameter(data=torch.zeros(1))

        def calc_outputs(self, inputs: Any) -> list[Any]:
            """Returns the output computed by each feature net."""
            return [self.feature_nns[i](inputs[:, i]) for i in range(self.num_inputs)]

        def forward(self, inputs: Any) -> tuple[Any, Any]:
            individual_outputs = self.calc_outputs(inputs)
            conc_out = torch.cat(individual_outputs, dim=-1)
            dropout_out = self.dropout_layer(conc_out)

            out = torch.sum(dropout_out, dim=-1)
            return out + self._bias, dropout_out

    return NAM(N_FEATURES, N_UNITS, HIDDEN, dropout=0.1, feature_dropout=0.1, activation="exu")


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    x = rng.uniform(-1, 1, (32, N_FEATURES))
    y = np.sin(2 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2] + 0.05 * rng.standard_normal(32)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3)
    )

    def feature_loss(fnn_out: Any, lambda_: float = 0.0) -> Any:
        return lambda_ * (fnn_out**2).sum() / fnn_out.shape[1]

    def penalized_loss(config: dict, out: Any, fnn_out: Any, model: Any, targets: Any) -> Any:
        def fnn_loss(fnn_out: Any) -> Any:
            per_feature_norm = [torch.mean(torch.square(outputs)) for outputs in fnn_out.T]
            return sum(per_feature_norm) / len(per_feature_norm)

        def weight_decay(model: Any) -> Any:
            """Penalizes the L2 norm of weights in each feature net."""
            num_networks = 1 if config["use_dnn"] else len(model.feature_nns)
            l2_losses = [(x**2).sum() for x in model.parameters()]
            return sum(l2_losses) / num_networks

        if config["regression"]:
            loss = F.mse_loss(out.view(-1), targets.view(-1))
        else:
            loss = F.binary_cross_entropy_with_logits(out.view(-1), targets.view(-1))
        reg_loss = 0.0
        if config["output_regularization"] > 0:
            reg_loss += config["output_regularization"] * fnn_loss(fnn_out)
        if config["l2_regularization"] > 0:
            reg_loss += config["l2_regularization"] * weight_decay(model)
        return loss + reg_loss

    config = {
        "regression": True,
        "use_dnn": False,
        "output_regularization": 0.1,
        "l2_regularization": 1e-4,
    }
    torch.manual_seed(7)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.995)
    for _epoch in range(3):
        model.train()
        for features, targets in loader:
            optimizer.zero_grad()
            predictions, fnns_out = model(features)
            loss = penalized_loss(config, predictions, fnns_out, model, targets)
            loss.backward()
            optimizer.step()
            values += [loss.item(), feature_loss(fnns_out, 0.5).item()]
        scheduler.step()

    # classification head on the same features, as the ``regression: False`` branch
    config["regression"] = False
    model.eval()
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(x))
        labels = torch.from_numpy((y > np.median(y)).astype(np.float64))
        values.append(penalized_loss(config, logits, _, model, labels).item())
        # the shape functions on a grid
        grid = torch.linspace(-1, 1, 7)
        for i, fnn in enumerate(model.feature_nns):
            shape = fnn(grid).squeeze(-1)
            values += shape.tolist()
            values.append(float(i))
    exu = model.feature_nns[0].model[0]
    values.append(exu(torch.tensor([[0.3], [5.0]]), n=2).sum().item())
    return values
