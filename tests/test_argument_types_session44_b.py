"""Session 44 (b): error texts found this session, compared with torch live (CONTRIBUTING.md,
"Error messages": PyTorch's exception class, or a chainrule subclass of it, and its first
line word for word; chainrule's hint only on a later line), and what torch accepts computed
as torch:

- ``rot90``: its RuntimeErrors' words and its parser's TypeErrors for ``k`` and ``dims``;
- ``x.norm``'s ``keepdim`` that is no bool (``None`` included): torch's TypeError;
- a negative size for a new tensor (``cr.empty(-1)``, ``LayerNorm(-1)``, ``cr.zeros(-1)``'s
  own words): torch's line first, the hint after it;
- reading a 0-d tensor (``cr.tensor(1)[0]``, ``[0:1]``) and too many indices;
- ``cr.split(x, 2, 0, 1)``: Python's positional-count text of torch's function;
- ``backward()``/``autograd.grad`` of a complex or non-scalar output: torch's line intact;
- Adam, AdamW, NAdam, RAdam, Adamax with three betas: taken by the constructor, refused by
  the step (Python's unpacking ValueError), as torch;
- ``F.batch_norm`` with a 0-d or ``(1, 1)`` weight or bias for one channel (a
  ``BatchNorm1d``/``SyncBatchNorm`` whose parameters were replaced): torch's forward values,
  its backward's errors (and a 0-d bias's 0-d gradient).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

ERROR_CALLS = [
    # rot90
    "L.rot90(L.ones(3))",
    "L.rot90(L.tensor(1.0), 1, (0, 0))",
    "L.rot90(x, 1, (0, 0))",
    "L.rot90(x, 1, (0, -2))",
    "L.rot90(x, 1, (1, -1))",
    "L.rot90(L.ones(2, 3, 4), 1, (0, -3))",
    "L.rot90(x, 1, (0, 2))",
    "L.rot90(x, 1, (-3, 0))",
    "L.rot90(x, 1, (5, 5))",
    "L.rot90(x, 1, (0, 1, 1))",
    "L.rot90(x, 1, (0,))",
    "L.rot90(x, 1, ())",
    "L.rot90(L.ones(3), 1, (0,))",
    "L.rot90(x, 1.0)",
    "L.rot90(x, True)",
    "L.rot90(x, None)",
    "L.rot90(x, '1')",
    "L.rot90(x, L.tensor(1.0))",
    "L.rot90(x, np.float64(1.0))",
    "L.rot90(x, k=1.0)",
    "x.rot90(1.0)",
    "x.rot90(k=None)",
    "L.rot90(x, 1, 0)",
    "L.rot90(x, 1, None)",
    "L.rot90(x, 1, (0, 1.0))",
    "L.rot90(x, 1, (0, None))",
    # norm's keepdim
    "x.norm(None, None, None, None)",
    "x.norm(keepdim=None)",
    "L.norm(x, None, None, None)",
    "x.norm(2, None, None)",
    "x.norm(2, 1, None)",
    "x.norm('fro', None, None)",
    "x.norm('fro', (0, 1), None)",
    "x.norm(2, 1, 1)",
    "x.norm(2, 1, 0)",
    "x.norm(None, None, 'a')",
    "x.norm(2, None, None, L.float64)",
    "x.norm(2, None, keepdim=None, dtype=L.float64)",
    "x.norm(2, None, np.bool_(True))",
    "x.norm(2, None, L.tensor(True))",
    "x.norm('nuc', None, None)",
    "x.norm('nuc', (0, 1), None)",
    "x.norm('nuc', [0, 1], 0)",
    "x.norm('nuc', None, None, L.float64)",
    "x.norm('nuc', keepdim=None)",
    # negative sizes
    "L.empty(-1)",
    "L.empty(2, -1)",
    "L.zeros(-1)",
    "L.zeros(2, -1)",
    "L.zeros(size=(-1,))",
    "L.ones(-1)",
    "L.full((2, -1), 1.0)",
    "L.rand(-1)",
    "L.randn(-1)",
    "L.randperm(-1)",
    "L.randint(3, (-1,))",
    "L.empty_strided((-1,), (1,))",
    "x.new_zeros(-1)",
    "x.new_empty(-1)",
    "L.nn.LayerNorm(-1)",
    "L.nn.Linear(-1, 2)",
    "L.nn.Conv2d(-1, 2, 3)",
    "L.nn.Embedding(-1, 2)",
    # reading a 0-d tensor, too many indices
    "L.tensor(1)[0]",
    "L.tensor(1)[np.int64(0)]",
    "L.tensor(1)[-1]",
    "L.tensor(1)[3]",
    "L.tensor(1)[0:1]",
    "L.tensor(1)[:]",
    "L.tensor(1)[(0,)]",
    "L.tensor(1)[0, None]",
    "L.tensor(1)[..., 0]",
    "L.tensor(1)[L.tensor(0)]",
    "L.tensor(1)[L.tensor([0])]",
    "L.tensor(1)[[0]]",
    "L.ones(3)[0, 0]",
    "L.ones(3)[:, 0]",
    "L.ones(3)[[0], [0]]",
    "L.ones(3)[..., 0, 0]",
    # split's positional count
    "L.split(x, 2, 0, 1)",
    "L.split(x, 2, 0, 1, 2)",
    "x.split(2, 0, 1)",
    # implicit gradients
    "(L.ones(2, dtype=L.complex64, requires_grad=True) * 2).sum().backward()",
    "(L.ones(2, requires_grad=True) * 2).backward()",
    "L.autograd.grad((zc * 2).sum(), zc)",
    "L.autograd.grad(zr * 2, zr)",
    # three betas: the constructor takes them, the step refuses them
    "L.optim.Adam([L.nn.Parameter(L.ones(2))], betas=(0.9, 0.99, 0.5)).step()",
    "L.optim.AdamW([L.nn.Parameter(L.ones(2))], betas=(0.9, 0.99, 0.5)).step()",
    "L.optim.NAdam([L.nn.Parameter(L.ones(2))], betas=(0.9, 0.99, 0.5)).step()",
    "L.optim.RAdam([L.nn.Parameter(L.ones(2))], betas=(0.9, 0.99, 0.5)).step()",
    "L.optim.Adamax([L.nn.Parameter(L.ones(2))], betas=(0.9, 0.99, 0.5)).step()",
    "L.optim.Adam([L.nn.Parameter(L.ones(2))], betas=(0.9,))",
    "L.optim.NAdam([L.nn.Parameter(L.ones(2))], betas=(0.9,))",
    # batch_norm's running statistics of C elements, not 1-d
    "F.batch_norm(L.ones(4, 1, 3), L.zeros(()), L.ones(1), training=True)",
    "F.batch_norm(L.ones(4, 1, 3), L.zeros(1), L.ones(1, 1), training=False)",
    "F.batch_norm(L.ones(4, 1, 3), L.zeros(1), L.ones(1), L.ones(2))",
]


def _run(lib, src: str):
    env = {
        "L": lib,
        "np": np,
        "F": lib.nn.functional,
        "x": lib.arange(6.0).reshape(2, 3),
        "zc": lib.ones(2, dtype=lib.complex64, requires_grad=True),
        "zr": lib.ones(2, requires_grad=True),
    }
    try:
        return "ok", eval(src, env)  # noqa: S307 - the call under test
    except Exception as err:  # noqa: BLE001 - compared below
        return "err", err


@pytest.mark.parametrize("src", ERROR_CALLS)
def test_error_class_and_first_line_as_torch(src):
    t_kind, t_err = _run(torch, src)
    c_kind, c_err = _run(cr, src)
    assert t_kind == "err", f"torch accepts {src}"
    assert c_kind == "err", f"chainrule accepts {src}: {c_err!r}"
    assert isinstance(c_err, type(t_err)), (type(t_err), type(c_err), str(c_err))
    assert str(c_err).split("\n")[0] == str(t_err).split("\n")[0]


def test_whole_texts_where_chainrule_adds_no_hint():
    """The parser's TypeErrors and Python's own texts: the whole message as torch's."""
    for src in [
        "L.rot90(x, 1.0)",
        "x.rot90(k=None)",
        "x.norm(keepdim=None)",
        "x.norm('nuc', None, None)",
        "L.split(x, 2, 0, 1)",
        "L.optim.RAdam([L.nn.Parameter(L.ones(2))], betas=(0.9, 0.99, 0.5)).step()",
    ]:
        assert str(_run(cr, src)[1]) == str(_run(torch, src)[1]), src


