"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 16, "Meta-Learning - Learning to Learn" (ProtoNet and ProtoMAML),
size-reduced.

The idioms: ``split_batch`` (``imgs.chunk(2, dim=0)``); ``ProtoNet.calculate_prototypes``
(``classes, _ = torch.unique(targets).sort()``, ``features[torch.where(targets == c)[0]]
.mean(dim=0)``, ``torch.stack(prototypes, dim=0)``) and ``classify_feats``
(``torch.pow(prototypes[None, :] - feats[:, None], 2).sum(dim=2)``, ``F.log_softmax(-dist,
dim=1)``, ``(classes[None, :] == targets[:, None]).long().argmax(dim=-1)``); ProtoMAML's
``configure_optimizers`` (``optim.AdamW`` with ``MultiStepLR(optimizer, milestones=[140, 180],
gamma=0.1)``), ``run_model`` (``F.linear(feats, output_weight, output_bias)``),
``adapt_few_shot`` (``local_model = deepcopy(self.model)``, ``local_model.train()``,
``optim.SGD(local_model.parameters(), lr=...)``, the prototype initialisation ``init_weight =
2 * prototypes`` and ``init_bias = -torch.norm(prototypes, dim=1)**2``,
``init_weight.detach().requires_grad_()``, the hand-written output-layer update
``output_weight.data -= self.hparams.lr_output * output_weight.grad`` and
``output_weight.grad.fill_(0)``, and the re-attached graph ``(output_weight -
init_weight).detach() + init_weight``) and ``outer_loop`` (``self.model.zero_grad()``,
``loss.backward()`` then the first-order ``p_global.grad += p_local.grad`` over ``zip(
self.model.parameters(), local_model.parameters())``, ``acc.mean().detach()``,
``sum(losses) / len(losses)``); ``test_protomaml``'s adaptation followed by a
``torch.no_grad()`` query prediction.

