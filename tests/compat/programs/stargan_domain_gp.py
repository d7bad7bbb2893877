"""yunjey/stargan (``model.py`` and ``solver.py``), size-reduced: the ``Generator`` tiles the
target domain labels over the image (``c.view(c.size(0), c.size(1), 1, 1)``, ``c.repeat(1, 1,
x.size(2), x.size(3))``, ``torch.cat([x, c], dim=1)``) and runs ``InstanceNorm2d(affine=True,
track_running_stats=True)`` conv/``ResidualBlock``/``ConvTranspose2d`` layers into ``Tanh``;
the PatchGAN ``Discriminator`` returns ``out_src`` and ``out_cls.view(out_cls.size(0),
out_cls.size(1))`` from a ``kernel_size = int(image_size / np.power(2, repeat_num))`` conv;
``Solver``'s ``gradient_penalty`` (``torch.autograd.grad(outputs=y, inputs=x,
grad_outputs=weight, retain_graph=True, create_graph=True, only_inputs=True)[0]``,
``torch.sqrt(torch.sum(dydx**2, dim=1))``), ``label2onehot`` (``out[np.arange(batch_size),
labels.long()] = 1``), ``classification_loss`` for CelebA
(``F.binary_cross_entropy_with_logits(logit, target, reduction='sum') / logit.size(0)``) and
RaFD (``F.cross_entropy``), ``create_labels`` (hair colours one-hot, ``c_trg[:, i] = (c_trg[:,
i] == 0)`` reversing an attribute with a bool), ``denorm`` (``clamp_(0, 1)``); ``train``: the
shuffled target labels ``label_org[rand_idx]``, ``x_hat = (alpha * x_real.data + (1 - alpha) *
x_fake.data).requires_grad_(True)``, ``d_loss_real + d_loss_fake + lambda_cls * d_loss_cls +
lambda_gp * d_loss_gp``, ``reset_grad``, the generator step every ``n_critic`` iterations with
the reconstruction loss ``torch.mean(torch.abs(x_real - x_reconst))``, ``update_lr`` over
``param_groups``, and the translation of a fixed batch under ``torch.no_grad()``.

Changed: conv_dim 64 -> 4, repeat_num 6 -> 2 (residual blocks 6 -> 1), 128x128 images -> 8x8,
c_dim 5 kept, n_critic 5 -> 2, 4 iterations; ``size_average=False`` (deprecated, it warns) is
``reduction='sum'``; ``torch.randperm``/``torch.rand`` draws come from a seeded NumPy
generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

C_DIM, IMAGE_SIZE = 5, 8
SELECTED_ATTRS = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]


def _nets(torch_like: Any) -> tuple[Any, Any]:
    nn = torch_like.nn
    torch = torch_like

    class ResidualBlock(nn.Module):
        """Residual Block with instance normalization."""

        def __init__(self, dim_in: int, dim_out: int) -> None:
            super(ResidualBlock, self).__init__()  # noqa: UP008 (as in the repository)
            self.main = nn.Sequential(
                nn.Conv2d(dim_in, dim_out, kernel_size=3, stride=1, padding=1, bias=False),
                nn.InstanceNorm2d(dim_out, affine=True, track_running_stats=True),
                nn.ReLU(inplace=True),
                nn.Conv2d(dim_out, dim_out, kernel_size=3, stride=1, padding=1, bias=False),
                nn.InstanceNorm2d(dim_out, affine=True, track_running_stats=True),
            )

        def forward(self, x: Any) -> Any:
            return x + self.main(x)

    class Generator(nn.Module):
        """Generator network."""

        def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6) -> None:
            super(Generator, self).__init__()  # noqa: UP008

            layers = []
            layers.append(nn.Conv2d(3 + c_dim, conv_dim, kernel_size=7, stride=1, padding=3,
                                    bias=False))  # fmt: skip
            layers.append(nn.InstanceNorm2d(conv_dim, affine=True, track_running_stats=True))
            layers.append(nn.ReLU(inplace=True))

            # Down-sampling layers.
            curr_dim = conv_dim
            for _i in range(2):
                layers.append(nn.Conv2d(curr_dim, curr_dim * 2, kernel_size=4, stride=2,
                                        padding=1, bias=False))  # fmt: skip
                layers.append(nn.InstanceNorm2d(curr_dim * 2, affine=True,
                                                track_running_stats=True))  # fmt: skip
                layers.append(nn.ReLU(inplace=True))
                curr_dim = curr_dim * 2

            # Bottleneck layers.
            for _i in range(repeat_num):
                layers.append(ResidualBlock(dim_in=curr_dim, dim_out=curr_dim))

            # Up-sampling layers.
            for _i in range(2):
                layers.append(nn.ConvTranspose2d(curr_dim, curr_dim // 2, kernel_size=4,
                                                 stride=2, padding=1, bias=False))  # fmt: skip
                layers.append(nn.InstanceNorm2d(curr_dim // 2, affine=True,
                                                track_running_stats=True))  # fmt: skip
                layers.append(nn.ReLU(inplace=True))
                curr_dim = curr_dim // 2

            layers.append(nn.Conv2d(curr_dim, 3, kernel_size=7, stride=1, padding=3, bias=False))
            layers.append(nn.Tanh())
            self.main = nn.Sequential(*layers)

        def forward(self, x: Any, c: Any) -> Any:
            # Replicate spatially and concatenate domain information.
            # Note that this type of label conditioning does not work at all if we use
            # reflection padding in Conv2d. This is because instance normalization ignores
            # the shifting (or bias) effect.
            c = c.view(c.size(0), c.size(1), 1, 1)
            c = c.repeat(1, 1, x.size(2), x.size(3))
            x = torch.cat([x, c], dim=1)
            return self.main(x)

    class Discriminator(nn.Module):
        """Discriminator network with PatchGAN."""

        def __init__(self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5,
                     repeat_num: int = 6) -> None:  # fmt: skip
            super(Discriminator, self).__init__()  # noqa: UP008
            layers = []
            layers.append(nn.Conv2d(3, conv_dim, kernel_size=4, stride=2, padding=1))
            layers.append(nn.LeakyReLU(0.01))

            curr_dim = conv_dim
            for _i in range(1, repeat_num):
                layers.append(nn.Conv2d(curr_dim, curr_dim * 2, kernel_size=4, stride=2,
                                        padding=1))  # fmt: skip
                layers.append(nn.LeakyReLU(0.01))
                curr_dim = curr_dim * 2

            kernel_size = int(image_size / np.power(2, repeat_num))
            self.main = nn.Sequential(*layers)
            self.conv1 = nn.Conv2d(curr_dim, 1, kernel_size=3, stride=1, padding=1, bias=False)
            self.conv2 = nn.Conv2d(curr_dim, c_dim, kernel_size=kernel_size, bias=False)

        def forward(self, x: Any) -> tuple[Any, Any]:
            h = self.main(x)
            out_src = self.conv1(h)
            out_cls = self.conv2(h)
            return out_src, out_cls.view(out_cls.size(0), out_cls.size(1))

    G = Generator(conv_dim=4, c_dim=C_DIM, repeat_num=1)
    D = Discriminator(image_size=IMAGE_SIZE, conv_dim=4, c_dim=C_DIM, repeat_num=2)
    return G, D


def make_model(torch_like: Any) -> Any:
    G, D = _nets(torch_like)
    return torch_like.nn.ModuleDict({"G": G, "D": D})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(128)
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    G, D = nets["G"], nets["D"]
    g_lr = d_lr = 1e-3
    beta1, beta2 = 0.5, 0.999
    lambda_cls, lambda_rec, lambda_gp, n_critic = 1.0, 10.0, 10.0, 2
    g_optimizer = torch.optim.Adam(G.parameters(), g_lr, [beta1, beta2])
    d_optimizer = torch.optim.Adam(D.parameters(), d_lr, [beta1, beta2])
    device = torch.device("cpu")

    def update_lr(g_lr: float, d_lr: float) -> None:
        """Decay learning rates of the generator and discriminator."""
        for param_group in g_optimizer.param_groups:
            param_group["lr"] = g_lr
        for param_group in d_optimizer.param_groups:
            param_group["lr"] = d_lr

    def reset_grad() -> None:
        """Reset the gradient buffers."""
        g_optimizer.zero_grad()
        d_optimizer.zero_grad()

    def denorm(x: Any) -> Any:
        """Convert the range from [-1, 1] to [0, 1]."""
        out = (x + 1) / 2
        return out.clamp_(0, 1)

    def gradient_penalty(y: Any, x: Any) -> Any:
        """Compute gradient penalty: (L2_norm(dy/dx) - 1)**2."""
        weight = torch.ones(y.size()).to(device)
        dydx = torch.autograd.grad(outputs=y, inputs=x, grad_outputs=weight, retain_graph=True,
                                   create_graph=True, only_inputs=True)[0]  # fmt: skip

        dydx = dydx.view(dydx.size(0), -1)
        dydx_l2norm = torch.sqrt(torch.sum(dydx**2, dim=1))
        return torch.mean((dydx_l2norm - 1) ** 2)

    def label2onehot(labels: Any, dim: int) -> Any:
        """Convert label indices to one-hot vectors."""
        batch_size = labels.size(0)
        out = torch.zeros(batch_size, dim)
        out[np.arange(batch_size), labels.long()] = 1
        return out

    def create_labels(c_org: Any, c_dim: int = 5, dataset: str = "CelebA",
                      selected_attrs: list[str] | None = None) -> list[Any]:  # fmt: skip
        """Generate target domain labels for debugging and testing."""
        # Get hair color indices.
        if dataset == "CelebA":
            hair_color_indices = []
            for i, attr_name in enumerate(selected_attrs):
                if attr_name in ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"]:
                    hair_color_indices.append(i)

        c_trg_list = []
        for i in range(c_dim):
            if dataset == "CelebA":
                c_trg = c_org.clone()
                if i in hair_color_indices:  # Set one hair color to 1 and the rest to 0.
                    c_trg[:, i] = 1
                    for j in hair_color_indices:
                        if j != i:
                            c_trg[:, j] = 0
                else:
                    c_trg[:, i] = c_trg[:, i] == 0  # Reverse attribute value.
            elif dataset == "RaFD":
                c_trg = label2onehot(torch.ones(c_org.size(0)) * i, c_dim)

            c_trg_list.append(c_trg.to(device))
        return c_trg_list

    def classification_loss(logit: Any, target: Any, dataset: str = "CelebA") -> Any:
        """Compute binary or softmax cross entropy loss."""
        if dataset == "CelebA":
            return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / logit.size(
                0
            )
        elif dataset == "RaFD":
            return F.cross_entropy(logit, target)

    def attributes(n: int) -> Any:
        hair = rng.integers(0, 3, n)
        labels = np.zeros((n, C_DIM))
        labels[np.arange(n), hair] = 1
        labels[:, 3:] = rng.integers(0, 2, (n, 2))
        return torch.from_numpy(labels)

    x_fixed = torch.from_numpy(rng.random((2, 3, IMAGE_SIZE, IMAGE_SIZE)) * 2 - 1)
    c_fixed_list = create_labels(attributes(2), C_DIM, "CelebA", SELECTED_ATTRS)

    values: list[float] = []
    num_iters, num_iters_decay = 4, 2
    for i in range(num_iters):
        # Fetch real images and labels.
        x_real = torch.from_numpy(rng.random((3, 3, IMAGE_SIZE, IMAGE_SIZE)) * 2 - 1)
        label_org = attributes(3)
        # Generate target domain labels randomly.
        rand_idx = torch.from_numpy(rng.permutation(label_org.size(0)))
        label_trg = label_org[rand_idx]

        c_org = label_org.clone()
        c_trg = label_trg.clone()
        x_real = x_real.to(device)  # Input images.
        c_org = c_org.to(device)  # Original domain labels.
        c_trg = c_trg.to(device)  # Target domain labels.
        label_org = label_org.to(device)  # Labels for computing classification loss.
        label_trg = label_trg.to(device)  # Labels for computing classification loss.

        # Compute loss with real images.
        out_src, out_cls = D(x_real)
        d_loss_real = -torch.mean(out_src)
        d_loss_cls = classification_loss(out_cls, label_org, "CelebA")

        # Compute loss with fake images.
        x_fake = G(x_real, c_trg)
        out_src, out_cls = D(x_fake.detach())
        d_loss_fake = torch.mean(out_src)

        # Compute loss for gradient penalty.
        alpha = torch.from_numpy(rng.random((x_real.size(0), 1, 1, 1))).to(device)
        x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
        out_src, _ = D(x_hat)
        d_loss_gp = gradient_penalty(out_src, x_hat)

        # Backward and optimize.
        d_loss = d_loss_real + d_loss_fake + lambda_cls * d_loss_cls + lambda_gp * d_loss_gp
        reset_grad()
        d_loss.backward()
        d_optimizer.step()

        # Logging.
        loss = {}
        loss["D/loss_real"] = d_loss_real.item()
        loss["D/loss_fake"] = d_loss_fake.item()
        loss["D/loss_cls"] = d_loss_cls.item()
        loss["D/loss_gp"] = d_loss_gp.item()

        if (i + 1) % n_critic == 0:
            # Original-to-target domain.
            x_fake = G(x_real, c_trg)
            out_src, out_cls = D(x_fake)
            g_loss_fake = -torch.mean(out_src)
            g_loss_cls = classification_loss(out_cls, label_trg, "CelebA")

            # Target-to-original domain.
            x_reconst = G(x_fake, c_org)
            g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))

            # Backward and optimize.
            g_loss = g_loss_fake + lambda_rec * g_loss_rec + lambda_cls * g_loss_cls
            reset_grad()
            g_loss.backward()
            g_optimizer.step()

            loss["G/loss_fake"] = g_loss_fake.item()
            loss["G/loss_rec"] = g_loss_rec.item()
            loss["G/loss_cls"] = g_loss_cls.item()
        values += list(loss.values())

        # Decay learning rates.
        if (i + 1) > (num_iters - num_iters_decay):
            g_lr -= g_lr / float(num_iters_decay)
            d_lr -= d_lr / float(num_iters_decay)
            update_lr(g_lr, d_lr)

    # Translate fixed images for debugging.
    with torch.no_grad():
        x_fake_list = [x_fixed]
        for c_fixed in c_fixed_list:
            x_fake_list.append(G(x_fixed, c_fixed))
        x_concat = torch.cat(x_fake_list, dim=3)
        sample = denorm(x_concat.data.cpu())
    values += [sample.sum().item(), sum(c.sum().item() for c in c_fixed_list)]
    # RaFD's softmax classification on one-hot domains
    onehot = label2onehot(torch.tensor([0, 3, 4]), C_DIM)
    logits = D(torch.from_numpy(rng.random((3, 3, IMAGE_SIZE, IMAGE_SIZE))))[1]
    values += [classification_loss(logits, onehot.argmax(1), "RaFD").item()]
    running = G.main[1].running_mean.sum().item()
    return values + [running]
