"""Sequence-to-sequence learning and Bahdanau attention as "Dive into Deep Learning" (d2l.ai,
PyTorch edition 1.0, sections 10.6-10.7 and 11.4) write them, size-reduced.

The idioms: ``init_seq2seq`` applied with ``self.apply`` (``type(module) == nn.Linear``,
``type(module) == nn.GRU`` and ``for param in module._flat_weights_names: if "weight" in param:
nn.init.xavier_uniform_(module._parameters[param])``); the ``Encoder``/``Decoder``/
``EncoderDecoder`` base classes (``init_state``, ``forward(enc_X, dec_X, *args)`` returning
``self.decoder(dec_X, dec_state)[0]``); ``Seq2SeqEncoder`` (``self.embedding(X.t().type(torch.
int64))``, a time-major ``nn.GRU(..., dropout=dropout)``); ``Seq2SeqDecoder`` (``enc_output[-1]``
context ``.repeat(embs.shape[0], 1, 1)``, ``torch.cat((embs, context), -1)``, an
``nn.LazyLinear(vocab_size)`` head, ``.swapaxes(0, 1)``); ``AdditiveAttention`` with
``nn.LazyLinear(num_hiddens, bias=False)`` projections, ``queries.unsqueeze(2) + keys.
unsqueeze(1)`` and ``masked_softmax``'s ``_sequence_mask`` (``torch.arange((maxlen),
dtype=torch.float32)[None, :] < valid_len[:, None]``, ``X[~mask] = value``,
``torch.repeat_interleave(valid_lens, shape[1])``); ``Seq2SeqAttentionDecoder`` looping ``for x
in X`` over time with ``torch.unsqueeze(hidden_state[-1], dim=1)`` queries and keeping
``_attention_weights``; ``Seq2Seq.loss`` (``F.cross_entropy(..., reduction='none')`` masked by
``(Y.reshape(-1) != self.tgt_pad).type(torch.float32)``); the ``Trainer``'s ``clip_gradients``
(``norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))``, ``param.grad[:] *=
grad_clip_val / norm``); greedy ``predict_step`` (``tgt[:, (0)].unsqueeze(1)``, ``Y.argmax(2)``,
``torch.cat(outputs[1:], 1)``) and the ``bleu`` score in plain Python.

Changed: the English-French corpus is seeded NumPy token ids (vocab 9, length 5, 6 pairs);
embed 256 / hidden 256 / 2 layers -> 4 / 6 / 2; 30 epochs -> 3 steps per model; the lazy
layers are materialised by the loaded state dict (``LazyLinear``'s load hook) instead of a
dummy batch.
"""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np

from ._common import as_tensor, state_to_numpy

__all__ = ["init_state", "run"]

DTYPE = "float32"
VOCAB, EMBED, HIDDENS, LAYERS, STEPS_T, N, PAD, BOS, EOS, STEPS = 9, 4, 6, 2, 5, 6, 0, 1, 2, 3


