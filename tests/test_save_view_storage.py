"""``cr.save`` writes tensors that view one another as one storage, as ``torch.save`` does.

Each test builds the same views in chainrule and in PyTorch, saves them with ``cr.save`` and
``torch.save``, and checks that ``torch.load`` and ``cr.load`` give back views of one
storage with the offsets and strides ``torch.save`` writes, sharing memory; views that are
not (offset, non-negative strides) of their root's memory are stored as copies and keep
their values.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

ml_dtypes = pytest.importorskip("ml_dtypes")


def _views(lib, x):
    """The same views of ``x`` in chainrule or PyTorch (``lib`` is the module)."""
    del lib
    return {
        "a": x,
        "row": x[1],
        "t": x.t(),
        "cols": x[:, 1::2],
        "narrow": x.narrow(1, 1, 2),
        "block": x[1:, 2:],
        "elem": x[2, 3],
        "empty": x[1:1],
        "unsq": x[1].unsqueeze(0),
    }


def _storage_entries(path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        return {
            i.filename.split("/data/", 1)[1]: i.file_size
            for i in zf.infolist()
            if "/data/" in i.filename and not i.filename.split("/data/", 1)[1].startswith(".")
        }


def _ptr(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _layout(t) -> tuple:
    """Shape, offset and strides; an empty tensor's offset is left out, since NumPy does not
    advance the address of an empty slice (chainrule's ``x[1:1].storage_offset()`` is 0,
    PyTorch's 4 for a 3x4 ``x``)."""
    return (tuple(t.shape), t.storage_offset() if t.numel() else None, tuple(t.stride()))


@pytest.fixture
def pair():
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    return cr.tensor(values), torch.tensor(values)


def test_torch_load_gives_views_of_one_storage(tmp_path, pair):
    x, tx = pair
    cr.save(_views(cr, x), tmp_path / "cr.pt")
    torch.save(_views(torch, tx), tmp_path / "torch.pt")
    got = torch.load(tmp_path / "cr.pt")
    want = torch.load(tmp_path / "torch.pt")
    assert _storage_entries(tmp_path / "cr.pt") == {"0": 48}
    assert _storage_entries(tmp_path / "torch.pt") == {"0": 48}
    for key, t in got.items():
        assert _ptr(t) == _ptr(got["a"]), key
        assert _layout(t) == _layout(want[key]), key
        torch.testing.assert_close(t, want[key])
    got["a"][1, 2] = -5.0  # writing through one shows in the others
    assert got["row"][2].item() == -5.0
    assert got["t"][2, 1].item() == -5.0
    assert got["block"][0, 0].item() == -5.0


def test_cr_load_gives_views_sharing_memory(tmp_path, pair):
    x, tx = pair
    cr.save(_views(cr, x), tmp_path / "cr.pt")
    want = _views(torch, tx)
    back = cr.load(tmp_path / "cr.pt")
    base = back["a"].numpy()
    for key, t in back.items():
        np.testing.assert_array_equal(t.numpy(), want[key].numpy())
        if t.numel():  # an empty NumPy array reports strides 0 (cr.zeros(0, 4).stride())
            assert _layout(t) == _layout(want[key]), key
            assert np.shares_memory(t.numpy(), base), key
    back["t"][3, 2] = 100.0  # x[2, 3]
    assert back["a"][2, 3].item() == 100.0
    assert back["elem"].item() == 100.0
    back["row"][0] = -1.0
    assert back["a"][1, 0].item() == -1.0


def test_torch_file_through_cr_load_and_cr_save_keeps_sharing(tmp_path, pair):
    _, tx = pair
    original = _views(torch, tx)
    del original["empty"]  # cr.load gives an empty tensor memory of its own (tensor_view)
    torch.save(original, tmp_path / "torch.pt")
    cr.save(cr.load(tmp_path / "torch.pt"), tmp_path / "again.pt")
    assert _storage_entries(tmp_path / "again.pt") == {"0": 48}
    got = torch.load(tmp_path / "again.pt")
    for key, t in got.items():
        assert _ptr(t) == _ptr(got["a"]), key
        assert _layout(t) == _layout(original[key]), key
        torch.testing.assert_close(t, original[key])


def test_only_a_slice_saved_writes_the_whole_storage(tmp_path):
    """``torch.save(x[0:1])`` writes all of ``x``'s storage; ``cr.save`` does the same."""
    values = np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32)
    cr.save(cr.tensor(values)[0:1], tmp_path / "cr.pt")
    torch.save(torch.tensor(values)[0:1], tmp_path / "torch.pt")
    assert _storage_entries(tmp_path / "cr.pt") == _storage_entries(tmp_path / "torch.pt")
    assert _storage_entries(tmp_path / "cr.pt") == {"0": values.nbytes}
    got = torch.load(tmp_path / "cr.pt")
    assert got.untyped_storage().nbytes() == values.nbytes
    torch.testing.assert_close(got, torch.tensor(values[0:1]))
    row = cr.tensor(values)[5]  # a view deeper in the storage keeps its offset
    cr.save(row, tmp_path / "row.pt")
    assert torch.load(tmp_path / "row.pt").storage_offset() == 5 * 64
    np.testing.assert_array_equal(cr.load(tmp_path / "row.pt").numpy(), values[5])


