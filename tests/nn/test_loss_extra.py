"""The extra losses (gaussian/poisson NLL, soft-margin, multi-label soft-margin and margin,
hinge-embedding, triplet-with-distance) and their modules against PyTorch: values and
gradients for every reduction, the legacy ``size_average`` / ``reduce`` flags, module
constructors, reprs and state dicts, numerically extreme inputs and bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

TF = torch.nn.functional
RNG = np.random.default_rng(0)
REDUCTIONS = ("none", "mean", "sum")
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
V = RNG.uniform(0.1, 2.0, (3, 4))
SIGNS = np.sign(RNG.standard_normal((3, 4)))
LABELS = (RNG.standard_normal((3, 4)) > 0).astype(np.float64)
ML_TARGET = np.array([[0, 0, -1, 2], [3, 1, -1, -1], [0, 1, 2, 3]])


def _run(lib, fn, arrays, diff):
    xs = [
        lib.tensor(a, requires_grad=bool(a.dtype.kind == "f" and i in diff))
        for i, a in enumerate(arrays)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(lib, *xs)
    g = np.linspace(-1.0, 1.5, max(y.numel(), 1)).reshape(tuple(y.shape))
    leaves = [x for i, x in enumerate(xs) if i in diff]
    grads = lib.autograd.grad(y, leaves, lib.tensor(g)) if leaves else []
    return y.detach().numpy(), [gr.numpy() for gr in grads]


def _check(fn, arrays, diff=(0,)):
    """``fn(lib, *tensors)`` on both libraries: same values, shapes, dtypes and gradients."""
    (cv, cg), (tv, tg) = _run(cr, fn, arrays, diff), _run(torch, fn, arrays, diff)
    assert cv.shape == tv.shape and cv.dtype == tv.dtype
    np.testing.assert_allclose(cv, tv, rtol=1e-10, atol=1e-12)
    for c, t in zip(cg, tg):
        np.testing.assert_allclose(c, t, rtol=1e-9, atol=1e-12)


def nnf(lib):
    return lib.nn.functional


# (name, fn(lib, *tensors, reduction), arrays, differentiable input positions)
CASES = [
    (
        "gaussian",
        lambda lib, x, y, v, r: nnf(lib).gaussian_nll_loss(x, y, v, reduction=r),
        [X, Y, V],
        (0, 1, 2),
    ),
    (
        "gaussian_full_short_var",
        lambda lib, x, y, v, r: nnf(lib).gaussian_nll_loss(x, y, v, full=True, reduction=r),
        [X, Y, V[:, 0]],
        (0, 1, 2),
    ),
    (
        "gaussian_var_size_1",
        lambda lib, x, y, v, r: nnf(lib).gaussian_nll_loss(x, y, v, reduction=r),
        [X, Y, V[:, :1]],
        (0, 1, 2),
    ),
    (
        "gaussian_float_var",
        lambda lib, x, y, r: nnf(lib).gaussian_nll_loss(x, y, 0.3, eps=1e-2, reduction=r),
        [X, Y],
        (0, 1),
    ),
    (
        "poisson",
        lambda lib, x, y, r: nnf(lib).poisson_nll_loss(x, y, reduction=r),
        [X, 3 * V],
        (0, 1),
    ),
    (
        "poisson_full",
        lambda lib, x, y, r: nnf(lib).poisson_nll_loss(x, y, full=True, reduction=r),
        [X, 3 * V],
        (0, 1),
    ),
    (
        "poisson_rates_full",
        lambda lib, x, y, r: nnf(lib).poisson_nll_loss(
            x, y, log_input=False, full=True, eps=1e-4, reduction=r
        ),
        [V, 3 * V[::-1]],
        (0, 1),
    ),
    (
        "soft_margin",
        lambda lib, x, y, r: nnf(lib).soft_margin_loss(x, y, reduction=r),
        [X, SIGNS],
        (0,),
    ),
    (
        "soft_margin_broadcast_target",
        lambda lib, x, y, r: nnf(lib).soft_margin_loss(x, y, reduction=r),
        [X, SIGNS[0]],
        (0,),
    ),
    (
        "multilabel_soft_margin",
        lambda lib, x, y, r: nnf(lib).multilabel_soft_margin_loss(x, y, reduction=r),
        [X, LABELS],
        (0, 1),
    ),
    (
        "multilabel_soft_margin_weight",
        lambda lib, x, y, w, r: nnf(lib).multilabel_soft_margin_loss(x, y, w, reduction=r),
        [X, LABELS, V[0]],
        (0, 1, 2),
    ),
    (
        "multilabel_soft_margin_3d",
        lambda lib, x, y, r: nnf(lib).multilabel_soft_margin_loss(x, y, reduction=r),
        [RNG.standard_normal((2, 3, 4)), RNG.uniform(0, 1, (2, 3, 4))],
        (0, 1),
    ),
    (
        "hinge_embedding",
        lambda lib, x, y, r: nnf(lib).hinge_embedding_loss(x, y, reduction=r),
        [X, SIGNS],
        (0,),
    ),
    (
        "hinge_embedding_margin_other_labels",
        lambda lib, x, y, r: nnf(lib).hinge_embedding_loss(x, y, margin=0.3, reduction=r),
        [X, np.where(LABELS > 0, 2.0, -1.0)],
        (0,),
    ),
    (
        "multilabel_margin",
        lambda lib, x, y, r: nnf(lib).multilabel_margin_loss(x, y, reduction=r),
        [X, ML_TARGET],
        (0,),
    ),
    (
        "multilabel_margin_1d",
        lambda lib, x, y, r: nnf(lib).multilabel_margin_loss(x, y, reduction=r),
        [X[0], np.array([2, -1, 5, 0]) % 4 - np.array([0, 0, 0, 1])],
        (0,),
    ),
    (
        "triplet_with_distance",
        lambda lib, a, p, n, r: nnf(lib).triplet_margin_with_distance_loss(
            a, p, n, margin=2.0, reduction=r
        ),
        [X, Y, V],
        (0, 1, 2),
    ),
    (
        "triplet_with_distance_swap_custom",
        lambda lib, a, p, n, r: nnf(lib).triplet_margin_with_distance_loss(
            a,
            p,
            n,
            distance_function=lambda u, w: ((u - w) ** 2).sum(-1),
            swap=True,
            reduction=r,
        ),
        [X, Y, V],
        (0, 1, 2),
    ),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,fn,arrays,diff", CASES, ids=[c[0] for c in CASES])
def test_functional_matches_torch(name, fn, arrays, diff, reduction):
    _check(lambda lib, *xs: fn(lib, *xs, reduction), arrays, diff)


LEGACY = [
    ("poisson_nll_loss", [X, 3 * V], {}),
    ("soft_margin_loss", [X, SIGNS], {}),
    ("multilabel_soft_margin_loss", [X, LABELS], {}),
    ("hinge_embedding_loss", [X, SIGNS], {"margin": 0.5}),
    ("multilabel_margin_loss", [X, ML_TARGET], {}),
]
FLAGS = [(True, None), (False, None), (None, False), (None, True), (False, False), (True, True)]


@pytest.mark.parametrize("size_average,reduce", FLAGS)
@pytest.mark.parametrize("name,arrays,kw", LEGACY, ids=[c[0] for c in LEGACY])
def test_legacy_size_average_reduce(name, arrays, kw, size_average, reduce):
    """The deprecated flags override ``reduction`` (here 'sum') as PyTorch reads them, with
    PyTorch's UserWarning."""
    for lib in (cr, torch):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            getattr(nnf(lib), name)(
                *[lib.tensor(a) for a in arrays],
                size_average=size_average,
                reduce=reduce,
                reduction="sum",
                **kw,
            )
    _check(
        lambda lib, *xs: getattr(nnf(lib), name)(
            *xs, size_average=size_average, reduce=reduce, reduction="sum", **kw
        ),
        arrays,
    )


