"""A rational-quadratic neural spline flow (Durkan et al. 2019) as bayesiains/nflows writes it
(``nflows/transforms/splines/rational_quadratic.py`` and its
``PiecewiseRationalQuadraticCouplingTransform``, also vendored by many flow repos), trained on
2-d data, size-reduced.

The idioms: ``unconstrained_rational_quadratic_spline`` (``inside_interval_mask = (inputs >=
-tail_bound) & (inputs <= tail_bound)``, ``outputs = torch.zeros_like(inputs)``, linear tails
via ``F.pad(unnormalized_derivatives, pad=(1, 1))`` and the constant ``np.log(np.exp(1 -
min_derivative) - 1)`` written into ``[..., 0]`` / ``[..., -1]``, ``outputs[outside_interval_mask]
= inputs[outside_interval_mask]``, ``if torch.any(inside_interval_mask):`` and the tuple
assignment ``(outputs[inside_interval_mask], logabsdet[inside_interval_mask]) =
rational_quadratic_spline(...)`` into masked rows, ``unnormalized_widths[inside_interval_mask,
:]``); ``rational_quadratic_spline`` (the ``torch.min(inputs) < left`` domain check,
``F.softmax`` widths/heights with ``min_bin_width + (1 - min_bin_width * num_bins) * widths``,
``torch.cumsum``, ``F.pad(cumwidths, pad=(1, 0), mode="constant", value=0.0)``, the in-place
end-point writes ``cumwidths[..., 0] = left``, ``widths = cumwidths[..., 1:] - cumwidths[...,
:-1]``, ``min_derivative + F.softplus(...)``, the ``.gather(-1, bin_idx)[..., 0]`` lookups, the
forward rational-quadratic map and its log-derivative, the inverse as the root ``(2 * c) / (-b -
torch.sqrt(discriminant))`` of the quadratic, ``assert (discriminant >= 0).all()``); nflows'
``searchsorted`` trick (``bin_locations[..., -1] += eps`` in place on a tensor of the graph, then
``torch.sum(inputs[..., None] >= bin_locations, dim=-1) - 1``), checked against
``torch.searchsorted(..., right=True)``; the coupling transform (an identity half feeding a
``nn.Sequential`` that outputs ``num_bins * 3 - 1`` parameters per transformed feature,
``.reshape(batch, features, -1)``, the widths and heights scaled by ``1 / np.sqrt(hidden)`` as
nflows does, alternating masks via ``torch.arange(features) % 2``); a ``CompositeTransform``-style
loop summing ``logabsdet``; the standard-normal base ``-0.5 * z**2 - 0.5 * np.log(2 * np.pi)``
summed per row; ``-flow.log_prob(x).mean()`` with ``Adam`` and ``clip_grad_norm_``; then the
inverse pass (samples mapped back; inverse logabsdet cancels the forward one).

Changed: nflows' ``ResidualNet`` -> a two-layer MLP of width 16, 8 bins, 3 layers, 64 points of
a two-moons-like set, 4 steps; no ``torch.distributions`` sampling (NumPy draws instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DEFAULT_MIN_BIN_WIDTH = 1e-3
DEFAULT_MIN_BIN_HEIGHT = 1e-3
DEFAULT_MIN_DERIVATIVE = 1e-3
NUM_BINS, HIDDEN, N_LAYERS, TAIL_BOUND = 8, 16, 3, 3.0
N_POINTS, STEPS = 64, 4


def _splines(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like
    F = torch_like.nn.functional

    def searchsorted(bin_locations: Any, inputs: Any, eps: float = 1e-6) -> Any:
        bin_locations[..., -1] += eps
        return torch.sum(inputs[..., None] >= bin_locations, dim=-1) - 1

    def rational_quadratic_spline(
        inputs: Any,
        unnormalized_widths: Any,
        unnormalized_heights: Any,
        unnormalized_derivatives: Any,
        inverse: bool = False,
        left: float = 0.0,
        right: float = 1.0,
        bottom: float = 0.0,
        top: float = 1.0,
        min_bin_width: float = DEFAULT_MIN_BIN_WIDTH,
        min_bin_height: float = DEFAULT_MIN_BIN_HEIGHT,
        min_derivative: float = DEFAULT_MIN_DERIVATIVE,
    ) -> tuple[Any, Any]:
        if torch.min(inputs) < left or torch.max(inputs) > right:
            raise ValueError("Input to a transform is not in its domain")

        num_bins = unnormalized_widths.shape[-1]

        if min_bin_width * num_bins > 1.0:
            raise ValueError("Minimal bin width too large for the number of bins")
        if min_bin_height * num_bins > 1.0:
            raise ValueError("Minimal bin height too large for the number of bins")

        widths = F.softmax(unnormalized_widths, dim=-1)
        widths = min_bin_width + (1 - min_bin_width * num_bins) * widths
        cumwidths = torch.cumsum(widths, dim=-1)
        cumwidths = F.pad(cumwidths, pad=(1, 0), mode="constant", value=0.0)
        cumwidths = (right - left) * cumwidths + left
        cumwidths[..., 0] = left
        cumwidths[..., -1] = right
        widths = cumwidths[..., 1:] - cumwidths[..., :-1]

        derivatives = min_derivative + F.softplus(unnormalized_derivatives)

        heights = F.softmax(unnormalized_heights, dim=-1)
        heights = min_bin_height + (1 - min_bin_height * num_bins) * heights
        cumheights = torch.cumsum(heights, dim=-1)
        cumheights = F.pad(cumheights, pad=(1, 0), mode="constant", value=0.0)
        cumheights = (top - bottom) * cumheights + bottom
        cumheights[..., 0] = bottom
        cumheights[..., -1] = top
        heights = cumheights[..., 1:] - cumheights[..., :-1]

        if inverse:
            bin_idx = searchsorted(cumheights, inputs)[..., None]
        else:
            bin_idx = searchsorted(cumwidths, inputs)[..., None]

        input_cumwidths = cumwidths.gather(-1, bin_idx)[..., 0]
        input_bin_widths = widths.gather(-1, bin_idx)[..., 0]

        input_cumheights = cumheights.gather(-1, bin_idx)[..., 0]
        delta = heights / widths
        input_delta = delta.gather(-1, bin_idx)[..., 0]

        input_derivatives = derivatives.gather(-1, bin_idx)[..., 0]
        input_derivatives_plus_one = derivatives[..., 1:].gather(-1, bin_idx)[..., 0]

        input_heights = heights.gather(-1, bin_idx)[..., 0]

        if inverse:
            a = (inputs - input_cumheights) * (
                input_derivatives + input_derivatives_plus_one - 2 * input_delta
            ) + input_heights * (input_delta - input_derivatives)
            b = input_heights * input_derivatives - (inputs - input_cumheights) * (
                input_derivatives + input_derivatives_plus_one - 2 * input_delta
            )
            c = -input_delta * (inputs - input_cumheights)

            discriminant = b.pow(2) - 4 * a * c
            assert (discriminant >= 0).all()

            root = (2 * c) / (-b - torch.sqrt(discriminant))
            outputs = root * input_bin_widths + input_cumwidths

            theta_one_minus_theta = root * (1 - root)
            denominator = input_delta + (
                (input_derivatives + input_derivatives_plus_one - 2 * input_delta)
                * theta_one_minus_theta
            )
            derivative_numerator = input_delta.pow(2) * (
                input_derivatives_plus_one * root.pow(2)
                + 2 * input_delta * theta_one_minus_theta
                + input_derivatives * (1 - root).pow(2)
            )
            logabsdet = torch.log(derivative_numerator) - 2 * torch.log(denominator)

            return outputs, -logabsdet
        else:
            theta = (inputs - input_cumwidths) / input_bin_widths
            theta_one_minus_theta = theta * (1 - theta)

            numerator = input_heights * (
                input_delta * theta.pow(2) + input_derivatives * theta_one_minus_theta
            )
            denominator = input_delta + (
                (input_derivatives + input_derivatives_plus_one - 2 * input_delta)
                * theta_one_minus_theta
            )
            outputs = input_cumheights + numerator / denominator

            derivative_numerator = input_delta.pow(2) * (
                input_derivatives_plus_one * theta.pow(2)
                + 2 * input_delta * theta_one_minus_theta
                + input_derivatives * (1 - theta).pow(2)
            )
            logabsdet = torch.log(derivative_numerator) - 2 * torch.log(denominator)

            return outputs, logabsdet

    def unconstrained_rational_quadratic_spline(
        inputs: Any,
        unnormalized_widths: Any,
        unnormalized_heights: Any,
        unnormalized_derivatives: Any,
        inverse: bool = False,
        tails: str = "linear",
        tail_bound: float = 1.0,
        min_bin_width: float = DEFAULT_MIN_BIN_WIDTH,
        min_bin_height: float = DEFAULT_MIN_BIN_HEIGHT,
        min_derivative: float = DEFAULT_MIN_DERIVATIVE,
    ) -> tuple[Any, Any]:
        inside_interval_mask = (inputs >= -tail_bound) & (inputs <= tail_bound)
        outside_interval_mask = ~inside_interval_mask

        outputs = torch.zeros_like(inputs)
        logabsdet = torch.zeros_like(inputs)

        if tails == "linear":
            unnormalized_derivatives = F.pad(unnormalized_derivatives, pad=(1, 1))
            constant = np.log(np.exp(1 - min_derivative) - 1)
            unnormalized_derivatives[..., 0] = constant
            unnormalized_derivatives[..., -1] = constant

            outputs[outside_interval_mask] = inputs[outside_interval_mask]
            logabsdet[outside_interval_mask] = 0
        else:
            raise RuntimeError("{} tails are not implemented.".format(tails))  # noqa: UP032

        if torch.any(inside_interval_mask):
            (
                outputs[inside_interval_mask],
                logabsdet[inside_interval_mask],
            ) = rational_quadratic_spline(
                inputs=inputs[inside_interval_mask],
                unnormalized_widths=unnormalized_widths[inside_interval_mask, :],
                unnormalized_heights=unnormalized_heights[inside_interval_mask, :],
                unnormalized_derivatives=unnormalized_derivatives[inside_interval_mask, :],
                inverse=inverse,
                left=-tail_bound,
                right=tail_bound,
                bottom=-tail_bound,
                top=tail_bound,
                min_bin_width=min_bin_width,
                min_bin_height=min_bin_height,
                min_derivative=min_derivative,
            )

        return outputs, logabsdet

    return unconstrained_rational_quadratic_spline, searchsorted


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    spline, _ = _splines(torch_like)

    class RQSCoupling(nn.Module):
        def __init__(self, mask: Any) -> None:
            super().__init__()
            self.register_buffer("mask", mask)
            self.identity_features = int((mask <= 0).sum())
            self.transform_features = int((mask > 0).sum())
            self.transform_net = nn.Sequential(
                nn.Linear(self.identity_features, HIDDEN),
                nn.ReLU(),
                nn.Linear(HIDDEN, HIDDEN),
                nn.ReLU(),
                nn.Linear(HIDDEN, self.transform_features * (NUM_BINS * 3 - 1)),
            )

        def forward(self, inputs: Any, inverse: bool = False) -> tuple[Any, Any]:
            identity_split = inputs[:, self.mask <= 0]
            transform_split = inputs[:, self.mask > 0]
            params = self.transform_net(identity_split)
            params = params.reshape(inputs.shape[0], self.transform_features, -1)
            unnormalized_widths = params[..., :NUM_BINS] / np.sqrt(HIDDEN)
            unnormalized_heights = params[..., NUM_BINS : 2 * NUM_BINS] / np.sqrt(HIDDEN)
            unnormalized_derivatives = params[..., 2 * NUM_BINS :]
            transformed, logabsdet = spline(
                transform_split,
                unnormalized_widths,
                unnormalized_heights,
                unnormalized_derivatives,
                inverse=inverse,
                tails="linear",
                tail_bound=TAIL_BOUND,
            )
            outputs = torch.empty_like(inputs)
            outputs[:, self.mask <= 0] = identity_split
            outputs[:, self.mask > 0] = transformed
            return outputs, logabsdet.sum(dim=1)

    class SplineFlow(nn.Module):
        def __init__(self, features: int, num_layers: int) -> None:
            super().__init__()
            masks = [torch.arange(features) % 2 == i % 2 for i in range(num_layers)]
            self._transforms = nn.ModuleList([RQSCoupling(m.long()) for m in masks])

        def forward(self, inputs: Any) -> tuple[Any, Any]:
            outputs = inputs
            total_logabsdet = inputs.new_zeros(inputs.shape[0])
            for transform in self._transforms:
                outputs, logabsdet = transform(outputs)
                total_logabsdet += logabsdet
            return outputs, total_logabsdet

        def inverse(self, inputs: Any) -> tuple[Any, Any]:
            outputs = inputs
            total_logabsdet = inputs.new_zeros(inputs.shape[0])
            for transform in reversed(self._transforms):
                outputs, logabsdet = transform(outputs, inverse=True)
                total_logabsdet += logabsdet
            return outputs, total_logabsdet

        def log_prob(self, inputs: Any) -> Any:
            noise, logabsdet = self(inputs)
            log_z = (-0.5 * noise**2 - 0.5 * np.log(2 * np.pi)).sum(dim=1)
            return log_z + logabsdet

    return SplineFlow(2, N_LAYERS)


def _moons(rng: np.random.Generator, n: int) -> np.ndarray:
    t = rng.uniform(0, np.pi, n)
    upper = rng.uniform(size=n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    return np.stack([x - 0.5, y - 0.25], axis=1) * 1.5 + rng.normal(scale=0.05, size=(n, 2))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    flow = make_model(torch_like)
    load_numpy_state(torch_like, flow, init)
    _, searchsorted = _splines(torch_like)
    rng = np.random.default_rng(0)
    values: list[float] = []

    # nflows' bin search equals searchsorted(right=True) - 1 (after the eps on the last edge)
    edges = torch.tensor([[-3.0, -1.0, 0.5, 2.0, 3.0], [-3.0, -2.0, 0.0, 1.0, 3.0]])
    queries = torch.tensor([-3.0, 0.0])
    trick = searchsorted(edges.clone(), queries)
    values += trick.tolist()
    values += (torch.searchsorted(edges, queries[:, None], right=True)[:, 0] - 1).tolist()
    probe = torch.tensor([[-2.5, 0.5, 3.0], [1.0, -3.0, 2.99]])
    values += searchsorted(edges.clone()[:, None, :], probe).flatten().tolist()

    optimizer = torch.optim.Adam(flow.parameters(), lr=5e-3)
    for _step in range(STEPS):
        x = as_tensor(torch, _moons(rng, N_POINTS))
        x[0] = torch.tensor([3.5, -4.0])  # one point in the linear tails
        optimizer.zero_grad()
        loss = -flow.log_prob(inputs=x).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 5.0)
        optimizer.step()
        values.append(loss.item())
    values += flow._transforms[0].transform_net[-1].weight.grad[:3, :4].flatten().tolist()

    with torch.no_grad():
        x = as_tensor(torch, _moons(rng, 16))
        z, logdet = flow(x)
        x_back, inv_logdet = flow.inverse(z)
        values.append((x_back - x).abs().max().item() < 1e-9)
        values.append((logdet + inv_logdet).abs().max().item() < 1e-9)
        values += z[:4].flatten().tolist() + logdet[:4].tolist()
        # samples: base noise (NumPy draws) pushed through the inverse
        noise = as_tensor(torch, rng.standard_normal((8, 2)))
        samples, _ = flow.inverse(noise)
        values += samples.flatten().tolist()
    return values
