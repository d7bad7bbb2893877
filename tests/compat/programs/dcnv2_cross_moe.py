"""DCN-v2 (Wang et al., "DCN V2: Improved Deep & Cross Network"), in torchrec's
``torchrec/modules/crossnet.py`` form, on pooled multi-hot embeddings, size-reduced.

The sparse features are multi-hot bags read by ``nn.EmbeddingBag(num_embeddings, dim,
mode='sum')`` called as ``bag(input, offsets, per_sample_weights=weights)`` (flattened ids with
the bag offsets, per-id weights as in a weighted ``KeyedJaggedTensor``); the dense features go
through a ``Linear`` + ``ReLU`` arch and everything is ``torch.cat``-ed into ``x0``.
``CrossNet``: ``x_0 = input.unsqueeze(2)``, ``xl_w = torch.matmul(self.kernels[layer], x_l)``,
``x_l = x_0 * (xl_w + self.bias[layer]) + x_l`` with ``nn.ParameterList`` kernels created as
``nn.Parameter(nn.init.xavier_normal_(torch.empty(in_features, in_features)))`` and zero biases.
``LowRankMixtureCrossNet``: per layer and expert ``V`` / ``C`` / ``U`` kernels applied with
``torch.matmul`` and ``torch.relu`` in between, ``x_0 * (expert + self.bias[layer])``, experts
``torch.stack(experts, 2)``, gates ``nn.Linear(in_features, 1, bias=False)`` on
``x_l.squeeze(2)`` stacked to ``(B, K, 1)`` and mixed by
``torch.matmul(experts, torch.nn.functional.softmax(gating, 1))``; ``torch.squeeze(x_l, dim=2)``.
The two crosses and a deep MLP run in parallel into the logit; training uses
``BCEWithLogitsLoss`` and ``Adagrad`` (torchrec's DLRM/DCN example optimizer) and reports the
AUC-free metrics the example prints (loss, accuracy via ``torch.sigmoid(logits) > 0.5``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_DENSE, VOCABS, DIM = 3, (11, 7, 5), 4
IN_FEATURES = DIM * (len(VOCABS) + 1)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class CrossNet(nn.Module):
        def __init__(self, in_features: int, num_layers: int) -> None:
            super().__init__()
            self._num_layers = num_layers
            self.kernels = torch.nn.ParameterList(
                [
                    torch.nn.Parameter(
                        torch.nn.init.xavier_normal_(torch.empty(in_features, in_features))
                    )
                    for i in range(self._num_layers)
                ]
            )
            self.bias = torch.nn.ParameterList(
                [
                    torch.nn.Parameter(torch.nn.init.zeros_(torch.empty(in_features, 1)))
                    for i in range(self._num_layers)
                ]
            )

        def forward(self, input: Any) -> Any:
            x_0 = input.unsqueeze(2)  # (B, N, 1)
            x_l = x_0
            for layer in range(self._num_layers):
                xl_w = torch.matmul(self.kernels[layer], x_l)  # (B, N, 1)
                x_l = x_0 * (xl_w + self.bias[layer]) + x_l  # (B, N, 1)
            return torch.squeeze(x_l, dim=2)

    class LowRankMixtureCrossNet(nn.Module):
        def __init__(
            self,
            in_features: int,
            num_layers: int,
            num_experts: int = 1,
            low_rank: int = 1,
            activation: Any = None,
        ) -> None:
            super().__init__()
            assert num_experts >= 1, "num_experts must be larger or equal to 1"
            assert low_rank >= 1, "Low rank must be larger or equal to 1"
            self._num_layers = num_layers
            self._num_experts = num_experts
            self._low_rank = low_rank
            self._in_features = in_features
            self.U_kernels = torch.nn.ParameterList(
                [
                    torch.nn.Parameter(
                        torch.nn.init.xavier_normal_(
                            torch.empty(self._num_experts, self._in_features, self._low_rank)
                        )
                    )
                    for i in range(self._num_layers)
                ]
            )
            self.V_kernels = torch.nn.ParameterList(
                [
                    torch.nn.Parameter(
                        torch.nn.init.xavier_normal_(
                            torch.empty(self._num_experts, self._low_rank, self._in_features)
                        )
                    )
                    for i in range(self._num_layers)
                ]
            )
            self.bias = torch.nn.ParameterList(
                [
                    torch.nn.Parameter(torch.nn.init.zeros_(torch.empty(self._in_features, 1)))
                    for i in range(self._num_layers)
                ]
            )
            self.gates = (
                torch.nn.ModuleList(
                    [
                        torch.nn.Linear(self._in_features, 1, bias=False)
                        for i in range(self._num_experts)
                    ]
                )
                if self._num_experts > 1
                else None
            )
            self._activation = activation if activation is not None else torch.relu
            self.C_kernels = torch.nn.ParameterList(
                [
                    torch.nn.Parameter(
                        torch.nn.init.xavier_normal_(
                            torch.empty(self._num_experts, self._low_rank, self._low_rank)
                        )
                    )
                    for i in range(self._num_layers)
                ]
            )

        def forward(self, input: Any) -> Any:
            x_0 = input.unsqueeze(2)  # (B, N, 1)
            x_l = x_0
            for layer in range(self._num_layers):
                # set up gating:
                if self._num_experts > 1:
                    gating = []
                    for i in range(self._num_experts):
                        gating.append(self.gates[i](x_l.squeeze(2)))
                    gating = torch.stack(gating, 1)  # (B, K, 1)
                # set up experts
                experts = []
                for i in range(self._num_experts):
                    expert = torch.matmul(self.V_kernels[layer][i], x_l)  # (B, r, 1)
                    expert = torch.matmul(
                        self.C_kernels[layer][i], self._activation(expert)
                    )  # (B, r, 1)
                    expert = torch.matmul(
                        self.U_kernels[layer][i], self._activation(expert)
                    )  # (B, N, 1)
                    expert = x_0 * (expert + self.bias[layer])  # (B, N, 1)
                    experts.append(expert.squeeze(2))  # (B, N)
                experts = torch.stack(experts, 2)  # (B, N, K)
                if self._num_experts > 1:
                    # MOE update
                    moe = torch.matmul(experts, torch.nn.functional.softmax(gating, 1))  # (B, N, 1)
                    x_l = moe + x_l  # (B, N, 1)
                else:
                    x_l = experts + x_l  # (B, N, 1)
            return torch.squeeze(x_l, dim=2)  # (B, N)

    class DCNv2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding_bags = nn.ModuleList(
                [nn.EmbeddingBag(v, DIM, mode="sum") for v in VOCABS]
            )
            self.dense_arch = nn.Sequential(nn.Linear(N_DENSE, DIM), nn.ReLU())
            self.crossnet = CrossNet(IN_FEATURES, num_layers=1)
            self.lowrank = LowRankMixtureCrossNet(
                IN_FEATURES, num_layers=2, num_experts=3, low_rank=2
            )
            self.deep = nn.Sequential(nn.Linear(IN_FEATURES, 8), nn.ReLU(), nn.Linear(8, 4))
            self.over_arch = nn.Linear(2 * IN_FEATURES + 4, 1)

        def forward(self, dense: Any, sparse: list) -> Any:
            pooled = [
                bag(ids, offsets, per_sample_weights=weights)
                for bag, (ids, offsets, weights) in zip(self.embedding_bags, sparse)
            ]
            x0 = torch.cat([self.dense_arch(dense)] + pooled, dim=1)
            cross = torch.cat([self.crossnet(x0), self.lowrank(x0), self.deep(x0)], dim=1)
            return self.over_arch(cross).squeeze(-1)

    return DCNv2()


def _batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list, np.ndarray]:
    dense = rng.standard_normal((n, N_DENSE))
    sparse = []
    score = dense[:, 0].copy()
    for vocab in VOCABS:
        lengths = rng.integers(1, 4, size=n)
        ids = rng.integers(0, vocab, size=int(lengths.sum()))
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        weights = rng.random(len(ids)) + 0.5
        sparse.append((ids, offsets, weights))
        for b in range(n):
            bag = ids[offsets[b] : offsets[b] + lengths[b]]
            score[b] += 0.5 * float(np.mean(bag % 2))
    return dense, sparse, (score > np.median(score)).astype(np.float64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(35)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05)
    values = []

    def tensors(dense: np.ndarray, sparse: list, labels: np.ndarray) -> tuple[Any, list, Any]:
        bags = [
            (as_tensor(torch, i), as_tensor(torch, o), as_tensor(torch, w)) for i, o, w in sparse
        ]
        return as_tensor(torch, dense), bags, as_tensor(torch, labels)

    for _step in range(5):
        dense, sparse, labels = tensors(*_batch(rng, 6))
        model.train()
        optimizer.zero_grad()
        logits = model(dense, sparse)
        loss = loss_fn(logits, labels)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        dense, sparse, labels = tensors(*_batch(rng, 8))
        logits = model(dense, sparse)
        preds = torch.sigmoid(logits) > 0.5
        values.append((preds == labels.bool()).sum().item() / len(labels))
        values.append(loss_fn(logits, labels).item())
        values.extend(logits.tolist())
    return values
