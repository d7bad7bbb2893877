"""Session 43: bad arguments answered with PyTorch's exception type and first line, word for
word (CONTRIBUTING.md, "Error messages"), compared with torch live.

- the "Dimension out of range" sites that spelled the text inline now call
  ``ops._util.dim_range_error`` (or ``no_dims_error``, torch's "Dimension specified as -3 but
  tensor has no dimensions"), and say what torch says where that differed: sparse
  transposes and sums, batch_norm_update_stats, avg_pool2d, unflatten of a 0-d tensor,
  F.batch_norm, linalg.vecdot of 0-d tensors, torch.masked (no suffix after torch's words);
- session 42's leftovers: the methods PyTorch writes in Python (``Tensor.norm() got an
  unexpected keyword argument 'out'``), ``sum_to_size``, einsum sublists, LambdaLR given no
  optimizer, ``[1] + size``, a zero conv dilation, the broadcast error of two operands;
- the argument sweep's new families (``tools/argument_sweep.py``): the calls torch refuses
  that chainrule accepted (svd's full_matrices, pad_sequence, DataLoader's drop_last,
  clip_grad_norm_, nested_tensor's dtype, matrix_power, multinomial).
"""

from __future__ import annotations

import operator
import sys
import warnings
from pathlib import Path

import pytest
import torch

import chainrule as cr
from chainrule.ops import _util, conv_arguments

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from argument_sweep import CALLS, all_calls, compare  # noqa: E402 - the tool, beside the tests

