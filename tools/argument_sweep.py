"""Argument-type sweep: common ops called with wrong argument types, under torch and chainrule.

Each call template of :data:`CALLS` (``"x.sum({})"``) is filled with each value of
:data:`VALUES` (a bool, a float, None, a string, a tuple, a NumPy integer, 0-d tensors) and
evaluated in both libraries, with ``x = arange(12.0).reshape(3, 4)``. Each call's outcome
is sorted into one of:

- ``same``: both succeed, or both raise the same exception type with the same first line;
- ``silent``: torch raises, chainrule returns something (the worst kind: a wrong call
  accepted silently);
- ``type``: both raise, but chainrule's exception is not an instance of torch's exception
  class (compared by class name over chainrule's MRO, so chainrule's ``ShapeError``, a
  ``ValueError`` and ``RuntimeError``, counts as torch's ``RuntimeError``; ``--exact-types``
  compares the class names themselves, as session 38's counts did);
- ``msg``: same exception type, different first line of the message;
- ``cr_err``: torch accepts the call, chainrule raises.

Run it from the repository root (torch must be installed; it is imported only here and in the
tests that use this module)::

    python tools/argument_sweep.py                 # every call: differences, then the counts
    python tools/argument_sweep.py --only norm     # the templates containing "norm"
    python tools/argument_sweep.py --kinds type,silent --exact-types

It prints each call that differs (its kind, the call, torch's and chainrule's outcome) and
the counts per kind last (on stderr too, so ``> diffs.txt`` keeps them visible). Session 38
started it at 1416 calls over 177 ops (silent 67 -> 0); the counts of each later pass are in
its session's report. Session 43 appended 58 templates of 13 more families (sparse, nested,
masked, fft, linalg, nn.init, nn.utils, data, distributions, optimizers, modules, random):
1880 calls, the first 1416 unchanged (``tests/test_argument_sweep.py`` runs a small slice of
them against torch; ``tests/test_argument_types_session43.py`` the new families). Session 44
left those 1880 at silent 0 / type 0 / cr_err 0 / msg 30 (torch's Python-level crashes and
internal asserts, where chainrule names the op instead) and added :data:`CALLS_SESSION44`,
56 templates of 10 more families run after them by the command line (2328 calls; the
remaining differences of the new ones are listed in
``tests/test_argument_types_session44.py``). Session 45 brought those 448 to silent 0 / type 0
/ cr_err 0 / msg 36 (torch's Python-level crashes: ``'<' not supported`` in optimizers' and
the DataLoader's checks, vmap's chunk_size; class names printed as ``torch.Tensor``; the
"invalid combination" of a random op's ``generator``) and appended :data:`CALLS_SESSION45`,
74 templates of 8 more families (2920 calls; their 592: silent 0 / type 7 / cr_err 0 /
msg 45, the 7 left listed in ``tests/test_argument_types_session45.py``).
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch

import chainrule

__all__ = [
    "CALLS",
    "CALLS_SESSION44",
    "CALLS_SESSION45",
    "KINDS",
    "VALUES",
    "Difference",
    "all_calls",
    "classify",
    "compare",
    "main",
    "outcome",
    "sweep",
]

#: The wrong values tried in each call template's ``{}``; ``L`` is the library.
VALUES = ["True", "1.5", "None", "'a'", "(1.0, 2.0)", "np.int64(1)", "L.tensor(1)", "L.tensor(1.5)"]

#: The call templates, by family; ``x`` is ``L.arange(12.0).reshape(3, 4)``.
CALLS = [
    # reductions
    *("x.sum({})", "x.mean({})", "x.prod({})", "x.amax({})", "x.amin({})", "x.argmax({})"),
    *("x.argmin({})", "x.max({})", "x.min({})", "x.var({})", "x.std({})", "x.logsumexp({})"),
    *("x.nansum({})", "x.cumsum({})", "x.cumprod({})", "x.softmax({})", "x.log_softmax({})"),
    *("x.norm({})", "x.all({})", "x.any({})", "x.count_nonzero({})", "x.median({})"),
    *("x.sum(0, {})", "x.mean(0, {})", "x.amax(0, {})", "x.argmax(0, {})", "x.max(0, {})"),
    *("x.cumsum(0, dtype={})", "x.sum(dtype={})", "x.logsumexp(0, {})", "x.std(0, {})"),
    *("x.topk({})", "x.topk(2, {})", "x.sort({})", "x.argsort({})", "x.kthvalue({})"),
    "x.mode({})",
    # shape ops
    *("x.reshape({})", "x.reshape(2, {})", "x.view({})", "x.view(2, {})", "x.permute({})"),
    *("x.permute(0, {})", "x.transpose(0, {})", "x.transpose({}, 0)", "x.unsqueeze({})"),
    *("x.squeeze({})", "x.flatten({})", "x.flatten(0, {})", "x.expand({})", "x.expand(3, {})"),
    *("x.repeat({})", "x.repeat(1, {})", "x.flip({})", "x.roll({})", "x.roll(1, {})"),
    *("x.chunk({})", "x.chunk(2, {})", "x.split({})", "x.split(2, {})", "x.narrow(0, 0, {})"),
    *("x.narrow({}, 0, 1)", "x.movedim({}, 0)", "x.unfold(0, 2, {})", "x.tile({})"),
    *("x.diagonal({})", "x.tril({})", "x.triu({})", "x.t().contiguous().view(-1, {})"),
    *("x.unbind({})", "x.select(0, {})", "x.select({}, 0)", "x.index_select(0, {})"),
    *("x.gather(0, {})", "x.take({})", "x.masked_fill(x > 1, {})", "x.clamp({})"),
    *("x.clamp(0, {})", "x.pow({})", "x.add(x, alpha={})", "x.lerp(x, {})"),
    *("x.fill_diagonal_({})", "x.clone().fill_({})", "x.clone().zero_({})", "x.to({})"),
    *("x.type({})", "x.new_zeros({})", "x.new_full((2,), {})", "x.new_ones(2, {})"),
    *("x.round(decimals={})", "x.diff({})", "x.renorm(2, 0, {})", "x.repeat_interleave({})"),
    *("x.tensor_split({})", "x.clamp(min={})"),
    # creation
    *("L.zeros({})", "L.zeros(2, {})", "L.ones({})", "L.empty({})", "L.full((2,), {})"),
    *("L.full({}, 1.0)", "L.arange({})", "L.arange(0, {})", "L.arange(0, 5, {})"),
    *("L.linspace(0, 1, {})", "L.logspace(0, 1, {})", "L.eye({})", "L.eye(2, {})"),
    *("L.rand({})", "L.randn(2, {})", "L.randint(0, 5, {})", "L.randint({}, (2,))"),
    *("L.randperm({})", "L.tensor([1, 2], dtype={})", "L.zeros(2, dtype={})"),
    *("L.zeros(2, requires_grad={})", "L.tril_indices(3, {})", "L.full_like(x, {})"),
    "L.zeros_like(x, dtype={})",
    # joins and others
    *("L.cat([x, x], {})", "L.stack([x, x], {})", "L.cat({})", "L.where(x > 1, x, {})"),
    *("L.einsum({}, x)", "L.matmul(x, {})", "L.mm(x, {})", "L.clamp(x, {})", "L.diag(x, {})"),
    *("L.outer(x[0], {})", "L.meshgrid(x[0], indexing={})", "L.bucketize(x, {})"),
    *("L.searchsorted(x[0], x, right={})", "L.histc(x, bins={})", "L.cdist(x, x, p={})"),
    *("L.tensordot(x, x.t(), dims={})", "L.cross(x, x, dim={})"),
    # nn.functional
    *("F.relu(x, inplace={})", "F.leaky_relu(x, {})", "F.elu(x, {})", "F.softmax(x, {})"),
    *("F.log_softmax(x, dim={})", "F.dropout(x, {})", "F.dropout(x, 0.5, {})"),
    *("F.gelu(x, approximate={})", "F.hardtanh(x, {})", "F.softplus(x, {})"),
    *("F.normalize(x, {})", "F.normalize(x, 2, {})", "F.pad(x, {})"),
    *("F.pad(x, (1, 1), value={})", "F.linear(x, {})", "F.layer_norm(x, {})"),
    *("F.layer_norm(x, (4,), eps={})", "F.embedding({}, x)", "F.one_hot(x.long(), {})"),
    *("F.cross_entropy(x, {})", "F.mse_loss(x, x, reduction={})", "F.avg_pool1d(x[None], {})"),
    *("F.max_pool1d(x[None], {})", "F.max_pool1d(x[None], 2, {})"),
    *("F.adaptive_avg_pool1d(x[None], {})", "F.interpolate(x[None], size={})"),
    *("F.interpolate(x[None], scale_factor={})", "F.conv1d(x[None], x[:, None, :2], stride={})"),
    *("F.conv1d(x[None], x[:, None, :2], padding={})", "F.unfold(x[None, None], {})"),
    *("F.glu(x, {})", "F.cosine_similarity(x, x, {})", "F.pairwise_distance(x, x, {})"),
    *("F.threshold(x, {}, 0.0)", "F.celu(x, {})", "F.prelu(x, {})"),
    *("F.batch_norm(x, None, None, training={})", "F.group_norm(x[None], {})"),
    *("F.pixel_shuffle(x[None, None], {})", "F.softmin(x, {})", "F.logsigmoid({})"),
    # session 43's families (after the first 1416 calls, whose order the tests slice)
    # sparse constructors and conversions
    *("L.sparse_coo_tensor(L.tensor([[0, 1]]), L.ones(2), {})", "x.to_sparse({})"),
    *("x.to_sparse_csr({})", "L.sparse_csr_tensor(L.tensor([0, 1, 2]), L.tensor([0, 1]), {})"),
    # nested tensors
    *("L.nested.nested_tensor([x, x[:2]], dtype={})", "L.nested.nested_tensor({})"),
    "L.nested.as_nested_tensor([x, x[:2]], layout={})",
    # masked
    *("L.masked.sum(x, {})", "L.masked.softmax(x, {})", "L.masked.mean(x, 0, mask={})"),
    # fft: norm, dim, n, s
    *(
        "L.fft.fft(x, norm={})",
        "L.fft.fft(x, dim={})",
        "L.fft.rfft(x, n={})",
        "L.fft.fftn(x, s={})",
    ),
    # linalg
    *("L.linalg.norm(x, {})", "L.linalg.matrix_norm(x, ord={})", "L.linalg.inv({})"),
    *("L.linalg.solve(x[:, :3], {})", "L.linalg.vector_norm(x, {})", "L.linalg.det({})"),
    *("L.linalg.matrix_power(x[:, :3], {})", "L.linalg.svd(x, full_matrices={})"),
    # nn.init
    *("L.nn.init.uniform_(x.clone(), {})", "L.nn.init.normal_(x.clone(), std={})"),
    *("L.nn.init.constant_(x.clone(), {})", "L.nn.init.kaiming_uniform_(x.clone(), a={})"),
    *("L.nn.init.kaiming_normal_(x.clone(), mode={})", "L.nn.init.xavier_uniform_(x.clone(), {})"),
    *("L.nn.init.orthogonal_(x.clone(), {})", "L.nn.init.calculate_gain({})"),
    # nn.utils: gradient clipping, rnn packing
    *("L.nn.utils.clip_grad_norm_([x], {})", "L.nn.utils.clip_grad_norm_([x], 1.0, {})"),
    *("L.nn.utils.clip_grad_value_([x], {})", "L.nn.utils.rnn.pad_sequence([x, x[:2]], {})"),
    "L.nn.utils.rnn.pad_sequence([x, x], padding_value={})",
    *(
        "L.nn.utils.rnn.pack_padded_sequence(x[:, :, None], {})",
        "L.nn.utils.parameters_to_vector({})",
    ),
    # data
    *(
        "list(L.utils.data.DataLoader(x, batch_size={}))",
        "list(L.utils.data.DataLoader(x, shuffle={}))",
    ),
    *("list(L.utils.data.DataLoader(x, drop_last={}))", "L.utils.data.TensorDataset(x, {})"),
    "L.utils.data.random_split(x, {})",
    # distributions, validated
    *(
        "L.distributions.Normal(0.0, {}, validate_args=True)",
        "L.distributions.Bernoulli({}, validate_args=True)",
    ),
    *(
        "L.distributions.Normal({}, 1.0, validate_args=True)",
        "L.distributions.Uniform(0.0, {}, validate_args=True)",
    ),
    *(
        "L.distributions.Categorical({}, validate_args=True)",
        "L.distributions.Exponential({}, validate_args=True)",
    ),
    # optimizers, modules, random
    *(
        "L.optim.SGD([x], lr={})",
        "L.optim.Adam([x], betas={})",
        "L.optim.AdamW([x], weight_decay={})",
    ),
    *("L.nn.Linear(2, {})", "L.nn.Conv2d(1, 1, {})", "L.nn.Dropout({})", "L.nn.LayerNorm({})"),
    *("L.multinomial(x.abs() + 1, {})", "L.normal(0.0, {}, (2,))", "L.bernoulli(x.sigmoid(), {})"),
]

#: Session 44's families, after :data:`CALLS` (whose order ``tests/test_argument_sweep.py``
#: slices): optimizers' options, lr schedulers, module constructors (convolutions, recurrent
#: layers, transformers, embeddings, norms), data loaders and samplers, ``func`` transforms,
#: ``autograd.grad``'s arguments, quantization observers and quantize calls, losses' options,
#: weight/spectral norm and generators. ``tests/test_argument_types_session44.py`` runs them.
CALLS_SESSION44 = [
    # optimizers' options
    *("L.optim.SGD([x], lr=0.1, momentum={})", "L.optim.SGD([x], lr=0.1, nesterov={})"),
    *("L.optim.RMSprop([x], alpha={})", "L.optim.Adagrad([x], lr_decay={})"),
    *("L.optim.Adam([x], eps={})", "L.optim.Adam([x], amsgrad={})"),
    # lr schedulers
    "L.optim.lr_scheduler.StepLR(L.optim.SGD([x], lr=0.1), {})",
    "L.optim.lr_scheduler.ExponentialLR(L.optim.SGD([x], lr=0.1), gamma={})",
    "L.optim.lr_scheduler.MultiStepLR(L.optim.SGD([x], lr=0.1), milestones={})",
    "L.optim.lr_scheduler.CosineAnnealingLR(L.optim.SGD([x], lr=0.1), T_max={})",
    "L.optim.lr_scheduler.LambdaLR(L.optim.SGD([x], lr=0.1), {})",
    # module constructors: bad sizes and options
    *("L.nn.Conv1d(2, 2, 3, stride={})", "L.nn.Conv2d({}, 2, 3)", "L.nn.Conv1d(2, 2, {})"),
    *("L.nn.RNN(2, {})", "L.nn.LSTM(2, 3, num_layers={})", "L.nn.GRU({}, 3)"),
    *("L.nn.TransformerEncoderLayer(4, {})", "L.nn.TransformerEncoderLayer(4, 2, dropout={})"),
    *("L.nn.Embedding({}, 3)", "L.nn.Embedding(4, 3, padding_idx={})"),
    *("L.nn.BatchNorm1d({})", "L.nn.GroupNorm({}, 4)", "L.nn.MaxPool2d({})"),
    # data loaders and samplers
    "list(L.utils.data.DataLoader(x, num_workers={}))",
    "list(L.utils.data.RandomSampler(x, num_samples={}))",
    "list(L.utils.data.BatchSampler(range(4), {}, False))",
    "list(L.utils.data.BatchSampler(range(4), 2, {}))",
    "list(L.utils.data.WeightedRandomSampler([0.5, 0.5], {}))",
    "list(L.utils.data.SequentialSampler({}))",
    # func transforms
    *("L.func.vmap(L.sin, in_dims={})(x)", "L.func.vmap(L.sin, out_dims={})(x)"),
    *("L.func.grad(lambda t: t.sum(), argnums={})(x)", "L.func.vmap(L.sin, chunk_size={})(x)"),
    "L.func.jacrev(L.sin, argnums={})(x[0])",
    # autograd.grad's arguments
    "L.autograd.grad((x.requires_grad_() * 2).sum(), {})",
    "L.autograd.grad((x.requires_grad_() * 2).sum(), x, grad_outputs={})",
    "L.autograd.grad((x.requires_grad_() * 2).sum(), x, allow_unused={})",
    "L.autograd.grad((x.requires_grad_() * 2).sum(), x, retain_graph={})",
    "L.autograd.grad({}, x.requires_grad_())",
    # quantization observers, quantize calls
    *("L.ao.quantization.MinMaxObserver(dtype={})", "L.ao.quantization.HistogramObserver(bins={})"),
    "L.ao.quantization.MinMaxObserver(qscheme={})",
    *("L.quantize_per_tensor(x, {}, 0, L.quint8)", "L.quantize_per_tensor(x, 0.1, {}, L.quint8)"),
    "L.quantize_per_tensor(x, 0.1, 0, {})",
    # losses' options
    "L.nn.CrossEntropyLoss(label_smoothing={})(x, L.tensor([0, 1, 2]))",
    "F.nll_loss(x, L.tensor([0, 1, 2]), ignore_index={})",
    *("F.huber_loss(x, x, delta={})", "F.smooth_l1_loss(x, x, beta={})"),
    *("F.kl_div(x, x, log_target={})", "F.margin_ranking_loss(x, x, x, margin={})"),
    # weight and spectral norm, generators
    "L.nn.utils.weight_norm(L.nn.Linear(2, 2), dim={})",
    "L.nn.utils.spectral_norm(L.nn.Linear(2, 2), n_power_iterations={})",
    *("L.Generator().manual_seed({})", "L.randint(0, 5, (2,), generator={})"),
]

#: Session 45's families, after :data:`CALLS_SESSION44`: nn.functional losses (reductions,
#: targets, shapes, dtypes), ``nn.utils.rnn`` helpers, ``nn.init`` functions, distributions
#: with invalid parameters (``validate_args=True``), linalg with wrong shapes and dtypes, fft's
#: norm/dim arguments, ``Tensor.to``/``type``/``view(dtype)``, ``save``/``load`` (``io`` and
#: ``saved(L)``, a buffer holding a saved tensor, are in the calls' namespace) and the
#: DataLoader's collate/worker arguments. ``tests/test_argument_types_session45.py`` runs them.
CALLS_SESSION45 = [
    # nn.functional losses: reductions, targets, shapes, dtypes
    *("F.l1_loss(x, x, reduction={})", "F.l1_loss(x, {})", "F.mse_loss(x, x, {})"),
    *("F.nll_loss(x.log_softmax(1), {})", "F.nll_loss(x, L.tensor([0, 1, 2]), reduction={})"),
    *(
        "F.cross_entropy(x, L.tensor([0, 1, 2]), weight={})",
        "F.binary_cross_entropy(x.sigmoid(), {})",
    ),
    *("F.binary_cross_entropy(x.sigmoid(), x.sigmoid(), reduction={})", "F.smooth_l1_loss(x, {})"),
    *("F.kl_div(x, x, reduction={})", "F.poisson_nll_loss(x, x, log_input={})"),
    *("F.cosine_embedding_loss(x, x, {})", "F.triplet_margin_loss(x, x, x, p={})"),
    *("F.hinge_embedding_loss(x, x, margin={})", "F.soft_margin_loss(x, {})"),
    *("F.multi_margin_loss(x, L.tensor([0, 1, 2]), p={})", "F.gaussian_nll_loss(x, x, {})"),
    # nn.utils.rnn helpers
    "L.nn.utils.rnn.pad_sequence([x, x[:2]], batch_first=True, padding_side={})",
    "L.nn.utils.rnn.pad_sequence([x, x[:2]], batch_first={})",
    "L.nn.utils.rnn.pack_sequence({})",
    "L.nn.utils.rnn.pack_sequence([x, x[:2]], enforce_sorted={})",
    "L.nn.utils.rnn.pad_packed_sequence(L.nn.utils.rnn.pack_sequence([x, x[:2]]), total_length={})",
    "L.nn.utils.rnn.pad_packed_sequence(L.nn.utils.rnn.pack_sequence([x]), padding_value={})",
    "L.nn.utils.rnn.unpad_sequence(x[:, :, None], {})",
    "L.nn.utils.rnn.pack_padded_sequence(x[:, :, None], [3, 2, 1], batch_first={})",
    # nn.init functions
    *("L.nn.init.trunc_normal_(x.clone(), a={})", "L.nn.init.xavier_normal_(x.clone(), gain={})"),
    *("L.nn.init.sparse_(x.clone(), {})", "L.nn.init.eye_({})", "L.nn.init.dirac_({})"),
    *("L.nn.init.kaiming_normal_(x.clone(), nonlinearity={})", "L.nn.init.zeros_({})"),
    # distributions with invalid parameters
    "L.distributions.Gamma({}, 1.0, validate_args=True)",
    "L.distributions.Beta(1.0, {}, validate_args=True)",
    "L.distributions.Poisson({}, validate_args=True)",
    "L.distributions.Binomial({}, L.tensor(0.5), validate_args=True)",
    "L.distributions.MultivariateNormal(L.zeros(2), {}, validate_args=True)",
    "L.distributions.Dirichlet({}, validate_args=True)",
    "L.distributions.Laplace(0.0, {}, validate_args=True)",
    "L.distributions.Normal(0.0, 1.0, validate_args=True).log_prob({})",
    # linalg: wrong shapes and dtypes
    *("L.linalg.cholesky({})", "L.linalg.eigh(x[:, :3], UPLO={})", "L.linalg.qr(x, mode={})"),
    *("L.linalg.lstsq(x, {})", "L.linalg.pinv(x, rcond={})", "L.linalg.cross(x[:, :3], {})"),
    *("L.linalg.matrix_rank(x, hermitian={})", "L.linalg.solve({}, x[:, :1])"),
    # fft: norm and dim arguments
    *("L.fft.ifft(x, norm={})", "L.fft.rfft2(x, dim={})", "L.fft.irfftn(x, s={})"),
    *("L.fft.fftshift(x, dim={})", "L.fft.hfft(x, {})", "L.fft.fft2(x, norm={})"),
    # Tensor.to / type / view(dtype)
    *("x.to(L.float64, {})", "x.to(dtype={})", "x.to(x, {})", "x.type(dtype={})"),
    *("x.view(dtype={})", "x.to(device={})", "x.to('cpu', {})"),
    # save / load
    *("L.save(x, io.BytesIO(), pickle_protocol={})", "L.save(x, {})"),
    *("L.load({})", "L.load(saved(L), map_location={})", "L.load(saved(L), weights_only={})"),
    # DataLoader collate / worker arguments
    "list(L.utils.data.DataLoader(x, collate_fn={}))",
    "list(L.utils.data.DataLoader(x, worker_init_fn={}))",
    "list(L.utils.data.DataLoader(x, prefetch_factor={}))",
    "list(L.utils.data.DataLoader(x, persistent_workers={}))",
    "list(L.utils.data.DataLoader(x, timeout={}))",
    "list(L.utils.data.DataLoader(x, sampler={}))",
    "list(L.utils.data.DataLoader(x, batch_sampler={}))",
    "list(L.utils.data.DataLoader(x, pin_memory={}))",
]

#: The kinds of outcome, in the order the counts are printed.
KINDS = ("silent", "type", "msg", "cr_err", "same")


class Outcome(NamedTuple):
    """What one call did: ``kind`` "ok" or the exception's class name, ``bases`` the class
    names of the exception's MRO (empty for "ok"), ``text`` the message's first line."""

    kind: str
    bases: tuple[str, ...]
    text: str


class Difference(NamedTuple):
    """One call's comparison: its kind (:data:`KINDS`), the call and both outcomes."""

    kind: str
    src: str
    torch: Outcome
    chainrule: Outcome


