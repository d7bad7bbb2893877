"""CycleGAN as junyanz/pytorch-CycleGAN-and-pix2pix (``models/networks.py``,
``models/cycle_gan_model.py``, ``util/image_pool.py``, ``models/base_model.py``) writes it,
size-reduced.

The idioms: ``get_norm_layer`` with ``functools.partial(nn.InstanceNorm2d, affine=False,
track_running_stats=False)``; the ``ResnetGenerator`` (``nn.ReflectionPad2d(3)``,
``nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias)``, stride-2 downsampling,
``ResnetBlock``s, ``nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3,
stride=2, padding=1, output_padding=1, bias=use_bias)``, ``nn.Tanh()``); ``ResnetBlock``'s
``build_conv_block`` (``nn.ReflectionPad2d(1)`` / ``nn.ReplicationPad2d(1)`` / ``p = 1``,
``out = x + self.conv_block(x)``); the PatchGAN ``NLayerDiscriminator``; ``init_weights`` via
``net.apply(init_func)`` with ``classname.find('Conv') != -1``; ``GANLoss`` with
``register_buffer('real_label', torch.tensor(1.0))``, ``.expand_as(prediction)`` and
``nn.MSELoss()`` (lsgan); ``ImagePool.query`` (``torch.unsqueeze(image.data, 0)``,
``random.uniform(0, 1)``, ``random.randint(0, self.pool_size - 1)``, ``.clone()``,
``torch.cat(return_images, 0)``) with a seeded ``random``; ``set_requires_grad([netD_A,
netD_B], False)``; ``torch.optim.Adam(itertools.chain(netG_A.parameters(),
netG_B.parameters()), lr=opt.lr, betas=(opt.beta1, 0.999))``; ``lr_scheduler.LambdaLR`` with
the linear-decay ``lambda_rule``; ``optimize_parameters``'s order (forward, G step with the
discriminators frozen, then D step on pooled fakes, ``fake.detach()``), the ``L1Loss`` cycle
(``lambda_A``, ``lambda_B``) and identity (``lambda_identity``) losses; ``print_networks``'s
``num_params += param.numel()``; ``update_learning_rate``.

Changed: 256 x 256 images, ``ngf = ndf = 64``, 9 blocks -> 12 x 12, 4 and 2 blocks; a pool of 2
images.
"""

from __future__ import annotations

import functools
import itertools
import random
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NGF, NDF, IMG, N_BLOCKS, BATCH, EPOCHS, POOL = 4, 4, 12, 2, 2, 3, 2
N_EPOCHS, N_EPOCHS_DECAY, EPOCH_COUNT = 2, 2, 1
LAMBDA_A, LAMBDA_B, LAMBDA_IDT = 10.0, 10.0, 0.5


def get_norm_layer(torch_like: Any, norm_type: str = "instance") -> Any:
    nn = torch_like.nn
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise NotImplementedError(f"normalization layer [{norm_type}] is not found")


