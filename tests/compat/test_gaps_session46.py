"""Gaps the session-46 drop-in programs and the optimizer checkpoint review found, each checked
against torch live: ``Optimizer.load_state_dict`` deep-copies the saved parameter groups and
keeps their values as saved (a list stays a list), keeps a numeric state key that names no
parameter under that key, and raises torch's words when the groups do not match;
``torch._scaled_mm`` (float8 training's product, ``float8_delayed_scaling_linear``): values,
result dtypes, errors and its missing derivative, as torch's CPU kernel;
``torch.backends.mha.set_fastpath_enabled(False)``, which turns off the encoder's nested
fast path (its zeros at padded positions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

from .programs._common import load_numpy_state, state_to_numpy

torch = pytest.importorskip("torch")


def _lib(name: str) -> Any:
    return torch if name == "torch" else chainrule


def _saved_adam(lib: Any) -> tuple[Any, dict]:
    """An Adam over one parameter after one step, and its state dict."""
    p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
    opt = lib.optim.Adam([p], lr=0.1)
    p.grad = lib.tensor([0.5, 0.25])
    opt.step()
    return p, opt.state_dict()


def _load_edited(lib: Any) -> tuple[Any, dict]:
    """A fresh Adam loading a state dict whose groups hold lists and whose state has keys that
    name no parameter (a number and a string)."""
    _, sd = _saved_adam(lib)
    sd["param_groups"][0]["betas"] = [0.8, 0.9]
    sd["param_groups"][0]["extra"] = {"history": [1, 2]}
    sd["state"][5] = {"foo": 1}
    sd["state"]["k"] = 3
    opt = lib.optim.Adam([lib.nn.Parameter(lib.tensor([1.0, -2.0]))], lr=0.1)
    opt.load_state_dict(sd)
    return opt, sd


def test_loaded_groups_keep_lists_and_are_deep_copies() -> None:
    got = {}
    for name in ("torch", "chainrule"):
        opt, sd = _load_edited(_lib(name))
        group, saved = opt.param_groups[0], sd["param_groups"][0]
        got[name] = (
            type(group["betas"]).__name__,
            group["betas"] == [0.8, 0.9],
            group["extra"] == saved["extra"],
            group["extra"] is saved["extra"],
            group["extra"]["history"] is saved["extra"]["history"],
        )
    assert got["chainrule"] == got["torch"]
    assert got["torch"] == ("list", True, True, False, False)


def test_list_betas_step_like_torch() -> None:
    """An Adam loaded with ``betas`` as a list (a JSON round trip) steps as torch's."""
    values = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        opt, _ = _load_edited(lib)
        (p,) = opt.param_groups[0]["params"]
        for _ in range(2):
            opt.zero_grad()
            (p**3).sum().backward()
            opt.step()
        values[name] = p.detach().numpy().copy()
    np.testing.assert_allclose(values["chainrule"], values["torch"], rtol=1e-12)


def test_state_key_of_no_parameter_is_kept() -> None:
    got = {}
    for name in ("torch", "chainrule"):
        opt, _ = _load_edited(_lib(name))
        extra = {k: v for k, v in opt.state.items() if not isinstance(k, _lib(name).Tensor)}
        got[name] = (extra, list(opt.state_dict()["state"]))
    assert got["chainrule"] == got["torch"]
    assert got["torch"][0] == {5: {"foo": 1}, "k": 3}


@pytest.mark.parametrize("case", ["groups", "params"])
def test_mismatched_groups_raise_torch_words(case: str) -> None:
    messages = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        _, sd = _saved_adam(lib)
        if case == "groups":
            params: Any = [{"params": [lib.nn.Parameter(lib.ones(2))]} for _ in range(2)]
        else:
            params = [lib.nn.Parameter(lib.ones(2)) for _ in range(2)]
        with pytest.raises(ValueError) as info:
            lib.optim.Adam(params).load_state_dict(sd)
        messages[name] = str(info.value).splitlines()[0]
    assert messages["chainrule"] == messages["torch"]


def test_tensor_lr_is_copied_on_load() -> None:
    """A tensor ``lr`` in the saved groups is deep-copied (torch's ``deepcopy``), equal in value."""
    got = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        p = lib.nn.Parameter(lib.ones(2))
        saved = lib.optim.Adam([p], lr=lib.tensor(0.01)).state_dict()
        opt = lib.optim.Adam([lib.nn.Parameter(lib.ones(2))], lr=lib.tensor(0.5))
        opt.load_state_dict(saved)
        lr = opt.param_groups[0]["lr"]
        got[name] = (lr is saved["param_groups"][0]["lr"], float(lr))
    assert got["chainrule"] == got["torch"]
    assert got["torch"][0] is False


def _fp8_operands(lib: Any) -> tuple[Any, Any]:
    lib.manual_seed(0)
    a = lib.randn(4, 8).to(lib.float8_e4m3fn)
    b = lib.randn(3, 8).to(lib.float8_e5m2).t()
    return a, b


