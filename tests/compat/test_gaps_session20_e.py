"""Gaps found by the session-20 drop-in programs (``makemore_backprop_ninja``,
``llama_kv_cache``, ``dino_self_distillation``, ``mingpt_configure``, ``detection_losses``) and
by probing the APIs next to their idioms, each checked against PyTorch.

- ``torch.view_as_complex`` (LLaMA's rotary embedding) accepted any float ``(..., 2)`` tensor;
  PyTorch refuses (RuntimeError) one whose pairs are not adjacent ("Tensor must have a last
  dimension with stride 1", e.g. a transposed input), whose other dimensions do not step whole
  pairs ("... stride divisible by 2 for all but last dimension", e.g. ``x[:, 1:3]`` of a
  ``(3, 5)`` tensor; dimensions of size 1 are not checked) or that starts mid-pair ("... a
  storage_offset divisible by 2"); ``view_as_complex_copy`` checks the same.
- ``F.smooth_l1_loss`` with a negative ``beta`` and ``F.huber_loss`` with a non-positive
  ``delta`` raised ValueError; PyTorch raises RuntimeError ("smooth_l1_loss does not support
  negative values for beta.", "huber_loss does not support non-positive values for delta.").
- ``named_parameters(remove_duplicate=False)`` / ``named_buffers(...)`` still skipped a
  submodule registered twice (``nn.Sequential(l, l)``, tied blocks): PyTorch lists every path
  (``0.weight`` and ``1.weight``), as ``named_modules(remove_duplicate=False)`` already did.
- ``torch.isclose`` / ``torch.allclose`` of two dtypes (makemore-style ``cmp()`` of a float64
  gradient against a float32 one) raised a plain TypeError; PyTorch raises RuntimeError
  ("Double did not match Float"); now chainrule's DtypeError, both.
- The comparisons (``==``, ``<``, ``eq``, ...) of shapes that do not broadcast raised a plain
  ValueError; PyTorch raises RuntimeError (now chainrule's ShapeError, both).
- ``var`` / ``std`` / ``var_mean`` / ``std_mean`` given both ``unbiased=`` and
  ``correction=`` silently let ``correction`` win; PyTorch has them in different overloads and
  raises TypeError ("received an invalid combination of arguments").
- ``x ** -0.5`` (makemore's ``bnvar_inv = (bnvar + 1e-5)**-0.5``, LLaMA's RMSNorm written out),
  ``x ** -2`` (``-(counts_sum**-2)``) and ``x ** 3`` (minGPT's NewGELU ``torch.pow(x, 3.0)``)
  differed from PyTorch in the last bit for about a quarter of the inputs: PyTorch computes
  them as ``1 / sqrt(x)``, ``1 / (x * x)`` and ``x * x * x``, NumPy's ``power`` does not; now
  bit-identical in float32 and float64.
- ``nn.Parameter(t)`` of an inference tensor (one made under ``torch.inference_mode()``, like
  LLaMA's preallocated cache) made a normal tensor that accepted ``requires_grad=True``;
  PyTorch's Parameter shares the inference tensor's memory, so it is an inference tensor
  (``is_inference()`` True) and ``requires_grad=True`` outside inference mode is a
  RuntimeError.
- ``Tensor.normal_`` (so ``nn.init.normal_`` / ``trunc_normal_``, DINO's and minGPT's
  ``_init_weights``) filled an integer or bool tensor with rounded draws, and ``geometric_``
  filled a bool one; PyTorch raises NotImplementedError ("normal_kernel_cpu" / "geometric_cpu"
  not implemented for 'Long' / 'Bool').
- ``nn.init``'s random fills (``uniform_``, ``normal_``, ``trunc_normal_``, the ``xavier_`` /
  ``kaiming_`` forms, ``orthogonal_``) did the same on their own path; PyTorch raises
  NotImplementedError there too (``constant_`` / ``zeros_`` still fill any dtype).
- ``F.gelu(x, approximate=...)`` with an unknown string raised ValueError; PyTorch raises
  RuntimeError ("approximate argument must be either none or tanh."); now an error of both
  types. (``nn.GELU("fast")`` still refuses at construction, where PyTorch waits for the
  first call: ``tests/nn/test_activation.py`` pins that.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _layouts(lib: Any) -> dict[str, Any]:
    return {
        "transposed": lambda: lib.ones(2, 3).t(),
        "strided_last": lambda: lib.ones(3, 4)[:, ::2],
        "odd_stride": lambda: lib.ones(3, 5)[:, 1:3],
        "odd_offset": lambda: lib.ones(10).narrow(0, 1, 8).view(4, 2),
        "size1_odd_stride": lambda: lib.ones(1, 5)[:, :2],
        "expanded": lambda: lib.ones(3, 2).expand(2, 3, 2),
        "even_offset": lambda: lib.ones(5, 2)[1:],
    }


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        out = fn()
    except Exception as err:  # noqa: BLE001 - the outcome compared is the error itself
        return "error", (isinstance(err, RuntimeError), str(err))
    return "ok", np.asarray(out.detach().numpy()).tolist() if hasattr(out, "numpy") else out


@pytest.mark.parametrize("case", list(_layouts(torch)))
@pytest.mark.parametrize("op", ["view_as_complex", "view_as_complex_copy"])
def test_view_as_complex_layout_rules(case: str, op: str) -> None:
    want = _outcome(lambda: getattr(torch, op)(_layouts(torch)[case]()))
    got = _outcome(lambda: getattr(chainrule, op)(_layouts(chainrule)[case]()))
    assert got[0] == want[0]
    if want[0] == "ok":
        assert chainrule.view_as_real(chainrule.tensor(got[1])).tolist() == (
            torch.view_as_real(torch.tensor(want[1])).tolist()
        )
    else:  # both RuntimeError, chainrule's message holding PyTorch's
        assert got[1][0] and want[1][0]
        assert want[1][1] in got[1][1]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda F, a: F.smooth_l1_loss(a, a, beta=-1.0), "does not support negative values"),
        (lambda F, a: F.huber_loss(a, a, delta=-1.0), "does not support non-positive values"),
        (lambda F, a: F.huber_loss(a, a, delta=0.0), "does not support non-positive values"),
    ],
)
def test_smooth_l1_and_huber_bad_parameter_raise_runtime_error(call: Any, message: str) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match=message):
            call(lib.nn.functional, lib.ones(3))
    loss = chainrule.nn.SmoothL1Loss(beta=-0.5)
    with pytest.raises(RuntimeError, match="beta"):
        loss(chainrule.ones(2), chainrule.zeros(2))


def _shared(lib: Any) -> Any:
    lin = lib.nn.Linear(2, 2)
    bn = lib.nn.BatchNorm1d(2)
    return lib.nn.Sequential(lin, bn, lin, bn)


@pytest.mark.parametrize("method", ["named_parameters", "named_buffers"])
@pytest.mark.parametrize("remove_duplicate", [True, False])
def test_named_members_remove_duplicate_lists_every_path(method: str, remove_duplicate: bool):
    want = [n for n, _ in getattr(_shared(torch), method)(remove_duplicate=remove_duplicate)]
    got = [n for n, _ in getattr(_shared(chainrule), method)(remove_duplicate=remove_duplicate)]
    assert got == want
    if not remove_duplicate:
        assert "2.weight" in got or "3.running_mean" in got


@pytest.mark.parametrize("fn", ["isclose", "allclose"])
def test_isclose_dtype_mismatch_is_runtime_error(fn: str) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="did not match"):
            getattr(lib, fn)(lib.ones(2, dtype=lib.float64), lib.ones(2))
        with pytest.raises(RuntimeError, match="did not match"):
            getattr(lib, fn)(lib.ones(2, dtype=lib.long), lib.ones(2))


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_shape_mismatch_is_runtime_error(op: str) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError):
            getattr(lib, op)(lib.ones(2, 3), lib.ones(2))
    with pytest.raises(RuntimeError, match=op):
        _ = getattr(chainrule, op)(chainrule.ones(2, 3), chainrule.ones(2))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.var(0, unbiased=True, correction=0),
        lambda lib, x: x.std(unbiased=False, correction=1),
        lambda lib, x: lib.var(x, 0, unbiased=True, correction=1),
        lambda lib, x: lib.std(x, 0, unbiased=True, correction=0),
        lambda lib, x: lib.var_mean(x, 0, unbiased=True, correction=0),
        lambda lib, x: lib.std_mean(x, 0, unbiased=False, correction=0),
    ],
)
def test_var_unbiased_and_correction_together_is_type_error(call: Any) -> None:
    for lib in LIBS:
        with pytest.raises(TypeError):
            call(lib, lib.arange(6.0).view(2, 3))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.var(0, unbiased=False),
        lambda lib, x: x.var(0, correction=0),
        lambda lib, x: x.std(0, correction=2, keepdim=True),
        lambda lib, x: lib.var_mean(x, 1, unbiased=True)[0],
        lambda lib, x: x.to(lib.bfloat16).var(0, unbiased=False).float(),
    ],
)
def test_var_single_form_still_matches(call: Any) -> None:
    data = np.arange(12.0).reshape(3, 4) ** 1.5
    want = call(torch, torch.tensor(data)).numpy()
    got = call(chainrule, chainrule.tensor(data)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("exponent", [-0.5, -2, -2.0, 3, 3.0, 2, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pow_special_exponents_bit_identical(exponent: float, dtype: str) -> None:
    data = np.random.default_rng(20).random(4000).astype(dtype) * 10 + 1e-3
    want = (torch.tensor(data) ** exponent).numpy()
    got = (chainrule.tensor(data) ** exponent).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(chainrule.pow(chainrule.tensor(data), exponent).numpy(), want)


def test_pow_special_exponents_edge_values_and_gradient() -> None:
    data = [0.0, -1.0, float("inf"), 4.0]
    for exponent in (-0.5, -2, 3):
        want = torch.tensor(data) ** exponent
        got = chainrule.tensor(data) ** exponent
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    xs = [torch.tensor([0.5, 2.0], requires_grad=True)]
    xs.append(chainrule.tensor([0.5, 2.0], requires_grad=True))
    for x in xs:
        (x**-0.5 + x**-2 + x**3).sum().backward()
    np.testing.assert_allclose(xs[1].grad.numpy(), xs[0].grad.numpy(), rtol=1e-6)


def test_batchnorm_inverse_std_matches_torch_bitwise() -> None:
    """makemore's ``(bnvar + 1e-5)**-0.5`` in float32, the idiom that showed the gap."""
    bnvar = np.random.default_rng(4).random((1, 64)).astype(np.float32) * 3
    values = []
    for lib in LIBS:
        values.append(((lib.tensor(bnvar) + 1e-5) ** -0.5).numpy())
    np.testing.assert_array_equal(values[1], values[0])


