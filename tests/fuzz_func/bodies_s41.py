"""Body steps of the ``torch.func`` fuzzer added in session 41 (:mod:`.bodies` draws them with
its own): the activations ``selu``, ``hardtanh`` off its corners and ``softmin``, complex
values inside the body (``conj_physical`` of a complex made from the value, ``polar``,
``view_as_real`` round trips), ``nan_to_num`` of finite values, ``mse_loss`` with
``reduction='none'`` against ``y``, ``gather`` with a sorting permutation, and for a square
running value ``linalg.matrix_exp``, ``linalg.pinv`` and ``linalg.solve`` against a
well-conditioned matrix, which the transforms must see through as torch.func does.

As :mod:`.bodies_s40`: the binary steps broadcast the running value with ``y``'s shape
(:func:`~.bodies.shape_after` reads :data:`S41_BINARY`); every other step keeps the shape.
"""

from __future__ import annotations

from typing import Any

__all__ = ["S41_BINARY", "S41_STEPS", "apply_s41", "s41_steps_for"]

# (not rrelu in eval form: torch's vmap has no rule for it, "we do not yet support
# aten::rrelu"; not soft_margin_loss or huber_loss: torch has no forward-mode derivative of
# their backward, "Trying to use forward AD with huber_loss_backward")
S41_UNARY = ("selu", "hardtanh_in", "conj_rt", "polar_im", "nan_to_num")
S41_BINARY = ("mse_y",)
S41_SHAPED = ("softmin", "take_sorted")
S41_SQUARE = ("matrix_exp", "pinv_sq", "solve_sq")
S41_STEPS = S41_UNARY + S41_BINARY + S41_SHAPED + S41_SQUARE


def s41_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out = list(S41_UNARY)
    if broadcasts:
        out += list(S41_BINARY)
    if shape:
        out += list(S41_SHAPED)
    if len(shape) == 2 and shape[0] == shape[1]:
        out += list(S41_SQUARE)
    return out


def _dim(shape: tuple, a: int) -> int:
    r = len(shape)
    return a % r - r if a % 2 == 0 else a % r


def _unary(lib: Any, name: str, a: int, h: Any) -> Any:
    F = lib.nn.functional
    if name == "selu":
        return F.selu(h) if a % 2 else lib.selu(h * 0.5)
    if name == "hardtanh_in":
        # squashed inside the corners (no derivative there): a smooth map in effect
        return F.hardtanh(lib.tanh(h) * 0.75, -0.875, 0.875) + h * 0.25
    if name == "conj_rt":
        z = lib.complex(h, h * 0.5 + 0.25)
        w = z * lib.conj_physical(z) if a % 2 else z.conj_physical() * z.exp()
        return w.real + w.imag
    if name == "polar_im":
        p = lib.polar(h * h + 0.5, h)
        return lib.view_as_real(p)[..., 1] if a % 2 else p.imag + p.abs()
    if name == "polar_im_c":  # polar_im composed of its formula (see bodies.steer)
        r = h * h + 0.5
        return r * lib.sin(h) if a % 2 else r * lib.sin(h) + r
    # nan_to_num of finite values: the identity, but through its own kernel
    return lib.nan_to_num(h * 1.5, nan=0.0, posinf=2.0, neginf=-2.0)


def apply_s41(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    F = lib.nn.functional
    name, a = step
    shape = tuple(h.shape)
    if name in S41_UNARY or name == "polar_im_c":
        return _unary(lib, name, a, h)
    if name in S41_BINARY:
        # both operands carry every vmap level (see bodies_s39)
        u, t = h + 0 * y, y + 0 * h
        return F.mse_loss(u, t, reduction="none") * (0.5, -1.5)[a % 2]
    if name == "softmin":
        return F.softmin(h, dim=_dim(shape, a))
    if name == "take_sorted":
        d = _dim(shape, a)
        # a permutation read from a detached copy: no derivative through the indices
        # (gather, not take_along_dim: chainrule's take_along_dim fails under vmap, its
        # index broadcast reads the raw array; reported, test_found_cases_s41.py, xfail)
        order = lib.argsort(h.detach(), dim=d, stable=True)
        return lib.gather(h, d, order) * 1.5
    n = shape[0]
    eye = lib.eye(n, dtype=h.dtype)
    if name == "matrix_exp":
        return lib.linalg.matrix_exp(h * 0.25)
    if name == "pinv_sq":
        # full rank: the identity's multiple dominates (pinv is smooth there)
        return lib.linalg.pinv(h * 0.25 + eye * 2.0)
    a_mat = eye * 3.0 + lib.tanh(h) * 0.25  # well conditioned
    if name == "solve_sq_c":  # solve_sq composed of inv (see bodies.steer)
        inv = lib.linalg.inv(a_mat)
        return inv @ h if a % 2 else h @ inv
    return lib.linalg.solve(a_mat, h) if a % 2 else lib.linalg.solve(a_mat, h, left=False)
