"""NVIDIA/tacotron2 (``model.py``, ``layers.py``, ``loss_function.py``, ``utils.py``,
``train.py``), size-reduced, with ESPnet's ``GuidedAttentionLoss``: ``LinearNorm`` / ``ConvNorm``
(``torch.nn.init.xavier_uniform_`` with ``calculate_gain(w_init_gain)``); the location-sensitive
``Attention`` (``LocationLayer``: a ``Conv1d`` over ``torch.cat`` of the previous and the
cumulative attention weights, ``transpose(1, 2)``, a dense layer; energies
``self.v(torch.tanh(processed_query + processed_attention_weights + processed_memory))``,
``alignment.data.masked_fill_(mask, -float("inf"))``, ``F.softmax`` and ``torch.bmm`` for the
context); the ``Prenet`` whose ``F.dropout(..., training=True)`` stays on at inference; the
``Encoder`` (``ConvNorm`` + ``BatchNorm1d``, ``pack_padded_sequence`` of
``input_lengths.cpu().numpy()``, a bidirectional ``nn.LSTM``, ``pad_packed_sequence``); the
``Decoder`` (``memory.data.new(B, dim).zero_()`` states, two ``nn.LSTMCell``\\ s, the in-place
``self.attention_weights_cum += self.attention_weights``, ``parse_decoder_inputs`` /
``parse_decoder_outputs`` with ``torch.stack(...).transpose(0, 1)``), the ``Postnet`` and
``Tacotron2.parse_output`` (``mask.expand(...).permute(1, 0, 2)`` and ``.data.masked_fill_`` of
the padded frames); ``get_mask_from_lengths`` (``torch.arange(0, max_len,
out=torch.LongTensor(max_len))``); ``Tacotron2Loss`` (two ``nn.MSELoss`` plus
``nn.BCEWithLogitsLoss`` on the stop tokens, ``requires_grad = False`` on the targets);
``train.py``'s ``Adam(weight_decay=...)`` and ``clip_grad_norm_``; ESPnet's guided attention
loss (``torch.meshgrid`` masks ``1 - exp(-(n/N - t/T)^2 / (2 sigma^2))``, ``masked_select`` of
the valid cells).

Changed: the dropout rates (hard-coded 0.5 in the repository, 0.1 in hparams) are constructor
arguments, 0 in the compared training run (each framework draws its own masks); the always-on
prenet dropout at p = 0.5 is checked by what both frameworks must agree on (every kept unit is
scaled by 2, dropped units are 0). The LJSpeech batch is two NumPy utterances (6 and 4
symbols, 6 and 4 frames of 3 mels); every dimension is cut to 3..8; 5 postnet convolutions ->
2; 2 training steps; the mels' ``.float()`` is dropped (the run is in float64). Training runs
with ``mask_padding`` off and validation with it on: in training, ``parse_output``'s
``.data.masked_fill_`` rewrites the postnet's input after the postnet's ``Conv1d`` saved it,
and PyTorch's weight gradient then reads the rewritten values, while chainrule's convolution
uses the im2col columns it kept from the forward pass (a known gap, pinned by an xfail in
``tests/compat/test_gaps_session24_d.py``).
"""

from __future__ import annotations

from math import sqrt
from typing import Any

import numpy as np

from ._common import as_tensor

N_SYMBOLS = 10
EMB = 8
N_MELS = 3
ATTENTION_RNN_DIM = 8
DECODER_RNN_DIM = 8
PRENET_DIM = 4
ATTENTION_DIM = 6
LOCATION_FILTERS = 3
LOCATION_KERNEL = 3
POSTNET_DIM = 4


