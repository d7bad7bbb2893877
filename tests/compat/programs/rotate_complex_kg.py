"""RotatE and ComplEx knowledge-graph embeddings with self-adversarial negative sampling, as
DeepGraphLearning/KnowledgeGraphEmbedding's ``codes/model.py`` (``KGEModel.forward``,
``RotatE``, ``ComplEx``, ``train_step``, ``test_step``) writes them, plus the complex-tensor
form the newer ports (PyG's ``RotatE``/``ComplEx``, TorchKGE) write with ``torch.polar`` and
``torch.view_as_complex``; size-reduced to 10 entities and 3 relations.

The idioms: ``nn.Parameter(torch.Tensor([gamma]), requires_grad=False)`` and the
``embedding_range`` parameter, ``nn.init.uniform_(tensor=self.entity_embedding,
a=-self.embedding_range.item(), b=self.embedding_range.item())``; the three sample modes
(``torch.index_select(self.entity_embedding, dim=0, index=sample[:, 0]).unsqueeze(1)`` and
``index=head_part.view(-1)).view(batch_size, negative_sample_size, -1)``); RotatE's
``torch.chunk(head, 2, dim=2)``, ``phase_relation = relation / (self.embedding_range.item() /
pi)``, ``torch.stack([re_score, im_score], dim=0).norm(dim=0)`` and ``self.gamma.item() -
score.sum(dim=2)``; ComplEx's real-arithmetic score; the complex forms ``torch.view_as_complex(
head.view(*head.shape[:-1], -1, 2))``, ``torch.polar(torch.ones_like(phase), phase)``, ``(h * r
- t).abs().sum(-1)`` and ``torch.real(h * r * t.conj()).sum(-1)``; the self-adversarial weights
``(F.softmax(negative_score * adversarial_temperature, dim=1).detach() *
F.logsigmoid(-negative_score)).sum(dim=1)``; the subsampling-weighted losses; the L3
regularisation ``entity_embedding.norm(p=3) ** 3``; Adam over ``filter(lambda p:
p.requires_grad, ...)``; and the filtered ranking test (``torch.argsort(score, dim=1,
descending=True)``, ``(argsort[i, :] == positive_arg[i]).nonzero()``, ``1.0 / ranking``,
``HITS@k``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NENTITY, NRELATION, HIDDEN, GAMMA, NEG, BATCH, STEPS = 10, 3, 4, 6.0, 4, 4, 3


def make_model(torch_like: Any, model_name: str = "RotatE") -> Any:
    torch, nn = torch_like, torch_like.nn

    class KGEModel(nn.Module):
        def __init__(self, model_name: str, nentity: int, nrelation: int, hidden_dim: int,
                     gamma: float, double_entity_embedding: bool = True,
                     double_relation_embedding: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.model_name = model_name
            self.epsilon = 2.0
            self.gamma = nn.Parameter(torch.Tensor([gamma]), requires_grad=False)
            self.embedding_range = nn.Parameter(
                torch.Tensor([(self.gamma.item() + self.epsilon) / hidden_dim]),
                requires_grad=False,
            )
            self.entity_dim = hidden_dim * 2 if double_entity_embedding else hidden_dim
            self.relation_dim = hidden_dim * 2 if double_relation_embedding else hidden_dim
            self.entity_embedding = nn.Parameter(torch.zeros(nentity, self.entity_dim))
            nn.init.uniform_(
                tensor=self.entity_embedding,
                a=-self.embedding_range.item(),
                b=self.embedding_range.item(),
            )
            self.relation_embedding = nn.Parameter(torch.zeros(nrelation, self.relation_dim))
            nn.init.uniform_(
                tensor=self.relation_embedding,
                a=-self.embedding_range.item(),
                b=self.embedding_range.item(),
            )

        def forward(self, sample: Any, mode: str = "single", complex_form: bool = False) -> Any:
            if mode == "single":
                head = torch.index_select(self.entity_embedding, dim=0, index=sample[:, 0])
                relation = torch.index_select(self.relation_embedding, dim=0, index=sample[:, 1])
                tail = torch.index_select(self.entity_embedding, dim=0, index=sample[:, 2])
                head, relation, tail = head.unsqueeze(1), relation.unsqueeze(1), tail.unsqueeze(1)
            elif mode == "head-batch":
                tail_part, head_part = sample
                batch_size, negative_sample_size = head_part.size(0), head_part.size(1)
                head = torch.index_select(
                    self.entity_embedding, dim=0, index=head_part.view(-1)
                ).view(batch_size, negative_sample_size, -1)
                relation = torch.index_select(
                    self.relation_embedding, dim=0, index=tail_part[:, 1]
                ).unsqueeze(1)
                tail = torch.index_select(
                    self.entity_embedding, dim=0, index=tail_part[:, 2]
                ).unsqueeze(1)
            elif mode == "tail-batch":
                head_part, tail_part = sample
                batch_size, negative_sample_size = tail_part.size(0), tail_part.size(1)
                head = torch.index_select(
                    self.entity_embedding, dim=0, index=head_part[:, 0]
                ).unsqueeze(1)
                relation = torch.index_select(
                    self.relation_embedding, dim=0, index=head_part[:, 1]
                ).unsqueeze(1)
                tail = torch.index_select(
                    self.entity_embedding, dim=0, index=tail_part.view(-1)
                ).view(batch_size, negative_sample_size, -1)
            else:
                raise ValueError("mode %s not supported" % mode)  # noqa: UP031 (as written)
            if complex_form:
                return self.complex_score(head, relation, tail)
            return {"RotatE": self.RotatE, "ComplEx": self.ComplEx}[self.model_name](
                head, relation, tail, mode
            )

        def ComplEx(self, head: Any, relation: Any, tail: Any, mode: str) -> Any:
            re_head, im_head = torch.chunk(head, 2, dim=2)
            re_relation, im_relation = torch.chunk(relation, 2, dim=2)
            re_tail, im_tail = torch.chunk(tail, 2, dim=2)
            if mode == "head-batch":
                re_score = re_relation * re_tail + im_relation * im_tail
                im_score = re_relation * im_tail - im_relation * re_tail
                score = re_head * re_score + im_head * im_score
            else:
                re_score = re_head * re_relation - im_head * im_relation
                im_score = re_head * im_relation + im_head * re_relation
                score = re_score * re_tail + im_score * im_tail
            return score.sum(dim=2)

        def RotatE(self, head: Any, relation: Any, tail: Any, mode: str) -> Any:
            pi = 3.14159265358979323846
            re_head, im_head = torch.chunk(head, 2, dim=2)
            re_tail, im_tail = torch.chunk(tail, 2, dim=2)
            phase_relation = relation / (self.embedding_range.item() / pi)
            re_relation = torch.cos(phase_relation)
            im_relation = torch.sin(phase_relation)
            if mode == "head-batch":
                re_score = re_relation * re_tail + im_relation * im_tail
                im_score = re_relation * im_tail - im_relation * re_tail
                re_score = re_score - re_head
                im_score = im_score - im_head
            else:
                re_score = re_head * re_relation - im_head * im_relation
                im_score = re_head * im_relation + im_head * re_relation
                re_score = re_score - re_tail
                im_score = im_score - im_tail
            score = torch.stack([re_score, im_score], dim=0)
            score = score.norm(dim=0)
            return self.gamma.item() - score.sum(dim=2)

        def complex_score(self, head: Any, relation: Any, tail: Any) -> Any:
            h = torch.view_as_complex(head.view(*head.shape[:-1], -1, 2))
            t = torch.view_as_complex(tail.reshape(*tail.shape[:-1], -1, 2))
            if self.model_name == "RotatE":
                phase = relation / (self.embedding_range.item() / math.pi)
                r = torch.polar(torch.ones_like(phase), phase)
                return self.gamma.item() - (h * r - t).abs().sum(-1)
            r = torch.view_as_complex(relation.view(*relation.shape[:-1], -1, 2).contiguous())
            return torch.real(h * r * t.conj()).sum(-1)

    return KGEModel(model_name, NENTITY, NRELATION, HIDDEN, GAMMA,
                    double_relation_embedding=model_name == "ComplEx")  # fmt: skip


def train_step(torch_like: Any, model: Any, optimizer: Any, batch: tuple, args: dict) -> dict:
    F = torch_like.nn.functional
    model.train()
    optimizer.zero_grad()
    positive_sample, negative_sample, subsampling_weight, mode = batch
    cf = args["complex_form"]
    negative_score = model((positive_sample, negative_sample), mode=mode, complex_form=cf)
    if args["negative_adversarial_sampling"]:
        negative_score = (
            F.softmax(negative_score * args["adversarial_temperature"], dim=1).detach()
            * F.logsigmoid(-negative_score)
        ).sum(dim=1)
    else:
        negative_score = F.logsigmoid(-negative_score).mean(dim=1)
    positive_score = model(positive_sample, complex_form=cf)
    positive_score = F.logsigmoid(positive_score).squeeze(dim=1)
    if args["uni_weight"]:
        positive_sample_loss = -positive_score.mean()
        negative_sample_loss = -negative_score.mean()
    else:
        positive_sample_loss = (
            -(subsampling_weight * positive_score).sum() / subsampling_weight.sum()
        )
        negative_sample_loss = (
            -(subsampling_weight * negative_score).sum() / subsampling_weight.sum()
        )
    loss = (positive_sample_loss + negative_sample_loss) / 2
    if args["regularization"] != 0.0:
        regularization = args["regularization"] * (
            model.entity_embedding.norm(p=3) ** 3
            + model.relation_embedding.norm(p=3).norm(p=3) ** 3
        )
        loss = loss + regularization
    loss.backward()
    optimizer.step()
    return {"positive_sample_loss": positive_sample_loss.item(),
            "negative_sample_loss": negative_sample_loss.item(), "loss": loss.item()}  # fmt: skip


def test_step(torch_like: Any, model: Any, triples: Any) -> list[float]:
    torch = torch_like
    logs = []
    with torch.no_grad():
        all_entities = torch.arange(NENTITY).unsqueeze(0).repeat(triples.size(0), 1)
        filter_bias = torch.zeros(triples.size(0), NENTITY)
        score = model((triples, all_entities), "tail-batch") + filter_bias
        argsort = torch.argsort(score, dim=1, descending=True)
        positive_arg = triples[:, 2]
        for i in range(triples.size(0)):
            ranking = (argsort[i, :] == positive_arg[i]).nonzero()
            assert ranking.size(0) == 1
            ranking = 1 + ranking.item()
            logs.append({"MRR": 1.0 / ranking, "MR": float(ranking),
                         "HITS@1": 1.0 if ranking <= 1 else 0.0})  # fmt: skip
    return [sum(log[k] for log in logs) / len(logs) for k in ("MRR", "MR", "HITS@1")]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(4)
    triples = np.stack([rng.integers(0, NENTITY, 12), rng.integers(0, NRELATION, 12),
                        rng.integers(0, NENTITY, 12)], axis=1)  # fmt: skip
    values: list[float] = []
    configs = [
        ("RotatE", dict(negative_adversarial_sampling=True, adversarial_temperature=1.0,
                        uni_weight=False, regularization=0.0, complex_form=False)),
        ("ComplEx", dict(negative_adversarial_sampling=False, adversarial_temperature=1.0,
                         uni_weight=True, regularization=1e-3, complex_form=False)),
        ("RotatE", dict(negative_adversarial_sampling=True, adversarial_temperature=0.5,
                        uni_weight=True, regularization=0.0, complex_form=True)),
        ("ComplEx", dict(negative_adversarial_sampling=True, adversarial_temperature=1.0,
                         uni_weight=False, regularization=0.0, complex_form=True)),
    ]  # fmt: skip
    for model_name, args in configs:
        model = make_model(torch_like, model_name)
        if model_name == "RotatE":
            load_numpy_state(torch_like, model, init)
        else:
            torch.manual_seed(1)
            model = make_model(torch_like, model_name)
        optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=0.05)
        for step in range(STEPS):
            rows = rng.choice(len(triples), BATCH, replace=False)
            positive_sample = as_tensor(torch_like, triples[rows])
            negative_sample = as_tensor(torch_like, rng.integers(0, NENTITY, (BATCH, NEG)))
            subsampling_weight = torch.sqrt(
                1 / as_tensor(torch_like, rng.integers(1, 5, BATCH) + 3.0)
            )
            mode = "head-batch" if step % 2 == 0 else "tail-batch"
            batch = (positive_sample, negative_sample, subsampling_weight, mode)
            log = train_step(torch_like, model, optimizer, batch, args)
            values.extend([log["loss"], log["positive_sample_loss"], log["negative_sample_loss"]])
        values.extend(test_step(torch_like, model, as_tensor(torch_like, triples)))
    return values
