"""I-JEPA self-supervised pre-training, as facebookresearch/ijepa writes it (``src/train.py``,
``src/masks/multiblock.py``'s ``MaskCollator``, ``src/masks/utils.py``'s ``apply_masks``,
``src/utils/tensors.py``'s ``repeat_interleave_batch`` and ``trunc_normal_``,
``src/utils/schedulers.py``, ``src/helper.py``'s ``init_opt``, ``src/models/
vision_transformer.py``'s ``VisionTransformer`` and ``VisionTransformerPredictor``),
size-reduced.

The idioms: the multi-block mask collator (``_sample_block_size``'s scale and aspect ratio,
``_sample_block_mask``'s ``mask = torch.zeros((self.height, self.width), dtype=torch.int32)``,
``mask[top:top+h, left:left+w] = 1``, ``constrain_mask``'s in-place ``mask *=
acceptable_regions[k]``, ``torch.nonzero(mask.flatten())``, ``mask.squeeze()``, the complement
``torch.ones(...)`` with the block zeroed; ``cm[:min_keep_pred]`` truncation and
``torch.utils.data.default_collate`` of a list of lists of index tensors);
``apply_masks``' ``m.unsqueeze(-1).repeat(1, 1, x.size(-1))`` and ``torch.gather(x, dim=1,
index=mask_keep)`` concatenated over masks; ``repeat_interleave_batch``; the predictor's
``self.predictor_pos_embed.repeat(B, 1, 1)``, ``x += apply_masks(x_pos_embed, masks_x)``,
``self.mask_token.repeat(pos_embs.size(0), pos_embs.size(1), 1)``, ``pred_tokens += pos_embs``,
``x.repeat(len(masks), 1, 1)`` and ``x[:, N_ctxt:]``; ``fix_init_weight``'s
``param.div_(math.sqrt(2.0 * layer_id))``; ``trunc_normal_`` written with ``tensor.uniform_``,
``erfinv_``, ``mul_``, ``add_`` and ``clamp_`` (compared through the loaded weights);
the target ``F.layer_norm(h, (h.size(-1),))`` under ``torch.no_grad()`` and
``F.smooth_l1_loss(z, h)``; ``init_opt``'s param groups with ``'WD_exclude': True`` and
``'weight_decay': 0`` for biases and 1-d parameters in ``torch.optim.AdamW``;
``WarmupCosineSchedule`` and ``CosineWDSchedule`` writing ``group['lr']`` and
``group['weight_decay']``; the momentum-scheduler generator and
``param_k.data.mul_(m).add_((1.-m) * param_q.detach().data)``.

Changed: ViT-H/14 at 224 -> 10x10 images in 2x2 patches (a 5x5 grid), width 8, depth 2,
predictor width 8 depth 1; the collator's ``torch.rand``/``torch.randint`` draws come from a
NumPy generator (the two libraries' generators differ); 4 iterations; no ``torch.cuda.amp``.
"""

# ruff: noqa: B023 (train.py defines forward_target/forward_context inside the loop)
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, PATCH, CH, DIM, DEPTH, HEADS, PRED_DIM, PRED_DEPTH = 10, 2, 3, 8, 2, 2, 8, 1
GRID = IMG // PATCH
NUM_PATCHES = GRID * GRID
BATCH, ITERS, INIT_STD = 2, 4, 0.02


