"""An energy-based model trained by contrastive divergence with short-run Langevin sampling
from a replay buffer, as the UvA deep-learning course's Tutorial 8 ("Deep Energy-Based
Generative Models": ``Swish``, ``CNNModel``, ``Sampler``, ``DeepEnergyModel.training_step``)
and JEM (wgrathwohl/JEM's ``sample_p_0`` / ``sample_q``) write it, size-reduced.

The idioms: a ``Swish`` module (``x * torch.sigmoid(x)``) next to ``nn.SiLU`` in a conv
``nn.Sequential`` ending in ``nn.Flatten()`` and ``nn.Linear(c_hid3*4, c_hid3)``, the energy
``self.cnn_layers(x).squeeze(dim=-1)``; the sampler's buffer ``[(torch.rand((1,)+img_shape)*2-1)
for _ in range(self.sample_size)]`` (NumPy draws here), ``torch.cat(random.choices(
self.examples, k=...), dim=0)`` and ``list(inp_imgs.to(torch.device("cpu")).chunk(
self.sample_size, dim=0)) + self.examples``; ``generate_samples``: ``is_training =
model.training``, ``model.eval()``, ``for p in model.parameters(): p.requires_grad = False``,
``inp_imgs.requires_grad = True``, ``had_gradients_enabled = torch.is_grad_enabled()``,
``torch.set_grad_enabled(True)``, ``inp_imgs.data.add_(noise.data)``, ``inp_imgs.data.clamp_(
min=-1.0, max=1.0)``, ``out_imgs = -model(inp_imgs)``, ``out_imgs.sum().backward()``,
``inp_imgs.grad.data.clamp_(-0.03, 0.03)``, ``inp_imgs.data.add_(-step_size *
inp_imgs.grad.data)``, ``inp_imgs.grad.detach_()``, ``inp_imgs.grad.zero_()``, then
``model.train(is_training)`` and ``torch.set_grad_enabled(had_gradients_enabled)``; the
training step ``real_imgs.add_(small_noise).clamp_(min=-1.0, max=1.0)``, ``real_out, fake_out =
self.cnn(inp_imgs).chunk(2, dim=0)``, ``reg_loss = alpha * (real_out ** 2 + fake_out **
2).mean()``, ``cdiv_loss = fake_out.mean() - real_out.mean()``, ``optim.Adam(...,
betas=(0.0, 0.999))`` with ``optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.97)`` and
``nn.utils.clip_grad_norm_``; JEM's ``x_k = t.autograd.Variable(init_sample,
requires_grad=True)``, ``f_prime = t.autograd.grad(f(x_k).sum(), [x_k], retain_graph=True)[0]``,
``x_k.data += sgld_lr * f_prime + sgld_std * noise``, the buffer's ``choose_random = (rand <
reinit_freq).float()[:, None, None, None]`` mix, ``replay_buffer[buffer_inds] =
final_samples.cpu()``, and the classifier energy ``logits.logsumexp(1)``.

Changed: 28 x 28 MNIST and 60 Langevin steps -> 8 x 8 noise images and 4 steps; every random
draw (buffer, noise, buffer indices) comes from NumPy, since the two libraries' generators
differ.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG_SHAPE = (1, 8, 8)
HIDDEN, BATCH, SAMPLE_SIZE, STEPS, LANGEVIN, ALPHA = 8, 4, 4, 2, 4, 0.1
N_CLASSES, BUFFER, REINIT = 3, 6, 0.25


def make_model(torch_like: Any) -> Any:
    """Tutorial 8's ``CNNModel`` with its ``Swish`` (and ``nn.SiLU`` in the head)."""
    nn = torch_like.nn
    torch = torch_like

    class Swish(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * torch.sigmoid(x)

    class CNNModel(nn.Module):
        def __init__(self, hidden_features: int = 32, out_dim: int = 1, **kwargs: Any) -> None:
            super().__init__()
            c_hid1 = hidden_features // 2
            c_hid2 = hidden_features
            c_hid3 = hidden_features * 2
            self.cnn_layers = nn.Sequential(
                nn.Conv2d(1, c_hid1, kernel_size=5, stride=2, padding=4),
                Swish(),
                nn.Conv2d(c_hid1, c_hid2, kernel_size=3, stride=2, padding=1),
                Swish(),
                nn.Conv2d(c_hid2, c_hid3, kernel_size=3, stride=2, padding=1),
                nn.SiLU(),
                nn.Flatten(),
                nn.Linear(c_hid3 * 4, c_hid3),
                Swish(),
                nn.Linear(c_hid3, out_dim),
            )

        def forward(self, x: Any) -> Any:
            x = self.cnn_layers(x).squeeze(dim=-1)
            return x

    return CNNModel(hidden_features=HIDDEN)


class Sampler:
    """Tutorial 8's replay-buffer sampler (NumPy supplies the random draws)."""

    def __init__(self, torch_like: Any, model: Any, rng: np.random.Generator) -> None:
        self.torch = torch_like
        self.model = model
        self.img_shape = IMG_SHAPE
        self.sample_size = SAMPLE_SIZE
        self.max_len = 8
        self.rng = rng
        self.examples = [self._rand((1,) + self.img_shape) * 2 - 1
                         for _ in range(self.sample_size)]  # fmt: skip

    def _rand(self, shape: tuple) -> Any:
        return as_tensor(self.torch, self.rng.uniform(size=shape))

    def sample_new_exmps(self, steps: int = 60, step_size: float = 10) -> Any:
        torch = self.torch
        n_new = int(self.rng.binomial(self.sample_size, 0.3))
        rand_imgs = self._rand((n_new,) + self.img_shape) * 2 - 1
        old_imgs = torch.cat(random.choices(self.examples, k=self.sample_size - n_new), dim=0)
        inp_imgs = torch.cat([rand_imgs, old_imgs], dim=0).detach().to(torch.device("cpu"))
        inp_imgs = self.generate_samples(inp_imgs, steps=steps, step_size=step_size)
        self.examples = (
            list(inp_imgs.to(torch.device("cpu")).chunk(self.sample_size, dim=0)) + self.examples
        )
        self.examples = self.examples[: self.max_len]
        return inp_imgs

    def generate_samples(self, inp_imgs: Any, steps: int = 60, step_size: float = 10) -> Any:
        torch = self.torch
        model = self.model
        is_training = model.training
        model.eval()
        for p in model.parameters():
            p.requires_grad = False
        inp_imgs.requires_grad = True
        had_gradients_enabled = torch.is_grad_enabled()
        torch.set_grad_enabled(True)
        noise = torch.randn(inp_imgs.shape, device=inp_imgs.device)
        for _ in range(steps):
            noise.copy_(as_tensor(torch, 0.005 * self.rng.standard_normal(inp_imgs.shape)))
            inp_imgs.data.add_(noise.data)
            inp_imgs.data.clamp_(min=-1.0, max=1.0)
            out_imgs = -model(inp_imgs)
            out_imgs.sum().backward()
            inp_imgs.grad.data.clamp_(-0.03, 0.03)
            inp_imgs.data.add_(-step_size * inp_imgs.grad.data)
            inp_imgs.grad.detach_()
            inp_imgs.grad.zero_()
            inp_imgs.data.clamp_(min=-1.0, max=1.0)
        for p in model.parameters():
            p.requires_grad = True
        model.train(is_training)
        torch.set_grad_enabled(had_gradients_enabled)
        return inp_imgs


def train_tutorial(torch_like: Any, model: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    optim = torch_like.optim
    random.seed(0)
    sampler = Sampler(torch_like, model, rng)
    optimizer = optim.Adam(model.parameters(), lr=1e-3, betas=(0.0, 0.999))
    scheduler = optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.97)
    values: list[float] = []
    model.train()
    for _step in range(STEPS):
        real_imgs = as_tensor(torch_like, rng.uniform(-1, 1, (BATCH,) + IMG_SHAPE))
        small_noise = as_tensor(torch_like, 0.005 * rng.standard_normal(real_imgs.shape))
        real_imgs.add_(small_noise).clamp_(min=-1.0, max=1.0)
        fake_imgs = sampler.sample_new_exmps(steps=LANGEVIN, step_size=10)
        inp_imgs = torch.cat([real_imgs, fake_imgs], dim=0)
        real_out, fake_out = model(inp_imgs).chunk(2, dim=0)
        reg_loss = ALPHA * (real_out**2 + fake_out**2).mean()
        cdiv_loss = fake_out.mean() - real_out.mean()
        loss = reg_loss + cdiv_loss
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), reg_loss.item(), cdiv_loss.item(), norm.item()]
        values += [fake_imgs.abs().max().item(), float(fake_imgs.requires_grad)]
        values += [float(model.training), float(all(p.requires_grad for p in model.parameters()))]
        values += [float(torch.is_grad_enabled()), len(sampler.examples)]
        values += [scheduler.get_last_lr()[0]]
    return values


