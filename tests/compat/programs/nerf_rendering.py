"""NeRF's volume rendering, as yenchenlin/nerf-pytorch's ``run_nerf.py`` / ``run_nerf_helpers.py``
write it (and the many copies of it), size-reduced.

The idioms: the positional ``Embedder`` (``embed_fns`` of ``p_fn(x * freq)`` for ``p_fn`` in
``torch.sin, torch.cos`` over ``2.**torch.linspace(0., max_freq, steps=N_freqs)``, joined with
``torch.cat(..., -1)``), the NeRF MLP with a skip connection (``torch.cat([input_pts, h], -1)``)
and ``torch.split(x, [input_ch, input_ch_views], dim=-1)``, ``get_rays`` with
``torch.meshgrid(torch.linspace(...), torch.linspace(...), indexing='xy')``, ``torch.stack``
of directions and ``torch.sum(dirs[..., np.newaxis, :] * c2w[:3, :3], -1)``, ``rays_o =
c2w[:3, -1].expand(rays_d.shape)``, stratified sampling (``t_vals = torch.linspace(0., 1.,
steps=N_samples)``, ``z_vals = near * (1. - t_vals) + far * (t_vals)``, ``mids``, ``upper``,
``lower``, ``z_vals = lower + (upper - lower) * t_rand``), ``raw2outputs`` (``raw2alpha =
lambda raw, dists, act_fn=F.relu: 1. - torch.exp(-act_fn(raw) * dists)``, ``dists =
torch.cat([dists, torch.Tensor([1e10]).expand(dists[..., :1].shape)], -1)``, ``dists * torch.norm(
rays_d[..., None, :], dim=-1)``, ``torch.sigmoid(raw[..., :3])``, the exclusive transmittance
``torch.cumprod(torch.cat([torch.ones((alpha.shape[0], 1)), 1. - alpha + 1e-10], -1), -1)[:,
:-1]``, ``rgb_map = torch.sum(weights[..., None] * rgb, -2)``, the depth map, ``disp_map = 1. /
torch.max(1e-10 * torch.ones_like(depth_map), depth_map / torch.sum(weights, -1))``,
``acc_map`` and the white background), and the hierarchical ``sample_pdf`` (``weights + 1e-5``,
``pdf / torch.sum(pdf, -1, keepdim=True)``, ``torch.cumsum``, ``torch.cat([torch.zeros_like(
cdf[..., :1]), cdf], -1)``, ``u.contiguous()``, ``torch.searchsorted(cdf, u, right=True)``,
``torch.max(torch.zeros_like(inds - 1), inds - 1)``, ``torch.min((cdf.shape[-1] - 1) *
torch.ones_like(inds), inds)``, ``torch.stack([below, above], -1)``, ``torch.gather(
cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)``, ``denom = torch.where(denom < 1e-5,
torch.ones_like(denom), denom)``) followed by ``torch.sort(torch.cat([z_vals, z_samples], -1),
-1)`` and ``.detach()``; the ``img2mse`` / ``mse2psnr`` lambdas (``-10. * torch.log(x) /
torch.log(torch.Tensor([10.]))``) and a few ``Adam(betas=(0.9, 0.999))`` steps with the
``lrate * (decay_rate ** (global_step / decay_steps))`` schedule written into ``param_groups``.

The stratified jitter ``t_rand`` and the importance ``u`` (``torch.rand`` in the original) come
from NumPy, since the two libraries' generators differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

MULTIRES, MULTIRES_VIEWS, W, D, SKIPS = 4, 2, 16, 4, (2,)
H_IMG, W_IMG, FOCAL, N_SAMPLES, N_IMPORTANCE, STEPS = 4, 5, 3.0, 8, 6, 4
NEAR, FAR, LRATE, DECAY_STEPS = 2.0, 6.0, 5e-3, 3


class Embedder:
    """``Embedder`` of nerf-pytorch: the input plus sin/cos at log-sampled frequencies."""

    def __init__(self, torch_like: Any, **kwargs: Any) -> None:
        self.torch = torch_like
        self.kwargs = kwargs
        self.create_embedding_fn()

    def create_embedding_fn(self) -> None:
        torch = self.torch
        embed_fns = []
        d = self.kwargs["input_dims"]
        out_dim = 0
        if self.kwargs["include_input"]:
            embed_fns.append(lambda x: x)
            out_dim += d
        max_freq = self.kwargs["max_freq_log2"]
        N_freqs = self.kwargs["num_freqs"]
        if self.kwargs["log_sampling"]:
            freq_bands = 2.0 ** torch.linspace(0.0, max_freq, steps=N_freqs)
        else:
            freq_bands = torch.linspace(2.0**0.0, 2.0**max_freq, steps=N_freqs)
        for freq in freq_bands:
            for p_fn in self.kwargs["periodic_fns"]:
                embed_fns.append(lambda x, p_fn=p_fn, freq=freq: p_fn(x * freq))
                out_dim += d
        self.embed_fns = embed_fns
        self.out_dim = out_dim

    def embed(self, inputs: Any) -> Any:
        return self.torch.cat([fn(inputs) for fn in self.embed_fns], -1)


def get_embedder(torch_like: Any, multires: int) -> tuple[Any, int]:
    embed_kwargs = {
        "include_input": True,
        "input_dims": 3,
        "max_freq_log2": multires - 1,
        "num_freqs": multires,
        "log_sampling": True,
        "periodic_fns": [torch_like.sin, torch_like.cos],
    }
    embedder_obj = Embedder(torch_like, **embed_kwargs)

    def embed(x: Any, eo: Embedder = embedder_obj) -> Any:
        return eo.embed(x)

    return embed, embedder_obj.out_dim


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    _, input_ch = get_embedder(torch_like, MULTIRES)
    _, input_ch_views = get_embedder(torch_like, MULTIRES_VIEWS)

    class NeRF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.D = D
            self.W = W
            self.input_ch = input_ch
            self.input_ch_views = input_ch_views
            self.skips = list(SKIPS)
            self.pts_linears = nn.ModuleList(
                [nn.Linear(input_ch, W)]
                + [
                    nn.Linear(W, W) if i not in self.skips else nn.Linear(W + input_ch, W)
                    for i in range(D - 1)
                ]
            )
            self.views_linears = nn.ModuleList([nn.Linear(input_ch_views + W, W // 2)])
            self.feature_linear = nn.Linear(W, W)
            self.alpha_linear = nn.Linear(W, 1)
            self.rgb_linear = nn.Linear(W // 2, 3)

        def forward(self, x: Any) -> Any:
            input_pts, input_views = torch.split(x, [self.input_ch, self.input_ch_views], dim=-1)
            h = input_pts
            for i, _l in enumerate(self.pts_linears):
                h = self.pts_linears[i](h)
                h = F.relu(h)
                if i in self.skips:
                    h = torch.cat([input_pts, h], -1)
            alpha = self.alpha_linear(h)
            feature = self.feature_linear(h)
            h = torch.cat([feature, input_views], -1)
            for i, _l in enumerate(self.views_linears):
                h = self.views_linears[i](h)
                h = F.relu(h)
            rgb = self.rgb_linear(h)
            return torch.cat([rgb, alpha], -1)

    model = NeRF()
    with torch.no_grad():  # a positive density bias: no ray starts fully transparent
        model.alpha_linear.bias.fill_(1.0)
    return model


def get_rays(torch_like: Any, H: int, W: int, K: Any, c2w: Any) -> tuple[Any, Any]:
    torch = torch_like
    i, j = torch.meshgrid(
        torch.linspace(0, W - 1, W), torch.linspace(0, H - 1, H), indexing="xy"
    )  # pytorch's meshgrid has indexing='ij'
    i = i.t()
    j = j.t()
    dirs = torch.stack([(i - K[0][2]) / K[0][0], -(j - K[1][2]) / K[1][1], -torch.ones_like(i)], -1)
    # Rotate ray directions from camera frame to the world frame
    rays_d = torch.sum(dirs[..., np.newaxis, :] * c2w[:3, :3], -1)
    # Translate camera frame's origin to the world frame. It is the origin of all rays.
    rays_o = c2w[:3, -1].expand(rays_d.shape)
    return rays_o, rays_d


def raw2outputs(
    torch_like: Any, raw: Any, z_vals: Any, rays_d: Any, white_bkgd: bool = False
) -> tuple[Any, Any, Any, Any, Any]:
    torch = torch_like
    F = torch_like.nn.functional

    def raw2alpha(raw: Any, dists: Any, act_fn: Any = F.relu) -> Any:
        return 1.0 - torch.exp(-act_fn(raw) * dists)

    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = torch.cat([dists, torch.Tensor([1e10]).expand(dists[..., :1].shape)], -1)
    dists = dists * torch.norm(rays_d[..., None, :], dim=-1)
    rgb = torch.sigmoid(raw[..., :3])  # [N_rays, N_samples, 3]
    alpha = raw2alpha(raw[..., 3], dists)  # [N_rays, N_samples]
    weights = (
        alpha
        * torch.cumprod(torch.cat([torch.ones((alpha.shape[0], 1)), 1.0 - alpha + 1e-10], -1), -1)[
            :, :-1
        ]
    )
    rgb_map = torch.sum(weights[..., None] * rgb, -2)  # [N_rays, 3]
    depth_map = torch.sum(weights * z_vals, -1)
    disp_map = 1.0 / torch.max(
        1e-10 * torch.ones_like(depth_map), depth_map / torch.sum(weights, -1)
    )
    acc_map = torch.sum(weights, -1)
    if white_bkgd:
        rgb_map = rgb_map + (1.0 - acc_map[..., None])
    return rgb_map, disp_map, acc_map, weights, depth_map


def sample_pdf(torch_like: Any, bins: Any, weights: Any, u: Any) -> Any:
    """Inverse-transform sampling of the piecewise-constant pdf (``det=False`` with given u)."""
    torch = torch_like
    weights = weights + 1e-5  # prevent nans
    pdf = weights / torch.sum(weights, -1, keepdim=True)
    cdf = torch.cumsum(pdf, -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)  # (batch, len(bins))
    u = u.contiguous()
    inds = torch.searchsorted(cdf, u, right=True)
    below = torch.max(torch.zeros_like(inds - 1), inds - 1)
    above = torch.min((cdf.shape[-1] - 1) * torch.ones_like(inds), inds)
    inds_g = torch.stack([below, above], -1)  # (batch, N_samples, 2)
    matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
    cdf_g = torch.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
    bins_g = torch.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)
    denom = cdf_g[..., 1] - cdf_g[..., 0]
    denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
    t = (u - cdf_g[..., 0]) / denom
    samples = bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])
    return samples


def render_rays(
    torch_like: Any,
    model: Any,
    embed_fn: Any,
    embeddirs_fn: Any,
    rays_o: Any,
    rays_d: Any,
    t_rand: Any,
    u: Any,
) -> dict[str, Any]:
    torch = torch_like
    N_rays = rays_o.shape[0]
    viewdirs = rays_d / torch.norm(rays_d, dim=-1, keepdim=True)
    t_vals = torch.linspace(0.0, 1.0, steps=N_SAMPLES)
    z_vals = NEAR * (1.0 - t_vals) + FAR * (t_vals)
    z_vals = z_vals.expand([N_rays, N_SAMPLES])
    # get intervals between samples
    mids = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
    upper = torch.cat([mids, z_vals[..., -1:]], -1)
    lower = torch.cat([z_vals[..., :1], mids], -1)
    z_vals = lower + (upper - lower) * t_rand

    def query(z: Any) -> Any:
        pts = rays_o[..., None, :] + rays_d[..., None, :] * z[..., :, None]
        inputs_flat = torch.reshape(pts, [-1, pts.shape[-1]])
        input_dirs = viewdirs[:, None].expand(pts.shape)
        input_dirs_flat = torch.reshape(input_dirs, [-1, input_dirs.shape[-1]])
        embedded = torch.cat([embed_fn(inputs_flat), embeddirs_fn(input_dirs_flat)], -1)
        outputs_flat = model(embedded)
        return torch.reshape(outputs_flat, list(pts.shape[:-1]) + [outputs_flat.shape[-1]])

    raw = query(z_vals)
    rgb_map_0, disp_map_0, acc_map_0, weights, _ = raw2outputs(
        torch_like, raw, z_vals, rays_d, white_bkgd=True
    )
    z_vals_mid = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
    z_samples = sample_pdf(torch_like, z_vals_mid, weights[..., 1:-1], u)
    z_samples = z_samples.detach()
    z_vals, _ = torch.sort(torch.cat([z_vals, z_samples], -1), -1)
    raw = query(z_vals)
    rgb_map, disp_map, acc_map, weights, depth_map = raw2outputs(
        torch_like, raw, z_vals, rays_d, white_bkgd=True
    )
    return {
        "rgb_map": rgb_map,
        "disp_map": disp_map,
        "acc_map": acc_map,
        "depth_map": depth_map,
        "rgb0": rgb_map_0,
        "disp0": disp_map_0,
        "acc0": acc_map_0,
        "z_samples": z_samples,
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    embed_fn, input_ch = get_embedder(torch_like, MULTIRES)
    embeddirs_fn, _ = get_embedder(torch_like, MULTIRES_VIEWS)
    values: list[float] = [float(input_ch)]

    img2mse = lambda x, y: torch.mean((x - y) ** 2)  # noqa: E731  (nerf-pytorch's lambdas)
    mse2psnr = lambda x: -10.0 * torch.log(x) / torch.log(torch.Tensor([10.0]))  # noqa: E731

    K = torch.tensor([[FOCAL, 0, 0.5 * W_IMG], [0, FOCAL, 0.5 * H_IMG], [0, 0, 1]])
    theta = 0.3
    c2w = as_tensor(
        torch_like,
        np.array(
            [
                [np.cos(theta), 0.0, np.sin(theta), 0.1],
                [0.0, 1.0, 0.0, -0.2],
                [-np.sin(theta), 0.0, np.cos(theta), 4.0],
            ]
        ),
    )
    rays_o, rays_d = get_rays(torch_like, H_IMG, W_IMG, K, c2w)
    values += rays_d.flatten().tolist() + list(rays_o.shape)
    rays_o = torch.reshape(rays_o, [-1, 3])
    rays_d = torch.reshape(rays_d, [-1, 3])
    n_rays = rays_o.shape[0]
    target = as_tensor(torch_like, rng.uniform(size=(n_rays, 3)))

    optimizer = torch.optim.Adam(params=model.parameters(), lr=LRATE, betas=(0.9, 0.999))
    global_step = 0
    for _step in range(STEPS):
        t_rand = as_tensor(torch_like, rng.uniform(size=(n_rays, N_SAMPLES)))
        u = as_tensor(torch_like, rng.uniform(size=(n_rays, N_IMPORTANCE)))
        out = render_rays(torch_like, model, embed_fn, embeddirs_fn, rays_o, rays_d, t_rand, u)
        optimizer.zero_grad()
        img_loss = img2mse(out["rgb_map"], target)
        loss = img_loss
        psnr = mse2psnr(img_loss)
        img_loss0 = img2mse(out["rgb0"], target)
        loss = loss + img_loss0
        loss.backward()
        optimizer.step()
        decay_rate = 0.1
        new_lrate = LRATE * (decay_rate ** (global_step / DECAY_STEPS))
        for param_group in optimizer.param_groups:
            param_group["lr"] = new_lrate
        global_step += 1
        values += [loss.item(), psnr.item(), float(psnr.shape[0])]
        values += out["z_samples"][0].tolist() + out["disp_map"][:3].tolist()
        values += out["depth_map"][:3].tolist() + out["acc0"][:3].tolist()
    w = as_tensor(torch_like, rng.uniform(size=(3, 6)))
    bins = torch.linspace(0.0, 1.0, 7).expand(3, 7)
    uu = as_tensor(torch_like, np.array([0.0, 0.3, 0.5, 0.99, 1.0])).expand(3, 5)
    values += sample_pdf(torch_like, bins, w, uu).flatten().tolist()
    return values
