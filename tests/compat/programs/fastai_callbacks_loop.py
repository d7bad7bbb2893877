"""A fastai-style ``Learner`` written in plain torch, as fastai's ``learner.py``, ``callback/
schedule.py``, ``callback/training.py`` and the course's "Learner from scratch" notebook
(``miniai``) build it, size-reduced.

The idioms: callbacks as objects whose ``order`` sorts them and whose ``before_fit`` /
``before_epoch`` / ``before_batch`` / ``after_pred`` / ``after_loss`` / ``before_step`` /
``after_step`` / ``after_batch`` / ``after_epoch`` / ``after_fit`` methods the learner finds by
``getattr(cb, name, None)``; control flow by ``CancelBatchException`` / ``CancelEpochException``
/ ``CancelFitException``; ``_do_one_batch``'s ``self.pred = self.model(*self.xb)``,
``self.loss_grad = self.loss_func(self.pred, *self.yb)``, ``self.loss = self.loss_grad.clone()``
and ``self.loss_grad.backward()``; ``ParamScheduler``'s hand-computed one-cycle schedule
(``combine_scheds([pct, 1 - pct], [SchedCos(lr_max / div, lr_max), SchedCos(lr_max, lr_max /
div_final)])`` for the learning rate and the inverse cosine for the momentum,
``SchedCos``' ``start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2``) written into
``opt.param_groups`` as ``pg["lr"]`` and ``pg["betas"] = (mom, pg["betas"][1])``;
``GradientAccumulation``'s ``self.learn.loss_grad /= self.n_acc`` in ``after_loss`` and
``raise CancelBatchException()`` in ``before_step`` until ``n_acc`` samples were seen;
``AvgSmoothLoss``'s ``torch.lerp(loss.mean(), self.val, self.beta)`` debiased by ``1 -
beta**count``; the ``LRFinder`` callback (``lr = start_lr * (end_lr / start_lr) ** pos``, the
model's and optimizer's ``state_dict`` saved with ``copy.deepcopy`` in ``before_fit`` and loaded
back in ``after_fit``, the stop once ``smooth_loss > 4 * best_loss`` or the loss is NaN,
``torch.isnan``) and ``valley``'s suggestion from the steepest stretch of the loss curve; the
``Recorder`` (``lrs``, ``moms``, ``losses``, ``values``) and ``Metric``'s accuracy
``(pred.argmax(dim=-1) == targ).float().mean()`` accumulated as a batch-size-weighted mean under
``torch.no_grad()`` in eval mode; two short epochs of ``fit_one_cycle``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, HIDDEN, N_CLASSES, BS, N_TRAIN, N_VALID = 6, 12, 3, 8, 6, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(N_IN, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, N_CLASSES)
    )


class CancelBatchException(Exception):
    pass


class CancelEpochException(Exception):
    pass


class CancelFitException(Exception):
    pass


class Callback:
    order = 0
    learn: Any = None


def SchedCos(start: float, end: float) -> Any:
    def _inner(pos: float) -> float:
        return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2

    return _inner


def SchedExp(start: float, end: float) -> Any:
    def _inner(pos: float) -> float:
        return start * (end / start) ** pos

    return _inner


def combine_scheds(pcts: list[float], scheds: list[Any]) -> Any:
    """Combine ``scheds`` according to ``pcts`` in one function."""
    assert sum(pcts) == 1.0
    pcts_t = np.concatenate([[0.0], np.cumsum(pcts)])

    def _inner(pos: float) -> float:
        if int(pos) == 1:
            return scheds[-1](1.0)
        idx = int((pos >= pcts_t).nonzero()[0].max())
        actual_pos = (pos - pcts_t[idx]) / (pcts_t[idx + 1] - pcts_t[idx])
        return scheds[idx](actual_pos)

    return _inner


class ParamScheduler(Callback):
    """Schedule hyper-parameters according to ``scheds``, writing them into the param groups."""

    order = 60

    def __init__(self, scheds: dict[str, Any]) -> None:
        self.scheds = scheds

    def before_fit(self) -> None:
        self.hps = {p: [] for p in self.scheds}

    def before_batch(self) -> None:
        if not self.learn.training:
            return
        for n, f in self.scheds.items():
            v = f(self.learn.pct_train)
            for pg in self.learn.opt.param_groups:
                if n == "mom":
                    pg["betas"] = (v, pg["betas"][1])
                else:
                    pg[n] = v
            self.hps[n].append(v)


class GradientAccumulation(Callback):
    """Accumulate gradients before updating weights."""

    order = -4

    def __init__(self, n_acc: int = 16) -> None:
        self.n_acc = n_acc

    def before_fit(self) -> None:
        self.count = 0

    def after_loss(self) -> None:
        self.learn.loss_grad /= self.n_acc / self.learn.xb[0].shape[0]

    def before_step(self) -> None:
        """Skip the weight update while fewer than ``n_acc`` samples were seen."""
        self.count += self.learn.xb[0].shape[0]
        if self.count < self.n_acc:
            raise CancelBatchException()
        self.count = 0


class AvgSmoothLoss:
    """Smooth average of the losses (exponentially weighted with ``beta``)."""

    def __init__(self, torch: Any, beta: float = 0.98) -> None:
        self.torch = torch
        self.beta = beta

    def reset(self) -> None:
        self.count, self.val = 0, self.torch.tensor(0.0)

    def accumulate(self, loss: Any) -> None:
        self.count += 1
        self.val = self.torch.lerp(loss.detach().mean(), self.val, self.beta)

    @property
    def value(self) -> Any:
        return self.val / (1 - self.beta**self.count)


class Recorder(Callback):
    """Records lrs, moms, the smoothed loss and the metrics of each epoch."""

    order = 50

    def __init__(self, torch: Any, beta: float = 0.98) -> None:
        self.torch = torch
        self.smooth_loss = AvgSmoothLoss(torch, beta=beta)

    def before_fit(self) -> None:
        self.lrs, self.moms, self.iters, self.losses, self.values = [], [], [], [], []
        self.smooth_loss.reset()

    def after_batch(self) -> None:
        if len(self.learn.yb) == 0 or not self.learn.training:
            return
        self.smooth_loss.accumulate(self.learn.loss)
        self.learn.smooth_loss = self.smooth_loss.value
        self.lrs.append(self.learn.opt.param_groups[-1]["lr"])
        self.moms.append(self.learn.opt.param_groups[-1]["betas"][0])
        self.losses.append(self.learn.smooth_loss.item())

    def before_epoch(self) -> None:
        self.valid_loss, self.valid_acc, self.n_valid = 0.0, 0.0, 0

    def after_pred(self) -> None:
        if self.learn.training:
            return
        with self.torch.no_grad():
            bs = self.learn.yb[0].shape[0]
            acc = (self.learn.pred.argmax(dim=-1) == self.learn.yb[0]).float().mean()
            loss = self.learn.loss_func(self.learn.pred, *self.learn.yb)
            self.valid_loss += loss.item() * bs
            self.valid_acc += acc.item() * bs
            self.n_valid += bs

    def after_epoch(self) -> None:
        if self.n_valid == 0:  # validation cancelled (the LR finder)
            return
        self.values.append(
            [self.losses[-1], self.valid_loss / self.n_valid, self.valid_acc / self.n_valid]
        )


class LRFinder(ParamScheduler):
    """Training with exponentially growing learning rate; the weights are restored after."""

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10, num_it: int = 100) -> None:
        self.scheds = {"lr": SchedExp(start_lr, end_lr)}
        self.num_it = num_it

    def before_fit(self) -> None:
        super().before_fit()
        self.saved = copy.deepcopy(
            {"model": self.learn.model.state_dict(), "opt": self.learn.opt.state_dict()}
        )
        self.best_loss = float("inf")

    def before_batch(self) -> None:
        self.learn.pct_train = self.learn.train_iter / self.num_it
        super().before_batch()

    def after_batch(self) -> None:
        smooth = self.learn.smooth_loss
        if smooth < self.best_loss:
            self.best_loss = smooth.item()
        if smooth > 4 * self.best_loss or self.learn.torch.isnan(smooth):
            raise CancelFitException()
        if self.learn.train_iter >= self.num_it:
            raise CancelFitException()

    def before_validate(self) -> None:
        raise CancelEpochException()

    def after_fit(self) -> None:
        self.learn.opt.zero_grad()
        self.learn.model.load_state_dict(self.saved["model"])
        self.learn.opt.load_state_dict(self.saved["opt"])


def valley(lrs: list[float], losses: list[float]) -> float:
    """Suggests the lr in the middle of the longest valley (the steepest stretch down)."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return lrs[idx]


