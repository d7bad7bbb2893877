"""nn.utils.prune against torch.nn.utils.prune: masks, the ``_orig``/``_mask`` names,
state_dict keys, forward outputs and gradients, iterative and global pruning, remove,
is_pruned and the errors. Weights are drawn without ties, so magnitude-based choices agree;
random methods are checked by their properties (counts, structure) and, for the values, by
giving both libraries the same mask through ``custom_from_mask``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as TP

import chainrule as cr
import chainrule.nn.utils.prune as CP


def _pair(kind, *args, seed=0, bias=True):
    """A float64 torch module and the same chainrule module with torch's values."""
    tm = getattr(torch.nn, kind)(*args, bias=bias).double()
    cm = getattr(cr.nn, kind)(*args, bias=bias, dtype=cr.float64)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in tm.named_parameters():
            arr = rng.standard_normal(p.shape)
            p.copy_(torch.tensor(arr))
            getattr(cm, name)._data[...] = arr
    return cm, tm


def _np(x):
    if isinstance(x, (torch.Tensor, cr.Tensor)):
        return np.asarray(x.detach().numpy())
    return np.asarray(x)


def _same(c, t, tol=1e-12):
    np.testing.assert_allclose(_np(c), _np(t), rtol=tol, atol=tol)


def _hooks(module):
    """The forward pre-hooks in order (an OrderedDict keyed by handle id in both)."""
    return list(module._forward_pre_hooks.values())


def _hook_types(module):
    return [type(h).__name__ for h in _hooks(module)]


