"""Numbers in tensor-only positions against torch 2.13 live: ``addcmul``/``addcdiv``
(functions, methods, in-place forms) raise PyTorch's argument-parser TypeError, while the
positions PyTorch takes numbers in still do; ``F.interpolate`` takes a tensor
``scale_factor`` only where PyTorch does (mode 'area', or ``recompute_scale_factor``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

torch = pytest.importorskip("torch")
TF = pytest.importorskip("torch.nn.functional")


def _outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated overloads' warnings
        try:
            return "ok", fn()
        except Exception as e:  # noqa: BLE001 - PyTorch's error is the expectation
            return type(e).__name__, str(e).splitlines()[0]


CASES = {
    "addcmul_tensor1": lambda m, F, x: m.addcmul(x, 2.0, x),
    "addcmul_tensor2": lambda m, F, x: m.addcmul(x, x, 2.0),
    "addcmul_input": lambda m, F, x: m.addcmul(2.0, x, x),
    "addcmul_value_kw": lambda m, F, x: m.addcmul(x, x, 3.0, value=2),
    "addcmul_keywords": lambda m, F, x: m.addcmul(x, tensor1=x, tensor2=2),
    "addcdiv_tensor1": lambda m, F, x: m.addcdiv(x, 2.0, x),
    "addcdiv_tensor2": lambda m, F, x: m.addcdiv(x, x, 2.0),
    "method_addcmul": lambda m, F, x: x.addcmul(2.0, x),
    "method_addcmul_": lambda m, F, x: x.clone().addcmul_(x, 2.0),
    "method_addcdiv": lambda m, F, x: x.addcdiv(x, 2),
    "method_addcdiv_": lambda m, F, x: x.clone().addcdiv_(2.0, x),
    "addcmul_tensors": lambda m, F, x: m.addcmul(x, x, x, value=0.5),
    "addcmul_deprecated": lambda m, F, x: m.addcmul(x, 0.5, x, x),
    "method_addcdiv_deprecated": lambda m, F, x: x.clone().addcdiv_(0.5, x, x),
    "where_number": lambda m, F, x: m.where(x > 1, x, 0.0),
    "lerp_number_weight": lambda m, F, x: m.lerp(x, x * 2, 0.5),
    "mul_number": lambda m, F, x: m.mul(x, 2.0),
    "interp_nearest": lambda m, F, x: F.interpolate(x.reshape(1, 1, 3), scale_factor=m.tensor(2.0)),
    "interp_nearest_exact": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 3), scale_factor=m.tensor(2.0), mode="nearest-exact"
    ),
    "interp_linear": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 3), scale_factor=m.tensor(2.0), mode="linear"
    ),
    "interp_bilinear": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 1, 3), scale_factor=m.tensor(2.0), mode="bilinear"
    ),
    "interp_bicubic_tuple": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 1, 3), scale_factor=(m.tensor(2.0), 2.0), mode="bicubic"
    ),
    "interp_trilinear": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 1, 1, 3), scale_factor=m.tensor(2.0), mode="trilinear"
    ),
    "interp_area": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 3), scale_factor=m.tensor(2.0), mode="area"
    ),
    "interp_recompute": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 3), scale_factor=m.tensor(2.0), recompute_scale_factor=True
    ),
    "interp_number": lambda m, F, x: F.interpolate(
        x.reshape(1, 1, 3), scale_factor=2.0, mode="linear"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_numbers_in_tensor_positions_as_torch(case):
    fn = CASES[case]
    ok_a, a = _outcome(lambda: fn(cr, CF, cr.tensor([1.0, 2.0, 3.0])))
    ok_b, b = _outcome(lambda: fn(torch, TF, torch.tensor([1.0, 2.0, 3.0])))
    assert ok_a == ok_b, (a, b)
    if ok_a == "ok":
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
    elif ok_a == "TypeError" and "must be Tensor" in b:
        assert a == b
    else:  # PyTorch's parser lists its overloads; the first words name the kernel
        assert a.split(" - got ")[0] == b.split(" - got ")[0]
        assert a.split(" - got ")[1].split(")")[0] == b.split(" - got ")[1].split(")")[0]
