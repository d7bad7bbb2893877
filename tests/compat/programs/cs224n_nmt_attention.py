"""Stanford CS224n assignment 4, neural machine translation with a bidirectional LSTM encoder,
an ``LSTMCell`` decoder and multiplicative attention (``nmt_model.py``, ``model_embeddings.py``,
``vocab.py``, ``utils.py``, ``run.py``), size-reduced.

The idioms: ``ModelEmbeddings``' ``nn.Embedding(len(vocab.src), embed_size,
padding_idx=src_pad_token_idx)``; ``VocabEntry.to_input_tensor``'s ``pad_sents`` and
``torch.t(torch.tensor(sents_t, dtype=torch.long, device=device))``; ``encode``'s 2022
``self.post_embed_cnn = nn.Conv1d(embed_size, embed_size, kernel_size=2, padding="same")``
applied as ``X.permute(1, 2, 0)`` / ``.permute(2, 0, 1)`` (an even kernel: "same" pads one
side more, and PyTorch warns once per process that it copies the input),
``pack_padded_sequence(X, source_lengths)`` into ``nn.LSTM(embed_size, hidden_size,
bidirectional=True)``, ``pad_packed_sequence(enc_hiddens)``,
``enc_hiddens.permute(1, 0, 2)`` and the decoder's initial state from ``self.h_projection(
torch.cat((last_hidden[0], last_hidden[1]), dim=1))``; ``generate_sent_masks``'
``enc_masks[e_id, src_len:] = 1``; ``decode``'s ``for Y_t in torch.split(Y, 1, dim=0)``,
``torch.squeeze(Y_t, dim=0)`` and ``torch.stack(combined_outputs, dim=0)``; ``step``'s
``nn.LSTMCell``, ``torch.bmm(enc_hiddens_proj, dec_hidden.unsqueeze(2)).squeeze(2)``, the mask
written through ``e_t.data.masked_fill_(enc_masks.bool(), -float('inf'))``, ``F.softmax``,
``torch.bmm(alpha_t.unsqueeze(1), enc_hiddens).squeeze(1)``, ``combined_output_projection``,
``self.dropout(torch.tanh(V_t))``; ``forward``'s ``F.log_softmax``, ``(target_padded !=
self.vocab.tgt['<pad>']).float()`` and ``torch.gather(P, index=target_padded[1:].unsqueeze(-1),
dim=-1).squeeze(-1) * target_masks[1:]``; ``beam_search``'s ``src_encodings.expand(hyp_num,
...)``, ``torch.zeros(len(hypotheses), dtype=torch.float)`` scores (float32 in a float64 model),
``hyp_scores.unsqueeze(1).expand_as(log_p_t) + log_p_t``, ``torch.topk(..., k=live_hyp_num)``,
``torch.div(top_cand_hyp_pos, len(self.vocab.tgt), rounding_mode='floor')``, ``%``, the
``Hypothesis`` namedtuple and ``h_t[live_hyp_ids]``; ``NMT.save`` / ``NMT.load`` through
``torch.save(params, path)`` of a dict holding the vocabulary object and
``torch.load(model_path, map_location=lambda storage, loc: storage, weights_only=False)`` (the
``weights_only=False`` PyTorch 2.6+ needs for the pickled vocabulary); ``run.py``'s
``p.data.uniform_(-uniform_init, uniform_init)``, ``batch_iter`` (sorted by source length,
longest first), ``example_losses = -model(src_sents, tgt_sents)``,
``torch.nn.utils.clip_grad_norm_``, ``evaluate_ppl``'s ``np.exp(cum_loss / cum_tgt_words)``
under ``torch.no_grad()``, and the patience decay that reloads the model and
``optimizer.load_state_dict(torch.load(model_save_path + '.optim'))`` and sets
``param_group['lr'] = lr``.

Changed: the Cherokee-English corpus and its sentencepiece vocabulary are toy sentences with
a word-for-word reversed "translation"; embed 256 / hidden 256 -> 6 / 8; dropout 0.3 -> 0 in
training (random masks cannot agree between two frameworks); the uniform init draws are NumPy's
(the weights the torch model had, loaded into both); shuffling is a seeded NumPy permutation.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

EMBED, HIDDEN = 6, 8
SRC_WORDS = [f"s{i}" for i in range(8)]
TGT_WORDS = [f"t{i}" for i in range(8)]
Hypothesis = namedtuple("Hypothesis", ["value", "score"])


def pad_sents(sents: list, pad_token: int) -> list:
    max_len = max(len(s) for s in sents)
    return [s + [pad_token] * (max_len - len(s)) for s in sents]


class VocabEntry:
    def __init__(self, words: list[str]) -> None:
        self.word2id = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
        for w in words:
            self.word2id[w] = len(self.word2id)
        self.id2word = {v: k for k, v in self.word2id.items()}

    def __getitem__(self, word: str) -> int:
        return self.word2id.get(word, self.word2id["<unk>"])

    def __len__(self) -> int:
        return len(self.word2id)

    def words2indices(self, sents: list) -> list:
        return [[self[w] for w in s] for s in sents]

    def to_input_tensor(self, sents: list, device: Any, torch: Any) -> Any:
        word_ids = self.words2indices(sents)
        sents_t = pad_sents(word_ids, self["<pad>"])
        sents_var = torch.tensor(sents_t, dtype=torch.long, device=device)
        return torch.t(sents_var)


class Vocab:
    def __init__(self) -> None:
        self.src = VocabEntry(SRC_WORDS)
        self.tgt = VocabEntry(TGT_WORDS)


def _nmt_class(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    pack_padded_sequence = torch_like.nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = torch_like.nn.utils.rnn.pad_packed_sequence

    class ModelEmbeddings(nn.Module):
        def __init__(self, embed_size, vocab):
            super(ModelEmbeddings, self).__init__()  # noqa: UP008
            self.embed_size = embed_size
            src_pad_token_idx = vocab.src["<pad>"]
            tgt_pad_token_idx = vocab.tgt["<pad>"]
            self.source = nn.Embedding(len(vocab.src), embed_size, padding_idx=src_pad_token_idx)
            self.target = nn.Embedding(len(vocab.tgt), embed_size, padding_idx=tgt_pad_token_idx)

    class NMT(nn.Module):
        def __init__(self, embed_size, hidden_size, vocab, dropout_rate=0.2):
            super(NMT, self).__init__()  # noqa: UP008
            self.model_embeddings = ModelEmbeddings(embed_size, vocab)
            self.hidden_size = hidden_size
            self.dropout_rate = dropout_rate
            self.vocab = vocab
            self.post_embed_cnn = nn.Conv1d(embed_size, embed_size, kernel_size=2, padding="same")
            self.encoder = nn.LSTM(embed_size, hidden_size, bidirectional=True)
            self.decoder = nn.LSTMCell(embed_size + hidden_size, hidden_size)
            self.h_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
            self.c_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
            self.att_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
            self.combined_output_projection = nn.Linear(3 * hidden_size, hidden_size, bias=False)
            self.target_vocab_projection = nn.Linear(hidden_size, len(vocab.tgt), bias=False)
            self.dropout = nn.Dropout(p=dropout_rate)

        def forward(self, source, target):
            source_lengths = [len(s) for s in source]
            source_padded = self.vocab.src.to_input_tensor(source, device=self.device, torch=torch)
            target_padded = self.vocab.tgt.to_input_tensor(target, device=self.device, torch=torch)
            enc_hiddens, dec_init_state = self.encode(source_padded, source_lengths)
            enc_masks = self.generate_sent_masks(enc_hiddens, source_lengths)
            combined_outputs = self.decode(enc_hiddens, enc_masks, dec_init_state, target_padded)
            P = F.log_softmax(self.target_vocab_projection(combined_outputs), dim=-1)
            target_masks = (target_padded != self.vocab.tgt["<pad>"]).float()
            target_gold_words_log_prob = (
                torch.gather(P, index=target_padded[1:].unsqueeze(-1), dim=-1).squeeze(-1)
                * target_masks[1:]
            )
            scores = target_gold_words_log_prob.sum(dim=0)
            return scores

        def encode(self, source_padded, source_lengths):
            X = self.model_embeddings.source(source_padded)
            X = self.post_embed_cnn(X.permute(1, 2, 0)).permute(2, 0, 1)
            X = pack_padded_sequence(X, source_lengths)
            enc_hiddens, (last_hidden, last_cell) = self.encoder(X)
            enc_hiddens, _ = pad_packed_sequence(enc_hiddens)
            enc_hiddens = enc_hiddens.permute(1, 0, 2)
            init_decoder_hidden = self.h_projection(
                torch.cat((last_hidden[0], last_hidden[1]), dim=1)
            )
            init_decoder_cell = self.c_projection(torch.cat((last_cell[0], last_cell[1]), dim=1))
            dec_init_state = (init_decoder_hidden, init_decoder_cell)
            return enc_hiddens, dec_init_state

        def decode(self, enc_hiddens, enc_masks, dec_init_state, target_padded):
            target_padded = target_padded[:-1]
            dec_state = dec_init_state
            batch_size = enc_hiddens.size(0)
            o_prev = torch.zeros(batch_size, self.hidden_size, device=self.device)
            combined_outputs = []
            enc_hiddens_proj = self.att_projection(enc_hiddens)
            Y = self.model_embeddings.target(target_padded)
            for Y_t in torch.split(Y, 1, dim=0):
                Y_t = torch.squeeze(Y_t, dim=0)
                Ybar_t = torch.cat((Y_t, o_prev), dim=1)
                dec_state, o_t, e_t = self.step(
                    Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj, enc_masks
                )
                combined_outputs.append(o_t)
                o_prev = o_t
            combined_outputs = torch.stack(combined_outputs, dim=0)
            return combined_outputs

        def step(self, Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj, enc_masks):
            combined_output = None
            dec_state = self.decoder(Ybar_t, dec_state)
            dec_hidden, dec_cell = dec_state
            e_t = torch.bmm(enc_hiddens_proj, dec_hidden.unsqueeze(2)).squeeze(2)
            if enc_masks is not None:
                e_t.data.masked_fill_(enc_masks.bool(), -float("inf"))
            alpha_t = F.softmax(e_t, dim=1)
            a_t = torch.bmm(alpha_t.unsqueeze(1), enc_hiddens).squeeze(1)
            U_t = torch.cat((a_t, dec_hidden), dim=1)
            V_t = self.combined_output_projection(U_t)
            O_t = self.dropout(torch.tanh(V_t))
            combined_output = O_t
            return dec_state, combined_output, e_t

        def generate_sent_masks(self, enc_hiddens, source_lengths):
            enc_masks = torch.zeros(enc_hiddens.size(0), enc_hiddens.size(1), dtype=torch.float)
            for e_id, src_len in enumerate(source_lengths):
                enc_masks[e_id, src_len:] = 1
            return enc_masks.to(self.device)

        def beam_search(self, src_sent, beam_size=5, max_decoding_time_step=70):
            src_sents_var = self.vocab.src.to_input_tensor([src_sent], self.device, torch=torch)
            src_encodings, dec_init_vec = self.encode(src_sents_var, [len(src_sent)])
            src_encodings_att_linear = self.att_projection(src_encodings)
            h_tm1 = dec_init_vec
            att_tm1 = torch.zeros(1, self.hidden_size, device=self.device)
            hypotheses = [["<s>"]]
            hyp_scores = torch.zeros(len(hypotheses), dtype=torch.float, device=self.device)
            completed_hypotheses = []
            t = 0
            while len(completed_hypotheses) < beam_size and t < max_decoding_time_step:
                t += 1
                hyp_num = len(hypotheses)
                exp_src_encodings = src_encodings.expand(
                    hyp_num, src_encodings.size(1), src_encodings.size(2)
                )
                exp_src_encodings_att_linear = src_encodings_att_linear.expand(
                    hyp_num, src_encodings_att_linear.size(1), src_encodings_att_linear.size(2)
                )
                y_tm1 = torch.tensor(
                    [self.vocab.tgt[hyp[-1]] for hyp in hypotheses],
                    dtype=torch.long,
                    device=self.device,
                )
                y_t_embed = self.model_embeddings.target(y_tm1)
                x = torch.cat([y_t_embed, att_tm1], dim=-1)
                (h_t, cell_t), att_t, _ = self.step(
                    x, h_tm1, exp_src_encodings, exp_src_encodings_att_linear, enc_masks=None
                )
                log_p_t = F.log_softmax(self.target_vocab_projection(att_t), dim=-1)
                live_hyp_num = beam_size - len(completed_hypotheses)
                contiuating_hyp_scores = (
                    hyp_scores.unsqueeze(1).expand_as(log_p_t) + log_p_t
                ).view(-1)
                top_cand_hyp_scores, top_cand_hyp_pos = torch.topk(
                    contiuating_hyp_scores, k=live_hyp_num
                )
                prev_hyp_ids = torch.div(
                    top_cand_hyp_pos, len(self.vocab.tgt), rounding_mode="floor"
                )
                hyp_word_ids = top_cand_hyp_pos % len(self.vocab.tgt)
                new_hypotheses = []
                live_hyp_ids = []
                new_hyp_scores = []
                for prev_hyp_id, hyp_word_id, cand_new_hyp_score in zip(
                    prev_hyp_ids, hyp_word_ids, top_cand_hyp_scores, strict=True
                ):
                    prev_hyp_id = prev_hyp_id.item()
                    hyp_word_id = hyp_word_id.item()
                    cand_new_hyp_score = cand_new_hyp_score.item()
                    hyp_word = self.vocab.tgt.id2word[hyp_word_id]
                    new_hyp_sent = hypotheses[prev_hyp_id] + [hyp_word]
                    if hyp_word == "</s>":
                        completed_hypotheses.append(
                            Hypothesis(value=new_hyp_sent[1:-1], score=cand_new_hyp_score)
                        )
                    else:
                        new_hypotheses.append(new_hyp_sent)
                        live_hyp_ids.append(prev_hyp_id)
                        new_hyp_scores.append(cand_new_hyp_score)
                if len(completed_hypotheses) == beam_size:
                    break
                live_hyp_ids = torch.tensor(live_hyp_ids, dtype=torch.long, device=self.device)
                h_tm1 = (h_t[live_hyp_ids], cell_t[live_hyp_ids])
                att_tm1 = att_t[live_hyp_ids]
                hypotheses = new_hypotheses
                hyp_scores = torch.tensor(new_hyp_scores, dtype=torch.float, device=self.device)
            if len(completed_hypotheses) == 0:
                completed_hypotheses.append(
                    Hypothesis(value=hypotheses[0][1:], score=hyp_scores[0].item())
                )
            completed_hypotheses.sort(key=lambda hyp: hyp.score, reverse=True)
            return completed_hypotheses

        @property
        def device(self):
            return self.model_embeddings.source.weight.device

        @staticmethod
        def load(model_path: str):
            params = torch.load(
                model_path, map_location=lambda storage, loc: storage, weights_only=False
            )
            args = params["args"]
            model = NMT(vocab=params["vocab"], **args)
            model.load_state_dict(params["state_dict"])
            return model

        def save(self, path: str):
            params = {
                "args": dict(
                    embed_size=self.model_embeddings.embed_size,
                    hidden_size=self.hidden_size,
                    dropout_rate=self.dropout_rate,
                ),
                "vocab": self.vocab,
                "state_dict": self.state_dict(),
            }
            torch.save(params, path)

    return NMT


def make_model(torch_like: Any) -> Any:
    model = _nmt_class(torch_like)(
        embed_size=EMBED, hidden_size=HIDDEN, vocab=Vocab(), dropout_rate=0.0
    )
    uniform_init = 0.1
    if np.abs(uniform_init) > 0.0:
        for p in model.parameters():
            p.data.uniform_(-uniform_init, uniform_init)
    return model


def _corpus(rng: np.random.Generator, n: int) -> list[tuple[list[str], list[str]]]:
    data = []
    for _ in range(n):
        length = int(rng.integers(2, 6))
        ids = rng.integers(0, len(SRC_WORDS), length)
        src = [SRC_WORDS[i] for i in ids]
        tgt = ["<s>"] + [TGT_WORDS[(i + 1) % len(TGT_WORDS)] for i in ids[::-1]] + ["</s>"]
        data.append((src, tgt))
    return data


def init_state(tmp_path: Any) -> dict[str, Any]:
    import torch

    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        weights = {k: v.detach().numpy().copy() for k, v in make_model(torch).state_dict().items()}
    finally:
        torch.set_default_dtype(prev)
    rng = np.random.default_rng(4)
    return {
        "dir": str(tmp_path),
        "weights": weights,
        "train": _corpus(rng, 12),
        "dev": _corpus(rng, 4),
        "seed": 5,
    }


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:
    # the even-kernel ``padding="same"`` convolution warns once per process in both frameworks
    # (PyTorch's ``TORCH_WARN_ONCE``); the run ignores it as the notebook shows it
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
        return _run(torch_like, init)


def _run(torch_like: Any, init: dict[str, Any]) -> list[float]:
    torch = torch_like
    NMT = _nmt_class(torch_like)
    model = NMT(embed_size=EMBED, hidden_size=HIDDEN, vocab=Vocab(), dropout_rate=0.0)
    load_numpy_state(torch_like, model, init["weights"])
    model.train()
    values: list[float] = []
    rng = np.random.default_rng(init["seed"])

    def batch_iter(data, batch_size, shuffle=False):
        batch_num = math.ceil(len(data) / batch_size)
        index_array = list(range(len(data)))
        if shuffle:
            index_array = [int(i) for i in rng.permutation(len(data))]
        for i in range(batch_num):
            indices = index_array[i * batch_size : (i + 1) * batch_size]
            examples = [data[idx] for idx in indices]
            examples = sorted(examples, key=lambda e: len(e[0]), reverse=True)
            src_sents = [e[0] for e in examples]
            tgt_sents = [e[1] for e in examples]
            yield src_sents, tgt_sents

    def evaluate_ppl(model, dev_data, batch_size=32):
        was_training = model.training
        model.eval()
        cum_loss = 0.0
        cum_tgt_words = 0.0
        with torch.no_grad():
            for src_sents, tgt_sents in batch_iter(dev_data, batch_size):
                loss = -model(src_sents, tgt_sents).sum()
                cum_loss += loss.item()
                tgt_word_num_to_predict = sum(len(s[1:]) for s in tgt_sents)
                cum_tgt_words += tgt_word_num_to_predict
            ppl = np.exp(cum_loss / cum_tgt_words)
        if was_training:
            model.train()
        return ppl

    vocab_mask = torch.ones(len(model.vocab.tgt))
    vocab_mask[model.vocab.tgt["<pad>"]] = 0
    values.append(vocab_mask.sum().item())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    clip_grad, lr_decay = 1.0, 0.5
    model_save_path = str(Path(init["dir"]) / "model.bin")
    hist_valid_scores: list[float] = []
    patience = 0
    for epoch in range(4):
        report_loss = report_tgt_words = 0.0
        for src_sents, tgt_sents in batch_iter(init["train"], batch_size=4, shuffle=True):
            optimizer.zero_grad()
            batch_size = len(src_sents)
            example_losses = -model(src_sents, tgt_sents)  # (batch_size,)
            batch_loss = example_losses.sum()
            loss = batch_loss / batch_size
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
            batch_losses_val = batch_loss.item()
            report_loss += batch_losses_val
            report_tgt_words += sum(len(s[1:]) for s in tgt_sents)
            values += [batch_losses_val, grad_norm.item()]
        values.append(math.exp(report_loss / report_tgt_words))
        dev_ppl = evaluate_ppl(model, init["dev"], batch_size=2)
        valid_metric = -dev_ppl
        values.append(dev_ppl)
        is_better = len(hist_valid_scores) == 0 or valid_metric > max(hist_valid_scores)
        hist_valid_scores.append(valid_metric)
        if is_better or epoch == 0:
            patience = 0
            model.save(model_save_path)
            torch.save(optimizer.state_dict(), model_save_path + ".optim")
        else:
            patience += 1
        if patience >= 1 or epoch == 2:
            lr = optimizer.param_groups[0]["lr"] * lr_decay
            params = torch.load(
                model_save_path, map_location=lambda storage, loc: storage, weights_only=False
            )
            model.load_state_dict(params["state_dict"])
            optimizer.load_state_dict(torch.load(model_save_path + ".optim"))
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr
            values.append(lr)
            patience = 0

    # decode: NMT.load, then beam search over the dev sources
    model = NMT.load(model_save_path)
    model.eval()
    with torch.no_grad():
        for src, _tgt in init["dev"]:
            hyps = model.beam_search(src, beam_size=3, max_decoding_time_step=8)
            values += [len(hyps), hyps[0].score, len(hyps[0].value)]
    values.append(float(model.vocab.tgt.id2word[4] == "t0"))
    return values
