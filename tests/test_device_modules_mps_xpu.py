"""``cr.mps``, ``cr.xpu``, ``cr.types`` and ``cr.utils.dlpack`` answer as PyTorch's modules do
on a machine without those devices (the CPU build of torch 2.13 is the reference), so
portable scripts (``"mps" if torch.mps.is_available() else ...``, ``torch.xpu.manual_seed``,
``from torch.types import Device``) run unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

MPS_CALLS = [
    ("is_available", ()),
    ("device_count", ()),
    ("manual_seed", (0,)),
    ("manual_seed", ("a",)),
    ("seed", ()),
    ("get_rng_state", ()),
    ("set_rng_state", (torch.zeros(3, dtype=torch.uint8),)),
    ("synchronize", ()),
    ("empty_cache", ()),
    ("current_allocated_memory", ()),
    ("driver_allocated_memory", ()),
    ("recommended_max_memory", ()),
    ("set_per_process_memory_fraction", (0.5,)),
]
XPU_CALLS = [
    ("is_available", ()),
    ("is_initialized", ()),
    ("device_count", ()),
    ("get_arch_list", ()),
    ("is_bf16_supported", ()),
    ("is_tf32_supported", ()),
    ("init", ()),
    ("current_device", ()),
    ("set_device", (0,)),
    ("synchronize", ()),
    ("get_device_name", ()),
    ("get_device_properties", ()),
    ("get_device_capability", ()),
    ("mem_get_info", ()),
    ("initial_seed", ()),
    ("get_rng_state", ()),
    ("manual_seed", (0,)),
    ("manual_seed", ("a",)),
    ("manual_seed_all", (3,)),
    ("seed", ()),
    ("seed_all", ()),
    ("set_rng_state", (torch.zeros(3, dtype=torch.uint8),)),
    ("get_rng_state_all", ()),
    ("empty_cache", ()),
    ("memory_allocated", ()),
    ("memory_allocated", (3,)),
    ("memory_reserved", ()),
    ("max_memory_allocated", ()),
    ("max_memory_reserved", ()),
    ("memory_stats", ()),
]


def _outcome(fn, args):
    try:
        return ("ok", fn(*args))
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return ("raised", type(e))


@pytest.mark.parametrize(
    ("module", "name", "args"), [("mps", *c) for c in MPS_CALLS] + [("xpu", *c) for c in XPU_CALLS]
)
def test_answers_like_torch_without_the_device(module, name, args):
    theirs = _outcome(getattr(getattr(torch, module), name), args)
    mine = _outcome(getattr(getattr(cr, module), name), args)
    assert mine == theirs


def test_mps_errors_name_the_missing_backend():
    with pytest.raises(RuntimeError, match="without MPS backend"):
        cr.mps.synchronize()
    with pytest.raises(AssertionError, match="not compiled with XPU"):
        cr.xpu.current_device()


def test_public_names_are_torchs():
    for module in ("mps", "xpu"):
        mine = set(getattr(cr, module).__all__)
        assert mine <= set(dir(getattr(torch, module))), module


def test_types_aliases():
    assert cr.types.Number == torch.types.Number
    assert cr.types.Tensor is cr.Tensor
    assert cr.types.Storage is cr.UntypedStorage
    assert cr.types.Size is cr.Size
    assert cr.types.IntLikeType is int and cr.types.py_sym_types == ()

    def f(x: cr.types.Number, d: cr.types.Device = None) -> cr.types.Number:
        return x

    assert f(3) == 3


def test_dlpack_module_round_trips_and_shares_memory():
    assert cr.utils.dlpack.from_dlpack is cr.from_dlpack
    assert cr.utils.dlpack.to_dlpack is cr.to_dlpack
    assert {k: int(v) for k, v in cr.utils.dlpack.DLDeviceType.__members__.items()} == {
        k: int(v) for k, v in torch.utils.dlpack.DLDeviceType.__members__.items()
    }
    x = cr.arange(4.0)
    y = cr.utils.dlpack.from_dlpack(cr.utils.dlpack.to_dlpack(x))
    x[1] = 7.0
    np.testing.assert_array_equal(y.numpy(), [0.0, 7.0, 2.0, 3.0])
    # a capsule from torch (the older protocol, a bare capsule) is accepted, as torch does
    t = torch.arange(3.0)
    z = cr.from_dlpack(torch.utils.dlpack.to_dlpack(t))
    t[0] = 5.0
    np.testing.assert_array_equal(z.numpy(), [5.0, 1.0, 2.0])
    # NumPy imports a bare capsule read-only: a write is refused clearly, never lost
    with pytest.raises(RuntimeError, match="clone"):
        z[1] = 1.0
    # and torch reads chainrule's capsule
    w = torch.from_dlpack(cr.to_dlpack(cr.ones(2)))
    assert w.tolist() == [1.0, 1.0]
