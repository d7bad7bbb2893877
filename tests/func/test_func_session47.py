"""Session 47: ``cr.func`` refusals in PyTorch 2.13's types and words, each against torch live.

- ``vmap(chunk_size=)`` / ``jacrev(chunk_size=)`` that are not positive ints: PyTorch's
  ValueError, the TypeError its comparison gives (a str, list, complex) and, for a positive
  float or True, the TypeError its chunking meets later (at the call, only when chunking);
- ``expand`` / ``broadcast_to`` / ``expand_as`` under vmap: PyTorch's batch rule names the
  physical sizes (every level's batch size in front, a 1 per new dim), its own "too few
  sizes" words, and a -1 in a new leading dim keeps that 1;
- ``gather`` / ``scatter`` under vmap: out-of-bounds index values (the first bad one in the
  physical index's order, the physical dim) and size checks in physical shapes;
- ``gaussian_nll_loss`` under vmap with a batched ``var``: PyTorch's Python-level
  ``torch.any(var < 0)`` is data-dependent control flow, refused;
- ``grad``/``jacrev`` of an integer input, ``functional_call``'s dict checks,
  ``functionalize(remove=)``, ``one_hot`` under vmap without ``num_classes`` and
  ``broadcast_tensors`` of shapes that do not broadcast: PyTorch's first line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")

_R = np.random.default_rng(4701)
X3 = _R.standard_normal((3, 4, 5))
V = _R.standard_normal((3, 4))
POS = _R.random((3, 4)) + 0.1


def _run(fn: Any) -> Any:
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - compared with the other library's
        return e


def _flat(r: Any) -> list:
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _flat(x)]
    return [r]


def _same(want: Any, got: Any) -> None:
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"torch raised {want!r}; chainrule gave {got!r}"
        assert isinstance(got, type(want)), (want, got)
        assert str(got).splitlines()[:1] == str(want).splitlines()[:1]
        return
    if isinstance(got, Exception):
        raise got
    wl, gl = _flat(want), _flat(got)
    assert len(wl) == len(gl)
    for w, g in zip(wl, gl):
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-9, atol=1e-12)


def _both(case: Any) -> None:
    _same(_run(lambda: case(torch)), _run(lambda: case(cr)))


# --- chunk_size ---------------------------------------------------------------------------

_SIZES = [1.5, 2.0, 5.0, True, False, "2", [2], 2j, 0, -1, -1.5, 0.0, None, 2]


@pytest.mark.parametrize("size", _SIZES, ids=repr)
def test_vmap_chunk_size(size: Any) -> None:
    _both(lambda m: m.func.vmap(lambda a: a * 2, chunk_size=size)(m.tensor(X3)))


def test_vmap_chunk_size_error_after_in_dims() -> None:
    """A float is refused where PyTorch splits the batch: after the inputs' checks."""
    _both(lambda m: m.func.vmap(lambda a: a, in_dims=5, chunk_size=1.5)(m.tensor(X3)))


@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("size", [1.5, 4.0, True, "2", 0.0, -1, 2j, 1], ids=repr)
def test_jacrev_chunk_size(size: Any, n: int) -> None:
    """PyTorch chunks only when the outputs have more elements than ``chunk_size``."""
    _both(lambda m: m.func.jacrev(lambda a: a[:n] * 2, chunk_size=size)(m.tensor(V[0])))


# --- expand under vmap ----------------------------------------------------------------------

