"""The training loop of NVlabs' stylegan2-ada-pytorch / stylegan3 (``training/training_loop.py``,
``training/loss.py``'s ``StyleGAN2Loss``, ``training/networks.py``'s ``MappingNetwork``), with the
helpers of LMescheder's GAN_stability (``gan_training/train.py``: ``toggle_grad``,
``compute_grad2``, ``update_average``), size-reduced: two networks, two optimizers, four phases.

The idioms: the lazy-regularisation phases (``mb_ratio = reg_interval / (reg_interval + 1)``,
``opt_kwargs['lr'] * mb_ratio``, ``betas = [beta ** mb_ratio for beta in betas]``, phases
``Gmain`` / ``Greg`` / ``Dmain`` / ``Dreg`` with ``interval``); per phase
``phase.opt.zero_grad(set_to_none=True)``, ``phase.module.requires_grad_(True)`` ...
``requires_grad_(False)``; the gradient clean-up (``params = [param for param in
phase.module.parameters() if param.grad is not None]``, ``flat = torch.cat([param.grad.flatten()
for param in params])``, ``torch.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)``,
``flat.split([param.numel() for param in params])``, ``param.grad = grad.reshape(param.shape)``);
latents from a seeded ``torch.Generator(device=device).manual_seed(seed)`` (``torch.randn([len(
phases) * batch_size, G.z_dim], generator=..., device=...)``, ``.split(batch_size)``); the
mapping network's ``w_avg`` buffer (``self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg,
self.w_avg_beta))``), ``x.unsqueeze(1).repeat([1, self.num_ws, 1])`` and truncation
``self.w_avg.lerp(x, truncation_psi)``; the losses (``torch.nn.functional.softplus(-gen_logits)``
non-saturating G loss, ``softplus(gen_logits)`` / ``softplus(-real_logits)`` for D); the path
length regulariser (``pl_noise = torch.randn_like(gen_img) / np.sqrt(gen_img.shape[2] *
gen_img.shape[3])``, ``torch.autograd.grad(outputs=[(gen_img * pl_noise).sum()],
inputs=[gen_ws], create_graph=True, only_inputs=True)[0]``, ``pl_grads.square().sum(2).mean(1)
.sqrt()``, ``self.pl_mean.lerp(pl_lengths.mean(), self.pl_decay)``, ``self.pl_mean.copy_(
pl_mean.detach())``, ``(gen_img[:, 0, 0, 0] * 0 + loss_Gpl).mean().mul(gain).backward()``); the
R1 penalty both ways: ``real_img.detach().requires_grad_(do_Dr1)`` with ``torch.autograd.grad(
outputs=real_logits, inputs=real_img_tmp, grad_outputs=torch.ones_like(real_logits),
create_graph=True, only_inputs=True)[0]`` and ``r1_grads.square().sum([1, 2, 3])``, and
GAN_stability's ``compute_grad2`` (``autograd.grad(outputs=d_out.sum(), inputs=x_in,
create_graph=True, retain_graph=True, only_inputs=True)``, ``grad_dout.pow(2)``,
``reg.view(batch_size, -1).sum(1)``) as a cross-check; ``toggle_grad(model, requires_grad)`` as
a ``for p in model.parameters(): p.requires_grad_(requires_grad)`` loop; the EMA generator
``G_ema = copy.deepcopy(G).eval()`` updated under ``torch.no_grad()`` by ``ema_nimg =
min(ema_nimg, cur_nimg * ema_rampup)``, ``ema_beta = 0.5 ** (batch_size / max(ema_nimg,
1e-8))``, ``p_ema.copy_(p.lerp(p_ema, ema_beta))`` and ``b_ema.copy_(b)`` for buffers, and
GAN_stability's ``update_average`` (``p_tgt.copy_(beta*p_tgt + (1. - beta)*p_src)`` with
``torch.lerp`` as the check); ``Adam(betas=(0, 0.99), eps=1e-8)``; sampling from ``G_ema``
with ``truncation_psi=0.7`` and a fixed seed.

Changed: the synthesis network is two ``nn.Linear`` layers fed by the two ``ws`` (no modulated
convolutions; they are in stylegan_modulated_conv), images 1 x 8 x 8, ``z_dim = w_dim = 8``,
batch 4, four iterations; ``ema_kimg`` 10 -> 0.01 so the EMA moves; no augmentation, style
mixing or multi-GPU broadcast; the real images come from NumPy (the latents and noise from
each library's own generator, which chainrule seeds as PyTorch does).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

Z_DIM = W_DIM = 8
NUM_WS = 2
RES = 8


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MappingNetwork(nn.Module):
        def __init__(self, num_layers: int = 2, w_avg_beta: float = 0.995) -> None:
            super().__init__()
            self.z_dim, self.w_dim, self.num_ws = Z_DIM, W_DIM, NUM_WS
            self.w_avg_beta = w_avg_beta
            self.layers = nn.ModuleList(nn.Linear(Z_DIM, W_DIM) for _ in range(num_layers))
            self.register_buffer("w_avg", torch.zeros([W_DIM]))

        def forward(self, z: Any, truncation_psi: float = 1, update_emas: bool = False) -> Any:
            x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()  # normalize_2nd_moment
            for layer in self.layers:
                x = torch.nn.functional.leaky_relu(layer(x), 0.2) * np.sqrt(2)
            if update_emas and self.w_avg_beta is not None:
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
            if self.num_ws is not None:
                x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
            if truncation_psi != 1:
                x = self.w_avg.lerp(x, truncation_psi)
            return x

    class SynthesisNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc0 = nn.Linear(W_DIM, 32)
            self.fc1 = nn.Linear(W_DIM + 32, RES * RES)

        def forward(self, ws: Any) -> Any:
            x = torch.nn.functional.leaky_relu(self.fc0(ws[:, 0]), 0.2)
            x = self.fc1(torch.cat([x, ws[:, 1]], dim=1))
            return torch.tanh(x).view(-1, 1, RES, RES)

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.z_dim = Z_DIM
            self.mapping = MappingNetwork()
            self.synthesis = SynthesisNetwork()

        def forward(self, z: Any, truncation_psi: float = 1, update_emas: bool = False) -> Any:
            ws = self.mapping(z, truncation_psi=truncation_psi, update_emas=update_emas)
            return self.synthesis(ws)

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)
            self.fc = nn.Linear(4 * (RES // 2) ** 2, 1)

        def forward(self, img: Any) -> Any:
            x = torch.nn.functional.leaky_relu(self.conv(img), 0.2)
            return self.fc(x.flatten(1))

    return nn.ModuleDict({"G": Generator(), "D": Discriminator()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    device = torch.device("cpu")
    torch.manual_seed(1234)  # pl_noise (torch.randn_like) draws from the global generator
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    G, D = nets["G"], nets["D"]
    G_ema = copy.deepcopy(G).eval()
    values: list[float] = []

    def toggle_grad(model: Any, requires_grad: bool) -> None:
        for p in model.parameters():
            p.requires_grad_(requires_grad)

    def compute_grad2(d_out: Any, x_in: Any) -> Any:
        batch_size = x_in.size(0)
        grad_dout = torch.autograd.grad(
            outputs=d_out.sum(), inputs=x_in, create_graph=True, retain_graph=True, only_inputs=True
        )[0]
        grad_dout2 = grad_dout.pow(2)
        assert grad_dout2.size() == x_in.size()
        reg = grad_dout2.view(batch_size, -1).sum(1)
        return reg

    class StyleGAN2Loss:
        def __init__(self, r1_gamma: float = 1.0, pl_weight: float = 2.0, pl_decay: float = 0.01):
            self.r1_gamma = r1_gamma
            self.pl_weight = pl_weight
            self.pl_decay = pl_decay
            self.pl_mean = torch.zeros([], device=device)

        def run_G(self, z: Any, update_emas: bool = False) -> tuple[Any, Any]:
            ws = G.mapping(z, update_emas=update_emas)
            img = G.synthesis(ws)
            return img, ws

        def accumulate_gradients(self, phase: str, real_img: Any, gen_z: Any, gain: int) -> float:
            do_Gmain = phase in ["Gmain", "Gboth"]
            do_Dmain = phase in ["Dmain", "Dboth"]
            do_Gpl = phase in ["Greg", "Gboth"] and (self.pl_weight != 0)
            do_Dr1 = phase in ["Dreg", "Dboth"] and (self.r1_gamma != 0)
            total = 0.0

            # Gmain: Maximize logits for generated images.
            if do_Gmain:
                gen_img, _gen_ws = self.run_G(gen_z)
                gen_logits = D(gen_img)
                loss_Gmain = torch.nn.functional.softplus(-gen_logits)  # -log(sigmoid(gen_logits))
                loss_Gmain.mean().mul(gain).backward()
                total += loss_Gmain.mean().item()

            # Gpl: Apply path length regularization.
            if do_Gpl:
                batch_size = gen_z.shape[0] // 2
                gen_img, gen_ws = self.run_G(gen_z[:batch_size])
                pl_noise = torch.randn_like(gen_img) / np.sqrt(gen_img.shape[2] * gen_img.shape[3])
                pl_grads = torch.autograd.grad(
                    outputs=[(gen_img * pl_noise).sum()],
                    inputs=[gen_ws],
                    create_graph=True,
                    only_inputs=True,
                )[0]
                pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
                pl_mean = self.pl_mean.lerp(pl_lengths.mean(), self.pl_decay)
                self.pl_mean.copy_(pl_mean.detach())
                pl_penalty = (pl_lengths - pl_mean).square()
                loss_Gpl = pl_penalty * self.pl_weight
                (gen_img[:, 0, 0, 0] * 0 + loss_Gpl).mean().mul(gain).backward()
                total += loss_Gpl.mean().item()

            # Dmain: Minimize logits for generated images.
            if do_Dmain:
                gen_img, _gen_ws = self.run_G(gen_z, update_emas=True)
                gen_logits = D(gen_img)
                loss_Dgen = torch.nn.functional.softplus(
                    gen_logits
                )  # -log(1 - sigmoid(gen_logits))
                loss_Dgen.mean().mul(gain).backward()
                total += loss_Dgen.mean().item()

            # Dmain: Maximize logits for real images.
            # Dr1: Apply R1 regularization.
            if do_Dmain or do_Dr1:
                real_img_tmp = real_img.detach().requires_grad_(do_Dr1)
                real_logits = D(real_img_tmp)
                loss_Dreal = 0
                if do_Dmain:
                    loss_Dreal = torch.nn.functional.softplus(
                        -real_logits
                    )  # -log(sigmoid(real_logits))
                    total += loss_Dreal.mean().item()
                loss_Dr1 = 0
                if do_Dr1:
                    r1_grads = torch.autograd.grad(
                        outputs=real_logits,
                        inputs=real_img_tmp,
                        grad_outputs=torch.ones_like(real_logits),
                        create_graph=True,
                        only_inputs=True,
                    )[0]
                    r1_penalty = r1_grads.square().sum([1, 2, 3])
                    reg = compute_grad2(real_logits, real_img_tmp)
                    values.append(float(torch.allclose(r1_penalty, reg)))
                    loss_Dr1 = r1_penalty * (self.r1_gamma / 2)
                    total += loss_Dr1.mean().item()
                (real_logits * 0 + loss_Dreal + loss_Dr1).mean().mul(gain).backward()
            return total

    class Phase:
        def __init__(self, name: str, module: Any, opt: Any, interval: int) -> None:
            self.name, self.module, self.opt, self.interval = name, module, opt, interval

    phases = []
    for name, module, reg_interval in [("G", G, 2), ("D", D, 2)]:
        opt_kwargs = {"lr": 0.01, "betas": [0, 0.99], "eps": 1e-8}
        mb_ratio = reg_interval / (reg_interval + 1)
        opt_kwargs["lr"] = opt_kwargs["lr"] * mb_ratio
        opt_kwargs["betas"] = [beta**mb_ratio for beta in opt_kwargs["betas"]]
        opt = torch.optim.Adam(module.parameters(), **opt_kwargs)
        phases += [Phase(name + "main", module, opt, interval=1)]
        phases += [Phase(name + "reg", module, opt, interval=reg_interval)]
    loss = StyleGAN2Loss()

    rng = np.random.default_rng(7)
    batch_size = 4
    ema_kimg, ema_rampup = 0.01, 0.05
    cur_nimg = 0
    gen = torch.Generator(device=device).manual_seed(42)
    for batch_idx in range(4):
        grid = np.linspace(-1, 1, RES)
        real = np.tanh(
            rng.standard_normal((batch_size, 1, 1, 1)) * grid[None, None, :, None]
            + rng.standard_normal((batch_size, 1, 1, 1)) * grid[None, None, None, :]
        )
        phase_real_img = as_tensor(torch, real).to(device)
        all_gen_z = torch.randn([len(phases) * batch_size, G.z_dim], generator=gen, device=device)
        all_gen_z = list(all_gen_z.split(batch_size))

        for phase, phase_gen_z in zip(phases, all_gen_z):
            if batch_idx % phase.interval != 0:
                continue
            phase.opt.zero_grad(set_to_none=True)
            phase.module.requires_grad_(True)
            values.append(
                loss.accumulate_gradients(phase.name, phase_real_img, phase_gen_z, phase.interval)
            )
            phase.module.requires_grad_(False)

            params = [param for param in phase.module.parameters() if param.grad is not None]
            if len(params) > 0:
                flat = torch.cat([param.grad.flatten() for param in params])
                torch.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
                grads = flat.split([param.numel() for param in params])
                for param, grad in zip(params, grads):
                    param.grad = grad.reshape(param.shape)
            values.append(float(len(params)))
            phase.opt.step()

        # Update G_ema.
        cur_nimg += batch_size
        ema_nimg = ema_kimg * 1000
        if ema_rampup is not None:
            ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
        ema_beta = 0.5 ** (batch_size / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.copy_(p.lerp(p_ema, ema_beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)
        values += [ema_beta, loss.pl_mean.item(), G.mapping.w_avg.sum().item()]

    values.append(float(any(p.requires_grad for p in G.parameters())))
    values.append(float(all(not p.requires_grad for p in G_ema.parameters())))

    # GAN_stability's update_average against torch.lerp
    G_test = copy.deepcopy(G)
    toggle_grad(G, False)
    toggle_grad(G_test, False)
    beta = 0.9
    expected = [
        torch.lerp(p, q, 1.0 - beta) for p, q in zip(G_test.parameters(), G_ema.parameters())
    ]
    param_dict_src = dict(G_ema.named_parameters())
    with torch.no_grad():
        for p_name, p_tgt in G_test.named_parameters():
            p_src = param_dict_src[p_name]
            assert p_src is not p_tgt
            p_tgt.copy_(beta * p_tgt + (1.0 - beta) * p_src)
    values.append(float(all(torch.allclose(a, b) for a, b in zip(G_test.parameters(), expected))))

    # sample from G_ema with truncation and a fixed seed
    sample_gen = torch.Generator(device=device).manual_seed(0)
    z = torch.randn([3, G.z_dim], generator=sample_gen, device=device)
    with torch.no_grad():
        img = G_ema(z, truncation_psi=0.7)
        img_full = G_ema(z)
    values += [img.sum().item(), img.abs().max().item(), (img - img_full).abs().sum().item()]
    values += [p.sum().item() for p in G_ema.parameters()]
    return values
