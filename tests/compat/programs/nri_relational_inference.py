"""Neural Relational Inference (Kipf, Fetaya et al. 2018), ethanfetaya/NRI (``modules.py``:
``MLP``, ``MLPEncoder``, ``MLPDecoder``; ``utils.py``: ``my_softmax``, ``sample_gumbel``,
``gumbel_softmax``, ``kl_categorical_uniform``, ``nll_gaussian``, ``edge_accuracy``,
``encode_onehot``; ``train.py``), size-reduced.

The idioms kept: the fully connected relation matrices built in NumPy (``off_diag =
np.ones(...) - np.eye(...)``, ``encode_onehot(np.where(off_diag)[0])`` over a ``set`` of
labels) and wrapped by ``torch.FloatTensor``; ``MLP`` (``F.elu`` twice, a ``BatchNorm1d`` over
``inputs.view(inputs.size(0) * inputs.size(1), -1)``, ``init_weights`` over ``self.modules()``
with the deprecated ``nn.init.xavier_normal(m.weight.data)`` and ``m.bias.data.fill_(0.1)``);
``node2edge`` / ``edge2node`` as ``torch.matmul(rel_rec, x)`` and ``torch.matmul(rel_rec.t(),
x) / incoming.size(1)``; the factor-graph encoder with its skip connection; ``my_softmax``
(``transpose(axis, 0).contiguous()`` then ``F.softmax`` with no ``dim``: the implicit-dimension
deprecation path); the hand-written Gumbel noise ``-torch.log(eps - torch.log(U + eps))`` from
``torch.rand(shape).float()``, the straight-through ``hard`` sample (``y_soft.data.max(-1)``,
``torch.zeros(*shape)``, ``.zero_().scatter_(-1, k.view(shape[:-1] + (1,)), 1.0)``,
``Variable(y_hard - y_soft.data) + y_soft``); the decoder's per-edge-type message MLPs in
``nn.ModuleList``, ``msg * single_timestep_rel_type[:, :, :, i:i + 1]`` accumulated into
``all_msgs += msg``, ``all_msgs.transpose(-2, -1).matmul(rel_rec).transpose(-2, -1)``,
``F.dropout(msg, p=self.dropout_prob)`` (training left at its default), the strided
re-assembly ``output[:, i::pred_steps, :, :] = preds[i]``; ``train()``: Adam over
``list(encoder.parameters()) + list(decoder.parameters())``, ``StepLR``,
``loss_nll + loss_kl``, ``edge_accuracy``, ``F.mse_loss(output, target)``, and the
validation pass with ``hard=True`` in ``encoder.eval()`` / ``decoder.eval()``.

Changed: springs simulations -> 3 random trajectories of 4 balls from a NumPy spring
integrator (5 time steps, 4 dims); hidden 256 -> 8; 500 epochs -> 4 of 2 batches; dropout 0;
the ``.data[0]`` reads of PyTorch 0.3 are ``.item()``; ``np.float`` (gone from NumPy) is
``float``; ``prediction_steps`` 10 -> 2.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_ATOMS, N_STEPS, N_DIMS, HID, EDGE_TYPES = 4, 5, 4, 8, 2


def _modules(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Variable = torch_like.autograd.Variable

    class MLP(nn.Module):
        """Two-layer fully-connected ELU net with batch norm."""

        def __init__(self, n_in, n_hid, n_out, do_prob=0.0):  # noqa: ANN001
            super(MLP, self).__init__()  # noqa: UP008
            self.fc1 = nn.Linear(n_in, n_hid)
            self.fc2 = nn.Linear(n_hid, n_out)
            self.bn = nn.BatchNorm1d(n_out)
            self.dropout_prob = do_prob

            self.init_weights()

        def init_weights(self) -> None:
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal(m.weight.data)
                    m.bias.data.fill_(0.1)
                elif isinstance(m, nn.BatchNorm1d):
                    m.weight.data.fill_(1)
                    m.bias.data.zero_()

        def batch_norm(self, inputs):  # noqa: ANN001, ANN201
            x = inputs.view(inputs.size(0) * inputs.size(1), -1)
            x = self.bn(x)
            return x.view(inputs.size(0), inputs.size(1), -1)

        def forward(self, inputs):  # noqa: ANN001, ANN201
            # Input shape: [num_sims, num_things, num_features]
            x = F.elu(self.fc1(inputs))
            x = F.dropout(x, self.dropout_prob, training=self.training)
            x = F.elu(self.fc2(x))
            return self.batch_norm(x)

    class MLPEncoder(nn.Module):
        def __init__(self, n_in, n_hid, n_out, do_prob=0.0, factor=True):  # noqa: ANN001
            super(MLPEncoder, self).__init__()  # noqa: UP008

            self.factor = factor

            self.mlp1 = MLP(n_in, n_hid, n_hid, do_prob)
            self.mlp2 = MLP(n_hid * 2, n_hid, n_hid, do_prob)
            self.mlp3 = MLP(n_hid, n_hid, n_hid, do_prob)
            if self.factor:
                self.mlp4 = MLP(n_hid * 3, n_hid, n_hid, do_prob)
            else:
                self.mlp4 = MLP(n_hid * 2, n_hid, n_hid, do_prob)
            self.fc_out = nn.Linear(n_hid, n_out)
            self.init_weights()

        def init_weights(self) -> None:
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal(m.weight.data)
                    m.bias.data.fill_(0.1)

        def edge2node(self, x, rel_rec, rel_send):  # noqa: ANN001, ANN201
            # NOTE: Assumes that we have the same graph across all samples.
            incoming = torch.matmul(rel_rec.t(), x)
            return incoming / incoming.size(1)

        def node2edge(self, x, rel_rec, rel_send):  # noqa: ANN001, ANN201
            # NOTE: Assumes that we have the same graph across all samples.
            receivers = torch.matmul(rel_rec, x)
            senders = torch.matmul(rel_send, x)
            edges = torch.cat([senders, receivers], dim=2)
            return edges

        def forward(self, inputs, rel_rec, rel_send):  # noqa: ANN001, ANN201
            # Input shape: [num_sims, num_atoms, num_timesteps, num_dims]
            x = inputs.view(inputs.size(0), inputs.size(1), -1)
            # New shape: [num_sims, num_atoms, num_timesteps*num_dims]

            x = self.mlp1(x)  # 2-layer ELU net per node

            x = self.node2edge(x, rel_rec, rel_send)
            x = self.mlp2(x)
            x_skip = x

            if self.factor:
                x = self.edge2node(x, rel_rec, rel_send)
                x = self.mlp3(x)
                x = self.node2edge(x, rel_rec, rel_send)
                x = torch.cat((x, x_skip), dim=2)  # Skip connection
                x = self.mlp4(x)
            else:
                x = self.mlp3(x)
                x = torch.cat((x, x_skip), dim=2)  # Skip connection
                x = self.mlp4(x)

            return self.fc_out(x)

    class MLPDecoder(nn.Module):
        """MLP decoder module."""

        def __init__(self, n_in_node, edge_types, msg_hid, msg_out, n_hid, do_prob=0.0,
                     skip_first=False):  # noqa: ANN001 # fmt: skip
            super(MLPDecoder, self).__init__()  # noqa: UP008
            self.msg_fc1 = nn.ModuleList(
                [nn.Linear(2 * n_in_node, msg_hid) for _ in range(edge_types)]
            )
            self.msg_fc2 = nn.ModuleList([nn.Linear(msg_hid, msg_out) for _ in range(edge_types)])
            self.msg_out_shape = msg_out
            self.skip_first_edge_type = skip_first

            self.out_fc1 = nn.Linear(n_in_node + msg_out, n_hid)
            self.out_fc2 = nn.Linear(n_hid, n_hid)
            self.out_fc3 = nn.Linear(n_hid, n_in_node)

            self.dropout_prob = do_prob

        def single_step_forward(self, single_timestep_inputs, rel_rec, rel_send,
                                single_timestep_rel_type):  # noqa: ANN001, ANN201 # fmt: skip
            # Node2edge
            receivers = torch.matmul(rel_rec, single_timestep_inputs)
            senders = torch.matmul(rel_send, single_timestep_inputs)
            pre_msg = torch.cat([senders, receivers], dim=-1)

            all_msgs = Variable(
                torch.zeros(pre_msg.size(0), pre_msg.size(1), pre_msg.size(2), self.msg_out_shape)
            )
            if single_timestep_inputs.is_cuda:
                all_msgs = all_msgs.cuda()

            if self.skip_first_edge_type:
                start_idx = 1
            else:
                start_idx = 0

            # Run separate MLP for every edge type
            # NOTE: To exlude one edge type, simply offset range by 1
            for i in range(start_idx, len(self.msg_fc2)):
                msg = F.relu(self.msg_fc1[i](pre_msg))
                msg = F.dropout(msg, p=self.dropout_prob)
                msg = F.relu(self.msg_fc2[i](msg))
                msg = msg * single_timestep_rel_type[:, :, :, i : i + 1]
                all_msgs += msg

            # Aggregate all msgs to receiver
            agg_msgs = all_msgs.transpose(-2, -1).matmul(rel_rec).transpose(-2, -1)
            agg_msgs = agg_msgs.contiguous()

            # Skip connection
            aug_inputs = torch.cat([single_timestep_inputs, agg_msgs], dim=-1)

            # Output MLP
            pred = F.dropout(F.relu(self.out_fc1(aug_inputs)), p=self.dropout_prob)
            pred = F.dropout(F.relu(self.out_fc2(pred)), p=self.dropout_prob)
            pred = self.out_fc3(pred)

            # Predict position/velocity difference
            return single_timestep_inputs + pred

        def forward(self, inputs, rel_type, rel_rec, rel_send, pred_steps=1):  # noqa: ANN001, ANN201
            # NOTE: Assumes that we have the same graph across all samples.

            inputs = inputs.transpose(1, 2).contiguous()

            sizes = [rel_type.size(0), inputs.size(1), rel_type.size(1), rel_type.size(2)]
            rel_type = rel_type.unsqueeze(1).expand(sizes)

            time_steps = inputs.size(1)
            assert pred_steps <= time_steps
            preds = []

            # Only take n-th timesteps as starting points (n: pred_steps)
            last_pred = inputs[:, 0::pred_steps, :, :]
            curr_rel_type = rel_type[:, 0::pred_steps, :, :]
            # NOTE: Assumes rel_type is constant (i.e. same across all time steps).

            # Run n prediction steps
            for _step in range(0, pred_steps):
                last_pred = self.single_step_forward(last_pred, rel_rec, rel_send, curr_rel_type)
                preds.append(last_pred)

            sizes = [
                preds[0].size(0),
                preds[0].size(1) * pred_steps,
                preds[0].size(2),
                preds[0].size(3),
            ]

            output = Variable(torch.zeros(sizes))
            if inputs.is_cuda:
                output = output.cuda()

            # Re-assemble correct timeline
            for i in range(len(preds)):
                output[:, i::pred_steps, :, :] = preds[i]

            pred_all = output[:, : (inputs.size(1) - 1), :, :]

            return pred_all.transpose(1, 2).contiguous()

    return MLPEncoder, MLPDecoder


def make_model(torch_like: Any) -> Any:
    MLPEncoder, MLPDecoder = _modules(torch_like)
    with warnings.catch_warnings():  # nn.init.xavier_normal is deprecated (a FutureWarning)
        warnings.simplefilter("ignore", FutureWarning)
        encoder = MLPEncoder(N_STEPS * N_DIMS, HID, EDGE_TYPES, 0.0, True)
        decoder = MLPDecoder(N_DIMS, EDGE_TYPES, HID, HID, HID, 0.0, False)
    return torch_like.nn.ModuleDict({"encoder": encoder, "decoder": decoder})


def encode_onehot(labels: np.ndarray) -> np.ndarray:
    classes = set(labels)
    classes_dict = {c: np.identity(len(classes))[i, :] for i, c in enumerate(classes)}
    labels_onehot = np.array(list(map(classes_dict.get, labels)), dtype=np.int32)
    return labels_onehot


def _springs(n_sims: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Trajectories [sims, atoms, steps, 4] of balls joined by random springs, and the edges."""
    loc = rng.normal(size=(n_sims, N_ATOMS, 2)) * 0.5
    vel = rng.normal(size=(n_sims, N_ATOMS, 2)) * 0.5
    edges = rng.integers(0, 2, size=(n_sims, N_ATOMS, N_ATOMS))
    edges = np.tril(edges, -1)
    edges = edges + edges.transpose(0, 2, 1)
    traj = []
    for _ in range(N_STEPS):
        traj.append(np.concatenate([loc, vel], -1))
        for _ in range(10):
            diff = loc[:, :, None, :] - loc[:, None, :, :]
            force = -0.1 * (edges[..., None] * diff).sum(2)
            vel = vel + 0.01 * force
            loc = loc + 0.01 * vel
    off = ~np.eye(N_ATOMS, dtype=bool)
    relations = edges[:, off].astype(np.int64)
    return np.stack(traj, 2).astype(np.float32), relations


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    Variable = torch_like.autograd.Variable

    def my_softmax(input, axis=1):  # noqa: ANN001, ANN202, A002
        trans_input = input.transpose(axis, 0).contiguous()
        soft_max_1d = F.softmax(trans_input)
        return soft_max_1d.transpose(axis, 0)

    def sample_gumbel(shape, eps=1e-10):  # noqa: ANN001, ANN202
        U = torch.rand(shape).float()
        return -torch.log(eps - torch.log(U + eps))

    def gumbel_softmax_sample(logits, tau=1, eps=1e-10):  # noqa: ANN001, ANN202
        gumbel_noise = sample_gumbel(logits.size(), eps=eps)
        if logits.is_cuda:
            gumbel_noise = gumbel_noise.cuda()
        y = logits + Variable(gumbel_noise)
        return my_softmax(y / tau, axis=-1)

    def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10):  # noqa: ANN001, ANN202
        y_soft = gumbel_softmax_sample(logits, tau=tau, eps=eps)
        if hard:
            shape = logits.size()
            _, k = y_soft.data.max(-1)
            y_hard = torch.zeros(*shape)
            if y_soft.is_cuda:
                y_hard = y_hard.cuda()
            y_hard = y_hard.zero_().scatter_(-1, k.view(shape[:-1] + (1,)), 1.0)
            y = Variable(y_hard - y_soft.data) + y_soft
        else:
            y = y_soft
        return y

    def kl_categorical_uniform(preds, num_atoms, num_edge_types, add_const=False, eps=1e-16):  # noqa: ANN001, ANN202
        kl_div = preds * torch.log(preds + eps)
        if add_const:
            const = np.log(num_edge_types)
            kl_div += const
        return kl_div.sum() / (num_atoms * preds.size(0))

    def nll_gaussian(preds, target, variance, add_const=False):  # noqa: ANN001, ANN202
        neg_log_p = (preds - target) ** 2 / (2 * variance)
        if add_const:
            const = 0.5 * np.log(2 * np.pi * variance)
            neg_log_p += const
        return neg_log_p.sum() / (target.size(0) * target.size(1))

    def edge_accuracy(preds, target):  # noqa: ANN001, ANN202
        _, preds = preds.max(-1)
        correct = preds.float().data.eq(target.float().data.view_as(preds)).cpu().sum()
        return float(correct) / (target.size(0) * target.size(1))

    MLPEncoder, MLPDecoder = _modules(torch_like)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        encoder = MLPEncoder(N_STEPS * N_DIMS, HID, EDGE_TYPES, 0.0, True)
        decoder = MLPDecoder(N_DIMS, EDGE_TYPES, HID, HID, HID, 0.0, False)
    both = torch.nn.ModuleDict({"encoder": encoder, "decoder": decoder})
    load_numpy_state(torch_like, both, init)

    # Generate off-diagonal interaction graph
    off_diag = np.ones([N_ATOMS, N_ATOMS]) - np.eye(N_ATOMS)
    rel_rec = np.array(encode_onehot(np.where(off_diag)[0]), dtype=np.float32)
    rel_send = np.array(encode_onehot(np.where(off_diag)[1]), dtype=np.float32)
    rel_rec = torch.FloatTensor(rel_rec)
    rel_send = torch.FloatTensor(rel_send)

    rng = np.random.default_rng(7)
    train_data, train_rel = _springs(6, rng)
    valid_data, valid_rel = _springs(3, rng)
    train_set = torch.utils.data.TensorDataset(
        torch.FloatTensor(train_data), torch.LongTensor(train_rel)
    )
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=3)

    optimizer = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=5e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    torch.manual_seed(42)
    values: list[float] = []
    temp, var, steps = 0.5, 5e-5, 2
    with warnings.catch_warnings():  # F.softmax with an implicit dim (a UserWarning)
        warnings.filterwarnings("ignore", "Implicit dimension choice", UserWarning)
        for _epoch in range(4):
            encoder.train()
            decoder.train()
            nll_train, acc_train, mse_train = [], [], []
            for _batch_idx, (data, relations) in enumerate(train_loader):
                data, relations = Variable(data), Variable(relations)
                optimizer.zero_grad()
                logits = encoder(data, rel_rec, rel_send)
                edges = gumbel_softmax(logits, tau=temp, hard=False)
                prob = my_softmax(logits, -1)
                output = decoder(data, edges, rel_rec, rel_send, steps)
                target = data[:, :, 1:, :]
                loss_nll = nll_gaussian(output, target, var)
                loss_kl = kl_categorical_uniform(prob, N_ATOMS, EDGE_TYPES)
                loss = loss_nll + loss_kl
                acc = edge_accuracy(logits, relations)
                acc_train.append(acc)
                loss.backward()
                optimizer.step()
                mse_train.append(F.mse_loss(output, target).item())
                nll_train.append(loss_nll.item())
                values.append(loss_kl.item())
            scheduler.step()
            values += [float(np.mean(nll_train)), float(np.mean(mse_train)), np.mean(acc_train)]

            # validation, as train.py does it: hard samples, eval mode
            encoder.eval()
            decoder.eval()
            data, relations = torch.FloatTensor(valid_data), torch.LongTensor(valid_rel)
            logits = encoder(data, rel_rec, rel_send)
            edges = gumbel_softmax(logits, tau=temp, hard=True)
            output = decoder(data, edges, rel_rec, rel_send, 1)
            target = data[:, :, 1:, :]
            values.append(nll_gaussian(output, target, var).item())
            values.append(edge_accuracy(logits, relations))
            values.append(edges.sum().item())
    return values
