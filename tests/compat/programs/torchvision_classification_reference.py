"""torchvision's ``references/classification`` recipe (``train.py``, ``utils.py``,
``transforms.py``), size-reduced: a small ``torchvision.models.VisionTransformer`` trained a few
epochs as the reference script trains it with ``--mixup-alpha --cutmix-alpha
--label-smoothing --model-ema --lr-warmup-epochs --norm-weight-decay --bias-weight-decay
--transformer-embedding-decay --clip-grad-norm``.

The idioms: the batch transforms ``RandomMixup`` / ``RandomCutmix`` (their argument checks,
``batch.clone()``, ``torch.nn.functional.one_hot(target, num_classes=...).to(dtype=batch.dtype)``,
``torch.rand(1).item() >= self.p``, ``batch.roll(1, 0)``, ``lambda_param =
float(torch._sample_dirichlet(torch.tensor([self.alpha, self.alpha]))[0])``, the in-place
``batch_rolled.mul_(1.0 - lambda_param)`` / ``batch.mul_(lambda_param).add_(batch_rolled)``,
cutmix's box from ``torch.randint(W, (1,))`` and ``int(torch.clamp(r_x - r_w_half, min=0))``
pasted with slice assignment) chosen per batch by ``RandomChoice`` inside a ``collate_fn`` over
``default_collate``, a ``RandomSampler`` / ``SequentialSampler`` ``DataLoader``;
``utils.set_weight_decay`` (``named_parameters(recurse=False)`` / ``named_children()`` walk,
``norm_classes`` from ``torch.nn.modules.batchnorm._BatchNorm``, ``torch.nn.modules.instancenorm.
_InstanceNorm`` and friends, ``custom_keys_weight_decay``) feeding ``SGD(nesterov=...)``;
``nn.CrossEntropyLoss(label_smoothing=...)`` on mixed (probability) targets;
``SequentialLR`` of ``LinearLR`` warm-up and ``CosineAnnealingLR``;
``nn.utils.clip_grad_norm_``; ``utils.ExponentialMovingAverage`` (an ``AveragedModel`` subclass
with its own ``ema_avg`` and ``use_buffers=True``, the pycls decay adjustment, and
``model_ema.n_averaged.fill_(0)`` during warm-up); ``utils.accuracy(output, target, topk=(1,
5))`` under ``torch.inference_mode()`` (``output.topk(maxk, 1, True, True)``, ``pred.t()``,
``pred.eq(target[None])``, ``correct[:k].flatten().sum(dtype=torch.float32)``);
``reduce_across_processes`` without a process group (``torch.tensor(val)``); ``evaluate`` of the
model and of the EMA copy; the checkpoint dict (``model``, ``optimizer``, ``lr_scheduler``,
``model_ema`` state dicts) through ``torch.save`` / ``torch.load(..., weights_only=True)`` and a
resumed scheduler. The model is torchvision's ``VisionTransformer`` written out (``conv_proj``,
``class_token``, ``Encoder.pos_embedding``, ``EncoderBlock`` with ``nn.MultiheadAttention(
batch_first=True)``, ``MLPBlock``, ``heads`` as an ``OrderedDict`` ``Sequential``,
``torch._assert`` on shapes, ``trunc_normal_`` init of ``conv_proj``).

Sizes: 8x8 images, patch 4, hidden 8, 2 heads, one layer, 6 classes; 24 train / 12 test
samples; 3 epochs.
"""

from __future__ import annotations

import io
import math
import random
from collections import OrderedDict
from functools import partial
from typing import Any

import numpy as np

from ._common import load_numpy_state

