"""The Transformer and the Vision Transformer as "Dive into Deep Learning" (d2l.ai, PyTorch
edition 1.0, sections 11.7 "The Transformer Architecture" and 11.8 "Transformers for Vision")
write them, with the book's ``d2l.Trainer`` loop, size-reduced.

The idioms: ``PositionalEncoding`` as a plain tensor attribute (``self.P = torch.zeros((1,
max_len, num_hiddens))``, ``torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) /
torch.pow(10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)``,
``self.P[:, :, 0::2] = torch.sin(X)``, ``X + self.P[:, :X.shape[1], :].to(X.device)``);
``TransformerEncoder`` (``self.embedding(X) * math.sqrt(self.num_hiddens)``, ``self.blks.
add_module("block"+str(i), ...)``, ``self.attention_weights[i] = blk.attention.attention.
attention_weights``); ``TransformerDecoderBlock`` with its state list (``state[2][self.i] is
None``, ``torch.cat((state[2][self.i], X), dim=1)``, ``if self.training:`` ``dec_valid_lens =
torch.arange(1, num_steps + 1, device=X.device).repeat(batch_size, 1)``, the encoder-decoder
attention on ``enc_valid_lens``); ``TransformerDecoder`` (``init_state`` returning
``[enc_outputs, enc_valid_lens, [None] * self.num_blks]``, ``self._attention_weights = [[None]
* len(self.blks) for _ in range (2)]``, ``nn.LazyLinear(vocab_size)``); ``EncoderDecoder.
forward(enc_X, dec_X, *args)``; ``Seq2Seq.loss`` (``Classifier.loss(..., averaged=False)``'s
``F.cross_entropy(Y_hat, Y, reduction='none')`` on ``Y_hat.reshape((-1, Y_hat.shape[-1]))``,
``mask = (Y.reshape(-1) != self.tgt_pad).type(torch.float32)``, ``(l * mask).sum() /
mask.sum()``); ``predict_step`` (``outputs = [tgt[:, (0)].unsqueeze(1), ]``, ``Y.argmax(2)``,
``torch.cat(outputs[1:], 1)``) in eval mode; ``Trainer.fit_epoch`` with ``loss.backward()``
inside ``with torch.no_grad():`` and ``clip_gradients`` (``norm = torch.sqrt(sum(torch.sum(
(p.grad ** 2)) for p in params))``, ``param.grad[:] *= grad_clip_val / norm``); then ViT's
``PatchEmbedding`` (``nn.LazyConv2d(num_hiddens, kernel_size=patch_size, stride=patch_size)``,
``self.conv(X).flatten(2).transpose(1, 2)``), ``ViTMLP`` (``nn.GELU()``, two ``nn.Dropout``),
the pre-norm ``ViTBlock`` (``self.attention(*([self.ln1(X)] * 3), valid_lens)``), ``ViT``
(``nn.Parameter(torch.zeros(1, 1, num_hiddens))`` class token ``expand(X.shape[0], -1, -1)``,
``nn.Parameter(torch.randn(1, num_steps, num_hiddens) * 0.02)``, ``self.head(X[:, 0])``) with
``Classifier.accuracy`` (``Y_hat.argmax(axis=1).type(Y.dtype)``, ``(preds == Y.reshape(-1)).
type(torch.float32)``) and ``torch.optim.SGD(self.parameters(), lr=self.lr)``. d2l's
``MultiHeadAttention``, ``AddNorm``, ``PositionWiseFFN`` and ``TransformerEncoderBlock`` come
from ``d2l_bert_pretraining`` (the book's ``d2l`` package).

Changed: English-French -> a seeded toy task (the target is the source reversed, with
``<bos>``/``<eos>``/``<pad>``); 256 hidden units / 4 heads / 2 blocks -> 8 / 2 / 2, 30 epochs
-> 4 steps; Fashion-MNIST 96x96 with 16x16 patches -> 8x8 images with 4x4 patches, 10 epochs
-> 4 steps. Both runs draw the lazy initial weights from the same seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .d2l_bert_pretraining import _classes as _d2l_classes

# d2l computes the positional encoding in float32 (``dtype=torch.float32``), whose ``sin``/``cos``
# NumPy and PyTorch round differently in the last bit: the run is float32, as the book's are
DTYPE = "float32"
PAD, BOS, EOS, VOCAB, SRC_LEN = 0, 1, 2, 8, 6


def init_state(tmp_path: Any) -> None:
    """No shared state: both runs draw the (lazy) initial weights from the same seed."""
    return None


def _models(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    d2l = _d2l_classes(torch_like)
    MultiHeadAttention, AddNorm = d2l["MultiHeadAttention"], d2l["AddNorm"]
    PositionWiseFFN, TransformerEncoderBlock = (
        d2l["PositionWiseFFN"],
        d2l["TransformerEncoderBlock"],
    )

    class PositionalEncoding(nn.Module):
        """Positional encoding."""

        def __init__(self, num_hiddens, dropout, max_len=1000):  # noqa: ANN001
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            # Create a long enough P
            self.P = torch.zeros((1, max_len, num_hiddens))
            X = torch.arange(max_len, dtype=torch.float32).reshape(
                -1, 1) / torch.pow(10000, torch.arange(
                0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)  # fmt: skip
            self.P[:, :, 0::2] = torch.sin(X)
            self.P[:, :, 1::2] = torch.cos(X)

        def forward(self, X):  # noqa: ANN001,ANN201
            X = X + self.P[:, : X.shape[1], :].to(X.device)
            return self.dropout(X)

    class TransformerEncoder(nn.Module):
        """The Transformer encoder."""

        def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens,
                     num_heads, num_blks, dropout, use_bias=False):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.num_hiddens = num_hiddens
            self.embedding = nn.Embedding(vocab_size, num_hiddens)
            self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
            self.blks = nn.Sequential()
            for i in range(num_blks):
                self.blks.add_module("block"+str(i), TransformerEncoderBlock(
                    num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias))  # fmt: skip

        def forward(self, X, valid_lens):  # noqa: ANN001,ANN201
            # Since positional encoding values are between -1 and 1, the embedding
            # values are multiplied by the square root of the embedding dimension
            # to rescale before they are summed up
            X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
            self.attention_weights = [None] * len(self.blks)
            for i, blk in enumerate(self.blks):
                X = blk(X, valid_lens)
                self.attention_weights[
                    i] = blk.attention.attention.attention_weights  # fmt: skip
            return X

    class TransformerDecoderBlock(nn.Module):
        # The i-th block in the Transformer decoder
        def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, i):  # noqa: ANN001
            super().__init__()
            self.i = i
            self.attention1 = MultiHeadAttention(num_hiddens, num_heads, dropout)
            self.addnorm1 = AddNorm(num_hiddens, dropout)
            self.attention2 = MultiHeadAttention(num_hiddens, num_heads, dropout)
            self.addnorm2 = AddNorm(num_hiddens, dropout)
            self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
            self.addnorm3 = AddNorm(num_hiddens, dropout)

        def forward(self, X, state):  # noqa: ANN001,ANN201
            enc_outputs, enc_valid_lens = state[0], state[1]
            # During training, all the tokens of any output sequence are processed
            # at the same time, so state[2][self.i] is None as initialized. When
            # decoding any output sequence token by token during prediction,
            # state[2][self.i] contains representations of the decoded output at
            # the i-th block up to the current time step
            if state[2][self.i] is None:
                key_values = X
            else:
                key_values = torch.cat((state[2][self.i], X), dim=1)
            state[2][self.i] = key_values
            if self.training:
                batch_size, num_steps, _ = X.shape
                # Shape of dec_valid_lens: (batch_size, num_steps), where every
                # row is [1, 2, ..., num_steps]
                dec_valid_lens = torch.arange(
                    1, num_steps + 1, device=X.device).repeat(batch_size, 1)  # fmt: skip
            else:
                dec_valid_lens = None
            # Self-attention
            X2 = self.attention1(X, key_values, key_values, dec_valid_lens)
            Y = self.addnorm1(X, X2)
            # Encoder-decoder attention. Shape of enc_outputs:
            # (batch_size, num_steps, num_hiddens)
            Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens)
            Z = self.addnorm2(Y, Y2)
            return self.addnorm3(Z, self.ffn(Z)), state

    class TransformerDecoder(nn.Module):
        def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads,
                     num_blks, dropout):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.num_hiddens = num_hiddens
            self.num_blks = num_blks
            self.embedding = nn.Embedding(vocab_size, num_hiddens)
            self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
            self.blks = nn.Sequential()
            for i in range(num_blks):
                self.blks.add_module("block"+str(i), TransformerDecoderBlock(
                    num_hiddens, ffn_num_hiddens, num_heads, dropout, i))  # fmt: skip
            self.dense = nn.LazyLinear(vocab_size)

        def init_state(self, enc_outputs, enc_valid_lens):  # noqa: ANN001,ANN201
            return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

        def forward(self, X, state):  # noqa: ANN001,ANN201
            X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
            self._attention_weights = [[None] * len(self.blks) for _ in range (2)]  # fmt: skip
            for i, blk in enumerate(self.blks):
                X, state = blk(X, state)
                # Decoder self-attention weights
                self._attention_weights[0][
                    i] = blk.attention1.attention.attention_weights  # fmt: skip
                # Encoder-decoder attention weights
                self._attention_weights[1][
                    i] = blk.attention2.attention.attention_weights  # fmt: skip
            return self.dense(X), state

        @property
        def attention_weights(self):  # noqa: ANN201
            return self._attention_weights

    class Classifier(nn.Module):
        """The base class of classification models."""

        def loss(self, Y_hat, Y, averaged=True):  # noqa: ANN001,ANN201
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            Y = Y.reshape((-1,))
            return F.cross_entropy(
                Y_hat, Y, reduction='mean' if averaged else 'none')  # fmt: skip

        def accuracy(self, Y_hat, Y, averaged=True):  # noqa: ANN001,ANN201
            """Compute the number of correct predictions."""
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            preds = Y_hat.argmax(axis=1).type(Y.dtype)
            compare = (preds == Y.reshape(-1)).type(torch.float32)
            return compare.mean() if averaged else compare

        def training_step(self, batch):  # noqa: ANN001,ANN201
            return self.loss(self(*batch[:-1]), batch[-1])

        def configure_optimizers(self):  # noqa: ANN201
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    class Seq2Seq(Classifier):
        """The encoder-decoder architecture (``d2l.EncoderDecoder`` + ``d2l.Seq2Seq``)."""

        def __init__(self, encoder, decoder, tgt_pad, lr):  # noqa: ANN001
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder
            self.tgt_pad, self.lr = tgt_pad, lr

        def forward(self, enc_X, dec_X, *args):  # noqa: ANN001,ANN002,ANN201
            enc_all_outputs = self.encoder(enc_X, *args)
            dec_state = self.decoder.init_state(enc_all_outputs, *args)
            # Return decoder output only
            return self.decoder(dec_X, dec_state)[0]

        def loss(self, Y_hat, Y):  # noqa: ANN001,ANN201
            l = super(Seq2Seq, self).loss(Y_hat, Y, averaged=False)  # noqa: E741,UP008
            mask = (Y.reshape(-1) != self.tgt_pad).type(torch.float32)
            return (l * mask).sum() / mask.sum()

        def configure_optimizers(self):  # noqa: ANN201
            # Adam optimizer is used here
            return torch.optim.Adam(self.parameters(), lr=self.lr)

        def predict_step(self, batch, device, num_steps,
                         save_attention_weights=False):  # noqa: ANN001,ANN201 # fmt: skip
            batch = [a.to(device) for a in batch]
            src, tgt, src_valid_len, _ = batch
            enc_all_outputs = self.encoder(src, src_valid_len)
            dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
            outputs, attention_weights = [tgt[:, (0)].unsqueeze(1), ], []  # fmt: skip
            for _ in range(num_steps):
                Y, dec_state = self.decoder(outputs[-1], dec_state)
                outputs.append(Y.argmax(2))
                # Save attention weights (to be covered later)
                if save_attention_weights:
                    attention_weights.append(self.decoder.attention_weights)
            return torch.cat(outputs[1:], 1), attention_weights

    class PatchEmbedding(nn.Module):
        def __init__(self, img_size=96, patch_size=16, num_hiddens=512):  # noqa: ANN001
            super().__init__()

            def _make_tuple(x):  # noqa: ANN001,ANN202
                if not isinstance(x, (list, tuple)):
                    return (x, x)
                return x

            img_size, patch_size = _make_tuple(img_size), _make_tuple(patch_size)
            self.num_patches = (img_size[0] // patch_size[0]) * (
                img_size[1] // patch_size[1])  # fmt: skip
            self.conv = nn.LazyConv2d(num_hiddens, kernel_size=patch_size,
                                      stride=patch_size)  # fmt: skip

        def forward(self, X):  # noqa: ANN001,ANN201
            # Output shape: (batch size, no. of patches, no. of channels)
            return self.conv(X).flatten(2).transpose(1, 2)

    class ViTMLP(nn.Module):
        def __init__(self, mlp_num_hiddens, mlp_num_outputs, dropout=0.5):  # noqa: ANN001
            super().__init__()
            self.dense1 = nn.LazyLinear(mlp_num_hiddens)
            self.gelu = nn.GELU()
            self.dropout1 = nn.Dropout(dropout)
            self.dense2 = nn.LazyLinear(mlp_num_outputs)
            self.dropout2 = nn.Dropout(dropout)

        def forward(self, x):  # noqa: ANN001,ANN201
            return self.dropout2(self.dense2(self.dropout1(self.gelu(
                self.dense1(x)))))  # fmt: skip

    class ViTBlock(nn.Module):
        def __init__(self, num_hiddens, norm_shape, mlp_num_hiddens,
                     num_heads, dropout, use_bias=False):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.ln1 = nn.LayerNorm(norm_shape)
            self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
            self.ln2 = nn.LayerNorm(norm_shape)
            self.mlp = ViTMLP(mlp_num_hiddens, num_hiddens, dropout)

        def forward(self, X, valid_lens=None):  # noqa: ANN001,ANN201
            X = X + self.attention(*([self.ln1(X)] * 3), valid_lens)
            return X + self.mlp(self.ln2(X))

    class ViT(Classifier):
        """Vision Transformer."""

        def __init__(self, img_size, patch_size, num_hiddens, mlp_num_hiddens,
                     num_heads, num_blks, emb_dropout, blk_dropout, lr=0.1,
                     use_bias=False, num_classes=10):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.lr = lr
            self.patch_embedding = PatchEmbedding(img_size, patch_size, num_hiddens)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, num_hiddens))
            num_steps = self.patch_embedding.num_patches + 1  # Add the cls token
            # Positional embeddings are learnable
            self.pos_embedding = nn.Parameter(
                torch.randn(1, num_steps, num_hiddens) * 0.02)  # fmt: skip
            self.dropout = nn.Dropout(emb_dropout)
            self.blks = nn.Sequential()
            for i in range(num_blks):
                self.blks.add_module(f"{i}", ViTBlock(
                    num_hiddens, num_hiddens, mlp_num_hiddens,
                    num_heads, blk_dropout, use_bias))  # fmt: skip
            self.head = nn.Sequential(nn.LayerNorm(num_hiddens),
                                      nn.Linear(num_hiddens, num_classes))  # fmt: skip

        def forward(self, X):  # noqa: ANN001,ANN201
            X = self.patch_embedding(X)
            X = torch.cat((self.cls_token.expand(X.shape[0], -1, -1), X), 1)
            X = self.dropout(X + self.pos_embedding)
            for blk in self.blks:
                X = blk(X)
            return self.head(X[:, 0])

    return {
        "TransformerEncoder": TransformerEncoder,
        "TransformerDecoder": TransformerDecoder,
        "Seq2Seq": Seq2Seq,
        "ViT": ViT,
    }


class Trainer:
    """d2l's ``Trainer`` (``fit``/``fit_epoch``/``clip_gradients``), without the plots."""

    def __init__(self, torch_like: Any, max_steps: int, gradient_clip_val: float = 0) -> None:
        self.torch, self.max_steps = torch_like, max_steps
        self.gradient_clip_val = gradient_clip_val
        self.losses: list[float] = []

    def fit(self, model: Any, batches: list) -> None:
        self.model = model
        self.optim = model.configure_optimizers()
        self.train_batch_idx = 0
        self.fit_epoch(batches)

    def fit_epoch(self, batches: list) -> None:
        torch = self.torch
        self.model.train()
        for batch in batches[: self.max_steps]:
            loss = self.model.training_step(batch)
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:  # To be discussed later
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.losses.append(loss.item())
            self.train_batch_idx += 1

    def clip_gradients(self, grad_clip_val: float, model: Any) -> None:
        torch = self.torch
        params = [p for p in model.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))  # fmt: skip
        self.losses.append(float(norm))
        if norm > grad_clip_val:
            for param in params:
                param.grad[:] *= grad_clip_val / norm


