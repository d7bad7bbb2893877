"""GaLore (gradient low-rank projection), as jiaweizzhao/GaLore's ``galore_torch`` package and its
``torchrun_main.py`` write it, on a tiny pre-norm transformer block, size-reduced.

The idioms: ``GaLoreProjector`` with ``project(full_rank_grad, iter)`` choosing the side by
``full_rank_grad.shape[0] >= full_rank_grad.shape[1]``, refreshing ``self.ortho_matrix`` when
``self.ortho_matrix is None or iter % self.update_proj_gap == 0``, ``torch.matmul(full_rank_grad,
self.ortho_matrix.t().to(full_rank_grad.device.type))`` and ``project_back`` times
``self.scale``; ``get_orthogonal_matrix`` checking ``module_params.data.dtype != torch.float``,
``U, s, Vh = torch.linalg.svd(matrix, full_matrices=False)`` and ``Vh[:rank, :]`` /
``U[:, :rank]``; the ``AdamW(Optimizer)`` subclass with ``@torch.no_grad() def step(self,
closure=None)``, ``if "rank" in group`` choosing the projected path, ``state["projector"]``,
``state["step"]`` an int, ``exp_avg.mul_(beta1).add_(grad, alpha=(1.0 - beta1))``,
``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)``,
``exp_avg_sq.sqrt().add_(group["eps"])``, the ``math.sqrt(bias_correction2) /
bias_correction1`` step size, ``p.add_(norm_grad, alpha=-step_size)`` and the decoupled
``p.add_(p, alpha=(-group["lr"] * group["weight_decay"]))``; the training script's parameter
split (``named_modules()``, ``isinstance(module, nn.Linear)``, ``target_modules_list = ["attn",
"mlp"]``, ``id_galore_params = [id(p) for p in galore_params]``) into two param groups, the
galore group carrying ``rank``, ``update_proj_gap``, ``scale`` and ``proj_type``; and the
layer-wise variant: one optimizer per parameter in ``optimizer_dict[p]`` stepped from
``p.register_post_accumulate_grad_hook(optimizer_hook)`` (``torch.optim.Adam`` for the rest),
each compared with torch.

Changed: a one-block transformer (width 8, 2 heads) on random tokens, rank 2, projector refresh
every 3 steps, a few steps; float32, as GaLore's float path runs. The singular vectors get
scikit-learn's ``svd_flip`` sign (LAPACK builds may return either sign, and the low-rank Adam
moments outlive a projector refresh, so the sign changes the trajectory).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5
VOCAB, DIM, HEADS, SEQ, BATCH, STEPS, RANK, GAP = 13, 8, 2, 5, 3, 7, 2, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(DIM, 3 * DIM, bias=False)
            self.proj = nn.Linear(DIM, DIM, bias=False)

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = self.qkv(x).split(DIM, dim=2)
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.ln1 = nn.LayerNorm(DIM)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 4 * DIM), nn.SiLU(), nn.Linear(4 * DIM, DIM))
            self.head = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, idx: Any) -> Any:
            x = self.embed(idx)
            x = x + self.attn(self.ln1(x))
            x = x + self.mlp(self.ln2(x))
            return self.head(x)

    return Block()


def _galore(torch_like: Any) -> type:
    torch = torch_like

    def svd_flip(u: Any, v: Any) -> tuple[Any, Any]:
        # scikit-learn's u-based decision: each column of u gets its largest entry positive
        max_abs_cols = torch.argmax(torch.abs(u), dim=0)
        signs = torch.sign(u[max_abs_cols, torch.arange(u.shape[1])])
        return u * signs, v * signs.unsqueeze(1)

    class GaLoreProjector:
        def __init__(
            self,
            rank: int,
            verbose: bool = False,
            update_proj_gap: int = 200,
            scale: float = 1.0,
            proj_type: str = "std",
        ) -> None:
            self.rank = rank
            self.verbose = verbose
            self.update_proj_gap = update_proj_gap
            self.scale = scale
            self.ortho_matrix = None
            self.proj_type = proj_type

        def project(self, full_rank_grad: Any, iter: int) -> Any:
            if full_rank_grad.shape[0] >= full_rank_grad.shape[1]:
                if self.ortho_matrix is None or iter % self.update_proj_gap == 0:
                    self.ortho_matrix = self.get_orthogonal_matrix(
                        full_rank_grad, self.rank, type="right"
                    )
                low_rank_grad = torch.matmul(
                    full_rank_grad, self.ortho_matrix.t().to(full_rank_grad.device.type)
                )
            else:
                if self.ortho_matrix is None or iter % self.update_proj_gap == 0:
                    self.ortho_matrix = self.get_orthogonal_matrix(
                        full_rank_grad, self.rank, type="left"
                    )
                low_rank_grad = torch.matmul(
                    self.ortho_matrix.t().to(full_rank_grad.device.type), full_rank_grad
                )
            return low_rank_grad

        def project_back(self, low_rank_grad: Any) -> Any:
            if low_rank_grad.shape[0] >= low_rank_grad.shape[1]:
                full_rank_grad = torch.matmul(
                    low_rank_grad, self.ortho_matrix.to(low_rank_grad.device.type)
                )
            else:
                full_rank_grad = torch.matmul(
                    self.ortho_matrix.to(low_rank_grad.device.type), low_rank_grad
                )
            return full_rank_grad * self.scale

        def get_orthogonal_matrix(self, weights: Any, rank: int, type: str) -> Any:
            module_params = weights
            if module_params.data.dtype != torch.float:
                float_data = False
                original_type = module_params.data.dtype
                original_device = module_params.data.device
                matrix = module_params.data.float()
            else:
                float_data = True
                matrix = module_params.data
            U, s, Vh = torch.linalg.svd(matrix, full_matrices=False)
            U, Vh = svd_flip(U, Vh)  # not GaLore's: LAPACK builds may return either sign
            if type == "right":
                B = Vh[:rank, :]
                if not float_data:
                    B = B.to(original_device).type(original_type)
                return B
            elif type == "left":
                A = U[:, :rank]
                if not float_data:
                    A = A.to(original_device).type(original_type)
                return A
            raise ValueError("type should be left, right or full")

    class AdamW(torch.optim.Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float = 1e-3,
            betas: tuple = (0.9, 0.999),
            eps: float = 1e-6,
            weight_decay: float = 0.0,
            correct_bias: bool = True,
        ) -> None:
            if lr < 0.0:
                raise ValueError(f"Invalid learning rate: {lr} - should be >= 0.0")
            if not 0.0 <= betas[0] < 1.0:
                raise ValueError(f"Invalid beta parameter: {betas[0]} - should be in [0.0, 1.0)")
            defaults = {
                "lr": lr,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
                "correct_bias": correct_bias,
            }
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    if grad.is_sparse:
                        raise RuntimeError("Adam does not support sparse gradients")
                    state = self.state[p]
                    if "step" not in state:
                        state["step"] = 0
                    # GaLore Projection
                    if "rank" in group:
                        if "projector" not in state:
                            state["projector"] = GaLoreProjector(
                                group["rank"],
                                update_proj_gap=group["update_proj_gap"],
                                scale=group["scale"],
                                proj_type=group["proj_type"],
                            )
                        grad = state["projector"].project(grad, state["step"])
                    if "exp_avg" not in state:
                        state["exp_avg"] = torch.zeros_like(grad)
                        state["exp_avg_sq"] = torch.zeros_like(grad)
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    exp_avg.mul_(beta1).add_(grad, alpha=(1.0 - beta1))
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                    step_size = group["lr"]
                    if group["correct_bias"]:
                        bias_correction1 = 1.0 - beta1 ** state["step"]
                        bias_correction2 = 1.0 - beta2 ** state["step"]
                        step_size = step_size * math.sqrt(bias_correction2) / bias_correction1
                    norm_grad = exp_avg / denom
                    # GaLore Projection Back
                    if "rank" in group:
                        norm_grad = state["projector"].project_back(norm_grad)
                    p.add_(norm_grad, alpha=-step_size)
                    if group["weight_decay"] > 0.0:
                        p.add_(p, alpha=(-group["lr"] * group["weight_decay"]))
            return loss

    return AdamW


def _split(torch_like: Any, model: Any) -> tuple[list, list]:
    galore_params = []
    target_modules_list = ["attn", "mlp"]
    for module_name, module in model.named_modules():
        if not isinstance(module, torch_like.nn.Linear):
            continue
        if not any(target_key in module_name for target_key in target_modules_list):
            continue
        galore_params.append(module.weight)
    id_galore_params = [id(p) for p in galore_params]
    regular_params = [p for p in model.parameters() if id(p) not in id_galore_params]
    return galore_params, regular_params


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    galore_adamw = _galore(torch)
    data = [as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1))) for _ in range(STEPS)]
    values: list[float] = []

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    galore_params, regular_params = _split(torch, model)
    values += [float(len(galore_params)), float(len(regular_params))]
    param_groups = [
        {"params": regular_params},
        {
            "params": galore_params,
            "rank": RANK,
            "update_proj_gap": GAP,
            "scale": 0.25,
            "proj_type": "std",
        },
    ]
    optimizer = galore_adamw(param_groups, lr=1e-2, weight_decay=0.01)
    for batch in data:
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.view(-1, VOCAB), batch[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        values.append(loss.item())
    state = optimizer.state[model.attn.qkv.weight]
    values += [float(state["step"]), *state["exp_avg"].shape]
    values += list(state["projector"].ortho_matrix.shape)
    values.append(state["projector"].ortho_matrix.abs().sum().item())
    values.append(model.mlp[2].weight.norm().item())

    # layer-wise: an optimizer per parameter, stepped from the post-accumulate-grad hook
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    galore_params, _ = _split(torch, model)
    id_galore_params = [id(p) for p in galore_params]
    optimizer_dict = {}
    for p in model.parameters():
        if p.requires_grad:
            if id(p) in id_galore_params:
                optimizer_dict[p] = galore_adamw(
                    [
                        {
                            "params": [p],
                            "rank": RANK,
                            "update_proj_gap": GAP * 2,
                            "scale": 0.25,
                            "proj_type": "std",
                        }
                    ],
                    lr=1e-2,
                    weight_decay=0.0,
                )
            else:
                optimizer_dict[p] = torch.optim.Adam([p], lr=1e-2, weight_decay=0.0)

    def optimizer_hook(p: Any) -> None:
        if p.grad is None:
            return
        optimizer_dict[p].step()
        optimizer_dict[p].zero_grad()

    for p in model.parameters():
        if p.requires_grad:
            p.register_post_accumulate_grad_hook(optimizer_hook)
    for batch in data:
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.view(-1, VOCAB), batch[:, 1:].reshape(-1))
        loss.backward()
        values.append(loss.item())
    values.append(float(all(p.grad is None for p in model.parameters())))
    values.append(model.attn.proj.weight.norm().item())
    return values
