"""DeepDream by gradient ascent on the input image, as the PyTorch DeepDream repositories write
it (gordicaleksa/pytorch-deepdream's ``gradient_ascent`` and ``deep_dream_static_image``, the
"DeepDream in PyTorch" notebooks), size-reduced to a small conv net.

The idioms: a frozen model (``model.eval()`` and ``for p in model.parameters():
p.requires_grad_(False)``) whose chosen layer's activation is captured by
``register_forward_hook`` into a dict; the image as ``torch.tensor(img, requires_grad=True)``
optimised by hand: the loss ``torch.nn.MSELoss(reduction='mean')(act, torch.zeros_like(act))``
(or ``act.norm()``), ``loss.backward()``, the gradient normalised as ``g = img.grad.data /
torch.std(img.grad.data)`` or ``img.grad / img.grad.abs().mean()``, then ``img.data += lr * g``
and ``img.grad.data.zero_()``; the random jitter ``torch.roll(img, shifts=(dy, dx), dims=(2,
3))`` before and the inverse roll after each step; the octave pyramid with
``F.interpolate(img, scale_factor=..., mode='bilinear', align_corners=False)`` down and
``F.interpolate(..., size=..., mode='bilinear', align_corners=False)`` back up, with the
detail ``img - upsampled`` carried between octaves; and the clamp to the valid pixel range of
a normalised image ``img.data = torch.max(torch.min(img, upper), lower)`` with per-channel
``mean``/``std`` tensors of shape ``(1, 3, 1, 1)``.

The jitter offsets come from NumPy so both runs roll by the same amounts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SIZE, OCTAVES, SCALE, ITERS, LR, JITTER = 16, 2, 1.5, 3, 0.09, 2
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SmallNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(8, 8, kernel_size=3, padding=1)
            self.relu2 = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.conv3 = nn.Conv2d(8, 6, kernel_size=3, padding=1)

        def forward(self, x: Any) -> Any:
            x = self.relu1(self.conv1(x))
            x = self.relu2(self.conv2(x))
            return self.conv3(self.pool(x))

    return SmallNet()


def gradient_ascent(torch_like: Any, model: Any, activations: dict, img: Any, step: int) -> Any:
    torch = torch_like
    model(img)
    loss_fn = torch.nn.MSELoss(reduction="mean")
    acts = [activations["relu2"], activations["conv3"]]
    losses = [loss_fn(a, torch.zeros_like(a)) for a in acts]
    loss = torch.mean(torch.stack(losses))
    loss.backward()
    if step % 2 == 0:
        grad = img.grad.data
        g_std = torch.std(grad)
        g_mean = torch.mean(grad)
        grad = grad - g_mean
        grad = grad / g_std
    else:
        grad = img.grad / img.grad.abs().mean()
    img.data += LR * grad
    img.grad.data.zero_()
    mean = torch.tensor(MEAN).reshape(1, -1, 1, 1)
    std = torch.tensor(STD).reshape(1, -1, 1, 1)
    lower = -mean / std
    upper = (1 - mean) / std
    img.data = torch.max(torch.min(img, upper), lower)
    return loss


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(21)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    activations: dict = {}

    def save_to(name: str) -> Any:
        def hook(module: Any, inp: Any, out: Any) -> None:
            activations[name] = out

        return hook

    handles = [model.relu2.register_forward_hook(save_to("relu2"))]
    handles.append(model.conv3.register_forward_hook(save_to("conv3")))

    raw = rng.uniform(0, 1, (1, 3, SIZE, SIZE))
    base = as_tensor(torch_like, (raw - MEAN.reshape(1, 3, 1, 1)) / STD.reshape(1, 3, 1, 1))
    octaves = [base]
    for _ in range(OCTAVES - 1):
        octaves.append(
            F.interpolate(octaves[-1], scale_factor=1 / SCALE, mode="bilinear", align_corners=False)
        )
    values: list[float] = [float(o.shape[-1]) for o in octaves]
    detail = torch.zeros_like(octaves[-1])
    step = 0
    for octave_base in octaves[::-1]:
        if detail.shape != octave_base.shape:
            detail = F.interpolate(
                detail, size=octave_base.shape[-2:], mode="bilinear", align_corners=False
            )
        img = torch.tensor((octave_base + detail).numpy(), requires_grad=True)
        for _ in range(ITERS):
            dy, dx = (int(v) for v in rng.integers(-JITTER, JITTER + 1, 2))
            with torch.no_grad():
                img.data = torch.roll(img.data, shifts=(dy, dx), dims=(2, 3))
            loss = gradient_ascent(torch_like, model, activations, img, step)
            with torch.no_grad():
                img.data = torch.roll(img.data, shifts=(-dy, -dx), dims=(2, 3))
            values += [loss.item(), img.detach().abs().sum().item()]
            step += 1
        detail = img.detach() - octave_base
    for handle in handles:
        handle.remove()
    model(img.detach())
    values += [float(len(activations)), float(img.requires_grad), float(img.grad.abs().sum())]
    values += [float(any(p.requires_grad for p in model.parameters()))]
    values += img.detach()[0, :, ::5, ::5].flatten().tolist()
    return values
