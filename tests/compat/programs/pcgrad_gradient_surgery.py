"""PCGrad ("Gradient Surgery for Multi-Task Learning") as WeiChengTseng/Pytorch-PCGrad writes it
(``pcgrad.py`` and ``main_multi_mnist.py``'s shared-trunk, two-head model), size-reduced.

The idioms: the ``PCGrad`` optimizer wrapper (``zero_grad(set_to_none=True)``, ``pc_backward``);
``_pack_grad`` (``obj.backward(retain_graph=True)`` per objective); ``_retrieve_grad`` (``p.grad
is None`` for the other task's head, filled with ``torch.zeros_like(p).to(p.device)``,
``p.grad.clone()``, ``torch.ones_like(p)`` presence masks); ``_flatten_grad`` (``torch.cat([
g.flatten() for g in grads])``); ``_project_conflicting`` (``torch.stack(has_grads).prod(0)
.bool()``, ``copy.deepcopy(grads)`` of a list of tensors, ``random.shuffle(grads)``,
``torch.dot(g_i, g_j)`` compared with ``< 0``, ``g_i -= (g_i_g_j) * g_j / (g_j.norm()**2)`` in
place, ``merged_grad[shared] = torch.stack([g[shared] for g in pc_grad]).mean(dim=0)`` and
``merged_grad[~shared] = ...sum(dim=0)``); ``_unflatten_grad`` (``length = np.prod(shape)`` of a
``torch.Size``, ``grads[idx:idx + length].view(shape).clone()`` sliced with NumPy integers);
``_set_grad`` assigning ``p.grad = grads[idx]``; the wrapped ``optim.Adam`` stepping through
``pc_adam.step()``; two cross-entropy objectives on a shared trunk.

Changed: the LeNet trunk -> a 2-layer MLP on 6 features, heads of 3 and 2 classes, batches of 8
drawn by NumPy instead of MultiMNIST, 5 steps; the global ``random`` state is seeded (and
restored) so that both runs shuffle alike.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

FEATURES, HIDDEN, BATCH, STEPS = 6, 5, 8, 5


def _pcgrad_class(torch_like: Any) -> Any:
    torch = torch_like

    class PCGrad:
        def __init__(self, optimizer: Any, reduction: str = "mean") -> None:
            self._optim, self._reduction = optimizer, reduction
            return

        @property
        def optimizer(self) -> Any:
            return self._optim

        def zero_grad(self) -> Any:
            """clear the gradient of the parameters"""
            return self._optim.zero_grad(set_to_none=True)

        def step(self) -> Any:
            """update the parameters with the gradient"""
            return self._optim.step()

        def pc_backward(self, objectives: list) -> None:
            grads, shapes, has_grads = self._pack_grad(objectives)
            pc_grad = self._project_conflicting(grads, has_grads)
            pc_grad = self._unflatten_grad(pc_grad, shapes[0])
            self._set_grad(pc_grad)
            return

        def _project_conflicting(self, grads: list, has_grads: list, shapes: Any = None) -> Any:
            shared = torch.stack(has_grads).prod(0).bool()
            pc_grad, num_task = copy.deepcopy(grads), len(grads)  # noqa: F841 (the original's)
            for g_i in pc_grad:
                random.shuffle(grads)
                for g_j in grads:
                    g_i_g_j = torch.dot(g_i, g_j)
                    if g_i_g_j < 0:
                        g_i -= (g_i_g_j) * g_j / (g_j.norm() ** 2)
            merged_grad = torch.zeros_like(grads[0]).to(grads[0].device)
            if self._reduction:
                merged_grad[shared] = torch.stack([g[shared] for g in pc_grad]).mean(dim=0)
            elif self._reduction == "sum":
                merged_grad[shared] = torch.stack([g[shared] for g in pc_grad]).sum(dim=0)
            else:
                exit("invalid reduction method")
            merged_grad[~shared] = torch.stack([g[~shared] for g in pc_grad]).sum(dim=0)
            return merged_grad

        def _set_grad(self, grads: list) -> None:
            idx = 0
            for group in self._optim.param_groups:
                for p in group["params"]:
                    p.grad = grads[idx]
                    idx += 1
            return

        def _pack_grad(self, objectives: list) -> tuple[list, list, list]:
            grads, shapes, has_grads = [], [], []
            for obj in objectives:
                self._optim.zero_grad(set_to_none=True)
                obj.backward(retain_graph=True)
                grad, shape, has_grad = self._retrieve_grad()
                grads.append(self._flatten_grad(grad, shape))
                has_grads.append(self._flatten_grad(has_grad, shape))
                shapes.append(shape)
            return grads, shapes, has_grads

        def _unflatten_grad(self, grads: Any, shapes: list) -> list:
            unflatten_grad, idx = [], 0
            for shape in shapes:
                length = np.prod(shape)
                unflatten_grad.append(grads[idx : idx + length].view(shape).clone())
                idx += length
            return unflatten_grad

        def _flatten_grad(self, grads: list, shapes: list) -> Any:
            flatten_grad = torch.cat([g.flatten() for g in grads])
            return flatten_grad

        def _retrieve_grad(self) -> tuple[list, list, list]:
            grad, shape, has_grad = [], [], []
            for group in self._optim.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        shape.append(p.shape)
                        grad.append(torch.zeros_like(p).to(p.device))
                        has_grad.append(torch.zeros_like(p).to(p.device))
                        continue
                    shape.append(p.grad.shape)
                    grad.append(p.grad.clone())
                    has_grad.append(torch.ones_like(p).to(p.device))
            return grad, shape, has_grad

    return PCGrad


def make_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    class MultiTaskNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shared = nn.Sequential(
                nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU()
            )
            self.task1 = nn.Linear(HIDDEN, 3)
            self.task2 = nn.Linear(HIDDEN, 2)

        def forward(self, x: Any) -> tuple[Any, Any]:
            h = self.shared(x)
            return F.log_softmax(self.task1(h), dim=1), F.log_softmax(self.task2(h), dim=1)

    return MultiTaskNet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    PCGrad = _pcgrad_class(torch_like)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    pc_adam = PCGrad(torch.optim.Adam(net.parameters(), lr=2e-2))
    data_rng = np.random.default_rng(13)
    values: list[float] = []
    state = random.getstate()
    random.seed(7)
    try:
        for _ in range(STEPS):
            x = data_rng.normal(size=(BATCH, FEATURES))
            label1 = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
            label2 = (x[:, 0] < 0.3).astype(np.int64)
            image = as_tensor(torch_like, x)
            out1, out2 = net(image)
            loss1 = F.nll_loss(out1, as_tensor(torch_like, label1))
            loss2 = F.nll_loss(out2, as_tensor(torch_like, label2))
            pc_adam.zero_grad()
            losses = [loss1, loss2]
            pc_adam.pc_backward(losses)
            pc_adam.step()
            grads = [p.grad for p in net.parameters()]
            values += [loss1.item(), loss2.item(), sum(g.abs().sum().item() for g in grads)]
            values.append(float(all(g is not None for g in grads)))
    finally:
        random.setstate(state)
    return values
