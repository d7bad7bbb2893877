"""``cr._tensor_str`` against ``torch._tensor_str`` 2.13, live: ``PRINT_OPTS`` read and set,
``get_printoptions`` and the ``printoptions`` context manager (restored also when the block
raises), which code written for torch uses to print with other options for a while."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch._tensor_str as torch_str

import chainrule as cr

VALUES = np.array([[1.23456, -20.5], [1e-5, 3.0]])


@pytest.fixture(autouse=True)
def _defaults():
    yield
    for lib in (torch, cr):
        lib.set_printoptions(profile="default", sci_mode=None)


def _both() -> tuple[str, str]:
    return repr(torch.tensor(VALUES)), repr(cr.tensor(VALUES))


@pytest.mark.parametrize(
    "opts",
    [{}, {"precision": 2}, {"profile": "short"}, {"profile": "full", "sci_mode": True}],
    ids=str,
)
def test_get_printoptions_matches_torch(opts) -> None:
    torch.set_printoptions(**opts)
    cr.set_printoptions(**opts)
    assert cr._tensor_str.get_printoptions() == torch_str.get_printoptions()
    assert repr(cr._tensor_str.PRINT_OPTS) == repr(torch_str.PRINT_OPTS)


def test_printoptions_context_prints_and_restores() -> None:
    with torch_str.printoptions(precision=1, sci_mode=False):
        want = _both()[0]
    with cr._tensor_str.printoptions(precision=1, sci_mode=False):
        got = _both()[1]
    assert got == want
    assert _both()[0] == _both()[1]
    with pytest.raises(KeyError), cr._tensor_str.printoptions(linewidth=20):
        raise KeyError("inside")
    assert cr._tensor_str.get_printoptions() == torch_str.get_printoptions()


def test_print_opts_attribute_set_changes_printing() -> None:
    torch_str.PRINT_OPTS.precision = 2
    cr._tensor_str.PRINT_OPTS.precision = 2
    try:
        want, got = _both()
        assert got == want
        assert cr._tensor_str.PRINT_OPTS.precision == 2
    finally:
        torch_str.PRINT_OPTS.precision = 4
        cr._tensor_str.PRINT_OPTS.precision = 4
    with pytest.raises(AttributeError, match="no option 'bogus'"):
        cr._tensor_str.PRINT_OPTS.bogus = 1
    with pytest.raises(TypeError, match="bogus"), cr._tensor_str.printoptions(bogus=1):
        pass
