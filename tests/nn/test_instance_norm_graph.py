"""F.instance_norm and nn.InstanceNorm*d built as PyTorch builds them: the graph
(``ViewBackward0`` over ``NativeBatchNormBackward0`` over the viewed input and the repeated
weight and bias), values, gradients, running statistics and errors, compared with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

ACC = "torch::autograd::AccumulateGrad"


def _graph(node):
    """(name, children) of the whole graph below ``node``; a leaf's node is ``ACC``."""
    if node is None:
        return None
    if node.name() == ACC:
        return ACC
    return node.name(), tuple(_graph(child) for child, _ in node.next_functions)


def _leaves(lib, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dt = getattr(lib, dtype)
    x = lib.tensor(rng.standard_normal(shape) * 2 + 0.5, dtype=dt, requires_grad=True)
    w = lib.tensor(rng.standard_normal(shape[1]), dtype=dt, requires_grad=True)
    b = lib.tensor(rng.standard_normal(shape[1]), dtype=dt, requires_grad=True)
    rm = lib.tensor(rng.standard_normal(shape[1]), dtype=dt)
    rv = lib.tensor(rng.random(shape[1]) + 0.5, dtype=dt)
    return x, w, b, rm, rv


CASES = [
    (affine, stats, use)
    for affine in ("none", "both", "weight", "bias")
    for stats in (False, True)
    for use in (True, False)
    if stats or use
]


def _call(lib, shape, dtype, affine, stats, use, seed=0):
    x, w, b, rm, rv = _leaves(lib, shape, dtype, seed)
    kw = {}
    if affine in ("both", "weight"):
        kw["weight"] = w
    if affine in ("both", "bias"):
        kw["bias"] = b
    if stats:
        kw.update(running_mean=rm, running_var=rv)
    y = lib.nn.functional.instance_norm(x, use_input_stats=use, momentum=0.3, **kw)
    return y, (x, w, b), (rm, rv)


@pytest.mark.parametrize(("affine", "stats", "use"), CASES)
def test_graph_values_grads_and_stats_match_torch(affine, stats, use):
    shape = (3, 4, 5, 2)
    yt, pt, st = _call(torch, shape, "float64", affine, stats, use)
    yc, pc, sc = _call(cr, shape, "float64", affine, stats, use)
    assert _graph(yc.grad_fn) == _graph(yt.grad_fn)
    assert _graph(yc.grad_fn)[0] == "ViewBackward0"
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(5).standard_normal(shape)
    yt.backward(torch.tensor(g))
    yc.backward(cr.tensor(g))
    for a, c in zip(pt, pc):
        assert (a.grad is None) == (c.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(c.grad.numpy(), a.grad.numpy(), atol=1e-10)
    for a, c in zip(st, sc):
        np.testing.assert_allclose(c.numpy(), a.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    "prep",
    [
        lambda x: x.transpose(2, 3),
        lambda x: x.detach().to(memory_format=_cl(x)).requires_grad_(),
        lambda x: x.detach(),
    ],
    ids=["transposed", "channels_last", "no_grad_input"],
)
def test_graph_of_strided_and_constant_inputs(prep):
    got = {}
    for lib in (torch, cr):
        x, w, b, _, _ = _leaves(lib, (2, 3, 4, 5), "float64")
        got[lib.__name__] = _graph(
            lib.nn.functional.instance_norm(prep(x), weight=w, bias=b).grad_fn
        )
    assert got["chainrule"] == got["torch"]


def _cl(x):
    return torch.channels_last if isinstance(x, torch.Tensor) else cr.channels_last


@pytest.mark.parametrize("name", ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_modules_train_and_eval_match_torch(name, dtype):
    shape = {"InstanceNorm1d": (3, 4, 6), "InstanceNorm2d": (3, 4, 3, 5)}.get(name, (2, 4, 2, 3, 2))
    mods = {
        lib.__name__: getattr(lib.nn, name)(
            4, affine=True, track_running_stats=True, momentum=0.2, dtype=getattr(lib, dtype)
        )
        for lib in (torch, cr)
    }
    rng = np.random.default_rng(2)
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    for lib in (torch, cr):
        m = mods[lib.__name__]
        m.weight.data = lib.tensor(w, dtype=getattr(lib, dtype))
        m.bias.data = lib.tensor(b, dtype=getattr(lib, dtype))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for training in (True, True, True, False):
        a = rng.standard_normal(shape) * 3 + 1
        g = rng.standard_normal(shape)
        out = {}
        for lib in (torch, cr):
            m = mods[lib.__name__].train(training)
            x = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True)
            m.zero_grad()
            y = m(x)
            y.backward(lib.tensor(g, dtype=getattr(lib, dtype)))
            out[lib.__name__] = (
                _graph(y.grad_fn),
                [t.detach().numpy() for t in (y, x.grad, m.weight.grad, m.bias.grad)],
                [m.running_mean.numpy(), m.running_var.numpy()],
            )
        gt, vt, st = out["torch"]
        gc, vc, sc = out["chainrule"]
        assert gc == gt
        for a_, c_ in zip(vt + st, vc + sc):
            np.testing.assert_allclose(c_, a_, **tol)


def test_unbatched_module_graph_matches_torch():
    got = {}
    for lib in (torch, cr):
        m = lib.nn.InstanceNorm2d(3).eval()
        x = lib.tensor(np.random.default_rng(0).standard_normal((3, 4, 5)), requires_grad=True)
        got[lib.__name__] = _graph(m(x).grad_fn)
    assert got["chainrule"] == got["torch"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("param_dtype", ["same", "float32"])
def test_half_values_close_to_torch(dtype, param_dtype):
    shape = (3, 4, 40)
    rng = np.random.default_rng(4)
    a = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    p = rng.standard_normal((2, 4)).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    res = {}
    for lib in (torch, cr):
        dt = getattr(lib, dtype)
        pdt = dt if param_dtype == "same" else lib.float32
        x = lib.tensor(a).to(dt).requires_grad_()
        w, b = (lib.tensor(v).to(pdt).requires_grad_() for v in p)
        y = lib.nn.functional.instance_norm(x, weight=w, bias=b)
        assert y.dtype == dt
        y.backward(lib.tensor(g).to(dt))
        res[lib.__name__] = [t.detach().float().numpy() for t in (y, x.grad, w.grad, b.grad)]
    ulp = 2.0**-7 if dtype == "bfloat16" else 2.0**-10
    for t_, c_ in zip(res["torch"], res["chainrule"]):
        # one rounding apart at most (PyTorch rounds its saved statistics to the half dtype)
        np.testing.assert_allclose(c_, t_, rtol=2 * ulp, atol=4 * ulp * np.abs(t_).max())


@pytest.mark.parametrize("use", [True, False])
@pytest.mark.parametrize("affine", [False, True])
def test_gradcheck_and_gradgradcheck(use, affine):
    x, w, b, rm, rv = _leaves(cr, (2, 3, 4), "float64")
    inputs = (x, w, b) if affine else (x,)

    def f(x, w=None, b=None):
        stats = (rm.clone(), rv.clone())
        return cr.nn.functional.instance_norm(x, *stats, w, b, use_input_stats=use)

    assert cr.autograd.gradcheck(f, inputs)
    assert cr.autograd.gradgradcheck(f, inputs)


def test_forward_mode_matches_reverse():
    for use in (True, False):
        x, w, b, rm, rv = _leaves(cr, (2, 3, 4), "float64")
        tang = tuple(cr.randn(*t.shape, dtype=cr.float64) for t in (x, w, b))

        def f(x, w, b, use=use, rm=rm, rv=rv):
            return cr.nn.functional.instance_norm(x, rm.clone(), rv.clone(), w, b, use)

        _, jvp = cr.func.jvp(f, (x.detach(), w.detach(), b.detach()), tang)
        _, vjp_fn = cr.func.vjp(f, x.detach(), w.detach(), b.detach())
        cot = cr.randn(*x.shape, dtype=cr.float64)
        vjp = vjp_fn(cot)
        lhs = float((jvp * cot).sum())
        rhs = sum(float((t * v).sum()) for t, v in zip(tang, vjp))
        assert abs(lhs - rhs) < 1e-9


def test_errors_as_torch():
    for lib in (torch, cr):
        F = lib.nn.functional
        with pytest.raises(ValueError, match="(?i)expected more than 1 spatial element"):
            F.instance_norm(lib.zeros(2, 3, 1))
        with pytest.raises(RuntimeError):
            F.instance_norm(lib.zeros(2, 3, 4), use_input_stats=False)
        with pytest.raises(ValueError, match="either both be None or neither"):
            F.instance_norm(lib.zeros(2, 3, 4), lib.zeros(3), None)
        with pytest.raises(TypeError, match="momentum"):
            F.instance_norm(lib.zeros(2, 3, 4), lib.zeros(3), lib.ones(3), momentum=None)
