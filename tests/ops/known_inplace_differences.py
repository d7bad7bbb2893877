"""In-place-after-forward: where chainrule still differs from PyTorch, and why.

Read by tests/ops/test_inplace_after_forward.py, which asserts the table is exact (an op that
changes what it saves must update it). Keys are spec ids, then ``out<i>`` / ``in<i>``: the
tensor modified in place after forward.
Never a silently wrong gradient (the test asserts that); the two kinds are:

* TORCH_RAISES -- PyTorch saved the modified tensor and raises; chainrule's rule does not
  read it and its gradient equals the right one (a run on a clone). Not worth "fixing" by
  saving what backward does not read.
* CR_RAISES -- chainrule's rule reads the modified tensor (or a view of it) and raises a
  clear error where PyTorch, which saved something else, runs.
"""

from __future__ import annotations

__all__ = ["CR_RAISES", "KNOWN_DIFFERENCES", "TORCH_RAISES"]

TORCH_RAISES = "torch_raises_cr_right"
CR_RAISES = "cr_raises"
_R_W2 = (
    "wave-2 op composed of existing primitives (scatter_add, where, indexing, norms, "
    "matmul): they save only the index, masks, constants or their own arrays, where "
    "PyTorch's fused rule saves self, source or the result"
)


def _w2(*targets: str) -> dict:
    """TORCH_RAISES with the wave-2 reason for each of ``targets``."""
    return {t: (TORCH_RAISES, _R_W2) for t in targets}


# ---- PyTorch raises, chainrule gives the right gradient
R_COMBINATIONS = (
    "combinations: PyTorch saves the input of its indexing; chainrule's advanced indexing "
    "saves only the index tuples (a constant) and the input's shape"
)
R_GATHER = (
    "fractional max pooling: PyTorch saves the input; chainrule "
    "gathers at precomputed argmax indices and saves only those"
)
R_NORM_RESULT = (
    "norm: PyTorch saves the result (or the input); chainrule's rule reads "
    "only the other one of the two"
)
R_SHAPE_ONLY = (
    "PyTorch saves the input although its backward reads only the input's shape "
    "(gather/take_along_dim/nll_loss/avg pooling, adaptive avg pooling's "
    "constant bin matrices); chainrule keeps the shape"
)
R_LN_BIAS = "layer_norm: PyTorch saves the bias too; chainrule's rule never reads it"

# ---- chainrule raises where PyTorch runs
R_VIEW_REPLAY = (
    "the op returns a view of its input, whose base is modified after the view "
    "was taken: PyTorch replays the view's history, chainrule does not (no "
    "as_strided rebase) and refuses with a clear error"
)
R_KRON_UNSAFE_VIEW = (
    "kron: PyTorch's product saves _unsafe_view reshapes of the inputs, which escape its "
    "version check: it runs and returns a wrong gradient for the other input (the modified "
    "values are read); chainrule's saved reshape views share the inputs' version counters "
    "and it raises a clear error instead"
)
# ---- specs of tests/ops/op_specs_new_formats.py, op_specs_sparse.py, op_specs_complex.py
R_SPARSE_LINEAR = (
    "coalesce/to_sparse/values: PyTorch saves the sparse result whose values were modified; "
    "chainrule's rules are linear maps of the values with the pattern as a constant"
)
R_SPARSE_SOFTMAX = (
    "sparse softmax/log_softmax: PyTorch saves its sparse result, whose values() is the "
    "modified tensor; chainrule's rule reads its own saved array"
)
R_SPARSE_VALUES = (
    "the sparse tensor holds its values tensor itself and the product saves it: modifying "
    "the values after the product raises; PyTorch's sparse tensor aliases them without a "
    "version check and silently computes the gradient from the modified values (its "
    "x.grad is twice the right one after values.mul_(2))"
)
R_SPARSE_SAMPLED = (
    "sparse.sampled_addmm: PyTorch's node saves the CSR input and its result; chainrule's "
    "sampled product reads only mat1 and mat2 (the input's values enter by an add)"
)
R_SPARSE_CSR = (
    "CSR to_dense/sum/mul: PyTorch's CSR nodes save the values tensor and check its version; "
    "chainrule's rules are linear maps of the values (the pattern a constant), which read "
    "nothing the in-place change touches"
)
R_COMPLEX_SAVED = (
    "complex ops: PyTorch's complex() saves its inputs, and cholesky_solve "
    "save a complex input or result that chainrule's rules do not read; modifying the real "
    "tensor behind them (view_as_complex is a view in both) raises in PyTorch only"
)

R_NATIVE_ROOT = (
    "native_batch_norm (evaluation), batch_norm_stats and conv_tbc are composed of "
    "chainrule ops (x - constant, per-step matmuls) that save what their rules read; "
    "PyTorch's fused kernels save the input (and conv_tbc the bias)"
)

