"""Gaps found by the session-35 (batch b) drop-in programs (``rbm_contrastive_divergence``,
``sliced_score_matching``, ``neuralsort_softsort``, ``fastspeech2_variance_specaugment``,
``ddsp_harmonic_synth``, ``iqn_quantile_huber``, ``rnd_icm_curiosity``,
``gflownet_trajectory_balance``, ``concrete_dropout``, ``hubert_masked_prediction``), each
checked against PyTorch.

The programs matched PyTorch as first written; probing the APIs around their idioms found
these differences, now closed:

- random draws from tensor parameters stay in the graph as PyTorch keeps them: ``bernoulli(p)``
  / ``p.bernoulli()`` (``BernoulliBackward0``), ``normal(mean, std)`` (``NormalBackward1``,
  ``2``, ``3`` by which argument is a tensor) and ``poisson(rates)`` (``PoissonBackward0``)
  require grad when a parameter does, with zero gradients and zero tangents (an RBM's
  ``torch.bernoulli(torch.sigmoid(F.linear(v, W, b)))`` used to be a constant, so a backward
  reaching only it raised "does not require grad"); ``bernoulli(x, p)`` / ``x.bernoulli(p)``
  and ``binomial`` are recorded under PyTorch's node that raises "derivative for
  aten::bernoulli (aten::binomial) is not implemented"; ``out=`` with a parameter that
  requires grad raises PyTorch's "functions with out=... arguments don't support automatic
  differentiation".
- the in-place fills (``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``, ``cauchy_``,
  ``log_normal_``, ``geometric_``, ``random_``) on a tensor in the graph raised "in-place
  writes into a tensor that requires grad are not recorded"; PyTorch records them as one
  node with a zero gradient (``UniformBackward0``, ``BernoulliBackward1``/``2``,
  ``RandomBackward0``/``1``/``2``, ...; a view's base gets ``CopySlices``), also for
  ``bernoulli_`` with a tensor ``p`` that requires grad, and zeroes a forward-mode tangent.
- ``torch.tensor`` / ``as_tensor`` / the legacy ``FloatTensor`` of a (nested) list holding
  NumPy arrays (RL code's ``torch.FloatTensor([obs1, obs2])``) give PyTorch's once-per-process
  UserWarning "Creating a tensor from a list of numpy.ndarrays is extremely slow" (not for
  an empty result or NumPy scalars).
- ``normal`` with a complex ``mean`` tensor draws complex values about it (was cast to real,
  dropping the imaginary part with a warning); a complex ``std`` raises "normal expects
  standard deviation to be non-complex"; a complex result of parameters that require grad
  raises PyTorch's error.
- ``randint`` / ``randint_like`` check ``low`` and ``high - 1`` against the result's dtype as
  PyTorch does ("to - 1 is out of bounds for signed char"; ``bool`` takes only [0, 2); a
  floating dtype warns past the integers it represents exactly); they wrapped around.
- ``repeat_interleave`` with a floating or bool tensor of repeats raises NotImplementedError
  (PyTorch's type; was RuntimeError).
- ``angle`` of an integer or bool tensor is in the default floating dtype (was float32).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pytest
from _forked import run_forked

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


@pytest.fixture(autouse=True)
def _float64() -> Any:
    prev = (torch.get_default_dtype(), chainrule.get_default_dtype())
    torch.set_default_dtype(torch.float64)
    chainrule.set_default_dtype(chainrule.float64)
    yield
    torch.set_default_dtype(prev[0])
    chainrule.set_default_dtype(prev[1])


def _draw_nodes(m: Any) -> tuple[list[str], list[list[float]]]:
    m.manual_seed(0)
    p = m.rand(3, requires_grad=True)
    draws = [
        m.bernoulli(p), p.bernoulli(), m.normal(p, 1.0), m.normal(1.0, p), m.normal(p, p),
        m.normal(p, m.ones(3)), m.poisson(p),
    ]  # fmt: skip
    names = [d.grad_fn.name() for d in draws]
    grads = []
    for d in draws:
        (g,) = m.autograd.grad((d * 3).sum(), p)
        grads.append(g.tolist())
    return names, grads


def test_draws_from_parameters_stay_in_the_graph_with_zero_gradients() -> None:
    assert _draw_nodes(chainrule) == _draw_nodes(torch)
    names, grads = _draw_nodes(chainrule)
    assert names[0] == "BernoulliBackward0" and names[2:5] == [
        "NormalBackward1", "NormalBackward2", "NormalBackward3"
    ]  # fmt: skip
    assert all(v == 0.0 for g in grads for v in g)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_rbm_bernoulli_sample_backward_reaches_the_weights(m: Any) -> None:
    m.manual_seed(1)
    W = m.nn.Parameter(m.randn(3, 4) * 0.1)
    v = m.rand(2, 4)
    h = m.bernoulli(m.sigmoid(m.nn.functional.linear(v, W)))
    assert h.requires_grad and h.grad_fn.name() == "BernoulliBackward0"
    (h * 2).sum().backward()
    assert W.grad is not None and W.grad.abs().sum().item() == 0.0


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_draws_under_no_grad_and_from_constants_do_not_require_grad(m: Any) -> None:
    p = m.rand(3, requires_grad=True)
    with m.no_grad():
        assert not m.bernoulli(p).requires_grad
        assert not m.normal(p, 1.0).requires_grad
        assert not m.poisson(p).requires_grad
    assert m.bernoulli(p.detach()).grad_fn is None
    assert not m.distributions.Bernoulli(p).sample().requires_grad
    assert not m.distributions.Poisson(p).sample().requires_grad


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_number_p_bernoulli_and_binomial_raise_on_backward(m: Any) -> None:
    p = m.rand(3, requires_grad=True)
    count = m.full((3,), 4.0, requires_grad=True)
    for y, op in [
        (m.bernoulli(p, 0.3), "bernoulli"),
        (p.bernoulli(0.3), "bernoulli"),
        (m.binomial(count, m.full((3,), 0.5)), "binomial"),
        (m.binomial(m.full((3,), 4.0), p), "binomial"),
    ]:
        assert y.requires_grad and y.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match=f"derivative for aten::{op} is not implemented"):
            y.sum().backward()


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_draws_with_out_refuse_a_parameter_that_requires_grad(m: Any) -> None:
    p = m.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        m.bernoulli(p, out=m.empty(3))
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        m.normal(p, 1.0, out=m.empty(3))
    with m.no_grad():
        assert m.bernoulli(p, out=m.empty(3)).shape == (3,)


def test_draw_tangents_are_zero() -> None:
    got = []
    for m in BOTH:
        fa = m.autograd.forward_ad
        m.manual_seed(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own jit deprecation warnings
            with fa.dual_level():
                d = fa.make_dual(m.rand(3), m.ones(3))
                outs = [m.bernoulli(d), m.poisson(d), m.normal(d, 1.0)]
                got.append([fa.unpack_dual(o).tangent.tolist() for o in outs])
    assert got[0] == got[1] == [[0.0] * 3] * 3


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_number_p_bernoulli_has_no_forward_derivative(m: Any) -> None:
    fa = m.autograd.forward_ad
    with fa.dual_level():
        d = fa.make_dual(m.rand(3), m.ones(3))
        with pytest.raises(NotImplementedError, match="forward AD with aten::bernoulli"):
            m.bernoulli(d, 0.5)


def test_normal_with_a_complex_mean_draws_about_it() -> None:
    got = []
    for m in BOTH:
        m.manual_seed(3)
        a = m.normal(m.full((3,), 1 + 2j, dtype=m.complex128), 1.0)
        b = m.normal(m.full((2,), -1j, dtype=m.complex128), m.full((2,), 2.0))
        got.append((str(a.dtype), a.numpy(), b.numpy()))
    assert got[0][0].split(".")[-1] == got[1][0].split(".")[-1] == "complex128"
    np.testing.assert_allclose(got[1][1], got[0][1], rtol=1e-12)
    np.testing.assert_allclose(got[1][2], got[0][2], rtol=1e-12)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_normal_complex_errors(m: Any) -> None:
    with pytest.raises(RuntimeError, match="standard deviation to be non-complex"):
        m.normal(0.0, m.ones(3, dtype=m.complex64))
    p = m.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="automatic differentiation for outputs with complex"):
        m.normal(p.to(m.complex128), 1.0)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize(
    "low, high, dtype, label, kind",
    [
        (0, 300, "int8", "to - 1", "signed char"),
        (-200, 5, "int8", "from", "signed char"),
        (0, 257, "uint8", "to - 1", "unsigned char"),
        (-1, 5, "uint8", "from", "unsigned char"),
        (0, 70000, "int16", "to - 1", "short int"),
        (0, 2**31 + 1, "int32", "to - 1", "int"),
        (0, 3, "bool", "to - 1", "bool"),
        (-(2**30), 5, "float16", "from", "c10::Half"),
    ],
)
def test_randint_bounds_must_fit_the_dtype(m, low, high, dtype, label, kind) -> None:
    dt = getattr(m, dtype)
    with pytest.raises(RuntimeError, match=f"^{label} is out of bounds for {kind}$"):
        m.randint(low, high, (2,), dtype=dt)
    with pytest.raises(RuntimeError, match=f"^{label} is out of bounds for {kind}$"):
        m.randint_like(m.zeros(2, dtype=dt), low, high)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_randint_bounds_that_fit(m: Any) -> None:
    assert m.randint(0, 256, (4,), dtype=m.uint8).dtype == m.uint8
    assert m.randint(-128, 128, (4,), dtype=m.int8).dtype == m.int8
    assert m.randint(0, 2, (4,), dtype=m.bool).dtype == m.bool
    assert m.randint(0, 2**31, (2,), dtype=m.int32).dtype == m.int32
    with pytest.raises(RuntimeError, match="out of bounds for signed char"):
        m.randint(0, 300, (2,), out=m.empty(2, dtype=m.int8))
    with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^24\), 2\^24\]"):
        m.randint(0, 2**24 + 2, (2,), dtype=m.float32)


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_repeat_interleave_floating_repeats_not_implemented(m: Any) -> None:
    with pytest.raises(NotImplementedError):
        m.repeat_interleave(m.arange(3.0), m.tensor([1.0, 2.0, 1.0]), dim=0)
    with pytest.raises(NotImplementedError):
        m.repeat_interleave(m.arange(3.0), m.tensor([True, False, True]), dim=0)
    with pytest.raises(NotImplementedError):
        m.repeat_interleave(m.tensor([1.0, 2.0]))
    assert m.repeat_interleave(m.arange(3.0), m.tensor([1, 0, 2]), dim=0).tolist() == [0, 2, 2]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_angle_of_integers_is_in_the_default_dtype(m: Any) -> None:
    out = m.angle(m.tensor([-1, 2]))
    assert out.dtype == m.float64
    assert out.tolist() == pytest.approx([np.pi, 0.0])
    assert m.angle(m.tensor([True, False])).dtype == m.float64
    m.set_default_dtype(m.float32)
    assert m.tensor([-1, 2]).angle().dtype == m.float32


_FILLS = {
    "uniform_": (lambda m, t: t.uniform_(-1, 2), "UniformBackward0"),
    "normal_": (lambda m, t: t.normal_(0.5, 2.0), "NormalBackward0"),
    "bernoulli_": (lambda m, t: t.bernoulli_(0.3), "BernoulliBackward2"),
    "bernoulli_tensor": (lambda m, t: t.bernoulli_(m.rand(3)), "BernoulliBackward1"),
    "exponential_": (lambda m, t: t.exponential_(2.0), "ExponentialBackward0"),
    "cauchy_": (lambda m, t: t.cauchy_(), "CauchyBackward0"),
    "log_normal_": (lambda m, t: t.log_normal_(), "LogNormalBackward0"),
    "geometric_": (lambda m, t: t.geometric_(0.5), "GeometricBackward0"),
    "random_": (lambda m, t: t.random_(), "RandomBackward2"),
    "random_to": (lambda m, t: t.random_(5), "RandomBackward1"),
    "random_from_to": (lambda m, t: t.random_(1, 5), "RandomBackward0"),
}


@pytest.mark.parametrize("fill", sorted(_FILLS))
def test_inplace_fill_of_a_graph_tensor_is_one_zero_gradient_node(fill: str) -> None:
    fn, node = _FILLS[fill]
    got = []
    for m in BOTH:
        m.manual_seed(4)
        p = m.rand(3, requires_grad=True)
        y = p * 1
        assert fn(m, y) is y
        (y * 2).sum().backward()
        got.append((y.grad_fn.name(), p.grad.tolist(), y.detach().numpy(), m.rand(2).numpy()))
    assert got[0][0] == got[1][0] == node
    assert got[0][1] == got[1][1] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(got[1][2], got[0][2], rtol=1e-12)  # the same draws
    np.testing.assert_allclose(got[1][3], got[0][3], rtol=1e-12)  # the stream after them


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_inplace_fill_errors_and_views(m: Any) -> None:
    leaf = m.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf (Variable|tensor) that requires grad"):
        leaf.uniform_()
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        (leaf * 1).normal_(0.0, -1.0)
    y = leaf * 1
    z = y * y  # saves y, which the fill then overwrites
    y.normal_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place"):
        z.sum().backward()
    y = leaf * 1
    y[:2].uniform_()
    assert y.grad_fn.name().endswith("CopySlices")
    (y * 3).sum().backward()
    assert leaf.grad.tolist() == [0.0, 0.0, 3.0]
    q = m.rand(3, requires_grad=True)
    drawn = m.zeros(3).bernoulli_(q)
    assert drawn.requires_grad and drawn.grad_fn.name() == "BernoulliBackward1"
    kept = leaf * 1
    with m.no_grad():
        kept.uniform_()
    assert kept.grad_fn.name() == "MulBackward0"


def test_inplace_fill_zeroes_a_forward_tangent() -> None:
    got = []
    for m in BOTH:
        fa = m.autograd.forward_ad
        m.manual_seed(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own jit deprecation warnings
            with fa.dual_level():
                d = fa.make_dual(m.rand(3), m.ones(3))
                d.uniform_()
                got.append(fa.unpack_dual(d).tangent.tolist())
    assert got[0] == got[1] == [0.0, 0.0, 0.0]


_LIST_OF_ARRAYS_CALLS = [
    "m.tensor([[1.0, 2.0], np.ones(2)])",
    "m.as_tensor([np.ones(2)], dtype=m.float32)",
]

# One case, in a process of its own: the first list-of-arrays call warns, the second not.
_LIST_OF_ARRAYS_CASE = """
for make in [lambda: m.tensor([[1.0], [2.0]]), lambda: m.tensor([np.float64(1), 2.0]),
             lambda: m.tensor([np.ones((2, 0))]), lambda: {call}, lambda: {call}]:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        make()
    print([str(x.message).split(" (Triggered")[0] for x in w])
"""


@functools.cache
def _list_of_arrays_warnings(mod: str) -> list[list[str]]:
    """Per case of :data:`_LIST_OF_ARRAYS_CALLS`, the lines it prints in a fresh process state
    (one interpreter imports ``mod``, then forks one child per case)."""
    bodies = [_LIST_OF_ARRAYS_CASE.format(call=call) for call in _LIST_OF_ARRAYS_CALLS]
    outs = run_forked(f"import warnings, numpy as np\nimport {mod} as m", bodies)
    return [out.splitlines() for out in outs]


@pytest.mark.parametrize("case", range(len(_LIST_OF_ARRAYS_CALLS)), ids=_LIST_OF_ARRAYS_CALLS)
def test_list_of_numpy_arrays_warns_once(case: int) -> None:
    out = [_list_of_arrays_warnings(mod)[case] for mod in ("torch", "chainrule")]
    assert out[1] == out[0]
    assert out[0][:3] == ["[]"] * 3 and out[0][4] == "[]"
    assert "list of numpy.ndarrays is extremely slow" in out[0][3]
