"""``cr.autograd.functional`` against ``torch.autograd.functional`` in float64: vjp, jvp,
jacobian (reverse, vectorize, forward-mode), hessian, vhp and hvp on a table of functions
(scalar/vector/matrix/tuple inputs and outputs), strict mode, create_graph followed by a
further backward, and the argument errors (same type and message as PyTorch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

AF_CR = cr.autograd.functional
AF_TH = torch.autograd.functional
RNG = np.random.default_rng(7)


def _f_scalar_scalar(lib: Any) -> Callable:
    return lambda x: (x**3).sin()


def _f_vec_vec(lib: Any) -> Callable:
    return lambda x: x.tanh() * x.sum()


def _f_mat_vec(lib: Any) -> Callable:
    return lambda x: (x @ x.T).sum(1).exp()


def _f_two_in_tuple_out(lib: Any) -> Callable:
    return lambda a, b: (a * b.sum(), (a**2).sum() * b.exp())


def _f_vec_scalar(lib: Any) -> Callable:
    return lambda x: (x.sin() * x.sum()).sum()


def _f_two_in_scalar(lib: Any) -> Callable:
    return lambda a, b: ((a**2).sum() * b.prod().exp()).reshape(())


# name -> (function factory, input shapes; a list means a tuple of inputs)
GENERAL = {
    "scalar->scalar": (_f_scalar_scalar, ()),
    "vector->vector": (_f_vec_vec, (3,)),
    "matrix->vector": (_f_mat_vec, (2, 3)),
    "two inputs->tuple": (_f_two_in_tuple_out, [(3,), (2,)]),
    "one-tuple input": (_f_vec_vec, [(3,)]),
}
SCALAR = {
    "vector->scalar": (_f_vec_scalar, (3,)),
    "two inputs->scalar": (_f_two_in_scalar, [(3,), (2,)]),
    "one-tuple input": (_f_vec_scalar, [(4,)]),
}


def _draw(shapes: Any) -> Any:
    if isinstance(shapes, list):
        return tuple(RNG.standard_normal(s) * 0.5 for s in shapes)
    return RNG.standard_normal(shapes) * 0.5


def _wrap(lib: Any, arrays: Any, requires_grad: bool = False) -> Any:
    if isinstance(arrays, tuple):
        return tuple(_wrap(lib, a, requires_grad) for a in arrays)
    return lib.tensor(arrays, dtype=lib.float64, requires_grad=requires_grad)


def _close(got: Any, want: Any) -> None:
    """Same nesting (tuple, list or Tensor at every level) and the same float64 values."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            _close(g, w)
        return
    assert isinstance(got, cr.Tensor) and tuple(got.shape) == tuple(want.shape), (got, want)
    assert got.dtype == cr.float64
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def _like_outputs(arrays_fn: Callable, shapes_of: Any) -> Any:
    if isinstance(shapes_of, tuple):
        return tuple(arrays_fn(tuple(o.shape)) for o in shapes_of)
    return arrays_fn(tuple(shapes_of.shape))


def _both(call: Callable) -> None:
    """``call(lib, AF)`` must give the same results with chainrule and torch."""
    _close(call(cr, AF_CR), call(torch, AF_TH))


@pytest.mark.parametrize("name", list(GENERAL))
def test_vjp_jvp_jacobian_match_torch(name: str) -> None:
    factory, shapes = GENERAL[name]
    x = _draw(shapes)
    out_t = factory(torch)(*_wrap(torch, x if isinstance(x, tuple) else (x,)))
    v_out = _like_outputs(RNG.standard_normal, out_t)
    v_in = _draw(shapes)
    _both(lambda lib, af: af.vjp(factory(lib), _wrap(lib, x), _wrap(lib, v_out)))
    _both(lambda lib, af: af.jvp(factory(lib), _wrap(lib, x), _wrap(lib, v_in)))
    _both(lambda lib, af: af.jacobian(factory(lib), _wrap(lib, x)))
    _both(lambda lib, af: af.jacobian(factory(lib), _wrap(lib, x), vectorize=True))
    _both(
        lambda lib, af: af.jacobian(
            factory(lib), _wrap(lib, x), vectorize=True, strategy="forward-mode"
        )
    )


