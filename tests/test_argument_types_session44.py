"""Session 44: bad arguments answered with PyTorch's exception type and first line, word for
word (CONTRIBUTING.md, "Error messages"), compared with torch live; the calls torch accepts
computed as torch (values compared after the same seed where random).

- the argument sweep's session-43 families (``tools/argument_sweep.py``): no call torch
  refuses is accepted (``clip_grad_value_`` with no gradient), none refused with another
  exception class (``to_sparse_csr(True)``, ``linalg.inv(1.5)``, ``init.uniform_(x, 'a')``,
  ``pack_padded_sequence(x, True)``, ``TensorDataset(x, None)``, ``Adam(betas='a')``, ...),
  and the calls torch accepts compute as torch (``normal(0.0, tensor(1), (2,))``,
  ``masked.softmax(x, None)``, ``SGD(lr=True)``, ``Linear(2, tensor(1))``, ...);
- ``x.split``/``x.norm`` take torch's own parameters (Python's positional-count texts),
  ``x.sum_to_size(size=...)``, ``binary_cross_entropy_with_logits``' texts without the op's
  name first, ``addcmul``'s broadcast error in torch's operand order naming addcmul;
- :data:`argument_sweep.CALLS_SESSION44`, the sweep's new families (optimizers' options, lr
  schedulers, module constructors, samplers, func transforms, autograd.grad, quantization,
  losses, weight norm): no silent acceptance, and the refusals of another class or of what
  torch accepts that remain are exactly :data:`KNOWN_NEW_FAMILY_GAPS`.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from argument_sweep import CALLS, CALLS_SESSION44, all_calls, compare, sweep  # noqa: E402

# each evaluated with L the library, x = L.arange(12.0).reshape(3, 4), F its nn.functional
SAME_AS_TORCH = [
    # sparse: the parser's TypeErrors
    "x.to_sparse_csr(True)",
    "x.to_sparse_csr(1.5)",
    "x.to_sparse_csr((1.0, 2.0))",
    "x.to_sparse_csr(dense_dim=True)",
    "x.to_sparse_csc(True)",
    "x.to_sparse_bsr((1, 1), True)",
    "x.to_sparse_bsc((1, 1), dense_dim=1.5)",
    "L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), np.int64(1))",
    "L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), (1.0, 2.0))",
    "L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), True)",
    # tensor() of data with no dtype
    "L.tensor(None)",
    "L.tensor('a')",
    "L.tensor([1, None])",
    "L.sparse_csr_tensor(L.tensor([0, 1, 2]), L.tensor([0, 1]), None)",
    # linalg: Tensor arguments, ord's overloads, dims before dtypes
    "L.linalg.inv(1.5)",
    "L.linalg.inv(np.int64(1))",
    "L.linalg.inv(L.tensor(1))",
    "L.linalg.inv(L.ones(2, 2).long())",
    "L.linalg.det((1.0, 2.0))",
    "L.linalg.solve(x[:, :3], None)",
    "L.linalg.solve(x[:, :3], L.tensor(1))",
    "L.linalg.norm(x, (1.0, 2.0))",
    "L.linalg.norm(x, (1.0, 2.0), (0, 1))",
    "L.linalg.matrix_norm(x, ord=None)",
    "L.linalg.matrix_norm(x, ord=L.tensor([1]))",
    "L.linalg.matrix_norm(x, ord=1j)",
    "L.linalg.vector_norm(x, None)",
    "L.linalg.vector_norm(x, ord='a')",
    "L.linalg.vector_norm(x, 1j)",
    # fft: the parser's words under the ATen name
    "L.fft.fft(x, norm=True)",
    "L.fft.fft(x, 2, 0, True)",
    "L.fft.fft(x, norm='a')",
    "L.fft.rfft(x, n=1.5)",
    "L.fft.fft(x, 1.5)",
    "L.fft.fftn(x, (1.0, 2.0))",
    "L.fft.fftn(x, s=(1.0, 2.0))",
    "L.fft.fftn(x, dim=1.5)",
    # nn.init
    "L.nn.init.uniform_(x.clone(), 'a')",
    "L.nn.init.uniform_(x.clone(), 0.0, None)",
    "L.nn.init.normal_(x.clone(), std='a')",
    "L.nn.init.orthogonal_(x.clone(), (1.0, 2.0))",
    "L.nn.init.orthogonal_(x.clone().half())",
    "L.nn.init.orthogonal_(x.clone().to(L.complex64))",
    "L.nn.init.orthogonal_(x.clone().double(), 1 + 2j)",
    "L.nn.init.kaiming_uniform_(x.clone(), a=L.tensor(1.5))",
    "L.nn.init.calculate_gain('a')",
    # masked: torch's _canonical_dim
    "L.masked.sum(x, (1.0, 2.0))",
    "L.masked.sum(x, (1, 1))",
    "L.masked.sum(x, (1, -1))",
    "L.masked.softmax(x, (1.0, 2.0))",
    # data, rnn packing, distributions, modules
    "L.nn.utils.rnn.pack_padded_sequence(x[:, :, None], True)",
    "L.nn.utils.rnn.pack_padded_sequence(x[:, :, None], None)",
    "L.nn.utils.rnn.pack_padded_sequence(x[:, :, None], (1.0, 2.0))",
    "L.distributions.Normal(0.0, None, validate_args=True)",
    "L.nn.Dropout(1.5)",
    "L.nn.LayerNorm((1.0, 2.0))",
    "L.nn.Linear(2, -1)",
    "L.nn.Linear(-2, -1)",
    "L.nn.RNN(2, True)",
    "L.bernoulli(x.sigmoid(), 1.5)",
    "L.bernoulli(x.sigmoid(), (1.0, 2.0))",
    "L.normal(0.0, -1.0, (2,))",
    "L.normal(L.tensor([0.0]), L.tensor([-1.0]))",
    "L.normal(L.tensor([0.0]), 1.0, (2,))",
    "L.normal(0.0, L.tensor(2.0, requires_grad=True), (2,))",
    "L.nested.as_nested_tensor([x, x[:2]], layout='a')",
    # optimizers' betas as torch reads them
    "L.optim.Adam([x], betas=True)",
    "L.optim.Adam([x], betas=np.int64(1))",
    "L.optim.Adam([x], betas=L.tensor(1))",
    "L.optim.NAdam([x], betas=(0.9,))",
    # methods of torch's own parameters; keyword size
    "x.split(2, 0, 1)",
    "x.split(split_size_or_sections=2)",
    "x.split(2, split_size=2)",
    "x.norm(2, 0, False, None, None)",
    "x.norm(2, 0, False, None, None, 1)",
    "x.sum_to_size(size=4)",
    "x.sum_to_size(size=(1.5,))",
    "x.sum_to_size((1, 4), size=(1, 4))",
    # binary_cross_entropy_with_logits, addcmul/addcdiv: torch's words, torch's order
    "F.binary_cross_entropy_with_logits(x, x[:2])",
    "F.binary_cross_entropy_with_logits(x, x, weight=x[:2])",
    "F.binary_cross_entropy_with_logits(x, x, pos_weight=x[:2])",
    "F.binary_cross_entropy_with_logits(x, x, weight=L.ones(2, 3, 4))",
    "L.addcmul(x, x[:2], x)",
    "L.addcmul(x[:, :1], x, x[:2])",
    "L.addcdiv(x, x[:2], x)",
    # new families
    "L.autograd.grad((x.requires_grad_() * 2).sum(), x, allow_unused=1.5)",
    "L.autograd.grad((x.requires_grad_() * 2).sum(), x, retain_graph=L.tensor(1.5))",
    "L.nn.utils.weight_norm(L.nn.Linear(2, 2), dim=True)",
    "L.nn.utils.parametrizations.weight_norm(L.nn.Linear(2, 2), dim=1.5)",
    "L.quantize_per_tensor(x, 0.1, L.tensor(1.5), L.quint8)",
    "L.quantize_per_tensor(x, 0.1, 0, None)",
    "L.ao.quantization.MinMaxObserver(dtype=None)",
    "list(L.utils.data.DataLoader(x, num_workers=-1))",
]

ACCEPTED_AS_TORCH = [
    "L.masked.sum(x, True)",
    "L.masked.sum(x, (np.int64(1),))",
    "L.masked.softmax(x, True)",
    "L.masked.softmax(x, None)",
    "L.masked.softmax(x, (1,))",
    "L.optim.SGD([x], lr=True)",
    "L.optim.AdamW([x], weight_decay=True)",
    "L.nn.Linear(2, L.tensor(1))(x[:, :2])",
    "L.nn.Linear(L.tensor(2), 1)(x[:, :2])",
    "L.nn.LayerNorm(np.int64(4))(x)",
    "L.linalg.norm(x, L.tensor(1))",
    "L.linalg.matrix_norm(x, ord=L.tensor(1))",
    "L.linalg.vector_norm(x, L.tensor(2.0))",
    "L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), (L.tensor(2),))",
    "x.to_sparse_csr(np.int64(0))",
    "x.split(split_size=2, dim=1)",
    "x.norm(2, 0, False, L.float64)",
    "x.sum_to_size(size=(1, 4))",
    "x.sum_to_size(size=[np.int64(1), 4])",
    "L.func.vmap(L.sin, out_dims=True)(x)",
    "L.func.vmap(L.sin, chunk_size=np.int64(1))(x)",
    "L.quantize_per_tensor(x, L.tensor(0.5), 0, L.quint8)",
    "L.quantize_per_tensor(x, True, 0, L.quint8)",
    "L.optim.lr_scheduler.StepLR(L.optim.SGD([x], lr=0.1), L.tensor(2))",
    "list(L.utils.data.DataLoader(x, num_workers=np.int64(0)))",
    "L.nn.utils.weight_norm(L.nn.Linear(2, 2), dim=np.int64(1))",
]

#: The new families' calls still refused with another class than torch's, or refused where
#: torch accepts: none since session 45 (schedulers construct and fail at the first step(),
#: vmap's in_dims=True and autograd.grad's outputs raise torch's classes;
#: tests/test_argument_types_session45.py).
KNOWN_NEW_FAMILY_GAPS: set[tuple[str, str]] = set()


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.mark.parametrize("src", SAME_AS_TORCH)
def test_same_type_and_first_line_as_torch(src):
    d = compare(src)
    assert d.torch.kind != "ok", "the case must be a refusal in torch"
    assert d.kind == "same", (d.torch, d.chainrule)


@pytest.mark.parametrize("src", ACCEPTED_AS_TORCH)
def test_accepted_as_torch(src):
    d = compare(src)
    assert d.torch.kind == "ok" and d.kind == "same", (d.torch, d.chainrule)


def test_session43_families_have_no_silent_type_or_refused_calls():
    """The 464 calls of session 43's families: only message texts may still differ (torch's
    Python-level crashes and internal asserts, where chainrule names the op)."""
    first = CALLS.index("L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), {})")
    calls = all_calls(CALLS[first:])
    bad = [(d.kind, d.src) for d in sweep(calls) if d.kind in ("silent", "type", "cr_err")]
    assert bad == []


def test_new_families_silent_none_and_known_gaps_exact():
    calls = all_calls(CALLS_SESSION44)
    assert len(calls) == 448
    found = {(d.kind, d.src) for d in sweep(calls) if d.kind in ("silent", "type", "cr_err")}
    assert found == KNOWN_NEW_FAMILY_GAPS


def test_normal_with_0d_tensor_std_draws_as_torch():
    for std in (1, 1.5, True):
        torch.manual_seed(3)
        want = torch.normal(0.0, torch.tensor(std), (4,))
        cr.manual_seed(3)
        got = cr.normal(0.0, cr.tensor(std), (4,))
        assert got.dtype == cr.float32
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    torch.manual_seed(4)
    want = torch.normal(torch.tensor(1.0), torch.tensor(2.0), size=(3,))
    cr.manual_seed(4)
    got = cr.normal(cr.tensor(1.0), cr.tensor(2.0), size=(3,))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dim", [True, None, (1,), (0,), -1])
def test_masked_softmax_dims_as_torch(dim):
    x = np.arange(12.0).reshape(3, 4)
    mask = x % 5 != 0
    want = torch.masked.softmax(torch.tensor(x), dim, mask=torch.tensor(mask))
    got = cr.masked.softmax(cr.tensor(x), dim, mask=cr.tensor(mask))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_masked_sum_bool_dim_as_torch():
    x = np.arange(12.0).reshape(3, 4)
    want = torch.masked.sum(torch.tensor(x), True)
    got = cr.masked.sum(cr.tensor(x), True)
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_bool_lr_and_weight_decay_step_as_torch():
    out = []
    for lib in (torch, cr):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0]))
        opt = lib.optim.AdamW([p], lr=0.1, weight_decay=True)
        sgd_p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0]))
        sgd = lib.optim.SGD([sgd_p], lr=True)
        for q, o in ((p, opt), (sgd_p, sgd)):
            (q * q).sum().backward()
            o.step()
        out.append((p.detach().numpy().copy(), sgd_p.detach().numpy().copy()))
    for want, got in zip(out[0], out[1]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_linear_and_layer_norm_sizes_as_torch():
    lin = cr.nn.Linear(2, cr.tensor(3))
    assert tuple(lin.weight.shape) == (3, 2) and tuple(lin.bias.shape) == (3,)
    norm = cr.nn.LayerNorm(np.int64(4))
    assert norm.normalized_shape == (np.int64(4),) and tuple(norm.weight.shape) == (4,)
    assert norm.normalized_shape == torch.nn.LayerNorm(np.int64(4)).normalized_shape


def test_quantize_per_tensor_mixed_scale_and_zero_point_as_torch():
    x = np.arange(6.0, dtype=np.float32) / 4
    for scale, zp in ((0.5, 1), (True, 0)):
        for wrap in ("scale", "zero_point"):
            s = torch.tensor(scale) if wrap == "scale" else scale
            z = torch.tensor(zp) if wrap == "zero_point" else zp
            tx = torch.tensor(x)
            want = _quiet(lambda s=s, z=z, t=tx: torch.quantize_per_tensor(t, s, z, torch.quint8))
            cs = cr.tensor(scale) if wrap == "scale" else scale
            cz = cr.tensor(zp) if wrap == "zero_point" else zp
            cx = cr.tensor(x)
            got = _quiet(lambda cs=cs, cz=cz, t=cx: cr.quantize_per_tensor(t, cs, cz, cr.quint8))
            assert got.int_repr().tolist() == want.int_repr().tolist()
            assert got.q_scale() == want.q_scale() and got.q_zero_point() == want.q_zero_point()


def test_step_lr_with_a_0d_tensor_step_as_torch():
    lrs = []
    for lib in (torch, cr):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=1.0)
        sched = lib.optim.lr_scheduler.StepLR(opt, lib.tensor(2), gamma=0.5)
        seen = []
        for _ in range(5):
            opt.step()
            sched.step()
            seen.append(float(opt.param_groups[0]["lr"]))
        lrs.append(seen)
    assert lrs[0] == lrs[1]


def test_vmap_bool_out_dims_as_torch():
    x = np.arange(6.0).reshape(2, 3)
    want = torch.func.vmap(torch.sin, out_dims=True)(torch.tensor(x))
    got = cr.func.vmap(cr.sin, out_dims=True)(cr.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_sum_to_size_keyword_values():
    x = cr.arange(12.0).reshape(3, 4)
    assert x.sum_to_size(size=(1, 4)).tolist() == [[12.0, 15.0, 18.0, 21.0]]
    assert x.sum_to_size(size=[3, 1]).tolist() == [[6.0], [22.0], [38.0]]


def test_methods_take_torchs_parameters():
    x = cr.arange(12.0).reshape(3, 4)
    assert [t.shape for t in x.split(split_size=2, dim=1)] == [(3, 2), (3, 2)]
    assert x.norm(1, 0, True, cr.float64).dtype == cr.float64
    assert cr.Tensor.split.__qualname__ == "Tensor.split"
    assert cr.Tensor.norm.__qualname__ == "Tensor.norm"
    assert cr.split(x, split_size=2)[0].shape == (2, 4)  # the function form keeps its keyword


def test_hints_follow_torchs_words_naming_the_op():
    x = cr.arange(12.0).reshape(3, 4)
    with pytest.raises(RuntimeError) as err:
        cr.addcmul(x, x[:2], x)
    first, second = str(err.value).split("\n")
    assert first.startswith("The size of tensor a (3) must match the size of tensor b (2)")
    assert second.startswith("addcmul: shapes (3, 4) and (2, 4)")
    with pytest.raises(ValueError) as err:
        cr.nn.functional.binary_cross_entropy_with_logits(x, x[:2])
    assert str(err.value).split("\n")[1].startswith("binary_cross_entropy_with_logits:")
    with pytest.raises(RuntimeError, match="^clip_grad_value_: no gradients to clip"):
        cr.nn.utils.clip_grad_value_([x], 1.0)
    p = cr.nn.Parameter(cr.tensor([3.0, -3.0]))
    p.grad = cr.tensor([3.0, -3.0])
    cr.nn.utils.clip_grad_value_([x, p], 1.0)  # one gradient is enough
    assert p.grad.tolist() == [1.0, -1.0]
