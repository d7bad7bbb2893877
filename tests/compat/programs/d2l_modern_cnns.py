"""The convolution and "modern CNN" chapters of "Dive into Deep Learning" (d2l.ai, PyTorch
edition, chapters 7 and 8: convolutions for images, padding and stride, multiple input and
output channels, pooling, VGG, NiN, GoogLeNet, batch-normalised ResNet, ResNeXt, DenseNet),
with the book's ``d2l.Module`` / ``d2l.Classifier`` / ``d2l.Trainer`` scaffolding, size-reduced.

The idioms: ``corr2d``'s ``Y[i, j] = (X[i:i + h, j:j + w] * K).sum()`` into
``torch.zeros(...)``; the ``Conv2D`` module with ``nn.Parameter(torch.rand(kernel_size))``;
edge detection with ``K = torch.tensor([[1.0, -1.0]])`` and ``corr2d(X.t(), K)``; learning
that kernel with ``nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)``, ``conv2d.zero_grad()``
and ``conv2d.weight.data[:] -= lr * conv2d.weight.grad``; ``comp_conv2d``'s ``X.reshape((1, 1)
+ X.shape)`` / ``Y.reshape(Y.shape[2:])`` over padded and strided ``nn.LazyConv2d``;
``corr2d_multi_in``'s Python ``sum`` of a generator of tensors, ``corr2d_multi_in_out``'s
``torch.stack([... for k in K], 0)``, ``torch.stack((K, K + 1, K + 2), 0)`` and
``corr2d_multi_in_out_1x1``'s ``torch.matmul(K, X)`` checked by ``float(torch.abs(Y1 -
Y2).sum()) < 1e-6``; ``pool2d``'s ``X[i: i + p_h, j: j + p_w].max()`` / ``.mean()``;
``nn.MaxPool2d(3, padding=1, stride=2)``, ``nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0,
1))`` and ``torch.cat((X, X + 1), 1)``; ``d2l.HyperParameters.save_hyperparameters``
(``inspect.currentframe().f_back``, ``frame.f_locals``, ``setattr``); ``Module.apply_init``
(a forward to materialise the lazy layers, then ``self.net.apply(init_cnn)`` with ``type(module)
== nn.Linear or type(module) == nn.Conv2d`` and ``nn.init.xavier_uniform_``);
``layer_summary``; ``vgg_block``; ``nin_block`` ending in ``nn.AdaptiveAvgPool2d((1, 1))``
and ``nn.Flatten()``; the ``Inception`` block's four branches and ``torch.cat((b1, b2, b3,
b4), dim=1)`` (``super(Inception, self).__init__(**kwargs)``); ``Residual`` with
``use_1x1conv`` and ``nn.LazyBatchNorm2d``; ``ResNeXtBlock``'s grouped ``nn.LazyConv2d(...,
groups=bot_channels//groups)``; DenseNet's ``conv_block``, ``DenseBlock`` (``torch.cat((X, Y),
dim=1)``) and ``transition_block`` (``nn.AvgPool2d(kernel_size=2, stride=2)``);
``Classifier.loss``'s ``Y_hat.reshape((-1, Y_hat.shape[-1]))`` and ``F.cross_entropy(...,
reduction='mean' if averaged else 'none')``, ``accuracy``'s ``Y_hat.argmax(axis=1).type(
Y.dtype)``; ``Trainer.fit_epoch``'s ``self.model.train()``, ``with torch.no_grad():
loss.backward()`` (a backward inside ``no_grad``, as d2l writes it), ``clip_gradients``
(``torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))``, ``param.grad[:] *=
grad_clip_val / norm``) and the validation loop under ``torch.no_grad()``.

Changed: Fashion-MNIST resized to 96 or 224 pixels is 16x16 NumPy images in four classes;
the channel counts are divided by 8-32; dropout 0.5 -> 0 in NiN/VGG (random masks cannot agree
between two frameworks); the lazy layers' random initial weights (and ``torch.rand`` /
``torch.normal`` draws) are replaced with NumPy's after ``apply_init``; plots are the
numbers they would show.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

N, IMG, CLASSES, BS = 16, 16, 4, 8


def init_state(tmp_path: Any) -> dict[str, Any]:
    rng = np.random.default_rng(78)
    y = rng.integers(0, CLASSES, N + 8)
    x = 0.2 * rng.standard_normal((N + 8, 1, IMG, IMG))
    for i, c in enumerate(y):
        x[i, 0, 3 * c : 3 * c + 4, :] += 1.0
        x[i, 0, :, 15 - 3 * c - 3 : 15 - 3 * c] -= 0.5
    return {
        "x": x,
        "y": y,
        "z": rng.standard_normal(100000),
        "K": rng.standard_normal((2, 3, 1, 1)),
    }


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:  # noqa: C901 (two chapters)
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    values: list[float] = []
    pos = [0]

    def draw(shape: tuple) -> Any:
        k = int(np.prod(shape))
        out = init["z"][pos[0] : pos[0] + k].reshape(shape).copy()
        pos[0] += k
        return torch.from_numpy(out)

    # ---- 7.2 convolutions for images ------------------------------------------------------------
    def corr2d(X, K):
        """Compute 2D cross-correlation."""
        h, w = K.shape
        Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
        return Y

    class Conv2D(nn.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.weight = nn.Parameter(torch.rand(kernel_size))
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return corr2d(x, self.weight) + self.bias

    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    values += corr2d(X, K).flatten().tolist()
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    K = torch.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)
    values += [Y.abs().sum().item(), corr2d(X.t(), K).abs().sum().item()]
    conv = Conv2D((1, 2))
    with torch.no_grad():
        conv.weight.copy_(draw((1, 2)).abs())
    values.append(conv(X).sum().item())

    conv2d = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
    X = X.reshape((1, 1, 6, 8))
    Y = Y.reshape((1, 1, 6, 7))
    lr = 3e-2  # Learning rate
    conv2d(X)
    with torch.no_grad():
        conv2d.weight.copy_(draw((1, 1, 1, 2)))
    for _i in range(10):
        Y_hat = conv2d(X)
        l = (Y_hat - Y) ** 2  # noqa: E741 (the book's name)
        conv2d.zero_grad()
        l.sum().backward()
        # Update the kernel
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        values.append(l.sum().item())
    values += conv2d.weight.data.reshape((1, 2)).flatten().tolist()

    # ---- 7.3 padding and stride -----------------------------------------------------------------
    def comp_conv2d(conv2d, X):
        # (1, 1) indicates that batch size and the number of channels are both 1
        X = X.reshape((1, 1) + X.shape)
        Y = conv2d(X)
        # Strip the first two dimensions: examples and channels
        return Y.reshape(Y.shape[2:])

    X = draw((8, 8))
    for conv2d in (
        nn.LazyConv2d(1, kernel_size=3, padding=1),
        nn.LazyConv2d(1, kernel_size=(5, 3), padding=(2, 1)),
        nn.LazyConv2d(1, kernel_size=3, padding=1, stride=2),
        nn.LazyConv2d(1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)),
    ):
        values += list(comp_conv2d(conv2d, X).shape)

    # ---- 7.4 multiple input and output channels -------------------------------------------------
    def corr2d_multi_in(X, K):
        # Iterate through the 0th dimension (channel) of K first, then add them up
        return sum(corr2d(x, k) for x, k in zip(X, K))

    def corr2d_multi_in_out(X, K):
        # Iterate through the 0th dimension of K, and each time, perform
        # cross-correlation operations with input X. All of the results are
        # stacked together
        return torch.stack([corr2d_multi_in(X, k) for k in K], 0)

    def corr2d_multi_in_out_1x1(X, K):
        c_i, h, w = X.shape
        c_o = K.shape[0]
        X = X.reshape((c_i, h * w))
        K = K.reshape((c_o, c_i))
        # Matrix multiplication in the fully connected layer
        Y = torch.matmul(K, X)
        return Y.reshape((c_o, h, w))

    X = torch.tensor(
        [
            [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
            [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
        ]
    )
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    values += corr2d_multi_in(X, K).flatten().tolist()
    K = torch.stack((K, K + 1, K + 2), 0)
    values += list(K.shape) + corr2d_multi_in_out(X, K).flatten().tolist()
    X = draw((3, 3, 3))
    K = torch.from_numpy(init["K"])
    Y1 = corr2d_multi_in_out_1x1(X, K)
    Y2 = corr2d_multi_in_out(X, K)
    assert float(torch.abs(Y1 - Y2).sum()) < 1e-6
    values.append(Y1.sum().item())

    # ---- 7.5 pooling ----------------------------------------------------------------------------
    def pool2d(X, pool_size, mode="max"):
        p_h, p_w = pool_size
        Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                if mode == "max":
                    Y[i, j] = X[i : i + p_h, j : j + p_w].max()
                elif mode == "avg":
                    Y[i, j] = X[i : i + p_h, j : j + p_w].mean()
        return Y

    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    values += pool2d(X, (2, 2)).flatten().tolist() + pool2d(X, (2, 2), "avg").flatten().tolist()
    X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
    values += nn.MaxPool2d(3)(X).flatten().tolist()
    values += nn.MaxPool2d(3, padding=1, stride=2)(X).flatten().tolist()
    values += nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X).flatten().tolist()
    X = torch.cat((X, X + 1), 1)
    values += nn.MaxPool2d(3, padding=1, stride=2)(X).flatten().tolist()

    # ---- the d2l scaffolding --------------------------------------------------------------------
    class HyperParameters:
        def save_hyperparameters(self, ignore=()):
            frame = inspect.currentframe().f_back
            _, _, _, local_vars = inspect.getargvalues(frame)
            self.hparams = {
                k: v
                for k, v in local_vars.items()
                if k not in set(ignore + ("self",)) and not k.startswith("_")
            }
            for k, v in self.hparams.items():
                setattr(self, k, v)

    class Module(nn.Module, HyperParameters):
        def __init__(self):
            super().__init__()

        def loss(self, y_hat, y):
            raise NotImplementedError

        def forward(self, X):
            assert hasattr(self, "net"), "Neural network is defined"
            return self.net(X)

        def training_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            return l

        def validation_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            return l

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr)

        def apply_init(self, inputs, init=None):
            self.forward(*inputs)
            if init is not None:
                self.net.apply(init)

    class Classifier(Module):
        def validation_step(self, batch):
            Y_hat = self(*batch[:-1])
            return self.loss(Y_hat, batch[-1]), self.accuracy(Y_hat, batch[-1])

        def accuracy(self, Y_hat, Y, averaged=True):
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            preds = Y_hat.argmax(axis=1).type(Y.dtype)
            compare = (preds == Y.reshape(-1)).type(torch.float32)
            return compare.mean() if averaged else compare

        def loss(self, Y_hat, Y, averaged=True):
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            Y = Y.reshape((-1,))
            return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

        def layer_summary(self, X_shape):
            X = draw(X_shape)  # torch.randn(*X_shape) in the book
            shapes = []
            for layer in self.net:
                X = layer(X)
                shapes.append((layer.__class__.__name__, tuple(X.shape)))
            return shapes

    def init_cnn(module):
        """Initialize weights for CNNs."""
        if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721 (the book's)
            nn.init.xavier_uniform_(module.weight)

    x_all, y_all = torch.from_numpy(init["x"]), torch.from_numpy(init["y"])
    train_batches = [(x_all[i : i + BS], y_all[i : i + BS]) for i in range(0, N, BS)]
    val_batches = [(x_all[N:], y_all[N:])]

    class Trainer(HyperParameters):
        def __init__(self, max_epochs, gradient_clip_val=0):
            self.save_hyperparameters()

        def prepare_batch(self, batch):
            return batch

        def fit(self, model):
            self.model = model
            self.optim = model.configure_optimizers()
            self.epoch = 0
            for self.epoch in range(self.max_epochs):  # noqa: B020 (the book's)
                self.fit_epoch()

        def fit_epoch(self):
            self.model.train()
            for batch in train_batches:
                loss = self.model.training_step(self.prepare_batch(batch))
                self.optim.zero_grad()
                with torch.no_grad():
                    loss.backward()
                    if self.gradient_clip_val > 0:
                        self.clip_gradients(self.gradient_clip_val, self.model)
                    self.optim.step()
                values.append(loss.item())
            self.model.eval()
            for batch in val_batches:
                with torch.no_grad():
                    loss, acc = self.model.validation_step(self.prepare_batch(batch))
                values.extend([loss.item(), acc.item()])

        def clip_gradients(self, grad_clip_val, model):
            params = [p for p in model.parameters() if p.requires_grad]
            norm = torch.sqrt(sum(torch.sum((p.grad**2)) for p in params))  # noqa: UP034
            if norm > grad_clip_val:
                for param in params:
                    param.grad[:] *= grad_clip_val / norm
            values.append(float(norm))

    def numpy_weights(model):
        """The lazily made weights' random draws replaced by NumPy's (set_seed's stand-in)."""
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() > 1:
                    fan_in = p[0].numel()
                    p.copy_(draw(tuple(p.shape)) * (2.0 / fan_in) ** 0.5)
                elif name.endswith("bias"):
                    p.copy_(draw(tuple(p.shape)) * 0.01)
        for m in model.modules():  # the materialising forward ran with the random weights
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()

    # ---- 8.2 VGG, 8.3 NiN -----------------------------------------------------------------------
    def vgg_block(num_convs, out_channels):
        layers = []
        for _ in range(num_convs):
            layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
            layers.append(nn.ReLU())
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        return nn.Sequential(*layers)

    class VGG(Classifier):
        def __init__(self, arch, lr=0.1, num_classes=CLASSES):
            super().__init__()
            self.save_hyperparameters()
            conv_blks = []
            for num_convs, out_channels in arch:
                conv_blks.append(vgg_block(num_convs, out_channels))
            self.net = nn.Sequential(
                *conv_blks,
                nn.Flatten(),
                nn.LazyLinear(16),
                nn.ReLU(),
                nn.Dropout(0.0),
                nn.LazyLinear(num_classes),
            )
            self.net.apply(init_cnn)

    def nin_block(out_channels, kernel_size, strides, padding):
        return nn.Sequential(
            nn.LazyConv2d(out_channels, kernel_size, strides, padding),
            nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1),
            nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1),
            nn.ReLU(),
        )

    class NiN(Classifier):
        def __init__(self, lr=0.1, num_classes=CLASSES):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nin_block(6, kernel_size=5, strides=2, padding=0),
                nn.MaxPool2d(3, stride=2),
                nn.Dropout(0.0),
                nin_block(num_classes, kernel_size=3, strides=1, padding=1),
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(),
            )
            self.net.apply(init_cnn)

    # ---- 8.4 GoogLeNet, 8.6 ResNet / ResNeXt, 8.7 DenseNet --------------------------------------
    class Inception(nn.Module):
        # c1--c4 are the number of output channels for each branch
        def __init__(self, c1, c2, c3, c4, **kwargs):
            super(Inception, self).__init__(**kwargs)  # noqa: UP008
            # Branch 1
            self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
            # Branch 2
            self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
            self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
            # Branch 3
            self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
            self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
            # Branch 4
            self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
            self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

        def forward(self, x):
            b1 = F.relu(self.b1_1(x))
            b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
            b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
            b4 = F.relu(self.b4_2(self.b4_1(x)))
            return torch.cat((b1, b2, b3, b4), dim=1)

    class GoogleNet(Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(4, kernel_size=7, stride=2, padding=3),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )

        def b3(self):
            return nn.Sequential(
                Inception(4, (4, 8), (2, 4), 4),
                Inception(8, (8, 12), (2, 6), 4),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )

        def __init__(self, lr=0.1, num_classes=CLASSES):
            super(GoogleNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = nn.Sequential(
                self.b1(),
                self.b3(),
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(),
                nn.LazyLinear(num_classes),
            )
            self.net.apply(init_cnn)

    class Residual(nn.Module):
        """The Residual block of ResNet models."""

        def __init__(self, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
            self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.LazyBatchNorm2d()
            self.bn2 = nn.LazyBatchNorm2d()

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    class ResNeXtBlock(nn.Module):
        """The ResNeXt block."""

        def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False, strides=1):
            super().__init__()
            bot_channels = int(round(num_channels * bot_mul))
            self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=1)
            self.conv2 = nn.LazyConv2d(
                bot_channels,
                kernel_size=3,
                stride=strides,
                padding=1,
                groups=bot_channels // groups,
            )
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=1)
            self.bn1 = nn.LazyBatchNorm2d()
            self.bn2 = nn.LazyBatchNorm2d()
            self.bn3 = nn.LazyBatchNorm2d()
            if use_1x1conv:
                self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
                self.bn4 = nn.LazyBatchNorm2d()
            else:
                self.conv4 = None

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = F.relu(self.bn2(self.conv2(Y)))
            Y = self.bn3(self.conv3(Y))
            if self.conv4:
                X = self.bn4(self.conv4(X))
            return F.relu(Y + X)

    class ResNet(Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(4, kernel_size=7, stride=2, padding=3),
                nn.LazyBatchNorm2d(),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )

        def block(self, num_residuals, num_channels, first_block=False):
            blk = []
            for i in range(num_residuals):
                if i == 0 and not first_block:
                    blk.append(Residual(num_channels, use_1x1conv=True, strides=2))
                else:
                    blk.append(Residual(num_channels))
            return nn.Sequential(*blk)

        def __init__(self, arch, lr=0.1, num_classes=CLASSES, block_cls=None):
            super(ResNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = nn.Sequential(self.b1())
            for i, b in enumerate(arch):
                if block_cls is None:
                    self.net.add_module(f"b{i + 2}", self.block(*b, first_block=(i == 0)))
                else:
                    self.net.add_module(f"b{i + 2}", nn.Sequential(block_cls(*b)))
            self.net.add_module(
                "last",
                nn.Sequential(
                    nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes)
                ),
            )
            self.net.apply(init_cnn)

    def conv_block(num_channels):
        return nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(), nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        )

    class DenseBlock(nn.Module):
        def __init__(self, num_convs, num_channels):
            super(DenseBlock, self).__init__()  # noqa: UP008
            layer = []
            for i in range(num_convs):  # noqa: B007 (the book's)
                layer.append(conv_block(num_channels))
            self.net = nn.Sequential(*layer)

        def forward(self, X):
            for blk in self.net:
                Y = blk(X)
                # Concatenate input and output of each block along the channels
                X = torch.cat((X, Y), dim=1)
            return X

    def transition_block(num_channels):
        return nn.Sequential(
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=1),
            nn.AvgPool2d(kernel_size=2, stride=2),
        )

    class DenseNet(Classifier):
        def b1(self):
            return nn.Sequential(
                nn.LazyConv2d(4, kernel_size=7, stride=2, padding=3),
                nn.LazyBatchNorm2d(),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )

        def __init__(self, num_channels=4, growth_rate=2, arch=(2, 2), lr=0.1, num_classes=CLASSES):
            super(DenseNet, self).__init__()  # noqa: UP008
            self.save_hyperparameters()
            self.net = nn.Sequential(self.b1())
            for i, num_convs in enumerate(arch):
                self.net.add_module(f"dense_blk{i + 1}", DenseBlock(num_convs, growth_rate))
                # The number of output channels in the previous dense block
                num_channels += num_convs * growth_rate
                # A transition layer that halves the number of channels is added
                # between the dense blocks
                if i != len(arch) - 1:
                    num_channels //= 2
                    self.net.add_module(f"tran_blk{i + 1}", transition_block(num_channels))
            self.net.add_module(
                "last",
                nn.Sequential(
                    nn.LazyBatchNorm2d(),
                    nn.ReLU(),
                    nn.AdaptiveAvgPool2d((1, 1)),
                    nn.Flatten(),
                    nn.LazyLinear(num_classes),
                ),
            )
            self.net.apply(init_cnn)

    X = draw((1, 1, IMG, IMG))
    shape_of = {}
    for name, model, clip in [
        ("vgg", VGG(arch=((1, 4), (1, 8)), lr=0.05), 0),
        ("nin", NiN(lr=0.05), 0),
        ("googlenet", GoogleNet(lr=0.05), 1.0),
        ("resnet", ResNet(arch=((1, 4), (1, 8)), lr=0.05), 0),
        ("resnext", ResNet(arch=((8, 4, 0.5, True, 2),), lr=0.05, block_cls=ResNeXtBlock), 0),
        ("densenet", DenseNet(lr=0.05), 2.0),
    ]:
        model.apply_init([x_all[:2]], init_cnn)
        numpy_weights(model)
        values.append(model.lr)
        shape_of[name] = model.layer_summary((1, 1, IMG, IMG))
        values += [s for _, shape in shape_of[name] for s in shape]
        values.append(sum(p.numel() for p in model.parameters()))
        model.eval()
        with torch.no_grad():
            values.append(model(X).sum().item())
        trainer = Trainer(max_epochs=2, gradient_clip_val=clip)
        trainer.fit(model)
        values.append(float(trainer.max_epochs))
    values.append(float(shape_of["googlenet"][1][0] == "Sequential"))
    return values
