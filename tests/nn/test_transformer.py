"""Transformer layers against PyTorch with copied weights (float64), plus RMSNorm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import close, copy_params

E, H, FF = 8, 2, 16


def _data(*shape, seed=0):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _pair(cr_cls, torch_cls, *args, **kw):
    ref = torch_cls(*args, dtype=torch.float64, **kw)
    mod = cr_cls(*args, dtype=cr.float64, **kw)
    assert [(n, tuple(p.shape)) for n, p in ref.state_dict().items()] == [
        (n, tuple(p.shape)) for n, p in mod.state_dict().items()
    ]
    copy_params(mod, ref)
    return mod, ref


def _check(mod, ref, inputs, cr_kw=None, torch_kw=None, tol=1e-11):
    """Outputs, input gradients and every parameter gradient equal PyTorch's."""
    out = mod(*(c for c, _ in inputs), **(cr_kw or {}))
    rout = ref(*(t for _, t in inputs), **(torch_kw or {}))
    close(out, rout, tol)
    g = np.random.default_rng(7).standard_normal(rout.shape)
    (out * cr.tensor(g)).sum().backward()
    (rout * torch.tensor(g)).sum().backward()
    for c, t in inputs:
        close(c.grad, t.grad, tol)
    for (n, p), (rn, rp) in zip(mod.named_parameters(), ref.named_parameters()):
        assert n == rn
        close(p.grad, rp.grad, tol)


def _seq(L, N=2, batch_first=False, seed=0):
    return _data(*((N, L, E) if batch_first else (L, N, E)), seed=seed)


def _masks(L, S, N=2):
    rng = np.random.default_rng(3)
    attn = rng.standard_normal((L, S))
    kpm = np.zeros((N, S), bool)
    kpm[1, -1] = True
    return (cr.tensor(attn), torch.tensor(attn)), (cr.tensor(kpm), torch.tensor(kpm))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(batch_first, norm_first, activation):
    mod, ref = _pair(
        cr.nn.TransformerEncoderLayer,
        torch.nn.TransformerEncoderLayer,
        E,
        H,
        FF,
        dropout=0.0,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    (ca, ta), (ck, tk) = _masks(4, 4)
    _check(
        mod,
        ref,
        [_seq(4, batch_first=batch_first)],
        {"src_mask": ca, "src_key_padding_mask": ck},
        {"src_mask": ta, "src_key_padding_mask": tk},
    )


def test_encoder_layer_callable_activation_no_bias_and_causal():
    mod, ref = _pair(
        cr.nn.TransformerEncoderLayer,
        torch.nn.TransformerEncoderLayer,
        E,
        H,
        FF,
        dropout=0.0,
        bias=False,
        layer_norm_eps=1e-3,
    )
    mod.activation, ref.activation = cr.nn.functional.silu, torch.nn.functional.silu
    assert mod.norm1.bias is None and mod.linear1.bias is None
    causal = np.triu(np.full((4, 4), -np.inf), 1)
    _check(
        mod,
        ref,
        [_seq(4)],
        {"src_mask": cr.tensor(causal), "is_causal": True},
        {"src_mask": torch.tensor(causal), "is_causal": True},
    )
    layer = cr.nn.TransformerEncoderLayer(E, H, activation=cr.nn.GELU(approximate="tanh"))
    assert "activation" in dict(layer.named_children())
    with pytest.raises(RuntimeError, match="relu/gelu"):
        cr.nn.TransformerEncoderLayer(E, H, activation="tanh")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(batch_first, norm_first):
    mod, ref = _pair(
        cr.nn.TransformerDecoderLayer,
        torch.nn.TransformerDecoderLayer,
        E,
        H,
        FF,
        dropout=0.0,
        activation="gelu",
        batch_first=batch_first,
        norm_first=norm_first,
    )
    tgt_mask = np.triu(np.full((3, 3), -np.inf), 1)
    (cm, tm), (ck, tk) = _masks(3, 5)
    _check(
        mod,
        ref,
        [_seq(3, batch_first=batch_first), _seq(5, batch_first=batch_first, seed=1)],
        {
            "tgt_mask": cr.tensor(tgt_mask),
            "memory_mask": cm,
            "memory_key_padding_mask": ck,
            "tgt_is_causal": True,
        },
        {
            "tgt_mask": torch.tensor(tgt_mask),
            "memory_mask": tm,
            "memory_key_padding_mask": tk,
            "tgt_is_causal": True,
        },
    )


def test_encoder_and_decoder_stacks_match_torch():
    layer = torch.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, dtype=torch.float64)
    ref = torch.nn.TransformerEncoder(
        layer, 2, norm=torch.nn.LayerNorm(E, dtype=torch.float64), enable_nested_tensor=False
    )
    mod = cr.nn.TransformerEncoder(
        cr.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, dtype=cr.float64),
        2,
        norm=cr.nn.LayerNorm(E, dtype=cr.float64),
        enable_nested_tensor=False,
    )
    assert list(mod.state_dict()) == list(ref.state_dict())
    copy_params(mod, ref)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    ccausal = cr.nn.Transformer.generate_square_subsequent_mask(4, dtype=cr.float64)
    _check(mod, ref, [_seq(4)], {"mask": ccausal}, {"mask": causal})  # causal detected

    dlayer = torch.nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, dtype=torch.float64)
    dref = torch.nn.TransformerDecoder(dlayer, 2)
    dmod = cr.nn.TransformerDecoder(
        cr.nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, dtype=cr.float64), 2
    )
    copy_params(dmod, dref)
    _check(
        dmod,
        dref,
        [_seq(3), _seq(4, seed=1)],
        {"tgt_mask": ccausal[:3, :3]},
        {"tgt_mask": causal[:3, :3]},
    )