def test_l1_unstructured_reparametrization_matches_torch():
    cm, tm = _pair("Linear", 5, 4)
    assert CP.l1_unstructured(cm, "weight", amount=0.3) is cm
    TP.l1_unstructured(tm, "weight", amount=0.3)
    _same(cm.weight_mask, tm.weight_mask)
    assert int((_np(cm.weight_mask) == 0).sum()) == 6  # round(0.3 * 20)
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in cm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert list(cm.state_dict()) == list(tm.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert not isinstance(cm.weight, cr.nn.Parameter) and cm.weight.requires_grad
    assert not cm.weight_mask.requires_grad
    assert cm.weight_mask.dtype == cr.float64
    assert _hook_types(cm) == _hook_types(tm) == ["L1Unstructured"]
    x = np.random.default_rng(1).standard_normal((3, 5))
    cx, tx = cr.tensor(x), torch.tensor(x)
    cm(cx).pow(2).sum().backward()
    tm(tx).pow(2).sum().backward()
    _same(cm.weight_orig.grad, tm.weight_orig.grad)
    assert np.all(_np(cm.weight_orig.grad)[_np(cm.weight_mask) == 0] == 0)
    # the hook recomputes weight from weight_orig before each forward
    with cr.no_grad(), torch.no_grad():
        cm.weight_orig.mul_(2.0)
        tm.weight_orig.mul_(2.0)
    _same(cm(cx), tm(tx))
    _same(cm.weight, tm.weight)


@pytest.mark.parametrize("amount", [0, 3, 12, 0.0, 0.125, 0.375, 1.0])
def test_amount_counts_and_rounding(amount):
    cm, tm = _pair("Linear", 4, 3, seed=2)
    CP.l1_unstructured(cm, "weight", amount=amount)
    TP.l1_unstructured(tm, "weight", amount=amount)
    _same(cm.weight_mask, tm.weight_mask)


def test_importance_scores_and_prune_method():
    cm, tm = _pair("Linear", 4, 3, seed=3)
    scores = np.random.default_rng(4).standard_normal((3, 4))
    CP.l1_unstructured(cm, "weight", amount=5, importance_scores=cr.tensor(scores))
    TP.l1_unstructured(tm, "weight", amount=5, importance_scores=torch.tensor(scores))
    _same(cm.weight_mask, tm.weight_mask)
    t = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    dm = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    got = CP.L1Unstructured(2).prune(cr.tensor(t), cr.tensor(dm))
    want = TP.L1Unstructured(2).prune(torch.tensor(t), torch.tensor(dm))
    _same(got, want)
    got = CP.L1Unstructured(2).compute_mask(cr.tensor(t), cr.tensor(dm))
    _same(got, TP.L1Unstructured(2).compute_mask(torch.tensor(t), torch.tensor(dm)))


@pytest.mark.parametrize(("n", "dim"), [(2, 0), (1, 1), (float("inf"), -1), (float("-inf"), 0)])
def test_ln_structured_matches_torch(n, dim):
    cm, tm = _pair("Conv2d", 2, 5, 3, seed=5)
    CP.ln_structured(cm, "weight", amount=0.4, n=n, dim=dim)
    TP.ln_structured(tm, "weight", amount=0.4, n=n, dim=dim)
    _same(cm.weight_mask, tm.weight_mask)


def test_ln_structured_matrix_norms():
    cm, tm = _pair("Conv1d", 3, 4, 3, seed=6)
    CP.ln_structured(cm, "weight", amount=1, n="nuc", dim=0)
    TP.ln_structured(tm, "weight", amount=1, n="nuc", dim=0)
    _same(cm.weight_mask, tm.weight_mask)
    cm, tm = _pair("Linear", 4, 3, seed=6)
    CP.ln_structured(cm, "weight", amount=2, n="fro", dim=1)
    TP.ln_structured(tm, "weight", amount=2, n="fro", dim=1)
    _same(cm.weight_mask, tm.weight_mask)
    cm, _ = _pair("Conv2d", 2, 3, 2)
    with pytest.raises(RuntimeError, match=r"dim must be a 2-tuple"):
        CP.ln_structured(cm, "weight", amount=1, n="fro", dim=0)
    with pytest.raises(RuntimeError, match=r"Order abc not supported"):
        CP.ln_structured(cm, "weight", amount=1, n="abc", dim=0)


def test_iterative_pruning_container_matches_torch():
    cm, tm = _pair("Conv2d", 2, 4, 2, seed=7)
    for mod, P in ((cm, CP), (tm, TP)):
        P.l1_unstructured(mod, "weight", amount=3)
        hook = P.L1Unstructured.apply(mod, "weight", amount=0.2)
        assert isinstance(hook, P.PruningContainer) and hook._tensor_name == "weight"
        P.ln_structured(mod, "weight", amount=0.5, n=2, dim=0)
    _same(cm.weight_mask, tm.weight_mask)
    assert int((_np(cm.weight_mask) == 0).sum()) > 6
    assert _hook_types(cm) == _hook_types(tm) == ["PruningContainer"]
    (container,) = _hooks(cm)
    assert [type(m).__name__ for m in container] == [
        "L1Unstructured",
        "L1Unstructured",
        "LnStructured",
    ]
    assert len(container) == 3 and container._tensor_name == "weight"
    assert list(cm.state_dict()) == list(tm.state_dict())
    x = np.random.default_rng(8).standard_normal((2, 2, 4, 4))
    cy, ty = cm(cr.tensor(x)), tm(torch.tensor(x))
    _same(cy, ty)
    cy.sum().backward()
    ty.sum().backward()
    _same(cm.weight_orig.grad, tm.weight_orig.grad)


def test_structured_on_top_of_partial_mask_matches_torch():
    w = np.array([[10.0, 0.1, 0.1], [1, 1, 1], [2, 2, 2], [0.5, 0.5, 0.5]])
    start = np.array([[0, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]])
    for amount in (1, 0.5, 4):
        cm, tm = _pair("Linear", 3, 4, bias=False)
        cm.weight._data[...] = w
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(w))
        CP.custom_from_mask(cm, "weight", cr.tensor(start))
        TP.custom_from_mask(tm, "weight", torch.tensor(start))
        CP.ln_structured(cm, "weight", amount=amount, n=1, dim=0)
        TP.ln_structured(tm, "weight", amount=amount, n=1, dim=0)
        _same(cm.weight_mask, tm.weight_mask)
    t, dm = torch.tensor(w), torch.tensor(start, dtype=torch.float64)
    want = TP.LnStructured(1, n=1, dim=0).compute_mask(t, dm)
    _same(CP.LnStructured(1, n=1, dim=0).compute_mask(cr.tensor(w), cr.tensor(dm.numpy())), want)


