"""Session 41: gaps the fuzzers found under vmap and full backward hooks, against torch.

``Tensor.view`` and ``take_along_dim`` under vmap (and what uses them: instance norm),
``Embedding(max_norm=...)`` and ``EmbeddingBag(mode="max")`` with a weight batched by vmap,
``ReLU(inplace=True)`` under a full backward hook (PyTorch refuses: the hook Function's
outputs are its inputs returned as-is), ``kthvalue`` of a 0-d complex tensor.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import chainrule as cr

LIBS = (torch, cr)


def _both(fn):
    """``fn(lib)`` for torch and chainrule; each result a nested list (or an exception)."""
    out = []
    for lib in LIBS:
        try:
            out.append(fn(lib))
        except Exception as e:  # noqa: BLE001 - compared below
            out.append((type(e).__name__, str(e)))
    return out


def _close(a, b):
    np.testing.assert_allclose(np.array(a, dtype=complex), np.array(b, dtype=complex), rtol=1e-12)


_X = np.arange(24.0).reshape(3, 2, 4)


@pytest.mark.parametrize(
    "f",
    [
        lambda w: w.view(8),
        lambda w: w.view(-1, 2),
        lambda w: w.view(2, 2, 2),
        lambda w: w.t().reshape(4, 2).t().view(8),
        lambda w: w.t().contiguous().view(8),
        lambda w: w[:, 1:].view(-1),
    ],
)
def test_view_under_vmap_matches_torch(f):
    t, c = _both(lambda L: L.vmap(f)(L.tensor(_X)).tolist())
    if isinstance(t, tuple):  # torch refuses: so does chainrule, with its words first
        assert c[0] == t[0] and c[1].startswith(t[1][:60])
    else:
        _close(c, t)


@pytest.mark.parametrize(
    "f, in_dims",
    [
        (lambda w: w.view(8), 1),  # each sample's rows 12 elements apart: torch refuses
        (lambda w: w.view(2, 2, 2), 1),
        (lambda w: w.view(6), 2),
    ],
)
def test_view_under_vmap_of_a_moved_batch_dim_matches_torch(f, in_dims):
    x = np.arange(24.0).reshape(2, 3, 4)
    t, c = _both(lambda L: L.vmap(f, in_dims=in_dims)(L.tensor(x)).tolist())
    if isinstance(t, tuple):
        assert c[0] == t[0] == "RuntimeError" and c[1].startswith(t[1])
    else:
        _close(c, t)


def test_view_under_vmap_refuses_as_torch():
    t, c = _both(lambda L: L.vmap(lambda w: w.t().view(8))(L.tensor(_X)).tolist())
    assert t[0] == c[0] == "RuntimeError"
    assert c[1].startswith(t[1])
    assert "its memory's stride (1, 4)" in c[1]  # each sample's strides, not the batch's


def test_view_under_vmap_gradient_matches_torch():
    def grad(L):
        x = L.tensor(_X, requires_grad=True)
        out = L.vmap(lambda w: w.view(8) * L.arange(8.0, dtype=L.float64))(x)
        out.pow(2).sum().backward()
        return x.grad.tolist()

    t, c = _both(grad)
    _close(c, t)


def test_instance_norm_under_vmap_matches_torch():
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 5))

    def run(L):
        m = L.nn.InstanceNorm2d(2, affine=True).double()
        return L.vmap(m)(L.tensor(x)).tolist()

    t, c = _both(run)
    np.testing.assert_allclose(c, t, rtol=1e-10, atol=1e-12)


_H = [[[2.0, 1.0, 5.0], [4.0, -1.0, 0.0]], [[0.0, 3.0, 1.0], [2.0, 2.0, -3.0]]]


@pytest.mark.parametrize(
    "f",
    [
        lambda L, h: L.take_along_dim(h, L.argsort(h, dim=-1), dim=-1),
        lambda L, h: L.take_along_dim(h, L.argsort(h[:1], dim=-1), dim=-1),  # broadcast
        lambda L, h: L.take_along_dim(h, L.argsort(h, dim=0) - 2, dim=0),  # negative
        lambda L, h: L.take_along_dim(h, L.tensor([[1], [0]]), dim=1),  # indices unbatched
    ],
)
def test_take_along_dim_under_vmap_matches_torch(f):
    def run(L):
        h = L.tensor(_H, dtype=L.float64, requires_grad=True)
        out = L.vmap(lambda s: f(L, s))(h)
        (out * out).sum().backward()
        return out.tolist(), h.grad.tolist()

    (t_out, t_grad), (c_out, c_grad) = _both(run)
    _close(c_out, t_out)
    _close(c_grad, t_grad)


def test_take_along_dim_batched_indices_only_matches_torch():
    idx = [[[1, 2], [0, 0]], [[2, 0], [1, 1]]]

    def run(L):
        h = L.tensor(_H[0], dtype=L.float64)
        return L.vmap(lambda i: L.take_along_dim(h, i, dim=1), in_dims=1)(L.tensor(idx)).tolist()

    t, c = _both(run)
    _close(c, t)


_W = [[3.0, 4.0], [0.1, 0.2], [1.0, 1.0], [-2.0, 0.0]]


def _stacked(L, m, scale):
    with L.no_grad():
        m.weight.copy_(L.tensor(_W, dtype=L.float64))
    m2 = copy.deepcopy(m)
    with L.no_grad():
        m2.weight.mul_(scale)
    return L.func.stack_module_state([m, m2])


@pytest.mark.parametrize("batched_indices", [False, True])
def test_embedding_max_norm_under_vmap_matches_torch(batched_indices):
    def run(L):
        m = L.nn.Embedding(4, 2, max_norm=1.0).double()
        params, buffers = _stacked(L, m, 0.5)
        if batched_indices:
            xs = L.tensor([[0, 2], [2, 3]])
            out = L.vmap(lambda p, b, x: L.func.functional_call(m, (p, b), (x,)))(
                params, buffers, xs
            )
        else:
            x = L.tensor([0, 1, 3])
            out = L.vmap(lambda p, b: L.func.functional_call(m, (p, b), (x,)))(params, buffers)
        out.sum().backward()
        # the stacked weight is renormalised in place, sample by sample, as torch's
        return out.tolist(), params["weight"].tolist(), params["weight"].grad.tolist()

    t, c = _both(run)
    for a, b in zip(c, t):
        _close(a, b)


def test_embedding_renorm_under_vmap_refuses_out_of_range_indices():
    m = cr.nn.Embedding(4, 2, max_norm=1.0).double()
    params, buffers = _stacked(cr, m, 0.5)
    with pytest.raises(IndexError):
        cr.vmap(lambda w: cr.embedding_renorm_(w, cr.tensor([0, 4]), 1.0, 2.0), in_dims=0)(
            params["weight"].detach()
        )


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_bag_max_under_vmap_matches_torch(padding_idx):
    w = np.random.default_rng(1).standard_normal((2, 5, 3)).round(1)
    w[0, 3] = w[0, 0]  # ties: the first largest wins, as torch
    w[1, 2, 0] = np.nan

    def run(L):
        F = L.nn.functional
        weight = L.tensor(w, requires_grad=True)
        idx, off = L.tensor([0, 2, 3, 4, 1, 3, 0]), L.tensor([0, 2, 2, 5])  # an empty bag
        out = L.vmap(lambda s: F.embedding_bag(idx, s, off, mode="max", padding_idx=padding_idx))(
            weight
        )
        L.nan_to_num(out).pow(2).sum().backward()
        return out.tolist(), weight.grad.tolist()

    t, c = _both(run)
    for a, b in zip(c, t):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12)


def test_embedding_bag_max_module_under_vmap_matches_torch():
    def run(L):
        m = L.nn.EmbeddingBag(4, 2, mode="max").double()
        params, buffers = _stacked(L, m, -0.5)
        x = L.tensor([[0, 1, 2], [3, 1, 0]])
        out = L.vmap(lambda p, b: L.func.functional_call(m, (p, b), (x,)))(params, buffers)
        out.pow(2).sum().backward()
        return out.tolist(), params["weight"].grad.tolist()

    t, c = _both(run)
    for a, b in zip(c, t):
        _close(a, b)


def _relu_hooked(L, x, pre=False):
    m = L.nn.ReLU(inplace=True)
    if pre:
        m.register_full_backward_pre_hook(lambda mod, go: None)
    else:
        m.register_full_backward_hook(lambda mod, gi, go: None)
    return m(x).tolist()


@pytest.mark.parametrize("pre", [False, True])
@pytest.mark.parametrize("leaf", [False, True])
def test_inplace_module_under_backward_hook_refused_as_torch(pre, leaf):
    def run(L):
        x = L.ones(3, dtype=L.float64, requires_grad=True)
        return _relu_hooked(L, x if leaf else x * 1, pre)

    t, c = _both(run)
    assert t[0] == "RuntimeError" and c == t


def test_inplace_module_under_backward_hook_runs_without_graph_as_torch():
    def run(L):
        x = L.ones(3, dtype=L.float64, requires_grad=True) * -1
        with L.no_grad():
            got = _relu_hooked(L, x)
        plain = _relu_hooked(L, L.ones(3) * -1)
        return got, plain, x._version  # the write counts in x's version, as torch's

    t, c = _both(run)
    assert c == t


def test_backward_hook_outputs_are_views_as_torch():
    def run(L):
        m = L.nn.Identity()
        m.register_full_backward_hook(lambda mod, gi, go: None)
        x = L.ones(3, dtype=L.float64, requires_grad=True) * 1
        y = m(x)
        res = [y.grad_fn.name(), y._base is x]
        for write in (lambda: y[0].mul_(2), lambda: (x.add_(1), y.grad_fn)):
            try:
                write()
                res.append(None)
            except RuntimeError as e:
                res.append(str(e))
        return res

    t, c = _both(run)
    assert c == t
    assert "created inside a custom Function" in c[2] and "its base" in c[3]


def test_backward_hook_gradients_unchanged():
    def run(L):
        seen = []
        m = L.nn.Linear(3, 2).double()
        with L.no_grad():
            m.weight.fill_(0.5)
            m.bias.fill_(0.1)
        m.register_full_backward_hook(
            lambda mod, gi, go: seen.append((gi[0].tolist(), go[0].tolist()))
        )
        x = L.ones(3, dtype=L.float64, requires_grad=True)
        (m(x) * L.tensor([1.0, 2.0], dtype=L.float64)).sum().backward()
        return seen, x.grad.tolist()

    t, c = _both(run)
    assert c == t


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: L.kthvalue(x, 1),
        lambda L, x: x.kthvalue(1, keepdim=True),
        lambda L, x: L.kthvalue(x, 1, dim=0),
        lambda L, x: L.kthvalue(x, 2),
        lambda L, x: L.kthvalue(x.requires_grad_(), 1),
        lambda L, x: L.kthvalue(x.requires_grad_(), 2),
    ],
)
def test_kthvalue_zero_d_complex_matches_torch(call):
    def run(L):
        r = call(L, L.tensor(1 + 2j, dtype=L.complex128))
        return r.values.tolist(), r.indices.tolist(), str(r.values.dtype), tuple(r.values.shape)

    t, c = _both(run)
    if isinstance(t[0], str) and t[0] == "RuntimeError":
        assert c[0] == t[0] and c[1].startswith(t[1])
    else:
        assert c == t


def test_kthvalue_zero_d_complex_under_no_grad_matches_torch():
    def run(L):
        x = L.tensor(1 - 1j, requires_grad=True)
        with L.no_grad():
            r = L.kthvalue(x, 1)
        return r.values.tolist(), r.indices.tolist()

    t, c = _both(run)
    assert c == t


def test_kthvalue_complex_1d_still_refused():
    with pytest.raises(NotImplementedError):
        cr.kthvalue(cr.tensor([1 + 2j]), 1)
