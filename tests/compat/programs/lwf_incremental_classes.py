"""ngailapdi/LWF (``model.py``'s ``Model``, ``MultiClassCrossEntropy``, ``kaiming_normal_init``;
``main.py``'s class-incremental loop), size-reduced: Learning without Forgetting (Li & Hoiem)
over class-incremental batches, growing the classifier as the repository does.

The idioms kept: ``self.model.apply(kaiming_normal_init)`` (``nn.init.kaiming_normal_(m.weight,
nonlinearity='relu')`` for convs, ``nonlinearity='sigmoid'`` for linears); the feature extractor
``nn.DataParallel(nn.Sequential(*list(self.model.children())[:-1]))`` and ``self.fc =
self.model.fc`` re-bound to ``nn.Linear(num_features, classes, bias=False)``;
``increment_classes`` (``weight = self.fc.weight.data``, a new ``nn.Linear(in_features,
new_out_features, bias=False)``, ``kaiming_normal_init(self.fc.weight)`` called on the weight
itself, so a no-op, as in the repository, ``self.fc.weight.data[:out_features] = weight``);
``update`` (``prev_model = copy.deepcopy(self)``, ``classes = list(set(dataset.train_labels))``,
``new_classes = [cl for cl in classes if class_map[cl] >= self.n_known]``, a fresh
``optim.SGD(self.parameters(), lr=self.init_lr, momentum = self.momentum,
weight_decay=self.weight_decay)``, batches ``(indices, images, labels)`` turned into
``Variable(torch.FloatTensor(images))`` and ``torch.LongTensor([class_map[label] for label in
labels.numpy()])``, ``nn.CrossEntropyLoss()(logits, labels)``, ``self.n_classes//len(new_classes)
> 1`` gating the distillation on ``logits[:,:-(self.n_classes-self.n_known)]`` against
``prev_model.forward(images)``); ``MultiClassCrossEntropy`` (``torch.log_softmax(logits/T,
dim=1)``, ``torch.softmax(labels/T, dim=1)``, ``-torch.mean(torch.sum(outputs * labels, dim=1,
keepdim=False), dim=0, keepdim=False)``, ``Variable(labels.data, requires_grad=False)`` and the
repository's ``return Variable(outputs.data, requires_grad=True)``, which cuts the distillation
term off the graph: it shows in the loss but sends no gradient); ``classify``
(``torch.max(torch.softmax(self.forward(images), dim=1), dim=1, keepdim=False)``); ``main.py``'s
``model.n_known = model.n_classes`` and the accuracy on all classes seen so far.

Changed: ResNet-34 on CIFAR-100 -> a conv/BN/ReLU/avg-pool extractor on 6x6 random images, 2
groups of 2 classes (8 images each), 2 epochs of batch 4; ``.cuda()`` calls dropped, no
``tqdm``; ``num_workers`` 12 -> 0; the new classifier rows' default initialisation drawn after a
``torch.manual_seed`` so both libraries draw the same.
"""

from __future__ import annotations

import copy
from argparse import Namespace
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
CLASSES_MAP = {7: 0, 3: 1, 9: 2, 5: 3}


