"""Gaps the session-44 drop-in programs (helper b: LLM training idioms, self-supervised vision,
continual learning) found in chainrule, each checked against PyTorch.

LUCIR's margin ranking loss (hshustc/CVPR19_Incremental_Learning) passes ``(N, 1)`` scores with
an ``(N,)`` target: current PyTorch refuses the mix, and a port's ``pytest.raises(match=...)``
or ``except RuntimeError as e: ... in str(e)`` needs PyTorch's words, which chainrule changed
(no space before the colon, tuple shapes, no trailing space).
"""

from __future__ import annotations

import pytest

import chainrule

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "shapes",
    [((8, 1), (8, 1), (8,)), ((3,), (3, 2), (3,)), ((), (1,), (1,)), ((2, 2), (2,), (2, 2))],
)
def test_margin_ranking_loss_rank_mismatch_message_is_torchs(shapes: tuple) -> None:
    a, b, c = shapes

    def message(lib: object) -> tuple[type, str]:
        with pytest.raises(Exception) as info:
            lib.nn.functional.margin_ranking_loss(lib.ones(a), lib.ones(b), lib.ones(c))
        return info.type, str(info.value)

    want_type, want = message(torch)
    got_type, got = message(chainrule)
    assert issubclass(got_type, want_type)
    assert got == want


def test_margin_ranking_loss_module_rank_mismatch_message_is_torchs() -> None:
    def message(lib: object) -> str:
        loss = lib.nn.MarginRankingLoss(margin=0.5)
        with pytest.raises(RuntimeError) as info:
            loss(lib.ones(8, 1), lib.ones(8, 1), lib.ones(8))
        return str(info.value)

    assert message(chainrule) == message(torch)


def test_margin_ranking_loss_same_rank_still_matches_values() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(5, 1)), rng.normal(size=(5, 1))
    y = np.sign(rng.normal(size=(5, 1)))
    want = torch.nn.functional.margin_ranking_loss(
        torch.tensor(x1), torch.tensor(x2), torch.tensor(y), margin=0.3
    )
    got = chainrule.nn.functional.margin_ranking_loss(
        chainrule.tensor(x1), chainrule.tensor(x2), chainrule.tensor(y), margin=0.3
    )
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
