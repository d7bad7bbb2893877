"""A word-level LSTM language model with an adaptive-softmax head, as the adaptive-softmax
variants of pytorch/examples ``word_language_model`` and the Transformer-XL / fairseq-style LM
scripts write it, size-reduced.

The idioms: a vocabulary sorted by frequency (``collections.Counter(...).most_common()``, the
adaptive softmax needs frequent words first), ``batchify`` / ``get_batch``; the model's
``self.crit = nn.AdaptiveLogSoftmaxWithLoss(nhid, ntoken, cutoffs=cutoffs, div_value=4.0,
head_bias=True)`` over ``output.view(-1, nhid)`` and ``targets.view(-1)``, unpacking the
``_ASMoutput`` both as a tuple (``_, loss = ...``) and by field (``out.loss``, ``out.output``);
``crit.log_prob(hidden)`` for the full distribution (``logsumexp`` of it is 0, its ``gather`` at
the targets is ``out.output``), ``crit.predict(hidden)`` for greedy next-word prediction
(compared with ``log_prob(...).argmax(1)``); ``repackage_hidden``, ``clip_grad_norm_``, the
Adam step, perplexity ``math.exp(loss)``; ``evaluate`` under ``model.eval()`` and
``torch.no_grad()``; a 0-d target on a 1-d input (one next-word query); the parameter names
``crit.head.weight`` / ``crit.tail.0.1.weight`` read back from ``named_parameters()``.

Changed: the corpus is a fixed toy text, emsize/nhid 400 -> 8/16, cutoffs [2000, 10000] ->
[4, 9], bptt 35 -> 4, batch 20 -> 3, dropout 0 (random masks cannot agree between two
frameworks).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

TEXT = (
    "the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
    "the dog saw the cat on the mat . a log is on the mat . the cat saw the log . "
    "a dog sat on a cat . the mat is on the log . my bird ate the red seed by the old tree ."
).split()
COUNTS = Counter(TEXT)
WORDS = [w for w, _ in sorted(COUNTS.most_common(), key=lambda wc: (-wc[1], wc[0]))]
WORD2IDX = {w: i for i, w in enumerate(WORDS)}
NTOKENS = len(WORDS)
EMSIZE, NHID = 8, 16
CUTOFFS = [4, 9]
BPTT, BATCH, EVAL_BATCH = 4, 3, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class AdaptiveRNNModel(nn.Module):
        def __init__(self, ntoken: int, ninp: int, nhid: int, cutoffs: list[int]) -> None:
            super().__init__()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, 1)
            self.crit = nn.AdaptiveLogSoftmaxWithLoss(
                nhid, ntoken, cutoffs=cutoffs, div_value=4.0, head_bias=True
            )
            self.nhid = nhid
            self.init_weights()

        def init_weights(self) -> None:
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)

        def forward(self, input: Any, hidden: Any, targets: Any) -> Any:
            emb = self.encoder(input)
            output, hidden = self.rnn(emb, hidden)
            flat = output.view(-1, self.nhid)
            out = self.crit(flat, targets.view(-1))
            return out, flat, hidden

        def init_hidden(self, bsz: int) -> Any:
            weight = next(self.parameters())
            return (weight.new_zeros(1, bsz, self.nhid), weight.new_zeros(1, bsz, self.nhid))

    return AdaptiveRNNModel(NTOKENS, EMSIZE, NHID, CUTOFFS)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn

    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})

    ids = torch.tensor([WORD2IDX[w] for w in TEXT], dtype=torch.long)

    def batchify(data: Any, bsz: int) -> Any:
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source: Any, i: int) -> tuple[Any, Any]:
        seq_len = min(BPTT, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].reshape(-1)
        return data, target

    def repackage_hidden(h: Any) -> Any:
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    train_data = batchify(ids, BATCH)
    val_data = batchify(ids[-25:], EVAL_BATCH)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    values: list[float] = []

    def evaluate(data_source: Any) -> float:
        model.eval()
        total_loss = 0.0
        hidden = model.init_hidden(EVAL_BATCH)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, BPTT):
                data, targets = get_batch(data_source, i)
                out, _, hidden = model(data, hidden, targets)
                total_loss += len(data) * out.loss.item()
        return total_loss / (len(data_source) - 1)

    for _epoch in range(2):
        model.train()
        hidden = model.init_hidden(BATCH)
        for i in range(0, train_data.size(0) - 1, BPTT):
            data, targets = get_batch(train_data, i)
            hidden = repackage_hidden(hidden)
            optimizer.zero_grad()
            (_, loss), _, hidden = model(data, hidden, targets)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            optimizer.step()
            values.append(loss.item())
        val_loss = evaluate(val_data)
        values += [val_loss, math.exp(val_loss)]

    # the full distribution and greedy prediction from the trained head
    model.eval()
    with torch.no_grad():
        data, targets = get_batch(val_data, 0)
        out, flat, _ = model(data, model.init_hidden(EVAL_BATCH), targets)
        logprob = model.crit.log_prob(flat)
        pred = model.crit.predict(flat)
        values += logprob.logsumexp(dim=1).tolist()
        values.append((logprob.gather(1, targets.unsqueeze(1)).squeeze(1) - out.output).abs().max())
        values.append(float(pred.dtype == torch.long))
        values += pred.tolist()
        values.append(float((pred == logprob.argmax(1)).all()))
        values += logprob[:2].flatten().tolist()
        # a single query: 1-d input with a 0-d target
        single = model.crit(flat[0], targets[0])
        values += [single.output.item(), single.loss.item(), float(single.output.dim())]

    names = [n for n, _ in model.named_parameters() if n.startswith("crit.")]
    values.append(float(names == ["crit.head.weight", "crit.head.bias"] + [
        f"crit.tail.{i}.{j}.weight" for i in range(2) for j in range(2)
    ]))  # fmt: skip
    values.append(float(model.crit.tail[1][0].out_features))
    return values
