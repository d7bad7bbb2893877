"""Argument handling side by side with PyTorch (session 19's round of differences):

- ``cr.softmax(x)``, ``cr.log_softmax(x)``, ``x.softmax()`` without ``dim`` are a TypeError
  in PyTorch (only the functional forms pick a dim, with a deprecation warning); chainrule
  picked one.
- ``F.softmax``/``F.log_softmax``/``F.softmin`` take ``(input, dim=None, _stacklevel=3,
  dtype=None)``: a third positional argument is the stack level, the dtype is the fourth.
  chainrule read the third as the dtype.
- ``F.layer_norm``/``F.rms_norm`` refuse a bare int ``normalized_shape`` (``nn.LayerNorm(4)``
  takes one; the functions do not), a non-integer element and an empty shape.
- ``cr.meshgrid`` without ``indexing`` warns once per process that it will be required
  (PyTorch's C++ warn-once), and uses ``'ij'``.
- ``cr.where(cond, a, b)`` with a numeric ``cond`` read it as truth values; PyTorch refuses
  every dtype but bool and uint8 (a deprecated mask, with a warn-once).
- ``x[np_uint8_array]`` read the array as positions (a silent wrong answer); PyTorch reads it
  as a mask, with its deprecation warning (as for a uint8 tensor).
- ``F.pad`` in reflect/replicate/circular mode padded any rank; PyTorch pads only the last
  1, 2 or 3 dims of an input with one or two dims more (NotImplementedError otherwise).
- ``cr.FloatTensor(float64_tensor)`` converted it; PyTorch refuses another dtype (TypeError).
- ``module.to(complex dtype)`` and ``searchsorted`` of non-contiguous tensors give PyTorch's
  warnings (the latter once per program).
- ``optim.Adagrad`` refused sparse gradients (``nn.Embedding(sparse=True)``); PyTorch applies
  them to the listed rows (and refuses them with a weight decay).
- ``scheduler.step(epoch)`` warns that ``epoch`` is deprecated (every scheduler but
  ``CosineAnnealingWarmRestarts``, whose fractional epochs are documented use), and
  ``ChainedScheduler.step`` takes no ``epoch`` (chainrule accepted and ignored it).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from _forked import run_forked

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.random.default_rng(19).standard_normal((2, 3, 4))


def _fresh(code: str) -> str:
    """What ``code`` (one of ``_FRESH_CODES``) prints in a fresh process state, its warn-once
    warnings not yet spent: a child forked right after ``import warnings, chainrule``."""
    return _fresh_outputs()[_FRESH_CODES.index(code)]


@functools.cache
def _fresh_outputs() -> list[str]:
    """:func:`_fresh` of every code: one interpreter for all (a fork per code)."""
    return run_forked("import warnings\nimport chainrule as cr", list(_FRESH_CODES))


def _outcome(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``fn()``'s result (or its exception type) and the texts of the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn()
        except Exception as err:  # noqa: BLE001 - the exception type is what is compared
            out = type(err)
    return out, [str(w.message) for w in caught]


def _both(fn: Callable[[ModuleType], Any]) -> tuple[Any, Any]:
    return _outcome(lambda: fn(cr)), _outcome(lambda: fn(torch))


# ------------------------------------------------------------------ softmax without dim
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.softmax(t.tensor(X)),
        lambda t: t.log_softmax(t.tensor(X)),
        lambda t: t.tensor(X).softmax(),
        lambda t: t.tensor(X).log_softmax(),
        lambda t: t.softmax(t.tensor(X), None),
        lambda t: t.tensor(X).softmax(dim=None),
        lambda t: t.special.softmax(t.tensor(X), None),
    ],
)
def test_softmax_without_dim_is_a_type_error(call: Callable) -> None:
    (got, got_w), (want, want_w) = _both(call)
    assert want is TypeError and got is TypeError
    assert got_w == want_w == []


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_functional_softmax_third_positional_is_the_stack_level(name: str) -> None:
    for args in ((1, 3), (1, 5), (-1, 3, "float32")):

        def call(t: ModuleType, args: tuple = args) -> Any:
            extra = (getattr(t, args[2]),) if len(args) > 2 else ()
            out = getattr(t.nn.functional, name)(t.tensor(X), *args[:2], *extra)
            return str(out.dtype).removeprefix("torch."), out.detach().numpy()

        (got, got_w), (want, want_w) = _both(call)
        assert got[0] == want[0]
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
        assert got_w == want_w == []


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_functional_softmax_without_dim_still_warns(name: str) -> None:
    (got, got_w), (want, want_w) = _both(
        lambda t: getattr(t.nn.functional, name)(t.tensor(X[0])).numpy()
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert len(got_w) == len(want_w) == 1 and got_w[0] == want_w[0]


# ------------------------------------------------------------------ normalized_shape
@pytest.mark.parametrize("fn", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("shape", [4, (4.0,), [], ("4",), np.int64(4)])
def test_norm_functions_refuse_what_torch_refuses(fn: str, shape: Any) -> None:
    (got, _), (want, _) = _both(lambda t: getattr(t.nn.functional, fn)(t.tensor(X), shape))
    assert isinstance(want, type) and issubclass(want, Exception)
    assert got is want


@pytest.mark.parametrize("fn", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("shape", [[4], (3, 4), "size"])
def test_norm_functions_accept_sequences_and_sizes(fn: str, shape: Any) -> None:
    def call(t: ModuleType) -> np.ndarray:
        x = t.tensor(X)
        s = x.shape[1:] if shape == "size" else shape
        return getattr(t.nn.functional, fn)(x, s).numpy()

    (got, _), (want, _) = _both(call)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_layers_still_take_an_int() -> None:
    for lib in (cr, torch):
        x = lib.tensor(X, dtype=lib.float32)
        assert tuple(lib.nn.LayerNorm(4)(x).shape) == X.shape
        assert tuple(lib.nn.RMSNorm(4)(x).shape) == X.shape


# ------------------------------------------------------------------ scheduler.step(epoch)
def _schedulers(t: ModuleType) -> dict[str, Callable[[Any], Any]]:
    s = t.optim.lr_scheduler
    return {
        "StepLR": lambda o: s.StepLR(o, 2),
        "LambdaLR": lambda o: s.LambdaLR(o, lambda e: 0.5**e),
        "PolynomialLR": lambda o: s.PolynomialLR(o, 4),
        "OneCycleLR": lambda o: s.OneCycleLR(o, 1.0, total_steps=10),
        "CyclicLR": lambda o: s.CyclicLR(o, 0.1, 1.0),
        "CosineAnnealingWarmRestarts": lambda o: s.CosineAnnealingWarmRestarts(o, 3),
        "ReduceLROnPlateau": lambda o: s.ReduceLROnPlateau(o),
        "ChainedScheduler": lambda o: s.ChainedScheduler([s.ConstantLR(o), s.StepLR(o, 2)]),
        "SequentialLR": lambda o: s.SequentialLR(
            o, [s.ConstantLR(o), s.StepLR(o, 2)], milestones=[2]
        ),
    }


@pytest.mark.parametrize("name", list(_schedulers(cr)))
@pytest.mark.parametrize("epoch", [None, 3])
def test_scheduler_step_with_epoch(name: str, epoch: int | None) -> None:
    def call(t: ModuleType) -> Any:
        p = t.nn.Parameter(t.zeros(1))
        opt = t.optim.SGD([p], lr=1.0)
        sched = _schedulers(t)[name](opt)
        opt.step()
        args = (1.0,) if name == "ReduceLROnPlateau" else ()
        sched.step(*args) if epoch is None else sched.step(*args, epoch)
        return round(opt.param_groups[0]["lr"], 12)

    got, want = _both(call)
    assert got == want
    if epoch is not None and name not in ("CosineAnnealingWarmRestarts",):
        assert any("epoch parameter in `scheduler.step()`" in w for w in got[1]) or got[0] in (
            TypeError,
        )


# ------------------------------------------------------------------ empty tensors' strides
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (3, 0, 2), (0, 0), (1, 0, 4, 5)])
def test_new_empty_tensors_have_torchs_strides(shape: tuple) -> None:
    for make in ("empty", "zeros", "ones"):
        got = getattr(cr, make)(*shape)
        want = getattr(torch, make)(*shape)
        assert got.stride() == want.stride()
        assert [got.stride(d) for d in range(-len(shape), len(shape))] == [
            want.stride(d) for d in range(-len(shape), len(shape))
        ]
    assert cr.empty(shape).reshape(-1).stride() == torch.empty(shape).reshape(-1).stride()


# ------------------------------------------------------------------ meshgrid without indexing
_MESHGRID_CODE = """
import warnings
import chainrule as cr
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    a, b = cr.meshgrid(cr.arange(2), cr.arange(3))
    cr.meshgrid(cr.arange(2), indexing=None)
