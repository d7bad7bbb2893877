"""Views and in-place writes against torch (session 38): a stale view's ``grad_fn`` /
``is_leaf`` read directly (PyTorch regenerates it on the read, and since session 39 so does
chainrule's ``grad_fn`` property), views of a leaf written under ``no_grad`` and
used with grad after, PyTorch's message for a view of a leaf written in place, setitem and
``out=`` into a view whose elements overlap in memory, and double backward through
in-place ops on such a view.
"""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _run(lib, code: str) -> object:
    """Run ``code`` (``t`` is the library) and return ``r``, or the error raised."""
    env = {"t": lib}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(code, env)
    except Exception as e:  # noqa: BLE001 - the outcome compared with torch's
        return ("raise", type(e).__name__, str(e))
    return env.get("r")


_A = "a=t.arange(6.,dtype=t.float64).view(2,3).requires_grad_()*1; "

STALE_READS = {
    "base_mul_": _A + "v=a[:,1:]; a.mul_(2); r=(v.grad_fn.name(), v.is_leaf)",
    "base_mul_no_grad": _A + "v=a[:,1:]\nwith t.no_grad(): a.mul_(2)\nr=v.grad_fn.name()",
    "view_of_view": _A + "v=a[:,1:]; w=v[0]; a.mul_(2); r=(v.grad_fn.name(), w.grad_fn.name())",
    "other_view_written": _A + "v=a[:,1:]; a[0].add_(1); r=v.grad_fn.name()",
    "written_view_itself": _A + "v=a[:,1:]; v.mul_(2); r=v.grad_fn.name()",
    "fill_no_grad": _A + "v=a[:,1:]\nwith t.no_grad(): a.fill_(2)\nr=v.grad_fn.name()",
    "zero_": _A + "v=a.t(); a.zero_(); r=v.grad_fn.name()",
    "copy_": _A + "v=a[1]; a.copy_(t.ones(2,3)); r=v.grad_fn.name()",
    "base_without_grad": "a=t.ones(2,3); v=a[:,1:]; a.mul_(2); r=(v.grad_fn, v.is_leaf)",
    "two_changes": _A + "v=a[:,1:]; a.mul_(2); g=v.grad_fn; a.add_(1); "
    "r=(v.grad_fn.name(), v.grad_fn is g)",
    "read_twice_same_node": _A + "v=a[:,1:]; a.mul_(2); r=v.grad_fn is v.grad_fn",
    "next_functions": _A + "v=a[:,1:]; a.mul_(2); "
    "r=[f[0].name() for f in v.grad_fn.next_functions if f[0] is not None]",
}


@pytest.mark.parametrize("case", list(STALE_READS), ids=list(STALE_READS))
def test_stale_view_grad_fn_read_like_torch(case):
    assert _run(cr, STALE_READS[case]) == _run(torch, STALE_READS[case])


def _stale_view_gradients(lib) -> list:
    a0 = lib.arange(6.0, dtype=lib.float64).view(2, 3).requires_grad_()
    a = a0 * 1
    v = a[:, 1:]
    v.retain_grad()
    a.mul_(a.detach() + 1)
    name = v.grad_fn.name()
    (v * v).sum().backward()
    return [name, a0.grad.numpy().tolist(), None if v.grad is None else v.grad.numpy().tolist()]


def test_regenerated_view_gradients_and_retain_grad_like_torch():
    assert _stale_view_gradients(cr) == _stale_view_gradients(torch)


def test_multi_output_view_grad_fn_read_after_base_changed():
    code = _A + "v=a.split(1)[0]; a.mul_(2); r=v.grad_fn.name()"
    assert _run(cr, code) == _run(torch, code)


def test_registry_of_views_stays_small():
    """Nothing is kept per view on the version counter (session 39: a stale view is re-taken
    when read); the live views still read as re-taken."""
    a = cr.ones(4, 4, requires_grad=True) * 1
    kept = [a[i] for i in range(3)]
    for _ in range(1000):
        a[1:].t()
    gc.collect()
    assert len(a._vc) < 64
    a.mul_(2)
    assert {k.grad_fn.name() for k in kept} == {"AsStridedBackward0"}


