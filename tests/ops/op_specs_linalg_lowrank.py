"""Op specs for ``ops/linalg_lowrank_householder.py`` (``orgqr``, ``ormqr``); appended to the
central table in tests/ops/op_specs.py.

``geqrf`` has no derivative (as in torch: its outputs require grad but backward raises
NotImplementedError "the derivative for 'geqrf' is not implemented.", which
tests/test_small_fixes_session29.py checks), so its spec takes the forward check only.
``svd_lowrank`` / ``pca_lowrank`` / ``lobpcg`` draw random matrices, so their values differ
from torch's draw for draw: they are tested by their properties in
tests/test_linalg_lowrank.py.
"""

from __future__ import annotations

from .op_specs import OpSpec, bad_call, lib

__all__ = ["SPECS"]


def _ormqr(left=True, transpose=False):
    return lambda a, tau, c: lib(a).ormqr(a, tau, c, left, transpose)


SPECS: list = [
    OpSpec(  # no derivative: the outputs require grad but backward raises, as in torch
        "geqrf",
        "geqrf",
        (((5, 3),), ((2, 4, 4),), ((3, 5),), ((4, 1),)),
        checks=frozenset({"fwd"}),
        bad=(bad_call("vector", lambda a: lib(a).geqrf(a[..., 0, :])),),
    ),
    OpSpec("orgqr", "orgqr", (((5, 3), (2,)), ((2, 4, 4), (2, 4)), ((3, 3), (3,)))),
    OpSpec(
        "ormqr",
        "ormqr",
        (((5, 3), (3,), (5, 2)), ((2, 4, 3), (2, 3), (2, 4, 4)), ((3, 5), (3,), (3, 2))),
        bad=(
            bad_call("other_rows", lambda a, tau, c: lib(a).ormqr(a, tau, c.mT)),
            bad_call("tau_len", lambda a, tau, c: lib(a).ormqr(a, tau[:2], c)),
        ),
    ),
    OpSpec(
        "ormqr_T", _ormqr(transpose=True), (((5, 3), (3,), (5, 2)), ((2, 4, 2), (2, 2), (2, 4, 3)))
    ),
    OpSpec(
        "ormqr_right",
        _ormqr(left=False),
        (((5, 3), (3,), (2, 5)), ((2, 4, 3), (2, 3), (2, 1, 4))),
        bad=(bad_call("other_cols", lambda a, tau, c: lib(a).ormqr(a, tau, c.mT, False)),),
    ),
    OpSpec("ormqr_right_T", _ormqr(left=False, transpose=True), (((5, 3), (3,), (2, 5)),)),
]