def trunc_normal_(torch: Any, tensor: Any, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> Any:  # fmt: skip
    def norm_cdf(x: float) -> float:
        # Computes standard normal cumulative distribution function
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with torch.no_grad():
        lower = norm_cdf((a - mean) / std)
        upper = norm_cdf((b - mean) / std)
        tensor.uniform_(2 * lower - 1, 2 * upper - 1)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.0))
        tensor.add_(mean)
        tensor.clamp_(min=a, max=b)
        return tensor


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MLP(nn.Module):
        def __init__(self, in_features: int, hidden_features: int) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)
            self.drop = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            x = self.drop(self.act(self.fc1(x)))
            return self.drop(self.fc2(x))

    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True) -> None:
            super().__init__()
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = head_dim**-0.5
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.attn_drop = nn.Dropout(0.0)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(0.0)

        def forward(self, x: Any) -> tuple[Any, Any]:
            B, N, C = x.shape
            qkv = (
                self.qkv(x)
                .reshape(B, N, 3, self.num_heads, C // self.num_heads)
                .permute(2, 0, 3, 1, 4)
            )
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)
            x = (attn @ v).transpose(1, 2).reshape(B, N, C)
            x = self.proj(x)
            x = self.proj_drop(x)
            return x, attn

    class Block(nn.Module):
        def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 2.0) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.attn = Attention(dim, num_heads=num_heads)
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = MLP(dim, int(dim * mlp_ratio))

        def forward(self, x: Any, return_attention: bool = False) -> Any:
            y, attn = self.attn(self.norm1(x))
            if return_attention:
                return attn
            x = x + y
            x = x + self.mlp(self.norm2(x))
            return x

    class PatchEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(CH, DIM, kernel_size=PATCH, stride=PATCH)

        def forward(self, x: Any) -> Any:
            return self.proj(x).flatten(2).transpose(1, 2)

    def _init_weights(m: Any) -> None:
        if isinstance(m, nn.Linear):
            trunc_normal_(torch, m.weight, std=INIT_STD)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)
        elif isinstance(m, nn.Conv2d):
            trunc_normal_(torch, m.weight, std=INIT_STD)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def fix_init_weight(blocks: Any) -> None:
        def rescale(param: Any, layer_id: int) -> None:
            param.div_(math.sqrt(2.0 * layer_id))

        for layer_id, layer in enumerate(blocks):
            rescale(layer.attn.proj.weight.data, layer_id + 1)
            rescale(layer.mlp.fc2.weight.data, layer_id + 1)

    class VisionTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch_embed = PatchEmbed()
            self.pos_embed = nn.Parameter(torch.zeros(1, NUM_PATCHES, DIM), requires_grad=False)
            self.blocks = nn.ModuleList([Block(DIM, HEADS) for _ in range(DEPTH)])
            self.norm = nn.LayerNorm(DIM, eps=1e-6)
            self.apply(_init_weights)
            fix_init_weight(self.blocks)

        def forward(self, x: Any, masks: Any = None) -> Any:
            if masks is not None:
                if not isinstance(masks, list):
                    masks = [masks]
            # -- patchify x
            x = self.patch_embed(x)
            B, N, D = x.shape
            # -- add positional embedding to x
            x = x + self.pos_embed
            # -- mask x
            if masks is not None:
                x = apply_masks(torch, x, masks)
            # -- fwd prop
            for i, blk in enumerate(self.blocks):  # noqa: B007
                x = blk(x)
            if self.norm is not None:
                x = self.norm(x)
            return x

    class VisionTransformerPredictor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.predictor_embed = nn.Linear(DIM, PRED_DIM, bias=True)
            self.mask_token = nn.Parameter(torch.zeros(1, 1, PRED_DIM))
            self.predictor_pos_embed = nn.Parameter(
                torch.zeros(1, NUM_PATCHES, PRED_DIM), requires_grad=False
            )
            self.predictor_blocks = nn.ModuleList(
                [Block(PRED_DIM, HEADS) for _ in range(PRED_DEPTH)]
            )
            self.predictor_norm = nn.LayerNorm(PRED_DIM, eps=1e-6)
            self.predictor_proj = nn.Linear(PRED_DIM, DIM, bias=True)
            trunc_normal_(torch, self.mask_token, std=INIT_STD)
            self.apply(_init_weights)
            fix_init_weight(self.predictor_blocks)

        def forward(self, x: Any, masks_x: Any, masks: Any) -> Any:
            assert (masks is not None) and (masks_x is not None), (
                "Cannot run predictor without mask indices"
            )
            if not isinstance(masks_x, list):
                masks_x = [masks_x]
            if not isinstance(masks, list):
                masks = [masks]
            # -- Batch Size
            B = len(x) // len(masks_x)
            # -- map from encoder-dim to pedictor-dim
            x = self.predictor_embed(x)
            # -- add positional embedding to x tokens
            x_pos_embed = self.predictor_pos_embed.repeat(B, 1, 1)
            x += apply_masks(torch, x_pos_embed, masks_x)
            _, N_ctxt, D = x.shape
            # -- concat mask tokens to x
            pos_embs = self.predictor_pos_embed.repeat(B, 1, 1)
            pos_embs = apply_masks(torch, pos_embs, masks)
            pos_embs = repeat_interleave_batch(torch, pos_embs, B, repeat=len(masks_x))
            # --
            pred_tokens = self.mask_token.repeat(pos_embs.size(0), pos_embs.size(1), 1)
            # --
            pred_tokens += pos_embs
            x = x.repeat(len(masks), 1, 1)
            x = torch.cat([x, pred_tokens], dim=1)
            # -- fwd prop
            for blk in self.predictor_blocks:
                x = blk(x)
            x = self.predictor_norm(x)
            # -- return preds for mask tokens
            x = x[:, N_ctxt:]
            x = self.predictor_proj(x)
            return x

    class IJEPA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = VisionTransformer()
            self.predictor = VisionTransformerPredictor()

    return IJEPA()


