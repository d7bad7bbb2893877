"""``add``/``sub`` with a bool or complex ``alpha``, as PyTorch: a bool alpha needs a bool
result ("Boolean alpha only supported for Boolean results."), a complex one a complex result
(integral inputs get the floating-point alpha message). chainrule added ``True`` as 1 and
raised a raw TypeError for a complex alpha (or computed a complex result from real tensors).
"""

from __future__ import annotations

import pytest
import torch

import chainrule as cr


def _cases(m):
    x, z = m.ones(2), m.ones(2, dtype=m.complex64)
    i, b = m.ones(2, dtype=m.int64), m.ones(2, dtype=m.bool)
    return [
        lambda: x.add(x, alpha=True),
        lambda: i.add(i, alpha=True),
        lambda: b.add(b, alpha=True),
        lambda: x.add(x, alpha=1j),
        lambda: x.add(2, alpha=1j),
        lambda: x.sub(x, alpha=True),
        lambda: x.add(x, alpha=False),
        lambda: b.add(b, alpha=2),
        lambda: m.add(1, x, alpha=True),
        lambda: z.add(x, alpha=1j),
        lambda: x.add(z, alpha=2j),
        lambda: z.sub(z, alpha=1j),
        lambda: x.add_(x, alpha=True),
        lambda: i.add(b, alpha=True),
        lambda: b.add(b, alpha=1j),
    ]


def _run(call):
    try:
        r = call()
    except RuntimeError as err:
        return "RuntimeError", str(err)
    return str(r.dtype), r.tolist()


@pytest.mark.parametrize("k", range(15))
def test_alpha_kinds_as_torch(k):
    assert _run(_cases(cr)[k]) == _run(_cases(torch)[k])
