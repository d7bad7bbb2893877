"""Two data-mixing recipes trained side by side on one CIFAR-style network, size-reduced:
google-research/augmix (``cifar.py``, ``models/cifar/allconv.py``) and clovaai/CutMix-PyTorch
(``train.py``).

AugMix: ``aug`` (``np.float32(np.random.dirichlet([args.mixture_alpha] * args.mixture_width))``,
``np.float32(np.random.beta(...))``, ``mix = torch.zeros_like(preprocess(image))``, ``mix +=
ws[i] * preprocess(image_aug)`` with NumPy float32 scalars on the left of a tensor, ``np.random
.choice(aug_list)`` over a list of functions, ``mixed = (1 - m) * preprocess(image) + m * mix``)
inside ``AugMixDataset.__getitem__`` returning ``im_tuple`` of three views; ``train``'s JSD loss
(``torch.cat(images, 0)`` of the collated tuple, ``torch.split(logits_all, images[0].size(0))``,
``F.cross_entropy`` on the clean logits, ``torch.clamp((p_clean + p_aug1 + p_aug2) / 3., 1e-7,
1).log()``, ``12 * (F.kl_div(p_mixture, p_clean, reduction='batchmean') + ...) / 3.``,
``loss_ema = loss_ema * 0.9 + float(loss) * 0.1``); the cosine ``get_lr`` in
``LambdaLR(optimizer, lr_lambda=lambda step: get_lr(...))`` stepped per batch; ``test``'s
``logits.data.max(1)[1]`` and ``pred.eq(targets.data).sum().item()``; ``AllConvNet``
(``make_layers`` over ``cfg = [w1, w1, w1, 'Md', w2, w2, w2, 'Md', 'nopad', 'NIN', 'NIN',
'A']`` with ``nn.Dropout(p=0.5)`` after each pool, the ``GELU`` module ``torch.sigmoid(1.702 *
x) * x``, He init ``m.weight.data.normal_(0, math.sqrt(2. / n))`` from ``m.kernel_size[0] *
m.kernel_size[1] * m.out_channels``, ``x.view(x.size(0), -1)``).

CutMix: ``rand_bbox`` (``np.sqrt(1. - lam)``, ``np.random.randint(W)``, ``np.clip(cx - cut_w //
2, 0, W)``), ``r = np.random.rand(1)`` and ``if args.beta > 0 and r < args.cutmix_prob``,
``lam = np.random.beta(args.beta, args.beta)``, ``rand_index = torch.randperm(input.size()[0])``,
the patch paste ``input[:, :, bbx1:bbx2, bby1:bby2] = input[rand_index, :, bbx1:bbx2,
bby1:bby2]`` with NumPy integer bounds, the exact-ratio ``lam = 1 - ((bbx2 - bbx1) * (bby2 -
bby1) / (input.size()[-1] * input.size()[-2]))``, ``criterion(output, target_a) * lam +
criterion(output, target_b) * (1. - lam)`` with a NumPy ``lam``; ``accuracy``'s ``wrong_k =
batch_size - correct_k`` and ``wrong_k.mul_(100.0 / batch_size)``; the ``AverageMeter``;
``adjust_learning_rate``'s step decay written into ``param_group['lr']``.

Changed: CIFAR-10 32 x 32 -> 24 x 24 NumPy images of 4 classes, widths 96 / 192 -> 4 / 8, the
PIL augmentations -> array operations (flip, roll, posterize, contrast, invert: the mixing
around them is the recipe), ``transforms.ToTensor()`` + ``Normalize([0.5] * 3, [0.5] * 3)`` ->
the same arithmetic, ``np.int`` (gone from NumPy) -> ``int``, 2 epochs of 2 batches; NumPy's
global generator is seeded per run (``torch.manual_seed(1)`` then ``np.random.seed(1)``, as
``cifar.py``'s ``main``); float32, as the ``ToTensor`` images are; ``float(loss)`` of a tensor
that requires grad warns in PyTorch 2.x, silenced there.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _allconv(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class GELU(nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.sigmoid(1.702 * x) * x

    def make_layers(cfg):  # noqa: ANN001, ANN202
        """Create a single layer."""
        layers = []
        in_channels = 3
        for v in cfg:
            if v == "Md":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(p=0.5)]
            elif v == "A":
                layers += [nn.AvgPool2d(kernel_size=8)]
            elif v == "NIN":
                conv2d = nn.Conv2d(in_channels, in_channels, kernel_size=1, padding=1)
                layers += [conv2d, nn.BatchNorm2d(in_channels), GELU()]
            elif v == "nopad":
                conv2d = nn.Conv2d(in_channels, in_channels, kernel_size=3, padding=0)
                layers += [conv2d, nn.BatchNorm2d(in_channels), GELU()]
            else:
                conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
                layers += [conv2d, nn.BatchNorm2d(v), GELU()]
                in_channels = v
        return nn.Sequential(*layers)

    class AllConvNet(nn.Module):
        """AllConvNet main class."""

        def __init__(self, num_classes):  # noqa: ANN001
            super(AllConvNet, self).__init__()  # noqa: UP008 (as in the repository)

            self.num_classes = num_classes
            self.width1, w1 = 4, 4
            self.width2, w2 = 8, 8

            cfg = [w1, w1, w1, "Md", w2, w2, w2, "Md", "nopad", "NIN", "NIN", "A"]
            self.features = make_layers(cfg)
            self.classifier = nn.Linear(self.width2, num_classes)

            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                    m.weight.data.normal_(0, math.sqrt(2.0 / n))  # He initialization
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.data.fill_(1)
                    m.bias.data.zero_()
                elif isinstance(m, nn.Linear):
                    m.bias.data.zero_()

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = self.classifier(x.view(x.size(0), -1))
            return x

    return AllConvNet


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    AllConvNet = _allconv(torch_like)

    class Nets(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.augmix = AllConvNet(4)
            self.cutmix = AllConvNet(4)

    return Nets()


# the augmentations.py operations, on HxWx3 uint8 arrays (PIL there)
def _flip(img: np.ndarray, _severity: int) -> np.ndarray:
    return img[:, ::-1].copy()


def _translate(img: np.ndarray, severity: int) -> np.ndarray:
    return np.roll(img, severity, axis=1)


def _posterize(img: np.ndarray, severity: int) -> np.ndarray:
    shift = 8 - max(1, 4 - severity)
    return ((img >> shift) << shift).astype(np.uint8)


def _autocontrast(img: np.ndarray, _severity: int) -> np.ndarray:
    lo, hi = img.min(), img.max()
    return ((img.astype(np.float64) - lo) * 255.0 / max(hi - lo, 1)).astype(np.uint8)


def _equalize_like(img: np.ndarray, severity: int) -> np.ndarray:
    return np.clip(img.astype(np.int64) + 10 * severity, 0, 255).astype(np.uint8)


AUGMENTATIONS = [_flip, _translate, _posterize, _autocontrast, _equalize_like]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    torch.manual_seed(1)
    np.random.seed(1)
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, (8, 24, 24, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, 8)

    def preprocess(image):  # noqa: ANN001, ANN202 (ToTensor + Normalize([0.5] * 3, [0.5] * 3))
        x = torch.from_numpy(image.transpose((2, 0, 1)).copy()).float().div(255)
        mean = torch.tensor([0.5, 0.5, 0.5]).view(-1, 1, 1)
        std = torch.tensor([0.5, 0.5, 0.5]).view(-1, 1, 1)
        return (x - mean) / std

    mixture_width, mixture_depth, mixture_alpha, aug_severity = 3, -1, 1.0, 3

    def aug(image, preprocess):  # noqa: ANN001, ANN202
        """Perform AugMix augmentations and compute mixture."""
        aug_list = AUGMENTATIONS

        ws = np.float32(np.random.dirichlet([mixture_alpha] * mixture_width))
        m = np.float32(np.random.beta(mixture_alpha, mixture_alpha))

        mix = torch.zeros_like(preprocess(image))
        for i in range(mixture_width):
            image_aug = image.copy()
            depth = mixture_depth if mixture_depth > 0 else np.random.randint(1, 4)
            for _ in range(depth):
                op = np.random.choice(aug_list)
                image_aug = op(image_aug, aug_severity)
            # Preprocessing commutes since all coefficients are convex
            mix += ws[i] * preprocess(image_aug)

        mixed = (1 - m) * preprocess(image) + m * mix
        return mixed

    class AugMixDataset(torch.utils.data.Dataset):
        """Dataset wrapper to perform AugMix augmentation."""

        def __init__(self, dataset, preprocess, no_jsd=False):  # noqa: ANN001
            self.dataset = dataset
            self.preprocess = preprocess
            self.no_jsd = no_jsd

        def __getitem__(self, i: int) -> tuple[Any, Any]:
            x, y = self.dataset[i]
            if self.no_jsd:
                return aug(x, self.preprocess), y
            else:
                im_tuple = (self.preprocess(x), aug(x, self.preprocess), aug(x, self.preprocess))
                return im_tuple, y

        def __len__(self) -> int:
            return len(self.dataset)

    def get_lr(step, total_steps, lr_max, lr_min):  # noqa: ANN001, ANN202
        """Compute learning rate according to cosine annealing schedule."""
        return lr_min + (lr_max - lr_min) * 0.5 * (1 + np.cos(step / total_steps * np.pi))

    base = [(images[i], int(labels[i])) for i in range(8)]
    train_loader = torch.utils.data.DataLoader(AugMixDataset(base, preprocess), batch_size=4,
                                               shuffle=True, num_workers=0)  # fmt: skip
    net = nets.augmix
    optimizer = torch.optim.SGD(net.parameters(), 0.1, momentum=0.9, weight_decay=5e-4,
                                nesterov=True)  # fmt: skip
    epochs = 2
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lr_lambda=lambda step: get_lr(step, epochs * len(train_loader), 1, 1e-6 / 0.1),
    )
    values: list[float] = []
    for _epoch in range(epochs):
        net.train()
        loss_ema = 0.0
        for _i, (images_t, targets) in enumerate(train_loader):
            optimizer.zero_grad()
            images_all = torch.cat(images_t, 0)
            logits_all = net(images_all)
            logits_clean, logits_aug1, logits_aug2 = torch.split(logits_all, images_t[0].size(0))

            # Cross-entropy is only computed on clean images
            loss = F.cross_entropy(logits_clean, targets)

            p_clean, p_aug1, p_aug2 = (F.softmax(logits_clean, dim=1),
                                       F.softmax(logits_aug1, dim=1),
                                       F.softmax(logits_aug2, dim=1))  # fmt: skip

            # Clamp mixture distribution to avoid exploding KL divergence
            p_mixture = torch.clamp((p_clean + p_aug1 + p_aug2) / 3.0, 1e-7, 1).log()
            loss += 12 * (F.kl_div(p_mixture, p_clean, reduction="batchmean") +
                          F.kl_div(p_mixture, p_aug1, reduction="batchmean") +
                          F.kl_div(p_mixture, p_aug2, reduction="batchmean")) / 3.0  # fmt: skip
            loss.backward()
            optimizer.step()
            scheduler.step()
            with warnings.catch_warnings():  # float() of a tensor that requires grad warns
                warnings.filterwarnings("ignore", "Converting a tensor with requires_grad",
                                        UserWarning)  # fmt: skip
                loss_ema = loss_ema * 0.9 + float(loss) * 0.1
        values += [loss_ema, optimizer.param_groups[0]["lr"]]
    net.eval()
    total_correct = 0
    with torch.no_grad():
        logits = net(torch.stack([preprocess(im) for im in images]))
        pred = logits.data.max(1)[1]
        total_correct += pred.eq(torch.from_numpy(labels).data).sum().item()
    values += [total_correct, logits.sum().item()]

    # CutMix
    def rand_bbox(size, lam):  # noqa: ANN001, ANN202
        W = size[2]
        H = size[3]
        cut_rat = np.sqrt(1.0 - lam)
        cut_w = int(W * cut_rat)
        cut_h = int(H * cut_rat)

        # uniform
        cx = np.random.randint(W)
        cy = np.random.randint(H)

        bbx1 = np.clip(cx - cut_w // 2, 0, W)
        bby1 = np.clip(cy - cut_h // 2, 0, H)
        bbx2 = np.clip(cx + cut_w // 2, 0, W)
        bby2 = np.clip(cy + cut_h // 2, 0, H)

        return bbx1, bby1, bbx2, bby2

    class AverageMeter:
        """Computes and stores the average and current value"""

        def __init__(self) -> None:
            self.reset()

        def reset(self) -> None:
            self.val = 0
            self.avg = 0
            self.sum = 0
            self.count = 0

        def update(self, val, n=1) -> None:  # noqa: ANN001
            self.val = val
            self.sum += val * n
            self.count += n
            self.avg = self.sum / self.count

    def accuracy(output, target, topk=(1,)):  # noqa: ANN001, ANN202
        """Computes the precision@k for the specified values of k"""
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].view(-1).float().sum(0, keepdim=True)
            wrong_k = batch_size - correct_k
            res.append(wrong_k.mul_(100.0 / batch_size))

        return res

    def adjust_learning_rate(optimizer, epoch):  # noqa: ANN001, ANN202
        """Sets the learning rate to the initial LR decayed by 10 every 30 epochs"""
        lr = 0.25 * (0.1 ** (epoch // 1))
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr

    model = nets.cutmix
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.25, momentum=0.9, weight_decay=1e-4,
                                nesterov=True)  # fmt: skip
    cutmix_prob, beta = 0.5, 1.0
    plain = torch.utils.data.TensorDataset(torch.stack([preprocess(im) for im in images]),
                                           torch.from_numpy(labels))  # fmt: skip
    loader = torch.utils.data.DataLoader(plain, batch_size=4, shuffle=True)
    for epoch in range(2):
        adjust_learning_rate(optimizer, epoch)
        losses, top1 = AverageMeter(), AverageMeter()
        model.train()
        for input, target in loader:
            r = np.random.rand(1)
            if beta > 0 and r < cutmix_prob:
                # generate mixed sample
                lam = np.random.beta(beta, beta)
                rand_index = torch.randperm(input.size()[0])
                target_a = target
                target_b = target[rand_index]
                bbx1, bby1, bbx2, bby2 = rand_bbox(input.size(), lam)
                input[:, :, bbx1:bbx2, bby1:bby2] = input[rand_index, :, bbx1:bbx2, bby1:bby2]
                # adjust lambda to exactly match pixel ratio
                lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (input.size()[-1] * input.size()[-2]))
                # compute output
                output = model(input)
                loss = criterion(output, target_a) * lam + criterion(output, target_b) * (1.0 - lam)
            else:
                # compute output
                output = model(input)
                loss = criterion(output, target)

            # measure accuracy and record loss
            err1 = accuracy(output.data, target, topk=(1,))[0]
            losses.update(loss.item(), input.size(0))
            top1.update(err1.item(), input.size(0))

            # compute gradient and do SGD step
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        values += [losses.avg, top1.avg, optimizer.param_groups[0]["lr"]]
    return values