def apply_masks(torch: Any, x: Any, masks: list) -> Any:
    all_x = []
    for m in masks:
        mask_keep = m.unsqueeze(-1).repeat(1, 1, x.size(-1))
        all_x += [torch.gather(x, dim=1, index=mask_keep)]
    return torch.cat(all_x, dim=0)


def repeat_interleave_batch(torch: Any, x: Any, B: int, repeat: int) -> Any:
    N = len(x) // B
    x = torch.cat(
        [torch.cat([x[i * B : (i + 1) * B] for _ in range(repeat)], dim=0) for i in range(N)],
        dim=0,
    )
    return x


class MaskCollator:
    def __init__(self, torch: Any, rng: np.random.Generator, enc_mask_scale: tuple = (0.6, 0.8),
                 pred_mask_scale: tuple = (0.15, 0.3), aspect_ratio: tuple = (0.75, 1.5),
                 nenc: int = 1, npred: int = 2, min_keep: int = 1,
                 allow_overlap: bool = False) -> None:  # fmt: skip
        self.torch, self.rng = torch, rng
        self.height, self.width = GRID, GRID
        self.enc_mask_scale, self.pred_mask_scale = enc_mask_scale, pred_mask_scale
        self.aspect_ratio = aspect_ratio
        self.nenc, self.npred = nenc, npred
        self.min_keep = min_keep  # minimum number of patches to keep
        self.allow_overlap = allow_overlap  # whether to allow overlap b/w enc and pred masks

    def _sample_block_size(self, scale: tuple, aspect_ratio_scale: tuple) -> tuple[int, int]:
        _rand = float(self.rng.random())
        # -- Sample block scale
        min_s, max_s = scale
        mask_scale = min_s + _rand * (max_s - min_s)
        max_keep = int(self.height * self.width * mask_scale)
        # -- Sample block aspect-ratio
        min_ar, max_ar = aspect_ratio_scale
        aspect_ratio = min_ar + _rand * (max_ar - min_ar)
        # -- Compute block height and width (given scale and aspect-ratio)
        h = int(round(math.sqrt(max_keep * aspect_ratio)))
        w = int(round(math.sqrt(max_keep / aspect_ratio)))
        while h >= self.height:
            h -= 1
        while w >= self.width:
            w -= 1
        return (h, w)

    def _sample_block_mask(self, b_size: tuple, acceptable_regions: Any = None) -> tuple:
        torch = self.torch
        h, w = b_size

        def constrain_mask(mask: Any, tries: int = 0) -> None:
            """Helper to restrict given mask to a set of acceptable regions"""
            N = max(int(len(acceptable_regions) - tries), 0)
            for k in range(N):
                mask *= acceptable_regions[k]

        # -- Loop to sample masks until we find a valid one
        tries = 0
        timeout = og_timeout = 20
        valid_mask = False
        while not valid_mask:
            # -- Sample block top-left corner
            top = int(self.rng.integers(0, self.height - h))
            left = int(self.rng.integers(0, self.width - w))
            mask = torch.zeros((self.height, self.width), dtype=torch.int32)
            mask[top : top + h, left : left + w] = 1
            # -- Constrain mask to a set of acceptable regions
            if acceptable_regions is not None:
                constrain_mask(mask, tries)
            mask = torch.nonzero(mask.flatten())
            # -- If mask too small try again
            valid_mask = len(mask) > self.min_keep
            if not valid_mask:
                timeout -= 1
                if timeout == 0:
                    tries += 1
                    timeout = og_timeout
        mask = mask.squeeze()
        # --
        mask_complement = torch.ones((self.height, self.width), dtype=torch.int32)
        mask_complement[top : top + h, left : left + w] = 0
        # --
        return mask, mask_complement

    def __call__(self, batch: list) -> tuple:
        torch = self.torch
        B = len(batch)
        collated_batch = torch.utils.data.default_collate(batch)
        p_size = self._sample_block_size(self.pred_mask_scale, self.aspect_ratio)
        e_size = self._sample_block_size(self.enc_mask_scale, (1.0, 1.0))
        collated_masks_pred, collated_masks_enc = [], []
        min_keep_pred = self.height * self.width
        min_keep_enc = self.height * self.width
        for _ in range(B):
            masks_p, masks_C = [], []
            for _ in range(self.npred):
                mask, mask_C = self._sample_block_mask(p_size)
                masks_p.append(mask)
                masks_C.append(mask_C)
                min_keep_pred = min(min_keep_pred, len(mask))
            collated_masks_pred.append(masks_p)

            acceptable_regions = masks_C
            if self.allow_overlap:
                acceptable_regions = None

            masks_e = []
            for _ in range(self.nenc):
                mask, _ = self._sample_block_mask(e_size, acceptable_regions=acceptable_regions)
                masks_e.append(mask)
                min_keep_enc = min(min_keep_enc, len(mask))
            collated_masks_enc.append(masks_e)

        collated_masks_pred = [
            [cm[:min_keep_pred] for cm in cm_list] for cm_list in collated_masks_pred
        ]
        collated_masks_pred = torch.utils.data.default_collate(collated_masks_pred)
        # --
        collated_masks_enc = [
            [cm[:min_keep_enc] for cm in cm_list] for cm_list in collated_masks_enc
        ]
        collated_masks_enc = torch.utils.data.default_collate(collated_masks_enc)
        return collated_batch, collated_masks_enc, collated_masks_pred


