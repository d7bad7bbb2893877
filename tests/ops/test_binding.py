"""The declarative binding of ops onto ``Tensor`` (``ops/binding.py``, ``ops/__init__.py``).

An op marks itself ``@tensor_method`` in its own file; these tests check that the one loop in
``ops/__init__.py`` did what each mark says, for every op, and nothing more.
"""

from __future__ import annotations

import pytest
import torch

import chainrule as cr
from chainrule import ops
from chainrule.ops import binding
from chainrule.ops.python_method_names import PYTHON_METHODS

_MARKED = [
    (module, name, binding.method_spec(getattr(module, name)))
    for module in ops._OP_MODULES
    for name in module.__all__
    if binding.method_spec(getattr(module, name)) is not None
]
_IDS = [f"{module.__name__.rsplit('.', 1)[1]}.{name}" for module, name, _ in _MARKED]


def test_marks_leave_the_function_unchanged():
    # inside the package, ``from .unary import exp`` is the plain function: no wrapper cost
    assert ops.unary.exp.__module__ == "chainrule.ops.unary"
    assert not hasattr(ops.unary.exp, "__wrapped__")
    assert binding.method_spec(ops.unary.exp) == binding.MethodSpec(True, True, True)


def _past_deprecated(f):
    """``f`` under the wrapper that takes PyTorch's deprecated scale-first overloads
    (ops/deprecated_overloads.py: add, sub, addcmul, addmm, ...), or under the one that takes
    NumPy's keyword names (ops/keyword_aliases.py), if it has one."""
    while getattr(f, "deprecated_overloads", False) or hasattr(f, "keyword_aliases"):
        f = f.__wrapped__
    return f


@pytest.mark.parametrize("module,name,spec", _MARKED, ids=_IDS)
def test_each_mark_is_bound(module, name, spec):
    public = getattr(cr, name)
    assert binding.method_spec(public) == spec
    # (the __torch_function__ layer, there once a test defined a Tensor subclass)
    inner = _past_deprecated(getattr(public, "__torch_function_wrapped__", public))
    if spec.keywords:
        assert inner.__wrapped__ is getattr(module, name)
    if spec.method:  # the function itself, or its method form without out= (PyTorch's)
        method = _past_deprecated(getattr(cr.Tensor, name))
        public = _past_deprecated(public)
        if method is not public and hasattr(public, "dense_form"):  # a sparse-routing root
            public = public.dense_form  # (ops/sparse_structural.py: the method stays plain)
        assert (
            method is public
            or (method.__code__.co_name == "method" and method.__wrapped__ is getattr(module, name))
            or (  # a method PyTorch writes in Python: the same code, named Tensor.<name>
                name in PYTHON_METHODS
                and method.__code__ is public.__code__
                and method.__qualname__ == f"Tensor.{name}"
            )
        )
    elif name not in ("where", "norm", "polygamma"):  # bound by hand (bind_special)
        assert not hasattr(cr.Tensor, name)
    # t_, tril_ ...: in-place forms bound by hand; so are polygamma's (n first: x.polygamma_(n))
    if name + "_" not in ops._TENSOR_ONLY and name != "polygamma":
        assert hasattr(cr.Tensor, name + "_") == (spec.method and spec.inplace)


def test_inplace_form_writes_into_self_and_bumps_the_version():
    x = cr.tensor([0.0, 1.0, 2.0], dtype=cr.float64)
    version = x._version
    assert x.exp2_() is x
    assert x.tolist() == [1.0, 2.0, 4.0]
    assert x._version == version + 1


def test_keyword_mark_accepts_numpy_keywords_on_function_and_method():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert cr.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert x.sum(axis=0).tolist() == [4.0, 6.0]
    out = cr.empty(2)
    assert cr.sum(x, axis=1, out=out) is out


def test_tensor_only_methods_stay_out_of_the_namespace():
    for name in ops._TENSOR_ONLY:
        assert hasattr(cr.Tensor, name), name
        if hasattr(torch, name):  # torch.zero_(t), torch.is_signed(t): a root function too
            assert hasattr(cr, name), name
        else:
            assert name not in ops.__all__, name
    assert "to_device_op" not in ops.__all__


def test_public_ops_are_functions_only():
    for name in ops.__all__:
        value = getattr(ops, name)
        assert callable(value) and not isinstance(value, type), name


def test_mark_refuses_a_non_function():
    with pytest.raises(TypeError, match="tensor_method: expected a function"):
        binding.tensor_method(3)
