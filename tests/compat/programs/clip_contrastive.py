"""A CLIP-style contrastive training step, as OpenAI's CLIP and open_clip write it, in float32
(CLIP's ``LayerNorm`` subclass computes in float32): an image tower (a small CNN) and CLIP's
text transformer (an additive causal mask built with ``fill_(float("-inf"))`` and ``triu_(1)``,
sequence-first ``nn.MultiheadAttention`` blocks with QuickGELU MLPs in an ``OrderedDict``,
features taken at the end-of-text token with ``x[torch.arange(n), text.argmax(dim=-1)]``),
projections into a joint space, ``F.normalize``, a learned temperature
``logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))`` used as
``logit_scale.exp()`` and clamped in place through ``.data`` after each step, open_clip's
parameter groups, the symmetric cross entropy against ``torch.arange`` labels, and
image-to-text / text-to-image accuracy read off ``argmax``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

BATCH, EMBED, VOCAB, CTX, WIDTH = 6, 8, 15, 5, 8
EOT = VOCAB - 1  # the end-of-text token, the highest id
DTYPE = "float32"


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class ImageEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, kernel_size=3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(6)
            self.conv2 = nn.Conv2d(6, 12, kernel_size=3, stride=2, padding=1)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.proj = nn.Linear(12, EMBED, bias=False)

        def forward(self, x: Any) -> Any:
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.conv2(x))
            return self.proj(torch_like.flatten(self.pool(x), 1))

    class LayerNorm(nn.LayerNorm):
        """CLIP's LayerNorm subclass, computing in float32 whatever the input's dtype."""

        def forward(self, x: Any) -> Any:
            orig_type = x.dtype
            ret = super().forward(x.type(torch_like.float32))
            return ret.type(orig_type)

    class QuickGELU(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * torch_like.sigmoid(1.702 * x)

    class ResidualAttentionBlock(nn.Module):
        def __init__(self, d_model: int, n_head: int, attn_mask: Any = None) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(d_model, n_head)
            self.ln_1 = LayerNorm(d_model)
            self.mlp = nn.Sequential(
                OrderedDict(
                    [
                        ("c_fc", nn.Linear(d_model, d_model * 4)),
                        ("gelu", QuickGELU()),
                        ("c_proj", nn.Linear(d_model * 4, d_model)),
                    ]
                )
            )
            self.ln_2 = LayerNorm(d_model)
            self.attn_mask = attn_mask

        def attention(self, x: Any) -> Any:
            self.attn_mask = (
                self.attn_mask.to(dtype=x.dtype, device=x.device)
                if self.attn_mask is not None
                else None
            )
            return self.attn(x, x, x, need_weights=False, attn_mask=self.attn_mask)[0]

        def forward(self, x: Any) -> Any:
            x = x + self.attention(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class TextEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_embedding = nn.Embedding(VOCAB, WIDTH)
            self.positional_embedding = nn.Parameter(torch_like.empty(CTX, WIDTH))
            self.resblocks = nn.Sequential(
                *[ResidualAttentionBlock(WIDTH, 2, self.build_attention_mask()) for _ in range(2)]
            )
            self.ln_final = LayerNorm(WIDTH)
            self.text_projection = nn.Parameter(torch_like.empty(WIDTH, EMBED))
            nn.init.normal_(self.token_embedding.weight, std=0.02)
            nn.init.normal_(self.positional_embedding, std=0.01)
            nn.init.normal_(self.text_projection, std=WIDTH**-0.5)

        def build_attention_mask(self) -> Any:
            # lazily create causal attention mask, with full attention between the vision tokens
            # pytorch uses additive attention mask; fill with -inf
            mask = torch_like.empty(CTX, CTX)
            mask.fill_(float("-inf"))
            mask.triu_(1)  # zero out the lower diagonal
            return mask

        def forward(self, text: Any) -> Any:
            x = self.token_embedding(text).type(self.positional_embedding.dtype)
            x = x + self.positional_embedding.type(x.dtype)
            x = x.permute(1, 0, 2)  # NLD -> LND
            x = self.resblocks(x)
            x = x.permute(1, 0, 2)  # LND -> NLD
            x = self.ln_final(x).type(x.dtype)
            # x.shape = [batch_size, n_ctx, transformer.width]
            # take features from the eot embedding (eot_token is the highest number in each
            # sequence)
            x = x[torch_like.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
            return x

    class CLIP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = ImageEncoder()
            self.transformer = TextEncoder()
            self.logit_scale = nn.Parameter(torch_like.ones([]) * np.log(1 / 0.07))

        def encode_image(self, image: Any) -> Any:
            return self.visual(image)

        def encode_text(self, text: Any) -> Any:
            return self.transformer(text)

        def forward(self, image: Any, text: Any) -> tuple[Any, Any]:
            image_features = F.normalize(self.encode_image(image), dim=-1)
            text_features = self.encode_text(text)
            text_features = text_features / text_features.norm(dim=1, keepdim=True)
            logit_scale = self.logit_scale.exp()
            logits_per_image = logit_scale * image_features @ text_features.t()
            logits_per_text = logits_per_image.t()
            return logits_per_image, logits_per_text

    return CLIP()


def run(torch_like: Any, init: dict | None) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(23)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # open_clip's groups: no weight decay on gains, biases and the temperature; the
    # temperature also learns faster here, so that the clamp below binds
    exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n  # noqa: E731
    named_parameters = list(model.named_parameters())
    gain_or_bias = [p for n, p in named_parameters if exclude(n, p) and "logit_scale" not in n]
    rest = [p for n, p in named_parameters if not exclude(n, p) and p.requires_grad]
    optimizer = torch_like.optim.AdamW(
        [
            {"params": gain_or_bias, "weight_decay": 0.0},
            {"params": rest, "weight_decay": 0.2},
            {"params": [model.logit_scale], "weight_decay": 0.0, "lr": 1.0},
        ],
        lr=0.05,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    values: list[float] = []
    model.train()
    for _step in range(4):
        images = torch_like.from_numpy(rng.standard_normal((BATCH, 3, 8, 8))).float()
        tokens = rng.integers(1, EOT, (BATCH, CTX))
        tokens[:, -1] = EOT
        tokens[1, 2], tokens[1, 3:] = EOT, 0
        tokens[4, 1], tokens[4, 2:] = EOT, 0
        texts = as_tensor(torch_like, tokens)

        optimizer.zero_grad()
        logits_per_image, logits_per_text = model(images, texts)
        ground_truth = torch_like.arange(len(images), dtype=torch_like.long, device=images.device)
        total_loss = (
            F.cross_entropy(logits_per_image, ground_truth)
            + F.cross_entropy(logits_per_text, ground_truth)
        ) / 2
        total_loss.backward()
        optimizer.step()
        # clamp the temperature to at most 100, as CLIP's training code does
        model.logit_scale.data = torch_like.clamp(model.logit_scale.data, 0, 4.6052)
        with torch_like.no_grad():
            model.logit_scale.clamp_(0, np.log(100))

        acc_i = (logits_per_image.argmax(dim=-1) == ground_truth).float().mean()
        acc_t = (torch_like.argmax(logits_per_text, 1) == ground_truth).sum().item() / BATCH
        values += [total_loss.item(), acc_i.item(), acc_t, model.logit_scale.item()]

    model.eval()
    with torch_like.no_grad():
        image_features = model.encode_image(images)
        text_features = model.encode_text(texts)
        image_features /= image_features.norm(dim=-1, keepdim=True)
        text_features /= text_features.norm(dim=-1, keepdim=True)
        similarity = (100.0 * image_features @ text_features.T).softmax(dim=-1)
        values_top, indices = similarity[0].topk(3)
    return [*values, *values_top.tolist(), *indices.tolist()]
