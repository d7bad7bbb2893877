"""A NumPy bool scalar as an operand, compared live with torch 2.13.

PyTorch's argument parser does not read ``np.bool_`` as a Python ``bool``: it takes it
through ``__float__``, so ``int_tensor + np.True_`` is float32, ``torch.result_type`` says
float, a bitwise op refuses it as a float, an integral ``add(alpha=np.True_)`` refuses a
floating alpha, and ``t[0] = np.True_`` is a TypeError. chainrule treated it as a bool
(int64 results, bitwise ops accepted). Out of scope: ``torch.tensor([np.True_, 2])`` (torch
raises TypeError on that list; chainrule builds an int64 tensor).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

B = np.bool_(True)

CASES = {
    "add_int": lambda L: L.tensor([1, 2]) + B,
    "radd_int": lambda L: B + L.tensor([1, 2]),
    "mul_bool": lambda L: L.tensor([True, False]) * B,
    "and_bool": lambda L: L.tensor([True, False]) & B,
    "or_int": lambda L: L.tensor([1, 2]) | B,
    "result_type": lambda L: L.result_type(L.tensor([1, 2]), B),
    "where": lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), B),
    "where_two_scalars": lambda L: L.where(L.tensor([True, False]), B, B),
    "pow": lambda L: L.tensor([1, 2]) ** B,
    "rpow": lambda L: B ** L.tensor([1, 2]),
    "clamp_int": lambda L: L.clamp(L.tensor([1, 2]), min=B),
    "clamp_bool": lambda L: L.tensor([True, False]).clamp(min=B),
    "masked_fill_int": lambda L: L.tensor([1, 2]).masked_fill(L.tensor([True, False]), B),
    "index_fill_int": lambda L: L.tensor([5, 2]).index_fill(0, L.tensor([0]), B),
    "add_alpha_int": lambda L: L.add(L.tensor([1, 2]), L.tensor([1, 1]), alpha=B),
    "add_alpha_float": lambda L: L.add(L.tensor([1.0, 2]), L.tensor([1.0, 1]), alpha=B),
    "inplace_add_int": lambda L: L.tensor([1, 2]).add_(B),
    "eq": lambda L: L.tensor([1, 0]) == B,
    "full": lambda L: L.full((2,), B),
    "fill_int": lambda L: L.tensor([1, 2]).fill_(B),
    "div": lambda L: L.tensor([1, 2]) / B,
    "floordiv": lambda L: L.tensor([1, 2]) // B,
    "half": lambda L: L.tensor([1.0], dtype=L.float16) * B,
}


def _outcome(lib, fn):
    try:
        r = fn(lib)
    except (TypeError, RuntimeError, NotImplementedError) as err:
        return err
    if isinstance(r, (torch.dtype, cr.dtype)):
        return ("dtype", str(r).replace("chainrule", "torch"))
    return (str(r.dtype).replace("chainrule", "torch"), r.tolist())


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_bool_operand_as_torch(name):
    fn = CASES[name]
    got, want = _outcome(cr, fn), _outcome(torch, fn)
    if isinstance(want, Exception):  # chainrule's error is an instance of torch's type
        assert isinstance(got, type(want)), (got, want)
    else:
        assert got == want


@pytest.mark.parametrize("dtype", ["int64", "bool", "float32"])
def test_setitem_numpy_bool_refused(dtype):
    with pytest.raises(TypeError, match="numpy.bool"):
        torch.zeros(2, dtype=getattr(torch, dtype))[0] = B
    t = cr.zeros(2, dtype=getattr(cr, dtype))
    with pytest.raises(TypeError, match="numpy.bool"):
        t[0] = B
    t[0] = np.float64(1.0)  # other NumPy scalars assign, as in torch
    assert t.tolist()[0] == 1


def test_embedding_bag_unknown_mode_refused_at_forward_as_torch():
    """torch builds ``EmbeddingBag(mode='min')`` and refuses it when called (chainrule
    refused at build, breaking code that builds and never calls it)."""
    for lib in (torch, cr):
        bag = lib.nn.EmbeddingBag(5, 3, mode="min")
        assert "mode='min'" in repr(bag)
        with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
            bag(lib.tensor([[1, 2]]))