MODULES = [
    ("GaussianNLLLoss", {"full": True, "eps": 0.2}, [X, Y, V]),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-3}, [V, 3 * V]),
    ("SoftMarginLoss", {}, [X, SIGNS]),
    ("MultiLabelSoftMarginLoss", {}, [X, LABELS]),
    ("HingeEmbeddingLoss", {"margin": 0.7}, [X, SIGNS]),
    ("MultiLabelMarginLoss", {}, [X, ML_TARGET]),
    ("TripletMarginWithDistanceLoss", {"margin": 1.5, "swap": True}, [X, Y, V]),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw,arrays", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, kw, arrays, reduction):
    mods = {lib: getattr(lib.nn, name)(reduction=reduction, **kw) for lib in (cr, torch)}
    assert repr(mods[cr]) == repr(mods[torch])
    assert list(mods[cr].state_dict()) == list(mods[torch].state_dict())
    assert mods[cr].reduction == reduction
    for k, v in kw.items():
        assert getattr(mods[cr], k) == v
    _check(lambda lib, *xs: mods[lib](*xs), arrays, (0,))


@pytest.mark.parametrize("size_average,reduce", FLAGS)
@pytest.mark.parametrize(
    "name,arrays",
    [
        ("PoissonNLLLoss", [X, 3 * V]),
        ("SoftMarginLoss", [X, SIGNS]),
        ("MultiLabelSoftMarginLoss", [X, LABELS]),
        ("HingeEmbeddingLoss", [X, SIGNS]),
        ("MultiLabelMarginLoss", [X, ML_TARGET]),
    ],
)
def test_module_legacy_flags(name, arrays, size_average, reduce):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mods = {
            lib: getattr(lib.nn, name)(size_average=size_average, reduce=reduce)
            for lib in (cr, torch)
        }
    assert mods[cr].reduction == mods[torch].reduction
    _check(lambda lib, *xs: mods[lib](*xs), arrays)


