"""SAINT (Somepalli et al. 2021, "Improved Neural Networks for Tabular Data via Row Attention and
Contrastive Pre-Training") as somepago/saint writes it (``models/pretrainmodel.py``,
``models/model.py``, ``augmentations.py``, ``pretraining.py``, ``train.py``), size-reduced:
contrastive + denoising pre-training, then supervised fine-tuning.

The idioms: the buffers ``categories_offset = F.pad(torch.tensor(list(categories)), (1, 0),
value=num_special_tokens).cumsum(dim=-1)[:-1]`` and ``F.pad(torch.Tensor(n).fill_(2).type(
torch.int8), (1, 0), value=0).cumsum(dim=-1)[:-1]`` (an ``int8`` cumulative sum, which PyTorch
widens to ``int64``); ``simple_MLP`` (``if len(x.shape) == 1: x = x.view(x.size(0), -1)``) one
per continuous feature in an ``nn.ModuleList``; ``sep_MLP`` heads (``np.ones(n).astype(int)``
output sizes); ``embed_data_mask`` (``x_categ + model.categories_offset.type_as(x_categ)``,
``x_cont_enc = torch.empty(n1, n2, model.dim)`` filled column by column by ``x_cont_enc[:, i,
:] = model.simple_MLP[i](x_cont[:, i])`` so the gradient runs through writes into an empty
tensor, the mask embeddings ``cat_mask + model.cat_mask_offset.type_as(cat_mask)`` and the
boolean-mask writes ``x_categ_enc[cat_mask == 0] = cat_mask_temp[cat_mask == 0]``);
``RowColTransformer`` in ``colrow`` style (``PreNorm(dim, Residual(Attention(...)))``,
``GEGLU``'s ``x.chunk(2, dim=-1)`` and ``x * F.gelu(gates)``, einops ``rearrange(x, 'b n d ->
1 b (n d)')`` for the intersample attention written as ``reshape``, ``einsum('b h i d, b h j d
-> b h i j', q, k) * self.scale``); ``add_noise``'s CutMix (``torch.from_numpy(np.random.choice(
2, (x_categ.shape), p=[lam, 1 - lam]))``, ``x_categ.clone().detach()``, ``x_categ_corr[cat_corr
== 0] = x1[cat_corr == 0]``) and ``mixup_data`` (``lam * x1 + (1 - lam) * x1[index, :]``) in
embedding space; the pre-training losses (``(aug_features_1 / aug_features_1.norm(dim=-1,
keepdim=True)).flatten(1, 2)``, separate projection heads, ``aug_features_1 @
aug_features_2.t() / opt.nce_temp``, ``torch.arange(logits.size(0)).to(logits.device)``,
``nn.CrossEntropyLoss`` both ways, ``torch.cat(con_outs, dim=1)`` with ``nn.MSELoss``, a
cross-entropy per categorical column); fine-tuning on ``reps[:, 0, :]`` (the CLS column) with
``model.mlpfory`` and ``criterion(y_outs, y_gts.squeeze())``; evaluation by ``torch.argmax(
nn.Softmax(dim=1)(y_outs), dim=1)`` and ``torch.cat([y_pred, ...], dim=0)``.

Changed: dim 32 -> 8, depth 6 -> 1, heads 8 -> 2, the intersample ``dim_head`` 64 -> 8, the
MLP widths 100 / 1000 -> 10 / 16; a NumPy table of 12 rows (a CLS column, two categorical
and two continuous features); ``torch.randperm`` -> fixed NumPy permutations and
``np.random.choice`` -> a seeded NumPy ``Generator``; dropout 0.1 -> 0.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

CATEGORIES, NUM_CONT, DIM, DEPTH, HEADS, DIM_HEAD, Y_DIM = (1, 3, 4), 2, 8, 1, 2, 4, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Residual(nn.Module):
        def __init__(self, fn: Any) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x: Any, **kwargs: Any) -> Any:
            return self.fn(x, **kwargs) + x

    class PreNorm(nn.Module):
        def __init__(self, dim: int, fn: Any) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.fn = fn

        def forward(self, x: Any, **kwargs: Any) -> Any:
            return self.fn(self.norm(x), **kwargs)

    class GEGLU(nn.Module):
        def forward(self, x: Any) -> Any:
            x, gates = x.chunk(2, dim=-1)
            return x * F.gelu(gates)

    class FeedForward(nn.Module):
        def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, dim * mult * 2), GEGLU(), nn.Dropout(dropout),
                nn.Linear(dim * mult, dim),
            )  # fmt: skip

        def forward(self, x: Any, **kwargs: Any) -> Any:
            return self.net(x, **kwargs)

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int = 8, dim_head: int = 16, dropout: float = 0.0):
            super().__init__()
            inner_dim = dim_head * heads
            self.heads = heads
            self.scale = dim_head**-0.5

            self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
            self.to_out = nn.Linear(inner_dim, dim)

            self.dropout = nn.Dropout(dropout)

        def forward(self, x: Any, mask: Any = None) -> Any:
            h = self.heads
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            # rearrange(t, 'b n (h d) -> b h n d', h=h)
            q, k, v = map(lambda t: t.reshape(*t.shape[:2], h, -1).transpose(1, 2), (q, k, v))
            sim = torch.einsum("b h i d, b h j d -> b h i j", q, k) * self.scale
            attn = sim.softmax(dim=-1)
            out = torch.einsum("b h i j, b h j d -> b h i d", attn, v)
            out = out.transpose(1, 2).reshape(out.shape[0], out.shape[2], -1)
            return self.to_out(out)

    class RowColTransformer(nn.Module):
        def __init__(
            self, num_tokens: int, dim: int, nfeats: int, depth: int, heads: int, dim_head: int,
            attn_dropout: float, ff_dropout: float, style: str = "col",
        ) -> None:  # fmt: skip
            super().__init__()
            self.embeds = nn.Embedding(num_tokens, dim)
            self.layers = nn.ModuleList([])
            self.mask_embed = nn.Embedding(nfeats, dim)
            self.style = style
            for _ in range(depth):
                if self.style == "colrow":
                    self.layers.append(
                        nn.ModuleList([
                            PreNorm(dim, Residual(Attention(dim, heads=heads, dim_head=dim_head,
                                                            dropout=attn_dropout))),
                            PreNorm(dim, Residual(FeedForward(dim, dropout=ff_dropout))),
                            PreNorm(dim * nfeats, Residual(Attention(dim * nfeats, heads=heads,
                                                                     dim_head=8,
                                                                     dropout=attn_dropout))),
                            PreNorm(dim * nfeats, Residual(FeedForward(dim * nfeats,
                                                                       dropout=ff_dropout))),
                        ])
                    )  # fmt: skip

        def forward(self, x: Any, x_cont: Any = None, mask: Any = None) -> Any:
            if x_cont is not None:
                x = torch.cat((x, x_cont), dim=1)
            _, n, _ = x.shape
            for attn1, ff1, attn2, ff2 in self.layers:
                x = attn1(x)
                x = ff1(x)
                x = x.reshape(1, x.shape[0], -1)  # rearrange(x, 'b n d -> 1 b (n d)')
                x = attn2(x)
                x = ff2(x)
                x = x.reshape(x.shape[1], n, -1)  # rearrange(x, '1 b (n d) -> b n d', n=n)
            return x

    class simple_MLP(nn.Module):
        def __init__(self, dims: list[int]) -> None:
            super(simple_MLP, self).__init__()  # noqa: UP008
            self.layers = nn.Sequential(
                nn.Linear(dims[0], dims[1]), nn.ReLU(), nn.Linear(dims[1], dims[2])
            )

        def forward(self, x: Any) -> Any:
            if len(x.shape) == 1:
                x = x.view(x.size(0), -1)
            x = self.layers(x)
            return x

    class sep_MLP(nn.Module):
        def __init__(self, dim: int, len_feats: int, categories: Any) -> None:
            super(sep_MLP, self).__init__()  # noqa: UP008
            self.len_feats = len_feats
            self.layers = nn.ModuleList([])
            for i in range(len_feats):
                self.layers.append(simple_MLP([dim, 5 * dim, categories[i]]))

        def forward(self, x: Any) -> list[Any]:
            y_pred = list([])
            for i in range(self.len_feats):
                x_i = x[:, i, :]
                pred = self.layers[i](x_i)
                y_pred.append(pred)
            return y_pred

    class SAINT(nn.Module):
        def __init__(
            self, *, categories: tuple[int, ...], num_continuous: int, dim: int, depth: int,
            heads: int, dim_head: int = 16, num_special_tokens: int = 0,
            attn_dropout: float = 0.0, ff_dropout: float = 0.0, cont_embeddings: str = "MLP",
            attentiontype: str = "colrow", final_mlp_style: str = "sep", y_dim: int = 2,
        ) -> None:  # fmt: skip
            super().__init__()
            assert all(map(lambda n: n > 0, categories)), "number of each category must be positive"

            # categories related calculations
            self.num_categories = len(categories)
            self.num_unique_categories = sum(categories)

            # create category embeddings table
            self.num_special_tokens = num_special_tokens
            self.total_tokens = self.num_unique_categories + num_special_tokens

            # for automatically offsetting unique category ids to the correct position in the
            # categories embedding table
            categories_offset = F.pad(
                torch.tensor(list(categories)), (1, 0), value=num_special_tokens
            )
            categories_offset = categories_offset.cumsum(dim=-1)[:-1]

            self.register_buffer("categories_offset", categories_offset)

            self.norm = nn.LayerNorm(num_continuous)
            self.num_continuous = num_continuous
            self.dim = dim
            self.cont_embeddings = cont_embeddings
            self.attentiontype = attentiontype
            self.final_mlp_style = final_mlp_style

            if self.cont_embeddings == "MLP":
                self.simple_MLP = nn.ModuleList(
                    [simple_MLP([1, 10, self.dim]) for _ in range(self.num_continuous)]
                )
                nfeats = self.num_categories + num_continuous
            else:
                raise NotImplementedError(cont_embeddings)

            self.transformer = RowColTransformer(
                num_tokens=self.total_tokens, dim=dim, nfeats=nfeats, depth=depth, heads=heads,
                dim_head=dim_head, attn_dropout=attn_dropout, ff_dropout=ff_dropout,
                style=attentiontype,
            )  # fmt: skip

            cat_mask_offset = F.pad(
                torch.Tensor(self.num_categories).fill_(2).type(torch.int8), (1, 0), value=0
            )
            cat_mask_offset = cat_mask_offset.cumsum(dim=-1)[:-1]

            con_mask_offset = F.pad(
                torch.Tensor(self.num_continuous).fill_(2).type(torch.int8), (1, 0), value=0
            )
            con_mask_offset = con_mask_offset.cumsum(dim=-1)[:-1]

            self.register_buffer("cat_mask_offset", cat_mask_offset)
            self.register_buffer("con_mask_offset", con_mask_offset)

            self.embeds = nn.Embedding(self.total_tokens, self.dim)
            self.mask_embeds_cat = nn.Embedding(self.num_categories * 2, self.dim)
            self.mask_embeds_cont = nn.Embedding(self.num_continuous * 2, self.dim)
            self.single_mask = nn.Embedding(2, self.dim)
            self.pos_encodings = nn.Embedding(self.num_categories + self.num_continuous, self.dim)

            self.mlp1 = sep_MLP(dim, self.num_categories, categories)
            self.mlp2 = sep_MLP(dim, self.num_continuous, np.ones(self.num_continuous).astype(int))

            self.mlpfory = simple_MLP([dim, 16, y_dim])
            n = self.num_continuous + self.num_categories
            self.pt_mlp = simple_MLP([dim * n, 6 * dim * n // 5, dim * n // 2])
            self.pt_mlp2 = simple_MLP([dim * n, 6 * dim * n // 5, dim * n // 2])

        def forward(self, x_categ: Any, x_cont: Any) -> tuple[Any, Any]:
            x = self.transformer(x_categ, x_cont)
            cat_outs = self.mlp1(x[:, : self.num_categories, :])
            con_outs = self.mlp2(x[:, self.num_categories :, :])
            return cat_outs, con_outs

    model = SAINT(
        categories=CATEGORIES, num_continuous=NUM_CONT, dim=DIM, depth=DEPTH, heads=HEADS,
        dim_head=DIM_HEAD, y_dim=Y_DIM,
    )  # fmt: skip
    return model


def embed_data_mask(
    torch_like: Any, x_categ: Any, x_cont: Any, cat_mask: Any, con_mask: Any, model: Any
) -> tuple[Any, Any, Any]:
    torch = torch_like
    device = x_cont.device
    x_categ = x_categ + model.categories_offset.type_as(x_categ)
    x_categ_enc = model.embeds(x_categ)
    n1, n2 = x_cont.shape
    _, n3 = x_categ.shape
    if model.cont_embeddings == "MLP":
        x_cont_enc = torch.empty(n1, n2, model.dim)
        for i in range(model.num_continuous):
            x_cont_enc[:, i, :] = model.simple_MLP[i](x_cont[:, i])
    else:
        raise Exception("This case should not work!")

    x_cont_enc = x_cont_enc.to(device)
    cat_mask_temp = cat_mask + model.cat_mask_offset.type_as(cat_mask)
    con_mask_temp = con_mask + model.con_mask_offset.type_as(con_mask)

    cat_mask_temp = model.mask_embeds_cat(cat_mask_temp)
    con_mask_temp = model.mask_embeds_cont(con_mask_temp)
    x_categ_enc[cat_mask == 0] = cat_mask_temp[cat_mask == 0]
    x_cont_enc[con_mask == 0] = con_mask_temp[con_mask == 0]

    return x_categ, x_categ_enc, x_cont_enc


def _table(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """A CLS column of zeros, two categorical columns, two continuous ones, missing-value masks
    (1 = observed) and a label that depends on both kinds of feature."""
    cats = np.stack([np.zeros(n, np.int64), rng.integers(0, 3, n), rng.integers(0, 4, n)], 1)
    cont = rng.normal(size=(n, NUM_CONT))
    cat_mask = np.ones_like(cats)
    cat_mask[:, 1:] = rng.random((n, 2)) > 0.2
    con_mask = (rng.random((n, NUM_CONT)) > 0.2).astype(np.int64)
    y = ((cats[:, 1] == 1) ^ (cont[:, 0] > 0)).astype(np.int64)[:, None]
    return cats, cont, y, cat_mask, con_mask


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(2021)
    device = torch.device("cpu")
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    model.to(device)
    values: list[float] = []
    values += model.categories_offset.tolist() + model.cat_mask_offset.tolist()
    values.append(float(model.cat_mask_offset.dtype == torch.int64))

    def loader(n: int, bs: int) -> list[tuple[Any, ...]]:
        arrays = _table(rng, n)
        return [tuple(torch.from_numpy(a[i : i + bs]) for a in arrays) for i in range(0, n, bs)]

    trainloader, validloader = loader(12, 6), loader(6, 6)
    opt = argparse.Namespace(
        pt_aug=["mixup", "cutmix"], pt_aug_dict={"noise_type": ["cutmix"], "lambda": 0.1},
        mixup_lam=0.3, pt_tasks=["contrastive", "denoising"], pt_projhead_style="diff",
        nce_temp=0.7, lam0=0.5, lam2=1, lam3=10, lr=1e-3,
    )  # fmt: skip

    def add_noise(x_categ: Any, x_cont: Any, noise_params: dict) -> tuple[Any, Any]:
        lam = noise_params["lambda"]
        device = x_categ.device
        batch_size = x_categ.size()[0]

        if "cutmix" in noise_params["noise_type"]:
            index = torch.from_numpy(rng.permutation(batch_size))
            cat_corr = torch.from_numpy(rng.choice(2, (x_categ.shape), p=[lam, 1 - lam])).to(device)
            con_corr = torch.from_numpy(rng.choice(2, (x_cont.shape), p=[lam, 1 - lam])).to(device)
            x1, x2 = x_categ[index, :], x_cont[index, :]
            x_categ_corr, x_cont_corr = x_categ.clone().detach(), x_cont.clone().detach()
            x_categ_corr[cat_corr == 0] = x1[cat_corr == 0]
            x_cont_corr[con_corr == 0] = x2[con_corr == 0]
            return x_categ_corr, x_cont_corr
        raise NotImplementedError(noise_params)

    def mixup_data(x1: Any, x2: Any, lam: float = 1.0) -> tuple[Any, Any]:
        """Returns mixed inputs, pairs of targets"""
        batch_size = x1.size()[0]
        index = torch.from_numpy(rng.permutation(batch_size))
        mixed_x1 = lam * x1 + (1 - lam) * x1[index, :]
        mixed_x2 = lam * x2 + (1 - lam) * x2[index, :]
        return mixed_x1, mixed_x2

    # SAINT_pretrain
    optimizer = optim.AdamW(model.parameters(), lr=opt.lr)
    criterion1 = nn.CrossEntropyLoss()
    criterion2 = nn.MSELoss()
    for _epoch in range(2):
        model.train()
        running_loss = 0.0
        for data in trainloader:
            optimizer.zero_grad()
            x_categ, x_cont, _, cat_mask, con_mask = (d.to(device) for d in data)
            x_categ_corr, x_cont_corr = add_noise(x_categ, x_cont, noise_params=opt.pt_aug_dict)
            _, x_categ_enc_2, x_cont_enc_2 = embed_data_mask(
                torch, x_categ_corr, x_cont_corr, cat_mask, con_mask, model
            )
            _, x_categ_enc, x_cont_enc = embed_data_mask(
                torch, x_categ, x_cont, cat_mask, con_mask, model
            )
            if "mixup" in opt.pt_aug:
                x_categ_enc_2, x_cont_enc_2 = mixup_data(
                    x_categ_enc_2, x_cont_enc_2, lam=opt.mixup_lam
                )
            loss = 0
            if "contrastive" in opt.pt_tasks:
                aug_features_1 = model.transformer(x_categ_enc, x_cont_enc)
                aug_features_2 = model.transformer(x_categ_enc_2, x_cont_enc_2)
                aug_features_1 = (
                    aug_features_1 / aug_features_1.norm(dim=-1, keepdim=True)
                ).flatten(1, 2)  # noqa: E501
                aug_features_2 = (
                    aug_features_2 / aug_features_2.norm(dim=-1, keepdim=True)
                ).flatten(1, 2)  # noqa: E501
                if opt.pt_projhead_style == "diff":
                    aug_features_1 = model.pt_mlp(aug_features_1)
                    aug_features_2 = model.pt_mlp2(aug_features_2)
                logits_per_aug1 = aug_features_1 @ aug_features_2.t() / opt.nce_temp
                logits_per_aug2 = aug_features_2 @ aug_features_1.t() / opt.nce_temp
                targets = torch.arange(logits_per_aug1.size(0)).to(logits_per_aug1.device)
                loss_1 = criterion1(logits_per_aug1, targets)
                loss_2 = criterion1(logits_per_aug2, targets)
                loss = opt.lam0 * (loss_1 + loss_2) / 2
            if "denoising" in opt.pt_tasks:
                cat_outs, con_outs = model(x_categ_enc_2, x_cont_enc_2)
                con_outs = torch.cat(con_outs, dim=1)
                l2 = criterion2(con_outs, x_cont)
                l1 = 0
                n_cat = x_categ.shape[-1]
                for j in range(1, n_cat):
                    l1 += criterion1(cat_outs[j], x_categ[:, j])
                loss += opt.lam2 * l1 + opt.lam3 * l2
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        values.append(running_loss)

    # supervised fine-tuning (train.py)
    optimizer = optim.AdamW(model.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss().to(device)
    for _epoch in range(2):
        model.train()
        for data in trainloader:
            optimizer.zero_grad()
            x_categ, x_cont, y_gts, cat_mask, con_mask = (d.to(device) for d in data)
            _, x_categ_enc, x_cont_enc = embed_data_mask(
                torch, x_categ, x_cont, cat_mask, con_mask, model
            )
            reps = model.transformer(x_categ_enc, x_cont_enc)
            # select only the representations corresponding to CLS token and apply mlp on it
            y_reps = reps[:, 0, :]
            y_outs = model.mlpfory(y_reps)
            loss = criterion(y_outs, y_gts.squeeze())
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    # classification_scores
    model.eval()
    m = nn.Softmax(dim=1)
    y_test = torch.empty(0).to(device)
    y_pred = torch.empty(0).to(device)
    prob = torch.empty(0).to(device)
    with torch.no_grad():
        for data in validloader:
            x_categ, x_cont, y_gts, cat_mask, con_mask = (d.to(device) for d in data)
            _, x_categ_enc, x_cont_enc = embed_data_mask(
                torch, x_categ, x_cont, cat_mask, con_mask, model
            )
            reps = model.transformer(x_categ_enc, x_cont_enc)
            y_reps = reps[:, 0, :]
            y_outs = model.mlpfory(y_reps)
            y_test = torch.cat([y_test, y_gts.squeeze().float()], dim=0)
            y_pred = torch.cat([y_pred, torch.argmax(m(y_outs), dim=1).float()], dim=0)
            prob = torch.cat([prob, m(y_outs)[:, -1].float()], dim=0)
    correct_results_sum = (y_pred == y_test).sum().float()
    acc = correct_results_sum / y_test.shape[0] * 100
    values += [acc.item()] + prob.tolist()
    return values
