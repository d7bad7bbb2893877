"""Variants of the PyTorch "Language Translation with ``nn.Transformer``" tutorial that
``translation_transformer`` does not cover, as forks and course notebooks write them,
size-reduced.

The idioms: a batch-first ``nn.Transformer(..., batch_first=True, custom_encoder=...,
custom_decoder=...)`` whose halves are built by hand (``nn.TransformerEncoder(
nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True,
norm_first=True), num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)`` and the
same for the decoder); the static ``nn.Transformer.generate_square_subsequent_mask(sz)`` next to
the tutorial's own ``(torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)`` /
``masked_fill(mask == 0, float('-inf'))`` (checked equal); ``create_mask`` with batch-first
padding masks (``src == PAD_IDX`` without the transpose) and ``tgt_is_causal=True``;
``PositionalEncoding`` with ``torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) /
emb_size)`` registered as a buffer with ``persistent=False``; ``collate_fn`` with
``pad_sequence(batch, batch_first=True, padding_value=PAD_IDX)`` in a ``DataLoader``; the loss
``nn.CrossEntropyLoss(ignore_index=PAD_IDX, label_smoothing=0.1)``; the "Noam" schedule
``LambdaLR(optimizer, lr_lambda=lambda step: d_model ** -0.5 * min((step + 1) ** -0.5, (step +
1) * warmup ** -1.5))`` stepped per batch; ``torch.nn.utils.clip_grad_norm_(model.parameters(),
1.0)`` (its returned total norm reported); and ``greedy_decode`` on batch-first tensors
(``torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=1)``) plus a batched
variant that stops when ``(ys == EOS_IDX).any(dim=1).all()``.

Changed: Multi30k and spaCy -> a toy corpus with dict vocabularies; d_model 512 -> 8, 2 heads,
FFN 16, one layer each side, dropout 0 (random masks cannot agree between frameworks).
"""

from __future__ import annotations

import math
from typing import Any

SRC_TEXT = [
    "ein hund läuft", "eine katze schläft", "ein mann läuft schnell", "eine frau liest",
    "der hund schläft", "die katze läuft", "ein kind liest ein buch",
]  # fmt: skip
TGT_TEXT = [
    "a dog runs", "a cat sleeps", "a man runs fast", "a woman reads",
    "the dog sleeps", "the cat runs", "a child reads a book",
]  # fmt: skip
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3
special_symbols = ["<unk>", "<pad>", "<bos>", "<eos>"]


def _vocab(sentences: list[str]) -> list[str]:
    return special_symbols + sorted({w for s in sentences for w in s.split()})


