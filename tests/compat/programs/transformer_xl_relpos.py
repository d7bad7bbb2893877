"""Transformer-XL's relative positional attention and segment recurrence, as
kimiyoung/transformer-xl (``pytorch/mem_transformer.py``, ``pytorch/train.py``) and its
HuggingFace port (``modeling_transfo_xl.py``) write them, size-reduced.

The idioms: ``PositionalEmbedding`` (``inv_freq = 1 / (10000 ** (torch.arange(0.0, demb,
2.0) / demb))`` kept with ``register_buffer``, ``sinusoid_inp = torch.ger(pos_seq,
self.inv_freq)`` (``torch.outer`` in later ports), ``torch.cat([sinusoid_inp.sin(),
sinusoid_inp.cos()], dim=-1)``, ``pos_emb[:, None, :].expand(-1, bsz, -1)``);
``PositionwiseFF`` (``nn.Sequential(nn.Linear, nn.ReLU(inplace=True), nn.Dropout, nn.Linear,
nn.Dropout)``, post-LayerNorm);
``RelPartialLearnableMultiHeadAttn`` (``qkv_net`` with ``bias=False``, ``torch.chunk(w_heads,
3, dim=-1)``, ``w_head_q[-qlen:]``, ``.view(qlen, bsz, n_head, d_head)``, the old
tuple-operand ``torch.einsum('ibnd,jbnd->ijbn', (rw_head_q, w_head_k))`` and
``'ibnd,jnd->ijbn'``, ``attn_score.mul_(self.scale)``, ``attn_mask.any().item()``,
``attn_score.float().masked_fill(attn_mask[:, :, :, None], -float('inf')).type_as(
attn_score)``, ``F.softmax(attn_score, dim=1)``, the 2-d mask's in-place ``attn_score.masked_fill_(
attn_mask[None, :, :, None], -float('inf'))``, ``'ijbn,jbnd->ibnd'``,
``attn_vec.contiguous().view(...)``); ``_rel_shift`` both ways (``torch.zeros((x.size(0), 1,
*x.size()[2:]), device=x.device, dtype=x.dtype)``, ``torch.cat([zero_pad, x], dim=1)``,
``x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])``, ``x_padded[1:].view_as(x)``, the
``zero_triu`` branch with ``torch.tril(ones, x.size(1) - x.size(0))[:, :, None, None]``; and
the ``F.pad(x, (1, 0))`` form of later ports); ``MemTransformerLM`` (``self.r_w_bias =
nn.Parameter(torch.Tensor(self.n_head, self.d_head))`` initialised with ``nn.init.normal_``
in ``train.py``'s ``weights_init`` via ``model.apply`` and ``classname.find('Linear')``;
``init_mems`` with ``torch.empty(0, dtype=param.dtype, device=param.device)``; the mask
``torch.triu(word_emb.new_ones(qlen, klen), diagonal=1 + mlen).bool()[:, :, None]``;
``torch.arange(klen - 1, -1, -1.0, device=..., dtype=...)`` with ``pos_seq.clamp_(
max=self.clamp_len)``; ``_update_mems`` under ``torch.no_grad()`` with ``torch.cat([mems[i],
hids[i]], dim=0)`` and ``cat[beg_idx:end_idx].detach()``; ``forward(self, data, target,
*mems)`` returning ``[loss] + new_mems``); the criterion ``-F.log_softmax(logit,
dim=-1).gather(1, target.unsqueeze(1)).squeeze(1)``; and ``train.py``'s loop over segments
(``model.zero_grad()``, ``ret = model(data, target, *mems)``, ``loss, mems = ret[0],
ret[1:]``, ``loss = loss.float().mean().type_as(loss)``, ``torch.nn.utils.clip_grad_norm_(
model.parameters(), args.clip)``, ``optim.Adam``).

Changed: two layers of ``d_model = 8`` and two heads over a 13-word vocabulary; segments of 4
tokens with a memory of 4; dropout 0 (random masks cannot agree between two frameworks).
``RTOL`` is 3e-7 since ``loss.float().mean()`` averages in float32, where the two libraries
add in different orders (a float32 ulp apart); everything else is float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

RTOL = 3e-7

VOCAB, N_LAYER, N_HEAD, D_MODEL, D_HEAD, D_INNER = 13, 2, 2, 8, 4, 16
TGT_LEN, MEM_LEN, BSZ, CLAMP_LEN, SEGMENTS, CLIP, INIT_STD = 4, 4, 3, 6, 3, 0.25, 0.1


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class PositionalEmbedding(nn.Module):
        def __init__(self, demb: int) -> None:
            super().__init__()
            self.demb = demb
            inv_freq = 1 / (10000 ** (torch.arange(0.0, demb, 2.0) / demb))
            self.register_buffer("inv_freq", inv_freq)

        def forward(self, pos_seq: Any, bsz: int | None = None) -> Any:
            sinusoid_inp = torch.ger(pos_seq, self.inv_freq)
            pos_emb = torch.cat([sinusoid_inp.sin(), sinusoid_inp.cos()], dim=-1)
            if bsz is not None:
                return pos_emb[:, None, :].expand(-1, bsz, -1)
            return pos_emb[:, None, :]

    class PositionwiseFF(nn.Module):
        def __init__(self, d_model: int, d_inner: int, dropout: float) -> None:
            super().__init__()
            self.CoreNet = nn.Sequential(
                nn.Linear(d_model, d_inner),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(d_inner, d_model),
                nn.Dropout(dropout),
            )
            self.layer_norm = nn.LayerNorm(d_model)

        def forward(self, inp: Any) -> Any:
            core_out = self.CoreNet(inp)
            return self.layer_norm(inp + core_out)

    class RelPartialLearnableMultiHeadAttn(nn.Module):
        def __init__(self, n_head: int, d_model: int, d_head: int, dropout: float) -> None:
            super().__init__()
            self.n_head = n_head
            self.d_model = d_model
            self.d_head = d_head
            self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head, bias=False)
            self.drop = nn.Dropout(dropout)
            self.dropatt = nn.Dropout(dropout)
            self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)
            self.layer_norm = nn.LayerNorm(d_model)
            self.scale = 1 / (d_head**0.5)
            self.r_net = nn.Linear(self.d_model, self.n_head * self.d_head, bias=False)

        def _rel_shift(self, x: Any, zero_triu: bool = False) -> Any:
            zero_pad = torch.zeros((x.size(0), 1, *x.size()[2:]), device=x.device, dtype=x.dtype)
            x_padded = torch.cat([zero_pad, x], dim=1)
            x_padded = x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])
            x = x_padded[1:].view_as(x)
            if zero_triu:
                ones = torch.ones((x.size(0), x.size(1)))
                x = x * torch.tril(ones, x.size(1) - x.size(0))[:, :, None, None]
            return x

        def forward(
            self, w: Any, r: Any, r_w_bias: Any, r_r_bias: Any, attn_mask: Any, mems: Any
        ) -> Any:
            qlen, rlen, bsz = w.size(0), r.size(0), w.size(1)
            if mems is not None:
                cat = torch.cat([mems, w], 0)
                w_heads = self.qkv_net(cat)
            else:
                w_heads = self.qkv_net(w)
            r_head_k = self.r_net(r)
            w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)
            w_head_q = w_head_q[-qlen:]
            klen = w_head_k.size(0)

            w_head_q = w_head_q.view(qlen, bsz, self.n_head, self.d_head)
            w_head_k = w_head_k.view(klen, bsz, self.n_head, self.d_head)
            w_head_v = w_head_v.view(klen, bsz, self.n_head, self.d_head)
            r_head_k = r_head_k.view(rlen, self.n_head, self.d_head)

            rw_head_q = w_head_q + r_w_bias
            AC = torch.einsum("ibnd,jbnd->ijbn", (rw_head_q, w_head_k))
            rr_head_q = w_head_q + r_r_bias
            BD = torch.einsum("ibnd,jnd->ijbn", (rr_head_q, r_head_k))
            BD = self._rel_shift(BD)

            attn_score = AC + BD
            attn_score.mul_(self.scale)
            if attn_mask is not None and attn_mask.any().item():
                attn_score = (
                    attn_score.float()
                    .masked_fill(attn_mask[:, :, :, None], -float("inf"))
                    .type_as(attn_score)
                )
            attn_prob = F.softmax(attn_score, dim=1)
            attn_prob = self.dropatt(attn_prob)
            attn_vec = torch.einsum("ijbn,jbnd->ibnd", (attn_prob, w_head_v))
            attn_vec = attn_vec.contiguous().view(
                attn_vec.size(0), attn_vec.size(1), self.n_head * self.d_head
            )
            attn_out = self.drop(self.o_net(attn_vec))
            return self.layer_norm(w + attn_out)

    class RelPartialLearnableDecoderLayer(nn.Module):
        def __init__(self, n_head: int, d_model: int, d_head: int, d_inner: int) -> None:
            super().__init__()
            self.dec_attn = RelPartialLearnableMultiHeadAttn(n_head, d_model, d_head, 0.0)
            self.pos_ff = PositionwiseFF(d_model, d_inner, 0.0)

        def forward(self, dec_inp: Any, r: Any, r_w_bias: Any, r_r_bias: Any, **kw: Any) -> Any:
            output = self.dec_attn(
                dec_inp, r, r_w_bias, r_r_bias, attn_mask=kw["dec_attn_mask"], mems=kw["mems"]
            )
            return self.pos_ff(output)

    class MemTransformerLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n_token, self.d_model, self.n_head, self.d_head = VOCAB, D_MODEL, N_HEAD, D_HEAD
            self.word_emb = nn.Embedding(VOCAB, D_MODEL)
            self.drop = nn.Dropout(0.0)
            self.n_layer, self.tgt_len, self.mem_len, self.ext_len = N_LAYER, TGT_LEN, MEM_LEN, 0
            self.clamp_len = CLAMP_LEN
            self.layers = nn.ModuleList()
            for _i in range(N_LAYER):
                self.layers.append(
                    RelPartialLearnableDecoderLayer(N_HEAD, D_MODEL, D_HEAD, D_INNER)
                )
            self.out_layer = nn.Linear(D_MODEL, VOCAB)
            self.pos_emb = PositionalEmbedding(self.d_model)
            self.r_w_bias = nn.Parameter(torch.Tensor(self.n_head, self.d_head))
            self.r_r_bias = nn.Parameter(torch.Tensor(self.n_head, self.d_head))

        def init_mems(self) -> list[Any]:
            mems = []
            param = next(self.parameters())
            for _i in range(self.n_layer + 1):
                empty = torch.empty(0, dtype=param.dtype, device=param.device)
                mems.append(empty)
            return mems

        def _update_mems(self, hids: list, mems: list, qlen: int, mlen: int) -> list[Any]:
            assert len(hids) == len(mems), "len(hids) != len(mems)"
            with torch.no_grad():
                new_mems = []
                end_idx = mlen + max(0, qlen - 0 - self.ext_len)
                beg_idx = max(0, end_idx - self.mem_len)
                for i in range(len(hids)):
                    cat = torch.cat([mems[i], hids[i]], dim=0)
                    new_mems.append(cat[beg_idx:end_idx].detach())
            return new_mems

        def _forward(self, dec_inp: Any, mems: list) -> tuple[Any, list]:
            qlen, bsz = dec_inp.size()
            word_emb = self.word_emb(dec_inp)
            mlen = mems[0].size(0) if mems is not None else 0
            klen = mlen + qlen
            dec_attn_mask = torch.triu(word_emb.new_ones(qlen, klen), diagonal=1 + mlen).bool()[
                :, :, None
            ]
            hids = []
            pos_seq = torch.arange(klen - 1, -1, -1.0, device=word_emb.device, dtype=word_emb.dtype)
            if self.clamp_len > 0:
                pos_seq.clamp_(max=self.clamp_len)
            pos_emb = self.pos_emb(pos_seq)
            core_out = self.drop(word_emb)
            pos_emb = self.drop(pos_emb)
            hids.append(core_out)
            for i, layer in enumerate(self.layers):
                mems_i = None if mems is None else mems[i]
                core_out = layer(
                    core_out,
                    pos_emb,
                    self.r_w_bias,
                    self.r_r_bias,
                    dec_attn_mask=dec_attn_mask,
                    mems=mems_i,
                )
                hids.append(core_out)
            core_out = self.drop(core_out)
            new_mems = self._update_mems(hids, mems, mlen, qlen)
            return core_out, new_mems

        def forward(self, data: Any, target: Any, *mems: Any) -> list[Any]:
            if not mems:
                mems = self.init_mems()
            tgt_len = target.size(0)
            hidden, new_mems = self._forward(data, mems=mems)
            pred_hid = hidden[-tgt_len:]
            logit = self.out_layer(pred_hid.view(-1, pred_hid.size(-1)))
            nll = -F.log_softmax(logit, dim=-1).gather(1, target.view(-1).unsqueeze(1)).squeeze(1)
            loss = nll.view(tgt_len, -1)
            return [loss] + new_mems

    return MemTransformerLM, RelPartialLearnableMultiHeadAttn


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    MemTransformerLM, _ = _classes(torch_like)

    def init_weight(weight: Any) -> None:
        nn.init.normal_(weight, 0.0, INIT_STD)

    def init_bias(bias: Any) -> None:
        nn.init.constant_(bias, 0.0)

    def weights_init(m: Any) -> None:
        classname = m.__class__.__name__
        if classname.find("Linear") != -1:
            if hasattr(m, "weight") and m.weight is not None:
                init_weight(m.weight)
            if hasattr(m, "bias") and m.bias is not None:
                init_bias(m.bias)
        elif classname.find("Embedding") != -1:
            if hasattr(m, "weight"):
                init_weight(m.weight)
        elif classname.find("LayerNorm") != -1:
            if hasattr(m, "weight"):
                nn.init.normal_(m.weight, 1.0, INIT_STD)
            if hasattr(m, "bias") and m.bias is not None:
                init_bias(m.bias)
        elif classname.find("TransformerLM") != -1:
            if hasattr(m, "r_w_bias"):
                init_weight(m.r_w_bias)
            if hasattr(m, "r_r_bias"):
                init_weight(m.r_r_bias)

    model = MemTransformerLM()
    model.apply(weights_init)
    return model


def rel_shift_facts(torch_like: Any) -> list[float]:
    """The zero-pad shift, its ``zero_triu`` branch and the ``F.pad`` form agree."""
    torch = torch_like
    F = torch_like.nn.functional
    _, Attn = _classes(torch_like)
    attn = Attn(N_HEAD, D_MODEL, D_HEAD, 0.0)
    x = as_tensor(torch_like, np.arange(4 * 6 * 2 * 1, dtype=np.float64).reshape(4, 6, 2, 1))
    shifted = attn._rel_shift(x)
    triu = attn._rel_shift(x, zero_triu=True)
    padded = F.pad(x.permute(2, 3, 0, 1), (1, 0))  # (b, n, i, 1 + j): the XLNet-style shift
    b, n, i, j1 = padded.shape
    other = padded.view(b, n, j1, i)[:, :, 1:].reshape(b, n, i, j1 - 1).permute(2, 3, 0, 1)
    same = float(torch.equal(shifted, other))
    # the 2-d mask branch of ``RelLearnableMultiHeadAttn``: in place, broadcast over (b, n)
    score = shifted.clone()
    mask = torch.triu(torch.ones(4, 6), diagonal=1 + 2).bool()
    score.masked_fill_(mask[:, :, None, None], -float("inf"))
    prob = F.softmax(score, dim=1)
    pos = torch.arange(3.0, -1, -1.0)
    inv_freq = 1 / (10000 ** (torch.arange(0.0, 4, 2.0) / 4))
    outer = float(torch.equal(torch.outer(pos, inv_freq), torch.ger(pos, inv_freq)))
    values = shifted.flatten().tolist() + triu.flatten().tolist() + [same, outer]
    return values + prob[:, :, 0, 0].flatten().tolist()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(20)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values = rel_shift_facts(torch_like)
    pos = model.pos_emb(torch.arange(5.0, -1, -1.0), bsz=2)
    values += list(pos.shape) + pos[:, 0].flatten().tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    stream = rng.integers(0, VOCAB, (TGT_LEN * SEGMENTS + 1, BSZ))
    for _epoch in range(2):
        model.train()
        mems: tuple = ()
        for seg in range(SEGMENTS):
            beg = seg * TGT_LEN
            data = as_tensor(torch_like, stream[beg : beg + TGT_LEN])
            target = as_tensor(torch_like, stream[beg + 1 : beg + 1 + TGT_LEN])
            model.zero_grad()
            ret = model(data, target, *mems)
            loss, mems = ret[0], ret[1:]
            loss = loss.float().mean().type_as(loss)
            loss.backward()
            values.append(loss.float().item())
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            values.append(norm.item())
            optimizer.step()
            values += [float(m.requires_grad) for m in mems] + [mems[0].size(0)]
        values += mems[-1].flatten().tolist()
    model.eval()
    with torch.no_grad():
        ret = model(as_tensor(torch_like, stream[:TGT_LEN]), as_tensor(torch_like, stream[1:5]))
    values += ret[0].flatten().tolist()
    return values
