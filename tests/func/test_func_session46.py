"""Session 46: ``index_add``/``scatter_reduce`` invalid inputs in PyTorch's words (plain, and
under vmap with an unbatched index, where PyTorch's batch rules name the physical dims and
shapes), ``instance_norm`` with running statistics under vmap, and ``vmap(chunk_size=)``'s
refusals, each against torch 2.13 live.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")

_R = np.random.default_rng(4601)
X = _R.standard_normal((4, 5))
X3 = _R.standard_normal((3, 4, 5))
XN = _R.standard_normal((3, 2, 4, 5))
IDX = np.array([[0, 1, 2, 3, 0], [1, 9, 2, 7, 0], [8, 0, 0, 0, 0]])


def _run(fn: Any) -> Any:
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - compared with the other library's
        return e


def _same(want: Any, got: Any) -> None:
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"torch raised {want!r}; chainrule gave {got!r}"
        assert isinstance(got, type(want)), (want, got)
        assert str(got).splitlines()[0] == str(want).splitlines()[0]
        return
    if isinstance(got, Exception):
        raise got
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)


def _f64(m: Any, *shape: int) -> Any:
    return m.ones(shape, dtype=m.float64)


# --- plain calls ------------------------------------------------------------------------

_PLAIN = {
    "sr_first_bad_dim0": lambda m, x: x.scatter_reduce(0, m.tensor(IDX), _f64(m, 3, 5), "sum"),
    "sr_first_bad_dim1": lambda m, x: x.scatter_reduce(1, m.tensor(IDX), _f64(m, 3, 5), "sum"),
    "sr_negative": lambda m, x: x.scatter_reduce(0, -m.tensor(IDX) - 1, _f64(m, 3, 5), "sum"),
    "sr_self_small": lambda m, x: x.scatter_reduce(
        1, m.tensor(IDX).t()[:4, :3], _f64(m, 3, 5), "sum"
    ),
    "sr_src_small": lambda m, x: x.scatter_reduce(0, m.tensor(IDX) % 4, _f64(m, 2, 5), "sum"),
    "sr_self_and_src": lambda m, x: x.scatter_reduce(
        0, m.zeros(3, 6, dtype=m.int64), _f64(m, 3, 7), "sum"
    ),
    "sr_src_rank": lambda m, x: x.scatter_reduce(0, m.tensor(IDX) + 9, _f64(m, 3, 5, 2), "sum"),
    "sr_src_fewer_dims": lambda m, x: x.scatter_reduce(0, m.tensor(IDX) % 4, _f64(m, 15), "sum"),
    "sr_src_0d": lambda m, x: x.scatter_reduce(0, m.tensor(IDX) % 4, _f64(m), "sum"),
    "sr_dtype_first": lambda m, x: x.scatter_reduce(0, m.tensor(IDX), m.ones(2, 5), "sum"),
    "sr_mean_bool_first": lambda m, x: (x > 0).scatter_reduce(
        0, m.tensor(IDX) + 9, m.ones(3, 5, dtype=m.bool), "mean"
    ),
    "sr_complex_amax": lambda m, x: x.to(m.complex128).scatter_reduce(
        0, m.tensor(IDX) + 9, m.ones(3, 5, dtype=m.complex128), "amax"
    ),
    "sr_0d_self": lambda m, x: x[0, 0].scatter_reduce(0, m.tensor([3]), _f64(m, 1), "sum"),
    "sr_1d_0d_index": lambda m, x: x[0].scatter_reduce(0, m.tensor(7), _f64(m, 1), "sum"),
    "ia_oob_dim1": lambda m, x: x.index_add(1, m.tensor([0, 7, 1, 9]), _f64(m, 4, 4)),
    "ia_oob_negative": lambda m, x: x.index_add(1, m.tensor([0, -1, 1, 9]), _f64(m, 4, 4)),
    "ia_oob_1d": lambda m, x: x[0].index_add(0, m.tensor([0, 7]), _f64(m, 2)),
    "ia_oob_0d": lambda m, x: x[0, 0].index_add(0, m.tensor([3]), _f64(m)),
    "ia_oob_middle_dim": lambda m, x: (
        x[None].expand(2, 4, 5).index_add(1, m.tensor([0, 9]), _f64(m, 2, 2, 5))
    ),
    "ia_count": lambda m, x: x.index_add(0, m.tensor([0, 1]), _f64(m, 3, 5)),
    "ia_count_1d_source": lambda m, x: x.index_add(0, m.tensor([0, 1]), _f64(m, 10)),
    "ia_count_0d_source": lambda m, x: x.index_add(0, m.tensor([0, 1]), _f64(m)),
    "ia_shape": lambda m, x: x.index_add(0, m.tensor([0, 1]), _f64(m, 2, 6)),
    "ia_shape_rank": lambda m, x: x.index_add(0, m.tensor([0, 1]), _f64(m, 2, 5, 3)),
    "ia_dim_in_source": lambda m, x: x.index_add(1, m.tensor([0, 1]), _f64(m, 2)),
    "ia_0d_self_1d_source": lambda m, x: x[0, 0].index_add(0, m.tensor([0]), _f64(m, 1)),
    "ia_1d_self_0d_source": lambda m, x: x[0].index_add(0, m.tensor([0]), _f64(m)),
    "ia_dtype_long_int": lambda m, x: x.long().index_add(
        0, m.tensor([0, 1]), m.ones(2, 5, dtype=m.int32)
    ),
    "ia_index_short": lambda m, x: x.index_add(0, m.tensor([0, 1]).to(m.int16), _f64(m, 2, 5)),
    "ia_index_bool": lambda m, x: x.index_add(0, m.tensor([True, False]), _f64(m, 2, 5)),
    "ia_index_2d_float": lambda m, x: x.index_add(0, m.tensor([[0.0, 1.0]]), m.ones(2, 5)),
    "ia_empty_self": lambda m, x: m.zeros(0, 3, dtype=m.float64).index_add(
        1, m.tensor([7]), _f64(m, 0, 1)
    ),
    "ia_ok_negative_dim": lambda m, x: x.index_add(-1, m.tensor([0, 1]), _f64(m, 4, 2)),
}


@pytest.mark.parametrize("name", sorted(_PLAIN))
def test_plain_words(name: str) -> None:
    _same(*(_run(lambda m=m: _PLAIN[name](m, m.tensor(X))) for m in (torch, cr)))


# --- under vmap: an unbatched index, PyTorch's physical dims and shapes ------------------

_VMAP = {
    # (function, which of (self, source) are batched)
    "ia_self_oob_last": (lambda m, a, s: a.index_add(1, m.tensor([0, 9]), s), (0, None)),
    "ia_self_shape": (lambda m, a, s: a.index_add(0, m.tensor([0, 1]), s[:, :5]), (0, None)),
    "ia_self_count": (lambda m, a, s: a.index_add(0, m.tensor([0, 1]), s[:1, :5]), (0, None)),
    "ia_both_oob_middle": (lambda m, a, s: a.index_add(0, m.tensor([0, 9]), s[:, :5]), (0, 0)),
    "ia_both_shape": (lambda m, a, s: a.index_add(0, m.tensor([0, 1]), s), (0, 0)),
    "ia_source_only_oob": (lambda m, a, s: a.index_add(1, m.tensor([0, 9]), s.t()), (None, 0)),
    "ia_source_only_count": (lambda m, a, s: a.index_add(0, m.tensor([0]), s), (None, 0)),
    "ia_ok": (lambda m, a, s: a.index_add(0, m.tensor([0, 2]), s[:, :5], alpha=2), (0, 0)),
    "sr_self_oob": (
        lambda m, a, s: a.scatter_reduce(0, m.tensor(IDX) + 1, s[:1].expand(3, 5), "amax"),
        (0, None),
    ),
    "sr_source_only_oob": (
        lambda m, a, s: a.scatter_reduce(1, m.tensor(IDX), s[:1].expand(3, 6), "sum"),
        (None, 0),
    ),
    "sr_self_src_small": (
        lambda m, a, s: a.scatter_reduce(0, m.tensor(IDX) % 4, s[:, :5], "sum"),
        (0, 0),
    ),
    "sr_ok": (
        lambda m, a, s: a.scatter_reduce(0, m.tensor(IDX[:2]) % 4, s[:2, :5], "prod"),
        (0, 0),
    ),
}


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("name", sorted(_VMAP))
def test_unbatched_index_words_under_vmap(name: str, nested: bool) -> None:
    fn, dims = _VMAP[name]
    src = _R.standard_normal((3, 2, 6))

    def run(m: Any) -> Any:
        a = m.tensor(X3) if dims[0] == 0 else m.tensor(X)
        s = m.tensor(src) if dims[1] == 0 else m.tensor(src[0])
        f = m.func.vmap(lambda p, q: fn(m, p, q), in_dims=dims)
        if nested:
            a, s = (t[None].expand(2, *t.shape) if d == 0 else t for t, d in zip((a, s), dims))
            f = m.func.vmap(f, in_dims=dims)
        return _run(lambda: f(a, s))

    _same(run(torch), run(cr))


# --- instance_norm with running statistics under vmap ------------------------------------


def _instance(m: Any, how: str) -> Any:
    F = m.nn.functional
    rm, rv = m.zeros(4, dtype=m.float64), m.ones(4, dtype=m.float64)
    x = m.tensor(XN)
    vmap = m.func.vmap
    if how == "stats":
        return vmap(lambda a: F.instance_norm(a, rm, rv, use_input_stats=True))(x)
    if how == "mean_only":
        return vmap(lambda a: F.instance_norm(a, rm, None, use_input_stats=True))(x)
    if how == "weight":
        w = m.ones(4, dtype=m.float64)
        return vmap(lambda a: F.instance_norm(a, rm, rv, weight=w, use_input_stats=True))(x)
    if how == "nested":
        f = vmap(vmap(lambda a: F.instance_norm(a, rm, rv, use_input_stats=True)))
        return f(x[:, None].expand(3, 2, 2, 4, 5))
    if how == "grad":
        g = m.func.grad(lambda a: F.instance_norm(a, rm, rv, use_input_stats=True).sum())
        return vmap(g)(x)
    if how == "module":
        return vmap(m.nn.InstanceNorm1d(4, track_running_stats=True, dtype=m.float64))(x)
    if how == "eval_stats":  # running statistics only read: allowed
        return vmap(lambda a: F.instance_norm(a, rm, rv, use_input_stats=False))(x)
    # per-sample running statistics: each sample updates its own row
    rms, rvs = m.zeros(3, 4, dtype=m.float64), m.ones(3, 4, dtype=m.float64) * 2
    out = vmap(lambda a, p, q: F.instance_norm(a, p, q, use_input_stats=True, momentum=0.3))(
        x, rms, rvs
    )
    return m.cat([out.reshape(-1), rms.reshape(-1), rvs.reshape(-1)])


@pytest.mark.parametrize(
    "how", ["stats", "mean_only", "weight", "nested", "grad", "module", "eval_stats", "batched"]
)
def test_instance_norm_running_stats_under_vmap(how: str) -> None:
    want, got = _run(lambda: _instance(torch, how)), _run(lambda: _instance(cr, how))
    if how not in ("eval_stats", "batched"):
        assert type(want) is RuntimeError, want
    _same(want, got)


# --- vmap(chunk_size=...) ---------------------------------------------------------------


@pytest.mark.parametrize("size", [1.5, 2.0, True, "2", 0, -1, None, 2])
def test_chunk_size_refusal_types(size: Any) -> None:
    def run(m: Any) -> Any:
        return _run(lambda: m.func.vmap(lambda a: a * 2, chunk_size=size)(m.tensor(X3)))

    want, got = run(torch), run(cr)
    if isinstance(want, Exception):  # the type only: torch's TypeErrors are accidents
        assert isinstance(got, type(want)), (want, got)  # of its arithmetic on chunk_size
        if isinstance(want, ValueError):
            assert str(got) == str(want)
    else:
        _same(want, got)


@pytest.mark.parametrize("alpha", [2j, 2 + 0j, 1.5])
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16", "int64", "int32", "uint8"])
def test_index_add_complex_alpha(dtype: str, alpha: Any) -> None:
    def run(m: Any) -> Any:
        dt = getattr(m, dtype)
        x, s = m.arange(4).to(dt), m.tensor([3, 5]).to(dt)
        return _run(lambda: x.index_add(0, m.tensor([1, 1]), s, alpha=alpha).double())

    _same(run(torch), run(cr))
