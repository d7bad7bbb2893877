"""TorchMD-Net's equivariant transformer trained on energies and forces (Thölke & De Fabritiis
2022), torchmd/torchmd-net (``torchmdnet/models/utils.py``: ``CosineCutoff``,
``ExpNormalSmearing``, ``Distance``, ``NeighborEmbedding``; ``torchmdnet/models/torchmd_et.py``:
``TorchMD_ET``, ``EquivariantMultiHeadAttention``; ``torchmdnet/models/model.py``:
``TorchMD_Net.forward`` with ``derivative=True``; ``torchmdnet/module.py``: the energy + force
loss), size-reduced.

The idioms kept: ``ExpNormalSmearing``'s PhysNet initial values (``torch.exp(
torch.scalar_tensor(-self.cutoff_upper + self.cutoff_lower))``, ``torch.linspace(start_value,
1, self.num_rbf)`` from a 0-d tensor, ``torch.tensor([(2 / self.num_rbf * (1 -
start_value)) ** -2] * self.num_rbf)`` from a list of 0-d tensors) registered with
``register_parameter("means", nn.Parameter(means))``, and ``self.cutoff_fn(dist) *
torch.exp(-self.betas * (torch.exp(self.alpha * (-dist + self.cutoff_lower)) - self.means) **
2)``; ``CosineCutoff`` (``0.5 * (torch.cos(distances * math.pi / self.cutoff_upper) + 1.0)``
times ``(distances < self.cutoff_upper).float()``); ``Distance`` with self loops (``edge_weight
= torch.zeros(edge_vec.size(0))`` then ``edge_weight[mask] = torch.norm(edge_vec[mask],
dim=-1)``, ``lower_mask`` filtering); the normalised edge directions written in place into a
tensor of the graph, ``edge_vec[mask] = edge_vec[mask] / torch.norm(edge_vec[mask],
dim=1).unsqueeze(1)``; ``NeighborEmbedding`` (``if not mask.all()``, ``self.distance_proj(
edge_attr) * C.view(-1, 1)``, ``self.combine(torch.cat([x, x_neighbors], dim=1))``,
``m.bias.data.fill_(0)``); the attention layer (``nn.LayerNorm``, ``q_proj`` / ``k_proj`` /
``v_proj`` / ``o_proj`` / ``vec_proj`` with ``xavier_uniform_``, ``torch.split(self.vec_proj(
vec), self.hidden_channels, dim=-1)``, ``vec_dot = (vec1 * vec2).sum(dim=1)``, distance
influence on keys and values, the message ``attn = self.attn_activation((q_i * k_j *
dk).sum(dim=-1)) * self.cutoff(r_ij).unsqueeze(1)``, ``torch.split(v_j, self.head_dim,
dim=2)``, ``vec_j * vec1.unsqueeze(1) + vec2.unsqueeze(1) * d_ij.unsqueeze(2).unsqueeze(3)``,
``dx = vec_dot * o2 + o3``, ``dvec = vec3 * o1.unsqueeze(1) + vec``); ``vec = torch.zeros(
x.size(0), 3, x.size(1), device=x.device, dtype=x.dtype)`` and the residual updates;
the ``Scalar`` output head summed per molecule; forces as ``-grad([out], [pos],
grad_outputs=[torch.ones_like(out)], create_graph=True, retain_graph=True)[0]`` and the loss
``loss_y * energy_weight + loss_dy * force_weight`` (``F.mse_loss``) backpropagated through
the force (a second derivative through the whole network), ``AdamW``.

Changed: ``radius_graph`` (torch-cluster) is a dense distance test and PyG's
``MessagePassing`` gather/scatter is written as ``x[j]`` / ``index_add_``; MD17 -> 6 random
5-atom molecules with a pair-potential energy and its forces (NumPy); hidden 256 -> 8, heads 8
-> 2, rbf 32 -> 6, layers 6 -> 2; the Lightning module's step is a plain loop of 4 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, HEADS, NUM_RBF, LAYERS, CUTOFF = 8, 2, 6, 2, 3.0


def _et(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    def scatter_add(src, index, dim_size):  # noqa: ANN001, ANN202
        out = torch.zeros((dim_size,) + tuple(src.shape[1:]), dtype=src.dtype)
        return out.index_add_(0, index, src)

    class CosineCutoff(nn.Module):
        def __init__(self, cutoff_lower=0.0, cutoff_upper=5.0):  # noqa: ANN001
            super(CosineCutoff, self).__init__()  # noqa: UP008
            self.cutoff_lower = cutoff_lower
            self.cutoff_upper = cutoff_upper

        def forward(self, distances):  # noqa: ANN001, ANN201
            if self.cutoff_lower > 0:
                cutoffs = 0.5 * (
                    torch.cos(
                        math.pi
                        * (
                            2
                            * (distances - self.cutoff_lower)
                            / (self.cutoff_upper - self.cutoff_lower)
                            + 1.0
                        )
                    )
                    + 1.0
                )
                # remove contributions below the cutoff radius
                cutoffs = cutoffs * (distances < self.cutoff_upper).float()
                cutoffs = cutoffs * (distances > self.cutoff_lower).float()
                return cutoffs
            else:
                cutoffs = 0.5 * (torch.cos(distances * math.pi / self.cutoff_upper) + 1.0)
                # remove contributions beyond the cutoff radius
                cutoffs = cutoffs * (distances < self.cutoff_upper).float()
                return cutoffs

    class ExpNormalSmearing(nn.Module):
        def __init__(self, cutoff_lower=0.0, cutoff_upper=5.0, num_rbf=50, trainable=True):  # noqa: ANN001
            super(ExpNormalSmearing, self).__init__()  # noqa: UP008
            self.cutoff_lower = cutoff_lower
            self.cutoff_upper = cutoff_upper
            self.num_rbf = num_rbf
            self.trainable = trainable

            self.cutoff_fn = CosineCutoff(0, cutoff_upper)
            self.alpha = 5.0 / (cutoff_upper - cutoff_lower)

            means, betas = self._initial_params()
            if trainable:
                self.register_parameter("means", nn.Parameter(means))
                self.register_parameter("betas", nn.Parameter(betas))
            else:
                self.register_buffer("means", means)
                self.register_buffer("betas", betas)

        def _initial_params(self):  # noqa: ANN202
            # initialize means and betas according to the default values in PhysNet
            # https://pubs.acs.org/doi/10.1021/acs.jctc.9b00181
            start_value = torch.exp(torch.scalar_tensor(-self.cutoff_upper + self.cutoff_lower))
            means = torch.linspace(start_value, 1, self.num_rbf)
            betas = torch.tensor([(2 / self.num_rbf * (1 - start_value)) ** -2] * self.num_rbf)
            return means, betas

        def reset_parameters(self) -> None:
            means, betas = self._initial_params()
            self.means.data.copy_(means)
            self.betas.data.copy_(betas)

        def forward(self, dist):  # noqa: ANN001, ANN201
            dist = dist.unsqueeze(-1)
            return self.cutoff_fn(dist) * torch.exp(
                -self.betas
                * (torch.exp(self.alpha * (-dist + self.cutoff_lower)) - self.means) ** 2
            )

    class Distance(nn.Module):
        def __init__(self, cutoff_lower, cutoff_upper, loop=False, return_vecs=False):  # noqa: ANN001
            super(Distance, self).__init__()  # noqa: UP008
            self.cutoff_lower = cutoff_lower
            self.cutoff_upper = cutoff_upper
            self.loop = loop
            self.return_vecs = return_vecs

        def forward(self, pos, batch):  # noqa: ANN001, ANN201
            with torch.no_grad():  # radius_graph
                d = (pos.unsqueeze(0) - pos.unsqueeze(1)).norm(dim=-1)
                adj = (d < self.cutoff_upper) & (batch.unsqueeze(0) == batch.unsqueeze(1))
                if not self.loop:
                    adj &= ~torch.eye(pos.size(0), dtype=torch.bool)
                edge_index = adj.nonzero().t()

            edge_vec = pos[edge_index[0]] - pos[edge_index[1]]

            if self.loop:
                # mask out self loops when computing distances because
                # the norm of 0 produces NaN gradients
                # NOTE: might influence force predictions as self loop gradients are ignored
                mask = edge_index[0] != edge_index[1]
                edge_weight = torch.zeros(edge_vec.size(0), device=edge_vec.device)
                edge_weight[mask] = torch.norm(edge_vec[mask], dim=-1)
            else:
                edge_weight = torch.norm(edge_vec, dim=-1)

            lower_mask = edge_weight >= self.cutoff_lower
            edge_index = edge_index[:, lower_mask]
            edge_weight = edge_weight[lower_mask]

            if self.return_vecs:
                edge_vec = edge_vec[lower_mask]
                return edge_index, edge_weight, edge_vec
            # TODO: return only `edge_index` and `edge_weight` once
            # Union typing works with TorchScript (https://github.com/pytorch/pytorch/pull/53180)
            return edge_index, edge_weight, None

    class NeighborEmbedding(nn.Module):
        def __init__(self, hidden_channels, num_rbf, cutoff_lower, cutoff_upper, max_z=100):  # noqa: ANN001
            super(NeighborEmbedding, self).__init__()  # noqa: UP008
            self.embedding = nn.Embedding(max_z, hidden_channels)
            self.distance_proj = nn.Linear(num_rbf, hidden_channels)
            self.combine = nn.Linear(hidden_channels * 2, hidden_channels)
            self.cutoff = CosineCutoff(cutoff_lower, cutoff_upper)

            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.embedding.reset_parameters()
            nn.init.xavier_uniform_(self.distance_proj.weight)
            nn.init.xavier_uniform_(self.combine.weight)
            self.distance_proj.bias.data.fill_(0)
            self.combine.bias.data.fill_(0)

        def forward(self, z, x, edge_index, edge_weight, edge_attr):  # noqa: ANN001, ANN201
            # remove self loops
            mask = edge_index[0] != edge_index[1]
            if not mask.all():
                edge_index = edge_index[:, mask]
                edge_weight = edge_weight[mask]
                edge_attr = edge_attr[mask]

            C = self.cutoff(edge_weight)
            W = self.distance_proj(edge_attr) * C.view(-1, 1)

            x_neighbors = self.embedding(z)
            # propagate_type: (x: Tensor, W: Tensor)
            x_neighbors = scatter_add(x_neighbors[edge_index[0]] * W, edge_index[1], x.size(0))
            x_neighbors = self.combine(torch.cat([x, x_neighbors], dim=1))
            return x_neighbors

    class EquivariantMultiHeadAttention(nn.Module):
        def __init__(self, hidden_channels, num_rbf, distance_influence, num_heads, cutoff_lower,
                     cutoff_upper):  # noqa: ANN001 # fmt: skip
            super(EquivariantMultiHeadAttention, self).__init__()  # noqa: UP008
            assert hidden_channels % num_heads == 0, (
                f"The number of hidden channels ({hidden_channels}) "
                f"must be evenly divisible by the number of "
                f"attention heads ({num_heads})"
            )

            self.distance_influence = distance_influence
            self.num_heads = num_heads
            self.hidden_channels = hidden_channels
            self.head_dim = hidden_channels // num_heads

            self.layernorm = nn.LayerNorm(hidden_channels)
            self.act = nn.SiLU()
            self.attn_activation = nn.SiLU()
            self.cutoff = CosineCutoff(cutoff_lower, cutoff_upper)

            self.q_proj = nn.Linear(hidden_channels, hidden_channels)
            self.k_proj = nn.Linear(hidden_channels, hidden_channels)
            self.v_proj = nn.Linear(hidden_channels, hidden_channels * 3)
            self.o_proj = nn.Linear(hidden_channels, hidden_channels * 3)

            self.vec_proj = nn.Linear(hidden_channels, hidden_channels * 3, bias=False)

            self.dk_proj = None
            if distance_influence in ["keys", "both"]:
                self.dk_proj = nn.Linear(num_rbf, hidden_channels)

            self.dv_proj = None
            if distance_influence in ["values", "both"]:
                self.dv_proj = nn.Linear(num_rbf, hidden_channels * 3)

            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.layernorm.reset_parameters()
            nn.init.xavier_uniform_(self.q_proj.weight)
            self.q_proj.bias.data.fill_(0)
            nn.init.xavier_uniform_(self.k_proj.weight)
            self.k_proj.bias.data.fill_(0)
            nn.init.xavier_uniform_(self.v_proj.weight)
            self.v_proj.bias.data.fill_(0)
            nn.init.xavier_uniform_(self.o_proj.weight)
            self.o_proj.bias.data.fill_(0)
            nn.init.xavier_uniform_(self.vec_proj.weight)
            if self.dk_proj:
                nn.init.xavier_uniform_(self.dk_proj.weight)
                self.dk_proj.bias.data.fill_(0)
            if self.dv_proj:
                nn.init.xavier_uniform_(self.dv_proj.weight)
                self.dv_proj.bias.data.fill_(0)

        def forward(self, x, vec, edge_index, r_ij, f_ij, d_ij):  # noqa: ANN001, ANN201
            x = self.layernorm(x)
            q = self.q_proj(x).reshape(-1, self.num_heads, self.head_dim)
            k = self.k_proj(x).reshape(-1, self.num_heads, self.head_dim)
            v = self.v_proj(x).reshape(-1, self.num_heads, 3 * self.head_dim)

            vec1, vec2, vec3 = torch.split(self.vec_proj(vec), self.hidden_channels, dim=-1)
            vec = vec.reshape(-1, 3, self.num_heads, self.head_dim)
            vec_dot = (vec1 * vec2).sum(dim=1)

            dk = (
                self.act(self.dk_proj(f_ij)).reshape(-1, self.num_heads, self.head_dim)
                if self.dk_proj is not None
                else None
            )
            dv = (
                self.act(self.dv_proj(f_ij)).reshape(-1, self.num_heads, 3 * self.head_dim)
                if self.dv_proj is not None
                else None
            )

            j, i = edge_index  # source_to_target
            m_x, m_vec = self.message(q[i], k[j], v[j], vec[j], dk, dv, r_ij, d_ij)
            x = scatter_add(m_x, i, x.size(0))
            vec = scatter_add(m_vec, i, x.size(0))
            x = x.reshape(-1, self.hidden_channels)
            vec = vec.reshape(-1, 3, self.hidden_channels)

            o1, o2, o3 = torch.split(self.o_proj(x), self.hidden_channels, dim=1)
            dx = vec_dot * o2 + o3
            dvec = vec3 * o1.unsqueeze(1) + vec
            return dx, dvec

        def message(self, q_i, k_j, v_j, vec_j, dk, dv, r_ij, d_ij):  # noqa: ANN001, ANN201
            # attention mechanism
            if dk is None:
                attn = (q_i * k_j).sum(dim=-1)
            else:
                attn = (q_i * k_j * dk).sum(dim=-1)

            # attention activation function
            attn = self.attn_activation(attn) * self.cutoff(r_ij).unsqueeze(1)

            # value pathway
            if dv is not None:
                v_j = v_j * dv
            x, vec1, vec2 = torch.split(v_j, self.head_dim, dim=2)

            # update scalar features
            x = x * attn.unsqueeze(2)
            # update vector features
            vec = vec_j * vec1.unsqueeze(1) + vec2.unsqueeze(1) * d_ij.unsqueeze(2).unsqueeze(3)
            return x, vec

    class TorchMD_Net(nn.Module):  # noqa: N801
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(100, HIDDEN)
            self.distance = Distance(0.0, CUTOFF, loop=True, return_vecs=True)
            self.distance_expansion = ExpNormalSmearing(0.0, CUTOFF, NUM_RBF, True)
            self.neighbor_embedding = NeighborEmbedding(HIDDEN, NUM_RBF, 0.0, CUTOFF, 100)
            self.attention_layers = nn.ModuleList(
                [
                    EquivariantMultiHeadAttention(HIDDEN, NUM_RBF, "both", HEADS, 0.0, CUTOFF)
                    for _ in range(LAYERS)
                ]
            )
            self.out_norm = nn.LayerNorm(HIDDEN)
            self.output_network = nn.Sequential(
                nn.Linear(HIDDEN, HIDDEN // 2), nn.SiLU(), nn.Linear(HIDDEN // 2, 1)
            )

        def representation(self, z, pos, batch):  # noqa: ANN001, ANN201
            x = self.embedding(z)

            edge_index, edge_weight, edge_vec = self.distance(pos, batch)
            assert edge_vec is not None, "Distance module did not return directional information"

            edge_attr = self.distance_expansion(edge_weight)
            mask = edge_index[0] != edge_index[1]
            edge_vec[mask] = edge_vec[mask] / torch.norm(edge_vec[mask], dim=1).unsqueeze(1)

            if self.neighbor_embedding is not None:
                x = self.neighbor_embedding(z, x, edge_index, edge_weight, edge_attr)

            vec = torch.zeros(x.size(0), 3, x.size(1), device=x.device, dtype=x.dtype)

            for attn in self.attention_layers:
                dx, dvec = attn(x, vec, edge_index, edge_weight, edge_attr, edge_vec)
                x = x + dx
                vec = vec + dvec
            x = self.out_norm(x)
            return x, vec

        def forward(self, z, pos, batch):  # noqa: ANN001, ANN201
            pos.requires_grad_(True)
            x, _vec = self.representation(z, pos, batch)
            x = self.output_network(x)
            out = scatter_add(x, batch, int(batch.max()) + 1)

            grad_outputs = [torch.ones_like(out)]
            dy = torch.autograd.grad(
                [out], [pos], grad_outputs=grad_outputs, create_graph=True, retain_graph=True
            )[0]
            if dy is None:
                raise RuntimeError("Autograd returned None for the force prediction.")
            return out, -dy

    return TorchMD_Net


def make_model(torch_like: Any) -> Any:
    return _et(torch_like)()


def _molecules(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pos = rng.normal(size=(6, 5, 3)) * 0.9
    z = rng.choice([1, 6, 7], size=(6, 5))
    diff = pos[:, :, None] - pos[:, None]
    d = np.linalg.norm(diff, axis=-1) + np.eye(5)
    e_pair = 0.1 * ((1.5 / d) ** 6 - 2 * (1.5 / d) ** 3) * (1 - np.eye(5))
    energy = e_pair.sum((1, 2)) / 2
    de_dd = 0.1 * (-6 * 1.5**6 / d**7 + 6 * 1.5**3 / d**4) * (1 - np.eye(5))
    forces = -(de_dd[..., None] * diff / d[..., None]).sum(2)
    return pos, z, energy, forces


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(21)
    pos_np, z_np, e_np, f_np = _molecules(rng)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    energy_weight, force_weight = 0.2, 0.8
    values: list[float] = [model.distance_expansion.betas[0].item()]
    for step in range(4):
        sel = [(2 * step) % 6, (2 * step + 1) % 6]
        pos = torch.tensor(pos_np[sel].reshape(-1, 3))
        z = torch.tensor(z_np[sel].reshape(-1))
        batch = torch.arange(2).repeat_interleave(5)
        y = torch.tensor(e_np[sel]).view(-1, 1)
        dy = torch.tensor(f_np[sel].reshape(-1, 3))
        optimizer.zero_grad()
        pred, deriv = model(z, pos, batch)
        loss_y = F.mse_loss(pred, y)
        loss_dy = F.mse_loss(deriv, dy)
        loss = loss_y * energy_weight + loss_dy * force_weight
        loss.backward()
        optimizer.step()
        values += [loss_y.item(), loss_dy.item(), model.distance_expansion.means.grad.norm().item()]

    # rotating a molecule rotates its forces and leaves its energy
    c, s = math.cos(0.7), math.sin(0.7)
    rot = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    pos = torch.tensor(pos_np[0])
    z, batch = torch.tensor(z_np[0]), torch.zeros(5, dtype=torch.long)
    e1, f1 = model(z, pos.clone(), batch)
    e2, f2 = model(z, pos @ rot.T, batch)
    values += [e1.item(), (e1 - e2).abs().item(), (f1 @ rot.T - f2).abs().max().item()]
    return values


def check(values: list[float]) -> None:
    assert values[-2] < 1e-9 and values[-1] < 1e-9
