"""The optical-flow pieces of RAFT as princeton-vl/RAFT writes them (``core/corr.py``,
``core/utils/utils.py``, ``core/raft.py``, ``train.py``) with the backward warp of the PWC-Net
ports, size-reduced to a tiny model trained for a few steps.

The idioms: ``CorrBlock.corr`` (``fmap1.view(batch, dim, ht*wd)``, ``torch.matmul(
fmap1.transpose(1,2), fmap2)``, ``corr.view(batch, ht, wd, 1, ht, wd)``, ``/ torch.sqrt(
torch.tensor(dim).float())``), the pyramid of ``F.avg_pool2d(corr, 2, stride=2)``, the lookup
(``torch.linspace(-r, r, 2*r+1)``, ``torch.stack(torch.meshgrid(dy, dx, indexing="ij"),
axis=-1)`` — NumPy's ``axis`` keyword —, ``coords.reshape(batch*h1*w1, 1, 1, 2) / 2**i``,
``out.permute(0, 3, 1, 2).contiguous().float()``); ``bilinear_sampler`` (``coords.split([1,1],
dim=-1)``, ``2*xgrid/(W-1) - 1``, ``F.grid_sample(img, grid, align_corners=True)`` and its
in-bounds mask); ``coords_grid`` (``torch.stack(coords[::-1], dim=0).float()``,
``coords[None].repeat(batch, 1, 1, 1)``); ``upflow8``'s ``F.interpolate(flow, size=new_size,
mode='bilinear', align_corners=True)``; RAFT's convex ``upsample_flow`` (``mask.view(N, 1, 9,
s, s, H, W)``, ``torch.softmax(mask, dim=2)``, ``F.unfold(s * flow, [3,3], padding=1)``,
``permute(0, 1, 4, 2, 5, 3)``); the refinement loop (``coords1 = coords1.detach()``, ``flow =
coords1 - coords0``, a list of ``flow_predictions``); ``train.py``'s ``sequence_loss``
(``gamma**(n_predictions - i - 1)``, ``(valid[:, None] * i_loss).mean()``, the EPE metrics
``epe.view(-1)[valid.view(-1)]`` and ``(epe < 1).float().mean().item()``) with
``torch.nn.utils.clip_grad_norm_`` and ``AdamW``; the PWC-Net warp (``torch.arange(0,
W).view(1, -1).repeat(H, 1)``, ``vgrid[:, 0, :, :] = 2.0 * vgrid[:, 0, :, :].clone() / max(W -
1, 1) - 1.0``, ``F.grid_sample`` of the image and of ``torch.ones(x.size())``, ``mask[mask <
0.9999] = 0``) for a photometric loss. Gradients run through the correlation volume, every
``grid_sample`` (into its input and its grid) and both upsamplings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # RAFT's ``.float()`` calls fix the correlation features to float32
BATCH, IMG, FDIM, SCALE, LEVELS, RADIUS, ITERS, STEPS = 2, 16, 8, 4, 2, 1, 3, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class TinyRAFT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fnet = nn.Sequential(
                nn.Conv2d(3, 8, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(8, FDIM, 3, stride=2, padding=1),
            )
            cor_planes = LEVELS * (2 * RADIUS + 1) ** 2
            self.convc1 = nn.Conv2d(cor_planes, 16, 1, padding=0)
            self.convf1 = nn.Conv2d(2, 8, 3, padding=1)
            self.flow_head = nn.Conv2d(24, 2, 3, padding=1)
            self.mask = nn.Sequential(
                nn.Conv2d(24, 16, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(16, SCALE * SCALE * 9, 1, padding=0),
            )

        def initialize_flow(self, img: Any) -> tuple[Any, Any]:
            N, C, H, W = img.shape
            coords0 = coords_grid(torch, N, H // SCALE, W // SCALE, device=img.device)
            coords1 = coords_grid(torch, N, H // SCALE, W // SCALE, device=img.device)
            return coords0, coords1

        def upsample_flow(self, flow: Any, mask: Any) -> Any:
            """Upsample flow field [H/s, W/s, 2] -> [H, W, 2] using convex combination"""
            N, _, H, W = flow.shape
            mask = mask.view(N, 1, 9, SCALE, SCALE, H, W)
            mask = torch.softmax(mask, dim=2)

            up_flow = F.unfold(SCALE * flow, [3, 3], padding=1)
            up_flow = up_flow.view(N, 2, 9, 1, 1, H, W)

            up_flow = torch.sum(mask * up_flow, dim=2)
            up_flow = up_flow.permute(0, 1, 4, 2, 5, 3)
            return up_flow.reshape(N, 2, SCALE * H, SCALE * W)

        def forward(self, image1: Any, image2: Any, iters: int = ITERS) -> list:
            image1 = 2 * image1 - 1.0
            image2 = 2 * image2 - 1.0
            fmap1, fmap2 = self.fnet(image1), self.fnet(image2)
            corr_fn = CorrBlock(torch, fmap1.float(), fmap2.float(), LEVELS, RADIUS)
            coords0, coords1 = self.initialize_flow(image1)

            flow_predictions = []
            for itr in range(iters):
                coords1 = coords1.detach()
                corr = corr_fn(coords1)  # index correlation volume
                flow = coords1 - coords0
                motion = torch.cat([F.relu(self.convc1(corr)), F.relu(self.convf1(flow))], dim=1)
                delta_flow = self.flow_head(motion)
                coords1 = coords1 + delta_flow
                if itr % 2 == 0:
                    flow_up = self.upsample_flow(coords1 - coords0, 0.25 * self.mask(motion))
                else:
                    flow_up = upflow(torch, coords1 - coords0)
                flow_predictions.append(flow_up)
            return flow_predictions

    return TinyRAFT()


def bilinear_sampler(torch_like: Any, img: Any, coords: Any, mask: bool = False) -> Any:
    """Wrapper for grid_sample, uses pixel coordinates"""
    torch = torch_like
    F = torch_like.nn.functional
    H, W = img.shape[-2:]
    xgrid, ygrid = coords.split([1, 1], dim=-1)
    xgrid = 2 * xgrid / (W - 1) - 1
    ygrid = 2 * ygrid / (H - 1) - 1

    grid = torch.cat([xgrid, ygrid], dim=-1)
    img = F.grid_sample(img, grid, align_corners=True)

    if mask:
        mask = (xgrid > -1) & (ygrid > -1) & (xgrid < 1) & (ygrid < 1)
        return img, mask.float()

    return img


def coords_grid(torch_like: Any, batch: int, ht: int, wd: int, device: Any) -> Any:
    torch = torch_like
    coords = torch.meshgrid(
        torch.arange(ht, device=device), torch.arange(wd, device=device), indexing="ij"
    )
    coords = torch.stack(coords[::-1], dim=0).float()
    return coords[None].repeat(batch, 1, 1, 1)


def upflow(torch_like: Any, flow: Any, mode: str = "bilinear") -> Any:
    """``upflow8`` at this model's scale."""
    F = torch_like.nn.functional
    new_size = (SCALE * flow.shape[2], SCALE * flow.shape[3])
    return SCALE * F.interpolate(flow, size=new_size, mode=mode, align_corners=True)


