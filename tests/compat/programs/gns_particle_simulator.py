"""The Graph Network-based Simulator (Sanchez-Gonzalez et al., "Learning to Simulate") as the
PyTorch port geoelements/gns writes it (``learned_simulator.py``, ``graph_network.py``,
``noise_utils.py``, ``train.py``), size-reduced, trained a few steps on toy particle
trajectories and rolled out.

The idioms: ``build_mlp`` (an ``nn.Sequential()`` filled with ``add_module("NN-" + str(i),
nn.Linear(...))`` / ``add_module("Act-" + str(i), act[i]())`` and ``output_activation=
nn.Identity``); the ``Encoder`` / ``Processor`` / ``Decoder`` of ``EncodeProcessDecode`` (MLP +
``nn.LayerNorm`` node and edge encoders, ``nn.ModuleList`` of interaction networks);
``InteractionNetwork`` (torch_geometric's ``MessagePassing(aggr='add')`` written out:
``x_i = x[edge_index[1]]``, ``x_j = x[edge_index[0]]``, ``torch.cat([x_i, x_j, edge_features],
dim=-1)``, the sum over receivers with ``index_add_``, checked against ``scatter_add_`` of an
``expand``-ed index, the residuals); the radius graph (torch_cluster's ``radius_graph`` with
``batch`` and ``loop=True`` written out: ``torch.cdist``, ``(batch[:, None] == batch[None,
:])``, ``.nonzero(as_tuple=True)``); ``batch_ids = torch.cat([torch.LongTensor([i for _ in
range(n)]) for i, n in enumerate(nparticles_per_example)])``; ``_encoder_preprocessor``
(``time_diff``, velocity normalisation, ``.view(nparticles, -1)``, ``torch.tensor(boundaries,
requires_grad=False).float()``, the clipped boundary distances ``torch.clamp(..., -limit,
limit)``, ``nn.Embedding`` of particle types, relative displacements ``pos[senders, :] -
pos[receivers, :]`` and ``torch.norm(..., dim=-1, keepdim=True)``);
``_decoder_postprocessor`` / ``_inverse_decoder_postprocessor`` (Euler with ``dt = 1``); the
normalisation stats ``torch.FloatTensor(metadata['vel_mean'])`` and ``torch.sqrt(
torch.FloatTensor(metadata['vel_std'])**2 + noise_std**2)``; the random-walk noise
(``torch.cumsum(velocity_sequence_noise, dim=1)``, ``torch.cat([torch.zeros_like(
velocity_sequence_noise[:, 0:1]), torch.cumsum(velocity_sequence_noise, axis=1)], axis=1)``,
NumPy's ``axis=`` keyword), with kinematic particles masked out of the noise (``noise.masked_fill(
kinematic_mask.view(-1, 1, 1), 0.0)``); the loss over non-kinematic particles (``torch.where(
non_kinematic_mask.bool(), loss, torch.zeros_like(loss))``, ``loss.sum() /
num_non_kinematic``); the exponential learning-rate decay written into
``optimizer.param_groups``; the rollout loop (``torch.where(kinematic_mask, ground_truth,
next_position)``, ``kinematic_mask.bool()[:, None].expand(-1, dim)``, ``torch.cat([
current_positions[:, 1:], next_position[:, None, :]], dim=1)``, ``torch.stack(predictions)``).

Changed: ``torch.randn`` of the noise comes from NumPy (the two libraries' generators differ);
2 examples of 6 and 5 particles in 2-D, 4 positions of history, latent 8, 2 message-passing
steps, 2 MLP layers of 8.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# the normalisation stats are float32, as the repo builds them (``torch.FloatTensor``), and
# PyTorch's float32 ``sqrt`` is not always correctly rounded (sqrt(3.09e-5) comes out one ulp
# above NumPy's exact result): the acceleration std differs in its last bit, the losses by ~1e-8
RTOL = 1e-7

DIM, HISTORY, NTYPES, TYPE_EMB, LATENT, STEPS_MP, MLP_LAYERS, HIDDEN = 2, 4, 3, 3, 8, 2, 2, 8
RADIUS, KINEMATIC_PARTICLE_ID, NOISE_STD = 0.35, 2, 3e-4
BOUNDARIES = [[0.0, 1.0], [0.0, 1.0]]
METADATA = {
    "vel_mean": [1e-4, -2e-4],
    "vel_std": [0.02, 0.015],
    "acc_mean": [0.0, -1e-4],
    "acc_std": [0.003, 0.004],
}


def _build(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    def build_mlp(
        input_size: int,
        hidden_layer_sizes: list,
        output_size: int | None = None,
        output_activation: Any = nn.Identity,
        activation: Any = nn.ReLU,
    ) -> Any:
        layer_sizes = [input_size] + hidden_layer_sizes
        if output_size:
            layer_sizes.append(output_size)
        nlayers = len(layer_sizes) - 1
        act = [activation for i in range(nlayers)]
        act[-1] = output_activation
        mlp = nn.Sequential()
        for i in range(nlayers):
            mlp.add_module("NN-" + str(i), nn.Linear(layer_sizes[i], layer_sizes[i + 1]))
            mlp.add_module("Act-" + str(i), act[i]())
        return mlp

    class Encoder(nn.Module):
        def __init__(self, nnode_in, nnode_out, nedge_in, nedge_out, nmlp_layers, mlp_hidden_dim):  # noqa: ANN001
            super().__init__()
            self.node_fn = nn.Sequential(
                *[
                    build_mlp(nnode_in, [mlp_hidden_dim for _ in range(nmlp_layers)], nnode_out),
                    nn.LayerNorm(nnode_out),
                ]
            )
            self.edge_fn = nn.Sequential(
                *[
                    build_mlp(nedge_in, [mlp_hidden_dim for _ in range(nmlp_layers)], nedge_out),
                    nn.LayerNorm(nedge_out),
                ]
            )

        def forward(self, x: Any, edge_features: Any) -> tuple[Any, Any]:
            return self.node_fn(x), self.edge_fn(edge_features)

    class InteractionNetwork(nn.Module):
        """torch_geometric's ``MessagePassing(aggr='add')`` written out."""

        def __init__(self, nnode_in, nnode_out, nedge_in, nedge_out, nmlp_layers, mlp_hidden_dim):  # noqa: ANN001
            super().__init__()
            self.node_fn = nn.Sequential(
                *[
                    build_mlp(
                        nnode_in + nedge_out,
                        [mlp_hidden_dim for _ in range(nmlp_layers)],
                        nnode_out,
                    ),
                    nn.LayerNorm(nnode_out),
                ]
            )
            self.edge_fn = nn.Sequential(
                *[
                    build_mlp(
                        nnode_in + nnode_in + nedge_in,
                        [mlp_hidden_dim for _ in range(nmlp_layers)],
                        nedge_out,
                    ),
                    nn.LayerNorm(nedge_out),
                ]
            )

        def propagate(self, edge_index: Any, x: Any, edge_features: Any) -> tuple[Any, Any]:
            x_j, x_i = x[edge_index[0]], x[edge_index[1]]  # source, target ("flow": j -> i)
            messages = self.message(x_i, x_j, edge_features)
            aggregated = torch.zeros(x.shape[0], messages.shape[-1], dtype=messages.dtype)
            aggregated = aggregated.index_add_(0, edge_index[1], messages)
            check = torch.zeros_like(aggregated).scatter_add_(
                0, edge_index[1].unsqueeze(-1).expand(-1, messages.shape[-1]), messages
            )
            self.aggregation_gap = (aggregated - check).abs().max().item()
            return self.update(aggregated, x, messages)

        def forward(self, x: Any, edge_index: Any, edge_features: Any) -> tuple[Any, Any]:
            x_residual = x
            edge_features_residual = edge_features
            x, edge_features = self.propagate(
                edge_index=edge_index, x=x, edge_features=edge_features
            )
            return x + x_residual, edge_features + edge_features_residual

        def message(self, x_i: Any, x_j: Any, edge_features: Any) -> Any:
            edge_features = torch.cat([x_i, x_j, edge_features], dim=-1)
            edge_features = self.edge_fn(edge_features)
            return edge_features

        def update(self, x_updated: Any, x: Any, edge_features: Any) -> tuple[Any, Any]:
            x_updated = torch.cat([x_updated, x], dim=-1)
            x_updated = self.node_fn(x_updated)
            return x_updated, edge_features

    class Processor(nn.Module):
        def __init__(
            self,
            nnode_in,
            nnode_out,
            nedge_in,
            nedge_out,
            nmessage_passing_steps,
            nmlp_layers,
            mlp_hidden_dim,
        ):  # noqa: ANN001
            super().__init__()
            self.gnn_stacks = nn.ModuleList(
                [
                    InteractionNetwork(
                        nnode_in, nnode_out, nedge_in, nedge_out, nmlp_layers, mlp_hidden_dim
                    )
                    for _ in range(nmessage_passing_steps)
                ]
            )

        def forward(self, x: Any, edge_index: Any, edge_features: Any) -> tuple[Any, Any]:
            for gnn in self.gnn_stacks:
                x, edge_features = gnn(x, edge_index, edge_features)
            return x, edge_features

    class Decoder(nn.Module):
        def __init__(self, nnode_in, nnode_out, nmlp_layers, mlp_hidden_dim):  # noqa: ANN001
            super().__init__()
            self.node_fn = build_mlp(
                nnode_in, [mlp_hidden_dim for _ in range(nmlp_layers)], nnode_out
            )

        def forward(self, x: Any) -> Any:
            return self.node_fn(x)

    class EncodeProcessDecode(nn.Module):
        def __init__(
            self,
            nnode_in_features,
            nnode_out_features,
            nedge_in_features,
            latent_dim,
            nmessage_passing_steps,
            nmlp_layers,
            mlp_hidden_dim,
        ):  # noqa: ANN001
            super().__init__()
            self._encoder = Encoder(
                nnode_in_features,
                latent_dim,
                nedge_in_features,
                latent_dim,
                nmlp_layers,
                mlp_hidden_dim,
            )
            self._processor = Processor(
                latent_dim,
                latent_dim,
                latent_dim,
                latent_dim,
                nmessage_passing_steps,
                nmlp_layers,
                mlp_hidden_dim,
            )
            self._decoder = Decoder(latent_dim, nnode_out_features, nmlp_layers, mlp_hidden_dim)

        def forward(self, x: Any, edge_index: Any, edge_features: Any) -> Any:
            x, edge_features = self._encoder(x, edge_features)
            x, edge_features = self._processor(x, edge_index, edge_features)
            x = self._decoder(x)
            return x

    def time_diff(position_sequence: Any) -> Any:
        return position_sequence[:, 1:] - position_sequence[:, :-1]

    class LearnedSimulator(nn.Module):
        def __init__(self, normalization_stats: dict, boundary_clamp_limit: float = 1.0) -> None:
            super().__init__()
            self._boundaries = BOUNDARIES
            self._connectivity_radius = RADIUS
            self._normalization_stats = normalization_stats
            self._nparticle_types = NTYPES
            self._boundary_clamp_limit = boundary_clamp_limit
            self._particle_type_embedding = nn.Embedding(NTYPES, TYPE_EMB)
            nnode_in = (HISTORY - 1) * DIM + 2 * DIM + TYPE_EMB
            self._encode_process_decode = EncodeProcessDecode(
                nnode_in_features=nnode_in,
                nnode_out_features=DIM,
                nedge_in_features=DIM + 1,
                latent_dim=LATENT,
                nmessage_passing_steps=STEPS_MP,
                nmlp_layers=MLP_LAYERS,
                mlp_hidden_dim=HIDDEN,
            )
            self._device = "cpu"

        def _compute_graph_connectivity(
            self,
            node_features: Any,
            nparticles_per_example: list,
            radius: float,
            add_self_edges: bool = True,
        ) -> Any:
            # Specify examples id for particles
            batch_ids = torch.cat(
                [
                    torch.LongTensor([i for _ in range(n)])
                    for i, n in enumerate(nparticles_per_example)
                ]
            ).to(self._device)
            # radius_graph(node_features, r=radius, batch=batch_ids, loop=add_self_edges)
            dist = torch.cdist(node_features, node_features)
            adjacency = (dist <= radius) & (batch_ids[:, None] == batch_ids[None, :])
            if not add_self_edges:
                adjacency.fill_diagonal_(False)
            receivers, senders = adjacency.nonzero(as_tuple=True)
            return receivers, senders

        def _encoder_preprocessor(
            self, position_sequence: Any, nparticles_per_example: list, particle_types: Any
        ) -> tuple[Any, Any, Any]:
            nparticles = position_sequence.shape[0]
            most_recent_position = position_sequence[:, -1]  # (n_nodes, 2)
            velocity_sequence = time_diff(position_sequence)

            # Get connectivity of the graph with shape of (nparticles, 2)
            senders, receivers = self._compute_graph_connectivity(
                most_recent_position, nparticles_per_example, self._connectivity_radius
            )
            node_features = []

            # Normalized velocity sequence, merging spatial an time axis.
            velocity_stats = self._normalization_stats["velocity"]
            normalized_velocity_sequence = (
                velocity_sequence - velocity_stats["mean"]
            ) / velocity_stats["std"]
            flat_velocity_sequence = normalized_velocity_sequence.view(nparticles, -1)
            node_features.append(flat_velocity_sequence)

            # Normalized clipped distances to lower and upper boundaries.
            boundaries = (
                torch.tensor(self._boundaries, requires_grad=False).float().to(self._device)
            )
            distance_to_lower_boundary = most_recent_position - boundaries[:, 0][None]
            distance_to_upper_boundary = boundaries[:, 1][None] - most_recent_position
            distance_to_boundaries = torch.cat(
                [distance_to_lower_boundary, distance_to_upper_boundary], dim=1
            )
            normalized_clipped_distance_to_boundaries = torch.clamp(
                distance_to_boundaries / self._connectivity_radius,
                -self._boundary_clamp_limit,
                self._boundary_clamp_limit,
            )
            node_features.append(normalized_clipped_distance_to_boundaries)

            if self._nparticle_types > 1:
                particle_type_embeddings = self._particle_type_embedding(particle_types)
                node_features.append(particle_type_embeddings)

            # Collect edge features.
            edge_features = []
            normalized_relative_displacements = (
                most_recent_position[senders, :] - most_recent_position[receivers, :]
            ) / self._connectivity_radius
            edge_features.append(normalized_relative_displacements)
            normalized_relative_distances = torch.norm(
                normalized_relative_displacements, dim=-1, keepdim=True
            )
            edge_features.append(normalized_relative_distances)

            return (
                torch.cat(node_features, dim=-1),
                torch.stack([senders, receivers]),
                torch.cat(edge_features, dim=-1),
            )

        def _decoder_postprocessor(
            self, normalized_acceleration: Any, position_sequence: Any
        ) -> Any:
            acceleration_stats = self._normalization_stats["acceleration"]
            acceleration = (
                normalized_acceleration * acceleration_stats["std"]
            ) + acceleration_stats["mean"]
            # Use an Euler integrator to go from acceleration to position, assuming
            # a dt=1 corresponding to the size of the finite difference.
            most_recent_position = position_sequence[:, -1]
            most_recent_velocity = most_recent_position - position_sequence[:, -2]
            new_velocity = most_recent_velocity + acceleration  # * dt = 1
            new_position = most_recent_position + new_velocity  # * dt = 1
            return new_position

        def predict_positions(
            self, current_positions: Any, nparticles_per_example: list, particle_types: Any
        ) -> Any:
            node_features, edge_index, edge_features = self._encoder_preprocessor(
                current_positions, nparticles_per_example, particle_types
            )
            predicted_normalized_acceleration = self._encode_process_decode(
                node_features, edge_index, edge_features
            )
            next_position = self._decoder_postprocessor(
                predicted_normalized_acceleration, current_positions
            )
            return next_position

        def predict_accelerations(
            self,
            next_positions: Any,
            position_sequence_noise: Any,
            position_sequence: Any,
            nparticles_per_example: list,
            particle_types: Any,
        ) -> tuple[Any, Any]:
            # Add noise to the input position sequence.
            noisy_position_sequence = position_sequence + position_sequence_noise
            # Perform the forward pass with the noisy position sequence.
            node_features, edge_index, edge_features = self._encoder_preprocessor(
                noisy_position_sequence, nparticles_per_example, particle_types
            )
            predicted_normalized_acceleration = self._encode_process_decode(
                node_features, edge_index, edge_features
            )
            # Calculate the target acceleration, using an `adjusted_next_position `that
            # is shifted by the noise in the last input position.
            next_position_adjusted = next_positions + position_sequence_noise[:, -1]
            target_normalized_acceleration = self._inverse_decoder_postprocessor(
                next_position_adjusted, noisy_position_sequence
            )
            return predicted_normalized_acceleration, target_normalized_acceleration

        def _inverse_decoder_postprocessor(self, next_position: Any, position_sequence: Any) -> Any:
            previous_position = position_sequence[:, -1]
            previous_velocity = previous_position - position_sequence[:, -2]
            next_velocity = next_position - previous_position
            acceleration = next_velocity - previous_velocity
            acceleration_stats = self._normalization_stats["acceleration"]
            normalized_acceleration = (
                acceleration - acceleration_stats["mean"]
            ) / acceleration_stats["std"]
            return normalized_acceleration

    def get_random_walk_noise_for_position_sequence(
        position_sequence: Any, noise_std_last_step: float, draws: np.ndarray
    ) -> Any:
        velocity_sequence = time_diff(position_sequence)
        # We want the noise scale in the velocity at the last step to be fixed.
        # Because we are going to compose noise at each step using a random_walk:
        # std_last_step**2 = num_velocities * std_each_step**2
        # so to keep `std_last_step` fixed, we apply at each step:
        # std_each_step `std_last_step / np.sqrt(num_input_velocities)`
        num_velocities = velocity_sequence.shape[1]
        velocity_sequence_noise = torch.from_numpy(draws).reshape(list(velocity_sequence.shape)) * (
            noise_std_last_step / num_velocities**0.5
        )
        # Apply the random walk.
        velocity_sequence_noise = torch.cumsum(velocity_sequence_noise, dim=1)
        # Integrate the noise in the velocity to the positions, assuming
        # an Euler intergrator and a dt = 1, and adding no noise to the very first
        # position (since that will only be used to calculate the first position change).
        position_sequence_noise = torch.cat(
            [
                torch.zeros_like(velocity_sequence_noise[:, 0:1]),
                torch.cumsum(velocity_sequence_noise, axis=1),
            ],
            axis=1,
        )
        return position_sequence_noise

    return {"sim": LearnedSimulator, "noise": get_random_walk_noise_for_position_sequence}


