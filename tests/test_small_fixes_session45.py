"""Session 45's small follow-ups, each compared with PyTorch.

1. ``cr.save(obj, f, pickle_protocol=N)`` pickles ``data.pkl`` with protocol ``N``, as
   ``torch.save`` does: the same protocol byte and opcodes, and each library loads the
   other's file exactly when it loads its own (``torch.load(weights_only=True)`` reads
   protocols 2 and 3 only, also for ``torch.save``'s files).
2. ``dir()`` of chainrule's packages lists no internal submodule and no
   ``from __future__ import annotations`` feature, as ``dir(torch.<package>)``.
3. A caller's gradient of another dtype is cast to the output's first; a complex
   gradient of a real output (or the other way round) raises PyTorch's RuntimeError.
4. ``linalg.cholesky``/``lstsq`` of a non-Tensor and ``x.to(device=np.int64(1))``
   (see also tests/test_argument_types_session45.py).
"""

from __future__ import annotations

import importlib
import io
import json
import pickle
import pickletools
import warnings
import zipfile
from collections import OrderedDict, namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

# ------------------------------------------------------------------ 1. pickle_protocol


def _checkpoint(lib):
    sd = OrderedDict(w=lib.arange(4.0).reshape(2, 2), b=lib.zeros(3, dtype=lib.float64))
    sd._metadata = OrderedDict({"": {"version": 1}})
    values = [1, -5, 2**40, 2**70, 2.5, "x", "y" * 300, None, True, False, (), (1,), (1, 2, 3, 4)]
    return {"sd": sd, "v": values, "s": {1}, "c": 1 + 2j, "b": b"by", "bb": b"z" * 300}


