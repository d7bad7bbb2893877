"""Where chainrule's answer to a bad input still differs from PyTorch's, and why.

Read by tests/ops/test_bad_inputs.py, which asserts that this table is exact: a case that now
matches PyTorch fails until its line is deleted. Keys are ``(spec id, bad-input label)``;
values ``(outcome, reason)`` where outcome is one of ``type:<torch>-><chainrule>`` (both
raise, with incompatible exception classes), ``unnamed`` (chainrule's message does not name
the op), ``only_torch_raises``, ``only_cr_raises`` or ``value_differs``.
"""

from __future__ import annotations

__all__ = ["KNOWN"]

R_SPEC_COMPOSES = (
    "mlp_chain is a chain of ops, (x @ w + b).tanh().sum(1).sigmoid(): a bad input is "
    "refused by the op of the chain that meets it (add, sum), whose clear error names that "
    "op, not the chain, as in PyTorch"
)

R_RAW_RNN_RANK = (
    "torch.lstm/rnn_tanh/rnn_relu do not check the input rank: a 2-d input is read as T steps "
    "of one vector broadcast over the batch; chainrule raises (RankError) naming the op"
)
R_RAW_TANH_INT = (
    "torch.rnn_tanh_cell on integer tensors returns a float32 tanh of an integer recurrence; "
    "chainrule refuses integer tensors for the tanh/sigmoid cells"
)

# ---- specs of tests/ops/op_specs_new_formats.py, op_specs_sparse.py, op_specs_complex.py
R_NEAREST_INT = (
    "interpolate nearest/nearest-exact of an int64 4-d input: PyTorch 2.13's CPU kernel is "
    "not implemented for Long and raises; chainrule gathers integers like any dtype"
)
R_SPARSE_MM_RANK = (
    "sparse.mm of a 1-d sparse tensor: PyTorch raises IndexError (dimension out of range); "
    "chainrule a RuntimeError naming spmm and the 2-d requirement"
)
R_SPARSE_ADDMM_INT = (
    "CHAINRULE: sparse.addmm of int64 operands with beta=0.5, alpha=2.0 returns float32 "
    "(6.5, ...); PyTorch keeps int64 (6, ...)"
)
R_SPARSE_SOFTMAX_INT = (
    "sparse.softmax/log_softmax of int64 values: PyTorch raises NotImplementedError "
    "('not implemented for Long'); chainrule a RuntimeError naming the op"
)
R_COMPLEX_SHAPES = (
    "CHAINRULE: complex(a, b) with shapes that do not broadcast raises NumPy's ValueError "
    "('shape mismatch: objects cannot be broadcast ...'), naming no op; PyTorch a RuntimeError"
)
R_POLAR_INT = (
    "CHAINRULE: polar accepts int64 abs and angle (its composition promotes them to float); "
    "PyTorch raises"
)
R_POLAR_SHAPES = (
    "polar is composed as complex(abs * cos(angle), abs * sin(angle)): a shape mismatch is "
    "refused by mul, whose error names mul, not polar"
)
R_VIEW_AS_COMPLEX = (
    "view_as_complex of a last dimension other than 2: chainrule's message is PyTorch's "
    "verbatim ('Tensor must have a last dimension of size 2'), which names no op"
)

KNOWN: dict = {
    ("mlp_chain", "mismatch"): ("unnamed", R_SPEC_COMPOSES),
    ("mlp_chain", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("raw_rnn_tanh_cell", "int64"): ("only_cr_raises", R_RAW_TANH_INT),
    ("raw_rnn_tanh_cell_nobias", "int64"): ("only_cr_raises", R_RAW_TANH_INT),
    ("raw_lstm_l2", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_rnn_tanh_l2", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_rnn_relu_l2", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_lstm_l1_bi_bf", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_lstm_l2_nobias_proj1", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_rnn_tanh_l1_bi_bf", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("F_interpolate_nearest", "int64"): ("only_torch_raises", R_NEAREST_INT),
    ("F_interpolate_nearest_exact", "int64"): ("only_torch_raises", R_NEAREST_INT),
    ("sparse_mm_to_sparse", "rank_minus_1"): ("type:IndexError->RuntimeError", R_SPARSE_MM_RANK),
    ("sparse_addmm", "int64"): ("value_differs", R_SPARSE_ADDMM_INT),
    **{
        (name, "int64"): ("type:NotImplementedError->RuntimeError", R_SPARSE_SOFTMAX_INT)
        for name in ("sparse_softmax", "sparse_softmax_dim0_values", "sparse_log_softmax")
    },
    ("complex_view_as_real", "empty"): ("type:RuntimeError->ValueError", R_COMPLEX_SHAPES),
    ("complex_view_as_real", "mismatch"): ("type:RuntimeError->ValueError", R_COMPLEX_SHAPES),
    ("complex_polar", "int64"): ("only_torch_raises", R_POLAR_INT),
    ("complex_polar", "empty"): ("unnamed", R_POLAR_SHAPES),
    ("complex_polar", "mismatch"): ("unnamed", R_POLAR_SHAPES),
    ("complex_F_linear", "mismatch"): ("unnamed", R_VIEW_AS_COMPLEX),
    ("complex_F_linear_abs", "mismatch"): ("unnamed", R_VIEW_AS_COMPLEX),
}
