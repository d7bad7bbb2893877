"""Gaps found by the session-20 drop-in programs (``pinn_burgers``, ``transe_kg``,
``mobilenetv2_block``, ``ebm_langevin``, ``conformer_block``) and by probing the modules next
to their idioms, each checked against PyTorch.

- ``torch.arange(end=n)`` (TransE-PyTorch's evaluation, ``torch.arange(end=entities_count)``)
  raised TypeError: ``start`` had no default. PyTorch's ``(end)`` overload takes ``end`` by
  keyword and counts from 0; with neither bound it raises TypeError.
- ``nn.MultiheadAttention`` / ``F.multi_head_attention_forward`` given a bool
  ``key_padding_mask`` next to a float ``attn_mask`` (or the reverse) merged them silently;
  PyTorch warns "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same
  type for both instead." ``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder`` warn
  under their own argument names (``src_key_padding_mask`` and ``src_mask`` / ``mask``), once,
  as PyTorch's, whose layers then see float masks.
- ``F.silu`` / ``nn.SiLU`` (Conformer's and EBMs' activation) was the composition ``x *
  sigmoid(x)``: ``grad_fn`` was ``MulBackward0`` and both ``x`` and ``σ(x)`` were kept for
  backward. It is now one op (``SiluBackward0``, saving only ``x``) with a fused,
  differentiable gradient; in place (``nn.SiLU(inplace=True)``) too.
- ``print(nn.ParameterList(...))`` / ``print(nn.ParameterDict(...))`` showed
  ``[chainrule.float32 of size 2x3]``; PyTorch prints ``[torch.float32 of size 2x3]`` in a
  list and the legacy type name ``[torch.FloatTensor of size 2x3]`` in a dict.
- ``F.mse_loss`` / ``F.l1_loss`` / ``F.smooth_l1_loss`` (and their modules) cast a float64
  target down to a float32 input's dtype; PyTorch promotes both (a PINN's float32 network
  against ``torch.from_numpy`` float64 targets gives a float64 loss, the float32 input's
  gradient stays float32). ``F.binary_cross_entropy`` cast it silently where PyTorch raises
  RuntimeError ("Found dtype Double but expected Float"); ``F.huber_loss`` keeps casting it to
  the input's dtype, as PyTorch's forward does.
- ``F.mse_loss`` / ``nn.MSELoss`` (the PINNs' loss; ``print(loss)`` shows ``grad_fn``) was
  composed as a difference, a square and a mean: ``grad_fn=<MeanBackward0>`` where PyTorch
  prints ``grad_fn=<MseLossBackward0>`` for every reduction. It is one op now (same values
  bit for bit, double backward, forward mode, and a vmap rule).
- ``x.clamp(min=tensor, max=1.0)`` (one bound a Tensor, the other a number) was accepted;
  PyTorch has only the (Tensor, Tensor) and (Number, Number) overloads and raises TypeError
  (``torch.clamp``, ``clamp_``, ``clip``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]
MISMATCH = "Support for mismatched"


# --- arange(end=...) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"end": 5}, {"end": 2.5}, {"end": 4, "dtype": "float64"}, {"start": 1, "end": 4}],
    ids=["int", "float", "dtype", "start_end"],
)
def test_arange_end_keyword_matches_torch(kwargs: dict) -> None:
    def build(lib: Any) -> Any:
        kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
        return lib.arange(**kw)

    want, got = build(torch), build(chainrule)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_arange_without_bounds_raises_type_error_like_torch() -> None:
    for lib in LIBS:
        with pytest.raises(TypeError, match="end"):
            lib.arange()
        with pytest.raises(TypeError, match="end"):
            lib.arange(step=2)


# --- mismatched attention mask types ---------------------------------------------------------


def _record(fn: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if MISMATCH in str(w.message)]


def _mask_warnings(lib: Any, kind: str, kpm_bool: bool, attn_bool: bool) -> list[str]:
    lib.manual_seed(0)
    x = lib.tensor(np.random.default_rng(0).standard_normal((2, 5, 4)))
    kpm = lib.tensor(np.array([[False] * 5, [False, False, False, True, True]]))
    attn = lib.tensor(np.triu(np.ones((5, 5), bool), 1))
    if not kpm_bool:
        kpm = lib.zeros(2, 5, dtype=lib.float64).masked_fill(kpm, float("-inf"))
    if not attn_bool:
        attn = lib.zeros(5, 5, dtype=lib.float64).masked_fill(attn, float("-inf"))
    nn = lib.nn
    with lib.no_grad():
        if kind == "mha":
            m = nn.MultiheadAttention(4, 2, batch_first=True, dtype=lib.float64)
            return _record(lambda: m(x, x, x, key_padding_mask=kpm, attn_mask=attn))
        layer = nn.TransformerEncoderLayer(4, 2, 8, 0.0, batch_first=True, dtype=lib.float64)
        if kind == "layer":
            return _record(lambda: layer(x, src_mask=attn, src_key_padding_mask=kpm))
        enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        return _record(lambda: enc(x, mask=attn, src_key_padding_mask=kpm))


@pytest.mark.parametrize("kind", ["mha", "layer", "encoder"])
@pytest.mark.parametrize(
    "kpm_bool, attn_bool", [(True, False), (False, True), (True, True), (False, False)]
)
def test_mismatched_mask_types_warn_like_torch(kind: str, kpm_bool: bool, attn_bool: bool) -> None:
    want = _mask_warnings(torch, kind, kpm_bool, attn_bool)
    got = _mask_warnings(chainrule, kind, kpm_bool, attn_bool)
    assert got == want
    assert bool(want) == (kpm_bool != attn_bool)


def test_mismatched_masks_still_give_torch_values() -> None:
    def run(lib: Any) -> np.ndarray:
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(4, 2, 8, 0.0, batch_first=True)
        state = {
            k: lib.tensor(np.random.default_rng(1).standard_normal(tuple(v.shape)))
            for k, v in layer.state_dict().items()
        }
        layer.load_state_dict(state)
        enc = lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        x = lib.tensor(np.random.default_rng(0).standard_normal((2, 5, 4)), requires_grad=True)
        causal = lib.nn.Transformer.generate_square_subsequent_mask(5)
        kpm = lib.tensor(np.array([[False] * 5, [False, False, False, True, True]]))
        with pytest.warns(UserWarning, match=MISMATCH):
            out = enc(x, mask=causal, src_key_padding_mask=kpm)
        out.pow(2).sum().backward()
        return np.concatenate([out.detach().numpy().ravel(), x.grad.numpy().ravel()])

    torch.set_default_dtype(torch.float64)
    chainrule.set_default_dtype(chainrule.float64)
    try:
        want, got = run(torch), run(chainrule)
    finally:
        torch.set_default_dtype(torch.float32)
        chainrule.set_default_dtype(chainrule.float32)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# --- SiLU as one op --------------------------------------------------------------------------

A = np.random.default_rng(20).standard_normal((3, 4)) * 4


@pytest.mark.parametrize("inplace", [False, True])
def test_silu_grad_fn_and_gradients_match_torch(inplace: bool) -> None:
    results = []
    for lib in LIBS:
        x = lib.tensor(A, requires_grad=True)
        y = x * 1.0
        out = lib.nn.SiLU(inplace=inplace)(y)
        assert (out is y) == inplace
        (g,) = lib.autograd.grad(out.pow(2).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        results.append((out.grad_fn.name(), out.detach().numpy(), g.detach().numpy(), gg.numpy()))
    (tname, *want), (cname, *got) = results
    assert cname == tname == "SiluBackward0"
    for w, c in zip(want, got):
        np.testing.assert_allclose(c, w, rtol=1e-12, atol=1e-14)


def test_silu_float32_extremes_match_torch() -> None:
    values = np.array([-1000.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 1000.0], dtype=np.float32)
    want = torch.nn.functional.silu(torch.tensor(values))
    got = chainrule.nn.functional.silu(chainrule.tensor(values))
    assert str(got.dtype) == "torch.float32"
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-30)


def test_silu_forward_mode_matches_torch() -> None:
    tangent = np.random.default_rng(3).standard_normal(A.shape)
    results = []
    for lib in LIBS:
        fwAD = lib.autograd.forward_ad
        with fwAD.dual_level():
            dual = fwAD.make_dual(lib.tensor(A), lib.tensor(tangent))
            results.append(fwAD.unpack_dual(lib.nn.functional.silu(dual)).tangent.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)


# --- ParameterList / ParameterDict printouts -------------------------------------------------


def test_parameter_container_reprs_match_torch() -> None:
    def build(lib: Any) -> tuple[str, str]:
        nn = lib.nn
        plist = nn.ParameterList(
            [nn.Parameter(lib.ones(2)), lib.ones(2, 3, dtype=lib.float64), "not a tensor"]
        )
        pdict = nn.ParameterDict(
            {
                "lambda_1": nn.Parameter(lib.ones(1)),
                "b": lib.ones(2, 3, dtype=lib.float64),
                "h": nn.Parameter(lib.ones(1, dtype=lib.float16)),
                "n": 3,
            }
        )
        return repr(plist), repr(pdict)

    assert build(chainrule) == build(torch)


# --- loss dtypes -----------------------------------------------------------------------------

DTYPE_PAIRS = [("float32", "float64"), ("float64", "float32"), ("float16", "float32")]


@pytest.mark.parametrize("input_dtype, target_dtype", DTYPE_PAIRS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss"])
def test_regression_losses_promote_like_torch(
    loss: str, input_dtype: str, target_dtype: str
) -> None:
    x = np.array([0.25, -1.5, 2.0])
    y = np.array([1.0, -1.0, 0.5])
    results = []
    for lib in LIBS:
        inp = lib.tensor(x, dtype=getattr(lib, input_dtype), requires_grad=True)
        out = getattr(lib.nn.functional, loss)(inp, lib.tensor(y, dtype=getattr(lib, target_dtype)))
        out.backward()
        results.append((str(out.dtype), str(inp.grad.dtype), out.item(), inp.grad.tolist()))
    (tdt, tgdt, tval, tgrad), (cdt, cgdt, cval, cgrad) = results
    assert (cdt, cgdt) == (tdt, tgdt)
    np.testing.assert_allclose(cval, tval, rtol=1e-6)
    np.testing.assert_allclose(cgrad, tgrad, rtol=1e-3)


def test_mse_module_float32_output_float64_target_like_torch() -> None:
    """A PINN's float32 network against ``torch.from_numpy`` float64 data."""
    target = np.linspace(-1.0, 1.0, 4)[:, None]
    out = []
    for lib in LIBS:
        lib.manual_seed(0)
        pred = lib.tensor(target.astype(np.float32) * 0.5, requires_grad=True)
        loss = lib.nn.MSELoss()(pred, lib.from_numpy(target))
        loss.backward()
        out.append((str(loss.dtype).removeprefix("torch."), loss.item(), pred.grad.numpy()))
    assert out[1][0] == out[0][0] == "float64"
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12)
    np.testing.assert_allclose(out[1][2], out[0][2], rtol=1e-6)
    assert out[1][2].dtype == out[0][2].dtype == np.float32


