"""Vinyals et al. 2016 "Matching Networks for One Shot Learning" as oscarknagg/few-shot
(``few_shot/matching.py``, ``few_shot/models.py``, ``few_shot/utils.py``, ``few_shot/core.py``)
and gitabcworld/MatchingNetworks (``models/DistanceNetwork.py``) write it, size-reduced.

The idioms: the few-shot encoder ``nn.Sequential`` of ``conv_block``s (``Conv2d(..., 3,
padding=1)``, ``BatchNorm2d``, ``ReLU``, ``MaxPool2d(kernel_size=2, stride=2)``) and a
``Flatten`` module (``input.view(input.size(0), -1)``); full context embeddings: the support set
through ``BidrectionalLSTM`` (``nn.LSTM(..., bidirectional=True)`` called with ``None`` state,
``output[:, :, :self.lstm.hidden_size] + output[:, :, self.lstm.hidden_size:] + inputs``) and the
queries through ``AttentionLSTM`` (``torch.zeros_like(queries)``, ``torch.mm(h, support.t())``,
``attentions.softmax(dim=1)``, an ``nn.LSTMCell`` fed ``(h + readout, c)`` for
``unrolling_steps``, the ``ValueError`` on mismatched embedding sizes); ``pairwise_distances``
(``'cosine'``: ``x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + EPSILON)`` and
``unsqueeze(1).expand(n_x, n_y, -1)``; ``'l2'``); ``create_nshot_task_label``'s ``torch.arange(0,
k, 1 / q).long()``; ``matching_net_predictions`` (``y_onehot.scatter(1, y, 1)``, ``torch.mm``);
``y_pred.clamp(EPSILON, 1 - EPSILON)`` with ``nn.NLLLoss`` on its ``.log()``,
``clip_grad_norm_(model.parameters(), 1)``, ``model.to(device, dtype=torch.double)`` and Adam;
gitabcworld's ``DistanceNetwork`` cosine (``torch.pow(support_image, 2)``, ``.clamp(eps,
float("inf")).rsqrt()``, ``input_image.unsqueeze(1).bmm(support_image.unsqueeze(2)).squeeze()``,
``torch.stack(similarities)``) checked against ``F.cosine_similarity``; and the episode's
accuracy ``torch.eq(y_pred.argmax(dim=-1), y).sum().item() / y_pred.shape[0]``.

Changed: Omniglot 28x28 -> 1x8x8 NumPy "glyphs" of 3 classes (3-way 2-shot, 2 queries), widths 64
-> 4, two conv blocks (embedding 8), LSTM layers 1, 2 unrolling steps; 3 training episodes and one
``'l2'`` evaluation episode (compared to 1e-7: see ``RTOL``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_SHOT, K_WAY, Q_QUERIES, EMB, UNROLL = 2, 3, 2, 8, 2
EPSILON = 1e-8
# The conv biases sit before BatchNorm: their true gradient is 0 and what reaches Adam is
# rounding noise (1e-17) that Adam turns into steps of +-lr with the noise's sign; the train
# losses cannot see it (BatchNorm subtracts the batch mean), the eval episode sees it through
# the running means, at the 1e-10 level.
RTOL, ATOL = 1e-7, 1e-9


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Flatten(nn.Module):
        def forward(self, input: Any) -> Any:
            return input.view(input.size(0), -1)

    def conv_block(in_channels: int, out_channels: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )

    def get_few_shot_encoder(num_input_channels: int = 1) -> Any:
        return nn.Sequential(conv_block(num_input_channels, 4), conv_block(4, 2), Flatten())

    class BidrectionalLSTM(nn.Module):
        def __init__(self, size: int, layers: int) -> None:
            super().__init__()
            self.num_layers = layers
            self.batch_size = 1
            self.lstm = nn.LSTM(
                input_size=size, num_layers=layers, hidden_size=size, bidirectional=True
            )

        def forward(self, inputs: Any) -> tuple[Any, Any, Any]:
            output, (hn, cn) = self.lstm(inputs, None)
            forward_output = output[:, :, : self.lstm.hidden_size]
            backward_output = output[:, :, self.lstm.hidden_size :]
            output = forward_output + backward_output + inputs
            return output, hn, cn

    class AttentionLSTM(nn.Module):
        def __init__(self, size: int, unrolling_steps: int) -> None:
            super().__init__()
            self.unrolling_steps = unrolling_steps
            self.lstm_cell = nn.LSTMCell(input_size=size, hidden_size=size)

        def forward(self, support: Any, queries: Any) -> Any:
            if support.shape[-1] != queries.shape[-1]:
                raise (ValueError("Support and query set have different embedding dimension!"))
            batch_size = queries.shape[0]
            embedding_dim = queries.shape[1]
            h_hat = torch.zeros_like(queries).double()
            c = torch.zeros(batch_size, embedding_dim).double()
            for _k in range(self.unrolling_steps):
                h = h_hat + queries
                attentions = torch.mm(h, support.t())
                attentions = attentions.softmax(dim=1)
                readout = torch.mm(attentions, support)
                h_hat, c = self.lstm_cell(queries, (h + readout, c))
            h = h_hat + queries
            return h

    class MatchingNetwork(nn.Module):
        def __init__(self, fce: bool, lstm_layers: int, lstm_input_size: int, unrolling_steps):
            super().__init__()
            self.fce = fce
            self.encoder = get_few_shot_encoder(1)
            if self.fce:
                self.g = BidrectionalLSTM(lstm_input_size, lstm_layers).to(
                    "cpu", dtype=torch.double
                )
                self.f = AttentionLSTM(lstm_input_size, unrolling_steps=unrolling_steps).to(
                    "cpu", dtype=torch.double
                )

        def forward(self, inputs: Any) -> None:
            pass

    return MatchingNetwork(True, 1, EMB, UNROLL)


def pairwise_distances(x: Any, y: Any, matching_fn: str) -> Any:
    n_x = x.shape[0]
    n_y = y.shape[0]
    if matching_fn == "l2":
        distances = (
            (x.unsqueeze(1).expand(n_x, n_y, -1) - y.unsqueeze(0).expand(n_x, n_y, -1))
            .pow(2)
            .sum(dim=2)
        )
        return distances
    elif matching_fn == "cosine":
        normalised_x = x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + EPSILON)
        normalised_y = y / (y.pow(2).sum(dim=1, keepdim=True).sqrt() + EPSILON)
        expanded_x = normalised_x.unsqueeze(1).expand(n_x, n_y, -1)
        expanded_y = normalised_y.unsqueeze(0).expand(n_x, n_y, -1)
        cosine_similarities = (expanded_x * expanded_y).sum(dim=2)
        return 1 - cosine_similarities
    raise (ValueError("Unsupported similarity function"))


def create_nshot_task_label(torch: Any, k: int, q: int) -> Any:
    y = torch.arange(0, k, 1 / q).long()
    return y


def matching_net_predictions(torch: Any, attention: Any, n: int, k: int, q: int) -> Any:
    if attention.shape != (q * k, k * n):
        raise (
            ValueError(
                f"Expecting attention Tensor to have shape (q * k, k * n) = ({q * k, k * n})"
            )
        )
    # Create one hot label vector for the support set
    y_onehot = torch.zeros(k * n, k)
    # Unsqueeze to force y to be of shape (K*n, 1) as this
    # is needed for .scatter()
    y = create_nshot_task_label(torch, k, n).unsqueeze(-1)
    y_onehot = y_onehot.scatter(1, y, 1)
    y_pred = torch.mm(attention, y_onehot.double())
    return y_pred


def distance_network(torch: Any, support_set: Any, input_image: Any) -> Any:
    """gitabcworld's DistanceNetwork: cosine similarity of each query to each support image."""
    eps = 1e-10
    similarities = []
    for support_image in support_set:
        sum_support = torch.sum(torch.pow(support_image, 2), 1)
        support_magnitude = sum_support.clamp(eps, float("inf")).rsqrt()
        dot_product = input_image.unsqueeze(1).bmm(support_image.unsqueeze(2)).squeeze()
        cosine_similarity = dot_product * support_magnitude
        similarities.append(cosine_similarity)
    similarities = torch.stack(similarities)
    return similarities