def train_jem(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """JEM's SGLD from a replay buffer with the classifier's logsumexp as the energy."""
    t = torch_like
    nn = torch_like.nn

    class F(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(IMG_SHAPE)), 16), nn.SiLU())
            self.class_output = nn.Linear(16, N_CLASSES)

        def classify(self, x: Any) -> Any:
            return self.class_output(self.f(x)).squeeze()

        def forward(self, x: Any, y: Any = None) -> Any:
            logits = self.classify(x)
            if y is None:
                return logits.logsumexp(1)
            return t.gather(logits, 1, y[:, None])

    f = F()
    state = {k: as_tensor(t, rng.normal(0, 0.3, v.shape)) for k, v in f.state_dict().items()}
    f.load_state_dict(state)

    def init_random(bs: int) -> Any:
        return as_tensor(t, rng.uniform(-1, 1, (bs,) + IMG_SHAPE))

    replay_buffer = init_random(BUFFER)

    def sample_p_0(replay_buffer: Any, bs: int) -> tuple[Any, Any]:
        if len(replay_buffer) == 0:
            return init_random(bs), []
        buffer_size = len(replay_buffer)
        inds = as_tensor(t, rng.integers(0, buffer_size, (bs,)))
        buffer_samples = replay_buffer[inds]
        random_samples = init_random(bs)
        choose_random = (as_tensor(t, rng.uniform(size=bs)) < REINIT).float()[:, None, None, None]
        choose_random = choose_random.to(random_samples.dtype)
        samples = choose_random * random_samples + (1 - choose_random) * buffer_samples
        return samples, inds

    def sample_q(f: Any, replay_buffer: Any, n_steps: int = LANGEVIN) -> Any:
        f.eval()
        init_sample, buffer_inds = sample_p_0(replay_buffer, bs=BATCH)
        x_k = t.autograd.Variable(init_sample, requires_grad=True)
        for _k in range(n_steps):
            f_prime = t.autograd.grad(f(x_k).sum(), [x_k], retain_graph=True)[0]
            x_k.data += 1.0 * f_prime + 0.01 * as_tensor(t, rng.standard_normal(x_k.shape))
        f.train()
        final_samples = x_k.detach()
        if len(replay_buffer) > 0:
            replay_buffer[buffer_inds] = final_samples.cpu()
        return final_samples

    optim = t.optim.Adam(f.parameters(), lr=1e-3, betas=(0.0, 0.999), weight_decay=0.0)
    values: list[float] = []
    for _step in range(STEPS):
        x_lab = init_random(BATCH)
        y_lab = as_tensor(t, rng.integers(0, N_CLASSES, BATCH))
        x_q = sample_q(f, replay_buffer)
        fp_all = f(x_lab)
        fq_all = f(x_q)
        fp = fp_all.mean()
        fq = fq_all.mean()
        l_p_x = -(fp - fq)
        logits = f.classify(x_lab)
        l_p_y_given_x = nn.CrossEntropyLoss()(logits, y_lab)
        loss = l_p_x + l_p_y_given_x + ALPHA * (fp_all**2 + fq_all**2).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
        acc = (logits.max(1)[1] == y_lab).float().mean()
        values += [loss.item(), l_p_x.item(), acc.item(), replay_buffer.sum().item()]
        values += [float(x_q.requires_grad), float(f.training)]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    rng = np.random.default_rng(20)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values = train_tutorial(torch_like, model, rng)
    return values + train_jem(torch_like, rng)