def test_hints_follow_torchs_line():
    """chainrule's hint stays, on the line after torch's."""
    cases = {
        "L.empty(-1)": "empty(): every size must be >= 0, got [-1]",
        "L.zeros(2, -1)": "zeros(): every size must be >= 0, got [2, -1]",
        "L.nn.LayerNorm(-1)": "every size must be >= 0",
        "(L.ones(2, dtype=L.complex64, requires_grad=True) * 2).sum().backward()": (
            "backward(): pass gradient= explicitly"
        ),
        "L.autograd.grad((zc * 2).sum(), zc)": ("autograd.grad: pass gradient= explicitly"),
        "(L.ones(2, requires_grad=True) * 2).backward()": "backward(): the output has shape (2,)",
        "L.tensor(1)[0]": "(tensor of shape ())",
    }
    for src, hint in cases.items():
        lines = str(_run(cr, src)[1]).split("\n")
        assert len(lines) >= 2 and hint in lines[1], (src, lines)


@pytest.mark.parametrize("k", [1, 2, -1, 5, np.int64(3)])
@pytest.mark.parametrize("dims", [(0, 1), [1, 0], (-1, 0), (0, 2), (2, -3)])
def test_rot90_valid_calls_as_torch(k, dims):
    a = np.arange(24.0).reshape(2, 3, 4)
    want = torch.rot90(torch.tensor(a), k, dims)
    got = cr.rot90(cr.tensor(a), k, dims)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert cr.tensor(a).rot90(k, dims).shape == tuple(want.shape)