def test_stacks_deep_copy_their_layer():
    layer = cr.nn.TransformerEncoderLayer(E, H, FF)
    enc = cr.nn.TransformerEncoder(layer, 3)
    w = [m.linear1.weight for m in enc.layers]
    assert len({id(p) for p in w}) == 3 and all(p is not layer.linear1.weight for p in w)
    np.testing.assert_array_equal(w[0].data, w[2].data)  # copies start equal, as torch
    w[0].data[...] = 0
    assert not (w[1].data == 0).all()
    assert enc.use_nested_tensor is False and enc.mask_check is True


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    kw = {
        "num_encoder_layers": 2,
        "num_decoder_layers": 1,
        "dim_feedforward": FF,
        "dropout": 0.0,
        "batch_first": batch_first,
    }
    mod, ref = _pair(cr.nn.Transformer, torch.nn.Transformer, E, H, **kw)
    assert mod.num_parameters() == sum(p.numel() for p in ref.parameters())
    tgt_mask = np.triu(np.full((3, 3), -np.inf), 1)
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = True
    src, tgt = _seq(5, batch_first=batch_first), _seq(3, batch_first=batch_first, seed=1)
    _check(
        mod,
        ref,
        [src, tgt],
        {
            "tgt_mask": cr.tensor(tgt_mask),
            "src_key_padding_mask": cr.tensor(kpm),
            "memory_key_padding_mask": cr.tensor(kpm),
        },
        {
            "tgt_mask": torch.tensor(tgt_mask),
            "src_key_padding_mask": torch.tensor(kpm),
            "memory_key_padding_mask": torch.tensor(kpm),
        },
    )


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_transformer_parameter_names_counts_and_init():
    ref = torch.nn.Transformer(16, 4, 2, 2, 32, norm_first=True, bias=False)
    mod = cr.nn.Transformer(16, 4, 2, 2, 32, norm_first=True, bias=False)
    assert [(n, tuple(p.shape)) for n, p in mod.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in ref.named_parameters()
    ]
    w = mod.encoder.layers[0].linear1.weight.data  # xavier_uniform_: bound √(6 / (16 + 32))
    assert np.abs(w).max() <= np.sqrt(6 / 48) and np.abs(w).max() > 0.8 * np.sqrt(6 / 48)
    assert not np.array_equal(
        mod.encoder.layers[0].linear1.weight.data, mod.encoder.layers[1].linear1.weight.data
    )
    with pytest.raises(RuntimeError, match="batch number"):
        mod(cr.randn(5, 2, 16), cr.randn(3, 3, 16))
    with pytest.raises(RuntimeError, match="d_model"):
        mod(cr.randn(5, 2, 8), cr.randn(3, 2, 8))


