"""``assert_close`` and the deprecated ``assert_allclose``, mirroring ``torch.testing``.

The inputs are split into *pairs* (recursing through sequences and mappings, whose lengths
and keys must match); each pair is handled by the first of these that accepts it:

* ``None`` on either side: both must be None;
* ``bool`` / ``numpy.bool_``: identical truth values;
* Python numbers / ``numpy.number``: close within the tolerances of the matching dtype
  (int -> int64, float -> float64, complex -> complex128);
* tensor-likes: a :class:`~chainrule.Tensor` or anything :func:`chainrule.as_tensor`
  accepts (NumPy arrays), the two of directly related types (a Tensor and a NumPy array are
  not). Shape always, device, dtype, layout and stride optionally, must match, then the
  values must satisfy ``|actual - expected| <= atol + rtol * |expected|`` elementwise
  (non-finite values only equal to themselves, NaN equal to NaN with ``equal_nan``).

Every pair is compared; the first failure is raised as :class:`AssertionError` (or the
``TypeError``/``ValueError`` PyTorch raises for unusable inputs) with PyTorch's message.
"""

from __future__ import annotations

import cmath
import collections.abc
import contextlib
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..creation import as_tensor, tensor
from ._messages import (
    ErrorMeta,
    bfloat16_steps,
    default_tolerances,
    get_tolerances,
    make_scalar_mismatch_msg,
    make_tensor_mismatch_msg,
)

__all__ = ["assert_close", "assert_allclose"]

_NUMBER_DTYPES = {
    int: np.dtype("int64"),
    float: np.dtype("float64"),
    complex: np.dtype("complex128"),
}


class _Unsupported(Exception):
    """Raised while building a pair that cannot handle the inputs: try the next kind."""


def _fail(msg: str, id: tuple[Any, ...], type: type[Exception] = AssertionError) -> NoReturn:
    raise ErrorMeta(type, msg, id=id)


class _NonePair:
    def __init__(self, actual: Any, expected: Any, *, id: tuple[Any, ...], **_: Any) -> None:
        if not (actual is None or expected is None):
            raise _Unsupported
        self.actual, self.expected, self.id = actual, expected, id

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            _fail(f"None mismatch: {self.actual} is not {self.expected}", self.id)


class _BooleanPair:
    def __init__(self, actual: Any, expected: Any, *, id: tuple[Any, ...], **_: Any) -> None:
        if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
            raise _Unsupported
        self.actual, self.expected, self.id = bool(actual), bool(expected), id

    def compare(self) -> None:
        if self.actual is not self.expected:
            _fail(f"Booleans mismatch: {self.actual} is not {self.expected}", self.id)


class _NumberPair:
    def __init__(
        self,
        actual: Any,
        expected: Any,
        *,
        id: tuple[Any, ...],
        rtol: float | None,
        atol: float | None,
        equal_nan: bool,
        check_dtype: bool,
        **_: Any,
    ) -> None:
        kinds = (int, float, complex, np.number)
        if not all(isinstance(x, kinds) and not isinstance(x, bool) for x in (actual, expected)):
            raise _Unsupported
        self.actual, self.expected = (
            x.item() if isinstance(x, np.number) else x for x in (actual, expected)
        )
        self.id = id
        self.rtol, self.atol = get_tolerances(
            *(_NUMBER_DTYPES[type(x)] for x in (self.actual, self.expected)),
            rtol=rtol,
            atol=atol,
            id=id,
        )
        self.equal_nan = equal_nan
        self.check_dtype = check_dtype

    def compare(self) -> None:
        a, e = self.actual, self.expected
        if self.check_dtype and type(a) is not type(e):
            _fail(f"The (d)types do not match: {type(a)} != {type(e)}.", self.id)
        if a == e:
            return
        if self.equal_nan and cmath.isnan(a) and cmath.isnan(e):
            return
        abs_diff = abs(a - e)
        if cmath.isfinite(abs_diff) and abs_diff <= self.atol + self.rtol * abs(e):
            return
        _fail(make_scalar_mismatch_msg(a, e, rtol=self.rtol, atol=self.atol), self.id)