def test_expanded_view_keeps_stride_zero_like_torch(tmp_path, pair):
    x, tx = pair
    cr.save({"a": x, "e": x[0].expand(5, 4)}, tmp_path / "cr.pt")
    torch.save({"a": tx, "e": tx[0].expand(5, 4)}, tmp_path / "torch.pt")
    got, want = torch.load(tmp_path / "cr.pt"), torch.load(tmp_path / "torch.pt")
    assert _storage_entries(tmp_path / "cr.pt") == _storage_entries(tmp_path / "torch.pt")
    assert _layout(got["e"]) == _layout(want["e"]) == ((5, 4), 0, (0, 1))
    assert _ptr(got["e"]) == _ptr(got["a"])
    torch.testing.assert_close(got["e"], want["e"])
    back = cr.load(tmp_path / "cr.pt")  # cr.load copies stride-0 views (archive.tensor_view)
    np.testing.assert_array_equal(back["e"].numpy(), want["e"].numpy())


def test_negative_strides_are_stored_as_copies(tmp_path):
    base = np.arange(6, dtype=np.float64)
    flipped = cr.from_numpy(base[::-1])  # a NumPy view with a negative stride
    assert flipped._data.strides == (-8,)
    whole = cr.from_numpy(base)
    cr.save({"base": whole, "flip": flipped, "again": flipped}, tmp_path / "cr.pt")
    assert _storage_entries(tmp_path / "cr.pt") == {"0": 48, "1": 48}  # the copy, once
    got = torch.load(tmp_path / "cr.pt")
    assert got["flip"].tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    assert _ptr(got["flip"]) == _ptr(got["again"]) != _ptr(got["base"])
    back = cr.load(tmp_path / "cr.pt")
    assert back["flip"].tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    assert not np.shares_memory(back["flip"].numpy(), back["base"].numpy())
    strided = cr.from_numpy(np.arange(12.0).reshape(3, 4)[::-1, 1::2])  # mixed signs
    cr.save(strided, tmp_path / "mixed.pt")
    np.testing.assert_array_equal(torch.load(tmp_path / "mixed.pt").numpy(), strided.numpy())
    np.testing.assert_array_equal(cr.load(tmp_path / "mixed.pt").numpy(), strided.numpy())


def test_flip_is_a_copy_and_round_trips(tmp_path, pair):
    x, tx = pair
    cr.save({"a": x, "f": cr.flip(x, [0, 1])}, tmp_path / "cr.pt")
    got = torch.load(tmp_path / "cr.pt")
    torch.testing.assert_close(got["f"], torch.flip(tx, [0, 1]))
    np.testing.assert_array_equal(cr.load(tmp_path / "cr.pt")["f"].numpy(), got["f"].numpy())


def test_view_with_another_dtype_is_a_copy(tmp_path, pair):
    """``torch.save`` refuses two dtypes over one storage (RuntimeError "Cannot save multiple
    tensors or storages that view the same data as different types"); ``cr.save`` stores the
    reinterpreting view as a copy of its own."""
    x, tx = pair
    with pytest.raises(RuntimeError, match="different types"):
        torch.save({"a": tx, "b": tx.view(torch.int32)}, tmp_path / "torch.pt")
    cr.save({"a": x, "b": x.view(cr.int32)}, tmp_path / "cr.pt")
    got = torch.load(tmp_path / "cr.pt")
    assert got["b"].dtype == torch.int32
    assert torch.equal(got["b"], tx.view(torch.int32))
    assert _ptr(got["a"]) != _ptr(got["b"])


def test_tied_weights_share_one_storage(tmp_path):
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    model[1].weight = model[0].weight
    state = model.state_dict()
    cr.save(state, tmp_path / "tied.pt")
    assert len(_storage_entries(tmp_path / "tied.pt")) == 1
    got = torch.load(tmp_path / "tied.pt")
    assert _ptr(got["0.weight"]) == _ptr(got["1.weight"])
    back = cr.load(tmp_path / "tied.pt")
    assert np.shares_memory(back["0.weight"].numpy(), back["1.weight"].numpy())