def test_generate_square_subsequent_mask():
    m = cr.nn.Transformer.generate_square_subsequent_mask(4)
    ref = torch.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(m.data, ref.numpy())
    assert m.dtype == cr.float32


def test_encoder_layer_gradcheck_tiny():
    layer = cr.nn.TransformerEncoderLayer(
        4, 2, 6, dropout=0.0, dtype=cr.float64, norm_first=True, activation="gelu"
    )
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 1, 4)), requires_grad=True)
    assert cr.autograd.gradcheck(
        lambda x: layer(
            x, is_causal=True, src_mask=cr.tensor(np.triu(np.full((3, 3), -np.inf), 1))
        ),
        (x,),
    )


def test_dropout_train_random_eval_deterministic():
    layer = cr.nn.TransformerEncoderLayer(E, H, FF, dropout=0.3, dtype=cr.float64)
    x = cr.randn(4, 2, E, dtype=cr.float64)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.data, b.data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


# --------------------------------------------------------------------------------- RMSNorm
@pytest.mark.parametrize("shape", [(4,), (3, 4)])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(shape, eps):
    mod, ref = _pair(cr.nn.RMSNorm, torch.nn.RMSNorm, shape, eps=eps)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
    copy_params(mod, ref)
    _check(mod, ref, [_data(2, 3, 4)])
    assert repr(mod) == repr(ref)
    x = cr.tensor(np.random.default_rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda x: mod(x), (x,))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        mod(cr.randn(2, 5))


def test_default_transformer_has_torch_parameter_count(monkeypatch):
    """nn.Transformer() (512 wide, 8 heads, 6 + 6 layers): PyTorch's 44,140,544 parameters."""
    monkeypatch.setattr(cr.nn.init, "xavier_uniform_", lambda t, *a, **k: t)
    monkeypatch.setattr(cr.nn.Linear, "reset_parameters", lambda self: None)
    assert cr.nn.Transformer().num_parameters() == 44_140_544
    assert cr.nn.Transformer(bias=False, norm_first=True).num_parameters() == 44_056_576


def test_building_blocks_transformers_need_match_torch():
    """gelu(tanh), silu, LayerNorm without bias and Embedding(max_norm) as PyTorch."""
    (x, tx) = _data(3, 5)
    close(
        cr.nn.functional.gelu(x, approximate="tanh"),
        torch.nn.functional.gelu(tx, approximate="tanh"),
    )
    close(cr.nn.SiLU()(x), torch.nn.SiLU()(tx))
    mod, ref = _pair(cr.nn.LayerNorm, torch.nn.LayerNorm, 5, bias=False)
    assert mod.bias is None
    _check(mod, ref, [_data(2, 5, seed=1)])
    w = np.random.default_rng(0).standard_normal((6, 4)) * 2
    emb = cr.nn.Embedding(6, 4, max_norm=1.5, _weight=cr.tensor(w.copy()))
    ref_emb = torch.nn.Embedding(6, 4, max_norm=1.5, _weight=torch.tensor(w.copy()))
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    close(emb(cr.tensor(idx)), ref_emb(torch.tensor(idx)))
    close(emb.weight, ref_emb.weight)  # looked-up rows renormalised in place, others kept


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, float("inf")])
def test_embedding_max_norm_renorm_matches_torch(norm_type):
    """F.embedding's in-place renorm of the looked-up rows, every p including the max norm
    (where (Σ |w|^p)^(1/p) is not the limit in floating point)."""
    w = np.random.default_rng(3).standard_normal((6, 4))
    idx = [0, 2, 2, 5]
    cw, tw = cr.tensor(w.copy()), torch.tensor(w.copy())
    out = cr.nn.functional.embedding(cr.tensor(idx), cw, max_norm=0.5, norm_type=norm_type)
    ref = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=0.5, norm_type=norm_type)
    np.testing.assert_allclose(cw.numpy(), tw.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12, atol=1e-15)
