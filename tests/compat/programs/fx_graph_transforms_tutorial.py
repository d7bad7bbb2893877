"""The torch.fx tutorials and documentation, size-reduced: the ``torch.fx`` docs' "Writing
Transformations" examples (``symbolic_trace``, the direct graph edit that swaps ``torch.add``
for ``torch.mul`` over ``for node in traced.graph.nodes:`` then ``graph.lint()`` and
``recompile()``, and the ``fx.Transformer`` subclass whose ``call_function`` returns
``torch.neg(*args, **kwargs)`` in place of ``torch.relu``), the "(beta) Building a Convolution/
Batch Norm fuser in FX" tutorial (``intermediate/fx_conv_bn_fuser``: ``_parent_name``'s
``target.rsplit('.', 1)``, ``replace_node_module``'s ``setattr(modules[parent_name], name,
new_module)``, ``matches_module_pattern`` over ``node.args``/``node.target``/``modules``,
``len(node.args[0].users) > 1``, ``fuse_conv_bn_eval``, ``node.replace_all_uses_with(
node.args[0])``, ``new_graph.erase_node(node)``, ``fx.GraphModule(fx_model, new_graph)``) and
"(beta) Building a Simple CPU Performance Profiler with FX" (``intermediate/fx_profiling_
tutorial``: a ``torch.fx.Interpreter`` subclass whose ``run_node`` wraps ``super().run_node(n)``
and records each node's result by ``n``).

Changed: ResNet-18 -> a small conv/BN/Linear net; the profiler records result shapes instead
of wall times (a deterministic value to compare); the fused model is trained for a few SGD
steps, the fused convolution's weights now being leaves of the GraphModule.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4, 3)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(x))
            x = torch.add(x, y)
            x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
            return self.fc(x) + 1

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, fx = torch_like, torch_like.nn, torch_like.fx
    rng = np.random.default_rng(7)
    values: list[float] = []

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    for m in model.modules():  # non-trivial running statistics for the fuser
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.from_numpy(rng.normal(size=4)))
            m.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, 4)))
    model.eval()
    x = torch.from_numpy(rng.normal(size=(2, 1, 6, 6)))

    # docs: direct graph manipulation
    traced = fx.symbolic_trace(model)
    ops = [node.op for node in traced.graph.nodes]
    values += [len(ops), ops.count("call_module"), ops.count("call_function")]
    for node in traced.graph.nodes:
        if node.op == "call_function":
            if node.target == torch.add:
                node.target = torch.mul
    traced.graph.lint()
    traced.recompile()
    values.append(traced(x).sum().item())

    # docs: a Transformer that swaps relu for neg
    class NegSigmSwapXformer(fx.Transformer):
        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            if target == torch.relu:
                return torch.neg(*args, **kwargs)
            return super().call_function(target, args, kwargs)

    transformed = NegSigmSwapXformer(fx.symbolic_trace(model)).transform()
    values.append(transformed(x).sum().item())

    # fx_conv_bn_fuser
    def _parent_name(target: str) -> tuple[str, str]:
        *parent, name = target.rsplit(".", 1)
        return parent[0] if parent else "", name

    def replace_node_module(node: Any, modules: dict, new_module: Any) -> None:
        assert isinstance(node.target, str)
        parent_name, name = _parent_name(node.target)
        setattr(modules[parent_name], name, new_module)

    def matches_module_pattern(pattern: Any, node: Any, modules: dict) -> bool:
        if len(node.args) == 0:
            return False
        nodes = (node.args[0], node)
        for expected_type, current_node in zip(pattern, nodes):
            if not isinstance(current_node, fx.Node):
                return False
            if current_node.op != "call_module":
                return False
            if not isinstance(current_node.target, str):
                return False
            if current_node.target not in modules:
                return False
            if type(modules[current_node.target]) is not expected_type:
                return False
        return True

    def fuse(model: Any) -> Any:
        model = copy.deepcopy(model)
        fx_model = fx.symbolic_trace(model)
        modules = dict(fx_model.named_modules())
        new_graph = copy.deepcopy(fx_model.graph)
        patterns = [(nn.Conv2d, nn.BatchNorm2d)]
        for pattern in patterns:
            for node in new_graph.nodes:
                if matches_module_pattern(pattern, node, modules):
                    if len(node.args[0].users) > 1:  # Output of conv is used by other nodes
                        continue
                    conv = modules[node.args[0].target]
                    bn = modules[node.target]
                    fused_conv = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
                    replace_node_module(node.args[0], modules, fused_conv)
                    node.replace_all_uses_with(node.args[0])
                    new_graph.erase_node(node)
        return fx.GraphModule(fx_model, new_graph)

    fused = fuse(model)
    values.append(len([n for n in fused.graph.nodes if n.op == "call_module"]))
    with torch.no_grad():
        values.append((fused(x) - model(x)).abs().max().item() < 1e-9)
        values.append(fused(x).sum().item())

    # fx_profiling_tutorial: an Interpreter that watches every node
    class ProfilingInterpreter(fx.Interpreter):
        def __init__(self, mod: Any) -> None:
            gm = fx.symbolic_trace(mod)
            super().__init__(gm)
            self.total_runtime_sec: list = []
            self.runtimes_sec: dict = {}

        def run(self, *args: Any) -> Any:
            return_val = super().run(*args)
            self.total_runtime_sec.append(len(self.runtimes_sec))
            return return_val

        def run_node(self, n: Any) -> Any:
            return_val = super().run_node(n)
            self.runtimes_sec.setdefault(n, [])
            self.runtimes_sec[n].append(
                float(return_val.sum()) if isinstance(return_val, torch.Tensor) else 0.0
            )
            return return_val

    interp = ProfilingInterpreter(model)
    with torch.no_grad():
        values.append(interp.run(x).sum().item())
    values += [sum(v[0] for v in interp.runtimes_sec.values()), interp.total_runtime_sec[0]]

    # the fused GraphModule trains like any module
    fused.train()
    opt = torch.optim.SGD(fused.parameters(), lr=0.05, momentum=0.9)
    target = torch.from_numpy(rng.integers(0, 3, 2))
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(fused(x), target)
        loss.backward()
        opt.step()
        values.append(loss.item())
    return values
