"""Multi-task recommenders as shenweichen/DeepCTR-Torch writes them: ``MMOE`` (Ma et al., 2018;
``deepctr_torch/models/multitask/mmoe.py``), ``PLE``'s customized gate control
(Tang et al., 2020; ``models/multitask/ple.py``) and ``ESMM`` (Ma et al., 2018;
``models/multitask/esmm.py``), with ``BaseModel.fit``'s multi-task loss
(``models/basemodel.py``), size-reduced.

The idioms: the experts as ``nn.ModuleList([DNN(...) for _ in range(self.num_experts)])``
stacked by ``torch.stack(expert_outs, 1)``; the gates ``nn.Linear(..., self.num_experts,
bias=False)`` mixed by ``torch.matmul(gate_dnn_out.softmax(1).unsqueeze(1), expert_outs)`` and
``gate_mul_expert.squeeze()``; PLE's ``torch.cat(cur_experts_outputs, dim=1)`` of task-specific
and shared experts and its shared gate over all of them; ESMM's ``ctcvr_pred = ctr_pred *
cvr_pred`` with ``torch.cat([ctr_pred, ctcvr_pred], -1)``; ``combined_dnn_input``
(``torch.flatten(torch.cat(sparse_embedding_list, dim=-1), start_dim=1)`` concatenated with the
dense values); the embedding lookup ``X[:, lookup_idx[0]:lookup_idx[1]].long()``;
``PredictionLayer`` (``output += self.bias``, ``torch.sigmoid`` for ``"binary"``, identity for
``"regression"``); ``fit``'s ``loss = sum([loss_func[i](y_pred[:, i], y[:, i],
reduction='sum') for i in range(self.num_tasks)])`` over ``F.binary_cross_entropy`` and
``F.mse_loss``, ``reg_loss = self.get_regularization_loss()`` (``torch.sum(l2_reg *
torch.square(parameter))`` over ``named_parameters`` filtered by ``'weight' in name and 'bn' not
in name``), ``total_loss = loss + reg_loss + self.aux_loss``; ``torch.optim.Adam(self.
parameters())`` and ``torch.optim.Adagrad``.

Changed: the census-income features -> 3 sparse features and 2 dense ones, embedding dim 4,
experts ``(256, 128)`` -> ``(6,)``, towers ``(64,)`` -> ``(3,)``, 3 experts (PLE: 1 specific per
task and 1 shared), a few NumPy batches; ``init_std`` 1e-4 -> 0.1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
VOCABS, EMB, DENSE, BATCH, STEPS = (5, 7, 4), 4, 2, 8, 3
INPUT_DIM = len(VOCABS) * EMB + DENSE


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class DNN(nn.Module):
        def __init__(self, inputs_dim, hidden_units, init_std=0.1):  # noqa: ANN001
            super(DNN, self).__init__()  # noqa: UP008 (as in the repository)
            self.dropout = nn.Dropout(0)
            hidden_units = [inputs_dim] + list(hidden_units)
            self.linears = nn.ModuleList(
                [
                    nn.Linear(hidden_units[i], hidden_units[i + 1])
                    for i in range(len(hidden_units) - 1)
                ]
            )
            self.activation_layers = nn.ModuleList(
                [nn.ReLU(inplace=True) for i in range(len(hidden_units) - 1)]
            )
            for name, tensor in self.linears.named_parameters():
                if "weight" in name:
                    nn.init.normal_(tensor, mean=0, std=init_std)

        def forward(self, inputs):  # noqa: ANN001, ANN202
            deep_input = inputs
            for i in range(len(self.linears)):
                fc = self.linears[i](deep_input)
                fc = self.activation_layers[i](fc)
                fc = self.dropout(fc)
                deep_input = fc
            return deep_input

    class PredictionLayer(nn.Module):
        def __init__(self, task="binary", use_bias=True):  # noqa: ANN001
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

    class BaseModel(nn.Module):
        def __init__(self, init_std=0.1):  # noqa: ANN001
            super(BaseModel, self).__init__()  # noqa: UP008
            self.embedding_dict = nn.ModuleDict(
                {f"C{i}": nn.Embedding(v, EMB, sparse=False) for i, v in enumerate(VOCABS)}
            )
            for tensor in self.embedding_dict.values():
                nn.init.normal_(tensor.weight, mean=0, std=init_std)
            self.regularization_weight = []
            self.aux_loss = torch.zeros((1,))

        def add_regularization_weight(self, weight_list, l1=0.0, l2=0.0):  # noqa: ANN001
            if isinstance(weight_list, torch.nn.parameter.Parameter):
                weight_list = [weight_list]
            else:
                weight_list = list(weight_list)
            self.regularization_weight.append((weight_list, l1, l2))

        def get_regularization_loss(self):  # noqa: ANN202
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

        def input_from_feature_columns(self, X):  # noqa: ANN001, ANN202, N803
            sparse_embedding_list = [
                self.embedding_dict[f"C{i}"](X[:, i : i + 1].long()) for i in range(len(VOCABS))
            ]
            dense_value_list = [X[:, len(VOCABS) + j : len(VOCABS) + j + 1] for j in range(DENSE)]
            return sparse_embedding_list, dense_value_list

    def combined_dnn_input(sparse_embedding_list, dense_value_list):  # noqa: ANN001, ANN202
        if len(sparse_embedding_list) > 0 and len(dense_value_list) > 0:
            sparse_dnn_input = torch.flatten(torch.cat(sparse_embedding_list, dim=-1), start_dim=1)
            dense_dnn_input = torch.flatten(torch.cat(dense_value_list, dim=-1), start_dim=1)
            return torch.cat([sparse_dnn_input, dense_dnn_input], dim=-1)
        raise NotImplementedError

    class MMOE(BaseModel):
        def __init__(self, num_experts=3, expert_dnn_hidden_units=(6,), gate_dnn_hidden_units=(),  # noqa: ANN001
                     tower_dnn_hidden_units=(3,), l2_reg_dnn=1e-3,
                     task_types=("binary", "regression")):  # fmt: skip
            super(MMOE, self).__init__()  # noqa: UP008
            self.num_tasks = len(task_types)
            self.input_dim = INPUT_DIM
            self.num_experts = num_experts
            self.expert_dnn_hidden_units = expert_dnn_hidden_units
            self.gate_dnn_hidden_units = gate_dnn_hidden_units
            self.tower_dnn_hidden_units = tower_dnn_hidden_units
            # expert dnn
            self.expert_dnn = nn.ModuleList(
                [DNN(self.input_dim, expert_dnn_hidden_units) for _ in range(self.num_experts)]
            )
            # gates dnn
            if len(gate_dnn_hidden_units) > 0:
                self.gate_dnn = nn.ModuleList(
                    [DNN(self.input_dim, gate_dnn_hidden_units) for _ in range(self.num_tasks)]
                )
            self.gate_dnn_final_layer = nn.ModuleList(
                [nn.Linear(gate_dnn_hidden_units[-1] if len(gate_dnn_hidden_units) > 0 else self.input_dim,  # noqa: E501
                           self.num_experts, bias=False) for _ in range(self.num_tasks)]
            )  # fmt: skip
            # tower dnn (task-specific)
            if len(tower_dnn_hidden_units) > 0:
                self.tower_dnn = nn.ModuleList(
                    [
                        DNN(expert_dnn_hidden_units[-1], tower_dnn_hidden_units)
                        for _ in range(self.num_tasks)
                    ]  # fmt: skip
                )
            self.tower_dnn_final_layer = nn.ModuleList(
                [nn.Linear(tower_dnn_hidden_units[-1] if len(tower_dnn_hidden_units) > 0 else
                           expert_dnn_hidden_units[-1], 1, bias=False)
                 for _ in range(self.num_tasks)]
            )  # fmt: skip
            self.out = nn.ModuleList([PredictionLayer(task) for task in task_types])
            regularization_modules = [self.expert_dnn, self.gate_dnn_final_layer,
                                      self.tower_dnn_final_layer]  # fmt: skip
            for module in regularization_modules:
                self.add_regularization_weight(
                    filter(
                        lambda x: "weight" in x[0] and "bn" not in x[0], module.named_parameters()
                    ),
                    l2=l2_reg_dnn,
                )

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            sparse_embedding_list, dense_value_list = self.input_from_feature_columns(X)
            dnn_input = combined_dnn_input(sparse_embedding_list, dense_value_list)
            # expert dnn
            expert_outs = []
            for i in range(self.num_experts):
                expert_out = self.expert_dnn[i](dnn_input)
                expert_outs.append(expert_out)
            expert_outs = torch.stack(expert_outs, 1)  # (bs, num_experts, dim)
            # gate dnn
            mmoe_outs = []
            for i in range(self.num_tasks):
                if len(self.gate_dnn_hidden_units) > 0:
                    gate_dnn_out = self.gate_dnn[i](dnn_input)
                    gate_dnn_out = self.gate_dnn_final_layer[i](gate_dnn_out)
                else:
                    gate_dnn_out = self.gate_dnn_final_layer[i](dnn_input)
                gate_mul_expert = torch.matmul(gate_dnn_out.softmax(1).unsqueeze(1), expert_outs)
                mmoe_outs.append(gate_mul_expert.squeeze())
            # tower dnn
            task_outs = []
            for i in range(self.num_tasks):
                if len(self.tower_dnn_hidden_units) > 0:
                    tower_dnn_out = self.tower_dnn[i](mmoe_outs[i])
                    tower_dnn_logit = self.tower_dnn_final_layer[i](tower_dnn_out)
                else:
                    tower_dnn_logit = self.tower_dnn_final_layer[i](mmoe_outs[i])
                output = self.out[i](tower_dnn_logit)
                task_outs.append(output)
            task_outs = torch.cat(task_outs, -1)
            return task_outs

    class PLE(BaseModel):
        """One CGC level (``num_levels=1``): 1 specific expert per task and 1 shared one."""

        def __init__(self, specific=1, shared=1, expert_units=(6,), tower_units=(3,)):  # noqa: ANN001
            super(PLE, self).__init__()  # noqa: UP008
            self.num_tasks, self.specific_expert_num, self.shared_expert_num = 2, specific, shared
            self.specific_experts = nn.ModuleList(
                [
                    nn.ModuleList([DNN(INPUT_DIM, expert_units) for _ in range(specific)])
                    for _ in range(self.num_tasks)
                ]  # fmt: skip
            )
            self.shared_experts = nn.ModuleList(
                [DNN(INPUT_DIM, expert_units) for _ in range(shared)]
            )
            specific_gate_output_dim = specific + shared
            self.specific_gate_dnn_final_layer = nn.ModuleList(
                [
                    nn.Linear(INPUT_DIM, specific_gate_output_dim, bias=False)
                    for _ in range(self.num_tasks)
                ]  # fmt: skip
            )
            self.tower_dnn = nn.ModuleList([DNN(expert_units[-1], tower_units) for _ in range(2)])
            self.tower_dnn_final_layer = nn.ModuleList(
                [nn.Linear(tower_units[-1], 1, bias=False) for _ in range(self.num_tasks)]
            )
            self.out = nn.ModuleList([PredictionLayer(t) for t in ("binary", "binary")])

        def cgc_net(self, inputs):  # noqa: ANN001, ANN202
            specific_expert_outputs = []
            for i in range(self.num_tasks):
                for j in range(self.specific_expert_num):
                    specific_expert_output = self.specific_experts[i][j](inputs[i])
                    specific_expert_outputs.append(specific_expert_output)
            shared_expert_outputs = []
            for k in range(self.shared_expert_num):
                shared_expert_output = self.shared_experts[k](inputs[-1])
                shared_expert_outputs.append(shared_expert_output)
            cgc_outs = []
            for i in range(self.num_tasks):
                # concat task-specific expert and task-shared expert
                cur_experts_outputs = (
                    specific_expert_outputs[
                        i * self.specific_expert_num : (i + 1) * self.specific_expert_num
                    ]
                    + shared_expert_outputs
                )
                cur_experts_outputs = torch.stack(cur_experts_outputs, 1)
                gate_dnn_out = self.specific_gate_dnn_final_layer[i](inputs[i])
                gate_mul_expert = torch.matmul(
                    gate_dnn_out.softmax(1).unsqueeze(1), cur_experts_outputs
                )  # (bs, 1, dim)
                cgc_outs.append(gate_mul_expert.squeeze())
            return cgc_outs

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            sparse_embedding_list, dense_value_list = self.input_from_feature_columns(X)
            dnn_input = combined_dnn_input(sparse_embedding_list, dense_value_list)
            ple_inputs = [dnn_input] * (self.num_tasks + 1)
            ple_outputs = self.cgc_net(ple_inputs)
            task_outs = []
            for i in range(self.num_tasks):
                tower_dnn_out = self.tower_dnn[i](ple_outputs[i])
                tower_dnn_logit = self.tower_dnn_final_layer[i](tower_dnn_out)
                output = self.out[i](tower_dnn_logit)
                task_outs.append(output)
            task_outs = torch.cat(task_outs, -1)
            return task_outs

    class ESMM(BaseModel):
        def __init__(self, tower_dnn_hidden_units=(6,)):  # noqa: ANN001
            super(ESMM, self).__init__()  # noqa: UP008
            self.ctr_dnn = DNN(INPUT_DIM, tower_dnn_hidden_units)
            self.cvr_dnn = DNN(INPUT_DIM, tower_dnn_hidden_units)
            self.ctr_dnn_final_layer = nn.Linear(tower_dnn_hidden_units[-1], 1, bias=False)
            self.cvr_dnn_final_layer = nn.Linear(tower_dnn_hidden_units[-1], 1, bias=False)
            self.out = PredictionLayer("binary")

        def forward(self, X):  # noqa: ANN001, ANN202, N803
            sparse_embedding_list, dense_value_list = self.input_from_feature_columns(X)
            dnn_input = combined_dnn_input(sparse_embedding_list, dense_value_list)
            ctr_output = self.ctr_dnn(dnn_input)
            cvr_output = self.cvr_dnn(dnn_input)
            ctr_logit = self.ctr_dnn_final_layer(ctr_output)
            cvr_logit = self.cvr_dnn_final_layer(cvr_output)
            ctr_pred = self.out(ctr_logit)
            cvr_pred = self.out(cvr_logit)
            ctcvr_pred = ctr_pred * cvr_pred  # CTCVR = CTR * CVR
            task_outs = torch.cat([ctr_pred, ctcvr_pred], -1)
            return task_outs

    return nn.ModuleDict({"mmoe": MMOE(), "ple": PLE(), "esmm": ESMM()})


def _batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate(  # noqa: N806
        [rng.integers(0, v, (BATCH, 1)) for v in VOCABS] + [rng.random((BATCH, DENSE))], axis=1
    )
    click = (rng.random(BATCH) < 0.5).astype(np.float64)
    y = np.stack([click, click * (rng.random(BATCH) < 0.5), rng.random(BATCH)], axis=1)
    return X, y


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(11)
    values: list[float] = []
    setups = {
        "mmoe": ([F.binary_cross_entropy, F.mse_loss], (0, 2), torch.optim.Adam, 0.01),
        "ple": (
            [F.binary_cross_entropy, F.binary_cross_entropy],
            (0, 1),
            torch.optim.Adagrad,
            0.05,
        ),
        "esmm": ([F.binary_cross_entropy, F.binary_cross_entropy], (0, 1), torch.optim.Adam, 0.01),
    }
    for name, model in models.items():
        loss_func, columns, optim_cls, lr = setups[name]
        optim = optim_cls(model.parameters(), lr=lr)
        for _ in range(STEPS):
            X, Y = _batch(rng)  # noqa: N806
            x = as_tensor(torch, X).float()
            y = as_tensor(torch, Y[:, list(columns)]).float()
            model.train()
            y_pred = model(x).squeeze()
            optim.zero_grad()
            loss = sum([loss_func[i](y_pred[:, i], y[:, i], reduction="sum") for i in range(2)])
            reg_loss = model.get_regularization_loss()
            total_loss = loss + reg_loss + model.aux_loss
            total_loss.backward()
            optim.step()
            values.extend([loss.item(), total_loss.item()])
        model.eval()
        with torch.no_grad():
            X, _ = _batch(rng)  # noqa: N806
            values.extend(model(as_tensor(torch, X).float()).flatten().tolist())
    return values
