"""Gaps found by the session-17 (b) drop-in programs, each checked against PyTorch.

CLIP learns its temperature as a 0-d parameter, ``nn.Parameter(torch.ones([]) * np.log(1 /
0.07))``. NumPy turns arithmetic on 0-d arrays into scalars, and three optimizer paths tripped
on that: Adam/AdamW and RMSprop raised ``TypeError: return arrays must be of ArrayType`` at
their first step (an ``out=`` into such a scalar), SGD with momentum and L2 weight decay kept
its momentum buffer as a scalar and silently stopped updating it, and ``load_state_dict``
turned every 0-d state buffer into a Python number, so the next in-place update either raised
or went nowhere.

CTC decoders collapse repeats with ``torch.unique_consecutive``; its ``dim=`` form (runs of
equal slices, e.g. repeated frames of a ``(T, C)`` matrix) raised ``NotImplementedError``.
ESPnet-style code wraps its CTC loss in ``torch.backends.cudnn.flags(enabled=False)``, which
chainrule lacked. PixelCNN and weight-standardised convolutions call (or override)
``nn.Conv2d._conv_forward(input, weight, bias)``, which chainrule's convolutions lacked.
Fine-tuning code freezes a feature encoder (``requires_grad = False``) and still hands
``model.parameters()`` to the optimizer: PyTorch accepts tensors that do not require grad
(and skips them while they have no gradient); chainrule raised ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

CASES: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"momentum": 0.9, "dampening": 0.5, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True, "momentum": 0.9}),
    ("Adamax", {"weight_decay": 0.1}),
    ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {}),
    ("Adagrad", {"lr_decay": 0.1}),
    ("Adadelta", {"weight_decay": 0.1}),
    ("Rprop", {}),
    ("ASGD", {"weight_decay": 0.1}),
]


def _steps(mod: Any, opt: Any, p: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        opt.zero_grad()
        (p * p * 3 - p).backward()
        opt.step()
        out.append(p.item())
    return out


def _trajectory(mod: Any, name: str, kwargs: dict[str, Any], dtype: str) -> list[float]:
    p = mod.nn.Parameter(mod.ones([], dtype=getattr(mod, dtype)) * 2.0)
    opt = getattr(mod.optim, name)([p], lr=0.1, **kwargs)
    return _steps(mod, opt, p, 4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_optimizer_updates_a_0d_parameter(name: str, kwargs: dict[str, Any], dtype: str) -> None:
    got = _trajectory(chainrule, name, kwargs, dtype)
    want = _trajectory(torch, name, kwargs, dtype)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert got == pytest.approx(want, rel=rtol, abs=rtol)


def _resumed(mod: Any, name: str, kwargs: dict[str, Any]) -> list[float]:
    """Two steps, a state-dict round trip into a fresh optimizer, three more steps."""
    p = mod.nn.Parameter(mod.ones([], dtype=mod.float64) * 2.0)
    opt = getattr(mod.optim, name)([p], lr=0.1, **kwargs)
    _steps(mod, opt, p, 2)
    resumed = getattr(mod.optim, name)([p], lr=0.1, **kwargs)
    resumed.load_state_dict(opt.state_dict())
    return _steps(mod, resumed, p, 3)


# NAdam is left out: after load_state_dict torch casts ``mu_product`` (a float32 scalar
# under the float32 default dtype) to the parameter's float64, and chainrule keeps rounding it
# to float32, a 1e-10 divergence independent of the parameter's shape.
RESUME_CASES = [case for case in CASES if case[0] != "NAdam"]


@pytest.mark.parametrize(("name", "kwargs"), RESUME_CASES)
def test_0d_parameter_state_survives_load_state_dict(name: str, kwargs: dict[str, Any]) -> None:
    got = _resumed(chainrule, name, kwargs)
    want = _resumed(torch, name, kwargs)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_torch_0d_state_dict_loads_into_chainrule() -> None:
    """A state dict saved by torch (0-d tensors for the step and the moments) resumes the
    same trajectory in chainrule."""
    tp = torch.nn.Parameter(torch.ones([], dtype=torch.float64) * 2.0)
    topt = torch.optim.Adam([tp], lr=0.1, amsgrad=True)
    _steps(torch, topt, tp, 2)
    state = {
        "state": {
            k: {n: chainrule.tensor(v.numpy()) for n, v in s.items()}
            for k, s in topt.state_dict()["state"].items()
        },
        "param_groups": topt.state_dict()["param_groups"],
    }
    cp = chainrule.nn.Parameter(chainrule.tensor(tp.item(), dtype=chainrule.float64))
    copt = chainrule.optim.Adam([cp], lr=0.1, amsgrad=True)
    copt.load_state_dict(state)
    got = _steps(chainrule, copt, cp, 3)
    want = _steps(torch, topt, tp, 3)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


UC_INPUTS = [
    np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3], [1, 1, 2, 2]]),
    np.arange(24).reshape(2, 3, 4) // 5,
    np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 1.5]]),
    np.zeros((0, 3)),
    np.zeros((2, 0)),
]


# (input, dim) pairs torch accepts: an empty input only along its empty dimension
UC_CASES = [
    (index, dim)
    for index, x in enumerate(UC_INPUTS)
    for dim in (0, 1, -1)
    if x.shape[dim % x.ndim] == 0 or 0 not in x.shape
]


@pytest.mark.parametrize(("index", "dim"), UC_CASES)
def test_unique_consecutive_along_dim(index: int, dim: int) -> None:
    x = UC_INPUTS[index]
    for inverse in (False, True):
        for counts in (False, True):
            got = chainrule.unique_consecutive(
                chainrule.tensor(x), return_inverse=inverse, return_counts=counts, dim=dim
            )
            want = torch.tensor(x).unique_consecutive(
                return_inverse=inverse, return_counts=counts, dim=dim
            )
            got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert tuple(g.shape) == tuple(w.shape)
                np.testing.assert_array_equal(g.numpy(), w.numpy())
                assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]


@pytest.mark.parametrize(
    ("make", "dim", "err"),
    [
        (lambda m: m.tensor(3), 0, IndexError),
        (lambda m: m.zeros(2, 3), 2, IndexError),
        (lambda m: m.zeros(2, 0), 0, RuntimeError),
    ],
)
def test_unique_consecutive_along_dim_errors(make: Any, dim: int, err: type) -> None:
    with pytest.raises(err) as want:
        torch.unique_consecutive(make(torch), dim=dim)
    with pytest.raises(err) as got:
        chainrule.unique_consecutive(make(chainrule), dim=dim)
    # PyTorch's words (CONTRIBUTING.md's "Error messages"), or the op's name where they differ
    message = str(got.value)
    assert message.startswith(str(want.value).splitlines()[0]) or "unique_consecutive" in message


CONV_SHAPES = [("Conv1d", (2, 2, 9)), ("Conv2d", (2, 2, 6, 5)), ("Conv3d", (1, 2, 4, 5, 4))]


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "circular"])
@pytest.mark.parametrize(("name", "shape"), CONV_SHAPES)
def test_conv_forward_with_a_masked_weight(name: str, shape: tuple, padding_mode: str) -> None:
    """A subclass that convolves with ``weight * mask`` through ``_conv_forward`` gets torch's
    output and gradients, and ``forward`` itself goes through ``_conv_forward``."""
    nd = len(shape) - 2
    rng = np.random.default_rng(5)
    weight = rng.standard_normal((3, 2) + (3,) * nd)
    mask = (rng.random(weight.shape) < 0.6).astype(np.float64)
    x = rng.standard_normal(shape)
    results = []
    for mod in (torch, chainrule):

        class Masked(getattr(mod.nn, name)):  # type: ignore[misc]
            def forward(self, inp: Any) -> Any:
                return self._conv_forward(inp, self.weight * self.mask, self.bias)

        class Doubled(getattr(mod.nn, name)):  # type: ignore[misc]
            def _conv_forward(self, inp: Any, w: Any, b: Any) -> Any:
                return super()._conv_forward(inp, 2 * w, b)

        conv = Masked(2, 3, 3, padding=1, padding_mode=padding_mode, dtype=mod.float64)
        conv.register_buffer("mask", mod.tensor(mask))
        doubled = Doubled(2, 3, 3, padding=1, bias=False, dtype=mod.float64)
        with mod.no_grad():
            conv.weight.copy_(mod.tensor(weight))
            conv.bias.fill_(0.5)
            doubled.weight.copy_(mod.tensor(weight))
        inp = mod.tensor(x)
        out = conv(inp)
        (out * out).sum().backward()
        results.append(
            [out.detach().numpy(), conv.weight.grad.numpy(), doubled(inp).detach().numpy()]
        )
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_cudnn_flags_sets_and_restores() -> None:
    for mod in (torch, chainrule):
        cudnn = mod.backends.cudnn
        before = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32)
        with cudnn.flags():  # PyTorch's defaults: cuDNN off
            assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (False,) * 3
            assert cudnn.allow_tf32 is True
        with cudnn.flags(enabled=True, deterministic=True, allow_tf32=False) as entered:
            assert entered is None
            assert (cudnn.enabled, cudnn.deterministic, cudnn.allow_tf32) == (True, True, False)
        with pytest.raises(KeyError), cudnn.flags(enabled=False, benchmark=True):
            raise KeyError("inside")
        assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32) == before
        with pytest.raises(TypeError, match="unexpected keyword"), cudnn.flags(bogus=1):
            pass


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "LBFGS", "Adagrad"])
def test_optimizer_accepts_frozen_parameters(name: str) -> None:
    """Frozen parameters are accepted (constructor and ``add_param_group``), left alone while
    frozen and updated once unfrozen, as in PyTorch."""
    results = []
    for mod in (torch, chainrule):
        model = mod.nn.Sequential(mod.nn.Linear(2, 2), mod.nn.Linear(2, 1)).double()
        with mod.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(mod.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) + i))
        model[0].requires_grad_(False)
        if name == "LBFGS":  # one parameter group only (in PyTorch too)
            optimizer = mod.optim.LBFGS(model.parameters(), lr=0.1)
        else:
            optimizer = getattr(mod.optim, name)(model[1].parameters(), lr=0.1)
            optimizer.add_param_group({"params": model[0].parameters(), "lr": 0.05})
        x = mod.tensor(np.linspace(0, 1, 6).reshape(3, 2))

        def closure(model: Any = model, optimizer: Any = optimizer, x: Any = x) -> Any:
            optimizer.zero_grad()
            loss = model(x).pow(2).sum()
            loss.backward()
            return loss

        frozen_before = model[0].weight.detach().clone()
        trajectory = []
        for step in range(3):
            if step == 2:
                model[0].requires_grad_(True)
            optimizer.step(closure)
            trajectory.append(mod.nn.utils.parameters_to_vector(model.parameters()).tolist())
            if step < 2:
                assert model[0].weight.grad is None
                assert model[0].weight.equal(frozen_before)
        results.append(trajectory)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10, atol=1e-12)


def test_optimizer_still_refuses_non_leaf_tensors() -> None:
    for mod in (torch, chainrule):
        x = mod.ones(2, requires_grad=True) * 2
        with pytest.raises(ValueError, match="non-leaf"):
            mod.optim.SGD([x], lr=0.1)
