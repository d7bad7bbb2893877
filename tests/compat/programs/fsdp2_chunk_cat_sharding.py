"""FSDP2's flat-parameter collectives (``fully_shard``), as PyTorch writes them in
``torch/distributed/fsdp/_fully_shard/_fsdp_param.py`` and ``_fsdp_collectives.py``, with
torchtitan's ``dist_utils.clip_grad_norm_``, run for two simulated ranks in one process.

The idioms kept: ``_chunk_with_empty`` (``torch.chunk`` then ``chunks[0].new_empty(0)``),
``_get_dim_chunked_size``, ``make_contiguous_strides_for``, the padded shard
``param.new_zeros(padded_sharded_size)`` with ``narrow(dim=0, start=0, length=...).copy_``, its
flat view ``padded_sharded_param.view(-1)`` as the all-gather input and an ``nn.Parameter`` of
its ``narrow`` (sharing storage, so the optimizer's in-place step updates what is gathered);
``all_gather_copy_in`` (``torch.empty``, ``narrow(0, numel * rank, numel)``, ``torch.split``,
``torch._foreach_copy_``); ``foreach_all_gather_copy_out`` (``all_gather_output.view(
world_size, -1)``, ``torch.split_with_sizes_copy(..., dim=1, out=[t.view(world_size, -1)])``),
the unsharded parameter ``torch.as_strided(all_gather_outputs[0], orig_size,
contiguous_orig_stride, storage_offset=0)`` set with ``unsafe_setattr_param``
(``module._parameters[name] = param``); ``foreach_reduce`` (``_get_dim0_padded_size`` with
``math.ceil``, ``torch.empty((reduce_scatter_input_numel,))``, ``foreach_reduce_scatter_copy_in``
= ``torch._chunk_cat(unsharded_grads, dim=0, num_chunks=world_size, out=reduce_scatter_input
.view(world_size, -1))``, ``_div_if_needed`` with ``div_``, each sharded gradient as
``torch.as_strided(reduce_output, size=sharded_size, stride=contiguous_sharded_stride,
storage_offset=flat_grad_offset)``, accumulated with ``+=`` when present); torchtitan's
``torch.nn.utils.get_total_norm(grads, norm_type, error_if_nonfinite, foreach)``, the all-reduce
of ``total_norm **= norm_type``, ``clip_grads_with_norm_(parameters, max_norm, total_norm,
foreach)``; ``torch.optim.AdamW(..., foreach=True)`` on the shards.

Changed: no process group (``dist.all_gather_into_tensor``/``reduce_scatter_tensor``/
``all_reduce`` are written as copies and sums over the simulated ranks, in rank order), no
streams or DTensor (the sharded parameter is a plain ``nn.Parameter``), a two-layer MLP, two
ranks, four steps; gradient accumulation over two micro-batches on the last step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

WORLD_SIZE, STEPS, BATCH = 2, 4, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 3))


def _chunk_with_empty(torch: Any, tensor: Any, num_chunks: int, dim: int) -> list:
    chunks = list(torch.chunk(tensor, num_chunks, dim=dim))
    while len(chunks) < num_chunks:
        chunks.append(chunks[0].new_empty(0))
    return chunks


def _get_dim_chunked_size(torch: Any, chunk: Any, unchunked_size: Any, dim: int) -> Any:
    if chunk.numel() > 0:
        return chunk.size()
    # For 0 numel, we need to preserve nonzero-sized dims for DTensor APIs
    return unchunked_size[:dim] + torch.Size([0]) + unchunked_size[dim + 1 :]


def make_contiguous_strides_for(shape: Any) -> tuple:
    if not shape:
        return ()
    multiplier = 1
    strides = []
    for l in reversed(shape):  # noqa: E741 (as in torch._prims_common)
        strides.append(multiplier)
        multiplier *= max(l, 1)
    return tuple(reversed(strides))


def _get_dim0_padded_size(torch: Any, tensor_size: Any, dim0_factor: int) -> Any:
    padded_dim0 = math.ceil(tensor_size[0] / dim0_factor) * dim0_factor
    return torch.Size([padded_dim0]) + tensor_size[1:]


def unsafe_setattr_param(nn: Any, module: Any, param_name: str, param: Any) -> None:
    if getattr(module.__setattr__, "__func__", None) is nn.Module.__setattr__:
        module._parameters[param_name] = param
    else:  # slow path
        setattr(module, param_name, param)


def _fsdp_param_cls(torch: Any) -> type:
    nn = torch.nn

    class FSDPParam:
        def __init__(self, module: Any, param_name: str, rank: int) -> None:
            self.module, self.param_name = module, param_name
            param = getattr(module, param_name)
            self._orig_size = param.size()
            self._contiguous_orig_stride = make_contiguous_strides_for(self._orig_size)
            shard_dim, shard_world_size = 0, WORLD_SIZE
            param_data = param.detach()
            chunks = _chunk_with_empty(torch, param_data, shard_world_size, dim=shard_dim)
            sharded_param = chunks[rank]
            self.sharded_size = _get_dim_chunked_size(
                torch, sharded_param, param_data.size(), dim=shard_dim
            )
            self.contiguous_sharded_stride = make_contiguous_strides_for(self.sharded_size)
            padded_sharded_size = chunks[0].size()  # 0th always padded
            self.padded_sharded_param_size = padded_sharded_size
            padded_sharded_param = param_data.new_zeros(padded_sharded_size)
            if sharded_param.numel() > 0:
                padded_sharded_param.narrow(
                    dim=shard_dim, start=0, length=sharded_param.size(shard_dim)
                ).copy_(sharded_param)
            self._sharded_param_data = padded_sharded_param.view(-1)
            length = sharded_param.size(shard_dim) if sharded_param.numel() > 0 else 0
            sharded_param = padded_sharded_param.narrow(dim=shard_dim, start=0, length=length)
            self.sharded_param = nn.Parameter(sharded_param)
            self.sharded_param.requires_grad_(param.requires_grad)

        @property
        def all_gather_inputs(self) -> list:
            return [self._sharded_param_data]

        def init_all_gather_outputs(self, numels: list, dtypes: list, world_size: int) -> None:
            self.all_gather_outputs = [
                torch.empty(torch.Size([numel * world_size]), dtype=dtype)
                for numel, dtype in zip(numels, dtypes)
            ]

        def init_unsharded_param(self) -> None:
            unsharded_tensor = self.all_gather_outputs[0]
            unsharded_param = torch.as_strided(
                unsharded_tensor,
                self._orig_size,
                self._contiguous_orig_stride,
                storage_offset=0,
            )
            self._unsharded_param = nn.Parameter(
                unsharded_param, requires_grad=self.sharded_param.requires_grad
            )
            unsafe_setattr_param(nn, self.module, self.param_name, self._unsharded_param)

        @property
        def unsharded_param(self) -> Any:
            return self._unsharded_param

    return FSDPParam


def all_gather_copy_in(torch: Any, all_gather_inputs: list, inp_split_sizes: list,
                       all_gather_input_numel: int, world_size: int, rank: int,
                       dtype: Any) -> tuple:  # fmt: skip
    all_gather_output = torch.empty((all_gather_input_numel * world_size,), dtype=dtype)
    all_gather_input = all_gather_output.narrow(
        0, all_gather_input_numel * rank, all_gather_input_numel
    )
    foreach_copy_dsts = torch.split(all_gather_input, inp_split_sizes)
    with torch.no_grad():
        torch._foreach_copy_(foreach_copy_dsts, all_gather_inputs)
    return all_gather_input, all_gather_output


def foreach_all_gather(torch: Any, ranks: list) -> None:
    """Every rank copies its shards in; the 'collective' fills each rank's output with all
    ranks' inputs (``all_gather_into_tensor``); each rank copies out its unsharded params."""
    gathered = []
    with torch.no_grad():
        for rank, fsdp_params in enumerate(ranks):
            all_gather_inputs = [t for p in fsdp_params for t in p.all_gather_inputs]
            inp_split_sizes = [t.numel() for t in all_gather_inputs]
            all_gather_input_numel = sum(inp_split_sizes)
            dtype = all_gather_inputs[0].dtype
            gathered.append(
                all_gather_copy_in(
                    torch,
                    all_gather_inputs,
                    inp_split_sizes,
                    all_gather_input_numel,
                    WORLD_SIZE,
                    rank,
                    dtype,
                )  # fmt: skip
                + (inp_split_sizes,)
            )
        for rank, (_, all_gather_output, _) in enumerate(gathered):  # the collective
            for src, (all_gather_input, _, _) in enumerate(gathered):
                if src != rank:
                    all_gather_output.narrow(
                        0, all_gather_input.numel() * src, all_gather_input.numel()
                    ).copy_(all_gather_input)
        for fsdp_params, (_, all_gather_output, split_sizes) in zip(ranks, gathered):
            for fsdp_param in fsdp_params:
                numels = [t.numel() for t in fsdp_param.all_gather_inputs]
                dtypes = [t.dtype for t in fsdp_param.all_gather_inputs]
                fsdp_param.init_all_gather_outputs(numels, dtypes, WORLD_SIZE)
            all_gather_output = all_gather_output.view(WORLD_SIZE, -1)
            out = [
                t.view(WORLD_SIZE, -1)
                for fsdp_param in fsdp_params
                for t in fsdp_param.all_gather_outputs
            ]
            torch.split_with_sizes_copy(all_gather_output, split_sizes, dim=1, out=out)
            for fsdp_param in fsdp_params:
                fsdp_param.init_unsharded_param()


