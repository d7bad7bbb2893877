"""In-place leftovers of session 33, each compared with torch live.

* ``nn.AlphaDropout(inplace=True)`` / ``nn.FeatureAlphaDropout(inplace=True)`` ignore
  ``inplace`` as PyTorch's modules do (a new tensor, the input untouched, a leaf accepted);
  the other dropout modules write in place.
* ``torch.dropout_`` / ``feature_dropout_`` / ``alpha_dropout_`` / ``feature_alpha_dropout_``
  (and their out-of-place forms) record PyTorch's single nodes (no ``CloneBackward0``), bump
  ``_version`` as PyTorch's, and under the same seed drop what PyTorch's drop.
* The in-place view ops record PyTorch's in-place node names (``UnsqueezeBackward1``,
  ``SqueezeBackward3/4/5``, ``TBackward1``, ``TransposeBackward1``, ``AsStridedBackward1``)
  with the out-of-place op's saved fields.
* Unbatched ``F.dropout1d`` (2-D) / ``F.dropout3d`` (not 5-D) run on ``unsqueeze(0)`` and
  squeeze back, out of place (``SqueezeBackward1``) and in place (``squeeze_``).
* ``log10_`` / ``log2_`` are single ``Log10Backward0`` / ``Log2Backward0`` nodes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(33)


def _graph(g) -> list:
    """The node names of ``g``'s graph, depth first (None for an empty edge)."""
    if g is None:
        return [None]
    out = [type(g).__name__]
    for f, _ in g.next_functions:
        out.append(_graph(f) if f is not None else None)
    return out


def _np(t) -> np.ndarray:
    return np.asarray(t.detach().numpy()) if hasattr(t, "detach") else np.asarray(t)


def _pair(shape, dtype="float32"):
    """The same values as a leaf of each library that requires grad."""
    a = RNG.standard_normal(shape).astype(dtype)
    return (
        cr.tensor(a, requires_grad=True),
        torch.tensor(a, requires_grad=True),
    )


def _run(lib, leaf, fn, seed):
    """``fn`` on a non-leaf copy of ``leaf`` under ``seed``: (result, copy, its version
    before, graph)."""
    x = leaf * 1
    v = x._version
    lib.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(lib, x)
    return y, x, v, _graph(y.grad_fn)


def _same(fn, shape, seed=0, dtype="float32", backward=True):
    a, b = _pair(shape, dtype)
    ya, xa, va, ga = _run(cr, a, fn, seed)
    yb, xb, vb, gb = _run(torch, b, fn, seed)
    assert ga == gb
    assert (ya is xa) == (yb is xb)
    assert xa._version - va == xb._version - vb
    assert ya._version == yb._version
    assert tuple(ya.shape) == tuple(yb.shape)
    np.testing.assert_array_equal(_np(ya), _np(yb))
    if backward:
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-6, atol=0)
    return ya, yb


# ---------------------------------------------------------------------- dropout modules
ALPHA_MODULES = ("AlphaDropout", "FeatureAlphaDropout")


@pytest.mark.parametrize("name", ALPHA_MODULES)
def test_alpha_dropout_modules_ignore_inplace(name):
    _same(lambda L, x: getattr(L.nn, name)(0.4, inplace=True)(x), (3, 4, 5), seed=5)
    for lib in (cr, torch):  # a leaf that requires grad is accepted and left as it is
        m = getattr(lib.nn, name)(0.4, inplace=True)
        x = lib.randn(3, 4, requires_grad=True)
        before = _np(x).copy()
        y = m(x)
        assert y is not x and x._version == 0 and y._version == 1
        np.testing.assert_array_equal(_np(x), before)
        assert type(y.grad_fn).__name__ == "AddBackward0"
        assert repr(m) == f"{name}(p=0.4, inplace=True)"
        m.eval()
        assert m(x) is x


@pytest.mark.parametrize(
    "name, shape",
    [("Dropout", (3, 4)), ("Dropout1d", (2, 3, 4)), ("Dropout1d", (3, 4))]
    + [("Dropout2d", (2, 3, 2, 2)), ("Dropout3d", (2, 3, 2, 2, 2)), ("Dropout3d", (3, 2, 2, 2))],
)
def test_dropout_modules_write_in_place(name, shape):
    _same(lambda L, x: getattr(L.nn, name)(0.4, inplace=True)(x), shape, seed=7)
    _same(lambda L, x: getattr(L.nn, name)(0.4, inplace=False)(x), shape, seed=7)
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(lib.nn, name)(0.4, inplace=True)(lib.randn(*shape, requires_grad=True))