KNOWN_DIFFERENCES: dict = {
    # segment_reduce is composed from scatter_reduce(include_self=False) (one node saving
    # what PyTorch's ScatterReduceBackward0 saves) and ops after it; PyTorch's one node saves
    # its result too
    "segment_reduce_mean_offsets_axis1": _w2("out0"),
    "segment_reduce_max_initial": _w2("out0"),
    # (put / put_acc: one PutBackward0 node saving the source, as PyTorch's, session 47)
    "linalg_householder_product": {
        t: (
            TORCH_RAISES,
            "householder_product: PyTorch saves A and Q; chainrule composes "
            "matmuls and saves neither",
        )
        for t in ("in0", "out0")
    },
    "F_batch_norm_eval": {
        "in0": (
            TORCH_RAISES,
            "evaluation-mode batch norm with constant weight and bias: PyTorch's native "
            "batch norm saves the input; chainrule's per-channel affine pass saves only its "
            "scale (the derivative in x), as the composed form before it did",
        )
    },
    # session-33 root functions composed of ops that save constants, not the inputs
    "native_batch_norm_eval": {"in0": (TORCH_RAISES, R_NATIVE_ROOT)},
    "batch_norm_stats": {"in0": (TORCH_RAISES, R_NATIVE_ROOT)},
    "conv_tbc": {t: (TORCH_RAISES, R_NATIVE_ROOT) for t in ("in0", "in2")},
    "conv_tbc_crop": {t: (TORCH_RAISES, R_NATIVE_ROOT) for t in ("in0", "in2")},
    "F_fractional_max_pool2d": {"in0": (TORCH_RAISES, R_GATHER)},
    "F_fractional_max_pool2d_indices": {"in0": (TORCH_RAISES, R_GATHER)},
    "F_fractional_max_pool3d": {"in0": (TORCH_RAISES, R_GATHER)},
    "combinations": {"in0": (TORCH_RAISES, R_COMBINATIONS)},
    "combinations_replacement": {"in0": (TORCH_RAISES, R_COMBINATIONS)},
    "kron": {"in0": (CR_RAISES, R_KRON_UNSAFE_VIEW), "in1": (CR_RAISES, R_KRON_UNSAFE_VIEW)},
    "gather": {"in0": (TORCH_RAISES, R_SHAPE_ONLY)},
    "take_along_dim": {"in0": (TORCH_RAISES, R_SHAPE_ONLY)},
    "F_layer_norm": {"in2": (TORCH_RAISES, R_LN_BIAS)},
    "F_nll_loss_raw": {"in0": (TORCH_RAISES, R_SHAPE_ONLY)},
    # ---- wave 2 reductions: they keep only the selected indices (cummax/cummin), where
    # PyTorch's rules save self or the result
    "cummax": _w2("in0"),
    "cummin": _w2("in0"),
    # ---- wave 2 indexing/shapes/linalg ops (composed of existing primitives)
    # ---- embedding_bag with per_sample_weights: PyTorch's kernel saves the weight (and the
    # per-sample weights) for their gradients; chainrule's composition multiplies the gathered
    # rows, its own copy, and, where padding is left out, a gathered copy of the weights
    # ---- the raw top-level functions (ops/raw_functional.py)
    # torch.gru_cell/gru on the CPU are compositions whose ops do not save b_hh;
    # chainrule's GRU step (the nn.GRU op) saves b_hh itself, so changing it raises
    "raw_gru_cell": {"in5": (CR_RAISES, "the fused GRU step saves b_hh")},
    **{
        name: {t: (CR_RAISES, "the fused GRU step saves b_hh") for t in ("in5", "in9")}
        for name in ("raw_gru_l2", "raw_gru_l1_bi_packed")
    },
    # orgqr/ormqr are compositions of Householder rank-1 updates (matmuls on slices and
    # copies), which save their own arrays; PyTorch's fused rules save the input and result
    **{
        name: {t: (TORCH_RAISES, _R_W2) for t in ("in0", "out0")}
        for name in ("orgqr", "ormqr", "ormqr_T", "ormqr_right", "ormqr_right_T")
    },
    **{
        name: {"out0": (TORCH_RAISES, R_SPARSE_LINEAR)}
        for name in ("sparse_coalesce_values", "to_sparse_values")
    },
    **{
        name: {"out0": (TORCH_RAISES, R_SPARSE_SOFTMAX)}
        for name in ("sparse_softmax_dim0_values", "sparse_log_softmax")
    },
    "sparse_sampled_addmm": {t: (TORCH_RAISES, R_SPARSE_SAMPLED) for t in ("in0", "out0")},
    **{
        name: {"in0": (CR_RAISES, R_SPARSE_VALUES)}
        for name in (
            "sparse_mul_dense",
            "sparse_dense_mul_broadcast",
            "sparse_mm",
            "spmm_sparse_coo",
            "sparse_matmul_vector",
            "sparse_matmul_dense_first",
            "sparse_t_matmul",
        )
    },
    "sparse_addmm": {"in1": (CR_RAISES, R_SPARSE_VALUES)},
    **{
        name: {"in0": (TORCH_RAISES, R_SPARSE_CSR)}
        for name in ("sparse_csr_to_dense", "sparse_csr_mul_dense", "sparse_csr_sum")
    },
    "to_sparse_csr_values": {"out0": (TORCH_RAISES, R_SPARSE_LINEAR)},
    **{
        name: {t: (TORCH_RAISES, R_COMPLEX_SAVED) for t in targets}
        for name, targets in (("complex_view_as_real", ("in0", "in1")),)
    },
}
