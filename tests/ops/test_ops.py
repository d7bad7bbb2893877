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


# Ops whose full second-order check (one double backward per coordinate of the first
# gradients, two finite differences per coordinate of inputs and output gradients) took
# more than ~1.2 s on the 2-core CI host (pytest --durations, 2026-12-02; 294 s in all, a
# quarter of the suite). Their double backward is checked in PyTorch's fast mode instead,
# as PyTorch's own OpInfo tests do for slow ops (``gradcheck_fast_mode``): u^T J v for
# random unit u and v, numerically by one central difference and analytically by one
# vector-Jacobian product, for two draws of the output gradients. Their first derivatives
# keep the full-Jacobian gradcheck, and forward mode vs reverse mode, above.
SLOW_SECOND_ORDER = frozenset(
    {
        "F_conv2d",
        "F_conv3d",
        "F_conv_transpose3d",
        "F_conv_transpose3d_grouped",
        "F_sdpa",
        "F_sdpa_causal",
        "cdist",
        "cholesky",
        "cholesky_solve_complex",
        "gradient",
        "linalg_cholesky",
        "linalg_eig_complex",
        "linalg_eigvalsh",
        "linalg_householder_product",
        "linalg_inv",
        "linalg_lu_solve_complex",
        "linalg_matrix_exp",
        "linalg_svdvals",
        "lu_factor_unpack",
        "matrix_exp",
        "orgqr",
        "ormqr",
        "raw_grid_sampler_2d",
        "raw_gru_l1_bi_packed",
        "raw_gru_l2",
        "raw_gru_l2_bi_nobias_bf",
        "raw_lstm_l1_bi_bf",
        "raw_lstm_l1_bi_packed",
        "raw_lstm_l1_proj1_packed",
        "raw_lstm_l2",
        "raw_lstm_l2_nobias_proj1",
        "raw_rnn_relu_l1_bi_packed",
        "raw_rnn_tanh_l1_bi_bf",
        "raw_rnn_tanh_l1_bi_packed",
        "F_grid_sample_3d_bilinear_border_ac",
        "F_grid_sample_3d_bilinear_reflection_ac",
        "F_grid_sample_3d_bilinear_reflection_nac",
        "F_grid_sample_3d_bilinear_zeros_nac",
        *(
            f"F_grid_sample_{kind}_{pad}_{corners}"
            for kind in ("bicubic", "bilinear")
            for pad in ("zeros", "border", "reflection")
            for corners in ("ac", "nac")
        ),
    }
)


@_cases("gg")
def test_gradgradcheck(spec, shapes):
    xs = [cr.tensor(a, requires_grad=True) for a in make_inputs(spec, shapes)]
    if spec.name not in SLOW_SECOND_ORDER:
        assert cr.autograd.gradgradcheck(spec.cr_fn, xs)
        return
    for seed in (0, 1):
        assert cr.autograd.gradgradcheck(spec.cr_fn, xs, seed=seed, fast_mode=True)


def test_slow_second_order_names_are_specs():
    """Every name in SLOW_SECOND_ORDER is a spec with a double-backward check (a renamed
    spec would otherwise silently get the full check back, or the list rot)."""
    names = {spec.name for spec, _, _ in CASES if "gg" in spec.checks}
    assert SLOW_SECOND_ORDER <= names, sorted(SLOW_SECOND_ORDER - names)


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
