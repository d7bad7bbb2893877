"""Session 45: vmap refusals left from session 44, each against ``torch.func`` (torch 2.13).

* An in-place op writing per-sample values into a tensor the vmap level does not batch:
  PyTorch words it three ways by how it batches the op (``add_``/``atan2_``/``copysign_``: the
  broadcast error of the physical shapes; ``sub_``/``mul_``/``copy_``/...: "inplace
  arithmetic"; its in-place fallback: ``aten::<op>`` and the level number, counting grad
  transforms; the ops whose own rule checks self: their name). chainrule gives each op's.
* ``argwhere``/``bincount`` run once per sample as PyTorch's fallback: equal lengths stack,
  other lengths are refused in the words of its ``torch.stack``.
* ``scatter_reduce``'s own invalid-input texts (reduce, dtype, a bool mean) in PyTorch's
  words, plain and under one or two vmap levels, and (session 46) their index and source
  checks: ``index_add``'s per sample for a batched index, ``scatter_reduce``'s naming the
  physical dims and shapes as PyTorch's batch rule does.
* ``linalg.lstsq`` of integer, bool or half inputs: PyTorch's words, plain and under vmap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")

_R = np.random.default_rng(4502)
X = _R.random((4, 5)) + 1
V = _R.random((3, 5)) + 1
X4 = _R.standard_normal((2, 3, 4, 5))
I3 = _R.integers(0, 4, (2, 3, 6))


def _run(fn: Any) -> Any:
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - compared with the other library's
        return e


def _same(want: Any, got: Any) -> None:
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"torch raised {want!r}; chainrule gave {got!r}"
        assert type(got) is type(want) or isinstance(got, type(want)), (want, got)
        assert str(got) == str(want)
        return
    if isinstance(got, Exception):
        raise got
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


# --- in-place writes into an unbatched tensor ---------------------------------------------

_INPLACE = {
    # the broadcast error of the physical shapes
    "add_": lambda m, a, b: a.add_(b),
    "add_alpha": lambda m, a, b: a.add_(b, alpha=2),
    "iadd": lambda m, a, b: a.__iadd__(b),
    "atan2_": lambda m, a, b: a.atan2_(b),
    "copysign_": lambda m, a, b: a.copysign_(b),
    # "inplace arithmetic"
    "sub_": lambda m, a, b: a.sub_(b),
    "mul_": lambda m, a, b: a.mul_(b),
    "div_": lambda m, a, b: a.div_(b),
    "true_divide_": lambda m, a, b: a.true_divide_(b),
    "copy_": lambda m, a, b: a.copy_(b),
    "clamp_min_": lambda m, a, b: a.clamp_min_(b),
    "clamp_max_": lambda m, a, b: a.clamp_max_(b),
    "logical_and_": lambda m, a, b: a.logical_and_(b),
    "masked_fill_mask": lambda m, a, b: a.masked_fill_(b > 1.5, 1.0),
    "row_copy_": lambda m, a, b: a[0].copy_(b),
    "setitem_slice": lambda m, a, b: a.__setitem__(0, b),
    # aten::<op> at level 1
    "fmod_": lambda m, a, b: a.fmod_(b),
    "remainder_": lambda m, a, b: a.remainder_(b),
    "pow_": lambda m, a, b: a.pow_(b),
    "clamp_": lambda m, a, b: a.clamp_(b),
    "lerp_": lambda m, a, b: a.lerp_(b, 0.5),
    "addcmul_": lambda m, a, b: a.addcmul_(b, b),
    "addcdiv_": lambda m, a, b: a.addcdiv_(b, b),
    "hypot_": lambda m, a, b: a.hypot_(b),
    "xlogy_": lambda m, a, b: a.xlogy_(b),
    "floor_divide_": lambda m, a, b: a.floor_divide_(b),
    "float_power_": lambda m, a, b: a.float_power_(b),
    "ldexp_": lambda m, a, b: a.ldexp_(b),
    "nextafter_": lambda m, a, b: a.nextafter_(b),
    "eq_": lambda m, a, b: a.eq_(b),
    "lt_": lambda m, a, b: a.lt_(b),
    "ge_": lambda m, a, b: a.ge_(b),
    "heaviside_": lambda m, a, b: a.heaviside_(b),
    "index_copy_": lambda m, a, b: a.index_copy_(1, m.tensor([0, 1]), _two_cols(b)),
    "scatter_": lambda m, a, b: a.scatter_(1, m.tensor([[0, 1]] * 4), _two_cols(b)),
    "masked_scatter_": lambda m, a, b: a.masked_scatter_(m.ones(4, 5, dtype=m.bool), b * a),
    "put_": lambda m, a, b: a.put_(m.tensor([0, 1]), b[:2]),
    # the op's own name
    "index_add_": lambda m, a, b: a.index_add_(1, m.tensor([0, 1]), _two_cols(b)),
    "index_fill_": lambda m, a, b: a.index_fill_(1, m.tensor([0, 1]), b[0]),
    "scatter_add_": lambda m, a, b: a.scatter_add_(1, m.tensor([[0, 1]] * 4), _two_cols(b)),
    "scatter_reduce_": lambda m, a, b: a.scatter_reduce_(
        1, m.tensor([[0, 1]] * 4), _two_cols(b), "sum"
    ),
    "index_put_": lambda m, a, b: a.index_put_((m.tensor([0, 1]),), b),
    "setitem_tensor": lambda m, a, b: a.__setitem__(m.tensor([0, 1]), b),
    "setitem_list": lambda m, a, b: a.__setitem__((slice(None), [0, 1]), b[:1]),
    "fill_": lambda m, a, b: a.fill_(b[0]),
}


def _two_cols(b: Any) -> Any:
    return b[None, :2].expand(4, 2).contiguous()


@pytest.mark.parametrize("op", sorted(_INPLACE))
def test_inplace_into_unbatched_words(op: str) -> None:
    def run(m: Any) -> Any:
        f = m.func.vmap(lambda a, b: _INPLACE[op](m, a, b), in_dims=(None, 0))
        return _run(lambda: f(m.tensor(X), m.tensor(V)))

    want, got = run(torch), run(cr)
    assert isinstance(want, RuntimeError), want
    assert type(got) is RuntimeError  # (not a subclass: PyTorch's type exactly)
    _same(want, got)


@pytest.mark.parametrize("op", ["add_", "lerp_", "sub_", "index_add_"])
@pytest.mark.parametrize("nest", ["vmap_vmap", "grad_vmap", "vmap_grad", "vmap_inner_self"])
def test_inplace_refusal_levels(op: str, nest: str) -> None:
    # the level number PyTorch names counts every transform entered (grad ones too), and
    # the broadcast error lists every level's batch dim
    def run(m: Any) -> Any:
        body = _INPLACE[op]
        vv = m.tensor(np.stack([V, V + 1]))
        if nest == "vmap_vmap":
            inner = m.func.vmap(lambda a, b: body(m, a, b), in_dims=(None, 0))
            return _run(lambda: m.func.vmap(inner, in_dims=(None, 0))(m.tensor(X), vv))
        if nest == "vmap_inner_self":  # self batched at the inner level only
            inner = m.func.vmap(lambda a, b: body(m, a, b), in_dims=(0, None))
            xs = m.tensor(np.stack([X, X, X]))
            return _run(lambda: m.func.vmap(inner, in_dims=(None, 0))(xs, m.tensor(V[:2])))
        if nest == "grad_vmap":

            def f(c: Any) -> Any:
                return m.func.vmap(lambda b: body(m, m.tensor(X), b))(c).sum()

            return _run(lambda: m.func.grad(f)(m.tensor(V)))
        g = m.func.grad(lambda b: body(m, m.tensor(X), b).sum())
        return _run(lambda: m.func.vmap(g)(m.tensor(V)))

    _same(run(torch), run(cr))


@pytest.mark.parametrize("mode", ["same", "different"])
def test_bernoulli_p_batched_into_unbatched(mode: str) -> None:
    def run(m: Any) -> Any:
        f = m.func.vmap(
            lambda p: m.zeros(5, dtype=m.float64).bernoulli_(p.sigmoid()), randomness=mode
        )
        m.manual_seed(0)
        return _run(lambda: f(m.tensor(V)))

    want, got = run(torch), run(cr)
    assert isinstance(want, RuntimeError)
    _same(want, got)


def test_all_in_dims_none_words() -> None:
    def run(m: Any) -> Any:
        return _run(lambda: m.func.vmap(lambda a, b: a + b, in_dims=(None, None))(m.ones(2), 3))

    want, got = run(torch), run(cr)
    assert type(want) is ValueError
    _same(want, got)


# --- argwhere / bincount once per sample --------------------------------------------------

_COUNTS = {
    "argwhere_equal": (lambda m, v, z: m.argwhere(v > -100), (0, 0)),
    "argwhere_ragged": (lambda m, v, z: m.argwhere(v > 1.5), (0, 0)),
    "argwhere_2d_equal": (lambda m, v, z: m.argwhere(v[None] > -1), (0, 0)),
    "bincount_minlength": (lambda m, v, z: m.bincount(z, minlength=7), (0, 0)),
    "bincount_ragged": (lambda m, v, z: m.bincount(z), (0, 0)),
    "bincount_weights": (lambda m, v, z: m.bincount(z, v[:4], minlength=6), (0, 0)),
    "bincount_weights_only_batched": (
        lambda m, v, z: m.bincount(m.tensor([0, 2, 2, 1]), v[:4]),
        (0, None),
    ),
    "bincount_negative": (lambda m, v, z: m.bincount(z - 3), (0, 0)),
}
_Z = _R.integers(0, 5, (3, 4))


@pytest.mark.parametrize("name", sorted(_COUNTS))
def test_counting_under_vmap(name: str) -> None:
    fn, dims = _COUNTS[name]

    def run(m: Any) -> Any:
        z = m.tensor(_Z) if dims[1] == 0 else m.tensor(_Z[0])
        return _run(lambda: m.func.vmap(lambda v, q: fn(m, v, q), in_dims=dims)(m.tensor(V), z))

    _same(run(torch), run(cr))


def test_argwhere_under_nested_vmap() -> None:
    x = _R.standard_normal((2, 3, 4))

    def run(m: Any) -> Any:
        return m.func.vmap(m.func.vmap(lambda r: m.argwhere(r > -100)))(m.tensor(x))

    _same(run(torch), run(cr))


# --- scatter_reduce / index_add invalid inputs under one and two vmap levels ---------------

_BAD = {
    "sr_dim_oob": lambda m, x, i: x.scatter_reduce(2, _expand(i) % 4, _ones(m, 6, 5), "sum"),
    "sr_bad_reduce": lambda m, x, i: x.scatter_reduce(0, _expand(i) % 4, _ones(m, 6, 5), "mx"),
    "sr_dtype": lambda m, x, i: x.scatter_reduce(0, _expand(i) % 4, _ones(m, 6, 5).float(), "sum"),
    "sr_mean_bool": lambda m, x, i: (x > 0).scatter_reduce(
        0, _expand(i) % 4, m.ones(6, 5, dtype=m.bool), "mean"
    ),
    "sr_index_float": lambda m, x, i: x.scatter_reduce(
        0, (_expand(i) % 4).double(), _ones(m, 6, 5), "sum"
    ),
    "sr_index_rank": lambda m, x, i: x.scatter_reduce(0, i % 4, _ones(m, 6, 5), "sum"),
    "ia_dim_oob": lambda m, x, i: x.index_add(3, i, _ones(m, 4, 6)),
    "sr_index_oob": lambda m, x, i: x.scatter_reduce(0, _expand(i) + 10, _ones(m, 6, 5), "sum"),
    "sr_src_small": lambda m, x, i: x.scatter_reduce(0, _expand(i) % 4, _ones(m, 2, 5), "sum"),
    "ia_index_oob": lambda m, x, i: x.index_add(1, i + 10, _ones(m, 4, 6)),
    "ia_src_shape": lambda m, x, i: x.index_add(0, i, _ones(m, 5, 5)),
    "ia_dtype": lambda m, x, i: x.index_add(0, i, _ones(m, 6, 5).float()),
    "ia_index_float": lambda m, x, i: x.index_add(0, i.double(), _ones(m, 6, 5)),
    "ia_index_2d": lambda m, x, i: x.index_add(0, i[None], _ones(m, 6, 5)),
}


def _expand(i: Any) -> Any:
    return i[:, None].expand(6, 5)


def _ones(m: Any, *shape: int) -> Any:
    return m.ones(*shape, dtype=m.float64)


@pytest.mark.parametrize("name", sorted(_BAD))
@pytest.mark.parametrize("levels", [0, 1, 2])
def test_invalid_inputs_under_vmap_words(name: str, levels: int) -> None:
    def run(m: Any) -> Any:
        f = lambda x, i: _BAD[name](m, x, i)  # noqa: E731
        x, i = m.tensor(X4), m.tensor(I3)
        if levels == 0:
            return _run(lambda: f(x[0, 0], i[0, 0]))
        if levels == 1:
            return _run(lambda: m.func.vmap(f)(x[0], i[0]))
        return _run(lambda: m.func.vmap(m.func.vmap(f))(x, i))

    want, got = run(torch), run(cr)
    assert isinstance(want, Exception), want
    _same(want, got)


# --- linalg.lstsq of integer dtypes ---------------------------------------------------------

_A = _R.integers(-3, 4, (3, 6, 2))
_B = _R.integers(-3, 4, (3, 6, 1))


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float16", "bfloat16"])
@pytest.mark.parametrize("where", ["plain", "vmap", "vmap_a_unbatched", "nested"])
def test_lstsq_non_float_words(dtype: str, where: str) -> None:
    def run(m: Any) -> Any:
        dt = getattr(m, dtype)
        a, b = m.tensor(_A).to(dt), m.tensor(_B).to(dt)
        if where == "plain":
            return _run(lambda: m.linalg.lstsq(a[0], b[0]))
        if where == "vmap":
            return _run(lambda: m.func.vmap(m.linalg.lstsq)(a, b))
        if where == "vmap_a_unbatched":
            return _run(lambda: m.func.vmap(m.linalg.lstsq, in_dims=(None, 0))(a[0], b))
        f = m.func.vmap(m.func.vmap(m.linalg.lstsq))
        return _run(lambda: f(a[:, None].expand(3, 2, 6, 2), b[:, None].expand(3, 2, 6, 1)))

    want, got = run(torch), run(cr)
    assert isinstance(want, RuntimeError)
    _same(want, got)


@pytest.mark.parametrize("pair", [("int64", "float64"), ("float64", "int32"), ("float32", "int64")])
def test_lstsq_mixed_dtype_words_under_vmap(pair: tuple) -> None:
    def run(m: Any) -> Any:
        a = m.tensor(_A).to(getattr(m, pair[0]))
        b = m.tensor(_B).to(getattr(m, pair[1]))
        return _run(lambda: m.func.vmap(m.linalg.lstsq)(a, b))

    _same(run(torch), run(cr))