NUM_CLASSES, IMAGE, PATCH, HIDDEN, HEADS, MLP = 6, 8, 4, 8, 2, 16


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MLPBlock(nn.Sequential):
        """Transformer MLP block (torchvision.ops.MLP as the ViT uses it)."""

        def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
            super().__init__(
                nn.Linear(in_dim, mlp_dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(mlp_dim, in_dim),
                nn.Dropout(dropout),
            )
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.normal_(m.bias, std=1e-6)

    class EncoderBlock(nn.Module):
        """Transformer encoder block."""

        def __init__(
            self,
            num_heads: int,
            hidden_dim: int,
            mlp_dim: int,
            dropout: float,
            attention_dropout: float,
            norm_layer: Any = partial(nn.LayerNorm, eps=1e-6),  # noqa: B008 (as torchvision)
        ) -> None:
            super().__init__()
            self.num_heads = num_heads

            # Attention block
            self.ln_1 = norm_layer(hidden_dim)
            self.self_attention = nn.MultiheadAttention(
                hidden_dim, num_heads, dropout=attention_dropout, batch_first=True
            )
            self.dropout = nn.Dropout(dropout)

            # MLP block
            self.ln_2 = norm_layer(hidden_dim)
            self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

        def forward(self, input: Any) -> Any:
            torch._assert(
                input.dim() == 3,
                f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}",
            )
            x = self.ln_1(input)
            x, _ = self.self_attention(x, x, x, need_weights=False)
            x = self.dropout(x)
            x = x + input

            y = self.ln_2(x)
            y = self.mlp(y)
            return x + y

    class Encoder(nn.Module):
        """Transformer Model Encoder for sequence to sequence translation."""

        def __init__(
            self,
            seq_length: int,
            num_layers: int,
            num_heads: int,
            hidden_dim: int,
            mlp_dim: int,
            dropout: float,
            attention_dropout: float,
            norm_layer: Any = partial(nn.LayerNorm, eps=1e-6),  # noqa: B008 (as torchvision)
        ) -> None:
            super().__init__()
            # Note that batch_size is on the first dim because
            # we have batch_first=True in nn.MultiAttention() by default
            self.pos_embedding = nn.Parameter(
                torch.empty(1, seq_length, hidden_dim).normal_(std=0.02)
            )  # from BERT
            self.dropout = nn.Dropout(dropout)
            layers: OrderedDict[str, Any] = OrderedDict()
            for i in range(num_layers):
                layers[f"encoder_layer_{i}"] = EncoderBlock(
                    num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer
                )
            self.layers = nn.Sequential(layers)
            self.ln = norm_layer(hidden_dim)

        def forward(self, input: Any) -> Any:
            torch._assert(
                input.dim() == 3,
                f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}",
            )
            input = input + self.pos_embedding
            return self.ln(self.layers(self.dropout(input)))

    class VisionTransformer(nn.Module):
        """Vision Transformer as per https://arxiv.org/abs/2010.11929."""

        def __init__(
            self,
            image_size: int,
            patch_size: int,
            num_layers: int,
            num_heads: int,
            hidden_dim: int,
            mlp_dim: int,
            dropout: float = 0.0,
            attention_dropout: float = 0.0,
            num_classes: int = 1000,
            norm_layer: Any = partial(nn.LayerNorm, eps=1e-6),  # noqa: B008 (as torchvision)
        ) -> None:
            super().__init__()
            torch._assert(image_size % patch_size == 0, "Input shape indivisible by patch size!")
            self.image_size = image_size
            self.patch_size = patch_size
            self.hidden_dim = hidden_dim
            self.mlp_dim = mlp_dim
            self.attention_dropout = attention_dropout
            self.dropout = dropout
            self.num_classes = num_classes
            self.norm_layer = norm_layer

            self.conv_proj = nn.Conv2d(
                in_channels=3, out_channels=hidden_dim, kernel_size=patch_size, stride=patch_size
            )

            seq_length = (image_size // patch_size) ** 2

            # Add a class token
            self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
            seq_length += 1

            self.encoder = Encoder(
                seq_length,
                num_layers,
                num_heads,
                hidden_dim,
                mlp_dim,
                dropout,
                attention_dropout,
                norm_layer,
            )
            self.seq_length = seq_length

            heads_layers: OrderedDict[str, Any] = OrderedDict()
            heads_layers["head"] = nn.Linear(hidden_dim, num_classes)
            self.heads = nn.Sequential(heads_layers)

            # Init the patchify stem
            fan_in = (
                self.conv_proj.in_channels
                * self.conv_proj.kernel_size[0]
                * self.conv_proj.kernel_size[1]
            )
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
            if self.conv_proj.bias is not None:
                nn.init.zeros_(self.conv_proj.bias)

        def _process_input(self, x: Any) -> Any:
            n, c, h, w = x.shape
            p = self.patch_size
            torch._assert(
                h == self.image_size, f"Wrong image height! Expected {self.image_size} but got {h}!"
            )
            torch._assert(
                w == self.image_size, f"Wrong image width! Expected {self.image_size} but got {w}!"
            )
            n_h = h // p
            n_w = w // p

            # (n, c, h, w) -> (n, hidden_dim, n_h, n_w)
            x = self.conv_proj(x)
            # (n, hidden_dim, n_h, n_w) -> (n, hidden_dim, (n_h * n_w))
            x = x.reshape(n, self.hidden_dim, n_h * n_w)

            # (n, hidden_dim, (n_h * n_w)) -> (n, (n_h * n_w), hidden_dim)
            # The self attention layer expects inputs in the format (N, S, E)
            # where S is the source sequence length, N is the batch size, E is the
            # embedding dimension
            x = x.permute(0, 2, 1)

            return x

        def forward(self, x: Any) -> Any:
            # Reshape and permute the input tensor
            x = self._process_input(x)
            n = x.shape[0]

            # Expand the class token to the full batch
            batch_class_token = self.class_token.expand(n, -1, -1)
            x = torch.cat([batch_class_token, x], dim=1)

            x = self.encoder(x)

            # Classifier "token" as used by standard language architectures
            x = x[:, 0]

            x = self.heads(x)

            return x

    return VisionTransformer(
        image_size=IMAGE,
        patch_size=PATCH,
        num_layers=1,
        num_heads=HEADS,
        hidden_dim=HIDDEN,
        mlp_dim=MLP,
        num_classes=NUM_CLASSES,
    )


def _transforms(torch_like: Any) -> tuple[Any, Any, Any]:
    """``references/classification/transforms.py``: RandomMixup, RandomCutmix (and
    torchvision's ``RandomChoice``, which draws with Python's ``random``)."""
    torch = torch_like
    Tensor = torch.Tensor

    def get_dimensions(img: Any) -> list[int]:  # torchvision.transforms.functional
        channels = 1 if img.ndim == 2 else img.shape[-3]
        height, width = img.shape[-2:]
        return [channels, height, width]

    class RandomMixup(torch.nn.Module):
        """Randomly apply Mixup to the provided batch and targets."""

        def __init__(
            self, num_classes: int, p: float = 0.5, alpha: float = 1.0, inplace: bool = False
        ) -> None:
            super().__init__()

            if num_classes < 1:
                raise ValueError(
                    f"Please provide a valid positive value for the num_classes. "
                    f"Got num_classes={num_classes}"
                )

            if alpha <= 0:
                raise ValueError("Alpha param can't be zero.")

            self.num_classes = num_classes
            self.p = p
            self.alpha = alpha
            self.inplace = inplace

        def forward(self, batch: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
            if batch.ndim != 4:
                raise ValueError(f"Batch ndim should be 4. Got {batch.ndim}")
            if target.ndim != 1:
                raise ValueError(f"Target ndim should be 1. Got {target.ndim}")
            if not batch.is_floating_point():
                raise TypeError(f"Batch dtype should be a float tensor. Got {batch.dtype}.")
            if target.dtype != torch.int64:
                raise TypeError(f"Target dtype should be torch.int64. Got {target.dtype}")

            if not self.inplace:
                batch = batch.clone()
                target = target.clone()

            if target.ndim == 1:
                target = torch.nn.functional.one_hot(target, num_classes=self.num_classes).to(
                    dtype=batch.dtype
                )

            if torch.rand(1).item() >= self.p:
                return batch, target

            # It's faster to roll the batch by one instead of shuffling it to create image pairs
            batch_rolled = batch.roll(1, 0)
            target_rolled = target.roll(1, 0)

            # Implemented as on mixup paper, page 3.
            lambda_param = float(torch._sample_dirichlet(torch.tensor([self.alpha, self.alpha]))[0])
            batch_rolled.mul_(1.0 - lambda_param)
            batch.mul_(lambda_param).add_(batch_rolled)

            target_rolled.mul_(1.0 - lambda_param)
            target.mul_(lambda_param).add_(target_rolled)

            return batch, target

        def __repr__(self) -> str:
            s = (
                f"{self.__class__.__name__}("
                f"num_classes={self.num_classes}"
                f", p={self.p}"
                f", alpha={self.alpha}"
                f", inplace={self.inplace}"
                f")"
            )
            return s

    class RandomCutmix(torch.nn.Module):
        """Randomly apply Cutmix to the provided batch and targets."""

        def __init__(
            self, num_classes: int, p: float = 0.5, alpha: float = 1.0, inplace: bool = False
        ) -> None:
            super().__init__()
            if num_classes < 1:
                raise ValueError("Please provide a valid positive value for the num_classes.")
            if alpha <= 0:
                raise ValueError("Alpha param can't be zero.")

            self.num_classes = num_classes
            self.p = p
            self.alpha = alpha
            self.inplace = inplace

        def forward(self, batch: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
            if batch.ndim != 4:
                raise ValueError(f"Batch ndim should be 4. Got {batch.ndim}")
            if target.ndim != 1:
                raise ValueError(f"Target ndim should be 1. Got {target.ndim}")
            if not batch.is_floating_point():
                raise TypeError(f"Batch dtype should be a float tensor. Got {batch.dtype}.")
            if target.dtype != torch.int64:
                raise TypeError(f"Target dtype should be torch.int64. Got {target.dtype}")

            if not self.inplace:
                batch = batch.clone()
                target = target.clone()

            if target.ndim == 1:
                target = torch.nn.functional.one_hot(target, num_classes=self.num_classes).to(
                    dtype=batch.dtype
                )

            if torch.rand(1).item() >= self.p:
                return batch, target

            # It's faster to roll the batch by one instead of shuffling it to create image pairs
            batch_rolled = batch.roll(1, 0)
            target_rolled = target.roll(1, 0)

            # Implemented as on cutmix paper, page 12 (with minor corrections on typos).
            lambda_param = float(torch._sample_dirichlet(torch.tensor([self.alpha, self.alpha]))[0])
            _, H, W = get_dimensions(batch)

            r_x = torch.randint(W, (1,))
            r_y = torch.randint(H, (1,))

            r = 0.5 * math.sqrt(1.0 - lambda_param)
            r_w_half = int(r * W)
            r_h_half = int(r * H)

            x1 = int(torch.clamp(r_x - r_w_half, min=0))
            y1 = int(torch.clamp(r_y - r_h_half, min=0))
            x2 = int(torch.clamp(r_x + r_w_half, max=W))
            y2 = int(torch.clamp(r_y + r_h_half, max=H))

            batch[:, :, y1:y2, x1:x2] = batch_rolled[:, :, y1:y2, x1:x2]
            lambda_param = float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))

            target_rolled.mul_(1.0 - lambda_param)
            target.mul_(lambda_param).add_(target_rolled)

            return batch, target

    class RandomChoice:
        """torchvision.transforms.RandomChoice (``random.choices`` picks the transform)."""

        def __init__(self, transforms: list[Any], p: Any = None, rng: Any = random) -> None:
            self.transforms = transforms
            self.p = p
            self.rng = rng

        def __call__(self, *args: Any) -> Any:
            t = self.rng.choices(self.transforms, weights=self.p)[0]
            return t(*args)

    return RandomMixup, RandomCutmix, RandomChoice


def _utils(torch_like: Any) -> Any:
    """``references/classification/utils.py``: the pieces ``train.py`` calls."""
    torch = torch_like
    dist = torch.distributed

    class utils:  # noqa: N801 (the reference's module name)
        class ExponentialMovingAverage(torch.optim.swa_utils.AveragedModel):
            """Maintains moving averages of model parameters using an exponential decay.
            ``ema_avg = decay * averaged_model_parameter + (1 - decay) * model_parameter``
            `torch.optim.swa_utils.AveragedModel <https://pytorch.org/docs/stable/optim.html#custom-averaging-strategies>`_
            is used to compute the EMA.
            """

            def __init__(self, model: Any, decay: float, device: Any = "cpu") -> None:
                def ema_avg(avg_model_param: Any, model_param: Any, num_averaged: Any) -> Any:
                    return decay * avg_model_param + (1 - decay) * model_param

                super().__init__(model, device, ema_avg, use_buffers=True)

        @staticmethod
        def accuracy(output: Any, target: Any, topk: tuple[int, ...] = (1,)) -> list[Any]:
            """Computes the accuracy over the k top predictions for the specified values of k"""
            with torch.inference_mode():
                maxk = max(topk)
                batch_size = target.size(0)
                if target.ndim == 2:
                    target = target.max(dim=1)[1]

                _, pred = output.topk(maxk, 1, True, True)
                pred = pred.t()
                correct = pred.eq(target[None])

                res = []
                for k in topk:
                    correct_k = correct[:k].flatten().sum(dtype=torch.float32)
                    res.append(correct_k * (100.0 / batch_size))
                return res

        @staticmethod
        def is_dist_avail_and_initialized() -> bool:
            if not dist.is_available():
                return False
            if not dist.is_initialized():
                return False
            return True

        @staticmethod
        def reduce_across_processes(val: Any) -> Any:
            if not utils.is_dist_avail_and_initialized():
                # nothing to sync, but we still convert to tensor for consistency with the
                # distributed case.
                return torch.tensor(val)

            t = torch.tensor(val, device="cuda")
            dist.barrier()
            dist.all_reduce(t)
            return t

        @staticmethod
        def set_weight_decay(
            model: Any,
            weight_decay: float,
            norm_weight_decay: float | None = None,
            norm_classes: list[type] | None = None,
            custom_keys_weight_decay: list[tuple[str, float]] | None = None,
        ) -> list[dict[str, Any]]:
            if not norm_classes:
                norm_classes = [
                    torch.nn.modules.batchnorm._BatchNorm,
                    torch.nn.LayerNorm,
                    torch.nn.GroupNorm,
                    torch.nn.modules.instancenorm._InstanceNorm,
                    torch.nn.LocalResponseNorm,
                ]
            norm_classes = tuple(norm_classes)

            params: dict[str, list[Any]] = {
                "other": [],
                "norm": [],
            }
            params_weight_decay = {
                "other": weight_decay,
                "norm": norm_weight_decay,
            }
            custom_keys = []
            if custom_keys_weight_decay is not None:
                for key, weight_decay in custom_keys_weight_decay:
                    params[key] = []
                    params_weight_decay[key] = weight_decay
                    custom_keys.append(key)

            def _add_params(module: Any, prefix: str = "") -> None:
                for name, p in module.named_parameters(recurse=False):
                    if not p.requires_grad:
                        continue
                    is_custom_key = False
                    for key in custom_keys:
                        target_name = f"{prefix}.{name}" if prefix != "" and "." in key else name
                        if key == target_name:
                            params[key].append(p)
                            is_custom_key = True
                            break
                    if not is_custom_key:
                        if norm_weight_decay is not None and isinstance(module, norm_classes):
                            params["norm"].append(p)
                        else:
                            params["other"].append(p)

                for child_name, child_module in module.named_children():
                    child_prefix = f"{prefix}.{child_name}" if prefix != "" else child_name
                    _add_params(child_module, prefix=child_prefix)

            _add_params(model)

            param_groups = []
            for key in params:
                if len(params[key]) > 0:
                    param_groups.append(
                        {"params": params[key], "weight_decay": params_weight_decay[key]}
                    )
            return param_groups

    return utils


def _dataset(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, int]]:
    """Images whose class is a bright 4x4 quadrant (plus a colour shift) and noise."""
    out = []
    for _ in range(n):
        c = int(rng.integers(0, NUM_CLASSES))
        img = 0.3 * rng.random((3, IMAGE, IMAGE))
        qy, qx = divmod(c % 4, 2)
        img[:, 4 * qy : 4 * qy + 4, 4 * qx : 4 * qx + 4] += 0.7
        img[c % 3] += 0.2 * (c // 3)
        out.append((img, c))
    return out


class _Args:
    mixup_alpha, cutmix_alpha, label_smoothing = 0.2, 1.0, 0.1
    weight_decay, norm_weight_decay, bias_weight_decay = 1e-2, 0.0, 0.0
    transformer_embedding_decay = 0.0
    opt, lr, momentum = "sgd_nesterov", 0.3, 0.9
    lr_scheduler, lr_warmup_epochs, lr_warmup_method, lr_warmup_decay = (
        "cosineannealinglr",
        1,
        "linear",
        0.1,
    )
    lr_min, epochs, batch_size, clip_grad_norm = 0.0, 3, 6, 1.0
    model_ema, model_ema_steps, model_ema_decay = True, 2, 0.9
    world_size = 1


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    default_collate = torch.utils.data.dataloader.default_collate
    RandomMixup, RandomCutmix, RandomChoice = _transforms(torch_like)
    utils = _utils(torch_like)
    args = _Args()
    device = torch.device("cpu")
    values: list[float] = []

    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    choice_rng = random.Random(0)
    dataset = [(torch.tensor(x, dtype=torch.get_default_dtype()), c) for x, c in _dataset(rng, 24)]
    dataset_test = [
        (torch.tensor(x, dtype=torch.get_default_dtype()), c) for x, c in _dataset(rng, 12)
    ]
    num_classes = NUM_CLASSES

    # train.py main()
    torch.backends.cudnn.benchmark = False
    mixup_transforms = []
    if args.mixup_alpha > 0.0:
        mixup_transforms.append(RandomMixup(num_classes, p=1.0, alpha=args.mixup_alpha))
    if args.cutmix_alpha > 0.0:
        mixup_transforms.append(RandomCutmix(num_classes, p=1.0, alpha=args.cutmix_alpha))
    collate_fn = default_collate
    if mixup_transforms:
        mixupcutmix = RandomChoice(mixup_transforms, rng=choice_rng)

        def collate_fn(batch: Any) -> Any:
            return mixupcutmix(*default_collate(batch))

    train_sampler = torch.utils.data.RandomSampler(dataset)
    test_sampler = torch.utils.data.SequentialSampler(dataset_test)
    data_loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=args.batch_size,
        sampler=train_sampler,
        num_workers=0,
        pin_memory=False,
        collate_fn=collate_fn,
    )
    data_loader_test = torch.utils.data.DataLoader(
        dataset_test, batch_size=args.batch_size, sampler=test_sampler, num_workers=0
    )

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.to(device)

    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    custom_keys_weight_decay = []
    if args.bias_weight_decay is not None:
        custom_keys_weight_decay.append(("bias", args.bias_weight_decay))
    if args.transformer_embedding_decay is not None:
        for key in ["class_token", "position_embedding", "relative_position_bias_table"]:
            custom_keys_weight_decay.append((key, args.transformer_embedding_decay))
    parameters = utils.set_weight_decay(
        model,
        args.weight_decay,
        norm_weight_decay=args.norm_weight_decay,
        custom_keys_weight_decay=custom_keys_weight_decay
        if len(custom_keys_weight_decay) > 0
        else None,
    )
    values.extend(len(g["params"]) for g in parameters)

    opt_name = args.opt.lower()
    if opt_name.startswith("sgd"):
        optimizer = torch.optim.SGD(
            parameters,
            lr=args.lr,
            momentum=args.momentum,
            weight_decay=args.weight_decay,
            nesterov="nesterov" in opt_name,
        )
    else:
        raise RuntimeError(f"Invalid optimizer {args.opt}.")

    main_lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=args.epochs - args.lr_warmup_epochs, eta_min=args.lr_min
    )
    warmup_lr_scheduler = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=args.lr_warmup_decay, total_iters=args.lr_warmup_epochs
    )
    lr_scheduler = torch.optim.lr_scheduler.SequentialLR(
        optimizer,
        schedulers=[warmup_lr_scheduler, main_lr_scheduler],
        milestones=[args.lr_warmup_epochs],
    )

    # Decay adjustment that aims to keep the decay independent of other hyper-parameters
    adjust = args.world_size * args.batch_size * args.model_ema_steps / args.epochs
    alpha = 1.0 - args.model_ema_decay
    alpha = min(1.0, alpha * adjust)
    model_ema = utils.ExponentialMovingAverage(model, device=device, decay=1.0 - alpha)

    def train_one_epoch(epoch: int) -> None:
        model.train()
        for i, (image, target) in enumerate(data_loader):
            image, target = image.to(device), target.to(device)
            with torch.amp.autocast("cpu", enabled=False):
                output = model(image)
                loss = criterion(output, target)

            optimizer.zero_grad()
            loss.backward()
            if args.clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad_norm)
            optimizer.step()

            if model_ema and i % args.model_ema_steps == 0:
                model_ema.update_parameters(model)
                if epoch < args.lr_warmup_epochs:
                    # Reset ema buffer to keep copying weights during warmup period
                    model_ema.n_averaged.fill_(0)

            acc1, acc5 = utils.accuracy(output, target, topk=(1, 5))
            values.extend([loss.item(), optimizer.param_groups[0]["lr"], acc1.item(), acc5.item()])

    def evaluate(model: Any) -> None:
        model.eval()
        num_processed_samples = 0
        total_loss, total1, total5 = 0.0, 0.0, 0.0
        with torch.inference_mode():
            for image, target in data_loader_test:
                image = image.to(device, non_blocking=True)
                target = target.to(device, non_blocking=True)
                output = model(image)
                loss = criterion(output, target)

                acc1, acc5 = utils.accuracy(output, target, topk=(1, 5))
                batch_size = image.shape[0]
                total_loss += loss.item() * batch_size
                total1 += acc1.item() * batch_size
                total5 += acc5.item() * batch_size
                num_processed_samples += batch_size
        num_processed_samples = utils.reduce_across_processes(num_processed_samples)
        n = int(num_processed_samples)
        values.extend([total_loss / n, total1 / n, total5 / n, n])

    checkpoint_bytes = None
    for epoch in range(args.epochs):
        train_one_epoch(epoch)
        lr_scheduler.step()
        evaluate(model)
        if model_ema:
            evaluate(model_ema)
        checkpoint = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "lr_scheduler": lr_scheduler.state_dict(),
            "epoch": epoch,
        }
        if model_ema:
            checkpoint["model_ema"] = model_ema.state_dict()
        if epoch == 1:
            checkpoint_bytes = io.BytesIO()
            torch.save(checkpoint, checkpoint_bytes)

    # --resume: a fresh model, optimizer and schedule continue from the epoch-1 checkpoint
    assert checkpoint_bytes is not None
    checkpoint_bytes.seek(0)
    checkpoint = torch.load(checkpoint_bytes, map_location="cpu", weights_only=True)
    resumed = make_model(torch_like)
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt = torch.optim.SGD(
        utils.set_weight_decay(
            resumed,
            args.weight_decay,
            norm_weight_decay=args.norm_weight_decay,
            custom_keys_weight_decay=custom_keys_weight_decay,
        ),
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        nesterov=True,
    )
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed_sched = torch.optim.lr_scheduler.SequentialLR(
        resumed_opt,
        schedulers=[
            torch.optim.lr_scheduler.LinearLR(
                resumed_opt, start_factor=args.lr_warmup_decay, total_iters=args.lr_warmup_epochs
            ),
            torch.optim.lr_scheduler.CosineAnnealingLR(
                resumed_opt, T_max=args.epochs - args.lr_warmup_epochs, eta_min=args.lr_min
            ),
        ],
        milestones=[args.lr_warmup_epochs],
    )
    resumed_sched.load_state_dict(checkpoint["lr_scheduler"])
    resumed_ema = utils.ExponentialMovingAverage(resumed, device=device, decay=1.0 - alpha)
    resumed_ema.load_state_dict(checkpoint["model_ema"])
    start_epoch = checkpoint["epoch"] + 1
    values.extend([start_epoch, resumed_opt.param_groups[0]["lr"], resumed_ema.n_averaged.item()])
    resumed_sched.step()
    values.append(resumed_opt.param_groups[0]["lr"])
    return values
