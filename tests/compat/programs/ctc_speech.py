"""A toy speech recogniser trained with CTC, as the DeepSpeech-style tutorials write it: a
bidirectional ``nn.GRU`` over padded feature frames (packed by length), a ``Linear`` to the
character classes, ``log_softmax(2)`` in the ``(T, N, C)`` layout, ``nn.CTCLoss(blank=0,
zero_infinity=True)`` fed both the concatenated 1-d targets and the padded 2-d targets with
``input_lengths``/``target_lengths``, and greedy decoding with ``argmax`` and
``unique_consecutive`` that drops the blanks. A small convolutional feature encoder is
frozen (``requires_grad = False``) and the optimizer still gets ``model.parameters()``. The
loss runs inside ``torch.backends.cudnn.flags(enabled=False)``, as ESPnet guards its CTC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_FEATS, HIDDEN, N_CLASS, T_MAX = 6, 8, 6, 10  # class 0 is the CTC blank


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SpeechModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # a "pretrained" feature encoder, frozen for fine-tuning (length-preserving)
            self.feature_extractor = nn.Sequential(
                nn.Conv1d(N_FEATS, N_FEATS, kernel_size=3, padding=1), nn.GELU()
            )
            self.rnn = nn.GRU(N_FEATS, HIDDEN, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(HIDDEN * 2, N_CLASS)

        def freeze_feature_encoder(self) -> None:
            for param in self.feature_extractor.parameters():
                param.requires_grad = False

        def forward(self, feats: Any, lengths: Any) -> Any:
            feats = self.feature_extractor(feats.transpose(1, 2)).transpose(1, 2)
            packed = nn.utils.rnn.pack_padded_sequence(
                feats, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            out, _ = self.rnn(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T_MAX)
            x = self.fc(out)  # (N, T, C)
            x = x.transpose(0, 1)  # (T, N, C), the layout CTCLoss reads
            return x.log_softmax(2)

    return SpeechModel()


def greedy_decode(torch_like: Any, log_probs: Any, lengths: Any) -> list[list[int]]:
    """Best path: the argmax class per frame, repeats merged, blanks dropped."""
    best = torch_like.argmax(log_probs, dim=2).transpose(0, 1)  # (N, T)
    decoded = []
    for i in range(best.size(0)):
        path = torch_like.unique_consecutive(best[i, : lengths[i]])
        decoded.append([int(c) for c in path if c != 0])
    return decoded


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(53)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.freeze_feature_encoder()
    criterion = torch_like.nn.CTCLoss(blank=0, zero_infinity=True)
    # all parameters, the frozen ones included (they get no gradient, so Adam skips them)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=0.1)

    input_lengths = as_tensor(torch_like, np.array([10, 8, 9, 6]))
    # the transcripts, one label tensor each (int32, as many data pipelines store them); the
    # last utterance is too short for its 5 labels with repeats: an infinite loss, zeroed by
    # zero_infinity
    transcripts = [
        torch_like.from_numpy(rng.integers(1, N_CLASS, n).astype(np.int32)) for n in (4, 3, 2)
    ]
    transcripts.append(torch_like.IntTensor([1, 1, 2, 2, 3]))
    target_lengths = torch_like.tensor([len(t) for t in transcripts], dtype=torch_like.long)
    targets_2d = torch_like.nn.utils.rnn.pad_sequence(
        transcripts, batch_first=True, padding_value=0
    )
    targets_1d = torch_like.cat(transcripts)
    feats_np = rng.standard_normal((4, T_MAX, N_FEATS))
    for i, n in enumerate([10, 8, 9, 6]):
        feats_np[i, n:] = 0.0
    feats = as_tensor(torch_like, feats_np)

    values: list[float] = []
    model.train()
    for step in range(6):
        optimizer.zero_grad()
        log_probs = model(feats, input_lengths)
        with torch_like.backends.cudnn.flags(enabled=False):  # ESPnet's guard around CTC
            if step % 2 == 0:
                loss = criterion(log_probs, targets_1d, input_lengths, target_lengths)
            else:
                loss = criterion(log_probs, targets_2d, input_lengths, target_lengths)
        loss.backward()
        torch_like.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        values.append(loss.item())

    model.eval()
    with torch_like.no_grad():
        log_probs = model(feats, input_lengths)
        per_utt = torch_like.nn.functional.ctc_loss(
            log_probs,
            targets_2d,
            input_lengths,
            target_lengths,
            blank=0,
            reduction="none",
            zero_infinity=True,
        )
        values.extend(per_utt.tolist())
        summed = torch_like.nn.CTCLoss(reduction="sum")(
            log_probs[:, :3], targets_1d[:9], input_lengths[:3], target_lengths[:3]
        )
        values.append(summed.item())
        best = log_probs.argmax(-1)[:, 0]
        path, counts = torch_like.unique_consecutive(best, return_counts=True)
        values.extend(path.tolist() + counts.tolist())
        for seq in greedy_decode(torch_like, log_probs, input_lengths):
            values.append(len(seq))
            values.extend(seq)
        values.extend(log_probs[:, 0].exp().sum(-1).tolist())
    return values
