"""SIREN (Sitzmann et al. 2020) as vsitzmann/siren's ``explore_siren.ipynb`` writes it, and the
Gaussian Fourier-feature MLP of Tancik et al. 2020 (``fourier-feature-networks``' demo, as its
PyTorch ports write it), both fitting a small image, size-reduced.

SIREN's idioms: ``SineLayer`` (``self.omega_0``, ``is_first``, ``init_weights`` under ``with
torch.no_grad():`` with ``self.linear.weight.uniform_(-1 / self.in_features, 1 /
self.in_features)`` for the first layer and ``uniform_(-np.sqrt(6 / self.in_features) /
self.omega_0, ...)`` after it, ``torch.sin(self.omega_0 * self.linear(input))``); ``Siren``
building ``self.net`` as a list then ``nn.Sequential(*self.net)``, an ``outermost_linear`` last
layer initialised the same way, ``forward`` returning ``coords = coords.clone().detach()
.requires_grad_(True)`` with the output; ``get_mgrid`` (``torch.linspace``, ``torch.stack(
torch.meshgrid(*tensors, indexing="ij"), dim=-1)``, ``.reshape(-1, dim)``); the image as
``img.permute(1, 2, 0).view(-1, 1)`` normalised to [-1, 1]; ``gradient`` (``torch.autograd.grad
(y, [x], grad_outputs=torch.ones_like(y), create_graph=True)[0]``), ``divergence`` summing
``torch.autograd.grad(y[..., i], x, torch.ones_like(y[..., i]), create_graph=True)[0][...,
i:i+1]`` and ``laplace``; the fitting loop (``Adam(lr=1e-4, params=img_siren.parameters())``,
``((model_output - ground_truth)**2).mean()``) and the Poisson-style fit to the image's
gradients, whose loss goes through ``create_graph=True`` (a double backward through ``sin``).

Fourier features: a ``register_buffer``'d ``B = torch.randn(mapping_size, 2) * scale`` and
``x_proj = (2.0 * np.pi * x) @ self.B.T``, ``torch.cat([torch.sin(x_proj), torch.cos(x_proj)],
dim=-1)`` feeding a ReLU MLP with a sigmoid output.

Changed: the cameraman image -> a synthetic 10x10 image, 256 hidden -> 16, 3 hidden layers -> 1,
500 steps -> 4 each, lr 1e-4 -> 1e-3 (so the few steps move the loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-5
SIDE, HIDDEN, MAPPING = 10, 16, 8


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn

    class SineLayer(nn.Module):
        # See paper sec. 3.2, final paragraph, and supplement Sec. 1.5 for discussion of omega_0.
        def __init__(
            self,
            in_features: int,
            out_features: int,
            bias: bool = True,
            is_first: bool = False,
            omega_0: float = 30,
        ) -> None:
            super().__init__()
            self.omega_0 = omega_0
            self.is_first = is_first
            self.in_features = in_features
            self.linear = nn.Linear(in_features, out_features, bias=bias)
            self.init_weights()

        def init_weights(self) -> None:
            with torch.no_grad():
                if self.is_first:
                    self.linear.weight.uniform_(-1 / self.in_features, 1 / self.in_features)
                else:
                    self.linear.weight.uniform_(
                        -np.sqrt(6 / self.in_features) / self.omega_0,
                        np.sqrt(6 / self.in_features) / self.omega_0,
                    )

        def forward(self, input: Any) -> Any:
            return torch.sin(self.omega_0 * self.linear(input))

    class Siren(nn.Module):
        def __init__(
            self,
            in_features: int,
            hidden_features: int,
            hidden_layers: int,
            out_features: int,
            outermost_linear: bool = False,
            first_omega_0: float = 30,
            hidden_omega_0: float = 30.0,
        ) -> None:
            super().__init__()
            self.net = []
            self.net.append(
                SineLayer(in_features, hidden_features, is_first=True, omega_0=first_omega_0)
            )
            for _i in range(hidden_layers):
                self.net.append(
                    SineLayer(
                        hidden_features, hidden_features, is_first=False, omega_0=hidden_omega_0
                    )
                )
            if outermost_linear:
                final_linear = nn.Linear(hidden_features, out_features)
                with torch.no_grad():
                    final_linear.weight.uniform_(
                        -np.sqrt(6 / hidden_features) / hidden_omega_0,
                        np.sqrt(6 / hidden_features) / hidden_omega_0,
                    )
                self.net.append(final_linear)
            else:
                self.net.append(
                    SineLayer(hidden_features, out_features, is_first=False, omega_0=hidden_omega_0)
                )
            self.net = nn.Sequential(*self.net)

        def forward(self, coords: Any) -> tuple[Any, Any]:
            # allows to take derivative w.r.t. input
            coords = coords.clone().detach().requires_grad_(True)
            output = self.net(coords)
            return output, coords

    class FourierFeatureMLP(nn.Module):
        def __init__(self, mapping_size: int, scale: float, hidden: int) -> None:
            super().__init__()
            self.register_buffer("B", torch.randn(mapping_size, 2) * scale)
            self.mlp = nn.Sequential(
                nn.Linear(2 * mapping_size, hidden),
                nn.ReLU(),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Linear(hidden, 1),
                nn.Sigmoid(),
            )

        def input_mapping(self, x: Any) -> Any:
            x_proj = (2.0 * np.pi * x) @ self.B.T
            return torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)

        def forward(self, x: Any) -> Any:
            return self.mlp(self.input_mapping(x))

    class Models(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.siren = Siren(2, HIDDEN, 1, 1, outermost_linear=True)
            self.poisson = Siren(2, HIDDEN, 1, 1, outermost_linear=True)
            self.ffn = FourierFeatureMLP(MAPPING, 3.0, HIDDEN)

    return Models, Siren


def make_model(torch_like: Any) -> Any:
    Models, _ = _classes(torch_like)
    return Models()


def get_mgrid(torch_like: Any, sidelen: int, dim: int = 2) -> Any:
    """Generates a flattened grid of (x,y,...) coordinates in a range of -1 to 1."""
    torch = torch_like
    tensors = tuple(dim * [torch.linspace(-1, 1, steps=sidelen)])
    mgrid = torch.stack(torch.meshgrid(*tensors, indexing="ij"), dim=-1)
    mgrid = mgrid.reshape(-1, dim)
    return mgrid


def _image() -> np.ndarray:
    yy, xx = np.meshgrid(np.linspace(0, 1, SIDE), np.linspace(0, 1, SIDE), indexing="ij")
    img = 0.5 + 0.3 * np.sin(6 * xx) * np.cos(4 * yy) + 0.2 * (xx > 0.5)
    return img[None].astype(np.float32)  # 1 x H x W, in [0, 1] as ToTensor() gives


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like

    def gradient(y: Any, x: Any, grad_outputs: Any = None) -> Any:
        if grad_outputs is None:
            grad_outputs = torch.ones_like(y)
        grad = torch.autograd.grad(y, [x], grad_outputs=grad_outputs, create_graph=True)[0]
        return grad

    def divergence(y: Any, x: Any) -> Any:
        div = 0.0
        for i in range(y.shape[-1]):
            div += torch.autograd.grad(y[..., i], x, torch.ones_like(y[..., i]), create_graph=True)[
                0
            ][..., i : i + 1]
        return div

    def laplace(y: Any, x: Any) -> Any:
        grad = gradient(y, x)
        return divergence(grad, x)

    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    values: list[float] = []

    # SIREN's initialisation bounds (drawn by each framework's own generator)
    fresh = make_model(torch_like).siren.net
    values.append(float(fresh[0].linear.weight.abs().max() <= 1 / 2))
    values.append(float(fresh[1].linear.weight.abs().max() <= np.sqrt(6 / HIDDEN) / 30))
    values.append(float(fresh[2].weight.abs().max() <= np.sqrt(6 / HIDDEN) / 30))

    img = as_tensor(torch, _image())
    pixels = ((img - 0.5) / 0.5).permute(1, 2, 0).view(-1, 1)
    coords = get_mgrid(torch, SIDE, 2)
    model_input, ground_truth = coords.unsqueeze(0), pixels.unsqueeze(0)

    # fit the image
    img_siren = models.siren
    optim = torch.optim.Adam(lr=1e-3, params=img_siren.parameters())
    for _step in range(4):
        model_output, coords_g = img_siren(model_input)
        loss = ((model_output - ground_truth) ** 2).mean()
        img_grad = gradient(model_output, coords_g)
        img_laplacian = laplace(model_output, coords_g)
        values += [loss.item(), img_grad.norm(dim=-1).mean().item()]
        values += [img_laplacian.abs().mean().item()]
        optim.zero_grad()
        loss.backward()
        optim.step()
    values += img_laplacian.flatten()[:6].tolist() + img_grad.flatten()[:6].tolist()
    values.append(float(img_grad.requires_grad and coords_g.is_leaf))

    # Poisson-style: fit the image's finite-difference gradients through create_graph
    gt = pixels.view(SIDE, SIDE)
    gx = torch.zeros_like(gt)
    gy = torch.zeros_like(gt)
    step = 2.0 / (SIDE - 1)
    gx[1:-1] = (gt[2:] - gt[:-2]) / (2 * step)
    gy[:, 1:-1] = (gt[:, 2:] - gt[:, :-2]) / (2 * step)
    gt_grads = torch.stack([gx, gy], dim=-1).view(1, -1, 2)
    poisson = models.poisson
    optim = torch.optim.Adam(lr=1e-3, params=poisson.parameters())
    for _step in range(4):
        model_output, coords_g = poisson(model_input)
        train_loss = ((gradient(model_output, coords_g) - gt_grads) ** 2).mean()
        optim.zero_grad()
        train_loss.backward()
        optim.step()
        values.append(train_loss.item())
    values += poisson.net[0].linear.weight.grad.flatten()[:6].tolist()

    # Gaussian Fourier features + ReLU MLP on the [0, 1] image
    ffn = models.ffn
    x01 = (coords + 1) / 2
    optim = torch.optim.Adam(ffn.parameters(), lr=1e-2)
    for _step in range(4):
        pred = ffn(x01)
        loss = 0.5 * ((pred - img.view(-1, 1)) ** 2).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
        psnr = -10 * torch.log10(2.0 * loss)
        values += [loss.item(), psnr.item()]
    values.append(float("B" in dict(ffn.named_buffers()) and not ffn.B.requires_grad))
    return values
