"""Graph fidelity compared live with PyTorch, session 33: composed losses and functions.

For each case the node names along the whole graph (a breadth-first walk of
``next_functions``) and the inputs each node lists must be PyTorch's, in its order; the
values, the first derivatives and the second derivatives must agree too.

PyTorch composes these from ATen ops whose numbers are C++ Scalars (``AddBackward1``,
``SubBackward1``, ``MulBackward1`` list the tensor alone; ``margin - x`` wraps the number:
``SubBackward0`` listing None, x) and calls ``clamp_min`` (``ClampMinBackward0``).
pairwise_distance (so the triplet losses) is ``at::norm(x1 - x2 + eps, p, dim)``
(``NormBackward1``); vector norms with p = 1 / inf are one ``LinalgVectorNormBackward0``;
cosine_similarity and gaussian_nll_loss clamp a clone outside autograd (``CloneBackward0``);
F.linear lists ``weight.t()`` (``TBackward0``) under ``AddmmBackward0`` / ``MmBackward0``,
with PyTorch's views for other input ranks (``ViewBackward0`` / ``UnsafeViewBackward0`` /
``UnsqueezeBackward0`` + ``SqueezeBackward4``) when ``LINEAR_GRAPH_AS_TORCH`` (in
``nn/functional/linear.py``) is on, as in these tests; it is off by default (the extra nodes
cost F.linear ~3.5% at (64, 256) x (256, 256)). bilinear is PyTorch's TrilinearBackward0
between views; local_response_norm pools with avg_pool2d / avg_pool3d as PyTorch.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(33)
LINEAR = importlib.import_module("chainrule.nn.functional.linear")


@pytest.fixture(autouse=True)
def _linear_graph_as_torch(monkeypatch):
    """F.linear's PyTorch graph is behind a switch (off by default: it costs speed)."""
    monkeypatch.setattr(LINEAR, "LINEAR_GRAPH_AS_TORCH", True)


def _d(*shape):
    return RNG.standard_normal(shape)


D = {
    "x": _d(4, 6),
    "y": _d(4, 6),
    "z": _d(4, 6),
    "x1": _d(6),
    "y1": _d(6),
    "x3": _d(2, 3, 6),
    "x4": _d(2, 2, 3, 6),
    "w": _d(5, 6),
    "b": _d(5),
    "p": RNG.uniform(0.1, 0.9, (4, 6)),
    "var": RNG.uniform(0.5, 2, (4, 6)),
    "var1": RNG.uniform(0.5, 2, (4, 1)),
    "a1": RNG.uniform(0.1, 0.3, (1,)),
    "a6": RNG.uniform(0.1, 0.3, (6,)),
}
CONST = {
    "lbl": np.sign(_d(4, 6)),
    "lbl4": np.sign(_d(4)),
    "ml": (RNG.uniform(size=(4, 6)) > 0.5).astype(float),
}
D["x"][0, :3] = [2.0, -2.0, 0.5]  # tied largest |x| in a row (the inf-norm's shares)


def _env(L):
    v = {k: L.tensor(a, dtype=L.float64, requires_grad=True) for k, a in D.items()}
    v.update({k: L.tensor(a, dtype=L.float64) for k, a in CONST.items()})
    return v


def _F(L):
    return L.nn.functional


