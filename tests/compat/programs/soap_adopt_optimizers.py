"""Two 2024 optimizers as their repositories write them, as ``torch.optim.Optimizer``
subclasses: nikhilvyas/SOAP's ``SOAP`` (``soap.py``: Adam run in the eigenbasis of Shampoo's
preconditioner) and iShohei220/adopt's ``ADOPT`` (``adopt.py``, the single-tensor path), on a
tiny convolutional regression, size-reduced.

SOAP: ``defaults = {"lr": lr, "betas": betas, "shampoo_beta": shampoo_beta, "eps": eps,
"weight_decay": weight_decay, "precondition_frequency": ..., "max_precond_dim": ...,
"merge_dims": ..., "precondition_1d": ..., "normalize_grads": ..., "correct_bias": ...}``;
``merge_dims`` (``new_shape.append(curr_shape)``, ``grad.reshape(new_shape)``);
``init_preconditioner`` (``state['GG'].append(torch.zeros(sh, sh, device=grad.device))`` or
``[]`` for dims over ``max_precond_dim``); ``update_preconditioner`` with
``torch.tensordot(grad, grad, dims=[[*chain(range(idx), range(idx + 1, len(grad.shape)))]] * 2)``
and ``state['GG'][idx].lerp_(outer_product, 1 - group['shampoo_beta'])``; ``get_orthogonal_matrix``
(``torch.linalg.eigh(m + 1e-30 * torch.eye(m.shape[0], device=m.device))``, ``Q = torch.flip(Q,
[1])``); ``get_orthogonal_matrix_QR`` (``est_eig = torch.diag(o.T @ m @ o)``, ``sort_idx =
torch.argsort(est_eig, descending=True)``, ``exp_avg_sq = exp_avg_sq.index_select(ind,
sort_idx)``, ``power_iter = m @ o``, ``Q, _ = torch.linalg.qr(power_iter)``);
``project``/``project_back`` as ``torch.tensordot(grad, mat, dims=[[0], [0 or 1]])`` over every
dim in turn; ``step`` (``if 'step' not in state: state['step'] = 0``, the first step only
fitting the preconditioner and returning, ``exp_avg.mul_(beta1).add_(grad_projected, alpha=(1.0 -
beta1))``, ``exp_avg_sq.mul_(beta2).add_(grad_projected.square(), alpha=(1.0 - beta2))``,
``denom = exp_avg_sq.sqrt().add_(group["eps"])``, the bias-corrected ``step_size``,
``p.add_(norm_grad, alpha=-step_size)``, ``p.add_(p, alpha=(-group["lr"] *
group["weight_decay"]))``).

ADOPT: ``defaults`` with ``decouple``/``foreach``/``capturable``; ``_init_group``'s lazy state
(``state["step"] = torch.tensor(0.0, dtype=_get_scalar_dtype())``, ``torch.zeros_like(p,
memory_format=torch.preserve_format)``); ``_single_tensor_adopt`` (``step_t += 1``, the first
step only ``exp_avg_sq.addcmul_(grad, grad.conj())``, ``denom = torch.clamp(exp_avg_sq.sqrt(),
eps)``, ``normed_grad = grad.div(denom)``, ``clip = step ** 0.25``,
``normed_grad.clamp_(-clip, clip)``, ``exp_avg.lerp_(normed_grad, 1 - beta1)``,
``param.add_(exp_avg, alpha=-lr)``, ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj(),
value=1 - beta2)``); ``__setstate__``'s ``group.setdefault`` and the ``state_dict`` /
``load_state_dict`` round trip into a fresh optimizer that must continue identically.

Changed: a Conv2d(2, 3, 3) + Linear head on 6x6 inputs, 5 steps each, ``precondition_frequency``
2, ``max_precond_dim`` 8 (so the Linear's 48-wide input dim stays unpreconditioned; every
preconditioned factor is full rank, whose eigenvectors LAPACK builds fix up to sign, to which SOAP
is invariant);
SOAP's ``torch.compile`` decorations dropped.
"""

from __future__ import annotations

import copy
from itertools import chain
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BATCH, STEPS = 4, 5


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.GELU(), nn.Flatten(), nn.Linear(48, 2))


