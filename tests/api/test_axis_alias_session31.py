"""NumPy's ``axis=`` alias (and ``keepdims=``) where PyTorch takes it without ``out=``
(``keywords="axis"`` in ``ops/binding.py``), ``norm``'s out-only keywords, and the foreach
argument refusals of session 31: each call on torch 2.13 and on chainrule, values for the
accepted calls, exception types for the refused ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _x(L):
    return L.tensor(np.arange(24.0).reshape(2, 3, 4) % 5)


def _pair(L):
    a = L.tensor(np.arange(6.0).reshape(2, 3))
    return a, a.flip(1) + 1


def _src(L):
    return L.tensor(-np.ones((2, 3, 2)))


def _empty(L):
    return L.empty(0)


CASES = {
    # accepted: function and method, with other arguments around the alias
    "unbind": lambda L: L.unbind(_x(L), axis=2),
    "x.unbind": lambda L: _x(L).unbind(axis=1),
    "chunk": lambda L: L.chunk(_x(L), 2, axis=1),
    "chunk_kw": lambda L: L.chunk(_x(L), chunks=2, axis=2),
    "x.chunk": lambda L: _x(L).chunk(3, axis=2),
    "tensor_split": lambda L: L.tensor_split(_x(L), 2, axis=2),
    "tensor_split_list": lambda L: L.tensor_split(_x(L), [1, 2], axis=2),
    "tensor_split_sections": lambda L: L.tensor_split(_x(L), sections=3, axis=1),
    "x.tensor_split": lambda L: _x(L).tensor_split(2, axis=0),
    "argsort": lambda L: L.argsort(_x(L), axis=1),
    "argsort_desc_stable": lambda L: L.argsort(_x(L), axis=2, descending=True, stable=True),
    "x.argsort": lambda L: _x(L).argsort(axis=0, descending=True),
    "count_nonzero": lambda L: L.count_nonzero(_x(L), axis=2),
    "count_nonzero_tuple": lambda L: L.count_nonzero(_x(L), axis=(0, 1)),
    "x.count_nonzero": lambda L: _x(L).count_nonzero(axis=1),
    "var_mean": lambda L: L.var_mean(_x(L), axis=1),
    "var_mean_keepdims": lambda L: L.var_mean(_x(L), axis=(0, 2), keepdims=True),
    "var_mean_correction": lambda L: L.var_mean(_x(L), axis=1, correction=0),
    "std_mean": lambda L: L.std_mean(_x(L), axis=2, unbiased=False),
    "std_mean_keepdim": lambda L: L.std_mean(_x(L), axis=1, keepdim=True),
    "trapezoid": lambda L: L.trapezoid(_x(L), axis=1),
    "trapezoid_x": lambda L: L.trapezoid(_x(L), L.tensor([0.0, 1.0, 3.0]), axis=1),
    "trapezoid_dx": lambda L: L.trapezoid(_x(L), dx=2.0, axis=0),
    "trapz": lambda L: L.trapz(_x(L), axis=1),
    "cumulative_trapezoid": lambda L: L.cumulative_trapezoid(_x(L), axis=2),
    "cumulative_trapezoid_dx": lambda L: L.cumulative_trapezoid(_x(L), dx=0.5, axis=1),
    "cross": lambda L: L.cross(*_pair(L), axis=1),
    "x.cross": lambda L: _pair(L)[0].cross(_pair(L)[1], axis=1),
    "cross_out": lambda L: L.cross(*_pair(L), axis=1, out=_empty(L)),
    "slice_scatter": lambda L: L.slice_scatter(_x(L), _src(L), axis=2, start=0, end=2),
    "slice_scatter_step": lambda L: L.slice_scatter(_x(L), _src(L), axis=2, start=0, step=2),
    "x.slice_scatter": lambda L: _x(L).slice_scatter(_src(L), axis=2, start=1, end=3),
    "norm_dim": lambda L: L.norm(_x(L), dim=1),
    "norm_out": lambda L: L.norm(_x(L), dim=1, out=_empty(L)),
    "x.norm_dim": lambda L: _x(L).norm(p=1, dim=1),
    "sum_axis_out": lambda L: L.sum(_x(L), axis=1, out=_empty(L)),  # unchanged: all three
    # refused: out= where PyTorch refuses it, both names at once, keepdims where no keepdim
    "unbind_out": lambda L: L.unbind(_x(L), axis=0, out=_empty(L)),
    "unbind_both": lambda L: L.unbind(_x(L), dim=0, axis=0),
    "unbind_keepdims": lambda L: L.unbind(_x(L), axis=0, keepdims=True),
    "unbind_positional_and_axis": lambda L: L.unbind(_x(L), 1, axis=1),
    "unbind_none": lambda L: L.unbind(_x(L), axis=None),
    "chunk_out": lambda L: L.chunk(_x(L), 2, axis=1, out=_empty(L)),
    "chunk_both": lambda L: L.chunk(_x(L), 2, dim=1, axis=1),
    "chunk_keepdims": lambda L: L.chunk(_x(L), 2, axis=1, keepdims=True),
    "tensor_split_out": lambda L: L.tensor_split(_x(L), 2, axis=2, out=_empty(L)),
    "tensor_split_dim_out": lambda L: L.tensor_split(_x(L), 2, dim=2, out=_empty(L)),
    "tensor_split_both": lambda L: L.tensor_split(_x(L), 2, dim=2, axis=2),
    "argsort_out": lambda L: L.argsort(_x(L), axis=1, out=_empty(L)),
    "argsort_dim_out": lambda L: L.argsort(_x(L), dim=1, out=_empty(L)),
    "argsort_keepdims": lambda L: L.argsort(_x(L), axis=1, keepdims=True),
    "count_nonzero_out": lambda L: L.count_nonzero(_x(L), axis=1, out=_empty(L)),
    "count_nonzero_dim_out": lambda L: L.count_nonzero(_x(L), dim=1, out=_empty(L)),
    "count_nonzero_both": lambda L: L.count_nonzero(_x(L), dim=1, axis=1),
    "count_nonzero_keepdims": lambda L: L.count_nonzero(_x(L), axis=1, keepdims=True),
    "x.count_nonzero_out": lambda L: _x(L).count_nonzero(dim=1, out=_empty(L)),
    "var_mean_out": lambda L: L.var_mean(_x(L), axis=1, out=_empty(L)),
    "var_mean_dim_out": lambda L: L.var_mean(_x(L), dim=1, out=_empty(L)),
    "var_mean_both": lambda L: L.var_mean(_x(L), dim=1, axis=1),
    "std_mean_out": lambda L: L.std_mean(_x(L), axis=1, out=_empty(L)),
    "std_mean_both_keepdims": lambda L: L.std_mean(_x(L), axis=1, keepdim=True, keepdims=True),
    "trapezoid_out": lambda L: L.trapezoid(_x(L), axis=1, out=_empty(L)),
    "trapezoid_both": lambda L: L.trapezoid(_x(L), dim=1, axis=1),
    "trapezoid_keepdims": lambda L: L.trapezoid(_x(L), axis=1, keepdims=True),
    "cumulative_trapezoid_out": lambda L: L.cumulative_trapezoid(_x(L), axis=1, out=_empty(L)),
    "cumulative_trapezoid_both": lambda L: L.cumulative_trapezoid(_x(L), dim=1, axis=1),
    "cross_both": lambda L: L.cross(*_pair(L), dim=1, axis=1),
    "cross_keepdims": lambda L: L.cross(*_pair(L), axis=1, keepdims=True),
    "slice_scatter_both": lambda L: L.slice_scatter(_x(L), _src(L), dim=2, axis=2, end=2),
    "slice_scatter_keepdims": lambda L: L.slice_scatter(_x(L), _src(L), axis=2, keepdims=True),
    "x.slice_scatter_out": lambda L: _x(L).slice_scatter(_src(L), dim=2, end=2, out=_empty(L)),
    # norm: no NumPy aliases at all; out= on the function only
    "norm_axis": lambda L: L.norm(_x(L), axis=1),
    "norm_p_axis": lambda L: L.norm(_x(L), 2, axis=1),
    "norm_keepdims": lambda L: L.norm(_x(L), dim=1, keepdims=True),
    "x.norm_axis": lambda L: _x(L).norm(axis=1),
    "x.norm_p_axis": lambda L: _x(L).norm(2, axis=1),
    "x.norm_keepdims": lambda L: _x(L).norm(dim=1, keepdims=True),
    "x.norm_out": lambda L: _x(L).norm(dim=1, out=_empty(L)),
}


def _foreach_lists(L):
    return (
        [L.tensor([2.0, 2.0]), L.tensor([3.0, 3.0, 3.0])],
        [L.tensor([1.0, 4.0]), L.tensor([5.0, 6.0, 7.0])],
        [L.tensor([2.0, 8.0]), L.tensor([4.0, 1.0, 2.0])],
    )


def _foreach_cases():
    cases = {}
    for op in ("_foreach_addcmul", "_foreach_addcdiv", "_foreach_addcmul_", "_foreach_addcdiv_"):

        def call(L, op=op, *args, **kwargs):
            return getattr(L, op)(*_foreach_lists(L), *args, **kwargs)

        cases[f"{op}_scalars_kw_int"] = lambda L, call=call: call(L, scalars=2)
        cases[f"{op}_scalars_kw_float"] = lambda L, call=call: call(L, scalars=2.5)
        cases[f"{op}_scalars_kw_bool"] = lambda L, call=call: call(L, scalars=True)
        cases[f"{op}_scalars_kw_list"] = lambda L, call=call: call(L, scalars=[2, 3])
        cases[f"{op}_scalars_kw_tuple"] = lambda L, call=call: call(L, scalars=(2.0, 0.5))
        cases[f"{op}_scalars_kw_tensor"] = lambda L, call=call: call(
            L, scalars=L.tensor([2.0, 3.0])
        )
        cases[f"{op}_scalars_kw_0d"] = lambda L, call=call: call(L, scalars=L.tensor(2.0))
        cases[f"{op}_positional_int"] = lambda L, call=call: call(L, 2)
        cases[f"{op}_positional_list"] = lambda L, call=call: call(L, [2, 3])
        cases[f"{op}_positional_tensor"] = lambda L, call=call: call(L, L.tensor([2.0, 3.0]))
        cases[f"{op}_value"] = lambda L, call=call: call(L, value=2)
    for op in ("_foreach_lerp", "_foreach_lerp_"):

        def lerp(L, op=op, *args, **kwargs):
            return getattr(L, op)(*_foreach_lists(L)[:2], *args, **kwargs)

        cases[f"{op}_0d_requires_grad"] = lambda L, f=lerp: f(L, L.tensor(0.5, requires_grad=True))
        cases[f"{op}_kw_0d_requires_grad"] = lambda L, f=lerp: f(
            L, weight=L.tensor(0.5, requires_grad=True)
        )
        cases[f"{op}_0d_requires_grad_no_grad"] = lambda L, f=lerp: _no_grad(
            L, lambda: f(L, L.tensor(0.5, requires_grad=True))
        )
        cases[f"{op}_1d"] = lambda L, f=lerp: f(L, L.tensor([0.5]))
        cases[f"{op}_0d"] = lambda L, f=lerp: f(L, L.tensor(0.25))
        cases[f"{op}_kw_0d"] = lambda L, f=lerp: f(L, weight=L.tensor(0.25))
        cases[f"{op}_0d_int"] = lambda L, f=lerp: f(L, L.tensor(1))
        cases[f"{op}_number"] = lambda L, f=lerp: f(L, 0.5)
        cases[f"{op}_list"] = lambda L, f=lerp: f(L, weight=[0.5, 0.25])
        cases[f"{op}_tensor_list_requires_grad"] = lambda L, f=lerp: f(
            L, [L.tensor(0.5, requires_grad=True), L.tensor(0.25)]
        )
    return cases


def _no_grad(L, fn):
    with L.no_grad():
        return fn()


CASES.update(_foreach_cases())


def _run(L, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn(L)
        except Exception as err:  # noqa: BLE001 - the type is what is compared
            return "error", err


def _values(result):
    if isinstance(result, (tuple, list)):
        return [_values(r) for r in result]
    return result.detach().numpy()


def _assert_same(got, want, name):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), name
        for g, w in zip(got, want):
            _assert_same(g, w, name)
        return
    assert got.shape == want.shape, name
    assert str(got.dtype) == str(want.dtype), name
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    fn = CASES[name]
    t_kind, t_value = _run(torch, fn)
    c_kind, c_value = _run(cr, fn)
    if t_kind == "error":
        assert c_kind == "error", f"{name}: torch refuses ({t_value!r}), chainrule accepts"
        assert type(t_value) in type(c_value).__mro__ or isinstance(c_value, type(t_value)), (
            f"{name}: torch {type(t_value).__name__}, chainrule {type(c_value).__name__}: {c_value}"
        )
        return
    assert c_kind == "ok", f"{name}: torch accepts, chainrule raises {c_value!r}"
    _assert_same(_values(c_value), _values(t_value), name)


def test_out_is_written_where_torch_takes_it():
    a, b = _pair(cr)
    out = cr.empty(0, dtype=cr.float64)
    assert cr.cross(a, b, axis=1, out=out) is out
    out = cr.empty(0, dtype=cr.float64)
    assert cr.norm(_x(cr), dim=1, out=out) is out
    assert out.shape == (2, 4)


def test_method_alias_binding():
    # the method is the same wrapper as the function for the axis-only ops
    assert cr.Tensor.count_nonzero is cr.count_nonzero
    assert cr.Tensor.chunk is cr.chunk
    # Tensor.norm takes no out= and so is not chainrule.norm
    assert cr.Tensor.norm is not cr.norm
