"""The training script of pytorch/examples' ImageNet example (``imagenet/main.py``), size-reduced:
a tiny CNN on random 3x8x8 "images" of 10 classes instead of a ResNet on ImageNet.

The idioms: ``import torch.backends.cudnn as cudnn`` then ``cudnn.benchmark = True``; the device
chosen by ``torch.cuda.is_available()`` / ``torch.backends.mps.is_available()`` branches
(``torch.device("cuda")``, ``"mps"`` or ``"cpu"``) and ``criterion =
nn.CrossEntropyLoss().to(device)``; ``SGD(model.parameters(), args.lr, momentum=...,
weight_decay=...)`` stepped by ``StepLR(optimizer, step_size=30, gamma=0.1)`` (next to the old
``adjust_learning_rate``'s ``args.lr * (0.1 ** (epoch // 30))``); the ``Summary`` ``Enum`` and
the ``AverageMeter`` (``update(val, n=1)`` accumulating ``val * n``, ``__str__`` built by
``fmtstr.format(**self.__dict__)`` with ``{val' + self.fmt + '}``, ``summary()``) fed with
``loss.item()`` and with the 0-d tensors ``acc1[0]``; the ``ProgressMeter``
(``_get_batch_fmtstr``'s ``'{:' + str(num_digits) + 'd}'``, ``display`` and
``display_summary``); ``accuracy(output, target, topk=(1, 5))`` under ``torch.no_grad()`` with
``output.topk(maxk, 1, True, True)``, ``pred.t()``, ``pred.eq(target.view(1,
-1).expand_as(pred))`` and ``correct[:k].reshape(-1).float().sum(0, keepdim=True)`` then
``mul_(100.0 / batch_size)``; ``train``'s ``model.train()``, ``images.to(device,
non_blocking=True)`` (``.cuda(args.gpu, non_blocking=True)`` on the CUDA branch),
``optimizer.zero_grad()`` / ``loss.backward()`` / ``optimizer.step()``; ``validate``'s
``model.eval()``, ``with torch.no_grad():`` and its ``run_validate(loader, base_progress=0)``;
``is_best = acc1 > best_acc1`` and ``best_acc1 = max(acc1, best_acc1)`` on a tensor against a
number; ``save_checkpoint`` of a dict of ``epoch``, ``arch``, the model's, the optimizer's and
the scheduler's state dicts and ``best_acc1``, here ``torch.save`` into an ``io.BytesIO`` and the
best one copied by bytes instead of ``shutil.copyfile``; and ``--resume``'s ``torch.load(...,
map_location=loc)``, ``args.start_epoch = checkpoint['epoch']``, ``best_acc1.to(args.gpu)`` and
the three ``load_state_dict`` calls, training continued from there.
"""

from __future__ import annotations

import io
import time
from enum import Enum
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run", "check"]

N_CLASSES, BATCH, N_TRAIN, N_VAL, EPOCHS, RESUME_AT = 10, 8, 4, 2, 3, 2
LR, MOMENTUM, WEIGHT_DECAY, STEP_SIZE = 0.1, 0.9, 1e-4, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 6, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 8, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(8, N_CLASSES),
    )


class Summary(Enum):
    NONE = 0
    AVERAGE = 1
    SUM = 2
    COUNT = 3


class AverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self, name: str, fmt: str = ":f", summary_type: Summary = Summary.AVERAGE):
        self.name = name
        self.fmt = fmt
        self.summary_type = summary_type
        self.reset()

    def reset(self) -> None:
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val: Any, n: int = 1) -> None:
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self) -> str:
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)

    def summary(self) -> str:
        fmtstr = ""
        if self.summary_type is Summary.NONE:
            fmtstr = ""
        elif self.summary_type is Summary.AVERAGE:
            fmtstr = "{name} {avg:.3f}"
        elif self.summary_type is Summary.SUM:
            fmtstr = "{name} {sum:.3f}"
        elif self.summary_type is Summary.COUNT:
            fmtstr = "{name} {count:.3f}"
        else:
            raise ValueError(f"invalid summary type {self.summary_type!r}")
        return fmtstr.format(**self.__dict__)