CASES = {}
for _r in ("mean", "sum", "none"):
    CASES.update(
        {
            f"hinge_{_r}": lambda L, v, r=_r: _F(L).hinge_embedding_loss(
                v["x"], v["lbl"], margin=0.5, reduction=r
            ),
            f"cosine_embedding_{_r}": lambda L, v, r=_r: _F(L).cosine_embedding_loss(
                v["x"], v["y"], v["lbl4"], margin=0.2, reduction=r
            ),
            f"margin_ranking_{_r}": lambda L, v, r=_r: _F(L).margin_ranking_loss(
                v["x"], v["y"], v["lbl"], margin=0.1, reduction=r
            ),
            f"gaussian_nll_{_r}": lambda L, v, r=_r: _F(L).gaussian_nll_loss(
                v["x"], v["y"], v["var"], reduction=r
            ),
            f"gaussian_nll_full_{_r}": lambda L, v, r=_r: _F(L).gaussian_nll_loss(
                v["x"], v["y"], v["var1"], full=True, reduction=r
            ),
            f"triplet_{_r}": lambda L, v, r=_r: _F(L).triplet_margin_loss(
                v["x"], v["y"], v["z"], reduction=r
            ),
            f"triplet_swap_p1_{_r}": lambda L, v, r=_r: _F(L).triplet_margin_loss(
                v["x"], v["y"], v["z"], p=1, swap=True, reduction=r
            ),
            f"triplet_distance_{_r}": lambda L, v, r=_r: _F(L).triplet_margin_with_distance_loss(
                v["x"], v["y"], v["z"], swap=True, reduction=r
            ),
            f"multilabel_soft_margin_{_r}": lambda L, v, r=_r: _F(L).multilabel_soft_margin_loss(
                v["x"], v["ml"], weight=v["a6"], reduction=r
            ),
            f"kl_div_{_r}": lambda L, v, r=_r: _F(L).kl_div(v["x"], v["p"], reduction=r),
            f"kl_div_log_target_{_r}": lambda L, v, r=_r: _F(L).kl_div(
                v["x"], v["y"], reduction=r, log_target=True
            ),
            f"poisson_nll_{_r}": lambda L, v, r=_r: _F(L).poisson_nll_loss(
                v["x"], v["p"], reduction=r
            ),
            f"poisson_nll_no_log_{_r}": lambda L, v, r=_r: _F(L).poisson_nll_loss(
                v["p"], v["var"], log_input=False, reduction=r
            ),
            f"poisson_nll_full_{_r}": lambda L, v, r=_r: _F(L).poisson_nll_loss(
                v["x"], v["var"] * 3, full=True, reduction=r
            ),
            f"huber_{_r}": lambda L, v, r=_r: _F(L).huber_loss(v["x"], v["y"], reduction=r),
            f"smooth_l1_{_r}": lambda L, v, r=_r: _F(L).smooth_l1_loss(v["x"], v["y"], reduction=r),
            f"l1_{_r}": lambda L, v, r=_r: _F(L).l1_loss(v["x"], v["y"], reduction=r),
            f"mse_{_r}": lambda L, v, r=_r: _F(L).mse_loss(v["x"], v["y"], reduction=r),
            f"mse_broadcast_{_r}": lambda L, v, r=_r: _F(L).mse_loss(v["x1"], v["y"], reduction=r),
            f"l1_broadcast_{_r}": lambda L, v, r=_r: _F(L).l1_loss(v["x"], v["y1"], reduction=r),
        }
    )
CASES.update(
    {
        "kl_div_batchmean": lambda L, v: _F(L).kl_div(v["x"], v["p"], reduction="batchmean"),
        "gaussian_nll_float_var": lambda L, v: _F(L).gaussian_nll_loss(v["x"], v["y"], 0.5),
        "gaussian_nll_var_unsqueezed": lambda L, v: _F(L).gaussian_nll_loss(
            v["x"], v["y"], v["var"][:, 0]
        ),
        "cosine_similarity": lambda L, v: _F(L).cosine_similarity(v["x"], v["y"]),
        "cosine_similarity_dim0": lambda L, v: _F(L).cosine_similarity(v["x"], v["y"], dim=0),
        "cosine_similarity_broadcast": lambda L, v: _F(L).cosine_similarity(v["x1"], v["y"]),
        "pairwise_distance": lambda L, v: _F(L).pairwise_distance(v["x"], v["y"]),
        "pairwise_distance_p1_keepdim": lambda L, v: _F(L).pairwise_distance(
            v["x"], v["y"], p=1, keepdim=True
        ),
        "pairwise_distance_inf": lambda L, v: _F(L).pairwise_distance(
            v["x"], v["y"], p=float("inf")
        ),
        "pairwise_distance_p3_1d": lambda L, v: _F(L).pairwise_distance(v["x1"], v["y1"], p=3),
        "normalize": lambda L, v: _F(L).normalize(v["x"]),
        "normalize_p1_dim0": lambda L, v: _F(L).normalize(v["x"], p=1, dim=0),
        "normalize_3d": lambda L, v: _F(L).normalize(v["x3"], dim=-1),
        "prelu_one": lambda L, v: _F(L).prelu(v["x"], v["a1"]),
        "prelu_channels": lambda L, v: _F(L).prelu(v["x"], v["a6"]),
        "linear_2d": lambda L, v: _F(L).linear(v["x"], v["w"], v["b"]),
        "linear_2d_no_bias": lambda L, v: _F(L).linear(v["x"], v["w"]),
        "linear_3d": lambda L, v: _F(L).linear(v["x3"], v["w"], v["b"]),
        "linear_3d_no_bias": lambda L, v: _F(L).linear(v["x3"], v["w"]),
        "linear_4d_no_bias": lambda L, v: _F(L).linear(v["x4"], v["w"]),
        "linear_1d": lambda L, v: _F(L).linear(v["x1"], v["w"], v["b"]),
        "linear_1d_no_bias": lambda L, v: _F(L).linear(v["x1"], v["w"]),
        "linear_constant_weight": lambda L, v: _F(L).linear(v["x3"], v["w"].detach(), v["b"]),
        "linear_constant_bias": lambda L, v: _F(L).linear(v["x"], v["w"], v["b"].detach()),
        "var_all": lambda L, v: v["x"].var(),
        "var_all_correction0": lambda L, v: L.var(v["x"], correction=0),
        "std_all": lambda L, v: v["x"].std(),
        "vector_norm_1": lambda L, v: L.linalg.vector_norm(v["x"], 1),
        "vector_norm_1_dim": lambda L, v: L.linalg.vector_norm(v["x"], 1, dim=-1),
        "vector_norm_inf": lambda L, v: L.linalg.vector_norm(v["x"], float("inf")),
        "vector_norm_inf_dim": lambda L, v: L.linalg.vector_norm(
            v["x"], float("inf"), dim=1, keepdim=True
        ),
        "vector_norm_neg_inf": lambda L, v: L.linalg.vector_norm(v["x"], float("-inf"), dim=0),
        "norm_p1": lambda L, v: v["x"].norm(p=1),
        "norm_inf_dim": lambda L, v: v["x"].norm(p=float("inf"), dim=1),
    }
)


