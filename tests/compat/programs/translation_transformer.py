"""The PyTorch "Language Translation with ``nn.Transformer`` and torchtext" tutorial
(``beginner/translation_transformer``), size-reduced: ``PositionalEncoding`` (``torch.exp(-
torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)``, strided writes
``pos_embedding[:, 0::2] = torch.sin(pos * den)``, ``unsqueeze(-2)``, ``register_buffer(
'pos_embedding', pos_embedding)``), ``TokenEmbedding`` (``self.embedding(tokens.long()) *
math.sqrt(self.emb_size)``), ``Seq2SeqTransformer`` around a sequence-first ``nn.Transformer``
with ``forward(src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
memory_key_padding_mask)`` and the ``encode``/``decode`` halves (``self.transformer.encoder``/
``.decoder``); ``generate_square_subsequent_mask`` (``(torch.triu(torch.ones((sz, sz),
device=DEVICE)) == 1).transpose(0, 1)``, ``mask.float().masked_fill(mask == 0,
float('-inf')).masked_fill(mask == 1, float(0.0))``), ``create_mask`` (``torch.zeros((
src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)``, ``(src == PAD_IDX).transpose(0,
1)``); the xavier initialisation ``for p in transformer.parameters(): if p.dim() > 1:
nn.init.xavier_uniform_(p)``; ``CrossEntropyLoss(ignore_index=PAD_IDX)``, ``Adam(lr=0.0001,
betas=(0.9, 0.98), eps=1e-9)``; ``tensor_transform`` (``torch.cat((torch.tensor([BOS_IDX]),
torch.tensor(token_ids), torch.tensor([EOS_IDX])))``) and ``collate_fn`` with
``pad_sequence(src_batch, padding_value=PAD_IDX)`` in a ``DataLoader``; ``train_epoch`` and
``evaluate`` (``tgt[:-1, :]``, ``logits.reshape(-1, logits.shape[-1])``, ``losses /
len(list(train_dataloader))``); ``greedy_decode`` (``torch.ones(1, 1).fill_(start_symbol)
.type(torch.long)``, ``out.transpose(0, 1)``, ``model.generator(out[:, -1])``, ``torch.max(prob,
dim=1)``, ``torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)``) and
``translate`` (``" ".join(vocab_transform[TGT_LANGUAGE].lookup_tokens(list(tgt_tokens
.cpu().numpy())))``).

Changed: Multi30k and the spaCy tokenizers/torchtext vocabularies are a toy parallel corpus
with ``str.split`` and dict vocabularies; EMB_SIZE 512 -> 8, NHEAD 8 -> 2, FFN_HID_DIM 512 ->
16, 3+3 layers -> 1+1, BATCH_SIZE 128 -> 3, 18 epochs -> 3; ``dropout`` 0.1 -> 0 (random masks
cannot agree between two frameworks). The tutorial's float ``tgt_mask`` next to boolean
padding masks is kept as written (PyTorch 2.13 warns about the mismatch from inside
``torch.nn``; chainrule accepts it the same way).
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
EMB_SIZE, NHEAD, FFN_HID_DIM, BATCH_SIZE = 8, 2, 16, 3
NUM_ENCODER_LAYERS = NUM_DECODER_LAYERS = 1


def _classes(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    Transformer = torch_like.nn.Transformer
    Tensor = torch_like.Tensor

    # helper Module that adds positional encoding to the token embedding to introduce a
    # notion of word order.
    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size: int, dropout: float, maxlen: int = 5000) -> None:
            super(PositionalEncoding, self).__init__()  # noqa: UP008 (as in the tutorial)
            den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)

            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding: Tensor) -> Tensor:
            return self.dropout(token_embedding + self.pos_embedding[: token_embedding.size(0), :])

    # helper Module to convert tensor of input indices into corresponding tensor of token
    # embeddings
    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size: int, emb_size: int) -> None:
            super(TokenEmbedding, self).__init__()  # noqa: UP008
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens: Tensor) -> Tensor:
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    # Seq2Seq Network
    class Seq2SeqTransformer(nn.Module):
        def __init__(
            self,
            num_encoder_layers: int,
            num_decoder_layers: int,
            emb_size: int,
            nhead: int,
            src_vocab_size: int,
            tgt_vocab_size: int,
            dim_feedforward: int = 512,
            dropout: float = 0.1,
        ) -> None:
            super(Seq2SeqTransformer, self).__init__()  # noqa: UP008
            self.transformer = Transformer(
                d_model=emb_size,
                nhead=nhead,
                num_encoder_layers=num_encoder_layers,
                num_decoder_layers=num_decoder_layers,
                dim_feedforward=dim_feedforward,
                dropout=dropout,
            )
            self.generator = nn.Linear(emb_size, tgt_vocab_size)
            self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def forward(
            self,
            src: Tensor,
            trg: Tensor,
            src_mask: Tensor,
            tgt_mask: Tensor,
            src_padding_mask: Tensor,
            tgt_padding_mask: Tensor,
            memory_key_padding_mask: Tensor,
        ) -> Tensor:
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(
                src_emb,
                tgt_emb,
                src_mask,
                tgt_mask,
                None,
                src_padding_mask,
                tgt_padding_mask,
                memory_key_padding_mask,
            )
            return self.generator(outs)

        def encode(self, src: Tensor, src_mask: Tensor) -> Tensor:
            return self.transformer.encoder(
                self.positional_encoding(self.src_tok_emb(src)), src_mask
            )

        def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor) -> Tensor:
            return self.transformer.decoder(
                self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask
            )

    return Seq2SeqTransformer


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    Seq2SeqTransformer = _classes(torch_like)
    transformer = Seq2SeqTransformer(
        NUM_ENCODER_LAYERS, NUM_DECODER_LAYERS, EMB_SIZE, NHEAD,
        len(SRC_VOCAB), len(TGT_VOCAB), FFN_HID_DIM, dropout=0.0,
    )  # fmt: skip
    for p in transformer.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    return transformer


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    pad_sequence = torch_like.nn.utils.rnn.pad_sequence
    DataLoader = torch_like.utils.data.DataLoader
    DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def generate_square_subsequent_mask(sz: int) -> Any:
        mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))  # noqa: UP018
        return mask

    def create_mask(src: Any, tgt: Any) -> tuple[Any, Any, Any, Any]:
        src_seq_len = src.shape[0]
        tgt_seq_len = tgt.shape[0]

        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)

        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    transformer = make_model(torch_like)
    if init is not None:
        transformer.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    transformer = transformer.to(DEVICE)

    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    optimizer = torch.optim.Adam(transformer.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-9)

    src_stoi = {w: i for i, w in enumerate(SRC_VOCAB)}
    tgt_stoi = {w: i for i, w in enumerate(TGT_VOCAB)}

    # function to add BOS/EOS and create tensor for input sequence indices
    def tensor_transform(token_ids: list[int]) -> Any:
        return torch.cat(
            (torch.tensor([BOS_IDX]), torch.tensor(token_ids), torch.tensor([EOS_IDX]))
        )

    def text_transform_src(text: str) -> Any:
        return tensor_transform([src_stoi.get(w, UNK_IDX) for w in text.rstrip("\n").split()])

    def text_transform_tgt(text: str) -> Any:
        return tensor_transform([tgt_stoi.get(w, UNK_IDX) for w in text.rstrip("\n").split()])

    # function to collate data samples into batch tensors
    def collate_fn(batch: list) -> tuple[Any, Any]:
        src_batch, tgt_batch = [], []
        for src_sample, tgt_sample in batch:
            src_batch.append(text_transform_src(src_sample))
            tgt_batch.append(text_transform_tgt(tgt_sample))

        src_batch = pad_sequence(src_batch, padding_value=PAD_IDX)
        tgt_batch = pad_sequence(tgt_batch, padding_value=PAD_IDX)
        return src_batch, tgt_batch

    train_iter = list(zip(SRC_TEXT[:6], TGT_TEXT[:6], strict=True))
    val_iter = list(zip(SRC_TEXT[6:], TGT_TEXT[6:], strict=True))

    def train_epoch(model: Any, optimizer: Any) -> float:
        model.train()
        losses = 0
        train_dataloader = DataLoader(train_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)

        for src, tgt in train_dataloader:
            src = src.to(DEVICE)
            tgt = tgt.to(DEVICE)

            tgt_input = tgt[:-1, :]

            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)

            logits = model(
                src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                src_padding_mask,
            )  # fmt: skip

            optimizer.zero_grad()

            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()

            optimizer.step()
            losses += loss.item()

        return losses / len(list(train_dataloader))

    def evaluate(model: Any) -> float:
        model.eval()
        losses = 0

        val_dataloader = DataLoader(val_iter, batch_size=BATCH_SIZE, collate_fn=collate_fn)

        for src, tgt in val_dataloader:
            src = src.to(DEVICE)
            tgt = tgt.to(DEVICE)

            tgt_input = tgt[:-1, :]

            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)

            logits = model(
                src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                src_padding_mask,
            )  # fmt: skip

            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            losses += loss.item()

        return losses / len(list(val_dataloader))

    values: list[float] = []
    NUM_EPOCHS = 3
    for _epoch in range(1, NUM_EPOCHS + 1):
        train_loss = train_epoch(transformer, optimizer)
        val_loss = evaluate(transformer)
        values += [train_loss, val_loss]

    # function to generate output sequence using greedy algorithm
    def greedy_decode(model: Any, src: Any, src_mask: Any, max_len: int, start_symbol: int):
        src = src.to(DEVICE)
        src_mask = src_mask.to(DEVICE)

        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)
        for _i in range(max_len - 1):
            memory = memory.to(DEVICE)
            tgt_mask = (generate_square_subsequent_mask(ys.size(0)).type(torch.bool)).to(DEVICE)
            out = model.decode(ys, memory, tgt_mask)
            out = out.transpose(0, 1)
            prob = model.generator(out[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()

            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
            if next_word == EOS_IDX:
                break
        return ys

    # actual function to translate input sentence into target language
    def translate(model: Any, src_sentence: str) -> str:
        model.eval()
        src = text_transform_src(src_sentence).view(-1, 1)
        num_tokens = src.shape[0]
        src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
        tgt_tokens = greedy_decode(
            model, src, src_mask, max_len=num_tokens + 5, start_symbol=BOS_IDX
        ).flatten()
        return (
            " ".join([TGT_VOCAB[i] for i in list(tgt_tokens.cpu().numpy())])
            .replace("<bos>", "")
            .replace("<eos>", "")
        )

    with torch.no_grad():
        for sentence in ("ein hund schläft", "eine katze liest"):
            words = translate(transformer, sentence).split()
            values += [float(len(words))] + [float(TGT_VOCAB.index(w)) for w in words]
    return values
