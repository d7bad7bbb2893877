"""Neural collaborative filtering on explicit ratings turned implicit, as the MovieLens NCF
blog tutorials and course notebooks write the data side (where ``ncf_recommender`` follows
guoyang9/NCF's fixed negative sampling), size-reduced.

The idioms: a ``Dataset`` subclass (``__len__``, ``__getitem__`` returning ``(user, item,
label)`` tensors) over interactions; ``torch.utils.data.random_split(dataset, [n_train,
n_val], generator=torch.Generator().manual_seed(42))`` and the ``Subset.indices`` read back to
compute class weights; the class-balanced ``WeightedRandomSampler`` (``class_count =
torch.bincount(labels)``, ``class_weights = 1.0 / class_count.float()``, ``sample_weights =
class_weights[labels]``, ``WeightedRandomSampler(weights=sample_weights,
num_samples=len(sample_weights), replacement=True, generator=...)``) in a ``DataLoader(train_set,
batch_size=..., sampler=sampler)``; the NeuMF model (GMF ``user_emb * item_emb`` beside the MLP
tower over ``torch.cat([u, i], dim=-1)``, ``nn.init.normal_(std=0.01)`` embeddings,
``self.predict = nn.Linear(...)``, ``.squeeze(-1)``); ``nn.BCEWithLogitsLoss(pos_weight=...)``
and ``torch.optim.Adam`` with ``weight_decay``; the drawn labels' balance checked with
``labels.float().mean()``; evaluation on the validation subset (``torch.sigmoid``,
``(probs > 0.5).long()``, precision/recall from boolean masks) and hit ratio@K per user with
``torch.topk`` over all items and ``torch.isin``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
N_USERS, N_ITEMS, FACTORS = 8, 12, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class NeuMF(nn.Module):
        def __init__(self, num_users: int, num_items: int, factor_num: int) -> None:
            super().__init__()
            self.embed_user_GMF = nn.Embedding(num_users, factor_num)
            self.embed_item_GMF = nn.Embedding(num_items, factor_num)
            self.embed_user_MLP = nn.Embedding(num_users, factor_num * 2)
            self.embed_item_MLP = nn.Embedding(num_items, factor_num * 2)
            self.MLP_layers = nn.Sequential(
                nn.Linear(factor_num * 4, factor_num * 2),
                nn.ReLU(),
                nn.Linear(factor_num * 2, factor_num),
                nn.ReLU(),
            )
            self.predict = nn.Linear(factor_num * 2, 1)
            for emb in (
                self.embed_user_GMF,
                self.embed_item_GMF,
                self.embed_user_MLP,
                self.embed_item_MLP,
            ):
                nn.init.normal_(emb.weight, std=0.01)

        def forward(self, user: Any, item: Any) -> Any:
            output_GMF = self.embed_user_GMF(user) * self.embed_item_GMF(item)
            interaction = torch.cat([self.embed_user_MLP(user), self.embed_item_MLP(item)], dim=-1)
            output_MLP = self.MLP_layers(interaction)
            return self.predict(torch.cat([output_GMF, output_MLP], dim=-1)).squeeze(-1)

    return NeuMF(N_USERS, N_ITEMS, FACTORS)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    data = torch.utils.data
    rng = np.random.default_rng(9)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    # ratings 1..5 of a random third of the (user, item) pairs; "liked" means rating >= 4
    pairs = [(u, i) for u in range(N_USERS) for i in range(N_ITEMS) if rng.random() < 0.4]
    ratings = rng.integers(1, 6, len(pairs))
    ratings[[k for k, (u, i) in enumerate(pairs) if (u + i) % 3 == 0]] = 5

    class RatingsDataset(data.Dataset):
        def __init__(self, pairs: list, ratings: np.ndarray) -> None:
            self.users = torch.tensor([u for u, _ in pairs])
            self.items = torch.tensor([i for _, i in pairs])
            self.labels = torch.tensor((ratings >= 4).astype(np.int64))

        def __len__(self) -> int:
            return len(self.users)

        def __getitem__(self, idx: int) -> tuple[Any, Any, Any]:
            return self.users[idx], self.items[idx], self.labels[idx]

    dataset = RatingsDataset(pairs, ratings)
    n_train = int(0.8 * len(dataset))
    train_set, val_set = data.random_split(
        dataset, [n_train, len(dataset) - n_train], generator=torch.Generator().manual_seed(42)
    )
    values += [len(train_set), len(val_set), sum(val_set.indices[:5])]

    train_labels = dataset.labels[train_set.indices]
    class_count = torch.bincount(train_labels)
    class_weights = 1.0 / class_count.float()
    sample_weights = class_weights[train_labels]
    sampler = data.WeightedRandomSampler(
        weights=sample_weights,
        num_samples=len(sample_weights),
        replacement=True,
        generator=torch.Generator().manual_seed(0),
    )
    train_loader = data.DataLoader(train_set, batch_size=8, sampler=sampler)
    val_loader = data.DataLoader(val_set, batch_size=16, shuffle=False)
    values += class_count.tolist()

    pos_weight = class_count[0] / class_count[1]
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight.to(torch.get_default_dtype()))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
    for _epoch in range(3):
        model.train()
        drawn = []
        for user, item, label in train_loader:
            optimizer.zero_grad()
            prediction = model(user, item)
            loss = criterion(prediction, label.float())
            loss.backward()
            optimizer.step()
            values.append(loss.item())
            drawn.append(label)
        values.append(torch.cat(drawn).float().mean().item())

    model.eval()
    with torch.no_grad():
        tp = fp = fn = 0
        for user, item, label in val_loader:
            probs = torch.sigmoid(model(user, item))
            pred = (probs > 0.5).long()
            tp += int(((pred == 1) & (label == 1)).sum())
            fp += int(((pred == 1) & (label == 0)).sum())
            fn += int(((pred == 0) & (label == 1)).sum())
            values += probs.tolist()
        values += [tp, fp, fn]

        # hit ratio@3: is a held-out liked item among each user's top 3 unseen items?
        hits = []
        all_items = torch.arange(N_ITEMS)
        for u in range(N_USERS):
            scores = model(torch.full((N_ITEMS,), u, dtype=torch.long), all_items)
            _, top = torch.topk(scores, 3)
            liked = torch.tensor([i for (uu, i), r in zip(pairs, ratings) if uu == u and r >= 4])
            hits.append(float(torch.isin(top, liked).any()))
        values += hits
    return values
