"""The AMP recipe of PyTorch's "Automatic Mixed Precision" tutorial, on a CPU with float16:
``torch.autocast(device_type=device, dtype=torch.float16, enabled=use_amp)`` around the
forward pass and the loss, ``scaler = torch.amp.GradScaler(device, enabled=use_amp)``,
``scaler.scale(loss).backward()``, ``scaler.unscale_(opt)`` before
``clip_grad_norm_``, ``scaler.step(opt)``, ``scaler.update()``, ``opt.zero_grad(set_to_none=True)``,
and the checkpoint of the tutorial's last section (``{"model", "optimizer", "scaler"}`` state
dicts, loaded into a fresh model, optimizer and scaler that continue identically).

The network is the tutorial's ``make_model`` (a stack of ``Linear``/``ReLU`` layers) shrunk,
with a ``Conv2d`` stem so that convolutions run in float16 too; a large initial scale
(2**17) that doubles every 2 good steps makes later steps' float16 gradients overflow, so the
scaler skips those steps and halves the scale, as it does on a GPU (the values record it).
Both frameworks round the same products to
float16, so their losses agree to float16's precision.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
RTOL, ATOL = 1e-2, 2e-3  # float16 rounding, accumulated over a few steps
BATCH, IN_CH, SIDE, HIDDEN, N_CLASSES = 8, 2, 6, 32, 5


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def make_mlp(in_size: int, out_size: int, num_layers: int) -> Any:
        layers = []
        for _ in range(num_layers - 1):
            layers.append(nn.Linear(in_size, in_size))
            layers.append(nn.ReLU())
        layers.append(nn.Linear(in_size, out_size))
        return nn.Sequential(*tuple(layers))

    return nn.Sequential(
        nn.Conv2d(IN_CH, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * SIDE * SIDE, HIDDEN),
        make_mlp(HIDDEN, N_CLASSES, 3),
    )


def _train(torch_like: Any, model: Any, opt: Any, scaler: Any, rng: Any, steps: int) -> list:
    device, use_amp = "cpu", True
    loss_fn = torch_like.nn.MSELoss()
    out = []
    for _ in range(steps):
        x = as_tensor(
            torch_like, rng.standard_normal((BATCH, IN_CH, SIDE, SIDE)), dtype=torch_like.float32
        )
        y = as_tensor(torch_like, rng.standard_normal((BATCH, N_CLASSES)), dtype=torch_like.float32)
        with torch_like.autocast(device_type=device, dtype=torch_like.float16, enabled=use_amp):
            output = model(x)
            assert output.dtype is torch_like.float16
            loss = loss_fn(output, y)
            assert loss.dtype is torch_like.float32
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        norm = torch_like.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        out += [loss.item(), scaler.get_scale(), float(torch_like.isfinite(norm))]
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch_like.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch_like.amp.GradScaler("cpu", init_scale=2.0**17, growth_interval=2)
    out = _train(torch_like, model, opt, scaler, rng, 5)

    checkpoint = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scaler": scaler.state_dict(),
    }
    buffer = io.BytesIO()
    torch_like.save(checkpoint, buffer)
    buffer.seek(0)
    checkpoint = torch_like.load(buffer)
    model2 = make_model(torch_like)
    opt2 = torch_like.optim.SGD(model2.parameters(), lr=0.05, momentum=0.9)
    scaler2 = torch_like.amp.GradScaler("cpu")
    model2.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["optimizer"])
    scaler2.load_state_dict(checkpoint["scaler"])
    out.append(scaler2.get_scale())
    out += _train(torch_like, model2, opt2, scaler2, rng, 3)
    return out
