"""Storages against PyTorch: ``Tensor.untyped_storage()``, ``Tensor.storage()``
(``TypedStorage``), ``Tensor.set_`` and the ``UntypedStorage`` / ``TypedStorage`` classes.

Every case does the same operations on a torch tensor and a chainrule one and compares
values, sizes, which addresses coincide (views, bases, clones), errors and warnings.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.storage import TypedStorage, UntypedStorage
from chainrule.storage import typed as typed_module


@pytest.fixture(autouse=True)
def _typed_warning_given(monkeypatch):
    """Both libraries warn about TypedStorage once per process: mark it given in both (a
    test of the warning itself resets chainrule's flag)."""
    monkeypatch.setattr(typed_module, "_WARNED", [True])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.arange(1).storage()


def _pair(shape=(2, 3), dtype=np.float64):
    a = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    return torch.from_numpy(a.copy()), cr.tensor(a.copy())


def _views(x):
    """The same views of a tensor in either library."""
    return [x, x[1], x[:, 1:], x.t(), x.view(3, 2), x.reshape(-1)[2:], x.as_strided((2,), (2,), 1)]


def test_views_share_the_base_storage():
    t, c = _pair()
    for tv, cv in zip(_views(t), _views(c)):
        ts, cs = tv.untyped_storage(), cv.untyped_storage()
        assert cs.nbytes() == ts.nbytes() == 48
        assert (cs.data_ptr() == c.data_ptr()) == (ts.data_ptr() == t.data_ptr()) is True
        assert cv.storage_offset() == tv.storage_offset()
        assert cv.data_ptr() - cs.data_ptr() == cv.storage_offset() * 8
        assert cs.tolist() == ts.tolist()
    # the same object while alive, hence ==; a clone is other memory
    assert (
        c.untyped_storage() is c[1].untyped_storage()
        and t.untyped_storage() is t[1].untyped_storage()
    )
    assert (c.untyped_storage() == c.t().untyped_storage()) is True
    assert c.clone().untyped_storage().data_ptr() != c.untyped_storage().data_ptr()
    assert c.untyped_storage() != c.clone().untyped_storage()
    got = [cr.is_storage(o) for o in (c.untyped_storage(), c.storage(), c)]
    assert got == [torch.is_storage(o) for o in (t.untyped_storage(), t.storage(), t)]


def test_untyped_queries_and_items():
    t, c = _pair((3,), np.float32)
    ts, cs = t.untyped_storage(), c.untyped_storage()
    for name in (
        "nbytes",
        "size",
        "element_size",
        "is_pinned",
        "is_shared",
        "get_device",
        "tolist",
    ):
        assert getattr(cs, name)() == getattr(ts, name)(), name
    assert len(cs) == len(ts) and cs.is_cuda == ts.is_cuda and str(cs.device) == str(ts.device)
    assert cs.type() == ts.type() == "torch.storage.UntypedStorage"
    assert [cs[i] for i in (0, 7, -1)] == [ts[i] for i in (0, 7, -1)]
    assert isinstance(cs[7], int)
    for bad, err in ((12, IndexError), (-13, IndexError), (1.0, TypeError)):
        with pytest.raises(err):
            ts[bad]
        with pytest.raises(err):
            cs[bad]
    # a slice is a storage over those bytes of the same memory
    tsl, csl = ts[4:8], cs[4:8]
    assert csl.nbytes() == tsl.nbytes() == 4 and csl.tolist() == tsl.tolist()
    assert csl.data_ptr() - cs.data_ptr() == tsl.data_ptr() - ts.data_ptr() == 4
    assert cs[10:100].nbytes() == ts[10:100].nbytes() and cs[-4:].tolist() == ts[-4:].tolist()
    with pytest.raises(RuntimeError, match="step of 2"):
        cs[::2]
    csl[3], tsl[3] = 300, 300  # written modulo 256, through to the tensor
    cs[0:2], ts[0:2] = -1, -1
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    for s in (ts, cs):
        with pytest.raises(RuntimeError, match="int types"):
            s[0] = 1.5
        with pytest.raises(RuntimeError, match="fill_ expects int"):
            s.fill_(1.5)


def test_untyped_constructors_and_repr():
    for args in ((), (3,), ([1, 2, 300],), (b"abc",)):
        u, v = UntypedStorage(*args), torch.UntypedStorage(*args)
        if args == (3,):  # torch's bytes are uninitialised, chainrule's zero
            v.fill_(0)
        assert u.tolist() == v.tolist()
        assert repr(u).split("[")[0] == repr(v).split("[")[0]
        assert repr(u).endswith(f"[chainrule.storage.UntypedStorage(device=cpu) of size {len(v)}]")
    for bad in ([1.5], cr.zeros(3)):
        with pytest.raises(RuntimeError):
            UntypedStorage(bad)
    with pytest.raises(RuntimeError):
        torch.UntypedStorage([1.5])
    with pytest.raises(TypeError):
        UntypedStorage(2, dtype=cr.float32)
    assert UntypedStorage(2, device="cpu").device == cr.device("cpu")


def test_fill_copy_clone_cpu():
    u, v = UntypedStorage(4), torch.UntypedStorage(4)
    assert (
        u.fill_(3).tolist() == v.fill_(3).tolist() and u.fill_(-1).tolist() == v.fill_(-1).tolist()
    )
    assert (
        u.copy_(UntypedStorage([9, 8, 7, 6])).tolist()
        == v.copy_(torch.UntypedStorage([9, 8, 7, 6])).tolist()
    )
    with pytest.raises(RuntimeError, match="size does not match, self was 4 bytes but src was 3"):
        u.copy_(UntypedStorage(3))
    with pytest.raises(TypeError):
        u.copy_(cr.zeros(4, dtype=cr.uint8))
    c = u.clone()
    assert c.tolist() == u.tolist() and c.data_ptr() != u.data_ptr()
    assert copy.deepcopy(u).data_ptr() != u.data_ptr()
    assert u.cpu() is u and v.cpu() is v
    assert u.new().nbytes() == v.new().nbytes() == 0 and u.untyped() is u
    for dt in ("int16", "uint8", "complex64", "float64"):
        u, v = UntypedStorage(list(range(16))), torch.UntypedStorage(list(range(16)))
        u.byteswap(getattr(cr, dt))
        v.byteswap(getattr(torch, dt))
        assert u.tolist() == v.tolist(), dt
    with pytest.raises(RuntimeError, match="not a multiple of 2"):
        UntypedStorage(3).byteswap(cr.int16)
    assert u.float().tolist() == v.float().tolist() and u.byte().type() == v.byte().type()


def test_from_buffer():
    for kw in (
        dict(dtype=torch.uint8),
        dict(byte_order="little", dtype=torch.int16),
        dict(byte_order="big", dtype=torch.int16),
        dict(dtype=torch.uint8, offset=1, count=2),
        dict(byte_order="little", dtype=torch.int16, offset=1, count=1),
    ):
        ckw = {k: (getattr(cr, str(v).split(".")[1]) if k == "dtype" else v) for k, v in kw.items()}
        assert (
            UntypedStorage.from_buffer(b"abcd", **ckw).tolist()
            == torch.UntypedStorage.from_buffer(b"abcd", **kw).tolist()
        )
    buf = bytearray(b"abcd")
    u = UntypedStorage.from_buffer(buf, dtype=cr.uint8)
    buf[0] = 0
    assert u[0] == 97  # a copy, as torch
    with pytest.raises(RuntimeError):
        UntypedStorage.from_buffer(b"abcd")
    with pytest.raises(RuntimeError):
        UntypedStorage.from_buffer(b"abcd", dtype=cr.int16)
    with pytest.raises(ValueError, match="multiple of element size"):
        UntypedStorage.from_buffer(b"abc", "little", dtype=cr.int16)
    with pytest.raises(ValueError, match="invalid byte_order"):
        UntypedStorage.from_buffer(b"abcd", "middle", dtype=cr.int16)
    ts = TypedStorage.from_buffer(b"\x00\x00\x80\x3f", "little", dtype=cr.float32)
    assert ts.tolist() == [1.0] and ts.dtype == cr.float32


def test_resize():
    t, c = _pair((3,), np.float32)
    assert c.untyped_storage().resize_(12).nbytes() == 12  # unchanged size: accepted
    with pytest.raises(NotImplementedError, match="resize"):
        c.untyped_storage().resize_(32)
    u, v = UntypedStorage(2), torch.UntypedStorage(2)
    u[0] = v[0] = 7
    assert u.resize_(5).nbytes() == v.resize_(5).nbytes() == 5 and u[0] == v[0] == 7
    assert u.resize_(1).tolist() == v.resize_(1).tolist()
    with pytest.raises(RuntimeError):
        u.resize_(-1)


def test_typed_storage():
    t, c = _pair()
    ts, cs = t.storage(), c.storage()
    assert isinstance(cs, TypedStorage) and cs.dtype == cr.float64
    for name in ("size", "nbytes", "element_size", "tolist", "type", "pickle_storage_type"):
        assert getattr(cs, name)() == getattr(ts, name)(), name
    assert len(cs) == 6 and cs[-1] == ts[-1] == 5.0 and isinstance(cs[1], float)
    assert c[1].storage().data_ptr() == cs.data_ptr() == c.data_ptr()
    assert c[1].storage().size() == t[1].storage().size() == 6
    assert (cs == c.storage()) is (ts == t.storage()) is False  # a new wrapper every time
    assert cs.untyped() is c.untyped_storage() and cs._untyped_storage is c.untyped_storage()
    with pytest.raises(IndexError):
        cs[6]
    with pytest.raises(RuntimeError, match="slices are only supported"):
        cs[1:3]
    cs[0], ts[0] = 10, 10
    cs[1:3], ts[1:3] = 5, 5
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert repr(cs).split("[")[0] == repr(ts).split("[")[0]
    assert repr(cs).endswith(
        "[chainrule.storage.TypedStorage(dtype=torch.float64, device=cpu) of size 6]"
    )
    for dt in (torch.int32, torch.bool, torch.float32, torch.uint8, torch.complex64):
        a = torch.tensor([1, 0, 3]).to(dt)
        b = cr.tensor(a.numpy())
        assert (
            b.storage().type() == a.storage().type()
            and b.storage().tolist() == a.storage().tolist()
        )
        assert repr(b.storage()).split("[")[0] == repr(a.storage()).split("[")[0]
    assert cs.double().tolist() == ts.double().tolist() and cs.int().type() == ts.int().type()


def test_typed_constructors_fill_copy():
    pairs = [
        (TypedStorage(3, dtype=cr.float32), torch.TypedStorage(3, dtype=torch.float32)),
        (TypedStorage([1, 2], dtype=cr.int16), torch.TypedStorage([1, 2], dtype=torch.int16)),
        (TypedStorage([1.5, 2]), torch.TypedStorage([1.5, 2])),
        (
            TypedStorage(wrap_storage=UntypedStorage(7), dtype=cr.float32),
            torch.TypedStorage(wrap_storage=torch.UntypedStorage(7), dtype=torch.float32),
        ),
    ]
    for i, (a, b) in enumerate(pairs):
        assert len(a) == len(b) and str(a.dtype) == str(b.dtype)
        assert a.tolist() == (b.tolist() if i in (1, 2) else [0.0] * len(b))  # torch: uninit
    a, b = pairs[0]
    assert a.fill_(2.5).tolist() == b.fill_(2.5).tolist()
    assert a.copy_(TypedStorage([1, 2, 3], dtype=cr.float32)).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="self was 12 bytes but src was 24"):
        a.copy_(TypedStorage([1, 2, 3], dtype=cr.float64))
    assert a.clone().data_ptr() != a.data_ptr() and a.clone().tolist() == a.tolist()
    assert a.resize_(3) is None


