"""The fused compiled steps of SGD, RMSprop, Adagrad, Adamax, NAdam and RAdam (session 37):
one compiled pass per parameter (chainrule._kernels.optim.sgd_step / rmsprop_step, the
kernels of chainrule._kernels.optim_more) that gives the NumPy sequence's bits.

Checked three ways: the SGD and RMSprop kernels against their NumPy fallbacks for every mode
(float32 and float64), whole optimizers under the compiled path against the NumPy path (the in-place
sequence that test_float32_steps_session36 compares with torch) for options and shapes,
including the layouts the kernel does not take; and new option mixes against torch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from test_float32_steps_session36 import _compare

import chainrule as cr
from chainrule._kernels import dispatch_optim, jit
from chainrule._kernels import optim as k
from chainrule._kernels import optim_more as more

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "maximize": True, "weight_decay": 0.02},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.25, "weight_decay": 0.01},
    {"lr": 0.1, "momentum": 1.0, "dampening": 0.0},  # alpha = 1 (a plain add)
    {"lr": 0.05, "momentum": 0.7, "nesterov": True, "maximize": True},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
]
RMSPROP_CASES = [
    {"lr": 0.01},
    {"lr": 0.01, "maximize": True, "weight_decay": 0.05},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    {"lr": 0.01, "alpha": 0.3, "centered": True, "momentum": 0.5},  # lerp's second branch
    {"lr": 0.01, "alpha": 0.9, "centered": True, "weight_decay": 0.1, "maximize": True},
    {"lr": 0.01, "alpha": 0.5, "eps": 1e-3, "momentum": 0.3, "centered": True},
]
MORE_CASES = [
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.7, 0.9)}),
    ("Adamax", {"lr": 0.01, "betas": (0.3, 0.9), "maximize": True}),  # lerp's second branch
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.3, 0.9), "maximize": True}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9)}),  # rectified from step 5 on
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    (
        "RAdam",
        {"lr": 0.01, "betas": (0.2, 0.5), "decoupled_weight_decay": True, "weight_decay": 0.1},
    ),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.5), "maximize": True}),  # rectified from step 3
]
ALL_CASES = [("SGD", kw) for kw in SGD_CASES] + [("RMSprop", kw) for kw in RMSPROP_CASES]
ALL_CASES += MORE_CASES
SHAPES = [(64, 30), (37,), (5, 3), (), (1,)]


def _rng_arrays(seed: int, shapes: list, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]


def _steps(name: str, kw: dict, dtype: type, shapes: list, layout: str = "C") -> tuple:
    """Five steps from fixed data: (params, state arrays) after each step."""
    params = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, shapes, dtype)]
    opt = getattr(cr.optim, name)(params, **kw)
    seen = []
    for step in range(5):
        for p, g in zip(params, _rng_arrays(10 + step, shapes, dtype)):
            if layout == "F" and g.ndim == 2:  # a transposed (not C-contiguous) gradient
                g = np.ascontiguousarray(g.T).T
            p.grad = cr.tensor(g)
        opt.step()
        state = [
            {key: np.array(v) for key, v in opt.state_dict()["state"].get(i, {}).items()}
            for i in range(len(params))
        ]
        seen.append(([p.detach().numpy().copy() for p in params], state))
    return seen


def _assert_same(a: list, b: list) -> None:
    for (pa, sa), (pb, sb) in zip(a, b):
        for x, y in zip(pa, pb):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        for x, y in zip(sa, sb):
            assert sorted(x) == sorted(y)
            for key in x:
                np.testing.assert_array_equal(x[key], y[key], err_msg=key)


@needs_numba
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kw"), ALL_CASES)
def test_compiled_steps_equal_numpy_steps(name: str, kw: dict, dtype: type, layout: str) -> None:
    """Every shape (0-d and 1-element included) and both gradient layouts: the compiled path
    (fused kernel where it applies) gives the NumPy path's params and state bit for bit."""
    out = {}
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            out[backend] = _steps(name, kw, dtype, SHAPES, layout)
    _assert_same(out["numba"], out["numpy"])


class _Spy:
    """Stands in for a kernel: counts the compiled calls, then runs the real one."""

    def __init__(self, kernel: jit.Kernel) -> None:
        self.kernel, self.calls = kernel, 0

    @property
    def compiled(self):  # noqa: ANN201
        self.calls += 1
        return self.kernel.compiled


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    found = {"sgd": _Spy(k.sgd_step), "rmsprop": _Spy(k.rmsprop_step)}
    monkeypatch.setattr(k, "sgd_step", found["sgd"])
    monkeypatch.setattr(k, "rmsprop_step", found["rmsprop"])
    for name in ("adagrad", "adamax", "nadam", "radam"):
        found[name] = _Spy(getattr(more, f"{name}_step"))
        monkeypatch.setattr(more, f"{name}_step", found[name])
    with jit.use_backend("numba"):
        yield found


