"""Angular-margin face-recognition heads as the public PyTorch code writes them, size-reduced:
ronghuaiyang/arcface-pytorch's ``models/metrics.py`` (``ArcMarginProduct``: ``Parameter(
torch.FloatTensor(out_features, in_features))`` with ``nn.init.xavier_uniform_``,
``F.linear(F.normalize(input), F.normalize(self.weight))``, ``sine = torch.sqrt((1.0 -
torch.pow(cosine, 2)).clamp(0, 1))``, ``phi = cosine * cos_m - sine * sin_m`` with the
``torch.where(cosine > self.th, phi, cosine - self.mm)`` fallback, the ``one_hot.scatter_(1,
label.view(-1, 1).long(), 1)`` blend and ``output *= self.s``; ``AddMarginProduct`` (CosFace)
with its hand-written ``__repr__``; ``SphereProduct`` (the multiple-angle ``mlambda`` lambdas,
``cos_theta.data.acos()``, ``k = (self.m * theta / 3.14159265).floor()``, ``((-1.0) ** k)``,
the annealed ``lamb`` and the feature norm ``torch.norm(input, 2, 1)``)), trained as its
``train.py`` does (``optim.SGD([{'params': model.parameters()}, {'params':
metric_fc.parameters()}], lr, weight_decay=5e-4)``, ``StepLR``, ``nn.CrossEntropyLoss``,
``np.argmax`` accuracy of ``output.data.cpu().numpy()``); deepinsight/insightface's
``arcface_torch`` ``CombinedMarginLoss`` (``index = torch.where(labels != -1)[0]``, the target
logits picked by ``logits[index, labels[index].view(-1)]``, then under ``torch.no_grad()``
``target_logit.arccos_()``, ``logits.arccos_()``, the margin written back by advanced-index
assignment and ``logits.cos_()``, so the margin is a constant shift the gradient skips; and the
CosFace branch ``m3``) after ``logits.clamp(-1, 1)`` of the normalised ``F.linear``; and
``test.py``'s verification: ``cosin_metric`` pair scores and ``cal_accuracy``'s best
threshold sweep (here in tensor ops: ``F.cosine_similarity``, a broadcast ``>=`` against every
score as threshold, ``.float().mean(1)``, ``.max(0)``).

Changed: the ResNet-face backbone is a small MLP embedding (``Linear`` + ``BatchNorm1d`` +
``PReLU`` + ``Linear`` + ``BatchNorm1d``); the LFW/CASIA images are 20 NumPy vectors of 5
identities; ``.cuda()`` calls dropped; 3 steps per head. The run is in float32 (the heads'
``torch.FloatTensor`` weights are float32 whatever the default dtype).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

DTYPE = "float32"
RTOL = 1e-4
ATOL = 1e-5
IN_DIM = 6
EMB = 4
N_CLASSES = 5


def _classes(torch_like: Any) -> dict[str, type]:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional
    Parameter = torch.nn.Parameter

    class ArcMarginProduct(nn.Module):
        r"""Implement of large margin arc distance: :
        Args:
            in_features: size of each input sample
            out_features: size of each output sample
            s: norm of input feature
            m: margin

            cos(theta + m)
        """

        def __init__(
            self,
            in_features: int,
            out_features: int,
            s: float = 30.0,
            m: float = 0.50,
            easy_margin: bool = False,
        ) -> None:
            super(ArcMarginProduct, self).__init__()  # noqa: UP008 (as in the repository)
            self.in_features = in_features
            self.out_features = out_features
            self.s = s
            self.m = m
            self.weight = Parameter(torch.FloatTensor(out_features, in_features))
            nn.init.xavier_uniform_(self.weight)

            self.easy_margin = easy_margin
            self.cos_m = math.cos(m)
            self.sin_m = math.sin(m)
            self.th = math.cos(math.pi - m)
            self.mm = math.sin(math.pi - m) * m

        def forward(self, input: Any, label: Any) -> Any:  # noqa: A002
            # --------------------------- cos(theta) & phi(theta) ---------------------------
            cosine = F.linear(F.normalize(input), F.normalize(self.weight))
            sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
            phi = cosine * self.cos_m - sine * self.sin_m
            if self.easy_margin:
                phi = torch.where(cosine > 0, phi, cosine)
            else:
                phi = torch.where(cosine > self.th, phi, cosine - self.mm)
            # --------------------------- convert label to one-hot ---------------------------
            one_hot = torch.zeros(cosine.size(), device="cpu")
            one_hot.scatter_(1, label.view(-1, 1).long(), 1)
            # -------------torch.where(out_i = {x_i if condition_i else y_i) -------------
            output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
            output *= self.s

            return output

    class AddMarginProduct(nn.Module):
        r"""Implement of large margin cosine distance: :
        Args:
            in_features: size of each input sample
            out_features: size of each output sample
            s: norm of input feature
            m: margin
            cos(theta) - m
        """

        def __init__(
            self, in_features: int, out_features: int, s: float = 30.0, m: float = 0.40
        ) -> None:
            super(AddMarginProduct, self).__init__()  # noqa: UP008
            self.in_features = in_features
            self.out_features = out_features
            self.s = s
            self.m = m
            self.weight = Parameter(torch.FloatTensor(out_features, in_features))
            nn.init.xavier_uniform_(self.weight)

        def forward(self, input: Any, label: Any) -> Any:  # noqa: A002
            cosine = F.linear(F.normalize(input), F.normalize(self.weight))
            phi = cosine - self.m
            one_hot = torch.zeros(cosine.size(), device="cpu")
            one_hot.scatter_(1, label.view(-1, 1).long(), 1)
            output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
            output *= self.s
            return output

        def __repr__(self) -> str:
            return (
                self.__class__.__name__
                + "("
                + "in_features="
                + str(self.in_features)
                + ", out_features="
                + str(self.out_features)
                + ", s="
                + str(self.s)
                + ", m="
                + str(self.m)
                + ")"
            )

    class SphereProduct(nn.Module):
        r"""Implement of large margin cosine distance: :
        Args:
            in_features: size of each input sample
            out_features: size of each output sample
            m: margin
            cos(m*theta)
        """

        def __init__(self, in_features: int, out_features: int, m: int = 4) -> None:
            super(SphereProduct, self).__init__()  # noqa: UP008
            self.in_features = in_features
            self.out_features = out_features
            self.m = m
            self.base = 1000.0
            self.gamma = 0.12
            self.power = 1
            self.LambdaMin = 5.0
            self.iter = 0
            self.weight = Parameter(torch.FloatTensor(out_features, in_features))
            nn.init.xavier_uniform_(self.weight)

            # duplication formula
            self.mlambda = [
                lambda x: x**0,
                lambda x: x**1,
                lambda x: 2 * x**2 - 1,
                lambda x: 4 * x**3 - 3 * x,
                lambda x: 8 * x**4 - 8 * x**2 + 1,
                lambda x: 16 * x**5 - 20 * x**3 + 5 * x,
            ]

        def forward(self, input: Any, label: Any) -> Any:  # noqa: A002
            # lambda = max(lambda_min,base*(1+gamma*iteration)^(-power))
            self.iter += 1
            self.lamb = max(
                self.LambdaMin, self.base * (1 + self.gamma * self.iter) ** (-1 * self.power)
            )

            # --------------------------- cos(theta) & phi(theta) ---------------------------
            cos_theta = F.linear(F.normalize(input), F.normalize(self.weight))
            cos_theta = cos_theta.clamp(-1, 1)
            cos_m_theta = self.mlambda[self.m](cos_theta)
            theta = cos_theta.data.acos()
            k = (self.m * theta / 3.14159265).floor()
            phi_theta = ((-1.0) ** k) * cos_m_theta - 2 * k
            NormOfFeature = torch.norm(input, 2, 1)

            # --------------------------- convert label to one-hot ---------------------------
            one_hot = torch.zeros(cos_theta.size())
            one_hot = one_hot.cuda() if cos_theta.is_cuda else one_hot
            one_hot.scatter_(1, label.view(-1, 1), 1)

            # --------------------------- Calculate output ---------------------------
            output = (one_hot * (phi_theta - cos_theta) / (1 + self.lamb)) + cos_theta
            output *= NormOfFeature.view(-1, 1)

            return output

    class CombinedMarginLoss(torch.nn.Module):
        def __init__(
            self,
            s: float,
            m1: float,
            m2: float,
            m3: float,
            interclass_filtering_threshold: float = 0,
        ) -> None:
            super().__init__()
            self.s = s
            self.m1 = m1
            self.m2 = m2
            self.m3 = m3
            self.interclass_filtering_threshold = interclass_filtering_threshold

            # For ArcFace
            self.cos_m = math.cos(self.m2)
            self.sin_m = math.sin(self.m2)
            self.theta = math.cos(math.pi - self.m2)
            self.sinmm = math.sin(math.pi - self.m2) * self.m2
            self.easy_margin = False

        def forward(self, logits: Any, labels: Any) -> Any:
            index_positive = torch.where(labels != -1)[0]

            target_logit = logits[index_positive, labels[index_positive].view(-1)]

            if self.m1 == 1.0 and self.m3 == 0.0:
                with torch.no_grad():
                    target_logit.arccos_()
                    logits.arccos_()
                    final_target_logit = target_logit + self.m2
                    logits[index_positive, labels[index_positive].view(-1)] = final_target_logit
                    logits.cos_()
                logits = logits * self.s

            elif self.m3 > 0:
                final_target_logit = target_logit - self.m3
                logits[index_positive, labels[index_positive].view(-1)] = final_target_logit
                logits = logits * self.s
            else:
                raise Exception("unsupported margin combination")

            return logits

    class FCHead(torch.nn.Module):
        """arcface_torch's single-GPU classifier: normalised linear logits, clamped."""

        def __init__(self, margin_loss: Any, embedding_size: int, num_classes: int) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.normal(0, 0.01, (num_classes, embedding_size)))
            self.margin_softmax = margin_loss
            self.cross_entropy = torch.nn.CrossEntropyLoss()

        def forward(self, embeddings: Any, labels: Any) -> Any:
            norm_embeddings = F.normalize(embeddings)
            norm_weight_activated = F.normalize(self.weight)
            logits = F.linear(norm_embeddings, norm_weight_activated)
            logits = logits.clamp(-1, 1)
            logits = self.margin_softmax(logits, labels)
            return self.cross_entropy(logits, labels)

    class Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(IN_DIM, 8)
            self.bn1 = nn.BatchNorm1d(8)
            self.prelu = nn.PReLU()
            self.fc5 = nn.Linear(8, EMB)
            self.features = nn.BatchNorm1d(EMB, eps=1e-05)
            nn.init.constant_(self.features.weight, 1.0)
            self.features.weight.requires_grad = False

        def forward(self, x: Any) -> Any:
            x = self.prelu(self.bn1(self.fc1(x)))
            return self.features(self.fc5(x))

    return {
        "Backbone": Backbone,
        "ArcMarginProduct": ArcMarginProduct,
        "AddMarginProduct": AddMarginProduct,
        "SphereProduct": SphereProduct,
        "CombinedMarginLoss": CombinedMarginLoss,
        "FCHead": FCHead,
    }


