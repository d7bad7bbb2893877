"""Gaps closed in session 33 (helper o, drop-in round 16), each checked against PyTorch.

The programs written this round (``karpathy_micrograd_bigram``, ``d2l_weight_decay_dropout``,
``accelerate_warmup_accum_bf16``, ``youtube_dnn_retrieval``) ran unchanged; probing the APIs
around them (CPU bfloat16 autocast, the data utilities) found these differences from PyTorch:

- ``torch.inner`` of two 1-d tensors, ``torch.vdot`` and a ``torch.tensordot`` that contracts
  every dim (a dot product: one row times one column) ran in bfloat16; PyTorch leaves them in
  float32 (``ops/products.py``, ``ops/linalg.py``);
- ``torch.conv_tbc`` ran in float32; it is on PyTorch's lower-precision list (bfloat16 out,
  mixed float32/bfloat16 arguments accepted) (``nn/native_functions.py``);
- ``torch.convolution`` was cast to bfloat16; it is on none of PyTorch's lists (float32 in,
  float32 out) (``ops/raw_conv_sampling.py``);
- ``F.margin_ranking_loss`` of bfloat16 arguments returned bfloat16; it is on the float32 list
  (``nn/functional/distance.py``);
- ``F.affine_grid`` returned float32; PyTorch builds the grid with a batched matmul, which
  autocast casts (bfloat16 out) (``nn/functional/vision.py``);
- ``torch.linalg.pinv`` (also ``hermitian=True``) returned float32; PyTorch's ends in a cast
  matmul (bfloat16 out), while ``torch.pinverse`` stays float32 (``linalg/pseudo_inverse.py``);
- ``nn.RNNCell`` returned float32; PyTorch's runs ``rnn_tanh_cell`` / ``rnn_relu_cell``, which
  autocast casts (bfloat16 out, float32 gradients for the float32 parameters)
  (``nn/layers/rnn_cells.py``);
- ``F.max_unpool1d`` (and ``nn.MaxUnpool1d``) of bfloat16 returned bfloat16; it is on the
  float32 list with the 2-d and 3-d forms (``nn/functional/pooling_extra.py``);
- ``torch.linalg.lu_solve`` under autocast cast its inner products to bfloat16 and then
  refused the triangular solve; PyTorch runs one uncast kernel
  (float32 out) (``linalg/lu.py``);
- ``TensorDataset`` refused mismatched first dims and 0-d tensors with a plain ValueError;
  PyTorch raises AssertionError / IndexError, which the errors now also are
  (``utils/data/dataset.py``).

Left as documented differences (``amp/autocast_mode.py``): ``nn.RNN`` / ``nn.LSTM`` return
bfloat16 in PyTorch's oneDNN path (float32 for a packed input, or for ``c_n`` with
``proj_size``), float32 here.
"""

from __future__ import annotations

from typing import Any

import pytest

import chainrule

torch = pytest.importorskip("torch")

