"""MeshGraphNets (Pfaff et al.) for the CylinderFlow task, as the PyTorch port
echowve/meshGraphNets_pytorch writes it (``model/blocks.py``, ``model/model.py``,
``model/simulator.py``, ``utils/normalization.py``, ``utils/noise.py``, ``train.py``),
size-reduced.

The idioms: ``build_mlp`` (``nn.Sequential`` of three ``Linear``/``ReLU`` pairs and a final
``Linear``, wrapped as ``nn.Sequential(module, nn.LayerNorm(normalized_shape=out_size))``);
``EdgeBlock`` (``senders_idx, receivers_idx = edge_index``, ``node_attr[senders_idx]``,
``torch.cat(edges_to_collect, dim=1)``); ``NodeBlock`` (``scatter_add(edge_attr, receivers_idx,
dim=0, dim_size=num_nodes)``, ``torch.cat(nodes_to_collect, dim=-1)``); ``GnBlock``'s residuals
on a ``copy_geometric_data`` copy; ``Encoder`` / ``Processor`` (``nn.ModuleList`` of
``GnBlock``s) / ``Decoder`` (no LayerNorm); the online ``Normalizer(nn.Module)`` with its
accumulators as plain ``torch.tensor(..., dtype=torch.float32, requires_grad=False)``
attributes, ``torch.sum(batched_data, axis=0, keepdims=True)`` (NumPy's keyword names),
``torch.maximum(self._acc_count, torch.tensor(1.0, ...))``, ``torch.sqrt(self._acc_sum_squared
/ safe_count - self._mean() ** 2)`` and ``torch.maximum(std, self.std_epsilon)``, ``if
self._num_accumulations < self.max_accumulations`` (a tensor in an ``if``); ``Simulator``
(``torch.nn.functional.one_hot(torch.squeeze(node_type.long()), NodeType.SIZE)``, ``torch.cat(
node_feature, dim=1)``, the relative mesh positions (``torch.index_select``) and
``torch.norm(..., dim=-1, keepdim=True)`` edge features, ``frames = graph.x[:, 1:3]``,
``velocity_to_accelation``, ``self._output_normalizer(..., self.training)``, ``inverse``);
``get_velocity_noise`` (``torch.normal(std=noise_std, mean=0.0, size=velocity_sequence.shape)``,
``mask = type != NodeType.NORMAL``, ``noise[mask] = 0``); ``torch.logical_not`` of the
boundary mask in evaluation; the loss on normal and outflow nodes
(``torch.logical_or(node_type == NodeType.NORMAL, node_type == NodeType.OUTFLOW)``, ``errors =
((predicted_acc - target_acc)**2)[mask]``, ``torch.mean(errors)``); ``torch.optim.Adam`` with
``ExponentialLR``.

Changed: a 2-D mesh of 9 nodes (3x3 grid, two triangles per cell, ``faces_to_edges`` done in
NumPy) instead of the cylinder mesh, hidden size 128 -> 8, 15 message-passing steps -> 2, 3
training steps; ``torch_scatter.scatter_add`` is written with ``Tensor.index_add``; the
``torch_geometric.data.Data`` graph is a small dataclass with the same fields.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the normalizers' accumulators are float32 tensors in the repository
HIDDEN, MP_STEPS, NOISE_STD = 8, 2, 2e-2


class NodeType(enum.IntEnum):
    NORMAL = 0
    OBSTACLE = 1
    AIRFOIL = 2
    HANDLE = 3
    INFLOW = 4
    OUTFLOW = 5
    WALL_BOUNDARY = 6
    SIZE = 9


@dataclass
class Data:
    x: Any = None
    edge_attr: Any = None
    edge_index: Any = None
    pos: Any = None

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]


def copy_geometric_data(graph: Data) -> Data:
    """return a copy of torch_geometric.data.data.Data
    This function should be carefully used based on
    which keys in a given graph.
    """
    return replace(graph)


def decompose_graph(graph: Data) -> tuple:
    # graph: torch_geometric.data.data.Data
    return (graph.x, graph.edge_index, graph.edge_attr, None)


def _model(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    def scatter_add(src: Any, index: Any, dim: int = 0, dim_size: int | None = None) -> Any:
        out = torch.zeros((dim_size, *src.shape[1:]), dtype=src.dtype, device=src.device)
        return out.index_add(dim, index, src)

    def build_mlp(in_size: int, hidden_size: int, out_size: int, lay_norm: bool = True) -> Any:
        module = nn.Sequential(
            nn.Linear(in_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, out_size),
        )
        if lay_norm:
            return nn.Sequential(module, nn.LayerNorm(normalized_shape=out_size))
        return module

    class EdgeBlock(nn.Module):
        def __init__(self, custom_func: Any = None) -> None:
            super(EdgeBlock, self).__init__()  # noqa: UP008 (as in the repository)
            self.net = custom_func

        def forward(self, graph: Data) -> Data:
            node_attr, edge_index, edge_attr, _ = decompose_graph(graph)
            senders_idx, receivers_idx = edge_index
            edges_to_collect = []

            senders_attr = node_attr[senders_idx]
            receivers_attr = node_attr[receivers_idx]

            edges_to_collect.append(senders_attr)
            edges_to_collect.append(receivers_attr)
            edges_to_collect.append(edge_attr)

            collected_edges = torch.cat(edges_to_collect, dim=1)

            edge_attr_ = self.net(collected_edges)  # Update

            return Data(x=node_attr, edge_attr=edge_attr_, edge_index=edge_index)

    class NodeBlock(nn.Module):
        def __init__(self, custom_func: Any = None) -> None:
            super(NodeBlock, self).__init__()  # noqa: UP008
            self.net = custom_func

        def forward(self, graph: Data) -> Data:
            # Decompose graph
            edge_attr = graph.edge_attr
            nodes_to_collect = []

            _, receivers_idx = graph.edge_index
            num_nodes = graph.num_nodes
            agg_received_edges = scatter_add(edge_attr, receivers_idx, dim=0, dim_size=num_nodes)

            nodes_to_collect.append(graph.x)
            nodes_to_collect.append(agg_received_edges)
            collected_nodes = torch.cat(nodes_to_collect, dim=-1)
            x = self.net(collected_nodes)
            return Data(x=x, edge_attr=edge_attr, edge_index=graph.edge_index)

    class Encoder(nn.Module):
        def __init__(self, edge_input_size: int = 128, node_input_size: int = 128,
                     hidden_size: int = 128) -> None:  # fmt: skip
            super(Encoder, self).__init__()  # noqa: UP008

            self.eb_encoder = build_mlp(edge_input_size, hidden_size, hidden_size)
            self.nb_encoder = build_mlp(node_input_size, hidden_size, hidden_size)

        def forward(self, graph: Data) -> Data:
            node_attr, _, edge_attr, _ = decompose_graph(graph)
            node_ = self.nb_encoder(node_attr)
            edge_ = self.eb_encoder(edge_attr)

            return Data(x=node_, edge_attr=edge_, edge_index=graph.edge_index)

    class GnBlock(nn.Module):
        def __init__(self, hidden_size: int = 128) -> None:
            super(GnBlock, self).__init__()  # noqa: UP008

            eb_input_dim = 3 * hidden_size
            nb_input_dim = 2 * hidden_size
            nb_custom_func = build_mlp(nb_input_dim, hidden_size, hidden_size)
            eb_custom_func = build_mlp(eb_input_dim, hidden_size, hidden_size)

            self.eb_module = EdgeBlock(custom_func=eb_custom_func)
            self.nb_module = NodeBlock(custom_func=nb_custom_func)

        def forward(self, graph: Data) -> Data:
            graph_last = copy_geometric_data(graph)
            graph = self.eb_module(graph)
            graph = self.nb_module(graph)
            edge_attr = graph_last.edge_attr + graph.edge_attr
            x = graph_last.x + graph.x
            return Data(x=x, edge_attr=edge_attr, edge_index=graph.edge_index)

    class Decoder(nn.Module):
        def __init__(self, hidden_size: int = 128, output_size: int = 2) -> None:
            super(Decoder, self).__init__()  # noqa: UP008
            self.decode_module = build_mlp(hidden_size, hidden_size, output_size, lay_norm=False)

        def forward(self, graph: Data) -> Any:
            return self.decode_module(graph.x)

    class EncoderProcesserDecoder(nn.Module):
        def __init__(self, message_passing_num: int, node_input_size: int,
                     edge_input_size: int, hidden_size: int = 128) -> None:  # fmt: skip
            super(EncoderProcesserDecoder, self).__init__()  # noqa: UP008

            self.encoder = Encoder(edge_input_size=edge_input_size,
                                   node_input_size=node_input_size,
                                   hidden_size=hidden_size)  # fmt: skip

            processer_list = []
            for _ in range(message_passing_num):
                processer_list.append(GnBlock(hidden_size=hidden_size))
            self.processer_list = nn.ModuleList(processer_list)

            self.decoder = Decoder(hidden_size=hidden_size, output_size=2)

        def forward(self, graph: Data) -> Any:
            graph = self.encoder(graph)
            for model in self.processer_list:
                graph = model(graph)
            decoded = self.decoder(graph)

            return decoded

    class Normalizer(nn.Module):
        def __init__(self, size: int, max_accumulations: float = 10**6,
                     std_epsilon: float = 1e-8, name: str = "Normalizer",
                     device: str = "cpu") -> None:  # fmt: skip
            super(Normalizer, self).__init__()  # noqa: UP008
            self.name = name
            self._max_accumulations = max_accumulations
            self._std_epsilon = torch.tensor(std_epsilon, dtype=torch.float32,
                                             requires_grad=False, device=device)  # fmt: skip
            self._acc_count = torch.tensor(0, dtype=torch.float32, requires_grad=False,
                                           device=device)  # fmt: skip
            self._num_accumulations = torch.tensor(0, dtype=torch.float32,
                                                   requires_grad=False, device=device)  # fmt: skip
            self._acc_sum = torch.zeros((1, size), dtype=torch.float32, requires_grad=False,
                                        device=device)  # fmt: skip
            self._acc_sum_squared = torch.zeros((1, size), dtype=torch.float32,
                                                requires_grad=False, device=device)  # fmt: skip

        def forward(self, batched_data: Any, accumulate: bool = True) -> Any:
            """Normalizes input data and accumulates statistics."""
            if accumulate:
                # stop accumulating after a million updates, to prevent accuracy issues
                if self._num_accumulations < self._max_accumulations:
                    self._accumulate(batched_data.detach())
            return (batched_data - self._mean()) / self._std_with_epsilon()

        def inverse(self, normalized_batch_data: Any) -> Any:
            """Inverse transformation of the normalizer."""
            return normalized_batch_data * self._std_with_epsilon() + self._mean()

        def _accumulate(self, batched_data: Any) -> None:
            """Function to perform the accumulation of the batch_data statistics."""
            count = batched_data.shape[0]
            data_sum = torch.sum(batched_data, axis=0, keepdims=True)
            squared_data_sum = torch.sum(batched_data**2, axis=0, keepdims=True)

            self._acc_sum += data_sum
            self._acc_sum_squared += squared_data_sum
            self._acc_count += count
            self._num_accumulations += 1

        def _mean(self) -> Any:
            safe_count = torch.maximum(
                self._acc_count,
                torch.tensor(1.0, dtype=torch.float32, device=self._acc_count.device),
            )
            return self._acc_sum / safe_count

        def _std_with_epsilon(self) -> Any:
            safe_count = torch.maximum(
                self._acc_count,
                torch.tensor(1.0, dtype=torch.float32, device=self._acc_count.device),
            )
            std = torch.sqrt(self._acc_sum_squared / safe_count - self._mean() ** 2)
            return torch.maximum(std, self._std_epsilon)

    class Simulator(nn.Module):
        def __init__(self, message_passing_num: int, node_input_size: int,
                     edge_input_size: int, device: str = "cpu",
                     model_dir: str = "checkpoint/simulator.pth") -> None:  # fmt: skip
            super(Simulator, self).__init__()  # noqa: UP008

            self.node_input_size = node_input_size
            self.edge_input_size = edge_input_size
            self.model_dir = model_dir
            self.model = EncoderProcesserDecoder(message_passing_num=message_passing_num,
                                                 node_input_size=node_input_size,
                                                 edge_input_size=edge_input_size,
                                                 hidden_size=HIDDEN)  # fmt: skip
            self._output_normalizer = Normalizer(size=2, name="output_normalizer", device=device)
            self._node_normalizer = Normalizer(size=node_input_size, name="node_normalizer",
                                               device=device)  # fmt: skip
            self._edge_normalizer = Normalizer(size=edge_input_size, name="edge_normalizer",
                                               device=device)  # fmt: skip

        def update_node_attr(self, frames: Any, types: Any) -> Any:
            node_feature = []

            node_feature.append(frames)  # velocity
            node_type = torch.squeeze(types.long())
            one_hot = torch.nn.functional.one_hot(node_type, NodeType.SIZE)
            node_feature.append(one_hot)
            node_feats = torch.cat(node_feature, dim=1)
            attr = self._node_normalizer(node_feats, self.training)

            return attr

        def velocity_to_accelation(self, noised_frames: Any, next_velocity: Any) -> Any:
            acc_next = next_velocity - noised_frames
            return acc_next

        def forward(self, graph: Data, velocity_sequence_noise: Any) -> Any:
            if self.training:
                node_type = graph.x[:, 0:1]
                frames = graph.x[:, 1:3]
                target = graph.y

                noised_frames = frames + velocity_sequence_noise
                node_attr = self.update_node_attr(noised_frames, node_type)
                graph.x = node_attr
                predicted = self.model(graph)

                target_acceration = self.velocity_to_accelation(noised_frames, target)
                target_acceration_normalized = self._output_normalizer(target_acceration,
                                                                       self.training)  # fmt: skip

                return predicted, target_acceration_normalized

            else:
                node_type = graph.x[:, 0:1]
                frames = graph.x[:, 1:3]
                node_attr = self.update_node_attr(frames, node_type)
                graph.x = node_attr
                predicted = self.model(graph)

                velocity_update = self._output_normalizer.inverse(predicted)
                predicted_velocity = frames + velocity_update

                return predicted_velocity

    return Simulator


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)(MP_STEPS, node_input_size=2 + NodeType.SIZE, edge_input_size=3)


def _mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 3x3 grid mesh: positions, the two-way edges of its triangles, node types."""
    pos = np.array([[x, y] for y in range(3) for x in range(3)], dtype=np.float32) * 0.5
    faces = []
    for y in range(2):
        for x in range(2):
            a, b, c, d = 3 * y + x, 3 * y + x + 1, 3 * (y + 1) + x, 3 * (y + 1) + x + 1
            faces += [[a, b, d], [a, d, c]]
    faces = np.array(faces)
    edges = np.concatenate([faces[:, 0:2], faces[:, 1:3], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    edge_index = np.concatenate([edges, edges[:, ::-1]]).T.copy()
    node_type = np.zeros((9, 1), dtype=np.float32)
    node_type[[0, 3, 6]] = NodeType.INFLOW
    node_type[[2, 5, 8]] = NodeType.OUTFLOW
    node_type[[1, 7]] = NodeType.WALL_BOUNDARY
    return pos, edge_index, node_type


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    simulator = make_model(torch_like)
    load_numpy_state(torch_like, simulator, init)
    optimizer = torch.optim.Adam(simulator.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    pos_np, edge_index_np, node_type_np = _mesh()
    rng = np.random.default_rng(4)
    values: list[float] = []

    def get_velocity_noise(graph: Data, noise_std: float) -> Any:
        velocity_sequence = graph.x[:, 1:3]
        type = graph.x[:, 0]
        noise = torch.normal(std=noise_std, mean=0.0, size=velocity_sequence.shape)
        mask = type != NodeType.NORMAL
        noise[mask] = 0
        return noise

    def make_graph() -> Data:
        velocity = rng.normal(size=(9, 2)).astype(np.float32)
        pos = as_tensor(torch_like, pos_np)
        edge_index = as_tensor(torch_like, edge_index_np)
        senders, receivers = edge_index
        distance = torch.index_select(pos, 0, senders) - torch.index_select(pos, 0, receivers)
        norm = torch.norm(distance, dim=-1, keepdim=True)
        edge_attr = torch.cat([distance, norm], dim=-1)
        x = torch.cat((as_tensor(torch_like, node_type_np), as_tensor(torch_like, velocity)),
                      dim=-1)  # fmt: skip
        graph = Data(x=x, edge_attr=edge_attr, edge_index=edge_index, pos=pos)
        graph.y = as_tensor(torch_like, velocity + 0.1 * rng.normal(size=(9, 2)).astype("f4"))
        return graph

    simulator.train()
    for _step in range(3):
        graph = make_graph()
        graph.edge_attr = simulator._edge_normalizer(graph.edge_attr, simulator.training)
        node_type = graph.x[:, 0]
        velocity_sequence_noise = get_velocity_noise(graph, noise_std=NOISE_STD)
        predicted_acc, target_acc = simulator(graph, velocity_sequence_noise)
        mask = torch.logical_or(node_type == NodeType.NORMAL, node_type == NodeType.OUTFLOW)

        errors = ((predicted_acc - target_acc) ** 2)[mask]
        loss = torch.mean(errors)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), simulator._node_normalizer._acc_count.item()]
        values += simulator._output_normalizer._std_with_epsilon().flatten().tolist()

    simulator.eval()
    with torch.no_grad():
        graph = make_graph()
        graph.edge_attr = simulator._edge_normalizer(graph.edge_attr, simulator.training)
        predicted_velocity = simulator(graph, None)
        mask = torch.logical_not(torch.logical_or(graph.pos[:, 0] == 0, graph.pos[:, 0] == 1.0))
        values += [predicted_velocity[mask].sum().item(), predicted_velocity.abs().mean().item()]
    return values
