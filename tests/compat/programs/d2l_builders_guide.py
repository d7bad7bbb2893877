"""The "Builders' Guide" chapter of "Dive into Deep Learning" (d2l.ai, PyTorch edition, chapter
6: layers and modules, parameter management, initialization, lazy initialization, custom
layers, file I/O), size-reduced.

The idioms: ``nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))`` and its
``<UninitializedParameter>`` before the first call; ``net[2].state_dict()``, ``type(
net[2].bias)``, ``net[2].bias.data``, ``net[2].weight.grad == None``, ``[(name, param.shape)
for name, param in net.named_parameters()]``, ``net.state_dict()['2.bias'].data``; the nested
``rgnet`` built with ``net.add_module(f'block {i}', block1())`` and ``rgnet[0][1][0].bias.data``;
``net.apply(init_normal)`` (``type(module) == nn.Linear``, ``nn.init.normal_(module.weight,
mean=0, std=0.01)``, ``nn.init.zeros_``), ``init_constant``, ``net[0].apply(init_xavier)``,
``init_42``, ``my_init``'s ``nn.init.uniform_(module.weight, -10, 10)`` and ``module.weight.data
*= module.weight.data.abs() >= 5``, ``net[0].weight.data[:] += 1`` and ``net[0].weight.data[0,
0] = 42``; tied layers (``shared = nn.LazyLinear(8)`` twice in one ``Sequential``, ``net[2].
weight.data[0] == net[4].weight.data[0]`` after ``net[2].weight.data[0, 0] = 100``, and their
summed gradient); ``MySequential`` with ``self.add_module(str(idx), module)`` iterating
``self.children()``; ``FixedHiddenMLP``'s constant ``torch.rand((20, 20), requires_grad=False)``,
``F.relu(torch.mm(X, self.rand_weight) + 1)``, the reused ``self.linear``, ``while X.abs().sum()
> 1: X /= 2`` and ``X.sum()``; ``NestMLP`` inside the ``chimera`` ``Sequential``;
``CenteredLayer``'s ``X - X.mean()``; ``MyLinear``'s ``nn.Parameter(torch.randn(in_units,
units))`` and ``F.relu(torch.matmul(X, self.weight.data) + self.bias.data)``; file I/O:
``torch.save``/``torch.load`` of a tensor, a list ``[x, y]`` and a dict ``{'x': x, 'y': y}``,
``torch.save(net.state_dict(), 'mlp.params')`` read into a fresh lazy ``clone`` with
``clone.load_state_dict(torch.load('mlp.params'))``, ``clone.eval()`` and ``Y_clone == Y``; and
the GPU section's ``try_gpu()`` / ``torch.cuda.device_count()`` on a CPU host.

Random initialisations are checked for what holds for every draw (zero biases, bounds, the
masked ``>= 5`` pattern); the weights that the losses depend on come from NumPy through
``load_state_dict`` once the lazy layers are materialised. Texts (reprs, parameter names) are
returned as CRC-32 numbers so that they must match torch's exactly.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]


def _text(value: Any) -> float:
    """A text as a number: equal numbers in both runs mean equal texts."""
    return float(zlib.crc32(str(value).encode()))


def _type_text(torch: Any, obj: Any) -> float:
    """``str(type(obj))`` with the framework's package name spelt ``torch``."""
    return _text(str(type(obj)).replace(torch.__name__ + ".", "torch."))


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(6)

    def u(*shape: int) -> np.ndarray:
        return rng.uniform(-0.5, 0.5, shape)

    return {
        "dir": str(tmp_path),
        "X": rng.uniform(0, 1, (2, 4)),
        "mlp": {"0.weight": u(8, 4), "0.bias": u(8), "2.weight": u(1, 8), "2.bias": u(1)},
        "tied": {
            "0.weight": u(8, 4),
            "0.bias": u(8),
            "2.weight": u(8, 8),
            "2.bias": u(8),
            "6.weight": u(1, 8),
            "6.bias": u(1),
        },
        "rand_weight": rng.uniform(0, 1, (20, 20)),
        "chimera_X": rng.uniform(0, 1, (2, 20)),
        "mylinear": (rng.standard_normal((5, 3)), rng.standard_normal(3)),
        "io_X": rng.standard_normal((2, 20)),
    }


