"""facebookresearch/SlowFast (``slowfast/models/video_model_builder.py``, ``stem_helper.py``,
``resnet_helper.py``, ``head_helper.py``, ``operators.py``, ``optimizer.py``, ``lr_policy.py``,
``utils/metrics.py``, ``datasets/utils.py``), size-reduced: a two-pathway SlowFast network and
an X3D block trained a few steps on tiny clips.

The idioms: ``pack_pathway_output`` (``torch.index_select(frames, 1, torch.linspace(0,
frames.shape[1] - 1, frames.shape[1] // cfg.SLOWFAST.ALPHA).long())``) after
``tensor_normalize`` (``tensor.dtype == torch.uint8``, ``tensor.float()``, ``type(mean) ==
list`` -> ``torch.tensor(mean)``) and ``frames.permute(3, 0, 1, 2)``; ``VideoModelStem`` with
``self.add_module("pathway{}_stem".format(pathway), stem)`` and ``getattr`` in the forward over a
list of pathways; ``ResNetBasicStem`` (``nn.Conv3d(..., bias=False)``, ``nn.BatchNorm3d(
num_features=dim_out, eps=self.eps, momentum=self.bn_mmt)``, ``nn.MaxPool3d(kernel_size=[1, 3,
3], stride=[1, 2, 2], padding=[0, 1, 1])``); ``FuseFastToSlow`` (``nn.Conv3d(dim_in, dim_in *
fusion_conv_channel_ratio, kernel_size=[fusion_kernel, 1, 1], stride=[alpha, 1, 1],
padding=[fusion_kernel // 2, 0, 0], bias=False)``, ``torch.cat([x_s, fuse], 1)``, ``return
[x_s_fuse, x_f]``); ``BottleneckTransform`` (temporal ``[temp_kernel_size, 1, 1]`` then spatial
``[1, 3, 3]`` convs, ``self.c_bn.transform_final_bn = True``) inside ``ResBlock`` with a
``branch1`` projection and ``nn.ReLU(inplace=True)``; the per-pathway ``nn.MaxPool3d`` between
stages; ``ResNetBasicHead`` (``pathway{}_avgpool`` ``nn.AvgPool3d(pool_size[pathway], stride=1)``,
``torch.cat(pool_out, 1)``, ``x.permute((0, 2, 3, 4, 1))``, ``nn.Linear`` projection, in eval
``nn.Softmax(dim=4)`` then ``x.mean([1, 2, 3])``, ``x.view(x.shape[0], -1)``); X3D's
``X3DTransform`` (channel-wise ``groups=dim_inner`` conv, ``SE`` with ``_round_width``'
``int(width + divisor / 2) // divisor * divisor`` and its ``for module in self.children()`` forward,
``Swish`` as ``SwishEfficient(torch.autograd.Function)`` reading ``ctx.saved_variables[0]``,
deprecated, and ``grad_output * (sigmoid_x * (1 + x * (1 - sigmoid_x)))``) and ``X3DHead``
(``conv_5`` / ``lin_5`` 1x1x1 convs, ``nn.AdaptiveAvgPool3d((1, 1, 1))``); ``init_weights``
(``c2_msra_fill`` as ``nn.init.kaiming_normal_(m.weight, mode="fan_out",
nonlinearity="relu")``, ``m.weight.data.fill_(batchnorm_weight)`` with ``transform_final_bn``
zero-init, ``m.weight.data.normal_(mean=0.0, std=fc_init_std)``); ``construct_optimizer``'s
``isinstance(m, torch.nn.modules.batchnorm._NormBase)`` split of ``m.parameters(recurse=False)``
into a no-weight-decay group; ``lr_policy``'s cosine with linear warm-up written into
``param_group["lr"]`` by ``optim.set_lr`` at ``cur_epoch + float(cur_iter) / data_size``;
``metrics.topks_correct`` (``torch.topk(preds, max(ks), dim=1, largest=True, sorted=True)``,
``labels.view(1, -1).expand_as(top_max_k_inds)``, ``top_max_k_correct[:k, :].float().sum()``)
and ``topk_errors``.

Changed: ResNet-50 stages -> one stem, one fuse and one residual stage per pathway; widths 64 ->
8 (slow) and 8 / beta_inv 8 -> 2 (fast), ``fusion_kernel`` 7 -> 5, 32 x 224^2 clips -> 8 x 16^2
uint8 NumPy clips, ``ALPHA`` 8 -> 4; X3D is one block of width 4 (inner 8); 4 classes; dropout
0.5 -> 0 (its draws would differ); the clip sampling is fixed.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

ALPHA, NUM_CLASSES = 4, 4


def _slowfast(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ResNetBasicStem(nn.Module):
        def __init__(self, dim_in, dim_out, kernel, stride, padding, inplace_relu=True,
                     eps=1e-5, bn_mmt=0.1, norm_module=nn.BatchNorm3d):  # noqa: ANN001 # fmt: skip
            super(ResNetBasicStem, self).__init__()  # noqa: UP008 (as in the repository)
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
            self.inplace_relu = inplace_relu
            self.eps = eps
            self.bn_mmt = bn_mmt
            self.conv = nn.Conv3d(dim_in, dim_out, self.kernel, stride=self.stride,
                                  padding=self.padding, bias=False)  # fmt: skip
            self.bn = norm_module(num_features=dim_out, eps=self.eps, momentum=self.bn_mmt)
            self.relu = nn.ReLU(self.inplace_relu)
            self.pool_layer = nn.MaxPool3d(kernel_size=[1, 3, 3], stride=[1, 2, 2],
                                           padding=[0, 1, 1])  # fmt: skip

        def forward(self, x: Any) -> Any:
            x = self.conv(x)
            x = self.bn(x)
            x = self.relu(x)
            x = self.pool_layer(x)
            return x

    class VideoModelStem(nn.Module):
        def __init__(self, dim_in, dim_out, kernel, stride, padding):  # noqa: ANN001
            super(VideoModelStem, self).__init__()  # noqa: UP008
            assert len({len(dim_in), len(dim_out), len(kernel), len(stride), len(padding)}) == 1, (
                "Input pathway dimensions are not consistent. {} {} {} {} {}".format(  # noqa: UP032
                    len(dim_in), len(dim_out), len(kernel), len(stride), len(padding)
                )
            )
            self.num_pathways = len(dim_in)
            for pathway in range(len(dim_in)):
                stem = ResNetBasicStem(dim_in[pathway], dim_out[pathway], kernel[pathway],
                                       stride[pathway], padding[pathway])  # fmt: skip
                self.add_module("pathway{}_stem".format(pathway), stem)  # noqa: UP032

        def forward(self, x: list[Any]) -> list[Any]:
            assert len(x) == self.num_pathways, "Input tensor does not contain {} pathway".format(  # noqa: UP032
                self.num_pathways
            )
            # use a new list, don't modify in-place the x list, which is bad for activation
            # checkpointing.
            y = []
            for pathway in range(len(x)):
                m = getattr(self, "pathway{}_stem".format(pathway))  # noqa: UP032
                y.append(m(x[pathway]))
            return y

    class FuseFastToSlow(nn.Module):
        def __init__(self, dim_in, fusion_conv_channel_ratio, fusion_kernel, alpha, eps=1e-5,
                     bn_mmt=0.1, inplace_relu=True, norm_module=nn.BatchNorm3d):  # noqa: ANN001 # fmt: skip
            super(FuseFastToSlow, self).__init__()  # noqa: UP008
            self.conv_f2s = nn.Conv3d(
                dim_in,
                dim_in * fusion_conv_channel_ratio,
                kernel_size=[fusion_kernel, 1, 1],
                stride=[alpha, 1, 1],
                padding=[fusion_kernel // 2, 0, 0],
                bias=False,
            )
            self.bn = norm_module(num_features=dim_in * fusion_conv_channel_ratio, eps=eps,
                                  momentum=bn_mmt)  # fmt: skip
            self.relu = nn.ReLU(inplace_relu)

        def forward(self, x: list[Any]) -> list[Any]:
            x_s = x[0]
            x_f = x[1]
            fuse = self.conv_f2s(x_f)
            fuse = self.bn(fuse)
            fuse = self.relu(fuse)
            x_s_fuse = torch.cat([x_s, fuse], 1)
            return [x_s_fuse, x_f]

    class BottleneckTransform(nn.Module):
        def __init__(self, dim_in, dim_out, temp_kernel_size, stride, dim_inner, num_groups,
                     stride_1x1=False, inplace_relu=True, eps=1e-5, bn_mmt=0.1, dilation=1,
                     norm_module=nn.BatchNorm3d):  # noqa: ANN001 # fmt: skip
            super(BottleneckTransform, self).__init__()  # noqa: UP008
            (str1x1, str3x3) = (stride, 1) if stride_1x1 else (1, stride)
            self.a = nn.Conv3d(dim_in, dim_inner, kernel_size=[temp_kernel_size, 1, 1],
                               stride=[1, str1x1, str1x1],
                               padding=[int(temp_kernel_size // 2), 0, 0], bias=False)  # fmt: skip
            self.a_bn = norm_module(num_features=dim_inner, eps=eps, momentum=bn_mmt)
            self.a_relu = nn.ReLU(inplace=inplace_relu)
            self.b = nn.Conv3d(dim_inner, dim_inner, [1, 3, 3], stride=[1, str3x3, str3x3],
                               padding=[0, dilation, dilation], groups=num_groups, bias=False,
                               dilation=[1, dilation, dilation])  # fmt: skip
            self.b_bn = norm_module(num_features=dim_inner, eps=eps, momentum=bn_mmt)
            self.b_relu = nn.ReLU(inplace=inplace_relu)
            self.c = nn.Conv3d(dim_inner, dim_out, kernel_size=[1, 1, 1], stride=[1, 1, 1],
                               padding=[0, 0, 0], bias=False)  # fmt: skip
            self.c.final_conv = True
            self.c_bn = norm_module(num_features=dim_out, eps=eps, momentum=bn_mmt)
            self.c_bn.transform_final_bn = True

        def forward(self, x: Any) -> Any:
            # Explicitly forward every layer.
            # Branch2a.
            x = self.a(x)
            x = self.a_bn(x)
            x = self.a_relu(x)
            # Branch2b.
            x = self.b(x)
            x = self.b_bn(x)
            x = self.b_relu(x)
            # Branch2c
            x = self.c(x)
            x = self.c_bn(x)
            return x

    class ResBlock(nn.Module):
        def __init__(self, dim_in, dim_out, temp_kernel_size, stride, dim_inner, num_groups=1,
                     eps=1e-5, bn_mmt=0.1):  # noqa: ANN001 # fmt: skip
            super(ResBlock, self).__init__()  # noqa: UP008
            if (dim_in != dim_out) or (stride != 1):
                self.branch1 = nn.Conv3d(dim_in, dim_out, kernel_size=1, stride=[1, stride, stride],
                                         padding=0, bias=False, dilation=1)  # fmt: skip
                self.branch1_bn = nn.BatchNorm3d(num_features=dim_out, eps=eps, momentum=bn_mmt)
            self.branch2 = BottleneckTransform(dim_in, dim_out, temp_kernel_size, stride,
                                               dim_inner, num_groups)  # fmt: skip
            self.relu = nn.ReLU(True)

        def forward(self, x: Any) -> Any:
            f_x = self.branch2(x)
            if hasattr(self, "branch1"):
                x = self.branch1_bn(self.branch1(x)) + f_x
            else:
                x = x + f_x
            x = self.relu(x)
            return x

    class ResStage(nn.Module):
        def __init__(self, dim_in, dim_out, dim_inner, temp_kernel_sizes, stride):  # noqa: ANN001
            super(ResStage, self).__init__()  # noqa: UP008
            self.num_pathways = len(dim_in)
            for pathway in range(self.num_pathways):
                res_block = ResBlock(dim_in[pathway], dim_out[pathway], temp_kernel_sizes[pathway],
                                     stride[pathway], dim_inner[pathway])  # fmt: skip
                self.add_module("pathway{}_res{}".format(pathway, 0), res_block)  # noqa: UP032

        def forward(self, inputs: list[Any]) -> list[Any]:
            output = []
            for pathway in range(self.num_pathways):
                x = inputs[pathway]
                m = getattr(self, "pathway{}_res{}".format(pathway, 0))  # noqa: UP032
                x = m(x)
                output.append(x)
            return output

    class ResNetBasicHead(nn.Module):
        def __init__(self, dim_in, num_classes, pool_size, dropout_rate=0.0,
                     act_func="softmax"):  # noqa: ANN001 # fmt: skip
            super(ResNetBasicHead, self).__init__()  # noqa: UP008
            assert len({len(pool_size), len(dim_in)}) == 1, "pathway dimensions are not consistent."
            self.num_pathways = len(pool_size)
            for pathway in range(self.num_pathways):
                if pool_size[pathway] is None:
                    avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
                else:
                    avg_pool = nn.AvgPool3d(pool_size[pathway], stride=1)
                self.add_module("pathway{}_avgpool".format(pathway), avg_pool)  # noqa: UP032
            if dropout_rate > 0.0:
                self.dropout = nn.Dropout(dropout_rate)
            self.projection = nn.Linear(sum(dim_in), num_classes, bias=True)
            if act_func == "softmax":
                self.act = nn.Softmax(dim=4)
            elif act_func == "sigmoid":
                self.act = nn.Sigmoid()
            else:
                raise NotImplementedError(
                    "{} is not supported as an activationfunction.".format(act_func)  # noqa: UP032
                )

        def forward(self, inputs: list[Any]) -> Any:
            assert len(inputs) == self.num_pathways, (
                "Input tensor does not contain {} pathway".format(  # noqa: UP032
                    self.num_pathways
                )
            )
            pool_out = []
            for pathway in range(self.num_pathways):
                m = getattr(self, "pathway{}_avgpool".format(pathway))  # noqa: UP032
                pool_out.append(m(inputs[pathway]))
            x = torch.cat(pool_out, 1)
            # (N, C, T, H, W) -> (N, T, H, W, C).
            x = x.permute((0, 2, 3, 4, 1))
            # Perform dropout.
            if hasattr(self, "dropout"):
                x = self.dropout(x)
            x = self.projection(x)

            # Performs fully convlutional inference.
            if not self.training:
                x = self.act(x)
                x = x.mean([1, 2, 3])

            x = x.view(x.shape[0], -1)
            return x

    class SlowFast(nn.Module):
        def __init__(self) -> None:
            super(SlowFast, self).__init__()  # noqa: UP008
            width_per_group, beta_inv, ratio, fusion_kernel = 8, 4, 2, 5
            out_dim_ratio = beta_inv // ratio
            self.s1 = VideoModelStem(
                dim_in=[3, 3],
                dim_out=[width_per_group, width_per_group // beta_inv],
                kernel=[[1, 7, 7], [5, 7, 7]],
                stride=[[1, 2, 2]] * 2,
                padding=[[0, 3, 3], [5 // 2, 3, 3]],
            )
            self.s1_fuse = FuseFastToSlow(width_per_group // beta_inv, ratio, fusion_kernel, ALPHA)
            self.s2 = ResStage(
                dim_in=[width_per_group + width_per_group // out_dim_ratio,
                        width_per_group // beta_inv],
                dim_out=[width_per_group * 2, width_per_group * 2 // beta_inv],
                dim_inner=[4, 4 // beta_inv if 4 // beta_inv else 1],
                temp_kernel_sizes=[1, 3],
                stride=[1, 1],
            )  # fmt: skip
            for pathway in range(2):
                pool = nn.MaxPool3d(kernel_size=[1, 2, 2], stride=[1, 2, 2], padding=[0, 0, 0])
                self.add_module("pathway{}_pool".format(pathway), pool)  # noqa: UP032
            self.s2_fuse = FuseFastToSlow(width_per_group * 2 // beta_inv, ratio, fusion_kernel,
                                          ALPHA)  # fmt: skip
            self.head = ResNetBasicHead(
                dim_in=[width_per_group * 2 + width_per_group * 2 // out_dim_ratio,
                        width_per_group * 2 // beta_inv],
                num_classes=NUM_CLASSES,
                pool_size=[[8 // ALPHA, 2, 2], [8, 2, 2]],
            )  # fmt: skip

        def forward(self, x: list[Any]) -> Any:
            x = x[:]  # avoid pass by reference
            x = self.s1(x)
            x = self.s1_fuse(x)
            x = self.s2(x)
            for pathway in range(2):
                pool = getattr(self, "pathway{}_pool".format(pathway))  # noqa: UP032
                x[pathway] = pool(x[pathway])
            x = self.s2_fuse(x)
            x = self.head(x)
            return x

    return SlowFast


def _x3d(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class SwishEfficient(torch.autograd.Function):
        """Swish activation function: x * sigmoid(x)."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            result = x * torch.sigmoid(x)
            ctx.save_for_backward(x)
            return result

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            x = ctx.saved_variables[0]
            sigmoid_x = torch.sigmoid(x)
            return grad_output * (sigmoid_x * (1 + x * (1 - sigmoid_x)))

    class Swish(nn.Module):
        """Swish activation function: x * sigmoid(x)."""

        def __init__(self) -> None:
            super(Swish, self).__init__()  # noqa: UP008

        def forward(self, x: Any) -> Any:
            return SwishEfficient.apply(x)

    class SE(nn.Module):
        """Squeeze-and-Excitation (SE) block w/ Swish: AvgPool, FC, Swish, FC, Sigmoid."""

        def _round_width(self, width, multiplier, min_width=8, divisor=8):  # noqa: ANN001, ANN202
            width *= multiplier
            min_width = min_width or divisor
            width_out = max(min_width, int(width + divisor / 2) // divisor * divisor)
            if width_out < 0.9 * width:
                width_out += divisor
            return int(width_out)

        def __init__(self, dim_in, ratio, relu_act=True):  # noqa: ANN001
            super(SE, self).__init__()  # noqa: UP008
            self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
            dim_fc = self._round_width(dim_in, ratio)
            self.fc1 = nn.Conv3d(dim_in, dim_fc, 1, bias=True)
            self.fc1_act = nn.ReLU() if relu_act else Swish()
            self.fc2 = nn.Conv3d(dim_fc, dim_in, 1, bias=True)

            self.fc2_sig = nn.Sigmoid()

        def forward(self, x: Any) -> Any:
            x_in = x
            for module in self.children():
                x = module(x)
            return x_in * x

    class X3DTransform(nn.Module):
        def __init__(self, dim_in, dim_out, temp_kernel_size, stride, dim_inner, se_ratio=0.0625,
                     swish_inner=True, block_idx=0, eps=1e-5, bn_mmt=0.1):  # noqa: ANN001 # fmt: skip
            super(X3DTransform, self).__init__()  # noqa: UP008
            self._se_ratio = se_ratio
            self._swish_inner = swish_inner
            self.a = nn.Conv3d(dim_in, dim_inner, kernel_size=[1, 1, 1], stride=[1, 1, 1],
                               padding=[0, 0, 0], bias=False)  # fmt: skip
            self.a_bn = nn.BatchNorm3d(num_features=dim_inner, eps=eps, momentum=bn_mmt)
            self.a_relu = nn.ReLU(inplace=True)
            # 3x3x3, BN, ReLU.
            self.b = nn.Conv3d(dim_inner, dim_inner, [temp_kernel_size, 3, 3],
                               stride=[1, stride, stride],
                               padding=[int(temp_kernel_size // 2), 1, 1], groups=dim_inner,
                               bias=False, dilation=[1, 1, 1])  # fmt: skip
            self.b_bn = nn.BatchNorm3d(num_features=dim_inner, eps=eps, momentum=bn_mmt)
            # Apply SE attention or not
            use_se = True if (block_idx + 1) % 2 else False  # noqa: SIM210 (as in the repository)
            if self._se_ratio > 0.0 and use_se:
                self.se = SE(dim_inner, self._se_ratio)
            if self._swish_inner:
                self.b_relu = Swish()
            else:
                self.b_relu = nn.ReLU(inplace=True)
            # 1x1x1, BN.
            self.c = nn.Conv3d(dim_inner, dim_out, kernel_size=[1, 1, 1], stride=[1, 1, 1],
                               padding=[0, 0, 0], bias=False)  # fmt: skip
            self.c_bn = nn.BatchNorm3d(num_features=dim_out, eps=eps, momentum=bn_mmt)
            self.c_bn.transform_final_bn = True

        def forward(self, x: Any) -> Any:
            for block in self.children():
                x = block(x)
            return x

    class X3DHead(nn.Module):
        def __init__(self, dim_in, dim_inner, dim_out, num_classes, eps=1e-5, bn_mmt=0.1):  # noqa: ANN001
            super(X3DHead, self).__init__()  # noqa: UP008
            self.conv_5 = nn.Conv3d(dim_in, dim_inner, kernel_size=(1, 1, 1), stride=(1, 1, 1),
                                    padding=(0, 0, 0), bias=False)  # fmt: skip
            self.conv_5_bn = nn.BatchNorm3d(num_features=dim_inner, eps=eps, momentum=bn_mmt)
            self.conv_5_relu = nn.ReLU(True)
            self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
            self.lin_5 = nn.Conv3d(dim_inner, dim_out, kernel_size=(1, 1, 1), stride=(1, 1, 1),
                                   padding=(0, 0, 0), bias=False)  # fmt: skip
            self.lin_5_relu = nn.ReLU(True)
            self.projection = nn.Linear(dim_out, num_classes, bias=True)
            self.act = nn.Softmax(dim=4)

        def forward(self, inputs: list[Any]) -> Any:
            assert len(inputs) == 1, "Input tensor does not contain 1 pathway"
            x = self.conv_5(inputs[0])
            x = self.conv_5_bn(x)
            x = self.conv_5_relu(x)
            x = self.avg_pool(x)
            x = self.lin_5(x)
            x = self.lin_5_relu(x)
            # (N, C, T, H, W) -> (N, T, H, W, C).
            x = x.permute((0, 2, 3, 4, 1))
            x = self.projection(x)
            # Performs fully convlutional inference.
            if not self.training:
                x = self.act(x)
                x = x.mean([1, 2, 3])
            x = x.view(x.shape[0], -1)
            return x

    class X3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv3d(3, 4, kernel_size=(1, 3, 3), stride=(1, 2, 2),
                                  padding=(0, 1, 1), bias=False)  # fmt: skip
            self.s2 = X3DTransform(4, 4, 3, 1, 8, block_idx=0)
            self.head = X3DHead(4, 8, 8, NUM_CLASSES)

        def forward(self, x: list[Any]) -> Any:
            x = self.stem(x[0])
            x = x + self.s2(x)
            return self.head([x])

    return X3D


def _init_weights(torch_like: Any, model: Any, fc_init_std: float = 0.01,
                  zero_init_final_bn: bool = True) -> None:  # fmt: skip
    nn = torch_like.nn
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            """
            Follow the initialization method proposed in:
            {He, Kaiming, et al.
            "Delving deep into rectifiers: Surpassing human-level
            performance on imagenet classification."
            arXiv preprint arXiv:1502.01852 (2015)}
            """
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            if hasattr(m, "transform_final_bn") and m.transform_final_bn and zero_init_final_bn:
                batchnorm_weight = 0.0
            else:
                batchnorm_weight = 1.0
            if m.weight is not None:
                m.weight.data.fill_(batchnorm_weight)
            if m.bias is not None:
                m.bias.data.zero_()
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(mean=0.0, std=fc_init_std)
            if m.bias is not None:
                m.bias.data.zero_()


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Models(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.slowfast = _slowfast(torch_like)()
            self.x3d = _x3d(torch_like)()
            _init_weights(torch_like, self, zero_init_final_bn=False)

    return Models()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)

    def tensor_normalize(tensor, mean, std):  # noqa: ANN001, ANN202
        if tensor.dtype == torch.uint8:
            tensor = tensor.float()
            tensor = tensor / 255.0
        if type(mean) == list:  # noqa: E721 (as in the repository)
            mean = torch.tensor(mean)
        if type(std) == list:  # noqa: E721
            std = torch.tensor(std)
        tensor = tensor - mean
        tensor = tensor / std
        return tensor

    def pack_pathway_output(frames):  # noqa: ANN001, ANN202
        fast_pathway = frames
        # Perform temporal sampling from the fast pathway.
        slow_pathway = torch.index_select(
            frames,
            1,
            torch.linspace(0, frames.shape[1] - 1, frames.shape[1] // ALPHA).long(),
        )
        frame_list = [slow_pathway, fast_pathway]
        return frame_list

    def topks_correct(preds, labels, ks):  # noqa: ANN001, ANN202
        assert preds.size(0) == labels.size(0), "Batch dim of predictions and labels must match"
        # Find the top max_k predictions for each sample
        _top_max_k_vals, top_max_k_inds = torch.topk(preds, max(ks), dim=1, largest=True,
                                                     sorted=True)  # fmt: skip
        # (batch_size, max_k) -> (max_k, batch_size).
        top_max_k_inds = top_max_k_inds.t()
        # (batch_size, ) -> (max_k, batch_size).
        rep_max_k_labels = labels.view(1, -1).expand_as(top_max_k_inds)
        # (i, j) = 1 if top i-th prediction for the j-th sample is correct.
        top_max_k_correct = top_max_k_inds.eq(rep_max_k_labels)
        # Compute the number of topk correct predictions for each k.
        topks_correct = [top_max_k_correct[:k, :].float().sum() for k in ks]
        return topks_correct

    def topk_errors(preds, labels, ks):  # noqa: ANN001, ANN202
        num_topks_correct = topks_correct(preds, labels, ks)
        return [(1.0 - x / preds.size(0)) * 100.0 for x in num_topks_correct]

    def get_lr_at_epoch(cur_epoch: float) -> float:
        base_lr, warmup_epochs, warmup_start_lr, max_epoch = 0.1, 0.5, 0.01, 2.0
        lr = base_lr * (math.cos(math.pi * cur_epoch / max_epoch) + 1.0) * 0.5
        if cur_epoch < warmup_epochs:
            lr_start = warmup_start_lr
            lr_end = base_lr * (math.cos(math.pi * warmup_epochs / max_epoch) + 1.0) * 0.5
            alpha = (lr_end - lr_start) / warmup_epochs
            lr = cur_epoch * alpha + lr_start
        return lr

    def set_lr(optimizer, new_lr):  # noqa: ANN001, ANN202
        for param_group in optimizer.param_groups:
            param_group["lr"] = new_lr

    def construct_optimizer(model):  # noqa: ANN001, ANN202
        bn_parameters = []
        non_bn_parameters = []
        for _name, m in model.named_modules():
            is_bn = isinstance(m, torch.nn.modules.batchnorm._NormBase)
            for p in m.parameters(recurse=False):
                if not p.requires_grad:
                    continue
                if is_bn:
                    bn_parameters.append(p)
                else:
                    non_bn_parameters.append(p)
        optim_params = [
            {"params": bn_parameters, "weight_decay": 0.0},
            {"params": non_bn_parameters, "weight_decay": 1e-4},
        ]
        assert len(list(model.parameters())) == len(non_bn_parameters) + len(bn_parameters)
        return torch.optim.SGD(optim_params, lr=0.1, momentum=0.9, weight_decay=1e-4,
                               dampening=0.0, nesterov=True)  # fmt: skip

    rng = np.random.default_rng(17)
    loss_fun = torch.nn.CrossEntropyLoss(reduction="mean")
    optimizers = [construct_optimizer(models.slowfast), construct_optimizer(models.x3d)]
    values: list[float] = []
    data_size = 2
    for cur_epoch in range(2):
        models.train()
        for cur_iter in range(data_size):
            clips = []
            for _ in range(2):
                frames = torch.from_numpy(rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8))
                frames = tensor_normalize(frames, [0.45, 0.45, 0.45], [0.225, 0.225, 0.225])
                frames = frames.permute(3, 0, 1, 2)  # T H W C -> C T H W.
                clips.append(frames)
            inputs = [torch.stack(p) for p in zip(*[pack_pathway_output(c) for c in clips],
                                                   strict=True)]  # fmt: skip
            labels = torch.from_numpy(rng.integers(0, NUM_CLASSES, 2))
            lr = get_lr_at_epoch(cur_epoch + float(cur_iter) / data_size)
            for model, optimizer, x in (
                (models.slowfast, optimizers[0], inputs),
                (models.x3d, optimizers[1], [inputs[1]]),
            ):
                set_lr(optimizer, lr)
                preds = model(x)
                loss = loss_fun(preds, labels)
                optimizer.zero_grad()
                with warnings.catch_warnings():  # SwishEfficient reads ctx.saved_variables
                    warnings.filterwarnings("ignore", "'saved_variables' is deprecated",
                                            DeprecationWarning)  # fmt: skip
                    loss.backward()
                optimizer.step()
                top1_err, top2_err = topk_errors(preds, labels, (1, 2))
                values += [loss.item(), lr, top1_err.item(), top2_err.item()]
    models.eval()
    with torch.no_grad():
        probs = models.slowfast(inputs)
        probs_x3d = models.x3d([inputs[1]])
    values += [probs.sum().item(), probs[:, 0].sum().item(), probs_x3d[:, 1].sum().item()]
    return values