def _graph(out):
    """(name, names of the listed inputs) per node, breadth first."""
    nodes, seen, todo = [], set(), [out.grad_fn]
    while todo:
        node = todo.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        listed = tuple(None if f is None else f.name() for f, _ in node.next_functions)
        nodes.append((node.name(), listed))
        todo.extend(f for f, _ in node.next_functions)
    return nodes


def _run(lib, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' and mse's broadcast warnings
        return CASES[name](lib, _env(lib))


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_as_torch(name):
    assert _graph(_run(cr, name)) == _graph(_run(torch, name))


def _derivatives(lib, name):
    v = _env(lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = CASES[name](lib, v)
    leaves = [t for t in v.values() if t.requires_grad]
    grads = lib.autograd.grad((out**2).sum(), leaves, create_graph=True, allow_unused=True)
    pairs = [(t, g) for t, g in zip(leaves, grads) if g is not None]
    second = lib.autograd.grad(
        sum((g**2).sum() for _, g in pairs), [t for t, _ in pairs], allow_unused=True
    )
    return (
        out.detach().numpy(),
        [g.detach().numpy() for _, g in pairs],
        [None if s is None else s.numpy() for s in second],
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_derivatives_as_torch(name):
    (yt, gt, st), (yc, gc, sc) = _derivatives(torch, name), _derivatives(cr, name)
    np.testing.assert_allclose(yc, yt, rtol=1e-6, atol=1e-9)
    assert len(gc) == len(gt)
    for a, b in zip(gt, gc):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)
    assert [s is None for s in sc] == [s is None for s in st]
    for a, b in zip(st, sc):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-8)


def _saved(node, lib):
    out = {}
    for k in sorted(dir(node)):
        if k.startswith("_saved_"):
            v = getattr(node, k)
            out[k] = tuple(v.shape) if isinstance(v, lib.Tensor) else v
    return out


@pytest.mark.parametrize(
    "name",
    ["linear_2d", "linear_2d_no_bias", "linear_3d_no_bias", "pairwise_distance_p1_keepdim"],
)
def test_saved_fields_of_the_new_nodes_as_torch(name):
    t, c = _run(torch, name).grad_fn, _run(cr, name).grad_fn
    assert _saved(c, cr) == _saved(t, torch)


def test_small_norms_pass_the_gradient_through_the_clamp():
    """cosine_similarity and normalize at a norm below eps: PyTorch's gradients (the clamp
    outside autograd for the first, ClampMinBackward0 for the second)."""
    a = np.zeros((2, 3))
    a[0] = [1e-10, -2e-10, 0.0]
    a[1] = [1.0, 2.0, 3.0]
    results = []
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        y = lib.tensor(a[::-1].copy(), requires_grad=True)
        out = _F(lib).cosine_similarity(x, y).sum() + _F(lib).normalize(x, eps=1e-3).sum()
        results.append([g.numpy() for g in lib.autograd.grad(out, (x, y))])
    for a_, b_ in zip(*results):
        np.testing.assert_allclose(b_, a_, rtol=1e-6, atol=1e-12)


def test_linear_output_is_not_a_view_and_takes_in_place_ops():
    """The 3-d F.linear without bias is _unsafe_view of the product, as PyTorch: not a view
    (an in-place activation is its own node, not a CopySlices)."""
    for lib in (torch, cr):
        x = lib.tensor(D["x3"], requires_grad=True)
        w = lib.tensor(D["w"], requires_grad=True)
        y = _F(lib).linear(x, w)
        assert y._base is None
        y.relu_()
        assert y.grad_fn.name() == "ReluBackward0"


def test_linear_weight_grad_is_not_copied_and_matches():
    """The weight's gradient through TBackward0 is the computed array (C-ordered as the
    weight), equal to torch's."""
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(D["x"], requires_grad=True)
        w = lib.tensor(D["w"], requires_grad=True)
        _F(lib).linear(x, w, lib.tensor(D["b"])).sum().backward()
        assert w.grad.is_contiguous()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 6)])
