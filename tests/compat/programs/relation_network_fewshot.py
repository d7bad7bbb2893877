"""Relation Network for few-shot learning (Sung et al., ``floodsung/LearningToCompare_FSL``
``omniglot_train_few_shot.py``), size-reduced: a ``CNNEncoder`` (``nn.Sequential`` of
``Conv2d``/``BatchNorm2d(momentum=1, affine=True)``/``ReLU``/``MaxPool2d``) and a
``RelationNetwork`` initialised by ``weights_init`` through ``apply`` (``m.weight.data.normal_(0,
math.sqrt(2. / n))``, ``m.bias.data.zero_()``, ``classname.find('Conv') != -1``); an episode
samples ``CLASS_NUM`` classes with ``SAMPLE_NUM_PER_CLASS`` shots and query images; support
features are summed per class (``view(C, S, ...)``, ``torch.sum(..., 1).squeeze(1)``), repeated
with ``unsqueeze(0).repeat(BATCH * C, 1, 1, 1, 1)``, paired with the query features through
``torch.transpose(..., 0, 1)`` and ``torch.cat(..., 2).view(-1, FEATURE_DIM * 2, h, w)``; the
relation scores ``view(-1, CLASS_NUM)`` regress the one-hot labels built by
``torch.zeros(...).scatter_(1, labels.view(-1, 1), 1)`` with ``nn.MSELoss()``;
``clip_grad_norm_(..., 0.5)`` on both nets, two ``Adam`` optimizers with ``StepLR``; evaluation
counts ``torch.max(relations.data, 1)`` hits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

FEATURE_DIM, RELATION_DIM, CLASS_NUM, SAMPLE_NUM_PER_CLASS, BATCH_NUM_PER_CLASS = 4, 4, 3, 2, 2
SIZE, EPISODES = 12, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class CNNEncoder(nn.Module):
        """docstring for ClassName"""

        def __init__(self) -> None:
            super(CNNEncoder, self).__init__()  # noqa: UP008 (as in the repository)
            self.layer1 = nn.Sequential(
                nn.Conv2d(1, FEATURE_DIM, kernel_size=3, padding=0),
                nn.BatchNorm2d(FEATURE_DIM, momentum=1, affine=True),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.layer2 = nn.Sequential(
                nn.Conv2d(FEATURE_DIM, FEATURE_DIM, kernel_size=3, padding=1),
                nn.BatchNorm2d(FEATURE_DIM, momentum=1, affine=True),
                nn.ReLU(),
            )

        def forward(self, x: Any) -> Any:
            out = self.layer1(x)
            out = self.layer2(out)
            return out  # 64

    class RelationNetwork(nn.Module):
        """docstring for RelationNetwork"""

        def __init__(self, input_size: int, hidden_size: int) -> None:
            super(RelationNetwork, self).__init__()  # noqa: UP008
            self.layer1 = nn.Sequential(
                nn.Conv2d(FEATURE_DIM * 2, FEATURE_DIM, kernel_size=3, padding=1),
                nn.BatchNorm2d(FEATURE_DIM, momentum=1, affine=True),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.fc2 = nn.Linear(hidden_size, 1)

        def forward(self, x: Any) -> Any:
            out = self.layer1(x)
            out = out.view(out.size(0), -1)
            out = F.relu(self.fc1(out))
            out = F.sigmoid(self.fc2(out))
            return out

    def weights_init(m: Any) -> None:
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0, math.sqrt(2.0 / n))
            if m.bias is not None:
                m.bias.data.zero_()
        elif classname.find("BatchNorm") != -1:
            m.weight.data.fill_(1)
            m.bias.data.zero_()
        elif classname.find("Linear") != -1:
            m.weight.data.normal_(0, 0.01)
            m.bias.data = torch_like.ones(m.bias.data.size())

    class Both(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.feature_encoder = CNNEncoder()
            self.relation_network = RelationNetwork(FEATURE_DIM * 2 * 2, RELATION_DIM)
            self.feature_encoder.apply(weights_init)
            self.relation_network.apply(weights_init)

    return Both()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    StepLR = torch.optim.lr_scheduler.StepLR
    rng = np.random.default_rng(4)
    n_chars = 6
    protos = rng.random((n_chars, 1, SIZE, SIZE))

    def draw(c: int) -> np.ndarray:
        return protos[c] + 0.3 * rng.standard_normal((1, SIZE, SIZE))

    both = make_model(torch_like)
    load_numpy_state(torch_like, both, init)
    feature_encoder, relation_network = both.feature_encoder, both.relation_network
    feature_encoder_optim = torch.optim.Adam(feature_encoder.parameters(), lr=0.001)
    feature_encoder_scheduler = StepLR(feature_encoder_optim, step_size=2, gamma=0.5)
    relation_network_optim = torch.optim.Adam(relation_network.parameters(), lr=0.001)
    relation_network_scheduler = StepLR(relation_network_optim, step_size=2, gamma=0.5)
    mse = nn.MSELoss()
    values: list[float] = []

    def episode() -> tuple[Any, Any, Any, Any]:
        classes = rng.choice(n_chars, CLASS_NUM, replace=False)
        samples = [draw(c) for c in classes for _ in range(SAMPLE_NUM_PER_CLASS)]
        order = rng.permutation(CLASS_NUM * BATCH_NUM_PER_CLASS)
        batch_labels = np.repeat(np.arange(CLASS_NUM), BATCH_NUM_PER_CLASS)[order]
        batches = [draw(classes[i]) for i in batch_labels]
        return (
            torch.tensor(np.stack(samples)),
            torch.tensor(np.arange(CLASS_NUM).repeat(SAMPLE_NUM_PER_CLASS)),
            torch.tensor(np.stack(batches)),
            torch.tensor(batch_labels),
        )

    def relations_of(samples: Any, batches: Any) -> Any:
        sample_features = feature_encoder(samples)  # 5x64*5*5
        sample_features = sample_features.view(CLASS_NUM, SAMPLE_NUM_PER_CLASS, FEATURE_DIM, 5, 5)
        sample_features = torch.sum(sample_features, 1).squeeze(1)
        batch_features = feature_encoder(batches)  # 20x64*5*5
        n = batch_features.size(0)
        sample_features_ext = sample_features.unsqueeze(0).repeat(n, 1, 1, 1, 1)
        batch_features_ext = batch_features.unsqueeze(0).repeat(CLASS_NUM, 1, 1, 1, 1)
        batch_features_ext = torch.transpose(batch_features_ext, 0, 1)
        relation_pairs = torch.cat((sample_features_ext, batch_features_ext), 2).view(
            -1, FEATURE_DIM * 2, 5, 5
        )
        return relation_network(relation_pairs).view(-1, CLASS_NUM)

    for _episode in range(EPISODES):
        feature_encoder.train()
        relation_network.train()
        samples, _sample_labels, batches, batch_labels = episode()
        relations = relations_of(samples, batches)
        one_hot_labels = torch.zeros(BATCH_NUM_PER_CLASS * CLASS_NUM, CLASS_NUM).scatter_(
            1, batch_labels.view(-1, 1), 1
        )
        loss = mse(relations, one_hot_labels)

        # training
        feature_encoder.zero_grad()
        relation_network.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(feature_encoder.parameters(), 0.5)
        torch.nn.utils.clip_grad_norm_(relation_network.parameters(), 0.5)
        feature_encoder_optim.step()
        relation_network_optim.step()
        feature_encoder_scheduler.step()
        relation_network_scheduler.step()
        values.append(loss.item())
        values.append(feature_encoder.layer1[1].running_var.sum().item())

    # test: the repository keeps the BatchNorm in training mode (momentum=1 batch statistics)
    total_rewards = 0
    with torch.no_grad():
        for _ in range(2):
            samples, _, batches, test_labels = episode()
            relations = relations_of(samples, batches)
            _, predict_labels = torch.max(relations.data, 1)
            rewards = [
                1 if predict_labels[j] == test_labels[j] else 0 for j in range(len(test_labels))
            ]
            total_rewards += np.sum(rewards)
            values += relations.max(1).values.tolist()
    values.append(total_rewards)
    values.append(relation_network_scheduler.get_last_lr()[0])
    return values