class CorrBlock:
    def __init__(
        self, torch_like: Any, fmap1: Any, fmap2: Any, num_levels: int = 4, radius: int = 4
    ) -> None:
        F = torch_like.nn.functional
        self.torch = torch_like
        self.num_levels = num_levels
        self.radius = radius
        self.corr_pyramid = []

        # all pairs correlation
        corr = CorrBlock.corr(torch_like, fmap1, fmap2)

        batch, h1, w1, dim, h2, w2 = corr.shape
        corr = corr.reshape(batch * h1 * w1, dim, h2, w2)

        self.corr_pyramid.append(corr)
        for _ in range(self.num_levels - 1):
            corr = F.avg_pool2d(corr, 2, stride=2)
            self.corr_pyramid.append(corr)

    def __call__(self, coords: Any) -> Any:
        torch = self.torch
        r = self.radius
        coords = coords.permute(0, 2, 3, 1)
        batch, h1, w1, _ = coords.shape

        out_pyramid = []
        for i in range(self.num_levels):
            corr = self.corr_pyramid[i]
            dx = torch.linspace(-r, r, 2 * r + 1, device=coords.device)
            dy = torch.linspace(-r, r, 2 * r + 1, device=coords.device)
            delta = torch.stack(torch.meshgrid(dy, dx, indexing="ij"), axis=-1)

            centroid_lvl = coords.reshape(batch * h1 * w1, 1, 1, 2) / 2**i
            delta_lvl = delta.view(1, 2 * r + 1, 2 * r + 1, 2)
            coords_lvl = centroid_lvl + delta_lvl

            corr = bilinear_sampler(torch, corr, coords_lvl)
            corr = corr.view(batch, h1, w1, -1)
            out_pyramid.append(corr)

        out = torch.cat(out_pyramid, dim=-1)
        return out.permute(0, 3, 1, 2).contiguous().float()

    @staticmethod
    def corr(torch_like: Any, fmap1: Any, fmap2: Any) -> Any:
        torch = torch_like
        batch, dim, ht, wd = fmap1.shape
        fmap1 = fmap1.view(batch, dim, ht * wd)
        fmap2 = fmap2.view(batch, dim, ht * wd)

        corr = torch.matmul(fmap1.transpose(1, 2), fmap2)
        corr = corr.view(batch, ht, wd, 1, ht, wd)
        return corr / torch.sqrt(torch.tensor(dim).float())


