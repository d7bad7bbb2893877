"""Random ops inside ``cr.func.vmap`` under each ``randomness`` mode, against PyTorch: error
or not, the output shape, ``'same'`` giving one draw for every sample, ``'different'`` one
per sample, and (chainrule mirrors PyTorch's CPU generator) the values for one seed."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from ._helpers import torch

B = 4


def _ops(lib):
    F = lib.nn.functional
    return {
        "dropout": lambda x: F.dropout(x, 0.5),
        "dropout_inplace": lambda x: F.dropout(x.clone(), 0.5, inplace=True),
        "alpha_dropout": lambda x: F.alpha_dropout(x, 0.5, training=True),
        "alpha_dropout_inplace": lambda x: F.alpha_dropout(x.clone(), 0.5, True, True),
        "feature_alpha_dropout": lambda x: F.feature_alpha_dropout(x.reshape(2, 3), 0.5, True),
        "AlphaDropout": lambda x: lib.nn.AlphaDropout(0.5)(x),
        "Dropout": lambda x: lib.nn.Dropout(0.5)(x),
        "poisson": lambda x: lib.poisson(x * 4),
        "bernoulli": lambda x: lib.bernoulli(x),
        "bernoulli_p": lambda x: lib.bernoulli(x, 0.5),
        "Tensor.bernoulli": lambda x: x.bernoulli(),
        "bernoulli_": lambda x: x.clone().bernoulli_(0.5),
        "bernoulli_tensor_": lambda x: x.clone().bernoulli_(x),
        "rand": lambda x: x + lib.rand(6),
        "randn_like": lambda x: lib.randn_like(x),
        "randint_like": lambda x: lib.randint_like(x, 2, 10),
        "randperm": lambda x: x + lib.randperm(6),
        "normal_tensor_tensor": lambda x: lib.normal(x, x + 1),
        "normal_tensor_float": lambda x: lib.normal(x, 1.0),
        "normal_float_tensor": lambda x: lib.normal(0.0, x + 1),
        "normal_size": lambda x: x + lib.normal(0.0, 1.0, (6,)),
        "Tensor.multinomial": lambda x: x.multinomial(3),
        "uniform_": lambda x: x.clone().uniform_(),
        "normal_": lambda x: x.clone().normal_(),
        "exponential_": lambda x: x.clone().exponential_(),
        "geometric_": lambda x: x.clone().geometric_(0.3),
        "cauchy_": lambda x: x.clone().cauchy_(),
        "log_normal_": lambda x: x.clone().log_normal_(),
        "random_": lambda x: x.clone().random_(0, 10),
        "random_bits_": lambda x: x.clone().random_(),
        "gumbel_softmax": lambda x: F.gumbel_softmax(x, tau=0.5),
        "gumbel_softmax_hard": lambda x: F.gumbel_softmax(x, hard=True),
        "Normal.sample": lambda x: lib.distributions.Normal(x, 1.0).sample(),
        "Uniform.rsample": lambda x: lib.distributions.Uniform(x, x + 1).rsample(),
        "Bernoulli.sample": lambda x: lib.distributions.Bernoulli(probs=x).sample(),
        "Exponential.rsample": lambda x: lib.distributions.Exponential(x + 0.1).rsample(),
        "Gamma.rsample": lambda x: lib.distributions.Gamma(x + 0.5, 1.0).rsample(),
    }


# PyTorch refuses these only because of how it implements them (an in-place fill of an
# unbatched tensor, a same-mode draw from a batched mean): chainrule gives the draws the
# mode asks for.
SUPERSET = {
    ("gumbel_softmax", False, "different"),
    ("gumbel_softmax_hard", False, "different"),
    ("Normal.sample", True, "same"),
}


def _run(lib, op, mode, batched):
    rs = np.random.RandomState(0)
    x = lib.tensor(rs.rand(B, 6).astype(np.float32))
    y = lib.tensor(rs.rand(6).astype(np.float32))
    f = _ops(lib)[op]

    def body(a, b):
        return f(a) if batched else f(b) + a.sum() * 0  # the draw of an unbatched input

    lib.manual_seed(0)
    try:
        out = lib.func.vmap(body, in_dims=(0, None), randomness=mode)(x, y)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return out.detach().numpy().astype(np.float64)


CASES = [(op, b) for op in _ops(torch) for b in (True, False)]


@pytest.mark.parametrize("mode", ["error", "same", "different"])
@pytest.mark.parametrize(
    ("op", "batched"), CASES, ids=[f"{o}-{'B' if b else 'U'}" for o, b in CASES]
)
def test_random_op_under_vmap_matches_torch(op, batched, mode):
    want = _run(torch, op, mode, batched)
    got = _run(cr, op, mode, batched)
    if (op, batched, mode) in SUPERSET:
        assert isinstance(want, type) and not isinstance(got, type)
        assert got.shape == (B, 6)
        if not batched:  # one input: the samples differ by their draws only
            assert all(np.array_equal(got[0], got[i]) for i in range(1, B)) is (mode == "same")
        return
    if isinstance(want, type):
        assert isinstance(got, type) and issubclass(got, RuntimeError), (want, got)
        return
    assert not isinstance(got, type), got
    assert got.shape == want.shape
    same = all(np.array_equal(got[0], got[i]) for i in range(1, B))
    assert same == all(np.array_equal(want[0], want[i]) for i in range(1, B))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # the same stream


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_alpha_dropout_different_gives_per_sample_masks(lib):
    f = lib.func.vmap(
        lambda t: lib.nn.functional.alpha_dropout(t, 0.5, training=True), randomness="different"
    )
    out = f(lib.ones(6, 40)).numpy()
    assert out.shape == (6, 40) and len({tuple(r) for r in out}) == 6
    assert len(np.unique(np.round(out, 4))) == 2  # kept ones and the dropped value


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_same_mode_refuses_batched_probabilities(lib):
    with pytest.raises(RuntimeError, match="same randomness with a batched tensor input"):
        lib.func.vmap(lambda t: lib.bernoulli(t), randomness="same")(lib.rand(3, 4))
    with pytest.raises(RuntimeError, match="same randomness with a batched tensor input"):
        lib.func.vmap(lambda t: lib.normal(t, 1.0), randomness="same")(lib.rand(3, 4))


@pytest.mark.parametrize("mode", ["same", "different"])
def test_inplace_fill_then_differentiate(mode):
    x = cr.rand(3, 5, requires_grad=True)

    def f(t):
        u = t.detach().clone().uniform_()  # (a fill of a tensor that requires grad is refused
        return u * t  # outside vmap too: chainrule does not record those writes)

    out = cr.func.vmap(f, randomness=mode)(x)
    out.sum().backward()
    u = (out / x).detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), u, rtol=1e-5)
    assert (mode == "same") == bool(np.all(u == u[0]))


def test_multinomial_method_2d_rows():
    p = cr.rand(4, 2, 5)
    cr.manual_seed(1)
    a = cr.func.vmap(lambda t: t.multinomial(2), randomness="different")(p)
    torch.manual_seed(1)
    b = torch.func.vmap(lambda t: t.multinomial(2), randomness="different")(torch.tensor(p.numpy()))
    assert tuple(a.shape) == tuple(b.shape) == (4, 2, 2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_nested_vmaps_fill_like_torch():
    x = np.random.RandomState(2).rand(2, 3, 4).astype(np.float32)
    outs = []
    for lib in (cr, torch):
        inner = lib.func.vmap(lambda t: t.clone().uniform_(), randomness="different")
        lib.manual_seed(0)
        outs.append(lib.func.vmap(inner, randomness="different")(lib.tensor(x)).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    assert len(np.unique(outs[0])) == x.size
    for lib in (cr, torch):  # 'same' fills an unbatched tensor, which 'different' refuses
        inner = lib.func.vmap(lambda t: t.clone().uniform_(), randomness="same")
        with pytest.raises(RuntimeError, match="different inplace randomness on an unbatched"):
            lib.func.vmap(inner, randomness="different")(lib.tensor(x))
