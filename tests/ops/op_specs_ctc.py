"""Op specs for ctc (appended to the central table in tests/ops/op_specs.py).

``F.ctc_loss`` of ``log_softmax`` of a random input (the intended use: PyTorch's gradient is
the derivative through log_softmax, see chainrule/nn/functional/ctc.py), with the targets and
lengths fixed constants captured in the lambdas. Checks: forward, backward and gradcheck;
PyTorch's ctc_loss has neither a double backward nor a forward-mode rule, and chainrule
raises for both as PyTorch does (tests/nn/test_ctc_loss.py).
"""

from __future__ import annotations

import numpy as np

from .op_specs import ALL, OpSpec, _log_probs, bad_call, const, nnf

_CHECKS = ALL - {"gg", "jvp"}

# (T, N, C) = (6, 3, 5): padded targets with a repeated label (needs a blank between the
# two 2s), a doubled label, and padding beyond each target length.
_TG = np.array([[1, 2, 2, 3], [4, 4, 0, 0], [1, 3, 1, 0]])
_IL = np.array([6, 5, 6])
_TL = np.array([4, 2, 3])
# the same targets for blank = 4 (labels 0..3)
_TG_B4 = np.array([[0, 1, 1, 2], [3, 3, 0, 0], [0, 2, 0, 0]])
_TG_CAT = np.array([1, 2, 2, 3, 4, 4, 1, 3, 1])
# sample 0 cannot align: 1 1 1 needs 5 frames, it has 4
_TG_IMPOSSIBLE = np.array([[1, 1, 1, 0], [4, 4, 0, 0], [1, 3, 1, 0]])
_IL_SHORT = np.array([4, 5, 6])

TNC = (((6, 3, 5),),)


def _ctc(a, targets=_TG, il=_IL, tl=_TL, **kw):
    """ctc_loss of log_softmax(a) with constant targets and lengths of a's library."""
    return nnf(a).ctc_loss(_log_probs(a), const(a, targets), const(a, il), const(a, tl), **kw)


SPECS: list = [
    OpSpec(
        "F_ctc_loss",
        _ctc,
        TNC,
        checks=_CHECKS,
        bad=(
            bad_call("input_length_too_long", lambda a: _ctc(a, il=np.array([7, 5, 6]))),
            bad_call("negative_input_length", lambda a: _ctc(a, il=np.array([-1, 5, 6]))),
            bad_call("negative_target_length", lambda a: _ctc(a, tl=np.array([-1, 2, 3]))),
            bad_call("target_length_over_width", lambda a: _ctc(a, tl=np.array([5, 2, 3]))),
            bad_call("lengths_wrong_size", lambda a: _ctc(a, il=np.array([6, 5]))),
            bad_call("float_lengths", lambda a: _ctc(a, il=np.array([6.0, 5.0, 6.0]))),
            bad_call("targets_wrong_batch", lambda a: _ctc(a, targets=_TG[:2])),
            bad_call("targets_3d", lambda a: _ctc(a, targets=_TG[None])),
            bad_call("blank_out_of_range", lambda a: _ctc(a, blank=5)),
            bad_call("bad_reduction", lambda a: _ctc(a, reduction="avg")),
        ),
    ),
    OpSpec(
        "F_ctc_loss_concat_none",
        lambda a: _ctc(a, targets=_TG_CAT, reduction="none"),
        TNC,
        checks=_CHECKS,
        bad=(
            bad_call(
                "concat_wrong_total",
                lambda a: _ctc(a, targets=_TG_CAT[:-1], reduction="none"),
            ),
        ),
    ),
    OpSpec(
        "F_ctc_loss_sum_blank_last",
        lambda a: _ctc(a, targets=_TG_B4, blank=4, reduction="sum"),
        TNC,
        checks=_CHECKS,
    ),
    OpSpec(
        "F_ctc_loss_zero_infinity",
        lambda a: _ctc(a, targets=_TG_IMPOSSIBLE, il=_IL_SHORT, zero_infinity=True),
        TNC,
        checks=_CHECKS,
    ),
    OpSpec(
        "F_ctc_loss_unbatched",
        lambda a: _ctc(a, targets=_TG_CAT[:4], il=np.array(6), tl=np.array(4), reduction="none"),
        (((6, 5),),),
        checks=_CHECKS,
    ),
]
