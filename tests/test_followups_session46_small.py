"""Session 46 follow-ups, against torch:

2. ``pickle_protocol``: ``cr.save`` to a ``.safetensors`` path (which holds no pickle)
   refuses one asked for instead of ignoring it; the protocol is read as Python's pickler
   reads it (a negative int: the highest; above 5: its ValueError), and
   ``cr.export.save`` checks it as ``torch.export.save`` does (it pickles the example
   inputs with it).
4. ``dir(cr.fft)`` / ``dir(cr.autograd)`` list no helper imports torch's do not.
5. ``MultiStepLR`` with digit-string milestones: never a step, as in torch.
6. ``cr.linalg`` takes torch's keyword names (``input=``, ``b=``, NumPy's ``x=``/``axis=``),
   not the documentation's ``A=`` that torch refuses.
"""

from __future__ import annotations

import io
import pickle
import types
import warnings
import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr

# ------------------------------------------------------------------ 2. pickle_protocol


@pytest.mark.parametrize("protocol", [4, -1, True, 3])
def test_safetensors_target_refuses_a_protocol_asked_for(tmp_path, protocol) -> None:
    with pytest.raises(NotImplementedError, match="pickle_protocol.*safetensors"):
        cr.save({"w": cr.ones(2)}, tmp_path / "w.safetensors", pickle_protocol=protocol)
    assert not (tmp_path / "w.safetensors").exists()


@pytest.mark.parametrize("protocol", [2, None])
def test_safetensors_target_takes_the_default_protocol(tmp_path, protocol) -> None:
    path = tmp_path / "w.safetensors"
    cr.save({"w": cr.arange(3.0)}, path, pickle_protocol=protocol)
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, not a zip
    assert cr.load(path)["w"].tolist() == [0.0, 1.0, 2.0]


def test_safetensors_target_still_pickles_what_only_pickling_holds(tmp_path) -> None:
    path = tmp_path / "obj.safetensors"
    cr.save({"f": types.SimpleNamespace(a=1)}, path, pickle_protocol=4)  # the protocol is used
    assert zipfile.is_zipfile(path)
    assert cr.load(path, weights_only=False)["f"].a == 1


def _data_pkl_protocol(buf: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(buf)) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        head = z.read(name)[:2]
    return head[1] if head[:1] == b"\x80" else 0


@pytest.mark.parametrize("protocol", [-1, -3, 5, 2])
def test_save_protocol_as_python_reads_it(protocol) -> None:
    got, want = io.BytesIO(), io.BytesIO()
    cr.save({"w": cr.ones(2)}, got, pickle_protocol=protocol)
    torch.save({"w": torch.ones(2)}, want, pickle_protocol=protocol)
    assert _data_pkl_protocol(got.getvalue()) == _data_pkl_protocol(want.getvalue())
    got.seek(0)
    assert cr.load(got, weights_only=False)["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("protocol", [6, 99, 1.5, "2"])
def test_save_bad_protocol_raises_pythons_words(protocol) -> None:
    with pytest.raises((ValueError, TypeError)) as want:
        torch.save({"w": torch.ones(2)}, io.BytesIO(), pickle_protocol=protocol)
    with pytest.raises(type(want.value)) as got:
        cr.save({"w": cr.ones(2)}, io.BytesIO(), pickle_protocol=protocol)
    assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]


def _tiny_program():
    """A one-layer program exported by chainrule (per test: see CONTRIBUTING.md on
    ``__torch_function__`` wrappers)."""
    return cr.export.export(cr.nn.Linear(2, 2), (cr.ones(1, 2),))


def _outcome_of(save) -> tuple:
    try:
        save()
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc).split("\n")[0]
    return "ok", ""


