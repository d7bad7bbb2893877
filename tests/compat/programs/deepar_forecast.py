"""DeepAR as GluonTS's PyTorch port (``gluonts/torch/model/deepar/module.py``,
``gluonts/torch/distributions/studentT.py`` / ``negative_binomial.py``,
``gluonts/torch/scaler.py``, ``gluonts/torch/util.py``) and pytorch-forecasting's
``DeepAR`` / ``NegativeBinomialDistributionLoss`` write it, size-reduced.

The idioms: ``lagged_sequence_values`` (``torch.cat((prior_sequence, sequence), dim=1)``, the
slices ``full_sequence[:, begin_index:end_index, ...]`` with ``end_index = -lag_index if
lag_index > 0 else None``, ``torch.stack(lags_values, dim=-1)`` and ``lags.reshape(
lags.shape[0], lags.shape[1], -1)``); the ``MeanScaler`` (``(data.abs() * weights).sum(dim,
keepdim=True) / denominator.clamp(min=1.0)``, ``torch.where(num_observed > 0, scale,
default_scale)``, ``torch.max(scale, self.minimum_scale)``); the ``FeatureEmbedder`` (one
``nn.Embedding`` per categorical, ``torch.chunk(features, self._num_features, dim=-1)``,
``cat_feature_slice.squeeze(-1)``); the static features ``torch.cat((embedded_cat,
feat_static_real, scale.log()), dim=1)`` broadcast with ``unsqueeze_expand`` (``a.unsqueeze(
dim).expand(*shape)``); ``nn.LSTM(..., num_layers=2, dropout=0.0, batch_first=True)`` over
lags + covariates; the ``PtArgProj`` head (``nn.ModuleList([nn.Linear(in_features, dim) for
dim in args_dim.values()])``, ``self.domain_map(*params_unbounded)``) with
``StudentTOutput.domain_map`` (``epsilon = torch.finfo(scale.dtype).eps``, ``F.softplus(
scale).clamp_min(epsilon)``, ``df = 2.0 + F.softplus(df)``, ``.squeeze(-1)``) and
``NegativeBinomialOutput`` (``F.softplus(total_count)``, ``logits += scale.log()`` in place,
``NegativeBinomial(total_count=total_count, logits=logits)``); the ``AffineTransformed``
``TransformedDistribution(StudentT(df, loc, scale), [AffineTransform(loc=loc, scale=scale)])``
with its ``mean`` (``self.base_dist.mean * self.scale + self.loc``); the teacher-forced loss
``-distr.log_prob(target)`` through ``weighted_average`` (``torch.where(weights != 0, x *
weights, torch.zeros_like(x))``, ``/ torch.clamp(weights.sum(dim), min=1.0)``); and
ancestral sampling under ``torch.no_grad()`` (``scale.repeat_interleave(repeats=
num_parallel_samples, dim=0)``, the LSTM state ``s.repeat_interleave(repeats=..., dim=1)``,
``distr.sample()`` fed back as the next lag, ``torch.cat(future_samples, dim=1).reshape((-1,
num_parallel_samples, prediction_length))``, ``torch.quantile``), seeded with
``torch.manual_seed``; pytorch-forecasting's ``distributions.NegativeBinomial(total_count=r,
probs=p)`` from ``mean`` and ``shape``.

Changed: sizes (a batch of 4 series, context 8, horizon 4, hidden 8); the draws cannot agree
between the two frameworks' generators, so sampling is checked for what holds for every draw
(shapes, reproducibility under the same seed, integer-valued non-negative counts, the sample
mean near the distribution mean), and the forecast compared step by step is the mean path
(each step fed its distribution's mean, as GluonTS's ``forecast_generator`` with a
point-forecast decoder).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["make_model", "run"]

B, CONTEXT, HORIZON, HIDDEN, N_COV, N_SAMPLES = 4, 8, 4, 8, 2, 6
LAGS = [1, 2, 4]
CARDINALITY, EMB_DIM = 3, 2
HISTORY = CONTEXT + max(LAGS)


def lagged_sequence_values(
    torch_like: Any, indices: list, prior_sequence: Any, sequence: Any
) -> Any:
    torch = torch_like
    assert max(indices) <= prior_sequence.shape[1], (
        f"lags cannot go further than prior sequence length, found lag {max(indices)} "
        f"while prior sequence is only {prior_sequence.shape[1]}-long"
    )
    full_sequence = torch.cat((prior_sequence, sequence), dim=1)
    lags_values = []
    for lag_index in indices:
        begin_index = -lag_index - sequence.shape[1]
        end_index = -lag_index if lag_index > 0 else None
        lags_values.append(full_sequence[:, begin_index:end_index, ...])
    lags = torch.stack(lags_values, dim=-1)
    return lags.reshape(lags.shape[0], lags.shape[1], -1)


def unsqueeze_expand(a: Any, dim: int, size: int) -> Any:
    a = a.unsqueeze(dim)
    sizes = list(a.shape)
    sizes[dim] = size
    return a.expand(*sizes)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    distributions = torch_like.distributions

    class MeanScaler(nn.Module):
        def __init__(
            self, dim: int = 1, keepdim: bool = True, minimum_scale: float = 1e-10
        ) -> None:
            super().__init__()
            self.dim = dim
            self.keepdim = keepdim
            self.register_buffer("minimum_scale", torch.tensor(minimum_scale))

        def forward(self, data: Any, weights: Any) -> Any:
            ts_sum = (data * weights).abs().sum(self.dim, keepdim=True)
            num_observed = weights.sum(self.dim, keepdim=True)
            scale = ts_sum / torch.clamp(num_observed, min=1)
            batch_sum = ts_sum.sum(dim=0)
            batch_observations = torch.clamp(num_observed.sum(0), min=1)
            default_scale = torch.squeeze(batch_sum / batch_observations)
            scale = torch.where(num_observed > 0, scale, default_scale)
            scale = torch.max(scale, self.minimum_scale)
            scaled_data = data / scale
            if not self.keepdim:
                scale = scale.squeeze(dim=self.dim)
            return scaled_data, torch.zeros_like(scale), scale

    class FeatureEmbedder(nn.Module):
        def __init__(self, cardinalities: list, embedding_dims: list) -> None:
            super().__init__()
            self._num_features = len(cardinalities)
            self._embedders = nn.ModuleList(
                [nn.Embedding(c, d) for c, d in zip(cardinalities, embedding_dims)]
            )

        def forward(self, features: Any) -> Any:
            if self._num_features > 1:
                cat_feature_slices = torch.chunk(features, self._num_features, dim=-1)
            else:
                cat_feature_slices = [features]
            return torch.cat(
                [
                    embed(cat_feature_slice.squeeze(-1))
                    for embed, cat_feature_slice in zip(self._embedders, cat_feature_slices)
                ],
                dim=-1,
            )

    class PtArgProj(nn.Module):
        def __init__(self, in_features: int, args_dim: dict, domain_map: Any) -> None:
            super().__init__()
            self.args_dim = args_dim
            self.proj = nn.ModuleList([nn.Linear(in_features, dim) for dim in args_dim.values()])
            self.domain_map = domain_map

        def forward(self, x: Any) -> tuple:
            params_unbounded = [proj(x) for proj in self.proj]
            return self.domain_map(*params_unbounded)

    def student_t_domain_map(df: Any, loc: Any, scale: Any) -> tuple:
        epsilon = torch.finfo(scale.dtype).eps
        scale = F.softplus(scale).clamp_min(epsilon)
        df = 2.0 + F.softplus(df)
        return df.squeeze(-1), loc.squeeze(-1), scale.squeeze(-1)

    def negative_binomial_domain_map(total_count: Any, logits: Any) -> tuple:
        total_count = F.softplus(total_count)
        return total_count.squeeze(-1), logits.squeeze(-1)

    class AffineTransformed(distributions.TransformedDistribution):
        def __init__(self, base_distribution: Any, loc: Any = None, scale: Any = None) -> None:
            self.scale = 1.0 if scale is None else scale
            self.loc = 0.0 if loc is None else loc
            super().__init__(
                base_distribution, [distributions.AffineTransform(loc=self.loc, scale=self.scale)]
            )

        @property
        def mean(self) -> Any:
            return self.base_dist.mean * self.scale + self.loc

        @property
        def variance(self) -> Any:
            return self.base_dist.variance * self.scale**2

    class DeepARModel(nn.Module):
        def __init__(self, output: str) -> None:
            super().__init__()
            self.output = output
            self.embedder = FeatureEmbedder([CARDINALITY], [EMB_DIM])
            self.scaler = MeanScaler(dim=1, keepdim=True)
            self.rnn_input_size = len(LAGS) + N_COV + EMB_DIM + 1 + 1
            self.rnn = nn.LSTM(
                input_size=self.rnn_input_size,
                hidden_size=HIDDEN,
                num_layers=2,
                dropout=0.0,
                batch_first=True,
            )
            if output == "student_t":
                self.param_proj = PtArgProj(
                    HIDDEN, {"df": 1, "loc": 1, "scale": 1}, student_t_domain_map
                )
            else:
                self.param_proj = PtArgProj(
                    HIDDEN, {"total_count": 1, "logits": 1}, negative_binomial_domain_map
                )

        def distribution(self, distr_args: tuple, scale: Any) -> Any:
            if self.output == "student_t":
                df, loc, sc = distr_args
                return AffineTransformed(distributions.StudentT(df, loc, sc), loc=None, scale=scale)
            total_count, logits = distr_args
            logits += scale.log()
            return distributions.NegativeBinomial(total_count=total_count, logits=logits)

        def prepare_rnn_input(
            self,
            feat_static_cat: Any,
            feat_static_real: Any,
            past_time_feat: Any,
            past_target: Any,
            past_observed: Any,
            future_time_feat: Any,
            future_target: Any | None,
        ) -> tuple:
            context = past_target[:, -CONTEXT:]
            observed_context = past_observed[:, -CONTEXT:]
            input, _, scale = self.scaler(context, observed_context)
            prior_input = past_target[:, :-CONTEXT] / scale
            if future_target is not None:
                input = torch.cat((input, future_target[:, :-1] / scale), dim=1)
            lags = lagged_sequence_values(torch, LAGS, prior_input, input)
            time_feat = (
                torch.cat((past_time_feat[:, -CONTEXT:, ...], future_time_feat[:, :-1, ...]), dim=1)
                if future_target is not None
                else past_time_feat[:, -CONTEXT:, ...]
            )
            embedded_cat = self.embedder(feat_static_cat)
            static_feat = torch.cat((embedded_cat, feat_static_real, scale.log()), dim=1)
            expanded_static_feat = unsqueeze_expand(static_feat, dim=1, size=time_feat.shape[1])
            features = torch.cat((expanded_static_feat, time_feat), dim=-1)
            return torch.cat((lags, features), dim=-1), scale, static_feat

    return nn.ModuleDict({"student_t": DeepARModel("student_t"), "negbin": DeepARModel("negbin")})


def weighted_average(
    torch_like: Any, x: Any, weights: Any | None = None, dim: int | None = None
) -> Any:
    torch = torch_like
    if weights is not None:
        weighted_tensor = torch.where(weights != 0, x * weights, torch.zeros_like(x))
        sum_weights = torch.clamp(weights.sum(dim=dim) if dim else weights.sum(), min=1.0)
        return (weighted_tensor.sum(dim=dim) if dim else weighted_tensor.sum()) / sum_weights
    return x.mean(dim=dim)


def make_batch(rng: np.random.Generator, counts: bool) -> dict:
    t = np.arange(HISTORY + HORIZON)
    level = rng.uniform(2.0, 6.0, (B, 1))
    series = level * (1.0 + 0.4 * np.sin(2 * np.pi * t / 6.0)) + 0.3 * rng.standard_normal(
        (B, t.size)
    )
    if counts:
        series = rng.poisson(np.maximum(series, 0.1)).astype(np.float64)
    observed = np.ones_like(series)
    observed[0, :3] = 0.0  # a series with missing leading values
    time_feat = np.stack([np.sin(2 * np.pi * t / 6.0), t / t.size], axis=-1)
    return {
        "feat_static_cat": rng.integers(0, CARDINALITY, (B, 1)),
        "feat_static_real": rng.standard_normal((B, 1)),
        "past_time_feat": np.broadcast_to(time_feat[:HISTORY], (B, HISTORY, N_COV)).copy(),
        "future_time_feat": np.broadcast_to(time_feat[HISTORY:], (B, HORIZON, N_COV)).copy(),
        "past_target": series[:, :HISTORY],
        "past_observed": observed[:, :HISTORY],
        "future_target": series[:, HISTORY:],
        "future_observed": observed[:, HISTORY:],
    }


def loss_fn(torch_like: Any, model: Any, batch: dict) -> Any:
    torch = torch_like
    rnn_input, scale, _ = model.prepare_rnn_input(
        batch["feat_static_cat"],
        batch["feat_static_real"],
        batch["past_time_feat"],
        batch["past_target"],
        batch["past_observed"],
        batch["future_time_feat"],
        batch["future_target"],
    )
    output, _ = model.rnn(rnn_input)
    distr = model.distribution(model.param_proj(output), scale=scale)
    target = torch.cat((batch["past_target"][:, -CONTEXT + 1 :], batch["future_target"]), dim=1)
    observed = torch.cat(
        (batch["past_observed"][:, -CONTEXT + 1 :], batch["future_observed"]), dim=1
    )
    loss = -distr.log_prob(target)
    return weighted_average(torch, loss, weights=observed, dim=1).mean()


def forecast(
    torch_like: Any, model: Any, batch: dict, num_parallel_samples: int, mean_path: bool
) -> Any:
    """Ancestral sampling (or the mean path) over the horizon, GluonTS's ``forward``."""
    torch = torch_like
    rnn_input, scale, static_feat = model.prepare_rnn_input(
        batch["feat_static_cat"],
        batch["feat_static_real"],
        batch["past_time_feat"],
        batch["past_target"],
        batch["past_observed"],
        batch["future_time_feat"],
        None,
    )
    output, state = model.rnn(rnn_input)
    repeated_scale = scale.repeat_interleave(repeats=num_parallel_samples, dim=0)
    repeated_static_feat = static_feat.repeat_interleave(
        repeats=num_parallel_samples, dim=0
    ).unsqueeze(1)
    repeated_past_target = (
        batch["past_target"].repeat_interleave(repeats=num_parallel_samples, dim=0) / repeated_scale
    )
    repeated_time_feat = batch["future_time_feat"].repeat_interleave(
        repeats=num_parallel_samples, dim=0
    )
    repeated_state = [s.repeat_interleave(repeats=num_parallel_samples, dim=1) for s in state]
    repeated_output = output[:, -1:].repeat_interleave(repeats=num_parallel_samples, dim=0)

    distr = model.distribution(model.param_proj(repeated_output), scale=repeated_scale)
    next_sample = distr.mean if mean_path else distr.sample()
    future_samples = [next_sample]
    for k in range(1, HORIZON):
        scaled_next_sample = next_sample / repeated_scale
        next_features = torch.cat((repeated_static_feat, repeated_time_feat[:, k : k + 1]), dim=-1)
        next_lags = lagged_sequence_values(torch, LAGS, repeated_past_target, scaled_next_sample)
        rnn_input = torch.cat((next_lags, next_features), dim=-1)
        output, repeated_state = model.rnn(rnn_input, repeated_state)
        repeated_past_target = torch.cat((repeated_past_target, scaled_next_sample), dim=1)
        distr = model.distribution(model.param_proj(output), scale=repeated_scale)
        next_sample = distr.mean if mean_path else distr.sample()
        future_samples.append(next_sample)
    future_samples_concat = torch.cat(future_samples, dim=1)
    return future_samples_concat.reshape((-1, num_parallel_samples, HORIZON))


