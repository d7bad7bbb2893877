"""A spiking network trained with surrogate gradients, as snnTorch's tutorials write it
(``snntorch/_neurons/leaky.py``, ``snntorch/surrogate.py``, tutorials 5 and 6), size-reduced
and with the library's pieces written out as the tutorials explain them.

The idioms: the surrogate spike as a custom ``torch.autograd.Function`` (``FastSigmoid``:
``forward(ctx, input_, slope)`` saves the input with ``ctx.save_for_backward(input_)``, keeps
the slope on ``ctx``, and returns the Heaviside step ``(input_ > 0).float()``; ``backward``
reads ``ctx.saved_tensors``, clones ``grad_output`` and divides by ``(slope * torch.abs(
input_) + 1.0) ** 2``, returning ``None`` for the slope), wrapped as ``spike_grad =
fast_sigmoid(slope=25)`` (a closure calling ``FastSigmoid.apply``); a ``Leaky`` layer (leaky
integrate-and-fire: ``beta`` a buffer from ``torch.as_tensor(beta)``, or an ``nn.Parameter``
with ``learn_beta=True`` clamped to [0, 1] on use; ``init_leaky()`` a zero membrane;
``mem_reset`` as ``spike_grad(mem - threshold).clone().detach()``; ``mem = beta * mem +
input_ - reset * threshold`` (reset by subtraction); ``spk = spike_grad(mem - threshold)``);
the tutorial's ``Net`` (``fc1 -> lif1 -> fc2 -> lif2`` stepped in a Python loop over
``num_steps``, ``spk2_rec.append(spk2)``, ``torch.stack(spk2_rec, dim=0)``); the training loop
(``torch.optim.Adam(net.parameters(), lr=5e-3, betas=(0.9, 0.999))``, the membrane loss
``loss_val = torch.zeros((1), dtype=dtype)`` plus ``loss(mem_rec[step], targets)`` for every
step, snnTorch's ``ce_count_loss``-style rate-coded cross-entropy over
``spk_rec.sum(dim=0)``, ``loss_val.backward()``); and the accuracy printout
(``_, idx = spk_rec.sum(dim=0).max(1)``, ``np.mean((targets == idx).detach().cpu().numpy())``)
plus the spike counts ``spk_rec.sum()`` a tutorial plots.

Changed: MNIST rate-coded by ``spikegen.rate`` (``torch.bernoulli``) -> 12 samples of 10 input
channels whose Bernoulli spike trains are drawn by NumPy; 784/1000/10 neurons and 25 steps ->
10/12/3 and 8 steps; 3 training iterations and one test pass under ``torch.no_grad()``.
Float32, the tutorials' dtype (``(input_ > 0).float()`` is the model's own dtype).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
# float32 sums of losses over the time loop and Adam steps: last-bit differences between
# BLAS orders stay under 1e-5 relative here, 1e-4 leaves room for other hosts
RTOL = 1e-4
ATOL = 1e-6

NUM_INPUTS, NUM_HIDDEN, NUM_OUTPUTS, NUM_STEPS, BATCH = 10, 12, 3, 8, 12
BETA, SLOPE = 0.9, 25


def _classes(torch_like: Any) -> tuple[Any, Any, Any]:
    torch, nn = torch_like, torch_like.nn

    class FastSigmoid(torch.autograd.Function):
        """Heaviside forward, fast-sigmoid derivative 1 / (slope * |x| + 1)^2 backward."""

        @staticmethod
        def forward(ctx: Any, input_: Any, slope: float = 25) -> Any:
            ctx.save_for_backward(input_)
            ctx.slope = slope
            out = (input_ > 0).float()
            return out

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
            (input_,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad = grad_input / (ctx.slope * torch.abs(input_) + 1.0) ** 2
            return grad, None

    def fast_sigmoid(slope: float = 25) -> Any:
        def inner(x: Any) -> Any:
            return FastSigmoid.apply(x, slope)

        return inner

    class Leaky(nn.Module):
        def __init__(
            self,
            beta: float,
            threshold: float = 1.0,
            spike_grad: Any = None,
            learn_beta: bool = False,
            reset_mechanism: str = "subtract",
        ) -> None:
            super().__init__()
            self.spike_grad = spike_grad if spike_grad is not None else fast_sigmoid()
            beta = torch.as_tensor(beta)
            if learn_beta:
                self.beta = nn.Parameter(beta)
            else:
                self.register_buffer("beta", beta)
            self.register_buffer("threshold", torch.as_tensor(threshold))
            self.reset_mechanism = reset_mechanism

        def init_leaky(self) -> Any:
            return torch.zeros(0)

        def mem_reset(self, mem: Any) -> Any:
            mem_shift = mem - self.threshold
            reset = self.spike_grad(mem_shift).clone().detach()
            return reset

        def forward(self, input_: Any, mem: Any) -> tuple[Any, Any]:
            if mem.numel() == 0:  # the lazy first call sizes the membrane like the input
                mem = torch.zeros_like(input_)
            reset = self.mem_reset(mem)
            beta = self.beta.clamp(0, 1)
            if self.reset_mechanism == "subtract":
                mem = beta * mem + input_ - reset * self.threshold
            else:  # "zero"
                mem = beta * mem + input_ - reset * (beta * mem + input_)
            spk = self.spike_grad(mem - self.threshold)
            return spk, mem

        def extra_repr(self) -> str:
            return f"reset_mechanism={self.reset_mechanism!r}"

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            spike_grad = fast_sigmoid(slope=SLOPE)
            self.fc1 = nn.Linear(NUM_INPUTS, NUM_HIDDEN)
            self.lif1 = Leaky(beta=BETA, spike_grad=spike_grad)
            self.fc2 = nn.Linear(NUM_HIDDEN, NUM_OUTPUTS)
            self.lif2 = Leaky(beta=BETA, spike_grad=spike_grad, learn_beta=True, threshold=0.5)

        def forward(self, x: Any) -> tuple[Any, Any]:
            mem1 = self.lif1.init_leaky()
            mem2 = self.lif2.init_leaky()
            spk2_rec = []
            mem2_rec = []
            for step in range(NUM_STEPS):
                cur1 = self.fc1(x[step])
                spk1, mem1 = self.lif1(cur1, mem1)
                cur2 = self.fc2(spk1)
                spk2, mem2 = self.lif2(cur2, mem2)
                spk2_rec.append(spk2)
                mem2_rec.append(mem2)
            return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)

    return Net, FastSigmoid, Leaky


def make_model(torch_like: Any) -> Any:
    Net, _, _ = _classes(torch_like)
    return Net()


def _data() -> tuple[np.ndarray, np.ndarray]:
    """Rate-coded inputs: each class fires its own block of channels more often."""
    rng = np.random.default_rng(7)
    targets = np.arange(BATCH) % NUM_OUTPUTS
    rates = np.full((BATCH, NUM_INPUTS), 0.15)
    for c in range(NUM_OUTPUTS):
        rates[targets == c, 3 * c : 3 * c + 4] = 0.8
    spikes = rng.random((NUM_STEPS, BATCH, NUM_INPUTS)) < rates
    return spikes.astype(np.float32), targets.astype(np.int64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    dtype = torch.float
    Net, FastSigmoid, Leaky = _classes(torch_like)
    spikes, targets_np = _data()
    data = as_tensor(torch, spikes)
    targets = as_tensor(torch, targets_np)

    net = Net()
    load_numpy_state(torch, net, init)
    with torch.no_grad():  # the tutorial's inputs are brighter: scale so the layers fire
        net.fc1.weight.mul_(4.0)
        net.fc2.weight.mul_(3.0)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3, betas=(0.9, 0.999))
    loss = nn.CrossEntropyLoss()
    values: list[float] = []

    for _it in range(3):
        net.train()
        spk_rec, mem_rec = net(data)
        loss_val = torch.zeros((1), dtype=dtype)
        for step in range(NUM_STEPS):
            loss_val += loss(mem_rec[step], targets)
        loss_val = loss_val + loss(spk_rec.sum(dim=0), targets)  # rate-coded (spike counts)
        optimizer.zero_grad()
        loss_val.backward()
        optimizer.step()
        _, idx = spk_rec.sum(dim=0).max(1)
        acc = np.mean((targets == idx).detach().cpu().numpy())
        values += [loss_val.item(), float(acc), spk_rec.sum().item(), mem_rec.abs().sum().item()]
        values += [net.lif2.beta.item(), net.fc1.weight.grad.abs().sum().item()]

    with torch.no_grad():
        net.eval()
        test_spk, _ = net(data)
        _, predicted = test_spk.sum(dim=0).max(1)
        values += [(predicted == targets).sum().item(), test_spk.sum(dim=1).sum(dim=0).tolist()[0]]

    # the surrogate on its own: a step forward (0 at exactly 0), a fast sigmoid backward
    x = torch.tensor([-0.5, -0.01, 0.0, 0.02, 1.0], requires_grad=True)
    y = FastSigmoid.apply(x, 10)
    y.sum().backward()
    values += y.tolist() + x.grad.tolist() + [float(y.dtype == torch.float32)]

    # reset by subtraction and reset to zero on one neuron driven above threshold
    for mechanism in ("subtract", "zero"):
        lif = Leaky(beta=0.5, reset_mechanism=mechanism)
        mem = lif.init_leaky()
        trace = []
        for _step in range(4):
            spk, mem = lif(torch.tensor([0.7]), mem)
            trace += [spk.item(), mem.item()]
        values += trace
    return values