class Learner:
    def __init__(
        self, torch: Any, dls: tuple, model: Any, loss_func: Any, cbs: list, lr: float = 1e-3
    ) -> None:
        self.torch = torch
        self.dls, self.model, self.loss_func, self.lr = dls, model, loss_func, lr
        self.opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-5)
        self.cbs: list[Callback] = []
        self.add_cbs(cbs)

    def add_cbs(self, cbs: list) -> None:
        for cb in cbs:
            cb.learn = self
            self.cbs.append(cb)

    def remove_cbs(self, cbs: list) -> None:
        for cb in cbs:
            self.cbs.remove(cb)

    def __call__(self, event_name: str) -> None:
        for cb in sorted(self.cbs, key=lambda c: c.order):
            method = getattr(cb, event_name, None)
            if method is not None:
                method()

    def _do_one_batch(self) -> None:
        self.pred = self.model(*self.xb)
        self("after_pred")
        if len(self.yb) == 0:
            return
        self.loss_grad = self.loss_func(self.pred, *self.yb)
        self.loss = self.loss_grad.clone()
        self("after_loss")
        if not self.training or not len(self.yb):
            return
        self("before_backward")
        self.loss_grad.backward()
        self("before_step")
        self.opt.step()
        self("after_step")
        self.opt.zero_grad()

    def one_batch(self, i: int, b: tuple) -> None:
        self.iter = i
        self.xb, self.yb = b[:1], b[1:]
        try:
            self("before_batch")
            self._do_one_batch()
        except CancelBatchException:
            pass
        self("after_batch")
        if self.training:
            self.train_iter += 1
            self.pct_train = min(self.train_iter / self.total_iters, 1.0)

    def _do_epoch(self) -> None:
        self.training = True
        self.model.train()
        for i, b in enumerate(self.dls[0]):
            self.one_batch(i, b)
        self("before_validate")
        self.training = False
        self.model.eval()
        with self.torch.no_grad():
            for i, b in enumerate(self.dls[1]):
                self.one_batch(i, b)

    def fit(self, n_epoch: int, cbs: list | None = None) -> None:
        cbs = cbs or []
        self.add_cbs(cbs)
        self.n_epoch, self.train_iter, self.pct_train = n_epoch, 0, 0.0
        self.total_iters = n_epoch * len(self.dls[0])
        try:
            self("before_fit")
            for self.epoch in range(n_epoch):
                try:
                    self("before_epoch")
                    self._do_epoch()
                except CancelEpochException:
                    pass
                self("after_epoch")
        except CancelFitException:
            pass
        finally:
            self("after_fit")
            self.remove_cbs(cbs)

    def fit_one_cycle(
        self,
        n_epoch: int,
        lr_max: float,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        moms: tuple = (0.95, 0.85, 0.95),
        cbs: list | None = None,
    ) -> None:
        scheds = {
            "lr": combine_scheds(
                [pct_start, 1 - pct_start],
                [SchedCos(lr_max / div, lr_max), SchedCos(lr_max, lr_max / div_final)],
            ),
            "mom": combine_scheds(
                [pct_start, 1 - pct_start],
                [SchedCos(moms[0], moms[1]), SchedCos(moms[1], moms[2])],
            ),
        }
        self.fit(n_epoch, cbs=[ParamScheduler(scheds), *(cbs or [])])

    def lr_find(self, start_lr: float = 1e-5, end_lr: float = 10.0, num_it: int = 20) -> float:
        n_epoch = num_it // len(self.dls[0]) + 1
        finder = LRFinder(start_lr, end_lr, num_it)
        self.fit(n_epoch, cbs=[finder])
        recorder = next(cb for cb in self.cbs if isinstance(cb, Recorder))
        return valley(recorder.lrs, recorder.losses)


