"""amdegroot/ssd.pytorch (``layers/box_utils.py``, ``layers/modules/multibox_loss.py``,
``layers/functions/prior_box.py``, ``layers/modules/l2norm.py``, ``ssd.py`` and ``train.py``),
size-reduced: ``PriorBox`` over ``product(range(f), repeat=2)`` (``from itertools import product
as product``, ``torch.Tensor(mean).view(-1, 4)``, ``output.clamp_(max=1, min=0)``); ``L2Norm``
(``x.pow(2).sum(dim=1, keepdim=True).sqrt()+self.eps``, ``torch.div(x,norm)``,
``self.weight.unsqueeze(0).unsqueeze(2).unsqueeze(3).expand_as(x)``, ``init.constant_``); the
multibox head (``l(x).permute(0, 2, 3, 1).contiguous()``, ``torch.cat([o.view(o.size(0), -1)
for o in loc], 1)``); ``match`` (``jaccard``/``intersect`` with ``unsqueeze(1).expand(A, B,
2)``, ``overlaps.max(1, keepdim=True)``, ``squeeze_``, ``index_fill_(0, best_prior_idx, 2)``,
``best_truth_idx[best_prior_idx[j]] = j``, ``conf[best_truth_overlap < threshold] = 0``,
``loc_t[idx] = loc``) and ``encode`` (``torch.log(g_wh) / variances[1]``) into
``torch.Tensor(num, num_priors, 4)``/``torch.LongTensor(num, num_priors)``;
``MultiBoxLoss.forward`` (``pos.unsqueeze(pos.dim()).expand_as(loc_data)``, boolean-mask
indexing, ``F.smooth_l1_loss(..., reduction='sum')``, ``log_sum_exp`` with ``x.data.max()``,
``batch_conf.gather(1, conf_t.view(-1, 1))``, hard negative mining by the double sort
``loss_c.sort(1, descending=True)`` / ``loss_idx.sort(1)``, ``torch.clamp(self.negpos_ratio *
num_pos, max=pos.size(1)-1)``, ``idx_rank < num_neg.expand_as(idx_rank)``, ``(pos_idx +
neg_idx).gt(0)`` on bool masks, ``F.cross_entropy(..., reduction='sum')``, ``loss_l /= N``);
``xavier`` init through ``vgg.apply``, SGD with momentum and weight decay, and
``adjust_learning_rate``.

Changed: VGG/extras -> two tiny conv stages with 4x4 and 2x2 feature maps (20 priors), 21
classes -> 4, 300x300 images -> 16x16; ``size_average=False`` (deprecated, it warns) is
``reduction='sum'``, and ``loss_c[pos] = 0`` comes after ``loss_c.view(num, -1)`` (the
repository's well-known fix for modern PyTorch); data from a seeded NumPy generator.
"""

from __future__ import annotations

from itertools import product as product
from math import sqrt as sqrt
from typing import Any

import numpy as np

from ._common import load_numpy_state

