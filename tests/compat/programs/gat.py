"""pytorch/examples ``gat/main.py`` (Graph Attention Networks on Cora), size-reduced:
``GraphAttentionLayer`` (``nn.Parameter(torch.empty(size=(in_features, self.n_hidden *
n_heads)))`` and the per-head attention vector ``torch.empty(size=(n_heads, 2 * self.n_hidden,
1))`` initialised by ``nn.init.xavier_normal_``, ``torch.mm(h, self.W)``, heads split by
``view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)``, source and target scores from
``torch.matmul`` on slices of ``self.a`` broadcast-added through ``target_scores.mT``,
``nn.LeakyReLU``, edges masked by ``torch.where(adj_mat > 0, e, -9e16 * torch.ones_like(e))``,
``F.softmax(e, dim=-1)``, ``F.dropout(..., training=self.training)``, heads concatenated with
``permute(1, 0, 2).contiguous().view(...)`` or averaged with ``mean(dim=0)``); ``GAT`` (two
layers, ``F.elu``, ``F.log_softmax``); ``load_cora``'s tensor work (``torch.FloatTensor(...)``,
``1 / torch.sum(features, dim=1)``, ``scale_vector[scale_vector == float('inf')] = 0``,
``torch.diag(scale_vector).to_sparse()``, the sparse-dense product ``scale_vector @ features``,
``torch.LongTensor(labels)``, ``torch.sparse_coo_tensor(edges.T, torch.ones(E), (V, V),
dtype=torch.int64)`` and ``torch.eye(V) + adj_mat``); ``train_iter`` (``model(*input)``,
``criterion(output[mask_train], target[mask_train])`` with index tensors) and ``test``
(``(output.argmax(dim=1) == target).float().sum() / len(target)``); ``main``'s ``Adam(lr,
weight_decay=args.l2)``, ``nn.NLLLoss()`` and ``num_classes=labels.max().item() + 1``, with
both ``--concat-heads`` settings.

Changed: the Cora files are a random 24-node graph with three planted communities and sparse
binary features (NumPy; ``np.genfromtxt`` and the id map are skipped, an isolated feature-less
node keeps the ``inf`` -> 0 rescaling path alive); hidden 64 -> 8, heads 8 -> 2, 300 epochs
-> 6; ``dropout_p`` 0.6 -> 0 (random masks cannot agree between two frameworks);
``torch.randperm`` is a seeded NumPy permutation; ``sparse_coo_tensor`` is given
``check_invariants=True`` (leaving it implicit warns in PyTorch 2.13, and the suite turns
warnings into errors).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-6
N_NODES, N_FEAT, N_CLASSES, HIDDEN, HEADS = 24, 12, 3, 8, 2


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class GraphAttentionLayer(nn.Module):
        """
        Graph Attention Layer (GAT) as described in the paper `"Graph Attention Networks"
        <https://arxiv.org/pdf/1710.10903.pdf>`.

            This operation can be mathematically described as:

                e_ij = a(W h_i, W h_j)
                α_ij = softmax_j(e_ij) = exp(e_ij) / Σ_k(exp(e_ik))
                h_i' = σ(Σ_j(α_ij W h_j))

                where h_i and h_j are the feature vectors of nodes i and j respectively, W is a
                learnable weight matrix, a is an attention mechanism that computes the attention
                coefficients e_ij, and σ is an activation function.
        """

        def __init__(
            self,
            in_features: int,
            out_features: int,
            n_heads: int,
            concat: bool = False,
            dropout: float = 0.4,
            leaky_relu_slope: float = 0.2,
        ) -> None:
            super(GraphAttentionLayer, self).__init__()  # noqa: UP008 (as in the example)

            self.n_heads = n_heads  # Number of attention heads
            self.concat = concat  # whether to concatenate the final attention heads
            self.dropout = dropout  # Dropout rate

            if concat:  # concatenating the attention heads
                self.out_features = out_features  # Number of output features per node
                assert (
                    out_features % n_heads == 0
                )  # Ensure that out_features is a multiple of n_heads
                self.n_hidden = out_features // n_heads
            else:  # averaging output over the attention heads (Used in the main paper)
                self.n_hidden = out_features

            #  A shared linear transformation, parametrized by a weight matrix W is applied to
            #  every node. Initialize the weight matrix W
            self.W = nn.Parameter(torch.empty(size=(in_features, self.n_hidden * n_heads)))

            # Initialize the attention weights a
            self.a = nn.Parameter(torch.empty(size=(n_heads, 2 * self.n_hidden, 1)))

            self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)  # LeakyReLU activation function
            self.softmax = nn.Softmax(
                dim=1
            )  # softmax activation function to the attention coefficients

            self.reset_parameters()  # Reset the parameters

        def reset_parameters(self) -> None:
            """
            Reinitialize learnable parameters.
            """
            nn.init.xavier_normal_(self.W)
            nn.init.xavier_normal_(self.a)

        def _get_attention_scores(self, h_transformed: Any) -> Any:
            """calculates the attention scores e_ij for all pairs of nodes (i, j) in the graph
            in vectorized parallel form. for each pair of source and target nodes (i, j),
            the attention score e_ij is computed as follows:

                e_ij = LeakyReLU(a^T [Wh_i || Wh_j])

                where || denotes the concatenation operation, and a and W are the learnable
                parameters.
            """
            source_scores = torch.matmul(h_transformed, self.a[:, : self.n_hidden, :])
            target_scores = torch.matmul(h_transformed, self.a[:, self.n_hidden :, :])

            # broadcast add
            # (n_heads, n_nodes, 1) + (n_heads, 1, n_nodes) = (n_heads, n_nodes, n_nodes)
            e = source_scores + target_scores.mT
            return self.leakyrelu(e)

        def forward(self, h: Any, adj_mat: Any) -> Any:
            """
            Performs a graph attention layer operation.
            """
            n_nodes = h.shape[0]

            # Apply linear transformation to node feature -> W h
            # output shape (n_nodes, n_hidden * n_heads)
            h_transformed = torch.mm(h, self.W)
            h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)

            # splitting the heads by reshaping the tensor and putting heads dim first
            # output shape (n_heads, n_nodes, n_hidden)
            h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(
                1, 0, 2
            )

            # getting the attention scores
            # output shape (n_heads, n_nodes, n_nodes)
            e = self._get_attention_scores(h_transformed)

            # Set the attention score for non-existent edges to -9e15 (MASKING NON-EXISTENT
            # EDGES)
            connectivity_mask = -9e16 * torch.ones_like(e)
            e = torch.where(adj_mat > 0, e, connectivity_mask)  # masked attention scores

            # attention coefficients are computed as a softmax over the rows
            # for each column j in the attention score matrix e
            attention = F.softmax(e, dim=-1)
            attention = F.dropout(attention, self.dropout, training=self.training)

            # final node embeddings are computed as a weighted average of the features of its
            # neighbors
            h_prime = torch.matmul(attention, h_transformed)

            # concatenating/averaging the attention heads
            # output shape (n_nodes, out_features)
            if self.concat:
                h_prime = h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.out_features)
            else:
                h_prime = h_prime.mean(dim=0)

            return h_prime

    class GAT(nn.Module):
        """
        Graph Attention Network (GAT) as described in the paper `"Graph Attention Networks"
        <https://arxiv.org/pdf/1710.10903.pdf>`. Consists of a 2-layer stack of Graph
        Attention Layers (GATs). The fist GAT Layer is followed by an ELU activation. And the
        second (final) layer is a GAT layer with a single attention head and softmax
        activation function.
        """

        def __init__(
            self,
            in_features: int,
            n_hidden: int,
            n_heads: int,
            num_classes: int,
            concat: bool = False,
            dropout: float = 0.4,
            leaky_relu_slope: float = 0.2,
        ) -> None:
            super(GAT, self).__init__()  # noqa: UP008

            # Define the Graph Attention layers
            self.gat1 = GraphAttentionLayer(
                in_features=in_features,
                out_features=n_hidden,
                n_heads=n_heads,
                concat=concat,
                dropout=dropout,
                leaky_relu_slope=leaky_relu_slope,
            )

            self.gat2 = GraphAttentionLayer(
                in_features=n_hidden,
                out_features=num_classes,
                n_heads=1,
                concat=False,
                dropout=dropout,
                leaky_relu_slope=leaky_relu_slope,
            )

        def forward(self, input_tensor: Any, adj_mat: Any) -> Any:
            # Apply the first Graph Attention layer
            x = self.gat1(input_tensor, adj_mat)
            x = F.elu(x)  # Apply ELU activation function to the output of the first layer

            # Apply the second Graph Attention layer
            x = self.gat2(x, adj_mat)

            return F.log_softmax(x, dim=1)  # Apply log softmax activation function

    return GraphAttentionLayer, GAT


def make_model(torch_like: Any) -> Any:
    _, GAT = _classes(torch_like)
    kwargs = dict(in_features=N_FEAT, n_hidden=HIDDEN, n_heads=HEADS, num_classes=N_CLASSES)
    return torch_like.nn.ModuleDict(
        {
            "concat": GAT(**kwargs, concat=True, dropout=0.0, leaky_relu_slope=0.2),
            "mean": GAT(**kwargs, concat=False, dropout=0.0, leaky_relu_slope=0.2),
        }
    )


def _cora_like() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A planted-partition graph: features, string class names and an edge list."""
    rng = np.random.default_rng(1)
    communities = np.arange(N_NODES) % N_CLASSES
    features = (rng.random((N_NODES, N_FEAT)) < 0.15).astype(np.int32)
    features[np.arange(N_NODES), communities * 4] = 1
    features[-1] = 0  # a node without features
    names = np.array(["Neural_Networks", "Theory", "Genetic_Algorithms"])[communities]
    edges = [
        [i, j]
        for i in range(N_NODES)
        for j in range(N_NODES)
        if i != j and rng.random() < (0.35 if communities[i] == communities[j] else 0.03)
    ]
    return features, names, np.array(edges, dtype=np.int32)


