"""DETR's set-prediction loss as facebookresearch/detr writes it (``util/box_ops.py``,
``models/matcher.py``, ``models/detr.py``'s ``SetCriterion`` and ``MLP``, ``util/misc.py``'s
``accuracy``, ``main.py``'s optimizer set-up) on the minimal DETR of the repository's demo
notebook (``DETRdemo``: a conv backbone, ``nn.Transformer``, learned positional rows and
columns), size-reduced, trained for a few steps.

The idioms: ``box_cxcywh_to_xyxy`` / ``box_xyxy_to_cxcywh`` through ``x.unbind(-1)`` and
``torch.stack(b, dim=-1)``; ``box_iou`` and ``generalized_box_iou`` with broadcast corners
``torch.max(boxes1[:, None, :2], boxes2[:, :2])``, ``(rb - lt).clamp(min=0)`` and the ``assert
(boxes1[:, 2:] >= boxes1[:, :2]).all()`` guards; ``HungarianMatcher.forward`` under
``@torch.no_grad()`` (``outputs["pred_logits"].flatten(0, 1).softmax(-1)``, ``cost_class =
-out_prob[:, tgt_ids]``, ``torch.cdist(out_bbox, tgt_bbox, p=1)``, ``C.view(bs, num_queries,
-1).cpu()``, ``linear_sum_assignment(c[i])`` over ``C.split(sizes, -1)`` — SciPy reading the
tensor through ``__array__`` — and ``torch.as_tensor(i, dtype=torch.int64)``); the variant of
the DETR ports that hands SciPy ``c[i].numpy()``; ``SetCriterion``'s
``_get_src_permutation_idx`` (``torch.full_like(src, i)``, the ``(batch_idx, src_idx)`` tuple
used to index ``outputs['pred_boxes'][idx]`` and to assign ``target_classes[idx] =
target_classes_o``), ``F.cross_entropy(src_logits.transpose(1, 2), target_classes,
self.empty_weight)`` with a registered ``empty_weight`` buffer (``eos_coef``), the
``@torch.no_grad()`` cardinality error, ``F.l1_loss(..., reduction='none')`` and ``1 -
torch.diag(generalized_box_iou(...))`` box losses over ``num_boxes`` (``torch.as_tensor([
num_boxes], dtype=torch.float)``, ``torch.clamp(num_boxes / get_world_size(), min=1).item()``),
the ``weight_dict``-weighted sum; ``accuracy`` with ``output.topk(maxk, 1, True, True)``,
``pred.t()``, ``correct[:k].view(-1).float().sum(0)`` and ``mul_(100.0 / batch_size)``; the
demo's positional encoding (``torch.cat([self.col_embed[:W].unsqueeze(0).repeat(H, 1, 1),
self.row_embed[:H].unsqueeze(1).repeat(1, W, 1)], dim=-1).flatten(0, 1).unsqueeze(1)``) and
``self.transformer(pos + 0.1 * h.flatten(2).permute(2, 0, 1), ...).transpose(0, 1)``;
``main.py``'s two parameter groups (``"backbone" not in n``) under ``AdamW``, ``StepLR`` and
``torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)``.

Deviation: the transformer's dropout is 0 (random masks cannot agree between two frameworks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES, HIDDEN, NHEADS, NUM_QUERIES, BATCH, IMG, STEPS = 3, 16, 2, 5, 2, 16, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class MLP(nn.Module):
        """Very simple multi-layer perceptron (also called FFN)"""

        def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
            super().__init__()
            self.num_layers = num_layers
            h = [hidden_dim] * (num_layers - 1)
            self.layers = nn.ModuleList(
                nn.Linear(n, k) for n, k in zip([input_dim] + h, h + [output_dim], strict=True)
            )

        def forward(self, x: Any) -> Any:
            for i, layer in enumerate(self.layers):
                x = F.relu(layer(x)) if i < self.num_layers - 1 else layer(x)
            return x

    class DETRdemo(nn.Module):
        def __init__(self, num_classes: int, hidden_dim: int, nheads: int) -> None:
            super().__init__()
            self.backbone = nn.Sequential(
                nn.Conv2d(3, 8, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(8, 12, 3, stride=2, padding=1),
                nn.ReLU(),
            )
            self.conv = nn.Conv2d(12, hidden_dim, 1)
            self.transformer = nn.Transformer(
                hidden_dim,
                nheads,
                num_encoder_layers=1,
                num_decoder_layers=1,
                dim_feedforward=32,
                dropout=0.0,
            )
            self.linear_class = nn.Linear(hidden_dim, num_classes + 1)
            self.bbox_embed = MLP(hidden_dim, hidden_dim, 4, 3)
            self.query_pos = nn.Parameter(torch.rand(NUM_QUERIES, hidden_dim))
            self.row_embed = nn.Parameter(torch.rand(8, hidden_dim // 2))
            self.col_embed = nn.Parameter(torch.rand(8, hidden_dim // 2))

        def forward(self, inputs: Any) -> dict:
            x = self.backbone(inputs)
            h = self.conv(x)
            H, W = h.shape[-2:]
            pos = (
                torch.cat(
                    [
                        self.col_embed[:W].unsqueeze(0).repeat(H, 1, 1),
                        self.row_embed[:H].unsqueeze(1).repeat(1, W, 1),
                    ],
                    dim=-1,
                )
                .flatten(0, 1)
                .unsqueeze(1)
            )
            bs = h.shape[0]
            h = self.transformer(
                pos + 0.1 * h.flatten(2).permute(2, 0, 1),
                self.query_pos.unsqueeze(1).repeat(1, bs, 1),
            ).transpose(0, 1)
            return {"pred_logits": self.linear_class(h), "pred_boxes": self.bbox_embed(h).sigmoid()}

    return DETRdemo(NUM_CLASSES, HIDDEN, NHEADS)


def box_ops(torch_like: Any) -> Any:
    torch = torch_like

    class BoxOps:
        @staticmethod
        def box_area(boxes: Any) -> Any:
            return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

        @staticmethod
        def box_cxcywh_to_xyxy(x: Any) -> Any:
            x_c, y_c, w, h = x.unbind(-1)
            b = [(x_c - 0.5 * w), (y_c - 0.5 * h), (x_c + 0.5 * w), (y_c + 0.5 * h)]
            return torch.stack(b, dim=-1)

        @staticmethod
        def box_xyxy_to_cxcywh(x: Any) -> Any:
            x0, y0, x1, y1 = x.unbind(-1)
            b = [(x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0), (y1 - y0)]
            return torch.stack(b, dim=-1)

        @staticmethod
        def box_iou(boxes1: Any, boxes2: Any) -> tuple[Any, Any]:
            area1 = BoxOps.box_area(boxes1)
            area2 = BoxOps.box_area(boxes2)

            lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])  # [N,M,2]
            rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])  # [N,M,2]

            wh = (rb - lt).clamp(min=0)  # [N,M,2]
            inter = wh[:, :, 0] * wh[:, :, 1]  # [N,M]

            union = area1[:, None] + area2 - inter

            iou = inter / union
            return iou, union

        @staticmethod
        def generalized_box_iou(boxes1: Any, boxes2: Any) -> Any:
            # degenerate boxes gives inf / nan results
            # so do an early check
            assert (boxes1[:, 2:] >= boxes1[:, :2]).all()
            assert (boxes2[:, 2:] >= boxes2[:, :2]).all()
            iou, union = BoxOps.box_iou(boxes1, boxes2)

            lt = torch.min(boxes1[:, None, :2], boxes2[:, :2])
            rb = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])

            wh = (rb - lt).clamp(min=0)  # [N,M,2]
            area = wh[:, :, 0] * wh[:, :, 1]

            return iou - (area - union) / area

    return BoxOps


def make_criterion(torch_like: Any, via_numpy: bool) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    ops = box_ops(torch_like)

    class HungarianMatcher(nn.Module):
        def __init__(self, cost_class: float = 1, cost_bbox: float = 1, cost_giou: float = 1):
            super().__init__()
            self.cost_class = cost_class
            self.cost_bbox = cost_bbox
            self.cost_giou = cost_giou
            assert cost_class != 0 or cost_bbox != 0 or cost_giou != 0, "all costs cant be 0"

        @torch.no_grad()
        def forward(self, outputs: dict, targets: list) -> list:
            bs, num_queries = outputs["pred_logits"].shape[:2]

            # We flatten to compute the cost matrices in a batch
            out_prob = outputs["pred_logits"].flatten(0, 1).softmax(-1)
            out_bbox = outputs["pred_boxes"].flatten(0, 1)  # [batch_size * num_queries, 4]

            # Also concat the target labels and boxes
            tgt_ids = torch.cat([v["labels"] for v in targets])
            tgt_bbox = torch.cat([v["boxes"] for v in targets])

            cost_class = -out_prob[:, tgt_ids]
            cost_bbox = torch.cdist(out_bbox, tgt_bbox, p=1)
            cost_giou = -ops.generalized_box_iou(
                ops.box_cxcywh_to_xyxy(out_bbox), ops.box_cxcywh_to_xyxy(tgt_bbox)
            )

            # Final cost matrix
            C = (
                self.cost_bbox * cost_bbox
                + self.cost_class * cost_class
                + self.cost_giou * cost_giou
            )
            C = C.view(bs, num_queries, -1).cpu()

            sizes = [len(v["boxes"]) for v in targets]
            if via_numpy:
                split = C.split(sizes, -1)
                indices = [linear_sum_assignment(c[i].numpy()) for i, c in enumerate(split)]
            else:
                indices = [linear_sum_assignment(c[i]) for i, c in enumerate(C.split(sizes, -1))]
            return [
                (torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64))
                for i, j in indices
            ]

    @torch.no_grad()
    def accuracy(output: Any, target: Any, topk: tuple = (1,)) -> list:
        """Computes the precision@k for the specified values of k"""
        if target.numel() == 0:
            return [torch.zeros([], device=output.device)]
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].view(-1).float().sum(0)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res

    def get_world_size() -> int:
        return 1

    class SetCriterion(nn.Module):
        def __init__(
            self, num_classes: int, matcher: Any, weight_dict: dict, eos_coef: float, losses: list
        ) -> None:
            super().__init__()
            self.num_classes = num_classes
            self.matcher = matcher
            self.weight_dict = weight_dict
            self.eos_coef = eos_coef
            self.losses = losses
            empty_weight = torch.ones(self.num_classes + 1)
            empty_weight[-1] = self.eos_coef
            self.register_buffer("empty_weight", empty_weight)

        def loss_labels(
            self, outputs: dict, targets: list, indices: list, num_boxes: float, log: bool = True
        ) -> dict:
            assert "pred_logits" in outputs
            src_logits = outputs["pred_logits"]

            idx = self._get_src_permutation_idx(indices)
            target_classes_o = torch.cat(
                [t["labels"][J] for t, (_, J) in zip(targets, indices, strict=True)]
            )
            target_classes = torch.full(
                src_logits.shape[:2],
                self.num_classes,
                dtype=torch.int64,
                device=src_logits.device,
            )
            target_classes[idx] = target_classes_o

            loss_ce = F.cross_entropy(src_logits.transpose(1, 2), target_classes, self.empty_weight)
            losses = {"loss_ce": loss_ce}

            if log:
                # TODO this should probably be a separate loss, not hacked in this one here
                losses["class_error"] = 100 - accuracy(src_logits[idx], target_classes_o)[0]
            return losses

        @torch.no_grad()
        def loss_cardinality(
            self, outputs: dict, targets: list, indices: list, num_boxes: float
        ) -> dict:
            pred_logits = outputs["pred_logits"]
            device = pred_logits.device
            tgt_lengths = torch.as_tensor([len(v["labels"]) for v in targets], device=device)
            # Count the number of predictions that are NOT "no-object" (which is the last class)
            card_pred = (pred_logits.argmax(-1) != pred_logits.shape[-1] - 1).sum(1)
            card_err = F.l1_loss(card_pred.float(), tgt_lengths.float())
            losses = {"cardinality_error": card_err}
            return losses

        def loss_boxes(self, outputs: dict, targets: list, indices: list, num_boxes: float) -> dict:
            assert "pred_boxes" in outputs
            idx = self._get_src_permutation_idx(indices)
            src_boxes = outputs["pred_boxes"][idx]
            target_boxes = torch.cat(
                [t["boxes"][i] for t, (_, i) in zip(targets, indices, strict=True)], dim=0
            )

            loss_bbox = F.l1_loss(src_boxes, target_boxes, reduction="none")

            losses = {}
            losses["loss_bbox"] = loss_bbox.sum() / num_boxes

            loss_giou = 1 - torch.diag(
                ops.generalized_box_iou(
                    ops.box_cxcywh_to_xyxy(src_boxes), ops.box_cxcywh_to_xyxy(target_boxes)
                )
            )
            losses["loss_giou"] = loss_giou.sum() / num_boxes
            return losses

        def _get_src_permutation_idx(self, indices: list) -> tuple:
            # permute predictions following indices
            batch_idx = torch.cat([torch.full_like(src, i) for i, (src, _) in enumerate(indices)])
            src_idx = torch.cat([src for (src, _) in indices])
            return batch_idx, src_idx

        def get_loss(
            self, loss: str, outputs: dict, targets: list, indices: list, num_boxes: float
        ) -> dict:
            loss_map = {
                "labels": self.loss_labels,
                "cardinality": self.loss_cardinality,
                "boxes": self.loss_boxes,
            }
            assert loss in loss_map, f"do you really want to compute {loss} loss?"
            return loss_map[loss](outputs, targets, indices, num_boxes)

        def forward(self, outputs: dict, targets: list) -> tuple[dict, list]:
            outputs_without_aux = {k: v for k, v in outputs.items() if k != "aux_outputs"}

            # Retrieve the matching between the outputs of the last layer and the targets
            indices = self.matcher(outputs_without_aux, targets)

            # Compute the average number of target boxes accross all nodes, for normalization
            num_boxes = sum(len(t["labels"]) for t in targets)
            num_boxes = torch.as_tensor(
                [num_boxes], dtype=torch.float, device=next(iter(outputs.values())).device
            )
            num_boxes = torch.clamp(num_boxes / get_world_size(), min=1).item()

            # Compute all the requested losses
            losses = {}
            for loss in self.losses:
                losses.update(self.get_loss(loss, outputs, targets, indices, num_boxes))
            return losses, indices

    matcher = HungarianMatcher(cost_class=1, cost_bbox=5, cost_giou=2)
    weight_dict = {"loss_ce": 1, "loss_bbox": 5, "loss_giou": 2}
    return SetCriterion(
        NUM_CLASSES,
        matcher=matcher,
        weight_dict=weight_dict,
        eos_coef=0.1,
        losses=["labels", "boxes", "cardinality"],
    )


def make_targets(torch_like: Any, rng: np.random.Generator) -> list:
    targets = []
    for n in (2, 3):
        centers = rng.uniform(0.25, 0.75, (n, 2))
        sizes = rng.uniform(0.1, 0.4, (n, 2))
        targets.append(
            {
                "labels": as_tensor(torch_like, rng.integers(0, NUM_CLASSES, n)),
                "boxes": as_tensor(torch_like, np.concatenate([centers, sizes], axis=1)),
            }
        )
    return targets


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(2)
    images = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    targets = make_targets(torch, rng)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    # the box conversions invert each other; GIoU of a box with itself is 1
    ops = box_ops(torch)
    boxes = targets[1]["boxes"]
    xyxy = ops.box_cxcywh_to_xyxy(boxes)
    values += [(ops.box_xyxy_to_cxcywh(xyxy) - boxes).abs().max().item() < 1e-12]
    giou = ops.generalized_box_iou(xyxy, ops.box_cxcywh_to_xyxy(targets[0]["boxes"]))
    values += giou.flatten().tolist()
    values += torch.diag(ops.generalized_box_iou(xyxy, xyxy)).tolist()
    try:
        ops.generalized_box_iou(xyxy.flip(-1), xyxy)
        values += [0.0]
    except AssertionError:
        values += [1.0]

    param_dicts = [
        {
            "params": [
                p for n, p in model.named_parameters() if "backbone" not in n and p.requires_grad
            ]
        },
        {
            "params": [
                p for n, p in model.named_parameters() if "backbone" in n and p.requires_grad
            ],
            "lr": 1e-4,
        },
    ]
    optimizer = torch.optim.AdamW(param_dicts, lr=1e-3, weight_decay=1e-4)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)
    for step in range(STEPS):
        criterion = make_criterion(torch, via_numpy=step % 2 == 1)
        weight_dict = criterion.weight_dict
        model.train()
        criterion.train()
        outputs = model(images)
        loss_dict, indices = criterion(outputs, targets)
        losses = sum(loss_dict[k] * weight_dict[k] for k in loss_dict.keys() if k in weight_dict)
        values += [losses.item()] + [v.item() for v in loss_dict.values()]
        for src, tgt in indices:
            values += src.tolist() + tgt.tolist() + [float(src.dtype == torch.int64)]

        optimizer.zero_grad()
        losses.backward()
        values += [torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1).item()]
        optimizer.step()
        lr_scheduler.step()
    values += [g["lr"] for g in optimizer.param_groups]
    values += [p.abs().sum().item() for p in model.parameters()]
    values += [criterion.empty_weight.sum().item(), float("empty_weight" in criterion.state_dict())]
    return values
