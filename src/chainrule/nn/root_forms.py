"""The top-level forms of nn functions whose torch root signature differs from ``F``'s.

``torch.dropout(input, p, train)`` is not ``F.dropout(input, p, training, inplace)``; these
wrappers give chainrule's root the torch root forms (ATen's signatures: losses take an int
``reduction``, 0 none / 1 mean / 2 sum; embedding takes ``weight`` first; batch/instance norm
take every argument positionally; adaptive_max_pool1d and max_pool1d_with_indices return
``(values, indices)``), resolved lazily by ``chainrule.__getattr__``. Each is built on
``cr.nn.functional``. The losses, the pooling forms and embedding_bag are in
``_root_forms_losses.py`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._util import constant
from ..ops.inplace import single_node_result
from ..random import Generator
from . import functional as F
from ._root_forms_losses import *  # noqa: F403
from ._root_forms_losses import __all__ as _LOSSES_AND_POOLING
from ._root_forms_losses import _tensor  # PyTorch's "must be Tensor" check
from .functional.dropout import _keep_mask, _masked

__all__ = [
    "alpha_dropout",
    "alpha_dropout_",
    "batch_norm",
    "constant_pad_nd",
    "dropout",
    "dropout_",
    "embedding",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "instance_norm",
    "native_layer_norm",
    "rrelu",
    "rrelu_",
    *_LOSSES_AND_POOLING,
]


# -------------------------------------------------------------------------------- dropout
def _dropout(
    op: str,
    input: Any,  # noqa: A002 - PyTorch's name
    p: float,
    train: bool,
    feature: bool,
    alpha: bool,
    inplace: bool,
) -> Tensor:
    """ATen's ``_dropout_impl``: the identity when ``p == 0``, ``not train`` or the input is
    empty; zeros when ``p == 1`` (one ``mul``); else the input times a keep mask (one draw
    per element, or per (N, C) channel for the feature forms) scaled by 1/(1-p), or for the
    alpha forms the affine correction ``a * (x * keep + alpha' (1 - keep)) + b`` that keeps
    SELU's mean and variance (a ``mul`` then an ``add_``). The masks are ``F.dropout``'s
    Bernoulli draws from chainrule's default generator, so a seed drops what PyTorch's does
    under the same seed; in place each write is one node, as PyTorch's (no clone)."""
    x = _tensor(op, "input", input)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if p == 0.0 or not train or x.numel() == 0:
        return x
    if p == 1.0:
        return single_node_result(x, inplace, op.rstrip("_"), lambda t: t * 0.0)
    if not feature and not alpha:
        return F.dropout(x, p, True, inplace)
    if not feature:
        return F.alpha_dropout(x, p, True, inplace)
    if x.ndim < 2:  # checked only here, where the noise is made, as ATen's make_feature_noise
        raise RuntimeError(
            f"{op}: Feature dropout requires at least 2 dimensions in the input "
            f"(got shape {tuple(x.shape)})"
        )
    if alpha:
        return F.feature_alpha_dropout(x, p, True, inplace)
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    keep = _keep_mask(shape, x, p, None)
    return single_node_result(x, inplace, op.rstrip("_"), lambda t: _masked(t, keep, p))


def dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.dropout``: ``F.dropout(input, p, train)``; p outside [0, 1] raises
    RuntimeError, as ATen does."""
    return _dropout("dropout", input, p, train, False, False, False)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.dropout_``: :func:`dropout` written into ``input`` (returned)."""
    return _dropout("dropout_", input, p, train, False, False, True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.alpha_dropout``: ``F.alpha_dropout(input, p, train)``."""
    return _dropout("alpha_dropout", input, p, train, False, True, False)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.alpha_dropout_``: :func:`alpha_dropout` in place."""
    return _dropout("alpha_dropout_", input, p, train, False, True, True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.feature_dropout``: whole (N, C) channels of an input of rank >= 2 zeroed
    (``F.dropout2d`` for any rank), the rest scaled by 1/(1-p)."""
    return _dropout("feature_dropout", input, p, train, True, False, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.feature_dropout_``: :func:`feature_dropout` in place."""
    return _dropout("feature_dropout_", input, p, train, True, False, True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.feature_alpha_dropout``: alpha dropout with one draw per (N, C) channel."""
    return _dropout("feature_alpha_dropout", input, p, train, True, True, False)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """``torch.feature_alpha_dropout_``: :func:`feature_alpha_dropout` in place."""
    return _dropout("feature_alpha_dropout_", input, p, train, True, True, True)


# ---------------------------------------------------------------------------------- rrelu
def _rrelu(
    op: str,
    input: Any,  # noqa: A002 - PyTorch's name
    lower: float,
    upper: float,
    training: bool,
    generator: Generator | None,
    inplace: bool,
) -> Tensor:
    """``F.rrelu``, or with a ``generator`` in training the same computation (one slope per
    element, uniform in [lower, upper), the gradient the drawn slope) drawn from it, since
    ``F.rrelu`` takes no generator."""
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"{op}(): argument 'generator' must be chainrule.Generator, "
            f"not {type(generator).__name__}"
        )
    if generator is None or not training:  # no draw: the generator is not used (as torch)
        return F.rrelu(_tensor(op, "input", input), lower, upper, training, inplace)
    x = _tensor(op, "input", input)
    if lower > upper:
        raise RuntimeError(f"{op}: Lower bound should be less than or equal to the upper bound")
    from .functional.activation_piecewise import _rrelu_with_noise  # noqa: PLC0415

    return _rrelu_with_noise(x, lower, upper, training, inplace, generator)  # its draws


def rrelu(
    input: Tensor,  # noqa: A002 - PyTorch's name
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """``torch.rrelu``: ``F.rrelu`` with ATen's ``generator`` (honoured: the slopes are
    drawn from it in training)."""
    return _rrelu("rrelu", input, lower, upper, training, generator, False)


def rrelu_(
    input: Tensor,  # noqa: A002 - PyTorch's name
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """``torch.rrelu_``: :func:`rrelu` written into ``input``."""
    return _rrelu("rrelu_", input, lower, upper, training, generator, True)


# ------------------------------------------------------------------ embedding, normalisation
def embedding(
    weight: Tensor,
    indices: Tensor,
    padding_idx: int = -1,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """``torch.embedding``: ``F.embedding(indices, weight, ...)`` with ATen's order and its
    ``padding_idx``: a negative one (-1, the default) means none (``F`` resolves negatives
    before calling this form), and so does one >= ``num_embeddings``, which no valid index
    can name (both give the same result in PyTorch)."""
    w = _tensor("embedding", "weight", weight)
    pad = padding_idx if 0 <= padding_idx < w.shape[0] else None
    return F.embedding(indices, w, pad, None, 2.0, scale_grad_by_freq, sparse)


def batch_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """``torch.batch_norm``: ``F.batch_norm`` with ATen's argument order. ``cudnn_enabled``
    only lets PyTorch pick its cuDNN kernel (the result is the same either way); chainrule has
    one kernel, so the flag is checked to be a bool and has nothing to select."""
    _check_cudnn("batch_norm", cudnn_enabled)
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """``torch.instance_norm``: ``F.instance_norm`` with ATen's argument order
    (``cudnn_enabled`` as in :func:`batch_norm`)."""
    _check_cudnn("instance_norm", cudnn_enabled)
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def _check_cudnn(op: str, flag: Any) -> None:
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"{op}(): argument 'cudnn_enabled' must be bool, not {type(flag).__name__}")


def native_layer_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    normalized_shape: Sequence[int],
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.native_layer_norm``: ``(F.layer_norm(...), mean, rstd)``, with the mean and
    1 / sqrt(biased var + eps) over the normalised dims, kept as size-1 dims (what PyTorch's
    backward saves). As in PyTorch, mean and rstd carry no gradient."""
    x = _tensor("native_layer_norm", "input", input)
    shape = tuple(normalized_shape)
    out = F.layer_norm(x, shape, weight, bias, eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    d = x._data
    xp = get_array_module(d)
    mean = d.mean(axis=axes, keepdims=True)
    rstd = 1.0 / xp.sqrt(((d - mean) ** 2).mean(axis=axes, keepdims=True) + eps)
    return out, constant(mean.astype(d.dtype)), constant(rstd.astype(d.dtype))


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:  # noqa: A002
    """``torch.constant_pad_nd``: ``F.pad(input, pad, 'constant', value)`` (negative pads
    crop)."""
    return F.pad(_tensor("constant_pad_nd", "input", input), list(pad), "constant", value)