def make_model(torch_like: Any) -> Any:
    c = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "backbone": c["Backbone"](),
            "arc": c["ArcMarginProduct"](EMB, N_CLASSES, s=30, m=0.5, easy_margin=False),
            "arc_easy": c["ArcMarginProduct"](EMB, N_CLASSES, s=30, m=0.5, easy_margin=True),
            "cos": c["AddMarginProduct"](EMB, N_CLASSES, s=30, m=0.35),
            "sphere": c["SphereProduct"](EMB, N_CLASSES, m=4),
            "arcface_torch": c["FCHead"](
                c["CombinedMarginLoss"](64.0, 1.0, 0.5, 0.0), EMB, N_CLASSES
            ),
            "cosface_torch": c["FCHead"](
                c["CombinedMarginLoss"](64.0, 1.0, 0.0, 0.4), EMB, N_CLASSES
            ),
        }
    )


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centers = rng.standard_normal((N_CLASSES, IN_DIM)) * 2.0
    labels = np.tile(np.arange(N_CLASSES), 4)
    x = centers[labels] + 0.5 * rng.standard_normal((labels.size, IN_DIM))
    return x.astype(np.float32), labels.astype(np.int64)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x_np, y_np = _data(rng)
    values: list[float] = []

    for head in ("arc", "arc_easy", "cos", "sphere", "arcface_torch", "cosface_torch"):
        models = make_model(torch_like)
        if init is not None:
            models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
        model, metric_fc = models["backbone"], models[head]
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(
            [{"params": model.parameters()}, {"params": metric_fc.parameters()}],
            lr=1e-1,
            weight_decay=5e-4,
        )
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
        model.train()
        for _i in range(3):
            data_input = as_tensor(torch, x_np)
            label = as_tensor(torch, y_np).long()
            feature = model(data_input)
            if head.endswith("_torch"):
                loss = metric_fc(feature, label)
                output = None
            else:
                output = metric_fc(feature, label)
                loss = criterion(output, label)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            values.append(loss.item())
            if output is not None:
                output = output.data.cpu().numpy()
                output = np.argmax(output, axis=1)
                label = label.data.cpu().numpy()
                acc = np.mean((output == label).astype(int))
                values.append(float(acc))
        values.append(metric_fc.weight.detach().abs().sum().item())

        # test.py: pair verification with cosine scores and the best-threshold sweep
        model.eval()
        with torch.no_grad():
            feats = model(as_tensor(torch, x_np))
            i, j = torch.triu_indices(len(y_np), len(y_np), offset=1)
            scores = F.cosine_similarity(feats[i], feats[j])
            same = as_tensor(torch, y_np)[i] == as_tensor(torch, y_np)[j]
            y_test = scores[None, :] >= scores[:, None]  # row t: threshold scores[t]
            acc = (y_test == same[None, :]).float().mean(1)
            best_acc = acc.max()
            best_th = scores[acc == best_acc].max()  # the highest of the tied best thresholds
            values += [best_acc.item(), scores.sum().item(), best_th.item()]
    values.append(
        float(
            repr(make_model(torch_like)["cos"])
            == "AddMarginProduct(in_features=4, out_features=5, s=30, m=0.35)"
        )
    )
    return values