# each evaluated with L the library, x = L.arange(12.0).reshape(3, 4), F its nn.functional
SAME_AS_TORCH = [
    # dims out of range, PyTorch's words whatever the op
    "x.to_sparse_csr().sum(dim=5, keepdim=True)",
    "x.to_sparse().transpose(0, 5)",
    "x.to_sparse_csr().transpose(0, 3)",
    "x.to_sparse().index_select(5, L.tensor([0]))",
    "L.cat([x.to_sparse(), x.to_sparse()], 5)",
    "L.ones(3).to_sparse_bsr((1, 1))",
    "L.batch_norm_update_stats(L.ones(3), None, None, 0.1)",
    "L.batch_norm_update_stats(L.tensor(1.0), None, None, 0.1)",
    "F.avg_pool2d(L.ones(4), 2)",
    "F.avg_pool2d(L.tensor(1.0), 2)",
    "L.tensor(1.0).unflatten(0, (1,))",
    "L.tensor(1.0).unflatten(-1, (1,))",
    "L.tensor(1.0).unflatten(1, (1,))",
    "L.native_batch_norm(L.ones(3), None, None, None, None, True, 0.1, 1e-5)",
    "L.linalg.vecdot(x, x, dim=5)",
    "L.linalg.vecdot(L.tensor(1.0), L.tensor(2.0), dim=1)",
    "L.cat([L.quantize_per_tensor(x, 0.1, 0, L.quint8)] * 2, 5)",
    "L.masked.softmax(x, 5)",
    "L.masked.log_softmax(L.tensor(1.0), 1)",
    "L.masked.sum(x, (0, 5))",
    "L.masked.cumsum(x, -3)",
    "L.masked.norm(x, 2.0, 5)",
    "L.nested.nested_tensor([x, x[:2]], layout=L.jagged).unsqueeze(5)",
    "L.nested.nested_tensor([x, x[:2]], layout=L.jagged).size(-4)",
    # methods PyTorch writes in Python: Python's own TypeError names Tensor.<name>
    "x.norm(out=x)",
    "x.norm(2, 1, out=x[0])",
    "x.unique(out=x)",
    "x.unique_consecutive(out=x)",
    "x.split(2, out=x)",
    "x.stft(4, out=x)",
    "x.istft(4, out=x)",
    "x.unflatten(0, (3, 1), x)",
    "x.symeig(out=x)",
    "x.storage(out=x)",
    "x.backward(out=x)",
    "x.resize_as(x, out=x)",
    "x.dim_order(out=x)",
    "L.split(x, 2, out=x)",
    "L.stft(x, 4, out=x)",
    # sum_to_size
    "x.sum_to_size(2)",
    "x.sum_to_size((1, 4, 4))",
    "x.sum_to_size('a')",
    "x.sum_to_size(1.5)",
    "x.sum_to_size((1.5,))",
    "x.sum_to_size(L.tensor(1.5))",
    "x.sum_to_size()",
    # einsum sublists with items that are no int
    "L.einsum(x, [0, 'a'])",
    "L.einsum(x, [0, 1.5])",
    "L.einsum(x, [0, None])",
    "L.einsum(x, (0, 1), x, [1, 2.0])",
    "L.einsum(x, [0, 60.0])",
    # schedulers given no optimizer
    "L.optim.lr_scheduler.LambdaLR(x, lambda e: 1.0)",
    "L.optim.lr_scheduler.LambdaLR(None, lambda e: 1.0)",
    "L.optim.lr_scheduler.MultiplicativeLR('a', lambda e: 1.0)",
    "L.optim.lr_scheduler.SequentialLR(x, [], [])",
    "L.optim.lr_scheduler.ChainedScheduler(None)",
    # [1] + size, [1] * size: Python's errors (torch.Size's C name: a gap, see below)
    "[1] + x.shape",
    "x.shape * [1]",
    # a zero dilation: after the channels (forward), each dim by name (transposed)
    "F.conv1d(x[None], x[:, None, :2], dilation=0)",
    "F.conv2d(x[None, None].expand(1, 2, 3, 4), x[None, None, :2, :2], dilation=(1, 0))",
    "F.conv_transpose1d(x[None, :1], x[:1, None, :2], dilation=0)",
    "F.conv_transpose2d(x[None, None], x[None, None, :2, :2], dilation=(0, 1))",
    "F.conv_transpose3d(x[None, None, None], x[None, None, None, :2, :2], dilation=(1, 1, 0))",
    "L.nn.ConvTranspose1d(1, 1, 2, dilation=0)(x[None, :1])",
    # two operands that do not broadcast: PyTorch's words (mlp_chain's add among them)
    "x + x[:, :3]",
    "L.ones(2, 3) + L.ones(4, 3, 1)",
    "L.atan2(x, x[:, :3])",
    "L.eq(x, x[:, :3])",
    "L.masked_select(x, x[:, :3] > 1)",
    "L.clamp(x, x, x[:, :3])",
    "F.mse_loss(x, x[:, :3])",
    "F.kl_div(x, x[:, :3])",
    "F.poisson_nll_loss(x, x[:, :3])",
    "F.hinge_embedding_loss(x, x[:, :3])",
    "F.multilabel_soft_margin_loss(x.sigmoid(), x[:, :3].sigmoid())",
    "F.binary_cross_entropy(x.sigmoid(), x[:, :3].sigmoid())",
    # the sweep's new families: refused as torch (chainrule accepted them before)
    "L.linalg.svd(x, full_matrices=None)",
    "L.linalg.svd(x, full_matrices=np.int64(1))",
    "L.nn.utils.rnn.pad_sequence([x, x[:2]], 1.5)",
    "L.nn.utils.rnn.pad_sequence([x, x], padding_value='a')",
    "list(L.utils.data.DataLoader(x, drop_last=1.5))",
    "list(L.utils.data.DataLoader(x, batch_size=1.5))",
    "L.nn.utils.clip_grad_norm_([x], None)",
    "L.nn.utils.clip_grad_norm_([x], 'a')",
    "L.nn.utils.clip_grad_norm_([x], 1.0, (1.0, 2.0))",
    "L.nested.nested_tensor([x, x[:2]], dtype=1.5)",
    "L.nested.nested_tensor([x, x[:2]], dtype=L.tensor(1))",
    "L.linalg.matrix_power(x[:, :3], True)",
    "L.linalg.matrix_power(x[:, :3], L.tensor(1.5))",
    "L.matrix_power(x[:, :3], 1.5)",
    "x[:, :3].matrix_power(None)",
    "L.multinomial(x.abs() + 1, True)",
    "L.multinomial(x.abs() + 1, 'a')",
]