class WarmupCosineSchedule:
    def __init__(self, optimizer: Any, warmup_steps: int, start_lr: float, ref_lr: float,
                 T_max: int, last_epoch: int = -1, final_lr: float = 0.0) -> None:  # fmt: skip
        self.optimizer = optimizer
        self.start_lr, self.ref_lr, self.final_lr = start_lr, ref_lr, final_lr
        self.warmup_steps = warmup_steps
        self.T_max = T_max - warmup_steps
        self._step = 0.0

    def step(self) -> float:
        self._step += 1
        if self._step < self.warmup_steps:
            progress = float(self._step) / float(max(1, self.warmup_steps))
            new_lr = self.start_lr + progress * (self.ref_lr - self.start_lr)
        else:
            # -- progress after warmup
            progress = float(self._step - self.warmup_steps) / float(max(1, self.T_max))
            new_lr = max(
                self.final_lr,
                self.final_lr
                + (self.ref_lr - self.final_lr) * 0.5 * (1.0 + math.cos(math.pi * progress)),
            )
        for group in self.optimizer.param_groups:
            group["lr"] = new_lr
        return new_lr


class CosineWDSchedule:
    def __init__(self, optimizer: Any, ref_wd: float, T_max: int, final_wd: float = 0.0) -> None:
        self.optimizer = optimizer
        self.ref_wd, self.final_wd, self.T_max = ref_wd, final_wd, T_max
        self._step = 0.0

    def step(self) -> float:
        self._step += 1
        progress = self._step / self.T_max
        new_wd = self.final_wd + (self.ref_wd - self.final_wd) * 0.5 * (
            1.0 + math.cos(math.pi * progress)
        )
        if self.final_wd <= self.ref_wd:
            new_wd = max(self.final_wd, new_wd)
        else:
            new_wd = min(self.final_wd, new_wd)
        for group in self.optimizer.param_groups:
            if ("WD_exclude" not in group) or not group["WD_exclude"]:
                group["weight_decay"] = new_wd
        return new_wd


