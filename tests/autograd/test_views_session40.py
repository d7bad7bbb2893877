"""Views and version counters, fourth pass (session 40), each compared with torch:

1. ``x[idx] = v`` on a leaf that requires grad: PyTorch applies the basic part of ``idx``
   first, and where that takes a view says "a view of a leaf Variable ..." (and, for a
   basic index alone, checks the value's shape before refusing);
2. ``backward`` under ``no_grad`` from a stale view without a forward-mode tangent goes
   through the base's current history;
3. (version counters: ``test_versions_session40.py``);
4. ``next_functions`` of ``CopySlices`` (an in-place op on a view): the base, then the op's
   inputs other than the view;
5. the forward-mode tangent of an in-place op whose argument shares the written memory
   (``y.mul_(y.detach())``): computed after the write, as PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

# ---------------------------------------------------------------- 1. setitem on a leaf


def _setitem_error(lib, index: str, value: str = "1.", shape=(3, 3)):
    x = lib.ones(*shape, requires_grad=True)
    idx = eval(index, {"t": lib, "x": x.detach()})  # noqa: S307 - fixed test strings
    val = eval(value, {"t": lib, "x": x})  # noqa: S307
    try:
        x[idx] = val
    except RuntimeError as err:
        return str(err)
    return "ok"


_LEAF_TEXT = "a leaf Variable that requires grad is being used in an in-place operation."
LEAF_INDICES = [
    "0",
    "(0, 1)",
    "(slice(1, None), 0)",
    "None",
    "(Ellipsis, 0)",
    "(None, 0)",
    "t.tensor(0)",
    "t.tensor(True)",
    "True",
    "(True,)",
    "(False,)",
    "(0,)",
    "slice(0, 3)",
    "slice(0, None)",
    "slice(None, 3)",
    "slice(0, 100)",
    "slice(None, None, 1)",
    "slice(-3, None)",
    "slice(None, -1)",
    "slice(None, None, 2)",
    "(slice(None), slice(None))",
    "(slice(None), slice(0, 3))",
    "(slice(None), None)",
    "(1, slice(None))",
    "...",
    "slice(None)",
    "[0, 1]",
    "t.tensor([0, 1])",
    "x > 0",
    "(0, [0, 1])",
    "(slice(None), [0, 1])",
    "(slice(1, None), [0, 1])",
    "([0, 1], slice(None))",
    "([0, 1], 0)",
    "(Ellipsis, [0, 1])",
    "(None, [0, 1])",
    "[True, False, True]",
    "(slice(None), t.tensor(1))",
    "(t.tensor(0), t.tensor(1))",
    "(0, x[0] > 0)",
    "(0, t.tensor([0.5]))",  # an index tensor PyTorch cannot use: the leaf refused first
    "t.tensor([0.5])",
    "(slice(1, None), t.tensor([0.5]))",
    "([0.5], 0)",
]


@pytest.mark.parametrize("index", LEAF_INDICES)
def test_setitem_on_a_leaf_names_the_view_as_torch(index):
    theirs = _setitem_error(torch, index)
    assert theirs.endswith(_LEAF_TEXT)
    assert _setitem_error(cr, index) == theirs


@pytest.mark.parametrize(
    "index",
    [
        "(t.ones(3, 3, dtype=t.bool), slice(0, 4))",
        "(t.ones(3, 3, dtype=t.bool), slice(0, 3))",
        "(Ellipsis, slice(0, 4))",
        "(Ellipsis, slice(0, 3))",
        "(slice(0, 3), Ellipsis, slice(0, 4))",
        "(slice(0, 3), Ellipsis, slice(1, 4))",
    ],
)
def test_setitem_on_a_leaf_counts_the_dims_of_a_mask_as_torch(index):
    """A 2-d mask takes two dims, so the slice after it is compared with the third dim's
    size (whole: the leaf's message; partial: the view's)."""
    theirs = _setitem_error(torch, index, shape=(3, 3, 4))
    assert theirs.endswith(_LEAF_TEXT)
    assert _setitem_error(cr, index, shape=(3, 3, 4)) == theirs


@pytest.mark.parametrize(
    ("index", "value", "first"),
    [
        ("0", "t.ones(3, dtype=t.complex64)", "view"),  # copy_ converts: the view's error
        ("0", "t.ones(3, dtype=t.float64)", "view"),
        ("0", "t.ones(1, 3)", "view"),
        ("0", "t.ones(3, requires_grad=True)", "view"),
        ("0", "x[1]", "view"),  # an overlapping value: the leaf check comes first
        ("slice(0, 2)", "x[1:]", "view"),
        ("[0, 1]", "t.ones(5)", "leaf"),  # index_put_ refuses the leaf before the shape
        ("(slice(1, None), [0, 1])", "t.ones(5)", "view"),
        ("[0, 1]", "t.ones(3, dtype=t.float64)", "leaf"),  # ... and before the dtype
        ("(0, [0, 1])", "t.ones(2, dtype=t.float64)", "view"),
        ("t.tensor(True)", "t.ones(3, 3, dtype=t.float64)", "view"),
        ("[0, 1]", "x[1]", "leaf"),
        ("0", "t.ones(5)", "shape"),  # a basic index: the value's shape is checked first
        ("0", "t.ones(2, 3)", "shape"),
        ("slice(1, None)", "t.ones(5)", "shape"),
        ("slice(None)", "t.ones(5)", "shape"),
        ("...", "t.ones(5)", "shape"),
        ("None", "t.ones(5)", "shape"),
        ("(slice(-3, None),)", "t.ones(5)", "shape"),
    ],
)
def test_setitem_on_a_leaf_order_of_errors_as_torch(index, value, first):
    theirs, ours = _setitem_error(torch, index, value), _setitem_error(cr, index, value)
    if first == "shape":  # the texts are each library's own (chainrule's names the op)
        assert not theirs.endswith(_LEAF_TEXT)
        assert "setitem: shape mismatch" in ours
    else:
        assert theirs == (f"a view of {_LEAF_TEXT}" if first == "view" else _LEAF_TEXT)
        assert ours == theirs


def test_setitem_on_a_leaf_value_conversion_error_comes_first():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="cannot be converted to type float"):
            x = lib.ones(3, 3, requires_grad=True)
            x[0] = 1j


def test_setitem_on_a_leaf_without_grad_mode_writes():
    for lib in (torch, cr):
        x = lib.ones(3, 3, requires_grad=True)
        with lib.no_grad():
            x[0] = 2.0
            x[None, 1] = 3.0
        assert x.detach().sum().item() == 18.0
        assert x._version == 2


# ------------------------------------------- 2. backward under no_grad from a stale view


def _stale_view_backward(lib, how: str):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = x * 1
    v = b[:2]
    b.mul_(3)
    with lib.no_grad():
        if how == "backward":
            v.backward(lib.tensor([1.0, 2.0]))
        elif how == "autograd_backward":
            lib.autograd.backward([v], [lib.tensor([1.0, 2.0])])
        elif how == "grad":
            return lib.autograd.grad(v, x, lib.tensor([1.0, 2.0]))[0].tolist()
        elif how == "grad_fn":
            return v.grad_fn.name()
        elif how == "twice":  # the view stays stale under no_grad: both re-take it
            v.backward(lib.tensor([1.0, 2.0]), retain_graph=True)
            v.backward(lib.tensor([1.0, 1.0]))
    if how == "then_grad_mode":  # re-taken when next recorded
        (v * 2).sum().backward()
    return x.grad.tolist()


@pytest.mark.parametrize(
    "how", ["backward", "autograd_backward", "grad", "grad_fn", "twice", "then_grad_mode"]
)
def test_stale_view_under_no_grad_uses_the_base_history_as_torch(how):
    assert _stale_view_backward(cr, how) == _stale_view_backward(torch, how)


def test_stale_view_of_a_view_leaf_under_no_grad_as_torch():
    """A view whose root base needs no gradient (a leaf made from a view): re-taken from
    the root under no_grad too, so no gradient reaches the leaf through the view."""

    def run(lib):
        x = lib.arange(6.0)
        leaf = x.view(2, 3).requires_grad_()
        v = leaf[0]
        w = v * 2
        x.mul_(2)
        with lib.no_grad():
            out = w.sum()
        return v.grad_fn.name(), v.requires_grad, out.item()

    assert run(cr) == run(torch)


# ------------------------------------------------- 4. next_functions of CopySlices


def _tree(fn, depth=0):
    if fn is None:
        return None
    if depth > 6:
        return fn.name()
    return fn.name(), tuple((_tree(f, depth + 1), n) for f, n in fn.next_functions)


COPY_SLICES = {
    "overlap_sigmoid": "b=x*1; v=b.as_strided((3,2),(1,1)); v.sigmoid_(); r=b",
    "overlap_sigmoid_view": "b=x*1; v=b.as_strided((3,2),(1,1)); v.sigmoid_(); r=v",
    "overlap_exp": "b=x*1; v=b.as_strided((3,2),(1,1)); v.exp_(); r=b",
    "overlap_mul": "b=x*1; v=b.as_strided((3,2),(1,1)); v.mul_(2); r=b",
    "overlap_relu": "b=x*1; v=b.as_strided((3,2),(1,1)); v.relu_(); r=b",
    "overlap_unfold_sigmoid": "b=x*1; v=b.unfold(0,2,1); v.sigmoid_(); r=b",
    "overlap_zero": "b=x*1; v=b.as_strided((3,2),(1,1)); v.zero_(); r=b",
    "overlap_fill": "b=x*1; v=b.as_strided((3,2),(1,1)); v.fill_(2.); r=b",
    "overlap_copy": "b=x*1; v=b.as_strided((3,2),(1,1)); v.copy_(w.view(3,2)); r=b",
    "sigmoid": "b=x*1; v=b[1:3]; v.sigmoid_(); r=b",
    "sigmoid_view": "b=x*1; v=b[1:3]; v.sigmoid_(); r=v",
    "mul_number": "b=x*1; v=b[1:3]; v.mul_(2); r=b",
    "mul_tensor": "b=x*1; v=b[1:3]; v.mul_(w[:2]); r=b",
    "exp_step": "b=x*1; v=b[::2]; v.exp_(); r=b",
    "copy": "b=x*1; v=b[1:3]; v.copy_(w[:2]); r=b",
    "copy_broadcast": "b=x*1; v=b[1:3]; v.copy_(w[0]); r=b",
    "copy_const": "b=x*1; v=b[1:3]; v.copy_(t.ones(2, dtype=t.float64)); r=b",
    "zero": "b=x*1; v=b[1:3]; v.zero_(); r=b",
    "no_grad_base_mul": "b=t.zeros(6, dtype=t.float64); v=b[1:3]; v.mul_(w[:2]); r=b",
    "no_grad_base_copy": "b=t.zeros(6, dtype=t.float64); v=b[1:3]; v.copy_(w[:2]); r=b",
    "addcmul": "b=x*1; v=b[1:3]; v.addcmul_(w[:2], w[2:4]); r=b",
    "setitem_into_view": "b=x*1; v=b[1:3]; v[0] = w[0]; r=b",
    "setitem": "b=x*1; b[0] = w[0]; r=b",
    "view_of_view": "b=x*1; v=b[1:5][1:3]; v.exp_(); r=b",
    "twice": "b=x*1; v=b[1:3]; v.exp_(); v.mul_(w[:2]); r=b",
    "clamp": "b=x*1; v=b[1:3]; v.clamp_(0.2, 0.3); r=b",
    "lerp": "b=x*1; v=b[1:3]; v.lerp_(w[:2], 0.5); r=b",
    "masked_fill": "b=x*1; v=b[1:3]; v.masked_fill_(v>0.2, 0.); r=b",
}


def _copy_slices_tree(lib, code: str):
    x = lib.tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)
    w = lib.tensor(np.linspace(1, 2, 6), requires_grad=True)
    ns = {"x": x, "w": w, "t": lib}
    exec(code, ns)  # noqa: S102 - fixed test strings
    return _tree(ns["r"].grad_fn)


@pytest.mark.parametrize("case", list(COPY_SLICES))
def test_copy_slices_next_functions_as_torch(case):
    ours = _copy_slices_tree(cr, COPY_SLICES[case])
    assert ours == _copy_slices_tree(torch, COPY_SLICES[case])


@pytest.mark.parametrize("case", ["overlap_sigmoid", "mul_tensor", "copy_broadcast", "twice"])
def test_copy_slices_gradients_unchanged_as_torch(case):
    """The listing is a view: the engine still runs the op's node (gradients as torch's)."""

    def run(lib):
        x = lib.tensor(np.linspace(0.1, 0.6, 6), requires_grad=True)
        w = lib.tensor(np.linspace(1, 2, 6), requires_grad=True)
        ns = {"x": x, "w": w, "t": lib}
        exec(COPY_SLICES[case], ns)  # noqa: S102 - fixed test strings
        try:
            (ns["r"] * ns["r"]).sum().backward()
        except RuntimeError as err:  # (exp_'s saved result written again by mul_)
            return "raise", str(err).split(" Hint:")[0]
        return [None if g is None else np.round(g.numpy(), 12).tolist() for g in (x.grad, w.grad)]

    assert run(cr) == run(torch)


def test_copy_slices_next_functions_copy_of_another_dtype_as_torch():
    code = "b=t.zeros(6, dtype=t.float32); v=b[1:3]; v.copy_(w[:2]); r=b"
    assert _copy_slices_tree(cr, code) == _copy_slices_tree(torch, code)


# ---------------------------------- 5. forward mode: an argument sharing the memory


FORWARD = {
    "mul_detached": "y=F.make_dual(p.clone(), tg); y.mul_(y.detach()); r=y",
    "mul_primal": "y=F.make_dual(p.clone(), tg); y.mul_(F.unpack_dual(y).primal); r=y",
    "mul_self": "y=F.make_dual(p.clone(), tg); y.mul_(y); r=y",
    "div_detached": "y=F.make_dual(p.clone(), tg); y.div_(y.detach()); r=y",
    "pow_detached": "y=F.make_dual(p.clone(), tg); y.pow_(y.detach()); r=y",
    "add_detached": "y=F.make_dual(p.clone(), tg); y.add_(y.detach()); r=y",
    "addcmul_detached": "y=F.make_dual(p.clone(), tg); y.addcmul_(y.detach(), y.detach()); r=y",
    "view": "y=F.make_dual(p.clone(), tg); v=y[1:3]; v.mul_(v.detach()); r=(v, y)",
    "view_base_detached": "y=F.make_dual(p.clone(), tg); v=y[1:3]; v.mul_(y.detach()[1:3]); "
    "r=(v, y)",
    "non_dual": "y=F.make_dual(p.clone(), tg)*1; y.mul_(y.detach()); r=y",
    "non_dual_view": "y=F.make_dual(p.clone(), tg)*1; v=y[1:]; v.mul_(v.detach()); r=(v, y)",
    "requires_grad": "y=F.make_dual(p.clone().requires_grad_(), tg)*1; y.mul_(y.detach()); r=y",
    "detached_written": "y=F.make_dual(p.clone(), tg); d=y.detach(); d.mul_(2); r=y",
}


def _forward(lib, code: str):
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        p = lib.tensor(np.array([1.0, 2.0, 3.0, 4.0]))
        tg = lib.tensor(np.array([0.5, -1.0, 2.0, 3.0]))
        ns = {"F": fw, "p": p, "tg": tg}
        exec(code, ns)  # noqa: S102 - fixed test strings
        r = ns["r"]
        out = []
        for o in r if isinstance(r, tuple) else (r,):
            primal, tangent = fw.unpack_dual(o)
            out.append((primal.tolist(), None if tangent is None else tangent.tolist()))
        return out


@pytest.mark.parametrize("case", list(FORWARD))
def test_inplace_tangent_with_an_aliasing_argument_as_torch(case):
    assert _forward(cr, FORWARD[case]) == _forward(torch, FORWARD[case])


def test_inplace_tangent_with_an_aliasing_argument_backward_unchanged():
    """Reverse mode through the same write (the argument aliasing ``y`` detached): the
    backward refuses, as torch's (mul_ saved the alias, which the write changed); with
    forward mode on too, the tangent is torch's."""

    def run(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
            y = fw.make_dual(x, lib.tensor([1.0, -1.0, 2.0])) * 1
            y.mul_(y.detach())
            tangent = fw.unpack_dual(y).tangent.tolist()
            try:
                y.sum().backward()
            except RuntimeError as err:
                return tangent, str(err).split(" Hint:")[0]
        return tangent, x.grad.tolist()

    ours, theirs = run(cr), run(torch)
    assert "modified by an inplace operation" in theirs[1]
    assert ours == theirs
