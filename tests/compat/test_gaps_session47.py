"""Gaps the session-47 drop-in programs found, each checked against torch live:
``torch._grouped_mm`` / ``F.grouped_mm`` (the Mixture-of-Experts grouped product of
``moe_grouped_mm_experts``): its four layouts, values and gradients, half precision, the
errors of PyTorch's CPU kernel and its missing forward-mode rule; ``torch._scaled_mm`` of
float8 operands that require grad, which torch keeps in the graph under a node that raises.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _lib(name: str) -> Any:
    return torch if name == "torch" else chainrule


def _offs(lib: Any, ends: list[int]) -> Any:
    return lib.tensor(ends, dtype=lib.int32)


# layout -> (mat_a shape, mat_b shape, offsets or None)
_LAYOUTS = {
    "2d3d": ((6, 8), (3, 8, 8), [2, 2, 6]),
    "3d2d": ((3, 4, 8), (8, 16), [8, 8, 16]),
    "2d2d": ((8, 16), (16, 8), [8, 8, 16]),
    "3d3d": ((3, 4, 8), (3, 8, 8), None),
}


def _grouped(name: str, layout: str, dtype: str) -> tuple[np.ndarray, ...]:
    lib = _lib(name)
    shape_a, shape_b, ends = _LAYOUTS[layout]
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal(shape_a), dtype=getattr(lib, dtype)).requires_grad_()
    b = lib.tensor(rng.standard_normal(shape_b), dtype=getattr(lib, dtype)).requires_grad_()
    offs = None if ends is None else _offs(lib, ends)
    out = lib._grouped_mm(a, b, offs=offs)
    assert out.grad_fn.name() == "GroupedMmBackward0"
    assert out.dtype == getattr(lib, dtype)
    grad = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=getattr(lib, dtype))
    ga, gb = lib.autograd.grad(out, (a, b), grad)
    return tuple(t.float().detach().numpy().astype(np.float64) for t in (out, ga, gb))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_grouped_mm_values_and_grads(layout: str, dtype: str) -> None:
    """Each layout (an empty group included): result and both gradients as torch's."""
    want, got = _grouped("torch", layout, dtype), _grouped("chainrule", layout, dtype)
    tol = 1e-5 if dtype == "float32" else 1e-2
    for w, g in zip(want, got, strict=True):
        assert w.shape == g.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_functional_grouped_mm_keyword_only() -> None:
    """``F.grouped_mm`` takes ``offs`` by keyword only (Python's TypeError, torch's text)."""
    results = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        a, b = lib.ones(4, 8), lib.ones(2, 8, 4)
        out = lib.nn.functional.grouped_mm(a, b, offs=_offs(lib, [1, 4]))
        with pytest.raises(TypeError) as info:
            lib.nn.functional.grouped_mm(a, b, _offs(lib, [1, 4]))
        results[name] = (out.numpy().tolist(), str(info.value).split("(")[1])
    assert results["chainrule"] == results["torch"]


_ERRORS = {
    "float64": lambda lib, o: lib._grouped_mm(lib.ones(6, 8).double(), lib.ones(3, 8, 4), offs=o),
    "b_int": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 8, 4).int(), offs=o),
    "mixed": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 8, 8).half(), offs=o),
    "mixed_half": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8).half(), lib.ones(3, 8, 8).bfloat16(), offs=o
    ),
    "mixed_strides": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(3, 8, 4).half(), offs=o
    ),
    "strides_long": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 6), lib.ones(3, 6, 4), offs=o.long()
    ),
    "strides_contraction": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 6), lib.ones(3, 8, 4), offs=o
    ),
    "mixed_long": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(3, 8, 8).half(), offs=o.long()
    ),
    "mixed_groups": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(2, 8, 8).half(), offs=o
    ),
    "bias_long": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(3, 8, 8), offs=o.long(), bias=lib.ones(8)
    ),
    "out_dtype_groups": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(2, 8, 8), offs=o, out_dtype=lib.float16
    ),
    "offs_2d_long": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(3, 8, 8), offs=o[None].long()
    ),
    "a_1d": lambda lib, o: lib._grouped_mm(lib.ones(8), lib.ones(3, 8, 4), offs=o),
    "b_4d": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(1, 3, 8, 4), offs=o),
    "no_offs": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 8, 4)),
    "offs_3d": lambda lib, o: lib._grouped_mm(lib.ones(3, 6, 8), lib.ones(3, 8, 4), offs=o),
    "offs_long": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 8, 4), offs=o.long()),
    "offs_2d": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 8, 4), offs=o[None]),
    "offs_list": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 8, 4), offs=[2]),
    "a_list": lambda lib, o: lib._grouped_mm([1.0], lib.ones(3, 8, 4), offs=o),
    "b_number": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), 2, offs=o),
    "groups": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(2, 8, 4), offs=o),
    "contraction": lambda lib, o: lib._grouped_mm(lib.ones(6, 8), lib.ones(3, 4, 4), offs=o),
    "batch": lambda lib, o: lib._grouped_mm(lib.ones(2, 6, 8), lib.ones(3, 8, 4)),
    "stride_16_bytes": lambda lib, o: lib._grouped_mm(lib.ones(6, 6), lib.ones(3, 6, 4), offs=o),
    "strided": lambda lib, o: lib._grouped_mm(lib.ones(6, 16)[:, ::2], lib.ones(3, 8, 4), offs=o),
    "bias": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(3, 8, 4), offs=o, bias=lib.ones(4)
    ),
    "out_dtype": lambda lib, o: lib._grouped_mm(
        lib.ones(6, 8), lib.ones(3, 8, 4), offs=o, out_dtype=lib.float16
    ),
}


