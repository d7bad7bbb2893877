"""Two-operand ``einsum`` values and contiguity against PyTorch over random sizes (session 45).

``ops/einsum_layout.py`` lays a two-operand result out with PyTorch's strides; a label
summed inside one operand only (``k`` of ``'bix,xiok->box'``) is size 1 in that layout. It
was once given its full size, so the strides read past the result (garbage values: the
drop-in program laplace_neural_operator went NaN). Sizes 1..4 draw the size-1 cases too.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import chainrule as cr

EQUATIONS = [
    "bix,xiok->box",
    "bix,xiok->bok",
    "ij,jk->ki",
    "ijk,jkl->li",
    "abc,cd->da",
    "abc,bcd->ad",
    "abc,adc->bd",
    "xab,bcx->xa",
    "abcd,cdef->fa",
    "abc,cba->b",
    "ab,cd->dacb",
    "abk,kc->cba",
    "bhqk,bhkd->bqhd",
    "nchw,oc->nohw",
]


@pytest.mark.parametrize("equation", EQUATIONS)
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_values_and_contiguity_as_pytorch(equation: str, dtype: str) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{equation}{dtype}".encode()))
    ins = equation.split("->")[0].split(",")
    for _ in range(6):
        sizes = {c: int(rng.integers(1, 5)) for c in set("".join(ins))}
        a, b = (rng.normal(size=[sizes[c] for c in s]).astype(dtype) for s in ins)
        got = cr.einsum(equation, cr.tensor(a), cr.tensor(b))
        want = torch.einsum(equation, torch.tensor(a), torch.tensor(b))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
        if want.numel() > 1 and all(n > 1 for n in want.shape):
            assert got.stride() == want.stride(), (sizes, got.stride(), want.stride())