def test_typed_warning_once_per_process(monkeypatch):
    monkeypatch.setattr(typed_module, "_WARNED", [False])
    c = cr.arange(3.0)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated") as got:
        c.storage()
    assert len(got) == 1 and got[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.storage()  # once only
        TypedStorage(2)


def test_set_tensor_aliases():
    t, c = _pair()
    for src_t, src_c in ((t, c), (t.t(), c.t()), (t[1], c[1])):
        tb, cb = torch.zeros(4, dtype=torch.float64), cr.zeros(4, dtype=cr.float64)
        assert cb.set_(src_c) is cb and tb.set_(src_t) is tb
        assert cb.shape == tb.shape and cb.stride() == tb.stride()
        assert cb.storage_offset() == tb.storage_offset()
        assert cb.data_ptr() == src_c.data_ptr()
        assert cb.untyped_storage() is src_c.untyped_storage()
        assert cb._version == tb._version == 1
    cb[0], tb[0] = 100.0, 100.0  # writes through to the source (a row of the base)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    with pytest.raises(
        RuntimeError, match="Could not set tensor of type double to a tensor of type long int"
    ):
        cr.zeros(2, dtype=cr.int64).set_(c)


def test_set_storage_geometry():
    t, c = _pair()
    ts, cs = t.untyped_storage(), c.untyped_storage()
    for args in ((), (1, (2, 2), (1, 2)), (1, (2, 2)), (2, [3], None)):
        tb, cb = torch.zeros(2, dtype=torch.float64), cr.zeros(2, dtype=cr.float64)
        tb.set_(ts, *args)
        cb.set_(cs, *args)
        np.testing.assert_array_equal(cb.numpy(), tb.numpy())
        assert cb.stride() == tb.stride() and cb.storage_offset() == tb.storage_offset()
    cb.set_(c.storage(), 1, (2,))  # a TypedStorage of the right dtype, or a tensor's storage
    assert cb.tolist() == [1.0, 2.0]
    cb.set_(c, 4, (2,))
    assert cb.tolist() == [4.0, 5.0]
    tl, cl = torch.zeros(1, dtype=torch.int64), cr.zeros(1, dtype=cr.int64)
    tl.set_(ts)
    cl.set_(cs)  # an untyped storage is read as the tensor's dtype
    assert cl.tolist() == tl.tolist()
    with pytest.raises(
        RuntimeError,
        match="Expected a Storage of type long int or an UntypedStorage, but got type Double",
    ):
        cl.set_(c.storage())
    cb, u = cr.zeros(2), UntypedStorage(7)
    cb.set_(u)
    assert cb.untyped_storage() is u and not u.resizable()  # as torch: the same object
    assert cb.shape == torch.zeros(2).set_(torch.UntypedStorage(7)).shape
    for args, err in (((-1, (1,)), "invalid storage offset -1"), ((0, (2,), (-1,)), "overflowed")):
        with pytest.raises(RuntimeError, match=err):
            torch.zeros(2, dtype=torch.float64).set_(ts, *args)
        with pytest.raises(RuntimeError, match=err):
            cr.zeros(2, dtype=cr.float64).set_(cs, *args)
    with pytest.raises(NotImplementedError, match="grows the storage"):
        cr.zeros(2, dtype=cr.float64).set_(cs, 1, (10,))
    # a storage offset without a size, a tensor with an offset only, no Tensor nor storage
    for t_args, c_args in (((ts, 2), (cs, 2)), ((t, 1), (c, 1)), ((3,), (3,)), (([1],), ([1],))):
        with pytest.raises(TypeError):
            torch.zeros(2, dtype=torch.float64).set_(*t_args)
        with pytest.raises(TypeError):
            cr.zeros(2, dtype=cr.float64).set_(*c_args)
    te, ce = torch.zeros(2), cr.zeros(2)
    te.set_(), ce.set_()
    assert ce.shape == te.shape and ce.dtype == cr.float32
    assert ce._version == te._version == 1