@pytest.mark.parametrize("src", SAME_AS_TORCH)
def test_same_type_and_first_line_as_torch(src):
    d = compare(src)
    assert d.torch.kind != "ok", "the case must be a refusal in torch"
    assert d.kind == "same", (d.torch, d.chainrule)


ACCEPTED_AS_TORCH = [
    "L.linalg.vecdot(L.tensor(2.0), L.tensor(3.0), dim=0)",
    "L.linalg.vecdot(L.tensor(1.0), L.tensor(2.0))",
    "L.linalg.matrix_power(x[:, :3], L.tensor(2))",
    "L.multinomial(x.abs() + 1, L.tensor(2))",
    "L.multinomial(x.abs() + 1, np.int64(2))",
    "x.sum_to_size(np.int64(1), 4)",
    "x.sum_to_size(())",
    "L.einsum(x, [0, True])",
    "__import__('operator').iadd([1], x.shape)",
    "L.nn.utils.clip_grad_norm_([x], np.int64(1), 'inf')",
]


@pytest.mark.parametrize("src", ACCEPTED_AS_TORCH)
def test_still_accepted_as_torch(src):
    d = compare(src)
    assert d.torch.kind == "ok" and d.kind == "same", (d.torch, d.chainrule)


def test_vecdot_of_0d_tensors_computes_as_torch():
    got = cr.linalg.vecdot(cr.tensor(2.0), cr.tensor(3.0), dim=-1)
    assert got.shape == () and got.item() == 6.0


def test_one_marker_of_torchs_words():
    # dim_range_error, no_dims_error and the convolution checks mark their errors with the
    # one writer in ops/_util.py (a composite's lead_with leaves them unprefixed)
    assert conv_arguments.torch_words is _util.torch_words
    for err in (_util.dim_range_error(3, 2), _util.no_dims_error(-3)):
        assert err.torch_words and isinstance(err, IndexError)
    err = _util.dim_range_error(3, 2)
    _util.lead_with("composite", err)
    assert str(err) == "Dimension out of range (expected to be in range of [-2, 1], but got 3)"


def test_python_methods_are_copies_named_tensor_dot():
    # the method is its own function object, so cr.split keeps its name (session 44: split and
    # norm get a method of torch's own parameters, ops/python_method_names._METHOD_FORMS)
    assert cr.Tensor.split.__qualname__ == "Tensor.split"
    assert cr.split.__qualname__ == "split"
    assert cr.Tensor.unique.__code__ is cr.unique.__code__
    x = cr.arange(6.0)
    assert [t.tolist() for t in x.split(4)] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]


