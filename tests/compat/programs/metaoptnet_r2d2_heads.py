"""Few-shot classification with differentiable closed-form heads as kjunelee/MetaOptNet writes
it (``models/classification_heads.py``: ``R2D2Head`` and ``ProtoNetHead`` behind
``ClassificationHead``; ``train.py``'s episode step), size-reduced.

The idioms kept: ``computeGramMatrix`` (``torch.bmm(A, B.transpose(1,2))`` with its shape
asserts); ``one_hot`` (``torch.zeros(indices.size() + torch.Size([depth]))``,
``indices.view(indices.size()+torch.Size([1]))``, ``scatter_(1,index,1)``); ``binv``
(``b_mat.new_ones(b_mat.size(-1)).diag().expand_as(b_mat)`` and a batched solve); the ridge
regression's dual solution (``torch.eye(n_support).expand(tasks_per_batch, n_support,
n_support)``, ``computeGramMatrix(support, support) + l2_regularizer_lambda * id_matrix``,
``torch.bmm(support.transpose(1,2), ridge_sol)``, ``torch.bmm(query, ridge_sol)``); the
prototype head (``labels_train_transposed = support_labels_one_hot.transpose(1,2)``,
``prototypes.div(labels_train_transposed.sum(dim=2, keepdim=True).expand_as(prototypes))``,
the distance trick ``AA.expand_as(AB) - 2 * AB + BB.expand_as(AB)`` and ``logits / d``);
``ClassificationHead``'s learnable ``self.scale = nn.Parameter(torch.FloatTensor([1.0]))``;
the embedding of ``data_support.reshape([-1] + list(data_support.shape[-3:]))``; the smoothed
one-hot loss (``smoothed_one_hot * (1 - eps) + (1 - smoothed_one_hot) * eps / (train_way -
1)``, ``-(smoothed_one_hot * log_prb).sum(dim=1)``), ``count_accuracy`` (``100 *
pred.eq(label).float().mean()``); SGD over two parameter groups with ``nesterov=True`` and
``weight_decay=5e-4`` under a ``LambdaLR``.

Changed: ``torch.gesv(id_matrix, b_mat)`` (removed from PyTorch) is ``torch.linalg.solve(b_mat,
id_matrix)``; ``.cuda()`` dropped; the SVM heads (qpth) are left out; ResNet-12 is two
conv-BN-ReLU-pool blocks on 8x8 single-channel images of NumPy data, 3-way 2-shot episodes with
3 queries per class, 2 episodes per batch; the R2D2 and ProtoNet heads alternate by step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

WAY, SHOT, QUERY, EPISODES, IMG = 3, 2, 3, 2, 8


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def conv_block(in_c, out_c):
        return nn.Sequential(
            nn.Conv2d(in_c, out_c, 3, padding=1), nn.BatchNorm2d(out_c), nn.ReLU(), nn.MaxPool2d(2)
        )

    class ClassificationHead(nn.Module):
        def __init__(self, enable_scale=True):
            super().__init__()
            self.enable_scale = enable_scale
            # Add a learnable scale
            self.scale = nn.Parameter(torch.FloatTensor([1.0]))

    class MetaOptNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding_net = nn.Sequential(conv_block(1, 4), conv_block(4, 4), nn.Flatten())
            self.cls_head = ClassificationHead()

    return MetaOptNet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional

    def computeGramMatrix(A, B):
        assert A.dim() == 3
        assert B.dim() == 3
        assert A.size(0) == B.size(0) and A.size(2) == B.size(2)
        return torch.bmm(A, B.transpose(1, 2))

    def binv(b_mat):
        id_matrix = b_mat.new_ones(b_mat.size(-1)).diag().expand_as(b_mat)
        b_inv = torch.linalg.solve(b_mat, id_matrix)
        return b_inv

    def one_hot(indices, depth):
        encoded_indicies = torch.zeros(indices.size() + torch.Size([depth]))
        index = indices.view(indices.size() + torch.Size([1]))
        encoded_indicies = encoded_indicies.scatter_(1, index, 1)
        return encoded_indicies

    def R2D2Head(query, support, support_labels, n_way, n_shot, l2_regularizer_lambda=50.0):
        tasks_per_batch = query.size(0)
        n_support = support.size(1)
        assert query.dim() == 3
        assert support.dim() == 3
        assert query.size(0) == support.size(0) and query.size(2) == support.size(2)
        assert n_support == n_way * n_shot  # n_support must equal to n_way * n_shot
        support_labels_one_hot = one_hot(support_labels.view(tasks_per_batch * n_support), n_way)
        support_labels_one_hot = support_labels_one_hot.view(tasks_per_batch, n_support, n_way)
        id_matrix = torch.eye(n_support).expand(tasks_per_batch, n_support, n_support)
        # Compute the dual form solution of the ridge regression.
        # W = X^T(X X^T - lambda * I)^(-1) Y
        ridge_sol = computeGramMatrix(support, support) + l2_regularizer_lambda * id_matrix
        ridge_sol = binv(ridge_sol)
        ridge_sol = torch.bmm(support.transpose(1, 2), ridge_sol)
        ridge_sol = torch.bmm(ridge_sol, support_labels_one_hot)
        # Compute the classification score.
        # score = W X
        logits = torch.bmm(query, ridge_sol)
        return logits

    def ProtoNetHead(query, support, support_labels, n_way, n_shot, normalize=True):
        tasks_per_batch = query.size(0)
        n_support = support.size(1)
        d = query.size(2)
        support_labels_one_hot = one_hot(support_labels.view(tasks_per_batch * n_support), n_way)
        support_labels_one_hot = support_labels_one_hot.view(tasks_per_batch, n_support, n_way)
        labels_train_transposed = support_labels_one_hot.transpose(1, 2)
        prototypes = torch.bmm(labels_train_transposed, support)
        # Divide with the number of examples per novel category.
        prototypes = prototypes.div(
            labels_train_transposed.sum(dim=2, keepdim=True).expand_as(prototypes)
        )
        # Distance Matrix Vectorization Trick
        AB = computeGramMatrix(query, prototypes)
        AA = (query * query).sum(dim=2, keepdim=True)
        BB = (prototypes * prototypes).sum(dim=2, keepdim=True).reshape(tasks_per_batch, 1, n_way)
        logits = AA.expand_as(AB) - 2 * AB + BB.expand_as(AB)
        logits = -logits
        if normalize:
            logits = logits / d
        return logits

    def count_accuracy(logits, label):
        pred = torch.argmax(logits, dim=1).view(-1)
        label = label.view(-1)
        accuracy = 100 * pred.eq(label).float().mean()
        return accuracy

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    embedding_net, cls_head = model.embedding_net, model.cls_head
    optimizer = torch.optim.SGD(
        [{"params": embedding_net.parameters()}, {"params": cls_head.parameters()}],
        lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True,
    )  # fmt: skip

    def lambda_epoch(e):
        return 1.0 if e < 2 else (0.06 if e < 4 else 0.012)

    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_epoch)
    rng = np.random.default_rng(21)
    centers = rng.normal(size=(8, 1, IMG, IMG))
    eps = 0.1
    train_n_support, train_n_query = WAY * SHOT, WAY * QUERY
    out: list[float] = []
    for step in range(5):
        classes = np.stack([rng.choice(8, WAY, replace=False) for _ in range(EPISODES)])
        lab_s = np.tile(np.repeat(np.arange(WAY), SHOT), (EPISODES, 1))
        lab_q = np.tile(np.repeat(np.arange(WAY), QUERY), (EPISODES, 1))
        img_s = centers[np.take_along_axis(classes, lab_s, 1)] + 0.5 * rng.normal(
            size=(EPISODES, train_n_support, 1, IMG, IMG)
        )
        img_q = centers[np.take_along_axis(classes, lab_q, 1)] + 0.5 * rng.normal(
            size=(EPISODES, train_n_query, 1, IMG, IMG)
        )
        data_support, data_query = as_tensor(torch, img_s), as_tensor(torch, img_q)
        labels_support, labels_query = as_tensor(torch, lab_s), as_tensor(torch, lab_q)

        emb_support = embedding_net(data_support.reshape([-1] + list(data_support.shape[-3:])))
        emb_support = emb_support.reshape(EPISODES, train_n_support, -1)
        emb_query = embedding_net(data_query.reshape([-1] + list(data_query.shape[-3:])))
        emb_query = emb_query.reshape(EPISODES, train_n_query, -1)
        head = R2D2Head if step % 2 == 0 else ProtoNetHead
        logit_query = cls_head.scale * head(emb_query, emb_support, labels_support, WAY, SHOT)

        smoothed_one_hot = one_hot(labels_query.reshape(-1), WAY)
        smoothed_one_hot = smoothed_one_hot * (1 - eps) + (1 - smoothed_one_hot) * eps / (WAY - 1)
        log_prb = F.log_softmax(logit_query.reshape(-1, WAY), dim=1)
        loss = -(smoothed_one_hot * log_prb).sum(dim=1)
        loss = loss.mean()
        acc = count_accuracy(logit_query.reshape(-1, WAY), labels_query.reshape(-1))

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        out += [loss.item(), acc.item(), cls_head.scale.item()]
    return out
