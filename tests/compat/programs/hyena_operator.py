"""HazyResearch's Hyena operator (``safari/standalone_hyena.py``) in a small language model,
trained with safari's optimizer setup (``src/utils/optim_groups.py`` / ``train.py``'s
``configure_optimizers``), size-reduced, as the repository writes it.

The idioms: ``fftconv`` (``fft_size = 2 * seqlen``, ``torch.fft.rfft(k, n=fft_size) /
fft_size``, ``torch.fft.rfft(u.to(dtype=k.dtype), n=fft_size)``, ``torch.fft.irfft(u_f * k_f,
n=fft_size, norm="forward")[..., :seqlen]``, ``u * D.unsqueeze(-1)``, ``out.to(dtype=u.dtype)``);
``@torch.jit.script`` on ``mul_sum`` (PyTorch 2.13 deprecates it: the definition silences the
warning, as scripts run with ``-W error`` must); ``OptimModule.register`` (``register_buffer`` when
``lr == 0.0``, else ``register_parameter(name, nn.Parameter(tensor))`` and ``setattr(getattr(
self, name), "_optim", optim)`` on the parameter); ``Sin`` (``nn.Parameter(w * torch.ones(1,
dim))``, ``torch.sin(self.freq * x)``), shared by every layer of the implicit filter;
``PositionalEmbedding`` (``torch.linspace(0, 1, self.seq_len)[None, :, None]``, ``f =
torch.linspace(1e-4, bands - 1, bands)[None, None]``, the complex ``z = torch.exp(-1j * f *
w)`` and ``torch.cat([t, z.real, z.imag], dim=-1)``); ``ExponentialModulation`` (``math.log(
target) / fast_decay_pct``, ``torch.exp(-t * self.deltas.abs())``); ``HyenaFilter`` (``nn.
Sequential(nn.Linear(emb_dim, order), act)`` grown with ``.append``, the ``assert emb_dim % 2
!= 0``, ``for c in self.implicit_filter.children(): for name, v in c.state_dict().items():
setattr(getattr(c, name), "_optim", optim)``, ``k = k[0] if type(k) is tuple else k``);
``HyenaOperator`` (``in_proj`` to ``d_model * (order + 1)``, ``rearrange(u, 'b l d -> b d
l')`` as ``transpose``, the depthwise ``nn.Conv1d(inner_width, inner_width, 3, padding=2,
groups=inner_width)`` cut to ``[..., :l_filter]``, ``*x, v = uc.split(self.d_model, dim=1)``,
``rearrange(k, 'l (o d) -> o d l')``, ``for o, x_i in enumerate(reversed(x[1:]))`` gating and
long convolutions); and safari's optimizer: parameters without ``_optim`` into the base group,
then ``hps = [dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in
hps)))]`` and ``optimizer.add_param_group({"params": params, **optimizer_cfg, **hp})``, AdamW
with the per-group ``lr`` / ``weight_decay``, ``clip_grad_norm_`` and a cosine ``LambdaLR``.

Changed: ``d_model`` 512 -> 8, ``l_max`` 1024 -> 12, ``filter_order`` 64 -> 8, order 2 and 3
(two operators), vocabulary 11, three training steps on NumPy token batches (one sequence
shorter than ``l_max``, so ``l_filter = min(l, self.l_max)`` and ``self.z[:, :L]`` slice).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

D_MODEL, L_MAX, FILTER_ORDER, VOCAB = 8, 12, 8, 11


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def fftconv(u, k, D):
        seqlen = u.shape[-1]
        fft_size = 2 * seqlen
        k_f = torch.fft.rfft(k, n=fft_size) / fft_size
        u_f = torch.fft.rfft(u.to(dtype=k.dtype), n=fft_size)
        if len(u.shape) > 3:
            k_f = k_f.unsqueeze(1)
        y = torch.fft.irfft(u_f * k_f, n=fft_size, norm="forward")[..., :seqlen]
        out = y + u * D.unsqueeze(-1)
        return out.to(dtype=u.dtype)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated

        @torch.jit.script
        def mul_sum(q, y):
            return (q * y).sum(dim=1)

    class OptimModule(nn.Module):
        """Interface for Module that allows registering buffers/parameters with configurable
        optimizer hyperparameters"""

        def register(self, name, tensor, lr=None, wd=0.0):
            """Register a tensor with a configurable learning rate and 0 weight decay"""
            if lr == 0.0:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))
                optim = {}
                if lr is not None:
                    optim["lr"] = lr
                if wd is not None:
                    optim["weight_decay"] = wd
                setattr(getattr(self, name), "_optim", optim)  # noqa: B010 (as in safari)

    class Sin(nn.Module):
        def __init__(self, dim, w=10, train_freq=True):
            super().__init__()
            self.freq = (
                nn.Parameter(w * torch.ones(1, dim)) if train_freq else w * torch.ones(1, dim)
            )

        def forward(self, x):
            return torch.sin(self.freq * x)

    class PositionalEmbedding(OptimModule):
        def __init__(self, emb_dim: int, seq_len: int, lr_pos_emb: float = 1e-5, **kwargs):
            """Complex exponential positional embeddings for Hyena filters."""
            super().__init__()
            self.seq_len = seq_len
            # The time embedding fed to the filteres is normalized so that t_f = 1
            t = torch.linspace(0, 1, self.seq_len)[None, :, None]  # 1, L, 1
            if emb_dim > 1:
                bands = (emb_dim - 1) // 2
            # To compute the right embeddings we use the "proper" linspace
            t_rescaled = torch.linspace(0, seq_len - 1, seq_len)[None, :, None]
            w = 2 * math.pi * t_rescaled / seq_len  # 1, L, 1
            f = torch.linspace(1e-4, bands - 1, bands)[None, None]
            z = torch.exp(-1j * f * w)
            z = torch.cat([t, z.real, z.imag], dim=-1)
            self.register("z", z, lr=lr_pos_emb)
            self.register("t", t, lr=0.0)

        def forward(self, L):
            return self.z[:, :L], self.t[:, :L]

    class ExponentialModulation(OptimModule):
        def __init__(self, d_model, fast_decay_pct=0.3, slow_decay_pct=1.5, target=1e-2,
                     modulation_lr=0.0, modulate: bool = True, shift: float = 0.0,
                     **kwargs):  # fmt: skip
            super().__init__()
            self.modulate = modulate
            self.shift = shift
            max_decay = math.log(target) / fast_decay_pct
            min_decay = math.log(target) / slow_decay_pct
            deltas = torch.linspace(min_decay, max_decay, d_model)[None, None]
            self.register("deltas", deltas, lr=modulation_lr)

        def forward(self, t, x):
            if self.modulate:
                decay = torch.exp(-t * self.deltas.abs())
                x = x * (decay + self.shift)
            return x

    class HyenaFilter(OptimModule):
        def __init__(self, d_model, emb_dim=3, order=16, fused_fft_conv=False, seq_len=1024,
                     lr=1e-3, lr_pos_emb=1e-5, dropout=0.0, w=1, wd=0, bias=True,
                     num_inner_mlps=2, normalized=False, **kwargs):  # fmt: skip
            """Implicit long filter with modulation."""
            super().__init__()
            self.d_model = d_model
            self.use_bias = bias
            self.fused_fft_conv = fused_fft_conv
            self.bias = nn.Parameter(torch.randn(self.d_model))
            self.dropout = nn.Dropout(dropout)
            act = Sin(dim=order, w=w)
            self.emb_dim = emb_dim
            assert emb_dim % 2 != 0 and emb_dim >= 3, (
                "emb_dim must be odd and greater or equal to 3 (time, sine and cosine)"
            )
            self.seq_len = seq_len
            self.pos_emb = PositionalEmbedding(emb_dim, seq_len, lr_pos_emb)
            self.implicit_filter = nn.Sequential(nn.Linear(emb_dim, order), act)
            for _i in range(num_inner_mlps):
                self.implicit_filter.append(nn.Linear(order, order))
                self.implicit_filter.append(act)
            self.implicit_filter.append(nn.Linear(order, d_model, bias=False))
            self.modulation = ExponentialModulation(d_model, **kwargs)
            self.normalized = normalized
            for c in self.implicit_filter.children():
                for name, _v in c.state_dict().items():
                    optim = {"weight_decay": wd, "lr": lr}
                    setattr(getattr(c, name), "_optim", optim)  # noqa: B010

        def filter(self, L, *args, **kwargs):
            z, t = self.pos_emb(L)
            h = self.implicit_filter(z)
            h = self.modulation(t, h)
            return h

        def forward(self, x, L, k=None, bias=None, *args, **kwargs):
            if k is None:
                k = self.filter(L)
            # Ensure compatibility with filters that return a tuple
            k = k[0] if type(k) is tuple else k
            y = fftconv(x, k, bias)
            return y

    class HyenaOperator(nn.Module):
        def __init__(self, d_model, l_max, order=2, filter_order=64, dropout=0.0,
                     filter_dropout=0.0, **filter_args):  # fmt: skip
            super().__init__()
            self.d_model = d_model
            self.l_max = l_max
            self.order = order
            inner_width = d_model * (order + 1)
            self.dropout = nn.Dropout(dropout)
            self.in_proj = nn.Linear(d_model, inner_width)
            self.out_proj = nn.Linear(d_model, d_model)
            self.short_filter = nn.Conv1d(
                inner_width, inner_width, 3, padding=2, groups=inner_width
            )
            self.filter_fn = HyenaFilter(
                d_model * (order - 1), order=filter_order, seq_len=l_max, channels=1,
                dropout=filter_dropout, **filter_args,
            )  # fmt: skip

        def forward(self, u, *args, **kwargs):
            l = u.size(-2)  # noqa: E741 (as in the original)
            l_filter = min(l, self.l_max)
            u = self.in_proj(u)
            u = u.transpose(1, 2)  # rearrange(u, 'b l d -> b d l')
            uc = self.short_filter(u)[..., :l_filter]
            *x, v = uc.split(self.d_model, dim=1)
            k = self.filter_fn.filter(l_filter)[0]
            # rearrange(k, 'l (o d) -> o d l', o=self.order - 1)
            k = k.view(l_filter, self.order - 1, self.d_model).permute(1, 2, 0)
            bias = self.filter_fn.bias.view(self.order - 1, self.d_model)
            for o, x_i in enumerate(reversed(x[1:])):
                v = self.dropout(v * x_i)
                v = self.filter_fn(v, l_filter, k=k[o], bias=bias[o])
            y = (v * x[0]).transpose(1, 2)  # rearrange(..., 'b d l -> b l d')
            y = self.out_proj(y)
            return y

    class Block(nn.Module):
        def __init__(self, order):
            super().__init__()
            self.norm1 = nn.LayerNorm(D_MODEL)
            self.mixer = HyenaOperator(D_MODEL, L_MAX, order=order, filter_order=FILTER_ORDER)
            self.norm2 = nn.LayerNorm(D_MODEL)
            self.mlp = nn.Sequential(
                nn.Linear(D_MODEL, 2 * D_MODEL), nn.GELU(approximate="tanh"),
                nn.Linear(2 * D_MODEL, D_MODEL),
            )  # fmt: skip

        def forward(self, x):
            x = x + self.mixer(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class HyenaLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, D_MODEL)
            self.layers = nn.ModuleList([Block(2), Block(3)])
            self.ln_f = nn.LayerNorm(D_MODEL)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
            self.lm_head.weight = self.embeddings.weight  # tied

        def forward(self, input_ids):
            h = self.embeddings(input_ids)
            for layer in self.layers:
                h = layer(h)
            return self.lm_head(self.ln_f(h))

    model = HyenaLM()
    model.mul_sum = mul_sum
    return model


def configure_optimizers(torch_like: Any, model: Any, optimizer_cfg: dict) -> Any:
    all_parameters = list(model.parameters())
    # General parameters don't contain the special _optim key
    params = [p for p in all_parameters if not hasattr(p, "_optim")]
    optimizer = torch_like.optim.AdamW(params, **optimizer_cfg)
    # Add parameters with special hyperparameters
    hps = [getattr(p, "_optim") for p in all_parameters if hasattr(p, "_optim")]  # noqa: B009
    hps = [
        dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))
    ]  # Unique dicts
    for hp in hps:
        params = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
        optimizer.add_param_group({"params": params, **optimizer_cfg, **hp})
    return optimizer


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    pos = model.layers[0].mixer.filter_fn.pos_emb
    values += [pos.z.sum().item(), float(pos.z.dtype == torch.get_default_dtype())]
    values.append(len([n for n, _ in model.named_buffers()]))
    values.append(model.mul_sum(torch.ones(2, 3, 4), torch.ones(2, 3, 4)).sum().item())
    optimizer = configure_optimizers(torch_like, model, {"lr": 3e-3, "weight_decay": 0.1})
    values += [len(optimizer.param_groups)] + [
        len(g["params"]) + g["lr"] + g["weight_decay"] for g in optimizer.param_groups
    ]

    def lr_lambda(step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * step / 3))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(7)
    batches = [rng.integers(0, VOCAB, (2, L_MAX + 1)), rng.integers(0, VOCAB, (3, 8))] * 2
    model.train()
    for tokens_np in batches[:3]:
        tokens = as_tensor(torch_like, tokens_np)
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), grad_norm.item()]
    with torch.no_grad():
        k = model.layers[1].mixer.filter_fn.filter(L_MAX)
        values += [k.abs().sum().item(), model(as_tensor(torch_like, batches[1])).sum().item()]
    return values