def _model_class(torch_like: Any) -> type:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    Variable = torch.autograd.Variable

    def MultiClassCrossEntropy(logits, labels, T):  # noqa: ANN001, ANN202, N802, N803
        # Ld = -1/N * sum(N) sum(C) softmax(label) * log(softmax(logit))
        labels = Variable(labels.data, requires_grad=False)
        outputs = torch.log_softmax(logits / T, dim=1)  # compute the log of softmax values
        labels = torch.softmax(labels / T, dim=1)
        outputs = torch.sum(outputs * labels, dim=1, keepdim=False)
        outputs = -torch.mean(outputs, dim=0, keepdim=False)
        return Variable(outputs.data, requires_grad=True)

    def kaiming_normal_init(m):  # noqa: ANN001, ANN202
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="sigmoid")

    class TinyResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(6)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(6, 1000)

    class Model(nn.Module):
        def __init__(self, classes, classes_map, args):  # noqa: ANN001
            # Hyper Parameters
            self.init_lr = args.init_lr
            self.num_epochs = args.num_epochs
            self.batch_size = args.batch_size
            self.lower_rate_epoch = [int(0.7 * self.num_epochs), int(0.9 * self.num_epochs)]
            self.lr_dec_factor = 10

            self.pretrained = False
            self.momentum = 0.9
            self.weight_decay = 0.0001
            # Constant to provide numerical stability while normalizing
            self.epsilon = 1e-16

            # Network architecture
            super(Model, self).__init__()  # noqa: UP008 (as in the repository)
            self.model = TinyResNet()
            self.model.apply(kaiming_normal_init)

            num_features = self.model.fc.in_features
            self.model.fc = nn.Linear(num_features, classes, bias=False)
            self.fc = self.model.fc
            self.feature_extractor = nn.Sequential(*list(self.model.children())[:-1])
            self.feature_extractor = nn.DataParallel(self.feature_extractor)

            # n_classes is incremented before processing new data in an iteration
            # n_known is set to n_classes after all data for an iteration has been processed
            self.n_classes = 0
            self.n_known = 0
            self.classes_map = classes_map

        def forward(self, x: Any) -> Any:
            x = self.feature_extractor(x)
            x = x.view(x.size(0), -1)
            x = self.fc(x)
            return x

        def increment_classes(self, new_classes):  # noqa: ANN001, ANN202
            """Add n classes in the final fc layer"""
            n = len(new_classes)
            in_features = self.fc.in_features
            out_features = self.fc.out_features
            weight = self.fc.weight.data

            if self.n_known == 0:
                new_out_features = n
            else:
                new_out_features = out_features + n

            torch.manual_seed(self.n_known)  # (added: the same draw in both libraries)
            self.model.fc = nn.Linear(in_features, new_out_features, bias=False)
            self.fc = self.model.fc

            kaiming_normal_init(self.fc.weight)
            self.fc.weight.data[:out_features] = weight
            self.n_classes += n

        def classify(self, images):  # noqa: ANN001, ANN202
            """Classify images by softmax"""
            _, preds = torch.max(torch.softmax(self.forward(images), dim=1), dim=1,
                                 keepdim=False)  # fmt: skip
            return preds

        def update(self, dataset, class_map, args):  # noqa: ANN001, ANN202
            self.compute_means = True

            # Save a copy to compute distillation outputs
            prev_model = copy.deepcopy(self)

            classes = list(set(dataset.train_labels))
            if self.n_classes == 1 and self.n_known == 0:
                new_classes = [classes[i] for i in range(1, len(classes))]
            else:
                new_classes = [cl for cl in classes if class_map[cl] >= self.n_known]

            if len(new_classes) > 0:
                self.increment_classes(new_classes)

            loader = torch.utils.data.DataLoader(dataset, batch_size=self.batch_size,
                                                 shuffle=True, num_workers=0)  # fmt: skip

            optimizer = optim.SGD(self.parameters(), lr=self.init_lr, momentum=self.momentum,
                                  weight_decay=self.weight_decay)  # fmt: skip
            losses = []
            for epoch in range(self.num_epochs):  # noqa: B007
                for i, (indices, images, labels) in enumerate(loader):  # noqa: B007
                    seen_labels = []
                    images = Variable(torch.FloatTensor(images))
                    seen_labels = torch.LongTensor([class_map[label] for label in labels.numpy()])
                    labels = Variable(seen_labels)
                    optimizer.zero_grad()
                    logits = self.forward(images)
                    cls_loss = nn.CrossEntropyLoss()(logits, labels)
                    if self.n_classes // len(new_classes) > 1:
                        dist_target = prev_model.forward(images)
                        logits_dist = logits[:, : -(self.n_classes - self.n_known)]
                        dist_loss = MultiClassCrossEntropy(logits_dist, dist_target, 2)
                        loss = dist_loss + cls_loss
                    else:
                        loss = cls_loss

                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
            return losses

    return Model


def make_model(torch_like: Any) -> Any:
    args = Namespace(init_lr=0.1, num_epochs=2, batch_size=4)
    return _model_class(torch_like)(1, CLASSES_MAP, args)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    Dataset = torch.utils.data.Dataset
    rng = np.random.default_rng(31)

    class iCIFAR(Dataset):  # noqa: N801
        def __init__(self, classes: list[int]) -> None:
            self.train_labels = [c for c in classes for _ in range(4)]
            self.train_data = [rng.normal(loc=0.3 * c, size=(3, 6, 6)).astype(np.float32)
                               for c in self.train_labels]  # fmt: skip

        def __getitem__(self, index: int) -> tuple[int, Any, int]:
            return index, torch.from_numpy(self.train_data[index]), self.train_labels[index]

        def __len__(self) -> int:
            return len(self.train_labels)

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    torch.manual_seed(0)
    values: list[float] = []
    all_classes = list(CLASSES_MAP)
    for s in range(0, 4, 2):
        train_set = iCIFAR(all_classes[s : s + 2])
        model.train()
        values += model.update(train_set, CLASSES_MAP, None)
        model.n_known = model.n_classes
        model.eval()
        test_set = iCIFAR(all_classes[: s + 2])
        total, correct = 0.0, 0.0
        for _indices, images, labels in torch.utils.data.DataLoader(test_set, batch_size=4):
            preds = model.classify(images)
            mapped = torch.LongTensor([CLASSES_MAP[label] for label in labels.numpy()])
            total += labels.size(0)
            correct += (preds.data.cpu() == mapped).sum()
        values += [float(100 * correct / total), model.fc.weight.data.shape[0]]
    return values
