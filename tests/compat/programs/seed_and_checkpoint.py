"""Reproducibility boilerplate and a full training checkpoint, as modern scripts write them.

``seed_everything`` seeds ``random``, NumPy, ``torch.manual_seed`` and
``torch.cuda.manual_seed_all`` and turns on ``torch.use_deterministic_algorithms(True)`` with
``cudnn.deterministic``; the device is ``torch.device("cuda" if torch.cuda.is_available() else
"cpu")`` and the model and batches move there with ``.to(device)``. The loop runs under
``torch.autocast(device_type=..., dtype=torch.bfloat16, enabled=False)`` with a disabled
``torch.amp.GradScaler`` (``scale``/``unscale_``/``step``/``update``), clips gradients, and
steps AdamW and a ``MultiStepLR``.

Halfway, ``torch.save`` writes two checkpoints: the weights-only one (model, optimizer,
scheduler, scaler, epoch, ``torch.get_rng_state()``) read back with ``torch.load(...,
map_location=device, weights_only=True)``, and one with the Python and NumPy RNG states read
with ``weights_only=False`` and the older ``map_location=lambda storage, loc: storage``. A
fresh model resumes from them and must reproduce the uninterrupted run: the losses exactly,
and the next draws of torch's, NumPy's and Python's generators (those draws differ between
frameworks, so only their equality is returned).
"""

from __future__ import annotations

import os
import random
import tempfile
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

EPOCHS, RESUME_AT, SEED = 6, 3, 1234
USE_AMP = False  # the script's --amp flag, off: the scaler and autocast are pass-throughs


def seed_everything(torch_like: Any, seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch_like.manual_seed(seed)
    torch_like.cuda.manual_seed_all(seed)
    torch_like.use_deterministic_algorithms(True)
    torch_like.backends.cudnn.deterministic = True
    torch_like.backends.cudnn.benchmark = False


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(5, 12),
        nn.LayerNorm(12),
        nn.SiLU(),
        nn.Linear(12, 12),
        nn.Tanh(),
        nn.Linear(12, 1),
    )


class Trainer:
    """The pieces a script keeps together: model, optimizer, scheduler, scaler, device."""

    def __init__(self, torch_like: Any, init: dict | None, device: Any) -> None:
        self.torch_like, self.device = torch_like, device
        self.model = make_model(torch_like)
        load_numpy_state(torch_like, self.model, init)
        self.model.to(device)
        self.optimizer = torch_like.optim.AdamW(
            self.model.parameters(), lr=0.02, betas=(0.9, 0.95), weight_decay=0.1
        )
        self.scheduler = torch_like.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=[2, 4], gamma=0.5
        )
        self.scaler = torch_like.amp.GradScaler(enabled=USE_AMP and device.type == "cuda")
        self.epoch = 0

    def train_epoch(self, batches: list) -> float:
        torch_like, model = self.torch_like, self.model
        model.train()
        total = 0.0
        for x, y in batches:
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            with torch_like.autocast(
                device_type=self.device.type, dtype=torch_like.bfloat16, enabled=USE_AMP
            ):
                loss = torch_like.nn.functional.smooth_l1_loss(model(x), y, beta=0.5)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            torch_like.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.item()
        self.scheduler.step()
        self.epoch += 1
        return total / len(batches)

    def save(self, path: str, full_path: str) -> None:
        self.torch_like.save(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "epoch": self.epoch,
                "rng_state": self.torch_like.get_rng_state(),
            },
            path,
        )
        self.torch_like.save(
            {"numpy_rng_state": np.random.get_state(), "python_rng_state": random.getstate()},
            full_path,
        )

    def load(self, path: str, full_path: str) -> None:
        torch_like = self.torch_like
        checkpoint = torch_like.load(path, map_location=self.device, weights_only=True)
        result = self.model.load_state_dict(checkpoint["model"])
        assert not result.missing_keys and not result.unexpected_keys
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.scaler.load_state_dict(checkpoint["scaler"])
        self.epoch = checkpoint["epoch"]
        torch_like.set_rng_state(checkpoint["rng_state"])
        extra = torch_like.load(
            full_path, map_location=lambda storage, loc: storage, weights_only=False
        )
        np.random.set_state(extra["numpy_rng_state"])
        random.setstate(extra["python_rng_state"])


def _draws(torch_like: Any) -> tuple[list[float], list[float], float]:
    """The next numbers of each global generator (framework-specific for torch's)."""
    return torch_like.rand(4).tolist(), np.random.rand(3).tolist(), random.random()


def run(torch_like: Any, init: dict | None) -> list[float]:
    device = torch_like.device("cuda" if torch_like.cuda.is_available() else "cpu")
    rng = np.random.default_rng(77)
    batches = [
        (
            as_tensor(torch_like, rng.standard_normal((6, 5))),
            as_tensor(torch_like, rng.random((6, 1))),
        )
        for _ in range(2)
    ]
    try:
        seed_everything(torch_like, SEED)
        assert torch_like.are_deterministic_algorithms_enabled()
        trainer = Trainer(torch_like, init, device)
        straight = [trainer.train_epoch(batches) for _ in range(EPOCHS)]
        straight_lr = trainer.optimizer.param_groups[0]["lr"]

        seed_everything(torch_like, SEED)
        trainer = Trainer(torch_like, init, device)
        resumed = [trainer.train_epoch(batches) for _ in range(RESUME_AT)]
        with tempfile.TemporaryDirectory() as tmp:
            path, full_path = os.path.join(tmp, "last.pt"), os.path.join(tmp, "rng.pt")
            trainer.save(path, full_path)
            expected_draws = _draws(torch_like)
            del trainer
            trainer = Trainer(torch_like, None, device)
            trainer.load(path, full_path)
        same_draws = _draws(torch_like) == expected_draws
        while trainer.epoch < EPOCHS:
            resumed.append(trainer.train_epoch(batches))
        resumed_lr = trainer.optimizer.param_groups[0]["lr"]
    finally:
        torch_like.use_deterministic_algorithms(False)
        torch_like.backends.cudnn.deterministic = False
    param_device = next(trainer.model.parameters()).device
    return [
        *straight,
        *resumed,
        straight_lr,
        resumed_lr,
        float(same_draws),
        float(param_device == device),
        float(trainer.scaler.is_enabled()),
        trainer.scaler.get_scale(),
    ]


def check(values: list[float]) -> None:
    """The resumed run is the uninterrupted one, RNG streams included."""
    assert values[:EPOCHS] == values[EPOCHS : 2 * EPOCHS], values
    assert values[2 * EPOCHS] == values[2 * EPOCHS + 1] and values[2 * EPOCHS + 2] == 1.0
