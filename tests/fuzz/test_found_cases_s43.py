"""Session 43 of the random-program fuzzer (seeds 980-; the new kinds of
:mod:`tests.fuzz.s43_steps`: special functions at edge inputs, rounded division sign rules,
shifts of the small integer dtypes, nan-reductions, order statistics with ties, cumulative ops
over ties and infinities, binning, packed sequences through recurrent modules): every variant
of every new kind is pinned as a one-step program on a float64 leaf (first and second order),
on an int64 leaf and under forward mode, checked against torch by
:func:`tests.fuzz.hunt.check`; then the differences found."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .hunt import check
from .programs import Program, Step
from .s43_steps import S43

__all__: list[str] = []

# kind -> the number of ints[4] branches (special_edge: the functions of _SPECIAL); a
# variant v is drawn with ints[4] = v % F and ints[3] = v // F
_BRANCHES = {"special_edge": 32, "int_divmod": 10, "bit_shift": 8, "nan_rows": 7,
             "tie_order": 8, "cum_edge": 6, "binning": 7, "packed_rnn": 18}  # fmt: skip

_CASES = [(kind, v) for kind in S43 for v in range(2 * _BRANCHES[kind])]
_INF, _NAN = float("inf"), float("nan")


@pytest.mark.parametrize(("kind", "variant"), _CASES)
def test_s43_kind_agrees_with_torch(kind, variant):
    f = _BRANCHES[kind]
    i4, i3 = variant % f, variant // f
    j = variant % 2
    leaves = (((2, 3), True, j == 1, "float64"), ((3,), False, False, "int64"))
    steps = (Step(kind, (0, 1 + j + variant % 2, 1 + variant % 3, i3 + variant % 5, i4), -1.5),
             Step("sum", (0,) * 5))  # fmt: skip
    prog = Program(leaves, steps, seed=7 + variant, double=bool(j))
    assert check(prog) is None
    int_prog = Program(leaves, (Step(kind, (1, 0, 2, i3, i4), 0.5),), seed=3 + variant)
    assert check(int_prog) is None
    # an even seed: through autograd.forward_ad, every step's value and tangent compared
    fw_prog = Program(leaves, (Step(kind, (0, 3, 1, 0, i4), 0.5),), seed=2 * variant)
    assert check(fw_prog) is None


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_polygamma_at_infinity(n, dtype):
    # found by special_edge (seed check of the new kind): polygamma(n >= 2, +inf) is NaN in
    # torch (its zeta(n + 1, inf) is NaN), chainrule gave SciPy's limit 0 (and so the
    # tangent of polygamma(1, x) at inf, polygamma(2, inf) * t, was 0 instead of NaN)
    vals = [_INF, -_INF, _NAN, 0.0, -0.0, 1.5, -2.5, 1e30]
    out = [
        lib.special.polygamma(n, lib.tensor(vals, dtype=getattr(lib, dtype))).tolist()
        for lib in (torch, cr)
    ]
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6, equal_nan=True)


def test_polygamma_tangent_at_infinity():
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor([_INF, 2.0]), lib.tensor([1.0, 1.0]))
            seen.append(fwad.unpack_dual(lib.polygamma(1, x)).tangent.tolist())
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("which", ["other", "input", "both"])
def test_copysign_tangent_of_the_sign_operand_alone(which):
    # found by int_divmod (forward mode): torch's copysign forward rule reads only the
    # input's tangent, so a tangent on ``other`` alone gives the result none; chainrule
    # attached zeros
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            a = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64)
            o = lib.tensor([-1.0, 2.0, -0.0], dtype=lib.float64)
            t = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
            if which in ("input", "both"):
                a = fwad.make_dual(a, t)
            if which in ("other", "both"):
                o = fwad.make_dual(o, t * 2)
            r = fwad.unpack_dual(lib.copysign(a, o))
            seen.append(None if r.tangent is None else r.tangent.tolist())
    assert seen[1] == seen[0]


@pytest.mark.parametrize(
    ("xs", "ts"),
    [
        ([-_INF, -_INF, 1.0], [1.0, 2.0, 1.0]),
        ([-_INF, -_INF, 1.0], [1.0, _NAN, 1.0]),
        ([-_INF, -_INF], [_NAN, 1.0]),
        ([-_INF, -_INF], [1.0, 1.0]),
        ([-_INF, 0.5, -_INF, 2.0], [3.0, 1.0, -1.0, 0.5]),
        ([-_INF, -_INF, 2.0], [_INF, 1.0, 1.0]),
    ],
)
def test_logcumsumexp_tangent_over_a_minus_inf_prefix(xs, ts):
    # found by cum_edge (forward mode): where every element so far is -inf in a line with a
    # finite element, torch's tangent is 0; chainrule's was -inf - -inf = NaN
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor(xs, dtype=lib.float64), lib.tensor(ts, dtype=lib.float64))
            seen.append(fwad.unpack_dual(lib.logcumsumexp(x, 0)).tangent.tolist())
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    "prog",
    [
        # seed 981: logcumsumexp over a line with +inf: torch's forward rule divides by a sum
        # normalized by the line's max and clamped to 1e-13, so every tangent before the inf
        # is 0; chainrule's is the derivative. Steered: no +inf before logcumsumexp
        Program(
            (((), False, False, "float64"),),
            (Step("cum_edge", (5, 0, 11, 1, 2), 2.0),),
            seed=63547,
        ),
        # seed 981: shifted int64 bits (up to 2^63) then a float32 linalg step: rounding
        # alone (equal in float64). Steered: the bits are read modulo 61
        Program(
            (
                ((2,), False, False, "float64"),
                ((3, 2), True, False, "float32"),
                ((2, 3), False, False, "float64"),
            ),
            (
                Step("clone", (0, 0, 0, 0, 0), -1.5),
                Step("bit_shift", (5, 0, 0, 0, 2), 0.5),
                Step("linalg_ex", (4, 7, 8, 0, 0), 0.25),
            ),
            seed=26633,
            double=True,
        ),  # fmt: skip
        # seed 982: cumprod over -inf: torch's double backward is finite there, chainrule's
        # NaN (0 * inf); steered: no infinity into cumprod
        Program(
            (((3,), True, False, "float64"), ((), False, False, "float64")),
            (
                Step("cum_edge", (0, 10, 9, 11, 9), 2.0),
                Step("argmax", (0,) * 5, -1.5),
                Step("nll_loss", (2, 0, 7, 0, 0), -1.5),
            ),
            seed=44097,
            double=True,
        ),  # fmt: skip
        # seed 982: torch's in-place silu of a complex tensor requiring grad skips the check
        # its out-of-place form makes, and its gradient is not z * sigmoid(z)'s; steered in
        # nn_steps (a torch bug, not mirrored)
        Program(
            (((3, 1, 2), True, False, "float64"),),
            (
                Step("fft", (0, 10, 0, 0, 4), 2.0),
                Step("matrix_fn", (0,) * 5, 0.25),
                Step("rearrange", (0,) * 5, 2.0),
                Step("inv", (0,) * 5, 2.0),
                Step("fft", (0,) * 5, 0.25),
                Step("activation_", (7, 0, 0, 0, 5), 2.0),
            ),
            seed=53659,
        ),  # fmt: skip
        # seed 984: hardtanh of a NaN (special_edge's): torch's gradient there is 0 in its
        # 8-wide vectorized chunks, 1 in the scalar tail; steered in nn_step_parts
        Program(
            (((), False, False, "float64"), ((2,), False, False, "float64")),
            (Step("special_edge", (5, 0, 1, 0, 0), -1.5), Step("activation", (2, 0, 0, 0, 4), 2.0)),
            seed=36996,
        ),
        # seed 984: bessel_j0 at the +-30 edges, ~1e-8 relative apart; steered: not drawn
        Program(
            (((2, 2), False, False, "int64"),),
            (Step("special_edge", (3, 0, 0, 0, 2), -1.5),),
            seed=48712,
        ),
        # seed 986: a zero's sign from jacfwd (+0 in torch, -0 in chainrule) shown by a
        # division; steered: _with_edges adds 0.0 to a slot's elements
        Program(
            (((2, 3), False, False, "float64"),),
            (
                Step("reshape", (0,) * 5, 0.25),
                Step("func_transform", (0, 0, 0, 0, 10), -1.5),
                Step("cat", (0,) * 5, 0.25),
                Step("pool", (0,) * 5, 2.0),
                Step("abs", (0,) * 5, 0.5),
                Step("int_divmod", (0, 8, 10, 3, 7), 0.5),
            ),
            seed=64957,
        ),  # fmt: skip
        # seed 986: kthvalue over fake-quantized (tied) values; steered: s42's fake_quant
        # moves each element by a distinct tiny step
        Program(
            (((1, 3), True, False, "float64"),),
            (
                Step("tanh", (0,) * 5, 2.0),
                Step("fake_quant", (0,) * 5, -1.5),
                Step("kthvalue", (2, 1, 0, 0, 0), 0.5),
            ),
            seed=39486,
        ),  # fmt: skip
        # seed 986: logcumsumexp over a line spanning > 30 (after rpow): torch's tangent is
        # 0 where exp(x - max) < 1e-13; steered: finite values squashed into (-4, 4)
        Program(
            (((), False, False, "float64"),) * 3,
            (
                Step("where_b", (0,) * 5, 0.5),
                Step("pool_idx", (9, 0, 0, 0, 0), 2.0),
                Step("flip", (0,) * 5, 2.0),
                Step("rpow", (10, 0, 0, 0, 0), 2.0),
                Step("cum_edge", (6, 0, 0, 0, 10), 0.5),
            ),
            seed=20075,
        ),  # fmt: skip
    ],
)
def test_s43_steered_programs(prog):
    assert check(prog) is None


def test_inplace_silu_of_a_complex_tensor_requiring_grad_is_refused():
    # the torch bug steered around above: chainrule refuses the in-place form as the
    # out-of-place one (torch's gradient there would be wrong)
    z = cr.tensor([1 + 2j, -0.5 + 0.1j], requires_grad=True)
    with pytest.raises(RuntimeError, match="silu does not support automatic differentiation"):
        cr.nn.functional.silu(z * 1, inplace=True)


def test_masked_prod_of_a_0d_tensor_changed_in_place_after():
    # seed 984 (layer_norm, rng_fill, masked_dims prod, setitem): torch.masked.prod of a 0-d
    # tensor over every dim loops over no dim, its result ``where(mask, input, 1)`` with no
    # product; chainrule's ProdBackward0 saved its output, so setting the result in place
    # broke the backward ("output 0 of Prod ... is at version 1")
    prog = Program(
        (((), True, False, "float64"), ((), False, False, "float64")),
        (
            Step("layer_norm", (0,) * 5, -1.5),
            Step("rng_fill", (0,) * 5, 0.5),
            Step("masked_dims", (0, 0, 0, 0, 9), -1.5),
            Step("setitem", (4, 0, 0, 0, 0), 0.25),
        ),
        seed=9759,
    )  # fmt: skip
    assert check(prog) is None
    seen = []
    for lib in (torch, cr):
        x = lib.tensor(3.0, dtype=lib.float64, requires_grad=True)
        y = lib.masked.prod(x * 2, mask=lib.tensor(True))
        y.mul_(5)
        y.backward()
        seen.append((type(y.grad_fn).__name__, y.item(), x.grad.item()))
    assert seen[1] == seen[0]


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int16", "int32", "int64", "float32"])
@pytest.mark.parametrize("kw", ["none", "mask", "dtype", "dim"])
def test_masked_prod_of_a_0d_tensor_dtype_and_node(dtype, kw):
    seen = []
    for lib in (torch, cr):
        x = lib.tensor(1, dtype=getattr(lib, dtype))
        args = {"none": {}, "mask": {"mask": lib.tensor(False)}, "dtype": {"dtype": lib.float64},
                "dim": {"dim": 0}}[kw]  # fmt: skip
        y = lib.masked.prod(x, **args)
        seen.append((str(y.dtype).split(".")[-1], y.item(), y is x))
        if dtype == "float32":
            xg = x.detach().requires_grad_()
            seen.append(type(lib.masked.prod(xg, **args).grad_fn).__name__)
    assert seen[len(seen) // 2 :] == seen[: len(seen) // 2]


@pytest.mark.parametrize("ord_", [_INF, -_INF, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("xs", [[_NAN], [_NAN, 1.0], [2.0, _NAN, -3.0], [0.0, 0.0], [2.0, -2.0]])
def test_vector_norm_tangent_at_nan(ord_, xs):
    # seed 984 (nan_rows, linalg_norm / normalize): torch's norm_jvp reads sgn(NaN) = 0 for
    # the 1 / inf norms (tangent 0 where chainrule's NumPy sign gave NaN) and keeps the NaN
    # of a NaN 2-norm (chainrule's masked it as if the norm were 0)
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        F = torch.nn.functional if lib is torch else cr.nn.functional
        with fwad.dual_level():
            t = lib.tensor([1.0, -2.0, 0.5][: len(xs)], dtype=lib.float64)
            x = fwad.make_dual(lib.tensor(xs, dtype=lib.float64), t)
            seen.append(fwad.unpack_dual(lib.linalg.vector_norm(x, ord=ord_)).tangent.tolist())
            seen.append(fwad.unpack_dual(F.normalize(x, p=ord_, dim=0)).tangent.tolist())
    for mine, theirs in zip(seen[2:], seen[:2]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, equal_nan=True)


_EDGES = [_NAN, 1.0, 0.5, _INF]


@pytest.mark.parametrize("fn", ["fmin", "fmax", "minimum", "maximum"])
@pytest.mark.parametrize(
    ("ta", "tb"),
    [
        (ta, tb)
        for ta in (_NAN, _INF, 2.0, None)
        for tb in (_NAN, 1.0, None)
        if (ta, tb) != (None, None)
    ],
)
def test_pairwise_extreme_tangent_spreads_the_losers_nan(fn, ta, tb):
    # seed 987 (binning, binary_fn fmin): torch's forward rule is tb + w * (ta - tb), so a
    # NaN / inf tangent of the input that lost spreads (0 * inf); chainrule took the
    # winner's tangent alone. Ties: 0.5 for maximum / minimum, ta for fmin, tb for fmax
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            a = lib.tensor([[v] * 4 for v in _EDGES], dtype=lib.float64)
            b = lib.tensor(_EDGES, dtype=lib.float64)
            if ta is not None:
                a = fwad.make_dual(a, lib.full((4, 4), ta, dtype=lib.float64))
            if tb is not None:
                b = fwad.make_dual(b, lib.full((4,), tb, dtype=lib.float64))
            seen.append(fwad.unpack_dual(getattr(lib, fn)(a, b)).tangent.tolist())
    np.testing.assert_array_equal(np.array(seen[1]), np.array(seen[0]))


@pytest.mark.parametrize(
    "prog",
    [
        # seed 987: mode over NaNs: torch's CPU mode std::sorts with ``<``, which NaN leaves
        # unordered (the winner depends on the sort's steps); steered in r10_steps
        Program(
            (((), False, False, "float64"),),
            (Step("special_edge", (0, 0, 0, 0, 1), 2.0), Step("rank_ties", (1, 0, 0, 1, 0), 2.0)),
            seed=65511,
        ),
        # seed 987: hfftn of rows with inf and NaN: which outputs are inf or NaN follows the
        # FFT's butterfly order; steered in s39_steps (infinities become +-4)
        Program(
            (((3, 2), False, False, "float64"), ((), False, False, "float64")),
            (
                Step("special_edge", (0, 0, 3, 7, 0), 2.0),
                Step("where_s", (0,) * 5, 2.0),
                Step("scatter_add", (6, 10, 0, 6, 1), 0.25),
                Step("fft_hn", (4, 0, 0, 5, 9), 0.25),
            ),
            seed=935,
        ),  # fmt: skip
        # the bugs above, as found
        Program(
            (((), False, False, "float64"),),
            (Step("nan_rows", (0, 0, 0, 0, 2), -1.5), Step("linalg_norm", (1, 0, 1, 0, 0), 2.0)),
            seed=43542,
        ),
        Program(
            (((3, 1, 2), False, False, "float64"), ((), False, False, "float64")),
            (Step("binning", (9, 0, 0, 1, 2), 0.5), Step("binary_fn", (2, 0, 0, 0, 4), -1.5)),
            seed=6292,
        ),
    ],
)
def test_s43_found_programs_agree(prog):
    assert check(prog) is None


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("dim", [0, 1])
def test_complex_cumprod_over_infinities(dtype, dim):
    # seed 987 (complex_chain cumprod): torch's scan multiplies the first element into 1, so
    # -inf + 0j becomes -inf + nanj (0 * inf) and the NaN runs on; NumPy's starts from it
    inf = _INF
    rows = [
        [complex(-inf, 0), 0.5 - 0.3j, 2 + 1j],
        [0.5 - 0.3j, complex(-inf, 0), 1j],
        [complex(inf, 1), complex(0, inf), 1 + 0j],
        [1 + 0j, 2 + 0j, complex(_NAN, 0)],
    ]
    seen = []
    for lib in (torch, cr):
        z = lib.tensor(rows, dtype=getattr(lib, dtype))
        z = z if dim == 1 else z.T.contiguous()
        seen.append(np.array(z.cumprod(dim).tolist()))
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-6, equal_nan=True)
