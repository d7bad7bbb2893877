"""SigLIP's pairwise sigmoid loss as the PyTorch ports write it (open_clip's ``loss.py``
``SigLipLoss`` and ``model.py`` ``CLIP``/``CustomTextCLIP`` with ``init_logit_bias``, and
Hugging Face's ``SiglipModel.forward`` loss, with ``SiglipMultiheadAttentionPoolingHead``), on a
tiny two-tower model, size-reduced.

The idioms: ``self.logit_scale = nn.Parameter(torch.ones([]) * init_logit_scale)`` with
``np.log(10)`` and ``self.logit_bias = nn.Parameter(torch.ones([]) * init_logit_bias)`` with
-10; ``F.normalize(features, dim=-1)`` embeddings and ``self.logit_scale.exp()``;
``SigLipLoss.get_ground_truth`` (``labels = -torch.ones((num_logits, num_logits),
device=device, dtype=dtype)``, ``labels = 2 * torch.eye(num_logits, device=device,
dtype=dtype) + labels``, the ``negative_only`` variant), ``get_logits`` (``logit_scale *
image_features @ text_features.T``, ``logits += logit_bias``) and ``_loss``
(``-F.logsigmoid(labels * logits).sum() / image_features.shape[0]``); the HF form
(``torch.matmul(text_embeds, image_embeds.t().to(text_embeds.device)) * logit_scale.exp() +
logit_bias``, ``m1_diag1 = -torch.ones_like(logits_per_text) + 2 * eye``, ``loglik =
nn.functional.logsigmoid(m1_diag1 * logits_per_text)``, ``nll = -torch.sum(loglik, dim=-1)``,
``nll.mean()``) checked equal to it; the MAP head (``self.probe = nn.Parameter(torch.randn(1,
1, hidden_size))``, ``probe.repeat(batch_size, 1, 1)``, ``nn.MultiheadAttention(hidden_size,
num_heads, batch_first=True)`` returning ``[0]``, residual MLP, ``hidden_state[:, 0]``); a
patch-embedding ``nn.Conv2d`` with ``.flatten(2).transpose(1, 2)`` and a text tower taking the
last token; open_clip's optimizer groups (``exclude = lambda n, p: p.ndim < 2 or "bn" in n or
"ln" in n or "bias" in n or "logit_scale" in n``, ``include = lambda n, p: not exclude(n, p)``,
``optim.AdamW([{"params": gain_or_bias_params, "weight_decay": 0.}, {"params": rest_params,
"weight_decay": wd}], lr=lr, betas=(0.9, 0.98), eps=1e-6)``), the in-place clamp after each step
``with torch.no_grad(): model.logit_scale.clamp_(0, math.log(100))`` and the zero-shot accuracy
by ``torch.sigmoid`` of the logits and ``argmax``.

Changed: ViT-B/16 and the text transformer become a 4x4-patch conv + one
``nn.TransformerEncoderLayer`` and an embedding + one layer; width 768 -> 8, batch 32k -> 6,
images 224 -> 8; the WebLI pairs are NumPy images whose class decides a bar's row and token
ids whose first token is the class.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

WIDTH, HEADS, VOCAB, SEQ, N_CLASSES = 8, 2, 12, 5, 6


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SiglipMultiheadAttentionPoolingHead(nn.Module):
        """Multihead Attention Pooling."""

        def __init__(self, hidden_size: int, num_heads: int) -> None:
            super().__init__()
            self.probe = nn.Parameter(torch.randn(1, 1, hidden_size))
            self.attention = torch.nn.MultiheadAttention(hidden_size, num_heads, batch_first=True)
            self.layernorm = nn.LayerNorm(hidden_size, eps=1e-6)
            self.mlp = nn.Sequential(
                nn.Linear(hidden_size, 2 * hidden_size),
                nn.GELU(approximate="tanh"),
                nn.Linear(2 * hidden_size, hidden_size),
            )

        def forward(self, hidden_state: Any) -> Any:
            batch_size = hidden_state.shape[0]
            probe = self.probe.repeat(batch_size, 1, 1)
            hidden_state = self.attention(probe, hidden_state, hidden_state)[0]
            residual = hidden_state
            hidden_state = self.layernorm(hidden_state)
            hidden_state = residual + self.mlp(hidden_state)
            return hidden_state[:, 0]

    class VisionTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch_embedding = nn.Conv2d(1, WIDTH, kernel_size=4, stride=4)
            self.position_embedding = nn.Embedding(4, WIDTH)
            self.register_buffer("position_ids", torch.arange(4).expand((1, -1)), persistent=False)
            self.encoder = nn.TransformerEncoderLayer(
                WIDTH, HEADS, 2 * WIDTH, dropout=0.0, batch_first=True, norm_first=True
            )
            self.post_layernorm = nn.LayerNorm(WIDTH, eps=1e-6)
            self.head = SiglipMultiheadAttentionPoolingHead(WIDTH, HEADS)

        def forward(self, pixel_values: Any) -> Any:
            patch_embeds = self.patch_embedding(pixel_values)
            embeddings = patch_embeds.flatten(2).transpose(1, 2)
            embeddings = embeddings + self.position_embedding(self.position_ids)
            last_hidden_state = self.post_layernorm(self.encoder(embeddings))
            return self.head(last_hidden_state)

    class TextTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_embedding = nn.Embedding(VOCAB, WIDTH)
            self.position_embedding = nn.Embedding(SEQ, WIDTH)
            self.encoder = nn.TransformerEncoderLayer(
                WIDTH, HEADS, 2 * WIDTH, dropout=0.0, batch_first=True, norm_first=True
            )
            self.final_layer_norm = nn.LayerNorm(WIDTH, eps=1e-6)
            self.head = nn.Linear(WIDTH, WIDTH)

        def forward(self, input_ids: Any) -> Any:
            seq_length = input_ids.shape[-1]
            position_ids = torch.arange(seq_length).unsqueeze(0)
            x = self.token_embedding(input_ids) + self.position_embedding(position_ids)
            x = self.final_layer_norm(self.encoder(x))
            # the last token pools the sentence (SigLIP text tower)
            return self.head(x[:, -1, :])

    class CustomTextCLIP(nn.Module):
        def __init__(self, init_logit_scale: float = np.log(10), init_logit_bias: float = -10):
            super().__init__()
            self.visual = VisionTower()
            self.text = TextTower()
            self.logit_scale = nn.Parameter(torch.ones([]) * init_logit_scale)
            if init_logit_bias is not None:
                self.logit_bias = nn.Parameter(torch.ones([]) * init_logit_bias)
            else:
                self.logit_bias = None

        def encode_image(self, image: Any, normalize: bool = False) -> Any:
            features = self.visual(image)
            return F.normalize(features, dim=-1) if normalize else features

        def encode_text(self, text: Any, normalize: bool = False) -> Any:
            features = self.text(text)
            return F.normalize(features, dim=-1) if normalize else features

        def forward(self, image: Any = None, text: Any = None) -> dict[str, Any]:
            image_features = self.encode_image(image, normalize=True) if image is not None else None
            text_features = self.encode_text(text, normalize=True) if text is not None else None
            out_dict = {
                "image_features": image_features,
                "text_features": text_features,
                "logit_scale": self.logit_scale.exp(),
            }
            if self.logit_bias is not None:
                out_dict["logit_bias"] = self.logit_bias
            return out_dict

    return CustomTextCLIP()


def _siglip_loss(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SigLipLoss(nn.Module):
        """Sigmoid Loss for Language Image Pre-Training (SigLIP) - https://arxiv.org/abs/2303.15343

        @article{zhai2023sigmoid,
          title={Sigmoid loss for language image pre-training},
          author={Zhai, Xiaohua and Mustafa, Basil and Kolesnikov, Alexander and Beyer, Lucas},
          journal={arXiv preprint arXiv:2303.15343},
          year={2023}
        }
        """

        def __init__(self, cache_labels=False, rank=0, world_size=1, bidir=True):
            super().__init__()
            self.cache_labels = cache_labels
            self.rank = rank
            self.world_size = world_size
            assert world_size == 1  # the neighbour exchange needs torch.distributed
            self.bidir = bidir
            # cache state FIXME cache not currently used, worthwhile?
            self.prev_num_logits = 0
            self.labels = {}

        def get_ground_truth(self, device, dtype, num_logits, negative_only=False) -> Any:
            labels = -torch.ones((num_logits, num_logits), device=device, dtype=dtype)
            if not negative_only:
                labels = 2 * torch.eye(num_logits, device=device, dtype=dtype) + labels
            return labels

        def get_logits(self, image_features, text_features, logit_scale, logit_bias=None):
            logits = logit_scale * image_features @ text_features.T
            if logit_bias is not None:
                logits += logit_bias
            return logits

        def _loss(
            self, image_features, text_features, logit_scale, logit_bias=None, negative_only=False
        ):
            logits = self.get_logits(image_features, text_features, logit_scale, logit_bias)
            labels = self.get_ground_truth(
                image_features.device,
                image_features.dtype,
                image_features.shape[0],
                negative_only=negative_only,
            )
            loss = -F.logsigmoid(labels * logits).sum() / image_features.shape[0]
            return loss

        def forward(
            self, image_features, text_features, logit_scale, logit_bias, output_dict=False
        ):
            loss = self._loss(image_features, text_features, logit_scale, logit_bias)
            return {"contrastive_loss": loss} if output_dict else loss

    return SigLipLoss()


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    classes = rng.permutation(N_CLASSES)[:n] if n <= N_CLASSES else rng.integers(0, N_CLASSES, n)
    images = 0.1 * rng.standard_normal((n, 1, 8, 8))
    texts = rng.integers(N_CLASSES, VOCAB, (n, SEQ))
    for i, c in enumerate(classes):
        images[i, 0, c, 1:7] += 1.0
        texts[i, 0] = c
    return images, texts, classes


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(2303)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_fn = _siglip_loss(torch_like)
    values: list[float] = []

    # open_clip's create_optimizer: no weight decay on gains, biases and the logit scale
    def exclude(n, p):
        return p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n

    def include(n, p):
        return not exclude(n, p)

    named_parameters = list(model.named_parameters())
    gain_or_bias_params = [p for n, p in named_parameters if exclude(n, p) and p.requires_grad]
    rest_params = [p for n, p in named_parameters if include(n, p) and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": gain_or_bias_params, "weight_decay": 0.0},
            {"params": rest_params, "weight_decay": 0.2},
        ],
        lr=5e-3,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    values.append(len(gain_or_bias_params))

    model.train()
    for _ in range(5):
        images, texts, _ = _data(rng, 6)
        images = torch.tensor(images, dtype=torch.get_default_dtype())
        texts = torch.from_numpy(texts).long()
        model_out = model(images, texts)
        logit_scale = model_out["logit_scale"]
        losses = loss_fn(**model_out, output_dict=True)
        total_loss = sum(losses.values())
        optimizer.zero_grad()
        total_loss.backward()
        optimizer.step()
        # Note: we clamp to 4.6052 = ln(100), as in the original paper.
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        values.extend([total_loss.item(), logit_scale.item(), model.logit_bias.item()])

    # Hugging Face's SiglipModel loss is the same number (per text, then mean)
    images, texts, classes = _data(rng, 6)
    images = torch.tensor(images, dtype=torch.get_default_dtype())
    texts = torch.from_numpy(texts).long()
    with torch.no_grad():
        out = model(images, texts)
        image_embeds, text_embeds = out["image_features"], out["text_features"]
        logit_scale, logit_bias = model.logit_scale, model.logit_bias
        logits_per_text = (
            torch.matmul(text_embeds, image_embeds.t().to(text_embeds.device)) * logit_scale.exp()
            + logit_bias
        )
        logits_per_image = logits_per_text.t()
        eye = torch.eye(logits_per_text.size(0), device=logits_per_text.device)
        m1_diag1 = -torch.ones_like(logits_per_text) + 2 * eye
        loglik = torch.nn.functional.logsigmoid(m1_diag1 * logits_per_text)
        nll = -torch.sum(loglik, dim=-1)
        hf_loss = nll.mean()
        oc_loss = loss_fn(image_embeds, text_embeds, logit_scale.exp(), logit_bias)
        neg_only = loss_fn._loss(
            image_embeds, text_embeds, logit_scale.exp(), logit_bias, negative_only=True
        )
        values.extend([hf_loss.item(), oc_loss.item(), neg_only.item()])
        # zero-shot: a class's prompt (its token first) against each image
        prompts = torch.tensor(
            [[c] + [N_CLASSES] * (SEQ - 1) for c in range(N_CLASSES)], dtype=torch.long
        )
        class_embeds = model.encode_text(prompts, normalize=True)
        probs = torch.sigmoid(image_embeds @ class_embeds.T * logit_scale.exp() + logit_bias)
        pred = probs.argmax(dim=-1)
        values.append((pred == torch.from_numpy(classes)).float().mean().item())
        values.extend(probs.sum(-1).tolist())
        values.extend(logits_per_image.diagonal().tolist())
        values.append(F.logsigmoid(torch.tensor([-800.0, 0.0, 30.0])).sum().item())
    return values


def check(values: list[float]) -> None:
    hf, oc = values[16], values[17]
    np.testing.assert_allclose(hf, oc, rtol=1e-9)
