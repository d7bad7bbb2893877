"""DimeNet++ (Gasteiger et al. 2020, directional message passing over bond angles), as PyTorch
Geometric writes it (``torch_geometric/nn/models/dimenet.py``: ``Envelope``,
``BesselBasisLayer``, ``EmbeddingBlock``, ``ResidualLayer``, ``InteractionPPBlock``,
``OutputPPBlock``, ``DimeNetPlusPlus.triplets`` and ``forward``), size-reduced.

The idioms kept: the smooth cutoff ``Envelope`` (``x.pow(p - 1)``, ``(1.0 / x + a * x_pow_p0 +
b * x_pow_p1 + c * x_pow_p2) * (x < 1.0).to(x.dtype)``); ``BesselBasisLayer`` whose
frequencies are a ``Parameter(torch.empty(num_radial))`` filled under ``torch.no_grad()`` by
``torch.arange(1, self.freq.numel() + 1, out=self.freq).mul_(PI)`` then
``self.freq.requires_grad_()``, and ``self.envelope(dist) * (self.freq * dist).sin()``; the
triplets ``k -> j -> i`` (``col.repeat_interleave(num_triplets)``, ``mask = idx_i != idx_k``,
edge indices ``idx_kj`` / ``idx_ji``); distances ``(pos[i] - pos[j]).pow(2).sum(dim=-1).sqrt()``
and angles ``torch.atan2(b, a)`` with ``a = (pos_ij * pos_jk).sum(dim=-1)`` and ``b =
torch.cross(pos_ij, pos_jk, dim=1).norm(dim=-1)``; the embedding block
(``self.emb.weight.data.uniform_(-sqrt(3), sqrt(3))``, ``torch.cat([x[i], x[j], rbf],
dim=-1)``); the interaction block's basis projections without bias, ``x_kj[idx_kj] * sbf``
summed into ``idx_ji``, down/up projections and residual layers before and after the skip;
output blocks summed per atom then ``P.sum(dim=0)`` / per molecule; the swish activation.

Changed: ``radius_graph`` (torch-cluster) is a dense distance test; ``SparseTensor`` (torch-
sparse) in ``triplets`` is replaced by a sort of the edges by target (``argsort``,
``bincount``, ``cumsum``) giving the same triplets in the same order; the SymPy-generated
spherical basis -> the radial Bessel basis at ``dist[idx_kj]`` times the Legendre polynomials
P0-P2 of the angle (the m = 0 real spherical harmonics up to normalisation); scatter with
``reduce='sum'`` -> ``index_add_``; QM9 -> 6 random 5-atom molecules with a Morse-like pair
energy; hidden 128 -> 8, blocks 4 -> 2; the zero-initialised output layer is left at its
default initialisation (so gradients reach every layer in a few steps); forces by
``-torch.autograd.grad(energy, pos)``.
"""

from __future__ import annotations

import math
from math import pi as PI  # noqa: N812
from math import sqrt
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, INT_EMB, BASIS_EMB, OUT_EMB, NUM_SPH, NUM_RAD, BLOCKS = 8, 4, 3, 8, 3, 4, 2
CUTOFF = 2.5


