"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 6, "Transformers and Multi-Head Attention", size-reduced: the sequence
reversal task trained with the tutorial's hand-written Transformer encoder.

The idioms: ``scaled_dot_product`` (``d_k = q.size()[-1]``, ``torch.matmul(q, k.transpose(-2,
-1)) / math.sqrt(d_k)``, ``attn_logits.masked_fill(mask == 0, -9e15)``); ``expand_mask``'s
``while mask.ndim < 4: mask = mask.unsqueeze(0)``; ``MultiheadAttention`` with one fused
``qkv_proj``, ``_reset_parameters`` (``nn.init.xavier_uniform_``, ``bias.data.fill_(0)``),
``qkv.reshape(batch_size, seq_length, self.num_heads, 3*self.head_dim)``, ``permute(0, 2, 1,
3)``, ``qkv.chunk(3, dim=-1)`` and ``return_attention``; the post-norm ``EncoderBlock`` (a
``linear_net`` ``nn.Sequential`` with ``nn.Dropout`` before ``nn.ReLU(inplace=True)``);
``TransformerEncoder(num_layers, **block_args)`` over an ``nn.ModuleList`` and its
``get_attention_maps``; ``PositionalEncoding``'s ``div_term = torch.exp(torch.arange(0,
d_model, 2).float() * (-math.log(10000.0) / d_model))``, ``pe[:, 0::2] = torch.sin(...)`` and
``self.register_buffer('pe', pe, persistent=False)``; ``CosineWarmupScheduler`` subclassing
``optim.lr_scheduler._LRScheduler`` (``get_lr`` from ``self.base_lrs`` and
``self.last_epoch``, ``np.cos`` factors) stepped every iteration; the ``ReverseDataset``
(``torch.randint(self.num_categories, size=(self.size, self.seq_len))``, ``torch.flip(inp_data,
dims=(0,))``) under a ``DataLoader(shuffle=True, drop_last=True)``; ``ReversePredictor.
_calculate_loss`` (``F.one_hot(inp_data, num_classes=...).float()``, ``F.cross_entropy(preds.
view(-1,preds.size(-1)), labels.view(-1))``, ``(preds.argmax(dim=-1) == labels).float().
mean()``); Lightning's ``gradient_clip_val=5`` as ``clip_grad_norm_``.

Changed: Lightning's ``Trainer`` is the plain loop it runs; 10 categories, length 16, model_dim
32 -> 6 categories, length 5, model_dim 8, 1 layer, 2 heads; 50000 samples -> 12, a few steps;
lr 5e-4 -> 5e-3, warmup 50 -> 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
NUM_CATEGORIES, SEQ_LEN, MODEL_DIM, BATCH, EPOCHS = 6, 5, 8, 4, 2