def make_classes(torch: Any) -> dict:
    nn = torch.nn
    F = torch.nn.functional

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.LazyLinear(16)
            self.output = nn.LazyLinear(10)

        def forward(self, x: Any) -> Any:
            return self.output(F.relu(self.hidden(x)))

    class MySequential(nn.Module):
        def __init__(self, *args: Any) -> None:
            super().__init__()
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

        def forward(self, X: Any) -> Any:
            for module in self.children():
                X = module(X)
            return X

    class FixedHiddenMLP(nn.Module):
        def __init__(self, rand_weight: Any) -> None:
            super().__init__()
            # Random weight parameters that will not compute gradients and therefore keep
            # constant during training
            self.rand_weight = torch.rand((20, 20), requires_grad=False)
            self.rand_weight.copy_(rand_weight)  # the same draw in both runs
            self.linear = nn.LazyLinear(20)

        def forward(self, X: Any) -> Any:
            X = self.linear(X)
            X = F.relu(torch.mm(X, self.rand_weight) + 1)
            # Reuse the fully connected layer. This is equivalent to sharing parameters
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class NestMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.LazyLinear(64), nn.ReLU(), nn.LazyLinear(32), nn.ReLU())
            self.linear = nn.LazyLinear(16)

        def forward(self, X: Any) -> Any:
            return self.linear(self.net(X))

    class CenteredLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()

        def forward(self, X: Any) -> Any:
            return X - X.mean()

    class MyLinear(nn.Module):
        def __init__(self, in_units: int, units: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(in_units, units))
            self.bias = nn.Parameter(torch.randn(units))

        def forward(self, X: Any) -> Any:
            linear = torch.matmul(X, self.weight.data) + self.bias.data
            return F.relu(linear)

    return {
        "MLP": MLP,
        "MySequential": MySequential,
        "FixedHiddenMLP": FixedHiddenMLP,
        "NestMLP": NestMLP,
        "CenteredLayer": CenteredLayer,
        "MyLinear": MyLinear,
    }


def _load(torch: Any, net: Any, state: dict) -> None:
    net.load_state_dict({k: as_tensor(torch, v) for k, v in state.items()})


def parameter_management(torch: Any, init: dict) -> list[float]:
    nn = torch.nn
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    values = [_text(net[0].weight), _text(net), float(net[0].has_uninitialized_params())]
    values += [float(isinstance(net[0].weight, nn.parameter.UninitializedParameter))]
    X = as_tensor(torch, init["X"])
    values += list(net(X).shape) + [_text(net)]
    _load(torch, net, init["mlp"])
    state = net[2].state_dict()
    values += [_text(list(state.keys())), _text(type(state).__name__)]
    values += [_type_text(torch, net[2].bias), float(type(net[2].bias) is nn.parameter.Parameter)]
    values += net[2].bias.data.tolist() + [float(net[2].weight.grad == None)]  # noqa: E711
    values += [_text([(name, param.shape) for name, param in net.named_parameters()])]
    values += [_text(net.state_dict()["2.bias"].data), _text(net[2].bias)]
    out = net(X)
    out.sum().backward()
    values += out.flatten().tolist() + net[2].weight.grad.flatten().tolist()

    def block1() -> Any:
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2() -> Any:
        net = nn.Sequential()
        for i in range(2):
            net.add_module(f"block {i}", block1())
        return net

    rgnet = nn.Sequential(block2(), nn.Linear(4, 1))
    values += [_text(rgnet), float(rgnet[0][1][0].bias.data.shape == (8,))]
    values += [_text([name for name, _ in rgnet.named_parameters()])]
    return values


def initialization(torch: Any) -> list[float]:
    nn = torch.nn
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def init_normal(module: Any) -> None:
        if type(module) == nn.Linear:  # noqa: E721 - d2l's test
            nn.init.normal_(module.weight, mean=0, std=0.01)
            nn.init.zeros_(module.bias)

    net.apply(init_normal)
    values = [float(net[0].weight.data.abs().max() < 0.1), net[0].bias.data[0].item()]

    def init_constant(module: Any) -> None:
        if type(module) == nn.Linear:  # noqa: E721
            nn.init.constant_(module.weight, 1)
            nn.init.zeros_(module.bias)

    net.apply(init_constant)
    values += net[0].weight.data[0].tolist() + [net[0].bias.data[0].item()]

    def init_xavier(module: Any) -> None:
        if type(module) == nn.Linear:  # noqa: E721
            nn.init.xavier_uniform_(module.weight)

    def init_42(module: Any) -> None:
        if type(module) == nn.Linear:  # noqa: E721
            nn.init.constant_(module.weight, 42)

    net[0].apply(init_xavier)
    net[2].apply(init_42)
    bound = (6 / (4 + 8)) ** 0.5
    values += [float(net[0].weight.data.abs().max() <= bound), net[2].weight.data[0, 0].item()]

    names = []

    def my_init(module: Any) -> None:
        if type(module) == nn.Linear:  # noqa: E721
            names.append([(name, param.shape) for name, param in module.named_parameters()][0])
            nn.init.uniform_(module.weight, -10, 10)
            module.weight.data *= module.weight.data.abs() >= 5

    net.apply(my_init)
    w = net[0].weight.data
    values += [
        _text(names),
        float(((w == 0) | (w.abs() >= 5)).all()),
        float(w.dtype == torch.float64),
    ]
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    w = net[0].weight.data
    values += [
        w[0, 0].item(),
        float(((w == 1) | (w.abs() >= 4)).all()),
        float(net[0].weight.is_leaf),
    ]
    return values


