"""The fused compiled Adam/AdamW step in the scalars + mode form (session 37, part 2), the
scalars passed as a tuple of Python floats to every optimizer kernel, and the shared
per-parameter bookkeeping of ``Optimizer.step`` made cheaper without changing what it does.

Checked: Adam/AdamW under the compiled path against the NumPy path bit for bit (every
option the kernel now takes: maximize, L2 and decoupled decay, lerp's second branch, a
Tensor lr; AMSGrad has its own kernel, tested in test_fused_amsgrad_session37_c.py) and
against torch 2.13 in float32; one compiled call per parameter and step; every kernel giving
the same bits for its scalars as a tuple of floats and as an array of the dtype; and the
bookkeeping's observable behaviour (state tensors
updated in place, version counters, no state entry without state, hooks, skipped params).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from test_float32_steps_session36 import _compare
from test_fused_steps_session37 import SHAPES, _assert_same, _rng_arrays, _Spy, _steps

import chainrule as cr
from chainrule._kernels import jit
from chainrule._kernels import optim as k
from chainrule._kernels import optim_more as more

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

ADAM_CASES = [
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),  # L2 + maximize
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.9)}),  # lerp's second branch (was NumPy)
    ("Adam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),  # adam_amsgrad_step vs its NumPy fallback
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "maximize": True, "betas": (0.4, 0.6)}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0, "eps": 0}),  # int options
]


@needs_numba
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kw"), ADAM_CASES)
def test_adam_compiled_steps_equal_numpy_steps(
    name: str, kw: dict, dtype: type, layout: str
) -> None:
    """Every shape (0-d, 1 element) and both gradient layouts: params and state bit for bit."""
    out = {}
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            out[backend] = _steps(name, kw, dtype, SHAPES, layout)
    _assert_same(out["numba"], out["numpy"])


@needs_numba
def test_adam_tensor_lr_compiled_equals_numpy() -> None:
    """A Tensor lr (read with float() each step) and a scheduler changing it."""
    out = {}
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            params = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
            opt = cr.optim.AdamW(params, lr=cr.tensor(0.01))
            sched = cr.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
            for step in range(4):
                for p, g in zip(params, _rng_arrays(20 + step, SHAPES, np.float32)):
                    p.grad = cr.tensor(g)
                opt.step()
                sched.step()
            out[backend] = [p.detach().numpy().copy() for p in params]
    for a, b in zip(out["numba"], out["numpy"]):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(params=["numba", "numpy"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "numba" and not jit.numba_available():
        pytest.skip("numba is not installed")
    with jit.use_backend(request.param):
        yield request.param


@pytest.mark.parametrize(("name", "kw"), [c for c in ADAM_CASES if "eps" not in c[1]])
def test_adam_float32_steps_equal_torch(backend: str, name: str, kw: dict) -> None:
    """Against torch 2.13, float32, bit for bit (torch's sqrt patched to the correctly
    rounded one, as in test_float32_steps_session36)."""
    _compare(name, kw, {})


@needs_numba
@pytest.mark.parametrize(
    ("name", "kw", "calls"),
    [
        ("Adam", {}, True),
        ("Adam", {"betas": (0.2, 0.9), "weight_decay": 0.1}, True),
        ("AdamW", {"maximize": True}, True),
        ("Adam", {"amsgrad": True}, False),
    ],
)
def test_adam_one_compiled_call_per_parameter(
    monkeypatch: pytest.MonkeyPatch, name: str, kw: dict, calls: bool
) -> None:
    """One compiled call per parameter and step at every size; AMSGrad takes none of
    adam_step (it calls adam_amsgrad_step: test_fused_amsgrad_session37_c.py); a
    transposed gradient goes to the NumPy sequence."""
    spy = _Spy(k.adam_step)
    monkeypatch.setattr(k, "adam_step", spy)
    with jit.use_backend("numba"):
        params = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
        opt = getattr(cr.optim, name)(params, lr=0.01, **kw)
        for step in range(3):
            for p, g in zip(params, _rng_arrays(10 + step, SHAPES, np.float32)):
                p.grad = cr.tensor(g)
            opt.step()
        assert spy.calls == (3 * len(SHAPES) if calls else 0)
        if calls:
            w = params[0]
            w.grad = cr.tensor(np.ascontiguousarray(w.grad.numpy().T).T)  # (64, 30), F order
            opt.step()
            assert spy.calls == 4 * len(SHAPES) - 1


# (kernel, module, state arrays, scalars, mode): every kernel's scalars as a tuple of floats
_KERNELS = [
    ("sgd_step", k, ["any"], (-0.1, 0.05, 0.9, 0.75), k.MAXIMIZE | k.WEIGHT_DECAY | k.MOMENTUM),
    (
        "rmsprop_step",
        k,
        ["pos", "small", "any"],  # grad_avg small: sq - grad_avg² stays positive
        (-0.01, 0.05, 0.9, 0.1, 1e-8, 0.5, 1.0),
        k.MAXIMIZE | k.WEIGHT_DECAY | k.MOMENTUM | k.CENTERED,
    ),
    ("adam_step", k, ["any", "pos"], (0.1, 0.99, 0.01, 0.4, 1e-8, -0.01, 0.05, 0.999, 1.0), 0),
    ("adam_step", k, ["any", "pos"], (0.7, 0.9, 0.1, 0.4, 1e-8, -0.01, 0.05, 0.999, 1.0), 3),
    ("adam_step", k, ["any", "pos"], (0.1, 0.99, 0.01, 0.4, 1e-8, -0.01, 0.05, 0.999, 1.0), 64),
    ("adagrad_step", more, ["pos"], (-0.1, 0.05, 1e-8), k.MAXIMIZE | k.WEIGHT_DECAY),
    ("adamax_step", more, ["any", "pos"], (-0.01, 0.05, 0.1, 0.99, 1e-8, 1.0), k.WEIGHT_DECAY),
    (
        "nadam_step",
        more,
        ["any", "pos"],
        (0.999, 0.05, 0.1, 0.99, 0.01, 0.03, 1e-8, -0.002, -0.009, 1.0),
        k.MAXIMIZE | k.DECAY,
    ),
    (
        "radam_step",
        more,
        ["any", "pos"],
        (0.999, 0.05, 0.1, 0.99, 0.01, 0.4, 0.01, 1e-8, 0.2, 0.7, 1.0),
        k.WEIGHT_DECAY | more.RECTIFIED,
    ),
]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "module", "states", "scalars", "mode"), _KERNELS)
def test_kernel_scalars_tuple_equals_array(
    name: str, module: object, states: list, scalars: tuple, mode: int, dtype: type
) -> None:
    """The scalars as Python floats (rounded to the dtype in the kernel) and as an array of
    the dtype (rounded by NumPy) give the same bits, compiled and in the NumPy fallback."""
    kernel = getattr(module, name)
    rng = np.random.default_rng(5)
    base = [rng.standard_normal(300).astype(dtype) for _ in range(2 + len(states))]
    for i, kind in enumerate(states):
        if kind == "pos":
            base[2 + i] = np.abs(base[2 + i]) + dtype(1)
        elif kind == "small":
            base[2 + i] *= dtype(0.01)
    results = []
    for run, s in [
        (kernel.compiled, scalars),
        (kernel.compiled, np.array(scalars, dtype)),
        (kernel.fallback, scalars),
        (kernel.fallback, np.array(scalars, dtype)),
    ]:
        arrays = [a.copy() for a in base]
        run(*arrays, s, mode)
        results.append(arrays)
    for other in results[1:]:
        for x, y in zip(results[0], other):
            np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------- the bookkeeping
@pytest.mark.parametrize("backend_name", ["numba", "numpy"])
@pytest.mark.parametrize(
    ("name", "kw", "keys"),
    [
        ("SGD", {"lr": 0.1}, []),
        ("SGD", {"lr": 0.1, "momentum": 0.9}, ["momentum_buffer"]),
        ("Adam", {"lr": 0.1}, ["exp_avg", "exp_avg_sq", "step"]),
        ("RMSprop", {"lr": 0.1, "centered": True}, ["grad_avg", "square_avg", "step"]),
    ],
)
def test_step_bookkeeping(backend_name: str, name: str, kw: dict, keys: list) -> None:
    """What ``Optimizer.step`` leaves around the update rule: a parameter without a
    gradient is skipped (no state entry); no entry at all where the rule keeps no state;
    the state tensors are made once and then updated in place (the same objects, their
    arrays the same memory); ``step`` a 0-d tensor whose version moves with each update;
    each updated parameter's version up by one per step."""
    if backend_name == "numba" and not jit.numba_available():
        pytest.skip("numba is not installed")
    with jit.use_backend(backend_name):
        a = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
        b = cr.tensor(np.ones(5, np.float32), requires_grad=True)  # never gets a gradient
        opt = getattr(cr.optim, name)([a, b], **kw)
        a.grad = cr.full((3, 4), 0.5)
        v0 = a._version
        opt.step()
        assert b not in opt.state
        if not keys:
            assert a not in opt.state and len(opt.state) == 0
        else:
            assert sorted(opt.state[a]) == keys
        first = dict(opt.state.get(a, {}))
        arrays = {key: t._data for key, t in first.items()}
        step_version = first["step"]._version if "step" in first else None
        opt.step()
        assert a._version == v0 + 2
        state = opt.state.get(a, {})
        for key, t in first.items():
            assert state[key] is t
            assert t._data is arrays[key]
        if step_version is not None:
            assert state["step"].item() == 2.0 and state["step"].dim() == 0
            assert state["step"]._version > step_version
        sd = opt.state_dict()
        assert sorted(sd["state"]) == ([0] if keys else [])
        assert sd["param_groups"][0]["params"] == [0, 1]