def test_set_autograd():
    t, c = _pair()
    for lib, src, leaf in (
        (torch, t, torch.zeros(2, requires_grad=True)),
        (cr, c, cr.zeros(2, requires_grad=True)),
    ):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf.set_(src.float())
        with lib.no_grad():
            leaf.set_(src.float())
        assert leaf.requires_grad and leaf.is_leaf and leaf.grad_fn is None and leaf.shape == (2, 3)
        d = lib.zeros(2, requires_grad=True)
        d.detach().set_(src.float())  # allowed: the alias is not the leaf
        assert d.shape == (2,)
        m = lib.zeros(2, requires_grad=True) * 2
        m.set_(lib.ones(3))
        assert m.requires_grad and "NotImplemented" in m.grad_fn.name()
        with pytest.raises(RuntimeError, match="derivative for set_ is not implemented"):
            m.sum().backward()
        z = lib.zeros(2)
        z.set_(lib.ones(3, requires_grad=True))
        assert z.requires_grad and not z.is_leaf


def test_storage_of_loaded_tensor(tmp_path):
    path = tmp_path / "t.pt"
    base = torch.arange(8.0, dtype=torch.float64)
    torch.save({"a": base[2:6], "b": base}, path)
    loaded = cr.load(path)
    a, b = loaded["a"], loaded["b"]
    assert a.untyped_storage() is b.untyped_storage() and a.untyped_storage().nbytes() == 64
    assert (
        a.storage_offset() == 2 and a.untyped_storage().tolist() == base.untyped_storage().tolist()
    )