def init_opt(torch: Any, encoder: Any, predictor: Any, iterations_per_epoch: int,
             num_epochs: int) -> tuple:  # fmt: skip
    param_groups = [
        {
            "params": (
                p
                for n, p in encoder.named_parameters()
                if ("bias" not in n) and (len(p.shape) != 1)
            )
        },
        {
            "params": (
                p
                for n, p in predictor.named_parameters()
                if ("bias" not in n) and (len(p.shape) != 1)
            )
        },
        {
            "params": (
                p for n, p in encoder.named_parameters() if ("bias" in n) or (len(p.shape) == 1)
            ),
            "WD_exclude": True,
            "weight_decay": 0,
        },
        {
            "params": (
                p for n, p in predictor.named_parameters() if ("bias" in n) or (len(p.shape) == 1)
            ),
            "WD_exclude": True,
            "weight_decay": 0,
        },
    ]
    optimizer = torch.optim.AdamW(param_groups)
    T = int(num_epochs * iterations_per_epoch)
    scheduler = WarmupCosineSchedule(
        optimizer, warmup_steps=1, start_lr=2e-4, ref_lr=1e-3, final_lr=1e-6, T_max=T
    )
    wd_scheduler = CosineWDSchedule(optimizer, ref_wd=0.04, final_wd=0.4, T_max=T)
    return optimizer, scheduler, wd_scheduler


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    encoder, predictor = model.encoder, model.predictor
    target_encoder = copy.deepcopy(encoder)
    for p in target_encoder.parameters():
        p.requires_grad = False
    rng = np.random.default_rng(21)
    collator = MaskCollator(torch_like, rng)
    ipe, num_epochs, ema = ITERS, 1, (0.996, 1.0)
    optimizer, scheduler, wd_scheduler = init_opt(torch, encoder, predictor, ipe, num_epochs)
    momentum_scheduler = (
        ema[0] + i * (ema[1] - ema[0]) / (ipe * num_epochs)
        for i in range(int(ipe * num_epochs) + 1)
    )
    values: list[float] = []
    for _itr in range(ITERS):
        samples = [as_tensor(torch, rng.normal(size=(CH, IMG, IMG))) for _ in range(BATCH)]
        imgs, masks_enc, masks_pred = collator(samples)
        _new_lr = scheduler.step()
        _new_wd = wd_scheduler.step()

        def forward_target() -> Any:
            with torch.no_grad():
                h = target_encoder(imgs)
                h = F.layer_norm(h, (h.size(-1),))  # normalize over feature-dim
                B = len(h)
                # -- create targets (masked regions of h)
                h = apply_masks(torch, h, masks_pred)
                h = repeat_interleave_batch(torch, h, B, repeat=len(masks_enc))
                return h

        def forward_context() -> Any:
            z = encoder(imgs, masks_enc)
            z = predictor(z, masks_enc, masks_pred)
            return z

        h = forward_target()
        z = forward_context()
        loss = F.smooth_l1_loss(z, h)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        # Step 3. momentum update of target encoder
        with torch.no_grad():
            m = next(momentum_scheduler)
            for param_q, param_k in zip(encoder.parameters(), target_encoder.parameters()):
                param_k.data.mul_(m).add_((1.0 - m) * param_q.detach().data)
        values += [loss.item(), float(masks_enc[0].shape[1]), float(masks_pred[0].sum())]
        values.append(optimizer.param_groups[0]["weight_decay"])
    values.append(sum(p.sum().item() for p in target_encoder.parameters()))
    return values
