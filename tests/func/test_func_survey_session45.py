"""Session 45 survey: 250+ cases of ``cr.func`` against ``torch.func`` (torch 2.13).

The cases (``func_survey_cases_session45.py``): ``vmap``'s ``chunk_size`` (values, bad
values); ``vmap`` over ``nn.functional`` ops not surveyed before (conv_transpose1d/2d with
batched weights and groups, interpolate's modes, grid_sample in every mode/padding/
align_corners, embedding_bag's modes, offsets, per-sample weights and padding_idx,
ctc_loss and its per-sample gradient, multi_head_attention_forward, layer_norm/group_norm
with batched weights and their gradients); ``functional_call`` with tied weights,
``strict``, tuples of dicts, buffers (train and eval); ``stack_module_state`` ensembles and
its refusals; ``jacrev``/``jacfwd`` with ``has_aux`` (``chunk_size``, ``randomness``, argnums
tuples, bad aux); ``hessian`` of losses; ``linearize`` and its tangent checks; ``vjp`` with
``has_aux``; ``grad_and_value`` with argnums tuples and their refusals; ``jvp`` of in-place
ops; in-place ops under ``vmap`` on batched and unbatched tensors (each op family's refusal
in PyTorch's words and level numbers); ``replace_all_batch_norm_modules_``. Values, dtypes
and shapes must match; where torch raises, chainrule raises the same type with the same
message. ``GAPS``: the differences left (strict xfails naming them).

The randomness cases: 23 draws (dropout and its variants, ``rand_like``/``randn_like``,
fresh draws, ``normal_``/``normal``, ``bernoulli``/``bernoulli_`` with scalar and tensor
``p``, ``uniform_``, ``randint_like``, ``randperm``, ``multinomial``) under each of
``randomness='error'|'same'|'different'``: the same error texts, the same structure (whether
the samples share their draws) and, as chainrule draws PyTorch's CPU numbers for one seed,
the same values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

from . import (
    func_survey_cases_session45_b,  # noqa: F401 - registers its cases in CASES
    func_survey_cases_session45_c,  # noqa: F401 - registers its cases in CASES
    func_survey_cases_session45_d,  # noqa: F401 - registers its cases in CASES
)
from .func_survey_cases_session45 import _DRAWS, CASES, GAPS, RANDOM, X

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # (torch's fx const-fold, linearize)
]


def _run(m: Any, fn: Any) -> Any:
    try:
        return fn(m)
    except Exception as e:  # noqa: BLE001 - compared with the other library's
        return e


def _flat(r: Any) -> list:
    if isinstance(r, dict):
        return [y for k in sorted(r) for y in _flat(r[k])]
    if isinstance(r, (tuple, list)) and not isinstance(r, (torch.Size, cr.Size)):
        return [y for x in r for y in _flat(x)]
    return [r]


def _same(want: Any, got: Any) -> None:
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"torch raised {want!r}; chainrule gave {got!r}"
        assert isinstance(got, type(want)), (want, got)
        assert str(got) == str(want)
        return
    if isinstance(got, Exception):
        raise got
    wl, gl = _flat(want), _flat(got)
    assert len(wl) == len(gl)
    for w, g in zip(wl, gl):
        if isinstance(w, int):
            assert g == w
            continue
        assert type(g) is cr.Tensor, type(g)
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(
            g.detach().numpy(), w.detach().numpy(), rtol=1e-7, atol=1e-9, equal_nan=True
        )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=GAPS[n])) if n in GAPS else n
        for n in sorted(CASES)
    ],
)
def test_func_matches_torch(name: str) -> None:
    torch.manual_seed(0)
    cr.manual_seed(0)
    _same(_run(torch, CASES[name]), _run(cr, CASES[name]))


def _draw(m: Any, draw: str, mode: str) -> Any:
    m.manual_seed(0)
    return m.func.vmap(lambda x: _DRAWS[draw](m, x), randomness=mode)(m.tensor(X))


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_randomness_matches_torch(name: str) -> None:
    draw, mode = RANDOM[name]
    want = _run(torch, lambda m: _draw(m, draw, mode))
    got = _run(cr, lambda m: _draw(m, draw, mode))
    if isinstance(want, Exception):
        _same(want, got)
        return
    assert not isinstance(got, Exception), got
    w, g = want.detach().numpy(), got.detach().numpy()
    assert g.shape == w.shape and g.dtype == w.dtype
    # the structure: every sample the same draw ('same', no draw) or each its own
    assert bool(np.all(g == g[:1])) == bool(np.all(w == w[:1]))
    np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "draw", ["dropout", "rand_like", "normal_on_batched", "bernoulli_batched_p"]
)
def test_randomness_modes_differ_as_torch_says(draw: str) -> None:
    # what the three modes mean, checked on chainrule alone: 'error' refuses with PyTorch's
    # words, 'same' gives one draw to every sample of a batch of equal inputs, 'different'
    # one per sample
    ones = np.ones_like(X)

    def run(mode: str) -> Any:
        cr.manual_seed(0)
        return cr.func.vmap(lambda x: _DRAWS[draw](cr, x), randomness=mode)(cr.tensor(ones))

    with pytest.raises(RuntimeError, match="randomness error mode"):
        run("error")
    if draw != "bernoulli_batched_p":  # (a batched p under 'same': refused, as PyTorch)
        same = run("same").numpy()
        assert np.all(same == same[:1])
    diff = run("different").numpy()
    assert not np.all(diff == diff[:1])
