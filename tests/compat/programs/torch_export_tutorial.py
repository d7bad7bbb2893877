"""The PyTorch "torch.export Tutorial" (``intermediate/torch_export_tutorial``) and the
``torch.export`` docs' MLP/CNN examples, size-reduced: ``from torch.export import export,
Dim``; ``MyModule`` (``self.lin = torch.nn.Linear(100, 10)``, ``forward(x, y)`` returning
``torch.nn.functional.relu(self.lin(x + y), inplace=True)``) exported with
``export(mod, (torch.randn(8, 100), torch.randn(8, 100)))``; ``type(exported_mod)``,
``print(exported_mod)``, ``exported_mod.graph_module`` (``print_readable``-style ``.code``),
``exported_mod.graph_signature`` (``input_specs`` kinds ``PARAMETER``/``USER_INPUT``) and
``exported_mod.module()(...)`` compared with the eager module; a dynamic batch through
``batch = Dim("batch")`` and ``dynamic_shapes = {"x1": {0: batch}, "x2": {0: batch}}`` (the
tutorial's ``DynamicModel``), the exported module called on another batch size and the
``RuntimeError`` a static export raises for one; ``Dim("batch", min=2, max=64)`` with the
``range_constraints``; a CNN (``Conv2d``/``BatchNorm2d``/``MaxPool2d``/``Linear``) exported
in ``eval()``, ``ep.run_decompositions()`` giving the same outputs, and the
``torch.export.save(ep, "exported_program.pt2")`` / ``torch.export.load`` round trip into a
temporary directory; a model trained with ``Adam`` a few steps before export (the deployment
flow: train, ``model.eval()``, export, serve the loaded program).

Compared: the exported programs' outputs on fresh inputs, the trained losses, the counts of
the graph signature's parameter/buffer/user inputs, whether the guard errors are raised (1.0).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor

DTYPE = "float32"


def init_state(tmp_path: Path) -> dict:
    return {"root": str(tmp_path)}


def _models(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    class MyModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(20, 10)

        def forward(self, x: Any, y: Any) -> Any:
            return torch.nn.functional.relu(self.lin(x + y), inplace=True)

    class DynamicModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = torch.nn.Linear(5, 3)

        def forward(self, w: Any, x: Any, y: Any, z: Any) -> Any:
            return w + self.l(x) + (y * z).sum(dim=-1, keepdim=True)

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x: Any) -> Any:
            x = self.pool(torch.relu(self.bn(self.conv(x))))
            x = torch.flatten(x, 1)
            return self.fc(x)

    return {"mlp": MyModule(), "dyn": DynamicModel(), "cnn": CNN()}


def _load(torch_like: Any, model: Any, rng: np.random.Generator) -> None:
    """Same weights in both runs: every parameter drawn from ``rng`` in state-dict order."""
    state = {}
    for k, v in model.state_dict().items():
        if v.dtype == torch_like.float32:
            arr = rng.normal(0, 0.3, tuple(v.shape)).astype(np.float32)
            if "running_var" in k:
                arr = np.abs(arr) + 0.5
            state[k] = as_tensor(torch_like, arr)
        else:
            state[k] = v
    model.load_state_dict(state)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    export, Dim = torch_like.export.export, torch_like.export.Dim
    root = Path(init["root"]) / torch_like.__name__
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    models = _models(torch_like)
    for m in models.values():
        _load(torch_like, m, rng)
    values: list[float] = []

    def t(*shape: int) -> Any:
        return as_tensor(torch_like, rng.normal(size=shape).astype(np.float32))

    # Basic usage: export, print, graph signature, module()
    mod = models["mlp"]
    example_args = (t(8, 20), t(8, 20))
    exported_mod = export(mod, example_args)
    assert type(exported_mod).__name__ == "ExportedProgram"
    text = str(exported_mod)
    assert "ExportedProgram" in text and "Graph signature" in text
    code = exported_mod.graph_module.code
    assert "def forward" in code
    kinds = [s.kind.name for s in exported_mod.graph_signature.input_specs]
    values += [kinds.count("PARAMETER"), kinds.count("BUFFER"), kinds.count("USER_INPUT")]
    a, b = t(8, 20), t(8, 20)
    out = exported_mod.module()(a, b)
    values.append(out.sum().item())
    values.append((out - mod(a, b)).abs().max().item())
    # a static export refuses another batch size
    try:
        exported_mod.module()(t(4, 20), t(4, 20))
        values.append(0.0)
    except AssertionError:  # "Guard failed: x.size()[0] == 8"
        values.append(1.0)
    except RuntimeError:
        values.append(2.0)

    # Dynamic shapes: a batch dimension
    dyn = models["dyn"]
    inps = (t(6, 3), t(6, 5), t(6, 4), t(6, 4))
    batch = Dim("batch")
    dynamic_shapes = {"w": {0: batch}, "x": {0: batch}, "y": {0: batch}, "z": {0: batch}}
    ep = export(dyn, inps, dynamic_shapes=dynamic_shapes)
    for n in (2, 9):
        args = (t(n, 3), t(n, 5), t(n, 4), t(n, 4))
        got = ep.module()(*args)
        values += [got.sum().item(), (got - dyn(*args)).abs().max().item()]
    # a bounded Dim: its range is recorded and checked
    bounded = Dim("batch", min=2, max=64)
    ep2 = export(
        dyn,
        inps,
        dynamic_shapes={"w": {0: bounded}, "x": {0: bounded}, "y": {0: bounded}, "z": {0: bounded}},
    )
    ranges = list(ep2.range_constraints.values())
    values += [float(ranges[0].lower), float(ranges[0].upper)]
    try:
        ep2.module()(t(1, 3), t(1, 5), t(1, 4), t(1, 4))
        values.append(0.0)
    except AssertionError:
        values.append(1.0)
    except RuntimeError:
        values.append(2.0)

    # Train a CNN, then deploy: eval(), export, save/load, run_decompositions
    cnn = models["cnn"]
    opt = torch.optim.Adam(cnn.parameters(), lr=1e-2)
    x_train = t(8, 3, 6, 6)
    y_train = as_tensor(torch_like, rng.integers(0, 5, 8))
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(cnn(x_train), y_train)
        loss.backward()
        opt.step()
        values.append(loss.item())
    cnn.eval()
    cnn_ep = export(cnn, (t(2, 3, 6, 6),), dynamic_shapes={"x": {0: Dim("batch")}})
    kinds = [s.kind.name for s in cnn_ep.graph_signature.input_specs]
    values += [kinds.count("PARAMETER"), kinds.count("BUFFER"), kinds.count("USER_INPUT")]
    x = t(5, 3, 6, 6)
    with torch.no_grad():
        eager = cnn(x)
    values.append(cnn_ep.module()(x).sum().item())
    path = os.path.join(root, "exported_program.pt2")
    torch.export.save(cnn_ep, path)
    saved_exported_program = torch.export.load(path)
    loaded = saved_exported_program.module()(x)
    values.append((loaded - eager).abs().max().item())
    with warnings.catch_warnings():
        # torch 2.13's own pytree code warns (FutureWarning about LeafSpec) inside it
        warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)`", FutureWarning)
        decomposed = cnn_ep.run_decompositions()
    values.append((decomposed.module()(x) - eager).abs().max().item())
    values.append(float(eager.argmax(1).eq(loaded.argmax(1)).sum().item()))
    return values


ATOL = 1e-5
