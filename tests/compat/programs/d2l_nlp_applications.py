"""The NLP-applications chapter of "Dive into Deep Learning" (d2l.ai, PyTorch edition, chapter
16: sentiment analysis with a bidirectional RNN and with TextCNN, natural language inference
with decomposable attention), trained with the book's ``train_ch13``, size-reduced.

The idioms: ``BiRNN`` (``nn.LSTM(embed_size, num_hiddens, num_layers=num_layers,
bidirectional=True)`` fed ``self.embedding(inputs.T)``, ``self.encoder.flatten_parameters()``,
``torch.cat((outputs[0], outputs[-1]), dim=1)`` into ``nn.Linear(4 * num_hiddens, 2)``) and its
``init_weights`` over ``module._flat_weights_names`` / ``module._parameters[param]``;
``TextCNN`` (a trainable and a ``constant_embedding`` concatenated with ``torch.cat(..., dim=2)``,
``permute(0, 2, 1)``, an ``nn.ModuleList`` of ``nn.Conv1d(2 * embed_size, c, k)``,
``nn.AdaptiveAvgPool1d(1)``, ``torch.squeeze(..., dim=-1)``, ``nn.Dropout(0.5)``),
``init_weights`` with ``type(m) in (nn.Linear, nn.Conv1d)``, the pretrained vectors loaded
with ``net.embedding.weight.data.copy_(embeds)`` and frozen with ``net.constant_embedding.
weight.requires_grad = False``; the decomposable-attention ``mlp`` (``nn.Dropout(0.2)``,
``nn.Flatten(start_dim=1)``), ``Attend`` (``torch.bmm(f_A, f_B.permute(0, 2, 1))``,
``F.softmax(e.permute(0, 2, 1), dim=-1)``), ``Compare``, ``Aggregate`` (``V_A.sum(dim=1)``) and
``DecomposableAttention`` taking ``X = (premises, hypotheses)``; ``train_ch13`` wrapping the net
in ``nn.DataParallel(net, device_ids=devices).to(devices[0])`` with ``devices = [torch.device(
'cpu')]`` (``d2l.try_all_gpus()`` on a machine without GPUs), ``train_batch_ch13``
(``isinstance(X, list)`` inputs moved with ``.to(devices[0])``, ``nn.CrossEntropyLoss(
reduction="none")``, ``l.sum().backward()``), ``d2l.accuracy`` (``y_hat.argmax(axis=1)``,
``y_hat.type(y.dtype) == y``) and ``evaluate_accuracy_gpu`` under ``torch.no_grad()``;
``predict_sentiment`` / ``predict_snli`` (``torch.argmax(net(sequence.reshape(1, -1)), dim=1)``).

Changed: IMDb/SNLI and GloVe -> seeded NumPy token ids and vectors (vocab 20, embed 6), hidden
100 -> 5, channels [100]*3 -> [3, 4, 2], 200 -> 8 MLP units; 5 epochs -> 3 batches per model;
lr 0.01/0.001 -> 0.01.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, state_to_numpy

__all__ = ["init_state", "run"]

VOCAB, EMBED, SEQ, BATCH = 20, 6, 7, 4


def _nets(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class BiRNN(nn.Module):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, **kwargs):  # noqa: ANN001, ANN003
            super(BiRNN, self).__init__(**kwargs)  # noqa: UP008 (as in the book)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.encoder = nn.LSTM(
                embed_size, num_hiddens, num_layers=num_layers, bidirectional=True
            )
            self.decoder = nn.Linear(4 * num_hiddens, 2)

        def forward(self, inputs):  # noqa: ANN001, ANN202
            embeddings = self.embedding(inputs.T)
            self.encoder.flatten_parameters()
            outputs, _ = self.encoder(embeddings)
            encoding = torch.cat((outputs[0], outputs[-1]), dim=1)
            outs = self.decoder(encoding)
            return outs

    def init_weights_rnn(module):  # noqa: ANN001, ANN202
        if type(module) == nn.Linear:  # noqa: E721
            nn.init.xavier_uniform_(module.weight)
        if type(module) == nn.LSTM:  # noqa: E721
            for param in module._flat_weights_names:
                if "weight" in param:
                    nn.init.xavier_uniform_(module._parameters[param])

    class TextCNN(nn.Module):
        def __init__(self, vocab_size, embed_size, kernel_sizes, num_channels, **kwargs):  # noqa: ANN001, ANN003
            super(TextCNN, self).__init__(**kwargs)  # noqa: UP008 (as in the book)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.constant_embedding = nn.Embedding(vocab_size, embed_size)
            self.dropout = nn.Dropout(0.5)
            self.decoder = nn.Linear(sum(num_channels), 2)
            self.pool = nn.AdaptiveAvgPool1d(1)
            self.relu = nn.ReLU()
            self.convs = nn.ModuleList()
            for c, k in zip(num_channels, kernel_sizes):
                self.convs.append(nn.Conv1d(2 * embed_size, c, k))

        def forward(self, inputs):  # noqa: ANN001, ANN202
            embeddings = torch.cat((self.embedding(inputs), self.constant_embedding(inputs)), dim=2)
            embeddings = embeddings.permute(0, 2, 1)
            encoding = torch.cat(
                [
                    torch.squeeze(self.relu(self.pool(conv(embeddings))), dim=-1)
                    for conv in self.convs
                ],
                dim=1,
            )
            outputs = self.decoder(self.dropout(encoding))
            return outputs

    def init_weights_cnn(m):  # noqa: ANN001, ANN202
        if type(m) in (nn.Linear, nn.Conv1d):
            nn.init.xavier_uniform_(m.weight)

    def mlp(num_inputs, num_hiddens, flatten):  # noqa: ANN001, ANN202
        net = []
        net.append(nn.Dropout(0.2))
        net.append(nn.Linear(num_inputs, num_hiddens))
        net.append(nn.ReLU())
        if flatten:
            net.append(nn.Flatten(start_dim=1))
        net.append(nn.Dropout(0.2))
        net.append(nn.Linear(num_hiddens, num_hiddens))
        net.append(nn.ReLU())
        if flatten:
            net.append(nn.Flatten(start_dim=1))
        return nn.Sequential(*net)

    class Attend(nn.Module):
        def __init__(self, num_inputs, num_hiddens, **kwargs):  # noqa: ANN001, ANN003
            super(Attend, self).__init__(**kwargs)  # noqa: UP008
            self.f = mlp(num_inputs, num_hiddens, flatten=False)

        def forward(self, A, B):  # noqa: ANN001, ANN202
            f_A = self.f(A)
            f_B = self.f(B)
            e = torch.bmm(f_A, f_B.permute(0, 2, 1))
            beta = torch.bmm(F.softmax(e, dim=-1), B)
            alpha = torch.bmm(F.softmax(e.permute(0, 2, 1), dim=-1), A)
            return beta, alpha

    class Compare(nn.Module):
        def __init__(self, num_inputs, num_hiddens, **kwargs):  # noqa: ANN001, ANN003
            super(Compare, self).__init__(**kwargs)  # noqa: UP008
            self.g = mlp(num_inputs, num_hiddens, flatten=False)

        def forward(self, A, B, beta, alpha):  # noqa: ANN001, ANN202
            V_A = self.g(torch.cat([A, beta], dim=2))
            V_B = self.g(torch.cat([B, alpha], dim=2))
            return V_A, V_B

    class Aggregate(nn.Module):
        def __init__(self, num_inputs, num_hiddens, num_outputs, **kwargs):  # noqa: ANN001, ANN003
            super(Aggregate, self).__init__(**kwargs)  # noqa: UP008
            self.h = mlp(num_inputs, num_hiddens, flatten=True)
            self.linear = nn.Linear(num_hiddens, num_outputs)

        def forward(self, V_A, V_B):  # noqa: ANN001, ANN202
            V_A = V_A.sum(dim=1)
            V_B = V_B.sum(dim=1)
            Y_hat = self.linear(self.h(torch.cat([V_A, V_B], dim=1)))
            return Y_hat

    class DecomposableAttention(nn.Module):
        def __init__(self, vocab, embed_size, num_hiddens, num_inputs_attend=100,
                     num_inputs_compare=200, num_inputs_agg=400, **kwargs):  # noqa: ANN001, ANN003 # fmt: skip
            super(DecomposableAttention, self).__init__(**kwargs)  # noqa: UP008
            self.embedding = nn.Embedding(len(vocab), embed_size)
            self.attend = Attend(num_inputs_attend, num_hiddens)
            self.compare = Compare(num_inputs_compare, num_hiddens)
            self.aggregate = Aggregate(num_inputs_agg, num_hiddens, num_outputs=3)

        def forward(self, X):  # noqa: ANN001, ANN202
            premises, hypotheses = X
            A = self.embedding(premises)
            B = self.embedding(hypotheses)
            beta, alpha = self.attend(A, B)
            V_A, V_B = self.compare(A, B, beta, alpha)
            Y_hat = self.aggregate(V_A, V_B)
            return Y_hat

    def build() -> dict:
        birnn = BiRNN(VOCAB, EMBED, 5, 2)
        birnn.apply(init_weights_rnn)
        cnn = TextCNN(VOCAB, EMBED, [2, 3, 4], [3, 4, 2])
        cnn.apply(init_weights_cnn)
        nli = DecomposableAttention(list(range(VOCAB)), EMBED, 8, EMBED, 2 * EMBED, 16)
        return {"birnn": birnn, "textcnn": cnn, "nli": nli}

    return {"build": build}


def init_state(tmp_path: Any) -> dict:
    import torch

    torch.manual_seed(0)
    return {k: state_to_numpy(m) for k, m in _nets(torch)["build"]().items()}


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn

    def accuracy(y_hat, y):  # noqa: ANN001, ANN202
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def train_batch_ch13(net, X, y, loss, trainer, devices):  # noqa: ANN001, ANN202
        if isinstance(X, list):
            X = [x.to(devices[0]) for x in X]
        else:
            X = X.to(devices[0])
        y = y.to(devices[0])
        net.train()
        trainer.zero_grad()
        pred = net(X)
        l = loss(pred, y)  # noqa: E741
        l.sum().backward()
        trainer.step()
        train_loss_sum = l.sum()
        train_acc_sum = accuracy(pred, y)
        return train_loss_sum, train_acc_sum

    def evaluate_accuracy_gpu(net, X, y):  # noqa: ANN001, ANN202
        net.eval()
        with torch.no_grad():
            return accuracy(net(X), y) / y.numel()

    devices = [torch.device("cpu")]
    rng = np.random.default_rng(16)
    embeds = as_tensor(torch_like, rng.standard_normal((VOCAB, EMBED)))
    nets = _nets(torch_like)["build"]()
    torch.manual_seed(3)
    values: list[float] = []
    for name, net in nets.items():
        net.load_state_dict({k: torch.tensor(v) for k, v in init[name].items()})
        net.embedding.weight.data.copy_(embeds)
        if name == "textcnn":
            net.constant_embedding.weight.data.copy_(embeds)
            net.constant_embedding.weight.requires_grad = False
        lr = 0.01
        trainer = torch.optim.Adam(net.parameters(), lr=lr)
        loss = nn.CrossEntropyLoss(reduction="none")
        net = nn.DataParallel(net, device_ids=devices).to(devices[0])
        classes = 3 if name == "nli" else 2
        for _ in range(3):
            tokens = as_tensor(torch_like, rng.integers(0, VOCAB, (BATCH, SEQ)))
            if name == "nli":
                X = [tokens, as_tensor(torch_like, rng.integers(0, VOCAB, (BATCH, SEQ - 2)))]
            else:
                X = tokens
            y = as_tensor(torch_like, rng.integers(0, classes, BATCH))
            l, acc = train_batch_ch13(net, X, y, loss, trainer, devices)
            values += [l.item(), acc]
        if name == "nli":
            premise, hypothesis = torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6, 7])
            net.eval()
            label = torch.argmax(
                net([premise.reshape((1, -1)), hypothesis.reshape((1, -1))]), dim=1
            )
            values.append(float(label))
        else:
            sequence = torch.tensor([3, 1, 4, 1, 5], device=devices[0])
            net.eval()
            label = torch.argmax(net(sequence.reshape(1, -1)), dim=1)
            values.append(1.0 if label == 1 else 0.0)
            values.append(evaluate_accuracy_gpu(net, tokens, y))
            assert net.module.embedding.weight.grad is not None
        values += [p.detach().sum().item() for p in net.parameters()]
    return values
