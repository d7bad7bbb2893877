"""swz30/Restormer (``basicsr/models/archs/restormer_arch.py`` and the ``ImageCleanModel``
step), size-reduced: ``BiasFree_LayerNorm``/``WithBias_LayerNorm`` (``isinstance(
normalized_shape, numbers.Integral)``, ``torch.Size(normalized_shape)``, ``x.var(-1,
keepdim=True, unbiased=False)``, ``x / torch.sqrt(sigma+1e-5) * self.weight``) applied through
``to_3d``/``to_4d``; the gated-Dconv feed-forward network (``project_in`` to
``hidden_features*2``, a depthwise ``Conv2d(groups=hidden_features*2)``, ``.chunk(2, dim=1)``,
``F.gelu(x1) * x2``); multi-Dconv head transposed attention (``qkv_dwconv(self.qkv(x))``,
``qkv.chunk(3, dim=1)``, per-head ``'b (head c) h w -> b head c (h w)'``,
``torch.nn.functional.normalize(q, dim=-1)``, ``(q @ k.transpose(-2, -1)) *
self.temperature`` with the learnable ``nn.Parameter(torch.ones(num_heads, 1, 1))``,
``attn.softmax(dim=-1)``); ``OverlapPatchEmbed``, ``Downsample`` (conv + ``nn.PixelUnshuffle(2)``),
``Upsample`` (conv + ``nn.PixelShuffle(2)``), the encoder/decoder with ``torch.cat([..], 1)``
skips and ``reduce_chan`` 1x1 convs, the refinement stage and ``self.output(...) + inp_img``;
the ``L1Loss``, AdamW with ``betas=[0.9, 0.999]`` and gradient clipping at 0.01.

Changed: ``einops.rearrange`` is written out with ``reshape``/``permute`` (the same layouts);
dim 48 -> 4, heads ``[1, 2, 4, 8]`` -> ``[1, 2, 2]``, three levels, one block per level,
128x128 patches -> 8x8, 3 iterations; data from a seeded NumPy generator.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._common import load_numpy_state


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def to_3d(x: Any) -> Any:  # rearrange(x, 'b c h w -> b (h w) c')
        b, c, h, w = x.shape
        return x.reshape(b, c, h * w).permute(0, 2, 1)

    def to_4d(x: Any, h: int, w: int) -> Any:  # rearrange(x, 'b (h w) c -> b c h w', h=h, w=w)
        b, _hw, c = x.shape
        return x.permute(0, 2, 1).reshape(b, c, h, w)

    class BiasFree_LayerNorm(nn.Module):
        def __init__(self, normalized_shape: Any) -> None:
            super(BiasFree_LayerNorm, self).__init__()  # noqa: UP008 (as in the repository)
            if isinstance(normalized_shape, numbers.Integral):
                normalized_shape = (normalized_shape,)
            normalized_shape = torch.Size(normalized_shape)

            assert len(normalized_shape) == 1

            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.normalized_shape = normalized_shape

        def forward(self, x: Any) -> Any:
            sigma = x.var(-1, keepdim=True, unbiased=False)
            return x / torch.sqrt(sigma + 1e-5) * self.weight

    class WithBias_LayerNorm(nn.Module):
        def __init__(self, normalized_shape: Any) -> None:
            super(WithBias_LayerNorm, self).__init__()  # noqa: UP008
            if isinstance(normalized_shape, numbers.Integral):
                normalized_shape = (normalized_shape,)
            normalized_shape = torch.Size(normalized_shape)

            assert len(normalized_shape) == 1

            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
            self.normalized_shape = normalized_shape

        def forward(self, x: Any) -> Any:
            mu = x.mean(-1, keepdim=True)
            sigma = x.var(-1, keepdim=True, unbiased=False)
            return (x - mu) / torch.sqrt(sigma + 1e-5) * self.weight + self.bias

    class LayerNorm(nn.Module):
        def __init__(self, dim: int, LayerNorm_type: str) -> None:
            super(LayerNorm, self).__init__()  # noqa: UP008
            if LayerNorm_type == "BiasFree":
                self.body = BiasFree_LayerNorm(dim)
            else:
                self.body = WithBias_LayerNorm(dim)

        def forward(self, x: Any) -> Any:
            h, w = x.shape[-2:]
            return to_4d(self.body(to_3d(x)), h, w)

    ## Gated-Dconv Feed-Forward Network (GDFN)
    class FeedForward(nn.Module):
        def __init__(self, dim: int, ffn_expansion_factor: float, bias: bool) -> None:
            super(FeedForward, self).__init__()  # noqa: UP008

            hidden_features = int(dim * ffn_expansion_factor)

            self.project_in = nn.Conv2d(dim, hidden_features * 2, kernel_size=1, bias=bias)

            self.dwconv = nn.Conv2d(hidden_features * 2, hidden_features * 2, kernel_size=3,
                                    stride=1, padding=1, groups=hidden_features * 2,
                                    bias=bias)  # fmt: skip

            self.project_out = nn.Conv2d(hidden_features, dim, kernel_size=1, bias=bias)

        def forward(self, x: Any) -> Any:
            x = self.project_in(x)
            x1, x2 = self.dwconv(x).chunk(2, dim=1)
            x = F.gelu(x1) * x2
            x = self.project_out(x)
            return x

    ## Multi-DConv Head Transposed Self-Attention (MDTA)
    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int, bias: bool) -> None:
            super(Attention, self).__init__()  # noqa: UP008
            self.num_heads = num_heads
            self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))

            self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
            self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, stride=1, padding=1,
                                        groups=dim * 3, bias=bias)  # fmt: skip
            self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

        def forward(self, x: Any) -> Any:
            b, c, h, w = x.shape

            qkv = self.qkv_dwconv(self.qkv(x))
            q, k, v = qkv.chunk(3, dim=1)

            # rearrange(q, 'b (head c) h w -> b head c (h w)', head=self.num_heads)
            q = q.reshape(b, self.num_heads, c // self.num_heads, h * w)
            k = k.reshape(b, self.num_heads, c // self.num_heads, h * w)
            v = v.reshape(b, self.num_heads, c // self.num_heads, h * w)

            q = torch.nn.functional.normalize(q, dim=-1)
            k = torch.nn.functional.normalize(k, dim=-1)

            attn = (q @ k.transpose(-2, -1)) * self.temperature
            attn = attn.softmax(dim=-1)

            out = attn @ v

            # rearrange(out, 'b head c (h w) -> b (head c) h w', head=..., h=h, w=w)
            out = out.reshape(b, c, h, w)

            out = self.project_out(out)
            return out

    class TransformerBlock(nn.Module):
        def __init__(self, dim: int, num_heads: int, ffn_expansion_factor: float, bias: bool,
                     LayerNorm_type: str) -> None:  # fmt: skip
            super(TransformerBlock, self).__init__()  # noqa: UP008

            self.norm1 = LayerNorm(dim, LayerNorm_type)
            self.attn = Attention(dim, num_heads, bias)
            self.norm2 = LayerNorm(dim, LayerNorm_type)
            self.ffn = FeedForward(dim, ffn_expansion_factor, bias)

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.norm1(x))
            x = x + self.ffn(self.norm2(x))
            return x

    class OverlapPatchEmbed(nn.Module):
        def __init__(self, in_c: int = 3, embed_dim: int = 48, bias: bool = False) -> None:
            super(OverlapPatchEmbed, self).__init__()  # noqa: UP008
            self.proj = nn.Conv2d(in_c, embed_dim, kernel_size=3, stride=1, padding=1, bias=bias)

        def forward(self, x: Any) -> Any:
            x = self.proj(x)
            return x

    class Downsample(nn.Module):
        def __init__(self, n_feat: int) -> None:
            super(Downsample, self).__init__()  # noqa: UP008
            self.body = nn.Sequential(
                nn.Conv2d(n_feat, n_feat // 2, kernel_size=3, stride=1, padding=1, bias=False),
                nn.PixelUnshuffle(2),
            )

        def forward(self, x: Any) -> Any:
            return self.body(x)

    class Upsample(nn.Module):
        def __init__(self, n_feat: int) -> None:
            super(Upsample, self).__init__()  # noqa: UP008
            self.body = nn.Sequential(
                nn.Conv2d(n_feat, n_feat * 2, kernel_size=3, stride=1, padding=1, bias=False),
                nn.PixelShuffle(2),
            )

        def forward(self, x: Any) -> Any:
            return self.body(x)

    class Restormer(nn.Module):
        def __init__(self, inp_channels: int = 3, out_channels: int = 3, dim: int = 4,
                     num_blocks: tuple = (1, 1, 1), num_refinement_blocks: int = 1,
                     heads: tuple = (1, 2, 2), ffn_expansion_factor: float = 2.66,
                     bias: bool = False, LayerNorm_type: str = "WithBias") -> None:  # fmt: skip
            super(Restormer, self).__init__()  # noqa: UP008

            def blocks(d: int, n: int, h: int, kind: str = LayerNorm_type) -> Any:
                return nn.Sequential(*[TransformerBlock(dim=d, num_heads=h,
                                       ffn_expansion_factor=ffn_expansion_factor, bias=bias,
                                       LayerNorm_type=kind) for i in range(n)])  # fmt: skip

            self.patch_embed = OverlapPatchEmbed(inp_channels, dim)

            self.encoder_level1 = blocks(dim, num_blocks[0], heads[0])
            self.down1_2 = Downsample(dim)  ## From Level 1 to Level 2
            self.encoder_level2 = blocks(int(dim * 2**1), num_blocks[1], heads[1])
            self.down2_3 = Downsample(int(dim * 2**1))  ## From Level 2 to Level 3
            self.latent = blocks(int(dim * 2**2), num_blocks[2], heads[2], "BiasFree")

            self.up3_2 = Upsample(int(dim * 2**2))  ## From Level 3 to Level 2
            self.reduce_chan_level2 = nn.Conv2d(int(dim * 2**2), int(dim * 2**1),
                                                kernel_size=1, bias=bias)  # fmt: skip
            self.decoder_level2 = blocks(int(dim * 2**1), num_blocks[1], heads[1])

            self.up2_1 = Upsample(int(dim * 2**1))  ## From Level 2 to Level 1
            self.decoder_level1 = blocks(int(dim * 2**1), num_blocks[0], heads[0])

            self.refinement = blocks(int(dim * 2**1), num_refinement_blocks, heads[0])

            self.output = nn.Conv2d(int(dim * 2**1), out_channels, kernel_size=3, stride=1,
                                    padding=1, bias=bias)  # fmt: skip

        def forward(self, inp_img: Any) -> Any:
            inp_enc_level1 = self.patch_embed(inp_img)
            out_enc_level1 = self.encoder_level1(inp_enc_level1)

            inp_enc_level2 = self.down1_2(out_enc_level1)
            out_enc_level2 = self.encoder_level2(inp_enc_level2)

            inp_enc_level3 = self.down2_3(out_enc_level2)
            latent = self.latent(inp_enc_level3)

            inp_dec_level2 = self.up3_2(latent)
            inp_dec_level2 = torch.cat([inp_dec_level2, out_enc_level2], 1)
            inp_dec_level2 = self.reduce_chan_level2(inp_dec_level2)
            out_dec_level2 = self.decoder_level2(inp_dec_level2)

            inp_dec_level1 = self.up2_1(out_dec_level2)
            inp_dec_level1 = torch.cat([inp_dec_level1, out_enc_level1], 1)
            out_dec_level1 = self.decoder_level1(inp_dec_level1)

            out_dec_level1 = self.refinement(out_dec_level1)

            out_dec_level1 = self.output(out_dec_level1) + inp_img

            return out_dec_level1

    return Restormer()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(48)
    net_g = make_model(torch_like)
    load_numpy_state(torch_like, net_g, init)
    net_g.train()
    cri_pix = torch.nn.L1Loss(reduction="mean")
    optimizer_g = torch.optim.AdamW(
        [p for p in net_g.parameters() if p.requires_grad],
        lr=3e-3,
        weight_decay=1e-4,
        betas=[0.9, 0.999],
    )
    values: list[float] = []
    for _it in range(3):
        gt = torch.from_numpy(rng.random((2, 3, 8, 8)))
        lq = gt + torch.from_numpy(0.1 * rng.standard_normal((2, 3, 8, 8)))
        optimizer_g.zero_grad()
        output = net_g(lq)
        l_pix = cri_pix(output, gt)
        l_pix.backward()
        torch.nn.utils.clip_grad_norm_(net_g.parameters(), 0.01)
        optimizer_g.step()
        values += [l_pix.item(), net_g.latent[0].attn.temperature.sum().item()]
    net_g.eval()
    with torch.no_grad():
        img = torch.from_numpy(rng.random((1, 3, 12, 12)))
        restored = torch.clamp(net_g(img), 0, 1)
    values += [restored.sum().item(), restored.std().item()]
    return values
