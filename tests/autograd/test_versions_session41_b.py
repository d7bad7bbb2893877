"""Version counters as PyTorch's, session 41 (b): ``.grad._version`` after
``backward(gradient, inputs=[...])`` (PyTorch's ``AccumulateGrad`` copies a gradient the
caller still holds: version 1; a new one, made by a rule or a view of the caller's, is taken as
it is), and the first ``.grad`` written to the slot keeping the ``.grad`` setter's errors (an
``AccumulateGrad`` pre hook's gradient of another size or dtype, a leaf's ``.data`` swapped
after the forward). Remaining gaps are xfail(strict).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

__all__: list[str] = []

# output expressions of p (a 3-vector leaf) and q (another): backward(gradient=ones, inputs=...)
INPUTS = {
    "add_const": "p + 1",
    "identity": "p",
    "view_same": "p.view(3)",
    "view_2d": "p.view(3, 1).view(3)",
    "sub": "p - 1",
    "mul_one": "p * 1",
    "add_two": "p + q",
    "sub_two": "p - q",
    "mul": "p * q",
}


def _inputs_versions(lib, expr: str, entry: str, strided: bool) -> tuple:
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([0.5, 1.5, 2.5], requires_grad=True)
    y = eval(expr, {"p": p, "q": q})
    g = lib.ones(6)[::2] if strided else lib.ones(3)
    ins = [p, q] if "q" in expr else [p]
    if entry == "method":
        y.backward(g, inputs=ins)
    else:
        lib.autograd.backward([y], [g], inputs=ins)
    # (PyTorch takes a view of the caller's gradient as it is, aliasing it; chainrule's
    # engine copies it, the version kept: the data pointers are not compared)
    return tuple((t.grad._version, t.grad.tolist()) for t in ins)


@pytest.mark.parametrize("strided", [False, True], ids=["dense", "strided"])
@pytest.mark.parametrize("entry", ["method", "function"])
@pytest.mark.parametrize("name", list(INPUTS))
def test_backward_inputs_grad_version_as_torch(name: str, entry: str, strided: bool) -> None:
    expr = INPUTS[name]
    assert _inputs_versions(cr, expr, entry, strided) == _inputs_versions(
        torch, expr, entry, strided
    )


def test_backward_inputs_scalar_implicit_gradient_as_torch() -> None:
    got = []
    for lib in (cr, torch):
        p = lib.tensor(2.0, requires_grad=True)
        p.backward(inputs=[p])
        got.append(p.grad._version)
    assert got[0] == got[1] == 1


def test_backward_inputs_second_write_adds_in_place() -> None:
    """A second ``backward(inputs=...)`` adds into the first ``.grad`` (version up by one)."""
    got = []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        g = lib.ones(2)
        (p * 2).backward(g, inputs=[p])
        first = p.grad
        (p + 1).backward(g, inputs=[p])
        got.append((p.grad is first, p.grad._version, p.grad.tolist(), g.tolist()))
    assert got[0] == got[1]


def _prehook_error(lib, hook) -> type:
    p = lib.ones(3, requires_grad=True)
    acc = p.view_as(p).grad_fn.next_functions[0][0]
    acc.register_prehook(hook)
    with pytest.raises(RuntimeError) as info:
        (p * 2).sum().backward()
    assert p.grad is None
    return info


@pytest.mark.parametrize(
    "hook,word",
    [(lambda g: (g[0].sum(),), "size"), (lambda g: (g[0].double(),), "type")],
    ids=["size", "dtype"],
)
def test_first_grad_keeps_setter_errors_for_prehook_gradient(hook, word: str) -> None:
    """The first ``.grad`` is assigned to the slot, but an ``AccumulateGrad`` pre hook that
    returns another size or dtype still raises RuntimeError (as PyTorch) and leaves ``.grad``
    None; since session 42 chainrule's message names the hook, in PyTorch's words
    (tests/autograd/test_versions_session42.py)."""
    for lib in (cr, torch):
        info = _prehook_error(lib, hook)
        assert word in str(info.value)


@pytest.mark.parametrize("swap", ["shape", "dtype"])
def test_first_grad_keeps_setter_errors_for_swapped_data(swap: str) -> None:
    """``p.data`` replaced between forward and backward: the setter's error still raises (a
    chainrule check PyTorch does not make: it writes the old-shaped gradient)."""
    p = cr.ones(3, requires_grad=True)
    y = (p * 2).sum()
    p.data = cr.zeros(5) if swap == "shape" else p.data.double()
    with pytest.raises(RuntimeError, match="assigned grad has data of a different"):
        y.backward()
    assert p.grad is None


def test_first_grad_of_parameter_is_the_slot() -> None:
    """A Parameter (Tensor's ``.grad`` property kept) gets its first ``.grad`` in the slot: a
    plain Tensor, values and version as PyTorch's."""
    for_torch = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    for_cr = cr.nn.Parameter(cr.tensor([1.0, -2.0, 3.0]))
    (for_torch.exp() * 3).sum().backward()
    (for_cr.exp() * 3).sum().backward()
    np.testing.assert_allclose(for_cr.grad.numpy(), for_torch.grad.numpy(), rtol=1e-6)
    assert for_cr.grad._version == for_torch.grad._version
    assert type(for_cr.grad) is cr.Tensor


# a leaf reached by the caller's own gradient and by a fresh one: PyTorch's input buffer sums
# them out of place when the one there first is the caller's (it is held): version 0
SUMMED = {
    "addcmul_self_t2": "p.addcmul(q, p)",
    "addcmul_self_t1": "p.addcmul(p, q)",
    "addcmul_twice": "p.addcmul(q, q)",
    "add_mul": "p * p + p",
    "add_self": "p + p",
    "mul_add": "p + p * p",
    "sub_mul": "p - p * q",
}


@pytest.mark.parametrize("name", list(SUMMED))
def test_caller_gradient_summed_version_as_torch(name: str) -> None:
    assert _gap_versions(cr, SUMMED[name]) == _gap_versions(torch, SUMMED[name])


# remaining gaps found in session 41 (not changed by it): leaf -> expression, ones gradient
GAPS = {
    "index_true_2d": "m[True]",
    "index_true_1d": "p[True]",
    "sdpa": "t.nn.functional.scaled_dot_product_attention(m[None], m[None], m[None])",
    "add_double_t": "(m + k.t().t()).exp().sum()",
}


def _gap_versions(lib, expr: str) -> tuple:
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([0.5, 1.5, 2.5], requires_grad=True)
    m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    k = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = eval(expr, {"t": lib, "p": p, "q": q, "m": m, "k": k})
    y.backward(lib.ones_like(y))
    return tuple(None if x.grad is None else x.grad._version for x in (p, q, m, k))


@pytest.mark.parametrize("name", list(GAPS))
def test_remaining_version_gaps(name: str) -> None:
    """All as torch since session 42: x[None]'s gradient is a view keeping the version of the
    gradient it views (IndexBackward0's 1 for m[True]; sdpa's), and a view of a gradient
    another leaf took makes that leaf's .grad the copy (m + k.t().t())."""
    assert _gap_versions(cr, GAPS[name]) == _gap_versions(torch, GAPS[name])
