"""AutoInt and FiBiNET click-through-rate models as shenweichen/DeepCTR-Torch writes them
(``deepctr_torch/layers/interaction.py``: ``InteractingLayer``, ``SENETLayer``,
``BilinearInteraction``; ``layers/core.py``: ``DNN``, ``PredictionLayer``;
``models/basemodel.py``: ``create_embedding_matrix``, ``add_regularization_weight``,
``get_regularization_loss``, the ``fit`` loop), size-reduced.

Kept verbatim: ``InteractingLayer``'s ``nn.Parameter(torch.Tensor(embedding_size,
embedding_size))`` weights under ``nn.init.normal_(tensor, mean=0.0, std=0.05)``,
``torch.tensordot(inputs, self.W_Query, dims=([-1], [0]))``, ``torch.stack(torch.split(querys,
self.att_embedding_size, dim=2))``, ``torch.einsum('bnik,bnjk->bnij', querys, keys)``, the
in-place ``inner_product /= self.att_embedding_size ** 0.5``, ``torch.cat(torch.split(result, 1,
), dim=-1)``, ``torch.squeeze(result, dim=0)`` and the in-place residual ``result +=
torch.tensordot(inputs, self.W_Res, ...)``; ``SENETLayer``'s ``torch.mean(inputs, dim=-1,
out=None)``, ``nn.Sequential(nn.Linear(..., bias=False), nn.ReLU(), ...)`` excitation and
``torch.mul(inputs, torch.unsqueeze(A, dim=2))``; ``BilinearInteraction(bilinear_type=
'each')``'s ``torch.split(inputs, 1, dim=1)``, ``itertools.combinations`` over fields with one
``nn.Linear(embedding_size, embedding_size, bias=False)`` per field in an ``nn.ModuleList`` and
``torch.cat(p, dim=1)``; ``create_embedding_matrix``'s ``nn.ModuleDict`` of ``nn.Embedding``
under ``nn.init.normal_(tensor.weight, mean=0, std=init_std)``; the input slicing
``X[:, self.feature_index[feat.name][0]:self.feature_index[feat.name][1]].long()``;
``DNN``'s ``nn.init.normal_(tensor, mean=0, std=init_std)`` over its ``named_parameters``
``'weight'`` entries; ``PredictionLayer``'s ``torch.sigmoid(X + self.bias)``; and
``BaseModel.fit``'s ``F.binary_cross_entropy(y_pred, y.squeeze(), reduction='sum')`` plus
``get_regularization_loss`` (``torch.zeros((1,))`` accumulating ``torch.sum(l2 *
torch.square(parameter))`` over ``filter(lambda x: 'weight' in x[0] and 'bn' not in x[0],
...)``), ``total_loss.backward()`` and ``optim.Adagrad``/``optim.Adam``.

Changed: 4 sparse fields of vocabulary 6 and 2 dense features from a seeded NumPy generator
instead of Criteo, embedding_dim 4, DNN (8, 8), 2 attention layers with 2 heads, batch 16,
2 epochs; the feature-column classes reduced to a dict of (start, end) column indices; no
DataLoader/tqdm (the loop slices the array).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"  # DeepCTR-Torch casts its inputs with .float()
SPARSE, VOCAB, DENSE, EMB = 4, 6, 2, 4


def _layers(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class InteractingLayer(nn.Module):
        def __init__(self, embedding_size, head_num=2, use_res=True, scaling=False, seed=1024,
                     device="cpu"):  # noqa: ANN001 # fmt: skip
            super(InteractingLayer, self).__init__()  # noqa: UP008
            if head_num <= 0:
                raise ValueError("head_num must be a int > 0")
            if embedding_size % head_num != 0:
                raise ValueError("embedding_size is not an integer multiple of head_num!")
            self.att_embedding_size = embedding_size // head_num
            self.head_num = head_num
            self.use_res = use_res
            self.scaling = scaling
            self.seed = seed

            self.W_Query = nn.Parameter(torch.Tensor(embedding_size, embedding_size))
            self.W_key = nn.Parameter(torch.Tensor(embedding_size, embedding_size))
            self.W_Value = nn.Parameter(torch.Tensor(embedding_size, embedding_size))

            if self.use_res:
                self.W_Res = nn.Parameter(torch.Tensor(embedding_size, embedding_size))
            for tensor in self.parameters():
                nn.init.normal_(tensor, mean=0.0, std=0.05)

            self.to(device)

        def forward(self, inputs):  # noqa: ANN001, ANN201
            if len(inputs.shape) != 3:
                raise ValueError(
                    "Unexpected inputs dimensions %d, expect to be 3 dimensions"  # noqa: UP031
                    % (len(inputs.shape))
                )

            # None F D
            querys = torch.tensordot(inputs, self.W_Query, dims=([-1], [0]))
            keys = torch.tensordot(inputs, self.W_key, dims=([-1], [0]))
            values = torch.tensordot(inputs, self.W_Value, dims=([-1], [0]))

            # head_num None F D/head_num
            querys = torch.stack(torch.split(querys, self.att_embedding_size, dim=2))
            keys = torch.stack(torch.split(keys, self.att_embedding_size, dim=2))
            values = torch.stack(torch.split(values, self.att_embedding_size, dim=2))

            inner_product = torch.einsum("bnik,bnjk->bnij", querys, keys)  # head_num None F F
            if self.scaling:
                inner_product /= self.att_embedding_size**0.5
            self.normalized_att_scores = F.softmax(inner_product, dim=-1)  # head_num None F F
            result = torch.matmul(self.normalized_att_scores, values)  # head_num None F D/head

            result = torch.cat(torch.split(result, 1, ), dim=-1)  # fmt: skip
            result = torch.squeeze(result, dim=0)  # None F D
            if self.use_res:
                result += torch.tensordot(inputs, self.W_Res, dims=([-1], [0]))
            result = F.relu(result)

            return result

    class SENETLayer(nn.Module):
        def __init__(self, filed_size, reduction_ratio=3, seed=1024, device="cpu"):  # noqa: ANN001
            super(SENETLayer, self).__init__()  # noqa: UP008
            self.seed = seed
            self.filed_size = filed_size
            self.reduction_size = max(1, filed_size // reduction_ratio)
            self.excitation = nn.Sequential(
                nn.Linear(self.filed_size, self.reduction_size, bias=False),
                nn.ReLU(),
                nn.Linear(self.reduction_size, self.filed_size, bias=False),
                nn.ReLU(),
            )
            self.to(device)

        def forward(self, inputs):  # noqa: ANN001, ANN201
            if len(inputs.shape) != 3:
                raise ValueError(
                    "Unexpected inputs dimensions %d, expect to be 3 dimensions"  # noqa: UP031
                    % (len(inputs.shape))
                )
            Z = torch.mean(inputs, dim=-1, out=None)
            A = self.excitation(Z)
            V = torch.mul(inputs, torch.unsqueeze(A, dim=2))

            return V

    class BilinearInteraction(nn.Module):
        def __init__(self, filed_size, embedding_size, bilinear_type="interaction", seed=1024,
                     device="cpu"):  # noqa: ANN001 # fmt: skip
            super(BilinearInteraction, self).__init__()  # noqa: UP008
            self.bilinear_type = bilinear_type
            self.seed = seed
            self.bilinear = nn.ModuleList()
            if self.bilinear_type == "all":
                self.bilinear = nn.Linear(embedding_size, embedding_size, bias=False)
            elif self.bilinear_type == "each":
                for _i in range(filed_size):
                    self.bilinear.append(nn.Linear(embedding_size, embedding_size, bias=False))
            elif self.bilinear_type == "interaction":
                for _i, _j in itertools.combinations(range(filed_size), 2):
                    self.bilinear.append(nn.Linear(embedding_size, embedding_size, bias=False))
            else:
                raise NotImplementedError
            self.to(device)

        def forward(self, inputs):  # noqa: ANN001, ANN201
            if len(inputs.shape) != 3:
                raise ValueError(
                    "Unexpected inputs dimensions %d, expect to be 3 dimensions"  # noqa: UP031
                    % (len(inputs.shape))
                )
            inputs = torch.split(inputs, 1, dim=1)
            if self.bilinear_type == "all":
                p = [torch.mul(self.bilinear(v_i), v_j)
                     for v_i, v_j in itertools.combinations(inputs, 2)]  # fmt: skip
            elif self.bilinear_type == "each":
                p = [torch.mul(self.bilinear[i](inputs[i]), inputs[j])
                     for i, j in itertools.combinations(range(len(inputs)), 2)]  # fmt: skip
            elif self.bilinear_type == "interaction":
                p = [torch.mul(bilinear(v[0]), v[1])
                     for v, bilinear in zip(itertools.combinations(inputs, 2),
                                            self.bilinear)]  # fmt: skip
            else:
                raise NotImplementedError
            return torch.cat(p, dim=1)

    class DNN(nn.Module):
        def __init__(self, inputs_dim, hidden_units, init_std=0.0001, seed=1024):  # noqa: ANN001
            super(DNN, self).__init__()  # noqa: UP008
            hidden_units = [inputs_dim] + list(hidden_units)
            self.linears = nn.ModuleList(
                [nn.Linear(hidden_units[i], hidden_units[i + 1])
                 for i in range(len(hidden_units) - 1)])  # fmt: skip
            self.activation_layers = nn.ModuleList(
                [nn.ReLU(inplace=True) for i in range(len(hidden_units) - 1)]
            )
            for name, tensor in self.linears.named_parameters():
                if "weight" in name:
                    nn.init.normal_(tensor, mean=0, std=init_std)

        def forward(self, inputs):  # noqa: ANN001, ANN201
            deep_input = inputs
            for i in range(len(self.linears)):
                fc = self.linears[i](deep_input)
                fc = self.activation_layers[i](fc)
                deep_input = fc
            return deep_input

    class PredictionLayer(nn.Module):
        def __init__(self, task="binary", use_bias=True, **kwargs):  # noqa: ANN001, ANN003
            if task not in ["binary", "multiclass", "regression"]:
                raise ValueError("task must be binary,multiclass or regression")
            super(PredictionLayer, self).__init__()  # noqa: UP008
            self.use_bias = use_bias
            self.task = task
            if self.use_bias:
                self.bias = nn.Parameter(torch.zeros((1,)))

        def forward(self, X):  # noqa: ANN001, ANN201, N803
            output = X
            if self.use_bias:
                output += self.bias
            if self.task == "binary":
                output = torch.sigmoid(output)
            return output

    return locals()


def _model(torch_like: Any) -> type:
    nn = torch_like.nn
    L = _layers(torch_like)

    class CTRModel(nn.Module):
        """AutoInt's attention stack and FiBiNET's SENET + bilinear branch over one embedding
        table set, then a DNN and the prediction layer."""

        def __init__(self, init_std=0.0001):  # noqa: ANN001
            super().__init__()
            self.feature_index = {f"C{i}": (i, i + 1) for i in range(SPARSE)}
            self.feature_index.update({f"I{i}": (SPARSE + i, SPARSE + i + 1) for i in range(DENSE)})
            self.embedding_dict = nn.ModuleDict(
                {f"C{i}": nn.Embedding(VOCAB, EMB, sparse=False) for i in range(SPARSE)}
            )
            for tensor in self.embedding_dict.values():
                nn.init.normal_(tensor.weight, mean=0, std=init_std)
            self.int_layers = nn.ModuleList(
                [L["InteractingLayer"](EMB, 2, True, scaling=True) for _ in range(2)]
            )
            self.SE = L["SENETLayer"](SPARSE, 3)
            self.Bilinear = L["BilinearInteraction"](SPARSE, EMB, "each")
            n_pairs = SPARSE * (SPARSE - 1) // 2
            dnn_in = SPARSE * EMB + 2 * n_pairs * EMB + DENSE
            self.dnn = L["DNN"](dnn_in, (8, 8), init_std=0.1)
            self.dnn_linear = nn.Linear(8, 1, bias=False)
            self.out = L["PredictionLayer"]("binary")
            self.regularization_weight = []
            self.add_regularization_weight(
                filter(lambda x: "weight" in x[0] and "bn" not in x[0],
                       self.dnn.named_parameters()), l2=1e-3)  # fmt: skip
            self.add_regularization_weight(self.dnn_linear.weight, l2=1e-3)

        def add_regularization_weight(self, weight_list, l1=0.0, l2=0.0):  # noqa: ANN001, ANN201
            # For a Parameter, put it in a list to keep Compatible with get_regularization_loss()
            if isinstance(weight_list, nn.parameter.Parameter):
                weight_list = [weight_list]
            # For generators, filters and ParameterLists, convert them to a list of tensors
            else:
                weight_list = list(weight_list)
            self.regularization_weight.append((weight_list, l1, l2))

        def get_regularization_loss(self):  # noqa: ANN201
            total_reg_loss = torch_like.zeros((1,))
            for weight_list, l1, l2 in self.regularization_weight:
                for w in weight_list:
                    if isinstance(w, tuple):
                        parameter = w[1]  # named_parameters
                    else:
                        parameter = w
                    if l1 > 0:
                        total_reg_loss += torch_like.sum(l1 * torch_like.abs(parameter))
                    if l2 > 0:
                        try:
                            total_reg_loss += torch_like.sum(l2 * torch_like.square(parameter))
                        except AttributeError:
                            total_reg_loss += torch_like.sum(l2 * parameter * parameter)
            return total_reg_loss

        def forward(self, X):  # noqa: ANN001, ANN201, N803
            torch = torch_like
            sparse_embedding_list = [
                self.embedding_dict[f"C{i}"](
                    X[:, self.feature_index[f"C{i}"][0] : self.feature_index[f"C{i}"][1]].long()
                )
                for i in range(SPARSE)
            ]
            dense_value_list = [
                X[:, self.feature_index[f"I{i}"][0] : self.feature_index[f"I{i}"][1]]
                for i in range(DENSE)
            ]
            att_input = torch.cat(sparse_embedding_list, dim=1)
            for layer in self.int_layers:
                att_input = layer(att_input)
            att_output = torch.flatten(att_input, start_dim=1)
            senet_output = self.SE(torch.cat(sparse_embedding_list, dim=1))
            senet_bilinear_out = self.Bilinear(senet_output)
            bilinear_out = self.Bilinear(torch.cat(sparse_embedding_list, dim=1))
            dnn_input = torch.cat(
                [att_output,
                 torch.flatten(torch.cat([senet_bilinear_out, bilinear_out], dim=1), start_dim=1),
                 torch.flatten(torch.cat(dense_value_list, dim=-1), start_dim=1)],
                dim=-1)  # fmt: skip
            deep_out = self.dnn(dnn_input)
            logit = self.dnn_linear(deep_out)
            y_pred = self.out(logit)
            return y_pred

    return CTRModel


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    n = 48
    x = np.concatenate(
        [rng.integers(0, VOCAB, (n, SPARSE)).astype(np.float64), rng.random((n, DENSE))], axis=1
    )
    y = ((x[:, 0] + x[:, 1] > 5) ^ (x[:, SPARSE] > 0.7)).astype(np.float64)[:, None]
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    for opt_name in ("adagrad", "adam"):
        if opt_name == "adagrad":
            optim = torch.optim.Adagrad(model.parameters(), lr=0.05)
        else:
            optim = torch.optim.Adam(model.parameters(), lr=0.01)
        loss_func = F.binary_cross_entropy
        model = model.train()
        for _epoch in range(2):
            total_loss_epoch = 0.0
            for start in range(0, n, 16):
                x_batch = as_tensor(torch, x[start : start + 16]).float()
                y_batch = as_tensor(torch, y[start : start + 16]).float()
                y_pred = model(x_batch).squeeze()
                optim.zero_grad()
                loss = loss_func(y_pred, y_batch.squeeze(), reduction="sum")
                reg_loss = model.get_regularization_loss()
                total_loss = loss + reg_loss
                total_loss_epoch += total_loss.item()
                total_loss.backward()
                optim.step()
            values.append(total_loss_epoch)
    model.eval()
    with torch.no_grad():
        pred = model(as_tensor(torch, x).float()).cpu().data.numpy()
    values.append(float(pred.sum()))
    values.append(float(model.int_layers[0].normalized_att_scores.sum(dim=-1).mean()))
    return values
