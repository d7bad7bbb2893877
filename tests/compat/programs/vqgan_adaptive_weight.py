"""Esser et al. 2021 "Taming Transformers for High-Resolution Image Synthesis" as
CompVis/taming-transformers writes its first stage, size-reduced: ``VectorQuantizer``
(``z.permute(0, 2, 3, 1).contiguous()``, the expanded distances ``sum(z ** 2) + sum(e ** 2) - 2
* torch.matmul(z, e.t())``, ``torch.argmin(d, dim=1).unsqueeze(1)``, one-hot ``min_encodings``
by ``scatter_(1, idx, 1)`` on ``torch.zeros(...).to(z)``, ``loss = torch.mean((z_q.detach() -
z) ** 2) + beta * torch.mean((z_q - z.detach()) ** 2)``, the straight-through ``z + (z_q -
z).detach()``, perplexity from ``e_mean``) with codebook usage counted by ``torch.bincount(...,
minlength=n_e)``; ``NLayerDiscriminator`` (pix2pix's PatchGAN: ``Conv2d(k=4, s=2, p=1)`` +
``LeakyReLU(0.2, True)``, ``BatchNorm2d`` after the inner convs, ``weights_init`` with
``nn.init.normal_(m.weight.data, 0.0, 0.02)``, the ``BatchNorm`` weights ``normal_(1.0, 0.02)``
and ``nn.init.constant_(m.bias.data, 0)`` picked by ``classname.find(...)``); and
``VQLPIPSWithDiscriminator`` without its LPIPS term: ``hinge_d_loss`` (``F.relu(1. -
logits_real)``, ``F.relu(1. + logits_fake)``), ``adopt_weight(weight, global_step, threshold)``,
``calculate_adaptive_weight`` (``torch.autograd.grad(nll_loss, last_layer,
retain_graph=True)[0]`` and the same for ``g_loss``, ``torch.norm(nll_grads) /
(torch.norm(g_grads) + 1e-4)``, ``torch.clamp(d_weight, 0.0, 1e4).detach()``) on the decoder's
``conv_out.weight``; ``VQModel``'s two optimizers (``Adam(list(encoder.parameters()) + ... ,
betas=(0.5, 0.9))`` for the autoencoder and one for the discriminator) stepped alternately as
Lightning's ``training_step(batch, batch_idx, optimizer_idx)`` does, each with its own forward
pass.

Changed: images are 2x3x16x16 NumPy draws; the encoder and decoder are two convolutions each
(``F.interpolate`` nearest upsampling in the decoder); 8 codes of dimension 4;
``disc_start = 2`` so the GAN terms switch on mid-run; 4 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_E, E_DIM, BETA, CH, NDF, BATCH, SIZE, STEPS, DISC_START = 8, 4, 0.25, 8, 8, 2, 16, 4, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class VectorQuantizer(nn.Module):
        def __init__(self, n_e: int, e_dim: int, beta: float) -> None:
            super().__init__()
            self.n_e = n_e
            self.e_dim = e_dim
            self.beta = beta
            self.embedding = nn.Embedding(self.n_e, self.e_dim)
            self.embedding.weight.data.uniform_(-1.0 / self.n_e, 1.0 / self.n_e)

        def forward(self, z: Any) -> tuple[Any, Any, tuple[Any, Any, Any]]:
            z = z.permute(0, 2, 3, 1).contiguous()
            z_flattened = z.view(-1, self.e_dim)
            d = (
                torch.sum(z_flattened**2, dim=1, keepdim=True)
                + torch.sum(self.embedding.weight**2, dim=1)
                - 2 * torch.matmul(z_flattened, self.embedding.weight.t())
            )
            min_encoding_indices = torch.argmin(d, dim=1).unsqueeze(1)
            min_encodings = torch.zeros(min_encoding_indices.shape[0], self.n_e).to(z)
            min_encodings.scatter_(1, min_encoding_indices, 1)
            z_q = torch.matmul(min_encodings, self.embedding.weight).view(z.shape)
            loss = torch.mean((z_q.detach() - z) ** 2) + self.beta * torch.mean(
                (z_q - z.detach()) ** 2
            )
            z_q = z + (z_q - z).detach()
            e_mean = torch.mean(min_encodings, dim=0)
            perplexity = torch.exp(-torch.sum(e_mean * torch.log(e_mean + 1e-10)))
            z_q = z_q.permute(0, 3, 1, 2).contiguous()
            return z_q, loss, (perplexity, min_encodings, min_encoding_indices)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv_in = nn.Conv2d(3, CH, 3, stride=2, padding=1)
            self.conv_out = nn.Conv2d(CH, CH, 3, padding=1)

        def forward(self, x: Any) -> Any:
            return self.conv_out(F.silu(self.conv_in(x)))

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv_in = nn.Conv2d(E_DIM, CH, 3, padding=1)
            self.conv_out = nn.Conv2d(CH, 3, 3, padding=1)

        def forward(self, z: Any) -> Any:
            h = F.silu(self.conv_in(z))
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            return self.conv_out(h)

    class NLayerDiscriminator(nn.Module):
        def __init__(self, input_nc: int = 3, ndf: int = NDF, n_layers: int = 2) -> None:
            super().__init__()
            norm_layer = nn.BatchNorm2d
            use_bias = False
            kw, padw = 4, 1
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
            self.main = nn.Sequential(*sequence)

        def forward(self, input: Any) -> Any:
            return self.main(input)

    def weights_init(m: Any) -> None:
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class VQModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()
            self.quantize = VectorQuantizer(N_E, E_DIM, beta=BETA)
            self.quant_conv = torch.nn.Conv2d(CH, E_DIM, 1)
            self.post_quant_conv = torch.nn.Conv2d(E_DIM, E_DIM, 1)
            self.discriminator = NLayerDiscriminator().apply(weights_init)

        def encode(self, x: Any) -> tuple[Any, Any, Any]:
            h = self.quant_conv(self.encoder(x))
            return self.quantize(h)

        def decode(self, quant: Any) -> Any:
            return self.decoder(self.post_quant_conv(quant))

        def forward(self, input: Any) -> tuple[Any, Any, Any]:
            quant, diff, info = self.encode(input)
            return self.decode(quant), diff, info

        def get_last_layer(self) -> Any:
            return self.decoder.conv_out.weight

    return VQModel()


def adopt_weight(weight: float, global_step: int, threshold: int = 0, value: float = 0.0) -> float:
    if global_step < threshold:
        weight = value
    return weight


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    images = as_tensor(torch, np.tanh(rng.standard_normal((8, 3, SIZE, SIZE))))

    def hinge_d_loss(logits_real: Any, logits_fake: Any) -> Any:
        loss_real = torch.mean(F.relu(1.0 - logits_real))
        loss_fake = torch.mean(F.relu(1.0 + logits_fake))
        return 0.5 * (loss_real + loss_fake)

    discriminator_weight, disc_factor, codebook_weight = 0.8, 1.0, 1.0

    def calculate_adaptive_weight(nll_loss: Any, g_loss: Any, last_layer: Any) -> Any:
        nll_grads = torch.autograd.grad(nll_loss, last_layer, retain_graph=True)[0]
        g_grads = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
        d_weight = torch.norm(nll_grads) / (torch.norm(g_grads) + 1e-4)
        d_weight = torch.clamp(d_weight, 0.0, 1e4).detach()
        return d_weight * discriminator_weight

    def loss_fn(
        codebook_loss: Any,
        inputs: Any,
        reconstructions: Any,
        optimizer_idx: int,
        global_step: int,
        last_layer: Any,
    ) -> tuple[Any, dict[str, float]]:
        rec_loss = torch.abs(inputs.contiguous() - reconstructions.contiguous())
        nll_loss = torch.mean(rec_loss)
        disc = model.discriminator
        if optimizer_idx == 0:
            logits_fake = disc(reconstructions.contiguous())
            g_loss = -torch.mean(logits_fake)
            d_weight = calculate_adaptive_weight(nll_loss, g_loss, last_layer=last_layer)
            factor = adopt_weight(disc_factor, global_step, threshold=DISC_START)
            loss = nll_loss + d_weight * factor * g_loss + codebook_weight * codebook_loss.mean()
            log = {"nll": nll_loss.item(), "g": g_loss.item(), "d_weight": d_weight.item()}
            return loss, log
        logits_real = disc(inputs.contiguous().detach())
        logits_fake = disc(reconstructions.contiguous().detach())
        factor = adopt_weight(disc_factor, global_step, threshold=DISC_START)
        d_loss = factor * hinge_d_loss(logits_real, logits_fake)
        log = {"real": logits_real.detach().mean().item(), "fake": logits_fake.mean().item()}
        return d_loss, log

    lr = 2e-3
    ae_params = (
        list(model.encoder.parameters())
        + list(model.decoder.parameters())
        + list(model.quantize.parameters())
        + list(model.quant_conv.parameters())
        + list(model.post_quant_conv.parameters())
    )
    opt_ae = torch.optim.Adam(ae_params, lr=lr, betas=(0.5, 0.9))
    opt_disc = torch.optim.Adam(model.discriminator.parameters(), lr=lr, betas=(0.5, 0.9))

    values: list[float] = []
    model.train()
    for global_step in range(STEPS):
        x = images[torch.from_numpy(rng.integers(0, 8, BATCH))]
        for optimizer_idx, opt in ((0, opt_ae), (1, opt_disc)):
            xrec, qloss, (perplexity, _, indices) = model(x)
            loss, log = loss_fn(qloss, x, xrec, optimizer_idx, global_step, model.get_last_layer())
            opt.zero_grad()
            loss.backward()
            opt.step()
            values += [loss.item(), *log.values()]
            if optimizer_idx == 0:
                usage = torch.bincount(indices.flatten(), minlength=N_E)
                values += [perplexity.item(), qloss.item()] + usage.tolist()
    bn = model.discriminator.main[3]
    values += [bn.running_mean.sum().item(), bn.running_var.sum().item()]
    values.append(float(bn.num_batches_tracked.item()))
    values.append(model.quantize.embedding.weight.abs().sum().item())
    return values