def _classes(torch_like: Any) -> dict:
    torch, nn, F, optim = torch_like, torch_like.nn, torch_like.nn.functional, torch_like.optim

    def scaled_dot_product(q, k, v, mask=None):  # noqa: ANN001, ANN202
        d_k = q.size()[-1]
        attn_logits = torch.matmul(q, k.transpose(-2, -1))
        attn_logits = attn_logits / math.sqrt(d_k)
        if mask is not None:
            attn_logits = attn_logits.masked_fill(mask == 0, -9e15)
        attention = F.softmax(attn_logits, dim=-1)
        values = torch.matmul(attention, v)
        return values, attention

    def expand_mask(mask):  # noqa: ANN001, ANN202
        assert mask.ndim >= 2, "Mask must be at least 2-dimensional with seq_length x seq_length"
        if mask.ndim == 3:
            mask = mask.unsqueeze(1)
        while mask.ndim < 4:
            mask = mask.unsqueeze(0)
        return mask

    class MultiheadAttention(nn.Module):
        def __init__(self, input_dim, embed_dim, num_heads):  # noqa: ANN001
            super().__init__()
            assert embed_dim % num_heads == 0, (
                "Embedding dimension must be 0 modulo number of heads."
            )
            self.embed_dim = embed_dim
            self.num_heads = num_heads
            self.head_dim = embed_dim // num_heads
            self.qkv_proj = nn.Linear(input_dim, 3 * embed_dim)
            self.o_proj = nn.Linear(embed_dim, embed_dim)
            self._reset_parameters()

        def _reset_parameters(self) -> None:
            nn.init.xavier_uniform_(self.qkv_proj.weight)
            self.qkv_proj.bias.data.fill_(0)
            nn.init.xavier_uniform_(self.o_proj.weight)
            self.o_proj.bias.data.fill_(0)

        def forward(self, x, mask=None, return_attention=False):  # noqa: ANN001, ANN202
            batch_size, seq_length, _ = x.size()
            if mask is not None:
                mask = expand_mask(mask)
            qkv = self.qkv_proj(x)
            qkv = qkv.reshape(batch_size, seq_length, self.num_heads, 3 * self.head_dim)
            qkv = qkv.permute(0, 2, 1, 3)  # [Batch, Head, SeqLen, Dims]
            q, k, v = qkv.chunk(3, dim=-1)
            values, attention = scaled_dot_product(q, k, v, mask=mask)
            values = values.permute(0, 2, 1, 3)  # [Batch, SeqLen, Head, Dims]
            values = values.reshape(batch_size, seq_length, self.embed_dim)
            o = self.o_proj(values)
            if return_attention:
                return o, attention
            else:
                return o

    class EncoderBlock(nn.Module):
        def __init__(self, input_dim, num_heads, dim_feedforward, dropout=0.0):  # noqa: ANN001
            super().__init__()
            self.self_attn = MultiheadAttention(input_dim, input_dim, num_heads)
            self.linear_net = nn.Sequential(
                nn.Linear(input_dim, dim_feedforward),
                nn.Dropout(dropout),
                nn.ReLU(inplace=True),
                nn.Linear(dim_feedforward, input_dim),
            )
            self.norm1 = nn.LayerNorm(input_dim)
            self.norm2 = nn.LayerNorm(input_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x, mask=None):  # noqa: ANN001, ANN202
            attn_out = self.self_attn(x, mask=mask)
            x = x + self.dropout(attn_out)
            x = self.norm1(x)
            linear_out = self.linear_net(x)
            x = x + self.dropout(linear_out)
            x = self.norm2(x)
            return x

    class TransformerEncoder(nn.Module):
        def __init__(self, num_layers, **block_args):  # noqa: ANN001, ANN003
            super().__init__()
            self.layers = nn.ModuleList([EncoderBlock(**block_args) for _ in range(num_layers)])

        def forward(self, x, mask=None):  # noqa: ANN001, ANN202
            for l in self.layers:  # noqa: E741
                x = l(x, mask=mask)
            return x

        def get_attention_maps(self, x, mask=None):  # noqa: ANN001, ANN202
            attention_maps = []
            for l in self.layers:  # noqa: E741
                _, attn_map = l.self_attn(x, mask=mask, return_attention=True)
                attention_maps.append(attn_map)
                x = l(x)
            return attention_maps

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=5000):  # noqa: ANN001
            super().__init__()
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(
                torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model)
            )
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0)
            self.register_buffer("pe", pe, persistent=False)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = x + self.pe[:, : x.size(1)]
            return x

    class CosineWarmupScheduler(optim.lr_scheduler._LRScheduler):
        def __init__(self, optimizer, warmup, max_iters):  # noqa: ANN001
            self.warmup = warmup
            self.max_num_iters = max_iters
            super().__init__(optimizer)

        def get_lr(self):  # noqa: ANN202
            lr_factor = self.get_lr_factor(epoch=self.last_epoch)
            return [base_lr * lr_factor for base_lr in self.base_lrs]

        def get_lr_factor(self, epoch):  # noqa: ANN001, ANN202
            lr_factor = 0.5 * (1 + np.cos(np.pi * epoch / self.max_num_iters))
            if epoch <= self.warmup:
                lr_factor *= epoch * 1.0 / self.warmup
            return lr_factor

    class TransformerPredictor(nn.Module):
        def __init__(self, input_dim, model_dim, num_classes, num_heads, num_layers,
                     dropout=0.0, input_dropout=0.0):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.input_net = nn.Sequential(
                nn.Dropout(input_dropout), nn.Linear(input_dim, model_dim)
            )
            self.positional_encoding = PositionalEncoding(d_model=model_dim, max_len=16)
            self.transformer = TransformerEncoder(
                num_layers=num_layers,
                input_dim=model_dim,
                dim_feedforward=2 * model_dim,
                num_heads=num_heads,
                dropout=dropout,
            )
            self.output_net = nn.Sequential(
                nn.Linear(model_dim, model_dim),
                nn.LayerNorm(model_dim),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(model_dim, num_classes),
            )

        def forward(self, x, mask=None, add_positional_encoding=True):  # noqa: ANN001, ANN202
            x = self.input_net(x)
            if add_positional_encoding:
                x = self.positional_encoding(x)
            x = self.transformer(x, mask=mask)
            x = self.output_net(x)
            return x

        @torch.no_grad()
        def get_attention_maps(self, x, mask=None, add_positional_encoding=True):  # noqa: ANN001, ANN202
            x = self.input_net(x)
            if add_positional_encoding:
                x = self.positional_encoding(x)
            attention_maps = self.transformer.get_attention_maps(x, mask=mask)
            return attention_maps

    class ReverseDataset(torch.utils.data.Dataset):
        def __init__(self, num_categories, seq_len, size):  # noqa: ANN001
            super().__init__()
            self.num_categories = num_categories
            self.seq_len = seq_len
            self.size = size
            self.data = torch.randint(self.num_categories, size=(self.size, self.seq_len))

        def __len__(self):  # noqa: ANN204
            return self.size

        def __getitem__(self, idx):  # noqa: ANN001, ANN204
            inp_data = self.data[idx]
            labels = torch.flip(inp_data, dims=(0,))
            return inp_data, labels

    return {
        "TransformerPredictor": TransformerPredictor,
        "CosineWarmupScheduler": CosineWarmupScheduler,
        "ReverseDataset": ReverseDataset,
        "scaled_dot_product": scaled_dot_product,
    }


