"""vballoli/nfnets-pytorch (``nfnets/base.py``, ``nfnets/agc.py``, ``nfnets/utils.py``) with
timm's ``timm/utils/agc.py``, size-reduced: the weight-standardized ``WSConv2d(nn.Conv2d)``
(``nn.init.xavier_normal_(self.weight)``, a ``gain`` parameter ``torch.ones(
self.out_channels, 1, 1, 1)``, non-persistent buffers ``eps = torch.tensor(1e-4,
requires_grad=False)`` and ``fan_in = torch.tensor(self.weight.shape[1:].numel(),
requires_grad=False).type_as(self.weight)``, ``standardized_weights`` with NumPy-style
``torch.mean(self.weight, axis=[1,2,3], keepdims=True)``/``torch.var(...)``,
``torch.rsqrt(torch.maximum(var * self.fan_in, self.eps))``, ``F.conv2d(input=x,
weight=..., bias=self.bias, stride=self.stride, ...)`` by keyword); the scaled activation
``gamma_act`` (``F.relu(x) * 1.7139588594436646``); the NF residual block's ``alpha``/``beta``
signal propagation (``out = self.activation(x) * self.beta``, ``skipinit_gain`` at zero,
``return out * self.alpha + shortcut``); ``AGC(optim.Optimizer)`` wrapping another optimizer
(sharing the wrapped optimizer's ``param_groups``/``state``, parameter groups from every
module of ``model.named_modules()`` not named in ``ignore_agc``, ``@torch.no_grad() def
step(self, closure=None)``,
``unitwise_norm`` by rank: ``dim = [1, 2, 3]`` for convolutions, ``torch.sum(x**2, dim=dim,
keepdim=keepdim) ** 0.5``, ``param_norm = torch.max(unitwise_norm(p.detach()),
torch.tensor(self.eps).to(p.device))``, ``clipped_grad = p.grad * (max_norm / torch.max(
grad_norm, torch.tensor(1e-6).to(grad_norm.device)))``, ``p.grad.detach().data.copy_(
torch.where(trigger, clipped_grad, p.grad))``, then ``return self.optim.step(closure)``), the
classifier head left out of clipping (``ignore_agc=['fc']`` by parameter name); timm's
functional ``adaptive_clip_grad(parameters, clip_factor=0.01, eps=1e-3, norm_type=2.0)`` with
``unitwise_norm``'s ``x.norm(norm_type, dim=tuple(range(1, x.ndim)), keepdim=True)`` and
``p.grad.detach().copy_(torch.where(grad_norm < max_norm, grad, clipped_grad))``.

Changed: NFNet-F0 -> a stem and two NF blocks with 4 -> 6 channels on 8x8 inputs, 360
epochs -> 3 SGD steps with AGC then 3 with timm's function, clipping 0.01 -> 0.05 (so that
some gradients clip).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class WSConv2d(nn.Conv2d):
        def __init__(self, in_channels: int, out_channels: int, kernel_size: Any,
                     stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
                     bias: bool = True, padding_mode: str = "zeros") -> None:  # fmt: skip
            super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                             dilation, groups, bias, padding_mode)  # fmt: skip

            nn.init.xavier_normal_(self.weight)
            self.gain = nn.Parameter(torch.ones(self.out_channels, 1, 1, 1))
            self.register_buffer("eps", torch.tensor(1e-4, requires_grad=False), persistent=False)
            self.register_buffer(
                "fan_in",
                torch.tensor(self.weight.shape[1:].numel(), requires_grad=False).type_as(
                    self.weight
                ),
                persistent=False,
            )

        def standardized_weights(self) -> Any:
            # Original code: HWCN
            mean = torch.mean(self.weight, axis=[1, 2, 3], keepdims=True)
            var = torch.var(self.weight, axis=[1, 2, 3], keepdims=True)
            scale = torch.rsqrt(torch.maximum(var * self.fan_in, self.eps))
            return (self.weight - mean) * scale * self.gain

        def forward(self, x: Any) -> Any:
            return F.conv2d(
                input=x,
                weight=self.standardized_weights(),
                bias=self.bias,
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
            )

    class GammaAct(nn.Module):
        def forward(self, x: Any) -> Any:
            return F.relu(x) * 1.7139588594436646

    class NFBlock(nn.Module):
        def __init__(self, channels: int, alpha: float = 0.2, beta: float = 1.0) -> None:
            super().__init__()
            self.alpha, self.beta = alpha, beta
            self.activation = GammaAct()
            self.conv0 = WSConv2d(channels, channels, 1)
            self.conv1 = WSConv2d(channels, channels, 3, padding=1)
            self.skipinit_gain = nn.Parameter(torch.zeros(()))

        def forward(self, x: Any) -> Any:
            out = self.activation(x) * self.beta
            shortcut = x
            out = self.conv0(out)
            out = self.conv1(self.activation(out))
            out = out * self.skipinit_gain
            return out * self.alpha + shortcut

    class NFNet(nn.Module):
        def __init__(self, num_classes: int = 3) -> None:
            super().__init__()
            self.stem = WSConv2d(3, 6, 3, stride=2, padding=1)
            self.body = nn.Sequential(NFBlock(6, beta=1.0), NFBlock(6, beta=1.0 / 1.02))
            self.fc = nn.Linear(6, num_classes)

        def forward(self, x: Any) -> Any:
            out = self.body(self.stem(x))
            pool = torch.mean(out, dim=(2, 3))
            return self.fc(pool)

    return NFNet()


def _agc(torch: Any) -> type:
    optim = torch.optim

    def unitwise_norm(x: Any) -> Any:
        if x.ndim <= 1:
            dim = 0
            keepdim = False
        elif x.ndim in [2, 3]:
            dim = 0
            keepdim = True
        elif x.ndim == 4:
            dim = [1, 2, 3]
            keepdim = True
        else:
            raise ValueError("Wrong input dimensions")

        return torch.sum(x**2, dim=dim, keepdim=keepdim) ** 0.5

    class AGC(optim.Optimizer):
        """Generic implementation of the Adaptive Gradient Clipping"""

        def __init__(self, params: Any, optim: Any, clipping: float = 1e-2, eps: float = 1e-3,
                     model: Any = None, ignore_agc: Any = ("fc",)) -> None:  # fmt: skip
            if clipping < 0.0:
                raise ValueError(f"Invalid clipping value: {clipping}")
            if eps < 0.0:
                raise ValueError(f"Invalid eps value: {eps}")

            self.optim = optim

            defaults = dict(clipping=clipping, eps=eps)
            defaults = {**defaults, **optim.defaults}

            if not isinstance(ignore_agc, (list, tuple)):
                ignore_agc = [ignore_agc]

            if model is not None:
                assert ignore_agc not in [None, []]
                names = [name for name, module in model.named_modules()]

                for module_name in ignore_agc:
                    if module_name not in names:
                        raise ModuleNotFoundError(
                            f"Module name {module_name} not found in the model"
                        )
                params = [
                    {"params": list(module.parameters())}
                    for name, module in model.named_modules()
                    if name not in ignore_agc
                ]
            else:
                params = [{"params": params}]

            self.agc_params = params
            self.eps = eps
            self.clipping = clipping

            self.param_groups = optim.param_groups
            self.state = optim.state

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()  # noqa: F841 (as in the repository)

            for group in self.agc_params:
                for p in group["params"]:
                    if p.grad is None:
                        continue

                    param_norm = torch.max(
                        unitwise_norm(p.detach()), torch.tensor(self.eps).to(p.device)
                    )
                    grad_norm = unitwise_norm(p.grad.detach())
                    max_norm = param_norm * self.clipping

                    trigger = grad_norm > max_norm

                    clipped_grad = p.grad * (
                        max_norm / torch.max(grad_norm, torch.tensor(1e-6).to(grad_norm.device))
                    )
                    p.grad.detach().data.copy_(torch.where(trigger, clipped_grad, p.grad))

            return self.optim.step(closure)

        def zero_grad(self, set_to_none: bool = False) -> None:
            self.optim.zero_grad(set_to_none=set_to_none)

    return AGC


def adaptive_clip_grad(torch: Any, parameters: Any, clip_factor: float = 0.01,
                       eps: float = 1e-3, norm_type: float = 2.0) -> None:  # fmt: skip
    def unitwise_norm(x: Any, norm_type: float = 2.0) -> Any:
        if x.ndim <= 1:
            return x.norm(norm_type)
        else:
            # works for nn.ConvNd and nn,Linear where output dim is first in the kernel/weight
            # tensor might need special cases for other weights (possibly MHA) where this
            # may not be true
            return x.norm(norm_type, dim=tuple(range(1, x.ndim)), keepdim=True)

    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    for p in parameters:
        if p.grad is None:
            continue
        p_data = p.detach()
        g_data = p.grad.detach()
        max_norm = unitwise_norm(p_data, norm_type=norm_type).clamp_(min=eps).mul_(clip_factor)
        grad_norm = unitwise_norm(g_data, norm_type=norm_type)
        clipped_grad = g_data * (max_norm / grad_norm.clamp(min=1e-6))
        new_grads = torch.where(grad_norm < max_norm, g_data, clipped_grad)
        p.grad.detach().copy_(new_grads)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(8)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = nn.CrossEntropyLoss()
    base = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    optimizer = _agc(torch)(model.parameters(), base, clipping=0.05, model=model,
                            ignore_agc=["fc"])  # fmt: skip
    values: list[float] = []
    for step in range(6):
        x = as_tensor(torch, rng.normal(size=(4, 3, 8, 8)))
        y = as_tensor(torch, rng.integers(0, 3, size=4))
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        if step < 3:
            optimizer.step()
        else:
            adaptive_clip_grad(torch, model.parameters(), clip_factor=0.05)
            base.step()
        grads = sum(float(p.grad.abs().sum()) for p in model.parameters())
        values += [loss.item(), grads, model.body[0].skipinit_gain.item()]
    return values
