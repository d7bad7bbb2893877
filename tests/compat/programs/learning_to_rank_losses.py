"""Learning-to-rank losses, as allegro/allRank (``allrank/models/losses/listNet.py``,
``rankNet.py``, ``lambdaLoss.py``; ``allrank/models/metrics.py``: ``ndcg``, ``dcg``,
``__apply_mask_and_get_true_sorted_by_preds``) and haowei01/pytorch-examples
(``ranking/LambdaRank.py``: the hand-computed lambdas pushed in with ``y_pred.backward(grad)``)
write them, size-reduced.

The idioms: padded slates (``y_true == padded_value_indicator`` with ``PADDED_Y_VALUE = -1``,
``y_pred = y_pred.clone()``, ``y_pred[mask] = float('-inf')``, ``y_true[mask] =
float('-inf')``); ListNet (``F.softmax(y_pred, dim=1)`` of rows with ``-inf`` entries, ``preds_smax
+ eps``, ``torch.mean(-torch.sum(true_smax * preds_log, dim=1))``); RankNet (``list(product(range(
n), repeat=2))`` pairs as an index ``y_true[:, document_pairs_candidates]``, ``pairs_true[:, :,
0] - pairs_true[:, :, 1]``, ``(true_diffs > 0) & (~torch.isinf(true_diffs))``, ``weight =
abs_diff[the_mask]``, ``(true_diffs > 0).type(torch.float32)`` targets and
``BCEWithLogitsLoss(weight=weight)``); LambdaLoss with its weighing schemes (``y_pred.sort(
descending=True, dim=-1)``, ``torch.gather(y_true, dim=1, index=indices_pred)``,
``true_sorted_by_preds[:, :, None] - true_sorted_by_preds[:, None, :]``, ``torch.isfinite``, a
``torch.bool`` mask written with ``ndcg_at_k_mask[:k, :k] = 1`` (``k=None`` too), ``.clamp_(
min=0.)``, ``D = torch.log2(1. + pos_idxs.float())[None, :]``, ``torch.pow(2, y_true_sorted) -
1``, ``globals()[weighing_scheme]``-style dispatch, ``ndcgLoss2_scheme``'s ``D[0, delta_idxs -
1]`` (a negative index on the diagonal) and ``deltas.diagonal().zero_()``, ``(torch.sigmoid(sigma
* scores_diffs).clamp(min=eps) ** weights)``, ``torch.log2``, ``losses[padded_pairs_mask &
ndcg_at_k_mask]``); the allRank ``ndcg`` metric (``torch.where(idcg == 0, no_relevant, ...)``,
``torch.pow(2, true_sorted_by_preds) - 1``, discounts over ``torch.arange(...,
dtype=torch.float)``); LambdaRank's lambdas under ``torch.no_grad()`` (ranks as ``argsort(
descending=True).argsort() + 1``, ``1.0 + torch.exp(sigma * (y_pred - y_pred.t()))``,
``pos_pairs - neg_pairs``, ``1.0 / torch.log2(rank + 1.0)`` decay differences, ``|delta NDCG|``,
``torch.sum(lambda_update, 1, keepdim=True)``) fed to ``y_pred.backward(grad / batch_size)``;
RankNet's classic ``nn.BCELoss`` on ``torch.sigmoid(s_i - s_j)``; Adam.

Changed: a two-layer scorer over 5 features, slates of 6 documents (two padded), NumPy data.
``RTOL`` is float32's: RankNet's ``.type(torch.float32)`` targets make
``binary_cross_entropy_with_logits`` of a float64 input return a float32 loss in both
frameworks, whose float32 mean may differ in the last bit.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

RTOL = 1e-6
PADDED_Y_VALUE = -1
DEFAULT_EPS = 1e-10
FEATS, N, B, STEPS = 5, 6, 4, 3
LENGTHS = (6, 4, 5, 6)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(FEATS, 8), nn.ReLU(), nn.Linear(8, 1))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    BCEWithLogitsLoss = torch.nn.BCEWithLogitsLoss

    def listNet(y_pred, y_true, eps=DEFAULT_EPS, padded_value_indicator=PADDED_Y_VALUE):  # noqa: ANN001, N802
        y_pred = y_pred.clone()
        y_true = y_true.clone()
        mask = y_true == padded_value_indicator
        y_pred[mask] = float("-inf")
        y_true[mask] = float("-inf")
        preds_smax = F.softmax(y_pred, dim=1)
        true_smax = F.softmax(y_true, dim=1)
        preds_smax = preds_smax + eps
        preds_log = torch.log(preds_smax)
        return torch.mean(-torch.sum(true_smax * preds_log, dim=1))

    def rankNet(y_pred, y_true, padded_value_indicator=PADDED_Y_VALUE, weight_by_diff=False,  # noqa: ANN001, N802
                weight_by_diff_powed=False):  # noqa: ANN001  # fmt: skip
        y_pred = y_pred.clone()
        y_true = y_true.clone()
        mask = y_true == padded_value_indicator
        y_pred[mask] = float("-inf")
        y_true[mask] = float("-inf")
        document_pairs_candidates = list(product(range(y_true.shape[1]), repeat=2))
        pairs_true = y_true[:, document_pairs_candidates]
        selected_pred = y_pred[:, document_pairs_candidates]
        true_diffs = pairs_true[:, :, 0] - pairs_true[:, :, 1]
        pred_diffs = selected_pred[:, :, 0] - selected_pred[:, :, 1]
        the_mask = (true_diffs > 0) & (~torch.isinf(true_diffs))
        pred_diffs = pred_diffs[the_mask]
        weight = None
        if weight_by_diff:
            abs_diff = torch.abs(true_diffs)
            weight = abs_diff[the_mask]
        elif weight_by_diff_powed:
            true_pow_diffs = torch.pow(pairs_true[:, :, 0], 2) - torch.pow(pairs_true[:, :, 1], 2)
            abs_diff = torch.abs(true_pow_diffs)
            weight = abs_diff[the_mask]
        true_diffs = (true_diffs > 0).type(torch.float32)
        true_diffs = true_diffs[the_mask]
        return BCEWithLogitsLoss(weight=weight)(pred_diffs, true_diffs)

    def ndcgLoss1_scheme(G, D, *args):  # noqa: ANN001, ANN002, N802
        return (G / D)[:, :, None]

    def ndcgLoss2_scheme(G, D, *args):  # noqa: ANN001, ANN002, N802
        pos_idxs = torch.arange(1, G.shape[1] + 1, device=G.device)
        delta_idxs = torch.abs(pos_idxs[:, None] - pos_idxs[None, :])
        deltas = torch.abs(
            torch.pow(torch.abs(D[0, delta_idxs - 1]), -1.0)
            - torch.pow(torch.abs(D[0, delta_idxs]), -1.0)
        )
        deltas.diagonal().zero_()
        return deltas[None, :, :] * torch.abs(G[:, :, None] - G[:, None, :])

    def lamdbaRank_scheme(G, D, *args):  # noqa: ANN001, ANN002, N802
        return torch.abs(
            torch.pow(D[:, :, None], -1.0) - torch.pow(D[:, None, :], -1.0)
        ) * torch.abs(G[:, :, None] - G[:, None, :])

    def ndcgLoss2PP_scheme(G, D, *args):  # noqa: ANN001, ANN002, N802
        return args[0] * ndcgLoss2_scheme(G, D) + lamdbaRank_scheme(G, D)

    schemes = {
        "ndcgLoss1_scheme": ndcgLoss1_scheme,
        "ndcgLoss2_scheme": ndcgLoss2_scheme,
        "lamdbaRank_scheme": lamdbaRank_scheme,
        "ndcgLoss2PP_scheme": ndcgLoss2PP_scheme,
    }

    def lambdaLoss(y_pred, y_true, eps=DEFAULT_EPS, padded_value_indicator=PADDED_Y_VALUE,  # noqa: ANN001, N802
                   weighing_scheme=None, k=None, sigma=1.0, mu=10.0, reduction="sum",  # noqa: ANN001
                   reduction_log="binary"):  # noqa: ANN001  # fmt: skip
        device = y_pred.device
        y_pred = y_pred.clone()
        y_true = y_true.clone()
        padded_mask = y_true == padded_value_indicator
        y_pred[padded_mask] = float("-inf")
        y_true[padded_mask] = float("-inf")
        y_pred_sorted, indices_pred = y_pred.sort(descending=True, dim=-1)
        y_true_sorted, _ = y_true.sort(descending=True, dim=-1)
        true_sorted_by_preds = torch.gather(y_true, dim=1, index=indices_pred)
        true_diffs = true_sorted_by_preds[:, :, None] - true_sorted_by_preds[:, None, :]
        padded_pairs_mask = torch.isfinite(true_diffs)
        if weighing_scheme != "ndcgLoss1_scheme":
            padded_pairs_mask = padded_pairs_mask & (true_diffs > 0)
        ndcg_at_k_mask = torch.zeros(
            (y_pred.shape[1], y_pred.shape[1]), dtype=torch.bool, device=device
        )
        ndcg_at_k_mask[:k, :k] = 1
        true_sorted_by_preds.clamp_(min=0.0)
        y_true_sorted.clamp_(min=0.0)
        pos_idxs = torch.arange(1, y_pred.shape[1] + 1).to(device)
        D = torch.log2(1.0 + pos_idxs.float())[None, :]
        maxDCGs = torch.sum(((torch.pow(2, y_true_sorted) - 1) / D)[:, :k], dim=-1).clamp(min=eps)
        G = (torch.pow(2, true_sorted_by_preds) - 1) / maxDCGs[:, None]
        if weighing_scheme is None:
            weights = 1.0
        else:
            weights = schemes[weighing_scheme](G, D, mu, true_sorted_by_preds)
        scores_diffs = (y_pred_sorted[:, :, None] - y_pred_sorted[:, None, :]).clamp(
            min=-1e8, max=1e8
        )
        scores_diffs.masked_fill(torch.isnan(scores_diffs), 0.0)
        weighted_probas = (torch.sigmoid(sigma * scores_diffs).clamp(min=eps) ** weights).clamp(
            min=eps
        )
        if reduction_log == "natural":
            losses = torch.log(weighted_probas)
        elif reduction_log == "binary":
            losses = torch.log2(weighted_probas)
        else:
            raise ValueError("Reduction logarithm base can be either natural or binary")
        if reduction == "sum":
            loss = -torch.sum(losses[padded_pairs_mask & ndcg_at_k_mask])
        elif reduction == "mean":
            loss = -torch.mean(losses[padded_pairs_mask & ndcg_at_k_mask])
        else:
            raise ValueError("Reduction method can be either sum or mean")
        return loss

    def dcg(y_pred, y_true, ats=None, gain_function=lambda x: torch.pow(2, x) - 1,  # noqa: ANN001
            padding_indicator=PADDED_Y_VALUE):  # noqa: ANN001  # fmt: skip
        y_true = y_true.clone()
        y_pred = y_pred.clone()
        actual_length = y_true.shape[1]
        if ats is None:
            ats = [actual_length]
        ats = [min(at, actual_length) for at in ats]
        mask = y_true == padding_indicator
        y_pred[mask] = float("-inf")
        y_true[mask] = 0.0
        _, indices = y_pred.sort(descending=True, dim=-1)
        true_sorted_by_preds = torch.gather(y_true, dim=1, index=indices)
        discounts = (
            torch.tensor(1)
            / torch.log2(torch.arange(true_sorted_by_preds.shape[1], dtype=torch.float) + 2.0)
        ).to(device=true_sorted_by_preds.device)
        gains = gain_function(true_sorted_by_preds)
        discounted_gains = (gains * discounts)[:, : np.max(ats)]
        cum_dcg = torch.cumsum(discounted_gains, dim=1)
        ats_tensor = torch.tensor(ats, dtype=torch.long) - torch.tensor(1)
        dcg = cum_dcg[:, ats_tensor]
        return dcg

    def ndcg(y_pred, y_true, ats=None, padding_indicator=PADDED_Y_VALUE, filler_value=1.0):  # noqa: ANN001
        idcg = dcg(y_true, y_true, ats, padding_indicator=padding_indicator)
        ndcg_ = dcg(y_pred, y_true, ats, padding_indicator=padding_indicator) / idcg
        idcg_mask = idcg == 0
        ndcg_[idcg_mask] = filler_value
        assert (ndcg_ < 0.0).sum() >= 0, "every ndcg should be non-negative"
        return ndcg_

    def lambdarank_grads(y_pred, y_true, sigma=1.0):  # noqa: ANN001
        """haowei01's per-query lambdas: ranks from argsort(argsort), |delta NDCG| weights."""
        with torch.no_grad():
            n = y_true.shape[0]
            ideal = torch.sort(y_true, descending=True)[0]
            idcg = torch.sum((torch.pow(2.0, ideal) - 1) / torch.log2(torch.arange(n) + 2.0))
            N = 1.0 / idcg
            rank_order = y_pred.view(-1).argsort(descending=True).argsort() + 1
            pos_pairs_score_diff = 1.0 + torch.exp(sigma * (y_pred - y_pred.t()))
            Y_tensor = y_true.view(-1, 1)
            rel_diff = Y_tensor - Y_tensor.t()
            pos_pairs = (rel_diff > 0).type(y_pred.dtype)
            neg_pairs = (rel_diff < 0).type(y_pred.dtype)
            Sij = pos_pairs - neg_pairs
            gain_diff = torch.pow(2.0, Y_tensor) - torch.pow(2.0, Y_tensor.t())
            rank_order_tensor = rank_order.to(y_pred.dtype).view(-1, 1)
            decay_diff = 1.0 / torch.log2(rank_order_tensor + 1.0) - 1.0 / torch.log2(
                rank_order_tensor.t() + 1.0
            )
            delta_ndcg = torch.abs(N * gain_diff * decay_diff)
            lambda_update = sigma * (0.5 * (1 - Sij) - 1 / pos_pairs_score_diff) * delta_ndcg
            lambda_update = torch.sum(lambda_update, 1, keepdim=True)
            assert lambda_update.shape == y_pred.shape
            check_grad = torch.sum(lambda_update, (0, 1)).item()
            assert not (check_grad == float("inf") or np.isnan(check_grad))
        return lambda_update

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(4)
    values: list[float] = []
    for step in range(STEPS):
        x_np = rng.standard_normal((B, N, FEATS))
        y_np = rng.integers(0, 4, (B, N)).astype(np.float64)
        for i, n in enumerate(LENGTHS):
            y_np[i, n:] = PADDED_Y_VALUE
        x, y_true = as_tensor(torch, x_np), as_tensor(torch, y_np)
        y_pred = model(x).squeeze(-1)
        losses = {
            "listnet": listNet(y_pred, y_true),
            "ranknet": rankNet(y_pred, y_true),
            "ranknet_diff": rankNet(y_pred, y_true, weight_by_diff=True),
            "ranknet_pow": rankNet(y_pred, y_true, weight_by_diff_powed=True),
            "lambda": lambdaLoss(y_pred, y_true),
            "ndcg1": lambdaLoss(
                y_pred, y_true, weighing_scheme="ndcgLoss1_scheme", reduction="mean"
            ),
            "ndcg2": lambdaLoss(y_pred, y_true, weighing_scheme="ndcgLoss2_scheme", k=4),
            "lambdarank": lambdaLoss(
                y_pred, y_true, weighing_scheme="lamdbaRank_scheme", reduction_log="natural"
            ),
            "ndcg2pp": lambdaLoss(y_pred, y_true, weighing_scheme="ndcgLoss2PP_scheme", mu=5.0),
        }
        loss = sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [v.item() for v in losses.values()]
        with torch.no_grad():
            values += ndcg(model(x).squeeze(-1), y_true, ats=[1, 3, 10]).mean(dim=0).tolist()

        # haowei01's LambdaRank: per-query scores, lambdas pushed in by backward(grad)
        optimizer.zero_grad()
        grad_batch, y_pred_batch = [], []
        for i, n in enumerate(LENGTHS):
            y_pred_q = model(x[i, :n])
            y_pred_batch.append(y_pred_q)
            grad_batch.append(lambdarank_grads(y_pred_q, y_true[i, :n]))
        for grad, y_pred_q in zip(grad_batch, y_pred_batch):
            y_pred_q.backward(grad / len(LENGTHS))
        optimizer.step()
        values.append(sum(g.abs().sum() for g in grad_batch).item())

        # classic RankNet with BCELoss on sigmoid(s_i - s_j) for one query pair list
        s = model(x[0]).view(-1)
        i_idx, j_idx = torch.triu_indices(N, N, offset=1)
        rel = y_true[0]
        keep = rel[i_idx] != rel[j_idx]
        s_ij = torch.sigmoid(s[i_idx[keep]] - s[j_idx[keep]])
        target = (rel[i_idx[keep]] > rel[j_idx[keep]]).to(s.dtype)
        ranknet_classic = torch.nn.BCELoss()(s_ij, target)
        optimizer.zero_grad()
        ranknet_classic.backward()
        optimizer.step()
        values.append(ranknet_classic.item() + step)
    return values
