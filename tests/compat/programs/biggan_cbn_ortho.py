"""ajbrock/BigGAN-PyTorch (``layers.py``, ``BigGAN.py``, ``train_fns.py``, ``losses.py``,
``utils.py``), size-reduced: class-conditional batch norm ``ccbn`` (gain and bias
``which_linear`` layers on the class embedding, ``(1 + self.gain(y)).view(y.size(0), -1, 1,
1)``, ``register_buffer('stored_mean', ...)`` and ``F.batch_norm(x, self.stored_mean,
self.stored_var, None, None, self.training, 0.1, self.eps)``); the unconditional output ``bn``;
``GBlock`` with ``functools.partial(F.interpolate, scale_factor=2)`` upsampling and a learnable
shortcut; the ``Generator``'s shared class embedding (``self.shared = nn.Embedding``), the
hierarchical latent split ``torch.split(z, self.z_chunk_size, 1)`` with ``ys =
[torch.cat([y, item], 1) for item in zs[1:]]``, ``h.view(h.size(0), -1, self.bottom_width,
self.bottom_width)``, ``init.orthogonal_`` over ``self.modules()``; the projection
``Discriminator`` (``torch.sum(self.activation(h), [2, 3])``, ``out + torch.sum(self.embed(y) *
h, 1, keepdim=True)``); ``G_D`` concatenating fake and real batches (``torch.split(D_out,
[G_z.shape[0]])``); the hinge losses (``torch.mean(F.relu(1. - dis_real))``); ``toggle_grad``;
``utils.ortho`` (``torch.mm(torch.mm(w, w.t()) * (1. - torch.eye(w.shape[0],
device=w.device)), w)`` added to ``param.grad.data`` under ``torch.no_grad()``, skipping the
``blacklist`` by identity); and the ``ema`` class (``self.target_dict[key].data.copy_(
self.target_dict[key].data * decay + self.source_dict[key].data * (1 - decay))``).

Changed: ch 64 -> 2 (arch widths 16/8/4), 128x128 -> 8x8 (bottom width 2, two G blocks),
dim_z 120 -> 9 (chunks of 3), shared_dim 128 -> 4, 1000 classes -> 5, no spectral norm (the
repository's ``G_param='ortho'`` choice), 3 iterations with ``num_D_steps`` 2; the latents and
data come from a seeded NumPy generator.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._common import load_numpy_state

N_CLASSES, DIM_Z, SHARED_DIM, BOTTOM = 5, 9, 4, 2


def _layers(torch_like: Any) -> dict[str, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    # Class-conditional bn
    # output size is the number of channels, input size is for the linear layers
    class ccbn(nn.Module):
        def __init__(self, output_size, input_size, which_linear, eps=1e-5, momentum=0.1,
                     cross_replica=False, mybn=False, norm_style="bn"):  # noqa: ANN001 # fmt: skip
            super(ccbn, self).__init__()  # noqa: UP008 (as in the repository)
            self.output_size, self.input_size = output_size, input_size
            # Prepare gain and bias layers
            self.gain = which_linear(input_size, output_size)
            self.bias = which_linear(input_size, output_size)
            # epsilon to avoid dividing by 0
            self.eps = eps
            # Momentum
            self.momentum = momentum
            # Norm style?
            self.norm_style = norm_style
            self.register_buffer("stored_mean", torch.zeros(output_size))
            self.register_buffer("stored_var", torch.ones(output_size))

        def forward(self, x: Any, y: Any) -> Any:
            # Calculate class-conditional gains and biases
            gain = (1 + self.gain(y)).view(y.size(0), -1, 1, 1)
            bias = self.bias(y).view(y.size(0), -1, 1, 1)
            if self.norm_style == "bn":
                out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None,
                                   self.training, 0.1, self.eps)  # fmt: skip
            return out * gain + bias

    # Normal, non-class-conditional BN
    class bn(nn.Module):
        def __init__(self, output_size, eps=1e-5, momentum=0.1):  # noqa: ANN001
            super(bn, self).__init__()  # noqa: UP008
            self.output_size = output_size
            # Prepare gain and bias layers
            self.gain = nn.Parameter(torch.ones(output_size), requires_grad=True)
            self.bias = nn.Parameter(torch.zeros(output_size), requires_grad=True)
            self.eps = eps
            self.momentum = momentum
            self.register_buffer("stored_mean", torch.zeros(output_size))
            self.register_buffer("stored_var", torch.ones(output_size))

        def forward(self, x: Any, y: Any = None) -> Any:
            return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias,
                                self.training, self.momentum, self.eps)  # fmt: skip

    class GBlock(nn.Module):
        def __init__(self, in_channels, out_channels, which_conv=nn.Conv2d, which_bn=bn,
                     activation=None, upsample=None):  # noqa: ANN001 # fmt: skip
            super(GBlock, self).__init__()  # noqa: UP008
            self.in_channels, self.out_channels = in_channels, out_channels
            self.which_conv, self.which_bn = which_conv, which_bn
            self.activation = activation
            self.upsample = upsample
            # Conv layers
            self.conv1 = self.which_conv(self.in_channels, self.out_channels)
            self.conv2 = self.which_conv(self.out_channels, self.out_channels)
            self.learnable_sc = in_channels != out_channels or upsample
            if self.learnable_sc:
                self.conv_sc = self.which_conv(in_channels, out_channels,
                                               kernel_size=1, padding=0)  # fmt: skip
            # Batchnorm layers
            self.bn1 = self.which_bn(in_channels)
            self.bn2 = self.which_bn(out_channels)

        def forward(self, x: Any, y: Any) -> Any:
            h = self.activation(self.bn1(x, y))
            if self.upsample:
                h = self.upsample(h)
                x = self.upsample(x)
            h = self.conv1(h)
            h = self.activation(self.bn2(h, y))
            h = self.conv2(h)
            if self.learnable_sc:
                x = self.conv_sc(x)
            return h + x

    class DBlock(nn.Module):
        def __init__(self, in_channels, out_channels, which_conv, wide=True,
                     preactivation=False, activation=None, downsample=None):  # noqa: ANN001 # fmt: skip
            super(DBlock, self).__init__()  # noqa: UP008
            self.in_channels, self.out_channels = in_channels, out_channels
            self.hidden_channels = self.out_channels if wide else self.in_channels
            self.which_conv = which_conv
            self.preactivation = preactivation
            self.activation = activation
            self.downsample = downsample
            self.conv1 = self.which_conv(self.in_channels, self.hidden_channels)
            self.conv2 = self.which_conv(self.hidden_channels, self.out_channels)
            self.learnable_sc = True if (in_channels != out_channels) or downsample else False
            if self.learnable_sc:
                self.conv_sc = self.which_conv(in_channels, out_channels,
                                               kernel_size=1, padding=0)  # fmt: skip

        def shortcut(self, x: Any) -> Any:
            if self.preactivation:
                if self.learnable_sc:
                    x = self.conv_sc(x)
                if self.downsample:
                    x = self.downsample(x)
            else:
                if self.downsample:
                    x = self.downsample(x)
                if self.learnable_sc:
                    x = self.conv_sc(x)
            return x

        def forward(self, x: Any) -> Any:
            if self.preactivation:
                h = F.relu(x)
            else:
                h = x
            h = self.conv1(h)
            h = self.conv2(self.activation(h))
            if self.downsample:
                h = self.downsample(h)
            return h + self.shortcut(x)

    return {"ccbn": ccbn, "bn": bn, "GBlock": GBlock, "DBlock": DBlock}


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    init = nn.init
    layers = _layers(torch_like)

    class Generator(nn.Module):
        def __init__(self) -> None:
            super(Generator, self).__init__()  # noqa: UP008
            self.arch = {"in_channels": [8, 4], "out_channels": [4, 2]}
            self.bottom_width = BOTTOM
            self.shared_dim = SHARED_DIM
            self.hier = True
            self.num_slots = len(self.arch["in_channels"]) + 1
            self.z_chunk_size = DIM_Z // self.num_slots
            # Recalculate latent dimensionality for even splitting into chunks
            self.dim_z = self.z_chunk_size * self.num_slots
            self.activation = nn.ReLU(inplace=False)
            self.which_conv = functools.partial(nn.Conv2d, kernel_size=3, padding=1)
            self.which_linear = nn.Linear
            self.which_embedding = nn.Embedding
            bn_linear = functools.partial(self.which_linear, bias=False)
            self.which_bn = functools.partial(
                layers["ccbn"],
                which_linear=bn_linear,
                input_size=self.shared_dim + self.z_chunk_size,
            )
            self.shared = self.which_embedding(N_CLASSES, self.shared_dim)
            self.linear = self.which_linear(
                self.dim_z // self.num_slots, self.arch["in_channels"][0] * (self.bottom_width**2)
            )
            self.blocks = []
            for index in range(len(self.arch["out_channels"])):
                self.blocks += [
                    [
                        layers["GBlock"](
                            in_channels=self.arch["in_channels"][index],
                            out_channels=self.arch["out_channels"][index],
                            which_conv=self.which_conv,
                            which_bn=self.which_bn,
                            activation=self.activation,
                            upsample=functools.partial(F.interpolate, scale_factor=2),
                        )
                    ]
                ]
            self.blocks = nn.ModuleList([nn.ModuleList(block) for block in self.blocks])
            self.output_layer = nn.Sequential(
                layers["bn"](self.arch["out_channels"][-1]),
                self.activation,
                self.which_conv(self.arch["out_channels"][-1], 3),
            )
            self.init_weights()

        def init_weights(self) -> None:
            self.param_count = 0
            for module in self.modules():
                if isinstance(module, nn.Conv2d | nn.Linear | nn.Embedding):
                    init.orthogonal_(module.weight)
                    self.param_count += sum([p.data.nelement() for p in module.parameters()])

        def forward(self, z: Any, y: Any) -> Any:
            # If hierarchical, concatenate zs and ys
            if self.hier:
                zs = torch.split(z, self.z_chunk_size, 1)
                z = zs[0]
                ys = [torch.cat([y, item], 1) for item in zs[1:]]
            else:
                ys = [y] * len(self.blocks)
            # First linear layer
            h = self.linear(z)
            # Reshape
            h = h.view(h.size(0), -1, self.bottom_width, self.bottom_width)
            # Loop over blocks
            for index, blocklist in enumerate(self.blocks):
                # Second inner loop in case block has multiple layers
                for block in blocklist:
                    h = block(h, ys[index])
            # Apply batchnorm-relu-conv-tanh at output
            return torch.tanh(self.output_layer(h))

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super(Discriminator, self).__init__()  # noqa: UP008
            self.arch = {"in_channels": [3, 4], "out_channels": [4, 8], "downsample": [True, False]}
            self.activation = nn.ReLU(inplace=False)
            self.which_conv = functools.partial(nn.Conv2d, kernel_size=3, padding=1)
            self.blocks = []
            for index in range(len(self.arch["out_channels"])):
                self.blocks += [[layers["DBlock"](in_channels=self.arch["in_channels"][index],
                                 out_channels=self.arch["out_channels"][index],
                                 which_conv=self.which_conv, wide=True, activation=self.activation,
                                 preactivation=(index > 0),
                                 downsample=(nn.AvgPool2d(2) if self.arch["downsample"][index]
                                             else None))]]  # fmt: skip
            self.blocks = nn.ModuleList([nn.ModuleList(block) for block in self.blocks])
            self.linear = nn.Linear(self.arch["out_channels"][-1], 1)
            self.embed = nn.Embedding(N_CLASSES, self.arch["out_channels"][-1])
            for module in self.modules():
                if isinstance(module, nn.Conv2d | nn.Linear | nn.Embedding):
                    init.orthogonal_(module.weight)

        def forward(self, x: Any, y: Any = None) -> Any:
            h = x
            for _index, blocklist in enumerate(self.blocks):
                for block in blocklist:
                    h = block(h)
            # Apply global sum pooling as in SN-GAN
            h = torch.sum(self.activation(h), [2, 3])
            # Get initial class-unconditional output
            out = self.linear(h)
            # Get projection of final featureset onto class vectors and add to evidence
            out = out + torch.sum(self.embed(y) * h, 1, keepdim=True)
            return out

    return nn.ModuleDict({"G": Generator(), "D": Discriminator(), "G_ema": Generator()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    rng = np.random.default_rng(128)
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    G, D, G_ema = nets["G"], nets["D"], nets["G_ema"]
    G.optim = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.999), weight_decay=0,
                               eps=1e-6)  # fmt: skip
    D.optim = torch.optim.Adam(D.parameters(), lr=4e-3, betas=(0.0, 0.999), weight_decay=0,
                               eps=1e-6)  # fmt: skip

    class ema:
        def __init__(self, source: Any, target: Any, decay: float = 0.9999, start_itr: int = 0):
            self.source = source
            self.target = target
            self.decay = decay
            # Optional parameter indicating what iteration to start the decay at
            self.start_itr = start_itr
            # Initialize target's params to be source's
            self.source_dict = self.source.state_dict()
            self.target_dict = self.target.state_dict()
            with torch.no_grad():
                for key in self.source_dict:
                    self.target_dict[key].data.copy_(self.source_dict[key].data)

        def update(self, itr: Any = None) -> None:
            # If an iteration counter is provided and itr is less than the start itr,
            # peg the ema weights to the underlying weights.
            if itr and itr < self.start_itr:
                decay = 0.0
            else:
                decay = self.decay
            with torch.no_grad():
                for key in self.source_dict:
                    self.target_dict[key].data.copy_(
                        self.target_dict[key].data * decay
                        + self.source_dict[key].data * (1 - decay)
                    )

    class G_D(nn.Module):
        def __init__(self, G: Any, D: Any) -> None:
            super(G_D, self).__init__()  # noqa: UP008
            self.G = G
            self.D = D

        def forward(self, z, gy, x=None, dy=None, train_G=False, return_G_z=False):  # noqa: ANN001
            # If training G, enable grad tape
            with torch.set_grad_enabled(train_G):
                # Get Generator output given noise
                G_z = self.G(z, self.G.shared(gy))
            # Split_D not used: concatenate fake and real
            D_input = torch.cat([G_z, x], 0) if x is not None else G_z
            D_class = torch.cat([gy, dy], 0) if dy is not None else gy
            # Get Discriminator output
            D_out = self.D(D_input, D_class)
            if x is not None:
                return torch.split(D_out, [G_z.shape[0], x.shape[0]])  # D_fake, D_real
            else:
                if return_G_z:
                    return D_out, G_z
                else:
                    return D_out

    def toggle_grad(model: Any, on_or_off: bool) -> None:
        for param in model.parameters():
            param.requires_grad = on_or_off

    def ortho(model: Any, strength: float = 1e-4, blacklist: list[Any] = []) -> None:  # noqa: B006
        with torch.no_grad():
            for param in model.parameters():
                # Only apply this to parameters with at least 2 axes, and not in the blacklist
                if len(param.shape) < 2 or any([param is item for item in blacklist]):
                    continue
                w = param.view(param.shape[0], -1)
                grad = 2 * torch.mm(
                    torch.mm(w, w.t()) * (1.0 - torch.eye(w.shape[0], device=w.device)), w
                )
                param.grad.data += strength * grad.view(param.shape)

    def loss_hinge_dis(dis_fake: Any, dis_real: Any) -> tuple[Any, Any]:
        loss_real = torch.mean(F.relu(1.0 - dis_real))
        loss_fake = torch.mean(F.relu(1.0 + dis_fake))
        return loss_real, loss_fake

    def loss_hinge_gen(dis_fake: Any) -> Any:
        loss = -torch.mean(dis_fake)
        return loss

    GD = G_D(G, D)
    ema_ = ema(G, G_ema, 0.9, 0)
    batch_size, num_D_steps, G_ortho = 2, 2, 1e-3
    values: list[float] = []

    def sample_z_y() -> tuple[Any, Any]:
        z_ = torch.from_numpy(rng.standard_normal((batch_size, G.dim_z)))
        y_ = torch.from_numpy(rng.integers(0, N_CLASSES, batch_size))
        return z_, y_

    for itr in range(3):
        G.train()
        D.train()
        x = torch.from_numpy(rng.random((batch_size * num_D_steps, 3, 8, 8)) * 2 - 1)
        y = torch.from_numpy(rng.integers(0, N_CLASSES, batch_size * num_D_steps))
        x, y = torch.split(x, batch_size), torch.split(y, batch_size)
        toggle_grad(D, True)
        toggle_grad(G, False)
        counter = 0
        for _step_index in range(num_D_steps):
            D.optim.zero_grad()
            z_, y_ = sample_z_y()
            D_fake, D_real = GD(z_[:batch_size], y_[:batch_size], x[counter], y[counter],
                                train_G=False)  # fmt: skip
            D_loss_real, D_loss_fake = loss_hinge_dis(D_fake, D_real)
            D_loss = D_loss_real + D_loss_fake
            D_loss.backward()
            counter += 1
            D.optim.step()
        toggle_grad(D, False)
        toggle_grad(G, True)
        G.optim.zero_grad()
        z_, y_ = sample_z_y()
        D_fake = GD(z_, y_, train_G=True)
        G_loss = loss_hinge_gen(D_fake)
        G_loss.backward()
        # Apply modified ortho reg in G
        ortho(G, G_ortho, blacklist=[param for param in G.shared.parameters()])
        G.optim.step()
        ema_.update(itr)
        values += [
            float(G_loss.item()),
            float(D_loss_real.item()),
            float(D_loss_fake.item()),
        ]
    G_ema.eval()
    with torch.no_grad():
        z_, y_ = sample_z_y()
        out = G_ema(z_, G_ema.shared(y_))
    values += [out.sum().item(), G.blocks[0][0].bn1.stored_var.sum().item(), G.param_count]
    return values
