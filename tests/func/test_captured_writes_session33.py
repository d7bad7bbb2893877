"""In-place writes into *captured* tensors under ``cr.func``'s grad transforms, against
PyTorch (session 33): ``grad``/``vjp``/``jvp``/``jacrev``/``jacfwd``/``hessian`` refuse a
write into a tensor the function reads from outside (a closure, a global, a module's
buffer: ``nn.BatchNorm``'s ``num_batches_tracked`` in training mode), and the write does not
happen; the function's inputs (every argument), tensors it makes, ``vmap`` alone,
``F.batch_norm``'s own update of the running statistics it is given and ``out=`` targets are
written as before."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((4, 3))
P = np.array([1.0, 2.0, 3.0])
MESSAGE = (
    "During a grad (vjp, jvp, grad, etc) transform, the function provided attempted to call "
    "in-place operation (aten::add_) that would mutate a captured Tensor. This is not "
    "supported; please rewrite the function being transformed to explicitly accept the "
    "mutated Tensor(s) as inputs."
)


def _np(t):
    return t.detach().numpy(force=True) if hasattr(t, "numpy") else np.asarray(t)


def _outcome(fn):
    """``"ok"`` with the result, ``"captured"`` for the refusal, else the error's type."""
    try:
        return "ok", fn()
    except RuntimeError as err:
        return ("captured" if "mutate a captured Tensor" in str(err) else "RuntimeError"), None


def _transform(lib, name, f_sum, f_vec, x):
    F = lib.func
    return {
        "grad": lambda: F.grad(f_sum)(x),
        "vjp": lambda: F.vjp(f_vec, x)[0],
        "jvp": lambda: F.jvp(f_vec, (x,), (lib.ones_like(x),))[1],
        "jacrev": lambda: F.jacrev(f_vec)(x),
        "jacfwd": lambda: F.jacfwd(f_vec)(x),
        "hessian": lambda: F.hessian(f_sum)(x),
        "grad_and_value": lambda: F.grad_and_value(f_sum)(x)[0],
    }[name]


TRANSFORMS = ["grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "grad_and_value"]


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("mode", ["train", "train_cumulative", "eval", "no_stats"])
def test_batch_norm_module_under_transforms(name, mode):
    def run(lib):
        kw = {"track_running_stats": False} if mode == "no_stats" else {}
        if mode == "train_cumulative":
            kw["momentum"] = None
        bn = lib.nn.BatchNorm1d(3, **kw).double()
        if mode == "eval":
            bn.eval()
        x = lib.tensor(X)
        res = _outcome(_transform(lib, name, lambda a: bn(a).sum(), bn, x))
        bufs = [_np(b) for b in bn.buffers()]
        return res, bufs

    (kind_c, out_c), bufs_c = run(cr)
    (kind_t, out_t), bufs_t = run(torch)
    assert kind_c == kind_t == ("captured" if mode.startswith("train") else "ok")
    if kind_t == "ok":
        np.testing.assert_allclose(_np(out_c), _np(out_t), rtol=1e-9, atol=1e-9)
    for a, b in zip(bufs_c, bufs_t, strict=True):  # a refused write leaves them untouched
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_message_and_exception_type():
    c = cr.zeros(3, dtype=cr.float64)
    with pytest.raises(RuntimeError) as info:
        cr.func.grad(lambda a: (c.add_(1), a.sum())[1])(cr.tensor(P))
    assert str(info.value) == MESSAGE
    assert c._version == 0 and not c.numpy().any()


@pytest.mark.parametrize("name", ["jvp", "grad"])
def test_functional_batch_norm_updates_captured_running_stats(name):
    """The running statistics F.batch_norm is given are updated by the op itself (PyTorch's
    kernel writes them, below the transform): allowed, with PyTorch's values."""

    def run(lib):
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        x = lib.tensor(X)

        def f(a):
            return lib.nn.functional.batch_norm(a, rm, rv, training=True, momentum=0.3)

        kind, out = _outcome(_transform(lib, name, lambda a: f(a).sum(), f, x))
        return kind, out, rm, rv

    (k_c, *rc), (k_t, *rt) = run(cr), run(torch)
    assert k_c == k_t == "ok"
    for a, b in zip(rc, rt, strict=True):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-9, atol=1e-12)


