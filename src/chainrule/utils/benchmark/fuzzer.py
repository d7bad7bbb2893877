"""``torch.utils.benchmark``'s input fuzzers: :class:`Fuzzer` draws sets of parameters
(:class:`FuzzedParameter`, :class:`ParameterAlias`) and builds tensors from them
(:class:`FuzzedTensor`: sizes from the parameters, optionally strided and non-contiguous),
so that a benchmark can be run over many input shapes (the "PyTorch Benchmark" recipe's
``example_fuzzer.take(10)``).

Draws follow PyTorch's exactly: one ``numpy.random.RandomState(seed)`` feeds every choice in
the same order, and seeds the global generator (``manual_seed``) before the tensors are made
with ``rand``/``randint``, so a seeded fuzzer yields torch's shapes, layouts and values.
"""

from __future__ import annotations

import functools
import itertools as it
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ... import dtype_objects as dtypes
from ...creation_random import rand, randint
from ...random import manual_seed
from ...typeinfo import finfo, iinfo

__all__ = ["FuzzedParameter", "FuzzedTensor", "Fuzzer", "ParameterAlias"]

_DISTRIBUTIONS = ("loguniform", "uniform")


class FuzzedParameter:
    """Specification of one parameter drawn by a :class:`Fuzzer`: ``"loguniform"`` or
    ``"uniform"`` between ``minval`` and ``maxval`` (integers when both bounds are ints), or a
    dict of choices to probabilities. A ``strict`` parameter keeps its first draw while the
    fuzzer resamples the others to meet the constraints."""

    def __init__(
        self,
        name: str,
        minval: int | float | None = None,
        maxval: int | float | None = None,
        distribution: str | dict[Any, float] | None = None,
        strict: bool = False,
    ) -> None:
        self._name = name
        self._minval = minval
        self._maxval = maxval
        self._distribution = self._check_distribution(distribution)
        self.strict = strict

    @property
    def name(self) -> str:
        """The name tensors and constraints refer to."""
        return self._name

    def sample(self, state: np.random.RandomState) -> Any:
        """One draw from ``state``."""
        if self._distribution == "loguniform":
            return self._loguniform(state)
        if self._distribution == "uniform":
            return self._uniform(state)
        if isinstance(self._distribution, dict):
            return self._custom_distribution(state)
        return None

    def _check_distribution(self, distribution: Any) -> Any:
        if not isinstance(distribution, dict):
            if distribution not in _DISTRIBUTIONS:
                raise AssertionError(f"Unknown distribution: {distribution}")
        else:
            if any(i < 0 for i in distribution.values()):
                raise AssertionError("Probabilities cannot be negative")
            # torch 2.13's test is inverted (a dict summing to one is the one refused);
            # mirrored so that a program behaves the same under both
            if not abs(sum(distribution.values()) - 1) > 1e-5:
                raise AssertionError("Distribution is not normalized")
            if self._minval is not None:
                raise AssertionError("When passing a custom distribution, 'minval' must be None")
            if self._maxval is not None:
                raise AssertionError("When passing a custom distribution, 'maxval' must be None")
        return distribution

    def _loguniform(self, state: np.random.RandomState) -> int:
        output = int(
            2
            ** state.uniform(
                low=np.log2(self._minval) if self._minval is not None else None,
                high=np.log2(self._maxval) if self._maxval is not None else None,
            )
        )
        if self._minval is not None and output < self._minval:
            return self._minval
        if self._maxval is not None and output > self._maxval:
            return self._maxval
        return output

    def _uniform(self, state: np.random.RandomState) -> int | float:
        if isinstance(self._minval, int) and isinstance(self._maxval, int):
            return int(state.randint(low=self._minval, high=self._maxval + 1))
        return state.uniform(low=self._minval, high=self._maxval)

    def _custom_distribution(self, state: np.random.RandomState) -> Any:
        index = state.choice(
            np.arange(len(self._distribution)), p=tuple(self._distribution.values())
        )
        return list(self._distribution.keys())[index]


class ParameterAlias:
    """A parameter value that takes another parameter's value (``alias_to``, its name);
    chains are allowed, cycles raise ``ValueError`` when resolved."""

    def __init__(self, alias_to: str) -> None:
        self.alias_to = alias_to

    def __repr__(self) -> str:
        return f"ParameterAlias[alias_to: {self.alias_to}]"


