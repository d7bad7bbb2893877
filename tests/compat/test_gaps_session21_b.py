"""Gaps found by the session-21 drop-in programs (``deepdream_octaves``, ``dpo_loss``,
``sentence_embedding_mnrl``, ``lr_schedulers_zoo``, ``densenet_shufflenet_blocks``) and by
probing the modules next to their idioms, each checked against PyTorch.

- ``var``/``std``/``var_mean``/``std_mean`` with no degrees of freedom (DeepDream's
  ``torch.std(img.grad.data)`` of a one-element gradient) warned "var()/std(): ... the result
  is NaN or inf"; PyTorch's warning names the op: "std(): degrees of freedom is <= 0.
  Correction should be strictly less than the reduction factor (input numel divided by output
  numel)."
- ``p.data = t`` with an integer or bool ``t`` on a tensor that requires grad silently made an
  integer leaf that requires grad; PyTorch raises RuntimeError "data set to a tensor that
  requires gradients must be floating point or complex dtype".
- ``F.mse_loss`` / ``l1_loss`` / ``smooth_l1_loss`` / ``huber_loss`` with a target of another
  shape that does not broadcast raised without PyTorch's "Using a target size ... that is
  different to the input size" UserWarning, which PyTorch gives before it fails.
- ``torch.gather(..., sparse_grad=True)`` raised NotImplementedError; PyTorch gives the input
  an uncoalesced sparse COO gradient, one entry per gathered element (``GatherBackward0``).
- ``TransformerEncoderLayer.activation_relu_or_gelu`` was 0 for the modules ``nn.ReLU()`` and
  ``nn.GELU()``; PyTorch counts them as relu (1) and gelu (2).
- ``nn.TransformerEncoder`` always set ``use_nested_tensor = False`` and never warned; PyTorch
  sets it from ``enable_nested_tensor`` and the layer (batch_first, norm_first, bias, heads,
  activation, eps, ...), warning "enable_nested_tensor is True, but self.use_nested_tensor is
  False because ..." with the first reason. Where its nested path runs (eval, no gradient
  wanted, a left-aligned ``src_key_padding_mask``, no ``mask``: sentence encoders' inference)
  the outputs at padded positions are zeros, with a once-per-process prototype warning;
  chainrule returned the values computed there.
- ``MultiStepLR.milestones`` (and its state-dict entry) was a sorted list; PyTorch's is a
  ``collections.Counter`` (a repeated milestone counts twice).
- ``CyclicLR.state_dict()`` had no ``_scale_fn_custom`` entry; PyTorch saves a callable
  object's ``__dict__`` there (None for a plain function), and ``load_state_dict`` updates the
  scheduler's own ``scale_fn`` object from it (AttributeError when there is none).
"""

from __future__ import annotations

import collections
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule

from .programs import _common

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _record(fn: Any) -> tuple[Any, list[str]]:
    """``fn()``'s result (or its exception type) and the warnings it gave, in order."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out: Any = fn()
        except Exception as exc:  # the type is what is compared
            out = type(exc)
    return out, [str(w.message) for w in caught]


@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
def test_no_degrees_of_freedom_warning_names_the_op(op: str) -> None:
    results = []
    for lib in LIBS:
        x = lib.ones(1, 3)
        out, msgs = _record(lambda lib=lib, x=x: getattr(lib, op)(x, 0))
        first = out[0] if isinstance(out, tuple) else out
        results.append((np.isnan(first.numpy()).all(), msgs))
    assert results[0][0] and results[1][0]
    torch_msgs = [m.split(" (Triggered internally")[0] for m in results[0][1]]
    assert results[1][1] == torch_msgs
    assert results[1][1][0].startswith(f"{op}(): degrees of freedom is <= 0.")


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_data_assignment_of_integer_values_to_grad_tensor(dtype: str) -> None:
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="must be floating point or complex dtype"):
            x.data = lib.ones(2, dtype=getattr(lib, dtype))
        assert x.dtype == lib.float32
        y = lib.tensor([1, 2])
        y.data = lib.ones(2, dtype=getattr(lib, dtype))  # no grad: any dtype, as torch
        assert y.dtype == getattr(lib, dtype)
        z = lib.tensor([1.0, 2.0], requires_grad=True)
        z.data = lib.ones(2, dtype=lib.complex64)
        assert z.dtype == lib.complex64 and z.requires_grad


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_loss_warns_before_failing_on_unbroadcastable_target(loss: str) -> None:
    got = []
    for lib in LIBS:
        fn = getattr(lib.nn.functional, loss)
        got.append(_record(lambda lib=lib, fn=fn: fn(lib.ones(2, 3), lib.zeros(3, 1))))
    (t_out, t_msgs), (c_out, c_msgs) = got
    assert issubclass(t_out, RuntimeError) and issubclass(c_out, RuntimeError)
    assert c_msgs == t_msgs
    assert len(c_msgs) == 1 and c_msgs[0].startswith("Using a target size (torch.Size([3, 1]))")


@pytest.mark.parametrize(
    ("shape", "dim", "index"),
    [
        ((2, 3), 1, [[2, 0], [1, 1]]),
        ((2, 3), 0, [[1, 0, 1]]),
        ((3,), 0, [2, 2]),
        ((2, 3, 4), 2, [[[0], [1], [3]], [[2], [2], [2]]]),
        ((2, 3), 1, [[2]]),
    ],
)
def test_gather_sparse_grad(shape: tuple, dim: int, index: list) -> None:
    data = np.random.default_rng(0).standard_normal(shape)
    weights = np.arange(1.0, 1.0 + np.array(index).size).reshape(np.array(index).shape)
    grads = []
    for lib in LIBS:
        x = lib.tensor(data, requires_grad=True)
        out = lib.gather(x, dim, lib.tensor(index), sparse_grad=True)
        assert out.grad_fn.name() == "GatherBackward0"
        (out * lib.tensor(weights)).sum().backward()
        g = x.grad
        grads.append(
            (
                g.is_sparse,
                g.is_coalesced(),
                g._indices().tolist(),
                g._values().tolist(),
                g.to_dense().tolist(),
            )
        )
    assert grads[1] == grads[0]
    assert grads[0][0]


def test_gather_sparse_grad_accumulates_with_dense() -> None:
    results = []
    for lib in LIBS:
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        out = lib.gather(x, 1, lib.tensor([[2, 2]]), sparse_grad=True).sum() + x.sum()
        out.backward()
        results.append((x.grad.is_sparse, x.grad.tolist()))
    assert results[1] == results[0]


def test_gather_sparse_grad_on_0d_input_is_refused() -> None:
    x = chainrule.tensor(2.0, requires_grad=True)
    with pytest.raises(NotImplementedError, match="sparse_grad"):
        chainrule.gather(x, 0, chainrule.tensor([0, 0]), sparse_grad=True)


def _activations(lib: Any) -> list[Any]:
    nn = lib.nn
    return ["relu", "gelu", nn.ReLU(), nn.GELU(), nn.GELU(approximate="tanh"), lib.tanh]


def test_activation_relu_or_gelu_counts_modules() -> None:
    got = [
        [lib.nn.TransformerEncoderLayer(8, 2, activation=a).activation_relu_or_gelu for a in acts]
        for lib in LIBS
        for acts in [_activations(lib)]
    ]
    assert got[1] == got[0] == [1, 2, 1, 2, 2, 0]


def _encoder_case(lib: Any, case: str) -> Any:
    nn = lib.nn
    kw: dict[str, Any] = {"batch_first": True}
    if case == "norm_first":
        kw["norm_first"] = True
    elif case == "not_batch_first":
        kw["batch_first"] = False
    elif case == "no_bias":
        kw["bias"] = False
    elif case == "tanh":
        kw["activation"] = lib.tanh
    elif case == "odd_heads":
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 1, 16, **kw), 2)
    elif case == "no_bias_odd_heads":
        kw["bias"] = False
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 1, 16, **kw), 2)
    elif case == "not_a_layer":
        return nn.TransformerEncoder(nn.Linear(2, 2), 2)
    elif case == "disabled":
        layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=False)
        return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    layer = nn.TransformerEncoderLayer(8, 2, 16, **kw)
    if case == "eps":
        layer.norm2.eps = 1e-3
    return nn.TransformerEncoder(layer, 2)


@pytest.mark.parametrize(
    "case",
    [
        "ok",
        "norm_first",
        "not_batch_first",
        "no_bias",
        "tanh",
        "odd_heads",
        "no_bias_odd_heads",
        "not_a_layer",
        "eps",
        "disabled",
    ],
)
def test_encoder_use_nested_tensor_and_warning(case: str) -> None:
    got = []
    for lib in LIBS:
        enc, msgs = _record(lambda lib=lib: _encoder_case(lib, case))
        got.append((enc.use_nested_tensor, msgs))
    assert got[1] == got[0]
    assert got[0][0] is (case == "ok")


def _padded_outputs(lib: Any, padding: list, **kw: Any) -> list:
    """Which output rows of an eval-mode encoder are all zeros."""
    nn = lib.nn
    lib.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, norm=kw.pop("norm", None), enable_nested_tensor=True)
    state = {
        k: np.linspace(-1, 1, v.numel()).reshape(tuple(v.shape))
        for k, v in enc.state_dict().items()
    }
    _common.load_numpy_state(lib, enc, state)
    enc.train(kw.pop("train", False))
    if kw.pop("frozen", False):
        enc.requires_grad_(False)
    x = lib.tensor(np.sin(np.arange(48.0)).reshape(2, 3, 8).astype(np.float32))
    mask = lib.tensor(np.array(padding, dtype=bool))
    with lib.set_grad_enabled(kw.pop("grad", False)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the nested-tensor prototype warning (once a process)
        out = enc(x, src_key_padding_mask=mask, **kw)
    return [(out.abs().sum(-1) == 0).tolist(), out.detach().numpy()]


RIGHT_PAD = [[False, False, True], [False, True, True]]


@pytest.mark.parametrize(
    ("padding", "kw"),
    [
        (RIGHT_PAD, {}),
        (RIGHT_PAD, {"train": True}),
        (RIGHT_PAD, {"grad": True}),
        (RIGHT_PAD, {"grad": True, "frozen": True}),
        (RIGHT_PAD, {"mask": np.zeros((3, 3), dtype=bool)}),
        ([[True, False, False], [False, True, True]], {}),  # not left-aligned: ordinary path
        ([[True, True, True], [False, True, True]], {}),
        ([[False, False, False], [False, False, False]], {}),
    ],
)
def test_encoder_nested_path_zeros_padded_outputs(padding: list, kw: dict) -> None:
    got = []
    for lib in LIBS:
        args = dict(kw)
        if "mask" in args:
            args["mask"] = lib.tensor(args["mask"])
        got.append(_padded_outputs(lib, padding, **args))
    assert got[1][0] == got[0][0]
    np.testing.assert_allclose(got[1][1], got[0][1], rtol=1e-4, atol=1e-5)


def test_encoder_nested_path_warns_once_and_zeros_after_norm() -> None:
    zeros, _ = _padded_outputs(chainrule, RIGHT_PAD, norm=chainrule.nn.LayerNorm(8))
    assert zeros == [[False, False, True], [False, True, True]]
    enc = chainrule.nn.TransformerEncoder(
        chainrule.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 1
    ).eval()
    x = chainrule.randn(2, 3, 8)
    mask = chainrule.tensor(RIGHT_PAD)
    with chainrule.no_grad():
        _record(lambda: enc(x, src_key_padding_mask=mask))  # the process's first, if any
        _, msgs = _record(lambda: enc(x, src_key_padding_mask=mask))
    assert msgs == []  # once per process, as PyTorch's


def test_multisteplr_milestones_are_a_counter() -> None:
    got = []
    for lib in LIBS:
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=1.0)
        sched = lib.optim.lr_scheduler.MultiStepLR(opt, [3, 1, 3], gamma=0.5)
        lrs = []
        for _ in range(5):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        got.append((sched.milestones, sched.state_dict()["milestones"], lrs))
    assert got[1] == got[0]
    assert isinstance(got[1][0], collections.Counter)
    assert got[1][2] == [0.5, 0.5, 0.125, 0.125, 0.125]


class _Scale:
    def __init__(self, k: float) -> None:
        self.k = k

    def __call__(self, x: float) -> float:
        return self.k


def test_cycliclr_state_dict_saves_custom_scale_fn_attributes() -> None:
    got = []
    for lib in LIBS:
        sched_mod = lib.optim.lr_scheduler

        def opt(lib: Any = lib) -> Any:
            return lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)

        saved = sched_mod.CyclicLR(opt(), 0.01, 0.1, scale_fn=_Scale(0.5)).state_dict()
        plain = sched_mod.CyclicLR(opt(), 0.01, 0.1).state_dict()
        func = sched_mod.CyclicLR(opt(), 0.01, 0.1, scale_fn=lambda x: 0.5).state_dict()
        target = _Scale(0.9)
        resumed = sched_mod.CyclicLR(opt(), 0.01, 0.1, scale_fn=target)
        resumed.load_state_dict(pickle.loads(pickle.dumps(saved)))
        keys, custom = sorted(saved), saved["_scale_fn_custom"]
        refused, _ = _record(
            lambda mod=sched_mod, saved=saved: mod.CyclicLR(opt(), 0.01, 0.1).load_state_dict(saved)
        )
        got.append(
            (
                keys,
                custom,
                "_scale_fn_custom" in saved,  # popped by load_state_dict, as torch
                plain["_scale_fn_custom"],
                func["_scale_fn_custom"],
                resumed._scale_fn_custom is target,
                target.k,
                refused,
            )
        )
    assert got[1] == got[0]
    assert got[1][1] == {"k": 0.5} and got[1][6] == 0.5 and got[1][7] is AttributeError
