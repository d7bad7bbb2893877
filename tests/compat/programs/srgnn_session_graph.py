"""SR-GNN: session-based recommendation with a gated graph neural network over each session's
item graph, as CRIPAC-DIG's ``SR-GNN`` writes it (``pytorch_code/model.py``: ``GNN``,
``SessionGraph``, ``forward``, ``train_test``; ``pytorch_code/utils.py``: ``Data.get_slice``),
size-reduced.

The idioms kept verbatim: the gate parameters ``Parameter(torch.Tensor(self.gate_size,
self.input_size))`` (legacy constructor) and ``reset_parameters`` (``weight.data.uniform_(-stdv,
stdv)`` over ``self.parameters()``); ``GNNCell``: ``torch.matmul(A[:, :, :A.shape[1]],
self.linear_edge_in(hidden)) + self.b_iah`` and the out-edge half ``A[:, :, A.shape[1]: 2 *
A.shape[1]]``, ``F.linear(inputs, self.w_ih, self.b_ih)``, ``gi.chunk(3, 2)``, the GRU update
``newgate + inputgate * (hidden - newgate)``; ``compute_scores``: ``hidden[torch.arange(
mask.shape[0]).long(), torch.sum(mask, 1) - 1]``, ``.view(ht.shape[0], 1, ht.shape[1])``,
``torch.sum(alpha * hidden * mask.view(mask.shape[0], -1, 1).float(), 1)``, the hybrid
``linear_transform(torch.cat([a, ht], 1))``, scores ``torch.matmul(a, b.transpose(1, 0))``
against ``self.embedding.weight[1:]``; the module-level ``forward`` (``torch.Tensor(x).long()``,
``get = lambda i: hidden[i][alias_inputs[i]]``, ``torch.stack([get(i) for i in
torch.arange(len(alias_inputs)).long()])``); ``nn.CrossEntropyLoss`` on ``targets - 1``; Adam
with ``weight_decay`` and ``StepLR`` held by the model; the evaluation's ``scores.topk(20)[1]``
to NumPy with ``np.isin`` hits and reciprocal ranks; ``get_slice``'s normalised in/out
adjacency built in NumPy.

Changed: 11 items, hidden size 8, sessions of 5 clicks, batches of 4, 4 training batches and
one evaluation batch, top-5 instead of top-20; ``torch.Tensor(A)`` of a list of arrays is
``torch.Tensor(np.array(A))`` (torch warns that the list form is slow); ``trans_to_cuda`` kept
(no GPU: it returns its argument).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the original trains in float32 (its `torch.Tensor(A).float()`)
N_NODE, HIDDEN, SEQ, BATCH, STEPS, TOPK = 12, 8, 5, 4, 4, 5


class _Opt:
    hiddenSize = HIDDEN
    batchSize = BATCH
    nonhybrid = False
    step = 1
    lr = 0.01
    l2 = 1e-5
    lr_dc_step = 2
    lr_dc = 0.5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    Module, Parameter = nn.Module, nn.Parameter

    class GNN(Module):
        def __init__(self, hidden_size, step=1):
            super(GNN, self).__init__()  # noqa: UP008
            self.step = step
            self.hidden_size = hidden_size
            self.input_size = hidden_size * 2
            self.gate_size = 3 * hidden_size
            self.w_ih = Parameter(torch.Tensor(self.gate_size, self.input_size))
            self.w_hh = Parameter(torch.Tensor(self.gate_size, self.hidden_size))
            self.b_ih = Parameter(torch.Tensor(self.gate_size))
            self.b_hh = Parameter(torch.Tensor(self.gate_size))
            self.b_iah = Parameter(torch.Tensor(self.hidden_size))
            self.b_oah = Parameter(torch.Tensor(self.hidden_size))

            self.linear_edge_in = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
            self.linear_edge_out = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
            self.linear_edge_f = nn.Linear(self.hidden_size, self.hidden_size, bias=True)

        def GNNCell(self, A, hidden):
            input_in = torch.matmul(A[:, :, : A.shape[1]], self.linear_edge_in(hidden)) + self.b_iah
            input_out = (
                torch.matmul(A[:, :, A.shape[1] : 2 * A.shape[1]], self.linear_edge_out(hidden))
                + self.b_oah
            )
            inputs = torch.cat([input_in, input_out], 2)
            gi = F.linear(inputs, self.w_ih, self.b_ih)
            gh = F.linear(hidden, self.w_hh, self.b_hh)
            i_r, i_i, i_n = gi.chunk(3, 2)
            h_r, h_i, h_n = gh.chunk(3, 2)
            resetgate = torch.sigmoid(i_r + h_r)
            inputgate = torch.sigmoid(i_i + h_i)
            newgate = torch.tanh(i_n + resetgate * h_n)
            hy = newgate + inputgate * (hidden - newgate)
            return hy

        def forward(self, A, hidden):
            for i in range(self.step):  # noqa: B007
                hidden = self.GNNCell(A, hidden)
            return hidden

    class SessionGraph(Module):
        def __init__(self, opt, n_node):
            super(SessionGraph, self).__init__()  # noqa: UP008
            self.hidden_size = opt.hiddenSize
            self.n_node = n_node
            self.batch_size = opt.batchSize
            self.nonhybrid = opt.nonhybrid
            self.embedding = nn.Embedding(self.n_node, self.hidden_size)
            self.gnn = GNN(self.hidden_size, step=opt.step)
            self.linear_one = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
            self.linear_two = nn.Linear(self.hidden_size, self.hidden_size, bias=True)
            self.linear_three = nn.Linear(self.hidden_size, 1, bias=False)
            self.linear_transform = nn.Linear(self.hidden_size * 2, self.hidden_size, bias=True)
            self.loss_function = nn.CrossEntropyLoss()
            self.optimizer = torch.optim.Adam(self.parameters(), lr=opt.lr, weight_decay=opt.l2)
            self.scheduler = torch.optim.lr_scheduler.StepLR(
                self.optimizer, step_size=opt.lr_dc_step, gamma=opt.lr_dc
            )
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1.0 / math.sqrt(self.hidden_size)
            for weight in self.parameters():
                weight.data.uniform_(-stdv, stdv)

        def compute_scores(self, hidden, mask):
            ht = hidden[torch.arange(mask.shape[0]).long(), torch.sum(mask, 1) - 1]
            q1 = self.linear_one(ht).view(ht.shape[0], 1, ht.shape[1])
            q2 = self.linear_two(hidden)
            alpha = self.linear_three(torch.sigmoid(q1 + q2))
            a = torch.sum(alpha * hidden * mask.view(mask.shape[0], -1, 1).float(), 1)
            if not self.nonhybrid:
                a = self.linear_transform(torch.cat([a, ht], 1))
            b = self.embedding.weight[1:]  # n_nodes x latent_size
            scores = torch.matmul(a, b.transpose(1, 0))
            return scores

        def forward(self, inputs, A):
            hidden = self.embedding(inputs)
            hidden = self.gnn(A, hidden)
            return hidden

    return SessionGraph(_Opt(), N_NODE)


def get_slice(inputs: np.ndarray, mask: np.ndarray, targets: np.ndarray) -> tuple:
    """utils.Data.get_slice: each session's item graph, in/out degree normalised."""
    items, n_node, A, alias_inputs = [], [], [], []
    for u_input in inputs:
        n_node.append(len(np.unique(u_input)))
    max_n_node = np.max(n_node)
    for u_input in inputs:
        node = np.unique(u_input)
        items.append(node.tolist() + (max_n_node - len(node)) * [0])
        u_A = np.zeros((max_n_node, max_n_node))
        for i in np.arange(len(u_input) - 1):
            if u_input[i + 1] == 0:
                break
            u = np.where(node == u_input[i])[0][0]
            v = np.where(node == u_input[i + 1])[0][0]
            u_A[u][v] = 1
        u_sum_in = np.sum(u_A, 0)
        u_sum_in[np.where(u_sum_in == 0)] = 1
        u_A_in = np.divide(u_A, u_sum_in)
        u_sum_out = np.sum(u_A, 1)
        u_sum_out[np.where(u_sum_out == 0)] = 1
        u_A_out = np.divide(u_A.transpose(), u_sum_out)
        u_A = np.concatenate([u_A_in, u_A_out]).transpose()
        A.append(u_A)
        alias_inputs.append([np.where(node == i)[0][0] for i in u_input])
    return alias_inputs, A, items, mask, targets


