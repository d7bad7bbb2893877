"""Zero to Mastery "Learn PyTorch for Deep Learning" (Daniel Bourke, learnpytorch.io),
notebooks 01-07 and the ``going_modular`` scripts, size-reduced. 01 (workflow): the
``weight * X + bias`` data from ``torch.arange(start, end, step).unsqueeze(dim=1)``,
``LinearRegressionModel`` with ``nn.Parameter(torch.randn(1, dtype=torch.float),
requires_grad=True)`` built after ``torch.manual_seed(42)``, ``nn.L1Loss``,
``torch.optim.SGD(params=model_0.parameters(), lr=0.01)``, the epoch loop logging
``loss.detach().numpy()`` and ``torch.inference_mode()`` test predictions, ``Path`` model saving
(``MODEL_PATH.mkdir(parents=True, exist_ok=True)``, ``torch.save(obj=model_0.state_dict(),
f=MODEL_SAVE_PATH)``, ``loaded_model_0.load_state_dict(torch.load(f=MODEL_SAVE_PATH))``).
02 (classification): ``CircleModelV2`` (``nn.Linear(in_features=2, out_features=10)``,
``nn.ReLU()``), ``nn.BCEWithLogitsLoss``, ``torch.round(torch.sigmoid(y_logits))``,
``accuracy_fn`` (``torch.eq(y_true, y_pred).sum().item()``), ``plot_decision_boundary``
(``np.meshgrid(np.linspace(x_min, x_max, 101), ...)`` on 0-d tensors,
``torch.from_numpy(np.column_stack((xx.ravel(), yy.ravel()))).float()``, ``len(torch.unique(y))
> 2``, ``torch.softmax(y_logits, dim=1).argmax(dim=1)``, ``.reshape(xx.shape).detach().numpy()``)
and the multi-class ``BlobModel`` trained with ``nn.CrossEntropyLoss`` on
``torch.from_numpy(X_blob).type(torch.float)`` / ``.type(torch.LongTensor)``. 03 (computer
vision): ``FashionMNISTModelV2`` (TinyVGG: ``nn.Conv2d(in_channels=..., out_channels=...,
kernel_size=3, stride=1, padding=1)``, ``nn.MaxPool2d(kernel_size=2, stride=2)``,
``nn.Flatten()``, ``nn.Linear(in_features=hidden_units*7*7, ...)``), ``DataLoader(train_data,
batch_size=BATCH_SIZE, shuffle=True)`` after ``torch.manual_seed(42)``, ``train_step``/``test_step``
(``train_loss += loss``, ``train_acc += accuracy_fn(y_true=y, y_pred=y_pred.argmax(dim=1))``,
``train_loss /= len(data_loader)``), ``timeit.default_timer`` with ``print_train_time``,
``eval_model`` (``{"model_name": model.__class__.__name__, "model_loss": loss.item(),
"model_acc": acc}``) and ``make_predictions`` (``sample.unsqueeze(dim=0)``, ``torch.softmax(
pred_logit.squeeze(), dim=0)``, ``torch.stack(pred_probs)``) on ``random.sample(list(test_data),
k=9)``. 05 (``going_modular/engine.py``): ``train`` returning the ``results`` dict of
``train_step``s (``torch.argmax(torch.softmax(y_pred, dim=1), dim=1)``, ``(y_pred_class ==
y).sum().item()/len(y_pred)``) and ``test_step``s, and ``utils.save_model`` (the ``.pth``
assertion, ``target_dir_path / model_name``). 06/07: ``set_seeds`` (``torch.manual_seed`` and
``torch.cuda.manual_seed``), ``torch.utils.data.random_split`` subsets, the experiment loop over
models and epochs re-seeding per experiment with ``torch.manual_seed`` and logging through a
``SummaryWriter`` (``create_writer``'s ``os.path.join("runs", timestamp, ...)``,
``add_scalars(main_tag="Loss", tag_scalar_dict={...}, global_step=epoch)``,
``add_graph(model=model, input_to_model=torch.randn(...))``, ``close()`` inside the epoch loop).

Changed: ``make_circles``/``make_blobs``/FashionMNIST become seeded NumPy data (200 circle
points, 120 blob points of 4 classes, 48 8x8 one-channel images of 3 classes); epochs 1000 ->
20 (01), 100 -> 10 (02), 3 -> 2 (03, 05); TinyVGG's hidden units 10 -> 4 (so ``*7*7`` is
``*2*2``); the writer's scalars and graphs are read back with TensorBoard's ``EventAccumulator``
instead of viewed in TensorBoard (only the graphs' IO nodes and scopes are compared: PyTorch's
nodes are its traced ATen operations, chainrule's the module calls). The models are built
from the frameworks' own ``torch.manual_seed`` (chainrule reproduces PyTorch's default
generator), so no initial state is passed in.
"""

