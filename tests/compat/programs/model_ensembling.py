"""Model ensembling with ``torch.func``, the recipe of PyTorch's ensembling tutorial written
in our own words: several small MLPs, their parameters and buffers stacked by
``func.stack_module_state``, and ``vmap`` over ``functional_call`` on a copy of one member
(the tutorial's ``base`` model) to run all members at once, on one shared minibatch and on
one minibatch per member; one member's first layer reparametrised with
``nn.utils.parametrizations.weight_norm`` gives the same outputs. It also touches the
utilities such code reaches for: ``vstack``, ``special.log_softmax``, ``isin`` and
``func.grad_and_value``. ``check`` asserts the vmapped
outputs equal a loop over the members; the harness compares everything with PyTorch's run.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["check", "init_state", "run"]

MEMBERS, IN, HIDDEN, OUT, BATCH = 3, 5, 8, 4, 6


def init_state(tmp_path: Any) -> dict:
    """Each member's weights, drawn once with NumPy so both frameworks start equal."""
    rng = np.random.default_rng(3)
    return {
        f"m{i}": {
            "0.weight": rng.standard_normal((HIDDEN, IN)) * 0.5,
            "0.bias": rng.standard_normal(HIDDEN) * 0.1,
            "2.weight": rng.standard_normal((OUT, HIDDEN)) * 0.5,
            "2.bias": rng.standard_normal(OUT) * 0.1,
        }
        for i in range(MEMBERS)
    }


def _member(torch_like: Any, weights: dict) -> Any:
    nn = torch_like.nn
    model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, OUT))
    with torch_like.no_grad():
        for name, p in model.named_parameters():
            p.copy_(as_tensor(torch_like, weights[name]))
    return model


def run(torch_like: Any, init: dict) -> list[float]:
    func = torch_like.func
    rng = np.random.default_rng(4)
    models = [_member(torch_like, init[f"m{i}"]) for i in range(MEMBERS)]
    params, buffers = func.stack_module_state(models)
    base = copy.deepcopy(models[0])

    def call(p: dict, b: dict, x: Any) -> Any:
        return func.functional_call(base, (p, b), (x,))

    shared = as_tensor(torch_like, rng.standard_normal((BATCH, IN)))
    per_member = as_tensor(torch_like, rng.standard_normal((MEMBERS, BATCH, IN)))
    out_shared = func.vmap(call, in_dims=(0, 0, None))(params, buffers, shared)
    out_each = func.vmap(call)(params, buffers, per_member)
    loop_shared = torch_like.stack([m(shared) for m in models])
    loop_each = torch_like.stack([m(per_member[i]) for i, m in enumerate(models)])

    # weight_norm on one member's first layer: the same function, reparametrised (g, v)
    wn = torch_like.nn.utils.parametrizations.weight_norm(copy.deepcopy(models[1])[0])
    wn_out = wn(shared)

    # the utilities around such code
    probs = torch_like.special.log_softmax(out_shared.mean(0), dim=-1)
    picked = torch_like.isin(probs.argmax(-1), as_tensor(torch_like, np.array([0, 2])))
    targets = as_tensor(torch_like, rng.integers(0, OUT, BATCH))

    def loss(p: dict) -> Any:
        logits = func.functional_call(base, (p, buffers_0), (shared,))
        return torch_like.nn.functional.cross_entropy(logits, targets)

    params_0 = {k: v[0] for k, v in params.items()}
    buffers_0 = {k: v[0] for k, v in buffers.items()}
    grads, value = func.grad_and_value(loss)(params_0)
    rows = torch_like.vstack([out_shared.reshape(-1, OUT), out_each.reshape(-1, OUT)])
    values = rows.detach().flatten().tolist()
    values += (loop_shared - out_shared).detach().flatten().tolist()
    values += (loop_each - out_each).detach().flatten().tolist()
    values += wn_out.detach().flatten().tolist() + probs.detach().flatten().tolist()
    values += picked.float().tolist() + [value.item()]
    values += [g for k in sorted(grads) for g in grads[k].flatten().tolist()]
    return values


def check(values: list[float]) -> None:
    n = MEMBERS * BATCH * OUT
    np.testing.assert_allclose(values[2 * n : 4 * n], 0.0, atol=1e-12)  # vmap == loop