@pytest.mark.parametrize("input_dtype, target_dtype", DTYPE_PAIRS)
def test_bce_refuses_another_float_target_like_torch(input_dtype: str, target_dtype: str) -> None:
    x = np.array([0.25, 0.5, 0.75])
    messages = []
    for lib in LIBS:
        inp = lib.tensor(x, dtype=getattr(lib, input_dtype))
        target = lib.tensor(x, dtype=getattr(lib, target_dtype))
        with pytest.raises(RuntimeError, match="Found dtype") as info:
            lib.nn.BCELoss()(inp, target)
        messages.append(str(info.value))
    assert messages[0] in messages[1]  # chainrule's message names the op first


@pytest.mark.parametrize("input_dtype, target_dtype", DTYPE_PAIRS)
def test_huber_casts_the_target_like_torch(input_dtype: str, target_dtype: str) -> None:
    x, y = np.array([0.25, -1.5, 2.0]), np.array([1.0, -1.0, 0.5])
    results = []
    for lib in LIBS:
        inp = lib.tensor(x, dtype=getattr(lib, input_dtype))
        out = lib.nn.functional.huber_loss(inp, lib.tensor(y, dtype=getattr(lib, target_dtype)))
        results.append((str(out.dtype).removeprefix("torch."), out.item()))
    assert results[1][0] == results[0][0] == input_dtype
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-3)


