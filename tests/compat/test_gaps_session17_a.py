"""Gaps closed while writing the VQ-VAE, MAML, mixture-of-experts and LoRA drop-in programs.

``torch.tensor`` of a (nested) list infers its dtype from the elements' own dtypes, promoted
together: NumPy scalars, NumPy arrays and Tensors inside a list keep their dtype, so
``torch.tensor([np.float64(r) for r in returns])`` is float64 even under a float32 default (RL
and logging code builds such lists from NumPy sums), and ``[np.float32(1.0)]`` is float32
under a float64 default. chainrule used to give every float list the default dtype. A Python
int outside int64 raises PyTorch's ``ValueError`` (and one outside an explicit integer dtype
its ``RuntimeError``) rather than NumPy's ``OverflowError``.

``torch.func.functional_call`` takes a name that is neither a parameter nor a buffer as a plain
tensor attribute for the duration of the call, and its ``strict=True`` error is PyTorch's
RuntimeError listing unexpected and missing keys. ``F.one_hot``'s bad inputs raise
RuntimeError. ``torch.cdist`` for p other than 2 has a zero (not NaN) gradient where two points
coincide, and a gradient at all for p = 0. Loss modules built with the legacy
``size_average``/``reduce`` flags warn as PyTorch's do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

CASES: dict[str, Callable[[Any], Any]] = {
    "np_float64": lambda t: [np.float64(1.5)],
    "np_float64_with_python_float": lambda t: [np.float64(1.5), 2.0],
    "python_float_then_np_float64": lambda t: [2.0, np.float64(1.5)],
    "np_float32": lambda t: [np.float32(1.5), np.float32(2.0)],
    "np_float32_with_python_float": lambda t: [np.float32(1.5), 2.0],
    "np_float32_with_np_float64": lambda t: [np.float32(1.5), np.float64(2.0)],
    "np_float16_with_python_int": lambda t: [np.float16(1.5), 2],
    "np_int32": lambda t: [np.int32(3), np.int32(4)],
    "np_int32_with_python_float": lambda t: [np.int32(3), 2.5],
    "np_uint8_with_np_int8": lambda t: [np.uint8(3), np.int8(-4)],
    "np_uint8_with_python_int": lambda t: [np.uint8(3), 7],
    "python_bool_with_np_int8": lambda t: [True, np.int8(3)],
    "np_bool": lambda t: [np.bool_(True), False],
    "np_float32_with_python_complex": lambda t: [np.float32(1.5), 2j],
    "np_complex64_with_np_float64": lambda t: [np.complex64(1 + 2j), np.float64(1.5)],
    "nested_np_float64": lambda t: [[np.float64(1.5)], [2.0]],
    "tuple_np_float64": lambda t: (np.float64(1.5),),
    "zero_dim_tensors": lambda t: [t.tensor(1.5, dtype=t.float64), t.tensor(2.0, dtype=t.float64)],
    "zero_dim_float16_tensor_with_int": lambda t: [t.tensor(1.5, dtype=t.float16), 2],
    "nested_np_float32_and_int16_tensor": lambda t: [
        [np.float32(1.5)],
        [t.tensor(2, dtype=t.int16)],
    ],
    "float32_array_with_python_floats": lambda t: [np.ones(2, np.float32), [1.5, 2.0]],
    "float32_arrays": lambda t: [np.ones(2, np.float32), np.zeros(2, np.float32)],
    "int32_array_with_float16_array": lambda t: [np.ones(2, np.int32), np.ones(2, np.float16)],
    "python_floats": lambda t: [1.5, 2.0],
    "python_ints": lambda t: [1, 2],
    "python_ints_and_floats": lambda t: [1, 2.5],
    "empty": lambda t: [],
    "empty_nested": lambda t: [[]],
}


def _name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")  # torch's
@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("maker", ["tensor", "as_tensor"])
def test_list_dtype_is_the_promotion_of_its_elements(case: str, default: str, maker: str) -> None:
    """The dtype (and values) torch.tensor / torch.as_tensor infer for a list of mixed data."""
    results = []
    for lib in (torch, chainrule):
        prev = lib.get_default_dtype()
        lib.set_default_dtype(getattr(lib, default))
        try:
            results.append(getattr(lib, maker)(CASES[case](lib)))
        finally:
            lib.set_default_dtype(prev)
    want, got = results
    assert _name(got.dtype) == _name(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_float32_model_meets_a_float64_list_as_in_torch() -> None:
    """The idiom the rule matters for: returns computed with NumPy become a float64 tensor
    under the float32 default, so mixing it with float32 values promotes as in PyTorch."""
    returns = list(np.cumsum(np.array([0.5, 0.25, 0.125]))[::-1])
    for lib in (torch, chainrule):
        t = lib.tensor(returns)
        mixed = t - lib.ones(3)  # float64 with float32: float64 in both
        assert _name(t.dtype) == "float64" and _name(mixed.dtype) == "float64"


def test_python_int_outside_int64_raises_value_error() -> None:
    for lib in (torch, chainrule):
        with pytest.raises(ValueError, match="Overflow when unpacking long"):
            lib.tensor([1, 2**70])
        assert _name(lib.tensor([1.0, 2**70]).dtype) == "float32"  # a float list keeps it


@pytest.mark.parametrize(("value", "dtype"), [(300, "uint8"), (2**40, "int32")])
def test_python_int_outside_an_explicit_dtype_raises_runtime_error(value: int, dtype: str) -> None:
    for lib in (torch, chainrule):
        with pytest.raises(RuntimeError, match="cannot be converted to type"):
            lib.tensor([value], dtype=getattr(lib, dtype))


def _tied_model(lib: Any) -> Any:
    nn = lib.nn

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight
            self.register_buffer("buf", lib.ones(1))
            self.scale = lib.tensor(2.0)  # a plain tensor attribute, not registered
            self.plain = 3.0
            with lib.no_grad():
                self.a.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))

        def forward(self, x: Any) -> Any:
            y = self.b(self.a(x)) * self.scale + self.buf
            return y * self.extra if hasattr(self, "extra") else y

    return Model()


FUNCTIONAL_CALLS: dict[str, tuple[dict[str, Callable[[Any], Any]], dict[str, Any]]] = {
    "replace_tensor_attribute": (
        {"scale": lambda t: t.tensor(5.0), "a.weight": lambda t: t.eye(2)},
        {},
    ),
    "new_attribute": ({"extra": lambda t: t.tensor(10.0)}, {}),
    "new_attribute_of_a_child": ({"a.extra": lambda t: t.tensor(10.0)}, {}),
    "strict_all_given": (
        {"a.weight": lambda t: t.eye(2), "buf": lambda t: t.zeros(1)},
        {"strict": True},
    ),
}


@pytest.mark.parametrize("case", sorted(FUNCTIONAL_CALLS))
def test_functional_call_names_outside_parameters_and_buffers(case: str) -> None:
    """``func.functional_call`` accepts a name that is not a parameter or buffer: it is a
    plain tensor attribute for the duration of the call (a tensor attribute of that name is
    swapped and put back), as in PyTorch; chainrule raised AttributeError."""
    given, kwargs = FUNCTIONAL_CALLS[case]
    results = []
    for lib in (torch, chainrule):
        model = _tied_model(lib)
        values = {k: f(lib) for k, f in given.items()}
        out = lib.func.functional_call(model, values, (lib.ones(1, 2),), **kwargs)
        after = model(lib.ones(1, 2))  # everything put back
        state = (hasattr(model, "extra"), hasattr(model.a, "extra"), model.scale.item())
        results.append((out.tolist(), after.tolist(), state))
    assert results[0] == results[1]


@pytest.mark.parametrize(
    ("given", "kwargs", "error", "match"),
    [
        ({"scale": 5.0, "a.weight": None}, {"strict": True}, RuntimeError, "Unexpected key"),
        ({"b.weight": None}, {"strict": True}, RuntimeError, "Missing key\\(s\\): 'buf'"),
        ({"a.weight": None}, {"strict": True, "tie_weights": False}, RuntimeError, "b.weight"),
        ({"nosub.weight": None}, {}, AttributeError, "no attribute `nosub`"),
        ({"plain": None}, {}, TypeError, "plain"),
    ],
)
def test_functional_call_errors_are_torchs(
    given: dict, kwargs: dict, error: type, match: str
) -> None:
    """``strict=True`` raises RuntimeError naming unexpected and missing keys; an unknown
    submodule AttributeError; a non-tensor attribute TypeError (all as PyTorch)."""
    for lib in (torch, chainrule):
        values = {k: lib.tensor(v) if v is not None else lib.eye(2) for k, v in given.items()}
        with pytest.raises(error, match=match):
            lib.func.functional_call(_tied_model(lib), values, (lib.ones(1, 2),), **kwargs)


@pytest.mark.parametrize(
    ("make", "num_classes", "match"),
    [
        (lambda t: t.tensor([0.0, 1.0]), 3, "only applicable to index tensor"),
        (lambda t: t.tensor([True]), 3, "only applicable to index tensor"),
        (lambda t: t.tensor([-1, 0]), 3, "must be non-negative"),
        (lambda t: t.tensor([0, 3]), 3, "must be smaller than num_classes"),
        (lambda t: t.tensor([], dtype=t.long), -1, "Can not infer total number of classes"),
    ],
)
def test_one_hot_errors_are_runtime_errors(make: Any, num_classes: int, match: str) -> None:
    """``F.one_hot``'s bad inputs raise RuntimeError as in PyTorch (chainrule raised TypeError
    or ValueError, which it still is too; an empty index with -1 classes was accepted)."""
    for lib in (torch, chainrule):
        with pytest.raises(RuntimeError, match=match):
            lib.nn.functional.one_hot(make(lib), num_classes)


COINCIDENT_X1 = np.array([[0.0, 1.0], [2.0, 5.0], [1.0, 1.0]])  # row 0 is a point of X2, and
COINCIDENT_X2 = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])  # rows share a coordinate


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 3.0])
def test_cdist_gradient_at_coincident_points(p: float) -> None:
    """``torch.cdist`` for p other than 2 has a zero gradient where two points coincide (and,
    for p < 1, where a coordinate difference is 0); chainrule composed the norm from ``pow``
    and gave NaN there, and for p = 0 returned a result without a gradient at all."""
    results = []
    for lib in (torch, chainrule):
        x1 = lib.tensor(COINCIDENT_X1, requires_grad=True)
        x2 = lib.tensor(COINCIDENT_X2, requires_grad=True)
        d = lib.cdist(x1, x2, p=p)
        assert d.requires_grad and d.grad_fn is not None
        (d * lib.arange(9.0).view(3, 3)).sum().backward()
        results.append([d.detach().numpy(), x1.grad.numpy(), x2.grad.numpy()])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_nearest_code_distance_has_a_finite_gradient() -> None:
    """The VQ-VAE use: a codebook distance minimised over codes, one of which equals the
    input row (distance 0), backpropagates a finite gradient."""
    for lib in (torch, chainrule):
        z = lib.tensor(COINCIDENT_X1, requires_grad=True)
        d = lib.cdist(z, lib.tensor(COINCIDENT_X2), p=1.5)
        d.min(dim=1).values.sum().backward()
        assert np.isfinite(z.grad.numpy()).all()


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "NLLLoss", "BCELoss", "CrossEntropyLoss"])
def test_loss_module_legacy_flags_warn_as_torch(name: str) -> None:
    """A loss module built with the legacy ``size_average``/``reduce`` flags warns as
    PyTorch's does (chainrule's functional losses warned, its modules were silent)."""
    for lib in (torch, chainrule):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            loss = getattr(lib.nn, name)(size_average=False)
        assert loss.reduction == "sum"
