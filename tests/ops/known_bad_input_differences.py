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

R_CSR_DIMS_WORDS = (
    "sparse_csr_tensor's dimensionality checks (values of the wrong rank for the indices, "
    "batched and hybrid layouts) raise PyTorch's RuntimeError word for word, which names no "
    "op ('values must have dimensionality > sum of batch and block dimensionalities ...'): "
    "kept so, as tests/sparse/test_sparse_batched_session36.py compares the messages"
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

R_TORCH_SHAPE_WORDS = (
    "reshape/view/expand/broadcast_to's size errors and mm/outer's rank errors are PyTorch's "
    "text word for word (session 39: \"shape '[2, 1]' is invalid for input of size 12\", "
    '"mat2 must be a matrix", "The expanded size of the tensor (1) must match ..."), '
    "which names no op (outer's, through ger, names outer): "
    "tests/test_argument_types_session39_b.py compares the messages with torch's"
)

R_TORCH_REDUCTION_WORDS = (
    "PyTorch's own text ('x is not a valid value for reduction', from _Reduction.get_enum; "
    "'x is not valid' for multilabel_soft_margin_loss), which names no op"
)

R_TORCH_WORDS_41 = (
    "PyTorch's own text, word for word (session 41): F.interpolate's size / scale_factor / "
    "rank errors ('Input and output must have the same number of spatial dimensions...', "
    "'Got 3D input, but bilinear mode needs 4D input'), the convolutions' channel and "
    "padding errors ('Given groups=1, weight of size [...]', 'Invalid padding string'), "
    "gather/scatter's 'Index tensor must have the same number of dimensions as ... tensor'; "
    "none names the op: tests/test_argument_types_session41.py compares them with torch's"
)

KNOWN: dict = {
    ("F_gaussian_nll_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("F_poisson_nll_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("F_triplet_margin_with_distance_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("gather", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_add", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_sum", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_sum_noself", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_mean", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_mean_noself", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_mean_noself", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_amax", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_amin_noself", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_prod", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("scatter_reduce_prod_noself", "rank_plus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bilinear", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d", "bad_padding_string"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d", "same_strided"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d", "groups_mismatch"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d", "negative_padding"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d", "zero_stride"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d_unbatched", "empty"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv_transpose3d", "groups_mismatch"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv3d_unbatched_grouped", "empty"): ("unnamed", R_TORCH_WORDS_41),
    ("F_conv_transpose3d_unbatched", "empty"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_area_shrink", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_area_shrink", "align_corners"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_area_grow", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_area_3d", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_area_frac", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bicubic", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bicubic_aa_shrink", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bicubic_aa_grow", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bilinear_aa_shrink", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bilinear_aa_align", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_bilinear_align", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_trilinear", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest_exact", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest_exact", "size_and_scale"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest_exact", "wrong_size_len"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest_repeat", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest_3d", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("F_interpolate_nearest_exact_3d", "rank_minus_1"): ("unnamed", R_TORCH_WORDS_41),
    ("sparse_csr_mul_dense", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_add_scale", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_add_scale", "rank_plus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_asinh_values", "rank_plus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_sampled_addmm", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_sampled_addmm", "rank_plus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_to_dense", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_mm", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_mm", "rank_plus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_matmul_vector", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_matmul_vector", "rank_plus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_mv", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_mv", "rank_plus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("sparse_csr_dense_first", "rank_minus_1"): ("unnamed", R_CSR_DIMS_WORDS),
    ("masked_norm_neginf", "int64"): ("type:AssertionError->RuntimeError", R_MASKED_NORM_ASSERT),
    ("sparse_csr_add_scale", "int64"): ("only_torch_raises", R_CSR_INT_SCALE),
    ("mlp_chain", "mismatch"): ("unnamed", R_SPEC_COMPOSES),
    ("segment_reduce_mean_offsets_axis1", "empty"): ("only_cr_raises", R_SEGMENT_OFFSETS),
    ("segment_reduce_mean_offsets_axis1", "rank_plus_1"): ("only_cr_raises", R_SEGMENT_OFFSETS),
    ("mlp_chain", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
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
    ("mm", "rank_minus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("mm", "rank_plus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("ger", "rank_minus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("ger", "rank_plus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("reshape", "rank_minus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("reshape", "bad_size"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("view", "rank_minus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("view", "empty"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("view", "rank_plus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("broadcast_to", "empty"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("reshape_as", "rank_minus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("reshape_as", "empty"): ("unnamed", R_TORCH_SHAPE_WORDS),
    ("reshape_as", "rank_plus_1"): ("unnamed", R_TORCH_SHAPE_WORDS),
    # session 40: a bad ``reduction`` raises PyTorch's text word for word, naming no op
    ("F_ctc_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("F_soft_margin_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("F_multilabel_soft_margin_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("F_hinge_embedding_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
    ("F_multilabel_margin_loss", "bad_reduction"): ("unnamed", R_TORCH_REDUCTION_WORDS),
}