@pytest.mark.parametrize("case", sorted(_ERRORS))
def test_grouped_mm_errors_match_torch(case: str) -> None:
    errors = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        with pytest.raises(Exception) as info:
            _ERRORS[case](lib, _offs(lib, [2, 4, 6]))
        errors[name] = (type(info.value).__name__, str(info.value).splitlines()[0])
    assert errors["chainrule"] == errors["torch"]


def test_grouped_mm_layouts_accepted() -> None:
    """A column-major ``mat_b`` (``w.transpose(-2, -1)``, the MoE forward) and a row slice of a
    wider ``mat_a`` pass the layout checks, as in torch."""
    outs = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        a = lib.arange(96.0).reshape(6, 16)[:, :8] / 50
        w = lib.arange(96.0).reshape(3, 4, 8) / 50
        out = lib._grouped_mm(a, w.transpose(-2, -1), offs=_offs(lib, [2, 4, 6]))
        outs[name] = out.numpy()
    np.testing.assert_allclose(outs["chainrule"], outs["torch"], rtol=1e-6)


def test_grouped_mm_double_backward() -> None:
    """The gradients are grouped products themselves, so a second backward runs (torch's)."""
    got = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        a = (lib.arange(48.0).reshape(6, 8) / 40).requires_grad_()
        b = (lib.arange(192.0).reshape(3, 8, 8) / 100).cos().requires_grad_()
        out = lib._grouped_mm(a, b, offs=_offs(lib, [2, 2, 6]))
        (ga,) = lib.autograd.grad((out * out).sum(), a, create_graph=True)
        (gb,) = lib.autograd.grad(ga.pow(2).sum(), b)
        got[name] = (ga.grad_fn.name(), gb.numpy().astype(np.float64))
    assert got["chainrule"][0] == got["torch"][0]
    np.testing.assert_allclose(got["chainrule"][1], got["torch"][1], rtol=1e-5, atol=1e-4)


def test_grouped_mm_under_vmap() -> None:
    """``vmap`` over the tokens: once per sample, as torch's fallback (which warns that it has
    no batching rule)."""
    outs = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        weights = (lib.arange(192.0).reshape(3, 8, 8) / 100).sin()
        offs = _offs(lib, [2, 4, 6])
        tokens = lib.arange(96.0).reshape(2, 6, 8) / 10
        per_token = functools.partial(lib._grouped_mm, mat2=weights, offs=offs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch: "There is a performance drop"
            out = lib.func.vmap(per_token)(tokens)
        outs[name] = out.numpy()
    np.testing.assert_allclose(outs["chainrule"], outs["torch"], rtol=1e-5, atol=1e-5)


def test_grouped_mm_forward_ad_refused() -> None:
    errors = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        fwad = lib.autograd.forward_ad
        with fwad.dual_level(), pytest.raises(NotImplementedError) as info:
            dual = fwad.make_dual(lib.ones(6, 8), lib.ones(6, 8))
            lib._grouped_mm(dual, lib.ones(3, 8, 4), offs=_offs(lib, [2, 4, 6]))
        errors[name] = str(info.value).splitlines()[0]
    assert errors["chainrule"] == errors["torch"]


def test_scaled_mm_float8_operand_requiring_grad() -> None:
    """A float8 operand that requires grad: the result requires grad (float32), and backward
    raises torch's missing-derivative error."""
    seen = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        a = lib.ones(16, 16).to(lib.float8_e4m3fn).requires_grad_()
        b = lib.ones(16, 16).to(lib.float8_e4m3fn).t()
        one = lib.tensor(1.0)
        out = lib._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=lib.float32)
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        seen[name] = (out.requires_grad, str(out.dtype), float(out[0, 0].detach()), str(info.value))
    assert seen["chainrule"] == seen["torch"]