NUM_CLASSES = 4
CFG = {
    "feature_maps": [4, 2],
    "min_dim": 16,
    "steps": [4, 8],
    "min_sizes": [4, 8],
    "max_sizes": [8, 14],
    "aspect_ratios": [[2], [2]],
    "variance": [0.1, 0.2],
    "clip": True,
}


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    init = nn.init

    class L2Norm(nn.Module):
        def __init__(self, n_channels: int, scale: float) -> None:
            super(L2Norm, self).__init__()  # noqa: UP008 (as in the repository)
            self.n_channels = n_channels
            self.gamma = scale or None
            self.eps = 1e-10
            self.weight = nn.Parameter(torch.Tensor(self.n_channels))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            init.constant_(self.weight, self.gamma)

        def forward(self, x: Any) -> Any:
            norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
            # x /= norm
            x = torch.div(x, norm)
            out = self.weight.unsqueeze(0).unsqueeze(2).unsqueeze(3).expand_as(x) * x
            return out

    class SSD(nn.Module):
        def __init__(self, num_classes: int) -> None:
            super(SSD, self).__init__()  # noqa: UP008
            self.num_classes = num_classes
            self.vgg = nn.ModuleList([nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(kernel_size=2, stride=2),
                                      nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True),
                                      nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
                                      nn.Conv2d(6, 8, 1), nn.ReLU(inplace=True)])  # fmt: skip
            self.L2Norm = L2Norm(6, 20)
            self.extras = nn.ModuleList([])
            mbox = [4, 4]
            self.loc = nn.ModuleList([nn.Conv2d(c, k * 4, 3, padding=1)
                                      for c, k in zip((6, 8), mbox)])  # fmt: skip
            self.conf = nn.ModuleList([nn.Conv2d(c, k * num_classes, 3, padding=1)
                                       for c, k in zip((6, 8), mbox)])  # fmt: skip

        def forward(self, x: Any) -> tuple[Any, Any]:
            sources = list()
            loc = list()
            conf = list()

            # apply vgg up to conv4_3 relu
            for k in range(8):
                x = self.vgg[k](x)

            s = self.L2Norm(x)
            sources.append(s)

            # apply vgg up to fc7
            for k in range(8, len(self.vgg)):
                x = self.vgg[k](x)
            sources.append(x)

            # apply extra layers and cache source layer outputs
            for k, v in enumerate(self.extras):
                x = F.relu(v(x), inplace=True)
                if k % 2 == 1:
                    sources.append(x)

            # apply multibox head to source layers
            for x, l, c in zip(sources, self.loc, self.conf):  # noqa: E741
                loc.append(l(x).permute(0, 2, 3, 1).contiguous())
                conf.append(c(x).permute(0, 2, 3, 1).contiguous())

            loc = torch.cat([o.view(o.size(0), -1) for o in loc], 1)
            conf = torch.cat([o.view(o.size(0), -1) for o in conf], 1)
            return (loc.view(loc.size(0), -1, 4), conf.view(conf.size(0), -1, self.num_classes))

    def xavier(param: Any) -> None:
        init.xavier_uniform_(param)

    def weights_init(m: Any) -> None:
        if isinstance(m, nn.Conv2d):
            xavier(m.weight.data)
            m.bias.data.zero_()

    net = SSD(NUM_CLASSES)
    net.vgg.apply(weights_init)
    net.loc.apply(weights_init)
    net.conf.apply(weights_init)
    return net


