"""PyTorch's "Hooks for saved tensors" tutorial, used on a training loop: each step of a small
CNN runs under a different pair of ``torch.autograd.graph.saved_tensors_hooks``:

* identity hooks that count what is packed and unpacked (the tutorial's ``print`` hooks);
* ``torch.autograd.graph.save_on_cpu(pin_memory=True)`` (activation offloading);
* hooks that keep each saved tensor in a dict under a fresh key and give the key to the graph
  (``storage[key] = x.detach().clone()`` / ``storage[key]``);
* the tutorial's "save to disk" hooks with a ``SelfDeletingTempFile`` (``torch.save`` into a
  temporary directory in ``pack_hook``, ``torch.load`` in ``unpack_hook``, the file removed by
  ``__del__`` once the graph lets go of it), set inside a module's ``forward`` for one
  submodule only and applied above a size threshold (``x.numel() < SAVE_ON_DISK_THRESHOLD``
  keeps small tensors as they are).

Then the gradient tools of ``torch.autograd.graph`` on an intermediate activation:
``register_multi_grad_hook`` in ``mode="all"`` and ``mode="any"`` over two branch outputs,
``torch.autograd.grad(loss, get_gradient_edge(h))`` compared with ``h.register_hook``, a
split backward (``autograd.grad(outputs=[edge], inputs=[weight], grad_outputs=[grad_h])``, as
pipeline-parallel schedules run it) compared with ``loss.backward()``, the handle as a context
manager, and ``disable_saved_tensors_hooks``.

Compared: losses and gradient sums per step, that the hooks ran, that the temporary directory
is empty once the backward has run, and the hooked gradients. The number of tensors each op
saves is not compared: it is a choice of each framework's derivative formulas (chainrule's
fused cross-entropy, for one, also saves its input for double backward, and a first-order
backward does not unpack it, so a pack is not always matched by an unpack there).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

SAVE_ON_DISK_THRESHOLD = 64


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(4 * 3 * 3, 16)
            self.ln = nn.LayerNorm(16)
            self.fc2 = nn.Linear(16, 3)
            self.disk_hooks: Any = None  # set by run(): hooks for the conv stem only

        def stem(self, x: Any) -> Any:
            return self.pool(torch_like.relu(self.conv(x))).flatten(1)

        def forward(self, x: Any) -> Any:
            if self.disk_hooks is not None:
                with torch_like.autograd.graph.saved_tensors_hooks(*self.disk_hooks):
                    h = self.stem(x)
            else:
                h = self.stem(x)
            return self.fc2(nn.functional.gelu(self.ln(self.fc1(h))))

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(110)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    values: list[float] = []

    def train_step(x: Any, y: Any, hooks: Any) -> None:
        optimizer.zero_grad()
        with hooks:
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
        values.append(sum(p.grad.abs().sum().item() for p in model.parameters()))

    def batch() -> tuple[Any, Any]:
        x = as_tensor(torch, rng.standard_normal((5, 1, 6, 6)))
        return x, as_tensor(torch, rng.integers(0, 3, 5))

    # 1. counting identity hooks
    counts = {"pack": 0, "unpack": 0}

    def pack_hook(x: Any) -> Any:
        counts["pack"] += 1
        return x

    def unpack_hook(x: Any) -> Any:
        counts["unpack"] += 1
        return x

    train_step(*batch(), torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook))
    values += [float(counts["pack"] > 0), float(0 < counts["unpack"] <= counts["pack"])]

    # 2. offloading to CPU
    train_step(*batch(), torch.autograd.graph.save_on_cpu(pin_memory=True))

    # 3. a dict of saved tensors, the graph keeps only the keys
    storage: dict = {}

    def pack_to_dict(x: Any) -> str:
        key = str(uuid.uuid4())
        storage[key] = x.detach().clone()
        return key

    def unpack_from_dict(key: str) -> Any:
        return storage[key]

    train_step(*batch(), torch.autograd.graph.saved_tensors_hooks(pack_to_dict, unpack_from_dict))
    values.append(float(len(storage) > 0))
    storage.clear()

    # 4. saving to disk, for the conv stem only and above a size threshold
    with tempfile.TemporaryDirectory() as tmp_dir:

        class SelfDeletingTempFile:
            def __init__(self) -> None:
                self.name = os.path.join(tmp_dir, str(uuid.uuid4()))

            def __del__(self) -> None:
                os.remove(self.name)

        written = []

        def pack_hook_disk(tensor: Any) -> Any:
            if tensor.numel() < SAVE_ON_DISK_THRESHOLD:
                return tensor
            temp_file = SelfDeletingTempFile()
            torch.save(tensor, temp_file.name)
            written.append(1)
            return temp_file

        def unpack_hook_disk(tensor_or_sctf: Any) -> Any:
            if isinstance(tensor_or_sctf, torch.Tensor):
                return tensor_or_sctf
            return torch.load(tensor_or_sctf.name)

        model.disk_hooks = (pack_hook_disk, unpack_hook_disk)
        x, y = batch()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        on_disk = len(os.listdir(tmp_dir))
        loss.backward()
        optimizer.step()
        del loss
        model.disk_hooks = None
        values += [float(on_disk == len(written) > 0), float(len(os.listdir(tmp_dir)))]

    # 5. gradient hooks on intermediates: register_multi_grad_hook and get_gradient_edge
    x, y = batch()
    h = model.stem(x)
    a = model.fc1(h)
    b = torch.tanh(h[:, :16])
    seen_all: list = []
    seen_any: list = []
    handle_all = torch.autograd.graph.register_multi_grad_hook(
        (a, b), lambda grads: seen_all.append([g.abs().sum().item() for g in grads]), mode="all"
    )
    handle_any = torch.autograd.graph.register_multi_grad_hook(
        (a, b), lambda grad: seen_any.append(grad.abs().sum().item()), mode="any"
    )
    hooked: dict = {}
    h.register_hook(lambda g: hooked.__setitem__("h", g.detach().clone()))
    logits = model.fc2(F.gelu(model.ln(a))) + b[:, :3]
    loss = F.cross_entropy(logits, y)
    edge = torch.autograd.graph.get_gradient_edge(h)
    (grad_h,) = torch.autograd.grad(loss, edge, retain_graph=True)
    loss.backward(retain_graph=True)
    handle_all.remove()
    handle_any.remove()
    values += [loss.item(), grad_h.abs().sum().item(), (grad_h - hooked["h"]).abs().max().item()]
    values += [len(seen_all), *seen_all[0], *seen_all[1], len(seen_any), seen_any[0]]
    loss2 = a.pow(2).mean() + b.sum()  # the hooks are gone: nothing more is recorded
    loss2.backward()
    values += [len(seen_all), len(seen_any), loss2.item()]

    # a split backward as pipeline schedules do it: first the gradient at the stage input's
    # edge, then the weights' gradients from that edge as the output
    x, y = batch()
    h = model.stem(x)
    loss = F.cross_entropy(model.fc2(F.gelu(model.ln(model.fc1(h)))), y)
    edge = torch.autograd.graph.get_gradient_edge(h)
    (grad_h,) = torch.autograd.grad(loss, edge, retain_graph=True)
    grad_w = torch.autograd.grad(
        outputs=[edge], inputs=[model.conv.weight], grad_outputs=[grad_h], retain_graph=True
    )
    model.zero_grad()
    loss.backward()
    values.append((grad_w[0] - model.conv.weight.grad).abs().max().item())
    values.append(grad_w[0].abs().sum().item())

    # a tensor the backward does not reach gets None under mode="all"
    reached: list = []
    a, c = model.fc1(h.detach()), model.fc2(F.gelu(model.ln(model.fc1(h.detach()))))
    with torch.autograd.graph.register_multi_grad_hook(
        (a, c), lambda grads: reached.append([g is not None for g in grads])
    ):
        a.sum().backward()
    values += [float(v) for v in reached[0]]

    # code that cannot work with packed tensors forbids the hooks
    try:
        with torch.autograd.graph.disable_saved_tensors_hooks("offloading is not supported"):
            with torch.autograd.graph.save_on_cpu():
                pass
        values.append(0.0)
    except RuntimeError as e:
        values.append(float(str(e) == "offloading is not supported"))
    return values


def check(values: list[float]) -> None:
    """The hooks packed and unpacked; the dict and the disk hooks stored something; the temporary
    files are gone after the backward; the edge gradient is the hooked one."""
    assert values[2:4] == [1.0, 1.0], values[2:4]
    assert values[8] == 1.0, values[8]
    assert values[9:11] == [1.0, 0.0], values[9:11]
    assert values[13] < 1e-12, values[13]
    assert values[-5] < 1e-12, values[-5]
    assert values[-3:] == [1.0, 0.0, 1.0], values[-3:]
