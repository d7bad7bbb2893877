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
    # torch's switches are only set through its flags() context here: assigning its module's
    # attributes shadows what flags() sets later in the same process (other tests use it)
    before = cr_opt.set_flags()
    yield
    cr_opt.set_flags(*before)
    torch.backends.opt_einsum.set_flags(True, "auto")  # a refused flags() leaves it changed


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


@pytest.mark.parametrize("args", [(None, "bogus"), (True, "dp"), (False, "greedy")])
def test_set_flags_refuses_what_torch_refuses(args: tuple) -> None:
    for lib in (cr, torch):
        with pytest.raises(ValueError):
            with lib.backends.opt_einsum.flags(*args):
                pass
    # chainrule puts back what it set before refusing (torch leaves `enabled` changed)
    assert (cr_opt.enabled, cr_opt.strategy) == (True, "auto")
    with pytest.raises(ValueError, match="not enabled"):
        cr_opt.set_flags(False, "greedy")


def test_set_flags_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cr_opt, "_AVAILABLE", False)
    with pytest.raises(ValueError, match="not available"):
        cr_opt.set_flags(True)
    with pytest.raises(ValueError, match="not available"):
        cr_opt.set_flags(None, "auto")
    assert cr_opt.set_flags(False) == (True, "auto")


def test_flags_restores_after_the_block_even_on_error() -> None:
    with pytest.raises(ZeroDivisionError):
        with cr_opt.flags(enabled=True, strategy="optimal"):
            assert (cr_opt.enabled, cr_opt.strategy) == (True, "optimal")
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
    monkeypatch.setattr(cr_opt, "_AVAILABLE", False)
    assert cr_opt.is_available() is False and cr_opt.get_opt_einsum() is None
    assert cr_opt.contraction_path(EQUATION, tuple(ARRAYS)) == left_to_right
    assert cr_opt.contraction_path("ij,jk->ik", tuple(ARRAYS[:2])) is False


@pytest.mark.parametrize(
    "switches", [(True, "auto"), (True, "greedy"), (True, "optimal"), (False, None)], ids=str
)
def test_einsum_matches_torch_under_each_switch(switches: tuple) -> None:
    results = []
    for lib in (cr, torch):
        with lib.backends.opt_einsum.flags(*switches):
            assert lib.backends.opt_einsum.enabled is switches[0]
            ts = [lib.tensor(a, requires_grad=True) for a in ARRAYS]
            out = lib.einsum(EQUATION, *ts)
        out.backward(lib.ones_like(out))
        results.append([out.detach().numpy(), *(t.grad.numpy() for t in ts)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_an_unknown_strategy_assigned_directly_fails_in_einsum() -> None:
    """Assigning the attribute is unchecked (as in PyTorch, whose own attribute is not
    touched here: assigning it would shadow what its flags() sets later in the process);
    opt_einsum then refuses the name, as in PyTorch."""
    cr_opt.strategy = "no-such-path"
    with pytest.raises(KeyError, match="no-such-path"):
        cr.einsum(EQUATION, *(cr.tensor(a) for a in ARRAYS))
