"""NVIDIA/NeMo's QuartzNet CTC recipe (``nemo/collections/asr/parts/submodules/jasper.py``,
``modules/conv_asr.py``, ``losses/ctc.py``, ``parts/preprocessing/features.py``'s
``normalize_batch``, ``metrics/wer.py``'s greedy decoding), size-reduced: ``MaskedConv1d`` (an
inner ``nn.Conv1d``; the padded frames zeroed with ``torch.arange(max_len).to(lens.device)
.expand(len(lens), max_len) >= lens.unsqueeze(1)`` and ``x.masked_fill(mask.unsqueeze(1)
.to(device=x.device), 0)``, ``get_seq_len`` from ``self.conv.padding[0]``,
``self.conv.dilation[0]``, ``self.conv.kernel_size[0]`` and ``self.conv.stride[0]``);
``JasperBlock`` with time-channel separable convolutions (a depthwise ``groups=in_channels``
conv then a pointwise one), ``nn.BatchNorm1d(planes, eps=1e-3, momentum=0.1)``, a 1x1
residual branch, ``nn.ModuleList`` layers walked with ``isinstance(layer, MaskedConv1d)`` and
the ``([audio_signal], length)`` tuple threaded through ``torch.nn.Sequential(*encoder_layers)``
(``xs[-1]``); ``ConvASRDecoder`` (``nn.Conv1d(feat_in, num_classes + 1, kernel_size=1,
bias=True)``, ``torch.nn.functional.log_softmax(...transpose(1, 2), dim=-1)``); ``CTCLoss``
subclassing ``nn.CTCLoss`` with ``blank=num_classes`` (the last index), ``reduction='none'``
under its ``'mean_batch'`` option and the ``losses.mean()`` reduction, ``log_probs.transpose(1,
0)`` and the ``.long()`` lengths; ``normalize_batch`` "per_feature" (``x[i, :, :seq_len[i]]
.mean(dim=1)``/``.std(dim=1)`` per utterance, ``x_std += CONSTANT``, ``(x - x_mean.unsqueeze(2))
/ x_std.unsqueeze(2)``); greedy CTC decoding (``log_probs.argmax(dim=-1)``, collapsing repeats
and dropping ``blank_id``) and a word error rate; ``AdamW`` with ``CosineAnnealingLR``.

Changed: the LibriSpeech mel features are seeded NumPy frames (16 features, at most 24 frames,
three utterances of different lengths); QuartzNet 5x5 (256-512 channels) -> prologue + two
blocks of 12 channels, one repeat; NeMo's ``Novograd`` is ``AdamW``; ``editdistance`` is a
NumPy Levenshtein distance over characters; 4 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

NUM_CLASSES, FEAT = 5, 16


def _classes(torch_like: Any) -> dict[str, type]:
    torch = torch_like
    nn = torch.nn

    class MaskedConv1d(nn.Module):
        __constants__ = ["use_conv_mask", "real_out_channels", "heads"]

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                     dilation=1, groups=1, bias=False, use_mask=True):  # noqa: ANN001 # fmt: skip
            super(MaskedConv1d, self).__init__()  # noqa: UP008
            self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride,
                                  padding=padding, dilation=dilation, groups=groups,
                                  bias=bias)  # fmt: skip
            self.use_mask = use_mask

        def get_seq_len(self, lens):  # noqa: ANN001, ANN202
            return (
                lens
                + self.conv.padding[0] * 2
                - self.conv.dilation[0] * (self.conv.kernel_size[0] - 1)
                - 1
            ) // self.conv.stride[0] + 1

        def forward(self, x, lens):  # noqa: ANN001, ANN202
            if self.use_mask:
                lens = lens.to(dtype=torch.long)
                max_len = x.size(2)
                mask = torch.arange(max_len).to(lens.device).expand(
                    len(lens), max_len
                ) >= lens.unsqueeze(1)
                x = x.masked_fill(mask.unsqueeze(1).to(device=x.device), 0)
                lens = self.get_seq_len(lens)
            out = self.conv(x)
            return out, lens

    class JasperBlock(nn.Module):
        def __init__(self, inplanes, planes, repeat=1, kernel_size=11, stride=1, dilation=1,
                     dropout=0.2, residual=True, separable=True):  # noqa: ANN001 # fmt: skip
            super(JasperBlock, self).__init__()  # noqa: UP008
            padding_val = (dilation * (kernel_size - 1)) // 2
            self.separable = separable
            inplanes_loop = inplanes
            conv = nn.ModuleList()
            for _ in range(repeat - 1):
                conv.extend(self._get_conv_bn_layer(inplanes_loop, planes, kernel_size,
                                                    stride, dilation, padding_val))  # fmt: skip
                conv.extend(self._get_act_dropout_layer(drop_prob=dropout))
                inplanes_loop = planes
            conv.extend(self._get_conv_bn_layer(inplanes_loop, planes, kernel_size, stride,
                                                dilation, padding_val))  # fmt: skip
            self.mconv = conv
            self.res = None
            if residual:
                res_list = nn.ModuleList()
                res_list.append(nn.ModuleList(self._get_conv_bn_layer(inplanes, planes,
                                                                      kernel_size=1)))  # fmt: skip
                self.res = res_list
            self.mout = nn.Sequential(*self._get_act_dropout_layer(drop_prob=dropout))

        def _get_conv_bn_layer(self, in_channels, out_channels, kernel_size=11, stride=1,
                               dilation=1, padding=0):  # noqa: ANN001, ANN202 # fmt: skip
            if self.separable and kernel_size > 1:
                layers = [
                    MaskedConv1d(
                        in_channels,
                        in_channels,
                        kernel_size,
                        stride=stride,
                        dilation=dilation,
                        padding=padding,
                        groups=in_channels,
                    ),  # fmt: skip
                    MaskedConv1d(
                        in_channels, out_channels, kernel_size=1, stride=1, dilation=1, padding=0
                    ),  # fmt: skip
                ]
            else:
                layers = [MaskedConv1d(in_channels, out_channels, kernel_size, stride=stride,
                                       dilation=dilation, padding=padding)]  # fmt: skip
            layers.append(nn.BatchNorm1d(out_channels, eps=1e-3, momentum=0.1))
            return layers

        def _get_act_dropout_layer(self, drop_prob=0.2):  # noqa: ANN001, ANN202
            return [nn.ReLU(inplace=True), nn.Dropout(p=drop_prob)]

        def forward(self, input_):  # noqa: ANN001, ANN202
            xs, lens_orig = input_
            # compute forward convolutions
            out = xs[-1]
            lens = lens_orig
            for _i, l in enumerate(self.mconv):
                # if we're doing masked convolutions, we need to pass in and
                # possibly update the sequence lengths
                if isinstance(l, MaskedConv1d):
                    out, lens = l(out, lens)
                else:
                    out = l(out)
            # compute the residuals
            if self.res is not None:
                for i, layer in enumerate(self.res):
                    res_out = xs[i]
                    for _j, res_layer in enumerate(layer):
                        if isinstance(res_layer, MaskedConv1d):
                            res_out, _ = res_layer(res_out, lens_orig)
                        else:
                            res_out = res_layer(res_out)
                    out = out + res_out
            # compute the output
            out = self.mout(out)
            return [out], lens

    class ConvASREncoder(nn.Module):
        def __init__(self, feat_in, jasper):  # noqa: ANN001
            super().__init__()
            encoder_layers = []
            for lcfg in jasper:
                encoder_layers.append(
                    JasperBlock(
                        feat_in,
                        lcfg["filters"],
                        repeat=lcfg["repeat"],
                        kernel_size=lcfg["kernel"],
                        stride=lcfg["stride"],
                        dropout=lcfg["dropout"],
                        residual=lcfg["residual"],
                        separable=lcfg["separable"],
                    )  # fmt: skip
                )
                feat_in = lcfg["filters"]
            self._feat_out = feat_in
            self.encoder = torch.nn.Sequential(*encoder_layers)

        def forward(self, audio_signal, length):  # noqa: ANN001, ANN202
            s_input, length = self.encoder(([audio_signal], length))
            return s_input[-1], length

    class ConvASRDecoder(nn.Module):
        def __init__(self, feat_in, num_classes):  # noqa: ANN001
            super().__init__()
            self._feat_in = feat_in
            # Add 1 for blank char
            self._num_classes = num_classes + 1
            self.decoder_layers = torch.nn.Sequential(
                torch.nn.Conv1d(self._feat_in, self._num_classes, kernel_size=1, bias=True)
            )

        def forward(self, encoder_output):  # noqa: ANN001, ANN202
            return torch.nn.functional.log_softmax(
                self.decoder_layers(encoder_output).transpose(1, 2), dim=-1
            )

    class QuartzNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            jasper = [
                dict(
                    filters=12,
                    repeat=1,
                    kernel=5,
                    stride=2,
                    dropout=0.0,
                    residual=False,
                    separable=True,
                ),  # fmt: skip
                dict(
                    filters=12,
                    repeat=2,
                    kernel=3,
                    stride=1,
                    dropout=0.1,
                    residual=True,
                    separable=True,
                ),  # fmt: skip
                dict(
                    filters=12,
                    repeat=1,
                    kernel=1,
                    stride=1,
                    dropout=0.0,
                    residual=False,
                    separable=True,
                ),  # fmt: skip
            ]
            self.encoder = ConvASREncoder(FEAT, jasper)
            self.decoder = ConvASRDecoder(12, NUM_CLASSES)

        def forward(self, processed_signal, processed_signal_length):  # noqa: ANN001, ANN202
            encoded, encoded_len = self.encoder(processed_signal, processed_signal_length)
            log_probs = self.decoder(encoded)
            greedy_predictions = log_probs.argmax(dim=-1, keepdim=False)
            return log_probs, encoded_len, greedy_predictions

    class CTCLoss(nn.CTCLoss):
        def __init__(self, num_classes, zero_infinity=False, reduction="mean_batch"):  # noqa: ANN001
            self._blank = num_classes
            # Don't forget to properly call base constructor
            if reduction not in ["none", "mean", "sum", "mean_batch", "mean_volume"]:
                raise ValueError("`reduction` must be one of [mean, sum, mean_batch, mean_volume]")

            self.config_reduction = reduction
            if reduction == "mean_batch" or reduction == "mean_volume":
                ctc_reduction = "none"
                self._apply_reduction = True
            elif reduction in ["sum", "mean", "none"]:
                ctc_reduction = reduction
                self._apply_reduction = False
            super().__init__(blank=self._blank, reduction=ctc_reduction,
                             zero_infinity=zero_infinity)  # fmt: skip

        def reduce(self, losses, target_lengths):  # noqa: ANN001, ANN201
            if self.config_reduction == "mean_batch":
                losses = losses.mean()  # global batch size average
            elif self.config_reduction == "mean_volume":
                losses = losses.sum() / target_lengths.sum()  # longer samples weigh more
            return losses

        def forward(self, log_probs, targets, input_lengths, target_lengths):  # noqa: ANN001, ANN201
            # override forward implementation
            # custom logic, if necessary
            input_lengths = input_lengths.long()
            target_lengths = target_lengths.long()
            targets = targets.long()
            # here we transpose because we expect [B, T, D] while PyTorch assumes [T, B, D]
            log_probs = log_probs.transpose(1, 0)
            loss = super().forward(log_probs=log_probs, targets=targets,
                                   input_lengths=input_lengths,
                                   target_lengths=target_lengths)  # fmt: skip
            if self._apply_reduction:
                loss = self.reduce(loss, target_lengths)
            return loss

    return {"model": QuartzNet, "loss": CTCLoss}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["model"]()


def _levenshtein(a: list[int], b: list[int]) -> int:
    d = np.arange(len(b) + 1)
    for i, x in enumerate(a, 1):
        prev, d[0] = d.copy(), i
        for j, y in enumerate(b, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (x != y))
    return int(d[-1])


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    CONSTANT = 1e-5  # noqa: N806

    def normalize_batch(x, seq_len, normalize_type):  # noqa: ANN001, ANN202
        x_mean = None
        x_std = None
        if normalize_type == "per_feature":
            x_mean = torch.zeros((seq_len.shape[0], x.shape[1]), dtype=x.dtype, device=x.device)
            x_std = torch.zeros((seq_len.shape[0], x.shape[1]), dtype=x.dtype, device=x.device)
            for i in range(x.shape[0]):
                if x[i, :, : seq_len[i]].shape[1] == 1:
                    raise ValueError("normalize_batch with `per_feature` normalize_type "
                                     "received a tensor of length 1.")  # fmt: skip
                x_mean[i, :] = x[i, :, : seq_len[i]].mean(dim=1)
                x_std[i, :] = x[i, :, : seq_len[i]].std(dim=1)
            # make sure x_std is not zero
            x_std += CONSTANT
            return (x - x_mean.unsqueeze(2)) / x_std.unsqueeze(2), x_mean, x_std
        return x, x_mean, x_std

    def ctc_decoder_predictions_tensor(predictions, predictions_len, blank_id):  # noqa: ANN001, ANN202
        hypotheses = []
        prediction_cpu_tensor = predictions.long().cpu()
        for ind in range(prediction_cpu_tensor.shape[0]):
            prediction = prediction_cpu_tensor[ind].detach().numpy().tolist()
            prediction = prediction[: predictions_len[ind]]
            # CTC decoding procedure
            decoded_prediction = []
            previous = blank_id
            for p in prediction:
                if (p != previous or previous == blank_id) and p != blank_id:
                    decoded_prediction.append(p)
                previous = p
            hypotheses.append(decoded_prediction)
        return hypotheses

    rng = np.random.default_rng(11)
    lengths = np.array([24, 19, 14])
    feats = rng.standard_normal((3, FEAT, 24))
    feats[:, :, :] += np.sin(np.arange(24) / 3.0)[None, None, :]
    transcripts = [[0, 1, 2, 1], [3, 3, 4], [2, 0]]
    targets = np.zeros((3, 4), dtype=np.int64)
    for i, t in enumerate(transcripts):
        targets[i, : len(t)] = t
    target_lengths = torch.tensor([len(t) for t in transcripts], dtype=torch.int32)

    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_fn = _classes(torch_like)["loss"](num_classes=NUM_CLASSES, zero_infinity=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02, betas=(0.95, 0.5),
                                  weight_decay=1e-3)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=1e-4)
    seq_len = torch.tensor(lengths)
    processed, x_mean, _ = normalize_batch(torch.tensor(feats), seq_len, "per_feature")
    values: list[float] = [x_mean.sum().item()]
    for _step in range(4):
        model.train()
        optimizer.zero_grad()
        log_probs, encoded_len, predictions = model(processed, seq_len)
        loss_value = loss_fn(log_probs=log_probs, targets=torch.tensor(targets),
                             input_lengths=encoded_len, target_lengths=target_lengths)  # fmt: skip
        loss_value.backward()
        optimizer.step()
        scheduler.step()
        values += [loss_value.item(), optimizer.param_groups[0]["lr"]]
    values += encoded_len.tolist()
    model.eval()
    with torch.no_grad():
        log_probs, encoded_len, predictions = model(processed, seq_len)
    hyps = ctc_decoder_predictions_tensor(predictions, encoded_len, blank_id=NUM_CLASSES)
    words = sum(len(t) for t in transcripts)
    scores = sum(_levenshtein(h, t) for h, t in zip(hyps, transcripts))
    values += [scores / words, log_probs.sum().item()]
    values += predictions.flatten().tolist()
    sum_loss = _classes(torch_like)["loss"](num_classes=NUM_CLASSES, reduction="mean_volume")
    values.append(sum_loss(log_probs, torch.tensor(targets), encoded_len, target_lengths).item())
    try:
        _classes(torch_like)["loss"](num_classes=NUM_CLASSES, reduction="batch")
    except ValueError:
        values.append(1.0)
    return values