def test_rot90_tensor_k_as_torch():
    a = np.arange(6.0).reshape(2, 3)
    want = torch.rot90(torch.tensor(a), torch.tensor(3))
    got = cr.rot90(cr.tensor(a), cr.tensor(3))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_norm_with_bool_keepdim_unchanged():
    a = np.arange(6.0).reshape(2, 3)
    for args in [(2, 1, True), (1, 0, False), ("fro", None, False), ("nuc", None, True)]:
        want = torch.tensor(a).norm(*args)
        got = cr.tensor(a).norm(*args)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_split_keywords_kept():
    x = cr.arange(8.0).reshape(4, 2)
    assert [t.shape for t in cr.split(x, split_size=3)] == [(3, 2), (1, 2)]
    assert [t.shape for t in cr.split(x, 1, 1)] == [(4, 1), (4, 1)]
    assert [t.shape for t in cr.split(x, [1, 3], dim=0)] == [(1, 2), (3, 2)]


@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam", "Adamax"])
def test_three_betas_as_torch(name):
    """torch's constructor keeps the three betas; its step refuses them before any state;
    the group corrected, the step computes as torch's."""
    params = {}
    for lib in (torch, cr):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
        opt = getattr(lib.optim, name)([p], betas=(0.9, 0.99, 0.5))
        assert tuple(opt.param_groups[0]["betas"]) == (0.9, 0.99, 0.5)
        p.grad = lib.tensor([0.5, 0.25])
        with pytest.raises(ValueError, match=r"^too many values to unpack \(expected 2\)$"):
            opt.step()
        assert len(opt.state) == 0 and p.tolist() == [1.0, -2.0]
        opt.param_groups[0]["betas"] = (0.9, 0.99)
        opt.step()
        opt.step()
        params[lib.__name__] = p.detach().numpy()
    np.testing.assert_allclose(params["chainrule"], params["torch"], rtol=1e-6)


def test_adam_reads_two_betas_for_its_type_rule():
    """torch's "both floats or both Tensors" rule reads betas[0] and betas[1] only."""
    for lib in (torch, cr):
        p = lib.nn.Parameter(lib.ones(2))
        lib.optim.Adam([p], betas=(0.9, 0.99, "a"))  # accepted, as torch
        with pytest.raises(ValueError, match="^betas must be either both floats or both Tensors"):
            lib.optim.Adam([p], betas=(0, 0.99, 0.5))