_MANY = _A.replace("arange(6.", "arange(60.").replace("view(2,3)", "view(20,3)")


def test_many_live_views_of_a_changed_tensor_give_torchs_gradients():
    """Many live views of a tensor changed in place: each is replayed when next used (or its
    ``grad_fn`` read), so the gradients are torch's."""
    code = (
        "a0=t.arange(60.,dtype=t.float64).view(20,3).requires_grad_(); a=a0*1\n"
        "rows=[a[i] for i in range(20)]\n"
        "for i, row in enumerate(rows): row.mul_(i + 2)\n"
        "s=sum((row * row).sum() for row in rows); s.backward(); r=a0.grad.tolist()"
    )
    ours, theirs = _run(cr, code), _run(torch, code)
    assert isinstance(theirs, list)
    assert ours == theirs


def test_many_live_views_grad_fn_read_directly():
    code = _MANY + "rows=[a[i] for i in range(20)]; a.mul_(2); r=rows[3].grad_fn.name()"
    assert _run(cr, code) == _run(torch, code)


_L = "l=t.arange(1.,7.,dtype=t.float64).requires_grad_(); "

LEAF_VIEWS_NO_GRAD = {
    "view_mul_": _L + "v=l[1:]\nwith t.no_grad(): v.mul_(2)\n",
    "leaf_mul_": _L + "v=l[1:]\nwith t.no_grad(): l.mul_(2)\n",
    "view_zero_": _L + "v=l[1:4]\nwith t.no_grad(): v.zero_()\n",
    "view_fill_": _L + "v=l.view(2,3).t()\nwith t.no_grad(): v.fill_(3)\n",
    "view_copy_": _L + "v=l[::2]\nwith t.no_grad(): v.copy_(t.ones(3,dtype=t.float64))\n",
    "other_view_add_": _L + "v=l[1:]\nwith t.no_grad(): l[:2].add_(1)\n",
    "view_of_view": _L + "v=l.view(2,3)[1]\nwith t.no_grad(): l.view(2,3).mul_(3)\n",
}
_LEAF_USE = (
    "r=[v.grad_fn.name(), v.is_leaf, v.requires_grad]; s=(v*v).sum(); s.backward(); "
    "r+=[l.grad.tolist(), v.grad_fn.name(), v.tolist(), l._version]"
)


@pytest.mark.parametrize("case", list(LEAF_VIEWS_NO_GRAD), ids=list(LEAF_VIEWS_NO_GRAD))
def test_view_of_a_leaf_written_under_no_grad_then_used_like_torch(case):
    code = LEAF_VIEWS_NO_GRAD[case] + _LEAF_USE
    ours, theirs = _run(cr, code), _run(torch, code)
    assert ours == theirs


