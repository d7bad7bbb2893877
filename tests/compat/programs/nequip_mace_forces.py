"""An equivariant interatomic potential trained on energies and forces, in the forms of
mir-group/nequip (``nequip/nn/radial_basis.py`` ``BesselBasis``, ``nequip/nn/cutoffs.py``
``PolynomialCutoff``, ``nequip/nn/_grad_output.py`` ``ForceOutput``), ACEsuit/mace
(``mace/modules/radial.py``, ``mace/modules/utils.py`` ``get_edge_vectors_and_lengths`` /
``compute_forces``, ``mace/tools/scatter.py`` ``scatter_sum``) and e3nn's real spherical
harmonics up to l = 2 (``e3nn/o3/_spherical_harmonics.py``, ``normalization="component"``),
size-reduced.

The idioms: ``positions.requires_grad_(True)``; ``vectors = positions[receiver] -
positions[sender] + shifts`` and ``lengths = torch.linalg.norm(vectors, dim=-1, keepdim=True)``;
``BesselBasis`` (``bessel_weights = torch.linspace(start=1.0, end=num_basis, steps=num_basis) *
math.pi`` as a trainable ``nn.Parameter``, ``self.prefactor * (torch.sin(self.bessel_weights *
x.unsqueeze(-1) / self.r_max) / x.unsqueeze(-1))``); ``PolynomialCutoff``'s
``_poly_cutoff`` (``1.0 - ((p + 1.0) * (p + 2.0) / 2.0) * torch.pow(x, p) + p * (p + 2.0) *
torch.pow(x, p + 1.0) - (p * (p + 1.0) / 2) * torch.pow(x, p + 2.0)`` then ``out * (x < 1.0)``);
e3nn's ``_spherical_harmonics`` (``sh_0_0 = torch.ones_like(x)``, ``sh_1_0 = x`` ...,
``sh_2_0 = math.sqrt(3.0) * x * z``, ``sh_2_2 = y ** 2 - 0.5 * (x ** 2 + z ** 2)`` with
``torch.stack([...], dim=-1)``, the ``normalize=True`` direction ``x / lengths``, and the
component normalisation ``sh.mul_(torch.cat([(math.sqrt(2 * l + 1) * torch.ones(2 * l + 1))
for l in range(lmax + 1)]))``); ``scatter_sum`` by ``index.unsqueeze(-1).expand_as(src)`` and
``torch.zeros(size).scatter_add_(dim, index, src)``; the invariant contraction of the l = 1, 2
messages (sum of squares per l, what a tensor product to ``0e`` computes), an element embedding
``nn.Embedding`` of the species, ``node_energy`` summed per graph with ``index_add``; the forces
``-torch.autograd.grad(outputs=[energy], inputs=[positions], grad_outputs=[torch.ones_like(energy)],
retain_graph=training, create_graph=training, allow_unused=True)[0]``; the weighted loss
``energy_weight * mse(E / num_atoms) + forces_weight * mse(F)`` backpropagated through the
force computation (double backward); ``torch.optim.Adam(..., amsgrad=True)`` with
``ExponentialLR`` and an EMA of the weights via ``torch.optim.swa_utils.AveragedModel`` with
``get_ema_multi_avg_fn``.

Changed: a Lennard-Jones toy system of two 5-atom clusters with 2 species, ``r_max`` 2.5,
8 Bessel functions, one interaction layer of width 6, lmax 2, 4 steps; no periodic cells
(``shifts`` are zero); e3nn's irreps bookkeeping -> the explicit l = 0, 1, 2 blocks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_ATOMS, N_GRAPHS, N_SPECIES, NUM_BASIS, WIDTH, R_MAX, STEPS, LMAX = 5, 2, 2, 8, 6, 2.5, 4, 2


def scatter_sum(torch_like: Any, src: Any, index: Any, dim: int, dim_size: int) -> Any:
    index = index.unsqueeze(-1).expand_as(src) if src.dim() > index.dim() else index
    size = list(src.size())
    size[dim] = dim_size
    out = torch_like.zeros(size, dtype=src.dtype, device=src.device)
    return out.scatter_add_(dim, index, src)


def spherical_harmonics(torch_like: Any, vectors: Any, lengths: Any) -> Any:
    torch = torch_like
    xyz = vectors / lengths
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    sh_0_0 = torch.ones_like(x)
    sh_1_0, sh_1_1, sh_1_2 = x, y, z
    sh_2_0 = math.sqrt(3.0) * x * z
    sh_2_1 = math.sqrt(3.0) * x * y
    y2 = y.pow(2)
    x2z2 = x.pow(2) + z.pow(2)
    sh_2_2 = y2 - 0.5 * x2z2
    sh_2_3 = math.sqrt(3.0) * y * z
    sh_2_4 = math.sqrt(3.0) / 2.0 * (z.pow(2) - x.pow(2))
    sh = torch.stack(
        [sh_0_0, sh_1_0, sh_1_1, sh_1_2, sh_2_0, sh_2_1, sh_2_2, sh_2_3, sh_2_4], dim=-1
    )
    sh.mul_(torch.cat([(math.sqrt(2 * l + 1) * torch.ones(2 * l + 1)) for l in range(LMAX + 1)]))
    return sh


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class BesselBasis(nn.Module):
        def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = True) -> None:
            super().__init__()
            self.trainable = trainable
            self.num_basis = num_basis
            self.r_max = float(r_max)
            self.prefactor = 2.0 / self.r_max
            bessel_weights = torch.linspace(start=1.0, end=num_basis, steps=num_basis) * math.pi
            if self.trainable:
                self.bessel_weights = nn.Parameter(bessel_weights)
            else:
                self.register_buffer("bessel_weights", bessel_weights)

        def forward(self, x: Any) -> Any:
            numerator = torch.sin(self.bessel_weights * x.unsqueeze(-1) / self.r_max)
            return self.prefactor * (numerator / x.unsqueeze(-1))

    class PolynomialCutoff(nn.Module):
        def __init__(self, r_max: float, p: float = 6) -> None:
            super().__init__()
            assert p >= 2.0
            self.p = float(p)
            self._factor = 1.0 / float(r_max)

        def forward(self, x: Any) -> Any:
            x = x * self._factor
            p = self.p
            out = 1.0
            out = out - (((p + 1.0) * (p + 2.0) / 2.0) * torch.pow(x, p))
            out = out + (p * (p + 2.0) * torch.pow(x, p + 1.0))
            out = out - ((p * (p + 1.0) / 2) * torch.pow(x, p + 2.0))
            return out * (x < 1.0)

    class Potential(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.node_embedding = nn.Embedding(N_SPECIES, WIDTH)
            self.radial_embedding = BesselBasis(R_MAX, NUM_BASIS)
            self.cutoff_fn = PolynomialCutoff(R_MAX)
            self.radial_mlp = nn.Sequential(
                nn.Linear(NUM_BASIS, 16), nn.SiLU(), nn.Linear(16, 3 * WIDTH, bias=False)
            )
            self.readout = nn.Sequential(
                nn.Linear(WIDTH * (LMAX + 2), 16), nn.SiLU(), nn.Linear(16, 1)
            )
            self.atomic_energies = nn.Parameter(torch.zeros(N_SPECIES), requires_grad=False)

        def forward(self, positions: Any, species: Any, edge_index: Any, batch: Any) -> Any:
            sender, receiver = edge_index
            shifts = torch.zeros(sender.shape[0], 3)
            vectors = positions[receiver] - positions[sender] + shifts
            lengths = torch.linalg.norm(vectors, dim=-1, keepdim=True)
            edge_attrs = spherical_harmonics(torch, vectors, lengths)
            radial = self.radial_embedding(lengths.squeeze(-1))
            edge_feats = radial * self.cutoff_fn(lengths)
            weights = self.radial_mlp(edge_feats).view(-1, 3, WIDTH)  # one weight per l
            h = self.node_embedding(species)
            h_send = h[sender]
            blocks = [edge_attrs[:, :1], edge_attrs[:, 1:4], edge_attrs[:, 4:9]]
            invariants = [h]
            for l, Y in enumerate(blocks):
                msg = (weights[:, l] * h_send).unsqueeze(-1) * Y.unsqueeze(1)  # (E, W, 2l+1)
                node = scatter_sum(
                    torch, msg.reshape(msg.shape[0], -1), receiver, 0, positions.shape[0]
                )
                node = node.view(-1, WIDTH, 2 * l + 1)
                invariants.append(node.pow(2).sum(dim=-1) if l > 0 else node.squeeze(-1))
            node_energy = self.readout(torch.cat(invariants, dim=-1)).squeeze(-1)
            node_energy = node_energy + self.atomic_energies[species]
            energy = torch.zeros(N_GRAPHS, dtype=node_energy.dtype).index_add(0, batch, node_energy)
            return energy

    return Potential()


def lj_reference(pos: np.ndarray) -> tuple[float, np.ndarray]:
    diff = pos[:, None] - pos[None]
    r = np.linalg.norm(diff, axis=-1) + np.eye(len(pos))
    inv6 = (0.5 / r) ** 6  # sigma 0.5: a soft toy system
    e = 4 * (inv6**2 - inv6) * (1 - np.eye(len(pos)))
    de = 4 * (-12 * inv6**2 + 6 * inv6) / r * (1 - np.eye(len(pos)))
    forces = -(de[..., None] * diff / r[..., None]).sum(axis=1)
    return 0.5 * e.sum(), forces


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, amsgrad=True)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    )
    rng = np.random.default_rng(4)
    values: list[float] = []
    for _ in range(STEPS):
        pos_np, e_np, f_np = [], [], []
        for g in range(N_GRAPHS):
            p = (
                rng.random((N_ATOMS, 3)) * 1.6
                + np.arange(N_ATOMS)[:, None] * [0.9, 0.2, 0.1]
                + g * 10
            )
            e, f = lj_reference(p)
            pos_np.append(p), e_np.append(e), f_np.append(f)
        positions = as_tensor(torch, np.concatenate(pos_np))
        positions.requires_grad_(True)
        d = np.linalg.norm(
            positions.detach().numpy()[:, None] - positions.detach().numpy()[None], axis=-1
        )
        snd, rcv = np.nonzero((d < R_MAX) & (d > 0))
        edge_index = as_tensor(torch, np.stack([snd, rcv]))
        species = as_tensor(torch, np.arange(N_ATOMS * N_GRAPHS) % N_SPECIES)
        batch = as_tensor(torch, np.repeat(np.arange(N_GRAPHS), N_ATOMS))
        energy = model(positions, species, edge_index, batch)
        forces = -torch.autograd.grad(
            outputs=[energy],
            inputs=[positions],
            grad_outputs=[torch.ones_like(energy)],
            retain_graph=True,
            create_graph=True,
            allow_unused=True,
        )[0]
        e_ref = as_tensor(torch, np.array(e_np))
        f_ref = as_tensor(torch, np.concatenate(f_np))
        num_atoms = torch.full((N_GRAPHS,), float(N_ATOMS))
        e_loss = F.mse_loss(energy / num_atoms, e_ref / num_atoms)
        f_loss = F.mse_loss(forces, f_ref)
        loss = 1.0 * e_loss + 10.0 * f_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        ema.update_parameters(model)
        values.extend([e_loss.item(), f_loss.item(), edge_index.shape[1]])
    values.append(sum(p.sum().item() for p in ema.parameters()))
    return values
