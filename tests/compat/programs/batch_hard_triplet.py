"""Online triplet mining as the public PyTorch ports write it, size-reduced:
NegatioN/OnlineMiningTripletLoss (the PyTorch port of omoindrot's TensorFlow code:
``_pairwise_distances`` by the squared-norm trick ``square_norm.unsqueeze(0) - 2.0 *
dot_product + square_norm.unsqueeze(1)`` with ``distances[distances < 0] = 0`` and the
``mask * 1e-16`` guard before ``torch.sqrt``; the label masks from ``torch.eye(...).bool()``,
``~`` and broadcast ``==``; ``batch_hard_triplet_loss`` with ``max(1, keepdim=True)`` /
``min(1, keepdim=True)`` and ``tl[tl < 0] = 0``; ``batch_all_triplet_loss`` over the
``(B, B, B)`` mask with ``triplet_loss[triplet_loss > 1e-16]`` and the fraction of positive
triplets); VisualComputingInstitute/triplet-reid's PyTorch ``calc_cdist`` (``a[:, None, :] -
b[None, :, :]``, ``sqrt(sum + 1e-12)``, the ``cityblock`` metric) and ``batch_hard`` with
``ALMOST_INF`` and the ``'soft'`` margin ``F.softplus(furthest_positive - furthest_negative)``;
michuanhaohao/reid-strong-baseline's ``euclidean_dist`` (``torch.pow(x, 2).sum(1,
keepdim=True).expand(m, n)``, ``dist.addmm_(x, y.t(), beta=1, alpha=-2)``,
``dist.clamp(min=1e-12).sqrt()``), ``hard_example_mining`` (``labels.expand(N, N).eq(
labels.expand(N, N).t())``, ``dist_mat[is_pos].contiguous().view(N, -1)``, the hardest indices
by ``labels.new().resize_as_(labels).copy_(torch.arange(0, N).long())`` and ``torch.gather``)
and ``TripletLoss`` (``nn.MarginRankingLoss`` with ``y = dist_an.new().resize_as_(dist_an)
.fill_(1)``, ``nn.SoftMarginLoss`` without a margin); the mined triplets cross-checked with
``nn.TripletMarginLoss`` and ``nn.TripletMarginWithDistanceLoss`` (``nn.PairwiseDistance()``
and a cosine distance, ``swap=True``). An embedding MLP is trained on each loss with ``Adam``.

Changed: the Market-1501 crops and ResNet-50 backbone are NumPy vectors (a PK batch of 3
identities x 3 images) and a two-layer MLP; 2 steps per loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

P, K = 3, 3
IN_DIM = 5
EMB = 3
MARGIN = 0.3


def _losses(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional

    # ---- NegatioN/OnlineMiningTripletLoss (omoindrot's port) ----
    def _pairwise_distances(embeddings: Any, squared: bool = False) -> Any:
        dot_product = torch.matmul(embeddings, embeddings.t())
        square_norm = torch.diag(dot_product)
        distances = square_norm.unsqueeze(0) - 2.0 * dot_product + square_norm.unsqueeze(1)
        distances[distances < 0] = 0

        if not squared:
            # Because the gradient of sqrt is infinite when distances == 0.0 (ex: on the
            # diagonal) we need to add a small epsilon where distances == 0.0
            mask = distances.eq(0).float()
            distances = distances + mask * 1e-16

            distances = (1.0 - mask) * torch.sqrt(distances)

        return distances

    def _get_triplet_mask(labels: Any) -> Any:
        # Check that i, j and k are distinct
        indices_equal = torch.eye(labels.size(0), device=labels.device).bool()
        indices_not_equal = ~indices_equal
        i_not_equal_j = indices_not_equal.unsqueeze(2)
        i_not_equal_k = indices_not_equal.unsqueeze(1)
        j_not_equal_k = indices_not_equal.unsqueeze(0)

        distinct_indices = (i_not_equal_j & i_not_equal_k) & j_not_equal_k

        label_equal = labels.unsqueeze(0) == labels.unsqueeze(1)
        i_equal_j = label_equal.unsqueeze(2)
        i_equal_k = label_equal.unsqueeze(1)

        valid_labels = ~i_equal_k & i_equal_j

        return valid_labels & distinct_indices

    def _get_anchor_positive_triplet_mask(labels: Any) -> Any:
        indices_equal = torch.eye(labels.size(0), device=labels.device).bool()
        indices_not_equal = ~indices_equal
        labels_equal = labels.unsqueeze(0) == labels.unsqueeze(1)
        return labels_equal & indices_not_equal

    def _get_anchor_negative_triplet_mask(labels: Any) -> Any:
        return ~(labels.unsqueeze(0) == labels.unsqueeze(1))

    def batch_hard_triplet_loss(
        labels: Any, embeddings: Any, margin: float, squared: bool = False
    ) -> Any:
        pairwise_dist = _pairwise_distances(embeddings, squared=squared)

        mask_anchor_positive = _get_anchor_positive_triplet_mask(labels).float()
        anchor_positive_dist = mask_anchor_positive * pairwise_dist
        hardest_positive_dist, _ = anchor_positive_dist.max(1, keepdim=True)

        mask_anchor_negative = _get_anchor_negative_triplet_mask(labels).float()
        max_anchor_negative_dist, _ = pairwise_dist.max(1, keepdim=True)
        anchor_negative_dist = pairwise_dist + max_anchor_negative_dist * (
            1.0 - mask_anchor_negative
        )
        hardest_negative_dist, _ = anchor_negative_dist.min(1, keepdim=True)

        tl = hardest_positive_dist - hardest_negative_dist + margin
        tl[tl < 0] = 0
        triplet_loss = tl.mean()

        return triplet_loss

    def batch_all_triplet_loss(
        labels: Any, embeddings: Any, margin: float, squared: bool = False
    ) -> tuple:
        pairwise_dist = _pairwise_distances(embeddings, squared=squared)

        anchor_positive_dist = pairwise_dist.unsqueeze(2)
        anchor_negative_dist = pairwise_dist.unsqueeze(1)
        triplet_loss = anchor_positive_dist - anchor_negative_dist + margin

        mask = _get_triplet_mask(labels)
        triplet_loss = mask.float() * triplet_loss

        # Remove negative losses (i.e. the easy triplets)
        triplet_loss[triplet_loss < 0] = 0

        # Count number of positive triplets (where triplet_loss > 0)
        valid_triplets = triplet_loss[triplet_loss > 1e-16]
        num_positive_triplets = valid_triplets.size(0)
        num_valid_triplets = mask.sum()

        fraction_positive_triplets = num_positive_triplets / (num_valid_triplets.float() + 1e-16)

        # Get final mean triplet loss over the positive valid triplets
        triplet_loss = triplet_loss.sum() / (num_positive_triplets + 1e-16)

        return triplet_loss, fraction_positive_triplets

    # ---- VisualComputingInstitute/triplet-reid (PyTorch) ----
    def calc_cdist(a: Any, b: Any, metric: str = "euclidean") -> Any:
        diff = a[:, None, :] - b[None, :, :]
        if metric == "euclidean":
            return torch.sqrt(torch.sum(diff * diff, dim=2) + 1e-12)
        elif metric == "sqeuclidean":
            return torch.sum(diff * diff, dim=2)
        elif metric == "cityblock":
            return torch.sum(diff.abs(), dim=2)
        else:
            raise NotImplementedError("Metric %s has not been implemented!" % metric)  # noqa: UP031

    def batch_hard(cdist: Any, pids: Any, margin: Any) -> Any:
        mask_pos = (pids[None, :] == pids[:, None]).float()

        ALMOST_INF = 9999.9
        furthest_positive = torch.max(cdist * mask_pos, dim=0)[0]
        furthest_negative = torch.min(cdist + ALMOST_INF * mask_pos, dim=0)[0]
        if isinstance(margin, float):
            return (margin + furthest_positive - furthest_negative).clamp(min=0)
        elif margin == "soft":
            return F.softplus(furthest_positive - furthest_negative)
        raise NotImplementedError("The margin %s is not implemented in batch_hard" % margin)  # noqa: UP031

    # ---- michuanhaohao/reid-strong-baseline ----
    def euclidean_dist(x: Any, y: Any) -> Any:
        m, n = x.size(0), y.size(0)
        xx = torch.pow(x, 2).sum(1, keepdim=True).expand(m, n)
        yy = torch.pow(y, 2).sum(1, keepdim=True).expand(n, m).t()
        dist = xx + yy
        dist.addmm_(x, y.t(), beta=1, alpha=-2)
        dist = dist.clamp(min=1e-12).sqrt()  # for numerical stability
        return dist

    def hard_example_mining(dist_mat: Any, labels: Any, return_inds: bool = False) -> tuple:
        assert len(dist_mat.size()) == 2
        assert dist_mat.size(0) == dist_mat.size(1)
        N = dist_mat.size(0)

        # shape [N, N]
        is_pos = labels.expand(N, N).eq(labels.expand(N, N).t())
        is_neg = labels.expand(N, N).ne(labels.expand(N, N).t())

        # `dist_ap` means distance(anchor, positive)
        # both `dist_ap` and `relative_p_inds` with shape [N, 1]
        dist_ap, relative_p_inds = torch.max(
            dist_mat[is_pos].contiguous().view(N, -1), 1, keepdim=True
        )
        # `dist_an` means distance(anchor, negative)
        # both `dist_an` and `relative_n_inds` with shape [N, 1]
        dist_an, relative_n_inds = torch.min(
            dist_mat[is_neg].contiguous().view(N, -1), 1, keepdim=True
        )
        # shape [N]
        dist_ap = dist_ap.squeeze(1)
        dist_an = dist_an.squeeze(1)

        if return_inds:
            # shape [N, N]
            ind = (
                labels.new()
                .resize_as_(labels)
                .copy_(torch.arange(0, N).long())
                .unsqueeze(0)
                .expand(N, N)
            )
            # shape [N, 1]
            p_inds = torch.gather(ind[is_pos].contiguous().view(N, -1), 1, relative_p_inds.data)
            n_inds = torch.gather(ind[is_neg].contiguous().view(N, -1), 1, relative_n_inds.data)
            # shape [N]
            p_inds = p_inds.squeeze(1)
            n_inds = n_inds.squeeze(1)
            return dist_ap, dist_an, p_inds, n_inds

        return dist_ap, dist_an

    def normalize(x: Any, axis: int = -1) -> Any:
        x = 1.0 * x / (torch.norm(x, 2, axis, keepdim=True).expand_as(x) + 1e-12)
        return x

    class TripletLoss:
        def __init__(self, margin: float | None = None) -> None:
            self.margin = margin
            if margin is not None:
                self.ranking_loss = nn.MarginRankingLoss(margin=margin)
            else:
                self.ranking_loss = nn.SoftMarginLoss()

        def __call__(self, global_feat: Any, labels: Any, normalize_feature: bool = False) -> tuple:
            if normalize_feature:
                global_feat = normalize(global_feat, axis=-1)
            dist_mat = euclidean_dist(global_feat, global_feat)
            dist_ap, dist_an = hard_example_mining(dist_mat, labels)
            y = dist_an.new().resize_as_(dist_an).fill_(1)
            if self.margin is not None:
                loss = self.ranking_loss(dist_an, dist_ap, y)
            else:
                loss = self.ranking_loss(dist_an - dist_ap, y)
            return loss, dist_ap, dist_an

    return {
        "batch_hard_triplet_loss": batch_hard_triplet_loss,
        "batch_all_triplet_loss": batch_all_triplet_loss,
        "calc_cdist": calc_cdist,
        "batch_hard": batch_hard,
        "euclidean_dist": euclidean_dist,
        "hard_example_mining": hard_example_mining,
        "TripletLoss": TripletLoss,
        "_pairwise_distances": _pairwise_distances,
    }


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(IN_DIM, 8), nn.ReLU(inplace=True), nn.Linear(8, EMB))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional
    L = _losses(torch_like)
    rng = np.random.default_rng(21)
    centers = rng.standard_normal((P, IN_DIM))
    pids_np = np.repeat(np.arange(P), K)
    x_np = centers[pids_np] + 0.8 * rng.standard_normal((P * K, IN_DIM))
    values: list[float] = []

    def losses_for(kind: str, emb: Any, pids: Any) -> Any:
        if kind == "batch_hard":
            return L["batch_hard_triplet_loss"](pids, emb, MARGIN)
        if kind == "batch_hard_squared":
            return L["batch_hard_triplet_loss"](pids, emb, MARGIN, squared=True)
        if kind == "batch_all":
            loss, fraction = L["batch_all_triplet_loss"](pids, emb, MARGIN)
            values.append(fraction.item())
            return loss
        if kind == "reid_soft":
            return L["batch_hard"](L["calc_cdist"](emb, emb), pids, "soft").mean()
        if kind == "reid_cityblock":
            return L["batch_hard"](L["calc_cdist"](emb, emb, "cityblock"), pids, MARGIN).mean()
        if kind == "strong_baseline":
            loss, dist_ap, dist_an = L["TripletLoss"](MARGIN)(emb, pids)
            values.append(dist_ap.sum().item())
            return loss
        if kind == "strong_baseline_soft":
            return L["TripletLoss"](None)(emb, pids, normalize_feature=True)[0]
        raise ValueError(kind)

    for kind in (
        "batch_hard",
        "batch_hard_squared",
        "batch_all",
        "reid_soft",
        "reid_cityblock",
        "strong_baseline",
        "strong_baseline_soft",
    ):
        model = make_model(torch_like)
        if init is not None:
            model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        for _step in range(2):
            emb = model(as_tensor(torch, x_np))
            pids = as_tensor(torch, pids_np)
            loss = losses_for(kind, emb, pids)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    # the distance matrices agree with each other and with torch.cdist
    with torch.no_grad():
        emb = model(as_tensor(torch, x_np))
        pids = as_tensor(torch, pids_np)
        d1 = L["_pairwise_distances"](emb)
        d2 = L["euclidean_dist"](emb, emb)
        d3 = L["calc_cdist"](emb, emb)
        off = ~torch.eye(len(pids_np), dtype=torch.bool)
        values.append(float(torch.allclose(d1[off], d2[off]) and torch.allclose(d2[off], d3[off])))
        values.append(float(torch.allclose(d1, torch.cdist(emb, emb))))
        values.append(d1.sum().item())

    # the mined hardest triplets through nn.TripletMarginLoss / TripletMarginWithDistanceLoss
    emb = model(as_tensor(torch, x_np))
    dist_ap, dist_an, p_inds, n_inds = L["hard_example_mining"](
        L["euclidean_dist"](emb, emb), pids, return_inds=True
    )
    values += [float(v) for v in p_inds.tolist() + n_inds.tolist()]
    anchor, positive, negative = emb, emb[p_inds], emb[n_inds]
    triplet = nn.TripletMarginLoss(margin=MARGIN, p=2, eps=1e-6)(anchor, positive, negative)
    manual = (MARGIN + dist_ap - dist_an).clamp(min=0).mean()
    with_l2 = nn.TripletMarginWithDistanceLoss(
        distance_function=nn.PairwiseDistance(), margin=MARGIN
    )(anchor, positive, negative)
    cosine = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), margin=MARGIN, swap=True
    )(anchor, positive, negative)
    total = triplet + manual + with_l2 + cosine
    total.backward()
    values += [triplet.item(), manual.item(), with_l2.item(), cosine.item()]
    values += [p.grad.sum().item() for p in model.parameters()]
    return values
