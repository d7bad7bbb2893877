"""HuBERT-style masked prediction, size-reduced from torchaudio's ``models/wav2vec2``
(``HuBERTPretrainModel``, ``MaskGenerator``, ``LogitGenerator`` / ``_compute_logits``,
``hubert_loss``) and fairseq's ``hubert.py``: a convolutional feature extractor, span masking
of frames replaced by a learned ``mask_emb``, a Transformer encoder, and cross-entropy over
cosine-similarity logits between projected frames and the codebook (label) embeddings, on
masked and unmasked frames.

The idioms: span masking with ``torch.rand(B, T).argsort(dim=-1)[:, :num_spans]`` starts,
``starts[..., None] + torch.arange(span)``, ``clamp(max=T - 1)`` and ``mask.scatter_(1,
spans.view(B, -1), True)``; ``x[mask_indices] = self.mask_embedding`` with ``mask_emb =
Parameter(torch.FloatTensor(encoder_embed_dim))`` and ``torch.nn.init.uniform_``;
``label_embeddings = Parameter(torch.FloatTensor(num_classes, final_dim))``;
``_compute_logits``' ``pos = torch.index_select(label_embeddings, 0, target.long())``,
``negs = label_embeddings.unsqueeze(1).expand(-1, proj_x.size(0), -1)``, ``neg_is_pos =
(pos == negs).all(-1)``, ``targets = torch.cat([pos, negs], dim=0)``,
``torch.nn.functional.cosine_similarity(proj_x.float(), targets.float(), dim=-1).type_as(
proj_x)``, ``logits /= logit_temp``, ``if neg_is_pos.any(): logits[1:][neg_is_pos] =
float("-inf")``, ``logits.transpose(0, 1)``; ``proj_x[mask_m]`` / ``label[mask_m]`` with
``mask_u = torch.logical_and(~mask_m, padding_mask_inverse)``; ``hubert_loss``'s
``F.cross_entropy(logit_m, target_m, reduction="sum")`` against ``torch.zeros(...,
dtype=torch.long)`` targets, ``masked_weight * loss_m + unmasked_weight * loss_u +
feature_penalty * feature_weight * num_frame``; the feature penalty
``features.float().pow(2).mean()``; ``nn.GroupNorm(num_groups=512, num_channels=512)`` on
the first conv layer, ``nn.GELU()``, a ``nn.TransformerEncoderLayer(..., batch_first=True,
norm_first=True)``; the accuracy ``(logit_m.argmax(-1) == 0).sum()``.

Changed: raw 16 kHz audio -> 64 random samples per utterance, conv widths 512 -> 8, two
conv layers, one encoder layer, 5 classes of k-means labels drawn at random, a few Adam
steps; the masks come from ``torch.manual_seed`` draws (both libraries reproduce PyTorch's
CPU generator).
"""

from __future__ import annotations

from typing import Any

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5
B, SAMPLES, EMBED, FINAL, CLASSES, SPAN, STEPS = 3, 64, 8, 6, 5, 2, 3
MASK_PROB, LOGIT_TEMP = 0.4, 0.1


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Parameter = torch_like.nn.Parameter

    class HuBERTTiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.feature_extractor = nn.Sequential(
                nn.Conv1d(1, EMBED, 10, 5, bias=False),
                nn.GroupNorm(num_groups=EMBED, num_channels=EMBED),
                nn.GELU(),
                nn.Conv1d(EMBED, EMBED, 3, 2, bias=False),
                nn.GELU(),
            )
            self.layer_norm = nn.LayerNorm(EMBED)
            self.post_extract_proj = nn.Linear(EMBED, EMBED)
            self.mask_embedding = Parameter(torch.FloatTensor(EMBED))
            torch.nn.init.uniform_(self.mask_embedding)
            self.encoder = nn.TransformerEncoderLayer(
                EMBED, 2, 16, dropout=0.0, activation="gelu", batch_first=True,
                norm_first=True,
            )  # fmt: skip
            self.final_proj = nn.Linear(EMBED, FINAL)
            self.label_embeddings = Parameter(torch.FloatTensor(CLASSES, FINAL))
            torch.nn.init.uniform_(self.label_embeddings)

    return HuBERTTiny()


