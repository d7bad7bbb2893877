"""DINOv2's training losses (facebookresearch/dinov2, ``dinov2/loss/koleo_loss.py``,
``dinov2/loss/dino_clstoken_loss.py``, ``dinov2/layers/dino_head.py`` and the teacher update of
``dinov2/loss/ibot_patch_loss.py`` and ``dinov2/train/ssl_meta_arch.py``), size-reduced: a
per-patch MLP backbone instead of a ViT, on 4 "patches" per crop.

``KoLeoLoss``: ``nn.PairwiseDistance(2, eps=1e-8)``, ``F.normalize(student_output, eps=eps, p=2,
dim=-1)`` under ``torch.cuda.amp.autocast(enabled=False)``, the nearest neighbour by
``dots = torch.mm(x, x.t())`` with the diagonal set through ``dots.view(-1)[:: (n + 1)].fill_(-1)``
and ``_, I = torch.max(dots, dim=1)``, then ``-torch.log(distances + eps).mean()``; the loss is
summed over ``student_global_cls_tokens.chunk(2)``. ``DINOLoss.sinkhorn_knopp_teacher`` (under
``@torch.no_grad()``): ``Q = torch.exp(teacher_output / teacher_temp).t()``, the
``dist.is_initialized()`` checks, in-place ``Q /= sum_Q``, ``Q /= sum_of_rows``, ``Q /= K``,
``Q /= torch.sum(Q, dim=0, keepdim=True)``, ``Q /= B`` and ``Q *= B``; the cross-entropy sums
``torch.sum(t * lsm, dim=-1)`` over student/teacher crop pairs with ``total_loss -= loss.mean()``.
``DINOHead``: MLP with ``nn.GELU``, ``trunc_normal_(m.weight, std=0.02)``, a bottleneck,
``nn.functional.normalize(x, dim=-1, p=2, eps=eps)`` and a ``nn.utils.weight_norm`` last layer
with ``weight_g.data.fill_(1)``. The teacher is built like the student and
given its weights (``teacher.load_state_dict(student.state_dict())``; a ``deepcopy`` of a
weight-normed module raises), then updated with
``torch._foreach_mul_(teacher_param_list, m)`` / ``torch._foreach_add_(teacher_param_list,
student_param_list, alpha=1 - m)``; the student trains with ``AdamW``. The "DINOv2 fill_diagonal_"
variant of the nearest-neighbour search (other KoLeo ports) is checked against the view trick.

iBOT: the backbone's ``prepare_tokens_with_masks`` swaps masked patches for the learned
``mask_token`` (``torch.where(masks.unsqueeze(-1), self.mask_token.to(x.dtype).unsqueeze(0),
x)``); the collate step's ``masks_weight = (1 / collated_masks.sum(-1).clamp(min=1.0))
.unsqueeze(-1).expand_as(collated_masks)[collated_masks]``; ``mask_indices_list =
masks.flatten().nonzero().flatten()``, ``n_masked_patches_tensor = torch.full((1,),
fill_value=..., dtype=torch.long)``; the teacher's masked patch tokens gathered with
``torch.index_select(..., out=buffer_tensor_teacher[:n_masked_patches])`` into a
``new_zeros(upperbound, _dim)`` buffer, the student's with
``buffer_tensor_patch_tokens[:n_masked_patches].copy_(torch.index_select(...))``; the patch
Sinkhorn-Knopp divides by the long tensor ``B = n_masked_patches_tensor``, and
``iBOTPatchLoss.forward_masked`` weights ``lossfunc`` per patch and divides by
``student_masks_flat.shape[0]``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
IN_DIM, EMBED, OUT_DIM, BATCH, N_PATCHES = 6, 8, 10, 6, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    trunc_normal_ = nn.init.trunc_normal_

    class DINOHead(nn.Module):
        def __init__(
            self,
            in_dim: int,
            out_dim: int,
            use_bn: bool = False,
            nlayers: int = 3,
            hidden_dim: int = 12,
            bottleneck_dim: int = 5,
            mlp_bias: bool = True,
        ):
            super().__init__()
            nlayers = max(nlayers, 1)
            self.mlp = _build_mlp(
                nlayers, in_dim, bottleneck_dim, hidden_dim=hidden_dim, use_bn=use_bn, bias=mlp_bias
            )
            self.apply(self._init_weights)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # weight_norm is deprecated
                self.last_layer = nn.utils.weight_norm(
                    nn.Linear(bottleneck_dim, out_dim, bias=False)
                )
            self.last_layer.weight_g.data.fill_(1)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)

        def forward(self, x: Any) -> Any:
            x = self.mlp(x)
            eps = 1e-6 if x.dtype == torch_like.float16 else 1e-12
            x = nn.functional.normalize(x, dim=-1, p=2, eps=eps)
            x = self.last_layer(x)
            return x

    def _build_mlp(
        nlayers: int,
        in_dim: int,
        bottleneck_dim: int,
        hidden_dim: int | None = None,
        use_bn: bool = False,
        bias: bool = True,
    ) -> Any:
        if nlayers == 1:
            return nn.Linear(in_dim, bottleneck_dim, bias=bias)
        layers = [nn.Linear(in_dim, hidden_dim, bias=bias)]
        if use_bn:
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers.append(nn.GELU())
        for _ in range(nlayers - 2):
            layers.append(nn.Linear(hidden_dim, hidden_dim, bias=bias))
            if use_bn:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.GELU())
        layers.append(nn.Linear(hidden_dim, bottleneck_dim, bias=bias))
        return nn.Sequential(*layers)

    class Backbone(nn.Module):
        """A per-patch MLP standing in for the ViT, with DINOv2's mask-token idiom."""

        def __init__(self) -> None:
            super().__init__()
            self.patch_embed = nn.Linear(IN_DIM, EMBED)
            self.mask_token = nn.Parameter(torch_like.zeros(1, EMBED))
            self.blocks = nn.Sequential(nn.GELU(), nn.Linear(EMBED, EMBED))
            self.norm = nn.LayerNorm(EMBED)
            trunc_normal_(self.mask_token, std=0.02)

        def prepare_tokens_with_masks(self, x: Any, masks: Any = None) -> Any:
            x = self.patch_embed(x)
            if masks is not None:
                x = torch_like.where(
                    masks.unsqueeze(-1), self.mask_token.to(x.dtype).unsqueeze(0), x
                )
            return x

        def forward(self, x: Any, masks: Any = None) -> dict:
            x = self.prepare_tokens_with_masks(x, masks)
            x_norm = self.norm(self.blocks(x))
            return {
                "x_norm_clstoken": x_norm.mean(1),
                "x_norm_patchtokens": x_norm,
                "masks": masks,
            }

    class Student(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = Backbone()
            self.dino_head = DINOHead(EMBED, OUT_DIM)

    return Student()


def losses(torch_like: Any) -> tuple[Any, Any, Any]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    dist = torch_like.distributed

    class KoLeoLoss(nn.Module):
        """Kozachenko-Leonenko entropic loss regularizer from Sablayrolles et al. - 2018 -
        Spreading vectors for similarity search"""

        def __init__(self) -> None:
            super().__init__()
            self.pdist = nn.PairwiseDistance(2, eps=1e-8)

        def pairwise_NNs_inner(self, x: Any) -> Any:  # noqa: N802
            """
            Pairwise nearest neighbors for L2-normalized vectors.
            Uses Torch rather than Faiss to remain on GPU.
            """
            # parwise dot products (= inverse distance)
            dots = torch.mm(x, x.t())
            n = x.shape[0]
            dots.view(-1)[:: (n + 1)].fill_(-1)  # Trick to fill diagonal with -1
            # max inner prod -> min distance
            _, I = torch.max(dots, dim=1)  # noqa: E741
            return I

        def forward(self, student_output: Any, eps: float = 1e-8) -> Any:
            """
            Args:
                student_output (BxD): backbone output of student
            """
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.cuda.amp is deprecated
                autocast = torch.cuda.amp.autocast(enabled=False)
            with autocast:
                student_output = F.normalize(student_output, eps=eps, p=2, dim=-1)
                I = self.pairwise_NNs_inner(student_output)  # noqa: E741
                distances = self.pdist(student_output, student_output[I])  # BxD, BxD -> B
                loss = -torch.log(distances + eps).mean()
            return loss

    class DINOLoss(nn.Module):
        def __init__(
            self, out_dim: int, student_temp: float = 0.1, center_momentum: float = 0.9
        ) -> None:
            super().__init__()
            self.student_temp = student_temp
            self.center_momentum = center_momentum
            self.register_buffer("center", torch.zeros(1, out_dim))

        @torch.no_grad()
        def sinkhorn_knopp_teacher(
            self, teacher_output: Any, teacher_temp: float, n_iterations: int = 3
        ) -> Any:
            teacher_output = teacher_output.float()
            world_size = dist.get_world_size() if dist.is_initialized() else 1
            Q = torch.exp(teacher_output / teacher_temp).t()  # Q is K-by-B
            B = Q.shape[1] * world_size  # number of samples to assign
            K = Q.shape[0]  # how many prototypes

            # make the matrix sums to 1
            sum_Q = torch.sum(Q)
            if dist.is_initialized():
                dist.all_reduce(sum_Q)
            Q /= sum_Q

            for _it in range(n_iterations):
                # normalize each row: total weight per prototype must be 1/K
                sum_of_rows = torch.sum(Q, dim=1, keepdim=True)
                if dist.is_initialized():
                    dist.all_reduce(sum_of_rows)
                Q /= sum_of_rows
                Q /= K

                # normalize each column: total weight per sample must be 1/B
                Q /= torch.sum(Q, dim=0, keepdim=True)
                Q /= B

            Q *= B  # the columns must sum to 1 so that Q is an assignment
            return Q.t()

        def forward(self, student_output_list: list, teacher_out_softmaxed_centered_list: list):
            """
            Cross-entropy between softmax outputs of the teacher and student networks.
            """
            total_loss = 0
            for s in student_output_list:
                lsm = F.log_softmax(s / self.student_temp, dim=-1)
                for t in teacher_out_softmaxed_centered_list:
                    loss = torch.sum(t * lsm, dim=-1)
                    total_loss -= loss.mean()
            return total_loss

    class iBOTPatchLoss(nn.Module):  # noqa: N801
        def __init__(self, patch_out_dim: int, student_temp: float = 0.1) -> None:
            super().__init__()
            self.student_temp = student_temp
            self.register_buffer("center", torch.zeros(1, 1, patch_out_dim))

        @torch.no_grad()
        def sinkhorn_knopp_teacher(
            self,
            teacher_output: Any,
            teacher_temp: float,
            n_masked_patches_tensor: Any,
            n_iterations: int = 3,
        ) -> Any:
            teacher_output = teacher_output.float()
            Q = torch.exp(teacher_output / teacher_temp).t()
            B = n_masked_patches_tensor
            if dist.is_initialized():
                dist.all_reduce(B)
            K = Q.shape[0]  # how many prototypes

            # make the matrix sums to 1
            sum_Q = torch.sum(Q)
            if dist.is_initialized():
                dist.all_reduce(sum_Q)
            Q /= sum_Q

            for _it in range(n_iterations):
                # normalize each row: total weight per prototype must be 1/K
                sum_of_rows = torch.sum(Q, dim=1, keepdim=True)
                if dist.is_initialized():
                    dist.all_reduce(sum_of_rows)
                Q /= sum_of_rows
                Q /= K

                # normalize each column: total weight per sample must be 1/B
                Q /= torch.sum(Q, dim=0, keepdim=True)
                Q /= B

            Q *= B  # the columns must sum to 1 so that Q is an assignment
            return Q.t()

        def forward_masked(
            self,
            student_patch_tokens_masked: Any,
            teacher_patch_tokens_masked: Any,
            student_masks_flat: Any,
            n_masked_patches: int | None = None,
            masks_weight: Any = None,
        ) -> Any:
            t = teacher_patch_tokens_masked
            s = student_patch_tokens_masked
            loss = lossfunc(t, s, self.student_temp)
            if masks_weight is None:
                masks_weight = (
                    (1 / student_masks_flat.sum(-1).clamp(min=1.0))
                    .unsqueeze(-1)
                    .expand_as(student_masks_flat)[student_masks_flat]
                )
            if n_masked_patches is not None:
                loss = loss[:n_masked_patches]
            loss = loss * masks_weight
            return -loss.sum() / student_masks_flat.shape[0]

    def lossfunc(t: Any, s: Any, temp: float) -> Any:
        return torch.sum(t * F.log_softmax(s / temp, dim=-1), dim=-1)

    return KoLeoLoss(), DINOLoss(OUT_DIM), iBOTPatchLoss(OUT_DIM)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(38)
    student = make_model(torch_like)
    load_numpy_state(torch_like, student, init)
    teacher = make_model(torch_like)  # built like the student, then given its weights
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    koleo_loss, dino_loss, ibot_patch_loss = losses(torch_like)
    optimizer = torch.optim.AdamW(student.parameters(), lr=5e-3, weight_decay=0.04)
    centers = rng.standard_normal((3, N_PATCHES, IN_DIM))
    values = []

    @torch.no_grad()
    def update_teacher(m: float) -> None:
        student_param_list = []
        teacher_param_list = []
        for ms, mt in zip(student.parameters(), teacher.parameters()):
            student_param_list += [ms]
            teacher_param_list += [mt]
        torch._foreach_mul_(teacher_param_list, m)
        torch._foreach_add_(teacher_param_list, student_param_list, alpha=1 - m)

    def collate_masks(n: int) -> tuple[Any, Any, int]:
        """``collate_data_and_cast``: half the samples get random patch masks."""
        masks = rng.random((n, N_PATCHES)) < 0.4
        masks[n // 2 :] = False
        masks[0, 0] = True
        collated_masks = torch.from_numpy(masks)
        masks_weight = (
            (1 / collated_masks.sum(-1).clamp(min=1.0))
            .unsqueeze(-1)
            .expand_as(collated_masks)[collated_masks]
        )
        upperbound = n * N_PATCHES // 2
        return collated_masks, masks_weight, upperbound

    for step in range(4):
        labels = rng.integers(0, 3, size=BATCH)
        base = centers[labels] + 0.3 * rng.standard_normal((BATCH, N_PATCHES, IN_DIM))
        crops = [base + 0.2 * rng.standard_normal(base.shape) for _ in range(2)]
        global_crops = as_tensor(torch, np.concatenate(crops)).float()
        masks, masks_weight, upperbound = collate_masks(2 * BATCH)
        n_global_crops_teacher = 2
        mask_indices_list = masks.flatten().nonzero().flatten()
        n_masked_patches_tensor = torch.full(
            (1,), fill_value=mask_indices_list.shape[0], dtype=torch.long
        )
        n_masked_patches = mask_indices_list.shape[0]
        with torch.no_grad():
            teacher_backbone_output_dict = teacher.backbone(global_crops)
            teacher_cls_tokens = teacher_backbone_output_dict["x_norm_clstoken"]
            teacher_cls_tokens = teacher_cls_tokens.chunk(n_global_crops_teacher)
            # watch out: these are chunked and cat'd in reverse so A is matched to B
            teacher_cls_tokens = torch.cat((teacher_cls_tokens[1], teacher_cls_tokens[0]))
            ibot_teacher_patch_tokens = teacher_backbone_output_dict["x_norm_patchtokens"]
            _dim = ibot_teacher_patch_tokens.shape[-1]
            buffer_tensor_teacher = ibot_teacher_patch_tokens.new_zeros(upperbound, _dim)
            torch.index_select(
                ibot_teacher_patch_tokens.flatten(0, 1),
                dim=0,
                index=mask_indices_list,
                out=buffer_tensor_teacher[:n_masked_patches],
            )
            teacher_cls_tokens_after_head = teacher.dino_head(teacher_cls_tokens)
            masked_teacher_patch_tokens_after_head = teacher.dino_head(buffer_tensor_teacher)[
                :n_masked_patches
            ]
            teacher_dino_softmaxed_centered_list = dino_loss.sinkhorn_knopp_teacher(
                teacher_cls_tokens_after_head, teacher_temp=0.07
            ).view(n_global_crops_teacher, -1, *teacher_cls_tokens_after_head.shape[1:])
            masked_teacher_ibot_softmaxed_centered = ibot_patch_loss.sinkhorn_knopp_teacher(
                masked_teacher_patch_tokens_after_head,
                teacher_temp=0.07,
                n_masked_patches_tensor=n_masked_patches_tensor,
            )
        student_global_backbone_output_dict = student.backbone(global_crops, masks=masks)
        student_global_cls_tokens = student_global_backbone_output_dict["x_norm_clstoken"]
        ibot_student_patch_tokens = student_global_backbone_output_dict["x_norm_patchtokens"]
        buffer_tensor_patch_tokens = ibot_student_patch_tokens.new_zeros(upperbound, _dim)
        buffer_tensor_patch_tokens[:n_masked_patches].copy_(
            torch.index_select(
                ibot_student_patch_tokens.flatten(0, 1), dim=0, index=mask_indices_list
            )
        )
        student_global_cls_tokens_after_head = student.dino_head(student_global_cls_tokens)
        student_global_masked_patch_tokens_after_head = student.dino_head(
            buffer_tensor_patch_tokens
        )[:n_masked_patches]
        dino_global_crops_loss = dino_loss(
            student_output_list=student_global_cls_tokens_after_head.chunk(2),
            teacher_out_softmaxed_centered_list=list(teacher_dino_softmaxed_centered_list),
        ) / (n_global_crops_teacher * 2 - 2 + 2)
        koleo = 0.1 * sum(koleo_loss(p) for p in student_global_cls_tokens.chunk(2))
        ibot_loss = (
            ibot_patch_loss.forward_masked(
                student_global_masked_patch_tokens_after_head,
                masked_teacher_ibot_softmaxed_centered,
                student_masks_flat=masks,
                n_masked_patches=n_masked_patches,
                masks_weight=masks_weight,
            )
            * 2
            * 1.0
        )
        loss = dino_global_crops_loss + koleo + ibot_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        update_teacher(0.9 + 0.02 * step)
        values.extend([dino_global_crops_loss.item(), koleo.item(), ibot_loss.item()])

    with torch.no_grad():
        x = student.backbone(global_crops)["x_norm_clstoken"]
        x = torch.nn.functional.normalize(x, p=2, dim=-1)
        dots = torch.mm(x, x.t())
        dots.fill_diagonal_(-1)
        values.extend(torch.max(dots, dim=1).indices.tolist())
        values.extend(koleo_loss.pairwise_NNs_inner(x.clone()).tolist())
        cls = teacher.backbone(global_crops)["x_norm_clstoken"]
        q = dino_loss.sinkhorn_knopp_teacher(teacher.dino_head(cls), 0.1)
        values.extend(q.sum(dim=1)[:3].tolist() + q.sum(dim=0)[:3].tolist())
        values.append(teacher.dino_head.last_layer.weight_g.norm().item())
        values.append(student.backbone.mask_token.norm().item())
    return values