def _models(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def init_seq2seq(module):  # noqa: ANN001, ANN202
        """Initialize weights for sequence-to-sequence learning."""
        if type(module) == nn.Linear:  # noqa: E721
            nn.init.xavier_uniform_(module.weight)
        if type(module) == nn.GRU:  # noqa: E721
            for param in module._flat_weights_names:
                if "weight" in param:
                    nn.init.xavier_uniform_(module._parameters[param])

    def masked_softmax(X, valid_lens):  # noqa: ANN001, ANN202
        def _sequence_mask(X, valid_len, value=0):  # noqa: ANN001, ANN202
            maxlen = X.size(1)
            mask = (torch.arange((maxlen), dtype=torch.float32, device=X.device)[None, :]
                    < valid_len[:, None])  # fmt: skip
            X[~mask] = value
            return X

        if valid_lens is None:
            return nn.functional.softmax(X, dim=-1)
        else:
            shape = X.shape
            if valid_lens.dim() == 1:
                valid_lens = torch.repeat_interleave(valid_lens, shape[1])
            else:
                valid_lens = valid_lens.reshape(-1)
            X = _sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
            return nn.functional.softmax(X.reshape(shape), dim=-1)

    class AdditiveAttention(nn.Module):
        def __init__(self, num_hiddens, dropout, **kwargs):  # noqa: ANN001, ANN003
            super().__init__(**kwargs)
            self.W_k = nn.LazyLinear(num_hiddens, bias=False)
            self.W_q = nn.LazyLinear(num_hiddens, bias=False)
            self.w_v = nn.LazyLinear(1, bias=False)
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries, keys, values, valid_lens):  # noqa: ANN001, ANN202
            queries, keys = self.W_q(queries), self.W_k(keys)
            features = queries.unsqueeze(2) + keys.unsqueeze(1)
            features = torch.tanh(features)
            scores = self.w_v(features).squeeze(-1)
            self.attention_weights = masked_softmax(scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()

    class EncoderDecoder(nn.Module):
        def __init__(self, encoder, decoder):  # noqa: ANN001
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, enc_X, dec_X, *args):  # noqa: ANN001, ANN002, ANN202
            enc_all_outputs = self.encoder(enc_X, *args)
            dec_state = self.decoder.init_state(enc_all_outputs, *args)
            return self.decoder(dec_X, dec_state)[0]

        def predict_step(self, batch, device, num_steps, save_attention_weights=False):  # noqa: ANN001, ANN202
            batch = [a.to(device) for a in batch]
            src, tgt, src_valid_len, _ = batch
            enc_all_outputs = self.encoder(src, src_valid_len)
            dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
            outputs, attention_weights = [tgt[:, (0)].unsqueeze(1)], []
            for _ in range(num_steps):
                Y, dec_state = self.decoder(outputs[-1], dec_state)
                outputs.append(Y.argmax(2))
                if save_attention_weights:
                    attention_weights.append(self.decoder.attention_weights)
            return torch.cat(outputs[1:], 1), attention_weights

    class Seq2SeqEncoder(Encoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):  # noqa: ANN001
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)
            self.apply(init_seq2seq)

        def forward(self, X, *args):  # noqa: ANN001, ANN002, ANN202
            embs = self.embedding(X.t().type(torch.int64))
            outputs, state = self.rnn(embs)
            return outputs, state

    class Seq2SeqDecoder(Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):  # noqa: ANN001
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
            self.dense = nn.LazyLinear(vocab_size)
            self.apply(init_seq2seq)

        def init_state(self, enc_all_outputs, *args):  # noqa: ANN001, ANN002, ANN202
            return enc_all_outputs

        def forward(self, X, state):  # noqa: ANN001, ANN202
            embs = self.embedding(X.t().type(torch.int32))
            enc_output, hidden_state = state
            context = enc_output[-1]
            context = context.repeat(embs.shape[0], 1, 1)
            embs_and_context = torch.cat((embs, context), -1)
            outputs, hidden_state = self.rnn(embs_and_context, hidden_state)
            outputs = self.dense(outputs).swapaxes(0, 1)
            return outputs, [enc_output, hidden_state]

    class Seq2SeqAttentionDecoder(Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):  # noqa: ANN001
            super().__init__()
            self.attention = AdditiveAttention(num_hiddens, dropout)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
            self.dense = nn.LazyLinear(vocab_size)
            self.apply(init_seq2seq)

        def init_state(self, enc_outputs, enc_valid_lens):  # noqa: ANN001, ANN202
            outputs, hidden_state = enc_outputs
            return (outputs.permute(1, 0, 2), hidden_state, enc_valid_lens)

        def forward(self, X, state):  # noqa: ANN001, ANN202
            enc_outputs, hidden_state, enc_valid_lens = state
            X = self.embedding(X).permute(1, 0, 2)
            outputs, self._attention_weights = [], []
            for x in X:
                query = torch.unsqueeze(hidden_state[-1], dim=1)
                context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
                x = torch.cat((context, torch.unsqueeze(x, dim=1)), dim=-1)
                out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
                outputs.append(out)
                self._attention_weights.append(self.attention.attention_weights)
            outputs = self.dense(torch.cat(outputs, dim=0))
            return outputs.permute(1, 0, 2), [enc_outputs, hidden_state, enc_valid_lens]

        @property
        def attention_weights(self):  # noqa: ANN202
            return self._attention_weights

    class Seq2Seq(EncoderDecoder):
        def __init__(self, encoder, decoder, tgt_pad, lr):  # noqa: ANN001
            super().__init__(encoder, decoder)
            self.tgt_pad, self.lr = tgt_pad, lr

        def loss(self, Y_hat, Y):  # noqa: ANN001, ANN202
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            l = F.cross_entropy(Y_hat, Y.reshape((-1,)), reduction="none")  # noqa: E741
            mask = (Y.reshape(-1) != self.tgt_pad).type(torch.float32)
            return (l * mask).sum() / mask.sum()

        def configure_optimizers(self):  # noqa: ANN202
            return torch.optim.Adam(self.parameters(), lr=self.lr)

    def build(attention: bool) -> Any:
        encoder = Seq2SeqEncoder(VOCAB, EMBED, HIDDENS, LAYERS, 0.0)
        decoder_cls = Seq2SeqAttentionDecoder if attention else Seq2SeqDecoder
        decoder = decoder_cls(VOCAB, EMBED, HIDDENS, LAYERS, 0.0)
        return Seq2Seq(encoder, decoder, tgt_pad=PAD, lr=0.02)

    return {"build": build, "masked_softmax": masked_softmax}


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(37)
    src = rng.integers(3, VOCAB, (N, STEPS_T))
    src_len = rng.integers(2, STEPS_T + 1, N)
    for i, n in enumerate(src_len):
        src[i, n - 1], src[i, n:] = EOS, PAD
    tgt = np.concatenate([np.full((N, 1), BOS), src[:, ::-1][:, : STEPS_T - 1]], axis=1)
    label = np.concatenate([tgt[:, 1:], np.full((N, 1), EOS)], axis=1)
    tgt_len = np.full(N, STEPS_T)
    return {"src": src, "tgt": tgt, "src_len": src_len, "label": label, "tgt_len": tgt_len}