def tied_layers(torch: Any, init: dict) -> list[float]:
    nn = torch.nn
    shared = nn.LazyLinear(8)
    net = nn.Sequential(
        nn.LazyLinear(8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.LazyLinear(1)
    )
    X = as_tensor(torch, init["X"])
    net(X)
    tied = dict(init["tied"])
    tied["4.weight"], tied["4.bias"] = tied["2.weight"], tied["2.bias"]  # the same layer
    _load(torch, net, tied)
    values = [_text(list(net.state_dict().keys())), float(len(list(net.parameters())))]
    values += (net[2].weight.data[0] == net[4].weight.data[0]).tolist()
    net[2].weight.data[0, 0] = 100
    values += (net[2].weight.data[0] == net[4].weight.data[0]).tolist()
    net[2].weight.data[0, 0] = 0.25
    net(X).sum().backward()
    values += net[2].weight.grad.flatten().tolist() + [
        float(net[4].weight.grad is net[2].weight.grad)
    ]
    return values


def layers_and_modules(torch: Any, init: dict, classes: dict) -> list[float]:
    nn = torch.nn
    X = as_tensor(torch, init["chimera_X"])
    net = classes["MySequential"](nn.LazyLinear(16), nn.ReLU(), nn.LazyLinear(10))
    values = list(net(X).shape) + [_text(net), _text([n for n, _ in net.named_children()])]
    torch.manual_seed(0)
    fixed = classes["FixedHiddenMLP"](as_tensor(torch, init["rand_weight"]))
    chimera = nn.Sequential(classes["NestMLP"](), nn.LazyLinear(20), fixed)
    chimera(X)
    rng = np.random.default_rng(66)
    state = {k: rng.uniform(-0.3, 0.3, tuple(v.shape)) for k, v in chimera.state_dict().items()}
    _load(torch, chimera, state)
    out = chimera(X)
    out.backward()
    values += [out.item(), _text(chimera), float(fixed.rand_weight.requires_grad)]
    values += [float(len(chimera.state_dict())), chimera[0].linear.weight.grad.abs().sum().item()]

    layer = classes["CenteredLayer"]()
    values += layer(torch.tensor([1.0, 2, 3, 4, 5])).tolist()
    net = nn.Sequential(nn.LazyLinear(12), classes["CenteredLayer"]())
    Y = net(torch.rand(4, 8))
    values += [float(Y.mean().abs() < 1e-12), _text(net)]

    linear = classes["MyLinear"](5, 3)
    weight, bias = init["mylinear"]
    with torch.no_grad():
        linear.weight.copy_(as_tensor(torch, weight))
        linear.bias.copy_(as_tensor(torch, bias))
    values += [_type_text(torch, linear.weight), float(linear.weight.requires_grad)]
    out = linear(X[:, :5])
    values += out.flatten().tolist() + [float(out.requires_grad)]
    two = nn.Sequential(classes["MyLinear"](64, 8), classes["MyLinear"](8, 1))
    values += list(two(torch.rand(2, 64)).shape) + [_text(two)]
    return values


def file_io(torch: Any, init: dict, classes: dict) -> list[float]:
    here = Path(init["dir"]) / torch.__name__
    here.mkdir()
    x = torch.arange(4)
    torch.save(x, here / "x-file")
    x2 = torch.load(here / "x-file")
    values = x2.tolist() + [float(x2.dtype == torch.int64)]
    y = torch.zeros(4)
    torch.save([x, y], here / "x-files")
    x2, y2 = torch.load(here / "x-files")
    values += x2.tolist() + y2.tolist() + [float(y2.dtype == torch.float64)]
    mydict = {"x": x, "y": y}
    torch.save(mydict, str(here / "mydict"))
    mydict2 = torch.load(str(here / "mydict"))
    values += [_text(sorted(mydict2)), *mydict2["x"].tolist()]

    net = classes["MLP"]()
    X = as_tensor(torch, init["io_X"])
    Y = net(X)
    torch.save(net.state_dict(), here / "mlp.params")
    clone = classes["MLP"]()
    values += [float(clone.hidden.has_uninitialized_params())]
    clone.load_state_dict(torch.load(here / "mlp.params"))
    values += [_text(type(clone.hidden).__name__), float(clone.hidden.weight.shape == (16, 20))]
    clone.eval()
    Y_clone = clone(X)
    values += [float((Y_clone == Y).all()), float(clone.training), _text(clone)]
    values += [float(clone.hidden.weight.shape == (16, 20)), _text(type(clone.hidden).__name__)]
    return values


def try_gpu(torch: Any, i: int = 0) -> Any:
    """Return gpu(i) if exists, otherwise return cpu()."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def gpus(torch: Any) -> list[float]:
    devices = [torch.device("cpu"), torch.device("cuda"), torch.device("cuda:1")]
    values = [_text(devices), float(torch.cuda.device_count())]
    X = torch.ones(2, 3, device=try_gpu(torch))
    values += [_text(X.device), _text(try_gpu(torch, 10)), X.sum().item()]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    classes = make_classes(torch_like)
    values = parameter_management(torch_like, init) + initialization(torch_like)
    values += tied_layers(torch_like, init) + layers_and_modules(torch_like, init, classes)
    return values + file_io(torch_like, init, classes) + gpus(torch_like)
