"""Where chainrule's answer to a bad input still differs from PyTorch's, and why.

Read by tests/ops/test_bad_inputs.py, which asserts that this table is exact: a case that now
matches PyTorch fails until its line is deleted. Keys are ``(spec id, bad-input label)``;
values ``(outcome, reason)`` where outcome is one of ``type:<torch>-><chainrule>`` (both
raise, with incompatible exception classes), ``unnamed`` (chainrule's message does not name
the op), ``only_torch_raises``, ``only_cr_raises`` or ``value_differs``.
"""

from __future__ import annotations

__all__ = ["KNOWN"]

R_HYPOT_SCALAR = (
    "torch.hypot takes no Python scalar, so the spec's torch side casts 2.0 to the input's "
    "dtype: for int64 PyTorch sees two integer tensors and raises, while chainrule's "
    "hypot(int_tensor, 2.0) promotes to float as torch.hypot(int_tensor, tensor(2.0)) does"
)
R_LOSS_SAME_SHAPE = (
    "chainrule's pointwise losses require input and target of the same shape (a deliberate "
    "guard: broadcasting them is almost always a bug); PyTorch broadcasts with a UserWarning"
)
R_SPEC_COMPOSES = (
    "the spec's callable applies another op before the op under test (a constant mask, "
    "_spd's a @ a.mT, log_softmax, x @ w + b); that op's own clear error comes first"
)
R_NN_RANK = (
    "batch_norm of a 1-d input: PyTorch fails on indexing dim 1 (IndexError), chainrule says "
    "it needs (N, C, ...) (ShapeError: ValueError and RuntimeError)"
)

KNOWN: dict = {
    ("F_kl_div", "int64"): ("unnamed", R_SPEC_COMPOSES),
    ("F_nll_loss", "int64"): ("unnamed", R_SPEC_COMPOSES),
    ("hypot_scalar", "int64"): ("only_torch_raises", R_HYPOT_SCALAR),
    ("F_huber_loss", "rank_minus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_huber_loss", "rank_plus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_kl_div", "rank_plus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_l1_loss", "rank_minus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_l1_loss", "rank_plus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_mse_loss", "rank_minus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_mse_loss", "rank_plus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_smooth_l1_loss", "rank_minus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_smooth_l1_loss", "rank_plus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_kl_div", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("F_nll_loss", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("cumprod_zeros", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_cholesky", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_cholesky", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_cholesky_upper", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_cholesky_upper", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_eigh", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_eigh", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_eigvalsh", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("linalg_eigvalsh", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("mlp_chain", "mismatch"): ("unnamed", R_SPEC_COMPOSES),
    ("mlp_chain", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
    ("nan_to_num_inf", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("prod_all_with_zero", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("prod_with_zeros", "empty"): ("unnamed", R_SPEC_COMPOSES),
    ("F_batch_norm_plain", "rank_minus_1"): ("type:IndexError->ShapeError", R_NN_RANK),
    ("F_kl_div_positive", "rank_minus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
    ("F_kl_div_positive", "rank_plus_1"): ("only_cr_raises", R_LOSS_SAME_SHAPE),
}
