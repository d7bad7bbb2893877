"""chainrule: a readable, fast deep-learning framework on NumPy.

``import chainrule as cr`` gives the PyTorch-shaped API: ``cr.tensor``, ``cr.nn``,
``cr.optim``, ``cr.utils.data``, plus ``cr.func`` transforms and tools for seeing inside
training (``cr.viz``, ``cr.explain``, ``cr.diagnostics``). Subpackages load on first use.
"""

from __future__ import annotations

import importlib
import math as _math
import os as _os
import sys as _sys
import warnings as _warnings
from typing import Any

if "numpy" not in _sys.modules:  # before NumPy loads OpenBLAS; see docs/architecture.md
    # OpenBLAS worker threads busy-wait ~2^28 cycles (~0.1 s) after every matmul, holding
    # the cores that chainrule's own intra-op threads (cr.set_num_threads) need for the
    # im2col gathers and elementwise passes between matmuls. A short spin measured 14%
    # faster on a ResNet-20 training step on 2 cores. An explicit setting is respected.
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import (
    _root_names,
    autograd,
    build_info,
    creation_more,
    dtypes,
    linalg,
    masked,
    ops,
    settings,
    sparse,
    symbolic,
)
from .amp.autocast_mode import autocast
from .amp.autocast_state import (
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
    set_autocast_gpu_dtype,
)
from .autograd import (
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd.grad_mode import is_inference
from .autograd.ieee import FP_WARNING as _FP_WARNING
from .autograd.tensor import Tensor
from .autograd.torch_function import dispatching as _dispatching
from .backend import Device, get_array_module
from .build_info import *  # noqa: F401,F403 - has_lapack, has_openmp, get_device_module, ...
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from .creation_more import *  # noqa: F401,F403 - logspace, window functions, ...
from .creation_random import (
    bernoulli,
    normal,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
)
from .determinism import (
    are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled,
    use_deterministic_algorithms,
)
from .dtype_objects import (
    bool_,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    public_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .errors import AcceleratorError, OutOfMemoryError
from .legacy import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    set_default_tensor_type,
)
from .nested import jagged  # cr.nested (torch.nested) and its layout, torch.jagged
from .ops import *  # noqa: F401,F403 - the functional op API (cr.exp, cr.matmul, ...)
from .ops import abs, all, any, max, min, pow, sum  # noqa: A004 - mirrors torch
from .ops.chunk_cat import chunk_cat as _chunk_cat  # torch._chunk_cat (FSDP2's flattening)
from .ops.fake_quantize import (
    _fake_quantize_learnable_per_channel_affine,
    _fake_quantize_learnable_per_tensor_affine,
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
)
from .ops.grouped_mm import grouped_mm as _grouped_mm  # torch._grouped_mm (MoE)
from .ops.memory_format import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from .ops.random_gamma import dirichlet_grad as _dirichlet_grad  # torch's private root forms
from .ops.random_gamma import sample_dirichlet as _sample_dirichlet
from .ops.random_gamma import standard_gamma as _standard_gamma
from .ops.random_gamma import standard_gamma_grad as _standard_gamma_grad
from .ops.raw_misc import weight_norm as _weight_norm  # torch._weight_norm
from .ops.scaled_mm import scaled_mm as _scaled_mm  # torch._scaled_mm (float8 training)
from .ops.sparse_compressed_tensors import (
    sparse_bsc_tensor,
    sparse_bsr_tensor,
    sparse_compressed_tensor,
    sparse_csc_tensor,
    sparse_csr_tensor,
)
from .ops.sparse_construction import sparse_coo_tensor
from .ops.sparse_convert import (
    ccol_indices_copy,
    col_indices_copy,
    crow_indices_copy,
    row_indices_copy,
)
from .ops.sparse_products import spmm
from .ops.sparse_smm import dsmm, hspmm, saddmm, smm, sspaddmm
from .ops.tensor_queries import sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr
from .overrides import install as _install_torch_function  # watches for Tensor subclasses
from .printing import set_printoptions
from .qtypes import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qint8,
    qint32,
    quint8,
)
from .quantized_creation import dequantize, quantize_per_channel, quantize_per_tensor
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .settings import *  # noqa: F401,F403 - default device, matmul precision, ...
from .storage import TypedStorage, UntypedStorage
from .symbolic import *  # noqa: F401,F403 - torch.sym_int, sym_max, ... on plain numbers
from .threads import get_num_threads, set_num_threads
from .typeinfo import finfo, iinfo

