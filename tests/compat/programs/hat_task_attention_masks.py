"""Hard Attention to the Task (HAT) against catastrophic forgetting, as joansj/hat writes it
(``src/networks/mlp_hat.py``'s ``Net`` with ``forward``, ``mask`` and ``get_view_for``;
``src/approaches/hat.py``'s ``Appr.train``, ``train_epoch``, ``eval`` and ``criterion``),
size-reduced to a two-layer gated MLP on two tasks.

The idioms: per-task gate embeddings ``self.gate(s*self.efc1(t))`` (``torch.nn.Sigmoid``) scaled
by an annealed ``s=(self.smax-1/self.smax)*i/len(r)+1/self.smax``; ``h=h*gfc1.expand_as(h)``;
per-task heads returned as a list (``y.append(self.last[t](h))``); the legacy
``torch.autograd.Variable(torch.LongTensor([t]),volatile=False)``; ``criterion``'s attention
regulariser (``aux=1-mp``, ``reg+=(m*aux).sum()``, ``count+=np.prod(m.size()).item()``,
``reg/=count``); after each task the cumulative mask ``torch.max(self.mask_pre[i],mask[i])`` of
``torch.autograd.Variable(mask[i].data.clone(),requires_grad=False)`` and the weight masks
``get_view_for`` builds (``gfc1.data.view(-1,1).expand_as(self.fc1.weight)``,
``torch.min(post,pre)``) stored as ``1-vals``; in the step, ``p.grad.data*=self.mask_back[n]``,
the embedding-gradient compensation ``torch.cosh(torch.clamp(s*p.data,-thres_cosh,thres_cosh))+1
/ (torch.cosh(p.data)+1)`` scaled by ``self.smax/s``, the deprecated
``torch.nn.utils.clip_grad_norm`` (its ``FutureWarning`` shown and passed over, as a script
does) and ``p.data=torch.clamp(p.data,-thres_emb,thres_emb)``; ``np.random.shuffle`` of the
batch order turned into ``torch.LongTensor(r)``; the SGD optimizer rebuilt per task
(``_get_optimizer``); evaluation at ``s=self.smax`` with ``output.max(1)`` accuracy on every
task seen so far.

Changed: MNIST/CIFAR splits -> 6-feature NumPy tasks, ``nhid`` 2000 -> 8, 2 tasks, 2 epochs
of 2 batches per task, dropout 0, no ``.cuda()``, no validation-based learning-rate decay;
``smax`` 400 kept.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, NHID, TASKCLA, SBATCH, N_TRAIN, EPOCHS = 6, 8, [(0, 2), (1, 3)], 4, 8, 2


def make_model(torch_like: Any) -> Any:
    torch = torch_like

    class Net(torch.nn.Module):
        def __init__(self, inputsize: tuple, taskcla: list, nlayers: int = 2, nhid: int = 2000,
                     pdrop1: float = 0.2, pdrop2: float = 0.5) -> None:  # fmt: skip
            super(Net, self).__init__()  # noqa: UP008 (as in the repository)

            ncha, size, _ = inputsize
            self.taskcla = taskcla

            self.nlayers = nlayers
            self.relu = torch.nn.ReLU()
            self.drop1 = torch.nn.Dropout(pdrop1)
            self.drop2 = torch.nn.Dropout(pdrop2)
            self.fc1 = torch.nn.Linear(ncha * size * size, nhid)
            self.efc1 = torch.nn.Embedding(len(self.taskcla), nhid)
            if nlayers > 1:
                self.fc2 = torch.nn.Linear(nhid, nhid)
                self.efc2 = torch.nn.Embedding(len(self.taskcla), nhid)

            self.last = torch.nn.ModuleList()
            for t, n in self.taskcla:  # noqa: B007
                self.last.append(torch.nn.Linear(nhid, n))

            self.gate = torch.nn.Sigmoid()

        def forward(self, t: Any, x: Any, s: float = 1) -> tuple:
            # Gates
            masks = self.mask(t, s=s)
            if self.nlayers == 1:
                gfc1 = masks
            elif self.nlayers == 2:
                gfc1, gfc2 = masks
            # Gated
            h = self.drop1(x.view(x.size(0), -1))
            h = self.drop2(self.relu(self.fc1(h)))
            h = h * gfc1.expand_as(h)
            if self.nlayers > 1:
                h = self.drop2(self.relu(self.fc2(h)))
                h = h * gfc2.expand_as(h)
            y = []
            for t, i in self.taskcla:  # noqa: B007
                y.append(self.last[t](h))
            return y, masks

        def mask(self, t: Any, s: float = 1) -> Any:
            gfc1 = self.gate(s * self.efc1(t))
            if self.nlayers == 1:
                return gfc1
            gfc2 = self.gate(s * self.efc2(t))
            if self.nlayers == 2:
                return [gfc1, gfc2]

        def get_view_for(self, n: str, masks: Any) -> Any:
            if self.nlayers == 1:
                gfc1 = masks
            elif self.nlayers == 2:
                gfc1, gfc2 = masks
            if n == "fc1.weight":
                return gfc1.data.view(-1, 1).expand_as(self.fc1.weight)
            elif n == "fc1.bias":
                return gfc1.data.view(-1)
            elif n == "fc2.weight":
                post = gfc2.data.view(-1, 1).expand_as(self.fc2.weight)
                pre = gfc1.data.view(1, -1).expand_as(self.fc2.weight)
                return torch.min(post, pre)
            elif n == "fc2.bias":
                return gfc2.data.view(-1)
            return None

    return Net((N_IN, 1, 1), TASKCLA, nlayers=2, nhid=NHID, pdrop1=0.0, pdrop2=0.0)


class Appr:
    def __init__(self, torch: Any, model: Any, nepochs: int = 100, sbatch: int = 64,
                 lr: float = 0.05, clipgrad: float = 10000, lamb: float = 0.75,
                 smax: float = 400) -> None:  # fmt: skip
        self.torch = torch
        self.model = model
        self.nepochs = nepochs
        self.sbatch = sbatch
        self.lr = lr
        self.clipgrad = clipgrad
        self.ce = torch.nn.CrossEntropyLoss()
        self.optimizer = self._get_optimizer()
        self.lamb = lamb  # Grid search = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 4]; chosen was 0.75
        self.smax = smax  # Grid search = [25, 50, 100, 200, 400, 800]; chosen was 400
        self.mask_pre = None
        self.mask_back = None
        self.log: list[float] = []

    def _get_optimizer(self, lr: float | None = None) -> Any:
        if lr is None:
            lr = self.lr
        return self.torch.optim.SGD(self.model.parameters(), lr=lr)

    def train(self, t: int, xtrain: Any, ytrain: Any) -> None:
        torch = self.torch
        self.optimizer = self._get_optimizer(self.lr)
        for _e in range(self.nepochs):
            self.train_epoch(t, xtrain, ytrain)

        # Activations mask
        task = torch.autograd.Variable(torch.LongTensor([t]), volatile=False)
        mask = self.model.mask(task, s=self.smax)
        for i in range(len(mask)):
            mask[i] = torch.autograd.Variable(mask[i].data.clone(), requires_grad=False)
        if t == 0:
            self.mask_pre = mask
        else:
            for i in range(len(self.mask_pre)):
                self.mask_pre[i] = torch.max(self.mask_pre[i], mask[i])

        # Weights mask
        self.mask_back = {}
        for n, _ in self.model.named_parameters():
            vals = self.model.get_view_for(n, self.mask_pre)
            if vals is not None:
                self.mask_back[n] = 1 - vals

    def train_epoch(self, t: int, x: Any, y: Any, thres_cosh: float = 50,
                    thres_emb: float = 6) -> None:  # fmt: skip
        torch = self.torch
        self.model.train()

        r = np.arange(x.size(0))
        np.random.shuffle(r)
        r = torch.LongTensor(r)

        # Loop batches
        for i in range(0, len(r), self.sbatch):
            if i + self.sbatch <= len(r):
                b = r[i : i + self.sbatch]
            else:
                b = r[i:]
            images = torch.autograd.Variable(x[b], volatile=False)
            targets = torch.autograd.Variable(y[b], volatile=False)
            task = torch.autograd.Variable(torch.LongTensor([t]), volatile=False)
            s = (self.smax - 1 / self.smax) * i / len(r) + 1 / self.smax

            # Forward
            outputs, masks = self.model.forward(task, images, s=s)
            output = outputs[t]
            loss, reg = self.criterion(output, targets, masks)

            # Backward
            self.optimizer.zero_grad()
            loss.backward()

            # Restrict layer gradients in backprop
            if t > 0:
                for n, p in self.model.named_parameters():
                    if n in self.mask_back:
                        p.grad.data *= self.mask_back[n]

            # Compensate embedding gradients
            for n, p in self.model.named_parameters():
                if n.startswith("e"):
                    num = torch.cosh(torch.clamp(s * p.data, -thres_cosh, thres_cosh)) + 1
                    den = torch.cosh(p.data) + 1
                    p.grad.data *= self.smax / s * num / den

            # Apply step
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", r".*clip_grad_norm. is now deprecated")
                norm = torch.nn.utils.clip_grad_norm(self.model.parameters(), self.clipgrad)
            self.optimizer.step()

            # Constrain embeddings
            for n, p in self.model.named_parameters():
                if n.startswith("e"):
                    p.data = torch.clamp(p.data, -thres_emb, thres_emb)
            self.log += [loss.item(), reg.item(), float(norm)]

    def eval(self, t: int, x: Any, y: Any) -> tuple:
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            task = torch.autograd.Variable(torch.LongTensor([t]), volatile=False)
            outputs, masks = self.model.forward(task, x, s=self.smax)
            output = outputs[t]
            loss, reg = self.criterion(output, y, masks)
            _, pred = output.max(1)
            hits = (pred == y).float()
        return loss.item(), hits.sum().item() / len(y)

    def criterion(self, outputs: Any, targets: Any, masks: list) -> tuple:
        reg = 0
        count = 0
        if self.mask_pre is not None:
            for m, mp in zip(masks, self.mask_pre):
                aux = 1 - mp
                reg += (m * aux).sum()
                count += aux.sum()
        else:
            for m in masks:
                reg += m.sum()
                count += np.prod(m.size()).item()
        reg /= count
        return self.ce(outputs, targets) + self.lamb * reg, reg


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(12)
    data = []
    for _t, ncla in TASKCLA:
        x = rng.normal(size=(N_TRAIN, N_IN, 1, 1))
        y = rng.integers(0, ncla, N_TRAIN)
        x[np.arange(N_TRAIN), y, 0, 0] += 2.0
        data.append((as_tensor(torch, x), as_tensor(torch, y)))
    np.random.seed(0)
    appr = Appr(torch_like, model, nepochs=EPOCHS, sbatch=SBATCH, lr=0.05)
    values: list[float] = []
    for t, _ncla in TASKCLA:
        xtrain, ytrain = data[t]
        appr.train(t, xtrain, ytrain)
        for u in range(t + 1):
            values += list(appr.eval(u, *data[u]))
        values += [m.sum().item() for m in appr.mask_pre]
    values += appr.log
    values += [model.efc1.weight.abs().max().item(), model.efc2.weight.sum().item()]
    return values
