"""Session 47 func/versions leftovers, each checked against PyTorch live: ``F.embedding``'s
``max_norm`` renorm refused under vmap when only the indices are batched, fractional max
pooling under vmap's three ``randomness`` modes, ``linalg.qr(mode='r')``'s empty ``Q``, the
vmap in-place refusal texts under nested vmap, ``scatter(reduce=)``'s missing derivative
(node ``NotImplemented``, backward's error), and the "(Batch element k): " of
``linalg.cholesky`` / ``linalg.inv`` errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

__all__: list[str] = []


def _outcome(fn: Callable[[], Any]) -> tuple:
    """``("ok", value)`` or ``(error type, first line of its text)``; PyTorch's private
    ``_LinAlgError`` is read as chainrule's ``LinAlgError``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn())
        except Exception as e:  # noqa: BLE001 - the outcome is what is compared
            return (type(e).__name__.lstrip("_"), str(e).splitlines()[0])


def _array(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_array(a) for a in x)
    return np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x.detach().numpy())


def _same(case: Callable[[Any], Any]) -> None:
    """``case(torch)`` and ``case(cr)``: the same error and text, or the same values (to
    float32 rounding: the renorm's scale may differ in the last bit)."""
    want, got = _outcome(lambda: case(torch)), _outcome(lambda: case(cr))
    assert want[0] == got[0], (want, got)
    if want[0] != "ok":
        assert want[1] == got[1]
        return
    for w, g in zip(np.atleast_1d(_array(want[1])), np.atleast_1d(_array(got[1]))):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, atol=0)


# -- 1: embedding's max_norm renorm under vmap -------------------------------------------
_W = np.linspace(-2, 2, 15, dtype=np.float32).reshape(5, 3)
_I = np.array([[0, 1], [2, 3]])


def _emb_unbatched_weight(t):
    w = t.tensor(_W)
    return t.func.vmap(lambda i: t.nn.functional.embedding(i, w, max_norm=1.0))(t.tensor(_I))


def _emb_nested(t):
    i = t.tensor(_I)
    inner = lambda w: t.func.vmap(lambda j: t.nn.functional.embedding(j, w, max_norm=1.0))(i)  # noqa: E731
    return t.func.vmap(inner)(t.tensor(np.stack([_W, _W * 2])))


def _emb_under_grad(t):
    w, i = t.tensor(_W), t.tensor(_I)
    f = lambda x: t.func.vmap(lambda j: t.nn.functional.embedding(j, w, max_norm=1.0))(i).sum() * x  # noqa: E731
    return t.func.grad(f)(t.tensor(1.0))


def _emb_renorm_direct(t):
    return t.func.vmap(lambda i: t.embedding_renorm_(t.tensor(_W), i, 1.0, 2.0))(t.tensor(_I))


def _emb_both_batched(t):
    f = lambda i, w: t.nn.functional.embedding(i, w, max_norm=1.0)  # noqa: E731
    return t.func.vmap(f)(t.tensor(_I), t.tensor(np.stack([_W, _W * 3])))


@pytest.mark.parametrize(
    "case",
    [_emb_unbatched_weight, _emb_nested, _emb_under_grad, _emb_renorm_direct, _emb_both_batched],
)
def test_embedding_max_norm_under_vmap(case: Callable) -> None:
    _same(case)


# -- 2: fractional max pooling under vmap's randomness -----------------------------------
_X2 = np.random.default_rng(0).standard_normal((3, 2, 9, 9)).astype(np.float32)  # alpha 3.5
_X3 = np.random.default_rng(1).standard_normal((2, 1, 5, 5, 5)).astype(np.float32)


@pytest.mark.parametrize("randomness", ["same", "different", "error"])
@pytest.mark.parametrize("form", ["2d", "2d_indices", "2d_samples", "3d", "2d_unbatched"])
def test_fractional_max_pool_under_vmap(randomness: str, form: str) -> None:
    def case(t):
        t.manual_seed(5)
        fn = t.nn.functional
        if form == "3d":
            f = lambda a: fn.fractional_max_pool3d(a, 2, output_size=3)  # noqa: E731
            return t.func.vmap(f, randomness=randomness)(t.tensor(_X3))
        if form == "2d_samples":
            s = t.tensor(np.full((1, 2, 2), 0.7, dtype=np.float32))
            f = lambda a: fn.fractional_max_pool2d(a, 2, output_size=3, _random_samples=s)  # noqa: E731
        elif form == "2d_unbatched":  # each sample (C, H, W)
            f = lambda a: fn.fractional_max_pool2d(a[0], 2, output_size=(3, 2))  # noqa: E731
        else:
            ind = form == "2d_indices"
            f = lambda a: fn.fractional_max_pool2d(a, 2, output_size=3, return_indices=ind)  # noqa: E731
        return t.func.vmap(f, randomness=randomness)(t.tensor(_X2).unsqueeze(1))

    _same(case)


