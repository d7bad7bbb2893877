"""The PyTorch tutorial "Custom Python Operators" (``advanced/python_custom_ops``), with tensor
ops in place of PIL: ``@torch.library.custom_op("mylib::numpy_sin", mutates_args=())`` around a
function annotated ``(x: Tensor) -> Tensor`` that computes through ``x.numpy()`` and
``torch.from_numpy``; ``@numpy_sin.register_fake`` returning ``torch.empty_like(x)``;
``numpy_sin.register_autograd(backward, setup_context=setup_context)`` with
``ctx.save_for_backward(x)`` and ``grad * x.cos()``; ``torch.library.opcheck(op, args)`` (its
result keys and ``"SUCCESS"`` values); the tutorial's mutable op ``numpy_sin_out(input,
output) -> None`` with ``mutates_args={"output"}`` (the output's version is bumped); and
``torch.ops.<namespace>.<name>`` calls. The op sits inside a small model trained by SGD.

Changed: the namespace is unique to this program; the ops are registered once per framework
(both registries live as long as the process and the harness imports the program once);
``x.cpu().numpy()`` is ``x.numpy()`` (CPU only).

This file does not use ``from __future__ import annotations``: ``custom_op`` infers the
operator's schema from the annotations, which must be the framework's own ``Tensor``, a
name local to ``_ops`` that string annotations could not resolve.
"""

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

_NS = "crcompat_pyop"
_REGISTERED: dict[str, tuple[Any, Any]] = {}


def _ops(torch_like: Any) -> tuple[Any, Any]:
    """The two custom ops of ``torch_like``, registered on first use."""
    if torch_like.__name__ in _REGISTERED:
        return _REGISTERED[torch_like.__name__]
    Tensor = torch_like.Tensor

    @torch_like.library.custom_op(f"{_NS}::numpy_sin", mutates_args=())
    def numpy_sin(x: Tensor) -> Tensor:
        x_np = x.numpy()
        y_np = np.sin(x_np)
        return torch_like.from_numpy(y_np)

    @numpy_sin.register_fake
    def _(x: Any) -> Any:
        return torch_like.empty_like(x)

    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        (x,) = inputs
        ctx.save_for_backward(x)

    def backward(ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad * x.cos()

    numpy_sin.register_autograd(backward, setup_context=setup_context)

    @torch_like.library.custom_op(f"{_NS}::numpy_sin_out", mutates_args={"output"})
    def numpy_sin_out(input: Tensor, output: Tensor) -> None:  # noqa: A002 - the tutorial's
        input_np = input.numpy()
        output_np = output.numpy()
        np.sin(input_np, out=output_np)

    _REGISTERED[torch_like.__name__] = (numpy_sin, numpy_sin_out)
    return numpy_sin, numpy_sin_out


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    numpy_sin, _ = _ops(torch_like)

    class SineNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(3, 6)
            self.out = nn.Linear(6, 1)

        def forward(self, x: Any) -> Any:
            return self.out(numpy_sin(self.hidden(x)))

    return SineNet()


def check(values: list[float]) -> None:
    """opcheck ran torch's four tests, and each passed (values 5 and 6 of ``run``)."""
    assert values[5:7] == [1.0, 1.0], values[5:7]


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(11)
    x = as_tensor(torch_like, rng.standard_normal((12, 3)))
    y = as_tensor(torch_like, rng.standard_normal((12, 1)))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _step in range(5):
        optimizer.zero_grad()
        loss = torch_like.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    numpy_sin, numpy_sin_out = _ops(torch_like)
    sample = as_tensor(torch_like, rng.standard_normal(4), requires_grad=True)
    report = torch_like.library.opcheck(numpy_sin, (sample,))
    checks = [
        float(
            list(report)
            == [
                "test_schema",
                "test_autograd_registration",
                "test_faketensor",
                "test_aot_dispatch_dynamic",
            ]
        ),
        float(all(v == "SUCCESS" for v in report.values())),
    ]

    # the mutable op, through torch.ops, and its version bump
    source = as_tensor(torch_like, rng.standard_normal(5))
    output = torch_like.empty_like(source)
    getattr(torch_like.ops, _NS).numpy_sin_out(source, output)
    # the op's gradient reached through torch.ops.<ns>.<name>.default
    z = sample.detach().clone().requires_grad_(True)
    getattr(torch_like.ops, _NS).numpy_sin.default(z).pow(2).sum().backward()
    return [*losses, *checks, *output.tolist(), float(output._version), *z.grad.tolist()]
