"""PyTorch's "PyTorch Benchmark" recipe (``recipes/recipes/benchmark``) and "Timer quick start"
(``recipes/recipes/timer_quick_start``), size-reduced.

The idioms: ``batched_dot_mul_sum`` (``a.mul(b).sum(-1)``) and ``batched_dot_bmm``
(``a.reshape(-1, 1, a.shape[-1])``, ``torch.bmm(a, b).flatten(-3)``) checked with
``batched_dot_mul_sum(x, x).allclose(batched_dot_bmm(x, x))``; ``import
torch.utils.benchmark as benchmark``; ``benchmark.Timer(stmt='batched_dot_mul_sum(x, x)',
setup=..., globals={'x': x}, num_threads=...)`` with ``timeit(100)`` and
``blocked_autorange(min_run_time=...)``, ``m0.mean``/``m0.median`` formatted as ``f"Mean:
{m0.mean * 1e6:6.2f} us"``; the ``product(sizes, sizes)`` sweep with ``label``/``sub_label``/
``description`` and ``benchmark.Compare(results)`` (``trim_significant_figures``,
``colorize``, ``print``); the A/B results saved with ``pickle.dumps(m)`` (``env=``) and
compared after ``pickle.loads``; and the fuzzed inputs: ``Fuzzer(parameters=[FuzzedParameter(
'k0', minval=1, maxval=10000, distribution='loguniform'), ...], tensors=[FuzzedTensor('x',
size=('k0', 'k1'), min_elements=128, max_elements=10000000, probability_contiguous=0.6)],
seed=0)``, ``example_fuzzer.take(10)`` and the ``sub_label`` built from ``params['k0']`` and
``tensor_params['x']['is_contiguous']``.

Changed: sizes [1, 64, 1024, 10000] -> [1, 8, 64], threads [1, 4, 16, 32] -> [1], min_run_time
1 s -> 1 ms, ``setup='from __main__ import ...'`` -> the functions passed in ``globals`` (the
test module is not ``__main__``), ``maxval`` 10000 -> 300; the values returned are the
results and the measurements' deterministic fields (times themselves vary from run to run).
"""

from __future__ import annotations

import importlib
import io
import pickle
from contextlib import redirect_stdout
from itertools import product
from typing import Any

