"""ReLoRA: high-rank training through repeated low-rank updates, as Guitaricet/relora writes it
(``peft_pretraining/relora.py``'s ``ReLoRaModel`` and ``ReLoRaLinear``,
``peft_pretraining/training_utils.py``'s ``get_cyculical_cosine_schedule_with_min_lr`` lambda,
``torchrun_main.py``'s ``optimizer_reset``, ``random_pruning_``, ``magnitude_pruning_`` and the
reset conditions of the training loop), size-reduced to a two-layer MLP language model.

The idioms: ``ReLoRaLinear`` with the frozen ``nn.Parameter(weight_data, requires_grad=False)``
base, ``F.linear(x, self.weight, bias=self.bias)``, ``result += self.lora_B(self.lora_A(
self.lora_dropout(x))) * self._post_lora_scale()`` and the trainable scaling
``nn.Parameter(torch.tensor([1.]), requires_grad=True)`` used as ``self.scaling.tanh()``;
``merge_and_reinit`` under ``@torch.no_grad()`` (``self.weight.data += self.lora_B.weight @
self.lora_A.weight * self._post_lora_scale()``, ``nn.init.kaiming_uniform_(self.lora_A.weight,
a=math.sqrt(5))``, ``nn.init.zeros_(self.lora_B.weight)``) over ``self.modules()``; the model
wrapper replacing ``nn.Linear`` children by name (``target_modules``) via ``getattr``/``setattr``
on the parent found with ``model.get_submodule``; ``optimizer_reset`` reaching into
``optimizer.state[p]`` for ``["exp_avg", "exp_avg_sq"]`` and pruning them in place
(``magnitude_pruning_``'s ``torch.quantile(tensor_magnitude.flatten().to(dtype=torch.float32),
prune_ratio).to(dtype=tensor.dtype)`` and ``tensor.mul_(mask.to(dtype=tensor.dtype))``), the
zeroed share ``torch.sum(param_state[key] == 0).item()``; the cyclical cosine ``LambdaLR`` with
re-warm-up (``if current_step != cycle_step: if cycle_step < 2: return 1e-7``) and
``min_lr_ratio``; resets when ``(update_step - scheduler_start_step) % args.relora == 1``;
``torch.optim.Adam`` over ``[p for p in model.parameters() if p.requires_grad]``.

Changed: LLaMA 250M -> an embedding, two ReLoRA linears and a head of width 8, rank 2; 11 updates
with a reset every 4; the random pruning's ``torch.rand_like`` mask and the re-initialised
``lora_A`` come from NumPy (copied in after each reset), as the two libraries' generators
differ; no gradient accumulation, no DDP.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, RANK, SEQ, BATCH, UPDATES, RELORA, WARMUP, MIN_LR_RATIO = 11, 8, 2, 6, 3, 11, 4, 1, 0.1


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, DIM)
            self.mlp = nn.ModuleDict({"up_proj": nn.Linear(DIM, 2 * DIM),
                                      "down_proj": nn.Linear(2 * DIM, DIM)})  # fmt: skip
            self.act = nn.SiLU()
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, input_ids: Any) -> Any:
            h = self.embed_tokens(input_ids)
            h = h + self.mlp["down_proj"](self.act(self.mlp["up_proj"](h)))
            return self.lm_head(h)

    return TinyLM()


def relora_classes(torch_like: Any) -> tuple:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class ReLoRaLinear(nn.Module):
        def __init__(self, in_features: int, out_features: int, r: int, *, lora_alpha: int = 1,
                     lora_dropout: float = 0.1, trainable_scaling: bool = False,
                     bias: bool = True, weight_data: Any = None, bias_data: Any = None,
                     lora_only: bool = False) -> None:  # fmt: skip
            nn.Module.__init__(self)
            assert r > 0
            if lora_only:
                self.weight = None
                self.bias = None
            else:
                # if full model weight + lora weight
                if bias_data is None:
                    bias_data = (
                        torch.zeros(out_features, requires_grad=True) if bias else None
                    )  # fmt: skip
                self.bias = nn.Parameter(bias_data) if bias else None
                if weight_data is None:
                    # note that our trainable weight are W_a and W_b
                    weight_data = torch.zeros(out_features, in_features, requires_grad=False)
                self.weight = nn.Parameter(weight_data, requires_grad=False)

            self.in_features = in_features
            self.out_features = out_features
            self.r = r
            self.lora_alpha = lora_alpha
            self.lora_dropout = nn.Dropout(p=lora_dropout)
            self.trainable_scaling = trainable_scaling
            self.lora_only = lora_only

            self.lora_A = nn.Linear(in_features, r, bias=False)
            self.lora_B = nn.Linear(r, out_features, bias=False)
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
            if trainable_scaling:
                self.scaling = nn.Parameter(torch.tensor([1.0]), requires_grad=True)
            else:
                self.scaling = self.lora_alpha / self.r

            if not self.lora_only:
                self.weight.requires_grad = False

        def _post_lora_scale(self) -> Any:
            if self.trainable_scaling:
                return self.scaling.tanh()
            return self.scaling

        @torch.no_grad()
        def merge_and_reinit(self) -> None:
            if self.lora_only:
                print("WARNING: Skipping merge and reinit, because only lora parameters are used")
                return
            self.weight.data += self.lora_B.weight @ self.lora_A.weight * self._post_lora_scale()
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)

        def forward(self, x: Any) -> Any:
            if self.lora_only:
                # just lora
                return self.lora_B(self.lora_A(self.lora_dropout(x))) * self._post_lora_scale()
            result = F.linear(x, self.weight, bias=self.bias)
            if self.r > 0:
                result += self.lora_B(self.lora_A(self.lora_dropout(x))) * self._post_lora_scale()
            return result

    class ReLoRaModel(nn.Module):
        def __init__(self, model: Any, *, target_modules: list, r: int = 128, lora_alpha: int = 32,
                     lora_dropout: float = 0.1, keep_original_weights: bool = True,
                     trainable_scaling: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.wrapped_model = model
            self.r = r
            target_modules_list = target_modules
            for module_name, module in self.wrapped_model.named_modules():
                if not isinstance(module, nn.Linear):
                    continue
                if not any(target_key in module_name for target_key in target_modules_list):
                    continue
                weight_data = module.weight.data if keep_original_weights else None
                bias_data = None
                if module.bias is not None:
                    bias_data = module.bias.data if keep_original_weights else module.bias
                new_module = ReLoRaLinear(
                    module.in_features,
                    module.out_features,
                    bias=module.bias is not None,
                    r=self.r,
                    lora_alpha=lora_alpha,
                    lora_dropout=lora_dropout,
                    trainable_scaling=trainable_scaling,
                    weight_data=weight_data,
                    bias_data=bias_data,
                )
                if keep_original_weights:
                    # make lora'ed network to be exacty the same as the original network at init
                    nn.init.zeros_(new_module.lora_A.weight)
                    assert new_module.lora_A.bias is None
                    assert new_module.lora_B.bias is None
                parent = self._get_parent(module_name)
                module_suffix = module_name.split(".")[-1]
                setattr(parent, module_suffix, new_module)

        def _get_parent(self, module_name: str) -> Any:
            module_names_list = module_name.split(".")
            parent_name = ".".join(module_names_list[:-1])
            parent = self.wrapped_model.get_submodule(parent_name)
            return parent

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self.wrapped_model(*args, **kwargs)

        def merge_and_reinit(self) -> None:
            for module in self.modules():
                if isinstance(module, ReLoRaLinear):
                    module.merge_and_reinit()

    return ReLoRaLinear, ReLoRaModel


def random_pruning_(torch: Any, tensor: Any, prune_ratio: float, rand: np.ndarray) -> None:
    with torch.no_grad():
        random_pruning_mask = as_tensor(torch, rand.reshape(tuple(tensor.shape))) > prune_ratio
        tensor.mul_(random_pruning_mask)


def magnitude_pruning_(torch: Any, tensor: Any, prune_ratio: float) -> None:
    with torch.no_grad():
        tensor_magnitude = torch.abs(tensor)
        threshold = torch.quantile(
            tensor_magnitude.flatten().to(dtype=torch.float32), prune_ratio
        ).to(dtype=tensor.dtype)
        mask = tensor_magnitude > threshold
        tensor.mul_(mask.to(dtype=tensor.dtype))


def optimizer_reset(torch: Any, optimizer: Any, *, reset_params: list, optimizer_state_keys: list,
                    optimizer_random_pruning: float, optimizer_magnitude_pruning: float,
                    rng: np.random.Generator) -> float:  # fmt: skip
    if optimizer_random_pruning:

        def pruning_fn(t: Any) -> None:
            random_pruning_(torch, t, optimizer_random_pruning, rng.random(t.numel()))
    elif optimizer_magnitude_pruning:
        pruning_fn = partial(magnitude_pruning_, torch, prune_ratio=optimizer_magnitude_pruning)
    n_zeros = 0
    n_total = 0
    optimizer_state = optimizer.state
    for p in reset_params:
        param_state = optimizer_state[p]
        if len(param_state) == 0:  # no state for this param, happens for ZeRo optimizer
            continue
        for key in optimizer_state_keys:
            pruning_fn(param_state[key])  # pruning fn has to be inplace to keep the same keys
            n_total += param_state[key].numel()
            n_zeros += torch.sum(param_state[key] == 0).item()
    _zeroed = n_zeros / (1e-7 + n_total) * 100
    return _zeroed


def _get_cyclical_cosine_schedule_with_min_lr_lambda(current_step: int, *, num_warmup_steps: int,
                                                     cycle_length: int,
                                                     min_lr_ratio: float) -> float:  # fmt: skip
    assert cycle_length is not None
    assert 0 < min_lr_ratio <= 1.0, "min_lr_ratio must be in (0,1]"

    # compute where we are in the current cycle
    cycle_step = current_step % cycle_length

    if cycle_step < num_warmup_steps:
        if current_step != cycle_step:
            if cycle_step < 2:
                return 1e-7
        return float(cycle_step) / float(max(1, num_warmup_steps))

    progress = float(cycle_step - num_warmup_steps) / float(max(1, cycle_length - num_warmup_steps))
    cosine_decay = 0.5 * (1.0 + math.cos(math.pi * progress))

    return min_lr_ratio + (1.0 - min_lr_ratio) * cosine_decay


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    _, ReLoRaModel = relora_classes(torch_like)
    values: list[float] = []
    for trainable_scaling, magnitude in ((False, 0.8), (True, 0.0)):
        base = make_model(torch_like)
        load_numpy_state(torch_like, base, init)
        model = ReLoRaModel(
            base,
            r=RANK,
            lora_alpha=4,
            lora_dropout=0.0,
            target_modules=["up_proj", "down_proj"],
            trainable_scaling=trainable_scaling,
            keep_original_weights=True,
        )
        for n, p in model.named_parameters():  # the embedding and head are trained in full
            if "lora_" not in n and "scaling" not in n and "mlp" not in n:
                p.requires_grad = True
        rng = np.random.default_rng(23)
        lora_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
        trainable_params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable_params, lr=1e-2)
        lr_lambda = partial(
            _get_cyclical_cosine_schedule_with_min_lr_lambda,
            num_warmup_steps=WARMUP,
            cycle_length=RELORA,
            min_lr_ratio=MIN_LR_RATIO,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)
        scheduler_start_step = 0
        n_lora_restarts = 0
        for update_step in range(1, UPDATES + 1):
            ids = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
            logits = model(ids[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            values += [loss.item(), optimizer.param_groups[0]["lr"]]
            if (update_step - scheduler_start_step) % RELORA == 1 and update_step > 1:
                n_lora_restarts += 1
                model.merge_and_reinit()
                with torch.no_grad():  # the re-initialised A, drawn by NumPy
                    for module in model.modules():
                        if hasattr(module, "merge_and_reinit") and hasattr(module, "lora_A"):
                            shape = tuple(module.lora_A.weight.shape)
                            module.lora_A.weight.copy_(
                                as_tensor(torch, rng.uniform(-0.5, 0.5, shape))
                            )
                zeroed = optimizer_reset(
                    torch,
                    optimizer,
                    reset_params=lora_params,
                    optimizer_state_keys=["exp_avg", "exp_avg_sq"],
                    optimizer_random_pruning=0.0 if magnitude else 0.9,
                    optimizer_magnitude_pruning=magnitude,
                    rng=rng,
                )
                values.append(zeroed)
        up = model.wrapped_model.mlp["up_proj"]
        values += [
            float(n_lora_restarts),
            up.weight.sum().item(),
            up.lora_B.weight.abs().sum().item(),
        ]
        if trainable_scaling:
            values.append(up.scaling.item())
    return values