def test_step_hooks_and_group_added_later_and_sgd_duplicates() -> None:
    """Hooks run around a step; a group added after the first step gets its state at its
    first gradient; SGD's repeated parameter with no state starts a new buffer per copy
    (PyTorch: the last copy's is kept), so it moves twice by the same first-step amount."""
    w = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: seen.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append("post"))
    w.grad = cr.ones(4)
    opt.step()
    assert seen == ["pre", "post"]
    extra = cr.tensor(np.zeros(2, np.float32), requires_grad=True)
    opt.add_param_group({"params": [extra], "lr": 0.5})
    opt.step()  # extra has no gradient yet: skipped
    assert extra not in opt.state
    extra.grad = cr.ones(2)
    opt.step()
    np.testing.assert_array_equal(extra.detach().numpy(), np.float32(-0.5) * np.ones(2))
    assert sorted(opt.state[extra]) == ["momentum_buffer"]

    with pytest.warns(UserWarning, match="duplicate parameters"):
        dup = cr.optim.SGD([w, w], lr=0.1, momentum=0.9)
    before = w.detach().numpy().copy()
    w.grad = cr.ones(4)
    dup.step()
    np.testing.assert_array_equal(w.detach().numpy(), (before - np.float32(0.1)) - np.float32(0.1))
    np.testing.assert_array_equal(dup.state[w]["momentum_buffer"].numpy(), np.ones(4))
