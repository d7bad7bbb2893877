"""Session 40: every first-order array path asks ``ops/_first_order.py`` (one rule), and a
layout mark keeps a rule on the recorded path only where it can reach the rule's arrays.

- sum, mean, matmul, div, cat, softmax, log_softmax and permute/transpose (session 38's
  paths) now step aside under autocast and for a marked gradient or saved operand as the
  elementwise rules do: their gradients under CPU autocast (bfloat16, float16) and beside a
  live convolution result equal the recorded path's (``create_graph=True``) bit for bit,
  dtype, strides and layout marks included, and torch's values and strides;
- the engine's first-order sum of two gradients carries their marks as the recorded
  ``a + b`` does (a permute or split of a convolution's result: torch's strides, where
  the array path gave the channel-major ones);
- split/chunk/unbind and binary_cross_entropy list their backward's ops in a profile
  (torch lists ``aten::cat``/``aten::stack``; binary_cross_entropy's recorded formulas),
  with the same gradients as unprofiled.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._layout_marks import LAYOUT_MARKS, layout_mark
from chainrule.ops._first_order import grad_array, grad_view, plain_array, unmarked

# name: the op on x, w (both (3, 5, 4)), spelled the same in torch and chainrule
_OPS = {
    "sum": lambda m, x, w: x.sum(),
    "sum_dim": lambda m, x, w: x.sum(1),
    "mean": lambda m, x, w: x.mean(),
    "mean_dims_keepdim": lambda m, x, w: x.mean((1, 2), keepdim=True),
    "matmul": lambda m, x, w: x @ w.transpose(1, 2),
    "matmul_2d": lambda m, x, w: x[0] @ w[0].T,
    "div": lambda m, x, w: x / (w * w + 1.0),
    "cat": lambda m, x, w: m.cat([x, w], 1),
    "softmax": lambda m, x, w: x.softmax(-1),
    "softmax_dim0": lambda m, x, w: x.softmax(0),
    "log_softmax": lambda m, x, w: x.log_softmax(-1),
    "permute": lambda m, x, w: x.permute(2, 0, 1) * w.permute(2, 0, 1),
    "transpose": lambda m, x, w: x.transpose(0, 2),
    "mul_tanh": lambda m, x, w: (x * w).tanh(),
}


def _inputs(m, dtype, seed=0):
    rng = np.random.default_rng(seed)
    xa = rng.standard_normal((3, 5, 4))
    wa = rng.standard_normal((3, 5, 4))
    return (
        m.tensor(xa, dtype=dtype, requires_grad=True),
        m.tensor(wa, dtype=dtype, requires_grad=True),
    )


def _grads_autocast(name, autocast_dtype, create_graph):
    """Gradients of the op run (forward and backward) inside a CPU autocast block."""
    x, w = _inputs(cr, cr.float32)
    with cr.autocast("cpu", dtype=getattr(cr, autocast_dtype)):
        y = _OPS[name](cr, x, w)
        g = cr.tensor(np.linspace(-1.0, 2.0, y.numel()).reshape(tuple(y.shape)), dtype=y.dtype)
        grads = cr.autograd.grad(y, (x, w), g, create_graph=create_graph, allow_unused=True)
    return [t.detach() for t in grads if t is not None]


@pytest.mark.parametrize("autocast_dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", sorted(_OPS))
def test_autocast_gradients_equal_the_recorded_path_and_torch(name, autocast_dtype):
    fast = _grads_autocast(name, autocast_dtype, False)
    recorded = _grads_autocast(name, autocast_dtype, True)
    assert len(fast) == len(recorded) > 0
    for a, b in zip(fast, recorded):
        assert a.dtype == b.dtype and a.stride() == b.stride()
        np.testing.assert_array_equal(a.float().numpy(), b.float().numpy())
    # torch: the same dtypes; values to the autocast dtype's rounding (strides: the
    # layout-marks test below; autograd.grad of a sum is an expanded view here, as a hook
    # sees torch's, where torch's autograd.grad hands back a contiguous copy)
    x, w = _inputs(torch, torch.float32)
    with torch.autocast("cpu", dtype=getattr(torch, autocast_dtype)):
        y = _OPS[name](torch, x, w)
        g = torch.tensor(np.linspace(-1.0, 2.0, y.numel()).reshape(tuple(y.shape)), dtype=y.dtype)
        theirs = [t for t in torch.autograd.grad(y, (x, w), g, allow_unused=True) if t is not None]
    assert len(theirs) == len(fast)
    for a, b in zip(fast, theirs):
        assert str(a.dtype) == str(b.dtype)
        np.testing.assert_allclose(a.float().numpy(), b.float().numpy(), rtol=2e-2, atol=2e-2)


def _head(x, w):
    return ((x @ w.transpose(1, 2)).log_softmax(-1) * x[:, :, :1]).sum()


def test_backward_called_inside_autocast_equals_the_recorded_path():
    # a float32 graph whose backward runs inside an autocast block: the array paths step
    # aside (AUTOCAST) and give the recorded ops' gradients, whose bmm is cast as PyTorch's
    # (session 41: tests/autograd/test_autocast_backward_session41.py), so they differ from
    # the float32 backward's
    results = []
    for create_graph in (False, True):
        x, w = _inputs(cr, cr.float32)
        y = _head(x, w)
        with cr.autocast("cpu", dtype=cr.bfloat16):
            grads = cr.autograd.grad(y, (x, w), create_graph=create_graph)
        results.append([g.detach().numpy() for g in grads])
    x, w = _inputs(cr, cr.float32)
    plain = [g.numpy() for g in cr.autograd.grad(_head(x, w), (x, w))]
    for a, b, c in zip(*results, plain, strict=True):
        assert a.dtype == b.dtype == c.dtype == np.float32 and a.strides == b.strides
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_backward_called_inside_autocast_matches_torch():
    out = {}
    for m in (cr, torch):
        x, w = _inputs(m, m.float32)
        y = _head(x, w)
        with m.autocast("cpu", dtype=m.bfloat16):
            out[m.__name__] = m.autograd.grad(y, (x,))[0].numpy()
    np.testing.assert_allclose(out["chainrule"], out["torch"], rtol=1e-5, atol=1e-5)


# ops on a convolution's result h (2, 4, 4, 4), marked row-major (channel-major memory)
_CONV_OPS = {
    "sum_keepdim": lambda m, h: h.sum(1, keepdim=True) * h,
    "sum_dim": lambda m, h: h.sum((2, 3)).tanh(),
    "mean_keepdim": lambda m, h: h.mean((2, 3), keepdim=True) * h,
    "mean_head": lambda m, h: h.mean((2, 3)).log_softmax(1),
    "matmul": lambda m, h: (h @ h.transpose(2, 3)) * 2.0,
    "matmul_head": lambda m, h: h.mean((2, 3)) @ h.mean((2, 3)).T,
    "div": lambda m, h: h / (h * h + 1.0),
    "cat": lambda m, h: m.cat([h, h * 2.0], 1) * m.cat([h, h], 1),
    "softmax": lambda m, h: h.softmax(1) * h,
    "softmax_last": lambda m, h: h.softmax(-1) * h,
    "log_softmax": lambda m, h: h.log_softmax(1) * h,
    "permute": lambda m, h: h.permute(0, 2, 3, 1) * h.permute(0, 2, 3, 1),
    "transpose": lambda m, h: h.transpose(1, 3) * h.transpose(1, 3),
    "split": lambda m, h: sum((p * p).sum() * (i + 1) for i, p in enumerate(h.split(2, 1))),
    "chunk": lambda m, h: sum((p * p).sum() * (i + 1) for i, p in enumerate(h.chunk(2, 3))),
    "unbind": lambda m, h: sum((p * p).sum() * (i + 1) for i, p in enumerate(h.unbind(1))),
    "head": lambda m, h: (h.relu().mean((2, 3)) @ h.mean((2, 3)).T).log_softmax(1),
}


def _conv_grads(m, name, create_graph):
    rng = np.random.default_rng(4)
    xa = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    wa = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3
    x = m.tensor(xa, requires_grad=True)
    wt = m.tensor(wa, requires_grad=True)
    h = m.nn.functional.conv2d(x, wt)
    y = _CONV_OPS[name](m, h)
    loss = (y * m.tensor(np.linspace(-1.0, 1.0, y.numel()).reshape(tuple(y.shape)))).sum()
    return m.autograd.grad(loss, (h, x, wt), create_graph=create_graph)


# where the gradient of h is not torch's layout on either path (known, not the array
# paths'): autograd.grad of a mean is an expanded view (a hook's view, as torch's); the
# create_graph sum of two gradients (a recorded ``+``) relays them where torch does not
_RECORDED_SUM_LAYOUT = {"head", "matmul_head"}


@pytest.mark.parametrize("name", sorted(_CONV_OPS))
def test_layout_marks_gradients_equal_the_recorded_path_and_torch(name):
    fast = _conv_grads(cr, name, False)
    recorded = _conv_grads(cr, name, True)
    theirs = _conv_grads(torch, name, False)
    for i, (a, b, t) in enumerate(zip(fast, recorded, theirs, strict=True)):
        assert a.dtype == b.dtype
        if i == 0 and name not in _RECORDED_SUM_LAYOUT:
            assert a.stride() == b.stride() and a._data.strides == b._data.strides
            assert layout_mark(a._data) == layout_mark(b._data)
        elif i > 0:  # x's and the weight's: the convolution's backward (not these rules'),
            # marked row-major (session 41); the first-order autograd.grad detaches its
            # results, which lays a marked one out row-major (_layout_relay.before_alias)
            assert a.stride() == b.stride() == t.stride() and a.is_contiguous()
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        np.testing.assert_allclose(a.detach().numpy(), t.numpy(), rtol=1e-4, atol=1e-4)
    # h's gradient in torch's strides (the split/chunk ones were channel-major before the
    # engine's sum carried marks)
    if name != "mean_head":
        assert fast[0].stride() == theirs[0].stride()


def test_unmarked_arrays_take_the_array_path_beside_a_live_mark():
    # a convolution's result alive: its memory is marked, a fresh gradient is not
    cr.manual_seed(0)
    h = cr.nn.Conv2d(3, 4, 3)(cr.randn(2, 3, 6, 6))
    assert LAYOUT_MARKS and layout_mark(h._data) is not None
    ctx = type("Ctx", (), {"create_graph": False})()
    g = cr.randn(4, 4)
    assert grad_array(ctx, g) is g._data and grad_view(ctx, g) is g._data
    assert plain_array(g, g._data) is g._data
    assert not unmarked(h._data) and not unmarked(h._data[:, :2])  # any view of its memory
    marked = cr.Tensor._make(h._data, False, None, 0)
    assert grad_array(ctx, marked) is None and grad_view(ctx, marked) is None
    assert plain_array(marked, h._data) is None
    del h, marked


def test_split_and_unbind_backward_listed_as_torch():
    def ops(m, fn):
        x = m.tensor(np.random.default_rng(0).standard_normal((4, 4)), requires_grad=True)
        out, node = fn(m, x)
        with m.profiler.profile() as p:
            out.backward()
        names = [e.name for e in p.events()]
        i = names.index(node)
        under = []
        for n in names[i + 1 :]:
            if n.startswith("autograd::engine::evaluate_function"):
                break
            under.append(n.split("::")[-1])
        return Counter(under)

    cases = {
        "split": (lambda m, x: (sum(p.sum() for p in x.split(2, 0)), "SplitBackward0"), "cat"),
        "split_sizes": (
            lambda m, x: (
                sum(p.sum() * (i + 1) for i, p in enumerate(x.split([1, 3], 0))),
                "SplitWithSizesBackward0",
            ),
            "cat",
        ),
        "chunk": (lambda m, x: (sum(p.sum() for p in x.chunk(2, 1)), "SplitBackward0"), "cat"),
        "unbind": (lambda m, x: (sum(p.sum() for p in x.unbind(0)), "UnbindBackward0"), "stack"),
    }
    for name, (fn, op) in cases.items():
        theirs, ours = ops(torch, fn), ops(cr, fn)
        assert theirs[op] == ours[op] == 1, name


def test_split_and_unbind_gradients_unchanged_by_a_profiler():
    for fn in (
        lambda x: sum(p.sum() * (i + 1) for i, p in enumerate(x.split([1, 3], 1))),
        lambda x: sum(p.sum() * (i + 1) for i, p in enumerate(x.transpose(0, 1).unbind(1))),
    ):
        grads = []
        for profiled in (False, True):
            x = cr.tensor(np.random.default_rng(1).standard_normal((4, 4)), requires_grad=True)
            out = fn(x)
            if profiled:
                with cr.profiler.profile():
                    out.backward()
            else:
                out.backward()
            grads.append(x.grad)
        assert grads[0].stride() == grads[1].stride()
        np.testing.assert_array_equal(grads[0].numpy(), grads[1].numpy())


def test_binary_cross_entropy_backward_listed_with_the_same_gradients():
    f = cr.nn.functional
    combos = itertools.product(
        [cr.float32, cr.float64], ["mean", "sum", "none"], [False, True], [(5, 7), ()]
    )
    for dtype, reduction, weighted, shape in combos:
        rng = np.random.default_rng(3)
        xa = np.asarray(rng.uniform(0, 1, shape))
        if shape:
            xa[0, 0], xa[0, 1], xa[1, 1] = 0.0, 1.0, 1e-30  # the clamps, log(0)
        ta = rng.uniform(0, 1, shape)
        wa = rng.uniform(0.5, 2, shape[-1:])
        grads, listed = [], []
        for profiled in (False, True):
            x = cr.tensor(xa, dtype=dtype, requires_grad=True)
            t = cr.tensor(ta, dtype=dtype, requires_grad=True)
            w = cr.tensor(wa, dtype=dtype) if weighted else None
            loss = f.binary_cross_entropy(x, t, weight=w, reduction=reduction)
            g = cr.ones_like(loss) * 0.7 if reduction == "none" else None
            if profiled:
                with cr.profiler.profile() as p:
                    loss.backward(g)
                names = [e.name for e in p.events()]
                i = names.index("BinaryCrossEntropyBackward0")
                listed = [n for n in names[i + 1 :] if n.startswith("chainrule::")]
            else:
                loss.backward(g)
            grads.append((x.grad, t.grad))
        assert listed  # the backward's ops (was: none)
        for a, b in zip(*grads):
            assert a.dtype == b.dtype and a.stride() == b.stride()
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_binary_cross_entropy_half_backward_keeps_its_rounding_under_a_profiler():
    f = cr.nn.functional
    rng = np.random.default_rng(5)
    xa, ta = rng.uniform(0.05, 0.95, (6, 5)), rng.uniform(0, 1, (6, 5))
    grads = []
    for profiled in (False, True):
        x = cr.tensor(xa, dtype=cr.float16, requires_grad=True)
        loss = f.binary_cross_entropy(x, cr.tensor(ta, dtype=cr.float16))
        if profiled:
            with cr.profiler.profile():
                loss.backward()
        else:
            loss.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)
    xt = torch.tensor(xa, dtype=torch.float16, requires_grad=True)
    torch.nn.functional.binary_cross_entropy(xt, torch.tensor(ta, dtype=torch.float16)).backward()
    np.testing.assert_array_equal(grads[0], xt.grad.numpy())


def _gradient(shape, layout, dtype):
    """A gradient of ``shape`` laid out row-major, transposed, expanded (a sum's) or as a
    step slice."""
    rng = np.random.default_rng(1)
    if layout == "row_major":
        return cr.tensor(rng.standard_normal(shape).astype(dtype))
    if layout == "transposed":
        return cr.tensor(rng.standard_normal(shape[::-1]).astype(dtype).T)
    if layout == "expanded":
        return cr.tensor(np.array(1.5, dtype)).expand(shape)
    big = rng.standard_normal(tuple(2 * n for n in shape)).astype(dtype)
    return cr.tensor(big)[tuple(slice(None, None, 2) for _ in shape)]


_LAYOUTS = ["row_major", "transposed", "expanded", "step_slice"]


@pytest.mark.parametrize("layout", _LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "dim"), [((8, 8), 1), ((8, 8), 0), ((3, 5, 4), 1), ((7,), 0)])
def test_softmax_gradient_in_any_layout_equals_the_recorded_path(shape, dim, dtype, layout):
    results = []
    for create_graph in (False, True):
        x = cr.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype))
        x.requires_grad_()
        (gx,) = cr.autograd.grad(
            x.softmax(dim), (x,), _gradient(shape, layout, dtype), create_graph=create_graph
        )
        results.append(gx.detach())
    a, b = results
    assert a.dtype == b.dtype and a.stride() == b.stride() and a._data.strides == b._data.strides
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("needs", ["both", "numerator", "denominator"])
@pytest.mark.parametrize("layout", _LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 8), (3, 5, 4), (7,)])
def test_div_gradient_in_any_layout_equals_the_recorded_path(shape, dtype, layout, needs):
    results = []
    for create_graph in (False, True):
        rng = np.random.default_rng(0)
        a = cr.tensor(rng.standard_normal(shape).astype(dtype))
        b = cr.tensor(rng.standard_normal(shape).astype(dtype))
        b._data[(0,) * len(shape)] = 0.0  # inf and nan gradients
        wanted = [t for t, n in ((a, "denominator"), (b, "numerator")) if needs != n]
        for t in wanted:
            t.requires_grad_()
        grads = cr.autograd.grad(
            a / b, wanted, _gradient(shape, layout, dtype), create_graph=create_graph
        )
        results.append([g.detach() for g in grads])
    for f, r in zip(*results, strict=True):
        assert f.dtype == r.dtype and f.stride() == r.stride()
        assert f._data.strides == r._data.strides
        np.testing.assert_array_equal(f.numpy(), r.numpy())


def test_softmax_and_div_of_a_sum_match_torch():
    rng = np.random.default_rng(2)
    xa, wa = rng.standard_normal((8, 8)), rng.standard_normal((8, 8)) + 3.0
    out = {}
    for m in (cr, torch):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        ((x.softmax(1) * 2.0).sum() + (x / w).sum()).backward()
        out[m.__name__] = (x.grad.numpy(), w.grad.numpy(), x.grad.stride(), w.grad.stride())
    for a, b in zip(out["chainrule"][:2], out["torch"][:2]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert out["chainrule"][2:] == out["torch"][2:]


def test_resnet_step_gradients_as_with_every_array_path_off_beside_a_mark(monkeypatch):
    # a CNN whose convolution results live through the backward: the rules after them
    # (relu of unmarked memory, the pooled head's mean, the classifier) take the array
    # paths, the others the recorded ops; every parameter's gradient (values, strides) as
    # with session 39's rule (any live mark: all recorded). (create_graph is no reference
    # for the whole step: batch norm's first-order rule is its own fused kernel.)
    import chainrule.ops._first_order as first_order

    rng = np.random.default_rng(0)
    # 8x8 images (session 47; were 16x16): the same decisions (11 array paths, 19 recorded
    # per step) without compiling the pooled convolution kernels (~50 CPU-s on a cold cache)
    xa = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    target = cr.tensor(rng.integers(0, 10, 2))
    taken = []
    plain_unmarked = first_order.unmarked

    def counting(a):
        out = plain_unmarked(a)
        taken.append(out)
        return out

    results = []
    for rule in (counting, lambda a: not LAYOUT_MARKS):
        monkeypatch.setattr(first_order, "unmarked", rule)
        cr.manual_seed(0)
        model = cr.models.get_model("resnet20", num_classes=10, in_channels=3)
        loss = cr.nn.functional.cross_entropy(model(cr.tensor(xa)), target)
        loss.backward()
        results.append([(p.grad.numpy(), p.grad.stride()) for p in model.parameters()])
    assert True in taken and False in taken  # both paths were taken beside the marks
    assert len(results[0]) > 20
    for (a, sa), (b, sb) in zip(*results, strict=True):
        assert a.dtype == b.dtype and sa == sb
        np.testing.assert_array_equal(a, b)
