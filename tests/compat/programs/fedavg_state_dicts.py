"""shaoxiongji/federated-learning (``models/Fed.py``'s ``FedAvg``, ``models/Update.py``'s
``DatasetSplit``/``LocalUpdate``, ``models/Nets.py``'s ``CNNCifar``, ``models/test.py``'s
``test_img``, ``utils/sampling.py``'s ``cifar_iid``, ``main_fed.py``), size-reduced: federated
averaging of client state dicts.

The idioms kept: ``FedAvg`` (``w_avg = copy.deepcopy(w[0])``, ``w_avg[k] += w[i][k]`` over the
keys, ``w_avg[k] = torch.div(w_avg[k], len(w))``, which also true-divides the integer
``num_batches_tracked`` buffer into a float that ``load_state_dict`` copies back into the long
buffer); ``DatasetSplit(Dataset)`` over ``list(idxs)`` of a client's index set; ``LocalUpdate``
(``DataLoader(DatasetSplit(dataset, idxs), batch_size=self.args.local_bs, shuffle=True)``, a new
``torch.optim.SGD(net.parameters(), lr=self.args.lr, momentum=self.args.momentum)`` per round,
``net.zero_grad()``, ``return net.state_dict(), sum(epoch_loss) / len(epoch_loss)``);
``main_fed.py``'s round (``w_glob = net_glob.state_dict()``, ``m = max(int(args.frac *
args.num_users), 1)``, ``np.random.choice(range(args.num_users), m, replace=False)``,
``local.train(net=copy.deepcopy(net_glob).to(args.device))``, ``w_locals.append(copy.deepcopy(
w))``, ``net_glob.load_state_dict(w_glob)``); ``cifar_iid`` (``set(np.random.choice(all_idxs,
num_items, replace=False))``, ``all_idxs = list(set(all_idxs) - dict_users[i])``); ``test_img``
(``F.cross_entropy(log_probs, target, reduction='sum').item()``, ``log_probs.data.max(1,
keepdim=True)[1]``, ``y_pred.eq(target.data.view_as(y_pred)).long().cpu().sum()``, ``100.00 *
correct / len(data_loader.dataset)``); ``args`` as an ``argparse.Namespace``.

Changed: CIFAR-10 32x32 -> 10x10 random images of 3 classes (40 samples), ``CNNCifar`` channels
6/16 and 120/84 -> 4/6 and 12/8 with 3x3 kernels, and a ``BatchNorm2d`` after ``conv1`` (as
FedBN-style forks of the repository add) so the averaged state dict holds buffers; 100 clients
-> 4, ``frac`` 0.1 -> 0.5, 10 rounds -> 3, the global ``np.random`` seeded for the selection.
"""

from __future__ import annotations

