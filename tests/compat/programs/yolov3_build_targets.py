"""eriklindernoren/PyTorch-YOLOv3 (``models.py``'s ``YOLOLayer``, ``utils/utils.py``'s
``build_targets``, ``bbox_wh_iou``, ``bbox_iou``, ``to_cpu``; ``train.py``'s loop), size-reduced:
the YOLOv3 loss with best-anchor matching, trained on a tiny convolutional backbone.

The idioms kept: the legacy tensor types picked per device (``FloatTensor = torch.cuda.
FloatTensor if x.is_cuda else torch.FloatTensor``, likewise ``ByteTensor``) and used as
constructors (``ByteTensor(nB, nA, nG, nG).fill_(0)``, ``FloatTensor(prediction[..., :4].shape)``,
``FloatTensor([(a_w / self.stride, a_h / self.stride) for a_w, a_h in self.anchors])``) and as
``.type(FloatTensor)`` targets; ``compute_grid_offsets`` (``torch.arange(g).repeat(g, 1).view([1,
1, g, g])``, ``.t()``, ``self.scaled_anchors[:, 0:1].view((1, self.num_anchors, 1, 1))``);
``x.view(num_samples, self.num_anchors, self.num_classes + 5, grid_size, grid_size).permute(0,
1, 3, 4, 2).contiguous()``; ``pred_boxes[..., 0] = x.data + self.grid_x`` and ``torch.exp(
w.data) * self.anchor_w``; ``build_targets`` (``torch.stack([bbox_wh_iou(anchor, gwh) for
anchor in anchors])``, ``best_ious, best_n = ious.max(0)``, ``b, target_labels = target[:,
:2].long().t()``, ``gi, gj = gxy.long().t()``, advanced-index writes ``obj_mask[b, best_n, gj,
gi] = 1``, the ignore loop ``noobj_mask[b[i], anchor_ious > ignore_thres, gj[i], gi[i]] = 0``
mixing a boolean mask with integer indices, ``gx - gx.floor()``, ``torch.log(gw /
anchors[best_n][:, 0] + 1e-16)``, ``tcls[b, best_n, gj, gi, target_labels] = 1``,
``(pred_cls[b, best_n, gj, gi].argmax(-1) == target_labels).float()``, ``tconf =
obj_mask.float()``); ``bbox_iou`` with the ``+ 1`` pixel convention and ``torch.clamp(...,
min=0)``; the masked losses (``obj_mask.bool()``, ``self.mse_loss(x[obj_mask], tx[obj_mask])``,
``nn.BCELoss()`` on sigmoids, ``noobj_scale = 100``); the metrics (``100 *
class_mask[obj_mask].mean()``, ``torch.sum(iou50 * detected_mask) / (conf50.sum() + 1e-16)``,
``to_cpu(total_loss).item()``); inference ``torch.cat((pred_boxes.view(num_samples, -1, 4) *
self.stride, ...), -1)``; ``train.py``'s Adam loop with ``model.seen += imgs.size(0)``.

Changed: Darknet-53 at 416x416 -> two convs on 16x16 images (a 4x4 grid), 3 anchors, 3
classes, 4 steps; ``torch.FloatTensor`` is float32 whatever the default, so the run is float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
IMG, N_CLASSES = 16, 3
ANCHORS = [(3, 4), (6, 5), (9, 11)]


def _utils(torch_like: Any) -> tuple:
    torch = torch_like

    def to_cpu(tensor):  # noqa: ANN001, ANN202
        return tensor.detach().cpu()

    def bbox_wh_iou(wh1, wh2):  # noqa: ANN001, ANN202
        wh2 = wh2.t()
        w1, h1 = wh1[0], wh1[1]
        w2, h2 = wh2[0], wh2[1]
        inter_area = torch.min(w1, w2) * torch.min(h1, h2)
        union_area = (w1 * h1 + 1e-16) + w2 * h2 - inter_area
        return inter_area / union_area

    def bbox_iou(box1, box2, x1y1x2y2=True):  # noqa: ANN001, ANN202
        """
        Returns the IoU of two bounding boxes
        """
        if not x1y1x2y2:
            # Transform from center and width to exact coordinates
            b1_x1, b1_x2 = box1[:, 0] - box1[:, 2] / 2, box1[:, 0] + box1[:, 2] / 2
            b1_y1, b1_y2 = box1[:, 1] - box1[:, 3] / 2, box1[:, 1] + box1[:, 3] / 2
            b2_x1, b2_x2 = box2[:, 0] - box2[:, 2] / 2, box2[:, 0] + box2[:, 2] / 2
            b2_y1, b2_y2 = box2[:, 1] - box2[:, 3] / 2, box2[:, 1] + box2[:, 3] / 2
        else:
            # Get the coordinates of bounding boxes
            b1_x1, b1_y1, b1_x2, b1_y2 = box1[:, 0], box1[:, 1], box1[:, 2], box1[:, 3]
            b2_x1, b2_y1, b2_x2, b2_y2 = box2[:, 0], box2[:, 1], box2[:, 2], box2[:, 3]

        # get the corrdinates of the intersection rectangle
        inter_rect_x1 = torch.max(b1_x1, b2_x1)
        inter_rect_y1 = torch.max(b1_y1, b2_y1)
        inter_rect_x2 = torch.min(b1_x2, b2_x2)
        inter_rect_y2 = torch.min(b1_y2, b2_y2)
        # Intersection area
        inter_area = torch.clamp(inter_rect_x2 - inter_rect_x1 + 1, min=0) * torch.clamp(
            inter_rect_y2 - inter_rect_y1 + 1, min=0
        )
        # Union Area
        b1_area = (b1_x2 - b1_x1 + 1) * (b1_y2 - b1_y1 + 1)
        b2_area = (b2_x2 - b2_x1 + 1) * (b2_y2 - b2_y1 + 1)

        iou = inter_area / (b2_area + b1_area - inter_area + 1e-16)

        return iou

    def build_targets(pred_boxes, pred_cls, target, anchors, ignore_thres):  # noqa: ANN001, ANN202
        ByteTensor = torch.cuda.ByteTensor if pred_boxes.is_cuda else torch.ByteTensor
        FloatTensor = torch.cuda.FloatTensor if pred_boxes.is_cuda else torch.FloatTensor

        nB = pred_boxes.size(0)
        nA = pred_boxes.size(1)
        nC = pred_cls.size(-1)
        nG = pred_boxes.size(2)

        # Output tensors
        obj_mask = ByteTensor(nB, nA, nG, nG).fill_(0)
        noobj_mask = ByteTensor(nB, nA, nG, nG).fill_(1)
        class_mask = FloatTensor(nB, nA, nG, nG).fill_(0)
        iou_scores = FloatTensor(nB, nA, nG, nG).fill_(0)
        tx = FloatTensor(nB, nA, nG, nG).fill_(0)
        ty = FloatTensor(nB, nA, nG, nG).fill_(0)
        tw = FloatTensor(nB, nA, nG, nG).fill_(0)
        th = FloatTensor(nB, nA, nG, nG).fill_(0)
        tcls = FloatTensor(nB, nA, nG, nG, nC).fill_(0)

        # Convert to position relative to box
        target_boxes = target[:, 2:6] * nG
        gxy = target_boxes[:, :2]
        gwh = target_boxes[:, 2:]
        # Get anchors with best iou
        ious = torch.stack([bbox_wh_iou(anchor, gwh) for anchor in anchors])
        best_ious, best_n = ious.max(0)
        # Separate target values
        b, target_labels = target[:, :2].long().t()
        gx, gy = gxy.t()
        gw, gh = gwh.t()
        gi, gj = gxy.long().t()
        # Set masks
        obj_mask[b, best_n, gj, gi] = 1
        noobj_mask[b, best_n, gj, gi] = 0

        # Set noobj mask to zero where iou exceeds ignore threshold
        for i, anchor_ious in enumerate(ious.t()):
            noobj_mask[b[i], anchor_ious > ignore_thres, gj[i], gi[i]] = 0

        # Coordinates
        tx[b, best_n, gj, gi] = gx - gx.floor()
        ty[b, best_n, gj, gi] = gy - gy.floor()
        # Width and height
        tw[b, best_n, gj, gi] = torch.log(gw / anchors[best_n][:, 0] + 1e-16)
        th[b, best_n, gj, gi] = torch.log(gh / anchors[best_n][:, 1] + 1e-16)
        # One-hot encoding of label
        tcls[b, best_n, gj, gi, target_labels] = 1
        # Compute label correctness and iou at best anchor
        class_mask[b, best_n, gj, gi] = (
            pred_cls[b, best_n, gj, gi].argmax(-1) == target_labels
        ).float()
        iou_scores[b, best_n, gj, gi] = bbox_iou(
            pred_boxes[b, best_n, gj, gi], target_boxes, x1y1x2y2=False
        )

        tconf = obj_mask.float()
        return iou_scores, class_mask, obj_mask, noobj_mask, tx, ty, tw, th, tcls, tconf

    return to_cpu, build_targets


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    to_cpu, build_targets = _utils(torch_like)

    class YOLOLayer(nn.Module):
        """Detection layer"""

        def __init__(self, anchors, num_classes, img_dim=416):  # noqa: ANN001
            super(YOLOLayer, self).__init__()  # noqa: UP008 (as in the repository)
            self.anchors = anchors
            self.num_anchors = len(anchors)
            self.num_classes = num_classes
            self.ignore_thres = 0.5
            self.mse_loss = nn.MSELoss()
            self.bce_loss = nn.BCELoss()
            self.obj_scale = 1
            self.noobj_scale = 100
            self.metrics = {}
            self.img_dim = img_dim
            self.grid_size = 0  # grid size

        def compute_grid_offsets(self, grid_size, cuda=True):  # noqa: ANN001, ANN202
            self.grid_size = grid_size
            g = self.grid_size
            FloatTensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
            self.stride = self.img_dim / self.grid_size
            # Calculate offsets for each grid
            self.grid_x = torch.arange(g).repeat(g, 1).view([1, 1, g, g]).type(FloatTensor)
            self.grid_y = torch.arange(g).repeat(g, 1).t().view([1, 1, g, g]).type(FloatTensor)
            self.scaled_anchors = FloatTensor(
                [(a_w / self.stride, a_h / self.stride) for a_w, a_h in self.anchors]
            )
            self.anchor_w = self.scaled_anchors[:, 0:1].view((1, self.num_anchors, 1, 1))
            self.anchor_h = self.scaled_anchors[:, 1:2].view((1, self.num_anchors, 1, 1))

        def forward(self, x, targets=None, img_dim=None):  # noqa: ANN001, ANN201
            # Tensors for cuda support
            FloatTensor = torch.cuda.FloatTensor if x.is_cuda else torch.FloatTensor

            self.img_dim = img_dim
            num_samples = x.size(0)
            grid_size = x.size(2)

            prediction = (
                x.view(num_samples, self.num_anchors, self.num_classes + 5, grid_size, grid_size)
                .permute(0, 1, 3, 4, 2)
                .contiguous()
            )

            # Get outputs
            x = torch.sigmoid(prediction[..., 0])  # Center x
            y = torch.sigmoid(prediction[..., 1])  # Center y
            w = prediction[..., 2]  # Width
            h = prediction[..., 3]  # Height
            pred_conf = torch.sigmoid(prediction[..., 4])  # Conf
            pred_cls = torch.sigmoid(prediction[..., 5:])  # Cls pred.

            # If grid size does not match current we compute new offsets
            if grid_size != self.grid_size:
                self.compute_grid_offsets(grid_size, cuda=x.is_cuda)

            # Add offset and scale with anchors
            pred_boxes = FloatTensor(prediction[..., :4].shape)
            pred_boxes[..., 0] = x.data + self.grid_x
            pred_boxes[..., 1] = y.data + self.grid_y
            pred_boxes[..., 2] = torch.exp(w.data) * self.anchor_w
            pred_boxes[..., 3] = torch.exp(h.data) * self.anchor_h

            output = torch.cat(
                (
                    pred_boxes.view(num_samples, -1, 4) * self.stride,
                    pred_conf.view(num_samples, -1, 1),
                    pred_cls.view(num_samples, -1, self.num_classes),
                ),
                -1,
            )

            if targets is None:
                return output, 0
            iou_scores, class_mask, obj_mask, noobj_mask, tx, ty, tw, th, tcls, tconf = (
                build_targets(
                    pred_boxes=pred_boxes,
                    pred_cls=pred_cls,
                    target=targets,
                    anchors=self.scaled_anchors,
                    ignore_thres=self.ignore_thres,
                )
            )
            obj_mask, noobj_mask = obj_mask.bool(), noobj_mask.bool()

            # Loss : Mask outputs to ignore non-existing objects (except with conf. loss)
            loss_x = self.mse_loss(x[obj_mask], tx[obj_mask])
            loss_y = self.mse_loss(y[obj_mask], ty[obj_mask])
            loss_w = self.mse_loss(w[obj_mask], tw[obj_mask])
            loss_h = self.mse_loss(h[obj_mask], th[obj_mask])
            loss_conf_obj = self.bce_loss(pred_conf[obj_mask], tconf[obj_mask])
            loss_conf_noobj = self.bce_loss(pred_conf[noobj_mask], tconf[noobj_mask])
            loss_conf = self.obj_scale * loss_conf_obj + self.noobj_scale * loss_conf_noobj
            loss_cls = self.bce_loss(pred_cls[obj_mask], tcls[obj_mask])
            total_loss = loss_x + loss_y + loss_w + loss_h + loss_conf + loss_cls

            # Metrics
            cls_acc = 100 * class_mask[obj_mask].mean()
            conf_obj = pred_conf[obj_mask].mean()
            conf_noobj = pred_conf[noobj_mask].mean()
            conf50 = (pred_conf > 0.5).float()
            iou50 = (iou_scores > 0.5).float()
            iou75 = (iou_scores > 0.75).float()
            detected_mask = conf50 * class_mask * tconf
            precision = torch.sum(iou50 * detected_mask) / (conf50.sum() + 1e-16)
            recall50 = torch.sum(iou50 * detected_mask) / (obj_mask.sum() + 1e-16)
            recall75 = torch.sum(iou75 * detected_mask) / (obj_mask.sum() + 1e-16)

            self.metrics = {
                "loss": to_cpu(total_loss).item(),
                "x": to_cpu(loss_x).item(),
                "w": to_cpu(loss_w).item(),
                "conf": to_cpu(loss_conf).item(),
                "cls": to_cpu(loss_cls).item(),
                "cls_acc": to_cpu(cls_acc).item(),
                "recall50": to_cpu(recall50).item(),
                "recall75": to_cpu(recall75).item(),
                "precision": to_cpu(precision).item(),
                "conf_obj": to_cpu(conf_obj).item(),
                "conf_noobj": to_cpu(conf_noobj).item(),
                "grid_size": grid_size,
            }

            return output, total_loss

    class TinyDarknet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module_list = nn.ModuleList(
                [
                    nn.Sequential(
                        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                        nn.BatchNorm2d(8, momentum=0.9, eps=1e-5),
                        nn.LeakyReLU(0.1),
                    ),
                    nn.Sequential(
                        nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False),
                        nn.BatchNorm2d(8, momentum=0.9, eps=1e-5),
                        nn.LeakyReLU(0.1),
                    ),
                    nn.Sequential(nn.Conv2d(8, len(ANCHORS) * (N_CLASSES + 5), 1, bias=True)),
                    nn.Sequential(YOLOLayer(ANCHORS, N_CLASSES, IMG)),
                ]
            )
            self.yolo_layers = [self.module_list[-1][0]]
            self.seen = 0

        def forward(self, x, targets=None):  # noqa: ANN001, ANN201
            img_dim = x.shape[2]
            loss = 0
            for module in self.module_list[:-1]:
                x = module(x)
            x, layer_loss = self.module_list[-1][0](x, targets, img_dim)
            loss += layer_loss
            return x if targets is None else (loss, x)

    return TinyDarknet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(3)
    values: list[float] = []
    for _batch_i in range(4):
        imgs = torch.from_numpy(rng.random((2, 3, IMG, IMG), dtype=np.float32))
        n_obj = 3
        targets = np.zeros((n_obj, 6), dtype=np.float32)
        targets[:, 0] = [0, 1, 1]
        targets[:, 1] = rng.integers(0, N_CLASSES, size=n_obj)
        targets[:, 2:4] = rng.uniform(0.1, 0.9, size=(n_obj, 2))
        targets[:, 4:6] = rng.uniform(0.15, 0.6, size=(n_obj, 2))
        targets = torch.from_numpy(targets)
        model.train()
        loss, outputs = model(imgs, targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        model.seen += imgs.size(0)
        metrics = model.yolo_layers[0].metrics
        values += [metrics[k] for k in ("loss", "x", "w", "conf", "cls", "cls_acc",
                                        "recall50", "precision", "conf_noobj")]  # fmt: skip
    model.eval()
    with torch.no_grad():
        detections = model(torch.from_numpy(rng.random((1, 3, IMG, IMG), dtype=np.float32)))
    values += [float(detections.sum()), float(detections[..., :4].max()), model.seen]
    return values
