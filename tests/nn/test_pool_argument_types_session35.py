"""Pooling size arguments that are not ints raise PyTorch's TypeError (ops/pooling.py
``size_ints``): ``AvgPool1d(3, stride=2.5)`` ran as stride 2 and ``AvgPool1d("3")`` as 3
before; the others raised raw Python errors (``object of type 'float' has no len()``)."""

import numpy as np
import pytest
import torch

import chainrule as cr

CASES = {
    "avg1d_float_stride": lambda L: L.nn.AvgPool1d(3, stride=2.5)(L.ones(1, 2, 9)),
    "max1d_float_stride": lambda L: L.nn.MaxPool1d(3, stride=2.5)(L.ones(1, 2, 9)),
    "avg1d_string_kernel": lambda L: L.nn.AvgPool1d("3")(L.ones(1, 2, 9)),
    "lp1d_float_stride": lambda L: L.nn.LPPool1d(2, 3, stride=1.5)(L.ones(1, 2, 9)),
    "max1d_float_padding": lambda L: L.nn.MaxPool1d(3, padding=1.0)(L.ones(1, 2, 9)),
    "avg2d_float_stride": lambda L: L.nn.AvgPool2d(3, stride=1.5)(L.ones(1, 2, 9, 9)),
    "max2d_float_kernel": lambda L: L.nn.MaxPool2d(2.0)(L.ones(1, 2, 9, 9)),
    "max2d_float_in_tuple": lambda L: L.nn.MaxPool2d((2, 2.5))(L.ones(1, 2, 9, 9)),
    "max3d_float_stride": lambda L: L.nn.MaxPool3d(2, stride=1.5)(L.ones(1, 1, 4, 4, 4)),
    "avg3d_float_kernel": lambda L: L.nn.AvgPool3d(2.5)(L.ones(1, 1, 4, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_non_int_sizes_raise_typeerror_as_torch(name):
    for lib in (torch, cr):
        with pytest.raises(TypeError):
            CASES[name](lib)


def test_int_like_sizes_still_work():
    for make, shape in (
        (lambda L: L.nn.MaxPool2d((2, np.int64(2))), (1, 2, 9, 9)),
        (lambda L: L.nn.AvgPool1d(3, stride=[]), (1, 2, 9)),
        (lambda L: L.nn.MaxPool1d(np.int32(3)), (1, 2, 9)),
    ):
        shapes = [tuple(make(L)(L.ones(*shape)).shape) for L in (torch, cr)]
        assert shapes[0] == shapes[1]


FLAGS = {
    "max2d_ceil_mode_int": lambda L, v: L.nn.functional.max_pool2d(
        L.ones(1, 1, 5, 5), 2, ceil_mode=v
    ),
    "avg2d_count_include_pad": lambda L, v: L.nn.functional.avg_pool2d(
        L.ones(1, 1, 5, 5), 2, count_include_pad=v
    ),
    "max1d_ceil_mode": lambda L, v: L.nn.functional.max_pool1d(L.ones(1, 1, 5), 2, ceil_mode=v),
    "module_ceil_mode": lambda L, v: L.nn.MaxPool2d(2, ceil_mode=v)(L.ones(1, 1, 5, 5)),
}


@pytest.mark.parametrize("value", [1, 0, 2.5, "x", None, np.bool_(True)], ids=repr)
@pytest.mark.parametrize("name", sorted(FLAGS))
def test_pooling_flags_must_be_bools(name, value):
    messages = []
    for lib in (torch, cr):
        with pytest.raises(TypeError) as info:
            FLAGS[name](lib, value)
        messages.append(str(info.value))
    assert messages[1].split("must be bool")[1] == messages[0].split("must be bool")[1]