def sampling_facts(torch_like: Any, model: Any, batch: dict, counts: bool) -> list[float]:
    torch = torch_like
    with torch.no_grad():
        torch.manual_seed(0)
        first = forecast(torch, model, batch, N_SAMPLES, mean_path=False)
        torch.manual_seed(0)
        again = forecast(torch, model, batch, N_SAMPLES, mean_path=False)
        other = forecast(torch, model, batch, N_SAMPLES, mean_path=False)
    quantiles = torch.quantile(first, torch.tensor([0.1, 0.5, 0.9]), dim=1)
    values = [*first.shape, float(torch.equal(first, again)), float(not torch.equal(first, other))]
    values += [float(torch.isfinite(first).all()), float(first.requires_grad), *quantiles.shape]
    values += [float((quantiles[0] <= quantiles[2]).all())]
    if counts:
        values += [float((first == first.round()).all()), float((first >= 0).all())]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    distributions = torch_like.distributions
    models = make_model(torch_like)
    models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    rng = np.random.default_rng(11)
    values: list[float] = []

    for name in ("student_t", "negbin"):
        model = models[name]
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _step in range(3):
            raw = make_batch(rng, counts=name == "negbin")
            batch = {k: as_tensor(torch_like, v) for k, v in raw.items()}
            loss = loss_fn(torch, model, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        model.eval()
        with torch.no_grad():
            path = forecast(torch, model, batch, 1, mean_path=True)
        values += path.flatten().tolist()
        values += sampling_facts(torch, model, batch, counts=name == "negbin")
        model.train()

    # pytorch-forecasting's NegativeBinomialDistributionLoss.map_x_to_distribution
    x = as_tensor(torch_like, np.stack([rng.uniform(1, 5, 6), rng.uniform(0.1, 1.0, 6)], axis=-1))
    mean = x[..., 0]
    shape = x[..., 1]
    r = 1.0 / shape
    p = mean / (mean + r)
    nb = distributions.NegativeBinomial(total_count=r, probs=p)
    y = as_tensor(torch_like, rng.integers(0, 8, 6).astype(np.float64))
    values += nb.log_prob(y).tolist() + nb.mean.tolist() + nb.variance.tolist()
    st = distributions.StudentT(df=torch.tensor(3.5), loc=mean, scale=shape)
    values += st.log_prob(y).tolist() + st.entropy().tolist() + st.variance.tolist()
    return values