@pytest.mark.parametrize("name", ALPHA_MODULES)
def test_alpha_dropouts_out_of_place_result_is_version_one(name):
    fn = "alpha_dropout" if name == "AlphaDropout" else "feature_alpha_dropout"
    _same(lambda L, x: getattr(L.nn.functional, fn)(x, 0.3, True), (4, 3, 2), seed=2)
    _same(lambda L, x: getattr(L.nn.functional, fn)(x, 0.3, True, True), (4, 3, 2), seed=2)


# -------------------------------------------------------------------- root dropout forms
ROOT = ("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout")


@pytest.mark.parametrize("name", ROOT)
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("p", [0.3, 1.0, 0.0])
@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 3), (3, 2, 2, 2)])
def test_root_dropout_forms_as_torch(name, inplace, p, shape):
    op = name + ("_" if inplace else "")
    _same(lambda L, x: getattr(L, op)(x, p, True), shape, seed=11)
    _same(lambda L, x: getattr(L, op)(x, p, False), shape, seed=11)


@pytest.mark.parametrize("name", ROOT)
@pytest.mark.parametrize("seed", [0, 1, 123])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_root_dropout_masks_follow_torchs_stream(name, seed, dtype):
    for op in (name, name + "_"):
        _same(lambda L, x, op=op: getattr(L, op)(x, 0.45, True), (6, 7, 3), seed, dtype)


@pytest.mark.parametrize("name", ROOT)
def test_root_inplace_dropout_forms_refuse_a_leaf(name):
    for lib in (cr, torch):
        x = lib.randn(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(lib, name + "_")(x, 0.5, True)
        assert getattr(lib, name + "_")(x, 0.5, False) is x


def test_root_feature_dropout_of_one_dim_raises_as_torch():
    for lib in (cr, torch):
        for op in ("feature_dropout", "feature_alpha_dropout_"):
            with pytest.raises(RuntimeError, match="Feature dropout requires at least 2"):
                getattr(lib, op)(lib.randn(5), 0.5, True)
            assert getattr(lib, op)(lib.randn(5), 1.0, True).shape == (5,)


# ------------------------------------------------------------------ in-place view names
VIEWS = {
    "squeeze_()": ((2, 1, 3, 1), lambda x: x.squeeze_()),
    "squeeze_(1)": ((2, 1, 3, 1), lambda x: x.squeeze_(1)),
    "squeeze_(-1)": ((2, 1, 3, 1), lambda x: x.squeeze_(-1)),
    "squeeze_(0)": ((2, 1, 3, 1), lambda x: x.squeeze_(0)),
    "squeeze_(dim=1)": ((2, 1, 3, 1), lambda x: x.squeeze_(dim=1)),
    "squeeze_((1, 3))": ((2, 1, 3, 1), lambda x: x.squeeze_((1, 3))),
    "squeeze_([1])": ((2, 1, 3, 1), lambda x: x.squeeze_([1])),
    "unsqueeze_(0)": ((2, 3), lambda x: x.unsqueeze_(0)),
    "unsqueeze_(-1)": ((2, 3), lambda x: x.unsqueeze_(-1)),
    "t_": ((2, 3), lambda x: x.t_()),
    "t_ 1-d": ((3,), lambda x: x.t_()),
    "transpose_": ((2, 3, 4), lambda x: x.transpose_(0, 2)),
    "transpose_ same dim": ((2, 3), lambda x: x.transpose_(1, 1)),
    "swapdims_": ((2, 3, 4), lambda x: x.swapdims_(0, -1)),
    "swapaxes_": ((2, 3, 4), lambda x: x.swapaxes_(1, 2)),
    "as_strided_": ((2, 3), lambda x: x.as_strided_((3, 2), (1, 3))),
    "as_strided_ offset": ((2, 3), lambda x: x.as_strided_((2,), (1,), 1)),
    "chain": ((2, 3), lambda x: x.unsqueeze_(1).squeeze_(1).t_().unsqueeze_(0).transpose_(0, 2)),
}
_SAVED = ("dim", "self_sym_sizes", "dim0", "dim1")


@pytest.mark.parametrize("case", list(VIEWS))
def test_inplace_view_nodes_named_as_torch(case):
    shape, fn = VIEWS[case]
    ya, yb = _same(lambda L, x: fn(x), shape)
    ga, gb = ya.grad_fn, yb.grad_fn
    assert ga.name() == gb.name() and repr(ga).split()[0] == repr(gb).split()[0]
    for key in _SAVED:
        assert hasattr(ga, f"_saved_{key}") == hasattr(gb, f"_saved_{key}"), key
        if hasattr(gb, f"_saved_{key}"):
            assert getattr(ga, f"_saved_{key}") == getattr(gb, f"_saved_{key}"), key


def test_out_of_place_views_keep_their_names():
    for lib in (cr, torch):
        x = lib.randn(2, 1, 3, requires_grad=True) * 1
        x.clone().squeeze_(1)
        x.clone().unsqueeze_(0)
        x.clone().transpose_(0, 2)
        names = [type(v.grad_fn).__name__ for v in (x.squeeze(1), x.unsqueeze(0), x[0].t())]
        assert names == ["SqueezeBackward1", "UnsqueezeBackward0", "TBackward0"]


def test_inplace_view_double_backward_as_torch():
    a, b = _pair((2, 1, 3), "float64")
    outs = []
    for lib, leaf in ((cr, a), (torch, b)):
        x = leaf * 1
        x.squeeze_(1).t_().unsqueeze_(0)
        (g,) = lib.autograd.grad((x**3).sum(), leaf, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), leaf)
        outs.append((_np(g), _np(gg)))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)


