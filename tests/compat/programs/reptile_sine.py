"""Reptile on sine waves (OpenAI's ``reptile-sinewaves-demo`` gist by John Schulman and the
``supervised-reptile`` PyTorch ports), size-reduced: an ``nn.Sequential`` MLP; each iteration
saves ``weights_before = deepcopy(model.state_dict())``, runs inner SGD by hand
(``model.zero_grad()``, ``loss.backward()``, ``for param in model.parameters(): param.data -=
innerstepsize * param.grad.data``) on minibatches of one task drawn with a permutation, and
interpolates back with ``model.load_state_dict({name: weights_before[name] + (weights_after[name]
- weights_before[name]) * outerstepsize ...})`` under a linearly annealed outer step size. A
second meta-learner written as the ports do it (``copy.deepcopy(model)`` for the task learner,
``torch.optim.SGD`` inner steps, then ``p.data.lerp_``-style interpolation under
``torch.no_grad()`` through ``zip(meta.parameters(), fast.parameters())``, and the batched
"Reptile as a gradient" form that writes ``p.grad = p.data - q.data`` for an outer Adam) runs on
the same tasks; the test-task adaptation curve is reported like the gist's plots.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

NTRAIN, INNERSTEPSIZE, INNEREPOCHS, OUTERSTEPSIZE0, NITERATIONS, NTASK = 10, 0.02, 1, 0.1, 6, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.RandomState(0)
    x_all = np.linspace(-5, 5, 20)[:, None]

    def gen_task() -> Any:
        phase = rng.uniform(low=0, high=2 * np.pi)
        ampl = rng.uniform(0.1, 5)
        return lambda x: np.sin(x + phase) * ampl

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def totorch(x: np.ndarray) -> Any:
        return torch.tensor(x, dtype=torch.get_default_dtype())

    def train_on_batch(x: np.ndarray, y: np.ndarray) -> float:
        x = totorch(x)
        y = totorch(y)
        model.zero_grad()
        ypred = model(x)
        loss = (ypred - y).pow(2).mean()
        loss.backward()
        for param in model.parameters():
            param.data -= INNERSTEPSIZE * param.grad.data
        return loss.item()

    def predict(x: np.ndarray) -> np.ndarray:
        x = totorch(x)
        return model(x).data.numpy()

    values: list[float] = []
    tasks = []
    for iteration in range(NITERATIONS):
        weights_before = copy.deepcopy(model.state_dict())
        f = gen_task()
        tasks.append(f)
        y_all = f(x_all)
        inds = rng.permutation(len(x_all))
        for _ in range(INNEREPOCHS):
            for start in range(0, len(x_all), NTRAIN):
                mbinds = inds[start : start + NTRAIN]
                values.append(train_on_batch(x_all[mbinds], y_all[mbinds]))
        weights_after = model.state_dict()
        outerstepsize = OUTERSTEPSIZE0 * (1 - iteration / NITERATIONS)  # linear schedule
        model.load_state_dict(
            {
                name: weights_before[name]
                + (weights_after[name] - weights_before[name]) * outerstepsize
                for name in weights_before
            }
        )
    # adaptation curve on a held-out task, from a copy (the gist restores the weights after)
    f_plot = gen_task()
    xtrain_plot = x_all[rng.choice(len(x_all), size=NTRAIN)]
    weights_before = copy.deepcopy(model.state_dict())
    for inneriter in range(4):
        train_on_batch(xtrain_plot, f_plot(xtrain_plot))
        if (inneriter + 1) % 2 == 0:
            values.append(float(np.square(predict(x_all) - f_plot(x_all)).mean()))
    model.load_state_dict(weights_before)
    values.append(float(predict(x_all[:3]).sum()))

    # the ports' form: a deepcopy task learner, torch.optim.SGD inner steps, lerp under no_grad
    meta = make_model(torch_like)
    load_numpy_state(torch_like, meta, init)
    outer = torch.optim.Adam(meta.parameters(), lr=0.01)
    for iteration, f in enumerate(tasks[:4]):
        fast = copy.deepcopy(meta)
        inner = torch.optim.SGD(fast.parameters(), lr=INNERSTEPSIZE)
        xb, yb = totorch(x_all), totorch(f(x_all))
        for _ in range(3):
            inner.zero_grad()
            loss = nn.functional.mse_loss(fast(xb), yb)
            loss.backward()
            inner.step()
        values.append(loss.item())
        if iteration % 2 == 0:
            with torch.no_grad():
                for p, q in zip(meta.parameters(), fast.parameters()):
                    p.lerp_(q, 0.5)
        else:
            outer.zero_grad()
            for p, q in zip(meta.parameters(), fast.parameters()):
                p.grad = p.data - q.data
            outer.step()
        values.append(sum(p.abs().sum().item() for p in meta.parameters()))
    return values