def make_model(torch_like: Any) -> Any:
    c = _classes(torch_like)
    return c["TransformerPredictor"](
        input_dim=NUM_CATEGORIES, model_dim=MODEL_DIM, num_heads=2, num_classes=NUM_CATEGORIES,
        num_layers=1, dropout=0.0, input_dropout=0.0,
    )  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    c = _classes(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    assert "positional_encoding.pe" not in model.state_dict()
    torch.manual_seed(0)
    dataset = c["ReverseDataset"](NUM_CATEGORIES, SEQ_LEN, 12)
    # the dataset's randint draw differs between generators: overwrite it with NumPy data
    rng = np.random.default_rng(6)
    dataset.data = torch.from_numpy(rng.integers(0, NUM_CATEGORIES, (12, SEQ_LEN)))
    g = torch.Generator()
    g.manual_seed(1)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, drop_last=True,
                                         pin_memory=False, generator=g)  # fmt: skip
    perm_batches = []
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    lr_scheduler = c["CosineWarmupScheduler"](optimizer, warmup=2, max_iters=EPOCHS * len(loader))
    values: list[float] = []
    for _epoch in range(EPOCHS):
        model.train()
        for batch in loader:
            perm_batches.append(batch[0].shape[0])
            inp_data, labels = batch
            inp_data = F.one_hot(inp_data, num_classes=NUM_CATEGORIES).float()
            preds = model(inp_data, add_positional_encoding=True)
            loss = F.cross_entropy(preds.view(-1, preds.size(-1)), labels.view(-1))
            acc = (preds.argmax(dim=-1) == labels).float().mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5)
            optimizer.step()
            lr_scheduler.step()
            values += [loss.item(), acc.item(), optimizer.param_groups[0]["lr"]]
    # the notebook's attention-map plot input, and a causal mask through ``expand_mask``
    model.eval()
    data_input = F.one_hot(dataset.data[:2], num_classes=NUM_CATEGORIES).float()
    attention_maps = model.get_attention_maps(data_input)
    values += attention_maps[0].sum(dim=-1).flatten().tolist()
    values += attention_maps[0][0, 0].flatten().tolist()
    mask = torch.tril(torch.ones(SEQ_LEN, SEQ_LEN))
    with torch.no_grad():
        out = model(data_input, mask=mask)
    values += out.flatten().tolist()
    q = torch.from_numpy(rng.standard_normal((1, 3, 2)).astype(np.float32))
    v, a = c["scaled_dot_product"](q, q, q, mask=torch.tensor([[1, 1, 0]] * 3))
    values += v.flatten().tolist() + a.flatten().tolist()
    values.append(float(sum(perm_batches)))
    return values
