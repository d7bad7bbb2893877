"""Rehearsal-based continual learning as aimagelab/mammoth writes it: the reservoir ``Buffer``
(``utils/buffer.py``: ``reservoir``, ``init_tensors``, ``add_data``, ``get_data``,
``get_all_data``, ``empty``), Dark Experience Replay++ (``models/derpp.py``'s ``observe``) and
iCaRL (``models/icarl.py``: ``forward`` by nearest mean of exemplars, ``observe``, ``get_loss``,
``end_task``, ``compute_class_means``, ``fill_buffer`` with herding), size-reduced to an MLP
backbone on two class-incremental tasks.

The idioms: ``reservoir(num_seen_examples, buffer_size)`` with ``np.random.randint(0,
num_seen_examples + 1)``; buffers allocated lazily by ``setattr(self, attr_str,
torch.zeros((self.buffer_size, *attr.shape[1:]), dtype=typ, device=self.device))`` with
``typ = torch.int64 if attr_str.endswith('els') else torch.float32`` and written row by row
(``self.logits[index] = logits[i].to(self.device)``); ``get_data``'s ``np.random.choice(...,
replace=False)`` indexing and ``torch.stack([transform(ee.cpu()) for ee in
self.examples[choice]])``; ``empty()`` by ``delattr``. DER++: ``self.args.alpha *
F.mse_loss(buf_outputs, buf_logits)`` plus ``self.args.beta * self.loss(buf_outputs,
buf_labels)`` and ``add_data(..., logits=outputs.data)``. iCaRL: ``self.register_buffer(
'classes_so_far', labels.unique().to('cpu'))`` re-registered as ``torch.cat((self.
classes_so_far, labels.to('cpu'))).unique()``; ``torch.sigmoid(self.old_net(inputs))`` under
``torch.no_grad()`` from ``deepcopy(self.net.eval())``; targets ``self.eye[labels][:, pc:ac]``
joined as ``torch.cat((logits[:, :pc], targets), dim=1)`` for
``F.binary_cross_entropy_with_logits`` (``assert loss >= 0``) with the ``wd_reg * torch.sum(
self.net.get_params() ** 2)`` term; herding's ``cost = (mean_feat - (feats + running_sum) / (i +
1)).norm(2, 1)``, ``idx_min = cost.argmin().item()``, ``feats[idx_min] = feats[idx_min] +
1e6``; ``compute_class_means``' ``torch.stack([examples[i] for i in range(0, len(examples)) if
labels[i].cpu() == _y])`` with the ``allt += feats; allt /= 2`` running mean; and the
nearest-mean ``-(self.class_means.unsqueeze(0) - feats).pow(2).sum(2)``.

Changed: ResNet-18 on Seq-CIFAR-10 -> a two-layer MLP on 6-feature NumPy data, 2 tasks of 2
classes, buffer 200 -> 6, 50 epochs -> 3 steps, augmentations dropped (``transform`` is the
identity), ``np.random.seed`` fixed at the start.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_IN, HIDDEN, N_TASKS, CPT, BUFFER, BATCH, MINIBATCH, STEPS = 6, 8, 2, 2, 6, 4, 3, 3
N_CLASSES = N_TASKS * CPT


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MammothMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(N_IN, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, HIDDEN)
            self._features = nn.Sequential(self.fc1, nn.ReLU(), self.fc2, nn.ReLU())
            self.classifier = nn.Linear(HIDDEN, N_CLASSES)

        def forward(self, x: Any, returnt: str = "out") -> Any:
            feats = self._features(x)
            if returnt == "features":
                return feats
            return self.classifier(feats)

        def get_params(self) -> Any:
            return torch_like.cat([pp.view(-1) for pp in self.parameters()])

    return MammothMLP()


def reservoir(num_seen_examples: int, buffer_size: int) -> int:
    if num_seen_examples < buffer_size:
        return num_seen_examples
    rand = np.random.randint(0, num_seen_examples + 1)
    if rand < buffer_size:
        return rand
    return -1


class Buffer:
    def __init__(self, torch: Any, buffer_size: int, device: str) -> None:
        self.torch, self.buffer_size, self.device = torch, buffer_size, device
        self.num_seen_examples = 0
        self.attributes = ["examples", "labels", "logits"]

    def init_tensors(self, **attrs: Any) -> None:
        for attr_str in self.attributes:
            attr = attrs[attr_str]
            if attr is not None and not hasattr(self, attr_str):
                typ = self.torch.int64 if attr_str.endswith("els") else self.torch.float32
                setattr(
                    self,
                    attr_str,
                    self.torch.zeros(
                        (self.buffer_size, *attr.shape[1:]), dtype=typ, device=self.device
                    ),
                )

    def add_data(self, examples: Any, labels: Any = None, logits: Any = None) -> None:
        if not hasattr(self, "examples"):
            self.init_tensors(examples=examples, labels=labels, logits=logits)
        for i in range(examples.shape[0]):
            index = reservoir(self.num_seen_examples, self.buffer_size)
            self.num_seen_examples += 1
            if index >= 0:
                self.examples[index] = examples[i].to(self.device)
                if labels is not None:
                    self.labels[index] = labels[i].to(self.device)
                if logits is not None:
                    self.logits[index] = logits[i].to(self.device)

    def get_data(self, size: int, transform: Any = None) -> tuple:
        if size > min(self.num_seen_examples, self.examples.shape[0]):
            size = min(self.num_seen_examples, self.examples.shape[0])
        choice = np.random.choice(
            min(self.num_seen_examples, self.examples.shape[0]), size=size, replace=False
        )
        if transform is None:

            def transform(x: Any) -> Any:
                return x

        ret_tuple = (
            self.torch.stack([transform(ee.cpu()) for ee in self.examples[choice]]).to(self.device),
        )
        for attr_str in self.attributes[1:]:
            if hasattr(self, attr_str):
                attr = getattr(self, attr_str)
                ret_tuple += (attr[choice],)
        return ret_tuple

    def get_all_data(self) -> tuple:
        ret_tuple = (self.torch.stack([ee.cpu() for ee in self.examples]).to(self.device),)
        for attr_str in self.attributes[1:]:
            if hasattr(self, attr_str):
                attr = getattr(self, attr_str)
                ret_tuple += (attr,)
        return ret_tuple

    def is_empty(self) -> bool:
        return self.num_seen_examples == 0

    def empty(self) -> None:
        for attr_str in self.attributes:
            if hasattr(self, attr_str):
                delattr(self, attr_str)
        self.num_seen_examples = 0


def _task(rng: np.random.Generator, t: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, CPT, BATCH * STEPS) + t * CPT
    x = rng.normal(size=(BATCH * STEPS, N_IN)).astype(np.float32)
    x[np.arange(len(y)), y] += 1.5
    return x, y


def run_derpp(torch_like: Any, init: dict, tasks: list) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    buffer = Buffer(torch, BUFFER, "cpu")
    alpha, beta = 0.3, 0.5
    values = []
    for x_all, y_all in tasks:
        for s in range(STEPS):
            inputs = as_tensor(torch, x_all[s * BATCH : (s + 1) * BATCH])
            labels = as_tensor(torch, y_all[s * BATCH : (s + 1) * BATCH])
            not_aug_inputs = inputs
            opt.zero_grad()
            outputs = net(inputs)
            loss = loss_fn(outputs, labels)
            if not buffer.is_empty():
                buf_inputs, _, buf_logits = buffer.get_data(MINIBATCH)
                buf_outputs = net(buf_inputs)
                loss_mse = alpha * F.mse_loss(buf_outputs, buf_logits)
                loss += loss_mse
                buf_inputs, buf_labels, _ = buffer.get_data(MINIBATCH)
                buf_outputs = net(buf_inputs)
                loss_ce = beta * loss_fn(buf_outputs, buf_labels)
                loss += loss_ce
            loss.backward()
            opt.step()
            buffer.add_data(examples=not_aug_inputs, labels=labels, logits=outputs.data)
            values.append(loss.item())
    values += [buffer.logits.sum().item(), buffer.labels.sum().item(), buffer.num_seen_examples]
    return values


def make_icarl(torch_like: Any, init: dict) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class ICarl(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_model(torch_like)
            load_numpy_state(torch_like, self.net, init)
            self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1)
            self.buffer = Buffer(torch, BUFFER, "cpu")
            self.eye = torch.eye(N_CLASSES)
            self.class_means = None
            self.old_net = None
            self.current_task = 0
            self.wd_reg = 1e-4

        def forward(self, x: Any) -> Any:
            if self.class_means is None:
                with torch.no_grad():
                    self.compute_class_means()
                    self.class_means = self.class_means.squeeze()
            feats = self.net(x, returnt="features")
            feats = feats.view(feats.size(0), -1)
            feats = feats.unsqueeze(1)
            pred = (self.class_means.unsqueeze(0) - feats).pow(2).sum(2)
            return -pred

        def observe(self, inputs: Any, labels: Any, logits: Any = None) -> float:
            if not hasattr(self, "classes_so_far"):
                self.register_buffer("classes_so_far", labels.unique().to("cpu"))
            else:
                self.register_buffer(
                    "classes_so_far", torch.cat((self.classes_so_far, labels.to("cpu"))).unique()
                )
            self.class_means = None
            if self.current_task > 0:
                with torch.no_grad():
                    logits = torch.sigmoid(self.old_net(inputs))
            self.opt.zero_grad()
            loss = self.get_loss(inputs, labels, self.current_task, logits)
            loss.backward()
            self.opt.step()
            return loss.item()

        def get_loss(self, inputs: Any, labels: Any, task_idx: int, logits: Any) -> Any:
            pc = task_idx * CPT
            ac = (task_idx + 1) * CPT
            outputs = self.net(inputs)[:, :ac]
            if task_idx == 0:
                # Compute loss on the current task
                targets = self.eye[labels][:, :ac]
                loss = F.binary_cross_entropy_with_logits(outputs, targets)
                assert loss >= 0
            else:
                targets = self.eye[labels][:, pc:ac]
                comb_targets = torch.cat((logits[:, :pc], targets), dim=1)
                loss = F.binary_cross_entropy_with_logits(outputs, comb_targets)
                assert loss >= 0
            if self.wd_reg:
                loss += self.wd_reg * torch.sum(self.net.get_params() ** 2)
            return loss

        def end_task(self, x_all: Any, y_all: Any) -> None:
            self.old_net = deepcopy(self.net.eval())
            self.net.train()
            with torch.no_grad():
                self.fill_buffer(self.buffer, x_all, y_all, self.current_task)
            self.current_task += 1
            self.class_means = None

        def compute_class_means(self) -> None:
            class_means = []
            examples, labels, _ = self.buffer.get_all_data()
            for _y in self.classes_so_far:
                x_buf = torch.stack(
                    [examples[i] for i in range(0, len(examples)) if labels[i].cpu() == _y]
                ).to("cpu")
                allt = None
                while len(x_buf):
                    batch = x_buf[:2]
                    x_buf = x_buf[2:]
                    feats = self.net(batch, returnt="features").mean(0)
                    if allt is None:
                        allt = feats
                    else:
                        allt += feats
                        allt /= 2
                class_means.append(allt.flatten())
            self.class_means = torch.stack(class_means)

        def fill_buffer(self, mem_buffer: Buffer, a_x: Any, a_y: Any, t_idx: int) -> None:
            mode = self.net.training
            self.net.eval()
            samples_per_class = mem_buffer.buffer_size // len(self.classes_so_far)
            if t_idx > 0:
                # 1) First, subsample prior classes
                buf_x, buf_y, buf_l = self.buffer.get_all_data()
                mem_buffer.empty()
                for _y in buf_y.unique():
                    idx = buf_y == _y
                    _y_x, _y_y, _y_l = buf_x[idx], buf_y[idx], buf_l[idx]
                    mem_buffer.add_data(
                        examples=_y_x[:samples_per_class],
                        labels=_y_y[:samples_per_class],
                        logits=_y_l[:samples_per_class],
                    )
            # 2) Then, fill with current tasks
            a_f = self.net(a_x, returnt="features")
            a_l = torch.sigmoid(self.net.classifier(a_f))
            # 2.2 Compute class means
            for _y in a_y.unique():
                idx = a_y == _y
                _x, _y, _l = a_x[idx], a_y[idx], a_l[idx]
                feats = a_f[idx]
                mean_feat = feats.mean(0, keepdim=True)

                running_sum = torch.zeros_like(mean_feat)
                i = 0
                while i < samples_per_class and i < feats.shape[0]:
                    cost = (mean_feat - (feats + running_sum) / (i + 1)).norm(2, 1)

                    idx_min = cost.argmin().item()

                    mem_buffer.add_data(
                        examples=_x[idx_min : idx_min + 1],
                        labels=_y[idx_min : idx_min + 1],
                        logits=_l[idx_min : idx_min + 1],
                    )

                    running_sum += feats[idx_min : idx_min + 1]
                    feats[idx_min] = feats[idx_min] + 1e6
                    i += 1

            assert len(mem_buffer.examples) <= mem_buffer.buffer_size
            assert mem_buffer.num_seen_examples <= mem_buffer.buffer_size
            self.net.train(mode)

    return ICarl()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(4)
    tasks = [_task(rng, t) for t in range(N_TASKS)]
    np.random.seed(0)
    values = run_derpp(torch_like, init, tasks)
    model = make_icarl(torch_like, init)
    for x_all, y_all in tasks:
        for s in range(STEPS):
            inputs = as_tensor(torch, x_all[s * BATCH : (s + 1) * BATCH])
            labels = as_tensor(torch, y_all[s * BATCH : (s + 1) * BATCH])
            values.append(model.observe(inputs, labels))
        model.end_task(as_tensor(torch, x_all), as_tensor(torch, y_all))
        with torch.no_grad():
            scores = model(as_tensor(torch, x_all))
        values += scores.sum(0).tolist()
        values.append((scores.argmax(1) == as_tensor(torch, y_all)).float().mean().item())
    values += [model.buffer.labels.sum().item(), model.classes_so_far.sum().item()]
    return values
