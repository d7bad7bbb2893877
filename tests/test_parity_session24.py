"""PyTorch parity (session 24): hardsigmoid's second derivative, PolynomialLR with
``total_iters=0``, and ``numpy()`` / ``np.asarray`` of a tensor that requires grad. Each test
runs the same program on chainrule and on torch and compares what they do."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import chainrule as cr

POINTS = np.array([-4.0, -3.0, -1.0, 0.5, 2.0, 3.0, 3.5, np.nan])


def _error(fn):
    """``(type name, message)`` of what ``fn()`` raises, or None when it returns."""
    try:
        with _numpy_quiet():
            fn()
    except Exception as err:  # noqa: BLE001 - the type is what is compared
        return type(err).__name__, str(err)
    return None


@contextlib.contextmanager
def _numpy_quiet() -> Iterator[None]:
    """NumPy 2 warns about torch's ``__array__`` / ``__array_wrap__`` signatures (torch's,
    not chainrule's: chainrule's take NumPy 2's arguments)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*__array")
        yield


def _node(lib, t):
    node = t.grad_fn
    return type(node).__name__ if lib is torch else node.name()


# ------------------------------------------------------------------ hardsigmoid


def test_hardsigmoid_values_first_gradient_and_node_like_torch():
    got = {}
    for lib in (cr, torch):
        x = lib.tensor(POINTS, requires_grad=True)
        y = lib.nn.functional.hardsigmoid(x)
        (g,) = lib.autograd.grad(y.sum(), x)
        got[lib] = (y.detach().numpy(), g.numpy(), _node(lib, y), g.requires_grad)
    np.testing.assert_allclose(got[cr][0], got[torch][0], rtol=1e-15, equal_nan=True)
    np.testing.assert_allclose(got[cr][1], got[torch][1], rtol=1e-7)  # torch's float32 1/6
    assert got[cr][2:] == got[torch][2:] == ("HardsigmoidBackward0", False)


def test_hardsigmoid_second_derivative_raises_like_torch():
    got = {}
    for lib in (cr, torch):
        x = lib.tensor(POINTS, requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.hardsigmoid(x).sum(), x, create_graph=True)
        edges = [e[0] is None for e in g.grad_fn.next_functions]
        got[lib] = (
            g.requires_grad,
            edges,
            _error(lambda lib=lib, g=g, x=x: lib.autograd.grad(g.sum(), x)),
            _error(lambda g=g: g.sum().backward()),
        )
    assert got[cr] == got[torch]
    assert got[torch][2] == (
        "RuntimeError",
        "derivative for aten::hardsigmoid_backward is not implemented",
    )