print(tuple(a.shape), len(caught), "indexing argument" in str(caught[0].message))
"""


def test_meshgrid_without_indexing_is_ij_and_warns_once_per_process() -> None:
    out = _fresh(_MESHGRID_CODE)
    assert out.split() == ["(2,", "3)", "1", "True"]
    got = cr.meshgrid(cr.arange(2), cr.arange(3), indexing="xy")
    want = torch.meshgrid(torch.arange(2), torch.arange(3), indexing="xy")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


# ------------------------------------------------------------------ where's condition
@pytest.mark.parametrize("dtype", ["int64", "float32", "int32"])
def test_where_refuses_a_numeric_condition(dtype: str) -> None:
    for lib in (cr, torch):
        cond = lib.tensor([1, 0], dtype=getattr(lib, dtype))
        with pytest.raises(RuntimeError, match="boolean tensor"):
            lib.where(cond, lib.ones(2), lib.zeros(2))


_WHERE_UINT8_CODE = """
import warnings
import chainrule as cr
cond = cr.tensor([1, 0, 2], dtype=cr.uint8)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = cr.where(cond, cr.ones(3), cr.zeros(3))
    cr.where(cond, cr.ones(3), cr.zeros(3))
print(out.tolist(), len(caught), "uint8 condition" in str(caught[0].message))
"""


def test_where_reads_a_uint8_condition_as_a_mask_with_a_warning_once() -> None:
    out = _fresh(_WHERE_UINT8_CODE)
    assert out.split() == ["[1.0,", "0.0,", "1.0]", "1", "True"]
    np.testing.assert_array_equal(
        torch.where(torch.tensor([True, False]), torch.ones(2), torch.zeros(2)).numpy(),
        cr.where(cr.tensor([True, False]), cr.ones(2), cr.zeros(2)).numpy(),
    )


# ------------------------------------------------------------------ NumPy uint8 index arrays
def test_numpy_uint8_index_is_a_mask_as_in_torch() -> None:
    mask = np.array([1, 0, 1, 0], dtype=np.uint8)
    results = []
    for lib in (cr, torch):
        x = lib.arange(4.0)
        with pytest.warns(UserWarning, match="uint8"):
            picked = x[mask]
        with pytest.warns(UserWarning, match="uint8"):
            x[mask] = lib.tensor([7.0, 8.0])
        results.append((picked.numpy(), x.numpy(), lib.arange(4.0)[np.array([1, 2], np.int16)]))
    (pc, xc, ic), (pt, xt, it) = results
    np.testing.assert_array_equal(pc, pt)
    np.testing.assert_array_equal(xc, xt)
    np.testing.assert_array_equal(ic.numpy(), it.numpy())


# ------------------------------------------------------------------ non-constant pad ranks
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "case",
    [((4,), (1, 1)), ((2, 3), (1, 1)), ((2, 3), (1, 1, 1, 1)), ((1, 2, 3), (1, 1, 1, 1))]
    + [((2, 3, 4, 5), (1, 1)), ((1, 1, 2, 2, 2), (1, 1, 1, 1)), ((1, 1, 1, 1, 2, 2), (1, 1))]
    + [((1, 1, 2, 2, 2), (1, 1, 1, 1, 1, 1)), ((2, 2, 2), (1, 1, 1, 1, 1, 1))],
    ids=str,
)
def test_non_constant_pad_ranks_as_torch(mode: str, case: tuple) -> None:
    shape, pad = case

    def call(lib: ModuleType) -> Any:
        x = lib.arange(float(np.prod(shape))).reshape(shape)
        return lib.nn.functional.pad(x, pad, mode=mode).numpy()

    (got, _), (want, _) = _both(call)
    if isinstance(want, type):
        assert want is NotImplementedError and got is NotImplementedError
    else:
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ legacy typed constructors
def test_legacy_constructor_refuses_a_tensor_of_another_dtype() -> None:
    for lib in (cr, torch):
        with pytest.raises(TypeError):
            lib.FloatTensor(lib.zeros(2, dtype=lib.float64))
        with pytest.raises(TypeError):
            lib.LongTensor(lib.zeros(2))
        t = lib.zeros(2)
        u = lib.FloatTensor(t)
        u[0] = 5.0  # an alias of t
        assert float(t[0]) == 5.0


# ------------------------------------------------------------------ complex modules, searchsorted
def test_module_to_complex_warns_as_torch() -> None:
    (got, got_w), (want, want_w) = _both(
        lambda t: str(t.nn.Linear(2, 2).to(t.complex64).weight.dtype).removeprefix("torch.")
    )
    assert got == want == "complex64"
    assert len(got_w) == len(want_w) == 1 and got_w[0] == want_w[0]
    assert _both(lambda t: t.nn.Linear(2, 2).to(t.float64) and None)[0][1] == []


_SEARCHSORTED_CODE = """
import warnings
import chainrule as cr
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for _ in range(2):
        a = cr.searchsorted(cr.arange(10.0)[::2], cr.tensor([3.0]))
        b = cr.searchsorted(cr.arange(5.0), cr.arange(6.0)[::2])
        cr.searchsorted(cr.arange(5.0), cr.tensor([1.0, 2.0]))
