"""Gradient Episodic Memory and Averaged GEM for continual learning, as
facebookresearch/GradientEpisodicMemory writes GEM (``model/gem.py``: ``store_grad``,
``overwrite_grad``, ``project2cone2``, ``Net.forward``/``observe``, ``compute_offsets``) and
ContinualAI/avalanche writes A-GEM (``avalanche/training/plugins/agem.py``'s
``before_training_iteration`` and ``after_backward``), size-reduced to a two-layer MLP on three
class-incremental tasks of two classes each.

The idioms: GEM's multi-head masking ``output[:, :offset1].data.fill_(-10e10)`` and
``output[:, offset2:self.n_outputs].data.fill_(-10e10)``; the episodic ring buffer
``self.memory_data[t, self.mem_cnt: endcnt].copy_(x.data[: effbsz])`` with a
``torch.LongTensor`` label memory; the gradient matrix ``torch.Tensor(sum(self.grad_dims),
n_tasks)`` with ``grad_dims.append(param.data.numel())``; ``store_grad``'s ``grads[:,
tid].fill_(0.0)`` and ``grads[beg: en, tid].copy_(param.grad.data.view(-1))`` (a column slice
written through); ``torch.mm(self.grads[:, t].unsqueeze(0), self.grads.index_select(1, indx))``
with ``indx = torch.LongTensor(self.observed_tasks[:-1])`` and ``if (dotp < 0).sum() != 0``;
``project2cone2``'s ``memories.cpu().t().double().numpy()``, the dual QP in NumPy and
``gradient.copy_(torch.Tensor(x).view(-1, 1))``; ``overwrite_grad``'s
``newgrad[beg: en].contiguous().view(param.grad.data.size())`` and ``param.grad.data.copy_``.
A-GEM: the reference gradient from a memory minibatch, ``p.grad.view(-1) if p.grad is not None
else torch.zeros(p.numel(), device=strategy.device)`` over ``named_parameters()``,
``torch.cat``, under ``@torch.no_grad()`` ``dotg = torch.dot(current_gradients,
self.reference_gradients)``, ``if dotg < 0``, ``alpha2 = dotg / torch.dot(...)`` and
``p.grad.copy_(grad_proj[count : count + n_param].view_as(p))``; and the accuracy matrix
evaluated after each task.

Changed: MNIST/CIFAR -> 6-feature NumPy data in 3 tasks, 100 hidden units -> 8, ``quadprog``'s
``solve_qp`` -> a NumPy projected-gradient solve of the same problem (``min 1/2 v'Pv - q'v,
v >= h``), ``n_memories`` 256 -> 4, ``Variable`` wrappers dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_INPUTS, N_HIDDEN, N_TASKS, NC_PER_TASK, N_MEMORIES, BATCH, STEPS = 6, 8, 3, 2, 4, 3, 3
N_OUTPUTS = N_TASKS * NC_PER_TASK


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(N_INPUTS, N_HIDDEN), nn.ReLU(), nn.Linear(N_HIDDEN, N_OUTPUTS))


def compute_offsets(task: int, nc_per_task: int, is_cifar: bool) -> tuple[int, int]:
    if is_cifar:
        offset1 = task * nc_per_task
        offset2 = (task + 1) * nc_per_task
    else:
        offset1 = 0
        offset2 = nc_per_task
    return offset1, offset2


def store_grad(pp: Any, grads: Any, grad_dims: list, tid: int) -> None:
    # store the gradients
    grads[:, tid].fill_(0.0)
    cnt = 0
    for param in pp():
        if param.grad is not None:
            beg = 0 if cnt == 0 else sum(grad_dims[:cnt])
            en = sum(grad_dims[: cnt + 1])
            grads[beg:en, tid].copy_(param.grad.data.view(-1))
        cnt += 1


def overwrite_grad(pp: Any, newgrad: Any, grad_dims: list) -> None:
    cnt = 0
    for param in pp():
        if param.grad is not None:
            beg = 0 if cnt == 0 else sum(grad_dims[:cnt])
            en = sum(grad_dims[: cnt + 1])
            this_grad = newgrad[beg:en].contiguous().view(param.grad.data.size())
            param.grad.data.copy_(this_grad)
        cnt += 1


def solve_qp(P: np.ndarray, q: np.ndarray, G: np.ndarray, h: np.ndarray) -> tuple:
    """quadprog's ``solve_qp`` for ``G = I``: min 1/2 v'Pv - q'v subject to v >= h, by
    projected gradient descent (the only case ``project2cone2`` asks for)."""
    assert np.array_equal(G, np.eye(len(q)))
    v = h.copy()
    step = 1.0 / np.linalg.eigvalsh(P).max()
    for _ in range(300):
        v = np.maximum(h, v - step * (P @ v - q))
    return (v,)


def project2cone2(torch: Any, gradient: Any, memories: Any, margin: float = 0.5,
                  eps: float = 1e-3) -> None:  # fmt: skip
    memories_np = memories.cpu().t().double().numpy()
    gradient_np = gradient.cpu().contiguous().view(-1).double().numpy()
    t = memories_np.shape[0]
    P = np.dot(memories_np, memories_np.transpose())
    P = 0.5 * (P + P.transpose()) + np.eye(t) * eps
    q = np.dot(memories_np, gradient_np) * -1
    G = np.eye(t)
    h = np.zeros(t) + margin
    v = solve_qp(P, q, G, h)[0]
    x = np.dot(v, memories_np) + gradient_np
    gradient.copy_(torch.Tensor(x).view(-1, 1))


class GEM:
    def __init__(self, torch: Any, net: Any, margin: float = 0.5) -> None:
        self.torch, self.net, self.margin = torch, net, margin
        self.ce = torch.nn.CrossEntropyLoss()
        self.n_outputs, self.nc_per_task, self.is_cifar = N_OUTPUTS, NC_PER_TASK, True
        self.opt = torch.optim.SGD(net.parameters(), 0.1)
        self.n_memories = N_MEMORIES
        # allocate episodic memory
        self.memory_data = torch.FloatTensor(N_TASKS, self.n_memories, N_INPUTS)
        self.memory_labs = torch.LongTensor(N_TASKS, self.n_memories)
        # allocate temporary synaptic memory
        self.grad_dims = []
        for param in net.parameters():
            self.grad_dims.append(param.data.numel())
        self.grads = torch.Tensor(sum(self.grad_dims), N_TASKS)
        # allocate counters
        self.observed_tasks: list[int] = []
        self.old_task = -1
        self.mem_cnt = 0

    def forward(self, x: Any, t: int) -> Any:
        output = self.net(x)
        if self.is_cifar:
            # make sure we predict classes within the current task
            offset1 = int(t * self.nc_per_task)
            offset2 = int((t + 1) * self.nc_per_task)
            if offset1 > 0:
                output[:, :offset1].data.fill_(-10e10)
            if offset2 < self.n_outputs:
                output[:, offset2 : self.n_outputs].data.fill_(-10e10)
        return output

    def observe(self, x: Any, t: int, y: Any) -> float:
        torch = self.torch
        # update memory
        if t != self.old_task:
            self.observed_tasks.append(t)
            self.old_task = t

        # Update ring buffer storing examples from current task
        bsz = y.data.size(0)
        endcnt = min(self.mem_cnt + bsz, self.n_memories)
        effbsz = endcnt - self.mem_cnt
        self.memory_data[t, self.mem_cnt : endcnt].copy_(x.data[:effbsz])
        if bsz == 1:
            self.memory_labs[t, self.mem_cnt] = y.data[0]
        else:
            self.memory_labs[t, self.mem_cnt : endcnt].copy_(y.data[:effbsz])
        self.mem_cnt += effbsz
        if self.mem_cnt == self.n_memories:
            self.mem_cnt = 0

        # compute gradient on previous tasks
        if len(self.observed_tasks) > 1:
            for tt in range(len(self.observed_tasks) - 1):
                self.net.zero_grad()
                # fwd/bwd on the examples in the memory
                past_task = self.observed_tasks[tt]

                offset1, offset2 = compute_offsets(past_task, self.nc_per_task, self.is_cifar)
                ptloss = self.ce(
                    self.forward(self.memory_data[past_task].to(x.dtype), past_task)[
                        :, offset1:offset2
                    ],
                    self.memory_labs[past_task] - offset1,
                )
                ptloss.backward()
                store_grad(self.net.parameters, self.grads, self.grad_dims, past_task)

        # now compute the grad on the current minibatch
        self.net.zero_grad()

        offset1, offset2 = compute_offsets(t, self.nc_per_task, self.is_cifar)
        loss = self.ce(self.forward(x, t)[:, offset1:offset2], y - offset1)
        loss.backward()

        # check if gradient violates constraints
        if len(self.observed_tasks) > 1:
            # copy gradient
            store_grad(self.net.parameters, self.grads, self.grad_dims, t)
            indx = torch.LongTensor(self.observed_tasks[:-1])
            dotp = torch.mm(self.grads[:, t].unsqueeze(0), self.grads.index_select(1, indx))
            if (dotp < 0).sum() != 0:
                project2cone2(
                    torch,
                    self.grads[:, t].unsqueeze(1),
                    self.grads.index_select(1, indx),
                    self.margin,
                )
                # copy gradients back
                overwrite_grad(self.net.parameters, self.grads[:, t], self.grad_dims)
        self.opt.step()
        return loss.item()


class AGEMPlugin:
    def __init__(self, torch: Any, patterns_per_experience: int, sample_size: int) -> None:
        self.torch = torch
        self.patterns_per_experience = int(patterns_per_experience)
        self.sample_size = int(sample_size)
        self.buffers: list[tuple[Any, Any]] = []
        self.reference_gradients = None

    def before_training_iteration(self, model: Any, optimizer: Any, criterion: Any,
                                  mb: tuple) -> None:  # fmt: skip
        torch = self.torch
        if len(self.buffers) > 0:
            model.train()
            optimizer.zero_grad()
            xref, yref = mb
            out = model(xref)
            loss = criterion(out, yref)
            loss.backward()
            # gradient can be None for some head on multi-headed models
            reference_gradients_list = [
                p.grad.view(-1) if p.grad is not None else torch.zeros(p.numel(), device="cpu")
                for n, p in model.named_parameters()
            ]
            self.reference_gradients = torch.cat(reference_gradients_list)
            optimizer.zero_grad()

    def after_backward(self, model: Any) -> bool:
        torch = self.torch
        with torch.no_grad():
            if len(self.buffers) > 0:
                current_gradients_list = [
                    p.grad.view(-1) if p.grad is not None else torch.zeros(p.numel(), device="cpu")
                    for n, p in model.named_parameters()
                ]
                current_gradients = torch.cat(current_gradients_list)

                assert current_gradients.shape == self.reference_gradients.shape, (
                    "Different model parameters in AGEM projection"
                )

                dotg = torch.dot(current_gradients, self.reference_gradients)
                if dotg < 0:
                    alpha2 = dotg / torch.dot(self.reference_gradients, self.reference_gradients)
                    grad_proj = current_gradients - self.reference_gradients * alpha2

                    count = 0
                    for n, p in model.named_parameters():  # noqa: B007
                        n_param = p.numel()
                        if p.grad is not None:
                            p.grad.copy_(grad_proj[count : count + n_param].view_as(p))
                        count += n_param
                    return True
        return False


def _task_data(rng: np.random.Generator, t: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, NC_PER_TASK, n) + t * NC_PER_TASK
    x = rng.normal(size=(n, N_INPUTS)) * 0.5
    x[np.arange(n), y % N_INPUTS] += 2.0
    return x, y


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    data = [[_task_data(rng, t, BATCH) for _ in range(STEPS)] for t in range(N_TASKS)]
    tests = [_task_data(rng, t, 8) for t in range(N_TASKS)]
    values: list[float] = []

    # GEM
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    gem = GEM(torch_like, net)
    for t in range(N_TASKS):
        net.train()
        for x, y in data[t]:
            values.append(gem.observe(as_tensor(torch, x), t, as_tensor(torch, y)))
        net.eval()
        with torch.no_grad():
            for tt in range(t + 1):
                xt, yt = (as_tensor(torch, a) for a in tests[tt])
                _, pb = torch.max(gem.forward(xt, tt).data.cpu(), 1, keepdim=False)
                values.append((pb == yt).float().sum().item() / xt.size(0))
    values.append(gem.grads.abs().sum().item())
    values.append(gem.memory_labs.float().sum().item())

    # A-GEM
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    plugin = AGEMPlugin(torch_like, patterns_per_experience=4, sample_size=3)
    projected = 0
    for t in range(N_TASKS):
        model.train()
        for x, y in data[t]:
            if plugin.buffers:
                # sample_from_memory: a fixed NumPy choice over the stored patterns
                mx = torch.cat([b[0] for b in plugin.buffers])
                my = torch.cat([b[1] for b in plugin.buffers])
                pick = as_tensor(torch, rng.choice(mx.shape[0], plugin.sample_size, replace=False))
                plugin.before_training_iteration(model, optimizer, criterion, (mx[pick], my[pick]))
            optimizer.zero_grad()
            loss = criterion(model(as_tensor(torch, x)), as_tensor(torch, y))
            loss.backward()
            projected += plugin.after_backward(model)
            optimizer.step()
            values.append(loss.item())
        xs = torch.cat([as_tensor(torch, x) for x, _ in data[t]])[: plugin.patterns_per_experience]
        ys = torch.cat([as_tensor(torch, y) for _, y in data[t]])[: plugin.patterns_per_experience]
        plugin.buffers.append((xs, ys))
    values.append(float(projected))
    return values
