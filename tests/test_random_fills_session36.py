"""Session 36 (s36_i), each compared with torch live: random fills of memory that is not
contiguous (PyTorch fills it one element at a time in memory order), ``out=`` of the random
factories into such memory, ``nn.init`` on a transposed weight, the fused ``z * std + mean``
of short normal draws, ``randn_like``'s float16 strides, and NumPy arrays given to
``torch.add``/``sub``/``mul``/``div``/``where`` (TypeError; the operators keep them)."""

import numpy as np
import pytest
import torch

import chainrule as cr


def _values(t, lib):
    return np.asarray(t.to(lib.complex128).tolist())


def _same(make):
    """``make(lib)`` after ``manual_seed(0)`` in both: strides, values and the stream after."""
    results = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        r = make(lib)
        after = lib.randn(3, dtype=lib.float64)  # the stream (and its cached normal) after
        results.append((tuple(r.stride()), _values(r, lib), np.asarray(after.tolist())))
    assert results[1][0] == results[0][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])
    np.testing.assert_array_equal(results[1][2], results[0][2])


def _t(lib, dtype="float32", shape=(5, 6)):
    return lib.zeros(*shape, dtype=getattr(lib, dtype)).t()


FILLS = {
    "uniform": lambda L: _t(L).uniform_(-1.0, 2.0),
    "uniform_f64": lambda L: _t(L, "float64").uniform_(-1.0, 2.0),
    "uniform_complex": lambda L: _t(L, "complex64").uniform_(),
    "uniform_permuted": lambda L: L.zeros(2, 3, 4).permute(2, 0, 1).uniform_(),
    "uniform_channels_last": lambda L: (
        L.zeros(2, 3, 4, 5).to(memory_format=L.channels_last).uniform_()
    ),
    "uniform_gapped": lambda L: L.zeros(6, 8)[:, ::2].t().uniform_(),
    "exponential": lambda L: _t(L).exponential_(2.0),
    "exponential_f64": lambda L: _t(L, "float64").exponential_(0.5),
    "log_normal": lambda L: _t(L).log_normal_(),
    "log_normal_f64": lambda L: _t(L, "float64").log_normal_(0.5, 1.5),
    "log_normal_f64_contiguous": lambda L: L.zeros(100, dtype=L.float64).log_normal_(0.3, 0.7),
    "cauchy": lambda L: _t(L).cauchy_(),
    "cauchy_f64": lambda L: _t(L, "float64").cauchy_(1.0, 2.0),
    "geometric": lambda L: _t(L).geometric_(0.3),
    "geometric_int64": lambda L: _t(L, "int64").geometric_(0.3),
    "bernoulli_float_p": lambda L: _t(L).bernoulli_(0.3),
    "bernoulli_tensor_p": lambda L: _t(L).bernoulli_(L.linspace(0, 1, 30).reshape(6, 5)),
    "bernoulli_transposed_p": lambda L: _t(L).bernoulli_(L.linspace(0, 1, 30).reshape(5, 6).t()),
    "bernoulli_broadcast_p": lambda L: _t(L).bernoulli_(L.linspace(0, 1, 5)),
    "bernoulli_float64_p": lambda L: _t(L).bernoulli_(L.full((6, 5), 0.4, dtype=L.float64)),
    "random_from_to": lambda L: _t(L).random_(3, 10),
    "random_from_to_int64": lambda L: _t(L, "int64").random_(3, 10),
    "random_wide_range": lambda L: _t(L, "int64").random_(0, 2**40),
    "random_to_int32": lambda L: _t(L, "int32").random_(10),
    "random_from_none": lambda L: _t(L, "int64").random_(5, None),
    "random_float32": lambda L: _t(L).random_(),
    "random_float64": lambda L: _t(L, "float64").random_(),
    "random_int64": lambda L: _t(L, "int64").random_(),
    "random_int32": lambda L: _t(L, "int32").random_(),
    "random_uint8": lambda L: _t(L, "uint8").random_(),
    "random_bool": lambda L: _t(L, "bool").random_(),
}


@pytest.mark.parametrize("name", sorted(FILLS))
def test_in_place_fills_of_memory_not_contiguous(name):
    _same(FILLS[name])


