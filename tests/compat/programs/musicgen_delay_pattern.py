"""MusicGen's codebook delay pattern, as audiocraft (``audiocraft/modules/codebooks_patterns.py``,
``models/lm.py``, ``solvers/musicgen.py``) and Hugging Face (``MusicgenForCausalLM
.build_delay_pattern_mask`` / ``apply_delay_pattern_mask``) write it, size-reduced.

The idioms, audiocraft: ``DelayedPatternProvider.get_pattern`` (a layout of ``LayoutCoord(t,
q)`` namedtuples, an empty first step), ``Pattern._build_pattern_sequence_scatter_indexes`` and
``_build_reverted_sequence_scatter_indexes`` (``indexes = torch.zeros(n_q, len(ref_layout),
dtype=torch.long).numpy()`` written in place through NumPy, ``indexes[:] = n_q * timesteps``,
``torch.from_numpy(indexes).to(device)``, ``ref_layout[1:]`` for model outputs),
``build_pattern_sequence`` (``z = torch.cat([z, torch.zeros_like(z[:, :1]) + special_token],
dim=1)``, ``values = z[:, indexes.view(-1)]``), ``revert_pattern_logits`` with ``float('nan')``
as the special value (``logits[:, :, indexes.view(-1)]``), ``LMModel`` (one ``nn.Embedding(card
+ 1, dim)`` per codebook summed with ``sum([self.emb[k](sequence[:, k]) for k in range(K)])``,
``torch.stack([self.linears[k](out) for k in range(K)], dim=1)``), ``compute_predictions``
(``logits.permute(0, 3, 1, 2)``, ``logits_mask[None, :, :].expand(B, -1, -1)``) and the
solver's ``_compute_cross_entropy`` (per codebook ``logits[:, k, ...].contiguous().view(-1,
logits.size(-1))``, ``ce_targets = targets_k[mask_k]``, ``F.cross_entropy``, ``ce += q_ce``,
``q_ce.detach()``; the NaN logits are masked out). Hugging Face: ``input_ids_shifted =
torch.ones((bsz, num_codebooks, max_length), dtype=torch.long) * -1``, the per-codebook prompt
copy ``input_ids_shifted[:, codebook, codebook : seq_len + codebook] = input_ids[:, codebook]``
(mono, and the interleaved stereo channels), ``delay_pattern = torch.triu(torch.ones((
channel_codebooks, max_length), dtype=torch.bool), diagonal=max_length - channel_codebooks +
1)`` plus ``torch.tril(...)`` (bool + bool), ``delay_pattern.repeat_interleave(2, dim=0)``,
``mask = ~delay_pattern``, ``input_ids = mask * input_ids_shifted + ~mask * pad_token_id``, the
first generation step ``start_ids = (first_codebook_ids == -1).nonzero()[:, 1]`` with Python's
``min(start_ids)`` used as a slice bound, ``apply_delay_pattern_mask``'s ``torch.where(
decoder_pad_token_mask == -1, input_ids, decoder_pad_token_mask)``, the sinusoidal positions
(``torch.exp(torch.arange(half_dim, dtype=torch.int64).float() * -emb)``, ``torch.cat(
[torch.cos(emb), torch.sin(emb)], dim=1)``, ``.to(torch.get_default_dtype())``) and the HF
loss (``labels.masked_fill(labels == pad_token_id, -100)``, ``loss = torch.zeros([])``,
``loss += loss_fct(codebook_logits, codebook_labels)``), then greedy generation through the
pattern mask.

Changed: 4 codebooks of 2048 codes -> 3 of 5 (stereo: 4 interleaved), EnCodec tokens -> NumPy
codes, the 24-layer decoder -> one ``nn.TransformerEncoderLayer`` with a causal mask, no text
conditioning.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from ._common import load_numpy_state

# the sinusoidal table is computed in float32 (``.float()``, as HF writes it), where torch's
# vectorised exp/sin/cos and NumPy's differ in the last bit: float64 runs then agree to ~1e-8
RTOL = 1e-6

K, CARD, DIM, T_CODES = 3, 5, 8, 6
LayoutCoord = namedtuple("LayoutCoord", ["t", "q"])  # (timestep, codebook index)


class Pattern:
    """audiocraft's ``Pattern`` (the parts ``LMModel.compute_predictions`` uses)."""

    def __init__(self, layout: list, timesteps: int, n_q: int) -> None:
        self.layout, self.timesteps, self.n_q = layout, timesteps, n_q

    def __len__(self) -> int:
        return len(self.layout)

    def starts_with_special_token(self) -> bool:
        return self.layout[0] == []

    def _build_pattern_sequence_scatter_indexes(self, torch, timesteps, n_q, device="cpu"):
        assert n_q == self.n_q
        assert timesteps <= self.timesteps
        ref_layout = self.layout
        # single item indexing being super slow with pytorch vs. numpy, so we use numpy here
        indexes = torch.zeros(n_q, len(ref_layout), dtype=torch.long).numpy()
        mask = torch.zeros(n_q, len(ref_layout), dtype=torch.bool).numpy()
        # fill indexes with last sequence step value that will correspond to our special token
        # the last value is n_q * timesteps as we have flattened z and append special token as
        # the last token which will correspond to the index: n_q * timesteps
        indexes[:] = n_q * timesteps
        # iterate over the pattern and fill scattered indexes and mask
        for s, sequence_coords in enumerate(ref_layout):
            for coords in sequence_coords:
                if coords.t < timesteps:
                    indexes[coords.q, s] = coords.t + coords.q * timesteps
                    mask[coords.q, s] = 1
        indexes = torch.from_numpy(indexes).to(device)
        mask = torch.from_numpy(mask).to(device)
        return indexes, mask

    def build_pattern_sequence(self, torch, z, special_token):
        B, K_, T = z.shape
        indexes, mask = self._build_pattern_sequence_scatter_indexes(
            torch, T, K_, device=str(z.device)
        )
        z = z.view(B, -1)
        # we append the special token as the last index of our flattened z tensor
        z = torch.cat([z, torch.zeros_like(z[:, :1]) + special_token], dim=1)
        values = z[:, indexes.view(-1)]
        values = values.view(B, K_, indexes.shape[-1])
        return values, indexes, mask

    def _build_reverted_sequence_scatter_indexes(
        self, torch, sequence_steps, n_q, is_model_output=False, device="cpu"
    ):
        ref_layout = self.layout
        timesteps = self.timesteps
        assert n_q == self.n_q
        assert sequence_steps <= len(ref_layout)
        # ensure we take the appropriate indexes to keep the model output from the first
        # special token as well
        if is_model_output and self.starts_with_special_token():
            ref_layout = ref_layout[1:]
        # single item indexing being super slow with pytorch vs. numpy, so we use numpy here
        indexes = torch.zeros(n_q, timesteps, dtype=torch.long).numpy()
        mask = torch.zeros(n_q, timesteps, dtype=torch.bool).numpy()
        # fill indexes with last sequence step value that will correspond to our special token
        indexes[:] = n_q * sequence_steps
        for s, sequence_codes in enumerate(ref_layout):
            if s < sequence_steps:
                for code in sequence_codes:
                    if code.t < timesteps:
                        indexes[code.q, code.t] = s + code.q * sequence_steps
                        mask[code.q, code.t] = 1
        indexes = torch.from_numpy(indexes).to(device)
        mask = torch.from_numpy(mask).to(device)
        return indexes, mask

    def revert_pattern_logits(self, torch, logits, special_token):
        B, card, K_, S = logits.shape
        indexes, mask = self._build_reverted_sequence_scatter_indexes(
            torch, S, K_, is_model_output=True, device=logits.device
        )
        logits = logits.reshape(B, card, -1)
        # we append the special token as the last index of our flattened z tensor
        logits = torch.cat(
            [logits, torch.zeros_like(logits[:, :, :1]) + special_token], dim=-1
        )  # [B, card, K x S]
        values = logits[:, :, indexes.view(-1)]
        values = values.view(B, card, K_, indexes.shape[-1])
        return values, indexes, mask


