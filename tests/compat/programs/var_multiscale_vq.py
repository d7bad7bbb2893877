"""VAR, "Visual Autoregressive Modeling: Scalable Image Generation via Next-Scale Prediction" (Tian
et al. 2024), as FoundationVision/VAR writes its multi-scale residual quantizer
(``models/quant.py``: ``VectorQuantizer2``, ``Phi``, ``PhiPartiallyShared``) and the block-causal
next-scale transformer (``models/var.py``, ``models/basic_var.py``), size-reduced.

The idioms: ``VectorQuantizer2.forward``'s autocast switched off, ``f_no_grad = f_BChw.detach()``,
``f_rest = f_no_grad.clone()``, ``f_hat = torch.zeros_like(f_rest)``; per scale
``F.interpolate(f_rest, size=(pn, pn), mode='area').permute(0, 2, 3, 1).reshape(-1, C)``, the
distances ``torch.sum(rest_NC.square(), dim=1, keepdim=True) +
torch.sum(self.embedding.weight.data.square(), dim=1, keepdim=False)`` then
``d_no_grad.addmm_(rest_NC, self.embedding.weight.data.T, alpha=-2, beta=1)``,
``torch.argmin(d_no_grad, dim=1)``, ``F.interpolate(self.embedding(idx_Bhw).permute(0, 3, 1, 2),
size=(H, W), mode='bicubic').contiguous()``, ``self.quant_resi[si / (SN - 1)]``, ``f_rest -=
h_BChw``, ``F.mse_loss(f_hat.data, f_BChw).mul_(self.beta) + F.mse_loss(f_hat, f_no_grad)``, the
straight-through ``(f_hat.data - f_no_grad).add_(f_BChw)``, the codebook usage
``idx_N.bincount(minlength=self.vocab_size).float()``; ``Phi(nn.Conv2d)`` (``h_BChw.mul(1 -
self.resi_ratio) + super().forward(h_BChw).mul_(self.resi_ratio)``) and
``PhiPartiallyShared.__getitem__`` (``np.argmin(np.abs(self.ticks - at_from_0_to_1)).item()``);
``idxBl_to_var_input`` (``F.interpolate(..., mode='bicubic')`` up, ``mode='area'`` down,
``torch.cat(next_scales, dim=1)``); the transformer's level map ``d = torch.cat([torch.full((pn *
pn,), i) for i, pn in enumerate(self.patch_nums)]).view(1, self.L, 1)``, ``dT = d.transpose(1, 2)``,
``lvl_1L = dT[:, 0].contiguous()`` and ``attn_bias_for_masking = torch.where(d >= dT, 0.,
-torch.inf).reshape(1, 1, self.L, self.L)`` passed as ``attn_mask`` to SDPA; the level embedding
``self.lvl_embed(lvl_1L.expand(B, -1))``; the class token as the start
(``self.class_emb(label_B).unsqueeze(1).expand(B, self.first_l, -1)``) with
``torch.where(torch.rand(B) < self.cond_drop_rate, self.num_classes, label_B)``'s condition dropout
(drawn with NumPy); ``AdaLNSelfAttn``'s ``self.ada_lin(cond_BD).view(-1, 1, 6, self.C).unbind(2)``
with ``gamma1, gamma2, scale1, scale2, shift1, shift2``; and the loss
``F.cross_entropy(logits_BLV.view(-1, V), gt_BL.view(-1), reduction='none').view(B, -1)`` weighted
by ``loss_weight`` and ``.mul_(lw).sum(dim=-1).mean()``.

Changed: ``patch_nums`` (1..16) -> (1, 2, 3), the VAE encoder -> fixed NumPy feature maps, ``Cvae``
32 -> 4, vocabulary 4096 -> 8, depth 1, 4 steps of AdamW on the quantizer's Phi convs and the
transformer together; no ``torch.compile``; ``torch.cuda.amp.autocast(enabled=False)`` (deprecated)
-> ``torch.autocast("cuda", enabled=False)``; float32 as VAR trains its quantizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
PATCH_NUMS, CVAE, VOCAB, C, NUM_CLASSES, BATCH, STEPS = (1, 2, 3), 4, 8, 8, 3, 2, 4
SHARE_QUANT_RESI = 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Phi(nn.Conv2d):
        def __init__(self, embed_dim: int, quant_resi: float) -> None:
            ks = 3
            super().__init__(
                in_channels=embed_dim,
                out_channels=embed_dim,
                kernel_size=ks,
                stride=1,
                padding=ks // 2,
            )
            self.resi_ratio = abs(quant_resi)

        def forward(self, h_BChw: Any) -> Any:
            return h_BChw.mul(1 - self.resi_ratio) + super().forward(h_BChw).mul_(self.resi_ratio)

    class PhiPartiallyShared(nn.Module):
        def __init__(self, qresi_ls: Any) -> None:
            super().__init__()
            self.qresi_ls = qresi_ls
            K = len(qresi_ls)
            self.ticks = (
                np.linspace(1 / 3 / K, 1 - 1 / 3 / K, K)
                if K == 4
                else np.linspace(1 / 2 / K, 1 - 1 / 2 / K, K)
            )

        def __getitem__(self, at_from_0_to_1: float) -> Any:
            return self.qresi_ls[np.argmin(np.abs(self.ticks - at_from_0_to_1)).item()]

        def extra_repr(self) -> str:
            return f"ticks={self.ticks}"

    class VectorQuantizer2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vocab_size, self.Cvae = VOCAB, CVAE
            self.v_patch_nums = PATCH_NUMS
            self.quant_resi = PhiPartiallyShared(
                nn.ModuleList([Phi(CVAE, 0.5) for _ in range(SHARE_QUANT_RESI)])
            )
            self.register_buffer("ema_vocab_hit_SV", torch.full((len(PATCH_NUMS), VOCAB), 0.0))
            self.record_hit = 0
            self.beta = 0.25
            self.embedding = nn.Embedding(self.vocab_size, self.Cvae)

        def forward(self, f_BChw: Any) -> Any:
            dtype = f_BChw.dtype
            if dtype != torch.float32:
                f_BChw = f_BChw.float()
            B, C_, H, W = f_BChw.shape
            f_no_grad = f_BChw.detach()
            f_rest = f_no_grad.clone()
            f_hat = torch.zeros_like(f_rest)
            with torch.autocast("cuda", enabled=False):
                mean_vq_loss = 0.0
                vocab_hit_V = torch.zeros(self.vocab_size, dtype=torch.float, device=f_BChw.device)
                SN = len(self.v_patch_nums)
                for si, pn in enumerate(self.v_patch_nums):
                    rest_NC = (
                        F.interpolate(f_rest, size=(pn, pn), mode="area")
                        .permute(0, 2, 3, 1)
                        .reshape(-1, C_)
                        if (si != SN - 1)
                        else f_rest.permute(0, 2, 3, 1).reshape(-1, C_)
                    )
                    d_no_grad = torch.sum(rest_NC.square(), dim=1, keepdim=True) + torch.sum(
                        self.embedding.weight.data.square(), dim=1, keepdim=False
                    )
                    d_no_grad.addmm_(rest_NC, self.embedding.weight.data.T, alpha=-2, beta=1)
                    idx_N = torch.argmin(d_no_grad, dim=1)
                    hit_V = idx_N.bincount(minlength=self.vocab_size).float()
                    idx_Bhw = idx_N.view(B, pn, pn)
                    h_BChw = (
                        F.interpolate(
                            self.embedding(idx_Bhw).permute(0, 3, 1, 2), size=(H, W), mode="bicubic"
                        ).contiguous()
                        if (si != SN - 1)
                        else self.embedding(idx_Bhw).permute(0, 3, 1, 2).contiguous()
                    )
                    h_BChw = self.quant_resi[si / (SN - 1)](h_BChw)
                    f_hat = f_hat + h_BChw
                    f_rest -= h_BChw
                    vocab_hit_V.add_(hit_V)
                    mean_vq_loss += F.mse_loss(f_hat.data, f_BChw).mul_(self.beta) + F.mse_loss(
                        f_hat, f_no_grad
                    )
                mean_vq_loss *= 1.0 / SN
                f_hat = (f_hat.data - f_no_grad).add_(f_BChw)
            return f_hat, vocab_hit_V, mean_vq_loss

        def f_to_idxBl_or_fhat(self, f_BChw: Any) -> list:
            B, C_, H, W = f_BChw.shape
            f_no_grad = f_BChw.detach()
            f_rest = f_no_grad.clone()
            f_hat = torch.zeros_like(f_rest)
            idx_Bl = []
            SN = len(self.v_patch_nums)
            for si, pn in enumerate(self.v_patch_nums):
                z_NC = (
                    F.interpolate(f_rest, size=(pn, pn), mode="area")
                    .permute(0, 2, 3, 1)
                    .reshape(-1, C_)
                    if (si != SN - 1)
                    else f_rest.permute(0, 2, 3, 1).reshape(-1, C_)
                )
                d_no_grad = torch.sum(z_NC.square(), dim=1, keepdim=True) + torch.sum(
                    self.embedding.weight.data.square(), dim=1, keepdim=False
                )
                d_no_grad.addmm_(z_NC, self.embedding.weight.data.T, alpha=-2, beta=1)
                idx_N = torch.argmin(d_no_grad, dim=1)
                idx_Bhw = idx_N.view(B, pn, pn)
                h_BChw = (
                    F.interpolate(
                        self.embedding(idx_Bhw).permute(0, 3, 1, 2), size=(H, W), mode="bicubic"
                    ).contiguous()
                    if (si != SN - 1)
                    else self.embedding(idx_Bhw).permute(0, 3, 1, 2).contiguous()
                )
                h_BChw = self.quant_resi[si / (SN - 1)](h_BChw)
                f_hat.add_(h_BChw)
                f_rest.sub_(h_BChw)
                idx_Bl.append(idx_N.reshape(B, pn * pn))
            return idx_Bl

        def idxBl_to_var_input(self, gt_ms_idx_Bl: list) -> Any:
            next_scales = []
            B = gt_ms_idx_Bl[0].shape[0]
            C_ = self.Cvae
            H = W = self.v_patch_nums[-1]
            SN = len(self.v_patch_nums)
            f_hat = gt_ms_idx_Bl[0].new_zeros(B, C_, H, W, dtype=torch.float32)
            pn_next = self.v_patch_nums[0]
            for si in range(SN - 1):
                h_BChw = F.interpolate(
                    self.embedding(gt_ms_idx_Bl[si]).transpose_(1, 2).view(B, C_, pn_next, pn_next),
                    size=(H, W),
                    mode="bicubic",
                )
                f_hat.add_(self.quant_resi[si / (SN - 1)](h_BChw))
                pn_next = self.v_patch_nums[si + 1]
                next_scales.append(
                    F.interpolate(f_hat, size=(pn_next, pn_next), mode="area")
                    .view(B, C_, -1)
                    .transpose(1, 2)
                )
            return torch.cat(next_scales, dim=1) if len(next_scales) else None

    class AdaLNSelfAttn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.C, self.num_heads = C, 2
            self.mat_qkv = nn.Linear(C, 3 * C, bias=False)
            self.proj = nn.Linear(C, C)
            self.ffn = nn.Sequential(
                nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C)
            )
            self.ln_wo_grad = nn.LayerNorm(C, eps=1e-6, elementwise_affine=False)
            self.ada_lin = nn.Sequential(nn.SiLU(inplace=False), nn.Linear(C, 6 * C))

        def forward(self, x: Any, cond_BD: Any, attn_bias: Any) -> Any:
            gamma1, gamma2, scale1, scale2, shift1, shift2 = (
                self.ada_lin(cond_BD).view(-1, 1, 6, self.C).unbind(2)
            )
            h = self.ln_wo_grad(x).mul(scale1.add(1)).add_(shift1)
            B, L, _ = h.shape
            qkv = self.mat_qkv(h).view(B, L, 3, self.num_heads, C // self.num_heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(dim=0)
            oup = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias, dropout_p=0.0)
            attn = self.proj(oup.transpose(1, 2).reshape(B, L, C))
            x = x + attn.mul_(gamma1)
            x = x + self.ffn(self.ln_wo_grad(x).mul(scale2.add(1)).add_(shift2)).mul(gamma2)
            return x

    class VAR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vq = VectorQuantizer2()
            self.patch_nums = PATCH_NUMS
            self.L = sum(pn**2 for pn in PATCH_NUMS)
            self.first_l = PATCH_NUMS[0] ** 2
            self.num_classes = NUM_CLASSES
            self.word_embed = nn.Linear(CVAE, C)
            self.class_emb = nn.Embedding(NUM_CLASSES + 1, C)
            self.pos_start = nn.Parameter(torch.empty(1, self.first_l, C))
            nn.init.trunc_normal_(self.pos_start.data, mean=0, std=0.02)
            self.pos_1LC = nn.Parameter(torch.empty(1, self.L, C).normal_(0, 0.02))
            self.lvl_embed = nn.Embedding(len(PATCH_NUMS), C)
            self.block = AdaLNSelfAttn()
            d = torch.cat([torch.full((pn * pn,), i) for i, pn in enumerate(self.patch_nums)]).view(
                1, self.L, 1
            )
            dT = d.transpose(1, 2)
            lvl_1L = dT[:, 0].contiguous()
            self.register_buffer("lvl_1L", lvl_1L)
            attn_bias_for_masking = torch.where(d >= dT, 0.0, -torch.inf).reshape(
                1, 1, self.L, self.L
            )
            self.register_buffer("attn_bias_for_masking", attn_bias_for_masking.contiguous())
            self.head_nm = nn.LayerNorm(C, eps=1e-6, elementwise_affine=False)
            self.head = nn.Linear(C, VOCAB)

        def forward(self, label_B: Any, x_BLCv_wo_first_l: Any) -> Any:
            B = x_BLCv_wo_first_l.shape[0]
            sos = cond_BD = self.class_emb(label_B)
            sos = sos.unsqueeze(1).expand(B, self.first_l, -1) + self.pos_start.expand(
                B, self.first_l, -1
            )
            x_BLC = torch.cat((sos, self.word_embed(x_BLCv_wo_first_l.float())), dim=1)
            x_BLC += (
                self.lvl_embed(self.lvl_1L[:, : self.L].expand(B, -1)) + self.pos_1LC[:, : self.L]
            )
            attn_bias = self.attn_bias_for_masking[:, :, : self.L, : self.L]
            x_BLC = self.block(x_BLC, cond_BD, attn_bias)
            return self.head(self.head_nm(x_BLC))

    return VAR()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.05)
    rng = np.random.default_rng(24)
    H = PATCH_NUMS[-1]
    L = sum(pn**2 for pn in PATCH_NUMS)
    loss_weight = torch.ones(1, L) / L
    values: list[float] = []
    for _ in range(STEPS):
        f_BChw = as_tensor(torch, rng.standard_normal((BATCH, CVAE, H, H)).astype(np.float32))
        f_BChw.requires_grad_(True)
        f_hat, usages, vq_loss = model.vq(f_BChw)
        with torch.no_grad():  # VAR trains its transformer on a frozen VQVAE
            gt_idx_Bl = model.vq.f_to_idxBl_or_fhat(f_hat.detach())
            gt_BL = torch.cat(gt_idx_Bl, dim=1)
            x_BLCv_wo_first_l = model.vq.idxBl_to_var_input(gt_idx_Bl)
        label_B = as_tensor(torch, rng.integers(0, NUM_CLASSES, BATCH))
        drop = as_tensor(torch, rng.random(BATCH)) < 0.1
        label_B = torch.where(drop, NUM_CLASSES, label_B)
        logits_BLV = model(label_B, x_BLCv_wo_first_l)
        V = logits_BLV.shape[-1]
        loss = F.cross_entropy(logits_BLV.view(-1, V), gt_BL.view(-1), reduction="none").view(
            BATCH, -1
        )
        lw = loss_weight
        loss = loss.mul(lw).sum(dim=-1).mean()
        total = loss + vq_loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        values.extend([loss.item(), vq_loss.item(), usages.sum().item(), f_BChw.grad.sum().item()])
    return values
