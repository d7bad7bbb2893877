"""Op specs for ``ops/softmax_backward_data.py`` (``torch._softmax_backward_data`` and
``torch._log_softmax_backward_data``, added for Hugging Face DeBERTa's ``XSoftmax``), to be
appended to the central table in tests/ops/op_specs.py. The saved ``output`` is made from the
second input (``softmax``/``log_softmax`` of it), so both inputs are differentiated: the
gradient argument directly and the output through the forward op. The errors (dtypes, sizes,
the half-to-float case, integer kernels) are compared with PyTorch's in
tests/compat/test_gaps_session35_a.py.
"""

from __future__ import annotations

from .op_specs_core import OpSpec, bad_call, lib

__all__ = ["SPECS"]

X = (3, 4)


def _softmax_bwd(dim: int):
    def call(g, x):
        m = lib(x)
        return m._softmax_backward_data(g, m.softmax(x, dim), dim, x.dtype)

    return call


def _log_softmax_bwd(dim: int):
    def call(g, x):
        m = lib(x)
        return m._log_softmax_backward_data(g, m.log_softmax(x, dim), dim, x.dtype)

    return call


SPECS: list = [
    OpSpec(
        "_softmax_backward_data",
        _softmax_bwd(1),
        ((X, X), ((2, 3, 4), (2, 3, 4))),
        bad=(
            bad_call(
                "size_mismatch",
                lambda g, x: lib(x)._softmax_backward_data(g[:1], x.softmax(1), 1, x.dtype),
            ),
        ),
    ),
    OpSpec("_softmax_backward_data_dim0", _softmax_bwd(0), ((X, X),)),
    OpSpec("_log_softmax_backward_data", _log_softmax_bwd(-1), ((X, X), ((5,), (5,)))),
    OpSpec("_log_softmax_backward_data_dim0", _log_softmax_bwd(0), ((X, X),)),
]