_SCALED_MM_CASES = {
    "tensorwise": lambda lib, a, b: lib._scaled_mm(
        a, b, scale_a=lib.tensor(0.37), scale_b=lib.tensor([1.9]), out_dtype=lib.float32
    ),
    "rowwise": lambda lib, a, b: lib._scaled_mm(
        a, b, scale_a=lib.rand(4, 1), scale_b=lib.rand(1, 3), out_dtype=lib.float32
    ),
    "bias": lambda lib, a, b: lib._scaled_mm(
        a,
        b,
        scale_a=lib.tensor(2.0),
        scale_b=lib.tensor(0.5),
        bias=lib.ones(3) / 3,
        out_dtype=lib.float32,
    ),  # fmt: skip
    "default_out": lambda lib, a, b: lib._scaled_mm(
        a, b, scale_a=lib.tensor(1.0), scale_b=lib.tensor(1.0)
    ),
    "int_out": lambda lib, a, b: lib._scaled_mm(
        a, b, scale_a=lib.tensor(1.0), scale_b=lib.tensor(1.0), out_dtype=lib.int32
    ),
    "bfloat16_out": lambda lib, a, b: lib._scaled_mm(
        a,
        b,
        scale_a=lib.tensor(1.0),
        scale_b=lib.tensor(1.0),
        out_dtype=lib.bfloat16,
        scale_result=lib.tensor(2.0),
        use_fast_accum=True,
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(_SCALED_MM_CASES))
def test_scaled_mm_matches_torch(case: str) -> None:
    got = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        out = _SCALED_MM_CASES[case](lib, *_fp8_operands(lib))
        got[name] = (str(out.dtype), tuple(out.shape), out.float().numpy().astype(np.float64))
    assert got["chainrule"][:2] == got["torch"][:2]
    np.testing.assert_allclose(got["chainrule"][2], got["torch"][2], rtol=1e-6, atol=1e-6)


_SCALED_MM_ERRORS = {
    "one_scale": lambda lib, a, b, one: lib._scaled_mm(a, b, scale_a=one),
    "no_scales": lambda lib, a, b, one: lib._scaled_mm(a, b),
    "batched": lambda lib, a, b, one: lib._scaled_mm(a[None], b, scale_a=one, scale_b=one),
    "shapes": lambda lib, a, b, one: lib._scaled_mm(a, a, scale_a=one, scale_b=one),
    "float32_operand": lambda lib, a, b, one: lib._scaled_mm(
        a, b.float(), scale_a=one, scale_b=one
    ),
    "float64_scale": lambda lib, a, b, one: lib._scaled_mm(a, b, scale_a=one.double(), scale_b=one),
    "scale_shape": lambda lib, a, b, one: lib._scaled_mm(a, b, scale_a=lib.ones(2), scale_b=one),
    "bias_size": lambda lib, a, b, one: lib._scaled_mm(
        a, b, scale_a=one, scale_b=one, bias=lib.zeros(3, 3), out_dtype=lib.float32
    ),
    "backward": lambda lib, a, b, one: (
        lib._scaled_mm(
            a, b, scale_a=one.clone().requires_grad_(), scale_b=one, out_dtype=lib.float32
        )
        .sum()
        .backward()
    ),
}


@pytest.mark.parametrize("case", sorted(_SCALED_MM_ERRORS))
def test_scaled_mm_errors_match_torch(case: str) -> None:
    errors = {}
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        a, b = _fp8_operands(lib)
        with pytest.raises(Exception) as info:
            _SCALED_MM_ERRORS[case](lib, a, b, lib.tensor(1.0))
        errors[name] = (type(info.value).__name__, str(info.value).splitlines()[0])
    assert errors["chainrule"] == errors["torch"]


@pytest.mark.parametrize("fastpath", [True, False])
def test_mha_fastpath_switch(fastpath: bool) -> None:
    """An eval encoder with a left-aligned padding mask: zeros at the padded positions on the
    fast path, computed values with it off; the same numbers as torch either way."""
    outs = {}
    init = None
    for name in ("torch", "chainrule"):
        lib = _lib(name)
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
        model = lib.nn.TransformerEncoder(layer, 1, enable_nested_tensor=True).double().eval()
        init = init or state_to_numpy(model)
        load_numpy_state(lib, model, init)
        x = lib.tensor(np.linspace(-1.0, 1.0, 24).reshape(2, 3, 4))
        pad = lib.tensor([[False, False, True], [False, False, False]])
        before = lib.backends.mha.get_fastpath_enabled()
        lib.backends.mha.set_fastpath_enabled(fastpath)
        try:
            with lib.no_grad():
                outs[name] = (
                    lib.backends.mha.get_fastpath_enabled(),
                    model(x, src_key_padding_mask=pad).numpy(),
                )
        finally:
            lib.backends.mha.set_fastpath_enabled(before)
    assert outs["chainrule"][0] == outs["torch"][0] == fastpath
    np.testing.assert_allclose(outs["chainrule"][1], outs["torch"][1], rtol=1e-12, atol=1e-12)
    assert (outs["torch"][1][0, 2] == 0).all() == fastpath
