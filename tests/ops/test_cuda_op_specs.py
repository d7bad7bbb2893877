"""Every op in the central op-spec table on the GPU (CuPy) against the same op on the CPU.

chainrule's CPU results are checked against PyTorch by tests/ops/test_ops.py; here the CUDA
results (forward values, input gradients for the same upstream gradient, forward mode vs
reverse mode) must equal the CPU's to float64 rounding, and stay on the GPU. These tests
need CuPy and an NVIDIA GPU; on a machine without one they are skipped (CI has none: they
were run on an H200 and the result recorded in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .op_specs import cases, make_inputs

pytestmark = pytest.mark.skipif(not cr.cuda.is_available(), reason="needs CuPy and an NVIDIA GPU")

CASES = cases()
CUDA = cr.device("cuda:0")


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _host(t):
    return None if t is None else t.detach().cpu().numpy()


def _run(spec, shapes, device, requires_grad):
    xs = [
        cr.tensor(a, device=device).requires_grad_(requires_grad) for a in make_inputs(spec, shapes)
    ]
    return xs, _as_tuple(spec.cr_fn(*xs))


def _chosen(check):
    chosen = [c for c in CASES if check in c[0].checks]
    return pytest.mark.parametrize(
        "spec,shapes", [c[:2] for c in chosen], ids=[c[2] for c in chosen]
    )


def _close(got, want, what, rtol=1e-9, atol=1e-11):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


@_chosen("fwd")
def test_forward_on_gpu_equals_cpu(spec, shapes):
    _, want = _run(spec, shapes, "cpu", False)
    _, got = _run(spec, shapes, CUDA, False)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.device == CUDA, f"{spec.id} output {k} on {g.device}"
        assert g.dtype == w.dtype and g.shape == w.shape, spec.id
        _close(_host(g), _host(w), f"{spec.id} output {k}")


@_chosen("bwd")
def test_backward_on_gpu_equals_cpu(spec, shapes):
    grads = {}
    for device in ("cpu", CUDA):
        xs, outs = _run(spec, shapes, device, True)
        rng = np.random.default_rng(1)
        ups = [cr.tensor(rng.standard_normal(o.shape), device=device) for o in outs]
        cr.autograd.backward(list(outs), ups)
        grads[str(device)] = xs
    for k, (g, w) in enumerate(zip(grads["cuda:0"], grads["cpu"])):
        if w.grad is None:
            assert g.grad is None or not bool((g.grad != 0).any()), f"{spec.id} input {k}"
            continue
        assert g.grad is not None, f"{spec.id}: input {k} got no gradient on the GPU"
        assert g.grad.device == CUDA, f"{spec.id}: gradient {k} on {g.grad.device}"
        _close(
            _host(g.grad), _host(w.grad), f"{spec.id} gradient {k}", rtol=max(spec.bwd_rtol, 1e-9)
        )


@_chosen("jvp")
def test_forward_mode_on_gpu_matches_reverse_mode(spec, shapes):
    xs = [cr.tensor(a, device=CUDA) for a in make_inputs(spec, shapes)]
    assert cr.autograd.check_vjp_jvp(spec.cr_fn, xs)