CASES = {
    "inner_1d": lambda t, o: t.inner(o(3), o(3)),
    "inner_empty": lambda t, o: t.inner(o(0), o(0)),
    "inner_2d_1d": lambda t, o: t.inner(o(2, 3), o(3)),
    "inner_0d": lambda t, o: t.inner(o(()), o(3)),
    "vdot": lambda t, o: t.vdot(o(3), o(3)),
    "dot": lambda t, o: t.dot(o(3), o(3)),
    "tensordot_full_1d": lambda t, o: t.tensordot(o(3), o(3), dims=1),
    "tensordot_full_2d": lambda t, o: t.tensordot(o(2, 3), o(2, 3), dims=2),
    "tensordot_row_col": lambda t, o: t.tensordot(o(1, 3), o(3, 1), dims=1),
    "tensordot_1d_col": lambda t, o: t.tensordot(o(3), o(3, 1), dims=1),
    "tensordot_outer_1": lambda t, o: t.tensordot(o(1), o(1), dims=0),
    "tensordot_outer": lambda t, o: t.tensordot(o(2), o(3), dims=0),
    "tensordot_mv": lambda t, o: t.tensordot(o(2, 3), o(3), dims=1),
    "tensordot_mm": lambda t, o: t.tensordot(o(2, 3), o(3, 2), dims=([1], [0])),
    "conv_tbc": lambda t, o: t.conv_tbc(o(4, 2, 3), o(2, 3, 2), o(2)),
    "conv_tbc_pad": lambda t, o: t.conv_tbc(o(4, 2, 3), o(2, 3, 2), o(2), 1),
    "conv_tbc_mixed": lambda t, o: t.conv_tbc(o(4, 2, 3).bfloat16(), o(2, 3, 2), o(2)),
    "convolution": lambda t, o: t.convolution(
        o(1, 2, 4), o(2, 2, 2), None, [1], [0], [1], False, [0], 1
    ),
    "convolution_transposed": lambda t, o: t.convolution(
        o(1, 2, 4), o(2, 2, 2), o(2), [1], [0], [1], True, [0], 1
    ),
    "margin_ranking_bf16": lambda t, o: t.nn.functional.margin_ranking_loss(
        o(3).bfloat16(), o(3).bfloat16(), o(3).bfloat16()
    ),
    "margin_ranking_mixed": lambda t, o: t.nn.functional.margin_ranking_loss(
        o(3).bfloat16(), o(3), o(3), margin=0.25, reduction="none"
    ),
    "affine_grid_2d": lambda t, o: t.nn.functional.affine_grid(
        o(1, 2, 3), [1, 1, 2, 2], align_corners=False
    ),
    "affine_grid_3d": lambda t, o: t.nn.functional.affine_grid(
        o(1, 3, 4), [1, 1, 2, 2, 2], align_corners=True
    ),
    "affine_grid_large": lambda t, o: t.nn.functional.affine_grid(
        o(2, 2, 3), [2, 1, 16, 16], align_corners=False
    ),
    "pinv": lambda t, o: t.linalg.pinv(t.tensor([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])),
    "pinv_hermitian": lambda t, o: t.linalg.pinv(
        t.tensor([[2.0, 1.0], [1.0, 3.0]]), hermitian=True
    ),
    "pinverse": lambda t, o: t.pinverse(t.tensor([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])),
    "pinv_float64": lambda t, o: t.linalg.pinv(t.eye(2, dtype=t.float64) * 2),
    "max_unpool1d_bf16": lambda t, o: t.nn.functional.max_unpool1d(
        *t.nn.functional.max_pool1d(o(1, 1, 4).bfloat16(), 2, return_indices=True), 2
    ),
    "MaxUnpool1d_bf16": lambda t, o: t.nn.MaxUnpool1d(2)(
        *t.nn.functional.max_pool1d(o(1, 2, 4).bfloat16(), 2, return_indices=True)
    ),
    "lu_solve": lambda t, o: t.linalg.lu_solve(
        *t.linalg.lu_factor(t.tensor([[4.0, 1.0], [1.0, 3.0]])), t.tensor([[1.0], [2.0]])
    ),
    "lu_solve_adjoint": lambda t, o: t.linalg.lu_solve(
        *t.linalg.lu_factor(t.tensor([[4.0, 1.0], [2.0, 3.0]])),
        t.tensor([[1.0], [2.0]]),
        adjoint=True,
    ),
    "lu_solve_right": lambda t, o: t.linalg.lu_solve(
        *t.linalg.lu_factor(t.tensor([[4.0, 1.0], [2.0, 3.0]])), t.tensor([[1.0, 2.0]]), left=False
    ),
    "convolution_2d": lambda t, o: t.convolution(
        o(1, 2, 3, 3), o(2, 2, 2, 2), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1
    ),
}


def _under_autocast(t: Any, case: str) -> tuple[Any, list[float]]:
    with t.autocast("cpu", dtype=t.bfloat16):
        out = CASES[case](t, lambda *s: t.ones(*s) * 0.5 if s != ((),) else t.tensor(0.5))
    return str(out.dtype).rsplit(".", 1)[-1], out.float().flatten().tolist()


