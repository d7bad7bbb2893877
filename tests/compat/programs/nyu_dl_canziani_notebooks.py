"""NYU Deep Learning (Alfredo Canziani and Yann LeCun, ``Atcold/NYU-DLSP20``) notebooks,
size-reduced. ``02-space_stretching``: ``X = torch.randn(n_points, 2).to(device)``, ``OI =
torch.cat((torch.zeros(2, 2), torch.eye(2))).to(device)``, random linear maps with ``U, S, V =
torch.svd(W)`` and ``Y = X @ W.t()``, and the untrained ``nn.Sequential(nn.Linear(2, NL_NUM,
bias=False), nn.Tanh())`` stretching built under ``torch.no_grad()`` (``model[0].weight.data *=
s``, ``Y = model(X).data``). ``04-spiral_classification``: ``random.seed(seed)``,
``torch.manual_seed(seed)``, the spiral built row by row (``torch.linspace((2 * math.pi / C) *
(c), (2 * math.pi / C) * (2 + c), N) + torch.randn(N) * 0.2``, ``X[ix] = t[index] *
torch.FloatTensor((math.sin(inner_var[index]), math.cos(inner_var[index])))``), the linear and
the two-layer ``nn.Sequential`` models trained with ``torch.optim.Adam(model.parameters(),
lr=learning_rate, weight_decay=lambda_l2)``, ``score, predicted = torch.max(y_pred, 1)``, ``acc =
(y == predicted).sum().float() / len(y)`` printed with ``"[EPOCH]: %i, [LOSS]: %.6f,
[ACCURACY]: %.3f" % (t, loss.item(), acc)``, ``print(model)``, and ``plot_lib.plot_model``'s
``np.meshgrid`` grid with ``Z = np.argmax(Z, axis=1).reshape(xx.shape)`` (a NumPy function on a
tensor). ``05-regression``: an ensemble of ``nn.ReLU``/``nn.Tanh`` regressors trained with
``nn.MSELoss`` and ``torch.optim.Adam(..., weight_decay=...)``, predictions gathered with
``y_pretrain.append(model(X).detach())`` and ``torch.stack(y_pretrain)``, ``.mean(dim=0)`` /
``.std(dim=0)``. ``08-seq_classification``: ``SimpleRNN`` (``torch.nn.RNN(input_size,
hidden_size, nonlinearity='relu', batch_first=True)``, ``h = self.rnn(x)[0]``) and
``SimpleLSTM`` (``torch.nn.LSTM(..., batch_first=True)``), ``train``/``test`` on
``torch.from_numpy(data).float()`` one-hot sequences with ``output[:, -1, :]`` and
``target.argmax(dim=1)``, ``torch.optim.RMSprop(model.parameters(), lr=0.001)``,
``train_and_test`` with its ``history_train = {'loss': [], 'acc': []}`` and the accuracy
``float(num_correct) / (len(train_data_gen) * train_data_gen.batch_size) * 100``.

Changed: 1000 points, 3 classes, 100 hidden units -> 20, 3, 16; 1000 epochs -> 15 (spiral),
200 -> 10 (regression); ``res/sequential_tasks.TemporalOrderExp6aSequence`` becomes a small
seeded NumPy generator of the same task (the order of two relevant symbols X/Y among
distractors decides one of 4 classes), 8 batches -> 3, 10 epochs -> 3. The models are built
from the frameworks' own ``torch.manual_seed`` (chainrule reproduces PyTorch's default
generator), so no initial state is passed in.
"""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import numpy as np

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5


