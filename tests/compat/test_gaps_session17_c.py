"""Gaps found by the session-17 drop-in programs ``ema_swa_training`` and ``autocast_bf16_cpu``,
each checked against PyTorch.

- ``torch._foreach_*`` (a hand-written weight EMA: ``_foreach_mul_`` + ``_foreach_add_(...,
  alpha=)`` or ``_foreach_lerp_``; ``_foreach_norm``) did not exist.
- Under ``torch.autocast("cpu", dtype=torch.bfloat16)`` a ``nn.LayerNorm`` (float32 weights)
  meets bfloat16 activations: PyTorch's CPU norms take float32 parameters with a bfloat16
  input, as with float16, and return bfloat16; chainrule raised.
- ``F.scaled_dot_product_attention`` refused bfloat16 query/key/value (and recursed forever
  with a mask once let through); PyTorch computes it and returns bfloat16.
- ``F.rms_norm`` (``nn.RMSNorm``) refused a bfloat16 input.
- An in-place op whose float result cannot go into an integer tensor (``_foreach_mul_`` of a
  long tensor by 2.5, ``x.mul_(2.5)``) raised TypeError; PyTorch raises RuntimeError. The error
  is now both.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule.ops.foreach import BINARY, UNARY

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(17)
SHAPES = [(2, 3), (4,), ()]
ARRAYS = [RNG.uniform(0.2, 0.9, s) for s in SHAPES]
OTHERS = [RNG.uniform(0.5, 1.5, s) for s in SHAPES]


def _list(m: Any, arrays: list[np.ndarray], **kw: Any) -> list[Any]:
    return [m.tensor(a, **kw) for a in arrays]


def _same(got: Any, want: Any, rtol: float = 1e-12) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("name", UNARY)
def test_foreach_unary(name: str) -> None:
    got = getattr(chainrule, f"_foreach_{name}")(_list(chainrule, ARRAYS))
    want = getattr(torch, f"_foreach_{name}")(_list(torch, ARRAYS))
    assert isinstance(got, tuple)
    _same(got, want)
    ts = _list(chainrule, ARRAYS)
    assert getattr(chainrule, f"_foreach_{name}_")(ts) is ts
    _same(ts, want)


def _second_arguments(m: Any) -> list[Any]:
    return [
        1.5,
        [0.5, 2.0, 3.0],
        _list(m, OTHERS),
        m.tensor(0.75),
    ]


@pytest.mark.parametrize("form", range(4), ids=["scalar", "scalars", "tensors", "0-d tensor"])
@pytest.mark.parametrize("name", list(BINARY))
def test_foreach_binary(name: str, form: int) -> None:
    fn, fn_ = f"_foreach_{name}", f"_foreach_{name}_"
    want = getattr(torch, fn)(_list(torch, ARRAYS), _second_arguments(torch)[form])
    got = getattr(chainrule, fn)(_list(chainrule, ARRAYS), _second_arguments(chainrule)[form])
    _same(got, want)
    ts = _list(chainrule, ARRAYS)
    assert getattr(chainrule, fn_)(ts, _second_arguments(chainrule)[form]) is ts
    _same(ts, want)


@pytest.mark.parametrize("name", ["add", "sub"])
def test_foreach_alpha(name: str) -> None:
    for form in (2, 3) if name == "add" else (2,):
        want = getattr(torch, f"_foreach_{name}")(
            _list(torch, ARRAYS), _second_arguments(torch)[form], alpha=0.25
        )
        ts = _list(chainrule, ARRAYS)
        getattr(chainrule, f"_foreach_{name}_")(ts, _second_arguments(chainrule)[form], alpha=0.25)
        _same(ts, want)


def test_foreach_ema_update_as_scripts_write_it() -> None:
    """``ema = decay * ema + (1 - decay) * p`` three ways; all equal to torch's."""
    decay = 0.9
    for m in (torch, chainrule):
        ema, lerped, params = _list(m, ARRAYS), _list(m, ARRAYS), _list(m, OTHERS)
        with m.no_grad():
            m._foreach_mul_(ema, decay)
            m._foreach_add_(ema, params, alpha=1 - decay)
            m._foreach_lerp_(lerped, params, 1 - decay)
        if m is torch:
            want = (ema, lerped)
        else:
            _same(ema, want[0])
            _same(lerped, want[1])