@pytest.mark.parametrize("name", list(SCALAR))
def test_hessian_vhp_hvp_match_torch(name: str) -> None:
    factory, shapes = SCALAR[name]
    x, v = _draw(shapes), _draw(shapes)
    _both(lambda lib, af: af.hessian(factory(lib), _wrap(lib, x)))
    _both(lambda lib, af: af.hessian(factory(lib), _wrap(lib, x), vectorize=True))
    _both(
        lambda lib, af: af.hessian(
            factory(lib), _wrap(lib, x), vectorize=True, outer_jacobian_strategy="forward-mode"
        )
    )
    _both(lambda lib, af: af.vhp(factory(lib), _wrap(lib, x), _wrap(lib, v)))
    _both(lambda lib, af: af.hvp(factory(lib), _wrap(lib, x), _wrap(lib, v)))
    _both(lambda lib, af: af.vjp(factory(lib), _wrap(lib, x)))  # v=None: one-element output


def test_v_none_for_one_element_input() -> None:
    x = np.array([0.4])
    _both(lambda lib, af: af.jvp(lambda a: a.exp() * 3, _wrap(lib, x)))
    _both(lambda lib, af: af.hvp(lambda a: (a**4).sum(), _wrap(lib, x)))
    _both(lambda lib, af: af.vhp(lambda a: (a**4).sum(), _wrap(lib, x)))


def _independent(lib: Any) -> Callable:
    """Output 1 is a constant, and no output depends on input 1."""
    return lambda a, b: (a.sin() * 2, lib.ones(2, dtype=lib.float64))


def _unused_second(lib: Any) -> Callable:
    return lambda a, b: (a**3).sum()


def _linear(lib: Any) -> Callable:
    return lambda a: a * 2


def _linear_scalar(lib: Any) -> Callable:
    return lambda a: a.sum() * 3


X3, Y2 = np.array([0.3, -0.7, 1.1]), np.array([0.5, -1.5])


def _same_error(call: Callable) -> None:
    """``call(lib, AF)`` raises the same exception type and message in both libraries."""
    with pytest.raises(Exception) as want:
        call(torch, AF_TH)
    with pytest.raises(want.type) as got:
        call(cr, AF_CR)
    assert str(got.value) == str(want.value)


STRICT_CASES = {
    "vjp": lambda lib, af, s: af.vjp(
        _independent(lib), _wrap(lib, (X3, Y2)), _wrap(lib, (X3, Y2)), strict=s
    ),
    "jvp": lambda lib, af, s: af.jvp(
        _independent(lib), _wrap(lib, (X3, Y2)), _wrap(lib, (X3, Y2)), strict=s
    ),
    "jvp unused input": lambda lib, af, s: af.jvp(
        lambda a, b: a.sin(), _wrap(lib, (X3, Y2)), _wrap(lib, (X3, Y2)), strict=s
    ),
    "jacobian": lambda lib, af, s: af.jacobian(
        lambda a, b: (a.sin(), b * a.sum(), a.cos()), _wrap(lib, (X3, Y2)), strict=s
    ),
    "jacobian constant output": lambda lib, af, s: af.jacobian(
        _independent(lib), _wrap(lib, (X3, Y2)), strict=s
    ),
    "hessian": lambda lib, af, s: af.hessian(_unused_second(lib), _wrap(lib, (X3, Y2)), strict=s),
    "hessian linear": lambda lib, af, s: af.hessian(_linear_scalar(lib), _wrap(lib, X3), strict=s),
    "vhp": lambda lib, af, s: af.vhp(
        _unused_second(lib), _wrap(lib, (X3, Y2)), _wrap(lib, (X3, Y2)), strict=s
    ),
    "vhp linear": lambda lib, af, s: af.vhp(
        _linear_scalar(lib), _wrap(lib, X3), _wrap(lib, X3), strict=s
    ),
    "hvp": lambda lib, af, s: af.hvp(
        _unused_second(lib), _wrap(lib, (X3, Y2)), _wrap(lib, (X3, Y2)), strict=s
    ),
    "hvp linear": lambda lib, af, s: af.hvp(
        _linear_scalar(lib), _wrap(lib, X3), _wrap(lib, X3), strict=s
    ),
    "vjp linear, create_graph": lambda lib, af, s: af.vjp(
        _linear(lib), _wrap(lib, X3), _wrap(lib, X3), strict=s, create_graph=True
    ),
    "jvp linear, create_graph": lambda lib, af, s: af.jvp(
        _linear(lib), _wrap(lib, X3), _wrap(lib, X3), strict=s, create_graph=True
    ),
}