def _box_utils(torch_like: Any) -> dict[str, Any]:
    torch = torch_like

    def point_form(boxes: Any) -> Any:
        return torch.cat(
            (boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2), 1
        )  # xmin, ymin, xmax, ymax

    def intersect(box_a: Any, box_b: Any) -> Any:
        A = box_a.size(0)
        B = box_b.size(0)
        max_xy = torch.min(box_a[:, 2:].unsqueeze(1).expand(A, B, 2),
                           box_b[:, 2:].unsqueeze(0).expand(A, B, 2))  # fmt: skip
        min_xy = torch.max(box_a[:, :2].unsqueeze(1).expand(A, B, 2),
                           box_b[:, :2].unsqueeze(0).expand(A, B, 2))  # fmt: skip
        inter = torch.clamp((max_xy - min_xy), min=0)
        return inter[:, :, 0] * inter[:, :, 1]

    def jaccard(box_a: Any, box_b: Any) -> Any:
        inter = intersect(box_a, box_b)
        area_a = ((box_a[:, 2]-box_a[:, 0]) *
                  (box_a[:, 3]-box_a[:, 1])).unsqueeze(1).expand_as(inter)  # fmt: skip
        area_b = ((box_b[:, 2]-box_b[:, 0]) *
                  (box_b[:, 3]-box_b[:, 1])).unsqueeze(0).expand_as(inter)  # fmt: skip
        union = area_a + area_b - inter
        return inter / union  # [A,B]

    def encode(matched: Any, priors: Any, variances: list[float]) -> Any:
        # dist b/t match center and prior's center
        g_cxcy = (matched[:, :2] + matched[:, 2:]) / 2 - priors[:, :2]
        # encode variance
        g_cxcy /= variances[0] * priors[:, 2:]
        # match wh / prior wh
        g_wh = (matched[:, 2:] - matched[:, :2]) / priors[:, 2:]
        g_wh = torch.log(g_wh) / variances[1]
        # return target for smooth_l1_loss
        return torch.cat([g_cxcy, g_wh], 1)  # [num_priors,4]

    def match(threshold, truths, priors, variances, labels, loc_t, conf_t, idx) -> None:  # noqa: ANN001
        # jaccard index
        overlaps = jaccard(truths, point_form(priors))
        # (Bipartite Matching)
        # [1,num_objects] best prior for each ground truth
        best_prior_overlap, best_prior_idx = overlaps.max(1, keepdim=True)
        # [1,num_priors] best ground truth for each prior
        best_truth_overlap, best_truth_idx = overlaps.max(0, keepdim=True)
        best_truth_idx.squeeze_(0)
        best_truth_overlap.squeeze_(0)
        best_prior_idx.squeeze_(1)
        best_prior_overlap.squeeze_(1)
        best_truth_overlap.index_fill_(0, best_prior_idx, 2)  # ensure best prior
        # ensure every gt matches with its prior of max overlap
        for j in range(best_prior_idx.size(0)):
            best_truth_idx[best_prior_idx[j]] = j
        matches = truths[best_truth_idx]  # Shape: [num_priors,4]
        conf = labels[best_truth_idx] + 1  # Shape: [num_priors]
        conf[best_truth_overlap < threshold] = 0  # label as background
        loc = encode(matches, priors, variances)
        loc_t[idx] = loc  # [num_priors,4] encoded offsets to learn
        conf_t[idx] = conf  # [num_priors] top class label for each prior

    def log_sum_exp(x: Any) -> Any:
        x_max = x.data.max()
        return torch.log(torch.sum(torch.exp(x - x_max), 1, keepdim=True)) + x_max

    return {"match": match, "log_sum_exp": log_sum_exp}


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    Variable = torch.autograd.Variable
    utils = _box_utils(torch_like)
    match, log_sum_exp = utils["match"], utils["log_sum_exp"]

    class PriorBox:
        def __init__(self, cfg: dict) -> None:
            self.image_size = cfg["min_dim"]
            self.num_priors = len(cfg["aspect_ratios"])
            self.variance = cfg["variance"] or [0.1]
            self.feature_maps = cfg["feature_maps"]
            self.min_sizes = cfg["min_sizes"]
            self.max_sizes = cfg["max_sizes"]
            self.steps = cfg["steps"]
            self.aspect_ratios = cfg["aspect_ratios"]
            self.clip = cfg["clip"]

        def forward(self) -> Any:
            mean = []
            for k, f in enumerate(self.feature_maps):
                for i, j in product(range(f), repeat=2):
                    f_k = self.image_size / self.steps[k]
                    # unit center x,y
                    cx = (j + 0.5) / f_k
                    cy = (i + 0.5) / f_k

                    # aspect_ratio: 1
                    # rel size: min_size
                    s_k = self.min_sizes[k] / self.image_size
                    mean += [cx, cy, s_k, s_k]

                    # aspect_ratio: 1
                    # rel size: sqrt(s_k * s_(k+1))
                    s_k_prime = sqrt(s_k * (self.max_sizes[k] / self.image_size))
                    mean += [cx, cy, s_k_prime, s_k_prime]

                    # rest of aspect ratios
                    for ar in self.aspect_ratios[k]:
                        mean += [cx, cy, s_k * sqrt(ar), s_k / sqrt(ar)]
                        mean += [cx, cy, s_k / sqrt(ar), s_k * sqrt(ar)]
            # back to torch land
            output = torch.Tensor(mean).view(-1, 4)
            if self.clip:
                output.clamp_(max=1, min=0)
            return output

    class MultiBoxLoss(nn.Module):
        def __init__(
            self,
            num_classes,
            overlap_thresh,
            prior_for_matching,
            bkg_label,
            neg_mining,
            neg_pos,
            neg_overlap,
            encode_target,
            use_gpu=True,
        ):  # noqa: ANN001
            super(MultiBoxLoss, self).__init__()  # noqa: UP008
            self.use_gpu = use_gpu
            self.num_classes = num_classes
            self.threshold = overlap_thresh
            self.background_label = bkg_label
            self.encode_target = encode_target
            self.use_prior_for_matching = prior_for_matching
            self.do_neg_mining = neg_mining
            self.negpos_ratio = neg_pos
            self.neg_overlap = neg_overlap
            self.variance = CFG["variance"]

        def forward(self, predictions: Any, targets: Any) -> tuple[Any, Any]:
            loc_data, conf_data, priors = predictions
            num = loc_data.size(0)
            priors = priors[: loc_data.size(1), :]
            num_priors = priors.size(0)

            # match priors (default boxes) and ground truth boxes
            loc_t = torch.Tensor(num, num_priors, 4)
            conf_t = torch.LongTensor(num, num_priors)
            for idx in range(num):
                truths = targets[idx][:, :-1].data
                labels = targets[idx][:, -1].data
                defaults = priors.data
                match(self.threshold, truths, defaults, self.variance, labels,
                      loc_t, conf_t, idx)  # fmt: skip
            # wrap targets
            loc_t = Variable(loc_t, requires_grad=False)
            conf_t = Variable(conf_t, requires_grad=False)

            pos = conf_t > 0
            num_pos = pos.sum(dim=1, keepdim=True)

            # Localization Loss (Smooth L1)
            # Shape: [batch,num_priors,4]
            pos_idx = pos.unsqueeze(pos.dim()).expand_as(loc_data)
            loc_p = loc_data[pos_idx].view(-1, 4)
            loc_t = loc_t[pos_idx].view(-1, 4)
            loss_l = F.smooth_l1_loss(loc_p, loc_t, reduction="sum")

            # Compute max conf across batch for hard negative mining
            batch_conf = conf_data.view(-1, self.num_classes)
            loss_c = log_sum_exp(batch_conf) - batch_conf.gather(1, conf_t.view(-1, 1))

            # Hard Negative Mining
            loss_c = loss_c.view(num, -1)
            loss_c[pos] = 0  # filter out pos boxes for now
            _, loss_idx = loss_c.sort(1, descending=True)
            _, idx_rank = loss_idx.sort(1)
            num_pos = pos.long().sum(1, keepdim=True)
            num_neg = torch.clamp(self.negpos_ratio * num_pos, max=pos.size(1) - 1)
            neg = idx_rank < num_neg.expand_as(idx_rank)

            # Confidence Loss Including Positive and Negative Examples
            pos_idx = pos.unsqueeze(2).expand_as(conf_data)
            neg_idx = neg.unsqueeze(2).expand_as(conf_data)
            conf_p = conf_data[(pos_idx + neg_idx).gt(0)].view(-1, self.num_classes)
            targets_weighted = conf_t[(pos + neg).gt(0)]
            loss_c = F.cross_entropy(conf_p, targets_weighted, reduction="sum")

            # Sum of losses: L(x,c) = L_g(x,l) + alpha * L_conf(x, c)

            N = num_pos.data.sum()
            loss_l /= N
            loss_c /= N
            return loss_l, loss_c

    rng = np.random.default_rng(300)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    with torch.no_grad():
        priors = Variable(PriorBox(CFG).forward())
    lr, gamma = 1e-2, 0.1
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    criterion = MultiBoxLoss(NUM_CLASSES, 0.5, True, 0, True, 3, 0.5, False, False)

    def adjust_learning_rate(optimizer: Any, gamma: float, step: int) -> None:
        lr_now = lr * (gamma ** (step))
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_now

    def annotations(n_obj: int) -> Any:
        xy = rng.uniform(0.0, 0.6, (n_obj, 2))
        wh = rng.uniform(0.2, 0.4, (n_obj, 2))
        label = rng.integers(0, NUM_CLASSES - 1, (n_obj, 1)).astype(np.float64)
        return torch.from_numpy(np.concatenate([xy, xy + wh, label], 1))

    values: list[float] = []
    net.train()
    step_index = 0
    for iteration in range(4):
        if iteration == 3:
            step_index += 1
            adjust_learning_rate(optimizer, gamma, step_index)
        images = torch.from_numpy(rng.random((2, 3, 16, 16)))
        targets = [annotations(2), annotations(1)]
        out = net(images)
        optimizer.zero_grad()
        loss_l, loss_c = criterion((out[0], out[1], priors), targets)
        loss = loss_l + loss_c
        loss.backward()
        optimizer.step()
        values += [loss_l.data.item(), loss_c.data.item()]
    values += [priors.sum().item(), net.L2Norm.weight.sum().item()]
    return values
