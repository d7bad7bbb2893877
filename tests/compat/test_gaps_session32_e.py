"""Gaps found by the session-32 (batch e) drop-in programs (``monai_unet3d_dicece``,
``video_r2plus1d_timesformer``, ``nhits_forecast``, ``dcnv2_cross_moe``, ``lovasz_softmax_seg``,
``openfold_triangle_multiplicative``, ``dinov2_koleo_sinkhorn``), each checked against PyTorch.

The seven programs matched PyTorch as first written; probing the APIs around their idioms
(``scatter_(value=)``, ``one_hot``, ``InstanceNorm3d``, ``PReLU``, ``ConvTranspose3d``,
``MaxPool1d(ceil_mode=True)``, ``F.interpolate`` in every mode, ``EmbeddingBag`` with
``per_sample_weights``, ``torch.sort``/``torch.dot``/``cumsum``, the legacy ``Variable``,
``PairwiseDistance``, ``fill_diagonal_``, the ``_foreach_*`` ops, ``einsum``, first and second
derivatives of each) found these differences, now closed:

- ``torch.autograd.Variable`` was a function, so ``isinstance(x, Variable)`` (legacy code's
  ``if isinstance(x, Variable): x = x.data``) raised TypeError; it is now a class whose
  instances are all tensors (PyTorch's ``VariableMeta``), and calling it still returns a
  Tensor. ``Variable()`` is an empty tensor, ``volatile=True`` with ``requires_grad=True``
  raises ValueError, and the legacy ``name`` argument is accepted, as in PyTorch.
- ``torch._weight_norm(v, g, dim=0)`` was missing: code folding weight-norm checkpoints
  (``weight_g``/``weight_v``, or ``parametrizations.weight.original0``/``original1``) into
  plain weights calls it. It is ``v * (g / norm_except_dim(v, 2, dim))`` (``dim=-1``: the norm
  of all of ``v``), differentiable (op spec ``raw_weight_norm_d*``), with PyTorch's errors for
  a 0-d ``v``, a non-int ``dim``, integer dtypes (NotImplementedError) and mixed dtypes; a
  ``g`` that does not fit ``v`` raises naming the op (PyTorch's fused kernel reads past it).
- ``nansum``/``nanmean`` gradients at NaN entries are PyTorch's product ``grad * ~isnan(x)``:
  NaN where the incoming gradient is infinite (an all-NaN slice's mean), where chainrule's
  ``where`` gave 0.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_isinstance_of_variable_is_isinstance_of_tensor(m: Any) -> None:
    Variable = m.autograd.Variable
    assert isinstance(m.ones(2), Variable)
    assert isinstance(m.nn.Parameter(m.ones(2)), Variable)
    assert isinstance(m.ones(2, requires_grad=True) * 2, Variable)
    assert not isinstance(3.0, Variable)
    assert not isinstance(np.ones(2), Variable)
    assert isinstance(Variable, type)

    def unwrap(x: Any) -> Any:  # the legacy idiom
        if isinstance(x, Variable):
            x = x.data
        return x

    assert unwrap(m.ones(2, requires_grad=True)).requires_grad is False
    assert unwrap(5) == 5


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_calling_variable_returns_a_leaf_tensor(m: Any) -> None:
    Variable = m.autograd.Variable
    x = m.ones(2, requires_grad=True) * 2
    v = Variable(x, requires_grad=True)
    assert type(v) is m.Tensor and v.is_leaf and v.requires_grad and v.grad_fn is None
    assert v.data_ptr() == x.data_ptr()  # shares the memory
    assert Variable(x).requires_grad is False
    assert Variable(x, True).requires_grad is True  # positional, as old code writes it
    assert Variable(m.ones(1), name="w").tolist() == [1.0]
    empty = Variable()
    assert empty.shape == (0,) and empty.dtype == m.get_default_dtype()
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        Variable([1.0, 2.0])
    with pytest.raises(RuntimeError, match="floating point and complex dtype"):
        Variable(m.ones(2, dtype=m.long), requires_grad=True)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_variable_volatile(m: Any) -> None:
    Variable = m.autograd.Variable
    with pytest.warns(UserWarning, match="volatile was removed"):
        v = Variable(m.ones(2), volatile=True)
    assert v.requires_grad is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="can't be volatile and require_grad"):
            Variable(m.ones(2), requires_grad=True, volatile=True)


def test_variable_subclass_isinstance_is_tensor_check() -> None:
    for m in BOTH:

        class Legacy(m.autograd.Variable):  # type: ignore[misc, valid-type]
            pass

        assert isinstance(m.zeros(1), Legacy)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_weight_norm_folds_a_weight_normed_checkpoint(m: Any) -> None:
    m.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        conv = m.nn.utils.weight_norm(m.nn.Conv1d(3, 4, 5).double())
    folded = m._weight_norm(conv.weight_v.detach(), conv.weight_g.detach(), 0)
    assert m.allclose(folded, conv.weight.detach())
    lin = m.nn.utils.parametrizations.weight_norm(m.nn.Linear(3, 2).double(), dim=1)
    sd = lin.state_dict()
    g, v = sd["parametrizations.weight.original0"], sd["parametrizations.weight.original1"]
    assert m.allclose(m._weight_norm(v, g, dim=1), lin.weight.detach())


def _weight_norm_values(m: Any) -> list:
    v = m.tensor(np.arange(1.0, 25.0).reshape(2, 3, 4) - 7.5)
    out = []
    for dim, g_shape in ((0, (2, 1, 1)), (1, (1, 3, 1)), (2, (1, 1, 4)), (-1, ()), (-2, (1, 3, 1))):
        g = m.tensor(np.linspace(0.5, 2.0, int(np.prod(g_shape))).reshape(g_shape))
        out.append(m._weight_norm(v, g, dim).numpy())
    return out


def test_weight_norm_values_match_torch() -> None:
    for want, got in zip(_weight_norm_values(torch), _weight_norm_values(chainrule)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_weight_norm_gradients_match_torch() -> None:
    grads = []
    for m in BOTH:
        v = m.tensor(np.arange(1.0, 7.0).reshape(2, 3) - 2.5, requires_grad=True)
        g = m.tensor([[0.5], [2.0]], dtype=m.float64, requires_grad=True)
        w = m.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
        (m._weight_norm(v, g, 0) * w).sum().backward()
        grads.append((v.grad.numpy(), g.grad.numpy()))
    for want, got in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_weight_norm_errors(m: Any) -> None:
    v = m.ones(2, 3)
    with pytest.raises(IndexError, match="no dimensions"):
        m._weight_norm(m.tensor(3.0), m.tensor(2.0), 0)
    with pytest.raises(TypeError, match="must be int"):
        m._weight_norm(v, m.ones(2, 1), None)
    with pytest.raises(TypeError):
        m._weight_norm(v, 2.0, 0)
    with pytest.raises(IndexError, match="out of range"):
        m._weight_norm(v, m.ones(2, 1), 2)
    with pytest.raises(RuntimeError):
        m._weight_norm(v, m.ones(2, 1, dtype=m.float64), 0)
    with pytest.raises(NotImplementedError):
        m._weight_norm(v.long(), m.ones(2, 1, dtype=m.long), 0)


def test_weight_norm_refuses_a_g_that_does_not_fit() -> None:
    with pytest.raises(RuntimeError, match=r"_weight_norm: g of shape \[5, 1\]"):
        chainrule._weight_norm(chainrule.ones(2, 3), chainrule.ones(5, 1), 0)


@pytest.mark.parametrize("op", ["nanmean", "nansum"])
def test_nan_reduction_gradient_at_nans_is_torchs_product(op):
    """``grad * ~isnan(x)``, a product: an all-NaN slice's mean (0/0) sends an infinite
    gradient back, which gives NaN at the NaN entries in PyTorch (chainrule's ``where`` gave
    0); a finite incoming gradient still gives 0 there."""
    nan = float("nan")
    data = [[nan, nan, 1.0], [1.0, 2.0, nan]]
    grads = []
    for lib in BOTH:
        x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        y = getattr(x, op)(1)
        (y * lib.tensor([float("inf"), 2.0], dtype=lib.float64)).sum().backward()
        z = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        getattr(z, op)().backward()
        grads.append((x.grad.numpy(), z.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