SRC_VOCAB, TGT_VOCAB = _vocab(SRC_TEXT), _vocab(TGT_TEXT)
EMB_SIZE, NHEAD, FFN_HID_DIM, BATCH_SIZE, WARMUP = 8, 2, 16, 3, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size: int, dropout: float, maxlen: int = 64) -> None:
            super().__init__()
            den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding.unsqueeze(0), persistent=False)

        def forward(self, token_embedding: Any) -> Any:
            return self.dropout(token_embedding + self.pos_embedding[:, : token_embedding.size(1)])

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size: int, emb_size: int) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size, padding_idx=PAD_IDX)
            self.emb_size = emb_size

        def forward(self, tokens: Any) -> Any:
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self, emb_size: int, nhead: int, src_vocab: int, tgt_vocab: int) -> None:
            super().__init__()
            encoder = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(
                    emb_size, nhead, FFN_HID_DIM, 0.0, batch_first=True, norm_first=True
                ),
                num_layers=1,
                norm=nn.LayerNorm(emb_size),
                enable_nested_tensor=False,
            )
            decoder = nn.TransformerDecoder(
                nn.TransformerDecoderLayer(
                    emb_size, nhead, FFN_HID_DIM, 0.0, batch_first=True, norm_first=True
                ),
                num_layers=1,
                norm=nn.LayerNorm(emb_size),
            )
            self.transformer = nn.Transformer(
                d_model=emb_size,
                nhead=nhead,
                batch_first=True,
                custom_encoder=encoder,
                custom_decoder=decoder,
            )
            self.generator = nn.Linear(emb_size, tgt_vocab)
            self.src_tok_emb = TokenEmbedding(src_vocab, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=0.0)

        def forward(self, src, trg, src_mask, tgt_mask, src_pad, tgt_pad, mem_pad):  # noqa: ANN001, ANN201
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(
                src_emb,
                tgt_emb,
                src_mask=src_mask,
                tgt_mask=tgt_mask,
                src_key_padding_mask=src_pad,
                tgt_key_padding_mask=tgt_pad,
                memory_key_padding_mask=mem_pad,
                tgt_is_causal=True,
            )
            return self.generator(outs)

        def encode(self, src: Any, src_mask: Any, src_pad: Any = None) -> Any:
            return self.transformer.encoder(
                self.positional_encoding(self.src_tok_emb(src)), src_mask, src_pad
            )

        def decode(self, tgt: Any, memory: Any, tgt_mask: Any, mem_pad: Any = None) -> Any:
            return self.transformer.decoder(
                self.positional_encoding(self.tgt_tok_emb(tgt)),
                memory,
                tgt_mask=tgt_mask,
                memory_key_padding_mask=mem_pad,
            )

    model = Seq2SeqTransformer(EMB_SIZE, NHEAD, len(SRC_VOCAB), len(TGT_VOCAB))
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    return model


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    DataLoader = torch.utils.data.DataLoader

    def generate_square_subsequent_mask(sz: int) -> Any:
        mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)
        return mask

    values: list[float] = []
    for sz in (1, 4):
        ours = generate_square_subsequent_mask(sz)
        builtin = nn.Transformer.generate_square_subsequent_mask(sz)
        values.append(float(torch.equal(ours, builtin)))
        values.append(float(torch.isinf(builtin).sum()))

    def create_mask(src: Any, tgt: Any) -> tuple[Any, Any, Any, Any]:
        src_seq_len, tgt_seq_len = src.shape[1], tgt.shape[1]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
        src_padding_mask = (src == PAD_IDX).float().masked_fill(src == PAD_IDX, float("-inf"))
        tgt_padding_mask = (tgt == PAD_IDX).float().masked_fill(tgt == PAD_IDX, float("-inf"))
        return src_mask.float(), tgt_mask, src_padding_mask, tgt_padding_mask

    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})

    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_IDX, label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lr_lambda=lambda step: EMB_SIZE**-0.5 * min((step + 1) ** -0.5, (step + 1) * WARMUP**-1.5),
    )

    src_stoi = {w: i for i, w in enumerate(SRC_VOCAB)}
    tgt_stoi = {w: i for i, w in enumerate(TGT_VOCAB)}

    def tensor_transform(token_ids: list[int]) -> Any:
        return torch.cat(
            (torch.tensor([BOS_IDX]), torch.tensor(token_ids), torch.tensor([EOS_IDX]))
        )

    def text_src(text: str) -> Any:
        return tensor_transform([src_stoi.get(w, UNK_IDX) for w in text.split()])

    def collate_fn(batch: list) -> tuple[Any, Any]:
        src_batch = [text_src(s) for s, _ in batch]
        tgt_batch = [
            tensor_transform([tgt_stoi.get(w, UNK_IDX) for w in t.split()]) for _, t in batch
        ]
        src_batch = pad_sequence(src_batch, batch_first=True, padding_value=PAD_IDX)
        tgt_batch = pad_sequence(tgt_batch, batch_first=True, padding_value=PAD_IDX)
        return src_batch, tgt_batch

    train_iter = list(zip(SRC_TEXT[:6], TGT_TEXT[:6], strict=True))
    val_iter = list(zip(SRC_TEXT[6:], TGT_TEXT[6:], strict=True))

    def train_epoch() -> float:
        model.train()
        losses = 0.0
        loader = DataLoader(train_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)
        for src, tgt in loader:
            tgt_input = tgt[:, :-1]
            src_mask, tgt_mask, src_pad, tgt_pad = create_mask(src, tgt_input)
            logits = model(src, tgt_input, src_mask, tgt_mask, src_pad, tgt_pad, src_pad)
            optimizer.zero_grad()
            tgt_out = tgt[:, 1:]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()
            total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            values.append(float(total_norm))
            optimizer.step()
            scheduler.step()
            values.append(scheduler.get_last_lr()[0])
            losses += loss.item()
        return losses / len(list(loader))

    def evaluate() -> float:
        model.eval()
        losses = 0.0
        loader = DataLoader(val_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)
        with torch.no_grad():
            for src, tgt in loader:
                tgt_input = tgt[:, :-1]
                src_mask, tgt_mask, src_pad, tgt_pad = create_mask(src, tgt_input)
                logits = model(src, tgt_input, src_mask, tgt_mask, src_pad, tgt_pad, src_pad)
                tgt_out = tgt[:, 1:]
                losses += loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1)).item()
        return losses / len(list(loader))

    for _epoch in range(3):
        values += [train_epoch(), evaluate()]

    def greedy_decode(src: Any, src_mask: Any, max_len: int, start_symbol: int) -> Any:
        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
        for _ in range(max_len - 1):
            tgt_mask = nn.Transformer.generate_square_subsequent_mask(ys.size(1)).type(torch.bool)
            out = model.decode(ys, memory, tgt_mask)
            prob = model.generator(out[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()
            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=1)
            if next_word == EOS_IDX:
                break
        return ys

    def batch_greedy_decode(src: Any, max_len: int) -> Any:
        src_pad = src == PAD_IDX
        memory = model.encode(src, None, src_pad)
        ys = torch.full((src.size(0), 1), BOS_IDX, dtype=torch.long)
        for _ in range(max_len - 1):
            tgt_mask = nn.Transformer.generate_square_subsequent_mask(ys.size(1))
            out = model.decode(ys, memory, tgt_mask, src_pad)
            next_word = model.generator(out[:, -1]).argmax(dim=-1, keepdim=True)
            ys = torch.cat([ys, next_word], dim=1)
            if (ys == EOS_IDX).any(dim=1).all():
                break
        return ys

    model.eval()
    with torch.no_grad():
        for sentence in ("ein hund schläft", "eine katze liest"):
            src = text_src(sentence).view(1, -1)
            num_tokens = src.shape[1]
            src_mask = torch.zeros(num_tokens, num_tokens).type(torch.bool)
            tokens = greedy_decode(src, src_mask, num_tokens + 5, BOS_IDX).flatten()
            values += [float(len(tokens))] + [float(t) for t in tokens.tolist()]
        src, _ = collate_fn(val_iter + train_iter[:2])
        ys = batch_greedy_decode(src, 8)
        values += [float(ys.shape[1])] + [float(t) for t in ys.flatten().tolist()]
    return values