# --- clamp with a Tensor bound next to a number ----------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x, t: lib.clamp(x, t, 1.0),
        lambda lib, x, t: lib.clamp(x, min=0.0, max=t),
        lambda lib, x, t: x.clamp_(t, 1.0),
        lambda lib, x, t: lib.clip(x, t, 1),
    ],
    ids=["tensor_float", "float_tensor", "inplace", "clip"],
)
def test_clamp_mixed_bounds_raise_type_error_like_torch(call: Any) -> None:
    for lib in LIBS:
        x, t = lib.tensor(A[0]), lib.zeros(4, dtype=lib.float64)
        with pytest.raises(TypeError, match="clamp|clip"):
            call(lib, x, t)


def test_clamp_one_tensor_bound_or_two_still_match_torch() -> None:
    results = []
    for lib in LIBS:
        x, lo, hi = lib.tensor(A[0]), lib.tensor(A[1]), lib.tensor(A[2])
        results.append(
            np.concatenate(
                [x.clamp(lo, None).numpy(), x.clamp(max=hi).numpy(), lib.clamp(x, lo, hi).numpy()]
            )
        )
    np.testing.assert_array_equal(results[1], results[0])


# --- mse_loss as one op ----------------------------------------------------------------------

B = np.random.default_rng(21).standard_normal((3, 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_node_values_and_double_backward_match_torch(reduction: str) -> None:
    results = []
    for lib in LIBS:
        x = lib.tensor(A, requires_grad=True)
        y = lib.tensor(B, requires_grad=True)
        loss = lib.nn.MSELoss(reduction=reduction)(x.tanh(), y)
        names = (loss.grad_fn.name(), [n is None for n, _ in loss.grad_fn.next_functions])
        gx, gy = lib.autograd.grad(loss.sum(), (x, y), create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gy).sum(), x)
        results.append((names, [t.detach().numpy() for t in (loss, gx, gy, ggx)]))
    (tnames, want), (cnames, got) = results
    assert cnames == tnames and tnames[0] == "MseLossBackward0"
    for w, c in zip(want, got):
        np.testing.assert_allclose(c, w, rtol=1e-12, atol=1e-14)


def test_mse_loss_repr_with_grad_fn_matches_torch() -> None:
    got = repr(
        chainrule.nn.functional.mse_loss(chainrule.ones(2, requires_grad=True), chainrule.zeros(2))
    )
    want = repr(torch.nn.functional.mse_loss(torch.ones(2, requires_grad=True), torch.zeros(2)))
    assert got == want == "tensor(1., grad_fn=<MseLossBackward0>)"


def test_mse_loss_forward_mode_matches_torch() -> None:
    tangent = np.random.default_rng(4).standard_normal(A.shape)
    results = []
    for lib in LIBS:
        fwAD = lib.autograd.forward_ad
        with fwAD.dual_level():
            dual = fwAD.make_dual(lib.tensor(A), lib.tensor(tangent))
            out = lib.nn.functional.mse_loss(dual, lib.tensor(B))
            results.append(fwAD.unpack_dual(out).tangent.item())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
