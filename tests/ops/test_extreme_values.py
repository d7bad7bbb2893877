"""Every float op spec of tests/ops/op_specs.py against PyTorch at extreme inputs.

The ordinary op tests draw well-behaved random inputs; users also feed inf, NaN, -0.0, 1e308,
subnormals, exact zeros, exact ties and huge logits. Each spec runs here on inputs filled from
a fixed pool of such values (float64) and must give PyTorch's forward values, with inf/NaN
positions and the sign of infinities exact, and PyTorch's gradients of ``sum(y * w)``.
pytest's warnings-as-errors applies: chainrule computes
floating-point exceptions silently, as PyTorch does, so a NumPy RuntimeWarning is a bug.

Inputs per spec (cheap: the whole file runs in seconds):

- an elementwise unary spec (the default ``_unary`` shapes) gets the whole pool as one vector;
- an elementwise binary spec (the ``_binary`` shapes) gets every pair of pool values, as two
  vectors of the same length (no broadcasting, so each gradient element has one source);
- any other spec gets its first input shapes three times: filled from the whole pool, from
  the pool without NaN and from its finite values only (a NaN otherwise masks everything a
  reduction does with the rest).

For elementwise specs the gradient is compared at every position, inf/NaN included
(elements are independent; SKIP_NONFINITE_GRAD lists those compared where PyTorch's is finite
only); for the others only when PyTorch's whole gradient is finite. A short table of targeted
rows (``TARGETED``: logsumexp/softmax of all -inf, huge logits in cross_entropy, NaN in
max/clamp, x log x at 0, ...) is compared strictly, values and gradients.

Two tolerances are deliberate, beyond ``rtol=1e-12``:

- values below the smallest normal double (2.2e-308) compare equal to zero: PyTorch's
  vectorised exp/log kernels flush subnormal results to zero where NumPy returns the
  correctly rounded subnormal (``sigmoid(-745)``: NumPy 5e-324, PyTorch 0.0);
- a gradient element may differ by 1e-12 of the largest gradient of that input: a gradient
  element of a reduction is a sum of terms whose cancellation makes a tiny element's relative
  error meaningless (``layer_norm`` next to 710.0).

Families not audited and accepted differences are listed below with their reasons.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .op_specs import BCAST, SPECS, B

INF, NAN = float("inf"), float("nan")
POOL = [0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, 1e308, -1e308, 5e-324, 1e-300]
POOL += [0.5, 2.0, 88.0, 710.0, -745.0]
EDGES = [-2.0, 3.0, -0.5, 1e-10, -5e-324]  # domain edges: +-1 (in POOL), beyond them, near 0
VALUES = np.array(POOL + EDGES)
TINY = np.finfo(np.float64).tiny

UNARY_SHAPES = (((3, 4),), ((),))
BINARY_SHAPES = (B,) + BCAST

# --------------------------------------------------------------------- families not audited
# A spec whose name matches one of these patterns is left out, for the reason given.
NOT_AUDITED = {
    # inputs must be well-conditioned matrices; LAPACK's SVD loops for minutes on inf/NaN
    r"^linalg_(?!vector_norm|cross|vander|matrix_norm_(fro|1|neginf)$|norm$)": "matrix",
    r"^(svd|svd_values|qr|cholesky.*|inverse|det|logdet|slogdet|pinverse)$": "matrix",
    r"^(matrix_exp.*|matrix_power|lu.*|orgqr|ormqr.*|triangular_solve.*|geqrf.*)$": "matrix",
    r"^(nuclear_norm.*|lobpcg.*|svd_lowrank.*|pca_lowrank.*|householder.*)$": "matrix",
    # PyTorch's grid_sample backward crashes (segfault) on inf/NaN grid coordinates
    r"grid_sample": "torch crashes",
    # products and convolutions sum inf/huge terms in BLAS's order, which differs between
    # the two libraries (1e308 + 1e308 - inf is inf or NaN by order): not comparable
    r"conv|matmul|^mm$|bmm|^mv$|addmm|addmv|addr|baddbmm|addbmm|einsum|tensordot|^dot$": "blas",
    r"^(inner|vdot|kron|F_linear.*|F_bilinear.*|raw_.*|F_sdpa.*|mlp_chain|chain_matmul.*)$": (
        "blas"
    ),
    r"^(F_rnn|F_lstm|F_gru|rnn|lstm|gru).*|F_ctc_loss.*": "blas / recurrences over inf",
}

# -------------------------------------------------------------------- accepted differences
# Keys are a spec name (every draw) or "name[draw]". Each entry is a difference triaged as
# not chainrule's bug (PyTorch overflows early, rounds worse, or returns an arbitrary value),
# or, marked CHAINRULE, a known chainrule deviation left for later (said why).
_SUBNORMAL_G = (
    "PyTorch multiplies g by the subnormal input first (g * 5e-324 rounds to a multiple of "
    "5e-324), so its g * x / x is off; chainrule's gradient is exact"
)
_OVERFLOW_ORDER = (
    "an intermediate overflows in one library only (PyTorch rounds 2 * x or x / y to inf "
    "before multiplying by g, or the reverse); both are the product rounded differently"
)
_SHRINK_NAN = "at a NaN input PyTorch's shrink gradient is 0 and chainrule's is g (both arbitrary)"

SKIP = {  # the forward value differs: the draw is not compared at all
    "sinh[pool]": "PyTorch overflows to inf for 709.78 < |x| < 710.48 (e^x / 2 rounded "
    "through e^x); sinh(710) = 1.117e308 is finite, as chainrule (NumPy) returns",
    "cosh[pool]": "as sinh: cosh(710) = 1.117e308, PyTorch returns inf",
    "F_hardswish[pool]": "PyTorch's x * (x + 3) / 6 overflows at 1e308; hardswish(1e308) is "
    "1e308, as chainrule's x * hardsigmoid(x)",
    "F_soft_margin_loss[finite]": "PyTorch's log(1 + e^-yx) overflows at yx = -710; the loss "
    "is 710, chainrule's log1p-exp form",
    "F_soft_margin_loss_none[finite]": "as F_soft_margin_loss",
    "logaddexp2[pairs]": "PyTorch's logaddexp2(-1, -1) is -4.8e-17, its rounding; the exact "
    "value 0.0 is chainrule's",
    "subtract_alpha[pairs]": "PyTorch fuses a - alpha * b into one rounding (inf - 2e308 is "
    "inf); NumPy rounds alpha * b to inf first (inf - inf = NaN): differs only on overflow",
    "rsub_alpha[pairs]": "as subtract_alpha",
    "polygamma2[pool]": "polygamma(2, inf) is NaN in PyTorch; the limit, 0, is chainrule's",
    "polygamma3_method[pool]": "as polygamma2",
    "mvlgamma_method[pool]": "lgamma(1 + 1e-10) = -5.772157125783e-11: SciPy's gammaln near "
    "its zero x = 1 is accurate to 1e-20 absolute (1.7e-10 relative); an accuracy limit of "
    "the kernel near 1 and 2, not of extreme values",
    "special_gammainc_big[pool]": "CHAINRULE: gammainc for a large shape parameter agrees "
    "with PyTorch to 1e-9 relative only (the kernel's accuracy, ordinary inputs too)",
    "native_batch_norm_eval": "PyTorch's kernel computes x * (w invstd) + (b - mean w "
    "invstd): with w = 1e308 the bias -745 is absorbed (PyTorch 0), with w = inf it gives "
    "inf - inf = nan; chainrule's (x - mean) invstd w + b keeps b (x = mean) and the inf",
    "F_glu_dim1[all]": "sigmoid(-745) is the subnormal 5e-324 in chainrule and 0 in PyTorch "
    "(its exp flushes), so -inf * sigmoid(-745) is -inf here and NaN there",
    "F_group_norm[nonan]": "the group statistics of +-inf inputs: chainrule's variance "
    "arithmetic gives inf where PyTorch's gives NaN (an order of inf - inf)",
    "F_avg_pool3d[all]": "a window sums 1e308, -1e308 and 1e-10: the result (0 or 1e-10) "
    "is decided by the order of the additions",
    "F_avg_pool3d_ceil_pad[all]": "as F_avg_pool3d (chainrule sums along W, then H, then D)",
    "F_avg_pool3d_divisor_unbatched[all]": "as F_avg_pool3d_ceil_pad",
    "F_adaptive_avg_pool2d[all]": "a window mixing +-1e308 with small values: its mean (0 or "
    "118.3, finite or inf) is decided by the order of the additions (chainrule averages rows, "
    "then columns, when the input is not all finite)",
    "F_adaptive_avg_pool3d": "as F_adaptive_avg_pool2d; and in the finite draw the window "
    "(-0.5, 0.5, 1e-10, ...) cancels: chainrule's separable means (over h and w, then d) "
    "round 0.25 + 5e-11 before the cancellation (1.6666668e-11, exact 1.6666667e-11)",
    "F_interpolate_bilinear[nonan]": "a window whose terms cancel (-0.5 * 0.25 + ...): "
    "PyTorch rounds w0 * x0 + (w1 * x1) as one fused multiply-add, NumPy rounds both "
    "products (-7.4e-17 vs -4.2e-17 where the sum is ~0); the inf/NaN locality is checked "
    "by the [all] draw and tests/ops/test_nan_locality.py",
    "cdist_inf": "PyTorch's inf-norm distance skips a NaN difference (its running max "
    "compares NaN as false) and returns a number; chainrule propagates the NaN (not copied)",
    "F_multilabel_margin_loss[all]": "PyTorch's kernel adds a margin only if it is > 0, so a "
    "NaN margin is silently dropped; chainrule propagates the NaN (not copied)",
    "F_multilabel_margin_loss_none[all]": "as F_multilabel_margin_loss",
    "F_multilabel_margin_loss_1d[all]": "as F_multilabel_margin_loss",
    "F_interpolate_area_3d[all]": "as F_adaptive_avg_pool3d: a window mixing +-1e308 with "
    "small values, whose sum (-1e308 or -inf) is decided by the order of the additions "
    "(chainrule sums along each axis in turn, PyTorch over the whole window)",
    "F_interpolate_area_frac[all]": "as F_interpolate_area_3d",
    "F_interpolate_area_recompute[all]": "as F_interpolate_area_3d",
    "F_interpolate_trilinear[finite]": "a window whose terms cancel: chainrule's 1.25e-301 is "
    "the exact value (checked with fractions); PyTorch's 2.8e-17 is its rounding",
}

SKIP_GRAD = {  # forward values compared; the gradient is not
    "segment_reduce_max_initial[all]": "CHAINRULE: the gradient of a segment's max at a NaN "
    "element: PyTorch's segment_reduce sends it to the NaN, chainrule's (composed from "
    "scatter_reduce, whose torch form gives NaN there) to no element; values agree",
    "relu[pool]": "at a NaN input PyTorch passes g (its mask is not y <= 0) and chainrule's "
    "compiled relu gradient gives 0 (mask y > 0); not changed on the hottest op",
    "F_relu[pool]": "as relu",
    "F_hardshrink[all]": _SHRINK_NAN,
    "F_hardshrink_lambd[pool]": _SHRINK_NAN,
    "F_hardshrink_zero[pool]": _SHRINK_NAN,
    "F_softshrink[all]": _SHRINK_NAN,
    "F_softshrink_lambd[pool]": _SHRINK_NAN,
    "F_hardsigmoid[pool]": "PyTorch's float64 hardsigmoid gradient is the float32 1/6 "
    "(0.16666667163); chainrule's is 1/6",
    "hypot[pairs]": _SUBNORMAL_G,
    "index_reduce_prod[finite]": _SUBNORMAL_G,
    "masked_prod_empty_row[nonan]": _SUBNORMAL_G,
    "masked_prod_all[nonan]": _SUBNORMAL_G,
    "index_reduce_prod_noself[finite]": _SUBNORMAL_G,
    "scatter_reduce_prod[finite]": _SUBNORMAL_G,
    "scatter_reduce_prod_noself[finite]": _SUBNORMAL_G,
    "cumprod[finite]": "PyTorch's gradient next to a subnormal input is 0; the exact value "
    "(the product of the other factors, e.g. -0.149) is chainrule's",
    "cumprod_zeros[finite]": "as cumprod",
    "vander[finite]": "d(x^1)/dx = 1 at x = 5e-324; PyTorch's gradient there is 0",
    "linalg_vander": _SUBNORMAL_G,
    "linalg_vander_N[finite]": "as vander",
    "F_pdist_inf[finite]": "ties of |x_i - x_j| (differences equal after rounding, as "
    "0.5 - 5e-324 and 0.5): which tied element takes the gradient is unspecified",
    "topk[all]": "ties of 0.0 and -0.0: which tied index takes the gradient is unspecified",
    "kthvalue[all]": "as topk",
    "digamma[pool]": "trigamma at the poles -1, -2, -745 is +-inf (chainrule); PyTorch returns "
    "finite values such as -5.9e32",
    "digamma_negative[pool]": "as digamma",
    "special_psi[pool]": "as digamma",
    "special_i1[pool]": "at a NaN input PyTorch's i1/i1e gradient is 0.5 g (its |x| <= eps "
    "branch takes NaN as small); chainrule's is NaN",
    "special_i1e[pool]": "as special_i1",
    "special_i1e_wide[pool]": "as special_i1",
    "complex_polar": "PyTorch's polar gradient divides the result by abs: wrong sign for a "
    "negative abs, 0 at abs = 0 and inexact at a subnormal abs; chainrule's is cos / sin of "
    "the angle, exact",
}

SKIP_NONFINITE_GRAD = {  # elementwise: gradients compared where PyTorch's is finite only
    "F_elu[pool]": "at a NaN input PyTorch's gradient is NaN, chainrule's mask gives 0",
    "F_selu[pool]": "as F_elu",
    "F_celu[pool]": "as F_elu",
    "atan2[pairs]": "d/dy atan2(1, 1e308) = 1e-308 (chainrule 0, x / (x^2 + y^2) with an "
    "overflowing denominator); PyTorch returns NaN",
    "copysign[pairs]": "at a = +-inf PyTorch's gradient is NaN; chainrule's is +-g, the "
    "derivative of copysign there",
    "copysign_scalar[pool]": "as copysign",
    "copysign_method[pool]": "as copysign",
    "frexp_mantissa[pool]": "the gradient 2^996 at 1e-300 is finite; PyTorch returns inf",
    "ldexp[pairs]": _OVERFLOW_ORDER,
    "square[pool]": _OVERFLOW_ORDER,
    "logit[pool]": "at x = -0.0 the gradient 1 / (x (1 - x)) is -inf in PyTorch and +inf in "
    "chainrule (the sign of an infinite gradient at a signed zero)",
    "pow_half[pool]": "at -0.0 PyTorch's gradient is -inf (through sqrt(-0.0) = -0.0), "
    "chainrule's +inf; at -inf PyTorch's is NaN, chainrule's -0.0",
}


# specs whose zero results must carry PyTorch's sign (a later 1/y turns it into +-inf).
# maximum/minimum(0.0, -0.0) are left out: PyTorch's vectorised kernel returns the second
# operand (as NumPy) and its 0-d path the first, so neither sign is PyTorch's.
ZERO_SIGN_SPECS = {
    "relu",  # relu(-0.0) is -0.0 in PyTorch
    "F_relu",
    "neg",
    "reciprocal",
    "rdiv_scalar",
    "div",
    "divide",
    "mul",
    "atan2",
    "copysign",
    "sin",
    "tan",
    "tanh",
    "sinh",
    "asinh",
    "atanh",
    "asin",
    "atan",
    "expm1",
    "log1p",
    "sqrt",
    "clamp",
    "clamp_min",
    "clamp_max_fn",
    "square",
    "trunc",
    "round",
    "ceil",
}


def _entry(table: dict, spec, label: str) -> str | None:
    return table.get(f"{spec.name}[{label}]") or table.get(spec.name)


def _not_audited(name: str) -> bool:
    return any(re.search(p, name) for p in NOT_AUDITED)


def _draws(spec) -> list:
    """(label, arrays, elementwise) input draws for ``spec``.

    The NaN-free draws of a non-elementwise spec leave out +-1e308: a sum of +-1e308 with
    small values is decided by the order of the additions (1e308 + 3 - 1e308 is 0 or 3),
    which is no property of the op; elementwise specs and the first draw still meet them."""
    if spec.shapes == UNARY_SHAPES:
        return [("pool", [VALUES.copy()], True)]
    if spec.shapes == BINARY_SHAPES:
        a, b = np.meshgrid(VALUES, VALUES, indexing="ij")
        return [("pairs", [a.ravel(), b.ravel()], True)]
    moderate = VALUES[np.abs(VALUES) != 1e308]  # see _draws' docstring
    pools = {
        "all": VALUES,
        "nonan": moderate[~np.isnan(moderate)],
        "finite": moderate[np.isfinite(moderate)],
    }
    out = []
    for k, (label, pool) in enumerate(pools.items()):
        rng = np.random.default_rng(k)
        arrays = [np.asarray(rng.choice(pool, size=s), dtype=np.float64) for s in spec.shapes[0]]
        out.append((label, arrays, False))
    return out


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _mismatch(got: np.ndarray, want: np.ndarray, atol: float) -> np.ndarray:
    """Where ``got`` differs from ``want``: NaN and inf positions exact, else rtol 1e-12."""
    with np.errstate(all="ignore"):
        close = np.isfinite(got) & np.isfinite(want)
        close &= np.abs(got - want) <= 1e-12 * np.abs(want) + atol
    return ~((got == want) | (np.isnan(got) & np.isnan(want)) | close)


def _describe(bad, got, want, arrays) -> str:
    rows = []
    for i in np.argwhere(bad)[:4]:
        i = tuple(i)
        ins = [a[i] if a.shape == bad.shape else "..." for a in arrays]
        rows.append(f"at {i} inputs {ins}: chainrule {got[i]!r}, torch {want[i]!r}")
    return "; ".join(rows)


def _check_draw(spec, label, arrays, elementwise):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    try:
        touts = _as_tuple(spec.th_fn(*ts))
    except (RuntimeError, ValueError):
        return  # PyTorch rejects these values (e.g. binary_cross_entropy outside [0, 1])
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    outs = _as_tuple(spec.cr_fn(*xs))
    assert len(outs) == len(touts), spec.name
    where = f"{spec.name} [{label}]"
    for k, (o, t) in enumerate(zip(outs, touts)):
        got, want = o.detach().numpy(), t.detach().numpy()
        assert got.shape == want.shape, f"{where} output {k}: shape {got.shape} {want.shape}"
        if want.dtype.kind != "f":
            np.testing.assert_array_equal(got, want, err_msg=f"{where} output {k}")
            continue
        bad = _mismatch(got, want, TINY)
        assert not bad.any(), f"{where} output {k}: " + _describe(bad, got, want, arrays)
        if spec.name in ZERO_SIGN_SPECS:  # the sign of a zero changes a later 1/y
            zeros = (want == 0) & (got == 0)
            flipped = zeros & (np.signbit(want) != np.signbit(got))
            assert not flipped.any(), f"{where}: sign of zero " + _describe(
                flipped, got, want, arrays
            )
    if _entry(SKIP_GRAD, spec, label) or "bwd" not in spec.checks:
        return  # (no gradient to compare: e.g. an op PyTorch has no derivative for)
    pairs = [(o, t) for o, t in zip(outs, touts) if t.dtype.is_floating_point and t.requires_grad]
    if not pairs:
        return
    rng = np.random.default_rng(7)
    ws = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    tloss = sum((t * torch.tensor(w)).sum() for (_, t), w in zip(pairs, ws))
    tgrads = torch.autograd.grad(tloss, ts, allow_unused=True)
    closs = sum((o * cr.tensor(w)).sum() for (o, _), w in zip(pairs, ws))
    cgrads = cr.autograd.grad(closs, xs, allow_unused=True)
    for i, (c, t) in enumerate(zip(cgrads, tgrads)):
        if t is None:
            continue
        want = t.numpy()
        got = np.zeros_like(want) if c is None else c.numpy()
        finite = np.isfinite(want)
        if not elementwise and not finite.all():
            continue
        scale = np.max(np.abs(want[finite]), initial=0.0)
        compared = finite if not elementwise or _entry(SKIP_NONFINITE_GRAD, spec, label) else True
        bad = _mismatch(got, want, max(TINY, 1e-12 * scale)) & compared
        assert not bad.any(), f"{where} gradient {i}: " + _describe(bad, got, want, arrays)


CASES = [s for s in SPECS if not _not_audited(s.name)]


@pytest.mark.parametrize("spec", CASES, ids=[s.name for s in CASES])
def test_extreme_values_match_torch(spec):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for label, arrays, elementwise in _draws(spec):
            if not _entry(SKIP, spec, label):
                _check_draw(spec, label, arrays, elementwise)


# ------------------------------------------------------------------------- targeted cases
# The edges users meet most, row by row (each row is one situation), compared strictly:
# values and every gradient element, inf/NaN positions and signs exact.
_ROWS = np.array(
    [
        [-INF, -INF, -INF],  # all -inf: logsumexp -inf, softmax NaN
        [INF, INF, 1.0],
        [INF, 1.0, -INF],
        [1e308, -1e308, 0.0],  # huge logits
        [NAN, 1.0, 2.0],
        [710.0, -745.0, 0.0],
        [0.0, -0.0, 5e-324],
    ]
)
_TARGETS = np.array([2, 0, 1, 1, 0, 2, 1])
_PROBS = np.array([0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 1.0])


def _nnf(m):
    return m.nn.functional


TARGETED = {
    "logsumexp": lambda m, x: m.logsumexp(x, 1),
    "softmax": lambda m, x: m.softmax(x, 1),
    "log_softmax": lambda m, x: m.log_softmax(x, 1),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x, 1),
    "amax": lambda m, x: m.amax(x, 1),
    "max_dim": lambda m, x: m.max(x, 1)[0],
    "min_all": lambda m, x: x.min(),
    "cross_entropy": lambda m, x: _nnf(m).cross_entropy(x, m.tensor(_TARGETS), reduction="none"),
    "bce_with_logits": lambda m, x: _nnf(m).binary_cross_entropy_with_logits(
        x[:, 0], m.tensor(_PROBS, dtype=x.dtype), reduction="none"
    ),
    "softplus": lambda m, x: _nnf(m).softplus(x),
    "softplus_beta": lambda m, x: _nnf(m).softplus(x, beta=2.0, threshold=30.0),
    "logsigmoid": lambda m, x: _nnf(m).logsigmoid(x),
    "sigmoid": lambda m, x: m.sigmoid(x),
    "xlogx": lambda m, x: m.xlogy(x, x),
    "entr": lambda m, x: m.special.entr(x),
    "clamp_nan_bound": lambda m, x: m.clamp(x, min=NAN),
    "clamp_nan_input": lambda m, x: m.clamp(x, -1.0, 1.0),
    "vector_norm": lambda m, x: m.linalg.vector_norm(x, dim=1),
    "nan_to_num": lambda m, x: m.nan_to_num(x),
    "cumsum": lambda m, x: m.cumsum(x, 1),
    "var": lambda m, x: m.var(x, 1),
}


TARGETED_SKIP = {
    "var": "var([1e308, -1e308, 0]) overflows: chainrule returns inf, PyTorch's running "
    "(Welford) update NaN",
}
TARGETED_SKIP_GRAD = {
    "amax": "PyTorch's amax gradient on a row holding NaN is NaN for the whole row (a 0 / 0 "
    "count of elements equal to NaN); chainrule routes it to the NaN, as torch.max() does",
}


@pytest.mark.parametrize("name", list(TARGETED))
def test_targeted_edges_match_torch(name):
    if name in TARGETED_SKIP:
        pytest.skip(TARGETED_SKIP[name])
    fn = TARGETED[name]
    t = torch.tensor(_ROWS, requires_grad=True)
    c = cr.tensor(_ROWS, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        want, got = fn(torch, t), fn(cr, c)
        bad = _mismatch(got.detach().numpy(), want.detach().numpy(), TINY)
        assert not bad.any(), f"{name}: " + _describe(
            bad, got.detach().numpy(), want.detach().numpy(), [_ROWS]
        )
        if name in TARGETED_SKIP_GRAD:
            return
        w = np.random.default_rng(3).standard_normal(tuple(want.shape))
        (tg,) = torch.autograd.grad((want * torch.tensor(w)).sum(), t)
        (cg,) = cr.autograd.grad((got * cr.tensor(w)).sum(), c)
    bad = _mismatch(cg.numpy(), tg.numpy(), TINY)
    assert not bad.any(), f"{name} gradient: " + _describe(bad, cg.numpy(), tg.numpy(), [_ROWS])
