"""Version counters and aliasing as PyTorch's, seventh pass (session 43), against torch:

- the gradients of the ops session 42's survey left (their backward's last step): the FFTs'
  real part handed on as a view of the complex adjoint (PyTorch's ``at::real``: a leaf's
  ``.grad`` is then a copy, version 1), rms_norm's ``x.pow(2)`` (one PowBackward0),
  BCE-with-logits's in-place steps (sub_, mul_, weight, mean; target and ``pos_weight``
  included, over dtypes), mm's gradient of a column-major operand computed column-major
  (taken through ``.t()`` as ``.grad``, version 0);
- leaves written as soon as they are ready (post-accumulate-grad hooks): taken or copied by
  whether something still holds the gradient, as PyTorch's AccumulateGrad (``use_count``);
- in-place writes into an inference tensor outside inference mode: written, then refused
  (the value a user sees after the failed call is PyTorch's);
- ``x * 1``'s gradient under ``create_graph`` is a MulBackward0 (PyTorch always multiplies);
- ``retain_grad()``'s ``.grad`` a copy, never the memory of the gradient that flows on.
"""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

import chainrule as cr

from .test_versions_session42 import _grads

__all__: list[str] = []

# ------------------------------------------------------------ item 1: backward rules
OPS = {
    "ifft": "t.fft.ifft(p).real",
    "rfft_sum_abs": "t.fft.rfft(p).abs().sum()",
    "rfftn": "t.fft.rfftn(m).imag",
    "fftn": "t.fft.fftn(m).abs()",
    "hfft": "t.fft.hfft(t.complex(p, q))",
    "fft_of_product": "t.fft.fft(p * q).real",
    "rfft_t": "t.fft.rfft(m.t(), dim=0).real",
    "irfft_complex": "t.fft.irfft(t.complex(p, q))",
    "rms_norm_no_weight": "F.rms_norm(m, (3,))",
    "rms_norm_2d": "F.rms_norm(m, (2, 3), k)",
    "rms_norm_eps": "F.rms_norm(m, (3,), p, eps=1e-3)",
    "mm_t": "m @ w.t()",
    "mm_both_t": "w.t() @ m.t()",
    "mm_left_t": "m.t() @ k",
    "mm_fn_t": "t.mm(m, w.t())",
    "mm_double_t": "m.t().t() @ w.t()",
    "matmul_1d_t_left": "k.t() @ m",
    "mv_t": "t.mv(w.t(), p)",
    "matmul_t_1d": "w.t() @ p",
    "matmul_same_t": "w.t() @ w",
    "matmul_1d_tt": "p @ w.t().t()",
    "matmul_3d_by_t": "t.matmul(m[None], w.t())",
}

# "matmul_3d_by_t": PyTorch folds a batch times a matrix into one mm (the column-major rule
# then applies to w's gradient); chainrule since session 44 too (matmul_arrays.fold_grads)


@pytest.mark.parametrize("name", list(OPS))
def test_grad_version_and_memory_as_torch(name: str) -> None:
    assert _grads(cr, OPS[name]) == _grads(torch, OPS[name])


def test_matmul_column_major_gradients_values_and_create_graph() -> None:
    """The column-major products give PyTorch's values, first order and double backward."""
    got = []
    for lib in (cr, torch):
        m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, dtype=lib.float64)
        w = lib.tensor([[2.0, 1.0, 0.5], [1.0, 3.0, 2.0], [0.0, 1.0, 4.0]], dtype=lib.float64)
        w.requires_grad_()
        y = (w.t() @ m.t()).sin().sum()
        gw, gm = lib.autograd.grad(y, [w, m], create_graph=True)
        (gw.sum() + gm.square().sum()).backward()
        got.append([x.detach().reshape(-1).tolist() for x in (gw, gm, w.grad, m.grad)])
    for a, b in zip(*got):
        assert a == pytest.approx(b, rel=1e-12)


def _bce(lib, weight: bool, pos: bool, reduction: str, target_grad: bool, dtypes: str) -> tuple:
    x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 0.2, -1.0]], requires_grad=True)
    t = lib.tensor([[0.1, 0.2, 0.9], [0.5, 0.3, 0.7]], requires_grad=target_grad)
    if dtypes == "mixed":  # the target's dtype wider: PyTorch's engine casts some
        t = t.detach().double().requires_grad_(target_grad)
    elif dtypes == "half":
        x, t = x.detach().half().requires_grad_(), t.detach().half().requires_grad_(target_grad)
    kw = {}
    if weight:
        kw["weight"] = lib.tensor([1.0, 2.0, 0.5])
    if pos:
        kw["pos_weight"] = lib.tensor([1.5, 2.0, 0.5])
    y = lib.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw)
    y.backward(lib.ones_like(y))
    return x.grad._version, (t.grad._version if target_grad else None)


