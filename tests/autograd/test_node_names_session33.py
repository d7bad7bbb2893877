"""Node names of in-place methods and a few ops, as PyTorch's (session 33): the whole graph
along ``next_functions`` (names and ``_saved_*`` fields), the values and the gradients, on a
non-leaf ``x = a * 1``, compared live with torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

BASE = [0.3, 1.5, 2.2, -0.7]
ABOVE_ONE = [1.3, 1.5, 2.2, 3.0]
IN_UNIT = [0.3, -0.5, 0.2, 0.7]
POSITIVE = [0.3, 1.5, 2.2, 0.7]
T4 = np.array([1.0, -1.0, 1.0, -1.0])
MASK = np.array([1.0, 0.0, 1.0, 0.0])
DIVISOR = np.array([0.7, -0.4, 0.9, 0.3])


def describe(fn):
    """(name, sorted _saved_ names, children) of ``fn`` and what it lists, recursively."""
    if fn is None:
        return None
    saved = tuple(sorted(a for a in dir(fn) if a.startswith("_saved_")))
    return fn.name(), saved, tuple((describe(n), i) for n, i in fn.next_functions)


def run(lib, method, args, base, backward=True):
    """``getattr(a * 1, method)(*args)``: its graph, value and ``a``'s gradient."""
    dtype = lib.float64
    a = lib.tensor(np.array(base), dtype=dtype, requires_grad=True)
    args = [lib.tensor(v, dtype=dtype) if isinstance(v, np.ndarray) else v for v in args]
    y = getattr(a * 1, method)(*args)
    graph = describe(y.grad_fn)
    value = y.detach().numpy().copy()
    grad = None
    if backward and y.requires_grad:
        y.sum().backward()
        grad = a.grad.numpy().copy()
    return graph, value, grad


CASES = [
    ("copysign_", (T4,), BASE),
    ("copysign_", (-1.0,), BASE),
    ("polygamma_", (0,), POSITIVE),
    ("polygamma_", (1,), POSITIVE),
    ("polygamma_", (2,), POSITIVE),
    ("clamp_min_", (0.0,), BASE),
    ("clamp_max_", (1.0,), BASE),
    ("clamp_min_", (np.zeros(4),), BASE),
    ("clamp_max_", (np.ones(4),), BASE),
    ("fill_", (2.0,), BASE),
    ("fill_", (np.array(2.0),), BASE),
    ("zero_", (), BASE),
    ("fmod_", (0.7,), BASE),
    ("fmod_", (DIVISOR,), BASE),
    ("remainder_", (0.7,), BASE),
    ("remainder_", (DIVISOR,), BASE),
    ("conj_physical_", (), BASE),
    ("deg2rad_", (), BASE),
    ("rad2deg_", (), BASE),
    ("square_", (), BASE),
    ("xlogy_", (2.0,), POSITIVE),
    ("xlogy_", (T4 + 2,), POSITIVE),
    ("deg2rad", (), BASE),
    ("rad2deg", (), BASE),
    ("square", (), BASE),
    ("xlogy", (2.0,), POSITIVE),
    ("fmod", (DIVISOR,), BASE),
    ("remainder", (-0.7,), BASE),
    ("polygamma", (1,), POSITIVE),
]
CASES += [(f"{op}_", (1.0,), BASE) for op in ("eq", "ne", "gt", "ge", "lt", "le")]
CASES += [(f"{op}_", (MASK,), BASE) for op in ("eq", "ne", "less", "greater_equal")]
CASES += [(f"logical_{op}_", (MASK,), BASE) for op in ("and", "or", "xor")]
CASES += [("logical_not_", (), BASE)]


@pytest.mark.parametrize(("method", "args", "base"), CASES, ids=lambda v: str(v)[:20])
def test_graph_values_and_gradients_as_torch(method, args, base):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_graph, t_value, t_grad = run(torch, method, args, base)
        c_graph, c_value, c_grad = run(cr, method, args, base)
    assert c_graph == t_graph
    # (torch's polygamma(1, x) is accurate to ~1e-10 only)
    np.testing.assert_allclose(c_value, t_value, rtol=1e-8, atol=0)
    if t_grad is None:
        assert c_grad is None
    else:
        np.testing.assert_allclose(c_grad, t_grad, rtol=1e-8, atol=0)


