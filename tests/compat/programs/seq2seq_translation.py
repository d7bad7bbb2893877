"""The PyTorch "NLP From Scratch: Translation with a Sequence to Sequence Network and Attention"
tutorial (``intermediate/seq2seq_translation_tutorial``), size-reduced: ``EncoderRNN``
(``Embedding`` -> ``Dropout`` -> ``GRU(batch_first=True)``), ``BahdanauAttention``
(``Va(tanh(Wa(query) + Ua(keys)))``, ``squeeze(2).unsqueeze(1)``, ``softmax``, ``bmm``) and
``AttnDecoderRNN`` (``torch.empty(..., dtype=torch.long).fill_(SOS_token)``, teacher forcing with
``target_tensor[:, i].unsqueeze(1)``, otherwise ``topk(1)`` and ``squeeze(-1).detach()``,
``hidden.permute(1, 0, 2)``, ``torch.cat`` of the steps, ``log_softmax``); ``get_dataloader``
(``np.zeros`` id matrices, ``torch.LongTensor(...)``, ``TensorDataset``, ``DataLoader`` with a
sampler), ``train_epoch`` with two Adam optimizers and ``nn.NLLLoss``, and ``evaluate`` under
``no_grad`` (``topk(1)``, ``squeeze()``, ``idx.item() == EOS_token``).

The "language pair" is a synthetic word-reversal task over a 9-word vocabulary; the sampler is
``SequentialSampler`` instead of ``RandomSampler`` and ``dropout_p`` is 0 (random numbers cannot
agree between two frameworks); hidden 128 -> 8, ``MAX_LENGTH`` 10 -> 5.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

SOS_token, EOS_token = 0, 1
MAX_LENGTH = 5
N_WORDS = 9  # SOS, EOS and seven words
HIDDEN = 8


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class EncoderRNN(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, dropout_p: float = 0.1) -> None:
            super(EncoderRNN, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.hidden_size = hidden_size

            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input: Any) -> tuple[Any, Any]:
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size: int) -> None:
            super(BahdanauAttention, self).__init__()  # noqa: UP008
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query: Any, keys: Any) -> tuple[Any, Any]:
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)

            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)

            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1) -> None:
            super(AttnDecoderRNN, self).__init__()  # noqa: UP008
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(
            self, encoder_outputs: Any, encoder_hidden: Any, target_tensor: Any = None
        ) -> tuple[Any, Any, Any]:
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            attentions = []

            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)

                if target_tensor is not None:
                    # Teacher forcing: Feed the target as the next input
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    # Without teacher forcing: use its own predictions as the next input
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()  # detach from history as input

            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)

            return decoder_outputs, decoder_hidden, attentions

        def forward_step(
            self, input: Any, hidden: Any, encoder_outputs: Any
        ) -> tuple[Any, Any, Any]:
            embedded = self.dropout(self.embedding(input))

            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)

            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)

            return output, hidden, attn_weights

    return EncoderRNN, AttnDecoderRNN


def make_model(torch_like: Any) -> Any:
    encoder_cls, decoder_cls = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "encoder": encoder_cls(N_WORDS, HIDDEN, dropout_p=0.0),
            "decoder": decoder_cls(HIDDEN, N_WORDS, dropout_p=0.0),
        }
    )


def _pairs(rng: np.random.Generator, n: int) -> list[tuple[list[int], list[int]]]:
    """Sentences of 1-4 word ids and their reversal (the "translation")."""
    out = []
    for _ in range(n):
        words = list(rng.integers(2, N_WORDS, rng.integers(1, MAX_LENGTH)))
        out.append((words, words[::-1]))
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    from_data = torch_like.utils.data
    TensorDataset, DataLoader = from_data.TensorDataset, from_data.DataLoader
    SequentialSampler = from_data.SequentialSampler
    rng = np.random.default_rng(8)
    pairs = _pairs(rng, 8)

    def get_dataloader(batch_size: int) -> Any:
        n = len(pairs)
        input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)

        for idx, (inp_ids, tgt_ids) in enumerate(pairs):
            inp_ids = inp_ids + [EOS_token]
            tgt_ids = tgt_ids + [EOS_token]
            input_ids[idx, : len(inp_ids)] = inp_ids
            target_ids[idx, : len(tgt_ids)] = tgt_ids

        train_data = TensorDataset(torch.LongTensor(input_ids), torch.LongTensor(target_ids))

        train_sampler = SequentialSampler(train_data)
        train_dataloader = DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)
        return train_dataloader

    def train_epoch(
        dataloader: Any,
        encoder: Any,
        decoder: Any,
        encoder_optimizer: Any,
        decoder_optimizer: Any,
        criterion: Any,
    ) -> float:
        total_loss = 0
        for data in dataloader:
            input_tensor, target_tensor = data

            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()

            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)

            loss = criterion(
                decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1)
            )
            loss.backward()

            encoder_optimizer.step()
            decoder_optimizer.step()

            total_loss += loss.item()

        return total_loss / len(dataloader)

    def train(
        train_dataloader: Any, encoder: Any, decoder: Any, n_epochs: int, learning_rate: float
    ) -> list[float]:
        plot_losses = []
        encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
        decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
        criterion = nn.NLLLoss()

        for _epoch in range(1, n_epochs + 1):
            loss = train_epoch(
                train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion
            )
            plot_losses.append(loss)
        return plot_losses

    def evaluate(encoder: Any, decoder: Any, input_ids: list[int]) -> tuple[list[int], Any]:
        with torch.no_grad():
            input_tensor = torch.tensor(input_ids + [EOS_token], dtype=torch.long).view(1, -1)

            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)

            _, topi = decoder_outputs.topk(1)
            decoded_ids = topi.squeeze()

            decoded_words = []
            for idx in decoded_ids:
                if idx.item() == EOS_token:
                    decoded_words.append(EOS_token)
                    break
                decoded_words.append(idx.item())
        return decoded_words, decoder_attn

    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    encoder, decoder = nets["encoder"], nets["decoder"]
    train_dataloader = get_dataloader(batch_size=4)
    values = train(train_dataloader, encoder, decoder, n_epochs=5, learning_rate=0.03)

    encoder.eval()
    decoder.eval()
    for input_ids, _target in pairs[:3]:
        output_words, attentions = evaluate(encoder, decoder, input_ids)
        values += [float(w) for w in output_words]
        values.append(float(attentions.sum()))
        values.append(float(attentions[0, 0].max()))
    return values