def test_fractional_cases_see_the_draws() -> None:
    """The cases above tell draws apart: 'same' and 'different' pool differently."""

    def run(t, randomness):
        t.manual_seed(5)
        f = lambda a: t.nn.functional.fractional_max_pool2d(a, 2, output_size=3)  # noqa: E731
        return t.func.vmap(f, randomness=randomness)(t.tensor(_X2).unsqueeze(1)).numpy()

    for t in (torch, cr):
        same, different = run(t, "same"), run(t, "different")
        assert not np.array_equal(same, different)


# -- 3: qr(mode='r') ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (2, 4, 3)])
def test_qr_mode_r_empty_q(shape: tuple) -> None:
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) ** 1.5
    want = torch.linalg.qr(torch.tensor(a), mode="r")
    got = cr.linalg.qr(cr.tensor(a), mode="r")
    assert tuple(got.Q.shape) == tuple(want.Q.shape) == (0,)
    np.testing.assert_allclose(np.abs(got.R.numpy()), np.abs(want.R.numpy()), atol=1e-9)


# -- 4: in-place refusal texts under nested vmap ------------------------------------------
_INPLACE = {
    "mul_": lambda q, a: q.mul_(a),
    "copy_": lambda q, a: q.copy_(a),
    "index_add_": lambda q, a: q.index_add_(
        0,
        a.new_zeros(1, dtype=torch.long)
        if isinstance(a, torch.Tensor)
        else cr.zeros(1, dtype=cr.long),
        a[:1],
    ),
    "clamp_": lambda q, a: q.clamp_(a),
    "lerp_": lambda q, a: q.lerp_(a, 0.5),
    "masked_fill_": lambda q, a: q.masked_fill_(a > 0, 1.0),
    "atan2_": lambda q, a: q.atan2_(a),
}


@pytest.mark.parametrize("nested", [False, True], ids=["one_level", "nested"])
@pytest.mark.parametrize("op", sorted(_INPLACE))
def test_inplace_refusal_text(op: str, nested: bool) -> None:
    f = _INPLACE[op]

    def case(t):
        a = t.ones(3, 4)
        if nested:
            return t.func.vmap(lambda q: t.func.vmap(lambda x: f(q, x))(a))(t.ones(2, 4))
        return t.func.vmap(lambda x: f(t.ones(4), x))(a)

    if op == "atan2_" and nested:  # see the xfail below
        return
    _same(case)


def test_inplace_broadcast_text_nested() -> None:
    def case(t):
        a = t.ones(3, 4)
        return t.func.vmap(lambda q: t.func.vmap(lambda x: q.atan2_(x))(a))(t.ones(2, 4))

    _same(case)


# -- 5: scatter(reduce=) has no derivative -------------------------------------------------
def _scatter_cases() -> dict:
    idx = [[0, 1, 2, 0]]

    def out_of_place(reduce, value):
        def case(t):
            b = t.ones(3, 4, requires_grad=True)
            src = 2.0 if value else t.full((1, 4), 2.0, requires_grad=True)
            o = b.scatter(0, t.tensor(idx), src, reduce=reduce)
            name = type(o.grad_fn).__name__
            o.sum().backward()
            return name

        return case

    def in_place(reduce, value, view):
        def case(t):
            b = t.ones(3, 4, requires_grad=True)
            c = b.clone()
            if view:
                c[0].scatter_(0, t.tensor([0, 1, 2, 0]), 2.0 if value else t.ones(4), reduce=reduce)
            else:
                c.scatter_(0, t.tensor(idx), 2.0 if value else t.ones(1, 4), reduce=reduce)
            name = type(c.grad_fn).__name__
            c.sum().backward()
            return name

        return case

    cases = {}
    for reduce in ("add", "multiply"):
        for value in (False, True):
            kind = "value" if value else "src"
            cases[f"scatter_{reduce}_{kind}"] = out_of_place(reduce, value)
            cases[f"scatter__{reduce}_{kind}"] = in_place(reduce, value, False)
            cases[f"scatter__{reduce}_{kind}_on_view"] = in_place(reduce, value, True)
    return cases


