"""FinalMLP and MaskNet CTR models as FuxiCTR writes them (reczoo/FuxiCTR,
``model_zoo/FinalMLP/src/FinalMLP.py``, ``model_zoo/MaskNet/src/MaskNet.py``,
``fuxictr/pytorch/layers/blocks/mlp_block.py``, ``fuxictr/pytorch/models/rank_model.py``),
size-reduced.

The idioms kept: ``MLP_Block`` (``hidden_units = [input_dim] + hidden_units``, layers appended
to a list and wrapped in ``nn.Sequential(*dense_layers)``, a ``Sigmoid`` output activation);
FinalMLP's ``FeatureSelection`` (context-free gates from ``nn.Parameter(torch.zeros(1,
embedding_dim))`` ``.repeat(flat_emb.size(0), 1)``, ``gt1 = self.fs1_gate(fs1_input) * 2``,
``flat_emb * gt1``) and ``InteractionAggregation`` (``nn.Parameter(torch.Tensor(num_heads *
head_x_dim * head_y_dim, output_dim))`` with ``nn.init.xavier_normal_``, the bilinear head
``torch.matmul(torch.matmul(head_x.unsqueeze(2), self.w_xy.view(num_heads, head_x_dim,
-1)).view(-1, num_heads, output_dim, head_y_dim), head_y.unsqueeze(-1)).squeeze(-1)``, ``output
+= xy.sum(dim=1)``); MaskNet's ``MaskBlock`` (``V_mask = self.mask_layer(V_emb)``, ``nn.Linear(
..., bias=False)`` + ``nn.LayerNorm`` on ``V_mask * V_hidden``), ``ParallelMaskNet``
(``torch.cat(block_out, dim=-1)`` into an MLP) and ``SerialMaskNet``, the per-field
``nn.ModuleList(nn.LayerNorm(embedding_dim) for _ in range(num_fields))`` over
``feature_emb.chunk(num_fields, dim=1)``; the embedding layer's ``torch.stack(
feature_emb_list, dim=1)`` and ``.flatten(start_dim=1)``; ``rank_model``'s
``F.binary_cross_entropy`` on the sigmoid output plus the embedding regulariser ``(emb_reg /
2) * torch.norm(param, 2) ** 2``, ``nn.utils.clip_grad_norm_(self.parameters(),
max_gradient_norm)``; a NumPy log loss for evaluation.

Changed: 3 categorical fields of 5 values (Criteo's 39 fields), embedding 10 -> 4, MLPs of 400
units -> 6, 2 heads, 2 mask blocks of 6; the three models are held in one ``nn.ModuleDict``
and trained for 3 steps each on seeded NumPy clicks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

FIELDS, VOCAB, EMB, BATCH = 3, 5, 4, 8


def _blocks(torch: Any) -> dict:
    nn = torch.nn

    def get_activation(activation: Any) -> Any:
        if isinstance(activation, str):
            if activation.lower() == "relu":
                return nn.ReLU()
            elif activation.lower() == "sigmoid":
                return nn.Sigmoid()
            else:
                return getattr(nn, activation)()
        return activation

    class MLP_Block(nn.Module):
        def __init__(self, input_dim, hidden_units=[], hidden_activations="ReLU",  # noqa: B006
                     output_dim=None, output_activation=None, dropout_rates=0.0,
                     batch_norm=False, use_bias=True):  # noqa: ANN001 # fmt: skip
            super(MLP_Block, self).__init__()  # noqa: UP008
            dense_layers = []
            if not isinstance(dropout_rates, list):
                dropout_rates = [dropout_rates] * len(hidden_units)
            if not isinstance(hidden_activations, list):
                hidden_activations = [hidden_activations] * len(hidden_units)
            hidden_activations = [get_activation(x) for x in hidden_activations]
            hidden_units = [input_dim] + hidden_units
            for idx in range(len(hidden_units) - 1):
                dense_layers.append(nn.Linear(hidden_units[idx], hidden_units[idx + 1],
                                              bias=use_bias))  # fmt: skip
                if batch_norm:
                    dense_layers.append(nn.BatchNorm1d(hidden_units[idx + 1]))
                if hidden_activations[idx]:
                    dense_layers.append(hidden_activations[idx])
                if dropout_rates[idx] > 0:
                    dense_layers.append(nn.Dropout(p=dropout_rates[idx]))
            if output_dim is not None:
                dense_layers.append(nn.Linear(hidden_units[-1], output_dim, bias=use_bias))
            if output_activation is not None:
                dense_layers.append(get_activation(output_activation))
            self.mlp = nn.Sequential(*dense_layers)  # * used to unpack list

        def forward(self, inputs: Any) -> Any:
            return self.mlp(inputs)

    class FeatureEmbedding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding_layers = nn.ModuleDict(
                {f"f{i}": nn.Embedding(VOCAB, EMB) for i in range(FIELDS)}
            )

        def forward(self, X: Any) -> Any:
            feature_emb_list = [self.embedding_layers[f"f{i}"](X[:, i]) for i in range(FIELDS)]
            return torch.stack(feature_emb_list, dim=1)

    class FeatureSelection(nn.Module):
        def __init__(self, feature_dim, embedding_dim, fs_hidden_units=[]):  # noqa: ANN001, B006
            super(FeatureSelection, self).__init__()  # noqa: UP008
            self.fs1_ctx_bias = nn.Parameter(torch.zeros(1, embedding_dim))
            self.fs2_ctx_bias = nn.Parameter(torch.zeros(1, embedding_dim))
            self.fs1_gate = MLP_Block(input_dim=embedding_dim, output_dim=feature_dim,
                                      hidden_units=fs_hidden_units, hidden_activations="ReLU",
                                      output_activation="Sigmoid", batch_norm=False)  # fmt: skip
            self.fs2_gate = MLP_Block(input_dim=embedding_dim, output_dim=feature_dim,
                                      hidden_units=fs_hidden_units, hidden_activations="ReLU",
                                      output_activation="Sigmoid", batch_norm=False)  # fmt: skip

        def forward(self, X: Any, flat_emb: Any) -> tuple:
            fs1_input = self.fs1_ctx_bias.repeat(flat_emb.size(0), 1)
            gt1 = self.fs1_gate(fs1_input) * 2
            feature1 = flat_emb * gt1
            fs2_input = self.fs2_ctx_bias.repeat(flat_emb.size(0), 1)
            gt2 = self.fs2_gate(fs2_input) * 2
            feature2 = flat_emb * gt2
            return feature1, feature2

    class InteractionAggregation(nn.Module):
        def __init__(self, x_dim, y_dim, output_dim=1, num_heads=1):  # noqa: ANN001
            super(InteractionAggregation, self).__init__()  # noqa: UP008
            assert x_dim % num_heads == 0 and y_dim % num_heads == 0, (
                "Input dim must be divisible by num_heads!"
            )
            self.num_heads = num_heads
            self.output_dim = output_dim
            self.head_x_dim = x_dim // num_heads
            self.head_y_dim = y_dim // num_heads
            self.w_x = nn.Linear(x_dim, output_dim)
            self.w_y = nn.Linear(y_dim, output_dim)
            self.w_xy = nn.Parameter(
                torch.Tensor(num_heads * self.head_x_dim * self.head_y_dim, output_dim)
            )
            nn.init.xavier_normal_(self.w_xy)

        def forward(self, x: Any, y: Any) -> Any:
            output = self.w_x(x) + self.w_y(y)
            head_x = x.view(-1, self.num_heads, self.head_x_dim)
            head_y = y.view(-1, self.num_heads, self.head_y_dim)
            xy = torch.matmul(
                torch.matmul(
                    head_x.unsqueeze(2), self.w_xy.view(self.num_heads, self.head_x_dim, -1)
                ).view(-1, self.num_heads, self.output_dim, self.head_y_dim),
                head_y.unsqueeze(-1),
            ).squeeze(-1)
            output += xy.sum(dim=1)
            return output

    class FinalMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            feature_dim = EMB * FIELDS
            self.embedding_layer = FeatureEmbedding()
            self.mlp1 = MLP_Block(input_dim=feature_dim, output_dim=None, hidden_units=[6, 6],
                                  hidden_activations="ReLU", output_activation=None,
                                  dropout_rates=0, batch_norm=True)  # fmt: skip
            self.mlp2 = MLP_Block(input_dim=feature_dim, output_dim=None, hidden_units=[6],
                                  hidden_activations="ReLU", output_activation=None,
                                  dropout_rates=0, batch_norm=False)  # fmt: skip
            self.use_fs = True
            self.fs_module = FeatureSelection(feature_dim, EMB, [4])
            self.fusion_module = InteractionAggregation(6, 6, output_dim=1, num_heads=2)
            self.output_activation = nn.Sigmoid()

        def forward(self, X: Any) -> Any:
            flat_emb = self.embedding_layer(X).flatten(start_dim=1)
            if self.use_fs:
                feat1, feat2 = self.fs_module(X, flat_emb)
            else:
                feat1, feat2 = flat_emb, flat_emb
            y_pred = self.fusion_module(self.mlp1(feat1), self.mlp2(feat2))
            y_pred = self.output_activation(y_pred)
            return y_pred

    class MaskBlock(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, hidden_activation="ReLU",
                     reduction_ratio=1, dropout_rate=0, layer_norm=True):  # noqa: ANN001 # fmt: skip
            super(MaskBlock, self).__init__()  # noqa: UP008
            self.mask_layer = nn.Sequential(
                nn.Linear(input_dim, int(hidden_dim * reduction_ratio)),
                nn.ReLU(),
                nn.Linear(int(hidden_dim * reduction_ratio), hidden_dim),
            )
            hidden_layers = [nn.Linear(hidden_dim, output_dim, bias=False)]
            if layer_norm:
                hidden_layers.append(nn.LayerNorm(output_dim))
            hidden_layers.append(get_activation(hidden_activation))
            if dropout_rate > 0:
                hidden_layers.append(nn.Dropout(p=dropout_rate))
            self.hidden_layer = nn.Sequential(*hidden_layers)

        def forward(self, V_emb: Any, V_hidden: Any) -> Any:
            V_mask = self.mask_layer(V_emb)
            v_out = self.hidden_layer(V_mask * V_hidden)
            return v_out

    class ParallelMaskNet(nn.Module):
        def __init__(self, input_dim, output_dim=None, output_activation=None, num_blocks=1,
                     block_dim=64, hidden_units=[], hidden_activations="ReLU",  # noqa: B006
                     reduction_ratio=1, dropout_rates=0, layer_norm=True):  # noqa: ANN001 # fmt: skip
            super(ParallelMaskNet, self).__init__()  # noqa: UP008
            self.num_blocks = num_blocks
            self.mask_blocks = nn.ModuleList([
                MaskBlock(input_dim, input_dim, block_dim, hidden_activations, reduction_ratio,
                          dropout_rates, layer_norm)
                for _ in range(num_blocks)
            ])  # fmt: skip
            self.dnn = MLP_Block(input_dim=block_dim * num_blocks, output_dim=output_dim,
                                 hidden_units=hidden_units,
                                 hidden_activations=hidden_activations,
                                 output_activation=output_activation,
                                 dropout_rates=dropout_rates)  # fmt: skip

        def forward(self, V_emb: Any, V_hidden: Any) -> Any:
            block_out = []
            for i in range(self.num_blocks):
                block_out.append(self.mask_blocks[i](V_emb, V_hidden))
            concat_out = torch.cat(block_out, dim=-1)
            v_out = self.dnn(concat_out)
            return v_out

    class SerialMaskNet(nn.Module):
        def __init__(self, input_dim, output_dim=None, output_activation=None,
                     hidden_units=[], hidden_activations="ReLU", reduction_ratio=1,  # noqa: B006
                     dropout_rates=0, layer_norm=True):  # noqa: ANN001 # fmt: skip
            super(SerialMaskNet, self).__init__()  # noqa: UP008
            if not isinstance(dropout_rates, list):
                dropout_rates = [dropout_rates] * len(hidden_units)
            if not isinstance(hidden_activations, list):
                hidden_activations = [hidden_activations] * len(hidden_units)
            self.hidden_units = [input_dim] + hidden_units
            self.mask_blocks = nn.ModuleList()
            for idx in range(len(self.hidden_units) - 1):
                self.mask_blocks.append(
                    MaskBlock(
                        input_dim,
                        self.hidden_units[idx],
                        self.hidden_units[idx + 1],
                        hidden_activations[idx],
                        reduction_ratio,
                        dropout_rates[idx],
                        layer_norm,
                    )  # fmt: skip
                )
            fc_layers = []
            if output_dim is not None:
                fc_layers.append(nn.Linear(self.hidden_units[-1], output_dim))
            if output_activation is not None:
                fc_layers.append(get_activation(output_activation))
            self.fc = None
            if len(fc_layers) > 0:
                self.fc = nn.Sequential(*fc_layers)

        def forward(self, V_emb: Any, V_hidden: Any) -> Any:
            v_out = V_hidden
            for idx in range(len(self.hidden_units) - 1):
                v_out = self.mask_blocks[idx](V_emb, v_out)
            if self.fc is not None:
                v_out = self.fc(v_out)
            return v_out

    class MaskNet(nn.Module):
        def __init__(self, model_type: str, emb_layernorm: bool) -> None:
            super().__init__()
            self.num_fields = FIELDS
            self.embedding_layer = FeatureEmbedding()
            if model_type == "SerialMaskNet":
                self.mask_net = SerialMaskNet(input_dim=FIELDS * EMB, output_dim=1,
                                              output_activation=None, hidden_units=[6, 6],
                                              hidden_activations="ReLU", reduction_ratio=1,
                                              dropout_rates=0, layer_norm=True)  # fmt: skip
            elif model_type == "ParallelMaskNet":
                self.mask_net = ParallelMaskNet(input_dim=FIELDS * EMB, output_dim=1,
                                                output_activation=None, num_blocks=2,
                                                block_dim=6, hidden_units=[6],
                                                hidden_activations="ReLU", reduction_ratio=1,
                                                dropout_rates=0, layer_norm=True)  # fmt: skip
            if emb_layernorm:
                self.emb_norm = nn.ModuleList(nn.LayerNorm(EMB) for _ in range(FIELDS))
            else:
                self.emb_norm = None
            self.output_activation = nn.Sigmoid()

        def forward(self, X: Any) -> Any:
            feature_emb = self.embedding_layer(X)
            if self.emb_norm is not None:
                feat_list = feature_emb.chunk(self.num_fields, dim=1)
                V_hidden = torch.cat([self.emb_norm[i](feat) for i, feat in enumerate(feat_list)],
                                     dim=1)  # fmt: skip
            else:
                V_hidden = feature_emb
            y_pred = self.mask_net(feature_emb.flatten(start_dim=1), V_hidden.flatten(start_dim=1))
            y_pred = self.output_activation(y_pred)
            return y_pred

    return {"FinalMLP": FinalMLP, "MaskNet": MaskNet}


def make_model(torch_like: Any) -> Any:
    blocks = _blocks(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "finalmlp": blocks["FinalMLP"](),
            "masknet_parallel": blocks["MaskNet"]("ParallelMaskNet", emb_layernorm=True),
            "masknet_serial": blocks["MaskNet"]("SerialMaskNet", emb_layernorm=False),
        }
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(39)
    values: list[float] = []
    emb_reg, max_gradient_norm = 1e-2, 10.0
    for name, model in models.items():
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _step in range(3):
            X = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, FIELDS)))
            y_true = as_tensor(torch, (rng.random((BATCH, 1)) < 0.3).astype(np.float64))
            model.train()
            optimizer.zero_grad()
            y_pred = model(X)
            loss = F.binary_cross_entropy(y_pred, y_true, reduction="mean")
            reg_term = 0
            for param_name, param in model.named_parameters():
                if "embedding_layer" in param_name:
                    reg_term += (emb_reg / 2) * torch.norm(param, 2) ** 2
            loss = loss + reg_term
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_gradient_norm)
            optimizer.step()
            values.append(loss.item())
        model.eval()
        with torch.no_grad():
            X = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, FIELDS)))
            y = (rng.random(BATCH) < 0.3).astype(np.float64)
            p = np.clip(model(X).numpy().reshape(-1), 1e-7, 1 - 1e-7)
            values.append(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))))
        values.append(name.count("_"))
    return values