def _closure_case(lib, case):
    """``(call, watched)``: a transform call whose function writes in place, the tensor
    whose value tells whether the write happened."""
    F = lib.func
    c = lib.zeros(3, dtype=lib.float64)
    p = lib.tensor(P)
    cases = {
        "grad": lambda: F.grad(lambda a: (c.add_(1), (a * 2).sum())[1])(p),
        "vjp": lambda: F.vjp(lambda a: (c.add_(1), a * 2)[1], p)[0],
        "jvp": lambda: F.jvp(lambda a: (c.add_(1), a * 2)[1], (p,), (p,))[1],
        "jacrev": lambda: F.jacrev(lambda a: (c.add_(1), a * 2)[1])(p),
        "vmap_alone": lambda: F.vmap(lambda a: (c.add_(1), a * 2)[1])(lib.ones(2, 3)),
        "view_inside": lambda: F.grad(lambda a: (c[:2].add_(1), a.sum())[1])(p),
        "view_outside": lambda: F.grad(lambda a: (cv.add_(1), a.sum())[1])(p),
        "detach": lambda: F.grad(lambda a: (c.detach().add_(1), a.sum())[1])(p),
        "data": lambda: F.grad(lambda a: (c.data.add_(1), a.sum())[1])(p),
        "no_grad_inside": lambda: F.jvp(_under_no_grad(lib, c), (p,), (p,))[1],
        "no_grad_outside": lambda: _no_grad_call(
            lib, lambda: F.jvp(lambda a: c.add_(1) * a, (p,), (p,))
        ),
        "zero_size": lambda: F.grad(lambda a: (e.add_(1), a.sum())[1])(p),
        "integer": lambda: F.grad(lambda a: (i.add_(1), a.sum())[1])(p),
        "made_inside": lambda: F.grad(lambda a: (lib.zeros(3).add_(1), (a * 2).sum())[1])(p),
        "out_target": lambda: F.grad(lambda a: (lib.add(a.detach(), 1, out=c), (a * 2).sum())[1])(
            p
        ),
        "non_argnum": lambda: F.grad(lambda a, b: (b.add_(1), (a * 2).sum())[1])(p, c),
        "keyword": lambda: F.grad(lambda a, *, b: (b.add_(1), (a * 2).sum())[1])(p, b=c),
        "jvp_second_primal": lambda: F.jvp(lambda a, b: (b.add_(1), a * 2)[1], (p, c), (p, p))[1],
        "jacrev_non_argnum": lambda: F.jacrev(lambda a, b: (b.add_(1), a * 2)[1])(p, c),
        "jvp_primal": lambda: F.jvp(lambda a: a.add_(1) * 2, (c,), (p,))[1],
        "vmap_of_grad": lambda: F.vmap(F.grad(lambda a: (c.add_(1), a.sum())[1]))(lib.ones(2, 3)),
        "grad_of_vmap": lambda: F.grad(
            lambda a: F.vmap(lambda r: (c.add_(1), r * 2)[1])(a[None]).sum()
        )(p),
        "grad_of_grad": lambda: F.grad(
            lambda a: F.grad(lambda b: (c.add_(1), (b**3).sum())[1])(a).sum()
        )(p),
    }
    cv = c[1:]
    e = lib.zeros(0)
    i = lib.zeros(3, dtype=lib.int64)
    return cases[case], (e if case == "zero_size" else i if case == "integer" else c)


def _under_no_grad(lib, c):
    def f(a):
        with lib.no_grad():
            c.add_(1)
        return a * 2

    return f


def _no_grad_call(lib, fn):
    with lib.no_grad():
        return fn()


CLOSURE_CASES = {
    "grad": "captured",
    "vjp": "captured",
    "jvp": "captured",
    "jacrev": "captured",
    "vmap_alone": "ok",
    "view_inside": "captured",
    "view_outside": "captured",
    "detach": "captured",
    "data": "captured",
    "no_grad_inside": "captured",
    "no_grad_outside": "captured",
    "zero_size": "captured",
    "integer": "captured",
    "made_inside": "ok",
    "out_target": "ok",
    "non_argnum": "ok",
    "keyword": "ok",
    "jvp_second_primal": "ok",
    "jacrev_non_argnum": "ok",
    "jvp_primal": "ok",
    "vmap_of_grad": "captured",
    "grad_of_vmap": "captured",
    "grad_of_grad": "captured",
}


@pytest.mark.parametrize("case", list(CLOSURE_CASES))
def test_captured_write_cases(case):
    (call_c, w_c), (call_t, w_t) = _closure_case(cr, case), _closure_case(torch, case)
    (k_c, out_c), (k_t, out_t) = _outcome(call_c), _outcome(call_t)
    assert k_c == k_t == CLOSURE_CASES[case]
    np.testing.assert_array_equal(_np(w_c), _np(w_t))
    if k_t == "ok":
        np.testing.assert_allclose(_np(out_c), _np(out_t), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "op", ["relu_", "zero_", "fill_", "copy_", "mul_", "clamp_", "setitem", "normal_", "uniform_"]
)
def test_in_place_ops_on_captured_tensor(op):
    def run(lib):
        d = lib.tensor([-1.0, 0.5, 2.0], dtype=lib.float64)

        def f(a):
            if op == "fill_":
                d.fill_(2.0)
            elif op == "copy_":
                d.copy_(a.detach())
            elif op == "mul_":
                d.mul_(2)
            elif op == "clamp_":
                d.clamp_(0, 1)
            elif op == "setitem":
                d[0] = 5.0
            else:
                getattr(d, op)()
            return (a * 2).sum()

        kind, _ = _outcome(lambda: lib.func.grad(f)(lib.tensor(P)))
        return kind, _np(d)

    (k_c, d_c), (k_t, d_t) = run(cr), run(torch)
    assert k_c == k_t == "captured"
    np.testing.assert_array_equal(d_c, d_t)


