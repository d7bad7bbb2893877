"""conv3d / conv_transpose3d as one recorded ``ConvolutionBackward0`` (session 32), compared
live with PyTorch: the graph (names along a breadth-first walk of ``next_functions``, the
inputs each node lists) and every ``_saved_*`` field; values, gradients and double backward;
forward mode; float32; nn.Conv3d's padding modes; vmap.

An unbatched input is PyTorch's Unsqueeze -> Convolution -> Squeeze; ``padding="same"`` with
an even kernel pads the odd extra first (ConstantPadNd) and convolves symmetrically.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(3232)


def _data(*shape):
    return RNG.standard_normal(shape)


D = {
    "x": _data(2, 4, 5, 4, 5),
    "w": _data(6, 2, 3, 2, 3),
    "w1": _data(3, 4, 2, 2, 2),
    "we": _data(3, 4, 2, 3, 2),
    "b6": _data(6),
    "b3": _data(3),
    "xt": _data(2, 4, 3, 2, 3),
    "wt": _data(4, 3, 2, 3, 2),
    "b": _data(6),
}


def _env(L):
    return {k: L.tensor(a, dtype=L.float64, requires_grad=True) for k, a in D.items()}


def _F(L):
    return L.nn.functional


CASES = {
    "conv3d_bias": lambda L, v: _F(L).conv3d(
        v["x"], v["w"], v["b6"], stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2
    ),
    "conv3d_nobias": lambda L, v: _F(L).conv3d(v["x"], v["w1"], stride=2),
    "conv3d_same_odd": lambda L, v: _F(L).conv3d(v["x"], v["w"], v["b6"], padding="same", groups=2),
    "conv3d_same_even": lambda L, v: _F(L).conv3d(v["x"], v["we"], v["b3"], padding="same"),
    "conv3d_valid": lambda L, v: _F(L).conv3d(v["x"], v["w1"], v["b3"], padding="valid"),
    "conv3d_unbatched": lambda L, v: _F(L).conv3d(v["x"][1], v["w1"], v["b3"], padding=1),
    "conv_transpose3d_bias": lambda L, v: _F(L).conv_transpose3d(
        v["xt"],
        v["wt"],
        v["b"],
        stride=2,
        padding=(1, 0, 1),
        output_padding=(1, 0, 0),
        groups=2,
        dilation=(1, 1, 2),
    ),  # fmt: skip
    "conv_transpose3d_nobias": lambda L, v: _F(L).conv_transpose3d(v["xt"], v["wt"]),
    "conv_transpose3d_unbatched": lambda L, v: _F(L).conv_transpose3d(
        v["xt"][0], v["wt"], v["b"], stride=(1, 2, 1), output_padding=(0, 1, 0), groups=2
    ),
}


def _module(L, v, mode, transposed=False):
    """nn.Conv3d / nn.ConvTranspose3d with the data's weight and bias."""
    if transposed:
        m = L.nn.ConvTranspose3d(4, 3, (2, 3, 2), stride=2, padding=1, output_padding=1)
    else:
        m = L.nn.Conv3d(4, 3, (2, 3, 2), padding=(1, 2, 1), padding_mode=mode)
    m = m.double()
    with L.no_grad():
        m.weight.copy_(v["wt"] if transposed else v["we"])
        m.bias.copy_(v["b3"])
    return m(v["xt"] if transposed else v["x"])


MODULE_CASES = {
    "Conv3d_zeros": lambda L, v: _module(L, v, "zeros"),
    "Conv3d_reflect": lambda L, v: _module(L, v, "reflect"),
    "Conv3d_replicate": lambda L, v: _module(L, v, "replicate"),
    "ConvTranspose3d": lambda L, v: _module(L, v, "zeros", transposed=True),
}


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
        return isinstance(b, tuple) and b[:2] == a[:2] and np.allclose(a[2], b[2], 1e-6, 1e-8)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(MODULE_CASES))
