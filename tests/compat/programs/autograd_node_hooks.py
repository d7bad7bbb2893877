"""The backward hooks of PyTorch's "Autograd mechanics" notes ("Backward Hooks execution",
"Hooks for saved tensors") used on a small training loop, size-reduced.

The idioms: ``y.retain_grad()`` and ``y.retains_grad`` (False on a leaf); a tensor hook
``h.register_hook(lambda grad: grad.clamp(-c, c))`` that clips an activation's gradient,
and the retains-grad hook that always runs last so ``h.grad`` holds the clipped gradient;
``out.grad_fn.register_prehook(fn)`` (``fn(grad_outputs)`` returning a replacement tuple)
and ``out.grad_fn.register_hook(fn)`` (``fn(grad_inputs, grad_outputs)``, one entry per input
the node lists: ``x.pow(2)``'s ``PowBackward0`` lists ``x`` only) scaling what a node sends
on; the order the notes give (tensor hooks, then the node's pre-hooks, then its rule, then its
hooks); a pre-hook on a leaf's ``AccumulateGrad`` node reached through
``torch.autograd.graph.get_gradient_edge(p).node``; ``grad_fn.name()``,
``grad_fn.next_functions`` and ``grad_fn.metadata``; the saved-tensor views
``grad_fn._saved_self`` / ``_saved_result`` (the tensor itself); hooks that do not fire when
``torch.autograd.grad(..., inputs=...)`` does not need the tensor's gradient; the handles'
``remove()``; a hook registered before an in-place op on the tensor;
``torch.autograd.graph.increment_version(t)`` making a saved tensor stale (backward raises
``RuntimeError``). The model is trained with ``SGD``; compared are the losses, the hooked
gradients, the hook orders (as counts) and the gradients of the side examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

CLIP, STEPS = 0.05, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    values: list[float] = []
    order: list[str] = []
    acc_node = torch.autograd.graph.get_gradient_edge(model[0].weight).node

    def scale_first_weight(grad_outputs: tuple) -> tuple:
        order.append("acc")
        return (grad_outputs[0] * 0.5,)

    acc_handle = acc_node.register_prehook(scale_first_weight)
    for step in range(STEPS):
        x = as_tensor(torch, rng.normal(size=(5, 4)))
        target = torch.tensor(rng.integers(0, 3, size=5))
        optimizer.zero_grad()
        h = model[1](model[0](x))
        h.retain_grad()
        h.register_hook(lambda grad: order.append("tensor") or grad.clamp(-CLIP, CLIP))
        out = model[2](h)
        out.grad_fn.register_prehook(lambda go: order.append("pre") or (go[0] * 2.0,))
        out.grad_fn.register_hook(
            lambda gi, go: (
                order.append("post") or tuple(None if g is None else g * 0.25 for g in gi)
            )
        )
        loss = torch.nn.functional.cross_entropy(out, target)
        loss.backward()
        values.extend([loss.item(), h.grad.abs().max().item(), h.grad.sum().item()])
        values.extend([p.grad.sum().item() for p in model.parameters()])
        values.append(float(h.retains_grad))
        optimizer.step()
        if step == 1:
            acc_handle.remove()
    values.extend([float(order.count(k)) for k in ("tensor", "pre", "post", "acc")])
    values.append(float(order[:3] == ["pre", "post", "tensor"]))
    values.append(float(model[0].weight.retains_grad))

    # the node's view of the graph and what it saved
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.pow(2)
    z = y.exp()
    values.append(float(y.grad_fn.name() == "PowBackward0"))
    values.append(float(len(y.grad_fn.next_functions) == 1))
    values.append(float(z.grad_fn.next_functions[0][0] is y.grad_fn))
    values.append(float(y.grad_fn._saved_self is x))
    values.append(float(torch.equal(z.grad_fn._saved_result, z)))
    values.append(float(z.grad_fn.metadata == {}))
    seen: list[str] = []
    y.retain_grad()
    y.register_hook(lambda g: seen.append("tensor") or g * 2)
    y.grad_fn.register_prehook(lambda go: seen.append("pre") or None)
    y.grad_fn.register_hook(lambda gi, go: seen.append(f"post {len(gi)}") or (gi[0] + 1,))
    z.grad_fn.register_hook(lambda gi, go: seen.append("z"))
    z.sum().backward()
    values.append(float(seen == ["z", "tensor", "pre", "post 1"]))
    values.extend([y.grad.sum().item(), x.grad.sum().item()])

    # a hook on a tensor whose gradient autograd.grad does not need does not fire
    a = torch.ones(3, requires_grad=True)
    b = a * 2
    c = b * 3
    fired: list[str] = []
    b.register_hook(lambda g: fired.append("b"))
    c.register_hook(lambda g: fired.append("c"))
    (gc,) = torch.autograd.grad(c.sum(), c)
    values.extend([gc.sum().item(), float(fired == ["c"])])
    handle = c.register_hook(lambda g: g * 100)
    handle.remove()
    (ga,) = torch.autograd.grad(c.sum(), a)
    values.extend([ga.sum().item(), float(fired == ["c", "c", "b"])])

    # a hook registered before an in-place op on the tensor
    u = torch.tensor([1.0, 2.0], requires_grad=True)
    v = u * 1
    grads_seen: list[float] = []
    v.register_hook(lambda g: grads_seen.append(g.sum().item()))
    v.mul_(3)
    v.register_hook(lambda g: grads_seen.append(g.sum().item() * 10))
    (v * v).sum().backward()
    values.extend(grads_seen + [u.grad.sum().item()])

    # increment_version makes the saved tensor stale
    p = torch.ones(3, requires_grad=True)
    q = p * 1
    r = q.sin()
    version = q._version
    torch.autograd.graph.increment_version(q)
    values.append(float(q._version - version))
    try:
        r.sum().backward()
        values.append(0.0)
    except RuntimeError:
        values.append(1.0)
    return values
