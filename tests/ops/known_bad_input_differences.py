"""Where chainrule's answer to a bad input still differs from PyTorch's, and why.

Read by tests/ops/test_bad_inputs.py, which asserts that this table is exact: a case that now
matches PyTorch fails until its line is deleted. Keys are ``(spec id, bad-input label)``;
values ``(outcome, reason)`` where outcome is one of ``type:<torch>-><chainrule>`` (both
raise, with incompatible exception classes), ``unnamed`` (chainrule's message does not name
the op, nor starts with PyTorch's own first line: CONTRIBUTING.md, "Error messages"),
``only_torch_raises``, ``only_cr_raises`` or ``value_differs``.
"""

from __future__ import annotations

__all__ = ["KNOWN"]

R_RAW_RNN_RANK = (
    "torch.lstm/rnn_tanh/rnn_relu do not check the input rank: a 2-d input is read as T steps "
    "of one vector broadcast over the batch; chainrule raises (RankError) naming the op"
)
R_RAW_TANH_INT = (
    "torch.rnn_tanh_cell on integer tensors returns a float32 tanh of an integer recurrence; "
    "chainrule refuses integer tensors for the tanh/sigmoid cells"
)

R_WEIGHT_NORM_G = (
    "torch._weight_norm's fused kernel aborts the process when g does not fit v (the spec "
    "compares with its composite v * (g / norm_except_dim(v, 2, dim)), which broadcasts a "
    "v one rank short against g); chainrule raises naming the op and the g shape it expects"
)

R_SEGMENT_OFFSETS = (
    "torch.segment_reduce does not check offsets against the data (offsets past the end "
    "read memory outside it, leading dims that do not match read the wrong rows); "
    "chainrule raises naming the op"
)

R_CSR_INT_SCALE = (
    "2.0 * an int64 CSR matrix: PyTorch's CSR mul raises 'expected scalar type Float but "
    "found Long'; chainrule scales the values as for a dense or COO tensor (a float result)"
)

R_NATIVE_BN_SIZES = (
    "torch.native_batch_norm does not check weight, bias or the running statistics against "
    "the input's channels (it reads past their end or ignores the rest); chainrule raises "
    "naming the op and the size it expects"
)
R_SYNC_BN_CUDA = (
    "torch.batch_norm_stats/batch_norm_elemt are CUDA-only kernels: the spec compares with "
    "the same formula in PyTorch ops, which accepts what the kernel refuses (an empty input, "
    "integer tensors); chainrule raises naming the op, as the kernel's checks"
)

R_MASKED_NORM_ASSERT = (
    "torch.masked.norm(ord=-inf) of an integer tensor fails an internal `assert` of "
    "torch/masked (AssertionError: input must be floating point); chainrule raises the "
    "RuntimeError torch.masked.norm gives for the other orders, naming the op"
)


KNOWN: dict = {
    ("masked_norm_neginf", "int64"): ("type:AssertionError->RuntimeError", R_MASKED_NORM_ASSERT),
    ("sparse_csr_add_scale", "int64"): ("only_torch_raises", R_CSR_INT_SCALE),
    ("segment_reduce_mean_offsets_axis1", "empty"): ("only_cr_raises", R_SEGMENT_OFFSETS),
    ("segment_reduce_mean_offsets_axis1", "rank_plus_1"): ("only_cr_raises", R_SEGMENT_OFFSETS),
    ("raw_rnn_tanh_cell", "int64"): ("only_cr_raises", R_RAW_TANH_INT),
    ("raw_weight_norm_d0", "rank_minus_1"): ("only_cr_raises", R_WEIGHT_NORM_G),
    ("raw_weight_norm_d1", "rank_minus_1"): ("only_cr_raises", R_WEIGHT_NORM_G),
    ("raw_weight_norm_d-2", "rank_minus_1"): ("only_cr_raises", R_WEIGHT_NORM_G),
    ("raw_rnn_tanh_cell_nobias", "int64"): ("only_cr_raises", R_RAW_TANH_INT),
    ("raw_lstm_l2", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_rnn_tanh_l2", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_rnn_relu_l2", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_lstm_l1_bi_bf", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_lstm_l2_nobias_proj1", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("raw_rnn_tanh_l1_bi_bf", "rank_minus_1"): ("only_cr_raises", R_RAW_RNN_RANK),
    ("native_batch_norm_train", "rank_minus_1"): ("only_cr_raises", R_NATIVE_BN_SIZES),
    ("native_batch_norm_train", "rank_plus_1"): ("only_cr_raises", R_NATIVE_BN_SIZES),
    ("native_batch_norm_train", "mismatch"): ("only_cr_raises", R_NATIVE_BN_SIZES),
    ("native_batch_norm_eval", "rank_minus_1"): ("only_cr_raises", R_NATIVE_BN_SIZES),
    ("native_batch_norm_eval", "rank_plus_1"): ("only_cr_raises", R_NATIVE_BN_SIZES),
    ("native_batch_norm_eval", "mismatch"): ("only_cr_raises", R_NATIVE_BN_SIZES),
    ("batch_norm_stats", "empty"): ("only_cr_raises", R_SYNC_BN_CUDA),
    ("batch_norm_elemt", "int64"): ("only_cr_raises", R_SYNC_BN_CUDA),
}
