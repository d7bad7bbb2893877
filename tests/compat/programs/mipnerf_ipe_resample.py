"""Mip-NeRF (Barron et al., 2021): google/mipnerf's ``internal/mip.py`` (``lift_gaussian``,
``conical_frustum_to_gaussian``, ``cast_rays``, ``sample_along_rays``,
``resample_along_rays``, ``sorted_piecewise_constant_pdf``, ``expected_sin``,
``volumetric_rendering``) and ``internal/models.py`` as the PyTorch ports write them
(bebeal/mipnerf-pytorch's ray utilities, ``PositionalEncoding``, ``MipNeRF`` module,
``NeRFLoss`` and ``MipLRDecay``), size-reduced.

The idioms: the conical frustum's stable moments (``t_mean = mu + (2 * mu * hw**2) / (3 *
mu**2 + hw**2)`` and friends) lifted to diagonal Gaussians with ``torch.unsqueeze(directions,
dim=-2) * torch.unsqueeze(t_mean, dim=-1)``; ``torch.linspace(0., 1., num_samples + 1,
device=origins.device)``, the stratified jitter with ``torch.rand(batch_size, num_samples + 1,
device=origins.device)`` and ``torch.broadcast_to(t_samples, [batch_size, num_samples + 1])``;
the hierarchical resampling under ``torch.no_grad()`` (``torch.maximum(weights_pad[..., :-1],
weights_pad[..., 1:])`` blur, ``weights += padding / weights.shape[-1]``, ``torch.cumsum(pdf[...,
:-1], dim=-1)``, ``torch.minimum(torch.ones_like(cdf), cdf)``, ``torch.zeros(list(cdf.shape[:-1])
+ [1], device=cdf.device)``, ``torch.empty(...).uniform_(to=(s - torch.finfo(torch.float32).
eps))``, ``torch.full_like(u, 1. - torch.finfo(torch.float32).eps, device=u.device)``, the mask
``u[..., None, :] >= cdf[..., :, None]`` and ``find_interval``'s ``torch.max(torch.where(mask,
x[..., None], x[..., :1, None]), -2).values``/``torch.min(torch.where(~mask, ...), -2).values``,
``torch.clip(torch.nan_to_num((u - cdf_g0) / (cdf_g1 - cdf_g0), 0), 0, 1)``); the integrated
positional encoding ``PositionalEncoding`` holding ``nn.Parameter(torch.tensor([2 ** i for i in
range(min_deg, max_deg)]), requires_grad=False)`` (an integer parameter), ``x[..., None, :] *
self.scales[:, None]``, ``x_enc + 0.5 * torch.pi``, ``torch.exp(-0.5 * y_enc) *
torch.sin(x_enc)`` and the clamped variance; the model (``nn.Softplus`` density,
``torch.tile(viewdirs[:, None, :], (1, self.num_samples, 1))``, ``raw_density +=
self.density_noise * torch.rand(raw_density.shape, dtype=raw_density.dtype,
device=raw_density.device)``, the ``rgb_padding`` affine, ``_xavier_init`` over ``modules()``);
``volumetric_rendering`` (``torch.linalg.norm(torch.unsqueeze(dirs, dim=-2), dim=-1)``, the
transmittance ``torch.exp(-torch.cat([torch.zeros_like(density_delta[..., :1]), torch.cumsum(
density_delta[..., :-1], dim=-1)], dim=-1))``, ``torch.clamp(torch.nan_to_num(distance),
t_samples[:, 0], t_samples[:, -1])`` with tensor bounds, the white background); ``NeRFLoss``
(a ``torch.nn.modules.loss._Loss`` subclass; the masked MSE per level, ``-10.0 *
torch.log10(mse)`` under ``torch.no_grad()``, ``torch.Tensor(psnrs)``, ``coarse_weight_decay *
torch.sum(losses[:-1]) + losses[-1]``); ``MipLRDecay`` (a ``torch.optim.lr_scheduler.
_LRScheduler`` whose ``step`` reads ``self.last_epoch`` and writes ``param_group['lr']`` from a
NumPy log-linear decay with the delayed warm-up) over ``optim.AdamW``.

Changed: 1024 rays of 128 samples -> 4 rays of 6 samples, ``max_deg`` 16 -> 3, viewdir degree 4
-> 2, hidden 256 -> 8 with one layer per block, 2 levels kept, NumPy-drawn rays and colours in
a ``namedtuple`` ``Rays``; ``einops.rearrange`` -> the ``reshape`` it performs; a few steps.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_RAYS, N_SAMPLES, HIDDEN, MAX_DEG, VIEW_DEG, STEPS = 4, 6, 8, 3, 2, 3
Rays = collections.namedtuple(
    "Rays", ("origins", "directions", "viewdirs", "radii", "lossmult", "near", "far")
)


def _mip(torch_like: Any) -> tuple:
    torch = torch_like

    def lift_gaussian(directions, t_mean, t_var, r_var):  # noqa: ANN001, ANN202
        mean = torch.unsqueeze(directions, dim=-2) * torch.unsqueeze(t_mean, dim=-1)
        d_norm_denominator = torch.sum(directions**2, dim=-1, keepdim=True) + 1e-10
        d_outer_diag = directions**2  # eq (16)
        null_outer_diag = 1 - d_outer_diag / d_norm_denominator
        t_cov_diag = torch.unsqueeze(t_var, dim=-1) * torch.unsqueeze(d_outer_diag, dim=-2)
        xy_cov_diag = torch.unsqueeze(r_var, dim=-1) * torch.unsqueeze(null_outer_diag, dim=-2)
        cov_diag = t_cov_diag + xy_cov_diag
        return mean, cov_diag

    def conical_frustum_to_gaussian(directions, t0, t1, base_radius):  # noqa: ANN001, ANN202
        mu = (t0 + t1) / 2
        hw = (t1 - t0) / 2
        t_mean = mu + (2 * mu * hw**2) / (3 * mu**2 + hw**2)
        t_var = (hw**2) / 3 - (4 / 15) * ((hw**4 * (12 * mu**2 - hw**2)) / (3 * mu**2 + hw**2) ** 2)
        r_var = base_radius**2 * (
            (mu**2) / 4 + (5 / 12) * hw**2 - 4 / 15 * (hw**4) / (3 * mu**2 + hw**2)
        )
        return lift_gaussian(directions, t_mean, t_var, r_var)

    def cast_rays(t_samples, origins, directions, radii):  # noqa: ANN001, ANN202
        t0 = t_samples[..., :-1]
        t1 = t_samples[..., 1:]
        means, covs = conical_frustum_to_gaussian(directions, t0, t1, radii)
        means = means + torch.unsqueeze(origins, dim=-2)
        return means, covs

    def sample_along_rays(origins, directions, radii, num_samples, near, far, randomized,  # noqa: ANN001, ANN202
                          lindisp):  # fmt: skip
        batch_size = origins.shape[0]
        t_samples = torch.linspace(0.0, 1.0, num_samples + 1, device=origins.device)
        if lindisp:
            t_samples = 1.0 / (1.0 / near * (1.0 - t_samples) + 1.0 / far * t_samples)
        else:
            t_samples = near * (1.0 - t_samples) + far * t_samples
        if randomized:
            mids = 0.5 * (t_samples[..., 1:] + t_samples[..., :-1])
            upper = torch.cat([mids, t_samples[..., -1:]], -1)
            lower = torch.cat([t_samples[..., :1], mids], -1)
            t_rand = torch.rand(batch_size, num_samples + 1, device=origins.device)
            t_samples = lower + (upper - lower) * t_rand
        else:
            # Broadcast t_samples to make the returned shape consistent.
            t_samples = torch.broadcast_to(t_samples, [batch_size, num_samples + 1])
        means, covs = cast_rays(t_samples, origins, directions, radii)
        return t_samples, (means, covs)

    def sorted_piecewise_constant_pdf(bins, weights, num_samples, randomized):  # noqa: ANN001, ANN202
        # Pad each weight vector (only if necessary) to bring its sum to `eps`. This
        # avoids NaNs when the input is zeros or small, but has no effect otherwise.
        eps = 1e-5
        weight_sum = torch.sum(weights, dim=-1, keepdim=True)
        padding = torch.maximum(torch.zeros_like(weight_sum), eps - weight_sum)
        weights += padding / weights.shape[-1]
        weight_sum += padding

        # Compute the PDF and CDF for each weight vector, while ensuring that the CDF
        # starts with exactly 0 and ends with exactly 1.
        pdf = weights / weight_sum
        cdf = torch.cumsum(pdf[..., :-1], dim=-1)
        cdf = torch.minimum(torch.ones_like(cdf), cdf)
        cdf = torch.cat(
            [torch.zeros(list(cdf.shape[:-1]) + [1], device=cdf.device), cdf,
             torch.ones(list(cdf.shape[:-1]) + [1], device=cdf.device)], dim=-1,
        )  # fmt: skip

        # Draw uniform samples.
        if randomized:
            s = 1 / num_samples
            u = (torch.arange(num_samples, device=cdf.device) * s)[None, ...]
            u = u + torch.empty(list(cdf.shape[:-1]) + [num_samples], device=cdf.device).uniform_(
                to=(s - torch.finfo(torch.float32).eps)
            )
            # `u` is in [0, 1) --- it can be zero, but it can never be 1.
            u = torch.minimum(
                u, torch.full_like(u, 1.0 - torch.finfo(torch.float32).eps, device=u.device)
            )
        else:
            # Match the behavior of jax.random.uniform() by spanning [0, 1-eps].
            u = torch.linspace(0.0, 1.0 - torch.finfo(torch.float32).eps, num_samples,
                               device=cdf.device)  # fmt: skip
            u = torch.broadcast_to(u, list(cdf.shape[:-1]) + [num_samples])

        # Identify the location in `cdf` that corresponds to a random sample.
        # The final `True` index in `mask` will be the start of the sampled interval.
        mask = u[..., None, :] >= cdf[..., :, None]

        def find_interval(x):  # noqa: ANN001, ANN202
            # Grab the value where `mask` switches from True to False, and vice versa.
            # This approach takes advantage of the fact that `x` is sorted.
            x0 = torch.max(torch.where(mask, x[..., None], x[..., :1, None]), -2).values
            x1 = torch.min(torch.where(~mask, x[..., None], x[..., -1:, None]), -2).values
            return x0, x1

        bins_g0, bins_g1 = find_interval(bins)
        cdf_g0, cdf_g1 = find_interval(cdf)

        t = torch.clip(torch.nan_to_num((u - cdf_g0) / (cdf_g1 - cdf_g0), 0), 0, 1)
        samples = bins_g0 + t * (bins_g1 - bins_g0)
        return samples

    def resample_along_rays(origins, directions, radii, t_samples, weights, randomized,  # noqa: ANN001, ANN202
                            stop_grad, resample_padding):  # fmt: skip
        if stop_grad:
            with torch.no_grad():
                weights_pad = torch.cat([weights[..., :1], weights, weights[..., -1:]], dim=-1)
                weights_max = torch.maximum(weights_pad[..., :-1], weights_pad[..., 1:])
                weights_blur = 0.5 * (weights_max[..., :-1] + weights_max[..., 1:])

                # Add in a constant (the sampling function will renormalize the PDF).
                weights = weights_blur + resample_padding

                new_t_vals = sorted_piecewise_constant_pdf(
                    t_samples, weights, t_samples.shape[-1], randomized
                )
        else:
            raise NotImplementedError("stop_grad=False")
        means, covs = cast_rays(new_t_vals, origins, directions, radii)
        return new_t_vals, (means, covs)

    def volumetric_rendering(rgb, density, t_samples, dirs, white_bkgd):  # noqa: ANN001, ANN202
        t_mids = 0.5 * (t_samples[..., :-1] + t_samples[..., 1:])
        t_interval = t_samples[..., 1:] - t_samples[..., :-1]  # [B, N]
        delta = t_interval * torch.linalg.norm(torch.unsqueeze(dirs, dim=-2), dim=-1)
        density_delta = density[..., 0] * delta
        alpha = 1 - torch.exp(-density_delta)
        trans = torch.exp(
            -torch.cat(
                [torch.zeros_like(density_delta[..., :1]),
                 torch.cumsum(density_delta[..., :-1], dim=-1)], dim=-1,
            )
        )  # fmt: skip
        weights = alpha * trans
        comp_rgb = (weights[..., None] * rgb).sum(dim=-2)
        acc = weights.sum(dim=-1)
        distance = (weights * t_mids).sum(dim=-1) / acc
        distance = torch.clamp(torch.nan_to_num(distance), t_samples[:, 0], t_samples[:, -1])
        if white_bkgd:
            comp_rgb = comp_rgb + (1.0 - torch.unsqueeze(acc, dim=-1))
        return comp_rgb, distance, acc, weights, alpha

    return sample_along_rays, resample_along_rays, volumetric_rendering


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    sample_along_rays, resample_along_rays, volumetric_rendering = _mip(torch_like)

    class PositionalEncoding(nn.Module):
        def __init__(self, min_deg, max_deg):  # noqa: ANN001
            super(PositionalEncoding, self).__init__()  # noqa: UP008 (as in the port)
            self.min_deg = min_deg
            self.max_deg = max_deg
            self.scales = nn.Parameter(
                torch.tensor([2**i for i in range(min_deg, max_deg)]), requires_grad=False
            )

        def forward(self, x, y=None):  # noqa: ANN001, ANN202
            shape = list(x.shape[:-1]) + [-1]
            x_enc = (x[..., None, :] * self.scales[:, None]).reshape(shape)
            x_enc = torch.cat((x_enc, x_enc + 0.5 * torch.pi), -1)
            if y is not None:
                # IPE
                y_enc = (y[..., None, :] * self.scales[:, None] ** 2).reshape(shape)
                y_enc = torch.cat((y_enc, y_enc), -1)
                x_ret = torch.exp(-0.5 * y_enc) * torch.sin(x_enc)
                y_ret = torch.maximum(
                    torch.zeros_like(y_enc),
                    0.5 * (1 - torch.exp(-2 * y_enc) * torch.cos(2 * x_enc)) - x_ret**2,
                )
                return x_ret, y_ret
            else:
                # PE
                x_ret = torch.sin(x_enc)
                return x_ret

    def _xavier_init(model):  # noqa: ANN001, ANN202
        for module in model.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    class MipNeRF(nn.Module):
        def __init__(self, use_viewdirs=True, randomized=True, white_bkgd=True, num_levels=2,  # noqa: ANN001
                     num_samples=N_SAMPLES, hidden=HIDDEN, density_noise=1, density_bias=-1,
                     rgb_padding=0.001, resample_padding=0.01, min_deg=0, max_deg=MAX_DEG,
                     viewdirs_min_deg=0, viewdirs_max_deg=VIEW_DEG,
                     device=torch.device("cpu")):  # noqa: B008 # fmt: skip
            super(MipNeRF, self).__init__()  # noqa: UP008
            self.use_viewdirs = use_viewdirs
            self.init_randomized = randomized
            self.randomized = randomized
            self.white_bkgd = white_bkgd
            self.num_levels = num_levels
            self.num_samples = num_samples
            self.density_input = (max_deg - min_deg) * 3 * 2
            self.rgb_input = 3 + ((viewdirs_max_deg - viewdirs_min_deg) * 3 * 2)
            self.density_noise = density_noise
            self.rgb_padding = rgb_padding
            self.resample_padding = resample_padding
            self.density_bias = density_bias
            self.hidden = hidden
            self.device = device
            self.density_activation = nn.Softplus()

            self.positional_encoding = PositionalEncoding(min_deg, max_deg)
            self.density_net0 = nn.Sequential(nn.Linear(self.density_input, hidden), nn.ReLU(True))
            self.density_net1 = nn.Sequential(
                nn.Linear(self.density_input + hidden, hidden), nn.ReLU(True)
            )
            self.final_density = nn.Sequential(nn.Linear(hidden, 1))

            input_shape = hidden
            if self.use_viewdirs:
                input_shape = num_samples
                self.rgb_net0 = nn.Sequential(nn.Linear(hidden, hidden))
                self.viewdirs_encoding = PositionalEncoding(viewdirs_min_deg, viewdirs_max_deg)
                self.rgb_net1 = nn.Sequential(
                    nn.Linear(hidden + self.rgb_input, num_samples), nn.ReLU(True)
                )
            self.final_rgb = nn.Sequential(nn.Linear(input_shape, 3), nn.Sigmoid())
            _xavier_init(self)
            self.to(device)

        def forward(self, rays):  # noqa: ANN001, ANN202
            comp_rgbs = []
            distances = []
            accs = []
            for l in range(self.num_levels):  # noqa: E741
                # sample
                if l == 0:  # coarse grain sample
                    t_vals, (mean, var) = sample_along_rays(
                        rays.origins, rays.directions, rays.radii, self.num_samples, rays.near,
                        rays.far, randomized=self.randomized, lindisp=False,
                    )  # fmt: skip
                else:  # fine grain sample/s
                    t_vals, (mean, var) = resample_along_rays(
                        rays.origins, rays.directions, rays.radii, t_vals.to(rays.origins.device),
                        weights.to(rays.origins.device), randomized=self.randomized,  # noqa: F821 (the previous level's)
                        stop_grad=True, resample_padding=self.resample_padding,
                    )  # fmt: skip
                # do integrated positional encoding of samples
                samples_enc = self.positional_encoding(mean, var)[0]
                samples_enc = samples_enc.reshape([-1, samples_enc.shape[-1]])

                # predict density
                new_encodings = self.density_net0(samples_enc)
                new_encodings = torch.cat((new_encodings, samples_enc), -1)
                new_encodings = self.density_net1(new_encodings)
                raw_density = self.final_density(new_encodings).reshape((-1, self.num_samples, 1))

                # predict rgb
                if self.use_viewdirs:
                    #  do positional encoding of viewdirs
                    viewdirs = self.viewdirs_encoding(rays.viewdirs.to(self.device))
                    viewdirs = torch.cat((viewdirs, rays.viewdirs.to(self.device)), -1)
                    viewdirs = torch.tile(viewdirs[:, None, :], (1, self.num_samples, 1))
                    viewdirs = viewdirs.reshape((-1, viewdirs.shape[-1]))
                    new_encodings = self.rgb_net0(new_encodings)
                    new_encodings = torch.cat((new_encodings, viewdirs), -1)
                    new_encodings = self.rgb_net1(new_encodings)
                raw_rgb = self.final_rgb(new_encodings).reshape((-1, self.num_samples, 3))

                # Add noise to regularize the density predictions if needed.
                if self.randomized and self.density_noise:
                    raw_density += self.density_noise * torch.rand(
                        raw_density.shape, dtype=raw_density.dtype, device=raw_density.device
                    )

                # volumetric rendering
                rgb = raw_rgb * (1 + 2 * self.rgb_padding) - self.rgb_padding
                density = self.density_activation(raw_density + self.density_bias)
                comp_rgb, distance, acc, weights, alpha = volumetric_rendering(
                    rgb, density, t_vals, rays.directions.to(rgb.device), self.white_bkgd
                )
                comp_rgbs.append(comp_rgb)
                distances.append(distance)
                accs.append(acc)
            return torch.stack(comp_rgbs), torch.stack(distances), torch.stack(accs)

        def train(self, mode=True):  # noqa: ANN001, ANN202
            self.randomized = self.init_randomized
            return super().train(mode)

        def eval(self):  # noqa: ANN202
            self.randomized = False
            return super().eval()

    return MipNeRF()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def mse_to_psnr(mse):  # noqa: ANN001, ANN202
        return -10.0 * torch.log10(mse)

    class NeRFLoss(torch.nn.modules.loss._Loss):
        def __init__(self, coarse_weight_decay=0.1):  # noqa: ANN001
            super(NeRFLoss, self).__init__()  # noqa: UP008
            self.coarse_weight_decay = coarse_weight_decay

        def forward(self, input, target, mask):  # noqa: ANN001, ANN202, A002
            losses = []
            psnrs = []
            for rgb in input:
                mse = (mask * ((rgb - target[..., :3]) ** 2)).sum() / mask.sum()
                losses.append(mse)
                with torch.no_grad():
                    psnrs.append(mse_to_psnr(mse))
            losses = torch.stack(losses)
            loss = self.coarse_weight_decay * torch.sum(losses[:-1]) + losses[-1]
            return loss, torch.Tensor(psnrs)

    class MipLRDecay(torch.optim.lr_scheduler._LRScheduler):
        def __init__(self, optimizer, lr_init, lr_final, max_steps, lr_delay_steps=0,  # noqa: ANN001
                     lr_delay_mult=1):  # fmt: skip
            self.lr_init = lr_init
            self.lr_final = lr_final
            self.max_steps = max_steps
            self.lr_delay_steps = lr_delay_steps
            self.lr_delay_mult = lr_delay_mult
            super(MipLRDecay, self).__init__(optimizer)  # noqa: UP008

        def step(self):  # noqa: ANN202
            step = self.last_epoch
            if self.lr_delay_steps > 0:
                # A kind of reverse cosine decay.
                delay_rate = self.lr_delay_mult + (1 - self.lr_delay_mult) * np.sin(
                    0.5 * np.pi * np.clip(step / self.lr_delay_steps, 0, 1)
                )
            else:
                delay_rate = 1.0
            t = np.clip(step / self.max_steps, 0, 1)
            log_lerp = np.exp(np.log(self.lr_init) * (1 - t) + np.log(self.lr_final) * t)
            new_lr = delay_rate * log_lerp
            self.last_epoch += 1
            for param_group in self.optimizer.param_groups:
                param_group["lr"] = new_lr

    optimizer = optim.AdamW(model.parameters(), lr=5e-3, weight_decay=1e-5)
    scheduler = MipLRDecay(optimizer, lr_init=5e-3, lr_final=5e-4, max_steps=STEPS,
                           lr_delay_steps=2, lr_delay_mult=0.1)  # fmt: skip
    loss_func = NeRFLoss(0.1)
    rng = np.random.default_rng(23)
    torch.manual_seed(3)

    def rays_batch() -> tuple:
        directions = rng.normal(size=(N_RAYS, 3)) + np.array([0.0, 0.0, -2.0])
        viewdirs = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
        fields = {
            "origins": rng.normal(size=(N_RAYS, 3)) * 0.1, "directions": directions,
            "viewdirs": viewdirs, "radii": np.full((N_RAYS, 1), 0.01),
            "lossmult": np.ones((N_RAYS, 1)), "near": np.full((N_RAYS, 1), 0.5),
            "far": np.full((N_RAYS, 1), 3.0),
        }  # fmt: skip
        rays = Rays(**{k: torch.from_numpy(v) for k, v in fields.items()})
        return rays, torch.from_numpy(rng.random((N_RAYS, 3)))

    values: list[float] = []
    model.train()
    for _ in range(STEPS):
        rays, pixels = rays_batch()
        comp_rgb, _, _ = model(rays)
        loss_val, psnr = loss_func(comp_rgb, pixels, rays.lossmult)
        optimizer.zero_grad()
        loss_val.backward()
        optimizer.step()
        scheduler.step()
        psnr = psnr.detach().cpu().numpy()
        values.extend([loss_val.item(), *psnr.tolist(), optimizer.param_groups[0]["lr"]])
    model.eval()
    with torch.no_grad():
        rays, _ = rays_batch()
        comp_rgb, distance, acc = model(rays)
        values.extend(comp_rgb[-1].flatten().tolist())
        values.extend(distance[-1].tolist() + acc[-1].tolist())
    return values