def make_optimizers(torch_like: Any) -> tuple:
    torch = torch_like
    Optimizer = torch.optim.Optimizer

    class SOAP(Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float = 3e-3,
            betas: tuple = (0.95, 0.95),
            shampoo_beta: float = -1,
            eps: float = 1e-8,
            weight_decay: float = 0.01,
            precondition_frequency: int = 10,
            max_precond_dim: int = 10000,
            merge_dims: bool = False,
            precondition_1d: bool = False,
            normalize_grads: bool = False,
            data_format: str = "channels_first",
            correct_bias: bool = True,
        ) -> None:
            defaults = {
                "lr": lr,
                "betas": betas,
                "shampoo_beta": shampoo_beta,
                "eps": eps,
                "weight_decay": weight_decay,
                "precondition_frequency": precondition_frequency,
                "max_precond_dim": max_precond_dim,
                "merge_dims": merge_dims,
                "precondition_1d": precondition_1d,
                "normalize_grads": normalize_grads,
                "correct_bias": correct_bias,
            }
            super().__init__(params, defaults)
            self._data_format = data_format

        def merge_dims(self, grad: Any, max_precond_dim: int) -> Any:
            assert self._data_format in ["channels_first", "channels_last"]
            shape = grad.shape
            new_shape = []
            curr_shape = 1
            for sh in shape:
                temp_shape = curr_shape * sh
                if temp_shape > max_precond_dim:
                    if curr_shape > 1:
                        new_shape.append(curr_shape)
                        curr_shape = sh
                    else:
                        new_shape.append(sh)
                        curr_shape = 1
                else:
                    curr_shape = temp_shape
            if curr_shape > 1 or len(new_shape) == 0:
                new_shape.append(curr_shape)
            new_grad = grad.reshape(new_shape)
            return new_grad

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None if closure is None else closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    state = self.state[p]
                    if "step" not in state:
                        state["step"] = 0
                    if "exp_avg" not in state:
                        state["exp_avg"] = torch.zeros_like(grad)
                        state["exp_avg_sq"] = torch.zeros_like(grad)
                    if "Q" not in state:
                        shampoo_beta = (
                            group["shampoo_beta"]
                            if group["shampoo_beta"] >= 0
                            else group["betas"][1]
                        )
                        self.init_preconditioner(
                            grad,
                            state,
                            group["precondition_frequency"],
                            shampoo_beta,
                            group["max_precond_dim"],
                            group["precondition_1d"],
                            group["merge_dims"],
                        )
                        self.update_preconditioner(
                            grad,
                            state,
                            group["max_precond_dim"],
                            group["merge_dims"],
                            group["precondition_1d"],
                        )
                        continue
                    grad_projected = self.project(
                        grad,
                        state,
                        merge_dims=group["merge_dims"],
                        max_precond_dim=group["max_precond_dim"],
                    )
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    exp_avg.mul_(beta1).add_(grad_projected, alpha=(1.0 - beta1))
                    exp_avg_sq.mul_(beta2).add_(grad_projected.square(), alpha=(1.0 - beta2))
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                    exp_avg_projected = exp_avg
                    step_size = group["lr"]
                    if group["correct_bias"]:
                        bias_correction1 = 1.0 - beta1 ** (state["step"])
                        bias_correction2 = 1.0 - beta2 ** (state["step"])
                        step_size = step_size * (bias_correction2**0.5) / bias_correction1
                    norm_grad = self.project_back(
                        exp_avg_projected / denom,
                        state,
                        merge_dims=group["merge_dims"],
                        max_precond_dim=group["max_precond_dim"],
                    )
                    if group["normalize_grads"]:
                        norm_grad = norm_grad / (1e-30 + torch.mean(norm_grad**2) ** 0.5)
                    p.add_(norm_grad, alpha=-step_size)
                    if group["weight_decay"] > 0.0:
                        p.add_(p, alpha=(-group["lr"] * group["weight_decay"]))
                    self.update_preconditioner(
                        grad,
                        state,
                        max_precond_dim=group["max_precond_dim"],
                        merge_dims=group["merge_dims"],
                        precondition_1d=group["precondition_1d"],
                    )
            return loss

        def init_preconditioner(
            self,
            grad: Any,
            state: dict,
            precondition_frequency: int,
            shampoo_beta: float,
            max_precond_dim: int,
            precondition_1d: bool,
            merge_dims: bool,
        ) -> None:
            state["GG"] = []
            if grad.dim() == 1:
                if not precondition_1d or grad.shape[0] > max_precond_dim:
                    state["GG"].append([])
                else:
                    state["GG"].append(
                        torch.zeros(grad.shape[0], grad.shape[0], device=grad.device)
                    )
            else:
                if merge_dims:
                    grad = self.merge_dims(grad, max_precond_dim)
                for sh in grad.shape:
                    if sh > max_precond_dim:
                        state["GG"].append([])
                    else:
                        state["GG"].append(torch.zeros(sh, sh, device=grad.device))
            state["Q"] = None
            state["precondition_frequency"] = precondition_frequency
            state["shampoo_beta"] = shampoo_beta

        def project(self, grad: Any, state: dict, merge_dims: bool, max_precond_dim: int) -> Any:
            original_shape = grad.shape
            if merge_dims:
                grad = self.merge_dims(grad, max_precond_dim)
            for mat in state["Q"]:
                if len(mat) > 0:
                    grad = torch.tensordot(grad, mat, dims=[[0], [0]])
                else:
                    permute_order = list(range(1, len(grad.shape))) + [0]
                    grad = grad.permute(permute_order)
            if merge_dims:
                grad = grad.reshape(original_shape)
            return grad

        def update_preconditioner(
            self,
            grad: Any,
            state: dict,
            max_precond_dim: int = 10000,
            merge_dims: bool = False,
            precondition_1d: bool = False,
        ) -> None:
            if state["Q"] is not None:
                state["exp_avg"] = self.project_back(
                    state["exp_avg"], state, merge_dims=merge_dims, max_precond_dim=max_precond_dim
                )
            if grad.dim() == 1:
                if precondition_1d and grad.shape[0] <= max_precond_dim:
                    state["GG"][0].lerp_(
                        grad.unsqueeze(1) @ grad.unsqueeze(0), 1 - state["shampoo_beta"]
                    )
            else:
                if merge_dims:
                    new_grad = self.merge_dims(grad, max_precond_dim)
                    for idx, sh in enumerate(new_grad.shape):
                        if sh <= max_precond_dim:
                            outer_product = torch.tensordot(
                                new_grad,
                                new_grad,
                                dims=[[*chain(range(idx), range(idx + 1, len(new_grad.shape)))]]
                                * 2,
                            )
                            state["GG"][idx].lerp_(outer_product, 1 - state["shampoo_beta"])
                else:
                    for idx, sh in enumerate(grad.shape):
                        if sh <= max_precond_dim:
                            outer_product = torch.tensordot(
                                grad,
                                grad,
                                dims=[[*chain(range(idx), range(idx + 1, len(grad.shape)))]] * 2,
                            )
                            state["GG"][idx].lerp_(outer_product, 1 - state["shampoo_beta"])
            if state["Q"] is None:
                state["Q"] = self.get_orthogonal_matrix(state["GG"])
            if state["step"] > 0 and state["step"] % state["precondition_frequency"] == 0:
                state["Q"] = self.get_orthogonal_matrix_QR(state, max_precond_dim, merge_dims)
            if state["step"] > 0:
                state["exp_avg"] = self.project(
                    state["exp_avg"], state, merge_dims=merge_dims, max_precond_dim=max_precond_dim
                )

        def project_back(
            self, grad: Any, state: dict, merge_dims: bool, max_precond_dim: int
        ) -> Any:
            original_shape = grad.shape
            if merge_dims:
                grad = self.merge_dims(grad, max_precond_dim)
            for mat in state["Q"]:
                if len(mat) > 0:
                    grad = torch.tensordot(grad, mat, dims=[[0], [1]])
                else:
                    permute_order = list(range(1, len(grad.shape))) + [0]
                    grad = grad.permute(permute_order)
            if merge_dims:
                grad = grad.reshape(original_shape)
            return grad

        def get_orthogonal_matrix(self, mat: list) -> list:
            matrix = []
            for m in mat:
                if len(m) == 0:
                    matrix.append([])
                    continue
                if m.data.dtype != torch.float:
                    float_data = False
                    original_type = m.data.dtype
                    original_device = m.data.device
                    matrix.append(m.data.float())
                else:
                    float_data = True
                    matrix.append(m.data)
            final = []
            for m in matrix:
                if len(m) == 0:
                    final.append([])
                    continue
                try:
                    _, Q = torch.linalg.eigh(m + 1e-30 * torch.eye(m.shape[0], device=m.device))
                except Exception:
                    _, Q = torch.linalg.eigh(
                        m.to(torch.float64) + 1e-30 * torch.eye(m.shape[0], device=m.device)
                    )
                    Q = Q.to(m.dtype)
                Q = torch.flip(Q, [1])
                if not float_data:
                    Q = Q.to(original_device).type(original_type)
                final.append(Q)
            return final

        def get_orthogonal_matrix_QR(
            self, state: dict, max_precond_dim: int = 10000, merge_dims: bool = False
        ) -> list:
            precond_list = state["GG"]
            orth_list = state["Q"]
            matrix = []
            orth_matrix = []
            for m, o in zip(precond_list, orth_list):
                if len(m) == 0:
                    matrix.append([])
                    orth_matrix.append([])
                    continue
                matrix.append(m.data)
                orth_matrix.append(o.data)
            orig_shape = state["exp_avg_sq"].shape
            if merge_dims:
                exp_avg_sq = self.merge_dims(state["exp_avg_sq"], max_precond_dim)
            else:
                exp_avg_sq = state["exp_avg_sq"]
            final = []
            for ind, (m, o) in enumerate(zip(matrix, orth_matrix)):
                if len(m) == 0:
                    final.append([])
                    continue
                est_eig = torch.diag(o.T @ m @ o)
                sort_idx = torch.argsort(est_eig, descending=True)
                exp_avg_sq = exp_avg_sq.index_select(ind, sort_idx)
                o = o[:, sort_idx]
                power_iter = m @ o
                Q, _ = torch.linalg.qr(power_iter)
                final.append(Q)
            if merge_dims:
                exp_avg_sq = exp_avg_sq.reshape(orig_shape)
            state["exp_avg_sq"] = exp_avg_sq
            return final

    class ADOPT(Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float = 1e-3,
            betas: tuple = (0.9, 0.9999),
            eps: float = 1e-6,
            clip_lambda: Any = lambda step: step**0.25,
            weight_decay: float = 0.0,
            decouple: bool = False,
            *,
            foreach: Any = None,
            maximize: bool = False,
            capturable: bool = False,
            differentiable: bool = False,
            fused: Any = None,
        ) -> None:
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            self.clip_lambda = clip_lambda
            defaults = dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                decouple=decouple,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
                fused=fused,
            )
            super().__init__(params, defaults)

        def __setstate__(self, state: dict) -> None:
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("maximize", False)
                group.setdefault("foreach", None)
                group.setdefault("capturable", False)
                group.setdefault("differentiable", False)

        def _init_group(
            self,
            group: dict,
            params_with_grad: list,
            grads: list,
            exp_avgs: list,
            exp_avg_sqs: list,
            state_steps: list,
        ) -> None:
            for p in group["params"]:
                if p.grad is None:
                    continue
                params_with_grad.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0, dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                state_steps.append(state["step"])

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                params_with_grad: list = []
                grads: list = []
                exp_avgs: list = []
                exp_avg_sqs: list = []
                state_steps: list = []
                beta1, beta2 = group["betas"]
                self._init_group(group, params_with_grad, grads, exp_avgs, exp_avg_sqs, state_steps)
                for i, param in enumerate(params_with_grad):
                    grad = grads[i] if not group["maximize"] else -grads[i]
                    exp_avg = exp_avgs[i]
                    exp_avg_sq = exp_avg_sqs[i]
                    step_t = state_steps[i]
                    step_t += 1
                    if group["weight_decay"] != 0:
                        if group["decouple"]:
                            param.mul_(1 - group["lr"] * group["weight_decay"])
                        else:
                            grad = grad.add(param, alpha=group["weight_decay"])
                    step = step_t.item()
                    if step == 1:
                        exp_avg_sq.addcmul_(grad, grad.conj())
                        continue
                    denom = torch.clamp(exp_avg_sq.sqrt(), group["eps"])
                    normed_grad = grad.div(denom)
                    if self.clip_lambda is not None:
                        clip = self.clip_lambda(step)
                        normed_grad.clamp_(-clip, clip)
                    exp_avg.lerp_(normed_grad, 1 - beta1)
                    param.add_(exp_avg, alpha=-group["lr"])
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj(), value=1 - beta2)
            return loss

    return SOAP, ADOPT


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    SOAP, ADOPT = make_optimizers(torch_like)
    rng = np.random.default_rng(21)
    xs = [as_tensor(torch, rng.standard_normal((BATCH, 2, 6, 6))) for _ in range(STEPS)]
    ys = [as_tensor(torch, rng.standard_normal((BATCH, 2))) for _ in range(STEPS)]
    values: list[float] = []
    for name in ("soap", "soap_merged", "adopt"):
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        if name == "adopt":
            opt = ADOPT(model.parameters(), lr=1e-2, weight_decay=0.01, decouple=True)
        else:
            opt = SOAP(
                model.parameters(),
                lr=1e-2,
                betas=(0.9, 0.95),
                precondition_frequency=2,
                max_precond_dim=8,
                merge_dims=name == "soap_merged",
            )
        for i in range(STEPS):
            if name == "adopt" and i == 3:  # resume from a state dict mid-run
                saved = copy.deepcopy(opt.state_dict())
                opt = ADOPT(model.parameters(), lr=1e-2, weight_decay=0.01, decouple=True)
                opt.load_state_dict(saved)
            loss = F.mse_loss(model(xs[i]), ys[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(loss.item())
        values.append(sum(p.abs().sum().item() for p in model.parameters()))
    return values
