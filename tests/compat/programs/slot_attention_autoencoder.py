"""evelinehong/slot-attention-pytorch (``model.py``, ``train.py``) with lucidrains/
slot-attention (``slot_attention/slot_attention.py``), size-reduced: ``SlotAttention`` with
``slots_mu = nn.Parameter(torch.randn(1, 1, dim))``, ``slots_logsigma`` under
``init.xavier_uniform_``, ``mu.expand(b, n_s, -1)``, ``slots = mu + sigma *
torch.randn(mu.shape, device=device, dtype=dtype)``, the iterative routing (``dots =
torch.einsum('bid,bjd->bij', q, k) * self.scale``, ``attn = dots.softmax(dim=1) + self.eps``
normalised over the inputs, ``updates = torch.einsum('bjd,bij->bid', v, attn)``, ``self.gru(
updates.reshape(-1, d), slots_prev.reshape(-1, d))``, the residual MLP); ``build_grid``
(``np.meshgrid(*ranges, sparse=False, indexing="ij")``, ``np.stack``, ``np.expand_dims``,
``torch.from_numpy(np.concatenate([grid, 1.0 - grid], axis=-1))``) under
``SoftPositionEmbed``'s ``nn.Linear(4, hidden_size, bias=True)`` added to the features; the
autoencoder's ``x.permute(0,2,3,1)``, a ``nn.LayerNorm(x.shape[1:])`` built afresh inside
``forward`` (``.to(device)``), the spatial broadcast ``slots.reshape((-1, slots.shape[-1]))
.unsqueeze(1).unsqueeze(2)`` with ``.repeat((1, 8, 8, 1))``, the decoder's
``nn.ConvTranspose2d(hid_dim, hid_dim, 5, stride=(2, 2), padding=2, output_padding=1)``
and crop ``x[:,:,:self.resolution[0], :self.resolution[1]]``, ``x.reshape(image.shape[0], -1,
x.shape[1], x.shape[2], x.shape[3]).split([3,1], dim=-1)``, ``nn.Softmax(dim=1)(masks)``,
``torch.sum(recons * masks, dim=1)``; ``train.py``'s warm-up and decay learning rate written
into ``optimizer.param_groups[0]['lr']`` and ``nn.MSELoss()``.

Changed: 128x128 CLEVR -> 8x8 random images, hid_dim 64 -> 8, 7 -> 3 slots, a 2-layer encoder
and a 2-layer decoder (one upsampling ``ConvTranspose2d`` from a 4x4 broadcast),
iterations 3 -> 2, 4 Adam steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-5


def build_grid(torch: Any, resolution: tuple) -> Any:
    ranges = [np.linspace(0.0, 1.0, num=res) for res in resolution]
    grid = np.meshgrid(*ranges, sparse=False, indexing="ij")
    grid = np.stack(grid, axis=-1)
    grid = np.reshape(grid, [resolution[0], resolution[1], -1])
    grid = np.expand_dims(grid, axis=0)
    grid = grid.astype(np.float32)
    return torch.from_numpy(np.concatenate([grid, 1.0 - grid], axis=-1))


def make_model(torch_like: Any) -> Any:
    torch, nn, F, init = (torch_like, torch_like.nn, torch_like.nn.functional,
                          torch_like.nn.init)  # fmt: skip

    class SlotAttention(nn.Module):
        def __init__(self, num_slots: int, dim: int, iters: int = 3, eps: float = 1e-8,
                     hidden_dim: int = 128) -> None:  # fmt: skip
            super().__init__()
            self.num_slots = num_slots
            self.iters = iters
            self.eps = eps
            self.scale = dim**-0.5

            self.slots_mu = nn.Parameter(torch.randn(1, 1, dim))

            self.slots_logsigma = nn.Parameter(torch.zeros(1, 1, dim))
            init.xavier_uniform_(self.slots_logsigma)

            self.to_q = nn.Linear(dim, dim)
            self.to_k = nn.Linear(dim, dim)
            self.to_v = nn.Linear(dim, dim)

            self.gru = nn.GRUCell(dim, dim)

            hidden_dim = max(dim, hidden_dim)

            self.mlp = nn.Sequential(
                nn.Linear(dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, dim)
            )

            self.norm_input = nn.LayerNorm(dim)
            self.norm_slots = nn.LayerNorm(dim)
            self.norm_pre_ff = nn.LayerNorm(dim)

        def forward(self, inputs: Any, num_slots: int | None = None) -> Any:
            b, n, d, device, dtype = *inputs.shape, inputs.device, inputs.dtype  # noqa: F841
            n_s = num_slots if num_slots is not None else self.num_slots

            mu = self.slots_mu.expand(b, n_s, -1)
            sigma = self.slots_logsigma.exp().expand(b, n_s, -1)

            slots = mu + sigma * torch.randn(mu.shape, device=device, dtype=dtype)

            inputs = self.norm_input(inputs)
            k, v = self.to_k(inputs), self.to_v(inputs)

            for _ in range(self.iters):
                slots_prev = slots

                slots = self.norm_slots(slots)
                q = self.to_q(slots)

                dots = torch.einsum("bid,bjd->bij", q, k) * self.scale
                attn = dots.softmax(dim=1) + self.eps

                attn = attn / attn.sum(dim=-1, keepdim=True)

                updates = torch.einsum("bjd,bij->bid", v, attn)

                slots = self.gru(updates.reshape(-1, d), slots_prev.reshape(-1, d))

                slots = slots.reshape(b, -1, d)
                slots = slots + self.mlp(self.norm_pre_ff(slots))

            return slots

    class SoftPositionEmbed(nn.Module):
        def __init__(self, hidden_size: int, resolution: tuple) -> None:
            """Builds the soft position embedding layer."""
            super().__init__()
            self.embedding = nn.Linear(4, hidden_size, bias=True)
            self.grid = build_grid(torch, resolution)

        def forward(self, inputs: Any) -> Any:
            grid = self.embedding(self.grid)
            return inputs + grid

    class Encoder(nn.Module):
        def __init__(self, resolution: tuple, hid_dim: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, hid_dim, 5, padding=2)
            self.conv2 = nn.Conv2d(hid_dim, hid_dim, 5, padding=2)
            self.encoder_pos = SoftPositionEmbed(hid_dim, resolution)

        def forward(self, x: Any) -> Any:
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = x.permute(0, 2, 3, 1)
            x = self.encoder_pos(x)
            x = torch.flatten(x, 1, 2)
            return x

    class Decoder(nn.Module):
        def __init__(self, hid_dim: int, resolution: tuple) -> None:
            super().__init__()
            self.conv1 = nn.ConvTranspose2d(hid_dim, hid_dim, 5, stride=(2, 2), padding=2,
                                            output_padding=1)  # fmt: skip
            self.conv2 = nn.ConvTranspose2d(hid_dim, 4, 3, stride=(1, 1), padding=1)
            self.decoder_initial_size = (4, 4)
            self.decoder_pos = SoftPositionEmbed(hid_dim, self.decoder_initial_size)
            self.resolution = resolution

        def forward(self, x: Any) -> Any:
            x = self.decoder_pos(x)
            x = x.permute(0, 3, 1, 2)
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = x[:, :, : self.resolution[0], : self.resolution[1]]
            x = x.permute(0, 2, 3, 1)
            return x

    class SlotAttentionAutoEncoder(nn.Module):
        def __init__(self, resolution: tuple, num_slots: int, num_iterations: int,
                     hid_dim: int) -> None:  # fmt: skip
            """Builds the Slot Attention-based auto-encoder."""
            super().__init__()
            self.hid_dim = hid_dim
            self.resolution = resolution
            self.num_slots = num_slots
            self.num_iterations = num_iterations

            self.encoder_cnn = Encoder(self.resolution, self.hid_dim)
            self.decoder_cnn = Decoder(self.hid_dim, self.resolution)

            self.fc1 = nn.Linear(hid_dim, hid_dim)
            self.fc2 = nn.Linear(hid_dim, hid_dim)

            self.slot_attention = SlotAttention(
                num_slots=self.num_slots, dim=hid_dim, iters=self.num_iterations, eps=1e-8,
                hidden_dim=16,
            )  # fmt: skip

        def forward(self, image: Any) -> tuple:
            # `image` has shape: [batch_size, num_channels, width, height].
            device = image.device

            # Convolutional encoder with position embedding.
            x = self.encoder_cnn(image)  # CNN Backbone.
            x = nn.LayerNorm(x.shape[1:]).to(device)(x)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)  # Feedforward network on set.

            # Slot Attention module.
            slots = self.slot_attention(x)
            # `slots` has shape: [batch_size, num_slots, slot_size].

            # """Broadcast slot features to a 2D grid and collapse slot dimension.""".
            slots = slots.reshape((-1, slots.shape[-1])).unsqueeze(1).unsqueeze(2)
            slots = slots.repeat((1, 4, 4, 1))

            # `slots` has shape: [batch_size*num_slots, width_init, height_init, slot_size].
            x = self.decoder_cnn(slots)

            # Undo combination of slot and batch dimension; split alpha masks.
            recons, masks = x.reshape(image.shape[0], -1, x.shape[1], x.shape[2], x.shape[3]).split(
                [3, 1], dim=-1
            )

            # Normalize alpha masks over slots.
            masks = nn.Softmax(dim=1)(masks)
            recon_combined = torch.sum(recons * masks, dim=1)  # Recombine image.
            recon_combined = recon_combined.permute(0, 3, 1, 2)

            return recon_combined, recons, masks, slots

    return SlotAttentionAutoEncoder((8, 8), num_slots=3, num_iterations=2, hid_dim=8)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(17)
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = nn.MSELoss()
    params = [{"params": model.parameters()}]
    optimizer = torch.optim.Adam(params, lr=4e-4)
    learning_rate, warmup_steps, decay_rate, decay_steps = 4e-4, 2, 0.5, 10
    values: list[float] = []
    for i in range(4):
        if i < warmup_steps:
            learning_rate = 4e-4 * ((i + 1) / warmup_steps)
        else:
            learning_rate = 4e-4
        learning_rate = learning_rate * (decay_rate ** (i / decay_steps))
        optimizer.param_groups[0]["lr"] = learning_rate
        image = as_tensor(torch, rng.random((2, 3, 8, 8)).astype(np.float32))
        recon_combined, recons, masks, slots = model(image)
        loss = criterion(recon_combined, image)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), masks.max().item(), slots.detach().abs().mean().item()]
    return values