_V = "l=t.arange(6.).requires_grad_(); v=l[1:]; "
VIEW_OF_LEAF_WRITES = {
    "mul_": _V + "v.mul_(2)",
    "add_": _V + "v.add_(1)",
    "setitem": _V + "v[0]=1.",
    "copy_": _V + "v.copy_(t.ones(5))",
    "fill_": _V + "v.fill_(1)",
    "zero_": _V + "v.zero_()",
    "uniform_": _V + "v.uniform_()",
    "index_put_": _V + "v.index_put_((t.tensor([0]),), t.tensor(1.))",
    "relu_": _V + "t.relu_(v)",
    "F_relu_inplace": _V + "t.nn.functional.relu(v, inplace=True)",
    "t_": "l=t.arange(6.).view(2,3).requires_grad_(); v=l[1:]; v.t_()",
    "unsqueeze_": "l=t.arange(6.).view(2,3).requires_grad_(); v=l[1:]; v.unsqueeze_(0)",
    "mT_requires_grad": "l=t.ones(2,3); b=l.mT.requires_grad_(); v=b[0]; v.mul_(2)",
    "masked_fill_": _V + "v.masked_fill_(t.ones(5,dtype=t.bool), 0.)",
    "clamp_": _V + "v.clamp_(0, 1)",
    "set_": _V + "v.set_(t.ones(5))",
    "squeeze_": "l=t.arange(6.).view(2,3).requires_grad_(); v=l[1:]; v.squeeze_(0)",
    "as_strided_": _V + "v.as_strided_((2,),(1,))",
    "addmm_": "l=t.ones(3,3).requires_grad_(); v=l[1:]; v.addmm_(t.ones(2,3), t.ones(3,3))",
    "index_add_": "l=t.ones(3,3).requires_grad_(); v=l[1:]; "
    "v.index_add_(0, t.tensor([0]), t.ones(1,3))",
    "scatter_": "l=t.ones(3,3).requires_grad_(); v=l[1:]; "
    "v.scatter_(0, t.tensor([[0]]), t.ones(1,1))",
    "masked_scatter_": _V + "v.masked_scatter_(t.ones(5,dtype=t.bool), t.ones(5))",
    "normal_": _V + "v.normal_()",
    "bernoulli_": "l=t.ones(3).requires_grad_(); v=l[1:]; v.bernoulli_()",
    "put_": _V + "v.put_(t.tensor([0]), t.ones(1))",
    "setitem_ellipsis": _V + "v[...] = 2.",
    "tril_": "l=t.ones(3,3).requires_grad_(); v=l[1:]; v.tril_()",
    "fill_diagonal_": "l=t.ones(3,3).requires_grad_(); v=l[1:]; v.fill_diagonal_(0.)",
    "whole_view_exp_": "l=t.ones(3).requires_grad_(); v=l.view(3); v.exp_()",
    "mark_dirty": "class F(t.autograd.Function):\n"
    "    @staticmethod\n"
    "    def forward(ctx, x):\n"
    "        x.mul_(2); ctx.mark_dirty(x); return x\n"
    "    @staticmethod\n"
    "    def backward(ctx, g): return g*2\n" + _V + "F.apply(v)",
}


@pytest.mark.parametrize("case", list(VIEW_OF_LEAF_WRITES), ids=list(VIEW_OF_LEAF_WRITES))
def test_view_of_a_leaf_written_in_place_message_as_torch(case):
    ours, theirs = _run(cr, VIEW_OF_LEAF_WRITES[case]), _run(torch, VIEW_OF_LEAF_WRITES[case])
    assert theirs == (
        "raise",
        "RuntimeError",
        "a view of a leaf Variable that requires grad is being used in an in-place operation.",
    )
    assert ours == theirs


def _overlapping(lib, code: str) -> list:
    leaf = lib.arange(1.0, 6.0, dtype=lib.float64).requires_grad_()
    q = lib.arange(2.0, 7.0, dtype=lib.float64).requires_grad_()
    env = {"t": lib, "leaf": leaf, "q": q}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(code, env)
    out = env["out"]
    found = [out.detach().numpy().tolist(), out._version]
    if out.requires_grad:
        weights = lib.arange(1.0, out.numel() + 1, dtype=lib.float64).view(out.shape)
        grads = lib.autograd.grad((out * weights).sum(), [leaf, q], allow_unused=True)
        found += [None if g is None else g.numpy().tolist() for g in grads]
        found.append(out.grad_fn.name())
    return found


_X = "x=leaf*1; v=x.unfold(0,3,1); "
SETITEM_OVERLAPPING = {
    "column": _X + "v[:, 1] = q[:3]; out=x",
    "row": _X + "v[1] = q[:3]; out=x",
    "block": _X + "v[1:, 1:] = q[:2]; out=x",
    "view_used_after": _X + "v[:, 1] = q[:3]; out=v",
    "ellipsis": _X + "v[...] = q[:3]; out=x",
    "number": _X + "v[:, 1] = 2.; out=x",
    "index_tensor": _X + "v[t.tensor([0,2]), 1] = q[:2]; out=x",
    "as_strided": "x=leaf*1; v=x.as_strided((3,3),(1,1)); v[0] = q[:3]; out=x",
}


@pytest.mark.parametrize("case", list(SETITEM_OVERLAPPING), ids=list(SETITEM_OVERLAPPING))
def test_setitem_into_an_overlapping_view_like_torch(case):
    ours = _overlapping(cr, SETITEM_OVERLAPPING[case])
    theirs = _overlapping(torch, SETITEM_OVERLAPPING[case])
    assert ours[1:] == theirs[1:]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)


