"""AdaHessian, as amirgholami/adahessian's ``image_classification/optim_adahessian.py`` and the
``torch-optimizer`` / timm ``Adahessian`` port write it, training a small CNN, size-reduced.

The idioms: a ``torch.optim.Optimizer`` subclass keeping ``p.hess = 0.0`` on each parameter,
``self.state[p]["hessian step"]`` and its own ``torch.Generator().manual_seed(seed)``;
``get_params()`` over ``self.param_groups``; ``zero_hessian`` (``p.hess.zero_()``);
``set_hessian`` under ``@torch.no_grad()``: Rademacher vectors ``torch.randint(0, 2, p.size(),
generator=self.generator) * 2.0 - 1.0`` and the Hessian-vector products
``torch.autograd.grad(grads, params, grad_outputs=zs, only_inputs=True,
retain_graph=i < self.n_samples - 1)`` of the gradients kept by ``loss.backward(
create_graph=True)``, accumulated as ``p.hess += h_z * z / self.n_samples``; the spatial
averaging of conv kernels ``torch.abs(p.hess).mean(dim=[2, 3], keepdim=True).expand_as(
p.hess).clone()``; the step ``p.mul_(1 - lr * weight_decay)``, ``exp_avg.mul_(beta1).add_(
p.grad, alpha=1 - beta1)``, ``exp_hessian_diag_sq.mul_(beta2).addcmul_(p.hess, p.hess,
value=1 - beta2)``, ``(exp_hessian_diag_sq / bias_correction2).pow_(k / 2).add_(eps)`` and
``p.addcdiv_(exp_avg, denom, value=-step_size)``; the original repo's older
``get_trace`` form with ``torch.randint_like(p, high=2)`` and ``v_i[v_i == 0] = -1`` and its
``hv.abs().mean(dim=[2, 3], keepdim=True)``; and the loop's ``optimizer.zero_grad(
set_to_none=True)`` (the graph of the previous gradients released), a ``MultiStepLR``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STEPS = 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.Softplus(),  # a twice-differentiable activation keeps the Hessian informative
        nn.Conv2d(3, 4, 3, stride=2),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 2 * 2, 3),
    )


def _optimizer_class(torch_like: Any) -> Any:
    torch = torch_like

    class Adahessian(torch.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 0.1, betas: tuple = (0.9, 0.999),
                     eps: float = 1e-4, weight_decay: float = 0.0, hessian_power: float = 1.0,
                     update_each: int = 1, n_samples: int = 1,
                     average_conv_kernel: bool = False,
                     seed: int = 2147483647) -> None:  # fmt: skip
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            if not 0.0 <= hessian_power <= 1.0:
                raise ValueError(f"Invalid Hessian power value: {hessian_power}")
            self.n_samples = n_samples
            self.update_each = update_each
            self.average_conv_kernel = average_conv_kernel
            self.seed = seed
            self.generator = torch.Generator().manual_seed(self.seed)
            defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                            hessian_power=hessian_power)  # fmt: skip
            super().__init__(params, defaults)
            for p in self.get_params():
                p.hess = 0.0
                self.state[p]["hessian step"] = 0

        def get_params(self) -> Any:
            return (p for group in self.param_groups for p in group["params"] if p.requires_grad)

        def zero_hessian(self) -> None:
            for p in self.get_params():
                if (
                    not isinstance(p.hess, float)
                    and self.state[p]["hessian step"] % self.update_each == 0
                ):
                    p.hess.zero_()

        @torch.no_grad()
        def set_hessian(self) -> None:
            params = []
            for p in filter(lambda p: p.grad is not None, self.get_params()):
                if self.state[p]["hessian step"] % self.update_each == 0:
                    params.append(p)
                self.state[p]["hessian step"] += 1
            if len(params) == 0:
                return
            if self.generator.device != params[0].device:
                self.generator = torch.Generator(params[0].device).manual_seed(self.seed)
            grads = [p.grad for p in params]
            for i in range(self.n_samples):
                zs = [torch.randint(0, 2, p.size(), generator=self.generator, device=p.device)
                      * 2.0 - 1.0 for p in params]  # fmt: skip
                h_zs = torch.autograd.grad(grads, params, grad_outputs=zs, only_inputs=True,
                                           retain_graph=i < self.n_samples - 1)  # fmt: skip
                for h_z, z, p in zip(h_zs, zs, params):
                    p.hess += h_z * z / self.n_samples

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                loss = closure()
            self.zero_hessian()
            self.set_hessian()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None or p.hess is None:
                        continue
                    if self.average_conv_kernel and p.dim() == 4:
                        p.hess = (
                            torch.abs(p.hess)
                            .mean(dim=[2, 3], keepdim=True)
                            .expand_as(p.hess)
                            .clone()
                        )
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    state = self.state[p]
                    if len(state) == 1:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(p.data)
                        state["exp_hessian_diag_sq"] = torch.zeros_like(p.data)
                    exp_avg, exp_hessian_diag_sq = state["exp_avg"], state["exp_hessian_diag_sq"]
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    exp_avg.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                    exp_hessian_diag_sq.mul_(beta2).addcmul_(p.hess, p.hess, value=1 - beta2)
                    bias_correction1 = 1 - beta1 ** state["step"]
                    bias_correction2 = 1 - beta2 ** state["step"]
                    k = group["hessian_power"]
                    denom = (exp_hessian_diag_sq / bias_correction2).pow_(k / 2).add_(group["eps"])
                    step_size = group["lr"] / bias_correction1
                    p.addcdiv_(exp_avg, denom, value=-step_size)
            return loss

    return Adahessian


def get_trace(torch_like: Any, params: list, grads: list) -> list:
    """The original repository's first ``get_trace`` (Hutchinson with ``randint_like``)."""
    torch = torch_like
    v = [torch.randint_like(p, high=2) for p in params]
    for v_i in v:
        v_i[v_i == 0] = -1
    hvs = torch.autograd.grad(grads, params, grad_outputs=v, only_inputs=True, retain_graph=True)
    hutchinson_trace = []
    for hv in hvs:
        param_size = hv.size()
        if len(param_size) <= 2:
            tmp_output = torch.abs(hv)
        else:
            tmp_output = torch.abs(hv).mean(dim=[2, 3], keepdim=True)
        hutchinson_trace.append(tmp_output)
    return hutchinson_trace


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    Adahessian = _optimizer_class(torch_like)
    rng = np.random.default_rng(9)
    x = as_tensor(torch_like, rng.standard_normal((6, 1, 5, 5)))
    y = as_tensor(torch_like, rng.integers(0, 3, 6))
    values: list[float] = []
    for average, n_samples in ((False, 1), (True, 2)):
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        optimizer = Adahessian(
            model.parameters(), lr=0.05, weight_decay=1e-3, n_samples=n_samples,
            average_conv_kernel=average, update_each=1 + int(average),
        )  # fmt: skip
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [2], gamma=0.5)
        for _step in range(STEPS):
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward(create_graph=True)
            optimizer.step()
            scheduler.step()
            values.append(loss.item())
            values.append(sum(float(p.hess.abs().sum()) for p in model.parameters()))
    torch.manual_seed(0)
    loss = F.cross_entropy(model(x), y)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, create_graph=True)
    values += [t.sum().item() for t in get_trace(torch_like, params, grads)]
    return values
