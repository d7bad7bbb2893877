"""The hooks ops call: a compiled result for arrays a kernel suits, else ``None``.

Each function takes the op's raw arrays and returns the kernel's result (a new array with
the input's shape that owns its memory, so the engine keeps it as ``.grad`` without a copy)
when :func:`.jit.eligible` holds (the Numba path is active; NumPy arrays, C-contiguous, one
float dtype, large enough), and ``None`` otherwise, in which case the op runs its own
NumPy code. Ops thus keep one code path for NumPy, CuPy and small arrays, and the compiled
kernel replaces only the array computation: the autograd rules around it are unchanged, so
double backward and forward mode still work.
"""

from __future__ import annotations

import numpy as np

from ..threads import parallel_slices
from . import (
    activations,
    arith,
    batchnorm,
    jit,
    pool_gemm,
    pooling,
    softmax,
    transcendental,
)
from .jit import eligible

__all__ = [
    "arithmetic",
    "split_over_threads",
    "batch_norm_backward",
    "batch_norm_forward",
    "channel_affine",
    "exp",
    "max_pool2x2",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "silu",
    "softmax_last",
    "softmax_last_grad",
    "tanh",
    "tanh_grad",
]

_F32 = np.dtype(np.float32)


def split_over_threads(kernel: object, *arrays: np.ndarray) -> None:
    """``kernel(*arrays)`` (same-length first axes; the last array is the output) cut along
    the first axis over the intra-op threads when the arrays are large: the compiled kernels
    release the GIL, so the slices run in parallel, as PyTorch splits its CPU kernels
    (``chainrule.threads``; ``set_num_threads(1)`` runs them on the calling thread).

    Used where it measured faster: the compute-bound sigmoid and softmax forward (0.67-0.72
    of one thread's time at 1M float32, idle 2-core machine; also GELU's gradient kernels in
    ``ops/gelu.py``); the memory-bound ones (relu, the activation gradients, softmax's
    backward) measured 1.0-1.9x *slower* split: the hand-off costs more than the second core
    gives (benchmarks/RESULTS.md)."""
    nbytes = sum(a.nbytes for a in arrays)
    parallel_slices(lambda a, b: kernel(*(x[a:b] for x in arrays)), arrays[0].shape[0], nbytes)


def _on_pool(blocks: object, *arrays: np.ndarray) -> bool:
    """``blocks(*arrays, threads)`` when the arrays are large and the pool is active (True),
    else False (nothing done: the caller runs its one-thread kernel)."""
    if arrays[0].size < jit.POOL_MIN_ELEMENTS:
        return False
    threads = pool_gemm.pool_active()
    if not threads:
        return False
    blocks(*arrays, min(threads, arrays[0].shape[0]))
    return True


def _large_enough(x: object) -> bool:
    """The compiled path is on and ``x`` is a NumPy array of at least
    :data:`.jit.MIN_PARALLEL_SIZE` elements: checked before anything is allocated, so that
    small arrays (the per-op overhead) pay two attribute reads."""
    return type(x) is np.ndarray and x.size >= jit.MIN_PARALLEL_SIZE and jit.backend() == "numba"


def _flat_in_memory(*arrays: np.ndarray) -> list[np.ndarray] | None:
    """1-d views of same-shaped arrays in their memory order, when they share one dense
    layout and :func:`.jit.eligible` holds for them so laid out; else None.

    An elementwise kernel only needs the elements paired up, not in C order: a conv output
    lives in (C, N, H, W) memory behind its (N, C, H, W) shape, and so do the gradients and
    activations computed from it (NumPy keeps the operands' order). Requiring C-contiguity
    sent ResNet-20's ReLU gradients to NumPy's masked ``where`` (2.4 ms each, 45 ms of a
    530 ms step)."""
    first = arrays[0]
    if first.flags.c_contiguous:
        ordered = arrays
    else:
        order = np.argsort([-s for s in first.strides], kind="stable")
        ordered = tuple(a.transpose(order) for a in arrays)
    shape, strides = ordered[0].shape, ordered[0].strides
    if any(a.shape != shape or a.strides != strides for a in ordered) or not eligible(*ordered):
        return None
    return [a.reshape(-1) for a in ordered]


def _float32_map(kernel: object, blocks: object, x: object) -> np.ndarray | None:
    """``kernel(x, out)`` over a flattened float32 array (``blocks`` on the compiled pool,
    else split over the intra-op threads: the float32 transcendental kernels are
    compute-bound), or None."""
    if not _large_enough(x) or x.dtype != _F32:
        return None
    out = np.empty_like(x)
    flat = _flat_in_memory(x, out)
    if flat is None:
        return None
    if not _on_pool(blocks, *flat):
        split_over_threads(kernel, *flat)
    return out


