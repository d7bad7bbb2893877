"""SimGNN (Bai et al. 2019, graph similarity by learned GED), benedekrozemberczki/SimGNN
(``src/layers.py``: ``AttentionModule``, ``TenorNetworkModule``; ``src/simgnn.py``: ``SimGNN``,
``SimGNNTrainer``; ``src/utils.py``: ``calculate_loss``, ``calculate_normalized_ged``),
size-reduced.

The idioms kept: parameters created as ``torch.nn.Parameter(torch.Tensor(...))`` and filled by
``torch.nn.init.xavier_uniform_`` (the bias too, a ``(tensor_neurons, 1)`` matrix); the
attention pooling ``torch.mean(torch.matmul(embedding, self.weight_matrix), dim=0)``,
``torch.tanh``, ``torch.sigmoid(torch.mm(embedding, transformed_global.view(-1, 1)))`` and
``torch.mm(torch.t(embedding), sigmoid_scores)``; the neural tensor network
(``self.weight_matrix.view(self.args.filters_3, -1)``, ``torch.cat((embedding_1,
embedding_2))``, ``F.relu(scoring + block_scoring + self.bias)``); the pairwise-similarity
histogram ``torch.histc(scores, bins=self.args.bins)`` of ``torch.mm(abstract_features_1,
abstract_features_2).detach()`` normalised by ``torch.sum(hist)``; ``calculate_bottleneck_
features`` switching on ``self.args.histogram``; ``transfer_to_torch`` (edges made undirected
by ``[[y, x] for x, y in ...]``, ``torch.from_numpy(np.array(edges, dtype=np.int64).T)
.type(torch.long)``, one-hot features as lists into ``torch.FloatTensor(np.array(...))``,
the target ``torch.from_numpy(np.exp(-norm_ged).reshape(1, 1)).view(-1).float()``);
``process_batch`` summing ``F.mse_loss(data["target"], prediction)`` over the pairs of a batch
(the target of size ``[1]`` against a ``[1, 1]`` prediction: PyTorch's broadcasting warning),
``losses.backward(retain_graph=True)``, ``Adam(lr, weight_decay)``; ``score`` in
``model.eval()`` with ``calculate_loss`` = ``(prediction - target) ** 2`` on floats.

Changed: the GCNConv layers of PyTorch Geometric are written out with plain ops (self loops,
``deg.pow(-0.5)`` with ``masked_fill_`` of infinities, ``index_add_`` aggregation), as
``torch_geometric.nn.GCNConv`` computes; the AIDS/LINUX pairs -> 8 random pairs of 4-6 node
graphs with a NumPy edit-distance stand-in; filters 128/64/32 -> 8/6/4, tensor neurons 16 ->
4, bins 16 -> 6, bottleneck 16 -> 4; 5 epochs -> 3 of 2 batches; dropout 0.5 -> 0; ``tqdm``
dropped.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
ARGS = SimpleNamespace(filters_1=8, filters_2=6, filters_3=4, tensor_neurons=4, bins=6,
                       bottle_neck_neurons=4, histogram=True, dropout=0.0,
                       learning_rate=0.01, weight_decay=5e-4, batch_size=4, epochs=3)  # fmt: skip
N_LABELS = 3


def _simgnn(torch_like: Any) -> type:
    torch = torch_like

    class GCNConv(torch.nn.Module):
        """``torch_geometric.nn.GCNConv`` (symmetric normalisation with self loops)."""

        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.in_channels, self.out_channels = in_channels, out_channels
            self.lin = torch.nn.Linear(in_channels, out_channels, bias=False)
            self.bias = torch.nn.Parameter(torch.zeros(out_channels))
            torch.nn.init.xavier_uniform_(self.lin.weight)

        def forward(self, x, edge_index):  # noqa: ANN001, ANN201
            num_nodes = x.size(0)
            loop = torch.arange(num_nodes, dtype=torch.long)
            row = torch.cat([edge_index[0], loop])
            col = torch.cat([edge_index[1], loop])
            deg = torch.zeros(num_nodes, dtype=x.dtype).index_add_(
                0, col, torch.ones(col.size(0), dtype=x.dtype)
            )
            deg_inv_sqrt = deg.pow(-0.5)
            deg_inv_sqrt.masked_fill_(deg_inv_sqrt == float("inf"), 0)
            norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
            x = self.lin(x)
            out = torch.zeros(num_nodes, self.out_channels, dtype=x.dtype)
            out = out.index_add_(0, col, norm.view(-1, 1) * x[row])
            return out + self.bias

        def __repr__(self) -> str:
            return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"

    class AttentionModule(torch.nn.Module):
        """
        SimGNN Attention Module to make a pass on graph.
        """

        def __init__(self, args):  # noqa: ANN001
            """
            :param args: Arguments object.
            """
            super(AttentionModule, self).__init__()  # noqa: UP008
            self.args = args
            self.setup_weights()
            self.init_parameters()

        def setup_weights(self) -> None:
            """
            Defining weights.
            """
            self.weight_matrix = torch.nn.Parameter(
                torch.Tensor(self.args.filters_3, self.args.filters_3)
            )

        def init_parameters(self) -> None:
            """
            Initializing weights.
            """
            torch.nn.init.xavier_uniform_(self.weight_matrix)

        def forward(self, embedding):  # noqa: ANN001, ANN201
            """
            Making a forward propagation pass to create a graph level representation.
            :param embedding: Result of the GCN.
            :return representation: A graph level representation vector.
            """
            global_context = torch.mean(torch.matmul(embedding, self.weight_matrix), dim=0)
            transformed_global = torch.tanh(global_context)
            sigmoid_scores = torch.sigmoid(torch.mm(embedding, transformed_global.view(-1, 1)))
            representation = torch.mm(torch.t(embedding), sigmoid_scores)
            return representation

    class TenorNetworkModule(torch.nn.Module):
        """
        SimGNN Tensor Network module to calculate similarity vector.
        """

        def __init__(self, args):  # noqa: ANN001
            """
            :param args: Arguments object.
            """
            super(TenorNetworkModule, self).__init__()  # noqa: UP008
            self.args = args
            self.setup_weights()
            self.init_parameters()

        def setup_weights(self) -> None:
            """
            Defining weights.
            """
            self.weight_matrix = torch.nn.Parameter(
                torch.Tensor(self.args.filters_3, self.args.filters_3, self.args.tensor_neurons)
            )

            self.weight_matrix_block = torch.nn.Parameter(
                torch.Tensor(self.args.tensor_neurons, 2 * self.args.filters_3)
            )
            self.bias = torch.nn.Parameter(torch.Tensor(self.args.tensor_neurons, 1))

        def init_parameters(self) -> None:
            """
            Initializing weights.
            """
            torch.nn.init.xavier_uniform_(self.weight_matrix)
            torch.nn.init.xavier_uniform_(self.weight_matrix_block)
            torch.nn.init.xavier_uniform_(self.bias)

        def forward(self, embedding_1, embedding_2):  # noqa: ANN001, ANN201
            """
            Making a forward propagation pass to create a similarity vector.
            """
            scoring = torch.mm(
                torch.t(embedding_1), self.weight_matrix.view(self.args.filters_3, -1)
            )
            scoring = scoring.view(self.args.filters_3, self.args.tensor_neurons)
            scoring = torch.mm(torch.t(scoring), embedding_2)
            combined_representation = torch.cat((embedding_1, embedding_2))
            block_scoring = torch.mm(self.weight_matrix_block, combined_representation)
            scores = torch.nn.functional.relu(scoring + block_scoring + self.bias)
            return scores

    class SimGNN(torch.nn.Module):
        """
        SimGNN: A Neural Network Approach to Fast Graph Similarity Computation
        https://arxiv.org/abs/1808.05689
        """

        def __init__(self, args, number_of_labels):  # noqa: ANN001
            """
            :param args: Arguments object.
            :param number_of_labels: Number of node labels.
            """
            super(SimGNN, self).__init__()  # noqa: UP008
            self.args = args
            self.number_labels = number_of_labels
            self.setup_layers()

        def calculate_bottleneck_features(self) -> None:
            """
            Deciding the shape of the bottleneck layer.
            """
            if self.args.histogram == True:  # noqa: E712 (as in the repository)
                self.feature_count = self.args.tensor_neurons + self.args.bins
            else:
                self.feature_count = self.args.tensor_neurons

        def setup_layers(self) -> None:
            """
            Creating the layers.
            """
            self.calculate_bottleneck_features()
            self.convolution_1 = GCNConv(self.number_labels, self.args.filters_1)
            self.convolution_2 = GCNConv(self.args.filters_1, self.args.filters_2)
            self.convolution_3 = GCNConv(self.args.filters_2, self.args.filters_3)
            self.attention = AttentionModule(self.args)
            self.tensor_network = TenorNetworkModule(self.args)
            self.fully_connected_first = torch.nn.Linear(
                self.feature_count, self.args.bottle_neck_neurons
            )
            self.scoring_layer = torch.nn.Linear(self.args.bottle_neck_neurons, 1)

        def calculate_histogram(self, abstract_features_1, abstract_features_2):  # noqa: ANN001, ANN201
            """
            Calculate histogram from similarity matrix.
            """
            scores = torch.mm(abstract_features_1, abstract_features_2).detach()
            scores = scores.view(-1, 1)
            hist = torch.histc(scores, bins=self.args.bins)
            hist = hist / torch.sum(hist)
            hist = hist.view(1, -1)
            return hist

        def convolutional_pass(self, edge_index, features):  # noqa: ANN001, ANN201
            """
            Making convolutional pass.
            """
            features = self.convolution_1(features, edge_index)
            features = torch.nn.functional.relu(features)
            features = torch.nn.functional.dropout(
                features, p=self.args.dropout, training=self.training
            )

            features = self.convolution_2(features, edge_index)
            features = torch.nn.functional.relu(features)
            features = torch.nn.functional.dropout(
                features, p=self.args.dropout, training=self.training
            )

            features = self.convolution_3(features, edge_index)
            return features

        def forward(self, data):  # noqa: ANN001, ANN201
            """
            Forward pass with graphs.
            """
            edge_index_1 = data["edge_index_1"]
            edge_index_2 = data["edge_index_2"]
            features_1 = data["features_1"]
            features_2 = data["features_2"]

            abstract_features_1 = self.convolutional_pass(edge_index_1, features_1)
            abstract_features_2 = self.convolutional_pass(edge_index_2, features_2)

            if self.args.histogram == True:  # noqa: E712
                hist = self.calculate_histogram(abstract_features_1, torch.t(abstract_features_2))

            pooled_features_1 = self.attention(abstract_features_1)
            pooled_features_2 = self.attention(abstract_features_2)
            scores = self.tensor_network(pooled_features_1, pooled_features_2)
            scores = torch.t(scores)

            if self.args.histogram == True:  # noqa: E712
                scores = torch.cat((scores, hist), dim=1).view(1, -1)

            scores = torch.nn.functional.relu(self.fully_connected_first(scores))
            score = torch.sigmoid(self.scoring_layer(scores))
            return score

    return SimGNN


def make_model(torch_like: Any) -> Any:
    return _simgnn(torch_like)(ARGS, N_LABELS)


def _pairs(n: int, rng: np.random.Generator) -> list[dict]:
    """Graph pairs as the repository's JSON files hold them (lists), with a GED stand-in."""

    def graph() -> tuple[list, list]:
        k = int(rng.integers(4, 7))
        edges = [[i, i + 1] for i in range(k - 1)]
        edges += [[int(a), int(b)] for a, b in rng.integers(0, k, (2, 2)) if a < b]
        labels = [str(int(v)) for v in rng.integers(0, N_LABELS, k)]
        return edges, labels

    pairs = []
    for _ in range(n):
        (g1, l1), (g2, l2) = graph(), graph()
        ged = abs(len(g1) - len(g2)) + abs(len(l1) - len(l2)) + sum(a != b for a, b in zip(l1, l2))
        pairs.append({"graph_1": g1, "graph_2": g2, "labels_1": l1, "labels_2": l2, "ged": ged})
    return pairs


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    args = ARGS
    global_labels = {str(i): i for i in range(N_LABELS)}

    def calculate_loss(prediction, target):  # noqa: ANN001, ANN202
        prediction = -np.log(prediction)
        target = -np.log(target)
        score = (prediction - target) ** 2
        return score

    def transfer_to_torch(data):  # noqa: ANN001, ANN202
        new_data = dict()
        edges_1 = data["graph_1"] + [[y, x] for x, y in data["graph_1"]]

        edges_2 = data["graph_2"] + [[y, x] for x, y in data["graph_2"]]

        edges_1 = torch.from_numpy(np.array(edges_1, dtype=np.int64).T).type(torch.long)
        edges_2 = torch.from_numpy(np.array(edges_2, dtype=np.int64).T).type(torch.long)

        features_1, features_2 = [], []

        for n in data["labels_1"]:
            features_1.append(
                [1.0 if global_labels[n] == i else 0.0 for i in global_labels.values()]
            )

        for n in data["labels_2"]:
            features_2.append(
                [1.0 if global_labels[n] == i else 0.0 for i in global_labels.values()]
            )

        features_1 = torch.FloatTensor(np.array(features_1))
        features_2 = torch.FloatTensor(np.array(features_2))

        new_data["edge_index_1"] = edges_1
        new_data["edge_index_2"] = edges_2

        new_data["features_1"] = features_1
        new_data["features_2"] = features_2

        norm_ged = data["ged"] / (0.5 * (len(data["labels_1"]) + len(data["labels_2"])))

        new_data["target"] = torch.from_numpy(np.exp(-norm_ged).reshape(1, 1)).view(-1).float()
        return new_data

    rng = np.random.default_rng(4)
    training_graphs, testing_graphs = _pairs(8, rng), _pairs(3, rng)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay
    )

    def process_batch(batch):  # noqa: ANN001, ANN202
        optimizer.zero_grad()
        losses = 0
        for graph_pair in batch:
            data = transfer_to_torch(graph_pair)
            prediction = model(data)
            losses = losses + torch.nn.functional.mse_loss(data["target"], prediction)
        losses.backward(retain_graph=True)
        optimizer.step()
        loss = losses.item()
        return loss

    values: list[float] = []
    model.train()
    order = np.random.default_rng(9)
    with warnings.catch_warnings():  # mse_loss of a [1] target and a [1, 1] prediction
        warnings.filterwarnings("ignore", "Using a target size", UserWarning)
        for _epoch in range(args.epochs):
            perm = order.permutation(len(training_graphs))
            shuffled = [training_graphs[i] for i in perm]
            batches = [
                shuffled[g : g + args.batch_size] for g in range(0, len(shuffled), args.batch_size)
            ]
            loss_sum = 0
            main_index = 0
            for batch in batches:
                loss_score = process_batch(batch)
                main_index = main_index + len(batch)
                loss_sum = loss_sum + loss_score * len(batch)
                values.append(loss_score)
            values.append(loss_sum / main_index)

    model.eval()
    scores, ground_truth = [], []
    for graph_pair in testing_graphs:
        data = transfer_to_torch(graph_pair)
        ground_truth.append(
            graph_pair["ged"] / (0.5 * (len(graph_pair["labels_1"]) + len(graph_pair["labels_2"])))
        )
        target = data["target"]
        prediction = model(data)
        scores.append(calculate_loss(prediction.item(), target.item()))
        # the histogram features themselves (no gradient through histc)
        f1 = model.convolutional_pass(data["edge_index_1"], data["features_1"])
        f2 = model.convolutional_pass(data["edge_index_2"], data["features_2"])
        values += model.calculate_histogram(f1, torch.t(f2)).view(-1).tolist()
    values.append(float(np.mean(scores)))
    values.append(float(np.mean(ground_truth)))
    return values