class ProgressMeter:
    def __init__(self, num_batches: int, meters: list, prefix: str = "") -> None:
        self.batch_fmtstr = self._get_batch_fmtstr(num_batches)
        self.meters = meters
        self.prefix = prefix
        self.lines: list[str] = []

    def display(self, batch: int) -> None:
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        self.lines.append("\t".join(entries))

    def display_summary(self) -> None:
        entries = [" *"]
        entries += [meter.summary() for meter in self.meters]
        self.lines.append(" ".join(entries))

    def _get_batch_fmtstr(self, num_batches: int) -> str:
        num_digits = len(str(num_batches // 1))
        fmt = "{:" + str(num_digits) + "d}"
        return "[" + fmt + "/" + fmt.format(num_batches) + "]"


def accuracy(torch_like: Any, output: Any, target: Any, topk: tuple = (1,)) -> list:
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch_like.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def adjust_learning_rate(optimizer: Any, epoch: int, lr: float) -> float:
    """Sets the learning rate to the initial LR decayed by 10 every STEP_SIZE epochs"""
    lr = lr * (0.1 ** (epoch // STEP_SIZE))
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr
    return lr


def _device(torch: Any) -> Any:
    if torch.cuda.is_available():
        return torch.device("cuda")
    elif torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def train(
    torch: Any, loader: list, model: Any, criterion: Any, optimizer: Any, epoch: int, device: Any
) -> tuple[ProgressMeter, list[float]]:
    batch_time = AverageMeter("Time", ":6.3f")
    data_time = AverageMeter("Data", ":6.3f")
    losses = AverageMeter("Loss", ":.4e")
    top1 = AverageMeter("Acc@1", ":6.2f")
    top5 = AverageMeter("Acc@5", ":6.2f")
    progress = ProgressMeter(
        len(loader), [batch_time, data_time, losses, top1, top5], prefix=f"Epoch: [{epoch}]"
    )

    # switch to train mode
    model.train()
    step_losses = []

    end = time.time()
    for i, (images, target) in enumerate(loader):
        data_time.update(time.time() - end)

        # move data to the same device as model
        if torch.cuda.is_available():
            images = images.cuda(0, non_blocking=True)
            target = target.cuda(0, non_blocking=True)
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)

        # compute output
        output = model(images)
        loss = criterion(output, target)

        # measure accuracy and record loss
        acc1, acc5 = accuracy(torch, output, target, topk=(1, 5))
        losses.update(loss.item(), images.size(0))
        top1.update(acc1[0], images.size(0))
        top5.update(acc5[0], images.size(0))

        # compute gradient and do SGD step
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        batch_time.update(time.time() - end)
        end = time.time()
        step_losses.append(loss.item())
        if i % 2 == 0:
            progress.display(i + 1)
    return progress, step_losses + [losses.avg, float(top1.avg), float(top5.avg)]


def validate(
    torch: Any, val_loader: list, model: Any, criterion: Any, device: Any
) -> tuple[Any, ProgressMeter, AverageMeter]:
    def run_validate(loader: list, base_progress: int = 0) -> None:
        with torch.no_grad():
            end = time.time()
            for i, (images, target) in enumerate(loader):
                i = base_progress + i
                images = images.to(device, non_blocking=True)
                target = target.to(device, non_blocking=True)

                # compute output
                output = model(images)
                loss = criterion(output, target)

                # measure accuracy and record loss
                acc1, acc5 = accuracy(torch, output, target, topk=(1, 5))
                losses.update(loss.item(), images.size(0))
                top1.update(acc1[0], images.size(0))
                top5.update(acc5[0], images.size(0))

                # measure elapsed time
                batch_time.update(time.time() - end)
                end = time.time()
                progress.display(i + 1)

    batch_time = AverageMeter("Time", ":6.3f", Summary.NONE)
    losses = AverageMeter("Loss", ":.4e", Summary.NONE)
    top1 = AverageMeter("Acc@1", ":6.2f", Summary.AVERAGE)
    top5 = AverageMeter("Acc@5", ":6.2f", Summary.AVERAGE)
    progress = ProgressMeter(len(val_loader), [batch_time, losses, top1, top5], prefix="Test: ")

    # switch to evaluate mode
    model.eval()
    run_validate(val_loader)
    progress.display_summary()
    return top1.avg, progress, losses


def save_checkpoint(torch: Any, state: dict, is_best: bool, files: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    files["checkpoint.pth.tar"] = buffer.getvalue()
    if is_best:
        files["model_best.pth.tar"] = bytes(files["checkpoint.pth.tar"])


def _numbers(line: str) -> list[float]:
    """The numbers a progress line shows (what a user reads off the log)."""
    out = []
    for field in line.replace("(", " ").replace(")", " ").replace("\t", " ").split(" "):
        try:
            out.append(float(field))
        except ValueError:
            continue
    return out


def _loaders(torch: Any) -> tuple[list, list]:
    rng = np.random.default_rng(21)
    centers = rng.standard_normal((N_CLASSES, 3, 1, 1))

    def batch() -> tuple[Any, Any]:
        labels = rng.integers(0, N_CLASSES, BATCH)
        images = centers[labels] + 0.7 * rng.standard_normal((BATCH, 3, 8, 8))
        return as_tensor(torch, images), as_tensor(torch, labels)

    return [batch() for _ in range(N_TRAIN)], [batch() for _ in range(N_VAL)]


def _main_worker(
    torch: Any, init: dict, train_loader: list, val_loader: list, stop: int, files: dict
) -> tuple[list[float], list[str]]:
    """``main_worker``: build, optionally resume from ``files``, train until ``stop``."""
    nn = torch.nn
    device = _device(torch)
    model = make_model(torch).to(device)
    load_numpy_state(torch, model, init)
    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
    )
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=STEP_SIZE, gamma=0.1)
    best_acc1: Any = 0
    start_epoch = 0
    values: list[float] = []
    lines: list[str] = []

    if "checkpoint.pth.tar" in files:
        loc = "cuda:0" if torch.cuda.is_available() else "cpu"
        checkpoint = torch.load(io.BytesIO(files["checkpoint.pth.tar"]), map_location=loc)
        start_epoch = checkpoint["epoch"]
        best_acc1 = checkpoint["best_acc1"]
        if torch.cuda.is_available():
            best_acc1 = best_acc1.to(0)
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        values += [float(start_epoch), float(best_acc1), checkpoint["arch"] == "tinynet"]

    for epoch in range(start_epoch, stop):
        # the old schedule and StepLR agree at every epoch
        want_lr = LR * (0.1 ** (epoch // STEP_SIZE))
        assert abs(scheduler.get_last_lr()[0] - want_lr) < 1e-15, (epoch, scheduler.get_last_lr())
        progress, train_values = train(
            torch, train_loader, model, criterion, optimizer, epoch, device
        )
        acc1, val_progress, val_losses = validate(torch, val_loader, model, criterion, device)
        scheduler.step()

        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        save_checkpoint(
            torch,
            {
                "epoch": epoch + 1,
                "arch": "tinynet",
                "state_dict": model.state_dict(),
                "best_acc1": best_acc1,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            bool(is_best),
            files,
        )
        values += train_values + [float(acc1), val_losses.avg, float(is_best), float(best_acc1)]
        values += [optimizer.param_groups[0]["lr"]]
        lines += progress.lines + val_progress.lines
    # the helper agrees with the scheduler on the learning rate it leaves
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    values.append(adjust_learning_rate(probe, stop, LR) - optimizer.param_groups[0]["lr"])
    return values, lines


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    cudnn = torch.backends.cudnn
    prev_benchmark = cudnn.benchmark
    cudnn.benchmark = True
    try:
        assert torch.backends.cudnn.benchmark is True
        train_loader, val_loader = _loaders(torch)
        files: dict[str, bytes] = {}
        straight, lines = _main_worker(torch, init, train_loader, val_loader, EPOCHS, {})
        first, _ = _main_worker(torch, init, train_loader, val_loader, RESUME_AT, files)
        assert "model_best.pth.tar" in files
        resumed, _ = _main_worker(torch, init, train_loader, val_loader, EPOCHS, files)
    finally:
        cudnn.benchmark = prev_benchmark
    shown = [x for line in lines for x in _numbers(line)]
    # drop the wall-clock meters (the first two of each train line, the first of each test line)
    timeless = []
    for line in lines:
        nums = _numbers(line)
        if line.startswith("Epoch"):
            timeless += nums[4:]  # Loss, Acc@1, Acc@5 (each val and avg) after Time and Data
        elif line.startswith("Test"):
            timeless += nums[2:]
        else:
            timeless += nums
    assert len(shown) > len(timeless)
    return [len(straight), len(first), len(resumed), *straight, *first, *resumed, *timeless]


def check(values: list[float]) -> None:
    """Resuming from the saved checkpoint continues exactly as the uninterrupted run."""
    n_straight, n_first = int(values[0]), int(values[1])
    straight = values[3 : 3 + n_straight]
    first = values[3 + n_straight : 3 + n_straight + n_first]
    resumed = values[3 + n_straight + n_first : 3 + n_straight + n_first + int(values[2])]
    assert first[:-1] == straight[: n_first - 1]
    per_epoch = (n_first - 1) // RESUME_AT
    assert resumed[0] == RESUME_AT and resumed[2] == 1.0
    assert resumed[3 : 3 + per_epoch] == straight[RESUME_AT * per_epoch : -1]
