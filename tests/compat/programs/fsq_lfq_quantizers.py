"""lucidrains/vector-quantize-pytorch (``finite_scalar_quantization.py``,
``lookup_free_quantization.py``, ``examples/autoencoder_fsq.py``), size-reduced: the
autoencoder of the FSQ example trained with FSQ, then an LFQ bottleneck with its entropy loss.

Kept verbatim: ``round_ste`` (``z + (zhat - z).detach()``); FSQ's buffers
``torch.tensor(levels, dtype=int32)`` and ``torch.cumprod(torch.tensor([1] + levels[:-1]), dim=0,
dtype=int32)`` registered with ``persistent = False``, ``self._levels.prod().item()``, the
implicit codebook from ``torch.arange(self.codebook_size)``, ``bound`` (``torch.where(self._levels
% 2 == 0, 0.5, 0.0)``, ``(offset / half_l).atanh()``, ``(z + shift).tanh() * half_l - offset``),
``quantize`` (``quantized / half_width`` with ``half_width = self._levels // 2``),
``codes_to_indices`` (``(zhat * self._basis).sum(dim=-1).to(int32)``),
``indices_to_level_indices`` (``(indices // self._basis) % self._levels``), ``codes.type(
orig_dtype)`` under ``autocast(enabled = False)``; LFQ's ``2 ** torch.arange(codebook_dim - 1, -1,
-1)`` mask, ``((all_codes[..., None].int() & self.mask) != 0).float()`` bits,
``bits_to_codes``, ``torch.where(x > 0, codebook_value, -codebook_value)``, the indices as the
sum of ``(quantized > 0).int() * self.mask.int()``, the straight-through
``x + (quantized - x).detach()``, ``-2 * einsum('... i d, j d -> ... i j', ...)`` distances,
``(-distance * inv_temperature).softmax(dim = -1)``, ``entropy`` with ``t.clamp(min = eps).log()``
and the aux loss ``per_sample_entropy - self.diversity_gamma * codebook_entropy`` plus the
commitment ``F.mse_loss(original_input, quantized.detach(), reduction = 'none').mean()``; the
example's ``SimpleFSQAutoEncoder`` (``nn.ModuleList`` of Conv2d/MaxPool2d/GELU/
``nn.Upsample(scale_factor=2, mode="nearest")``, ``isinstance(layer, FSQ)`` unpacking ``x,
indices``, ``x.clamp(-1, 1)``), ``iterate_dataset``'s ``next(data_iter)`` with ``StopIteration``
restart, ``rec_loss = (out - x).abs().mean()`` under ``torch.optim.AdamW``, and the "active %"
``indices.unique().numel() / num_codes * 100``.

Changed: einops' ``rearrange``/``pack_one``/``reduce`` written as ``permute``/``reshape``/``sum``
(the same layouts); FashionMNIST 28x28 -> 8x8 seeded NumPy images of batch 4; levels [8, 5, 5,
5] -> [8, 5, 3]; 16/32 -> 4/6 channels; 2000 iterations -> 5 per quantizer; ``autocast('cuda',
...)`` -> ``torch.autocast('cpu', enabled=False)`` (no CUDA here); LFQ without projections
(``dim == codebook_dim``), ``codebook_size`` 2**3.
"""

from __future__ import annotations

from math import log2
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

LEVELS, STEPS, BATCH = [8, 5, 3], 5, 4