def _batch(rng: np.random.Generator) -> tuple:
    inputs = np.zeros((BATCH, SEQ), dtype=np.int64)
    mask = np.zeros((BATCH, SEQ), dtype=np.int64)
    for b, length in enumerate(rng.integers(2, SEQ + 1, BATCH)):
        inputs[b, :length] = rng.integers(1, N_NODE, length)
        mask[b, :length] = 1
    return inputs, mask, rng.integers(1, N_NODE, BATCH)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def trans_to_cuda(variable):
        if torch.cuda.is_available():
            return variable.cuda()
        else:
            return variable

    def forward(model, data):
        alias_inputs, A, items, mask, targets = get_slice(*data)
        alias_inputs = trans_to_cuda(torch.Tensor(alias_inputs).long())
        items = trans_to_cuda(torch.Tensor(items).long())
        A = trans_to_cuda(torch.Tensor(np.array(A)).float())
        mask = trans_to_cuda(torch.Tensor(mask).long())
        hidden = model(items, A)
        get = lambda i: hidden[i][alias_inputs[i]]  # noqa: E731
        seq_hidden = torch.stack([get(i) for i in torch.arange(len(alias_inputs)).long()])
        return targets, model.compute_scores(seq_hidden, mask)

    rng = np.random.default_rng(43)
    values: list[float] = []
    model.train()
    for _ in range(STEPS):
        model.optimizer.zero_grad()
        targets, scores = forward(model, _batch(rng))
        targets = trans_to_cuda(torch.Tensor(targets).long())
        loss = model.loss_function(scores, targets - 1)
        loss.backward()
        model.optimizer.step()
        model.scheduler.step()
        values.append(loss.item())
    model.eval()
    hit, mrr = [], []
    data = _batch(rng)
    targets, scores = forward(model, data)
    sub_scores = scores.topk(TOPK)[1]
    sub_scores = trans_to_cuda(sub_scores).cpu().detach().numpy()
    for score, target, mask in zip(sub_scores, targets, data[1]):  # noqa: B007
        hit.append(np.isin(target - 1, score))
        if len(np.where(score == target - 1)[0]) == 0:
            mrr.append(0)
        else:
            mrr.append(1 / (np.where(score == target - 1)[0][0] + 1))
    values += [np.mean(hit) * 100, np.mean(mrr) * 100, scores.sum().item()]
    values.append(model.optimizer.param_groups[0]["lr"])
    return values
