"""Inference tensors (``Tensor.is_inference()``, ``cr.is_inference``) behave as PyTorch's.

Each case runs the same code on torch and on chainrule and compares the outcome: the
``is_inference()`` flag of the result, or the type of the exception raised.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import inference as _inference
from chainrule.autograd.tensor import Tensor


def _outcome(lib, fn):
    """``fn(lib, w, x, xi)`` with ``w`` a float64 leaf requiring grad and ``x`` (float64),
    ``xi`` (int64) inference tensors: ("ok", result.is_inference()) or ("raises", type)."""
    w = lib.ones(3, dtype=lib.float64, requires_grad=True)
    with lib.inference_mode():
        x = lib.ones(3, dtype=lib.float64)
        xi = lib.arange(3)
    try:
        out = fn(lib, w, x, xi)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return "raises", type(e).__name__
    return "ok", bool(out.is_inference())


def _setitem(y, value):
    y[0] = value
    return y


CASES = {
    # ops outside the mode read inference tensors freely: results are normal, views are not
    "x * 2": lambda L, w, x, xi: x * 2,
    "x.sum()": lambda L, w, x, xi: x.sum(),
    "x[0:2]": lambda L, w, x, xi: x[0:2],
    "x.view": lambda L, w, x, xi: x.view(3, 1),
    "x.expand": lambda L, w, x, xi: x.expand(2, 3),
    "x.split()[0]": lambda L, w, x, xi: x.split(1)[0],
    "x.double() (no-op)": lambda L, w, x, xi: x.double(),
    "x.float()": lambda L, w, x, xi: x.float(),
    "ones_like(x)": lambda L, w, x, xi: L.ones_like(x),
    "x.clone()": lambda L, w, x, xi: x.clone(),
    "x.clone() * w": lambda L, w, x, xi: x.clone() * w,
    "x.clone().add_": lambda L, w, x, xi: x.clone().add_(1),
    "x.detach()": lambda L, w, x, xi: x.detach(),
    "x.detach().add_": lambda L, w, x, xi: x.detach().add_(1),
    "x.data.add_": lambda L, w, x, xi: x.data.add_(1),
    "x.detach()._version": lambda L, w, x, xi: L.tensor(x.detach()._version),
    # recorded ops: only an op that saves the inference tensor for backward refuses it
    "w + x": lambda L, w, x, xi: w + x,
    "cat([w, x])": lambda L, w, x, xi: L.cat([w, x]),
    "where(x > 0, w, 2w)": lambda L, w, x, xi: L.where(x > 0, w, w * 2),
    "(w * 1).copy_(x)": lambda L, w, x, xi: (w * 1).copy_(x),
    "(w * 1)[0] = x[0]": lambda L, w, x, xi: _setitem(w * 1, x[0]),
    "w * x": lambda L, w, x, xi: w * x,
    "x / w": lambda L, w, x, xi: x / w,
    "w @ x": lambda L, w, x, xi: w @ x,
    "w.exp() * x": lambda L, w, x, xi: w.exp() * x,
    "w[xi]": lambda L, w, x, xi: w[xi],
    "(w * 1).mul_(x)": lambda L, w, x, xi: (w * 1).mul_(x),
    "x.detach() * w": lambda L, w, x, xi: x.detach() * w,
    "x.data * w": lambda L, w, x, xi: x.data * w,
    # in-place updates and requires_grad outside the mode
    "x.add_": lambda L, w, x, xi: x.add_(1),
    "x.fill_": lambda L, w, x, xi: x.fill_(2.0),
    "x.zero_": lambda L, w, x, xi: x.zero_(),
    "x[0] = 2": lambda L, w, x, xi: _setitem(x, 2.0),
    "x[0:2].mul_": lambda L, w, x, xi: x[0:2].mul_(2),
    "x.uniform_": lambda L, w, x, xi: x.uniform_(),
    "x.unsqueeze_": lambda L, w, x, xi: x.unsqueeze_(0),
    "xi.add_ (int)": lambda L, w, x, xi: xi.add_(1),
    "x.requires_grad_()": lambda L, w, x, xi: x.requires_grad_(),
    "x.requires_grad_(False)": lambda L, w, x, xi: x.requires_grad_(False),
    "x.detach().requires_grad_()": lambda L, w, x, xi: x.detach().requires_grad_(),
    "x._version": lambda L, w, x, xi: L.tensor(x._version),
}


@pytest.mark.parametrize("name", list(CASES))
def test_outside_the_mode_like_torch(name):
    fn = CASES[name]
    assert _outcome(cr, fn) == _outcome(torch, fn)


def test_made_inside_the_mode_like_torch():
    for lib in (torch, cr):
        n = lib.ones(3)
        with lib.inference_mode():
            made = {
                "factory": lib.ones(3),
                "tensor": lib.tensor([1.0, 2.0]),
                "op result": n * 2,
                "clone of normal": n.clone(),
                "view of normal": n[0:2],
                "detach of normal": n.detach(),
                "data of normal": n.data,
                "n.float() (no-op)": n.float(),
            }
            x = lib.ones(3)
            made["view of inference"] = x[0:2]
            made["detach of inference"] = x.detach()
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
        flags = {k: bool(v.is_inference()) for k, v in made.items()}
        if lib is torch:
            want = flags
        else:
            assert flags == want
    assert not cr.ones(1).is_inference() and not cr.is_inference(cr.ones(1))


def test_inplace_inside_the_mode_is_allowed():
    with cr.inference_mode():
        x = cr.zeros(3)
        x.add_(1)
        x[0] = 5.0
        cr.ones(2).requires_grad_()
        with pytest.raises(RuntimeError, match="do not track a version"):
            _ = x._version
    np.testing.assert_array_equal(x.numpy(), [5.0, 1.0, 1.0])


def test_inplace_error_names_the_fix():
    with cr.inference_mode():
        x = cr.ones(3)
    with pytest.raises(
        RuntimeError, match=r"^Inplace update to inference tensor outside InferenceMode.*clone"
    ):
        x.add_(1)
    # written, then refused when the version bumps, as PyTorch (session 43: it was refused
    # before the write; test_versions_session43 compares the values with torch's)
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])


def test_saved_for_backward_raises_at_the_op_not_at_backward():
    w = cr.ones(3, requires_grad=True)
    with cr.inference_mode():
        x = cr.ones(3)
    with pytest.raises(RuntimeError, match=r"Mul: an inference tensor.*saved for backward"):
        w * x  # noqa: B018 - the op itself raises
    y = w * x.clone()  # the fix the message names
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0, 1.0])


def test_modes_nest_like_torch():
    for lib in (torch, cr):
        w = lib.ones(2, requires_grad=True)
        seen = []
        with lib.inference_mode():
            with lib.enable_grad():  # reports grad on, records nothing
                z = w * 2
                seen += [lib.is_grad_enabled(), z.requires_grad, z.is_inference()]
            with lib.inference_mode(False):
                z = w * lib.ones(2)
                seen += [lib.is_grad_enabled(), z.requires_grad, z.is_inference()]
                seen += [lib.is_inference_mode_enabled(), lib.ones(1).is_inference()]
                with lib.inference_mode():
                    seen += [lib.is_grad_enabled(), lib.ones(1).is_inference()]
            with lib.no_grad(), lib.inference_mode(False):
                seen += [lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
        seen += [lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
        if lib is torch:
            want = seen
        else:
            assert seen == want


def test_decorator_and_generator():
    @cr.inference_mode()
    def make():
        return cr.ones(2)

    @cr.inference_mode
    def gen():
        yield cr.ones(1)
        yield cr.ones(1)

    assert make().is_inference()
    assert all(t.is_inference() for t in gen())
    assert not cr.ones(1).is_inference()


def test_module_forward_under_inference_mode_like_torch():
    tm = torch.nn.Linear(3, 2).double().eval()
    cm = cr.nn.Linear(3, 2).double().eval()
    with cr.no_grad():
        cm.weight.copy_(cr.tensor(tm.weight.detach().numpy()))
        cm.bias.copy_(cr.tensor(tm.bias.detach().numpy()))
    data = np.arange(6.0).reshape(2, 3)
    with torch.inference_mode():
        want = tm(torch.tensor(data))
    with cr.inference_mode():
        got = cm(cr.tensor(data))
    assert got.is_inference() == want.is_inference() and not got.requires_grad
    assert not cm.weight.is_inference()
    np.testing.assert_allclose(got.numpy(), want.numpy())
    # the parameters still train outside the mode, the inference output feeds normal ops
    cm(cr.tensor(data)).sum().backward()
    assert cm.weight.grad is not None and not (got + 1).is_inference()


def test_parameter_made_inside_the_mode_like_torch():
    outcomes = []
    for lib in (torch, cr):
        with lib.inference_mode():
            p = lib.nn.Parameter(lib.zeros(2))
        (p * 2).sum().backward()  # multiplying by a number saves nothing of p
        try:
            p.add_(1)  # a leaf requiring grad: that error comes first
            err = None
        except RuntimeError as e:
            err = "leaf" in str(e).lower()
        outcomes.append((bool(p.is_inference()), p.requires_grad, p.grad.tolist(), err))
    assert outcomes[0] == outcomes[1]


def test_is_inference_rejects_non_tensors_like_torch():
    with pytest.raises(TypeError):
        torch.is_inference(3)
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        cr.is_inference(3)


def test_other_threads_make_normal_tensors():
    entered, made = threading.Event(), threading.Event()
    out = {}

    def inside():
        with cr.inference_mode():
            out["inside"] = cr.ones(1).is_inference()
            entered.set()
            made.wait(30)

    t = threading.Thread(target=inside)
    t.start()
    assert entered.wait(30)
    out["other"] = cr.ones(1).is_inference() or (cr.ones(1) * 2).is_inference()
    made.set()
    t.join(30)
    assert out == {"inside": True, "other": False}


def test_plain_constructors_are_back_after_the_mode():
    # outside every inference block the per-op path runs the plain, unmarking constructors
    plain_make = Tensor.__dict__["_make"]
    with cr.inference_mode():
        assert Tensor.__dict__["_make"] is not plain_make
        with cr.inference_mode(False):
            assert not cr.ones(1).is_inference()
    assert Tensor.__dict__["_make"] is _inference._plain_make_descriptor
    assert Tensor._init_leaf is _inference._plain_init_leaf