@pytest.mark.parametrize("dtypes", ["same", "mixed", "half"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight,pos,target_grad", list(itertools.product([False, True], repeat=3)))
def test_bce_with_logits_grad_versions_as_torch(
    weight: bool, pos: bool, reduction: str, target_grad: bool, dtypes: str
) -> None:
    """PyTorch's backward counts its in-place steps on both gradients; one computed in
    another dtype than its input's is cast by the engine (a new tensor, version 0)."""
    args = (weight, pos, reduction, target_grad, dtypes)
    assert _bce(cr, *args) == _bce(torch, *args)


def _bce_create_graph(lib, weight: bool, pos: bool, reduction: str, target_grad: bool) -> tuple:
    f64 = lib.float64
    x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 0.2, -1.0]], requires_grad=True, dtype=f64)
    t = lib.tensor([[0.1, 0.2, 0.9], [0.5, 0.3, 0.7]], requires_grad=target_grad, dtype=f64)
    kw = {}
    if weight:
        kw["weight"] = lib.tensor([1.0, 2.0, 0.5], dtype=f64)
    if pos:
        kw["pos_weight"] = lib.tensor([1.5, 2.0, 0.5], dtype=f64)
    y = lib.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw)
    ins = [x, t] if target_grad else [x]
    grads = lib.autograd.grad(y, ins, lib.ones_like(y), create_graph=True)
    (sum(g.sum() for g in grads) * 1.5).backward()
    # (PyTorch's C++ div_ by a Scalar is DivBackward1: chainrule's too since session 44)
    names = [g.grad_fn.name() for g in grads]
    values = [g.detach().reshape(-1).tolist() for g in grads] + [x.grad.reshape(-1).tolist()]
    return [g._version for g in grads], names, values


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight,pos,target_grad", list(itertools.product([False, True], repeat=3)))
def test_bce_with_logits_create_graph_as_torch(
    weight: bool, pos: bool, reduction: str, target_grad: bool
) -> None:
    """Under ``create_graph`` PyTorch's input gradient is out of place but for 'mean''s
    ``div_``; the target's keeps its in-place steps: versions, nodes and values."""
    args = (weight, pos, reduction, target_grad)
    got, want = _bce_create_graph(cr, *args), _bce_create_graph(torch, *args)
    assert got[:2] == want[:2]
    for a, b in zip(got[2], want[2]):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)


# ----------------------------------------- item 2: post-accumulate-grad hooks, leaves ready
HOOKED = [
    "(p + q).view(3)",
    "p.view(3)",
    "p.view(3) + q",
    "p.view(3) + q.view(3)",
    "p + q",
    "(p * q).view(3)",
    "(p + q).exp().sum()",
    "(p + q).view(3, 1)",
    "(p + q + p).exp().sum()",
    "p.view(3) * 2 + q",
]


def _hooked_run(lib, expr: str, hooks: bool) -> tuple:
    """backward with a caller's gradient of version 2, post-accumulate-grad hooks on both
    leaves (or none): each .grad's version and memory, then after ``g.add_(1)``."""
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    if hooks:
        for name, x in (("p", p), ("q", q)):
            x.register_post_accumulate_grad_hook(
                lambda t, name=name: seen.append((name, t.grad._version, t.grad.tolist()))
            )
    y = eval(expr, {"p": p, "q": q})
    g = lib.ones(y.shape)
    g.add_(1)
    g.add_(1)
    y.backward(g)
    ins = [x for x in (p, q) if x.grad is not None]
    first = [(x.grad._version, x.grad.data_ptr() == g.data_ptr()) for x in ins]
    shared = len({x.grad.data_ptr() for x in ins}) != len(ins)
    g.add_(1)
    return first, [x.grad._version for x in ins], shared, sorted(seen)


@pytest.mark.parametrize("hooks", [True, False])
@pytest.mark.parametrize("expr", HOOKED)
def test_leaves_written_when_ready_take_or_copy_as_torch(expr: str, hooks: bool) -> None:
    """With post-accumulate-grad hooks a leaf is written as soon as it is ready: taken (a
    view of the caller's gradient shared) unless a later leaf or node still holds the
    gradient (copied, version 1), as PyTorch's AccumulateGrad decides by ``use_count``."""
    assert _hooked_run(cr, expr, hooks) == _hooked_run(torch, expr, hooks)


def test_leaf_ready_early_copies_gradient_still_held() -> None:
    """The hook of the first-ready leaf writes into its .grad; a gradient still on its way
    to a node that runs later must not see it (PyTorch: a copy)."""
    out = []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        q = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)

        def scale(t):  # writes into the first-ready leaf's .grad (q's is still on its way)
            t.grad.mul_(100)

        p.register_post_accumulate_grad_hook(scale)
        h = p + q.exp()
        (h * h).sum().backward()
        out.append((p.grad.tolist(), q.grad.tolist(), p.grad._version))
    assert out[0][2] == out[1][2]
    for a, b in zip(out[0][:2], out[1][:2]):
        assert a == pytest.approx(b)


