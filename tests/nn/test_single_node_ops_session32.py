"""Activations, losses and tensor ops that PyTorch records as ONE autograd node, compared
live with PyTorch: the node names along the whole graph (a breadth-first walk of
``next_functions``), the inputs each node lists, the ``_saved_*`` names and values, the
values, first and second derivatives, and the forward-mode tangents.

The ops: hardswish (``HardswishBackward0``), rrelu in training and evaluation
(``RreluWithNoiseBackward0``, the drawn noise saved), soft_margin_loss, multi_margin_loss,
multilabel_margin_loss, pixel_shuffle / pixel_unshuffle, channel_shuffle, take, polar,
matrix_exp (``LinalgMatrixExpBackward0``) and pdist (``PdistBackward0``). Where PyTorch's
gradient has no derivative (multi-margin, multi-label margin, pdist) differentiating it again
raises PyTorch's error.

Ops PyTorch itself composes (several nodes) are left as compositions and not compared here:
hinge_embedding_loss, gaussian_nll_loss, cosine_embedding_loss, triplet_margin_loss,
multilabel_soft_margin_loss, margin_ranking_loss (chainrule's differ in a few node names:
``ClampBackward1`` for ``ClampMinBackward0``, ``RsubBackward1`` for ``SubBackward0``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(3232)


def _data(*shape):
    return RNG.standard_normal(shape)


D = {
    "x": _data(4, 6) * 2,
    "y": _data(4, 6),
    "v": RNG.uniform(0.2, 2.0, (4, 6)),
    "a": RNG.uniform(-np.pi, np.pi, (4, 6)),
    "col": RNG.uniform(0.2, 2.0, (4, 1)),
    "img": _data(2, 8, 4, 6),
    "m": _data(2, 3, 3) * 0.8,
    "row": _data(6),
}
SIGNS = np.sign(_data(4, 6))
MM_T = np.array([1, 0, 5, 2])
ML_T = np.array([[1, 2, -1, 0, 0, 0], [5, 5, 0, -1, 3, 3], [0, 1, 2, 3, 4, 5], [-1, 0, 0, 0, 0, 0]])
W6 = RNG.uniform(0.5, 2.0, 6)
IDX = np.array([[0, -1, 7], [7, 23, 3]])


def _env(L):
    v = {k: L.tensor(a, dtype=L.float64, requires_grad=True) for k, a in D.items()}
    v["f32"] = L.tensor(D["x"], dtype=L.float32, requires_grad=True)
    return v


def _F(L):
    return L.nn.functional


def _c(L, a):
    return L.tensor(a)


CASES = {
    "hardswish": lambda L, v: _F(L).hardswish(v["x"]),
    "hardswish_f32": lambda L, v: _F(L).hardswish(v["f32"]),
    "rrelu_eval": lambda L, v: _F(L).rrelu(v["x"]),
    "rrelu_eval_bounds": lambda L, v: _F(L).rrelu(v["x"], 0.2, 0.6),
    "rrelu_train": lambda L, v: _F(L).rrelu(v["x"], 0.1, 0.4, training=True),
    "torch_rrelu_train": lambda L, v: L.rrelu(v["x"], training=True),
    "soft_margin_mean": lambda L, v: _F(L).soft_margin_loss(v["x"], _c(L, SIGNS)),
    "soft_margin_none": lambda L, v: _F(L).soft_margin_loss(v["x"], _c(L, SIGNS), reduction="none"),
    "soft_margin_sum_bcast": lambda L, v: _F(L).soft_margin_loss(
        v["x"], _c(L, SIGNS[0]), reduction="sum"
    ),
    "multi_margin": lambda L, v: _F(L).multi_margin_loss(v["x"], _c(L, MM_T)),
    "multi_margin_p2_weight": lambda L, v: _F(L).multi_margin_loss(
        v["x"], _c(L, MM_T), p=2, margin=0.5, weight=_c(L, W6), reduction="sum"
    ),
    "multi_margin_none": lambda L, v: _F(L).multi_margin_loss(
        v["x"], _c(L, MM_T), margin=2, reduction="none"
    ),
    "multi_margin_1d": lambda L, v: _F(L).multi_margin_loss(v["row"], _c(L, MM_T[:1])),
    "multilabel_margin": lambda L, v: _F(L).multilabel_margin_loss(v["x"], _c(L, ML_T)),
    "multilabel_margin_none": lambda L, v: _F(L).multilabel_margin_loss(
        v["x"], _c(L, ML_T), reduction="none"
    ),
    "multilabel_margin_1d": lambda L, v: _F(L).multilabel_margin_loss(v["row"], _c(L, ML_T[1])),
    "pixel_shuffle": lambda L, v: _F(L).pixel_shuffle(v["img"], 2),
    "pixel_unshuffle": lambda L, v: _F(L).pixel_unshuffle(v["img"], 2),
    "channel_shuffle": lambda L, v: _F(L).channel_shuffle(v["img"], 4),
    "take": lambda L, v: L.take(v["x"], _c(L, IDX)),
    "polar": lambda L, v: L.polar(v["v"], v["a"]),
    "polar_bcast": lambda L, v: L.polar(v["col"], v["a"]),
    "polar_abs_only": lambda L, v: L.polar(v["v"], v["a"].detach()),
    "matrix_exp": lambda L, v: L.matrix_exp(v["m"]),
    "linalg_matrix_exp_scaled": lambda L, v: L.linalg.matrix_exp(v["m"] * 4),
    "pdist": lambda L, v: _F(L).pdist(v["x"]),
    "pdist_p1": lambda L, v: _F(L).pdist(v["x"], 1.0),
    "pdist_p3": lambda L, v: _F(L).pdist(v["x"], 3),
    "pdist_p_half": lambda L, v: _F(L).pdist(v["x"], 0.5),
}
RANDOM = {"rrelu_train", "torch_rrelu_train"}  # drawn: run each library from one seed


def _run(name, L):
    v = _env(L)
    if name in RANDOM:
        L.manual_seed(7)
    return v, CASES[name](L, v)


def _shown(value, lib):
    if isinstance(value, lib.Tensor):
        return ("tensor", tuple(value.shape), np.asarray(value.detach().numpy()))
    return value


def _graph(out, lib):
    """(name, listed inputs, {saved name: value}) per node, breadth first."""
    nodes, seen, todo = [], set(), [out.grad_fn]
    while todo:
        node = todo.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        listed = [None if f is None else f.name() for f, _ in node.next_functions]
        saved = {
            k: _shown(getattr(node, k), lib) for k in sorted(dir(node)) if k.startswith("_saved_")
        }
        nodes.append((node.name(), listed, saved))
        todo.extend(f for f, _ in node.next_functions)
    return nodes


def _same(a, b):
    if isinstance(a, tuple) and len(a) == 3 and a[:1] == ("tensor",):
        return b[:2] == a[:2] and np.allclose(a[2], b[2], rtol=1e-6, atol=1e-7, equal_nan=True)
    if isinstance(a, float) and isinstance(b, (int, float)):
        return a == pytest.approx(b)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_node_and_saved_fields_as_torch(name):
    expected = _graph(_run(name, torch)[1], torch)
    got = _graph(_run(name, cr)[1], cr)
    assert [n for n, _, _ in got] == [n for n, _, _ in expected]
    for (n, listed_t, saved_t), (_, listed_c, saved_c) in zip(expected, got):
        assert listed_c == listed_t, n
        assert sorted(saved_c) == sorted(saved_t), n
        for k in saved_t:
            if name.startswith("rrelu_eval") and k == "_saved_noise":
                continue  # PyTorch leaves it uninitialised in evaluation
            assert _same(saved_t[k], saved_c[k]), (n, k)


NO_SECOND = {  # PyTorch's gradient has no derivative: (error type, text)
    "multi_margin": (RuntimeError, "derivative for aten::multi_margin_loss_backward"),
    "multilabel_margin": (RuntimeError, "derivative for aten::multilabel_margin_loss_backward"),
    "pdist": (NotImplementedError, "the derivative for '_pdist_backward' is not implemented"),
}


def _no_second(name):
    return next((v for k, v in NO_SECOND.items() if name.startswith(k)), None)


def _loss(out):
    w = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).reshape(out.shape)
    if isinstance(out, cr.Tensor):
        w = cr.tensor(w.numpy())
    if out.is_complex():
        return (out.abs() ** 2 * w).sum() + (out.real * w).sum()
    return (out * w.to(out.dtype)).sum() + (out**2).sum()


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_gradients_and_second_derivatives_as_torch(name):
    results = []
    for lib in (torch, cr):
        v, out = _run(name, lib)
        leaves = [t for t in v.values() if t.requires_grad and t.grad_fn is None]
        grads = lib.autograd.grad(_loss(out), leaves, create_graph=True, allow_unused=True)
        pairs = [(t, g) for t, g in zip(leaves, grads) if g is not None]
        second = None
        if _no_second(name) is None:
            total = sum((g**2).sum() for _, g in pairs)
            second = lib.autograd.grad(total, [t for t, _ in pairs], allow_unused=True)
            second = [None if s is None else s.numpy() for s in second]
        results.append((out.detach().numpy(), [g.detach().numpy() for _, g in pairs], second))
    (yt, gt, st), (yc, gc, sc) = results
    tol = {"rtol": 1e-5, "atol": 1e-6} if yt.dtype in (np.float32, np.complex64) else {}
    np.testing.assert_allclose(yc, yt, **(tol or {"rtol": 1e-9, "atol": 1e-12}))
    assert len(gc) == len(gt)
    for a, b in zip(gt, gc):
        np.testing.assert_allclose(b, a, **(tol or {"rtol": 1e-8, "atol": 1e-10}))
    for a, b in zip(st or (), sc or ()):
        if a is None:
            assert b is None or not np.any(b)
        else:
            np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(n for n in CASES if _no_second(n)))
def test_second_derivative_raises_as_torch(name):
    kind, text = _no_second(name)
    for lib in (torch, cr):
        v, out = _run(name, lib)
        leaf = v["row"] if name.endswith("_1d") else v["x"]
        (g,) = lib.autograd.grad(out.sum(), leaf, create_graph=True)
        assert g.requires_grad
        with pytest.raises(kind, match=text.replace("(", r"\(").replace("'", ".")):
            lib.autograd.grad(g.sum(), leaf)


JVP_CASES = sorted(n for n in CASES if not _no_second(n) and n not in RANDOM)


@pytest.mark.parametrize("name", JVP_CASES)
def test_forward_mode_as_torch(name):
    outs = []
    for lib in (torch, cr):
        v = _env(lib)
        keys = [k for k in D if k in ("x", "v", "a", "col", "img", "m", "row")]

        def fn(*args, lib=lib, v=v, keys=keys):
            w = dict(v)
            w.update(zip(keys, args))
            out = CASES[name](lib, w)
            return lib.view_as_real(out) if out.is_complex() else out

        prim = tuple(v[k].detach() for k in keys)
        tans = tuple(lib.tensor(np.cos(np.arange(p.numel())).reshape(p.shape)) for p in prim)
        tans = tuple(t.to(p.dtype) for t, p in zip(tans, prim))
        outs.append(lib.func.jvp(fn, prim, tans)[1].detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-8, atol=1e-10)


def test_chainrule_tangents_where_torch_has_none_match_reverse_mode():
    """multi-margin, multi-label margin and pdist have no forward-mode rule in PyTorch;
    chainrule's tangent is its own reverse-mode gradient applied to the tangent."""
    x = cr.tensor(D["x"])
    t = cr.tensor(np.cos(np.arange(24.0)).reshape(4, 6))
    fns = [
        lambda a: cr.nn.functional.multi_margin_loss(a, cr.tensor(MM_T), p=2, margin=0.5),
        lambda a: cr.nn.functional.multilabel_margin_loss(a, cr.tensor(ML_T), reduction="none"),
        lambda a: cr.nn.functional.pdist(a, 3),
    ]
    for fn in fns:
        tangent = cr.func.jvp(fn, (x,), (t,))[1].numpy()
        _, vjp = cr.func.vjp(fn, x)
        rows = []
        for i in range(tangent.size):
            e = np.zeros(tangent.size)
            e[i] = 1.0
            (g,) = vjp(cr.tensor(e.reshape(tangent.shape)))
            rows.append((g.numpy() * t.numpy()).sum())
        np.testing.assert_allclose(tangent.reshape(-1), rows, rtol=1e-10, atol=1e-12)


