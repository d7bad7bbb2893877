"""Whole-object saving (pickled, as torch.save does) and the weights-only security model."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.serialization import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)


class Point:
    """A user class for the safe-globals tests."""

    def __init__(self, x: float = 0.0) -> None:
        self.x = x


@pytest.fixture(autouse=True)
def _clean_allowlist():
    clear_safe_globals()
    yield
    clear_safe_globals()


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_whole_module_needs_explicit_opt_in(tmp_path):
    model = _model()
    path = tmp_path / "model.pt"
    cr.save(model, path)
    assert zipfile.is_zipfile(path)
    with pytest.raises(pickle.UnpicklingError, match=r"weights_only=False"):
        cr.load(path)
    back = cr.load(path, weights_only=False)
    assert type(back) is nn.Sequential
    assert isinstance(back[0].weight, nn.Parameter) and back[0].weight.requires_grad
    x = cr.randn(5, 3)
    model.eval()
    back.eval()
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
    assert set(dict(back.named_buffers())) == set(dict(model.named_buffers()))


def test_safe_globals_context_manager_and_registry(tmp_path):
    path = tmp_path / "model.pt"
    cr.save(_model(), path)
    allowed = [nn.Sequential, nn.Linear, nn.BatchNorm1d, nn.ReLU]
    with safe_globals(allowed):
        assert get_safe_globals() == allowed
        back = cr.load(path)
    assert type(back) is nn.Sequential
    assert get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match="Sequential"):
        cr.load(path)
    add_safe_globals(allowed)
    assert type(cr.load(path)) is nn.Sequential
    clear_safe_globals()
    assert get_safe_globals() == []


def test_safe_global_user_class_with_explicit_name(tmp_path):
    path = tmp_path / "p.pt"
    cr.save({"p": Point(2.5), "w": cr.ones(2)}, path)
    with pytest.raises(pickle.UnpicklingError, match="Point"):
        cr.load(path)
    add_safe_globals([(Point, f"{Point.__module__}.Point")])
    back = cr.load(path)
    assert isinstance(back["p"], Point) and back["p"].x == 2.5
    with pytest.raises(TypeError, match="module.name"):
        add_safe_globals([(Point, 3)])


def test_state_dicts_need_no_safe_globals_and_unpicklable_objects_fail_clearly(tmp_path):
    cr.save(_model().state_dict(), tmp_path / "sd.pt")
    names = zipfile.ZipFile(tmp_path / "sd.pt").namelist()
    assert "archive/data.pkl" in names  # PyTorch's format, readable weights-only
    assert list(cr.load(tmp_path / "sd.pt")) == list(_model().state_dict())
    with pytest.raises(TypeError, match="cannot store an object of type function.*pickling"):
        cr.save({"f": lambda x: x}, tmp_path / "f.pt")


def test_tensor_flags_and_file_objects_round_trip():
    buf = io.BytesIO()
    p = nn.Parameter(cr.ones(2, 3))
    obj = {"p": p, "same": p, "i": cr.tensor([1, 2]), "pt": Point(1.0)}
    cr.save(obj, buf)
    buf.seek(0)
    back = cr.load(buf, weights_only=False)
    assert back["p"] is back["same"]  # identity survives, as with torch.save
    assert isinstance(back["p"], nn.Parameter) and back["i"].dtype == cr.int64


def test_chainrule_pickle_file_is_torch_layout():
    buf = io.BytesIO()
    cr.save({"pt": Point(), "w": cr.arange(4.0)}, buf)
    names = zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist()
    assert "archive/data.pkl" in names and "archive/data/0" in names
    assert torch is not None  # torch itself is not needed to read it (see test_torch_format)
