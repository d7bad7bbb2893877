"""Lian et al. 2018 "xDeepFM" as shenweichen/DeepCTR-Torch (``deepctr_torch/models/xdeepfm.py``,
``layers/interaction.py``'s ``CIN``, ``models/basemodel.py``'s ``Linear`` and ``BaseModel``,
``inputs.py``) writes it, size-reduced.

The idioms: the feature columns read from one float input ``X[:, start:end].long()`` by a
``feature_index`` dict (an ``OrderedDict`` of column ranges); ``nn.ModuleDict`` of
``nn.Embedding`` tables initialised with ``nn.init.normal_(tensor.weight, mean=0, std=init_std)``;
the ``Linear`` part (embeddings of width 1, ``torch.cat(sparse_embedding_list, dim=-1)``,
``torch.sum(..., dim=-1, keepdim=False)``, dense columns ``torch.cat(dense_value_list,
dim=-1).matmul(self.weight)`` with ``self.weight = nn.Parameter(torch.Tensor(n, 1))``); the
``CIN`` layer (``torch.einsum('bhd,bmd->bhmd', hidden_nn_layers[-1], hidden_nn_layers[0])``,
``x.reshape(batch_size, h * m, dim)``, ``nn.Conv1d(h * m, size, 1)`` in an ``nn.ModuleList``,
``split_half``'s ``torch.split(curr_out, 2 * [size // 2], 1)``, ``torch.cat(final_result,
dim=1)``, ``torch.sum(result, -1)``, the ``ValueError`` for an odd layer size); the DNN over
``combined_dnn_input`` (``torch.flatten(torch.cat(sparse_embedding_list, dim=-1),
start_dim=1)``); ``PredictionLayer`` (a ``bias`` parameter, ``torch.sigmoid``);
``add_regularization_weight``/``get_regularization_loss`` over ``named_parameters`` filtered by
``'weight' in x[0] and 'bn' not in x[0]`` (``torch.sum(l2 * torch.square(parameter))``, the
L1 term ``torch.sum(l1 * torch.abs(parameter))``, ``isinstance(w, tuple)`` for named ones);
``fit``'s ``F.binary_cross_entropy(y_pred, y.squeeze(), reduction='sum')`` plus
``self.get_regularization_loss()``, ``torch.optim.Adagrad`` and ``model.eval()`` with
``torch.no_grad()`` ``predict``; AUC from a rank sum.

Changed: Criteo's 26 sparse and 13 dense features -> 3 sparse fields (vocabularies 5..7) and 2
dense columns, embedding 4, CIN (4, 4), DNN (8,); ``sklearn``'s ``roc_auc_score`` written with
``torch.argsort``; 4 steps of batch 8.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SPARSE = OrderedDict([("C1", 5), ("C2", 7), ("C3", 6)])
DENSE = ["I1", "I2"]
EMB, CIN_SIZES, DNN_UNITS, L2_EMB, L2_LINEAR, L2_CIN = 4, (4, 4), (8,), 1e-4, 1e-4, 1e-5


def _feature_index() -> OrderedDict:
    features, start = OrderedDict(), 0
    for name in [*SPARSE, *DENSE]:
        features[name] = (start, start + 1)
        start += 1
    return features


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class CIN(nn.Module):
        def __init__(self, field_size: int, layer_size: tuple = (128, 128), split_half=True):
            super().__init__()
            if len(layer_size) == 0:
                raise ValueError("layer_size must be a list(tuple) of length greater than 1")
            self.layer_size = layer_size
            self.field_nums = [field_size]
            self.split_half = split_half
            self.activation = nn.ReLU()
            self.conv1ds = nn.ModuleList()
            for i, size in enumerate(self.layer_size):
                self.conv1ds.append(nn.Conv1d(self.field_nums[-1] * self.field_nums[0], size, 1))
                if self.split_half:
                    if i != len(self.layer_size) - 1 and size % 2 > 0:
                        raise ValueError(
                            "layer_size must be even number except for the last layer when "
                            "split_half=True"
                        )
                    self.field_nums.append(size // 2)
                else:
                    self.field_nums.append(size)

        def forward(self, inputs: Any) -> Any:
            if len(inputs.shape) != 3:
                raise ValueError(
                    f"Unexpected inputs dimensions {len(inputs.shape)}, expect to be 3 dimensions"
                )
            batch_size = inputs.shape[0]
            dim = inputs.shape[-1]
            hidden_nn_layers = [inputs]
            final_result = []
            for i, size in enumerate(self.layer_size):
                # x^(k-1) * x^0
                x = torch.einsum("bhd,bmd->bhmd", hidden_nn_layers[-1], hidden_nn_layers[0])
                # x.shape = (batch_size , hi * m, dim)
                x = x.reshape(
                    batch_size, hidden_nn_layers[-1].shape[1] * hidden_nn_layers[0].shape[1], dim
                )
                # x.shape = (batch_size , hi, dim)
                x = self.conv1ds[i](x)
                curr_out = self.activation(x)
                if self.split_half:
                    if i != len(self.layer_size) - 1:
                        next_hidden, direct_connect = torch.split(curr_out, 2 * [size // 2], 1)
                    else:
                        direct_connect = curr_out
                        next_hidden = 0
                else:
                    direct_connect = curr_out
                    next_hidden = curr_out
                final_result.append(direct_connect)
                hidden_nn_layers.append(next_hidden)
            result = torch.cat(final_result, dim=1)
            result = torch.sum(result, -1)
            return result

    class Linear(nn.Module):
        def __init__(self, feature_index: OrderedDict, init_std: float = 0.0001) -> None:
            super().__init__()
            self.feature_index = feature_index
            self.embedding_dict = nn.ModuleDict(
                {name: nn.Embedding(vocab, 1) for name, vocab in SPARSE.items()}
            )
            for tensor in self.embedding_dict.values():
                nn.init.normal_(tensor.weight, mean=0, std=init_std)
            self.weight = nn.Parameter(torch.Tensor(len(DENSE), 1))
            torch.nn.init.normal_(self.weight, mean=0, std=init_std)

        def forward(self, X: Any) -> Any:
            sparse_embedding_list = [
                self.embedding_dict[feat](
                    X[:, self.feature_index[feat][0] : self.feature_index[feat][1]].long()
                )
                for feat in SPARSE
            ]
            dense_value_list = [
                X[:, self.feature_index[feat][0] : self.feature_index[feat][1]] for feat in DENSE
            ]
            linear_logit = torch.zeros([X.shape[0], 1])
            sparse_feat_logit = torch.sum(
                torch.cat(sparse_embedding_list, dim=-1), dim=-1, keepdim=False
            )
            linear_logit += sparse_feat_logit
            dense_value_logit = torch.cat(dense_value_list, dim=-1).matmul(self.weight)
            linear_logit += dense_value_logit
            return linear_logit

    class xDeepFM(nn.Module):
        def __init__(self, init_std: float = 0.0001) -> None:
            super().__init__()
            self.feature_index = _feature_index()
            self.reg_loss = torch.zeros((1,))
            self.regularization_weight: list = []
            self.embedding_dict = nn.ModuleDict(
                {name: nn.Embedding(vocab, EMB, sparse=False) for name, vocab in SPARSE.items()}
            )
            for tensor in self.embedding_dict.values():
                nn.init.normal_(tensor.weight, mean=0, std=init_std)
            self.linear_model = Linear(self.feature_index)
            self.add_regularization_weight(self.embedding_dict.parameters(), l2=L2_EMB)
            self.add_regularization_weight(self.linear_model.parameters(), l2=L2_LINEAR)
            dnn_in = len(SPARSE) * EMB + len(DENSE)
            self.dnn = nn.Sequential(nn.Linear(dnn_in, DNN_UNITS[0]), nn.ReLU())
            self.dnn_linear = nn.Linear(DNN_UNITS[-1], 1, bias=False)
            self.add_regularization_weight(
                filter(
                    lambda x: "weight" in x[0] and "bn" not in x[0], self.dnn.named_parameters()
                ),
                l2=1e-4,
            )
            self.add_regularization_weight(self.dnn_linear.weight, l2=1e-4)
            self.cin = CIN(len(SPARSE), CIN_SIZES, True)
            featuremap_num = sum(CIN_SIZES[:-1]) // 2 + CIN_SIZES[-1]
            self.cin_linear = nn.Linear(featuremap_num, 1, bias=False)
            self.add_regularization_weight(
                filter(lambda x: "weight" in x[0], self.cin.named_parameters()), l2=L2_CIN
            )
            self.add_regularization_weight(self.cin_linear.weight, l1=1e-5)
            self.out_bias = nn.Parameter(torch.zeros((1,)))

        def add_regularization_weight(self, weight_list: Any, l1: float = 0.0, l2=0.0) -> None:
            if isinstance(weight_list, torch.nn.parameter.Parameter):
                weight_list = [weight_list]
            else:
                weight_list = list(weight_list)
            self.regularization_weight.append((weight_list, l1, l2))

        def get_regularization_loss(self) -> Any:
            total_reg_loss = torch.zeros((1,))
            for weight_list, l1, l2 in self.regularization_weight:
                for w in weight_list:
                    if isinstance(w, tuple):
                        parameter = w[1]  # named_parameters
                    else:
                        parameter = w
                    if l1 > 0:
                        total_reg_loss += torch.sum(l1 * torch.abs(parameter))
                    if l2 > 0:
                        try:
                            total_reg_loss += torch.sum(l2 * torch.square(parameter))
                        except AttributeError:
                            total_reg_loss += torch.sum(l2 * parameter * parameter)
            return total_reg_loss

        def forward(self, X: Any) -> Any:
            sparse_embedding_list = [
                self.embedding_dict[feat](
                    X[:, self.feature_index[feat][0] : self.feature_index[feat][1]].long()
                )
                for feat in SPARSE
            ]
            dense_value_list = [
                X[:, self.feature_index[feat][0] : self.feature_index[feat][1]] for feat in DENSE
            ]
            linear_logit = self.linear_model(X)
            cin_input = torch.cat(sparse_embedding_list, dim=1)
            cin_output = self.cin(cin_input)
            cin_logit = self.cin_linear(cin_output)
            sparse_dnn_input = torch.flatten(torch.cat(sparse_embedding_list, dim=-1), start_dim=1)
            dense_dnn_input = torch.flatten(torch.cat(dense_value_list, dim=-1), start_dim=1)
            dnn_input = torch.cat([sparse_dnn_input, dense_dnn_input], dim=-1)
            dnn_output = self.dnn(dnn_input)
            dnn_logit = self.dnn_linear(dnn_output)
            final_logit = linear_logit + dnn_logit + cin_logit
            return torch.sigmoid(final_logit + self.out_bias)

    return xDeepFM()


def _auc(torch: Any, y: Any, p: Any) -> float:
    ranks = torch.empty_like(p)
    ranks[torch.argsort(p)] = torch.arange(1, len(p) + 1, dtype=p.dtype)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    return ((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(37)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optim = torch.optim.Adagrad(model.parameters(), lr=0.05)
    n = 8
    cols = [rng.integers(0, v, n) for v in SPARSE.values()] + [rng.random(n) for _ in DENSE]
    X = as_tensor(torch, np.stack(cols, 1).astype(np.float64))
    y = as_tensor(torch, ((cols[0] + cols[1]) % 2 == 0).astype(np.float64)[:, None])
    values: list[float] = []
    model.train()
    for _epoch in range(4):
        y_pred = model(X).squeeze()
        optim.zero_grad()
        loss = F.binary_cross_entropy(y_pred, y.squeeze(), reduction="sum")
        reg_loss = model.get_regularization_loss()
        total_loss = loss + reg_loss
        total_loss.backward()
        optim.step()
        values += [loss.item(), total_loss.item()]
    model.eval()
    with torch.no_grad():
        pred = model(X).cpu().data.numpy()
    values += pred.flatten().tolist()
    values.append(_auc(torch, y.squeeze(), torch.from_numpy(pred).squeeze()))
    try:
        model.cin.__class__(3, (3, 4), True)
    except ValueError as err:
        values.append(float("even" in str(err)))
    return values
