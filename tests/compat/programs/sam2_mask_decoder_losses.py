"""Segment Anything 2's mask decoder and its training losses, as facebookresearch/sam2 writes
them (``sam2/modeling/sam/mask_decoder.py``: ``MaskDecoder`` with high-resolution features,
object scores and dynamic multimask selection; ``sam2/modeling/sam/transformer.py``:
``TwoWayTransformer``, ``TwoWayAttentionBlock``, ``Attention`` on
``F.scaled_dot_product_attention``; ``sam2/modeling/sam2_utils.py``: ``MLP``, ``LayerNorm2d``;
``training/loss_fns.py``: ``dice_loss``, ``sigmoid_focal_loss``, ``iou_loss``,
``MultiStepMultiMasksAndIous._update_losses``), size-reduced.

The idioms: ``MLP`` (``nn.ModuleList(nn.Linear(n, k) for n, k in zip([input_dim] + h, h +
[output_dim]))``, ``self.act(layer(x)) if i < self.num_layers - 1 else layer(x)``,
``sigmoid_output`` with ``F.sigmoid``); ``LayerNorm2d`` (``u = x.mean(1, keepdim=True)``, ``s
= (x - u).pow(2).mean(1, keepdim=True)``, ``(x - u) / torch.sqrt(s + self.eps)``,
``self.weight[:, None, None] * x + self.bias[:, None, None]``); ``Attention`` with
``downsample_rate`` (``internal_dim = embedding_dim // downsample_rate``, ``x.reshape(b, n,
num_heads, c // num_heads).transpose(1, 2)``, ``F.scaled_dot_product_attention(q, k, v,
dropout_p=dropout_p)``); ``TwoWayAttentionBlock`` (``skip_first_layer_pe``, token-to-image,
MLP, image-to-token) and ``TwoWayTransformer`` (``image_embedding.flatten(2).permute(0, 2,
1)``, ``final_attn_token_to_image``, ``norm_final_attn``); ``MaskDecoder.predict_masks``
(``torch.cat([self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight],
dim=0)``, ``.unsqueeze(0).expand(sparse_prompt_embeddings.size(0), -1, -1)``,
``torch.repeat_interleave(image_embeddings, tokens.shape[0], dim=0)``, ``hs[:, s + 1 : (s + 1 +
self.num_mask_tokens), :]``, ``src.transpose(1, 2).view(b, c, h, w)``, the high-resolution path
``dc1, ln1, act1, dc2, act2 = self.output_upscaling`` with ``act1(ln1(dc1(src) + feat_s1))``
and ``act2(dc2(upscaled_embedding) + feat_s0)``, ``torch.stack(hyper_in_list, dim=1)``,
``(hyper_in @ upscaled_embedding.view(b, c, h * w)).view(b, -1, h, w)``, ``10.0 *
iou_pred.new_ones(iou_pred.shape[0], 1)``); ``_get_stability_scores`` (``mask_logits.flatten(
-2)``, ``torch.sum(mask_logits > stability_delta, dim=-1).float()``, ``torch.where(area_u > 0,
area_i / area_u, 1.0)``) and ``_dynamic_multimask_via_stability`` (``torch.argmax(
multimask_iou_scores, dim=-1)``, ``multimask_logits[batch_inds, best_scores_inds]``,
``torch.where(is_stable[..., None, None].expand_as(singlemask_logits), ...)``); the losses
(``F.interpolate(..., mode="bilinear", align_corners=False)`` to the image size,
``target_masks.unsqueeze(1).float()`` ``.expand_as(src_masks)``, multimask focal
(``F.binary_cross_entropy_with_logits(..., reduction="none")``, ``((1 - p_t) ** gamma)``,
``loss.flatten(2).mean(-1) / num_objects``), dice (``1 - (numerator + 1) / (denominator +
1)``), ``iou_loss`` (``pred_mask & gt_mask``, ``torch.clamp(area_u, min=1.0)``,
``F.mse_loss(..., reduction="none")`` or ``F.l1_loss``), the object-score target
``torch.any((target_masks[:, 0] > 0).flatten(1), dim=-1)[..., None].float()``, the best mask by
``torch.argmin(loss_combo, dim=-1)`` and ``loss_multimask[batch_inds, best_loss_inds]
.unsqueeze(1)``, ``supervise_all_iou``'s ``loss_multiiou.mean(dim=-1)``); AdamW with
``clip_grad_norm_``.

Changed: an 8-wide embedding over a 4 x 4 grid (16 x 16 masks), one two-way block, random
image embeddings, prompt tokens and high-resolution features from NumPy in place of the image
encoder and prompt encoder; one prediction step per iteration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

EMBED, GRID, HEADS, NPROMPT, B, STEPS = 8, 4, 2, 2, 3, 3
IMAGE = 4 * GRID * 2  # the 16 x 16 low-res masks upsampled to 32 x 32


def _classes(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class MLP(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, num_layers, activation=nn.ReLU,  # noqa: ANN001
                     sigmoid_output=False):  # noqa: ANN001  # fmt: skip
            super().__init__()
            self.num_layers = num_layers
            h = [hidden_dim] * (num_layers - 1)
            self.layers = nn.ModuleList(
                nn.Linear(n, k) for n, k in zip([input_dim] + h, h + [output_dim])
            )
            self.sigmoid_output = sigmoid_output
            self.act = activation()

        def forward(self, x: Any) -> Any:
            for i, layer in enumerate(self.layers):
                x = self.act(layer(x)) if i < self.num_layers - 1 else layer(x)
            if self.sigmoid_output:
                x = F.sigmoid(x)
            return x

    class LayerNorm2d(nn.Module):
        def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))
            self.eps = eps

        def forward(self, x: Any) -> Any:
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            x = self.weight[:, None, None] * x + self.bias[:, None, None]
            return x

    class Attention(nn.Module):
        def __init__(
            self, embedding_dim, num_heads, downsample_rate=1, dropout=0.0, kv_in_dim=None
        ):  # noqa: ANN001
            super().__init__()
            self.embedding_dim = embedding_dim
            self.kv_in_dim = kv_in_dim if kv_in_dim is not None else embedding_dim
            self.internal_dim = embedding_dim // downsample_rate
            self.num_heads = num_heads
            assert self.internal_dim % num_heads == 0, "num_heads must divide embedding_dim."
            self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
            self.k_proj = nn.Linear(self.kv_in_dim, self.internal_dim)
            self.v_proj = nn.Linear(self.kv_in_dim, self.internal_dim)
            self.out_proj = nn.Linear(self.internal_dim, embedding_dim)
            self.dropout_p = dropout

        def _separate_heads(self, x: Any, num_heads: int) -> Any:
            b, n, c = x.shape
            x = x.reshape(b, n, num_heads, c // num_heads)
            return x.transpose(1, 2)

        def _recombine_heads(self, x: Any) -> Any:
            b, n_heads, n_tokens, c_per_head = x.shape
            x = x.transpose(1, 2)
            return x.reshape(b, n_tokens, n_heads * c_per_head)

        def forward(self, q: Any, k: Any, v: Any) -> Any:
            q = self.q_proj(q)
            k = self.k_proj(k)
            v = self.v_proj(v)
            q = self._separate_heads(q, self.num_heads)
            k = self._separate_heads(k, self.num_heads)
            v = self._separate_heads(v, self.num_heads)
            dropout_p = self.dropout_p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
            out = self._recombine_heads(out)
            out = self.out_proj(out)
            return out

    class TwoWayAttentionBlock(nn.Module):
        def __init__(self, embedding_dim, num_heads, mlp_dim=16, activation=nn.ReLU,  # noqa: ANN001
                     attention_downsample_rate=2, skip_first_layer_pe=False):  # noqa: ANN001  # fmt: skip
            super().__init__()
            self.self_attn = Attention(embedding_dim, num_heads)
            self.norm1 = nn.LayerNorm(embedding_dim)
            self.cross_attn_token_to_image = Attention(
                embedding_dim, num_heads, downsample_rate=attention_downsample_rate
            )
            self.norm2 = nn.LayerNorm(embedding_dim)
            self.mlp = MLP(
                embedding_dim, mlp_dim, embedding_dim, num_layers=2, activation=activation
            )
            self.norm3 = nn.LayerNorm(embedding_dim)
            self.norm4 = nn.LayerNorm(embedding_dim)
            self.cross_attn_image_to_token = Attention(
                embedding_dim, num_heads, downsample_rate=attention_downsample_rate
            )
            self.skip_first_layer_pe = skip_first_layer_pe

        def forward(self, queries: Any, keys: Any, query_pe: Any, key_pe: Any) -> Any:
            if self.skip_first_layer_pe:
                queries = self.self_attn(q=queries, k=queries, v=queries)
            else:
                q = queries + query_pe
                attn_out = self.self_attn(q=q, k=q, v=queries)
                queries = queries + attn_out
            queries = self.norm1(queries)
            q = queries + query_pe
            k = keys + key_pe
            attn_out = self.cross_attn_token_to_image(q=q, k=k, v=keys)
            queries = queries + attn_out
            queries = self.norm2(queries)
            mlp_out = self.mlp(queries)
            queries = queries + mlp_out
            queries = self.norm3(queries)
            q = queries + query_pe
            k = keys + key_pe
            attn_out = self.cross_attn_image_to_token(q=k, k=q, v=queries)
            keys = keys + attn_out
            keys = self.norm4(keys)
            return queries, keys

    class TwoWayTransformer(nn.Module):
        def __init__(self, depth, embedding_dim, num_heads, mlp_dim, activation=nn.ReLU,  # noqa: ANN001
                     attention_downsample_rate=2):  # noqa: ANN001  # fmt: skip
            super().__init__()
            self.depth = depth
            self.layers = nn.ModuleList()
            for i in range(depth):
                self.layers.append(
                    TwoWayAttentionBlock(
                        embedding_dim=embedding_dim,
                        num_heads=num_heads,
                        mlp_dim=mlp_dim,
                        activation=activation,
                        attention_downsample_rate=attention_downsample_rate,
                        skip_first_layer_pe=(i == 0),
                    )
                )
            self.final_attn_token_to_image = Attention(
                embedding_dim, num_heads, downsample_rate=attention_downsample_rate
            )
            self.norm_final_attn = nn.LayerNorm(embedding_dim)

        def forward(self, image_embedding: Any, image_pe: Any, point_embedding: Any) -> Any:
            bs, c, h, w = image_embedding.shape
            image_embedding = image_embedding.flatten(2).permute(0, 2, 1)
            image_pe = image_pe.flatten(2).permute(0, 2, 1)
            queries = point_embedding
            keys = image_embedding
            for layer in self.layers:
                queries, keys = layer(
                    queries=queries, keys=keys, query_pe=point_embedding, key_pe=image_pe
                )
            q = queries + point_embedding
            k = keys + image_pe
            attn_out = self.final_attn_token_to_image(q=q, k=k, v=keys)
            queries = queries + attn_out
            queries = self.norm_final_attn(queries)
            return queries, keys

    class MaskDecoder(nn.Module):
        def __init__(self, *, transformer_dim, transformer, num_multimask_outputs=3,  # noqa: ANN001
                     activation=nn.GELU, iou_head_depth=3, iou_head_hidden_dim=256,  # noqa: ANN001
                     use_high_res_features=False, iou_prediction_use_sigmoid=False,  # noqa: ANN001
                     dynamic_multimask_via_stability=False,  # noqa: ANN001
                     dynamic_multimask_stability_delta=0.05,  # noqa: ANN001
                     dynamic_multimask_stability_thresh=0.98, pred_obj_scores=False,  # noqa: ANN001
                     pred_obj_scores_mlp=False, use_multimask_token_for_obj_ptr=False):  # noqa: ANN001  # fmt: skip
            super().__init__()
            self.transformer_dim = transformer_dim
            self.transformer = transformer
            self.num_multimask_outputs = num_multimask_outputs
            self.iou_token = nn.Embedding(1, transformer_dim)
            self.num_mask_tokens = num_multimask_outputs + 1
            self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
            self.pred_obj_scores = pred_obj_scores
            if self.pred_obj_scores:
                self.obj_score_token = nn.Embedding(1, transformer_dim)
            self.use_multimask_token_for_obj_ptr = use_multimask_token_for_obj_ptr
            self.output_upscaling = nn.Sequential(
                nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
                LayerNorm2d(transformer_dim // 4),
                activation(),
                nn.ConvTranspose2d(
                    transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2
                ),
                activation(),
            )
            self.use_high_res_features = use_high_res_features
            if use_high_res_features:
                self.conv_s0 = nn.Conv2d(
                    transformer_dim, transformer_dim // 8, kernel_size=1, stride=1
                )
                self.conv_s1 = nn.Conv2d(
                    transformer_dim, transformer_dim // 4, kernel_size=1, stride=1
                )
            self.output_hypernetworks_mlps = nn.ModuleList(
                [
                    MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
                    for i in range(self.num_mask_tokens)
                ]
            )
            self.iou_prediction_head = MLP(
                transformer_dim,
                iou_head_hidden_dim,
                self.num_mask_tokens,
                iou_head_depth,
                sigmoid_output=iou_prediction_use_sigmoid,
            )
            if self.pred_obj_scores:
                self.pred_obj_score_head = nn.Linear(transformer_dim, 1)
                if pred_obj_scores_mlp:
                    self.pred_obj_score_head = MLP(transformer_dim, transformer_dim, 1, 3)
            self.dynamic_multimask_via_stability = dynamic_multimask_via_stability
            self.dynamic_multimask_stability_delta = dynamic_multimask_stability_delta
            self.dynamic_multimask_stability_thresh = dynamic_multimask_stability_thresh

        def forward(self, image_embeddings, image_pe, sparse_prompt_embeddings,  # noqa: ANN001
                    dense_prompt_embeddings, multimask_output, repeat_image,  # noqa: ANN001
                    high_res_features=None):  # noqa: ANN001  # fmt: skip
            masks, iou_pred, mask_tokens_out, object_score_logits = self.predict_masks(
                image_embeddings=image_embeddings,
                image_pe=image_pe,
                sparse_prompt_embeddings=sparse_prompt_embeddings,
                dense_prompt_embeddings=dense_prompt_embeddings,
                repeat_image=repeat_image,
                high_res_features=high_res_features,
            )
            if multimask_output:
                masks = masks[:, 1:, :, :]
                iou_pred = iou_pred[:, 1:]
            elif self.dynamic_multimask_via_stability and not self.training:
                masks, iou_pred = self._dynamic_multimask_via_stability(masks, iou_pred)
            else:
                masks = masks[:, 0:1, :, :]
                iou_pred = iou_pred[:, 0:1]
            if multimask_output and self.use_multimask_token_for_obj_ptr:
                sam_tokens_out = mask_tokens_out[:, 1:]
            else:
                sam_tokens_out = mask_tokens_out[:, 0:1]
            return masks, iou_pred, sam_tokens_out, object_score_logits

        def predict_masks(self, image_embeddings, image_pe, sparse_prompt_embeddings,  # noqa: ANN001
                          dense_prompt_embeddings, repeat_image, high_res_features=None):  # noqa: ANN001  # fmt: skip
            s = 0
            if self.pred_obj_scores:
                output_tokens = torch.cat(
                    [self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight],
                    dim=0,
                )
                s = 1
            else:
                output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
            output_tokens = output_tokens.unsqueeze(0).expand(
                sparse_prompt_embeddings.size(0), -1, -1
            )
            tokens = torch.cat((output_tokens, sparse_prompt_embeddings), dim=1)
            if repeat_image:
                src = torch.repeat_interleave(image_embeddings, tokens.shape[0], dim=0)
            else:
                assert image_embeddings.shape[0] == tokens.shape[0]
                src = image_embeddings
            src = src + dense_prompt_embeddings
            assert image_pe.size(0) == 1, "image_pe should have size 1 in batch dim"
            pos_src = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
            b, c, h, w = src.shape
            hs, src = self.transformer(src, pos_src, tokens)
            iou_token_out = hs[:, s, :]
            mask_tokens_out = hs[:, s + 1 : (s + 1 + self.num_mask_tokens), :]
            src = src.transpose(1, 2).view(b, c, h, w)
            if not self.use_high_res_features:
                upscaled_embedding = self.output_upscaling(src)
            else:
                dc1, ln1, act1, dc2, act2 = self.output_upscaling
                feat_s0, feat_s1 = high_res_features
                upscaled_embedding = act1(ln1(dc1(src) + feat_s1))
                upscaled_embedding = act2(dc2(upscaled_embedding) + feat_s0)
            hyper_in_list = []
            for i in range(self.num_mask_tokens):
                hyper_in_list.append(self.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :]))
            hyper_in = torch.stack(hyper_in_list, dim=1)
            b, c, h, w = upscaled_embedding.shape
            masks = (hyper_in @ upscaled_embedding.view(b, c, h * w)).view(b, -1, h, w)
            iou_pred = self.iou_prediction_head(iou_token_out)
            if self.pred_obj_scores:
                assert s == 1
                object_score_logits = self.pred_obj_score_head(hs[:, 0, :])
            else:
                object_score_logits = 10.0 * iou_pred.new_ones(iou_pred.shape[0], 1)
            return masks, iou_pred, mask_tokens_out, object_score_logits

        def _get_stability_scores(self, mask_logits: Any) -> Any:
            mask_logits = mask_logits.flatten(-2)
            stability_delta = self.dynamic_multimask_stability_delta
            area_i = torch.sum(mask_logits > stability_delta, dim=-1).float()
            area_u = torch.sum(mask_logits > -stability_delta, dim=-1).float()
            stability_scores = torch.where(area_u > 0, area_i / area_u, 1.0)
            return stability_scores

        def _dynamic_multimask_via_stability(self, all_mask_logits: Any, all_iou_scores: Any):
            multimask_logits = all_mask_logits[:, 1:, :, :]
            multimask_iou_scores = all_iou_scores[:, 1:]
            best_scores_inds = torch.argmax(multimask_iou_scores, dim=-1)
            batch_inds = torch.arange(multimask_iou_scores.size(0), device=all_iou_scores.device)
            best_multimask_logits = multimask_logits[batch_inds, best_scores_inds]
            best_multimask_logits = best_multimask_logits.unsqueeze(1)
            best_multimask_iou_scores = multimask_iou_scores[batch_inds, best_scores_inds]
            best_multimask_iou_scores = best_multimask_iou_scores.unsqueeze(1)
            singlemask_logits = all_mask_logits[:, 0:1, :, :]
            singlemask_iou_scores = all_iou_scores[:, 0:1]
            stability_scores = self._get_stability_scores(singlemask_logits)
            is_stable = stability_scores >= self.dynamic_multimask_stability_thresh
            mask_logits_out = torch.where(
                is_stable[..., None, None].expand_as(singlemask_logits),
                singlemask_logits,
                best_multimask_logits,
            )
            iou_scores_out = torch.where(
                is_stable.expand_as(singlemask_iou_scores),
                singlemask_iou_scores,
                best_multimask_iou_scores,
            )
            return mask_logits_out, iou_scores_out

    class SAM2Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sam_mask_decoder = MaskDecoder(
                num_multimask_outputs=3,
                transformer=TwoWayTransformer(
                    depth=1, embedding_dim=EMBED, mlp_dim=16, num_heads=HEADS
                ),
                transformer_dim=EMBED,
                iou_head_depth=3,
                iou_head_hidden_dim=16,
                use_high_res_features=True,
                iou_prediction_use_sigmoid=True,
                pred_obj_scores=True,
                pred_obj_scores_mlp=True,
                use_multimask_token_for_obj_ptr=True,
                dynamic_multimask_via_stability=True,
                dynamic_multimask_stability_delta=0.05,
                dynamic_multimask_stability_thresh=0.98,
            )
            # the high-res feature convs live on the decoder, applied to backbone features
            self.image_pe = nn.Parameter(torch.randn(1, EMBED, GRID, GRID) * 0.5)

    return {"SAM2Head": SAM2Head}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["SAM2Head"]()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional

    def dice_loss(inputs, targets, num_objects, loss_on_multimask=False):  # noqa: ANN001
        inputs = inputs.sigmoid()
        if loss_on_multimask:
            assert inputs.dim() == 4 and targets.dim() == 4
            inputs = inputs.flatten(2)
            targets = targets.flatten(2)
            numerator = 2 * (inputs * targets).sum(-1)
        else:
            inputs = inputs.flatten(1)
            numerator = 2 * (inputs * targets).sum(1)
        denominator = inputs.sum(-1) + targets.sum(-1)
        loss = 1 - (numerator + 1) / (denominator + 1)
        if loss_on_multimask:
            return loss / num_objects
        return loss.sum() / num_objects

    def sigmoid_focal_loss(inputs, targets, num_objects, alpha=0.25, gamma=2,  # noqa: ANN001
                           loss_on_multimask=False):  # noqa: ANN001  # fmt: skip
        prob = inputs.sigmoid()
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = prob * targets + (1 - prob) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        if loss_on_multimask:
            assert loss.dim() == 4
            return loss.flatten(2).mean(-1) / num_objects
        return loss.mean(1).sum() / num_objects

    def iou_loss(inputs, targets, pred_ious, num_objects, loss_on_multimask=False,  # noqa: ANN001
                 use_l1_loss=False):  # noqa: ANN001  # fmt: skip
        assert inputs.dim() == 4 and targets.dim() == 4
        pred_mask = inputs.flatten(2) > 0
        gt_mask = targets.flatten(2) > 0
        area_i = torch.sum(pred_mask & gt_mask, dim=-1).float()
        area_u = torch.sum(pred_mask | gt_mask, dim=-1).float()
        actual_ious = area_i / torch.clamp(area_u, min=1.0)
        if use_l1_loss:
            loss = F.l1_loss(pred_ious, actual_ious, reduction="none")
        else:
            loss = F.mse_loss(pred_ious, actual_ious, reduction="none")
        if loss_on_multimask:
            return loss / num_objects
        return loss.sum() / num_objects

    weight_dict = {"loss_mask": 20.0, "loss_dice": 1.0, "loss_iou": 1.0, "loss_class": 1.0}

    def update_losses(losses, src_masks, target_masks, ious, object_score_logits, num_objects,  # noqa: ANN001
                      supervise_all_iou, use_l1):  # noqa: ANN001  # fmt: skip
        target_masks = target_masks.expand_as(src_masks)
        loss_multimask = sigmoid_focal_loss(
            src_masks, target_masks, num_objects, alpha=0.25, gamma=2.0, loss_on_multimask=True
        )
        loss_multidice = dice_loss(src_masks, target_masks, num_objects, loss_on_multimask=True)
        target_obj = torch.any((target_masks[:, 0] > 0).flatten(1), dim=-1)[..., None].float()
        loss_class = sigmoid_focal_loss(
            object_score_logits, target_obj, num_objects, alpha=0.5, gamma=0.0
        )
        loss_multiiou = iou_loss(
            src_masks, target_masks, ious, num_objects, loss_on_multimask=True, use_l1_loss=use_l1
        )
        assert loss_multimask.dim() == 2
        if loss_multimask.size(1) > 1:
            loss_combo = (
                loss_multimask * weight_dict["loss_mask"]
                + loss_multidice * weight_dict["loss_dice"]
            )
            best_loss_inds = torch.argmin(loss_combo, dim=-1)
            batch_inds = torch.arange(loss_combo.size(0), device=loss_combo.device)
            loss_mask = loss_multimask[batch_inds, best_loss_inds].unsqueeze(1)
            loss_dice = loss_multidice[batch_inds, best_loss_inds].unsqueeze(1)
            if supervise_all_iou:
                loss_iou = loss_multiiou.mean(dim=-1).unsqueeze(1)
            else:
                loss_iou = loss_multiiou[batch_inds, best_loss_inds].unsqueeze(1)
        else:
            loss_mask, loss_dice, loss_iou = loss_multimask, loss_multidice, loss_multiiou
        loss_mask = loss_mask * target_obj
        loss_dice = loss_dice * target_obj
        loss_iou = loss_iou * target_obj
        losses["loss_mask"] += loss_mask.sum()
        losses["loss_dice"] += loss_dice.sum()
        losses["loss_iou"] += loss_iou.sum()
        losses["loss_class"] += loss_class
        return losses

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    decoder = model.sam_mask_decoder
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
    rng = np.random.default_rng(21)
    values: list[float] = []
    for step in range(STEPS):
        image_embeddings = as_tensor(torch, rng.standard_normal((1, EMBED, GRID, GRID)))
        backbone_s0 = as_tensor(torch, rng.standard_normal((1, EMBED, 4 * GRID, 4 * GRID)))
        backbone_s1 = as_tensor(torch, rng.standard_normal((1, EMBED, 2 * GRID, 2 * GRID)))
        sparse = as_tensor(torch, rng.standard_normal((B, NPROMPT, EMBED)))
        dense = as_tensor(torch, rng.standard_normal((B, EMBED, GRID, GRID)) * 0.1)
        yy, xx = np.mgrid[:IMAGE, :IMAGE]
        gt = np.stack(
            [((yy - 8 - 4 * i) ** 2 + (xx - 12 - 3 * i) ** 2 < 60 + 10 * step) for i in range(B)]
        )
        gt[-1] = False if step == 1 else gt[-1]  # an object-absent target on one step
        target_masks = as_tensor(torch, gt).unsqueeze(1).float()
        high_res = [
            torch.repeat_interleave(decoder.conv_s0(backbone_s0), B, dim=0),
            torch.repeat_interleave(decoder.conv_s1(backbone_s1), B, dim=0),
        ]
        low_res_multimasks, ious, sam_tokens, object_score_logits = decoder(
            image_embeddings=image_embeddings,
            image_pe=model.image_pe,
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
            repeat_image=True,
            high_res_features=high_res,
        )
        high_res_multimasks = F.interpolate(
            low_res_multimasks, size=(IMAGE, IMAGE), mode="bilinear", align_corners=False
        )
        losses = {k: 0 for k in weight_dict}
        num_objects = torch.tensor(float(B))
        update_losses(
            losses, high_res_multimasks, target_masks, ious, object_score_logits, num_objects,
            supervise_all_iou=step % 2 == 0, use_l1=step == 2,
        )  # fmt: skip
        core_loss = sum(losses[k] * weight_dict[k] for k in weight_dict)
        optimizer.zero_grad()
        core_loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        values += [core_loss.item(), *(losses[k].item() for k in weight_dict)]
        values.append(sam_tokens.shape[1])
        # inference: single-mask output with the stability fallback
        decoder.eval()
        with torch.no_grad():
            masks, iou_pred, tokens, _ = decoder(
                image_embeddings=image_embeddings,
                image_pe=model.image_pe,
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
                repeat_image=True,
                high_res_features=high_res,
            )
            stab = decoder._get_stability_scores(masks)
        decoder.train()
        values += [masks.abs().sum().item(), iou_pred.sum().item(), stab.sum().item()]
        values.append(float(tokens.shape[1]))
    return values
