"""milesial/Pytorch-UNet (``unet/unet_parts.py``, ``unet/unet_model.py``,
``utils/dice_score.py``, ``train.py``, ``evaluate.py``), size-reduced: ``DoubleConv``
(``Conv2d(..., bias=False)`` -> ``BatchNorm2d`` -> ``ReLU(inplace=True)``, twice, with
``mid_channels``), ``Down`` (``MaxPool2d(2)``), ``Up`` in both variants -- ``nn.Upsample(
scale_factor=2, mode='bilinear', align_corners=True)`` or ``nn.ConvTranspose2d(in_channels,
in_channels // 2, kernel_size=2, stride=2)`` -- with the skip connection padded by ``F.pad(x1,
[diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])`` and joined by
``torch.cat([x2, x1], dim=1)``, ``OutConv`` (1x1), ``UNet`` with ``factor = 2 if bilinear else
1``; the Dice score (``sum(dim=(-1, -2, -3))``, ``torch.where(sets_sum == 0, inter,
sets_sum)``, ``multiclass_dice_coeff`` on ``flatten(0, 1)``, ``dice_loss``); ``train.py``'s
``optim.RMSprop(..., weight_decay=..., momentum=..., foreach=True)``, ``ReduceLROnPlateau(
optimizer, 'max', patience=...)`` stepped on the validation Dice, a disabled ``GradScaler``,
``model.to(memory_format=torch.channels_last)``, ``images.to(device=device,
dtype=torch.float32, memory_format=torch.channels_last)``, ``torch.autocast(device.type if
device.type != 'mps' else 'cpu', enabled=amp)``, ``CrossEntropyLoss`` + multiclass Dice on
``F.softmax(...).float()`` and ``F.one_hot(true_masks, n_classes).permute(0, 3, 1, 2)
.float()`` (``BCEWithLogitsLoss`` on ``masks_pred.squeeze(1)`` + ``F.sigmoid`` Dice for one
class), ``zero_grad(set_to_none=True)``, ``clip_grad_norm_``; ``evaluate.py``'s
``@torch.inference_mode()`` evaluation (``(F.sigmoid(mask_pred) > 0.5).float()``,
``F.one_hot(mask_pred.argmax(dim=1), ...)``, ``mask_pred[:, 1:]``).

Changed: the Carvana images are random 10x10 NumPy images whose masks are a thresholded
channel; four levels 64..1024 channels -> two levels 4..16 (the odd 10 -> 5 -> 2 sizes make
``Up`` pad); ``random_split(generator=...)`` is a fixed split and the loaders do not shuffle;
``torch.cuda.amp.GradScaler(enabled=amp)`` is ``torch.amp.GradScaler('cuda', enabled=amp)``
(the old spelling warns in PyTorch 2.13); both a one-class bilinear net and a three-class
transposed-convolution net are trained; the learning rate is 1e-5 -> 1e-3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-5
SIZE = 10


def _unet_class(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class DoubleConv(nn.Module):
        """(convolution => [BN] => ReLU) * 2"""

        def __init__(self, in_channels: int, out_channels: int, mid_channels: Any = None) -> None:
            super().__init__()
            if not mid_channels:
                mid_channels = out_channels
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(mid_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )

        def forward(self, x: Any) -> Any:
            return self.double_conv(x)

    class Down(nn.Module):
        """Downscaling with maxpool then double conv"""

        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.maxpool_conv = nn.Sequential(
                nn.MaxPool2d(2), DoubleConv(in_channels, out_channels)
            )

        def forward(self, x: Any) -> Any:
            return self.maxpool_conv(x)

    class Up(nn.Module):
        """Upscaling then double conv"""

        def __init__(self, in_channels: int, out_channels: int, bilinear: bool = True) -> None:
            super().__init__()

            # if bilinear, use the normal convolutions to reduce the number of channels
            if bilinear:
                self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
                self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
            else:
                self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
                self.conv = DoubleConv(in_channels, out_channels)

        def forward(self, x1: Any, x2: Any) -> Any:
            x1 = self.up(x1)
            # input is CHW
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]

            x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            # if you have padding issues, see
            # https://github.com/HaiyongJiang/U-Net-Pytorch-Unstructured-Buggy/commit/0e854509c2cea854e247a9c615f175f76fbb2e3a
            # https://github.com/xiaopeng-liao/Pytorch-UNet/commit/8ebac70e633bac59fc22bb5195e513d5832fb3bd
            x = torch.cat([x2, x1], dim=1)
            return self.conv(x)

    class OutConv(nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super(OutConv, self).__init__()  # noqa: UP008 (as in the repository)
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

        def forward(self, x: Any) -> Any:
            return self.conv(x)

    class UNet(nn.Module):
        def __init__(self, n_channels: int, n_classes: int, bilinear: bool = False) -> None:
            super(UNet, self).__init__()  # noqa: UP008
            self.n_channels = n_channels
            self.n_classes = n_classes
            self.bilinear = bilinear

            self.inc = DoubleConv(n_channels, 4)
            self.down1 = Down(4, 8)
            factor = 2 if bilinear else 1
            self.down2 = Down(8, 16 // factor)
            self.up1 = Up(16, 8 // factor, bilinear)
            self.up2 = Up(8, 4, bilinear)
            self.outc = OutConv(4, n_classes)

        def forward(self, x: Any) -> Any:
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x = self.up1(x3, x2)
            x = self.up2(x, x1)
            logits = self.outc(x)
            return logits

    return UNet


def make_model(torch_like: Any) -> Any:
    UNet = _unet_class(torch_like)
    return torch_like.nn.ModuleList(
        [UNet(n_channels=3, n_classes=1, bilinear=True), UNet(n_channels=3, n_classes=3)]
    )


def _dice(torch_like: Any) -> tuple[Any, Any, Any]:
    torch = torch_like

    def dice_coeff(
        input: Any, target: Any, reduce_batch_first: bool = False, epsilon: float = 1e-6
    ) -> Any:
        # Average of Dice coefficient for all batches, or for a single mask
        assert input.size() == target.size()
        assert input.dim() == 3 or not reduce_batch_first

        sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)

        inter = 2 * (input * target).sum(dim=sum_dim)
        sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
        sets_sum = torch.where(sets_sum == 0, inter, sets_sum)

        dice = (inter + epsilon) / (sets_sum + epsilon)
        return dice.mean()

    def multiclass_dice_coeff(
        input: Any, target: Any, reduce_batch_first: bool = False, epsilon: float = 1e-6
    ) -> Any:
        # Average of Dice coefficient for all classes
        return dice_coeff(input.flatten(0, 1), target.flatten(0, 1), reduce_batch_first, epsilon)

    def dice_loss(input: Any, target: Any, multiclass: bool = False) -> Any:
        # Dice loss (objective to minimize) between 0 and 1
        fn = multiclass_dice_coeff if multiclass else dice_coeff
        return 1 - fn(input, target, reduce_batch_first=True)

    return dice_coeff, multiclass_dice_coeff, dice_loss


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nets = make_model(torch_like)
    if init is not None:
        nets.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    rng = np.random.default_rng(11)
    images = rng.random((8, 3, SIZE, SIZE)).astype(np.float32)
    masks = (images[:, 0] > 0.5).astype(np.int64) + (images[:, 1] > 0.7).astype(np.int64)
    values: list[float] = []
    for model in nets:
        n_masks = masks.clip(0, model.n_classes - 1) if model.n_classes > 1 else masks.clip(0, 1)
        dataset = [
            {"image": as_tensor(torch_like, images[i]), "mask": as_tensor(torch_like, n_masks[i])}
            for i in range(len(images))
        ]
        values += _train_model(torch_like, model, dataset)
    return values


def _train_model(torch_like: Any, model: Any, dataset: list) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    dice_coeff, multiclass_dice_coeff, dice_loss = _dice(torch_like)
    DataLoader = torch_like.utils.data.DataLoader
    device = torch.device("cpu")
    epochs, batch_size, learning_rate = 3, 2, 1e-3
    amp, weight_decay, momentum, gradient_clipping = False, 1e-8, 0.999, 1.0

    model = model.to(memory_format=torch.channels_last)
    model.to(device=device)

    # 2. Split into train / validation partitions
    train_set, val_set = dataset[:6], dataset[6:]

    # 3. Create data loaders
    loader_args = dict(batch_size=batch_size, num_workers=0, pin_memory=False)
    train_loader = DataLoader(train_set, shuffle=False, **loader_args)
    val_loader = DataLoader(val_set, shuffle=False, drop_last=True, **loader_args)

    @torch.inference_mode()
    def evaluate(net: Any, dataloader: Any, device: Any, amp: bool) -> Any:
        net.eval()
        num_val_batches = len(dataloader)
        dice_score = 0

        # iterate over the validation set
        with torch.autocast(device.type if device.type != "mps" else "cpu", enabled=amp):
            for batch in dataloader:
                image, mask_true = batch["image"], batch["mask"]

                # move images and labels to correct device and type
                image = image.to(
                    device=device, dtype=torch.float32, memory_format=torch.channels_last
                )
                mask_true = mask_true.to(device=device, dtype=torch.long)

                # predict the mask
                mask_pred = net(image)

                if net.n_classes == 1:
                    assert mask_true.min() >= 0 and mask_true.max() <= 1
                    mask_pred = (F.sigmoid(mask_pred) > 0.5).float()
                    # compute the Dice score
                    dice_score += dice_coeff(
                        mask_pred.squeeze(1), mask_true.float(), reduce_batch_first=False
                    )
                else:
                    assert mask_true.min() >= 0 and mask_true.max() < net.n_classes
                    # convert to one-hot format
                    mask_true = F.one_hot(mask_true, net.n_classes).permute(0, 3, 1, 2).float()
                    mask_pred = (
                        F.one_hot(mask_pred.argmax(dim=1), net.n_classes)
                        .permute(0, 3, 1, 2)
                        .float()
                    )
                    # compute the Dice score, ignoring background
                    dice_score += multiclass_dice_coeff(
                        mask_pred[:, 1:], mask_true[:, 1:], reduce_batch_first=False
                    )

        net.train()
        return dice_score / max(num_val_batches, 1)

    # 4. Set up the optimizer, the loss, the learning rate scheduler and the loss scaling
    # for AMP
    optimizer = optim.RMSprop(
        model.parameters(),
        lr=learning_rate,
        weight_decay=weight_decay,
        momentum=momentum,
        foreach=True,
    )
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, "max", patience=1
    )  # goal: maximize Dice score
    grad_scaler = torch.amp.GradScaler("cuda", enabled=amp)
    criterion = nn.CrossEntropyLoss() if model.n_classes > 1 else nn.BCEWithLogitsLoss()
    global_step = 0
    values = []

    # 5. Begin training
    for _epoch in range(1, epochs + 1):
        model.train()
        epoch_loss = 0
        for batch in train_loader:
            images, true_masks = batch["image"], batch["mask"]

            assert images.shape[1] == model.n_channels, (
                f"Network has been defined with {model.n_channels} input channels, "
                f"but loaded images have {images.shape[1]} channels. Please check that "
                "the images are loaded correctly."
            )

            images = images.to(
                device=device, dtype=torch.float32, memory_format=torch.channels_last
            )
            true_masks = true_masks.to(device=device, dtype=torch.long)

            with torch.autocast(device.type if device.type != "mps" else "cpu", enabled=amp):
                masks_pred = model(images)
                if model.n_classes == 1:
                    loss = criterion(masks_pred.squeeze(1), true_masks.float())
                    loss += dice_loss(
                        F.sigmoid(masks_pred.squeeze(1)), true_masks.float(), multiclass=False
                    )
                else:
                    loss = criterion(masks_pred, true_masks)
                    loss += dice_loss(
                        F.softmax(masks_pred, dim=1).float(),
                        F.one_hot(true_masks, model.n_classes).permute(0, 3, 1, 2).float(),
                        multiclass=True,
                    )

            optimizer.zero_grad(set_to_none=True)
            grad_scaler.scale(loss).backward()
            grad_scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), gradient_clipping)
            grad_scaler.step(optimizer)
            grad_scaler.update()

            global_step += 1
            epoch_loss += loss.item()
            values.append(loss.item())

        # Evaluation round
        val_score = evaluate(model, val_loader, device, amp)
        scheduler.step(val_score)
        values += [float(val_score), optimizer.param_groups[0]["lr"], epoch_loss]
    return values
