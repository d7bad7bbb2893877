"""The computer-vision chapter of "Dive into Deep Learning" (d2l.ai, PyTorch edition, chapter 14:
anchor boxes, multiscale object detection, single shot multibox detection, transposed
convolution, fully convolutional networks), size-reduced: a TinySSD trained on its anchor
targets and an FCN with bilinear-initialised transposed convolution, side by side.

The idioms: ``multibox_prior`` (``boxes_per_pixel = (num_sizes + num_ratios - 1)``,
``torch.meshgrid(center_h, center_w, indexing='ij')``, ``torch.cat((size_tensor *
torch.sqrt(ratio_tensor[0]), sizes[0] * torch.sqrt(ratio_tensor[1:]))) * in_height /
in_width``, ``torch.stack((-w, -h, w, h)).T.repeat(in_height * in_width, 1) / 2``,
``torch.stack([shift_x, shift_y, shift_x, shift_y], dim=1).repeat_interleave(boxes_per_pixel,
dim=0)``); ``box_iou`` (a ``box_area`` lambda, ``torch.max(boxes1[:, None, :2], boxes2[:,
:2])``, ``.clamp(min=0)``); ``assign_anchor_to_bbox`` (``torch.full((num_anchors,), -1,
dtype=torch.long, device=device)``, ``torch.nonzero(max_ious >= iou_threshold).reshape(-1)``,
``indices[max_ious >= iou_threshold]``, the greedy loop over ``torch.argmax(jaccard)`` with
``(max_idx % num_gt_boxes).long()`` and ``(max_idx / num_gt_boxes).long()``, ``jaccard[:,
box_idx] = col_discard`` with an integer tensor); ``box_corner_to_center``
(``torch.stack((cx, cy, w, h), axis=-1)``: NumPy's ``axis``); ``offset_boxes`` (``10 * (...)
/ c_anc[:, 2:]``, ``5 * torch.log(eps + ...)``, ``torch.cat([offset_xy, offset_wh], axis=1)``);
``multibox_target`` (``((anchors_bbox_map >= 0).float().unsqueeze(-1)).repeat(1, 4)``,
``torch.zeros((num_anchors, 4), dtype=torch.float32, device=device)``, ``indices_true =
torch.nonzero(anchors_bbox_map >= 0)`` used as an ``(n, 1)`` index for reads and writes,
``label[bb_idx, 0].long() + 1``); TinySSD (``cls_predictor`` / ``bbox_predictor`` convs,
``flatten_pred``'s ``torch.flatten(pred.permute(0, 2, 3, 1), start_dim=1)``,
``down_sample_blk``, ``setattr(self, f'blk_{i}', get_blk(i))`` and ``getattr`` in the forward,
``nn.AdaptiveMaxPool2d((1,1))``, ``super(TinySSD, self).__init__(**kwargs)``); ``calc_loss``
(``nn.CrossEntropyLoss(reduction='none')`` reshaped to ``(batch_size, -1)``,
``nn.L1Loss(reduction='none')`` on masked offsets), ``cls_eval`` (``argmax(dim=-1).type(
cls_labels.dtype)``) and ``bbox_eval``; ``l.mean().backward()``. FCN: ``bilinear_kernel``
(``og = (torch.arange(kernel_size).reshape(-1, 1), torch.arange(kernel_size).reshape(1,
-1))``, ``weight[range(in_channels), range(out_channels), :, :] = filt``), upsampling checked
by ``nn.ConvTranspose2d(3, 3, kernel_size=4, padding=1, stride=2, bias=False)`` with
``conv_trans.weight.data.copy_(...)``, ``nn.Sequential(*list(pretrained_net.children())[:-2])``,
``net.add_module('final_conv', ...)`` / ``net.add_module('transpose_conv',
nn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16, stride=32))``, the
loss ``F.cross_entropy(inputs, targets, reduction='none').mean(1).mean(1)`` and ``predict``'s
``net(X).argmax(dim=1)``.

Changed: 256 x 256 banana images -> 64 x 64 NumPy images with one box each, widths 16..128 ->
4..8, VOC 21 classes -> 3 at 32 x 32 with a stride-8 backbone (transposed conv ``kernel_size=16,
padding=4, stride=8``: the same 2s / s/2 / s ratio), a few SGD steps each; float32, as d2l's
``torch.float32`` anchor targets make it; ``bbox_eval``'s ``float()`` of a tensor that
requires grad warns in PyTorch 2.x, silenced there.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
SIZES = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]]
RATIOS = [[1, 2, 0.5]] * 5
NUM_ANCHORS = len(SIZES[0]) + len(RATIOS[0]) - 1
FCN_CLASSES = 3


def _d2l(torch_like: Any) -> dict[str, Any]:
    torch = torch_like

    def multibox_prior(data, sizes, ratios):  # noqa: ANN001, ANN202
        """Generate anchor boxes with different shapes centered on each pixel."""
        in_height, in_width = data.shape[-2:]
        device, num_sizes, num_ratios = data.device, len(sizes), len(ratios)
        boxes_per_pixel = num_sizes + num_ratios - 1
        size_tensor = torch.tensor(sizes, device=device)
        ratio_tensor = torch.tensor(ratios, device=device)
        # Offsets are required to move the anchor to the center of a pixel. Since
        # a pixel has a height=1 and width=1, we choose to offset our centers by 0.5
        offset_h, offset_w = 0.5, 0.5
        steps_h = 1.0 / in_height  # Scaled steps in y axis
        steps_w = 1.0 / in_width  # Scaled steps in x axis

        # Generate all center points for the anchor boxes
        center_h = (torch.arange(in_height, device=device) + offset_h) * steps_h
        center_w = (torch.arange(in_width, device=device) + offset_w) * steps_w
        shift_y, shift_x = torch.meshgrid(center_h, center_w, indexing="ij")
        shift_y, shift_x = shift_y.reshape(-1), shift_x.reshape(-1)

        # Generate `boxes_per_pixel` number of heights and widths that are later
        # used to create anchor box corner coordinates (xmin, xmax, ymin, ymax)
        w = (
            torch.cat(
                (size_tensor * torch.sqrt(ratio_tensor[0]), sizes[0] * torch.sqrt(ratio_tensor[1:]))
            )
            * in_height
            / in_width
        )  # Handle rectangular inputs
        h = torch.cat(
            (size_tensor / torch.sqrt(ratio_tensor[0]), sizes[0] / torch.sqrt(ratio_tensor[1:]))
        )
        # Divide by 2 to get half height and half width
        anchor_manipulations = torch.stack((-w, -h, w, h)).T.repeat(in_height * in_width, 1) / 2

        # Each center point will have `boxes_per_pixel` number of anchor boxes, so
        # generate a grid of all anchor box centers with `boxes_per_pixel` repeats
        out_grid = torch.stack([shift_x, shift_y, shift_x, shift_y], dim=1).repeat_interleave(
            boxes_per_pixel, dim=0
        )
        output = out_grid + anchor_manipulations
        return output.unsqueeze(0)

    def box_iou(boxes1, boxes2):  # noqa: ANN001, ANN202
        """Compute pairwise IoU across two lists of anchor or bounding boxes."""
        box_area = lambda boxes: (  # noqa: E731 (as in the book)
            (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        )
        # Shape of `boxes1`, `boxes2`, `areas1`, `areas2`: (no. of boxes1, 4),
        # (no. of boxes2, 4), (no. of boxes1,), (no. of boxes2,)
        areas1 = box_area(boxes1)
        areas2 = box_area(boxes2)
        # Shape of `inter_upperlefts`, `inter_lowerrights`, `inters`: (no. of
        # boxes1, no. of boxes2, 2)
        inter_upperlefts = torch.max(boxes1[:, None, :2], boxes2[:, :2])
        inter_lowerrights = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
        inters = (inter_lowerrights - inter_upperlefts).clamp(min=0)
        # Shape of `inter_areas` and `union_areas`: (no. of boxes1, no. of boxes2)
        inter_areas = inters[:, :, 0] * inters[:, :, 1]
        union_areas = areas1[:, None] + areas2 - inter_areas
        return inter_areas / union_areas

    def assign_anchor_to_bbox(ground_truth, anchors, device, iou_threshold=0.5):  # noqa: ANN001, ANN202
        """Assign closest ground-truth bounding boxes to anchor boxes."""
        num_anchors, num_gt_boxes = anchors.shape[0], ground_truth.shape[0]
        # Element x_ij in the i-th row and j-th column is the IoU of the anchor
        # box i and the ground-truth bounding box j
        jaccard = box_iou(anchors, ground_truth)
        # Initialize the tensor to hold the assigned ground-truth bounding box for
        # each anchor
        anchors_bbox_map = torch.full((num_anchors,), -1, dtype=torch.long, device=device)
        # Assign ground-truth bounding boxes according to the threshold
        max_ious, indices = torch.max(jaccard, dim=1)
        anc_i = torch.nonzero(max_ious >= iou_threshold).reshape(-1)
        box_j = indices[max_ious >= iou_threshold]
        anchors_bbox_map[anc_i] = box_j
        col_discard = torch.full((num_anchors,), -1)
        row_discard = torch.full((num_gt_boxes,), -1)
        for _ in range(num_gt_boxes):
            max_idx = torch.argmax(jaccard)  # Find the largest IoU
            box_idx = (max_idx % num_gt_boxes).long()
            anc_idx = (max_idx / num_gt_boxes).long()
            anchors_bbox_map[anc_idx] = box_idx
            jaccard[:, box_idx] = col_discard
            jaccard[anc_idx, :] = row_discard
        return anchors_bbox_map

    def box_corner_to_center(boxes):  # noqa: ANN001, ANN202
        """Convert from (upper-left, lower-right) to (center, width, height)."""
        x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        cx = (x1 + x2) / 2
        cy = (y1 + y2) / 2
        w = x2 - x1
        h = y2 - y1
        boxes = torch.stack((cx, cy, w, h), axis=-1)
        return boxes

    def offset_boxes(anchors, assigned_bb, eps=1e-6):  # noqa: ANN001, ANN202
        """Transform for anchor box offsets."""
        c_anc = box_corner_to_center(anchors)
        c_assigned_bb = box_corner_to_center(assigned_bb)
        offset_xy = 10 * (c_assigned_bb[:, :2] - c_anc[:, :2]) / c_anc[:, 2:]
        offset_wh = 5 * torch.log(eps + c_assigned_bb[:, 2:] / c_anc[:, 2:])
        offset = torch.cat([offset_xy, offset_wh], axis=1)
        return offset

    def multibox_target(anchors, labels):  # noqa: ANN001, ANN202
        """Label anchor boxes using ground-truth bounding boxes."""
        batch_size, anchors = labels.shape[0], anchors.squeeze(0)
        batch_offset, batch_mask, batch_class_labels = [], [], []
        device, num_anchors = anchors.device, anchors.shape[0]
        for i in range(batch_size):
            label = labels[i, :, :]
            anchors_bbox_map = assign_anchor_to_bbox(label[:, 1:], anchors, device)
            bbox_mask = ((anchors_bbox_map >= 0).float().unsqueeze(-1)).repeat(1, 4)
            # Initialize class labels and assigned bounding box coordinates with
            # zeros
            class_labels = torch.zeros(num_anchors, dtype=torch.long, device=device)
            assigned_bb = torch.zeros((num_anchors, 4), dtype=torch.float32, device=device)
            # Label classes of anchor boxes using their assigned ground-truth
            # bounding boxes. If an anchor box is not assigned any, we label its
            # class as background (the value remains zero)
            indices_true = torch.nonzero(anchors_bbox_map >= 0)
            bb_idx = anchors_bbox_map[indices_true]
            class_labels[indices_true] = label[bb_idx, 0].long() + 1
            assigned_bb[indices_true] = label[bb_idx, 1:]
            # Offset transformation
            offset = offset_boxes(anchors, assigned_bb) * bbox_mask
            batch_offset.append(offset.reshape(-1))
            batch_mask.append(bbox_mask.reshape(-1))
            batch_class_labels.append(class_labels)
        bbox_offset = torch.stack(batch_offset)
        bbox_mask = torch.stack(batch_mask)
        class_labels = torch.stack(batch_class_labels)
        return (bbox_offset, bbox_mask, class_labels)

    def bilinear_kernel(in_channels, out_channels, kernel_size):  # noqa: ANN001, ANN202
        factor = (kernel_size + 1) // 2
        if kernel_size % 2 == 1:
            center = factor - 1
        else:
            center = factor - 0.5
        og = (torch.arange(kernel_size).reshape(-1, 1), torch.arange(kernel_size).reshape(1, -1))
        filt = (1 - torch.abs(og[0] - center) / factor) * (1 - torch.abs(og[1] - center) / factor)
        weight = torch.zeros((in_channels, out_channels, kernel_size, kernel_size))
        weight[range(in_channels), range(out_channels), :, :] = filt
        return weight

    return {
        "multibox_prior": multibox_prior,
        "multibox_target": multibox_target,
        "bilinear_kernel": bilinear_kernel,
    }


def _tiny_ssd(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    multibox_prior = _d2l(torch_like)["multibox_prior"]

    def cls_predictor(num_inputs, num_anchors, num_classes):  # noqa: ANN001, ANN202
        return nn.Conv2d(num_inputs, num_anchors * (num_classes + 1), kernel_size=3, padding=1)

    def bbox_predictor(num_inputs, num_anchors):  # noqa: ANN001, ANN202
        return nn.Conv2d(num_inputs, num_anchors * 4, kernel_size=3, padding=1)

    def flatten_pred(pred):  # noqa: ANN001, ANN202
        return torch.flatten(pred.permute(0, 2, 3, 1), start_dim=1)

    def concat_preds(preds):  # noqa: ANN001, ANN202
        return torch.cat([flatten_pred(p) for p in preds], dim=1)

    def down_sample_blk(in_channels, out_channels):  # noqa: ANN001, ANN202
        blk = []
        for _ in range(2):
            blk.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            blk.append(nn.BatchNorm2d(out_channels))
            blk.append(nn.ReLU())
            in_channels = out_channels
        blk.append(nn.MaxPool2d(2))
        return nn.Sequential(*blk)

    def base_net():  # noqa: ANN202
        blk = []
        num_filters = [3, 4, 8, 8]
        for i in range(len(num_filters) - 1):
            blk.append(down_sample_blk(num_filters[i], num_filters[i + 1]))
        return nn.Sequential(*blk)

    def get_blk(i):  # noqa: ANN001, ANN202
        if i == 0:
            blk = base_net()
        elif i == 1:
            blk = down_sample_blk(8, 8)
        elif i == 4:
            blk = nn.AdaptiveMaxPool2d((1, 1))
        else:
            blk = down_sample_blk(8, 8)
        return blk

    def blk_forward(X, blk, size, ratio, cls_predictor, bbox_predictor):  # noqa: ANN001, ANN202, N803
        Y = blk(X)
        anchors = multibox_prior(Y, sizes=size, ratios=ratio)
        cls_preds = cls_predictor(Y)
        bbox_preds = bbox_predictor(Y)
        return (Y, anchors, cls_preds, bbox_preds)

    class TinySSD(nn.Module):
        def __init__(self, num_classes, **kwargs):  # noqa: ANN001, ANN003
            super(TinySSD, self).__init__(**kwargs)  # noqa: UP008 (as in the book)
            self.num_classes = num_classes
            idx_to_in_channels = [8, 8, 8, 8, 8]
            for i in range(5):
                # Equivalent to the assignment statement `self.blk_i = get_blk(i)`
                setattr(self, f"blk_{i}", get_blk(i))
                setattr(self, f"cls_{i}",
                        cls_predictor(idx_to_in_channels[i], NUM_ANCHORS, num_classes))  # fmt: skip
                setattr(self, f"bbox_{i}", bbox_predictor(idx_to_in_channels[i], NUM_ANCHORS))

        def forward(self, X: Any) -> tuple[Any, Any, Any]:  # noqa: N803
            anchors, cls_preds, bbox_preds = [None] * 5, [None] * 5, [None] * 5
            for i in range(5):
                # Here `getattr(self, 'blk_%d' % i)` accesses `self.blk_i`
                X, anchors[i], cls_preds[i], bbox_preds[i] = blk_forward(
                    X,
                    getattr(self, f"blk_{i}"),
                    SIZES[i],
                    RATIOS[i],
                    getattr(self, f"cls_{i}"),
                    getattr(self, f"bbox_{i}"),
                )
            anchors = torch.cat(anchors, dim=1)
            cls_preds = concat_preds(cls_preds)
            cls_preds = cls_preds.reshape(cls_preds.shape[0], -1, self.num_classes + 1)
            bbox_preds = concat_preds(bbox_preds)
            return anchors, cls_preds, bbox_preds

    return TinySSD


def _fcn(torch_like: Any) -> Any:
    nn = torch_like.nn
    pretrained_net = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Linear(8, 10),
    )  # fmt: skip
    net = nn.Sequential(*list(pretrained_net.children())[:-2])
    net.add_module("final_conv", nn.Conv2d(8, FCN_CLASSES, kernel_size=1))
    net.add_module(
        "transpose_conv",
        nn.ConvTranspose2d(FCN_CLASSES, FCN_CLASSES, kernel_size=16, padding=4, stride=8),
    )
    return net


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Chapter14(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ssd = _tiny_ssd(torch_like)(num_classes=1)
            self.fcn = _fcn(torch_like)

    return Chapter14()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    d2l = _d2l(torch_like)
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(14)
    values: list[float] = []

    # 14.4: anchors on a 4 x 5 feature map, and the targets of two labelled boxes
    anchors = d2l["multibox_prior"](torch.zeros((1, 3, 4, 5)), sizes=[0.75, 0.5, 0.25],
                                    ratios=[1, 2, 0.5])  # fmt: skip
    ground_truth = torch.tensor([[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]])
    labels = d2l["multibox_target"](anchors, ground_truth.unsqueeze(dim=0))
    values += [float(anchors.shape[1]), anchors.sum().item(), labels[0].abs().sum().item(),
               labels[1].sum().item(), labels[2].sum().item()]  # fmt: skip

    # 14.7: TinySSD
    net = models.ssd
    cls_loss = nn.CrossEntropyLoss(reduction="none")
    bbox_loss = nn.L1Loss(reduction="none")

    def calc_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks):  # noqa: ANN001, ANN202
        batch_size, num_classes = cls_preds.shape[0], cls_preds.shape[2]
        cls = (
            cls_loss(cls_preds.reshape(-1, num_classes), cls_labels.reshape(-1))
            .reshape(batch_size, -1)
            .mean(dim=1)
        )
        bbox = bbox_loss(bbox_preds * bbox_masks, bbox_labels * bbox_masks).mean(dim=1)
        return cls + bbox

    def cls_eval(cls_preds, cls_labels):  # noqa: ANN001, ANN202
        # Because the class prediction results are on the final dimension,
        # `argmax` needs to specify this dimension
        return float((cls_preds.argmax(dim=-1).type(cls_labels.dtype) == cls_labels).sum())

    def bbox_eval(bbox_preds, bbox_labels, bbox_masks):  # noqa: ANN001, ANN202
        return float((torch.abs((bbox_labels - bbox_preds) * bbox_masks)).sum())

    trainer = torch.optim.SGD(net.parameters(), lr=0.2, weight_decay=5e-4)
    net.train()
    for _step in range(2):
        X = as_tensor(torch, rng.normal(size=(2, 3, 64, 64)).astype(np.float32))
        corners = np.sort(rng.uniform(0.05, 0.95, (2, 1, 2, 2)), axis=2)  # x0 < x1, y0 < y1
        boxes = corners.transpose(0, 1, 3, 2).reshape(2, 1, 4)[..., [0, 2, 1, 3]]
        Y = as_tensor(torch, np.concatenate([np.zeros((2, 1, 1)), boxes], -1).astype(np.float32))
        trainer.zero_grad()
        # Generate multiscale anchor boxes and predict their classes and offsets
        anchors, cls_preds, bbox_preds = net(X)
        # Label the classes and offsets of these anchor boxes
        bbox_labels, bbox_masks, cls_labels = d2l["multibox_target"](anchors, Y)
        # Calculate the loss function using the predicted and labeled values of
        # the classes and offsets
        l = calc_loss(cls_preds, cls_labels, bbox_preds, bbox_labels, bbox_masks)  # noqa: E741
        l.mean().backward()
        trainer.step()
        with warnings.catch_warnings():  # float() of a tensor that requires grad warns
            warnings.filterwarnings("ignore", "Converting a tensor with requires_grad",
                                    UserWarning)  # fmt: skip
            values += [l.mean().item(), cls_eval(cls_preds, cls_labels),
                       bbox_eval(bbox_preds, bbox_labels, bbox_masks)]  # fmt: skip

    # 14.10 / 14.11: transposed convolution and the FCN
    conv_trans = nn.ConvTranspose2d(3, 3, kernel_size=4, padding=1, stride=2, bias=False)
    conv_trans.weight.data.copy_(d2l["bilinear_kernel"](3, 3, 4))
    img = as_tensor(torch, rng.uniform(0, 1, (1, 3, 5, 6)).astype(np.float32))
    up = conv_trans(img)
    values += [float(up.shape[2] * up.shape[3]), up.sum().item()]
    fcn = models.fcn
    W = d2l["bilinear_kernel"](FCN_CLASSES, FCN_CLASSES, 16)
    fcn.transpose_conv.weight.data.copy_(W)

    def loss(inputs, targets):  # noqa: ANN001, ANN202
        return F.cross_entropy(inputs, targets, reduction="none").mean(1).mean(1)

    trainer = torch.optim.SGD(fcn.parameters(), lr=0.05, weight_decay=1e-3)
    fcn.train()
    for _step in range(2):
        X = as_tensor(torch, rng.normal(size=(2, 3, 32, 32)).astype(np.float32))
        y = torch.from_numpy((X.numpy()[:, 0] > 0).astype(np.int64) + (X.numpy()[:, 1] > 1))
        trainer.zero_grad()
        out = fcn(X)
        l = loss(out, y)  # noqa: E741
        l.sum().backward()
        trainer.step()
        values.append(l.sum().item())
    fcn.eval()
    with torch.no_grad():
        pred = fcn(X).argmax(dim=1)
    values += [float(pred.sum()), float((pred == y).float().mean())]
    return values
