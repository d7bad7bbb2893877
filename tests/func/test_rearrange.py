"""``cr.func.rearrange`` against ``torch.func.rearrange``: values, gradients (first and second
order, forward mode, vmap) on a table of patterns, random patterns (hypothesis), and every
error of the grammar and of shapes. A few cases where PyTorch 2.13 is wrong (it sums over a
left unit axis of length > 1, drops unit axes from a 0-d input, fails on a split of a 1-d input
and on a unit axis on both sides) are checked against the reshape/transpose they mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import rearrange
from chainrule.func.rearrange import _plan

RNG = np.random.default_rng(0)

# (pattern, input shape, axes_lengths)
CASES = [
    ("a b c -> c b a", (2, 3, 4), {}),
    ("a b c->c a b", (2, 3, 4), {}),
    ("  a  b c   ->   b a c ", (2, 3, 4), {}),
    ("a b c -> (a b) c", (2, 3, 4), {}),
    ("a b c -> (b a) c", (2, 3, 4), {}),
    ("a b c -> a (c b)", (2, 3, 4), {}),
    ("a b c -> (a b c)", (2, 3, 4), {}),
    ("a b(c)->(c b)a", (2, 3, 4), {}),
    ("a (b1 b2) c -> a b1 b2 c", (2, 6, 4), {"b1": 3}),
    ("a (b1 b2) c -> b2 a c b1", (2, 6, 4), {"b1": 3, "b2": 2}),
    ("(a b) c d -> a b c d", (2, 3, 4), {"a": 2}),
    ("b (h h1) (w w1) c -> b h w (c h1 w1)", (2, 4, 6, 3), {"h1": 2, "w1": 3}),
    ("a b c -> a b c", (2, 3, 4), {"a": 2, "b": 3, "c": 4}),
    ("... c -> c ...", (2, 3, 4), {}),
    ("a ... -> ... a", (2, 3, 4), {}),
    ("a ... c -> c ... a", (2, 3, 4, 5), {}),
    ("a ... c -> (a ...) c", (2, 3, 4, 5), {}),
    ("a ... c -> a (... c)", (2, 3, 4), {}),
    ("a b c ... -> ... c b a", (1, 2, 3, 4, 5), {}),
    ("a b c ... -> c (b a ...)", (2, 3, 4), {}),
    ("... -> (...)", (2, 3, 4), {}),
    ("... a -> a ...", (3,), {}),
    ("(a b) ... -> a b ...", (6, 2), {"a": 3}),
    ("a b c -> a 1 b c 1", (2, 3, 4), {}),
    ("a b c -> a () b c ()", (2, 3, 4), {}),
    ("a b c -> (a 1 b) (c)", (2, 3, 4), {}),
    ("a 1 c -> c a", (2, 1, 4), {}),
    ("a () c -> (c a) ()", (2, 1, 4), {}),
    ("a (b 1) -> a b", (2, 3), {}),
    ("a b c -> a b c", (0, 3, 4), {}),
    ("a b c -> (b c) a", (0, 3, 4), {}),
    ("a -> a 1", (5,), {}),
    (" -> ", (), {}),
    ("... -> ...", (), {}),
]


def _pair(shape):
    x = RNG.standard_normal(shape)
    return cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize(("pattern", "shape", "lengths"), CASES)
def test_values_and_gradients_match_torch(pattern, shape, lengths):
    xc, xt = _pair(shape)
    yc, yt = rearrange(xc, pattern, **lengths), torch.func.rearrange(xt, pattern, **lengths)
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(_np(yc), _np(yt))
    g = RNG.standard_normal(tuple(yt.shape))
    (yc * cr.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(_np(xc.grad), _np(xt.grad))


@pytest.mark.parametrize("container", [list, tuple])
def test_sequence_of_tensors_is_stacked_first(container):
    a, b, c = (RNG.standard_normal((2, 3)) for _ in range(3))
    cs = container(cr.tensor(v, requires_grad=True) for v in (a, b, c))
    ts = container(torch.tensor(v, requires_grad=True) for v in (a, b, c))
    pattern = "n a b -> a (b n)"
    yc, yt = rearrange(cs, pattern), torch.func.rearrange(ts, pattern)
    np.testing.assert_array_equal(_np(yc), _np(yt))
    (yc * cr.arange(18.0).reshape(2, 9)).sum().backward()
    (yt * torch.arange(18.0).reshape(2, 9)).sum().backward()
    for tc, tt in zip(cs, ts):
        np.testing.assert_array_equal(_np(tc.grad), _np(tt.grad))


def test_result_is_a_new_view_of_the_input():
    x = cr.arange(24.0).reshape(2, 3, 4)
    same = rearrange(x, "a b c -> a b c")
    merged = rearrange(x, "a b c -> (a b) c")
    assert same is not x and tuple(same.shape) == (2, 3, 4)
    assert np.shares_memory(same.numpy(), x.numpy())
    assert np.shares_memory(merged.numpy(), x.numpy())


# -- cases where torch 2.13 is wrong: checked against what the pattern means


@pytest.mark.parametrize(
    ("pattern", "shape", "lengths", "reference"),
    [
        # torch: "at least 2 indices were supplied but the tensor only has 1 dimensions"
        ("(a b) -> a b", (6,), {"a": 2}, lambda x: x.reshape(2, 3)),
        ("(a b) -> (b a)", (6,), {"a": 2}, lambda x: x.reshape(2, 3).T.reshape(6)),
        ("(a b c) -> a c b", (12,), {"a": 2, "b": 3}, lambda x: x.reshape(2, 3, 2).swapaxes(1, 2)),
        # torch drops the unit axes of a 0-d input (while "a -> a 1" keeps them)
        (" -> 1", (), {}, lambda x: x.reshape(1)),
        (" -> () ()", (), {}, lambda x: x.reshape(1, 1)),
        ("... -> ... 1", (), {}, lambda x: x.reshape(1)),
        # torch: "AssertionError: Tensor has 4 dimensions but 3 levels provided"
        ("a () c -> c () a", (2, 1, 4), {}, lambda x: x.transpose(2, 1, 0)),
    ],
)
def test_cases_torch_gets_wrong_follow_the_grammar(pattern, shape, lengths, reference):
    x = RNG.standard_normal(shape)
    got = rearrange(cr.tensor(x), pattern, **lengths)
    want = reference(x)
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize(
    ("pattern", "shape"), [("1 -> ", (2,)), ("() -> ", (2,)), ("a 1 -> a", (2, 3))]
)
def test_unit_axis_of_length_above_one_raises(pattern, shape):
    # torch sums over such an axis; the grammar says a unit axis has length 1
    with pytest.raises(ValueError, match="unit axis"):
        rearrange(cr.ones(shape), pattern)


# -- the transforms: double backward, forward mode, vmap


def test_double_backward_matches_torch():
    xc, xt = _pair((2, 6, 3))
    pattern = "a (b c) d -> (d b) a c"
    for lib, x, f in ((cr, xc, rearrange), (torch, xt, torch.func.rearrange)):
        y = (f(x, pattern, c=2) ** 3).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (g * f(x, pattern, c=2).sum()).sum().backward()
    np.testing.assert_allclose(_np(xc.grad), _np(xt.grad), rtol=1e-12)


def test_forward_mode_and_vmap_match_torch():
    x, v = RNG.standard_normal((2, 4, 3)), RNG.standard_normal((2, 4, 3))
    pattern = "a (b c) d -> d (a c) b"
    res = []
    for lib, f in ((cr, rearrange), (torch, torch.func.rearrange)):
        xl, vl = lib.tensor(x), lib.tensor(v)
        out, tangent = lib.func.jvp(lambda t, f=f: f(t, pattern, b=2), (xl,), (vl,))
        batched = lib.func.vmap(lambda t, f=f: f(t, "(b c) d -> d c b", b=2), in_dims=1)(xl)
        res.append([_np(out), _np(tangent), _np(batched)])
    for got, want in zip(*res):
        np.testing.assert_array_equal(got, want)


# -- random patterns


@st.composite
def _patterns(draw):
    """A random split of the input's dimensions into axes, permuted and regrouped; with the
    reshape/transpose/reshape it means as the reference."""
    n = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    names = [f"x{i}" for i in range(n)]
    cuts = st.sets(st.integers(1, max(n - 1, 1)), max_size=n - 1)
    order = draw(st.permutations(range(n)))

    def groups(seq):
        bounds = [0, *sorted(draw(cuts)), len(seq)]
        return [seq[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]

    def side(gs):
        return " ".join("(" + " ".join(names[i] for i in g) + ")" for g in gs)

    left, right = groups(list(range(n))), groups(list(order))
    lengths = {names[i]: sizes[i] for g in left for i in g[:-1]}  # one inferred per group
    shape = tuple(int(np.prod([sizes[i] for i in g])) for g in left)
    out = tuple(int(np.prod([sizes[i] for i in g])) for g in right)

    def reference(x):
        return x.reshape(sizes).transpose(order).reshape(out)

    return f"{side(left)} -> {side(right)}", shape, lengths, reference


@settings(max_examples=40, deadline=None)
@given(_patterns())
def test_random_patterns_match_torch(case):
    pattern, shape, lengths, reference = case
    x = RNG.standard_normal(shape)
    got = rearrange(cr.tensor(x), pattern, **lengths).numpy()
    np.testing.assert_array_equal(got, reference(x))
    if len(shape) > 1:  # torch cannot split a 1-d input (see above)
        want = torch.func.rearrange(torch.tensor(x), pattern, **lengths).numpy()
        np.testing.assert_array_equal(got, want)


# -- errors: both raise; chainrule's message names the pattern and the problem

# (pattern, shape, axes_lengths, chainrule's error, torch's error class name, message part)
ERRORS = [
    (
        "a b (c1 c2) -> a b c1 c2",
        (2, 3, 4),
        {"c1": 3},
        ValueError,
        "DimensionBindError",
        "not divisible by 3",
    ),
    (
        "a b (c1 c2) -> a b c1 c2",
        (2, 3, 4),
        {},
        ValueError,
        "DimensionBindError",
        "cannot all be inferred",
    ),
    (
        "a b (c1 c2) -> a b c1 c2",
        (2, 3, 4),
        {"c1": 2, "c2": 3},
        ValueError,
        "DimensionBindError",
        r"give length 6",
    ),
    ("a b c -> a b c", (2, 3, 4), {"a": 3}, ValueError, "DimensionBindError", "a=3"),
    ("a b c -> a b c", (2, 3, 4), {"c": -4}, ValueError, "DimensionBindError", "negative"),
    ("a b c -> a b c", (2, 3, 4), {"d": 2}, ValueError, "ValueError", r"\['d'\]"),
    ("a b c -> a b d", (2, 3, 4), {}, ValueError, "ValueError", "one side only"),
    ("a b c -> a b c", (2, 3, 4), {"c": 4.0}, TypeError, "TypeError", "must be int"),
    ("a b c -> a b c", (2, 3, 4), {"c": True}, TypeError, "TypeError", "must be int"),
    ("a b c -> a b c", (2, 3, 4), {"c": np.int64(4)}, TypeError, "TypeError", "must be int"),
    ("a a c -> a c", (2, 3, 4), {}, ValueError, "ValueError", "'a' appears twice on the left"),
    ("a b c -> (a b) (a c)", (2, 3, 4), {}, ValueError, "ValueError", "twice on the right"),
    ("a b -> a b", (2, 3, 4), {}, ValueError, "ValueError", "describes 2 dimensions"),
    ("a b c d ... -> ... a b c d", (2, 3, 4), {}, ValueError, "ValueError", "at least 4"),
    ("a b c -> a b c ...", (2, 3, 4), {}, ValueError, "ValueError", "right side has an ell"),
    ("a ... -> a", (2, 3, 4), {}, ValueError, "ValueError", "left side has an ellipsis"),
    ("(...) -> ...", (2, 3, 4), {}, ValueError, "ValueError", "inside parentheses"),
    ("a ... ... -> a ...", (2, 3, 4), {}, ValueError, "ValueError", "more than one ellipsis"),
    ("a . b c -> a b c", (2, 3, 4), {}, ValueError, "ValueError", "dots"),
    ("a b c -> a b c 2", (2, 3, 4), {}, ValueError, "ValueError", "anonymous axis '2'"),
    ("a b c -> a b c 0", (2, 3, 4), {}, ValueError, "ValueError", "anonymous axis '0'"),
    ("a b c -> a b c ((d))", (2, 3, 4), {}, ValueError, "ValueError", "nested"),
    ("a b c -> a b (c", (2, 3, 4), {}, ValueError, "ValueError", "never closed"),
    ("a b c -> a b c)", (2, 3, 4), {}, ValueError, "ValueError", "closes no"),
    ("a b c -> a b c -> a", (2, 3, 4), {}, ValueError, "ValueError", "exactly once"),
    ("a b c", (2, 3, 4), {}, ValueError, "ValueError", "exactly once"),
    ("a b c -> a b c_", (2, 3, 4), {}, ValueError, "ValueError", "'c_' starts or ends"),
    ("a b c -> a b 1c", (2, 3, 4), {}, ValueError, "ValueError", "not a Python identifier"),
    ("a\tb c -> c a b", (2, 3, 4), {}, ValueError, "ValueError", "character"),
    ("a,b,c -> c a b", (2, 3, 4), {}, ValueError, "ValueError", "character ','"),
]


@pytest.mark.parametrize(("pattern", "shape", "lengths", "err", "torch_err", "msg"), ERRORS)
def test_errors_match_torch(pattern, shape, lengths, err, torch_err, msg):
    x = RNG.standard_normal(shape)
    with pytest.raises(Exception) as info:  # noqa: PT011 - the class is checked by name
        torch.func.rearrange(torch.tensor(x), pattern, **lengths)
    assert type(info.value).__name__ == torch_err
    with pytest.raises(err, match=msg) as info:
        rearrange(cr.tensor(x), pattern, **lengths)
    assert repr(pattern) in str(info.value)


def test_bad_arguments_raise_like_torch():
    x, t = cr.ones(2, 3), torch.ones(2, 3)
    for lib_fn, arg, exc in (
        (torch.func.rearrange, [], RuntimeError),
        (rearrange, [], RuntimeError),
        (torch.func.rearrange, [t, torch.ones(2, 4)], RuntimeError),
        (rearrange, [x, cr.ones(2, 4)], RuntimeError),
        (torch.func.rearrange, [[1.0, 2.0]], TypeError),
        (rearrange, [[1.0, 2.0]], TypeError),
        (torch.func.rearrange, np.ones((2, 3)), TypeError),
        (rearrange, np.ones((2, 3)), TypeError),
    ):
        with pytest.raises(exc):
            lib_fn(arg, "n a b -> a b n" if isinstance(arg, list) else "a b -> b a")
    with pytest.raises(TypeError, match="pattern must be a str"):
        rearrange(x, 123)


def test_keyword_axis_name_warns_like_torch():
    with pytest.warns(RuntimeWarning, match="keyword"):
        torch.func.rearrange(torch.ones(2, 3), "for b -> b for")
    with pytest.warns(RuntimeWarning, match="keyword"):
        y = rearrange(cr.ones(2, 3), "while b -> b while")
    assert tuple(y.shape) == (3, 2)


def test_plans_are_cached():
    x = cr.ones(4, 6)
    rearrange(x, "a (b c) -> c a b", b=2)
    hits = _plan.cache_info().hits
    y = rearrange(x, "a (b c) -> c a b", b=2)
    assert _plan.cache_info().hits == hits + 1
    assert tuple(y.shape) == (3, 4, 2)
