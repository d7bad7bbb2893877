"""More of ``cr.bfloat16`` against PyTorch: code that used ``.numpy()`` internally
(``testing.assert_close``, DataLoader workers, ``orthogonal``), random draws, the linalg ops
PyTorch runs (or refuses) in bfloat16, CPU autocast's float32 ops, conv3d and backward
passes under autocast; and the ``layout=``/``out=`` keywords of ``range``/``tri*_indices``
and ``cholesky``'s deprecation warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops import linalg_aliases

B = cr.bfloat16
RNG = np.random.default_rng(0)


def _same(c: cr.Tensor, t: torch.Tensor) -> None:
    assert str(t.dtype) == str(c.dtype)
    np.testing.assert_array_equal(c.detach().float().numpy(), t.detach().float().numpy())


def _close_to_torch(c: cr.Tensor, t: torch.Tensor) -> None:
    """Within what rounding partial sums to bfloat16 costs (PyTorch's kernels on some CPUs)."""
    assert str(t.dtype) == str(c.dtype)
    got, want = c.detach().float().numpy(), t.detach().float().numpy()
    np.testing.assert_allclose(got, want, rtol=2**-6, atol=2**-5)


def _rounded_once(t: torch.Tensor) -> torch.Tensor:
    """A float32 result rounded once to bfloat16: what chainrule's bfloat16 ops return."""
    return t.float().to(torch.bfloat16)


# ------------------------------------------------------------ internal .numpy() callers
@pytest.mark.parametrize("scale", [1.0, 1.01, 1.02, 1.5])
def test_assert_close_on_bfloat16_decides_as_torch(scale):
    a = np.array([1.0, 2.0, -3.0, 0.5], np.float32)
    ta, tb = torch.tensor(a).bfloat16(), (torch.tensor(a) * scale).bfloat16()
    ca, cb = cr.tensor(a).bfloat16(), (cr.tensor(a) * scale).bfloat16()
    try:
        torch.testing.assert_close(ta, tb)
        want = None
    except AssertionError as e:
        want = str(e)
    if want is None:
        cr.testing.assert_close(ca, cb)
    else:
        with pytest.raises(AssertionError) as got:
            cr.testing.assert_close(ca, cb)
        assert str(got.value).replace("chainrule.", "") == want.replace("torch.", "")


def test_assert_close_bfloat16_default_tolerances_and_dtype_check():
    from chainrule.testing._messages import default_tolerances

    assert default_tolerances(B) == (1.6e-2, 1e-5)
    assert default_tolerances(B, cr.float32) == (1.6e-2, 1e-5)
    x = cr.tensor([1.0, 2.0]).bfloat16()
    with pytest.raises(AssertionError, match="'dtype' do not match"):
        cr.testing.assert_close(x, x.float())
    cr.testing.assert_close(x, x.float(), check_dtype=False)


class _Pairs(cr.utils.data.Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        return cr.tensor([i + 0.5, -i]).bfloat16(), i


def test_dataloader_worker_carries_bfloat16_batches():
    loader = cr.utils.data.DataLoader(_Pairs(), batch_size=2, num_workers=1)
    batches = list(loader)
    assert len(batches) == 2
    x, y = batches[1]
    assert x.dtype == B and x.tolist() == [[2.5, -2.0], [3.5, -3.0]] and y.tolist() == [2, 3]


def test_orthogonal_refuses_bfloat16_as_torch():
    from torch.nn.utils.parametrizations import orthogonal

    for kind in ("cayley", "householder"):  # registered, then refused at the first forward
        t_layer = orthogonal(torch.nn.Linear(3, 3).bfloat16(), orthogonal_map=kind)
        c_layer = cr.nn.utils.parametrizations.orthogonal(
            cr.nn.Linear(3, 3).bfloat16(), orthogonal_map=kind
        )
        for layer in (t_layer, c_layer):
            with pytest.raises(NotImplementedError, match="BFloat16"):
                _ = layer.weight
    with pytest.raises(NotImplementedError, match="BFloat16"):  # torch: a TypeError of its own
        _ = cr.nn.utils.parametrizations.orthogonal(cr.nn.Linear(3, 3).bfloat16()).weight


# ------------------------------------------------------------------------ random draws
def test_random_constructors_give_bfloat16_as_torch():
    for name, call in {
        "rand": lambda L: L.rand(3, dtype=L.bfloat16),
        "randn": lambda L: L.randn(3, dtype=L.bfloat16),
        "randint": lambda L: L.randint(0, 5, (3,), dtype=L.bfloat16),
        "normal": lambda L: L.normal(0.0, 1.0, (3,), dtype=L.bfloat16),
        "normal_tensor": lambda L: L.normal(L.zeros(3, dtype=L.bfloat16), 1.0),
        "normal_std": lambda L: L.normal(0.0, L.ones(3, dtype=L.bfloat16)),
        "normal_f64": lambda L: L.normal(L.zeros(3, dtype=L.float64), L.ones(3)),
        "rand_like": lambda L: L.rand_like(L.ones(3, dtype=L.bfloat16)),
        "randn_like": lambda L: L.randn_like(L.ones(3, dtype=L.bfloat16)),
        "bernoulli": lambda L: L.bernoulli(L.full((3,), 0.5, dtype=L.bfloat16)),
    }.items():
        assert str(call(cr).dtype) == str(call(torch).dtype), name


def test_rand_bfloat16_stays_below_one_and_wraps_to_zero_as_torch():
    n = 200_000
    cr.manual_seed(0)
    torch.manual_seed(0)
    c = cr.rand(n, dtype=B).float().numpy()
    t = torch.rand(n, dtype=torch.bfloat16).float().numpy()
    for v in (c, t):  # rounding to bfloat16 would give 1.0; PyTorch wraps it to 0
        assert v.max() == 0.99609375 and v.min() == 0.0
        assert abs((v == 0).mean() - 2.0**-9) < 6e-4
        assert abs(v.mean() - (0.5 - 2.0**-9)) < 3e-3
    g = cr.randn(1000, dtype=B).float().numpy()
    assert np.array_equal(g, g.astype(B).astype(np.float32)) and abs(g.std() - 1) < 0.1


# ----------------------------------------------------------------------------- linalg
def test_linalg_ops_with_bfloat16_kernels_run():
    a = RNG.standard_normal((4, 3)).astype(np.float32)
    b = RNG.standard_normal((4, 3)).astype(np.float32)
    m = (RNG.standard_normal((3, 3)) * 0.5).astype(np.float32)
    (ca, ta), (cb, tb) = ((cr.tensor(v).bfloat16(), torch.tensor(v).bfloat16()) for v in (a, b))
    cm, tm = cr.tensor(m).bfloat16(), torch.tensor(m).bfloat16()
    _same(cr.linalg.vecdot(ca, cb), torch.linalg.vecdot(ta, tb))
    got = cr.linalg.matrix_power(cm, 3)
    assert got.dtype == B
    want = torch.linalg.matrix_power(tm, 3).float().numpy()
    np.testing.assert_allclose(got.float().numpy(), want, rtol=2e-2, atol=2e-2)
    got = cr.linalg.cross(ca, cb)  # PyTorch rounds its products: within a bfloat16 step
    assert got.dtype == B
    want = torch.linalg.cross(ta, tb).float().numpy()
    np.testing.assert_allclose(got.float().numpy(), want, rtol=2e-2, atol=1e-2)


@pytest.mark.parametrize(
    "name", ["inv", "det", "solve", "cholesky", "qr", "eigh", "svd", "slogdet", "lu_factor"]
)
def test_linalg_ops_without_bfloat16_kernels_refuse_as_torch(name):
    def call(lib):
        a = lib.eye(3, dtype=lib.bfloat16) * 2
        fn = getattr(lib.linalg, name)
        return fn(a, a) if name == "solve" else fn(a)

    with pytest.raises(RuntimeError):  # NotImplementedError or RuntimeError in PyTorch
        call(torch)
    with pytest.raises(NotImplementedError, match="BFloat16"):
        call(cr)


# ---------------------------------------------------------------------------- autocast
def test_autocast_float32_ops_cast_bfloat16_up_as_torch():
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    target = np.array([0, 2, 1, 4])
    for name, call in {
        "nll_loss": lambda L, f, a: f.nll_loss(a, L.tensor(target)),
        "prod": lambda L, f, a: (a * 0.5 + 1).prod(),
        "sum": lambda L, f, a: a.sum(),  # not on the list: stays bfloat16
    }.items():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            t = call(torch, TF, torch.tensor(x).bfloat16())
        with cr.autocast("cpu", dtype=B):
            c = call(cr, F, cr.tensor(x).bfloat16())
        assert str(c.dtype) == str(t.dtype), name
        np.testing.assert_allclose(c.float().numpy(), t.float().numpy(), rtol=1e-5, err_msg=name)


def test_autocast_conv3d_casts_input_weight_and_bias_as_torch():
    x = RNG.standard_normal((1, 2, 4, 4, 4)).astype(np.float32)
    w = RNG.standard_normal((3, 2, 2, 2, 2)).astype(np.float32)
    wt = RNG.standard_normal((2, 3, 2, 2, 2)).astype(np.float32)
    b = RNG.standard_normal(3).astype(np.float32)

    def run(lib, f):
        with lib.autocast("cpu", dtype=lib.bfloat16):  # a bfloat16 input, float32 weights
            y = f.conv3d(lib.tensor(x).bfloat16(), lib.tensor(w), lib.tensor(b), padding=1)
            z = f.conv_transpose3d(lib.tensor(x), lib.tensor(wt), lib.tensor(b), stride=2)
        return y, z

    # PyTorch's bfloat16 convolutions are exactly rounded on some CPUs (AVX-512 Xeons); on
    # others (an AVX2 EPYC) they round partial sums, up to 0.023 off on outputs of size 8.
    # chainrule is checked exactly against the float32 convolution of the same bfloat16
    # values rounded once, and against torch's kernel to bfloat16 accumulation accuracy.
    def exact(lib_x, lib_w, lib_b, f, **kw):
        return _rounded_once(f(*(v.bfloat16().float() for v in (lib_x, lib_w, lib_b)), **kw))

    tx, tw, twt, tb = (torch.tensor(v) for v in (x, w, wt, b))
    y_exact = exact(tx, tw, tb, TF.conv3d, padding=1)
    z_exact = exact(tx, twt, tb, TF.conv_transpose3d, stride=2)
    for c, t, e in zip(run(cr, F), run(torch, TF), (y_exact, z_exact)):
        _same(c, e)
        _close_to_torch(c, t)
    # without autocast, bfloat16 throughout: computed in float32 and rounded once
    c = F.conv_transpose3d(*(cr.tensor(v).bfloat16() for v in (x, wt, b)), stride=2)
    t = TF.conv_transpose3d(*(torch.tensor(v).bfloat16() for v in (x, wt, b)), stride=2)
    _same(c, z_exact)
    _close_to_torch(c, t)


def test_autocast_sdpa_is_a_lower_precision_op_as_torch():
    q = RNG.standard_normal((1, 3, 4)).astype(np.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t = TF.scaled_dot_product_attention(*(torch.tensor(q),) * 3)
    with cr.autocast("cpu", dtype=B):
        c = F.scaled_dot_product_attention(*(cr.tensor(q),) * 3)
    _same(c, t)


def test_backward_inside_autocast_is_not_cast_as_torch():
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    w = RNG.standard_normal((4, 5)).astype(np.float32)

    def run(lib):
        wp = lib.tensor(w, requires_grad=True)
        xp = lib.tensor(a, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            loss = ((xp.exp() @ wp).float() * lib.tensor(a).sum()).sum()
            loss.backward()  # its matmuls run in float32 (PyTorch never autocasts them)
        return xp.grad, wp.grad

    for c, t in zip(run(cr), run(torch)):
        assert c.dtype == cr.float32
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


# ----------------------------------------------- range / tri*_indices keywords, cholesky
def test_range_out_and_layout_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # both warn that range is deprecated
        for dtype, step in (("float32", 0.5), ("int64", 1)):  # torch crashes on int64, 0.5
            oc, ot = (
                cr.empty(2, dtype=getattr(cr, dtype)),
                torch.empty(2, dtype=getattr(torch, dtype)),
            )
            rc = cr.range(0, 3, step, out=oc, layout=cr.strided)
            rt = torch.range(0, 3, step, out=ot, layout=torch.strided)
            assert rc is oc and rc.tolist() == rt.tolist() and rc.shape == rt.shape
        with pytest.raises(RuntimeError, match="dtype"):
            torch.range(0, 3, out=torch.empty(4), dtype=torch.int64)
        with pytest.raises(RuntimeError, match="dtype"):
            cr.range(0, 3, out=cr.empty(4), dtype=cr.int64)
        with pytest.raises(NotImplementedError, match="layout"):
            cr.range(0, 3, layout=cr.sparse_coo)


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
def test_tri_indices_layout_as_torch(name):
    c = getattr(cr, name)(4, 3, -1, layout=cr.strided)
    t = getattr(torch, name)(4, 3, -1, layout=torch.strided)
    assert c.tolist() == t.tolist() and c.dtype == cr.int64
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(3, 3, layout=torch.sparse_coo)
    with pytest.raises(NotImplementedError, match="layout"):
        getattr(cr, name)(3, 3, layout=cr.sparse_coo)


def test_legacy_cholesky_warns_once_as_torch(monkeypatch):
    monkeypatch.setattr(linalg_aliases, "_CHOLESKY_WARNED", [])
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    with pytest.warns(UserWarning) as got:
        lc = cr.cholesky(cr.tensor(a))
        cr.tensor(a).cholesky(upper=True)  # once per process, as PyTorch
    warn_always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)  # PyTorch's warning may have been given in this process
    try:
        with warnings.catch_warnings(record=True) as want:
            warnings.simplefilter("always")
            lt = torch.cholesky(torch.tensor(a))
    finally:
        torch.set_warn_always(warn_always)
    assert len(got) == 1 and got[0].filename == __file__
    msg = str(got[0].message)
    assert msg.startswith("torch.cholesky is deprecated") and str(want[0].message).startswith(msg)
    np.testing.assert_allclose(lc.numpy(), lt.numpy())


def test_matrix_exp_of_bfloat16_is_the_float32_result_rounded_once():
    a = np.random.default_rng(3).standard_normal((2, 4, 4)).astype(np.float32) * 0.7
    b = cr.tensor(a).bfloat16().requires_grad_()
    out = cr.linalg.matrix_exp(b)
    assert out.dtype == cr.bfloat16
    want = cr.linalg.matrix_exp(b.detach().float()).bfloat16()
    np.testing.assert_array_equal(out.float().detach().numpy(), want.float().numpy())
    out.sum().backward()
    assert b.grad.dtype == cr.bfloat16 and np.isfinite(b.grad.float().numpy()).all()
