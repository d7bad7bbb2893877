"""Fitting an image with 2D Gaussian splats, the way the 3D Gaussian Splatting reference
(graphdeco-inria/gaussian-splatting, ``scene/gaussian_model.py``, ``utils/loss_utils.py``,
``utils/general_utils.py``) and the many "2D Gaussian splatting in plain PyTorch" notebooks
write it: a differentiable rasteriser in tensor ops, then densification and pruning that edit
the Adam state by hand.

The idioms kept: activations as properties (``torch.exp(self._scaling)``,
``torch.sigmoid(self._opacity)``, ``inverse_sigmoid = torch.log(x / (1 - x))``), the covariance
``R S S^T R^T`` from ``build_rotation`` / ``build_scaling_rotation`` (here a 2x2 rotation from
an angle: ``torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)``), its closed
2x2 inverse, a pixel grid from ``torch.meshgrid(..., indexing="xy")``, ``power = -0.5 * (...)``
with ``power.clamp(max=0)``, ``alpha = (opacity * torch.exp(power)).clamp(max=0.99)``, the
front-to-back compositing ``T = torch.cumprod(torch.cat([ones, 1 - alpha[:-1]]), 0)`` after
``torch.argsort(depth)``; the loss ``(1.0 - lambda_dssim) * l1_loss + lambda_dssim * (1.0 -
ssim(...))`` with the Gaussian ``create_window`` (``_1D_window.mm(_1D_window.t()).float()
.unsqueeze(0).unsqueeze(0)``, ``.expand(channel, 1, window_size, window_size).contiguous()``)
and grouped ``F.conv2d(img, window, padding=window_size // 2, groups=channel)``; ``Adam`` with
one named group per attribute (``{'params': [self._xyz], 'lr': ..., "name": "xyz"}``, ``eps=1e-
15``); the accumulated view-space gradient norm ``torch.norm(grad, dim=-1, keepdim=True)``;
``densification_postfix`` through ``cat_tensors_to_optimizer`` (``stored_state =
self.optimizer.state.get(group['params'][0], None)``, ``torch.cat((stored_state["exp_avg"],
torch.zeros_like(extension_tensor)), dim=0)``, ``del self.optimizer.state[group['params'][0]]``,
``group["params"][0] = nn.Parameter(torch.cat(...).requires_grad_(True))``) and
``prune_points`` through ``_prune_optimizer`` (``stored_state["exp_avg"][mask]``); the clone
split by ``torch.where(torch.norm(grads, dim=-1) >= grad_threshold, True, False)`` and
``torch.logical_and(..., torch.max(self.get_scaling, dim=1).values <= ...)``.

Changed: 2D instead of 3D (no camera, no spherical harmonics: an RGB colour per splat), a 6x6
image, 5 splats, 8 steps with one densify and one prune.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

N, H, W, STEPS = 5, 6, 6, 8


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(7)
    return {
        "xyz": rng.uniform(0.0, 1.0, (N, 2)),
        "scaling": np.log(rng.uniform(0.1, 0.3, (N, 2))),
        "rotation": rng.uniform(-1.0, 1.0, (N, 1)),
        "color": rng.standard_normal((N, 3)),
        "opacity": rng.uniform(-2.0, 1.5, (N, 1)),
        "depth": rng.uniform(0.0, 1.0, (N,)),
        "image": rng.uniform(0.0, 1.0, (3, H, W)),
    }


def create_window(torch: Any, window_size: int, channel: int) -> Any:
    gauss = torch.tensor([np.exp(-((x - window_size // 2) ** 2) / 4.5) for x in range(5)])
    _1D_window = (gauss / gauss.sum()).unsqueeze(1)
    _2D_window = _1D_window.mm(_1D_window.t()).float().unsqueeze(0).unsqueeze(0)
    return _2D_window.expand(channel, 1, window_size, window_size).contiguous()


def ssim(torch: Any, img1: Any, img2: Any, window_size: int = 5) -> Any:
    F = torch.nn.functional
    channel = img1.size(-3)
    window = create_window(torch, window_size, channel).type_as(img1)
    mu1 = F.conv2d(img1, window, padding=window_size // 2, groups=channel)
    mu2 = F.conv2d(img2, window, padding=window_size // 2, groups=channel)
    mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
    sigma1_sq = F.conv2d(img1 * img1, window, padding=window_size // 2, groups=channel) - mu1_sq
    sigma2_sq = F.conv2d(img2 * img2, window, padding=window_size // 2, groups=channel) - mu2_sq
    sigma12 = F.conv2d(img1 * img2, window, padding=window_size // 2, groups=channel) - mu1_mu2
    C1, C2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / (
        (mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2)
    )
    return ssim_map.mean()


def render(torch: Any, xyz: Any, scaling: Any, rotation: Any, color: Any, opacity: Any,
           depth: Any) -> Any:  # fmt: skip
    ys, xs = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing="ij")
    pix = torch.stack([xs, ys], dim=-1).reshape(-1, 2)
    c, s = torch.cos(rotation[:, 0]), torch.sin(rotation[:, 0])
    R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    L = R @ torch.diag_embed(scaling)
    cov = L @ L.transpose(1, 2)
    det = cov[:, 0, 0] * cov[:, 1, 1] - cov[:, 0, 1] * cov[:, 1, 0]
    conic = torch.stack([cov[:, 1, 1], -cov[:, 0, 1], cov[:, 0, 0]], -1) / det[:, None]
    order = torch.argsort(depth)
    d = pix[None, :, :] - xyz[order][:, None, :]
    con = conic[order]
    power = -0.5 * (con[:, None, 0] * d[..., 0] ** 2 + con[:, None, 2] * d[..., 1] ** 2)
    power = power - con[:, None, 1] * d[..., 0] * d[..., 1]
    alpha = (opacity[order] * torch.exp(power.clamp(max=0))).clamp(max=0.99)
    T = torch.cumprod(torch.cat([torch.ones_like(alpha[:1]), 1 - alpha[:-1]], dim=0), dim=0)
    img = ((T * alpha)[..., None] * color[order][:, None, :]).sum(0)
    return img.t().reshape(3, H, W)


class GaussianModel:
    def __init__(self, torch: Any, init: dict) -> None:
        self.torch = torch
        nn = torch.nn
        names = ("xyz", "scaling", "rotation", "color", "opacity")
        for name in names:
            setattr(self, "_" + name, nn.Parameter(as_tensor(torch, init[name])))
        self.depth = as_tensor(torch, init["depth"])
        lrs = {"xyz": 0.01, "scaling": 0.05, "rotation": 0.02, "color": 0.05, "opacity": 0.05}
        groups = [{"params": [getattr(self, "_" + n)], "lr": lrs[n], "name": n} for n in names]
        self.optimizer = torch.optim.Adam(groups, lr=0.0, eps=1e-15)
        self.xyz_gradient_accum = torch.zeros((N, 1))
        self.denom = torch.zeros((N, 1))

    @property
    def get_scaling(self) -> Any:
        return self.torch.exp(self._scaling)

    @property
    def get_opacity(self) -> Any:
        return self.torch.sigmoid(self._opacity)

    def render(self) -> Any:
        color = self.torch.sigmoid(self._color)
        args = (self._xyz, self.get_scaling, self._rotation, color, self.get_opacity)
        return render(self.torch, *args, self.depth)

    def add_densification_stats(self) -> None:
        grad = self._xyz.grad
        self.xyz_gradient_accum += self.torch.norm(grad, dim=-1, keepdim=True)
        self.denom += 1

    def cat_tensors_to_optimizer(self, tensors_dict: dict) -> dict:
        torch = self.torch
        optimizable_tensors = {}
        for group in self.optimizer.param_groups:
            extension_tensor = tensors_dict[group["name"]]
            stored_state = self.optimizer.state.get(group["params"][0], None)
            if stored_state is not None:
                stored_state["exp_avg"] = torch.cat(
                    (stored_state["exp_avg"], torch.zeros_like(extension_tensor)), dim=0
                )
                stored_state["exp_avg_sq"] = torch.cat(
                    (stored_state["exp_avg_sq"], torch.zeros_like(extension_tensor)), dim=0
                )
                del self.optimizer.state[group["params"][0]]
            group["params"][0] = torch.nn.Parameter(
                torch.cat((group["params"][0], extension_tensor), dim=0).requires_grad_(True)
            )
            if stored_state is not None:
                self.optimizer.state[group["params"][0]] = stored_state
            optimizable_tensors[group["name"]] = group["params"][0]
        return optimizable_tensors

    def _prune_optimizer(self, mask: Any) -> dict:
        optimizable_tensors = {}
        for group in self.optimizer.param_groups:
            stored_state = self.optimizer.state.get(group["params"][0], None)
            if stored_state is not None:
                stored_state["exp_avg"] = stored_state["exp_avg"][mask]
                stored_state["exp_avg_sq"] = stored_state["exp_avg_sq"][mask]
                del self.optimizer.state[group["params"][0]]
            group["params"][0] = self.torch.nn.Parameter(
                group["params"][0][mask].requires_grad_(True)
            )
            if stored_state is not None:
                self.optimizer.state[group["params"][0]] = stored_state
            optimizable_tensors[group["name"]] = group["params"][0]
        return optimizable_tensors

    def _set(self, tensors: dict) -> None:
        for name, value in tensors.items():
            setattr(self, "_" + name, value)
        n = self._xyz.shape[0]
        self.xyz_gradient_accum = self.torch.zeros((n, 1))
        self.denom = self.torch.zeros((n, 1))

    def densify_and_clone(self, grads: Any, grad_threshold: float) -> None:
        torch = self.torch
        selected_pts_mask = torch.where(torch.norm(grads, dim=-1) >= grad_threshold, True, False)
        selected_pts_mask = torch.logical_and(
            selected_pts_mask, torch.max(self.get_scaling, dim=1).values <= 0.25
        )
        new = {n: getattr(self, "_" + n)[selected_pts_mask] for n in ("xyz", "scaling",
               "rotation", "color", "opacity")}  # fmt: skip
        self.depth = torch.cat([self.depth, self.depth[selected_pts_mask] + 0.01])
        self._set(self.cat_tensors_to_optimizer(new))

    def prune_points(self, mask: Any) -> None:
        valid_points_mask = ~mask
        self.depth = self.depth[valid_points_mask]
        self._set(self._prune_optimizer(valid_points_mask))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    gaussians = GaussianModel(torch, init)
    gt_image = as_tensor(torch, init["image"])
    lambda_dssim = 0.2
    values: list[float] = []
    for step in range(STEPS):
        image = gaussians.render()
        Ll1 = torch.abs(image - gt_image).mean()
        loss = (1.0 - lambda_dssim) * Ll1 + lambda_dssim * (1.0 - ssim(torch, image, gt_image))
        loss.backward()
        with torch.no_grad():
            gaussians.add_densification_stats()
            if step == 3:
                grads = gaussians.xyz_gradient_accum / gaussians.denom
                grads[grads.isnan()] = 0.0
                threshold = torch.quantile(grads.flatten(), 0.4).item()
                gaussians.densify_and_clone(grads, threshold)
            elif step == 5:
                gaussians.prune_points((gaussians.get_opacity < 0.5).squeeze())
            else:
                gaussians.optimizer.step()
            gaussians.optimizer.zero_grad(set_to_none=True)
        values += [loss.item(), float(gaussians._xyz.shape[0])]
    return values
