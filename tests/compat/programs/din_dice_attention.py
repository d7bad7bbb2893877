"""Deep Interest Network (Zhou et al., 2018) as shenweichen/DeepCTR-Torch writes it
(``deepctr_torch/models/din.py``, ``layers/activation.py``'s ``Dice`` and ``activation_layer``,
``layers/sequence.py``'s ``AttentionSequencePoolingLayer``, ``layers/interaction.py``'s
``LocalActivationUnit``, ``layers/core.py``'s ``DNN`` and ``PredictionLayer``, ``models/
basemodel.py``'s ``fit`` and ``add_regularization_weight``), size-reduced.

The idioms: ``Dice`` (``nn.BatchNorm1d(emb_size, eps=epsilon)`` with ``epsilon=1e-8``, the
trainable ``alpha = nn.Parameter(torch.zeros((emb_size,)).to(device))`` (``(emb_size, 1)`` in the
3-D form), ``x = torch.transpose(x, 1, 2)`` around the batch norm, ``out = self.alpha * (1 - x_p) *
x + x_p * x``); ``LocalActivationUnit`` (``queries = query.expand(-1, user_behavior_len, -1)``,
``torch.cat([queries, user_behavior, queries - user_behavior, queries * user_behavior], dim=-1)``);
the pooling's key mask ``torch.arange(max_length, device=keys_length.device,
dtype=keys_length.dtype).repeat(batch_size, 1)``, ``keys_masks < keys_length.view(-1, 1)``,
``paddings = torch.ones_like(outputs) * (-2 ** 32 + 1)``, ``torch.where(keys_masks, outputs,
paddings)``, ``F.softmax(outputs, dim=-1)`` and ``torch.matmul(outputs, keys)``; ``DNN``
(``nn.ModuleList`` of linears initialised with ``nn.init.normal_(tensor, mean=0, std=init_std)``
over ``named_parameters()``, the ``use_bn`` branch off as DIN's ``dnn_use_bn=False`` default, the
shared ``nn.Dropout``); the embedding dict ``nn.ModuleDict({feat.embedding_name:
nn.Embedding(feat.vocabulary_size, feat.embedding_dim, sparse=sparse)})`` with
``nn.init.normal_(tensor.weight, mean=0, std=init_std)``; the input slicing ``X[:,
lookup_idx[0]:lookup_idx[1]].long()``; ``PredictionLayer`` (``self.bias = nn.Parameter(torch.
zeros((1,)))``, ``torch.sigmoid(output)``); ``fit``'s ``F.binary_cross_entropy(y_pred, y.squeeze(),
reduction='sum')`` plus ``get_regularization_loss`` (``torch.sum(l2 * torch.square(w))`` over the
embedding weights) with ``torch.optim.Adagrad(self.parameters(), lr=0.01)``; the
``roc_auc_score``-free accuracy metric in NumPy.

Changed: Amazon-books features -> 3 sparse features (user, item, category) and one dense value
plus a 5-long behaviour sequence over 9 items, embedding dim 8 -> 4, DNN ``(256, 128)`` ->
``(6,)``, attention units ``(64, 16)`` -> ``(5,)``; two models (``Dice`` in the DNN with raw
attention scores; ``PReLU`` with ``att_weight_normalization=True``); ``init_std`` 1e-4 -> 0.1 (so
that the few steps move); ``dnn_feature_columns`` lookups written out; a few NumPy batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
ITEMS, CATS, EMB, HIST, BATCH, STEPS = 9, 4, 4, 5, 6, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    class Dice(nn.Module):
        def __init__(self, emb_size, dim=2, epsilon=1e-8, device="cpu"):  # noqa: ANN001
            super(Dice, self).__init__()  # noqa: UP008 (as in the repository)
            assert dim == 2 or dim == 3
            self.bn = nn.BatchNorm1d(emb_size, eps=epsilon)
            self.sigmoid = nn.Sigmoid()
            self.dim = dim
            # wrap alpha in nn.Parameter to make it trainable
            if self.dim == 2:
                self.alpha = nn.Parameter(torch.zeros((emb_size,)).to(device))
            else:
                self.alpha = nn.Parameter(torch.zeros((emb_size, 1)).to(device))

        def forward(self, x):  # noqa: ANN001, ANN202
            assert x.dim() == self.dim
            if self.dim == 2:
                x_p = self.sigmoid(self.bn(x))
                out = self.alpha * (1 - x_p) * x + x_p * x
            else:
                x = torch.transpose(x, 1, 2)
                x_p = self.sigmoid(self.bn(x))
                out = self.alpha * (1 - x_p) * x + x_p * x
                out = torch.transpose(out, 1, 2)
            return out

    def activation_layer(act_name, hidden_size=None, dice_dim=2):  # noqa: ANN001, ANN202
        if isinstance(act_name, str):
            if act_name.lower() == "sigmoid":
                act_layer = nn.Sigmoid()
            elif act_name.lower() == "relu":
                act_layer = nn.ReLU(inplace=True)
            elif act_name.lower() == "dice":
                assert dice_dim
                act_layer = Dice(hidden_size, dice_dim)
            elif act_name.lower() == "prelu":
                act_layer = nn.PReLU()
        elif issubclass(act_name, nn.Module):
            act_layer = act_name()
        else:
            raise NotImplementedError
        return act_layer

    class DNN(nn.Module):
        def __init__(self, inputs_dim, hidden_units, activation="relu", l2_reg=0,  # noqa: ANN001
                     dropout_rate=0, use_bn=False, init_std=0.1, dice_dim=3, seed=1024,
                     device="cpu"):  # fmt: skip
            super(DNN, self).__init__()  # noqa: UP008
            self.dropout_rate = dropout_rate
            self.dropout = nn.Dropout(dropout_rate)
            self.seed = seed
            self.l2_reg = l2_reg
            self.use_bn = use_bn
            if len(hidden_units) == 0:
                raise ValueError("hidden_units is empty!!")
            hidden_units = [inputs_dim] + list(hidden_units)
            self.linears = nn.ModuleList(
                [
                    nn.Linear(hidden_units[i], hidden_units[i + 1])
                    for i in range(len(hidden_units) - 1)
                ]
            )
            if self.use_bn:
                self.bn = nn.ModuleList(
                    [nn.BatchNorm1d(hidden_units[i + 1]) for i in range(len(hidden_units) - 1)]
                )
            self.activation_layers = nn.ModuleList(
                [
                    activation_layer(activation, hidden_units[i + 1], dice_dim)
                    for i in range(len(hidden_units) - 1)
                ]  # fmt: skip
            )
            for name, tensor in self.linears.named_parameters():
                if "weight" in name:
                    nn.init.normal_(tensor, mean=0, std=init_std)
            self.to(device)

        def forward(self, inputs):  # noqa: ANN001, ANN202
            deep_input = inputs
            for i in range(len(self.linears)):
                fc = self.linears[i](deep_input)
                if self.use_bn:
                    fc = self.bn[i](fc)
                fc = self.activation_layers[i](fc)
                fc = self.dropout(fc)
                deep_input = fc
            return deep_input

    class LocalActivationUnit(nn.Module):
        def __init__(self, hidden_units=(64, 32), embedding_dim=4, activation="sigmoid",  # noqa: ANN001
                     dropout_rate=0, dice_dim=3, l2_reg=0, use_bn=False):  # fmt: skip
            super(LocalActivationUnit, self).__init__()  # noqa: UP008
            self.dnn = DNN(inputs_dim=4 * embedding_dim, hidden_units=hidden_units,
                           activation=activation, l2_reg=l2_reg, dropout_rate=dropout_rate,
                           dice_dim=dice_dim, use_bn=use_bn)  # fmt: skip
            self.dense = nn.Linear(hidden_units[-1], 1)

        def forward(self, query, user_behavior):  # noqa: ANN001, ANN202
            # query ad            : size -> batch_size * 1 * embedding_size
            # user behavior       : size -> batch_size * time_seq_len * embedding_size
            user_behavior_len = user_behavior.size(1)
            queries = query.expand(-1, user_behavior_len, -1)
            attention_input = torch.cat(
                [queries, user_behavior, queries - user_behavior, queries * user_behavior], dim=-1
            )  # as the source code, subtraction simulates verctors' difference
            attention_output = self.dnn(attention_input)
            attention_score = self.dense(attention_output)  # [B, T, 1]
            return attention_score

    class AttentionSequencePoolingLayer(nn.Module):
        def __init__(self, att_hidden_units=(80, 40), att_activation="sigmoid",  # noqa: ANN001
                     weight_normalization=False, return_score=False, supports_masking=False,
                     embedding_dim=4, **kwargs):  # fmt: skip
            super(AttentionSequencePoolingLayer, self).__init__()  # noqa: UP008
            self.return_score = return_score
            self.weight_normalization = weight_normalization
            self.supports_masking = supports_masking
            self.local_att = LocalActivationUnit(hidden_units=att_hidden_units,
                                                 embedding_dim=embedding_dim,
                                                 activation=att_activation, dropout_rate=0,
                                                 use_bn=False)  # fmt: skip

        def forward(self, query, keys, keys_length, mask=None):  # noqa: ANN001, ANN202
            batch_size, max_length, _ = keys.size()
            # Mask
            if self.supports_masking:
                if mask is None:
                    raise ValueError("When supports_masking=True,input must support masking")
                keys_masks = mask.unsqueeze(1)
            else:
                keys_masks = torch.arange(
                    max_length, device=keys_length.device, dtype=keys_length.dtype
                ).repeat(batch_size, 1)  # [B, T]
                keys_masks = keys_masks < keys_length.view(-1, 1)  # 0, 1 mask
                keys_masks = keys_masks.unsqueeze(1)  # [B, 1, T]

            attention_score = self.local_att(query, keys)  # [B, T, 1]
            outputs = torch.transpose(attention_score, 1, 2)  # [B, 1, T]
            if self.weight_normalization:
                paddings = torch.ones_like(outputs) * (-(2**32) + 1)
            else:
                paddings = torch.zeros_like(outputs)
            outputs = torch.where(keys_masks, outputs, paddings)  # [B, 1, T]
            if self.weight_normalization:
                outputs = F.softmax(outputs, dim=-1)  # [B, 1, T]
            if not self.return_score:
                # Weighted sum
                outputs = torch.matmul(outputs, keys)  # [B, 1, E]
            return outputs

    class PredictionLayer(nn.Module):
        def __init__(self, task="binary", use_bias=True, **kwargs):  # noqa: ANN001
            if task not in ["binary", "multiclass", "regression"]:
                raise ValueError("task must be binary,multiclass or regression")
            super(PredictionLayer, self).__init__()  # noqa: UP008
            self.use_bias = use_bias
            self.task = task
            if self.use_bias:
                self.bias = nn.Parameter(torch.zeros((1,)))

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            output = X
            if self.use_bias:
                output += self.bias
            if self.task == "binary":
                output = torch.sigmoid(output)
            return output

    class DIN(nn.Module):
        def __init__(self, att_weight_normalization, dnn_activation, init_std=0.1):  # noqa: ANN001
            super(DIN, self).__init__()  # noqa: UP008
            self.embedding_dict = nn.ModuleDict(
                {
                    name: nn.Embedding(vocab, EMB, sparse=False)
                    for name, vocab in (("user", 7), ("item_id", ITEMS), ("cate_id", CATS))
                }  # fmt: skip
            )
            for tensor in self.embedding_dict.values():
                nn.init.normal_(tensor.weight, mean=0, std=init_std)
            self.attention = AttentionSequencePoolingLayer(
                att_hidden_units=(5,), embedding_dim=2 * EMB, att_activation="Dice",
                return_score=False, weight_normalization=att_weight_normalization,
                supports_masking=False,
            )  # fmt: skip
            self.dnn = DNN(inputs_dim=3 * EMB + 2 * EMB + 1, hidden_units=(6,),
                           activation=dnn_activation, dropout_rate=0.0, use_bn=False,
                           init_std=init_std, dice_dim=2)  # fmt: skip
            self.dnn_linear = nn.Linear(6, 1, bias=False)
            self.out = PredictionLayer("binary")

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            user = self.embedding_dict["user"](X[:, 0:1].long())
            query_emb = torch.cat(
                [
                    self.embedding_dict["item_id"](X[:, 1:2].long()),
                    self.embedding_dict["cate_id"](X[:, 2:3].long()),
                ],
                dim=-1,
            )  # fmt: skip  [B, 1, 2E]
            keys_emb = torch.cat(
                [
                    self.embedding_dict["item_id"](X[:, 3 : 3 + HIST].long()),
                    self.embedding_dict["cate_id"](X[:, 3 + HIST : 3 + 2 * HIST].long()),
                ],
                dim=-1,
            )  # fmt: skip  [B, T, 2E]
            keys_length = X[:, 3 + 2 * HIST : 4 + 2 * HIST].long()
            dense_value = X[:, 4 + 2 * HIST :]
            deep_input_emb = torch.cat([user, query_emb], dim=-1)
            hist = self.attention(query_emb, keys_emb, keys_length)  # [B, 1, 2E]
            deep_input_emb = torch.cat((deep_input_emb, hist), dim=-1)
            deep_input_emb = deep_input_emb.view(deep_input_emb.size(0), -1)
            dnn_input = torch.cat([torch.flatten(deep_input_emb, start_dim=1), dense_value], dim=-1)
            dnn_output = self.dnn(dnn_input)
            dnn_logit = self.dnn_linear(dnn_output)
            y_pred = self.out(dnn_logit)
            return y_pred

    return nn.ModuleList([DIN(False, "dice"), DIN(True, "prelu")])


def _batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lengths = rng.integers(1, HIST + 1, BATCH)
    hist_items = rng.integers(1, ITEMS, (BATCH, HIST))
    hist_cats = rng.integers(1, CATS, (BATCH, HIST))
    for b, n in enumerate(lengths):
        hist_items[b, n:], hist_cats[b, n:] = 0, 0
    X = np.concatenate(  # noqa: N806
        [rng.integers(0, 7, (BATCH, 1)), rng.integers(1, ITEMS, (BATCH, 1)),
         rng.integers(1, CATS, (BATCH, 1)), hist_items, hist_cats, lengths[:, None],
         rng.random((BATCH, 1))], axis=1,
    ).astype(np.float64)  # fmt: skip
    y = (rng.random((BATCH, 1)) < 0.5).astype(np.float64)
    return X, y


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(3)
    values: list[float] = []
    for model in models:
        optim = torch.optim.Adagrad(model.parameters(), lr=0.01)
        regularization_weight = [(list(model.embedding_dict.parameters()), 1e-3, 1e-4)]
        for _ in range(STEPS):
            X, y = _batch(rng)  # noqa: N806
            x, y = as_tensor(torch, X).float(), as_tensor(torch, y).float()
            model.train()
            y_pred = model(x).squeeze()
            optim.zero_grad()
            loss = F.binary_cross_entropy(y_pred, y.squeeze(), reduction="sum")
            total_loss = torch.zeros((1,))
            for weight_list, l1, l2 in regularization_weight:
                for w in weight_list:
                    if isinstance(w, tuple):
                        parameter = w[1]  # named_parameters
                    else:
                        parameter = w
                    total_loss += torch.sum(l1 * torch.abs(parameter))
                    total_loss += torch.sum(l2 * torch.square(parameter))
            total_loss = total_loss + loss
            total_loss.backward()
            optim.step()
            acc = np.mean(np.round(y_pred.detach().cpu().numpy()) == y.squeeze().numpy())
            values.extend([loss.item(), total_loss.item(), float(acc)])
        model.eval()
        with torch.no_grad():
            X, _ = _batch(rng)  # noqa: N806
            values.extend(model(as_tensor(torch, X).float()).flatten().tolist())
    return values
