"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 2, "Introduction to PyTorch", size-reduced.

The idioms: the tensor basics (``torch.Tensor(2, 3, 4)`` uninitialised then overwritten,
``torch.Tensor([[1, 2], [3, 4]])``, ``x.size()``, ``torch.from_numpy``, ``x.view(3, 2)``,
``x.permute(1, 0)``, ``torch.matmul``, ``x[:, 1]``/``x[0]``/``x[:2, -1]``); the dynamic graph
(``torch.arange(3, dtype=torch.float32, requires_grad=True)``, ``a = x + 2; b = a ** 2; c = b +
3; y = c.mean()``, ``y.backward()``, ``x.grad``); ``SimpleClassifier`` (``nn.Linear``,
``nn.Tanh``) with ``model.named_parameters()``; ``XORDataset(data.Dataset)`` (``torch.randint(
low=0, high=2, size=(self.size, 2), dtype=torch.float32)``, ``(data.sum(dim=1) == 1).to(
torch.long)``, ``data += self.std * torch.randn(data.shape)``) under ``data.DataLoader(...,
batch_size=..., shuffle=True)``; ``train_model`` (``model.train()``, ``preds =
preds.squeeze(dim=1)``, ``loss_module(preds, data_labels.float())`` with
``nn.BCEWithLogitsLoss()``, ``optim.SGD(model.parameters(), lr=0.1)``); saving and loading
(``torch.save(state_dict, "our_model.tar")``, ``torch.load``, ``new_model.load_state_dict``);
``eval_model`` (``torch.no_grad()``, ``torch.sigmoid(preds)``, ``(preds >= 0.5).long()``,
``true_preds += (pred_labels == data_labels).sum()``, ``acc = true_preds / num_preds``,
``f"Accuracy of the model: {100.0*acc:4.2f}%"``); and ``visualize_classification``'s grid
(``torch.arange(-0.5, 1.5, step=0.01)``, ``torch.meshgrid(x1, x2, indexing='ij')``,
``torch.stack([xx1, xx2], dim=-1)``, ``torch.Tensor(to_rgba(...))`` colours, ``(1 - preds) *
c0[None,None] + preds * c1[None,None]``, ``.cpu().numpy()``).

Changed: 2500/500 points -> 64/32, 100 epochs -> 3, hidden 4 kept; the grid step 0.01 -> 0.25;
matplotlib's ``to_rgba`` -> the RGBA tuples of its "C0"/"C1" colours; the file goes to a
temporary directory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def _classifier(torch_like: Any) -> type:
    nn = torch_like.nn

    class SimpleClassifier(nn.Module):
        def __init__(self, num_inputs: int, num_hidden: int, num_outputs: int) -> None:
            super().__init__()
            # Initialize the modules we need to build the network
            self.linear1 = nn.Linear(num_inputs, num_hidden)
            self.act_fn = nn.Tanh()
            self.linear2 = nn.Linear(num_hidden, num_outputs)

        def forward(self, x: Any) -> Any:
            # Perform the calculation of the model to determine the prediction
            x = self.linear1(x)
            x = self.act_fn(x)
            x = self.linear2(x)
            return x

    return SimpleClassifier


