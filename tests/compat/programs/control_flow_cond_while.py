"""PyTorch's structured control flow, ``torch.cond`` and ``torch.while_loop``, as the "Control
Flow - Cond" docs page, the ``torch.export`` tutorial and the ``while_loop`` docstring write
them, run eagerly (outside ``torch.compile``), size-reduced and put in a training loop.

The idioms: the docs' ``DynamicShapeCondPredicate`` (``torch.cond(x.shape[0] > 4, true_fn,
false_fn, (x,))``, a Python-bool predicate) and ``DataDependentCondPredicate``
(``torch.cond(x.sum() > 4.0, true_fn, false_fn, (x,))``, a tensor predicate) with branches
``x.cos()`` / ``x.sin()``; a gated model whose ``forward`` defines ``true_fn``/``false_fn``
closing over ``self`` (two expert ``nn.Linear``s and a ``nn.Parameter`` scale read by one
branch only) and picks one per batch with ``torch.cond(h.mean() > 0, ...)``; the branches
return a tuple of two tensors and read two operands; a nested ``cond`` inside a branch; a
``cond`` on a one-element float tensor predicate and on a list of operands. Trained with
``SGD(momentum=0.9, weight_decay=...)``: PyTorch gives the parameters only the branch not
taken reads a zero gradient (not ``None``), so momentum and weight decay still move them.

``torch.while_loop``: the docstring's examples (``cond_fn(iter, x): return iter.sum() < 10``
with ``body_fn`` returning ``iter + 1, x.sin()``; an ``int`` counter ``2 * int_iter <
x.shape[0]``), a damped fixed-point iteration ``z = 0.5 z + 0.5 tanh(W z + y)`` in the
model's ``@torch.no_grad()`` ``refine`` method, a Newton square-root loop stopped by a
tolerance, and a gradient through an elementwise loop (``WhileLoopAutogradOpBackward``). The
fixed-point loop is not trained through: PyTorch 2.13's gradient of a ``while_loop`` whose
body adds a captured tensor to a matmul of the carry disagrees with the unrolled loop's (and
chainrule's). A loop that runs no step returns copies of its inputs. Around them, the errors
PyTorch raises for what it refuses: a predicate of two elements, operands not in a tuple,
branches returning different structures, a branch mutating its operand, a ``cond_fn``
returning a non-scalar.

Compared: the losses, gradient sums, the outputs of the docs' modules, the loop results and
which errors are raised (as 1.0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

D, H, STEPS, LOOP_STEPS = 4, 5, 6, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class GatedExperts(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Linear(D, H)
            self.expert_a = nn.Linear(H, H)
            self.expert_b = nn.Linear(H, H)
            self.scale_b = nn.Parameter(torch.ones(H))
            self.recur = nn.Linear(H, H, bias=False)
            self.head = nn.Linear(H, 1)

        def forward(self, x: Any) -> tuple[Any, Any]:
            h = torch.tanh(self.inp(x))

            def true_fn(h: Any, x: Any) -> tuple[Any, Any]:
                y = torch.relu(self.expert_a(h))
                return y, y.sum(-1)

            def false_fn(h: Any, x: Any) -> tuple[Any, Any]:
                y = torch.sigmoid(self.expert_b(h)) * self.scale_b
                # a nested cond inside a branch
                y = torch.cond(x.abs().max() > 1.5, lambda y: y * 0.5, lambda y: y + 0.1, (y,))
                return y, y.mean(-1)

            y, aux = torch.cond(h.mean() > 0, true_fn, false_fn, (h, x))

            return self.head(y).squeeze(-1), aux

        @torch.no_grad()
        def refine(self, x: Any) -> Any:
            """At evaluation, a fixed-point iteration z = 0.5 z + 0.5 tanh(W z + y) run
            LOOP_STEPS times by a while_loop."""
            y, _ = self(x)
            y = y.unsqueeze(-1).expand(-1, H).contiguous()

            def cond_fn(i: Any, z: Any) -> Any:
                return i < LOOP_STEPS

            def body_fn(i: Any, z: Any) -> tuple[Any, Any]:
                return i + 1, 0.5 * z + 0.5 * torch.tanh(self.recur(z) + y)

            _, z = torch.while_loop(cond_fn, body_fn, (torch.tensor(0), torch.zeros_like(y)))
            return z

    return GatedExperts()


def _docs_modules(torch_like: Any) -> list[Any]:
    torch = torch_like

    class DynamicShapeCondPredicate(torch.nn.Module):
        """
        A basic usage of cond based on dynamic shape predicate.
        """

        def __init__(self) -> None:
            super().__init__()

        def forward(self, x: Any) -> Any:
            def true_fn(x: Any) -> Any:
                return x.cos()

            def false_fn(x: Any) -> Any:
                return x.sin()

            return torch.cond(x.shape[0] > 4, true_fn, false_fn, (x,))

    class DataDependentCondPredicate(torch.nn.Module):
        """
        A basic usage of cond based on data dependent predicate.
        """

        def __init__(self) -> None:
            super().__init__()

        def forward(self, x: Any) -> Any:
            def true_fn(x: Any) -> Any:
                return x.cos()

            def false_fn(x: Any) -> Any:
                return x.sin()

            return torch.cond(x.sum() > 4.0, true_fn, false_fn, (x,))

    return [DynamicShapeCondPredicate(), DataDependentCondPredicate()]


def _raises(fn: Any, exc: type = RuntimeError) -> float:
    try:
        fn()
    except exc:
        return 1.0
    return 0.0


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(30)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    values: list[float] = []

    # batches whose gate flips (shifted inputs), so each branch is taken some steps
    batches = [
        (
            as_tensor(torch, rng.normal(size=(6, D)) + (1.0 if s % 2 else -1.0)),
            as_tensor(torch, rng.normal(size=6)),
        )
        for s in range(STEPS)
    ]
    for x, target in batches:
        optimizer.zero_grad()
        pred, aux = model(x)
        loss = torch.nn.functional.mse_loss(pred, target) + 0.01 * aux.pow(2).mean()
        loss.backward()
        values.append(loss.item())
        # parameters of the branch not taken have zero (not None) gradients
        values.append(float(sum(p.grad is None for p in model.parameters())))
        values.append(model.expert_b.weight.grad.abs().sum().item())
        values.append(model.scale_b.grad.abs().sum().item())
        values.append(float(model.recur.weight.grad is None))
        optimizer.step()
    values.append(model.scale_b.sum().item())
    values.append(model.expert_a.weight.sum().item())
    model.eval()
    values.append(model.refine(batches[0][0]).sum().item())
    values.append(model.refine(batches[1][0]).sum().item())

    # the docs' modules, on both sides of each predicate
    dyn, dep = _docs_modules(torch_like)
    for n in (3, 6):
        x = as_tensor(torch, rng.normal(size=(n, 2)))
        values.append(dyn(x).sum().item())
        values.append(dep(x).sum().item())
        values.append(dep(x + 2.0).sum().item())

    # predicates: one-element float tensor, Python bool, lists of operands; no operands
    a = as_tensor(torch, rng.normal(size=3))
    values.append(
        torch.cond(torch.tensor([1.0]), lambda t: t * 2, lambda t: t * 3, [a]).sum().item()
    )
    values.append(
        torch.cond(False, lambda t, u: t + u, lambda t, u: t - u, (a, a * 2)).sum().item()
    )
    values.append(torch.cond(a.sum() < 100, lambda: a.exp(), lambda: a.log1p()).sum().item())
    out = torch.cond(
        torch.tensor(True),
        lambda d: {"s": d["u"] + 1, "p": d["u"] * d["v"]},
        lambda d: {"s": d["u"] - 1, "p": d["u"] / d["v"]},
        ({"u": a, "v": a + 3},),
    )
    values.extend([out["s"].sum().item(), out["p"].sum().item()])

    # grad through a cond: operand unused by the taken branch gets zeros
    u = torch.ones(3, requires_grad=True)
    v = torch.ones(3, requires_grad=True)
    res = torch.cond(torch.tensor(True), lambda p, q: p * 3, lambda p, q: q * 4, (u, v))
    res.sum().backward()
    values.extend([u.grad.sum().item(), float(v.grad is not None), v.grad.abs().sum().item()])

    # the while_loop docstring's examples
    def cond_fn(iter: Any, x: Any) -> Any:  # noqa: A002 (the docstring's name)
        return iter.sum() < 10

    def body_fn(iter: Any, x: Any) -> tuple[Any, Any]:  # noqa: A002
        return iter + 1, x.sin()

    it, xs = torch.while_loop(
        cond_fn, body_fn, (torch.zeros(1), as_tensor(torch, rng.normal(size=(3, 4))))
    )
    values.extend([it.item(), xs.sum().item()])

    def int_cond_fn(int_iter: int, x: Any) -> Any:
        return 2 * int_iter < x.shape[0]

    def int_body_fn(int_iter: int, x: Any) -> tuple[int, Any]:
        return int_iter + 1, x + int_iter

    n_iter, xi = torch.while_loop(int_cond_fn, int_body_fn, (0, as_tensor(torch, np.ones((5, 2)))))
    values.extend([float(n_iter), xi.sum().item()])

    # Newton's square root until converged
    sq = as_tensor(torch, np.array([2.0, 9.0, 0.5]))

    def newton_cond(r: Any, k: Any) -> Any:
        return ((r * r - sq).abs().max() > 1e-10) & (k < 50)

    def newton_body(r: Any, k: Any) -> tuple[Any, Any]:
        return 0.5 * (r + sq / r), k + 1

    root, k = torch.while_loop(newton_cond, newton_body, (torch.ones(3), torch.tensor(0)))
    values.extend([root.sum().item(), k.item()])

    # a gradient through the loop (carried and captured tensors, elementwise)
    w = torch.tensor([0.7, -0.4], requires_grad=True)
    x0 = torch.tensor([0.3, 0.9], requires_grad=True)
    _, zw = torch.while_loop(
        lambda i, z: i < 3, lambda i, z: (i + 1, torch.tanh(z * w) + 0.1), (torch.tensor(0), x0)
    )
    zw.sum().backward()
    values.extend([zw.sum().item(), x0.grad.sum().item(), w.grad.sum().item()])
    values.append(float(type(zw.grad_fn).__name__ == "WhileLoopAutogradOpBackward"))

    # a loop that runs no step gives copies of its inputs
    c0 = as_tensor(torch, np.arange(3.0))
    (c1,) = torch.while_loop(lambda c: c.sum() < 0, lambda c: (c + 1,), (c0,))
    values.extend([c1.sum().item(), float(c1.data_ptr() != c0.data_ptr())])

    # what PyTorch refuses
    two = torch.tensor([True, False])
    values.append(_raises(lambda: torch.cond(two, lambda t: t + 1, lambda t: t - 1, (a,))))
    values.append(_raises(lambda: torch.cond(a.sum() > 0, lambda t: t + 1, lambda t: t - 1, a)))
    values.append(
        _raises(lambda: torch.cond(a.sum() > 0, lambda t: (t + 1, t), lambda t: t - 1, (a,)))
    )
    values.append(
        _raises(lambda: torch.cond(a.sum() > 0, lambda t: t.add_(1), lambda t: t - 1, (a.clone(),)))
    )
    values.append(_raises(lambda: torch.while_loop(lambda t: t < 3, lambda t: (t + 1,), (a,))))
    values.append(
        _raises(lambda: torch.while_loop(lambda t: t.sum() < 3, lambda t: (t.sum(),), (a,)))
    )
    return values
