"""Modify an op's *non-differentiable* tensor arguments in place after forward (issue 9 §2).

Indices, masks, conditions, class targets and loss weights are read by backward rules but
never receive a gradient, so the engine's input bookkeeping does not see them. PyTorch saves
them and raises when one is modified in place before backward; chainrule must raise too (or,
where PyTorch copies the argument and runs, give PyTorch's gradient). A rule that kept such an
array on ``ctx`` without a version check would scatter the gradient to the new positions:
silently wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

_MUTATE = {"b": lambda t: t.logical_not_(), "i": lambda t: t.zero_(), "f": lambda t: t.mul_(2.0)}


def _F(lib):
    return cr.nn.functional if lib is cr else torch.nn.functional


# (name, x shape, aux value, call(lib, x, aux))
CASES = [
    ("getitem_int", (3, 4), np.array([0, 2, 2]), lambda L, x, i: x[i]),
    ("getitem_mask", (3, 4), np.array([True, False, True]), lambda L, x, m: x[m]),
    ("getitem_two_arrays", (3, 4), np.array([1, 2, 1]), lambda L, x, i: x[i, i]),
    ("getitem_int_and_array", (2, 3, 4), np.array([0, 3]), lambda L, x, i: x[1, :, i]),
    ("gather", (3, 4), np.array([[1, 2], [0, 0], [3, 1]]), lambda L, x, i: x.gather(1, i)),
    (
        "scatter_src",
        (3, 4),
        np.array([[1], [0], [3]]),
        lambda L, x, i: L.zeros(3, 4, dtype=x.dtype).scatter(1, i, x[:, :1]),
    ),
    ("scatter_self", (3, 4), np.array([[1], [0], [3]]), lambda L, x, i: x.scatter(1, i, 0.5)),
    (
        "scatter_add",
        (3, 4),
        np.array([[1], [0], [3]]),
        lambda L, x, i: L.zeros(3, 4, dtype=x.dtype).scatter_add(1, i, x[:, :1]),
    ),
    ("index_select", (3, 4), np.array([3, 1, 1]), lambda L, x, i: x.index_select(1, i)),
    (
        "take_along_dim",
        (3, 4),
        np.array([[2], [0], [3]]),
        lambda L, x, i: L.take_along_dim(x, i, 1),
    ),
    ("where", (3, 4), np.array([True, False, False, True]), lambda L, x, m: L.where(m, x, x * 3.0)),
    (
        "masked_fill",
        (3, 4),
        np.array([True, False, False, True]),
        lambda L, x, m: x.masked_fill(m, 0.0),
    ),
    (
        "masked_select",
        (3, 4),
        np.array([True, False, False, True]),
        lambda L, x, m: x.masked_select(m),
    ),
    (
        "cross_entropy_target",
        (3, 4),
        np.array([1, 0, 3]),
        lambda L, x, t: _F(L).cross_entropy(x, t),
    ),
    (
        "cross_entropy_weight",
        (3, 4),
        np.array([0.5, 1.0, 2.0, 1.5]),
        lambda L, x, w: _F(L).cross_entropy(x, L.tensor([1, 0, 3]), w),
    ),
    (
        "cross_entropy_weight_smooth",
        (3, 4),
        np.array([0.5, 1.0, 2.0, 1.5]),
        lambda L, x, w: _F(L).cross_entropy(x, L.tensor([1, 0, 3]), w, label_smoothing=0.2),
    ),
    (
        "cross_entropy_probs",
        (3, 4),
        np.full((3, 4), 0.25),
        lambda L, x, p: _F(L).cross_entropy(x, p),
    ),
    ("nll_loss_target", (3, 4), np.array([1, 0, 3]), lambda L, x, t: _F(L).nll_loss(x, t)),
    (
        "nll_loss_weight",
        (3, 4),
        np.array([0.5, 1.0, 2.0, 1.5]),
        lambda L, x, w: _F(L).nll_loss(x, L.tensor([1, 0, 3]), w),
    ),
    (
        "bce_weight",
        (3, 4),
        np.full((3, 4), 0.7),
        lambda L, x, w: _F(L).binary_cross_entropy(
            x.sigmoid(), L.full((3, 4), 0.3, dtype=x.dtype), w
        ),
    ),
    (
        "bce_with_logits_weight",
        (3, 4),
        np.full((4,), 0.7),
        lambda L, x, w: _F(L).binary_cross_entropy_with_logits(
            x, L.full((3, 4), 0.3, dtype=x.dtype), w
        ),
    ),
    (
        "bce_with_logits_pos_weight",
        (3, 4),
        np.full((4,), 1.5),
        lambda L, x, w: _F(L).binary_cross_entropy_with_logits(
            x, L.full((3, 4), 0.3, dtype=x.dtype), pos_weight=w
        ),
    ),
    ("embedding", (5, 3), np.array([[0, 2], [4, 2]]), lambda L, w, i: _F(L).embedding(i, w)),
    (
        "embedding_padding",
        (5, 3),
        np.array([[0, 2], [4, 2]]),
        lambda L, w, i: _F(L).embedding(i, w, padding_idx=2),
    ),
]


# PyTorch raises, chainrule's gradient is the right one (checked against an unmodified run).
# (binary_cross_entropy_with_logits is now one node saving pos_weight, as PyTorch's.)
TORCH_RAISES_CR_RIGHT: set = set()


def _run(lib, call, x_arr, aux_arr, mutate=True):
    """Forward, modify the auxiliary tensor in place, backward: ("raise", msg) or ("ok", grad)."""
    x = lib.tensor(x_arr, requires_grad=True)
    aux = lib.tensor(aux_arr)
    try:
        y = call(lib, x, aux)
        if mutate:
            _MUTATE[aux_arr.dtype.kind](aux)
        up = np.random.default_rng(3).standard_normal(tuple(y.shape))
        (y * lib.tensor(up)).sum().backward()
    except RuntimeError as err:
        return "raise", str(err)
    return "ok", np.array(x.grad.numpy())


@pytest.mark.parametrize("name,shape,aux,call", CASES, ids=[c[0] for c in CASES])
def test_inplace_change_of_index_mask_target_or_weight(name, shape, aux, call):
    x = np.random.default_rng(0).uniform(0.1, 0.9, shape)
    t_kind, t_res = _run(torch, call, x, aux)
    c_kind, c_res = _run(cr, call, x, aux)
    if name in TORCH_RAISES_CR_RIGHT:
        assert t_kind == "raise" and c_kind == "ok", (t_kind, c_kind)
        t_kind, t_res = _run(torch, call, x, aux, mutate=False)
        np.testing.assert_allclose(c_res, t_res, rtol=1e-10, atol=1e-12, err_msg=name)
    elif t_kind == "raise":
        assert c_kind == "raise", (
            f"{name}: PyTorch raises ({t_res[:60]}...) but chainrule "
            "ran: its backward read the modified tensor unchecked"
        )
        assert "modified by an inplace operation" in c_res, c_res
    else:
        assert c_kind == "ok", f"{name}: PyTorch runs but chainrule raised: {c_res}"
        np.testing.assert_allclose(c_res, t_res, rtol=1e-10, atol=1e-12, err_msg=name)
