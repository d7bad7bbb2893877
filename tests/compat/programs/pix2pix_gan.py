"""pix2pix as junyanz/pytorch-CycleGAN-and-pix2pix (``models/networks.py``,
``models/pix2pix_model.py``, ``models/base_model.py``) writes it, size-reduced:
``get_norm_layer`` (``functools.partial(nn.BatchNorm2d, affine=True,
track_running_stats=True)`` / ``functools.partial(nn.InstanceNorm2d, affine=False,
track_running_stats=False)``), the recursive ``UnetSkipConnectionBlock`` (``use_bias =
norm_layer.func == nn.InstanceNorm2d`` when ``type(norm_layer) == functools.partial``, ``downconv
= nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)``,
``nn.LeakyReLU(0.2, True)``, ``nn.ReLU(True)``, ``nn.ConvTranspose2d(inner_nc * 2, outer_nc,
kernel_size=4, stride=2, padding=1)``, ``nn.Tanh()``, ``model = down + [submodule] + up``,
``nn.Sequential(*model)``, ``torch.cat([x, self.model(x)], 1)`` skips, ``nn.Dropout(0.5)``);
``UnetGenerator`` built innermost to outermost in a ``for i in range(num_downs - 5)`` loop;
the PatchGAN ``NLayerDiscriminator`` (``kw = 4``, ``padw = 1``, ``nf_mult = min(2 ** n, 8)``);
``init_weights`` (``net.apply(init_func)`` with ``classname = m.__class__.__name__``,
``hasattr(m, 'weight') and (classname.find('Conv') != -1 or classname.find('Linear') != -1)``,
``init.normal_(m.weight.data, 0.0, init_gain)``, ``init.xavier_normal_``, ``init.constant_(
m.bias.data, 0.0)``, the ``BatchNorm2d`` branch ``init.normal_(m.weight.data, 1.0, init_gain)``);
``GANLoss`` (``self.register_buffer('real_label', torch.tensor(target_real_label))``,
``target_tensor.expand_as(prediction)``, ``nn.MSELoss()`` for ``lsgan`` and
``nn.BCEWithLogitsLoss()`` for ``vanilla``); ``set_requires_grad`` (``if not isinstance(nets,
list): nets = [nets]``, ``for param in net.parameters(): param.requires_grad = requires_grad``);
``optimize_parameters`` (``self.fake_B = self.netG(self.real_A)``, ``backward_D`` on
``torch.cat((self.real_A, self.fake_B), 1).detach()`` and the real pair, ``(self.loss_D_fake +
self.loss_D_real) * 0.5``, ``backward_G`` with ``self.criterionL1(self.fake_B, self.real_B) *
self.opt.lambda_L1``), ``torch.optim.Adam(..., betas=(opt.beta1, 0.999))`` with ``beta1 =
0.5``, ``lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)`` with ``lr_l = 1.0 - max(0,
epoch + opt.epoch_count - opt.n_epochs) / float(opt.n_epochs_decay + 1)``, ``update_learning_rate``
(``old_lr = self.optimizers[0].param_groups[0]['lr']``, ``scheduler.step()``) and
``get_current_losses``.

Changed: 256 x 256 images and ``ngf = ndf = 64`` -> 32 x 32 and 4; ``num_downs`` 8 -> 5; the
generator runs with ``use_dropout=False`` (random masks cannot agree between two frameworks;
the dropout-on block is built and printed, then run in eval mode); the init gain is drawn with
``torch.manual_seed`` in ``make_model`` and copied, as the harness does for every program.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NGF, NDF, IMG, NUM_DOWNS, BATCH, EPOCHS = 4, 4, 32, 5, 2, 4
N_EPOCHS, N_EPOCHS_DECAY, EPOCH_COUNT, LAMBDA_L1 = 2, 2, 1, 100.0


def get_norm_layer(torch_like: Any, norm_type: str = "instance") -> Any:
    nn = torch_like.nn
    if norm_type == "batch":
        norm_layer = functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    elif norm_type == "instance":
        norm_layer = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    else:
        raise NotImplementedError(f"normalization layer [{norm_type}] is not found")
    return norm_layer


def _classes(torch_like: Any) -> tuple[type, type, type]:
    torch = torch_like
    nn = torch_like.nn

    class UnetSkipConnectionBlock(nn.Module):
        def __init__(
            self,
            outer_nc: int,
            inner_nc: int,
            input_nc: int | None = None,
            submodule: Any = None,
            outermost: bool = False,
            innermost: bool = False,
            norm_layer: Any = nn.BatchNorm2d,
            use_dropout: bool = False,
        ) -> None:
            super().__init__()
            self.outermost = outermost
            if type(norm_layer) == functools.partial:  # noqa: E721 (as in the repository)
                use_bias = norm_layer.func == nn.InstanceNorm2d
            else:
                use_bias = norm_layer == nn.InstanceNorm2d
            if input_nc is None:
                input_nc = outer_nc
            downconv = nn.Conv2d(
                input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias
            )
            downrelu = nn.LeakyReLU(0.2, True)
            downnorm = norm_layer(inner_nc)
            uprelu = nn.ReLU(True)
            upnorm = norm_layer(outer_nc)

            if outermost:
                upconv = nn.ConvTranspose2d(
                    inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1
                )
                down = [downconv]
                up = [uprelu, upconv, nn.Tanh()]
                model = down + [submodule] + up
            elif innermost:
                upconv = nn.ConvTranspose2d(
                    inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias
                )
                down = [downrelu, downconv]
                up = [uprelu, upconv, upnorm]
                model = down + up
            else:
                upconv = nn.ConvTranspose2d(
                    inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias
                )
                down = [downrelu, downconv, downnorm]
                up = [uprelu, upconv, upnorm]
                if use_dropout:
                    model = down + [submodule] + up + [nn.Dropout(0.5)]
                else:
                    model = down + [submodule] + up
            self.model = nn.Sequential(*model)

        def forward(self, x: Any) -> Any:
            if self.outermost:
                return self.model(x)
            else:  # add skip connections
                return torch.cat([x, self.model(x)], 1)

    class UnetGenerator(nn.Module):
        def __init__(
            self,
            input_nc: int,
            output_nc: int,
            num_downs: int,
            ngf: int = 64,
            norm_layer: Any = nn.BatchNorm2d,
            use_dropout: bool = False,
        ) -> None:
            super().__init__()
            unet_block = UnetSkipConnectionBlock(
                ngf * 8,
                ngf * 8,
                input_nc=None,
                submodule=None,
                norm_layer=norm_layer,
                innermost=True,
            )
            for _i in range(num_downs - 5):
                unet_block = UnetSkipConnectionBlock(
                    ngf * 8,
                    ngf * 8,
                    input_nc=None,
                    submodule=unet_block,
                    norm_layer=norm_layer,
                    use_dropout=use_dropout,
                )
            unet_block = UnetSkipConnectionBlock(
                ngf * 4, ngf * 8, input_nc=None, submodule=unet_block, norm_layer=norm_layer
            )
            unet_block = UnetSkipConnectionBlock(
                ngf * 2, ngf * 4, input_nc=None, submodule=unet_block, norm_layer=norm_layer
            )
            unet_block = UnetSkipConnectionBlock(
                ngf, ngf * 2, input_nc=None, submodule=unet_block, norm_layer=norm_layer
            )
            self.model = UnetSkipConnectionBlock(
                output_nc,
                ngf,
                input_nc=input_nc,
                submodule=unet_block,
                outermost=True,
                norm_layer=norm_layer,
            )

        def forward(self, input: Any) -> Any:
            return self.model(input)

    class NLayerDiscriminator(nn.Module):
        def __init__(
            self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm_layer: Any = nn.BatchNorm2d
        ) -> None:
            super().__init__()
            if type(norm_layer) == functools.partial:  # noqa: E721 (as in the repository)
                use_bias = norm_layer.func == nn.InstanceNorm2d
            else:
                use_bias = norm_layer == nn.InstanceNorm2d
            kw = 4
            padw = 1
            sequence = [
                nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw),
                nn.LeakyReLU(0.2, True),
            ]
            nf_mult = 1
            nf_mult_prev = 1
            for n in range(1, n_layers):  # gradually increase the number of filters
                nf_mult_prev = nf_mult
                nf_mult = min(2**n, 8)
                sequence += [
                    nn.Conv2d(
                        ndf * nf_mult_prev,
                        ndf * nf_mult,
                        kernel_size=kw,
                        stride=2,
                        padding=padw,
                        bias=use_bias,
                    ),
                    norm_layer(ndf * nf_mult),
                    nn.LeakyReLU(0.2, True),
                ]
            nf_mult_prev = nf_mult
            nf_mult = min(2**n_layers, 8)
            sequence += [
                nn.Conv2d(
                    ndf * nf_mult_prev,
                    ndf * nf_mult,
                    kernel_size=kw,
                    stride=1,
                    padding=padw,
                    bias=use_bias,
                ),
                norm_layer(ndf * nf_mult),
                nn.LeakyReLU(0.2, True),
            ]
            sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
            self.model = nn.Sequential(*sequence)

        def forward(self, input: Any) -> Any:
            return self.model(input)

    return UnetSkipConnectionBlock, UnetGenerator, NLayerDiscriminator


def init_weights(
    torch_like: Any, net: Any, init_type: str = "normal", init_gain: float = 0.02
) -> None:
    init = torch_like.nn.init

    def init_func(m: Any) -> None:  # define the initialization function
        classname = m.__class__.__name__
        if hasattr(m, "weight") and (
            classname.find("Conv") != -1 or classname.find("Linear") != -1
        ):
            if init_type == "normal":
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == "xavier":
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == "kaiming":
                init.kaiming_normal_(m.weight.data, a=0, mode="fan_in")
            else:
                raise NotImplementedError(f"initialization method [{init_type}] is not implemented")
            if hasattr(m, "bias") and m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif classname.find("BatchNorm2d") != -1:
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)  # apply the initialization function <init_func>


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    _, UnetGenerator, NLayerDiscriminator = _classes(torch_like)

    class Pix2Pix(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.netG = UnetGenerator(
                3,
                3,
                NUM_DOWNS,
                NGF,
                norm_layer=get_norm_layer(torch_like, "batch"),
                use_dropout=False,
            )
            self.netD = NLayerDiscriminator(
                6, NDF, n_layers=3, norm_layer=get_norm_layer(torch_like, "batch")
            )
            self.netG_instance = UnetGenerator(
                3,
                3,
                NUM_DOWNS,
                NGF,
                norm_layer=get_norm_layer(torch_like, "instance"),
                use_dropout=True,
            )
            self.netD_instance = NLayerDiscriminator(
                6, NDF, n_layers=2, norm_layer=get_norm_layer(torch_like, "instance")
            )

    model = Pix2Pix()
    init_weights(torch_like, model.netG, "normal", 0.02)
    init_weights(torch_like, model.netD, "normal", 0.02)
    init_weights(torch_like, model.netG_instance, "xavier", 0.02)
    init_weights(torch_like, model.netD_instance, "kaiming")
    return model


def _gan_loss_class(torch_like: Any) -> type:
    torch = torch_like
    nn = torch.nn

    class GANLoss(nn.Module):
        def __init__(
            self, gan_mode: str, target_real_label: float = 1.0, target_fake_label: float = 0.0
        ) -> None:
            super().__init__()
            self.register_buffer("real_label", torch.tensor(target_real_label))
            self.register_buffer("fake_label", torch.tensor(target_fake_label))
            self.gan_mode = gan_mode
            if gan_mode == "lsgan":
                self.loss = nn.MSELoss()
            elif gan_mode == "vanilla":
                self.loss = nn.BCEWithLogitsLoss()
            elif gan_mode in ["wgangp"]:
                self.loss = None
            else:
                raise NotImplementedError(f"gan mode {gan_mode} not implemented")

        def get_target_tensor(self, prediction: Any, target_is_real: bool) -> Any:
            if target_is_real:
                target_tensor = self.real_label
            else:
                target_tensor = self.fake_label
            return target_tensor.expand_as(prediction)

        def __call__(self, prediction: Any, target_is_real: bool) -> Any:
            if self.gan_mode in ["lsgan", "vanilla"]:
                target_tensor = self.get_target_tensor(prediction, target_is_real)
                loss = self.loss(prediction, target_tensor)
            elif self.gan_mode == "wgangp":
                loss = -prediction.mean() if target_is_real else prediction.mean()
            return loss

    return GANLoss


def set_requires_grad(nets: Any, requires_grad: bool = False) -> None:
    if not isinstance(nets, list):
        nets = [nets]
    for net in nets:
        if net is not None:
            for param in net.parameters():
                param.requires_grad = requires_grad


def train(
    torch_like: Any, netG: Any, netD: Any, gan_mode: str, real_A: Any, real_B: Any
) -> list[float]:
    torch = torch_like
    nn = torch.nn
    lr_scheduler = torch.optim.lr_scheduler
    criterionGAN = _gan_loss_class(torch)(gan_mode)
    criterionL1 = nn.L1Loss()
    optimizer_G = torch.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizers = [optimizer_G, optimizer_D]

    def lambda_rule(epoch: int) -> float:
        lr_l = 1.0 - max(0, epoch + EPOCH_COUNT - N_EPOCHS) / float(N_EPOCHS_DECAY + 1)
        return lr_l

    schedulers = [
        lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule) for optimizer in optimizers
    ]
    values: list[float] = [float(criterionGAN.real_label.item()), len(list(criterionGAN.buffers()))]
    netG.train()
    netD.train()
    for _epoch in range(EPOCHS):
        fake_B = netG(real_A)  # G(A)
        # update D
        set_requires_grad(netD, True)  # enable backprop for D
        optimizer_D.zero_grad()  # set D's gradients to zero
        fake_AB = torch.cat((real_A, fake_B), 1)
        pred_fake = netD(fake_AB.detach())
        loss_D_fake = criterionGAN(pred_fake, False)
        real_AB = torch.cat((real_A, real_B), 1)
        pred_real = netD(real_AB)
        loss_D_real = criterionGAN(pred_real, True)
        loss_D = (loss_D_fake + loss_D_real) * 0.5
        loss_D.backward()
        optimizer_D.step()  # update D's weights
        # update G
        set_requires_grad(netD, False)  # D requires no gradients when optimizing G
        optimizer_G.zero_grad()  # set G's gradients to zero
        fake_AB = torch.cat((real_A, fake_B), 1)
        pred_fake = netD(fake_AB)
        loss_G_GAN = criterionGAN(pred_fake, True)
        loss_G_L1 = criterionL1(fake_B, real_B) * LAMBDA_L1
        loss_G = loss_G_GAN + loss_G_L1
        loss_G.backward()
        optimizer_G.step()  # update G's weights
        d_grad_after_g = sum(
            0.0 if p.grad is None else p.grad.abs().sum().item() for p in netD.parameters()
        )
        # update_learning_rate
        old_lr = optimizers[0].param_groups[0]["lr"]
        for scheduler in schedulers:
            scheduler.step()
        lr = optimizers[0].param_groups[0]["lr"]
        losses = {
            "G_GAN": loss_G_GAN,
            "G_L1": loss_G_L1,
            "D_real": loss_D_real,
            "D_fake": loss_D_fake,
        }
        errors_ret = {name: value.item() for name, value in losses.items()}
        values += list(errors_ret.values()) + [old_lr, lr, d_grad_after_g]
        values += [float(pred_fake.shape[-1]), float(netD.model[0].weight.requires_grad)]
    set_requires_grad(netD, True)
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(17)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    real_A = as_tensor(torch, rng.uniform(-1, 1, (BATCH, 3, IMG, IMG)))
    real_B = as_tensor(torch, np.tanh(rng.standard_normal((BATCH, 3, IMG, IMG))))
    values = train(torch, model.netG, model.netD, "vanilla", real_A, real_B)
    model.netG_instance.eval()  # the dropout blocks off
    values += train(torch, model.netG_instance, model.netD_instance, "lsgan", real_A, real_B)
    with torch.no_grad():
        model.netG.eval()
        fake = model.netG(real_A)
        values += [fake.abs().max().item(), fake.mean().item()]
        values += model.netG.model.model[1].model[2].running_mean.tolist()
    return values
