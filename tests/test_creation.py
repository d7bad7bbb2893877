"""Creation functions vs PyTorch (shapes, dtypes, values) and random reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr

DETERMINISTIC = [
    ("zeros", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3), dtype=m.int64)),
    ("ones", lambda m: m.ones(4)),
    ("ones_f64", lambda m: m.ones(2, 2, dtype=m.float64)),
    ("full_float", lambda m: m.full((2, 2), 1.5)),
    ("full_int", lambda m: m.full((3,), 7)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("arange_int", lambda m: m.arange(5)),
    ("arange_start_step", lambda m: m.arange(1, 10, 3)),
    ("arange_float", lambda m: m.arange(0, 1, 0.25)),
    ("arange_dtype", lambda m: m.arange(4, dtype=m.float64)),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("linspace_f64", lambda m: m.linspace(-1, 1, 3, dtype=m.float64)),
    ("eye", lambda m: m.eye(3)),
    ("eye_rect", lambda m: m.eye(2, 4)),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64))),
    ("ones_like_int", lambda m: m.ones_like(m.arange(3))),
    ("full_like", lambda m: m.full_like(m.ones(2), 3.0)),
    ("ones_like_dtype", lambda m: m.ones_like(m.arange(3), dtype=m.float32)),
]


@pytest.mark.parametrize("name,fn", DETERMINISTIC, ids=[d[0] for d in DETERMINISTIC])
def test_creation_matches_torch(name, fn):
    out, ref = fn(cr), fn(torch)
    assert out.shape == tuple(ref.shape)
    assert str(out.dtype) == str(ref.dtype)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


def test_empty_shapes_and_dtypes():
    assert cr.empty(2, 3).shape == (2, 3) and cr.empty(2).dtype == cr.float32
    assert cr.empty_like(cr.ones(4, dtype=cr.int32)).dtype == cr.int32
    assert cr.zeros(0, 3).numel() == 0


def test_requires_grad_at_creation():
    for t in (
        cr.zeros(2, requires_grad=True),
        cr.ones(2, requires_grad=True),
        cr.randn(2, requires_grad=True),
        cr.full((2,), 1.0, requires_grad=True),
        cr.arange(0.0, 2.0, requires_grad=True),
    ):
        assert t.requires_grad and t.is_leaf
    with pytest.raises(TypeError):
        cr.arange(3, requires_grad=True)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("rand", lambda: cr.rand(3, 4)),
        ("randn", lambda: cr.randn(3, 4)),
        ("randint", lambda: cr.randint(0, 10, (3, 4))),
        ("normal", lambda: cr.normal(2.0, 3.0, (3,))),
        ("randperm", lambda: cr.randperm(6)),
        ("rand_like", lambda: cr.rand_like(cr.ones(2))),
        ("randn_like", lambda: cr.randn_like(cr.ones(2, dtype=cr.float64))),
    ],
)
def test_random_reproducible_with_manual_seed(name, fn):
    cr.manual_seed(123)
    a = fn()
    cr.manual_seed(123)
    b = fn()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = fn()
    assert not np.array_equal(a.numpy(), c.numpy())


def test_random_dtypes_shapes_ranges():
    assert cr.rand(2, 3).dtype == cr.float32 and cr.randn(5).shape == (5,)
    r = cr.randint(3, 7, (1000,))
    assert r.dtype == cr.int64 and r.numpy().min() >= 3 and r.numpy().max() <= 6
    assert cr.randint(5, (2, 2)).shape == (2, 2)
    u = cr.rand(10000)
    assert 0 <= u.numpy().min() and u.numpy().max() < 1 and abs(u.numpy().mean() - 0.5) < 0.02
    n = cr.randn(20000, dtype=cr.float64)
    assert n.dtype == cr.float64 and abs(n.numpy().std() - 1) < 0.03
    m = cr.normal(cr.tensor([0.0, 100.0]), cr.tensor([1.0, 0.001]))
    assert m.shape == (2,) and abs(m[1].item() - 100) < 0.1
    assert sorted(cr.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_generator_objects_are_independent_and_reproducible():
    g1 = cr.Generator().manual_seed(7)
    g2 = cr.Generator().manual_seed(7)
    a = cr.randn(4, generator=g1)
    cr.randn(10)  # the default stream does not disturb g2
    b = cr.randn(4, generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    state = g1.get_state()
    x = cr.rand(3, generator=g1)
    g1.set_state(state)
    np.testing.assert_array_equal(cr.rand(3, generator=g1).numpy(), x.numpy())
    assert state.dtype == cr.uint8 and state.dim() == 1  # a ByteTensor, as torch's


def test_rng_state_roundtrip():
    cr.manual_seed(1)
    st = cr.get_rng_state()
    a = cr.randn(3)
    cr.set_rng_state(st)
    np.testing.assert_array_equal(cr.randn(3).numpy(), a.numpy())
    assert cr.manual_seed(99).initial_seed() == 99


def test_as_tensor_avoids_copy():
    a = np.ones(3, dtype=np.float32)
    t = cr.as_tensor(a)
    a[0] = 5
    assert t[0].item() == 5
    assert cr.as_tensor(t) is t


def test_negative_size_is_an_error():
    with pytest.raises(ValueError, match="negative"):
        cr.zeros(-1, 2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_is_pytorchs_bit_for_bit(dtype):
    """linspace: the step rounded to the dtype, each half a fused multiply-add from its end,
    as PyTorch's CPU kernel (random ranges and lengths, bit patterns compared)."""
    rng = np.random.default_rng(7)
    cases = [(0, 1, 5), (-1, 1, 7), (3, -2, 100), (5, 5, 4), (1e6, 1e6 + 1, 17), (0, 1, 2)]
    cases += [(*rng.uniform(-100, 100, 2), int(rng.integers(2, 1500))) for _ in range(200)]
    bits = np.int32 if dtype == "float32" else np.int64
    for a, b, n in cases:
        expected = torch.linspace(a, b, n, dtype=getattr(torch, dtype)).numpy().view(bits)
        got = cr.linspace(a, b, n, dtype=getattr(cr, dtype)).numpy().view(bits)
        np.testing.assert_array_equal(got, expected)


