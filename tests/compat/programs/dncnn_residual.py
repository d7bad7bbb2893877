"""cszn/DnCNN (``TrainingCodes/dncnn_pytorch/main_train.py`` and ``main_test.py``),
size-reduced: ``DnCNN`` (a biased first ``Conv2d``, ``depth-2`` conv/``BatchNorm2d(n_channels,
eps=0.0001, momentum = 0.95)``/``ReLU(inplace=True)`` layers, ``nn.Sequential(*layers)``)
learning the residual noise (``return y-out``), ``_initialize_weights`` with
``init.orthogonal_(m.weight)``/``init.constant_`` over ``self.modules()``;
``sum_squared_error`` subclassing ``torch.nn.modules.loss._Loss`` (``super().__init__(
size_average, reduce, reduction)``, ``mse_loss(..., size_average=None, reduce=None,
reduction='sum').div_(2)``); ``DenoisingDataset`` (``torch.randn(batch_x.size()).mul_(
self.sigma/255.0)`` in ``__getitem__``) under a ``DataLoader(drop_last=True, batch_size,
shuffle=True)``; the epoch loop with ``MultiStepLR`` stepped as ``scheduler.step(epoch)`` before
training (the deprecated epoch argument, whose warnings a script shows and goes on), ``xs =
xs.astype('float32')/255.0``, ``torch.from_numpy(xs.transpose((0, 3, 1, 2)))``, ``epoch_loss +=
loss.item()``, the checkpoint re-loaded for testing; ``main_test.py``'s ``y_ =
torch.from_numpy(y).view(1, -1, y.shape[0], y.shape[1])``, ``x_ = x_.view(y.shape[0],
y.shape[1])`` and a NumPy PSNR.

Changed: depth 17 -> 5, 64 -> 4 channels, 40x40 patches -> 8x8 ones from a seeded NumPy
generator, 180 epochs -> 3 with milestones ``[1, 2]``, ``num_workers`` 4 -> 0; sigma 25 kept;
``torch.save(model, ...)`` of the whole model is a ``state_dict`` round trip (the class here is
local to a function, which pickle cannot name).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _dncnn(torch_like: Any) -> type:
    nn, init = torch_like.nn, torch_like.nn.init

    class DnCNN(nn.Module):
        def __init__(self, depth=5, n_channels=4, image_channels=1, use_bnorm=True,
                     kernel_size=3):  # noqa: ANN001 # fmt: skip
            super(DnCNN, self).__init__()  # noqa: UP008 (as in the repository)
            kernel_size = 3
            padding = 1
            layers = []

            layers.append(
                nn.Conv2d(
                    in_channels=image_channels,
                    out_channels=n_channels,
                    kernel_size=kernel_size,
                    padding=padding,
                    bias=True,
                )
            )
            layers.append(nn.ReLU(inplace=True))
            for _ in range(depth - 2):
                layers.append(
                    nn.Conv2d(
                        in_channels=n_channels,
                        out_channels=n_channels,
                        kernel_size=kernel_size,
                        padding=padding,
                        bias=False,
                    )
                )
                layers.append(nn.BatchNorm2d(n_channels, eps=0.0001, momentum=0.95))
                layers.append(nn.ReLU(inplace=True))
            layers.append(
                nn.Conv2d(
                    in_channels=n_channels,
                    out_channels=image_channels,
                    kernel_size=kernel_size,
                    padding=padding,
                    bias=False,
                )
            )
            self.dncnn = nn.Sequential(*layers)
            self._initialize_weights()

        def forward(self, x: Any) -> Any:
            y = x
            out = self.dncnn(x)
            return y - out

        def _initialize_weights(self) -> None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.orthogonal_(m.weight)
                    if m.bias is not None:
                        init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)

    return DnCNN


def make_model(torch_like: Any) -> Any:
    return _dncnn(torch_like)()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _Loss = torch.nn.modules.loss._Loss
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader
    MultiStepLR = torch.optim.lr_scheduler.MultiStepLR

    class sum_squared_error(_Loss):  # PyTorch 0.4.1
        """
        Definition: sum_squared_error = 1/2 * nn.MSELoss(reduction = 'sum')
        The backward is defined as: input-target
        """

        def __init__(self, size_average=None, reduce=None, reduction="sum"):  # noqa: ANN001
            super(sum_squared_error, self).__init__(size_average, reduce, reduction)  # noqa: UP008

        def forward(self, input: Any, target: Any) -> Any:
            return torch.nn.functional.mse_loss(input, target, size_average=None, reduce=None,
                                                reduction="sum").div_(2)  # fmt: skip

    class DenoisingDataset(Dataset):
        """Dataset wrapping tensors.
        Arguments:
            xs (Tensor): clean image patches
            sigma: noise level, e.g., 25
        """

        def __init__(self, xs: Any, sigma: float) -> None:
            super(DenoisingDataset, self).__init__()  # noqa: UP008
            self.xs = xs
            self.sigma = sigma

        def __getitem__(self, index: int) -> tuple[Any, Any]:
            batch_x = self.xs[index]
            noise = torch.randn(batch_x.size()).mul_(self.sigma / 255.0)
            batch_y = batch_x + noise
            return batch_y, batch_x

        def __len__(self) -> int:
            return self.xs.size(0)

    rng = np.random.default_rng(25)
    torch.manual_seed(0)
    sigma, batch_size, n_epoch = 25, 4, 3
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.train()
    criterion = sum_squared_error()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = MultiStepLR(optimizer, milestones=[1, 2], gamma=0.2)  # learning rates
    values: list[float] = []
    for epoch in range(0, n_epoch):
        with warnings.catch_warnings():  # the deprecated epoch argument (a script goes on)
            warnings.filterwarnings("ignore", "The epoch parameter", UserWarning)
            warnings.filterwarnings("ignore", "Detected call of", UserWarning)
            scheduler.step(epoch)  # step to the learning rate in this epcoh
        xs = (rng.random((10, 8, 8, 1)) * 255).astype("uint8")
        xs = xs.astype("float32") / 255.0
        xs = torch.from_numpy(xs.transpose((0, 3, 1, 2)))  # tensor of the clean patches, NXCXHXW
        DDataset = DenoisingDataset(xs, sigma)
        DLoader = DataLoader(dataset=DDataset, num_workers=0, drop_last=True,
                             batch_size=batch_size, shuffle=True)  # fmt: skip
        epoch_loss = 0
        for _n_count, batch_yx in enumerate(DLoader):
            optimizer.zero_grad()
            batch_x, batch_y = batch_yx[1], batch_yx[0]
            loss = criterion(model(batch_y), batch_x)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        values += [epoch_loss, optimizer.param_groups[0]["lr"]]

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "model_003.pth")
        torch.save(model.state_dict(), path)
        model = make_model(torch_like)
        model.load_state_dict(torch.load(path))
    model.eval()
    x = rng.random((9, 7)).astype(np.float32)
    y = x + rng.normal(0, sigma / 255.0, x.shape).astype(np.float32)
    y_ = torch.from_numpy(y).view(1, -1, y.shape[0], y.shape[1])
    with torch.no_grad():
        x_ = model(y_)  # inference
    x_ = x_.view(y.shape[0], y.shape[1])
    x_ = x_.cpu()
    x_ = x_.detach().numpy().astype(np.float32)
    mse = np.mean((x - np.clip(x_, 0, 1)) ** 2)
    values += [float(10 * np.log10(1.0 / mse)), float(x_.sum())]
    return values
