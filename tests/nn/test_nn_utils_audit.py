"""torch.nn.utils against PyTorch, from an audit of the package: gradient clipping (every
norm order, half precision, bad clip values), parameter <-> vector, the parametrize API,
weight/spectral norm (both generations) and orthogonal with the same seed, pruning (masks
drawn from the same seed), rnn padding/packing, conv/linear + BatchNorm fusion,
functional_call with tied weights, and the conv weight memory-format conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401 - torch's prune is a submodule, loaded on import
import torch.nn.utils.rnn  # noqa: F401

import chainrule as cr

from ._helpers import copy_params

_GRADS = [
    np.random.default_rng(i).standard_normal(s) for i, s in enumerate([(3, 4), (5,), (2, 2, 2)])
]


def _lib_dtype(lib, name):
    return getattr(lib, name)


def _params(lib, arrays, dtype="float32", none_at=(), scale=1.0):
    """Leaves with ``.grad`` set from ``arrays * scale`` (None at the indices in none_at)."""
    dt = _lib_dtype(lib, dtype)
    out = []
    for i, a in enumerate(arrays):
        p = lib.zeros(a.shape, dtype=dt, requires_grad=True)
        if i not in none_at:
            p.grad = lib.tensor(a * scale, dtype=dt)
        out.append(p)
    return out


def _np(t):
    if t.dtype in (torch.bfloat16, cr.bfloat16):
        t = t.float()
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def _same(c, t, tol):
    assert str(c.dtype) == str(t.dtype), (c.dtype, t.dtype)
    assert tuple(c.shape) == tuple(t.shape), (c.shape, t.shape)
    np.testing.assert_allclose(_np(c), _np(t), rtol=tol, atol=tol, equal_nan=True)


_TOL = {"float32": 1e-5, "float64": 1e-12, "float16": 2e-3, "bfloat16": 2e-2}


# ----------------------------------------------------------------------------- clipping


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("norm_type", [2, 1, math.inf, -math.inf, 0.5, 0, 3, -2.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0, 0.0, -1.0])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    ct, tt = _params(cr, _GRADS, dtype, (1,)), _params(torch, _GRADS, dtype, (1,))
    nc = cr.nn.utils.clip_grad_norm_(ct, max_norm, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(tt, max_norm, norm_type)
    _same(nc, nt, _TOL[dtype])
    assert nc.requires_grad is False and nc.grad_fn is None
    assert ct[1].grad is None
    for c, t in zip(ct, tt):
        if t.grad is not None:
            _same(c.grad, t.grad, _TOL[dtype])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("norm_type", [2, 3, -2.0])
def test_clip_grad_norm_half_accumulates_in_float32(dtype, norm_type):
    # found: squaring half gradients of ~300 overflowed to inf, the clip then zeroed them
    ct, tt = (
        _params(cr, _GRADS[:2], dtype, scale=300.0),
        _params(torch, _GRADS[:2], dtype, scale=300.0),
    )
    _same(
        cr.nn.utils.clip_grad_norm_(ct, 1.0, norm_type),
        torch.nn.utils.clip_grad_norm_(tt, 1.0, norm_type),
        _TOL[dtype],
    )
    for c, t in zip(ct, tt):
        _same(c.grad, t.grad, _TOL[dtype])
    gc = cr.nn.utils.get_total_norm([cr.full((3,), 300.0, dtype=_lib_dtype(cr, dtype))], 3)
    gt = torch.nn.utils.get_total_norm([torch.full((3,), 300.0, dtype=_lib_dtype(torch, dtype))], 3)
    _same(gc, gt, _TOL[dtype])


def test_get_total_norm_mixed_dtypes_and_empty():
    mixed_c = [
        cr.ones(3, dtype=cr.float16),
        cr.ones(3, dtype=cr.bfloat16),
        cr.ones(2, dtype=cr.float32),
    ]
    mixed_t = [
        torch.ones(3, dtype=torch.float16),
        torch.ones(3, dtype=torch.bfloat16),
        torch.ones(2),
    ]
    _same(cr.nn.utils.get_total_norm(mixed_c), torch.nn.utils.get_total_norm(mixed_t), 1e-6)
    _same(cr.nn.utils.get_total_norm([]), torch.nn.utils.get_total_norm([]), 0)
    _same(cr.nn.utils.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0), 0)


def test_get_total_norm_rejects_integer_tensors():
    with pytest.raises(RuntimeError):
        torch.nn.utils.get_total_norm([torch.ones(3, dtype=torch.int64)])
    with pytest.raises(RuntimeError, match="floating point or complex"):
        cr.nn.utils.get_total_norm([cr.ones(3, dtype=cr.int64)])


@pytest.mark.parametrize("bad", [math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2, math.inf])
def test_clip_grad_norm_nonfinite(bad, norm_type):
    arrays = [_GRADS[0].copy(), _GRADS[1]]
    arrays[0][0, 0] = bad
    ct, tt = _params(cr, arrays), _params(torch, arrays)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(tt, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        cr.nn.utils.clip_grad_norm_(ct, 1.0, norm_type, error_if_nonfinite=True)
    nc = cr.nn.utils.clip_grad_norm_(ct, 1.0, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(tt, 1.0, norm_type)
    _same(nc, nt, 1e-6)
    for c, t in zip(ct, tt):
        _same(c.grad, t.grad, 1e-6)


@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_norm_single_tensor_and_foreach(foreach):
    c, t = _params(cr, _GRADS[:1])[0], _params(torch, _GRADS[:1])[0]
    g = c.grad
    _same(
        cr.nn.utils.clip_grad_norm_(c, 0.1, foreach=foreach),
        torch.nn.utils.clip_grad_norm_(t, 0.1, foreach=foreach),
        1e-6,
    )
    _same(c.grad, t.grad, 1e-6)
    assert c.grad is g  # scaled in place


def test_clip_grads_with_norm_():
    ct, tt = _params(cr, _GRADS), _params(torch, _GRADS)
    cr.nn.utils.clip_grads_with_norm_(ct, 0.5, cr.nn.utils.get_total_norm([p.grad for p in ct]))
    torch.nn.utils.clip_grads_with_norm_(
        tt, 0.5, torch.nn.utils.get_total_norm([p.grad for p in tt])
    )
    for c, t in zip(ct, tt):
        _same(c.grad, t.grad, 1e-6)


def test_clip_grads_with_norm_needs_a_0d_total():
    # found: a 1-element total norm raised NumPy's TypeError
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grads_with_norm_(_params(torch, _GRADS), 0.5, torch.tensor([2.0]))
    with pytest.raises(RuntimeError, match="0-dim"):
        cr.nn.utils.clip_grads_with_norm_(_params(cr, _GRADS), 0.5, cr.tensor([2.0]))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("clip_value", [0.5, 0.0, 2, -1.0, math.inf, 65504.0])
def test_clip_grad_value_matches_torch(dtype, clip_value):
    ct, tt = _params(cr, _GRADS, dtype, (1,)), _params(torch, _GRADS, dtype, (1,))
    assert cr.nn.utils.clip_grad_value_(ct, clip_value) is None
    torch.nn.utils.clip_grad_value_(tt, clip_value)
    for c, t in zip(ct, tt):
        if t.grad is not None:
            _same(c.grad, t.grad, _TOL[dtype])


@pytest.mark.parametrize(
    ("dtype", "clip_value"), [("float16", 7e4), ("bfloat16", 1e39), ("float32", 1e39)]
)
def test_clip_grad_value_overflow_raises(dtype, clip_value):
    # found: NumPy clamped with an overflowed inf after a RuntimeWarning
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_value_(_params(torch, _GRADS, dtype), clip_value)
    with pytest.raises(RuntimeError, match="overflow"):
        cr.nn.utils.clip_grad_value_(_params(cr, _GRADS, dtype), clip_value)


def test_clip_grad_value_complex_raises():
    # found: NumPy clipped complex numbers lexicographically, silently
    def complex_param(lib):
        p = lib.zeros(2, dtype=lib.complex64, requires_grad=True)
        p.grad = lib.tensor([3 + 4j, -1j], dtype=lib.complex64)
        return p

    with pytest.raises(NotImplementedError):
        torch.nn.utils.clip_grad_value_([complex_param(torch)], 1.0)
    with pytest.raises(NotImplementedError, match="complex"):
        cr.nn.utils.clip_grad_value_([complex_param(cr)], 1.0)


# ----------------------------------------------------------------- parameters <-> vector


def test_parameters_to_vector_and_back():
    ct, tt = _params(cr, _GRADS), _params(torch, _GRADS)
    vc, vt = cr.nn.utils.parameters_to_vector(ct), torch.nn.utils.parameters_to_vector(tt)
    (vc * cr.arange(25.0)).sum().backward()
    (vt * torch.arange(25.0)).sum().backward()
    _same(vc, vt, 0)
    for c, t in zip(ct, tt):
        _same(c.grad, t.grad, 0)
    for n in (25, 27):
        cr.nn.utils.vector_to_parameters(cr.arange(float(n)), ct)
        torch.nn.utils.vector_to_parameters(torch.arange(float(n)), tt)
        for c, t in zip(ct, tt):
            _same(c.detach(), t.detach(), 0)
    with pytest.raises(RuntimeError):
        torch.nn.utils.vector_to_parameters(torch.arange(10.0), tt)
    with pytest.raises(RuntimeError):
        cr.nn.utils.vector_to_parameters(cr.arange(10.0), ct)


# ---------------------------------------------------------------- weight / spectral norm


def _pair_modules(build, seed=0):
    torch.manual_seed(seed)
    t = build(torch)
    c = build(cr)
    copy_params(c, t)
    return c, t


_BUILD = {
    "linear": (lambda L: L.nn.Linear(5, 3), (4, 5)),
    "conv2d": (lambda L: L.nn.Conv2d(2, 4, 3), (2, 2, 5, 5)),
    "convT2d": (lambda L: L.nn.ConvTranspose2d(2, 4, 3), (2, 2, 4, 4)),
}


def _train(lib, m, x, steps=2):
    """Forward, weighted-sum backward and an SGD step, ``steps`` times: the outputs, the
    gradients of the parameters and the final weight."""
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    outs = []
    for _ in range(steps):
        opt.zero_grad()
        y = m(lib.tensor(x, dtype=lib.float32))
        (y * y).sum().backward()
        outs += [y.detach()] + [p.grad.clone() for p in m.parameters()]
        opt.step()
    return outs + [m.weight.detach()]


def _compare_training(c, t, x, steps=2, tol=1e-4):
    oc, ot = _train(cr, c, x, steps), _train(torch, t, x, steps)
    assert len(oc) == len(ot)
    for a, b in zip(oc, ot):
        _same(a, b, tol)
    assert sorted(c.state_dict()) == sorted(t.state_dict())


@pytest.mark.parametrize("kind", list(_BUILD))
@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_parametrizations_weight_norm(kind, dim):
    build, shape = _BUILD[kind]
    c, t = _pair_modules(build)
    cr.nn.utils.parametrizations.weight_norm(c, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    _same(c.weight, t.weight, 1e-6)
    _compare_training(c, t, np.random.default_rng(1).standard_normal(shape))


@pytest.mark.parametrize("dim", [2, 5, -3])
def test_parametrizations_weight_norm_dim_out_of_range(dim):
    # found: the dim wrapped modulo ndim, silently
    with pytest.raises(IndexError):
        torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 2), dim=dim)
    with pytest.raises(IndexError, match="out of range"):
        cr.nn.utils.parametrizations.weight_norm(cr.nn.Linear(3, 2), dim=dim)


@pytest.mark.parametrize("kind", list(_BUILD))
@pytest.mark.parametrize("n_power_iterations", [1, 3])
@pytest.mark.parametrize("train", [True, False])
def test_parametrizations_spectral_norm_same_seed(kind, n_power_iterations, train):
    build, shape = _BUILD[kind]
    c, t = _pair_modules(build)
    torch.manual_seed(7)
    torch.nn.utils.parametrizations.spectral_norm(t, n_power_iterations=n_power_iterations)
    cr.manual_seed(7)
    cr.nn.utils.parametrizations.spectral_norm(c, n_power_iterations=n_power_iterations)
    for key, value in t.state_dict().items():
        _same(c.state_dict()[key], value, 1e-5)
    c.train(train)
    t.train(train)
    _compare_training(c, t, np.random.default_rng(1).standard_normal(shape))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_spectral_norm_vectors_drawn_as_torch(dtype):
    # found: u and v were drawn in float64 and cast: a different stream than torch's normal_
    def build(lib):
        return lib.nn.Linear(40, 30, dtype=_lib_dtype(lib, dtype))

    for new in (True, False):
        c, t = _pair_modules(build)
        torch.manual_seed(3)
        cr.manual_seed(3)
        if new:
            torch.nn.utils.parametrizations.spectral_norm(t)
            cr.nn.utils.parametrizations.spectral_norm(c)
            uc, ut = c.parametrizations.weight[0]._u, t.parametrizations.weight[0]._u
        else:
            torch.nn.utils.spectral_norm(t)
            cr.nn.utils.spectral_norm(c)
            uc, ut = c.weight_u, t.weight_u
        _same(uc, ut, 1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (20, 4)])
@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal_same_seed(shape, orthogonal_map, use_trivialization):
    # found: the completion of a non-square base was drawn in float64 and cast
    c, t = _pair_modules(lambda L: L.nn.Linear(shape[1], shape[0]))
    torch.manual_seed(11)
    cr.manual_seed(11)
    kw = {"orthogonal_map": orthogonal_map, "use_trivialization": use_trivialization}
    torch.nn.utils.parametrizations.orthogonal(t, **kw)
    cr.nn.utils.parametrizations.orthogonal(c, **kw)
    _same(c.weight, t.weight, 1e-5)
    x = np.random.default_rng(0).standard_normal((2, shape[1]))
    _compare_training(c, t, x, steps=2, tol=1e-4)


@pytest.mark.parametrize("kind", ["linear", "conv2d"])
@pytest.mark.parametrize("dim", [0, 1])
def test_old_weight_norm_hook(kind, dim):
    build, shape = _BUILD[kind]
    c, t = _pair_modules(build)
    with pytest.warns(FutureWarning):
        cr.nn.utils.weight_norm(c, dim=dim)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(t, dim=dim)
    _compare_training(c, t, np.random.default_rng(1).standard_normal(shape))
    cr.nn.utils.remove_weight_norm(c)
    torch.nn.utils.remove_weight_norm(t)
    assert sorted(c.state_dict()) == sorted(t.state_dict())
    _same(c.weight, t.weight, 1e-5)


@pytest.mark.parametrize("train", [True, False])
def test_old_spectral_norm_hook(train):
    build, shape = _BUILD["conv2d"]
    c, t = _pair_modules(build)
    torch.manual_seed(5)
    cr.manual_seed(5)
    torch.nn.utils.spectral_norm(t)
    cr.nn.utils.spectral_norm(c)
    c.train(train)
    t.train(train)
    _compare_training(c, t, np.random.default_rng(1).standard_normal(shape))
    cr.nn.utils.remove_spectral_norm(c)
    torch.nn.utils.remove_spectral_norm(t)
    assert sorted(c.state_dict()) == sorted(t.state_dict())
    _same(c.weight, t.weight, 1e-5)


# ------------------------------------------------------------------------ parametrize


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()

    return Symmetric()


@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_register_and_remove_parametrization(leave_parametrized):
    c, t = _pair_modules(lambda L: L.nn.Linear(4, 4))
    for lib, m in ((cr, c), (torch, t)):
        lib.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(lib))
    assert type(c).__name__ == type(t).__name__ == "ParametrizedLinear"
    x = np.random.default_rng(2).standard_normal((3, 4))
    _compare_training(c, t, x, steps=1, tol=1e-5)
    for lib, m in ((cr, c), (torch, t)):
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized)
    assert sorted(c.state_dict()) == sorted(t.state_dict())
    assert type(c).__name__ == "Linear"
    _same(c.weight, t.weight, 1e-5)


def test_parametrize_cached_computes_once():
    calls = {cr: 0, torch: 0}

    def scale(lib):
        class Scale(lib.nn.Module):
            def forward(self, x):
                calls[lib] += 1
                return x * 2

        return Scale()

    for lib in (cr, torch):
        m = lib.nn.Linear(3, 3)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", scale(lib))
        calls[lib] = 0
        with lib.nn.utils.parametrize.cached():
            assert m.weight is m.weight
        m.weight  # noqa: B018 - outside the context: computed again
    assert calls[cr] == calls[torch] == 2


# ---------------------------------------------------------------------------- pruning


@pytest.mark.parametrize("amount", [0, 0.3, 0.5, 1.0, 3])
@pytest.mark.parametrize("name", ["weight", "bias"])
def test_unstructured_pruning_same_seed(amount, name):
    for method in ("l1_unstructured", "random_unstructured"):
        c, t = _pair_modules(lambda L: L.nn.Linear(6, 4))
        torch.manual_seed(9)
        cr.manual_seed(9)
        getattr(torch.nn.utils.prune, method)(t, name, amount)
        getattr(cr.nn.utils.prune, method)(c, name, amount)
        _same(getattr(c, name + "_mask"), getattr(t, name + "_mask"), 0)
        _same(getattr(c, name), getattr(t, name), 0)
        assert sorted(c.state_dict()) == sorted(t.state_dict())


@pytest.mark.parametrize("amount", [1, 2, 0.5])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_same_seed(amount, dim):
    # found: the channels of the largest draws were pruned; PyTorch keeps those
    for seed in range(3):
        c, t = _pair_modules(lambda L: L.nn.Conv2d(3, 4, 2))
        torch.manual_seed(seed)
        cr.manual_seed(seed)
        torch.nn.utils.prune.random_structured(t, "weight", amount, dim=dim)
        cr.nn.utils.prune.random_structured(c, "weight", amount, dim=dim)
        _same(c.weight_mask, t.weight_mask, 0)


@pytest.mark.parametrize("n", [1, 2, math.inf, -math.inf, "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured(n, dim):
    if n == "fro":  # over more than two remaining dims it raises, in both
        for lib in (torch, cr):
            with pytest.raises(RuntimeError, match="2-tuple"):
                lib.nn.utils.prune.ln_structured(lib.nn.Conv2d(3, 4, 2), "weight", 0.5, n, dim)
    build = (lambda L: L.nn.Linear(6, 4)) if n == "fro" else (lambda L: L.nn.Conv2d(3, 4, 2))
    c, t = _pair_modules(build)
    torch.nn.utils.prune.ln_structured(t, "weight", 0.5, n=n, dim=dim)
    cr.nn.utils.prune.ln_structured(c, "weight", 0.5, n=n, dim=dim)
    _same(c.weight_mask, t.weight_mask, 0)


def test_ln_structured_nuclear_norm_raises_even_for_amount_zero():
    with pytest.raises(RuntimeError):
        torch.nn.utils.prune.ln_structured(torch.nn.Linear(3, 2), "weight", 0, n="nuc", dim=0)
    with pytest.raises(RuntimeError, match="2-tuple"):
        cr.nn.utils.prune.ln_structured(cr.nn.Linear(3, 2), "weight", 0, n="nuc", dim=0)


def test_iterative_and_global_pruning_then_remove():
    (ca, ta), (cb, tb) = (
        _pair_modules(lambda L: L.nn.Linear(6, 4)),
        _pair_modules(lambda L: L.nn.Conv2d(3, 4, 2), 1),
    )
    for lib, a, b in ((torch, ta, tb), (cr, ca, cb)):
        lib.manual_seed(4)
        pr = lib.nn.utils.prune
        pr.l1_unstructured(a, "weight", 0.3)
        pr.random_unstructured(a, "weight", 2)
        pr.global_unstructured(
            [(a, "weight"), (b, "weight"), (a, "bias")], pruning_method=pr.L1Unstructured, amount=7
        )
    for cm, tm, name in ((ca, ta, "weight"), (cb, tb, "weight"), (ca, ta, "bias")):
        _same(getattr(cm, name + "_mask"), getattr(tm, name + "_mask"), 0)
    cr.nn.utils.prune.remove(ca, "weight")
    torch.nn.utils.prune.remove(ta, "weight")
    assert sorted(ca.state_dict()) == sorted(ta.state_dict())
    assert cr.nn.utils.prune.is_pruned(ca) == torch.nn.utils.prune.is_pruned(ta) is True
    _same(ca.weight, ta.weight, 0)


def test_custom_from_mask():
    c, t = _pair_modules(lambda L: L.nn.Linear(6, 4))
    mask = np.arange(24).reshape(4, 6) % 3 == 0
    cr.nn.utils.prune.custom_from_mask(c, "weight", cr.tensor(mask))
    torch.nn.utils.prune.custom_from_mask(t, "weight", torch.tensor(mask))
    _same(c.weight_mask, t.weight_mask, 0)
    _same(c.weight, t.weight, 0)


# -------------------------------------------------------------------------------- rnn


def _seqs(lib, lengths, dtype="float32"):
    return [
        lib.tensor(
            np.random.default_rng(i).standard_normal((n, 3)),
            dtype=_lib_dtype(lib, dtype),
            requires_grad=True,
        )
        for i, n in enumerate(lengths)
    ]


@pytest.mark.parametrize("lengths", [[3, 2, 1], [1, 3, 2], [0, 2]])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(lengths, batch_first, padding_side):
    sc, st = _seqs(cr, lengths), _seqs(torch, lengths)
    yc = cr.nn.utils.rnn.pad_sequence(sc, batch_first, -1.5, padding_side)
    yt = torch.nn.utils.rnn.pad_sequence(st, batch_first, -1.5, padding_side)
    _same(yc, yt, 0)
    w = np.random.default_rng(5).standard_normal(tuple(yt.shape))
    (yc * cr.tensor(w, dtype=cr.float32)).sum().backward()
    (yt * torch.tensor(w, dtype=torch.float32)).sum().backward()
    for c, t in zip(sc, st):
        _same(c.grad, t.grad, 0)


def test_pad_sequence_keeps_the_first_dtype():
    # found: the sequences were concatenated with type promotion (float64 out)
    yc = cr.nn.utils.rnn.pad_sequence([cr.ones(2, 3), cr.ones(1, 3, dtype=cr.float64)])
    yt = torch.nn.utils.rnn.pad_sequence([torch.ones(2, 3), torch.ones(1, 3, dtype=torch.float64)])
    _same(yc, yt, 0)


@pytest.mark.parametrize("lengths", [[3, 2, 1], [1, 3, 2]])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_pad_roundtrip(lengths, enforce_sorted):
    if enforce_sorted and lengths != sorted(lengths, reverse=True):
        for lib in (torch, cr):
            with pytest.raises(RuntimeError):
                lib.nn.utils.rnn.pack_sequence(_seqs(lib, lengths), enforce_sorted=True)
        return
    out = {}
    for lib in (torch, cr):
        pc = lib.nn.utils.rnn.pack_sequence(_seqs(lib, lengths), enforce_sorted=enforce_sorted)
        padded, lens = lib.nn.utils.rnn.pad_packed_sequence(pc, True, -2.0, max(lengths) + 1)
        out[lib] = [pc.data, pc.batch_sizes, padded, lens] + lib.nn.utils.rnn.unpack_sequence(pc)
        if not enforce_sorted:
            out[lib] += [pc.sorted_indices, pc.unsorted_indices]
    for c, t in zip(out[cr], out[torch]):
        _same(c, t, 0)


def test_pack_padded_sequence_lengths():
    padded_c = cr.nn.utils.rnn.pad_sequence(_seqs(cr, [3, 2, 1]))
    padded_t = torch.nn.utils.rnn.pad_sequence(_seqs(torch, [3, 2, 1]))
    # float lengths are converted to int64, as torch.as_tensor(lengths, dtype=int64)
    pc = cr.nn.utils.rnn.pack_padded_sequence(padded_c, cr.tensor([3.0, 2.0, 1.0]))
    pt = torch.nn.utils.rnn.pack_padded_sequence(padded_t, torch.tensor([3.0, 2.0, 1.0]))
    _same(pc.data, pt.data, 0)
    _same(pc.batch_sizes, pt.batch_sizes, 0)
    for lengths_c, lengths_t in (
        ([3, 2], [3, 2]),
        (cr.tensor([[3, 2, 1]]), torch.tensor([[3, 2, 1]])),
    ):
        with pytest.raises(RuntimeError):
            torch.nn.utils.rnn.pack_padded_sequence(padded_t, lengths_t)
        with pytest.raises(RuntimeError):
            cr.nn.utils.rnn.pack_padded_sequence(padded_c, lengths_c)


# ---------------------------------------------------------------- fusion, stateless, misc


@pytest.mark.parametrize(
    ("build", "shape", "transpose"),
    [
        (lambda L: L.nn.Conv1d(3, 4, 2), (2, 3, 6), False),
        (lambda L: L.nn.Conv2d(4, 4, 2, groups=2, bias=False), (2, 4, 5, 5), False),
        (lambda L: L.nn.ConvTranspose2d(3, 4, 2), (2, 3, 4, 4), True),
    ],
)
@pytest.mark.parametrize("affine", [True, False])
def test_fuse_conv_bn_eval(build, shape, transpose, affine):
    c, t = _pair_modules(build)
    nd = len(shape) - 2
    bn_t = getattr(torch.nn, f"BatchNorm{nd}d")(4, affine=affine)
    bn_c = getattr(cr.nn, f"BatchNorm{nd}d")(4, affine=affine)
    rng = np.random.default_rng(3)
    with torch.no_grad():
        bn_t.running_mean.copy_(torch.tensor(rng.standard_normal(4)))
        bn_t.running_var.copy_(torch.tensor(rng.random(4) + 0.5))
    copy_params(bn_c, bn_t)
    for m in (c, t, bn_c, bn_t):
        m.eval()
    x = rng.standard_normal(shape)
    fc = cr.nn.utils.fuse_conv_bn_eval(c, bn_c, transpose=transpose)
    ft = torch.nn.utils.fuse_conv_bn_eval(t, bn_t, transpose=transpose)
    yc, yt = fc(cr.tensor(x, dtype=cr.float32)), ft(torch.tensor(x, dtype=torch.float32))
    _same(yc, yt, 1e-5)
    yc.sum().backward()
    yt.sum().backward()
    _same(fc.weight.grad, ft.weight.grad, 1e-4)
    assert fc.bias.requires_grad == ft.bias.requires_grad  # False for a conv without bias
    assert (fc.bias.grad is None) == (ft.bias.grad is None)
    if ft.bias.grad is not None:
        _same(fc.bias.grad, ft.bias.grad, 1e-4)


def test_fuse_linear_bn_eval():
    c, t = _pair_modules(lambda L: L.nn.Linear(5, 4))
    bn_t, bn_c = torch.nn.BatchNorm1d(4), cr.nn.BatchNorm1d(4)
    with torch.no_grad():
        bn_t.running_var.copy_(torch.linspace(0.5, 2.0, 4))
        bn_t.weight.copy_(torch.linspace(-1.0, 1.0, 4))
    copy_params(bn_c, bn_t)
    for m in (c, t, bn_c, bn_t):
        m.eval()
    x = np.random.default_rng(4).standard_normal((3, 5))
    fc, ft = cr.nn.utils.fuse_linear_bn_eval(c, bn_c), torch.nn.utils.fuse_linear_bn_eval(t, bn_t)
    _same(fc(cr.tensor(x, dtype=cr.float32)), ft(torch.tensor(x, dtype=torch.float32)), 1e-5)


def _tied(lib):
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(3, 3)
            self.b = lib.nn.Linear(3, 3)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    return Tied()


@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_functional_call_tied_weights(tie_weights, which):
    c, t = _pair_modules(_tied)
    x = np.random.default_rng(5).standard_normal((4, 3))
    wx = np.random.default_rng(6).standard_normal((4, 3))
    grads, outs = {}, {}
    for lib, m in ((cr, c), (torch, t)):
        w = lib.tensor(np.eye(3) + 0.1, dtype=lib.float32, requires_grad=True)
        d = {}
        if which in ("a", "both"):
            d["a.weight"] = w
        if which in ("b", "both"):
            d["b.weight"] = w * 2
        if which == "both" and tie_weights:  # two values for one tied tensor
            with pytest.raises(ValueError, match="tie_weights=False"):
                lib.func.functional_call(m, d, (lib.ones(1, 3),), tie_weights=True)
            return
        y = lib.func.functional_call(
            m, d, (lib.tensor(x, dtype=lib.float32),), tie_weights=tie_weights
        )
        (y * lib.tensor(wx, dtype=lib.float32)).sum().backward()
        outs[lib], grads[lib] = y, (w.grad, m.a.weight.grad)
    _same(outs[cr], outs[torch], 1e-5)
    for gc, gt in zip(grads[cr], grads[torch]):
        assert (gc is None) == (gt is None)
        if gt is not None:
            _same(gc, gt, 1e-5)
    with pytest.raises(RuntimeError):
        torch.func.functional_call(t, {"zzz": torch.ones(1)}, (torch.ones(1, 3),), strict=True)
    with pytest.raises(RuntimeError):
        cr.func.functional_call(c, {"zzz": cr.ones(1)}, (cr.ones(1, 3),), strict=True)


def test_skip_init():
    mc = cr.nn.utils.skip_init(cr.nn.Linear, 3, 4, dtype=cr.float64)
    mt = torch.nn.utils.skip_init(torch.nn.Linear, 3, 4, dtype=torch.float64)
    assert [(n, tuple(p.shape), str(p.dtype)) for n, p in mc.named_parameters()] == [
        (n, tuple(p.shape), str(p.dtype)) for n, p in mt.named_parameters()
    ]


@pytest.mark.parametrize("fmt", ["channels_last", "contiguous_format"])
def test_convert_conv2d_weight_memory_format(fmt):
    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(3, 4, 2), lib.nn.ConvTranspose2d(4, 2, 2), lib.nn.Linear(2, 2)
        )

    c, t = _pair_modules(build)
    assert cr.nn.utils.convert_conv2d_weight_memory_format(c, getattr(cr, fmt)) is c
    torch.nn.utils.convert_conv2d_weight_memory_format(t, getattr(torch, fmt))
    for i in (0, 1):
        assert c[i].weight.stride() == t[i].weight.stride()
        _same(c[i].weight, t[i].weight, 0)


def test_convert_conv2d_weight_memory_format_rejects_preserve_format():
    with pytest.raises(RuntimeError):
        torch.nn.utils.convert_conv2d_weight_memory_format(
            torch.nn.Conv2d(3, 4, 2), torch.preserve_format
        )
    with pytest.raises(RuntimeError, match="preserve_format"):
        cr.nn.utils.convert_conv2d_weight_memory_format(cr.nn.Conv2d(3, 4, 2), cr.preserve_format)
