"""Image captioning with a CNN encoder and an LSTM decoder, as yunjey/pytorch-tutorial's
``image_captioning`` (``model.py``, ``train.py``, ``sample.py``, ``data_loader.py``) writes it,
size-reduced and without torchvision's pretrained ResNet: ``EncoderCNN`` (a small conv trunk
standing in for ``resnet.children()[:-1]``, its features taken under ``torch.no_grad()``,
``features.reshape(features.size(0), -1)``, ``nn.Linear`` (here without the bias a
training-mode BatchNorm cancels) and ``nn.BatchNorm1d(embed_size, momentum=0.01)``),
``DecoderRNN`` (``nn.Embedding``, ``nn.LSTM(embed_size, hidden_size, num_layers,
batch_first=True)``, ``torch.cat((features.unsqueeze(1), embeddings), 1)``,
``pack_padded_sequence(embeddings, lengths, batch_first=True)`` with its default
``enforce_sorted=True``, ``self.linear(hiddens[0])`` on the packed data) and its greedy
``sample`` (``inputs = features.unsqueeze(1)``, ``hiddens, states = self.lstm(inputs,
states)``, ``outputs.max(1)``, ``self.embed(predicted).unsqueeze(1)``, ``torch.stack(
sampled_ids, 1)``); the data loader's ``collate_fn`` (``data.sort(key=lambda x: len(x[1]),
reverse=True)``, ``zip(*data)``, ``torch.stack(images, 0)``, ``torch.zeros(len(captions),
max(lengths)).long()`` filled row by row); the training step (``targets =
pack_padded_sequence(captions, lengths, batch_first=True)[0]``, ``criterion(outputs,
targets)``, ``decoder.zero_grad()``/``encoder.zero_grad()``, ``Adam`` over the decoder and the
encoder's ``linear``/``bn`` parameters, ``nn.utils.clip_grad_norm_``), and a second greedy
decoder with ``nn.LSTMCell`` (sgrvinod's a-PyTorch-Tutorial-to-Image-Captioning style:
``h, c = self.decode_step(embeddings, (h, c))``, ``init_h``/``init_c`` from the mean encoder
feature, decoding until every row has emitted ``<end>``), checked against the ``nn.LSTM``
greedy path on the same weights, and sgrvinod's beam search (``scores.view(-1).topk(k, 0, True,
True)``, ``top_k_words // vocab_size``, ``torch.LongTensor([[start]] * k)``, hypotheses kept
or finished by Python lists of indices, ``h[prev_word_inds[incomplete_inds]]``,
``complete_seqs_scores.index(max(complete_seqs_scores))`` over 0-d tensors) on an
``nn.LSTMCell`` loaded from the ``nn.LSTM``'s parameters by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

VOCAB, EMBED, HIDDEN, LAYERS, MAX_SEQ, SIZE, BATCH, STEPS = 12, 6, 7, 1, 6, 8, 4, 30
START, END, PAD = 1, 2, 0


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    pack_padded_sequence = torch_like.nn.utils.rnn.pack_padded_sequence

    class EncoderCNN(nn.Module):
        def __init__(self, embed_size: int) -> None:
            """A frozen conv trunk (the tutorial's pretrained ResNet-152 minus its fc)."""
            super().__init__()
            modules = [
                nn.Conv2d(3, 4, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 4, 3, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d((1, 1)),
            ]
            self.resnet = nn.Sequential(*modules)
            # bias=False: before a training-mode BatchNorm its gradient is zero up to
            # rounding, which Adam's normalised step turns into lr-sized random moves
            self.linear = nn.Linear(4, embed_size, bias=False)
            self.bn = nn.BatchNorm1d(embed_size, momentum=0.01)

        def forward(self, images: Any) -> Any:
            with torch.no_grad():
                features = self.resnet(images)
            features = features.reshape(features.size(0), -1)
            return self.bn(self.linear(features))

    class DecoderRNN(nn.Module):
        def __init__(
            self,
            embed_size: int,
            hidden_size: int,
            vocab_size: int,
            num_layers: int,
            max_seq_length: int = 20,
        ) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
            self.linear = nn.Linear(hidden_size, vocab_size)
            self.max_seg_length = max_seq_length

        def forward(self, features: Any, captions: Any, lengths: list[int]) -> Any:
            embeddings = self.embed(captions)
            embeddings = torch.cat((features.unsqueeze(1), embeddings), 1)
            packed = pack_padded_sequence(embeddings, lengths, batch_first=True)
            hiddens, _ = self.lstm(packed)
            return self.linear(hiddens[0])

        def sample(self, features: Any, states: Any = None) -> Any:
            """Generate captions for given image features using greedy search."""
            sampled_ids = []
            inputs = features.unsqueeze(1)
            for _i in range(self.max_seg_length):
                hiddens, states = self.lstm(inputs, states)  # (batch_size, 1, hidden_size)
                outputs = self.linear(hiddens.squeeze(1))  # (batch_size, vocab_size)
                _, predicted = outputs.max(1)  # predicted: (batch_size)
                sampled_ids.append(predicted)
                inputs = self.embed(predicted)  # (batch_size, embed_size)
                inputs = inputs.unsqueeze(1)  # (batch_size, 1, embed_size)
            return torch.stack(sampled_ids, 1)  # (batch_size, max_seq_length)

    class Captioner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = EncoderCNN(EMBED)
            self.decoder = DecoderRNN(EMBED, HIDDEN, VOCAB, LAYERS, MAX_SEQ)

    return Captioner()


def collate_fn(torch_like: Any, data: list[tuple[Any, list[int]]]) -> tuple[Any, Any, list[int]]:
    """Creates mini-batch tensors from the list of tuples (image, caption), longest first."""
    data.sort(key=lambda x: len(x[1]), reverse=True)
    images, captions = zip(*data, strict=True)
    images = torch_like.stack(images, 0)
    lengths = [len(cap) for cap in captions]
    targets = torch_like.zeros(len(captions), max(lengths)).long()
    for i, cap in enumerate(captions):
        end = lengths[i]
        targets[i, :end] = torch_like.Tensor(cap)[:end]
    return images, targets, lengths


def cell_greedy(torch_like: Any, decoder: Any, features: Any) -> tuple[Any, Any]:
    """Greedy decoding with an ``LSTMCell`` carrying the ``nn.LSTM``'s weights, stopping once
    every caption has emitted ``<end>`` (sgrvinod's loop, with a fixed feature input)."""
    nn = torch_like.nn
    lstm = decoder.lstm
    cell = nn.LSTMCell(EMBED, HIDDEN)
    with torch_like.no_grad():
        cell.weight_ih.copy_(lstm.weight_ih_l0)
        cell.weight_hh.copy_(lstm.weight_hh_l0)
        cell.bias_ih.copy_(lstm.bias_ih_l0)
        cell.bias_hh.copy_(lstm.bias_hh_l0)
    batch = features.size(0)
    h = features.new_zeros(batch, HIDDEN)
    c = torch_like.zeros_like(h)
    inputs = features
    finished = torch_like.zeros(batch, dtype=torch_like.bool)
    seqs, scores = [], []
    step = 0
    while step < MAX_SEQ and not bool(finished.all()):
        h, c = cell(inputs, (h, c))
        log_probs = torch_like.log_softmax(decoder.linear(h), dim=1)
        score, predicted = log_probs.max(dim=1)
        predicted = predicted.masked_fill(finished, PAD)
        seqs.append(predicted)
        scores.append(score.masked_fill(finished, 0.0))
        finished = finished | (predicted == END)
        inputs = decoder.embed(predicted)
        step += 1
    return torch_like.stack(seqs, 1), torch_like.stack(scores, 1).sum(1)


def beam_search(torch_like: Any, decoder: Any, feature: Any, beam_size: int = 3) -> list:
    """sgrvinod's ``caption_image_beam_search`` for one image, on an ``LSTMCell`` that carries
    the decoder's weights: ``k`` hypotheses, ``scores.view(-1).topk(k, 0, True, True)``,
    ``prev_word_inds = top_k_words // vocab_size``, ``next_word_inds = top_k_words %
    vocab_size``, complete ones set aside at ``<end>``, the rest continued on ``h[...]``."""
    torch = torch_like
    F = torch_like.nn.functional
    k = beam_size
    cell = torch.nn.LSTMCell(EMBED, HIDDEN)
    cell.load_state_dict({n[: -len("_l0")]: p for n, p in decoder.lstm.named_parameters()})
    h, c = cell(feature.expand(k, EMBED))  # the image feature is the first input
    k_prev_words = torch.LongTensor([[START]] * k)  # (k, 1)
    seqs = k_prev_words  # (k, 1)
    top_k_scores = torch.zeros(k, 1)  # (k, 1)
    complete_seqs, complete_seqs_scores = [], []
    step = 1
    while True:
        embeddings = decoder.embed(k_prev_words).squeeze(1)  # (s, embed_dim)
        h, c = cell(embeddings, (h, c))
        scores = F.log_softmax(decoder.linear(h), dim=1)
        scores = top_k_scores.expand_as(scores) + scores  # (s, vocab_size)
        if step == 1:
            top_k_scores, top_k_words = scores[0].topk(k, 0, True, True)  # (s)
        else:
            top_k_scores, top_k_words = scores.view(-1).topk(k, 0, True, True)  # (s)
        prev_word_inds = top_k_words // VOCAB  # (s)
        next_word_inds = top_k_words % VOCAB  # (s)
        seqs = torch.cat([seqs[prev_word_inds], next_word_inds.unsqueeze(1)], dim=1)
        incomplete_inds = [ind for ind, next_word in enumerate(next_word_inds) if next_word != END]
        complete_inds = list(set(range(len(next_word_inds))) - set(incomplete_inds))
        if len(complete_inds) > 0:
            complete_seqs.extend(seqs[complete_inds].tolist())
            complete_seqs_scores.extend(top_k_scores[complete_inds])
        k -= len(complete_inds)  # reduce beam length accordingly
        if k == 0:
            break
        seqs = seqs[incomplete_inds]
        h = h[prev_word_inds[incomplete_inds]]
        c = c[prev_word_inds[incomplete_inds]]
        top_k_scores = top_k_scores[incomplete_inds].unsqueeze(1)
        k_prev_words = next_word_inds[incomplete_inds].unsqueeze(1)
        if step > MAX_SEQ:
            complete_seqs.extend(seqs.tolist())
            complete_seqs_scores.extend(top_k_scores.squeeze(1))
            break
        step += 1
    i = complete_seqs_scores.index(max(complete_seqs_scores))
    return [*complete_seqs[i], float(complete_seqs_scores[i])]


def run(torch_like: Any, init: dict) -> list[float]:
    nn = torch_like.nn
    pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    encoder, decoder = model.encoder, model.decoder

    dataset = []
    for _ in range(BATCH):
        length = int(rng.integers(2, MAX_SEQ - 1))
        caption = [START, *rng.integers(3, VOCAB, length).tolist(), END]
        image = as_tensor(torch_like, rng.standard_normal((3, SIZE, SIZE)))
        dataset.append((image, caption))

    criterion = nn.CrossEntropyLoss()
    params = list(decoder.parameters()) + list(encoder.linear.parameters())
    params += list(encoder.bn.parameters())
    optimizer = torch_like.optim.Adam(params, lr=3e-2)
    values: list[float] = []
    encoder.train()
    decoder.train()
    for _step in range(STEPS):
        images, captions, lengths = collate_fn(torch_like, list(dataset))
        packed_targets = pack_padded_sequence(captions, lengths, batch_first=True)
        targets = packed_targets[0]
        features = encoder(images)
        outputs = decoder(features, captions, lengths)
        loss = criterion(outputs, targets)
        decoder.zero_grad()
        encoder.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(params, max_norm=1.0)
        optimizer.step()
        values += [loss.item(), norm.item(), float(targets.numel())]
        values += packed_targets.batch_sizes.tolist()
    values += encoder.bn.running_mean.tolist() + encoder.bn.running_var.tolist()

    encoder.eval()
    decoder.eval()
    with torch_like.no_grad():
        images, captions, lengths = collate_fn(torch_like, list(dataset))
        features = encoder(images)
        sampled_ids = decoder.sample(features)
        cell_ids, cell_scores = cell_greedy(torch_like, decoder, features)
    width = cell_ids.size(1)
    same_prefix = bool((sampled_ids[:, :width] == cell_ids).logical_or(cell_ids == PAD).all())
    values += sampled_ids.flatten().tolist() + cell_scores.tolist()
    with torch_like.no_grad():
        for i in range(2):
            values += beam_search(torch_like, decoder, features[i : i + 1])
    return [*values, float(width), float(same_prefix)]


def check(values: list[float]) -> None:
    assert values[-1] == 1.0  # LSTMCell and nn.LSTM decode the same greedy tokens
