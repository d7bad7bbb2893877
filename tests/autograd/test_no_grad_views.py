"""Views taken under ``no_grad`` of a tensor that requires grad, against PyTorch.

PyTorch's rule: such a view requires grad (as its base does), is a leaf without a
``grad_fn`` and has no gradient edge of its own: ops on it are recorded, yet backward never
reaches it or its base. Modifying it in place with grad mode on raises, and so does using
it with grad mode on after its base (or another view of the base) was modified in place.
Each test runs the same program on chainrule and on torch and compares what they do.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

VIEWS = {
    "slice": lambda x: x[0:2],
    "int_index": lambda x: x[0],
    "ellipsis": lambda x: x[...],
    "none_index": lambda x: x[None],
    "view": lambda x: x.view(12),
    "view_as": lambda x: x.view_as(x),
    "reshape": lambda x: x.reshape(12),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "t": lambda x: x.t(),
    "mT": lambda x: x.mT,
    "transpose": lambda x: x.transpose(0, 1),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "movedim": lambda x: x.movedim(0, 1),
    "expand": lambda x: x[None].expand(2, 3, 4),
    "narrow": lambda x: x.narrow(0, 0, 2),
    "select": lambda x: x.select(0, 1),
    "unbind": lambda x: x.unbind(0)[0],
    "unbind_1d": lambda x: x[0].unbind(0)[1],
    "split": lambda x: x.split(1)[0],
    "chunk": lambda x: x.chunk(2)[0],
    "tensor_split": lambda x: x.tensor_split(2)[0],
    "diagonal": lambda x: x.diagonal(),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x[None].squeeze(0),
    "unfold": lambda x: x.unfold(1, 2, 1),
    "as_strided": lambda x: x.as_strided((2, 2), (1, 1)),
}
NOT_VIEWS = {
    "detach": lambda x: x.detach(),
    "data": lambda x: x.data,
    "mul": lambda x: x * 2,
    "clone": lambda x: x.clone(),
}
VALUES = np.arange(12.0).reshape(3, 4) / 5.0


def _leaf(lib):
    return lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)


def _message(fn):
    """The RuntimeError ``fn()`` raises (its message), or None when it returns."""
    try:
        fn()
    except RuntimeError as err:
        return str(err)
    return None


def _made_under_no_grad(lib, make):
    x = _leaf(lib)
    with lib.no_grad():
        y = make(x)
    return x, y


@pytest.mark.parametrize("make", list(VIEWS.values()), ids=list(VIEWS))
def test_view_flags_backward_and_inplace_match_torch(make):
    got = {}
    for lib in (cr, torch):
        x, y = _made_under_no_grad(lib, make)
        flags = (y.requires_grad, y.is_leaf, y.grad_fn is None, y._is_view(), y._base is x)
        z = y * 3
        recorded = type(z.grad_fn).__name__ if lib is torch else z.grad_fn.name()
        z.sum().backward()  # nothing to reach: no error, no gradient anywhere
        message = _message(lambda y=y: y.add_(1))
        with lib.no_grad():
            y.fill_(7.0)  # allowed under no_grad: writes through to the base, unrecorded
        got[lib] = (flags, recorded, y.grad, x.grad, message, x.detach().numpy().copy())
    c, t = got[cr], got[torch]
    assert c[0] == t[0] == (True, True, True, True, True)
    assert c[1] == t[1] == "MulBackward0"
    assert c[2] is None and t[2] is None and c[3] is None and t[3] is None
    assert c[4] == t[4]
    assert t[4].startswith("A view was created in no_grad mode and is being modified inplace")
    np.testing.assert_array_equal(c[5], t[5])


@pytest.mark.parametrize("make", list(NOT_VIEWS.values()), ids=list(NOT_VIEWS))
def test_non_views_do_not_require_grad_like_torch(make):
    for lib in (cr, torch):
        _, y = _made_under_no_grad(lib, make)
        assert (y.requires_grad, y.is_leaf, y._is_view()) == (False, True, False)


def test_gradient_edge_is_none_and_other_inputs_still_get_theirs():
    got = {}
    for lib in (cr, torch):
        x, y = _made_under_no_grad(lib, lambda x: x[0])
        w = lib.ones(4, dtype=lib.float64, requires_grad=True)
        z = y * w
        edges = [e[0] is None for e in z.grad_fn.next_functions]
        z.sum().backward()
        got[lib] = (edges, x.grad, y.grad, w.grad.detach().numpy())
    assert got[cr][:3] == got[torch][:3] == ([True, False], None, None)
    np.testing.assert_array_equal(got[cr][3], got[torch][3])


def _recording_mul(lib, seen: dict) -> type:
    """A user Function ``a * b`` of ``lib`` whose backward records ``needs_input_grad``."""

    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen[lib] = tuple(ctx.needs_input_grad)
            return g, g

    return Mul


def test_custom_function_needs_input_grad_like_torch():
    seen = {}
    for lib in (cr, torch):
        _, y = _made_under_no_grad(lib, lambda x: x[0])
        w = lib.ones(4, dtype=lib.float64, requires_grad=True)
        _recording_mul(lib, seen).apply(y, w).sum().backward()
    assert seen[cr] == seen[torch] == (True, True)


def test_view_as_root_or_input_of_backward_like_torch():
    for lib in (cr, torch):
        _, y = _made_under_no_grad(lib, lambda x: x[0])
        ones = lib.ones(4, dtype=lib.float64)
        assert "does not require grad" in _message(lambda y=y, o=ones: y.backward(o))
        assert "does not require grad" in _message(
            lambda lib=lib, y=y, o=ones: lib.autograd.grad(y, y, o)
        )
        assert "not" in _message(lambda lib=lib, y=y: lib.autograd.grad((y * 3).sum(), y))
        assert lib.autograd.grad((y * 3).sum(), y, allow_unused=True) == (None,)
        (y * 3).sum().backward(inputs=[y])
        assert y.grad is None


def test_hooks_and_retain_grad_are_accepted_and_never_run_like_torch():
    for lib in (cr, torch):
        _, y = _made_under_no_grad(lib, lambda x: x[1])
        calls = []
        y.register_hook(lambda g, calls=calls: calls.append(g))
        y.retain_grad()
        (y * 3).sum().backward()
        assert calls == [] and y.grad is None and not y.retains_grad


def test_requires_grad_follows_the_base_like_torch():
    for lib in (cr, torch):
        _, y = _made_under_no_grad(lib, lambda x: x[1])
        y.requires_grad_(False)  # the view's flag comes from its base: unchanged
        assert y.requires_grad
        y.requires_grad = False
        assert y.requires_grad


def test_view_of_plain_tensor_made_to_require_grad_is_its_own_leaf_like_torch():
    got = {}
    for lib in (cr, torch):
        b = lib.tensor(VALUES, dtype=lib.float64)
        with lib.no_grad():
            u = b[0]
        assert not u.requires_grad
        u.requires_grad_(True)
        (u * 2).sum().backward()
        got[lib] = u.grad.detach().numpy()
        message = _message(lambda u=u: u.add_(1))
        assert message.startswith("A view was created in no_grad mode")
    np.testing.assert_array_equal(got[cr], got[torch])


def test_inplace_with_a_grad_requiring_value_raises_like_torch():
    for lib in (cr, torch):
        b = lib.tensor(VALUES, dtype=lib.float64)
        with lib.no_grad():
            u = b[0]
        w = lib.ones(4, dtype=lib.float64, requires_grad=True)
        assert _message(lambda u=u, w=w: u.add_(w)).startswith("A view was created in no_grad")
        u.add_(1)  # nothing requires grad: an ordinary write, as in torch
    assert b[0, 0].item() == 1.0


@pytest.mark.parametrize(
    "write",
    [
        lambda y: y.copy_(y.detach() * 0),
        lambda y: y.zero_(),
        lambda y: y.fill_(1.0),
        lambda y: y.uniform_(),
        lambda y: y.unsqueeze_(0),
        lambda y: y.t_(),
    ],
    ids=["copy_", "zero_", "fill_", "uniform_", "unsqueeze_", "t_"],
)
def test_every_inplace_path_raises_torchs_error(write):
    messages = []
    for lib in (cr, torch):
        _, y = _made_under_no_grad(lib, lambda x: x[0:2])
        messages.append(_message(lambda y=y: write(y)))
    assert messages[0] == messages[1]
    assert messages[1].startswith("A view was created in no_grad mode")


def test_view_of_a_no_grad_view_made_with_grad_on_like_torch():
    got = {}
    for lib in (cr, torch):
        x, n1 = _made_under_no_grad(lib, lambda x: x[0:2])
        n2 = n1.view(8)
        n3 = n1.unbind(0)[0]
        flags = (n2.requires_grad, n2.is_leaf, n2._base is x)
        (n2 * 2).sum().backward()
        got[lib] = (
            flags,
            x.grad,
            _message(lambda n2=n2: n2.add_(1)),
            _message(lambda n3=n3: n3.add_(1)),
        )
    assert got[cr] == got[torch]
    assert got[torch][2].startswith("Output 0 of View is a view of a view which was created")
    assert got[torch][3].startswith("Output 0 of Unbind is a view and is being modified")


def test_no_grad_view_of_a_view_made_with_grad_on_like_torch():
    for lib in (cr, torch):
        x = _leaf(lib)
        v1 = x[0:2]
        with lib.no_grad():
            v2 = v1[0]
        assert (v2.requires_grad, v2.is_leaf, v2._base is x) == (True, True, True)
        assert _message(lambda v2=v2: v2.add_(1)).startswith("A view was created in no_grad")


@pytest.mark.parametrize("under_no_grad", [True, False], ids=["base_no_grad", "base_grad"])
def test_use_after_base_modified_raises_like_torch(under_no_grad):
    messages = []
    for lib in (cr, torch):
        a = _leaf(lib)
        b = a * 1
        with lib.no_grad():
            v = b[0]
            n1 = b[1:]
        n2 = n1.view(8)
        if under_no_grad:
            with lib.no_grad():
                b.mul_(2)
        else:
            b.mul_(2)
        with lib.no_grad():
            assert not (v * 3).requires_grad  # fine under no_grad
        messages.append((_message(lambda v=v: v * 3), _message(lambda n2=n2: n2 * 3)))
    assert messages[0] == messages[1]
    direct, nested = messages[1]
    assert direct.startswith("A view was created in no_grad mode and its base or another view")
    assert nested.startswith("Output 0 of View is a view of a view which was created in no_grad")


def test_view_of_base_without_grad_after_base_modified_is_fine_like_torch():
    for lib in (cr, torch):
        b = lib.tensor(VALUES, dtype=lib.float64)
        with lib.no_grad():
            u = b[0]
        b.add_(1)
        w = lib.ones(4, dtype=lib.float64, requires_grad=True)
        (u * w).sum().backward()
        np.testing.assert_array_equal(w.grad.detach().numpy(), VALUES[0] + 1)


def test_inference_mode_view_like_torch():
    for lib in (cr, torch):
        x = _leaf(lib)
        with lib.inference_mode():
            y = x[0]
        assert (y.requires_grad, y.is_leaf, y.is_inference()) == (True, True, False)


def test_parameter_updates_under_no_grad_are_unaffected():
    got = {}
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.tensor(VALUES, dtype=lib.float64))
        (p * p).sum().backward()
        with lib.no_grad():
            p -= 0.1 * p.grad
            p[0] = 5.0
            q = p[1:]
            q.mul_(2)
        p.grad = None
        (p * 3).sum().backward()
        opt = lib.optim.SGD([p], lr=0.5, momentum=0.9)
        opt.step()
        got[lib] = (p.detach().numpy().copy(), p.grad.detach().numpy(), p.is_leaf)
    np.testing.assert_allclose(got[cr][0], got[torch][0], rtol=1e-12)
    np.testing.assert_array_equal(got[cr][1], got[torch][1])
    assert got[cr][2] and got[torch][2]