def _data_pkl(raw: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        (name,) = [n for n in z.namelist() if n.endswith("/data.pkl")]
        return z.read(name)


def _opcodes(pkl: bytes) -> set[str]:
    return {op.name for op, _, _ in pickletools.genops(pkl)}


def _saved(lib, protocol) -> bytes:
    buf = io.BytesIO()
    lib.save(_checkpoint(lib), buf, pickle_protocol=protocol)
    return buf.getvalue()


def _loads(lib, raw: bytes, weights_only: bool) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "Detected pickle protocol 4" UserWarning
        try:
            return lib.load(io.BytesIO(raw), weights_only=weights_only)
        except Exception as e:  # noqa: BLE001 - the outcome compared
            return type(e).__name__


def _plain(obj):
    """``obj`` with tensors as lists, for comparing what the two libraries loaded."""
    if isinstance(obj, (torch.Tensor, cr.Tensor)):
        return ("tensor", str(obj.dtype).split(".")[-1], obj.tolist())
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


@pytest.mark.parametrize("protocol", range(1, pickle.HIGHEST_PROTOCOL + 1))
def test_save_pickles_with_the_protocol_given_as_torch(protocol):
    ours, theirs = _data_pkl(_saved(cr, protocol)), _data_pkl(_saved(torch, protocol))
    if protocol >= 2:  # PROTO n
        assert ours[:2] == theirs[:2] == b"\x80" + bytes([protocol])
    else:  # no header: EMPTY_DICT first
        assert ours[:1] == theirs[:1] == b"}"
    # the same opcodes (torch also memoises strings and containers: BINPUT / MEMOIZE)
    assert _opcodes(ours) == _opcodes(theirs)
    assert max(pickletools.genops(ours), key=lambda t: t[0].proto)[0].proto <= protocol


@pytest.mark.parametrize("protocol", range(1, pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("weights_only", [True, False])
def test_each_library_loads_the_others_file_as_its_own(protocol, weights_only):
    ours, theirs = _saved(cr, protocol), _saved(torch, protocol)
    for lib in (torch, cr):
        got_ours, got_theirs = _loads(lib, ours, weights_only), _loads(lib, theirs, weights_only)
        assert isinstance(got_ours, str) == isinstance(got_theirs, str), (lib, protocol)
        if not isinstance(got_ours, str):
            assert _plain(got_ours) == _plain(got_theirs)
    # cr.load reads every protocol it writes, weights-only
    assert not isinstance(_loads(cr, ours, True), str)
    if protocol == 2:  # (3's BINBYTES, 4's FRAME: torch's weights-only load refuses both)
        assert not isinstance(_loads(torch, ours, True), str)


Point = namedtuple("Point", "x y")  # noqa: PYI024 - a type with no weights-only form


@pytest.mark.parametrize("protocol", [None, 1, 2, 4, 5])
def test_pickled_fallback_object_uses_the_protocol(protocol):
    # a namedtuple has no weights-only form: pickled whole, with the protocol given
    buf = io.BytesIO()
    cr.save({"p": Point(cr.ones(2), 3)}, buf, pickle_protocol=protocol)
    pkl = _data_pkl(buf.getvalue())
    want = pickle.DEFAULT_PROTOCOL if protocol is None else protocol
    assert (pkl[1] if pkl[0] == 0x80 else 1) == want
    got = cr.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert got["p"].x.tolist() == [1.0, 1.0] and got["p"].y == 3


def test_default_none_and_bool_protocol_as_torch():
    none_ours, none_theirs = _data_pkl(_saved(cr, None)), _data_pkl(_saved(torch, None))
    assert none_ours[:2] == none_theirs[:2] == b"\x80" + bytes([pickle.DEFAULT_PROTOCOL])
    true_ours, true_theirs = _data_pkl(_saved(cr, True)), _data_pkl(_saved(torch, True))
    assert true_ours[:1] == true_theirs[:1] == b"}"  # True: protocol 1, no PROTO
    buf = io.BytesIO()
    cr.save(cr.ones(2), buf)  # the default: 2, as torch.save's
    assert _data_pkl(buf.getvalue())[:2] == b"\x80\x02"


def test_protocol_zero_is_refused_by_name():
    # torch.save writes it, but its text persistent ids make a file torch.load refuses
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf, pickle_protocol=0)
    with pytest.raises(Exception):  # noqa: B017, PT011 - torch's AssertionError/Unpickling
        torch.load(io.BytesIO(buf.getvalue()), weights_only=False)
    with pytest.raises(NotImplementedError, match="pickle_protocol=0"):
        cr.save({"w": cr.ones(2)}, io.BytesIO(), pickle_protocol=0)


# ------------------------------------------------------------------ 2. dir() of packages

_PACKAGES = [
    "func",
    "nn",
    "optim",
    "linalg",
    "fft",
    "autograd",
    "distributions",
    "utils.data",
    "special",
]


def _own_submodules(mod) -> set[str]:
    prefix = mod.__name__ + "."
    return {
        n for n, v in vars(mod).items() if isinstance(v, type(np)) and v.__name__.startswith(prefix)
    }


@pytest.mark.parametrize("name", _PACKAGES)
def test_dir_lists_no_internal_module_names(name):
    ours = importlib.import_module(f"chainrule.{name}")
    theirs = set(dir(importlib.import_module(f"torch.{name}")))
    listed = set(dir(ours))
    assert "annotations" not in listed
    snapshot = json.loads((Path(__file__).parent / "public_names.json").read_text())
    public = set(snapshot.get(f"chainrule.{name}", ()))
    leaked = {n for n in _own_submodules(ours) & listed if n not in theirs and n not in public}
    assert not leaked, leaked
    assert set(ours.__all__) <= listed
    assert public <= listed  # no public name removed (tests/public_names.json)


def test_dir_keeps_the_attributes_and_torch_names():
    import chainrule.func.jacobians as jacobians

    assert cr.func.jacobians is jacobians  # still importable, still an attribute
    assert "jacobians" not in dir(cr.func) and "transforms" not in dir(cr.func)
    for name in ("functional", "init", "modules", "parameter", "quantized", "Linear"):
        assert name in dir(cr.nn) and name in dir(torch.nn)
    assert {"lr_scheduler", "swa_utils", "Adam"} <= set(dir(cr.optim))
    assert "adam" not in dir(cr.optim) and "adam" not in dir(torch.optim)
    assert {"forward_ad", "functional", "graph", "Function", "grad"} <= set(dir(cr.autograd))
    assert "engine" not in dir(cr.autograd)


# ------------------------------------------------------------------ 3. gradient dtypes

_GRAD_DTYPES = [
    ("float32", "float64"),
    ("float32", "float16"),
    ("float32", "bfloat16"),
    ("float32", "int64"),
    ("float32", "bool"),
    ("float64", "float32"),
    ("float16", "float32"),
    ("complex64", "complex128"),
    ("float32", "complex64"),
    ("complex64", "float32"),
    ("complex128", "float64"),
    ("complex64", "int32"),
]


def _backward_outcome(lib, y_dtype, g_dtype, how):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=getattr(lib, y_dtype))
    y = x * 2
    g = lib.tensor([1, 2, 3]).to(getattr(lib, g_dtype))
    try:
        if how == "grad":
            (r,) = lib.autograd.grad(y, x, g)
        elif how == "backward":
            y.backward(g)
            r = x.grad
        else:
            lib.autograd.backward([y], [g])
            r = x.grad
    except RuntimeError as e:
        return "RuntimeError", str(e).split("\n")[0]
    return str(r.dtype), [complex(v) for v in r.tolist()]


@pytest.mark.parametrize("how", ["grad", "backward", "autograd.backward"])
@pytest.mark.parametrize(("y_dtype", "g_dtype"), _GRAD_DTYPES)
def test_gradient_of_another_dtype_as_torch(y_dtype, g_dtype, how):
    ours = _backward_outcome(cr, y_dtype, g_dtype, how)
    assert ours == _backward_outcome(torch, y_dtype, g_dtype, how)


def test_gradient_cast_is_a_new_tensor_and_keeps_its_graph():
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        g = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        (r,) = lib.autograd.grad(x * x, x, g, create_graph=True)
        assert r.dtype == lib.float32
        (gg,) = lib.autograd.grad(r.sum(), g)
        assert gg.dtype == lib.float64 and gg.tolist() == [2.0, 4.0]


def test_complex_mismatch_message_names_the_output():
    # (with the mismatch at output 1 PyTorch's message code itself fails: it looks the
    # gradient up with list.index, which compares tensors: "Boolean value of Tensor ...")
    msgs = []
    for lib in (cr, torch):
        x = lib.ones(2, requires_grad=True)
        grads = [lib.ones(2, dtype=lib.complex64), lib.ones(2)]
        with pytest.raises(RuntimeError) as err:
            lib.autograd.grad([x * 2, x * 3], x, grads)
        msgs.append(str(err.value).split("\n")[0])
    assert msgs[0] == msgs[1]
    assert "grad_output[0] has a dtype of torch.complex64" in msgs[0]


# ------------------------------------------------------------------ 4. argument types


@pytest.mark.parametrize(
    "src",
    [
        "L.linalg.cholesky(1.5)",
        "L.linalg.cholesky((1.0, 2.0))",
        "L.cholesky(1.5)",
        "L.linalg.lstsq(L.ones(3, 3), 1.5)",
        "L.linalg.lstsq(1.5, L.ones(3, 3))",
        "L.linalg.lstsq(L.ones(3, 3), [1.0, 2.0, 3.0], driver='gelsd')",
        "L.ones(2).to(device=np.int64(1))",
        "L.device(np.int64(-1))",
    ],
)
def test_argument_types_as_torch(src):
    outcomes = []
    for lib in (cr, torch):
        try:
            eval(src, {"L": lib, "np": np})  # noqa: S307 - the cases above
            outcomes.append("ok")
        except (TypeError, RuntimeError) as e:
            base = TypeError if isinstance(e, TypeError) else RuntimeError
            outcomes.append((base.__name__, str(e).split("\n")[0]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] != "ok"
