"""FT-Transformer for tabular data as Yandex's ``rtdl`` package writes it (``rtdl/modules.py``:
``NumericalFeatureTokenizer``, ``CategoricalFeatureTokenizer``, ``CLSToken``,
``MultiheadAttention``, ``ReGLU``, ``Transformer`` with prenormalization,
``make_parameter_groups``), size-reduced.

The idioms: tokenizer weights ``nn.Parameter(Tensor(n_features, d_token))`` initialised by
``_TokenInitialization`` (``nn.init.uniform_(x, a=-1/sqrt(d), b=1/sqrt(d))``) or
``nn.init.kaiming_uniform_(w, a=math.sqrt(5))``; the einsum-free ``x[..., None] *
self.weight[None]`` + ``self.bias[None]``; the categorical tokenizer's offsets
``register_buffer('category_offsets', torch.tensor([0] + cardinalities[:-1]).cumsum(0))``
into one ``nn.Embedding(sum(cardinalities), d_token)``; ``CLSToken.expand(*leading_dimensions)``
(``self.weight.view(*new_dims, -1).expand(*leading_dimensions, -1)``) appended with
``torch.cat``; a hand-written multi-head attention (``W_q``/``W_k``/``W_v``/``W_out``
linears, ``_reshape`` into heads with ``reshape(batch_size, n_tokens, self.n_heads, d_head)
.transpose(1, 2).reshape(batch_size * self.n_heads, n_tokens, d_head)``, ``F.softmax(q @
k.transpose(1, 2) / math.sqrt(d_head_key), dim=-1)``, ``nn.init.zeros_(m.bias)`` and
``nn.init.xavier_uniform_(m.weight, gain=1 / math.sqrt(2))``); ``ReGLU`` (``a, b =
x.chunk(2, dim=-1); a * F.relu(b)``); prenormalization ``nn.LayerNorm`` blocks in an
``nn.ModuleList`` of ``nn.ModuleDict``s, the first block without ``attention_normalization``
(``nn.Identity``) and the last reading only the CLS token (``x[:, -1:]``); the head
``x[:, -1]`` -> LayerNorm -> ReLU -> Linear; ``make_parameter_groups`` splitting
parameters through ``model.named_modules()`` / ``module.named_parameters()`` (a bias, or any
parameter under a ``LayerNorm``, tokenizer or CLS token) into an ``AdamW`` group with
``weight_decay=0.0``; ``F.cross_entropy`` for classification.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_NUM, CARDINALITIES, D_TOKEN, N_HEADS, N_BLOCKS, D_FFN, N_CLASSES = (
    3,
    [3, 5, 2],
    8,
    2,
    2,
    12,
    3,
)
BATCH, STEPS = 10, 5


def _classes(torch_like: Any) -> dict[str, type]:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    Tensor = torch_like.Tensor

    class NumericalFeatureTokenizer(nn.Module):
        def __init__(self, n_features: int, d_token: int, bias: bool) -> None:
            super().__init__()
            self.weight = nn.Parameter(Tensor(n_features, d_token))
            self.bias = nn.Parameter(Tensor(n_features, d_token)) if bias else None
            for parameter in [self.weight, self.bias]:
                if parameter is not None:
                    nn.init.kaiming_uniform_(parameter, a=math.sqrt(5))

        @property
        def n_tokens(self) -> int:
            return len(self.weight)

        def forward(self, x: Any) -> Any:
            x = self.weight[None] * x[..., None]
            if self.bias is not None:
                x = x + self.bias[None]
            return x

    class CategoricalFeatureTokenizer(nn.Module):
        category_offsets: Any

        def __init__(self, cardinalities: list[int], d_token: int, bias: bool) -> None:
            super().__init__()
            category_offsets = torch.tensor([0] + cardinalities[:-1]).cumsum(0)
            self.register_buffer("category_offsets", category_offsets, persistent=False)
            self.embeddings = nn.Embedding(sum(cardinalities), d_token)
            self.bias = nn.Parameter(Tensor(len(cardinalities), d_token)) if bias else None
            d_sqrt_inv = 1 / math.sqrt(d_token)
            for parameter in [self.embeddings.weight, self.bias]:
                if parameter is not None:
                    nn.init.uniform_(parameter, a=-d_sqrt_inv, b=d_sqrt_inv)

        def forward(self, x: Any) -> Any:
            x = self.embeddings(x + self.category_offsets[None])
            if self.bias is not None:
                x = x + self.bias[None]
            return x

    class FeatureTokenizer(nn.Module):
        def __init__(self, n_num: int, cardinalities: list[int], d_token: int) -> None:
            super().__init__()
            self.num_tokenizer = NumericalFeatureTokenizer(n_num, d_token, True)
            self.cat_tokenizer = CategoricalFeatureTokenizer(cardinalities, d_token, True)

        def forward(self, x_num: Any, x_cat: Any) -> Any:
            x = [self.num_tokenizer(x_num), self.cat_tokenizer(x_cat)]
            return x[0] if len(x) == 1 else torch.cat(x, dim=1)

    class CLSToken(nn.Module):
        def __init__(self, d_token: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(Tensor(d_token))
            d_sqrt_inv = 1 / math.sqrt(d_token)
            nn.init.uniform_(self.weight, a=-d_sqrt_inv, b=d_sqrt_inv)

        def expand(self, *leading_dimensions: int) -> Any:
            if not leading_dimensions:
                return self.weight
            new_dims = (1,) * (len(leading_dimensions) - 1)
            return self.weight.view(*new_dims, -1).expand(*leading_dimensions, -1)

        def forward(self, x: Any) -> Any:
            return torch.cat([x, self.expand(len(x), 1)], dim=1)

    class MultiheadAttention(nn.Module):
        def __init__(self, d_token: int, n_heads: int, dropout: float) -> None:
            super().__init__()
            assert d_token % n_heads == 0, "d_token must be a multiple of n_heads"
            self.W_q = nn.Linear(d_token, d_token, True)
            self.W_k = nn.Linear(d_token, d_token, True)
            self.W_v = nn.Linear(d_token, d_token, True)
            self.W_out = nn.Linear(d_token, d_token, True) if n_heads > 1 else None
            self.n_heads = n_heads
            self.dropout = nn.Dropout(dropout) if dropout else None
            for m in [self.W_q, self.W_k, self.W_v]:
                nn.init.xavier_uniform_(m.weight, gain=1 / math.sqrt(2))
                nn.init.zeros_(m.bias)
            if self.W_out is not None:
                nn.init.zeros_(self.W_out.bias)

        def _reshape(self, x: Any) -> Any:
            batch_size, n_tokens, d = x.shape
            d_head = d // self.n_heads
            return (
                x.reshape(batch_size, n_tokens, self.n_heads, d_head)
                .transpose(1, 2)
                .reshape(batch_size * self.n_heads, n_tokens, d_head)
            )

        def forward(self, x_q: Any, x_kv: Any) -> tuple[Any, dict[str, Any]]:
            q, k, v = self.W_q(x_q), self.W_k(x_kv), self.W_v(x_kv)
            batch_size = len(q)
            d_head_key = k.shape[-1] // self.n_heads
            d_head_value = v.shape[-1] // self.n_heads
            n_q_tokens = q.shape[1]
            q = self._reshape(q)
            k = self._reshape(k)
            attention_logits = q @ k.transpose(1, 2) / math.sqrt(d_head_key)
            attention_probs = F.softmax(attention_logits, dim=-1)
            if self.dropout is not None:
                attention_probs = self.dropout(attention_probs)
            x = attention_probs @ self._reshape(v)
            x = (
                x.reshape(batch_size, self.n_heads, n_q_tokens, d_head_value)
                .transpose(1, 2)
                .reshape(batch_size, n_q_tokens, self.n_heads * d_head_value)
            )
            if self.W_out is not None:
                x = self.W_out(x)
            return x, {"attention_logits": attention_logits, "attention_probs": attention_probs}

    class ReGLU(nn.Module):
        def forward(self, x: Any) -> Any:
            assert x.shape[-1] % 2 == 0
            a, b = x.chunk(2, dim=-1)
            return a * F.relu(b)

    class FTTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.feature_tokenizer = FeatureTokenizer(N_NUM, CARDINALITIES, D_TOKEN)
            self.cls_token = CLSToken(D_TOKEN)
            self.blocks = nn.ModuleList([])
            for layer_idx in range(N_BLOCKS):
                layer = nn.ModuleDict(
                    {
                        "attention": MultiheadAttention(D_TOKEN, N_HEADS, 0.0),
                        "ffn": nn.Sequential(
                            nn.Linear(D_TOKEN, D_FFN * 2), ReGLU(), nn.Linear(D_FFN, D_TOKEN)
                        ),
                        "attention_residual_dropout": nn.Dropout(0.0),
                        "ffn_residual_dropout": nn.Dropout(0.0),
                        "output": nn.Identity(),
                        "ffn_normalization": nn.LayerNorm(D_TOKEN),
                    }
                )
                if layer_idx:
                    layer["attention_normalization"] = nn.LayerNorm(D_TOKEN)
                self.blocks.append(layer)
            self.head = nn.ModuleDict(
                {
                    "normalization": nn.LayerNorm(D_TOKEN),
                    "activation": nn.ReLU(),
                    "linear": nn.Linear(D_TOKEN, N_CLASSES),
                }
            )

        def _start_residual(self, layer: Any, stage: str, x: Any) -> Any:
            x_residual = x
            norm_key = f"{stage}_normalization"
            if norm_key in layer:
                x_residual = layer[norm_key](x_residual)
            return x_residual

        def _end_residual(self, layer: Any, stage: str, x: Any, x_residual: Any) -> Any:
            x_residual = layer[f"{stage}_residual_dropout"](x_residual)
            return x + x_residual

        def forward(self, x_num: Any, x_cat: Any) -> Any:
            x = self.cls_token(self.feature_tokenizer(x_num, x_cat))
            for layer_idx, layer in enumerate(self.blocks):
                query_idx = slice(-1, None) if layer_idx + 1 == len(self.blocks) else None
                x_residual = self._start_residual(layer, "attention", x)
                x_residual, _ = layer["attention"](
                    x_residual if query_idx is None else x_residual[:, query_idx], x_residual
                )
                if query_idx is not None:
                    x = x[:, query_idx]
                x = self._end_residual(layer, "attention", x, x_residual)
                x_residual = self._start_residual(layer, "ffn", x)
                x_residual = layer["ffn"](x_residual)
                x = self._end_residual(layer, "ffn", x, x_residual)
                x = layer["output"](x)
            x = x[:, -1]
            x = self.head["normalization"](x)
            x = self.head["activation"](x)
            return self.head["linear"](x)

    return {
        "FTTransformer": FTTransformer,
        "NumericalFeatureTokenizer": NumericalFeatureTokenizer,
        "CategoricalFeatureTokenizer": CategoricalFeatureTokenizer,
        "CLSToken": CLSToken,
    }


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["FTTransformer"]()


def make_parameter_groups(torch_like: Any, model: Any) -> list[dict[str, Any]]:
    """rtdl's ``make_parameter_groups``: no weight decay for norms, biases and tokenizers.

    A parameter is seen once per enclosing module (``module.named_parameters()`` recurses);
    it gets weight decay only if no enclosing module asks for none.
    """
    nn = torch_like.nn
    zero_wd_types = (
        nn.LayerNorm,
        type(model.cls_token),
        type(model.feature_tokenizer.num_tokenizer),
        type(model.feature_tokenizer.cat_tokenizer),
    )

    def zero_weight_decay_condition(
        module_name: str, module: Any, parameter_name: str, parameter: Any
    ) -> bool:
        del module_name, parameter
        return parameter_name.endswith("bias") or isinstance(module, zero_wd_types)

    parameters_info: dict[str, tuple[Any, list[bool]]] = {}
    for module_name, module in model.named_modules():
        for name, parameter in module.named_parameters():
            fullname = f"{module_name}.{name}" if module_name else name
            parameters_info.setdefault(fullname, (parameter, []))[1].append(
                not zero_weight_decay_condition(module_name, module, name, parameter)
            )
    params_with_wd: dict[str, Any] = {"params": []}
    params_without_wd: dict[str, Any] = {"params": [], "weight_decay": 0.0}
    for parameter, needs_wd in parameters_info.values():
        (params_with_wd if all(needs_wd) else params_without_wd)["params"].append(parameter)
    return [params_with_wd, params_without_wd]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    offsets = model.feature_tokenizer.cat_tokenizer.category_offsets
    values: list[float] = offsets.tolist() + [float(offsets.dtype == torch.int64)]
    values += [float("category_offsets" in model.state_dict())]
    values += [float(model.feature_tokenizer.num_tokenizer.n_tokens)]

    groups = make_parameter_groups(torch_like, model)
    values += [len(groups[0]["params"]), len(groups[1]["params"])]
    optimizer = torch.optim.AdamW(groups, lr=1e-2, weight_decay=1e-2)
    values += [g["weight_decay"] for g in optimizer.param_groups]

    x_num = as_tensor(torch_like, rng.standard_normal((BATCH, N_NUM)))
    x_cat = as_tensor(
        torch_like, np.stack([rng.integers(0, c, BATCH) for c in CARDINALITIES], axis=1)
    )
    y = as_tensor(torch_like, rng.integers(0, N_CLASSES, BATCH))
    tokens = model.cls_token(model.feature_tokenizer(x_num, x_cat))
    values += list(tokens.shape) + tokens[0, -1].tolist()
    values += list(model.cls_token.expand(2, 3).shape) + list(model.cls_token.expand().shape)

    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        logits = model(x_num, x_cat)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    model.eval()
    with torch.no_grad():
        logits = model(x_num, x_cat)
        probs = logits.softmax(-1)
        values += probs.flatten().tolist() + [(logits.argmax(1) == y).float().mean().item()]
        _, info = model.blocks[0]["attention"](tokens, tokens)
        values += list(info["attention_probs"].shape) + [info["attention_probs"].sum().item()]
    return values