def test_parameter_of_inference_tensor_is_inference() -> None:
    for lib in LIBS:
        with lib.inference_mode():
            cache = lib.zeros(2, 3)
            inside = lib.nn.Parameter(lib.ones(2))
        frozen = lib.nn.Parameter(cache, requires_grad=False)
        assert frozen.is_inference()
        assert inside.is_inference() and inside.requires_grad
        assert not lib.nn.Parameter(lib.ones(2)).is_inference()
        with pytest.raises(RuntimeError, match="(?i)inference"):
            lib.nn.Parameter(cache)
        normal = lib.nn.Parameter(cache.clone())
        assert normal.requires_grad and not normal.is_inference()


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.empty(3, dtype=lib.long).normal_(),
        lambda lib: lib.empty(3, dtype=lib.bool).normal_(),
        lambda lib: lib.nn.init.normal_(lib.empty(3, dtype=lib.int32), std=0.02),
        lambda lib: lib.nn.init.trunc_normal_(lib.empty(2, 2, dtype=lib.long), std=0.02),
        lambda lib: lib.empty(3, dtype=lib.bool).geometric_(0.5),
    ],
)
def test_normal_fill_of_integer_tensor_not_implemented(call: Any) -> None:
    for lib in LIBS:
        with pytest.raises(NotImplementedError):
            call(lib)