# -------------------------------------------------------------- unbatched channel dropout
UNBATCHED = [("dropout1d", (3, 4)), ("dropout1d", (2, 3, 4))]
UNBATCHED += [("dropout3d", s) for s in ((3, 2, 2, 2), (3, 2, 2), (1, 3, 2, 2, 2, 2))]
UNBATCHED += [("dropout3d", (2, 3, 2, 2, 2)), ("dropout2d", (3, 2, 2))]


@pytest.mark.parametrize("name, shape", UNBATCHED)
@pytest.mark.parametrize("p", [0.5, 1.0, 0.0])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("inplace", [False, True])
def test_unbatched_channel_dropout_as_torch(name, shape, p, training, inplace):
    _same(lambda L, x: getattr(L.nn.functional, name)(x, p, training, inplace), shape, 3)


@pytest.mark.parametrize("name, shape", [("dropout1d", (3, 4)), ("dropout3d", (3, 2, 2, 2))])
def test_unbatched_channel_dropout_without_grad_as_torch(name, shape):
    a = RNG.standard_normal(shape).astype("float32")
    for training in (True, False):
        res = []
        for lib in (cr, torch):
            x = lib.tensor(a)
            lib.manual_seed(4)
            y = getattr(lib.nn.functional, name)(x, 0.5, training)
            res.append((_np(y), y is x, y._base is x, y.grad_fn))
        np.testing.assert_array_equal(res[0][0], res[1][0])
        assert res[0][1:] == res[1][1:]


# ------------------------------------------------------------------------- log10_, log2_
@pytest.mark.parametrize("name", ["log10", "log2"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_of_base_inplace_is_one_node(name, dtype):
    ya, yb = _same(lambda L, x: getattr(x, name + "_")(), (3, 4), dtype=dtype, backward=False)
    for y in (ya, yb):
        assert _graph(y.grad_fn)[0] == name.capitalize() + "Backward0"
    a = np.abs(RNG.standard_normal((3, 4))).astype(dtype) + 0.1
    grads = []
    for lib in (cr, torch):
        leaf = lib.tensor(a, requires_grad=True)
        x = leaf * 1
        y = getattr(x, name + "_")()
        np.testing.assert_array_equal(_np(y.grad_fn._saved_self), a)  # the old value
        y.mul_(2)  # the saved input is the old value: changing the result is fine
        (g,) = lib.autograd.grad(y.sum(), leaf, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), leaf)
        grads.append((_np(g), _np(gg)))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-6)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-6)


@pytest.mark.parametrize("name", ["log10", "log2"])
def test_log_of_base_inplace_complex_and_errors(name):
    z = (RNG.standard_normal(4) + 1j * RNG.standard_normal(4)).astype("complex128")
    outs = []
    for lib in (cr, torch):
        leaf = lib.tensor(z, requires_grad=True)
        y = getattr(leaf * 1, name + "_")()
        y.abs().sum().backward()
        outs.append((_np(y), _np(leaf.grad)))
        with pytest.raises(RuntimeError):
            getattr(lib.tensor([1, 2]), name + "_")()  # an integer tensor: no float result
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(lib.tensor([1.0], requires_grad=True), name + "_")()
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)


# ------------------------------------------------------------------- the noise's rounding
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("p", [0.45, 0.33, 0.1, 0.7])
def test_dropout_scale_rounds_as_torch(dtype, p):
    """PyTorch's noise is ``bernoulli_(1 - p).div_(1 - p)`` in the input's dtype: for
    float32 1/(1-p) with (1 - p) rounded first (an ulp off 1/(1-p) rounded once at 0.45)."""
    a = RNG.standard_normal((4, 10, 5, 10)).astype("float32")
    res = []
    for lib in (cr, torch):
        x = lib.tensor(a).to(getattr(lib, dtype))
        lib.manual_seed(9)
        ys = [lib.dropout(x, p, True), lib.feature_dropout(x, p, True)]
        ys += [lib.nn.functional.dropout2d(x, p, True)]
        ys += [lib.nn.functional.dropout1d(x.reshape(40, 5, 10), p, True)]
        res.append([_np(y.float()) for y in ys])
    for r0, r1 in zip(*res):
        np.testing.assert_array_equal(r0, r1)
