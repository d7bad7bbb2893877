"""Gaps found by the session-25 (batch c) drop-in programs (``deeponet_operator``,
``lagrangian_nn``, ``impala_vtrace``, ``dlrm_interaction``, ``autoformer_autocorrelation``),
each checked against PyTorch.

- ``print(model)`` of a ``ParameterList``/``ParameterDict`` with one entry (DeepXDE's
  ``self.b = ParameterList([Parameter(torch.tensor(0.0))])``): PyTorch prints a one-line
  ``extra_repr`` inline (``ParameterList(  (0): Parameter containing: [...])``); chainrule
  always broke the line. ``Module.__repr__`` now lays out ``extra_repr`` lines as PyTorch's does
  (also a multi-line ``extra_repr``, with or without children).
- ``torch.func`` transforms nested over different arguments (the Lagrangian network's mixed
  partial ``jacrev(jacrev(L, argnums=2), argnums=1)``, ``grad(grad(f, argnums=1))``) returned
  zeros or raised: the inner transform recorded no graph because its own argument did not
  require grad. A transform now stays differentiable whenever ``f`` reads a tensor of the
  autograd around it (another argument, a closure, a module's parameter), as torch.func's
  compose with regular autograd.
- ``grad(lambda t: (t * y).sum())(y)`` with ``y`` requiring grad differentiated both uses of
  ``y`` (perturbation confusion): the transform now differentiates only its argument's use.
- ``torch.func.grad``/``vjp`` under ``torch.no_grad()`` raised; they now work, their results
  requiring no grad, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _reprs(build: Any) -> tuple[str, str]:
    return repr(build(chainrule)), repr(build(torch))


@pytest.mark.parametrize(
    "build",
    [
        lambda m: m.nn.ParameterList([m.nn.Parameter(m.zeros(()))]),
        lambda m: m.nn.ParameterDict({"a": m.nn.Parameter(m.zeros(2))}),
        lambda m: m.nn.Sequential(m.nn.ParameterList([m.nn.Parameter(m.zeros(()))])),
        lambda m: m.nn.ParameterList([m.nn.Parameter(m.zeros(2)), m.nn.Parameter(m.ones(3))]),
        lambda m: m.nn.ParameterList([m.nn.Linear(1, 1)]),
        lambda m: m.nn.ParameterList(),
    ],
    ids=["list-one", "dict-one", "nested-one", "list-two", "list-module", "empty"],
)
def test_parameter_container_repr_matches_torch(build: Any) -> None:
    got, want = _reprs(build)
    assert got == want


@pytest.mark.parametrize("with_child", [False, True])
@pytest.mark.parametrize("extra", ["a=1", "a=1\nb=2", ""])
def test_module_repr_extra_lines_match_torch(extra: str, with_child: bool) -> None:
    def build(m: Any) -> Any:
        class Block(m.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                if with_child:
                    self.lin = m.nn.Linear(2, 3)

            def extra_repr(self) -> str:
                return extra

        return m.nn.Sequential(Block())

    got, want = _reprs(build)
    assert got == want


def _f(x: Any, y: Any) -> Any:
    return (x.sin() * y.exp()).sum() + (x**2 * y).sum() + (x * y).prod()


X, Y = np.array([0.1, 0.2, -0.3]), np.array([0.3, 0.4, 0.5])


def _same(case: Any) -> None:
    """``case(framework)`` returns a list of results; chainrule's must equal torch's."""
    for a, b in zip(case(chainrule), case(torch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_nested_transforms_over_different_arguments_match_torch() -> None:
    def case(m: Any) -> list:
        x, y = m.tensor(X), m.tensor(Y)
        jj = m.func.jacrev(m.func.jacrev(_f, argnums=1), argnums=0)(x, y)
        jg = m.func.jacrev(m.func.grad(_f, argnums=1), argnums=0)(x, y)
        gg = m.func.grad(lambda a, b: m.func.grad(_f, argnums=1)(a, b).sum(), argnums=0)(x, y)
        closure = m.func.grad(lambda a: m.func.grad(lambda b: _f(a, b))(y).sum())(x)
        mixed = m.func.hessian(_f, argnums=(0, 1))(x, y)[1][0]
        xs, ys = m.stack([x, 2 * x]), m.stack([y, y / 2])
        vm = m.func.vmap(m.func.jacrev(m.func.jacrev(_f, argnums=1), argnums=0))(xs, ys)
        out: list = []
        for t in (jj, jg, gg, closure, mixed, vm):
            out += [t.detach().numpy(), t.requires_grad]
        return out

    _same(case)


def test_transform_results_compose_with_the_autograd_around_like_torch() -> None:
    def case(m: Any) -> list:
        w = m.tensor([[0.5, -1.0, 2.0]], dtype=m.float64, requires_grad=True)
        y = m.tensor(Y, requires_grad=True)
        x = m.tensor(X)
        # a captured tensor and a module-like weight: the result requires grad
        g = m.func.grad(lambda t: ((t @ w.T) ** 2).sum() + (t * y).sin().sum())(x)
        gw, gy = m.autograd.grad((g**2).sum(), (w, y))
        o, fn = m.func.vjp(lambda t: (t * y).sin(), x)
        (v,) = fn(m.ones(3))
        j = m.func.jacrev(lambda t: (t * y).cos())(x)
        return [
            g.detach().numpy(),
            gw.numpy(),
            gy.numpy(),
            g.requires_grad,
            o.requires_grad,
            v.requires_grad,
            j.requires_grad,
            j.detach().numpy(),
        ]

    _same(case)


def test_transform_of_a_tensor_also_captured_differentiates_only_the_argument() -> None:
    def case(m: Any) -> list:
        y = m.tensor(Y, requires_grad=True)
        g = m.func.grad(lambda t: (t * y).sin().sum())(y)
        (gy,) = m.autograd.grad(g.sum(), y)
        (v,) = m.func.vjp(lambda t: t * y**2, y)[1](m.ones(3))
        j = m.func.jacrev(lambda t: (t * y).exp())(y)
        return [g.detach().numpy(), gy.numpy(), v.detach().numpy(), j.detach().numpy()]

    _same(case)


def test_transforms_under_no_grad_match_torch() -> None:
    def case(m: Any) -> list:
        y = m.tensor(Y, requires_grad=True)
        x = m.tensor(X)
        with m.no_grad():
            g = m.func.grad(lambda t: (t * y).sin().sum())(x)
            g2 = m.func.grad(lambda t: (t * y).sin().sum())(y)
            o, fn = m.func.vjp(lambda t: (t * y).sin(), x)
            (v,) = fn(m.ones(3))
            gg = m.func.grad(m.func.grad(lambda t: t.sin()))(m.tensor(0.5))
        out: list = []
        for t in (g, g2, o, v, gg):
            out += [t.numpy(), t.requires_grad]
        return out

    _same(case)