def exp(x: object) -> np.ndarray | None:
    """e^x for a float32 array (float32 arithmetic), or None."""
    return _float32_map(transcendental.exp_f32, transcendental.exp_f32_blocks, x)


def tanh(x: object) -> np.ndarray | None:
    """tanh(x) for a float32 array (float32 arithmetic), or None."""
    return _float32_map(transcendental.tanh_f32, transcendental.tanh_f32_blocks, x)


def max_pool2x2(x: object) -> tuple[np.ndarray, np.ndarray] | None:
    """(max, argmax offset as int8) over the 2x2 stride-2 windows of a 4-d x, or None.

    x may be C-contiguous in (N, C, H, W) or in (C, N, H, W) memory (a conv output); the
    results keep that memory order."""
    if type(x) is not np.ndarray or x.ndim != 4:
        return None
    swap = not x.flags.c_contiguous
    xm = x.transpose(1, 0, 2, 3) if swap else x
    if not eligible(xm):
        return None
    a, b, h, w = xm.shape
    out = np.empty((a, b, h // 2, w // 2), xm.dtype)
    arg = np.empty(out.shape, np.int8)
    pooling.max_pool2x2(xm, out, arg)
    if swap:
        return out.transpose(1, 0, 2, 3), arg.transpose(1, 0, 2, 3)
    return out, arg


def relu(x: object) -> np.ndarray | None:
    """max(x, 0), or None."""
    if not _large_enough(x):
        return None
    out = np.empty_like(x)
    flat = _flat_in_memory(x, out)
    if flat is None:
        return None
    if not _on_pool(activations.relu_blocks, *flat):
        activations.relu(*flat)
    return out


def _activation_grad(kernel: object, blocks: object, g: object, y: object) -> np.ndarray | None:
    """``kernel(g, y, out)`` over the flattened same-shaped arrays (``blocks`` on the
    compiled pool when large), or None."""
    if not _large_enough(g) or type(y) is not np.ndarray or g.shape != y.shape:
        return None
    out = np.empty_like(g)
    flat = _flat_in_memory(g, y, out)
    if flat is None and g.dtype == y.dtype:
        # g laid out otherwise than y (a broadcast gradient, or one summed from operands of
        # two layouts): copy it into y's layout and run the kernel in place, one pass more
        # instead of NumPy's mask-and-where; the result then keeps y's layout upstream.
        out = np.empty_like(y)
        flat = _flat_in_memory(out, y, out)
        if flat is not None:
            np.copyto(out, g)
    if flat is None:
        return None
    if not _on_pool(blocks, *flat):
        kernel(*flat)
    return out


def relu_grad(g: object, y: object) -> np.ndarray | None:
    """g where not y <= 0 (y > 0 or NaN), else 0, for same-shaped g and y, or None."""
    return _activation_grad(activations.relu_grad, activations.relu_grad_blocks, g, y)


def tanh_grad(g: object, y: object) -> np.ndarray | None:
    """g * (1 - y^2) for same-shaped g and y, or None."""
    return _activation_grad(activations.tanh_grad, activations.tanh_grad_blocks, g, y)


def sigmoid_grad(g: object, y: object) -> np.ndarray | None:
    """g * y * (1 - y) for same-shaped g and y, or None."""
    return _activation_grad(activations.sigmoid_grad, activations.sigmoid_grad_blocks, g, y)


def sigmoid(x: object) -> np.ndarray | None:
    """1 / (1 + e^-x) for float32 x, or None."""
    return _float32_map(transcendental.sigmoid_f32, transcendental.sigmoid_f32_blocks, x)


def silu(x: object) -> np.ndarray | None:
    """x / (1 + e^-x) for float32 x, or None."""
    return _float32_map(transcendental.silu_f32, transcendental.silu_f32_blocks, x)


def _rows(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1] if x.ndim else 1
    return x.reshape(-1, n)


def softmax_last(x: object, dim: int) -> np.ndarray | None:
    """softmax of float32 x along its last dim (``dim == x.ndim - 1``), or None."""
    if not eligible(x) or x.dtype != _F32 or x.ndim == 0 or dim != x.ndim - 1 or x.shape[-1] == 0:
        return None
    out = np.empty_like(x)
    rows = (_rows(x), _rows(out))
    if not _on_pool(softmax.softmax_rows_f32_blocks, *rows):
        split_over_threads(softmax.softmax_rows_f32, *rows)
    return out


def softmax_last_grad(g: object, y: object, dim: int) -> np.ndarray | None:
    """y * (g - sum(g * y, dim)) along the last dim of same-shaped g and y, or None."""
    if (
        not eligible(g, y)
        or g.shape != y.shape
        or y.ndim == 0
        or dim != y.ndim - 1
        or y.shape[-1] == 0
    ):
        return None
    out = np.empty_like(g)
    rows = (_rows(g), _rows(y), _rows(out))
    if not _on_pool(softmax.softmax_rows_backward_blocks, *rows):
        softmax.softmax_rows_backward(*rows)
    return out


def _cnl(a: np.ndarray) -> np.ndarray | None:
    """A (C, N, L) view of an (N, C, *spatial) array stored NCHW- or CNHW-contiguous."""
    n, c = a.shape[0], a.shape[1]
    if a.flags.c_contiguous:
        return a.reshape(n, c, -1).transpose(1, 0, 2)
    t = a.swapaxes(0, 1)
    if t.flags.c_contiguous:
        return t.reshape(c, n, -1)
    return None


def _bn_ready(*arrays: object) -> bool:
    """The Numba path is on and the arrays are NumPy float arrays of one dtype (any layout),
    the first large enough."""
    first = arrays[0]
    if (
        jit.backend() != "numba"
        or type(first) is not np.ndarray
        or first.size < jit.MIN_PARALLEL_SIZE
    ):
        return False
    return (
        first.ndim >= 2
        and first.dtype in (np.float32, np.float64)
        and all(type(a) is np.ndarray and a.dtype == first.dtype for a in arrays)
    )


def batch_norm_forward(x: object, weight: object, bias: object, eps: float) -> tuple | None:
    """Training-mode batch norm of an (N, C, *spatial) array: ``(y, mean, var, invstd)``
    (y laid out as x; the statistics (C,) in x's dtype), or None. x̂ is not returned:
    :func:`batch_norm_backward` recomputes it from x and the statistics."""
    if not _bn_ready(x) or any(
        p is not None and not (type(p) is np.ndarray and p.dtype == x.dtype) for p in (weight, bias)
    ):
        return None
    xv = _cnl(x)
    if xv is None:
        return None
    c = x.shape[1]
    w = np.ones(c, x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
    b = np.zeros(c, x.dtype) if bias is None else bias.astype(x.dtype, copy=False)
    y = np.empty_like(x)
    stats = np.empty((3, c))
    batchnorm.batch_norm_forward(xv, w.reshape(-1), b.reshape(-1), float(eps), _cnl(y), stats)
    mean, var, invstd = stats.astype(x.dtype)
    return y, mean, var, invstd


def batch_norm_backward(
    g: object, x: np.ndarray, mean: np.ndarray, invstd: np.ndarray, k: np.ndarray
) -> tuple | None:
    """``(dx, sum_g, sum_g_xhat)`` of training-mode batch norm given the output gradient g,
    the forward's input x, its per-channel ``mean`` and ``invstd`` and ``k = weight /
    sigma`` per channel, or None."""
    if not _bn_ready(g, x) or g.shape != x.shape:
        return None
    gv, xv = _cnl(g), _cnl(x)
    if gv is None or xv is None:
        return None
    dx = np.empty_like(g)
    sums = np.empty((2, g.shape[1]))
    f64 = np.float64
    batchnorm.batch_norm_backward(
        gv,
        xv,
        np.asarray(mean, f64).reshape(-1),
        np.asarray(invstd, f64).reshape(-1),
        np.asarray(k, f64).reshape(-1),
        _cnl(dx),
        sums,
    )
    return dx, sums[0].astype(g.dtype), sums[1].astype(g.dtype)


def channel_affine(x: object, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """``x * a + b`` per channel (dim 1) of an (N, C, *spatial) array laid out NCHW or
    CNHW, ``a`` and ``b`` (C,) of x's dtype; the result laid out as x; or None."""
    if not _bn_ready(x) or a.dtype != x.dtype or b.dtype != x.dtype:
        return None
    xv = _cnl(x)
    if xv is None:
        return None
    y = np.empty_like(x)
    batchnorm.channel_affine(xv, a, b, _cnl(y))
    return y


_ARITH = {np.add: arith.ADD, np.subtract: arith.SUB, np.multiply: arith.MUL}


def arithmetic(ufunc: object, a: object, b: object) -> np.ndarray | None:
    """``ufunc(a, b)`` for ``np.add``, ``np.subtract`` or ``np.multiply`` of two large
    same-shaped float arrays of one dtype and one dense layout, cut into blocks on the
    compiled pool (:mod:`.arith`); None where that does not apply."""
    op = _ARITH.get(ufunc)
    if (
        op is None
        or type(a) is not np.ndarray
        or type(b) is not np.ndarray
        or a.size < jit.POOL_MIN_ELEMENTS
        or a.shape != b.shape
        or a.dtype != b.dtype
    ):
        return None
    threads = pool_gemm.pool_active()
    if not threads:
        return None
    out = np.empty_like(a)
    flat = _flat_in_memory(a, b, out)
    if flat is None:
        return None
    arith.arith_blocks(*flat, op, threads)
    return out
