"""``cr.backends.opt_einsum`` against ``torch.backends.opt_einsum``: the same defaults and
switches, the same contraction order handed to ``einsum``, the same results and errors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import chainrule as cr
from chainrule.backends import opt_einsum as cr_opt

torch = pytest.importorskip("torch")
opt_einsum = pytest.importorskip("opt_einsum")

RNG = np.random.default_rng(5)
SHAPES = [(3, 40), (40, 2), (2, 50), (50, 4)]
ARRAYS = [RNG.standard_normal(s) for s in SHAPES]
EQUATION = "ij,jk,kl,lm->im"


@pytest.fixture(autouse=True)
def _restore_flags() -> Iterator[None]:
    before = cr_opt.set_flags()
    torch_before = torch.backends.opt_einsum.enabled, torch.backends.opt_einsum.strategy
    yield
    cr_opt.set_flags(*before)
    torch.backends.opt_einsum.enabled, torch.backends.opt_einsum.strategy = torch_before


def test_defaults_are_torchs() -> None:
    t = torch.backends.opt_einsum
    assert cr_opt.is_available() is t.is_available() is True
    assert cr_opt.get_opt_einsum() is t.get_opt_einsum() is opt_einsum
    assert cr_opt.enabled is t.enabled is True
    assert cr_opt.strategy == t.strategy == "auto"
    assert cr.backends.opt_einsum is cr_opt


def test_set_flags_returns_the_previous_values_and_none_keeps_one() -> None:
    assert cr_opt.set_flags(None, "greedy") == (True, "auto")
    assert (cr_opt.enabled, cr_opt.strategy) == (True, "greedy")
    assert cr_opt.set_flags(False) == (True, "greedy")
    assert (cr_opt.enabled, cr_opt.strategy) == (False, "greedy")


def test_flags_restores_after_the_block_even_on_error() -> None:
    with pytest.raises(ZeroDivisionError):
        with cr_opt.flags(enabled=False, strategy="optimal"):
            assert (cr_opt.enabled, cr_opt.strategy) == (False, "optimal")
            1 / 0  # noqa: B018 - the block raises
    assert (cr_opt.enabled, cr_opt.strategy) == (True, "auto")


@pytest.mark.parametrize("strategy", ["auto", "greedy", "optimal", "dp"])
def test_the_path_is_opt_einsums(strategy: str) -> None:
    cr_opt.strategy = strategy
    want, _ = opt_einsum.contract_path(EQUATION, *ARRAYS, optimize=strategy)
    assert cr_opt.contraction_path(EQUATION, tuple(ARRAYS)) == ["einsum_path", *want]


def test_disabled_or_missing_contracts_left_to_right(monkeypatch: pytest.MonkeyPatch) -> None:
    left_to_right = ["einsum_path", (0, 1), (0, 1), (0, 1)]
    cr_opt.enabled = False
    assert cr_opt.contraction_path(EQUATION, tuple(ARRAYS)) == left_to_right
    cr_opt.enabled = True
    monkeypatch.setattr(cr_opt, "_opt_einsum", None)
    assert cr_opt.is_available() is False and cr_opt.get_opt_einsum() is None
    assert cr_opt.contraction_path(EQUATION, tuple(ARRAYS)) == left_to_right
    assert cr_opt.contraction_path("ij,jk->ik", tuple(ARRAYS[:2])) is False


@pytest.mark.parametrize("strategy", ["auto", "greedy", "optimal"])
@pytest.mark.parametrize("enabled", [True, False])
def test_einsum_matches_torch_under_each_switch(strategy: str, enabled: bool) -> None:
    results = []
    for lib in (cr, torch):
        lib.backends.opt_einsum.strategy = strategy
        lib.backends.opt_einsum.enabled = enabled
        ts = [lib.tensor(a, requires_grad=True) for a in ARRAYS]
        out = lib.einsum(EQUATION, *ts)
        out.backward(lib.ones_like(out))
        results.append([out.detach().numpy(), *(t.grad.numpy() for t in ts)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_an_unknown_strategy_fails_as_in_torch() -> None:
    for lib in (cr, torch):
        lib.backends.opt_einsum.strategy = "no-such-path"
        with pytest.raises(KeyError, match="no-such-path"):
            lib.einsum(EQUATION, *(lib.tensor(a) for a in ARRAYS))