def test_is_shared_after_share_memory():
    mp = pytest.importorskip("chainrule.multiprocessing")
    t, c = _pair()
    assert c.untyped_storage().is_shared() is t.untyped_storage().is_shared() is False
    mp.share_memory_(c)
    t.share_memory_()
    assert c.untyped_storage().is_shared() and t.untyped_storage().is_shared()
    assert c[1].untyped_storage() is c.untyped_storage() and c.untyped_storage().nbytes() == 48
    assert c[1].data_ptr() - c.untyped_storage().data_ptr() == 24


def test_copies_indices_and_conversions_as_torch():
    t, c = _pair((4,), np.float32)
    ts, cs = t.storage(), c.storage()
    for lib_s in (t.untyped_storage(), c.untyped_storage(), ts, cs):
        assert copy.copy(lib_s).data_ptr() != lib_s.data_ptr()  # a copy of the memory too
        assert lib_s.float().data_ptr() != lib_s.data_ptr()
    for s in (ts, cs):
        with pytest.raises(RuntimeError, match="can't index a"):
            s[1.0]
        s[0:4:2] = 7  # a typed storage takes any slice when written
        s[1] = 3
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    with pytest.raises(RuntimeError):
        torch.TypedStorage(wrap_storage=torch.UntypedStorage(8))
    with pytest.raises(RuntimeError):
        TypedStorage(wrap_storage=UntypedStorage(8))
    tb = torch.tensor([1.5, -2.25], dtype=torch.bfloat16)
    cb = cr.tensor([1.5, -2.25], dtype=cr.bfloat16)
    assert cb.storage().tolist() == tb.storage().tolist() and cb.storage()[1] == tb.storage()[1]
    assert cb.storage().type() == tb.storage().type() == "torch.BFloat16Storage"


