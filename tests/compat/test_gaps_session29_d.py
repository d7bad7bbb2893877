"""Gaps found by the session-29 (batch d) drop-in programs (``nn_utils_toolbox``,
``detectron2_retinanet``, ``learn_the_basics``, ``stylegan_ada_training_loop``) and by probing
the APIs around them, each checked against PyTorch.

Closed:

- ``torch.nn.utils.stateless.functional_call`` (PyTorch 1.x's API, deprecated since 2.0) was
  ``torch.func.functional_call`` under another name: its second parameter is called
  ``parameters_and_buffers`` (a keyword call failed), it warns with a ``FutureWarning`` on
  every call, and it takes one dict only (a tuple of dicts is ``torch.func``'s; PyTorch's
  stateless form fails on it with AttributeError).
- ``torch.meshgrid()`` with no tensors returned ``()``; PyTorch raises RuntimeError.
- ``scatter_reduce`` (and ``scatter(..., reduce="multiply")``, which goes through it) with a
  0-d index on a 1-d tensor failed with an IndexError; PyTorch reads the 0-d index as one
  element (the source as 1-d).
- ``torch.lerp(real, real, 0.5j)``: a complex Python weight turned real tensors complex;
  PyTorch refuses it (RuntimeError).
- ``torch.arange`` into an integer dtype from fractional bounds gave NumPy's values
  (``arange(0, 10, 2.5, dtype=torch.int64)`` was ``[0, 2, 5, 7]``); PyTorch truncates start
  and step first (``[0, 2, 4, 6, 8]``), and counts the elements from the truncated bounds in
  int64 but from the given ones in the other integer dtypes (``[0, 2, 4, 6]`` in int32).

- ``scatter_`` / ``scatter`` / ``scatter_add`` / ``gather`` with a 0-d index on a 1-d tensor
  (the Transforms tutorial's ``torch.zeros(10).scatter_(0, torch.tensor(y), value=1)``)
  failed with an IndexError in ``ops/gather_scatter.py``; the 0-d index names one element
  (``gather`` then returns a 0-d tensor), as in PyTorch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]
IDS = ["torch", "chainrule"]


def _tied(m: Any) -> Any:
    class TiedLM(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = m.nn.Embedding(3, 2)
            self.decoder = m.nn.Linear(2, 3, bias=False)
            self.decoder.weight = self.encoder.weight

        def forward(self, i: Any) -> Any:
            return self.decoder(self.encoder(i))

    return TiedLM()


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_stateless_functional_call_is_the_deprecated_one_dict_form(m: Any) -> None:
    model = _tied(m)
    w = m.arange(6.0).view(3, 2)
    idx = m.tensor([0, 2])
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        out = m.nn.utils.stateless.functional_call(
            model, parameters_and_buffers={"encoder.weight": w}, args=(idx,)
        )
    np.testing.assert_allclose(out.detach().numpy(), (w[idx] @ w.T).numpy())  # tied weights
    assert model.encoder.weight is model.decoder.weight  # put back after the call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(AttributeError):
            m.nn.utils.stateless.functional_call(model, ({"encoder.weight": w},), (idx,))
        with pytest.raises(RuntimeError, match="Missing key"):
            m.nn.utils.stateless.functional_call(
                model, {"encoder.weight": w}, (idx,), tie_weights=False, strict=True
            )
    # the torch.func form neither warns nor refuses a sequence of dicts
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out2 = m.func.functional_call(model, ({"encoder.weight": w}, {}), (idx,))
    np.testing.assert_allclose(out2.detach().numpy(), out.detach().numpy())


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_meshgrid_without_tensors_raises(m: Any) -> None:
    for call in (lambda: m.meshgrid(indexing="ij"), lambda: m.meshgrid([], indexing="xy")):
        with pytest.raises(RuntimeError, match="non-empty TensorList"):
            call()
    assert [tuple(g.shape) for g in m.meshgrid([m.arange(2.0)], indexing="xy")] == [(2,)]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_with_a_0d_index_on_a_1d_tensor(m: Any, reduce: str) -> None:
    x = m.tensor([1.0, 2.0, 3.0, 4.0])
    out = x.scatter_reduce(0, m.tensor(2), m.tensor([5.0, 9.0]), reduce)
    want = {"sum": 8.0, "prod": 15.0, "mean": 4.0, "amax": 5.0, "amin": 3.0}[reduce]
    assert out.tolist() == [1.0, 2.0, want, 4.0]
    excl = x.scatter_reduce(0, m.tensor(3), m.tensor(5.0), reduce, include_self=False)
    assert excl.tolist() == [1.0, 2.0, 3.0, 5.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_scatter_reduce_0d_index_gradient(m: Any) -> None:
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = m.tensor(4.0, requires_grad=True)
    x.scatter_reduce(0, m.tensor(1), s, "prod").sum().backward()
    assert x.grad.tolist() == [1.0, 4.0, 1.0]
    assert s.grad.item() == 2.0


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_scatter_multiply_with_a_0d_index(m: Any) -> None:
    out = m.ones(4).scatter_(0, m.tensor(3), 4.0, reduce="multiply")
    assert out.tolist() == [1.0, 1.0, 1.0, 4.0]


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_scatter_reduce_0d_index_on_2d_input_is_refused(m: Any) -> None:
    with pytest.raises(RuntimeError):
        m.zeros(2, 3).scatter_reduce(1, m.tensor(1), m.tensor(1.0), "sum")


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_lerp_refuses_a_complex_python_weight_on_real_tensors(m: Any) -> None:
    a, b = m.tensor([1.0, 2.0]), m.tensor([3.0, 6.0])
    with pytest.raises(RuntimeError, match="cannot be converted"):
        m.lerp(a, b, 0.5j)
    with pytest.raises(RuntimeError, match="cannot be converted"):
        a.clone().lerp_(b, 0.5j)
    # complex tensors take it; a 0-d complex tensor weight promotes (as PyTorch)
    c = m.lerp(a.to(m.complex64), b.to(m.complex64), 0.5j)
    np.testing.assert_allclose(c.numpy(), [1 + 1j, 2 + 2j])
    np.testing.assert_allclose(m.lerp(a, b, m.tensor(0.5j)).numpy(), [1 + 1j, 2 + 2j])


_ARANGES = [
    (0, 10, 2.5),
    (0.5, 10, 2),
    (0, 10.5, 3),
    (1.5, 7.9, 1.2),
    (10, 0, -2.5),
    (0, -7, -1.5),
    (0.5, 0.2, -1),
    (0, 3.7, 1),
    (0.9, 0.95, 1),
    (-0.5, 3, 1),
    (-3.5, 3.5, 1.75),
    (2.5,),
]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
def test_arange_into_an_integer_dtype_from_fractional_bounds(dtype: str) -> None:
    for args in _ARANGES:
        want = torch.arange(*args, dtype=getattr(torch, dtype))
        got = chainrule.arange(*args, dtype=getattr(chainrule, dtype))
        assert got.dtype == getattr(chainrule, dtype)
        assert got.tolist() == want.tolist(), args
    big = (0, 2**40 + 0.5, 2**39)  # computed in int64, then wrapped into the dtype
    assert (
        chainrule.arange(*big, dtype=getattr(chainrule, dtype)).tolist()
        == torch.arange(*big, dtype=getattr(torch, dtype)).tolist()
    )


@pytest.mark.parametrize("m", BOTH, ids=IDS)
def test_arange_int64_step_truncating_to_zero(m: Any) -> None:
    with pytest.raises(ValueError, match="step must be nonzero"):
        m.arange(0, 5, 0.5, dtype=m.int64)
    assert m.arange(0, 5, 0.5, dtype=m.int32).tolist() == [0] * 10  # counted from 0.5


@pytest.mark.parametrize("m", [torch, chainrule], ids=IDS)
def test_scatter_value_with_a_0d_index_the_transforms_tutorial_one_hot(m: Any) -> None:
    y = 3
    one_hot = m.zeros(10, dtype=m.float).scatter_(0, m.tensor(y), value=1)
    assert one_hot.tolist() == [0.0] * 3 + [1.0] + [0.0] * 6
    assert m.zeros(3).scatter(-1, m.tensor(0), m.tensor([7.0, 8.0])).tolist() == [7.0, 0, 0]
    assert m.zeros(3).scatter_add(0, m.tensor(2), m.tensor(5.0)).tolist() == [0, 0, 5.0]


@pytest.mark.parametrize("m", [torch, chainrule], ids=IDS)
def test_gather_with_a_0d_index_gives_a_0d_result(m: Any) -> None:
    x = m.arange(5.0, requires_grad=True)
    g = x.gather(0, m.tensor(3))
    assert g.shape == () and g.item() == 3.0
    g.backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
