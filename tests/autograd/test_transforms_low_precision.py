"""The reverse-mode transforms (``cr.func.grad``/``vjp``/``jacrev``/``hessian`` and
``cr.autograd.functional``) differentiate bfloat16 and float16 arguments, as PyTorch's: they
refused bfloat16 (an ml_dtypes dtype of kind 'V') as "not floating"."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

VALUES = [0.5, 1.5, -2.0]


def _f(x):
    return (x.sin() * x).sum()


CASES = {
    "grad": lambda lib, x: lib.func.grad(_f)(x),
    "vjp": lambda lib, x: lib.func.vjp(_f, x)[1](lib.tensor(1.0, dtype=x.dtype))[0],
    "jacrev": lambda lib, x: lib.func.jacrev(lambda y: y.sin())(x),
    "hessian": lambda lib, x: lib.func.hessian(_f)(x),
    "functional_jacobian": lambda lib, x: lib.autograd.functional.jacobian(lambda y: y.sin(), x),
    "functional_hvp": lambda lib, x: lib.autograd.functional.hvp(_f, x, lib.ones_like(x))[1],
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_transform_matches_torch(case, dtype):
    want = CASES[case](torch, torch.tensor(VALUES, dtype=getattr(torch, dtype)))
    got = CASES[case](cr, cr.tensor(VALUES, dtype=getattr(cr, dtype)))
    assert str(got.dtype).split(".")[-1] == dtype
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=1e-2, atol=1e-2)


def test_integer_argument_still_refused():
    for lib in (torch, cr):  # both raise RuntimeError
        with pytest.raises(RuntimeError, match="floating point"):
            lib.func.grad(_f)(lib.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="floating point"):
        cr.autograd.functional.jacobian(lambda y: y * 2, cr.tensor([1, 2]))
