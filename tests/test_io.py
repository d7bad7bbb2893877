"""cr.save / cr.load: round trips, atomic writes, no pickle, clear errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import Module, Parameter


class _Net(Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(cr.randn(3, 2))
        self.b = Parameter(cr.zeros(2))
        self.register_buffer("count", cr.tensor(np.array([3], dtype=np.int64)))

    def forward(self, x):
        return x @ self.w + self.b


def test_nested_round_trip(tmp_path):
    obj = {
        "t": cr.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "g": cr.tensor(np.ones(2, dtype=np.float64), requires_grad=True),
        "arr": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "bools": np.array([True, False]),
        "scalar0d": np.array(2.5, dtype=np.float16),
        "npscalar": np.float32(1.5),
        "nums": [1, 2.5, None, "text", True, float("inf")],
        "tup": (1, (2, 3)),
        "intkeys": {0: {"step": 3}, 7: np.zeros(1)},
        "empty": {},
        "noncontig": np.arange(12.0).reshape(3, 4).T,
    }
    path = tmp_path / "obj.safetensors"
    cr.save(obj, path)
    back = cr.load(path)
    assert isinstance(back["t"], cr.Tensor) and not back["t"].requires_grad
    np.testing.assert_array_equal(back["t"].data, obj["t"].data)
    assert back["t"].dtype == cr.float32
    assert back["g"].requires_grad and back["g"].data.dtype == np.float64
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.int32
    np.testing.assert_array_equal(back["arr"], obj["arr"])
    np.testing.assert_array_equal(back["bools"], obj["bools"])
    assert back["scalar0d"].shape == () and back["scalar0d"].dtype == np.float16
    assert back["npscalar"] == np.float32(1.5) and isinstance(back["npscalar"], np.float32)
    assert back["nums"] == obj["nums"]
    assert back["tup"] == (1, (2, 3))
    assert set(back["intkeys"]) == {0, 7} and back["intkeys"][0] == {"step": 3}
    assert back["empty"] == {}
    np.testing.assert_array_equal(back["noncontig"], obj["noncontig"])


def test_colliding_flat_keys_are_kept_apart(tmp_path):
    obj = {"a/b": np.ones(2), "a": {"b": np.zeros(2)}}
    cr.save(obj, tmp_path / "c.safetensors")
    back = cr.load(tmp_path / "c.safetensors")
    np.testing.assert_array_equal(back["a/b"], np.ones(2))
    np.testing.assert_array_equal(back["a"]["b"], np.zeros(2))


def test_module_state_dict_round_trip(tmp_path):
    cr.manual_seed(0)
    net, other = _Net(), _Net()
    cr.save(net.state_dict(), tmp_path / "m.safetensors")
    other.load_state_dict(cr.load(tmp_path / "m.safetensors"))
    for (k, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)


def test_optimizer_state_dict_round_trip(tmp_path):
    cr.manual_seed(0)
    net = _Net()
    opt = cr.optim.Adam(net.parameters(), lr=1e-2, betas=(0.8, 0.95))
    for _ in range(3):
        opt.zero_grad()
        net(cr.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    cr.save(opt.state_dict(), tmp_path / "o.safetensors")
    loaded = cr.load(tmp_path / "o.safetensors")
    ref = opt.state_dict()
    assert loaded["param_groups"][0]["betas"] == (0.8, 0.95)
    assert set(loaded["state"]) == set(ref["state"])
    for i, st in ref["state"].items():
        for k, v in st.items():
            np.testing.assert_array_equal(np.asarray(loaded["state"][i][k]), np.asarray(v))
    opt2 = cr.optim.Adam(net.parameters(), lr=1.0)
    opt2.load_state_dict(loaded)
    assert opt2.param_groups[0]["lr"] == 1e-2


def test_file_is_plain_safetensors_readable_by_torch(tmp_path):
    from safetensors.torch import load_file

    path = tmp_path / "x.safetensors"
    cr.save({"layer": {"weight": cr.ones(2, 2)}}, path)
    flat = load_file(str(path))
    assert torch.equal(flat["layer/weight"], torch.ones(2, 2))


def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3, dtype=np.float32)}, str(tmp_path / "p.safetensors"))
    back = cr.load(tmp_path / "p.safetensors")
    assert isinstance(back["w"], cr.Tensor)
    np.testing.assert_array_equal(back["w"].data, np.ones(3))


def test_no_pickle_in_file(tmp_path):
    path = tmp_path / "x.safetensors"
    cr.save({"a": cr.ones(2), "meta": {"name": "n"}}, path)
    raw = path.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    tree = json.loads(header["__metadata__"]["chainrule"])["tree"]
    assert tree["meta"] == {"name": "n"}
    assert b"\x80\x04" not in raw[:2]  # not a pickle protocol header


def test_unsupported_objects_raise_type_error(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type"):
        cr.save({"f": lambda x: x}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="dtype=object"):
        cr.save({"o": np.array([object()])}, tmp_path / "x.safetensors")
    assert not os.path.exists(tmp_path / "x.safetensors")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"v": np.array([1.0])}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        cr.save({"v": np.array([2.0])}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(cr.load(path)["v"], [1.0])
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]  # no temp file left


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        cr.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cr.save({}, tmp_path / "missing_dir" / "x.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a chainrule/safetensors file"):
        cr.load(bad)
    good = tmp_path / "good.safetensors"
    cr.save({"w": np.arange(100.0)}, good)
    truncated = tmp_path / "trunc.safetensors"
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(ValueError, match="corrupt"):
        cr.load(truncated)
    with pytest.raises(IsADirectoryError):
        cr.load(tmp_path)


def test_file_objects(tmp_path):
    import io

    buf = io.BytesIO()
    cr.save({"x": cr.arange(3.0)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(cr.load(buf)["x"].data, [0.0, 1.0, 2.0])


def test_structure_pointing_at_missing_tensor_is_reported(tmp_path):
    from safetensors.numpy import save_file

    tree = json.dumps(
        {
            "format": "chainrule",
            "version": 1,
            "tree": {"w": {"__tensor__": "nope", "kind": "tensor"}},
        }
    )
    save_file({"w": np.ones(2)}, str(tmp_path / "x.safetensors"), metadata={"chainrule": tree})
    with pytest.raises(ValueError, match="refers to tensor 'nope'"):
        cr.load(tmp_path / "x.safetensors")
