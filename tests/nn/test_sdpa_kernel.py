"""``cr.nn.attention.sdpa_kernel`` and the ``backends.cuda`` SDP flags against PyTorch's CPU
behaviour: which backend sets run which inputs, the warnings and errors otherwise, and the
flags' values inside and after the blocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention as tattn

import chainrule as cr
import chainrule.nn.attention as cattn

RNG = np.random.default_rng(0)
Q4 = RNG.standard_normal((2, 2, 4, 8))
K6 = RNG.standard_normal((2, 2, 6, 8))
V6 = RNG.standard_normal((2, 2, 6, 8))
Q3 = RNG.standard_normal((2, 4, 8))
MASK = RNG.standard_normal((4, 6))
CASES = {  # name: (arrays q, k, v, keyword arguments); mask_grad: the float mask requires grad
    "plain": ((Q4, K6, V6), {}),
    "three_d": ((Q3, Q3, Q3), {}),
    "other_value_dim": ((Q4, K6, V6[..., :5]), {}),
    "dropout": ((Q4, K6, V6), {"dropout_p": 0.5}),
    "causal": ((Q4, K6, V6), {"is_causal": True}),
    "float_mask": ((Q4, K6, V6), {"attn_mask": MASK}),
    "float_mask_grad": ((Q4, K6, V6), {"attn_mask": MASK, "mask_grad": True}),
}


def _call(lib, attn, backends, case):
    arrays, kw = CASES[case]
    kw = dict(kw)
    mask_grad = kw.pop("mask_grad", False)
    if "attn_mask" in kw:
        kw["attn_mask"] = lib.tensor(kw["attn_mask"], requires_grad=mask_grad)
    q, k, v = (lib.tensor(a) for a in arrays)
    wanted = [getattr(attn.SDPBackend, b) for b in backends]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with attn.sdpa_kernel(wanted):
                out = lib.nn.functional.scaled_dot_product_attention(q, k, v, **kw)
            result = ("ok", tuple(out.shape))
        except RuntimeError as e:
            result = ("error", str(e))
    messages = [str(w.message).split(" (Triggered internally")[0] for w in caught]
    return result, messages


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(
    "backends",
    [
        ("MATH",),
        ("FLASH_ATTENTION",),
        ("EFFICIENT_ATTENTION",),
        ("CUDNN_ATTENTION", "OVERRIDEABLE"),
        ("FLASH_ATTENTION", "MATH"),
        (),
    ],
)
def test_backend_sets_accept_what_torch_cpu_accepts(backends, case):
    expected = _call(torch, tattn, backends, case)
    got = _call(cr, cattn, backends, case)
    assert got[0][0] == expected[0][0]
    if expected[0][0] == "error":
        assert got[0][1] == expected[0][1]
        assert got[1][:1] == expected[1][:1]  # the first warning (if any), word for word
    else:
        assert got[0] == expected[0]


def test_flags_inside_and_after_blocks():
    names = ("flash_sdp_enabled", "math_sdp_enabled", "mem_efficient_sdp_enabled")
    for lib, attn in ((torch, tattn), (cr, cattn)):
        with attn.sdpa_kernel(attn.SDPBackend.MATH):
            assert [getattr(lib.backends.cuda, n)() for n in names] == [False, True, False]
        assert all(getattr(lib.backends.cuda, n)() for n in names)
        lib.backends.cuda.enable_math_sdp(False)
        try:
            assert not lib.backends.cuda.math_sdp_enabled()
        finally:
            lib.backends.cuda.enable_math_sdp(True)
        with pytest.warns(FutureWarning, match="sdp_kernel"):
            with lib.backends.cuda.sdp_kernel(enable_math=False):
                assert not lib.backends.cuda.math_sdp_enabled()
        assert lib.backends.cuda.math_sdp_enabled()
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
            with attn.sdpa_kernel("math"):
                pass
    assert cr.backends.cuda.is_flash_attention_available() is False


def test_values_unchanged_by_the_allowed_backend():
    q, k, v = (cr.tensor(a) for a in (Q4, K6, V6))
    plain = cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    with cattn.sdpa_kernel(cattn.SDPBackend.FLASH_ATTENTION):
        flash = cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    np.testing.assert_array_equal(flash.numpy(), plain.numpy())
