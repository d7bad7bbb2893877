"""Gaps found by the session-36 (batch b) drop-in programs (``xlnet_two_stream_attention``,
``bart_text_infilling``, ...), each checked against PyTorch.

- ``nn.utils.rnn.pad_sequence(batch_first=True)`` returned a transposed (non-contiguous) batch:
  ``padded.view(-1)`` raised where PyTorch's contiguous batch flattens (BART's
  ``target.view(-1)`` for the cross-entropy). ``pad_packed_sequence`` now gives PyTorch's
  layouts too: contiguous, except the transposed view of a sorted batch with
  ``batch_first=True`` (its unsorted batch_first=False result was transposed).
- ``torch.gather`` (and ``take_along_dim``) with a non-contiguous index laid the result out as
  the index (NumPy's rule); PyTorch's result is always contiguous.
- ``index_reduce`` did not warn, once per process, that it is in beta (PyTorch's
  ``TORCH_WARN_ONCE``, given after the shape checks and before the index range check).
- ``hamming_window(5, alpha=0.5)`` / ``kaiser_window(5, beta=4.0)`` ran; PyTorch's overloads
  take ``alpha`` only after ``periodic`` and ``beta`` only after ``alpha`` (hamming) or
  ``periodic`` (kaiser), and raise TypeError otherwise (probing ``melgan_multiscale``'s windows).
- ``nn.utils.weight_norm(module, name=...)`` of a name that is no parameter raised ValueError;
  PyTorch raises AttributeError (no such attribute), KeyError (a buffer or other attribute) or
  TypeError (a parameter slot holding None). The errors are ValueErrors too, as before.
- ``distributions.VonMises.sample`` drew other values than PyTorch under one seed: its
  rejection rounds kept an element's first acceptance, where PyTorch's draw for every element
  each round and let a later acceptance replace an earlier one (probing the samplers the
  programs use: torch.poisson, multinomial, Categorical, randperm all matched).
- ``topk(..., sorted=False)`` returned the sorted top-k; PyTorch's CPU kernel returns them in
  the order its ``std::nth_element`` selection leaves them (when ``k * 64 > n``), which
  ``mixture_of_depths``-style routing code reads before sorting. chainrule now replays that
  selection (``ops/_topk_select.py``).
- Result layouts probed around the programs' ops (PyTorch's strides are observable through
  ``view``): ``F.pad`` (constant) of a non-contiguous input kept NumPy's order, where PyTorch
  allocates in the input's suggested format (contiguous, or channels-last for a channels-last
  4-d/5-d input; a pad of zeros is a clone in the input's layout); ``F.one_hot`` of a
  transposed index kept its order (PyTorch: contiguous); ``torch.polar`` / ``torch.complex``
  of transposed parts came out contiguous (PyTorch: the elementwise layout of the parts);
  ``F.logsigmoid`` (and its node's ``_saved_buffer``) of a non-contiguous input kept its
  layout (PyTorch's log_sigmoid_forward allocates both contiguous); ``F.glu`` of a
  non-contiguous input came out contiguous (PyTorch: the halves' elementwise layout);
  ``torch.mvlgamma`` kept the input's layout (PyTorch's composite ends in a row-major sum).
- ``Tensor.ravel()`` of a step slice returned a strided view when one stride could address
  it (a write through it reached the input); PyTorch's ravel is ``contiguous().view(-1)``, a
  copy for every non-contiguous input.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import _user_warnings

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_is_contiguous(m: Any, batch_first: bool, side: str) -> None:
    seqs = [m.arange(3.0), m.arange(5.0), m.arange(2.0)]
    padded = m.nn.utils.rnn.pad_sequence(
        seqs, batch_first=batch_first, padding_value=-1.0, padding_side=side
    )
    assert padded.is_contiguous()
    flat = padded.view(-1).tolist()
    if batch_first and side == "right":
        assert flat[:10] == [0.0, 1.0, 2.0, -1.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    features = m.nn.utils.rnn.pad_sequence([m.ones(3, 2), m.ones(5, 2)], batch_first=True)
    assert features.stride() == (10, 2, 1)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_gather_result_is_contiguous(m: Any) -> None:
    y = m.arange(12.0).reshape(4, 3).t()
    index = m.tensor([[0, 1], [1, 2], [2, 3]]).t().contiguous().t()
    out = m.gather(y, 1, index)
    assert out.is_contiguous() and out.stride() == (2, 1)
    assert out.tolist() == [[0.0, 3.0], [4.0, 7.0], [8.0, 11.0]]
    assert m.gather(y, 0, index.clamp(max=2)).stride() == (2, 1)
    y3 = m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)
    i3 = m.zeros(3, 2, 4, dtype=m.long).permute(2, 1, 0)
    assert m.gather(y3, 2, i3).stride() == (6, 3, 1)
    assert m.take_along_dim(y3, i3, 2).stride() == (6, 3, 1)
    x = m.arange(6.0, requires_grad=True)
    picked = m.gather(x.view(2, 3), 1, m.tensor([[2, 0], [1, 1]]).t())
    assert picked.view(-1).tolist() == [2.0, 1.0, 3.0, 4.0]
    picked.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_index_reduce_warns_once_that_it_is_in_beta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # once per process: a fresh one
    with pytest.raises(RuntimeError, match="Expected reduce to be one of"):
        chainrule.zeros(2).index_reduce_(0, chainrule.tensor([0]), chainrule.ones(1), "x")
    with pytest.warns(UserWarning, match=r"index_reduce\(\) is in beta") as record:
        with pytest.raises(IndexError):  # the warning comes before the index check
            chainrule.zeros(2).index_reduce_(0, chainrule.tensor([5]), chainrule.ones(1), "amax")
    assert record[0].filename == __file__  # at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = chainrule.zeros(2).index_reduce(0, chainrule.tensor([0]), chainrule.ones(1), "amax")
    assert out.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_window_overloads_take_alpha_and_beta_in_order(m: Any) -> None:
    for call in (
        lambda: m.hamming_window(5, alpha=0.5),
        lambda: m.hamming_window(5, beta=0.4),
        lambda: m.hamming_window(5, True, beta=0.4),
        lambda: m.hamming_window(5, alpha=0.5, beta=0.4),
        lambda: m.kaiser_window(5, beta=4.0),
    ):
        with pytest.raises(TypeError):
            call()
    ok = m.hamming_window(5, periodic=False, alpha=0.5, beta=0.4, dtype=m.float64)
    assert m.hamming_window(5, False, 0.5, 0.4, dtype=m.float64).tolist() == ok.tolist()
    assert ok.tolist() == pytest.approx([0.1, 0.5, 0.9, 0.5, 0.1])
    assert m.hamming_window(5, True, 0.5).shape == (5,)
    kaiser = m.kaiser_window(5, False, 4.0, dtype=m.float64)
    assert kaiser.tolist() == pytest.approx(m.kaiser_window(5, periodic=False, beta=4.0).tolist())
    assert m.kaiser_window(5, periodic=False).shape == (5,)


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_weight_norm_of_a_missing_parameter_error_types(m: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the hook is deprecated in both
        with pytest.raises(AttributeError):
            m.nn.utils.weight_norm(m.nn.Linear(2, 3), name="nope")
        with pytest.raises(KeyError):
            m.nn.utils.weight_norm(m.nn.BatchNorm1d(2), name="running_mean")
        with pytest.raises(KeyError):
            m.nn.utils.weight_norm(m.nn.Linear(2, 3), name="training")
        with pytest.raises(TypeError):
            m.nn.utils.weight_norm(m.nn.Linear(2, 3, bias=False), name="bias")
        assert m.nn.utils.weight_norm(m.nn.Linear(2, 3), name="bias", dim=0).bias_g.shape == (3,)


@pytest.mark.parametrize("seed", [0, 4, 7])
@pytest.mark.parametrize("kappa", [0.3, 2.0, 25.0])
def test_von_mises_samples_are_torchs(seed: int, kappa: float) -> None:
    got = []
    for m in BOTH:
        m.manual_seed(seed)
        law = m.distributions.VonMises(m.tensor([0.5, -1.0]), m.tensor([kappa, kappa / 2]))
        sample = law.sample((5,))
        assert sample.dtype == m.float32 and sample.shape == (5, 2)
        got.append(sample.flatten().tolist() + [m.rand(1).item()])  # the stream after it too
    assert got[1] == pytest.approx(got[0], rel=1e-6, abs=1e-6)


def _rows(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    ties = rng.integers(0, 3, (3, 37)).astype(np.float64)
    with_nan = rng.standard_normal((2, 9))
    with_nan[0, [1, 4]] = np.nan
    return [rng.standard_normal((2, 3, 8)), ties, with_nan, np.zeros((1, 20)), np.arange(30.0)]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_unsorted_order_is_torchs(seed: int, largest: bool) -> None:
    for x in _rows(seed):
        n = x.shape[-1]
        for k in sorted({1, 2, n // 3, n // 2, n - 1, n} - {0}):
            want = torch.topk(torch.tensor(x), k, largest=largest, sorted=False)
            got = chainrule.topk(chainrule.tensor(x), k, largest=largest, sorted=False)
            assert got.indices.tolist() == want.indices.tolist(), (x.shape, k)
            np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_topk_unsorted_dims_dtypes_and_gradient(m: Any) -> None:
    x = m.tensor(np.random.default_rng(5).standard_normal((6, 4, 5)), requires_grad=True)
    picked = m.topk(x, 3, dim=0, sorted=False)
    assert picked.indices.is_contiguous() and picked.indices.shape == (3, 4, 5)
    assert picked.indices[:, 0, 0].tolist() == [2, 3, 1]
    picked.values.sum().backward()
    assert x.grad.sum().item() == 60.0
    halves = m.tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0], dtype=m.float16)
    assert m.topk(halves, 4, sorted=False).indices.tolist() == [4, 7, 5, 2]
    ints = m.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    assert m.topk(ints, 4, largest=False, sorted=False).indices.tolist() == [1, 3, 6, 0]
    big = m.arange(200.0)  # k * 64 <= n: PyTorch's partial sort, in sorted order
    assert m.topk(big, 3, sorted=False).indices.tolist() == [199, 198, 197]


@pytest.mark.parametrize("feats", [(), (2,), (2, 3)])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
def test_pad_packed_sequence_layouts_are_torchs(
    feats: tuple, enforce_sorted: bool, batch_first: bool
) -> None:
    got = []
    for m in BOTH:
        seqs = [m.ones(3, *feats), m.ones(5, *feats) * 2, m.ones(2, *feats) * 3]
        if enforce_sorted:
            seqs = sorted(seqs, key=len, reverse=True)
        packed = m.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=enforce_sorted)
        for total_length in (None, 7):
            out, lengths = m.nn.utils.rnn.pad_packed_sequence(
                packed, batch_first=batch_first, total_length=total_length
            )
            got.append((out.shape, out.stride(), out.reshape(-1).tolist(), lengths.tolist()))
    assert got[2:] == got[:2]


LAYOUT_CASES = [
    lambda m: m.nn.functional.pad(m.ones(3, 4).t(), (1, 1)),
    lambda m: m.nn.functional.pad(m.ones(3, 4).t(), (1, 1, 2, 0), value=2.0),
    lambda m: m.nn.functional.pad(m.ones(3, 4).t(), (-1, 1)),
    lambda m: m.nn.functional.pad(m.ones(3, 4).t(), (0, 0)),
    lambda m: m.nn.functional.pad(m.ones(2, 3, 4, 5).to(memory_format=m.channels_last), (1, 1)),
    lambda m: m.nn.functional.pad(
        m.ones(2, 3, 4, 5, 6).to(memory_format=m.channels_last_3d), (1, 1, 0, 2)
    ),
    lambda m: m.nn.ConstantPad1d(2, 1.0)(m.ones(3, 4).t()),
    lambda m: m.nn.ZeroPad2d(1)(m.ones(1, 3, 4).transpose(1, 2)),
    lambda m: m.nn.functional.one_hot(m.tensor([[0, 1], [2, 0]]).t(), 3),
    lambda m: m.polar(m.ones(2, 3).t(), m.zeros(2, 3).t()),
    lambda m: m.polar(m.ones(2, 3).t(), m.zeros(2)),
    lambda m: m.polar(m.ones(4, 3, 2).permute(2, 0, 1), m.zeros(1)),
    lambda m: m.complex(m.ones(2, 3).t(), m.zeros(2, 3).t()),
    lambda m: m.nn.functional.logsigmoid(m.arange(12.0).view(3, 4).t()),
    lambda m: m.nn.functional.logsigmoid(m.ones(2, 3, 4, 5).to(memory_format=m.channels_last)),
    lambda m: (
        m.nn.functional.logsigmoid(
            m.arange(12.0).view(3, 4).t().requires_grad_()
        ).grad_fn._saved_buffer
    ),
    lambda m: m.nn.functional.glu(m.arange(12.0).view(3, 4).t(), 0),
    lambda m: m.nn.functional.glu(m.ones(2, 4, 4, 5).to(memory_format=m.channels_last), 1),
    lambda m: m.mvlgamma(m.arange(3.0, 15.0).view(3, 4).t(), 2),
    lambda m: m.arange(24.0).view(4, 6)[:, ::2].ravel(),
    lambda m: m.arange(24.0).view(4, 6).t().ravel(),
]


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_ravel_of_a_step_slice_is_a_copy(m: Any) -> None:
    x = m.arange(24.0).view(4, 6)
    flat = x[:, ::2].ravel()
    flat[0] = 100.0
    assert x[0, 0].item() == 0.0 and flat.stride() == (1,)
    view = x.ravel()  # contiguous: a view
    view[1] = -1.0
    assert x[0, 1].item() == -1.0
    y = m.arange(6.0, requires_grad=True)
    r = y.view(2, 3).t().ravel()
    assert r.grad_fn.name() == "ViewBackward0"
    assert r.grad_fn.next_functions[0][0].name() == "CloneBackward0"
    r.sum().backward()
    assert y.grad.tolist() == [1.0] * 6


@pytest.mark.parametrize("case", range(len(LAYOUT_CASES)))
def test_result_layouts_are_torchs(case: int) -> None:
    want, got = (LAYOUT_CASES[case](m) for m in BOTH)
    assert got.shape == want.shape and got.stride() == want.stride()
    assert got.is_contiguous() == want.is_contiguous()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("pad", [(0, 1, 0, 1), (2, 2, 1, 0)])
def test_pad_of_a_convolution_result_keeps_its_values(pad):
    """F.pad of a convolution's result (chainrule's channel-major layout) then a convolution:
    the layout rule for pad laid the larger padded array out with the input's strides, and
    the second convolution read garbage (EfficientNet's TF-'same' padding, the SD VAE)."""
    rng = np.random.default_rng(0)
    x, w1, w2 = (
        rng.normal(size=(2, 3, 8, 8)),
        rng.normal(size=(4, 3, 3, 3)),
        rng.normal(size=(5, 4, 3, 3)),
    )
    out = []
    for L in BOTH:
        F = L.nn.functional
        p = F.pad(F.conv2d(L.tensor(x), L.tensor(w1)), pad)
        out.append((p.numpy(), F.conv2d(p, L.tensor(w2), stride=2).numpy()))
    for want, got in zip(*out):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