from __future__ import annotations

import importlib
import os
import random
import warnings
from datetime import datetime
from pathlib import Path
from timeit import default_timer as timer
from typing import Any

import numpy as np

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5


def _circles(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, 2 * np.pi, n)
    y = np.arange(n) % 2
    r = np.where(y == 1, 0.5, 1.0)
    X = np.stack([r * np.cos(t), r * np.sin(t)], 1) + 0.03 * rng.standard_normal((n, 2))
    return X, y


def _blobs(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    centers = rng.uniform(-10, 10, (k, 2))
    y = np.arange(n) % k
    return centers[y] + 1.5 * rng.standard_normal((n, 2)), y


def _images(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 3
    x = 0.3 * rng.random((n, 1, 8, 8))
    for i, c in enumerate(y):
        x[i, 0, 2 * c : 2 * c + 3, :] += 0.7  # a bar whose height is the class
    return x.astype(np.float32), y


def init_state(tmp_path: Path) -> dict:
    return {"root": str(tmp_path)}


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    DataLoader = torch_like.utils.data.DataLoader
    TensorDataset = torch_like.utils.data.TensorDataset
    # from torch.utils.tensorboard import SummaryWriter
    SummaryWriter = importlib.import_module(
        f"{torch_like.__name__}.utils.tensorboard"
    ).SummaryWriter
    root = Path(init["root"]) / torch_like.__name__
    rng = np.random.default_rng(42)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    values: list[float] = []

    # ------------------------------------------------------------ 01. workflow fundamentals
    weight = 0.7
    bias = 0.3
    start, end, step = 0, 1, 0.02
    X = torch.arange(start, end, step).unsqueeze(dim=1)
    y = weight * X + bias
    train_split = int(0.8 * len(X))  # 80% of data used for training set, 20% for testing
    X_train, y_train = X[:train_split], y[:train_split]
    X_test, y_test = X[train_split:], y[train_split:]

    class LinearRegressionModel(nn.Module):  # <- almost everything in PyTorch is a nn.Module
        def __init__(self) -> None:
            super().__init__()
            self.weights = nn.Parameter(
                torch.randn(1, dtype=torch.float),  # <- start with random weights
                requires_grad=True,  # <- can we update this value with gradient descent?
            )
            self.bias = nn.Parameter(torch.randn(1, dtype=torch.float), requires_grad=True)

        # Forward defines the computation in the model
        def forward(self, x: Any) -> Any:  # <- "x" is the input data
            return self.weights * x + self.bias  # <- this is the linear regression formula

    torch.manual_seed(42)
    model_0 = LinearRegressionModel()
    values.extend([model_0.state_dict()["weights"].item(), model_0.state_dict()["bias"].item()])
    loss_fn = nn.L1Loss()  # MAE loss is same as L1Loss
    optimizer = torch.optim.SGD(params=model_0.parameters(), lr=0.01)

    epochs = 20
    train_loss_values, test_loss_values, epoch_count = [], [], []
    for epoch in range(epochs):
        ### Training
        model_0.train()
        y_pred = model_0(X_train)
        loss = loss_fn(y_pred, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        ### Testing
        model_0.eval()
        with torch.inference_mode():
            test_pred = model_0(X_test)
            test_loss = loss_fn(test_pred, y_test.type(torch.float))
            if epoch % 10 == 0:
                epoch_count.append(epoch)
                train_loss_values.append(loss.detach().numpy())
                test_loss_values.append(test_loss.detach().numpy())
    values.extend(float(v) for v in train_loss_values + test_loss_values)
    # the older notebook's plot input, from a list of 0-d tensors
    values.append(
        float(np.array(torch.tensor([torch.tensor(v) for v in train_loss_values]).numpy()).sum())
    )

    # Saving and loading with pathlib
    MODEL_PATH = root / "models"
    MODEL_PATH.mkdir(parents=True, exist_ok=True)
    MODEL_NAME = "01_pytorch_workflow_model_0.pth"
    MODEL_SAVE_PATH = MODEL_PATH / MODEL_NAME
    torch.save(obj=model_0.state_dict(), f=MODEL_SAVE_PATH)
    loaded_model_0 = LinearRegressionModel()
    loaded_model_0.load_state_dict(torch.load(f=MODEL_SAVE_PATH))
    loaded_model_0.eval()
    with torch.inference_mode():
        loaded_model_preds = loaded_model_0(X_test)
        y_preds = model_0(X_test)
    values.append(float((y_preds == loaded_model_preds).all()))

    # ------------------------------------------------------------ 02. classification
    def accuracy_fn(y_true: Any, y_pred: Any) -> float:
        correct = (
            torch.eq(y_true, y_pred).sum().item()
        )  # torch.eq() calculates where two tensors are equal
        acc = (correct / len(y_pred)) * 100
        return acc

    def plot_decision_boundary(model: Any, X: Any, y: Any) -> np.ndarray:
        # Put everything to CPU (works better with NumPy + Matplotlib)
        model.to("cpu")
        X, y = X.to("cpu"), y.to("cpu")

        # Setup prediction boundaries and grid
        x_min, x_max = X[:, 0].min() - 0.1, X[:, 0].max() + 0.1
        y_min, y_max = X[:, 1].min() - 0.1, X[:, 1].max() + 0.1
        with warnings.catch_warnings():  # PyTorch's __array_wrap__ is deprecated in NumPy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            xx, yy = np.meshgrid(np.linspace(x_min, x_max, 101), np.linspace(y_min, y_max, 101))

        # Make features
        X_to_pred_on = torch.from_numpy(np.column_stack((xx.ravel(), yy.ravel()))).float()

        # Make predictions
        model.eval()
        with torch.inference_mode():
            y_logits = model(X_to_pred_on)

        # Test for multi-class or binary and adjust logits to prediction labels
        if len(torch.unique(y)) > 2:
            y_pred = torch.softmax(y_logits, dim=1).argmax(dim=1)  # mutli-class
        else:
            y_pred = torch.round(torch.sigmoid(y_logits))  # binary

        # Reshape preds and plot
        y_pred = y_pred.reshape(xx.shape).detach().numpy()
        return y_pred

    X_np, y_np = _circles(rng, 200)
    X = torch.from_numpy(X_np).type(torch.float)
    y = torch.from_numpy(y_np).type(torch.float)
    n_train = int(0.8 * len(X))
    X_train, X_test, y_train, y_test = X[:n_train], X[n_train:], y[:n_train], y[n_train:]
    X_train, y_train = X_train.to(device), y_train.to(device)
    X_test, y_test = X_test.to(device), y_test.to(device)

    class CircleModelV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer_1 = nn.Linear(in_features=2, out_features=10)
            self.layer_2 = nn.Linear(in_features=10, out_features=10)
            self.layer_3 = nn.Linear(in_features=10, out_features=1)
            self.relu = nn.ReLU()  # <- add in ReLU activation function

        def forward(self, x: Any) -> Any:
            # Intersperse the ReLU activation function between layers
            return self.layer_3(self.relu(self.layer_2(self.relu(self.layer_1(x)))))

    torch.manual_seed(42)
    model_3 = CircleModelV2().to(device)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model_3.parameters(), lr=0.1)
    torch.manual_seed(42)
    epochs = 10
    for epoch in range(epochs):
        # 1. Forward pass
        y_logits = model_3(X_train).squeeze()
        y_pred = torch.round(
            torch.sigmoid(y_logits)
        )  # logits -> prediction probabilities -> prediction labels
        # 2. Calculate loss and accuracy
        loss = loss_fn(y_logits, y_train)  # BCEWithLogitsLoss calculates loss using logits
        acc = accuracy_fn(y_true=y_train, y_pred=y_pred)
        # 3. Optimizer zero grad
        optimizer.zero_grad()
        # 4. Loss backward
        loss.backward()
        # 5. Optimizer step
        optimizer.step()
        ### Testing
        model_3.eval()
        with torch.inference_mode():
            # 1. Forward pass
            test_logits = model_3(X_test).squeeze()
            test_pred = torch.round(
                torch.sigmoid(test_logits)
            )  # logits -> prediction probabilities -> prediction labels
            # 2. Calculate loss and accuracy
            test_loss = loss_fn(test_logits, y_test)
            test_acc = accuracy_fn(y_true=y_test, y_pred=test_pred)
        line = (
            f"Epoch: {epoch} | Loss: {loss:.5f}, Accuracy: {acc:.2f}% | "
            f"Test Loss: {test_loss:.5f}, Test Accuracy: {test_acc:.2f}%"
        )
        assert line.startswith(f"Epoch: {epoch} | Loss: ")
        values.extend([loss.item(), acc, test_loss.item(), test_acc])
    boundary = plot_decision_boundary(model_3, X_train, y_train)
    values.extend([float(boundary.mean()), float(boundary[50, ::25].sum())])

    # multi-class
    NUM_CLASSES = 4
    NUM_FEATURES = 2
    RANDOM_SEED = 42
    X_blob, y_blob = _blobs(rng, 120, NUM_CLASSES)
    X_blob = torch.from_numpy(X_blob).type(torch.float)
    y_blob = torch.from_numpy(y_blob).type(torch.LongTensor)
    X_blob_train, X_blob_test = X_blob[:96], X_blob[96:]
    y_blob_train, y_blob_test = y_blob[:96], y_blob[96:]

    class BlobModel(nn.Module):
        def __init__(
            self, input_features: int, output_features: int, hidden_units: int = 8
        ) -> None:
            """Initializes all required hyperparameters for a multi-class classification model."""
            super().__init__()
            self.linear_layer_stack = nn.Sequential(
                nn.Linear(in_features=input_features, out_features=hidden_units),
                # nn.ReLU(), # <- does our dataset require non-linear layers? (try uncommenting and
                # see if the results change)
                nn.Linear(in_features=hidden_units, out_features=hidden_units),
                # nn.ReLU(), # <- does our dataset require non-linear layers? (try uncommenting and
                # see if the results change)
                nn.Linear(
                    in_features=hidden_units, out_features=output_features
                ),  # how many classes are there?
            )

        def forward(self, x: Any) -> Any:
            return self.linear_layer_stack(x)

    torch.manual_seed(RANDOM_SEED)
    model_4 = BlobModel(
        input_features=NUM_FEATURES, output_features=NUM_CLASSES, hidden_units=8
    ).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        model_4.parameters(),
        lr=0.1,
        # exercise: try changing the learning rate here and seeing what happens to the model's
        # performance
    )
    for _epoch in range(10):
        model_4.train()
        y_logits = model_4(X_blob_train)  # model outputs raw logits
        y_pred = torch.softmax(y_logits, dim=1).argmax(
            dim=1
        )  # go from logits -> prediction probabilities -> prediction labels
        loss = loss_fn(y_logits, y_blob_train)
        acc = accuracy_fn(y_true=y_blob_train, y_pred=y_pred)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model_4.eval()
        with torch.inference_mode():
            test_logits = model_4(X_blob_test)
            test_pred = torch.softmax(test_logits, dim=1).argmax(dim=1)
            test_loss = loss_fn(test_logits, y_blob_test)
            test_acc = accuracy_fn(y_true=y_blob_test, y_pred=test_pred)
        values.extend([loss.item(), acc, test_loss.item(), test_acc])
    boundary = plot_decision_boundary(model_4, X_blob_train, y_blob_train)
    values.append(float(np.bincount(boundary.ravel(), minlength=NUM_CLASSES)[0]))

    # ------------------------------------------------------------ 03. computer vision
    x_img, y_img = _images(rng, 48)
    train_data = TensorDataset(torch.from_numpy(x_img[:36]), torch.from_numpy(y_img[:36]))
    test_data = TensorDataset(torch.from_numpy(x_img[36:]), torch.from_numpy(y_img[36:]))
    class_names = ["T-shirt/top", "Trouser", "Pullover"]
    BATCH_SIZE = 8
    torch.manual_seed(42)
    train_dataloader = DataLoader(train_data, batch_size=BATCH_SIZE, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=BATCH_SIZE, shuffle=False)
    values.append(len(train_dataloader))

    class FashionMNISTModelV2(nn.Module):
        """
        Model architecture copying TinyVGG from:
        https://poloclub.github.io/cnn-explainer/
        """

        def __init__(self, input_shape: int, hidden_units: int, output_shape: int) -> None:
            super().__init__()
            self.block_1 = nn.Sequential(
                nn.Conv2d(
                    in_channels=input_shape,
                    out_channels=hidden_units,
                    kernel_size=3,  # how big is the square that's going over the image?
                    stride=1,  # default
                    padding=1,
                    # options = "valid" (no padding) or "same" (output has same shape as input)
                    # or int
                    # for specific number
                ),
                nn.ReLU(),
                nn.Conv2d(
                    in_channels=hidden_units,
                    out_channels=hidden_units,
                    kernel_size=3,
                    stride=1,
                    padding=1,
                ),
                nn.ReLU(),
                nn.MaxPool2d(
                    kernel_size=2, stride=2
                ),  # default stride value is same as kernel_size
            )
            self.block_2 = nn.Sequential(
                nn.Conv2d(hidden_units, hidden_units, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(hidden_units, hidden_units, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.classifier = nn.Sequential(
                nn.Flatten(),
                # Where did this in_features shape come from?
                # It's because each layer of our network compresses and changes the shape of our
                # inputs data.
                nn.Linear(in_features=hidden_units * 2 * 2, out_features=output_shape),
            )

        def forward(self, x: Any) -> Any:
            x = self.block_1(x)
            x = self.block_2(x)
            x = self.classifier(x)
            return x

    def print_train_time(start: float, end: float, device: Any = None) -> float:
        total_time = end - start
        line = f"Train time on {device}: {total_time:.3f} seconds"
        assert line.startswith("Train time on")
        return total_time

    def train_step(
        model: Any,
        data_loader: Any,
        loss_fn: Any,
        optimizer: Any,
        accuracy_fn: Any,
        device: Any = device,
    ) -> tuple[float, float]:
        train_loss, train_acc = 0, 0
        model.to(device)
        for batch, (X, y) in enumerate(data_loader):  # noqa: B007
            # Send data to GPU
            X, y = X.to(device), y.to(device)
            # 1. Forward pass
            y_pred = model(X)
            # 2. Calculate loss
            loss = loss_fn(y_pred, y)
            train_loss += loss
            train_acc += accuracy_fn(
                y_true=y, y_pred=y_pred.argmax(dim=1)
            )  # Go from logits -> pred labels
            # 3. Optimizer zero grad
            optimizer.zero_grad()
            # 4. Loss backward
            loss.backward()
            # 5. Optimizer step
            optimizer.step()
        # Calculate loss and accuracy per epoch and print out what's happening
        train_loss /= len(data_loader)
        train_acc /= len(data_loader)
        return train_loss.item(), train_acc

    def test_step(
        data_loader: Any, model: Any, loss_fn: Any, accuracy_fn: Any, device: Any = device
    ) -> tuple[float, float]:
        test_loss, test_acc = 0, 0
        model.to(device)
        model.eval()  # put model in eval mode
        # Turn on inference context manager
        with torch.inference_mode():
            for X, y in data_loader:
                # Send data to GPU
                X, y = X.to(device), y.to(device)
                # 1. Forward pass
                test_pred = model(X)
                # 2. Calculate loss and accuracy
                test_loss += loss_fn(test_pred, y)
                test_acc += accuracy_fn(
                    y_true=y, y_pred=test_pred.argmax(dim=1)
                )  # Go from logits -> pred labels
            # Adjust metrics and print out
            test_loss /= len(data_loader)
            test_acc /= len(data_loader)
        return test_loss.item(), test_acc

    def eval_model(model: Any, data_loader: Any, loss_fn: Any, accuracy_fn: Any) -> dict:
        """Returns a dictionary containing the results of model predicting on data_loader."""
        loss, acc = 0, 0
        model.eval()
        with torch.inference_mode():
            for X, y in data_loader:
                # Make predictions with the model
                y_pred = model(X)
                # Accumulate the loss and accuracy values per batch
                loss += loss_fn(y_pred, y)
                acc += accuracy_fn(
                    y_true=y, y_pred=y_pred.argmax(dim=1)
                )  # For accuracy, need the prediction labels (logits -> pred_prob -> pred_labels)
            # Scale loss and acc to find the average loss/acc per batch
            loss /= len(data_loader)
            acc /= len(data_loader)
        return {
            # only works when model was created with a class
            "model_name": model.__class__.__name__,
            "model_loss": loss.item(),
            "model_acc": acc,
        }

    def make_predictions(model: Any, data: list, device: Any = device) -> Any:
        pred_probs = []
        model.eval()
        with torch.inference_mode():
            for sample in data:
                # Prepare sample
                sample = torch.unsqueeze(sample, dim=0).to(
                    device
                )  # Add an extra dimension and send sample to device
                # Forward pass (model outputs raw logit)
                pred_logit = model(sample)
                # Get prediction probability (logit -> prediction probability)
                pred_prob = torch.softmax(
                    pred_logit.squeeze(),
                    dim=0,
                    # note: perform softmax on the "logits" dimension, not "batch" dimension
                    # (in this
                    # case we have a batch size of 1, so can perform on dim=0)
                )
                # Get the pred_prob off GPU for further calculations
                pred_probs.append(pred_prob.cpu())
        # Stack the pred_probs to turn list into a tensor
        return torch.stack(pred_probs)

    torch.manual_seed(42)
    model_2 = FashionMNISTModelV2(input_shape=1, hidden_units=4, output_shape=len(class_names)).to(
        device
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(params=model_2.parameters(), lr=0.1)
    torch.manual_seed(42)
    train_time_start_model_2 = timer()
    epochs = 2
    for _epoch in range(epochs):
        values.extend(
            train_step(
                data_loader=train_dataloader,
                model=model_2,
                loss_fn=loss_fn,
                optimizer=optimizer,
                accuracy_fn=accuracy_fn,
                device=device,
            )
        )
        values.extend(
            test_step(
                data_loader=test_dataloader,
                model=model_2,
                loss_fn=loss_fn,
                accuracy_fn=accuracy_fn,
                device=device,
            )
        )
    train_time_end_model_2 = timer()
    total_train_time_model_2 = print_train_time(
        start=train_time_start_model_2, end=train_time_end_model_2, device=device
    )
    assert total_train_time_model_2 >= 0
    model_2_results = eval_model(
        model=model_2, data_loader=test_dataloader, loss_fn=loss_fn, accuracy_fn=accuracy_fn
    )
    assert model_2_results["model_name"] == "FashionMNISTModelV2"
    values.extend([model_2_results["model_loss"], model_2_results["model_acc"]])

    random.seed(42)
    test_samples = []
    test_labels = []
    for sample, label in random.sample(list(test_data), k=9):
        test_samples.append(sample)
        test_labels.append(label)
    pred_probs = make_predictions(model=model_2, data=test_samples)
    pred_classes = pred_probs.argmax(dim=1)
    values.extend(pred_probs[:3].flatten().tolist() + pred_classes.tolist())
    values.extend(int(label) for label in test_labels)

    # ------------------------------------------------------------ 05. going_modular
    def engine_train_step(
        model: Any, dataloader: Any, loss_fn: Any, optimizer: Any, device: Any
    ) -> tuple[float, float]:
        # Put model in train mode
        model.train()
        # Setup train loss and train accuracy values
        train_loss, train_acc = 0, 0
        # Loop through data loader data batches
        for batch, (X, y) in enumerate(dataloader):  # noqa: B007
            # Send data to target device
            X, y = X.to(device), y.to(device)
            # 1. Forward pass
            y_pred = model(X)
            # 2. Calculate  and accumulate loss
            loss = loss_fn(y_pred, y)
            train_loss += loss.item()
            # 3. Optimizer zero grad
            optimizer.zero_grad()
            # 4. Loss backward
            loss.backward()
            # 5. Optimizer step
            optimizer.step()
            # Calculate and accumulate accuracy metric across all batches
            y_pred_class = torch.argmax(torch.softmax(y_pred, dim=1), dim=1)
            train_acc += (y_pred_class == y).sum().item() / len(y_pred)
        # Adjust metrics to get average loss and accuracy per batch
        train_loss = train_loss / len(dataloader)
        train_acc = train_acc / len(dataloader)
        return train_loss, train_acc

    def engine_test_step(
        model: Any, dataloader: Any, loss_fn: Any, device: Any
    ) -> tuple[float, float]:
        # Put model in eval mode
        model.eval()
        # Setup test loss and test accuracy values
        test_loss, test_acc = 0, 0
        # Turn on inference context manager
        with torch.inference_mode():
            # Loop through DataLoader batches
            for batch, (X, y) in enumerate(dataloader):  # noqa: B007
                # Send data to target device
                X, y = X.to(device), y.to(device)
                # 1. Forward pass
                test_pred_logits = model(X)
                # 2. Calculate and accumulate loss
                loss = loss_fn(test_pred_logits, y)
                test_loss += loss.item()
                # Calculate and accumulate accuracy
                test_pred_labels = test_pred_logits.argmax(dim=1)
                test_acc += (test_pred_labels == y).sum().item() / len(test_pred_labels)
        # Adjust metrics to get average loss and accuracy per batch
        test_loss = test_loss / len(dataloader)
        test_acc = test_acc / len(dataloader)
        return test_loss, test_acc

    def create_writer(experiment_name: str, model_name: str, extra: str | None = None) -> Any:
        # Get timestamp of current date (all experiments on certain day live in same folder)
        timestamp = datetime.now().strftime("%Y-%m-%d")  # returns current date in YYYY-MM-DD format
        if extra:
            # Create log directory path
            log_dir = os.path.join(root, "runs", timestamp, experiment_name, model_name, extra)
        else:
            log_dir = os.path.join(root, "runs", timestamp, experiment_name, model_name)
        return SummaryWriter(log_dir=log_dir)

    def train(
        model: Any,
        train_dataloader: Any,
        test_dataloader: Any,
        optimizer: Any,
        loss_fn: Any,
        epochs: int,
        device: Any,
        writer: Any = None,
    ) -> dict:
        # Create empty results dictionary
        results = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
        # Loop through training and testing steps for a number of epochs
        for epoch in range(epochs):
            train_loss, train_acc = engine_train_step(
                model=model,
                dataloader=train_dataloader,
                loss_fn=loss_fn,
                optimizer=optimizer,
                device=device,
            )
            test_loss, test_acc = engine_test_step(
                model=model, dataloader=test_dataloader, loss_fn=loss_fn, device=device
            )
            line = (
                f"Epoch: {epoch + 1} | "
                f"train_loss: {train_loss:.4f} | "
                f"train_acc: {train_acc:.4f} | "
                f"test_loss: {test_loss:.4f} | "
                f"test_acc: {test_acc:.4f}"
            )
            assert line.startswith(f"Epoch: {epoch + 1} | train_loss: ")
            # Update results dictionary
            results["train_loss"].append(train_loss)
            results["train_acc"].append(train_acc)
            results["test_loss"].append(test_loss)
            results["test_acc"].append(test_acc)
            if writer:
                # Add results to SummaryWriter
                writer.add_scalars(
                    main_tag="Loss",
                    tag_scalar_dict={"train_loss": train_loss, "test_loss": test_loss},
                    global_step=epoch,
                )
                writer.add_scalars(
                    main_tag="Accuracy",
                    tag_scalar_dict={"train_acc": train_acc, "test_acc": test_acc},
                    global_step=epoch,
                )
                # Track the PyTorch model architecture
                writer.add_graph(model=model, input_to_model=torch.randn(8, 1, 8, 8).to(device))
                # Close the writer
                writer.close()
        # Return the filled results at the end of the epochs
        return results

    def save_model(model: Any, target_dir: str, model_name: str) -> None:
        # Create target directory
        target_dir_path = Path(target_dir)
        target_dir_path.mkdir(parents=True, exist_ok=True)
        # Create model save path
        assert model_name.endswith(".pth") or model_name.endswith(".pt"), (
            "model_name should end with '.pt' or '.pth'"
        )
        model_save_path = target_dir_path / model_name
        # Save the model state_dict()
        torch.save(obj=model.state_dict(), f=model_save_path)

    def set_seeds(seed: int = 42) -> None:
        """Sets random sets for torch operations."""
        # Set the seed for general torch operations
        torch.manual_seed(seed)
        # Set the seed for CUDA torch operations (ones that happen on the GPU)
        torch.cuda.manual_seed(seed)

    # 07: experiment tracking over data splits and models
    full = TensorDataset(torch.from_numpy(x_img), torch.from_numpy(y_img))
    train_10, test_10 = torch.utils.data.random_split(
        full, [0.75, 0.25], generator=torch.Generator().manual_seed(42)
    )
    train_dataloader_10 = DataLoader(train_10, batch_size=BATCH_SIZE, shuffle=True)
    test_dataloader_10 = DataLoader(test_10, batch_size=BATCH_SIZE, shuffle=False)
    experiment_number = 0
    for dataloader_name, train_dataloader_x in {
        "data_10_percent": train_dataloader_10,
        "data_full": train_dataloader,
    }.items():
        for model_name in ["tinyvgg_h2", "tinyvgg_h4"]:
            experiment_number += 1
            set_seeds(42)
            hidden = int(model_name[-1])
            model = FashionMNISTModelV2(
                input_shape=1, hidden_units=hidden, output_shape=len(class_names)
            ).to(device)
            loss_fn = nn.CrossEntropyLoss()
            optimizer = torch.optim.Adam(params=model.parameters(), lr=0.01)
            results = train(
                model=model,
                train_dataloader=train_dataloader_x,
                test_dataloader=test_dataloader_10,
                optimizer=optimizer,
                loss_fn=loss_fn,
                epochs=2,
                device=device,
                writer=create_writer(
                    experiment_name=dataloader_name, model_name=model_name, extra="2_epochs"
                ),
            )
            for key in results:
                values.extend(results[key])
            save_filepath = f"07_{model_name}_{dataloader_name}_2_epochs.pth"
            save_model(model=model, target_dir=root / "models", model_name=save_filepath)
    values.append(experiment_number)

    # read the logged scalars back (what TensorBoard would plot)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logged = sorted(str(p.parent) for p in (root / "runs").rglob("events.out.tfevents.*"))
    values.append(len(logged))
    # (each directory once, its scalars by step: a writer closed inside the epoch loop leaves
    # one event file per epoch, and the accumulator reads them in file-name order, which
    # depends on the process-wide writer count: on which tests ran before in the worker)
    for run_dir in sorted(set(logged)):
        if run_dir.endswith(os.path.join("Loss_train_loss")):
            acc = EventAccumulator(run_dir)
            acc.Reload()
            values.extend(e.value for e in sorted(acc.Scalars("Loss"), key=lambda e: e.step))
        elif run_dir.endswith("2_epochs"):  # the writer's own directory holds the graphs
            acc = EventAccumulator(run_dir)
            acc.Reload()
            graph = acc.Graph()
            io_nodes = [n for n in graph.node if n.op == "IO Node"]
            values.append(len(io_nodes))
            assert [n.name for n in io_nodes if n.name.startswith("input/")] == ["input/x"]
            assert any("Sequential[classifier]" in n.name for n in graph.node)
            values.append(float(acc.Tags()["run_metadata"] == ["step1"]))
    return values
