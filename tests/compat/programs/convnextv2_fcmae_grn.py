"""ConvNeXt-V2's fully convolutional masked autoencoder as facebookresearch/ConvNeXt-V2 writes it
(``models/convnextv2.py``, ``models/fcmae.py``, ``models/utils.py``), size-reduced, pre-trained
a few steps, with the dense emulation of the sparse encoder (the ``use_sparse=False`` path).

The idioms: ``GRN`` (global response normalisation: ``nn.Parameter(torch.zeros(1, 1, 1,
dim))`` gamma and beta, ``Gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)``, ``Nx = Gx /
(Gx.mean(dim=-1, keepdim=True) + 1e-6)``, ``self.gamma * (x * Nx) + self.beta + x``); the
channels-first ``LayerNorm`` (``data_format`` switch, ``F.layer_norm`` for channels-last,
``u = x.mean(1, keepdim=True)`` / ``s = (x - u).pow(2).mean(1, keepdim=True)`` otherwise);
the V2 ``Block`` (depthwise 7x7 conv, ``x.permute(0, 2, 3, 1)``, ``pwconv1`` / ``nn.GELU`` /
``grn`` / ``pwconv2``); ``FCMAE.gen_random_mask`` (``torch.argsort(noise, dim=1)`` twice,
``mask[:, :len_keep] = 0``, ``torch.gather(mask, dim=1, index=ids_restore)``),
``upsample_mask`` (``mask.reshape(-1, p, p).repeat_interleave(scale, axis=1)
.repeat_interleave(scale, axis=2)``, NumPy's ``axis=`` keyword), the dense masked encoder
(``mask.unsqueeze(1).type_as(x)``, ``x *= (1. - mask)`` after the stem and each stage), the
decoder's ``mask_token.repeat(x.shape[0], 1, x.shape[2], x.shape[3])`` and ``x * (1. - mask)
+ mask_token * mask``, ``patchify`` (``imgs.reshape(shape=(...))`` with the ``shape=``
keyword, ``torch.einsum('nchpwq->nhwpqc', x)``), ``forward_loss`` (``torch.einsum('ncl->nlc',
pred)``, the ``norm_pix_loss`` target ``(target - mean) / (var + 1.e-6)**.5``, ``(loss *
mask).sum() / mask.sum()``); ``_init_weights`` through ``self.apply`` (``trunc_normal_(
w.weight, std=.02)``, ``nn.init.constant_(w.bias, 0)``) and ``torch.nn.init.normal_(
self.mask_token, std=.02)``; AdamW with ``betas=(0.9, 0.95)``.

Changed: the ``torch.randn`` noise of the mask comes from NumPy (the generators differ);
32x32 images with patch 8, two stages of widths 8 and 16 (one block each), a one-block
decoder of width 8.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, PATCH, DIMS, DEC_DIM, MASK_RATIO = 32, 8, (8, 16), 8, 0.6


def _build(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    trunc_normal_ = nn.init.trunc_normal_

    class LayerNorm(nn.Module):
        def __init__(self, normalized_shape, eps=1e-6, data_format="channels_last"):  # noqa: ANN001
            super().__init__()
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
            self.eps = eps
            self.data_format = data_format
            if self.data_format not in ["channels_last", "channels_first"]:
                raise NotImplementedError
            self.normalized_shape = (normalized_shape,)

        def forward(self, x: Any) -> Any:
            if self.data_format == "channels_last":
                return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            elif self.data_format == "channels_first":
                u = x.mean(1, keepdim=True)
                s = (x - u).pow(2).mean(1, keepdim=True)
                x = (x - u) / torch.sqrt(s + self.eps)
                x = self.weight[:, None, None] * x + self.bias[:, None, None]
                return x

    class GRN(nn.Module):
        """GRN (Global Response Normalization) layer"""

        def __init__(self, dim: int) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
            self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

        def forward(self, x: Any) -> Any:
            Gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
            Nx = Gx / (Gx.mean(dim=-1, keepdim=True) + 1e-6)
            return self.gamma * (x * Nx) + self.beta + x

    class Block(nn.Module):
        """ConvNeXtV2 Block."""

        def __init__(self, dim: int, drop_path: float = 0.0) -> None:
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
            self.norm = LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)
            self.act = nn.GELU()
            self.grn = GRN(4 * dim)
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.drop_path = nn.Identity()

        def forward(self, x: Any) -> Any:
            input = x
            x = self.dwconv(x)
            x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
            x = self.norm(x)
            x = self.pwconv1(x)
            x = self.act(x)
            x = self.grn(x)
            x = self.pwconv2(x)
            x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
            x = input + self.drop_path(x)
            return x

    class FCMAE(nn.Module):
        """Fully Convolutional Masked Autoencoder with ConvNeXtV2 backbone"""

        def __init__(self, in_chans: int = 3, depths: tuple = (1, 1), dims: tuple = DIMS,
                     decoder_depth: int = 1, decoder_embed_dim: int = DEC_DIM,
                     patch_size: int = PATCH, mask_ratio: float = MASK_RATIO,
                     norm_pix_loss: bool = True) -> None:  # fmt: skip
            super().__init__()
            self.depths = depths
            self.num_stages = len(depths)
            self.downsample_layers = nn.ModuleList()
            stem = nn.Sequential(
                nn.Conv2d(in_chans, dims[0], kernel_size=4, stride=4),
                LayerNorm(dims[0], eps=1e-6, data_format="channels_first"),
            )
            self.downsample_layers.append(stem)
            for i in range(self.num_stages - 1):
                downsample_layer = nn.Sequential(
                    LayerNorm(dims[i], eps=1e-6, data_format="channels_first"),
                    nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2),
                )
                self.downsample_layers.append(downsample_layer)
            self.stages = nn.ModuleList()
            for i in range(self.num_stages):
                stage = nn.Sequential(*[Block(dim=dims[i]) for j in range(depths[i])])
                self.stages.append(stage)

            self.patch_size = patch_size
            self.mask_ratio = mask_ratio
            self.num_patches = (IMG // patch_size) ** 2
            self.decoder_embed_dim = decoder_embed_dim
            self.decoder_depth = decoder_depth
            self.norm_pix_loss = norm_pix_loss

            self.proj = nn.Conv2d(
                in_channels=dims[-1], out_channels=decoder_embed_dim, kernel_size=1
            )
            # mask tokens
            self.mask_token = nn.Parameter(torch.zeros(1, decoder_embed_dim, 1, 1))
            decoder = [Block(dim=decoder_embed_dim, drop_path=0.0) for i in range(decoder_depth)]
            self.decoder = nn.Sequential(*decoder)
            # pred
            self.pred = nn.Conv2d(
                in_channels=decoder_embed_dim, out_channels=patch_size**2 * in_chans, kernel_size=1
            )

            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Conv2d):
                w = m.weight.data
                trunc_normal_(w.view([w.shape[0], -1]))
                nn.init.constant_(m.bias, 0)
            if isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                nn.init.constant_(m.bias, 0)
            if hasattr(self, "mask_token"):
                torch.nn.init.normal_(self.mask_token, std=0.02)

        def patchify(self, imgs: Any) -> Any:
            p = self.patch_size
            assert imgs.shape[2] == imgs.shape[3] and imgs.shape[2] % p == 0

            h = w = imgs.shape[2] // p
            x = imgs.reshape(shape=(imgs.shape[0], 3, h, p, w, p))
            x = torch.einsum("nchpwq->nhwpqc", x)
            x = x.reshape(shape=(imgs.shape[0], h * w, p**2 * 3))
            return x

        def gen_random_mask(self, x: Any, mask_ratio: float, noise: Any) -> Any:
            N = x.shape[0]
            L = (x.shape[2] // self.patch_size) ** 2
            len_keep = int(L * (1 - mask_ratio))

            # sort noise for each sample
            ids_shuffle = torch.argsort(noise, dim=1)
            ids_restore = torch.argsort(ids_shuffle, dim=1)

            # generate the binary mask: 0 is keep 1 is remove
            mask = torch.ones([N, L], device=x.device)
            mask[:, :len_keep] = 0
            # unshuffle to get the binary mask
            mask = torch.gather(mask, dim=1, index=ids_restore)
            return mask

        def upsample_mask(self, mask: Any, scale: int) -> Any:
            assert len(mask.shape) == 2
            p = int(mask.shape[1] ** 0.5)
            return (
                mask.reshape(-1, p, p)
                .repeat_interleave(scale, axis=1)
                .repeat_interleave(scale, axis=2)
            )

        def forward_encoder(self, imgs: Any, mask_ratio: float, noise: Any) -> tuple[Any, Any]:
            # generate random masks
            mask = self.gen_random_mask(imgs, mask_ratio, noise)
            # encoding (the dense path: masked positions zeroed after every stage)
            x = imgs
            full_mask = self.upsample_mask(mask, 2 ** (self.num_stages - 1))
            full_mask = full_mask.unsqueeze(1).type_as(x)
            for i in range(self.num_stages):
                x = self.downsample_layers[i](x)
                if i == 0:
                    x *= 1.0 - full_mask
                else:
                    x = x * (1.0 - mask.reshape(-1, 1, x.shape[2], x.shape[3]).type_as(x))
                x = self.stages[i](x)
            return x, mask

        def forward_decoder(self, x: Any, mask: Any) -> Any:
            x = self.proj(x)
            # append mask token
            n, c, h, w = x.shape
            mask = mask.reshape(-1, h, w).unsqueeze(1).type_as(x)
            mask_token = self.mask_token.repeat(x.shape[0], 1, x.shape[2], x.shape[3])
            x = x * (1.0 - mask) + mask_token * mask
            # decoding
            x = self.decoder(x)
            # pred
            pred = self.pred(x)
            return pred

        def forward_loss(self, imgs: Any, pred: Any, mask: Any) -> Any:
            if len(pred.shape) == 4:
                n, c, _, _ = pred.shape
                pred = pred.reshape(n, c, -1)
                pred = torch.einsum("ncl->nlc", pred)

            target = self.patchify(imgs)
            if self.norm_pix_loss:
                mean = target.mean(dim=-1, keepdim=True)
                var = target.var(dim=-1, keepdim=True)
                target = (target - mean) / (var + 1.0e-6) ** 0.5
            loss = (pred - target) ** 2
            loss = loss.mean(dim=-1)  # [N, L], mean loss per patch

            loss = (loss * mask).sum() / mask.sum()  # mean loss on removed patches
            return loss

        def forward(self, imgs: Any, noise: Any, mask_ratio: float = MASK_RATIO) -> tuple:
            x, mask = self.forward_encoder(imgs, mask_ratio, noise)
            pred = self.forward_decoder(x, mask)
            loss = self.forward_loss(imgs, pred, mask)
            return loss, pred, mask

    return {"FCMAE": FCMAE, "GRN": GRN}


def make_model(torch_like: Any) -> Any:
    model = _build(torch_like)["FCMAE"]()
    for name, p in model.named_parameters():  # GRN starts as the identity: move it off
        if "grn" in name:
            torch_like.nn.init.normal_(p, std=0.1)
    return model


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    parts = _build(torch_like)
    model = parts["FCMAE"]()
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    rng = np.random.default_rng(8)
    grn = parts["GRN"](6)
    with torch.no_grad():
        grn.gamma.fill_(0.5)
        grn.beta.fill_(0.1)
    x = as_tensor(torch, rng.standard_normal((2, 3, 3, 6)))
    values += grn(x).flatten()[:8].tolist()

    optimizer = torch.optim.AdamW(model.parameters(), lr=1.5e-3, betas=(0.9, 0.95))
    model.train()
    for _ in range(3):
        imgs = as_tensor(torch, rng.standard_normal((2, 3, IMG, IMG)))
        noise = as_tensor(torch, rng.standard_normal((2, model.num_patches)))
        loss, pred, mask = model(imgs, noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), mask.sum().item()]
        values += mask[0].tolist()
    values.append(float(pred.shape == (2, PATCH**2 * 3, 4, 4)))
    up = model.upsample_mask(mask, 2)
    values.append(float(up.shape == (2, 8, 8)))
    values += up[0, :2].flatten().tolist()
    values += model.stages[0][0].grn.gamma.flatten()[:4].tolist()
    values += model.mask_token.flatten().tolist()
    return values