def _dimenet(torch_like: Any) -> type:
    torch = torch_like
    Linear, Embedding = torch.nn.Linear, torch.nn.Embedding
    act = torch.nn.functional.silu

    class Envelope(torch.nn.Module):
        def __init__(self, exponent: int):
            super().__init__()
            self.p = exponent + 1
            self.a = -(self.p + 1) * (self.p + 2) / 2
            self.b = self.p * (self.p + 2) * 1.0
            self.c = -self.p * (self.p + 1) / 2

        def forward(self, x):  # noqa: ANN001, ANN201
            p, a, b, c = self.p, self.a, self.b, self.c
            x_pow_p0 = x.pow(p - 1)
            x_pow_p1 = x_pow_p0 * x
            x_pow_p2 = x_pow_p1 * x
            return (1.0 / x + a * x_pow_p0 + b * x_pow_p1 + c * x_pow_p2) * (x < 1.0).to(x.dtype)

    class BesselBasisLayer(torch.nn.Module):
        def __init__(self, num_radial: int, cutoff: float = 5.0, envelope_exponent: int = 5):
            super().__init__()
            self.cutoff = cutoff
            self.envelope = Envelope(envelope_exponent)

            self.freq = torch.nn.Parameter(torch.empty(num_radial))

            self.reset_parameters()

        def reset_parameters(self) -> None:
            with torch.no_grad():
                torch.arange(1, self.freq.numel() + 1, out=self.freq).mul_(PI)
            self.freq.requires_grad_()

        def forward(self, dist):  # noqa: ANN001, ANN201
            dist = dist.unsqueeze(-1) / self.cutoff
            return self.envelope(dist) * (self.freq * dist).sin()

    class SphericalBasisLayer(torch.nn.Module):
        """The radial basis at the k-j distance times P_l(cos angle), l < num_spherical."""

        def __init__(self, num_spherical: int, num_radial: int, cutoff: float = 5.0,
                     envelope_exponent: int = 5):  # fmt: skip
            super().__init__()
            self.num_spherical = num_spherical
            self.num_radial = num_radial
            self.cutoff = cutoff
            self.envelope = Envelope(envelope_exponent)

        def forward(self, dist, angle, idx_kj):  # noqa: ANN001, ANN201
            dist = dist / self.cutoff
            n = torch.arange(1, self.num_radial + 1, dtype=dist.dtype)
            rbf = torch.sin(n * PI * dist.unsqueeze(-1)) / dist.unsqueeze(-1)
            rbf = self.envelope(dist).unsqueeze(-1) * rbf
            cos = torch.cos(angle)
            cbf = torch.stack([torch.ones_like(cos), cos, 0.5 * (3 * cos**2 - 1)], dim=1)
            cbf = cbf[:, : self.num_spherical]
            n, k = self.num_spherical, self.num_radial
            out = (rbf[idx_kj].view(-1, 1, k) * cbf.view(-1, n, 1)).view(-1, n * k)
            return out

    class EmbeddingBlock(torch.nn.Module):
        def __init__(self, num_radial: int, hidden_channels: int):
            super().__init__()
            self.emb = Embedding(95, hidden_channels)
            self.lin_rbf = Linear(num_radial, hidden_channels)
            self.lin = Linear(3 * hidden_channels, hidden_channels)

            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.emb.weight.data.uniform_(-sqrt(3), sqrt(3))
            self.lin_rbf.reset_parameters()
            self.lin.reset_parameters()

        def forward(self, x, rbf, i, j):  # noqa: ANN001, ANN201
            x = self.emb(x)
            rbf = act(self.lin_rbf(rbf))
            return act(self.lin(torch.cat([x[i], x[j], rbf], dim=-1)))

    class ResidualLayer(torch.nn.Module):
        def __init__(self, hidden_channels: int):
            super().__init__()
            self.lin1 = Linear(hidden_channels, hidden_channels)
            self.lin2 = Linear(hidden_channels, hidden_channels)

        def forward(self, x):  # noqa: ANN001, ANN201
            return x + act(self.lin2(act(self.lin1(x))))

    class InteractionPPBlock(torch.nn.Module):
        def __init__(self, hidden_channels, int_emb_size, basis_emb_size, num_spherical,
                     num_radial, num_before_skip, num_after_skip):  # noqa: ANN001 # fmt: skip
            super().__init__()

            # Transformation of Bessel and spherical basis representations:
            self.lin_rbf1 = Linear(num_radial, basis_emb_size, bias=False)
            self.lin_rbf2 = Linear(basis_emb_size, hidden_channels, bias=False)

            self.lin_sbf1 = Linear(num_spherical * num_radial, basis_emb_size, bias=False)
            self.lin_sbf2 = Linear(basis_emb_size, int_emb_size, bias=False)

            # Hidden transformation of input message:
            self.lin_kj = Linear(hidden_channels, hidden_channels)
            self.lin_ji = Linear(hidden_channels, hidden_channels)

            # Embedding projections for interaction triplets:
            self.lin_down = Linear(hidden_channels, int_emb_size, bias=False)
            self.lin_up = Linear(int_emb_size, hidden_channels, bias=False)

            # Residual layers before and after skip connection:
            self.layers_before_skip = torch.nn.ModuleList(
                [ResidualLayer(hidden_channels) for _ in range(num_before_skip)]
            )
            self.lin = Linear(hidden_channels, hidden_channels)
            self.layers_after_skip = torch.nn.ModuleList(
                [ResidualLayer(hidden_channels) for _ in range(num_after_skip)]
            )

        def forward(self, x, rbf, sbf, idx_kj, idx_ji):  # noqa: ANN001, ANN201
            # Initial transformation:
            x_ji = act(self.lin_ji(x))
            x_kj = act(self.lin_kj(x))

            # Transformation via Bessel basis:
            rbf = self.lin_rbf1(rbf)
            rbf = self.lin_rbf2(rbf)
            x_kj = x_kj * rbf

            # Down project embedding and generating triple-interactions:
            x_kj = act(self.lin_down(x_kj))

            # Transform via 2D spherical basis:
            sbf = self.lin_sbf1(sbf)
            sbf = self.lin_sbf2(sbf)
            x_kj = x_kj[idx_kj] * sbf

            # Aggregate interactions and up-project embeddings:
            x_kj = torch.zeros(x.size(0), x_kj.size(1), dtype=x_kj.dtype).index_add_(
                0, idx_ji, x_kj
            )
            x_kj = act(self.lin_up(x_kj))

            h = x_ji + x_kj
            for layer in self.layers_before_skip:
                h = layer(h)
            h = act(self.lin(h)) + x
            for layer in self.layers_after_skip:
                h = layer(h)

            return h

    class OutputPPBlock(torch.nn.Module):
        def __init__(self, num_radial, hidden_channels, out_emb_channels, out_channels,
                     num_layers):  # noqa: ANN001 # fmt: skip
            super().__init__()

            self.lin_rbf = Linear(num_radial, hidden_channels, bias=False)

            # The up-projection layer:
            self.lin_up = Linear(hidden_channels, out_emb_channels, bias=False)
            self.lins = torch.nn.ModuleList()
            for _ in range(num_layers):
                self.lins.append(Linear(out_emb_channels, out_emb_channels))
            self.lin = Linear(out_emb_channels, out_channels, bias=False)

        def forward(self, x, rbf, i, num_nodes=None):  # noqa: ANN001, ANN201
            x = self.lin_rbf(rbf) * x
            x = torch.zeros(num_nodes, x.size(1), dtype=x.dtype).index_add_(0, i, x)
            x = self.lin_up(x)
            for lin in self.lins:
                x = act(lin(x))
            return self.lin(x)

    class DimeNetPlusPlus(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cutoff = CUTOFF
            self.rbf = BesselBasisLayer(NUM_RAD, CUTOFF, 5)
            self.sbf = SphericalBasisLayer(NUM_SPH, NUM_RAD, CUTOFF, 5)
            self.emb = EmbeddingBlock(NUM_RAD, HIDDEN)
            self.output_blocks = torch.nn.ModuleList(
                [OutputPPBlock(NUM_RAD, HIDDEN, OUT_EMB, 1, 2) for _ in range(BLOCKS + 1)]
            )
            self.interaction_blocks = torch.nn.ModuleList(
                [
                    InteractionPPBlock(HIDDEN, INT_EMB, BASIS_EMB, NUM_SPH, NUM_RAD, 1, 2)
                    for _ in range(BLOCKS)
                ]
            )

        def triplets(self, edge_index, num_nodes):  # noqa: ANN001, ANN201
            row, col = edge_index  # j->i

            # adj_t[i] lists the edges k->i, in the order of k (SparseTensor's CSR rows)
            order = torch.argsort(col * num_nodes + row)
            deg = torch.bincount(col, minlength=num_nodes)
            ptr = torch.cat([deg.new_zeros(1), deg.cumsum(0)])
            num_triplets = deg[row]

            # Node indices (k->j->i) for triplets.
            idx_i = col.repeat_interleave(num_triplets)
            idx_j = row.repeat_interleave(num_triplets)
            start = ptr[row].repeat_interleave(num_triplets)
            first = (num_triplets.cumsum(0) - num_triplets).repeat_interleave(num_triplets)
            pos_in_row = torch.arange(idx_i.size(0)) - first
            edge_kj = order[start + pos_in_row]
            idx_k = row[edge_kj]
            mask = idx_i != idx_k  # Remove i == k triplets.
            idx_i, idx_j, idx_k = idx_i[mask], idx_j[mask], idx_k[mask]

            # Edge indices (k-j, j->i) for triplets.
            idx_kj = edge_kj[mask]
            idx_ji = torch.arange(row.size(0)).repeat_interleave(num_triplets)[mask]

            return col, row, idx_i, idx_j, idx_k, idx_kj, idx_ji

        def forward(self, z, pos, batch=None):  # noqa: ANN001, ANN201
            full = (pos.unsqueeze(0) - pos.unsqueeze(1)).norm(dim=-1)
            same = batch.unsqueeze(0) == batch.unsqueeze(1)
            adj = (full < self.cutoff) & same & ~torch.eye(pos.size(0), dtype=torch.bool)
            edge_index = adj.nonzero().t()

            i, j, idx_i, idx_j, idx_k, idx_kj, idx_ji = self.triplets(
                edge_index, num_nodes=z.size(0)
            )

            # Calculate distances.
            dist = (pos[i] - pos[j]).pow(2).sum(dim=-1).sqrt()

            # Calculate angles.
            pos_jk, pos_ij = pos[idx_j] - pos[idx_k], pos[idx_i] - pos[idx_j]
            a = (pos_ij * pos_jk).sum(dim=-1)
            b = torch.cross(pos_ij, pos_jk, dim=1).norm(dim=-1)
            angle = torch.atan2(b, a)

            rbf = self.rbf(dist)
            sbf = self.sbf(dist, angle, idx_kj)

            # Embedding block.
            x = self.emb(z, rbf, i, j)
            P = self.output_blocks[0](x, rbf, i, num_nodes=pos.size(0))

            # Interaction blocks.
            for interaction_block, output_block in zip(
                self.interaction_blocks, self.output_blocks[1:]
            ):
                x = interaction_block(x, rbf, sbf, idx_kj, idx_ji)
                P = P + output_block(x, rbf, i, num_nodes=pos.size(0))

            if batch is None:
                return P.sum(dim=0)
            return torch.zeros(int(batch.max()) + 1, P.size(1), dtype=P.dtype).index_add_(
                0, batch, P
            )

    return DimeNetPlusPlus


def make_model(torch_like: Any) -> Any:
    return _dimenet(torch_like)()


def _molecules(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = rng.normal(size=(n, 5, 3)) * 0.8
    z = rng.choice([1, 6, 8], size=(n, 5))
    d = np.linalg.norm(pos[:, :, None] - pos[:, None], axis=-1) + np.eye(5)
    pair = (1 - np.exp(-(d - 1.2))) ** 2 * (1 - np.eye(5))
    energy = pair.sum((1, 2)) / 2 * 0.1
    return pos, z, energy


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = [model.rbf.freq.sum().item() / math.pi]
    rng = np.random.default_rng(2)
    pos_np, z_np, e_np = _molecules(6, rng)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(4):
        sel = [(2 * step) % 6, (2 * step + 1) % 6]
        pos = torch.tensor(pos_np[sel].reshape(-1, 3))
        z = torch.tensor(z_np[sel].reshape(-1))
        batch = torch.arange(2).repeat_interleave(5)
        target = torch.tensor(e_np[sel])
        optimizer.zero_grad()
        energy = model(z, pos, batch).view(-1)
        loss = torch.nn.functional.l1_loss(energy, target)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.rbf.freq.grad.abs().sum().item()]

    # forces on one molecule, and the triplet bookkeeping
    pos = torch.tensor(pos_np[0]).requires_grad_()
    z = torch.tensor(z_np[0])
    energy = model(z, pos, torch.zeros(5, dtype=torch.long)).sum()
    forces = -torch.autograd.grad(energy, pos)[0]
    values += [energy.item(), forces.abs().sum().item(), forces.sum(0).abs().max().item()]
    edge_index = torch.tensor([[0, 1, 2, 1, 2, 0, 3], [1, 0, 1, 2, 0, 2, 0]])
    out = model.triplets(edge_index, num_nodes=4)
    values += [float(t.sum()) for t in out] + [float(out[2].numel())]
    return values


def check(values: list[float]) -> None:
    assert values[0] == sum(range(1, NUM_RAD + 1))
