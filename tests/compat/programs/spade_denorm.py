"""NVlabs/SPADE (``models/networks/normalization.py``, ``architecture.py``, ``generator.py``,
``discriminator.py``, ``loss.py`` and ``pix2pix_model.py``), size-reduced: ``SPADE`` parses its
config with ``re.search('spade(\\D+)(\\d)x\\d', config_text)`` and normalises with a param-free
``nn.BatchNorm2d(norm_nc, affine=False)`` (or ``InstanceNorm2d(affine=False)``), resizes the
segmentation map with ``F.interpolate(segmap, size=x.size()[2:], mode='nearest')`` and applies
``normalized * (1 + gamma) + beta`` from the ``mlp_gamma``/``mlp_beta`` convs;
``SPADEResnetBlock`` (``learned_shortcut``, ``spectral_norm`` convs when ``'spectral' in
opt.norm_G``, ``F.leaky_relu(x, 2e-1)``); ``SPADEGenerator`` (``F.interpolate(seg, size=(sh,
sw))`` into ``self.fc``, ``nn.Upsample(scale_factor=2)``, ``F.tanh``); the label map turned
one-hot with ``FloatTensor(bs, nc, h, w).zero_()`` and ``scatter_(1, label_map, 1.0)``; a
``NLayerDiscriminator`` returning intermediate features; ``GANLoss`` in hinge mode
(``torch.min(input - 1, self.get_zero_tensor(input))``, ``zero_tensor.expand_as(input)``,
``requires_grad_(False)``) and the discriminator feature-matching loss (``nn.L1Loss`` on
``.detach()``-ed real features); Adam with ``betas=(0.0, 0.9)`` and TTUR learning rates.

Changed: ngf 64 -> 4, nhidden 128 -> 8, 256x256 -> 16x16 (``sh = sw = 4``), three semantic
classes, one discriminator scale, and every random draw from a seeded NumPy generator.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ._common import load_numpy_state

LABEL_NC, NGF, NDF = 3, 4, 4


def _models(torch_like: Any) -> tuple[type, type]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    spectral_norm = torch.nn.utils.spectral_norm

    class SPADE(nn.Module):
        def __init__(self, config_text: str, norm_nc: int, label_nc: int) -> None:
            super().__init__()

            assert config_text.startswith("spade")
            parsed = re.search(r"spade(\D+)(\d)x\d", config_text)
            param_free_norm_type = str(parsed.group(1))
            ks = int(parsed.group(2))

            if param_free_norm_type == "instance":
                self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
            elif param_free_norm_type == "batch":
                self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
            else:
                raise ValueError(
                    "%s is not a recognized param-free norm type in SPADE"  # noqa: UP031
                    % param_free_norm_type
                )

            # The dimension of the intermediate embedding space. Yes, hardcoded.
            nhidden = 8

            pw = ks // 2
            self.mlp_shared = nn.Sequential(
                nn.Conv2d(label_nc, nhidden, kernel_size=ks, padding=pw), nn.ReLU()
            )
            self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, kernel_size=ks, padding=pw)
            self.mlp_beta = nn.Conv2d(nhidden, norm_nc, kernel_size=ks, padding=pw)

        def forward(self, x: Any, segmap: Any) -> Any:
            # Part 1. generate parameter-free normalized activations
            normalized = self.param_free_norm(x)

            # Part 2. produce scaling and bias conditioned on semantic map
            segmap = F.interpolate(segmap, size=x.size()[2:], mode="nearest")
            actv = self.mlp_shared(segmap)
            gamma = self.mlp_gamma(actv)
            beta = self.mlp_beta(actv)

            # apply scale and bias
            out = normalized * (1 + gamma) + beta

            return out

    class SPADEResnetBlock(nn.Module):
        def __init__(self, fin: int, fout: int, norm_G: str, semantic_nc: int) -> None:
            super().__init__()
            # Attributes
            self.learned_shortcut = fin != fout
            fmiddle = min(fin, fout)

            # create conv layers
            self.conv_0 = nn.Conv2d(fin, fmiddle, kernel_size=3, padding=1)
            self.conv_1 = nn.Conv2d(fmiddle, fout, kernel_size=3, padding=1)
            if self.learned_shortcut:
                self.conv_s = nn.Conv2d(fin, fout, kernel_size=1, bias=False)

            # apply spectral norm if specified
            if "spectral" in norm_G:
                self.conv_0 = spectral_norm(self.conv_0)
                self.conv_1 = spectral_norm(self.conv_1)
                if self.learned_shortcut:
                    self.conv_s = spectral_norm(self.conv_s)

            # define normalization layers
            spade_config_str = norm_G.replace("spectral", "")
            self.norm_0 = SPADE(spade_config_str, fin, semantic_nc)
            self.norm_1 = SPADE(spade_config_str, fmiddle, semantic_nc)
            if self.learned_shortcut:
                self.norm_s = SPADE(spade_config_str, fin, semantic_nc)

        # note the resnet block with SPADE also takes in |seg|,
        # the semantic segmentation map as input
        def forward(self, x: Any, seg: Any) -> Any:
            x_s = self.shortcut(x, seg)

            dx = self.conv_0(self.actvn(self.norm_0(x, seg)))
            dx = self.conv_1(self.actvn(self.norm_1(dx, seg)))

            out = x_s + dx

            return out

        def shortcut(self, x: Any, seg: Any) -> Any:
            if self.learned_shortcut:
                x_s = self.conv_s(self.norm_s(x, seg))
            else:
                x_s = x
            return x_s

        def actvn(self, x: Any) -> Any:
            return F.leaky_relu(x, 2e-1)

    class SPADEGenerator(nn.Module):
        def __init__(self, norm_G: str = "spectralspadebatch3x3") -> None:
            super().__init__()
            nf = NGF
            self.sw, self.sh = 4, 4
            self.fc = nn.Conv2d(LABEL_NC, 4 * nf, 3, padding=1)
            self.head_0 = SPADEResnetBlock(4 * nf, 4 * nf, norm_G, LABEL_NC)
            self.up_0 = SPADEResnetBlock(4 * nf, 2 * nf, norm_G, LABEL_NC)
            self.up_1 = SPADEResnetBlock(2 * nf, 1 * nf, norm_G, LABEL_NC)
            self.conv_img = nn.Conv2d(nf, 3, 3, padding=1)
            self.up = nn.Upsample(scale_factor=2)

        def forward(self, input: Any, z: Any = None) -> Any:
            seg = input
            # we downsample segmap and run convolution
            x = F.interpolate(seg, size=(self.sh, self.sw))
            x = self.fc(x)
            x = self.head_0(x, seg)
            x = self.up(x)
            x = self.up_0(x, seg)
            x = self.up(x)
            x = self.up_1(x, seg)
            x = self.conv_img(F.leaky_relu(x, 2e-1))
            x = F.tanh(x)
            return x

    class NLayerDiscriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            kw, padw, nf = 4, 2, NDF
            input_nc = LABEL_NC + 3
            sequence = [[nn.Conv2d(input_nc, nf, kernel_size=kw, stride=2, padding=padw),
                         nn.LeakyReLU(0.2, False)]]  # fmt: skip
            sequence += [[spectral_norm(nn.Conv2d(nf, 2 * nf, kernel_size=kw, stride=2,
                                                  padding=padw)),
                          nn.InstanceNorm2d(2 * nf, affine=False),
                          nn.LeakyReLU(0.2, False)]]  # fmt: skip
            sequence += [[nn.Conv2d(2 * nf, 1, kernel_size=kw, stride=1, padding=padw)]]
            # We divide the layers into groups to extract intermediate layer outputs
            for n in range(len(sequence)):
                self.add_module("model" + str(n), nn.Sequential(*sequence[n]))

        def forward(self, input: Any) -> list[Any]:
            results = [input]
            for submodel in self.children():
                intermediate_output = submodel(results[-1])
                results.append(intermediate_output)
            return results[1:]

    return SPADEGenerator, NLayerDiscriminator


def make_model(torch_like: Any) -> Any:
    G, D = _models(torch_like)
    return torch_like.nn.ModuleDict({"netG": G(), "netD": D()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    netG, netD = model["netG"], model["netD"]
    FloatTensor = torch.FloatTensor if torch.get_default_dtype() == torch.float32 else None

    class GANLoss(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.zero_tensor = None

        def get_zero_tensor(self, input: Any) -> Any:
            if self.zero_tensor is None:
                self.zero_tensor = torch.Tensor(1).fill_(0)
                self.zero_tensor.requires_grad_(False)
            return self.zero_tensor.expand_as(input)

        def loss(self, input: Any, target_is_real: bool, for_discriminator: bool = True) -> Any:
            if for_discriminator:
                if target_is_real:
                    minval = torch.min(input - 1, self.get_zero_tensor(input))
                    loss = -torch.mean(minval)
                else:
                    minval = torch.min(-input - 1, self.get_zero_tensor(input))
                    loss = -torch.mean(minval)
            else:
                assert target_is_real, "The generator's hinge loss must be aiming for real"
                loss = -torch.mean(input)
            return loss

        def __call__(self, input: Any, target_is_real: bool, for_discriminator: bool = True):
            # computing loss is a bit complicated because |input| may not be
            # a tensor, but list of tensors in case of multiscale discriminator
            if isinstance(input, list):
                loss = 0
                for pred_i in input:
                    if isinstance(pred_i, list):
                        pred_i = pred_i[-1]
                    loss_tensor = self.loss(pred_i, target_is_real, for_discriminator)
                    bs = 1 if len(loss_tensor.size()) == 0 else loss_tensor.size(0)
                    new_loss = torch.mean(loss_tensor.view(bs, -1), dim=1)
                    loss += new_loss
                return loss / len(input)
            return self.loss(input, target_is_real, for_discriminator)

    criterionGAN = GANLoss()
    criterionFeat = torch.nn.L1Loss()
    lambda_feat = 10.0
    optimizer_G = torch.optim.Adam(list(netG.parameters()), lr=1e-4, betas=(0.0, 0.9))
    optimizer_D = torch.optim.Adam(list(netD.parameters()), lr=4e-4, betas=(0.0, 0.9))

    def preprocess_input(label_map: Any) -> Any:
        bs, _, h, w = label_map.size()
        nc = LABEL_NC
        if FloatTensor is not None:
            input_label = FloatTensor(bs, nc, h, w).zero_()
        else:
            input_label = torch.DoubleTensor(bs, nc, h, w).zero_()
        input_semantics = input_label.scatter_(1, label_map, 1.0)
        return input_semantics

    def discriminate(input_semantics: Any, fake_image: Any, real_image: Any) -> Any:
        fake_concat = torch.cat([input_semantics, fake_image], dim=1)
        real_concat = torch.cat([input_semantics, real_image], dim=1)
        fake_and_real = torch.cat([fake_concat, real_concat], dim=0)
        discriminator_out = [netD(fake_and_real)]
        pred_fake = [[tensor[: tensor.size(0) // 2] for tensor in p] for p in discriminator_out]
        pred_real = [[tensor[tensor.size(0) // 2 :] for tensor in p] for p in discriminator_out]
        return pred_fake, pred_real

    values: list[float] = []
    for _step in range(3):
        label = torch.from_numpy(rng.integers(0, LABEL_NC, (2, 1, 16, 16)))
        real_image = torch.from_numpy(rng.random((2, 3, 16, 16)) * 2 - 1)
        input_semantics = preprocess_input(label)

        # generator update
        optimizer_G.zero_grad()
        fake_image = netG(input_semantics)
        pred_fake, pred_real = discriminate(input_semantics, fake_image, real_image)
        G_losses = {}
        G_losses["GAN"] = criterionGAN(pred_fake, True, for_discriminator=False)
        num_D = len(pred_fake)
        GAN_Feat_loss = torch.FloatTensor(1).fill_(0).to(real_image.dtype)
        for i in range(num_D):  # for each discriminator
            # last output is the final prediction, so we exclude it
            num_intermediate_outputs = len(pred_fake[i]) - 1
            for j in range(num_intermediate_outputs):  # for each layer output
                unweighted_loss = criterionFeat(pred_fake[i][j], pred_real[i][j].detach())
                GAN_Feat_loss += unweighted_loss * lambda_feat / num_D
        G_losses["GAN_Feat"] = GAN_Feat_loss
        g_loss = sum(G_losses.values()).mean()
        g_loss.backward()
        optimizer_G.step()

        # discriminator update
        optimizer_D.zero_grad()
        with torch.no_grad():
            fake_image = netG(input_semantics)
            fake_image = fake_image.detach()
            fake_image.requires_grad_()
        pred_fake, pred_real = discriminate(input_semantics, fake_image, real_image)
        D_losses = {}
        D_losses["D_Fake"] = criterionGAN(pred_fake, False, for_discriminator=True)
        D_losses["D_real"] = criterionGAN(pred_real, True, for_discriminator=True)
        d_loss = sum(D_losses.values()).mean()
        d_loss.backward()
        optimizer_D.step()
        values += [g_loss.item(), G_losses["GAN_Feat"].item(), d_loss.item()]

    netG.eval()
    with torch.no_grad():
        label = torch.from_numpy(rng.integers(0, LABEL_NC, (1, 1, 16, 16)))
        out = netG(preprocess_input(label))
    values += [out.sum().item(), netG.head_0.norm_0.param_free_norm.running_var.sum().item()]
    return values