@pytest.mark.parametrize("form", ["scalar", "scalars", "tensors"])
def test_foreach_lerp_weights(form: str) -> None:
    def weight(m: Any) -> Any:
        return {"scalar": 0.3, "scalars": [0.1, 0.5, 0.9], "tensors": _list(m, ARRAYS)}[form]

    want = torch._foreach_lerp(_list(torch, ARRAYS), _list(torch, OTHERS), weight(torch))
    got = chainrule._foreach_lerp(
        _list(chainrule, ARRAYS), _list(chainrule, OTHERS), weight(chainrule)
    )
    _same(got, want)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_foreach_addcmul_addcdiv(name: str) -> None:
    for value in (1, 0.5, [0.5, 2.0, -1.0], "tensor"):
        args = []
        for m in (torch, chainrule):
            v = m.tensor([0.5, 2.0, -1.0]) if value == "tensor" else value
            args.append((_list(m, ARRAYS), _list(m, OTHERS), _list(m, OTHERS), v))
        want = getattr(torch, f"_foreach_{name}")(*args[0])
        _same(getattr(chainrule, f"_foreach_{name}")(*args[1]), want)
        ts = args[1][0]
        assert getattr(chainrule, f"_foreach_{name}_")(*args[1]) is ts
        _same(ts, want)


def test_foreach_norm_max_pow_clone_copy_zero() -> None:
    for ord in (2, 1, float("inf")):
        _same(
            chainrule._foreach_norm(_list(chainrule, ARRAYS), ord),
            torch._foreach_norm(_list(torch, ARRAYS), ord),
        )
    got = chainrule._foreach_norm(
        _list(chainrule, ARRAYS, dtype=chainrule.float32), dtype=chainrule.float64
    )
    _same(
        got,
        torch._foreach_norm(_list(torch, ARRAYS, dtype=torch.float32), dtype=torch.float64),
        1e-6,
    )
    _same(
        chainrule._foreach_max(_list(chainrule, ARRAYS)), torch._foreach_max(_list(torch, ARRAYS))
    )
    _same(
        chainrule._foreach_pow(2.0, _list(chainrule, ARRAYS)),
        torch._foreach_pow(2.0, _list(torch, ARRAYS)),
    )
    ts = _list(chainrule, ARRAYS)
    clones = chainrule._foreach_clone(ts)
    assert all(c is not t for c, t in zip(clones, ts))
    assert chainrule._foreach_zero_(clones) is clones and all(not c.any() for c in clones)
    assert chainrule._foreach_copy_(clones, ts) is clones
    _same(clones, ts)


def test_foreach_out_of_place_is_differentiable() -> None:
    grads = []
    for m in (torch, chainrule):
        xs = _list(m, ARRAYS, requires_grad=True)
        ys = m._foreach_mul(m._foreach_exp(xs), [2.0, 3.0, 4.0])
        zs = m._foreach_lerp(ys, _list(m, OTHERS), 0.25)
        sum(z.sum() for z in zs).backward()
        grads.append([x.grad for x in xs])
    _same(grads[1], grads[0])