def test_set_argument_types_and_special_tensors():
    ts, cs = torch.ones(3).untyped_storage(), cr.ones(3).untyped_storage()
    for args in ((0, 2), (0.0, (2,)), (0, (2.0,))):
        with pytest.raises(TypeError):
            torch.zeros(2).set_(ts, *args)
        with pytest.raises(TypeError):
            cr.zeros(2).set_(cs, *args)
    for size in ((2,), [2], torch.Size([2])):
        assert cr.zeros(2).set_(cs, 0, size).tolist() == torch.zeros(2).set_(ts, 0, size).tolist()
    with pytest.raises(RuntimeError, match=r"unequal size length \(2\) and stride length \(1\)"):
        cr.zeros(2).set_(cs, 0, (2, 3), (1,))
    with pytest.raises(RuntimeError, match=r"unequal size length \(2\) and stride length \(1\)"):
        torch.zeros(2).set_(ts, 0, (2, 3), (1,))
    p, q = cr.nn.Parameter(cr.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    with cr.no_grad(), torch.no_grad():
        assert (
            type(p.set_(cr.ones(3))) is cr.nn.Parameter
            and type(q.set_(torch.ones(3))) is torch.nn.Parameter
        )
    assert p.shape == q.shape and p.requires_grad and p.is_leaf
    with cr.inference_mode():
        inf = cr.zeros(2)
    with pytest.raises(RuntimeError, match="inference"):
        inf.set_(cr.ones(3))
    assert inf.shape == (3,)  # set, then refused: torch's order (torch.Size([3]) too)
    sparse = cr.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
    with pytest.raises(NotImplementedError):
        sparse.untyped_storage()
