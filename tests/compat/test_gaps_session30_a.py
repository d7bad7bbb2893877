"""Gaps found by the session-30 (batch a) drop-in programs (``control_flow_cond_while``,
``optimizer_step_in_backward``, ``autograd_node_hooks``, ``func_autograd_function``,
``parametrizations_tutorial``, ``reproducibility_generators``), each checked against PyTorch.

- ``torch.cond`` and ``torch.while_loop`` were missing. They now run eagerly with PyTorch's
  semantics: a Python-bool predicate calls the branch; a one-element tensor predicate runs the
  chosen branch, checks the other (run with the random state put back) for the same pytree
  structure, dims and dtypes, refuses branches that mutate or return (a view of) an operand
  (``torch._dynamo.exc.UncapturedHigherOrderOpError``, also new), and hangs the result from a
  ``CondAutogradOpBackward`` node whose backward gives zeros (not ``None``) to what only the
  branch not taken read, as PyTorch's does. ``while_loop`` checks its condition (a bool or
  a 0-dim bool tensor), the body's outputs (count, shapes, dtypes, no aliasing), returns
  copies when no step runs, a tuple for a list of carried inputs, and its outputs hang from a
  ``WhileLoopAutogradOpBackward`` node (zero gradients for carried inputs the loss does not
  reach).
- A node hook (``grad_fn.register_hook(fn)``) received one gradient per internal input of
  chainrule's op (``x.pow(2)``'s ``PowBackward0`` gave two, the exponent's ``None``
  included) and had to return as many; it now gets one per input PyTorch's node lists, in
  ``next_functions``' order (``x.pow(2)``, ``2 ** x``, ``x.clamp(min=...)``: one).
"""

from __future__ import annotations