def init_state(tmp_path: Any) -> dict:
    import torch

    torch.manual_seed(0)
    out, d = {}, _data()
    for attention in (False, True):
        model = _models(torch)["build"](attention)
        batch = [torch.tensor(d[k]) for k in ("src", "tgt", "src_len", "label")]
        model(*batch[:-1])  # materialise the lazy layers
        out[attention] = state_to_numpy(model)
    return out


def _bleu(pred_seq: list, label_seq: list, k: int) -> float:
    len_pred, len_label = len(pred_seq), len(label_seq)
    score = math.exp(min(0, 1 - len_label / len_pred))
    for n in range(1, min(k, len_pred) + 1):
        num_matches, label_subs = 0, collections.defaultdict(int)
        for i in range(len_label - n + 1):
            label_subs[" ".join(map(str, label_seq[i : i + n]))] += 1
        for i in range(len_pred - n + 1):
            if label_subs[" ".join(map(str, pred_seq[i : i + n]))] > 0:
                num_matches += 1
                label_subs[" ".join(map(str, pred_seq[i : i + n]))] -= 1
        score *= math.pow(num_matches / (len_pred - n + 1), math.pow(0.5, n))
    return score


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    m = _models(torch_like)
    d = _data()
    values: list[float] = []
    for attention in (False, True):
        model = m["build"](attention)
        model.load_state_dict({k: torch.tensor(v) for k, v in init[attention].items()})
        optim = model.configure_optimizers()
        src, tgt, src_len, label = (
            as_tensor(torch_like, d[k]) for k in ("src", "tgt", "src_len", "label")
        )
        for _ in range(STEPS):
            model.train()
            Y_hat = model(src, tgt, src_len)
            loss = model.loss(Y_hat, label)
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                grad_clip_val = 1
                params = [p for p in model.parameters() if p.requires_grad]
                norm = torch.sqrt(sum(torch.sum((p.grad**2)) for p in params))  # noqa: UP034
                if norm > grad_clip_val:
                    for param in params:
                        param.grad[:] *= grad_clip_val / norm
            optim.step()
            values += [loss.item(), norm.item()]
        model.eval()
        batch = (src, tgt, src_len, label)
        preds, attn = model.predict_step(batch, "cpu", STEPS_T, save_attention_weights=attention)
        values += preds.flatten().float().tolist()
        for p, lab in zip(preds.tolist(), d["label"].tolist()):
            p = p[: p.index(EOS)] if EOS in p else p
            values.append(_bleu(p or [PAD], [t for t in lab if t not in (PAD, EOS)] or [PAD], k=2))
        if attention:
            weights = torch.cat([step[0] for step in attn], 0)
            values += weights.reshape(-1).tolist()
    X = as_tensor(torch_like, np.random.default_rng(1).random((2, 2, 4)).astype(np.float32))
    values += m["masked_softmax"](X, torch.tensor([2, 3])).flatten().tolist()
    values += m["masked_softmax"](X, torch.tensor([[1, 3], [2, 4]])).flatten().tolist()
    return values
