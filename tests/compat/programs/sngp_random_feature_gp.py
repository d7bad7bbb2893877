"""SNGP, the spectral-normalized neural Gaussian process (Liu et al. 2020), as
kimjeyoung/SNGP-BERT-Pytorch writes its output layer (``sngp.py``: ``RandomFeatureLinear``,
``SNGP.gp_layer``, ``reset_cov``, ``update_cov``, ``compute_predictive_covariance``,
``mean_field_logits``; ported from google/edward2's ``random_feature.py``), over a
spectral-normalized residual MLP backbone (uncertainty-baselines' two-moons ``ResNet`` with
``torch.nn.utils.spectral_norm``), size-reduced.

Kept verbatim: ``RandomFeatureLinear``'s ``nn.init.normal_(m.weight, mean=0.0, std=0.05)``,
``m.weight.requires_grad = require_grad`` and ``nn.init.uniform_(m.bias, a=0.0, b=2. *
math.pi)`` (frozen random Fourier features); ``torch.nn.LayerNorm(hidden_size,
eps=layer_norm_eps)`` on the GP input, ``torch.cos`` features scaled by ``gp_input_scale``,
``self._gp_output_bias = torch.tensor([self.gp_output_bias] * num_classes).to(device)``; the
Laplace precision ``torch.nn.Parameter(copy.deepcopy(self.initial_precision_matrix),
requires_grad=False)``, re-made from a graph result on every update
(``torch.nn.Parameter(precision_matrix_new, requires_grad=False)``) with the momentum
``self.gp_cov_momentum * self.precision_matrix + (1. - self.gp_cov_momentum) *
precision_matrix_minibatch``; ``torch.linalg.inv(self.precision_matrix)`` for the predictive
covariance ``torch.matmul(gp_feature, cov_feature_product)``; ``mean_field_logits``'
``torch.diagonal(covariance_matrix)``, ``torch.sqrt(1. + variances * mean_field_factor)`` and
``logits_scale.unsqueeze(-1)``; the backbone's ``spectral_norm(nn.Linear(...),
n_power_iterations=1)`` residual blocks; training with ``nn.CrossEntropyLoss`` and
``torch.optim.AdamW``, the covariance reset at the start of the final epoch and updated only
then (``update_cov=epoch == final_epochs``), evaluation with ``return_gp_cov=True`` and
``F.softmax(mean_field_logits(...), dim=-1)``.

Changed: BERT backbone -> a 2-block spectral-normalized MLP on two-moons-like points (the
SNGP paper's toy), hidden 768 -> 8, num_inducing 1024 -> 16, 40 epochs -> 3, batch 32 -> 16.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, INDUCING, CLASSES = 8, 16, 2


def _classes(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    spectral_norm = nn.utils.spectral_norm

    def RandomFeatureLinear(i_dim, o_dim, bias=True, require_grad=False):  # noqa: ANN001, ANN202, N802
        m = nn.Linear(i_dim, o_dim, bias)
        # https://github.com/google/uncertainty-baselines/blob/main/uncertainty_baselines/models/bert_sngp.py
        nn.init.normal_(m.weight, mean=0.0, std=0.05)
        # freeze weight
        m.weight.requires_grad = require_grad
        if bias:
            nn.init.uniform_(m.bias, a=0.0, b=2.0 * math.pi)
            # freeze bias
            m.bias.requires_grad = require_grad
        return m

    class Backbone(nn.Module):
        """The two-moons residual MLP: spectral-normalized dense layers with skips."""

        def __init__(self, hidden=HIDDEN, num_layers=2, spec_norm_bound=0.95):  # noqa: ANN001
            super().__init__()
            self.input_layer = nn.Linear(2, hidden)
            self.input_layer.weight.requires_grad = False  # a fixed random projection
            self.dense_layers = nn.ModuleList(
                [spectral_norm(nn.Linear(hidden, hidden), n_power_iterations=1)
                 for _ in range(num_layers)])  # fmt: skip
            self.dropout = nn.Dropout(0.1)

        def forward(self, inputs):  # noqa: ANN001, ANN201
            hidden = self.input_layer(inputs)
            for layer in self.dense_layers:
                resid = self.dropout(torch.relu(layer(hidden)))
                hidden = hidden + resid
            return hidden, None

    class SNGP(nn.Module):
        def __init__(self, backbone, hidden_size=768, gp_kernel_scale=1.0, num_inducing=1024,
                     gp_output_bias=0., layer_norm_eps=1e-12, n_power_iterations=1,
                     spec_norm_bound=0.95, scale_random_features=True, normalize_input=True,
                     gp_cov_momentum=0.999, gp_cov_ridge_penalty=1e-3, epochs=40, num_classes=3,
                     device="cpu"):  # noqa: ANN001 # fmt: skip
            super(SNGP, self).__init__()  # noqa: UP008
            self.backbone = backbone
            self.final_epochs = epochs - 1
            self.gp_cov_ridge_penalty = gp_cov_ridge_penalty
            self.gp_cov_momentum = gp_cov_momentum

            self.pooled_output_dim = hidden_size
            self.gp_input_scale = 1.0 / math.sqrt(gp_kernel_scale)
            self.gp_feature_scale = math.sqrt(2.0 / float(num_inducing))
            self.gp_output_bias = gp_output_bias
            self.scale_random_features = scale_random_features
            self.normalize_input = normalize_input

            self._gp_input_normalize_layer = torch.nn.LayerNorm(hidden_size, eps=layer_norm_eps)
            self._gp_output_layer = nn.Linear(num_inducing, num_classes, bias=False)
            # bert gp_output_bias_trainable is false
            # https://github.com/google/edward2/blob/main/edward2/tensorflow/layers/random_feature.py#L69
            self._gp_output_bias = torch.tensor([self.gp_output_bias] * num_classes).to(device)
            self._random_feature = RandomFeatureLinear(self.pooled_output_dim, num_inducing)

            # Laplace Random Feature Covariance
            # Posterior precision matrix for the GP's random feature coefficients.
            self.initial_precision_matrix = self.gp_cov_ridge_penalty * torch.eye(num_inducing).to(
                device
            )
            self.precision_matrix = torch.nn.Parameter(
                copy.deepcopy(self.initial_precision_matrix), requires_grad=False
            )

        def gp_layer(self, gp_inputs, update_cov=True):  # noqa: ANN001, ANN201
            # Supports lengthscale for custom random feature layer by directly
            # rescaling the input.
            if self.normalize_input:
                gp_inputs = self._gp_input_normalize_layer(gp_inputs)

            gp_feature = self._random_feature(gp_inputs)
            # cosine
            gp_feature = torch.cos(gp_feature)

            if self.scale_random_features:
                gp_feature = gp_feature * self.gp_input_scale

            # Computes posterior center (i.e., MAP estimate) and variance.
            gp_output = self._gp_output_layer(gp_feature) + self._gp_output_bias

            if update_cov:
                # update precision matrix
                self.update_cov(gp_feature)
            return gp_feature, gp_output

        def reset_cov(self):  # noqa: ANN201
            self.precision_matrix = torch.nn.Parameter(
                copy.deepcopy(self.initial_precision_matrix), requires_grad=False
            )

        def update_cov(self, gp_feature):  # noqa: ANN001, ANN201
            # https://github.com/google/edward2/blob/main/edward2/tensorflow/layers/random_feature.py#L346
            batch_size = gp_feature.size()[0]
            precision_matrix_minibatch = torch.matmul(gp_feature.t(), gp_feature)
            # Updates the population-wise precision matrix.
            if self.gp_cov_momentum > 0:
                # Use moving-average updates to accumulate batch-specific precision
                # matrices.
                precision_matrix_minibatch = precision_matrix_minibatch / batch_size
                precision_matrix_new = (
                    self.gp_cov_momentum * self.precision_matrix
                    + (1.0 - self.gp_cov_momentum) * precision_matrix_minibatch
                )
            else:
                # Compute exact population-wise covariance without momentum.
                # If use this option, make sure to pass through data only once.
                precision_matrix_new = self.precision_matrix + precision_matrix_minibatch
            # self.precision_matrix.weight = precision_matrix_new
            self.precision_matrix = torch.nn.Parameter(precision_matrix_new, requires_grad=False)

        def compute_predictive_covariance(self, gp_feature):  # noqa: ANN001, ANN201
            # https://github.com/google/edward2/blob/main/edward2/tensorflow/layers/random_feature.py#L403
            # Computes the covariance matrix of the feature coefficient.
            feature_cov_matrix = torch.linalg.inv(self.precision_matrix)

            # Computes the covariance matrix of the gp prediction.
            cov_feature_product = (
                torch.matmul(feature_cov_matrix, gp_feature.t()) * self.gp_cov_ridge_penalty
            )
            gp_cov_matrix = torch.matmul(gp_feature, cov_feature_product)
            return gp_cov_matrix

        def forward(self, inputs, return_gp_cov: bool = False, update_cov: bool = True):  # noqa: ANN001, ANN201
            latent_feature, _ = self.backbone(inputs)
            gp_feature, gp_output = self.gp_layer(latent_feature, update_cov=update_cov)
            if return_gp_cov:
                gp_cov_matrix = self.compute_predictive_covariance(gp_feature)
                return gp_output, gp_cov_matrix
            return gp_output

    return locals()


def make_model(torch_like: Any) -> Any:
    c = _classes(torch_like)
    return c["SNGP"](c["Backbone"](), hidden_size=HIDDEN, num_inducing=INDUCING, epochs=3,
                     num_classes=CLASSES, gp_cov_momentum=-1)  # fmt: skip


def mean_field_logits(torch_like, logits, covariance_matrix=None, mean_field_factor=1.0):  # noqa: ANN001, ANN201
    torch = torch_like
    # https://github.com/google/edward2/blob/main/edward2/tensorflow/layers/utils.py#L394
    if mean_field_factor is None or mean_field_factor < 0:
        return logits

    # Compute standard deviation.
    if covariance_matrix is None:
        variances = 1.0
    else:
        variances = torch.diagonal(covariance_matrix)

    # Compute scaling coefficient for mean-field approximation.
    logits_scale = torch.sqrt(1.0 + variances * mean_field_factor)

    if len(logits.shape) > 1:
        # Cast logits_scale to compatible dimension.
        logits_scale = logits_scale.unsqueeze(-1)

    return logits / logits_scale


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    n = 64
    t = rng.uniform(0, np.pi, n)
    labels = (np.arange(n) % 2).astype(np.int64)
    pts = np.where(labels[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                   np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))  # fmt: skip
    pts = pts + rng.normal(0, 0.1, pts.shape)
    ood = rng.normal(4.0, 0.5, (8, 2))

    torch.manual_seed(1)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=0.01, weight_decay=0.01
    )
    values: list[float] = []
    for epoch in range(3):
        model.train()
        if epoch == model.final_epochs:
            model.reset_cov()
        total = 0.0
        order = rng.permutation(n)
        for start in range(0, n, 16):
            idx = order[start : start + 16]
            x = torch.tensor(pts[idx])
            y = torch.tensor(labels[idx])
            optimizer.zero_grad()
            logits = model(x, update_cov=epoch == model.final_epochs)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            total += loss.item()
        values.append(total)
    values.append(float(model.precision_matrix.trace()))
    values.append(float(model.precision_matrix.requires_grad))

    model.eval()
    with torch.no_grad():
        for data in (pts[:16], ood):
            logits, cov = model(torch.tensor(data), return_gp_cov=True, update_cov=False)
            probs = F.softmax(mean_field_logits(torch_like, logits, cov, np.pi / 8.0), dim=-1)
            values += [float(probs.max(-1)[0].mean()), float(torch.diagonal(cov).mean())]
    return values