class _TensorLikePair:
    def __init__(
        self,
        actual: Any,
        expected: Any,
        *,
        id: tuple[Any, ...],
        allow_subclasses: bool,
        rtol: float | None,
        atol: float | None,
        equal_nan: bool,
        check_device: bool,
        check_dtype: bool,
        check_layout: bool,
        check_stride: bool,
        **_: Any,
    ) -> None:
        related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
        if not related or (not allow_subclasses and type(actual) is not type(expected)):
            raise _Unsupported
        self.actual, self.expected = _to_tensor(actual), _to_tensor(expected)
        self.id = id
        self.rtol, self.atol = get_tolerances(
            self.actual.dtype, self.expected.dtype, rtol=rtol, atol=atol, id=id
        )
        self.equal_nan = equal_nan
        self.checks = {
            "device": check_device,
            "dtype": check_dtype,
            "layout": check_layout,
            "stride": check_stride,
        }

    def _mismatch(self, name: str, a: Any, e: Any) -> NoReturn:
        _fail(f"The values for attribute '{name}' do not match: {a} != {e}.", self.id)

    def compare(self) -> None:
        a, e = self.actual, self.expected
        if tuple(a.shape) != tuple(e.shape):
            self._mismatch("shape", tuple(a.shape), tuple(e.shape))
        if a.layout != e.layout:
            if self.checks["layout"]:
                self._mismatch("layout", a.layout, e.layout)
        elif self.checks["stride"] and a.stride() != e.stride():
            self._mismatch("stride()", a.stride(), e.stride())
        if self.checks["device"] and a.device != e.device:
            self._mismatch("device", a.device, e.device)
        if self.checks["dtype"] and a.dtype != e.dtype:
            self._mismatch("dtype", a.dtype, e.dtype)
        # equalize: both on the CPU (as NumPy arrays), both in the promoted dtype
        # (np.asarray, not .numpy(): that refuses bfloat16, as PyTorch's does)
        a_np, e_np = (np.asarray(t.detach().cpu()) for t in (a, e))
        if a_np.dtype != e_np.dtype:
            common = _dt.promote_types(a_np.dtype, e_np.dtype)
            a_np, e_np = a_np.astype(common), e_np.astype(common)
        self._compare_values(a_np, e_np)

    def _compare_values(self, a: np.ndarray, e: np.ndarray) -> None:
        matches = _isclose(a, e, rtol=self.rtol, atol=self.atol, equal_nan=self.equal_nan)
        if matches.all():
            return
        if a.shape == ():
            msg = make_scalar_mismatch_msg(a.item(), e.item(), rtol=self.rtol, atol=self.atol)
        else:
            msg = make_tensor_mismatch_msg(a, e, matches, rtol=self.rtol, atol=self.atol)
        _fail(msg, self.id)


def _to_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return as_tensor(x)
    except Exception:  # anything as_tensor cannot take: this pair kind does not apply
        raise _Unsupported from None


def _isclose(a: np.ndarray, e: np.ndarray, *, rtol: float, atol: float, equal_nan: bool):
    """``torch.isclose`` on NumPy arrays of one dtype (the tolerance arithmetic in that dtype
    for floating data, so boundaries fall where PyTorch puts them; bfloat16: each step in
    float32 rounded to bfloat16, as PyTorch's bfloat16 arithmetic)."""
    a, e, rnd = bfloat16_steps(a, e)
    with np.errstate(all="ignore"):
        close = a == e
        if equal_nan and a.dtype.kind in "fc":
            close |= np.isnan(a) & np.isnan(e)
        if rtol == 0 and atol == 0:
            return close
        if a.dtype.kind not in "fc":  # integers and bools: exact differences, float tolerance
            a, e = a.astype(np.float64), e.astype(np.float64)
        allowed = rnd(atol + rnd(np.abs(rnd(rtol * e))))
        actual = rnd(np.abs(a - e))
        return close | (np.isfinite(actual) & (actual <= allowed))


_PAIR_TYPES = (_NonePair, _BooleanPair, _NumberPair, _TensorLikePair)