def _batch_norm(lib, wshape, bshape, training, x_grad=True, p_grad=True, xshape=(4, 1, 3)):
    x = lib.tensor(
        np.linspace(-1.0, 2.0, int(np.prod(xshape))).reshape(xshape), requires_grad=x_grad
    )
    w = None if wshape is None else lib.full(wshape, 1.5, requires_grad=p_grad, dtype=x.dtype)
    b = None if bshape is None else lib.full(bshape, 0.25, requires_grad=p_grad, dtype=x.dtype)
    rm, rv = lib.zeros(1, dtype=x.dtype), lib.ones(1, dtype=x.dtype)
    y = lib.nn.functional.batch_norm(x, rm, rv, w, b, training=training)
    return x, w, b, rm, rv, y


SHAPES = [((), ()), ((1, 1), (1, 1)), ((), None), ((1,), ()), ((1,), (1, 1)), (None, ())]


@pytest.mark.parametrize("wshape,bshape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_other_param_shapes_forward_as_torch(wshape, bshape, training):
    t = _batch_norm(torch, wshape, bshape, training)
    c = _batch_norm(cr, wshape, bshape, training)
    np.testing.assert_allclose(c[-1].detach().numpy(), t[-1].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(c[3].numpy(), t[3].numpy(), rtol=1e-12)  # running mean
    np.testing.assert_allclose(c[4].numpy(), t[4].numpy(), rtol=1e-12)  # running var
    with torch.no_grad(), cr.no_grad():
        t = _batch_norm(torch, wshape, bshape, training, x_grad=False, p_grad=False)
        c = _batch_norm(cr, wshape, bshape, training, x_grad=False, p_grad=False)
    np.testing.assert_allclose(c[-1].numpy(), t[-1].numpy(), rtol=1e-12)


@pytest.mark.parametrize("wshape,bshape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("x_grad,p_grad", [(True, True), (True, False), (False, True)])
def test_batch_norm_other_param_shapes_backward_as_torch(wshape, bshape, training, x_grad, p_grad):
    """torch's backward: its kernel's error for a weight that is not 1-d, the invalid
    gradient error for a bias of 2 dims, else the gradients (a 0-d bias's is 0-d)."""
    outs = []
    for lib in (torch, cr):
        x, w, b, _, _, y = _batch_norm(lib, wshape, bshape, training, x_grad, p_grad)
        weights = lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)
        try:
            (y * weights).sum().backward()
        except RuntimeError as err:
            outs.append(("err", str(err).split("\n")[0]))
            continue
        grads = [None if t is None or t.grad is None else t.grad.numpy() for t in (x, w, b)]
        outs.append(("ok", grads))
    (t_kind, t_out), (c_kind, c_out) = outs
    assert c_kind == t_kind, outs
    if t_kind == "err":
        assert c_out == t_out
        return
    for want, got in zip(t_out, c_out):
        assert (want is None) == (got is None)
        if want is not None:
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(), (1, 1)])
@pytest.mark.parametrize("module", ["BatchNorm1d", "SyncBatchNorm"])
def test_batchnorm_module_with_replaced_params_as_torch(shape, module):
    outs = []
    for lib in (torch, cr):
        m = getattr(lib.nn, module)(1).double()
        m.weight = lib.nn.Parameter(lib.full(shape, 2.0, dtype=lib.float64))
        m.bias = lib.nn.Parameter(lib.full(shape, -0.5, dtype=lib.float64))
        x = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 1, 3))
        y_train = m(x).detach().numpy()
        m.eval()
        y_eval = m(x).detach().numpy()
        with pytest.raises(
            RuntimeError, match=f"^TensorAccessor expected 1 dims but tensor has {len(shape)}"
        ):
            m(x).sum().backward()
        outs.append((y_train, y_eval, m.running_mean.numpy(), m.running_var.numpy()))
    for want, got in zip(*outs):
        np.testing.assert_allclose(got, want, rtol=1e-12)
