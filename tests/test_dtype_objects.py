"""``torch.dtype`` objects: what users hold (``cr.float32``, ``x.dtype``) answers PyTorch's
questions as PyTorch does, and stays a NumPy dtype for code written for NumPy."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr

NAMES = [
    "bool",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
ALIASES = ["half", "float", "double", "short", "int", "long", "cfloat", "cdouble"]


@pytest.mark.parametrize("name", NAMES + ALIASES)
def test_attributes_and_text_as_torch(name):
    c, t = getattr(cr, name), getattr(torch, name)
    assert str(c) == str(t) and repr(c) == repr(t)
    assert c.is_floating_point == t.is_floating_point
    assert c.is_complex == t.is_complex
    assert c.is_signed == t.is_signed
    assert c.itemsize == t.itemsize
    assert isinstance(c, cr.dtype)
    assert cr.tensor([1], dtype=c).dtype is c  # one object per dtype


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "complex64", "complex128"])
def test_to_real_and_to_complex(name):
    c, t = getattr(cr, name), getattr(torch, name)
    assert str(c.to_real()) == str(t.to_real())
    if name != "float16":  # torch gives complex32, which NumPy (and chainrule) lacks
        assert str(c.to_complex()) == str(t.to_complex())
    assert str(cr.int64.to_real()) == str(torch.int64.to_real())
    with pytest.raises(RuntimeError):
        torch.int64.to_complex()
    with pytest.raises(RuntimeError, match="floating point"):
        cr.int64.to_complex()


def test_dtype_class_cannot_be_instantiated_as_in_torch():
    with pytest.raises(TypeError, match="cannot create 'torch.dtype' instances"):
        torch.dtype()
    with pytest.raises(TypeError, match="cannot create 'torch.dtype' instances"):
        cr.dtype()


def test_tensor_dtype_is_the_public_object_and_prints_as_torch():
    for lib in (torch, cr):
        x = lib.tensor([1, 2], dtype=lib.int32)
        assert x.dtype is lib.int32
        assert x.dtype.is_floating_point is False
    assert repr(cr.tensor([1, 2], dtype=cr.int32)) == repr(torch.tensor([1, 2], dtype=torch.int32))
    assert repr(cr.zeros(0, 2, dtype=cr.float64)) == repr(torch.zeros(0, 2, dtype=torch.float64))
    assert f"{cr.ones(1).dtype}" == f"{torch.ones(1).dtype}" == "torch.float32"


def test_public_functions_return_dtype_objects():
    assert cr.get_default_dtype() is cr.float32
    assert cr.promote_types(cr.int64, cr.float16) is cr.float16
    assert cr.result_type(cr.tensor([1, 2]), 1.0) is cr.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.get_default_dtype() is cr.float64
        assert str(cr.get_default_dtype()) == "torch.float64"
    finally:
        cr.set_default_dtype(cr.float32)


def test_still_a_numpy_dtype_where_numpy_asks():
    f32 = np.dtype("float32")
    assert cr.float32 == f32 and f32 == cr.float32
    assert cr.float32 == np.float32 and np.float32 == cr.float32
    assert cr.float32 != cr.float64 and cr.float32 != np.float64
    assert hash(cr.float32) == hash(f32)
    assert {f32: "a"}[cr.float32] == "a" and {cr.float32: "b"}[f32] == "b"
    assert cr.float32 in (np.float64, np.float32)
    assert np.zeros(2, cr.float32).dtype == f32
    assert np.arange(3).astype(cr.int16).dtype == np.int16
    assert np.dtype(cr.complex64) == np.complex64
    assert np.result_type(cr.float32, np.int64) == np.float64
    assert np.finfo(cr.float16).eps == np.finfo(np.float16).eps
    assert cr.float64.kind == "f" and cr.int8.kind == "i" and cr.bool.kind == "b"
    assert cr.float32.type is np.float32 and cr.float32.char == "f"
    assert cr.float32.byteorder == f32.byteorder  # NumPy's other attributes pass through


def test_comparisons_with_other_objects_are_false_not_errors():
    assert cr.float32 != "cuda" and cr.float32 != object() and cr.float32 is not None
    assert (cr.float32 == None) is False  # noqa: E711 - the comparison itself is tested
    assert cr.float32 != torch.float32  # another library's dtype


def test_pickle_copy_deepcopy_keep_the_singleton():
    for d in (cr.float32, cr.int64, cr.bool, cr.bfloat16, cr.complex128):
        assert pickle.loads(pickle.dumps(d)) is d
        assert copy.copy(d) is d and copy.deepcopy(d) is d
    state = {"dtype": cr.float64, "x": cr.ones(2, dtype=cr.float64)}
    back = pickle.loads(pickle.dumps(state))
    assert back["dtype"] is cr.float64 and back["x"].dtype is cr.float64


def test_model_ema_idiom_reads_dtype_attributes():
    # ultralytics' ModelEMA: `if v.dtype.is_floating_point: v *= d; v += (1 - d) * msd[k]`
    sd = {"w": cr.ones(2), "n": cr.tensor(3)}
    floating = [k for k, v in sd.items() if v.dtype.is_floating_point]
    assert floating == ["w"]
