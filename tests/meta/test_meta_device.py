"""The 'meta' device (chainrule/meta): tensors with a shape and a dtype but no data, checked
against torch: factories, conversions and their errors, reprs, the default device,
modules built on meta and materialised, shape inference through ops and autograd."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.meta import MetaArray

torch = pytest.importorskip("torch")


def _lib(name: str):
    return {"cr": cr, "torch": torch}[name]


def _meta(lib, fn):
    """What ``fn(lib)`` gives: a tuple of (shape, dtype name, device type) per tensor."""
    out = fn(lib)
    outs = out if isinstance(out, tuple) else (out,)
    return [(tuple(o.shape), str(o.dtype).split(".")[-1], o.device.type) for o in outs]


def _same_error(fn):
    """``fn`` raises the same error type, with the same text, under both libraries."""
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(type(want.value)) as got:
        fn(cr)
    return str(want.value), str(got.value)


@pytest.fixture(autouse=True)
def _default_device_back():
    yield
    cr.set_default_device(None)
    torch.set_default_device(None)


# ------------------------------------------------------------------ factories and .to()
FACTORIES = {
    "empty": lambda m: m.empty(2, 3, device="meta"),
    "zeros": lambda m: m.zeros(2, 3, device="meta", dtype=m.int64),
    "ones": lambda m: m.ones((4,), device="meta", dtype=m.float64),
    "full": lambda m: m.full((2, 2), 7, device="meta"),
    "rand": lambda m: m.rand(2, 3, 10, 10, device="meta"),
    "randn": lambda m: m.randn(5, device="meta", dtype=m.float16),
    "randint": lambda m: m.randint(0, 3, (2,), device="meta"),
    "arange": lambda m: m.arange(5, device="meta"),
    "eye": lambda m: m.eye(3, device="meta"),
    "linspace": lambda m: m.linspace(0, 1, 4, device="meta"),
    "tensor": lambda m: m.tensor([1.0, 2.0], device="meta"),
    "tensor int": lambda m: m.tensor([1, 2], device="meta"),
    "as_tensor": lambda m: m.as_tensor(np.ones(2), device="meta"),
    "empty_strided": lambda m: m.empty_strided((2,), (1,), device="meta"),
    "tril_indices": lambda m: m.tril_indices(3, 3, device="meta"),
    "zeros_like meta": lambda m: m.zeros_like(m.empty(2, 3, device="meta")),
    "ones_like to meta": lambda m: m.ones_like(m.ones(2), device="meta"),
    "full_like meta": lambda m: m.full_like(m.empty(2, device="meta"), 3.0),
    "rand_like meta": lambda m: m.rand_like(m.empty(2, device="meta")),
    "randn_like meta to cpu": lambda m: m.randn_like(m.empty(2, 3, device="meta"), device="cpu"),
    "zeros_like meta to cpu": lambda m: m.zeros_like(m.empty(2, device="meta"), device="cpu"),
    "new_zeros": lambda m: m.empty(2, device="meta").new_zeros(3),
    "new_full": lambda m: m.empty(2, device="meta").new_full((3,), 1.0),
    "new_empty to cpu": lambda m: m.empty(2, device="meta").new_empty(3, device="cpu"),
    "to": lambda m: m.ones(2, 3).to("meta"),
    "to device dtype": lambda m: m.ones(2).to(m.device("meta"), m.float64),
    "to dtype on meta": lambda m: m.empty(2, 3, device="meta").to(m.int32),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_and_to_make_meta_tensors_as_torch(name):
    fn = FACTORIES[name]
    assert _meta(cr, fn) == _meta(torch, fn)


def test_is_meta_and_device():
    x = cr.empty(2, 3, device="meta")
    assert x.is_meta and not cr.ones(2).is_meta
    assert x.device == cr.device("meta") and x.device.type == "meta" and str(x.device) == "meta"
    assert not x.is_cpu and not x.is_cuda
    assert type(x._data) is MetaArray


def test_meta_factories_draw_nothing_and_allocate_nothing():
    state = cr.get_rng_state()
    x = cr.randn(1 << 20, 1 << 20, device="meta")  # 4 TiB if it were stored
    cr.rand(1 << 20, device="meta")
    assert (cr.get_rng_state() == state).all()
    assert x._data.nbytes == (1 << 40) * 4 and x._data.base.nbytes <= 16  # one element


def test_to_meta_with_requires_grad_records_as_torch():
    got = cr.ones(2, requires_grad=True).to("meta")
    want = torch.ones(2, requires_grad=True).to("meta")
    assert repr(got) == repr(want)


# ------------------------------------------------------------------ reprs
REPRS = {
    "float": lambda m: m.empty(2, 3, device="meta"),
    "int64": lambda m: m.zeros(2, 3, device="meta", dtype=m.int64),
    "bool": lambda m: m.zeros(2, device="meta", dtype=m.bool),
    "float64": lambda m: m.zeros(2, device="meta", dtype=m.float64),
    "0-d": lambda m: m.zeros((), device="meta"),
    "empty": lambda m: m.zeros(0, device="meta"),
    "requires_grad": lambda m: m.zeros(2, 3, device="meta", requires_grad=True),
    "grad_fn": lambda m: m.zeros(2, 3, device="meta", requires_grad=True) * 2,
    "parameter": lambda m: m.nn.Linear(3, 4, device="meta").weight,
}


@pytest.mark.parametrize("name", list(REPRS))
def test_repr_matches_torch(name):
    assert repr(REPRS[name](cr)) == repr(REPRS[name](torch))
    assert str(REPRS[name](cr)) == str(REPRS[name](torch))


def test_repr_wraps_as_torch():
    def big(m):
        return m.ones(2000, 3000, device="meta", dtype=m.int16)

    cr.set_printoptions(linewidth=30)
    torch.set_printoptions(linewidth=30)
    try:
        got, want = repr(big(cr)), repr(big(torch))
    finally:
        cr.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert got == want


# ------------------------------------------------------------------ no data to read
ERRORS = {
    "numpy": lambda m: m.empty(2, device="meta").numpy(),
    "item one element": lambda m: m.empty(1, device="meta").item(),
    "item many": lambda m: m.empty(2, 3, device="meta").item(),
    "bool": lambda m: bool(m.empty(1, device="meta")),
    "float": lambda m: float(m.empty((), device="meta")),
    "int": lambda m: int(m.empty((), device="meta")),
    "tolist": lambda m: m.empty(2, device="meta").tolist(),
    "to cpu": lambda m: m.empty(2, device="meta").to("cpu"),
    "cpu": lambda m: m.empty(2, device="meta").cpu(),
    "nonzero": lambda m: m.nonzero(m.empty(2, device="meta")),
    "meta plus cpu": lambda m: m.empty(2, 3, device="meta") + m.ones(2, 3),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_reading_values_raises_torch_error(name):
    want, got = _same_error(ERRORS[name])
    if name in ("item many",):
        assert got.startswith(want)
    elif name != "nonzero":  # (torch's text names its fake-tensor config)
        assert got == want
    else:
        assert got.startswith(want[:80])


DATA_DEPENDENT = {
    "boolean mask": lambda m: (lambda x: x[x > 0])(m.empty(2, 3, device="meta")),
    "masked_select": lambda m: m.masked_select(
        m.empty(3, device="meta"), m.ones(3, dtype=m.bool, device="meta")
    ),
    "unique": lambda m: m.unique(m.empty(3, device="meta")),
}


@pytest.mark.parametrize("name", list(DATA_DEPENDENT))
def test_data_dependent_ops_raise_not_implemented(name):
    _same_error(DATA_DEPENDENT[name])


def test_a_zero_d_cpu_tensor_is_a_scalar_beside_meta():
    fn = lambda m: m.empty(2, 3, device="meta") + m.tensor(1.0)  # noqa: E731
    assert _meta(cr, fn) == _meta(torch, fn)


# ------------------------------------------------------------------ default device
def test_device_context_makes_factories_and_modules_meta():
    cpus = {cr: cr.ones(2), torch: torch.ones(2)}
    for lib in (cr, torch):
        cpu = cpus[lib]
        with lib.device("meta"):
            assert str(lib.get_default_device()) == "meta"
            made = [lib.ones(2), lib.tensor([1.0]), lib.arange(3), lib.randn(2, 2)]
            made += [lib.nn.Linear(2, 2).weight, lib.nn.Conv2d(1, 2, 3).bias]
            made += [lib.nn.BatchNorm1d(3).running_mean]
            assert all(t.device.type == "meta" for t in made)
            assert cpu.new_zeros(2).device.type == "cpu"  # x.new_* and *_like follow x
            assert lib.zeros_like(cpu).device.type == "cpu"
            assert lib.rand_like(cpu).device.type == "cpu"
        assert str(lib.get_default_device()) == "cpu"
        assert lib.ones(2).device.type == "cpu"


def test_device_contexts_nest():
    with cr.device("meta"):
        with cr.device("cpu"):
            assert cr.ones(1).device.type == "cpu"
        assert cr.ones(1).device.type == "meta"
    assert cr.ones(1).device.type == "cpu"


def test_set_default_device_meta():
    for lib in (cr, torch):
        lib.set_default_device("meta")
        assert str(lib.get_default_device()) == "meta"
        assert lib.ones(2).is_meta and lib.nn.Linear(2, 2).weight.is_meta
        lib.set_default_device(None)
        assert str(lib.get_default_device()) == "cpu" and not lib.ones(2).is_meta


def test_a_device_chainrule_cannot_compute_on_still_refuses_as_default():
    with pytest.raises(NotImplementedError, match="set_default_device"):
        cr.set_default_device("mps")
    with pytest.raises(NotImplementedError, match="cr.device"):
        with cr.device("mps"):
            pass


# ------------------------------------------------------------------ modules and init
def test_init_functions_are_no_ops_on_meta_and_draw_nothing():
    x = cr.empty(3, 4, device="meta")
    state = cr.get_rng_state()
    for name in ("uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_"):
        assert getattr(cr.nn.init, name)(x) is x and x.is_meta
    assert cr.nn.init.orthogonal_(x) is x and cr.nn.init.zeros_(x) is x
    assert (cr.get_rng_state() == state).all()
    for lib in (cr, torch):  # the fan-based ones still check the shape
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            lib.nn.init.kaiming_uniform_(lib.empty(3, device="meta"))


def test_module_to_meta_and_to_empty():
    for lib in (cr, torch):
        m = lib.nn.Linear(3, 4).to("meta")
        assert m.weight.is_meta and isinstance(m.weight, lib.nn.Parameter)
        m.to_empty(device="cpu")
        assert m.weight.device.type == "cpu" and m.weight.shape == (4, 3)
        assert m(lib.ones(2, 3)).shape == (2, 4)  # usable memory, values unset


def test_load_state_dict_assign_replaces_meta_parameters():
    src = cr.nn.Linear(3, 2)
    with cr.device("meta"):
        m = cr.nn.Linear(3, 2)
    m.load_state_dict(src.state_dict(), assign=True)
    assert not m.weight.is_meta and isinstance(m.weight, cr.nn.Parameter)
    np.testing.assert_array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    x = cr.randn(4, 3)
    np.testing.assert_array_equal(m(x).detach().numpy(), src(x).detach().numpy())


def test_load_state_dict_without_assign_into_meta_warns_and_keeps_meta_as_torch():
    messages = []
    for lib in (cr, torch):
        with lib.device("meta"):
            m = lib.nn.Linear(3, 2)
        with pytest.warns(UserWarning) as record:
            m.load_state_dict(lib.nn.Linear(3, 2).state_dict())
        assert m.weight.is_meta
        assert lib is torch or record[0].filename == __file__  # (torch's: its module.py)
        messages.append([str(w.message) for w in record])
    assert messages[0] == messages[1] and len(messages[0]) == 2


# ------------------------------------------------------------------ shape inference
OPS = {
    "conv2d layer": lambda m: m.nn.Conv2d(3, 5, 2, device="meta")(
        m.rand(2, 3, 10, 10, device="meta")
    ),
    "conv1d": lambda m: m.nn.Conv1d(3, 4, 3, device="meta")(m.randn(2, 3, 10, device="meta")),
    "conv_transpose2d": lambda m: m.nn.ConvTranspose2d(3, 4, 3, stride=2, device="meta")(
        m.randn(2, 3, 5, 5, device="meta")
    ),
    "linear": lambda m: m.nn.Linear(16, 8, device="meta")(m.randn(4, 16, device="meta")),
    "batchnorm": lambda m: m.nn.BatchNorm2d(3, device="meta")(m.randn(2, 3, 5, 5, device="meta")),
    "layernorm": lambda m: m.nn.LayerNorm(8, device="meta")(m.randn(2, 5, 8, device="meta")),
    "embedding": lambda m: m.nn.Embedding(10, 4, device="meta")(
        m.zeros(2, 5, dtype=m.int64, device="meta")
    ),
    "lstm": lambda m: m.nn.LSTM(4, 6, batch_first=True, device="meta")(
        m.randn(2, 5, 4, device="meta")
    )[0],
    "attention": lambda m: m.nn.MultiheadAttention(8, 2, batch_first=True, device="meta")(
        *(m.randn(2, 5, 8, device="meta"),) * 3
    ),
    "transformer layer": lambda m: m.nn.TransformerEncoderLayer(
        8, 2, 16, batch_first=True, device="meta"
    )(m.randn(2, 5, 8, device="meta")),
    "max_pool2d": lambda m: m.nn.functional.max_pool2d(m.randn(2, 3, 6, 6, device="meta"), 2),
    "dropout": lambda m: m.nn.functional.dropout(m.randn(4, 6, device="meta"), 0.5),
    "cross_entropy": lambda m: m.nn.functional.cross_entropy(
        m.randn(4, 5, device="meta"), m.zeros(4, dtype=m.int64, device="meta")
    ),
    "cat": lambda m: m.cat([m.randn(4, 5, device="meta"), m.randn(2, 5, device="meta")]),
    "stack": lambda m: m.stack([m.randn(4, 5, device="meta")] * 2, 1),
    "einsum": lambda m: m.einsum(
        "ij,jk->ik", m.randn(4, 5, device="meta"), m.randn(5, 3, device="meta")
    ),
    "matmul batched": lambda m: m.randn(2, 4, 5, device="meta") @ m.randn(5, 3, device="meta"),
    "where": lambda m: m.where(m.randn(4, 5, device="meta") > 0, m.randn(4, 5, device="meta"), 0.0),
    "topk": lambda m: m.topk(m.randn(4, 5, device="meta"), 2),
    "sort": lambda m: m.sort(m.randn(4, 5, device="meta")),
    "max dim": lambda m: m.randn(4, 5, device="meta").max(1),
    "argmax": lambda m: m.randn(4, 5, device="meta").argmax(),
    "gather": lambda m: m.gather(
        m.randn(4, 5, device="meta"), 1, m.zeros(4, 2, dtype=m.int64, device="meta")
    ),
    "index": lambda m: m.randn(4, 5, device="meta")[m.zeros(3, dtype=m.int64, device="meta")],
    "slices and views": lambda m: m.randn(4, 5, device="meta")[1:3, ::2].t().reshape(-1),
    "expand": lambda m: m.randn(4, 1, device="meta").expand(4, 6),
    "reductions": lambda m: (
        m.randn(4, 5, device="meta").mean(0, keepdim=True),
        m.randn(4, 5, device="meta").var(1),
        m.zeros(4, 5, dtype=m.int32, device="meta").sum(),
    ),
    "promotion": lambda m: m.ones(3, dtype=m.int32, device="meta") + 2.5,
    "comparison": lambda m: m.randn(3, device="meta") > 0,
    "pad": lambda m: m.nn.functional.pad(m.randn(2, 3, device="meta"), (1, 2)),
    "chunk": lambda m: m.randn(6, 3, device="meta").chunk(3),
    "in place": lambda m: m.randn(6, 3, device="meta").add_(1).mul_(2),
    "masked_fill": lambda m: m.randn(6, 3, device="meta").masked_fill(
        m.ones(6, 3, dtype=m.bool, device="meta"), 0.0
    ),
    "softmax": lambda m: m.randn(4, 5, device="meta", dtype=m.float64).softmax(-1),
}


@pytest.mark.parametrize("name", list(OPS))
def test_ops_infer_torch_shapes_and_dtypes(name):
    assert _meta(cr, OPS[name]) == _meta(torch, OPS[name])


def test_large_meta_ops_are_cheap():
    # a 16384 x 16384 weight (1 GiB in float32) and a 32x256x128x128 image through a conv:
    # nothing of that size is allocated; only the one-element storages are
    with cr.device("meta"):
        lin = cr.nn.Linear(16384, 16384)
        conv = cr.nn.Conv2d(256, 256, 3)
        x = cr.randn(64, 16384, requires_grad=True)
        img = cr.randn(32, 256, 128, 128, requires_grad=True)
    y = cr.nn.functional.gelu(lin(x)).sum() + conv(img).sum()
    y.backward()
    for t in (lin.weight.grad, x.grad, conv.weight.grad, img.grad):
        assert t.is_meta and t._data.base.nbytes <= 16
    assert img.grad.shape == (32, 256, 128, 128)


# ------------------------------------------------------------------ autograd
def test_autograd_builds_the_graph_and_gives_meta_grads():
    grads = []
    for lib in (cr, torch):
        a = lib.zeros(2, 3, device="meta", requires_grad=True)
        w = lib.nn.Linear(3, 4, device="meta")
        loss = lib.tanh(w(a * a)).sum()
        assert loss.grad_fn is not None and loss.grad_fn.name() == "SumBackward0"
        loss.backward()
        made = (a.grad, w.weight.grad, w.bias.grad)
        grads.append([(tuple(g.shape), g.device.type) for g in made])
    assert grads[0] == grads[1]


# ------------------------------------------------------------------ the CPU path untouched
def test_cpu_tensors_are_not_meta_and_compute_as_before():
    x = cr.arange(6.0).reshape(2, 3)
    assert type(x._data) is np.ndarray and not x.is_meta
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal((x @ x.t()).numpy(), a @ a.T)


def test_meta_strides_as_torch():
    def strides(m):
        x = m.empty(2, 3, device="meta")
        return x.stride(), x.is_contiguous(), x.t().stride(), x.t().is_contiguous()

    assert strides(cr) == strides(torch)
