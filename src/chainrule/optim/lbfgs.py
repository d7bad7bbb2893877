"""L-BFGS (``torch.optim.LBFGS``): a quasi-Newton method for full-batch problems.

Each ``step(closure)`` runs up to ``max_iter`` iterations. The search direction is
``-H g``, where the inverse-Hessian estimate ``H`` is applied implicitly by the two-loop
recursion over the last ``history_size`` pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k``
(pairs with ``y·s <= 1e-10`` are skipped to keep ``H`` positive definite), scaled by
``y·s / y·y``. The step is ``lr`` (the first one ``min(1, 1/|g|_1) lr``), or the result of
a strong-Wolfe line search. The order of every operation follows PyTorch, so the iterates
agree with ``torch.optim.LBFGS`` to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._strong_wolfe import strong_wolfe
from .optimizer import Optimizer, _check_non_negative

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """Limited-memory BFGS, with PyTorch's arguments and iterates.

    Args:
        params: the tensors to optimize (one parameter group only, as in PyTorch).
        lr: the step length (multiplies the direction; the line search starts from it).
        max_iter: iterations per ``step``.
        max_eval: loss evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when ``max |g| <=`` this.
        tolerance_change: stop when the step or the loss change is below this.
        history_size: how many ``(s, y)`` pairs to keep.
        line_search_fn: None (fixed step) or ``"strong_wolfe"`` (another value raises
            RuntimeError when ``step`` reaches the line search, as in PyTorch).

    Raises:
        ValueError: for parameter groups or a negative lr.
    """

    # the state ("d", "prev_flat_grad", the history) holds flat vectors over all parameters,
    # kept under the first one as PyTorch keeps it
    _shaped_state = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        _check_non_negative("lr", lr, "LBFGS")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(
            params,
            {
                "lr": lr,
                "max_iter": max_iter,
                "max_eval": max_eval,
                "tolerance_grad": tolerance_grad,
                "tolerance_change": tolerance_change,
                "history_size": history_size,
                "line_search_fn": line_search_fn,
            },
        )
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ----------------------------------------------------------------- flat views
    def _flat_grad(self) -> Any:
        xp = get_array_module(self._params[0]._data)
        parts = [
            xp.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.ravel()
            for p in self._params
        ]
        return xp.concatenate(parts)

    def _add_grad(self, step: float, direction: Any) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += step * direction[offset : offset + n].reshape(p._data.shape)
            p._vc[0] += 1
            offset += n

    def _set_params(self, values: list) -> None:
        for p, v in zip(self._params, values):
            p._data[...] = v
            p._vc[0] += 1

    def _directional_evaluate(self, closure: Callable, x: list, t: float, d: Any) -> tuple:
        self._add_grad(t, d)
        with enable_grad():
            loss = _loss_value(closure())
        flat_grad = self._flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # ----------------------------------------------------------------- step
    def step(self, closure: Callable[[], Any]) -> Any:  # noqa: C901
        """Run up to ``max_iter`` L-BFGS iterations.

        Args:
            closure: clears the gradients, computes the loss, calls ``backward`` and returns
                the loss (required, as in PyTorch: L-BFGS evaluates the loss several times
                per step; ``step()`` without it is a TypeError).

        Returns:
            The loss the first closure call returned.
        """
        if not callable(closure):
            raise TypeError(
                f"LBFGS.step: closure must be a callable that re-evaluates the loss, got "
                f"{type(closure).__name__}; see the torch.optim.LBFGS docs"
            )
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        if isinstance(lr, Tensor):  # a 0-d tensor lr: its number (an int lr stays an int)
            lr = lr.item()
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = _loss_value(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if flat_grad.size == 0:  # PyTorch's flat_grad.abs().max() of no elements
            raise RuntimeError(
                "max(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        if float(abs(flat_grad).max()) <= tol_grad:
            return orig_loss

        d, t = _array(state.get("d")), state.get("t")
        if isinstance(t, Tensor):
            t = t.item()
        # PyTorch's first step size is min(1., 1. / grad.abs().sum()) * lr: a 0-d tensor
        # when the tensor is the smaller (kept as the state's ``t`` if no later iteration
        # replaces it), else a float
        t_tensor = False
        old_dirs, old_stps, ro = (_arrays(state.get(k)) for k in ("old_dirs", "old_stps", "ro"))
        h_diag = _array(state.get("H_diag"))
        al = _arrays(state.get("al"))  # the two-loop's alphas, as PyTorch keeps them
        prev_flat_grad, prev_loss = _array(state.get("prev_flat_grad")), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                if al is None:
                    al = [None] * history_size
                d, alphas = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
                al[: len(alphas)] = alphas
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            if state["n_iter"] == 1:
                inv = 1.0 / float(abs(flat_grad).sum())
                t_tensor = inv < 1.0
                t = min(1.0, inv) * lr
            else:
                t, t_tensor = lr, False
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:  # not a descent direction any more
                break

            ls_evals = 0
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p._data.copy() for p in self._params]

                def obj(step: float, x0: list = x0, d: Any = d) -> tuple:
                    return self._directional_evaluate(closure, x0, step, d)

                # PyTorch bounds the line search by the evaluations this step has left
                # (max_eval - current_evals), not by the search's own default of 25:
                # max_iter=1 (so max_eval=1) evaluates one step size only
                loss, flat_grad, t, ls_evals = strong_wolfe(
                    obj,
                    t,
                    d,
                    loss,
                    flat_grad,
                    gtd,
                    tolerance_change=tol_change,
                    max_ls=max_eval - current_evals,
                )
                self._add_grad(t, d)
                opt_cond = float(abs(flat_grad).max()) <= tol_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    with enable_grad():
                        loss = _loss_value(closure())
                    flat_grad = self._flat_grad()
                    opt_cond = float(abs(flat_grad).max()) <= tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        dtype = flat_grad.dtype
        state.update(
            {
                "d": _tensor(d, dtype),
                "t": _tensor(t, dtype) if t_tensor else t,
                "old_dirs": [_tensor(v, dtype) for v in old_dirs],
                "old_stps": [_tensor(v, dtype) for v in old_stps],
                "ro": [_tensor(v, dtype) for v in ro],
                "H_diag": _tensor(h_diag, dtype) if isinstance(h_diag, float) else h_diag,
                "prev_flat_grad": _tensor(prev_flat_grad, dtype),
                "prev_loss": prev_loss,
            }
        )
        if al is not None:
            state["al"] = [None if v is None else _tensor(v, dtype) for v in al]
        return orig_loss


def _tensor(value: Any, dtype: Any) -> Tensor:
    """A state entry as PyTorch's LBFGS keeps it: a tensor (a number becomes a 0-d one of
    the parameters' dtype, as PyTorch's ``1. / ys`` on tensors)."""
    if not hasattr(value, "shape"):
        value = np.array(value, dtype)
    return Tensor._make(value, False, None, 0)


def _array(value: Any) -> Any:
    """The array (or number, for a 0-d tensor) the iterations compute with."""
    if not isinstance(value, Tensor):
        return value
    return float(value._data) if value._data.ndim == 0 else value._data


def _arrays(values: list | None) -> list | None:
    """A list state entry (the curvature history) as arrays and numbers."""
    return None if values is None else [_array(v) for v in values]


def _two_loop(
    flat_grad: Any, old_dirs: list, old_stps: list, ro: list, h_diag: float
) -> tuple[Any, list]:
    """``-H g`` by the L-BFGS two-loop recursion (Nocedal & Wright, Algorithm 7.4), and the
    first loop's alphas."""
    q = -flat_grad
    alphas = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        alphas[i] = float(old_stps[i] @ q) * ro[i]
        q -= alphas[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = float(old_dirs[i] @ r) * ro[i]
        r += (alphas[i] - beta) * old_stps[i]
    return r, alphas


def _loss_value(loss: Any) -> float:
    """The closure's loss as a float; a Tensor through ``item()``, which (unlike
    ``float()``) does not warn that the tensor requires grad."""
    return loss.item() if isinstance(loss, Tensor) else float(loss)
