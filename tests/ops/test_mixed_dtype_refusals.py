"""Ops given operands of different dtypes where PyTorch refuses instead of promoting: chainrule
raises the same exception type (never a silent float64 or float32 answer), and the same call
with one dtype still gives PyTorch's value. A second table holds the mixes PyTorch accepts
(promoting, or keeping the input's dtype): chainrule must give PyTorch's dtype and value there.

The products (``matmul``, ``mm``, ``bmm``, ``dot``, ``mv``, ``tensordot``, ``einsum``) are in
``test_mixed_dtype_products.py``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_RNG = np.random.default_rng(0)
_DATA: dict = {}


def _t(lib, shape, dt):
    """A fixed tensor of ``shape`` (values in [0.5, 1.5)) in ``lib`` with dtype name ``dt``."""
    if shape not in _DATA:
        _DATA[shape] = _RNG.random(shape) + 0.5
    return lib.tensor(_DATA[shape]).to(getattr(lib, dt))


def _spd(lib, dt):
    """A fixed well-conditioned 3x3 matrix."""
    a = _t(lib, (3, 3), "float64")
    return (a @ a.T + 3 * lib.eye(3, dtype=lib.float64)).to(getattr(lib, dt))


def _f(lib):
    return lib.nn.functional


# op -> call(lib, d1, d2): d1 the dtype of the input, d2 the operand that differs
REFUSED = {
    "cross": lambda L, a, b: L.cross(_t(L, (2, 3), a), _t(L, (2, 3), b), dim=-1),
    "linalg.cross": lambda L, a, b: L.linalg.cross(_t(L, (2, 3), a), _t(L, (2, 3), b)),
    "Tensor.cross": lambda L, a, b: _t(L, (2, 3), a).cross(_t(L, (2, 3), b), dim=1),
    "layer_norm(weight)": lambda L, a, b: _f(L).layer_norm(
        _t(L, (2, 4), a), (4,), _t(L, (4,), b), _t(L, (4,), a)
    ),
    "group_norm(bias)": lambda L, a, b: _f(L).group_norm(
        _t(L, (2, 4, 3), a), 2, _t(L, (4,), a), _t(L, (4,), b)
    ),
    "batch_norm(train, weight)": lambda L, a, b: _f(L).batch_norm(
        _t(L, (3, 4), a), None, None, _t(L, (4,), b), None, training=True
    ),
    "batch_norm(eval, running stats)": lambda L, a, b: _f(L).batch_norm(
        _t(L, (3, 4, 2), a), _t(L, (4,), b), _t(L, (4,), b), training=False
    ),
    "batch_norm(train, running_mean)": lambda L, a, b: _f(L).batch_norm(
        _t(L, (3, 4), a), _t(L, (4,), b), _t(L, (4,), a), training=True
    ),
    "instance_norm(weight)": lambda L, a, b: _f(L).instance_norm(
        _t(L, (2, 4, 3), a), weight=_t(L, (4,), b)
    ),
    "linalg.solve": lambda L, a, b: L.linalg.solve(_spd(L, a), _t(L, (3, 2), b)),
    "linalg.solve(vector)": lambda L, a, b: L.linalg.solve(_spd(L, a), _t(L, (3,), b)),
    "linalg.solve_ex": lambda L, a, b: L.linalg.solve_ex(_spd(L, a), _t(L, (3, 2), b))[0],
    "linalg.lstsq": lambda L, a, b: L.linalg.lstsq(_spd(L, a), _t(L, (3, 2), b)).solution,
    "addmm": lambda L, a, b: L.addmm(_t(L, (2, 2), b), _t(L, (2, 3), a), _t(L, (3, 2), a)),
    "addmv": lambda L, a, b: L.addmv(_t(L, (2,), b), _t(L, (2, 3), a), _t(L, (3,), a)),
    "baddbmm": lambda L, a, b: L.baddbmm(
        _t(L, (1, 2, 2), b), _t(L, (1, 2, 3), a), _t(L, (1, 3, 2), a)
    ),
    "addbmm": lambda L, a, b: L.addbmm(_t(L, (2, 2), b), _t(L, (1, 2, 3), a), _t(L, (1, 3, 2), a)),
    "Tensor.addmm_": lambda L, a, b: _t(L, (2, 2), a).addmm_(_t(L, (2, 3), b), _t(L, (3, 2), b)),
    "cdist": lambda L, a, b: L.cdist(_t(L, (2, 3), a), _t(L, (4, 3), b)),
    "linear(bias)": lambda L, a, b: _f(L).linear(
        _t(L, (2, 3), a), _t(L, (4, 3), a), _t(L, (4,), b)
    ),
    "bilinear(bias)": lambda L, a, b: _f(L).bilinear(
        _t(L, (2, 3), a), _t(L, (2, 4), a), _t(L, (5, 3, 4), a), _t(L, (5,), b)
    ),
    "conv1d(bias)": lambda L, a, b: _f(L).conv1d(
        _t(L, (1, 2, 5), a), _t(L, (3, 2, 2), a), _t(L, (3,), b)
    ),
    "conv2d(bias)": lambda L, a, b: _f(L).conv2d(
        _t(L, (1, 2, 4, 4), a), _t(L, (3, 2, 2, 2), a), _t(L, (3,), b)
    ),
    "conv3d(weight)": lambda L, a, b: _f(L).conv3d(
        _t(L, (1, 2, 3, 3, 3), a), _t(L, (3, 2, 2, 2, 2), b)
    ),
    "conv_transpose3d(bias)": lambda L, a, b: _f(L).conv_transpose3d(
        _t(L, (1, 2, 3, 3, 3), a), _t(L, (2, 3, 2, 2, 2), a), _t(L, (3,), b)
    ),
    "prelu": lambda L, a, b: _f(L).prelu(_t(L, (2, 3), a) - 1, _t(L, (1,), b)),
    "lerp(weight)": lambda L, a, b: L.lerp(_t(L, (3,), a), _t(L, (3,), a) * 2, _t(L, (3,), b)),
    "lerp(end)": lambda L, a, b: L.lerp(_t(L, (3,), a), _t(L, (3,), b), 0.25),
    "Tensor.lerp_": lambda L, a, b: _t(L, (3,), a).lerp_(_t(L, (3,), b), 0.25),
}


def _call(fn, lib, a, b):
    with warnings.catch_warnings():  # torch's own UserWarnings are not what is tested here
        warnings.simplefilter("ignore")
        return fn(lib, a, b)


def _same(got, want) -> None:
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    want = want.detach().double().numpy()
    np.testing.assert_allclose(got.double().numpy(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize("op", list(REFUSED))
def test_mixed_dtypes_refused_as_torch(op, dtypes):
    fn, (a, b) = REFUSED[op], dtypes
    with pytest.raises(Exception) as want:
        _call(fn, torch, a, b)
    assert type(want.value) is RuntimeError  # the table holds only what PyTorch refuses
    with pytest.raises(RuntimeError) as got:
        _call(fn, cr, a, b)
    # PyTorch's words (CONTRIBUTING.md's "Error messages"), or the op's name where chainrule
    # checks what PyTorch's kernel reports in other words
    name = op.split("(")[0].split(".")[-1].rstrip("_")
    torch_words = str(want.value).splitlines()[0]
    assert str(got.value).startswith(torch_words) or name in str(got.value), str(got.value)
    _same(_call(fn, cr, a, a), _call(fn, torch, a, a))


# mixes PyTorch accepts: chainrule gives its dtype and value
ACCEPTED = {
    "addr": lambda L, a, b: L.addr(_t(L, (2, 3), b), _t(L, (2,), a), _t(L, (3,), a)),
    "outer": lambda L, a, b: L.outer(_t(L, (2,), a), _t(L, (3,), b)),
    "kron": lambda L, a, b: L.kron(_t(L, (2, 2), a), _t(L, (2, 2), b)),
    "where": lambda L, a, b: L.where(_t(L, (3,), "float64") > 1, _t(L, (3,), a), _t(L, (3,), b)),
    "lerp(0-d weight)": lambda L, a, b: L.lerp(
        _t(L, (3,), a), _t(L, (3,), a) * 2, L.tensor(0.75, dtype=getattr(L, b))
    ),
    "linalg.solve_triangular": lambda L, a, b: L.linalg.solve_triangular(
        L.triu(_spd(L, a)), _t(L, (3, 2), b), upper=True
    ),
    "instance_norm(running stats)": lambda L, a, b: _f(L).instance_norm(
        _t(L, (2, 4, 3), a), _t(L, (4,), b), _t(L, (4,), b) * 0 + 1
    ),
    "instance_norm(eval, running stats)": lambda L, a, b: _f(L).instance_norm(
        _t(L, (2, 4, 3), a), _t(L, (4,), b), _t(L, (4,), b), use_input_stats=False
    ),
    "rms_norm(weight)": lambda L, a, b: _f(L).rms_norm(_t(L, (2, 4), a), (4,), _t(L, (4,), b)),
    "conv_transpose2d(bias)": lambda L, a, b: _f(L).conv_transpose2d(
        _t(L, (1, 2, 3, 3), a), _t(L, (2, 3, 2, 2), a), _t(L, (3,), b)
    ),
}


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize("op", list(ACCEPTED))
def test_mixed_dtypes_accepted_as_torch(op, dtypes):
    fn, (a, b) = ACCEPTED[op], dtypes
    _same(_call(fn, cr, a, b), _call(fn, torch, a, b))


# a float16 input with float32 parameters: PyTorch's mixed-precision kernels, a float16 result
HALF = {
    "layer_norm": lambda L, p, q: _f(L).layer_norm(
        _t(L, (3, 4), "float16"), (4,), _t(L, (4,), p), _t(L, (4,), q)
    ),
    "group_norm": lambda L, p, q: _f(L).group_norm(
        _t(L, (3, 4, 2), "float16"), 2, _t(L, (4,), p), _t(L, (4,), q)
    ),
    "batch_norm(eval)": lambda L, p, q: _f(L).batch_norm(
        _t(L, (3, 4), "float16"), _t(L, (4,), p), _t(L, (4,), p), _t(L, (4,), q), None
    ),
    "instance_norm": lambda L, p, q: _f(L).instance_norm(
        _t(L, (3, 4, 2), "float16"), weight=_t(L, (4,), p), bias=_t(L, (4,), q)
    ),
}


@pytest.mark.parametrize("op", list(HALF))
def test_float16_input_with_float32_parameters(op):
    fn = HALF[op]
    got, want = _call(fn, cr, "float32", "float32"), _call(fn, torch, "float32", "float32")
    assert got.dtype == cr.float16
    np.testing.assert_allclose(got.double().numpy(), want.double().numpy(), atol=2e-3)
    for lib in (torch, cr):  # one parameter float32, the other float16: refused
        with pytest.raises(RuntimeError):
            _call(fn, lib, "float32", "float16")


@pytest.mark.parametrize(
    ("op", "other"),
    [
        ("cross", "int64"),
        ("linalg.solve", "complex128"),
        ("addmm", "int64"),
        ("prelu", "float16"),
        ("conv_transpose2d(bias)", "complex128"),  # real dtypes are cast, complex refused
    ],
)
def test_other_mixed_kinds_refused_as_torch(op, other):
    fn = {**REFUSED, **ACCEPTED}[op]
    for lib in (torch, cr):
        with pytest.raises(RuntimeError):
            _call(fn, lib, "float64", other)


def test_instance_norm_updates_integer_running_stats_as_pytorch():
    """torch accepts int64 running statistics in instance_norm and truncates the update;
    chainrule raised NumPy's UFuncTypeError."""
    x = np.random.default_rng(3).random((2, 3, 4)).astype(np.float32) * 10
    stats = {}
    for lib in (cr, torch):
        rm = lib.zeros(3, dtype=lib.int64)
        rv = lib.ones(3, dtype=lib.int64) * 5
        y = lib.nn.functional.instance_norm(
            lib.tensor(x), rm, rv, use_input_stats=True, momentum=0.5
        )
        stats[lib.__name__] = (y.numpy(), rm.numpy(), rv.numpy())
    for got, want in zip(stats["chainrule"], stats["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
