"""Op specs for ``ops/softmax_backward_data.py`` (``torch._softmax_backward_data`` and
``torch._log_softmax_backward_data``, added for Hugging Face DeBERTa's ``XSoftmax``), to be
appended to the central table in tests/ops/op_specs.py. The saved ``output`` is made from the
second input (``softmax`` of it), so both inputs are differentiated: the gradient argument
directly and the output through the forward op. The errors (dtypes, sizes, the half-to-float
case, integer kernels) are compared with PyTorch's in tests/compat/test_gaps_session35_a.py.

``_log_softmax_backward_data`` has no spec here: PyTorch 2.13 does not check that
``grad_output`` and ``output`` have one size (a smaller output is read past its end, and an
empty one along ``dim`` kills the process with SIGFPE), so the table's systematic bad inputs
(which change the first input's shape) would compare against undefined behaviour. chainrule
raises PyTorch's softmax size error there; the gap tests check its values, gradients and
double backward against PyTorch.
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
    OpSpec("_softmax_backward_data_1d", _softmax_bwd(-1), (((5,), (5,)),)),
]
