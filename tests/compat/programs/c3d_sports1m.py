"""DavideA/c3d-pytorch (``C3D_model.py``, ``predict.py``), size-reduced: the C3D network of Tran
et al. (eight ``nn.Conv3d(kernel_size=(3, 3, 3), padding=(1, 1, 1))`` layers, ``nn.MaxPool3d``
with ``kernel_size=(1, 2, 2)`` for ``pool1`` and the odd ``padding=(0, 1, 1)`` of ``pool5``,
``h.view(-1, 8192)`` flattening, ``fc6``/``fc7`` with ``nn.Dropout(p=0.5)``, and the
dimensionless ``self.softmax = nn.Softmax()`` the repository applies to ``fc8``'s logits, whose
implicit-dimension warning a script shows and goes on); ``predict.py``'s clip preparation
(``clip[:, :, 44:44 + 112, :]``-style cropping, ``np.array(..., dtype=np.float32)``,
``clip.transpose(3, 0, 1, 2)``, ``np.expand_dims(clip, axis=0)``, ``torch.from_numpy(clip)``,
``Variable(X)``) and the top-class readout ``torch.max(prediction, 1)[1]``-style as NumPy
``np.argsort(prediction)[::-1]``. Then, as fine-tuning scripts around it do, a few SGD steps of
``nn.NLLLoss`` on ``torch.log`` of the softmax output (the model returns probabilities).

Changed: 112x112x16 clips -> 8x16x16 (frames x rows x cols, crop from 16x20), channels
64/128/256/512 -> 2/4/4/6,
``fc6``/``fc7`` 4096 -> 12, 487 classes -> 5, ``8192`` -> the reduced flat size 24, dropout 0.5
-> 0 (random masks cannot agree between two frameworks).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
FLAT = 24


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class C3D(nn.Module):
        """
        The C3D network as described in [1].
        """

        def __init__(self) -> None:
            super(C3D, self).__init__()  # noqa: UP008 (as in the repository)

            self.conv1 = nn.Conv3d(3, 2, kernel_size=(3, 3, 3), padding=(1, 1, 1))
            self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))

            self.conv2 = nn.Conv3d(2, 4, kernel_size=(3, 3, 3), padding=(1, 1, 1))
            self.pool2 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))

            self.conv3a = nn.Conv3d(4, 4, kernel_size=(3, 3, 3), padding=(1, 1, 1))
            self.conv3b = nn.Conv3d(4, 4, kernel_size=(3, 3, 3), padding=(1, 1, 1))
            self.pool3 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))

            self.conv5a = nn.Conv3d(4, 6, kernel_size=(3, 3, 3), padding=(1, 1, 1))
            self.conv5b = nn.Conv3d(6, 6, kernel_size=(3, 3, 3), padding=(1, 1, 1))
            self.pool5 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 1, 1))

            self.fc6 = nn.Linear(FLAT, 12)
            self.fc7 = nn.Linear(12, 12)
            self.fc8 = nn.Linear(12, 5)

            self.dropout = nn.Dropout(p=0.0)

            self.relu = nn.ReLU()
            self.softmax = nn.Softmax()

        def forward(self, x: Any) -> Any:
            h = self.relu(self.conv1(x))
            h = self.pool1(h)

            h = self.relu(self.conv2(h))
            h = self.pool2(h)

            h = self.relu(self.conv3a(h))
            h = self.relu(self.conv3b(h))
            h = self.pool3(h)

            h = self.relu(self.conv5a(h))
            h = self.relu(self.conv5b(h))
            h = self.pool5(h)

            h = h.view(-1, FLAT)
            h = self.relu(self.fc6(h))
            h = self.dropout(h)
            h = self.relu(self.fc7(h))
            h = self.dropout(h)

            logits = self.fc8(h)
            probs = self.softmax(logits)

            return probs

    return C3D()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    Variable = torch.autograd.Variable
    rng = np.random.default_rng(5)

    def get_sport_clip(n: int) -> np.ndarray:
        """Loads a clip to be fed to C3D for classification (frames, rows, cols, channels)."""
        clip = [rng.integers(0, 256, size=(16, 20, 3)) for _ in range(8)]
        clip = np.array(clip)[:, :, 2 : 2 + 16, :]  # the centre crop
        clip = np.array([clip] * n, dtype=np.float32) / 255.0
        clip = clip.transpose(0, 4, 1, 2, 3)  # ch, fr, h, w
        return clip

    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    values: list[float] = []

    # predict.py: one clip, eval mode, the top classes
    clip = get_sport_clip(1)[0]
    clip = np.expand_dims(clip, axis=0)  # batch axis
    X = Variable(torch.from_numpy(clip))
    net.eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Implicit dimension choice", UserWarning)
        prediction = net(X)
    prediction = prediction.data.cpu().numpy()
    top_inds = prediction[0].argsort()[::-1][:5]  # reverse sort and take five largest items
    values += [float(i) for i in top_inds] + [float(prediction[0, top_inds[0]])]

    # fine-tuning on the probabilities the model returns
    net.train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    criterion = torch.nn.NLLLoss()
    for _step in range(3):
        X = Variable(torch.from_numpy(get_sport_clip(1).repeat(2, axis=0) * rng.random((2, 1, 1, 1, 1)).astype(np.float32)))  # noqa: E501 # fmt: skip
        y = torch.from_numpy(rng.integers(0, 5, size=2))
        optimizer.zero_grad()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Implicit dimension choice", UserWarning)
            probs = net(X)
        loss = criterion(torch.log(probs), y)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return values
