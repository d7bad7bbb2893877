"""Three drop-in gaps, each compared with the installed (CPU-only) torch:

1. ``x.view(dtype)`` of a tensor that requires grad (allowed, never differentiable) and
   PyTorch's rules and errors for viewing as a dtype of another element size;
2. ``torch.cuda`` without CUDA: AssertionError where torch raises it (chainrule's error is
   also a RuntimeError), the same values where torch answers;
3. ``torch.device`` of every device type torch knows, and a clear error when one chainrule
   cannot compute on is used for data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.backend import CudaUnavailableError, UnsupportedDeviceError

no_cuda = pytest.mark.skipif(cr.cuda.is_available(), reason="checks a machine without CUDA")


def _dt(name: str):
    return getattr(torch, name), getattr(cr, name)


def _outcome(fn):
    """('ok', value) or (exception type name, message)."""
    try:
        return "ok", fn()
    except Exception as err:  # noqa: BLE001 - compared across libraries
        return type(err).__name__, str(err)


# -- 1. view(dtype) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["int32", "float32", "int16", "uint8", "bool", "float16", "int8", "bfloat16"]
)
@pytest.mark.parametrize("grad_mode", [True, False])
def test_view_dtype_of_requires_grad_tensor(name, grad_mode):
    tdt, cdt = _dt(name)
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_()
    c = cr.arange(6, dtype=cr.float32).reshape(2, 3).requires_grad_()
    with torch.set_grad_enabled(grad_mode), cr.set_grad_enabled(grad_mode):
        tv, cv = t.view(tdt), c.view(cdt)
    assert tuple(cv.shape) == tuple(tv.shape)
    assert cv.stride() == tv.stride()
    assert cv.requires_grad is tv.requires_grad is False
    assert cv.grad_fn is None and tv.grad_fn is None
    assert cv.is_leaf and tv.is_leaf
    assert np.array_equal(
        cv.float().numpy() if name == "bfloat16" else cv.numpy(),
        tv.float().numpy() if name == "bfloat16" else tv.numpy(),
    )


def test_view_dtype_keyword_and_same_dtype_not_differentiable():
    t = torch.ones(2, requires_grad=True)
    c = cr.ones(2, requires_grad=True)
    assert c.view(dtype=cr.int32).dtype == cr.int32
    tv, cv = t.view(torch.float32), c.view(cr.float32)
    assert cv.requires_grad is tv.requires_grad is False
    # non-leaf input too
    assert (c * 2).view(cr.float32).requires_grad is (t * 2).view(torch.float32).requires_grad


def test_view_dtype_shares_memory_and_version_counter():
    t = torch.zeros(3, requires_grad=True)
    c = cr.zeros(3, requires_grad=True)
    tv, cv = t.view(torch.int32), c.view(cr.int32)
    with torch.no_grad():
        t[0] = 1.0
    with cr.no_grad():
        c[0] = 1.0
    assert cv.tolist() == tv.tolist() == [1065353216, 0, 0]
    tv[1] = 5
    cv[1] = 5
    assert c.detach().numpy().tobytes() == t.detach().numpy().tobytes()
    assert c._version == t._version and cv._version == tv._version


def test_view_dtype_of_requires_grad_half_size_is_new_leaf():
    t = torch.zeros(2, 2, requires_grad=True)
    c = cr.zeros(2, 2, requires_grad=True)
    tv, cv = t.view(torch.float16), c.view(cr.float16)
    assert tuple(cv.shape) == tuple(tv.shape) == (2, 4)
    tv.requires_grad_()
    cv.requires_grad_()
    assert cv.requires_grad and cv.is_leaf and tv.is_leaf


def _cases():
    """(label, factory(lib) -> tensor, dtype name)."""
    return [
        ("odd last dim to float64", lambda m: m.zeros(2, 3), "float64"),
        ("odd last dim to int64", lambda m: m.zeros(2, 3), "int64"),
        ("odd last dim to complex64", lambda m: m.zeros(2, 3), "complex64"),
        ("bool odd to float32", lambda m: m.zeros(2, 3, dtype=m.bool), "float32"),
        ("bool to float32", lambda m: m.zeros(2, 4, dtype=m.bool), "float32"),
        ("transposed to int16", lambda m: m.zeros(2, 3).t(), "int16"),
        ("transposed to float64", lambda m: m.zeros(2, 3).t(), "float64"),
        ("transposed odd to float64", lambda m: m.zeros(3, 3).t(), "float64"),
        ("transposed to int32", lambda m: m.zeros(2, 3).t(), "int32"),
        ("column to int16", lambda m: m.zeros(1, 3).t(), "int16"),
        ("strided to int16", lambda m: m.zeros(4)[::2], "int16"),
        ("0-d to int16", lambda m: m.zeros(()), "int16"),
        ("0-d to float64", lambda m: m.zeros(()), "float64"),
        ("0-d to int32", lambda m: m.zeros(()), "int32"),
        ("float32 to float64", lambda m: m.zeros(2, 4), "float64"),
        ("float32 to int8", lambda m: m.zeros(2, 4), "int8"),
        ("float64 to float32", lambda m: m.zeros(3, 3, dtype=m.float64), "float32"),
        ("int16 to float32", lambda m: m.zeros(4, 2, dtype=m.int16), "float32"),
        ("offset 1 to float64", lambda m: m.zeros(7)[1:5], "float64"),
        ("offset 2 to float64", lambda m: m.zeros(7)[2:6], "float64"),
        ("offset 1 to int16", lambda m: m.zeros(6)[1:5], "int16"),
        ("odd size before offset", lambda m: m.zeros(6)[1:4], "float64"),
        ("offset before strides", lambda m: m.zeros(3, 5)[:, 1:3], "float64"),
        ("odd row stride", lambda m: m.zeros(3, 5)[:, :4], "float64"),
        ("even row stride slice", lambda m: m.zeros(3, 6)[:, 0:4], "int16"),
        ("slice to float64", lambda m: m.zeros(3, 4)[:, 0:2], "float64"),
        ("permuted to float64", lambda m: m.zeros(2, 3, 4).permute(1, 0, 2), "float64"),
        ("expanded to float64", lambda m: m.zeros(4).expand(3, 4), "float64"),
        ("empty to float64", lambda m: m.zeros(0), "float64"),
        ("empty rows to float64", lambda m: m.zeros(0, 2), "float64"),
        ("empty columns to float64", lambda m: m.zeros(3, 0), "float64"),
        ("complex128 to complex64", lambda m: m.zeros(2, 2, dtype=m.complex128), "complex64"),
        ("bfloat16 to float32", lambda m: m.zeros(2, 2, dtype=m.bfloat16), "float32"),
        ("float64 to uint8", lambda m: m.zeros(4, dtype=m.float64), "uint8"),
    ]


@pytest.mark.parametrize("label,make,name", _cases(), ids=[c[0] for c in _cases()])
def test_view_dtype_rules_match_torch(label, make, name):
    tdt, cdt = _dt(name)
    want = _outcome(lambda: make(torch).view(tdt))
    got = _outcome(lambda: make(cr).view(cdt))
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        tv, cv = want[1], got[1]
        assert tuple(cv.shape) == tuple(tv.shape)
        if cv.numel():  # an empty view keeps NumPy's strides (see ops/layout.py stride)
            assert cv.stride() == tv.stride()
        assert cv.storage_offset() == tv.storage_offset()
    else:
        assert got[1] == want[1]


def test_view_dtype_result_reads_the_same_bytes():
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = torch.from_numpy(data.copy())[:, 2:]
    c = cr.from_numpy(data.copy())[:, 2:]
    assert np.array_equal(c.view(cr.float64).numpy(), t.view(torch.float64).numpy())
    assert np.array_equal(c.view(cr.int16).numpy(), t.view(torch.int16).numpy())


# -- 2. torch.cuda without CUDA -------------------------------------------------------------


_RAISING = {
    "current_device": lambda m: m.cuda.current_device(),
    "synchronize": lambda m: m.cuda.synchronize(),
    "get_device_name": lambda m: m.cuda.get_device_name(),
    "get_device_name(0)": lambda m: m.cuda.get_device_name(0),
    "get_device_properties(0)": lambda m: m.cuda.get_device_properties(0),
    "get_device_capability": lambda m: m.cuda.get_device_capability(),
    "mem_get_info": lambda m: m.cuda.mem_get_info(),
    "initial_seed": lambda m: m.cuda.initial_seed(),
    "get_rng_state": lambda m: m.cuda.get_rng_state(),
    "zeros(device='cuda')": lambda m: m.zeros(2, device="cuda"),
    "tensor(device='cuda')": lambda m: m.tensor([1.0], device="cuda"),
    "ones(device=cuda:0)": lambda m: m.ones(2, device=m.device("cuda", 0)),
    "randn(device='cuda')": lambda m: m.randn(2, device="cuda"),
    "x.cuda()": lambda m: m.zeros(2).cuda(),
    "x.to('cuda')": lambda m: m.zeros(2).to("cuda"),
    "module.cuda()": lambda m: m.nn.Linear(2, 2).cuda(),
}


@no_cuda
@pytest.mark.parametrize("name", list(_RAISING))
def test_cuda_without_cuda_raises_assertion_error_as_torch(name):
    fn = _RAISING[name]
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        fn(torch)
    with pytest.raises(AssertionError, match="^Torch not compiled with CUDA enabled") as info:
        fn(cr)
    # also a RuntimeError, as chainrule raised before, and it keeps its hint
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, CudaUnavailableError)
    assert "CuPy" in str(info.value)


@no_cuda
def test_cuda_set_device_without_cuda_is_both_error_types():
    # torch's CPU build fails here with an AttributeError from its C module; chainrule
    # raises its CUDA error, which either torch error's handler of the others catches
    for kind in (AssertionError, RuntimeError):
        with pytest.raises(kind, match="^Torch not compiled with CUDA enabled"):
            cr.cuda.set_device(0)


@no_cuda
@pytest.mark.parametrize(
    "name",
    [
        "device_count",
        "is_available",
        "is_initialized",
        "memory_allocated",
        "memory_reserved",
        "empty_cache",
        "manual_seed",
        "manual_seed_all",
        "seed",
        "is_bf16_supported",
        "get_rng_state_all",
    ],
)
def test_cuda_without_cuda_values_match_torch(name):
    args = (0,) if name.startswith("manual_seed") else ()
    want = getattr(torch.cuda, name)(*args)
    got = getattr(cr.cuda, name)(*args)
    assert got == want
    assert type(got) is type(want)


@no_cuda
def test_cuda_error_is_catchable_as_runtime_error_in_old_code():
    try:
        cr.cuda.current_device()
    except RuntimeError as err:
        assert "check cr.cuda.is_available() first" in str(err)
    else:  # pragma: no cover
        pytest.fail("current_device() did not raise")


# -- 3. device types -------------------------------------------------------------------------

_TYPES = (
    "cpu cuda ipu xpu opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu mtia "
    "privateuseone"
).split()


@pytest.mark.parametrize("spec", _TYPES + ["mps:0", "meta:1", "xla:0", "hip:3", "cpu:0", "ve:2"])
def test_device_construction_matches_torch(spec):
    t, c = torch.device(spec), cr.device(spec)
    assert repr(c) == repr(t)
    assert str(c) == str(t)
    assert c.type == t.type and c.index == t.index
    assert c == cr.device(spec) and hash(c) == hash(cr.device(spec))
    other = "cpu" if t.type != "cpu" else "meta"
    assert c != cr.device(other)


@pytest.mark.parametrize("kind,index", [("mps", 0), ("meta", 1), ("xpu", 2), ("cpu", 1)])
def test_device_type_and_index_arguments_match_torch(kind, index):
    t, c = torch.device(kind, index), cr.device(kind, index)
    assert repr(c) == repr(t) and c.index == t.index == index


def test_device_mkldnn_warns_as_torch():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        torch.device("mkldnn")
    with pytest.warns(UserWarning, match="'mkldnn' is no longer used as device type") as got:
        c = cr.device("mkldnn")
    assert str(got[0].message) == str(seen[0].message).split(" (Triggered")[0]
    assert repr(c) == "device(type='mkldnn')"


@pytest.mark.parametrize("spec", ["tpu", "npu", "fake", "CPU", "Cuda"])
def test_unknown_device_type_raises_torch_message(spec):
    with pytest.raises(RuntimeError) as want:
        torch.device(spec)
    with pytest.raises(RuntimeError) as got:
        cr.device(spec)
    assert str(got.value).startswith(str(want.value) + " (device: invalid device string")


@pytest.mark.parametrize("spec", ["mps:-1", "meta:x", "mps:01"])
def test_bad_device_string_raises(spec):
    with pytest.raises(RuntimeError):
        torch.device(spec)
    with pytest.raises(RuntimeError):
        cr.device(spec)


def test_negative_index_raises():
    with pytest.raises(RuntimeError):
        torch.device("xpu", -1)
    with pytest.raises(RuntimeError):
        cr.device("xpu", -1)


_USES = {
    "zeros": lambda d: cr.zeros(2, device=d),
    "empty": lambda d: cr.empty(2, 3, device=d),
    "tensor": lambda d: cr.tensor([1.0], device=d),
    "arange": lambda d: cr.arange(3, device=d),
    "full": lambda d: cr.full((2,), 1.0, device=d),
    "eye": lambda d: cr.eye(2, device=d),
    "randn": lambda d: cr.randn(2, device=d),
    "randint": lambda d: cr.randint(0, 3, (2,), device=d),
    "zeros_like": lambda d: cr.zeros_like(cr.ones(2), device=d),
    "new_zeros": lambda d: cr.ones(2).new_zeros(3, device=d),
    "as_tensor": lambda d: cr.as_tensor(np.ones(2), device=d),
    "empty_strided": lambda d: cr.empty_strided((2,), (1,), device=d),
    "tril_indices": lambda d: cr.tril_indices(3, 3, device=d),
    "x.to(str)": lambda d: cr.ones(2).to(d),
    "x.to(device=)": lambda d: cr.ones(2).to(device=cr.device(d)),
    "x.to(requires grad)": lambda d: cr.ones(2, requires_grad=True).to(d),
    "x.to(str, dtype)": lambda d: cr.ones(2).to(d, cr.float64),
    "module.to": lambda d: cr.nn.Linear(2, 2).to(d),
    "module.to_empty": lambda d: cr.nn.Linear(2, 2).to_empty(device=d),
    "Linear(device=)": lambda d: cr.nn.Linear(2, 2, device=d),
    "storage": lambda d: cr.UntypedStorage(4, device=d),
    "Generator": lambda d: cr.Generator(device=d),
}


# (the meta device holds shapes since session 38: tests/meta/test_meta_device.py)
@pytest.mark.parametrize("spec", ["mps", "xpu:0", "hpu", "privateuseone"])
@pytest.mark.parametrize("use", list(_USES))
def test_using_a_device_chainrule_cannot_compute_on_raises(spec, use):
    with pytest.raises(UnsupportedDeviceError, match="computes on 'cpu' \\(NumPy\\) and 'cuda'"):
        _USES[use](spec)


def test_unsupported_device_error_is_each_torch_error_type():
    # torch raises NotImplementedError, RuntimeError or AssertionError here, by device type
    for kind in (NotImplementedError, RuntimeError, AssertionError):
        with pytest.raises(kind):
            cr.zeros(2, device="mps")


def test_get_device_module_matches_torch():
    assert cr.get_device_module("mps") is cr.mps
    assert cr.get_device_module("xpu") is cr.xpu
    for spec in ("meta", "hpu", "xla"):
        with pytest.raises(RuntimeError) as want:
            torch.get_device_module(spec)
        with pytest.raises(RuntimeError) as got:
            cr.get_device_module(spec)
        assert str(got.value) == str(want.value)


def test_cpu_and_cuda_strings_still_parse_in_to():
    x = cr.ones(2)
    assert x.to("cpu") is x
    assert x.to("float64").dtype == cr.float64