def _originate_pairs(actual: Any, expected: Any, id: tuple[Any, ...], options: dict) -> list:
    seq = collections.abc.Sequence
    if (
        isinstance(actual, seq)
        and not isinstance(actual, str)
        and isinstance(expected, seq)
        and not isinstance(expected, str)
    ):
        if len(actual) != len(expected):
            raise ErrorMeta(
                AssertionError,
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                id=id,
            )
        pairs = []
        for i in range(len(actual)):
            pairs.extend(_originate_pairs(actual[i], expected[i], (*id, i), options))
        return pairs
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        a_keys, e_keys = set(actual.keys()), set(expected.keys())
        if a_keys != e_keys:
            raise ErrorMeta(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(e_keys - a_keys)}\n"
                f"Additional keys in the actual mapping: {sorted(a_keys - e_keys)}",
                id=id,
            )
        keys: Any = a_keys
        with contextlib.suppress(Exception):  # deterministic order where keys sort
            keys = sorted(keys)
        pairs = []
        for k in keys:
            pairs.extend(_originate_pairs(actual[k], expected[k], (*id, k), options))
        return pairs
    for pair_type in _PAIR_TYPES:
        try:
            return [pair_type(actual, expected, id=id, **options)]
        except _Unsupported:
            continue
    raise ErrorMeta(
        TypeError,
        f"No comparison pair was able to handle inputs of type {type(actual)} and "
        f"{type(expected)}.",
        id=id,
    )


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Assert that ``actual`` and ``expected`` are close (PyTorch's ``assert_close``).

    Tensors (and NumPy arrays, compared with each other) are close when they have the same
    shape (and device, dtype, layout, stride where those checks are on) and every element
    satisfies ``|actual - expected| <= atol + rtol * |expected|``; infinities only match
    themselves, NaNs match only with ``equal_nan``. Without ``rtol``/``atol`` the dtype's
    defaults apply (float16: 1e-3/1e-5, float32: 1.3e-6/1e-5, float64: 1e-7/1e-7, the
    loosest of the two dtypes; 0/0 for integer and bool data); give both or neither.
    Python numbers, bools and None compare as scalars; sequences and mappings are compared
    item by item (same length / same keys).

    Args:
        msg: replaces the failure message (a str), or receives the generated message and
            returns the one to raise (a callable).

    Raises:
        AssertionError: the inputs are not close, or their structure/attributes differ.
        TypeError: no comparison applies to a pair of inputs (e.g. a Tensor and a list).
        ValueError: only one of ``rtol`` and ``atol`` was given.
    """
    __tracebackhide__ = True
    options = dict(
        allow_subclasses=allow_subclasses,
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_device=check_device,
        check_dtype=check_dtype,
        check_layout=check_layout,
        check_stride=check_stride,
    )
    try:
        pairs = _originate_pairs(actual, expected, (), options)
    except ErrorMeta as meta:
        raise meta.to_error() from None
    for pair in pairs:
        try:
            pair.compare()
        except ErrorMeta as meta:
            raise meta.to_error(msg) from None


_ALLCLOSE_PRECISIONS = {
    np.dtype("float16"): (1e-3, 1e-3),
    np.dtype("float32"): (1e-4, 1e-5),
    np.dtype("float64"): (1e-5, 1e-8),
}


def assert_allclose(
    actual: Any,
    expected: Any,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = True,
    msg: str = "",
) -> None:
    """Deprecated (as in PyTorch since 1.12; warns ``FutureWarning``): use
    :func:`assert_close`. Converts both inputs to tensors (``expected`` to ``actual``'s
    dtype), uses looser default tolerances (float16: 1e-3/1e-3, float32: 1e-4/1e-5,
    float64: 1e-5/1e-8), treats NaNs as equal and does not check dtypes."""
    warnings.warn(
        "`chainrule.testing.assert_allclose()` is deprecated since 1.12 and will be removed "
        "in a future release. Please use `chainrule.testing.assert_close()` instead. "
        "You can find detailed upgrade instructions in "
        "https://github.com/pytorch/pytorch/issues/61844.",
        FutureWarning,
        stacklevel=2,
    )
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = default_tolerances(
            actual.dtype, expected.dtype, dtype_precisions=_ALLCLOSE_PRECISIONS
        )
    assert_close(
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_device=True,
        check_dtype=False,
        check_stride=False,
        msg=msg or None,
    )