@pytest.mark.parametrize("name", list(STRICT_CASES))
def test_strict_raises_like_torch_and_non_strict_gives_zeros(name: str) -> None:
    call = STRICT_CASES[name]
    _same_error(lambda lib, af: call(lib, af, True))
    _both(lambda lib, af: call(lib, af, False))


def test_strict_passes_where_every_output_depends_on_every_input() -> None:
    x = (X3, Y2)
    _both(lambda lib, af: af.jacobian(_f_two_in_tuple_out(lib), _wrap(lib, x), strict=True))
    _both(lambda lib, af: af.hessian(_f_two_in_scalar(lib), _wrap(lib, x), strict=True))


CREATE_GRAPH_CASES = {
    "vjp": lambda lib, af, x, cg: af.vjp(_f_vec_vec(lib), x, x.detach() * 0.5, create_graph=cg),
    "jvp": lambda lib, af, x, cg: af.jvp(_f_vec_vec(lib), x, x.detach() * 0.5, create_graph=cg),
    "jacobian": lambda lib, af, x, cg: af.jacobian(_f_vec_vec(lib), x, create_graph=cg),
    "hessian": lambda lib, af, x, cg: af.hessian(_f_vec_scalar(lib), x, create_graph=cg),
    "vhp": lambda lib, af, x, cg: af.vhp(_f_vec_scalar(lib), x, x.detach(), create_graph=cg),
    "hvp": lambda lib, af, x, cg: af.hvp(_f_vec_scalar(lib), x, x.detach(), create_graph=cg),
}


def _flat(res: Any) -> list:
    return [t for r in res for t in _flat(r)] if isinstance(res, tuple) else [res]


@pytest.mark.parametrize("name", list(CREATE_GRAPH_CASES))
def test_create_graph_results_differentiate_further_like_torch(name: str) -> None:
    call = CREATE_GRAPH_CASES[name]
    grads, values = [], []
    for lib, af in ((cr, AF_CR), (torch, AF_TH)):
        x = _wrap(lib, X3, requires_grad=True)
        plain = _flat(call(lib, af, x, False))
        assert not any(t.requires_grad for t in plain)
        res = _flat(call(lib, af, x, True))
        assert all(t.requires_grad for t in res)
        total = sum(((t**2).sum() for t in res), lib.zeros((), dtype=lib.float64))
        total.backward()
        grads.append(x.grad.numpy())
        values.append(np.concatenate([t.detach().numpy().ravel() for t in res]))
    np.testing.assert_allclose(values[0], values[1], rtol=1e-10)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