print(a.tolist(), b.tolist(), [str(w.message).split(" tensor")[0] for w in caught])
"""


def test_searchsorted_warns_once_per_program_of_non_contiguous_tensors() -> None:
    out = _fresh(_SEARCHSORTED_CODE)
    assert out.strip() == (
        "[2] [0, 2, 4] ['torch.searchsorted(): boundary', 'torch.searchsorted(): input value']"
    )


# ------------------------------------------------------------------ Adagrad, sparse gradients
_EMB = np.random.default_rng(7).standard_normal((6, 3))
_LOOKUPS = [np.array([1, 3, 1, 5]), np.array([0, 3]), np.array([2, 2, 2])]


def _adagrad_on_sparse_embedding(lib: ModuleType, **kw: Any) -> tuple:
    emb = lib.nn.Embedding(6, 3, sparse=True)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(_EMB))
    opt = lib.optim.Adagrad(emb.parameters(), lr=0.5, **kw)
    with warnings.catch_warnings():  # torch's note on sparse invariant checks
        warnings.filterwarnings("ignore", "Sparse invariant checks", UserWarning)
        for idx in _LOOKUPS:
            opt.zero_grad()
            emb(lib.tensor(idx)).pow(2).sum().backward()
            assert emb.weight.grad.is_sparse
            opt.step()
    return emb.weight.detach().numpy(), np.asarray(opt.state[emb.weight]["sum"])


@pytest.mark.parametrize(
    "kw", [{}, {"lr_decay": 0.1}, {"maximize": True}, {"initial_accumulator_value": 0.3}], ids=str
)
def test_adagrad_applies_sparse_gradients_as_torch(kw: dict) -> None:
    got = _adagrad_on_sparse_embedding(cr, **kw)
    want = _adagrad_on_sparse_embedding(torch, **kw)
    for g, w in zip(got, want):  # float32 weights: to a few ulps
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def test_adagrad_sparse_with_weight_decay_is_refused_as_torch() -> None:
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="weight_decay option is not compatible"):
            _adagrad_on_sparse_embedding(lib, weight_decay=0.1)


# The snippets that need a fresh process state, run together by _fresh_outputs.
_FRESH_CODES = (_MESHGRID_CODE, _WHERE_UINT8_CODE, _SEARCHSORTED_CODE)