import copy
from argparse import Namespace
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    class CNNCifar(nn.Module):
        def __init__(self, args):  # noqa: ANN001
            super(CNNCifar, self).__init__()  # noqa: UP008 (as in the repository)
            self.conv1 = nn.Conv2d(3, 4, 3)
            self.bn1 = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(4, 6, 3)
            self.fc1 = nn.Linear(6 * 1 * 1, 12)
            self.fc2 = nn.Linear(12, 8)
            self.fc3 = nn.Linear(8, args.num_classes)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.bn1(self.conv1(x))))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 6 * 1 * 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return CNNCifar(Namespace(num_classes=3))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader

    def FedAvg(w):  # noqa: ANN001, ANN202, N802
        w_avg = copy.deepcopy(w[0])
        for k in w_avg.keys():
            for i in range(1, len(w)):
                w_avg[k] += w[i][k]
            w_avg[k] = torch.div(w_avg[k], len(w))
        return w_avg

    class DatasetSplit(Dataset):
        def __init__(self, dataset, idxs):  # noqa: ANN001
            self.dataset = dataset
            self.idxs = list(idxs)

        def __len__(self) -> int:
            return len(self.idxs)

        def __getitem__(self, item: int) -> tuple[Any, Any]:
            image, label = self.dataset[self.idxs[item]]
            return image, label

    class LocalUpdate(object):  # noqa: UP004
        def __init__(self, args, dataset=None, idxs=None):  # noqa: ANN001
            self.args = args
            self.loss_func = nn.CrossEntropyLoss()
            self.selected_clients = []
            self.ldr_train = DataLoader(DatasetSplit(dataset, idxs),
                                        batch_size=self.args.local_bs, shuffle=True)  # fmt: skip

        def train(self, net):  # noqa: ANN001, ANN202
            net.train()
            # train and update
            optimizer = torch.optim.SGD(net.parameters(), lr=self.args.lr,
                                        momentum=self.args.momentum)  # fmt: skip

            epoch_loss = []
            for iter in range(self.args.local_ep):  # noqa: B007
                batch_loss = []
                for batch_idx, (images, labels) in enumerate(self.ldr_train):  # noqa: B007
                    images, labels = images.to(self.args.device), labels.to(self.args.device)
                    net.zero_grad()
                    log_probs = net(images)
                    loss = self.loss_func(log_probs, labels)
                    loss.backward()
                    optimizer.step()
                    batch_loss.append(loss.item())
                epoch_loss.append(sum(batch_loss) / len(batch_loss))
            return net.state_dict(), sum(epoch_loss) / len(epoch_loss)

    def test_img(net_g, datatest, args):  # noqa: ANN001, ANN202
        net_g.eval()
        # testing
        test_loss = 0
        correct = 0
        data_loader = DataLoader(datatest, batch_size=args.bs)
        for idx, (data, target) in enumerate(data_loader):  # noqa: B007
            log_probs = net_g(data)
            # sum up batch loss
            test_loss += F.cross_entropy(log_probs, target, reduction="sum").item()
            # get the index of the max log-probability
            y_pred = log_probs.data.max(1, keepdim=True)[1]
            correct += y_pred.eq(target.data.view_as(y_pred)).long().cpu().sum()

        test_loss /= len(data_loader.dataset)
        accuracy = 100.00 * correct / len(data_loader.dataset)
        return accuracy, test_loss

    def cifar_iid(dataset, num_users):  # noqa: ANN001, ANN202
        num_items = int(len(dataset) / num_users)
        dict_users, all_idxs = {}, [i for i in range(len(dataset))]
        for i in range(num_users):
            dict_users[i] = set(np_random.choice(all_idxs, num_items, replace=False))
            all_idxs = list(set(all_idxs) - dict_users[i])
        return dict_users

    np_random = np.random.RandomState(1)
    images = np_random.normal(size=(40, 3, 10, 10))
    labels = (images[:, 0].mean((1, 2)) * 10).astype(np.int64) % 3
    dataset_train = torch.utils.data.TensorDataset(torch.from_numpy(images),
                                                   torch.from_numpy(labels))  # fmt: skip
    args = Namespace(num_users=4, frac=0.5, epochs=3, local_ep=2, local_bs=5, lr=0.05,
                     momentum=0.5, device=torch.device("cpu"), bs=16,
                     all_clients=False)  # fmt: skip
    dict_users = cifar_iid(dataset_train, args.num_users)
    torch.manual_seed(1)

    net_glob = make_model(torch_like).to(args.device)
    load_numpy_state(torch_like, net_glob, init)
    net_glob.train()

    # copy weights
    w_glob = net_glob.state_dict()
    values: list[float] = [float(len(w_glob))]
    for iter in range(args.epochs):  # noqa: B007
        loss_locals = []
        if not args.all_clients:
            w_locals = []
        m = max(int(args.frac * args.num_users), 1)
        idxs_users = np_random.choice(range(args.num_users), m, replace=False)
        for idx in idxs_users:
            local = LocalUpdate(args=args, dataset=dataset_train, idxs=dict_users[idx])
            w, loss = local.train(net=copy.deepcopy(net_glob).to(args.device))
            w_locals.append(copy.deepcopy(w))
            loss_locals.append(copy.deepcopy(loss))
        # update global weights
        w_glob = FedAvg(w_locals)
        values.append(float(w_glob["bn1.num_batches_tracked"]))
        # copy weight to net_glob
        net_glob.load_state_dict(w_glob)
        values.append(float(net_glob.bn1.num_batches_tracked))
        values.append(float(net_glob.bn1.running_var.sum()))

        # print loss
        loss_avg = sum(loss_locals) / len(loss_locals)
        values.append(loss_avg)

    net_glob.eval()
    acc_train, loss_train = test_img(net_glob, dataset_train, args)
    values += [float(acc_train), loss_train]
    return values
