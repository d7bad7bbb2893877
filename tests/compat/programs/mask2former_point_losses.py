"""Mask2Former's training losses (``mask2former/modeling/criterion.py`` and ``matcher.py``, with
detectron2's PointRend ``point_sample``), size-reduced around a small mask-classification head:
``point_sample`` (``point_coords.unsqueeze(2)``, ``F.grid_sample(input, 2.0 * point_coords - 1.0,
align_corners=False)``, ``output.squeeze(3)``); ``get_uncertain_point_coords_with_randomness``
(``torch.rand(num_boxes, num_sampled, 2)`` oversampled, ``calculate_uncertainty`` as
``-(torch.abs(logits.clone()))``, ``torch.topk(point_uncertainties[:, 0, :], k=..., dim=1)[1]``,
``idx += shift[:, None]`` with ``shift = num_sampled * torch.arange(num_boxes, dtype=torch.long)``,
``point_coords.view(-1, 2)[idx.view(-1), :]``, then random points ``cat``-ed); the losses
``dice_loss`` and ``sigmoid_ce_loss`` compiled with ``torch.jit.script`` on the sampled points;
the ``HungarianMatcher`` under ``@torch.no_grad()``: ``cost_class = -out_prob[:, tgt_ids]``,
``targets[b]["masks"].to(out_mask)``, shared ``torch.rand(1, num_points, 2)`` coordinates
``.repeat(n, 1, 1)`` for predictions and targets, ``batch_sigmoid_ce_loss`` (two
``torch.einsum("nc,mc->nm", ...)``) and ``batch_dice_loss``, ``C.reshape(num_queries, -1).cpu()``,
SciPy's ``linear_sum_assignment`` and ``torch.as_tensor(i, dtype=torch.int64)``;
``_get_src_permutation_idx`` (``torch.full_like(src, i)``), the ``empty_weight`` buffer
(``empty_weight[-1] = self.eos_coef``) in ``F.cross_entropy(src_logits.transpose(1, 2),
target_classes, self.empty_weight)``; ``num_masks`` as ``torch.clamp(torch.as_tensor([n],
dtype=torch.float) / world_size, min=1).item()``; auxiliary losses per decoder layer summed
with ``weight_dict``; ``AdamW`` with ``clip_grad_norm_``.

Changed: the backbone/pixel decoder is one conv producing 8x8 mask features (targets are 16x16,
so the point sampling crosses resolutions), the transformer decoder is two
``nn.MultiheadAttention`` cross-attention layers, 100 queries -> 5, 12544 points -> 12
(oversample 3, importance 0.75), classes 133 -> 3; images and instance masks are seeded NumPy
rectangles.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

# ``loss_labels`` computes in float32 (``outputs["pred_logits"].float()``, as Mask2Former): there
# PyTorch's vectorised exp/log round differently from NumPy's in the last bit
RTOL = 1e-6
QUERIES, CLASSES, DIM, FEAT, IMG, POINTS = 5, 3, 8, 8, 16, 12


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MaskFormerHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pixel_decoder = nn.Sequential(
                nn.Conv2d(3, DIM, 3, stride=2, padding=1), nn.GroupNorm(2, DIM), nn.ReLU()
            )
            self.query_feat = nn.Embedding(QUERIES, DIM)
            self.query_embed = nn.Embedding(QUERIES, DIM)
            self.layers = nn.ModuleList(
                [nn.MultiheadAttention(DIM, 2, batch_first=True) for _ in range(2)]
            )
            self.decoder_norm = nn.LayerNorm(DIM)
            self.class_embed = nn.Linear(DIM, CLASSES + 1)
            self.mask_embed = nn.Sequential(nn.Linear(DIM, DIM), nn.ReLU(), nn.Linear(DIM, DIM))

        def forward_prediction_heads(self, output: Any, mask_features: Any) -> tuple[Any, Any]:
            decoder_output = self.decoder_norm(output)
            outputs_class = self.class_embed(decoder_output)
            mask_embed = self.mask_embed(decoder_output)
            outputs_mask = torch.einsum("bqc,bchw->bqhw", mask_embed, mask_features)
            return outputs_class, outputs_mask

        def forward(self, images: Any) -> dict:
            mask_features = self.pixel_decoder(images)
            bs = images.shape[0]
            src = mask_features.flatten(2).transpose(1, 2)
            output = self.query_feat.weight.unsqueeze(0).repeat(bs, 1, 1)
            query_pos = self.query_embed.weight.unsqueeze(0)
            predictions = []
            for layer in self.layers:
                output = output + layer(output + query_pos, src, src)[0]
                predictions.append(self.forward_prediction_heads(output, mask_features))
            out = {"pred_logits": predictions[-1][0], "pred_masks": predictions[-1][1]}
            out["aux_outputs"] = [{"pred_logits": a, "pred_masks": b} for a, b in predictions[:-1]]
            return out

    return MaskFormerHead()


def _criterion(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def point_sample(input: Any, point_coords: Any, **kwargs: Any) -> Any:
        add_dim = False
        if point_coords.dim() == 3:
            add_dim = True
            point_coords = point_coords.unsqueeze(2)
        output = F.grid_sample(input, 2.0 * point_coords - 1.0, **kwargs)
        if add_dim:
            output = output.squeeze(3)
        return output

    def get_uncertain_point_coords_with_randomness(
        coarse_logits: Any,
        uncertainty_func: Any,
        num_points: int,
        oversample_ratio: int,
        importance_sample_ratio: float,
    ) -> Any:
        assert oversample_ratio >= 1
        assert importance_sample_ratio <= 1 and importance_sample_ratio >= 0
        num_boxes = coarse_logits.shape[0]
        num_sampled = int(num_points * oversample_ratio)
        point_coords = torch.rand(num_boxes, num_sampled, 2, device=coarse_logits.device)
        point_logits = point_sample(coarse_logits, point_coords, align_corners=False)
        point_uncertainties = uncertainty_func(point_logits)
        num_uncertain_points = int(importance_sample_ratio * num_points)
        num_random_points = num_points - num_uncertain_points
        idx = torch.topk(point_uncertainties[:, 0, :], k=num_uncertain_points, dim=1)[1]
        shift = num_sampled * torch.arange(num_boxes, dtype=torch.long)
        idx += shift[:, None]
        point_coords = point_coords.view(-1, 2)[idx.view(-1), :].view(
            num_boxes, num_uncertain_points, 2
        )
        if num_random_points > 0:
            point_coords = torch.cat(
                [point_coords, torch.rand(num_boxes, num_random_points, 2)], dim=1
            )
        return point_coords

    def calculate_uncertainty(logits: Any) -> Any:
        assert logits.shape[1] == 1
        gt_class_logits = logits.clone()
        return -(torch.abs(gt_class_logits))

    def dice_loss(inputs, targets, num_masks: float):
        inputs = inputs.sigmoid()
        inputs = inputs.flatten(1)
        numerator = 2 * (inputs * targets).sum(-1)
        denominator = inputs.sum(-1) + targets.sum(-1)
        loss = 1 - (numerator + 1) / (denominator + 1)
        return loss.sum() / num_masks

    def sigmoid_ce_loss(inputs, targets, num_masks: float):
        loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        return loss.mean(1).sum() / num_masks

    def batch_dice_loss(inputs, targets):
        inputs = inputs.sigmoid()
        inputs = inputs.flatten(1)
        numerator = 2 * torch.einsum("nc,mc->nm", inputs, targets)
        denominator = inputs.sum(-1)[:, None] + targets.sum(-1)[None, :]
        return 1 - (numerator + 1) / (denominator + 1)

    def batch_sigmoid_ce_loss(inputs, targets):
        hw = inputs.shape[1]
        pos = F.binary_cross_entropy_with_logits(inputs, torch.ones_like(inputs), reduction="none")
        neg = F.binary_cross_entropy_with_logits(inputs, torch.zeros_like(inputs), reduction="none")
        loss = torch.einsum("nc,mc->nm", pos, targets) + torch.einsum(
            "nc,mc->nm", neg, (1 - targets)
        )
        return loss / hw

    with warnings.catch_warnings():  # TorchScript: unannotated arguments are Tensors
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated
        dice_loss_jit = torch.jit.script(dice_loss)
        sigmoid_ce_loss_jit = torch.jit.script(sigmoid_ce_loss)
        batch_dice_loss_jit = torch.jit.script(batch_dice_loss)
        batch_sigmoid_ce_loss_jit = torch.jit.script(batch_sigmoid_ce_loss)

    class HungarianMatcher(nn.Module):
        def __init__(self, cost_class: float, cost_mask: float, cost_dice: float) -> None:
            super().__init__()
            self.cost_class, self.cost_mask, self.cost_dice = cost_class, cost_mask, cost_dice
            self.num_points = POINTS

        @torch.no_grad()
        def forward(self, outputs: dict, targets: list) -> list:
            bs, num_queries = outputs["pred_logits"].shape[:2]
            indices = []
            for b in range(bs):
                out_prob = outputs["pred_logits"][b].softmax(-1)  # [num_queries, num_classes]
                tgt_ids = targets[b]["labels"]
                cost_class = -out_prob[:, tgt_ids]
                out_mask = outputs["pred_masks"][b]  # [num_queries, H_pred, W_pred]
                tgt_mask = targets[b]["masks"].to(out_mask)
                out_mask = out_mask[:, None]
                tgt_mask = tgt_mask[:, None]
                point_coords = torch.rand(1, self.num_points, 2, device=out_mask.device)
                tgt_mask = point_sample(
                    tgt_mask, point_coords.repeat(tgt_mask.shape[0], 1, 1), align_corners=False
                ).squeeze(1)
                out_mask = point_sample(
                    out_mask, point_coords.repeat(out_mask.shape[0], 1, 1), align_corners=False
                ).squeeze(1)
                with torch.autocast(device_type="cpu", enabled=False):
                    out_mask = out_mask.float()
                    tgt_mask = tgt_mask.float()
                    cost_mask = batch_sigmoid_ce_loss_jit(out_mask, tgt_mask)
                    cost_dice = batch_dice_loss_jit(out_mask, tgt_mask)
                C = (
                    self.cost_mask * cost_mask
                    + self.cost_class * cost_class
                    + self.cost_dice * cost_dice
                )
                C = C.reshape(num_queries, -1).cpu()
                indices.append(linear_sum_assignment(C))
            return [
                (torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64))
                for i, j in indices
            ]

    class SetCriterion(nn.Module):
        def __init__(self, num_classes: int, matcher: Any, eos_coef: float) -> None:
            super().__init__()
            self.num_classes, self.matcher, self.eos_coef = num_classes, matcher, eos_coef
            empty_weight = torch.ones(self.num_classes + 1)
            empty_weight[-1] = self.eos_coef
            self.register_buffer("empty_weight", empty_weight)
            self.num_points, self.oversample_ratio, self.importance_sample_ratio = POINTS, 3, 0.75

        def loss_labels(self, outputs: dict, targets: list, indices: list) -> dict:
            src_logits = outputs["pred_logits"].float()
            idx = self._get_src_permutation_idx(indices)
            target_classes_o = torch.cat(
                [t["labels"][J] for t, (_, J) in zip(targets, indices, strict=True)]
            )
            target_classes = torch.full(src_logits.shape[:2], self.num_classes, dtype=torch.int64)
            target_classes[idx] = target_classes_o
            loss_ce = F.cross_entropy(
                src_logits.transpose(1, 2), target_classes, self.empty_weight.to(src_logits)
            )
            return {"loss_ce": loss_ce}

        def loss_masks(self, outputs: dict, targets: list, indices: list, num_masks: float) -> dict:
            src_idx = self._get_src_permutation_idx(indices)
            src_masks = outputs["pred_masks"]
            src_masks = src_masks[src_idx]
            target_masks = torch.cat([t["masks"][J] for t, (_, J) in zip(targets, indices)])
            target_masks = target_masks.to(src_masks)
            src_masks = src_masks[:, None]
            target_masks = target_masks[:, None]
            with torch.no_grad():
                point_coords = get_uncertain_point_coords_with_randomness(
                    src_masks,
                    lambda logits: calculate_uncertainty(logits),
                    self.num_points,
                    self.oversample_ratio,
                    self.importance_sample_ratio,
                )
                point_labels = point_sample(
                    target_masks, point_coords, align_corners=False
                ).squeeze(1)
            point_logits = point_sample(src_masks, point_coords, align_corners=False).squeeze(1)
            return {
                "loss_mask": sigmoid_ce_loss_jit(point_logits, point_labels, num_masks),
                "loss_dice": dice_loss_jit(point_logits, point_labels, num_masks),
            }

        def _get_src_permutation_idx(self, indices: list) -> tuple[Any, Any]:
            batch_idx = torch.cat([torch.full_like(src, i) for i, (src, _) in enumerate(indices)])
            src_idx = torch.cat([src for (src, _) in indices])
            return batch_idx, src_idx

        def forward(self, outputs: dict, targets: list) -> dict:
            outputs_without_aux = {k: v for k, v in outputs.items() if k != "aux_outputs"}
            indices = self.matcher(outputs_without_aux, targets)
            num_masks = sum(len(t["labels"]) for t in targets)
            num_masks = torch.as_tensor([num_masks], dtype=torch.float)
            num_masks = torch.clamp(num_masks / 1, min=1).item()
            losses = {}
            losses.update(self.loss_labels(outputs, targets, indices))
            losses.update(self.loss_masks(outputs, targets, indices, num_masks))
            for i, aux_outputs in enumerate(outputs["aux_outputs"]):
                indices = self.matcher(aux_outputs, targets)
                l_dict = self.loss_labels(aux_outputs, targets, indices)
                l_dict.update(self.loss_masks(aux_outputs, targets, indices, num_masks))
                losses.update({k + f"_{i}": v for k, v in l_dict.items()})
            return losses

    matcher = HungarianMatcher(cost_class=2.0, cost_mask=5.0, cost_dice=5.0)
    return SetCriterion(CLASSES, matcher, eos_coef=0.1)


def _sample(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = int(rng.integers(1, 4))
    image = 0.1 * rng.standard_normal((3, IMG, IMG))
    masks = np.zeros((n, IMG, IMG))
    labels = rng.integers(0, CLASSES, size=n)
    for k in range(n):
        y0, x0 = rng.integers(0, IMG - 6, size=2)
        h, w = rng.integers(4, 8, size=2)
        masks[k, y0 : y0 + h, x0 : x0 + w] = 1.0
        image[labels[k], y0 : y0 + h, x0 : x0 + w] += 1.0
    return image, masks, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    torch.manual_seed(35)
    rng = np.random.default_rng(35)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    criterion = _criterion(torch_like)
    weight_dict = {"loss_ce": 2.0, "loss_mask": 5.0, "loss_dice": 5.0}
    weight_dict.update({k + "_0": v for k, v in list(weight_dict.items())})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    values: list[float] = []
    for _step in range(4):
        samples = [_sample(rng) for _ in range(2)]
        images = torch.tensor(np.stack([s[0] for s in samples]))
        targets = [
            {"masks": torch.tensor(s[1]).bool(), "labels": torch.tensor(s[2])} for s in samples
        ]
        outputs = model(images)
        losses = criterion(outputs, targets)
        for k in list(losses.keys()):
            if k in weight_dict:
                losses[k] *= weight_dict[k]
        loss = sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)
        optimizer.step()
        values.append(loss.item())
        values.extend(losses[k].item() for k in sorted(losses))
    return values
