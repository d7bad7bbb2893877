"""The PyTorch "Custom C++ and CUDA Extensions" tutorial (``advanced/cpp_extension``, the
pytorch/extension-cpp repository), size-reduced, with its C++ kernels ported line by line to
Python as users do before (or instead of) compiling them: the pure-PyTorch ``LLTM`` module
(``torch.nn.Parameter(torch.empty(3 * state_size, input_features + state_size))``,
``reset_parameters`` with ``weight.data.uniform_(-stdv, +stdv)`` over ``self.parameters()``,
``torch.cat([old_h, input], dim=1)``, ``F.linear``, ``gate_weights.chunk(3, dim=1)``,
``torch.sigmoid``, ``F.elu``); ``lltm_forward`` (``torch.addmm(bias, X, weights.transpose(0,
1))``) and ``lltm_backward`` with the hand-written derivatives ``d_sigmoid``, ``d_tanh`` and
``d_elu`` (``(z > 0).type_as(z) + mask.type_as(z) * (alpha * e)``), ``d_gates.t().mm(X)``,
``d_gates.sum(dim=0, keepdim=True)`` -- a (1, 3S) gradient for the (3S,) bias, which autograd
sums back to the bias's shape -- and ``d_X.narrow`` slices; ``LLTMFunction(torch.autograd.
Function)`` (``outputs[1:] + [weights]`` saved by ``ctx.save_for_backward(*variables)``,
``grad_h.contiguous()``) and the Function-backed ``LLTM`` module; ``grad_check.py``
(``gradcheck(LLTMFunction.apply, variables)`` on double tensors with ``requires_grad=True``)
and ``check.py`` (both implementations agree, ``torch.allclose``); ``benchmark.py``'s loop
(``new_h, new_C = rnn(X, (h, C))``, ``(new_h.sum() + new_C.sum()).backward()``).

Changed: batch 16 -> 3, input_features 32 -> 4, state_size 128 -> 5; the benchmark's timing
is dropped and its loop becomes a few SGD steps on the same objective (so that the manual
backward drives training); ``torch.randn`` inputs come from NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

BATCH, INPUT_FEATURES, STATE_SIZE = 3, 4, 5


def _classes(torch_like: Any) -> tuple[type, type, type]:
    torch = torch_like
    F = torch_like.nn.functional

    class LLTM(torch.nn.Module):
        def __init__(self, input_features: int, state_size: int) -> None:
            super(LLTM, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.input_features = input_features
            self.state_size = state_size
            # 3 * state_size for input gate, output gate and candidate cell gate.
            # input_features + state_size because we will multiply with [input, h].
            self.weights = torch.nn.Parameter(
                torch.empty(3 * state_size, input_features + state_size)
            )
            self.bias = torch.nn.Parameter(torch.empty(3 * state_size))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            stdv = 1.0 / math.sqrt(self.state_size)
            for weight in self.parameters():
                weight.data.uniform_(-stdv, +stdv)

        def forward(self, input: Any, state: tuple[Any, Any]) -> tuple[Any, Any]:
            old_h, old_cell = state
            X = torch.cat([old_h, input], dim=1)

            # Compute the input, output and candidate cell gates with one MM.
            gate_weights = F.linear(X, self.weights, self.bias)
            # Split the combined gate weight matrix into its components.
            gates = gate_weights.chunk(3, dim=1)

            input_gate = torch.sigmoid(gates[0])
            output_gate = torch.sigmoid(gates[1])
            # Here we use an ELU instead of the usual tanh.
            candidate_cell = F.elu(gates[2])

            # Compute the new cell state.
            new_cell = old_cell + candidate_cell * input_gate
            # Compute the new hidden state and output.
            new_h = torch.tanh(new_cell) * output_gate

            return new_h, new_cell

    # lltm.cpp, ported
    def d_sigmoid(z: Any) -> Any:
        s = torch.sigmoid(z)
        return (1 - s) * s

    def d_tanh(z: Any) -> Any:
        return 1 - z.tanh().pow(2)

    def d_elu(z: Any, alpha: float = 1.0) -> Any:
        e = z.exp()
        mask = (alpha * (e - 1)) < 0
        return (z > 0).type_as(z) + mask.type_as(z) * (alpha * e)

    def lltm_forward(input: Any, weights: Any, bias: Any, old_h: Any, old_cell: Any) -> list[Any]:
        X = torch.cat([old_h, input], dim=1)

        gate_weights = torch.addmm(bias, X, weights.transpose(0, 1))
        gates = gate_weights.chunk(3, dim=1)

        input_gate = torch.sigmoid(gates[0])
        output_gate = torch.sigmoid(gates[1])
        candidate_cell = torch.nn.functional.elu(gates[2], alpha=1.0)

        new_cell = old_cell + candidate_cell * input_gate
        new_h = torch.tanh(new_cell) * output_gate

        return [new_h, new_cell, input_gate, output_gate, candidate_cell, X, gate_weights]

    def lltm_backward(
        grad_h: Any,
        grad_cell: Any,
        new_cell: Any,
        input_gate: Any,
        output_gate: Any,
        candidate_cell: Any,
        X: Any,
        gate_weights: Any,
        weights: Any,
    ) -> list[Any]:
        d_output_gate = torch.tanh(new_cell) * grad_h
        d_tanh_new_cell = output_gate * grad_h
        d_new_cell = d_tanh(new_cell) * d_tanh_new_cell + grad_cell

        d_old_cell = d_new_cell
        d_candidate_cell = input_gate * d_new_cell
        d_input_gate = candidate_cell * d_new_cell

        gates = gate_weights.chunk(3, dim=1)
        d_input_gate *= d_sigmoid(gates[0])
        d_output_gate *= d_sigmoid(gates[1])
        d_candidate_cell *= d_elu(gates[2])

        d_gates = torch.cat([d_input_gate, d_output_gate, d_candidate_cell], dim=1)

        d_weights = d_gates.t().mm(X)
        d_bias = d_gates.sum(dim=0, keepdim=True)

        d_X = d_gates.mm(weights)
        state_size = grad_h.size(1)
        d_old_h = d_X.narrow(1, 0, state_size)
        d_input = d_X.narrow(1, state_size, d_X.size(1) - state_size)

        return [d_old_h, d_input, d_weights, d_bias, d_old_cell]

    class LLTMFunction(torch.autograd.Function):
        @staticmethod
        def forward(
            ctx: Any, input: Any, weights: Any, bias: Any, old_h: Any, old_cell: Any
        ) -> tuple[Any, Any]:
            outputs = lltm_forward(input, weights, bias, old_h, old_cell)
            new_h, new_cell = outputs[:2]
            variables = outputs[1:] + [weights]
            ctx.save_for_backward(*variables)

            return new_h, new_cell

        @staticmethod
        def backward(ctx: Any, grad_h: Any, grad_cell: Any) -> tuple[Any, ...]:
            outputs = lltm_backward(grad_h.contiguous(), grad_cell.contiguous(), *ctx.saved_tensors)
            d_old_h, d_input, d_weights, d_bias, d_old_cell = outputs
            return d_input, d_weights, d_bias, d_old_h, d_old_cell

    class LLTMExt(torch.nn.Module):
        def __init__(self, input_features: int, state_size: int) -> None:
            super(LLTMExt, self).__init__()  # noqa: UP008
            self.input_features = input_features
            self.state_size = state_size
            self.weights = torch.nn.Parameter(
                torch.empty(3 * state_size, input_features + state_size)
            )
            self.bias = torch.nn.Parameter(torch.empty(3 * state_size))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            stdv = 1.0 / math.sqrt(self.state_size)
            for weight in self.parameters():
                weight.data.uniform_(-stdv, +stdv)

        def forward(self, input: Any, state: tuple[Any, Any]) -> tuple[Any, Any]:
            return LLTMFunction.apply(input, self.weights, self.bias, *state)

    return LLTM, LLTMExt, LLTMFunction


def make_model(torch_like: Any) -> Any:
    LLTM, _, _ = _classes(torch_like)
    return LLTM(INPUT_FEATURES, STATE_SIZE)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    LLTM, LLTMExt, LLTMFunction = _classes(torch_like)
    rng = np.random.default_rng(5)
    values: list[float] = []

    # grad_check.py
    kwargs = {"dtype": torch.float64, "requires_grad": True}
    X = as_tensor(torch_like, rng.standard_normal((BATCH, INPUT_FEATURES)), **kwargs)
    h = as_tensor(torch_like, rng.standard_normal((BATCH, STATE_SIZE)), **kwargs)
    C = as_tensor(torch_like, rng.standard_normal((BATCH, STATE_SIZE)), **kwargs)
    W = as_tensor(
        torch_like, rng.standard_normal((3 * STATE_SIZE, INPUT_FEATURES + STATE_SIZE)), **kwargs
    )
    b = as_tensor(torch_like, rng.standard_normal((1, 3 * STATE_SIZE)), **kwargs)
    variables = [X, W, b, h, C]
    if torch.autograd.gradcheck(LLTMFunction.apply, variables):
        values.append(1.0)  # print('Ok')

    # check.py: the Python module and the Function-backed one agree
    python_rnn, ext_rnn = LLTM(INPUT_FEATURES, STATE_SIZE), LLTMExt(INPUT_FEATURES, STATE_SIZE)
    load_numpy_state(torch_like, python_rnn, init)
    ext_rnn.load_state_dict(python_rnn.state_dict())
    grads = []
    for rnn in (python_rnn, ext_rnn):
        rnn.zero_grad()
        new_h, new_C = rnn(X, (h, C))
        (new_h.sum() + new_C.sum()).backward()
        grads.append([p.grad.clone() for p in rnn.parameters()] + [X.grad.clone()])
        X.grad = None
        values += new_h.flatten().tolist()
    values.append(float(all(torch.allclose(a, e) for a, e in zip(*grads, strict=True))))

    # benchmark.py's forward/backward, as a short training run through the manual backward
    optimizer = torch.optim.SGD(ext_rnn.parameters(), lr=0.1)
    x = X.detach()
    state = (h.detach(), C.detach())
    for _ in range(4):
        optimizer.zero_grad()
        new_h, new_C = ext_rnn(x, state)
        loss = (new_h.sum() + new_C.sum()) ** 2 / 100.0
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values += ext_rnn.bias.detach().flatten().tolist()
    return values