_SCATTER = _scatter_cases()


@pytest.mark.parametrize("name", sorted(_SCATTER))
def test_scatter_reduce_has_no_derivative(name: str) -> None:
    _same(_SCATTER[name])


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_node_and_values(reduce: str) -> None:
    def case(t):
        b = t.arange(12.0).reshape(3, 4).requires_grad_()
        o = b.scatter(0, t.tensor([[0, 1, 2, 0]]), t.full((1, 4), 3.0), reduce=reduce)
        return type(o.grad_fn).__name__, o.requires_grad, o.detach()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the deprecation of reduce= with a tensor src)
        want, got = case(torch), case(cr)
    assert want[:2] == got[:2] == ("NotImplemented", True)
    np.testing.assert_array_equal(got[2].numpy(), want[2].numpy())


# -- 6: linalg errors of a batch -----------------------------------------------------------
def _linalg_cases() -> dict:
    def batch(t, shape, bad, entry):
        m = t.eye(3).repeat(*shape, 1, 1)
        m[bad] = entry(t)
        return m

    zero = lambda t: t.zeros(3, 3)  # noqa: E731
    indef = lambda t: t.diag(t.tensor([1.0, -1.0, 1.0]))  # noqa: E731
    ops = {
        "cholesky": lambda t, m: t.linalg.cholesky(m),
        "cholesky_upper": lambda t, m: t.linalg.cholesky(m, upper=True),
        "inv": lambda t, m: t.linalg.inv(m),
        "inverse": lambda t, m: t.inverse(m),
        "legacy_cholesky": lambda t, m: t.cholesky(m),
        "inv_ex": lambda t, m: t.linalg.inv_ex(m, check_errors=True),
        "cholesky_ex": lambda t, m: t.linalg.cholesky_ex(m, check_errors=True),
        "solve": lambda t, m: t.linalg.solve(m, t.ones(*m.shape[:-1], 1)),
        "solve_vector_broadcast": lambda t, m: t.linalg.solve(m, t.ones(3)),
        "solve_right": lambda t, m: t.linalg.solve(m, t.ones(*m.shape[:-2], 1, 3), left=False),
        "solve_ex": lambda t, m: t.linalg.solve_ex(m, t.ones(*m.shape[:-1], 1), check_errors=True),
        "matrix_power": lambda t, m: t.linalg.matrix_power(m, -1),
    }
    cases = {}
    for name, op in ops.items():
        for where, shape, bad in (("flat", (3,), 1), ("nested", (2, 3), (1, 2)), ("one", (), ())):
            for kind, entry in (("zero", zero), ("indefinite", indef)):
                if "chol" not in name and kind == "indefinite":
                    continue
                cases[f"{name}_{where}_{kind}"] = (
                    lambda t, op=op, shape=shape, bad=bad, entry=entry: op(
                        t, batch(t, shape, bad, entry) if shape else entry(t)
                    )
                )
    return cases


_LINALG = _linalg_cases()


@pytest.mark.parametrize("name", sorted(_LINALG))
def test_linalg_batch_element_text(name: str) -> None:
    _same(_LINALG[name])


@pytest.mark.parametrize("transform", ["jvp", "jvp_inplace", "grad", "vmap"])
def test_scatter_reduce_under_transforms(transform: str) -> None:
    def case(t):
        idx = t.tensor([[0, 1, 2, 0]])
        x = t.ones(3, 4)
        if transform == "jvp":
            f = lambda b: b.scatter(0, idx, 2.0, reduce="add")  # noqa: E731
            return t.func.jvp(f, (x,), (x,))[1]
        if transform == "jvp_inplace":
            f = lambda b: b.clone().scatter_(0, idx, t.ones(1, 4), reduce="multiply")  # noqa: E731
            return t.func.jvp(f, (x,), (x,))[1]
        if transform == "grad":
            return t.func.grad(lambda b: b.scatter(0, idx, 2.0, reduce="add").sum())(x)
        return t.func.vmap(lambda b: b.scatter(0, idx[0], 2.0, reduce="add"))(x)

    _same(case)


def test_scatter_reduce_vmap_of_grad() -> None:
    def case(t):
        idx = t.tensor([0, 1, 2, 0])
        g = t.func.grad(lambda b: b.scatter(0, idx, 2.0, reduce="add").sum())
        return t.func.vmap(g)(t.ones(3, 4))

    _same(case)