def _classes(torch_like: Any) -> tuple[type, type]:
    nn = torch_like.nn

    class ResnetBlock(nn.Module):
        def __init__(
            self, dim: int, padding_type: str, norm_layer: Any, use_dropout: bool, use_bias: bool
        ) -> None:
            super().__init__()
            self.conv_block = self.build_conv_block(
                dim, padding_type, norm_layer, use_dropout, use_bias
            )

        def build_conv_block(
            self, dim: int, padding_type: str, norm_layer: Any, use_dropout: bool, use_bias: bool
        ) -> Any:
            conv_block = []
            p = 0
            if padding_type == "reflect":
                conv_block += [nn.ReflectionPad2d(1)]
            elif padding_type == "replicate":
                conv_block += [nn.ReplicationPad2d(1)]
            elif padding_type == "zero":
                p = 1
            else:
                raise NotImplementedError(f"padding [{padding_type}] is not implemented")
            conv_block += [
                nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias),
                norm_layer(dim),
                nn.ReLU(True),
            ]
            if use_dropout:
                conv_block += [nn.Dropout(0.5)]
            p = 0
            if padding_type == "reflect":
                conv_block += [nn.ReflectionPad2d(1)]
            elif padding_type == "replicate":
                conv_block += [nn.ReplicationPad2d(1)]
            elif padding_type == "zero":
                p = 1
            else:
                raise NotImplementedError(f"padding [{padding_type}] is not implemented")
            conv_block += [
                nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias),
                norm_layer(dim),
            ]
            return nn.Sequential(*conv_block)

        def forward(self, x: Any) -> Any:
            out = x + self.conv_block(x)  # add skip connections
            return out

    class ResnetGenerator(nn.Module):
        def __init__(
            self,
            input_nc: int,
            output_nc: int,
            ngf: int = 64,
            norm_layer: Any = nn.BatchNorm2d,
            use_dropout: bool = False,
            n_blocks: int = 6,
            padding_type: str = "reflect",
        ) -> None:
            assert n_blocks >= 0
            super().__init__()
            if type(norm_layer) == functools.partial:  # noqa: E721 (as in the repository)
                use_bias = norm_layer.func == nn.InstanceNorm2d
            else:
                use_bias = norm_layer == nn.InstanceNorm2d
            model = [
                nn.ReflectionPad2d(3),
                nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                norm_layer(ngf),
                nn.ReLU(True),
            ]
            n_downsampling = 2
            for i in range(n_downsampling):  # add downsampling layers
                mult = 2**i
                model += [
                    nn.Conv2d(
                        ngf * mult,
                        ngf * mult * 2,
                        kernel_size=3,
                        stride=2,
                        padding=1,
                        bias=use_bias,
                    ),
                    norm_layer(ngf * mult * 2),
                    nn.ReLU(True),
                ]
            mult = 2**n_downsampling
            for i in range(n_blocks):  # add ResNet blocks
                model += [
                    ResnetBlock(
                        ngf * mult,
                        padding_type="reflect" if i % 2 == 0 else "replicate",
                        norm_layer=norm_layer,
                        use_dropout=use_dropout,
                        use_bias=use_bias,
                    )
                ]
            for i in range(n_downsampling):  # add upsampling layers
                mult = 2 ** (n_downsampling - i)
                model += [
                    nn.ConvTranspose2d(
                        ngf * mult,
                        int(ngf * mult / 2),
                        kernel_size=3,
                        stride=2,
                        padding=1,
                        output_padding=1,
                        bias=use_bias,
                    ),
                    norm_layer(int(ngf * mult / 2)),
                    nn.ReLU(True),
                ]
            model += [nn.ReflectionPad2d(3)]
            model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
            model += [nn.Tanh()]
            self.model = nn.Sequential(*model)

        def forward(self, input: Any) -> Any:  # noqa: A002 - the repository's name
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
            for n in range(1, n_layers):
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
            sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
            self.model = nn.Sequential(*sequence)

        def forward(self, input: Any) -> Any:  # noqa: A002 - the repository's name
            return self.model(input)

    return ResnetGenerator, NLayerDiscriminator


def init_weights(torch_like: Any, net: Any, init_gain: float = 0.02) -> None:
    init = torch_like.nn.init

    def init_func(m: Any) -> None:
        classname = m.__class__.__name__
        if hasattr(m, "weight") and (
            classname.find("Conv") != -1 or classname.find("Linear") != -1
        ):
            init.normal_(m.weight.data, 0.0, init_gain)
            if hasattr(m, "bias") and m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif classname.find("BatchNorm2d") != -1:
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    ResnetGenerator, NLayerDiscriminator = _classes(torch_like)
    norm_layer = get_norm_layer(torch_like, "instance")

    class CycleGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.netG_A = ResnetGenerator(3, 3, NGF, norm_layer, False, N_BLOCKS)
            self.netG_B = ResnetGenerator(3, 3, NGF, norm_layer, False, N_BLOCKS)
            self.netD_A = NLayerDiscriminator(3, NDF, n_layers=2, norm_layer=norm_layer)
            self.netD_B = NLayerDiscriminator(3, NDF, n_layers=2, norm_layer=norm_layer)

    model = CycleGAN()
    for net in (model.netG_A, model.netG_B, model.netD_A, model.netD_B):
        init_weights(torch_like, net, 0.02)
    return model


def _helpers(torch_like: Any) -> tuple[type, type]:
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
            else:
                raise NotImplementedError(f"gan mode {gan_mode} not implemented")

        def get_target_tensor(self, prediction: Any, target_is_real: bool) -> Any:
            target_tensor = self.real_label if target_is_real else self.fake_label
            return target_tensor.expand_as(prediction)

        def __call__(self, prediction: Any, target_is_real: bool) -> Any:
            target_tensor = self.get_target_tensor(prediction, target_is_real)
            return self.loss(prediction, target_tensor)

    class ImagePool:
        def __init__(self, pool_size: int) -> None:
            self.pool_size = pool_size
            if self.pool_size > 0:  # create an empty pool
                self.num_imgs = 0
                self.images: list = []

        def query(self, images: Any) -> Any:
            if self.pool_size == 0:  # if the buffer size is 0, do nothing
                return images
            return_images = []
            for image in images:
                image = torch.unsqueeze(image.data, 0)
                if self.num_imgs < self.pool_size:  # the buffer is not full; keep inserting
                    self.num_imgs = self.num_imgs + 1
                    self.images.append(image)
                    return_images.append(image)
                else:
                    p = random.uniform(0, 1)
                    if p > 0.5:  # return a stored image, insert the current one
                        random_id = random.randint(0, self.pool_size - 1)  # inclusive
                        tmp = self.images[random_id].clone()
                        self.images[random_id] = image
                        return_images.append(tmp)
                    else:  # return the current image
                        return_images.append(image)
            return_images = torch.cat(return_images, 0)  # collect all the images
            return return_images

    return GANLoss, ImagePool


