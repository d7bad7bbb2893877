"""What torch refuses on nested tensors, chainrule refuses with the same error (type and
message, the ragged ``j<n>`` numbering aside); what chainrule leaves out raises
NotImplementedError naming the op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import norm_repr, pair, raises_like


def _nts(layout: str) -> tuple:
    rng = np.random.default_rng(11)
    return pair([rng.standard_normal((2, 4)), rng.standard_normal((3, 4))], layout)


def _f(m):
    return m.nn.functional


_STRIDED = [
    lambda m, x: x + m.ones(4),
    lambda m, x: m.ones(4) + x,
    lambda m, x: x - m.ones(1, 4),
    lambda m, x: m.matmul(x, m.ones(4, 3)),
    lambda m, x: x.sum(-1),
    lambda m, x: x.sum(1, keepdim=True),
    lambda m, x: m.softmax(x, 0),
    lambda m, x: x.transpose(0, 1),
    lambda m, x: x.reshape(8, -1),
    lambda m, x: x.chunk(2, 1),
    lambda m, x: _f(m).layer_norm(x, (4,)),
    lambda m, x: x + m.nested.nested_tensor([m.ones(2, 4), m.ones(2, 4)], dtype=m.float64),
    lambda m, x: x.size(1),
    lambda m, x: x.shape,
    lambda m, x: x.to_padded_tensor(0.0, (2, 3)),
    lambda m, x: x.to_padded_tensor(0.0, (2, 1, 4)),
    lambda m, x: x.offsets(),
]

_JAGGED = [
    lambda m, x: (
        x + m.nested.nested_tensor([m.ones(2, 4), m.ones(3, 4)], layout=m.jagged, dtype=m.float64)
    ),
    lambda m, x: m.softmax(x, 0),
    lambda m, x: x.transpose(0, 1),
    lambda m, x: x.sum(0),
    lambda m, x: x.chunk(2, 1),
    lambda m, x: x.reshape(8, -1),
    lambda m, x: _f(m).scaled_dot_product_attention(
        x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1), attn_mask=m.ones(1, dtype=m.bool)
    ),
    lambda m, x: _f(m).scaled_dot_product_attention(
        x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1), is_causal=True
    ),
]


@pytest.mark.parametrize("case", range(len(_STRIDED)))
def test_strided_refusals_match_torch(case):
    c, t = _nts("strided")
    c_msg, t_msg = raises_like(lambda: _STRIDED[case](cr, c), lambda: _STRIDED[case](torch, t))
    assert c_msg == t_msg


@pytest.mark.parametrize("case", range(len(_JAGGED)))
def test_jagged_refusals_match_torch(case):
    c, t = _nts("jagged")
    c_msg, t_msg = raises_like(lambda: _JAGGED[case](cr, c), lambda: _JAGGED[case](torch, t))
    assert norm_repr(c_msg) == norm_repr(t_msg)


def test_jagged_matmul_of_nested_refused_as_torch():
    c, t = _nts("jagged")
    c_msg, t_msg = raises_like(lambda: c @ c.transpose(1, 2), lambda: t @ t.transpose(1, 2))
    assert norm_repr(c_msg) == norm_repr(t_msg)


@pytest.mark.parametrize("layout", ["strided", "jagged"])
def test_unsupported_ops_name_themselves(layout):
    c, _ = _nts(layout)
    with pytest.raises(NotImplementedError, match="cumsum"):
        cr.cumsum(c, -1)
    with pytest.raises(NotImplementedError, match="getitem"):
        c[{0}]  # noqa: B018 - a set is no index of a nested tensor


def test_strided_missing_kernels_raise_not_implemented():
    c, t = _nts("strided")
    raises_like(lambda: cr.exp(c), lambda: torch.exp(t))
    raises_like(lambda: c**2, lambda: t**2)
    raises_like(lambda: c.sum(), lambda: t.sum())


def test_requires_grad_on_non_leaf_refused():
    c, _ = _nts("jagged")
    c.requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        c.sin().requires_grad_(False)