def all_calls(calls: Iterable[str] = CALLS, values: Iterable[str] = VALUES) -> list[str]:
    """Every template filled with every value, template-major (the sweep's order)."""
    values = list(values)
    return [template.format(v) for template in calls for v in values]


def _saved(lib: Any) -> io.BytesIO:
    """A buffer holding ``lib.arange(3.0)`` saved by ``lib.save``, rewound to its start."""
    buf = io.BytesIO()
    lib.save(lib.arange(3.0), buf)
    buf.seek(0)
    return buf


def outcome(lib: Any, src: str) -> Outcome:
    """``src`` evaluated with ``L`` the library ``lib``, ``x`` a 3x4 float tensor, ``F`` its
    ``nn.functional`` and ``np`` NumPy: "ok", or the exception it raised."""
    env = {"L": lib, "x": lib.arange(12.0).reshape(3, 4), "np": np, "F": lib.nn.functional}
    env.update(io=io, saved=_saved)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            eval(src, env)  # noqa: S307 - the sweep's own fixed templates
        except Exception as e:  # noqa: BLE001 - the exception is the outcome
            bases = tuple(c.__name__ for c in type(e).__mro__)
            return Outcome(type(e).__name__, bases, str(e).split("\n")[0][:200])
    return Outcome("ok", (), "")