_N = "x=leaf.detach().clone(); v=x.unfold(0,3,1); "
OUT_OVERLAPPING = {
    "add_self": _N + "t.add(v, 1, out=v); out=x",
    "mul_self_self": _N + "t.mul(v, v, out=v); out=x",
    "add_copy": _N + "t.add(v*1, 1, out=v); out=x",
    "sub_as_strided": "x=leaf.detach().clone(); v=x.as_strided((3,3),(1,1)); "
    "t.sub(v, 1, out=v); out=x",
    "exp": _N + "t.exp(v, out=v); out=x",
    "other_input_in_memory": _N + "t.add(x[:3], 1, out=v); out=x",
    "maximum": _N + "t.maximum(v, v.flip(0)*1, out=v); out=x",
    "int": "x=t.arange(5); v=x.unfold(0,3,1); t.add(v, 1, out=v); out=x",
}


@pytest.mark.parametrize("case", list(OUT_OVERLAPPING), ids=list(OUT_OVERLAPPING))
def test_out_into_an_overlapping_view_like_torch(case):
    ours, theirs = (
        _overlapping(cr, OUT_OVERLAPPING[case]),
        _overlapping(torch, OUT_OVERLAPPING[case]),
    )
    assert ours[1:] == theirs[1:]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)


def _second_derivatives(lib, code: str) -> list:
    leaf = lib.arange(1.0, 6.0, dtype=lib.float64).requires_grad_()
    q = lib.arange(2.0, 5.0, dtype=lib.float64).requires_grad_()
    x = leaf * 1
    exec(code, {"x": x, "leaf": leaf, "q": q, "t": lib})
    firsts = lib.autograd.grad((x * x).sum(), [leaf, q], create_graph=True, allow_unused=True)
    found = []
    for g in firsts:
        if g is None:
            found.append(None)
            continue
        seconds = lib.autograd.grad(g.sum(), [leaf, q], allow_unused=True, retain_graph=True)
        found.append([g.detach().numpy()] + [None if h is None else h.numpy() for h in seconds])
    return found


DOUBLE_BACKWARD = {
    "mul_number": "x.unfold(0,3,1).mul_(2)",
    "mul_tensor": "x.unfold(0,3,1).mul_(q)",
    "mul_leaf_part": "x.unfold(0,3,1).mul_(leaf[:3])",
    "mul_detached": "x.unfold(0,3,1).mul_(q.detach())",
    "plain_slice": "x[1:4].mul_(q)",
    "as_strided_add_": "x.as_strided((3,3),(1,1)).add_(q)",
    "unfold_add_": "x.unfold(0,3,1).add_(q)",
    "windows_of_two": "x.unfold(0,2,1).mul_(q[:2])",
}


@pytest.mark.parametrize("case", list(DOUBLE_BACKWARD), ids=list(DOUBLE_BACKWARD))
def test_double_backward_through_an_overlapping_write_like_torch(case):
    ours = _second_derivatives(cr, DOUBLE_BACKWARD[case])
    theirs = _second_derivatives(torch, DOUBLE_BACKWARD[case])
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            for u, w in zip(a, b):
                assert (u is None) == (w is None)
                if u is not None:
                    np.testing.assert_allclose(u, w, rtol=1e-12)


def test_double_backward_through_an_overlapping_sigmoid_():
    ours = _second_derivatives(cr, "x.unfold(0,3,1).sigmoid_()")
    theirs = _second_derivatives(torch, "x.unfold(0,3,1).sigmoid_()")
    np.testing.assert_allclose(ours[0][1], theirs[0][1], rtol=1e-12)


def test_in_place_after_the_base_memory_was_swapped_runs_like_torch():
    """A view left outside its base's memory (``a.data = ...``) is not re-taken by the
    in-place op (it would not lie in the base): the op runs, as in torch."""
    found = []
    for lib in (cr, torch):
        x = lib.ones(2, 3, requires_grad=True)
        a = x * 1
        v = a[:, 1:]
        a.data = lib.zeros(2, 3)
        a.mul_(2)
        found.append((a.tolist(), v.tolist(), a._version, v._version))
    assert found[0] == found[1]