@needs_numba
@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("SGD", {"momentum": 0.9, "nesterov": True}),
        ("RMSprop", {"centered": True}),
        ("Adagrad", {}),
        ("Adamax", {}),
        ("NAdam", {}),
        ("RAdam", {}),
    ],
)
def test_every_size_takes_one_compiled_call(spies: dict, name: str, kw: dict) -> None:
    """One compiled call per parameter and step at every size (0-d included); a transposed
    gradient or a float64 parameter next to float32 state goes to the NumPy sequence."""
    spy = spies[name.lower()]
    params = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
    opt = getattr(cr.optim, name)(params, lr=0.01, **kw)
    for step in range(3):
        for p, g in zip(params, _rng_arrays(10 + step, SHAPES, np.float32)):
            p.grad = cr.tensor(g)
        opt.step()
    assert spy.calls == 3 * len(SHAPES)
    w = params[0]
    w.grad = cr.tensor(np.ascontiguousarray(w.grad.numpy().T).T)  # (64, 30), F-ordered
    assert not w.grad.numpy().flags.c_contiguous
    opt.step()
    assert spy.calls == 4 * len(SHAPES) - 1


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", range(32))
def test_sgd_kernel_equals_fallback(dtype: type, mode: int) -> None:
    """Each mode of sgd_step (the bits MAXIMIZE .. NESTEROV), compiled vs its NumPy
    fallback, three steps."""
    arrays = _rng_arrays(5, [(3001,)] * 2, dtype)
    scalars = np.array((-0.1, 0.03, 0.9, 0.75), dtype)
    runs = []
    for fn in (k.sgd_step.compiled, k.sgd_step.fallback):
        param, buf = arrays[0].copy(), arrays[1].copy()
        for step in range(3):
            grad = _rng_arrays(20 + step, [(3001,)], dtype)[0]
            fn(param, grad, buf, scalars, mode & ~k.FIRST if step else mode)
        runs.append((param, buf))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.99, 0.3, 1.8])  # 1 - alpha: 0.01, 0.7, -0.8
@pytest.mark.parametrize("mode", [m for m in range(64) if not m & (k.FIRST | k.NESTEROV)])
def test_rmsprop_kernel_equals_fallback(dtype: type, alpha: float, mode: int) -> None:
    """Each mode of rmsprop_step and both branches of its lerp, compiled vs its NumPy
    fallback, three steps."""
    param0, avg0, buf0 = _rng_arrays(6, [(3001,)] * 3, dtype)
    scalars = np.array((-0.01, 0.05, alpha, 1 - alpha, 1e-8, 0.6, 1), dtype)
    runs = []
    for fn in (k.rmsprop_step.compiled, k.rmsprop_step.fallback):
        param, grad_avg, buf = param0.copy(), avg0.copy(), buf0.copy()
        sq = np.abs(avg0) + 1
        for step in range(3):
            grad = _rng_arrays(30 + step, [(3001,)], dtype)[0]
            with np.errstate(invalid="ignore"):  # alpha > 1: negative averages, NaN roots
                fn(param, grad, sq, grad_avg, buf, scalars, mode)
        runs.append((param, sq, grad_avg, buf))
    for x, y in zip(*runs):
        np.testing.assert_array_equal(x, y)


@needs_numba
def test_dispatch_refuses_what_the_kernel_does_not_take() -> None:
    """False (nothing written) for the NumPy backend, mixed dtypes, a shape mismatch and a
    non-contiguous buffer; True and the update done otherwise."""
    p = np.ones((4, 3), np.float32)
    g = np.full((4, 3), 0.5, np.float32)
    args = (0.1, 0.9, 0.0, 0.0, False, False, False)
    with jit.use_backend("numpy"):
        assert not dispatch_optim.sgd(p, g, p.copy(), *args)
    with jit.use_backend("numba"):
        assert not dispatch_optim.sgd(p, g.astype(np.float64), p.copy(), *args)
        assert not dispatch_optim.sgd(p, g, np.ones(12, np.float32), *args)
        assert not dispatch_optim.sgd(p, g, np.ones((3, 4), np.float32).T, *args)
        sq64 = np.ones((4, 3))  # float64 state of a float32 parameter
        assert not dispatch_optim.rmsprop(p, g, sq64, None, None, 0.1, 0.9, 1e-8, 0, 0, False)
        assert (p == 1).all()
        assert dispatch_optim.sgd(p, g, None, 0.1, 0, 0.0, 0.0, False, False, False)
        np.testing.assert_array_equal(p, np.float32(1) - np.float32(0.1) * np.float32(0.5))