def test_random_methods_by_properties():
    cr.manual_seed(0)
    cm, _ = _pair("Conv2d", 3, 6, 2, seed=9)
    CP.random_unstructured(cm, "weight", amount=0.3)
    assert int((_np(cm.weight_mask) == 0).sum()) == round(0.3 * 72)
    CP.random_unstructured(cm, "weight", amount=10)  # 10 more among the unpruned ones
    assert int((_np(cm.weight_mask) == 0).sum()) == round(0.3 * 72) + 10
    cm, _ = _pair("Conv2d", 3, 6, 2, seed=9)
    CP.random_structured(cm, "weight", amount=2, dim=1)
    per_channel = _np(cm.weight_mask).sum(axis=(0, 2, 3))
    assert sorted(per_channel.tolist()) == [0.0, 0.0, 24.0]
    CP.random_structured(cm, "weight", amount=1, dim=1)
    assert _np(cm.weight_mask).sum() == 0
    # the same mask in both libraries gives the same forward and gradients
    cm, tm = _pair("Linear", 4, 3, seed=10)
    CP.random_unstructured(cm, "weight", amount=5)
    TP.custom_from_mask(tm, "weight", torch.tensor(_np(cm.weight_mask)))
    x = np.random.default_rng(11).standard_normal((2, 4))
    cy, ty = cm(cr.tensor(x)), tm(torch.tensor(x))
    _same(cy, ty)
    cy.sum().backward()
    ty.sum().backward()
    _same(cm.weight_orig.grad, tm.weight_orig.grad)


def test_global_unstructured_matches_torch():
    pairs = [_pair("Conv2d", 1, 3, 3, seed=12), _pair("Linear", 6, 4, seed=13)]
    pairs.append(_pair("Linear", 4, 2, seed=14))
    CP.custom_from_mask(pairs[1][0], "weight", cr.tensor(np.eye(4, 6)))
    TP.custom_from_mask(pairs[1][1], "weight", torch.tensor(np.eye(4, 6)))
    c_params = [(c, "weight") for c, _ in pairs] + [(pairs[2][0], "bias")]
    t_params = [(t, "weight") for _, t in pairs] + [(pairs[2][1], "bias")]
    scores = np.arange(8.0).reshape(2, 4)
    c_imp = {(pairs[2][0], "weight"): cr.tensor(scores)}
    t_imp = {(pairs[2][1], "weight"): torch.tensor(scores)}
    kw = {"pruning_method": CP.L1Unstructured, "amount": 0.4, "importance_scores": c_imp}
    assert CP.global_unstructured(c_params, **kw) is None
    TP.global_unstructured(t_params, TP.L1Unstructured, importance_scores=t_imp, amount=0.4)
    for (cmod, cname), (tmod, tname) in zip(c_params, t_params, strict=True):
        _same(getattr(cmod, cname + "_mask"), getattr(tmod, tname + "_mask"))
        assert _hook_types(cmod) == _hook_types(tmod)
    assert _hook_types(pairs[1][0]) == ["PruningContainer"]
    with pytest.raises(TypeError, match=r'Only "unstructured" PRUNING_TYPE'):
        CP.global_unstructured(c_params, CP.LnStructured, amount=1, n=2)
    with pytest.raises(TypeError, match=r"parameters is not an Iterable"):
        CP.global_unstructured(pairs[0][0], CP.L1Unstructured, amount=1)
    with pytest.raises(ValueError, match=r"should be smaller than the number of parameters"):
        CP.global_unstructured(c_params[:1], CP.L1Unstructured, amount=28)


