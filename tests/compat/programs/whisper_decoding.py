"""openai/whisper (``whisper/model.py``, ``audio.py``, ``decoding.py``), size-reduced: the log-mel
front end, the audio encoder, the text decoder with its key/value cache installed as forward
hooks, a few teacher-forced fine-tuning steps and greedy decoding through Whisper's logit
filters.

The idioms: ``log_mel_spectrogram`` (``torch.hann_window(N_FFT).to(audio.device)``,
``torch.stft(audio, N_FFT, HOP_LENGTH, window=window, return_complex=True)``, ``stft[...,
:-1].abs() ** 2``, ``filters @ magnitudes``, ``torch.clamp(mel_spec, min=1e-10).log10()``,
``torch.maximum(log_spec, log_spec.max() - 8.0)``, ``(log_spec + 4.0) / 4.0``);
``pad_or_trim`` (``array.index_select(dim=axis, index=torch.arange(length,
device=array.device))`` and ``F.pad(array, [pad for sizes in pad_widths[::-1] for pad in
sizes])``); the half-precision-safe ``LayerNorm`` / ``Linear`` / ``Conv1d`` subclasses
(``super().forward(x.float()).type(x.dtype)``, ``F.linear(x, self.weight.to(x.dtype), None if
self.bias is None else ...)``, an overridden ``_conv_forward``); ``sinusoids`` (``np.log(
max_timescale) / (channels // 2 - 1)``, ``torch.arange(length)[:, np.newaxis] *
inv_timescales[np.newaxis, :]``); ``AudioEncoder`` (``F.gelu(self.conv1(x))``, a stride-2
``Conv1d``, ``x.permute(0, 2, 1)``, ``register_buffer("positional_embedding", ...)``, the
shape ``assert``); ``MultiHeadAttention`` (a ``key`` without bias, both the
``scaled_dot_product_attention(q, k, v, is_causal=mask is not None and n_ctx > 1)`` path and
the explicit ``(q * scale) @ (k * scale).transpose(-1, -2)`` path with ``scale = (n_state //
self.n_head) ** -0.25``, ``mask[:n_ctx, :n_ctx]``, ``qk.float()``, ``qk.detach()``, switched
by the class attribute ``use_sdpa`` through a ``disable_sdpa`` context manager);
``TextDecoder`` (``nn.Parameter(torch.empty(n_ctx, n_state))``, ``torch.empty(n_ctx,
n_ctx).fill_(-np.inf).triu_(1)`` as a non-persistent buffer, the cache offset ``next(iter(
kv_cache.values())).shape[1]``, tied output ``x @ torch.transpose(self.token_embedding.weight
.to(x.dtype), 0, 1)``); ``Whisper.__init__``'s ``alignment_heads`` buffer (a boolean tensor
``.to_sparse()``, read back by ``.indices().T``); ``install_kv_cache_hooks``
(``layer.key.register_forward_hook(save_to_cache)`` whose return value replaces the output,
``torch.cat([cache[module], output], dim=1).detach()``, ``self.decoder.apply(install_hooks)``,
``hook.remove()``); language detection (``torch.ones(logits.shape[-1], dtype=torch.bool)``,
``mask[list(tokens)] = False``, ``logits[:, mask] = -np.inf``); the logit filters
``SuppressBlank`` / ``SuppressTokens`` (``logits[:, list] = -np.inf``) and
``ApplyTimestampRules`` (``sampled_tokens.ge(timestamp_begin)`` as a boolean index,
``logits[k, timestamp_begin:timestamp_last] = -np.inf`` with a tensor bound,
``logprobs[k, timestamp_begin:].logsumexp(dim=-1)`` compared with ``.max()``);
``GreedyDecoder`` (``logits.argmax(dim=-1)``, ``logprobs[torch.arange(logprobs.shape[0]),
next_tokens]``, ``sum_logprobs += current_logprobs * (tokens[:, -1] != self.eot)``,
``next_tokens[tokens[:, -1] == self.eot] = self.eot``, ``(tokens[:, -1] == self.eot).all()``,
``F.pad(tokens, (0, 1), value=self.eot)``).

Changed: 80 mels / 1500 frames / 384 wide -> 6 mels / 6 frames / 8 wide, one layer, a 19-token
vocabulary (10 text tokens, EOT, SOT, two languages, no-timestamps, 4 timestamps), a
triangular NumPy filter bank for ``mel_filters``'s ``.npz``, random NumPy audio; the decoder's
``positional_embedding`` (read from the checkpoint in Whisper) drawn with ``normal_``.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # Whisper's LayerNorm runs in float32 (``x.float()``) whatever the input

N_FFT, HOP_LENGTH, N_MELS, N_SAMPLES = 16, 4, 6, 48
N_AUDIO_CTX, N_STATE, N_HEAD, N_LAYER, N_TEXT_CTX = 6, 8, 2, 1, 12
EOT, SOT, LANGS, NO_TIMESTAMPS, TIMESTAMP_BEGIN, N_VOCAB = 10, 11, (12, 13), 14, 15, 19


def _modules(torch_like: Any) -> dict[str, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    Tensor = torch.Tensor

    class LayerNorm(nn.LayerNorm):
        def forward(self, x: Tensor) -> Tensor:
            return super().forward(x.float()).type(x.dtype)

    class Linear(nn.Linear):
        def forward(self, x: Tensor) -> Tensor:
            return F.linear(
                x,
                self.weight.to(x.dtype),
                None if self.bias is None else self.bias.to(x.dtype),
            )

    class Conv1d(nn.Conv1d):
        def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
            return super()._conv_forward(
                x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype)
            )

    def sinusoids(length: int, channels: int, max_timescale: int = 10000) -> Tensor:
        """Returns sinusoids for positional embedding"""
        assert channels % 2 == 0
        log_timescale_increment = np.log(max_timescale) / (channels // 2 - 1)
        inv_timescales = torch.exp(-log_timescale_increment * torch.arange(channels // 2))
        scaled_time = torch.arange(length)[:, np.newaxis] * inv_timescales[np.newaxis, :]
        return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)

    class MultiHeadAttention(nn.Module):
        use_sdpa = True

        def __init__(self, n_state: int, n_head: int):
            super().__init__()
            self.n_head = n_head
            self.query = Linear(n_state, n_state)
            self.key = Linear(n_state, n_state, bias=False)
            self.value = Linear(n_state, n_state)
            self.out = Linear(n_state, n_state)

        def forward(
            self,
            x: Tensor,
            xa: Tensor | None = None,
            mask: Tensor | None = None,
            kv_cache: dict | None = None,
        ) -> tuple[Tensor, Tensor | None]:
            q = self.query(x)

            if kv_cache is None or xa is None or self.key not in kv_cache:
                # hooks, if installed (i.e. kv_cache is not None), will prepend the cached kv
                # tensors; otherwise, perform key/value projections for self- or
                # cross-attention as usual.
                k = self.key(x if xa is None else xa)
                v = self.value(x if xa is None else xa)
            else:
                # for cross-attention, calculate keys and values once and reuse in subsequent
                # calls.
                k = kv_cache[self.key]
                v = kv_cache[self.value]

            wv, qk = self.qkv_attention(q, k, v, mask)
            return self.out(wv), qk

        def qkv_attention(
            self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None
        ) -> tuple[Tensor, Tensor | None]:
            n_batch, n_ctx, n_state = q.shape
            scale = (n_state // self.n_head) ** -0.25
            q = q.view(*q.shape[:2], self.n_head, -1).permute(0, 2, 1, 3)
            k = k.view(*k.shape[:2], self.n_head, -1).permute(0, 2, 1, 3)
            v = v.view(*v.shape[:2], self.n_head, -1).permute(0, 2, 1, 3)

            if MultiHeadAttention.use_sdpa:
                a = F.scaled_dot_product_attention(
                    q, k, v, is_causal=mask is not None and n_ctx > 1
                )
                out = a.permute(0, 2, 1, 3).flatten(start_dim=2)
                qk = None
            else:
                qk = (q * scale) @ (k * scale).transpose(-1, -2)
                if mask is not None:
                    qk = qk + mask[:n_ctx, :n_ctx]
                qk = qk.float()

                w = F.softmax(qk, dim=-1).to(q.dtype)
                out = (w @ v).permute(0, 2, 1, 3).flatten(start_dim=2)
                qk = qk.detach()

            return out, qk

    class ResidualAttentionBlock(nn.Module):
        def __init__(self, n_state: int, n_head: int, cross_attention: bool = False):
            super().__init__()

            self.attn = MultiHeadAttention(n_state, n_head)
            self.attn_ln = LayerNorm(n_state)

            self.cross_attn = MultiHeadAttention(n_state, n_head) if cross_attention else None
            self.cross_attn_ln = LayerNorm(n_state) if cross_attention else None

            n_mlp = n_state * 4
            self.mlp = nn.Sequential(Linear(n_state, n_mlp), nn.GELU(), Linear(n_mlp, n_state))
            self.mlp_ln = LayerNorm(n_state)

        def forward(
            self,
            x: Tensor,
            xa: Tensor | None = None,
            mask: Tensor | None = None,
            kv_cache: dict | None = None,
        ) -> Tensor:
            x = x + self.attn(self.attn_ln(x), mask=mask, kv_cache=kv_cache)[0]
            if self.cross_attn:
                x = x + self.cross_attn(self.cross_attn_ln(x), xa, kv_cache=kv_cache)[0]
            x = x + self.mlp(self.mlp_ln(x))
            return x

    class AudioEncoder(nn.Module):
        def __init__(self, n_mels: int, n_ctx: int, n_state: int, n_head: int, n_layer: int):
            super().__init__()
            self.conv1 = Conv1d(n_mels, n_state, kernel_size=3, padding=1)
            self.conv2 = Conv1d(n_state, n_state, kernel_size=3, stride=2, padding=1)
            self.register_buffer("positional_embedding", sinusoids(n_ctx, n_state))

            self.blocks: Iterable[ResidualAttentionBlock] = nn.ModuleList(
                [ResidualAttentionBlock(n_state, n_head) for _ in range(n_layer)]
            )
            self.ln_post = LayerNorm(n_state)

        def forward(self, x: Tensor) -> Tensor:
            """
            x : torch.Tensor, shape = (batch_size, n_mels, n_ctx)
                the mel spectrogram of the audio
            """
            x = F.gelu(self.conv1(x))
            x = F.gelu(self.conv2(x))
            x = x.permute(0, 2, 1)

            assert x.shape[1:] == self.positional_embedding.shape, "incorrect audio shape"
            x = (x + self.positional_embedding).to(x.dtype)

            for block in self.blocks:
                x = block(x)

            x = self.ln_post(x)
            return x

    class TextDecoder(nn.Module):
        def __init__(self, n_vocab: int, n_ctx: int, n_state: int, n_head: int, n_layer: int):
            super().__init__()

            self.token_embedding = nn.Embedding(n_vocab, n_state)
            self.positional_embedding = nn.Parameter(torch.empty(n_ctx, n_state))

            self.blocks: Iterable[ResidualAttentionBlock] = nn.ModuleList(
                [
                    ResidualAttentionBlock(n_state, n_head, cross_attention=True)
                    for _ in range(n_layer)
                ]
            )
            self.ln = LayerNorm(n_state)

            mask = torch.empty(n_ctx, n_ctx).fill_(-np.inf).triu_(1)
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, x: Tensor, xa: Tensor, kv_cache: dict | None = None) -> Tensor:
            """
            x : torch.LongTensor, shape = (batch_size, <= n_ctx)
                the text tokens
            xa : torch.Tensor, shape = (batch_size, n_audio_ctx, n_audio_state)
                the encoded audio features to be attended on
            """
            offset = next(iter(kv_cache.values())).shape[1] if kv_cache else 0
            x = self.token_embedding(x) + self.positional_embedding[offset : offset + x.shape[-1]]
            x = x.to(xa.dtype)

            for block in self.blocks:
                x = block(x, xa, mask=self.mask, kv_cache=kv_cache)

            x = self.ln(x)
            logits = (x @ torch.transpose(self.token_embedding.weight.to(x.dtype), 0, 1)).float()

            return logits

    class Whisper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AudioEncoder(N_MELS, N_AUDIO_CTX, N_STATE, N_HEAD, N_LAYER)
            self.decoder = TextDecoder(N_VOCAB, N_TEXT_CTX, N_STATE, N_HEAD, N_LAYER)
            # use the last half among the decoder layers for time alignment by default;
            # to use a specific set of heads, see `set_alignment_heads()` below.
            all_heads = torch.zeros(N_LAYER, N_HEAD, dtype=torch.bool)
            all_heads[N_LAYER // 2 :] = True
            self.register_buffer("alignment_heads", all_heads.to_sparse(), persistent=False)

        def embed_audio(self, mel: Tensor) -> Tensor:
            return self.encoder(mel)

        def logits(self, tokens: Tensor, audio_features: Tensor) -> Tensor:
            return self.decoder(tokens, audio_features)

        def forward(self, mel: Tensor, tokens: Tensor) -> dict:
            return self.decoder(tokens, self.encoder(mel))

        def install_kv_cache_hooks(self, cache: dict | None = None) -> tuple[dict, list]:
            cache = {**cache} if cache is not None else {}
            hooks = []

            def save_to_cache(module: Any, _: Any, output: Tensor) -> Tensor:
                if module not in cache or output.shape[1] > N_TEXT_CTX:
                    # save as-is, for the first token or cross attention
                    cache[module] = output
                else:
                    cache[module] = torch.cat([cache[module], output], dim=1).detach()
                return cache[module]

            def install_hooks(layer: nn.Module) -> None:
                if isinstance(layer, MultiHeadAttention):
                    hooks.append(layer.key.register_forward_hook(save_to_cache))
                    hooks.append(layer.value.register_forward_hook(save_to_cache))

            self.decoder.apply(install_hooks)
            return cache, hooks

    @contextmanager
    def disable_sdpa() -> Any:
        prev_state = MultiHeadAttention.use_sdpa
        try:
            MultiHeadAttention.use_sdpa = False
            yield
        finally:
            MultiHeadAttention.use_sdpa = prev_state

    return {"Whisper": Whisper, "disable_sdpa": disable_sdpa}


def make_model(torch_like: Any) -> Any:
    model = _modules(torch_like)["Whisper"]()
    with torch_like.no_grad():
        model.decoder.positional_embedding.normal_(std=0.5)
    return model


def _mel_filters(n_mels: int, n_freq: int) -> np.ndarray:
    """Triangular filters over the ``n_freq`` STFT bins (``mel_filters`` loads librosa's)."""
    centres = np.linspace(0, n_freq - 1, n_mels + 2)
    bins = np.arange(n_freq)[None, :]
    left, mid, right = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    up, down = (bins - left) / (mid - left), (right - bins) / (right - mid)
    return np.maximum(0.0, np.minimum(up, down))


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    mods = _modules(torch_like)
    rng = np.random.default_rng(30)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    heads = model.alignment_heads
    values += [float(heads.is_sparse)] + heads.indices().T.flatten().tolist()

    def pad_or_trim(array: Any, length: int = N_SAMPLES, *, axis: int = -1) -> Any:
        if array.shape[axis] > length:
            array = array.index_select(dim=axis, index=torch.arange(length, device=array.device))
        if array.shape[axis] < length:
            pad_widths = [(0, 0)] * array.ndim
            pad_widths[axis] = (0, length - array.shape[axis])
            array = F.pad(array, [pad for sizes in pad_widths[::-1] for pad in sizes])
        return array

    filters_np = _mel_filters(N_MELS, N_FFT // 2 + 1)

    def log_mel_spectrogram(audio: Any) -> Any:
        window = torch.hann_window(N_FFT).to(audio.device)
        stft = torch.stft(audio, N_FFT, HOP_LENGTH, window=window, return_complex=True)
        magnitudes = stft[..., :-1].abs() ** 2

        filters = as_tensor(torch, filters_np).to(magnitudes.dtype)
        mel_spec = filters @ magnitudes

        log_spec = torch.clamp(mel_spec, min=1e-10).log10()
        log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
        log_spec = (log_spec + 4.0) / 4.0
        return log_spec

    clips = [rng.normal(size=n) for n in (50, 37)]
    mel = torch.stack([log_mel_spectrogram(pad_or_trim(as_tensor(torch, c))) for c in clips])
    # a 48-sample clip with hop 4 gives 13 frames, the last dropped; the stride-2 conv
    # halves them to N_AUDIO_CTX
    assert mel.shape == (2, N_MELS, 2 * N_AUDIO_CTX)
    values += [mel.sum().item(), mel.min().item(), mel.max().item()]

    # teacher-forced fine-tuning on timestamped transcripts: <sot> <lang> <t0> text <t1> <t1>
    # text <t2> <eot>, with -100 past the end
    T = TIMESTAMP_BEGIN
    seqs = [
        [SOT, LANGS[0], T, 3, 7, T + 1, T + 1, 1, T + 2, EOT],
        [SOT, LANGS[1], T, 5, 2, T + 1, EOT],
    ]
    width = max(map(len, seqs))
    tokens_np = np.full((2, width), EOT, dtype=np.int64)
    labels_np = np.full((2, width), -100, dtype=np.int64)
    for i, s in enumerate(seqs):
        tokens_np[i, : len(s)] = s
        labels_np[i, : len(s) - 1] = s[1:]
    tokens, labels = as_tensor(torch, tokens_np), as_tensor(torch, labels_np)
    labels[:, :1] = -100  # the language token is not trained
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-2, weight_decay=0.01)
    for step in range(8):
        model.train()
        if step % 2:
            with mods["disable_sdpa"]():
                logits = model(mel, tokens)
        else:
            logits = model(mel, tokens)
        loss = F.cross_entropy(logits.view(-1, N_VOCAB), labels.view(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values.append(loss.item())

    # both attention paths agree
    model.eval()
    with torch.no_grad():
        audio_features = model.embed_audio(mel)
        a = model.logits(tokens, audio_features)
        with mods["disable_sdpa"]():
            b = model.logits(tokens, audio_features)
    values.append((a - b).abs().max().item())

    # language detection
    with torch.no_grad():
        x = torch.tensor([[SOT]] * 2)
        logits = model.logits(x, audio_features)[:, 0]
        mask = torch.ones(logits.shape[-1], dtype=torch.bool)
        mask[list(LANGS)] = False
        logits[:, mask] = -np.inf
        language_tokens = logits.argmax(dim=-1)
        language_token_probs = logits.softmax(dim=-1).cpu()
    values += language_tokens.tolist() + language_token_probs[:, list(LANGS)].flatten().tolist()

    values += _decode(torch_like, model, audio_features, language_tokens, mods)
    return values


def _decode(
    torch_like: Any, model: Any, audio_features: Any, language_tokens: Any, mods: dict
) -> list[float]:
    """Greedy decoding with timestamps, through the kv-cache hooks and Whisper's logit filters."""
    torch, F = torch_like, torch_like.nn.functional
    sample_begin, suppress_tokens = 2, [4]

    def suppress_blank(logits: Any, tokens: Any) -> None:
        if tokens.shape[1] == sample_begin:
            logits[:, [0] + [EOT]] = -np.inf

    def suppress(logits: Any, tokens: Any) -> None:
        logits[:, suppress_tokens] = -np.inf

    def apply_timestamp_rules(logits: Any, tokens: Any) -> None:
        # suppress <|notimestamps|> which is handled by without_timestamps
        logits[:, NO_TIMESTAMPS] = -np.inf

        # timestamps have to appear in pairs, except directly before EOT; mask logits accordingly
        for k in range(tokens.shape[0]):
            sampled_tokens = tokens[k, sample_begin:]
            seq = [t for t in sampled_tokens.tolist()]
            last_was_timestamp = len(seq) >= 1 and seq[-1] >= TIMESTAMP_BEGIN
            penultimate_was_timestamp = len(seq) < 2 or seq[-2] >= TIMESTAMP_BEGIN

            if last_was_timestamp:
                if penultimate_was_timestamp:  # has to be non-timestamp
                    logits[k, TIMESTAMP_BEGIN:] = -np.inf
                else:  # cannot be normal text tokens
                    logits[k, :EOT] = -np.inf

            timestamps = sampled_tokens[sampled_tokens.ge(TIMESTAMP_BEGIN)]
            if timestamps.numel() > 0:
                # timestamps shouldn't decrease; forbid timestamp tokens smaller than the last
                # also force each segment to have a nonzero length, to prevent infinite looping
                if last_was_timestamp and not penultimate_was_timestamp:
                    timestamp_last = timestamps[-1]
                else:
                    timestamp_last = timestamps[-1] + 1
                logits[k, TIMESTAMP_BEGIN:timestamp_last] = -np.inf

        if tokens.shape[1] == sample_begin:
            # suppress generating non-timestamp tokens at the beginning
            logits[:, :TIMESTAMP_BEGIN] = -np.inf
            last_allowed = TIMESTAMP_BEGIN + 1
            logits[:, last_allowed + 1 :] = -np.inf

        # if sum of probability over timestamps is above any other token, sample timestamp
        logprobs = F.log_softmax(logits.float(), dim=-1)
        for k in range(tokens.shape[0]):
            timestamp_logprob = logprobs[k, TIMESTAMP_BEGIN:].logsumexp(dim=-1)
            max_text_token_logprob = logprobs[k, :TIMESTAMP_BEGIN].max()
            if timestamp_logprob > max_text_token_logprob:
                logits[k, :TIMESTAMP_BEGIN] = -np.inf

    def update(tokens: Any, logits: Any, sum_logprobs: Any) -> tuple[Any, Any]:
        next_tokens = logits.argmax(dim=-1)
        logprobs = F.log_softmax(logits.float(), dim=-1)
        current_logprobs = logprobs[torch.arange(logprobs.shape[0]), next_tokens]
        sum_logprobs += current_logprobs * (tokens[:, -1] != EOT)

        next_tokens[tokens[:, -1] == EOT] = EOT
        tokens = torch.cat([tokens, next_tokens[:, None]], dim=-1)

        completed = (tokens[:, -1] == EOT).all()
        return tokens, completed

    values: list[float] = []
    for use_sdpa in (True, False):
        tokens = torch.stack([torch.full_like(language_tokens, SOT), language_tokens], dim=1)
        sum_logprobs = torch.zeros(2)
        kv_cache, hooks = model.install_kv_cache_hooks()
        try:
            ctx = mods["disable_sdpa"]() if not use_sdpa else nullcontext()
            with torch.no_grad(), ctx:
                for i in range(N_TEXT_CTX - sample_begin - 1):
                    step_tokens = tokens if i == 0 else tokens[:, -1:]
                    logits = model.decoder(step_tokens, audio_features, kv_cache=kv_cache)
                    logits = logits[:, -1]
                    for logit_filter in (suppress_blank, suppress, apply_timestamp_rules):
                        logit_filter(logits, tokens)
                    tokens, completed = update(tokens, logits, sum_logprobs)
                    if completed or tokens.shape[-1] > N_TEXT_CTX - 1:
                        break
        finally:
            for hook in hooks:
                hook.remove()
        tokens = F.pad(tokens, (0, 1), value=EOT)
        values += [float(len(kv_cache)), float(next(iter(kv_cache.values())).shape[1])]
        values += tokens.flatten().tolist() + sum_logprobs.tolist()
    assert not model.decoder.blocks[0].attn.key._forward_hooks
    return values
