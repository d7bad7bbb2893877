"""Gaps found by the session-22 drop-in programs (``egnn_equivariant``, ``neural_process_anp``,
``min_gru_parallel_scan``, ``switch_moe_load_balance``, ``hopfield_retrieval``) and by probing
the APIs next to their idioms, each checked against PyTorch.

- ``nn.ModuleList`` / ``nn.Sequential`` / ``nn.ParameterList`` refused a one-element integer
  tensor as an index (TypeError), which Hugging Face's Mixtral block does: ``for expert_idx in
  expert_hit: expert_layer = self.experts[expert_idx]`` with ``expert_hit`` a ``nonzero()``
  result; and a bool. PyTorch takes anything ``operator.index`` takes (get, set and delete).
- ``Tensor.__index__`` of a float or many-element tensor said "can be used as an index";
  PyTorch's TypeError says "can be converted to an index".
- ``torch.norm`` / ``x.norm(dim=...)`` / ``F.normalize`` of an integer tensor checked ``dim``
  first, so ``F.normalize`` of an integer vector (default ``dim=1``) raised IndexError; PyTorch
  checks the dtype first and raises RuntimeError.
- ``F.multi_head_attention_forward`` (which hflayers-style code calls directly) and the
  ``nn.MultiheadAttention`` constructor raised ValueError / TypeError for the checks PyTorch
  makes with ``assert`` (embedding size, divisibility, missing projection weights, mask dtype,
  key/value shapes, ...): PyTorch raises AssertionError; and ValueError for a batched
  ``attn_mask`` of the wrong 2-D or 3-D shape, where PyTorch raises RuntimeError. The errors
  are now of PyTorch's type (and still of the old one).

Probed and matching: ``logcumsumexp`` (with ``-inf`` rows and their gradients, as the log-space
scan pads), ``distributions.Normal`` / ``kl_divergence`` / ``rsample`` shapes and reprs,
``F.one_hot`` / ``topk`` / ``index_add_`` / ``scatter_add_`` errors, ``nn.RMSNorm`` and
``nn.MultiheadAttention`` reprs and state-dict keys, ``multi_head_attention_forward`` with
separate projections, static keys, bias_k/bias_v, zero attention, float and bool masks.
Left alone: ``logcumsumexp`` of a complex tensor (PyTorch computes it; chainrule refuses it
with NotImplementedError), and ``nn.MultiheadAttention(dropout=2.0)`` refused at construction
(PyTorch accepts it and fails only at a training forward).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

LIBS = [torch, chainrule]


def _container_ops(lib: Any) -> list[Any]:
    ml = lib.nn.ModuleList([lib.nn.ReLU(), lib.nn.Tanh(), lib.nn.Sigmoid()])
    out: list[Any] = [type(ml[lib.tensor([1])]).__name__, type(ml[lib.tensor(2)]).__name__]
    out.append(type(ml[True]).__name__)
    ml[lib.tensor([0])] = lib.nn.GELU()
    del ml[lib.tensor(1)]
    out.append([type(m).__name__ for m in ml])
    seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
    seq[lib.tensor([[1]])] = lib.nn.ELU()
    out.append(type(seq[lib.tensor([1])]).__name__)
    del seq[lib.tensor([0])]
    out.append(len(seq))
    params = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.zeros(1))])
    params[lib.tensor(0)] = lib.nn.Parameter(lib.full((1,), 3.0))
    out += [params[lib.tensor([0])].item(), params[False].item()]
    return out


def test_containers_take_one_element_integer_tensors_like_torch() -> None:
    assert _container_ops(chainrule) == _container_ops(torch)


@pytest.mark.parametrize("lib", LIBS)
def test_mixtral_expert_loop_indexes_modulelist_with_nonzero_rows(lib: Any) -> None:
    experts = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(4)])
    hit = lib.greater(lib.tensor([0, 3, 0, 1]), 0).nonzero()
    assert [experts[idx] for idx in hit] == [experts[1], experts[3]]


@pytest.mark.parametrize("make", ["ModuleList", "Sequential", "ParameterList"])
@pytest.mark.parametrize(
    ("index", "error"),
    [
        (lambda lib: lib.tensor([5]), IndexError),
        (lambda lib: lib.tensor([0, 1]), TypeError),
        (lambda lib: lib.tensor(0.0), TypeError),
        (lambda lib: 1.5, TypeError),
        (lambda lib: "a", TypeError),
    ],
)
def test_container_bad_indices_raise_torchs_error_types(make: str, index: Any, error: Any) -> None:
    for lib in LIBS:
        if make == "ParameterList":
            container = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(1))])
        elif make == "ModuleList":
            container = lib.nn.ModuleList([lib.nn.ReLU()])
        else:
            container = lib.nn.Sequential(lib.nn.ReLU())
        with pytest.raises(error):
            container[index(lib)]


def test_container_type_error_names_the_container_and_the_cause() -> None:
    with pytest.raises(TypeError, match="ModuleList.*single element"):
        chainrule.nn.ModuleList([chainrule.nn.ReLU()])[chainrule.tensor([0, 1])]


def test_tensor_index_error_message_matches_torch() -> None:
    messages = []
    for lib in LIBS:
        with pytest.raises(TypeError) as info:
            [1, 2][lib.tensor(1.0)]
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.normalize(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.normalize(lib.tensor(3)),
        lambda lib: lib.norm(lib.tensor([1, 2]), 2, 1, keepdim=True),
        lambda lib: lib.tensor([1, 2]).norm(dim=3),
        lambda lib: lib.norm(lib.tensor([True]), dim=2),
    ],
)
def test_norm_of_integer_tensor_checks_dtype_before_dim(call: Any) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="floating point or complex"):
            call(lib)


def test_norm_still_checks_dim_of_float_and_computes_bfloat16_and_complex() -> None:
    for lib in LIBS:
        with pytest.raises(IndexError):
            lib.norm(lib.tensor([1.0, 2.0]), dim=3)
    got = chainrule.norm(chainrule.tensor([3.0, 4.0]).bfloat16()).float().item()
    assert got == torch.norm(torch.tensor([3.0, 4.0]).bfloat16()).float().item() == 5.0
    assert chainrule.norm(chainrule.tensor([3j, 4.0])).item() == 5.0


def _mha(lib: Any, q=(3, 2, 8), k=(4, 2, 8), v=(4, 2, 8), **kw: Any) -> Any:
    args = dict(
        query=lib.ones(*q),
        key=lib.ones(*k),
        value=lib.ones(*v),
        embed_dim_to_check=8,
        num_heads=2,
        in_proj_weight=lib.ones(24, 8) / 10,
        in_proj_bias=None,
        bias_k=None,
        bias_v=None,
        add_zero_attn=False,
        dropout_p=0.0,
        out_proj_weight=lib.eye(8),
        out_proj_bias=None,
    )
    args.update({name: value(lib) if callable(value) else value for name, value in kw.items()})
    return lib.nn.functional.multi_head_attention_forward(**args)


ASSERTED = {
    "embed-dim": dict(embed_dim_to_check=6),
    "divisible": dict(num_heads=3),
    "key-2d": dict(k=(4, 8)),
    "query-4d": dict(q=(3, 2, 8, 1)),
    "kpm-3d": dict(key_padding_mask=lambda lib: lib.zeros(2, 4, 1, dtype=lib.bool)),
    "mask-4d": dict(attn_mask=lambda lib: lib.zeros(1, 1, 3, 4)),
    "unbatched-mask-3d": dict(
        q=(3, 8), k=(4, 8), v=(4, 8), attn_mask=lambda lib: lib.zeros(3, 3, 4)
    ),
    "kv-shapes": dict(v=(5, 2, 8)),
    "separate-missing": dict(use_separate_proj_weight=True),
    "packed-missing": dict(in_proj_weight=None),
    "bias-k-only": dict(bias_k=lambda lib: lib.zeros(1, 1, 8)),
    "static-k": dict(static_k=lambda lib: lib.zeros(4, 4, 3)),
    "kpm-shape": dict(key_padding_mask=lambda lib: lib.zeros(2, 5, dtype=lib.bool)),
    "mask-int": dict(attn_mask=lambda lib: lib.zeros(3, 4, dtype=lib.long)),
    "kpm-int": dict(key_padding_mask=lambda lib: lib.zeros(2, 4, dtype=lib.long)),
}


@pytest.mark.parametrize("case", sorted(ASSERTED))
def test_multi_head_attention_forward_asserts_like_torch(case: str) -> None:
    for lib in LIBS:
        with pytest.raises(AssertionError):
            _mha(lib, **ASSERTED[case])


@pytest.mark.parametrize(
    "mask", [lambda lib: lib.zeros(3, 3), lambda lib: lib.zeros(3, 3, 4)], ids=["2d", "3d"]
)
def test_batched_attn_mask_of_wrong_shape_raises_runtime_error(mask: Any) -> None:
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="attn_mask"):
            _mha(lib, attn_mask=mask)
    with pytest.raises(ValueError):  # chainrule's former type still catches it
        _mha(chainrule, attn_mask=mask)


def test_multihead_attention_constructor_asserts_divisibility() -> None:
    for lib in LIBS:
        with pytest.raises(AssertionError, match="divisible"):
            lib.nn.MultiheadAttention(10, 3)
        with pytest.raises(ValueError, match="greater than 0"):
            lib.nn.MultiheadAttention(0, 1)


def test_separate_projection_weights_match_torch() -> None:
    """hflayers' call: separate q/k/v weights, a packed bias, per-head weights, padding mask."""
    rng = np.random.default_rng(22)
    arrays = {
        "q": rng.standard_normal((3, 2, 6)),
        "k": rng.standard_normal((4, 2, 6)),
        "w": rng.standard_normal((3, 6, 6)),
        "b": rng.standard_normal(18),
        "o": rng.standard_normal((6, 6)),
    }
    results = []
    for lib in LIBS:
        t = {name: lib.tensor(value) for name, value in arrays.items()}
        out, weights = _mha(
            lib,
            query=t["q"],
            key=t["k"],
            value=t["k"],
            embed_dim_to_check=6,
            in_proj_weight=None,
            in_proj_bias=t["b"],
            out_proj_weight=t["o"],
            use_separate_proj_weight=True,
            q_proj_weight=t["w"][0],
            k_proj_weight=t["w"][1],
            v_proj_weight=t["w"][2],
            key_padding_mask=lib.tensor([[False, False, True, True], [False] * 4]),
            average_attn_weights=False,
        )
        results.append((out.numpy(), weights.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-12)
    assert results[1][1].shape == (2, 2, 3, 4)
