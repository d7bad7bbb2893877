"""Every differentiable op in op_specs.SPECS against PyTorch and against itself.

forward and backward vs PyTorch (float64, same upstream gradient), gradcheck against finite
differences, forward mode vs reverse mode, and double backward.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .op_specs import cases, make_inputs

CASES = cases()


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _run_both(spec, shapes, requires_grad=True):
    arrays = make_inputs(spec, shapes)
    xs = [cr.tensor(a, requires_grad=requires_grad) for a in arrays]
    ts = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return xs, ts, _as_tuple(spec.cr_fn(*xs)), _as_tuple(spec.torch_fn(*ts))


def _cases(check):
    """The (spec, shapes) cases a check applies to; op_specs says which checks each op takes
    (e.g. prod over zeros has no double backward: tests/ops/test_edge_gradients.py checks that
    it raises clearly instead)."""
    chosen = [c for c in CASES if check in c[0].checks]
    return pytest.mark.parametrize("spec,shapes", [c[:2] for c in chosen],
                                   ids=[c[2] for c in chosen])


@_cases("fwd")
def test_forward_matches_torch(spec, shapes):
    _, _, outs, touts = _run_both(spec, shapes, requires_grad=False)
    assert len(outs) == len(touts)
    for o, t in zip(outs, touts):
        assert isinstance(o, cr.Tensor)
        assert o.shape == tuple(t.shape), spec.id
        assert o.dtype == np.float64, f"{spec.id}: dtype {o.dtype}"
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


@_cases("bwd")
def test_backward_matches_torch(spec, shapes):
    xs, ts, outs, touts = _run_both(spec, shapes)
    rng = np.random.default_rng(1)
    ups = [rng.standard_normal(t.shape) for t in touts]
    torch.autograd.backward(list(touts), [torch.tensor(u) for u in ups])
    cr.autograd.backward(list(outs), [cr.tensor(u) for u in ups])
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is None:
            assert x.grad is None or np.all(x.grad.numpy() == 0), f"{spec.id} input {i}"
            continue
        assert x.grad is not None, f"{spec.id}: input {i} got no gradient"
        assert x.grad.shape == x.shape, f"{spec.id}: grad shape {x.grad.shape} != {x.shape}"
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=f"{spec.id} input {i}")


@_cases("gc")
def test_gradcheck(spec, shapes):
    xs = [cr.tensor(a, requires_grad=True) for a in make_inputs(spec, shapes)]
    assert cr.autograd.gradcheck(spec.cr_fn, xs)


@_cases("jvp")
def test_jvp_matches_vjp(spec, shapes):
    xs = [cr.tensor(a) for a in make_inputs(spec, shapes)]
    assert cr.autograd.check_vjp_jvp(spec.cr_fn, xs)


@_cases("gg")
def test_gradgradcheck(spec, shapes):
    xs = [cr.tensor(a, requires_grad=True) for a in make_inputs(spec, shapes)]
    assert cr.autograd.gradgradcheck(spec.cr_fn, xs)


@_cases("bwd")
def test_float32_forward_and_grad_dtype(spec, shapes):
    """In float32 the result and gradients stay float32 (no silent float64 upcast)."""
    xs = [cr.tensor(a.astype(np.float32), requires_grad=True)
          for a in make_inputs(spec, shapes)]
    outs = _as_tuple(spec.cr_fn(*xs))
    for o in outs:
        assert o.dtype == np.float32, f"{spec.id}: float32 input gave {o.dtype}"
    sum(o.sum() for o in outs).backward()
    for x in xs:
        if x.grad is not None:
            assert x.grad.dtype == np.float32
            assert x.grad.shape == x.shape