def test_linear_under_vmap_jvp_and_low_precision(shape):
    x = RNG.standard_normal((3,) + shape)
    outs = []
    for lib in (torch, cr):
        w, b = lib.tensor(D["w"]), lib.tensor(D["b"])
        vm = lib.func.vmap(lambda a, w=w, b=b, lib=lib: _F(lib).linear(a, w, b))(lib.tensor(x))
        tan = lib.func.jvp(
            lambda a, ww, lib=lib: _F(lib).linear(a, ww),
            (lib.tensor(x[0]), w),
            (lib.ones(shape, dtype=lib.float64), lib.ones(5, 6, dtype=lib.float64)),
        )[1]
        xh = lib.tensor(x[0], dtype=lib.bfloat16, requires_grad=True)
        wh = lib.tensor(D["w"], dtype=lib.bfloat16, requires_grad=True)
        _F(lib).linear(xh, wh).sum().backward()
        outs.append((vm.numpy(), tan.numpy(), wh.grad.float().numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("p", [1, float("inf"), float("-inf")])
def test_vector_norm_one_node_forward_mode_and_vmap(p):
    outs = []
    for lib in (torch, cr):
        x = lib.tensor(D["x"])
        tan = lib.func.jvp(
            lambda a, lib=lib: lib.linalg.vector_norm(a, p, dim=1), (x,), (lib.tensor(D["y"]),)
        )[1]
        vm = lib.func.vmap(lambda a, lib=lib: lib.linalg.vector_norm(a, p))(x)
        h = lib.tensor(D["x"], dtype=lib.float16, requires_grad=True)
        n = h.norm(p=p)
        n.backward()
        outs.append((tan.numpy(), vm.numpy(), n.float().detach().numpy(), h.grad.float().numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-6)


def _tangent_out(lib, name):
    v = _env(lib)
    keys = [k for k, t in v.items() if t.requires_grad]
    prim = tuple(v[k].detach() for k in keys)
    tans = tuple(
        lib.tensor(0.3 * np.cos(np.arange(p.numel())).reshape(tuple(p.shape)), dtype=lib.float64)
        for p in prim
    )

    def fn(*args):
        w = dict(v)
        w.update(zip(keys, args))
        return CASES[name](lib, w)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.func.jvp(fn, prim, tans)[1].detach().numpy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_mode_as_torch(name):
    """func.jvp through the new nodes (tangents for every input at once)."""
    np.testing.assert_allclose(
        _tangent_out(cr, name), _tangent_out(torch, name), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize(
    "name",
    [n for n in sorted(CASES) if n.endswith("_none") or not n.endswith(("_mean", "_sum"))],
)
def test_vmap_over_the_input_as_torch(name):
    outs = []
    for lib in (torch, cr):
        v = _env(lib)
        batch = lib.tensor(np.stack([D["x"], 0.5 * D["x"] + 0.1]))

        def fn(a, lib=lib, v=v):
            w = dict(v)
            w["x"] = a
            return CASES[name](lib, w)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append(lib.func.vmap(fn)(batch).detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6, atol=1e-9)


def test_linear_default_is_one_fused_node(monkeypatch):
    """With the switch off (the default) F.linear on a 2-d input is one node listing the
    weight itself, with the same values and gradients (other ranks take torch's graph:
    tests/compat/test_gaps_session40_a.py)."""
    monkeypatch.setattr(LINEAR, "LINEAR_GRAPH_AS_TORCH", False)
    x2 = D["x3"].reshape(-1, D["x3"].shape[-1])
    x = cr.tensor(x2, requires_grad=True)
    w = cr.tensor(D["w"], requires_grad=True)
    y = cr.nn.functional.linear(x, w, cr.tensor(D["b"], requires_grad=True))
    assert y.grad_fn.name() == "AddmmBackward0"
    assert y.grad_fn.next_functions[2][0].name() == "torch::autograd::AccumulateGrad"
    y.sum().backward()
    tx = torch.tensor(x2, requires_grad=True)
    tw = torch.tensor(D["w"], requires_grad=True)
    torch.nn.functional.linear(tx, tw, torch.tensor(D["b"])).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
