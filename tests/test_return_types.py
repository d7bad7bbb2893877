"""``cr.return_types`` against ``torch.return_types``: every multi-output function returns the
type PyTorch returns (same name, same fields in the same order), which prints as PyTorch's,
unpacks as a tuple and pickles by name."""

from __future__ import annotations

import pickle
import warnings
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

A = np.random.default_rng(0).standard_normal((3, 3))
SPD = A @ A.T + 3 * np.eye(3)


def _calls(t: ModuleType) -> dict[str, Any]:
    x, s = t.tensor(A), t.tensor(SPD)
    with warnings.catch_warnings():  # torch.qr / torch.svd are deprecated in torch
        warnings.simplefilter("ignore")
        return {
            "max": x.max(1),
            "min": t.min(x, 0),
            "sort": x.sort(),
            "topk": x.topk(2),
            "kthvalue": x.kthvalue(1),
            "mode": x.mode(),
            "median": x.median(0),
            "nanmedian": x.nanmedian(1),
            "cummax": x.cummax(0),
            "cummin": x.cummin(1),
            "aminmax": t.aminmax(x),
            "frexp": t.frexp(x),
            "geqrf": t.geqrf(x),
            "histogram": t.histogram(x.flatten(), 3),
            "histogramdd": t.histogramdd(x, 2),
            "linalg_cholesky_ex": t.linalg.cholesky_ex(s),
            "linalg_eig": t.linalg.eig(x),
            "linalg_eigh": t.linalg.eigh(s),
            "linalg_inv_ex": t.linalg.inv_ex(x),
            "linalg_ldl_factor": t.linalg.ldl_factor(s),
            "linalg_ldl_factor_ex": t.linalg.ldl_factor_ex(s),
            "linalg_lstsq": t.linalg.lstsq(x, x),
            "linalg_lu": t.linalg.lu(x),
            "linalg_lu_factor": t.linalg.lu_factor(x),
            "linalg_lu_factor_ex": t.linalg.lu_factor_ex(x),
            "linalg_qr": t.linalg.qr(x),
            "linalg_slogdet": t.linalg.slogdet(x),
            "linalg_solve_ex": t.linalg.solve_ex(x, x),
            "linalg_svd": t.linalg.svd(x),
            "lu_unpack": t.lu_unpack(*t.linalg.lu_factor(x)),
            "qr": t.qr(x),
            "slogdet": t.slogdet(x),
            "svd": t.svd(x),
            "triangular_solve": t.triangular_solve(x, s),
            "slogdet_method": x.slogdet(),
            "sort_0d": t.tensor(2.0).sort(),
            "topk_0d": t.tensor(2.0).topk(1),
            "max_0d": t.tensor(2.0).max(0),
        }


CR, TORCH = _calls(cr), _calls(torch)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_same_type_and_fields_as_torch(name: str) -> None:
    got, want = CR[name], TORCH[name]
    assert type(got).__name__ == type(want).__name__
    assert type(got) is getattr(cr.return_types, type(got).__name__)
    assert isinstance(got, tuple) and len(got) == len(want)
    for field, value in zip(type(got)._fields, got):
        assert getattr(want, field) is not None  # torch's result has the same field names
        assert getattr(got, field) is value


def test_every_type_is_listed_and_named_after_itself() -> None:
    for name in cr.return_types.__all__:
        cls = getattr(cr.return_types, name)
        assert cls.__name__ == name and cls.__module__ == "chainrule.return_types"
        assert name in dir(torch.return_types)


def test_prints_as_torch() -> None:
    x = np.array([[1.0, 3.0], [2.0, 0.0]], dtype=np.float32)
    for fn in (lambda t: t.tensor(x).max(1), lambda t: t.tensor(x).sort(0)):
        assert repr(fn(cr)) == repr(fn(torch))


def test_unpacks_indexes_and_pickles() -> None:
    result = cr.tensor([[1.0, 3.0], [2.0, 0.0]]).max(1)
    values, indices = result
    assert values is result[0] is result.values and indices is result[1] is result.indices
    back = pickle.loads(pickle.dumps(cr.return_types.max(3.0, 1)))  # the type by name
    assert type(back) is cr.return_types.max and back == (3.0, 1)
