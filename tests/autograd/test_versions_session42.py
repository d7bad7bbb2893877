"""Version counters as PyTorch's, sixth pass (session 42): ``p.grad._version``, whether
``p.grad`` is a view and whether it shares memory with the caller's gradient, after one
backward through each of ~90 ops (linalg, fft, pooling, norm layers, losses, cat/stack/split,
where, masked_fill, index_put, scatter, ...); the gaps session 41 left (``m[True]``, a double
transpose's gradient reaching another leaf too, ``F.linear`` of a 1-d input without bias);
a view of the caller's gradient taken as ``.grad`` as it is (its memory and counter), with
and without ``inputs=``; and the per-backward state of ``leaf_grad`` (``OwnedArrays``): a
backward run inside a hook or by another thread at the same time does not change the
versions the outer one gives. Remaining gaps are xfail(strict).
"""

from __future__ import annotations

import threading

import pytest
import torch

import chainrule as cr

__all__: list[str] = []

# one backward (gradient ones) into fresh leaves p, q (3), m, k (2x3), w (3x3)
OPS = {
    "linalg_inv": "t.linalg.inv(w)",
    "linalg_det": "t.linalg.det(w)",
    "linalg_norm": "t.linalg.norm(m)",
    "linalg_vector_norm": "t.linalg.vector_norm(p)",
    "linalg_matrix_norm": "t.linalg.matrix_norm(m)",
    "svdvals": "t.linalg.svdvals(m)",
    "qr": "t.linalg.qr(w)[1]",
    "cholesky": "t.linalg.cholesky(w @ w.t() + t.eye(3))",
    "slogdet": "t.linalg.slogdet(w)[1]",
    "irfft": "t.fft.irfft(p)",
    "max_pool1d": "F.max_pool1d(m[None], 2)",
    "avg_pool1d": "F.avg_pool1d(m[None], 2)",
    "max_pool2d": "F.max_pool2d(m[None, None], 2, 1)",
    "avg_pool2d": "F.avg_pool2d(m[None, None], 2, 1)",
    "adaptive_avg": "F.adaptive_avg_pool1d(m[None], 1)",
    "adaptive_max": "F.adaptive_max_pool1d(m[None], 1)",
    "layer_norm": "F.layer_norm(m, (3,), p, q)",
    "batch_norm": "F.batch_norm(m, None, None, p, q, training=True)",
    "group_norm": "F.group_norm(m[None], 1)",
    "instance_norm": "F.instance_norm(m[None])",
    "mse": "F.mse_loss(m, k)",
    "l1": "F.l1_loss(m, k)",
    "smooth_l1": "F.smooth_l1_loss(m, k)",
    "nll": "F.nll_loss(m, t.tensor([0, 2]))",
    "kl_div": "F.kl_div(m, k, reduction='batchmean')",
    "huber": "F.huber_loss(m, k)",
    "rnn_cell": "F.linear(p, w, q).tanh()",
    "cat": "t.cat([p, q])",
    "cat_same": "t.cat([p, p])",
    "stack": "t.stack([p, q])",
    "split0": "p.split(2)[0]",
    "split1": "p.split(2)[1]",
    "split_all": "t.cat(p.split(1))",
    "chunk": "m.chunk(2)[1]",
    "unbind": "m.unbind()[0]",
    "where": "t.where(p > 1, p, q)",
    "where_scalar": "t.where(p > 1, p, 0.0)",
    "masked_fill": "p.masked_fill(p > 1, 0.0)",
    "index_put": "p.index_put((t.tensor([0]),), t.tensor(5.0))",
    "index_put_vals": "p.index_put((t.tensor([0]),), q[0])",
    "scatter": "p.scatter(0, t.tensor([0]), q[:1])",
    "scatter_add": "p.scatter_add(0, t.tensor([0, 0]), q[:2])",
    "index_add": "p.index_add(0, t.tensor([0]), q[:1])",
    "clamp": "p.clamp(1.5, 2.5)",
    "relu": "t.relu(p - 2)",
    "softmax": "p.softmax(0)",
    "log_softmax": "p.log_softmax(0)",
    "cumsum": "p.cumsum(0)",
    "cumprod": "p.cumprod(0)",
    "flip": "p.flip(0)",
    "roll": "p.roll(1)",
    "repeat": "p.repeat(2)",
    "tile": "p.tile(2)",
    "narrow": "m.narrow(1, 0, 2)",
    "diag": "t.diag(p)",
    "diag_embed": "t.diag_embed(p)",
    "tril": "w.tril()",
    "outer": "t.outer(p, q)",
    "einsum": "t.einsum('ij,j->i', m, p)",
    "bmm": "t.bmm(m[None], w[None])",
    "unfold": "p.unfold(0, 2, 1)",
    "movedim": "m.movedim(0, 1)",
    "squeeze": "m[None].squeeze(0)",
    "view_as_real": "t.view_as_real(t.complex(p, q))",
    "prod": "p.prod()",
    "var": "m.var(1)",
    "std": "p.std()",
    "norm": "p.norm()",
    "dist": "t.dist(p, q)",
    "cdist": "t.cdist(m, k)",
    "pad": "F.pad(p, (1, 1))",
    "interpolate": "F.interpolate(m[None], scale_factor=2)",
    "embedding_bag": "F.embedding_bag(t.tensor([0, 2]), w, t.tensor([0]))",
    "dropout_eval": "F.dropout(p, training=False)",
    "gelu": "F.gelu(p)",
    "lerp": "t.lerp(p, q, 0.3)",
    "addmm": "t.addmm(p, m, w)",
    "matmul_1d": "p @ w",
    "mv": "w.mv(p)",
    # session 41's gaps, fixed in session 42
    "index_true_2d": "m[True]",
    "index_true_1d": "p[True]",
    "index_true_ellipsis": "m[..., True]",
    "index_0d_true": "m[t.tensor(True)]",
    "index_false": "m[False]",
    "index_none_true": "m[None, True]",
    "add_double_t": "(m + k.t().t()).exp().sum()",
    "add_view_view": "(m + k.view(6).view(2, 3)).exp().sum()",
    "add_double_t_twice": "(m + k.t().t() + m).exp().sum()",
    "linear_1d": "F.linear(p, w)",
    "linear_1d_bias": "F.linear(p, w, q)",
    "sdpa": "F.scaled_dot_product_attention(m[None], k[None], k[None])",
    "sdpa_self": "F.scaled_dot_product_attention(m[None], m[None], m[None])",
}