def _linspace_both(a, b, n, dtype):
    """(torch, chainrule) linspace values as float64/complex128 NumPy arrays."""
    t = torch.linspace(a, b, n, dtype=getattr(torch, dtype))
    c = cr.linspace(a, b, n, dtype=getattr(cr, dtype))
    if dtype in ("float16", "bfloat16"):
        return t.double().numpy(), c.double().numpy()
    return t.numpy(), np.asarray(c.numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "complex64", "complex128"])
def test_linspace_other_float_dtypes_are_pytorchs(dtype):
    """float16/bfloat16 round the product and the sum separately; complex is the fused rule
    per component: equal to torch on random ranges (bit for bit: exact equality)."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        a, b = rng.uniform(-10, 10, 2) * 10.0 ** rng.integers(-3, 3)
        if dtype.startswith("complex"):
            a, b = complex(a, rng.uniform(-5, 5)), complex(b, rng.uniform(-5, 5))
        expected, got = _linspace_both(a, b, int(rng.integers(2, 40)), dtype)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "complex64"])
@pytest.mark.parametrize(
    "a, b, n",
    [
        (0, math.inf, 5),
        (-math.inf, math.inf, 5),
        (math.inf, math.inf, 3),
        (math.nan, 1, 4),
        (0, math.nan, 4),
        (1, math.inf, 1),
        (math.inf, 0, 2),
        (3.0, -math.inf, 4),
        (-1e308, 1e308, 3),
    ],
)
def test_linspace_non_finite_ends_follow_ieee_as_torch(a, b, n, dtype):
    """inf/nan ends: NaN where torch's formula meets ``0 * inf`` or ``inf - inf``, no warning
    (the suite turns warnings into errors), the same values as torch; a finite end the dtype
    cannot hold (1e308 in float32) raises as in torch."""
    try:
        torch.linspace(a, b, n, dtype=getattr(torch, dtype))
    except RuntimeError:
        with pytest.raises(RuntimeError, match="linspace.*without overflow"):
            cr.linspace(a, b, n, dtype=getattr(cr, dtype))
        return
    expected, got = _linspace_both(a, b, n, dtype)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "a, b, dtype",
    [(0, math.inf, "int64"), (math.nan, 1, "int64"), (0, 1e20, "int64"), (0, 300, "int8")],
)
def test_integer_linspace_with_an_end_the_dtype_cannot_hold_raises_as_torch(a, b, dtype):
    """Non-finite or out-of-range ends (NumPy would wrap 300 around in int8)."""
    with pytest.raises(RuntimeError):
        torch.linspace(a, b, 4, dtype=getattr(torch, dtype))
    with pytest.raises(RuntimeError, match=f"linspace.*{dtype}.*without overflow"):
        cr.linspace(a, b, 4, dtype=getattr(cr, dtype))


def test_fork_rng_restores_the_default_generator_as_torch():
    got = {}
    for lib in (torch, cr):
        lib.manual_seed(0)
        with lib.random.fork_rng():
            inside = lib.rand(3).tolist()
        after = lib.rand(3).tolist()
        with lib.random.fork_rng(enabled=False):
            lib.rand(1)
        got[lib.__name__] = (inside == after, lib.rand(1).item() != after[0])
    assert got["chainrule"] == got["torch"] == (True, True)
    with pytest.raises(RuntimeError, match="no GPU is available"), cr.random.fork_rng(devices=[0]):
        pass


def test_linspace_checks_only_the_ends_it_uses_as_torch():
    for lib in (torch, cr):
        assert lib.linspace(1, math.inf, 1, dtype=lib.int64).tolist() == [1]
        assert lib.linspace(math.inf, math.inf, 0, dtype=lib.int64).tolist() == []
        with pytest.raises(RuntimeError):
            lib.linspace(math.inf, 1, 1, dtype=lib.int64)
