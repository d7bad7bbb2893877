"""openai/improved-diffusion (``improved_diffusion/gaussian_diffusion.py``, ``losses.py``,
``nn.py``, ``resample.py``, ``unet.py``, ``train_util.py``), size-reduced: the learned-variance
("learned range") DDPM trained with the hybrid ``L_simple + L_vb`` objective and the
loss-aware ``LossSecondMomentResampler``, then sampled with ``p_sample``.

The idioms: ``betas_for_alpha_bar`` with the cosine ``alpha_bar`` lambda and ``max_beta=0.999``;
the NumPy buffers of ``GaussianDiffusion.__init__`` (``np.cumprod``, ``np.append(1.0,
self.alphas_cumprod[:-1])``, ``posterior_log_variance_clipped`` from
``np.append(self.posterior_variance[1], self.posterior_variance[1:])``); ``_extract_into_tensor``
(``th.from_numpy(arr).to(device=timesteps.device)[timesteps].float()``, ``while
len(res.shape) < len(broadcast_shape): res = res[..., None]``, ``res.expand(broadcast_shape)``);
``q_sample``, ``q_posterior_mean_variance``, ``_predict_xstart_from_eps``; ``p_mean_variance``
for ``LEARNED_RANGE`` (``th.split(model_output, C, dim=1)``, ``frac = (model_var_values + 1) /
2``, ``frac * max_log + (1 - frac) * min_log`` with ``np.log(self.betas)``, ``x.clamp(-1, 1)``);
``training_losses``' ``frozen_out = th.cat([model_output.detach(), model_var_values], dim=1)``
passed as ``model=lambda *args, r=frozen_out: r``, ``terms["vb"] *= self.num_timesteps /
1000.0`` (``RESCALED_MSE``) and ``mean_flat`` (``tensor.mean(dim=list(range(1,
len(tensor.shape))))``); ``_vb_terms_bpd`` (``normal_kl`` with its ``th.tensor(x).to(tensor)``
scalar promotion, ``/ np.log(2.0)``, ``discretized_gaussian_log_likelihood`` with
``approx_standard_normal_cdf``'s ``th.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * th.pow(x,
3)))``, ``cdf_plus.clamp(min=1e-12)``, the nested ``th.where(x < -0.999, log_cdf_plus,
th.where(x > 0.999, ...))``, ``th.where((t == 0), decoder_nll, kl)``); ``p_sample``'s
``nonzero_mask = ((t != 0).float().view(-1, *([1] * (len(x.shape) - 1))))`` and
``th.exp(0.5 * out["log_variance"]) * noise``; ``nn.py``'s ``timestep_embedding``
(``th.arange(start=0, end=half, dtype=th.float32)``, ``timesteps[:, None].float() *
freqs[None]``), ``GroupNorm32`` (``super().forward(x.float()).type(x.dtype)``),
``zero_module`` (``p.detach().zero_()``) and ``update_ema`` (``targ.detach().mul_(rate).add_(src,
alpha=1 - rate)``); ``unet.ResBlock`` with ``use_scale_shift_norm`` (``self.emb_layers(emb).type(
h.dtype)``, ``out_norm, out_rest = self.out_layers[0], self.out_layers[1:]``, ``scale, shift =
th.chunk(emb_out, 2, dim=1)``, ``out_norm(h) * (1 + scale) + shift``); ``resample.py``'s
``ScheduleSampler.sample`` (``np.random.choice(len(p), size=(batch_size,), p=p)``,
``th.from_numpy(indices_np).long()``, ``1 / (len(p) * p[indices_np])``) and
``LossSecondMomentResampler`` (``np.sqrt(np.mean(self._loss_history ** 2, axis=-1))``, the
history shift); ``train_util``'s ``(losses["loss"] * weights).mean()``, the loss-aware
update from ``losses["loss"].detach()`` and ``log_loss_dict``'s quartiles
(``int(4 * sub_t / diffusion.num_timesteps)`` over ``ts.cpu().numpy()``).

Changed: 4000 / 1000 steps -> 10, the UNet -> a conv stem, one scale-shift ``ResBlock`` and a
zero-initialised output conv (``learn_sigma`` doubles its channels), 64 x 64 images -> 2 x 4 x
4 NumPy images, ``history_per_term`` 10 -> 2, Adam lr 1e-3, ``ema_rate`` 0.9999 -> 0.9; the
distributed ``all_gather`` of ``update_with_local_losses`` is its single-process
``update_with_all_losses``; NumPy's global generator is seeded per run; float32, as the
repository's ``.float()`` buffers make it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
T_STEPS, C, CH, EMB = 10, 2, 8, 16


def _nn(torch_like: Any) -> dict[str, Any]:
    th, nn = torch_like, torch_like.nn

    class GroupNorm32(nn.GroupNorm):
        def forward(self, x: Any) -> Any:
            return super().forward(x.float()).type(x.dtype)

    def normalization(channels):  # noqa: ANN001, ANN202
        return GroupNorm32(4, channels)

    def zero_module(module):  # noqa: ANN001, ANN202
        """
        Zero out the parameters of a module and return it.
        """
        for p in module.parameters():
            p.detach().zero_()
        return module

    def timestep_embedding(timesteps, dim, max_period=10000):  # noqa: ANN001, ANN202
        half = dim // 2
        freqs = th.exp(
            -math.log(max_period) * th.arange(start=0, end=half, dtype=th.float32) / half
        ).to(device=timesteps.device)
        args = timesteps[:, None].float() * freqs[None]
        embedding = th.cat([th.cos(args), th.sin(args)], dim=-1)
        if dim % 2:
            embedding = th.cat([embedding, th.zeros_like(embedding[:, :1])], dim=-1)
        return embedding

    class ResBlock(nn.Module):
        def __init__(self, channels, emb_channels, dropout, out_channels=None,
                     use_scale_shift_norm=False):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.channels = channels
            self.emb_channels = emb_channels
            self.dropout = dropout
            self.out_channels = out_channels or channels
            self.use_scale_shift_norm = use_scale_shift_norm

            self.in_layers = nn.Sequential(
                normalization(channels),
                nn.SiLU(),
                nn.Conv2d(channels, self.out_channels, 3, padding=1),
            )
            self.emb_layers = nn.Sequential(
                nn.SiLU(),
                nn.Linear(emb_channels,
                          2 * self.out_channels if use_scale_shift_norm else self.out_channels),
            )  # fmt: skip
            self.out_layers = nn.Sequential(
                normalization(self.out_channels),
                nn.SiLU(),
                nn.Dropout(p=dropout),
                zero_module(nn.Conv2d(self.out_channels, self.out_channels, 3, padding=1)),
            )
            self.skip_connection = nn.Identity()

        def forward(self, x: Any, emb: Any) -> Any:
            h = self.in_layers(x)
            emb_out = self.emb_layers(emb).type(h.dtype)
            while len(emb_out.shape) < len(h.shape):
                emb_out = emb_out[..., None]
            if self.use_scale_shift_norm:
                out_norm, out_rest = self.out_layers[0], self.out_layers[1:]
                scale, shift = th.chunk(emb_out, 2, dim=1)
                h = out_norm(h) * (1 + scale) + shift
                h = out_rest(h)
            else:
                h = h + emb_out
                h = self.out_layers(h)
            return self.skip_connection(x) + h

    class TinyUNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model_channels = CH
            self.time_embed = nn.Sequential(nn.Linear(CH, EMB), nn.SiLU(), nn.Linear(EMB, EMB))
            self.inp = nn.Conv2d(C, CH, 3, padding=1)
            self.block = ResBlock(CH, EMB, 0.0, use_scale_shift_norm=True)
            self.out = nn.Sequential(
                normalization(CH), nn.SiLU(), zero_module(nn.Conv2d(CH, 2 * C, 3, padding=1))
            )

        def forward(self, x: Any, timesteps: Any) -> Any:
            emb = self.time_embed(timestep_embedding(timesteps, self.model_channels))
            h = self.inp(x)
            h = self.block(h, emb)
            return self.out(h)

    return {"TinyUNet": TinyUNet}


def _diffusion(torch_like: Any) -> Any:
    th = torch_like

    def mean_flat(tensor):  # noqa: ANN001, ANN202
        """
        Take the mean over all non-batch dimensions.
        """
        return tensor.mean(dim=list(range(1, len(tensor.shape))))

    def normal_kl(mean1, logvar1, mean2, logvar2):  # noqa: ANN001, ANN202
        tensor = None
        for obj in (mean1, logvar1, mean2, logvar2):
            if isinstance(obj, th.Tensor):
                tensor = obj
                break
        assert tensor is not None, "at least one argument must be a Tensor"

        # Force variances to be Tensors. Broadcasting helps convert scalars to
        # Tensors, but it does not work for th.exp().
        logvar1, logvar2 = [
            x if isinstance(x, th.Tensor) else th.tensor(x).to(tensor) for x in (logvar1, logvar2)
        ]

        return 0.5 * (
            -1.0
            + logvar2
            - logvar1
            + th.exp(logvar1 - logvar2)
            + ((mean1 - mean2) ** 2) * th.exp(-logvar2)
        )

    def approx_standard_normal_cdf(x):  # noqa: ANN001, ANN202
        return 0.5 * (1.0 + th.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * th.pow(x, 3))))

    def discretized_gaussian_log_likelihood(x, *, means, log_scales):  # noqa: ANN001, ANN202
        assert x.shape == means.shape == log_scales.shape
        centered_x = x - means
        inv_stdv = th.exp(-log_scales)
        plus_in = inv_stdv * (centered_x + 1.0 / 255.0)
        cdf_plus = approx_standard_normal_cdf(plus_in)
        min_in = inv_stdv * (centered_x - 1.0 / 255.0)
        cdf_min = approx_standard_normal_cdf(min_in)
        log_cdf_plus = th.log(cdf_plus.clamp(min=1e-12))
        log_one_minus_cdf_min = th.log((1.0 - cdf_min).clamp(min=1e-12))
        cdf_delta = cdf_plus - cdf_min
        log_probs = th.where(
            x < -0.999,
            log_cdf_plus,
            th.where(x > 0.999, log_one_minus_cdf_min, th.log(cdf_delta.clamp(min=1e-12))),
        )
        assert log_probs.shape == x.shape
        return log_probs

    def _extract_into_tensor(arr, timesteps, broadcast_shape):  # noqa: ANN001, ANN202
        res = th.from_numpy(arr).to(device=timesteps.device)[timesteps].float()
        while len(res.shape) < len(broadcast_shape):
            res = res[..., None]
        return res.expand(broadcast_shape)

    class GaussianDiffusion:
        def __init__(self, *, betas, rescale_timesteps=False):  # noqa: ANN001
            self.rescale_timesteps = rescale_timesteps
            # Use float64 for accuracy.
            betas = np.array(betas, dtype=np.float64)
            self.betas = betas
            assert len(betas.shape) == 1, "betas must be 1-D"
            assert (betas > 0).all() and (betas <= 1).all()

            self.num_timesteps = int(betas.shape[0])

            alphas = 1.0 - betas
            self.alphas_cumprod = np.cumprod(alphas, axis=0)
            self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
            self.alphas_cumprod_next = np.append(self.alphas_cumprod[1:], 0.0)
            assert self.alphas_cumprod_prev.shape == (self.num_timesteps,)

            # calculations for diffusion q(x_t | x_{t-1}) and others
            self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
            self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
            self.log_one_minus_alphas_cumprod = np.log(1.0 - self.alphas_cumprod)
            self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
            self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1)

            # calculations for posterior q(x_{t-1} | x_t, x_0)
            self.posterior_variance = (
                betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
            )
            # log calculation clipped because the posterior variance is 0 at the
            # beginning of the diffusion chain.
            self.posterior_log_variance_clipped = np.log(
                np.append(self.posterior_variance[1], self.posterior_variance[1:])
            )
            self.posterior_mean_coef1 = (
                betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
            )
            self.posterior_mean_coef2 = (
                (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)
            )

        def q_sample(self, x_start, t, noise=None):  # noqa: ANN001, ANN201
            if noise is None:
                noise = th.randn_like(x_start)
            assert noise.shape == x_start.shape
            return (
                _extract_into_tensor(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + _extract_into_tensor(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise
            )

        def q_posterior_mean_variance(self, x_start, x_t, t):  # noqa: ANN001, ANN201
            assert x_start.shape == x_t.shape
            posterior_mean = (
                _extract_into_tensor(self.posterior_mean_coef1, t, x_t.shape) * x_start
                + _extract_into_tensor(self.posterior_mean_coef2, t, x_t.shape) * x_t
            )
            posterior_variance = _extract_into_tensor(self.posterior_variance, t, x_t.shape)
            posterior_log_variance_clipped = _extract_into_tensor(
                self.posterior_log_variance_clipped, t, x_t.shape
            )
            assert (
                posterior_mean.shape[0]
                == posterior_variance.shape[0]
                == posterior_log_variance_clipped.shape[0]
                == x_start.shape[0]
            )
            return posterior_mean, posterior_variance, posterior_log_variance_clipped

        def p_mean_variance(self, model, x, t, clip_denoised=True, model_kwargs=None):  # noqa: ANN001, ANN201
            if model_kwargs is None:
                model_kwargs = {}

            B, C = x.shape[:2]
            assert t.shape == (B,)
            model_output = model(x, self._scale_timesteps(t), **model_kwargs)

            assert model_output.shape == (B, C * 2, *x.shape[2:])
            model_output, model_var_values = th.split(model_output, C, dim=1)
            min_log = _extract_into_tensor(self.posterior_log_variance_clipped, t, x.shape)
            max_log = _extract_into_tensor(np.log(self.betas), t, x.shape)
            # The model_var_values is [-1, 1] for [min_var, max_var].
            frac = (model_var_values + 1) / 2
            model_log_variance = frac * max_log + (1 - frac) * min_log
            model_variance = th.exp(model_log_variance)

            def process_xstart(x):  # noqa: ANN001, ANN202
                if clip_denoised:
                    return x.clamp(-1, 1)
                return x

            pred_xstart = process_xstart(
                self._predict_xstart_from_eps(x_t=x, t=t, eps=model_output)
            )
            model_mean, _, _ = self.q_posterior_mean_variance(x_start=pred_xstart, x_t=x, t=t)

            assert model_mean.shape == model_log_variance.shape == pred_xstart.shape == x.shape
            return {
                "mean": model_mean,
                "variance": model_variance,
                "log_variance": model_log_variance,
                "pred_xstart": pred_xstart,
            }

        def _predict_xstart_from_eps(self, x_t, t, eps):  # noqa: ANN001, ANN202
            assert x_t.shape == eps.shape
            return (
                _extract_into_tensor(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t
                - _extract_into_tensor(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * eps
            )

        def _scale_timesteps(self, t):  # noqa: ANN001, ANN202
            if self.rescale_timesteps:
                return t.float() * (1000.0 / self.num_timesteps)
            return t

        def p_sample(self, model, x, t, clip_denoised=True, model_kwargs=None):  # noqa: ANN001, ANN201
            out = self.p_mean_variance(model, x, t, clip_denoised=clip_denoised,
                                       model_kwargs=model_kwargs)  # fmt: skip
            noise = th.randn_like(x)
            nonzero_mask = (
                (t != 0).float().view(-1, *([1] * (len(x.shape) - 1)))
            )  # no noise when t == 0
            sample = out["mean"] + nonzero_mask * th.exp(0.5 * out["log_variance"]) * noise
            return {"sample": sample, "pred_xstart": out["pred_xstart"]}

        def _vb_terms_bpd(self, model, x_start, x_t, t, clip_denoised=True, model_kwargs=None):  # noqa: ANN001, ANN202
            true_mean, _, true_log_variance_clipped = self.q_posterior_mean_variance(
                x_start=x_start, x_t=x_t, t=t
            )
            out = self.p_mean_variance(model, x_t, t, clip_denoised=clip_denoised,
                                       model_kwargs=model_kwargs)  # fmt: skip
            kl = normal_kl(true_mean, true_log_variance_clipped, out["mean"], out["log_variance"])
            kl = mean_flat(kl) / np.log(2.0)

            decoder_nll = -discretized_gaussian_log_likelihood(
                x_start, means=out["mean"], log_scales=0.5 * out["log_variance"]
            )
            assert decoder_nll.shape == x_start.shape
            decoder_nll = mean_flat(decoder_nll) / np.log(2.0)

            # At the first timestep return the decoder NLL,
            # otherwise return KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t))
            output = th.where((t == 0), decoder_nll, kl)
            return {"output": output, "pred_xstart": out["pred_xstart"]}

        def training_losses(self, model, x_start, t, model_kwargs=None, noise=None):  # noqa: ANN001, ANN201
            if model_kwargs is None:
                model_kwargs = {}
            if noise is None:
                noise = th.randn_like(x_start)
            x_t = self.q_sample(x_start, t, noise=noise)

            terms = {}

            model_output = model(x_t, self._scale_timesteps(t), **model_kwargs)

            B, C = x_t.shape[:2]
            assert model_output.shape == (B, C * 2, *x_t.shape[2:])
            model_output, model_var_values = th.split(model_output, C, dim=1)
            # Learn the variance using the variational bound, but don't let
            # it affect our mean prediction.
            frozen_out = th.cat([model_output.detach(), model_var_values], dim=1)
            terms["vb"] = self._vb_terms_bpd(
                model=lambda *args, r=frozen_out: r,
                x_start=x_start,
                x_t=x_t,
                t=t,
                clip_denoised=False,
            )["output"]
            # Divide by 1000 for equivalence with initial implementation.
            # Without a factor of 1/1000, the VB term hurts the MSE term.
            terms["vb"] *= self.num_timesteps / 1000.0

            target = noise
            assert model_output.shape == target.shape == x_start.shape
            terms["mse"] = mean_flat((target - model_output) ** 2)
            if "vb" in terms:
                terms["loss"] = terms["mse"] + terms["vb"]
            else:
                terms["loss"] = terms["mse"]

            return terms

    return GaussianDiffusion


def betas_for_alpha_bar(num_diffusion_timesteps, alpha_bar, max_beta=0.999):  # noqa: ANN001, ANN201
    betas = []
    for i in range(num_diffusion_timesteps):
        t1 = i / num_diffusion_timesteps
        t2 = (i + 1) / num_diffusion_timesteps
        betas.append(min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta))
    return np.array(betas)


class LossSecondMomentResampler:
    def __init__(self, diffusion, history_per_term=10, uniform_prob=0.001):  # noqa: ANN001
        self.diffusion = diffusion
        self.history_per_term = history_per_term
        self.uniform_prob = uniform_prob
        self._loss_history = np.zeros([diffusion.num_timesteps, history_per_term], dtype=np.float64)
        self._loss_counts = np.zeros([diffusion.num_timesteps], dtype=np.int64)

    def weights(self) -> np.ndarray:
        if not self._warmed_up():
            return np.ones([self.diffusion.num_timesteps], dtype=np.float64)
        weights = np.sqrt(np.mean(self._loss_history**2, axis=-1))
        weights /= np.sum(weights)
        weights *= 1 - self.uniform_prob
        weights += self.uniform_prob / len(weights)
        return weights

    def sample(self, th: Any, batch_size: int) -> tuple[Any, Any]:
        w = self.weights()
        p = w / np.sum(w)
        indices_np = np.random.choice(len(p), size=(batch_size,), p=p)
        indices = th.from_numpy(indices_np).long()
        weights_np = 1 / (len(p) * p[indices_np])
        weights = th.from_numpy(weights_np).float()
        return indices, weights

    def update_with_all_losses(self, ts, losses) -> None:  # noqa: ANN001
        for t, loss in zip(ts, losses, strict=True):
            if self._loss_counts[t] == self.history_per_term:
                # Shift out the oldest loss term.
                self._loss_history[t, :-1] = self._loss_history[t, 1:]
                self._loss_history[t, -1] = loss
            else:
                self._loss_history[t, self._loss_counts[t]] = loss
                self._loss_counts[t] += 1

    def _warmed_up(self) -> bool:
        return bool((self._loss_counts == self.history_per_term).all())


def make_model(torch_like: Any) -> Any:
    return _nn(torch_like)["TinyUNet"]()


def run(torch_like: Any, init: dict | None) -> list[float]:
    th = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ema = make_model(torch_like)
    ema.load_state_dict(model.state_dict())
    ema_params = list(ema.parameters())
    betas = betas_for_alpha_bar(T_STEPS, lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2)
    diffusion = _diffusion(torch_like)(betas=betas)
    sampler = LossSecondMomentResampler(diffusion, history_per_term=2)
    opt = th.optim.Adam(model.parameters(), lr=1e-3)
    np.random.seed(0)
    rng = np.random.default_rng(2)
    th.manual_seed(0)

    def update_ema(target_params, source_params, rate=0.99):  # noqa: ANN001, ANN202
        for targ, src in zip(target_params, source_params, strict=True):
            targ.detach().mul_(rate).add_(src, alpha=1 - rate)

    values: list[float] = []
    quartiles = np.zeros(4)
    for _step in range(12):
        batch = th.from_numpy(np.tanh(rng.normal(size=(3, C, 4, 4))).astype(np.float32))
        opt.zero_grad()
        t, weights = sampler.sample(th, batch.shape[0])
        losses = diffusion.training_losses(model, batch, t)
        sampler.update_with_all_losses(t.tolist(), losses["loss"].detach().tolist())
        loss = (losses["loss"] * weights).mean()
        for sub_t, sub_loss in zip(t.cpu().numpy(), losses["vb"].detach().cpu().numpy(),
                                   strict=True):  # fmt: skip
            quartile = int(4 * sub_t / diffusion.num_timesteps)
            quartiles[quartile] += sub_loss
        loss.backward()
        opt.step()
        update_ema(ema_params, model.parameters(), rate=0.9)
        values += [loss.item(), losses["mse"].mean().item(), losses["vb"].mean().item()]
    values += list(quartiles) + list(sampler.weights()[:3])
    with th.no_grad():
        x = th.randn(2, C, 4, 4)
        for i in list(range(T_STEPS))[::-1]:
            t = th.tensor([i] * x.shape[0])
            out = diffusion.p_sample(ema, x, t, clip_denoised=True)
            x = out["sample"]
    values += [x.sum().item(), x.abs().mean().item(), out["pred_xstart"].abs().max().item()]
    return values