# --------------------------------------------------- item 2: inference tensors written
INFERENCE = {
    "add_": "b.add_(1)",
    "mul_": "b.mul_(2)",
    "sub_tensor": "b.sub_(lib.ones(3))",
    "copy_": "b.copy_(lib.zeros(3))",
    "zero_": "b.zero_()",
    "fill_": "b.fill_(3)",
    "setitem": "b.__setitem__(0, 5.0)",
    "view_add_": "b[0].add_(1)",
    "clamp_": "b.clamp_(0, 0.5)",
    "neg_relu_": "b.neg_().relu_()",
    "index_add_": "b.index_add_(0, lib.tensor([0]), lib.ones(1))",
    "masked_fill_": "b.masked_fill_(lib.tensor([True, False, True]), 7.0)",
    "index_fill_": "b.index_fill_(0, lib.tensor([1]), 9.0)",
    "scatter_": "b.scatter_(0, lib.tensor([2]), lib.tensor([4.0]))",
    "add_grad": "b.add_(x)",
    "mul_grad": "b.mul_(x)",
    "copy_grad": "b.copy_(x)",
    "div_": "b.div_(2)",
    "lerp_": "b.lerp_(lib.zeros(3), 0.5)",
    "addcmul_grad": "b.addcmul_(x, x)",
    "t_": "m.t_()",
    "unsqueeze_": "b.unsqueeze_(0)",
    "uniform_": "b.uniform_(5, 5)",
    "sum_out": "lib.sum(lib.ones(2, 3), 0, out=b)",
    "add_out": "lib.add(lib.ones(3), 1, out=b)",
    "iadd": "b.__iadd__(1)",
    "cumsum_": "b.cumsum_(0)",
    "fill_diagonal_": "m.fill_diagonal_(4.0)",
    "tril_": "m2.tril_()",
    "long_mul_float": "bl.mul_(1.5)",
    "data_add_": "b.data.add_(1)",
    "requires_grad_": "b.requires_grad_()",
    "set_requires_grad": "setattr(b, 'requires_grad', True)",
}


def _inference_run(lib, expr: str) -> tuple:
    x = lib.full((3,), 2.0, requires_grad=True)
    with lib.inference_mode():
        b, m, m2 = lib.ones(3), lib.ones(1, 3), lib.ones(3, 3)
        bl = lib.ones(3, dtype=lib.long)
    env = {"lib": lib, "b": b, "x": x, "m": m, "m2": m2, "bl": bl}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eval(expr, env)
        outcome: tuple = ("ok",)
    except RuntimeError as e:  # PyTorch's first line (chainrule's detail may follow)
        outcome = ("raise", str(e).split("\n")[0])
    try:
        version: object = b._version
    except RuntimeError:
        version = "no version"
    values = [v.tolist() for v in (b, m, m2, bl)]
    return outcome, values, [tuple(v.shape) for v in (b, m)], b.requires_grad, version


@pytest.mark.parametrize("name", list(INFERENCE))
def test_inplace_into_inference_tensor_writes_then_raises_as_torch(name: str) -> None:
    """PyTorch's check runs after its kernel: the tensor holds the new value when the
    error is raised (chainrule refused before writing until session 43)."""
    got, want = _inference_run(cr, INFERENCE[name]), _inference_run(torch, INFERENCE[name])
    assert got == want


def test_inplace_cast_error_in_torchs_words() -> None:
    for make in (
        lambda lib: lib.ones(3, dtype=lib.long).mul_(1.5),
        lambda lib: lib.ones(3).add_(lib.ones(3, dtype=lib.complex64)),
        lambda lib: lib.ones(3, dtype=lib.int32).div_(2),
    ):
        with pytest.raises(RuntimeError) as want:
            make(torch)
        with pytest.raises(RuntimeError) as got:
            make(cr)
        assert str(got.value).split("\n")[0] == str(want.value)


# ------------------------------------------- item 2: create_graph, x * 1 multiplies
def _names(fn, depth: int = 3) -> str:
    if fn is None or depth == 0:
        return ""
    inner = ",".join(_names(f, depth - 1) for f, _ in fn.next_functions)
    return f"{fn.name()}({inner})"


MUL_BY = ["(a * 1).exp()", "(a * -1).exp()", "(1 * a).exp()", "(a * True).exp()", "a * 1"]


@pytest.mark.parametrize("expr", MUL_BY)
def test_mul_by_one_backward_multiplies_under_create_graph(expr: str) -> None:
    out = []
    for lib in (cr, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad(eval(expr, {"a": a}).sum(), a, create_graph=True)
        out.append((_names(g.grad_fn), g._version))
    assert out[0] == out[1]


def test_view_create_graph_gradient_node_as_torch() -> None:
    """Session 42's ``view_create_graph`` case: ``a * 1``'s backward is the last node of
    the gradient (PyTorch's MulBackward0, chainrule's AddBackward0 until session 43)."""
    out = []
    for lib in (cr, torch):
        a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], requires_grad=True)
        x = a * 1
        x.diagonal().mul_(x.diagonal().clone())
        (g,) = lib.autograd.grad(x.sum(), a, create_graph=True)
        out.append((g.grad_fn.name(), g._version, g.tolist()))
    assert out[0] == out[1]
