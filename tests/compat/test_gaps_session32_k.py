"""Small fidelity gaps (session 32, batch k), each checked against PyTorch.

- ``Tensor.type(t)`` accepted ``int``, ``float``, ``bool``, NumPy scalar types and dtype
  names (``'float'``, ``'torch.float32'``, ``'FloatTensor'``); PyTorch takes a legacy type
  (``torch.FloatTensor``, ``torch.Tensor``, ``torch.sparse.FloatTensor``), its full name
  (``'torch.FloatTensor'``, ``'torch.cuda.FloatTensor'``) or a ``torch.dtype``, and raises
  ``ValueError: invalid type: 'int'`` for any other class or string, ``TypeError: dtype
  must be a type, str, or dtype object`` for anything else (a NumPy dtype, a number).
- Strides of size-1 dims of expanded tensors: NumPy's ``broadcast_to`` gives them stride 0,
  PyTorch's ``expand`` keeps a kept dim's stride and gives a new size-1 leading dim the next
  dim's ``size * stride``. ``torch.arange(4).expand(1, 4)[:, :2].stride()`` is ``(4, 1)``
  (chainrule: ``(2, 1)``), its ``clone()`` / ``empty_like`` / ``zeros_like`` ``(4, 1)``
  (chainrule: ``(0, 1)``: a copy took NumPy's strides, not the ones ``stride()`` reports),
  ``a.t()`` ``(1, 4)``; the same for permutes of expands and for ``x[None].clone()``
  (``(6, 3, 1)``, chainrule ``(0, 3, 1)``); ``torch.tensor(ndarray)`` keeps a NumPy
  array's own stride-0 size-1 dims; a copy of a non-dense tensor is laid out in its stride
  order counting its size-1 dims' strides as PyTorch reports them
  (``z.permute(2, 0, 1)[None][..., ::2].clone()``: ``(4, 1, 8, 4)``, chainrule ``(16, ...)``).
- ``torch.meshgrid``'s warning without ``indexing=`` said ``"cr.meshgrid: ..."``; PyTorch's
  text (``"torch.meshgrid: in an upcoming release, ..."``), which user filters match, is kept
  word for word now, as other warnings that mirror PyTorch's are (``torch.range``, the loss
  warnings); so is ``torch.tensor(t)``'s copy-construct warning (``"... rather than
  torch.tensor(sourceTensor)."``).

Not covered: an elementwise result whose operands have size-1 dims in a non-dense layout
(``ops/_result_layout.py``'s order, another file) can still differ; a size-1 slice of an
expanded dim (``x.expand(3, -1)[:1]``) or of a 0-d tensor's expand keeps stride 0 in
PyTorch, which a NumPy array cannot tell from an unsqueezed dim, so chainrule reports the
unsqueeze rule there (``chainrule._layout.torch_strides``); ``torch.save`` keeps an
overlapping (expanded) tensor's zero strides, chainrule's serialization saves a copy.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule import _user_warnings

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _outcome(fn: Any) -> Any:
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e)
    return str(r.dtype), tuple(r.shape)


# ---------------------------------------------------------------- Tensor.type


@pytest.mark.parametrize(
    "arg",
    [
        int,
        float,
        bool,
        complex,
        object,
        np.float32,
        np.int64,
        np.float64,
        "float",
        "int",
        "FloatTensor",
        "torch.float32",
        "torch.float",
        "float32",
        "",
        "torch.sparse.Tensor",
        "torch.NopeTensor",
    ],
)
def test_type_refuses_what_torch_refuses(arg: Any) -> None:
    with pytest.raises(ValueError) as t_err:
        torch.ones(2).type(arg)
    with pytest.raises(ValueError) as c_err:
        chainrule.ones(2).type(arg)
    assert str(c_err.value) == str(t_err.value)


@pytest.mark.parametrize("arg", [np.dtype("float32"), 3, 1.5, [None]])
def test_type_of_a_non_type_is_a_type_error(arg: Any) -> None:
    for lib in BOTH:
        with pytest.raises(TypeError, match="^dtype must be a type, str, or dtype object$"):
            lib.ones(2).type(arg)


@pytest.mark.parametrize(
    "arg",
    [
        "torch.FloatTensor",
        "torch.LongTensor",
        "torch.DoubleTensor",
        "torch.HalfTensor",
        "torch.BFloat16Tensor",
        "torch.BoolTensor",
        "torch.ByteTensor",
        "torch.ComplexFloatTensor",
        "torch.UInt16Tensor",
        "torch.Tensor",
        "torch.sparse.FloatTensor",
        "float32",
        "int64",
        "float16",
        "complex64",
        "FloatTensor",
        "LongTensor",
        "Tensor",
        "sparse.FloatTensor",
    ],
)
@pytest.mark.parametrize("src", ["float32", "int64"])
def test_type_converts_as_torch(arg: str, src: str) -> None:
    def lookup(lib: Any, name: str) -> Any:
        if "." in name and not name.startswith("torch."):  # sparse.FloatTensor
            return getattr(lib.sparse, name.split(".")[1])
        return getattr(lib, name) if not name.startswith("torch.") else name

    t = torch.ones(2, dtype=getattr(torch, src))
    c = chainrule.ones(2, dtype=getattr(chainrule, src))
    want, got = t.type(lookup(torch, arg)), c.type(lookup(chainrule, arg))
    assert str(got.dtype) == str(want.dtype) and not got.is_sparse
    assert (got is c) == (want is t)
    assert got.type() == want.type()


def test_type_tensor_class_is_the_default_dtype() -> None:
    old_t, old_c = torch.get_default_dtype(), chainrule.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        chainrule.set_default_dtype(chainrule.float64)
        for arg in ("Tensor", "torch.Tensor"):
            t = torch.ones(2, dtype=torch.int64).type(getattr(torch, arg, arg))
            c = chainrule.ones(2, dtype=chainrule.int64).type(getattr(chainrule, arg, arg))
            assert str(c.dtype) == str(t.dtype) == "torch.float64"
    finally:
        torch.set_default_dtype(old_t)
        chainrule.set_default_dtype(old_c)


def test_type_keywords_and_extra_arguments() -> None:
    for lib in BOTH:
        x = lib.ones(2)
        assert x.type(non_blocking=True) == "torch.FloatTensor"
        assert x.type(lib.int64, True).dtype == lib.int64
        assert x.type(dtype=lib.int64, non_blocking=True).dtype == lib.int64
        for kwargs in ({"foo": 1}, {"async_": True}):
            with pytest.raises(TypeError, match="unexpected keyword argument"):
                x.type(lib.int64, **kwargs)
        with pytest.raises(TypeError, match="positional arguments"):
            x.type(lib.int64, True, 3)


def test_type_cuda_name_asks_for_cuda() -> None:
    if chainrule.cuda.is_available():
        pytest.skip("a CUDA device is present")
    for lib in BOTH:
        with pytest.raises(RuntimeError):
            lib.ones(2).type("torch.cuda.FloatTensor")


# ---------------------------------------------------------------- strides


def _saved(lib: Any, t: Any) -> Any:
    buf = io.BytesIO()
    lib.save(t, buf)
    buf.seek(0)
    return lib.load(buf)


# (name, function of the library) -> a tensor whose stride() is compared
STRIDE_CASES = {
    "a": lambda m: m.arange(4).expand(1, 4),
    "a[:, :2]": lambda m: m.arange(4).expand(1, 4)[:, :2],
    "a[:, 1:3]": lambda m: m.arange(4).expand(1, 4)[:, 1:3],
    "a[..., ::2]": lambda m: m.arange(4).expand(1, 4)[..., ::2],
    "a.clone()": lambda m: m.arange(4).expand(1, 4).clone(),
    "empty_like(a)": lambda m: m.empty_like(m.arange(4).expand(1, 4)),
    "zeros_like(a)": lambda m: m.zeros_like(m.arange(4).expand(1, 4)),
    "ones_like(a)": lambda m: m.ones_like(m.arange(4).expand(1, 4)),
    "full_like(a)": lambda m: m.full_like(m.arange(4).expand(1, 4), 3),
    "rand_like(a)": lambda m: m.rand_like(m.arange(4.0).expand(1, 4)),
    "randn_like(a)": lambda m: m.randn_like(m.arange(4.0).expand(1, 4)),
    "a.contiguous()": lambda m: m.arange(4).expand(1, 4).contiguous(),
    "a.reshape(1, 4)": lambda m: m.arange(4).expand(1, 4).reshape(1, 4),
    "a.float()": lambda m: m.arange(4).expand(1, 4).float(),
    "a + 0": lambda m: m.arange(4).expand(1, 4) + 0,
    "a.t()": lambda m: m.arange(4).expand(1, 4).t(),
    "a.unsqueeze(0)": lambda m: m.arange(4).expand(1, 4).unsqueeze(0),
    "save/load a": lambda m: _saved(m, m.arange(4).expand(1, 4)),
    "0d.expand(1)": lambda m: m.tensor(5.0).expand(1),
    "0d.expand(1, 1).clone()": lambda m: m.tensor(5.0).expand(1, 1).clone(),
    "0d.expand(1, 1, 1).contiguous()": lambda m: m.tensor(5.0).expand(1, 1, 1).contiguous(),
    "0d.expand(3, 1)": lambda m: m.tensor(5.0).expand(3, 1),
    "0d.expand(3, 1).clone()": lambda m: m.tensor(5.0).expand(3, 1).clone(),
    "0d.expand(2, 1, 3).empty_like": lambda m: m.empty_like(m.tensor(5.0).expand(2, 1, 3)),
    "11.expand(1, 1).clone()": lambda m: m.ones(1, 1).expand(1, 1).clone(),
    "11.expand(1, 1, 1).empty_like": lambda m: m.empty_like(m.ones(1, 1).expand(1, 1, 1)),
    "11.expand(1, 3)": lambda m: m.ones(1, 1).expand(1, 3),
    "11.expand(1, 3)[:1]": lambda m: m.ones(1, 1).expand(1, 3)[:1],
    "11.expand(3, 1)": lambda m: m.ones(1, 1).expand(3, 1),
    "11.expand(4, 1, 1)": lambda m: m.ones(1, 1).expand(4, 1, 1),
    "11.expand(4, 1, 1).clone()": lambda m: m.ones(1, 1).expand(4, 1, 1).clone(),
    "11.expand(2, 2, 1)": lambda m: m.ones(1, 1).expand(2, 2, 1),
    "x.expand(3, -1).clone()": lambda m: m.arange(3.0).expand(3, -1).clone(),
    "x.expand(2, 1, -1)": lambda m: m.arange(3.0).expand(2, 1, -1),
    "x.expand(2, 1, -1).empty_like": lambda m: m.empty_like(m.arange(3.0).expand(2, 1, -1)),
    "x.expand(1, 2, -1).clone()": lambda m: m.arange(3.0).expand(1, 2, -1).clone(),
    "y.t().expand(1, 3, 2)": lambda m: m.arange(6.0).reshape(2, 3).t().expand(1, 3, 2),
    "y.t().expand(1, 3, 2).clone()": lambda m: (
        m.arange(6.0).reshape(2, 3).t().expand(1, 3, 2).clone()
    ),
    "y[:1].t().expand(2, 3, 1).clone()": lambda m: (
        m.arange(6.0).reshape(2, 3)[:1].t().expand(2, 3, 1).clone()
    ),
    "y[None].clone()": lambda m: m.arange(6.0).reshape(2, 3)[None].clone(),
    "y[:, :1].clone()": lambda m: m.arange(6.0).reshape(2, 3)[:, :1].clone(),
    "y.expand(1, 2, 3).permute(1, 2, 0)": lambda m: (
        m.arange(6.0).reshape(2, 3).expand(1, 2, 3).permute(1, 2, 0)
    ),
    "y.expand(1, 2, 3).permute(1, 0, 2).clone()": lambda m: (
        m.arange(6.0).reshape(2, 3).expand(1, 2, 3).permute(1, 0, 2).clone()
    ),
    "y.expand(1, 2, 3).permute(1, 0, 2).empty_like": lambda m: m.empty_like(
        m.arange(6.0).reshape(2, 3).expand(1, 2, 3).permute(1, 0, 2)
    ),
    "y.unsqueeze(2).expand(2, 3, 4).permute(2, 0, 1).clone()": lambda m: (
        m.arange(6.0).reshape(2, 3).unsqueeze(2).expand(2, 3, 4).permute(2, 0, 1).clone()
    ),
    "z.permute(2, 0, 1)[None][..., ::2].clone()": lambda m: (
        m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)[None][..., ::2].clone()
    ),
    "expand_as(...)[:, :2]": lambda m: m.arange(3).expand_as(m.ones(1, 3))[:, :2],
    "broadcast_to(x, (1, 3))[:, 1:]": lambda m: m.broadcast_to(m.arange(3), (1, 3))[:, 1:],
}


@pytest.mark.parametrize("case", list(STRIDE_CASES))
def test_strides_of_expanded_tensors(case: str) -> None:
    make = STRIDE_CASES[case]
    want, got = make(torch), make(chainrule)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.stride() == want.stride()


def test_expanded_values_and_gradients_unchanged() -> None:
    x = chainrule.arange(3.0, requires_grad=True)
    e = x.expand(1, 2, 3).permute(1, 0, 2)
    assert e.tolist() == [[[0.0, 1.0, 2.0]], [[0.0, 1.0, 2.0]]]
    (e * chainrule.arange(6.0).reshape(2, 1, 3)).sum().backward()
    assert x.grad.tolist() == [3.0, 5.0, 7.0]
    with pytest.raises(RuntimeError):  # an expanded view is still not writable in place
        chainrule.ones(1, 1).expand(4, 1, 1).add_(1)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: n[None],
        lambda n: n[:, None],
        lambda n: n[:, :1],
        lambda n: n.T,
        lambda n: n[:, ::2],
        lambda n: np.broadcast_to(n[0], (2, 3)),
        lambda n: n[..., None],
    ],
)
def test_strides_of_tensors_made_from_numpy(make: Any) -> None:
    v = make(np.arange(6.0).reshape(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # read-only arrays warn
        for fn in ("tensor", "as_tensor", "asarray", "from_numpy"):
            if fn == "from_numpy" and not v.flags.writeable:
                continue
            want, got = getattr(torch, fn)(v), getattr(chainrule, fn)(v)
            assert got.stride() == want.stride(), fn


def test_clone_of_row_major_tensor_unchanged() -> None:
    x = chainrule.randn(64, 64)
    assert x.clone().stride() == torch.randn(64, 64).clone().stride() == (64, 1)


# ---------------------------------------------------------------- warnings' text

MESHGRID = (
    "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument."
)


def test_meshgrid_warning_is_torchs_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # as in a fresh process
    for lib in BOTH:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.meshgrid(lib.ones(2), lib.ones(3))
        texts = [str(w.message) for w in caught]
        if lib is torch and not texts:  # PyTorch warns once per process: already issued
            continue
        assert len(texts) == 1 and texts[0].startswith(MESHGRID), texts
    monkeypatch.setattr(_user_warnings, "_issued", set())
    with warnings.catch_warnings():  # a user's filter by PyTorch's text silences it
        warnings.filterwarnings("ignore", message=MESHGRID[:40])
        warnings.simplefilter("error", UserWarning, append=True)
        chainrule.meshgrid(chainrule.ones(2), chainrule.ones(3))


def test_tensor_copy_construct_warning_is_torchs_text() -> None:
    for lib in BOTH:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.tensor(lib.ones(2))
        assert any(
            str(w.message).endswith("rather than torch.tensor(sourceTensor).") for w in caught
        )