from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _uncaptured(m: Any) -> type:
    return m._dynamo.exc.UncapturedHigherOrderOpError


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_cond_with_a_python_bool_calls_the_branch(m: Any) -> None:
    a = m.tensor([1.0, 2.0, 3.0])
    assert m.cond(True, lambda t: t + 1, lambda t: t - 1, (a,)).tolist() == [2.0, 3.0, 4.0]
    assert m.cond(0, lambda t: t + 1, lambda t: t - 1, [a]).tolist() == [0.0, 1.0, 2.0]
    # no checks: returning the operand itself, or branches of different structure, pass
    assert m.cond(False, lambda t: t, lambda t: t, (a,)) is a
    assert len(m.cond(False, lambda t: t, lambda t: (t, t), (a,))) == 2
    with pytest.raises(TypeError):
        m.cond(True, 3, lambda t: t, (a,))


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_cond_with_a_tensor_predicate(m: Any) -> None:
    a = m.tensor([1.0, 2.0, 3.0], dtype=m.float64)
    out = m.cond(a.sum() > 4.0, lambda t: t.cos(), lambda t: t.sin(), (a,))
    assert m.allclose(out, a.cos())
    out = m.cond(m.tensor([0.0]), lambda t: t.cos(), lambda t: t.sin(), (a,))
    assert m.allclose(out, a.sin())
    assert m.cond(m.tensor(True), lambda: a * 2, lambda: a * 3).tolist() == [2.0, 4.0, 6.0]
    pair = m.cond(m.tensor(True), lambda t: (t + 1, t * 2), lambda t: (t - 1, t * 3), (a,))
    assert isinstance(pair, tuple) and pair[1].tolist() == [2.0, 4.0, 6.0]
    d = m.cond(
        m.tensor(False),
        lambda d: {"s": d["u"] + d["v"]},
        lambda d: {"s": d["u"] - d["v"]},
        ({"u": a, "v": a * 2},),
    )
    assert d["s"].tolist() == [-1.0, -2.0, -3.0]
    # the branches may return different sizes of the same dim, and equal ints
    assert m.cond(m.tensor(True), lambda t: t[:2] * 1, lambda t: t + 1, (a,)).shape == (2,)
    assert m.cond(m.tensor(True), lambda t: 1, lambda t: 2, (a,)) == 1
    assert not m.cond(m.tensor(True), lambda t: t * 2, lambda t: t * 3, (a,)).requires_grad


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_cond_gradient_reaches_what_the_other_branch_reads_as_zeros(m: Any) -> None:
    W = m.nn.Parameter(m.ones(3, dtype=m.float64))
    V = m.nn.Parameter(m.ones(3, dtype=m.float64))
    U = m.nn.Parameter(m.ones(3, dtype=m.float64))
    x = m.ones(3, dtype=m.float64, requires_grad=True)
    z = m.ones(3, dtype=m.float64, requires_grad=True)
    h = U * 2  # captured non-leaf, read by the branch not taken
    out = m.cond(m.tensor(True), lambda a, b: a * W, lambda a, b: b * V + h, (x, z))
    assert type(out.grad_fn).__name__ == "CondAutogradOpBackward"
    (out * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)).sum().backward()
    assert W.grad.tolist() == [1.0, 2.0, 3.0] and x.grad.tolist() == [1.0, 2.0, 3.0]
    for t in (V, U, z):
        assert t.grad is not None and t.grad.tolist() == [0.0, 0.0, 0.0]
    # an output the loss does not use gets zeros too
    p = m.ones(2, dtype=m.float64, requires_grad=True)
    first, _ = m.cond(m.tensor(False), lambda t: (t * 2, t * 3), lambda t: (t * 4, t * 5), (p,))
    first.sum().backward()
    assert p.grad.tolist() == [4.0, 4.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_cond_branch_randomness_is_drawn_once(m: Any) -> None:
    drop = m.nn.Dropout(0.5)
    a = m.ones(4, 4, dtype=m.float64)
    m.manual_seed(0)
    got = m.cond(m.tensor(False), lambda t: drop(t) * 2, lambda t: drop(t), (a,))
    after = m.rand(2, dtype=m.float64)
    m.manual_seed(0)
    assert m.equal(got, drop(a))
    assert m.equal(after, m.rand(2, dtype=m.float64))


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_cond_refuses_what_pytorch_refuses(m: Any) -> None:
    a = m.ones(3)
    p = m.tensor(True)
    with pytest.raises(RuntimeError, match="single-element tensor"):
        m.cond(m.tensor([True, False]), lambda t: t + 1, lambda t: t - 1, (a,))
    for bad in ("x", None, __import__("numpy").bool_(True)):
        with pytest.raises(RuntimeError, match="Expected pred to be bool or tensor"):
            m.cond(bad, lambda t: t + 1, lambda t: t - 1, (a,))
    with pytest.raises(RuntimeError, match="Expect both branches to be callable"):
        m.cond(p, 3, lambda t: t - 1, (a,))
    for operands in (a, (a, 1), (a, None)):
        with pytest.raises(RuntimeError, match="only consists of tensor leaves"):
            m.cond(p, lambda *t: a + 1, lambda *t: a - 1, operands)
    with pytest.raises(_uncaptured(m), match="same pytree structure"):
        m.cond(p, lambda t: (t + 1, t * 2), lambda t: [t - 1, t * 3], (a,))
    with pytest.raises(_uncaptured(m), match="same pytree structure"):
        m.cond(p, lambda t: {"x": t + 1}, lambda t: {"y": t + 1}, (a,))
    with pytest.raises(RuntimeError, match="expected same dim but got 0 and 1"):
        m.cond(p, lambda t: t.sum(), lambda t: t + 1, (a,))
    with pytest.raises(RuntimeError, match="expected same dtype"):
        m.cond(p, lambda t: t.double(), lambda t: t + 1, (a,))
    with pytest.raises(_uncaptured(m), match="do not support aliasing"):
        m.cond(p, lambda t: t, lambda t: t + 1, (a,))
    with pytest.raises(_uncaptured(m), match="do not support aliasing"):
        m.cond(p, lambda t: t[:2], lambda t: t[1:] + 1, (a,))
    with pytest.raises(_uncaptured(m), match="do not support input mutation"):
        m.cond(p, lambda t: t.add_(1), lambda t: t - 1, (a.clone(),))
    with pytest.raises(_uncaptured(m), match="tensors or ints/bools only"):
        m.cond(p, lambda t: 1.5, lambda t: 1.5, (a,))
    assert issubclass(_uncaptured(m), RuntimeError)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_while_loop_runs_like_the_python_loop(m: Any) -> None:
    def cond_fn(i: Any, x: Any) -> Any:
        return i < 5

    def body_fn(i: Any, x: Any) -> tuple[Any, Any]:
        return i + 1, x * 2

    i, x = m.while_loop(cond_fn, body_fn, (m.tensor(0), m.ones(3)))
    assert i.item() == 5 and x.tolist() == [32.0, 32.0, 32.0]
    out = m.while_loop(cond_fn, body_fn, [m.tensor(0), m.ones(3)])
    assert isinstance(out, tuple)
    n, y = m.while_loop(
        lambda n, x: 2 * n < x.shape[0], lambda n, x: (n + 1, x + n), (0, m.ones(5))
    )
    assert n == 3 and y.tolist() == [4.0] * 5
    it, _ = m.while_loop(
        lambda it, x: it.sum() < 10, lambda it, x: (it + 1, x.sin()), (m.zeros(1), m.ones(2))
    )
    assert it.tolist() == [10.0]
    single = m.while_loop(lambda x: x.sum() < 10, lambda x: x * 2, (m.ones(3),))
    assert isinstance(single, m.Tensor) and single.tolist() == [4.0, 4.0, 4.0]
    i2, d = m.while_loop(
        lambda i, d: i < 3, lambda i, d: (i + 1, {"u": d["u"] * 2}), (m.tensor(0), {"u": m.ones(2)})
    )
    assert d["u"].tolist() == [8.0, 8.0]
    assert m.while_loop(lambda: False, lambda: (), ()) == ()
    # no step: copies of the inputs, never the inputs themselves
    c0 = m.arange(3.0)
    i0, c1 = m.while_loop(lambda i, c: i < 0, lambda i, c: (i + 1, c + 1), (m.tensor(0), c0))
    assert m.equal(c1, c0) and c1.data_ptr() != c0.data_ptr()


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_while_loop_gradient(m: Any) -> None:
    w = m.tensor([0.7, -0.4], dtype=m.float64, requires_grad=True)
    x = m.tensor([0.3, 0.9], dtype=m.float64, requires_grad=True)
    y0 = m.ones(2, dtype=m.float64, requires_grad=True)
    i, z, y = m.while_loop(
        lambda i, z, y: i < 3,
        lambda i, z, y: (i + 1, m.tanh(z * w) + 0.1, y + 1),
        (m.tensor(0), x, y0),
    )
    assert type(z.grad_fn).__name__ == "WhileLoopAutogradOpBackward"
    assert i.grad_fn is None and not i.requires_grad
    z.sum().backward()
    xr = x.detach().clone().requires_grad_()
    wr = w.detach().clone().requires_grad_()
    zr = xr
    for _ in range(3):
        zr = m.tanh(zr * wr) + 0.1
    zr.sum().backward()
    assert m.allclose(x.grad, xr.grad) and m.allclose(w.grad, wr.grad)
    assert y0.grad is not None and y0.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_while_loop_refuses_what_pytorch_refuses(m: Any) -> None:
    a = m.ones(3)
    i0 = m.tensor(0)
    with pytest.raises(RuntimeError, match="Expect cond_fn and body_fn to be callable"):
        m.while_loop(3, lambda i, x: (i + 1, x), (i0, a))
    with pytest.raises(_uncaptured(m), match="Argument mismatch"):
        m.while_loop(lambda x: x.sum() < 10, lambda x: x * 2, a)
    with pytest.raises(_uncaptured(m), match="scalar tensor or a bool"):
        m.while_loop(lambda x: x < 10, lambda x: (x * 2,), (a,))
    with pytest.raises(_uncaptured(m), match="scalar tensor or a bool"):
        m.while_loop(lambda x: x.sum(), lambda x: (x * 2,), (a,))
    with pytest.raises(_uncaptured(m), match="same number of outputs"):
        m.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1,), (i0, a))
    with pytest.raises(_uncaptured(m), match="same metadata"):
        m.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x.double()), (i0, a))
    with pytest.raises(_uncaptured(m), match="same metadata"):
        m.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, m.cat([x, x])), (i0, a))
    with pytest.raises(_uncaptured(m), match="do not support aliasing"):
        m.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x), (i0, a))
    for bad in (1.5, None):
        with pytest.raises(AssertionError, match="can only be of"):
            m.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x), (i0, bad))


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_node_hook_gets_one_gradient_per_listed_input(m: Any) -> None:
    x = m.ones(2, 3, dtype=m.float64, requires_grad=True)
    cases = {
        "pow": (lambda: x.pow(2), 1, 36.0),
        "rpow": (lambda: 2**x, 1, None),
        "mul": (lambda: x * 2, 2, 36.0),
        "clamp": (lambda: x.clamp(min=0.5), 1, 18.0),
        "where": (lambda: m.where(x > 0, x, m.zeros(2, 3, dtype=m.float64)), 2, 18.0),
        "addcmul": (lambda: m.addcmul(x, x, x, value=2), 3, 90.0),
        "mm": (lambda: x @ m.ones(3, 4, dtype=m.float64, requires_grad=True), 2, 72.0),
    }
    for name, (f, n, total) in cases.items():
        y = f()
        seen = []

        def hook(gi: tuple, go: tuple) -> tuple:
            seen.append(len(gi))  # noqa: B023 - called during this iteration's backward
            return tuple(None if g is None else g * 3 for g in gi)

        y.grad_fn.register_hook(hook)
        assert len(y.grad_fn.next_functions) == n, name
        x.grad = None
        y.sum().backward()
        assert seen == [n], name
        if total is not None:
            assert x.grad.sum().item() == total, name
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        y = x.pow(2)
        y.grad_fn.register_hook(lambda gi, go: (gi[0], None))
        y.sum().backward()
