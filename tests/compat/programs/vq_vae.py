"""A VQ-VAE training step, as VQ-VAE repositories write it: a small conv encoder, a codebook
held in an ``nn.Embedding``, the nearest code found with ``torch.cdist`` (checked against the
expanded squared distances ``|z|^2 - 2 z.e + |e|^2`` and their ``argmin``), the
straight-through estimator ``z + (z_q - z).detach()``, the commitment loss with
``F.mse_loss``, and the exponential-moving-average codebook update done in place under
``torch.no_grad()`` (``one_hot`` checked against ``scatter_`` of ones, ``index_add_`` against a
matmul and an ``einsum``, ``.data.lerp_`` and ``mul_``/``add_`` for the moving averages, Laplace
smoothing of the cluster sizes, ``weight.data.copy_``); ``F.embedding`` on the codebook gives
the module's lookup. The codebook perplexity is ``exp(-sum p log p)`` of the mean one-hot
code; encoder and decoder train with Adam. Then they train two more steps with the other
common form of the quantizer, pytorch-vqvae's pair of ``autograd.Function``s (``addmm``
distances, ``mark_non_differentiable`` indices, a straight-through backward that
``index_add_``s the gradient into the codebook).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

CHANNELS, HIDDEN, DIM, CODES, DECAY, EPS, BETA = 1, 6, 4, 8, 0.9, 1e-5, 0.25
BATCH, SIZE, STEPS = 2, 8, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class VectorQuantizerEMA(nn.Module):
        def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
            super().__init__()
            self.num_embeddings = num_embeddings
            self.embedding_dim = embedding_dim
            self.embedding = nn.Embedding(num_embeddings, embedding_dim)
            self.embedding.weight.data.normal_()
            self.embedding.weight.requires_grad = False
            self.register_buffer("ema_cluster_size", torch_like.zeros(num_embeddings))
            self.register_buffer("ema_w", self.embedding.weight.data.clone())

        def forward(self, inputs: Any) -> tuple[Any, ...]:
            inputs = inputs.permute(0, 2, 3, 1).contiguous()  # BCHW -> BHWC
            input_shape = inputs.shape
            flat = inputs.view(-1, self.embedding_dim)
            codebook = self.embedding.weight
            distances = (
                torch_like.sum(flat**2, dim=1, keepdim=True)
                + torch_like.sum(codebook**2, dim=1)
                - 2 * torch_like.matmul(flat, codebook.t())
            )
            encoding_indices = torch_like.argmin(distances, dim=1)
            cdist_indices = torch_like.cdist(flat, codebook).argmin(dim=-1)
            encodings = F.one_hot(encoding_indices, self.num_embeddings).type(flat.dtype)
            scattered = torch_like.zeros(encoding_indices.shape[0], self.num_embeddings)
            scattered.scatter_(1, encoding_indices.unsqueeze(1), 1)
            assert torch_like.equal(scattered, encodings)
            quantized = self.embedding(encoding_indices).view(input_shape)
            looked_up = F.embedding(encoding_indices, codebook).view(input_shape)
            assert torch_like.equal(quantized, looked_up)

            if self.training:
                with torch_like.no_grad():
                    counts = encodings.sum(0)
                    self.ema_cluster_size.data.lerp_(counts, 1 - DECAY)
                    n = torch_like.sum(self.ema_cluster_size.data)
                    self.ema_cluster_size = (
                        (self.ema_cluster_size + EPS) / (n + self.num_embeddings * EPS) * n
                    )
                    dw = torch_like.zeros_like(self.ema_w)
                    dw.index_add_(0, encoding_indices, flat.detach())
                    dw_matmul = torch_like.matmul(encodings.t(), flat)
                    dw_einsum = torch_like.einsum("nd,nc->cd", flat, encodings)
                    assert torch_like.allclose(dw, dw_matmul) and torch_like.allclose(dw, dw_einsum)
                    self.ema_w.mul_(DECAY).add_(dw, alpha=1 - DECAY)
                    self.embedding.weight.data.copy_(
                        self.ema_w / self.ema_cluster_size.unsqueeze(1)
                    )

            e_latent_loss = F.mse_loss(quantized.detach(), inputs)
            loss = BETA * e_latent_loss
            quantized = inputs + (quantized - inputs).detach()
            avg_probs = torch_like.mean(encodings, dim=0)
            perplexity = torch_like.exp(
                -torch_like.sum(avg_probs * torch_like.log(avg_probs + 1e-10))
            )
            same = (cdist_indices == encoding_indices).all()
            return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, same

    class VQVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(CHANNELS, HIDDEN, 4, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(HIDDEN, DIM, 3, padding=1),
            )
            self.vq = VectorQuantizerEMA(CODES, DIM)
            self.decoder = nn.Sequential(
                nn.Conv2d(DIM, HIDDEN, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(HIDDEN, CHANNELS, 4, stride=2, padding=1),
            )

        def forward(self, x: Any) -> tuple[Any, ...]:
            z = self.encoder(x)
            vq_loss, quantized, perplexity, same = self.vq(z)
            return vq_loss, self.decoder(quantized), perplexity, same

    return VQVAE()


def straight_through_quantizer(torch_like: Any) -> Any:
    """The pytorch-vqvae form: the nearest code and the straight-through gradient written as
    ``autograd.Function``s (``addmm`` distances, ``mark_non_differentiable`` indices, a
    backward that copies the gradient to the input and ``index_add_``s it into the codebook)."""
    Function = torch_like.autograd.Function

    class VectorQuantization(Function):
        @staticmethod
        def forward(ctx: Any, inputs: Any, codebook: Any) -> Any:
            with torch_like.no_grad():
                flat = inputs.view(-1, codebook.size(1))
                codebook_sqr = torch_like.sum(codebook**2, dim=1)
                inputs_sqr = torch_like.sum(flat**2, dim=1, keepdim=True)
                distances = torch_like.addmm(
                    codebook_sqr + inputs_sqr, flat, codebook.t(), alpha=-2.0, beta=1.0
                )
                _, indices_flatten = torch_like.min(distances, dim=1)
                indices = indices_flatten.view(*inputs.size()[:-1])
                ctx.mark_non_differentiable(indices)
                return indices

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            raise RuntimeError("VectorQuantization is not differentiable; use vq_st")

    class VectorQuantizationStraightThrough(Function):
        @staticmethod
        def forward(ctx: Any, inputs: Any, codebook: Any) -> tuple[Any, Any]:
            indices = VectorQuantization.apply(inputs, codebook).view(-1)
            ctx.save_for_backward(indices, codebook)
            ctx.mark_non_differentiable(indices)
            codes = torch_like.index_select(codebook, dim=0, index=indices).view_as(inputs)
            return codes, indices

        @staticmethod
        def backward(ctx: Any, grad_output: Any, grad_indices: Any) -> tuple[Any, Any]:
            grad_inputs, grad_codebook = None, None
            if ctx.needs_input_grad[0]:
                grad_inputs = grad_output.clone()
            if ctx.needs_input_grad[1]:
                indices, codebook = ctx.saved_tensors
                flat = grad_output.contiguous().view(-1, codebook.size(1))
                grad_codebook = torch_like.zeros_like(codebook)
                grad_codebook.index_add_(0, indices, flat)
            return grad_inputs, grad_codebook

    return VectorQuantizationStraightThrough.apply


def function_quantizer_steps(torch_like: Any, model: Any, rng: np.random.Generator) -> list[float]:
    """Two steps of the pytorch-vqvae loss (reconstruction through ``vq_st`` on the detached
    codebook, plus codebook and commitment losses) with its own learnable codebook."""
    F = torch_like.nn.functional
    vq_st = straight_through_quantizer(torch_like)
    codebook = torch_like.nn.Embedding(CODES, DIM)
    codebook.weight.data.uniform_(-1.0 / CODES, 1.0 / CODES)
    codebook.weight.data.copy_(model.vq.embedding.weight.data)
    params = [*model.encoder.parameters(), *model.decoder.parameters(), *codebook.parameters()]
    optimizer = torch_like.optim.Adam(params, lr=2e-3)
    values = []
    for _step in range(2):
        x = as_tensor(torch_like, rng.random((BATCH, CHANNELS, SIZE, SIZE)))
        optimizer.zero_grad()
        z_e = model.encoder(x).permute(0, 2, 3, 1).contiguous()
        z_q_st, indices = vq_st(z_e, codebook.weight.detach())
        z_q_bar = torch_like.index_select(codebook.weight, dim=0, index=indices).view_as(z_e)
        x_tilde = model.decoder(z_q_st.permute(0, 3, 1, 2).contiguous())
        loss_recons = F.mse_loss(x_tilde, x)
        loss_vq = F.mse_loss(z_q_bar, z_e.detach())
        loss_commit = F.mse_loss(z_e, z_q_bar.detach())
        loss = loss_recons + loss_vq + BETA * loss_commit
        loss.backward()
        optimizer.step()
        values += [loss.item(), loss_vq.item(), float(indices.requires_grad)]
        values += codebook.weight.grad.flatten().tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch_like.optim.Adam(params, lr=1e-2, amsgrad=False)
    data_variance = 0.1
    values: list[float] = []
    model.train()
    for _step in range(STEPS):
        x = as_tensor(torch_like, rng.random((BATCH, CHANNELS, SIZE, SIZE)))
        optimizer.zero_grad()
        vq_loss, x_recon, perplexity, same = model(x)
        recon_error = F.mse_loss(x_recon, x) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        optimizer.step()
        values += [loss.item(), recon_error.item(), perplexity.item(), float(same.item())]
    values += model.vq.embedding.weight.data.flatten().tolist()
    values += model.vq.ema_cluster_size.tolist()
    return values + function_quantizer_steps(torch_like, model, rng)


def check(values: list[float]) -> None:
    for step in range(STEPS):
        assert values[4 * step + 3] == 1.0  # cdist and the expanded distances agree
        assert 1.0 - 1e-9 <= values[4 * step + 2] <= CODES  # perplexity within [1, codes]
