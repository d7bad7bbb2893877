"""Monocular depth losses as the depth repositories write them, size-reduced: Eigen's
scale-invariant log loss (``SILogLoss`` of AdaBins/BTS: ``torch.log(input[mask]) -
torch.log(target[mask])``, ``10 * torch.sqrt(Dg)`` with ``Dg = torch.var(g) + 0.15 *
torch.pow(torch.mean(g), 2)``, after ``nn.functional.interpolate(input, target.shape[-2:],
mode='bilinear', align_corners=True)``), the reverse Huber ``berHu`` loss of Laina et al.
(``c = 0.2 * torch.max(diff).item()``, ``torch.where(diff <= c, diff, (diff**2 + c**2) / (2 *
c))`` on valid pixels), and MiDaS's scale-and-shift-invariant loss
(``compute_scale_and_shift`` solving the 2x2 normal equations per image with masked sums, the
``det.nonzero()`` guard, ``mse_loss`` with ``reduction_batch_based`` and the multi-scale
``gradient_loss`` on ``prediction[:, ::step, ::step]`` with ``torch.mul(mask_x, torch.abs(diff[:,
:, 1:] - diff[:, :, :-1]))``). A small encoder-decoder predicts ``F.softplus`` depths; Adam with
``OneCycleLR`` trains on the sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N, H, W, STEPS = 2, 8, 12, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class DepthNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(
                nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 1, 1), nn.ReLU()
            )
            self.dec = nn.Conv2d(8, 1, 3, 1, 1)

        def forward(self, x: Any) -> Any:
            return nn.functional.softplus(self.dec(self.enc(x))) + 1e-3

    return DepthNet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class SILogLoss(nn.Module):  # Main loss function used in AdaBins paper
        def __init__(self) -> None:
            super(SILogLoss, self).__init__()  # noqa: UP008
            self.name = "SILog"

        def forward(
            self, input: Any, target: Any, mask: Any = None, interpolate: bool = True
        ) -> Any:
            if interpolate:
                input = nn.functional.interpolate(
                    input, target.shape[-2:], mode="bilinear", align_corners=True
                )
            if mask is not None:
                input = input[mask]
                target = target[mask]
            g = torch.log(input) - torch.log(target)
            # n, c, h, w = g.shape
            # norm = 1/(h*w)
            # Dg = norm * torch.sum(g**2) - (0.85/(norm**2)) * (torch.sum(g))**2
            Dg = torch.var(g) + 0.15 * torch.pow(torch.mean(g), 2)
            return 10 * torch.sqrt(Dg)

    def berhu_loss(pred: Any, target: Any) -> Any:
        assert pred.dim() == target.dim(), "inconsistent dimensions"
        valid_mask = (target > 0).detach()
        diff = torch.abs(target - pred)
        diff = diff[valid_mask]
        c = 0.2 * torch.max(diff).item()
        loss = torch.where(diff <= c, diff, (diff**2 + c**2) / (2 * c))
        return loss.mean()

    def compute_scale_and_shift(prediction: Any, target: Any, mask: Any) -> tuple[Any, Any]:
        # system matrix: A = [[a_00, a_01], [a_10, a_11]]
        a_00 = torch.sum(mask * prediction * prediction, (1, 2))
        a_01 = torch.sum(mask * prediction, (1, 2))
        a_11 = torch.sum(mask, (1, 2))
        # right hand side: b = [b_0, b_1]
        b_0 = torch.sum(mask * prediction * target, (1, 2))
        b_1 = torch.sum(mask * target, (1, 2))
        # solution: x = A^-1 . b = [[a_11, -a_01], [-a_10, a_00]] / (a_00 * a_11 - a_01 * a_10) . b
        x_0 = torch.zeros_like(b_0)
        x_1 = torch.zeros_like(b_1)
        det = a_00 * a_11 - a_01 * a_01
        # A needs to be a positive definite matrix.
        valid = det > 0
        x_0[valid] = (a_11[valid] * b_0[valid] - a_01[valid] * b_1[valid]) / det[valid]
        x_1[valid] = (-a_01[valid] * b_0[valid] + a_00[valid] * b_1[valid]) / det[valid]
        return x_0, x_1

    def reduction_batch_based(image_loss: Any, M: Any) -> Any:
        # average of all valid pixels of the batch
        # avoid division by 0 (if sum(M) = sum(sum(mask)) = 0: sum(image_loss) = 0)
        divisor = torch.sum(M)
        if divisor == 0:
            return 0
        return torch.sum(image_loss) / divisor

    def mse_loss(prediction: Any, target: Any, mask: Any) -> Any:
        M = torch.sum(mask, (1, 2))
        res = prediction - target
        image_loss = torch.sum(mask * res * res, (1, 2))
        return reduction_batch_based(image_loss, 2 * M)

    def gradient_loss(prediction: Any, target: Any, mask: Any) -> Any:
        M = torch.sum(mask, (1, 2))
        diff = prediction - target
        diff = torch.mul(mask, diff)
        grad_x = torch.abs(diff[:, :, 1:] - diff[:, :, :-1])
        mask_x = torch.mul(mask[:, :, 1:], mask[:, :, :-1])
        grad_x = torch.mul(mask_x, grad_x)
        grad_y = torch.abs(diff[:, 1:, :] - diff[:, :-1, :])
        mask_y = torch.mul(mask[:, 1:, :], mask[:, :-1, :])
        grad_y = torch.mul(mask_y, grad_y)
        image_loss = torch.sum(grad_x, (1, 2)) + torch.sum(grad_y, (1, 2))
        return reduction_batch_based(image_loss, M)

    class ScaleAndShiftInvariantLoss(nn.Module):
        def __init__(self, alpha: float = 0.5, scales: int = 2) -> None:
            super().__init__()
            self.__alpha = alpha
            self.__scales = scales
            self.__prediction_ssi = None

        def forward(self, prediction: Any, target: Any, mask: Any) -> Any:
            scale, shift = compute_scale_and_shift(prediction, target, mask)
            self.__prediction_ssi = scale.view(-1, 1, 1) * prediction + shift.view(-1, 1, 1)
            total = mse_loss(self.__prediction_ssi, target, mask)
            if self.__alpha > 0:
                for scale_ in range(self.__scales):
                    step = pow(2, scale_)
                    total += self.__alpha * gradient_loss(
                        self.__prediction_ssi[:, ::step, ::step],
                        target[:, ::step, ::step],
                        mask[:, ::step, ::step],
                    )
            return total

        def __get_prediction_ssi(self) -> Any:
            return self.__prediction_ssi

        prediction_ssi = property(__get_prediction_ssi)

    rng = np.random.default_rng(12)
    images = torch.tensor(rng.random((N, 3, H, W)))
    yy, xx = np.mgrid[0:H, 0:W]
    depth = 1.0 + 0.3 * xx / W + 0.2 * yy / H + 0.05 * rng.random((N, 1, H, W))
    depth[0, 0, :2, :3] = 0.0  # missing ground truth
    target = torch.tensor(depth)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=STEPS)
    silog, ssi = SILogLoss(), ScaleAndShiftInvariantLoss()
    values: list[float] = []
    for _ in range(STEPS):
        pred = model(images)
        up = F.interpolate(pred, target.shape[-2:], mode="bilinear", align_corners=True)
        mask = target > 0
        l_si = silog(pred, target, mask=mask)
        l_bh = berhu_loss(up, target)
        l_ssi = ssi(up.squeeze(1), target.squeeze(1), mask.squeeze(1).to(target.dtype))
        loss = l_si + l_bh + l_ssi
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [l_si.item(), l_bh.item(), l_ssi.item(), scheduler.get_last_lr()[0]]
    values.append(ssi.prediction_ssi.mean().item())
    return values