# torch's in-place inverse hyperbolics have no derivative ("not implemented"); chainrule's
# keep the out-of-place one: the graph is torch's, the gradient the out-of-place op's
@pytest.mark.parametrize(
    ("method", "base"),
    [
        ("acosh_", ABOVE_ONE),
        ("arccosh_", ABOVE_ONE),
        ("asinh_", BASE),
        ("arcsinh_", BASE),
        ("atanh_", IN_UNIT),
        ("arctanh_", IN_UNIT),
    ],
)
def test_inverse_hyperbolic_in_place_nodes(method, base):
    t_graph, t_value, _ = run(torch, method, (), base, backward=False)
    c_graph, c_value, c_grad = run(cr, method, (), base)
    assert c_graph == t_graph
    np.testing.assert_allclose(c_value, t_value, rtol=1e-15)
    a = torch.tensor(base, dtype=torch.float64, requires_grad=True)
    getattr(torch, method.rstrip("_"))(a).sum().backward()
    np.testing.assert_allclose(c_grad, a.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("method", ["igamma_", "igammac_"])
def test_igamma_in_place_nodes(method):
    other = np.array([0.5, 1.0, 2.0, 3.0])
    t_graph, t_value, _ = run(torch, method, (other,), ABOVE_ONE, backward=False)
    c_graph, c_value, _ = run(cr, method, (other,), ABOVE_ONE, backward=False)
    assert c_graph == t_graph
    np.testing.assert_allclose(c_value, t_value, rtol=1e-12)


def _saved(lib, make):
    a = lib.tensor(np.array(BASE), dtype=lib.float64, requires_grad=True)
    node = make(lib, a * 1).grad_fn
    out = {}
    for name in (n for n in dir(node) if n.startswith("_saved_")):
        v = getattr(node, name)
        out[name] = v.tolist() if hasattr(v, "tolist") else v
    return out


@pytest.mark.parametrize(
    "make",
    [
        lambda m, x: x.clamp_min_(0.0),
        lambda m, x: x.clamp_max_(m.full((4,), 1.0, dtype=m.float64)),
        lambda m, x: x.abs().polygamma_(1),
        lambda m, x: m.polygamma(2, x.abs()),
        lambda m, x: m.square(x),
        lambda m, x: m.xlogy(x, 3.0),
        lambda m, x: m.fmod(x, m.full((4,), 0.7, dtype=m.float64)),
        lambda m, x: x.fill_(1.5),
    ],
)
def test_saved_fields_as_torch(make):
    assert _saved(cr, make) == _saved(torch, make)


def test_logical_in_place_is_not_recorded():
    for lib in (torch, cr):
        a = lib.tensor(BASE, dtype=lib.float64, requires_grad=True)
        a.logical_and_(lib.tensor(MASK, dtype=lib.float64))  # a leaf may be written
        assert a.grad_fn is None and a.requires_grad and a._version == 1
        x = a * 1
        node = x.grad_fn
        x.logical_not_()
        assert x.grad_fn is node and x._version == 1


def test_fill_with_a_tensor_value_gives_it_the_gradient():
    grads = []
    for lib in (torch, cr):
        a = lib.tensor(BASE, dtype=lib.float64, requires_grad=True)
        v = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
        y = (a * 1).fill_(v * 3)
        assert y.grad_fn.name() == "FillBackward3" and len(y.grad_fn.next_functions) == 2
        (y * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
        grads.append((a.grad.tolist(), v.grad.item()))
    assert grads[0] == grads[1]


def test_fill_forward_tangent():
    import chainrule.autograd.forward_ad as fwad

    x = cr.tensor(BASE, dtype=cr.float64)
    with fwad.dual_level():
        d = fwad.make_dual(x.clone(), cr.ones(4, dtype=cr.float64))
        v = fwad.make_dual(cr.tensor(2.0, dtype=cr.float64), cr.tensor(5.0, dtype=cr.float64))
        (d * 1).fill_(v)
        y = (d * 1).fill_(v)
        assert fwad.unpack_dual(y).tangent.tolist() == [5.0] * 4
        z = (d * 1).zero_()
        assert fwad.unpack_dual(z).tangent.tolist() == [0.0] * 4


def test_complex_conj_physical_nodes():
    names = []
    for lib in (torch, cr):
        c = lib.tensor([1 + 1j, 2 - 1j], requires_grad=True)
        y = lib.conj_physical(c * 1)
        x = c * 1
        x.conj_physical_()
        x.abs().sum().backward()
        names.append((y.grad_fn.name(), x.grad_fn.name(), x.tolist(), c.grad.tolist()))
    assert names[0] == names[1]


@pytest.mark.parametrize("op", ["fmod", "remainder"])
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((3, 1), (1, 4)), ((4,), ())])
def test_fmod_remainder_one_node_broadcasting(op, shapes):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal(shapes[0]) * 5, rng.standard_normal(shapes[1]) * 2
    G = rng.standard_normal(np.broadcast_shapes(*shapes))
    out = []
    for lib in (torch, cr):
        a = lib.tensor(A, requires_grad=True)
        b = lib.tensor(B, requires_grad=True)
        y = getattr(lib, op)(a * 1, b * 1)
        y.backward(lib.tensor(G))
        out.append((describe(y.grad_fn), y.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    assert out[0][0] == out[1][0]
    for t, c in zip(out[0][1:], out[1][1:]):
        np.testing.assert_allclose(c, t, rtol=1e-12)


@pytest.mark.parametrize(("x_grad", "other_grad"), [(True, True), (False, True), (True, False)])
def test_tensor_comparison_lists_self_and_other(x_grad, other_grad):
    graphs = []
    for lib in (torch, cr):
        a = lib.tensor(BASE, dtype=lib.float64, requires_grad=x_grad)
        b = lib.tensor(MASK, dtype=lib.float64, requires_grad=other_grad)
        y = (a * 1).gt_(b * 1)
        graphs.append((describe(y.grad_fn), y.tolist()))
    assert graphs[0] == graphs[1]


@pytest.mark.parametrize("other_grad", [True, False])
def test_xlogy_lists_both_tensors(other_grad):
    graphs = []
    for lib in (torch, cr):
        a = lib.tensor(BASE, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(POSITIVE, dtype=lib.float64, requires_grad=other_grad)
        y, z = lib.xlogy(a * 1, b), lib.xlogy(2.0, a * 1)
        graphs.append((describe(y.grad_fn), describe(z.grad_fn)))
    assert graphs[0] == graphs[1]


def test_fill_of_a_constant_with_a_value_requiring_grad_is_recorded():
    out = []
    for lib in (torch, cr):
        v = lib.tensor(2.0, requires_grad=True)
        x = lib.zeros(3)
        x.fill_(v)
        (x * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        out.append((x.grad_fn.name(), x.requires_grad, v.grad.item(), x.tolist()))
    assert out[0] == out[1]