# found by the session 42 survey (then strict xfails), mirrored in session 43: the real
# part of an FFT's adjoint handed on as a view (PyTorch's at::real), rms_norm's x.pow(2),
# BCE-with-logits's in-place steps counted, mm's column-major operand's gradient
# column-major; linalg.solve's result column-major as PyTorch's
OPS.update(
    {
        "linalg_solve": "t.linalg.solve(w, m.t())",
        "fft": "t.fft.fft(p).abs()",
        "rfft": "t.fft.rfft(p).real",
        "fft2": "t.fft.fft2(m).real",
        "rms_norm": "F.rms_norm(m, (3,), p)",
        "bce_logits": "F.binary_cross_entropy_with_logits(m, k.detach() / 10)",
        "matmul_1d_t": "p @ w.t()",
    }
)


def _grads(lib, expr: str) -> list:
    """(name, .grad._version, .grad._base is None) per leaf that got a gradient, and whether
    two leaves' ``.grad`` share memory."""
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([0.5, 1.5, 2.5], requires_grad=True)
    m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    k = lib.tensor([[1.0, 2.5, 3.0], [4.0, 5.0, 6.5]], requires_grad=True)
    w = lib.tensor([[2.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.5, -1.0, 2.0]], requires_grad=True)
    env = {"t": lib, "F": lib.nn.functional, "p": p, "q": q, "m": m, "k": k, "w": w}
    y = eval(expr, env)
    y.backward(lib.ones_like(y))
    leaves = [(n, env[n]) for n in "pqmkw" if env[n].grad is not None]
    out = [(n, x.grad._version, x.grad._base is None) for n, x in leaves]
    ptrs = [x.grad.data_ptr() for _, x in leaves]
    return [*out, ("aliased", len(set(ptrs)) != len(ptrs))]


@pytest.mark.parametrize("name", list(OPS))
def test_grad_version_and_memory_as_torch(name: str) -> None:
    assert _grads(cr, OPS[name]) == _grads(torch, OPS[name])