Changed: the DenseNet feature extractor -> a small conv net (``BatchNorm2d`` kept, so
``deepcopy`` copies running statistics); CIFAR-100 few-shot tasks -> random 3x8x8 images, 3-way
2-shot, 2 tasks per meta-batch, 3 meta steps; Lightning's ``self.optimizers()``/``self.log`` ->
the optimizer and a list.
"""

from __future__ import annotations

from copy import deepcopy
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = nn.functional
    rng = np.random.default_rng(16)

    def split_batch(imgs: Any, targets: Any) -> tuple:
        support_imgs, query_imgs = imgs.chunk(2, dim=0)
        support_targets, query_targets = targets.chunk(2, dim=0)
        return support_imgs, query_imgs, support_targets, query_targets

    class ProtoNet:
        @staticmethod
        def calculate_prototypes(features: Any, targets: Any) -> tuple[Any, Any]:
            # Given a stack of features vectors and labels, return class prototypes
            # features - shape [N, proto_dim], targets - shape [N]
            classes, _ = torch.unique(targets).sort()  # Determine which classes we have
            prototypes = []
            for c in classes:
                p = features[torch.where(targets == c)[0]].mean(
                    dim=0
                )  # Average class feature vectors
                prototypes.append(p)
            prototypes = torch.stack(prototypes, dim=0)
            # Return the 'classes' tensor to know which prototype belongs to which class
            return prototypes, classes

        @staticmethod
        def classify_feats(prototypes: Any, classes: Any, feats: Any, targets: Any) -> tuple:
            # Classify new examples with prototypes and return classification error
            dist = torch.pow(prototypes[None, :] - feats[:, None], 2).sum(
                dim=2
            )  # Squared euclidean distance
            preds = F.log_softmax(-dist, dim=1)
            labels = (classes[None, :] == targets[:, None]).long().argmax(dim=-1)
            acc = (preds.argmax(dim=1) == labels).float().mean()
            return preds, labels, acc

    class ProtoMAML:
        def __init__(self, proto_dim, lr, lr_inner, lr_output, num_inner_steps):  # noqa: ANN001
            self.hparams = SimpleNamespace(
                proto_dim=proto_dim, lr=lr, lr_inner=lr_inner, lr_output=lr_output,
                num_inner_steps=num_inner_steps,
            )  # fmt: skip
            self.model = make_model(torch_like)
            load_numpy_state(torch_like, self.model, init)
            self.logged: list[float] = []

        def configure_optimizers(self) -> tuple[list, list]:
            optimizer = optim.AdamW(self.model.parameters(), lr=self.hparams.lr)
            scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=[140, 180], gamma=0.1)
            return [optimizer], [scheduler]

        def run_model(self, local_model, output_weight, output_bias, imgs, labels):  # noqa: ANN001, ANN201
            # Execute a model with given output layer weights and inputs
            feats = local_model(imgs)
            preds = F.linear(feats, output_weight, output_bias)
            loss = F.cross_entropy(preds, labels)
            acc = (preds.argmax(dim=1) == labels).float()
            return loss, preds, acc

        def adapt_few_shot(self, support_imgs: Any, support_targets: Any) -> tuple:
            # Determine prototype initialization
            support_feats = self.model(support_imgs)
            prototypes, classes = ProtoNet.calculate_prototypes(support_feats, support_targets)
            support_labels = (classes[None, :] == support_targets[:, None]).long().argmax(dim=-1)
            # Create inner-loop model and optimizer
            local_model = deepcopy(self.model)
            local_model.train()
            local_optim = optim.SGD(local_model.parameters(), lr=self.hparams.lr_inner)
            local_optim.zero_grad()
            # Create output layer weights with prototype-based initialization
            init_weight = 2 * prototypes
            init_bias = -(torch.norm(prototypes, dim=1) ** 2)
            output_weight = init_weight.detach().requires_grad_()
            output_bias = init_bias.detach().requires_grad_()

            # Optimize inner loop model on support set
            for _ in range(self.hparams.num_inner_steps):
                # Determine loss on the support set
                loss, _, _ = self.run_model(local_model, output_weight, output_bias,
                                            support_imgs, support_labels)  # fmt: skip
                # Calculate gradients and perform inner loop update
                loss.backward()
                local_optim.step()
                # Update output layer via SGD
                output_weight.data -= self.hparams.lr_output * output_weight.grad
                output_bias.data -= self.hparams.lr_output * output_bias.grad
                # Reset gradients
                local_optim.zero_grad()
                output_weight.grad.fill_(0)
                output_bias.grad.fill_(0)

            # Re-attach computation graph of prototypes
            output_weight = (output_weight - init_weight).detach() + init_weight
            output_bias = (output_bias - init_bias).detach() + init_bias

            return local_model, output_weight, output_bias, classes

        def outer_loop(self, batch: list, opt: Any, mode: str = "train") -> None:
            accuracies = []
            losses = []
            self.model.zero_grad()

            # Determine gradients for batch of tasks
            for task_batch in batch:
                imgs, targets = task_batch
                support_imgs, query_imgs, support_targets, query_targets = split_batch(
                    imgs, targets
                )
                # Perform inner loop adaptation
                local_model, output_weight, output_bias, classes = self.adapt_few_shot(
                    support_imgs, support_targets
                )
                # Determine loss of query set
                query_labels = (classes[None, :] == query_targets[:, None]).long().argmax(dim=-1)
                loss, preds, acc = self.run_model(local_model, output_weight, output_bias,
                                                  query_imgs, query_labels)  # fmt: skip
                # Calculate gradients for query set loss
                if mode == "train":
                    loss.backward()

                    for p_global, p_local in zip(self.model.parameters(), local_model.parameters()):
                        p_global.grad += p_local.grad  # First-order approx.

                accuracies.append(acc.mean().detach())
                losses.append(loss.detach())

            # Perform update of base model
            if mode == "train":
                opt.step()
                opt.zero_grad()

            self.logged.append((sum(losses) / len(losses)).item())
            self.logged.append((sum(accuracies) / len(accuracies)).item())

    def task(n_way: int = 3, k_shot: int = 2) -> tuple[Any, Any]:
        # support and query halves, each sorted by class as the tutorial's task sampler
        labels = np.tile(np.repeat(rng.choice(10, n_way, replace=False), k_shot), 2)
        imgs = rng.normal(size=(labels.size, 3, 8, 8)) + labels[:, None, None, None] * 0.1
        return torch.from_numpy(imgs), torch.from_numpy(labels)

    protomaml_model = ProtoMAML(proto_dim=5, lr=1e-3, lr_inner=0.1, lr_output=0.1,
                                num_inner_steps=2)  # fmt: skip
    [optimizer], [scheduler] = protomaml_model.configure_optimizers()
    for _ in range(3):
        protomaml_model.outer_loop([task(), task()], optimizer, mode="train")
        scheduler.step()
    protomaml_model.outer_loop([task()], optimizer, mode="val")
    values = list(protomaml_model.logged)

    # ProtoNet's classification on the meta-trained features
    imgs, targets = task()
    support_imgs, query_imgs, support_targets, query_targets = split_batch(imgs, targets)
    with torch.no_grad():
        prototypes, classes = ProtoNet.calculate_prototypes(
            protomaml_model.model(support_imgs), support_targets
        )
        preds, labels, acc = ProtoNet.classify_feats(
            prototypes, classes, protomaml_model.model(query_imgs), query_targets
        )
    values += [preds.sum().item(), labels.sum().item(), acc.item()]

    # test_protomaml: adapt, then predict the query set without gradients
    protomaml_model.model.zero_grad()
    local_model, output_weight, output_bias, classes = protomaml_model.adapt_few_shot(
        support_imgs, support_targets
    )
    with torch.no_grad():
        query_preds = local_model(query_imgs)
        query_preds = F.linear(query_preds, output_weight, output_bias)
    query_labels = (classes[None, :] == query_targets[:, None]).long().argmax(dim=-1)
    values += [
        query_preds.sum().item(),
        (query_preds.argmax(dim=1) == query_labels).float().mean().item(),
    ]
    return values
