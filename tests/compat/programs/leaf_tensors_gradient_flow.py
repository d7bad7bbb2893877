"""PyTorch's tutorials "Understanding requires_grad, retain_grad, Leaf, and Non-leaf Tensors"
(``beginner/understanding_leaf_vs_nonleaf_tutorial``) and "Visualizing Gradients"
(``intermediate/visualizing_gradients_tutorial``), size-reduced.

The idioms of the first: the small graph ``z = (x @ W) + b``, ``y_pred = torch.relu(z)``,
``loss = ((y_pred - y)**2).sum()``; the f-string reports ``f"{x.is_leaf=}"``,
``f"{W.requires_grad=}"``, ``f"{z.retains_grad=}"``; ``loss.backward()`` and ``W.grad``; reading
``z.grad`` of a non-leaf (``None`` with PyTorch's "The .grad attribute of a Tensor that is not a
leaf Tensor is being accessed" ``UserWarning``); ``z.retain_grad()``, ``y_pred.retain_grad()``,
``loss.retain_grad()`` then ``loss.grad`` (``tensor(1.)``) and ``z.grad``; and the ``W.grad``
accumulated by a second backward. The idioms of the second: ``fc_layer(in_size, out_size,
norm_layer)`` as ``nn.Sequential(nn.Linear(in_size, out_size), norm_layer(out_size),
nn.Sigmoid())`` with ``norm_layer = nn.Identity`` (which takes and ignores the width) or
``nn.BatchNorm1d``; ``Net``'s ``torch.flatten(x, 1)``; the hooks ``hook_forward(module_name,
grads, hook_backward)`` (a forward hook calling ``output.retain_grad()``, storing the output and
``output.register_hook(hook_backward(module_name, grads))``) and ``hook_backward`` (a tensor hook
storing ``grad``); ``get_all_layers`` over ``model.named_modules()`` with ``if
any(layer.children()) is False`` and ``layer.register_forward_hook(...)``; the training loop
(``optim.SGD(model.parameters(), lr=lr)``, ``nn.CrossEntropyLoss()``); the per-layer gradient
statistics (``grads[name].abs().mean()`` and the ``.std()`` of each layer's ``.grad``); the
deep sigmoid network without and with batch normalisation (the vanishing-gradient contrast),
and ``handle.remove()``.

Changed: MNIST 28x28 -> 24 seeded 1x8x8 NumPy images in batches of 8; ``hidden_size`` 128 ->
12, ``num_layers`` 10 -> 4, 1 epoch of 938 batches -> 3 batches; the matplotlib plots are the
returned values.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

DTYPE = "float32"


def init_state(tmp_path: Any) -> None:
    """No shared state: the tutorials draw everything from ``torch.manual_seed``."""
    return None


def _leaf_tutorial(torch_like: Any, out: list) -> None:
    torch = torch_like
    x = torch.ones(1, 3)  # input tensor
    W = torch.ones(3, 2, requires_grad=True)  # weights
    b = torch.ones(1, 2, requires_grad=True)  # bias
    y = torch.ones(1, 2)  # output
    z = (x @ W) + b  # pre-activation
    y_pred = torch.relu(z)  # activation
    loss = ((y_pred - y)**2).sum()  # loss  # fmt: skip

    reports = [
        f"{x.is_leaf=}", f"{W.is_leaf=}", f"{b.is_leaf=}", f"{y.is_leaf=}",
        f"{z.is_leaf=}", f"{y_pred.is_leaf=}", f"{loss.is_leaf=}",
        f"{x.requires_grad=}", f"{W.requires_grad=}", f"{z.requires_grad=}",
        f"{z.retains_grad=}", f"{W.retains_grad=}",
    ]  # fmt: skip
    out += [float(r.endswith("True")) for r in reports]
    loss.backward()
    out += W.grad.reshape(-1).tolist() + b.grad.reshape(-1).tolist()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert z.grad is None
    assert len(caught) == 1 and caught[0].category is UserWarning
    assert str(caught[0].message).startswith(
        "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed."
    ), str(caught[0].message)

    z = (x @ W) + b
    y_pred = torch.relu(z)
    loss = ((y_pred - y)**2).sum()  # fmt: skip
    z.retain_grad()
    y_pred.retain_grad()
    loss.retain_grad()
    out += [float(z.retains_grad), float(loss.retains_grad)]
    loss.backward()
    out += [loss.grad.item()] + z.grad.reshape(-1).tolist() + y_pred.grad.reshape(-1).tolist()
    out += W.grad.reshape(-1).tolist()  # accumulated over the two backward passes


def _visualizing_gradients(torch_like: Any, out: list) -> None:
    torch = torch_like
    nn, optim = torch.nn, torch.optim

    def fc_layer(in_size, out_size, norm_layer):  # noqa: ANN001,ANN202
        """Return a stack of linear->norm->sigmoid layers"""
        layer = nn.Sequential(
            nn.Linear(in_size, out_size),
            norm_layer(out_size),
            nn.Sigmoid()
        )  # fmt: skip
        return layer

    class Net(nn.Module):
        """Define a network that has num_layers of linear->norm->sigmoid transformations"""

        def __init__(self, in_size=8*8, hidden_size=12, out_size=10, num_layers=4,
                     batchnorm=False):  # noqa: ANN001 # fmt: skip
            super().__init__()
            if batchnorm is False:
                norm_layer = nn.Identity
            else:
                norm_layer = nn.BatchNorm1d

            layers = []
            layers.append(fc_layer(in_size, hidden_size, norm_layer))

            for _i in range(num_layers - 1):
                layers.append(fc_layer(hidden_size, hidden_size, norm_layer))

            layers.append(nn.Linear(hidden_size, out_size))

            self.layers = nn.Sequential(*layers)

        def forward(self, x):  # noqa: ANN001,ANN201
            x = torch.flatten(x, 1)
            return self.layers(x)

    def hook_forward(module_name, grads, hook_backward):  # noqa: ANN001,ANN202
        def hook(module, args, output):  # noqa: ANN001,ANN202
            """Forward pass hook which attaches backward pass hooks to intermediate tensors"""
            output.retain_grad()
            grads[module_name] = output
            output.register_hook(hook_backward(module_name, grads))

        return hook

    def hook_backward(module_name, grads):  # noqa: ANN001,ANN202
        def hook(grad):  # noqa: ANN001,ANN202
            """Backward pass hook which appends gradients"""
            grads[module_name] = grad

        return hook

    def get_all_layers(model, hook_forward, hook_backward):  # noqa: ANN001,ANN202
        """Register forward pass hook (hook_forward) to each layer in the model"""
        grads = dict()
        layer_names = dict()
        handles = []
        for name, layer in model.named_modules():
            # skip Sequential and/or wrapper modules
            if any(layer.children()) is False:
                layer_names[layer] = name
                handles.append(
                    layer.register_forward_hook(hook_forward(name, grads, hook_backward))
                )
        return layer_names, grads, handles

    rng = np.random.default_rng(77)
    images = rng.random((24, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 10, 24)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(images), torch.tensor(labels)),
        batch_size=8, shuffle=True)  # fmt: skip

    for batchnorm in (False, True):
        torch.manual_seed(5)
        model = Net(batchnorm=batchnorm)
        layer_names, grads, handles = get_all_layers(model, hook_forward, hook_backward)
        out.append(len(layer_names))
        lr = 0.1
        optimizer = optim.SGD(model.parameters(), lr=lr)
        criterion = nn.CrossEntropyLoss()
        model.train()
        for _batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            out.append(loss.item())
            # the mean absolute gradient reaching each leaf layer's output
            out += [grads[name].abs().mean().item() for name in layer_names.values()]
        # the spread of each layer's weight gradients (the tutorial's second plot)
        out += [p.grad.std().item() for name, p in model.named_parameters() if "weight" in name]
        for handle in handles:
            handle.remove()
        grads.clear()
        model(torch.tensor(images[:8])).sum().backward()
        out.append(len(grads))


def run(torch_like: Any, init: None) -> list[float]:
    out: list[float] = []
    _leaf_tutorial(torch_like, out)
    _visualizing_gradients(torch_like, out)
    return [float(v) for v in out]
