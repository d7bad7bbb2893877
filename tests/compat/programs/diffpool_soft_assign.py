"""DiffPool (Ying et al., 2018) as RexYing/diffpool writes it (``encoders.py``'s ``GraphConv``,
``GcnEncoderGraph`` and ``SoftPoolingGcnEncoder``; ``train.py``'s ``train`` and ``evaluate``),
size-reduced.

The idioms: ``GraphConv`` on dense batched adjacencies (``nn.Parameter(torch.FloatTensor(
input_dim, output_dim))``, ``torch.matmul(adj, x)``, ``y += x`` when ``add_self``, ``F.normalize(
y, p=2, dim=2)``); the deprecated initialisers ``m.weight.data = init.xavier_uniform(m.weight.
data, gain=nn.init.calculate_gain('relu'))`` and ``init.constant(m.bias.data, 0.0)`` over
``self.modules()``; ``apply_bn``'s fresh ``nn.BatchNorm1d(x.size()[1])`` built inside every
forward (normalising over the node axis); ``construct_mask`` (``torch.ones(int(num))`` written
into ``out_tensor[i, :batch_num_nodes[i]]`` with a NumPy int32 bound, ``.unsqueeze(2)``);
``gcn_forward``'s ``torch.cat(x_all, dim=2)`` and ``x_tensor * embedding_mask``; readout ``out,
_ = torch.max(embedding_tensor, dim=1)``; the soft assignment ``nn.Softmax(dim=-1)(self.
assign_pred_modules[i](self.assign_tensor))``, the pooled graph ``torch.matmul(torch.transpose(
self.assign_tensor, 1, 2), embedding_tensor)`` and ``torch.transpose(self.assign_tensor, 1, 2) @
adj @ self.assign_tensor``; the loss (``F.cross_entropy(pred, label, size_average=True)`` with
the legacy argument, the link-prediction term ``torch.min(pred_adj, torch.ones(1,
dtype=pred_adj.dtype))``, ``-adj * torch.log(pred_adj+eps) - (1-adj) * torch.log(1-pred_adj+eps)``,
the masked write ``self.link_loss[(1-adj_mask).bool()] = 0.0`` and ``np.sum(batch_num_nodes *
batch_num_nodes)``); the loop (``torch.optim.Adam(filter(lambda p : p.requires_grad,
model.parameters()), lr=0.001)``, ``Variable(data['adj'].float(), requires_grad=False)``,
``data['num_nodes'].int().numpy()``, the ``assign_x`` keyword, the deprecated
``nn.utils.clip_grad_norm(model.parameters(), args.clip)``) and ``evaluate``'s ``_, indices =
torch.max(ypred, 1)`` with ``indices.cpu().data.numpy()``.

Changed: ENZYMES -> 6 NumPy-drawn graphs of up to 6 nodes (two classes: ring-like vs dense),
hidden/embedding 20/20 -> 4/4, assign hidden 4, ``assign_ratio`` 0.1 -> 0.5, pred hidden
``[50]`` -> ``[5]``, batches of 3; ``.cuda()`` dropped; ``lr`` 0.001 -> 0.01; 1 epoch (2
batches), then ``evaluate`` on 6 new graphs.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
# the after-pool readout ``torch.max(embedding_tensor, dim=1)`` picks among pooled nodes whose
# rows agree to the last bit (``apply_bn`` standardises each pooled node over the batch and
# features, which leaves near-uniform soft clusters with equal rows): which one wins is
# rounding, and so is where its gradient goes. Losses agree to ~1e-6, the evaluated logits
# after the updates to ~1e-5 absolute.
ATOL = 5e-5
MAX_NODES, INPUT_DIM, HIDDEN, EMBED, LABELS, LAYERS = 6, 3, 4, 4, 2, 3


def make_model(torch_like: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # init.xavier_uniform / init.constant
        return _make_model(torch_like)


def _make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F, init = torch.nn.functional, torch.nn.init

    class GraphConv(nn.Module):
        def __init__(self, input_dim, output_dim, add_self=False, normalize_embedding=False,  # noqa: ANN001
                     dropout=0.0, bias=True):  # fmt: skip
            super(GraphConv, self).__init__()  # noqa: UP008 (as in the repository)
            self.add_self = add_self
            self.dropout = dropout
            if dropout > 0.001:
                self.dropout_layer = nn.Dropout(p=dropout)
            self.normalize_embedding = normalize_embedding
            self.input_dim = input_dim
            self.output_dim = output_dim
            self.weight = nn.Parameter(torch.FloatTensor(input_dim, output_dim))
            if bias:
                self.bias = nn.Parameter(torch.FloatTensor(output_dim))
            else:
                self.bias = None

        def forward(self, x, adj):  # noqa: ANN001, ANN202
            if self.dropout > 0.001:
                x = self.dropout_layer(x)
            y = torch.matmul(adj, x)
            if self.add_self:
                y += x
            y = torch.matmul(y, self.weight)
            if self.bias is not None:
                y = y + self.bias
            if self.normalize_embedding:
                y = F.normalize(y, p=2, dim=2)
            return y

    class GcnEncoderGraph(nn.Module):
        def __init__(self, input_dim, hidden_dim, embedding_dim, label_dim, num_layers,  # noqa: ANN001
                     pred_hidden_dims=[], concat=True, bn=True, dropout=0.0, args=None):  # noqa: B006 # fmt: skip
            super(GcnEncoderGraph, self).__init__()  # noqa: UP008
            self.concat = concat
            add_self = not concat
            self.bn = bn
            self.num_layers = num_layers
            self.num_aggs = 1
            self.bias = True
            self.conv_first, self.conv_block, self.conv_last = self.build_conv_layers(
                input_dim, hidden_dim, embedding_dim, num_layers, add_self, normalize=True,
                dropout=dropout)  # fmt: skip
            self.act = nn.ReLU()
            self.label_dim = label_dim
            if concat:
                self.pred_input_dim = hidden_dim * (num_layers - 1) + embedding_dim
            else:
                self.pred_input_dim = embedding_dim
            self.pred_model = self.build_pred_layers(self.pred_input_dim, pred_hidden_dims,
                                                     label_dim, num_aggs=self.num_aggs)  # fmt: skip
            for m in self.modules():
                if isinstance(m, GraphConv):
                    m.weight.data = init.xavier_uniform(m.weight.data,
                                                        gain=nn.init.calculate_gain("relu"))  # noqa: E501 # fmt: skip
                    if m.bias is not None:
                        m.bias.data = init.constant(m.bias.data, 0.0)

        def build_conv_layers(self, input_dim, hidden_dim, embedding_dim, num_layers, add_self,  # noqa: ANN001, ANN202
                              normalize=False, dropout=0.0):  # fmt: skip
            conv_first = GraphConv(input_dim=input_dim, output_dim=hidden_dim, add_self=add_self,
                                   normalize_embedding=normalize, bias=self.bias)  # fmt: skip
            conv_block = nn.ModuleList(
                [GraphConv(input_dim=hidden_dim, output_dim=hidden_dim, add_self=add_self,
                           normalize_embedding=normalize, dropout=dropout, bias=self.bias)
                 for i in range(num_layers - 2)])  # fmt: skip
            conv_last = GraphConv(input_dim=hidden_dim, output_dim=embedding_dim,
                                  add_self=add_self, normalize_embedding=normalize,
                                  bias=self.bias)  # fmt: skip
            return conv_first, conv_block, conv_last

        def build_pred_layers(self, pred_input_dim, pred_hidden_dims, label_dim, num_aggs=1):  # noqa: ANN001, ANN202
            pred_input_dim = pred_input_dim * num_aggs
            if len(pred_hidden_dims) == 0:
                pred_model = nn.Linear(pred_input_dim, label_dim)
            else:
                pred_layers = []
                for pred_dim in pred_hidden_dims:
                    pred_layers.append(nn.Linear(pred_input_dim, pred_dim))
                    pred_layers.append(self.act)
                    pred_input_dim = pred_dim
                pred_layers.append(nn.Linear(pred_dim, label_dim))
                pred_model = nn.Sequential(*pred_layers)
            return pred_model

        def construct_mask(self, max_nodes, batch_num_nodes):  # noqa: ANN001, ANN202
            """For each num_nodes in batch_num_nodes, the first num_nodes entries of the
            corresponding column are 1's, and the rest are 0's (to be masked out).
            Dimension of mask: [batch_size x max_nodes x 1]
            """
            # masks
            packed_masks = [torch.ones(int(num)) for num in batch_num_nodes]
            batch_size = len(batch_num_nodes)
            out_tensor = torch.zeros(batch_size, max_nodes)
            for i, mask in enumerate(packed_masks):
                out_tensor[i, : batch_num_nodes[i]] = mask
            return out_tensor.unsqueeze(2)

        def apply_bn(self, x):  # noqa: ANN001, ANN202
            """Batch normalization of 3D tensor x"""
            bn_module = nn.BatchNorm1d(x.size()[1])
            return bn_module(x)

        def gcn_forward(self, x, adj, conv_first, conv_block, conv_last, embedding_mask=None):  # noqa: ANN001, ANN202
            """Perform forward prop with graph convolution.
            Returns:
                Embedding matrix with dimension [batch_size x num_nodes x embedding]
            """
            x = conv_first(x, adj)
            x = self.act(x)
            if self.bn:
                x = self.apply_bn(x)
            x_all = [x]
            # out_all = []
            # out, _ = torch.max(x, dim=1)
            # out_all.append(out)
            for i in range(len(conv_block)):
                x = conv_block[i](x, adj)
                x = self.act(x)
                if self.bn:
                    x = self.apply_bn(x)
                x_all.append(x)
            x = conv_last(x, adj)
            x_all.append(x)
            # x_tensor: [batch_size x num_nodes x embedding]
            x_tensor = torch.cat(x_all, dim=2)
            if embedding_mask is not None:
                x_tensor = x_tensor * embedding_mask
            return x_tensor

        def loss(self, pred, label, type="softmax"):  # noqa: ANN001, ANN202, A002
            # softmax + CE
            if type == "softmax":
                return F.cross_entropy(pred, label, size_average=True)
            raise NotImplementedError(type)

    class SoftPoolingGcnEncoder(GcnEncoderGraph):
        def __init__(self, max_num_nodes, input_dim, hidden_dim, embedding_dim, label_dim,  # noqa: ANN001
                     num_layers, assign_hidden_dim, assign_ratio=0.25, assign_num_layers=-1,
                     num_pooling=1, pred_hidden_dims=[50], concat=True, bn=True, dropout=0.0,  # noqa: B006
                     linkpred=True, assign_input_dim=-1, args=None):  # fmt: skip
            """
            Args:
                num_layers: number of gc layers before each pooling
                num_nodes: number of nodes for each graph in batch
                linkpred: flag to turn on link prediction side objective
            """
            super(SoftPoolingGcnEncoder, self).__init__(  # noqa: UP008
                input_dim, hidden_dim, embedding_dim, label_dim, num_layers,
                pred_hidden_dims=pred_hidden_dims, concat=concat, args=args)  # fmt: skip
            add_self = not concat
            self.num_pooling = num_pooling
            self.linkpred = linkpred
            self.assign_ent = True

            # GC
            self.conv_first_after_pool = nn.ModuleList()
            self.conv_block_after_pool = nn.ModuleList()
            self.conv_last_after_pool = nn.ModuleList()
            for i in range(num_pooling):  # noqa: B007
                # use self to register the modules in self.modules()
                conv_first2, conv_block2, conv_last2 = self.build_conv_layers(
                    self.pred_input_dim, hidden_dim, embedding_dim, num_layers, add_self,
                    normalize=True, dropout=dropout)  # fmt: skip
                self.conv_first_after_pool.append(conv_first2)
                self.conv_block_after_pool.append(conv_block2)
                self.conv_last_after_pool.append(conv_last2)

            # assignment
            assign_dims = []
            if assign_num_layers == -1:
                assign_num_layers = num_layers
            if assign_input_dim == -1:
                assign_input_dim = input_dim

            self.assign_conv_first_modules = nn.ModuleList()
            self.assign_conv_block_modules = nn.ModuleList()
            self.assign_conv_last_modules = nn.ModuleList()
            self.assign_pred_modules = nn.ModuleList()
            assign_dim = int(max_num_nodes * assign_ratio)
            for i in range(num_pooling):  # noqa: B007
                assign_dims.append(assign_dim)
                assign_conv_first, assign_conv_block, assign_conv_last = self.build_conv_layers(
                    assign_input_dim, assign_hidden_dim, assign_dim, assign_num_layers, add_self,
                    normalize=True)  # fmt: skip
                assign_pred_input_dim = (
                    assign_hidden_dim * (num_layers - 1) + assign_dim if concat else assign_dim
                )
                assign_pred = self.build_pred_layers(assign_pred_input_dim, [], assign_dim,
                                                     num_aggs=1)  # fmt: skip

                # next pooling layer
                assign_input_dim = self.pred_input_dim
                assign_dim = int(assign_dim * assign_ratio)

                self.assign_conv_first_modules.append(assign_conv_first)
                self.assign_conv_block_modules.append(assign_conv_block)
                self.assign_conv_last_modules.append(assign_conv_last)
                self.assign_pred_modules.append(assign_pred)

            self.pred_model = self.build_pred_layers(
                self.pred_input_dim * (num_pooling + 1), pred_hidden_dims, label_dim,
                num_aggs=self.num_aggs)  # fmt: skip

            for m in self.modules():
                if isinstance(m, GraphConv):
                    m.weight.data = init.xavier_uniform(m.weight.data,
                                                        gain=nn.init.calculate_gain("relu"))  # noqa: E501 # fmt: skip
                    if m.bias is not None:
                        m.bias.data = init.constant(m.bias.data, 0.0)

        def forward(self, x, adj, batch_num_nodes, **kwargs):  # noqa: ANN001, ANN003, ANN202
            if "assign_x" in kwargs:
                x_a = kwargs["assign_x"]
            else:
                x_a = x

            # mask
            max_num_nodes = adj.size()[1]
            if batch_num_nodes is not None:
                embedding_mask = self.construct_mask(max_num_nodes, batch_num_nodes)
            else:
                embedding_mask = None

            out_all = []

            # [batch_size x num_nodes x embedding_dim]
            embedding_tensor = self.gcn_forward(x, adj, self.conv_first, self.conv_block,
                                                self.conv_last, embedding_mask)  # fmt: skip

            out, _ = torch.max(embedding_tensor, dim=1)
            out_all.append(out)
            if self.num_aggs == 2:
                out = torch.sum(embedding_tensor, dim=1)
                out_all.append(out)

            for i in range(self.num_pooling):
                if batch_num_nodes is not None and i == 0:
                    embedding_mask = self.construct_mask(max_num_nodes, batch_num_nodes)
                else:
                    embedding_mask = None

                self.assign_tensor = self.gcn_forward(
                    x_a, adj, self.assign_conv_first_modules[i],
                    self.assign_conv_block_modules[i], self.assign_conv_last_modules[i],
                    embedding_mask)  # fmt: skip
                # [batch_size x num_nodes x next_lvl_num_nodes]
                self.assign_tensor = nn.Softmax(dim=-1)(
                    self.assign_pred_modules[i](self.assign_tensor)
                )
                if embedding_mask is not None:
                    self.assign_tensor = self.assign_tensor * embedding_mask

                # update pooled features and adj matrix
                x = torch.matmul(torch.transpose(self.assign_tensor, 1, 2), embedding_tensor)
                adj = torch.transpose(self.assign_tensor, 1, 2) @ adj @ self.assign_tensor
                x_a = x

                embedding_tensor = self.gcn_forward(
                    x, adj, self.conv_first_after_pool[i], self.conv_block_after_pool[i],
                    self.conv_last_after_pool[i])  # fmt: skip

                out, _ = torch.max(embedding_tensor, dim=1)
                out_all.append(out)
                if self.num_aggs == 2:
                    out = torch.sum(embedding_tensor, dim=1)
                    out_all.append(out)

            if self.concat:
                output = torch.cat(out_all, dim=1)
            else:
                output = out
            ypred = self.pred_model(output)
            return ypred

        def loss(self, pred, label, adj=None, batch_num_nodes=None, adj_hop=1):  # noqa: ANN001, ANN202
            """
            Args:
                batch_num_nodes: numpy array of number of nodes in each graph in the minibatch.
            """
            eps = 1e-7
            loss = super(SoftPoolingGcnEncoder, self).loss(pred, label)  # noqa: UP008
            if self.linkpred:
                max_num_nodes = adj.size()[1]
                pred_adj0 = self.assign_tensor @ torch.transpose(self.assign_tensor, 1, 2)
                tmp = pred_adj0
                pred_adj = pred_adj0
                for adj_pow in range(adj_hop - 1):  # noqa: B007
                    tmp = tmp @ pred_adj0
                    pred_adj = pred_adj + tmp
                pred_adj = torch.min(pred_adj, torch.ones(1, dtype=pred_adj.dtype))
                self.link_loss = -adj * torch.log(pred_adj + eps) - (1 - adj) * torch.log(
                    1 - pred_adj + eps
                )
                if batch_num_nodes is None:
                    num_entries = max_num_nodes * max_num_nodes * adj.size()[0]
                    print("Warning: calculating link pred loss without masking")
                else:
                    num_entries = np.sum(batch_num_nodes * batch_num_nodes)
                    embedding_mask = self.construct_mask(max_num_nodes, batch_num_nodes)
                    adj_mask = embedding_mask @ torch.transpose(embedding_mask, 1, 2)
                    self.link_loss[(1 - adj_mask).bool()] = 0.0

                self.link_loss = torch.sum(self.link_loss) / float(num_entries)
                return loss + self.link_loss
            return loss

    return SoftPoolingGcnEncoder(MAX_NODES, INPUT_DIM, HIDDEN, EMBED, LABELS, LAYERS,
                                 assign_hidden_dim=4, assign_ratio=0.5, num_pooling=1,
                                 pred_hidden_dims=[5], concat=True, bn=True, linkpred=True,
                                 assign_input_dim=INPUT_DIM)  # fmt: skip


def _graphs(rng: np.random.Generator, count: int) -> list[dict]:
    out = []
    for g in range(count):
        n = int(rng.integers(4, MAX_NODES + 1))
        label = g % 2
        if label == 0:  # ring with a chord
            adj = np.zeros((n, n))
            for i in range(n):
                adj[i, (i + 1) % n] = adj[(i + 1) % n, i] = 1
        else:  # dense random
            upper = np.triu(rng.random((n, n)) < 0.8, 1)
            adj = (upper | upper.T).astype(np.float64)
        padded = np.zeros((MAX_NODES, MAX_NODES))
        padded[:n, :n] = adj
        feats = np.zeros((MAX_NODES, INPUT_DIM))
        feats[:n] = np.concatenate([adj.sum(1, keepdims=True) / n, rng.random((n, 2))], axis=1)
        out.append({"adj": padded, "feats": feats, "label": label, "num_nodes": n})
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size_average / clip_grad_norm deprecations
        return _run(torch_like, init)


def _run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    Variable = torch.autograd.Variable  # noqa: N806
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01)
    rng = np.random.default_rng(31)
    graphs = _graphs(rng, 6)

    def batches(gs: list) -> list[dict]:
        out = []
        for s in range(0, len(gs), 3):
            chunk = gs[s : s + 3]
            out.append({
                "adj": torch.from_numpy(np.stack([g["adj"] for g in chunk])),
                "feats": torch.from_numpy(np.stack([g["feats"] for g in chunk])),
                "label": torch.tensor([g["label"] for g in chunk]),
                "num_nodes": torch.tensor([g["num_nodes"] for g in chunk]),
            })  # fmt: skip
        return out

    values: list[float] = []
    for _epoch in range(1):
        model.train()
        for data in batches(graphs):
            model.zero_grad()
            adj = Variable(data["adj"].float(), requires_grad=False)
            h0 = Variable(data["feats"].float(), requires_grad=False)
            label = Variable(data["label"].long())
            batch_num_nodes = data["num_nodes"].int().numpy()
            assign_input = Variable(data["feats"].float(), requires_grad=False)
            ypred = model(h0, adj, batch_num_nodes, assign_x=assign_input)
            loss = model.loss(ypred, label, adj, batch_num_nodes)
            loss.backward()
            nn.utils.clip_grad_norm(model.parameters(), 2.0)
            optimizer.step()
            values.extend([loss.item(), model.link_loss.item()])

    # evaluate
    model.eval()
    labels, preds = [], []
    for data in batches(_graphs(rng, 6)):
        adj = Variable(data["adj"].float(), requires_grad=False)
        h0 = Variable(data["feats"].float(), requires_grad=False)
        labels.append(data["label"].long().numpy())
        batch_num_nodes = data["num_nodes"].int().numpy()
        assign_input = Variable(data["feats"].float(), requires_grad=False)
        ypred = model(h0, adj, batch_num_nodes, assign_x=assign_input)
        _, indices = torch.max(ypred, 1)
        preds.append(indices.cpu().data.numpy())
        values.extend(ypred.detach().flatten().tolist())
    labels = np.hstack(labels)
    preds = np.hstack(preds)
    values.append(float(np.mean(labels == preds)))
    return values
