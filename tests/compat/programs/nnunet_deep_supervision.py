"""MIC-DKFZ/nnUNet v1 (``network_architecture/generic_UNet.py``, ``initialization.py``,
``training/loss_functions/dice_loss.py``, ``deep_supervision.py``, ``crossentropy.py``,
``training/network_training/nnUNetTrainerV2.py``, ``training/learning_rate/poly_lr.py``,
``utilities/tensor_utilities.py``, ``utilities/to_torch.py``), size-reduced: a 2-D
``Generic_UNet`` with deep supervision trained with the Dice + CE loss.

The idioms kept: ``ConvDropoutNormNonlin`` (``nn.Conv2d`` / ``nn.InstanceNorm2d(eps=1e-5,
affine=True, momentum=0.1)`` / ``nn.LeakyReLU(negative_slope=1e-2, inplace=True)`` from
``*_op_kwargs`` dicts) in ``StackedConvLayers`` (``nn.Sequential(*([basic_block(...)] +
[basic_block(...) for _ in range(num_convs - 1)]))``), convolutional pooling (the first conv of
a stage strided), ``nn.ConvTranspose2d(..., bias=False)`` up-sampling, ``torch.cat((x,
skips[-(u + 1)]), dim=1)``, the deep-supervision return ``tuple([seg_outputs[-1]] + [i(j) for i,
j in zip(list(self.upscale_logits_ops)[::-1], seg_outputs[:-1][::-1])])`` with ``lambda x: x``
up-scale ops and ``final_nonlin``; ``self.apply(InitWeights_He(1e-2))`` (``module.weight =
nn.init.kaiming_normal_(module.weight, a=self.neg_slope)``); the loss weights (``np.array([1 /
(2 ** i) for i in range(net_numpool)])``, the mask, ``weights[~mask] = 0``) multiplied as NumPy
scalars in ``MultipleOutputLoss2`` (``l = weights[0] * self.loss(x[0], y[0])``, ``l +=
weights[i] * ...``); ``DC_and_CE_loss`` (``RobustCrossEntropyLoss(nn.CrossEntropyLoss)`` with
``target[:, 0]`` and ``super().forward(input, target.long())``, ``SoftDiceLoss(apply_nonlin=
softmax_helper, batch_dice=True, do_bg=False, smooth=1e-5)``, ``get_tp_fp_fn_tn`` building
``y_onehot = torch.zeros(shp_x)`` under ``torch.no_grad()`` with ``y_onehot.scatter_(1, gt, 1)``,
``sum_tensor`` over ``np.unique(axes).astype(int)`` with ``inp.sum(int(ax))``); ``maybe_to_torch``
(``torch.from_numpy(d).float()`` for arrays and lists of them); ``run_iteration`` (``l.backward()``,
``clip_grad_norm_(self.network.parameters(), 12)``, ``l.detach().cpu().numpy()``);
``run_online_evaluation`` (``tp_hard = torch.zeros((target.shape[0], num_classes - 1)).to(
output_seg.device.index)``, ``sum_tensor((output_seg == c).float() * (target == c).float(),
axes=axes)``, the global Dice); ``poly_lr`` written into ``param_groups[0]['lr']``; SGD with
``momentum=0.99, nesterov=True``.

Changed: 3-D patches -> 2-D 16x16 random images with 3 classes, 4 stages of 4/8/8/8 features,
batch 2, 3 iterations; the targets' deep-supervision scales are taken by NumPy striding instead of
``downsample_seg_for_ds_transform2``'s order-0 resize.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # maybe_to_torch's ``.float()``
NUM_CLASSES, BASE, NUM_POOL = 3, 4, 3


def _losses(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def softmax_helper(x):  # noqa: ANN001, ANN202
        return F.softmax(x, 1)

    def sum_tensor(inp, axes, keepdim=False):  # noqa: ANN001, ANN202
        axes = np.unique(axes).astype(int)
        if keepdim:
            for ax in axes:
                inp = inp.sum(int(ax), keepdim=True)
        else:
            for ax in sorted(axes, reverse=True):
                inp = inp.sum(int(ax))
        return inp

    def get_tp_fp_fn_tn(net_output, gt, axes=None, mask=None, square=False):  # noqa: ANN001, ANN202
        if axes is None:
            axes = tuple(range(2, len(net_output.size())))

        shp_x = net_output.shape
        shp_y = gt.shape

        with torch.no_grad():
            if len(shp_x) != len(shp_y):
                gt = gt.view((shp_y[0], 1, *shp_y[1:]))

            if all([i == j for i, j in zip(net_output.shape, gt.shape)]):
                # if this is the case then gt is probably already a one hot encoding
                y_onehot = gt
            else:
                gt = gt.long()
                y_onehot = torch.zeros(shp_x)
                if net_output.device.type == "cuda":
                    y_onehot = y_onehot.cuda(net_output.device.index)
                y_onehot.scatter_(1, gt, 1)

        tp = net_output * y_onehot
        fp = net_output * (1 - y_onehot)
        fn = (1 - net_output) * y_onehot
        tn = (1 - net_output) * (1 - y_onehot)

        if square:
            tp = tp**2
            fp = fp**2
            fn = fn**2
            tn = tn**2

        if len(axes) > 0:
            tp = sum_tensor(tp, axes, keepdim=False)
            fp = sum_tensor(fp, axes, keepdim=False)
            fn = sum_tensor(fn, axes, keepdim=False)
            tn = sum_tensor(tn, axes, keepdim=False)

        return tp, fp, fn, tn

    class SoftDiceLoss(nn.Module):
        def __init__(self, apply_nonlin=None, batch_dice=False, do_bg=True, smooth=1.0):  # noqa: ANN001
            super(SoftDiceLoss, self).__init__()  # noqa: UP008 (as in the repository)
            self.do_bg = do_bg
            self.batch_dice = batch_dice
            self.apply_nonlin = apply_nonlin
            self.smooth = smooth

        def forward(self, x, y, loss_mask=None):  # noqa: ANN001, ANN201
            shp_x = x.shape

            if self.batch_dice:
                axes = [0] + list(range(2, len(shp_x)))
            else:
                axes = list(range(2, len(shp_x)))

            if self.apply_nonlin is not None:
                x = self.apply_nonlin(x)

            tp, fp, fn, _ = get_tp_fp_fn_tn(x, y, axes, loss_mask, False)

            nominator = 2 * tp + self.smooth
            denominator = 2 * tp + fp + fn + self.smooth

            dc = nominator / (denominator + 1e-8)

            if not self.do_bg:
                if self.batch_dice:
                    dc = dc[1:]
                else:
                    dc = dc[:, 1:]
            dc = dc.mean()

            return -dc

    class RobustCrossEntropyLoss(nn.CrossEntropyLoss):
        """
        this is just a compatibility layer because my target tensor is float and has an extra
        dimension
        """

        def forward(self, input, target):  # noqa: ANN001, ANN201
            if len(target.shape) == len(input.shape):
                assert target.shape[1] == 1
                target = target[:, 0]
            return super().forward(input, target.long())

    class DC_and_CE_loss(nn.Module):  # noqa: N801
        def __init__(self, soft_dice_kwargs, ce_kwargs, aggregate="sum", square_dice=False,
                     weight_ce=1, weight_dice=1, log_dice=False, ignore_label=None):  # noqa: ANN001 # fmt: skip
            super(DC_and_CE_loss, self).__init__()  # noqa: UP008
            self.log_dice = log_dice
            self.weight_dice = weight_dice
            self.weight_ce = weight_ce
            self.aggregate = aggregate
            self.ce = RobustCrossEntropyLoss(**ce_kwargs)

            self.ignore_label = ignore_label

            if not square_dice:
                self.dc = SoftDiceLoss(apply_nonlin=softmax_helper, **soft_dice_kwargs)

        def forward(self, net_output, target):  # noqa: ANN001, ANN201
            mask = None
            dc_loss = self.dc(net_output, target, loss_mask=mask) if self.weight_dice != 0 else 0
            if self.log_dice:
                dc_loss = -torch.log(-dc_loss)

            ce_loss = self.ce(net_output, target[:, 0].long()) if self.weight_ce != 0 else 0

            if self.aggregate == "sum":
                result = self.weight_ce * ce_loss + self.weight_dice * dc_loss
            else:
                raise NotImplementedError("nah son")  # reserved for other stuff (later)
            return result

    class MultipleOutputLoss2(nn.Module):
        def __init__(self, loss, weight_factors=None):  # noqa: ANN001
            """
            use this if you have several outputs and ground truth (both list of same len) and
            the loss should be computed between them (x[0] and y[0], x[1] and y[1] etc)
            """
            super(MultipleOutputLoss2, self).__init__()  # noqa: UP008
            self.weight_factors = weight_factors
            self.loss = loss

        def forward(self, x, y):  # noqa: ANN001, ANN201
            assert isinstance(x, (tuple, list)), "x must be either tuple or list"
            assert isinstance(y, (tuple, list)), "y must be either tuple or list"
            if self.weight_factors is None:
                weights = [1] * len(x)
            else:
                weights = self.weight_factors

            l = weights[0] * self.loss(x[0], y[0])  # noqa: E741
            for i in range(1, len(x)):
                if weights[i] != 0:
                    l += weights[i] * self.loss(x[i], y[i])  # noqa: E741
            return l

    return {"DC_and_CE_loss": DC_and_CE_loss, "MultipleOutputLoss2": MultipleOutputLoss2,
            "softmax_helper": softmax_helper, "sum_tensor": sum_tensor}  # fmt: skip


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class InitWeights_He(object):  # noqa: N801, UP004
        def __init__(self, neg_slope=1e-2):  # noqa: ANN001
            self.neg_slope = neg_slope

        def __call__(self, module):  # noqa: ANN001, ANN204
            if (
                isinstance(module, nn.Conv3d)
                or isinstance(module, nn.Conv2d)
                or isinstance(module, nn.ConvTranspose2d)
                or isinstance(module, nn.ConvTranspose3d)
            ):
                module.weight = nn.init.kaiming_normal_(module.weight, a=self.neg_slope)
                if module.bias is not None:
                    module.bias = nn.init.constant_(module.bias, 0)

    class ConvDropoutNormNonlin(nn.Module):
        def __init__(self, input_channels, output_channels, conv_op=nn.Conv2d, conv_kwargs=None,
                     norm_op=nn.BatchNorm2d, norm_op_kwargs=None, nonlin=nn.LeakyReLU,
                     nonlin_kwargs=None):  # noqa: ANN001 # fmt: skip
            super(ConvDropoutNormNonlin, self).__init__()  # noqa: UP008
            self.nonlin_kwargs = nonlin_kwargs
            self.conv_kwargs = conv_kwargs
            self.norm_op_kwargs = norm_op_kwargs
            self.conv = conv_op(input_channels, output_channels, **self.conv_kwargs)
            self.dropout = None
            self.instnorm = norm_op(output_channels, **self.norm_op_kwargs)
            self.lrelu = nonlin(**self.nonlin_kwargs)

        def forward(self, x: Any) -> Any:
            x = self.conv(x)
            if self.dropout is not None:
                x = self.dropout(x)
            return self.lrelu(self.instnorm(x))

    class StackedConvLayers(nn.Module):
        def __init__(self, input_feature_channels, output_feature_channels, num_convs,
                     conv_kwargs, norm_op_kwargs, nonlin_kwargs, first_stride=None):  # noqa: ANN001 # fmt: skip
            self.input_channels = input_feature_channels
            self.output_channels = output_feature_channels
            self.conv_kwargs = conv_kwargs
            if first_stride is not None:
                self.conv_kwargs_first_conv = dict(conv_kwargs)
                self.conv_kwargs_first_conv["stride"] = first_stride
            else:
                self.conv_kwargs_first_conv = conv_kwargs

            super(StackedConvLayers, self).__init__()  # noqa: UP008
            self.blocks = nn.Sequential(
                *(
                    [ConvDropoutNormNonlin(input_feature_channels, output_feature_channels,
                                           nn.Conv2d, self.conv_kwargs_first_conv,
                                           nn.InstanceNorm2d, norm_op_kwargs, nn.LeakyReLU,
                                           nonlin_kwargs)]
                    + [ConvDropoutNormNonlin(output_feature_channels, output_feature_channels,
                                             nn.Conv2d, self.conv_kwargs, nn.InstanceNorm2d,
                                             norm_op_kwargs, nn.LeakyReLU, nonlin_kwargs)
                       for _ in range(num_convs - 1)]
                )
            )  # fmt: skip

        def forward(self, x: Any) -> Any:
            return self.blocks(x)

    class Generic_UNet(nn.Module):  # noqa: N801
        def __init__(self, input_channels, base_num_features, num_classes, num_pool,
                     final_nonlin, weightInitializer, deep_supervision=True):  # noqa: ANN001 # fmt: skip
            super(Generic_UNet, self).__init__()  # noqa: UP008
            self.convolutional_pooling = True
            self.nonlin_kwargs = {"negative_slope": 1e-2, "inplace": True}
            self.norm_op_kwargs = {"eps": 1e-5, "affine": True, "momentum": 0.1}
            self.conv_kwargs = {"stride": 1, "dilation": 1, "bias": True, "kernel_size": 3,
                                "padding": 1}  # fmt: skip
            self.final_nonlin = final_nonlin
            self._deep_supervision = deep_supervision
            self.do_ds = deep_supervision
            self.weightInitializer = weightInitializer

            self.conv_blocks_localization = []
            self.conv_blocks_context = []
            self.tu = []
            self.seg_outputs = []

            output_features = base_num_features
            input_features = input_channels
            for d in range(num_pool):
                first_stride = 2 if d != 0 and self.convolutional_pooling else None
                self.conv_blocks_context.append(
                    StackedConvLayers(input_features, output_features, 2, self.conv_kwargs,
                                      self.norm_op_kwargs, self.nonlin_kwargs, first_stride)
                )  # fmt: skip
                input_features = output_features
                output_features = min(int(np.round(output_features * 2)), 2 * base_num_features)
            final_num_features = output_features
            self.conv_blocks_context.append(
                nn.Sequential(
                    StackedConvLayers(input_features, output_features, 1, self.conv_kwargs,
                                      self.norm_op_kwargs, self.nonlin_kwargs, 2),
                    StackedConvLayers(output_features, final_num_features, 1, self.conv_kwargs,
                                      self.norm_op_kwargs, self.nonlin_kwargs),
                )
            )  # fmt: skip

            for u in range(num_pool):
                nfeatures_from_down = final_num_features
                nfeatures_from_skip = self.conv_blocks_context[-(2 + u)].output_channels
                n_features_after_tu_and_concat = nfeatures_from_skip * 2
                final_num_features = nfeatures_from_skip
                self.tu.append(nn.ConvTranspose2d(nfeatures_from_down, nfeatures_from_skip, 2, 2,
                                                  bias=False))  # fmt: skip
                self.conv_blocks_localization.append(
                    nn.Sequential(
                        StackedConvLayers(n_features_after_tu_and_concat, nfeatures_from_skip, 1,
                                          self.conv_kwargs, self.norm_op_kwargs,
                                          self.nonlin_kwargs),
                        StackedConvLayers(nfeatures_from_skip, final_num_features, 1,
                                          self.conv_kwargs, self.norm_op_kwargs,
                                          self.nonlin_kwargs),
                    )
                )  # fmt: skip

            for ds in range(len(self.conv_blocks_localization)):
                self.seg_outputs.append(
                    nn.Conv2d(self.conv_blocks_localization[ds][-1].output_channels, num_classes,
                              1, 1, 0, 1, 1, False)
                )  # fmt: skip

            self.upscale_logits_ops = []
            for _usl in range(num_pool - 1):
                self.upscale_logits_ops.append(lambda x: x)

            # register all modules properly
            self.conv_blocks_localization = nn.ModuleList(self.conv_blocks_localization)
            self.conv_blocks_context = nn.ModuleList(self.conv_blocks_context)
            self.tu = nn.ModuleList(self.tu)
            self.seg_outputs = nn.ModuleList(self.seg_outputs)

            if self.weightInitializer is not None:
                self.apply(self.weightInitializer)

        def forward(self, x: Any) -> Any:
            skips = []
            seg_outputs = []
            for d in range(len(self.conv_blocks_context) - 1):
                x = self.conv_blocks_context[d](x)
                skips.append(x)

            x = self.conv_blocks_context[-1](x)

            for u in range(len(self.tu)):
                x = self.tu[u](x)
                x = torch_like.cat((x, skips[-(u + 1)]), dim=1)
                x = self.conv_blocks_localization[u](x)
                seg_outputs.append(self.final_nonlin(self.seg_outputs[u](x)))

            if self._deep_supervision and self.do_ds:
                return tuple(
                    [seg_outputs[-1]]
                    + [i(j) for i, j in zip(list(self.upscale_logits_ops)[::-1],
                                            seg_outputs[:-1][::-1])]
                )  # fmt: skip
            else:
                return seg_outputs[-1]

    return Generic_UNet(1, BASE, NUM_CLASSES, NUM_POOL, lambda x: x, InitWeights_He(1e-2))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    losses = _losses(torch_like)
    softmax_helper, sum_tensor = losses["softmax_helper"], losses["sum_tensor"]

    def maybe_to_torch(d):  # noqa: ANN001, ANN202
        if isinstance(d, list):
            d = [maybe_to_torch(i) if not isinstance(i, torch.Tensor) else i for i in d]
        elif not isinstance(d, torch.Tensor):
            d = torch.from_numpy(d).float()
        return d

    def poly_lr(epoch, max_epochs, initial_lr, exponent=0.9):  # noqa: ANN001, ANN202
        return initial_lr * (1 - epoch / max_epochs) ** exponent

    network = make_model(torch_like)
    load_numpy_state(torch_like, network, init)

    net_numpool = NUM_POOL
    weights = np.array([1 / (2**i) for i in range(net_numpool)])
    mask = np.array([True] + [True if i < net_numpool - 1 else False
                              for i in range(1, net_numpool)])  # fmt: skip
    weights[~mask] = 0
    weights = weights / weights.sum()
    ds_loss_weights = weights
    loss = losses["DC_and_CE_loss"]({"batch_dice": True, "smooth": 1e-5, "do_bg": False}, {})
    loss = losses["MultipleOutputLoss2"](loss, ds_loss_weights)

    initial_lr, max_num_epochs = 1e-2, 3
    optimizer = torch.optim.SGD(network.parameters(), initial_lr, weight_decay=3e-5,
                                momentum=0.99, nesterov=True)  # fmt: skip
    online_eval_foreground_dc: list = []

    def run_online_evaluation(output, target):  # noqa: ANN001, ANN202
        target = target[0]
        output = output[0]
        with torch.no_grad():
            num_classes = output.shape[1]
            output_softmax = softmax_helper(output)
            output_seg = output_softmax.argmax(1)
            target = target[:, 0]
            axes = tuple(range(1, len(target.shape)))
            tp_hard = torch.zeros((target.shape[0], num_classes - 1)).to(output_seg.device.index)
            fp_hard = torch.zeros((target.shape[0], num_classes - 1)).to(output_seg.device.index)
            fn_hard = torch.zeros((target.shape[0], num_classes - 1)).to(output_seg.device.index)
            for c in range(1, num_classes):
                tp_hard[:, c - 1] = sum_tensor((output_seg == c).float() * (target == c).float(),
                                               axes=axes)  # fmt: skip
                fp_hard[:, c - 1] = sum_tensor((output_seg == c).float() * (target != c).float(),
                                               axes=axes)  # fmt: skip
                fn_hard[:, c - 1] = sum_tensor((output_seg != c).float() * (target == c).float(),
                                               axes=axes)  # fmt: skip

            tp_hard = tp_hard.sum(0, keepdim=False).detach().cpu().numpy()
            fp_hard = fp_hard.sum(0, keepdim=False).detach().cpu().numpy()
            fn_hard = fn_hard.sum(0, keepdim=False).detach().cpu().numpy()
            online_eval_foreground_dc.append(
                list((2 * tp_hard) / (2 * tp_hard + fp_hard + fn_hard + 1e-8))
            )

    rng = np.random.default_rng(21)
    values: list[float] = []
    network.train()
    for epoch in range(max_num_epochs):
        optimizer.param_groups[0]["lr"] = poly_lr(epoch, max_num_epochs, initial_lr, 0.9)
        data = rng.normal(size=(2, 1, 16, 16)).astype(np.float32)
        seg = (np.clip(data[:, :, :, :] * 1.2 + 1.0, 0, 2.99)).astype(np.int64).astype(np.float32)
        target = [seg, seg[:, :, ::2, ::2], seg[:, :, ::4, ::4]]
        data = maybe_to_torch(data)
        target = maybe_to_torch(target)

        optimizer.zero_grad()
        output = network(data)
        del data
        l = loss(output, target)  # noqa: E741
        l.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 12)
        optimizer.step()
        run_online_evaluation(output, target)
        values.append(float(l.detach().cpu().numpy()))
        values += [len(output), output[1].detach().sum().item()]
    values += [float(v) for v in online_eval_foreground_dc[-1]]
    return values
