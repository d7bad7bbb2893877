"""Deformable DETR (fundamentalvision/Deformable-DETR) multi-scale deformable attention in pure
PyTorch, size-reduced: ``models/ops/functions/ms_deform_attn_func.py``'s
``ms_deform_attn_core_pytorch``, ``models/ops/modules/ms_deform_attn.py``'s ``MSDeformAttn``
and the encoder of ``models/deformable_transformer.py``.

The idioms: ``value.split([H_ * W_ for H_, W_ in value_spatial_shapes], dim=1)`` with the
level shapes a long tensor (its rows unpack into 0-d tensors used as sizes), ``sampling_grids
= 2 * sampling_locations - 1``, per level ``value_list[lid_].flatten(2).transpose(1, 2)
.reshape(N_*M_, D_, H_, W_)`` and ``sampling_grids[:, :, :, lid_].transpose(1, 2).flatten(0,
1)``, ``F.grid_sample(value_l_, sampling_grid_l_, mode='bilinear', padding_mode='zeros',
align_corners=False)``, the weighted sum ``(torch.stack(sampling_value_list, dim=-2)
.flatten(-2) * attention_weights).sum(-1).view(N_, M_*D_, Lq_)`` and
``output.transpose(1, 2).contiguous()``; ``MSDeformAttn._reset_parameters`` (``constant_
(self.sampling_offsets.weight.data, 0.)``, ``thetas = torch.arange(self.n_heads,
dtype=torch.float32) * (2.0 * math.pi / self.n_heads)``, ``grid_init = torch.stack(
[thetas.cos(), thetas.sin()], -1)``, ``(grid_init / grid_init.abs().max(-1, keepdim=True)
[0]).view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)``, ``grid_init[:,
:, i, :] *= i + 1``, ``self.sampling_offsets.bias = nn.Parameter(grid_init.view(-1))`` under
``torch.no_grad()``, ``xavier_uniform_``); ``MSDeformAttn.forward`` (the padding mask by
``value.masked_fill(input_padding_mask[..., None], float(0))``, ``F.softmax`` over
``n_levels * n_points``, ``offset_normalizer = torch.stack([input_spatial_shapes[..., 1],
input_spatial_shapes[..., 0]], -1)`` and both reference-point forms, 2-d and 4-d boxes); the
encoder's ``get_reference_points`` (``torch.meshgrid(torch.linspace(0.5, H_ - 0.5, H_,
dtype=torch.float32, device=device), ...)`` with 0-d tensor ends and steps, no ``indexing=``,
``valid_ratios[:, None, lvl, 1] * H_``); ``DeformableTransformer.get_valid_ratio``
(``torch.sum(~mask[:, :, 0], 1)``, ``valid_H.float() / H``) and the flattening in
``forward`` (``src.flatten(2).transpose(1, 2)``, ``self.level_embed[lvl].view(1, 1, -1)``,
``torch.as_tensor(spatial_shapes, dtype=torch.long)``, ``level_start_index = torch.cat(
(spatial_shapes.new_zeros((1, )), spatial_shapes.prod(1).cumsum(0)[:-1]))``,
``normal_(self.level_embed)``); ``DeformableTransformerEncoderLayer`` (post-norm, ReLU FFN).

Changed: d_model 256 -> 8, 8 heads -> 2, 4 levels -> 2, 4 points -> 2, 6 layers -> 2, the
backbone features and masks are NumPy arrays; dropout 0.1 -> 0; the CUDA kernel is not used
(the pure-PyTorch function is what the repo's ``test.py`` checks it against). The encoder
output regresses to a NumPy target under ``AdamW``.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-5

D_MODEL, N_LEVELS, N_HEADS, N_POINTS, D_FFN, N_LAYERS = 8, 2, 2, 2, 16, 2
SHAPES = [(6, 5), (3, 3)]


def _classes(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    constant_, xavier_uniform_, normal_ = (
        nn.init.constant_,
        nn.init.xavier_uniform_,
        nn.init.normal_,
    )

    def ms_deform_attn_core_pytorch(
        value, value_spatial_shapes, sampling_locations, attention_weights
    ):
        # for debug and test only,
        # need to use cuda version instead
        N_, S_, M_, D_ = value.shape
        _, Lq_, M_, L_, P_, _ = sampling_locations.shape
        value_list = value.split([H_ * W_ for H_, W_ in value_spatial_shapes], dim=1)
        sampling_grids = 2 * sampling_locations - 1
        sampling_value_list = []
        for lid_, (H_, W_) in enumerate(value_spatial_shapes):
            # N_, H_*W_, M_, D_ -> N_, H_*W_, M_*D_ -> N_, M_*D_, H_*W_ -> N_*M_, D_, H_, W_
            value_l_ = value_list[lid_].flatten(2).transpose(1, 2).reshape(N_ * M_, D_, H_, W_)
            # N_, Lq_, M_, P_, 2 -> N_, M_, Lq_, P_, 2 -> N_*M_, Lq_, P_, 2
            sampling_grid_l_ = sampling_grids[:, :, :, lid_].transpose(1, 2).flatten(0, 1)
            # N_*M_, D_, Lq_, P_
            sampling_value_l_ = F.grid_sample(
                value_l_,
                sampling_grid_l_,
                mode="bilinear",
                padding_mode="zeros",
                align_corners=False,
            )
            sampling_value_list.append(sampling_value_l_)
        # (N_, Lq_, M_, L_, P_) -> (N_, M_, Lq_, L_, P_) -> (N_, M_, 1, Lq_, L_*P_)
        attention_weights = attention_weights.transpose(1, 2).reshape(N_ * M_, 1, Lq_, L_ * P_)
        output = (
            (torch.stack(sampling_value_list, dim=-2).flatten(-2) * attention_weights)
            .sum(-1)
            .view(N_, M_ * D_, Lq_)
        )
        return output.transpose(1, 2).contiguous()

    class MSDeformAttn(nn.Module):
        def __init__(self, d_model=256, n_levels=4, n_heads=8, n_points=4):
            """
            Multi-Scale Deformable Attention Module
            :param d_model      hidden dimension
            :param n_levels     number of feature levels
            :param n_heads      number of attention heads
            :param n_points     number of sampling points per attention head per feature level
            """
            super().__init__()
            if d_model % n_heads != 0:
                raise ValueError(
                    "d_model must be divisible by n_heads, but got {} and {}".format(  # noqa: UP032
                        d_model, n_heads
                    )
                )
            self.im2col_step = 64

            self.d_model = d_model
            self.n_levels = n_levels
            self.n_heads = n_heads
            self.n_points = n_points

            self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
            self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
            self.value_proj = nn.Linear(d_model, d_model)
            self.output_proj = nn.Linear(d_model, d_model)

            self._reset_parameters()

        def _reset_parameters(self):
            constant_(self.sampling_offsets.weight.data, 0.0)
            thetas = torch.arange(self.n_heads, dtype=torch.float32) * (
                2.0 * math.pi / self.n_heads
            )
            grid_init = torch.stack([thetas.cos(), thetas.sin()], -1)
            grid_init = (
                (grid_init / grid_init.abs().max(-1, keepdim=True)[0])
                .view(self.n_heads, 1, 1, 2)
                .repeat(1, self.n_levels, self.n_points, 1)
            )
            for i in range(self.n_points):
                grid_init[:, :, i, :] *= i + 1
            with torch.no_grad():
                self.sampling_offsets.bias = nn.Parameter(grid_init.view(-1))
            constant_(self.attention_weights.weight.data, 0.0)
            constant_(self.attention_weights.bias.data, 0.0)
            xavier_uniform_(self.value_proj.weight.data)
            constant_(self.value_proj.bias.data, 0.0)
            xavier_uniform_(self.output_proj.weight.data)
            constant_(self.output_proj.bias.data, 0.0)

        def forward(
            self,
            query,
            reference_points,
            input_flatten,
            input_spatial_shapes,
            input_level_start_index,
            input_padding_mask=None,
        ):
            N, Len_q, _ = query.shape
            N, Len_in, _ = input_flatten.shape
            assert (input_spatial_shapes[:, 0] * input_spatial_shapes[:, 1]).sum() == Len_in

            value = self.value_proj(input_flatten)
            if input_padding_mask is not None:
                value = value.masked_fill(input_padding_mask[..., None], float(0))
            value = value.view(N, Len_in, self.n_heads, self.d_model // self.n_heads)
            sampling_offsets = self.sampling_offsets(query).view(
                N, Len_q, self.n_heads, self.n_levels, self.n_points, 2
            )
            attention_weights = self.attention_weights(query).view(
                N, Len_q, self.n_heads, self.n_levels * self.n_points
            )
            attention_weights = F.softmax(attention_weights, -1).view(
                N, Len_q, self.n_heads, self.n_levels, self.n_points
            )
            # N, Len_q, n_heads, n_levels, n_points, 2
            if reference_points.shape[-1] == 2:
                offset_normalizer = torch.stack(
                    [input_spatial_shapes[..., 1], input_spatial_shapes[..., 0]], -1
                )
                sampling_locations = (
                    reference_points[:, :, None, :, None, :]
                    + sampling_offsets / offset_normalizer[None, None, None, :, None, :]
                )
            elif reference_points.shape[-1] == 4:
                sampling_locations = (
                    reference_points[:, :, None, :, None, :2]
                    + sampling_offsets
                    / self.n_points
                    * reference_points[:, :, None, :, None, 2:]
                    * 0.5
                )
            else:
                raise ValueError(
                    "Last dim of reference_points must be 2 or 4, but get {} instead.".format(  # noqa: UP032
                        reference_points.shape[-1]
                    )
                )
            output = ms_deform_attn_core_pytorch(
                value, input_spatial_shapes, sampling_locations, attention_weights
            )
            output = self.output_proj(output)
            return output

    class DeformableTransformerEncoderLayer(nn.Module):
        def __init__(self, d_model=256, d_ffn=1024, dropout=0.1, n_levels=4, n_heads=8, n_points=4):
            super().__init__()
            # self attention
            self.self_attn = MSDeformAttn(d_model, n_levels, n_heads, n_points)
            self.dropout1 = nn.Dropout(dropout)
            self.norm1 = nn.LayerNorm(d_model)
            # ffn
            self.linear1 = nn.Linear(d_model, d_ffn)
            self.activation = F.relu
            self.dropout2 = nn.Dropout(dropout)
            self.linear2 = nn.Linear(d_ffn, d_model)
            self.dropout3 = nn.Dropout(dropout)
            self.norm2 = nn.LayerNorm(d_model)

        @staticmethod
        def with_pos_embed(tensor, pos):
            return tensor if pos is None else tensor + pos

        def forward_ffn(self, src):
            src2 = self.linear2(self.dropout2(self.activation(self.linear1(src))))
            src = src + self.dropout3(src2)
            src = self.norm2(src)
            return src

        def forward(
            self, src, pos, reference_points, spatial_shapes, level_start_index, padding_mask=None
        ):
            # self attention
            src2 = self.self_attn(
                self.with_pos_embed(src, pos),
                reference_points,
                src,
                spatial_shapes,
                level_start_index,
                padding_mask,
            )
            src = src + self.dropout1(src2)
            src = self.norm1(src)
            # ffn
            src = self.forward_ffn(src)
            return src

    def _get_clones(module, N):
        return nn.ModuleList([copy.deepcopy(module) for i in range(N)])

    class DeformableTransformerEncoder(nn.Module):
        def __init__(self, encoder_layer, num_layers):
            super().__init__()
            self.layers = _get_clones(encoder_layer, num_layers)
            self.num_layers = num_layers

        @staticmethod
        def get_reference_points(spatial_shapes, valid_ratios, device):
            reference_points_list = []
            for lvl, (H_, W_) in enumerate(spatial_shapes):
                ref_y, ref_x = torch.meshgrid(
                    torch.linspace(0.5, H_ - 0.5, H_, dtype=torch.float32, device=device),
                    torch.linspace(0.5, W_ - 0.5, W_, dtype=torch.float32, device=device),
                )
                ref_y = ref_y.reshape(-1)[None] / (valid_ratios[:, None, lvl, 1] * H_)
                ref_x = ref_x.reshape(-1)[None] / (valid_ratios[:, None, lvl, 0] * W_)
                ref = torch.stack((ref_x, ref_y), -1)
                reference_points_list.append(ref)
            reference_points = torch.cat(reference_points_list, 1)
            reference_points = reference_points[:, :, None] * valid_ratios[:, None]
            return reference_points

        def forward(
            self, src, spatial_shapes, level_start_index, valid_ratios, pos=None, padding_mask=None
        ):
            output = src
            reference_points = self.get_reference_points(
                spatial_shapes, valid_ratios, device=src.device
            )
            for _, layer in enumerate(self.layers):
                output = layer(
                    output, pos, reference_points, spatial_shapes, level_start_index, padding_mask
                )
            return output

    class DeformableTransformer(nn.Module):
        """The encoder half of ``DeformableTransformer`` (``two_stage=False``)."""

        def __init__(self, d_model=256, nhead=8, num_encoder_layers=6, dim_feedforward=1024,
                     dropout=0.1, num_feature_levels=4, enc_n_points=4):  # fmt: skip
            super().__init__()
            self.d_model = d_model
            self.nhead = nhead
            encoder_layer = DeformableTransformerEncoderLayer(
                d_model, dim_feedforward, dropout, num_feature_levels, nhead, enc_n_points
            )
            self.encoder = DeformableTransformerEncoder(encoder_layer, num_encoder_layers)
            self.level_embed = nn.Parameter(torch.Tensor(num_feature_levels, d_model))
            self._reset_parameters()

        def _reset_parameters(self):
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
            for m in self.modules():
                if isinstance(m, MSDeformAttn):
                    m._reset_parameters()
            normal_(self.level_embed)

        def get_valid_ratio(self, mask):
            _, H, W = mask.shape
            valid_H = torch.sum(~mask[:, :, 0], 1)
            valid_W = torch.sum(~mask[:, 0, :], 1)
            valid_ratio_h = valid_H.float() / H
            valid_ratio_w = valid_W.float() / W
            valid_ratio = torch.stack([valid_ratio_w, valid_ratio_h], -1)
            return valid_ratio

        def forward(self, srcs, masks, pos_embeds):
            # prepare input for encoder
            src_flatten = []
            mask_flatten = []
            lvl_pos_embed_flatten = []
            spatial_shapes = []
            for lvl, (src, mask, pos_embed) in enumerate(zip(srcs, masks, pos_embeds)):
                bs, c, h, w = src.shape
                spatial_shape = (h, w)
                spatial_shapes.append(spatial_shape)
                src = src.flatten(2).transpose(1, 2)
                mask = mask.flatten(1)
                pos_embed = pos_embed.flatten(2).transpose(1, 2)
                lvl_pos_embed = pos_embed + self.level_embed[lvl].view(1, 1, -1)
                lvl_pos_embed_flatten.append(lvl_pos_embed)
                src_flatten.append(src)
                mask_flatten.append(mask)
            src_flatten = torch.cat(src_flatten, 1)
            mask_flatten = torch.cat(mask_flatten, 1)
            lvl_pos_embed_flatten = torch.cat(lvl_pos_embed_flatten, 1)
            spatial_shapes = torch.as_tensor(
                spatial_shapes, dtype=torch.long, device=src_flatten.device
            )
            level_start_index = torch.cat(
                (spatial_shapes.new_zeros((1,)), spatial_shapes.prod(1).cumsum(0)[:-1])
            )
            valid_ratios = torch.stack([self.get_valid_ratio(m) for m in masks], 1)

            # encoder
            memory = self.encoder(
                src_flatten,
                spatial_shapes,
                level_start_index,
                valid_ratios,
                lvl_pos_embed_flatten,
                mask_flatten,
            )
            return memory, spatial_shapes, level_start_index, valid_ratios

    return {
        "DeformableTransformer": DeformableTransformer,
        "MSDeformAttn": MSDeformAttn,
        "core": ms_deform_attn_core_pytorch,
    }


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["DeformableTransformer"](
        d_model=D_MODEL,
        nhead=N_HEADS,
        num_encoder_layers=N_LAYERS,
        dim_feedforward=D_FFN,
        dropout=0.0,
        num_feature_levels=N_LEVELS,
        enc_n_points=N_POINTS,
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    classes = _classes(torch_like)
    rng = np.random.default_rng(7)
    values: list[float] = []

    # a freshly reset MSDeformAttn: the sampling-offset bias is the heads' directions, scaled
    attn = classes["MSDeformAttn"](D_MODEL, N_LEVELS, N_HEADS, N_POINTS)
    values.extend(attn.sampling_offsets.bias.detach().tolist())
    values.append(attn.attention_weights.weight.abs().sum().item())

    # the core function on its own, with its gradient, both reference-point forms
    shapes = torch.as_tensor(SHAPES, dtype=torch.long)
    S = int(sum(h * w for h, w in SHAPES))
    value = torch.tensor(rng.standard_normal((2, S, N_HEADS, 3)), dtype=torch.float32)
    value.requires_grad_(True)
    loc = torch.tensor(rng.uniform(-0.1, 1.1, (2, 4, N_HEADS, N_LEVELS, N_POINTS, 2)))
    loc = loc.float().requires_grad_()
    aw = torch.tensor(rng.random((2, 4, N_HEADS, N_LEVELS, N_POINTS)), dtype=torch.float32)
    aw = aw / aw.sum(-1, keepdim=True).sum(-2, keepdim=True)
    out = classes["core"](value, shapes, loc, aw)
    values.append(tuple(out.shape) == (2, 4, N_HEADS * 3))
    (out * out).sum().backward()
    values.extend([out.sum().item(), value.grad.abs().sum().item(), loc.grad.sum().item()])
    q = torch.tensor(rng.standard_normal((2, 4, D_MODEL)), dtype=torch.float32)
    feats = torch.tensor(rng.standard_normal((2, S, D_MODEL)), dtype=torch.float32)
    start = torch.cat((shapes.new_zeros((1,)), shapes.prod(1).cumsum(0)[:-1]))
    boxes = torch.tensor(rng.uniform(0.2, 0.8, (2, 4, N_LEVELS, 4)), dtype=torch.float32)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    attn = model.encoder.layers[1].self_attn
    with torch.no_grad():
        values.append(attn(q, boxes, feats, shapes, start).pow(2).mean().item())
        try:
            attn(q, boxes[..., :3], feats, shapes, start)
        except ValueError as e:
            values.append(float("Last dim of reference_points" in str(e)))

    # the encoder trained on a regression target; its ``meshgrid`` has no ``indexing=``, whose
    # once-per-process UserWarning (both frameworks give it) the suite's "error" filter would
    # turn into a failure
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*meshgrid: in an upcoming release", UserWarning)
        values.extend(_train_encoder(torch_like, model, rng))
    return values


def _train_encoder(torch_like: Any, model: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    values: list[float] = []
    S = int(sum(h * w for h, w in SHAPES))
    srcs, masks, pos_embeds = [], [], []
    for lvl, (h, w) in enumerate(SHAPES):
        srcs.append(torch.tensor(rng.standard_normal((2, D_MODEL, h, w)), dtype=torch.float32))
        pos_embeds.append(
            torch.tensor(0.1 * rng.standard_normal((2, D_MODEL, h, w)), dtype=torch.float32)
        )
        m = np.zeros((2, h, w), dtype=bool)
        m[1, h - 1 - lvl :, :] = True  # the second image is padded at the bottom and right
        m[1, :, w - 1 :] = True
        masks.append(torch.from_numpy(m))
    target = torch.tensor(rng.standard_normal((2, S, D_MODEL)), dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    for _ in range(4):
        memory, spatial_shapes, level_start_index, valid_ratios = model(srcs, masks, pos_embeds)
        loss = torch.nn.functional.mse_loss(memory, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        values.append(loss.item())
    values.extend(level_start_index.tolist())
    values.extend(valid_ratios.flatten().tolist())
    values.append(model.encoder.layers[0].self_attn.sampling_offsets.bias.abs().sum().item())
    return values