_EXPAND = {
    "mismatch": lambda m, a: a.expand(3, 4),
    "new_dims": lambda m, a: a.expand(2, 4, 6),
    "too_few": lambda m, a: a.expand(5),
    "neg2": lambda m, a: a.expand(2, -2, 5),
    "neg2_lead": lambda m, a: a.expand(-2, 4, 5),
    "neg1_lead": lambda m, a: a.expand(-1, 4, 5),
    "neg1_two": lambda m, a: a.expand(-1, -1, 5),
    "ok": lambda m, a: a.expand(2, 4, 5),
    "broadcast_to": lambda m, a: m.broadcast_to(a, (3, 4)),
    "broadcast_to_neg1_lead": lambda m, a: m.broadcast_to(a, (-1, 4, 5)),
    "expand_as": lambda m, a: a.expand_as(m.ones(3, 4)),
    "comparison": lambda m, a: (a > 0).expand(3, 4),
}


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("name", sorted(_EXPAND))
def test_expand_under_vmap(name: str, nested: bool) -> None:
    def case(m: Any) -> Any:
        f = m.func.vmap(lambda a: _EXPAND[name](m, a))
        x = m.tensor(X3)
        if nested:
            f, x = m.func.vmap(f), x[None].expand(2, 3, 4, 5)
        return f(x)

    _both(case)


def test_expand_batched_at_outer_level_only() -> None:
    def case(m: Any) -> Any:
        def outer(a: Any) -> Any:
            return m.func.vmap(lambda b: a.expand(2, 3, 6) + b)(m.ones(2, dtype=m.float64))

        return m.func.vmap(outer)(m.tensor(X3))

    _both(case)


# --- gather / scatter under vmap ------------------------------------------------------------

_IDX7 = np.full((3, 4, 5), 7)
_GS = {
    "scatter_src_batched_idx": (lambda m, a, i: a.scatter(0, i, a), _IDX7),
    "scatter_value_neg": (lambda m, a, i: a.scatter(1, i, 1.0), np.full((3, 4, 5), -9)),
    "scatter_value_one_bad": (
        lambda m, a, i: a.scatter(1, i, 2.0),
        np.array([[[0]], [[5]], [[7]]]),
    ),
    "scatter_add": (lambda m, a, i: a.scatter_add(1, i, a), np.full((3, 4, 5), 5)),
    "gather": (lambda m, a, i: a.gather(1, i), np.full((3, 4, 2), 6)),
    "scatter_unbatched_idx": (lambda m, a, i: a.scatter(0, m.full((4, 5), 7), a), None),
    "gather_unbatched_idx": (lambda m, a, i: a.gather(1, m.full((4, 2), 6)), None),
    "gather_size": (lambda m, a, i: a.gather(1, m.zeros(5, 2, dtype=m.long)), None),
    "scatter_size": (lambda m, a, i: a.scatter(1, m.zeros(5, 2, dtype=m.long), 1.0), None),
    "gather_ok": (lambda m, a, i: a.gather(1, i), np.full((3, 4, 2), 3)),
}


@pytest.mark.parametrize("name", sorted(_GS))
def test_gather_scatter_words_under_vmap(name: str) -> None:
    fn, idx = _GS[name]

    def case(m: Any) -> Any:
        i = m.tensor(idx if idx is not None else np.zeros(3, dtype=np.int64))
        return m.func.vmap(lambda a, j: fn(m, a, j))(m.tensor(X3), i)

    _both(case)


def test_gather_scatter_nested_and_self_unbatched() -> None:
    def nested(m: Any) -> Any:
        idx = m.tensor(np.array([[[0], [4]], [[1], [0]], [[3], [2]]]))
        f = m.func.vmap(m.func.vmap(lambda a, i: a.scatter(0, i, 2.0)))
        return f(m.tensor(X3[:, :, :2]), idx)

    def outer_index(m: Any) -> Any:
        def body(i: Any) -> Any:
            return m.func.vmap(lambda a: a.scatter(0, i, 2.0))(m.tensor(X3[0]))

        return m.func.vmap(body)(m.tensor(np.array([[0], [5], [1]])))

    def gather_size_nested(m: Any) -> Any:
        f = m.func.vmap(m.func.vmap(lambda a: a.gather(1, m.zeros(5, 2, dtype=m.long))))
        return f(m.tensor(X3[None].repeat(2, 0)))

    def self_unbatched(m: Any) -> Any:
        return m.func.vmap(lambda i: m.tensor(X3[0]).gather(1, i))(m.tensor(np.full((3, 4, 2), 6)))

    for case in (nested, outer_index, gather_size_nested, self_unbatched):
        _both(case)


