"""lucidrains' ``vit-pytorch`` (``vit.py``, ``simple_vit.py``) and ``x-clip`` (``x_clip.py``) as
he writes them, size-reduced, with the ``einops`` calls spelled out the way people port them to
plain PyTorch (``view`` / ``permute`` / ``reshape`` / ``expand``).

The idioms: ``pair(t)``; the patch embedding ``nn.Sequential(Rearrange('b c (h p1) (w p2) -> b
(h w) (p1 p2 c)'), nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim), nn.LayerNorm(dim))`` with
the ``Rearrange`` layer as a module doing ``view(b, c, h, p1, w, p2).permute(0, 2, 4, 3, 5,
1).reshape(...)``; ``pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))`` and
``cls_token = nn.Parameter(torch.randn(1, 1, dim))`` repeated over the batch (``expand(b, -1,
-1)``), ``x += self.pos_embedding[:, :(n + 1)]``; ``Attention`` (``self.scale = dim_head **
-0.5``, ``project_out = not (heads == 1 and dim_head == dim)``, ``self.to_qkv(x).chunk(3, dim =
-1)``, ``map(lambda t: rearrange(t, 'b n (h d) -> b h n d'), qkv)``, ``nn.Softmax(dim = -1)``);
``Transformer`` as ``nn.ModuleList([])`` appended with ``nn.ModuleList([Attention(...),
FeedForward(...)])`` pairs unpacked by ``for attn, ff in self.layers``; the ``'cls'`` / ``'mean'``
pool; simple_vit's ``posemb_sincos_2d`` (``torch.meshgrid(..., indexing="ij")``, ``omega =
torch.arange(dim // 4) / (dim // 4 - 1)``, ``1.0 / (temperature ** omega)``, ``pe.type(dtype)``)
registered as a buffer; x-clip's ``LayerNorm`` (``F.layer_norm(x, x.shape[-1:], self.gamma,
self.beta)`` with ``beta`` a zero buffer), ``GEGLU`` (``x, gate = x.chunk(2, dim = -1); return x *
F.gelu(gate)``), ``masked_mean`` (``t.masked_fill(~mask, 0.)``, ``mask.sum(dim = dim).clamp(min
= eps)``), ``max_neg_value(dtype) = -torch.finfo(dtype).max`` in ``sim.masked_fill(~mask,
...)`` with the key mask ``rearrange(mask, 'b j -> b 1 1 j')``, the causal mask
``torch.ones((i, j), dtype = torch.bool).triu(j - i + 1)``, ``einsum('b h i d, b h j d -> b h i
j', q, k)`` with spaces, ``sim.softmax(dim = -1, dtype = torch.float32)`` and ``attn.type(
sim.dtype)``, the text ``cls_token`` ``nn.Parameter(torch.randn(dim))`` repeated ``'d -> b d'``
and ``F.pad(mask, (1, 0), value = True)``; ``l2norm = F.normalize(t, dim = -1)``;
``self.temperature = nn.Parameter(torch.tensor(1.))`` used as ``temp = self.temperature.exp()``
(and open_clip's ``logit_scale.exp().clamp(max=100)``); the contrastive loss written with
``einsum('t d, i d -> t i')``, ``map(torch.exp, ...)``, ``matrix_diag`` (``diag_mask = i_range[:,
None] == j_range[None, :]``, ``t.masked_select(diag_mask)``), ``log(t, eps = 1e-20) =
torch.log(t + eps)`` and ``(-log(pos / denom)).mean(dim = -1)``; and the
``einsum('b i d, b j d -> b i j')`` similarity used for a token-level (FILIP-style) max-mean
score.

Changed: 256x256 images -> 8x8 (patch 4), dim 1024 -> 8, depth 2, heads 2, dim_head 4; text
vocabulary 13, length 5; three Adam steps of the ViT classifier and three of the CLIP model.
The run is float64, but x-clip's attention softmax is float32 (``dtype = torch.float32``), so the
CLIP values agree to float32 precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

IMAGE, PATCH, DIM, DEPTH, HEADS, DIM_HEAD, CLASSES = 8, 4, 8, 2, 2, 4, 3
VOCAB, TEXT_LEN = 13, 5
RTOL, ATOL = 1e-6, 1e-7


def _modules(torch_like: Any) -> dict[str, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def pair(t):
        return t if isinstance(t, tuple) else (t, t)

    def exists(val):
        return val is not None

    def split_heads(t, h):  # rearrange(t, 'b n (h d) -> b h n d', h = h)
        b, n, hd = t.shape
        return t.view(b, n, h, hd // h).permute(0, 2, 1, 3)

    def merge_heads(t):  # rearrange(out, 'b h n d -> b n (h d)')
        b, h, n, d = t.shape
        return t.permute(0, 2, 1, 3).reshape(b, n, h * d)

    class Rearrange(nn.Module):  # 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'
        def __init__(self, p1, p2):
            super().__init__()
            self.p1, self.p2 = p1, p2

        def forward(self, x):
            b, c, hh, ww = x.shape
            h, w = hh // self.p1, ww // self.p2
            x = x.view(b, c, h, self.p1, w, self.p2).permute(0, 2, 4, 3, 5, 1)
            return x.reshape(b, h * w, self.p1 * self.p2 * c)

    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim, dropout=0.0):
            super().__init__()
            self.net = nn.Sequential(
                nn.LayerNorm(dim),
                nn.Linear(dim, hidden_dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, dim),
                nn.Dropout(dropout),
            )

        def forward(self, x):
            return self.net(x)

    class Attention(nn.Module):
        def __init__(self, dim, heads=8, dim_head=64, dropout=0.0):
            super().__init__()
            inner_dim = dim_head * heads
            project_out = not (heads == 1 and dim_head == dim)
            self.heads = heads
            self.scale = dim_head**-0.5
            self.norm = nn.LayerNorm(dim)
            self.attend = nn.Softmax(dim=-1)
            self.dropout = nn.Dropout(dropout)
            self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
            self.to_out = (
                nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout))
                if project_out
                else nn.Identity()
            )

        def forward(self, x):
            x = self.norm(x)
            qkv = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = map(lambda t: split_heads(t, self.heads), qkv)
            dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale
            attn = self.attend(dots)
            attn = self.dropout(attn)
            out = torch.matmul(attn, v)
            out = merge_heads(out)
            return self.to_out(out)

    class Transformer(nn.Module):
        def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.0):
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(
                    nn.ModuleList(
                        [
                            Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout),
                            FeedForward(dim, mlp_dim, dropout=dropout),
                        ]
                    )
                )

        def forward(self, x):
            for attn, ff in self.layers:
                x = attn(x) + x
                x = ff(x) + x
            return self.norm(x)

    class ViT(nn.Module):
        def __init__(
            self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim,
            pool="cls", channels=3, dim_head=64, dropout=0.0, emb_dropout=0.0,
        ):  # fmt: skip
            super().__init__()
            image_height, image_width = pair(image_size)
            patch_height, patch_width = pair(patch_size)
            assert image_height % patch_height == 0 and image_width % patch_width == 0, (
                "Image dimensions must be divisible by the patch size."
            )
            num_patches = (image_height // patch_height) * (image_width // patch_width)
            patch_dim = channels * patch_height * patch_width
            assert pool in {"cls", "mean"}, (
                "pool type must be either cls (cls token) or mean (mean pooling)"
            )
            self.to_patch_embedding = nn.Sequential(
                Rearrange(patch_height, patch_width),
                nn.LayerNorm(patch_dim),
                nn.Linear(patch_dim, dim),
                nn.LayerNorm(dim),
            )
            self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
            self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
            self.dropout = nn.Dropout(emb_dropout)
            self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout)
            self.pool = pool
            self.to_latent = nn.Identity()
            self.mlp_head = nn.Linear(dim, num_classes)

        def forward(self, img):
            x = self.to_patch_embedding(img)
            b, n, _ = x.shape
            cls_tokens = self.cls_token.expand(b, -1, -1)  # repeat(..., '1 1 d -> b 1 d')
            x = torch.cat((cls_tokens, x), dim=1)
            x += self.pos_embedding[:, : (n + 1)]
            x = self.dropout(x)
            x = self.transformer(x)
            x = x.mean(dim=1) if self.pool == "mean" else x[:, 0]
            x = self.to_latent(x)
            return self.mlp_head(x)

    def posemb_sincos_2d(h, w, dim, temperature: int = 10000, dtype=torch.float32):
        y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        assert (dim % 4) == 0, "feature dimension must be multiple of 4 for sincos emb"
        omega = torch.arange(dim // 4) / (dim // 4 - 1)
        omega = 1.0 / (temperature**omega)
        y = y.flatten()[:, None] * omega[None, :]
        x = x.flatten()[:, None] * omega[None, :]
        pe = torch.cat((x.sin(), x.cos(), y.sin(), y.cos()), dim=1)
        return pe.type(dtype)

    # ---- x-clip ----
    def masked_mean(t, mask, dim=1, eps=1e-6):
        t = t.masked_fill(~mask, 0.0)
        numer = t.sum(dim=dim)
        denom = mask.sum(dim=dim).clamp(min=eps)
        return numer / denom

    def max_neg_value(dtype):
        return -torch.finfo(dtype).max

    def l2norm(t):
        return F.normalize(t, dim=-1)

    class LayerNorm(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(dim))
            self.register_buffer("beta", torch.zeros(dim))

        def forward(self, x):
            return F.layer_norm(x, x.shape[-1:], self.gamma, self.beta)

    class GEGLU(nn.Module):
        def forward(self, x):
            x, gate = x.chunk(2, dim=-1)
            return x * F.gelu(gate)

    class ClipFeedForward(nn.Module):
        def __init__(self, dim, mult=2):
            super().__init__()
            inner_dim = int(mult * dim)
            self.net = nn.Sequential(
                LayerNorm(dim),
                nn.Linear(dim, inner_dim * 2, bias=False),
                GEGLU(),
                LayerNorm(inner_dim),
                nn.Linear(inner_dim, dim, bias=False),
            )

        def forward(self, x):
            return self.net(x)

    class ClipAttention(nn.Module):
        def __init__(self, dim, dim_head=64, heads=8, causal=False):
            super().__init__()
            self.heads = heads
            self.causal = causal
            self.scale = dim_head**-0.5
            inner_dim = dim_head * heads
            self.norm = LayerNorm(dim)
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_kv = nn.Linear(dim, inner_dim * 2, bias=False)
            self.to_out = nn.Sequential(nn.Linear(inner_dim, dim, bias=False), LayerNorm(dim))

        def forward(self, x, mask=None):
            h = self.heads
            x = self.norm(x)
            q, k, v = (self.to_q(x), *self.to_kv(x).chunk(2, dim=-1))
            q, k, v = map(lambda t: split_heads(t, h), (q, k, v))
            q = q * self.scale
            sim = torch.einsum("b h i d, b h j d -> b h i j", q, k)
            if exists(mask):
                mask = mask[:, None, None, :]  # rearrange(mask, 'b j -> b 1 1 j')
                sim = sim.masked_fill(~mask, max_neg_value(sim.dtype))
            if self.causal:
                i, j = sim.shape[-2:]
                causal_mask = torch.ones((i, j), dtype=torch.bool).triu(j - i + 1)
                sim = sim.masked_fill(causal_mask, max_neg_value(sim.dtype))
            attn = sim.softmax(dim=-1, dtype=torch.float32)
            attn = attn.type(sim.dtype)
            out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)
            return self.to_out(merge_heads(out))

    class ClipTransformer(nn.Module):
        def __init__(self, dim, *, depth, dim_head=64, heads=8, causal=False):
            super().__init__()
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(
                    nn.ModuleList(
                        [
                            ClipAttention(dim=dim, dim_head=dim_head, heads=heads, causal=causal),
                            ClipFeedForward(dim=dim),
                        ]
                    )
                )
            self.norm_out = LayerNorm(dim)

        def forward(self, x, mask=None):
            for attn, ff in self.layers:
                x = attn(x, mask=mask) + x
                x = ff(x) + x
            return self.norm_out(x)

    class TextTransformer(nn.Module):
        def __init__(self, dim, *, num_tokens, max_seq_len, **kwargs):
            super().__init__()
            self.token_emb = nn.Embedding(num_tokens, dim)
            self.abs_pos_emb = nn.Embedding(max_seq_len, dim)
            self.cls_token = nn.Parameter(torch.randn(dim))
            self.transformer = ClipTransformer(dim, **kwargs)

        def forward(self, x, mask=None):
            b, n, device = *x.shape, x.device
            x = self.token_emb(x)
            pos_emb = self.abs_pos_emb(torch.arange(n, device=device))
            x = x + pos_emb[None]  # rearrange(pos_emb, 'n d -> 1 n d')
            cls_tokens = self.cls_token.repeat(b, 1)  # repeat(..., 'd -> b d', b = b)
            x = torch.cat((cls_tokens[:, None], x), dim=1)  # pack([cls_tokens, x], 'b * d')
            if exists(mask):
                mask = F.pad(mask, (1, 0), value=True)
            return self.transformer(x, mask=mask)

    class VisionTransformer(nn.Module):  # simple_vit with x-clip's transformer
        def __init__(self, dim, *, image_size, patch_size, channels, **kwargs):
            super().__init__()
            h, w = pair(image_size)
            ph, pw = pair(patch_size)
            self.to_tokens = nn.Sequential(Rearrange(ph, pw), nn.Linear(ph * pw * channels, dim))
            self.register_buffer(
                "pos_emb", posemb_sincos_2d(h // ph, w // pw, dim, dtype=torch.get_default_dtype())
            )
            self.cls_token = nn.Parameter(torch.randn(dim))
            self.transformer = ClipTransformer(dim, **kwargs)

        def forward(self, x):
            x = self.to_tokens(x)
            b = x.shape[0]
            x = x + self.pos_emb
            cls_tokens = self.cls_token[None, None].expand(b, 1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            return self.transformer(x)

    class CLIP(nn.Module):
        def __init__(self, dim_latent=6):
            super().__init__()
            self.text_transformer = TextTransformer(
                DIM, num_tokens=VOCAB, max_seq_len=TEXT_LEN, depth=1, dim_head=DIM_HEAD,
                heads=HEADS, causal=True,
            )  # fmt: skip
            self.visual_transformer = VisionTransformer(
                DIM, image_size=IMAGE, patch_size=PATCH, channels=3, depth=1,
                dim_head=DIM_HEAD, heads=HEADS,
            )  # fmt: skip
            self.to_text_latent = nn.Linear(DIM, dim_latent, bias=False)
            self.to_visual_latent = nn.Linear(DIM, dim_latent, bias=False)
            self.temperature = nn.Parameter(torch.tensor(1.0))

        def forward(self, text, image, return_loss=False):
            text_mask = text != 0
            enc_text = self.text_transformer(text, mask=text_mask)
            enc_image = self.visual_transformer(image)
            text_embeds = enc_text[:, 0]
            image_embeds = enc_image[:, 0]
            text_latents = l2norm(self.to_text_latent(text_embeds))
            image_latents = l2norm(self.to_visual_latent(image_embeds))
            temp = self.temperature.exp()
            if not return_loss:
                return torch.einsum("t d, i d -> t i", text_latents, image_latents) * temp
            text_to_image = torch.einsum("t d, i d -> t i", text_latents, image_latents) * temp
            image_to_text = text_to_image.t()
            text_to_image_exp, image_to_text_exp = map(torch.exp, (text_to_image, image_to_text))
            text_to_image_pos, image_to_text_pos = map(
                matrix_diag, (text_to_image_exp, image_to_text_exp)
            )
            text_to_image_denom, image_to_text_denom = map(
                lambda t: t.sum(dim=-1), (text_to_image_exp, image_to_text_exp)
            )
            text_to_image_loss = (-log(text_to_image_pos / text_to_image_denom)).mean(dim=-1)
            image_to_text_loss = (-log(image_to_text_pos / image_to_text_denom)).mean(dim=-1)
            # token-level (FILIP-style) similarity: max over image tokens, masked mean over text
            sim_tokens = torch.einsum(
                "b i d, b j d -> b i j", l2norm(enc_text[:, 1:]), l2norm(enc_image[:, 1:])
            )
            fine = masked_mean(sim_tokens.amax(dim=-1), text_mask, dim=-1)
            return (text_to_image_loss + image_to_text_loss) / 2, fine

    def log(t, eps=1e-20):
        return torch.log(t + eps)

    def matrix_diag(t):
        device = t.device
        i, j = t.shape[-2:]
        num_diag_el = min(i, j)
        i_range = torch.arange(i, device=device)
        j_range = torch.arange(j, device=device)
        diag_mask = i_range[:, None] == j_range[None, :]
        diag_el = t.masked_select(diag_mask)
        return diag_el.reshape(-1, num_diag_el)  # rearrange(diag_el, '(b d) -> b d')

    return {"ViT": ViT, "CLIP": CLIP, "posemb_sincos_2d": posemb_sincos_2d}


def make_model(torch_like: Any) -> Any:
    m = _modules(torch_like)
    nn = torch_like.nn

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.vit = m["ViT"](
                image_size=IMAGE, patch_size=PATCH, num_classes=CLASSES, dim=DIM, depth=DEPTH,
                heads=HEADS, mlp_dim=2 * DIM, dim_head=DIM_HEAD,
            )  # fmt: skip
            self.vit_mean = m["ViT"](
                image_size=(IMAGE, IMAGE), patch_size=(PATCH, PATCH), num_classes=CLASSES,
                dim=DIM, depth=1, heads=1, mlp_dim=DIM, dim_head=DIM, pool="mean",
            )  # fmt: skip
            self.clip = m["CLIP"]()

    return Both()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(17)
    values: list[float] = []
    pe = _modules(torch_like)["posemb_sincos_2d"](2, 3, 8)
    values += [pe.sum().item(), float(pe.dtype == torch.float32)]
    values.append(
        float(isinstance(model.vit_mean.transformer.layers[0][1].net[-1], torch.nn.Dropout))
    )
    values.append(
        float(isinstance(model.vit_mean.transformer.layers[0][0].to_out, torch.nn.Identity))
    )

    images = as_tensor(torch_like, rng.standard_normal((4, 3, IMAGE, IMAGE)))
    labels = as_tensor(torch_like, rng.integers(0, CLASSES, 4))
    opt = torch.optim.Adam(
        list(model.vit.parameters()) + list(model.vit_mean.parameters()), lr=3e-3
    )
    for _ in range(3):
        preds = model.vit(images)
        loss = F.cross_entropy(preds, labels) + F.cross_entropy(model.vit_mean(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())

    text_np = rng.integers(1, VOCAB, (4, TEXT_LEN))
    text_np[0, 3:] = 0  # padding
    text_np[2, 1:] = 0
    text = as_tensor(torch_like, text_np)
    opt = torch.optim.Adam(model.clip.parameters(), lr=3e-3)
    for _ in range(3):
        loss, fine = model.clip(text, images, return_loss=True)
        total = loss + 0.1 * (1 - fine).mean()
        opt.zero_grad()
        total.backward()
        opt.step()
        with torch.no_grad():
            logit_scale = model.clip.temperature.exp().clamp(max=100)
        values += [loss.item(), fine.sum().item(), logit_scale.item()]
    with torch.no_grad():
        sim = model.clip(text, images)
        values += [sim.sum().item(), (sim.argmax(dim=-1) == torch.arange(4)).float().mean().item()]
    values.append(-torch.finfo(torch.float32).max / 1e38)
    return values
