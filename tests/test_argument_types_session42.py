"""Session 42: bad arguments answered with PyTorch's exception type and first line, word for
word (CONTRIBUTING.md, "Error messages"), compared with torch live through the argument
sweep's own comparison (``tools/argument_sweep.py``): the sweep's last 21 message and 2 type
differences, the families around them (permute, repeat, einsum, cross, pad, linear,
cross_entropy/nll_loss, prelu, the activations' dtype errors, repeat_interleave, randint,
``torch.device(int)``), a ``torch.Size`` operand of add/sub/mul/div, a loss module's bad
``reduction`` refused at call (not construction) and ``Tensor.lu(out=...)``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from argument_sweep import compare  # noqa: E402 - the tool's module, beside the tests

# each evaluated with L the library, x = L.arange(12.0).reshape(3, 4), F its nn.functional
SAME_AS_TORCH = [
    # permute, repeat (the sweep's shape texts)
    "x.permute(np.int64(1))",
    "x.permute(1, 0, 2)",
    "x.permute(0, 0)",
    "x.permute(0, -2)",
    "L.tensor(1.0).permute(0)",
    "x.repeat(L.tensor(1))",
    "x.repeat(())",
    "x.repeat()",
    "x.repeat(2, -3)",
    "x.repeat(1, 1, -2)",
    "x.tile(-1)",
    # einsum
    "L.einsum('a', x)",
    "L.einsum('ab,abc', x, x)",
    "L.einsum('abc...', x)",
    "L.einsum('a...', x, x)",
    "L.einsum('a,b,c', x, x)",
    "L.einsum('ab,ab')",
    "L.einsum(L.tensor(1), x)",
    "L.einsum(L.tensor(1.5), x)",
    # cross / linalg.cross
    "L.cross(x, x, dim=np.int64(1))",
    "x.cross(x, 1)",
    "L.linalg.cross(x, x)",
    "L.linalg.cross(x[:, :3], x[0, :3][None, None])",
    "L.linalg.cross(x[:, :3], x[:2, :3])",
    "L.cross(x[:, :3], x[:2, :3])",
    "L.cross(x[:, :3], x[:, :3].double())",
    "L.linalg.cross(x[:, :3].long(), x[:, :3].int())",
    "L.linalg.cross(x[:, :3], x[:, :3], dim=2)",
    # pad
    "F.pad(x, L.tensor(1))",
    "F.pad(x, L.tensor([1, 1]))",
    "F.pad(x, np.array([1, 1]))",
    "F.pad(x, (1, 1, 1))",
    "F.pad(x, (1,) * 6)",
    "F.pad(x, (1, 1), mode='reflect', value=1.0)",
    "F.pad(x, (1, 1), mode='foo')",
    "F.pad(x, (-5, 1))",
    "F.pad(x[None], (5, 5), mode='reflect')",
    "F.pad(x[None], (1, 1, 5, 5), mode='reflect')",
    "F.pad(x[None, None], (1, 1, 1, 1, 5, 5), mode='reflect')",
    # linear
    "F.linear(x, L.tensor(1.0))",
    "F.linear(L.tensor(1.0), x)",
    "F.linear(x, x[:, :3])",
    "F.linear(x, x[None])",
    "F.linear(x[0], x[:, :3])",
    "F.linear(L.zeros(2, 3, 4), x[:, :3])",
    "F.linear(L.zeros(2, 3, 4), x[0, :3])",
    "F.linear(x[0], x[0, :3])",
    "F.linear(x, x[0], x[0, 0])",
    "F.linear(x[0], x[0], x[0, :2])",
    # layer_norm's int list
    "F.layer_norm(x, np.int64(4))",
    "F.layer_norm(x, (np.float64(4),))",
    "F.layer_norm(x, [4, 1.0])",
    "F.layer_norm(x, [4, None])",
    "F.layer_norm(x, np.array([4]))",
    "F.rms_norm(x, np.int64(4))",
    # embedding's dtype (legacy type names)
    "F.embedding(L.tensor(1.5), x)",
    "F.embedding(L.tensor(True), x)",
    "F.embedding(L.tensor([1]).short(), x)",
    "F.embedding(L.tensor([1.0]).bfloat16(), x)",
    "L.embedding_renorm_(x.clone(), L.zeros(2), 1.0, 2.0)",
    # cross_entropy / nll_loss targets and weights
    "F.cross_entropy(x, L.tensor(1))",
    "F.cross_entropy(x, L.tensor(1.5))",
    "F.cross_entropy(x, L.zeros(2).long())",
    "F.cross_entropy(x, L.zeros(3, 5))",
    "F.cross_entropy(x, L.zeros(3, 4).long())",
    "F.cross_entropy(L.zeros(3, 4, 5), L.zeros(3, 4).long())",
    "F.cross_entropy(L.zeros(3, 4, 5), L.zeros(3).long())",
    "F.cross_entropy(L.zeros(4), L.zeros(2).long())",
    "F.cross_entropy(L.zeros(4), L.zeros(5))",
    "F.cross_entropy(L.tensor(1.0), L.tensor(1))",
    "F.cross_entropy(x, L.zeros(3))",
    "F.cross_entropy(x, L.zeros(3).int())",
    "F.cross_entropy(x, L.zeros(3).long(), weight=L.zeros(3))",
    "F.cross_entropy(x, L.zeros(3, 4), weight=L.zeros(3))",
    "F.nll_loss(x, L.tensor(1))",
    "F.nll_loss(x, L.zeros(3).int())",
    "F.nll_loss(L.tensor(1.0), L.tensor(1))",
    "F.nll_loss(x, L.zeros(3).long(), weight=L.zeros(3))",
    # prelu
    "F.prelu(x, L.tensor(1))",
    "F.prelu(L.ones(4), L.ones(3))",
    "F.prelu(L.tensor(1.0), L.ones(3))",
    "F.prelu(L.ones(2, 4), L.ones(1, 1))",
    "F.prelu(L.ones(2, 4, 3), L.ones(3))",
    "F.prelu(L.ones(2, 4).long(), L.ones(1).long())",
    # activations without an integer / bool / complex kernel
    *(
        f"F.{op}(L.ones(2, 4).{dt})"
        for op in ("leaky_relu", "elu", "selu", "gelu", "silu", "mish", "hardswish")
        for dt in ("long()", "bool()")
    ),
    *(
        f"F.{op}(L.ones(2, 4).{dt})"
        for op in ("logsigmoid", "glu", "softplus", "hardsigmoid", "softshrink", "rrelu")
        for dt in ("long()", "to(L.complex64)")
    ),
    "F.hardtanh(L.ones(2, 4).bool())",
    "F.relu6(L.ones(2, 4).to(L.complex64))",
    "F.softsign(L.ones(2).bool())",
    "F.threshold(L.ones(2).bool(), 0.5, 0.0)",
    # repeat_interleave
    "x.repeat_interleave(L.tensor(1.5))",
    "x.repeat_interleave(L.tensor(True))",
    "x.repeat_interleave(L.tensor([1, 2, 1, 1]).short(), dim=1)",
    "x.repeat_interleave(L.tensor([1, 2]).double(), dim=-1)",
    "x.repeat_interleave(L.tensor([[1, 2]]), dim=1)",
    "x.repeat_interleave(L.tensor([-1, 2, 1, 1]), dim=1)",
    "x.repeat_interleave(-1)",
    "L.repeat_interleave(L.tensor([[1, 2]]))",
    "L.repeat_interleave(L.tensor([-1, 2]))",
    "L.repeat_interleave(L.tensor([1.5]))",
    # randint's size
    "L.randint(0, 5, (1.0, 2.0))",
    "L.randint(5, (1.0, 2.0))",
    "L.randint(0, 5, size=(1.0, 2.0))",
    "L.randint(5, size=(1.5,))",
    "L.randint(5, ('a',))",
    "L.randint(5, (L.tensor(2.0),))",
    # cat's dim
    "L.cat([x, x], 'a')",
    "L.cat([x, x], dim='a')",
    "L.concat([x, x], 'a')",
    # devices given by index, without an accelerator
    "x.to(np.int64(1))",
    "x.to(0)",
    "L.zeros(2, device=0)",
    "L.device(0)",
    "L.device(-1)",
    "x.to('cuda')",
    # a torch.Size is no Tensor operand
    "x.add(L.Size([2]))",
    "L.add(x, L.Size([2]))",
    "x.sub(L.Size([2]))",
    "x.mul(L.Size([4]))",
    "x.add_(L.Size([2]))",
    "x.div(L.Size([4]))",
    "x.div(L.Size([4]), rounding_mode='floor')",
    # comparisons called by name take a Tensor or a Number (operators take more)
    "x.eq((1, 2, 3, 4))",
    "x.eq(np.zeros(4))",
    "L.lt(x, [1, 2])",
    "L.ne([1, 2], x)",
    "x.ge(L.Size([4]))",
    "L.greater(x, (1, 2))",
    "x.not_equal([1])",
    "x == (1, 2, 3, 4)",
    "x == np.zeros(4)",
    "x != np.zeros(4)",
    "x < [1, 2, 3, 4]",
    # dims out of range: PyTorch's words, whatever the op
    "x.sum(5)",
    "x.sum((0, 0))",
    "L.tensor(1.0).sum(1)",
    "L.stack([x, x], 4)",
    "x.unsqueeze(4)",
    "x.moveaxis(2, 0)",
    "x.softmax(2)",
    "F.glu(x, 3)",
    "x.unflatten(3, (2, 2))",
    "L.fft.fft(x, dim=3)",
    "L.tensordot(x, x, dims=([3], [0]))",
    "L.linalg.matrix_norm(x, dim=(0, 3))",
    "L.linalg.norm(x, dim=(0, 3))",
    "x.flatten(3)",
    "x.cumsum(2)",
    "x.index_select(2, L.tensor([0]))",
    # convolutions: padding / stride checked before the channels, as PyTorch
    "F.conv2d(L.zeros(2, 4, 3, 4), L.zeros(4, 2, 2, 3), padding=-1)",
    "F.conv2d(L.zeros(2, 4, 3, 4), L.zeros(4, 2, 2, 3), stride=0)",
    "F.conv1d(L.zeros(2, 4, 3), L.zeros(4, 2, 2), padding='same', stride=2)",
    "F.conv3d(L.zeros(2, 4, 3, 4, 3), L.zeros(4, 2, 2, 3, 2), padding='full')",
    "F.conv3d(L.zeros(2, 4, 3, 4, 3), L.zeros(4, 4, 2, 3, 2), dilation=-1)",
    "F.conv_transpose2d(L.zeros(2, 2, 3, 4), L.zeros(2, 3, 2, 3), groups=3)",
    "F.conv_transpose3d(L.zeros(2, 2, 3, 4, 3), L.zeros(2, 3, 2, 3, 2), groups=3)",
    # Tensor.lu is Python in PyTorch: no out=
    "x[:3, :3].lu(out=(L.zeros(3, 3), L.zeros(3, dtype=L.int32)))",
]

_LOSS_CALLS = {
    "L1Loss": "x, x",
    "MSELoss": "x, x",
    "HuberLoss": "x, x",
    "CrossEntropyLoss": "x, L.tensor([0, 1, 2])",
    "NLLLoss": "x, L.tensor([0, 1, 2])",
    "BCEWithLogitsLoss": "x, x.sigmoid()",
    "KLDivLoss": "x, x",
    "MarginRankingLoss": "x, x, x.sign()",
    "TripletMarginLoss": "x, x, x",
    "GaussianNLLLoss": "x, x, x.abs() + 1",
    "PoissonNLLLoss": "x, x",
    "MultiLabelSoftMarginLoss": "x, x.sigmoid()",
    "SoftMarginLoss": "x, x.sign()",
    "TripletMarginWithDistanceLoss": "x, x, x",
}
LOSS_CALLS = [
    f"L.nn.{name}(reduction={red}){call}"
    for name, args in _LOSS_CALLS.items()
    for red in ("'a'", "None")
    for call in ("", f"({args})")
]


@pytest.mark.parametrize("src", SAME_AS_TORCH + LOSS_CALLS)
def test_same_type_and_first_line_as_torch(src):
    d = compare(src)
    assert d.kind == "same", (d.torch, d.chainrule)


def test_the_sweep_calls_that_differed_before_now_match():
    # the sweep's 23 remaining differences of session 41, each still raising in torch
    srcs = [
        "x.permute(L.tensor(1))",
        "x.repeat(np.int64(1))",
        "x.to(np.int64(1))",
        "x.repeat_interleave(L.tensor(1.5))",
        "L.randint(0, 5, (1.0, 2.0))",
        "L.cat([x, x], 'a')",
        "L.einsum('a', x)",
        "L.einsum(L.tensor(1), x)",
        "L.cross(x, x, dim=L.tensor(1))",
        "F.pad(x, L.tensor(1.5))",
        "F.linear(x, L.tensor(1))",
        "F.layer_norm(x, np.int64(1))",
        "F.embedding(L.tensor(1.5), x)",
        "F.cross_entropy(x, L.tensor(1))",
        "F.prelu(x, L.tensor(1))",
        "F.logsigmoid(L.tensor(1))",
    ]
    for src in srcs:
        d = compare(src)
        assert d.torch.kind != "ok" and d.kind == "same", (src, d.torch, d.chainrule)


@pytest.mark.parametrize(
    "make",
    [
        lambda L, x: L.nn.functional.linear(x, x[0]),
        lambda L, x: L.nn.functional.linear(x[0], x[0], x[0, 0]),
        lambda L, x: L.nn.functional.linear(x[None].expand(2, 3, 4), x[1], x[0, 1]),
    ],
)
def test_linear_with_a_1d_weight_computes_as_torch(make):
    # PyTorch takes a 1-d weight (x @ w, a 0-d bias added): chainrule refused it before
    xs = [L.arange(12.0, dtype=L.float64).reshape(3, 4).requires_grad_() for L in (cr, torch)]
    got, want = make(cr, xs[0]), make(torch, xs[1])
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy())
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy())


def test_loss_modules_take_any_reduction_until_called():
    # PyTorch checks ``reduction`` in the functional: a module constructs, and its value may
    # be set afterwards (a config read later)
    loss = cr.nn.MSELoss(reduction="a")
    assert loss.reduction == "a"
    loss.reduction = "sum"
    x = cr.arange(4.0)
    assert (
        loss(x, x * 2).item()
        == torch.nn.MSELoss(reduction="sum")(torch.arange(4.0), torch.arange(4.0) * 2).item()
    )
    with pytest.raises(ValueError, match="^b is not a valid value for reduction$"):
        cr.nn.L1Loss(reduction="b")(x, x)


def test_cuda_message_first_line_is_torchs():
    # chainrule's hint (install CuPy) follows on a line of its own
    if cr.cuda.is_available():
        pytest.skip("a GPU is available")
    with pytest.raises(AssertionError) as err:
        cr.zeros(2).cuda()
    first, *rest = str(err.value).split("\n")
    assert first == "Torch not compiled with CUDA enabled"
    assert rest and "CuPy" in rest[0]


def test_error_rule_in_test_bad_inputs_accepts_torchs_words_only():
    # the rule's check in tests/ops/test_bad_inputs.py: PyTorch's first line, word for word
    from tests.ops.test_bad_inputs import torch_words

    assert torch_words(RuntimeError("a b\nmore"), ValueError("a b\nchainrule's hint"))
    assert not torch_words(RuntimeError("a b"), ValueError("op: a b"))
    assert not torch_words(RuntimeError(""), ValueError(""))