def classify(expected: Outcome, got: Outcome, exact_types: bool = False) -> str:
    """The kind (:data:`KINDS`) of chainrule's outcome ``got`` against torch's ``expected``."""
    if expected.kind == "ok" or got.kind == "ok":
        return "same" if expected.kind == got.kind else "silent" if got.kind == "ok" else "cr_err"
    same_type = got.kind == expected.kind or (not exact_types and expected.kind in got.bases)
    if not same_type:
        return "type"
    return "same" if got.text == expected.text else "msg"


def compare(src: str, exact_types: bool = False) -> Difference:
    """One call run under torch and chainrule, classified."""
    expected, got = outcome(torch, src), outcome(chainrule, src)
    return Difference(classify(expected, got, exact_types), src, expected, got)


def sweep(srcs: Iterable[str], exact_types: bool = False) -> Iterator[Difference]:
    """:func:`compare` over ``srcs``, in order."""
    for src in srcs:
        yield compare(src, exact_types)


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="only the templates containing this text")
    parser.add_argument("--kinds", default="silent,type,msg,cr_err", help="kinds printed")
    parser.add_argument(
        "--exact-types", action="store_true", help="a subclass of torch's exception differs"
    )
    args = parser.parse_args(argv)
    shown = set(args.kinds.split(","))
    calls = [
        c for c in CALLS + CALLS_SESSION44 + CALLS_SESSION45 if args.only is None or args.only in c
    ]
    counts: Counter[str] = Counter()
    for d in sweep(all_calls(calls), args.exact_types):
        counts[d.kind] += 1
        if d.kind in shown and d.kind != "same":
            print(f"{d.kind:6s} {d.src}")
            print(f"    T: {d.torch.kind}: {d.torch.text}")
            print(f"    C: {d.chainrule.kind}: {d.chainrule.text}")
    summary = ", ".join(f"{k} {counts[k]}" for k in KINDS)
    print(f"{sum(counts.values())} calls over {len(calls)} templates: {summary}")
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