def test_torch_refuses_what_chainrule_refuses():
    for lib in (torch, cr):
        x = lib.tensor(D["x"], requires_grad=True)
        w = lib.tensor(W6, requires_grad=True)
        with pytest.raises(RuntimeError, match="not differentiable with respect to argument"):
            lib.nn.functional.multi_margin_loss(x, lib.tensor(MM_T), weight=w)
        with pytest.raises(NotImplementedError, match="multi_margin_loss_cpu_kernel"):
            lib.nn.functional.multi_margin_loss(lib.ones(2, 3, dtype=lib.int64), lib.tensor([0, 1]))


def test_empty_pixel_unshuffle_keeps_its_shape_as_torch():
    """PyTorch returns an empty input's copy unshaped; chainrule too (and differentiates it)."""
    for lib in (torch, cr):
        x = lib.zeros(3, 0, 4, 2, requires_grad=True)
        y = lib.nn.functional.pixel_unshuffle(x, 2)
        assert tuple(y.shape) == (3, 0, 4, 2)
    y.sum().backward()  # (PyTorch's backward refuses its own gradient's shape here)
    assert tuple(x.grad.shape) == (3, 0, 4, 2)


def test_rrelu_noise_is_the_drawn_slope_and_one_elsewhere():
    cr.manual_seed(5)
    x = cr.tensor(D["x"], requires_grad=True)
    y = cr.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    noise = y.grad_fn._saved_noise.numpy()
    assert np.all(noise[D["x"] > 0] == 1.0)
    drawn = noise[D["x"] <= 0]
    assert np.all((drawn >= 0.1) & (drawn <= 0.3))
    np.testing.assert_allclose(y.detach().numpy(), np.where(D["x"] > 0, D["x"], D["x"] * noise))
    (g,) = cr.autograd.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), noise)


def test_inplace_forms_still_run():
    for fn in (
        lambda t: cr.nn.functional.hardswish(t, inplace=True),
        lambda t: cr.nn.functional.rrelu(t, inplace=True),
        lambda t: cr.nn.functional.rrelu_(t, training=True),
    ):
        x = cr.tensor(D["x"], requires_grad=True)
        y = x * 1.0
        fn(y)
        y.sum().backward()
        assert x.grad is not None and np.all(np.isfinite(x.grad.numpy()))