def _fsq(torch: Any) -> type:
    nn, int32 = torch.nn, torch.int32

    def round_ste(z):  # noqa: ANN001, ANN202
        """Round with straight through gradients."""
        zhat = z.round()
        return z + (zhat - z).detach()

    class FSQ(nn.Module):
        def __init__(self, levels, dim=None, num_codebooks=1,  # noqa: ANN001, ANN204
                     allowed_dtypes=(torch.float32, torch.float64)):  # fmt: skip
            super().__init__()
            _levels = torch.tensor(levels, dtype=int32)
            self.register_buffer("_levels", _levels, persistent=False)
            _basis = torch.cumprod(torch.tensor([1] + levels[:-1]), dim=0, dtype=int32)
            self.register_buffer("_basis", _basis, persistent=False)
            codebook_dim = len(levels)
            self.codebook_dim = codebook_dim
            effective_codebook_dim = codebook_dim * num_codebooks
            self.num_codebooks = num_codebooks
            self.allowed_dtypes = allowed_dtypes
            self.dim = dim if dim is not None else len(_levels) * num_codebooks
            has_projections = self.dim != effective_codebook_dim
            self.project_in = (
                nn.Linear(self.dim, effective_codebook_dim) if has_projections else nn.Identity()
            )
            self.project_out = (
                nn.Linear(effective_codebook_dim, self.dim) if has_projections else nn.Identity()
            )
            self.codebook_size = self._levels.prod().item()
            implicit_codebook = self._indices_to_codes(torch.arange(self.codebook_size))
            self.register_buffer("implicit_codebook", implicit_codebook, persistent=False)

        def bound(self, z, eps: float = 1e-3):  # noqa: ANN001, ANN201
            """Bound `z`, an array of shape (..., d)."""
            half_l = (self._levels - 1) * (1 + eps) / 2
            offset = torch.where(self._levels % 2 == 0, 0.5, 0.0)
            shift = (offset / half_l).atanh()
            return (z + shift).tanh() * half_l - offset

        def quantize(self, z):  # noqa: ANN001, ANN201
            """Quantizes z, returns quantized zhat, same shape as z."""
            quantized = round_ste(self.bound(z))
            half_width = self._levels // 2  # Renormalize to [-1, 1].
            return quantized / half_width

        def _scale_and_shift(self, zhat_normalized):  # noqa: ANN001, ANN202
            half_width = self._levels // 2
            return (zhat_normalized * half_width) + half_width

        def _scale_and_shift_inverse(self, zhat):  # noqa: ANN001, ANN202
            half_width = self._levels // 2
            return (zhat - half_width) / half_width

        def _indices_to_codes(self, indices):  # noqa: ANN001, ANN202
            level_indices = self.indices_to_level_indices(indices)
            codes = self._scale_and_shift_inverse(level_indices)
            return codes

        def codes_to_indices(self, zhat):  # noqa: ANN001, ANN201
            """Converts a `code` to an index in the codebook."""
            assert zhat.shape[-1] == self.codebook_dim
            zhat = self._scale_and_shift(zhat)
            return (zhat * self._basis).sum(dim=-1).to(int32)

        def indices_to_level_indices(self, indices):  # noqa: ANN001, ANN201
            indices = indices.unsqueeze(-1)  # rearrange(indices, '... -> ... 1')
            codes_non_centered = (indices // self._basis) % self._levels
            return codes_non_centered

        def forward(self, z):  # noqa: ANN001, ANN201
            is_img_or_video = z.ndim >= 4
            if is_img_or_video:  # rearrange 'b d ... -> b ... d', pack_one 'b * d'
                z = z.permute(0, 2, 3, 1)
                ps = z.shape[1:3]
                z = z.reshape(z.shape[0], -1, z.shape[-1])
            z = self.project_in(z)
            z = z.reshape(*z.shape[:2], self.num_codebooks, -1)  # 'b n (c d) -> b n c d'
            with torch.autocast("cpu", enabled=False):
                orig_dtype = z.dtype
                if orig_dtype not in self.allowed_dtypes:
                    z = z.float()
                codes = self.quantize(z)
                indices = self.codes_to_indices(codes)
                codes = codes.reshape(*codes.shape[:2], -1)  # 'b n c d -> b n (c d)'
                codes = codes.type(orig_dtype)
            out = self.project_out(codes)
            if is_img_or_video:  # unpack_one, then 'b ... d -> b d ...'
                out = out.reshape(out.shape[0], *ps, out.shape[-1]).permute(0, 3, 1, 2)
                indices = indices.reshape(indices.shape[0], *ps, -1)
            indices = indices.squeeze(-1)  # one codebook: 'b * 1 -> b *'
            return out, indices

    return FSQ


def _lfq(torch: Any) -> type:
    nn, F = torch.nn, torch.nn.functional

    def log(t, eps=1e-5):  # noqa: ANN001, ANN202
        return t.clamp(min=eps).log()

    def entropy(prob):  # noqa: ANN001, ANN202
        return (-prob * log(prob)).sum(dim=-1)

    class LFQ(nn.Module):
        def __init__(self, *, codebook_size, entropy_loss_weight=0.1,  # noqa: ANN001, ANN204
                     commitment_loss_weight=0.25, diversity_gamma=1.0,
                     codebook_scale=1.0):  # fmt: skip
            super().__init__()
            codebook_dim = int(log2(codebook_size))
            self.codebook_dim, self.codebook_scale = codebook_dim, codebook_scale
            self.entropy_loss_weight = entropy_loss_weight
            self.commitment_loss_weight = commitment_loss_weight
            self.diversity_gamma = diversity_gamma
            self.activation = nn.Identity()
            self.register_buffer(
                "mask", 2 ** torch.arange(codebook_dim - 1, -1, -1), persistent=False
            )
            self.register_buffer("zero", torch.tensor(0.0), persistent=False)
            all_codes = torch.arange(codebook_size)
            bits = ((all_codes[..., None].int() & self.mask) != 0).float()
            codebook = self.bits_to_codes(bits)
            self.register_buffer("codebook", codebook, persistent=False)

        def bits_to_codes(self, bits):  # noqa: ANN001, ANN201
            return bits * self.codebook_scale * 2 - self.codebook_scale

        def forward(self, x, inv_temperature=100.0):  # noqa: ANN001, ANN201
            x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1])  # 'b d ... -> b (...) d'
            x = x.unsqueeze(2)  # 'b n (c d) -> b n c d', c = 1
            original_input = x
            codebook_value = torch.ones_like(x) * self.codebook_scale
            quantized = torch.where(x > 0, codebook_value, -codebook_value)
            indices = ((quantized > 0).int() * self.mask.int()).sum(-1)  # reduce 'b n c d -> b n c'
            if self.training:
                x = self.activation(x)
                x = x + (quantized - x).detach()
            else:
                x = quantized
            entropy_aux_loss = commit_loss = self.zero
            if self.training:
                codebook = self.codebook.type(original_input.dtype)
                distance = -2 * torch.einsum("... i d, j d -> ... i j", original_input, codebook)
                prob = (-distance * inv_temperature).softmax(dim=-1)
                per_sample_entropy = entropy(prob).mean()
                avg_prob = prob.reshape(-1, *prob.shape[-2:]).mean(0)  # '... c d -> c d'
                codebook_entropy = entropy(avg_prob).mean()
                entropy_aux_loss = per_sample_entropy - self.diversity_gamma * codebook_entropy
            if self.training and self.commitment_loss_weight > 0.0:
                commit_loss = F.mse_loss(original_input, quantized.detach(), reduction="none")
                commit_loss = commit_loss.mean()
            aux_loss = (
                entropy_aux_loss * self.entropy_loss_weight
                + commit_loss * self.commitment_loss_weight
            )
            return x, indices.squeeze(-1), aux_loss

    return LFQ


