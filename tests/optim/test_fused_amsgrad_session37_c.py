"""AMSGrad on the fused compiled Adam/AdamW step (session 37, part 3):
``_kernels.optim.adam_amsgrad_step``, one compiled call per parameter with the running
maximum ``max_exp_avg_sq`` as a fifth array.

Checked: the compiled path against the NumPy path bit for bit (float32 and float64, every
option the Adam kernel takes, both gradient layouts), against torch 2.13 in float32, the
kernel's maximum against NumPy's on NaN, ties and signed zeros, a state_dict round trip
(also one saved without ``max_exp_avg_sq``), and one compiled call per parameter and step.
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

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

AMSGRAD_CASES = [
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "betas": (0.3, 0.9)}),  # lerp's second branch
    ("Adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3, "maximize": True}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "betas": (0.4, 0.6), "weight_decay": 0, "eps": 0}),
]

_SCALARS = (0.1, 0.99, 0.01, 0.4, 1e-8, -0.01, 0.05, 0.999, 1.0)


@needs_numba
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kw"), AMSGRAD_CASES)
def test_amsgrad_compiled_steps_equal_numpy_steps(
    name: str, kw: dict, dtype: type, layout: str
) -> None:
    """Every shape (0-d, 1 element) and both gradient layouts: params and the three state
    arrays bit for bit after each of five steps."""
    out = {}
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            out[backend] = _steps(name, kw, dtype, SHAPES, layout)
    _assert_same(out["numba"], out["numpy"])
    assert "max_exp_avg_sq" in out["numba"][-1][1][0]


@pytest.fixture(params=["numba", "numpy"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "numba" and not jit.numba_available():
        pytest.skip("numba is not installed")
    with jit.use_backend(request.param):
        yield request.param


@pytest.mark.parametrize(("name", "kw"), [c for c in AMSGRAD_CASES if "eps" not in c[1]])
def test_amsgrad_float32_steps_equal_torch(backend: str, name: str, kw: dict) -> None:
    """Against torch 2.13, float32, bit for bit, params and state (``max_exp_avg_sq``
    included; torch's sqrt patched to the correctly rounded one, as in
    test_float32_steps_session36)."""
    _compare(name, kw, {})


@needs_numba
@pytest.mark.parametrize("mode", [0, k.MAXIMIZE | k.WEIGHT_DECAY, k.DECAY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_amsgrad_kernel_maximum_nan_ties_signed_zeros(dtype: type, mode: int) -> None:
    """The compiled kernel and its NumPy fallback agree bit for bit (signs of zero and NaN
    positions included) where ``max_exp_avg_sq`` holds NaN, -0.0, values equal to the new
    ``v``, and larger and smaller values; with the scalars as floats or as an array."""
    rng = np.random.default_rng(7)
    n = 300
    param, grad, m = (rng.standard_normal(n).astype(dtype) for _ in range(3))
    v = (np.abs(rng.standard_normal(n)) + 0.5).astype(dtype)
    grad[:10] = 0  # v stays a product: equal/zero cases below
    v[:10] = 0
    vmax = (np.abs(rng.standard_normal(n)) * 2).astype(dtype)
    vmax[:5] = -0.0  # a tie of -0.0 with the new v = +0.0
    vmax[10:20] = np.nan
    v[20:25] = np.nan  # the new v NaN: propagated
    # ties: vmax equal to the new v (computed with the NumPy fallback on copies)
    probe = [a.copy() for a in (param, grad, m, v, vmax)]
    k.adam_amsgrad_step.fallback(*probe, _SCALARS, mode)
    vmax[30:60] = probe[3][30:60]
    results = []
    for run, s in [
        (k.adam_amsgrad_step.compiled, _SCALARS),
        (k.adam_amsgrad_step.compiled, np.array(_SCALARS, dtype)),
        (k.adam_amsgrad_step.fallback, _SCALARS),
        (k.adam_amsgrad_step.fallback, np.array(_SCALARS, dtype)),
    ]:
        arrays = [a.copy() for a in (param, grad, m, v, vmax)]
        run(*arrays, s, mode)
        results.append(arrays)
    assert np.isnan(results[0][4][10:25]).all()
    assert np.signbit(results[0][4][:5]).sum() == 0  # the tie gave v's +0.0
    for other in results[1:]:
        for x, y in zip(results[0], other):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(np.signbit(x), np.signbit(y))
    # without AMSGrad's maximum taking effect (vmax all -inf) the plain kernel's bits
    plain = [a.copy() for a in (param, grad, m, v)]
    k.adam_step.compiled(*plain, _SCALARS, mode)
    ams = [a.copy() for a in (param, grad, m, v)] + [np.full(n, -np.inf, dtype)]
    k.adam_amsgrad_step.compiled(*ams, _SCALARS, mode)
    for x, y in zip(plain, ams):
        np.testing.assert_array_equal(x, y)


def _run(
    name: str, kw: dict, steps: range, opt_state: dict | None, params: list, amsgrad: bool = False
) -> dict:
    opt = getattr(cr.optim, name)(params, **kw)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    if amsgrad:  # after loading (the loaded groups carry their own amsgrad)
        opt.param_groups[0]["amsgrad"] = True
    for step in steps:
        for p, g in zip(params, _rng_arrays(10 + step, SHAPES, np.float32)):
            p.grad = cr.tensor(g)
        opt.step()
    return opt.state_dict()


@pytest.mark.parametrize(("name", "kw"), [AMSGRAD_CASES[0], AMSGRAD_CASES[5]])
def test_amsgrad_state_dict_round_trip(backend: str, name: str, kw: dict) -> None:
    """Three steps, state_dict, a new optimizer loads it and takes two more: the same bits
    as five steps in one optimizer (params and every state entry)."""
    straight = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
    sd_straight = _run(name, kw, range(5), None, straight)
    split = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
    sd = _run(name, kw, range(3), None, split)
    assert all("max_exp_avg_sq" in s for s in sd["state"].values())
    sd_split = _run(name, kw, range(3, 5), sd, split)
    for a, b in zip(straight, split):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for i, s in sd_straight["state"].items():
        assert sorted(s) == sorted(sd_split["state"][i])
        for key in s:
            np.testing.assert_array_equal(np.asarray(s[key]), np.asarray(sd_split["state"][i][key]))


@needs_numba
def test_amsgrad_state_without_max_entry_compiled_equals_numpy() -> None:
    """A state saved with amsgrad=False, loaded and amsgrad then turned on in the group:
    the maximum starts at zeros in both paths (chainrule's choice; torch's step has no
    such entry to read), which agree bit for bit."""
    out = {}
    for backend in ("numba", "numpy"):
        with jit.use_backend(backend):
            params = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
            sd = _run("Adam", {"lr": 0.01}, range(2), None, params)
            final = _run("Adam", {"lr": 0.01}, range(2, 4), sd, params, amsgrad=True)
            assert all("max_exp_avg_sq" in s for s in final["state"].values())
            out[backend] = (
                [p.detach().numpy().copy() for p in params],
                [np.asarray(s["max_exp_avg_sq"]).copy() for s in final["state"].values()],
            )
    for a, b in zip(out["numba"][0] + out["numba"][1], out["numpy"][0] + out["numpy"][1]):
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.parametrize(("name", "kw"), [AMSGRAD_CASES[1], AMSGRAD_CASES[5]])
def test_amsgrad_one_compiled_call_per_parameter(
    monkeypatch: pytest.MonkeyPatch, name: str, kw: dict
) -> None:
    """One compiled AMSGrad call per parameter and step at every size (and none of the plain
    kernel); a transposed gradient goes to the NumPy sequence."""
    spy, plain = _Spy(k.adam_amsgrad_step), _Spy(k.adam_step)
    monkeypatch.setattr(k, "adam_amsgrad_step", spy)
    monkeypatch.setattr(k, "adam_step", plain)
    with jit.use_backend("numba"):
        params = [cr.tensor(a, requires_grad=True) for a in _rng_arrays(1, SHAPES, np.float32)]
        opt = getattr(cr.optim, name)(params, **kw)
        for step in range(3):
            for p, g in zip(params, _rng_arrays(10 + step, SHAPES, np.float32)):
                p.grad = cr.tensor(g)
            opt.step()
        assert spy.calls == 3 * len(SHAPES) and plain.calls == 0
        w = params[0]
        w.grad = cr.tensor(np.ascontiguousarray(w.grad.numpy().T).T)  # (64, 30), F order
        opt.step()
        assert spy.calls == 4 * len(SHAPES) - 1