def _linear_1d(lib, x_grad: bool, w_grad: bool) -> tuple:
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=x_grad)
    w = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=w_grad)
    y = lib.nn.functional.linear(p, w)
    first = (y._version, y._base is None, type(y.grad_fn).__name__, y.stride(), y.tolist())
    if y.requires_grad:
        y.sum().backward()
    y.add_(1)  # not a view: its own counter
    grads = [None if t.grad is None else t.grad.tolist() for t in (p, w)]
    return first, y._version, p._version, w._version, grads


@pytest.mark.parametrize("x_grad", [True, False])
@pytest.mark.parametrize("w_grad", [True, False])
def test_linear_1d_without_bias_is_squeezed_in_place_as_torch(x_grad: bool, w_grad: bool) -> None:
    """PyTorch's matmul of a 1-d input squeezes the product in place (``squeeze_``): not a
    view, version 1, SqueezeBackward4 (with grad mode or without)."""
    assert _linear_1d(cr, x_grad, w_grad) == _linear_1d(torch, x_grad, w_grad)


# ------------------------------------------------------ a view of the caller's gradient
CALLER = {
    "identity": "p",
    "view": "p.view(3)",
    "view_2d": "p.view(3, 1)",
    "unsqueeze": "p.unsqueeze(0)",
    "index_none": "p[None]",
    "view_t": "p.view(3, 1).t()",
    "mul": "p * 1",
    "expand": "p.expand(2, 3)",
    "flip": "p.flip(0)",
    "sum_then_view": "(p + q).view(3)",
    "view_add": "p.view(3) + q",
    "views_add": "p.view(3) + q.view(3)",
    "view_mul": "p.view(3) * q",
}


def _caller_run(lib, expr: str, entry: str) -> tuple:
    """backward with a gradient ``g`` of version 2, then ``g.add_(1)`` and a second backward:
    each leaf's .grad version, memory shared with ``g`` or not, values."""
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ins = [p, q] if "q" in expr.replace("unsqueeze", "") else [p]
    y = eval(expr, {"p": p, "q": q})
    g = lib.ones(y.shape)
    g.add_(1)
    g.add_(1)
    if entry == "plain":
        y.backward(g)
    elif entry == "method":
        y.backward(g, inputs=ins)
    else:
        lib.autograd.backward([y], [g], inputs=ins)
    first = [(t.grad._version, t.grad.data_ptr() == g.data_ptr()) for t in ins]
    g.add_(1)  # seen by a .grad that shares g's counter
    after = [t.grad._version for t in ins]
    eval(expr, {"p": p, "q": q}).backward(g)  # added into .grad in place (g's memory too)
    return first, after, g.tolist(), [t.grad.tolist() for t in ins]


@pytest.mark.parametrize("entry", ["plain", "method", "function"])
@pytest.mark.parametrize("name", list(CALLER))
def test_view_of_callers_gradient_becomes_grad_as_torch(name: str, entry: str) -> None:
    """PyTorch's AccumulateGrad takes a view of the caller's gradient as ``.grad`` (its
    memory and version counter); where it reaches two leaves, the first copies it."""
    assert _caller_run(cr, CALLER[name], entry) == _caller_run(torch, CALLER[name], entry)


def test_grad_of_one_gradient_for_two_inputs_is_one_tensor_as_torch() -> None:
    for lib in (cr, torch):
        p = lib.ones(3, requires_grad=True)
        q = lib.ones(3, requires_grad=True)
        a, b = lib.autograd.grad((p + q) * 2, [p, q], lib.ones(3))
        assert a is b


# ------------------------------------------- leaf_grad's state belongs to one backward
def _shared_gradient_versions(lib, during_hook=None) -> tuple:
    """``(p + q).exp().sum()``: one gradient reaches both leaves (PyTorch: the first copies
    it, version 1; the last takes it, 0); ``during_hook`` runs inside q's tensor hook and
    p's, between the two leaves' writes."""
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([0.5, 1.5, 2.5], requires_grad=True)
    if during_hook is not None:
        p.register_hook(lambda g: during_hook())
        q.register_hook(lambda g: during_hook())
    (p + q).exp().sum().backward()
    return p.grad._version, q.grad._version, p.grad.data_ptr() == q.grad.data_ptr()


