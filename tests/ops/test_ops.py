"""Every differentiable op in op_specs.SPECS against PyTorch and against itself.

forward and backward vs PyTorch (float64, same upstream gradient) for contiguous and for
non-contiguous inputs (strided, reversed and transposed views of larger arrays, as Chainer's
FunctionTestCase does by default; the inputs must come out unmodified), gradcheck against
finite differences, forward mode vs reverse mode, and double backward.
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


def noncontiguous(a: np.ndarray, k: int) -> np.ndarray:
    """The values of ``a`` as a non-contiguous view of a larger array; ``k`` picks the layout:
    every other element along an axis, an axis reversed, or the last two axes stored
    transposed. Arrays with at most one element are returned as they are."""
    axes = [i for i, n in enumerate(a.shape) if n > 1]
    if not axes:
        return a
    layout = k % 3 if len(axes) >= 2 else k % 2
    if layout == 2 and a.ndim >= 2 and min(a.shape[-2:]) > 1:
        view = np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
    elif layout == 1:  # the first non-trivial axis reversed (a negative stride)
        ax = axes[0]
        view = np.flip(np.ascontiguousarray(np.flip(a, ax)), ax)
    else:  # every other element of a twice-as-long last non-trivial axis
        ax = axes[-1]
        shape = list(a.shape)
        shape[ax] *= 2
        big = np.full(shape, np.nan)
        sl = (slice(None),) * ax + (slice(None, None, 2),)
        big[sl] = a
        view = big[sl]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(view, a)
    return view


LAYOUTS = pytest.mark.parametrize("layout", ["contiguous", "noncontiguous"])


def _run_both(spec, shapes, requires_grad=True, layout="contiguous"):
    arrays = make_inputs(spec, shapes)
    if layout == "contiguous":
        xs = [cr.tensor(a, requires_grad=requires_grad) for a in arrays]
    else:
        xs = [
            cr.from_numpy(noncontiguous(a, k)).requires_grad_(requires_grad)
            for k, a in enumerate(arrays)
        ]
    ts = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    outs, touts = _as_tuple(spec.cr_fn(*xs)), _as_tuple(spec.th_fn(*ts))
    for k, (x, a) in enumerate(zip(xs, arrays)):
        np.testing.assert_array_equal(
            x.detach().numpy(), a, err_msg=f"{spec.id}: input {k} modified"
        )
    return xs, ts, outs, touts


def _cases(check):
    """The (spec, shapes) cases a check applies to; op_specs says which checks each op takes
    (e.g. prod over zeros has no double backward: tests/ops/test_edge_gradients.py checks that
    it raises clearly instead)."""
    chosen = [c for c in CASES if check in c[0].checks]
    return pytest.mark.parametrize(
        "spec,shapes", [c[:2] for c in chosen], ids=[c[2] for c in chosen]
    )


@_cases("fwd")
@LAYOUTS
def test_forward_matches_torch(spec, shapes, layout):
    _, _, outs, touts = _run_both(spec, shapes, requires_grad=False, layout=layout)
    assert len(outs) == len(touts)
    for o, t in zip(outs, touts):
        assert isinstance(o, cr.Tensor)
        assert o.shape == tuple(t.shape), spec.id
        assert o.dtype == np.float64, f"{spec.id}: dtype {o.dtype}"
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


@_cases("bwd")
@LAYOUTS
def test_backward_matches_torch(spec, shapes, layout):
    xs, ts, outs, touts = _run_both(spec, shapes, layout=layout)
    rng = np.random.default_rng(1)
    ups = [rng.standard_normal(t.shape) for t in touts]
    torch.autograd.backward(list(touts), [torch.tensor(u) for u in ups])
    if layout == "contiguous":
        cr.autograd.backward(list(outs), [cr.tensor(u) for u in ups])
    else:  # the upstream gradients are non-contiguous too
        cr.autograd.backward(
            list(outs), [cr.from_numpy(noncontiguous(u, k + 1)) for k, u in enumerate(ups)]
        )
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is None:
            assert x.grad is None or np.all(x.grad.numpy() == 0), f"{spec.id} input {i}"
            continue
        assert x.grad is not None, f"{spec.id}: input {i} got no gradient"
        assert x.grad.shape == x.shape, f"{spec.id}: grad shape {x.grad.shape} != {x.shape}"
        np.testing.assert_allclose(
            x.grad.numpy(),
            t.grad.numpy(),
            rtol=spec.bwd_rtol,
            atol=1e-10,
            err_msg=f"{spec.id} input {i}",
        )
    for k, (x, a) in enumerate(zip(xs, make_inputs(spec, shapes))):  # backward wrote nothing
        np.testing.assert_array_equal(
            x.detach().numpy(), a, err_msg=f"{spec.id}: backward modified input {k}"
        )


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
    xs = [cr.tensor(a.astype(np.float32), requires_grad=True) for a in make_inputs(spec, shapes)]
    outs = _as_tuple(spec.cr_fn(*xs))
    for o in outs:
        assert o.dtype == np.float32, f"{spec.id}: float32 input gave {o.dtype}"
    sum(o.sum() for o in outs).backward()
    for x in xs:
        if x.grad is not None:
            assert x.grad.dtype == np.float32
            assert x.grad.shape == x.shape