# --- gaussian_nll_loss under vmap -----------------------------------------------------------

_GNLL = {
    "var_batched": lambda m, F, a, v: F.gaussian_nll_loss(a, a * 0, v),
    "var_exp": lambda m, F, a, v: F.gaussian_nll_loss(a, a * 0, a.exp()),
    "var_unbatched": lambda m, F, a, v: F.gaussian_nll_loss(a, a * 0, m.tensor(POS[0])),
    "var_float": lambda m, F, a, v: F.gaussian_nll_loss(a, a * 0, 0.5),
}


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("name", sorted(_GNLL))
def test_gaussian_nll_loss_under_vmap(name: str, grad: bool) -> None:
    def case(m: Any) -> Any:
        def f(a: Any, v: Any) -> Any:
            return _GNLL[name](m, m.nn.functional, a, v)

        g = m.func.grad(f) if grad else f
        return m.func.vmap(g)(m.tensor(V), m.tensor(POS))

    _both(case)


@pytest.mark.parametrize("var", [-1.0, "tensor"])
def test_gaussian_nll_loss_negative_var_words(var: Any) -> None:
    def case(m: Any) -> Any:
        v = m.tensor(-POS) if var == "tensor" else var
        return m.nn.functional.gaussian_nll_loss(m.tensor(V), m.tensor(V), v)

    _both(case)


# --- first lines ----------------------------------------------------------------------------

_FIRST_LINES = {
    "grad_int": lambda m: m.func.grad(lambda a: (a * 2).sum())(m.arange(3)),
    "jacrev_int": lambda m: m.func.jacrev(lambda a: a * 2)(m.arange(3)),
    "vmap_grad_int": lambda m: m.func.vmap(m.func.grad(lambda a: (a * 2).sum()))(m.arange(3)),
    "fc_list_of_int": lambda m: m.func.functional_call(m.nn.Linear(2, 2), [1], (m.ones(2),)),
    "fc_int": lambda m: m.func.functional_call(m.nn.Linear(2, 2), 3, (m.ones(2),)),
    "fc_str": lambda m: m.func.functional_call(m.nn.Linear(2, 2), "weight", (m.ones(2),)),
    "functionalize_remove": lambda m: m.func.functionalize(lambda a: a, remove="x"),
    "one_hot_auto_classes": lambda m: m.func.vmap(m.nn.functional.one_hot)(m.arange(6).view(2, 3)),
    "one_hot_zero_classes": lambda m: m.func.vmap(lambda i: m.nn.functional.one_hot(i, 0))(
        m.arange(6).view(2, 3)
    ),
}


@pytest.mark.parametrize("name", sorted(_FIRST_LINES))
def test_first_lines(name: str) -> None:
    _both(_FIRST_LINES[name])


_BROADCAST = [((4, 5), (3, 4)), ((2, 1, 5), (3, 5), (4, 1, 1)), ((5,), (3, 1), (2, 1, 4))]


@pytest.mark.parametrize("vmapped", [False, True])
@pytest.mark.parametrize("shapes", _BROADCAST, ids=str)
def test_broadcast_tensors_words(shapes: tuple, vmapped: bool) -> None:
    """PyTorch's ``infer_size`` text: the shape broadcast so far against the next one."""

    def case(m: Any) -> Any:
        ts = [m.ones(s) for s in shapes]
        if vmapped:
            return m.func.vmap(lambda a: m.broadcast_tensors(a, *ts[1:]))(
                ts[0].expand(2, *ts[0].shape)
            )
        return m.broadcast_tensors(*ts)

    _both(case)