def get_delayed_pattern(timesteps: int, delays: list[int]) -> Pattern:
    """``DelayedPatternProvider(n_q, delays).get_pattern(timesteps)`` (no flattening)."""
    out: list = [[]]
    max_delay = max(delays)
    for t in range(0, timesteps + max_delay):
        v = []
        for q, delay in enumerate(delays):
            t_for_q = t - delay
            if t_for_q >= 0:
                v.append(LayoutCoord(t_for_q, q))
        out.append(v)
    return Pattern(out, n_q=len(delays), timesteps=timesteps)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def get_embedding(num_embeddings: int, embedding_dim: int):
        """Build sinusoidal embeddings (MusicgenSinusoidalPositionalEmbedding)."""
        half_dim = embedding_dim // 2
        emb = math.log(10000) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, dtype=torch.int64).float() * -emb)
        emb = torch.arange(num_embeddings, dtype=torch.int64).float().unsqueeze(1) * emb.unsqueeze(
            0
        )
        emb = torch.cat([torch.cos(emb), torch.sin(emb)], dim=1).view(num_embeddings, -1)
        if embedding_dim % 2 == 1:
            # zero pad
            emb = torch.cat([emb, torch.zeros(num_embeddings, 1)], dim=1)
        return emb.to(torch.get_default_dtype())

    class LMModel(nn.Module):
        def __init__(self, n_q: int = K, card: int = CARD, dim: int = DIM) -> None:
            super().__init__()
            self.n_q, self.card = n_q, card
            embed_dim = self.card + 1
            self.emb = nn.ModuleList([nn.Embedding(embed_dim, dim) for _ in range(n_q)])
            self.register_buffer("positions", get_embedding(32, dim), persistent=False)
            self.transformer = nn.TransformerEncoderLayer(
                dim, 2, 2 * dim, dropout=0.0, batch_first=True, norm_first=True
            )
            self.out_norm = nn.LayerNorm(dim)
            self.linears = nn.ModuleList(
                [nn.Linear(dim, self.card, bias=False) for _ in range(n_q)]
            )

        @property
        def special_token_id(self) -> int:
            return self.card

        def forward(self, sequence):
            B, K_, S = sequence.shape
            assert K_ == self.n_q, "Sequence shape must match the specified number of codebooks"
            input_ = sum([self.emb[k](sequence[:, k]) for k in range(K_)])
            input_ = input_ + self.positions[:S]
            causal = nn.Transformer.generate_square_subsequent_mask(S)
            out = self.transformer(input_, src_mask=causal, is_causal=True)
            out = self.out_norm(out)
            logits = torch.stack(
                [self.linears[k](out) for k in range(K_)], dim=1
            )  # [B, K, S, card]
            return logits

    return LMModel()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    CrossEntropyLoss = torch_like.nn.CrossEntropyLoss
    rng = np.random.default_rng(2306)
    values: list[float] = []

    def build_delay_pattern_mask(input_ids, pad_token_id, max_length, num_codebooks,
                                 audio_channels=1):  # fmt: skip
        # (bsz * num_codebooks, seq_len) -> (bsz, num_codebooks, seq_len)
        input_ids = input_ids.reshape(-1, num_codebooks, input_ids.shape[-1])
        bsz, num_codebooks, seq_len = input_ids.shape

        input_ids_shifted = (
            torch.ones((bsz, num_codebooks, max_length), dtype=torch.long, device=input_ids.device)
            * -1
        )

        channel_codebooks = num_codebooks // 2 if audio_channels == 2 else num_codebooks
        # we only apply the mask if we have a large enough seq len - otherwise we return as is
        if max_length < 2 * channel_codebooks - 1:
            return input_ids.reshape(bsz * num_codebooks, -1), input_ids_shifted.reshape(
                bsz * num_codebooks, -1
            )

        # fill the shifted ids with the prompt entries, offset by the codebook idx
        for codebook in range(channel_codebooks):
            if audio_channels == 1:
                # mono channel - loop over the codebooks one-by-one
                input_ids_shifted[:, codebook, codebook : seq_len + codebook] = input_ids[
                    :, codebook
                ]
            else:
                # left/right channels are interleaved in the generated codebooks, so handle one
                # then the other
                input_ids_shifted[:, 2 * codebook, codebook : seq_len + codebook] = input_ids[
                    :, 2 * codebook
                ]
                input_ids_shifted[:, 2 * codebook + 1, codebook : seq_len + codebook] = input_ids[
                    :, 2 * codebook + 1
                ]

        # construct a pattern mask that indicates the positions of padding tokens for each
        # codebook; first fill the upper triangular part (the EOS padding)
        delay_pattern = torch.triu(
            torch.ones((channel_codebooks, max_length), dtype=torch.bool),
            diagonal=max_length - channel_codebooks + 1,
        )
        # then fill the lower triangular part (the BOS padding)
        delay_pattern = delay_pattern + torch.tril(
            torch.ones((channel_codebooks, max_length), dtype=torch.bool)
        )

        if audio_channels == 2:
            # for left/right channel we need to duplicate every row of the pattern mask in an
            # interleaved fashion
            delay_pattern = delay_pattern.repeat_interleave(2, dim=0)

        mask = ~delay_pattern.to(input_ids.device)
        input_ids = mask * input_ids_shifted + ~mask * pad_token_id

        # find the first position to start generating - this is the first place we have the -1
        # token and will always be in the first codebook (since it has no codebook offset)
        first_codebook_ids = input_ids[:, 0, :]
        start_ids = (first_codebook_ids == -1).nonzero()[:, 1]
        if len(start_ids) > 0:
            first_start_id = min(start_ids)
        else:
            # we have no tokens that need to be filled - return entire matrix of input ids
            first_start_id = seq_len

        # (bsz * num_codebooks, seq_len) -> (bsz, num_codebooks, seq_len)
        pattern_mask = input_ids.reshape(bsz * num_codebooks, -1)
        input_ids = input_ids[..., :first_start_id].reshape(bsz * num_codebooks, -1)
        return input_ids, pattern_mask

    def apply_delay_pattern_mask(input_ids, decoder_pad_token_mask):
        seq_len = input_ids.shape[-1]
        decoder_pad_token_mask = decoder_pad_token_mask[..., :seq_len]
        input_ids = torch.where(decoder_pad_token_mask == -1, input_ids, decoder_pad_token_mask)
        return input_ids

    # HF's pattern masks: mono with a prompt, stereo, and a too-short max_length
    prompt = torch.tensor(rng.integers(0, CARD, (2 * K, 2)))
    ids, pattern_mask = build_delay_pattern_mask(prompt, CARD, 7, K)
    values.extend(ids.flatten().tolist() + pattern_mask.flatten().tolist())
    stereo = torch.tensor(rng.integers(0, CARD, (4, 1)))
    ids, pattern_mask = build_delay_pattern_mask(stereo, CARD, 5, 4, audio_channels=2)
    values.extend(ids.flatten().tolist() + pattern_mask.flatten().tolist())
    ids, pattern_mask = build_delay_pattern_mask(prompt, CARD, 3, K)
    values.extend(list(ids.shape) + pattern_mask.flatten().tolist())

    # audiocraft: train on the delayed pattern with the per-codebook masked cross entropy
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    pattern = get_delayed_pattern(T_CODES, list(range(K)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95))

    def compute_predictions(codes):
        B, K_, T = codes.shape
        codes = codes.contiguous()
        sequence_codes, sequence_indexes, sequence_mask = pattern.build_pattern_sequence(
            torch, codes, model.special_token_id
        )
        logits = model(sequence_codes)  # [B, K, S, card]
        logits = logits.permute(0, 3, 1, 2)  # [B, card, K, S]
        # note: we use nans as special token to make it obvious if we feed unexpected logits
        logits, logits_indexes, logits_mask = pattern.revert_pattern_logits(
            torch, logits, float("nan")
        )
        logits = logits.permute(0, 2, 3, 1)  # [B, K, T, card]
        logits_mask = logits_mask[None, :, :].expand(B, -1, -1)  # [K, T] -> [B, K, T]
        return logits, logits_mask, sequence_codes

    def _compute_cross_entropy(logits, targets, mask):
        B, K_, T = targets.shape
        assert logits.shape[:-1] == targets.shape
        assert mask.shape == targets.shape
        ce = torch.zeros([], device=targets.device)
        ce_per_codebook = []
        for k in range(K_):
            logits_k = logits[:, k, ...].contiguous().view(-1, logits.size(-1))  # [B x T, card]
            targets_k = targets[:, k, ...].contiguous().view(-1)  # [B x T]
            mask_k = mask[:, k, ...].contiguous().view(-1)  # [B x T]
            ce_targets = targets_k[mask_k]
            ce_logits = logits_k[mask_k]
            q_ce = F.cross_entropy(ce_logits, ce_targets)
            ce += q_ce
            ce_per_codebook.append(q_ce.detach())
        # average cross entropy across codebooks
        ce = ce / K_
        return ce, ce_per_codebook

    base = rng.integers(0, CARD, (4, 1, T_CODES))
    for step in range(5):
        codes = torch.from_numpy((base + np.arange(K)[None, :, None] + step % 2) % CARD)
        logits, logits_mask, sequence_codes = compute_predictions(codes)
        if step == 0:
            values.extend(sequence_codes[0].flatten().tolist())
            values.append(torch.isnan(logits).any(-1).sum().item())
            values.append(logits_mask.sum().item())
        ce, ce_per_codebook = _compute_cross_entropy(logits, codes, logits_mask)
        optimizer.zero_grad()
        ce.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values.extend([ce.item()] + [c.item() for c in ce_per_codebook])

    # HF's loss on the delayed sequence: pad tokens become -100
    with torch.no_grad():
        seq_logits = model(sequence_codes)  # [B, K, S, card]
        # a sequence cut short: the codes it does not reach get NaN logits, masked out of the CE
        cut, cut_indexes, cut_mask = pattern.revert_pattern_logits(
            torch, seq_logits[:, :, :-2].permute(0, 3, 1, 2), float("nan")
        )
        cut = cut.permute(0, 2, 3, 1)
        cut_mask = cut_mask[None, :, :].expand(cut.shape[0], -1, -1)
        values.append(torch.isnan(cut).any(-1).sum().item())
        values.extend(cut_indexes.flatten().tolist())
        values.append(_compute_cross_entropy(cut, codes, cut_mask)[0].item())
        labels = sequence_codes[..., 1:].transpose(1, 2)  # [B, S-1, K]
        lm_logits = seq_logits[:, :, :-1]
        labels = labels.masked_fill(labels == model.special_token_id, -100)
        loss_fct = CrossEntropyLoss()
        loss = torch.zeros([])
        for codebook in range(K):
            codebook_logits = lm_logits[:, codebook].contiguous().view(-1, lm_logits.shape[-1])
            codebook_labels = labels[..., codebook].contiguous().view(-1)
            loss += loss_fct(codebook_logits, codebook_labels)
        loss = loss / K
        values.append(loss.item())

        # greedy generation through the delay pattern mask
        max_length = T_CODES + K
        start = torch.full((K, 1), CARD, dtype=torch.long)
        input_ids, decoder_delay_pattern_mask = build_delay_pattern_mask(start, CARD, max_length, K)
        input_ids = apply_delay_pattern_mask(input_ids, decoder_delay_pattern_mask)
        while input_ids.shape[-1] < max_length:
            logits = model(input_ids.view(1, K, -1))[:, :, -1]  # [1, K, card]
            next_tokens = logits.argmax(-1).view(K, 1)
            input_ids = torch.cat([input_ids, next_tokens], dim=-1)
            input_ids = apply_delay_pattern_mask(input_ids, decoder_delay_pattern_mask)
        values.extend(input_ids.flatten().tolist())
    return values