def _classes(torch_like: Any) -> dict[str, type]:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional

    def get_mask_from_lengths(lengths: Any) -> Any:
        max_len = torch.max(lengths).item()
        ids = torch.arange(0, max_len, out=torch.LongTensor(max_len))
        mask = (ids < lengths.unsqueeze(1)).bool()
        return mask

    class LinearNorm(torch.nn.Module):
        def __init__(
            self, in_dim: int, out_dim: int, bias: bool = True, w_init_gain: str = "linear"
        ) -> None:
            super(LinearNorm, self).__init__()  # noqa: UP008 (as in the repository)
            self.linear_layer = torch.nn.Linear(in_dim, out_dim, bias=bias)

            torch.nn.init.xavier_uniform_(
                self.linear_layer.weight, gain=torch.nn.init.calculate_gain(w_init_gain)
            )

        def forward(self, x: Any) -> Any:
            return self.linear_layer(x)

    class ConvNorm(torch.nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int = 1,
            stride: int = 1,
            padding: int | None = None,
            dilation: int = 1,
            bias: bool = True,
            w_init_gain: str = "linear",
        ) -> None:
            super(ConvNorm, self).__init__()  # noqa: UP008
            if padding is None:
                assert kernel_size % 2 == 1
                padding = int(dilation * (kernel_size - 1) / 2)

            self.conv = torch.nn.Conv1d(
                in_channels,
                out_channels,
                kernel_size=kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                bias=bias,
            )

            torch.nn.init.xavier_uniform_(
                self.conv.weight, gain=torch.nn.init.calculate_gain(w_init_gain)
            )

        def forward(self, signal: Any) -> Any:
            conv_signal = self.conv(signal)
            return conv_signal

    class LocationLayer(nn.Module):
        def __init__(
            self, attention_n_filters: int, attention_kernel_size: int, attention_dim: int
        ) -> None:
            super(LocationLayer, self).__init__()  # noqa: UP008
            padding = int((attention_kernel_size - 1) / 2)
            self.location_conv = ConvNorm(
                2,
                attention_n_filters,
                kernel_size=attention_kernel_size,
                padding=padding,
                bias=False,
                stride=1,
                dilation=1,
            )
            self.location_dense = LinearNorm(
                attention_n_filters, attention_dim, bias=False, w_init_gain="tanh"
            )

        def forward(self, attention_weights_cat: Any) -> Any:
            processed_attention = self.location_conv(attention_weights_cat)
            processed_attention = processed_attention.transpose(1, 2)
            processed_attention = self.location_dense(processed_attention)
            return processed_attention

    class Attention(nn.Module):
        def __init__(
            self,
            attention_rnn_dim: int,
            embedding_dim: int,
            attention_dim: int,
            attention_location_n_filters: int,
            attention_location_kernel_size: int,
        ) -> None:
            super(Attention, self).__init__()  # noqa: UP008
            self.query_layer = LinearNorm(
                attention_rnn_dim, attention_dim, bias=False, w_init_gain="tanh"
            )
            self.memory_layer = LinearNorm(
                embedding_dim, attention_dim, bias=False, w_init_gain="tanh"
            )
            self.v = LinearNorm(attention_dim, 1, bias=False)
            self.location_layer = LocationLayer(
                attention_location_n_filters, attention_location_kernel_size, attention_dim
            )
            self.score_mask_value = -float("inf")

        def get_alignment_energies(
            self, query: Any, processed_memory: Any, attention_weights_cat: Any
        ) -> Any:
            processed_query = self.query_layer(query.unsqueeze(1))
            processed_attention_weights = self.location_layer(attention_weights_cat)
            energies = self.v(
                torch.tanh(processed_query + processed_attention_weights + processed_memory)
            )

            energies = energies.squeeze(-1)
            return energies

        def forward(
            self,
            attention_hidden_state: Any,
            memory: Any,
            processed_memory: Any,
            attention_weights_cat: Any,
            mask: Any,
        ) -> tuple[Any, Any]:
            alignment = self.get_alignment_energies(
                attention_hidden_state, processed_memory, attention_weights_cat
            )

            if mask is not None:
                alignment.data.masked_fill_(mask, self.score_mask_value)

            attention_weights = F.softmax(alignment, dim=1)
            attention_context = torch.bmm(attention_weights.unsqueeze(1), memory)
            attention_context = attention_context.squeeze(1)

            return attention_context, attention_weights

    class Prenet(nn.Module):
        def __init__(self, in_dim: int, sizes: list[int], p: float = 0.5) -> None:
            super(Prenet, self).__init__()  # noqa: UP008
            in_sizes = [in_dim] + sizes[:-1]
            self.p = p
            self.layers = nn.ModuleList(
                [
                    LinearNorm(in_size, out_size, bias=False)
                    for (in_size, out_size) in zip(in_sizes, sizes, strict=True)
                ]
            )

        def forward(self, x: Any) -> Any:
            for linear in self.layers:
                x = F.dropout(F.relu(linear(x)), p=self.p, training=True)
            return x

    class Postnet(nn.Module):
        def __init__(self, p: float) -> None:
            super(Postnet, self).__init__()  # noqa: UP008
            self.p = p
            self.convolutions = nn.ModuleList()
            self.convolutions.append(
                nn.Sequential(
                    ConvNorm(N_MELS, POSTNET_DIM, kernel_size=5, padding=2, w_init_gain="tanh"),
                    nn.BatchNorm1d(POSTNET_DIM),
                )
            )
            self.convolutions.append(
                nn.Sequential(
                    ConvNorm(POSTNET_DIM, N_MELS, kernel_size=5, padding=2, w_init_gain="linear"),
                    nn.BatchNorm1d(N_MELS),
                )
            )

        def forward(self, x: Any) -> Any:
            for i in range(len(self.convolutions) - 1):
                x = F.dropout(torch.tanh(self.convolutions[i](x)), self.p, self.training)
            x = F.dropout(self.convolutions[-1](x), self.p, self.training)
            return x

    class Encoder(nn.Module):
        def __init__(self, p: float) -> None:
            super(Encoder, self).__init__()  # noqa: UP008
            self.p = p
            convolutions = []
            for _ in range(1):
                conv_layer = nn.Sequential(
                    ConvNorm(
                        EMB, EMB, kernel_size=3, stride=1, padding=1, dilation=1, w_init_gain="relu"
                    ),
                    nn.BatchNorm1d(EMB),
                )
                convolutions.append(conv_layer)
            self.convolutions = nn.ModuleList(convolutions)

            self.lstm = nn.LSTM(EMB, int(EMB / 2), 1, batch_first=True, bidirectional=True)

        def forward(self, x: Any, input_lengths: Any) -> Any:
            for conv in self.convolutions:
                x = F.dropout(F.relu(conv(x)), self.p, self.training)

            x = x.transpose(1, 2)

            # pytorch tensor are not reversible, hence the conversion
            input_lengths = input_lengths.cpu().numpy()
            x = nn.utils.rnn.pack_padded_sequence(x, input_lengths, batch_first=True)

            self.lstm.flatten_parameters()
            outputs, _ = self.lstm(x)

            outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)

            return outputs

    class Decoder(nn.Module):
        def __init__(
            self, p_prenet: float, p_attention_dropout: float, p_decoder_dropout: float
        ) -> None:
            super(Decoder, self).__init__()  # noqa: UP008
            self.n_mel_channels = N_MELS
            self.n_frames_per_step = 1
            self.encoder_embedding_dim = EMB
            self.attention_rnn_dim = ATTENTION_RNN_DIM
            self.decoder_rnn_dim = DECODER_RNN_DIM
            self.prenet_dim = PRENET_DIM
            self.max_decoder_steps = 8
            self.gate_threshold = 0.5
            self.p_attention_dropout = p_attention_dropout
            self.p_decoder_dropout = p_decoder_dropout

            self.prenet = Prenet(N_MELS * 1, [PRENET_DIM, PRENET_DIM], p=p_prenet)

            self.attention_rnn = nn.LSTMCell(PRENET_DIM + EMB, ATTENTION_RNN_DIM)

            self.attention_layer = Attention(
                ATTENTION_RNN_DIM, EMB, ATTENTION_DIM, LOCATION_FILTERS, LOCATION_KERNEL
            )

            self.decoder_rnn = nn.LSTMCell(ATTENTION_RNN_DIM + EMB, DECODER_RNN_DIM, 1)

            self.linear_projection = LinearNorm(DECODER_RNN_DIM + EMB, N_MELS * 1)

            self.gate_layer = LinearNorm(DECODER_RNN_DIM + EMB, 1, bias=True, w_init_gain="sigmoid")

        def get_go_frame(self, memory: Any) -> Any:
            B = memory.size(0)
            decoder_input = memory.data.new(B, self.n_mel_channels * self.n_frames_per_step).zero_()
            return decoder_input

        def initialize_decoder_states(self, memory: Any, mask: Any) -> None:
            B = memory.size(0)
            MAX_TIME = memory.size(1)

            self.attention_hidden = memory.data.new(B, self.attention_rnn_dim).zero_()
            self.attention_cell = memory.data.new(B, self.attention_rnn_dim).zero_()

            self.decoder_hidden = memory.data.new(B, self.decoder_rnn_dim).zero_()
            self.decoder_cell = memory.data.new(B, self.decoder_rnn_dim).zero_()

            self.attention_weights = memory.data.new(B, MAX_TIME).zero_()
            self.attention_weights_cum = memory.data.new(B, MAX_TIME).zero_()
            self.attention_context = memory.data.new(B, self.encoder_embedding_dim).zero_()

            self.memory = memory
            self.processed_memory = self.attention_layer.memory_layer(memory)
            self.mask = mask

        def parse_decoder_inputs(self, decoder_inputs: Any) -> Any:
            # (B, n_mel_channels, T_out) -> (B, T_out, n_mel_channels)
            decoder_inputs = decoder_inputs.transpose(1, 2)
            decoder_inputs = decoder_inputs.view(
                decoder_inputs.size(0), int(decoder_inputs.size(1) / self.n_frames_per_step), -1
            )
            # (B, T_out, n_mel_channels) -> (T_out, B, n_mel_channels)
            decoder_inputs = decoder_inputs.transpose(0, 1)
            return decoder_inputs

        def parse_decoder_outputs(
            self, mel_outputs: list, gate_outputs: list, alignments: list
        ) -> tuple:
            # (T_out, B) -> (B, T_out)
            alignments = torch.stack(alignments).transpose(0, 1)
            # (T_out, B) -> (B, T_out)
            gate_outputs = torch.stack(gate_outputs).transpose(0, 1)
            gate_outputs = gate_outputs.contiguous()
            # (T_out, B, n_mel_channels) -> (B, T_out, n_mel_channels)
            mel_outputs = torch.stack(mel_outputs).transpose(0, 1).contiguous()
            # decouple frames per step
            mel_outputs = mel_outputs.view(mel_outputs.size(0), -1, self.n_mel_channels)
            # (B, T_out, n_mel_channels) -> (B, n_mel_channels, T_out)
            mel_outputs = mel_outputs.transpose(1, 2)

            return mel_outputs, gate_outputs, alignments

        def decode(self, decoder_input: Any) -> tuple[Any, Any, Any]:
            cell_input = torch.cat((decoder_input, self.attention_context), -1)
            self.attention_hidden, self.attention_cell = self.attention_rnn(
                cell_input, (self.attention_hidden, self.attention_cell)
            )
            self.attention_hidden = F.dropout(
                self.attention_hidden, self.p_attention_dropout, self.training
            )

            attention_weights_cat = torch.cat(
                (self.attention_weights.unsqueeze(1), self.attention_weights_cum.unsqueeze(1)),
                dim=1,
            )
            self.attention_context, self.attention_weights = self.attention_layer(
                self.attention_hidden,
                self.memory,
                self.processed_memory,
                attention_weights_cat,
                self.mask,
            )

            self.attention_weights_cum += self.attention_weights
            decoder_input = torch.cat((self.attention_hidden, self.attention_context), -1)
            self.decoder_hidden, self.decoder_cell = self.decoder_rnn(
                decoder_input, (self.decoder_hidden, self.decoder_cell)
            )
            self.decoder_hidden = F.dropout(
                self.decoder_hidden, self.p_decoder_dropout, self.training
            )

            decoder_hidden_attention_context = torch.cat(
                (self.decoder_hidden, self.attention_context), dim=1
            )
            decoder_output = self.linear_projection(decoder_hidden_attention_context)

            gate_prediction = self.gate_layer(decoder_hidden_attention_context)
            return decoder_output, gate_prediction, self.attention_weights

        def forward(self, memory: Any, decoder_inputs: Any, memory_lengths: Any) -> tuple:
            decoder_input = self.get_go_frame(memory).unsqueeze(0)
            decoder_inputs = self.parse_decoder_inputs(decoder_inputs)
            decoder_inputs = torch.cat((decoder_input, decoder_inputs), dim=0)
            decoder_inputs = self.prenet(decoder_inputs)

            self.initialize_decoder_states(memory, mask=~get_mask_from_lengths(memory_lengths))

            mel_outputs, gate_outputs, alignments = [], [], []
            while len(mel_outputs) < decoder_inputs.size(0) - 1:
                decoder_input = decoder_inputs[len(mel_outputs)]
                mel_output, gate_output, attention_weights = self.decode(decoder_input)
                mel_outputs += [mel_output.squeeze(1)]
                gate_outputs += [gate_output.squeeze(1)]
                alignments += [attention_weights]

            mel_outputs, gate_outputs, alignments = self.parse_decoder_outputs(
                mel_outputs, gate_outputs, alignments
            )

            return mel_outputs, gate_outputs, alignments

        def inference(self, memory: Any) -> tuple:
            decoder_input = self.get_go_frame(memory)

            self.initialize_decoder_states(memory, mask=None)

            mel_outputs, gate_outputs, alignments = [], [], []
            while True:
                decoder_input = self.prenet(decoder_input)
                mel_output, gate_output, alignment = self.decode(decoder_input)

                mel_outputs += [mel_output.squeeze(1)]
                gate_outputs += [gate_output]
                alignments += [alignment]

                if torch.sigmoid(gate_output.data) > self.gate_threshold:
                    break
                elif len(mel_outputs) == self.max_decoder_steps:
                    break

                decoder_input = mel_output

            mel_outputs, gate_outputs, alignments = self.parse_decoder_outputs(
                mel_outputs, gate_outputs, alignments
            )

            return mel_outputs, gate_outputs, alignments

    class Tacotron2(nn.Module):
        def __init__(self, p: float = 0.5, p_rnn: float = 0.1) -> None:
            super(Tacotron2, self).__init__()  # noqa: UP008
            self.mask_padding = True
            self.n_mel_channels = N_MELS
            self.n_frames_per_step = 1
            self.embedding = nn.Embedding(N_SYMBOLS, EMB)
            std = sqrt(2.0 / (N_SYMBOLS + EMB))
            val = sqrt(3.0) * (std)  # uniform bounds for std
            self.embedding.weight.data.uniform_(-val, val)
            self.encoder = Encoder(p)
            self.decoder = Decoder(p, p_rnn, p_rnn)
            self.postnet = Postnet(p)

        def parse_output(self, outputs: list, output_lengths: Any = None) -> list:
            if self.mask_padding and output_lengths is not None:
                mask = ~get_mask_from_lengths(output_lengths)
                mask = mask.expand(self.n_mel_channels, mask.size(0), mask.size(1))
                mask = mask.permute(1, 0, 2)

                outputs[0].data.masked_fill_(mask, 0.0)
                outputs[1].data.masked_fill_(mask, 0.0)
                outputs[2].data.masked_fill_(mask[:, 0, :], 1e3)  # gate energies

            return outputs

        def forward(self, inputs: tuple) -> list:
            text_inputs, text_lengths, mels, max_len, output_lengths = inputs
            text_lengths, output_lengths = text_lengths.data, output_lengths.data

            embedded_inputs = self.embedding(text_inputs).transpose(1, 2)

            encoder_outputs = self.encoder(embedded_inputs, text_lengths)

            mel_outputs, gate_outputs, alignments = self.decoder(
                encoder_outputs, mels, memory_lengths=text_lengths
            )

            mel_outputs_postnet = self.postnet(mel_outputs)
            mel_outputs_postnet = mel_outputs + mel_outputs_postnet

            return self.parse_output(
                [mel_outputs, mel_outputs_postnet, gate_outputs, alignments], output_lengths
            )

    class Tacotron2Loss(nn.Module):
        def __init__(self) -> None:
            super(Tacotron2Loss, self).__init__()  # noqa: UP008

        def forward(self, model_output: list, targets: tuple) -> Any:
            mel_target, gate_target = targets[0], targets[1]
            mel_target.requires_grad = False
            gate_target.requires_grad = False
            gate_target = gate_target.view(-1, 1)

            mel_out, mel_out_postnet, gate_out, _ = model_output
            gate_out = gate_out.view(-1, 1)
            mel_loss = nn.MSELoss()(mel_out, mel_target) + nn.MSELoss()(mel_out_postnet, mel_target)
            gate_loss = nn.BCEWithLogitsLoss()(gate_out, gate_target)
            return mel_loss + gate_loss

    class GuidedAttentionLoss(torch.nn.Module):
        def __init__(self, sigma: float = 0.4, alpha: float = 1.0) -> None:
            super().__init__()
            self.sigma = sigma
            self.alpha = alpha
            self.guided_attn_masks = None
            self.masks = None

        def _reset_masks(self) -> None:
            self.guided_attn_masks = None
            self.masks = None

        def forward(self, att_ws: Any, ilens: Any, olens: Any) -> Any:
            if self.guided_attn_masks is None:
                self.guided_attn_masks = self._make_guided_attention_masks(ilens, olens).to(
                    att_ws.device
                )
            if self.masks is None:
                self.masks = self._make_masks(ilens, olens).to(att_ws.device)
            losses = self.guided_attn_masks * att_ws
            loss = torch.mean(losses.masked_select(self.masks))
            self._reset_masks()
            return self.alpha * loss

        def _make_guided_attention_masks(self, ilens: Any, olens: Any) -> Any:
            n_batches = len(ilens)
            max_ilen = max(ilens)
            max_olen = max(olens)
            guided_attn_masks = torch.zeros((n_batches, max_olen, max_ilen))
            for idx, (ilen, olen) in enumerate(zip(ilens, olens, strict=True)):
                guided_attn_masks[idx, :olen, :ilen] = self._make_guided_attention_mask(
                    ilen, olen, self.sigma
                )
            return guided_attn_masks

        @staticmethod
        def _make_guided_attention_mask(ilen: Any, olen: Any, sigma: float) -> Any:
            grid_x, grid_y = torch.meshgrid(
                torch.arange(olen, device=olen.device),
                torch.arange(ilen, device=ilen.device),
                indexing="ij",
            )
            # ESPnet's grid_x.float(), grid_y.float() dropped: int / int is the default dtype
            return 1.0 - torch.exp(-((grid_y / ilen - grid_x / olen) ** 2) / (2 * (sigma**2)))

        @staticmethod
        def _make_masks(ilens: Any, olens: Any) -> Any:
            in_masks = get_mask_from_lengths(ilens)  # (B, T_in)
            out_masks = get_mask_from_lengths(olens)  # (B, T_out)
            return out_masks.unsqueeze(-1) & in_masks.unsqueeze(-2)  # (B, T_out, T_in)

    return {
        "Tacotron2": Tacotron2,
        "Tacotron2Loss": Tacotron2Loss,
        "GuidedAttentionLoss": GuidedAttentionLoss,
        "Prenet": Prenet,
    }


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["Tacotron2"](p=0.0, p_rnn=0.0)


