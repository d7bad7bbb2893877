"""Session 45 survey cases of ``cr.func`` against ``torch.func`` (the test module is
``test_func_survey_session45.py``). Each case is a function of the library (``torch`` or
``chainrule``) returning a tensor, a tuple/list/dict of them, or raising; both libraries get
the same inputs (float64 NumPy arrays made into tensors).

``RANDOM``: cases whose values come from a generator (compared by their structure: which
samples share a draw, the error texts, and the values). ``CASES``: the rest (values
compared); this module holds ``chunk_size`` and the ``nn.functional`` ops, ``_b``
functional_call / stack_module_state / replace_all_batch_norm_modules_, ``_c`` the
jacobians, linearize, vjp, grad_and_value and jvp of in-place ops, ``_d`` in-place ops under
vmap. ``GAPS``: the cases that still differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CASES", "GAPS", "RANDOM"]

_R = np.random.default_rng(4501)
B = 3
X = _R.standard_normal((B, 4, 5))
V = _R.standard_normal((B, 5))
W = _R.standard_normal((5, 5))
IMG = _R.standard_normal((B, 2, 5, 6))  # per sample (C, H, W)
SEQ = _R.standard_normal((B, 2, 7))  # per sample (C, L)
CT1_W = _R.standard_normal((2, 3, 3))  # conv_transpose1d weight (Cin, Cout, k)
CT2_W = _R.standard_normal((2, 3, 2, 2))
CT2_WB = _R.standard_normal((B, 2, 3, 2, 2))
GRID = _R.uniform(-1.1, 1.1, (B, 4, 3, 2))
EMB = _R.standard_normal((6, 4))
BAG_IDX = _R.integers(0, 6, (B, 8))
LN_W = _R.standard_normal((B, 5))
LN_B = _R.standard_normal((B, 5))
GN_X = _R.standard_normal((B, 4, 6))  # per sample (C=4, L=6)
GN_W = _R.standard_normal((B, 4))
CTC_LP = np.log(_R.dirichlet(np.ones(5), (B, 6, 2)))  # per sample (T=6, N=2, C=5)
CTC_T = _R.integers(1, 5, (B, 2, 3))
MHA_Q = _R.standard_normal((B, 3, 1, 4))  # per sample (L=3, N=1, E=4)
MHA_IN_W = _R.standard_normal((12, 4)) * 0.5
MHA_IN_B = _R.standard_normal(12) * 0.1
MHA_OUT_W = _R.standard_normal((4, 4)) * 0.5
MHA_OUT_B = _R.standard_normal(4) * 0.1
S3 = _R.standard_normal(3)
P2 = _R.standard_normal((2, 3))
TGT = _R.integers(0, 3, (4,))
LOG_IN = _R.standard_normal((4, 3))
CT2_WG = _R.standard_normal((2, 1, 3, 3))
BAG_W = _R.standard_normal((B, 8))
PS_X = _R.standard_normal((B, 4, 2, 3))


def _t(m: Any, a: Any) -> Any:
    return m.tensor(a)


def _F(m: Any) -> Any:
    return m.nn.functional


CASES: dict = {}


def case(name: str) -> Any:
    def deco(fn: Any) -> Any:
        CASES[name] = fn
        return fn

    return deco


# --------------------------------------------------------------------------- chunk_size

for _cs in (1, 2, 3, 5, None):

    @case(f"chunk_size_{_cs}")
    def _(m: Any, cs: Any = _cs) -> Any:
        return m.func.vmap(lambda x, v: (x @ v).sin(), chunk_size=cs)(_t(m, X), _t(m, V))


for _cs in (0, -1, 1.5):

    @case(f"chunk_size_bad_{_cs}")
    def _(m: Any, cs: Any = _cs) -> Any:
        return m.func.vmap(lambda x: x * 2, chunk_size=cs)(_t(m, X))


@case("chunk_size_tuple_out")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x: (x.sum(0), x.max(1)), chunk_size=2)(_t(m, X))


@case("chunk_size_out_dims_1")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x: x.T, chunk_size=2, out_dims=1)(_t(m, X))


@case("chunk_size_in_dims_none")
def _(m: Any) -> Any:
    return m.func.vmap(lambda w, v: w @ v, in_dims=(None, 0), chunk_size=2)(_t(m, W), _t(m, V))


@case("chunk_size_nested")
def _(m: Any) -> Any:
    inner = m.func.vmap(lambda r: r.cumsum(0), chunk_size=3)
    return m.func.vmap(inner, chunk_size=2)(_t(m, X))


@case("chunk_size_grad")
def _(m: Any) -> Any:
    g = m.func.grad(lambda w, v: ((w @ v).tanh() ** 2).sum())
    return m.func.vmap(g, in_dims=(None, 0), chunk_size=2)(_t(m, W), _t(m, V))


# ------------------------------------------------------- nn.functional ops under vmap


@case("conv_transpose1d")
def _(m: Any) -> Any:
    return m.func.vmap(lambda s: _F(m).conv_transpose1d(s[None], _t(m, CT1_W), stride=2))(
        _t(m, SEQ)
    )


@case("conv_transpose1d_unbatched_sample")
def _(m: Any) -> Any:
    return m.func.vmap(lambda s: _F(m).conv_transpose1d(s, _t(m, CT1_W), padding=1))(_t(m, SEQ))


@case("conv_transpose2d")
def _(m: Any) -> Any:
    return m.func.vmap(
        lambda x: _F(m).conv_transpose2d(x[None], _t(m, CT2_W), stride=2, output_padding=1)
    )(_t(m, IMG))


@case("conv_transpose2d_batched_weight")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x, w: _F(m).conv_transpose2d(x[None], w, dilation=2))(
        _t(m, IMG), _t(m, CT2_WB)
    )


@case("conv_transpose2d_weight_only_batched")
def _(m: Any) -> Any:
    return m.func.vmap(lambda w: _F(m).conv_transpose2d(_t(m, IMG[:1]), w, bias=None), 0)(
        _t(m, CT2_WB)
    )


@case("conv_transpose2d_groups")
def _(m: Any) -> Any:
    w = _t(m, CT2_WG)
    return m.func.vmap(lambda x: _F(m).conv_transpose2d(x[None], w, groups=2))(_t(m, IMG))


for _mode, _kw in (
    ("nearest", {"scale_factor": 2}),
    ("nearest-exact", {"size": (7, 9)}),
    ("bilinear", {"scale_factor": 1.5, "align_corners": False}),
    ("bilinear", {"size": (3, 4), "align_corners": True}),
    ("bicubic", {"scale_factor": 2, "align_corners": False}),
    ("area", {"size": (2, 3)}),
):

    @case(f"interpolate_{_mode}_{sorted(_kw)[0]}_{_kw.get('align_corners')}")
    def _(m: Any, mode: str = _mode, kw: dict = _kw) -> Any:
        return m.func.vmap(lambda x: _F(m).interpolate(x[None], mode=mode, **kw))(_t(m, IMG))


@case("interpolate_linear_1d")
def _(m: Any) -> Any:
    return m.func.vmap(lambda s: _F(m).interpolate(s[None], size=10, mode="linear"))(_t(m, SEQ))


@case("interpolate_antialias")
def _(m: Any) -> Any:
    return m.func.vmap(
        lambda x: _F(m).interpolate(x[None], size=(3, 3), mode="bilinear", antialias=True)
    )(_t(m, IMG))


for _mode in ("bilinear", "nearest", "bicubic"):
    for _pad in ("zeros", "border", "reflection"):
        for _ac in (False, True):

            @case(f"grid_sample_{_mode}_{_pad}_{_ac}")
            def _(m: Any, mode: str = _mode, pad: str = _pad, ac: bool = _ac) -> Any:
                return m.func.vmap(
                    lambda x, g: _F(m).grid_sample(
                        x[None], g[None], mode=mode, padding_mode=pad, align_corners=ac
                    )
                )(_t(m, IMG), _t(m, GRID))


@case("grid_sample_grid_only_batched")
def _(m: Any) -> Any:
    return m.func.vmap(
        lambda g: _F(m).grid_sample(_t(m, IMG[:1]), g[None], align_corners=False), 0
    )(_t(m, GRID))


@case("affine_grid_then_sample")
def _(m: Any) -> Any:
    theta = _t(m, np.tile(np.array([[0.9, 0.1, 0.0], [-0.1, 1.1, 0.1]]), (B, 1, 1)))

    def f(x: Any, th: Any) -> Any:
        g = _F(m).affine_grid(th[None], [1, 2, 4, 4], align_corners=False)
        return _F(m).grid_sample(x[None], g, align_corners=False)

    return m.func.vmap(f)(_t(m, IMG), theta)


for _mode in ("sum", "mean", "max"):

    @case(f"embedding_bag_{_mode}_2d")
    def _(m: Any, mode: str = _mode) -> Any:
        return m.func.vmap(lambda i: _F(m).embedding_bag(i.reshape(2, 4), _t(m, EMB), mode=mode))(
            _t(m, BAG_IDX)
        )

    @case(f"embedding_bag_{_mode}_offsets")
    def _(m: Any, mode: str = _mode) -> Any:
        off = m.tensor([0, 3, 3])
        return m.func.vmap(lambda i: _F(m).embedding_bag(i, _t(m, EMB), off, mode=mode))(
            _t(m, BAG_IDX)
        )


@case("embedding_bag_weighted")
def _(m: Any) -> Any:
    w = _t(m, BAG_W)
    return m.func.vmap(
        lambda i, pw: _F(m).embedding_bag(
            i, _t(m, EMB), m.tensor([0, 5]), mode="sum", per_sample_weights=pw
        )
    )(_t(m, BAG_IDX), w)


@case("embedding_bag_batched_weight")
def _(m: Any) -> Any:
    ws = _t(m, np.stack([EMB * (k + 1) for k in range(B)]))
    return m.func.vmap(lambda w: _F(m).embedding_bag(m.tensor([[0, 1], [5, 2]]), w))(ws)


@case("embedding_bag_padding_idx")
def _(m: Any) -> Any:
    return m.func.vmap(
        lambda i: _F(m).embedding_bag(i.reshape(4, 2), _t(m, EMB), mode="mean", padding_idx=2)
    )(_t(m, BAG_IDX))


for _red in ("mean", "sum", "none"):

    @case(f"ctc_loss_{_red}")
    def _(m: Any, red: str = _red) -> Any:
        def f(lp: Any, tg: Any) -> Any:
            return _F(m).ctc_loss(
                lp, tg, m.tensor([6, 5]), m.tensor([3, 2]), reduction=red, zero_infinity=True
            )

        return m.func.vmap(f)(_t(m, CTC_LP), _t(m, CTC_T))


@case("ctc_loss_grad")
def _(m: Any) -> Any:
    def f(lp: Any, tg: Any) -> Any:
        return _F(m).ctc_loss(lp, tg, m.tensor([6, 6]), m.tensor([3, 3]))

    return m.func.vmap(m.func.grad(f))(_t(m, CTC_LP), _t(m, CTC_T))


def _mha(m: Any, q: Any, k: Any, v: Any, **kw: Any) -> Any:
    return _F(m).multi_head_attention_forward(
        q,
        k,
        v,
        4,
        2,
        _t(m, MHA_IN_W),
        _t(m, MHA_IN_B),
        None,
        None,
        False,
        0.0,
        _t(m, MHA_OUT_W),
        _t(m, MHA_OUT_B),
        training=False,
        **kw,
    )


@case("mha_forward")
def _(m: Any) -> Any:
    return m.func.vmap(lambda q: _mha(m, q, q, q))(_t(m, MHA_Q))


@case("mha_forward_no_weights")
def _(m: Any) -> Any:
    return m.func.vmap(lambda q: _mha(m, q, q, q, need_weights=False)[0])(_t(m, MHA_Q))


@case("mha_forward_causal_mask")
def _(m: Any) -> Any:
    mask = m.triu(m.full((3, 3), float("-inf"), dtype=m.float64), 1)
    return m.func.vmap(lambda q: _mha(m, q, q, q, attn_mask=mask))(_t(m, MHA_Q))


@case("mha_forward_not_averaged")
def _(m: Any) -> Any:
    return m.func.vmap(lambda q: _mha(m, q, q, q, average_attn_weights=False))(_t(m, MHA_Q))


@case("layer_norm_batched_weight")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x, w, b: _F(m).layer_norm(x, (5,), w, b))(
        _t(m, X), _t(m, LN_W), _t(m, LN_B)
    )


@case("layer_norm_weight_only_batched")
def _(m: Any) -> Any:
    return m.func.vmap(lambda w: _F(m).layer_norm(_t(m, X[0]), (5,), w), 0)(_t(m, LN_W))


@case("layer_norm_2d_shape")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x: _F(m).layer_norm(x, (4, 5), eps=1e-3))(_t(m, X))


@case("layer_norm_grad_batched_weight")
def _(m: Any) -> Any:
    g = m.func.grad(lambda w, x: _F(m).layer_norm(x, (5,), w).pow(3).sum())
    return m.func.vmap(g)(_t(m, LN_W), _t(m, X))


@case("group_norm_batched_weight")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x, w: _F(m).group_norm(x[None], 2, w, w * 0.5))(
        _t(m, GN_X), _t(m, GN_W)
    )


@case("group_norm_weight_only_batched")
def _(m: Any) -> Any:
    return m.func.vmap(lambda w: _F(m).group_norm(_t(m, GN_X[:2]), 4, w))(_t(m, GN_W))


@case("group_norm_grad_batched_weight")
def _(m: Any) -> Any:
    g = m.func.grad(lambda w, x: _F(m).group_norm(x[None], 2, w).sin().sum())
    return m.func.vmap(g)(_t(m, GN_W), _t(m, GN_X))


@case("instance_norm_batched_input")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x: _F(m).instance_norm(x[None]))(_t(m, GN_X))


@case("local_response_norm")
def _(m: Any) -> Any:
    return m.func.vmap(lambda x: _F(m).local_response_norm(x[None], 2))(_t(m, GN_X))


@case("pixel_shuffle")
def _(m: Any) -> Any:
    x = _t(m, PS_X)
    return m.func.vmap(lambda s: _F(m).pixel_shuffle(s, 2))(x)


@case("unfold_fold")
def _(m: Any) -> Any:
    def f(x: Any) -> Any:
        u = _F(m).unfold(x[None], 2)
        return _F(m).fold(u, (5, 6), 2)

    return m.func.vmap(f)(_t(m, IMG))


# -------------------------------------------------------------------- randomness modes

RANDOM: dict = {}

_DRAWS = {
    "dropout": lambda m, x: _F(m).dropout(x, 0.5, training=True),
    "dropout_eval": lambda m, x: _F(m).dropout(x, 0.5, training=False),
    "dropout_p0": lambda m, x: _F(m).dropout(x, 0.0, training=True),
    "dropout2d": lambda m, x: _F(m).dropout2d(x[None], 0.5),
    "alpha_dropout": lambda m, x: _F(m).alpha_dropout(x, 0.3, training=True),
    "rand_like": lambda m, x: x + m.rand_like(x),
    "randn_like": lambda m, x: m.randn_like(x) * x,
    "rand_fresh": lambda m, x: x + m.rand(4, 5, dtype=m.float64),
    "randn_fresh_only": lambda m, x: m.randn(4, 5, dtype=m.float64),
    "normal_on_batched": lambda m, x: (x * 1).normal_(),
    "normal_on_unbatched": lambda m, x: m.zeros(4, 5, dtype=m.float64).normal_() + x,
    "normal_fn_batched_mean": lambda m, x: m.normal(x, 1.0),
    "normal_fn_scalars": lambda m, x: m.normal(0.0, 1.0, (4, 5), dtype=m.float64) + x,
    "bernoulli_batched_p": lambda m, x: m.bernoulli(x.sigmoid()),
    "bernoulli_scalar_p": lambda m, x: m.bernoulli(x.sigmoid(), 0.3),
    "bernoulli__batched": lambda m, x: (x * 0).bernoulli_(0.5),
    "bernoulli__unbatched": lambda m, x: m.zeros(4, 5, dtype=m.float64).bernoulli_(0.5) + x,
    "bernoulli__tensor_p": lambda m, x: m.zeros(4, 5, dtype=m.float64).bernoulli_(x.sigmoid()),
    "uniform__batched": lambda m, x: (x * 1).uniform_(-1, 1),
    "randint_like": lambda m, x: m.randint_like(x, 0, 10) + x,
    "randperm": lambda m, x: x[:, m.randperm(5)],
    "multinomial": lambda m, x: m.multinomial(x.exp(), 2),
    "no_draw": lambda m, x: x * 2,
}

for _draw in _DRAWS:
    for _mode in ("error", "same", "different"):
        RANDOM[f"{_draw}_{_mode}"] = (_draw, _mode)


# ------------------------------------------------------------------ known differences


@case("instance_norm_running_stats_under_vmap")
def _(m: Any) -> Any:
    rm, rv = m.zeros(4, dtype=m.float64), m.ones(4, dtype=m.float64)
    return m.func.vmap(lambda x: _F(m).instance_norm(x[None], rm, rv, use_input_stats=True))(
        _t(m, GN_X)
    )


@case("vmap_inplace_unbatched_self_batched_masked_fill_value")
def _(m: Any) -> Any:
    x = _t(m, X[0])
    mask = m.ones(5, dtype=m.bool)
    return m.func.vmap(lambda v: x.masked_fill_(mask, v[0]))(_t(m, V))


# case -> why chainrule still differs from torch 2.13 (strict xfails in the test module)
GAPS: dict = {
    "instance_norm_running_stats_under_vmap": (
        "torch refuses instance_norm with unbatched running stats under vmap (batch norm's "
        "words); chainrule's instance_norm updates them per sample (nn/functional, not func)"
    ),
}