@pytest.mark.parametrize("protocol", [0, 1, 5, -1, None, True, 6, "a", 2.0])
def test_export_save_checks_the_protocol_as_torch(protocol) -> None:
    # torch.export.save pickles the example inputs with torch.save(inputs, buffer,
    # pickle_protocol=protocol) (torch/_export/serde/serialize.py, serialize_torch_artifact;
    # exporting in torch here would cost seconds): its outcome is that call's
    ep = _tiny_program()
    inputs = ((torch.ones(1, 2),), {})
    want = _outcome_of(lambda: torch.save(inputs, io.BytesIO(), pickle_protocol=protocol))
    got = _outcome_of(lambda: cr.export.save(ep, io.BytesIO(), pickle_protocol=protocol))
    assert got == want


def test_export_save_writes_no_pickle_whatever_the_protocol() -> None:
    ep = _tiny_program()
    buf = io.BytesIO()
    cr.export.save(ep, buf, pickle_protocol=5)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        assert not [n for n in z.namelist() if n.endswith((".pt", ".pkl"))]
    buf.seek(0)
    loaded = cr.export.load(buf)
    x = cr.ones(1, 2)
    assert cr.equal(loaded.module()(x), ep.module()(x))


# ------------------------------------------------------------------ 4. dir()


@pytest.mark.parametrize("name", ["fft", "autograd"])
def test_dir_lists_no_helper_imports(name) -> None:
    ours, theirs = getattr(cr, name), getattr(torch, name)
    listed = set(dir(ours))
    extra = listed - set(dir(theirs))
    assert extra <= set(ours.__all__), sorted(extra - set(ours.__all__))
    assert set(ours.__all__) <= listed
    assert not {"np", "Any", "_package_dir", "__dir__", "annotations"} & listed
    # the submodules torch lists and chainrule has are still listed
    for sub in ("function", "grad_mode", "forward_ad", "functional", "graph", "variable"):
        if name == "autograd":
            assert sub in listed, sub


# ------------------------------------------------------------------ 5. MultiStepLR


def _multistep(lib, milestones, steps=6):
    p = lib.nn.Parameter(lib.zeros(1))
    opt = lib.optim.SGD([p], lr=1.0)
    sched = lib.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.5)
    lrs = []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return opt, sched, lrs


@pytest.mark.parametrize("milestones", [["2", "4"], ["2", 4], [2, 4], ("3",)])
def test_multistep_milestone_kinds_as_torch(milestones) -> None:
    copt, csched, clrs = _multistep(cr, milestones)
    topt, tsched, tlrs = _multistep(torch, milestones)
    assert clrs == tlrs
    csd, tsd = csched.state_dict(), tsched.state_dict()
    assert csd["milestones"] == tsd["milestones"] and csd["last_epoch"] == tsd["last_epoch"]
    # round trip of the state dict (as saved, not through JSON), then more steps
    _, csched2, _ = _multistep(cr, [1], steps=0)
    _, tsched2, _ = _multistep(torch, [1], steps=0)
    csched2.load_state_dict(csd)
    tsched2.load_state_dict(tsd)
    assert csched2.milestones == tsched2.milestones
    for sched, opt in ((csched2, csched2.optimizer), (tsched2, tsched2.optimizer)):
        for _ in range(3):
            opt.step()
            sched.step()
    assert csched2.get_last_lr() == tsched2.get_last_lr()