def span_mask(torch_like: Any, batch: int, frames: int, lengths: Any) -> Any:
    """Span starts from ``torch.rand(...).argsort``; spans scattered into a bool mask."""
    torch = torch_like
    num_spans = max(1, int(MASK_PROB * frames / SPAN + torch.rand(1).item()))
    rand = torch.rand(batch, frames)
    rand = rand.masked_fill(torch.arange(frames)[None, :] >= (lengths - SPAN)[:, None], 2.0)
    starts = rand.argsort(dim=-1)[:, :num_spans]
    spans = (starts[..., None] + torch.arange(SPAN)).clamp(max=frames - 1)
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    mask.scatter_(1, spans.view(batch, -1), True)
    return mask


def _compute_logits(torch_like: Any, proj_x: Any, target: Any, label_embeddings: Any) -> Any:
    torch = torch_like
    logit_temp = LOGIT_TEMP
    pos = torch.index_select(label_embeddings, 0, target.long())
    negs = label_embeddings.unsqueeze(1).expand(-1, proj_x.size(0), -1)
    neg_is_pos = (pos == negs).all(-1)
    pos = pos.unsqueeze(0)
    targets = torch.cat([pos, negs], dim=0)
    logits = torch.nn.functional.cosine_similarity(proj_x.float(), targets.float(), dim=-1).type_as(
        proj_x
    )
    logits /= logit_temp
    if neg_is_pos.any():
        logits[1:][neg_is_pos] = float("-inf")
    logits = logits.transpose(0, 1)  # (num_x, num_cls+1)
    return logits


def hubert_loss(torch_like, logit_m, logit_u, feature_penalty, masked_weight=1.0,
                unmasked_weight=0.0, feature_weight=10.0, reduction="sum"):  # fmt: skip
    F = torch_like.nn.functional
    loss = feature_penalty * feature_weight * logit_m.shape[0]
    if logit_m is not None:
        target_m = torch_like.zeros(logit_m.shape[0], dtype=torch_like.long)
        loss_m = F.cross_entropy(logit_m, target_m, reduction=reduction)
        loss += loss_m * masked_weight
    if logit_u is not None:
        target_u = torch_like.zeros(logit_u.shape[0], dtype=torch_like.long)
        loss_u = F.cross_entropy(logit_u, target_u, reduction=reduction)
        loss += loss_u * unmasked_weight
    return loss


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(17)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, betas=(0.9, 0.98), eps=1e-6)
    values: list[float] = []
    for _step in range(STEPS):
        waveforms = torch.randn(B, SAMPLES)
        features = model.feature_extractor(waveforms.unsqueeze(1)).transpose(1, 2)
        frames = features.shape[1]
        lengths = torch.tensor([frames, frames - 1, frames - 2])
        padding_mask = torch.arange(frames)[None, :] >= lengths[:, None]
        labels = torch.randint(0, CLASSES, (B, frames))
        features_pen = features.float().pow(2).mean()
        x = model.post_extract_proj(model.layer_norm(features))
        mask_m = span_mask(torch, B, frames, lengths)
        mask_m = torch.logical_and(mask_m, ~padding_mask)
        x[mask_m] = model.mask_embedding
        x = model.encoder(x, src_key_padding_mask=padding_mask)
        proj_x = model.final_proj(x)
        mask_u = torch.logical_and(~mask_m, ~padding_mask)
        logit_m = _compute_logits(torch, proj_x[mask_m], labels[mask_m], model.label_embeddings)
        logit_u = _compute_logits(torch, proj_x[mask_u], labels[mask_u], model.label_embeddings)
        loss = hubert_loss(torch, logit_m, logit_u, features_pen, unmasked_weight=0.5)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        correct_m = (logit_m.argmax(-1) == 0).sum().item()
        values += [loss.item(), features_pen.item(), float(mask_m.sum()), float(correct_m)]
        values += [float(torch.isinf(logit_m).sum()), logit_u[:, 0].mean().item()]
    return values
