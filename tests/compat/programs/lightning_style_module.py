"""A PyTorch Lightning-style ``LightningModule`` and a small ``Trainer`` loop in plain torch, as
Lightning's docs and templates write them (``training_step``, ``validation_step``,
``configure_optimizers``, manual optimization, the ``EarlyStopping`` and EMA callbacks),
size-reduced.

The idioms: a module subclassing ``nn.Module`` with ``training_step(batch, batch_idx)`` returning
``{"loss": loss, "log": {...}}`` and ``validation_step`` returning ``{"val_loss": ...,
"val_acc": ...}`` gathered by ``on_validation_epoch_end`` with ``torch.stack([...]).mean()``;
``configure_optimizers`` returning ``([optimizer], [{"scheduler": scheduler, "interval": "step",
"frequency": 1}])`` with ``AdamW`` over two parameter groups (no weight decay for biases and norm
weights, chosen by ``named_parameters`` and ``p.ndim``) and ``OneCycleLR``; manual optimization
(``automatic_optimization = False``, ``self.optimizers()`` / ``self.lr_schedulers()``,
``self.manual_backward(loss)``) with ``loss / accumulate_grad_batches``, ``optimizer.zero_grad(
set_to_none=True)`` (so ``p.grad is None`` afterwards), ``torch.nn.utils.clip_grad_norm_(...,
max_norm, error_if_nonfinite=True)`` (and the ``RuntimeError`` it raises on a ``nan`` gradient,
caught and the step skipped); ``torch.nn.utils.parameters_to_vector`` for the logged weight norm
and update size and ``vector_to_parameters`` to restore a snapshot; the EMA of the weights by
``torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay),
use_buffers=True)`` updated with ``update_parameters`` after each optimizer step and validated in
place of the model (its ``n_averaged`` buffer); ``EarlyStopping(monitor="val_loss",
min_delta=..., patience=..., mode="min")`` with ``torch.lt(current - min_delta, best)``,
``torch.tensor(float("inf"))`` and ``wait_count``; and ``model.train()`` / ``model.eval()`` and
``torch.no_grad()`` around the validation loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, HIDDEN, N_CLASSES, BS, N_TRAIN, N_VAL, MAX_EPOCHS, ACCUM = 5, 10, 3, 6, 6, 2, 12, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(N_IN, HIDDEN), nn.LayerNorm(HIDDEN), nn.GELU(), nn.Linear(HIDDEN, N_CLASSES)
    )


def _lit_class(torch: Any) -> type:
    nn, F = torch.nn, torch.nn.functional

    class LitClassifier(nn.Module):
        def __init__(self, lr: float = 0.02, weight_decay: float = 0.05, total: int = 1) -> None:
            super().__init__()
            self.save_hyperparameters = {"lr": lr, "weight_decay": weight_decay}
            self.model = make_model(torch)
            self.automatic_optimization = False
            self.total_steps = total
            self.trainer: Any = None

        def forward(self, x: Any) -> Any:
            return self.model(x)

        def training_step(self, batch: tuple, batch_idx: int) -> dict:
            x, y = batch
            logits = self(x)
            loss = F.cross_entropy(logits, y)
            return {"loss": loss, "log": {"train_loss": loss.detach()}}

        def validation_step(self, batch: tuple, batch_idx: int, model: Any = None) -> dict:
            x, y = batch
            logits = (model or self)(x)
            loss = F.cross_entropy(logits, y)
            acc = (logits.argmax(dim=1) == y).float().mean()
            return {"val_loss": loss, "val_acc": acc}

        def on_validation_epoch_end(self, outputs: list[dict]) -> dict:
            avg_loss = torch.stack([x["val_loss"] for x in outputs]).mean()
            avg_acc = torch.stack([x["val_acc"] for x in outputs]).mean()
            return {"val_loss": avg_loss, "val_acc": avg_acc}

        def configure_optimizers(self) -> tuple[list, list]:
            decay, no_decay = [], []
            for name, p in self.named_parameters():
                if not p.requires_grad:
                    continue
                (no_decay if p.ndim < 2 or name.endswith(".bias") else decay).append(p)
            hp = self.save_hyperparameters
            optimizer = torch.optim.AdamW(
                [
                    {"params": decay, "weight_decay": hp["weight_decay"]},
                    {"params": no_decay, "weight_decay": 0.0},
                ],
                lr=hp["lr"],
            )
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=hp["lr"], total_steps=self.total_steps, pct_start=0.3
            )
            return [optimizer], [{"scheduler": scheduler, "interval": "step", "frequency": 1}]

        # the LightningModule API the manual loop calls
        def optimizers(self) -> Any:
            return self.trainer.optimizers[0]

        def lr_schedulers(self) -> Any:
            return self.trainer.lr_scheduler_configs[0]["scheduler"]

        def manual_backward(self, loss: Any) -> None:
            loss.backward()

    return LitClassifier


class EarlyStopping:
    mode_dict = {"min": "lt", "max": "gt"}

    def __init__(
        self, torch: Any, monitor: str, min_delta: float = 0.0, patience: int = 3, mode: str = "min"
    ) -> None:
        self.torch = torch
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta = min_delta if mode == "max" else -min_delta
        self.monitor_op = getattr(torch, self.mode_dict[mode])
        self.wait_count = 0
        self.stopped_epoch = 0
        torch_inf = torch.tensor(float("inf"))
        self.best_score = torch_inf if self.monitor_op == torch.lt else -torch_inf

    def check(self, epoch: int, metrics: dict) -> bool:
        current = metrics[self.monitor].squeeze()
        if self.monitor_op(current - self.min_delta, self.best_score.to(current.device)):
            self.best_score = current
            self.wait_count = 0
            return False
        self.wait_count += 1
        if self.wait_count >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False


class Trainer:
    def __init__(
        self, torch: Any, max_epochs: int, accumulate_grad_batches: int, gradient_clip_val: float
    ) -> None:
        self.torch = torch
        self.max_epochs = max_epochs
        self.accumulate_grad_batches = accumulate_grad_batches
        self.gradient_clip_val = gradient_clip_val
        self.logged: list[float] = []

    def fit(self, module: Any, train_loader: list, val_loader: list, stopper: Any) -> None:
        torch = self.torch
        module.trainer = self
        self.optimizers, self.lr_scheduler_configs = module.configure_optimizers()
        swa_utils = torch.optim.swa_utils
        self.ema = swa_utils.AveragedModel(
            module.model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9), use_buffers=True
        )
        self.skipped = 0
        for epoch in range(self.max_epochs):
            module.train()
            for batch_idx, batch in enumerate(train_loader):
                self._manual_step(module, batch, batch_idx)
            metrics = self._validate(module, val_loader)
            self.logged += [metrics["val_loss"].item(), metrics["val_acc"].item()]
            if stopper.check(epoch, metrics):
                break
        self.epochs_run = epoch + 1

    def _manual_step(self, module: Any, batch: tuple, batch_idx: int) -> None:
        torch = self.torch
        opt = module.optimizers()
        sch = module.lr_schedulers()
        out = module.training_step(batch, batch_idx)
        loss = out["loss"] / self.accumulate_grad_batches
        module.manual_backward(loss)
        train_loss = out["log"]["train_loss"]
        self.logged.append(train_loss.item() if torch.isfinite(train_loss) else -1.0)
        if (batch_idx + 1) % self.accumulate_grad_batches != 0:
            return
        try:
            norm = torch.nn.utils.clip_grad_norm_(
                module.parameters(), self.gradient_clip_val, error_if_nonfinite=True
            )
        except RuntimeError:
            # a non-finite gradient: drop this step
            opt.zero_grad(set_to_none=True)
            self.skipped += 1
            return
        before = torch.nn.utils.parameters_to_vector(module.parameters()).detach().clone()
        opt.step()
        opt.zero_grad(set_to_none=True)
        assert all(p.grad is None for p in module.parameters())
        sch.step()
        self.ema.update_parameters(module.model)
        after = torch.nn.utils.parameters_to_vector(module.parameters()).detach()
        self.logged += [norm.item(), (after - before).norm().item(), after.norm().item()]
        self.logged.append(sch.get_last_lr()[0])

    def _validate(self, module: Any, val_loader: list) -> dict:
        module.eval()
        self.ema.eval()
        with self.torch.no_grad():
            outputs = [module.validation_step(b, i) for i, b in enumerate(val_loader)]
            ema_outputs = [module.validation_step(b, i, self.ema) for i, b in enumerate(val_loader)]
        metrics = module.on_validation_epoch_end(outputs)
        ema_metrics = module.on_validation_epoch_end(ema_outputs)
        self.logged.append(ema_metrics["val_loss"].item())
        return metrics


def _loaders(torch: Any) -> tuple[list, list]:
    rng = np.random.default_rng(42)
    w = rng.standard_normal((N_IN, N_CLASSES))

    def batch() -> tuple[Any, Any]:
        x = rng.standard_normal((BS, N_IN))
        y = (x @ w).argmax(axis=1)
        return as_tensor(torch, x), as_tensor(torch, y)

    return [batch() for _ in range(N_TRAIN)], [batch() for _ in range(N_VAL)]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    train_loader, val_loader = _loaders(torch)
    # one batch carries a nan: its accumulated gradient is non-finite and that step is skipped
    bad_x = train_loader[3][0].clone()
    bad_x[0, 0] = float("nan")
    train_loader[3] = (bad_x, train_loader[3][1])

    steps = MAX_EPOCHS * N_TRAIN // ACCUM
    module = _lit_class(torch)(lr=0.05, total=steps)
    load_numpy_state(torch, module.model, init)
    snapshot = torch.nn.utils.parameters_to_vector(module.parameters()).detach().clone()
    trainer = Trainer(torch, MAX_EPOCHS, accumulate_grad_batches=ACCUM, gradient_clip_val=0.5)
    stopper = EarlyStopping(torch, monitor="val_loss", min_delta=0.02, patience=2, mode="min")
    trainer.fit(module, train_loader, val_loader, stopper)

    values = [float(trainer.epochs_run), float(stopper.stopped_epoch), float(trainer.skipped)]
    values += [stopper.best_score.item(), float(stopper.wait_count)]
    values += trainer.logged
    ema = trainer.ema
    values += [float(ema.n_averaged.item())]
    values += [p.detach().sum().item() for p in ema.module.parameters()]
    opt = trainer.optimizers[0]
    values += [opt.param_groups[0]["lr"], float(len(opt.param_groups[1]["params"]))]

    # restore the starting weights from the flat vector
    torch.nn.utils.vector_to_parameters(snapshot, module.parameters())
    restored = torch.nn.utils.parameters_to_vector(module.parameters())
    values += [float(torch.equal(restored, snapshot)), restored.sum().item()]
    return values
