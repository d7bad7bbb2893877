"""The Kaggle house-price notebook of "Dive into Deep Learning" (d2l.ai, PyTorch edition 0.17,
section 4.10 "Predicting House Prices on Kaggle"), size-reduced.

The idioms: the preprocessed features read as ``torch.tensor(all_features[:n_train].values,
dtype=torch.float32)`` and the labels as ``torch.tensor(train_data.SalePrice.values.reshape(-1,
1), dtype=torch.float32)``; ``loss = nn.MSELoss()``; ``get_net``'s ``nn.Sequential(
nn.Linear(in_features,1))``; ``log_rmse`` (``clipped_preds = torch.clamp(net(features), 1,
float('inf'))``, ``torch.sqrt(loss(torch.log(clipped_preds), torch.log(labels)))``,
``rmse.item()``); ``train`` with ``d2l.load_array((train_features, train_labels), batch_size)``
(``data.TensorDataset(*data_arrays)``, ``data.DataLoader(dataset, batch_size,
shuffle=is_train)``) and ``torch.optim.Adam(net.parameters(), lr = learning_rate, weight_decay
= weight_decay)``; ``get_k_fold_data`` (``slice(j * fold_size, (j + 1) * fold_size)``,
``X[idx, :], y[idx]``, ``torch.cat([X_train, X_part], 0)``); ``k_fold``'s ``train_l_sum +=
train_ls[-1]`` over the folds; ``train_and_pred``'s ``net(test_features).detach().numpy()`` and
``preds.reshape(1, -1)[0]``; and the 1.0 edition's ensemble ``torch.exp(torch.cat(preds,
1)).mean(1)`` over the fold models.

Changed: the 1460x79 Kaggle CSV -> 40 seeded houses with 4 numeric and 1 categorical feature,
preprocessed in NumPy as the notebook's pandas code does (``(x - x.mean()) / (x.std())``, the
missing values filled with 0, one-hot ``get_dummies(..., dummy_na=True)``); k = 5 -> 4, 100
epochs -> 3, batch 64 -> 8, lr 5 -> 1. The weights come from ``torch.manual_seed`` in both runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"


def init_state(tmp_path: Any) -> None:
    """No shared state: the initial weights come from the same seed in both runs."""
    return None


def _features(rng: np.random.Generator) -> tuple:
    n_train, n_test = 32, 8
    n = n_train + n_test
    numeric = rng.normal(size=(n, 4)) * [10.0, 2.0, 300.0, 1.0] + [50.0, 3.0, 1500.0, 0.0]
    numeric[rng.random((n, 4)) < 0.1] = np.nan
    zone = rng.choice(["RL", "RM", "FV", ""], size=n)  # "" is a missing category
    price = np.exp(11.5 + 0.02 * np.nan_to_num(numeric[:, 0]) + 0.1 * rng.normal(size=n))
    # pandas: features[numeric].apply(lambda x: (x - x.mean()) / (x.std())), fillna(0)
    mean, std = np.nanmean(numeric, 0), np.nanstd(numeric, 0, ddof=1)
    numeric = np.nan_to_num((numeric - mean) / std, nan=0.0)
    # pd.get_dummies(features, dummy_na=True)
    dummies = np.stack([zone == c for c in ("FV", "RL", "RM", "")], 1).astype(float)
    all_features = np.concatenate([numeric, dummies], 1)
    return all_features, price[:n_train], n_train


def run(torch_like: Any, init: None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    data = torch.utils.data
    all_features, sale_price, n_train = _features(np.random.default_rng(410))
    train_features = torch.tensor(all_features[:n_train], dtype=torch.float32)
    test_features = torch.tensor(all_features[n_train:], dtype=torch.float32)
    train_labels = torch.tensor(sale_price.reshape(-1, 1), dtype=torch.float32)
    loss = nn.MSELoss()
    in_features = train_features.shape[1]
    values: list[float] = []

    def get_net():  # noqa: ANN202
        net = nn.Sequential(nn.Linear(in_features,1))  # fmt: skip
        return net

    def log_rmse(net, features, labels):  # noqa: ANN001,ANN202
        # To further stabilize the value when the logarithm is taken, set the
        # value less than 1 as 1
        clipped_preds = torch.clamp(net(features), 1, float("inf"))
        rmse = torch.sqrt(loss(torch.log(clipped_preds),
                               torch.log(labels)))  # fmt: skip
        return rmse.item()

    def load_array(data_arrays, batch_size, is_train=True):  # noqa: ANN001,ANN202
        """Construct a PyTorch data iterator."""
        dataset = data.TensorDataset(*data_arrays)
        return data.DataLoader(dataset, batch_size, shuffle=is_train)

    def train(net, train_features, train_labels, test_features, test_labels,
              num_epochs, learning_rate, weight_decay, batch_size):  # noqa: ANN001,ANN202 # fmt: skip
        train_ls, test_ls = [], []
        train_iter = load_array((train_features, train_labels), batch_size)
        # The Adam optimization algorithm is used here
        optimizer = torch.optim.Adam(net.parameters(),
                                     lr = learning_rate,
                                     weight_decay = weight_decay)  # fmt: skip
        for _epoch in range(num_epochs):
            for X, y in train_iter:
                optimizer.zero_grad()
                l = loss(net(X), y)  # noqa: E741
                l.backward()
                optimizer.step()
            train_ls.append(log_rmse(net, train_features, train_labels))
            if test_labels is not None:
                test_ls.append(log_rmse(net, test_features, test_labels))
        return train_ls, test_ls

    def get_k_fold_data(k, i, X, y):  # noqa: ANN001,ANN202
        assert k > 1
        fold_size = X.shape[0] // k
        X_train, y_train = None, None
        for j in range(k):
            idx = slice(j * fold_size, (j + 1) * fold_size)
            X_part, y_part = X[idx, :], y[idx]
            if j == i:
                X_valid, y_valid = X_part, y_part
            elif X_train is None:
                X_train, y_train = X_part, y_part
            else:
                X_train = torch.cat([X_train, X_part], 0)
                y_train = torch.cat([y_train, y_part], 0)
        return X_train, y_train, X_valid, y_valid

    models = []

    def k_fold(k, X_train, y_train, num_epochs, learning_rate, weight_decay,
               batch_size):  # noqa: ANN001,ANN202 # fmt: skip
        train_l_sum, valid_l_sum = 0, 0
        for i in range(k):
            data = get_k_fold_data(k, i, X_train, y_train)
            net = get_net()
            train_ls, valid_ls = train(net, *data, num_epochs, learning_rate,
                                       weight_decay, batch_size)  # fmt: skip
            train_l_sum += train_ls[-1]
            valid_l_sum += valid_ls[-1]
            values.extend(train_ls + valid_ls)
            models.append(net)
        return train_l_sum / k, valid_l_sum / k

    torch.manual_seed(0)
    k, num_epochs, lr, weight_decay, batch_size = 4, 3, 1, 0, 8
    train_l, valid_l = k_fold(k, train_features, train_labels, num_epochs, lr,
                              weight_decay, batch_size)  # fmt: skip
    values += [train_l, valid_l]

    def train_and_pred(train_features, test_features, train_labels,
                       num_epochs, lr, weight_decay, batch_size):  # noqa: ANN001,ANN202 # fmt: skip
        net = get_net()
        train_ls, _ = train(net, train_features, train_labels, None, None,
                            num_epochs, lr, weight_decay, batch_size)  # fmt: skip
        values.append(train_ls[-1])
        # Apply the network to the test set
        preds = net(test_features).detach().numpy()
        # Reformat it to export to Kaggle
        return preds.reshape(1, -1)[0]

    preds = train_and_pred(train_features, test_features, train_labels,
                           num_epochs, lr, weight_decay, batch_size)  # fmt: skip
    values += preds.tolist()
    with torch.no_grad():
        fold_preds = [model(test_features) for model in models]
        ensemble_preds = torch.exp(torch.cat(fold_preds, 1)).mean(1)
    values += ensemble_preds.tolist()
    return values