def test_remove_and_is_pruned_match_torch():
    cm, tm = _pair("Linear", 4, 3, seed=15)
    for mod, P in ((cm, CP), (tm, TP)):
        P.l1_unstructured(mod, "weight", amount=3)
        P.l1_unstructured(mod, "bias", amount=1)
        assert P.is_pruned(mod)
        orig = mod.weight_orig
        assert P.remove(mod, "weight") is mod
        assert mod.weight is orig  # the same Parameter object, now holding the pruned values
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in cm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert list(cm.state_dict()) == list(tm.state_dict()) == ["bias_orig", "weight", "bias_mask"]
    assert isinstance(cm.weight, cr.nn.Parameter) and cm.weight.is_leaf
    _same(cm.weight, tm.weight)
    assert _hook_types(cm) == _hook_types(tm) == ["L1Unstructured"]
    assert CP.is_pruned(cr.nn.Sequential(cm))
    CP.remove(cm, "bias")
    assert not CP.is_pruned(cm) and not CP.is_pruned(cr.nn.Sequential(cm))
    with pytest.raises(ValueError, match=r"Parameter 'weight' of module .* has to be pruned"):
        CP.remove(cm, "weight")


def test_identity_custom_from_mask_and_custom_method():
    cm = CP.identity(cr.nn.Linear(2, 3, dtype=cr.float64), "bias")
    _same(cm.bias_mask, np.ones(3))
    assert cm.bias_mask.dtype == cr.float64
    cm = CP.custom_from_mask(cr.nn.Linear(5, 3), name="bias", mask=cr.tensor([0, 1, 0]))
    tm = TP.custom_from_mask(torch.nn.Linear(5, 3), name="bias", mask=torch.tensor([0, 1, 0]))
    _same(cm.bias_mask, tm.bias_mask)
    assert cm.bias_mask.dtype == cr.float32

    class EveryOther(CP.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    m = cr.nn.Linear(2, 5)
    EveryOther.apply(m, "bias")
    _same(m.bias_mask, [0.0, 1.0, 0.0, 1.0, 0.0])
    EveryOther.apply(m, "bias")  # on the unpruned entries 1 and 3: prunes entry 1
    _same(m.bias_mask, [0.0, 0.0, 0.0, 1.0, 0.0])
    with pytest.raises(TypeError, match=r"abstract"):
        CP.BasePruningMethod()


def test_errors_match_torch():
    cm, tm = _pair("Linear", 4, 3)
    for amount, err in ((1.5, ValueError), (-1, ValueError), ("x", TypeError), (None, TypeError)):
        with pytest.raises(err) as want:
            TP.l1_unstructured(tm, "weight", amount=amount)
        with pytest.raises(err) as got:
            CP.l1_unstructured(cm, "weight", amount=amount)
        assert str(got.value) == str(want.value)
    with pytest.raises(ValueError, match=r"amount=13 should be smaller than .*prune=12"):
        CP.l1_unstructured(cm, "weight", amount=13)
    assert [n for n, _ in cm.named_parameters()] == ["weight", "bias"]  # left unchanged
    with pytest.raises(ValueError, match=r"Structured pruning can only be applied to multidim"):
        CP.ln_structured(cm, "bias", amount=1, n=2, dim=0)
    with pytest.raises(IndexError, match=r"Invalid index 2 for tensor of size"):
        CP.random_structured(cm, "weight", amount=1, dim=2)
    with pytest.raises(AttributeError, match=r"'Linear' object has no attribute 'nope'"):
        CP.l1_unstructured(cm, "nope", amount=1)
    with pytest.raises(AssertionError, match=r"importance_scores should have the same shape"):
        CP.l1_unstructured(cm, "weight", amount=1, importance_scores=cr.ones(4))
    with pytest.raises(AssertionError, match=r"default_mask shape .* must match self.mask"):
        CP.custom_from_mask(cm, "bias", cr.ones(4))
    CP.l1_unstructured(cm, "weight", amount=2)
    with pytest.raises(ValueError, match=r"amount=11 should be smaller than .*prune=10"):
        CP.l1_unstructured(cm, "weight", amount=11)
    assert _hook_types(cm) == ["L1Unstructured"]  # a failed step leaves the history intact
    container = CP.PruningContainer(_hooks(cm)[0])
    with pytest.raises(TypeError, match=r"is not a BasePruningMethod subclass"):
        container.add_pruning_method("x")
    other = CP.L1Unstructured(1)
    other._tensor_name = "bias"
    with pytest.raises(ValueError, match=r"named 'weight' to PruningContainer .* Found 'bias'"):
        container.add_pruning_method(other)