@pytest.mark.parametrize("case", sorted(CASES))
def test_cpu_autocast_dtype_matches_torch(case: str) -> None:
    want_dtype, want = _under_autocast(torch, case)
    got_dtype, got = _under_autocast(chainrule, case)
    assert got_dtype == want_dtype
    assert got == pytest.approx(want, rel=1e-2, abs=4e-3)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batched", [True, False])
def test_rnn_cell_under_autocast_matches_torch(nonlinearity: str, batched: bool) -> None:
    results = []
    for t in (torch, chainrule):
        m = t.nn.RNNCell(3, 2, nonlinearity=nonlinearity)
        with t.no_grad():
            m.weight_ih.copy_(t.tensor([[0.1, 0.2, 0.3], [-0.3, 0.2, 0.1]]))
            m.weight_hh.copy_(t.tensor([[0.5, 0.1], [0.2, -0.4]]))
            m.bias_ih.fill_(0.1)
            m.bias_hh.fill_(-0.05)
        x = t.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]] if batched else [1.0, 2.0, 3.0])
        x.requires_grad_()
        with t.autocast("cpu", dtype=t.bfloat16):
            h = m(x)
            h2 = m(x, h.float())
        h2.float().sum().backward()
        grads = [x.grad, m.weight_ih.grad, m.weight_hh.grad, m.bias_hh.grad]
        results.append(
            (
                str(h.dtype)[-8:],
                tuple(h2.shape),
                [str(g.dtype)[-7:] for g in grads],
                h2.float().flatten().tolist() + [v for g in grads for v in g.flatten().tolist()],
            )
        )
    (t_dtype, t_shape, t_grads, t_vals), (c_dtype, c_shape, c_grads, c_vals) = results
    assert (c_dtype, c_shape, c_grads) == (t_dtype, t_shape, t_grads)
    assert c_vals == pytest.approx(t_vals, rel=2e-2, abs=1e-2)


def test_conv_tbc_autocast_backward_reaches_float32_weights() -> None:
    """The casts are differentiable: float32 leaves get float32 gradients, as in PyTorch."""
    grads = []
    for t in (torch, chainrule):
        x = t.ones(4, 2, 3, requires_grad=True)
        w = t.full((2, 3, 2), 0.25, requires_grad=True)
        b = t.zeros(2, requires_grad=True)
        with t.autocast("cpu", dtype=t.bfloat16):
            out = t.conv_tbc(x, w, b, 1)
        out.float().sum().backward()
        grads.append([(str(p.grad.dtype)[-7:], p.grad.sum().item()) for p in (x, w, b)])
    assert grads[1] == grads[0]


def test_convolution_mixed_dtypes_still_refused_under_autocast() -> None:
    """``torch.convolution`` is not cast, so mixed dtypes stay an error in both."""
    for t in (torch, chainrule):
        with t.autocast("cpu", dtype=t.bfloat16), pytest.raises(RuntimeError):
            t.convolution(
                t.ones(1, 2, 4).bfloat16(), t.ones(2, 2, 2), None, [1], [0], [1], False, [0], 1
            )


@pytest.mark.parametrize(
    "shapes",
    [[(2,), (3,)], [(2, 1), (2,), (4, 2)], [(2,), ()], [()]],
    ids=["mismatch", "mismatch3", "zero_dim_second", "zero_dim"],
)
def test_tensor_dataset_refusals_are_torch_error_types(shapes: list) -> None:
    """``TensorDataset`` refuses mismatched first dims with PyTorch's AssertionError and a 0-d
    tensor with its IndexError (still ValueErrors, as chainrule raised before)."""
    caught = []
    for t in (torch, chainrule):
        with pytest.raises((AssertionError, IndexError)) as info:
            t.utils.data.TensorDataset(*[t.ones(s) for s in shapes])
        caught.append(info.value)
    want, got = caught
    assert isinstance(got, type(want).__mro__[0])
    assert isinstance(got, ValueError)