@pytest.fixture(params=["numba", "numpy"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "numba" and not jit.numba_available():
        pytest.skip("numba is not installed")
    with jit.use_backend(request.param):
        yield request.param


@pytest.mark.parametrize(("name", "kw"), ALL_CASES)
def test_float32_steps_equal_torch(backend: str, name: str, kw: dict) -> None:
    """The option mixes above against torch 2.13 (float32, 5 steps; torch's float32 sqrt
    patched to the correctly rounded one, as in test_float32_steps_session36)."""
    _compare(name, kw, {})


# (kernel, state arrays, scalars, mode bits it reads); "pos" marks a state kept positive
_MORE_KERNELS = [
    ("adagrad_step", ["pos"], (-0.1, 0.05, 1e-8), k.MAXIMIZE | k.WEIGHT_DECAY),
    ("adamax_step", ["any", "pos"], (-0.01, 0.05, 0.1, 0.99, 1e-8, 1), k.MAXIMIZE | k.WEIGHT_DECAY),
    (
        "nadam_step",
        ["any", "pos"],
        (0.999, 0.05, 0.1, 0.99, 0.01, 0.03, 1e-8, -0.002, -0.009, 1),
        k.MAXIMIZE | k.WEIGHT_DECAY | more.DECAY,
    ),
    (
        "radam_step",
        ["any", "pos"],
        (0.999, 0.05, 0.1, 0.99, 0.01, 0.4, 0.01, 1e-8, 0.2, 0.7, 1),
        k.MAXIMIZE | k.WEIGHT_DECAY | more.DECAY | more.RECTIFIED,
    ),
]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("w", [0.1, 0.7])  # the lerp's two branches (1 - beta1; unused by Adagrad)
@pytest.mark.parametrize(("name", "states", "scalars", "bits"), _MORE_KERNELS)
def test_more_kernels_equal_fallbacks(
    name: str, states: list, scalars: tuple, bits: int, w: float, dtype: type
) -> None:
    """Each kernel of optim_more under every combination of its mode bits, compiled vs its
    NumPy fallback, three steps."""
    kernel = getattr(more, name)
    sc = np.array(scalars[:2] + (w,) + scalars[3:] if name != "adagrad_step" else scalars, dtype)
    for mode in [m for m in range(256) if m & ~bits == 0]:
        runs = []
        for fn in (kernel.compiled, kernel.fallback):
            arrays = _rng_arrays(8, [(2001,)] * (1 + len(states)), dtype)
            arrays = [
                np.abs(a) + 0.5 if kind == "pos" else a for a, kind in zip(arrays, ["any", *states])
            ]
            for step in range(3):
                fn(arrays[0], _rng_arrays(40 + step, [(2001,)], dtype)[0], *arrays[1:], sc, mode)
            runs.append(arrays)
        for x, y in zip(*runs):
            np.testing.assert_array_equal(x, y, err_msg=f"mode {mode}")


@pytest.mark.parametrize("n", [1, 256, 8192, 8193, 30000])
def test_numpy_fma_forms_agree(n: int) -> None:
    """fma32_numpy's two forms (the output-cast add up to one buffer, add and cast beyond)
    give the float64 sum rounded once, for a scalar or an array multiplier, written into a
    new array or into the addend; and the compiled fma's bits on random data."""
    x, y, z = _rng_arrays(9, [(n,)] * 3, np.float32)
    s = np.float32(-0.0123)
    for a in (s, x):
        want = (np.multiply(a, y, dtype=np.float64) + z).astype(np.float32)
        np.testing.assert_array_equal(k.fma32_numpy(a, y, z, out=np.empty_like(z)), want)
        np.testing.assert_array_equal(k.fma32_numpy(a, y, z.copy(), out=None), want)
        addend = z.copy()
        np.testing.assert_array_equal(k.fma32_numpy(a, y, addend, out=addend), want)
        if jit.numba_available():
            got = np.empty_like(z)
            if a is s:
                k.fma_scalar.compiled(s, y, z, got)
            else:
                k.fma_arrays.compiled(x, y, z, got)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("SGD", {}),
        ("SGD", {"momentum": 0.9}),
        ("RMSprop", {}),
        ("Adam", {}),
        ("Adagrad", {}),
        ("NAdam", {}),
    ],
)
def test_read_only_parameter_raises_numpys_error(backend: str, name: str, kw: dict) -> None:
    """A parameter whose array is read-only: NumPy's ValueError under both paths (the
    compiled kernels cannot write it and leave it to the NumPy sequence)."""
    p = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    p._data.flags.writeable = False
    p.grad = cr.ones(3, 4)
    opt = getattr(cr.optim, name)([p], lr=0.1, **kw)
    with pytest.raises(ValueError, match="read-only"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), np.ones((3, 4), np.float32))
