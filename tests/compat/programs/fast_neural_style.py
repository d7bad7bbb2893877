"""pytorch/examples ``fast_neural_style`` (``transformer_net.py``, ``vgg.py``, ``utils.py`` and
the training loop of ``neural_style.py``), size-reduced: ``TransformerNet`` built from
``ConvLayer`` (``ReflectionPad2d`` + ``Conv2d``), ``InstanceNorm2d(affine=True)``, five
``ResidualBlock``s and ``UpsampleConvLayer`` (``F.interpolate(mode='nearest',
scale_factor=2)``); a frozen feature network in the shape of ``vgg.Vgg16`` (slices filled with
``add_module(str(x), features[x])``, ``param.requires_grad = False``, a ``namedtuple`` of
activations); ``utils.gram_matrix`` (``features.bmm(features_t) / (ch * h * w)``) and
``utils.normalize_batch`` (``batch.new_tensor(...)``, the in-place ``batch.div_(255.0)`` on the
network output); the loop: style grams of ``style.repeat(batch, 1, 1, 1)``, content loss on
``relu2_2``, style loss summed over the four grams (``gm_s[:n_batch, :, :]``), Adam, and
``stylize``'s ``output.clamp(0, 255)``.

Pretrained VGG16 is replaced by a tiny random ``nn.Sequential`` of the same layer kinds; images
are 3x16x16 in [0, 255]; channels 32/64/128 -> 4/6/8, ``content_weight`` 1e5 -> 1,
``style_weight`` 1e10 -> 1e3.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from ._common import load_numpy_state

C1, C2, C3 = 4, 6, 8


def _transformer_net(torch_like: Any) -> type:
    torch = torch_like

    class TransformerNet(torch.nn.Module):
        def __init__(self) -> None:
            super(TransformerNet, self).__init__()  # noqa: UP008 (as in the example)
            # Initial convolution layers
            self.conv1 = ConvLayer(3, C1, kernel_size=9, stride=1)
            self.in1 = torch.nn.InstanceNorm2d(C1, affine=True)
            self.conv2 = ConvLayer(C1, C2, kernel_size=3, stride=2)
            self.in2 = torch.nn.InstanceNorm2d(C2, affine=True)
            self.conv3 = ConvLayer(C2, C3, kernel_size=3, stride=2)
            self.in3 = torch.nn.InstanceNorm2d(C3, affine=True)
            # Residual layers
            self.res1 = ResidualBlock(C3)
            self.res2 = ResidualBlock(C3)
            self.res3 = ResidualBlock(C3)
            self.res4 = ResidualBlock(C3)
            self.res5 = ResidualBlock(C3)
            # Upsampling Layers
            self.deconv1 = UpsampleConvLayer(C3, C2, kernel_size=3, stride=1, upsample=2)
            self.in4 = torch.nn.InstanceNorm2d(C2, affine=True)
            self.deconv2 = UpsampleConvLayer(C2, C1, kernel_size=3, stride=1, upsample=2)
            self.in5 = torch.nn.InstanceNorm2d(C1, affine=True)
            self.deconv3 = ConvLayer(C1, 3, kernel_size=9, stride=1)
            # Non-linearities
            self.relu = torch.nn.ReLU()

        def forward(self, X: Any) -> Any:
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res1(y)
            y = self.res2(y)
            y = self.res3(y)
            y = self.res4(y)
            y = self.res5(y)
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            y = self.deconv3(y)
            return y

    class ConvLayer(torch.nn.Module):
        def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
            super(ConvLayer, self).__init__()  # noqa: UP008
            reflection_padding = kernel_size // 2
            self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
            self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x: Any) -> Any:
            out = self.reflection_pad(x)
            out = self.conv2d(out)
            return out

    class ResidualBlock(torch.nn.Module):
        """ResidualBlock
        introduced in: https://arxiv.org/abs/1512.03385
        recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
        """

        def __init__(self, channels: int) -> None:
            super(ResidualBlock, self).__init__()  # noqa: UP008
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
            self.relu = torch.nn.ReLU()

        def forward(self, x: Any) -> Any:
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            out = out + residual
            return out

    class UpsampleConvLayer(torch.nn.Module):
        """UpsampleConvLayer
        Upsamples the input and then does a convolution. This method gives better results
        compared to ConvTranspose2d.
        ref: http://distill.pub/2016/deconv-checkerboard/
        """

        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int,
            stride: int,
            upsample: int | None = None,
        ) -> None:
            super(UpsampleConvLayer, self).__init__()  # noqa: UP008
            self.upsample = upsample
            reflection_padding = kernel_size // 2
            self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
            self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x: Any) -> Any:
            x_in = x
            if self.upsample:
                x_in = torch.nn.functional.interpolate(
                    x_in, mode="nearest", scale_factor=self.upsample
                )
            out = self.reflection_pad(x_in)
            out = self.conv2d(out)
            return out

    return TransformerNet


def _features(torch_like: Any) -> Any:
    """Stand-in for ``models.vgg16(pretrained=True).features`` (same layer kinds, tiny)."""
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(inplace=True),  # 3: relu1_2
        nn.MaxPool2d(2, 2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.ReLU(inplace=True),  # 8: relu2_2
        nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),  # 15: relu3_3
        nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(inplace=True),  # 22: relu4_3
    )


def _vgg16(torch_like: Any) -> type:
    torch = torch_like

    class Vgg16(torch.nn.Module):
        def __init__(self, requires_grad: bool = False) -> None:
            super(Vgg16, self).__init__()  # noqa: UP008
            vgg_pretrained_features = _features(torch_like)
            self.slice1 = torch.nn.Sequential()
            self.slice2 = torch.nn.Sequential()
            self.slice3 = torch.nn.Sequential()
            self.slice4 = torch.nn.Sequential()
            for x in range(4):
                self.slice1.add_module(str(x), vgg_pretrained_features[x])
            for x in range(4, 9):
                self.slice2.add_module(str(x), vgg_pretrained_features[x])
            for x in range(9, 16):
                self.slice3.add_module(str(x), vgg_pretrained_features[x])
            for x in range(16, 23):
                self.slice4.add_module(str(x), vgg_pretrained_features[x])
            if not requires_grad:
                for param in self.parameters():
                    param.requires_grad = False

        def forward(self, X: Any) -> Any:
            h = self.slice1(X)
            h_relu1_2 = h
            h = self.slice2(h)
            h_relu2_2 = h
            h = self.slice3(h)
            h_relu3_3 = h
            h = self.slice4(h)
            h_relu4_3 = h
            vgg_outputs = namedtuple("VggOutputs", ["relu1_2", "relu2_2", "relu3_3", "relu4_3"])
            out = vgg_outputs(h_relu1_2, h_relu2_2, h_relu3_3, h_relu4_3)
            return out

    return Vgg16


def make_model(torch_like: Any) -> Any:
    return torch_like.nn.ModuleDict(
        {"transformer": _transformer_net(torch_like)(), "vgg": _vgg16(torch_like)()}
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    from_optim = torch_like.optim
    Adam = from_optim.Adam
    device = torch.device("cpu")
    content_weight, style_weight, batch_size = 1.0, 1e3, 2

    def gram_matrix(y: Any) -> Any:
        (b, ch, h, w) = y.size()
        features = y.view(b, ch, w * h)
        features_t = features.transpose(1, 2)
        gram = features.bmm(features_t) / (ch * h * w)
        return gram

    def normalize_batch(batch: Any) -> Any:
        # normalize using imagenet mean and std
        mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
        std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
        batch = batch.div_(255.0)
        return (batch - mean) / std

    rng = np.random.default_rng(6)
    # transforms.ToTensor() + transforms.Lambda(lambda x: x.mul(255))
    train_loader = [
        (torch.from_numpy(rng.random((batch_size, 3, 16, 16)) * 255), torch.zeros(batch_size))
        for _ in range(3)
    ]
    style = torch.from_numpy(rng.random((3, 16, 16)) * 255)

    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    transformer = nets["transformer"].to(device)
    optimizer = Adam(transformer.parameters(), 1e-2)
    mse_loss = torch.nn.MSELoss()

    vgg = nets["vgg"].to(device)
    style = style.repeat(batch_size, 1, 1, 1).to(device)

    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]

    values = []
    for _e in range(1):
        transformer.train()
        agg_content_loss = 0.0
        agg_style_loss = 0.0
        count = 0
        for _batch_id, (x, _) in enumerate(train_loader):
            n_batch = len(x)
            count += n_batch
            optimizer.zero_grad()

            x = x.to(device)
            y = transformer(x)

            y = normalize_batch(y)
            x = normalize_batch(x)

            features_y = vgg(y)
            features_x = vgg(x)

            content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)

            style_loss = 0.0
            for ft_y, gm_s in zip(features_y, gram_style):
                gm_y = gram_matrix(ft_y)
                style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
            style_loss *= style_weight

            total_loss = content_loss + style_loss
            total_loss.backward()
            optimizer.step()

            agg_content_loss += content_loss.item()
            agg_style_loss += style_loss.item()
            values += [content_loss.item(), style_loss.item()]
        values += [agg_content_loss / count, agg_style_loss / count]

    # stylize(): eval mode, no_grad, clamp to the 8-bit range
    transformer.eval()
    with torch.no_grad():
        content_image = torch.from_numpy(rng.random((3, 16, 16)) * 255).unsqueeze(0).to(device)
        output = transformer(content_image).cpu()
    img = output[0].clone().clamp(0, 255).numpy()
    img = img.transpose(1, 2, 0).astype("uint8")
    values += [float(img.astype(np.float64).mean()), float(output.std())]
    return values
