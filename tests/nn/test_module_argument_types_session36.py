"""Odd-typed arguments of nn modules and functionals, checked against torch live (session 36).

PyTorch's argument parser reads a ``bool`` argument as a Python bool only, a ``float`` as any
real number (a 0-d tensor too) and an ``int`` as an integer that is not a bool; its nn modules
mostly store what they are given and fail when called. Each case runs in both libraries: the
same outcome (an error of the same type, at the same stage, or the same values) is expected.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_RNG = np.random.default_rng(36)
_X = _RNG.standard_normal((2, 3, 4))
_Y = _RNG.standard_normal((2, 3, 4))
_X4 = _RNG.standard_normal((1, 2, 3, 3))


def _x(L):
    return L.tensor(_X.copy(), requires_grad=True)


def _y(L):
    return L.tensor(_Y.copy())


def _x4(L):
    return L.tensor(_X4.copy(), requires_grad=True)


def _i(L):
    return L.tensor([[0, 2, 1], [1, 0, 2]])


def _F(L):
    return L.nn.functional


def _N(L):
    return L.nn


# (name, a function of the library and the odd value, the odd values)
_BOOLS = (2.5, None, "x", [2], np.True_, 1)
_FLOATS = (None, "x", [2], ())
_INTS = (2.5, True, None, "x", np.float64(1.0))
CASES = [
    # losses
    ("kl_div log_target", lambda L, v: _F(L).kl_div(_x(L), _y(L), log_target=v), _BOOLS),
    ("KLDivLoss log_target", lambda L, v: _N(L).KLDivLoss(log_target=v)(_x(L), _y(L)), _BOOLS),
    ("poisson log_input", lambda L, v: _F(L).poisson_nll_loss(_x(L), _y(L).abs(), log_input=v),
     _BOOLS),
    ("PoissonNLLLoss full", lambda L, v: _N(L).PoissonNLLLoss(full=v)(_x(L), _y(L).abs()),
     _BOOLS),
    ("poisson eps", lambda L, v: _F(L).poisson_nll_loss(_x(L), _y(L).abs(), eps=v), _FLOATS),
    ("gaussian eps", lambda L, v: _F(L).gaussian_nll_loss(_x(L), _y(L), _y(L).abs(), eps=v),
     _FLOATS),
    ("triplet swap", lambda L, v: _N(L).TripletMarginLoss(swap=v)(_x(L), _y(L), _y(L) + 1),
     _BOOLS),
    ("triplet p", lambda L, v: _F(L).triplet_margin_loss(_x(L), _y(L), _y(L), p=v), _FLOATS),
    ("triplet eps", lambda L, v: _F(L).triplet_margin_loss(_x(L), _y(L), _y(L), eps=v),
     _FLOATS),
    ("margin_ranking margin", lambda L, v: _N(L).MarginRankingLoss(margin=v)(
        _x(L), _y(L), _y(L).sign()), _FLOATS),
    ("hinge margin", lambda L, v: _F(L).hinge_embedding_loss(_x(L), _y(L).sign(), margin=v),
     _FLOATS),
    ("cosine_embedding margin", lambda L, v: _F(L).cosine_embedding_loss(
        _x(L)[0], _y(L)[0], L.ones(3, dtype=L.float64), margin=v), _FLOATS),
    ("smooth_l1 beta", lambda L, v: _F(L).smooth_l1_loss(_x(L), _y(L), beta=v),
     _FLOATS + (float("nan"),)),
    ("huber delta", lambda L, v: _F(L).huber_loss(_x(L), _y(L), delta=v),
     _FLOATS + (float("nan"),)),
    ("HuberLoss delta (construction)", lambda L, v: _N(L).HuberLoss(delta=v),
     _FLOATS + (np.True_, 2.5)),
    ("multi_margin margin", lambda L, v: _F(L).multi_margin_loss(
        _x(L)[0], L.tensor([0, 2]), margin=v), _FLOATS + (np.True_,)),
    ("cross_entropy ignore_index", lambda L, v: _N(L).CrossEntropyLoss(ignore_index=v)(
        _x(L)[0], L.tensor([0, 2])), _INTS + (float("nan"),)),
    ("nll ignore_index", lambda L, v: _F(L).nll_loss(_x(L)[0], L.tensor([0, 2]),
                                                     ignore_index=v), _INTS),
    ("cross_entropy label_smoothing", lambda L, v: _F(L).cross_entropy(
        _x(L)[0], L.tensor([0, 2]), label_smoothing=v), _FLOATS + (float("nan"),)),
    ("mse size_average (truthy)", lambda L, v: _N(L).MSELoss(size_average=v)(_x(L), _y(L)),
     (2.5, "x", [2], (), 0)),
    ("ctc zero_infinity", lambda L, v: _N(L).CTCLoss(zero_infinity=v)(
        L.tensor(np.log(np.full((5, 1, 3), 1 / 3))), L.tensor([[1]]), L.tensor([5]),
        L.tensor([1])), _BOOLS),
    # activations
    ("leaky_relu negative_slope", lambda L, v: _N(L).LeakyReLU(v)(_x(L)),
     _FLOATS + (np.True_, 1)),
    ("elu alpha", lambda L, v: _N(L).ELU(v)(_x(L)), _FLOATS + (1,)),
    ("celu alpha", lambda L, v: _N(L).CELU(v)(_x(L)), _FLOATS + (1,)),
    ("hardtanh min_val", lambda L, v: _N(L).Hardtanh(v, 1.0)(_x(L)), (float("nan"), 2.5)),
    ("hardtanh max_val", lambda L, v: _N(L).Hardtanh(-1.0, v)(_x(L)), (float("nan"),)),
    ("hardshrink lambd", lambda L, v: _N(L).Hardshrink(v)(_x(L)), _FLOATS + (np.True_,)),
    ("softshrink lambd", lambda L, v: _N(L).Softshrink(v)(_x(L)), _FLOATS + (np.True_,)),
    ("threshold", lambda L, v: _N(L).Threshold(v, 0.0)(_x(L)), _FLOATS),
    ("threshold value", lambda L, v: _N(L).Threshold(0.1, v)(_x(L)), _FLOATS),
    ("rrelu lower", lambda L, v: _N(L).RReLU(v, 0.4).eval()(_x(L)), (float("nan"), "x")),
    ("rrelu upper", lambda L, v: _N(L).RReLU(0.1, v).eval()(_x(L)), (float("inf"), None)),
    ("gelu approximate", lambda L, v: _N(L).GELU(v)(_x(L)), (True, None, 2.5, [2])),
    ("glu dim", lambda L, v: _N(L).GLU(v)(_x(L)), (True, 2.5, np.True_, None)),
    ("dropout p (construction)", lambda L, v: _N(L).Dropout(v), (float("nan"), -0.5, 1.5)),
    ("dropout p (forward)", lambda L, v: _N(L).Dropout(v).eval()(_x(L)), (float("nan"),)),
    ("alpha_dropout p", lambda L, v: _F(L).alpha_dropout(_x(L), v, True), (float("nan"),)),
    # shapes and distances
    ("Flatten start_dim", lambda L, v: _N(L).Flatten(v)(_x(L)), _INTS + ([2], ())),
    ("Flatten end_dim", lambda L, v: _N(L).Flatten(0, v)(_x(L)), _INTS + ([2], ())),
    ("Unflatten dim", lambda L, v: _N(L).Unflatten(v, (2, 2))(_x(L)), (True, np.True_)),
    ("cosine_similarity dim", lambda L, v: _N(L).CosineSimilarity(v)(_x(L), _y(L)),
     (None, [2], (), 2.5)),
    ("cosine_similarity eps", lambda L, v: _N(L).CosineSimilarity(1, v)(_x(L), _y(L)),
     _FLOATS + (float("nan"),)),
    ("pairwise_distance p", lambda L, v: _N(L).PairwiseDistance(v)(_x(L), _y(L)), _FLOATS),
    ("pairwise_distance eps", lambda L, v: _N(L).PairwiseDistance(2.0, v)(_x(L), _y(L)),
     _FLOATS),
    ("pairwise_distance keepdim", lambda L, v: _N(L).PairwiseDistance(2.0, 1e-6, v)(
        _x(L), _y(L)), _BOOLS),
    # normalisation
    ("layer_norm eps", lambda L, v: _N(L).LayerNorm(4, eps=v)(_x(L)), _FLOATS),
    ("group_norm eps", lambda L, v: _N(L).GroupNorm(3, 3, eps=v)(_x(L)), _FLOATS),
    ("instance_norm eps", lambda L, v: _N(L).InstanceNorm1d(3, eps=v)(_x(L)), _FLOATS),
    ("batch_norm eps", lambda L, v: _N(L).BatchNorm1d(3, eps=v, track_running_stats=False)(
        _x(L)), (float("nan"),)),
    ("local_response_norm size", lambda L, v: _N(L).LocalResponseNorm(v)(_x4(L)),
     (True, np.float64(0.5))),
    ("local_response_norm alpha", lambda L, v: _N(L).LocalResponseNorm(2, v)(_x4(L)),
     ([2], ())),
    ("local_response_norm k", lambda L, v: _N(L).LocalResponseNorm(2, 1e-4, 0.75, v)(_x4(L)),
     ([2], ())),
    # embeddings
    ("embedding scale_grad_by_freq", lambda L, v: _N(L).Embedding(5, 3, scale_grad_by_freq=v)(
        _i(L)), _BOOLS),
    ("embedding sparse", lambda L, v: _N(L).Embedding(5, 3, sparse=v)(_i(L)), _BOOLS),
    ("embedding max_norm", lambda L, v: _N(L).Embedding(5, 3, max_norm=v)(_i(L)),
     (True, np.True_, "x")),
    ("embedding_bag include_last_offset", lambda L, v: _N(L).EmbeddingBag(
        5, 3, include_last_offset=v)(L.tensor([0, 2, 1]), L.tensor([0, 3])), _BOOLS),
    ("embedding_bag scale_grad_by_freq", lambda L, v: _N(L).EmbeddingBag(
        5, 3, scale_grad_by_freq=v)(_i(L)), _BOOLS),
    # resampling and padding
    ("Upsample size", lambda L, v: _N(L).Upsample(size=v)(_x4(L)), (True, np.True_)),
    ("Upsample size tuple", lambda L, v: _N(L).Upsample(size=(v, 2))(_x4(L)), (True, 2.5)),
    ("Upsample align_corners", lambda L, v: _N(L).Upsample(
        scale_factor=2, mode="bilinear", align_corners=v)(_x4(L)), (2.5, "x", [2], np.True_)),
    ("interpolate scale_factor", lambda L, v: _F(L).interpolate(
        _x4(L), scale_factor=[v, "x"]), (2.0, "x")),
    ("Upsample mode", lambda L, v: _N(L).Upsample(scale_factor=2, mode=v)(_x4(L)),
     ("x", "bogus", "area")),
    ("ZeroPad2d padding", lambda L, v: _N(L).ZeroPad2d(v)(_x4(L)), (True, np.True_, ())),
    ("ZeroPad2d padding element", lambda L, v: _N(L).ZeroPad2d((1, v, 0, 1))(_x4(L)),
     (True, 2.5, None, np.True_)),
    ("ReflectionPad1d padding", lambda L, v: _N(L).ReflectionPad1d(v)(_x(L)), (True, ())),
    ("ConstantPad1d value", lambda L, v: _N(L).ConstantPad1d(1, v)(_x(L)), _FLOATS),
    ("max_pool3d ceil_mode", lambda L, v: _F(L).max_pool3d(_x4(L).unsqueeze(0), 1, ceil_mode=v),
     _BOOLS),
    ("avg_pool3d count_include_pad", lambda L, v: _F(L).avg_pool3d(
        _x4(L).unsqueeze(0), 1, count_include_pad=v), _BOOLS),
    ("fractional_max_pool2d output_size", lambda L, v: _F(L).fractional_max_pool2d(
        _x4(L), 1, output_size=v, _random_samples=L.zeros(1, 2, 2, dtype=L.float64)),
     (2.0, True, (2, 2.0), [2], 1e30)),
    ("LazyLinear out_features", lambda L, v: _N(L).LazyLinear(v)(_x(L)), (True, 2.5, "x")),
]  # fmt: skip


def _outcome(lib, fn, v):
    """('ok', values) or ('error', exception type's names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.manual_seed(0)  # the same initial weights (chainrule draws as torch)
        try:
            out = fn(lib, v)
        except Exception as exc:  # noqa: BLE001 - the outcome is compared
            return "error", [c.__name__ for c in type(exc).__mro__], str(exc)
    if hasattr(out, "detach"):
        return "ok", np.array(out.detach().tolist(), dtype=np.float64), ""
    return "ok", None, ""


@pytest.mark.parametrize(
    ("fn", "value"),
    [pytest.param(fn, v, id=f"{name}={v!r}") for name, fn, values in CASES for v in values],
)
def test_odd_typed_argument_agrees_with_torch(fn, value):
    kind, got, msg = _outcome(cr, fn, value)
    want_kind, want, want_msg = _outcome(torch, fn, value)
    assert kind == want_kind, f"torch {want_kind} {want_msg!r}, chainrule {kind} {msg!r}"
    if kind == "error":
        assert want[0] in got, f"torch raised {want[0]} ({want_msg!r}), chainrule {got[0]} ({msg})"
    elif want is not None:
        assert got is not None and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_parser_messages_name_the_op_argument_and_type():
    x, y = _x(cr), _y(cr)
    with pytest.raises(
        TypeError, match=r"kl_div\(\): argument 'log_target' must be bool, not float"
    ):
        cr.nn.functional.kl_div(x, y, reduction="sum", log_target=2.5)
    with pytest.raises(
        TypeError, match=r"argument 'ignore_index' \(position 5\) must be int, not float"
    ):
        cr.nn.functional.cross_entropy(x[0], cr.tensor([0, 2]), ignore_index=2.5)
    with pytest.raises(TypeError, match=r"layer_norm\(\): argument 'eps' \(position 5\)"):
        cr.nn.functional.layer_norm(x, (4,), eps="x")
    with pytest.raises(TypeError, match=r"must be bool, not numpy.bool"):
        cr.nn.functional.pairwise_distance(x, y, keepdim=np.True_)
    with pytest.raises(TypeError, match=r"must be Number, not list"):
        cr.nn.functional.leaky_relu(x, [2])


def test_modules_store_odd_values_and_fail_when_called():
    """As PyTorch: construction succeeds, the call raises (WHEN matters)."""
    for make in (
        lambda L: L.nn.KLDivLoss(log_target=None),
        lambda L: L.nn.Flatten(2.5),
        lambda L: L.nn.LeakyReLU("x"),
        lambda L: L.nn.ZeroPad2d(True),
        lambda L: L.nn.Dropout(float("nan")),
    ):
        make(torch)
        make(cr)
