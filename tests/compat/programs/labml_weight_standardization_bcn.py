"""labml.ai annotated implementations (labmlai/annotated_deep_learning_paper_implementations):
``labml_nn/normalization/weight_standardization/__init__.py`` (``weight_standardization``:
``c_out, c_in, *kernel_shape = weight.shape``, ``torch.var_mean(weight, dim=1,
keepdim=True)``), ``.../weight_standardization/conv2d.py`` (a ``Conv2d`` subclassing
``nn.Conv2d`` whose ``forward`` calls ``F.conv2d(x, weight_standardization(self.weight,
self.eps), self.bias, self.stride, self.padding, self.dilation, self.groups)``),
``.../batch_channel_norm/__init__.py`` (``BatchChannelNorm`` = ``EstimatedBatchNorm`` then
``ChannelNorm``; ``EstimatedBatchNorm`` updates its buffers by plain assignment,
``self.exp_mean = (1 - self.momentum) * self.exp_mean + self.momentum * mean``, under
``torch.no_grad()``, with ``x.mean(dim=[0, 2])``), ``.../group_norm/__init__.py``
(``GroupNorm`` from scratch: ``mean_x2 - mean ** 2``) and the experiments' model
(``weight_standardization/experiment.py`` on ``labml_nn/experiments/cifar10.py``'s
``CIFAR10VGGModel``: ``conv_block`` overridden, ``layers += [nn.MaxPool2d(kernel_size=2,
stride=2)]``, ``x.view(x.shape[0], -1)``), trained as labml's classification trainer does
(``nn.CrossEntropyLoss``, Adam, ``output.argmax(dim=-1).eq(target).sum()`` accuracy).

Changed: VGG blocks ``[[64, 64], [128, 128], [256]*3, [512]*3, [512]*3]`` -> ``[[4], [8]]``
(32 groups -> 2), CIFAR-10 -> 16 seeded random 3x4x4 images, batch 4, 2 epochs, Adam lr
2.5e-4 -> 1e-2; a second model uses ``GroupNorm`` in place of ``BatchChannelNorm``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state


def _modules(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    Module = nn.Module

    def weight_standardization(weight: Any, eps: float):  # noqa: ANN202
        # Get $C_{out}$, $C_{in}$ and kernel shape
        c_out, c_in, *kernel_shape = weight.shape
        # Reshape $W$ to $C_{out} \times C_{in}$
        weight = weight.view(c_out, -1)
        # Calculate
        var, mean = torch.var_mean(weight, dim=1, keepdim=True)
        # Normalize
        weight = (weight - mean) / (torch.sqrt(var + eps))
        # Change back to original shape and return
        return weight.view(c_out, c_in, *kernel_shape)

    class Conv2d(nn.Conv2d):
        def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                     padding=0, dilation=1, groups: int = 1, bias: bool = True,
                     padding_mode: str = 'zeros', eps: float = 1e-5):  # noqa: ANN001 # fmt: skip
            super(Conv2d, self).__init__(in_channels, out_channels, kernel_size,  # noqa: UP008
                                         stride=stride, padding=padding, dilation=dilation,
                                         groups=groups, bias=bias, padding_mode=padding_mode)  # noqa: UP008 # fmt: skip
            self.eps = eps

        def forward(self, x):  # noqa: ANN001, ANN202
            return F.conv2d(x, weight_standardization(self.weight, self.eps), self.bias, self.stride,  # noqa: E501
                            self.padding, self.dilation, self.groups)  # fmt: skip

    class EstimatedBatchNorm(Module):
        def __init__(self, channels: int,
                     eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):  # fmt: skip
            super().__init__()

            self.eps = eps
            self.momentum = momentum
            self.affine = affine
            self.channels = channels

            # Channel wise transformation parameters
            if self.affine:
                self.scale = nn.Parameter(torch.ones(channels))
                self.shift = nn.Parameter(torch.zeros(channels))

            # Tensors for $\mathbb{E}[x^{(k)}]$ and $Var[x^{(k)}]$
            self.register_buffer("exp_mean", torch.zeros(channels))
            self.register_buffer("exp_var", torch.ones(channels))

        def forward(self, x):  # noqa: ANN001, ANN202
            # Keep old shape
            x_shape = x.shape
            # Get the batch size
            batch_size = x_shape[0]

            # Sanity check to make sure the number of features is correct
            assert self.channels == x.shape[1]

            # Reshape into `[batch_size, channels, n]`
            x = x.view(batch_size, self.channels, -1)

            # Update $\mathbb{E}[x^{(k)}]$ and $Var[x^{(k)}]$ in training mode only
            if self.training:
                # No backpropagation through $\mathbb{E}[x^{(k)}]$ and $Var[x^{(k)}]$
                with torch.no_grad():
                    # Calculate the mean across first and last dimensions;
                    # $\frac{1}{B H W} \sum_{b,h,w} x_{b,c,h,w}$
                    mean = x.mean(dim=[0, 2])
                    # Calculate the squared mean across first and last dimensions;
                    # $\frac{1}{B H W} \sum_{b,h,w} x^2_{b,c,h,w}$
                    mean_x2 = (x**2).mean(dim=[0, 2])
                    # Variance for each feature
                    # $\frac{1}{B H W} \sum_{b,h,w} \big(x_{b,c,h,w} - \hat{\mu}_C \big)^2$
                    var = mean_x2 - mean**2

                    # Update exponential moving averages
                    self.exp_mean = (1 - self.momentum) * self.exp_mean + self.momentum * mean
                    self.exp_var = (1 - self.momentum) * self.exp_var + self.momentum * var

            # Normalize
            x_norm = (x - self.exp_mean.view(1, -1, 1)) / torch.sqrt(self.exp_var + self.eps).view(
                1, -1, 1
            )  # noqa: E501
            # Scale and shift
            if self.affine:
                x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)

            # Reshape to original and return
            return x_norm.view(x_shape)

    class ChannelNorm(Module):
        def __init__(self, channels, groups,
                     eps: float = 1e-5, affine: bool = True):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.channels = channels
            self.groups = groups
            self.eps = eps
            self.affine = affine
            # Note that these transforms are per group, unlike in group norm where
            # they are transformed channel-wise.
            if self.affine:
                self.scale = nn.Parameter(torch.ones(groups))
                self.shift = nn.Parameter(torch.zeros(groups))

        def forward(self, x):  # noqa: ANN001, ANN202
            # Keep the original shape
            x_shape = x.shape
            # Get the batch size
            batch_size = x_shape[0]
            # Sanity check to make sure the number of features is the same
            assert self.channels == x.shape[1]

            # Reshape into `[batch_size, groups, n]`
            x = x.view(batch_size, self.groups, -1)

            # Calculate the mean across last dimension;
            # i.e. the means for each sample and channel group $\mathbb{E}[x_{(i_N, i_G)}]$
            mean = x.mean(dim=[-1], keepdim=True)
            # Calculate the squared mean across last dimension;
            # i.e. the means for each sample and channel group $\mathbb{E}[x^2_{(i_N, i_G)}]$
            mean_x2 = (x**2).mean(dim=[-1], keepdim=True)
            # Variance for each sample and feature group
            # $Var[x_{(i_N, i_G)}] = \mathbb{E}[x^2_{(i_N, i_G)}] - \mathbb{E}[x_{(i_N, i_G)}]^2$
            var = mean_x2 - mean**2

            # Normalize
            x_norm = (x - mean) / torch.sqrt(var + self.eps)

            # Scale and shift group-wise
            if self.affine:
                x_norm = x_norm.view(batch_size, self.groups, -1)
                x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)

            # Reshape to original and return
            return x_norm.view(x_shape)

    class BatchChannelNorm(Module):
        def __init__(self, channels: int, groups: int,
                     eps: float = 1e-5, momentum: float = 0.1, estimate: bool = True):  # fmt: skip
            super().__init__()

            # Use estimated batch norm or normal batch norm.
            if estimate:
                self.batch_norm = EstimatedBatchNorm(channels,
                                                     eps=eps, momentum=momentum)  # fmt: skip
            else:
                self.batch_norm = nn.BatchNorm2d(channels, eps=eps, momentum=momentum)

            # Channel normalization
            self.channel_norm = ChannelNorm(channels, groups, eps)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.batch_norm(x)
            return self.channel_norm(x)

    class GroupNorm(Module):
        def __init__(self, groups: int, channels: int, *,
                     eps: float = 1e-5, affine: bool = True):  # fmt: skip
            super().__init__()

            assert channels % groups == 0, (
                "Number of channels should be evenly divisible by the number of groups"
            )  # noqa: E501
            self.groups = groups
            self.channels = channels

            self.eps = eps
            self.affine = affine
            # Create parameters for $\gamma$ and $\beta$ for scale and shift
            if self.affine:
                self.scale = nn.Parameter(torch.ones(channels))
                self.shift = nn.Parameter(torch.zeros(channels))

        def forward(self, x):  # noqa: ANN001, ANN202
            # Keep the original shape
            x_shape = x.shape
            # Get the batch size
            batch_size = x_shape[0]
            # Sanity check to make sure the number of features is the same
            assert self.channels == x.shape[1]

            # Reshape into `[batch_size, groups, n]`
            x = x.view(batch_size, self.groups, -1)

            mean = x.mean(dim=[-1], keepdim=True)
            mean_x2 = (x**2).mean(dim=[-1], keepdim=True)
            var = mean_x2 - mean**2

            # Normalize
            x_norm = (x - mean) / torch.sqrt(var + self.eps)

            # Scale and shift channel-wise
            if self.affine:
                x_norm = x_norm.view(batch_size, self.channels, -1)
                x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)

            # Reshape to original and return
            return x_norm.view(x_shape)

    class CIFAR10VGGModel(Module):
        def conv_block(self, in_channels, out_channels):  # noqa: ANN001, ANN202
            return nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
            )

        def __init__(self, blocks):  # noqa: ANN001
            super().__init__()

            # RGB channels
            layers = []
            in_channels = 3
            # Number of channels in each layer in each block
            for block in blocks:
                # Convolution, Normalization and Activation layers
                for channels in block:
                    layers += [self.conv_block(in_channels, channels)]
                    in_channels = channels
                # Max pooling at end of each block
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]

            # Create a sequential model with the layers
            self.layers = nn.Sequential(*layers)
            # Final logits layer
            self.fc = nn.Linear(in_channels, 10)

        def forward(self, x):  # noqa: ANN001, ANN202
            # The VGG layers
            x = self.layers(x)
            # Reshape for classification layer
            x = x.view(x.shape[0], -1)
            # Final linear layer
            return self.fc(x)

    class Model(CIFAR10VGGModel):
        def conv_block(self, in_channels, out_channels):  # noqa: ANN001, ANN202
            return nn.Sequential(
                Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                BatchChannelNorm(out_channels, 2),
                nn.ReLU(inplace=True),
            )

        def __init__(self):
            super().__init__([[4], [8]])

    class GroupNormModel(CIFAR10VGGModel):
        def conv_block(self, in_channels, out_channels):  # noqa: ANN001, ANN202
            return nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                GroupNorm(2, out_channels),
                nn.ReLU(inplace=True),
            )

        def __init__(self):
            super().__init__([[4], [8]])

    return {"ws_bcn": Model, "gn": GroupNormModel}


def make_model(torch_like: Any) -> Any:
    return torch_like.nn.ModuleDict({k: v() for k, v in _modules(torch_like).items()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    models = make_model(torch)
    load_numpy_state(torch, models, init)
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.standard_normal((16, 3, 4, 4)))
    y = torch.tensor(rng.integers(0, 10, size=16))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    loss_func = nn.CrossEntropyLoss()
    out: list[float] = []
    for key in ("ws_bcn", "gn"):
        model = models[key]
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for epoch in range(2):  # noqa: B007
            model.train()
            for data, target in loader:
                output = model(data)
                loss = loss_func(output, target)
                out.append(loss.item())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                output = model(x)
                out.append(output.argmax(dim=-1).eq(y).sum().item())
    bn = models["ws_bcn"].layers[0][1].batch_norm
    out += bn.exp_mean.tolist() + bn.exp_var.tolist()
    assert "layers.0.1.batch_norm.exp_mean" in dict(models["ws_bcn"].named_buffers())
    out.append(len(list(models.buffers())))
    return out