def _error(m: Any, call: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        call(m)
    return info.type, str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m._foreach_mul_([], 2.0),
        lambda m: m._foreach_add_([m.ones(2), m.ones(3)], [m.ones(2)]),
        lambda m: m._foreach_mul_([m.ones(2), m.ones(3)], [1.0]),
        lambda m: m._foreach_add_([m.ones(2), m.ones(3)], [m.ones(2), m.ones(4)]),
        lambda m: m._foreach_mul([m.ones(2)], m.ones(2)),
        lambda m: m._foreach_mul_([m.arange(3)], 2.5),
        lambda m: m._foreach_maximum_([m.arange(3)], 1.5),
        lambda m: m._foreach_mul_([m.ones(2, requires_grad=True)], 2.0),
    ],
    ids=["empty", "lists", "scalars", "shapes", "non-0-d", "int-mul_", "int-maximum_", "leaf"],
)
def test_foreach_errors_match_torch(call: Any) -> None:
    want_type, want_msg = _error(torch, call)
    got_type, got_msg = _error(chainrule, call)
    assert issubclass(got_type, want_type), (got_type, want_type, got_msg)
    if "Tensor list" in want_msg:  # the foreach checks' own messages, as PyTorch words them
        assert want_msg.split(",")[0] in got_msg


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m._foreach_add([m.ones(1)], 1.0, alpha=2),
        lambda m: m._foreach_sub([m.ones(1)], m.tensor(1.0), alpha=2),
        lambda m: m._foreach_mul([m.ones(1)], [m.ones(1)], alpha=2),
    ],
    ids=["add-number", "sub-0-d", "mul"],
)
def test_foreach_alpha_needs_tensors(call: Any) -> None:
    assert _error(chainrule, call)[0] is _error(torch, call)[0] is TypeError


def test_unknown_foreach_name_is_an_attribute_error() -> None:
    assert not hasattr(chainrule, "_foreach_no_such_op")


# -- bfloat16 activations meeting float32 norm parameters ------------------------------------


def _bf16_input(m: Any, shape: tuple, seed: int) -> Any:
    x = np.random.default_rng(seed).standard_normal(shape)
    return m.tensor(x, dtype=m.float32).to(m.bfloat16)


def _norm_calls() -> dict[str, Any]:
    def w(m: Any, n: int) -> Any:
        return m.tensor(np.linspace(0.5, 1.5, n), dtype=m.float32, requires_grad=True)

    def b(m: Any, n: int) -> Any:
        return m.tensor(np.linspace(-1.0, 1.0, n), dtype=m.float32, requires_grad=True)

    return {
        "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (5,), w(m, 5), b(m, 5)),
        "group_norm": lambda m, x: m.nn.functional.group_norm(x, 2, w(m, 4), b(m, 4)),
        "batch_norm_train": lambda m, x: m.nn.functional.batch_norm(
            x, m.zeros(4), m.ones(4), w(m, 4), b(m, 4), training=True
        ),
        "batch_norm_eval": lambda m, x: m.nn.functional.batch_norm(
            x, m.zeros(4), m.ones(4), w(m, 4), b(m, 4), training=False
        ),
        "instance_norm": lambda m, x: m.nn.functional.instance_norm(
            x, weight=w(m, 4), bias=b(m, 4)
        ),
    }


