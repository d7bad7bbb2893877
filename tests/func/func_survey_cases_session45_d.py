"""Session 45 survey cases (see ``func_survey_cases_session45``): in-place ops under ``vmap``
on batched and unbatched tensors, each op family's refusal in PyTorch's words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .func_survey_cases_session45 import V, X, _t, case

__all__: list[str] = []  # (the cases register into CASES)


# -------------------------------------------------------- vmap in-place: batched or not


for _name, _body, _dims in (
    ("batched_self_unbatched_other", lambda m, x, v: x.add_(v), (0, None)),
    ("batched_self_batched_other", lambda m, x, v: x.mul_(v), (0, 0)),
    ("unbatched_self_unbatched_other", lambda m, x, v: x.clone().sub_(v), (None, None)),
    ("clone_unbatched_then_add_batched", lambda m, x, v: x.clone().add_(v), (None, 0)),
    ("unbatched_self_batched_sub_", lambda m, x, v: x.sub_(v), (None, 0)),
    ("unbatched_self_batched_add_", lambda m, x, v: x.add_(v), (None, 0)),
    ("unbatched_self_batched_add_alpha", lambda m, x, v: x.add_(v, alpha=2), (None, 0)),
    ("unbatched_self_batched_iadd", lambda m, x, v: x.__iadd__(v), (None, 0)),
    ("unbatched_self_batched_lerp_", lambda m, x, v: x.lerp_(v, 0.5), (None, 0)),
    ("unbatched_self_batched_pow_", lambda m, x, v: x.pow_(v), (None, 0)),
    ("unbatched_self_batched_addcmul_", lambda m, x, v: x.addcmul_(v, v), (None, 0)),
    ("unbatched_self_batched_atan2_", lambda m, x, v: x.atan2_(v), (None, 0)),
    ("unbatched_self_batched_copysign_", lambda m, x, v: x.copysign_(v), (None, 0)),
    ("unbatched_self_batched_hypot_", lambda m, x, v: x.hypot_(v), (None, 0)),
    ("unbatched_self_batched_clamp_min_", lambda m, x, v: x.clamp_min_(v), (None, 0)),
    ("unbatched_self_batched_copy_", lambda m, x, v: x.copy_(v), (None, 0)),
    ("unbatched_self_batched_lt_", lambda m, x, v: x.lt_(v), (None, 0)),
    ("unbatched_self_batched_fmod_", lambda m, x, v: x.fmod_(v), (None, 0)),
    ("unbatched_self_batched_div_", lambda m, x, v: x.div_(v), (None, 0)),
    ("unbatched_self_batched_fill_", lambda m, x, v: x.fill_(v[0]), (None, 0)),
    ("unbatched_self_batched_masked_fill_", lambda m, x, v: x.masked_fill_(v > 0, 1.0), (None, 0)),
    (
        "unbatched_self_batched_index_add_",
        lambda m, x, v: x.index_add_(1, m.tensor([0, 1]), v[None, :2].expand(4, 2)),
        (None, 0),
    ),
    ("batched_self_in_dim_1", lambda m, x, v: x.mul_(v.sum()), (1, 0)),
    ("batched_self_returns_view_write", lambda m, x, v: x[0].add_(v), (0, 0)),
    ("unbatched_view_of_batched", lambda m, x, v: x.diagonal().add_(v[:4]), (0, 0)),
):

    @case(f"vmap_inplace_{_name}")
    def _(m: Any, body: Any = _body, dims: tuple = _dims) -> Any:
        x = _t(m, X if dims[0] == 0 else (np.moveaxis(X, 0, 1) if dims[0] == 1 else X[0]))
        v = _t(m, V if dims[1] == 0 else V[0])
        out = m.func.vmap(lambda a, b: body(m, a, b), in_dims=dims)(x, v)
        return out, x


@case("vmap_inplace_nested_lerp_")
def _(m: Any) -> Any:
    x = _t(m, X[0])
    inner = m.func.vmap(lambda a, b: a.lerp_(b, 0.5), in_dims=(None, 0))
    return m.func.vmap(inner, in_dims=(None, 0))(x, _t(m, np.stack([V, V])))


@case("vmap_inplace_grad_then_vmap_lerp_")
def _(m: Any) -> Any:
    x = _t(m, X[0])

    def f(c: Any) -> Any:
        return m.func.vmap(lambda b: x.clone().lerp_(b, 0.5))(c).sum()

    return m.func.grad(f)(_t(m, V))


@case("vmap_inplace_nested_add_")
def _(m: Any) -> Any:
    x = _t(m, X[0])
    inner = m.func.vmap(lambda a, b: a.add_(b), in_dims=(None, 0))
    return m.func.vmap(inner, in_dims=(None, 0))(x, _t(m, np.stack([V, V])))


@case("vmap_heaviside_values_unbatched")
def _(m: Any) -> Any:
    x = m.tensor(np.round(V) - 1)
    return m.func.vmap(lambda a: m.heaviside(a, m.tensor(V[0])))(x)


@case("vmap_heaviside_input_unbatched")
def _(m: Any) -> Any:
    return m.func.vmap(
        lambda v: m.heaviside(m.tensor([0.0, -1.0, 2.0, 0.0, 3.0], dtype=m.float64), v)
    )(_t(m, V))
