"""facebookresearch/LeViT (``levit.py``, ``losses.py``, ``utils.replace_batchnorm``),
size-reduced: ``Conv2d_BN``/``Linear_BN``/``BN_Linear`` as ``torch.nn.Sequential`` subclasses
built with ``add_module`` (``torch.nn.init.constant_(bn.weight, bn_weight_init)``,
``l, bn = self._modules.values()``, ``bn(x.flatten(0, 1)).reshape_as(x)``) and their
``@torch.no_grad() fuse`` into plain ``Linear``/``Conv2d`` (``w[:, None]``,
``m.weight.data.copy_(w)``); ``Attention`` and ``AttentionSubsample`` with attention biases
indexed by ``itertools.product`` offsets (``attention_offsets[offset] = len(
attention_offsets)``, ``torch.nn.Parameter(torch.zeros(num_heads, len(attention_offsets)))``,
``register_buffer('attention_bias_idxs', torch.LongTensor(idxs).view(N, N))``,
``self.attention_biases[:, self.attention_bias_idxs]``), the ``@torch.no_grad() train(self,
mode=True)`` override caching ``self.ab`` in eval and ``del self.ab`` in training,
``qkv.view(B, N, self.num_heads, -1).split([self.key_dim, self.key_dim, self.d], dim=3)``,
``Subsample``'s ``x.view(B, res, res, C)[:, ::stride, ::stride]``; ``Residual``;
``torch.nn.Hardswish``; the ``b16`` patch embedding, ``x.flatten(2).transpose(1, 2)``,
``x.mean(1)``, the distillation head (``(x[0] + x[1]) / 2`` in eval) trained with
``DistillationLoss`` (``'hard'``: ``teacher_outputs.argmax(dim=1)``; ``'soft'``:
``F.kl_div(F.log_softmax(outputs_kd / T, dim=1), F.log_softmax(teacher_outputs / T, dim=1),
reduction='sum', log_target=True) * (T * T) / outputs_kd.numel()``); ``replace_batchnorm``
over ``named_children`` (``setattr(net, child_name, child.fuse())``) and the fused model's
equality with the unfused one in eval.

Changed: embed dims 128..384 -> 8/12, key_dim 16 -> 4, heads 4 -> 2, 224x224 -> 16x16 images
(resolution 4 -> 2), depth one block per stage, 10 classes, drop_path 0; the teacher is a fixed
linear map; ``trunc_normal_`` initialisations come with the initial state; data from a seeded
NumPy generator.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._common import load_numpy_state

NUM_CLASSES = 10


def _levit(torch_like: Any) -> type:
    torch = torch_like
    F = torch.nn.functional

    class Conv2d_BN(torch.nn.Sequential):
        def __init__(self, a, b, ks=1, stride=1, pad=0, dilation=1, groups=1, bn_weight_init=1,
                     resolution=-10000):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.add_module("c", torch.nn.Conv2d(a, b, ks, stride, pad, dilation, groups,
                                                 bias=False))  # fmt: skip
            bn = torch.nn.BatchNorm2d(b)
            torch.nn.init.constant_(bn.weight, bn_weight_init)
            torch.nn.init.constant_(bn.bias, 0)
            self.add_module("bn", bn)

        @torch.no_grad()
        def fuse(self) -> Any:
            c, bn = self._modules.values()
            w = bn.weight / (bn.running_var + bn.eps) ** 0.5
            w = c.weight * w[:, None, None, None]
            b = bn.bias - bn.running_mean * bn.weight / (bn.running_var + bn.eps) ** 0.5
            m = torch.nn.Conv2d(w.size(1), w.size(0), w.shape[2:], stride=self.c.stride,
                                padding=self.c.padding, dilation=self.c.dilation,
                                groups=self.c.groups)  # fmt: skip
            m.weight.data.copy_(w)
            m.bias.data.copy_(b)
            return m

    class Linear_BN(torch.nn.Sequential):
        def __init__(self, a, b, bn_weight_init=1, resolution=-100000):  # noqa: ANN001
            super().__init__()
            self.add_module("c", torch.nn.Linear(a, b, bias=False))
            bn = torch.nn.BatchNorm1d(b)
            torch.nn.init.constant_(bn.weight, bn_weight_init)
            torch.nn.init.constant_(bn.bias, 0)
            self.add_module("bn", bn)

        @torch.no_grad()
        def fuse(self) -> Any:
            l, bn = self._modules.values()  # noqa: E741
            w = bn.weight / (bn.running_var + bn.eps) ** 0.5
            w = l.weight * w[:, None]
            b = bn.bias - bn.running_mean * bn.weight / (bn.running_var + bn.eps) ** 0.5
            m = torch.nn.Linear(w.size(1), w.size(0))
            m.weight.data.copy_(w)
            m.bias.data.copy_(b)
            return m

        def forward(self, x: Any) -> Any:
            l, bn = self._modules.values()  # noqa: E741
            x = l(x)
            return bn(x.flatten(0, 1)).reshape_as(x)

    class BN_Linear(torch.nn.Sequential):
        def __init__(self, a, b, bias=True, std=0.02):  # noqa: ANN001
            super().__init__()
            self.add_module("bn", torch.nn.BatchNorm1d(a))
            l = torch.nn.Linear(a, b, bias=bias)  # noqa: E741
            torch.nn.init.trunc_normal_(l.weight, std=std)
            if bias:
                torch.nn.init.constant_(l.bias, 0)
            self.add_module("l", l)

        @torch.no_grad()
        def fuse(self) -> Any:
            bn, l = self._modules.values()  # noqa: E741
            w = bn.weight / (bn.running_var + bn.eps) ** 0.5
            b = bn.bias - self.bn.running_mean * self.bn.weight / (bn.running_var + bn.eps) ** 0.5
            w = l.weight * w[None, :]
            if l.bias is None:
                b = b @ self.l.weight.T
            else:
                b = (l.weight @ b[:, None]).view(-1) + self.l.bias
            m = torch.nn.Linear(w.size(1), w.size(0))
            m.weight.data.copy_(w)
            m.bias.data.copy_(b)
            return m

    def b16(n, activation, resolution=224):  # noqa: ANN001
        return torch.nn.Sequential(
            Conv2d_BN(3, n // 2, 3, 2, 1, resolution=resolution),
            activation(),
            Conv2d_BN(n // 2, n, 3, 2, 1, resolution=resolution // 2),
        )

    class Residual(torch.nn.Module):
        def __init__(self, m: Any, drop: float) -> None:
            super().__init__()
            self.m = m
            self.drop = drop

        def forward(self, x: Any) -> Any:
            if self.training and self.drop > 0:
                return (
                    x
                    + self.m(x)
                    * torch.rand(x.size(0), 1, 1, device=x.device)
                    .ge_(self.drop)
                    .div(1 - self.drop)
                    .detach()
                )
            else:
                return x + self.m(x)

    class Attention(torch.nn.Module):
        def __init__(self, dim, key_dim, num_heads=8, attn_ratio=4, activation=None,
                     resolution=14):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.num_heads = num_heads
            self.scale = key_dim**-0.5
            self.key_dim = key_dim
            self.nh_kd = nh_kd = key_dim * num_heads
            self.d = int(attn_ratio * key_dim)
            self.dh = int(attn_ratio * key_dim) * num_heads
            self.attn_ratio = attn_ratio
            h = self.dh + nh_kd * 2
            self.qkv = Linear_BN(dim, h, resolution=resolution)
            self.proj = torch.nn.Sequential(activation(), Linear_BN(
                self.dh, dim, bn_weight_init=0, resolution=resolution))  # fmt: skip

            points = list(itertools.product(range(resolution), range(resolution)))
            N = len(points)
            attention_offsets = {}
            idxs = []
            for p1 in points:
                for p2 in points:
                    offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
                    if offset not in attention_offsets:
                        attention_offsets[offset] = len(attention_offsets)
                    idxs.append(attention_offsets[offset])
            self.attention_biases = torch.nn.Parameter(
                torch.zeros(num_heads, len(attention_offsets)))  # fmt: skip
            self.register_buffer("attention_bias_idxs", torch.LongTensor(idxs).view(N, N))

        @torch.no_grad()
        def train(self, mode: bool = True) -> None:
            super().train(mode)
            if mode and hasattr(self, "ab"):
                del self.ab
            else:
                self.ab = self.attention_biases[:, self.attention_bias_idxs]

        def forward(self, x: Any) -> Any:  # x (B,N,C)
            B, N, C = x.shape
            qkv = self.qkv(x)
            q, k, v = qkv.view(B, N, self.num_heads, -1).split(
                [self.key_dim, self.key_dim, self.d], dim=3)  # fmt: skip
            q = q.permute(0, 2, 1, 3)
            k = k.permute(0, 2, 1, 3)
            v = v.permute(0, 2, 1, 3)

            attn = (q @ k.transpose(-2, -1)) * self.scale + (
                self.attention_biases[:, self.attention_bias_idxs] if self.training else self.ab
            )
            attn = attn.softmax(dim=-1)
            x = (attn @ v).transpose(1, 2).reshape(B, N, self.dh)
            x = self.proj(x)
            return x

    class Subsample(torch.nn.Module):
        def __init__(self, stride: int, resolution: int) -> None:
            super().__init__()
            self.stride = stride
            self.resolution = resolution

        def forward(self, x: Any) -> Any:
            B, N, C = x.shape
            x = x.view(B, self.resolution, self.resolution, C)[
                :, :: self.stride, :: self.stride].reshape(B, -1, C)  # fmt: skip
            return x

    class AttentionSubsample(torch.nn.Module):
        def __init__(self, in_dim, out_dim, key_dim, num_heads=8, attn_ratio=2,
                     activation=None, stride=2, resolution=14, resolution_=7):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.num_heads = num_heads
            self.scale = key_dim**-0.5
            self.key_dim = key_dim
            self.nh_kd = nh_kd = key_dim * num_heads
            self.d = int(attn_ratio * key_dim)
            self.dh = int(attn_ratio * key_dim) * self.num_heads
            self.attn_ratio = attn_ratio
            self.resolution_ = resolution_
            self.resolution_2 = resolution_**2
            h = self.dh + nh_kd
            self.kv = Linear_BN(in_dim, h, resolution=resolution)
            self.q = torch.nn.Sequential(
                Subsample(stride, resolution), Linear_BN(in_dim, nh_kd, resolution=resolution_)
            )
            self.proj = torch.nn.Sequential(activation(), Linear_BN(
                self.dh, out_dim, resolution=resolution_))  # fmt: skip

            self.stride = stride
            self.resolution = resolution
            points = list(itertools.product(range(resolution), range(resolution)))
            points_ = list(itertools.product(range(resolution_), range(resolution_)))
            N = len(points)
            N_ = len(points_)
            attention_offsets = {}
            idxs = []
            for p1 in points_:
                for p2 in points:
                    size = 1
                    offset = (abs(p1[0] * stride - p2[0] + (size - 1) / 2),
                              abs(p1[1] * stride - p2[1] + (size - 1) / 2))  # fmt: skip
                    if offset not in attention_offsets:
                        attention_offsets[offset] = len(attention_offsets)
                    idxs.append(attention_offsets[offset])
            self.attention_biases = torch.nn.Parameter(
                torch.zeros(num_heads, len(attention_offsets)))  # fmt: skip
            self.register_buffer("attention_bias_idxs", torch.LongTensor(idxs).view(N_, N))

        @torch.no_grad()
        def train(self, mode: bool = True) -> None:
            super().train(mode)
            if mode and hasattr(self, "ab"):
                del self.ab
            else:
                self.ab = self.attention_biases[:, self.attention_bias_idxs]

        def forward(self, x: Any) -> Any:
            B, N, C = x.shape
            k, v = self.kv(x).view(B, N, self.num_heads, -1).split([self.key_dim, self.d], dim=3)
            k = k.permute(0, 2, 1, 3)  # BHNC
            v = v.permute(0, 2, 1, 3)  # BHNC
            q = self.q(x).view(B, self.resolution_2, self.num_heads,
                               self.key_dim).permute(0, 2, 1, 3)  # fmt: skip

            attn = (q @ k.transpose(-2, -1)) * self.scale + (
                self.attention_biases[:, self.attention_bias_idxs] if self.training else self.ab
            )
            attn = attn.softmax(dim=-1)

            x = (attn @ v).transpose(1, 2).reshape(B, -1, self.dh)
            x = self.proj(x)
            return x

    class LeViT(torch.nn.Module):
        """Vision Transformer with support for patch or hybrid CNN input stage"""

        def __init__(self, img_size=16, patch_size=4, num_classes=NUM_CLASSES,
                     embed_dim=(8, 12), key_dim=(4, 4), num_heads=(2, 2), mlp_ratio=(2, 2),
                     attn_ratio=(2, 2), hybrid_backbone=None,
                     attention_activation=torch.nn.Hardswish,
                     mlp_activation=torch.nn.Hardswish, distillation=True,
                     drop_path=0):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.num_classes = num_classes
            self.num_features = embed_dim[-1]
            self.embed_dim = embed_dim
            self.distillation = distillation
            self.patch_embed = hybrid_backbone
            self.blocks = []
            resolution = img_size // patch_size
            ed, kd, nh, mr, ar = embed_dim[0], key_dim[0], num_heads[0], mlp_ratio[0], attn_ratio[0]
            self.blocks.append(Residual(Attention(ed, kd, nh, attn_ratio=ar,
                                                  activation=attention_activation,
                                                  resolution=resolution), drop_path))  # fmt: skip
            h = int(ed * mr)
            self.blocks.append(Residual(torch.nn.Sequential(
                Linear_BN(ed, h, resolution=resolution), mlp_activation(),
                Linear_BN(h, ed, bn_weight_init=0, resolution=resolution)), drop_path))  # fmt: skip
            resolution_ = (resolution - 1) // 2 + 1
            self.blocks.append(AttentionSubsample(*embed_dim[0:2], key_dim=kd, num_heads=ed // 4,
                                                  attn_ratio=2, activation=attention_activation,
                                                  stride=2, resolution=resolution,
                                                  resolution_=resolution_))  # fmt: skip
            resolution = resolution_
            ed, kd, nh = embed_dim[1], key_dim[1], num_heads[1]
            self.blocks.append(Residual(Attention(ed, kd, nh, attn_ratio=attn_ratio[1],
                                                  activation=attention_activation,
                                                  resolution=resolution), drop_path))  # fmt: skip
            self.blocks = torch.nn.Sequential(*self.blocks)

            # Classifier head
            self.head = BN_Linear(embed_dim[-1], num_classes)
            if distillation:
                self.head_dist = BN_Linear(embed_dim[-1], num_classes)

        def forward(self, x: Any) -> Any:
            x = self.patch_embed(x)
            x = x.flatten(2).transpose(1, 2)
            x = self.blocks(x)
            x = x.mean(1)
            if self.distillation:
                x = self.head(x), self.head_dist(x)
                if not self.training:
                    x = (x[0] + x[1]) / 2
            else:
                x = self.head(x)
            return x

    def model_factory() -> Any:
        act = torch.nn.Hardswish
        return LeViT(hybrid_backbone=b16(8, activation=act, resolution=16))

    del F
    return model_factory


def make_model(torch_like: Any) -> Any:
    return _levit(torch_like)()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(224)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    teacher = torch.from_numpy(rng.standard_normal((3 * 16 * 16, NUM_CLASSES)) * 0.05)

    class DistillationLoss(torch.nn.Module):
        def __init__(self, base_criterion, distillation_type, alpha, tau):  # noqa: ANN001
            super().__init__()
            self.base_criterion = base_criterion
            assert distillation_type in ["none", "soft", "hard"]
            self.distillation_type = distillation_type
            self.alpha = alpha
            self.tau = tau

        def forward(self, inputs: Any, outputs: Any, labels: Any) -> Any:
            outputs_kd = None
            if not isinstance(outputs, torch.Tensor):
                # assume that the model outputs a tuple of [outputs, outputs_kd]
                outputs, outputs_kd = outputs
            base_loss = self.base_criterion(outputs, labels)
            if self.distillation_type == "none":
                return base_loss
            # don't backprop throught the teacher
            with torch.no_grad():
                teacher_outputs = inputs.flatten(1) @ teacher
            if self.distillation_type == "soft":
                T = self.tau
                distillation_loss = F.kl_div(F.log_softmax(outputs_kd / T, dim=1),
                                             F.log_softmax(teacher_outputs / T, dim=1),
                                             reduction="sum", log_target=True,
                                             ) * (T * T) / outputs_kd.numel()  # fmt: skip
            elif self.distillation_type == "hard":
                distillation_loss = F.cross_entropy(outputs_kd, teacher_outputs.argmax(dim=1))
            loss = base_loss * (1 - self.alpha) + distillation_loss * self.alpha
            return loss

    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.025)
    values: list[float] = []
    model.train()
    for kind in ("hard", "soft", "hard"):
        criterion = DistillationLoss(torch.nn.CrossEntropyLoss(label_smoothing=0.1), kind, 0.5,
                                     1.0)  # fmt: skip
        samples = torch.from_numpy(rng.random((4, 3, 16, 16)))
        targets = torch.from_numpy(rng.integers(0, NUM_CLASSES, 4))
        outputs = model(samples)
        loss = criterion(samples, outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    def replace_batchnorm(net: Any) -> None:
        for child_name, child in net.named_children():
            if hasattr(child, "fuse"):
                setattr(net, child_name, child.fuse())
            elif isinstance(child, torch.nn.BatchNorm2d):
                setattr(net, child_name, torch.nn.Identity())
            else:
                replace_batchnorm(child)

    model.eval()
    test = torch.from_numpy(rng.random((2, 3, 16, 16)))
    with torch.no_grad():
        out = model(test)
        replace_batchnorm(model)
        fused = model(test)
    values += [out.sum().item(), fused.sum().item(), float((out - fused).abs().max() < 1e-8)]
    values += [model.blocks[0].m.attention_biases.abs().sum().item(),
               sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())]  # fmt: skip
    return values