# NumPy reports floating-point exceptions (log(0), 1/0, 0 * inf, overflow) as RuntimeWarnings;
# PyTorch's ops return the IEEE result (-inf, inf, nan) silently. chainrule's ops compute with
# NumPy, so the warnings NumPy raises *inside chainrule's modules* are filtered out (only
# those: a user's own NumPy code still warns). A filter costs nothing until a warning fires;
# where a caller's "error" filter overrides it, the op computes again quietly
# (autograd/ieee.py says how). Anomaly mode (cr.autograd.detect_anomaly) is how to find where
# a NaN or inf appears.
_warnings.filterwarnings(
    "ignore",
    message=_FP_WARNING,
    category=RuntimeWarning,
    module=r"chainrule(\.|$)",
)

from .version import __version__  # noqa: E402 - one place: cr.version

bool = bool_  # noqa: A001 - cr.bool like torch.bool
float = float32  # noqa: A001
int = int32  # noqa: A001
device = Device

# torch's float constants (``-torch.inf`` masks, ``2 * torch.pi``) and ``torch.newaxis``
inf = _math.inf
nan = _math.nan
pi = _math.pi
e = _math.e
newaxis = None


def __getattr__(name: str) -> Any:
    """The names resolved on first use (listed in ``_root_names.py``): subpackages, the root
    forms of ``nn.functional`` functions, and a few whose import is slow."""
    if name in _root_names.LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _root_names.NN_ROOT:
        return getattr(importlib.import_module(".nn.functional", __name__), name)
    if name in _root_names.NN_ROOT_FORMS:
        return getattr(importlib.import_module(".nn.root_forms", __name__), name)
    if name in _root_names.NATIVE_ROOT:  # native_*, conv_tbc, batch_norm_stats, from_file
        return getattr(importlib.import_module(_root_names.NATIVE_ROOT[name], __name__), name)
    if name == "quantization":  # torch.quantization is torch.ao.quantization
        return importlib.import_module(".ao.quantization", __name__)
    if name == "compile":  # needs cr.nn, which loads on first use
        return importlib.import_module("._compile", __name__).compile
    if name in ("save", "load"):
        return getattr(importlib.import_module(".io", __name__), name)
    if name in ("cond", "while_loop"):  # torch's control-flow higher-order ops
        return getattr(importlib.import_module("._higher_order_ops", __name__), name)
    if name in ("fork", "wait", "Future"):  # torch.fork, torch.wait, torch.Future
        return getattr(importlib.import_module(".futures", __name__), name)
    if name in ("fx", "export"):  # torch.fx, torch.export: import cr.nn, loaded on first use
        return importlib.import_module(f".{name}", __name__)
    if name == "vmap":  # torch.vmap is torch.func.vmap
        return importlib.import_module(".func", __name__).vmap
    if name.startswith("_foreach_"):  # the multi-tensor ops: their module on first use
        foreach = importlib.import_module(".ops.foreach", __name__)
        if name in foreach.__all__:
            return getattr(foreach, name)
    if name == "has_openmp":  # asking imports Numba: on first use (see build_info.py)
        return build_info.has_openmp
    if name == "bfloat16":  # ml_dtypes is slow to import: on first use (see dtypes.py)
        return public_dtype(dtypes.bfloat16_dtype())
    if name.startswith("float8_"):  # the float8 dtypes: ml_dtypes' too (see float8.py)
        return public_dtype(getattr(dtypes, name))
    if name == "BFloat16Tensor":  # its dtype needs ml_dtypes: made on first use, then kept
        globals()[name] = importlib.import_module(".legacy", __name__)._legacy(name)
        return globals()[name]
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def _assert(condition: Any, message: str) -> None:
    """``torch._assert``: Python's ``assert`` as a call, which runs under ``python -O`` and
    which tracers keep (torchvision's and timm's models check input sizes with it). A
    tensor condition must hold one element, as ``bool(tensor)``."""
    if not condition:
        raise AssertionError(message)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


@_dispatching  # torch.numel takes part in __torch_function__: a trace records the function
def numel(input: Tensor) -> int:
    return input.numel()


# ``cr.linalg.matmul``/``matrix_exp`` are the root ops, taking NumPy's keyword names as torch's
# do (``x1=``): the linalg package is imported before ``ops`` wraps them, so it takes them here.
linalg.matmul = matmul  # noqa: F405
linalg.matrix_exp = matrix_exp  # noqa: F405

# What ``from chainrule import *`` gives, as ``torch.__all__`` does: the op API (ops.__all__,
# which includes the builtin-shadowing abs/all/any/max/min/pow/sum, as torch's), the
# constructors, dtypes, grad-mode switches and random-state functions bound above, and
# save/load/vmap (resolved lazily). Subpackages (cr.nn, cr.optim, ...) are not star-exported.
__all__ = sorted(
    {
        *ops.__all__,
        *creation_more.__all__,
        *settings.__all__,
        *symbolic.__all__,
        *build_info.__all__,
        *_root_names.STAR_NAMES,
    }
)
