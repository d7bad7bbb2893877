"""Weight averaging and schedules as modern training scripts write them.

The script turns on ``torch.set_float32_matmul_precision("high")`` and
``torch.backends.cudnn.benchmark = True`` (no-ops for the numbers on a CPU), keeps an EMA of the
weights by hand with ``torch._foreach_mul_``/``torch._foreach_add_(..., alpha=)`` and a second
with ``torch._foreach_lerp_`` (timm/diffusers style), both under ``torch.no_grad()``, trains
with ``OneCycleLR`` stepped per batch and logs ``optimizer.param_groups[0]["lr"]``, then runs an
SWA phase: ``AveragedModel`` (plus an EMA ``AveragedModel`` with ``get_ema_multi_avg_fn``),
``SWALR`` and ``update_bn`` over a ``DataLoader``. Two more optimizers replay the lr of a
``SequentialLR`` (``LinearLR`` warm-up then ``CosineAnnealingLR``) and of
``CosineAnnealingWarmRestarts`` stepped with fractional epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_IN, N_HIDDEN, N_OUT = 5, 8, 3
EPOCHS, BATCH, N_SAMPLES = 3, 4, 16
EMA_DECAY = 0.9


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(N_IN, N_HIDDEN),
        nn.BatchNorm1d(N_HIDDEN),
        nn.GELU(),
        nn.Dropout(p=0.0),
        nn.Linear(N_HIDDEN, N_OUT),
    )


def _lr_trace(torch_like: Any, kind: str) -> list[float]:
    """The lr an optimizer sees under a composite schedule, logged as scripts do."""
    lr_scheduler = torch_like.optim.lr_scheduler
    weight = torch_like.nn.Parameter(torch_like.zeros(2))
    optimizer = torch_like.optim.AdamW([weight], lr=0.1, weight_decay=0.05)
    lrs = []
    if kind == "sequential":
        warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.1, end_factor=1.0, total_iters=3)
        cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=1e-4)
        scheduler = lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[3])
        for _ in range(9):
            optimizer.step()
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
        lrs.append(scheduler.get_last_lr()[0])
    else:
        scheduler = lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2, eta_min=0)
        iters = 4
        for epoch in range(4):
            for i in range(iters):
                optimizer.step()
                scheduler.step(epoch + i / iters)
                lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch_like.set_float32_matmul_precision("high")
    torch_like.backends.cudnn.benchmark = True
    try:
        return _train(torch_like, init)
    finally:  # the process-wide switches back to their defaults, for the tests that follow
        torch_like.set_float32_matmul_precision("highest")
        torch_like.backends.cudnn.benchmark = False


def _train(torch_like: Any, init: dict | None) -> list[float]:
    nn, F = torch_like.nn, torch_like.nn.functional
    swa_utils = torch_like.optim.swa_utils
    data = torch_like.utils.data

    rng = np.random.default_rng(31)
    x = as_tensor(torch_like, rng.standard_normal((N_SAMPLES, N_IN)))
    y = as_tensor(torch_like, rng.integers(0, N_OUT, N_SAMPLES))
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=BATCH, shuffle=False)

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ema_params = [p.detach().clone() for p in model.parameters()]
    lerp_params = [p.detach().clone() for p in model.parameters()]
    optimizer = torch_like.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    scheduler = torch_like.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.2, epochs=EPOCHS, steps_per_epoch=len(loader), pct_start=0.3
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

    out = []
    model.train()
    for _epoch in range(EPOCHS):
        for inputs, targets in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(inputs), targets)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            with torch_like.no_grad():
                params = [p.detach() for p in model.parameters()]
                torch_like._foreach_mul_(ema_params, EMA_DECAY)
                torch_like._foreach_add_(ema_params, params, alpha=1 - EMA_DECAY)
                torch_like._foreach_lerp_(lerp_params, params, 1 - EMA_DECAY)
            out += [loss.item(), optimizer.param_groups[0]["lr"]]

    # SWA phase: a constant-ish lr from SWALR, equal-weight and EMA averages of the weights.
    swa_model = swa_utils.AveragedModel(model)
    ema_model = swa_utils.AveragedModel(
        model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.8), use_buffers=True
    )
    swa_scheduler = swa_utils.SWALR(optimizer, swa_lr=0.02, anneal_epochs=2, anneal_strategy="cos")
    for _epoch in range(3):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), targets)
            loss.backward()
            optimizer.step()
            ema_model.update_parameters(model)
        swa_model.update_parameters(model)
        swa_scheduler.step()
        out += [loss.item(), optimizer.param_groups[0]["lr"]]
    swa_utils.update_bn(loader, swa_model)

    swa_model.eval()
    ema_model.eval()
    with torch_like.no_grad():
        out += swa_model(x).flatten().tolist()
        out += ema_model(x).flatten().tolist()
        out += swa_model.module[1].running_mean.tolist() + swa_model.module[1].running_var.tolist()
        out.append(float(swa_model.n_averaged))
        # the hand-kept EMAs: _foreach_mul_/_foreach_add_ and _foreach_lerp_ agree
        norms = torch_like._foreach_norm(ema_params)
        out += [n.item() for n in norms]
        diffs = torch_like._foreach_sub(ema_params, lerp_params)
        out.append(max(d.abs().max().item() for d in diffs))
    out += _lr_trace(torch_like, "sequential")
    out += _lr_trace(torch_like, "restarts")
    return out
