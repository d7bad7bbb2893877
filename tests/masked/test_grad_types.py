"""Gradients of MaskedTensors are MaskedTensors, as torch's: ``autograd.grad`` with respect
to a MaskedTensor leaf, and the gradient ``as_masked_tensor`` passes back to its data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

DATA = [1.0, -2.0, 3.0, 0.5]
MASK = [True, False, True, True]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _in_mask(mt) -> list:
    """The data under the mask (what both libraries define)."""
    mask = mt.get_mask().numpy()
    return mt.get_data().detach().numpy()[mask].tolist()


def _check(ours, theirs) -> None:
    assert type(theirs).__name__ == "MaskedTensor"
    assert isinstance(ours, cr.masked.MaskedTensor), type(ours)
    assert ours.get_mask().tolist() == theirs.get_mask().tolist()
    np.testing.assert_allclose(_in_mask(ours), _in_mask(theirs))


@pytest.mark.parametrize("how", ["constructor", "requires_grad_"])
def test_autograd_grad_of_a_masked_leaf_is_a_masked_tensor(how):
    def build(lib):
        data, mask = lib.tensor(DATA), lib.tensor(MASK)
        if how == "constructor":
            return lib.masked.masked_tensor(data, mask, requires_grad=True)
        return lib.masked.masked_tensor(data, mask).requires_grad_()

    theirs, ours = build(torch), build(cr)
    (gt,) = torch.autograd.grad((theirs * theirs).sum(), theirs)
    (gc,) = cr.autograd.grad((ours * ours).sum(), ours)
    _check(gc, gt)


def test_autograd_grad_with_a_masked_grad_output():
    theirs = torch.masked.masked_tensor(torch.tensor(DATA), torch.tensor(MASK), True)
    ours = cr.masked.masked_tensor(cr.tensor(DATA), cr.tensor(MASK), True)
    go_t = torch.masked.masked_tensor(torch.tensor([2.0] * 4), torch.tensor(MASK))
    go_c = cr.masked.masked_tensor(cr.tensor([2.0] * 4), cr.tensor(MASK))
    (gt,) = torch.autograd.grad(theirs.exp(), theirs, grad_outputs=go_t)
    (gc,) = cr.autograd.grad(ours.exp(), ours, grad_outputs=go_c)
    _check(gc, gt)


def test_as_masked_tensor_gives_its_data_a_masked_grad_and_accumulates():
    xt = torch.tensor(DATA, requires_grad=True)
    xc = cr.tensor(DATA, requires_grad=True)
    for _ in range(3):  # a training loop: one MaskedTensor per step
        (torch.masked.as_masked_tensor(xt, torch.tensor(MASK)) * 2).sum().backward()
        (cr.masked.as_masked_tensor(xc, cr.tensor(MASK)) * 2).sum().backward()
    _check(xc.grad, xt.grad)
    assert len(xc._hooks) == 1  # one hook on the data however many MaskedTensors
    assert not xc.__dict__  # no attribute that torch.save or deepcopy would carry


def test_as_masked_tensor_autograd_grad_with_respect_to_the_data():
    xt = torch.tensor(DATA, requires_grad=True)
    xc = cr.tensor(DATA, requires_grad=True)
    mt_t = torch.masked.as_masked_tensor(xt, torch.tensor(MASK))
    mt_c = cr.masked.as_masked_tensor(xc, cr.tensor(MASK))
    (gt,) = torch.autograd.grad((mt_t * 3).sum(), xt)
    (gc,) = cr.autograd.grad((mt_c * 3).sum(), xc)
    _check(gc, gt)


def test_plain_backward_through_the_data_afterwards_stays_plain():
    xc = cr.tensor(DATA, requires_grad=True)
    xt = torch.tensor(DATA, requires_grad=True)
    cr.masked.as_masked_tensor(xc, cr.tensor(MASK))
    torch.masked.as_masked_tensor(xt, torch.tensor(MASK))
    (xc * 2).sum().backward()
    (xt * 2).sum().backward()
    assert type(xc.grad) is cr.Tensor and type(xt.grad) is torch.Tensor
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy())


def test_as_masked_tensor_without_grad_keeps_no_history():
    xc = cr.tensor(DATA)
    mt = cr.masked.as_masked_tensor(xc, cr.tensor(MASK))
    assert not mt.requires_grad and xc._hooks is None


def test_create_graph_gradient_of_a_masked_leaf_keeps_its_history():
    ours = cr.masked.masked_tensor(cr.tensor(DATA), cr.tensor(MASK), requires_grad=True)
    theirs = torch.masked.masked_tensor(torch.tensor(DATA), torch.tensor(MASK), True)
    (ours * ours * ours).sum().backward(create_graph=True)
    (theirs * theirs * theirs).sum().backward(create_graph=True)
    assert ours.grad.requires_grad and theirs.grad.requires_grad
    _check(ours.grad, theirs.grad)
    (gc,) = cr.autograd.grad(ours.grad.sum(), ours)
    (gt,) = torch.autograd.grad(theirs.grad.sum(), theirs)
    _check(gc, gt)
