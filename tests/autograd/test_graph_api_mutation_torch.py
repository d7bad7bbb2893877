"""``cr.autograd.graph``'s PyTorch names about in-place changes, compared live with
``torch.autograd.graph``: ``increment_version`` and ``allow_mutation_on_saved_tensors``."""

from __future__ import annotations

import torch

import chainrule as cr

from .test_graph_api_torch import LIBS, _close, _error, _leaf


# -------------------------------------------------------------------- increment_version
def test_increment_version_matches_torch():
    errors = {}
    for lib in LIBS:
        iv = lib.autograd.graph.increment_version
        x = _leaf(lib)
        y = x * 1
        v = y[:2]
        z = (y * y).sum()
        iv(y)
        assert (y._version, v._version, x._version) == (1, 1, 0)  # shared with the view
        kind, msg = _error(z.backward)
        assert kind is RuntimeError and "modified by an inplace operation" in msg.replace(
            "in-place", "inplace"
        )
        iv([y, x])
        iv(t for t in [y])  # any iterable
        iv([])
        assert (y._version, x._version) == (3, 1)
        with lib.inference_mode():
            i = lib.ones(2)
        iv(i)  # an inference tensor has no counter: left alone
        assert i.is_inference()
    for lib in LIBS:
        iv = lib.autograd.graph.increment_version
        errors[lib] = [_error(lambda iv=iv, b=bad: iv(b)) for bad in (3, [lib.ones(1), 3])]
    for (kind_torch, msg_torch), (kind_cr, msg_cr) in zip(errors[torch], errors[cr]):
        assert kind_torch is kind_cr is RuntimeError
        assert msg_cr.startswith(msg_torch)


# ------------------------------------------------------- allow_mutation_on_saved_tensors
def _mutations(lib):
    allow = lib.autograd.graph.allow_mutation_on_saved_tensors
    out = []
    with allow() as state:
        a = _leaf(lib)
        b = a.clone()
        loss = (b**2).sum()
        b.sin_()  # b was saved by the square
        loss.backward(retain_graph=True)
        b.cos_()
        loss.backward()  # again, after another change
        out.append(a.grad.clone())
        e = a.exp()
        e.mul_(3)  # exp saved its output
        e.sum().backward()
        out.append(a.grad.clone())
        w, x = _leaf(lib), _leaf(lib, [1.0, 2.0, 3.0])
        loss = (w * x).sum()
        with lib.no_grad():
            w.mul_(10)  # an optimizer-like step on a saved leaf
        loss.backward()
        out += [x.grad, w.grad]
        c = a.clone()
        loss = (c**3).sum()
        c.sin_()
        (g,) = lib.autograd.grad(loss, a, create_graph=True)
        out += lib.autograd.grad(g.sum(), a)  # second derivative of the original values
    assert type(state).__name__ == "_AllowMutationOnSavedContext"
    return out


def test_allow_mutation_on_saved_tensors_matches_torch():
    _close(_mutations(cr), _mutations(torch))


def test_allow_mutation_on_saved_tensors_errors_match_torch():
    def outside(lib, record_inside):
        allow = lib.autograd.graph.allow_mutation_on_saved_tensors
        a = _leaf(lib)
        b = a.clone()
        if record_inside:  # recorded inside, run backward after the block
            with allow():
                loss = (b**2).sum()
            loss.backward()
        else:  # recorded before the block: the change is caught as usual
            loss = (b**2).sum()
            with allow():
                b.sin_()
                loss.backward()

    def nested(lib):
        with lib.autograd.graph.allow_mutation_on_saved_tensors():
            with lib.autograd.graph.allow_mutation_on_saved_tensors():
                pass

    (kind_torch, msg_torch), (kind_cr, msg_cr) = (
        _error(lambda lib=lib: outside(lib, True)) for lib in LIBS
    )
    assert kind_cr is kind_torch is AssertionError  # torch's message lacks a space: "contextin"
    assert msg_cr.replace(" ", "") == msg_torch.replace(" ", "")
    assert _error(lambda: nested(cr)) == _error(lambda: nested(torch))
    assert _error(lambda: outside(cr, False))[0] is _error(lambda: outside(torch, False))[0]
    with cr.autograd.graph.allow_mutation_on_saved_tensors():  # the block was closed cleanly
        pass
