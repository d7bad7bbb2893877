"""zhutmost/lsq-net (``quan/quantizer/lsq.py``, ``quan/quantizer/quantizer.py``, ``quan/func.py``,
``quan/utils.py``), size-reduced: learned step size quantization (Esser et al.) of a small CNN by
module replacement, trained a few steps.

The idioms kept: ``grad_scale`` (``y_grad = x * scale``, ``(y - y_grad).detach() + y_grad``) and
``round_pass`` (``x.round()``) straight-through estimators; ``LsqQuan`` (``thd_neg``/``thd_pos``
from ``2 ** (bit - 1)``, ``self.s = t.nn.Parameter(t.ones(1))``, ``init_from`` re-binding
``self.s`` to ``x.detach().abs().mean(dim=list(range(1, x.dim())), keepdim=True) * 2 /
(self.thd_pos ** 0.5)``, ``forward``'s ``s_grad_scale = 1.0 / ((self.thd_pos * x.numel()) **
0.5)``, ``t.clamp(x, self.thd_neg, self.thd_pos)``); the ``Quantizer(t.nn.Module)`` base and
``IdentityQuan``; ``QuanConv2d(t.nn.Conv2d)`` / ``QuanLinear(t.nn.Linear)`` built from an
existing module (``assert type(m) == t.nn.Conv2d``, ``super().__init__(m.in_channels, ...,
stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups, bias=True if m.bias is
not None else False, padding_mode=m.padding_mode)``, ``self.weight = t.nn.Parameter(
m.weight.detach())``, ``self._conv_forward(quantized_act, quantized_weight, bias=self.bias)``);
``QuanModuleMapping`` keyed by module classes; ``find_modules_to_quantize`` (``type(module) in
QuanModuleMapping.keys()``, ``name in quan_scheduler.excepts``) and ``replace_module_by_names``
(``for full_name, m in model.named_modules(): if c is m: child.add_module(n,
modules_to_replace.pop(full_name))``); ``print(model)`` of the quantized model. Also the
built-in the QAT code paths use for the same rounding, ``torch.fake_quantize_per_tensor_affine(x,
scale, zero_point, quant_min, quant_max)``, checked against ``LsqQuan``'s forward.

Changed: ResNet on ImageNet -> a conv/conv/linear CNN on 6x6 random images, 4 classes, weights
and activations 3-bit (the repository's ``excepts`` keep the first conv and the classifier at 8
bits), 4 SGD steps.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]


def _quan(torch_like: Any) -> dict:
    t = torch_like

    def grad_scale(x, scale):  # noqa: ANN001, ANN202
        y = x
        y_grad = x * scale
        return (y - y_grad).detach() + y_grad

    def round_pass(x):  # noqa: ANN001, ANN202
        y = x.round()
        y_grad = x
        return (y - y_grad).detach() + y_grad

    class Quantizer(t.nn.Module):
        def __init__(self, bit):  # noqa: ANN001
            super().__init__()

        def init_from(self, x, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            pass

        def forward(self, x):  # noqa: ANN001, ANN202
            raise NotImplementedError

    class IdentityQuan(Quantizer):
        def __init__(self, bit=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
            super().__init__(bit)
            assert bit is None, "The bit-width of identity quantizer must be None"

        def forward(self, x):  # noqa: ANN001, ANN202
            return x

    class LsqQuan(Quantizer):
        def __init__(self, bit, all_positive=False, symmetric=False, per_channel=True):  # noqa: ANN001
            super().__init__(bit)

            if all_positive:
                assert not symmetric, "Positive quantization cannot be symmetric"
                # unsigned activation is quantized to [0, 2^b-1]
                self.thd_neg = 0
                self.thd_pos = 2**bit - 1
            else:
                if symmetric:
                    # signed weight/activation is quantized to [-2^(b-1)+1, 2^(b-1)-1]
                    self.thd_neg = -(2 ** (bit - 1)) + 1
                    self.thd_pos = 2 ** (bit - 1) - 1
                else:
                    # signed weight/activation is quantized to [-2^(b-1), 2^(b-1)-1]
                    self.thd_neg = -(2 ** (bit - 1))
                    self.thd_pos = 2 ** (bit - 1) - 1

            self.per_channel = per_channel
            self.s = t.nn.Parameter(t.ones(1))

        def init_from(self, x, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if self.per_channel:
                self.s = t.nn.Parameter(
                    x.detach().abs().mean(dim=list(range(1, x.dim())), keepdim=True)
                    * 2
                    / (self.thd_pos**0.5)
                )
            else:
                self.s = t.nn.Parameter(x.detach().abs().mean() * 2 / (self.thd_pos**0.5))

        def forward(self, x):  # noqa: ANN001, ANN202
            if self.per_channel:
                s_grad_scale = 1.0 / ((self.thd_pos * x.numel()) ** 0.5)
            else:
                s_grad_scale = 1.0 / ((self.thd_pos * x.numel()) ** 0.5)
            s_scale = grad_scale(self.s, s_grad_scale)

            x = x / s_scale
            x = t.clamp(x, self.thd_neg, self.thd_pos)
            x = round_pass(x)
            x = x * s_scale
            return x

    class QuanConv2d(t.nn.Conv2d):
        def __init__(self, m: Any, quan_w_fn=None, quan_a_fn=None):  # noqa: ANN001
            assert type(m) == t.nn.Conv2d  # noqa: E721
            super().__init__(m.in_channels, m.out_channels, m.kernel_size,
                             stride=m.stride,
                             padding=m.padding,
                             dilation=m.dilation,
                             groups=m.groups,
                             bias=True if m.bias is not None else False,
                             padding_mode=m.padding_mode)  # fmt: skip
            self.quan_w_fn = quan_w_fn
            self.quan_a_fn = quan_a_fn

            self.weight = t.nn.Parameter(m.weight.detach())
            self.quan_w_fn.init_from(m.weight)
            if m.bias is not None:
                self.bias = t.nn.Parameter(m.bias.detach())

        def forward(self, x):  # noqa: ANN001, ANN202
            quantized_weight = self.quan_w_fn(self.weight)
            quantized_act = self.quan_a_fn(x)
            return self._conv_forward(quantized_act, quantized_weight, bias=self.bias)

    class QuanLinear(t.nn.Linear):
        def __init__(self, m: Any, quan_w_fn=None, quan_a_fn=None):  # noqa: ANN001
            assert type(m) == t.nn.Linear  # noqa: E721
            super().__init__(m.in_features, m.out_features,
                             bias=True if m.bias is not None else False)  # fmt: skip
            self.quan_w_fn = quan_w_fn
            self.quan_a_fn = quan_a_fn

            self.weight = t.nn.Parameter(m.weight.detach())
            self.quan_w_fn.init_from(m.weight)
            if m.bias is not None:
                self.bias = t.nn.Parameter(m.bias.detach())

        def forward(self, x):  # noqa: ANN001, ANN202
            quantized_weight = self.quan_w_fn(self.weight)
            quantized_act = self.quan_a_fn(x)
            return t.nn.functional.linear(quantized_act, quantized_weight, self.bias)

    QuanModuleMapping = {t.nn.Conv2d: QuanConv2d, t.nn.Linear: QuanLinear}

    def quantizer(cfg):  # noqa: ANN001, ANN202
        if cfg["mode"] == "lsq":
            return LsqQuan(cfg["bit"], cfg["all_positive"], cfg["symmetric"], cfg["per_channel"])
        return IdentityQuan()

    def find_modules_to_quantize(model, quan_scheduler):  # noqa: ANN001, ANN202
        replaced_modules = dict()
        for name, module in model.named_modules():
            if type(module) in QuanModuleMapping.keys():
                if name in quan_scheduler.excepts:
                    replaced_modules[name] = QuanModuleMapping[type(module)](
                        module,
                        quan_w_fn=quantizer(quan_scheduler.excepts[name]["weight"]),
                        quan_a_fn=quantizer(quan_scheduler.excepts[name]["act"]),
                    )
                else:
                    replaced_modules[name] = QuanModuleMapping[type(module)](
                        module,
                        quan_w_fn=quantizer(quan_scheduler.weight),
                        quan_a_fn=quantizer(quan_scheduler.act),
                    )
        return replaced_modules

    def replace_module_by_names(model, modules_to_replace):  # noqa: ANN001, ANN202
        def helper(child: Any) -> None:
            for n, c in child.named_children():
                if type(c) in QuanModuleMapping.keys():
                    for full_name, m in model.named_modules():
                        if c is m:
                            child.add_module(n, modules_to_replace.pop(full_name))
                            break
                else:
                    helper(c)

        helper(model)
        return model

    return {"find": find_modules_to_quantize, "replace": replace_module_by_names,
            "LsqQuan": LsqQuan}  # fmt: skip


def _scheduler() -> SimpleNamespace:
    def cfg(bit: int | None, all_positive: bool, per_channel: bool) -> dict:
        return {"mode": "lsq" if bit else "identity", "bit": bit,
                "all_positive": all_positive, "symmetric": False,
                "per_channel": per_channel}  # fmt: skip

    eight = {"weight": cfg(8, False, True), "act": cfg(8, True, False)}
    return SimpleNamespace(
        weight=cfg(3, False, True),
        act=cfg(3, True, False),
        excepts={"conv1": {"weight": cfg(8, False, True), "act": cfg(None, False, False)},
                 "fc": eight},
    )  # fmt: skip


def _float_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)
            self.layer = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU())
            self.fc = nn.Linear(6 * 3 * 3, 4)

        def forward(self, x: Any) -> Any:
            x = F.relu(self.conv1(x))
            x = self.layer(x)
            return self.fc(x.flatten(1))

    return Net()


def make_model(torch_like: Any) -> Any:
    quan = _quan(torch_like)
    model = _float_model(torch_like)
    modules_to_replace = quan["find"](model, _scheduler())
    return quan["replace"](model, modules_to_replace)


def run(torch_like: Any, init: dict | None) -> list[float]:
    t = torch_like
    rng = np.random.default_rng(17)
    values: list[float] = []

    # LsqQuan's forward is the built-in fake quantization at zero point 0
    q = _quan(torch_like)["LsqQuan"](3, all_positive=False, symmetric=False, per_channel=False)
    x = t.from_numpy(rng.normal(size=(5, 7)))
    q.init_from(x)
    mine = q(x)
    scale = q.s.item()
    builtin = t.fake_quantize_per_tensor_affine(x, scale, 0, q.thd_neg, q.thd_pos)
    values += [mine.sum().item(), (mine - builtin).abs().max().item(), scale]

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values.append(float(len(str(model))))
    optimizer = t.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    criterion = t.nn.CrossEntropyLoss()
    for _step in range(4):
        inputs = t.from_numpy(rng.normal(size=(4, 1, 6, 6)))
        targets = t.from_numpy(rng.integers(0, 4, size=4))
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.layer[0].quan_w_fn.s.sum().item(),
                   model.layer[0].quan_a_fn.s.item()]  # fmt: skip
    return values
