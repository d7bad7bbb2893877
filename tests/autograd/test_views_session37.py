"""Views and in-place writes into memory shared by several elements, against torch
(session 37): which writes into an expanded tensor PyTorch refuses and which it runs
(``tril_``/``triu_``/``fill_diagonal_`` write one element after another), elementwise and
indexed in-place ops on a view whose elements overlap in memory (``unfold`` windows, an
``as_strided`` view: PyTorch writes them without a check, element after element, and its
``CopySlices`` copies the gradient, last element wins), PyTorch's messages for the views
``split``/``unbind`` return, and the gaps left (strict xfails).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_MESSAGE_TAIL = (
    "unsupported operation: more than one element of the written-to tensor refers to a "
    "single memory location. Please clone() the tensor before performing the operation."
)


def _outcome(lib, code: str) -> tuple:
    """Run ``code`` (``t`` is the library); ``("ok", values of r)`` or the error raised."""
    env = {"t": lib}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(code, env)
    except Exception as e:  # noqa: BLE001 - the outcome compared with torch's
        return ("raise", type(e).__name__, str(e))
    r = env.get("r")
    return ("ok", None if r is None else np.asarray(r.detach().numpy()).tolist())


EXPANDED = {
    "add_": "x=t.zeros(4); x.expand(3,4).add_(1); r=x",
    "mul_": "x=t.ones(4); x.expand(3,4).mul_(2); r=x",
    "relu_": "x=t.ones(4); x.expand(3,4).relu_(); r=x",
    "copy_": "x=t.zeros(4); x.expand(3,4).copy_(t.ones(3,4)); r=x",
    "scatter_": "x=t.zeros(4); x.expand(3,4).scatter_(1, t.tensor([[1]]), t.tensor([[5.]])); r=x",
    "index_add_": "x=t.zeros(4); x.expand(3,4).index_add_(1, t.tensor([1]), t.ones(3,1)); r=x",
    "out_add": "x=t.zeros(4); t.add(t.ones(3,4), 1, out=x.expand(3,4)); r=x",
    "out_mm": "x=t.zeros(2); t.mm(t.ones(2,2), t.ones(2,2), out=x.expand(2,2)); r=x",
    "uniform_": "x=t.ones(4); x.expand(3,4).uniform_(); r=None",
    "detach_add_": "x=t.zeros(4); x.expand(3,4).detach().add_(1); r=x",
    "fill_": "x=t.zeros(4); x.expand(3,4).fill_(2); r=x",
    "zero_": "x=t.ones(4); x.expand(3,4).zero_(); r=x",
    "masked_fill_": "x=t.zeros(4); m=t.zeros(3,4,dtype=t.bool); m[0,1]=True; "
    "x.expand(3,4).masked_fill_(m, 5.); r=x",
    "setitem_row": "x=t.zeros(4); e=x.expand(3,4); e[0]=5.; r=x",
    "tril_": "x=t.arange(1.,4.); x.expand(3,3).tril_(); r=x",
    "tril_-1": "x=t.arange(1.,4.); x.expand(3,3).tril_(-1); r=x",
    "triu_": "x=t.arange(1.,4.); x.expand(3,3).triu_(); r=x",
    "tril_3d": "x=t.arange(1.,4.); x.expand(2,3,3).tril_(); r=x",
    "fill_diagonal_": "x=t.ones(3); x.expand(3,3).fill_diagonal_(0.); r=x",
}


@pytest.mark.parametrize("case", list(EXPANDED), ids=list(EXPANDED))
def test_writes_into_an_expanded_tensor_like_torch(case):
    ours, theirs = _outcome(cr, EXPANDED[case]), _outcome(torch, EXPANDED[case])
    assert ours[:2] == theirs[:2]
    if theirs[0] == "raise":  # PyTorch's message, after the op's name
        assert theirs[2].endswith(_MESSAGE_TAIL)
        assert ours[2].endswith(_MESSAGE_TAIL)


OVERLAPPING = {  # leaf: arange(1, 6); q: arange(2, 7) (float64, both require grad)
    "as_strided_mul_": "x=leaf*1; v=x.as_strided((3,3),(1,1)); v.mul_(2); out=x",
    "as_strided_add_": "x=leaf*1; v=x.as_strided((3,3),(1,1)); v.add_(1); out=x",
    "as_strided_mul_tensor": "x=leaf*1; v=x.as_strided((3,3),(1,1)); "
    "v.mul_(q.as_strided((3,3),(1,1))); out=x",
    "view_used_after": "x=leaf*1; v=x.as_strided((3,3),(1,1)); v.mul_(2); out=v",
    "unfold_mul_": "x=leaf*1; v=x.unfold(0,3,1); v.mul_(2); out=x",
    "unfold_sigmoid_": "x=leaf*1; v=x.unfold(0,3,1); v.sigmoid_(); out=x",
    "unfold_relu_": "x=leaf*1-3; v=x.unfold(0,3,1); v.relu_(); out=x",
    "unfold_copy_": "x=leaf*1; v=x.unfold(0,3,1); v.copy_(q[:3].expand(3,3)*1); out=x",
    "unfold_index_fill_": "x=leaf*1; v=x.unfold(0,3,1); v.index_fill_(1, t.tensor([1]), 3.); out=x",
    "unfold_masked_fill_": "x=leaf*1; v=x.unfold(0,3,1); "
    "v.masked_fill_(t.eye(3,dtype=t.bool), 7.); out=x",
    "unfold_scatter_": "x=leaf*1; v=x.unfold(0,3,1); "
    "v.scatter_(1, t.tensor([[1]]), q[:1].view(1,1)); out=x",
    "unfold_fill_": "x=leaf*1; v=x.unfold(0,3,1); v.fill_(q[0]); out=x",
    "nograd_add_": "x=leaf.detach().clone(); v=x.as_strided((3,3),(1,1)); "
    "v.add_(q.detach()[:3]); out=x",
    "nograd_mul_self": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.mul_(v); out=x",
    "nograd_lerp_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.lerp_(q.detach()[:3], 0.5); "
    "out=x",
    "nograd_pow_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.pow_(2); out=x",
    "nograd_div_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.div_(2); out=x",
    "nograd_neg_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.neg_(); out=x",
    "nograd_int_add_": "x=t.arange(5); v=x.unfold(0,3,1); v.add_(1); out=x",
    "nograd_transposed_add_": "x=leaf.detach().clone(); v=x.unfold(0,3,1).t(); "
    "v.add_(t.arange(3.,dtype=t.float64)); out=x",
    "nograd_tril_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.tril_(); out=x",
    "nograd_triu_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.triu_(); out=x",
    "nograd_tril_4d": "x=t.arange(1.,8.); x.unfold(0,3,1).unfold(0,2,1).tril_(); out=x",
    "nograd_fill_diagonal_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.fill_diagonal_(0.); "
    "out=x",
    "nograd_index_add_": "x=leaf.detach().clone(); v=x.unfold(0,3,1); "
    "v.index_add_(1, t.tensor([0]), t.ones(3,1,dtype=t.float64)); out=x",
    "nograd_sub_self": "x=leaf.detach().clone(); v=x.unfold(0,3,1); v.sub_(v); out=x",
}


def _overlapping(lib, code: str) -> list:
    leaf = lib.arange(1.0, 6.0, dtype=lib.float64).requires_grad_()
    q = lib.arange(2.0, 7.0, dtype=lib.float64).requires_grad_()
    env = {"t": lib, "leaf": leaf, "q": q}
    exec(code, env)
    out = env["out"]
    found = [out.detach().numpy().tolist(), out._version]
    if out.requires_grad:
        weights = lib.arange(1.0, out.numel() + 1, dtype=lib.float64).view(out.shape)
        grads = lib.autograd.grad((out * weights).sum(), [leaf, q], allow_unused=True)
        found += [None if g is None else g.numpy() for g in grads]
        found.append(out.grad_fn.name())
    return found


@pytest.mark.parametrize("case", list(OVERLAPPING), ids=list(OVERLAPPING))
def test_in_place_on_a_view_overlapping_itself_like_torch(case):
    ours, theirs = _overlapping(cr, OVERLAPPING[case]), _overlapping(torch, OVERLAPPING[case])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    assert ours[1] == theirs[1]
    assert len(ours) == len(theirs)
    for a, b in zip(ours[2:-1], theirs[2:-1]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)
    assert ours[-1:] == theirs[-1:] or len(ours) == 2


def test_overlapping_write_graph_is_differentiable_twice():
    """The recorded rule is made of Functions: with ``create_graph`` the first derivative is
    PyTorch's (each location takes its last element's gradient) and can be differentiated
    again without error."""
    found = []
    for lib in (cr, torch):
        leaf = lib.arange(1.0, 6.0, dtype=lib.float64).requires_grad_()
        x = leaf * leaf
        x.unfold(0, 3, 1).mul_(2)
        (g,) = lib.autograd.grad((x * x).sum(), leaf, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), leaf)
        found.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(found[0][0], found[1][0], rtol=1e-12)
    assert np.all(np.isfinite(found[0][1]))


MULTI = [
    "a.unbind(0)[1]",
    "a.split(1)[0]",
    "a.split([1,1])[1]",
    "a.chunk(2,1)[1]",
    "a.split(1)[1][0]",
]


def _multi_error(lib, make: str, write_view: bool) -> str:
    a = lib.arange(6.0, dtype=lib.float64).view(2, 3).requires_grad_() * 1
    v = eval(make, {"a": a})  # noqa: S307 - the test's own expressions
    try:
        if write_view:
            v.mul_(2)
        else:
            a.mul_(2)
            v.sum()
    except RuntimeError as e:
        return str(e)
    return "no error"


@pytest.mark.parametrize("write_view", [True, False], ids=["view_written", "base_written"])
@pytest.mark.parametrize("make", MULTI)
def test_multi_output_views_refused_with_torchs_message(make, write_view):
    assert _multi_error(cr, make, write_view) == _multi_error(torch, make, write_view)


def test_multi_output_view_of_a_base_without_grad_is_written():
    for lib in (cr, torch):
        b = lib.ones(2, 3)
        v = b.split(1)[1]
        b.mul_(2)
        v.mul_(3)
        assert b.tolist() == [[2.0, 2.0, 2.0], [6.0, 6.0, 6.0]]


def test_detach_of_a_view_in_place_message_as_torch():
    msgs = []
    for lib in (cr, torch):
        v = (lib.ones(3, requires_grad=True) * 1)[1:]
        with pytest.raises(RuntimeError) as err:
            v.detach_()
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_stale_view_grad_fn_read_directly():
    names = []
    for lib in (cr, torch):
        a = lib.arange(6.0).view(2, 3).requires_grad_() * 1
        v = a[:, 1:]
        a.mul_(2)
        names.append(v.grad_fn.name())
    assert names[0] == names[1]


def test_setitem_into_an_overlapping_view_gradient():
    code = "x=leaf*1; v=x.unfold(0,3,1); v[:, 1] = q[:3]; out=x"
    ours, theirs = _overlapping(cr, code), _overlapping(torch, code)
    np.testing.assert_allclose(ours[2], theirs[2])


def test_out_into_an_overlapping_view():
    code = "x=leaf.detach().clone(); v=x.unfold(0,3,1); t.add(v, 1, out=v); out=x"
    assert _overlapping(cr, code)[0] == _overlapping(torch, code)[0]


def test_double_backward_through_an_overlapping_write():
    found = []
    for lib in (cr, torch):
        leaf = lib.arange(1.0, 6.0, dtype=lib.float64).requires_grad_()
        x = leaf * 1
        x.unfold(0, 3, 1).mul_(leaf[:3])
        (g,) = lib.autograd.grad((x * x).sum(), leaf, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), leaf)
        found.append(gg.numpy())
    np.testing.assert_allclose(found[0], found[1])
