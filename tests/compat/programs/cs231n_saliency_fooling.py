"""CS231n assignment 3, "Network Visualization" (``net_visualization_pytorch.py``), on a small
CNN instead of SqueezeNet, size-reduced.

The idioms: a pretrained-style model put in ``model.eval()`` with ``for param in
model.parameters(): param.requires_grad = False``; saliency maps (``X.requires_grad_()``,
``scores = model(X)``, ``scores.gather(1, y.view(-1, 1)).squeeze()``, ``scores.backward(
torch.ones_like(scores))`` or ``.sum().backward()``, ``saliency, _ = torch.max(
X.grad.data.abs(), dim=1)``); fooling images (``X_fooling = X.clone()``,
``X_fooling.requires_grad_()``, a loop over ``scores[0, target_y]`` backward, ``g =
X_fooling.grad``, ``dX = learning_rate * g / g.norm()``, ``X_fooling.data += dX.data``,
``X_fooling.grad.zero_()``, ``scores.data.max(1)[1][0].item()``); class visualisation with
jitter (``jitter`` with ``torch.roll(X, shifts=(ox, oy), dims=(2, 3))`` and ``torch.cat``
slices as the assignment's helper writes it, NumPy-chosen shifts, gradient ascent with L2
regularisation ``scores[0, target_y] - l2_reg * img.norm() ** 2``, the per-channel
``img.data[:, c].clamp_(min=lo, max=hi)``, and a blur through ``F.conv2d`` with a fixed
Gaussian kernel and ``groups=3`` standing in for ``scipy.ndimage.gaussian_filter1d``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, C, H, W, CLASSES = 3, 3, 8, 8, 5
SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406])
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225])


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(C, 6, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, CLASSES),
    )


def compute_saliency_maps(torch_like: Any, X: Any, y: Any, model: Any) -> Any:
    torch = torch_like
    model.eval()
    X.requires_grad_()
    scores = model(X)
    scores = scores.gather(1, y.view(-1, 1)).squeeze()
    scores.backward(torch.ones_like(scores))
    saliency, _ = torch.max(X.grad.data.abs(), dim=1)
    return saliency


def compute_saliency_maps_sum(X: Any, y: Any, model: Any) -> Any:
    X = X.clone().detach().requires_grad_(True)
    scores = model(X)
    correct = scores.gather(1, y.view(-1, 1)).squeeze()
    correct.sum().backward()
    return X.grad.abs().max(dim=1).values


def make_fooling_image(torch_like: Any, X: Any, target_y: int, model: Any) -> tuple[Any, list]:
    X_fooling = X.clone()
    X_fooling = X_fooling.requires_grad_()
    learning_rate = 1
    trace = []
    for _ in range(6):
        scores = model(X_fooling)
        idx = scores.data.max(1)[1][0].item()
        trace.append(float(idx))
        if idx == target_y:
            break
        score = scores[0, target_y]
        score.backward()
        g = X_fooling.grad
        dX = learning_rate * g / g.norm()
        X_fooling.data += dX.data
        X_fooling.grad.zero_()
        trace.append(score.item())
    return X_fooling, trace


def jitter(torch_like: Any, X: Any, ox: int, oy: int) -> Any:
    """The assignment's helper: a random circular shift written with ``torch.cat``."""
    torch = torch_like
    if ox != 0:
        left = X[:, :, :, :-ox]
        right = X[:, :, :, -ox:]
        X = torch.cat([right, left], dim=3)
    if oy != 0:
        top = X[:, :, :-oy]
        bottom = X[:, :, -oy:]
        X = torch.cat([bottom, top], dim=2)
    return X


def blur_image(torch_like: Any, X: Any, sigma: float = 1.0) -> Any:
    """Separable Gaussian blur per channel: ``F.conv2d`` with ``groups=3``."""
    torch = torch_like
    F = torch_like.nn.functional
    radius = 2
    xs = torch.arange(-radius, radius + 1, dtype=X.dtype)
    k1 = torch.exp(-(xs**2) / (2 * sigma**2))
    k1 = k1 / k1.sum()
    k_h = k1.view(1, 1, 1, -1).repeat(3, 1, 1, 1)
    k_v = k1.view(1, 1, -1, 1).repeat(3, 1, 1, 1)
    X = F.conv2d(F.pad(X, (radius, radius, 0, 0), mode="reflect"), k_h, groups=3)
    X = F.conv2d(F.pad(X, (0, 0, radius, radius), mode="reflect"), k_v, groups=3)
    return X


def create_class_visualization(
    torch_like: Any, target_y: int, model: Any, rng: np.random.Generator
) -> tuple[Any, list]:
    torch = torch_like
    l2_reg, learning_rate, num_iterations, max_jitter, blur_every = 1e-3, 25, 6, 2, 3
    img = as_tensor(torch_like, rng.standard_normal((1, 3, H, W))).mul_(1.0).requires_grad_()
    trace = []
    for t in range(num_iterations):
        ox, oy = (int(v) for v in rng.integers(0, max_jitter + 1, 2))
        before = img.data.clone()
        img.data.copy_(jitter(torch_like, img.data, ox, oy))
        rolled = torch.roll(before, shifts=(oy, ox), dims=(2, 3))  # the same shift
        trace.append((rolled - img.data).abs().max().item())
        trace.append(torch.roll(before, shifts=(ox, oy), dims=(2, 3))[0, :, 0, 0].sum().item())

        scores = model(img)
        objective = scores[0, target_y] - l2_reg * img.norm() ** 2
        objective.backward()
        img.data += learning_rate * img.grad.data / img.grad.data.norm()
        img.grad.data.zero_()
        trace.append(objective.item())

        img.data.copy_(jitter(torch_like, img.data, -ox, -oy))
        for c in range(3):
            lo = float(-SQUEEZENET_MEAN[c] / SQUEEZENET_STD[c])
            hi = float((1.0 - SQUEEZENET_MEAN[c]) / SQUEEZENET_STD[c])
            img.data[:, c].clamp_(min=lo, max=hi)
        if t % blur_every == 0:
            img.data.copy_(blur_image(torch_like, img.data, sigma=0.5))
    return img, trace


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(231)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.eval()
    for param in model.parameters():
        param.requires_grad = False
    values: list[float] = [float(any(p.requires_grad for p in model.parameters()))]

    X = as_tensor(torch_like, rng.standard_normal((N, C, H, W)))
    y = torch.tensor([0, 2, 4])
    saliency = compute_saliency_maps(torch_like, X, y, model)
    values += list(saliency.shape) + saliency.flatten().tolist()
    again = compute_saliency_maps_sum(X.detach(), y, model)
    values += [(again - saliency).abs().max().item()]

    target_y = 3
    X_fooling, trace = make_fooling_image(torch_like, X.detach()[0:1], target_y, model)
    values += trace + [(X_fooling - X.detach()[0:1]).abs().max().item()]
    values += [float(X_fooling.requires_grad), float(X_fooling.is_leaf)]

    img, trace = create_class_visualization(torch_like, 1, model, rng)
    values += trace + img.detach().flatten().tolist()
    values += [math.fsum(img.detach().flatten().tolist())]
    return values
