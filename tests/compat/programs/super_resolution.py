"""pytorch/examples ``super_resolution`` (``model.py``, ``main.py``, ``super_resolve.py``),
size-reduced: the sub-pixel CNN ``Net`` (``Conv2d`` with tuple kernel/stride/padding arguments,
``nn.PixelShuffle(upscale_factor)``, ``init.orthogonal_(w, init.calculate_gain('relu'))``),
trained with Adam on ``nn.MSELoss`` over (input, target) batches, tested by PSNR
(``10 * log10(1 / mse.item())``), then ``super_resolve.py``'s single-image inference
(``.view(1, -1, h, w)``, ``out[0].detach().numpy()``, ``*= 255.0``, ``.clip(0, 255)``).

The BSDS300 crops are replaced by smooth random NumPy images (the target a 16x16 "Y channel",
the input its 2x2 mean-pooled 8x8 version); channels 64/64/32 -> 8/8/6, upscale factor 3 -> 2.
"""

from __future__ import annotations

from math import log10
from typing import Any

import numpy as np

from ._common import load_numpy_state

UPSCALE = 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    init = torch_like.nn.init

    class Net(nn.Module):
        def __init__(self, upscale_factor: int) -> None:
            super(Net, self).__init__()  # noqa: UP008 (as in the example)

            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 8, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(8, 8, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(8, 6, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(6, upscale_factor**2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

            self._initialize_weights()

        def forward(self, x: Any) -> Any:
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            x = self.pixel_shuffle(self.conv4(x))
            return x

        def _initialize_weights(self) -> None:
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv4.weight)

    return Net(upscale_factor=UPSCALE)


def _images(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(low-res input, high-res target) pairs in [0, 1], shapes (n, 1, 8, 8) / (n, 1, 16, 16)."""
    yy, xx = np.mgrid[0:16, 0:16] / 16.0
    targets = []
    for _ in range(n):
        a, b, c = rng.uniform(1, 4, 3)
        targets.append(0.5 + 0.4 * np.sin(a * xx + b * yy + c) * np.cos(b * xx - a * yy))
    target = np.stack(targets)[:, None]
    low = target.reshape(n, 1, 8, 2, 8, 2).mean(axis=(3, 5))
    return low, target


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(17)
    train_in, train_tg = _images(rng, 8)
    test_in, test_tg = _images(rng, 4)
    device = torch.device("cpu")
    training_data_loader = [
        (torch.from_numpy(train_in[i : i + 4]), torch.from_numpy(train_tg[i : i + 4]))
        for i in range(0, 8, 4)
    ]
    testing_data_loader = [(torch.from_numpy(test_in), torch.from_numpy(test_tg))]

    print("===> Building model")
    model = make_model(torch_like).to(device)
    load_numpy_state(torch_like, model, init)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.003)
    values = []

    def train(epoch: int) -> None:
        epoch_loss = 0
        for iteration, batch in enumerate(training_data_loader, 1):
            input, target = batch[0].to(device), batch[1].to(device)

            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()

            print(
                f"===> Epoch[{epoch}]({iteration}/{len(training_data_loader)}): {loss.item():.4f}"
            )
        values.append(epoch_loss / len(training_data_loader))

    def test() -> None:
        avg_psnr = 0
        with torch.no_grad():
            for batch in testing_data_loader:
                input, target = batch[0].to(device), batch[1].to(device)

                prediction = model(input)
                mse = criterion(prediction, target)
                psnr = 10 * log10(1 / mse.item())
                avg_psnr += psnr
        values.append(avg_psnr / len(testing_data_loader))

    for epoch in range(1, 4):
        train(epoch)
        test()

    # super_resolve.py: one Y channel through the model, back to an 8-bit image.
    y = test_in[0, 0]
    input = torch.from_numpy(y).view(1, -1, y.shape[0], y.shape[1])
    out = model(input)
    out = out.cpu()
    out_img_y = out[0].detach().numpy()
    out_img_y *= 255.0
    out_img_y = out_img_y.clip(0, 255)
    values += [float(out_img_y.mean()), float(out_img_y.max()), float(out_img_y[0, 3, 5])]
    return values
