"""NODE, Neural Oblivious Decision Ensembles for tabular data, as Qwicen/node writes it
(``lib/odst.py``, ``lib/arch.py``, ``lib/nn_utils.py``, ``lib/utils.py``, ``lib/trainer.py``),
size-reduced.

The idioms: ``ModuleWithInit`` (a ``torch.uint8`` ``_is_initialized_tensor`` parameter with
``requires_grad=False``, ``__call__`` overridden to run the data-aware ``initialize`` on the
first batch and then ``self._is_initialized_tensor.data[...] = 1``); ``ODST``'s parameters
(``nn.Parameter(torch.zeros([num_trees, tree_dim, 2 ** depth]), requires_grad=True)`` with
``nn.init.normal_``, selection logits with ``nn.init.uniform_``, thresholds and temperatures as
``torch.full([...], float('nan'), dtype=torch.float32)``), the binary codes (``indices.view(1,
-1) // offsets.view(-1, 1) % 2``, ``torch.stack([bin_codes, 1.0 - bin_codes], dim=-1)`` as a
frozen ``nn.Parameter``), ``forward`` (the recursive ``self.forward(input.view(-1,
input.shape[-1])).view(*input.shape[:-1], -1)``, ``torch.einsum('bi,ind->bnd', ...)``,
``torch.exp(-self.log_temperatures)``, ``torch.einsum('btds,dcs->btdc', ...)``,
``torch.prod(bin_matches, dim=-2)``, ``response.flatten(1, 2)``), ``initialize`` (``100 *
np.random.beta(...)``, ``list(map(np.percentile, check_numpy(feature_values.flatten(1,
2).t()), percentiles_q.flatten()))``, ``np.percentile(check_numpy(abs(feature_values -
self.feature_thresholds)), q=..., axis=0)`` -- the builtin ``abs`` of a tensor and NumPy
reading it --, ``self.log_temperatures.data[...] = torch.log(torch.as_tensor(temperatures) +
eps)``); ``nn_utils``' ``sparsemax`` / ``sparsemoid`` (``SparsemaxFunction(Function)`` with
``_threshold_and_support``: ``torch.sort(input, descending=True, dim=dim)``, ``cumsum``,
``_make_ix_like``, ``support_size = support.sum(dim=dim).unsqueeze(dim)``, ``gather``,
``torch.clamp(input - tau, min=0)``, ``ctx.save_for_backward``, the backward with
``grad_input[output == 0] = 0``; ``(0.5 * input + 0.5).clamp_(0, 1)``); ``DenseBlock``
(``nn.Sequential`` subclass, ``torch.cat([features, h], dim=-1)`` growth, ``layer_features =
layer_inp[..., :self.input_dim]`` / ``h[..., :self.tree_dim]``) with ``Lambda(lambda x:
x[..., 0].mean(dim=-1))`` head; ``QHAdam``-free training with ``torch.optim.Adam`` and
``F.mse_loss``; ``check_numpy`` (``x.detach().cpu().numpy()``).

Changed: 2048 trees of depth 6 -> 3 + 2 layers of 4 trees of depth 3, tree_dim 3 -> 2; 8
features; the data a seeded NumPy regression problem; the ``input.shape[0] < 1000`` warning
is not raised for the 24-row init batch (filtered as the repository's users do); NumPy's
``np.random.beta`` becomes a seeded generator; 4 steps.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the thresholds and temperatures are float32 parameters in the repository

IN, NUM_TREES, DEPTH, TREE_DIM = 8, 4, 3, 2
_BETA_RNG: list[np.random.Generator] = []


def check_numpy(x: Any) -> Any:
    """Makes sure x is a numpy array"""
    if not isinstance(x, np.ndarray):  # a torch.Tensor in the repository
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    assert isinstance(x, np.ndarray)
    return x


def _node(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    Function = torch_like.autograd.Function

    def _make_ix_like(input: Any, dim: int = 0) -> Any:
        d = input.size(dim)
        rho = torch.arange(1, d + 1, device=input.device, dtype=input.dtype)
        view = [1] * input.dim()
        view[0] = -1
        return rho.view(view).transpose(0, dim)

    class SparsemaxFunction(Function):
        """An implementation of sparsemax (Martins & Astudillo, 2016)."""

        @staticmethod
        def forward(ctx: Any, input: Any, dim: int = -1) -> Any:
            ctx.dim = dim
            max_val, _ = input.max(dim=dim, keepdim=True)
            input -= max_val  # same numerical stability trick as for softmax
            tau, supp_size = SparsemaxFunction._threshold_and_support(input, dim=dim)
            output = torch.clamp(input - tau, min=0)
            ctx.save_for_backward(supp_size, output)
            return output

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
            supp_size, output = ctx.saved_tensors
            dim = ctx.dim
            grad_input = grad_output.clone()
            grad_input[output == 0] = 0

            v_hat = grad_input.sum(dim=dim) / supp_size.to(output.dtype).squeeze()
            v_hat = v_hat.unsqueeze(dim)
            grad_input = torch.where(output != 0, grad_input - v_hat, grad_input)
            return grad_input, None

        @staticmethod
        def _threshold_and_support(input: Any, dim: int = -1) -> tuple[Any, Any]:
            input_srt, _ = torch.sort(input, descending=True, dim=dim)
            input_cumsum = input_srt.cumsum(dim) - 1
            rhos = _make_ix_like(input, dim)
            support = rhos * input_srt > input_cumsum

            support_size = support.sum(dim=dim).unsqueeze(dim)
            tau = input_cumsum.gather(dim, support_size - 1)
            tau /= support_size.to(input.dtype)
            return tau, support_size

    def sparsemax(input: Any, dim: int = -1) -> Any:
        return SparsemaxFunction.apply(input, dim)

    def sparsemoid(input: Any) -> Any:
        return (0.5 * input + 0.5).clamp_(0, 1)

    class ModuleWithInit(nn.Module):
        """Base class for pytorch module with data-aware initializer on first batch"""

        def __init__(self) -> None:
            super().__init__()
            self._is_initialized_tensor = nn.Parameter(
                torch.tensor(0, dtype=torch.uint8), requires_grad=False
            )
            self._is_initialized_bool = None
            # Note: this module uses a separate flag self._is_initialized so as to achieve both
            # * persistence: is_initialized is saved alongside model in state_dict
            # * speed: model doesn't need to cache
            # please DO NOT use these flags in child modules

        def initialize(self, *args: Any, **kwargs: Any) -> None:
            """initialize module tensors using first batch of data"""
            raise NotImplementedError("Please implement ")

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if self._is_initialized_bool is None:
                self._is_initialized_bool = bool(self._is_initialized_tensor.item())
            if not self._is_initialized_bool:
                self.initialize(*args, **kwargs)
                self._is_initialized_tensor.data[...] = 1
                self._is_initialized_bool = True
            return super().__call__(*args, **kwargs)

    class ODST(ModuleWithInit):
        def __init__(self, in_features: int, num_trees: int, depth: int = 6,
                     tree_dim: int = 1, flatten_output: bool = True,
                     choice_function: Any = sparsemax, bin_function: Any = sparsemoid,
                     initialize_response_: Any = nn.init.normal_,
                     initialize_selection_logits_: Any = nn.init.uniform_,
                     threshold_init_beta: float = 1.0,
                     threshold_init_cutoff: float = 1.0) -> None:  # fmt: skip
            super().__init__()
            self.depth, self.num_trees, self.tree_dim, self.flatten_output = (
                depth, num_trees, tree_dim, flatten_output)  # fmt: skip
            self.choice_function, self.bin_function = choice_function, bin_function
            self.threshold_init_beta, self.threshold_init_cutoff = (
                threshold_init_beta, threshold_init_cutoff)  # fmt: skip

            self.response = nn.Parameter(
                torch.zeros([num_trees, tree_dim, 2**depth]), requires_grad=True
            )
            initialize_response_(self.response)

            self.feature_selection_logits = nn.Parameter(
                torch.zeros([in_features, num_trees, depth]), requires_grad=True
            )
            initialize_selection_logits_(self.feature_selection_logits)

            self.feature_thresholds = nn.Parameter(
                torch.full([num_trees, depth], float("nan"), dtype=torch.float32),
                requires_grad=True,
            )  # nan values will be initialized on first batch (data-aware init)

            self.log_temperatures = nn.Parameter(
                torch.full([num_trees, depth], float("nan"), dtype=torch.float32),
                requires_grad=True,
            )

            # binary codes for mapping between 1-hot vectors and bin indices
            with torch.no_grad():
                indices = torch.arange(2**self.depth)
                offsets = 2 ** torch.arange(self.depth)
                bin_codes = (indices.view(1, -1) // offsets.view(-1, 1) % 2).to(torch.float32)
                bin_codes_1hot = torch.stack([bin_codes, 1.0 - bin_codes], dim=-1)
                self.bin_codes_1hot = nn.Parameter(bin_codes_1hot, requires_grad=False)
                # ^-- [depth, 2 ** depth, 2]

        def forward(self, input: Any) -> Any:
            assert len(input.shape) >= 2
            if len(input.shape) > 2:
                return self.forward(input.view(-1, input.shape[-1])).view(*input.shape[:-1], -1)
            # new input shape: [batch_size, in_features]

            feature_logits = self.feature_selection_logits
            feature_selectors = self.choice_function(feature_logits, dim=0)
            # ^--[in_features, num_trees, depth]

            feature_values = torch.einsum("bi,ind->bnd", input, feature_selectors)
            # ^--[batch_size, num_trees, depth]

            threshold_logits = (feature_values - self.feature_thresholds) * torch.exp(
                -self.log_temperatures
            )

            threshold_logits = torch.stack([-threshold_logits, threshold_logits], dim=-1)
            # ^--[batch_size, num_trees, depth, 2]

            bins = self.bin_function(threshold_logits)
            # ^--[batch_size, num_trees, depth, 2], approximately binary

            bin_matches = torch.einsum("btds,dcs->btdc", bins, self.bin_codes_1hot)
            # ^--[batch_size, num_trees, depth, 2 ** depth]

            response_weights = torch.prod(bin_matches, dim=-2)
            # ^-- [batch_size, num_trees, 2 ** depth]

            response = torch.einsum("bnd,ncd->bnc", response_weights, self.response)
            # ^-- [batch_size, num_trees, tree_dim]

            return response.flatten(1, 2) if self.flatten_output else response

        def initialize(self, input: Any, eps: float = 1e-6) -> None:
            # data-aware initializer
            assert len(input.shape) == 2
            if input.shape[0] < 1000:
                warnings.warn(
                    "Data-aware initialization is performed on less than 1000 data points. "
                    "This may cause instability. To avoid potential problems, run this model "
                    "on a data batch with at least 1000 data samples. You can do so manually "
                    "before training. Use with torch.no_grad() for memory efficiency.",
                    stacklevel=2,
                )
            with torch.no_grad():
                feature_selectors = self.choice_function(self.feature_selection_logits, dim=0)
                # ^--[in_features, num_trees, depth]

                feature_values = torch.einsum("bi,ind->bnd", input, feature_selectors)
                # ^--[batch_size, num_trees, depth]

                # initialize thresholds: sample random percentiles of data
                percentiles_q = 100 * _BETA_RNG[0].beta(
                    self.threshold_init_beta,
                    self.threshold_init_beta,
                    size=[self.num_trees, self.depth],
                )
                self.feature_thresholds.data[...] = torch.as_tensor(
                    list(
                        map(
                            np.percentile,
                            check_numpy(feature_values.flatten(1, 2).t()),
                            percentiles_q.flatten(),
                        )
                    ),
                    dtype=feature_values.dtype,
                    device=feature_values.device,
                ).view(self.num_trees, self.depth)

                # init temperatures: make sure enough data points are in the linear region of
                # sparse-sigmoid
                temperatures = np.percentile(
                    check_numpy(abs(feature_values - self.feature_thresholds)),
                    q=100 * min(1.0, self.threshold_init_cutoff),
                    axis=0,
                )

                # if threshold_init_cutoff > 1, scale everything down by it
                temperatures /= max(1.0, self.threshold_init_cutoff)
                self.log_temperatures.data[...] = torch.log(torch.as_tensor(temperatures) + eps)

        def __repr__(self) -> str:
            return (
                "{}(in_features={}, num_trees={}, depth={}, tree_dim={}, flatten_output={})".format(  # noqa: UP032
                    self.__class__.__name__,
                    self.feature_selection_logits.shape[0],
                    self.num_trees,
                    self.depth,
                    self.tree_dim,
                    self.flatten_output,
                )
            )

    class DenseBlock(nn.Sequential):
        def __init__(self, input_dim: int, layer_dim: int, num_layers: int,
                     tree_dim: int = 1, max_features: int | None = None,
                     input_dropout: float = 0.0, flatten_output: bool = True,
                     Module: type = ODST, **kwargs: Any) -> None:  # fmt: skip
            layers = []
            for _i in range(num_layers):
                oddt = Module(input_dim, layer_dim, tree_dim=tree_dim, flatten_output=True,
                              **kwargs)  # fmt: skip
                input_dim = min(input_dim + layer_dim * tree_dim, max_features or float("inf"))
                layers.append(oddt)

            super().__init__(*layers)
            self.num_layers, self.layer_dim, self.tree_dim = num_layers, layer_dim, tree_dim
            self.max_features, self.flatten_output = max_features, flatten_output
            self.input_dropout = input_dropout

        def forward(self, x: Any) -> Any:
            initial_features = x.shape[-1]
            for layer in self:
                layer_inp = x
                if self.max_features is not None:
                    tail_features = min(self.max_features, layer_inp.shape[-1]) - initial_features
                    if tail_features != 0:
                        layer_inp = torch.cat(
                            [layer_inp[..., :initial_features], layer_inp[..., -tail_features:]],
                            dim=-1,
                        )
                if self.training and self.input_dropout:
                    layer_inp = nn.functional.dropout(layer_inp, self.input_dropout)
                h = layer(layer_inp)
                x = torch.cat([x, h], dim=-1)

            outputs = x[..., initial_features:]
            if not self.flatten_output:
                outputs = outputs.view(
                    *outputs.shape[:-1], self.num_layers * self.layer_dim, self.tree_dim
                )
            return outputs

    class Lambda(nn.Module):
        def __init__(self, func: Any) -> None:
            super().__init__()
            self.func = func

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self.func(*args, **kwargs)

    def make() -> Any:
        return nn.Sequential(
            DenseBlock(
                IN,
                NUM_TREES,
                num_layers=2,
                tree_dim=TREE_DIM,
                depth=DEPTH,
                flatten_output=False,
                choice_function=sparsemax,
                bin_function=sparsemoid,
            ),  # fmt: skip
            Lambda(lambda x: x[..., 0].mean(dim=-1)),  # average first channels of every tree
        )

    return make


def make_model(torch_like: Any) -> Any:
    return _node(torch_like)()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    _BETA_RNG[:] = [np.random.default_rng(1337)]
    model = make_model(torch_like)
    init = {k: v for k, v in init.items() if "_is_initialized" not in k and "feature_t" not in k
            and "log_temp" not in k}  # fmt: skip
    missing = model.load_state_dict({k: torch.tensor(v) for k, v in init.items()}, strict=False)
    values: list[float] = [float(len(missing.missing_keys))]
    rng = np.random.default_rng(2)
    w = rng.normal(size=IN)
    data = rng.normal(size=(24, IN)).astype(np.float32)
    target = (np.tanh(data @ w) + 0.1 * data[:, 0] ** 2).astype(np.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Data-aware initialization", UserWarning)
        model(as_tensor(torch_like, data))  # data-aware init on the first batch
    for p in model.parameters():
        if p.dtype == torch.float32:
            values.append(p.sum().item())
    for step in range(4):
        idx = rng.permutation(24)[:8]
        x_batch, y_batch = as_tensor(torch_like, data[idx]), as_tensor(torch_like, target[idx])
        model.train()
        pred = model(x_batch)
        loss = F.mse_loss(pred, y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
        if step == 1:
            load_numpy_state(torch_like, model, {k: check_numpy(v) for k, v in
                                                 model.state_dict().items()})  # fmt: skip
    model.eval()
    with torch.no_grad():
        values.append(
            F.mse_loss(model(as_tensor(torch_like, data)), as_tensor(torch_like, target)).item()
        )
    return values
