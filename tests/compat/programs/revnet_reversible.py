"""Reversible residual networks, as lucidrains/reformer-pytorch (``reversible.py``) and
silvandeleemput/memcnn (``InvertibleCheckpointFunction``, ``AdditiveCoupling``) write them,
size-reduced:

- ``Deterministic`` (records ``torch.get_rng_state()`` in the forward and replays it with
  ``torch.random.fork_rng(devices=[], enabled=True)`` + ``torch.set_rng_state`` when the block
  is recomputed, so dropout draws the same mask twice);
- ``ReversibleBlock.forward`` (``torch.chunk(x, 2, dim=2)``, ``y1 = x1 + f(x2)``, ``y2 = x2 +
  g(y1)`` under ``torch.no_grad()``, ``torch.cat``) and ``backward_pass`` (``torch.enable_grad()``,
  ``y1.requires_grad = True``, ``torch.autograd.backward(gy1, dy2)``, ``y1.grad`` read and reset
  to ``None``, ``x2 = y2 - gy1`` under ``no_grad``, ``retain_graph=True``, ``x2.detach()``);
- ``_ReversibleFunction`` (a ``torch.autograd.Function`` taking the ``nn.ModuleList`` of blocks
  and a kwargs dict, ``ctx.y = x.detach()``, backward walking ``ctx.blocks[::-1]`` and returning
  ``dy, None, None``), driven by ``ReversibleSequence``;
- memcnn's ``InvertibleCheckpointFunction``: ``ctx.save_for_backward`` of the *outputs* (detached
  with ``detach_()``), the input freed by ``inputs[0].set_()`` and restored from the inverse by
  ``set_`` in ``backward`` (under ``no_grad``), ``ctx.set_materialize_grads(False)``,
  ``@once_differentiable``, ``torch.autograd.grad(temp_output, detached_inputs + weights,
  grad_outputs)`` after recomputing under ``torch.set_grad_enabled(True)``, returning
  ``(None,) * k + gradients``;

and the check both repositories' tests make: the reversible network's gradients (input and
every weight) equal those of the plain network that keeps its activations.

Changed: the attention/feed-forward sublayers are small ``nn.Sequential`` MLPs; the random
dropout of training (whose draws differ between frameworks) only enters through differences
(reversible minus plain, which are zero when the RNG replay works); CUDA RNG state is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DIM = 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def sub() -> Any:
        return nn.Sequential(
            nn.LayerNorm(DIM // 2), nn.Linear(DIM // 2, 8), nn.GELU(), nn.Dropout(0.25),
            nn.Linear(8, DIM // 2),
        )  # fmt: skip

    return nn.ModuleDict(
        {
            "f": nn.ModuleList([sub() for _ in range(2)]),
            "g": nn.ModuleList([sub() for _ in range(2)]),
            "coupling": nn.Sequential(nn.Linear(DIM // 2, DIM // 2), nn.Tanh()),
            "head": nn.Linear(DIM, 3),
        }
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    Function = torch.autograd.Function
    once_differentiable = torch.autograd.function.once_differentiable

    class Deterministic(nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net
            self.cpu_state = None

        def record_rng(self, *args: Any) -> None:
            self.cpu_state = torch.get_rng_state()

        def forward(self, *args: Any, record_rng: bool = False, set_rng: bool = False) -> Any:
            if record_rng:
                self.record_rng(*args)
            if not set_rng:
                return self.net(*args)
            with torch.random.fork_rng(devices=[], enabled=True):
                torch.set_rng_state(self.cpu_state)
                return self.net(*args)

    class ReversibleBlock(nn.Module):
        def __init__(self, f: Any, g: Any) -> None:
            super().__init__()
            self.f = Deterministic(f)
            self.g = Deterministic(g)

        def forward(self, x: Any, f_args: dict = {}, g_args: dict = {}) -> Any:  # noqa: B006
            x1, x2 = torch.chunk(x, 2, dim=2)
            y1, y2 = None, None
            with torch.no_grad():
                y1 = x1 + self.f(x2, record_rng=self.training, **f_args)
                y2 = x2 + self.g(y1, record_rng=self.training, **g_args)
            return torch.cat([y1, y2], dim=2)

        def backward_pass(self, y: Any, dy: Any, f_args: dict = {}, g_args: dict = {}) -> Any:  # noqa: B006
            y1, y2 = torch.chunk(y, 2, dim=2)
            del y
            dy1, dy2 = torch.chunk(dy, 2, dim=2)
            del dy
            with torch.enable_grad():
                y1.requires_grad = True
                gy1 = self.g(y1, set_rng=True, **g_args)
                torch.autograd.backward(gy1, dy2)
            with torch.no_grad():
                x2 = y2 - gy1
                del y2, gy1
                dx1 = dy1 + y1.grad
                del dy1
                y1.grad = None
            with torch.enable_grad():
                x2.requires_grad = True
                fx2 = self.f(x2, set_rng=True, **f_args)
                torch.autograd.backward(fx2, dx1, retain_graph=True)
            with torch.no_grad():
                x1 = y1 - fx2
                del y1, fx2
                dx2 = dy2 + x2.grad
                del dy2
                x2.grad = None
                x = torch.cat([x1, x2.detach()], dim=2)
                dx = torch.cat([dx1, dx2], dim=2)
            return x, dx

    class IrreversibleBlock(nn.Module):
        def __init__(self, f: Any, g: Any) -> None:
            super().__init__()
            self.f = f
            self.g = g

        def forward(self, x: Any, f_args: dict = {}, g_args: dict = {}) -> Any:  # noqa: B006
            x1, x2 = torch.chunk(x, 2, dim=2)
            y1 = x1 + self.f(x2, **f_args)
            y2 = x2 + self.g(y1, **g_args)
            return torch.cat([y1, y2], dim=2)

    class _ReversibleFunction(Function):
        @staticmethod
        def forward(ctx: Any, x: Any, blocks: Any, kwargs: dict) -> Any:
            ctx.kwargs = kwargs
            for block in blocks:
                x = block(x, **kwargs)
            ctx.y = x.detach()
            ctx.blocks = blocks
            return x

        @staticmethod
        def backward(ctx: Any, dy: Any) -> Any:
            y = ctx.y
            kwargs = ctx.kwargs
            for block in ctx.blocks[::-1]:
                y, dy = block.backward_pass(y, dy, **kwargs)
            return dy, None, None

    class ReversibleSequence(nn.Module):
        def __init__(self, blocks: list) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([ReversibleBlock(f, g) for f, g in blocks])
            self.irrev_blocks = nn.ModuleList([IrreversibleBlock(f=f, g=g) for f, g in blocks])

        def forward(self, x: Any, arg_route: tuple = (True, False), **kwargs: Any) -> Any:
            reverse = kwargs.pop("reverse", True)
            if not reverse:
                for block in self.irrev_blocks:
                    x = block(x)
                return x
            block_kwargs = {"f_args": {}, "g_args": {}}
            return _ReversibleFunction.apply(x, self.blocks, block_kwargs)

    # memcnn: an invertible additive coupling checkpointed by a custom Function
    class AdditiveCoupling(nn.Module):
        def __init__(self, Fm: Any) -> None:
            super().__init__()
            self.Fm = Fm

        def forward(self, x: Any) -> Any:
            x1, x2 = torch.chunk(x, 2, dim=1)
            y2 = x2 + self.Fm.forward(x1)
            return torch.cat([x1, y2], dim=1)

        def inverse(self, y: Any) -> Any:
            y1, y2 = torch.chunk(y, 2, dim=1)
            x2 = y2 - self.Fm.forward(y1)
            return torch.cat([y1, x2], dim=1)

    class InvertibleCheckpointFunction(Function):
        @staticmethod
        def forward(ctx: Any, fn: Any, fn_inverse: Any, keep_input: bool, num_inputs: int,
                    *inputs_and_weights: Any) -> Any:  # fmt: skip
            ctx.fn = fn
            ctx.fn_inverse = fn_inverse
            ctx.keep_input = keep_input
            ctx.weights = inputs_and_weights[num_inputs:]
            ctx.set_materialize_grads(False)
            inputs = inputs_and_weights[:num_inputs]
            ctx.input_requires_grad = [element.requires_grad for element in inputs]
            with torch.no_grad():
                x = [element.detach() for element in inputs]
                outputs = ctx.fn(*x)
            if not isinstance(outputs, tuple):
                outputs = (outputs,)
            detached_outputs = tuple([element.detach_() for element in outputs])
            if not ctx.keep_input:
                inputs[0].set_()
            ctx.inputs = inputs
            ctx.save_for_backward(*detached_outputs)
            return detached_outputs

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, *grad_outputs: Any) -> Any:
            inputs = ctx.inputs
            outputs = ctx.saved_tensors
            if grad_outputs[0] is None:
                return (None,) * (4 + len(inputs) + len(ctx.weights))
            if not ctx.keep_input:
                with torch.no_grad():
                    inputs_inverted = ctx.fn_inverse(*outputs)
                    if not isinstance(inputs_inverted, tuple):
                        inputs_inverted = (inputs_inverted,)
                    for element_original, element_inverted in zip(inputs, inputs_inverted):
                        element_original.set_(element_inverted)
            with torch.set_grad_enabled(True):
                detached_inputs = tuple(
                    element.detach().requires_grad_(rg)
                    for element, rg in zip(inputs, ctx.input_requires_grad)
                )
                temp_output = ctx.fn(*detached_inputs)
            if not isinstance(temp_output, tuple):
                temp_output = (temp_output,)
            filtered = tuple(i for i in detached_inputs if i.requires_grad)
            gradients = torch.autograd.grad(
                outputs=temp_output, inputs=filtered + ctx.weights, grad_outputs=grad_outputs
            )
            input_gradients = []
            i = 0
            for rg in ctx.input_requires_grad:
                if rg:
                    input_gradients.append(gradients[i])
                    i += 1
                else:
                    input_gradients.append(None)
            gradients = tuple(input_gradients) + gradients[-len(ctx.weights) :]
            return (None, None, None, None) + gradients

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(24)
    data = rng.standard_normal((2, 4, DIM))
    labels = as_tensor(torch, rng.integers(0, 3, (2,)))
    seq = ReversibleSequence(list(zip(model["f"], model["g"])))
    head = model["head"]
    params = [p for n, p in model.named_parameters() if not n.startswith("coupling")]
    values: list[float] = []

    def grads_of(reverse: bool, seed: int) -> tuple[Any, list, Any]:
        for p in params:
            p.grad = None
        x = as_tensor(torch, data).requires_grad_()
        torch.manual_seed(seed)
        out = seq(x, reverse=reverse)
        loss = torch.nn.functional.cross_entropy(head(out.mean(dim=1)), labels)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in params], x.grad.clone()

    # eval mode: no dropout, every number is deterministic and compared across frameworks
    model.eval()
    loss_r, g_r, x_r = grads_of(True, 0)
    loss_p, g_p, x_p = grads_of(False, 0)
    values += [loss_r.item(), loss_p.item(), x_r.abs().sum().item()]
    values += [sum(g.abs().sum().item() for g in g_r)]
    values.append(max((a - b).abs().max().item() for a, b in zip(g_r + [x_r], g_p + [x_p])))

    # train mode: dropout on, the RNG replay makes the recomputation see the same masks
    model.train()
    _, g_rt, x_rt = grads_of(True, 7)
    _, g_pt, x_pt = grads_of(False, 7)
    values.append(max((a - b).abs().max().item() for a, b in zip(g_rt + [x_rt], g_pt + [x_pt])))
    model.eval()

    # memcnn coupling: input freed in forward, rebuilt from the outputs in backward
    coupling = AdditiveCoupling(model["coupling"])
    weights = tuple(coupling.parameters())
    xin = as_tensor(torch, rng.standard_normal((3, DIM))).requires_grad_()
    inp = xin * 2.0
    (out,) = InvertibleCheckpointFunction.apply(
        coupling.forward, coupling.inverse, False, 1, inp, *weights
    )
    values.append(float(inp.numel()))  # freed storage: 0 elements until backward
    (out**2).sum().backward()
    values.append(float(inp.numel()))
    wgrads = [w.grad.clone() for w in weights]
    xgrad = xin.grad.clone()
    for w in weights:
        w.grad = None
    xin.grad = None
    (coupling(xin * 2.0) ** 2).sum().backward()
    values.append(
        max((a - b).abs().max().item() for a, b in zip(wgrads, [w.grad for w in weights]))
    )
    values.append((xgrad - xin.grad).abs().max().item())
    values += [out.sum().item(), xgrad.sum().item()]
    return values


def check(values: list[float]) -> None:
    """The reversible gradients equal the plain network's (eval and with replayed dropout), and
    the coupling's freed input is rebuilt by the inverse with the same gradients."""
    assert values[4] < 1e-12 and values[5] < 1e-12, values[4:6]
    assert values[6] == 0.0 and values[7] == 3 * DIM, values[6:8]
    assert values[8] < 1e-12 and values[9] < 1e-12, values[8:10]
