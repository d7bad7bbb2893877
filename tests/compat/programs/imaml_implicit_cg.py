"""Implicit MAML as aravindr93/imaml_dev writes it (``implicit_maml/learner_model.py``'s
``Learner``, ``implicit_maml/utils.py``'s ``cg_solve`` and the meta-training loop of
``examples/omniglot_implicit_maml.py``), size-reduced to sine-wave regression.

The idioms kept: the flat parameter vector (``torch.cat([param.data.view(-1) for param in
self.model.parameters()], 0).clone()``, ``param.data.copy_(param_vals[offset:offset +
param.nelement()].view(param.size()))``); the proximal ``regularization_loss`` (``delta =
param.view(-1) - w_0[offset:offset + param.nelement()].view(-1)``, ``regu_loss += 0.5 *
regu_lam * torch.sum(delta ** 2)`` from ``regu_loss = 0.0``); the inner loop with its own
``torch.optim.SGD`` (``loss = tloss + self.regularization_loss(w_0, lam)``), then the
"pull back" step on the regulariser alone; the validation gradient flattened with
``torch.cat([g.contiguous().view(-1) for g in valid_grad])``; ``hessian_vector_product``
(``torch.autograd.grad(tloss, self.model.parameters(), create_graph=True)``, ``h =
torch.sum(flat_grad * vec)``, a second ``torch.autograd.grad(h, ...)``); ``matrix_evaluator``'s
``(1.0 + regu_coef) * v + hvp / (lam + lam_damping)``; ``cg_solve`` (``torch.zeros(b.shape[0])``,
``x.to(b.device)``, ``r.dot(r)``, ``p.dot(Ap)``, the tensor ``newrdotr < residual_tol`` early
exit); ``meta_grad += (task_outer_grad/task_mb_size)`` from ``0.0``; ``outer_step_with_grad``
(``type(p.grad) == type(None)`` counting, the dummy regularisation backward that creates the
``.grad`` fields, ``p.grad.copy_(this_grad)``) and the outer ``torch.optim.Adam``.

Changed: Omniglot's conv net and cross-entropy are a 1-40-40-1 MLP (here 1-8-8-1) with MSE
on NumPy sine tasks; 16 inner steps -> 3, 5 CG steps -> 3, meta-batch 32 -> 2, 3 meta
iterations; no accuracy, logging or checkpointing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like

    class Learner:
        def __init__(self, model, loss_function, inner_lr=1e-3, outer_lr=1e-2):
            self.model = model
            self.loss_function = loss_function
            self.inner_opt = torch.optim.SGD(self.model.parameters(), lr=inner_lr)
            self.outer_opt = torch.optim.Adam(self.model.parameters(), lr=outer_lr)

        def get_params(self):
            return torch.cat([param.data.view(-1) for param in self.model.parameters()], 0).clone()

        def set_params(self, param_vals):
            offset = 0
            for param in self.model.parameters():
                param.data.copy_(param_vals[offset : offset + param.nelement()].view(param.size()))
                offset += param.nelement()

        def regularization_loss(self, w_0, lam=0.0):
            regu_loss = 0.0
            offset = 0
            regu_lam = lam
            for param in self.model.parameters():
                delta = param.view(-1) - w_0[offset : offset + param.nelement()].view(-1)
                regu_loss += 0.5 * regu_lam * torch.sum(delta**2)
                offset += param.nelement()
            return regu_loss

        def get_loss(self, x, y, return_numpy=False):
            y_hat = self.model.forward(x)
            loss = self.loss_function(y_hat, y)
            return loss.data.numpy() if return_numpy else loss

        def learn_on_data(self, x, y, num_steps=10, add_regularization=False, w_0=None, lam=0.0):
            train_loss = []
            for _i in range(num_steps):
                self.inner_opt.zero_grad()
                tloss = self.get_loss(x, y)
                loss = tloss + self.regularization_loss(w_0, lam) if add_regularization else tloss
                loss.backward()
                self.inner_opt.step()
                train_loss.append(tloss.detach().numpy())
            return train_loss

        def learn_task(self, task, num_steps=10, add_regularization=False, w_0=None, lam=0.0):
            xt, yt = task["x_train"], task["y_train"]
            return self.learn_on_data(xt, yt, num_steps, add_regularization, w_0, lam)

        def outer_step_with_grad(self, grad, flat_grad=False):
            check = 0
            for p in self.model.parameters():
                check = check + 1 if type(p.grad) == type(None) else check  # noqa: E721
            if check > 0:
                # initialize the grad fields properly
                dummy_loss = self.regularization_loss(self.get_params())
                dummy_loss.backward()  # this would initialize required variables
            if flat_grad:
                offset = 0
                for p in self.model.parameters():
                    this_grad = grad[offset : offset + p.nelement()].view(p.size())
                    p.grad.copy_(this_grad)
                    offset += p.nelement()
            else:
                for i, p in enumerate(self.model.parameters()):
                    p.grad = grad[i]
            self.outer_opt.step()

        def matrix_evaluator(self, task, lam, regu_coef=1.0, lam_damping=10.0):
            def evaluator(v):
                hvp = self.hessian_vector_product(task, v)
                Av = (1.0 + regu_coef) * v + hvp / (lam + lam_damping)
                return Av

            return evaluator

        def hessian_vector_product(self, task, vector):
            xt, yt = task["x_train"], task["y_train"]
            tloss = self.get_loss(xt, yt)
            grad_ft = torch.autograd.grad(tloss, self.model.parameters(), create_graph=True)
            flat_grad = torch.cat([g.contiguous().view(-1) for g in grad_ft])
            h = torch.sum(flat_grad * vector)
            hvp = torch.autograd.grad(h, self.model.parameters())
            hvp_flat = torch.cat([g.contiguous().view(-1) for g in hvp])
            return hvp_flat

    def cg_solve(f_Ax, b, cg_iters=10, residual_tol=1e-10, x_init=None):
        x = torch.zeros(b.shape[0]) if x_init is None else x_init
        x = x.to(b.device)
        r = b - f_Ax(x)
        p = r.clone()
        for _i in range(cg_iters):
            rdotr = r.dot(r)
            Ap = f_Ax(p)
            alpha = rdotr / (p.dot(Ap))
            x = x + alpha * p
            r = r - alpha * Ap
            newrdotr = r.dot(r)
            beta = newrdotr / rdotr
            p = r + beta * p
            if newrdotr < residual_tol:
                break
        return x

    meta_model, fast_model = make_model(torch_like), make_model(torch_like)
    load_numpy_state(torch_like, meta_model, init)
    load_numpy_state(torch_like, fast_model, init)
    loss_function = torch.nn.MSELoss()
    meta_learner = Learner(meta_model, loss_function, inner_lr=1e-2, outer_lr=1e-2)
    fast_learner = Learner(fast_model, loss_function, inner_lr=1e-2, outer_lr=0.0)
    lam, regu_coef, lam_damping, cg_steps, n_steps, task_mb_size = 2.0, 1.0, 10.0, 3, 3, 2
    rng = np.random.default_rng(17)
    out: list[float] = []
    for _meta_iter in range(3):
        w_k = meta_learner.get_params()
        meta_grad = 0.0
        for _i in range(task_mb_size):
            amp, phase = rng.uniform(0.5, 2.0), rng.uniform(0, np.pi)
            xs = rng.uniform(-5, 5, (10, 1))
            ys = amp * np.sin(xs + phase)
            task = {
                "x_train": as_tensor(torch, xs[:5]),
                "y_train": as_tensor(torch, ys[:5]),
                "x_val": as_tensor(torch, xs[5:]),
                "y_val": as_tensor(torch, ys[5:]),
            }
            fast_learner.set_params(w_k.clone())
            vl_before = fast_learner.get_loss(task["x_val"], task["y_val"], return_numpy=True)
            tl = fast_learner.learn_task(
                task, num_steps=n_steps, add_regularization=True, w_0=w_k, lam=lam
            )
            # pull back for regularization
            fast_learner.inner_opt.zero_grad()
            regu_loss = fast_learner.regularization_loss(w_k, lam)
            regu_loss.backward()
            fast_learner.inner_opt.step()

            vl_after = fast_learner.get_loss(task["x_val"], task["y_val"], return_numpy=True)
            valid_loss = fast_learner.get_loss(task["x_val"], task["y_val"])
            valid_grad = torch.autograd.grad(valid_loss, fast_learner.model.parameters())
            flat_grad = torch.cat([g.contiguous().view(-1) for g in valid_grad])
            task_matrix_evaluator = fast_learner.matrix_evaluator(task, lam, regu_coef, lam_damping)
            task_outer_grad = cg_solve(task_matrix_evaluator, flat_grad, cg_steps, x_init=None)
            meta_grad += task_outer_grad / task_mb_size
            out += [float(vl_before), float(tl[-1]), float(vl_after), regu_loss.item()]
        meta_learner.outer_step_with_grad(meta_grad, flat_grad=True)
        out += [meta_grad.norm().item(), meta_learner.get_params().sum().item()]
    return out
