"""The small random functions the transforms of :mod:`.programs` wrap: ``f(x, y)`` over two
tensors of one logical shape ``S`` (``(n,)`` or ``(m, n)``), a chain of steps on a running
value ``h`` (starting at ``x``) that may read ``y`` and captured constants.

A step is ``(name, a)`` (``a``: a small integer picking a dim or a variant). :func:`steps_for`
lists the steps valid for a logical shape and :func:`shape_after` says what each does to it,
so :func:`draw_body` only draws well-shaped bodies; :func:`apply_step` runs one step with a
library (``torch`` or ``chainrule``). The captured constants (a square matrix, a bias, index
tensors, conv1d weights) come from the program's seed through :func:`constants`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .bodies_s37 import S37_BINARY, S37_STEPS, apply_s37, s37_steps_for
from .bodies_s38 import S38_BINARY, S38_STEPS, apply_s38, s38_steps_for
from .bodies_s39 import S39_BINARY, S39_STEPS, apply_s39, s39_steps_for
from .bodies_s40 import S40_BINARY, S40_REDUCING, S40_STEPS, apply_s40, s40_steps_for
from .bodies_s41 import S41_BINARY, S41_STEPS, apply_s41, s41_steps_for
from .bodies_s42 import S42_BINARY, S42_STEPS, apply_s42, s42_steps_for
from .bodies_s43 import S43_BINARY, S43_REDUCING, S43_STEPS, apply_s43, s43_steps_for
from .bodies_s44 import S44_COMPOSED, S44_STEPS, apply_s44, s44_steps_for

__all__ = ["STEPS", "apply_step", "constants", "draw_body", "shape_after", "steer", "steps_for"]

UNARY = ("sin", "tanh", "sigmoid", "sq", "exp", "log1p_sq", "relu", "gelu", "softplus", "abs_sqrt")
BINARY = ("add_y", "mul_y", "sub_y", "div_y", "where", "maximum")
SHAPED = ("softmax", "log_softmax", "logsumexp", "sum_keep", "mean_keep", "amax_keep")
SHAPED += ("norm_keep", "var_keep", "cumsum", "layer_norm", "einsum_w", "roll")
MIXED = ("cat", "stack", "matmul_y", "matmul_w", "linear", "index", "index0", "slice1")
MIXED += ("conv1d", "flip", "transpose2", "clamp")
STEPS = UNARY + BINARY + SHAPED + MIXED + S37_STEPS + S38_STEPS + S39_STEPS + S40_STEPS
STEPS += S41_STEPS + S42_STEPS + S43_STEPS + S44_STEPS
# the steps that keep a dim as 1 (norm_keep_c: norm_keep's formula, put in by steer)
_REDUCING = ("sum_keep", "mean_keep", "amax_keep", "logsumexp", "slice1", "norm_keep")
_REDUCING += ("var_keep", "norm_keep_c", "pdist_keep_c") + S40_REDUCING + S43_REDUCING


def _bcast(a: tuple, b: tuple) -> bool:
    """Whether shapes ``a`` and ``b`` broadcast to ``b`` (the shape of ``y``)."""
    if len(a) > len(b):
        return False
    return all(p in (1, q) for p, q in zip(a[::-1], b[::-1]))


def steps_for(shape: tuple, s: tuple) -> list:
    """The step names valid for a running value of ``shape`` (``y`` has shape ``s``)."""
    out = list(UNARY) + ["flip", "clamp"]
    if _bcast(shape, s):
        out += list(BINARY)
    if shape:
        out += list(SHAPED) + ["cat", "stack", "matmul_w", "linear", "index", "slice1"]
    if shape == s:
        out += ["matmul_y", "conv1d"]
    if len(shape) == 2:
        out += ["index0", "transpose2"]
    b = _bcast(shape, s)
    out += s37_steps_for(shape, b) + s38_steps_for(shape, b) + s39_steps_for(shape, b)
    out += s40_steps_for(shape, b) + s41_steps_for(shape, b)
    return out + s42_steps_for(shape, b) + s43_steps_for(shape, b) + s44_steps_for(shape)


def _dim(shape: tuple, a: int) -> int:
    """A dim of ``shape`` from ``a``: negative for even ``a`` (``-1`` mostly)."""
    r = len(shape)
    d = a % r
    return d - r if a % 2 == 0 else d


def shape_after(name: str, a: int, shape: tuple, s: tuple) -> tuple:
    """The logical shape of ``h`` after step ``(name, a)``."""
    binary = BINARY + S37_BINARY + S38_BINARY + S39_BINARY + S40_BINARY + S41_BINARY + S42_BINARY
    if name in binary + S43_BINARY + ("copysign_y_c",):
        return tuple(np.broadcast_shapes(shape, s))
    if name in _REDUCING:
        d = -1 if name == "slice1" else _dim(shape, a)
        return tuple(1 if i == d % len(shape) else n for i, n in enumerate(shape))
    if name == "transpose2":
        return shape[::-1]
    if name == "index":
        return shape[:-1] + (s[-1],)
    if name == "index0":
        return (s[0],) + shape[1:]
    return shape


def steer(body: tuple, layers: tuple) -> tuple:
    """``body`` with the steps whose higher derivatives torch 2.13 gets wrong, under
    ``layers`` that take them, replaced by the same function composed of its formula:
    ``layer_norm`` under a derivative of order 3 or a forward layer (jvp, jacfwd, ...)
    inside another derivative (its
    third derivative and its forward-over-forward second derivative are wrong: not what
    finite differences or torch's own jacrev(jacrev) give), ``norm_keep`` under order 3
    (grad of hessian of vector_norm raises an in-place RuntimeError inside torch); see
    test_found_cases.py."""
    order = {"grad": 1, "gv": 1, "vjp": 1, "jvp": 1, "jacrev": 1, "jacfwd": 1, "linearize": 1}
    order["hessian"] = 2
    orders = [order.get(la[0], 0) for la in layers]
    total = sum(orders)
    inner_fwd = any(
        la[0] in ("jacfwd", "hessian") and sum(orders[:i]) > 0 for i, la in enumerate(layers)
    )
    # any forward layer under another derivative (a jvp under jacfwd or under grad too:
    # session 37, seeds 3503 and 3610; chainrule's layer_norm matches its formula there)
    fwd = ("jvp", "jacfwd", "hessian", "linearize")
    inner_fwd = inner_fwd or any(
        la[0] in fwd and sum(orders[:i]) > 0 for i, la in enumerate(layers)
    )
    swap = {}
    if total >= 3 or inner_fwd:
        swap["layer_norm"] = "layer_norm_c"
    if inner_fwd:
        # torch 2.13 has no derivative of glu's forward-mode kernel ("derivative for
        # aten::glu_jvp is not implemented"); chainrule's composite has one (not mirrored)
        swap["glu_y"] = "glu_y_c"
        # torch 2.13's derivative of linalg.solve's forward-mode rule is wrong (grad of
        # jacfwd of solve(A(x), x) is not its grad of jacrev, nor that of inv(A) @ x;
        # chainrule's agrees with both): solve_sq composed of inv (test_found_cases_s41.py)
        swap["solve_sq"] = "solve_sq_c"
        # torch 2.13's reverse-mode derivative of det's forward-mode rule is wrong too
        # (vjp of jvp of det: not finite differences' value, nor its own double backward;
        # chainrule's agrees with both, test_found_cases_s42.py): det by its Leibniz formula
        swap["det_sq"] = "det_sq_c"
        swap["slogdet_sq"] = "slogdet_sq_c"
        # torch 2.13 cannot take reverse mode of the forward-mode rules of complex exp
        # ("Batching rule not implemented for aten::_neg_view") or of complex svdvals
        # ("vmap over torch.allclose isn't supported"; seed 3640): by real arithmetic
        swap["cplx_exp"] = "cplx_exp_c"
        swap["svdvals_c"] = "svdvals_cc"
    if total >= 2:
        # torch's logcumsumexp backward works in a log domain: a zero incoming gradient is
        # log(0); its third derivative is NaN where the true one is 0, and grad of jacrev
        # is wrong (not its own double backward's value; test_found_cases_s37.py, xfail)
        swap["logcumsumexp"] = "logcumsumexp_c"
    if total >= 3:
        swap["norm_keep"] = "norm_keep_c"
        # pairwise_distance is a vector_norm inside: the same in-place RuntimeError in
        # torch 2.13 ("output 0 of MaskedFill", grad of jacfwd of hessian, seed 3632)
        swap["pdist_keep"] = "pdist_keep_c"
        # F.normalize divides by a vector_norm: the same in-place RuntimeError in torch 2.13
        # (vjp of jvp of grad, seed 3636): normalize composed of its formula (bodies_s43)
        swap["normalize"] = "normalize_c"
        # and copysign's (vjp of hessian, seed 3638): copysign_y composed of abs and sign
        swap["copysign_y"] = "copysign_y_c"
        # torch 2.13's fourth derivative of polar fails inside torch ("modified by an
        # inplace operation: ... output 0 of MaskedFill"; vjp of hessian of grad, session
        # 41): polar_im composed of its formula
        swap["polar_im"] = "polar_im_c"
        # pnorm_bcast's vector_norm: the same in-place RuntimeError in torch 2.13 (vjp of
        # jvp of grad, seed 3639): composed of its formula (bodies_s44)
        swap["pnorm_bcast"] = "pnorm_bcast_c"
    names = [la[0] for la in layers]
    batched = [i for i, n in enumerate(names) if n in ("vmap", "jacrev", "jacfwd", "hessian")]
    reverse = [i for i, n in enumerate(names) if n in ("grad", "gv", "vjp", "jacrev", "hessian")]
    if "hessian" in names or (batched and reverse and min(batched) <= max(reverse)):
        # complex svdvals' backward under vmap (a vmap layer, or jacrev / hessian's own):
        # torch 2.13 refuses it ("vmap over torch.allclose isn't supported yet", its gauge
        # check; hessian of vmap of vjp, seed 3642): by real arithmetic as above
        swap["svdvals_c"] = "svdvals_cc"
    return tuple((swap.get(name, name), a) for name, a in body)


def constants(seed: int, s: tuple) -> dict:
    """The captured NumPy constants of a body over shape ``s`` (float64; cast per program)."""
    rng = np.random.default_rng(seed + 7919)
    n = s[-1] if s else 1
    big = max(s + (1,))
    c = s[0] if len(s) == 2 else 1
    return {
        "W": rng.normal(size=(big, big)) / big,
        "b": rng.normal(size=(big,)),
        "idx": rng.integers(0, max(n, 1), size=(n,)),
        "idx0": rng.integers(0, max(c, 1), size=(c,)),
        "convw": rng.normal(size=(c, c, 3)) / 2,
    }


def draw_body(rng: np.random.Generator, s: tuple, length: int) -> tuple:
    """A random chain of ``length`` steps over logical shape ``s``; ends back at a shape
    that broadcasts to ``s`` (every step is shape-checked while drawing)."""
    shape, steps = s, []
    for _ in range(length):
        name = str(rng.choice(steps_for(shape, s)))
        a = int(rng.integers(0, 4))
        steps.append((name, a))
        shape = shape_after(name, a, shape, s)
    return tuple(steps)


def apply_step(lib: Any, consts: dict, step: tuple, h: Any, y: Any) -> Any:
    """Run one step on ``h`` with ``lib`` (``consts``: the constants as ``lib`` tensors)."""
    F = lib.nn.functional
    name, a = step
    shape = tuple(h.shape)
    if name == "sin":
        return h.sin()
    if name == "tanh":
        return lib.tanh(h)
    if name == "sigmoid":
        return lib.sigmoid(h)
    if name == "sq":
        return h * h
    if name == "exp":
        return lib.exp(0.3 * h)
    if name == "log1p_sq":
        return lib.log1p(h * h)
    if name == "relu":
        return F.relu(h) if a % 2 else h.relu()
    if name == "gelu":
        return F.gelu(h, approximate="tanh" if a % 2 else "none")
    if name == "softplus":
        return F.softplus(h, beta=2.0 if a % 2 else 1.0)
    if name == "abs_sqrt":
        return lib.sqrt(h.abs() + 0.5)
    if name == "add_y":
        return h + y
    if name == "mul_y":
        return h * y
    if name == "sub_y":
        return y - h
    if name == "div_y":
        return h / (1.0 + y * y)
    if name == "where":
        return lib.where(h > 0, h, y * 2.0)
    if name == "maximum":
        return lib.maximum(h, y + 0.125)
    if name == "clamp":
        return h.clamp(-0.5, 0.75) if a % 2 else lib.clamp(h, min=-0.25)
    if name == "flip":
        return h.flip(-1) if shape else -h
    d = _dim(shape, a) if shape else 0
    if name == "softmax":
        return F.softmax(h, dim=d)
    if name == "log_softmax":
        return h.log_softmax(d)
    if name == "logsumexp":
        return lib.logsumexp(h, dim=d, keepdim=True)
    if name == "sum_keep":
        return h.sum(d, keepdim=True)
    if name == "mean_keep":
        return h.mean(dim=d, keepdim=True)
    if name == "amax_keep":
        return h.amax(d, keepdim=True)
    if name == "norm_keep":  # (not at 0: the norm has no derivative there)
        return lib.linalg.vector_norm(h + 0.25, 2 if a < 2 else 3, d, keepdim=True)
    if name == "norm_keep_c":  # vector_norm composed of its formula (see :func:`steer`)
        p = 2 if a < 2 else 3
        return ((h + 0.25).abs() ** p).sum(d, keepdim=True) ** (1 / p)
    if name == "var_keep":
        return h.var(d, keepdim=True, correction=0)
    if name == "cumsum":
        return h.cumsum(d)
    if name == "roll":
        return h.roll(1 + a % 2, d)
    if name == "cat":
        k = shape[d]
        return lib.cat([h.cos(), h], dim=d).narrow(d, a % (k + 1), k)
    if name == "stack":
        return lib.stack([h, h.sin()], dim=a % (len(shape) + 1)).prod(a % (len(shape) + 1))
    if name == "matmul_y":
        if len(shape) == 1:
            return y * (h @ y)
        return (h @ y.mT) @ h * 0.5
    k = shape[-1]
    if name == "matmul_w":
        return h @ consts["W"][:k, :k]
    if name == "einsum_w":
        return lib.einsum("...i,ij->...j", h, consts["W"][:k, :k])
    if name == "layer_norm":
        return F.layer_norm(h, (k,), consts["b"][:k] if a % 2 else None)
    if name == "layer_norm_c":  # layer_norm composed of its formula (see :func:`steer`)
        z = (h - h.mean(-1, keepdim=True)) / lib.sqrt(h.var(-1, keepdim=True, correction=0) + 1e-5)
        return z * consts["b"][:k] if a % 2 else z
    if name == "linear":
        return F.linear(h, consts["W"][:k, :k], consts["b"][:k] if a % 2 else None)
    if name == "index":
        return h[..., consts["idx"] % max(k, 1)]
    if name == "index0":
        return h[consts["idx0"] % max(shape[0], 1)]
    if name == "slice1":
        return h[..., -1:] if a % 2 else h[..., :1]
    if name == "transpose2":
        return h.transpose(0, 1) if a % 2 else h.mT
    if name == "rand":
        return h + 0.25 * lib.rand_like(h)
    if name == "dropout":
        return F.dropout(h, 0.5, training=True)
    if name == "conv1d":
        if len(shape) == 1:
            return F.conv1d(h[None], consts["convw"][:1, :1], padding=1)[0]
        return F.conv1d(h, consts["convw"], padding=1)
    if step[0] in S38_STEPS:
        return apply_s38(lib, step, h, y)
    if step[0] in S39_STEPS:
        return apply_s39(lib, step, h, y)
    if step[0] in S40_STEPS or step[0] == "glu_y_c":
        return apply_s40(lib, step, h, y)
    if step[0] in S41_STEPS or step[0] in ("solve_sq_c", "polar_im_c"):
        return apply_s41(lib, step, h, y)
    if step[0] in S42_STEPS or step[0] in ("det_sq_c", "slogdet_sq_c", "pdist_keep_c"):
        return apply_s42(lib, step, h, y)
    if step[0] in S43_STEPS or step[0] in ("normalize_c", "copysign_y_c"):
        return apply_s43(lib, step, h, y)
    if step[0] in S44_STEPS or step[0] in S44_COMPOSED:
        return apply_s44(lib, step, h, y)
    return apply_s37(lib, step, h, y)
