"""Session 44 survey: 100+ functions under ``cr.func.vmap`` against ``torch.func.vmap``.

Reductions with keepdim and dim tuples, ``where`` with a batched condition, gather/scatter/
index_add/index_put/setitem with a batched index, ``torch.linalg``, convolutions with a
batched weight, embedding, losses with a batched target, sort/topk, scans, the ops torch
refuses (``unique``, ``nonzero``, a boolean mask, ``.item()``, ``.tolist()``: its words),
random ops under each randomness mode (chainrule draws PyTorch's numbers, so the values
match), in-place writes of per-sample values into an unbatched tensor, chunk/split/unbind,
nested vmaps and ``chunk_size``. Each case: (function of the library and the inputs
x (B, 4, 5), y (B, 5), z (B, 4) int64, s (B, 3, 3) positive definite; in_dims; vmap's
keywords). Results must match; where torch raises, chainrule raises the same type with the
same message (session 45: the last ones that differed in words, add_ into an unbatched
tensor, argwhere and bincount, now match).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .vmap_survey_cases_session44 import GAPS, S

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning"),
    pytest.mark.filterwarnings("ignore:torch.searchsorted... input value tensor:UserWarning"),
]

B = 3
_RNG = np.random.default_rng(5)
X = _RNG.standard_normal((B, 4, 5))
Y = _RNG.standard_normal((B, 5))
Z = _RNG.integers(0, 5, (B, 4))
_A = _RNG.standard_normal((B, 3, 3))
SPD = _A @ _A.transpose(0, 2, 1) + 3 * np.eye(3)


def _inputs(m, dims):
    out = []
    for arr, d in zip((X, Y, Z, SPD), dims):
        out.append(m.tensor(arr[0] if d is None else np.moveaxis(arr, 0, d)))
    return out


def _run(m, name):
    f, dims, kw = S[name]
    m.manual_seed(0)
    try:
        return m.func.vmap(lambda *a: f(m, *a), in_dims=dims, **kw)(*_inputs(m, dims))
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return e


def _flat(r):
    if isinstance(r, (tuple, list)) and not isinstance(r, (torch.Size, cr.Size)):
        return [y for x in r for y in _flat(x)]
    return [r]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="not run under vmap yet"))
        if n in GAPS
        else n
        for n in sorted(S)
    ],
)
def test_vmap_matches_torch(name):
    want, got = _run(torch, name), _run(cr, name)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), (want, got)
        assert str(got) == str(want)
        return
    if isinstance(got, Exception):
        raise got
    fw, fg = _flat(want), _flat(got)
    assert len(fw) == len(fg)
    for w, g in zip(fw, fg):
        assert type(g) is cr.Tensor and isinstance(g._data, np.ndarray)
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-9, atol=1e-12)


def test_survey_size():
    assert len(S) >= 40
