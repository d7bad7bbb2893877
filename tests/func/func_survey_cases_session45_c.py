"""Session 45 survey cases (see ``func_survey_cases_session45``): ``jacrev``/``jacfwd`` with
``has_aux``, ``hessian`` of losses, ``linearize``, ``vjp`` with ``has_aux``, ``grad_and_value``
with argnums tuples, ``jvp`` of in-place ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .func_survey_cases_session45 import _F, LOG_IN, P2, S3, TGT, V, W, _t, case

__all__: list[str] = []  # (the cases register into CASES)


# --------------------------------------------------------------------- jacobians, aux


def _f_aux(m: Any) -> Any:
    return lambda x: ((x.sin() * 2).cumsum(0), {"n": x.norm(), "c": x.cos()})


for _cs in (None, 1, 2, 4):

    @case(f"jacrev_has_aux_chunk_{_cs}")
    def _(m: Any, cs: Any = _cs) -> Any:
        j, aux = m.func.jacrev(_f_aux(m), has_aux=True, chunk_size=cs)(_t(m, S3))
        return j, aux["n"], aux["c"]


for _rnd in ("error", "same", "different"):

    @case(f"jacfwd_has_aux_randomness_{_rnd}")
    def _(m: Any, rnd: str = _rnd) -> Any:
        j, aux = m.func.jacfwd(_f_aux(m), has_aux=True, randomness=rnd)(_t(m, S3))
        return j, aux["n"], aux["c"]


for _jac in ("jacrev", "jacfwd"):

    @case(f"{_jac}_has_aux_argnums_tuple")
    def _(m: Any, jac: str = _jac) -> Any:
        f = getattr(m.func, jac)(
            lambda a, b: ((a @ b).exp(), b.sum()), argnums=(0, 1), has_aux=True
        )
        (ja, jb), aux = f(_t(m, P2), _t(m, S3))
        return ja, jb, aux

    @case(f"{_jac}_has_aux_not_tuple")
    def _(m: Any, jac: str = _jac) -> Any:
        return getattr(m.func, jac)(lambda x: x.sin(), has_aux=True)(_t(m, S3))

    @case(f"{_jac}_has_aux_aux_not_tensor")
    def _(m: Any, jac: str = _jac) -> Any:
        return getattr(m.func, jac)(lambda x: (x.sin(), "aux"), has_aux=True)(_t(m, S3))

    @case(f"{_jac}_under_vmap_has_aux")
    def _(m: Any, jac: str = _jac) -> Any:
        j, aux = m.func.vmap(getattr(m.func, jac)(_f_aux(m), has_aux=True))(_t(m, V))
        return j, aux["n"], aux["c"]


@case("jacrev_chunk_size_zero")
def _(m: Any) -> Any:
    return m.func.jacrev(lambda x: x.sin(), chunk_size=0)(_t(m, S3))


@case("jacrev_chunk_size_dict_out")
def _(m: Any) -> Any:
    f = m.func.jacrev(lambda x: {"a": x.sin(), "b": x.sum()}, chunk_size=2)
    r = f(_t(m, S3))
    return r["a"], r["b"]


@case("jacrev_chunk_size_vmap")
def _(m: Any) -> Any:
    return m.func.vmap(m.func.jacrev(lambda x: x.exp().cumprod(0), chunk_size=2))(_t(m, V))


@case("jacfwd_chunk_size_not_accepted")
def _(m: Any) -> Any:
    return m.func.jacfwd(lambda x: x.sin(), chunk_size=2)(_t(m, S3))


def _mse(m: Any) -> Any:
    return lambda w: _F(m).mse_loss(_t(m, LOG_IN) @ w, _t(m, LOG_IN[:, :1]).expand(4, 3))


@case("hessian_mse")
def _(m: Any) -> Any:
    return m.func.hessian(_mse(m))(_t(m, W[:3, :3]))


@case("hessian_cross_entropy")
def _(m: Any) -> Any:
    return m.func.hessian(lambda z: _F(m).cross_entropy(z, m.tensor(TGT)))(_t(m, LOG_IN))


@case("hessian_nll_log_softmax")
def _(m: Any) -> Any:
    f = lambda z: _F(m).nll_loss(_F(m).log_softmax(z, 1), m.tensor(TGT), reduction="sum")  # noqa: E731
    return m.func.hessian(f)(_t(m, LOG_IN))


@case("hessian_bce_logits")
def _(m: Any) -> Any:
    y = _t(m, (LOG_IN > 0).astype(np.float64))
    return m.func.hessian(lambda z: _F(m).binary_cross_entropy_with_logits(z, y))(_t(m, LOG_IN))


@case("hessian_huber")
def _(m: Any) -> Any:
    return m.func.hessian(lambda z: _F(m).huber_loss(z, z * 0 + 0.3, delta=0.5))(_t(m, LOG_IN))


@case("hessian_smooth_l1")
def _(m: Any) -> Any:
    return m.func.hessian(lambda z: _F(m).smooth_l1_loss(z.sin(), z * 0))(_t(m, S3))


@case("hessian_kl_div")
def _(m: Any) -> Any:
    t = _F(m).softmax(_t(m, LOG_IN), 1)
    f = lambda z: _F(m).kl_div(_F(m).log_softmax(z, 1), t, reduction="batchmean")  # noqa: E731
    return m.func.hessian(f)(_t(m, LOG_IN))


@case("hessian_argnums_tuple")
def _(m: Any) -> Any:
    return m.func.hessian(lambda a, b: (a.sin() * b.exp()).sum(), argnums=(0, 1))(
        _t(m, S3), _t(m, S3 * 0.5)
    )


@case("hessian_under_vmap")
def _(m: Any) -> Any:
    return m.func.vmap(m.func.hessian(lambda v: (v.tanh() ** 3).sum()))(_t(m, V))


# -------------------------------------------------------------- linearize, vjp, grad


@case("linearize_values")
def _(m: Any) -> Any:
    out, jvp_fn = m.func.linearize(lambda x: x.sin() * x.exp(), _t(m, S3))
    return out, jvp_fn(_t(m, S3 * 0 + 1)), jvp_fn(_t(m, S3 * 2))


@case("linearize_tuple_out")
def _(m: Any) -> Any:
    out, jvp_fn = m.func.linearize(lambda x: (x.sum(), x.cumsum(0)), _t(m, S3))
    return (*out, *jvp_fn(_t(m, S3)))


@case("linearize_two_args")
def _(m: Any) -> Any:
    out, jvp_fn = m.func.linearize(lambda a, b: a @ b, _t(m, P2), _t(m, S3))
    return out, jvp_fn(_t(m, P2 * 0 + 1), _t(m, S3))


@case("linearize_bad_tangent_shape")
def _(m: Any) -> Any:
    _, jvp_fn = m.func.linearize(lambda x: x.sin(), _t(m, S3))
    return jvp_fn(_t(m, P2))


@case("linearize_bad_tangent_count")
def _(m: Any) -> Any:
    _, jvp_fn = m.func.linearize(lambda x: x.sin(), _t(m, S3))
    return jvp_fn(_t(m, S3), _t(m, S3))


@case("vjp_has_aux")
def _(m: Any) -> Any:
    out, fn, aux = m.func.vjp(lambda x: (x.exp(), x.sum()), _t(m, S3), has_aux=True)
    return out, fn(_t(m, S3))[0], aux


@case("vjp_has_aux_dict")
def _(m: Any) -> Any:
    out, fn, aux = m.func.vjp(lambda x: (x.exp(), {"a": x.cos()}), _t(m, S3), has_aux=True)
    return out, fn(_t(m, S3))[0], aux["a"]


@case("vjp_has_aux_not_tuple")
def _(m: Any) -> Any:
    return m.func.vjp(lambda x: x.exp(), _t(m, S3), has_aux=True)


@case("vjp_has_aux_under_vmap")
def _(m: Any) -> Any:
    def f(x: Any) -> Any:
        out, fn, aux = m.func.vjp(lambda y: (y.sin(), y.max()), x, has_aux=True)
        return fn(out)[0], aux

    return m.func.vmap(f)(_t(m, V))


@case("vjp_has_aux_aux_detached")
def _(m: Any) -> Any:
    x = _t(m, S3).requires_grad_()
    _, _, aux = m.func.vjp(lambda y: (y.sin(), y * 2), x, has_aux=True)
    return m.tensor([aux.requires_grad])


@case("grad_and_value_argnums_tuple")
def _(m: Any) -> Any:
    (ga, gb), val = m.func.grad_and_value(lambda a, b: (a @ b).sin().sum(), argnums=(0, 1))(
        _t(m, P2), _t(m, S3)
    )
    return ga, gb, val


@case("grad_and_value_argnums_tuple_aux")
def _(m: Any) -> Any:
    f = m.func.grad_and_value(lambda a, b: ((a * b).sum(), a.max()), argnums=(1, 0), has_aux=True)
    (gb, ga), (val, aux) = f(_t(m, S3), _t(m, S3 * 3))
    return gb, ga, val, aux


@case("grad_and_value_argnums_single_tuple")
def _(m: Any) -> Any:
    g, v = m.func.grad_and_value(lambda a, b: (a * b).sum(), argnums=(1,))(_t(m, S3), _t(m, S3))
    assert isinstance(g, tuple)
    return (*g, v)


@case("grad_and_value_argnums_negative")
def _(m: Any) -> Any:
    g, v = m.func.grad_and_value(lambda a, b: (a * b.exp()).sum(), argnums=-1)(_t(m, S3), _t(m, S3))
    return g, v


@case("grad_and_value_argnums_dup")
def _(m: Any) -> Any:
    return m.func.grad_and_value(lambda a, b: (a * b).sum(), argnums=(0, 0))(_t(m, S3), _t(m, S3))


@case("grad_and_value_argnums_out_of_range")
def _(m: Any) -> Any:
    return m.func.grad_and_value(lambda a, b: (a * b).sum(), argnums=(0, 2))(_t(m, S3), _t(m, S3))


@case("grad_and_value_argnums_empty")
def _(m: Any) -> Any:
    return m.func.grad_and_value(lambda a, b: (a * b).sum(), argnums=())(_t(m, S3), _t(m, S3))


@case("grad_and_value_argnums_float")
def _(m: Any) -> Any:
    return m.func.grad_and_value(lambda a: a.sum(), argnums=0.0)(_t(m, S3))


@case("grad_and_value_under_vmap_argnums")
def _(m: Any) -> Any:
    f = m.func.grad_and_value(lambda w, x: (w @ x).tanh().sum(), argnums=(0, 1))
    (gw, gx), v = m.func.vmap(f, in_dims=(None, 0))(_t(m, W), _t(m, V))
    return gw, gx, v


# ----------------------------------------------------------------- jvp of in-place ops


for _name, _body in (
    ("mul_", lambda m, x: x.clone().mul_(x)),
    ("add_alpha", lambda m, x: x.clone().add_(x.sin(), alpha=3)),
    ("sin_", lambda m, x: x.clone().sin_()),
    ("exp_then_view", lambda m, x: x.clone().exp_()[1:]),
    ("view_write", lambda m, x: _view_write(m, x)),
    ("copy_", lambda m, x: m.zeros(3, dtype=m.float64).copy_(x * 2)),
    ("copy_into_constant_part", lambda m, x: _copy_part(m, x)),
    ("clamp_", lambda m, x: x.clone().clamp_(-0.5, 0.5)),
    ("pow_", lambda m, x: x.clone().pow_(3)),
    ("div_", lambda m, x: x.clone().div_(x.exp())),
    ("masked_fill_", lambda m, x: x.clone().masked_fill_(x > 0, 0.0)),
    ("index_add_", lambda m, x: m.zeros(4, dtype=m.float64).index_add_(0, m.tensor([0, 2, 0]), x)),
    ("setitem", lambda m, x: _setitem(m, x)),
    ("relu_", lambda m, x: _F(m).relu(x.clone(), inplace=True)),
    ("addcmul_", lambda m, x: x.clone().addcmul_(x, x, value=0.5)),
    ("lerp_", lambda m, x: x.clone().lerp_(x.cos(), 0.25)),
):

    @case(f"jvp_inplace_{_name}")
    def _(m: Any, body: Any = _body) -> Any:
        return m.func.jvp(lambda x: body(m, x), (_t(m, S3),), (_t(m, S3 * 0 + 1),))


def _view_write(m: Any, x: Any) -> Any:
    y = x.clone()
    y[1:].mul_(2)
    return y


def _copy_part(m: Any, x: Any) -> Any:
    z = m.zeros(5, dtype=m.float64)
    z[1:4].copy_(x)
    return z


def _setitem(m: Any, x: Any) -> Any:
    z = m.ones(4, dtype=m.float64)
    z[m.tensor([3, 0, 1])] = x
    return z


@case("jvp_inplace_under_vmap")
def _(m: Any) -> Any:
    def f(x: Any) -> Any:
        return m.func.jvp(lambda y: y.clone().mul_(y.sin()), (x,), (x.cos(),))

    return m.func.vmap(f)(_t(m, V))


@case("jvp_inplace_on_input_refused")
def _(m: Any) -> Any:
    return m.func.jvp(lambda x: x.mul_(2), (_t(m, S3),), (_t(m, S3),))
