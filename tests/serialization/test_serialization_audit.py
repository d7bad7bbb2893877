"""cr.save / cr.load against torch.save / torch.load, both ways (serialization audit).

Each case writes with one library and reads with the other (or with itself), and compares
values, dtypes, shapes, strides, memory sharing, container types and errors with what
PyTorch does. The cases that were wrong before the audit: torch.Size loaded as a tuple;
namedtuples / defaultdicts / other container subclasses silently saved as safetensors and
loaded back as their plain base type (and unreadable by torch.load); map_location callables
returning None, and bad map_location values read as dtypes; torch.layout and bytearray
refused by the weights-only load; cr.save without torch.save's pickle_module /
pickle_protocol arguments; an expanded tensor claiming terabytes copied on load; LBFGS
state dicts refused by load_state_dict; empty tensors saved with stride 0.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

Pair = collections.namedtuple("Pair", "first second")


class TaggedDict(dict):
    pass


class TaggedList(list):
    pass


def _torch_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _cr_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    cr.save(obj, buf)
    return buf.getvalue()


def _t2c(obj: Any, **kw: Any) -> Any:
    return cr.load(io.BytesIO(_torch_bytes(obj)), **kw)


def _c2t(obj: Any, **kw: Any) -> Any:
    return torch.load(io.BytesIO(_cr_bytes(obj)), **kw)


def _with_pickle(pkl: bytes) -> bytes:
    """A torch.save archive (of a 12-element float32 storage) whose data.pkl is ``pkl``."""
    src = zipfile.ZipFile(io.BytesIO(_torch_bytes(torch.arange(12.0))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, pkl if info.filename.endswith("data.pkl") else data)
    return out.getvalue()


def _as_torch(t: cr.Tensor) -> torch.Tensor:
    if t.dtype == cr.bfloat16:
        return torch.from_numpy(t.float().numpy().copy()).bfloat16()
    return torch.from_numpy(np.array(t.numpy(), copy=True))


def _sample(dtype: str, shape: tuple[int, ...]) -> torch.Tensor:
    base = torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 10
    if dtype == "bool":
        return base > 0
    if dtype.startswith("complex"):
        return torch.complex(base, -base).to(getattr(torch, dtype))
    if dtype.startswith("uint"):
        return base.abs().to(getattr(torch, dtype))
    return base.to(getattr(torch, dtype))


_DTYPES = [
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "complex64",
    "complex128",
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint16",
    "uint32",
    "uint64",
]
_LAYOUTS = {
    "scalar": lambda t: t.reshape(-1)[0].clone(),
    "plain": lambda t: t,
    "transposed": lambda t: t.t(),
    "sliced": lambda t: t[1:],
}


# ---------------------------------------------------------------- tensors, both ways
@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("dtype", _DTYPES)
def test_torch_saved_tensor_loads_with_its_dtype_layout_and_values(dtype: str, layout: str):
    t = _LAYOUTS[layout](_sample(dtype, (3, 4)))
    c = _t2c(t)
    assert str(c.dtype) == str(t.dtype)
    assert tuple(c.shape) == tuple(t.shape)
    assert tuple(c.stride()) == tuple(t.stride())
    assert c.storage_offset() == t.storage_offset()
    assert torch.equal(_as_torch(c), t)


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("dtype", [d for d in _DTYPES if not d.startswith("uint") or d == "uint8"])
def test_cr_saved_tensor_loads_in_torch_with_its_dtype_layout_and_values(dtype: str, layout: str):
    t = _LAYOUTS[layout](_sample(dtype, (3, 4)))
    c = _LAYOUTS[layout](_t2c(_sample(dtype, (3, 4))))
    back = _c2t(c)
    assert back.dtype == t.dtype
    assert back.shape == t.shape
    assert back.stride() == t.stride()
    assert back.storage_offset() == t.storage_offset()
    assert torch.equal(back, t)


@pytest.mark.parametrize("shape", [(0,), (0, 4), (3, 0)])
def test_empty_tensor_saved_by_cr_has_torchs_strides(shape: tuple[int, ...]):
    back = _c2t(cr.zeros(shape))
    assert back.shape == shape
    assert back.stride() == torch.zeros(shape).stride()


def test_views_keep_sharing_memory_both_ways():
    t = torch.arange(12.0).reshape(3, 4)
    c = _t2c({"w": t, "row": t[1:], "t": t.t()})
    c["row"][0, 0] = 100.0
    assert float(c["w"][1, 0]) == 100.0 and float(c["t"][0, 1]) == 100.0
    base = cr.arange(12.0).reshape(3, 4)
    back = _c2t({"w": base, "row": base[1:], "t": base.t()})
    assert back["row"].storage_offset() == 4 and back["t"].stride() == (1, 4)
    back["row"][0, 0] = 100.0
    assert float(back["w"][1, 0]) == 100.0 and float(back["t"][0, 1]) == 100.0


@pytest.mark.parametrize("way", ["t2c", "c2t"])
def test_parameter_and_requires_grad_flags(way: str):
    if way == "t2c":
        obj = {
            "p": torch.nn.Parameter(torch.ones(2)),
            "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
            "leaf": torch.ones(2, requires_grad=True),
        }
        out = _t2c(obj)
        param = cr.nn.Parameter
    else:
        obj = {
            "p": cr.nn.Parameter(cr.ones(2)),
            "frozen": cr.nn.Parameter(cr.ones(2), requires_grad=False),
            "leaf": cr.ones(2, requires_grad=True),
        }
        out = _c2t(obj)
        param = torch.nn.Parameter
    assert isinstance(out["p"], param) and out["p"].requires_grad
    assert isinstance(out["frozen"], param) and not out["frozen"].requires_grad
    assert not isinstance(out["leaf"], param) and out["leaf"].requires_grad


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x.conj(),
        lambda x: torch._neg_view(x.real),
        lambda x: torch._neg_view(x.conj()),
        lambda x: x.conj()[1:],
    ],
    ids=["conj", "neg", "neg_conj", "conj_slice"],
)
def test_conj_and_neg_views_load_with_their_values(make):
    t = make(torch.complex(torch.arange(4.0), torch.arange(4.0) + 1))
    got = _t2c(t)
    want = t.resolve_conj().resolve_neg()
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert torch.equal(_c2t(got), want)


def test_unknown_tensor_metadata_is_refused():
    data = _with_pickle(_tensor_pickle((3,), (1,), metadata={"lazy_sqrt": True}))
    with pytest.raises(ValueError, match="lazy_sqrt"):
        cr.load(io.BytesIO(data))
    plain = _with_pickle(_tensor_pickle((3,), (1,), metadata={"neg": False}))
    assert float(cr.load(io.BytesIO(plain))[2]) == 2.0


@pytest.mark.parametrize("dtype", ["bits8", "bits16", "bits4x2"])
def test_dtype_chainrule_lacks_is_named_in_the_error(dtype: str):  # float8 loads (session 34)
    data = _torch_bytes(torch.zeros(2, dtype=getattr(torch, dtype)))
    for weights_only in (True, False):
        with pytest.raises(ValueError, match=f"torch.{dtype}, which chainrule does not support"):
            cr.load(io.BytesIO(data), weights_only=weights_only)


# ---------------------------------------------------------------- containers
def test_torch_size_loads_as_cr_size():
    out = _t2c({"s": torch.Size([2, 3]), "e": torch.Size([])})
    assert type(out["s"]) is cr.Size and out["s"] == (2, 3)
    assert type(out["e"]) is cr.Size and out["e"] == ()
    again = cr.load(io.BytesIO(_cr_bytes(out)))
    assert type(again["s"]) is cr.Size
    assert _c2t(out)["s"] == torch.Size([2, 3])


def test_plain_containers_round_trip_both_ways():
    obj = {
        "list": [1, 2.5, "s", None, True],
        "tuple": (1, (2, 3)),
        "od": collections.OrderedDict(a=1, b=2),
        "set": {1, 2},
        "bytes": b"ab\xff",
        "complex": 1 + 2j,
        3: "int key",
    }
    assert _t2c(obj) == obj
    back = _c2t(obj)
    assert back == obj and type(back["od"]) is collections.OrderedDict


@pytest.mark.parametrize(
    "make",
    [
        lambda: Pair(1, "x"),
        lambda: collections.defaultdict(list, {"a": [1]}),
        lambda: TaggedDict(a=1),
        lambda: TaggedList([1, 2]),
    ],
    ids=["namedtuple", "defaultdict", "dict_subclass", "list_subclass"],
)
def test_container_subclass_is_pickled_as_torch_does_not_flattened(make):
    obj = make()
    data = _cr_bytes(obj)
    assert data[:2] == b"PK"  # torch's zip layout, not a safetensors file
    with pytest.raises(pickle.UnpicklingError, match=type(obj).__name__):
        cr.load(io.BytesIO(data))  # weights-only refuses the class, as torch.load does
    with pytest.raises(pickle.UnpicklingError):
        torch.load(io.BytesIO(data))
    back = cr.load(io.BytesIO(data), weights_only=False)
    assert type(back) is type(obj) and back == obj
    if isinstance(obj, collections.defaultdict):
        assert back.default_factory is list


@pytest.mark.parametrize(
    "make", [lambda: collections.defaultdict(int, {"a": 1}), lambda: collections.Counter("ab")]
)
def test_cr_pickled_container_subclass_loads_in_torch(make):
    obj = make()
    back = torch.load(io.BytesIO(_cr_bytes(obj)), weights_only=False)
    assert type(back) is type(obj) and back == obj


def test_namedtuple_holding_tensors_keeps_its_type_and_values():
    data = _cr_bytes(Pair(cr.arange(3.0), 2))
    back = cr.load(io.BytesIO(data), weights_only=False, map_location=cr.device("cpu"))
    assert type(back) is Pair and back.second == 2
    np.testing.assert_array_equal(back.first.numpy(), [0.0, 1.0, 2.0])


@pytest.mark.parametrize("value", [torch.strided, torch.sparse_coo], ids=str)
def test_torch_layout_loads_weights_only(value):
    out = _t2c({"layout": value})["layout"]
    assert out is getattr(cr, str(value).removeprefix("torch."))
    assert _c2t(out) is value  # written as torch.save writes it


def test_unknown_torch_layout_is_refused_by_name():
    with pytest.raises(ValueError, match="sparse_csr"):
        _t2c(torch.sparse_csr)


def test_bytearray_round_trips_weights_only():
    value = bytearray(b"ab\xff\x00")
    assert _t2c(value) == value and type(_t2c(value)) is bytearray
    back = _c2t({"b": value})
    assert back["b"] == value and type(back["b"]) is bytearray


def test_bytearray_of_a_claimed_length_is_refused():
    # protocol 2: __builtin__.bytearray called with an int would allocate that many bytes
    pkl = b"\x80\x02c__builtin__\nbytearray\nq\x00\x8a\x06\x00\x00\x00\x00\x00\x01\x85R."
    with pytest.raises(pickle.UnpicklingError, match="bytearray"):
        cr.load(io.BytesIO(_with_pickle(pkl)))


# ---------------------------------------------------------------- map_location
def test_map_location_callable_returning_none_keeps_the_storage():
    t = torch.arange(4.0)
    want = torch.load(io.BytesIO(_torch_bytes(t)), map_location=lambda s, loc: None)
    got = _t2c(t, map_location=lambda s, loc: None)
    assert torch.equal(_as_torch(got), want)


@pytest.mark.parametrize(
    "where",
    ["cpu", cr.device("cpu"), {"cpu": "cpu"}, {"cuda:0": "cpu"}, lambda s, loc: s],
    ids=["str", "device", "dict", "dict_other", "callable"],
)
def test_map_location_forms_that_keep_cpu(where):
    out = _t2c({"w": torch.arange(6.0).reshape(2, 3)}, map_location=where)
    assert str(out["w"].device) == "cpu"
    np.testing.assert_array_equal(out["w"].numpy(), np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize(
    ("where", "error"),
    [("nonsense", RuntimeError), ({"cpu": "nonsense"}, RuntimeError), (0, TypeError)],
    ids=["bad_str", "bad_dict_value", "int"],
)
def test_bad_map_location_raises_like_torch(where, error):
    data = _torch_bytes(torch.ones(2))
    with pytest.raises(error):
        torch.load(io.BytesIO(data), map_location=where)
    with pytest.raises(error, match="device|map_location"):
        cr.load(io.BytesIO(data), map_location=where)


# ---------------------------------------------------------------- save's signature
@pytest.mark.parametrize("kwargs", [{"pickle_protocol": 2}, {"pickle_protocol": 4}, {}])
def test_save_accepts_torch_save_arguments(kwargs):
    buf = io.BytesIO()
    cr.save(cr.arange(3.0), buf, pickle, **kwargs)  # pickle_module is positional in torch
    # protocol 4's opcodes (FRAME, STACK_GLOBAL) load only with weights_only=False, as
    # torch.save's own protocol-4 file does (tests/test_small_fixes_session45.py)
    weights_only = kwargs.get("pickle_protocol", 2) < 4
    loaded = torch.load(io.BytesIO(buf.getvalue()), weights_only=weights_only)
    assert torch.equal(loaded, torch.arange(3.0))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"pickle_protocol": 6}, ValueError),
        ({"pickle_module": io}, NotImplementedError),
        ({"_disable_byteorder_record": True}, NotImplementedError),
        ({"_use_new_zipfile_serialization": False}, NotImplementedError),
    ],
)
def test_save_refuses_what_it_does_not_do(kwargs, error):
    with pytest.raises(error, match="cr.save"):
        cr.save(cr.ones(1), io.BytesIO(), **kwargs)


# ---------------------------------------------------------------- hostile inputs
def _tensor_pickle(
    size: tuple, stride: tuple, offset: int = 0, numel: int = 12, metadata: Any = None
) -> bytes:
    """A protocol-2 data.pkl rebuilding a float32 tensor over storage '0'."""

    class _Storage:
        pass

    class _Writer(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            if isinstance(obj, _Storage):
                return ("storage", torch.FloatStorage, "0", "cpu", numel)
            return None

    class _Rebuild:
        def __reduce__(self):
            args = (_Storage(), offset, size, stride, False, collections.OrderedDict())
            if metadata is not None:
                args += (metadata,)
            return (torch._utils._rebuild_tensor_v2, args)

    buf = io.BytesIO()
    _Writer(buf, protocol=2).dump(_Rebuild())
    return buf.getvalue()


@pytest.mark.parametrize(
    ("size", "stride", "offset", "numel"),
    [
        ((13,), (1,), 0, 12),
        ((4,), (4,), 0, 12),
        ((12,), (1,), 1, 12),
        ((2**62,), (1,), 0, 12),
        ((3,), (1,), 0, 2**60),
        ((12,), (1,), 0, 6),
    ],
    ids=["size", "stride", "offset", "huge_size", "huge_numel", "numel_mismatch"],
)
def test_inconsistent_tensor_record_is_refused_as_by_torch(size, stride, offset, numel):
    data = _with_pickle(_tensor_pickle(size, stride, offset, numel))
    with pytest.raises(RuntimeError):
        torch.load(io.BytesIO(data))
    with pytest.raises(ValueError, match="storage"):
        cr.load(io.BytesIO(data))


def test_expanded_tensor_claiming_terabytes_is_not_copied():
    data = _with_pickle(_tensor_pickle((2**40,), (0,)))
    want = torch.load(io.BytesIO(data))
    got = cr.load(io.BytesIO(data))  # a copy would need 4 TiB
    assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
    assert float(got[2**39]) == float(want[2**39]) == 0.0
    with pytest.raises(RuntimeError, match="single memory location"):  # torch's words
        got.add_(1.0)


def test_small_expanded_tensor_is_still_a_writable_copy():
    got = _t2c(torch.arange(3.0)[:, None].expand(3, 5))
    np.testing.assert_array_equal(got.numpy(), np.arange(3.0)[:, None].repeat(5, 1))
    got.add_(1.0)
    assert float(got[2, 4]) == 3.0


def test_zip_entry_claiming_a_huge_size_is_refused():
    data = bytearray(_torch_bytes(torch.arange(12.0)))
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + name_len].endswith(b"data/0"):
            struct.pack_into("<II", data, pos + 20, 0xFFFFFFF0, 0xFFFFFFF0)
        pos = data.find(b"PK\x01\x02", pos + 4)
    with pytest.raises(ValueError, match="claiming"):
        cr.load(io.BytesIO(bytes(data)))


@pytest.mark.parametrize("cut", [0, 1, 30, 500, -22, -1])
def test_truncated_checkpoint_is_refused(cut: int):
    data = _torch_bytes({"w": torch.arange(100.0)})
    with pytest.raises(ValueError, match="cr.load"):
        cr.load(io.BytesIO(data[:cut]))


# ---------------------------------------------------------------- optimizer state dicts
def _closure(model, opt, x, lib):
    def run():
        opt.zero_grad()
        loss = (model(lib.tensor(x)) ** 2).sum()
        loss.backward()
        return loss

    return run


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01}), ("LBFGS", {})],
)
def test_torch_optimizer_state_continues_in_chainrule(name: str, kwargs: dict):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    tmodel, cmodel = torch.nn.Linear(3, 2), cr.nn.Linear(3, 2)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    for _ in range(2):
        topt.step(_closure(tmodel, topt, x, torch))
    cmodel.load_state_dict(_t2c(tmodel.state_dict()))
    copt = getattr(cr.optim, name)(cmodel.parameters(), **kwargs)
    copt.load_state_dict(_t2c(topt.state_dict()))
    topt.step(_closure(tmodel, topt, x, torch))
    copt.step(_closure(cmodel, copt, x, cr))
    for p, q in zip(tmodel.parameters(), cmodel.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
    # and back: torch continues from chainrule's state
    again = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    again.load_state_dict(_c2t(copt.state_dict()))
    assert set(again.state_dict()["state"][0]) == set(topt.state_dict()["state"][0])


def test_lbfgs_state_dict_round_trips_in_chainrule():
    model = cr.nn.Linear(3, 2)
    opt = cr.optim.LBFGS(model.parameters())
    x = np.ones((4, 3), np.float32)
    opt.step(_closure(model, opt, x, cr))
    other = cr.optim.LBFGS(model.parameters())
    other.load_state_dict(cr.load(io.BytesIO(_cr_bytes(opt.state_dict()))))
    assert tuple(other.state[model.weight]["d"].shape) == (8,)
    other.step(_closure(model, other, x, cr))


def test_a_counter_loads_weights_only_as_in_torch(tmp_path):
    """MultiStepLR's state_dict holds a Counter; torch's weights-only load allows it (and
    refuses defaultdict / deque), so a scheduler checkpoint written by either loads."""
    import collections

    import torch as _torch

    for saver in (_torch.save, cr.save):
        path = tmp_path / "c.pt"
        saver({"milestones": collections.Counter({3: 1, 5: 1})}, path)
        for loader in (_torch.load, cr.load):
            got = loader(path, weights_only=True)["milestones"]
            assert isinstance(got, collections.Counter) and got == {3: 1, 5: 1}
    for saver in (_torch.save, cr.save):
        saver(collections.defaultdict(int, {1: 2}), tmp_path / "d.pt")
        with pytest.raises(Exception, match="[Ww]eights.only"):
            cr.load(tmp_path / "d.pt", weights_only=True)
