"""Small parity fixes found by the drop-in round (session 33), each checked against torch:

- ``Tensor(t)`` is an alias of ``t`` on its grad path (``AliasBackward0``, ``_base`` is
  ``t``, shared memory and version counter); the legacy constructors take ``device=`` only
  (``dtype=`` / ``requires_grad=`` raise TypeError, ``Tensor(t, device=...)`` RuntimeError),
  ``data=`` and ``size=`` by keyword too;
- ``apply_`` / ``map_`` / ``map2_`` leave the version counter alone and write an expanded
  tensor through its shared memory (each element read just before its call);
- ``GRU``/``RNN`` given a non-tensor ``hx`` (a tuple) raise AttributeError (torch reads
  ``hx.dim()``); ``LSTM`` given one state raises IndexError, three RuntimeError;
- ``special.i1`` / ``i1e``'s gradient at NaN is 1/2 (torch's ``|x| <= eps`` branch takes NaN);
  ``geqrf`` on inf input is silent;
- ``torch.flip(x, 1)`` (an int ``dims`` for the function) is a TypeError; ``x.flip(1)`` works.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")
LIBS = [chainrule, torch]


def _raises(fn, lib):
    try:
        fn(lib)
    except Exception as err:  # noqa: BLE001 - the type is what is compared
        return type(err)
    return None


def _same_error(fn):
    got = [_raises(fn, lib) for lib in LIBS]
    assert got[0] is got[1], got
    return got[0]


# 1. the legacy constructor -------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
def test_tensor_of_a_tensor_is_an_alias_on_the_grad_path(lib):
    x = lib.ones(3, requires_grad=True)
    y = lib.Tensor(x)
    assert y is not x and y.requires_grad and not y.is_leaf
    assert type(y.grad_fn).__name__ == "AliasBackward0"
    assert y._base is x and y._is_view()
    assert y.data_ptr() == x.data_ptr()
    (y * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    w = x.detach().clone()
    v = lib.Tensor(w)
    v.add_(1)
    assert w.tolist() == [2.0, 2.0, 2.0] and w._version == v._version == 1
    nonleaf = x * 2
    assert lib.Tensor(nonleaf).grad_fn.next_functions[0][0] is nonleaf.grad_fn
    assert lib.Tensor(lib.ones(2, dtype=lib.int64)).dtype == lib.int64  # t's dtype kept
    assert lib.Tensor(lib.ones(2, dtype=lib.float64)).dtype == lib.float64
    assert type(lib.FloatTensor(x).grad_fn).__name__ == "AliasBackward0"


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.Tensor(2, dtype=L.float64),
        lambda L: L.Tensor(2, requires_grad=True),
        lambda L: L.Tensor([1, 2], dtype=L.float64),
        lambda L: L.Tensor(dtype=L.float32),
        lambda L: L.Tensor(requires_grad=True),
        lambda L: L.Tensor(L.ones(2), dtype=L.float32),
        lambda L: L.Tensor(2, foo=1),
        lambda L: L.Tensor(data=L.ones(2)),
        lambda L: L.Tensor(2.5),
        lambda L: L.Tensor(L.ones(2), 2),
        lambda L: L.FloatTensor(2, dtype=L.float64),
        lambda L: L.FloatTensor(2, requires_grad=True),
        lambda L: L.DoubleTensor(2, requires_grad=True),
        lambda L: L.LongTensor([1], dtype=L.float64),
        lambda L: L.DoubleTensor(L.ones(2)),
    ],
)
def test_legacy_constructor_keywords_raise_typeerror(call):
    assert _same_error(call) is TypeError


def test_tensor_of_a_tensor_with_device_raises_runtimeerror():
    assert _same_error(lambda L: L.Tensor(L.ones(2), device="cpu")) is RuntimeError


_VALUES = [  # (call, whether the values are defined: sizes give uninitialised memory)
    (lambda L: L.Tensor(), True),
    (lambda L: L.Tensor([1, 2]), True),
    (lambda L: L.Tensor(np.arange(3.0)), True),
    (lambda L: L.Tensor(np.arange(3)), True),
    (lambda L: L.Tensor(L.Size([2, 3])), False),
    (lambda L: L.Tensor((2, 3)), True),
    (lambda L: L.Tensor(2, 3), False),
    (lambda L: L.Tensor(2, device="cpu"), False),
    (lambda L: L.Tensor(device="cpu"), True),
    (lambda L: L.Tensor(data=[1, 2]), True),
    (lambda L: L.Tensor(size=(2, 3)), False),
    (lambda L: L.Tensor(size=L.Size([])), False),
    (lambda L: L.FloatTensor([1, 2]), True),
    (lambda L: L.DoubleTensor(2), False),
]


@pytest.mark.parametrize(("call", "defined"), _VALUES)
def test_legacy_constructor_forms_match(call, defined):
    a, b = call(chainrule), call(torch)
    assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
    assert not a.requires_grad and a.is_leaf
    if defined:
        assert a.tolist() == b.tolist()


# 2. apply_ / map_ / map2_ ----------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS)
def test_element_loops_leave_the_version_alone(lib):
    z = lib.zeros(3)
    z.apply_(lambda v: v + 1)
    z.map_(lib.ones(3), lambda a, b: a + b)
    z.map2_(lib.ones(3), lib.ones(3), lambda a, b, c: a + b + c)
    assert z.tolist() == [4.0, 4.0, 4.0] and z._version == 0


@pytest.mark.parametrize("lib", LIBS)
def test_element_loops_write_through_an_expanded_tensor(lib):
    base = lib.zeros(1)
    b = base.expand(3)
    assert b.apply_(lambda v: v + 1) is b
    assert b.tolist() == [3.0, 3.0, 3.0] and base.tolist() == [3.0]  # one element, 3 calls
    row = lib.zeros(3)
    e = row[None].expand(2, 3)
    e.map_(lib.ones(2, 3), lambda a, c: a + c)
    assert row.tolist() == [2.0, 2.0, 2.0]
    col = lib.arange(2.0)[:, None].expand(2, 2)
    col.map2_(lib.ones(2, 2), lib.ones(2, 2), lambda a, x, y: a * 2 + x + y)
    assert col.tolist() == [[6.0, 6.0], [10.0, 10.0]]


def test_apply_on_a_tensor_requiring_grad_raises_torchs_error():
    def call(L):
        L.zeros(3, requires_grad=True).apply_(lambda v: v)

    assert _same_error(call) is RuntimeError
    with pytest.raises(RuntimeError, match="Can't call apply_\\(\\) on Variable"):
        call(chainrule)


# 3. recurrent hx -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["GRU", "RNN"])
@pytest.mark.parametrize("hx", ["tuple", "list", "pair", "int", "array"])
def test_gru_rnn_non_tensor_hx_raises_attributeerror(name, hx):
    def call(L):
        L.manual_seed(0)
        m = getattr(L.nn, name)(2, 3)
        h = L.zeros(1, 1, 3)
        value = {"tuple": (h,), "list": [h], "pair": (h, h), "int": 3, "array": np.zeros((1, 1, 3))}
        m(L.zeros(4, 1, 2), value[hx])

    assert _same_error(call) is AttributeError
    with pytest.raises(AttributeError, match="object has no attribute 'dim'"):
        call(chainrule)


@pytest.mark.parametrize("hx", ["tensor", "one", "three", "int"])
def test_lstm_bad_hx_errors_match(hx):
    def call(L):
        m = L.nn.LSTM(2, 3)
        h = L.zeros(1, 1, 3)
        value = {"tensor": h, "one": (h,), "three": (h, h, h), "int": 3}
        m(L.zeros(4, 1, 2), value[hx])

    assert _same_error(call) is not None


# 4. special.i1 / i1e at NaN, geqrf on inf --------------------------------------------


@pytest.mark.parametrize("name", ["i1", "i1e", "i0e"])
def test_bessel_gradients_at_nan_and_inf(name):
    grads = []
    for lib in LIBS:
        x = lib.tensor([float("nan"), 1.0, float("inf"), -float("inf"), 0.0], requires_grad=True)
        getattr(lib.special, name)(x).sum().backward()
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
@pytest.mark.parametrize(
    "values",
    [
        [[1.0, float("inf")], [2.0, 3.0]],
        [[1.0, 2.0], [3.0, -float("inf")]],
        [[float("inf"), 1.0], [2.0, 3.0]],
        [[float("nan"), 1.0], [2.0, 3.0]],
    ],
)
def test_geqrf_on_non_finite_input_is_silent(values, dtype):
    for lib in LIBS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.geqrf(lib.tensor(values, dtype=getattr(lib, dtype)))
    a, b = chainrule.geqrf(chainrule.tensor(values)), torch.geqrf(torch.tensor(values))
    np.testing.assert_allclose(a.tau.tolist(), b.tau.tolist(), rtol=1e-6, equal_nan=True)


# 5. flip's int dims --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: L.flip(x, 1),
        lambda L, x: L.flip(x, dims=1),
        lambda L, x: L.flip(input=x, dims=1),
        lambda L, x: L.flip(x, 0, 1),
        lambda L, x: L.flip(x),
        lambda L, x: x.flip(dims=1),
        lambda L, x: x.flip(),
    ],
)
def test_flip_refuses_what_torch_refuses(call):
    assert _same_error(lambda L: call(L, L.arange(6.0).reshape(2, 3))) is TypeError


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: L.flip(x, (1,)),
        lambda L, x: L.flip(x, [0, 1]),
        lambda L, x: L.flip(x, ()),
        lambda L, x: L.flip(x, dims=[-1]),
        lambda L, x: x.flip(1),
        lambda L, x: x.flip(0, 1),
        lambda L, x: x.flip((0,)),
        lambda L, x: x.flip(dims=(1,)),
        lambda L, x: L.Tensor.flip(x, 1),
    ],
)
def test_flip_accepted_forms_match(call):
    got = [call(L, L.arange(6.0).reshape(2, 3)).tolist() for L in LIBS]
    assert got[0] == got[1]


def test_flip_method_gradient_and_saved_dims():
    for lib in LIBS:
        x = lib.arange(6.0).reshape(2, 3).requires_grad_()
        y = x.flip(1)
        assert y.grad_fn._saved_dims == (1,)
        (y * lib.arange(6.0).reshape(2, 3)).sum().backward()
        assert x.grad.tolist() == [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]