def load_cora(torch_like: Any, device: str = "cpu") -> tuple[Any, Any, Any]:
    torch = torch_like
    content_features, content_classes, edges = _cora_like()

    # Process features
    features = torch.FloatTensor(content_features.astype(np.int32))  # Extract feature values
    scale_vector = torch.sum(features, dim=1)  # Compute sum of features for each node
    scale_vector = 1 / scale_vector  # Compute reciprocal of the sums
    scale_vector[scale_vector == float("inf")] = 0  # Handle division by zero cases
    scale_vector = torch.diag(
        scale_vector
    ).to_sparse()  # Convert the scale vector to a sparse diagonal matrix
    features = scale_vector @ features  # Scale the features using the scale vector

    # Process labels
    classes, labels = np.unique(
        content_classes, return_inverse=True
    )  # Extract unique classes and map labels to indices
    labels = torch.LongTensor(labels)  # Convert labels to a tensor

    # Construct the adjacency matrix
    V = len(content_features)  # Number of nodes
    E = edges.shape[0]  # Number of edges
    adj_mat = torch.sparse_coo_tensor(
        edges.T, torch.ones(E), (V, V), dtype=torch.int64, check_invariants=True
    )  # Create the initial adjacency matrix as a sparse tensor
    adj_mat = torch.eye(V) + adj_mat  # Add self-loops to the adjacency matrix

    return features.to(device), labels.to(device), adj_mat.to(device)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    _, GAT = _classes(torch_like)
    device = "cpu"
    values: list[float] = []

    def train_iter(
        epoch: int,
        model: Any,
        optimizer: Any,
        criterion: Any,
        input: tuple,
        target: Any,
        mask_train: Any,
        mask_val: Any,
    ) -> None:
        model.train()
        optimizer.zero_grad()
        output = model(*input)
        loss = criterion(output[mask_train], target[mask_train])
        loss.backward()
        optimizer.step()

        loss_train, acc_train = test(model, criterion, input, target, mask_train)
        loss_val, acc_val = test(model, criterion, input, target, mask_val)
        values.extend([loss.item(), loss_train, acc_train, loss_val, acc_val])

    def test(model: Any, criterion: Any, input: tuple, target: Any, mask: Any) -> tuple:
        model.eval()
        with torch.no_grad():
            output = model(*input)
            output, target = output[mask], target[mask]

            loss = criterion(output, target)
            acc = (output.argmax(dim=1) == target).float().sum() / len(target)
        return loss.item(), acc.item()

    features, labels, adj_mat = load_cora(torch_like, device=device)
    idx = torch.from_numpy(np.random.default_rng(0).permutation(len(labels))).to(device)
    idx_test, idx_val, idx_train = idx[:6], idx[6:10], idx[10:]

    start = make_model(torch_like)
    load_numpy_state(torch_like, start, init)
    for concat_heads in (True, False):
        gat_net = GAT(
            in_features=features.shape[1],  # Number of input features per node
            n_hidden=HIDDEN,  # Output size of the first Graph Attention Layer
            n_heads=HEADS,  # Number of attention heads in the first Graph Attention Layer
            num_classes=labels.max().item() + 1,  # Number of classes to predict for each node
            concat=concat_heads,  # Wether to concatinate attention heads
            dropout=0.0,  # Dropout rate
            leaky_relu_slope=0.2,  # Alpha (slope) of the leaky relu activation
        ).to(device)
        gat_net.load_state_dict(start["concat" if concat_heads else "mean"].state_dict())

        # configure optimizer and loss function
        optimizer = torch.optim.Adam(gat_net.parameters(), lr=0.005, weight_decay=5e-4)
        criterion = nn.NLLLoss()

        # Train and evaluate the model
        for epoch in range(6):
            train_iter(
                epoch + 1,
                gat_net,
                optimizer,
                criterion,
                (features, adj_mat),
                labels,
                idx_train,
                idx_val,
            )
        loss_test, acc_test = test(gat_net, criterion, (features, adj_mat), labels, idx_test)
        values += [loss_test, acc_test]
    return values
