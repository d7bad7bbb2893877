"""The corners of ``torch.nn.utils.parametrize`` that its reference pages document
(https://pytorch.org/docs/stable/generated/torch.nn.utils.parametrize.register_parametrization.html
and ``transfer_parametrizations_and_params``): ``register_parametrization(..., unsafe=True)``
for a parametrization that changes the shape (a low-rank factorised weight stored as one
flattened tensor), a ``right_inverse`` returning two tensors (stored as ``original0`` and
``original1``), ``parametrize.transfer_parametrizations_and_params(from_module, to_module)``
copying the parametrization and its originals into a fresh layer (the pattern model-surgery
code uses), ``parametrize.type_before_parametrizations(layer)``, ``parametrize.cached()``
around a forward that reads the weight twice, ``parametrize.is_parametrized(layer, "weight")``
and ``remove_parametrizations(..., leave_parametrized=True)`` at the end.

Changed: 6x4 linear layers, three Adam steps on a regression batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

OUT, IN, RANK = 6, 4, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.ModuleDict(
        {"a": nn.Linear(IN, OUT), "b": nn.Linear(IN, OUT), "c": nn.Linear(IN, OUT)}
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    parametrize = torch.nn.utils.parametrize

    class FlatLowRank(nn.Module):
        """Stores U (OUT x RANK) and V (RANK x IN) flattened in one vector: shape changes."""

        def forward(self, flat: Any) -> Any:
            u = flat[: OUT * RANK].view(OUT, RANK)
            v = flat[OUT * RANK :].view(RANK, IN)
            return u @ v

        def right_inverse(self, w: Any) -> Any:
            u, s, vh = torch.linalg.svd(w, full_matrices=False)
            u = u[:, :RANK] * s[:RANK].sqrt()
            v = s[:RANK].sqrt().unsqueeze(1) * vh[:RANK]
            return torch.cat([u.reshape(-1), v.reshape(-1)])

    class ScaleDir(nn.Module):
        """``weight = g * d / ||d||``: two originals from one weight."""

        def forward(self, g: Any, d: Any) -> Any:
            return g * d / d.norm(dim=1, keepdim=True)

        def right_inverse(self, w: Any) -> tuple[Any, Any]:
            return w.norm(dim=1, keepdim=True), w

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    parametrize.register_parametrization(model["a"], "weight", FlatLowRank(), unsafe=True)
    parametrize.register_parametrization(model["b"], "weight", ScaleDir())
    values = [
        float(model["a"].parametrizations.weight.original.shape[0]),
        model["b"].parametrizations.weight.original0.sum().item(),
        model["b"].parametrizations.weight.original1.sum().item(),
        float(parametrize.type_before_parametrizations(model["a"]) is nn.Linear),
    ]
    torch.manual_seed(0)
    fresh = nn.Linear(IN, OUT)
    parametrize.transfer_parametrizations_and_params(model["b"], fresh)
    values.append(float(parametrize.is_parametrized(fresh, "weight")))
    values.append((fresh.weight - model["b"].weight).abs().sum().item())
    model["c"] = fresh
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    rng = np.random.default_rng(23)
    for _ in range(3):
        x = as_tensor(torch_like, rng.standard_normal((5, IN)))
        y = as_tensor(torch_like, rng.standard_normal((5, OUT)))
        with parametrize.cached():
            out = model["a"](x) + model["b"](x) + model["c"](x)
            reg = model["a"].weight.pow(2).sum() + model["b"].weight.abs().sum()
        loss = nn.functional.mse_loss(out, y) + 1e-3 * reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    for name in ("a", "b", "c"):
        parametrize.remove_parametrizations(model[name], "weight", leave_parametrized=True)
        values.append(model[name].weight.sum().item())
    values.append(float(sum(p.numel() for p in model.parameters())))
    return values
