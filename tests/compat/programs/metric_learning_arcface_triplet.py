"""pytorch-metric-learning's losses, miners and distances as its library code and README write
them (``distances/lp_distance.py``, ``distances/cosine_similarity.py``, ``utils/loss_and_miner_
utils.py``, ``miners/triplet_margin_miner.py``, ``losses/triplet_margin_loss.py``,
``losses/large_margin_softmax_loss.py``/``arcface_loss.py``, ``reducers/avg_non_zero_reducer
.py``), size-reduced, trained with the README's loop (``indices_tuple = miner(embeddings,
labels)``, ``loss = loss_func(embeddings, labels, indices_tuple)``, a separate ``loss_optimizer``
for ArcFace's class weights).

The idioms: ``BaseDistance.__call__`` (``torch.nn.functional.normalize(embeddings, p=self.p,
dim=1)`` when ``normalize_embeddings``, ``ref_emb = query_emb`` when none is given,
``compute_mat``, ``self.is_inverted``); ``LpDistance.compute_mat`` with ``torch.cdist(query_emb,
ref_emb, p=self.p)`` and ``pairwise_distance`` with ``torch.nn.functional.pairwise_distance``,
``smallest_dist`` = ``torch.min(*args)`` and ``margin(x, y) = y - x``; ``CosineSimilarity``
(``torch.matmul(query_emb, ref_emb.t())``, ``torch.sum(query_emb * ref_emb, dim=1)``,
``torch.max(*args)``); ``get_all_triplets_indices`` (``(labels.unsqueeze(1) ==
ref_labels.unsqueeze(0)).byte()``, ``diffs = matches ^ 1``, ``matches.fill_diagonal_(0)``,
``matches.unsqueeze(2) * diffs.unsqueeze(1)``, ``torch.where(triplets)``);
``TripletMarginMiner.mine`` with its "all"/"hard"/"semihard"/"easy" threshold conditions
(``threshold_condition &= triplet_margin <= 0``) and the ``num_triplets`` record;
``TripletMarginLoss.compute_loss`` (``mat[anchor_idx, positive_idx]``, ``swap``, ``smooth_loss``
with ``F.softplus`` else ``F.relu(violation)``); ``AvgNonZeroReducer`` (``losses > 0``,
``torch.sum(threshold_condition)``, ``torch.mean(losses[threshold_condition])`` and the
``torch.sum(losses * 0)`` fallback that keeps the graph); ``ArcFaceLoss`` (``torch.nn.Parameter(
torch.Tensor(embedding_size, num_classes))`` with ``torch.nn.init.normal_``, ``np.radians(
margin)``, ``get_target_mask`` by ``mask[torch.arange(batch_size), labels] = 1``,
``cosine[mask == 1]``, ``torch.acos(torch.clamp(cosine, -1 + 1e-7, 1 - 1e-7))``,
``torch.cos(angles + self.margin)``, ``cosine + (mask * diff.unsqueeze(1))``, the scale and
``torch.nn.CrossEntropyLoss(reduction="none")`` then the mean); and the evaluation a
``AccuracyCalculator`` does with faiss, here ``torch.cdist`` + ``topk(k + 1, largest=False)``
dropping the self-match, precision@1 and MAP@R-like hit fractions.

Changed: the MNIST/CUB images and ResNet trunk are 18 NumPy vectors of 3 classes and a
two-layer MLP embedder; 3 steps per loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

IN, EMB, CLASSES, PER_CLASS = 6, 4, 3, 6


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((CLASSES, IN)) * 1.5
    labels = np.repeat(np.arange(CLASSES), PER_CLASS)
    x = centers[labels] + rng.standard_normal((len(labels), IN))
    return x, labels


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(IN, 16), nn.ReLU(), nn.Linear(16, EMB))


def _library(torch_like: Any) -> dict[str, Any]:
    torch = torch_like

    class BaseDistance(torch.nn.Module):
        def __init__(self, normalize_embeddings=True, p=2, power=1, is_inverted=False):
            super().__init__()
            self.normalize_embeddings = normalize_embeddings
            self.p = p
            self.power = power
            self.is_inverted = is_inverted

        def forward(self, query_emb, ref_emb=None):
            query_emb_normalized = self.maybe_normalize(query_emb)
            if ref_emb is None:
                ref_emb = query_emb
                ref_emb_normalized = query_emb_normalized
            else:
                ref_emb_normalized = self.maybe_normalize(ref_emb)
            mat = self.compute_mat(query_emb_normalized, ref_emb_normalized)
            if self.power != 1:
                mat = mat**self.power
            return mat

        def maybe_normalize(self, embeddings, dim=1, **kwargs):
            if self.normalize_embeddings:
                return torch.nn.functional.normalize(embeddings, p=self.p, dim=dim, **kwargs)
            return embeddings

        def margin(self, x, y):
            if self.is_inverted:
                return y - x
            return x - y

    class LpDistance(BaseDistance):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            assert not self.is_inverted

        def compute_mat(self, query_emb, ref_emb):
            dtype, device = query_emb.dtype, query_emb.device
            if ref_emb is None:
                ref_emb = query_emb
            if dtype == torch.float16:  # cdist doesn't work for float16
                raise TypeError("float16 is not handled here")
            return torch.cdist(query_emb, ref_emb, p=self.p).to(dtype=dtype, device=device)

        def pairwise_distance(self, query_emb, ref_emb):
            return torch.nn.functional.pairwise_distance(query_emb, ref_emb, p=self.p)

        def smallest_dist(self, *args, **kwargs):
            return torch.min(*args, **kwargs)

        def margin(self, x, y):
            return y - x

    class CosineSimilarity(BaseDistance):
        def __init__(self, **kwargs):
            super().__init__(is_inverted=True, **kwargs)
            assert self.is_inverted
            assert self.normalize_embeddings

        def compute_mat(self, query_emb, ref_emb):
            return torch.matmul(query_emb, ref_emb.t())

        def pairwise_distance(self, query_emb, ref_emb):
            return torch.sum(query_emb * ref_emb, dim=1)

        def smallest_dist(self, *args, **kwargs):
            return torch.max(*args, **kwargs)

    def get_all_triplets_indices(labels, ref_labels=None):
        all_matches, all_diffs = None, None
        if ref_labels is None:
            ref_labels = labels
        labels1 = labels.unsqueeze(1)
        labels2 = ref_labels.unsqueeze(0)
        all_matches = (labels1 == labels2).byte()
        all_diffs = all_matches ^ 1
        if ref_labels is labels:
            all_matches.fill_diagonal_(0)
        triplets = all_matches.unsqueeze(2) * all_diffs.unsqueeze(1)
        return torch.where(triplets)

    class TripletMarginMiner(torch.nn.Module):
        def __init__(self, margin=0.2, type_of_triplets="all", distance=None):
            super().__init__()
            self.margin = margin
            self.type_of_triplets = type_of_triplets
            self.distance = LpDistance() if distance is None else distance
            self.num_triplets = 0

        def forward(self, embeddings, labels, ref_emb=None, ref_labels=None):
            with torch.no_grad():
                return self.mine(embeddings, labels, ref_emb, ref_labels)

        def mine(self, embeddings, labels, ref_emb, ref_labels):
            mat = self.distance(embeddings, ref_emb)
            anchor_idx, positive_idx, negative_idx = get_all_triplets_indices(labels, ref_labels)
            ap_dist = mat[anchor_idx, positive_idx]
            an_dist = mat[anchor_idx, negative_idx]
            triplet_margin = ap_dist - an_dist if self.distance.is_inverted else an_dist - ap_dist
            if self.type_of_triplets == "easy":
                threshold_condition = triplet_margin > self.margin
            else:
                threshold_condition = triplet_margin <= self.margin
                if self.type_of_triplets == "hard":
                    threshold_condition &= triplet_margin <= 0
                elif self.type_of_triplets == "semihard":
                    threshold_condition &= triplet_margin > 0
            self.num_triplets = len(anchor_idx[threshold_condition])
            return (
                anchor_idx[threshold_condition],
                positive_idx[threshold_condition],
                negative_idx[threshold_condition],
            )

    def avg_non_zero_reduce(losses):
        threshold_condition = losses > 0
        num_past_filter = torch.sum(threshold_condition)
        if num_past_filter >= 1:
            return torch.mean(losses[threshold_condition])
        return torch.sum(losses * 0)

    class TripletMarginLoss(torch.nn.Module):
        def __init__(self, margin=0.05, swap=False, smooth_loss=False, distance=None):
            super().__init__()
            self.margin = margin
            self.swap = swap
            self.smooth_loss = smooth_loss
            self.distance = LpDistance() if distance is None else distance

        def forward(self, embeddings, labels, indices_tuple=None):
            if indices_tuple is None:
                indices_tuple = get_all_triplets_indices(labels)
            anchor_idx, positive_idx, negative_idx = indices_tuple
            if len(anchor_idx) == 0:
                return torch.sum(embeddings * 0)
            mat = self.distance(embeddings)
            ap_dists = mat[anchor_idx, positive_idx]
            an_dists = mat[anchor_idx, negative_idx]
            if self.swap:
                pn_dists = mat[positive_idx, negative_idx]
                an_dists = self.distance.smallest_dist(an_dists, pn_dists)
            current_margins = self.distance.margin(ap_dists, an_dists)
            violation = current_margins + self.margin
            if self.smooth_loss:
                loss = torch.nn.functional.softplus(violation)
            else:
                loss = torch.nn.functional.relu(violation)
            return avg_non_zero_reduce(loss)

    class ArcFaceLoss(torch.nn.Module):
        def __init__(self, num_classes, embedding_size, margin=28.6, scale=64):
            super().__init__()
            self.num_classes = num_classes
            self.margin = np.radians(margin)
            self.scale = scale
            self.distance = CosineSimilarity()
            self.W = torch.nn.Parameter(torch.Tensor(embedding_size, num_classes))
            torch.nn.init.normal_(self.W)
            self.cross_entropy = torch.nn.CrossEntropyLoss(reduction="none")

        def get_target_mask(self, embeddings, labels):
            batch_size = labels.size(0)
            mask = torch.zeros(
                batch_size, self.num_classes, dtype=embeddings.dtype, device=embeddings.device
            )
            mask[torch.arange(batch_size), labels] = 1
            return mask

        def get_angles(self, cosine_of_target_classes):
            angles = torch.acos(torch.clamp(cosine_of_target_classes, -1 + 1e-7, 1 - 1e-7))
            return angles

        def modify_cosine_of_target_classes(self, cosine_of_target_classes):
            angles = self.get_angles(cosine_of_target_classes)
            return torch.cos(angles + self.margin)

        def forward(self, embeddings, labels, indices_tuple=None):
            dtype, device = embeddings.dtype, embeddings.device
            self.W.data = self.W.data.to(device=device, dtype=dtype)
            mask = self.get_target_mask(embeddings, labels)
            cosine = self.distance(embeddings, self.W.t())
            cosine_of_target_classes = cosine[mask == 1]
            modified_cosine_of_target_classes = self.modify_cosine_of_target_classes(
                cosine_of_target_classes
            )
            diff = (modified_cosine_of_target_classes - cosine_of_target_classes).unsqueeze(1)
            logits = cosine + (mask * diff)
            logits = logits * self.scale
            unweighted_loss = self.cross_entropy(logits, labels)
            return torch.mean(unweighted_loss)

    return {
        "LpDistance": LpDistance,
        "CosineSimilarity": CosineSimilarity,
        "TripletMarginMiner": TripletMarginMiner,
        "TripletMarginLoss": TripletMarginLoss,
        "ArcFaceLoss": ArcFaceLoss,
        "get_all_triplets_indices": get_all_triplets_indices,
    }


def run(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch = torch_like
    lib = _library(torch)
    x_np, y_np = _data()
    data = torch.from_numpy(x_np)
    labels = torch.from_numpy(y_np)
    out: list[float] = []

    a, p, n = lib["get_all_triplets_indices"](labels)
    out += [float(len(a)), float(a.sum() + 2 * p.sum() + 3 * n.sum())]

    setups = [
        ("semihard", lib["LpDistance"](), dict()),
        ("hard", lib["LpDistance"](normalize_embeddings=False), dict(swap=True)),
        ("all", lib["CosineSimilarity"](), dict(smooth_loss=True)),
        ("arcface", None, dict()),
    ]
    for kind, distance, kwargs in setups:
        model = make_model(torch)
        load_numpy_state(torch, model, init)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        if kind == "arcface":
            loss_func = lib["ArcFaceLoss"](CLASSES, EMB, margin=28.6, scale=16)
            with torch.no_grad():
                rng = np.random.default_rng(3)
                loss_func.W.copy_(torch.from_numpy(rng.standard_normal((EMB, CLASSES))))
            loss_optimizer = torch.optim.SGD(loss_func.parameters(), lr=0.01)
            miner = None
        else:
            loss_func = lib["TripletMarginLoss"](margin=0.2, distance=distance, **kwargs)
            miner = lib["TripletMarginMiner"](margin=0.2, type_of_triplets=kind, distance=distance)
            loss_optimizer = None
        for _ in range(3):
            optimizer.zero_grad()
            if loss_optimizer is not None:
                loss_optimizer.zero_grad()
            embeddings = model(data)
            if miner is not None:
                indices_tuple = miner(embeddings, labels)
                out.append(float(miner.num_triplets))
                loss = loss_func(embeddings, labels, indices_tuple)
            else:
                loss = loss_func(embeddings, labels)
            loss.backward()
            optimizer.step()
            if loss_optimizer is not None:
                loss_optimizer.step()
            out.append(loss.item())

        # evaluation: k-nearest neighbours by torch.cdist, self-match dropped
        with torch.no_grad():
            emb = torch.nn.functional.normalize(model(data), p=2, dim=1)
            dist = torch.cdist(emb, emb)
            knn_dist, knn_idx = dist.topk(4, dim=1, largest=False)
            knn_labels = labels[knn_idx[:, 1:]]
            precision_at_1 = (knn_labels[:, 0] == labels).float().mean()
            hits = (knn_labels == labels[:, None]).sum(1) / knn_labels.shape[1]
            out += [precision_at_1.item(), hits.mean().item(), knn_dist[:, 1:].sum().item()]
            pd = lib["LpDistance"]().pairwise_distance(emb[:-1], emb[1:])
            out.append(pd.sum().item())
    return out
