"""Masked autoencoder pre-training, as facebookresearch/mae writes it (``models_mae.py``,
``util/pos_embed.py``, ``util/lr_decay.py``, ``util/lr_sched.py``, ``util/misc.py``), with
Hugging Face ``ViTMAE``'s ``random_masking(sequence, noise=None)``, size-reduced.

The idioms: timm's ``PatchEmbed`` (``nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size,
stride=patch_size)`` then ``.flatten(2).transpose(1, 2)``, ``patch_size`` a tuple); the frozen
``nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim), requires_grad=False)`` position
embedding filled from NumPy's 2-D sin-cos table (``np.meshgrid``, ``np.einsum('m,d->md', ...)``)
by ``self.pos_embed.data.copy_(torch.from_numpy(pos_embed).float().unsqueeze(0))`` (a float32
source copied into a float64 parameter); ``initialize_weights``' ``w =
self.patch_embed.proj.weight.data`` and ``torch.nn.init.xavier_uniform_(w.view([w.shape[0],
-1]))``, ``torch.nn.init.normal_(self.cls_token, std=.02)``, ``self.apply(self._init_weights)``;
``patchify`` / ``unpatchify`` with ``imgs.reshape(shape=(...))`` and ``torch.einsum(
'nchpwq->nhwpqc', x)``; ``random_masking``'s ``torch.argsort(noise, dim=1)`` twice,
``torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))``, the binary mask
``torch.ones([N, L])`` with ``mask[:, :len_keep] = 0`` unshuffled by ``torch.gather``; the
decoder's ``self.mask_token.repeat(...)``, ``torch.cat([x[:, 1:, :], mask_tokens], dim=1)`` and
``torch.cat([x[:, :1, :], x_], dim=1)``; the normalised-pixel loss ``(target - mean) / (var +
1.e-6)**.5`` and ``(loss * mask).sum() / mask.sum()``; ``param_groups_lrd``'s layer-wise
learning-rate-decay groups (``lr_scale``, no weight decay for 1-d parameters and
``no_weight_decay()`` names, frozen parameters skipped), ``adjust_learning_rate``'s half-cycle
cosine after warm-up, ``torch.optim.AdamW(param_groups, lr=lr, betas=(0.9, 0.95))``,
``get_grad_norm_``'s ``torch.norm(torch.stack([torch.norm(p.grad.detach(), norm_type) ...]))``
and ``interpolate_pos_embed``'s bicubic ``F.interpolate`` of the patch position tokens.

The masking noise is drawn by NumPy for the compared steps, since the two libraries' generators
differ; ``torch.manual_seed`` before ``torch.rand`` is checked to reproduce the same mask.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, PATCH, CHANS, EMBED, DEPTH, HEADS = 8, 4, 3, 8, 2, 2
DEC_EMBED, DEC_DEPTH, DEC_HEADS, MLP_RATIO = 8, 1, 2, 2.0
MASK_RATIO, BATCH, STEPS, BLR, WEIGHT_DECAY, LAYER_DECAY = 0.5, 3, 3, 1.5e-3, 0.05, 0.75


def get_1d_sincos_pos_embed_from_grid(embed_dim: int, pos: np.ndarray) -> np.ndarray:
    assert embed_dim % 2 == 0
    omega = np.arange(embed_dim // 2, dtype=np.float64)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000**omega  # (D/2,)
    pos = pos.reshape(-1)  # (M,)
    out = np.einsum("m,d->md", pos, omega)  # (M, D/2), outer product
    emb_sin = np.sin(out)
    emb_cos = np.cos(out)
    return np.concatenate([emb_sin, emb_cos], axis=1)  # (M, D)


def get_2d_sincos_pos_embed_from_grid(embed_dim: int, grid: np.ndarray) -> np.ndarray:
    assert embed_dim % 2 == 0
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])  # (H*W, D/2)
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])  # (H*W, D/2)
    return np.concatenate([emb_h, emb_w], axis=1)  # (H*W, D)


def get_2d_sincos_pos_embed(embed_dim: int, grid_size: int, cls_token: bool = False) -> Any:
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)  # here w goes first
    grid = np.stack(grid, axis=0)
    grid = grid.reshape([2, 1, grid_size, grid_size])
    pos_embed = get_2d_sincos_pos_embed_from_grid(embed_dim, grid)
    if cls_token:
        pos_embed = np.concatenate([np.zeros([1, embed_dim]), pos_embed], axis=0)
    return pos_embed


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class PatchEmbed(nn.Module):
        def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int):
            super().__init__()
            self.img_size = (img_size, img_size)
            self.patch_size = (patch_size, patch_size)
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x: Any) -> Any:
            return self.proj(x).flatten(2).transpose(1, 2)  # BCHW -> BNC

    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
            super().__init__()
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = head_dim**-0.5
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x: Any) -> Any:
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            x = (attn @ v).transpose(1, 2).reshape(B, N, C)
            return self.proj(x)

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)

        def forward(self, x: Any) -> Any:
            return self.fc2(self.act(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self, dim: int, num_heads: int, mlp_ratio: float, norm_layer: Any) -> None:
            super().__init__()
            self.norm1 = norm_layer(dim)
            self.attn = Attention(dim, num_heads, qkv_bias=True)
            self.norm2 = norm_layer(dim)
            self.mlp = Mlp(dim, int(dim * mlp_ratio))

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class MaskedAutoencoderViT(nn.Module):
        """Masked Autoencoder with VisionTransformer backbone"""

        def __init__(self, norm_layer: Any = nn.LayerNorm, norm_pix_loss: bool = True) -> None:
            super().__init__()
            # MAE encoder specifics
            self.patch_embed = PatchEmbed(IMG, PATCH, CHANS, EMBED)
            num_patches = self.patch_embed.num_patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, EMBED))
            self.pos_embed = nn.Parameter(
                torch.zeros(1, num_patches + 1, EMBED), requires_grad=False
            )  # fixed sin-cos embedding
            self.blocks = nn.ModuleList(
                [Block(EMBED, HEADS, MLP_RATIO, norm_layer=norm_layer) for i in range(DEPTH)]
            )
            self.norm = norm_layer(EMBED)
            # MAE decoder specifics
            self.decoder_embed = nn.Linear(EMBED, DEC_EMBED, bias=True)
            self.mask_token = nn.Parameter(torch.zeros(1, 1, DEC_EMBED))
            self.decoder_pos_embed = nn.Parameter(
                torch.zeros(1, num_patches + 1, DEC_EMBED), requires_grad=False
            )
            self.decoder_blocks = nn.ModuleList(
                [
                    Block(DEC_EMBED, DEC_HEADS, MLP_RATIO, norm_layer=norm_layer)
                    for i in range(DEC_DEPTH)
                ]
            )
            self.decoder_norm = norm_layer(DEC_EMBED)
            self.decoder_pred = nn.Linear(DEC_EMBED, PATCH**2 * CHANS, bias=True)
            self.norm_pix_loss = norm_pix_loss
            self.initialize_weights()

        def initialize_weights(self) -> None:
            # initialize (and freeze) pos_embed by sin-cos embedding
            pos_embed = get_2d_sincos_pos_embed(
                self.pos_embed.shape[-1], int(self.patch_embed.num_patches**0.5), cls_token=True
            )
            self.pos_embed.data.copy_(torch.from_numpy(pos_embed).float().unsqueeze(0))
            decoder_pos_embed = get_2d_sincos_pos_embed(
                self.decoder_pos_embed.shape[-1],
                int(self.patch_embed.num_patches**0.5),
                cls_token=True,
            )
            self.decoder_pos_embed.data.copy_(
                torch.from_numpy(decoder_pos_embed).float().unsqueeze(0)
            )
            # initialize patch_embed like nn.Linear (instead of nn.Conv2d)
            w = self.patch_embed.proj.weight.data
            torch.nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
            # timm's trunc_normal_(std=.02) is effectively normal_(std=.02) as cutoff is too big
            torch.nn.init.normal_(self.cls_token, std=0.02)
            torch.nn.init.normal_(self.mask_token, std=0.02)
            # initialize nn.Linear and nn.LayerNorm
            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                # we use xavier_uniform following official JAX ViT:
                torch.nn.init.xavier_uniform_(m.weight)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def no_weight_decay(self) -> set[str]:
            return {"pos_embed", "cls_token", "dist_token"}

        def patchify(self, imgs: Any) -> Any:
            """imgs: (N, 3, H, W) x: (N, L, patch_size**2 *3)"""
            p = self.patch_embed.patch_size[0]
            assert imgs.shape[2] == imgs.shape[3] and imgs.shape[2] % p == 0
            h = w = imgs.shape[2] // p
            x = imgs.reshape(shape=(imgs.shape[0], 3, h, p, w, p))
            x = torch.einsum("nchpwq->nhwpqc", x)
            x = x.reshape(shape=(imgs.shape[0], h * w, p**2 * 3))
            return x

        def unpatchify(self, x: Any) -> Any:
            """x: (N, L, patch_size**2 *3) imgs: (N, 3, H, W)"""
            p = self.patch_embed.patch_size[0]
            h = w = int(x.shape[1] ** 0.5)
            assert h * w == x.shape[1]
            x = x.reshape(shape=(x.shape[0], h, w, p, p, 3))
            x = torch.einsum("nhwpqc->nchpwq", x)
            imgs = x.reshape(shape=(x.shape[0], 3, h * p, h * p))
            return imgs

        def random_masking(self, x: Any, mask_ratio: float, noise: Any = None) -> Any:
            """Per-sample random masking by per-sample shuffling (argsort of random noise)."""
            N, L, D = x.shape  # batch, length, dim
            len_keep = int(L * (1 - mask_ratio))
            if noise is None:
                noise = torch.rand(N, L, device=x.device)  # noise in [0, 1]
            # sort noise for each sample
            ids_shuffle = torch.argsort(noise, dim=1)  # ascend: small is keep, large is remove
            ids_restore = torch.argsort(ids_shuffle, dim=1)
            # keep the first subset
            ids_keep = ids_shuffle[:, :len_keep]
            x_masked = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
            # generate the binary mask: 0 is keep, 1 is remove
            mask = torch.ones([N, L], device=x.device)
            mask[:, :len_keep] = 0
            # unshuffle to get the binary mask
            mask = torch.gather(mask, dim=1, index=ids_restore)
            return x_masked, mask, ids_restore

        def forward_encoder(self, x: Any, mask_ratio: float, noise: Any = None) -> Any:
            x = self.patch_embed(x)
            x = x + self.pos_embed[:, 1:, :]
            x, mask, ids_restore = self.random_masking(x, mask_ratio, noise)
            cls_token = self.cls_token + self.pos_embed[:, :1, :]
            cls_tokens = cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            for blk in self.blocks:
                x = blk(x)
            x = self.norm(x)
            return x, mask, ids_restore

        def forward_decoder(self, x: Any, ids_restore: Any) -> Any:
            x = self.decoder_embed(x)
            mask_tokens = self.mask_token.repeat(
                x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1
            )
            x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)  # no cls token
            x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
            x = torch.cat([x[:, :1, :], x_], dim=1)  # append cls token
            x = x + self.decoder_pos_embed
            for blk in self.decoder_blocks:
                x = blk(x)
            x = self.decoder_norm(x)
            x = self.decoder_pred(x)
            return x[:, 1:, :]  # remove cls token

        def forward_loss(self, imgs: Any, pred: Any, mask: Any) -> Any:
            target = self.patchify(imgs)
            if self.norm_pix_loss:
                mean = target.mean(dim=-1, keepdim=True)
                var = target.var(dim=-1, keepdim=True)
                target = (target - mean) / (var + 1.0e-6) ** 0.5
            loss = (pred - target) ** 2
            loss = loss.mean(dim=-1)  # [N, L], mean loss per patch
            loss = (loss * mask).sum() / mask.sum()  # mean loss on removed patches
            return loss

        def forward(self, imgs: Any, mask_ratio: float = 0.75, noise: Any = None) -> Any:
            latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio, noise)
            pred = self.forward_decoder(latent, ids_restore)  # [N, L, p*p*3]
            loss = self.forward_loss(imgs, pred, mask)
            return loss, pred, mask

    return MaskedAutoencoderViT()


def get_layer_id_for_vit(name: str, num_layers: int) -> int:
    if name in ["cls_token", "pos_embed"]:
        return 0
    elif name.startswith("patch_embed"):
        return 0
    elif name.startswith("blocks"):
        return int(name.split(".")[1]) + 1
    else:
        return num_layers


def param_groups_lrd(
    model: Any, weight_decay: float = 0.05, no_weight_decay_list: Any = (), layer_decay=0.75
) -> list[dict]:
    param_group_names: dict[str, dict] = {}
    param_groups: dict[str, dict] = {}
    num_layers = len(model.blocks) + 1
    layer_scales = list(layer_decay ** (num_layers - i) for i in range(num_layers + 1))
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # no decay: all 1D parameters and model specific ones
        if p.ndim == 1 or n in no_weight_decay_list:
            g_decay = "no_decay"
            this_decay = 0.0
        else:
            g_decay = "decay"
            this_decay = weight_decay
        layer_id = get_layer_id_for_vit(n, num_layers)
        group_name = "layer_%d_%s" % (layer_id, g_decay)  # noqa: UP031 (as in mae)
        if group_name not in param_group_names:
            this_scale = layer_scales[layer_id]
            param_group_names[group_name] = {
                "lr_scale": this_scale,
                "weight_decay": this_decay,
                "params": [],
            }
            param_groups[group_name] = {
                "lr_scale": this_scale,
                "weight_decay": this_decay,
                "params": [],
            }
        param_group_names[group_name]["params"].append(n)
        param_groups[group_name]["params"].append(p)
    return list(param_groups.values())


def adjust_learning_rate(optimizer: Any, epoch: float, lr: float, warmup: int) -> float:
    """Decay the learning rate with half-cycle cosine after warmup"""
    if epoch < warmup:
        lr = lr * epoch / warmup
    else:
        lr = lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / (STEPS - warmup)))
    for param_group in optimizer.param_groups:
        if "lr_scale" in param_group:
            param_group["lr"] = lr * param_group["lr_scale"]
        else:
            param_group["lr"] = lr
    return lr


def get_grad_norm_(torch_like: Any, parameters: Any, norm_type: float = 2.0) -> Any:
    torch = torch_like
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    parameters = [p for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if len(parameters) == 0:
        return torch.tensor(0.0)
    if norm_type == math.inf:
        total_norm = max(p.grad.detach().abs().max() for p in parameters)
    else:
        total_norm = torch.norm(
            torch.stack([torch.norm(p.grad.detach(), norm_type) for p in parameters]), norm_type
        )
    return total_norm


def interpolate_pos_embed(torch_like: Any, pos_embed_checkpoint: Any, new_size: int) -> Any:
    embedding_size = pos_embed_checkpoint.shape[-1]
    num_extra_tokens = 1
    orig_size = int((pos_embed_checkpoint.shape[-2] - num_extra_tokens) ** 0.5)
    extra_tokens = pos_embed_checkpoint[:, :num_extra_tokens]
    pos_tokens = pos_embed_checkpoint[:, num_extra_tokens:]
    pos_tokens = pos_tokens.reshape(-1, orig_size, orig_size, embedding_size).permute(0, 3, 1, 2)
    pos_tokens = torch_like.nn.functional.interpolate(
        pos_tokens, size=(new_size, new_size), mode="bicubic", align_corners=False
    )
    pos_tokens = pos_tokens.permute(0, 2, 3, 1).flatten(1, 2)
    return torch_like.cat((extra_tokens, pos_tokens), dim=1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    # the sin-cos tables are deterministic: the fresh model's, before loading torch's state
    values = [model.pos_embed.sum().item(), model.decoder_pos_embed.abs().sum().item()]
    values += [float(model.pos_embed.requires_grad), float(model.pos_embed.dtype == torch.float64)]
    load_numpy_state(torch_like, model, init)
    model.train(True)

    param_groups = param_groups_lrd(
        model, WEIGHT_DECAY, no_weight_decay_list=model.no_weight_decay(), layer_decay=LAYER_DECAY
    )
    values += [float(len(param_groups))] + [g["lr_scale"] for g in param_groups]
    lr = BLR * BATCH / 256
    optimizer = torch.optim.AdamW(param_groups, lr=lr, betas=(0.9, 0.95))

    imgs_all = rng.standard_normal((STEPS, BATCH, CHANS, IMG, IMG))
    noise_all = rng.random((STEPS, BATCH, (IMG // PATCH) ** 2))
    for data_iter_step in range(STEPS):
        adjust_learning_rate(optimizer, data_iter_step + 0.5, lr, warmup=1)
        samples = as_tensor(torch_like, imgs_all[data_iter_step])
        noise = as_tensor(torch_like, noise_all[data_iter_step])
        loss, pred, mask = model(samples, mask_ratio=MASK_RATIO, noise=noise)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise ValueError("Loss is {}, stopping training".format(loss_value))  # noqa: UP032
        optimizer.zero_grad()
        loss.backward()
        norm = get_grad_norm_(torch_like, model.parameters())
        optimizer.step()
        values += [loss_value, norm.item(), mask.sum().item(), optimizer.param_groups[0]["lr"]]
        values += mask[0].tolist()
        values += [float(model.pos_embed.grad is None)]

    # patchify / unpatchify round trip and the visualisation's masked image
    with torch.no_grad():
        samples = as_tensor(torch_like, imgs_all[0])
        _, y, mask = model(
            samples, mask_ratio=MASK_RATIO, noise=as_tensor(torch_like, noise_all[0])
        )
        y = model.unpatchify(y)
        y = torch.einsum("nchw->nhwc", y).detach().cpu()
        mask = mask.detach()
        mask = mask.unsqueeze(-1).repeat(1, 1, model.patch_embed.patch_size[0] ** 2 * 3)
        mask = model.unpatchify(mask)
        mask = torch.einsum("nchw->nhwc", mask).detach().cpu()
        x = torch.einsum("nchw->nhwc", samples)
        im_masked = x * (1 - mask)
        im_paste = x * (1 - mask) + y * mask
        round_trip = (model.unpatchify(model.patchify(samples)) - samples).abs().max()
    values += [im_masked.sum().item(), im_paste.abs().sum().item(), round_trip.item()]

    # torch.rand masking: the same seed gives the same mask
    torch.manual_seed(0)
    x = model.patch_embed(samples)
    _, mask_a, restore_a = model.random_masking(x, MASK_RATIO)
    torch.manual_seed(0)
    _, mask_b, restore_b = model.random_masking(x, MASK_RATIO)
    values += [float(torch.equal(mask_a, mask_b)), float(torch.equal(restore_a, restore_b))]
    values += mask_a.sum(dim=1).tolist() + [float(restore_a.dtype == torch.int64)]

    new_pos = interpolate_pos_embed(torch_like, model.pos_embed.data, 3)
    return values + [float(new_pos.shape[1]), new_pos.sum().item(), new_pos.abs().sum().item()]
