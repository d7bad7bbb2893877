"""PyTorch's "Learn the Basics" tutorials (``beginner/basics/``) not covered elsewhere, in their
order: ``transforms_tutorial.py``, ``buildmodel_tutorial.py``, ``autogradqs_tutorial.py``,
``optimization_tutorial.py``, ``saveloadrun_tutorial.py`` and the end of
``quickstart_tutorial.py``, size-reduced.

The idioms: the device line ``torch.accelerator.current_accelerator().type if
torch.accelerator.is_available() else "cpu"``; torchvision's ``ToTensor`` for a grayscale
image as ``to_tensor`` writes it (``torch.from_numpy(np.array(pic, np.uint8, copy=True))``,
``img.view(h, w, 1).permute((2, 0, 1)).contiguous()``, ``isinstance(img, torch.ByteTensor)``,
``img.to(dtype=torch.get_default_dtype()).div(255)``) and the tutorial's ``target_transform=
Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1))``
(a 0-d index tensor) in a map-style ``Dataset`` read by ``DataLoader(batch_size=...)``; the
``NeuralNetwork`` of "Build the Neural Network" (``self.flatten = nn.Flatten()``,
``self.linear_relu_stack = nn.Sequential(nn.Linear(28*28, 512), nn.ReLU(), ...)``,
``pred_probab = nn.Softmax(dim=1)(logits)``, ``y_pred = pred_probab.argmax(1)``, the layer-by-layer
walk ``flatten(input_image)``, ``nn.Linear(in_features=28*28, out_features=20)``,
``nn.ReLU()(hidden1)``, ``seq_modules``, and ``for name, param in model.named_parameters():``
with ``param.size()`` and ``param[:2]``); the autograd tutorial (``w = torch.randn(5, 3,
requires_grad=True)``, ``z = torch.matmul(x, w)+b``, ``binary_cross_entropy_with_logits(z,
y)``, ``f"Gradient function for z = {z.grad_fn}"`` and for ``loss.grad_fn`` (``<AddBackward0 object
at ...>``, ``<BinaryCrossEntropyWithLogitsBackward0 object at ...>``, and their ``.name()``),
``loss.backward()``, ``w.grad`` / ``b.grad``, ``z.requires_grad`` inside and outside
``torch.no_grad()``, ``z.detach()``; the optional Jacobian-product section with ``inp =
torch.eye(4, 5, requires_grad=True)``, ``out = (inp+1).pow(2).t()``, ``out.backward(
torch.ones_like(out), retain_graph=True)`` twice (gradients accumulate), ``inp.grad.zero_()``
and once more); ``requires_grad_(False)`` / ``requires_grad_()`` toggling to freeze a layer;
the optimization tutorial's ``train_loop`` / ``test_loop`` (``size = len(dataloader.dataset)``,
``model.train()``, ``loss.backward(); optimizer.step(); optimizer.zero_grad()``, ``loss,
current = loss.item(), batch * batch_size + len(X)``, ``f"loss: {loss:>7f}  [{current:>5d}/
{size:>5d}]"``, ``model.eval()``, ``num_batches = len(dataloader)``, ``(pred.argmax(1) ==
y).type(torch.float).sum().item()``) with ``nn.CrossEntropyLoss()`` on the one-hot
(probability) targets and ``torch.optim.SGD(model.parameters(), lr=learning_rate)``; "Save and
Load the Model" (``torch.save(model.state_dict(), 'model_weights.pth')``, a fresh model's
``load_state_dict(torch.load('model_weights.pth', weights_only=True))``, ``model.eval()``,
``torch.save(model, 'model.pth')`` of the whole module and ``torch.load('model.pth',
weights_only=False)``, the default ``weights_only=True`` refusing it with
``pickle.UnpicklingError``); and the quickstart's ``classes[pred[0].argmax(0)]`` (a list
indexed by a 0-d tensor).

Changed: FashionMNIST's 28 x 28 images are 6 x 6 uint8 NumPy images (widths 512 -> 16, 20 ->
5), 24 training and 12 test images, batch size 64 -> 8, two epochs; ``torch.randn`` / ``torch.rand``
draws come from NumPy (the two libraries' generators differ); ``print`` calls become returned
values. The whole-model save needs its class importable by pickle, so the ``NeuralNetwork``
class built for each library is registered in this module under its own name.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor

DTYPE = "float32"
SIDE = 6
CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def _neural_network_class(torch_like: Any) -> Any:
    """The tutorial's ``NeuralNetwork`` for ``torch_like``, made importable for pickle."""
    name = f"NeuralNetwork_{torch_like.__name__}"
    if name not in globals():
        nn = torch_like.nn

        class NeuralNetwork(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.flatten = nn.Flatten()
                self.linear_relu_stack = nn.Sequential(
                    nn.Linear(SIDE * SIDE, 16),
                    nn.ReLU(),
                    nn.Linear(16, 16),
                    nn.ReLU(),
                    nn.Linear(16, 10),
                )

            def forward(self, x: Any) -> Any:
                x = self.flatten(x)
                logits = self.linear_relu_stack(x)
                return logits

        NeuralNetwork.__qualname__ = name  # pickle finds it by this; repr shows __name__
        globals()[name] = NeuralNetwork
    return globals()[name]


def make_model(torch_like: Any) -> Any:
    return _neural_network_class(torch_like)()


class Lambda:
    """torchvision.transforms.Lambda."""

    def __init__(self, lambd: Any) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


def _transforms(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like

    class ToTensor:
        """torchvision.transforms.ToTensor on a grayscale (mode "L") image."""

        def __call__(self, pic: np.ndarray) -> Any:
            default_float_dtype = torch.get_default_dtype()
            img = torch.from_numpy(np.array(pic, np.uint8, copy=True))
            img = img.view(pic.shape[0], pic.shape[1], 1)
            # put it from HWC to CHW format
            img = img.permute((2, 0, 1)).contiguous()
            if isinstance(img, torch.ByteTensor):
                return img.to(dtype=default_float_dtype).div(255)
            return img

    def one_hot(y: int) -> Any:
        return torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)

    return ToTensor(), Lambda(one_hot)


def _fashion_like(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class decides where a bright block sits, plus noise."""
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, SIDE, SIDE)).astype(np.uint8)
    for img, y in zip(images, labels):
        r, c = divmod(int(y), 4)
        img[r * 2 : r * 2 + 2, c : c + 3] += 180
    return images, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader
    rng = np.random.default_rng(2024)
    values: list[float] = []

    device = (
        torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    )

    # --- Transforms ---
    to_tensor, target_transform = _transforms(torch_like)

    class FashionLike(Dataset):
        def __init__(
            self, images: np.ndarray, labels: np.ndarray, transform: Any, target_transform: Any
        ):
            self.images, self.labels = images, labels
            self.transform, self.target_transform = transform, target_transform

        def __len__(self) -> int:
            return len(self.labels)

        def __getitem__(self, idx: int) -> tuple[Any, Any]:
            image, label = self.images[idx], int(self.labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    training_data = FashionLike(*_fashion_like(rng, 24), to_tensor, target_transform)
    test_data = FashionLike(*_fashion_like(rng, 12), to_tensor, target_transform)
    img, target = training_data[0]
    values += [
        img.sum().item(),
        float(img.dtype == torch.float32),
        float(tuple(img.shape) == (1, SIDE, SIDE)),
    ]
    values += [target.argmax().item(), target.sum().item(), float(target.dtype == torch.float32)]

    # --- Build the Neural Network ---
    model = _neural_network_class(torch_like)().to(device)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    X = as_tensor(torch, rng.random((1, SIDE, SIDE)), dtype=torch.float32)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    values += [logits.sum().item(), y_pred.item(), pred_probab.sum().item()]

    input_image = as_tensor(torch, rng.random((3, SIDE, SIDE)), dtype=torch.float32)
    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    layer1 = nn.Linear(in_features=SIDE * SIDE, out_features=5)
    with torch.no_grad():
        layer1.weight.copy_(as_tensor(torch, rng.standard_normal((5, SIDE * SIDE)) * 0.1))
        layer1.bias.copy_(as_tensor(torch, rng.standard_normal(5) * 0.1))
    hidden1 = layer1(flat_image)
    hidden1 = nn.ReLU()(hidden1)
    seq_modules = nn.Sequential(flatten, layer1, nn.ReLU(), nn.Linear(5, 10))
    logits = seq_modules(input_image)
    softmax = nn.Softmax(dim=1)
    pred_probab = softmax(logits)
    values += [float(flat_image.size(1)), hidden1.sum().item(), float(logits.shape[1])]
    for _name, param in model.named_parameters():
        values += [float(param.size()[0]), param[:2].sum().item()]

    # --- Automatic Differentiation ---
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = as_tensor(torch, rng.standard_normal((5, 3)), dtype=torch.float32).requires_grad_()
    b = as_tensor(torch, rng.standard_normal(3), dtype=torch.float32, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    values.append(
        float(
            f"Gradient function for z = {z.grad_fn}".startswith(
                "Gradient function for z = <AddBackward0 object at "
            )
        )
    )
    values.append(
        float(
            f"Gradient function for loss = {loss.grad_fn}".startswith(
                "Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0 object at "
            )
        )
    )
    values.append(float(loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"))
    values.append(float(z.grad_fn.name() == "AddBackward0"))
    loss.backward()
    values += [loss.item(), w.grad.sum().item(), w.grad.abs().max().item(), b.grad.sum().item()]
    z = torch.matmul(x, w) + b
    values.append(float(z.requires_grad))
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    values.append(float(z.requires_grad))
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    values += [float(z_det.requires_grad), float(z_det.grad_fn is None)]

    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    values.append(inp.grad.sum().item())  # First call
    out.backward(torch.ones_like(out), retain_graph=True)
    values.append(inp.grad.sum().item())  # Second call
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    values.append(inp.grad.sum().item())  # Call after zeroing gradients
    values.append(float(tuple(inp.grad.shape) == (4, 5)))

    # freezing the first layer by toggling requires_grad in place
    for param in model.linear_relu_stack[0].parameters():
        param.requires_grad_(False)
    values.append(float(sum(p.requires_grad for p in model.parameters())))

    # --- Optimizing Model Parameters ---
    learning_rate = 1e-1
    batch_size = 8
    epochs = 2
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    def train_loop(dataloader: Any, model: Any, loss_fn: Any, optimizer: Any) -> None:
        size = len(dataloader.dataset)
        # Set the model to training mode - important for batch normalization and dropout layers
        # Unnecessary in this situation but added for best practices
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            # Compute prediction and loss
            pred = model(X)
            loss = loss_fn(pred, y)

            # Backpropagation
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

            if batch % 1 == 0:
                loss, current = loss.item(), batch * batch_size + len(X)
                line = f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]"
                values.extend([loss, float(current), float(len(line))])

    def test_loop(dataloader: Any, model: Any, loss_fn: Any) -> None:
        # Set the model to evaluation mode - important for batch normalization and dropout layers
        # Unnecessary in this situation but added for best practices
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0

        # Evaluating the model with torch.no_grad() ensures that no gradients are computed
        # during test mode; also serves to reduce unnecessary gradient computations and memory
        # usage for tensors with requires_grad=True
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y.argmax(1)).type(torch.float).sum().item()

        test_loss /= num_batches
        correct /= size
        values.extend([test_loss, correct])

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=learning_rate
    )
    for t in range(epochs):
        if t == 1:  # unfreeze for the second epoch
            for param in model.linear_relu_stack[0].parameters():
                param.requires_grad_()
            optimizer.add_param_group({"params": list(model.linear_relu_stack[0].parameters())})
        train_loop(train_dataloader, model, loss_fn, optimizer)
        test_loop(test_dataloader, model, loss_fn)

    # --- Save and Load the Model ---
    with tempfile.TemporaryDirectory() as folder:
        weights_path = str(Path(folder) / "model_weights.pth")
        torch.save(model.state_dict(), weights_path)
        model2 = _neural_network_class(torch_like)()
        model2.load_state_dict(torch.load(weights_path, weights_only=True))
        model2.eval()

        model_path = str(Path(folder) / "model.pth")
        torch.save(model, model_path)
        try:
            torch.load(model_path)  # weights_only=True by default: a pickled class is refused
            values.append(0.0)
        except pickle.UnpicklingError:
            values.append(1.0)
        model3 = torch.load(model_path, weights_only=False)
    values.append(float(type(model3) is type(model)))
    values.append(float(model3.training))

    # --- quickstart: making predictions ---
    model3.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model3(x)
        pred2 = model2(x)
        predicted, actual = CLASSES[pred[0].argmax(0)], CLASSES[y.argmax(0)]
    values += [pred.sum().item(), pred2.sum().item()]
    values += [float(CLASSES.index(predicted)), float(CLASSES.index(actual))]
    return values
