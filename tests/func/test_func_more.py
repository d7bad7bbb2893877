"""``grad_and_value``, ``stack_module_state`` (model ensembling), ``linearize``,
``functionalize`` and ``debug_unwrap`` of ``cr.func``, against ``torch.func``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func

import chainrule as cr
from chainrule.func import (
    debug_unwrap,
    functionalize,
    grad_and_value,
    linearize,
    stack_module_state,
    vmap,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal(5)
Y = RNG.standard_normal(5)


def _np(t):
    return t.detach().numpy()


# -- grad_and_value


def _body(lib, x, y):
    return (lib.sin(x) * y).sum() + (x**3).sum()


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_grad_and_value_matches_torch(argnums):
    res = []
    for lib, gv in ((cr, grad_and_value), (torch, torch.func.grad_and_value)):
        g, v = gv(lambda x, y, lib=lib: _body(lib, x, y), argnums=argnums)(
            lib.tensor(X), lib.tensor(Y)
        )
        res.append((g, v))
    (gc, vc), (gt, vt) = res
    np.testing.assert_allclose(_np(vc), _np(vt), rtol=1e-12)
    assert not vc.requires_grad
    if isinstance(argnums, tuple):
        assert isinstance(gc, tuple) and len(gc) == 2
        for a, b in zip(gc, gt):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12)
    else:
        np.testing.assert_allclose(_np(gc), _np(gt), rtol=1e-12)


def test_grad_and_value_has_aux_structure():
    def f(lib):
        return lambda x: ((x**2).sum(), {"c": lib.cos(x), "s": [lib.sin(x)]})

    gc, (vc, auxc) = grad_and_value(f(cr), has_aux=True)(cr.tensor(X))
    gt, (vt, auxt) = torch.func.grad_and_value(f(torch), has_aux=True)(torch.tensor(X))
    np.testing.assert_allclose(_np(gc), _np(gt))
    np.testing.assert_allclose(_np(vc), _np(vt))
    np.testing.assert_allclose(_np(auxc["c"]), _np(auxt["c"]))
    np.testing.assert_allclose(_np(auxc["s"][0]), _np(auxt["s"][0]))
    assert not auxc["c"].requires_grad and not vc.requires_grad


def test_grad_and_value_value_stays_connected_outside():
    """A value built from inputs that already require grad keeps its graph (as PyTorch)."""
    x = cr.tensor(X, requires_grad=True)
    _, v = grad_and_value(lambda z: (z**3).sum())(x)
    assert v.requires_grad
    v.backward()
    np.testing.assert_allclose(_np(x.grad), 3 * X**2)


def test_grad_and_value_nested_in_grad():
    """grad of the value returned by an inner grad_and_value is the ordinary gradient."""
    outer = cr.func.grad(lambda x: grad_and_value(lambda y: (y**3).sum())(x)[1])(cr.tensor(X))
    np.testing.assert_allclose(_np(outer), 3 * X**2)
    second = cr.func.grad(lambda x: grad_and_value(lambda y: (y**3).sum())(x)[0].sum())(
        cr.tensor(X)
    )
    np.testing.assert_allclose(_np(second), 6 * X)


def test_grad_and_value_under_vmap_per_sample():
    xs = RNG.standard_normal((4, 3))
    gc, vc = vmap(grad_and_value(lambda x: cr.sin(x).sum()))(cr.tensor(xs))
    gt, vt = torch.func.vmap(torch.func.grad_and_value(lambda x: torch.sin(x).sum()))(
        torch.tensor(xs)
    )
    np.testing.assert_allclose(_np(gc), _np(gt))
    np.testing.assert_allclose(_np(vc), _np(vt))
    assert vc.shape == (4,)


def test_grad_and_value_errors():
    with pytest.raises(RuntimeError, match="should be a tuple"):
        grad_and_value(lambda x: x.sum(), has_aux=True)(cr.tensor(X))
    with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type"):
        grad_and_value(lambda x: (x.sum(), 3), has_aux=True)(cr.tensor(X))
    with pytest.raises(RuntimeError, match="to return a scalar Tensor"):
        grad_and_value(lambda x: x * 2)(cr.tensor(X))


# -- stack_module_state: PyTorch's model-ensembling tutorial


def _mlps(lib, n):
    torch.manual_seed(0)
    tmodels = [
        torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
        for _ in range(n)
    ]
    if lib is torch:
        return tmodels
    models = []
    for tm in tmodels:
        m = cr.nn.Sequential(cr.nn.Linear(6, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3)).double()
        m.load_state_dict({k: cr.tensor(_np(v)) for k, v in tm.state_dict().items()})
        models.append(m)
    return models


@pytest.mark.parametrize("same_minibatch", [True, False])
def test_ensembling_tutorial_matches_torch(same_minibatch):
    n = 4
    data = RNG.standard_normal((n, 5, 6))
    outs = []
    for lib, func in ((cr, cr.func), (torch, torch.func)):
        models = _mlps(lib, n)
        params, buffers = func.stack_module_state(models)
        base = models[0]

        def fmodel(p, b, x, base=base, func=func):
            return func.functional_call(base, (p, b), (x,))

        if same_minibatch:
            out = func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, lib.tensor(data[0]))
        else:
            out = func.vmap(fmodel)(params, buffers, lib.tensor(data))
        loss = out.square().sum()
        loss.backward()
        outs.append((params, out))
    (pc, oc), (pt, ot) = outs
    assert list(pc) == list(pt) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for k in pt:
        assert pc[k].shape == tuple(pt[k].shape)
        np.testing.assert_allclose(_np(pc[k]), _np(pt[k]), rtol=1e-12)
        assert pc[k].is_leaf and pc[k].requires_grad
        np.testing.assert_allclose(_np(pc[k].grad), _np(pt[k].grad), rtol=1e-10)
    assert oc.shape == tuple(ot.shape) == (n, 5, 3)
    np.testing.assert_allclose(_np(oc), _np(ot), rtol=1e-12)
    # The stacked leaves are detached from the models: the models got no gradient.
    assert all(p.grad is None for m in _mlps(cr, 1) for p in m.parameters())


def test_stack_module_state_buffers_and_flags():
    ms = [cr.nn.BatchNorm1d(3) for _ in range(2)]
    params, buffers = stack_module_state(ms)
    assert set(params) == {"weight", "bias"}
    assert buffers["running_mean"].shape == (2, 3)
    assert buffers["num_batches_tracked"].shape == (2,)
    assert buffers["num_batches_tracked"].dtype == cr.int64
    assert not buffers["running_var"].requires_grad
    ms[0].weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="same .requires_grad"):
        stack_module_state(ms)


def test_stack_module_state_errors():
    with pytest.raises(RuntimeError, match="at least one model"):
        stack_module_state([])
    with pytest.raises(RuntimeError, match="same class"):
        stack_module_state([cr.nn.Linear(2, 2), cr.nn.Sequential(cr.nn.Linear(2, 2))])
    a, b = cr.nn.Linear(2, 2), cr.nn.Linear(2, 2)
    b.eval()
    with pytest.raises(RuntimeError, match="training/eval"):
        stack_module_state([a, b])


# -- linearize


def test_linearize_matches_torch():
    def f(lib):
        return lambda x, y: (lib.sin(x) * y, (x * y).sum())

    t1, t2 = RNG.standard_normal(5), RNG.standard_normal(5)
    res = []
    for lib, lin in ((cr, linearize), (torch, torch.func.linearize)):
        out, jfn = lin(f(lib), lib.tensor(X), lib.tensor(Y))
        res.append((out, jfn(lib.tensor(t1), lib.tensor(t2)), jfn(lib.tensor(t2), lib.tensor(t1))))
    for a, b in zip(res[0], res[1]):
        for u, v in zip(a, b):
            np.testing.assert_allclose(_np(u), _np(v), rtol=1e-12)


def test_linearize_pytree_and_errors():
    out, jfn = linearize(lambda d: d["a"] * d["b"], {"a": cr.tensor(X), "b": cr.tensor(Y)})
    tan = jfn({"a": cr.ones(5, dtype=cr.float64), "b": cr.zeros(5, dtype=cr.float64)})
    np.testing.assert_allclose(_np(tan), Y)
    _, jfn = linearize(cr.sin, cr.tensor(X))
    with pytest.raises(RuntimeError, match="shape"):
        jfn(cr.ones(4, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="dtype"):
        jfn(cr.ones(5, dtype=cr.float32))
    with pytest.raises(RuntimeError, match="same argspec"):
        jfn(cr.ones(5, dtype=cr.float64), cr.ones(5, dtype=cr.float64))


# -- functionalize


def _ident(x):
    return x


def _mut_ret(x):
    x.mul_(2)
    return x


def _mut_view(x):
    x.mul_(2)
    return x[1:]


def _view_only(x):
    return x[1:], x


def _internal(x):
    t = x * 2
    return t, t[1:]


def _storage(t):
    if isinstance(t, torch.Tensor):
        return t.untyped_storage().data_ptr()
    return None


def _aliasing(lib, fn, remove):
    x = lib.arange(4.0)
    outs = functionalize(fn, remove=remove)(x) if lib is cr else None
    if lib is torch:
        outs = torch.func.functionalize(fn, remove=remove)(x)
    outs = outs if isinstance(outs, tuple) else (outs,)
    if lib is torch:
        same = [_storage(o) == _storage(x) for o in outs]
        among = [_storage(o) == _storage(outs[0]) for o in outs[1:]]
    else:
        same = [np.may_share_memory(o._data, x._data) for o in outs]
        among = [np.may_share_memory(o._data, outs[0]._data) for o in outs[1:]]
    return [o is x for o in outs], same, among, [o.tolist() for o in outs], x.tolist()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("remove", ["mutations", "mutations_and_views"])
@pytest.mark.parametrize("fn", [_ident, _mut_ret, _mut_view, _view_only, _internal])
def test_functionalize_results_and_aliasing_match_torch(fn, remove):
    assert _aliasing(cr, fn, remove) == _aliasing(torch, fn, remove)


def test_functionalize_mutation_of_other_input_and_gradients():
    def f(x, y):
        y.add_(1)
        return x[1:] * 1.0, x[1:]

    for remove, aliased in (("mutations", True), ("mutations_and_views", False)):
        x, y = cr.arange(3.0), cr.zeros(3)
        _, view = functionalize(f, remove=remove)(x, y)
        assert y.tolist() == [1.0, 1.0, 1.0]
        assert np.may_share_memory(view._data, x._data) is aliased
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = functionalize(_mut_view, remove="mutations_and_views")(w * 1.0)
    out.sum().backward()
    np.testing.assert_allclose(_np(w.grad), [0.0, 2.0, 2.0])


def test_functionalize_bad_remove():
    with pytest.raises(RuntimeError, match="invalid argument for remove=views"):
        functionalize(_ident, remove="views")


# -- debug_unwrap


def test_debug_unwrap_nested_vmap_matches_torch():
    shapes = {}

    def probe(lib, unwrap):
        def h(x):
            shapes.setdefault(lib.__name__, []).append(
                (tuple(unwrap(x).shape), tuple(unwrap(x, recurse=False).shape))
            )
            return x

        return h

    data = RNG.standard_normal((2, 3, 4))
    vmap(vmap(probe(cr, debug_unwrap)))(cr.tensor(data))
    torch.func.vmap(torch.func.vmap(probe(torch, torch.func.debug_unwrap)))(torch.tensor(data))
    assert shapes["chainrule"] == shapes["torch"] == [((2, 3, 4), (3, 4))]

    seen = []
    vmap(lambda x: seen.append(debug_unwrap(x)) or x)(cr.tensor(data))
    np.testing.assert_array_equal(_np(seen[0]), data)
    plain = cr.tensor(X)
    assert debug_unwrap(plain) is plain
