"""SchNet (Schütt et al. 2017) with continuous-filter convolutions, as PyTorch Geometric's
``models/schnet.py`` and schnetpack write it, trained on energies and forces, size-reduced.

The idioms: ``GaussianSmearing`` (``offset = torch.linspace(start, stop, num_gaussians)``,
``self.coeff = -0.5 / (offset[1] - offset[0]).item()**2``, ``register_buffer('offset',
offset)``, ``torch.exp(self.coeff * torch.pow(dist.view(-1, 1) - self.offset.view(1, -1),
2))``); ``ShiftedSoftplus`` (``self.shift = torch.log(torch.tensor(2.0)).item()``,
``F.softplus(x) - self.shift``); ``CFConv`` (``lin1`` without bias, the filter network
``Sequential(Linear(num_gaussians, num_filters), ShiftedSoftplus(), Linear(num_filters,
num_filters))``, the cosine cutoff ``C = 0.5 * (torch.cos(edge_weight * PI / self.cutoff) +
1.0)``, ``W = self.nn(edge_attr) * C.view(-1, 1)``, messages ``x[col] * W`` summed at the
receiver by ``index_add``); ``InteractionBlock`` (``conv``, ``act``, ``lin``, residual ``h = h
+ interaction(...)``); ``SchNet`` (``nn.Embedding(100, hidden_channels, padding_idx=0)``,
``xavier_uniform_`` resets, ``lin1`` / ``act`` / ``lin2`` per atom, the molecule sum
``torch.zeros(num_mol, 1).index_add_(0, batch, h)``); the radius graph from
``torch.cdist(pos, pos)`` under ``torch.no_grad()`` with ``(dist < cutoff) & (batch[:, None]
== batch[None, :])`` and the diagonal dropped, ``.nonzero().t()``, edge lengths ``(pos[row] -
pos[col]).norm(dim=-1)``; the training step of energy-and-force models (``pos.requires_grad_(
True)``, ``forces = -torch.autograd.grad(energy.sum(), pos, create_graph=True)[0]``, ``loss =
rho * F.mse_loss(energy, E) + (1 - rho) * F.mse_loss(forces, F)``, ``torch.optim.Adam``,
``ReduceLROnPlateau``); and evaluation with forces taken without ``create_graph`` through the
dense ``torch.cdist`` distances (``dist[row, col]``: the diagonal's zero distances are in the
graph and must give no gradient).

Changed: QM9/MD17 are three small molecules whose reference energies and forces come from a
Morse potential (NumPy); hidden 128 -> 8, filters 128 -> 8, 50 Gaussians -> 10, 6
interactions -> 2, cutoff 10 -> 3; 6 training steps. ``torch.cdist`` stays out of the
double-backward path, as PyTorch does not differentiate its backward.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, FILTERS, GAUSSIANS, INTERACTIONS, CUTOFF, STEPS, RHO = 8, 8, 10, 2, 3.0, 6, 0.1


def _classes(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Linear, Sequential = nn.Linear, nn.Sequential

    class GaussianSmearing(nn.Module):
        def __init__(self, start: float = 0.0, stop: float = 5.0, num_gaussians: int = 50):
            super().__init__()
            offset = torch.linspace(start, stop, num_gaussians)
            self.coeff = -0.5 / (offset[1] - offset[0]).item() ** 2
            self.register_buffer("offset", offset)

        def forward(self, dist: Any) -> Any:
            dist = dist.view(-1, 1) - self.offset.view(1, -1)
            return torch.exp(self.coeff * torch.pow(dist, 2))

    class ShiftedSoftplus(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shift = torch.log(torch.tensor(2.0)).item()

        def forward(self, x: Any) -> Any:
            return F.softplus(x) - self.shift

    class CFConv(nn.Module):
        def __init__(
            self, in_channels: int, out_channels: int, num_filters: int, nn: Any, cutoff: float
        ) -> None:
            super().__init__()
            self.lin1 = Linear(in_channels, num_filters, bias=False)
            self.lin2 = Linear(num_filters, out_channels)
            self.nn = nn
            self.cutoff = cutoff

            self.reset_parameters()

        def reset_parameters(self) -> None:
            torch.nn.init.xavier_uniform_(self.lin1.weight)
            torch.nn.init.xavier_uniform_(self.lin2.weight)
            self.lin2.bias.data.fill_(0)

        def forward(self, x: Any, edge_index: Any, edge_weight: Any, edge_attr: Any) -> Any:
            row, col = edge_index
            C = 0.5 * (torch.cos(edge_weight * math.pi / self.cutoff) + 1.0)
            W = self.nn(edge_attr) * C.view(-1, 1)

            x = self.lin1(x)
            msg = x[col] * W
            x = torch.zeros_like(x).index_add(0, row, msg)
            x = self.lin2(x)
            return x

    class InteractionBlock(nn.Module):
        def __init__(
            self, hidden_channels: int, num_gaussians: int, num_filters: int, cutoff: float
        ) -> None:
            super().__init__()
            self.mlp = Sequential(
                Linear(num_gaussians, num_filters),
                ShiftedSoftplus(),
                Linear(num_filters, num_filters),
            )
            self.conv = CFConv(hidden_channels, hidden_channels, num_filters, self.mlp, cutoff)
            self.act = ShiftedSoftplus()
            self.lin = Linear(hidden_channels, hidden_channels)

            self.reset_parameters()

        def reset_parameters(self) -> None:
            torch.nn.init.xavier_uniform_(self.mlp[0].weight)
            self.mlp[0].bias.data.fill_(0)
            torch.nn.init.xavier_uniform_(self.mlp[2].weight)
            self.mlp[2].bias.data.fill_(0)
            self.conv.reset_parameters()
            torch.nn.init.xavier_uniform_(self.lin.weight)
            self.lin.bias.data.fill_(0)

        def forward(self, x: Any, edge_index: Any, edge_weight: Any, edge_attr: Any) -> Any:
            x = self.conv(x, edge_index, edge_weight, edge_attr)
            x = self.act(x)
            x = self.lin(x)
            return x

    class SchNet(nn.Module):
        def __init__(
            self,
            hidden_channels: int = 128,
            num_filters: int = 128,
            num_interactions: int = 6,
            num_gaussians: int = 50,
            cutoff: float = 10.0,
        ) -> None:
            super().__init__()
            self.hidden_channels = hidden_channels
            self.cutoff = cutoff

            self.embedding = nn.Embedding(100, hidden_channels, padding_idx=0)
            self.distance_expansion = GaussianSmearing(0.0, cutoff, num_gaussians)

            self.interactions = nn.ModuleList()
            for _ in range(num_interactions):
                block = InteractionBlock(hidden_channels, num_gaussians, num_filters, cutoff)
                self.interactions.append(block)

            self.lin1 = Linear(hidden_channels, hidden_channels // 2)
            self.act = ShiftedSoftplus()
            self.lin2 = Linear(hidden_channels // 2, 1)

            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.embedding.reset_parameters()
            for interaction in self.interactions:
                interaction.reset_parameters()
            torch.nn.init.xavier_uniform_(self.lin1.weight)
            self.lin1.bias.data.fill_(0)
            torch.nn.init.xavier_uniform_(self.lin2.weight)
            self.lin2.bias.data.fill_(0)

        def radius_graph(self, pos: Any, batch: Any) -> Any:
            with torch.no_grad():
                dist = torch.cdist(pos, pos)
                adj = (dist < self.cutoff) & (batch[:, None] == batch[None, :])
                adj.fill_diagonal_(False)
            return adj.nonzero().t()

        def forward(self, z: Any, pos: Any, batch: Any, dense: bool = False) -> Any:
            edge_index = self.radius_graph(pos, batch)
            row, col = edge_index
            if dense:
                edge_weight = torch.cdist(pos, pos)[row, col]
            else:
                edge_weight = (pos[row] - pos[col]).norm(dim=-1)
            edge_attr = self.distance_expansion(edge_weight)

            h = self.embedding(z)
            for interaction in self.interactions:
                h = h + interaction(h, edge_index, edge_weight, edge_attr)

            h = self.lin1(h)
            h = self.act(h)
            h = self.lin2(h)

            num_mol = int(batch.max().item()) + 1
            out = torch.zeros(num_mol, 1, dtype=h.dtype).index_add_(0, batch, h)
            return out

        def __repr__(self) -> str:
            return (
                f"{self.__class__.__name__}("
                f"hidden_channels={self.hidden_channels}, "
                f"num_interactions={len(self.interactions)}, "
                f"cutoff={self.cutoff})"
            )

    return SchNet


def make_model(torch_like: Any) -> Any:
    SchNet = _classes(torch_like)
    return SchNet(HIDDEN, FILTERS, INTERACTIONS, GAUSSIANS, CUTOFF)


def _molecules() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three molecules (3, 4 and 5 atoms): numbers, positions, batch, Morse energies, forces."""
    rng = np.random.default_rng(7)
    sizes = [3, 4, 5]
    z = rng.choice([1, 6, 7, 8], size=sum(sizes))
    batch = np.repeat(np.arange(len(sizes)), sizes)
    pos = np.concatenate([rng.normal(scale=0.8, size=(n, 3)) for n in sizes])
    diff = pos[:, None, :] - pos[None, :, :]
    r = np.linalg.norm(diff, axis=-1)
    same = (batch[:, None] == batch[None, :]) & ~np.eye(len(z), dtype=bool)
    r_safe = np.where(same, r, 1.0)
    x = np.exp(-1.5 * (r_safe - 1.1))
    pair = np.where(same, 0.5 * (x * x - 2 * x), 0.0)
    energy = np.zeros(len(sizes))
    np.add.at(energy, batch, pair.sum(1))
    dpair_dr = np.where(same, 0.5 * (-3.0 * x * x + 3.0 * x), 0.0)
    forces = -((dpair_dr / r_safe)[..., None] * diff).sum(1) * 2 * 0.5
    return z, pos, batch, energy[:, None], forces


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    z_np, pos_np, batch_np, e_np, f_np = _molecules()
    z = torch.from_numpy(z_np)
    batch = torch.from_numpy(batch_np)
    pos = as_tensor(torch_like, pos_np, dtype=torch.get_default_dtype())
    E = as_tensor(torch_like, e_np, dtype=torch.get_default_dtype())
    F_ref = as_tensor(torch_like, f_np, dtype=torch.get_default_dtype())

    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    for _ in range(STEPS):
        model.train()
        optimizer.zero_grad()
        pos.requires_grad_(True)
        energy = model(z, pos, batch)
        forces = -torch.autograd.grad(energy.sum(), pos, create_graph=True)[0]
        loss = RHO * F.mse_loss(energy, E) + (1 - RHO) * F.mse_loss(forces, F_ref)
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item())
        values += [loss.item(), energy.sum().item(), forces.abs().sum().item()]
    values.append(optimizer.param_groups[0]["lr"])

    # evaluation: forces through the dense cdist distances, no create_graph
    model.eval()
    pos_eval = pos.detach().clone().requires_grad_(True)
    energy_dense = model(z, pos_eval, batch, dense=True)
    (grad_dense,) = torch.autograd.grad(energy_dense.sum(), pos_eval)
    energy_sparse = model(z, pos_eval, batch)
    (grad_sparse,) = torch.autograd.grad(energy_sparse.sum(), pos_eval)
    values += [energy_dense.sum().item(), (-grad_dense).abs().sum().item()]
    values.append((grad_dense - grad_sparse).abs().max().item())
    # forces of a molecule are translation invariant: they sum to zero per molecule
    net = torch.zeros(3, 3, dtype=grad_sparse.dtype).index_add_(0, batch, grad_sparse)
    values.append(net.abs().max().item())
    return values
