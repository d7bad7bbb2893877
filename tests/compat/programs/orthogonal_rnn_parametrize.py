"""Orthogonal recurrent networks through ``torch.nn.utils.parametrize``, as PyTorch's
parametrizations tutorial and Lezcano's expRNN (``expRNN/exprnn.py``, the copying-memory
task) write them, size-reduced.

An ``nn.RNN`` whose ``weight_hh_l0`` is made orthogonal by two chained
``parametrize.register_parametrization`` calls, the tutorial's ``Skew`` (``A = X.triu(1)``,
``A - A.transpose(-1, -2)``) then ``MatrixExponential`` (``torch.matrix_exp(X)``), read back
through ``model.rnn.parametrizations.weight_hh_l0.original``; an expRNN cell (``input_kernel``
+ ``recurrent_kernel``, the ``modrelu`` non-linearity ``phase * F.relu(torch.abs(inputs) +
self.b)``) whose recurrent kernel is ``nn.utils.parametrizations.orthogonal``; the input kernel
under ``parametrizations.weight_norm`` (``original0`` = g, ``original1`` = v) and the readout
under ``parametrizations.spectral_norm`` (its power-iteration vectors ``_u``/``_v`` are
buffers, loaded from the reference so both runs start equal). The copying-memory task (digits,
blanks, a delimiter; cross-entropy on the recalled digits) is trained with ``RMSprop``, the
forward runs inside ``parametrize.cached()``, and at the end
``parametrize.remove_parametrizations(..., leave_parametrized=True)`` bakes the orthogonal
weight into a plain parameter (the output is unchanged), ``is_parametrized`` flips, and the
orthogonality error ``|W^T W - I|`` of every map (``matrix_exp``, ``cayley``, ``householder``)
is compared, as is assigning an orthogonal matrix to the parametrized weight (its
``right_inverse``), also with ``use_trivialization=False`` (householder's original holds
geqrf's reflectors; assigning to the Cayley map raises NotImplementedError).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DIGITS, BLANKS, HIDDEN, BATCH, STEPS = 3, 4, 6, 4, 4
VOCAB = 6  # 0 blank, 1..4 digits, 5 delimiter
SEQ = 2 * DIGITS + BLANKS


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional
    parametrize = nn.utils.parametrize
    P = nn.utils.parametrizations

    class Skew(nn.Module):
        def forward(self, X: Any) -> Any:
            A = X.triu(1)
            return A - A.transpose(-1, -2)

    class MatrixExponential(nn.Module):
        def forward(self, X: Any) -> Any:
            return torch.matrix_exp(X)

    class modrelu(nn.Module):
        def __init__(self, features: int) -> None:
            super().__init__()
            self.features = features
            self.b = nn.Parameter(torch.Tensor(self.features))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            self.b.data.uniform_(-0.01, 0.01)

        def forward(self, inputs: Any) -> Any:
            norm = torch.abs(inputs)
            biased_norm = norm + self.b
            magnitude = F.relu(biased_norm)
            phase = torch.sign(inputs)
            return phase * magnitude

    class ExpRNNCell(nn.Module):
        def __init__(self, input_size: int, hidden_size: int) -> None:
            super().__init__()
            self.hidden_size = hidden_size
            self.input_kernel = P.weight_norm(nn.Linear(input_size, hidden_size, bias=False))
            self.recurrent_kernel = P.orthogonal(nn.Linear(hidden_size, hidden_size, bias=False))
            self.nonlinearity = modrelu(hidden_size)

        def forward(self, input: Any, hidden: Any) -> Any:
            input = self.input_kernel(input)
            hidden = self.recurrent_kernel(hidden)
            return self.nonlinearity(input + hidden)

        def default_hidden(self, input: Any) -> Any:
            return input.new_zeros(input.size(0), self.hidden_size, requires_grad=False)

    class CopyModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(VOCAB, HIDDEN, batch_first=True)
            parametrize.register_parametrization(self.rnn, "weight_hh_l0", Skew())
            parametrize.register_parametrization(self.rnn, "weight_hh_l0", MatrixExponential())
            self.cell = ExpRNNCell(VOCAB, HIDDEN)
            self.lin = P.spectral_norm(nn.Linear(2 * HIDDEN, VOCAB))

        def forward(self, inputs: Any) -> Any:
            x = F.one_hot(inputs, VOCAB).to(self.lin.bias.dtype)
            out_rnn, _ = self.rnn(x)
            state = self.cell.default_hidden(x[:, 0])
            outputs = []
            for step in x.unbind(1):
                state = self.cell(step, state)
                outputs.append(state)
            out_cell = torch.stack(outputs, dim=1)
            return self.lin(torch.cat([out_rnn, out_cell], dim=-1))

    return CopyModel()


def copy_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    digits = rng.integers(1, VOCAB - 1, (BATCH, DIGITS))
    x = np.zeros((BATCH, SEQ), dtype=np.int64)
    y = np.zeros((BATCH, SEQ), dtype=np.int64)
    x[:, :DIGITS] = digits
    x[:, DIGITS + BLANKS - 1] = VOCAB - 1
    y[:, -DIGITS:] = digits
    return x, y


def orthogonality(torch_like: Any, W: Any) -> float:
    eye = torch_like.eye(W.shape[-1], dtype=W.dtype)
    return (W.T @ W - eye).abs().max().item()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    parametrize = nn.utils.parametrize
    P = nn.utils.parametrizations
    rng = np.random.default_rng(7)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    x_np, y_np = copy_data(rng)
    x, y = as_tensor(torch, x_np), as_tensor(torch, y_np)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-2)
    values = [float(len(list(model.parameters()))), float(len(model.state_dict()))]
    for _step in range(STEPS):
        optimizer.zero_grad()
        with parametrize.cached():
            logits = model(x)
        loss = criterion(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()
        original = model.rnn.parametrizations.weight_hh_l0.original
        values += [loss.item(), original.grad.abs().sum().item()]
        values += [orthogonality(torch, model.rnn.weight_hh_l0)]
        values += [orthogonality(torch, model.cell.recurrent_kernel.weight)]
        values += model.lin.parametrizations.weight[0]._u.tolist()
    spectral = torch.linalg.matrix_norm(model.lin.weight.detach(), ord=2).item()
    g = model.cell.input_kernel.parametrizations.weight.original0
    v = model.cell.input_kernel.parametrizations.weight.original1
    wn = (g * v / v.norm(dim=1, keepdim=True) - model.cell.input_kernel.weight).abs().max()
    values += [spectral, wn.item()]

    model.eval()
    with torch.no_grad():
        before = model(x)
        W = model.rnn.weight_hh_l0.detach().clone()
        parametrize.remove_parametrizations(model.rnn, "weight_hh_l0", leave_parametrized=True)
        after = model(x)
    values += [float(parametrize.is_parametrized(model.rnn, "weight_hh_l0"))]
    values += [float(isinstance(model.rnn.weight_hh_l0, nn.Parameter))]
    values += [(before - after).abs().max().item(), (model.rnn.weight_hh_l0 - W).abs().max().item()]
    values += before.flatten().tolist()

    base = as_tensor(torch, rng.standard_normal((4, 4)))
    for orthogonal_map in ("matrix_exp", "cayley", "householder"):
        layer = nn.Linear(4, 4, bias=False)
        with torch.no_grad():
            layer.weight.copy_(base)
        P.orthogonal(layer, orthogonal_map=orthogonal_map)
        values += [orthogonality(torch, layer.weight)]
        Q, _ = torch.linalg.qr(base)
        with torch.no_grad():
            layer.weight = Q
        values += [(layer.weight - Q).abs().max().item()]
    # without the trivialization the original is the map's own argument (geqrf's reflectors
    # for householder); the exponential and Cayley maps then cannot be assigned to
    for orthogonal_map in ("householder", "cayley"):
        shape = (5, 3) if orthogonal_map == "householder" else (4, 4)
        tall = as_tensor(torch, rng.standard_normal(shape))
        layer = nn.Linear(shape[1], shape[0], bias=False)
        with torch.no_grad():
            layer.weight.copy_(tall)
        P.orthogonal(layer, orthogonal_map=orthogonal_map, use_trivialization=False)
        values += [orthogonality(torch, layer.weight)]
        values += layer.parametrizations.weight.original.flatten().tolist()
        values += layer.weight.flatten().tolist()
        Q, _ = torch.linalg.qr(tall)
        try:
            with torch.no_grad():
                layer.weight = Q
            values += [(layer.weight - Q).abs().max().item()]
        except NotImplementedError:
            values += [-1.0]
    return values


def check(values: list[float]) -> None:
    assert values[:2] == [10.0, 13.0]  # 10 trainable tensors; + 3 buffers (_u, _v, base)
