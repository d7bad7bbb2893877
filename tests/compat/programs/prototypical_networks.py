"""orobix/Prototypical-Networks-for-Few-shot-Learning-PyTorch (``protonet.py``,
``prototypical_loss.py``, ``prototypical_batch_sampler.py``, ``train.py``), size-reduced: the
``ProtoNet`` encoder of ``conv_block``s (``Conv2d(..., 3, padding=1)``/``BatchNorm2d``/``ReLU``/
``MaxPool2d(2)``) flattened by ``x.view(x.size(0), -1)``; ``euclidean_dist`` (``unsqueeze(1)
.expand(n, m, d)``, ``torch.pow(x - y, 2).sum(2)``); ``prototypical_loss`` (``target.to('cpu')``,
``target_cpu.eq(c).nonzero()[:n_support].squeeze(1)``, ``torch.unique``, ``classes[0].item()``,
``list(map(supp_idxs, classes))``, prototypes as ``torch.stack([input_cpu[idx_list].mean(0)
...])``, ``torch.stack(list(map(lambda c: ...nonzero()[n_support:], classes))).view(-1)``,
``F.log_softmax(-dists, dim=1).view(n_classes, n_query, -1)``, ``target_inds.expand(n_classes,
n_query, 1).long()``, ``-log_p_y.gather(2, target_inds).squeeze().view(-1).mean()``,
``log_p_y.max(2)``, ``y_hat.eq(target_inds.squeeze(2)).float().mean()``); the
``PrototypicalBatchSampler`` (an ``object`` with ``__iter__``/``__len__`` passed as
``DataLoader(batch_sampler=...)``), whose ``__init__`` mixes NumPy and tensors as the original
does: ``np.unique(..., return_counts=True)``, ``torch.LongTensor(self.classes)``,
``torch.Tensor(np.empty(...) * np.nan)``, ``np.where(np.isnan(...))``,
``np.argwhere(...).item()``, ``torch.zeros_like(self.classes)`` counts; its ``__iter__``
(``torch.LongTensor(batch_size)``, ``self.classes[c_idxs]``,
``torch.arange(len(self.classes)).long()[self.classes == c].item()``, ``batch[s] =
self.indexes[label_idx][sample_idxs]`` -- float indices written into a long tensor -- and the
final shuffle ``batch[perm]``); ``train.py``'s ``Adam`` + ``StepLR``, the ``train_loss``/
``train_acc`` lists averaged with ``np.mean(...[-iterations:])``, the best-model bookkeeping,
and a test pass in ``eval()`` mode.

Changed: Omniglot is 5 classes x 6 random 1x8x8 NumPy images (a class-specific pattern plus
noise); 4 conv blocks of 64 channels -> 2 of 4; 60 classes per episode -> 3, 5 support + 5
query -> 2 + 2, 100 iterations x 100 epochs -> 3 x 2; every ``torch.randperm`` is a seeded NumPy
permutation (the frameworks' generators differ); ``np.argwhere(self.classes == label)`` is
``np.argwhere((self.classes == label).numpy())`` (under NumPy 2 ``np.argwhere`` of a torch
tensor calls ``Tensor.transpose(None)`` and fails in PyTorch itself), and ``np.isnan`` reads
``self.indexes[label_idx].numpy()`` (a NumPy ufunc on a torch tensor hits PyTorch's old
``__array_wrap__`` signature, a DeprecationWarning under NumPy 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_CLASSES, PER_CLASS, CPI, N_SUPPORT, N_QUERY = 5, 6, 3, 2, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def conv_block(in_channels: int, out_channels: int) -> Any:
        """
        returns a block conv-bn-relu-pool
        """
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )

    class ProtoNet(nn.Module):
        """
        Model as described in the reference paper,
        source: https://github.com/jakesnell/prototypical-networks/blob/f0c48808e496989d01db59f86d4449d7aee9ab0c/protonets/models/few_shot.py#L62-L84
        """

        def __init__(self, x_dim: int = 1, hid_dim: int = 4, z_dim: int = 4) -> None:
            super(ProtoNet, self).__init__()  # noqa: UP008 (as in the repository)
            self.encoder = nn.Sequential(
                conv_block(x_dim, hid_dim),
                conv_block(hid_dim, z_dim),
            )

        def forward(self, x: Any) -> Any:
            x = self.encoder(x)
            return x.view(x.size(0), -1)

    return ProtoNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(37)
    patterns = rng.random((N_CLASSES, 1, 8, 8))
    labels = np.repeat(np.arange(N_CLASSES) * 3 + 1, PER_CLASS)  # non-contiguous class ids
    order = rng.permutation(len(labels))
    labels = labels[order]
    images = patterns[(labels - 1) // 3] + 0.3 * rng.random((len(labels), 1, 8, 8))
    dataset = [(torch.tensor(images[i]), int(labels[i])) for i in range(len(labels))]

    def randperm(n: Any) -> Any:  # torch.randperm(n), drawn with NumPy
        return torch.from_numpy(rng.permutation(int(n)))

    class PrototypicalBatchSampler(object):  # noqa: UP004 (as in the repository)
        """
        PrototypicalBatchSampler: yield a batch of indexes at each iteration.
        Indexes are calculated by keeping in account 'classes_per_it' and 'num_samples',
        In fact at every iteration the batch indexes will refer to  'num_support' + 'num_query'
        samples for 'classes_per_it' random classes.
        """

        def __init__(
            self, labels: Any, classes_per_it: int, num_samples: int, iterations: int
        ) -> None:
            super(PrototypicalBatchSampler, self).__init__()  # noqa: UP008
            self.labels = labels
            self.classes_per_it = classes_per_it
            self.sample_per_class = num_samples
            self.iterations = iterations

            self.classes, self.counts = np.unique(self.labels, return_counts=True)
            self.classes = torch.LongTensor(self.classes)

            # create a matrix, indexes, of dim: classes X max(elements per class)
            # fill it with nans
            # for every class c, fill the relative row with the indices samples belonging to c
            # in numel_per_class we store the number of samples for each class/row
            self.idxs = range(len(self.labels))
            self.indexes = np.empty((len(self.classes), max(self.counts)), dtype=int) * np.nan
            self.indexes = torch.Tensor(self.indexes)
            self.numel_per_class = torch.zeros_like(self.classes)
            for idx, label in enumerate(self.labels):
                label_idx = np.argwhere((self.classes == label).numpy()).item()
                self.indexes[
                    label_idx, np.where(np.isnan(self.indexes[label_idx].numpy()))[0][0]
                ] = idx
                self.numel_per_class[label_idx] += 1

        def __iter__(self) -> Any:
            """
            yield a batch of indexes
            """
            spc = self.sample_per_class
            cpi = self.classes_per_it

            for _it in range(self.iterations):
                batch_size = spc * cpi
                batch = torch.LongTensor(batch_size)
                c_idxs = randperm(len(self.classes))[:cpi]
                for i, c in enumerate(self.classes[c_idxs]):
                    s = slice(i * spc, (i + 1) * spc)
                    # FIXME when torch.argwhere will exist
                    label_idx = torch.arange(len(self.classes)).long()[self.classes == c].item()
                    sample_idxs = randperm(self.numel_per_class[label_idx])[:spc]
                    batch[s] = self.indexes[label_idx][sample_idxs]
                batch = batch[randperm(len(batch))]
                yield batch

        def __len__(self) -> int:
            """
            returns the number of iterations (episodes) per epoch
            """
            return self.iterations

    def euclidean_dist(x: Any, y: Any) -> Any:
        """
        Compute euclidean distance between two tensors
        """
        # x: N x D
        # y: M x D
        n = x.size(0)
        m = y.size(0)
        d = x.size(1)
        if d != y.size(1):
            raise Exception

        x = x.unsqueeze(1).expand(n, m, d)
        y = y.unsqueeze(0).expand(n, m, d)

        return torch.pow(x - y, 2).sum(2)

    def prototypical_loss(input: Any, target: Any, n_support: int) -> tuple[Any, Any]:  # noqa: A002
        target_cpu = target.to("cpu")
        input_cpu = input.to("cpu")

        def supp_idxs(c: Any) -> Any:
            # FIXME when torch will support where as np
            return target_cpu.eq(c).nonzero()[:n_support].squeeze(1)

        # FIXME when torch.unique will be available on cuda too
        classes = torch.unique(target_cpu)
        n_classes = len(classes)
        # FIXME when torch will support where as np
        # assuming n_query, n_target constants
        n_query = target_cpu.eq(classes[0].item()).sum().item() - n_support

        support_idxs = list(map(supp_idxs, classes))

        prototypes = torch.stack([input_cpu[idx_list].mean(0) for idx_list in support_idxs])
        # FIXME when torch will support where as np
        query_idxs = torch.stack(
            list(map(lambda c: target_cpu.eq(c).nonzero()[n_support:], classes))
        ).view(-1)

        query_samples = input.to("cpu")[query_idxs]
        dists = euclidean_dist(query_samples, prototypes)

        log_p_y = F.log_softmax(-dists, dim=1).view(n_classes, n_query, -1)

        target_inds = torch.arange(0, n_classes)
        target_inds = target_inds.view(n_classes, 1, 1)
        target_inds = target_inds.expand(n_classes, n_query, 1).long()

        loss_val = -log_p_y.gather(2, target_inds).squeeze().view(-1).mean()
        _, y_hat = log_p_y.max(2)
        acc_val = y_hat.eq(target_inds.squeeze(2)).float().mean()

        return loss_val, acc_val

    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optim = torch.optim.Adam(params=model.parameters(), lr=1e-2)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer=optim, gamma=0.5, step_size=1)
    iterations = 3
    sampler = PrototypicalBatchSampler(labels, CPI, N_SUPPORT + N_QUERY, iterations)
    tr_dataloader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler)
    values: list[float] = [sampler.numel_per_class.sum().item(), float(len(tr_dataloader))]

    train_loss, train_acc = [], []
    best_acc = 0
    for _epoch in range(2):
        tr_iter = iter(tr_dataloader)
        model.train()
        for batch in tr_iter:
            optim.zero_grad()
            x, y = batch
            model_output = model(x)
            loss, acc = prototypical_loss(model_output, target=y, n_support=N_SUPPORT)
            loss.backward()
            optim.step()
            train_loss.append(loss.item())
            train_acc.append(acc.item())
        avg_loss = np.mean(train_loss[-iterations:])
        avg_acc = np.mean(train_acc[-iterations:])
        print(f"Avg Train Loss: {avg_loss}, Avg Train Acc: {avg_acc}")
        lr_scheduler.step()
        if avg_acc >= best_acc:
            best_acc = avg_acc
        values += [float(avg_loss), float(avg_acc), lr_scheduler.get_last_lr()[0]]
    values += train_loss

    model.eval()
    with torch.no_grad():
        avg_acc = []
        for x, y in torch.utils.data.DataLoader(dataset, batch_sampler=sampler):
            model_output = model(x)
            loss, acc = prototypical_loss(model_output, target=y, n_support=N_SUPPORT)
            avg_acc.append(acc.item())
            values.append(loss.item())
        values.append(float(np.mean(avg_acc)))
    return values
