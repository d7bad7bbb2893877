"""data2vec (text) self-distillation, as facebookresearch/fairseq writes it
(``examples/data2vec/models/data2vec_text.py``'s ``Data2VecTextModel.forward``,
``compute_var``, ``set_num_updates`` and ``get_annealed_rate``;
``fairseq/modules/ema_module.py``'s ``EMAModule._step_internal`` and ``restore``),
size-reduced to a two-layer post-norm transformer encoder over a small vocabulary.

The idioms: the teacher run ``with torch.no_grad()`` on the unmasked tokens, its ``inner_states``
(``T x B x C``, ``nn.TransformerEncoderLayer`` in its default sequence-first layout) and
``y = y[-self.average_top_k_layers:]``; the per-layer target normalisations
``tl.permute(1, 2, 0)`` (TBC -> BCT), ``F.batch_norm(tl.float(), running_mean=None,
running_var=None, training=True)``, ``F.instance_norm(tl.float())``, ``tl.transpose(1, 2)``
(BCT -> BTC), ``F.layer_norm(tl.float(), tl.shape[-1:])``, ``y = sum(y) / len(y)``, the
non-permuted ``y.transpose(0, 1)`` and the final ``F.instance_norm(y.transpose(1,
2)).transpose(1, 2)``; ``masked_indices = src_tokens.eq(self.mask_idx)`` selecting ``x[
masked_indices]`` and ``y[masked_indices]``; the regression loss ``F.mse_loss(x.float(),
y.float(), reduction="none").sum(dim=-1)`` or ``F.smooth_l1_loss(..., reduction="none",
beta=self.cfg.loss_beta)``, ``loss.sum() / math.sqrt(sz)``; ``compute_var``'s
``torch.sqrt(y.var(dim=0) + 1e-6).mean()``; the annealed EMA decay; ``EMAModule._step_internal``
over ``named_parameters()`` (``ema_param.mul_(decay)``, ``ema_param.add_(param.data.to(dtype=
ema_param.dtype), alpha=1 - decay)``, ``copy_`` for frozen or skipped keys) plus
``named_buffers()`` and ``self.model.load_state_dict(state_dict, strict=False)``.

Changed: RoBERTa-base -> 2 layers of width 8, vocabulary 10 with mask index 1, top-k 2, 6
updates (three target-normalisation configurations of 2 updates each), the masking drawn by
NumPy; ``Adam`` from ``torch.optim``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
VOCAB, MASK_IDX, DIM, LAYERS, HEADS, SEQ, BATCH, TOP_K = 10, 1, 8, 2, 2, 6, 3, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class TinyRobertaEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, DIM, padding_idx=0)
            self.embed_positions = nn.Embedding(SEQ, DIM)
            self.layernorm_embedding = nn.LayerNorm(DIM)
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(DIM, HEADS, 16, dropout=0.0, activation="gelu")
                for _ in range(LAYERS)
            )
            self.register_buffer("version", torch.Tensor([3]))

        def forward(self, src_tokens: Any, return_all_hiddens: bool = False) -> dict:
            pos = torch.arange(src_tokens.size(1)).unsqueeze(0)
            x = self.layernorm_embedding(self.embed_tokens(src_tokens) + self.embed_positions(pos))
            x = x.transpose(0, 1)  # B x T x C -> T x B x C
            inner_states = [x] if return_all_hiddens else []
            padding_mask = src_tokens.eq(0)
            for layer in self.layers:
                x = layer(x, src_key_padding_mask=padding_mask)
                if return_all_hiddens:
                    inner_states.append(x)
            return {"encoder_out": [x], "inner_states": inner_states}

    class Data2VecTextModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = TinyRobertaEncoder()
            self.regression_head = nn.Sequential(nn.Linear(DIM, DIM * 2), nn.GELU(),
                                                 nn.Linear(DIM * 2, DIM))  # fmt: skip

    return Data2VecTextModel()


def get_annealed_rate(start: float, end: float, curr_step: int, total_steps: int) -> float:
    r = end - start
    pct_remaining = 1 - curr_step / total_steps
    return end - r * pct_remaining


class EMAModule:
    def __init__(self, model: Any, decay: float, skip_keys: set | None = None) -> None:
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)
        self.decay = decay
        self.skip_keys = skip_keys or set()

    def set_decay(self, decay: float) -> None:
        self.decay = decay

    def get_decay(self) -> float:
        return self.decay

    def _step_internal(self, new_model: Any) -> None:
        decay = self.decay
        ema_state_dict = {}
        ema_params = self.model.state_dict()
        for key, param in new_model.named_parameters():
            if isinstance(param, dict):
                continue
            ema_param = ema_params[key]
            if param.shape != ema_param.shape:
                raise ValueError(
                    "incompatible tensor shapes between model param and ema param"
                    + f"{param.shape} vs. {ema_param.shape}"
                )
            if "version" in key:
                # Do not decay a model.version pytorch param
                continue
            if key in self.skip_keys or not param.requires_grad:
                ema_params[key].copy_(param.to(dtype=ema_param.dtype).data)
                ema_param = ema_params[key]
            else:
                ema_param.mul_(decay)
                ema_param.add_(param.data.to(dtype=ema_param.dtype), alpha=1 - decay)
            ema_state_dict[key] = ema_param
        for key, param in new_model.named_buffers():
            ema_state_dict[key] = param
        self.restore(ema_state_dict)

    def step(self, new_model: Any) -> None:
        self._step_internal(new_model)

    def restore(self, state_dict: dict) -> None:
        self.model.load_state_dict(state_dict, strict=False)


def compute_var(y: Any) -> Any:
    torch = compute_var.torch
    y = y.view(-1, y.size(-1))
    return torch.sqrt(y.var(dim=0) + 1e-6).mean()


CONFIGS = [
    dict(instance_norm_target_layer=True, batch_norm_target_layer=False,
         layer_norm_target_layer=False, layer_norm_targets=False, instance_norm_targets=False,
         loss_beta=0.0),
    dict(instance_norm_target_layer=False, batch_norm_target_layer=True,
         layer_norm_target_layer=True, layer_norm_targets=False, instance_norm_targets=True,
         loss_beta=0.25),
    dict(instance_norm_target_layer=False, batch_norm_target_layer=False,
         layer_norm_target_layer=True, layer_norm_targets=True, instance_norm_targets=False,
         loss_beta=0.0),
]  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    compute_var.torch = torch
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ema = EMAModule(model.encoder, decay=0.999, skip_keys={"embed_positions.weight"})
    ema_decay, ema_end_decay, ema_anneal_end_step = 0.9, 0.99, 4
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, eps=1e-6)
    rng = np.random.default_rng(13)
    values: list[float] = []
    num_updates = 0
    for cfg in CONFIGS:
        for _ in range(2):
            # set_num_updates
            if num_updates >= ema_anneal_end_step:
                decay = ema_end_decay
            else:
                decay = get_annealed_rate(
                    ema_decay, ema_end_decay, num_updates, ema_anneal_end_step
                )
            ema.set_decay(decay)
            if ema.get_decay() < 1:
                ema.step(model.encoder)

            target_tokens = rng.integers(2, VOCAB, (BATCH, SEQ))
            target_tokens[0, -1] = 0  # padding
            masked = rng.random((BATCH, SEQ)) < 0.4
            masked[:, 1] = True
            masked[0, -1] = False
            src = np.where(masked, MASK_IDX, target_tokens)
            src_tokens = as_tensor(torch, src)
            target_tokens = as_tensor(torch, target_tokens)

            x = model.encoder(src_tokens)["encoder_out"][0].transpose(0, 1)
            with torch.no_grad():
                # use EMA parameter as the teacher
                ema.model.eval()
                encoder_out = ema.model(target_tokens, return_all_hiddens=True)
                y = encoder_out["inner_states"]  # list of T x B x C
                y = y[-TOP_K:]

                permuted = False
                if cfg["instance_norm_target_layer"] or cfg["batch_norm_target_layer"]:
                    y = [tl.permute(1, 2, 0) for tl in y]  # TBC -> BCT
                    permuted = True

                if cfg["batch_norm_target_layer"]:
                    y = [
                        F.batch_norm(tl.float(), running_mean=None, running_var=None, training=True)
                        for tl in y
                    ]

                if cfg["instance_norm_target_layer"]:
                    y = [F.instance_norm(tl.float()) for tl in y]

                if permuted:
                    y = [tl.transpose(1, 2) for tl in y]  # BCT -> BTC

                if cfg["layer_norm_target_layer"]:
                    y = [F.layer_norm(tl.float(), tl.shape[-1:]) for tl in y]

                y = sum(y) / len(y)

                if not permuted:
                    y = y.transpose(0, 1)

                if cfg["layer_norm_targets"]:
                    y = F.layer_norm(y.float(), y.shape[-1:])

                if cfg["instance_norm_targets"]:
                    y = F.instance_norm(y.transpose(1, 2)).transpose(1, 2)

            masked_indices = src_tokens.eq(MASK_IDX)

            x = x[masked_indices]
            y = y[masked_indices]

            x = model.regression_head(x)

            sz = x.size(-1)
            if cfg["loss_beta"] == 0:
                loss = F.mse_loss(x.float(), y.float(), reduction="none").sum(dim=-1)
            else:
                loss = F.smooth_l1_loss(
                    x.float(), y.float(), reduction="none", beta=cfg["loss_beta"]
                ).sum(dim=-1)
            main = loss.sum() / math.sqrt(sz)
            sample_size = loss.numel()
            optimizer.zero_grad()
            (main / sample_size).backward()
            optimizer.step()
            num_updates += 1
            values += [main.item(), float(sample_size), ema.get_decay() * 1000]
            values += [compute_var(x.float()).item(), compute_var(y.float()).item()]
    values.append(sum(p.sum().item() for p in ema.model.parameters()))
    values.append(ema.model.version.item())
    return values
