"""Device, precision and environment queries (cr.cuda, cr.backends, finfo, ...) vs PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import backend


def test_cuda_queries_match_cupy_availability():
    assert cr.cuda.is_available() == backend.cupy_available()
    if not cr.cuda.is_available():
        assert cr.cuda.device_count() == 0
        for query in (cr.cuda.current_device, cr.cuda.get_device_name, cr.cuda.synchronize):
            with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
                query()
    else:  # pragma: no cover - needs a GPU and CuPy
        assert cr.cuda.device_count() >= 1
        assert isinstance(cr.cuda.get_device_name(0), str)
        cr.cuda.synchronize()


def test_cuda_seeding_and_cache_are_safe_without_a_gpu():
    # PyTorch documents these as silently ignored when CUDA is unavailable.
    assert cr.cuda.manual_seed(0) is None
    assert cr.cuda.manual_seed_all(0) is None
    assert cr.cuda.empty_cache() is None
    assert cr.cuda.is_bf16_supported() is False
    if not cr.cuda.is_available():
        assert cr.cuda.memory_allocated() == torch.cuda.memory_allocated() == 0
        assert cr.cuda.memory_reserved() == torch.cuda.memory_reserved() == 0
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            cr.cuda.mem_get_info()


def test_accelerator_matches_cuda():
    assert cr.accelerator.is_available() == cr.cuda.is_available()
    assert cr.accelerator.device_count() == cr.cuda.device_count()
    if not cr.cuda.is_available():
        assert cr.accelerator.current_accelerator() is None
        assert torch.accelerator.current_accelerator() is None
        with pytest.raises(RuntimeError):
            cr.accelerator.current_device_index()


def test_backends_flags_have_torch_defaults_and_are_settable():
    names = [
        ("cudnn", "enabled"),
        ("cudnn", "benchmark"),
        ("cudnn", "deterministic"),
        ("cudnn", "allow_tf32"),
    ]
    for mod, flag in names:
        ours = getattr(getattr(cr.backends, mod), flag)
        assert ours == getattr(getattr(torch.backends, mod), flag), flag
    assert cr.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    old = cr.backends.cudnn.benchmark
    cr.backends.cudnn.benchmark = True
    try:
        assert cr.backends.cudnn.benchmark is True
    finally:
        cr.backends.cudnn.benchmark = old
    cr.backends.cuda.matmul.allow_tf32 = True  # another view of the matmul precision
    assert cr.backends.cuda.matmul.allow_tf32 is True
    assert cr.get_float32_matmul_precision() == "high"
    cr.backends.cuda.matmul.allow_tf32 = False
    assert cr.get_float32_matmul_precision() == "highest"
    assert cr.backends.mps.is_available() is False and cr.backends.mps.is_built() is False
    assert cr.backends.cudnn.is_available() is False


def test_tensor_device_flags():
    t, tt = cr.zeros(2), torch.zeros(2)
    for name in ("is_cuda", "is_mps", "is_xpu", "is_cpu"):
        assert getattr(t, name) == getattr(tt, name), name
    assert t.device.type == tt.device.type == "cpu"


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    ours, ref = cr.finfo(getattr(cr, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(ref, attr)), attr
    assert ours.dtype == ref.dtype
    assert repr(ours) == repr(ref)


def test_finfo_default_and_torch_dtype_argument():
    assert cr.finfo().eps == torch.finfo().eps
    assert cr.finfo(torch.float64).max == torch.finfo(torch.float64).max
    with pytest.raises(TypeError, match="iinfo"):
        cr.finfo(cr.int32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    ours, ref = cr.iinfo(getattr(cr, name)), torch.iinfo(getattr(torch, name))
    assert (ours.bits, ours.max, ours.min, ours.dtype) == (ref.bits, ref.max, ref.min, ref.dtype)
    assert repr(ours) == repr(ref)


def test_iinfo_rejects_float_and_bool():
    with pytest.raises(TypeError, match="finfo"):
        cr.iinfo(cr.float32)
    with pytest.raises(TypeError, match="bool"):
        cr.iinfo(cr.bool)


@pytest.fixture
def restore_printoptions():
    yield
    cr.set_printoptions(profile="default")
    cr.set_printoptions(sci_mode=None)


def test_set_printoptions_precision_and_sci_mode(restore_printoptions):
    t, tt = cr.tensor([1.23456, 2e-5]), torch.tensor([1.23456, 2e-5])
    try:
        for kwargs in ({"precision": 2, "sci_mode": True}, {"precision": 3, "sci_mode": True}):
            cr.set_printoptions(**kwargs)
            torch.set_printoptions(**kwargs)
            assert repr(t) == repr(tt)
        cr.set_printoptions(precision=2, sci_mode=False)
        torch.set_printoptions(precision=2, sci_mode=False)
        assert repr(t) == repr(tt) == "tensor([1.23, 0.00])"
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)


def test_set_printoptions_threshold_edgeitems_linewidth(restore_printoptions):
    cr.set_printoptions(threshold=5, edgeitems=1)
    assert repr(cr.arange(10.0)) == "tensor([0.,  ..., 9.])"  # torch's two spaces
    cr.set_printoptions(profile="full")
    assert "..." not in repr(cr.arange(2000.0))
    cr.set_printoptions(profile="default", linewidth=20)
    assert max(len(line) for line in repr(cr.arange(12.0)).splitlines()) <= 20
    with pytest.raises(ValueError, match="profile"):
        cr.set_printoptions(profile="tiny")


@pytest.mark.parametrize(
    "values",
    [
        [1.5, 2.0],
        [3.0, 3.0, 9.0, -1.0],
        [0.25, -7.125, 100.0],
        [1e-5, 1.0],
        [[1.0, 2.5], [3.0, 4.0]],
    ],
)
def test_default_float_printing_matches_torch(restore_printoptions, values):
    assert repr(cr.tensor(values)) == repr(torch.tensor(values))


def test_deterministic_algorithms_switch():
    assert cr.are_deterministic_algorithms_enabled() is False
    cr.use_deterministic_algorithms(True, warn_only=True)
    try:
        assert cr.are_deterministic_algorithms_enabled() is True
        assert cr.is_deterministic_algorithms_warn_only_enabled() is True
    finally:
        cr.use_deterministic_algorithms(False)
    assert cr.are_deterministic_algorithms_enabled() is False
    with pytest.raises(TypeError, match="bool"):
        cr.use_deterministic_algorithms(1)


def test_default_dtype_follows_torch():
    assert cr.get_default_dtype() == np.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([1.0]).dtype == np.float64
        assert cr.get_default_dtype() == np.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError):
        cr.set_default_dtype(cr.int32)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int32)


def test_compile_with_disable_returns_its_argument():  # the rest: tests/test_compile_eager.py
    model = cr.nn.Linear(2, 2)
    assert cr.compile(model, disable=True) is model

    def f(x):
        return x + 1

    assert cr.compile(disable=True)(f) is f


def test_bfloat16_is_ml_dtypes_bfloat16():  # the rest: tests/test_bfloat16.py
    assert cr.bfloat16.name == "bfloat16" and cr.bfloat16.itemsize == 2


def test_finfo_eps_usable_in_ops():
    x = cr.tensor([0.0, 1.0])
    y = x.clamp(min=cr.finfo(x.dtype).eps)
    assert math.isclose(float(y[0]), torch.finfo(torch.float32).eps, rel_tol=1e-6)