def test_module_paths_reprs_and_weight_buffer():
    from chainrule.nn.modules import loss as cr_loss

    for name, *_ in MODULES:
        assert getattr(cr_loss, name) is getattr(cr.nn, name)
        assert issubclass(getattr(cr.nn, name), cr_loss._Loss)
    assert issubclass(cr.nn.MultiLabelSoftMarginLoss, cr_loss._WeightedLoss)
    w = V[0]
    c = cr.nn.MultiLabelSoftMarginLoss(cr.tensor(w), reduction="sum")
    t = torch.nn.MultiLabelSoftMarginLoss(torch.tensor(w), reduction="sum")
    assert list(c.state_dict()) == list(t.state_dict()) == ["weight"]
    assert repr(c) == repr(t) == "MultiLabelSoftMarginLoss()"
    _check(lambda lib, *xs: (c if lib is cr else t)(*xs), [X, LABELS], (0, 1))
    # the default distance is a PairwiseDistance child module, as PyTorch's
    ct, tt = cr.nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss()
    assert repr(ct) == repr(tt)
    assert isinstance(ct.distance_function, cr.nn.PairwiseDistance)
    custom = cr.nn.TripletMarginWithDistanceLoss(distance_function=cr.nn.CosineSimilarity())
    assert [n for n, _ in custom.named_children()] == ["distance_function"]
    assert "(distance_function): CosineSimilarity(" in repr(custom)
    # PoissonNLLLoss.forward's first argument is named log_input, as PyTorch's
    p = cr.nn.PoissonNLLLoss()
    got = p(log_input=cr.tensor(X), target=cr.tensor(3 * V))
    want = torch.nn.PoissonNLLLoss()(log_input=torch.tensor(X), target=torch.tensor(3 * V))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_constructor_defaults_match_torch():
    import inspect

    for name, *_ in MODULES:
        cs = inspect.signature(getattr(cr.nn, name).__init__).parameters
        ts = inspect.signature(getattr(torch.nn, name).__init__).parameters
        assert list(cs) == list(ts), name
        for k in cs:
            assert cs[k].default == ts[k].default and cs[k].kind == ts[k].kind, (name, k)
    for name in (
        "gaussian_nll_loss",
        "poisson_nll_loss",
        "soft_margin_loss",
        "multilabel_soft_margin_loss",
        "hinge_embedding_loss",
        "multilabel_margin_loss",
        "triplet_margin_with_distance_loss",
    ):
        cs = inspect.signature(getattr(F, name)).parameters
        ts = inspect.signature(getattr(TF, name)).parameters
        assert list(cs) == list(ts), name
        for k in cs:
            assert cs[k].default == ts[k].default and cs[k].kind == ts[k].kind, (name, k)


