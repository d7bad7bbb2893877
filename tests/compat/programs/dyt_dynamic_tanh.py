"""Transformers without normalization: Dynamic Tanh (DyT, Zhu, Chen, He, LeCun and Liu, CVPR
2025; the official ``DynamicTanh`` and ``convert_ln_to_dyt`` of ``jiachenzhu/DyT``), swapped
into a ``nn.TransformerEncoder`` classifier and a ConvNeXt-style block in place of their
LayerNorms.

The idioms kept: ``class DynamicTanh(nn.Module)`` with ``normalized_shape``,
``channels_last`` and ``alpha_init_value``, ``self.alpha = nn.Parameter(torch.ones(1) *
alpha_init_value)``, ``self.weight = nn.Parameter(torch.ones(normalized_shape))``,
``self.bias = nn.Parameter(torch.zeros(normalized_shape))``; ``forward``: ``x =
torch.tanh(self.alpha * x)`` then ``x * self.weight + self.bias`` or, channels first,
``x * self.weight[:, None, None] + self.bias[:, None, None]``; ``extra_repr`` returning
``f"normalized_shape={self.normalized_shape}, alpha_init_value={self.alpha_init_value},
channels_last={self.channels_last}"``; ``convert_ln_to_dyt(module)``: ``module_output =
module``, ``isinstance(module, nn.LayerNorm)`` (a ``LayerNorm2d`` subclass becoming
channels-first), ``for name, child in module.named_children():
module_output.add_module(name, convert_ln_to_dyt(child))``, ``del module``; the converted
model printed and compared; the LayerNorm statistics the paper plots (the input-output
"S-curve" of a trained LayerNorm) read from a forward hook before conversion; ``alpha``
values per layer after training.

Changed: a 2-layer encoder of width 16 on sequences of 6, a 3x8x8 conv block, batches of 4,
3 AdamW steps of each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, SEQ, BATCH, CLASSES, STEPS, CHANNELS = 16, 6, 4, 3, 3, 8


def _classes(torch: Any) -> tuple[Any, Any]:
    nn = torch.nn

    class DynamicTanh(nn.Module):
        def __init__(self, normalized_shape: Any, channels_last: bool,
                     alpha_init_value: float = 0.5) -> None:  # fmt: skip
            super().__init__()
            self.normalized_shape = normalized_shape
            self.alpha_init_value = alpha_init_value
            self.channels_last = channels_last
            self.alpha = nn.Parameter(torch.ones(1) * alpha_init_value)
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))

        def forward(self, x: Any) -> Any:
            x = torch.tanh(self.alpha * x)
            if self.channels_last:
                x = x * self.weight + self.bias
            else:
                x = x * self.weight[:, None, None] + self.bias[:, None, None]
            return x

        def extra_repr(self) -> str:
            return (f"normalized_shape={self.normalized_shape}, alpha_init_value="
                    f"{self.alpha_init_value}, channels_last={self.channels_last}")  # fmt: skip

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x: Any) -> Any:
            x = x.permute(0, 2, 3, 1)
            x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                                         self.eps)  # fmt: skip
            return x.permute(0, 3, 1, 2)

    return DynamicTanh, LayerNorm2d


def convert_ln_to_dyt(torch: Any, module: Any) -> Any:
    DynamicTanh, LayerNorm2d = _classes(torch)
    module_output = module
    if isinstance(module, torch.nn.LayerNorm):
        module_output = DynamicTanh(module.normalized_shape, not isinstance(module, LayerNorm2d))
    for name, child in module.named_children():
        module_output.add_module(name, convert_ln_to_dyt(torch, child))
    del module
    return module_output


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    _, LayerNorm2d = _classes(torch)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(DIM, 2, 32, dropout=0.0, batch_first=True,
                                               norm_first=True)  # fmt: skip
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(DIM)
            self.head = nn.Linear(DIM, CLASSES)
            self.stem = nn.Conv2d(3, CHANNELS, 3, padding=1)
            self.dwconv = nn.Conv2d(CHANNELS, CHANNELS, 7, padding=3, groups=CHANNELS)
            self.norm2d = LayerNorm2d(CHANNELS, eps=1e-6)
            self.conv_head = nn.Linear(CHANNELS, CLASSES)

        def forward(self, tokens: Any, images: Any) -> tuple[Any, Any]:
            seq = self.head(self.norm(self.encoder(tokens)).mean(1))
            h = self.stem(images)
            h = h + self.norm2d(self.dwconv(h))
            return seq, self.conv_head(h.mean((2, 3)))

    return Net()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(13)
    seen: list[Any] = []
    handle = model.norm.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    tokens = as_tensor(torch, rng.standard_normal((BATCH, SEQ, DIM)))
    images = as_tensor(torch, rng.standard_normal((BATCH, 3, 8, 8)))
    with torch.no_grad():
        model(tokens, images)
    handle.remove()
    ln_in, ln_out = seen[0]
    order = ln_in.flatten().argsort()
    values = ln_out.flatten()[order][::16].tolist()  # the S-curve, sampled
    model = convert_ln_to_dyt(torch, model)
    values.append(float(sum(isinstance(m, torch.nn.LayerNorm) for m in model.modules())))
    values.append(float(len(repr(model).split("DynamicTanh(")) - 1))
    values.append(float("channels_last=False" in repr(model.norm2d)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(STEPS):
        labels = rng.integers(0, CLASSES, BATCH)
        tokens = as_tensor(torch, rng.standard_normal((BATCH, SEQ, DIM)) + labels[:, None, None])
        images = as_tensor(
            torch, rng.standard_normal((BATCH, 3, 8, 8)) - labels[:, None, None, None]
        )
        seq, conv = model(tokens, images)
        y = as_tensor(torch, labels)
        loss = F.cross_entropy(seq, y) + F.cross_entropy(conv, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    alphas = [m.alpha.item() for m in model.modules() if hasattr(m, "alpha_init_value")]
    return values + alphas