def _autoencoder(torch: Any, quantizer: Any, n_codes: int) -> Any:
    nn = torch.nn

    class SimpleQuantizedAutoEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                [
                    nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1),
                    nn.MaxPool2d(kernel_size=2, stride=2),
                    nn.GELU(),
                    nn.Conv2d(4, 6, kernel_size=3, stride=1, padding=1),
                    nn.MaxPool2d(kernel_size=2, stride=2),
                    nn.Conv2d(6, n_codes, kernel_size=1),
                    quantizer,
                    nn.Conv2d(n_codes, 6, kernel_size=3, stride=1, padding=1),
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(6, 4, kernel_size=3, stride=1, padding=1),
                    nn.GELU(),
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(4, 1, kernel_size=3, stride=1, padding=1),
                ]
            )

        def forward(self, x: Any) -> Any:
            aux = 0.0
            for layer in self.layers:
                if isinstance(layer, type(quantizer)) and hasattr(layer, "bits_to_codes"):
                    b, _, h, w = x.shape
                    x, indices, aux = layer(x)
                    x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2)
                elif isinstance(layer, type(quantizer)):
                    x, indices = layer(x)
                else:
                    x = layer(x)
            return x.clamp(-1, 1), indices, aux

    return SimpleQuantizedAutoEncoder()


def make_model(torch_like: Any) -> Any:
    return _autoencoder(torch_like, _fsq(torch_like)(LEVELS), len(LEVELS))


def init_state(tmp_path: Any) -> dict:
    import torch  # the starting weights, as the harness makes them

    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    fsq = {k: v.detach().numpy().copy() for k, v in make_model(torch).state_dict().items()}
    lfq = _autoencoder(torch, _lfq(torch)(codebook_size=8), 3)
    return {
        "fsq": fsq,
        "lfq": {k: v.detach().numpy().copy() for k, v in lfq.state_dict().items()},
        "images": rng.uniform(-1, 1, (6, 1, 8, 8)),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    images = torch.tensor(init["images"])
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, torch.zeros(6)), batch_size=BATCH, shuffle=True
    )

    def iterate_dataset(data_loader):  # noqa: ANN001, ANN202
        data_iter = iter(data_loader)
        while True:
            try:
                x, y = next(data_iter)
            except StopIteration:
                data_iter = iter(data_loader)
                x, y = next(data_iter)
            yield x, y

    values: list[float] = []
    torch.manual_seed(0)
    models = (
        ("fsq", make_model(torch), int(np.prod(LEVELS))),
        ("lfq", _autoencoder(torch, _lfq(torch)(codebook_size=8), 3), 8),
    )
    for name, model, num_codes in models:
        load_numpy_state(torch, model, init[name])
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        batches = iterate_dataset(loader)
        model.train()
        for _ in range(STEPS):
            opt.zero_grad()
            x, _ = next(batches)
            out, indices, aux = model(x)
            rec_loss = (out - x).abs().mean()
            (rec_loss + aux).backward()
            opt.step()
            active = indices.unique().numel() / num_codes * 100
            aux_value = aux.item() if torch.is_tensor(aux) else aux
            values += [rec_loss.item(), aux_value, active]
        quantizer = model.layers[6]
        if name == "fsq":
            codes = quantizer.implicit_codebook
            values += [
                codes.sum().item(),
                float((quantizer.codes_to_indices(codes) == torch.arange(num_codes)).all()),
            ]
    return values
