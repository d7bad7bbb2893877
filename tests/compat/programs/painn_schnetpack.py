"""PaiNN (polarizable atom interaction neural network) as schnetpack 2 writes it
(``src/schnetpack/representation/painn.py``, ``nn/base.py``'s ``Dense``, ``nn/radial.py``'s
``GaussianRBF``, ``nn/cutoff.py``'s ``CosineCutoff``, ``nn/scatter.py``'s ``scatter_add``,
``atomistic/atomwise.py``'s ``Atomwise`` and ``atomistic/response.py``'s ``Forces``),
size-reduced.

The idioms: ``Dense(nn.Linear)`` overriding ``reset_parameters`` (``self.weight_init(
self.weight)``, ``self.bias_init(self.bias)`` with ``xavier_uniform_`` / ``zeros_``) and keeping
its activation (a function, or ``nn.Identity()`` when none); ``GaussianRBF`` (``offsets =
torch.linspace(start, cutoff, n_rbf)``, ``widths = torch.abs(offsets[1] - offsets[0]) *
torch.ones_like(offsets)``, ``register_buffer``, ``coeff = -0.5 / torch.pow(widths, 2)``, ``diff =
inputs[..., None] - offsets``); ``CosineCutoff`` (a float32 ``torch.FloatTensor([cutoff])``
buffer in the float64 model, promoted by the arithmetic, ``0.5 * (torch.cos(input * math.pi
/ cutoff) + 1.0)``, ``input_cut *= (input < cutoff).float()``); ``_scatter_add`` (``tmp =
torch.zeros(shape, dtype=x.dtype, device=x.device)``, ``tmp.index_add(dim, idx_i, x)``);
``PaiNNInteraction`` (``x[idx_j]``, ``torch.split(x, self.n_atom_basis, dim=-1)``, ``dmuR *
dir_ij[..., None] + dmumu * muj``); ``PaiNNMixing`` (``mu_channel_mix`` without bias,
``torch.sqrt(torch.sum(mu_V**2, dim=-2, keepdim=True) + self.epsilon)``, ``torch.sum(mu_V *
mu_W, dim=1, keepdim=True)``); ``PaiNN.forward`` (``torch.norm(r_ij, dim=1, keepdim=True)``,
``filters = self.filter_net(phi_ij) * fcut[..., None]``, ``torch.split(filters, 3 *
self.n_atom_basis, dim=-1)``, ``self.embedding(atomic_numbers)[:, None]``, ``mu =
torch.zeros((qs[0], 3, qs[2]))``, the ``nn.ModuleList`` pairs, ``q.squeeze(1)``);
``replicate_module`` (``nn.ModuleList([module_factory() for i in range(n_interactions)])``);
``Atomwise`` (``build_mlp``, ``snn.scatter_add(y, idx_m, dim_size=maxm)``, ``torch.squeeze(y,
-1)``); ``Forces`` (``R.requires_grad_()``, ``-torch.autograd.grad([Epred], [R],
grad_outputs=[torch.ones_like(Epred)], create_graph=self.training)[0]``); the energy + force
loss of ``ModelOutput`` (``loss_weight`` times ``nn.MSELoss``) under ``AdamW``.

Changed: n_atom_basis 128 -> 6, 3 interactions -> 2, 20 radial functions -> 5, cutoff 5.0 ->
3.0 A; molecules of 3 and 4 atoms at seeded random positions with all-pairs neighbour lists
built in NumPy (instead of ``ASENeighborList``) and targets from a Morse-like pair potential;
``Rij`` computed from ``R[idx_j] - R[idx_i]`` (schnetpack's ``PairwiseDistances``); 4 steps;
``GaussianRBF``'s ``torch.FloatTensor(...)`` wrapper around the widths is dropped (it takes
float32 tensors only, and the model is built in float64).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_BASIS, N_RBF, N_INTER, CUTOFF, MAX_Z = 6, 5, 2, 3.0, 10


def _painn(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    xavier_uniform_, zeros_ = nn.init.xavier_uniform_, nn.init.zeros_

    class Dense(nn.Linear):
        r"""Fully connected linear layer with activation function."""

        def __init__(self, in_features: int, out_features: int, bias: bool = True,
                     activation: Callable | nn.Module | None = None,
                     weight_init: Callable = xavier_uniform_,
                     bias_init: Callable = zeros_) -> None:  # fmt: skip
            self.weight_init = weight_init
            self.bias_init = bias_init
            super(Dense, self).__init__(in_features, out_features, bias)  # noqa: UP008

            self.activation = activation
            if self.activation is None:
                self.activation = nn.Identity()

        def reset_parameters(self) -> None:
            self.weight_init(self.weight)
            if self.bias is not None:
                self.bias_init(self.bias)

        def forward(self, input: Any) -> Any:
            y = F.linear(input, self.weight, self.bias)
            y = self.activation(y)
            return y

    def _scatter_add(x: Any, idx_i: Any, dim_size: int, dim: int = 0) -> Any:
        shape = list(x.shape)
        shape[dim] = dim_size
        tmp = torch.zeros(shape, dtype=x.dtype, device=x.device)
        y = tmp.index_add(dim, idx_i, x)
        return y

    def gaussian_rbf(inputs: Any, offsets: Any, widths: Any) -> Any:
        coeff = -0.5 / torch.pow(widths, 2)
        diff = inputs[..., None] - offsets
        y = torch.exp(coeff * torch.pow(diff, 2))
        return y

    class GaussianRBF(nn.Module):
        r"""Gaussian radial basis functions."""

        def __init__(self, n_rbf: int, cutoff: float, start: float = 0.0,
                     trainable: bool = False) -> None:  # fmt: skip
            super(GaussianRBF, self).__init__()  # noqa: UP008
            self.n_rbf = n_rbf

            # compute offset and width of Gaussian functions
            offset = torch.linspace(start, cutoff, n_rbf)
            widths = torch.abs(offset[1] - offset[0]) * torch.ones_like(offset)
            if trainable:
                self.widths = nn.Parameter(widths)
                self.offsets = nn.Parameter(offset)
            else:
                self.register_buffer("widths", widths)
                self.register_buffer("offsets", offset)

        def forward(self, inputs: Any) -> Any:
            return gaussian_rbf(inputs, self.offsets, self.widths)

    def cosine_cutoff(input: Any, cutoff: Any) -> Any:
        # Compute values of cutoff function
        input_cut = 0.5 * (torch.cos(input * math.pi / cutoff) + 1.0)
        # Remove contributions beyond the cutoff radius
        input_cut *= (input < cutoff).float()
        return input_cut

    class CosineCutoff(nn.Module):
        def __init__(self, cutoff: float) -> None:
            super(CosineCutoff, self).__init__()  # noqa: UP008
            self.register_buffer("cutoff", torch.FloatTensor([cutoff]))

        def forward(self, input: Any) -> Any:
            return cosine_cutoff(input, self.cutoff)

    def replicate_module(module_factory: Callable, n: int, share_params: bool) -> Any:
        if share_params:
            module_list = nn.ModuleList([module_factory()] * n)
        else:
            module_list = nn.ModuleList([module_factory() for i in range(n)])
        return module_list

    class PaiNNInteraction(nn.Module):
        r"""PaiNN interaction block for modeling equivariant interactions of atomistic
        systems."""

        def __init__(self, n_atom_basis: int, activation: Callable) -> None:
            super(PaiNNInteraction, self).__init__()  # noqa: UP008
            self.n_atom_basis = n_atom_basis
            self.interatomic_context_net = nn.Sequential(
                Dense(n_atom_basis, n_atom_basis, activation=activation),
                Dense(n_atom_basis, 3 * n_atom_basis, activation=None),
            )

        def forward(self, q: Any, mu: Any, Wij: Any, dir_ij: Any, idx_i: Any, idx_j: Any,
                    n_atoms: int) -> tuple[Any, Any]:  # fmt: skip
            # inter-atomic
            x = self.interatomic_context_net(q)
            xj = x[idx_j]
            muj = mu[idx_j]
            x = Wij * xj

            dq, dmuR, dmumu = torch.split(x, self.n_atom_basis, dim=-1)
            dq = _scatter_add(dq, idx_i, dim_size=n_atoms)
            dmu = dmuR * dir_ij[..., None] + dmumu * muj
            dmu = _scatter_add(dmu, idx_i, dim_size=n_atoms)

            q = q + dq
            mu = mu + dmu

            return q, mu

    class PaiNNMixing(nn.Module):
        r"""PaiNN interaction block for mixing on atom features."""

        def __init__(self, n_atom_basis: int, activation: Callable, epsilon: float = 1e-8):
            super(PaiNNMixing, self).__init__()  # noqa: UP008
            self.n_atom_basis = n_atom_basis

            self.intraatomic_context_net = nn.Sequential(
                Dense(2 * n_atom_basis, n_atom_basis, activation=activation),
                Dense(n_atom_basis, 3 * n_atom_basis, activation=None),
            )
            self.mu_channel_mix = Dense(n_atom_basis, 2 * n_atom_basis, activation=None, bias=False)
            self.epsilon = epsilon

        def forward(self, q: Any, mu: Any) -> tuple[Any, Any]:
            # intra-atomic
            mu_mix = self.mu_channel_mix(mu)
            mu_V, mu_W = torch.split(mu_mix, self.n_atom_basis, dim=-1)
            mu_Vn = torch.sqrt(torch.sum(mu_V**2, dim=-2, keepdim=True) + self.epsilon)

            ctx = torch.cat([q, mu_Vn], dim=-1)
            x = self.intraatomic_context_net(ctx)

            dq_intra, dmu_intra, dqmu_intra = torch.split(x, self.n_atom_basis, dim=-1)
            dmu_intra = dmu_intra * mu_W

            dqmu_intra = dqmu_intra * torch.sum(mu_V * mu_W, dim=1, keepdim=True)

            q = q + dq_intra + dqmu_intra
            mu = mu + dmu_intra
            return q, mu

    class PaiNN(nn.Module):
        """PaiNN - polarizable interaction neural network"""

        def __init__(self, n_atom_basis: int, n_interactions: int, radial_basis: Any,
                     cutoff_fn: Any, activation: Callable = F.silu,
                     shared_interactions: bool = False, shared_filters: bool = False,
                     epsilon: float = 1e-8) -> None:  # fmt: skip
            super(PaiNN, self).__init__()  # noqa: UP008

            self.n_atom_basis = n_atom_basis
            self.n_interactions = n_interactions
            self.cutoff_fn = cutoff_fn
            self.cutoff = cutoff_fn.cutoff
            self.radial_basis = radial_basis

            self.embedding = nn.Embedding(MAX_Z, n_atom_basis, padding_idx=0)

            self.share_filters = shared_filters

            if shared_filters:
                self.filter_net = Dense(self.radial_basis.n_rbf, 3 * n_atom_basis, activation=None)
            else:
                self.filter_net = Dense(
                    self.radial_basis.n_rbf,
                    self.n_interactions * n_atom_basis * 3,
                    activation=None,
                )

            self.interactions = replicate_module(
                lambda: PaiNNInteraction(n_atom_basis=self.n_atom_basis, activation=activation),
                self.n_interactions,
                shared_interactions,
            )
            self.mixing = replicate_module(
                lambda: PaiNNMixing(
                    n_atom_basis=self.n_atom_basis, activation=activation, epsilon=epsilon
                ),
                self.n_interactions,
                shared_interactions,
            )

        def forward(self, inputs: dict) -> dict:
            # get tensors from input dictionary
            atomic_numbers = inputs["_atomic_numbers"]
            r_ij = inputs["_Rij"]
            idx_i = inputs["_idx_i"]
            idx_j = inputs["_idx_j"]
            n_atoms = atomic_numbers.shape[0]

            # compute atom and pair features
            d_ij = torch.norm(r_ij, dim=1, keepdim=True)
            dir_ij = r_ij / d_ij
            phi_ij = self.radial_basis(d_ij)
            fcut = self.cutoff_fn(d_ij)

            filters = self.filter_net(phi_ij) * fcut[..., None]
            if self.share_filters:
                filter_list = [filters] * self.n_interactions
            else:
                filter_list = torch.split(filters, 3 * self.n_atom_basis, dim=-1)

            q = self.embedding(atomic_numbers)[:, None]
            qs = q.shape
            mu = torch.zeros((qs[0], 3, qs[2]), device=q.device)

            for i, (interaction, mixing) in enumerate(zip(self.interactions, self.mixing)):
                q, mu = interaction(q, mu, filter_list[i], dir_ij, idx_i, idx_j, n_atoms)
                q, mu = mixing(q, mu)
            q = q.squeeze(1)

            inputs["scalar_representation"] = q
            inputs["vector_representation"] = mu
            return inputs

    class Atomwise(nn.Module):
        """Predicts atom-wise contributions and accumulates global prediction."""

        def __init__(self, n_in: int, n_out: int = 1, aggregation_mode: str = "sum",
                     output_key: str = "y") -> None:  # fmt: skip
            super(Atomwise, self).__init__()  # noqa: UP008
            self.output_key = output_key
            self.n_out = n_out
            self.outnet = nn.Sequential(
                Dense(n_in, n_in // 2, activation=F.silu), Dense(n_in // 2, n_out)
            )
            self.aggregation_mode = aggregation_mode

        def forward(self, inputs: dict) -> dict:
            # predict atomwise contributions
            y = self.outnet(inputs["scalar_representation"])

            # aggregate
            if self.aggregation_mode is not None:
                idx_m = inputs["_idx_m"]
                maxm = int(idx_m[-1]) + 1
                y = _scatter_add(y, idx_m, dim_size=maxm)
                y = torch.squeeze(y, -1)

                if self.aggregation_mode == "avg":
                    y = y / inputs["_n_atoms"]

            inputs[self.output_key] = y
            return inputs

    class NeuralNetworkPotential(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.representation = PaiNN(N_BASIS, N_INTER, GaussianRBF(N_RBF, CUTOFF),
                                        CosineCutoff(CUTOFF))  # fmt: skip
            self.output_modules = nn.ModuleList([Atomwise(N_BASIS, output_key="energy")])

        def forward(self, inputs: dict) -> dict:
            R = inputs["_positions"]
            R.requires_grad_()
            inputs["_Rij"] = R[inputs["_idx_j"]] - R[inputs["_idx_i"]]
            inputs = self.representation(inputs)
            for m in self.output_modules:
                inputs = m(inputs)
            Epred = inputs["energy"]
            go = [torch.ones_like(Epred)]
            dEdR = torch.autograd.grad([Epred], [R], grad_outputs=go,
                                       create_graph=self.training)[0]  # fmt: skip
            inputs["forces"] = -dEdR
            return inputs

    return NeuralNetworkPotential, Dense


def make_model(torch_like: Any) -> Any:
    return _painn(torch_like)[0]()


def _batch(rng: np.random.Generator) -> dict:
    """Two molecules (3 and 4 atoms), all-pairs neighbour lists, pair-potential targets."""
    sizes = [3, 4]
    Z = rng.integers(1, MAX_Z, sum(sizes))
    R = rng.normal(0, 0.9, (sum(sizes), 3))
    idx_m = np.repeat(np.arange(len(sizes)), sizes)
    idx_i, idx_j, start = [], [], 0
    for n in sizes:
        for a in range(n):
            for b in range(n):
                if a != b:
                    idx_i.append(start + a)
                    idx_j.append(start + b)
        start += n
    idx_i, idx_j = np.array(idx_i), np.array(idx_j)
    d = np.linalg.norm(R[idx_j] - R[idx_i], axis=1)
    pair = (1 - np.exp(-(d - 1.0))) ** 2
    energy = np.zeros(len(sizes))
    np.add.at(energy, idx_m[idx_i], 0.5 * pair)
    grad_d = 2 * (1 - np.exp(-(d - 1.0))) * np.exp(-(d - 1.0))
    unit = (R[idx_j] - R[idx_i]) / d[:, None]
    forces = np.zeros_like(R)
    np.add.at(forces, idx_i, 0.5 * grad_d[:, None] * unit)
    np.add.at(forces, idx_j, -0.5 * grad_d[:, None] * unit)
    return {"_atomic_numbers": Z, "_positions": R, "_idx_i": idx_i, "_idx_j": idx_j,
            "_idx_m": idx_m, "_n_atoms": np.array(sizes), "energy": energy,
            "forces": forces}  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    loss_fn = nn.MSELoss()
    rng = np.random.default_rng(5)
    values: list[float] = []
    for _step in range(4):
        batch = {k: as_tensor(torch_like, v) for k, v in _batch(rng).items()}
        targets = {"energy": batch.pop("energy"), "forces": batch.pop("forces")}
        model.train()
        pred = model(batch)
        loss = 0.01 * loss_fn(pred["energy"], targets["energy"]) + 0.99 * loss_fn(
            pred["forces"], targets["forces"]
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), pred["energy"].sum().item(), pred["forces"].abs().sum().item()]
    model.eval()
    batch = {k: as_tensor(torch_like, v) for k, v in _batch(rng).items()}
    pred = model(batch)
    mu = pred["vector_representation"]
    values += [pred["energy"].sum().item(), mu.norm(dim=1).sum().item()]
    return values