class TemporalOrderSequence:
    """``TemporalOrderExp6aSequence`` in miniature: batches of one-hot symbol sequences whose
    class is the order of the two relevant symbols (XX, XY, YX, YY)."""

    symbols = ["a", "b", "c", "d", "X", "Y", "B", "E"]
    classes = ["Q", "R", "S", "U"]

    def __init__(self, length: int, batch_size: int, n_batches: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.length, self.batch_size, self.n_batches = length, batch_size, n_batches
        self.n_symbols, self.n_classes = len(self.symbols), len(self.classes)
        self.batches = [self._batch() for _ in range(n_batches)]

    def _batch(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros((self.batch_size, self.length, self.n_symbols))
        y = np.zeros((self.batch_size, self.n_classes))
        for i in range(self.batch_size):
            seq = list(self.rng.integers(0, 4, self.length))
            seq[0], seq[-1] = 6, 7  # B ... E
            p1, p2 = sorted(self.rng.choice(np.arange(1, self.length - 1), 2, replace=False))
            s1, s2 = self.rng.integers(4, 6, 2)
            seq[p1], seq[p2] = s1, s2
            x[i, np.arange(self.length), seq] = 1.0
            y[i, 2 * (s1 - 4) + (s2 - 4)] = 1.0
        return x, y

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.batches[index]


def run(torch_like: Any, init: None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    values: list[float] = []

    # ------------------------------------------------------------ 02-space_stretching
    torch.manual_seed(0)
    n_points = 50
    X = torch.randn(n_points, 2).to(device)
    colors = X[:, 0]
    OI = torch.cat((torch.zeros(2, 2), torch.eye(2))).to(device)
    values.extend([colors.sum().item(), OI.sum().item()])
    for _i in range(3):
        # create a random matrix
        W = torch.randn(2, 2).to(device)
        # transform points
        Y = X @ W.t()
        # compute singular values
        U, S, V = torch.svd(W)
        # plot transformed points
        values.extend(S.tolist() + [Y.abs().sum().item()])
        # reconstruct the map from its decomposition
        assert torch.allclose(U @ torch.diag(S) @ V.t(), W, atol=1e-5)

    NL_NUM = 5
    model = nn.Sequential(nn.Linear(2, NL_NUM, bias=False), nn.Tanh())
    model.to(device)
    for s in range(1, 4):
        W = s * torch.eye(2)
        model[0].weight.data.copy_(torch.cat((W, torch.zeros(NL_NUM - 2, 2))))
        with torch.no_grad():
            Y = model(X).data
        values.append(Y[:, :2].abs().mean().item())
    with torch.no_grad():
        model[0].weight.data *= 2
        values.append(model(X).data.abs().max().item())

    # ------------------------------------------------------------ 04-spiral_classification
    seed = 12345
    random.seed(seed)
    torch.manual_seed(seed)
    N = 20  # num_samples_per_class
    D = 2  # dimensions
    C = 3  # num_classes
    H = 16  # num_hidden_units
    X = torch.zeros(N * C, D).to(device)
    y = torch.zeros(N * C, dtype=torch.long).to(device)
    for c in range(C):
        index = 0
        t = torch.linspace(0, 1, N)
        # When c = 0 and t = 0: start of linspace
        # When c = 0 and t = 1: end of linpace
        # This inner_var is for the formula inside sin() and cos() like sin(inner_var) and
        # cos(inner_Var)
        inner_var = (
            torch.linspace((2 * math.pi / C) * (c), (2 * math.pi / C) * (2 + c), N)
            + torch.randn(N) * 0.2
        )
        for ix in range(N * c, N * (c + 1)):
            X[ix] = t[index] * torch.FloatTensor(
                (math.sin(inner_var[index]), math.cos(inner_var[index]))
            )
            y[ix] = c
            index += 1
    values.extend([X.sum().item(), X.abs().max().item(), y.sum().item()])

    learning_rate = 1e-2
    lambda_l2 = 1e-5

    def plot_model(X: Any, y: Any, model: Any) -> np.ndarray:
        model.cpu()
        mesh = np.arange(-1.1, 1.1, 0.1)
        xx, yy = np.meshgrid(mesh, mesh)
        with torch.no_grad():
            data = torch.from_numpy(np.vstack((xx.reshape(-1), yy.reshape(-1))).T).float()
            Z = model(data).detach()
        with warnings.catch_warnings():  # PyTorch's __array_wrap__ is deprecated in NumPy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            Z = np.argmax(Z, axis=1).reshape(xx.shape)
        return np.asarray(Z)

    for hidden in (False, True):
        # nn package to create our linear model, each Linear module has a weight and bias
        if hidden:
            model = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C))
        else:
            model = nn.Sequential(nn.Linear(D, H), nn.Linear(H, C))
        model.to(device)  # Convert to CUDA
        # nn package also has different loss functions.
        # we use cross entropy loss for our classification task
        criterion = torch.nn.CrossEntropyLoss()
        # we use the optim package to apply
        # stochastic gradient descent for our parameter updates
        optimizer = torch.optim.Adam(
            model.parameters(), lr=learning_rate, weight_decay=lambda_l2
        )  # built-in L2
        # Training
        for t in range(15):
            # Feed forward to get the logits
            y_pred = model(X)
            # Compute the loss and accuracy
            loss = criterion(y_pred, y)
            score, predicted = torch.max(y_pred, 1)
            acc = (y == predicted).sum().float() / len(y)
            line = "[EPOCH]: %i, [LOSS]: %.6f, [ACCURACY]: %.3f" % (  # noqa: UP031
                t,
                loss.item(),
                acc,
            )
            assert line.startswith(f"[EPOCH]: {t}, [LOSS]: ")
            values.extend([loss.item(), acc.item(), score.sum().item()])
            # zero the gradients before running
            # the backward pass.
            optimizer.zero_grad()
            # Backward pass to compute the gradient
            # of loss w.r.t our learnable params.
            loss.backward()
            # Update params
            optimizer.step()
        assert str(model).startswith("Sequential(\n  (0): Linear(in_features=2, out_features=16")
        Z = plot_model(X, y, model)
        values.extend(np.bincount(Z.ravel(), minlength=C).tolist())

    # ------------------------------------------------------------ 05-regression
    torch.manual_seed(1)
    X = torch.linspace(-1, 1, 30).unsqueeze(1).to(device)
    y = (X.pow(3) + 0.3 * torch.rand(X.size()).to(device)).to(device)
    n_networks = 4
    models = list()
    y_pretrain = list()
    for mod in range(n_networks):
        model = nn.Sequential(
            nn.Linear(1, H),
            nn.ReLU() if mod % 2 == 0 else nn.Tanh(),
            nn.Linear(H, 1),
        )
        model.to(device)
        # Append models
        models.append(model)
        # nn package also has different loss functions.
        # we use MSE loss for our regression task
        criterion = torch.nn.MSELoss()
        # we use the optim package to apply
        # ADAM for our parameter updates
        optimizer = torch.optim.Adam(
            model.parameters(), lr=learning_rate, weight_decay=lambda_l2
        )  # built-in L2
        # e = 1.  # plotting purpose
        # Training
        for t in range(10):
            # Feed forward to get the logits
            y_pred = model(X)
            # Append pre-train output
            if t == 0:
                y_pretrain.append(y_pred.detach())
            # Compute the loss and accuracy
            loss = criterion(y_pred, y)
            # zero the gradients before running
            # the backward pass.
            optimizer.zero_grad()
            # Backward pass to compute the gradient
            # of loss w.r.t our learnable params.
            loss.backward()
            # Update params
            optimizer.step()
        values.append(loss.item())
    y_pretrain = torch.stack(y_pretrain)
    with torch.no_grad():
        y_pred = torch.stack([model(X) for model in models])
    values.extend([y_pretrain.mean(dim=0).sum().item(), y_pretrain.std(dim=0).sum().item()])
    values.extend([y_pred.mean(dim=0).sum().item(), y_pred.std(dim=0).mean().item()])

    # ------------------------------------------------------------ 08-seq_classification
    class SimpleRNN(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
            super().__init__()
            # Defining the number of layers and the nodes in each layer
            self.rnn = torch.nn.RNN(input_size, hidden_size, nonlinearity="relu", batch_first=True)
            self.linear = torch.nn.Linear(hidden_size, output_size)

        def forward(self, x: Any) -> Any:
            # Forward pass through the RNN
            h = self.rnn(x)[0]
            x = self.linear(h)
            return x

    class SimpleLSTM(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(input_size, hidden_size, batch_first=True)
            self.linear = torch.nn.Linear(hidden_size, output_size)

        def forward(self, x: Any) -> Any:
            h = self.lstm(x)[0]
            x = self.linear(h)
            return x

        def get_states_across_time(self, x: Any) -> tuple[Any, Any]:
            h_c = None
            h_list, c_list = list(), list()
            with torch.no_grad():
                for t in range(x.size(1)):
                    h_c = self.lstm(x[:, [t], :], h_c)[1]
                    h_list.append(h_c[0])
                    c_list.append(h_c[1])
                h = torch.cat(h_list)
                c = torch.cat(c_list)
            return h, c

    def train(
        model: Any, train_data_gen: Any, criterion: Any, optimizer: Any, device: Any
    ) -> tuple[int, float]:
        # Set the model to training mode. This will turn on layers that would
        # otherwise behave differently during evaluation, such as dropout.
        model.train()
        # Store the number of sequences that were classified correctly
        num_correct = 0
        # Iterate over every batch of sequences. Note that the length of a data generator
        # is defined as the number of batches required to produce a total of roughly 1000
        # sequences given a batch size.
        for batch_idx in range(len(train_data_gen)):
            # Request a batch of sequences and class labels, convert them into tensors
            # of the correct type, and then send them to the appropriate device.
            data, target = train_data_gen[batch_idx]
            data = torch.from_numpy(data).float().to(device)
            target = torch.from_numpy(target).long().to(device)
            # Perform the forward pass of the model
            output = model(data)  # Step ①
            # Pick only the output corresponding to last sequence element (input is pre padded)
            output = output[:, -1, :]
            # Compute the value of the loss for this batch. For loss functions like
            # CrossEntropyLoss, the second argument is actually expected to be a tensor of class
            # indices rather than one-hot encoded class labels. One approach is to take advantage
            # of the one-hot encoding of the target and call argmax along its second dimension to
            # create a tensor of shape (batch_size) containing the index of the class label that
            # was hot for each sequence.
            target = target.argmax(dim=1)
            loss = criterion(output, target)  # Step ②
            # Clear the gradient buffers of the optimized parameters.
            # Otherwise, gradients from the previous batch would be accumulated.
            optimizer.zero_grad()  # Step ③
            loss.backward()  # Step ④
            optimizer.step()  # Step ⑤
            y_pred = output.argmax(dim=1)
            num_correct += (y_pred == target).sum().item()
        return num_correct, loss.item()

    def test(model: Any, test_data_gen: Any, criterion: Any, device: Any) -> tuple[int, float]:
        # Set the model to evaluation mode. This will turn off layers that would
        # otherwise behave differently during training, such as dropout.
        model.eval()
        # Store the number of sequences that were classified correctly
        num_correct = 0
        # A context manager is used to disable gradient calculations during inference
        # to reduce memory usage, as we typically don't need the gradients at this point.
        with torch.no_grad():
            for batch_idx in range(len(test_data_gen)):
                data, target = test_data_gen[batch_idx]
                data = torch.from_numpy(data).float().to(device)
                target = torch.from_numpy(target).long().to(device)
                output = model(data)
                # Pick only the output corresponding to last sequence element (input is pre padded)
                output = output[:, -1, :]
                target = target.argmax(dim=1)
                loss = criterion(output, target)
                y_pred = output.argmax(dim=1)
                num_correct += (y_pred == target).sum().item()
        return num_correct, loss.item()

    def train_and_test(
        model: Any,
        train_data_gen: Any,
        test_data_gen: Any,
        criterion: Any,
        optimizer: Any,
        max_epochs: int,
    ) -> Any:
        # Track the value of the loss function and model accuracy across epochs
        history_train = {"loss": [], "acc": []}
        history_test = {"loss": [], "acc": []}
        for epoch in range(max_epochs):
            # Run the training loop and calculate the accuracy.
            # Remember that the length of a data generator is the number of batches,
            # so we multiply it by the batch size to recover the total number of sequences.
            num_correct, loss = train(model, train_data_gen, criterion, optimizer, device)
            accuracy = float(num_correct) / (len(train_data_gen) * train_data_gen.batch_size) * 100
            history_train["loss"].append(loss)
            history_train["acc"].append(accuracy)
            # Do the same for the testing loop
            num_correct, loss = test(model, test_data_gen, criterion, device)
            accuracy = float(num_correct) / (len(test_data_gen) * test_data_gen.batch_size) * 100
            history_test["loss"].append(loss)
            history_test["acc"].append(accuracy)
            line = (
                f"[Epoch {epoch + 1}/{max_epochs}]"
                f" loss: {history_train['loss'][-1]:.4f}, acc: {history_train['acc'][-1]:2.2f}%"
                f" - test_loss: {history_test['loss'][-1]:.4f},"
                f" test_acc: {history_test['acc'][-1]:2.2f}%"
            )
            assert line.startswith(f"[Epoch {epoch + 1}/{max_epochs}] loss: ")
        return history_train, history_test

    # Setup the training and test data generators
    train_data_gen = TemporalOrderSequence(length=8, batch_size=16, n_batches=3, seed=1)
    test_data_gen = TemporalOrderSequence(length=8, batch_size=16, n_batches=1, seed=2)
    # Setup the RNN and training settings
    input_size = train_data_gen.n_symbols
    hidden_size = 4
    output_size = train_data_gen.n_classes
    for model_class in (SimpleRNN, SimpleLSTM):
        torch.manual_seed(1)
        model = model_class(input_size, hidden_size, output_size)
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.RMSprop(model.parameters(), lr=0.001)
        # Train the model
        history_train, history_test = train_and_test(
            model, train_data_gen, test_data_gen, criterion, optimizer, max_epochs=3
        )
        for history in (history_train, history_test):
            values.extend(history["loss"] + history["acc"])
    # the LSTM's hidden and cell states across time for one test sequence
    data = torch.from_numpy(test_data_gen[0][0][:1]).float()
    h, c = model.get_states_across_time(data)
    values.extend([tuple(h.shape)[0], h.abs().sum().item(), c.abs().sum().item()])
    return values
