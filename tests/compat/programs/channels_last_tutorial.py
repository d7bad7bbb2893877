"""The PyTorch tutorial "(beta) Channels Last Memory Format in PyTorch"
(``intermediate/memory_format_tutorial``), size-reduced and run on the CPU.

The idioms: ``x.stride()`` of ``torch.empty(N, C, H, W)`` before and after
``x.to(memory_format=torch.channels_last)`` (the shape is unchanged, the strides become NHWC),
back with ``x.to(memory_format=torch.contiguous_format)``, and ``x.contiguous(memory_format=
torch.channels_last)``; ``x.is_contiguous(memory_format=torch.channels_last)``; the
"special" ``torch.empty(4, 1, 4, 4)`` contiguous in both formats; ``torch.empty(N, C, H, W,
memory_format=torch.channels_last)``; ``torch.empty(N, H, W, C).permute(0, 3, 1, 2)`` already
channels last; formats preserved by ``empty_like``/``zeros_like``/``clone``, elementwise ops
(``x * 2``, ``x + y``, ``torch.relu``) and ``.float()``/``.to(dtype)``, and lost by
``contiguous()``; ``torch.channels_last_3d`` on a 5-D tensor; one-channel images
(``torch.empty(2, 1, 5, 5)``) whose size-1 channel dim gets channels-last strides, and
convolutions (and transposed ones) of them; ``model.to(memory_format=
torch.channels_last)`` on a conv net (``model.conv.weight.is_contiguous(memory_format=...)``,
``torch.randint(1, 10, (2, 8, 4, 4), dtype=torch.float32, requires_grad=True)`` moved with
``input.to(device=..., memory_format=torch.channels_last, dtype=...)``), its output format, the
tutorial's ``contains_cl``/``print_inputs``/``check_wrapper`` auditing of which ops keep the
format (``torch.Tensor`` attributes wrapped to record whether a channels-last input gave a
channels-last output), and a channels-last training step whose losses and gradients equal the
contiguous model's.

Changed: the tutorial's CUDA/``half`` model is float64 on the CPU; its ``torchvision``
``resnet50`` and ``apex`` AMP loop become a small conv net with a few SGD steps; the
op-auditing wrapper runs over a fixed list of ``Tensor`` methods instead of ``dir(torch.Tensor)``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(8, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 6, 1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(6, 3)

        def forward(self, x: Any) -> Any:
            x = torch_like.relu(self.bn(self.conv(x)))
            x = torch_like.nn.functional.max_pool2d(self.conv2(x), 2)
            return self.fc(torch_like.flatten(self.pool(x), 1))

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    values: list[float] = []

    def strides(t: Any) -> None:
        values.extend(float(s) for s in t.stride())

    def formats(t: Any) -> None:
        values.append(float(t.is_contiguous()))
        values.append(float(t.is_contiguous(memory_format=torch.channels_last)))

    N, C, H, W = 10, 3, 32, 32
    x = torch.empty(N, C, H, W)
    strides(x)  # Outputs: (3072, 1024, 32, 1)
    x = x.to(memory_format=torch.channels_last)
    assert tuple(x.shape) == (10, 3, 32, 32)  # dimensions order preserved
    strides(x)  # Outputs: (3072, 1, 96, 3)
    x = x.to(memory_format=torch.contiguous_format)
    strides(x)  # Outputs: (3072, 1024, 32, 1)
    x = x.contiguous(memory_format=torch.channels_last)
    strides(x)  # Ouputs: (3072, 1, 96, 3)
    formats(x)  # Ouputs: False, True

    special_x = torch.empty(4, 1, 4, 4)
    formats(special_x)  # Ouputs: True, True

    x = torch.empty(N, C, H, W, memory_format=torch.channels_last)
    strides(x)
    x = torch.empty(N, H, W, C)
    x = x.permute(0, 3, 1, 2)  # Here x is channels last
    formats(x)
    strides(x)

    # which ops keep the format (on values, so the results can be compared too)
    rng = np.random.default_rng(7)
    a = as_tensor(torch, rng.standard_normal((2, 3, 4, 5))).to(memory_format=torch.channels_last)
    b = as_tensor(torch, rng.standard_normal((2, 3, 4, 5)))
    for t in (
        torch.empty_like(a),
        torch.zeros_like(a),
        a.clone(),
        a * 2,
        a + b,
        b + a,
        torch.relu(a),
        a.float(),
        a.to(torch.float32),
        a.contiguous(),
        a.clone(memory_format=torch.contiguous_format),
        torch.empty_like(b, memory_format=torch.channels_last),
        a.sum(dim=1, keepdim=True),
    ):
        formats(t)
    values.append((a * 2 + b).sum().item())
    values.append(a.contiguous().flatten()[:7].sum().item())  # logical order is unchanged
    values.append(a.view(-1)[5].item() if a.is_contiguous() else a.reshape(-1)[5].item())

    x5 = torch.empty(2, 3, 4, 5, 6).to(memory_format=torch.channels_last_3d)
    strides(x5)
    values.append(float(x5.is_contiguous(memory_format=torch.channels_last_3d)))

    # one-channel (MNIST-like) images: the size-1 channel dim gets channels-last strides too
    gray = torch.empty(2, 1, 5, 5).to(memory_format=torch.channels_last)
    strides(gray)
    strides(torch.nn.Conv2d(1, 3, 3).to(memory_format=torch.channels_last).weight)
    strides(torch.nn.functional.conv2d(gray.normal_(), torch.ones(3, 1, 3, 3)))
    strides(torch.nn.functional.conv_transpose2d(gray, torch.ones(1, 2, 2, 2), stride=2))

    # a model in channels_last
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    # Module parameters need to be channels last
    model = model.to(memory_format=torch.channels_last)
    values.append(float(model.conv.weight.is_contiguous(memory_format=torch.channels_last)))
    values.append(float(model.fc.weight.is_contiguous()))
    strides(model.conv.weight)

    input = torch.randint(1, 10, (2, 8, 4, 4), dtype=torch.float32, requires_grad=True)
    values.append(float(input.requires_grad))
    input = input.to(device="cpu", memory_format=torch.channels_last, dtype=torch.float64)
    formats(input)
    out = model.conv(input)
    formats(out)  # Ouputs: False, True

    # auditing which ops keep channels last, as the tutorial's check_wrapper does
    def contains_cl(args: Any) -> bool:
        for t in args:
            if isinstance(t, torch.Tensor):
                if t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous():
                    return True
            elif isinstance(t, list) or isinstance(t, tuple):
                if contains_cl(list(t)):
                    return True
        return False

    audit: dict[str, bool] = {}

    def check_wrapper(fn: Any) -> Any:
        name = fn.__name__

        @functools.wraps(fn)
        def check_cl(*args: Any, **kwargs: Any) -> Any:
            was_cl = contains_cl(args)
            result = fn(*args, **kwargs)
            if was_cl and isinstance(result, torch.Tensor) and result.dim() == 4:
                audit[name] = result.is_contiguous(memory_format=torch.channels_last)
            return result

        return check_cl

    old_attrs: dict[str, Any] = {}
    for attr in ("__add__", "__mul__", "abs", "clamp", "exp", "sigmoid", "neg", "clone"):
        old_attrs[attr] = getattr(torch.Tensor, attr)
        setattr(torch.Tensor, attr, check_wrapper(old_attrs[attr]))
    try:
        z = a + 1
        z = z * 3
        z = z.abs().clamp(0, 2).exp().sigmoid().neg().clone()
    finally:
        for attr, fn in old_attrs.items():
            setattr(torch.Tensor, attr, fn)
    values.extend(float(audit[k]) for k in sorted(audit))
    values.append(float(len(audit)))
    values.append(z.sum().item())

    # a training step, channels last vs contiguous: the same numbers
    reference = make_model(torch)
    load_numpy_state(torch, reference, init)
    data = as_tensor(torch, rng.standard_normal((4, 8, 6, 6)))
    target = torch.tensor([0, 2, 1, 2])
    cl_opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    for _step in range(3):
        for net, opt, batch in (
            (model, cl_opt, data.to(memory_format=torch.channels_last)),
            (reference, ref_opt, data),
        ):
            opt.zero_grad()
            loss = criterion(net(batch), target)
            loss.backward()
            opt.step()
            values.append(loss.item())
        values.append(
            float(model.conv.weight.grad.is_contiguous(memory_format=torch.channels_last))
        )
        values.append((model.conv.weight - reference.conv.weight).abs().max().item())
    values.append(float(model.conv.weight.is_contiguous(memory_format=torch.channels_last)))
    values.append(model.bn.running_mean.sum().item())
    return values
