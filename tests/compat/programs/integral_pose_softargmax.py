"""Integral human pose regression (Sun et al., ``JimmySuen/integral-human-pose``
``integral_loss.py``, and the soft-argmax heads of later repositories), size-reduced: a small
deconvolution head (``ConvTranspose2d``/``BatchNorm2d``/``ReLU``, a 1x1 ``Conv2d`` to one heatmap
per joint) turns features into heatmaps; ``softmax_integral_tensor`` reshapes them to
``(N, J, H*W)``, applies ``F.softmax(preds * beta, 2)``, reshapes back and takes the expected
coordinates as ``accu_x = heatmaps.sum(dim=2)`` times ``torch.arange(W)`` (the repository's
``generate_3d_integral_preds_tensor``) and also through ``torch.meshgrid(torch.linspace(-1, 1,
H), torch.linspace(-1, 1, W), indexing='ij')`` (the DSNT form); the coordinates are normalised
to ``[-0.5, 0.5]``, the loss is the visibility-weighted L1 (``weighted_l1_loss``, ``torch.abs``
times ``joints_vis``, ``.sum() / num_valid``) plus a Jensen-Shannon-style heatmap regulariser
against Gaussians built on the grid; SGD with momentum and ``MultiStepLR``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N, C, J, H, W, STEPS = 3, 6, 4, 8, 10, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class DeconvHead(nn.Module):
        def __init__(self, in_channels: int = C, num_joints: int = J) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.ConvTranspose2d(
                    in_channels, 8, kernel_size=4, stride=2, padding=1, output_padding=0, bias=False
                ),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
            )
            self.final_layer = nn.Conv2d(8, num_joints, kernel_size=1, stride=1, padding=0)

        def forward(self, x: Any) -> Any:
            return self.final_layer(self.features(x))

    return DeconvHead()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(21)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 3], gamma=0.1)

    def generate_2d_integral_preds_tensor(
        heatmaps: Any, num_joints: int, x_dim: int, y_dim: int
    ) -> tuple[Any, Any]:
        assert isinstance(heatmaps, torch.Tensor)
        heatmaps = heatmaps.reshape((heatmaps.shape[0], num_joints, y_dim, x_dim))
        accu_x = heatmaps.sum(dim=2)
        accu_y = heatmaps.sum(dim=3)
        accu_x = accu_x * torch.arange(x_dim).type(torch.get_default_dtype())
        accu_y = accu_y * torch.arange(y_dim).type(torch.get_default_dtype())
        accu_x = accu_x.sum(dim=2, keepdim=True)
        accu_y = accu_y.sum(dim=2, keepdim=True)
        return accu_x, accu_y

    def softmax_integral_tensor(
        preds: Any, num_joints: int, hm_width: int, hm_height: int, beta: float
    ) -> Any:
        # global soft max
        preds = preds.reshape((preds.shape[0], num_joints, -1))
        preds = F.softmax(preds * beta, 2)
        # integrate heatmap into joint location
        x, y = generate_2d_integral_preds_tensor(preds, num_joints, hm_width, hm_height)
        x = x / float(hm_width) - 0.5
        y = y / float(hm_height) - 0.5
        preds = torch.cat((x, y), dim=2)
        preds = preds.reshape((preds.shape[0], num_joints * 2))
        return preds

    def weighted_l1_loss(input: Any, target: Any, weights: Any, size_average: bool) -> Any:
        out = torch.abs(input - target)
        out = out * weights
        if size_average and weights.sum() > 0:
            return out.sum() / weights.sum()
        return out.sum()

    ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")

    def dsnt(heatmaps: Any) -> Any:
        probs = F.softmax(heatmaps.flatten(2), dim=-1).view_as(heatmaps)
        return torch.stack([(probs * xs).sum((-2, -1)), (probs * ys).sum((-2, -1))], dim=-1), probs

    def gaussians(mu: Any, sigma: float = 0.3) -> Any:
        g = torch.exp(
            -((xs - mu[..., 0, None, None]) ** 2 + (ys - mu[..., 1, None, None]) ** 2)
            / (2 * sigma**2)
        )
        return g / g.sum((-2, -1), keepdim=True)

    def js_reg(p: Any, q: Any, eps: float = 1e-24) -> Any:
        m = 0.5 * (p + q)
        kl = lambda a, b: (a * (torch.log(a + eps) - torch.log(b + eps))).sum((-2, -1))  # noqa: E731
        return (0.5 * kl(p, m) + 0.5 * kl(q, m)).mean()

    feats = torch.tensor(rng.standard_normal((N, C, H // 2, W // 2)))
    target = torch.tensor(rng.uniform(-0.4, 0.4, (N, J * 2)))
    joints_vis = (
        torch.tensor((rng.random((N, J, 1)) < 0.8).astype(np.float64))
        .repeat(1, 1, 2)
        .reshape(N, J * 2)
    )
    values: list[float] = []
    for _ in range(STEPS):
        model.train()
        hm = model(feats)
        preds = softmax_integral_tensor(hm, J, W, H, beta=1.0)
        loss_int = weighted_l1_loss(preds, target, joints_vis, True)
        coords, probs = dsnt(hm)
        tgt_xy = (target.view(N, J, 2) * 2).clamp(-1, 1)
        loss_dsnt = F.mse_loss(coords, tgt_xy) + js_reg(probs, gaussians(tgt_xy))
        loss = loss_int + loss_dsnt
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss_int.item(), loss_dsnt.item()]
    model.eval()
    with torch.no_grad():
        hm = model(feats)
        values += softmax_integral_tensor(hm, J, W, H, beta=1.0)[0].tolist()
        # hard argmax for comparison (the non-differentiable decoding)
        idx = hm.flatten(2).argmax(-1)
        values += (
            torch.stack([idx % W, torch.div(idx, W, rounding_mode="floor")], -1).flatten().tolist()
        )
    return values
