"""cr.export.save / cr.export.load: the .pt2 archive against torch.export 2.13 live (the
layout, round trips, torch-written archives) and hostile archives (sizes that lie, pickled
entries, targets and names outside the allow-list, not a zip)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.export import Dim

from . import _models as M

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # torch's LeafSpec notice


def saved(ep, saver=cr.export.save):
    buf = io.BytesIO()
    saver(ep, buf)
    buf.seek(0)
    return buf


def entries(buf):
    with zipfile.ZipFile(buf) as z:
        out = {n: z.read(n) for n in z.namelist()}
    buf.seek(0)
    return out


def rezip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    buf.seek(0)
    return buf


def mlp_pair(dynamic=False):
    theirs, ours = M.pair(M.mlp)
    t, o = M.inputs(3, 4)
    kw_t = {"dynamic_shapes": ({0: torch.export.Dim("b", max=20)},)} if dynamic else {}
    kw_o = {"dynamic_shapes": ({0: Dim("b", max=20)},)} if dynamic else {}
    return (
        torch.export.export(theirs, (t,), **kw_t),
        cr.export.export(ours, (o,), **kw_o),
    )


def test_archive_layout_matches_torch():
    te, oe = mlp_pair()
    theirs, ours = entries(saved(te, torch.export.save)), entries(saved(oe))
    pickled = {n for n in theirs if n.endswith(".pt")}  # torch's pickled sample inputs
    assert set(theirs) - pickled <= set(ours)
    for name in ("archive/archive_format", "archive/byteorder", "archive/.data/version"):
        assert ours[name] == theirs[name]
    for cfg in ("weights/model_weights_config.json", "constants/model_constants_config.json"):
        a = json.loads(ours[f"archive/data/{cfg}"])["config"]
        b = json.loads(theirs[f"archive/data/{cfg}"])["config"]
        assert sorted(a) == sorted(b)
        for k in a:
            assert a[k]["tensor_meta"] == b[k]["tensor_meta"]
            path = f"archive/data/{cfg.split('/')[0]}/"
            assert ours[path + a[k]["path_name"]] == theirs[path + b[k]["path_name"]]
    model_o = json.loads(ours["archive/models/model.json"])
    model_t = json.loads(theirs["archive/models/model.json"])
    assert model_o["graph_module"]["signature"] == model_t["graph_module"]["signature"]
    assert not any(n.endswith(".pt") or b"\x80\x02" in d[:2] for n, d in ours.items())


@pytest.mark.parametrize("dynamic", [False, True])
def test_round_trip(dynamic, tmp_path):
    te, oe = mlp_pair(dynamic)
    path = tmp_path / "mlp.pt2"
    cr.export.save(oe, path)
    loaded = cr.export.load(path)
    assert str(loaded.graph_signature) == str(oe.graph_signature)
    assert list(loaded.state_dict) == list(oe.state_dict)
    assert sorted(loaded.constants) == sorted(oe.constants)
    assert [repr(v) for v in loaded.range_constraints.values()] == [
        repr(v) for v in te.range_constraints.values()
    ]
    n = 7 if dynamic else 3
    t, o = M.inputs(n, 4, seed=4)
    for got, want in zip(loaded.module()(o), te.module()(t), strict=True):
        np.testing.assert_allclose(
            got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6
        )
    bad_t, bad_o = M.inputs(30 if dynamic else 4, 4)
    assert M.error_of(loaded.module(), bad_o) == M.error_of(te.module(), bad_t)
    args, kwargs = loaded.example_inputs
    np.testing.assert_array_equal(args[0].numpy(), oe.example_inputs[0][0].numpy())
    again = cr.export.load(saved(loaded))  # a loaded program saves again
    assert str(again.graph_signature) == str(oe.graph_signature)


def test_round_trip_kwargs_and_cnn():
    ours = M.kwargs_model(cr)
    (_, o), (_, b) = M.inputs(2, 3), M.inputs(2, 3, seed=1)
    loaded = cr.export.load(saved(cr.export.export(ours, (o,), kwargs={"bias": b})))
    np.testing.assert_allclose(loaded.module()(o, bias=b).numpy(), ours(o, bias=b).numpy())
    theirs, cnn = M.pair(M.cnn)
    t, o = M.inputs(2, 1, 8, 8)
    loaded = cr.export.load(saved(cr.export.export(cnn, (o,))))
    np.testing.assert_allclose(
        loaded.module()(o).detach().numpy(), theirs(t).detach().numpy(), rtol=1e-4, atol=1e-5
    )


def test_torch_written_archive_loads():
    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)

        def forward(self, x):
            return self.l2(torch.relu(self.l1(x)))

    m = T()
    t, o = M.inputs(3, 4)
    te = torch.export.export(m, (t,), dynamic_shapes=({0: torch.export.Dim("b", max=50)},))
    loaded = cr.export.load(saved(te, torch.export.save))
    assert str(loaded.graph_signature) == str(te.graph_signature)
    assert loaded.example_inputs is None  # torch's are pickled: never read
    t9, o9 = M.inputs(9, 4, seed=2)
    np.testing.assert_allclose(
        loaded.module()(o9).detach().numpy(), m(t9).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    bad_t, bad_o = M.inputs(60, 4)
    assert M.error_of(loaded.module(), bad_o) == M.error_of(te.module(), bad_t)


def test_torch_written_cnn_archive_loads():
    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c, self.fc = torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Linear(64, 3)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.c(x)), 2)
            return torch.softmax(self.fc(torch.flatten(x, 1)), dim=-1)

    m = T()
    t, o = M.inputs(2, 1, 8, 8)
    loaded = cr.export.load(saved(torch.export.export(m, (t,)), torch.export.save))
    np.testing.assert_allclose(
        loaded.module()(o).detach().numpy(), m(t).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_torch_archive_with_unsupported_ops_names_them():
    te, _ = mlp_pair()
    with pytest.raises(NotImplementedError, match=r"torch\.ops\.aten\.batch_norm\.default"):
        cr.export.load(saved(te, torch.export.save))


def hostile(edit):
    _, oe = mlp_pair()
    files = entries(saved(oe))
    edit(files)
    return rezip(files)


def edit_json(files, name, fn):
    data = json.loads(files[name])
    fn(data)
    files[name] = json.dumps(data).encode()


WEIGHTS = "archive/data/weights/model_weights_config.json"
MODEL = "archive/models/model.json"


def _huge_sizes(files):
    def fn(d):
        d["config"]["l1.weight"]["tensor_meta"]["sizes"] = [
            {"as_int": 1 << 40},
            {"as_int": 1 << 20},
        ]

    edit_json(files, WEIGHTS, fn)


def _short_data(files):
    files["archive/data/weights/weight_0"] = files["archive/data/weights/weight_0"][:-4]


def _pickled(files):
    edit_json(files, WEIGHTS, lambda d: d["config"]["l1.weight"].update(use_pickle=True))


def _bad_target(files):
    edit_json(
        files, MODEL, lambda d: d["graph_module"]["graph"]["nodes"][0].update(target="os.system")
    )


def _private_target(files):
    edit_json(
        files,
        MODEL,
        lambda d: d["graph_module"]["graph"]["nodes"][0].update(target="chainrule._C"),
    )


def _bad_name(files):
    def fn(d):
        d["graph_module"]["graph"]["nodes"][0]["name"] = "x; import os"

    edit_json(files, MODEL, fn)


def _bad_path(files):
    edit_json(files, WEIGHTS, lambda d: d["config"]["l1.weight"].update(path_name="../../etc"))


def _bad_method(files):
    def fn(d):
        d["graph_module"]["graph"]["nodes"][0].update(op="call_method", target="__class__")

    edit_json(files, MODEL, fn)


@pytest.mark.parametrize(
    "edit,error,match",
    [
        (_huge_sizes, ValueError, "holds .* bytes but its metadata describes"),
        (_short_data, ValueError, "holds .* bytes but its metadata describes"),
        (_pickled, NotImplementedError, "pickled"),
        (_bad_target, NotImplementedError, "os.system"),
        (_private_target, NotImplementedError, "chainrule._C"),
        (_bad_name, ValueError, "invalid node name"),
        (_bad_path, ValueError, "invalid tensor file"),
        (_bad_method, NotImplementedError, "__class__"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_hostile_archives_are_refused(edit, error, match):
    with pytest.raises(error, match=match):
        cr.export.load(hostile(edit))


def test_zip_directory_claiming_more_than_the_archive_holds():
    n = 1 << 28  # 1 GiB of float32 claimed by both the metadata and the zip directory

    def claim(d):
        meta = d["config"]["l1.weight"]["tensor_meta"]
        meta["sizes"], meta["strides"] = [{"as_int": n}], [{"as_int": 1}]

    _, oe = mlp_pair()
    files = entries(saved(oe))
    edit_json(files, WEIGHTS, claim)
    data = bytearray(rezip(files).getvalue())
    name = b"archive/data/weights/weight_0"
    at = data.find(b"PK\x01\x02", 0)
    while data[at + 46 : at + 46 + len(name)] != name or data[at + 28] != len(name):
        at = data.find(b"PK\x01\x02", at + 4)
    data[at + 20 : at + 28] = (4 * n).to_bytes(4, "little") * 2  # stored and full sizes
    with pytest.raises(ValueError, match="do not match the archive"):
        cr.export.load(io.BytesIO(bytes(data)))


def test_not_an_archive():
    with pytest.raises(ValueError, match="not a .pt2 zip archive"):
        cr.export.load(io.BytesIO(b"\x80\x02cos\nsystem\n"))
    with pytest.raises(ValueError, match="archive_format"):
        cr.export.load(rezip({"archive/data.pkl": b"\x80\x02."}))


def test_save_refuses_non_programs():
    assert (
        M.error_of(cr.export.save, object(), io.BytesIO())[0]
        == M.error_of(torch.export.save, object(), io.BytesIO())[0]
    )
