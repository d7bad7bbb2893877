"""Empirical neural tangent kernels as PyTorch's "Neural Tangent Kernels" ``torch.func`` tutorial
writes them, size-reduced.

The idioms: a small ``CNN`` (``nn.Conv2d(3, 32, (3, 3))`` layers, ``x.relu()``,
``x.flatten(1)``, ``nn.Linear``) and the tutorial's MLP variant; ``params = {k: v.detach() for
k, v in net.named_parameters()}``; ``fnet_single(params, x)`` as ``functional_call(net, params,
(x.unsqueeze(0),)).squeeze(0)``; method one, the Jacobian contraction:
``vmap(jacrev(fnet_single), (None, 0))(params, x1)``, ``jac1.values()``, ``[j.flatten(2) for j
in jac1]``, ``torch.stack([torch.einsum('Naf,Mbf->NMab', j1, j2) for j1, j2 in zip(jac1,
jac2)])`` then ``.sum(0)``, with the ``compute='trace'`` (``'Naf,Maf->NM'``) and
``'diagonal'`` (``'Naf,Maf->NMa'``) modes; method two, NTK-vector products:
``output, vjp_fn = vjp(func_x1, params)``, ``vjps = vjp_fn(vec)``, ``_, jvps = jvp(func_x2,
(params,), vjps)``, the basis ``torch.eye(output.numel(), dtype=output.dtype,
device=output.device).view(output.numel(), -1)`` mapped with ``vmap(get_ntk_slice)(basis)``,
``vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)`` and the ``einsum('NMKK->NM', ...)`` /
``einsum('NMKK->NMK', ...)`` reductions; and the tutorial's ``torch.testing.assert_close`` of
the two methods.

Changed: 32 x 32 images, 32 channels, 20 train and 5 test points, 10 outputs -> 5 x 5, 2
channels, 2 and 2 points, 3 outputs; float64 so the two methods agree tightly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CH, SIDE, N_OUT, N_TRAIN, N_TEST = 2, 5, 3, 2, 2


def _classes(torch_like: Any) -> tuple[type, type]:
    nn = torch_like.nn

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, CH, (3, 3))
            self.conv2 = nn.Conv2d(CH, CH, (3, 3))
            self.fc = nn.Linear(CH * (SIDE - 4) ** 2, N_OUT)

        def forward(self, x: Any) -> Any:
            x = self.conv1(x)
            x = x.relu()
            x = self.conv2(x)
            x = x.relu()
            x = x.flatten(1)
            x = self.fc(x)
            return x

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(3 * SIDE * SIDE, 8)
            self.fc2 = nn.Linear(8, N_OUT)

        def forward(self, x: Any) -> Any:
            return self.fc2(self.fc1(x.flatten(1)).tanh())

    return CNN, MLP


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    CNN, MLP = _classes(torch_like)

    class Nets(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cnn = CNN()
            self.mlp = MLP()

    return Nets()


def empirical_ntk_jacobian_contraction(
    torch_like: Any, fnet_single: Any, params: dict, x1: Any, x2: Any, compute: str = "full"
) -> Any:
    torch = torch_like
    vmap, jacrev = torch.func.vmap, torch.func.jacrev
    # Compute J(x1)
    jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
    jac1 = jac1.values()
    jac1 = [j.flatten(2) for j in jac1]

    # Compute J(x2)
    jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
    jac2 = jac2.values()
    jac2 = [j.flatten(2) for j in jac2]

    # Compute J(x1) @ J(x2).T
    einsum_expr = None
    if compute == "full":
        einsum_expr = "Naf,Mbf->NMab"
    elif compute == "trace":
        einsum_expr = "Naf,Maf->NM"
    elif compute == "diagonal":
        einsum_expr = "Naf,Maf->NMa"
    else:
        raise AssertionError(compute)

    result = torch.stack([torch.einsum(einsum_expr, j1, j2) for j1, j2 in zip(jac1, jac2)])
    result = result.sum(0)
    return result


def empirical_ntk_ntk_vps(
    torch_like: Any, func: Any, params: dict, x1: Any, x2: Any, compute: str = "full"
) -> Any:
    torch = torch_like
    vmap, vjp, jvp = torch.func.vmap, torch.func.vjp, torch.func.jvp

    def get_ntk(x1: Any, x2: Any) -> Any:
        def func_x1(params: dict) -> Any:
            return func(params, x1)

        def func_x2(params: dict) -> Any:
            return func(params, x2)

        output, vjp_fn = vjp(func_x1, params)

        def get_ntk_slice(vec: Any) -> Any:
            # This computes ``vec @ J(x2).T``
            vjps = vjp_fn(vec)
            # This computes ``J(X1) @ vjps``
            _, jvps = jvp(func_x2, (params,), vjps)
            return jvps

        # Here's our identity matrix
        basis = torch.eye(output.numel(), dtype=output.dtype, device=output.device).view(
            output.numel(), -1
        )
        return vmap(get_ntk_slice)(basis)

    # ``get_ntk(x1, x2)`` computes the NTK for a single data point x1, x2
    result = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)

    if compute == "full":
        return result
    if compute == "trace":
        return torch.einsum("NMKK->NM", result)
    if compute == "diagonal":
        return torch.einsum("NMKK->NMK", result)
    raise AssertionError(compute)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    functional_call = torch.func.functional_call
    rng = np.random.default_rng(5)
    x_train = as_tensor(torch, rng.standard_normal((N_TRAIN, 3, SIDE, SIDE)))
    x_test = as_tensor(torch, rng.standard_normal((N_TEST, 3, SIDE, SIDE)))
    nets = make_model(torch)
    load_numpy_state(torch, nets, init)

    values: list[float] = []
    for net in (nets.cnn, nets.mlp):
        params = {k: v.detach() for k, v in net.named_parameters()}

        def fnet_single(params: dict, x: Any, net: Any = net) -> Any:
            return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

        result = empirical_ntk_jacobian_contraction(torch, fnet_single, params, x_train, x_test)
        values += list(result.shape) + result.flatten().tolist()
        for compute in ("full", "trace", "diagonal"):
            by_jac = empirical_ntk_jacobian_contraction(
                torch, fnet_single, params, x_train, x_test, compute
            )
            by_vps = empirical_ntk_ntk_vps(torch, fnet_single, params, x_train, x_test, compute)
            torch.testing.assert_close(by_jac, by_vps, atol=1e-5, rtol=1e-5)
            values += list(by_vps.shape) + by_vps.flatten().tolist()
            values += [(by_jac - by_vps).abs().max().item() < 1e-10]
        # the kernel of a point with itself is symmetric positive semi-definite
        self_ntk = empirical_ntk_jacobian_contraction(torch, fnet_single, params, x_train, x_train)
        square = self_ntk.permute(0, 2, 1, 3).reshape(N_TRAIN * N_OUT, N_TRAIN * N_OUT)
        values += [torch.allclose(square, square.T), torch.linalg.eigvalsh(square).min() > -1e-8]
    return values
