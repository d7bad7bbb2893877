"""The GE2E speaker encoder (Wan et al., 2018) as CorentinJ/Real-Time-Voice-Cloning writes it
(``encoder/model.py``'s ``SpeakerEncoder``, ``encoder/train.py``'s loop, ``encoder/
inference.py``'s ``embed_utterance``), size-reduced.

The idioms: ``nn.LSTM(input_size=mel_n_channels, hidden_size=model_hidden_size,
num_layers=model_num_layers, batch_first=True).to(device)`` and the embedding from
``hidden[-1]`` (``out, (hidden, cell) = self.lstm(utterances, hidden_init)``, ``embeds_raw =
self.relu(self.linear(hidden[-1]))``, ``embeds_raw / (torch.norm(embeds_raw, dim=1,
keepdim=True) + 1e-5)``); the scaling parameters made as ``nn.Parameter(torch.tensor([10.])).
to(loss_device)``; ``similarity_matrix`` (inclusive centroids ``torch.mean(embeds, dim=1,
keepdim=True)`` with ``centroids_incl.clone() / (torch.norm(...) + 1e-5)``, exclusive ones
``(torch.sum(embeds, dim=1, keepdim=True) - embeds)`` divided in place by
``(utterances_per_speaker - 1)``, ``torch.zeros(...).to(self.loss_device)`` filled by the
NumPy-indexed assignments ``sim_matrix[mask, :, j] = (embeds[mask] * centroids_incl[j]).
sum(dim=2)`` with ``mask = np.where(mask_matrix[j])[0]`` and ``sim_matrix[j, :, j] = ...``,
then ``sim_matrix * self.similarity_weight + self.similarity_bias``); ``loss`` (``target =
torch.from_numpy(ground_truth).long().to(self.loss_device)`` from ``np.repeat(np.arange(
speakers_per_batch), utterances_per_speaker)``, ``nn.CrossEntropyLoss``, the EER under
``torch.no_grad()`` from ``sim_matrix.detach().cpu().numpy()``); ``do_gradient_ops`` (``self.
similarity_weight.grad *= 0.01`` and ``clip_grad_norm_(self.parameters(), 3, norm_type=2)``);
the step ``embeds.view((speakers_per_batch, utterances_per_speaker, -1)).to(loss_device)``,
``model.zero_grad()``; ``embed_utterance``'s partial slices through ``torch.from_numpy(frames_
batch).to(_device)``, ``_model.forward(frames).detach().cpu().numpy()`` and the NumPy averaging
``raw_embed / np.linalg.norm(raw_embed, 2)``.

Changed: 40 mel channels -> 6, hidden 256 -> 12, embedding 256 -> 8, 3 layers -> 2, 64 speakers
x 10 utterances -> 3 x 3 of 7 frames (NumPy-drawn "mel frames", not librosa); the EER's
``sklearn.metrics.roc_curve`` and ``scipy.optimize.brentq`` -> the same crossing computed in
NumPy; ``np.int`` (removed from NumPy) -> ``int``; ``Adam`` lr 1e-4 -> 1e-2; a few steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

MEL, HIDDEN, EMBED, LAYERS = 6, 12, 8, 2
SPEAKERS, UTTERANCES, FRAMES, STEPS = 3, 3, 7, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    clip_grad_norm_ = torch.nn.utils.clip_grad_norm_
    device = loss_device = torch.device("cpu")

    class SpeakerEncoder(nn.Module):
        def __init__(self, device, loss_device):  # noqa: ANN001
            super().__init__()
            self.loss_device = loss_device

            # Network defition
            self.lstm = nn.LSTM(input_size=MEL, hidden_size=HIDDEN, num_layers=LAYERS,
                                batch_first=True).to(device)  # fmt: skip
            self.linear = nn.Linear(in_features=HIDDEN, out_features=EMBED).to(device)
            self.relu = torch.nn.ReLU().to(device)

            # Cosine similarity scaling (with fixed initial parameter values)
            self.similarity_weight = nn.Parameter(torch.tensor([10.0])).to(loss_device)
            self.similarity_bias = nn.Parameter(torch.tensor([-5.0])).to(loss_device)

            # Loss
            self.loss_fn = nn.CrossEntropyLoss().to(loss_device)

        def do_gradient_ops(self):  # noqa: ANN202
            # Gradient scale
            self.similarity_weight.grad *= 0.01
            self.similarity_bias.grad *= 0.01

            # Gradient clipping
            clip_grad_norm_(self.parameters(), 3, norm_type=2)

        def forward(self, utterances, hidden_init=None):  # noqa: ANN001, ANN202
            # Pass the input through the LSTM layers and retrieve all outputs, the final hidden
            # state and the final cell state.
            out, (hidden, cell) = self.lstm(utterances, hidden_init)

            # We take only the hidden state of the last layer
            embeds_raw = self.relu(self.linear(hidden[-1]))

            # L2-normalize it
            embeds = embeds_raw / (torch.norm(embeds_raw, dim=1, keepdim=True) + 1e-5)

            return embeds

        def similarity_matrix(self, embeds):  # noqa: ANN001, ANN202
            speakers_per_batch, utterances_per_speaker = embeds.shape[:2]

            # Inclusive centroids (1 per speaker). Cloning is needed for reverse differentiation
            centroids_incl = torch.mean(embeds, dim=1, keepdim=True)
            centroids_incl = centroids_incl.clone() / (
                torch.norm(centroids_incl, dim=2, keepdim=True) + 1e-5
            )

            # Exclusive centroids (1 per utterance)
            centroids_excl = torch.sum(embeds, dim=1, keepdim=True) - embeds
            centroids_excl /= utterances_per_speaker - 1
            centroids_excl = centroids_excl.clone() / (
                torch.norm(centroids_excl, dim=2, keepdim=True) + 1e-5
            )

            # Similarity matrix. The cosine similarity of already 2-normed vectors is simply the
            # dot product of these vectors (which is just an element-wise multiplication reduced
            # by a sum). We vectorize the computation for efficiency.
            sim_matrix = torch.zeros(
                speakers_per_batch, utterances_per_speaker, speakers_per_batch
            ).to(self.loss_device)
            mask_matrix = 1 - np.eye(speakers_per_batch, dtype=int)
            for j in range(speakers_per_batch):
                mask = np.where(mask_matrix[j])[0]
                sim_matrix[mask, :, j] = (embeds[mask] * centroids_incl[j]).sum(dim=2)
                sim_matrix[j, :, j] = (embeds[j] * centroids_excl[j]).sum(dim=1)

            sim_matrix = sim_matrix * self.similarity_weight + self.similarity_bias
            return sim_matrix

        def loss(self, embeds):  # noqa: ANN001, ANN202
            speakers_per_batch, utterances_per_speaker = embeds.shape[:2]

            # Loss
            sim_matrix = self.similarity_matrix(embeds)
            sim_matrix = sim_matrix.reshape(
                (speakers_per_batch * utterances_per_speaker, speakers_per_batch)
            )
            ground_truth = np.repeat(np.arange(speakers_per_batch), utterances_per_speaker)
            target = torch.from_numpy(ground_truth).long().to(self.loss_device)
            loss = self.loss_fn(sim_matrix, target)

            # EER (not backpropagated)
            with torch.no_grad():
                inv_argmax = lambda i: np.eye(1, speakers_per_batch, i, dtype=int)[0]  # noqa: E731
                labels = np.array([inv_argmax(i) for i in ground_truth])
                preds = sim_matrix.detach().cpu().numpy()
                eer = _eer(labels.flatten(), preds.flatten())

            return loss, eer

    return SpeakerEncoder(device, loss_device)


def _eer(labels: np.ndarray, scores: np.ndarray) -> float:
    """The equal error rate: where the false-positive rate meets the miss rate, on the ROC
    curve's thresholds (what ``roc_curve`` + ``brentq`` find, without the interpolation)."""
    best = 1.0
    for t in np.unique(scores):
        fpr = np.mean(scores[labels == 0] >= t)
        fnr = np.mean(scores[labels == 1] < t)
        best = min(best, max(fpr, fnr))
    return float(best)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    device = loss_device = torch.device("cpu")
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(SPEAKERS, 1, 1, MEL))
    values: list[float] = []
    for _ in range(STEPS):
        data = centres + 0.5 * rng.normal(size=(SPEAKERS, UTTERANCES, FRAMES, MEL))
        data = data.reshape(SPEAKERS * UTTERANCES, FRAMES, MEL)
        inputs = torch.from_numpy(data).to(device)
        embeds = model(inputs)
        embeds_loss = embeds.view((SPEAKERS, UTTERANCES, -1)).to(loss_device)
        loss, eer = model.loss(embeds_loss)
        model.zero_grad()
        loss.backward()
        model.do_gradient_ops()
        optimizer.step()
        values.extend([loss.item(), eer, model.similarity_weight.item()])

    # embed_utterance: partial utterances of a long one, averaged and re-normalised in NumPy
    wav_frames = centres[0, 0] + 0.5 * rng.normal(size=(2 * FRAMES, MEL))
    mel_slices = [slice(i, i + FRAMES) for i in range(0, FRAMES + 1, FRAMES // 2)]
    frames_batch = np.array([wav_frames[s] for s in mel_slices])
    frames = torch.from_numpy(frames_batch).to(device)
    with torch.no_grad():
        partial_embeds = model.forward(frames).detach().cpu().numpy()
    raw_embed = np.mean(partial_embeds, axis=0)
    embed = raw_embed / np.linalg.norm(raw_embed, 2)
    values.extend(embed.tolist())
    return values