def test_parameter_and_its_views(tmp_path):
    p = nn.Parameter(cr.arange(12.0).reshape(3, 4))
    cr.save({"p": p, "row": p.detach()[2], "t": p.detach().t()}, tmp_path / "cr.pt")
    got = torch.load(tmp_path / "cr.pt")
    assert isinstance(got["p"], torch.nn.Parameter) and got["p"].requires_grad
    assert _ptr(got["row"]) == _ptr(got["p"]) == _ptr(got["t"])
    assert _layout(got["row"]) == ((4,), 8, (1,))
    back = cr.load(tmp_path / "cr.pt")
    assert isinstance(back["p"], nn.Parameter)
    assert np.shares_memory(back["row"].numpy(), back["p"].detach().numpy())
    assert back["t"].stride() == (1, 4)


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64", "bfloat16"])
def test_untyped_and_bfloat16_storages_share(tmp_path, dtype):
    values = np.arange(12).reshape(3, 4)
    if dtype == "bfloat16":
        x = cr.tensor(values.astype(np.float32)).to(cr.bfloat16)
    else:
        x = cr.from_numpy(values.astype(dtype))
    cr.save({"a": x, "v": x[1:, 1:], "t": x.t()}, tmp_path / "cr.pt")
    got = torch.load(tmp_path / "cr.pt")
    assert str(got["v"].dtype) == f"torch.{dtype}"
    assert _layout(got["v"]) == ((2, 3), 5, (4, 1))
    assert _ptr(got["v"]) == _ptr(got["a"]) == _ptr(got["t"])
    assert got["t"].to(torch.float64).numpy().tolist() == values.T.tolist()
    back = cr.load(tmp_path / "cr.pt")
    assert np.shares_memory(back["v"]._data, back["a"]._data)
    assert back["t"].to(cr.float64).tolist() == values.T.tolist()


def test_numpy_state_keeps_its_kind_and_sharing(tmp_path):
    moment = np.arange(8, dtype=np.float32)
    param = cr.arange(4.0)
    state = {"m": moment, "tail": moment[4:], "step": np.int64(3), "p": param, "pv": param[1:]}
    cr.save(state, tmp_path / "opt.pt")
    back = cr.load(tmp_path / "opt.pt")
    assert type(back["m"]) is np.ndarray and type(back["tail"]) is np.ndarray
    assert np.shares_memory(back["m"], back["tail"])
    np.testing.assert_array_equal(back["tail"], moment[4:])
    assert type(back["step"]) is np.int64 and back["step"] == 3
    assert isinstance(back["pv"], cr.Tensor) and np.shares_memory(back["pv"]._data, back["p"]._data)
    got = torch.load(tmp_path / "opt.pt")
    assert _ptr(got["m"]) == _ptr(got["tail"]) and got["tail"].storage_offset() == 4


def test_numpy_value_over_a_tensor_root_keeps_its_own_storage(tmp_path):
    """A NumPy array and a tensor over one memory block get a storage each: the storage
    marked as NumPy in ``.data/chainrule.json`` comes back as arrays, the other as tensors."""
    x = cr.arange(6.0)
    cr.save({"t": x, "n": x._data[2:]}, tmp_path / "mixed.pt")
    assert len(_storage_entries(tmp_path / "mixed.pt")) == 2
    back = cr.load(tmp_path / "mixed.pt")
    assert isinstance(back["t"], cr.Tensor) and type(back["n"]) is np.ndarray
    np.testing.assert_array_equal(back["n"], [2.0, 3.0, 4.0, 5.0])


def test_pickled_module_and_views_share_storage(tmp_path):
    lin = nn.Linear(3, 4)
    cr.save({"model": lin, "row": lin.weight.detach()[1]}, tmp_path / "m.pt")
    back = cr.load(tmp_path / "m.pt", weights_only=False)
    assert isinstance(back["model"].weight, nn.Parameter)
    assert np.shares_memory(back["model"].weight._data, back["row"]._data)
    assert back["row"].storage_offset() == 3
    np.testing.assert_array_equal(back["row"].numpy(), lin.weight.detach()[1].numpy())
    flipped = cr.from_numpy(np.arange(4.0)[::-1])  # a negative stride: a copy
    cr.save({"model": lin, "flip": flipped}, tmp_path / "f.pt")
    again = cr.load(tmp_path / "f.pt", weights_only=False)
    assert again["flip"].tolist() == [3.0, 2.0, 1.0, 0.0]
