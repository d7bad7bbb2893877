"""Top-level names PyTorch programs use that chainrule lacked, side by side with torch:
``default_generator``, the unsigned dtypes ``uint16/32/64``, ``set_default_tensor_type``,
``OutOfMemoryError`` / ``AcceleratorError`` (and ``cuda.OutOfMemoryError``), the
``sym_*`` helpers on plain numbers, ``has_lapack``/``has_spectral``/``has_mkl``/
``has_openmp``, ``get_device_module``; and ``cr.device("tpu")`` raising what torch raises."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.fixture
def _default_dtype() -> Iterator[None]:
    before = cr.get_default_dtype(), torch.get_default_dtype()
    yield
    cr.set_default_dtype(before[0])
    torch.set_default_dtype(before[1])


def _outcome(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - the exception type is what is compared
            return type(err)


# ---------------------------------------------------------------- default_generator
def test_default_generator_is_the_one_manual_seed_seeds() -> None:
    assert cr.default_generator is cr.random.default_generator
    assert isinstance(cr.default_generator, cr.Generator)
    cr.manual_seed(123)
    assert cr.default_generator.initial_seed() == cr.initial_seed() == 123
    a = cr.rand(3)
    cr.default_generator.manual_seed(123)
    np.testing.assert_array_equal(cr.rand(3).numpy(), a.numpy())
    perm = cr.utils.data.random_split(range(6), [3, 3], generator=cr.default_generator)
    assert sorted([*perm[0], *perm[1]]) == list(range(6))


# ---------------------------------------------------------------- unsigned dtypes
@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64"])
def test_unsigned_dtypes(name: str) -> None:
    dt = getattr(cr, name)
    assert dt.itemsize == getattr(torch, name).itemsize
    assert cr.iinfo(dt).max == torch.iinfo(getattr(torch, name)).max
    assert cr.iinfo(dt).min == 0
    t = cr.tensor([1, 2, 3], dtype=dt)
    assert t.dtype == dt and t.numpy().dtype == np.dtype(name)
    assert cr.zeros(2, dtype=name).dtype == dt
    assert name in cr.__all__


# ---------------------------------------------------------------- set_default_tensor_type
@pytest.mark.usefixtures("_default_dtype")
@pytest.mark.parametrize(
    "arg",
    ["DoubleTensor", "HalfTensor", "BFloat16Tensor", "torch.DoubleTensor", "torch.FloatTensor"],
)
def test_set_default_tensor_type_sets_the_default_dtype(arg: str) -> None:
    for lib in (cr, torch):
        t = arg if arg.startswith("torch.") else getattr(lib, arg)
        _outcome(lambda lib=lib, t=t: lib.set_default_tensor_type(t))
    assert str(cr.get_default_dtype()) == str(torch.get_default_dtype())
    assert str(cr.zeros(1).dtype) == str(torch.zeros(1).dtype)


@pytest.mark.usefixtures("_default_dtype")
@pytest.mark.parametrize(
    "arg",
    ["IntTensor", "torch.LongTensor", "float64", "float", "torch.FooTensor", 3, "x.y.Z"],
)
def test_set_default_tensor_type_refuses_as_torch(arg: Any) -> None:
    def call(lib: Any) -> Any:
        t = getattr(lib, arg) if isinstance(arg, str) and hasattr(lib, arg) else arg
        return _outcome(lambda: lib.set_default_tensor_type(t))

    got, want = call(cr), call(torch)
    assert isinstance(want, type) and issubclass(want, Exception)
    assert got is want


def test_set_default_tensor_type_cuda_without_a_gpu() -> None:
    if cr.cuda.is_available():
        pytest.skip("a GPU is present: the CUDA type is available")
    assert _outcome(lambda: cr.set_default_tensor_type("torch.cuda.FloatTensor")) is TypeError


def test_set_default_tensor_type_warns_once_per_process() -> None:
    code = textwrap.dedent(
        """
        import warnings
        import chainrule as cr
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cr.set_default_tensor_type(cr.DoubleTensor)
            cr.set_default_tensor_type("torch.FloatTensor")
        print(len(caught), caught[0].filename == "<string>", "deprecated" in str(caught[0].message))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["1", "True", "True"]


# ---------------------------------------------------------------- error types
def test_error_types_are_torchs() -> None:
    assert cr.OutOfMemoryError is cr.cuda.OutOfMemoryError
    for name in ("OutOfMemoryError", "AcceleratorError"):
        assert issubclass(getattr(cr, name), RuntimeError)
        assert issubclass(getattr(torch, name), RuntimeError)


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "cuda:-1", "", "CPU"])
def test_bad_device_strings_raise_runtime_error_as_torch(spec: str) -> None:
    assert _outcome(lambda: torch.device(spec)) is RuntimeError
    with pytest.raises(RuntimeError):
        cr.device(spec)
    with pytest.raises(ValueError):  # what chainrule raised before: still caught
        cr.device(spec)


