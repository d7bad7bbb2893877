"""Deep Image Prior denoising (``DmitryUlyanov/deep-image-prior``: ``models/skip.py``,
``models/common.py``, ``utils/common_utils.py``, ``denoising.ipynb``), size-reduced: the ``skip``
encoder-decoder built from ``nn.Sequential`` and the repository's ``Concat`` module (which
centre-crops its branches to the smallest size), ``conv`` with ``pad='reflection'``
(``nn.ReflectionPad2d(to_pad)`` before a padding-0 ``nn.Conv2d``), strided downsampling,
``nn.Upsample(scale_factor=2, mode='bilinear')``, ``nn.LeakyReLU(0.2, inplace=True)`` and
``BatchNorm2d``; the input is ``get_noise`` (``torch.zeros(shape).uniform_()`` ``* 1. / 10``,
``fill_noise``), perturbed each step by ``net_input_saved + (noise.normal_() * reg_noise_std)``;
``closure()`` keeps the exponential average ``out_avg = out_avg * exp_weight + out.detach() *
(1 - exp_weight)`` and the PSNRs, and backtracks when the PSNR of the noisy fit drops
(``for new_param, net_param in zip(last_net, net.parameters()): net_param.data.copy_(new_param)``
from ``last_net = [x.detach().cpu() for x in net.parameters()]``); ``optimize`` runs Adam on the
closure. An early-stopping rule on the running average's change ends the loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

SIZE, NUM_ITER, INPUT_DEPTH = 16, 8, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def add_module(self: Any, module: Any) -> None:
        self.add_module(str(len(self) + 1), module)

    nn.Module.add = (
        add_module  # the repository patches nn.Module (as models/common.py does, at import)
    )

    class Concat(nn.Module):
        def __init__(self, dim: int, *args: Any) -> None:
            super(Concat, self).__init__()  # noqa: UP008
            self.dim = dim
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

        def forward(self, input: Any) -> Any:
            inputs = []
            for module in self._modules.values():
                inputs.append(module(input))
            inputs_shapes2 = [x.shape[2] for x in inputs]
            inputs_shapes3 = [x.shape[3] for x in inputs]
            if np.all(np.array(inputs_shapes2) == min(inputs_shapes2)) and np.all(
                np.array(inputs_shapes3) == min(inputs_shapes3)
            ):
                inputs_ = inputs
            else:
                target_shape2 = min(inputs_shapes2)
                target_shape3 = min(inputs_shapes3)
                inputs_ = []
                for inp in inputs:
                    diff2 = (inp.size(2) - target_shape2) // 2
                    diff3 = (inp.size(3) - target_shape3) // 2
                    inputs_.append(
                        inp[:, :, diff2 : diff2 + target_shape2, diff3 : diff3 + target_shape3]
                    )
            return torch.cat(inputs_, dim=self.dim)

        def __len__(self) -> int:
            return len(self._modules)

    def conv(
        in_f: int,
        out_f: int,
        kernel_size: int,
        stride: int = 1,
        bias: bool = True,
        pad: str = "zero",
    ) -> Any:
        padder = None
        to_pad = int((kernel_size - 1) / 2)
        if pad == "reflection":
            padder = nn.ReflectionPad2d(to_pad)
            to_pad = 0
        convolver = nn.Conv2d(in_f, out_f, kernel_size, stride, padding=to_pad, bias=bias)
        layers = filter(lambda x: x is not None, [padder, convolver])
        return nn.Sequential(*layers)

    def bn(num_features: int) -> Any:
        return nn.BatchNorm2d(num_features)

    def act() -> Any:
        return nn.LeakyReLU(0.2, inplace=True)

    def skip(
        num_input_channels: int = 2,
        num_output_channels: int = 3,
        num_channels_down: tuple = (4, 8),
        num_channels_up: tuple = (4, 8),
        num_channels_skip: tuple = (2, 2),
        filter_size_down: int = 3,
        filter_size_up: int = 3,
        filter_skip_size: int = 1,
        need_sigmoid: bool = True,
        need_bias: bool = True,
        pad: str = "reflection",
        upsample_mode: str = "bilinear",
    ) -> Any:
        n_scales = len(num_channels_down)
        last_scale = n_scales - 1
        model = nn.Sequential()
        model_tmp = model
        input_depth = num_input_channels
        for i in range(len(num_channels_down)):
            deeper = nn.Sequential()
            skip_ = nn.Sequential()
            if num_channels_skip[i] != 0:
                model_tmp.add(Concat(1, skip_, deeper))
            else:
                model_tmp.add(deeper)
            model_tmp.add(
                bn(
                    num_channels_skip[i]
                    + (num_channels_up[i + 1] if i < last_scale else num_channels_down[i])
                )
            )
            if num_channels_skip[i] != 0:
                skip_.add(
                    conv(
                        input_depth, num_channels_skip[i], filter_skip_size, bias=need_bias, pad=pad
                    )
                )
                skip_.add(bn(num_channels_skip[i]))
                skip_.add(act())
            deeper.add(
                conv(
                    input_depth, num_channels_down[i], filter_size_down, 2, bias=need_bias, pad=pad
                )
            )
            deeper.add(bn(num_channels_down[i]))
            deeper.add(act())
            deeper.add(
                conv(
                    num_channels_down[i],
                    num_channels_down[i],
                    filter_size_down,
                    bias=need_bias,
                    pad=pad,
                )
            )
            deeper.add(bn(num_channels_down[i]))
            deeper.add(act())
            deeper_main = nn.Sequential()
            if i == len(num_channels_down) - 1:
                # The deepest
                k = num_channels_down[i]
            else:
                deeper.add(deeper_main)
                k = num_channels_up[i + 1]
            deeper.add(nn.Upsample(scale_factor=2, mode=upsample_mode))
            model_tmp.add(
                conv(
                    num_channels_skip[i] + k,
                    num_channels_up[i],
                    filter_size_up,
                    1,
                    bias=need_bias,
                    pad=pad,
                )
            )
            model_tmp.add(bn(num_channels_up[i]))
            model_tmp.add(act())
            model_tmp.add(conv(num_channels_up[i], num_channels_up[i], 1, bias=need_bias, pad=pad))
            model_tmp.add(bn(num_channels_up[i]))
            model_tmp.add(act())
            input_depth = num_channels_down[i]
            model_tmp = deeper_main
        model.add(conv(num_channels_up[0], num_output_channels, 1, bias=need_bias, pad=pad))
        if need_sigmoid:
            model.add(nn.Sigmoid())
        return model

    try:
        return skip(INPUT_DEPTH, 1)
    finally:
        del nn.Module.add  # the patch is undone so that it does not leak into other tests


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    img_np = (0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy))[None]
    img_noisy_np = np.clip(img_np + rng.normal(scale=0.1, size=img_np.shape), 0, 1)

    def np_to_torch(img: np.ndarray) -> Any:
        return torch.from_numpy(img)[None, :]

    def torch_to_np(img_var: Any) -> np.ndarray:
        return img_var.detach().cpu().numpy()[0]

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))

    def fill_noise(x: Any, noise_type: str) -> None:
        if noise_type == "u":
            x.uniform_()
        elif noise_type == "n":
            x.normal_()
        else:
            raise AssertionError

    def get_noise(input_depth: int, spatial_size: tuple, var: float = 1.0 / 10) -> Any:
        shape = [1, input_depth, spatial_size[0], spatial_size[1]]
        net_input = torch.zeros(shape)
        fill_noise(net_input, "u")
        net_input *= var
        return net_input

    torch.manual_seed(1)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    net_input = get_noise(INPUT_DEPTH, (SIZE, SIZE)).detach()
    mse = torch.nn.MSELoss()
    img_noisy_torch = np_to_torch(img_noisy_np)
    net_input_saved = net_input.detach().clone()
    noise = net_input.detach().clone()
    out_avg = None
    last_net = None
    psrn_noisy_last = 0.0
    reg_noise_std, exp_weight = 1.0 / 30.0, 0.99
    values: list[float] = []
    state = {"i": 0}

    def closure() -> Any:
        nonlocal net_input, out_avg, last_net, psrn_noisy_last
        if reg_noise_std > 0:
            net_input = net_input_saved + (noise.normal_() * reg_noise_std)
        out = net(net_input)
        # Smoothing
        if out_avg is None:
            out_avg = out.detach()
        else:
            out_avg = out_avg * exp_weight + out.detach() * (1 - exp_weight)
        total_loss = mse(out, img_noisy_torch)
        total_loss.backward()
        psrn_noisy = psnr(img_noisy_np, torch_to_np(out))
        psrn_gt = psnr(img_np, torch_to_np(out))
        psrn_gt_sm = psnr(img_np, torch_to_np(out_avg))
        values.extend([total_loss.item(), psrn_noisy, psrn_gt, psrn_gt_sm])
        # Backtracking
        if state["i"] % 2 == 0:
            if psrn_noisy - psrn_noisy_last < -0.05 and last_net is not None:
                values.append(-1.0)
                for new_param, net_param in zip(last_net, net.parameters()):
                    net_param.data.copy_(new_param)
                return total_loss * 0
            last_net = [x.detach().cpu() for x in net.parameters()]
            psrn_noisy_last = psrn_noisy
        state["i"] += 1
        return total_loss

    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    previous = None
    for _j in range(NUM_ITER):
        optimizer.zero_grad()
        closure()
        optimizer.step()
        current = torch_to_np(out_avg)
        if previous is not None and np.abs(current - previous).mean() < 1e-5:
            break  # early stopping: the running average has settled
        previous = current
    net.eval()
    with torch.no_grad():
        values.append(net(net_input_saved).mean().item())
    return values