def _episode(rng: np.random.Generator, protos: np.ndarray) -> np.ndarray:
    n = N_SHOT * K_WAY + Q_QUERIES * K_WAY
    labels = np.concatenate([np.repeat(np.arange(K_WAY), N_SHOT), np.repeat(np.arange(K_WAY), 2)])
    return protos[labels] + 0.3 * rng.standard_normal((n, 1, 8, 8))[:, :, :, :]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    rng = np.random.default_rng(42)
    protos = rng.random((K_WAY, 1, 8, 8))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.to("cpu", dtype=torch.double)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.NLLLoss()
    values: list[float] = []

    def matching_net_episode(x: Any, y: Any, distance: str, fce: bool, train: bool) -> tuple:
        if train:
            model.train()
            optimiser.zero_grad()
        else:
            model.eval()
        embeddings = model.encoder(x)
        support = embeddings[: N_SHOT * K_WAY]
        queries = embeddings[N_SHOT * K_WAY :]
        if fce:
            support, _, _ = model.g(support.unsqueeze(1))
            support = support.squeeze(1)
            queries = model.f(support, queries)
        distances = pairwise_distances(queries, support, distance)
        attention = (-distances).softmax(dim=1)
        y_pred = matching_net_predictions(torch, attention, N_SHOT, K_WAY, Q_QUERIES)
        clipped_y_pred = y_pred.clamp(EPSILON, 1 - EPSILON)
        loss = loss_fn(clipped_y_pred.log(), y)
        if train:
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1)
            optimiser.step()
        return loss, y_pred, support, queries

    y = create_nshot_task_label(torch, K_WAY, Q_QUERIES)
    for _episode_i in range(3):
        x = as_tensor(torch, _episode(rng, protos))
        loss, y_pred, support, queries = matching_net_episode(x, y, "cosine", True, True)
        acc = torch.eq(y_pred.argmax(dim=-1), y).sum().item() / y_pred.shape[0]
        values += [loss.item(), acc]
    with torch.no_grad():
        x = as_tensor(torch, _episode(rng, protos))
        loss, y_pred, support, queries = matching_net_episode(x, y, "l2", True, False)
        sims = distance_network(torch, support.unsqueeze(1), queries[0:1])
        cos = F.cosine_similarity(queries[0:1], support, dim=1, eps=1e-10)
    values += [loss.item(), *y_pred.flatten().tolist(), *sims.flatten().tolist()]
    values += (cos * support.norm(dim=1)).tolist()
    try:
        model.f(support[:, :3], queries)
    except ValueError as err:
        values.append(float("different embedding" in str(err)))
    return values
