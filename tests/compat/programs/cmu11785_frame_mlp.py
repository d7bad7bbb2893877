"""CMU 11-785 (Introduction to Deep Learning) homework 1 part 2, frame-level phoneme
classification from MFCCs (the starter notebook), size-reduced: ``AudioDataset
(torch.utils.data.Dataset)`` normalising each utterance (``(mfcc - np.mean(mfcc, axis=0)) /
(np.std(mfcc, axis=0) + 1e-8)``), concatenating them, mapping transcripts through
``PHONEMES.index``, padding the context with ``np.pad(self.mfccs, ((context, context), (0, 0)),
'constant', constant_values=0)``; ``__getitem__`` slicing ``self.mfccs[ind:ind + 2 *
self.context + 1]``, ``frames.flatten()``, ``torch.FloatTensor(frames)`` and
``torch.tensor(self.transcripts[ind])``; a test-set variant padding a tensor with
``torch.nn.functional.pad(x, (0, 0, context, context))`` and ``unfold``-free windows via
``x[i:i + 2 * context + 1].reshape(-1)``; ``DataLoader(..., num_workers=0, batch_size=...,
pin_memory=True, shuffle=True)``; the network ``torch.nn.Sequential(Linear, BatchNorm1d, GELU,
Dropout, ...)`` initialised by ``model.apply(init_weights)`` with
``torch.nn.init.kaiming_normal_``; ``torch.nn.CrossEntropyLoss(label_smoothing=0.1)``,
``torch.optim.AdamW``, ``torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='max',
factor=0.5, patience=0)`` stepped with the validation accuracy; the train loop's
``acc += torch.sum(torch.argmax(logits, dim=1) == phonemes).item() / logits.shape[0]``,
``del frames, phonemes, logits`` and ``torch.cuda.empty_cache()``; ``eval`` under
``torch.inference_mode()``; ``optimizer.param_groups[0]['lr']`` logged; test predictions
collected with ``predicted_phonemes.extend(...)`` and mapped back to phoneme strings.

Random MFCC-like arrays replace the LibriSpeech features. Sizes: 28 MFCCs -> 6, context 20 ->
2, 40 phonemes -> 5, hidden 2048 -> 16, batch 1024 -> 8, 3 epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
PHONEMES = ["[SIL]", "AA", "AE", "AH", "[SOS]"]
N_MFCC, CONTEXT = 6, 2


def _utterances(rng: np.random.Generator, n: int) -> tuple[list, list]:
    mfccs, transcripts = [], []
    for _ in range(n):
        length = int(rng.integers(6, 10))
        labels = rng.integers(0, len(PHONEMES), length)
        feats = rng.normal(size=(length, N_MFCC)) + labels[:, None] * 0.8
        mfccs.append(feats.astype(np.float32))
        transcripts.append(np.array([PHONEMES[i] for i in labels]))
    return mfccs, transcripts


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = np.random.default_rng(1785)

    class AudioDataset(torch.utils.data.Dataset):
        def __init__(self, mfcc_list: list, transcript_list: list, context: int = 0) -> None:
            self.context = context
            self.phonemes = PHONEMES
            self.mfccs, self.transcripts = [], []
            for mfcc, transcript in zip(mfcc_list, transcript_list):
                # Normalize the mfcc (cepstral mean and variance normalisation)
                mfcc = (mfcc - np.mean(mfcc, axis=0)) / (np.std(mfcc, axis=0) + 1e-8)
                self.mfccs.append(mfcc)
                self.transcripts.append(transcript)
            self.mfccs = np.concatenate(self.mfccs)
            self.transcripts = np.concatenate(self.transcripts)
            self.length = len(self.mfccs)
            self.mfccs = np.pad(
                self.mfccs, ((context, context), (0, 0)), "constant", constant_values=0
            )
            self.transcripts = np.array([self.phonemes.index(p) for p in self.transcripts])

        def __len__(self) -> int:
            return self.length

        def __getitem__(self, ind: int) -> tuple[Any, Any]:
            frames = self.mfccs[ind : ind + 2 * self.context + 1]
            frames = frames.flatten()
            frames = torch.FloatTensor(frames)
            phonemes = torch.tensor(self.transcripts[ind])
            return frames, phonemes

    class AudioTestDataset(torch.utils.data.Dataset):
        def __init__(self, mfcc_list: list, context: int = 0) -> None:
            self.context = context
            x = torch.cat([torch.from_numpy(m) for m in mfcc_list])
            x = (x - x.mean(dim=0, keepdim=True)) / (x.std(dim=0, unbiased=False) + 1e-8)
            self.length = x.shape[0]
            self.mfccs = torch.nn.functional.pad(x, (0, 0, context, context))

        def __len__(self) -> int:
            return self.length

        def __getitem__(self, ind: int) -> Any:
            return self.mfccs[ind : ind + 2 * self.context + 1].reshape(-1)

    train_data = AudioDataset(*_utterances(rng, 5), context=CONTEXT)
    val_data = AudioDataset(*_utterances(rng, 2), context=CONTEXT)
    test_mfccs, _ = _utterances(rng, 2)
    test_data = AudioTestDataset(test_mfccs, context=CONTEXT)
    generator = torch.Generator().manual_seed(0)
    train_loader = torch.utils.data.DataLoader(
        dataset=train_data,
        num_workers=0,
        batch_size=8,
        pin_memory=True,
        shuffle=True,
        drop_last=True,
        generator=generator,
    )
    val_loader = torch.utils.data.DataLoader(
        dataset=val_data, num_workers=0, batch_size=8, pin_memory=True, shuffle=False
    )
    test_loader = torch.utils.data.DataLoader(
        dataset=test_data, num_workers=0, batch_size=8, pin_memory=True, shuffle=False
    )
    input_size = (2 * CONTEXT + 1) * N_MFCC
    torch.manual_seed(11785)
    model = torch.nn.Sequential(
        # bias=False before BatchNorm1d (the bias is cancelled by the normalisation: its
        # gradient is rounding noise, which AdamW would blow up to lr-sized steps)
        torch.nn.Linear(input_size, 16, bias=False),
        torch.nn.BatchNorm1d(16),
        torch.nn.GELU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(16, 16, bias=False),
        torch.nn.BatchNorm1d(16),
        torch.nn.GELU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(16, len(PHONEMES)),
    ).to(device)

    def init_weights(m: Any) -> None:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)

    model.apply(init_weights)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=0
    )

    def train(model: Any, dataloader: Any, optimizer: Any, criterion: Any) -> tuple:
        model.train()
        tloss, tacc = 0, 0
        for i, (frames, phonemes) in enumerate(dataloader):  # noqa: B007 (the notebook's)
            optimizer.zero_grad()
            frames = frames.to(device)
            phonemes = phonemes.to(device)
            logits = model(frames)
            loss = criterion(logits, phonemes)
            loss.backward()
            optimizer.step()
            tloss += loss.item()
            tacc += torch.sum(torch.argmax(logits, dim=1) == phonemes).item() / logits.shape[0]
            del frames, phonemes, logits
            torch.cuda.empty_cache()
        tloss /= len(dataloader)
        tacc /= len(dataloader)
        return tloss, tacc

    def eval(model: Any, dataloader: Any) -> tuple:  # noqa: A001 (the notebook's name)
        model.eval()
        vloss, vacc = 0, 0
        for i, (frames, phonemes) in enumerate(dataloader):  # noqa: B007 (the notebook's)
            frames = frames.to(device)
            phonemes = phonemes.to(device)
            with torch.inference_mode():
                logits = model(frames)
                loss = criterion(logits, phonemes)
            vloss += loss.item()
            vacc += torch.sum(torch.argmax(logits, dim=1) == phonemes).item() / logits.shape[0]
            del frames, phonemes, logits
        vloss /= len(dataloader)
        vacc /= len(dataloader)
        return vloss, vacc

    values: list[float] = []
    for epoch in range(3):  # noqa: B007 (the notebook's)
        curr_lr = float(optimizer.param_groups[0]["lr"])
        train_loss, train_acc = train(model, train_loader, optimizer, criterion)
        val_loss, val_acc = eval(model, val_loader)
        scheduler.step(val_acc)
        values += [curr_lr, train_loss, train_acc, val_loss, val_acc]
    values.append(float(optimizer.param_groups[0]["lr"]))

    def test(model: Any, test_loader: Any) -> list:
        model.eval()
        test_predictions = []
        with torch.no_grad():
            for i, mfccs in enumerate(test_loader):  # noqa: B007 (the notebook's)
                mfccs = mfccs.to(device)
                logits = model(mfccs)
                predicted_phonemes = torch.argmax(logits, dim=1)
                test_predictions.extend(predicted_phonemes.cpu().tolist())
        return test_predictions

    predictions = test(model, test_loader)
    labels = [PHONEMES[p] for p in predictions]
    values += [float(len(labels)), float(sum(predictions)), float(labels.count("[SIL]"))]
    return values
