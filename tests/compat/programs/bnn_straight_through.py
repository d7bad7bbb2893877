"""A binarized neural network trained with straight-through estimators, as BinaryNet.pytorch
(itayhubara, after Courbariaux et al. 2016) and the XNOR-Net PyTorch ports (jiecaoyu,
``util.py``'s ``BinOp``) write it, size-reduced.

The idioms: the sign as a custom ``torch.autograd.Function`` whose backward is the hard-tanh
straight-through estimator (``ctx.save_for_backward(input)``, ``grad_input =
grad_output.clone()``, ``grad_input[input.abs() > 1] = 0`` i.e. ``grad * (|x| <= 1)``); the
one-liner form ``(x.sign() - x).detach() + x`` (identity gradient) for the activations of the
XNOR layers; ``BinarizeLinear``/``BinarizeConv2d`` subclasses of ``nn.Linear``/``nn.Conv2d``
that keep the real-valued latent weight in ``self.weight.org`` (``if not hasattr(self.weight,
'org'): self.weight.org = self.weight.data.clone()``), binarize ``self.weight.data =
Binarize(self.weight.org)`` in ``forward`` and call ``F.linear``/``F.conv2d`` (BinaryNet's
pattern); XNOR-Net's per-output-channel scale ``alpha = W.abs().mean(dim=[1, 2, 3], keepdim=True)``
multiplying ``sign(W)``; ``nn.BatchNorm1d``/``nn.BatchNorm2d`` between the binary layers,
``nn.Hardtanh``, ``nn.MaxPool2d`` (before the XNOR layer: after it, the sums of +-alpha tie in the
pooling window and the tie goes by last-bit rounding, which differs between the libraries); and
BinaryNet's training step: ``loss. backward()``, then ``for p in model.parameters(): if hasattr(p,
'org'): p.data.copy_(p.org)`` (the latent weights get the update), ``optimizer.step()``, and
``p.org.copy_(p.data.clamp_(-1, 1))``; with ``torch.optim.Adam`` and a ``StepLR``. Evaluation under
``model.eval()`` and ``torch.no_grad()`` (BatchNorm's running statistics) reports the accuracy and
that every binarized weight is in {-1, +1}.

Changed: MNIST/CIFAR -> 16 random 1x8x8 images of 3 classes; the layers are 4 channels wide.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BATCH, CLASSES, STEPS, LR = 16, 3, 4, 0.01


def _classes(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SignSTE(torch.autograd.Function):
        """sign(x) forward; the hard-tanh derivative (1 on |x| <= 1, else 0) backward."""

        @staticmethod
        def forward(ctx: Any, input: Any) -> Any:
            ctx.save_for_backward(input)
            return input.sign()

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input.abs() > 1] = 0
            return grad_input

    def Binarize(tensor: Any) -> Any:
        return tensor.sign()

    class BinarizeLinear(nn.Linear):
        def forward(self, input: Any) -> Any:
            if input.size(1) != 784:  # BinaryNet keeps the raw pixels of the first layer
                input = SignSTE.apply(input)
            if not hasattr(self.weight, "org"):
                self.weight.org = self.weight.data.clone()
            self.weight.data = Binarize(self.weight.org)
            out = F.linear(input, self.weight)
            if self.bias is not None:
                self.bias.org = self.bias.data.clone()
                out += self.bias.view(1, -1).expand_as(out)
            return out

    class XnorConv2d(nn.Conv2d):
        """XNOR-Net: sign activations (the detach trick) and sign weights scaled by mean |W|."""

        def forward(self, input: Any) -> Any:
            input = (input.sign() - input).detach() + input
            w = self.weight
            alpha = w.abs().mean(dim=[1, 2, 3], keepdim=True)
            w_bin = SignSTE.apply(w) * alpha
            return F.conv2d(input, w_bin, self.bias, self.stride, self.padding)

    class BinaryNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1, bias=False),
                nn.BatchNorm2d(4),
                nn.Hardtanh(inplace=True),
                nn.MaxPool2d(kernel_size=2, stride=2),
                XnorConv2d(4, 4, 3, padding=1, bias=False),
                nn.BatchNorm2d(4),
                nn.Hardtanh(inplace=True),
            )
            self.classifier = nn.Sequential(
                BinarizeLinear(4 * 4 * 4, 12),
                nn.BatchNorm1d(12),
                nn.Hardtanh(inplace=True),
                BinarizeLinear(12, CLASSES),
                nn.BatchNorm1d(CLASSES, affine=False),
            )

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = x.view(-1, 4 * 4 * 4)
            return self.classifier(x)

    return BinaryNet, SignSTE


def make_model(torch_like: Any) -> Any:
    BinaryNet, _ = _classes(torch_like)
    return BinaryNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    BinaryNet, SignSTE = _classes(torch_like)
    model = BinaryNet()
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(3)
    target = rng.integers(0, CLASSES, size=BATCH)
    images = rng.standard_normal((BATCH, 1, 8, 8)) * 0.5
    images[:, 0, :, :] += (target[:, None, None] - 1.0) * 0.8
    data, target = as_tensor(torch, images), as_tensor(torch, target)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    values: list[float] = []

    for _step in range(STEPS):
        model.train()
        output = model(data)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        for p in list(model.parameters()):
            if hasattr(p, "org"):
                p.data.copy_(p.org)
        optimizer.step()
        for p in list(model.parameters()):
            if hasattr(p, "org"):
                p.org.copy_(p.data.clamp_(-1, 1))
        scheduler.step()
        fc1 = model.classifier[0]
        xnor = model.features[4]
        values += [loss.item(), fc1.weight.org.abs().max().item(), fc1.weight.org.sum().item()]
        values += [xnor.weight.grad.abs().sum().item(), fc1.weight.grad.abs().sum().item()]
        values += [model.features[0].weight.grad.norm().item()]

    model.eval()
    with torch.no_grad():
        output = model(data)
        pred = output.argmax(dim=1, keepdim=True)
        correct = pred.eq(target.view_as(pred)).sum().item()
        binary = all(
            bool(((m.weight == 1) | (m.weight == -1)).all())
            for m in model.modules()
            if hasattr(m.weight if hasattr(m, "weight") else None, "org")
        )
    values += [float(correct), float(binary), output.sum().item()]
    values += [model.classifier[1].running_mean.sum().item()]
    values += [model.features[5].running_var.sum().item()]

    # the estimators on their own: hard-tanh STE, and the detach trick's identity gradient
    x = torch.tensor([-1.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.0], requires_grad=True)
    SignSTE.apply(x).mul(torch.arange(7.0)).sum().backward()
    values += x.grad.tolist()
    x.grad = None
    ((x.sign() - x).detach() + x).pow(2).sum().backward()
    values += x.grad.tolist()
    return values
