"""The bugs the data-pipeline fuzzer found, one minimal program each (all fixed in
chainrule.utils.data; the torch quirks it steers around are commented where
:mod:`.pipelines` steers). Each program runs on torch and chainrule through
:func:`.pipeline_run.check`; a few tests also state the expected answer directly."""

from __future__ import annotations

import multiprocessing as mp

import pytest
import torch

import chainrule as cr
from chainrule.utils.data._multiprocessing_iter import _shutdown

from .pipeline_run import check
from .pipelines import Program

FOUND = {
    # RandomSampler checks the resolved num_samples: shuffling an empty dataset is a
    # ValueError when the loader is made (chainrule checked an explicit num_samples only)
    "shuffle_an_empty_dataset": Program(
        ("split", "tensor", 7, (5, 2, 0), ("G", 2), 2),
        loader=(("batch_size", 4), ("shuffle", True)),
    ),
    # num_samples from an empty dataset, when iterated: torch's n // 0 (ZeroDivisionError)
    # without replacement, randint's empty range (RuntimeError) with it (chainrule yielded
    # nothing / raised ValueError)
    "random_sampler_num_samples_of_nothing": Program(
        ("subset", "int", 3, ()),
        sampler=("random", False, 4, None),
        loader=(("batch_size", 2),),
        actions=(("partial", 2), ("rand",)),
    ),
    "random_sampler_replacement_of_nothing": Program(
        ("subset", "tensor", 8, ()),
        sampler=("random", True, 3, None),
        batch_sampler=("batch", 2, True),
        actions=(("epoch",), ("rand",)),
    ),
    # with replacement and a generator of the caller's, PyTorch draws 32 indices at a
    # time: after a partial epoch (a break) that generator stands where PyTorch's does
    # (chainrule drew the whole epoch at once)
    "random_sampler_replacement_draws_32_at_a_time": Program(
        ("tensor", 5),
        sampler=("random", True, 40, ("G", 1)),
        loader=(("batch_size", 2),),
        actions=(("partial", 1), ("rand",)),
    ),
    # WeightedRandomSampler's weights are checked by multinomial, when drawing: all-zero
    # weights or too many samples without replacement construct, len() works, iterating
    # raises RuntimeError (chainrule raised in the constructor)
    "weighted_zero_weights_fail_when_drawn": Program(
        ("map", "int", 2, False),
        sampler=("weighted", (0.0,), 6, True, ("G", 0)),
        batch_sampler=("batch", 1, False),
        actions=(("len",), ("partial", 2), ("rand",)),
    ),
    "weighted_too_many_without_replacement": Program(
        ("map", "int", 2, False),
        sampler=("weighted", (1.0, 2.0), 5, False, None),
        loader=(("batch_size", 2),),
        actions=(("len",), ("epoch",)),
    ),
    # default_collate of one unbatched sample (batch_size=None, collate_fn=default_collate)
    # fails as PyTorch's: a Tensor (TypeError from torch.stack; chainrule stacked its
    # rows), a 0-d Tensor or a NumPy scalar (IndexError from batch[0]; chainrule's len()
    # raised TypeError), bytes (torch.tensor(b"ab"): TypeError; chainrule made [97, 98])
    "default_collate_of_a_tensor_sample": Program(
        ("concat", "tensor", (3, 3), False),
        loader=(("batch_size", None), ("collate_fn", "default")),
    ),
    "default_collate_of_a_0d_tensor_sample": Program(
        ("map", "zerod", 6, True), loader=(("batch_size", None), ("collate_fn", "default"))
    ),
    "default_collate_of_a_numpy_scalar_sample": Program(
        ("map", "npscalar", 5, False), loader=(("batch_size", None), ("collate_fn", "default"))
    ),
    "default_collate_of_a_0d_array_sample": Program(
        ("subset", "np0d", 8, (1, 7, 0)), loader=(("batch_size", None), ("collate_fn", "default"))
    ),
    "default_collate_of_a_bytes_sample": Program(
        ("map", "bytes", 3, False),
        sampler=("list", (1, 2)),
        loader=(("batch_size", None), ("collate_fn", "default")),
    ),
    # a batch of NumPy scalars of mixed dtypes (np.bool_ then 0-d float64 arrays) is
    # PyTorch's torch.as_tensor(batch), dtypes promoted (chainrule cast to the first's)
    "default_collate_promotes_numpy_scalars": Program(
        ("map", "np0d", 3, False), loader=(("batch_size", 2),)
    ),
    # loader.collate_fn names the function used (default_collate, or default_convert with
    # batch_size=None), not None
    "collate_fn_attribute": Program(("map", "int", 3, False), loader=(("batch_size", None),)),
    # over an IterableDataset, loader.sampler is an endless sampler and loader.batch_sampler
    # a BatchSampler over it (both were None)
    "iterable_loader_samplers": Program(
        ("chain", "int", (3, 2), True, False),
        loader=(("batch_size", 2), ("drop_last", True)),
        actions=(("len",), ("epoch",)),
    ),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_case_agrees_with_torch(name):
    diffs = check(FOUND[name])
    assert not diffs, "\n".join(diffs[:3])


def test_batch_with_autograd_history_from_a_worker():
    # a worker's batch holding a tensor with autograd history: PyTorch refuses to pickle
    # it (RuntimeError in the worker, re-raised); chainrule sent a detached leaf
    prog = Program(
        ("iter", "grad", 6, False),
        loader=(("batch_size", 3), ("num_workers", 2)),
        actions=(("epoch",), ("rand",)),
        seed=6256,
    )
    diffs = check(prog)
    assert not diffs, "\n".join(diffs[:3])


def test_persistent_workers_reused_draw_no_seed():
    # persistent workers reused for a new epoch keep their seeds: PyTorch draws no new
    # base seed (chainrule drew one every epoch, so the global generator and the loader's
    # generator were one int64 draw ahead afterwards)
    for prog in (
        Program(
            ("map", "int", 1, True),
            loader=(("num_workers", 2), ("persistent_workers", True)),
            actions=(("epoch",), ("epoch",)),
        ),
        Program(
            ("iter", "int", 1, False),
            loader=(("generator", ("G", 3)), ("num_workers", 2), ("persistent_workers", True)),
            actions=(("partial", 19), ("epoch",)),
        ),
    ):
        diffs = check(prog)
        assert not diffs, "\n".join(diffs[:3])


def test_collate_fn_attribute_direct():
    ds = cr.utils.data.TensorDataset(cr.arange(4.0))
    assert cr.utils.data.DataLoader(ds).collate_fn is cr.utils.data.default_collate
    unbatched = cr.utils.data.DataLoader(ds, batch_size=None)
    assert unbatched.collate_fn is cr.utils.data.default_convert
    t_ds = torch.utils.data.TensorDataset(torch.arange(4.0))
    assert torch.utils.data.DataLoader(t_ds).collate_fn is torch.utils.data.default_collate


def test_empty_random_sampler_errors_direct():
    with pytest.raises(ValueError, match="num_samples"):
        cr.utils.data.RandomSampler([])
    with pytest.raises(ZeroDivisionError, match="empty data source"):
        list(cr.utils.data.RandomSampler([], num_samples=3))
    with pytest.raises(RuntimeError, match="empty data source"):
        list(cr.utils.data.RandomSampler([], replacement=True, num_samples=3))


class _Event:
    def __init__(self) -> None:
        self.was_set = False

    def set(self) -> None:
        self.was_set = True


def test_shutdown_in_a_forked_child_leaves_workers_alone():
    # a worker forked while another loader's iterator lives collects its copy of that
    # iterator: the finaliser joined processes that were not its children
    # (AssertionError, printed as "Exception ignored") and set the shared done event,
    # which stops the owner's workers
    event = _Event()
    _shutdown([mp.Process()], [], None, event, owner=-1)
    assert not event.was_set