# ---------------------------------------------------------------- sym_* helpers
@pytest.mark.parametrize(
    "call",
    [
        ("sym_int", (3.7,)),
        ("sym_int", (-3.7,)),
        ("sym_int", (5,)),
        ("sym_float", (3,)),
        ("sym_max", (2, 3.5)),
        ("sym_max", (4, 3)),
        ("sym_max", (True, 2)),
        ("sym_min", (2, 3.5)),
        ("sym_min", (2, 3)),
        ("sym_not", (True,)),
        ("sym_not", (0,)),
        ("sym_sqrt", (4,)),
        ("sym_sqrt", (-1,)),
        ("sym_ite", (True, 1, 2)),
        ("sym_ite", (0, 1, 2)),
        ("sym_sum", ([1, 2, 3.5],)),
        ("sym_fresh_size", (3,)),
        ("sym_constrain_range", (3,)),
        ("sym_constrain_range_for_size", (3,)),
        ("sym_constrain_range_for_size", (-1,)),
    ],
    ids=lambda c: f"{c[0]}{c[1]}",
)
def test_sym_helpers_on_numbers(call: tuple) -> None:
    name, args = call
    got = _outcome(lambda: getattr(cr, name)(*args))
    want = _outcome(lambda: getattr(torch, name)(*args))
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    "kwargs", [{"min": 5, "max": 10}, {"min": 0, "max": 2}, {"min": 0}, {"max": 3}]
)
def test_sym_constrain_range_checks_a_concrete_size(kwargs: dict) -> None:
    for fn in ("sym_constrain_range", "sym_constrain_range_for_size"):
        got = _outcome(lambda fn=fn: getattr(cr, fn)(3, **kwargs))
        want = _outcome(lambda fn=fn: getattr(torch, fn)(3, **kwargs))
        assert got == want


# ---------------------------------------------------------------- build flags, device modules
def test_build_flags() -> None:
    assert cr.has_lapack is True and cr.has_spectral is True
    assert cr.has_openmp is cr.backends.openmp.is_available()
    assert isinstance(cr.has_mkl, bool)


def test_get_device_module() -> None:
    assert cr.get_device_module() is cr.cpu
    assert cr.get_device_module("cpu") is cr.cpu
    assert cr.get_device_module(cr.device("cpu")) is cr.cpu
    assert cr.get_device_module("cuda") is cr.cuda
    for bad in ("foo", 3):
        assert issubclass(_outcome(lambda bad=bad: cr.get_device_module(bad)), RuntimeError)
        assert _outcome(lambda bad=bad: torch.get_device_module(bad)) is RuntimeError


# ---------------------------------------------------------------- nn.parameter's lazy names
def test_nn_parameter_answers_for_the_lazy_placeholders() -> None:
    p = cr.nn.parameter
    assert p.UninitializedParameter is cr.nn.UninitializedParameter
    assert p.UninitializedBuffer is cr.nn.UninitializedBuffer
    for lib in (cr, torch):
        lazy = lib.nn.LazyLinear(3)
        assert lib.nn.parameter.is_lazy(lazy.weight) is True
        assert isinstance(lazy.weight, lib.nn.parameter.UninitializedTensorMixin)
        assert lib.nn.parameter.is_lazy(lib.nn.LazyBatchNorm1d().running_mean) is True
        assert lib.nn.parameter.is_lazy(lib.nn.Linear(2, 3).weight) is False
        lazy(lib.ones(4, 5))
        assert lib.nn.parameter.is_lazy(lazy.weight) is False
    with pytest.raises(AttributeError):
        p.NoSuchName  # noqa: B018 - the lookup is the test


# ---------------------------------------------------------------- Tensor flags and queries
FLAGS = ("is_meta", "is_quantized", "is_nested", "is_mkldnn", "is_xla", "is_ipu", "is_maia")
FLAGS += ("is_mtia", "is_vulkan", "is_sparse_csr")


def test_absent_backend_flags_are_false_as_on_a_torch_cpu_tensor() -> None:
    for lib in (cr, torch):
        x = lib.ones(2, requires_grad=True) * 2
        for name in FLAGS:
            assert getattr(x, name) is False, name
        assert x.is_distributed() is False and lib.is_distributed(x) is False
    with pytest.raises(TypeError):
        cr.is_distributed([1.0])


def test_volatile_is_false_and_warns_as_torch() -> None:
    for lib in (cr, torch):
        x = lib.ones(1)
        with pytest.warns(UserWarning, match="volatile was removed"):
            assert x.volatile is False
        with pytest.warns(UserWarning, match="no effect"):
            x.volatile = True
        with pytest.warns(UserWarning):
            assert x.volatile is False


def test_output_nr_and_const_data_ptr() -> None:
    for lib in (cr, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        assert x.output_nr == 0 and y.output_nr == 0
        assert [p.output_nr for p in y.split(1)] == [0, 1, 2]
        assert y.const_data_ptr() == y.data_ptr()


_STRIDED = [
    ((1, 3, 4), (4, 4, 1)),
    ((3, 1, 4), (4, 4, 1)),
    ((2, 3), (1, 1)),
    ((3, 2), (1, 1)),
    ((1, 3), (3, 3)),
    ((2, 1, 3), (1, 3, 3)),
    ((2, 3, 1), (1, 2, 2)),
    ((3, 2, 4), (8, 8, 1)),
    ((2, 3, 4), (1, 2, 6)),
    ((4, 5, 3), (3, 0, 1)),
    ((2, 3, 4, 5), (60, 1, 15, 3)),
    ((), ()),
]


@pytest.mark.parametrize("layout", _STRIDED, ids=str)
def test_dim_order_is_torchs(layout: tuple) -> None:
    shape, strides = layout
    got = cr.empty(200).as_strided(shape, strides).dim_order()
    want = torch.empty(200).as_strided(shape, strides).dim_order()
    assert got == want


def test_dim_order_ambiguity_check() -> None:
    for lib in (cr, torch):
        assert lib.empty(2, 3).dim_order(ambiguity_check=True) == (0, 1)
        with pytest.raises(RuntimeError, match="unique dim order"):
            lib.empty(1, 3, 1, 1).dim_order(ambiguity_check=True)
    with pytest.raises(NotImplementedError, match="ambiguity_check"):
        cr.empty(2, 3).dim_order(ambiguity_check=[cr.contiguous_format])
