"""LUCIR (Learning a Unified Classifier Incrementally via Rebalancing), as
hshustc/CVPR19_Incremental_Learning writes it (``cifar100-class-incremental/
modified_linear.py``'s ``CosineLinear`` and ``SplitCosineLinear``,
``utils_incremental/incremental_train_and_eval_MR_LF.py``, ``utils_incremental/
compute_features.py`` and the phase loop of ``class_incremental_cosine_cifar100.py``),
size-reduced to an MLP backbone over two phases.

The idioms: ``CosineLinear``'s ``Parameter(torch.Tensor(out_features, in_features))`` with
``self.register_parameter('sigma', None)`` when unscaled, ``self.weight.data.uniform_(-stdv,
stdv)``, ``self.sigma.data.fill_(1)`` and ``F.linear(F.normalize(input, p=2,dim=1),
F.normalize(self.weight, p=2, dim=1))``; ``SplitCosineLinear`` joining ``fc1``/``fc2`` with
``torch.cat((out1, out2), dim=1)``; the phase switch (``new_fc.fc1.weight.data =
tg_model.fc.weight.data``, ``new_fc.sigma.data = tg_model.fc.sigma.data``, ``tg_model.fc =
new_fc``); weight imprinting (``tg_model.fc.fc1.weight.data.norm(dim=1, keepdim=True)``,
``torch.mean(old_embedding_norm, dim=0).to('cpu').type(torch.DoubleTensor)``, the feature model
``nn.Sequential(*list(tg_model.children())[:-1])``, ``F.normalize(torch.from_numpy(
cls_features), p=2, dim=1)``, ``novel_embedding[...] = F.normalize(cls_embedding, p=2, dim=0) *
average_old_embedding_norm``); the optimizer groups ``ignored_params = list(map(id,
tg_model.fc.fc1.parameters()))``, ``filter(lambda p: id(p) not in ignored_params, ...)`` and the
frozen ``{'params': tg_model.fc.fc1.parameters(), 'lr': 0, 'weight_decay': 0}``; the training
loop's four ``register_forward_hook`` handles filling module-level globals (``inputs[0]`` of
``fc`` for the features, ``fc1``/``fc2`` outputs for the unscaled scores) and removed with
``handle.remove()``; the less-forget loss ``nn.CosineEmbeddingLoss()(cur_features,
ref_features.detach(), torch.ones(inputs.shape[0]))`` times ``args.lamda *
math.sqrt(lamda_mult)``; the margin ranking loss (``gt_index.scatter(1, targets.view(-1,1),
1).ge(0.5)``, ``outputs_bs.masked_select(gt_index)``, ``outputs_bs[:, num_old_classes:].topk(K,
dim=1)[0]``, ``targets.lt(num_old_classes)``, ``torch.nonzero(hard_index).size(0)``,
``gt_scores[hard_index].view(-1, 1).repeat(1, K)``, ``nn.MarginRankingLoss(margin=dist)`` and the
``torch.zeros(1)`` fallback); ``lr_scheduler.MultiStepLR`` and the ``compute_features`` loop
filling a NumPy array from ``tg_feature_model(inputs).cpu().numpy()``.

Changed: ResNet-32 on CIFAR-100 -> a two-layer MLP on 6-feature NumPy data, 2 phases of 2 and 2
classes, exemplars and herding left out (the old-class samples are replayed directly), 2 epochs
of 2 batches per phase; ``print`` of the learning rate dropped; the ranking scores are passed as
``view(-1)``, not ``view(-1, 1)`` (PyTorch since 1.x refuses an ``(N, 1)`` input with an ``(N,)``
target, as the later forks of this code write it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, FEAT, NB_CL, N_PER_CLASS, BATCH, EPOCHS, K, DIST, LW_MR, LAMDA = (
    6,
    8,
    2,
    4,
    4,
    2,
    2,
    0.5,
    1,
    5,
)

cur_features: Any = []
ref_features: Any = []
old_scores: Any = []
new_scores: Any = []


def get_ref_features(self: Any, inputs: tuple, outputs: Any) -> None:
    global ref_features
    ref_features = inputs[0]


def get_cur_features(self: Any, inputs: tuple, outputs: Any) -> None:
    global cur_features
    cur_features = inputs[0]


def get_old_scores_before_scale(self: Any, inputs: tuple, outputs: Any) -> None:
    global old_scores
    old_scores = outputs


def get_new_scores_before_scale(self: Any, inputs: tuple, outputs: Any) -> None:
    global new_scores
    new_scores = outputs


def modified_linear(torch_like: Any) -> tuple:
    torch, F = torch_like, torch_like.nn.functional
    from_module, Parameter = torch_like.nn.Module, torch_like.nn.Parameter

    class CosineLinear(from_module):
        def __init__(self, in_features: int, out_features: int, sigma: bool = True) -> None:
            super(CosineLinear, self).__init__()  # noqa: UP008 (as in the repository)
            self.in_features = in_features
            self.out_features = out_features
            self.weight = Parameter(torch.Tensor(out_features, in_features))
            if sigma:
                self.sigma = Parameter(torch.Tensor(1))
            else:
                self.register_parameter("sigma", None)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            stdv = 1.0 / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.sigma is not None:
                self.sigma.data.fill_(1)  # for initializaiton of sigma

        def forward(self, input: Any) -> Any:
            out = F.linear(F.normalize(input, p=2, dim=1), F.normalize(self.weight, p=2, dim=1))
            if self.sigma is not None:
                out = self.sigma * out
            return out

    class SplitCosineLinear(from_module):
        # consists of two fc layers and concatenate their outputs
        def __init__(self, in_features: int, out_features1: int, out_features2: int,
                     sigma: bool = True) -> None:  # fmt: skip
            super(SplitCosineLinear, self).__init__()  # noqa: UP008 (as in the repository)
            self.in_features = in_features
            self.out_features = out_features1 + out_features2
            self.fc1 = CosineLinear(in_features, out_features1, False)
            self.fc2 = CosineLinear(in_features, out_features2, False)
            if sigma:
                self.sigma = Parameter(torch.Tensor(1))
                self.sigma.data.fill_(1)
            else:
                self.register_parameter("sigma", None)

        def forward(self, x: Any) -> Any:
            out1 = self.fc1(x)
            out2 = self.fc2(x)
            out = torch.cat((out1, out2), dim=1)  # concatenate along the channel
            if self.sigma is not None:
                out = self.sigma * out
            return out

    return CosineLinear, SplitCosineLinear


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    CosineLinear, _ = modified_linear(torch_like)

    class MLPNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc_in = nn.Linear(N_IN, FEAT)
            self.relu = nn.ReLU(inplace=True)
            self.fc_mid = nn.Linear(FEAT, FEAT)
            self.relu_out = nn.ReLU(inplace=True)
            self.flatten = nn.Flatten()
            self.fc = CosineLinear(FEAT, NB_CL)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.fc_in(x))
            x = self.relu_out(self.fc_mid(x))
            return self.fc(self.flatten(x))

    return MLPNet()


def compute_features(torch: Any, tg_feature_model: Any, evalloader: Any, num_samples: int,
                     num_features: int) -> np.ndarray:  # fmt: skip
    tg_feature_model.eval()
    features = np.zeros([num_samples, num_features])
    start_idx = 0
    with torch.no_grad():
        for inputs, _targets in evalloader:
            features[start_idx : start_idx + inputs.shape[0], :] = np.squeeze(
                tg_feature_model(inputs).cpu().numpy()
            )
            start_idx = start_idx + inputs.shape[0]
    assert start_idx == num_samples
    return features


def incremental_train_and_eval_MR_LF(torch: Any, epochs: int, tg_model: Any, ref_model: Any,  # noqa: N802
                                     tg_optimizer: Any, tg_lr_scheduler: Any, trainloader: Any,
                                     iteration: int, start_iteration: int, lamda: float,
                                     dist: float, K: int, lw_mr: float) -> list[float]:  # fmt: skip
    nn = torch.nn
    log: list[float] = []
    if iteration > start_iteration:
        ref_model.eval()
        num_old_classes = ref_model.fc.out_features
        handle_ref_features = ref_model.fc.register_forward_hook(get_ref_features)
        handle_cur_features = tg_model.fc.register_forward_hook(get_cur_features)
        handle_old_scores_bs = tg_model.fc.fc1.register_forward_hook(get_old_scores_before_scale)
        handle_new_scores_bs = tg_model.fc.fc2.register_forward_hook(get_new_scores_before_scale)
    for _epoch in range(epochs):
        # train
        tg_model.train()
        train_loss = 0
        correct = 0
        total = 0
        for _batch_idx, (inputs, targets) in enumerate(trainloader):
            tg_optimizer.zero_grad()
            outputs = tg_model(inputs)
            if iteration == start_iteration:
                loss = nn.CrossEntropyLoss(None)(outputs, targets)
            else:
                ref_model(inputs)
                loss1 = (
                    nn.CosineEmbeddingLoss()(
                        cur_features, ref_features.detach(), torch.ones(inputs.shape[0])
                    )
                    * lamda
                )
                loss2 = nn.CrossEntropyLoss(None)(outputs, targets)
                #################################################
                # scores before scale, [-1, 1]
                outputs_bs = torch.cat((old_scores, new_scores), dim=1)
                assert outputs_bs.size() == outputs.size()
                # get groud truth scores
                gt_index = torch.zeros(outputs_bs.size())
                gt_index = gt_index.scatter(1, targets.view(-1, 1), 1).ge(0.5)
                gt_scores = outputs_bs.masked_select(gt_index)
                # get top-K scores on novel classes
                max_novel_scores = outputs_bs[:, num_old_classes:].topk(K, dim=1)[0]
                # the index of hard samples, i.e., samples of old classes
                hard_index = targets.lt(num_old_classes)
                hard_num = torch.nonzero(hard_index).size(0)
                if hard_num > 0:
                    gt_scores = gt_scores[hard_index].view(-1, 1).repeat(1, K)
                    max_novel_scores = max_novel_scores[hard_index]
                    assert gt_scores.size() == max_novel_scores.size()
                    assert gt_scores.size(0) == hard_num
                    loss3 = (
                        nn.MarginRankingLoss(margin=dist)(
                            gt_scores.view(-1),
                            max_novel_scores.view(-1),
                            torch.ones(hard_num * K),
                        )
                        * lw_mr
                    )
                else:
                    loss3 = torch.zeros(1)
                #################################################
                loss = loss1 + loss2 + loss3
                log += [loss1.item(), loss3.sum().item()]
            loss.backward()
            tg_optimizer.step()
            train_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
        tg_lr_scheduler.step()
        log += [train_loss, 100.0 * correct / total, tg_lr_scheduler.get_last_lr()[0]]
    if iteration > start_iteration:
        handle_ref_features.remove()
        handle_cur_features.remove()
        handle_old_scores_bs.remove()
        handle_new_scores_bs.remove()
    return log


def run(torch_like: Any, init: dict) -> list[float]:
    import copy

    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    _, SplitCosineLinear = modified_linear(torch_like)
    rng = np.random.default_rng(19)
    y_all = np.repeat(np.arange(2 * NB_CL), N_PER_CLASS)
    x_all = rng.normal(size=(len(y_all), N_IN))
    x_all[np.arange(len(y_all)), y_all] += 2.0
    tg_model = make_model(torch_like)
    load_numpy_state(torch_like, tg_model, init)
    ref_model = None
    values: list[float] = []
    for iteration in range(2):
        if iteration == 0:
            lamda_mult = None
        else:
            # increment classes
            ref_model = copy.deepcopy(tg_model)
            in_features = tg_model.fc.in_features
            out_features = tg_model.fc.out_features
            new_fc = SplitCosineLinear(in_features, out_features, NB_CL)
            new_fc.fc1.weight.data = tg_model.fc.weight.data
            new_fc.sigma.data = tg_model.fc.sigma.data
            tg_model.fc = new_fc
            lamda_mult = out_features * 1.0 / NB_CL
        keep = y_all < (iteration + 1) * NB_CL  # this phase's classes plus replayed old ones
        trainset = torch.utils.data.TensorDataset(
            as_tensor(torch, x_all[keep]), as_tensor(torch, y_all[keep])
        )
        trainloader = torch.utils.data.DataLoader(trainset, batch_size=BATCH, shuffle=False)
        if iteration > 0:
            # imprint weights
            tg_model.eval()
            tg_feature_model = nn.Sequential(*list(tg_model.children())[:-1])
            num_features = tg_model.fc.in_features
            old_embedding_norm = tg_model.fc.fc1.weight.data.norm(dim=1, keepdim=True)
            average_old_embedding_norm = (
                torch.mean(old_embedding_norm, dim=0).to("cpu").type(torch.DoubleTensor)
            )
            novel_embedding = torch.zeros((NB_CL, num_features))
            for cls_idx in range(iteration * NB_CL, (iteration + 1) * NB_CL):
                cls_indices = np.array([i == cls_idx for i in y_all])
                evalset = torch.utils.data.TensorDataset(
                    as_tensor(torch, x_all[cls_indices]), as_tensor(torch, np.zeros(N_PER_CLASS))
                )
                evalloader = torch.utils.data.DataLoader(evalset, batch_size=BATCH, shuffle=False)
                num_samples = N_PER_CLASS
                cls_features = compute_features(
                    torch, tg_feature_model, evalloader, num_samples, num_features
                )
                norm_features = F.normalize(torch.from_numpy(cls_features), p=2, dim=1)
                cls_embedding = torch.mean(norm_features, dim=0)
                novel_embedding[cls_idx - iteration * NB_CL] = (
                    F.normalize(cls_embedding, p=2, dim=0) * average_old_embedding_norm
                )
            tg_model.fc.fc2.weight.data = novel_embedding
            values.append(novel_embedding.sum().item())
        if iteration > 0:
            ignored_params = list(map(id, tg_model.fc.fc1.parameters()))
            base_params = filter(lambda p: id(p) not in ignored_params, tg_model.parameters())
            tg_params = [
                {"params": base_params, "lr": 0.1, "weight_decay": 5e-4},
                {"params": tg_model.fc.fc1.parameters(), "lr": 0, "weight_decay": 0},
            ]
        else:
            tg_params = tg_model.parameters()
        tg_optimizer = torch.optim.SGD(tg_params, lr=0.1, momentum=0.9, weight_decay=5e-4)
        tg_lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(
            tg_optimizer, milestones=[1], gamma=0.1
        )
        cur_lamda = LAMDA * math.sqrt(lamda_mult) if lamda_mult else LAMDA
        values += incremental_train_and_eval_MR_LF(
            torch, EPOCHS, tg_model, ref_model, tg_optimizer, tg_lr_scheduler, trainloader,
            iteration, 0, cur_lamda, DIST, K, LW_MR,
        )  # fmt: skip
        values += [tg_model.fc.sigma.item(), float(len(tg_model.fc._forward_hooks))]
    return values
