"""PyTorch's recipe "Extension points in ``nn.Module`` for ``load_state_dict`` and tensor
subclasses" (``recipes_source/recipes/swap_tensors.py``, pytorch.org/tutorials/recipes/
recipes/swap_tensors.html) with "Tips for Loading an nn.Module from a Checkpoint"
(``recipes_source/recipes/module_load_state_dict_tips.py``), size-reduced: ``t1 =
torch.arange(2); t2 = torch.arange(3); torch.utils.swap_tensors(t1, t2)`` (the identities
kept, the contents exchanged); ``torch.__future__.set_swap_module_params_on_conversion(True)``
with ``torch.__future__.get_swap_module_params_on_conversion()``; a module converted with
``m.to(torch.float64)``/``m.half()``-style casts after its optimizer was built, whose
``Parameter`` objects (and their ``.grad``) keep their identity under the swap switch (the
optimizer goes on training them); ``torch.__future__.set_overwrite_module_params_on_conversion
(True)`` replacing the parameters instead (``m.weight is not weight``); a ``Tensor`` subclass
overriding ``module_load(self, other, assign=False)`` that ``load_state_dict`` calls before it
swaps (here on a buffer); the checkpoint tips' ``with torch.device('meta'): meta_m =
SomeModule(...)`` then ``meta_m.load_state_dict(state_dict, assign=True)`` and
``torch.save``/``torch.load(mmap=True, weights_only=True)``.

Changed: ``SomeModule(1000)`` -> a two-layer MLP of width 6, the quantized-weight
``__torch_dispatch__`` subclass of the recipe -> a plain ``torch.Tensor`` subclass (wrapper
subclasses are not part of this program); 3 SGD steps around each conversion; the switches
are set back to their defaults at the end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

RTOL, ATOL = 1e-5, 1e-7  # part of the training runs in float32


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SomeModule(nn.Module):
        def __init__(self, size: int) -> None:
            super().__init__()
            self.linears = nn.ModuleList([nn.Linear(size, size) for i in range(2)])

        def forward(self, x: Any) -> Any:
            return self.linears[1](self.linears[0](x).tanh())

    return SomeModule(6)


def _train(torch: Any, m: Any, opt: Any, rng: Any, dtype: Any, values: list) -> None:
    for _ in range(3):
        x = as_tensor(torch, rng.normal(size=(4, 6))).to(dtype)
        loss = (m(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(40)
    values: list[float] = []

    t1 = torch.arange(2)
    t2 = torch.arange(3)
    ids = (id(t1), id(t2))
    torch.utils.swap_tensors(t1, t2)
    assert (id(t1), id(t2)) == ids
    values += [float(t1.sum()), float(t1.numel()), float(t2.numel())]

    try:
        torch.__future__.set_swap_module_params_on_conversion(True)
        assert torch.__future__.get_swap_module_params_on_conversion()
        m = make_model(torch_like)
        load_numpy_state(torch_like, m, init)
        m.float()
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        _train(torch, m, opt, rng, torch.float32, values)
        weight, grad = m.linears[0].weight, m.linears[0].weight.grad
        m.to(torch.float64)  # swapped: the optimizer's parameters are the module's
        assert m.linears[0].weight is weight and m.linears[0].weight.grad is grad
        assert weight.dtype == torch.float64 and grad.dtype == torch.float64
        _train(torch, m, opt, rng, torch.float64, values)

        class ScaledOnLoad(torch.Tensor):
            def module_load(self, other: Any, assign: bool = False) -> Any:
                return (other * 0.5).detach()

        m.linears[1].register_buffer(
            "scale", torch.Tensor._make_subclass(ScaledOnLoad, torch.ones(6))
        )
        scale = m.linears[1].scale
        sd = m.state_dict()
        sd["linears.1.scale"] = sd["linears.1.scale"] * 3.0
        m.load_state_dict(sd)  # module_load halves the buffer's value, then swaps
        assert m.linears[1].scale is scale
        values += [m.linears[1].scale.sum().item(), m.linears[0].weight.sum().item()]
        del m.linears[1].scale  # (a local class: not to be saved)

        torch.__future__.set_swap_module_params_on_conversion(False)
        torch.__future__.set_overwrite_module_params_on_conversion(True)
        weight = m.linears[0].weight
        m.to(torch.float32)  # new Parameter objects: a fresh optimizer is needed
        assert m.linears[0].weight is not weight and weight.dtype == torch.float64
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        _train(torch, m, opt, rng, torch.float32, values)
    finally:
        torch.__future__.set_swap_module_params_on_conversion(False)
        torch.__future__.set_overwrite_module_params_on_conversion(False)

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "checkpoint.pth")
        torch.save(m.state_dict(), path)
        state_dict = torch.load(path, mmap=True, weights_only=True)
        with torch.device("meta"):
            meta_m = make_model(torch_like)
        meta_m.load_state_dict(state_dict, assign=True)
        x = as_tensor(torch, rng.normal(size=(2, 6)).astype(np.float32))
        with torch.no_grad():
            values += meta_m(x).flatten().tolist()
    return values
