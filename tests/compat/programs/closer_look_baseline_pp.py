"""Baseline++ few-shot classification as wyharveychen/CloserLookFewShot writes it
(``backbone.py``'s ``distLinear``, ``methods/baselinetrain.py``'s ``BaselineTrain`` and
``methods/baselinefinetune.py``'s ``set_forward_adaptation``), size-reduced.

The idioms kept: ``distLinear`` (``nn.Linear(indim, outdim, bias = False)`` with
``WeightNorm.apply(self.L, 'weight', dim=0)`` imported from ``torch.nn.utils.weight_norm``,
``torch.norm(x, p=2, dim =1).unsqueeze(1).expand_as(x)``, ``x.div(x_norm+ 0.00001)``, the
fixed ``scale_factor``; and the branch without the learnable norm, which renormalises
``self.L.weight.data`` in place through ``self.L.weight.data = ....div(L_norm + 0.00001)``);
``BaselineTrain``'s ``feature.forward`` + classifier with ``nn.CrossEntropyLoss`` and
``Variable(y.cuda())`` and Adam; ``set_forward_adaptation``'s ``z_support.contiguous().view(
self.n_way* self.n_support, -1 )``, ``torch.from_numpy(np.repeat(range( self.n_way ),
self.n_support ))``, a new classifier tuned by ``torch.optim.SGD(linear_clf.parameters(), lr =
0.01, momentum=0.9, dampening=0.9, weight_decay=0.001)`` over minibatches of
``np.random.permutation(support_size)`` indices (``torch.from_numpy( rand_id[i: min(i+
batch_size, support_size) ])``, ``z_support[selected_id]``), then scored on the queries with
``topk`` accuracy as ``test.py`` does (``scores.data.cpu().topk(1, 1, True, True)``).

Changed: Conv4 on miniImageNet is a two-layer MLP on 6-number NumPy features; 64 base classes
-> 5, 5-way 5-shot -> 3-way 3-shot with 4 queries, 4 training steps; the fine-tuned
classifier starts from weights given by the program (both frameworks' fresh ``distLinear``
would draw different ones): ``make_model`` builds it as ``finetune_clf`` and ``run`` loads
those weights into the new classifier; 100 fine-tuning epochs -> 3; ``np.random.permutation``
is a seeded generator's; ``.cuda()`` dropped. ``WeightNorm.apply`` now warns (PyTorch's
FutureWarning that ``weight_norm`` is deprecated): it runs under
``warnings.catch_warnings(record=True)`` and the count is returned.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

FEATS, HID, BASE, WAY, SHOT, QUERY = 6, 8, 5, 3, 3, 4


def _dist_linear(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    # from torch.nn.utils.weight_norm import WeightNorm (the module, which the package's
    # function of the same name hides as an attribute)
    WeightNorm = importlib.import_module(f"{torch_like.__name__}.nn.utils.weight_norm").WeightNorm

    class distLinear(nn.Module):
        def __init__(self, indim, outdim, class_wise_learnable_norm=True):
            super().__init__()
            self.L = nn.Linear(indim, outdim, bias=False)
            self.class_wise_learnable_norm = class_wise_learnable_norm
            if self.class_wise_learnable_norm:
                # split the weight update component to direction and norm
                with warnings.catch_warnings(record=True) as caught:  # see Changed
                    warnings.simplefilter("always")
                    WeightNorm.apply(self.L, "weight", dim=0)
                self.deprecations = sum(issubclass(w.category, FutureWarning) for w in caught)
            if outdim <= 200:
                self.scale_factor = 2
            else:
                self.scale_factor = 10

        def forward(self, x):
            x_norm = torch.norm(x, p=2, dim=1).unsqueeze(1).expand_as(x)
            x_normalized = x.div(x_norm + 0.00001)
            if not self.class_wise_learnable_norm:
                L_norm = (
                    torch.norm(self.L.weight.data, p=2, dim=1)
                    .unsqueeze(1)
                    .expand_as(self.L.weight.data)
                )
                self.L.weight.data = self.L.weight.data.div(L_norm + 0.00001)
            # matrix product by forward function, but when using WeightNorm, this also multiply
            # the cosine distance by a class-wise learnable norm
            cos_dist = self.L(x_normalized)
            scores = self.scale_factor * (cos_dist)
            return scores

    return distLinear


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    distLinear = _dist_linear(torch_like)

    class BaselineTrain(nn.Module):
        def __init__(self):
            super().__init__()
            self.feature = nn.Sequential(nn.Linear(FEATS, HID), nn.ReLU(), nn.Linear(HID, HID))
            self.classifier = distLinear(HID, BASE)
            self.finetune_clf = distLinear(HID, WAY)  # weights for set_forward_adaptation
            self.plain_clf = distLinear(HID, WAY, class_wise_learnable_norm=False)
            self.loss_fn = nn.CrossEntropyLoss()

        def forward(self, x):
            out = self.feature.forward(x)
            scores = self.classifier.forward(out)
            return scores

    return BaselineTrain()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    Variable = torch.autograd.Variable
    distLinear = _dist_linear(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(13)
    centers = rng.normal(size=(BASE + WAY, FEATS))
    out: list[float] = []
    for _step in range(4):  # BaselineTrain.train_loop
        y_np = rng.integers(0, BASE, 10)
        x = as_tensor(torch, centers[y_np] + 0.5 * rng.normal(size=(10, FEATS)))
        y = Variable(torch.from_numpy(y_np))
        optimizer.zero_grad()
        scores = model.forward(x)
        loss = model.loss_fn(scores, y)
        loss.backward()
        optimizer.step()
        out.append(loss.item())

    # set_forward_adaptation on one novel episode
    n_way, n_support, feat_dim = WAY, SHOT, HID
    y_np = np.concatenate([np.repeat(range(n_way), n_support), np.repeat(range(n_way), QUERY)])
    x = centers[BASE + y_np] + 0.5 * rng.normal(size=(len(y_np), FEATS))
    with torch.no_grad():
        z_all = model.feature(as_tensor(torch, x))
    z_support, z_query = z_all[: n_way * n_support], z_all[n_way * n_support :]
    z_support = z_support.contiguous().view(n_way * n_support, -1)
    z_query = z_query.contiguous().view(n_way * QUERY, -1)
    y_support = torch.from_numpy(np.repeat(range(n_way), n_support))
    y_support = Variable(y_support)
    for which in ("finetune_clf", "plain_clf"):
        linear_clf = distLinear(feat_dim, n_way, class_wise_learnable_norm=which == "finetune_clf")
        linear_clf.load_state_dict(getattr(model, which).state_dict())  # see Changed
        set_optimizer = torch.optim.SGD(linear_clf.parameters(), lr=0.01, momentum=0.9,
                                        dampening=0.9, weight_decay=0.001)  # fmt: skip
        loss_function = nn.CrossEntropyLoss()
        batch_size = 4
        support_size = n_way * n_support
        for _epoch in range(3):
            rand_id = rng.permutation(support_size)
            for i in range(0, support_size, batch_size):
                set_optimizer.zero_grad()
                selected_id = torch.from_numpy(rand_id[i : min(i + batch_size, support_size)])
                z_batch = z_support[selected_id]
                y_batch = y_support[selected_id]
                scores = linear_clf(z_batch)
                loss = loss_function(scores, y_batch)
                loss.backward()
                set_optimizer.step()
                out.append(loss.item())
        scores = linear_clf(z_query)
        y_query = np.repeat(range(n_way), QUERY)
        topk_scores, topk_labels = scores.data.cpu().topk(1, 1, True, True)
        topk_ind = topk_labels.cpu().numpy()
        top1_correct = np.sum(topk_ind[:, 0] == y_query)
        out += [float(top1_correct), scores.sum().item()]
        out.append(linear_clf.L.weight.norm().item())
    return out + [model.classifier.deprecations]