def warp(torch_like: Any, x: Any, flo: Any) -> Any:
    """warp an image/tensor (im2) back to im1, according to the optical flow"""
    torch = torch_like
    F = torch_like.nn.functional
    B, C, H, W = x.size()
    # mesh grid
    xx = torch.arange(0, W).view(1, -1).repeat(H, 1)
    yy = torch.arange(0, H).view(-1, 1).repeat(1, W)
    xx = xx.view(1, 1, H, W).repeat(B, 1, 1, 1)
    yy = yy.view(1, 1, H, W).repeat(B, 1, 1, 1)
    grid = torch.cat((xx, yy), 1).float()

    vgrid = grid + flo

    # scale grid to [-1,1]
    vgrid[:, 0, :, :] = 2.0 * vgrid[:, 0, :, :].clone() / max(W - 1, 1) - 1.0
    vgrid[:, 1, :, :] = 2.0 * vgrid[:, 1, :, :].clone() / max(H - 1, 1) - 1.0

    vgrid = vgrid.permute(0, 2, 3, 1)
    output = F.grid_sample(x, vgrid, align_corners=True)
    mask = torch.ones(x.size())
    mask = F.grid_sample(mask, vgrid, align_corners=True)

    mask[mask < 0.9999] = 0
    mask[mask > 0] = 1

    return output * mask


def sequence_loss(
    torch_like: Any, flow_preds: list, flow_gt: Any, valid: Any, gamma: float = 0.8
) -> tuple[Any, dict]:
    """Loss function defined over sequence of flow predictions"""
    torch = torch_like
    n_predictions = len(flow_preds)
    flow_loss = 0.0

    # exlude invalid pixels and extremely large diplacements
    mag = torch.sum(flow_gt**2, dim=1).sqrt()
    valid = (valid >= 0.5) & (mag < 400)

    for i in range(n_predictions):
        i_weight = gamma ** (n_predictions - i - 1)
        i_loss = (flow_preds[i] - flow_gt).abs()
        flow_loss += i_weight * (valid[:, None] * i_loss).mean()

    epe = torch.sum((flow_preds[-1] - flow_gt) ** 2, dim=1).sqrt()
    epe = epe.view(-1)[valid.view(-1)]

    metrics = {
        "epe": epe.mean().item(),
        "1px": (epe < 1).float().mean().item(),
        "3px": (epe < 3).float().mean().item(),
    }
    return flow_loss, metrics


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(4)
    base = rng.uniform(0.0, 1.0, (BATCH, 3, IMG + 2, IMG + 2))
    image1 = as_tensor(torch, base[:, :, 1:-1, 1:-1].astype(np.float32))
    image2 = as_tensor(torch, base[:, :, 2:, :-2].astype(np.float32))  # shifted by (+1, -1)
    # image1[y, x] = image2[y - 1, x + 1]: the backward flow is (+1, -1) in (x, y) order
    flow = np.broadcast_to(np.array([1.0, -1.0], np.float32)[:, None, None], (BATCH, 2, IMG, IMG))
    flow_gt = as_tensor(torch, flow)
    valid = as_tensor(torch, (rng.uniform(size=(BATCH, IMG, IMG)) > 0.1).astype(np.float32))
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    # the correlation volume and its lookup at the identity coordinates
    with torch.no_grad():
        fmap1, fmap2 = model.fnet(image1), model.fnet(image2)
        corr_fn = CorrBlock(torch, fmap1, fmap2, LEVELS, RADIUS)
        values += [float(list(corr_fn.corr_pyramid[1].shape) == [BATCH * 16, 1, 2, 2])]
        values += [c.sum().item() for c in corr_fn.corr_pyramid]
        coords0 = coords_grid(torch, BATCH, IMG // SCALE, IMG // SCALE, image1.device)
        looked = corr_fn(coords0 + 0.3)
        values += [looked.abs().sum().item(), looked[1, :, 2, 1].sum().item()]
        values += [float(looked.dtype == torch.float32), float(looked.is_contiguous())]
        sampled, inside = bilinear_sampler(torch, fmap1, coords0.permute(0, 2, 3, 1) * 1.5, True)
        values += [sampled.sum().item(), inside.sum().item()]
        # warping image2 by the true flow gives image1 where the flow stays in bounds
        warped = warp(torch, image2, flow_gt)
        seen = warped[:, :, 1:, :-1] - image1[:, :, 1:, :-1]
        values += [seen.abs().max().item(), warped[:, :, 0].abs().sum().item()]

    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-5, eps=1e-8)
    for _ in range(STEPS):
        optimizer.zero_grad()
        flow_predictions = model(image1, image2, iters=ITERS)
        loss, metrics = sequence_loss(torch, flow_predictions, flow_gt, valid)
        photo = (warp(torch, image2, flow_predictions[-1]) - image1).abs().mean()
        total = loss + 0.1 * photo
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), photo.item(), grad_norm.item()]
        values += [metrics["epe"], metrics["1px"], metrics["3px"]]
    values += [p.abs().sum().item() for p in model.parameters()]

    # gradients into the sampled input and into the sampling grid of grid_sample
    img = as_tensor(torch, rng.standard_normal((1, 2, 5, 6)).astype(np.float32))
    img.requires_grad_()
    flow = as_tensor(torch, rng.uniform(-1.5, 1.5, (1, 2, 5, 6)).astype(np.float32))
    flow.requires_grad_()
    out = warp(torch, img, flow)
    (out * torch.linspace(0.0, 1.0, 6)).sum().backward()
    values += [img.grad.abs().sum().item(), flow.grad.abs().sum().item(), out.sum().item()]
    return values