def test_normal_fill_still_takes_float_and_complex() -> None:
    for dtype in (chainrule.float32, chainrule.float64, chainrule.complex64):
        x = chainrule.empty(50, dtype=dtype).normal_(0.0, 2.0)
        assert x.dtype == dtype and bool(x.abs().sum() > 0)
    assert chainrule.empty(4, dtype=chainrule.long).geometric_(0.5).min().item() >= 1


def test_gelu_unknown_approximate_is_runtime_error() -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
            lib.nn.functional.gelu(lib.ones(2), approximate="fast")
    with pytest.raises(ValueError):  # chainrule's earlier type still catches it
        chainrule.nn.functional.gelu(chainrule.ones(2), approximate="fast")


@pytest.mark.parametrize(
    "init",
    [
        lambda lib, w: lib.nn.init.uniform_(w),
        lambda lib, w: lib.nn.init.xavier_uniform_(w),
        lambda lib, w: lib.nn.init.kaiming_normal_(w),
        lambda lib, w: lib.nn.init.xavier_normal_(w),
        lambda lib, w: lib.nn.init.orthogonal_(w),
    ],
)
@pytest.mark.parametrize("dtype", ["long", "bool"])
def test_random_init_of_integer_tensor_not_implemented(init: Any, dtype: str) -> None:
    for lib in LIBS:
        with pytest.raises(NotImplementedError):
            init(lib, lib.empty(2, 2, dtype=getattr(lib, dtype)))
    ints = chainrule.empty(2, 2, dtype=chainrule.long)
    assert chainrule.nn.init.constant_(ints, 3).tolist() == [[3, 3], [3, 3]]