def make_model(torch_like: Any) -> Any:
    return _classifier(torch_like)(num_inputs=2, num_hidden=4, num_outputs=1)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    data = torch.utils.data
    torch.manual_seed(42)  # Setting the seed
    values: list[float] = []

    x = torch.Tensor(2, 3, 4)
    x = torch.Tensor([[1, 2], [3, 4]])
    values += [x.size()[0], x.sum().item(), x.dtype == torch.float32]
    np_arr = np.array([[1, 2], [3, 4]])
    tensor = torch.from_numpy(np_arr)
    x = torch.arange(6)
    x = x.view(2, 3)
    x = x.permute(1, 0)  # Swapping dimension 0 and 1
    W = torch.arange(9).view(3, 3)  # We can also stack multiple operations in a single line
    h = torch.matmul(x.T, W)  # noqa: N806
    x = torch.arange(12).view(3, 4)
    values += [tensor.sum().item(), h.sum().item(), x[:, 1].sum().item(), x[:2, -1].sum().item()]

    x = torch.arange(
        3, dtype=torch.float32, requires_grad=True
    )  # Only float tensors can have gradients
    a = x + 2
    b = a**2
    c = b + 3
    y = c.mean()
    y.backward()
    values += x.grad.tolist()

    class XORDataset(data.Dataset):
        def __init__(self, size: int, std: float = 0.1) -> None:
            """
            Inputs:
                size - Number of data points we want to generate
                std - Standard deviation of the noise (see generate_continuous_xor function)
            """
            super().__init__()
            self.size = size
            self.std = std
            self.generate_continuous_xor()

        def generate_continuous_xor(self) -> None:
            # Each data point in the XOR dataset has two variables, x and y, that can be
            # either 0 or 1. The label is their XOR combination, i.e. 1 if only x or only y
            # is 1 while the other is 0. If x=y, the label is 0.
            data = torch.randint(low=0, high=2, size=(self.size, 2), dtype=torch.float32)
            label = (data.sum(dim=1) == 1).to(torch.long)
            # To make it slightly more challenging, we add a bit of gaussian noise to the data
            # points.
            data += self.std * torch.randn(data.shape)

            self.data = data
            self.label = label

        def __len__(self) -> int:
            # Number of data point we have. Alternatively self.data.shape[0], or len(self.data)
            return self.size

        def __getitem__(self, idx: int) -> tuple[Any, Any]:
            # Return the idx-th data point of the dataset
            # If we have multiple things to return (data point and label), we can return them as
            # tuple
            data_point = self.data[idx]
            data_label = self.label[idx]
            return data_point, data_label

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values += [p.numel() for _, p in model.named_parameters()]

    train_dataset = XORDataset(size=64)
    train_data_loader = data.DataLoader(train_dataset, batch_size=16, shuffle=True)
    loss_module = nn.BCEWithLogitsLoss()
    # Input to the optimizer are the parameters of the model: model.parameters()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    # noqa: ANN001, ANN202
    def train_model(model, optimizer, data_loader, loss_module, num_epochs=3):
        # Set model to train mode
        model.train()

        # Training loop
        for _epoch in range(num_epochs):
            for data_inputs, data_labels in data_loader:
                ## Step 1: Move input data to device (only strictly necessary if we use GPU)
                ## Step 2: Run the model on the input data
                preds = model(data_inputs)
                preds = preds.squeeze(dim=1)  # Output is [Batch size, 1], but we want [Batch size]

                ## Step 3: Calculate the loss
                loss = loss_module(preds, data_labels.float())

                ## Step 4: Perform backpropagation
                # Before calculating the gradients, we need to ensure that they are all zero.
                # The gradients would not be overwritten, but actually added to the existing ones.
                optimizer.zero_grad()
                # Perform backpropagation
                loss.backward()

                ## Step 5: Update the parameters
                optimizer.step()
                values.append(loss.item())

    train_model(model, optimizer, train_data_loader, loss_module)

    with tempfile.TemporaryDirectory() as tmp:
        state_dict = model.state_dict()
        torch.save(state_dict, str(Path(tmp) / "our_model.tar"))
        # Load state dict from the disk (make sure it is the same name as above)
        state_dict = torch.load(str(Path(tmp) / "our_model.tar"))
    # Create a new model and load the state
    new_model = make_model(torch_like)
    new_model.load_state_dict(state_dict)

    test_dataset = XORDataset(size=32)
    # drop_last -> Don't drop the last batch although it is smaller than 128
    test_data_loader = data.DataLoader(test_dataset, batch_size=16, shuffle=False, drop_last=False)

    def eval_model(model: Any, data_loader: Any) -> float:
        model.eval()  # Set model to eval mode
        true_preds, num_preds = 0.0, 0.0

        with torch.no_grad():  # Deactivate gradients for the following code
            for data_inputs, data_labels in data_loader:
                # Determine prediction of model on dev set
                preds = model(data_inputs)
                preds = preds.squeeze(dim=1)
                preds = torch.sigmoid(preds)  # Sigmoid to map predictions between 0 and 1
                pred_labels = (preds >= 0.5).long()  # Binarize predictions to 0 and 1

                # Keep records of predictions for the accuracy metric (true_preds=TP+TN,
                # num_preds=TP+TN+FP+FN)
                true_preds += (pred_labels == data_labels).sum()
                num_preds += data_labels.shape[0]

        acc = true_preds / num_preds
        report = f"Accuracy of the model: {100.0 * acc:4.2f}%"
        return float(report.split()[-1].rstrip("%"))

    values.append(eval_model(new_model, test_data_loader))

    # Decorator, same effect as "with torch.no_grad(): ..." over the whole function.
    @torch.no_grad()
    def visualize_classification(model: Any, data: Any, label: Any) -> Any:
        # Let's make use of a lot of operations we have learned above
        model.to("cpu")
        c0 = torch.Tensor((0.12156862745098039, 0.4666666666666667, 0.7058823529411765, 1.0))
        c1 = torch.Tensor((1.0, 0.4980392156862745, 0.054901960784313725, 1.0))
        x1 = torch.arange(-0.5, 1.5, step=0.25)
        x2 = torch.arange(-0.5, 1.5, step=0.25)
        xx1, xx2 = torch.meshgrid(x1, x2, indexing="ij")  # Meshgrid function as in numpy
        model_inputs = torch.stack([xx1, xx2], dim=-1)
        preds = model(model_inputs)
        preds = torch.sigmoid(preds)
        # Specifying "None" in a dimension creates a new one
        output_image = (1 - preds) * c0[None, None] + preds * c1[None, None]
        # Convert to numpy array. This only works for tensors on CPU, hence first push to CPU
        output_image = output_image.cpu().numpy()
        return output_image

    image = visualize_classification(model, test_dataset.data, test_dataset.label)
    values += [float(image.sum()), image.shape[0]]
    return values
