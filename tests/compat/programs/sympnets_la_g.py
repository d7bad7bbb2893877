"""SympNets (Jin, Zhang, Zhu, Tang & Karniadakis 2020: symplectic networks for Hamiltonian
flow maps), jpzxshi/sympnets (``learner/nn/module.py``: ``Module``, ``StructureNN``, ``Map``;
``learner/nn/sympnet.py``: ``LinearModule``, ``ActivationModule``, ``GradientModule``,
``SympNet``, ``LASympNet``, ``GSympNet``; ``learner/brain.py``: the training loop;
``examples/pendulum``), size-reduced.

The idioms kept: the library's ``Module`` base class with ``device`` / ``dtype`` properties
whose setters call ``self.to(...)`` / ``self.to(torch.float64)`` and the ``act`` property
returning ``torch.sigmoid`` / ``torch.relu`` / ``torch.tanh`` from a string; parameters in an
``nn.ParameterDict`` keyed ``'S{}'.format(i + 1)`` created as ``nn.Parameter((torch.randn([d,
d]) * 0.01).requires_grad_(True))``; modules in an ``nn.ModuleDict`` (``'LinM{}'``,
``'ActM{}'``, ``'LinMout'``, ``'GradM{}'``); the symplectic updates ``p = p + q @ (S + S.t()) *
h`` alternating with ``q = p @ (S + S.t()) * h + q``, the activation module
``p + self.act(q) * self.params['a'] * h``, the gradient module ``(self.act(q @ K + b) * a) @
K.t()``; the step ``h`` split off the input as ``pqh[..., -1:]`` or ``torch.ones_like(pqh[...,
-1:])``; modules fed and returning lists (``ActM([*LinM([p, q, h]), h])``); ``predict`` with
``torch.cat(pred, dim=-1).view([-1, steps, self.dim][2 - size:])`` and ``returnnp``;
``Brain``'s loop (``torch.optim.Adam``, ``torch.nn.MSELoss()``, ``loss.backward()``,
``optimizer.step()`` and test loss every ``print_every`` iterations, the best model kept by
``torch.save(self.net, ...)`` / ``torch.load`` of the whole module), and the pendulum data as
consecutive pairs of one trajectory.

Changed: the pendulum trajectory (40 points, h = 0.1, made by the repository's
``StormerVerlet`` integrator with a fine step) is computed in NumPy; LA-SympNet 3 layers x 2
sublayers kept, G-SympNet width 30 -> 6; 50000 iterations -> 30; the whole-model checkpoint
is a ``copy.deepcopy`` (the classes here are local to a function, which pickle cannot name).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]


def _nets(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn

    class Module(torch.nn.Module):
        """Standard module format."""

        def __init__(self) -> None:
            super(Module, self).__init__()  # noqa: UP008
            self.activation = None
            self.initializer = None

            self.__device = None
            self.__dtype = None

        @property
        def device(self):  # noqa: ANN201
            return self.__device

        @property
        def dtype(self):  # noqa: ANN201
            return self.__dtype

        @device.setter
        def device(self, d):  # noqa: ANN001
            if d == "cpu":
                self.cpu()
            elif d == "gpu":
                self.cuda()
            else:
                raise ValueError
            self.__device = d

        @dtype.setter
        def dtype(self, d):  # noqa: ANN001
            if d == "float":
                self.to(torch.float)
            elif d == "double":
                self.to(torch.double)
            else:
                raise ValueError
            self.__dtype = d

        @property
        def Device(self):  # noqa: ANN201, N802
            if self.__device == "cpu":
                return torch.device("cpu")
            elif self.__device == "gpu":
                return torch.device("cuda")

        @property
        def Dtype(self):  # noqa: ANN201, N802
            if self.__dtype == "float":
                return torch.float32
            elif self.__dtype == "double":
                return torch.float64

        @property
        def act(self):  # noqa: ANN201
            if self.activation == "sigmoid":
                return torch.sigmoid
            elif self.activation == "relu":
                return torch.relu
            elif self.activation == "tanh":
                return torch.tanh
            elif self.activation == "elu":
                return torch.elu
            else:
                raise NotImplementedError

    class StructureNN(Module):
        """Structure-oriented neural network used as a general map based on designing
        architecture."""

        def __init__(self) -> None:
            super(StructureNN, self).__init__()  # noqa: UP008

        def predict(self, x, returnnp=False):  # noqa: ANN001, ANN201
            if not isinstance(x, torch.Tensor):
                x = torch.tensor(x, dtype=self.Dtype, device=self.Device)
            return self(x).cpu().detach().numpy() if returnnp else self(x)

    class Map(StructureNN):
        """Structure-oriented neural network used as a general map based on designing
        architecture."""

        def __init__(self) -> None:
            super(Map, self).__init__()  # noqa: UP008

    class LinearModule(Module):
        """Linear symplectic module."""

        def __init__(self, dim, layers):  # noqa: ANN001
            super(LinearModule, self).__init__()  # noqa: UP008
            self.dim = dim
            self.layers = layers

            self.params = self.__init_params()

        def forward(self, pqh):  # noqa: ANN001, ANN201
            p, q, h = pqh
            for i in range(self.layers):
                S = self.params["S{}".format(i + 1)]  # noqa: UP032
                if i % 2 == 0:
                    p = p + q @ (S + S.t()) * h
                else:
                    q = p @ (S + S.t()) * h + q
            return p + self.params["bp"] * h, q + self.params["bq"] * h

        def __init_params(self):  # noqa: ANN202
            """Si is distributed N(0, 0.01), and b is set to zero."""
            d = int(self.dim / 2)
            params = nn.ParameterDict()
            for i in range(self.layers):
                params["S{}".format(i + 1)] = nn.Parameter(  # noqa: UP032
                    (torch.randn([d, d]) * 0.01).requires_grad_(True)
                )
            params["bp"] = nn.Parameter(torch.zeros([d]).requires_grad_(True))
            params["bq"] = nn.Parameter(torch.zeros([d]).requires_grad_(True))
            return params

    class ActivationModule(Module):
        """Activation symplectic module."""

        def __init__(self, dim, activation, mode):  # noqa: ANN001
            super(ActivationModule, self).__init__()  # noqa: UP008
            self.dim = dim
            self.activation = activation
            self.mode = mode

            self.params = self.__init_params()

        def forward(self, pqh):  # noqa: ANN001, ANN201
            p, q, h = pqh
            if self.mode == "up":
                return p + self.act(q) * self.params["a"] * h, q
            elif self.mode == "low":
                return p, self.act(p) * self.params["a"] * h + q
            else:
                raise ValueError

        def __init_params(self):  # noqa: ANN202
            d = int(self.dim / 2)
            params = nn.ParameterDict()
            params["a"] = nn.Parameter((torch.randn([d]) * 0.01).requires_grad_(True))
            return params

    class GradientModule(Module):
        """Gradient symplectic module."""

        def __init__(self, dim, width, activation, mode):  # noqa: ANN001
            super(GradientModule, self).__init__()  # noqa: UP008
            self.dim = dim
            self.width = width
            self.activation = activation
            self.mode = mode

            self.params = self.__init_params()

        def forward(self, pqh):  # noqa: ANN001, ANN201
            p, q, h = pqh
            if self.mode == "up":
                gradH = (self.act(q @ self.params["K"] + self.params["b"]) * self.params["a"]) @ (
                    self.params["K"].t()
                )
                return p + gradH * h, q
            elif self.mode == "low":
                gradH = (self.act(p @ self.params["K"] + self.params["b"]) * self.params["a"]) @ (
                    self.params["K"].t()
                )
                return p, gradH * h + q
            else:
                raise ValueError

        def __init_params(self):  # noqa: ANN202
            d = int(self.dim / 2)
            params = nn.ParameterDict()
            params["K"] = nn.Parameter((torch.randn([d, self.width]) * 0.01).requires_grad_(True))
            params["a"] = nn.Parameter((torch.randn([self.width]) * 0.01).requires_grad_(True))
            params["b"] = nn.Parameter(torch.zeros([self.width]).requires_grad_(True))
            return params

    class SympNet(Map):
        def __init__(self) -> None:
            super(SympNet, self).__init__()  # noqa: UP008
            self.dim = None

        def predict(self, xh, steps=1, keepinitx=False, returnnp=False):  # noqa: ANN001, ANN201
            dim = xh.size(-1)
            size = len(xh.size())
            if dim == self.dim:
                pred = [xh]
                for _ in range(steps):
                    pred.append(self(pred[-1]))
            else:
                x0, h = xh[..., :-1], xh[..., -1:]
                pred = [x0]
                for _ in range(steps):
                    pred.append(self(torch.cat([pred[-1], h], dim=-1)))
            if keepinitx:
                steps = steps + 1
            else:
                pred = pred[1:]
            res = torch.cat(pred, dim=-1).view([-1, steps, self.dim][2 - size :])
            return res.cpu().detach().numpy() if returnnp else res

    class LASympNet(SympNet):
        """LA-SympNet.
        Input: [num, dim] or [num, dim + 1]
        Output: [num, dim]
        """

        def __init__(self, dim, layers=3, sublayers=2, activation="sigmoid"):  # noqa: ANN001
            super(LASympNet, self).__init__()  # noqa: UP008
            self.dim = dim
            self.layers = layers
            self.sublayers = sublayers
            self.activation = activation

            self.modus = self.__init_modules()

        def forward(self, pqh):  # noqa: ANN001, ANN201
            d = int(self.dim / 2)
            if pqh.size(-1) == self.dim + 1:
                p, q, h = pqh[..., :d], pqh[..., d:-1], pqh[..., -1:]
            elif pqh.size(-1) == self.dim:
                p, q, h = pqh[..., :d], pqh[..., d:], torch.ones_like(pqh[..., -1:])
            else:
                raise ValueError
            for i in range(self.layers - 1):
                LinM = self.modus["LinM{}".format(i + 1)]  # noqa: UP032
                ActM = self.modus["ActM{}".format(i + 1)]  # noqa: UP032
                p, q = ActM([*LinM([p, q, h]), h])
            return torch.cat(self.modus["LinMout"]([p, q, h]), dim=-1)

        def __init_modules(self):  # noqa: ANN202
            modules = nn.ModuleDict()
            for i in range(self.layers - 1):
                modules["LinM{}".format(i + 1)] = LinearModule(self.dim, self.sublayers)  # noqa: UP032
                mode = "up" if i % 2 == 0 else "low"
                modules["ActM{}".format(i + 1)] = ActivationModule(  # noqa: UP032
                    self.dim, self.activation, mode
                )
            modules["LinMout"] = LinearModule(self.dim, self.sublayers)
            return modules

    class GSympNet(SympNet):
        """G-SympNet.
        Input: [num, dim] or [num, dim + 1]
        Output: [num, dim]
        """

        def __init__(self, dim, layers=3, width=20, activation="sigmoid"):  # noqa: ANN001
            super(GSympNet, self).__init__()  # noqa: UP008
            self.dim = dim
            self.layers = layers
            self.width = width
            self.activation = activation

            self.modus = self.__init_modules()

        def forward(self, pqh):  # noqa: ANN001, ANN201
            d = int(self.dim / 2)
            if pqh.size(-1) == self.dim + 1:
                p, q, h = pqh[..., :d], pqh[..., d:-1], pqh[..., -1:]
            elif pqh.size(-1) == self.dim:
                p, q, h = pqh[..., :d], pqh[..., d:], torch.ones_like(pqh[..., -1:])
            else:
                raise ValueError
            for i in range(self.layers):
                GradM = self.modus["GradM{}".format(i + 1)]  # noqa: UP032
                p, q = GradM([p, q, h])
            return torch.cat([p, q], dim=-1)

        def __init_modules(self):  # noqa: ANN202
            modules = nn.ModuleDict()
            for i in range(self.layers):
                mode = "up" if i % 2 == 0 else "low"
                modules["GradM{}".format(i + 1)] = GradientModule(  # noqa: UP032
                    self.dim, self.width, self.activation, mode
                )
            return modules

    return LASympNet, GSympNet


def make_model(torch_like: Any) -> Any:
    LASympNet, GSympNet = _nets(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "la": LASympNet(2, layers=3, sublayers=2, activation="sigmoid"),
            "g": GSympNet(2, layers=4, width=6, activation="tanh"),
        }
    )


def _pendulum() -> np.ndarray:
    """One pendulum trajectory H = p^2 / 2 - cos q, 40 points h = 0.1 apart (Stormer-Verlet)."""
    p, q, h, sub = 0.0, 1.0, 0.1, 10
    points = []
    for _ in range(41):
        points.append([p, q])
        for _ in range(sub):
            p = p - h / sub / 2 * np.sin(q)
            q = q + h / sub * p
            p = p - h / sub / 2 * np.sin(q)
    return np.array(points)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    traj = _pendulum()
    X_train = torch.tensor(traj[:-1][0:30])
    y_train = torch.tensor(traj[1:][0:30])
    X_test = torch.tensor(traj[:-1][30:])
    y_test = torch.tensor(traj[1:][30:])
    values: list[float] = []
    for _name, net in nets.items():
        net.device = "cpu"
        net.dtype = "double"
        criterion = torch.nn.MSELoss()
        optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
        best_loss, best_model = None, None
        print_every = 10
        for i in range(30 + 1):
            if i % print_every == 0 or i == 30:
                loss_test = criterion(net(X_test), y_test).item()
                values.append(loss_test)
                if best_loss is None or loss_test < best_loss:
                    best_loss, best_model = loss_test, copy.deepcopy(net)
            if i < 30:
                loss = criterion(net(X_train), y_train)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                values.append(loss.item())
        # long-time prediction from the first point with the step h given as a column
        xh = torch.cat([X_test[:1], torch.full([1, 1], 1.0, dtype=torch.float64)], dim=-1)
        flow = best_model.predict(xh, steps=8, keepinitx=True, returnnp=True)
        values += [float(flow.sum()), float(flow.shape[1])]
        flow1 = best_model.predict(X_test[0], steps=3)
        values += [flow1.sum().item(), float(flow1.dim())]
        # symplecticity: det of the Jacobian of the learned map is one
        jac = torch.autograd.functional.jacobian(lambda x, m=best_model: m(x), X_test[0])
        values.append(torch.det(jac).item())
        values.append(str(best_model.Dtype) == "torch.float64")
    return values


def check(values: list[float]) -> None:
    assert abs(values[-2] - 1.0) < 1e-9 and values[-1] == 1.0