def test_gaussian_eps_clamp_gradient_passes_straight_through():
    """PyTorch clamps a copy of var under no_grad: below eps the loss is that of eps, but the
    gradient w.r.t. var is the derivative there, not zero."""
    v = V.copy()
    v[0, :2] = [1e-9, 0.0]
    _check(
        lambda lib, x, y, var: nnf(lib).gaussian_nll_loss(x, y, var, eps=0.05, reduction="sum"),
        [X, Y, v],
        (0, 1, 2),
    )
    var = cr.tensor(v, requires_grad=True)
    F.gaussian_nll_loss(cr.tensor(X), cr.tensor(Y), var, eps=0.05, reduction="sum").backward()
    assert np.all(var.grad.numpy()[0, :2] != 0)


def test_stable_for_extreme_logits():
    """log(1 + e^z) as softplus: PyTorch's soft_margin_loss kernel computes it naively and
    overflows to inf for margins past ~710; chainrule gives the exact value z."""
    big = np.array([[1e4, -1e4, 800.0, -800.0, 3.0]])
    y = np.array([[-1.0, 1.0, -1.0, 1.0, 1.0]])
    z = -y * big
    want = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    x = cr.tensor(big, requires_grad=True)
    loss = F.soft_margin_loss(x, cr.tensor(y), reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), want, rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), -y / (1 + np.exp(-z)), rtol=1e-15)
    # multilabel_soft_margin_loss uses logsigmoid in PyTorch too: both stable and equal
    fn = lambda lib, x, t: nnf(lib).multilabel_soft_margin_loss(x, t, reduction="none")  # noqa: E731
    cv, cg = _run(cr, fn, [big, (y > 0) * 1.0], (0,))
    assert np.all(np.isfinite(cv)) and np.all(np.isfinite(cg[0]))
    _check(fn, [big, (y > 0) * 1.0])


