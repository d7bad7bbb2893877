"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 12, "Autoregressive Image Modeling" (the gated PixelCNN), size-reduced.

The idioms: ``MaskedConvolution`` (``kernel_size = (mask.shape[0], mask.shape[1])``, the
dilation read from ``kwargs``, ``padding = tuple([dilation*(kernel_size[i]-1)//2 for i in
range(2)])``, ``nn.Conv2d(c_in, c_out, kernel_size, padding=padding, **kwargs)``,
``self.register_buffer('mask', mask[None,None])`` and ``self.conv.weight.data *= self.mask``
in ``forward``); ``VerticalStackConvolution`` / ``HorizontalStackConvolution`` building their
masks with ``torch.ones(kernel_size, kernel_size)``, ``mask[kernel_size//2+1:,:] = 0`` and
``mask_center``; ``GatedMaskedConv`` (``v_stack_feat.chunk(2, dim=1)``, ``torch.tanh(v_val) *
torch.sigmoid(v_gate)``, the 1x1 ``conv_vert_to_horiz`` and the residual ``h_stack_out +
h_stack``); ``PixelCNN`` over an ``nn.ModuleList`` of gated layers with ``dilation=2`` and
``dilation=4``, ``x = (x.float() / 255.0) * 2 - 1``, ``self.conv_out(F.elu(h_stack))``,
``out.reshape(out.shape[0], 256, out.shape[1]//256, out.shape[2], out.shape[3])``;
``calc_likelihood`` (``F.cross_entropy(pred, x, reduction='none')``, ``nll.mean(dim=[1,2,3])
* np.log2(np.exp(1))``); the ``discretize`` transform ``(sample * 255).to(torch.long)``;
``configure_optimizers``' ``optim.Adam(self.parameters(), lr=1e-3)`` with
``optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.99)``; ``show_center_recep_field``
(``inp_img.requires_grad_()``, ``loss.backward(retain_graph=True)``, ``img.grad.abs()``,
``img.grad.fill_(0)``); and ``sample`` under ``@torch.no_grad()`` (``torch.zeros(img_shape,
dtype=torch.long) - 1``, ``(img[:,c,h,w] != -1).all().item()``, ``self.forward(
img[:,:,:h+1,:])``, ``F.softmax(pred[:,:,c,h,w], dim=-1)``, ``torch.multinomial(probs,
num_samples=1).squeeze(dim=-1)``) and the autocompletion of half-masked images.

Changed: the Lightning module is a plain ``nn.Module`` with a hand-written loop; MNIST 28x28
-> random 6x6 images; c_hidden 64 -> 6; 7 gated layers -> 4; 150 epochs -> 3 steps; sampling
on 4x4 images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class MaskedConvolution(nn.Module):
        def __init__(self, c_in, c_out, mask, **kwargs):  # noqa: ANN001, ANN003
            """
            Implements a convolution with mask applied on its weights.
            """
            super().__init__()
            # For simplicity: calculate padding automatically
            kernel_size = (mask.shape[0], mask.shape[1])
            dilation = 1 if "dilation" not in kwargs else kwargs["dilation"]
            padding = tuple([dilation * (kernel_size[i] - 1) // 2 for i in range(2)])
            # Actual convolution
            self.conv = nn.Conv2d(c_in, c_out, kernel_size, padding=padding, **kwargs)
            # Mask as buffer => it is no parameter but still a tensor of the module
            self.register_buffer("mask", mask[None, None])

        def forward(self, x: Any) -> Any:
            self.conv.weight.data *= self.mask  # Ensures zero's at masked positions
            return self.conv(x)

    class VerticalStackConvolution(MaskedConvolution):
        def __init__(self, c_in, c_out, kernel_size=3, mask_center=False, **kwargs):  # noqa: ANN001, ANN003
            # Mask out all pixels below. For efficiency, we could also reduce the kernel
            # size in height, but for simplicity, we stick with masking here.
            mask = torch.ones(kernel_size, kernel_size)
            mask[kernel_size // 2 + 1 :, :] = 0
            # For the very first convolution, we will also mask the center row
            if mask_center:
                mask[kernel_size // 2, :] = 0
            super().__init__(c_in, c_out, mask, **kwargs)

    class HorizontalStackConvolution(MaskedConvolution):
        def __init__(self, c_in, c_out, kernel_size=3, mask_center=False, **kwargs):  # noqa: ANN001, ANN003
            # Mask out all pixels on the left. Note that our kernel has a size of 1
            # in height because we only look at the pixel in the same row.
            mask = torch.ones(1, kernel_size)
            mask[0, kernel_size // 2 + 1 :] = 0
            # For the very first convolution, we will also mask the center pixel
            if mask_center:
                mask[0, kernel_size // 2] = 0
            super().__init__(c_in, c_out, mask, **kwargs)

    class GatedMaskedConv(nn.Module):
        def __init__(self, c_in, **kwargs):  # noqa: ANN001, ANN003
            """
            Gated Convolution block implemented the computation graph shown above.
            """
            super().__init__()
            self.conv_vert = VerticalStackConvolution(c_in, c_out=2 * c_in, **kwargs)
            self.conv_horiz = HorizontalStackConvolution(c_in, c_out=2 * c_in, **kwargs)
            self.conv_vert_to_horiz = nn.Conv2d(2 * c_in, 2 * c_in, kernel_size=1, padding=0)
            self.conv_horiz_1x1 = nn.Conv2d(c_in, c_in, kernel_size=1, padding=0)

        def forward(self, v_stack: Any, h_stack: Any) -> tuple[Any, Any]:
            # Vertical stack (left)
            v_stack_feat = self.conv_vert(v_stack)
            v_val, v_gate = v_stack_feat.chunk(2, dim=1)
            v_stack_out = torch.tanh(v_val) * torch.sigmoid(v_gate)

            # Horizontal stack (right)
            h_stack_feat = self.conv_horiz(h_stack)
            h_stack_feat = h_stack_feat + self.conv_vert_to_horiz(v_stack_feat)
            h_val, h_gate = h_stack_feat.chunk(2, dim=1)
            h_stack_feat = torch.tanh(h_val) * torch.sigmoid(h_gate)
            h_stack_out = self.conv_horiz_1x1(h_stack_feat)
            h_stack_out = h_stack_out + h_stack

            return v_stack_out, h_stack_out

    class PixelCNN(nn.Module):
        def __init__(self, c_in, c_hidden):  # noqa: ANN001
            super().__init__()
            # Initial convolutions skipping the center pixel
            self.conv_vstack = VerticalStackConvolution(c_in, c_hidden, mask_center=True)
            self.conv_hstack = HorizontalStackConvolution(c_in, c_hidden, mask_center=True)
            # Convolution block of PixelCNN. We use dilation instead of downscaling
            self.conv_layers = nn.ModuleList(
                [
                    GatedMaskedConv(c_hidden),
                    GatedMaskedConv(c_hidden, dilation=2),
                    GatedMaskedConv(c_hidden),
                    GatedMaskedConv(c_hidden, dilation=4),
                ]
            )
            # Output classification convolution (1x1)
            self.conv_out = nn.Conv2d(c_hidden, c_in * 256, kernel_size=1, padding=0)

        def forward(self, x: Any) -> Any:
            # Scale input from 0 to 255 back to -1 to 1
            x = (x.float() / 255.0) * 2 - 1

            # Initial convolutions
            v_stack = self.conv_vstack(x)
            h_stack = self.conv_hstack(x)
            # Gated Convolutions
            for layer in self.conv_layers:
                v_stack, h_stack = layer(v_stack, h_stack)
            # 1x1 classification convolution
            # Apply ELU before 1x1 convolution for non-linearity on residual connection
            out = self.conv_out(F.elu(h_stack))

            # Output dimensions: [Batch, Classes, Channels, Height, Width]
            out = out.reshape(out.shape[0], 256, out.shape[1] // 256, out.shape[2], out.shape[3])
            return out

        def calc_likelihood(self, x: Any) -> Any:
            # Forward pass with bpd likelihood calculation
            pred = self.forward(x)
            nll = F.cross_entropy(pred, x, reduction="none")
            bpd = nll.mean(dim=[1, 2, 3]) * np.log2(np.exp(1))
            return bpd.mean()

        @torch.no_grad()
        def sample(self, img_shape: tuple, img: Any = None) -> Any:
            # Create empty image
            if img is None:
                img = torch.zeros(img_shape, dtype=torch.long) - 1
            # Generation loop
            for h in range(img_shape[2]):
                for w in range(img_shape[3]):
                    for c in range(img_shape[1]):
                        # Skip if not to be filled (-1)
                        if (img[:, c, h, w] != -1).all().item():
                            continue
                        # For efficiency, we only have to input the upper part of the image
                        # as all other parts will be skipped by the masked convolutions
                        pred = self.forward(img[:, :, : h + 1, :])
                        probs = F.softmax(pred[:, :, c, h, w], dim=-1)
                        img[:, c, h, w] = torch.multinomial(probs, num_samples=1).squeeze(dim=-1)
            return img

    return PixelCNN, HorizontalStackConvolution, VerticalStackConvolution


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)[0](c_in=1, c_hidden=6)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    optim = torch.optim
    _, HorizontalStackConvolution, VerticalStackConvolution = _classes(torch_like)
    rng = np.random.default_rng(12)
    values: list[float] = []

    # the receptive field of the first masked convolutions
    inp_img = torch.zeros(1, 1, 7, 7)
    inp_img.requires_grad_()

    def show_center_recep_field(img: Any, out: Any) -> Any:
        # Determine gradients
        loss = out[0, :, img.shape[2] // 2, img.shape[3] // 2].sum()
        loss.backward(retain_graph=True)
        img_grads = img.grad.abs()
        img.grad.fill_(0)  # Reset grads
        return (img_grads > 0).float()

    horiz_conv = HorizontalStackConvolution(c_in=1, c_out=1, kernel_size=3, mask_center=True)
    horiz_conv.conv.weight.data.fill_(1)
    horiz_conv.conv.bias.data.fill_(0)
    horiz_img = horiz_conv(inp_img)
    values.append(show_center_recep_field(inp_img, horiz_img).sum().item())
    vert_conv = VerticalStackConvolution(c_in=1, c_out=1, kernel_size=3, mask_center=True)
    vert_conv.conv.weight.data.fill_(1)
    vert_conv.conv.bias.data.fill_(0)
    vert_img = vert_conv(inp_img)
    values.append(show_center_recep_field(inp_img, vert_img).sum().item())
    for _ in range(2):  # stacking: the receptive field grows
        vert_img = vert_conv(vert_img)
        horiz_img = horiz_conv(horiz_img) + vert_img
    field = show_center_recep_field(inp_img, horiz_img)
    values += [field.sum().item(), field[0, 0, 3, :4].sum().item()]

    def discretize(sample: Any) -> Any:
        return (sample * 255).to(torch.long)

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.99)
    for _ in range(3):
        imgs = discretize(torch.from_numpy(rng.random((4, 1, 6, 6))))
        loss = model.calc_likelihood(imgs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        values.append(model.calc_likelihood(imgs).item())

    torch.manual_seed(1)
    samples = model.sample(img_shape=(2, 1, 3, 4))
    values += [samples.sum().item(), float(samples.min() >= 0), float(samples.max() <= 255)]
    img = discretize(torch.from_numpy(rng.random((2, 1, 4, 4))))
    img[:, :, 2:, :] = -1  # autocompletion of the lower half
    completed = model.sample(img_shape=img.shape, img=img.clone())
    values += [(completed[:, :, :2] == img[:, :, :2]).all().item(), completed.sum().item()]
    return values