OUTS = {
    "rand": lambda L: L.rand(6, 5, out=_t(L)),
    "rand_f64": lambda L: L.rand(6, 5, out=_t(L, "float64")),
    "rand_complex": lambda L: L.rand(6, 5, out=_t(L, "complex64")),
    "rand_bfloat16": lambda L: L.rand(6, 5, out=_t(L, "bfloat16")),
    "rand_resized": lambda L: L.rand(3, 5, out=_t(L)),
    "randn": lambda L: L.randn(6, 5, out=_t(L)),
    "randn_f64": lambda L: L.randn(6, 5, out=_t(L, "float64")),
    "randn_complex": lambda L: L.randn(6, 5, out=_t(L, "complex128")),
    "randn_f16": lambda L: L.randn(6, 5, out=_t(L, "float16")),
    "randn_resized": lambda L: L.randn(3, 5, out=_t(L)),
    "normal_numbers": lambda L: L.normal(2.0, 3.0, (6, 5), out=_t(L, "float64")),
    "normal_tensors": lambda L: L.normal(
        L.linspace(-1, 1, 30).reshape(6, 5), L.linspace(0.5, 3, 30).reshape(6, 5), out=_t(L)
    ),
    "normal_tensor_mean": lambda L: L.normal(
        L.linspace(-1, 1, 30, dtype=L.float64).reshape(6, 5), 2.3, out=_t(L, "float64")
    ),
    "normal_tensor_std": lambda L: L.normal(
        0.7, L.linspace(0.5, 3, 30, dtype=L.float64).reshape(6, 5), out=_t(L, "float64")
    ),
    "randint": lambda L: L.randint(3, 10, (6, 5), out=_t(L, "int64")),
    "randint_float": lambda L: L.randint(3, 10, (6, 5), out=_t(L)),
    "randint_wide": lambda L: L.randint(0, 2**40, (6, 5), out=_t(L, "int64")),
}


@pytest.mark.parametrize("name", sorted(OUTS))
def test_factory_out_of_memory_not_contiguous(name):
    _same(OUTS[name])


def _w(L, dtype="float32", shape=(5, 6)):
    return _t(L, dtype, shape)  # a transposed weight view


INITS = {
    "normal": lambda L: L.nn.init.normal_(_w(L), 1.0, 2.0),
    "normal_long": lambda L: L.nn.init.normal_(_w(L, shape=(20, 30)), 1.0, 2.0),
    "normal_f64": lambda L: L.nn.init.normal_(_w(L, "float64"), 1.0, 2.0),
    "uniform": lambda L: L.nn.init.uniform_(_w(L), -1.0, 2.0),
    "trunc_normal": lambda L: L.nn.init.trunc_normal_(_w(L, shape=(20, 30))),
    "trunc_normal_narrow_f64": lambda L: L.nn.init.trunc_normal_(
        _w(L, "float64", (20, 30)), 0.0, 1.0, -0.5, 0.5
    ),
    "trunc_normal_tail": lambda L: L.nn.init.trunc_normal_(_w(L, shape=(20, 30)), 0.0, 1.0, 2, 3),
    "kaiming_uniform": lambda L: L.nn.init.kaiming_uniform_(_w(L)),
    "kaiming_normal": lambda L: L.nn.init.kaiming_normal_(_w(L)),
    "xavier_uniform": lambda L: L.nn.init.xavier_uniform_(_w(L)),
    "xavier_normal": lambda L: L.nn.init.xavier_normal_(_w(L)),
    "xavier_normal_f64": lambda L: L.nn.init.xavier_normal_(_w(L, "float64", (20, 30))),
}


@pytest.mark.parametrize("name", sorted(INITS))
def test_init_of_a_transposed_weight(name):
    _same(INITS[name])


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("n", [1, 7, 15])
@pytest.mark.parametrize(("mean", "std"), [(0.3, 1.7), (-1.1, 0.37), (2.0, 3.0)])
def test_short_normal_draws_fuse_std_and_mean(dtype, n, mean, std):
    for seed in range(3):
        results = []
        for lib in (torch, cr):
            lib.manual_seed(seed)
            a = lib.empty(n, dtype=getattr(lib, dtype)).normal_(mean, std)
            b = lib.normal(mean, std, (n,), dtype=getattr(lib, dtype))
            results.append((a.double().tolist(), b.double().tolist()))
        assert results[1] == results[0]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])  # (float32: contiguous, its