def _errors(call, arrays):
    """The exception types both libraries raise for ``call(lib, *tensors)``."""
    out = []
    for lib in (cr, torch):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared with PyTorch's below
            call(lib, *[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
        out.append(info.value)
    return out


BAD = [
    ("gaussian_negative_var", lambda lib, x, y, v: nnf(lib).gaussian_nll_loss(x, y, v), [X, Y, -V]),
    ("gaussian_negative_float", lambda lib, x, y: nnf(lib).gaussian_nll_loss(x, y, -1.0), [X, Y]),
    ("gaussian_int_var", lambda lib, x, y: nnf(lib).gaussian_nll_loss(x, y, 1), [X, Y]),
    (
        "gaussian_var_size",
        lambda lib, x, y, v: nnf(lib).gaussian_nll_loss(x, y, v),
        [X, Y, V[:2, :2]],
    ),
    (
        "gaussian_reduction",
        lambda lib, x, y, v: nnf(lib).gaussian_nll_loss(x, y, v, reduction="avg"),
        [X, Y, V],
    ),
    (
        "gaussian_target_shape",
        lambda lib, x, y, v: nnf(lib).gaussian_nll_loss(x, y, v),
        [X, Y[:, :3], V],
    ),
    ("poisson_shape", lambda lib, x, y: nnf(lib).poisson_nll_loss(x, y), [X, Y[:, :3]]),
    (
        "poisson_reduction",
        lambda lib, x, y: nnf(lib).poisson_nll_loss(x, y, reduction="x"),
        [X, Y],
    ),
    ("soft_margin_shape", lambda lib, x, y: nnf(lib).soft_margin_loss(x, y), [X, Y[:, :3]]),
    ("soft_margin_target_bigger", lambda lib, x, y: nnf(lib).soft_margin_loss(x, y), [X[0], Y]),
    (
        "soft_margin_reduction",
        lambda lib, x, y: nnf(lib).soft_margin_loss(x, y, reduction="x"),
        [X, Y],
    ),
    (
        "multilabel_soft_margin_shape",
        lambda lib, x, y: nnf(lib).multilabel_soft_margin_loss(x, y),
        [X, Y[:, :3]],
    ),
    (
        "multilabel_soft_margin_reduction",
        lambda lib, x, y: nnf(lib).multilabel_soft_margin_loss(x, y, reduction="x"),
        [X, Y],
    ),
    (
        "hinge_reduction",
        lambda lib, x, y: nnf(lib).hinge_embedding_loss(x, y, reduction="x"),
        [X, Y],
    ),
    ("hinge_shape", lambda lib, x, y: nnf(lib).hinge_embedding_loss(x, y), [X, Y[:, :3]]),
    ("mlm_float_target", lambda lib, x, y: nnf(lib).multilabel_margin_loss(x, y), [X, Y]),
    (
        "mlm_out_of_range",
        lambda lib, x, y: nnf(lib).multilabel_margin_loss(x, y),
        [X, ML_TARGET + 1],
    ),
    (
        "mlm_target_shape",
        lambda lib, x, y: nnf(lib).multilabel_margin_loss(x, y),
        [X, ML_TARGET[:2]],
    ),
    (
        "mlm_3d",
        lambda lib, x, y: nnf(lib).multilabel_margin_loss(x, y),
        [X[None], ML_TARGET[None]],
    ),
    (
        "mlm_reduction",
        lambda lib, x, y: nnf(lib).multilabel_margin_loss(x, y, reduction="x"),
        [X, ML_TARGET],
    ),
    (
        "triplet_margin",
        lambda lib, a, p, n: nnf(lib).triplet_margin_with_distance_loss(a, p, n, margin=-1.0),
        [X, Y, V],
    ),
    (
        "triplet_ranks",
        lambda lib, a, p, n: nnf(lib).triplet_margin_with_distance_loss(a, p, n),
        [X, Y, V[0]],
    ),
    (
        "triplet_reduction",
        lambda lib, a, p, n: nnf(lib).triplet_margin_with_distance_loss(a, p, n, reduction="x"),
        [X, Y, V],
    ),
    (
        "triplet_module_margin",
        lambda lib, a: lib.nn.TripletMarginWithDistanceLoss(margin=0.0),
        [X],
    ),
]


@pytest.mark.parametrize("name,call,arrays", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_raise_like_torch(name, call, arrays):
    c, t = _errors(call, arrays)
    assert isinstance(c, type(t)), (type(c), type(t), str(c))
    op = name.split("_")[0]
    if str(c) == str(t):  # PyTorch's text word for word (reduction, gaussian's negative var)
        return
    assert op in str(c).lower() or {"mlm": "multilabel_margin"}.get(op, op) in str(c), str(c)


def test_soft_margin_target_requiring_grad_raises_like_torch():
    for lib in (cr, torch):
        x = lib.tensor(X, requires_grad=True)
        t = lib.tensor(SIGNS, requires_grad=True)
        with pytest.raises(RuntimeError, match="not differentiable with respect to argument"):
            nnf(lib).soft_margin_loss(x, t)
        with lib.no_grad():  # no graph: allowed, as PyTorch
            got = nnf(lib).soft_margin_loss(x, t)
        assert abs(float(got) - float(np.log1p(np.exp(-X * SIGNS)).mean())) < 1e-12


def test_module_bad_reduction_raises():
    # checked when called, as PyTorch (constructing one passes), with PyTorch's words
    loss = cr.nn.SoftMarginLoss(reduction="avg")
    with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
        loss(cr.tensor(X), cr.tensor(SIGNS))
    with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
        torch.nn.SoftMarginLoss(reduction="avg")(torch.tensor(X), torch.tensor(SIGNS))
