"""Newton's method with ``torch.autograd.functional``, as the "second-order optimisation in
PyTorch" blog posts and Q&A answers write it for logistic regression and small nonlinear
least squares, size-reduced: the negative log-likelihood of a logistic model as a function of a
flat weight vector (``F.binary_cross_entropy_with_logits(X @ w, y, reduction='sum')`` plus an L2
term); its gradient by ``torch.autograd.functional.jacobian(loss_fn, w)`` and its Hessian by
``torch.autograd.functional.hessian(loss_fn, w)`` (also with ``vectorize=True``, and with
``vectorize=True, outer_jacobian_strategy="forward-mode"``); the Newton step
``w - torch.linalg.solve(H, g)`` repeated until ``g.norm() < tol``; the Hessian-free variant
with ``hvp``/``vhp`` inside a few conjugate-gradient iterations; a Gauss-Newton step for a
two-parameter exponential fit (``jacobian`` of the residual vector, ``J.T @ J``,
``torch.linalg.lstsq``); ``jvp``/``vjp`` checked against the Jacobian; and the
``create_graph=True`` Hessian differentiated once more (the third derivative along a
direction), as "Hessian of the loss w.r.t. the data" sensitivity analyses do.

Changed: the data are small seeded NumPy arrays (30 points, 3 features); iteration counts are
fixed (6 Newton steps, 3 CG steps) so both frameworks do the same work.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    AF = torch_like.autograd.functional
    rng = np.random.default_rng(29)
    Xn = np.concatenate([rng.standard_normal((30, 3)), np.ones((30, 1))], axis=1)
    w_true = np.array([1.5, -2.0, 0.5, 0.3])
    yn = (rng.random(30) < 1 / (1 + np.exp(-Xn @ w_true))).astype(np.float64)
    X, y = torch.from_numpy(Xn), torch.from_numpy(yn)
    lam = 0.1
    values: list[float] = []

    def loss_fn(w: Any) -> Any:
        logits = X @ w
        return F.binary_cross_entropy_with_logits(logits, y, reduction="sum") + lam * w.dot(w)

    # Newton-Raphson
    w = torch.zeros(4)
    for _it in range(6):
        g = AF.jacobian(loss_fn, w)
        H = AF.hessian(loss_fn, w)
        if g.norm() < 1e-10:
            break
        w = w - torch.linalg.solve(H, g)
        values += [loss_fn(w).item(), g.norm().item()]
    values += w.tolist()

    H1 = AF.hessian(loss_fn, w, vectorize=True)
    H2 = AF.hessian(loss_fn, w, vectorize=True, outer_jacobian_strategy="forward-mode")
    values += [(H1 - H).abs().max().item(), (H2 - H).abs().max().item()]
    values.append(torch.linalg.eigvalsh(H).min().item())

    # Hessian-free Newton: conjugate gradient on H p = -g with hvp / vhp
    w = torch.zeros(4)
    for _it in range(3):
        g = AF.jacobian(loss_fn, w)
        p = torch.zeros_like(w)
        r = -g
        d = r.clone()
        for _cg in range(4):
            _, Hd = AF.hvp(loss_fn, w, d)
            alpha = r.dot(r) / d.dot(Hd)
            p = p + alpha * d
            r_new = r - alpha * Hd
            beta = r_new.dot(r_new) / r.dot(r)
            d = r_new + beta * d
            r = r_new
        _, Hp = AF.vhp(loss_fn, w, p)
        values.append((Hp + g).norm().item())
        w = w + p
        values.append(loss_fn(w).item())

    # Gauss-Newton for y = a * exp(b * t)
    t = torch.linspace(0, 1, 12)
    obs = 2.0 * torch.exp(-1.3 * t) + torch.from_numpy(0.01 * rng.standard_normal(12))

    def residual(theta: Any) -> Any:
        a, b = theta[0], theta[1]
        return a * torch.exp(b * t) - obs

    theta = torch.tensor([1.0, 0.0])
    for _it in range(5):
        J = AF.jacobian(residual, theta)
        r = residual(theta)
        step = torch.linalg.lstsq(J, -r.unsqueeze(1)).solution.squeeze(1)
        theta = theta + step
        values.append(0.5 * r.pow(2).sum().item())
    values += theta.tolist()
    JtJ = J.T @ J
    values.append(torch.linalg.det(JtJ).item())

    # jvp / vjp against the full Jacobian
    v = torch.tensor([0.3, -0.7])
    _, jv = AF.jvp(residual, theta, v)
    u = torch.from_numpy(rng.standard_normal(12))
    _, vj = AF.vjp(residual, theta, u)
    values += [(jv - J @ v).abs().max().item(), (vj - J.T @ u).abs().max().item()]

    # third derivative along a direction through a create_graph Hessian
    w = torch.tensor([0.2, -0.1, 0.4, 0.0], requires_grad=True)
    H = AF.hessian(loss_fn, w, create_graph=True)
    direction = torch.tensor([1.0, 0.5, -0.5, 0.25])
    curvature = direction @ H @ direction
    (g3,) = torch.autograd.grad(curvature, w)
    values += [curvature.item()] + g3.tolist()
    return values