DTYPE = "float32"


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    benchmark = importlib.import_module(f"{torch.__name__}.utils.benchmark")
    values: list[float] = []

    def batched_dot_mul_sum(a: Any, b: Any) -> Any:
        """Computes batched dot by multiplying and summing"""
        return a.mul(b).sum(-1)

    def batched_dot_bmm(a: Any, b: Any) -> Any:
        """Computes batched dot by reducing to ``bmm``"""
        a = a.reshape(-1, 1, a.shape[-1])
        b = b.reshape(-1, b.shape[-1], 1)
        return torch.bmm(a, b).flatten(-3)

    torch.manual_seed(0)
    # Input for benchmarking
    x = torch.randn(100, 64)
    # Ensure that both functions compute the same output
    assert batched_dot_mul_sum(x, x).allclose(batched_dot_bmm(x, x))
    values += [batched_dot_mul_sum(x, x).sum().item(), batched_dot_bmm(x, x).sum().item()]

    fns = {"batched_dot_mul_sum": batched_dot_mul_sum, "batched_dot_bmm": batched_dot_bmm}
    t0 = benchmark.Timer(stmt="batched_dot_mul_sum(x, x)", globals={"x": x, **fns})
    t1 = benchmark.Timer(stmt="batched_dot_bmm(x, x)", globals={"x": x, **fns})
    m0, m1 = t0.timeit(100), t1.timeit(100)
    values += [m0.number_per_run, len(m0.times), m1.number_per_run, m0.mean > 0]
    values.append(m0.task_spec.stmt == "batched_dot_mul_sum(x, x)")

    num_threads = torch.get_num_threads()
    t0 = benchmark.Timer(stmt="batched_dot_mul_sum(x, x)", globals={"x": x, **fns},
                         num_threads=num_threads)  # fmt: skip
    m0 = t0.blocked_autorange(min_run_time=0.001)
    values += [m0.median > 0, m0.num_threads == num_threads, len(m0.times) >= 1]
    values.append(f"Mean:   {m0.mean * 1e6:6.2f} us".startswith("Mean:"))

    # Compare sizes and number of threads
    results = []
    sizes = [1, 8, 64]
    for b, n in product(sizes, sizes):
        # label and sub_label are the rows
        # description is the column
        label = "Batched dot"
        sub_label = f"[{b}, {n}]"
        x = torch.ones((b, n))
        for num_threads in [1]:
            results.append(benchmark.Timer(
                stmt="batched_dot_mul_sum(x, x)",
                globals={"x": x, **fns},
                num_threads=num_threads,
                label=label,
                sub_label=sub_label,
                description="mul/sum",
            ).blocked_autorange(min_run_time=0.001))  # fmt: skip
            results.append(benchmark.Timer(
                stmt="batched_dot_bmm(x, x)",
                globals={"x": x, **fns},
                num_threads=num_threads,
                label=label,
                sub_label=sub_label,
                description="bmm",
            ).blocked_autorange(min_run_time=0.001))  # fmt: skip
    compare = benchmark.Compare(results)
    buf = io.StringIO()
    with redirect_stdout(buf):
        compare.print()
    text = buf.getvalue()
    values += [len(results), "Batched dot" in text, "[64, 8]" in text, "mul/sum" in text]

    # Saving/loading benchmark results
    ab_test_results = []
    for env in ("environment A: mul/sum", "environment B: bmm"):
        for b, n in ((1, 1), (64, 32), (32, 1)):
            x = torch.ones((b, n))
            dot_fn = batched_dot_mul_sum if env == "environment A: mul/sum" else batched_dot_bmm
            m = benchmark.Timer(
                stmt="batched_dot(x, x)",
                globals={"x": x, "batched_dot": dot_fn},
                num_threads=1,
                label="Batched dot",
                description=f"[{b}, {n}]",
                env=env,
            ).blocked_autorange(min_run_time=0.001)
            ab_test_results.append(pickle.dumps(m))
    ab_results = [pickle.loads(i) for i in ab_test_results]
    values += [
        sum(r.env == "environment B: bmm" for r in ab_results),
        ab_results[1].description == "[64, 32]",
    ]
    compare = benchmark.Compare(ab_results)
    compare.trim_significant_figures()
    compare.colorize()
    buf = io.StringIO()
    with redirect_stdout(buf):
        compare.print()
    values.append("environment A: mul/sum" in buf.getvalue())

    # Generating inputs with Fuzzer
    Fuzzer, FuzzedParameter = benchmark.Fuzzer, benchmark.FuzzedParameter
    FuzzedTensor = benchmark.FuzzedTensor
    example_fuzzer = Fuzzer(
        parameters=[
            FuzzedParameter("k0", minval=1, maxval=300, distribution="loguniform"),
            FuzzedParameter("k1", minval=1, maxval=300, distribution="loguniform"),
        ],
        tensors=[
            FuzzedTensor(
                "x",
                size=("k0", "k1"),
                min_elements=128,
                max_elements=10000000,
                probability_contiguous=0.6,
            )  # fmt: skip
        ],
        seed=0,
    )
    results = []
    for tensors, tensor_params, params in example_fuzzer.take(10):
        # description is the column label
        sub_label = f"{params['k0']:<6} x {params['k1']:<4} {'' if tensor_params['x']['is_contiguous'] else '(discontiguous)'}"  # noqa: E501
        values += [params["k0"], params["k1"], tensor_params["x"]["is_contiguous"]]
        values += [
            tensors["x"].stride(0),
            batched_dot_mul_sum(tensors["x"], tensors["x"]).sum().item(),
        ]
        results.append(benchmark.Timer(
            stmt="batched_dot_mul_sum(x, x)",
            globals={**tensors, **fns},
            label="Batched dot",
            sub_label=sub_label,
            description="mul/sum",
        ).timeit(2))  # fmt: skip
        values.append(batched_dot_bmm(tensors["x"], tensors["x"]).sum().item())
    values += [example_fuzzer.rejection_rate, len(results)]
    return values