@pytest.mark.parametrize("name", list(_norm_calls()))
def test_norm_bfloat16_input_float32_parameters(name: str) -> None:
    call = _norm_calls()[name]
    results = []
    for m in (torch, chainrule):
        x = _bf16_input(m, (3, 4, 5), 3).requires_grad_()
        y = call(m, x)
        (y.float() ** 2).sum().backward()
        assert y.dtype == m.bfloat16 and x.grad.dtype == m.bfloat16
        results.append((y.float().detach().numpy(), x.grad.float().numpy()))
    (y_want, g_want), (y_got, g_got) = results
    np.testing.assert_allclose(y_got, y_want, rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(g_got, g_want, rtol=5e-2, atol=5e-2)


def test_norm_bfloat16_input_float64_parameters_still_raise() -> None:
    for m in (torch, chainrule):
        x = _bf16_input(m, (2, 4), 0)
        with pytest.raises(RuntimeError):
            m.nn.functional.layer_norm(x, (4,), m.ones(4, dtype=m.float64))


def test_layer_norm_under_cpu_autocast() -> None:
    """The program's case: a float32 LayerNorm fed by an autocast (bfloat16) Linear."""
    dtypes = []
    for m in (torch, chainrule):
        m.manual_seed(0)
        lin, ln = m.nn.Linear(4, 4), m.nn.LayerNorm(4)
        with m.autocast("cpu", dtype=m.bfloat16):
            h = lin(m.ones(2, 4))
            dtypes.append((str(h.dtype), str(ln(h).dtype)))
    assert [tuple(d.split(".")[-1] for d in pair) for pair in dtypes] == [
        ("bfloat16", "bfloat16")
    ] * 2


# -- bfloat16 scaled dot-product attention ----------------------------------------------------


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float"])
def test_sdpa_bfloat16(mask: str) -> None:
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 2, 5, 4)) for _ in range(3)]
    blocked = rng.random((5, 5)) > 0.3
    np.fill_diagonal(blocked, True)
    additive = rng.standard_normal((5, 5))
    results = []
    for m in (torch, chainrule):
        q, k, v = (m.tensor(a, dtype=m.float32).to(m.bfloat16).requires_grad_() for a in arrays)
        kw: dict[str, Any] = {
            "none": {},
            "causal": {"is_causal": True},
            "bool": {"attn_mask": m.tensor(blocked)},
            "float": {"attn_mask": m.tensor(additive, dtype=m.float32).to(m.bfloat16)},
        }[mask]
        out = m.nn.functional.scaled_dot_product_attention(q, k, v, **kw)
        out.float().sum().backward()
        assert out.dtype == m.bfloat16 and q.grad.dtype == m.bfloat16
        results.append([t.float().detach().numpy() for t in (out, q.grad, k.grad, v.grad)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=3e-2, atol=3e-2)


def test_multihead_attention_bfloat16() -> None:
    outs = []
    for m in (torch, chainrule):
        m.manual_seed(0)
        mha = m.nn.MultiheadAttention(4, 2, batch_first=True)
        state = (
            {k: torch.tensor(v) for k, v in _MHA_STATE.items()}
            if m is torch
            else {k: chainrule.tensor(v) for k, v in _MHA_STATE.items()}
        )
        mha.load_state_dict(state)
        mha = mha.to(m.bfloat16)
        x = _bf16_input(m, (2, 3, 4), 9)
        out, weights = mha(x, x, x)
        assert out.dtype == weights.dtype == m.bfloat16
        outs.append(out.float().detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=3e-2, atol=3e-2)


_MHA_STATE = {
    "in_proj_weight": np.random.default_rng(1).standard_normal((12, 4)) * 0.5,
    "in_proj_bias": np.random.default_rng(2).standard_normal(12) * 0.1,
    "out_proj.weight": np.random.default_rng(3).standard_normal((4, 4)) * 0.5,
    "out_proj.bias": np.random.default_rng(4).standard_normal(4) * 0.1,
}


@pytest.mark.parametrize("weight_dtype", [None, "float32", "bfloat16"])
def test_rms_norm_bfloat16(weight_dtype: str | None) -> None:
    """RMSNorm (Llama-style blocks) on bfloat16 activations: chainrule raised DtypeError.
    The result is bfloat16 and close to torch's; the gradient is checked against a float64
    reference (torch's own bfloat16 gradient carries its intermediate roundings)."""
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((3, 8)), rng.uniform(0.5, 1.5, 8)

    def run(m: Any, dtype: Any, wdtype: Any) -> tuple[Any, Any, Any]:
        x = m.tensor(xa, dtype=m.float32).to(m.bfloat16).to(dtype).requires_grad_()
        w = None if wdtype is None else m.tensor(wa, dtype=m.float32).to(wdtype)
        if w is not None:
            w = w.to(m.float64 if dtype == m.float64 else w.dtype).requires_grad_()
        y = m.nn.functional.rms_norm(x, (8,), w, eps=2.0**-7)
        (y.float() ** 2).sum().backward()
        return y, x.grad, None if w is None else w.grad

    def dt(m: Any) -> Any:
        return None if weight_dtype is None else getattr(m, weight_dtype)

    with warnings.catch_warnings():
        # torch's mixed-dtype warning is once per process (another test in this worker may
        # have used it up): not asserted here
        warnings.simplefilter("ignore")
        y_t, _, _ = run(torch, torch.bfloat16, dt(torch))
    y_ref, gx_ref, gw_ref = run(torch, torch.float64, dt(torch))
    y, gx, gw = run(chainrule, chainrule.bfloat16, dt(chainrule))
    assert y.dtype == chainrule.bfloat16 and gx.dtype == chainrule.bfloat16
    np.testing.assert_allclose(y.float().detach().numpy(), y_t.float().detach().numpy(), atol=4e-2)
    np.testing.assert_allclose(
        y.float().detach().numpy(), y_ref.detach().numpy(), rtol=1e-2, atol=1e-2
    )
    np.testing.assert_allclose(gx.float().numpy(), gx_ref.numpy(), rtol=2e-2, atol=2e-2)
    if gw is not None:
        assert str(gw.dtype) == f"torch.{weight_dtype}"
        np.testing.assert_allclose(gw.float().numpy(), gw_ref.numpy(), rtol=1e-2, atol=1e-1)


# -- torch.load's map_location as a dict or a function; torch.save's format switch -----------


def test_load_map_location_dict_and_function(tmp_path: Any) -> None:
    """``map_location={"cuda:0": "cpu"}`` and ``lambda storage, loc: storage`` (older scripts)
    raised NotImplementedError. The function is called once per storage (a view shares its
    base's), with the storage and its location, as PyTorch calls it."""
    t = torch.arange(4.0)
    path = tmp_path / "checkpoint.pt"
    torch.save({"t": t, "views": [t[1:]], "other": torch.ones(2)}, path)
    for m in (torch, chainrule):
        calls: list = []

        def keep(storage: Any, loc: str, calls: list = calls) -> Any:
            calls.append(loc)
            return storage

        got = m.load(path, map_location=keep, weights_only=True)
        assert calls == ["cpu", "cpu"]
        got["t"][1] = 9.0  # the view still shares its base's memory
        assert got["views"][0].tolist() == [9.0, 2.0, 3.0]
        got = m.load(path, map_location={"cuda:0": "cpu"}, weights_only=True)
        assert got["t"].tolist() == [0.0, 1.0, 2.0, 3.0] and got["t"].device.type == "cpu"
        with pytest.raises(TypeError):
            m.load(path, map_location=lambda storage, loc: 3, weights_only=True)


def test_save_use_new_zipfile_serialization(tmp_path: Any) -> None:
    chainrule.save({"a": chainrule.ones(2)}, tmp_path / "z.pt", _use_new_zipfile_serialization=True)
    assert torch.load(tmp_path / "z.pt")["a"].tolist() == [1.0, 1.0]
    with pytest.raises(NotImplementedError, match="_use_new_zipfile_serialization"):
        chainrule.save({}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)


def test_save_keeps_tied_weights_one_storage(tmp_path: Any) -> None:
    """A tied weight (GPT's ``lm_head.weight = wte.weight``) appears in the state dict under
    two names; ``torch.save`` writes one storage, so the loaded tensors share memory again
    (and the file holds the weight once). chainrule wrote two copies."""
    net = chainrule.nn.ModuleDict(
        {"wte": chainrule.nn.Embedding(5, 3), "lm_head": chainrule.nn.Linear(3, 5, bias=False)}
    )
    net["lm_head"].weight = net["wte"].weight
    chainrule.save(net.state_dict(), tmp_path / "tied.pt")
    for m in (torch, chainrule):
        sd = m.load(tmp_path / "tied.pt", weights_only=True)
        assert sd["wte.weight"].data_ptr() == sd["lm_head.weight"].data_ptr()
        assert sd["wte.weight"].tolist() == net["wte"].weight.tolist()