def set_requires_grad(nets: Any, requires_grad: bool = False) -> None:
    if not isinstance(nets, list):
        nets = [nets]
    for net in nets:
        if net is not None:
            for param in net.parameters():
                param.requires_grad = requires_grad


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    lr_scheduler = torch.optim.lr_scheduler
    random.seed(0)
    rng = np.random.default_rng(7)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    netG_A, netG_B, netD_A, netD_B = model.netG_A, model.netG_B, model.netD_A, model.netD_B
    GANLoss, ImagePool = _helpers(torch)

    values: list[float] = []
    for net in (netG_A, netD_A):  # print_networks
        num_params = 0
        for param in net.parameters():
            num_params += param.numel()
        values += [num_params]

    fake_A_pool, fake_B_pool = ImagePool(POOL), ImagePool(POOL)
    criterionGAN = GANLoss("lsgan")
    criterionCycle = nn.L1Loss()
    criterionIdt = nn.L1Loss()
    optimizer_G = torch.optim.Adam(
        itertools.chain(netG_A.parameters(), netG_B.parameters()), lr=0.0002, betas=(0.5, 0.999)
    )
    optimizer_D = torch.optim.Adam(
        itertools.chain(netD_A.parameters(), netD_B.parameters()), lr=0.0002, betas=(0.5, 0.999)
    )
    optimizers = [optimizer_G, optimizer_D]

    def lambda_rule(epoch: int) -> float:
        lr_l = 1.0 - max(0, epoch + EPOCH_COUNT - N_EPOCHS) / float(N_EPOCHS_DECAY + 1)
        return lr_l

    schedulers = [lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule) for o in optimizers]

    def backward_D_basic(netD: Any, real: Any, fake: Any) -> Any:
        pred_real = netD(real)
        loss_D_real = criterionGAN(pred_real, True)
        pred_fake = netD(fake.detach())
        loss_D_fake = criterionGAN(pred_fake, False)
        loss_D = (loss_D_real + loss_D_fake) * 0.5
        loss_D.backward()
        return loss_D

    for _epoch in range(EPOCHS):
        real_A = as_tensor(torch, rng.uniform(-1, 1, (BATCH, 3, IMG, IMG)))
        real_B = as_tensor(torch, rng.uniform(-1, 1, (BATCH, 3, IMG, IMG)))
        # forward
        fake_B = netG_A(real_A)  # G_A(A)
        rec_A = netG_B(fake_B)  # G_B(G_A(A))
        fake_A = netG_B(real_B)  # G_B(B)
        rec_B = netG_A(fake_A)  # G_A(G_B(B))
        # G_A and G_B
        set_requires_grad([netD_A, netD_B], False)
        optimizer_G.zero_grad()
        idt_A = netG_A(real_B)
        loss_idt_A = criterionIdt(idt_A, real_B) * LAMBDA_B * LAMBDA_IDT
        idt_B = netG_B(real_A)
        loss_idt_B = criterionIdt(idt_B, real_A) * LAMBDA_A * LAMBDA_IDT
        loss_G_A = criterionGAN(netD_A(fake_B), True)
        loss_G_B = criterionGAN(netD_B(fake_A), True)
        loss_cycle_A = criterionCycle(rec_A, real_A) * LAMBDA_A
        loss_cycle_B = criterionCycle(rec_B, real_B) * LAMBDA_B
        loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
        loss_G.backward()
        optimizer_G.step()
        d_grads = [p.grad for p in netD_A.parameters()]
        # D_A and D_B
        set_requires_grad([netD_A, netD_B], True)
        optimizer_D.zero_grad()
        loss_D_A = backward_D_basic(netD_A, real_B, fake_B_pool.query(fake_B))
        loss_D_B = backward_D_basic(netD_B, real_A, fake_A_pool.query(fake_A))
        optimizer_D.step()
        # update_learning_rate
        old_lr = optimizers[0].param_groups[0]["lr"]
        for scheduler in schedulers:
            scheduler.step()
        lr = optimizers[0].param_groups[0]["lr"]
        values += [t.item() for t in (loss_G_A, loss_G_B, loss_cycle_A, loss_cycle_B)]
        values += [t.item() for t in (loss_idt_A, loss_idt_B, loss_D_A, loss_D_B)]
        values += [old_lr, lr, float(all(g is None for g in d_grads))]
        values += [float(fake_B.shape == real_A.shape), fake_B.abs().max().item()]
    values += [len(fake_B_pool.images), fake_B_pool.images[0].sum().item()]
    values += [float(criterionGAN.real_label.item()), len(list(criterionGAN.buffers()))]
    values += netG_A.model[1].weight.flatten()[:5].tolist()
    return values