def dtype_size(dtype: Any) -> int:
    """Bytes per element of ``dtype``."""
    if dtype == dtypes.bool_:
        return 1
    if dtype.is_floating_point or dtype.is_complex:
        return int(finfo(dtype).bits / 8)
    return int(iinfo(dtype).bits / 8)


def prod(values: Any, base: int = 1) -> int:
    """The product in Python integers (``np.prod`` can overflow)."""
    return functools.reduce(lambda x, y: int(x) * int(y), values, base)


class FuzzedTensor:
    """Specification of one tensor built by a :class:`Fuzzer`: ``size`` (ints, or names of
    parameters), optional ``steps`` (allocate larger, then slice ``t[::step]``), the chance
    of a contiguous layout, element and allocation bounds that reject a parameter set,
    ``dim_parameter`` (truncate the size to that parameter's value), ``dtype`` and a custom
    ``tensor_constructor``."""

    def __init__(
        self,
        name: str,
        size: tuple[str | int, ...],
        steps: tuple[str | int, ...] | None = None,
        probability_contiguous: float = 0.5,
        min_elements: int | None = None,
        max_elements: int | None = None,
        max_allocation_bytes: int | None = None,
        dim_parameter: str | None = None,
        roll_parameter: str | None = None,
        dtype: Any = dtypes.float32,
        cuda: bool = False,
        tensor_constructor: Callable | None = None,
    ) -> None:
        if cuda:
            raise NotImplementedError("FuzzedTensor: cuda=True is not supported (CPU only)")
        self._name = name
        self._size = size
        self._steps = steps
        self._probability_contiguous = probability_contiguous
        self._min_elements = min_elements
        self._max_elements = max_elements
        self._max_allocation_bytes = max_allocation_bytes
        self._dim_parameter = dim_parameter
        self._dtype = dtype
        self._cuda = cuda
        self._tensor_constructor = tensor_constructor

    @property
    def name(self) -> str:
        """The key of this tensor in each draw."""
        return self._name

    @staticmethod
    def default_tensor_constructor(size: tuple, dtype: Any, **kwargs: Any) -> Any:
        """``rand`` for floating and complex dtypes, ``randint(1, 127)`` otherwise."""
        if dtype.is_floating_point or dtype.is_complex:
            return rand(size=size, dtype=dtype, device="cpu")
        return randint(1, 127, size=size, dtype=dtype, device="cpu")

    def _make_tensor(self, params: dict, state: np.random.RandomState) -> tuple[Any, dict]:
        size, steps, allocation_size = self._get_size_and_steps(params)
        constructor = self._tensor_constructor or self.default_tensor_constructor
        raw_tensor = constructor(size=allocation_size, dtype=self._dtype, **params)
        # Randomly permute the Tensor and call `.contiguous()` to force re-ordering
        # of the memory, and then permute it back to the original shape.
        dim = len(size)
        order = np.arange(dim)
        if state.rand() > self._probability_contiguous:
            while dim > 1 and np.all(order == np.arange(dim)):
                order = state.permutation(raw_tensor.dim())
            raw_tensor = raw_tensor.permute(tuple(order)).contiguous()
            raw_tensor = raw_tensor.permute(tuple(np.argsort(order)))
        slices = [slice(0, size * step, step) for size, step in zip(size, steps, strict=True)]
        tensor = raw_tensor[tuple(slices)]
        properties = {
            "numel": int(tensor.numel()),
            "order": order,
            "steps": steps,
            "is_contiguous": tensor.is_contiguous(),
            "dtype": str(self._dtype),
        }
        return tensor, properties

    def _get_size_and_steps(self, params: dict) -> tuple[tuple, tuple, tuple]:
        dim = params[self._dim_parameter] if self._dim_parameter is not None else len(self._size)

        def resolve(values: tuple, dim: int) -> tuple:
            """Resolve values into concrete integers."""
            values = tuple(params.get(i, i) for i in values)
            if len(values) > dim:
                values = values[:dim]
            if len(values) < dim:
                values = values + tuple(1 for _ in range(dim - len(values)))
            return values

        size = resolve(self._size, dim)
        steps = resolve(self._steps or (), dim)
        allocation_size = tuple(s * step for s, step in zip(size, steps, strict=True))
        return size, steps, allocation_size

    def satisfies_constraints(self, params: dict) -> bool:
        """Whether ``params`` give a tensor within the element and allocation bounds."""
        size, _, allocation_size = self._get_size_and_steps(params)
        # Product is computed in Python to avoid integer overflow.
        num_elements = prod(size)
        if num_elements < 0:
            raise AssertionError("Computed number of elements is negative")
        allocation_bytes = prod(allocation_size, base=dtype_size(self._dtype))

        def nullable_greater(left: Any, right: Any) -> bool:
            if left is None or right is None:
                return False
            return left > right

        return not any(
            (
                nullable_greater(num_elements, self._max_elements),
                nullable_greater(self._min_elements, num_elements),
                nullable_greater(allocation_bytes, self._max_allocation_bytes),
            )
        )


