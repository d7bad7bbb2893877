"""Session 35: nested tensors' max/min/argmax along a dim, in-place ops, indexing,
select/narrow, dtype conversions and cr.save/cr.load, against torch 2.13 live."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import arrays, assert_same, pair

pytestmark = pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")


def _pair(layout="jagged", seed=0, requires_grad=False):
    return pair(arrays(np.random.default_rng(seed), (4,)), layout, requires_grad)


def _error_type(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is compared
        return type(exc)
    return None


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "argmax", "argmin"])
@pytest.mark.parametrize("dim", [1, 2, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_jagged_reductions_along_a_dim_match(name, dim, keepdim):
    c, t = _pair(seed=dim + 5)
    ours, theirs = getattr(c, name)(dim, keepdim=keepdim), getattr(t, name)(dim, keepdim=keepdim)
    if isinstance(theirs, tuple):
        assert type(ours).__name__ == type(theirs).__name__
        assert_same(ours.values, theirs.values)
        assert_same(ours.indices, theirs.indices)
    else:
        assert_same(ours, theirs)
    assert_same(getattr(cr, name)(c, dim), getattr(torch, name)(t, dim)) if name[0] == "a" else None


@pytest.mark.parametrize("name", ["max", "amin", "argmax", "argmin"])
def test_whole_and_batch_dim_reductions_match(name):
    c, t = _pair(seed=3)
    assert_same(getattr(c, name)(), getattr(t, name)())
    assert _error_type(lambda: getattr(c, name)(0)) is _error_type(lambda: getattr(t, name)(0))
    s_c, s_t = _pair("strided", seed=3)
    assert _error_type(lambda: getattr(s_c, name)(1)) is NotImplementedError
    assert _error_type(lambda: getattr(s_t, name)(1)) is NotImplementedError


def test_max_along_a_dim_backward_matches():
    c, t = _pair(seed=4, requires_grad=True)
    c.max(2).values.values().sum().backward()
    t.max(2).values.values().sum().backward()
    assert_same(c.grad, t.grad)


INPLACE = [
    ("add_", lambda x, y: x.add_(1.5)),
    ("add_ nested", lambda x, y: x.add_(y)),
    ("mul_", lambda x, y: x.mul_(2.0)),
    ("mul_ nested", lambda x, y: x.mul_(y)),
    ("sub_ nested", lambda x, y: x.sub_(y)),
    ("div_", lambda x, y: x.div_(2.0)),
    ("relu_", lambda x, y: x.relu_()),
    ("F.relu inplace", lambda x, y: x.relu_() if y is None else None),
    ("abs_", lambda x, y: x.abs_()),
    ("neg_", lambda x, y: x.neg_()),
    ("exp_", lambda x, y: x.exp_()),
    ("clamp_", lambda x, y: x.clamp_(-0.5, 0.5)),
    ("zero_", lambda x, y: x.zero_()),
    ("fill_", lambda x, y: x.fill_(3.0)),
    ("copy_", lambda x, y: x.copy_(y)),
    ("detach_", lambda x, y: (x * 1).detach_()),
]


@pytest.mark.parametrize("layout", ["jagged", "strided"])
@pytest.mark.parametrize(("label", "op"), INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_ops_match(layout, label, op):
    c, t = _pair(layout, seed=6)
    if "nested" in label or label == "copy_":  # the other operand shares the structure
        c2, t2 = c * 2 + 1, t * 2 + 1
    else:
        c2 = t2 = None
    expected = _error_type(lambda: op(t, t2))
    assert _error_type(lambda: op(c, c2)) is expected
    if expected is None:
        assert_same(c, t)
        assert_same(c.unbind(), t.unbind())


@pytest.mark.parametrize("layout", ["jagged", "strided"])
def test_inplace_errors_match(layout):
    c, t = _pair(layout, seed=7, requires_grad=True)
    for x in (c, t):
        with pytest.raises(RuntimeError):
            x.add_(1.0)  # a leaf that requires grad
    c, t = _pair(layout, seed=7)
    c_other, t_other = pair(arrays(np.random.default_rng(8), (4,), batch=2), layout)
    assert _error_type(lambda: c.copy_(c_other)) is _error_type(lambda: t.copy_(t_other))
    assert _error_type(lambda: c.copy_(cr.ones(4))) is _error_type(lambda: t.copy_(torch.ones(4)))
    assert _error_type(lambda: cr.nn.functional.relu(c, inplace=True)) is None
    torch.nn.functional.relu(t, inplace=True)
    assert_same(c, t)


INDEXES = [
    0,
    -1,
    3,
    (0, 1),
    (1, 0, 2),
    (Ellipsis, 0),
    (Ellipsis, 1),
    slice(1, None),
    (slice(None), 0),
    None,
]


@pytest.mark.parametrize("layout", ["jagged", "strided"])
@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_indexing_matches(layout, index):
    c, t = _pair(layout, seed=9)
    expected = _error_type(lambda: t[index])
    assert _error_type(lambda: c[index]) is expected
    if expected is None:
        assert_same(c[index], t[index])


@pytest.mark.parametrize("layout", ["jagged", "strided"])
def test_select_narrow_unbind_match(layout):
    c, t = _pair(layout, seed=10)
    assert_same(c.select(0, 1), t.select(0, 1))
    assert_same(c.unbind(), t.unbind())
    assert _error_type(lambda: c.narrow(0, 1, 2)) is _error_type(lambda: t.narrow(0, 1, 2))
    if layout == "strided":
        assert_same(c.narrow(0, 1, 2), t.narrow(0, 1, 2))


@pytest.mark.parametrize("layout", ["jagged", "strided"])
@pytest.mark.parametrize("conv", ["int", "long", "double", "half", "bool"])
def test_dtype_conversions_match(layout, conv):
    c, t = _pair(layout, seed=11)
    ours, theirs = getattr(c, conv)(), getattr(t, conv)()
    assert str(ours.dtype) == str(theirs.dtype)
    assert_same(ours, theirs, atol=1e-3)


@pytest.mark.parametrize("layout", ["jagged", "strided"])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_save_load_round_trip(layout, requires_grad):
    c, t = _pair(layout, seed=12, requires_grad=requires_grad)
    loaded = []
    for M, x in ((cr, c), (torch, t)):
        buf = io.BytesIO()
        M.save({"nt": x}, buf)
        buf.seek(0)
        loaded.append(M.load(buf)["nt"])  # weights-only, the default
    ours, theirs = loaded
    assert ours.is_nested and ours.layout is c.layout
    assert ours.requires_grad == theirs.requires_grad == requires_grad
    assert_same(ours, theirs)