def test_third_derivative_through_create_graph_hessian_and_no_grad() -> None:
    d = np.array([1.0, 0.5, -0.5])
    outs = []
    for lib, af in ((cr, AF_CR), (torch, AF_TH)):
        x = _wrap(lib, X3, requires_grad=True)
        h = af.hessian(lambda a: (a.exp() * a.sum()).sum(), x, create_graph=True)
        dd = lib.tensor(d, dtype=lib.float64)
        (g3,) = lib.autograd.grad(dd @ h @ dd, x)
        with lib.no_grad():  # the functions record their own graph regardless
            jac = af.jacobian(lambda a: a**3, x.detach())
            fwd = af.hessian(
                lambda a: (a**3).sum() * a.sum(),
                x.detach(),
                vectorize=True,
                outer_jacobian_strategy="forward-mode",
            )
        outs.append((g3.numpy(), jac.numpy(), fwd.detach().numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-10)


ERROR_CASES = {
    "inputs list": lambda lib, af: af.jacobian(lambda a: a * 2, [_wrap(lib, X3)]),
    "inputs float": lambda lib, af: af.vjp(lambda a: a * 2, 3.0),
    "inputs tuple entry": lambda lib, af: af.hessian(lambda a, b: a.sum(), (_wrap(lib, X3), 1.0)),
    "output float": lambda lib, af: af.jacobian(lambda a: 3.0, _wrap(lib, X3)),
    "output list": lambda lib, af: af.jvp(lambda a: [a], _wrap(lib, X3), _wrap(lib, X3)),
    "hvp output float": lambda lib, af: af.hvp(lambda a: 3.0, _wrap(lib, X3), _wrap(lib, X3)),
    "v list": lambda lib, af: af.vjp(lambda a: a * 2, _wrap(lib, X3), [_wrap(lib, X3)]),
    "v float": lambda lib, af: af.vhp(lambda a: a.sum(), _wrap(lib, X3), 1.0),
    "vjp v None": lambda lib, af: af.vjp(lambda a: a * 2, _wrap(lib, X3)),
    "jvp v None": lambda lib, af: af.jvp(lambda a: a * 2, _wrap(lib, X3)),
    "hvp v None": lambda lib, af: af.hvp(lambda a: (a**3).sum(), _wrap(lib, X3)),
    "v shape": lambda lib, af: af.vjp(lambda a: a * 2, _wrap(lib, X3), _wrap(lib, Y2)),
    "v count": lambda lib, af: af.vjp(lambda a: a * 2, _wrap(lib, X3), _wrap(lib, (X3, X3))),
    "tuple v count": lambda lib, af: af.jvp(
        lambda a, b: a * b.sum(), _wrap(lib, (X3, Y2)), _wrap(lib, X3)
    ),
    "tuple v shape": lambda lib, af: af.jvp(
        lambda a, b: a * b.sum(), _wrap(lib, (X3, Y2)), _wrap(lib, (X3, X3))
    ),
    "hvp v shape": lambda lib, af: af.hvp(lambda a: (a**3).sum(), _wrap(lib, X3), _wrap(lib, Y2)),
    "hessian non-scalar": lambda lib, af: af.hessian(lambda a: a * 2, _wrap(lib, X3)),
    "hessian tuple output": lambda lib, af: af.hessian(lambda a: (a.sum(),), _wrap(lib, X3)),
    "vhp non-scalar": lambda lib, af: af.vhp(lambda a: a * 2, _wrap(lib, X3), _wrap(lib, X3)),
    "hvp tuple output": lambda lib, af: af.hvp(
        lambda a: (a.sum(), a.sum()), _wrap(lib, X3), _wrap(lib, X3)
    ),
    "integer input": lambda lib, af: af.jacobian(lambda a: a * 2, lib.arange(3)),
    "bad strategy": lambda lib, af: af.jacobian(lambda a: a, _wrap(lib, X3), strategy="x"),
    "bad outer strategy": lambda lib, af: af.hessian(
        lambda a: a.sum(), _wrap(lib, X3), outer_jacobian_strategy="x"
    ),
    "forward-mode without vectorize": lambda lib, af: af.jacobian(
        lambda a: a, _wrap(lib, X3), strategy="forward-mode"
    ),
    "hessian forward-mode without vectorize": lambda lib, af: af.hessian(
        lambda a: (a**3).sum(), _wrap(lib, X3), outer_jacobian_strategy="forward-mode"
    ),
    "forward-mode create_graph": lambda lib, af: af.jacobian(
        lambda a: a, _wrap(lib, X3), vectorize=True, strategy="forward-mode", create_graph=True
    ),
    "forward-mode strict": lambda lib, af: af.jacobian(
        lambda a: a, _wrap(lib, X3), vectorize=True, strategy="forward-mode", strict=True
    ),
    "strict vectorize": lambda lib, af: af.jacobian(
        lambda a: a, _wrap(lib, X3), vectorize=True, strict=True
    ),
    "hessian strict vectorize": lambda lib, af: af.hessian(
        lambda a: (a**3).sum(), _wrap(lib, X3), vectorize=True, strict=True
    ),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_match_torch(name: str) -> None:
    _same_error(ERROR_CASES[name])


def test_func_hessian_is_the_functorch_transform() -> None:
    """``cr.func.hessian(f)`` (a function) is unchanged and agrees with the tensor API."""
    f = _f_vec_scalar(cr)
    x = _wrap(cr, X3)
    _close(cr.func.hessian(f)(x), AF_TH.hessian(_f_vec_scalar(torch), _wrap(torch, X3)))
    _close(AF_CR.hessian(f, x), cr.func.hessian(f)(x))
