"""The pointer-generator network with coverage (See, Liu & Manning 2017) as atulkum/
pointer_summarizer writes it in PyTorch (``training_ptr_gen/model.py``, ``train.py``,
``train_util.py``), size-reduced.

The idioms: the weight initialisers (``init_lstm_wt`` walking ``lstm._all_weights``,
``wt.data.uniform_(-mag, mag)``, the forget-gate slice ``bias.data[start:end].fill_(1.)``;
``init_linear_wt`` / ``init_wt_normal`` with ``.data.normal_(std=...)``); the ``Encoder``
(``nn.Embedding``, a bidirectional ``nn.LSTM(batch_first=True)`` over
``pack_padded_sequence(embedded, seq_lens, batch_first=True)`` and ``pad_packed_sequence``,
``encoder_outputs.contiguous()``, ``encoder_feature = self.W_h(encoder_outputs.view(-1, 2 *
hidden_dim))``); ``ReduceState`` (``h.transpose(0, 1).contiguous().view(-1, hidden_dim * 2)``,
``F.relu``, ``unsqueeze(0)``); the Bahdanau ``Attention`` with coverage (``decode_proj``,
``dec_fea.unsqueeze(1).expand(b, t_k, n).contiguous().view(-1, n)``, ``self.W_c(
coverage.view(-1, 1))``, ``F.tanh``, ``self.v(e).view(-1, t_k)``, ``F.softmax(scores, dim=1) *
enc_padding_mask`` renormalised by ``attn_dist_.sum(1, keepdim=True)``, ``torch.bmm(
attn_dist.unsqueeze(1), encoder_outputs)``, ``coverage = coverage + attn_dist``); the
``Decoder`` (``x_context`` over ``torch.cat((c_t_1, y_t_1_embd), 1)``, an ``nn.LSTM`` stepped on
``x.unsqueeze(1)``, ``s_t_hat``, the eval-mode ``step == 0`` coverage branch, ``p_gen =
F.sigmoid(self.p_gen_linear(torch.cat((c_t, s_t_hat, x), 1)))``, ``out1`` / ``out2``, the
extended vocabulary ``torch.cat([vocab_dist_, extra_zeros], 1).scatter_add(1,
enc_batch_extend_vocab, attn_dist_)``); ``Model``'s shared embedding (``decoder.embedding.weight
= encoder.embedding.weight``, so the optimizer's parameter list holds it twice and PyTorch warns
about it); ``train_util.get_input_from_batch`` / ``get_output_from_batch`` (``extra_zeros =
torch.zeros((batch_size, max_art_oovs))``, ``c_t_1 = torch.zeros((batch_size, 2 *
hidden_dim))``, ``coverage = torch.zeros(enc_batch.size())``); ``train_one_batch`` (``gold_probs
= torch.gather(final_dist, 1, target.unsqueeze(1)).squeeze()``, ``-torch.log(gold_probs +
config.eps)``, ``step_coverage_loss = torch.sum(torch.min(attn_dist, coverage), 1)`` (at padded
positions both are 0: a tie, whose gradient PyTorch splits), ``step_loss * step_mask``,
``torch.sum(torch.stack(step_losses, 1), 1) / dec_lens_var``, ``torch.mean``, a
``clip_grad_norm_`` per module, ``Adagrad(params, lr, initial_accumulator_value=...)``); and a
greedy decode under ``torch.no_grad()`` with OOV ids mapped back to ``UNK`` by
``masked_fill``.

Changed: the CNN/DailyMail batcher is three fixed articles (lengths 6, 5, 3, sorted as the
batcher sorts them) over a 12-word vocabulary with two in-article OOVs; emb 128 -> 5, hidden
256 -> 4; 4 training iterations, 4 decoder steps; float64 (see ``RTOL``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run", "check"]

# float64: the attention's gradients are tiny differences (its weights start at std 1e-4 and
# the masked softmax is renormalised), so float32 rounding alone moves them by tens of percent
RTOL = 1e-7

VOCAB_SIZE, EMB_DIM, HIDDEN_DIM, MAX_DEC_STEPS, ITERS = 12, 5, 4, 4, 4
LR, ADAGRAD_INIT_ACC, MAX_GRAD_NORM, COV_LOSS_WT, EPS = 0.15, 0.1, 2.0, 1.0, 1e-12
RAND_UNIF_INIT_MAG, TRUNC_NORM_INIT_STD = 0.02, 1e-4
PAD, UNK, START, STOP = 0, 1, 2, 3

# articles in the extended vocabulary (ids >= VOCAB_SIZE are the article's OOVs)
ARTICLES = [[4, 12, 5, 6, 13, 7], [8, 9, 12, 10, 11], [5, 4, 12]]
ABSTRACTS = [[12, 5, 13], [9, 12], [4, 5, 12]]


def _classes(torch_like: Any) -> tuple[type, type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    pack_padded_sequence = torch_like.nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = torch_like.nn.utils.rnn.pad_packed_sequence

    def init_lstm_wt(lstm: Any) -> None:
        for names in lstm._all_weights:
            for name in names:
                if name.startswith("weight_"):
                    wt = getattr(lstm, name)
                    wt.data.uniform_(-RAND_UNIF_INIT_MAG, RAND_UNIF_INIT_MAG)
                elif name.startswith("bias_"):
                    # set forget bias to 1
                    bias = getattr(lstm, name)
                    n = bias.size(0)
                    start, end = n // 4, n // 2
                    bias.data.fill_(0.0)
                    bias.data[start:end].fill_(1.0)

    def init_linear_wt(linear: Any) -> None:
        linear.weight.data.normal_(std=TRUNC_NORM_INIT_STD)
        if linear.bias is not None:
            linear.bias.data.normal_(std=TRUNC_NORM_INIT_STD)

    def init_wt_normal(wt: Any) -> None:
        wt.data.normal_(std=TRUNC_NORM_INIT_STD)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(VOCAB_SIZE, EMB_DIM)
            init_wt_normal(self.embedding.weight)

            self.lstm = nn.LSTM(
                EMB_DIM, HIDDEN_DIM, num_layers=1, batch_first=True, bidirectional=True
            )
            init_lstm_wt(self.lstm)

            self.W_h = nn.Linear(HIDDEN_DIM * 2, HIDDEN_DIM * 2, bias=False)

        # seq_lens should be in descending order
        def forward(self, input: Any, seq_lens: Any) -> tuple[Any, Any, Any]:
            embedded = self.embedding(input)

            packed = pack_padded_sequence(embedded, seq_lens, batch_first=True)
            output, hidden = self.lstm(packed)

            encoder_outputs, _ = pad_packed_sequence(output, batch_first=True)  # B x t_k x n
            encoder_outputs = encoder_outputs.contiguous()

            encoder_feature = encoder_outputs.view(-1, 2 * HIDDEN_DIM)  # B * t_k x 2*hidden_dim
            encoder_feature = self.W_h(encoder_feature)

            return encoder_outputs, encoder_feature, hidden

    class ReduceState(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.reduce_h = nn.Linear(HIDDEN_DIM * 2, HIDDEN_DIM)
            init_linear_wt(self.reduce_h)
            self.reduce_c = nn.Linear(HIDDEN_DIM * 2, HIDDEN_DIM)
            init_linear_wt(self.reduce_c)

        def forward(self, hidden: tuple[Any, Any]) -> tuple[Any, Any]:
            h, c = hidden  # h, c dim = 2 x b x hidden_dim
            h_in = h.transpose(0, 1).contiguous().view(-1, HIDDEN_DIM * 2)
            hidden_reduced_h = F.relu(self.reduce_h(h_in))
            c_in = c.transpose(0, 1).contiguous().view(-1, HIDDEN_DIM * 2)
            hidden_reduced_c = F.relu(self.reduce_c(c_in))

            # h, c dim = 1 x b x hidden_dim
            return (hidden_reduced_h.unsqueeze(0), hidden_reduced_c.unsqueeze(0))

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # attention
            self.W_c = nn.Linear(1, HIDDEN_DIM * 2, bias=False)
            self.decode_proj = nn.Linear(HIDDEN_DIM * 2, HIDDEN_DIM * 2)
            self.v = nn.Linear(HIDDEN_DIM * 2, 1, bias=False)

        def forward(
            self,
            s_t_hat: Any,
            encoder_outputs: Any,
            encoder_feature: Any,
            enc_padding_mask: Any,
            coverage: Any,
        ) -> tuple[Any, Any, Any]:
            b, t_k, n = list(encoder_outputs.size())

            dec_fea = self.decode_proj(s_t_hat)  # B x 2*hidden_dim
            dec_fea_expanded = dec_fea.unsqueeze(1).expand(b, t_k, n).contiguous()
            dec_fea_expanded = dec_fea_expanded.view(-1, n)  # B * t_k x 2*hidden_dim

            att_features = encoder_feature + dec_fea_expanded  # B * t_k x 2*hidden_dim
            coverage_input = coverage.view(-1, 1)  # B * t_k x 1
            coverage_feature = self.W_c(coverage_input)  # B * t_k x 2*hidden_dim
            att_features = att_features + coverage_feature

            e = F.tanh(att_features)  # B * t_k x 2*hidden_dim
            scores = self.v(e)  # B * t_k x 1
            scores = scores.view(-1, t_k)  # B x t_k

            attn_dist_ = F.softmax(scores, dim=1) * enc_padding_mask  # B x t_k
            normalization_factor = attn_dist_.sum(1, keepdim=True)
            attn_dist = attn_dist_ / normalization_factor

            attn_dist = attn_dist.unsqueeze(1)  # B x 1 x t_k
            c_t = torch.bmm(attn_dist, encoder_outputs)  # B x 1 x n
            c_t = c_t.view(-1, HIDDEN_DIM * 2)  # B x 2*hidden_dim

            attn_dist = attn_dist.view(-1, t_k)  # B x t_k

            coverage = coverage.view(-1, t_k)
            coverage = coverage + attn_dist

            return c_t, attn_dist, coverage

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention_network = Attention()
            # decoder
            self.embedding = nn.Embedding(VOCAB_SIZE, EMB_DIM)
            init_wt_normal(self.embedding.weight)

            self.x_context = nn.Linear(HIDDEN_DIM * 2 + EMB_DIM, EMB_DIM)

            self.lstm = nn.LSTM(
                EMB_DIM, HIDDEN_DIM, num_layers=1, batch_first=True, bidirectional=False
            )
            init_lstm_wt(self.lstm)

            self.p_gen_linear = nn.Linear(HIDDEN_DIM * 4 + EMB_DIM, 1)

            # p_vocab
            self.out1 = nn.Linear(HIDDEN_DIM * 3, HIDDEN_DIM)
            self.out2 = nn.Linear(HIDDEN_DIM, VOCAB_SIZE)
            init_linear_wt(self.out2)

        def forward(
            self,
            y_t_1: Any,
            s_t_1: tuple[Any, Any],
            encoder_outputs: Any,
            encoder_feature: Any,
            enc_padding_mask: Any,
            c_t_1: Any,
            extra_zeros: Any,
            enc_batch_extend_vocab: Any,
            coverage: Any,
            step: int,
        ) -> tuple[Any, ...]:
            if not self.training and step == 0:
                h_decoder, c_decoder = s_t_1
                s_t_hat = torch.cat(
                    (h_decoder.view(-1, HIDDEN_DIM), c_decoder.view(-1, HIDDEN_DIM)), 1
                )  # B x 2*hidden_dim
                c_t, _, coverage_next = self.attention_network(
                    s_t_hat, encoder_outputs, encoder_feature, enc_padding_mask, coverage
                )
                coverage = coverage_next

            y_t_1_embd = self.embedding(y_t_1)
            x = self.x_context(torch.cat((c_t_1, y_t_1_embd), 1))
            lstm_out, s_t = self.lstm(x.unsqueeze(1), s_t_1)

            h_decoder, c_decoder = s_t
            s_t_hat = torch.cat(
                (h_decoder.view(-1, HIDDEN_DIM), c_decoder.view(-1, HIDDEN_DIM)), 1
            )  # B x 2*hidden_dim
            c_t, attn_dist, coverage_next = self.attention_network(
                s_t_hat, encoder_outputs, encoder_feature, enc_padding_mask, coverage
            )

            if self.training or step > 0:
                coverage = coverage_next

            p_gen_input = torch.cat((c_t, s_t_hat, x), 1)  # B x (2*2*hidden_dim + emb_dim)
            p_gen = self.p_gen_linear(p_gen_input)
            p_gen = F.sigmoid(p_gen)

            output = torch.cat((lstm_out.view(-1, HIDDEN_DIM), c_t), 1)  # B x hidden_dim * 3
            output = self.out1(output)  # B x hidden_dim

            output = self.out2(output)  # B x vocab_size
            vocab_dist = F.softmax(output, dim=1)

            vocab_dist_ = p_gen * vocab_dist
            attn_dist_ = (1 - p_gen) * attn_dist

            if extra_zeros is not None:
                vocab_dist_ = torch.cat([vocab_dist_, extra_zeros], 1)

            final_dist = vocab_dist_.scatter_add(1, enc_batch_extend_vocab, attn_dist_)

            return final_dist, s_t, c_t, attn_dist, p_gen, coverage

    return Encoder, Decoder, ReduceState


def make_model(torch_like: Any) -> Any:
    Encoder, Decoder, ReduceState = _classes(torch_like)
    encoder, decoder, reduce_state = Encoder(), Decoder(), ReduceState()
    # shared the embedding between encoder and decoder
    decoder.embedding.weight = encoder.embedding.weight
    return torch_like.nn.ModuleDict(
        {"encoder": encoder, "decoder": decoder, "reduce_state": reduce_state}
    )


def _batch() -> dict[str, np.ndarray]:
    """The batcher's arrays: inputs with OOVs as UNK, extended ids, masks, decoder in/out."""
    batch_size = len(ARTICLES)
    enc_lens = np.array([len(a) for a in ARTICLES])
    max_enc = int(enc_lens.max())
    enc_batch_extend_vocab = np.zeros((batch_size, max_enc), dtype=np.int64)
    enc_padding_mask = np.zeros((batch_size, max_enc), dtype=np.float32)
    for i, art in enumerate(ARTICLES):
        enc_batch_extend_vocab[i, : len(art)] = art
        enc_padding_mask[i, : len(art)] = 1.0
    enc_batch = np.where(enc_batch_extend_vocab >= VOCAB_SIZE, UNK, enc_batch_extend_vocab)
    max_dec = min(max(len(a) for a in ABSTRACTS) + 1, MAX_DEC_STEPS)
    dec_batch = np.zeros((batch_size, max_dec), dtype=np.int64)
    target_batch = np.zeros((batch_size, max_dec), dtype=np.int64)
    dec_padding_mask = np.zeros((batch_size, max_dec), dtype=np.float32)
    dec_lens = np.zeros(batch_size, dtype=np.float32)
    for i, abstract in enumerate(ABSTRACTS):
        inp = ([START] + [UNK if t >= VOCAB_SIZE else t for t in abstract])[:max_dec]
        tgt = (abstract + [STOP])[:max_dec]
        dec_batch[i, : len(inp)] = inp
        target_batch[i, : len(tgt)] = tgt
        dec_padding_mask[i, : len(tgt)] = 1.0
        dec_lens[i] = len(tgt)
    return dict(
        enc_batch=enc_batch,
        enc_lens=enc_lens,
        enc_batch_extend_vocab=enc_batch_extend_vocab,
        enc_padding_mask=enc_padding_mask,
        max_art_oovs=np.array(2),
        dec_batch=dec_batch,
        target_batch=target_batch,
        dec_padding_mask=dec_padding_mask,
        dec_lens=dec_lens,
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    clip_grad_norm_ = torch_like.nn.utils.clip_grad_norm_
    Adagrad = torch_like.optim.Adagrad
    values: list[float] = []

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    encoder, decoder, reduce_state = model["encoder"], model["decoder"], model["reduce_state"]
    values.append(float(decoder.embedding.weight is encoder.embedding.weight))

    params = (
        list(encoder.parameters()) + list(decoder.parameters()) + list(reduce_state.parameters())
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer = Adagrad(params, lr=LR, initial_accumulator_value=ADAGRAD_INIT_ACC)
    values.append(float(any("duplicate parameters" in str(w.message) for w in caught)))

    b = _batch()
    batch_size = len(ARTICLES)

    def get_input_from_batch() -> tuple[Any, ...]:
        enc_batch = torch.from_numpy(b["enc_batch"]).long()
        enc_padding_mask = torch.from_numpy(b["enc_padding_mask"]).float()
        enc_lens = b["enc_lens"]
        enc_batch_extend_vocab = torch.from_numpy(b["enc_batch_extend_vocab"]).long()
        # max_art_oovs is the max over all the article oov list in the batch
        extra_zeros = torch.zeros((batch_size, int(b["max_art_oovs"])))
        c_t_1 = torch.zeros((batch_size, 2 * HIDDEN_DIM))
        coverage = torch.zeros(enc_batch.size())
        return (
            enc_batch,
            enc_padding_mask,
            enc_lens,
            enc_batch_extend_vocab,
            extra_zeros,
            c_t_1,
            coverage,
        )

    def get_output_from_batch() -> tuple[Any, ...]:
        dec_batch = torch.from_numpy(b["dec_batch"]).long()
        dec_padding_mask = torch.from_numpy(b["dec_padding_mask"]).float()
        dec_lens = b["dec_lens"]
        max_dec_len = np.max(dec_lens)
        dec_lens_var = torch.from_numpy(dec_lens).float()
        target_batch = torch.from_numpy(b["target_batch"]).long()
        return dec_batch, dec_padding_mask, max_dec_len, dec_lens_var, target_batch

    def train_one_batch() -> float:
        enc_batch, enc_padding_mask, enc_lens, enc_batch_extend_vocab, extra_zeros, c_t_1, cov = (
            get_input_from_batch()
        )
        dec_batch, dec_padding_mask, max_dec_len, dec_lens_var, target_batch = (
            get_output_from_batch()
        )
        coverage = cov

        optimizer.zero_grad()

        encoder_outputs, encoder_feature, encoder_hidden = encoder(enc_batch, enc_lens)
        s_t_1 = reduce_state(encoder_hidden)

        step_losses = []
        for di in range(min(int(max_dec_len), MAX_DEC_STEPS)):
            y_t_1 = dec_batch[:, di]  # Teacher forcing
            final_dist, s_t_1, c_t_1, attn_dist, p_gen, next_coverage = decoder(
                y_t_1,
                s_t_1,
                encoder_outputs,
                encoder_feature,
                enc_padding_mask,
                c_t_1,
                extra_zeros,
                enc_batch_extend_vocab,
                coverage,
                di,
            )
            target = target_batch[:, di]
            gold_probs = torch.gather(final_dist, 1, target.unsqueeze(1)).squeeze()
            step_loss = -torch.log(gold_probs + EPS)
            step_coverage_loss = torch.sum(torch.min(attn_dist, coverage), 1)
            step_loss = step_loss + COV_LOSS_WT * step_coverage_loss
            coverage = next_coverage

            step_mask = dec_padding_mask[:, di]
            step_loss = step_loss * step_mask
            step_losses.append(step_loss)

        sum_losses = torch.sum(torch.stack(step_losses, 1), 1)
        batch_avg_loss = sum_losses / dec_lens_var
        loss = torch.mean(batch_avg_loss)

        loss.backward()

        norm = clip_grad_norm_(encoder.parameters(), MAX_GRAD_NORM)
        clip_grad_norm_(decoder.parameters(), MAX_GRAD_NORM)
        clip_grad_norm_(reduce_state.parameters(), MAX_GRAD_NORM)

        optimizer.step()
        values.append(float(norm))
        values.append(p_gen.mean().item())
        values.append(final_dist.sum(1).sub(1).abs().max().item())
        return loss.item()

    encoder.train()
    decoder.train()
    reduce_state.train()
    for _ in range(ITERS):
        values.append(train_one_batch())

    # greedy decoding (beam size 1) with the eval-mode coverage at step 0
    encoder.eval()
    decoder.eval()
    reduce_state.eval()
    with torch.no_grad():
        enc_batch, enc_padding_mask, enc_lens, enc_batch_extend_vocab, extra_zeros, c_t_1, cov = (
            get_input_from_batch()
        )
        encoder_outputs, encoder_feature, encoder_hidden = encoder(enc_batch, enc_lens)
        s_t_1 = reduce_state(encoder_hidden)
        y_t_1 = torch.full((batch_size,), START, dtype=torch.long)
        coverage = cov
        for step in range(MAX_DEC_STEPS):
            final_dist, s_t_1, c_t_1, attn_dist, p_gen, coverage = decoder(
                y_t_1,
                s_t_1,
                encoder_outputs,
                encoder_feature,
                enc_padding_mask,
                c_t_1,
                extra_zeros,
                enc_batch_extend_vocab,
                coverage,
                step,
            )
            log_probs = torch.log(final_dist)
            topk_log_probs, topk_ids = torch.topk(log_probs, 2)
            latest = topk_ids[:, 0]
            values += latest.tolist() + [topk_log_probs.sum().item()]
            y_t_1 = latest.masked_fill(latest >= VOCAB_SIZE, UNK)
        values.append(coverage.sum().item())
    return values


def check(values: list[float]) -> None:
    assert values[:2] == [1.0, 1.0]