def test_graph_and_saved_fields_as_torch(name):
    case = {**CASES, **MODULE_CASES}[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'same' with an even kernel warns
        expected = _graph(case(torch, _env(torch)), torch)
        got = _graph(case(cr, _env(cr)), cr)
    assert [n for n, _, _ in got] == [n for n, _, _ in expected]
    assert sum(n == "ConvolutionBackward0" for n, _, _ in got) == 1
    for (n, listed_t, saved_t), (_, listed_c, saved_c) in zip(expected, got):
        assert listed_c == listed_t, n
        assert sorted(saved_c) == sorted(saved_t), n
        for k in saved_t:
            assert _same(saved_t[k], saved_c[k]), (n, k, saved_t[k], saved_c[k])


def _grads(lib, case):
    v = _env(lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = case(lib, v)
    leaves = list(v.values())
    loss = (out**2).sum()
    grads = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
    pairs = [(t, g) for t, g in zip(leaves, grads) if g is not None]
    second = lib.autograd.grad(sum((g**2).sum() for _, g in pairs), [t for t, _ in pairs])
    return out.detach().numpy(), [g.detach().numpy() for _, g in pairs], [s.numpy() for s in second]


@pytest.mark.parametrize("name", sorted(CASES) + ["Conv3d_reflect", "ConvTranspose3d"])
def test_values_gradients_and_double_backward_as_torch(name):
    case = {**CASES, **MODULE_CASES}[name]
    (yt, gt, st), (yc, gc, sc) = _grads(torch, case), _grads(cr, case)
    np.testing.assert_allclose(yc, yt, rtol=1e-10, atol=1e-12)
    assert len(gc) == len(gt) and len(sc) == len(st)
    for a, b in zip(gt + st, gc + sc):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


def test_circular_padding_mode_values_and_gradients():
    """padding_mode="circular" (the pad's own graph is the padding op's): values and grads."""
    out = []
    for lib in (torch, cr):
        v = _env(lib)
        m = lib.nn.Conv3d(4, 3, (2, 3, 2), padding=(1, 2, 1), padding_mode="circular").double()
        with lib.no_grad():
            m.weight.copy_(v["we"])
            m.bias.copy_(v["b3"])
        y = m(v["x"])
        (y**2).sum().backward()
        out.append([y.detach().numpy(), v["x"].grad.numpy(), m.weight.grad.numpy()])
    for a, b in zip(*out):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name", ["conv3d_bias", "conv3d_unbatched", "conv_transpose3d_bias", "conv3d_same_even"]
)
def test_forward_mode_as_torch(name):
    """The node's forward-mode rule: tangents for every input, and for the bias alone."""
    keys = {
        "conv3d_bias": ("x", "w", "b6"),
        "conv3d_unbatched": ("x", "w1", "b3"),
        "conv_transpose3d_bias": ("xt", "wt", "b"),
        "conv3d_same_even": ("x", "we", "b3"),
    }[name]
    for chosen in (keys, keys[-1:], keys[:1]):
        outs = []
        for lib, jvp in ((torch, torch.func.jvp), (cr, cr.func.jvp)):
            v = _env(lib)
            prim = tuple(v[k].detach() for k in chosen)
            tans = tuple(lib.ones_like(p) * 0.5 for p in prim)

            def fn(*args, lib=lib, v=v, chosen=chosen):
                w = dict(v)
                w.update(zip(chosen, args))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return CASES[name](lib, w)

            outs.append(jvp(fn, prim, tans)[1].detach().numpy())
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["conv3d_bias", "conv_transpose3d_bias"])
def test_float32_values_and_gradients(name):
    res = []
    for lib in (torch, cr):
        v = {k: lib.tensor(a, dtype=lib.float32, requires_grad=True) for k, a in D.items()}
        y = CASES[name](lib, v)
        (y * y).sum().backward()
        assert str(y.dtype).endswith("float32")
        res.append([y] + [v[k].grad for k in ("x", "xt", "w", "wt")])
    for a, b in zip(*res):
        assert (a is None) == (b is None)
        if a is not None:
            a, b = a.detach().numpy(), b.detach().numpy()
            assert b.dtype == np.float32
            np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-4)


def test_vmap_over_conv3d():
    """vmap of the 5-d op (PyTorch's per-sample conv3d), input and weight batched."""
    xs, ws = RNG.standard_normal((3, 1, 2, 3, 3, 3)), RNG.standard_normal((3, 2, 2, 2, 2, 2))
    out = []
    for lib in (torch, cr):
        f = lib.func.vmap(lambda x, w, lib=lib: lib.nn.functional.conv3d(x, w, padding=1))
        out.append(f(lib.tensor(xs), lib.tensor(ws)).numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-10, atol=1e-12)


def test_saved_tensors_are_the_inputs():
    """The node saves the input and weight themselves (PyTorch's in-place check applies)."""
    v = _env(cr)
    y = CASES["conv3d_bias"](cr, v)
    assert y.grad_fn._saved_input is v["x"] or np.shares_memory(
        y.grad_fn._saved_input.numpy(), v["x"].detach().numpy()
    )
    with cr.no_grad():
        v["x"].add_(1.0)
    with pytest.raises(RuntimeError):
        y.sum().backward()
