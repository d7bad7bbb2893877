"""TopK sparse autoencoders on model activations, as interpretability code writes them: OpenAI's
sparse_autoencoder (``model.py``'s ``TopK``, ``Autoencoder``, ``LN``, ``loss.py``; ``train.py``'s
``FastAutoencoder``) and EleutherAI's sae (``sae.py``, ``trainer.py``), size-reduced.

OpenAI ``model.py``: ``TopK`` (``topk = torch.topk(x, k=self.k, dim=-1)``, ``result =
torch.zeros_like(x)``, ``result.scatter_(-1, topk.indices, values)`` with ``values =
self.postact_fn(topk.values)``) whose ``state_dict`` override adds the non-tensor entries ``k``
and ``postact_fn``; the ``Autoencoder`` with ``pre_bias`` / ``latent_bias`` parameters,
``F.linear(x, self.encoder.weight[latent_slice], self.latent_bias[latent_slice])``, the ``LN``
preprocessing (``x.std(dim=-1, keepdim=True)``) undone in ``decode``, ``register_buffer`` of
``torch.zeros(n, dtype=torch.long)`` and ``torch.ones(n, dtype=torch.float)`` stats and
``self.stats_last_nonzero *= (latents == 0).all(dim=0).long(); self.stats_last_nonzero += 1``;
``loss.py``'s ``normalized_mean_squared_error`` and ``normalized_L1_loss``.

OpenAI ``train.py``: the tied init ``self.decoder.weight.data = self.encoder.weight.data.T
.clone()`` and ``.T.contiguous().T``, ``unit_norm_decoder_`` (``weight.data /= weight.data.norm(
dim=0)``), the stats by ``tmp.scatter_add_(0, inds.reshape(-1), (vals > 1e-3).to(tmp.dtype)
.reshape(-1))`` and ``*= 1 - tmp.clamp(max=1)``, the AuxK mask ``x.data *= dead_mask`` (an
in-place multiply by a bool tensor through ``.data``), ``normalized_mse`` with ``xs_mu[None,
:].broadcast_to(xs.shape)``, ``.nan_to_num(0)``, the gradient adjustment ``grad -= einsum(
"bn,bn->n", W, grad) * W`` and ``torch.optim.Adam(ae.parameters(), lr=lr, eps=6.25e-10)``.

EleutherAI ``sae.py``: ``W_dec = nn.Parameter(torch.nn.init.kaiming_uniform_(torch.empty(d_sae,
d_in)))``, the tied pre-bias ``x - self.b_dec``, ``latents.topk(k, sorted=False)`` into a
``NamedTuple``, the eager decode (``top_acts.new_zeros(...)``, ``buf.scatter_(dim=-1,
index=top_indices, src=top_acts)``, ``acts @ W_dec``), ``set_decoder_norm_to_unit_norm`` under
``@torch.no_grad()`` (``torch.finfo(self.W_dec.dtype).eps``), the gradient projection
``parallel = torch.einsum('...d,...d->...', W_dec.grad, W_dec.data)``, ``W_dec.grad -=
parallel[..., None] * W_dec.data``, the AuxK loss over dead latents (``if dead_mask is not None
and (num_dead := int(dead_mask.sum())) > 0``, ``torch.where(dead_mask[None], pre_acts,
-torch.inf)``), ``fvu = l2_loss / total_variance``, ``sae_out.new_tensor(0.0)``; the trainer's
``did_fire[indices.flatten()] = True``, ``num_tokens_since_fired[did_fire] = 0``,
``torch.count_nonzero`` and the default ``lr = 2e-4 / (num_latents / (2**14)) ** 0.5``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "make_model", "run"]

D_IN, N_LATENTS, K, AUXK, DEAD_STEPS, BATCH, STEPS = 6, 16, 3, 4, 1, 10, 4


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def LN(x: Any, eps: float = 1e-5) -> tuple[Any, Any, Any]:
        mu = x.mean(dim=-1, keepdim=True)
        x = x - mu
        std = x.std(dim=-1, keepdim=True)
        x = x / (std + eps)
        return x, mu, std

    class TopK(nn.Module):
        def __init__(self, k: int, postact_fn: Any = None) -> None:
            super().__init__()
            self.k = k
            self.postact_fn = nn.ReLU() if postact_fn is None else postact_fn

        def forward(self, x: Any) -> Any:
            topk = torch.topk(x, k=self.k, dim=-1)
            values = self.postact_fn(topk.values)
            # make all other values 0
            result = torch.zeros_like(x)
            result.scatter_(-1, topk.indices, values)
            return result

        def state_dict(self, destination: Any = None, prefix: str = "", keep_vars: bool = False):
            state_dict = super().state_dict(
                destination=destination, prefix=prefix, keep_vars=keep_vars
            )
            state_dict.update(
                {prefix + "k": self.k, prefix + "postact_fn": self.postact_fn.__class__.__name__}
            )
            return state_dict

    class Autoencoder(nn.Module):
        """Sparse autoencoder: latents = activation(encoder(x - pre_bias) + latent_bias)"""

        def __init__(self, n_latents: int, n_inputs: int, activation: Any, normalize: bool):
            super().__init__()
            self.pre_bias = nn.Parameter(torch.zeros(n_inputs))
            self.encoder = nn.Linear(n_inputs, n_latents, bias=False)
            self.latent_bias = nn.Parameter(torch.zeros(n_latents))
            self.activation = activation
            self.decoder = nn.Linear(n_latents, n_inputs, bias=False)
            self.normalize = normalize
            self.register_buffer("stats_last_nonzero", torch.zeros(n_latents, dtype=torch.long))
            self.register_buffer(
                "latents_activation_frequency", torch.ones(n_latents, dtype=torch.float)
            )

        def encode_pre_act(self, x: Any, latent_slice: slice = slice(None)) -> Any:
            x = x - self.pre_bias
            return F.linear(x, self.encoder.weight[latent_slice], self.latent_bias[latent_slice])

        def preprocess(self, x: Any) -> tuple[Any, dict]:
            if not self.normalize:
                return x, dict()
            x, mu, std = LN(x)
            return x, dict(mu=mu, std=std)

        def decode(self, latents: Any, info: dict | None = None) -> Any:
            ret = self.decoder(latents) + self.pre_bias
            if self.normalize:
                assert info is not None
                ret = ret * info["std"] + info["mu"]
            return ret

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            x, info = self.preprocess(x)
            latents_pre_act = self.encode_pre_act(x)
            latents = self.activation(latents_pre_act)
            recons = self.decode(latents, info)
            # set all indices of self.stats_last_nonzero where (latents != 0) to 0
            self.stats_last_nonzero *= (latents == 0).all(dim=0).long()
            self.stats_last_nonzero += 1
            return latents_pre_act, latents, recons

    class FastAutoencoder(nn.Module):
        def __init__(self, n_dirs: int, d_model: int, k: int, auxk: int, dead_steps: int):
            super().__init__()
            self.n_dirs = n_dirs
            self.d_model = d_model
            self.k = k
            self.auxk = auxk
            self.dead_steps_threshold = dead_steps
            self.encoder = nn.Linear(d_model, n_dirs, bias=False)
            self.decoder = nn.Linear(n_dirs, d_model, bias=False)
            self.pre_bias = nn.Parameter(torch.zeros(d_model))
            self.latent_bias = nn.Parameter(torch.zeros(n_dirs))
            self.stats_last_nonzero: Any
            self.register_buffer("stats_last_nonzero", torch.zeros(n_dirs, dtype=torch.long))

            def auxk_mask_fn(x: Any) -> Any:
                dead_mask = self.stats_last_nonzero > dead_steps
                x.data *= dead_mask  # inplace to save memory
                return x

            self.auxk_mask_fn = auxk_mask_fn
            ## initialization
            # "tied" init
            self.decoder.weight.data = self.encoder.weight.data.T.clone()
            # store decoder in column major layout for kernel
            self.decoder.weight.data = self.decoder.weight.data.T.contiguous().T
            unit_norm_decoder_(self)

        def forward(self, x: Any) -> tuple[Any, dict]:
            x = x - self.pre_bias
            latents_pre_act = self.encoder(x) + self.latent_bias
            vals, inds = torch.topk(latents_pre_act, k=self.k, dim=-1)
            ## set num nonzero stat ##
            tmp = torch.zeros_like(self.stats_last_nonzero)
            tmp.scatter_add_(0, inds.reshape(-1), (vals > 1e-3).to(tmp.dtype).reshape(-1))
            self.stats_last_nonzero *= 1 - tmp.clamp(max=1)
            self.stats_last_nonzero += 1
            ## end stats ##
            # IMPORTANT: has to go after stats update!
            # WARN: auxk_mask_fn can mutate latents_pre_act!
            auxk_vals, auxk_inds = torch.topk(
                self.auxk_mask_fn(latents_pre_act), k=self.auxk, dim=-1
            )
            vals = torch.relu(vals)
            auxk_vals = torch.relu(auxk_vals)
            recons = self.decode_sparse(inds, vals)
            return recons, {"auxk_inds": auxk_inds, "auxk_vals": auxk_vals}

        def decode_sparse(self, inds: Any, vals: Any) -> Any:
            latents = torch.zeros(inds.shape[0], self.n_dirs, dtype=vals.dtype)
            latents = latents.scatter(1, inds, vals)
            return latents @ self.decoder.weight.T + self.pre_bias

    def unit_norm_decoder_(autoencoder: Any) -> None:
        autoencoder.decoder.weight.data /= autoencoder.decoder.weight.data.norm(dim=0)

    class EncoderOutput(NamedTuple):
        top_acts: Any
        top_indices: Any

    class Sae(nn.Module):
        def __init__(self, d_in: int, num_latents: int, k: int) -> None:
            super().__init__()
            self.d_in = d_in
            self.num_latents = num_latents
            self.k = k
            self.encoder = nn.Linear(d_in, num_latents)
            self.encoder.bias.data.zero_()
            self.W_dec = nn.Parameter(
                torch.nn.init.kaiming_uniform_(torch.empty(num_latents, d_in))
            )
            self.set_decoder_norm_to_unit_norm()
            self.b_dec = nn.Parameter(torch.zeros(d_in))

        @property
        def dtype(self) -> Any:
            return self.encoder.weight.dtype

        def pre_acts(self, x: Any) -> Any:
            # Remove decoder bias as per Anthropic
            sae_in = x.to(self.dtype) - self.b_dec
            out = self.encoder(sae_in)
            return nn.functional.relu(out)

        def select_topk(self, latents: Any) -> EncoderOutput:
            return EncoderOutput(*latents.topk(self.k, sorted=False))

        def decode(self, top_acts: Any, top_indices: Any) -> Any:
            buf = top_acts.new_zeros(top_acts.shape[:-1] + (self.W_dec.shape[0],))
            acts = buf.scatter_(dim=-1, index=top_indices, src=top_acts)
            return acts @ self.W_dec + self.b_dec

        def forward(self, x: Any, dead_mask: Any = None) -> dict:
            pre_acts = self.pre_acts(x)
            top_acts, top_indices = self.select_topk(pre_acts)
            sae_out = self.decode(top_acts, top_indices)
            e = sae_out - x
            # Used as a denominator for putting everything on a reasonable scale
            total_variance = (x - x.mean(0)).pow(2).sum()
            # Second decoder pass for AuxK loss
            if dead_mask is not None and (num_dead := int(dead_mask.sum())) > 0:
                # Heuristic from Appendix B.1 in the paper
                k_aux = x.shape[-1] // 2
                # Reduce the scale of the loss if there are a small number of dead latents
                scale = min(num_dead / k_aux, 1.0)
                k_aux = min(k_aux, num_dead)
                # Don't include living latents in this loss
                auxk_latents = torch.where(dead_mask[None], pre_acts, -torch.inf)
                # Top-k dead latents
                auxk_acts, auxk_indices = auxk_latents.topk(k_aux, sorted=False)
                # Encourage the top ~50% of dead latents to predict the residual of the
                # top k living latents
                e_hat = self.decode(auxk_acts, auxk_indices)
                auxk_loss = (e_hat - e.detach()).pow(2).sum()
                auxk_loss = scale * auxk_loss / total_variance
            else:
                auxk_loss = sae_out.new_tensor(0.0)
            l2_loss = e.pow(2).sum()
            fvu = l2_loss / total_variance
            return dict(
                sae_out=sae_out,
                latent_acts=top_acts,
                latent_indices=top_indices,
                fvu=fvu,
                auxk_loss=auxk_loss,
            )

        @torch.no_grad()
        def set_decoder_norm_to_unit_norm(self) -> None:
            eps = torch.finfo(self.W_dec.dtype).eps
            norm = torch.norm(self.W_dec.data, dim=1, keepdim=True)
            self.W_dec.data /= norm + eps

        @torch.no_grad()
        def remove_gradient_parallel_to_decoder_directions(self) -> None:
            assert self.W_dec.grad is not None
            parallel = torch.einsum("...d,...d->...", self.W_dec.grad, self.W_dec.data)
            self.W_dec.grad -= parallel[..., None] * self.W_dec.data

    return nn.ModuleDict(
        {
            "openai": Autoencoder(N_LATENTS, D_IN, TopK(K), normalize=True),
            "fast": FastAutoencoder(N_LATENTS, D_IN, K, AUXK, DEAD_STEPS),
            "sae": Sae(D_IN, N_LATENTS, K),
        }
    )


def init_state(tmp_path: Any) -> dict:
    """The torch model's tensors (``TopK``'s ``state_dict`` adds an int and a str entry)."""
    import torch

    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        state = make_model(torch).state_dict()
    finally:
        torch.set_default_dtype(prev)
    assert state["openai.activation.k"] == K
    assert state["openai.activation.postact_fn"] == "ReLU"
    return {k: v.numpy().copy() for k, v in state.items() if isinstance(v, torch.Tensor)}


def normalized_mean_squared_error(reconstruction: Any, original_input: Any) -> Any:
    return (
        ((reconstruction - original_input) ** 2).mean(dim=1) / (original_input**2).mean(dim=1)
    ).mean()


def normalized_L1_loss(latent_activations: Any, original_input: Any) -> Any:
    return (latent_activations.abs().sum(dim=1) / original_input.norm(dim=1)).mean()


def mse(output: Any, target: Any) -> Any:
    return ((output - target) ** 2).mean()


def normalized_mse(recons: Any, xs: Any) -> Any:
    # only used for auxk
    xs_mu = xs.mean(dim=0)
    return mse(recons, xs) / mse(xs_mu[None, :].broadcast_to(xs.shape), xs)


def openai_steps(torch_like: Any, ae: Any, data: list) -> list[float]:
    optimizer = torch_like.optim.Adam(ae.parameters(), lr=1e-2)
    values: list[float] = []
    for x in data:
        latents_pre_act, latents, recons = ae(x)
        loss = normalized_mean_squared_error(recons, x) + 1e-3 * normalized_L1_loss(latents, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(torch_like.count_nonzero(latents).item())]
        values += ae.stats_last_nonzero.tolist()
    topk_state = ae.activation.state_dict()
    values += [float(topk_state["k"]), float(ae.latents_activation_frequency.sum().item())]
    return values + [float(ae.latents_activation_frequency.dtype == torch_like.float32)]


def fast_steps(torch_like: Any, ae: Any, data: list) -> list[float]:
    torch = torch_like
    opt = torch.optim.Adam(ae.parameters(), lr=1e-2, eps=6.25e-10)
    values: list[float] = []
    for x in data:
        recons, info = ae(x)
        train_recons = mse(recons, x)
        train_maxk_recons = normalized_mse(
            ae.decode_sparse(info["auxk_inds"], info["auxk_vals"]),
            x - recons.detach() + ae.pre_bias.detach(),
        ).nan_to_num(0)
        loss = train_recons + 1 / 32 * train_maxk_recons
        loss.backward()
        weight = ae.decoder.weight
        weight.data /= weight.data.norm(dim=0)
        weight.grad -= torch.einsum("bn,bn->n", weight.data, weight.grad) * weight.data
        opt.step()
        opt.zero_grad()
        values += [loss.item(), train_maxk_recons.item()]
        values += ae.stats_last_nonzero.tolist()
    return values + [weight.norm(dim=0).sum().item()]


def eleuther_steps(torch_like: Any, sae: Any, data: list) -> list[float]:
    torch = torch_like
    num_latents = sae.num_latents
    lr = 2e-4 / (num_latents / (2**14)) ** 0.5
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr)
    num_tokens_since_fired = torch.zeros(num_latents, dtype=torch.long)
    sae.b_dec.data = data[0].mean(0)
    values: list[float] = []
    for x in data:
        dead_mask = num_tokens_since_fired > DEAD_STEPS * BATCH
        out = sae(x, dead_mask=dead_mask)
        loss = out["fvu"] + 1 / 32 * out["auxk_loss"]
        loss.backward()
        did_fire = torch.zeros(num_latents, dtype=torch.bool)
        did_fire[out["latent_indices"].flatten()] = True
        sae.remove_gradient_parallel_to_decoder_directions()
        torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        sae.set_decoder_norm_to_unit_norm()
        num_tokens_since_fired += x.shape[0]
        num_tokens_since_fired[did_fire] = 0
        values += [out["fvu"].item(), out["auxk_loss"].item(), float(dead_mask.sum().item())]
        values += [float(torch.count_nonzero(did_fire).item())]
        values += [out["latent_acts"].sum().item(), out["sae_out"].abs().sum().item()]
    return values + [sae.W_dec.norm(dim=1).sum().item(), lr]


def run(torch_like: Any, init: dict) -> list[float]:
    rng = np.random.default_rng(3)
    models = make_model(torch_like)
    missing, unexpected = models.load_state_dict(
        {k: torch_like.tensor(v) for k, v in init.items()}, strict=False
    )
    assert missing == [] and unexpected == []
    # activations: a few sparse directions plus noise
    dirs = rng.standard_normal((8, D_IN))
    codes = rng.random((STEPS, BATCH, 8)) * (rng.random((STEPS, BATCH, 8)) < 0.3)
    data = [
        as_tensor(torch_like, c @ dirs + 0.05 * rng.standard_normal((BATCH, D_IN))) for c in codes
    ]
    values = openai_steps(torch_like, models["openai"], data)
    values += fast_steps(torch_like, models["fast"], data)
    return values + eleuther_steps(torch_like, models["sae"], data)