def _batch(torch: Any, rng: np.random.Generator) -> tuple:
    """TextMelCollate's output: padded texts sorted by length, mels, stop-token targets."""
    text_lengths = [6, 4]
    output_lengths = [6, 4]
    text_padded = np.zeros((2, 6), dtype=np.int64)
    mel_padded = np.zeros((2, N_MELS, 6))
    gate_padded = np.zeros((2, 6))
    for i, (n, t) in enumerate(zip(text_lengths, output_lengths, strict=True)):
        text_padded[i, :n] = rng.integers(1, N_SYMBOLS, n)
        mel_padded[i, :, :t] = rng.standard_normal((N_MELS, t))
        gate_padded[i, t - 1 :] = 1
    return (
        as_tensor(torch, text_padded),
        torch.LongTensor(text_lengths),
        as_tensor(torch, mel_padded),
        as_tensor(torch, gate_padded),
        torch.LongTensor(output_lengths),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    classes = _classes(torch_like)
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    criterion = classes["Tacotron2Loss"]()
    guided = classes["GuidedAttentionLoss"](sigma=0.4, alpha=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    rng = np.random.default_rng(5)
    text_padded, input_lengths, mel_padded, gate_padded, output_lengths = _batch(torch, rng)
    values: list[float] = []

    # hparams.mask_padding=False for training (see the module docstring); True to validate
    model.mask_padding = False
    model.train()
    for _iteration in range(2):
        model.zero_grad()
        # Tacotron2.parse_batch
        max_len = torch.max(input_lengths.data).item()
        x = (text_padded, input_lengths, mel_padded, max_len, output_lengths)
        y = (mel_padded, gate_padded)

        y_pred = model(x)
        loss = criterion(y_pred, y)
        attn_loss = guided(y_pred[3], input_lengths, output_lengths)
        (loss + attn_loss).backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), attn_loss.item(), grad_norm.item()]
        values += [y_pred[3].sum().item(), y_pred[2].sum().item()]
        # the padded attention cells were masked to -inf: exactly zero after the softmax
        values.append(y_pred[3][1, :, 4:].abs().sum().item())

    # train.py's validate(): the padded frames masked by parse_output's .data.masked_fill_
    model.mask_padding = True
    model.eval()
    with torch.no_grad():
        y_pred = model((text_padded, input_lengths, mel_padded, 6, output_lengths))
        val_loss = criterion(y_pred, (mel_padded, gate_padded))
    values += [val_loss.item(), y_pred[1][1, :, 4:].abs().sum().item(), y_pred[2].sum().item()]

    # inference with the prenet's dropout still on: here p = 0, so deterministic
    with torch.no_grad():
        embedded = model.embedding(text_padded[:1]).transpose(1, 2)
        memory = model.encoder(embedded, input_lengths[:1])
        mel_outputs, gate_outputs, alignments = model.decoder.inference(memory)
    values += [float(mel_outputs.size(2)), mel_outputs.sum().item(), alignments.sum().item()]

    # the always-on prenet dropout at p = 0.5: dropped units are 0, kept ones scaled by 2
    torch.manual_seed(1234)
    prenet = classes["Prenet"](N_MELS, [PRENET_DIM], p=0.5)
    prenet.eval()
    frames = as_tensor(torch, rng.standard_normal((64, N_MELS)))
    with torch.no_grad():
        clean = torch.relu(prenet.layers[0](frames))
        dropped = prenet(frames)
    kept = dropped != 0
    values.append(float(torch.allclose(dropped[kept], 2 * clean[kept])))
    values.append(float(0.2 < (~kept & (clean > 0)).sum().item() / (clean > 0).sum().item() < 0.8))
    return values
