"""Evaluation metrics written by hand in tensor code, as training scripts do when they avoid a
torchmetrics/scikit-learn dependency (the ``confusion_matrix`` helper of segmentation repos,
the ``accuracy(output, target, topk=(1, 5))`` of the ImageNet example, hand-rolled AUROC/AP in
detection and retrieval code, reliability diagrams in calibration papers), size-reduced and
fed by a small classifier trained for a few steps.

The idioms: ``torch.bincount(target * C + pred, minlength=C * C).reshape(C, C)`` for the
multiclass confusion matrix; per-class precision/recall/F1 from its diagonal and sums, with the
zero-division cases handled by ``torch.where(denom > 0, num / denom, 0)`` and by
``.nan_to_num(0.0)``; macro and micro (and support-weighted) averages; the ImageNet example's
``output.topk(maxk, 1, True, True)``, ``pred.t()``, ``pred.eq(target.view(1, -1).expand_as(pred))``
and ``correct[:k].reshape(-1).float().sum(0, keepdim=True)``, plus the ``any(dim=...)`` form;
binary AUROC from ``argsort(descending=True)`` + ``cumsum`` true/false positive rates and
``torch.trapz``/``torch.trapezoid``, checked against the rank (Mann-Whitney) form; average
precision as ``sum((R_n - R_{n-1}) * P_n)``; expected calibration error over
``torch.bucketize(confidence, boundaries, right=True)`` bins with ``scatter_add_``/``bincount``
tallies; a per-sample ``torch.no_grad()`` evaluation loop accumulating the confusion matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

C, N, FEATURES = 4, 40, 5


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(FEATURES, 8), nn.ReLU(), nn.Linear(8, C))


def confusion_matrix(torch: Any, pred: Any, target: Any, num_classes: int) -> Any:
    """Rows: true class, columns: predicted class (the segmentation-repo ``fast_hist``)."""
    valid = (target >= 0) & (target < num_classes)
    index = num_classes * target[valid] + pred[valid]
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def prf(torch: Any, cm: Any) -> list[float]:
    cm = cm.double()
    tp = cm.diag()
    predicted, actual = cm.sum(0), cm.sum(1)
    precision = torch.where(predicted > 0, tp / predicted, torch.zeros_like(tp))
    recall = (tp / actual).nan_to_num(0.0)  # 0/0 for an absent class: NaN, mapped to 0
    denom = precision + recall
    f1 = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-12), 0.0)
    support = actual / actual.sum()
    micro = tp.sum() / cm.sum()
    out = precision.tolist() + recall.tolist() + f1.tolist()
    out += [precision.mean().item(), recall.mean().item(), f1.mean().item()]
    out += [(f1 * support).sum().item(), micro.item()]
    iou = tp / (predicted + actual - tp)
    out += [torch.nanmean(iou).item(), float(torch.isnan(iou).sum())]
    return out


def accuracy(torch: Any, output: Any, target: Any, topk: tuple[int, ...] = (1,)) -> list[Any]:
    """The ImageNet example's top-k accuracy (as percentages)."""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def binary_auroc(torch: Any, scores: Any, labels: Any) -> tuple[Any, Any, Any]:
    order = torch.argsort(scores, descending=True, stable=True)
    y = labels[order].double()
    tps = torch.cumsum(y, dim=0)
    fps = torch.cumsum(1 - y, dim=0)
    tpr = torch.cat([torch.zeros(1, dtype=tps.dtype), tps / tps[-1]])
    fpr = torch.cat([torch.zeros(1, dtype=fps.dtype), fps / fps[-1]])
    auc_trapz = torch.trapz(tpr, fpr)
    auc_trapezoid = torch.trapezoid(tpr, x=fpr)
    precision = tps / torch.arange(1, len(y) + 1, dtype=tps.dtype)
    recall = tps / tps[-1]
    ap = torch.sum(torch.diff(recall, prepend=torch.zeros(1, dtype=recall.dtype)) * precision)
    return auc_trapz, auc_trapezoid, ap


def rank_auroc(torch: Any, scores: Any, labels: Any) -> Any:
    """Mann-Whitney U / (n_pos * n_neg), ties counted as one half."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    wins = (diff > 0).double() + 0.5 * (diff == 0).double()
    return wins.mean()


def calibration(torch: Any, probs: Any, target: Any, n_bins: int = 5) -> list[float]:
    confidence, prediction = probs.max(dim=1)
    correct = prediction.eq(target).to(probs.dtype)
    boundaries = torch.linspace(0, 1, n_bins + 1, dtype=probs.dtype)[1:-1]
    bins = torch.bucketize(confidence, boundaries, right=True)
    counts = torch.bincount(bins, minlength=n_bins).to(probs.dtype)
    conf_sum = torch.zeros(n_bins, dtype=probs.dtype).scatter_add_(0, bins, confidence)
    acc_sum = torch.zeros(n_bins, dtype=probs.dtype).scatter_add_(0, bins, correct)
    nonempty = counts > 0
    gap = (conf_sum - acc_sum).abs()
    ece = gap[nonempty].sum() / counts.sum()
    mean_conf = torch.where(nonempty, conf_sum / counts.clamp(min=1), torch.nan)
    out = bins.tolist()[:10] + counts.tolist() + [ece.item()]
    out += mean_conf.nan_to_num(-1.0).tolist()
    left = torch.bucketize(torch.tensor([0.2, 0.4, 0.41]), torch.tensor([0.2, 0.4]))
    searched = torch.searchsorted(
        torch.tensor([0.2, 0.4]), torch.tensor([0.2, 0.4, 0.41]), right=True
    )
    out += left.tolist() + searched.tolist()
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(11)
    centers = rng.standard_normal((C, FEATURES)) * 1.5
    labels_np = np.concatenate([rng.integers(0, C - 1, N - 4), [0, 1, 2, 0]])  # class 3 absent
    x = as_tensor(torch, centers[labels_np] + rng.standard_normal((N, FEATURES)))
    y = as_tensor(torch, labels_np)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    out: list[float] = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    model.eval()
    cm = torch.zeros(C, C, dtype=torch.long)
    with torch.no_grad():
        for xb, yb in zip(x.split(16), y.split(16)):  # an evaluation loop over batches
            cm += confusion_matrix(torch, model(xb).argmax(1), yb, C)
        logits = model(x)
    assert int(cm.sum()) == N
    out += cm.flatten().tolist() + prf(torch, cm)
    top1, top2, top3 = accuracy(torch, logits, y, topk=(1, 2, 3))
    out += [top1.item(), top2.item(), top3.item()]
    in_top2 = (logits.topk(2, dim=1).indices == y[:, None]).any(dim=1)
    out += [in_top2.float().mean().item() * 100]

    probs = torch.softmax(logits, dim=1)
    scores, binary = probs[:, 0], (y == 0).long()
    auc_trapz, auc_trapezoid, ap = binary_auroc(torch, scores, binary)
    rank = rank_auroc(torch, scores, binary)
    assert abs(auc_trapz.item() - rank.item()) < 1e-9, (auc_trapz, rank)
    out += [auc_trapz.item(), auc_trapezoid.item(), ap.item(), rank.item()]
    tied = torch.tensor([0.9, 0.8, 0.8, 0.3, 0.3, 0.1])
    tied_labels = torch.tensor([1, 0, 1, 1, 0, 0])
    out += [rank_auroc(torch, tied, tied_labels).item()]
    out += [torch.trapezoid(torch.tensor([1.0, 2.0, 4.0]), dx=0.5).item()]
    out += calibration(torch, probs, y)
    return out