@pytest.mark.parametrize("case", ["params_only", "buffers_captured", "buffers_as_input"])
def test_functional_call_buffers(case):
    def run(lib):
        F = lib.func
        bn = lib.nn.BatchNorm1d(3).double()
        x = lib.tensor(X)
        params = dict(bn.named_parameters())
        bufs = {k: v.clone() for k, v in bn.named_buffers()}
        calls = {
            "params_only": lambda: F.jvp(lambda a: F.functional_call(bn, params, (a,)), (x,), (x,)),
            "buffers_captured": lambda: F.grad(
                lambda p: F.functional_call(bn, {**p, **bufs}, (x,)).sum()
            )(params),
            "buffers_as_input": lambda: F.grad(
                lambda p, b: F.functional_call(bn, {**p, **b}, (x,)).sum()
            )(params, bufs),
        }
        kind, _ = _outcome(calls[case])
        return kind, [_np(t) for t in (*bn.buffers(), *bufs.values())]

    (k_c, b_c), (k_t, b_t) = run(cr), run(torch)
    assert k_c == k_t == ("ok" if case == "buffers_as_input" else "captured")
    for a, b in zip(b_c, b_t, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("outer", ["grad", "jvp"])
@pytest.mark.parametrize("target", ["outer_primal", "made_in_outer"])
def test_nested_inner_transform_captures_outer_tensors(outer, target):
    """A tensor of the outer transform (its primal, or one its function made) is captured
    by the inner transform."""

    def run(lib):
        F = lib.func

        def f(a):
            t = a if target == "outer_primal" else a * 1
            return F.jvp(lambda z: (t.add_(1), z * 2)[1], (a * 1,), (a * 1,))[1].sum()

        p = lib.tensor(P)
        if outer == "grad":
            return _outcome(lambda: F.grad(f)(p))[0]
        return _outcome(lambda: F.jvp(f, (p.clone(),), (p,)))[0]

    assert run(cr) == run(torch) == "captured"


def test_refusal_leaves_no_guard_behind():
    c = cr.zeros(3, dtype=cr.float64)
    with pytest.raises(RuntimeError, match="mutate a captured Tensor"):
        cr.func.jvp(lambda a: c.mul_(2) * a, (cr.tensor(P),), (cr.tensor(P),))
    c.add_(1)  # outside the transform: written
    cr.autograd.functional.jacobian(lambda a: (c.add_(1), a * 2)[1], cr.tensor(P))
    np.testing.assert_array_equal(
        c.numpy(), [2.0, 2.0, 2.0]
    )  # torch.autograd.functional: no refusal
    from chainrule.autograd import forward_ad_captures as guard

    assert guard.GUARDING[0] == 0 and not guard._CAPTURED.stack


def test_linearize_runs_func_again_without_refusal():
    """PyTorch traces ``func`` once at ``linearize`` (its writes happen there); chainrule's
    ``jvp_fn`` runs it again, so a captured write there is not refused."""
    c = cr.zeros(3, dtype=cr.float64)
    out, jvp_fn = cr.func.linearize(lambda a: (c.add_(1), a * 2)[1], cr.tensor(P))
    np.testing.assert_allclose(jvp_fn(cr.ones(3, dtype=cr.float64)).numpy(), [2.0, 2.0, 2.0])


def test_other_threads_write_while_a_transform_runs():
    """The refusal is the transform's thread's own: another thread writes the same tensor."""
    c = cr.zeros(3, dtype=cr.float64)
    entered, written = threading.Event(), threading.Event()
    errors: list = []

    def writer():
        entered.wait(10)
        try:
            c.add_(1)
        except RuntimeError as err:  # pragma: no cover - the failure being tested for
            errors.append(err)
        written.set()

    def f(a):
        entered.set()
        written.wait(10)
        return (a * 2).sum()

    t = threading.Thread(target=writer)
    t.start()
    cr.func.grad(f)(cr.tensor(P))
    t.join()
    assert not errors
    np.testing.assert_array_equal(c.numpy(), [1.0, 1.0, 1.0])