def _inner_backward(lib) -> None:
    with lib.enable_grad():  # (backward runs hooks with grad mode off)
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([1.0, 2.0], requires_grad=True)
        (a + b).exp().sum().backward()
        assert (a.grad._version, b.grad._version) == (1, 0)


def test_backward_inside_a_hook_keeps_the_outer_versions_as_torch() -> None:
    """Until session 42 the record of the gradient a leaf took was a module global: a
    backward run in a hook between the outer backward's leaves overwrote it, and the outer
    one gave (0, 1) where PyTorch gives (1, 0)."""
    got = _shared_gradient_versions(cr, lambda: _inner_backward(cr))
    want = _shared_gradient_versions(torch, lambda: _inner_backward(torch))
    assert got == want == (1, 0, False)


def test_two_threads_backward_at_the_same_time_keep_their_versions() -> None:
    """Thread A's backward stops in a hook between its two leaves' writes until thread B
    has run a whole backward of the same shape (which records its own taken gradient); A's
    versions are still PyTorch's. Each thread has its own grad mode."""
    inside, done = threading.Event(), threading.Event()
    results: dict = {}
    errors: list = []

    def wait_for_b() -> None:
        inside.set()
        if not done.wait(30):
            raise RuntimeError("thread B did not finish")

    def run_a() -> None:
        try:
            results["a"] = _shared_gradient_versions(cr, wait_for_b)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            inside.set()

    def run_b() -> None:
        try:
            inside.wait(30)
            with cr.enable_grad():
                results["b"] = _shared_gradient_versions(cr)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
        finally:
            done.set()

    threads = [threading.Thread(target=run_a), threading.Thread(target=run_b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    want = _shared_gradient_versions(torch)
    assert results["a"] == results["b"] == want == (1, 0, False)


def test_owned_arrays_state_is_per_backward() -> None:
    """The engine gives each backward its own ``OwnedArrays``: no module state is left."""
    from chainrule.autograd import leaf_grad

    assert not hasattr(leaf_grad, "_TAKEN")
    a, b = leaf_grad.OwnedArrays({1}), leaf_grad.OwnedArrays()
    a.taken = (1, [0])
    assert b.taken is None and b.roots is None and b.shared is None
    assert 1 in a and 1 not in b


# ------------------------------------------------- AccumulateGrad pre hooks, checked
PREHOOKS = {
    "size": (
        lambda g: (g[0].sum(),),
        RuntimeError,
        "hook '<lambda>' has changed the size of value",
    ),
    "dtype": (lambda g: (g[0].double(),), RuntimeError, "has changed the type of value"),
    "count": (
        lambda g: (g[0], g[0]),
        RuntimeError,
        "has returned an incorrect number of values (got 2, but expected 1",
    ),
    "not_tuple": (lambda g: g[0], TypeError, ""),
}


@pytest.mark.parametrize("name", list(PREHOOKS))
def test_accumulate_grad_prehook_result_checked_as_torch(name: str) -> None:
    """An ``AccumulateGrad`` pre hook's result is checked as PyTorch checks a node pre
    hook's (its error type and words; chainrule's message names the node and says more)."""
    hook, err, words = PREHOOKS[name]
    for lib in (cr, torch):
        p = lib.ones(3, requires_grad=True)
        acc = p.view_as(p).grad_fn.next_functions[0][0]  # (kept: PyTorch's dies with it)
        acc.register_prehook(hook)
        with pytest.raises(err) as info:
            (p * 2).sum().backward()
        assert p.grad is None
        if lib is torch:
            assert words in str(info.value)
        else:
            for part in words.split("'<lambda>' "):
                assert part in str(info.value)


@pytest.mark.parametrize("returned", ["none", "doubled"])
def test_accumulate_grad_prehook_replacement_as_torch(returned: str) -> None:
    """``(None,)`` accumulates nothing (``.grad`` stays None), a replacement is added."""
    got = []
    for lib in (cr, torch):
        p = lib.ones(3, requires_grad=True)
        acc = p.view_as(p).grad_fn.next_functions[0][0]
        acc.register_prehook(lambda g: (None,) if returned == "none" else (g[0] * 2,))
        (p * 2).sum().backward()
        got.append(None if p.grad is None else (p.grad.tolist(), p.grad._version))
    assert got[0] == got[1]
