"""``cr.library.opcheck`` and ``register_fake`` against torch: the result dict, failures of
each test, and what chainrule checks beyond torch (a wrong backward)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import chainrule as cr

from ._annotations import typed

torch = pytest.importorskip("torch")

_ids = itertools.count()


def _make(lib: Any, ns: str, body: Any, fake: Any = None, backward: Any = None, **kw: Any) -> Any:
    T = lib.Tensor

    def op(x: T) -> T:
        return body(lib, x)

    custom = lib.library.custom_op(f"{ns}::op", typed(op, T=T), **kw)
    if fake is not None:
        custom.register_fake(lambda x: fake(lib, x))
    if backward is not None:
        custom.register_autograd(
            lambda ctx, g: backward(ctx.saved_tensors[0], g),
            setup_context=lambda ctx, inputs, output: ctx.save_for_backward(inputs[0]),
        )
    return custom


def _sin(lib: Any, x: Any) -> Any:
    return lib.from_numpy(np.sin(x.numpy()))


def _empty(lib: Any, x: Any) -> Any:
    return lib.empty_like(x)


def _both(body: Any, fake: Any = None, backward: Any = None, mutates: Any = ()) -> dict:
    ns = f"crlib_oc_{next(_ids)}"
    return {lib: _make(lib, ns, body, fake, backward, mutates_args=mutates) for lib in (cr, torch)}


def _run(ops: dict, requires_grad: bool, **kw: Any) -> dict:
    out = {}
    for lib, op in ops.items():
        x = lib.tensor([0.3, -0.7, 1.1], dtype=lib.float64, requires_grad=requires_grad)
        try:
            out[lib] = lib.library.opcheck(op, (x,), **kw)
        except Exception as exc:  # noqa: BLE001 - compared below
            out[lib] = exc
    return out


def _summary(result: Any) -> Any:
    if isinstance(result, dict):
        return {k: v if isinstance(v, str) else type(v).__name__ for k, v in result.items()}
    return type(result).__name__, str(result).split(" failed with ")[0]


def test_a_good_op_passes_every_test_with_torchs_keys() -> None:
    ops = _both(_sin, _empty, lambda x, g: g * x.cos())
    for req in (True, False):
        res = _run(ops, req)
        assert res[cr] == res[torch]
        assert list(res[cr]) == [
            "test_schema",
            "test_autograd_registration",
            "test_faketensor",
            "test_aot_dispatch_dynamic",
        ]
    assert cr.library.opcheck(getattr(cr.ops, ops[cr]._namespace).op, (cr.ones(2),))
    subset = _run(ops, True, test_utils=("test_faketensor", "test_schema"))
    assert subset[cr] == subset[torch] == {"test_faketensor": "SUCCESS", "test_schema": "SUCCESS"}


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("no_fake", {}),
        ("no_fake", {"raise_exception": False}),
        ("no_formula", {}),
        ("bad_fake_shape", {}),
        ("bad_fake_dtype", {}),
        ("undeclared_mutation", {}),
    ],
)
def test_broken_ops_fail_the_test_torch_fails(case: str, kwargs: dict) -> None:
    good_bw = lambda x, g: g * x.cos()  # noqa: E731
    ops = {
        "no_fake": lambda: _both(_sin, None, good_bw),
        "no_formula": lambda: _both(_sin, _empty),
        "bad_fake_shape": lambda: _both(_sin, lambda lib, x: x.new_empty(x.shape[0] + 1), good_bw),
        "bad_fake_dtype": lambda: _both(
            _sin, lambda lib, x: lib.empty_like(x, dtype=lib.float32), good_bw
        ),
        "undeclared_mutation": lambda: _both(
            lambda lib, x: x.add_(1).clone(), _empty, lambda x, g: g
        ),
    }[case]()
    res = _run(ops, case == "no_formula", **kwargs)
    assert _summary(res[cr]) == _summary(res[torch])
    if isinstance(res[cr], Exception):
        assert type(res[cr]).__name__ == "OpCheckError"
        c_msg, t_msg = str(res[cr]), str(res[torch])
        if case in ("undeclared_mutation", "no_formula"):
            assert c_msg == t_msg
        if case == "bad_fake_shape":
            assert "Shapes torch.Size([3]) and torch.Size([4]) are not equal!" in c_msg


def test_a_wrong_backward_fails_here_but_not_in_torch() -> None:
    ops = _both(_sin, _empty, lambda x, g: g * 2.0)
    res = _run(ops, True)
    assert res[torch]["test_autograd_registration"] == "SUCCESS"  # torch does not compare
    assert isinstance(res[cr], cr.library.OpCheckError)
    assert "test_autograd_registration failed with gradcheck (fast mode, backward) failed" in str(
        res[cr]
    )


def test_bad_arguments() -> None:
    op = _both(_sin, _empty)[cr]
    with pytest.raises(ValueError, match="op must be a custom operator"):
        cr.library.opcheck(lambda x: x, (cr.ones(1),))
    with pytest.raises(ValueError, match="expected test_utils to be subset of"):
        cr.library.opcheck(op, (cr.ones(1),), test_utils=("bogus",))
    # a tensor given as args is iterated, as in torch: three arguments for a one-argument op
    with pytest.raises(cr.library.OpCheckError, match="expected at most 1 argument"):
        cr.library.opcheck(op, cr.ones(3))


def test_the_tutorials_crop_op_with_a_list_of_ints() -> None:
    """The tutorial's ``crop`` (a ``Sequence[int]`` box, a fake built with ``new_empty``, a
    backward writing into zeros), checked with examples given as lists."""
    ns = f"crlib_oc_{next(_ids)}"
    got = {}
    for lib in (cr, torch):
        T = lib.Tensor

        def crop(pic: T, box: Sequence[int]) -> T:
            x0, y0, x1, y1 = box
            return pic[:, y0:y1, x0:x1].clone()

        op = lib.library.custom_op(f"{ns}::crop", typed(crop, T=T), mutates_args=())

        @op.register_fake
        def _(pic: Any, box: Any) -> Any:
            x0, y0, x1, y1 = box
            return pic.new_empty(pic.shape[0], y1 - y0, x1 - x0)  # torch compares strides too

        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            ctx.pic_shape, ctx.box = inputs[0].shape, inputs[1]

        def backward(ctx: Any, grad_output: Any) -> tuple:
            result = grad_output.new_zeros(ctx.pic_shape)
            x0, y0, x1, y1 = ctx.box
            result[:, y0:y1, x0:x1] = grad_output
            return result, None

        op.register_autograd(backward, setup_context=setup_context)
        pic = lib.tensor(np.arange(2 * 6 * 5.0).reshape(2, 6, 5), requires_grad=True)
        reports = [
            lib.library.opcheck(op, [pic, [1, 0, 4, 3]]),
            lib.library.opcheck(op, [pic.detach(), [0, 2, 5, 6]]),
        ]
        (op(pic, [1, 2, 3, 5]) ** 2).sum().backward()
        got[lib] = (reports, pic.grad.tolist())
    assert got[cr] == got[torch]