def _mt_batches(torch_like: Any, rng: np.random.Generator, n: int) -> list:
    torch = torch_like
    batches = []
    for _ in range(n):
        src = np.full((4, SRC_LEN), PAD)
        tgt = np.full((4, SRC_LEN + 1), PAD)
        lens = rng.integers(2, SRC_LEN, 4)
        for b, length in enumerate(lens):
            words = rng.integers(3, VOCAB, length - 1)
            src[b, : length - 1], src[b, length - 1] = words, EOS
            tgt[b, : length + 1] = [BOS, *words[::-1], EOS]
        batches.append((torch.tensor(src), torch.tensor(tgt[:, :-1]), torch.tensor(lens),
                        torch.tensor(tgt[:, 1:])))  # fmt: skip
    return batches


def run(torch_like: Any, init: None) -> list[float]:
    torch = torch_like
    models = _models(torch_like)
    rng = np.random.default_rng(117)
    torch.manual_seed(11)
    num_hiddens, num_blks, dropout = 8, 2, 0.1
    ffn_num_hiddens, num_heads = 16, 2
    encoder = models["TransformerEncoder"](VOCAB, num_hiddens, ffn_num_hiddens, num_heads,
                                           num_blks, dropout)  # fmt: skip
    decoder = models["TransformerDecoder"](VOCAB, num_hiddens, ffn_num_hiddens, num_heads,
                                           num_blks, dropout)  # fmt: skip
    model = models["Seq2Seq"](encoder, decoder, tgt_pad=PAD, lr=0.01)
    batches = _mt_batches(torch_like, rng, 5)
    model(*batches[0][:-1])  # materialise the lazy layers
    trainer = Trainer(torch_like, max_steps=4, gradient_clip_val=1)
    trainer.fit(model, batches)
    values = list(trainer.losses)

    model.eval()
    preds, _ = model.predict_step(batches[4], torch.device("cpu"), SRC_LEN,
                                  save_attention_weights=True)  # fmt: skip
    values += preds.reshape(-1).tolist()
    enc_attention_weights = torch.cat(model.encoder.attention_weights, 0)
    values += [enc_attention_weights.shape[0], enc_attention_weights.sum().item()]
    dec_self = model.decoder.attention_weights[0][1]
    values += [dec_self.shape[-1], dec_self.sum().item()]

    img_size, patch_size = 8, 4
    emb_dropout, blk_dropout, lr = 0.1, 0.1, 0.1
    vit = models["ViT"](img_size, patch_size, num_hiddens, 16, num_heads,
                        num_blks, emb_dropout, blk_dropout, lr, num_classes=3)  # fmt: skip
    images = rng.standard_normal((5, 4, 1, img_size, img_size)).astype(np.float32)
    labels = rng.integers(0, 3, (5, 4))
    vit_batches = [(torch.tensor(x), torch.tensor(y)) for x, y in zip(images, labels, strict=True)]
    vit(vit_batches[0][0])
    values.append(vit.patch_embedding(vit_batches[0][0]).shape[1])
    trainer = Trainer(torch_like, max_steps=4)
    trainer.fit(vit, vit_batches)
    values += trainer.losses
    vit.eval()
    with torch.no_grad():
        X, Y = vit_batches[4]
        values.append(vit.accuracy(vit(X), Y).item())
    return values