def _dls(torch: Any) -> tuple[list, list]:
    rng = np.random.default_rng(12)
    w = rng.standard_normal((N_IN, N_CLASSES))

    def batch() -> tuple[Any, Any]:
        x = rng.standard_normal((BS, N_IN))
        y = (x @ w + 0.3 * rng.standard_normal((BS, N_CLASSES))).argmax(axis=1)
        return as_tensor(torch, x), as_tensor(torch, y)

    return [batch() for _ in range(N_TRAIN)], [batch() for _ in range(N_VALID)]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    recorder = Recorder(torch)
    learn = Learner(torch, _dls(torch), model, torch.nn.functional.cross_entropy, [recorder])
    before = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()

    suggested = learn.lr_find(start_lr=1e-4, end_lr=100.0, num_it=20)
    after = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    values = [suggested, float(len(recorder.losses)), float(torch.equal(before, after))]
    values += recorder.lrs + recorder.losses
    assert len(learn.opt.state) == 0  # the optimizer's state is the fresh one again

    acc = GradientAccumulation(n_acc=2 * BS)
    learn.fit_one_cycle(2, lr_max=min(suggested, 0.05) * 4, cbs=[acc])
    assert learn.cbs == [recorder]  # fit's own callbacks are removed when it ends
    values += recorder.lrs + recorder.moms + recorder.losses
    values += [v for epoch in recorder.values for v in epoch]
    values += [learn.opt.param_groups[0]["lr"], learn.opt.param_groups[0]["betas"][0]]
    values += [p.detach().sum().item() for p in model.parameters()]
    values += [float(learn.opt.state[next(iter(model.parameters()))]["step"])]
    return values