def foreach_reduce_scatter_copy_in(torch: Any, unsharded_grads: list, reduce_scatter_input: Any,
                                   world_size: int) -> None:  # fmt: skip
    reduce_scatter_input = reduce_scatter_input.view(world_size, -1)
    torch._chunk_cat(unsharded_grads, dim=0, num_chunks=world_size, out=reduce_scatter_input)


def _div_if_needed(tensor: Any, div_factor: float | None) -> None:
    if div_factor is not None and div_factor > 1:
        tensor.div_(div_factor)


def foreach_reduce(torch: Any, ranks: list) -> None:
    inputs = []
    with torch.no_grad():
        for fsdp_params in ranks:
            unsharded_grads = [fsdp_param.unsharded_param.grad for fsdp_param in fsdp_params]
            padded_unsharded_sizes = tuple(
                _get_dim0_padded_size(torch, grad.size(), WORLD_SIZE) for grad in unsharded_grads
            )
            reduce_scatter_input_numel = sum(s.numel() for s in padded_unsharded_sizes)
            reduce_scatter_input = torch.empty(
                (reduce_scatter_input_numel,), dtype=unsharded_grads[0].dtype
            )
            foreach_reduce_scatter_copy_in(torch, unsharded_grads, reduce_scatter_input,
                                           WORLD_SIZE)  # fmt: skip
            _div_if_needed(reduce_scatter_input, 1.0)  # predivide factor 1 for two ranks
            inputs.append((reduce_scatter_input, padded_unsharded_sizes))
            for fsdp_param in fsdp_params:
                fsdp_param.unsharded_param.grad = None
        for rank, fsdp_params in enumerate(ranks):
            reduce_scatter_output_numel = inputs[rank][0].numel() // WORLD_SIZE
            reduce_output = inputs[rank][0].new_empty((reduce_scatter_output_numel,))
            reduce_output.zero_()
            for reduce_scatter_input, _ in inputs:  # reduce_scatter_tensor(op=SUM)
                reduce_output += reduce_scatter_input.view(WORLD_SIZE, -1)[rank]
            _div_if_needed(reduce_output, float(WORLD_SIZE))  # postdivide factor
            flat_grad_offset = 0
            for padded_unsharded_size, fsdp_param in zip(inputs[rank][1], fsdp_params):
                new_sharded_grad = torch.as_strided(
                    reduce_output,
                    size=fsdp_param.sharded_size,
                    stride=fsdp_param.contiguous_sharded_stride,
                    storage_offset=flat_grad_offset,
                )
                to_accumulate_grad = fsdp_param.sharded_param.grad is not None
                if to_accumulate_grad:
                    fsdp_param.sharded_param.grad += new_sharded_grad
                else:
                    fsdp_param.sharded_param.grad = new_sharded_grad
                padded_sharded_numel = padded_unsharded_size.numel() // WORLD_SIZE
                flat_grad_offset += padded_sharded_numel


