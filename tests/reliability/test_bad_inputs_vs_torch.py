"""Differential bad-input suite: chainrule must raise where PyTorch raises, and agree where
PyTorch returns. The table of cases lives in :mod:`tests.reliability.cases`.

Error types are compared by family: PyTorch raises ``RuntimeError`` for most bad
arguments where Python convention (and chainrule) uses ``ValueError`` or ``IndexError``,
so a PyTorch ``RuntimeError`` accepts any of those (and ``TypeError`` when PyTorch's
message is about a dtype, as does PyTorch's "kernel not implemented for 'Long'"
``NotImplementedError``); other PyTorch error types must match exactly. The message must
name the op, and chainrule must never let a raw NumPy warning or error escape.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

from .cases import CASES, Case

_RUNTIME_FAMILY = (RuntimeError, ValueError, IndexError)


def _run(case: Case, lib: Any) -> tuple[str, Any, list]:
    """("ok", result) or ("raise", exception), plus warnings caught on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.manual_seed(0)
        try:
            return "ok", case.fn(lib), caught
        except Exception as err:  # noqa: BLE001 - the point is to see every error
            return "raise", err, caught


def _to_plain(x: Any) -> Any:
    """Tensors -> (shape, dtype name, float64 values); containers recursively."""
    if isinstance(x, (torch.Tensor, cr.Tensor)):
        a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x.data)
        dt = str(x.dtype).replace("torch.", "")
        with np.errstate(invalid="ignore"):  # an empty() tensor's garbage may hold sNaNs
            vals = a.astype(np.float64) if a.dtype.kind in "biuf" else a
        return ("tensor", tuple(a.shape), dt, vals)
    if isinstance(x, (tuple, list, torch.Size)):
        return [_to_plain(v) for v in x]
    if isinstance(x, (bool, int, float, str, np.number, type(None))):
        return x
    return ("object",)  # a module, generator, sampler...: only "both returned" is compared


def _assert_same(a: Any, b: Any, random: bool, where: str = "result") -> None:
    if isinstance(a, tuple) and a and a[0] == "tensor":
        assert isinstance(b, tuple) and b and b[0] == "tensor", f"{where}: {b!r} not a tensor"
        assert a[1] == b[1], f"{where}: shape {a[1]} != torch {b[1]}"
        assert a[2] == b[2], f"{where}: dtype {a[2]} != torch {b[2]}"
        if not random:
            np.testing.assert_allclose(
                a[3], b[3], rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=where
            )
        return
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {a!r} vs torch {b!r}"
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same(u, v, random, f"{where}[{i}]")
        return
    if random and isinstance(a, (int, float)):
        return
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return
    assert a == b, f"{where}: {a!r} != torch {b!r}"


def _compatible(cr_err: BaseException, torch_err: BaseException) -> bool:
    text = str(torch_err).lower()
    about_dtype = any(
        w in text for w in ("dtype", "type", "floating point", "not implemented for '")
    )
    if isinstance(torch_err, NotImplementedError):
        return (
            isinstance(cr_err, NotImplementedError) or about_dtype and isinstance(cr_err, TypeError)
        )
    if isinstance(torch_err, AssertionError):  # PyTorch asserts some arguments; we raise
        return isinstance(cr_err, (ValueError, TypeError))  # a ValueError, as Python expects
    if type(torch_err) is RuntimeError:
        extra = (TypeError,) if about_dtype else ()
        return isinstance(cr_err, _RUNTIME_FAMILY + extra)
    for family in (IndexError, TypeError, KeyError, ValueError, ZeroDivisionError):
        if isinstance(torch_err, family):
            return isinstance(cr_err, family)
    return isinstance(cr_err, type(torch_err))


def _raw_numpy(err: BaseException) -> bool:
    mod = type(err).__module__
    return mod.startswith("numpy") or "axis" in type(err).__name__.lower()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_matches_torch(case: Case) -> None:
    t_kind, t_val, _ = _run(case, torch)
    c_kind, c_val, c_warn = _run(case, cr)
    numpy_warnings = [w for w in c_warn if issubclass(w.category, RuntimeWarning)]
    assert not numpy_warnings, f"raw NumPy warning escaped: {numpy_warnings[0].message}"
    if c_kind == "raise":
        assert not _raw_numpy(c_val), f"raw NumPy error: {type(c_val).__name__}: {c_val}"
        # the op named, or PyTorch's own text word for word (which for some shape errors,
        # reshape/view's "shape '[5]' is invalid for input of size 6", names none)
        named = any(op.lower() in str(c_val).lower() for op in case.op.split("|"))
        assert named or (t_kind == "raise" and str(c_val) == str(t_val)), (
            f"error does not name the op {case.op!r}: {type(c_val).__name__}: {c_val}"
        )
    if case.divergence:
        assert c_kind == "raise", f"expected a clear error ({case.divergence}), got {c_val!r}"
        return
    if t_kind == "raise":
        assert c_kind == "raise", (
            f"PyTorch raises {type(t_val).__name__}: {t_val}; chainrule returned {c_val!r}"
        )
        assert _compatible(c_val, t_val), (
            f"PyTorch raises {type(t_val).__name__} ({t_val}); chainrule raised "
            f"{type(c_val).__name__}: {c_val}"
        )
        return
    assert c_kind == "ok", (
        f"PyTorch returns {t_val!r}; chainrule raised {type(c_val).__name__}: {c_val}"
    )
    _assert_same(_to_plain(c_val), _to_plain(t_val), case.random)


def test_table_is_large_and_covers_every_family() -> None:
    prefixes = {c.name.split("-")[0] for c in CASES}
    assert {
        "reduce",
        "shape",
        "index",
        "alias",
        "binary",
        "create",
        "nn",
        "loss",
        "module",
        "functional",
        "optim",
        "data",
        "autograd",
    } <= prefixes
    assert len(CASES) >= 500