def _stats(torch_like: Any) -> dict:
    torch = torch_like
    return {
        "acceleration": {
            "mean": torch.FloatTensor(METADATA["acc_mean"]),
            "std": torch.sqrt(torch.FloatTensor(METADATA["acc_std"]) ** 2 + NOISE_STD**2),
        },
        "velocity": {
            "mean": torch.FloatTensor(METADATA["vel_mean"]),
            "std": torch.sqrt(torch.FloatTensor(METADATA["vel_std"]) ** 2 + NOISE_STD**2),
        },
    }


def make_model(torch_like: Any) -> Any:
    return _build(torch_like)["sim"](_stats(torch_like))


def _trajectories(rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    """Particles falling under gravity and bouncing off the floor (n, steps, 2)."""
    pos = np.zeros((n, steps, DIM))
    p = rng.uniform(0.2, 0.8, (n, DIM))
    v = rng.normal(0, 0.01, (n, DIM))
    for t in range(steps):
        v[:, 1] -= 0.002
        p = p + v
        low = p[:, 1] < 0.05
        v[low, 1] = np.abs(v[low, 1]) * 0.8
        pos[:, t] = p
    return pos


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    parts = _build(torch_like)
    simulator = parts["sim"](_stats(torch_like))
    load_numpy_state(torch_like, simulator, init)
    values: list[float] = []
    values.append(
        float(
            list(simulator._encode_process_decode._decoder.node_fn._modules)
            == ["NN-0", "Act-0", "NN-1", "Act-1", "NN-2", "Act-2"]
        )
    )

    rng = np.random.default_rng(4)
    nparticles_per_example = [6, 5]
    n = sum(nparticles_per_example)
    traj = as_tensor(torch, _trajectories(rng, n, HISTORY + 4))
    particle_types = as_tensor(torch, np.array([0, 1, 0, 1, 2, 0, 1, 0, 2, 1, 0]))
    kinematic_mask = particle_types == KINEMATIC_PARTICLE_ID

    optimizer = torch.optim.Adam(simulator.parameters(), lr=1e-3)
    lr_init, lr_decay, lr_decay_steps = 1e-3, 0.1, 5
    simulator.train()
    for step in range(3):
        start = step
        position = traj[:, start : start + HISTORY]
        next_position = traj[:, start + HISTORY]
        draws = rng.standard_normal((n, HISTORY - 1, DIM))
        sampled_noise = parts["noise"](position, noise_std_last_step=NOISE_STD, draws=draws)
        sampled_noise = sampled_noise.masked_fill(kinematic_mask.view(-1, 1, 1), 0.0)
        non_kinematic_mask = (particle_types != KINEMATIC_PARTICLE_ID).clone().detach()

        pred_acc, target_acc = simulator.predict_accelerations(
            next_positions=next_position,
            position_sequence_noise=sampled_noise,
            position_sequence=position,
            nparticles_per_example=nparticles_per_example,
            particle_types=particle_types,
        )
        # Calculate the loss and mask out loss on kinematic particles
        loss = (pred_acc - target_acc) ** 2
        loss = loss.sum(dim=-1)
        num_non_kinematic = non_kinematic_mask.sum()
        loss = torch.where(non_kinematic_mask.bool(), loss, torch.zeros_like(loss))
        loss = loss.sum() / num_non_kinematic

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        # Update learning rate
        lr_new = lr_init * (lr_decay ** (step / lr_decay_steps))
        for param in optimizer.param_groups:
            param["lr"] = lr_new
        values += [loss.item(), lr_new, float(sampled_noise.abs().max().item() > 0)]
    gaps = [g.aggregation_gap for g in simulator._encode_process_decode._processor.gnn_stacks]
    values.append(float(max(gaps) < 1e-12))

    # the graph itself: edges within each example only, self edges included
    _, edge_index, edge_features = simulator._encoder_preprocessor(
        traj[:, :HISTORY], nparticles_per_example, particle_types
    )
    batch = torch.tensor([0] * 6 + [1] * 5)
    values.append(float(edge_index.shape[1]))
    values.append(float(bool((batch[edge_index[0]] == batch[edge_index[1]]).all())))
    values += edge_features.sum(0).tolist()

    # rollout: kinematic particles follow the ground truth
    simulator.eval()
    current_positions = traj[:, :HISTORY]
    predictions = []
    with torch.no_grad():
        for step in range(3):
            next_position = simulator.predict_positions(
                current_positions,
                nparticles_per_example=nparticles_per_example,
                particle_types=particle_types,
            )
            mask = kinematic_mask.clone().detach()
            next_position_ground_truth = traj[:, HISTORY + step]
            mask = mask.bool()[:, None].expand(-1, current_positions.shape[-1])
            next_position = torch.where(mask, next_position_ground_truth, next_position)
            predictions.append(next_position)
            # Shift `current_positions`, removing the oldest position in the sequence
            # and appending the next position at the end.
            current_positions = torch.cat(
                [current_positions[:, 1:], next_position[:, None, :]], dim=1
            )
    predictions = torch.stack(predictions)
    ground_truth = traj[:, HISTORY : HISTORY + 3].permute(1, 0, 2)
    values.append(((predictions - ground_truth) ** 2).mean().item())
    values += predictions[-1].flatten().tolist()
    return values