def clip_grad_norm_(
    torch: Any,
    ranks_params: list,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Any:
    """torchtitan's ``dist_utils.clip_grad_norm_`` with the all-reduce over the ranks' local
    norms written out."""
    local = []
    for parameters in ranks_params:
        grads = [p.grad for p in parameters if p.grad is not None]
        local.append(torch.nn.utils.get_total_norm(grads, norm_type, error_if_nonfinite, foreach))
    total_norm = sum(n**norm_type for n in local)  # dist.all_reduce(total_norm **= norm_type)
    total_norm **= 1.0 / norm_type
    for parameters in ranks_params:
        torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    FSDPParam = _fsdp_param_cls(torch)
    ranks, models, optimizers = [], [], []
    for rank in range(WORLD_SIZE):
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        fsdp_params = [
            FSDPParam(module, name, rank)
            for module in model.modules()
            for name, _ in list(module.named_parameters(recurse=False))
        ]
        ranks.append(fsdp_params)
        models.append(model)
        optimizers.append(
            torch.optim.AdamW([p.sharded_param for p in fsdp_params], lr=0.05, foreach=True)
        )
    rng = np.random.default_rng(45)
    values: list[float] = []
    for step in range(STEPS):
        micro_batches = 2 if step == STEPS - 1 else 1
        for _ in range(micro_batches):
            foreach_all_gather(torch, ranks)
            if step == 0:
                values.append(sum(p.unsharded_param.sum().item() for p in ranks[1]))
            for model in models:
                x = as_tensor(torch, rng.standard_normal((BATCH, 5)))
                y = as_tensor(torch, rng.integers(0, 3, BATCH))
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                values.append(loss.item())
            foreach_reduce(torch, ranks)
        sharded = [[p.sharded_param for p in fsdp_params] for fsdp_params in ranks]
        values.append(float(clip_grad_norm_(torch, sharded, max_norm=0.5, foreach=True)))
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad()
    for fsdp_params in ranks:
        values.extend(float(p._sharded_param_data.sum()) for p in fsdp_params)
    return values