def test_multistep_string_milestones_closed_form_raises_as_torch() -> None:
    errors = []
    for lib in (torch, cr):
        _, sched, _ = _multistep(lib, ["2", "4"], steps=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's deprecation of step(epoch)
            with pytest.raises(TypeError) as err:
                sched.step(3)
        errors.append(str(err.value))
    assert errors[1] == errors[0]


# ------------------------------------------------------------------ 6. linalg keywords
_RNG = np.random.default_rng(46)
_S = _RNG.standard_normal((3, 3))
_SPD = _S @ _S.T + 3 * np.eye(3)


def _linalg(lib, fn, **kw):
    arrays = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return getattr(lib.linalg, fn)(**arrays)


_KEYWORD_CALLS = {
    "cholesky_input": ("cholesky", {"input": _SPD}),
    "cholesky_x": ("cholesky", {"x": _SPD, "upper": True}),
    "cholesky_A": ("cholesky", {"A": _SPD}),
    "cholesky_ex_a": ("cholesky_ex", {"a": _SPD}),
    "eigh_input": ("eigh", {"input": _SPD, "UPLO": "U"}),
    "eigvalsh_x1": ("eigvalsh", {"x1": _SPD}),
    "eigvals_A": ("eigvals", {"A": _S}),
    "cond_input": ("cond", {"input": _S, "p": "fro"}),
    "inv_A": ("inv", {"A": _SPD}),
    "det_A": ("det", {"A": _S}),
    "lstsq_input_b": ("lstsq", {"input": _S, "b": _SPD}),
    "lstsq_A_B": ("lstsq", {"A": _S, "B": _SPD}),
    "solve_A_B": ("solve", {"A": _SPD, "B": _S}),
    "solve_triangular_input": (
        "solve_triangular",
        {"input": np.triu(_SPD), "B": _S, "upper": True},
    ),
    "tensorsolve_other": ("tensorsolve", {"input": _SPD, "other": _S[0]}),
    "tensorsolve_x2": ("tensorsolve", {"input": _SPD, "x2": _S[0]}),
    "tensorinv_input": ("tensorinv", {"input": _SPD, "ind": 1}),
    "matrix_power_input": ("matrix_power", {"input": _S, "n": 3}),
    "matrix_rank_input": ("matrix_rank", {"input": _S, "hermitian": False}),
    "pinv_input": ("pinv", {"input": _S, "rtol": 1e-3}),
    "matrix_norm_axis": ("matrix_norm", {"input": _S, "ord": 1, "axis": (1, 0)}),
    "matrix_norm_keepdims": ("matrix_norm", {"input": _S, "keepdims": True}),
    "vector_norm_input_axis": ("vector_norm", {"input": _S, "ord": 3, "axis": 0}),
    "vector_norm_x": ("vector_norm", {"x": _S, "keepdims": True}),
    "norm_x_axis": ("norm", {"x": _S, "axis": 1}),
    "cross_x1_x2": ("cross", {"x1": _S, "x2": _SPD}),
    "vecdot_axis": ("vecdot", {"x": _S, "y": _SPD, "axis": 0}),
    "householder_input": ("householder_product", {"input": _S, "tau": _S[0, :2]}),
    "ldl_factor_input": ("ldl_factor", {"input": _SPD}),
    "both_input_and_x": ("cholesky", {"input": _SPD, "x": _SPD}),
}


def _outcome(lib, fn, kw):
    try:
        out = _linalg(lib, fn, **kw)
    except TypeError:
        return "TypeError"
    first = out[0] if isinstance(out, tuple) else out
    return np.asarray(first.detach().numpy())


@pytest.mark.parametrize("case", list(_KEYWORD_CALLS))
def test_linalg_keywords_as_torch(case) -> None:
    fn, kw = _KEYWORD_CALLS[case]
    want, got = _outcome(torch, fn, kw), _outcome(cr, fn, kw)
    if isinstance(want, str):
        assert got == want
    else:
        assert not isinstance(got, str), f"{case}: chainrule refused the keywords"
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_matrix_rank_positional_tol_as_torch() -> None:
    a = np.diag([1.0, 1e-4, 0.0])
    for args in ((1e-3,), (1e-3, True), (1e-5, False)):
        want = torch.linalg.matrix_rank(torch.tensor(a), *args)
        assert cr.linalg.matrix_rank(cr.tensor(a), *args).item() == want.item()
    with pytest.raises(TypeError):
        cr.linalg.matrix_rank(cr.tensor(a), 1e-3, tol=1e-3)


def test_pickle_module_default_is_pythons() -> None:  # (the protocol reader's default)
    buf = io.BytesIO()
    cr.save(cr.ones(1), buf, pickle_protocol=None)
    assert _data_pkl_protocol(buf.getvalue()) == pickle.DEFAULT_PROTOCOL