class Fuzzer:
    """Draws parameter sets (resampling until every constraint and tensor bound holds, at
    most 1000 tries) and builds the tensors for each; ``take(n)`` yields ``(tensors,
    tensor_properties, params)`` ``n`` times. ``seed`` fixes the draws and the tensors'
    values (the global generator is seeded from it)."""

    def __init__(
        self,
        parameters: list[FuzzedParameter | list[FuzzedParameter]],
        tensors: list[FuzzedTensor | list[FuzzedTensor]],
        constraints: list[Callable] | None = None,
        seed: int | None = None,
    ) -> None:
        if seed is None:
            seed = int(np.random.RandomState().randint(0, 2**32 - 1, dtype=np.int64))
        self._seed = seed
        self._parameters = Fuzzer._unpack(parameters, FuzzedParameter)
        self._tensors = Fuzzer._unpack(tensors, FuzzedTensor)
        self._constraints = constraints or ()

        p_names = {p.name for p in self._parameters}
        t_names = {t.name for t in self._tensors}
        name_overlap = p_names.intersection(t_names)
        if name_overlap:
            raise ValueError(f"Duplicate names in parameters and tensors: {name_overlap}")

        self._rejections = 0
        self._total_generated = 0

    @staticmethod
    def _unpack(values: list, cls: type) -> tuple:
        return tuple(it.chain.from_iterable([[i] if isinstance(i, cls) else i for i in values]))

    def take(self, n: int) -> Iterator[tuple[dict, dict, dict]]:
        """Yield ``n`` draws of ``(tensors, tensor_properties, params)``."""
        state = np.random.RandomState(self._seed)
        manual_seed(state.randint(low=0, high=2**63, dtype=np.int64))
        for _ in range(n):
            params = self._generate(state)
            tensors = {}
            tensor_properties = {}
            for t in self._tensors:
                tensor, properties = t._make_tensor(params, state)
                tensors[t.name] = tensor
                tensor_properties[t.name] = properties
            yield tensors, tensor_properties, params

    @property
    def rejection_rate(self) -> float:
        """The share of drawn parameter sets that were rejected."""
        if not self._total_generated:
            return 0.0
        return self._rejections / self._total_generated

    def _generate(self, state: np.random.RandomState) -> dict:
        strict_params: dict[str, Any] = {}
        for _ in range(1000):
            candidate_params: dict[str, Any] = {}
            for p in self._parameters:
                if p.strict:
                    if p.name in strict_params:
                        candidate_params[p.name] = strict_params[p.name]
                    else:
                        candidate_params[p.name] = p.sample(state)
                        strict_params[p.name] = candidate_params[p.name]
                else:
                    candidate_params[p.name] = p.sample(state)

            candidate_params = self._resolve_aliases(candidate_params)

            self._total_generated += 1
            if not all(f(candidate_params) for f in self._constraints):
                self._rejections += 1
                continue

            if not all(t.satisfies_constraints(candidate_params) for t in self._tensors):
                self._rejections += 1
                continue

            return candidate_params
        raise ValueError("Failed to generate a set of valid parameters.")

    @staticmethod
    def _resolve_aliases(params: dict) -> dict:
        params = dict(params)
        alias_count = sum(isinstance(v, ParameterAlias) for v in params.values())

        keys = list(params.keys())
        while alias_count:
            for k in keys:
                v = params[k]
                if isinstance(v, ParameterAlias):
                    params[k] = params[v.alias_to]
            alias_count_new = sum(isinstance(v, ParameterAlias) for v in params.values())
            if alias_count == alias_count_new:
                raise ValueError(f"ParameterAlias cycle detected\n{params}")

            alias_count = alias_count_new

        return params