def test_randn_like_of_a_transposed_row_keeps_its_strides(dtype):  # vectorised last bits)
    _same(lambda L: L.randn_like(L.zeros(1, 20, dtype=getattr(L, dtype)).t()))


def _error(fn):
    with pytest.raises(TypeError) as info:
        fn()
    # chainrule's listing of the overloads names no "didn't match because" reasons
    return [line for line in str(info.value).splitlines() if "didn't match" not in line]


ARRAYS = {
    "add": lambda L, x: L.add(x, np.ones(2)),
    "add_first": lambda L, x: L.add(np.ones(2), x),
    "add_keyword": lambda L, x: L.add(x, other=np.ones(2)),
    "add_alpha": lambda L, x: L.add(x, np.ones(2), alpha=2),
    "add_zero_dim": lambda L, x: L.add(x, np.array(2.0)),
    "sub": lambda L, x: L.sub(x, np.ones(2)),
    "mul": lambda L, x: L.mul(x, np.ones(2)),
    "div": lambda L, x: L.div(x, np.ones(2)),
    "div_int": lambda L, x: L.div(x.long(), np.ones(2)),
    "div_floor": lambda L, x: L.div(x, np.ones(2), rounding_mode="floor"),
    "true_divide": lambda L, x: L.true_divide(x, np.ones(2)),
    "subtract": lambda L, x: L.subtract(x, np.ones(2)),
    "multiply": lambda L, x: L.multiply(x, np.ones(2)),
    "divide": lambda L, x: L.divide(x, np.ones(2)),
    "method_add": lambda L, x: x.add(np.ones(2)),
    "method_mul_": lambda L, x: x.clone().mul_(np.ones(2)),
    "where_condition": lambda L, x: L.where(np.array([True, False]), x, x),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_numpy_arrays_in_function_forms_raise_torchs_type_error(name):
    assert _error(lambda: ARRAYS[name](cr, cr.ones(2))) == _error(
        lambda: ARRAYS[name](torch, torch.ones(2))
    )


def test_operators_keep_taking_numpy_arrays():
    """``x + arr`` (PyTorch converts the array; it warns there under NumPy 2) and the other
    operators keep working, as does a NumPy scalar in the function form (a number)."""
    a = np.arange(1.0, 3.0)
    x = cr.ones(2, dtype=cr.float64)
    got = [v.tolist() for v in (x + a, x - a, x * a, x / a)]
    assert got == [[2.0, 3.0], [0.0, -1.0], [1.0, 2.0], [1.0, 0.5]]
    assert (x @ a).item() == 3.0
    y = x.clone()
    y += a
    assert y.tolist() == [2.0, 3.0]
    assert cr.add(cr.ones(2), np.float64(2.0)).tolist() == [3.0, 3.0]
    assert torch.add(torch.ones(2), np.float64(2.0)).tolist() == [3.0, 3.0]


@pytest.mark.parametrize("draw", ["randn_like", "rand_like", "bernoulli_", "normal_", "dropout"])
def test_draws_like_a_convolution_result_as_torch(draw):
    """A convolution's result is row-major in torch and channel-major in chainrule (its
    own layout, which changes no value): draws shaped like it (a diffusion model's
    ``randn_like(latents)``, dropout after a convolution) must be torch's contiguous draws,
    not the serial path torch takes for memory that is not contiguous."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3))
    out = []
    for L in (torch, cr):
        y = L.nn.functional.conv2d(L.tensor(x), L.tensor(w))
        L.manual_seed(3)
        if draw == "dropout":  # the mask (the kept values are the convolution's, to an ulp)
            r = L.nn.functional.dropout(y, 0.5) != 0
        elif draw.endswith("_"):
            r = (
                getattr(y.detach().clone(), draw)(0.5)
                if draw == "bernoulli_"
                else y.detach().normal_()
            )
        else:
            r = getattr(L, draw)(y)
        out.append(np.asarray(r.detach().tolist()))
    np.testing.assert_array_equal(out[1], out[0])
