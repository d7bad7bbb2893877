"""Session 44 of the random-program fuzzer (seeds 988-; the new kinds of
:mod:`tests.fuzz.s44_steps`: einsum with random subscripts, numerical gradients and
differences, negative pads, rearrangements of views, complex linear algebra, interpolation
at edge sizes, losses with ignored targets, unfold with steps, odd contractions): every
variant of every new kind is pinned as a one-step program on a float64 leaf (first and
second order), on an int64 leaf and under forward mode, checked against torch by
:func:`tests.fuzz.hunt.check`; then the differences found (and session 43's leftovers)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .hunt import check
from .programs import Program, Step
from .s44_steps import S44

__all__: list[str] = []

# kind -> the number of ints[4] branches; a variant v is drawn with ints[4] = v % F and
# ints[3] = v // F
_BRANCHES = {"einsum_rand": 18, "grad_num": 7, "pad_neg": 4, "roll_view": 7,
             "complex_linalg": 7, "interp_edge": 6, "loss_ignore": 6, "unfold_step": 4,
             "contract_odd": 6}  # fmt: skip

_CASES = [(kind, v) for kind in S44 for v in range(2 * _BRANCHES[kind])]


@pytest.mark.parametrize(("kind", "variant"), _CASES)
def test_s44_kind_agrees_with_torch(kind, variant):
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


_INF, _NAN = float("inf"), float("nan")


def _tangent(lib, fn, primal, tangent, dtype="float64"):
    fwad = lib.autograd.forward_ad
    dt = getattr(lib, dtype)
    with fwad.dual_level():
        x = fwad.make_dual(lib.tensor(primal, dtype=dt), lib.tensor(tangent, dtype=dt))
        return fwad.unpack_dual(fn(lib, x)).tangent.float().tolist()


@pytest.mark.parametrize("p", [0.5, 0.3, -0.5, -1.0, -2.0, 1.5, 3.0])
@pytest.mark.parametrize(
    ("xs", "ts"),
    [([0.0, 0.0, 0.0], [_INF, 1.0, 0.0]), ([0.0, 0.0, 0.0], [_NAN, 1.0, 0.0]),
     ([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]), ([0.0, 1.0, 2.0], [_INF, 1.0, 0.0]),
     ([0.0, -1.0, 2.0], [_NAN, 1.0, 1.0]), ([_INF, 1.0, 2.0], [1.0, 1.0, 1.0])],
)  # fmt: skip
def test_vector_norm_below_one_at_a_zero_norm(p, xs, ts):
    # session 43's leftover: vector_norm(ord < 1)'s tangent (and gradient) at a zero norm
    # is torch's unmasked num * ||x||^(1 - p), NaN where a zero entry meets an inf/NaN
    # tangent (0 * inf); chainrule masked it to 0 (ord >= 1 stays masked, as torch's)
    def fn(lib, x):
        return lib.linalg.vector_norm(x, ord=p)

    seen = [_tangent(lib, fn, xs, ts) for lib in (torch, cr)]
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-12, equal_nan=True)
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
        lib.linalg.vector_norm(x, ord=p).backward(lib.tensor(ts[0], dtype=lib.float64))
        grads.append(x.grad.tolist())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_pairwise_extreme_tangent_in_half_precision(name, dtype):
    # session 43's leftover: torch's tangent of the pairwise extremes is tb + w (ta - tb)
    # (w = 1, 0 or 1/2 at ties), rounded in the half dtype; bit for bit, NaNs included
    a = [1.0, 2.0, 3.0, _NAN, 1.0, -_INF, 5.0, 0.1]
    b = [1.0, 1.5, 4.0, 1.0, _NAN, 2.0, 5.0, 0.3]
    ta = [0.3, 1.1, -2.7, 1.0, 2.0, 3.0, 0.7, 1 / 3]
    tb = [1.7, 0.2, 0.9, 5.0, 1.0, 1.0, 0.1, 2 / 3]
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        dt = getattr(lib, dtype)
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor(a, dtype=dt), lib.tensor(ta, dtype=dt))
            y = fwad.make_dual(lib.tensor(b, dtype=dt), lib.tensor(tb, dtype=dt))
            seen.append(fwad.unpack_dual(getattr(lib, name)(x, y)).tangent.float().tolist())
    np.testing.assert_array_equal(seen[1], seen[0])


@pytest.mark.parametrize(
    "rows",
    [[[complex(-_INF, 0), 2 + 1j, 1j]], [[complex(_NAN, 1), 1 + 1j]], [[1 + 2j, 3 - 1j, 0.5j]],
     [[complex(_INF, _INF), 1 + 0j], [2 + 0j, 1j]], [[1 + 0j, 2j], [complex(-_INF, 0), 1j]]],
)  # fmt: skip
@pytest.mark.parametrize("dim", [0, -1])
def test_complex_cumprod_non_finite_head(rows, dim):
    # the head check of complex cumprod made cheaper for 1-d inputs (a cmath scalar check):
    # torch's scan multiplies the head into 1 + 0j (-inf + nanj), 1-d and n-d alike
    for shape_rows in (rows, rows[0]):
        seen = [lib.tensor(shape_rows).cumprod(dim).tolist() for lib in (torch, cr)]
        np.testing.assert_allclose(seen[1], seen[0], equal_nan=True)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize(
    ("shape", "pads"),
    [((1, 2, 3, 4), [-3, 0, -2, -1]), ((1, 2, 3, 4), [-4, 0, 0, 0]),
     ((1, 1, 2, 3, 4), [0, 0, -3, 0, -2, 0]), ((2, 4), [-4, 0]), ((2, 3, 4), [-4, 0, -3, 0]),
     ((2, 2, 3, 4), [-4, 0, -3, 0, -2, 0]), ((1, 2, 3, 4), [-5, 0, -4, 0])],
)  # fmt: skip
def test_edge_pad_cropped_to_empty(mode, shape, pads):
    # found by pad_neg (seed check of the new kind): torch's reflect/replicate kernels
    # refuse a result only when *every* padded dim is empty (output_w >= 1 || output_h >= 1);
    # chainrule refused any empty padded dim. The refusals in torch's words
    # (the gradient: zeros in chainrule; torch's 3-d reflect one is memory it never wrote)
    seen = []
    for lib in (torch, cr):
        x = lib.tensor(np.arange(np.prod(shape), dtype=float).reshape(shape), requires_grad=True)
        try:
            y = lib.nn.functional.pad(x, pads, mode=mode)
            y.sum().backward()
            seen.append(tuple(y.shape))
        except RuntimeError as exc:
            seen.append(str(exc))
    assert seen[1] == seen[0]
    if isinstance(seen[1], tuple):
        assert not x.grad.numpy().any()


_STEERED = [
    # seed 988: circular pad past a dim's cropped size (torch reads memory it never wrote);
    # steered in s44_steps._pad_neg
    Program(
        leaves=(((), False, False, "float64"),),
        steps=(Step("pad_neg", (0, 9, 3, 7, 3), -1.5),),
        seed=681,
    ),
    # seed 989: unique's inverse over pinv's entries that differ by an ulp between the
    # libraries; steered in math_steps._search (a grid of 1/1024 first)
    Program(
        leaves=(((), False, False, "float64"),) * 3,
        steps=(
            Step("roll_view", (0, 0, 0, 0, 0), -1.5),
            Step("linalg_more", (0, 7, 1, 0, 0), -1.5),
            Step("fake_quant", (0, 0, 0, 0, 0), -1.5),
            Step("scatter_into", (0, 0, 0, 0, 0), 0.25),
            Step("search", (11, 0, 0, 0, 3), 0.25),
        ),
        seed=45185,
    ),
    # seed 994: an empty 3-d reflect result (torch's gradient: memory it never wrote) and
    # a bicubic scale of 1.25 keeping the sizes (torch's backward: the identity's);
    # steered in s44_steps._pad_neg and _interp_edge
    Program(
        leaves=(((3,), True, True, "float64"), ((), True, False, "float64")),
        steps=(Step("pad_neg", (11, 3, 1, 3, 5), 0.5),),
        seed=17157,
    ),
    Program(
        leaves=(((), False, False, "float64"),) * 2 + (((2,), True, False, "float64"),),
        steps=(Step("add", (0, 0, 0, 0, 0), 0.5), Step("interp_edge", (6, 2, 0, 0, 10), 0.5)),
        seed=54541,
    ),
]


@pytest.mark.parametrize("mode", ["nearest", "bicubic"])
def test_same_size_scale_gradient_is_torch_bug(mode):
    # the torch bug steered around (seed 994): a scale_factor that keeps the size still
    # moves the samples in the forward (nearest of [a, b] by 1.25 is [a, a]), but torch's
    # backward copies the gradient through as if it were the identity. Chainrule's gradient
    # is the forward's: pinned by finite differences, not by torch
    shape = (1, 1, 3) if mode == "nearest" else (1, 1, 2, 2)
    x0 = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape) ** 1.5

    def f(a):
        y = cr.nn.functional.interpolate(cr.tensor(a), scale_factor=1.25, mode=mode)
        return float((y * cr.tensor(np.cos(np.arange(y.numel())).reshape(y.shape))).sum())

    x = cr.tensor(x0, requires_grad=True)
    y = cr.nn.functional.interpolate(x, scale_factor=1.25, mode=mode)
    (y * cr.tensor(np.cos(np.arange(y.numel())).reshape(y.shape))).sum().backward()
    fd = np.zeros(x0.size)
    for i in range(x0.size):
        e = np.zeros(x0.size)
        e[i] = 1e-6
        fd[i] = (f(x0 + e.reshape(shape)) - f(x0 - e.reshape(shape))) / 2e-6
    np.testing.assert_allclose(x.grad.numpy().ravel(), fd, atol=1e-6)


@pytest.mark.parametrize("prog", _STEERED)
def test_s44_steered_programs(prog):
    assert check(prog) is None


@pytest.mark.parametrize("op", ["log", "reciprocal", "sqrt", "vector_norm"])
def test_forward_mode_is_silent_under_an_error_filter(op):
    # found writing the vector_norm test above: an op's jvp rule computing 0 * inf or 1 / 0
    # raised NumPy's RuntimeWarning under a caller's "error" filter (pytest's); torch is
    # silent. Function.apply reran forwards quietly, the tangent rules now too (ieee.py)
    fn = {
        "log": lambda lib, x: x.log(),
        "reciprocal": lambda lib, x: x.reciprocal(),
        "sqrt": lambda lib, x: x.sqrt(),
        "vector_norm": lambda lib, x: lib.linalg.vector_norm(x, ord=3.0),
    }[op]
    seen = []
    for lib in (torch, cr):
        fwad = lib.autograd.forward_ad
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            with fwad.dual_level():
                x = fwad.make_dual(
                    lib.tensor([0.0, 0.0], dtype=lib.float64),
                    lib.tensor([_INF, 1.0], dtype=lib.float64),
                )
                seen.append(np.asarray(fwad.unpack_dual(fn(lib, x)).tangent.tolist(), dtype=float))
    np.testing.assert_allclose(seen[1], seen[0], equal_nan=True)


def test_seed_994_eigh_double_backward_after_pad_neg():
    # seed 994: not eigh's (a 1 x 1 matrix: its eigh is the identity) but _square's float32
    # tanh of 9.47, saturated: torch's rounds to 1, NumPy's one ulp below, so 1 - y^2 is
    # 0 or 1.2e-7 (true 2.4e-8) and the second derivative torch 0, chainrule -0.051, the
    # float64 truth -0.0102 (test_found_cases_s44_b.py); steered in linalg_steps._square
    prog = Program(
        leaves=(((3,), False, False, "float32"), ((1, 3), True, False, "float32")),
        steps=(
            Step("pad_neg", (5, 5, 0, 0, 1), 2.0),
            Step("promote", (0, 0, 0, 0, 0), -1.5),
            Step("cast", (0, 0, 0, 0, 0), 0.25),
            Step("lerp", (0, 2, 0, 0, 9), 0.5),
            Step("eigh", (5, 0, 0, 0, 0), -1.5),
        ),
        seed=36436,
        double=True,
    )
    assert check(prog) is None