@pytest.mark.parametrize("shape", [(), (1,), (3,), (1, 3), (2, 3)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("stats", [None, 0, 2, 3])
def test_batch_norm_checks_in_torchs_order_and_words(shape, training, stats):
    outs = []
    for lib in (torch, cr):
        x = lib.ones(shape)
        rm, rv = (None, None) if stats is None else (lib.zeros(stats), lib.ones(stats))
        try:
            lib.nn.functional.batch_norm(x, rm, rv, training=training)
            outs.append(None)
        except Exception as e:  # noqa: BLE001 - the exception is compared
            outs.append(e)
    want, got = outs
    if want is None:
        assert got is None, got
        return
    assert isinstance(got, type(want)), (want, got)
    torch_crash = "tuple index out of range" in str(want) or "SmallVector" in str(want)
    if not torch_crash:  # torch's own text (not a crash of its Python or its kernel)
        assert str(got).split("\n")[0] == str(want).split("\n")[0]


def test_batch_norm_weight_counted_against_no_channels():
    # a 1-d input has no channel dim: torch counts its channels as 0 (its parameters too)
    with pytest.raises(RuntimeError, match="^weight should contain 0 elements not 3"):
        cr.nn.functional.batch_norm(cr.ones(4), None, None, cr.ones(3), None, training=True)


def test_unflatten_of_a_0d_tensor():
    with pytest.raises(RuntimeError) as err:
        cr.tensor(1.0).unflatten(0, (1,))
    first, second = str(err.value).split("\n")[:2]
    assert first == "unflatten got an unexpected error:"
    assert second == "Dimension specified as 0 but tensor has no dimensions"


def test_broadcast_error_keeps_the_ops_name_on_the_next_line():
    with pytest.raises(RuntimeError) as err:
        cr.ones(3, 4) + cr.ones(3, 3)
    first, second = str(err.value).split("\n")
    assert first == (
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1"
    )
    assert second.startswith("add: shapes (3, 4) and (3, 3) cannot be broadcast together")
    assert isinstance(err.value, ValueError)  # (a ShapeError, as before)


def test_size_operators():
    s = cr.Size([2, 3])
    assert s + (4,) == (2, 3, 4) and 2 * s == (2, 3, 2, 3) and s * 2 == (2, 3, 2, 3)
    values = [1]
    values += s
    assert values == [1, 2, 3]
    with pytest.raises(TypeError, match="^can't multiply sequence by non-int of type 'Size'"):
        operator.mul([1], s)  # the list's own error (it named 'list' before)


@pytest.mark.xfail(
    strict=True,
    reason="Python prints a class's __name__ as its type name: torch.Size's C type is named "
    "'torch.Size' while its __name__ is 'Size' (which fx's metadata and type(s).__name__ "
    "show); a Python class cannot have both",
)
def test_size_named_as_torchs_c_type_in_pythons_own_errors():
    with pytest.raises(TypeError, match=r'^can only concatenate list \(not "torch.Size"\)'):
        operator.add([1], cr.Size([2]))


def test_zero_dilation_after_a_channel_mismatch():
    # PyTorch's forward kernels meet the channels first
    x, w = cr.ones(1, 3, 4), cr.ones(3, 1, 2)
    with pytest.raises(RuntimeError, match="^Given groups=1, weight of size"):
        cr.nn.functional.conv1d(x, w, dilation=0)
    with pytest.raises(RuntimeError, match=r"^dilation should be greater than zero, but got \["):
        cr.nn.functional.conv1d(x[:, :1], w, dilation=0)


NEW_FAMILIES = CALLS[CALLS.index("F.logsigmoid({})") + 1 :]


def test_the_sweep_has_its_new_families_after_the_old_calls():
    assert len(NEW_FAMILIES) == 58
    assert len(all_calls()) == 1880  # <= 40 per 47: tests/test_argument_sweep.py's slice


@pytest.mark.parametrize(
    "template",
    [
        "L.linalg.svd(x, full_matrices={})",
        "L.nn.utils.rnn.pad_sequence([x, x[:2]], {})",
        "L.nn.utils.rnn.pad_sequence([x, x], padding_value={})",
        "list(L.utils.data.DataLoader(x, drop_last={}))",
        "L.nn.utils.clip_grad_norm_([x], 1.0, {})",
        "L.nested.nested_tensor([x, x[:2]], dtype={})",
        "L.linalg.matrix_power(x[:, :3], {})",
        "L.multinomial(x.abs() + 1, {})",
    ],
)
def test_new_family_templates_all_as_torch(template):
    assert template in NEW_FAMILIES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = [d for d in map(compare, all_calls([template])) if d.kind != "same"]
    assert not diffs, diffs


_NO_DIMS_CALLS = {
    "fft": lambda L: L.fft.fft(L.tensor(1.0)),
    "fft_dim0": lambda L: L.fft.fft(L.tensor(1.0), dim=0),
    "householder_product_tau": lambda L: L.linalg.householder_product(
        L.ones(2, 2, dtype=L.float64), L.tensor(1.0, dtype=L.float64)
    ),
    "weight_norm_kernel": lambda L: L._weight_norm(L.tensor(1.0), L.tensor(1.0), 0),
    "tensor_dataset": lambda L: L.utils.data.TensorDataset(L.tensor(1.0)),
}


@pytest.mark.parametrize("name", list(_NO_DIMS_CALLS))
def test_no_dims_texts_lead_with_torchs_words(name: str) -> None:
    """A dim of a 0-d tensor where the op does not read it as one dim: PyTorch's IndexError,
    its words first ("Dimension specified as ... but tensor has no dimensions"), no op prefix."""
    with pytest.raises(IndexError) as want:
        _NO_DIMS_CALLS[name](torch)
    with pytest.raises(IndexError) as got:
        _NO_DIMS_CALLS[name](cr)
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0]