def test_hardsigmoid_gradient_wrt_upstream_gradient_raises_like_torch():
    got = {}
    for lib in (cr, torch):
        x = lib.tensor(POINTS, requires_grad=True)
        go = lib.ones(len(POINTS), dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.hardsigmoid(x)
        (g,) = lib.autograd.grad(y, x, go, create_graph=True)
        got[lib] = (
            len(g.grad_fn.next_functions),
            _error(lambda lib=lib, g=g, go=go: lib.autograd.grad(g.sum(), go)),
        )
    assert got[cr] == got[torch]


@pytest.mark.parametrize("inplace", [False, True], ids=["module", "inplace"])
def test_hardsigmoid_module_and_inplace_second_derivative_like_torch(inplace):
    got = {}
    for lib in (cr, torch):
        x = lib.tensor(POINTS[:7], requires_grad=True)
        if inplace:
            y = lib.nn.functional.hardsigmoid(x * 1, inplace=True)
        else:
            y = lib.nn.Hardsigmoid()(x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        got[lib] = (
            g.detach().numpy(),
            _error(lambda lib=lib, g=g, x=x: lib.autograd.grad(g.sum(), x)),
        )
    np.testing.assert_allclose(got[cr][0], got[torch][0], rtol=1e-7)
    assert got[cr][1] == got[torch][1]


def test_hardsigmoid_function_transforms_like_torch():
    def f(lib):
        return lambda t: lib.nn.functional.hardsigmoid(t).sum()

    xs = {lib: lib.tensor(POINTS[:7]) for lib in (cr, torch)}
    for name in ("jacrev", "jacfwd"):  # second order through jacrev's backward: raises
        cases = {
            lib: _error(
                lambda lib=lib, name=name: getattr(lib.func, name)(lib.func.jacrev(f(lib)))(xs[lib])
            )
            for lib in (cr, torch)
        }
        assert cases[cr] == cases[torch] and cases[torch] is not None, name
    assert _error(lambda: cr.func.hessian(f(cr))(xs[cr])) == _error(
        lambda: torch.func.hessian(f(torch))(xs[torch])
    )
    first = [lib.func.jacfwd(lib.nn.functional.hardsigmoid)(xs[lib]) for lib in (cr, torch)]
    np.testing.assert_allclose(first[0].numpy(), first[1].numpy(), rtol=1e-7)
    batched = [
        lib.func.vmap(lib.func.grad(f(lib)))(xs[lib][None].repeat(2, 1)) for lib in (cr, torch)
    ]
    np.testing.assert_allclose(batched[0].numpy(), batched[1].numpy(), rtol=1e-7)


def test_hardswish_is_still_twice_differentiable_like_torch():
    got = []
    for lib in (cr, torch):
        x = lib.tensor(POINTS[:7], requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.hardswish(x).sum(), x, create_graph=True)
        got.append(lib.autograd.grad(g.sum(), x)[0].numpy())
    np.testing.assert_allclose(got[0], got[1], rtol=1e-7)


# ------------------------------------------------------------------ PolynomialLR


def _poly_run(lib, total_iters):
    p = lib.nn.Parameter(lib.ones(1))
    opt = lib.optim.SGD([p], lr=0.1)
    sched = lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=total_iters)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # step(epoch) is deprecated in both
        closed = _error(lambda: sched.step(1))
    sched.last_epoch = -1
    reset = _error(sched.step)
    return lrs, closed, reset, sched.get_last_lr()[0]


@pytest.mark.parametrize("total_iters", [0, 0.0, -1, 1.5, 2], ids=str)
def test_polynomial_lr_any_total_iters_like_torch(total_iters):
    c, t = _poly_run(cr, total_iters), _poly_run(torch, total_iters)
    np.testing.assert_allclose(c[0], t[0], rtol=1e-15)
    assert c[1:3] == t[1:3]
    np.testing.assert_allclose(c[3], t[3], rtol=1e-15)


def test_polynomial_lr_zero_total_iters_errors_only_in_closed_form():
    _, closed, reset, _ = _poly_run(torch, 0)
    assert closed[0] == reset[0] == "ZeroDivisionError"


# ------------------------------------------------------------------ numpy conversion

CONVERSIONS = {
    "numpy": lambda t: t.numpy(),
    "np.asarray": np.asarray,
    "np.array": np.array,
    "np.array_dtype": lambda t: np.array(t, dtype=np.float32),
    "np.asarray_copy": lambda t: np.asarray(t, copy=True),
    "np.exp": np.exp,
    "np.stack": lambda t: np.stack([t, t]),
    "__array__": lambda t: t.__array__(),
}


@pytest.mark.parametrize("convert", list(CONVERSIONS.values()), ids=list(CONVERSIONS))
def test_numpy_conversion_of_tensor_requiring_grad_raises_like_torch(convert):
    for nonleaf in (False, True):
        errors = []
        for lib in (cr, torch):
            t = lib.ones(3, requires_grad=True)
            errors.append(_error(lambda t=t, nonleaf=nonleaf: convert(t * 2 if nonleaf else t)))
        assert (
            errors[0]
            == errors[1]
            == (
                "RuntimeError",
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.",
            )
        )


@pytest.mark.parametrize("convert", list(CONVERSIONS.values()), ids=list(CONVERSIONS))
def test_numpy_conversion_works_detached_or_under_no_grad_like_torch(convert):
    got = []
    for lib in (cr, torch):
        t = lib.arange(3.0, requires_grad=True)
        with lib.no_grad(), _numpy_quiet():
            under_no_grad = np.array(convert(t))
            nonleaf = np.array(convert(t * 2))  # no graph under no_grad: converts
        with _numpy_quiet():
            got.append((under_no_grad, nonleaf, np.array(convert(t.detach()))))
    for a, b in zip(got[0], got[1]):
        np.testing.assert_array_equal(a, b)


def test_scalar_conversions_still_work_like_torch():
    for lib in (cr, torch):
        t = lib.arange(3.0, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns converting a grad tensor to a scalar
            assert float(t[1]) == 1.0 and np.float64(t[2]) == 2.0
        assert t.tolist() == [0.0, 1.0, 2.0]
