"""``autograd.grad`` and ``autograd.backward`` take PyTorch's full argument lists:
``is_grads_batched``, ``materialize_grads``, ``only_inputs`` (grad) and ``inputs``,
``grad_variables`` (backward); each compared with torch on the same graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

A = np.array([0.5, -1.5, 2.0])


def _both(values: np.ndarray = A) -> tuple:
    return cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def test_is_grads_batched_rows_are_vector_jacobian_products() -> None:
    (x, tx), (w, tw) = _both(), _both(np.array([1.0, 2.0, -1.0]))
    basis = np.eye(3)
    for create_graph in (False, True):
        y, ty = x.sin() * w, tx.sin() * tw
        got = cr.autograd.grad(
            y, [x, w], cr.tensor(basis), is_grads_batched=True, create_graph=create_graph
        )
        want = torch.autograd.grad(ty, [tx, tw], torch.tensor(basis), is_grads_batched=True)
        for g, t in zip(got, want):
            assert tuple(g.shape) == tuple(t.shape) == (3, 3)
            np.testing.assert_allclose(_np(g), _np(t), rtol=1e-14)
        assert got[0].requires_grad is create_graph


def test_is_grads_batched_is_differentiable_with_create_graph() -> None:
    # The batched Jacobian of x**3, differentiated again: d/dx sum(J) = 6x.
    x, tx = _both()
    kw = dict(retain_graph=True, create_graph=True, is_grads_batched=True)
    (jac,) = cr.autograd.grad(x**3, x, cr.eye(3, dtype=cr.float64), **kw)
    (tjac,) = torch.autograd.grad(tx**3, tx, torch.eye(3, dtype=torch.float64), **kw)
    (g,) = cr.autograd.grad(jac.sum(), x)
    (tg,) = torch.autograd.grad(tjac.sum(), tx)
    np.testing.assert_allclose(g.numpy(), tg.numpy())


def test_is_grads_batched_several_outputs_and_unused_inputs() -> None:
    (x, tx), (z, tz) = _both(), _both(np.array([3.0]))
    y1, y2 = x * x, (x * x).sum()
    t1, t2 = tx * tx, (tx * tx).sum()
    gos = [np.eye(3)[:2], np.ones(2)]
    got = cr.autograd.grad(
        [y1, y2], [x, z], [cr.tensor(g) for g in gos], is_grads_batched=True, allow_unused=True
    )
    want = torch.autograd.grad(
        [t1, t2], [tx, tz], [torch.tensor(g) for g in gos], is_grads_batched=True, allow_unused=True
    )
    np.testing.assert_allclose(_np(got[0]), _np(want[0]))
    assert got[1] is None and want[1] is None


@pytest.mark.parametrize("bad", [np.ones(3), np.ones((2, 4))])
def test_is_grads_batched_shape_errors_match_torch(bad: np.ndarray) -> None:
    x, tx = _both()
    with pytest.raises(RuntimeError, match="first dimension of each grad_output"):
        cr.autograd.grad(x * 2, x, cr.tensor(bad), is_grads_batched=True)
    with pytest.raises(RuntimeError, match="first dimension of each grad_output"):
        torch.autograd.grad(tx * 2, tx, torch.tensor(bad), is_grads_batched=True)


def test_materialize_grads() -> None:
    (x, tx), (z, tz) = _both(), _both(np.array([3.0, 4.0]))
    for create_graph in (False, True):
        got = cr.autograd.grad(
            (x * x).sum(), [x, z], materialize_grads=True, create_graph=create_graph
        )
        want = torch.autograd.grad(
            (tx * tx).sum(), [tx, tz], materialize_grads=True, create_graph=create_graph
        )
        for g, t in zip(got, want):
            np.testing.assert_array_equal(_np(g), _np(t))
            assert g.requires_grad == t.requires_grad
    for lib, a, b in ((cr, x, z), (torch, tx, tz)):
        with pytest.raises(ValueError, match="allow_unused to be True or not passed"):
            lib.autograd.grad((a * a).sum(), [a, b], materialize_grads=True, allow_unused=False)
        with pytest.raises(RuntimeError, match="allow_unused=True"):
            lib.autograd.grad((a * a).sum(), [a, b])  # allow_unused defaults to False


def test_only_inputs_false_warns_as_torch() -> None:
    x, tx = _both()
    for lib, a in ((cr, x), (torch, tx)):
        with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
            lib.autograd.grad((a * a).sum(), a, only_inputs=False)


def test_backward_inputs_accumulates_only_there() -> None:
    (a, ta), (b, tb) = _both(np.array([1.0, 2.0])), _both(np.array(3.0))
    for lib, p, q in ((cr, a, b), (torch, ta, tb)):
        lib.autograd.backward((p * q).sum(), inputs=[q])
        lib.autograd.backward([(p * q).sum()], grad_tensors=[lib.tensor(2.0)], inputs=q)
        with pytest.raises(RuntimeError, match="cannot be empty"):
            lib.autograd.backward([(p * q).sum()], inputs=[])
    assert a.grad is None and ta.grad is None
    assert b.grad.item() == tb.grad.item() == 9.0


def test_backward_grad_variables_is_the_deprecated_grad_tensors() -> None:
    (a, ta) = _both(np.array([1.0, 2.0]))
    for lib, p in ((cr, a), (torch, ta)):
        with pytest.warns(FutureWarning, match="grad_variables"):
            lib.autograd.backward([p * 3], grad_variables=[lib.tensor([1.0, 0.5], dtype=p.dtype)])
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())


def test_anomaly_check_nan_false_raises_instead_of_switching_off():
    with pytest.raises(NotImplementedError, match="check_nan=False"):
        cr.autograd.detect_anomaly(check_nan=False)
    with pytest.raises(NotImplementedError, match="check_nan=False"):
        cr.autograd.set_detect_anomaly(True, check_nan=False)
    with cr.autograd.set_detect_anomaly(False, check_nan=False):  # off: nothing to check
        assert not cr.autograd.is_anomaly_enabled()
