"""Per-op overhead and large-tensor throughput, chainrule vs PyTorch, forward + backward.

Cases:

* ``small:*``  per-op overhead on 8x8 float32 tensors: one op forward plus backward;
* ``large:*``  throughput on big tensors (elementwise 1M elements, reductions 1000x1000,
  matmul 512x512 and batched 32x128x128), forward plus backward;
* ``chain10``  a 10-op chain (matmul, add, tanh, mul, sub, sigmoid, mul, exp, sum, mean)
  on 32x32 tensors, forward plus backward;
* ``large:batchnorm_64x16x32x32``  training-mode BatchNorm2d forward plus backward on a
  ResNet-20-sized activation; ``large:adam_1M``  one Adam step of a 1M-element parameter.
* ``half:*``  float16 products forward plus backward (``linear`` 64x256 by 256x256, ``conv``
  16->16 channels 3x3 on 8x16x32x32, ``bmm`` 16x64x64), ``half:autocast_mlp``, a float32
  MLP step (256-512-512-10, batch 64) inside ``autocast("cpu", dtype=float16)``, and float16
  layers and ops forward plus backward: ``nn.LSTM`` / ``nn.GRU`` (64->64, 20 steps, batch
  8), ``cdist`` (256x64 by 200x64, p=2 and p=1; PyTorch's CPU cdist refuses float16, so its
  column is float32) and an attention-score ``einsum``
  (4x8x64x32, ``bhid,bhjd->bhij``); a bidirectional ``nn.LSTM`` (its reverse direction
  runs the per-step cell op with b_hh), one ``nn.LSTMCell`` step (batch 8, 64->64) and an
  outer-product ``einsum`` (``i,j->ij``, 512 by 512: mostly the float16 rounding).

``--kernels-ab`` compares chainrule with itself instead: in ONE process, alternating, the
NumPy kernels (the old path) against the compiled Numba kernels (``chainrule._kernels``),
for the large elementwise cases, batch norm and the Adam step; it prints medians and
minimums of each and their ratios (compiled / NumPy).

Each framework runs in its own subprocess (in one process PyTorch's and OpenBLAS's idle
threads steal each other's cores); the subprocesses alternate for ``--rounds`` rounds, each
reports a median per case after a warm-up, and the best median per framework is compared
(ratio = chainrule / PyTorch; < 1 means chainrule is faster). PyTorch runs with
``torch.set_num_threads(2)``. This script UNSETS ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` for its subprocesses (an old forced core type cuts NumPy's matmul
several-fold) and reports the BLAS kernel through threadpoolctl when it is installed.

Usage::

    python benchmarks/bench_ops.py               # all cases, 3 rounds
    python benchmarks/bench_ops.py --quick       # 1 round, fewer repeats
    python benchmarks/bench_ops.py --profile     # cProfile of chainrule's chain10 step
    python benchmarks/bench_ops.py --kernels-ab  # compiled vs NumPy kernels, one process
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

SMALL_OPS = [
    "add",
    "mul",
    "div",
    "exp",
    "tanh",
    "sigmoid",
    "relu",
    "sum",
    "mean",
    "matmul",
    "softmax",
    "reshape",
    "transpose",
    "getitem",
    "cat",
]
LARGE = {
    "add_1M": ("add", (1000, 1000)),
    "mul_1M": ("mul", (1000, 1000)),
    "exp_1M": ("exp", (1000, 1000)),
    "tanh_1M": ("tanh", (1000, 1000)),
    "relu_1M": ("relu", (1000, 1000)),
    "sum_1M": ("sum", (1000, 1000)),
    "mean_dim_1M": ("mean_dim", (1000, 1000)),
    "amax_dim_1M": ("amax_dim", (1000, 1000)),
    "softmax_1M": ("softmax", (1000, 1000)),
    "matmul_512": ("matmul", (512, 512)),
    "matmul_1024": ("matmul", (1024, 1024)),
    "bmm_32x128": ("bmm", (32, 128, 128)),
    "linear_128x784x512": ("linear", (128, 784, 512)),
    "sigmoid_1M": ("sigmoid", (1000, 1000)),
}
# (N, C, H, W) of the batch-norm case; chainrule's convolutions give channel-major storage
BN_SHAPE = (64, 16, 32, 32)
ADAM_SIZE = 1 << 20


def _op(m, name):
    """The op ``name`` for module ``m`` (chainrule or torch); takes (x, w)."""
    return {
        "add": lambda x, w: x + w,
        "mul": lambda x, w: x * w,
        "div": lambda x, w: x / (w * w + 1),
        "exp": lambda x, w: x.exp(),
        "tanh": lambda x, w: x.tanh(),
        "sigmoid": lambda x, w: x.sigmoid(),
        "relu": lambda x, w: x.relu(),
        "sum": lambda x, w: x.sum(),
        "mean": lambda x, w: x.mean(),
        "mean_dim": lambda x, w: x.mean(1),
        "amax_dim": lambda x, w: x.amax(1),
        "matmul": lambda x, w: x @ w,
        "bmm": lambda x, w: m.bmm(x, w),
        "linear": lambda x, w: x @ w,
        "softmax": lambda x, w: x.softmax(-1),
        "reshape": lambda x, w: x.reshape(-1),
        "transpose": lambda x, w: x.transpose(0, 1),
        "getitem": lambda x, w: x[1:5, ::2],
        "cat": lambda x, w: m.cat([x, w], 0),
    }[name]


def _chain(x, w, b):
    a = x @ w
    a = a + b
    a = a.tanh()
    a = a * x
    a = a - 0.5
    a = a.sigmoid()
    a = a * a
    a = a.exp()
    a = a.sum(1)
    return a.mean()


def _inputs(m, shape_x, shape_w, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    xa = rng.standard_normal(shape_x).astype(np.float32)
    wa = rng.standard_normal(shape_w).astype(np.float32) * 0.1
    if m.__name__ == "torch":
        return (m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True))
    return (m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True))


def _make_cases(m, quick: bool):
    """{case name: zero-argument step function} for module ``m``."""
    cases = {}
    for name in SMALL_OPS:
        x, w = _inputs(m, (8, 8), (8, 8))
        fn = _op(m, name)
        g = m.ones_like(fn(x, w))

        def step(fn=fn, x=x, w=w, g=g):
            x.grad = None
            w.grad = None
            fn(x, w).backward(g)

        cases[f"small:{name}"] = step
    for case, (name, shape) in LARGE.items():
        if name == "linear":
            n, k, o = shape
            x, w = _inputs(m, (n, k), (k, o))
        elif name in ("matmul", "bmm"):
            x, w = _inputs(m, shape, shape)
        else:
            x, w = _inputs(m, shape, shape)
        fn = _op(m, name)
        g = m.ones_like(fn(x, w))

        def step(fn=fn, x=x, w=w, g=g):
            x.grad = None
            w.grad = None
            fn(x, w).backward(g)

        cases[f"large:{case}"] = step
    cases.update(_bn_adam_cases(m))
    cases.update(_half_cases(m))
    x, w = _inputs(m, (32, 32), (32, 32))
    b = m.tensor([0.1] * 32, requires_grad=True)

    def chain_step():
        for t in (x, w, b):
            t.grad = None
        _chain(x, w, b).backward()

    cases["chain10"] = chain_step
    return cases


def _bn_adam_cases(m) -> dict:
    """Batch norm (training, forward + backward) and one Adam step, for module ``m``."""
    import numpy as np

    rng = np.random.default_rng(0)
    xa = rng.standard_normal(BN_SHAPE).astype(np.float32)
    if m.__name__ != "torch":  # the layout chainrule's Conv2d produces
        xa = np.ascontiguousarray(xa.swapaxes(0, 1)).swapaxes(0, 1)
    x = m.tensor(xa, requires_grad=True)
    bn = m.nn.BatchNorm2d(BN_SHAPE[1])
    g = m.tensor(rng.standard_normal(BN_SHAPE).astype(np.float32))

    def bn_step():
        x.grad = None
        bn(x).backward(g)

    p = m.nn.Parameter(m.tensor(rng.standard_normal(ADAM_SIZE).astype(np.float32)))
    opt = m.optim.Adam([p], lr=1e-3)
    p.grad = m.tensor(rng.standard_normal(ADAM_SIZE).astype(np.float32))
    return {"large:batchnorm_64x16x32x32": bn_step, "large:adam_1M": opt.step}


def _half_cases(m) -> dict:
    """float16 products (forward + backward) and a float32 MLP step under float16 autocast."""
    import numpy as np

    rng = np.random.default_rng(0)

    def leaf(*shape):
        return m.tensor(rng.standard_normal(shape).astype(np.float16), requires_grad=True)

    x, w = leaf(64, 256), leaf(256, 256)
    xi, k = leaf(8, 16, 32, 32), leaf(16, 16, 3, 3)
    a, b = leaf(16, 64, 64), leaf(16, 64, 64)
    F = m.nn.functional
    mlp = m.nn.Sequential(
        m.nn.Linear(256, 512),
        m.nn.ReLU(),
        m.nn.Linear(512, 512),
        m.nn.ReLU(),
        m.nn.Linear(512, 10),
    )
    xm = m.tensor(rng.standard_normal((64, 256)).astype(np.float32))
    ym = m.tensor(rng.integers(0, 10, 64))

    def product(fn, *leaves):
        def step():
            for t in leaves:
                t.grad = None
            fn().float().sum().backward()

        return step

    def autocast_step():
        mlp.zero_grad()
        with m.autocast("cpu", dtype=m.float16):
            loss = F.cross_entropy(mlp(xm), ym)
        loss.backward()

    lstm = m.nn.LSTM(64, 64).half()  # the float16 recurrent layers: 20 steps, batch 8
    gru = m.nn.GRU(64, 64).half()
    bilstm = m.nn.LSTM(64, 64, bidirectional=True).half()
    cell = m.nn.LSTMCell(64, 64).half()
    xc = leaf(8, 64)
    u, v = leaf(512), leaf(512)
    xs = leaf(20, 8, 64)
    c1, c2 = leaf(256, 64), leaf(200, 64)
    if m.__name__ == "torch":  # PyTorch's CPU cdist has no float16 kernel: timed in float32
        c1, c2 = (t.detach().float().requires_grad_(True) for t in (c1, c2))
    q, kk = leaf(4, 8, 64, 32), leaf(4, 8, 64, 32)

    def layer_step(layer):
        def step():
            layer.zero_grad()
            xs.grad = None
            layer(xs)[0].float().sum().backward()

        return step

    def cell_step():
        cell.zero_grad()
        xc.grad = None
        h, c = cell(xc)
        (h.float().sum() + c.float().sum()).backward()

    return {
        "half:linear_64x256x256": product(lambda: F.linear(x, w), x, w),
        "half:conv_8x16x32x32": product(lambda: F.conv2d(xi, k, padding=1), xi, k),
        "half:bmm_16x64x64": product(lambda: m.bmm(a, b), a, b),
        "half:autocast_mlp": autocast_step,
        "half:lstm_20x8x64": layer_step(lstm),
        "half:gru_20x8x64": layer_step(gru),
        "half:cdist_256x200x64": product(lambda: m.cdist(c1, c2), c1, c2),
        "half:cdist_p1_256x200x64": product(lambda: m.cdist(c1, c2, p=1.0), c1, c2),
        "half:einsum_bhid_bhjd": product(lambda: m.einsum("bhid,bhjd->bhij", q, kk), q, kk),
        "half:bilstm_20x8x64": layer_step(bilstm),
        "half:lstmcell_8x64": cell_step,
        "half:einsum_outer_512": product(lambda: m.einsum("i,j->ij", u, v), u, v),
    }


def _kernels_ab(seconds: float) -> None:
    """Compiled vs NumPy kernels of chainrule in one process, alternating (see module doc)."""
    import chainrule as m
    from chainrule._kernels import jit

    if not jit.numba_available():
        print("numba is not installed: pip install chainrule[fast]")
        return
    cases = {
        k: v
        for k, v in _make_cases(m, True).items()
        if k.startswith("large:") and not any(t in k for t in ("matmul", "bmm", "linear"))
    }
    t0 = time.perf_counter()
    with jit.use_backend("numba"):
        for step in cases.values():
            step()
    print(
        f"first calls on the compiled path (compile or load from cache): "
        f"{time.perf_counter() - t0:.2f} s"
    )
    times: dict = {(name, be): [] for name in cases for be in ("numpy", "numba")}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for name, step in cases.items():
            for be in ("numpy", "numba"):
                with jit.use_backend(be):
                    t = time.perf_counter()
                    step()
                    times[name, be].append(time.perf_counter() - t)
    la = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average: {la}; threads: {m.get_num_threads()}\n")
    print("| case | NumPy median / min | compiled median / min | ratio median / min | n |")
    print("|---|---|---|---|---|")
    for name in cases:
        a, b = times[name, "numpy"], times[name, "numba"]
        ma, mb = statistics.median(a), statistics.median(b)
        print(
            f"| {name} | {_fmt(ma)} / {_fmt(min(a))} | {_fmt(mb)} / {_fmt(min(b))} | "
            f"{mb / ma:.2f} / {min(b) / min(a):.2f} | {len(a)} |"
        )


def _time(step, quick: bool) -> float:
    """Median seconds per step: warm up, size batches to ~20 ms, take the median batch."""
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.02:
        step()
        n += 1
    reps = 7 if quick else 15
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def _worker(framework: str, quick: bool, only: str | None) -> None:
    if framework == "torch":
        import torch as m

        m.set_num_threads(2)
    else:
        import chainrule as m
    cases = _make_cases(m, quick)
    out = {name: _time(step, quick) for name, step in cases.items() if only is None or only in name}
    print(json.dumps(out))


def _blas_info() -> str:
    try:
        import numpy  # noqa: F401 - load its BLAS so threadpoolctl can see it
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return (
            "; ".join(
                f"{i.get('internal_api')} {i.get('version')} "
                f"kernel={i.get('architecture')} threads={i.get('num_threads')}"
                for i in infos
            )
            or "no BLAS found by threadpoolctl"
        )
    except ImportError:
        return "unknown (pip install threadpoolctl to report the BLAS kernel)"


def _kernel_backend() -> str:
    """Which kernel path chainrule's worker processes will use (numba or numpy)."""
    try:
        from chainrule._kernels import backend

        return backend()
    except ImportError:
        return "numpy (no chainrule._kernels)"


def _env() -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    return env


def _run_worker(framework: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", framework]
    if args.quick:
        cmd.append("--quick")
    if args.only:
        cmd += ["--only", args.only]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _profile() -> None:
    import cProfile
    import pstats

    import chainrule as m

    step = _make_cases(m, True)["chain10"]
    for _ in range(50):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(2000):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=["chainrule", "torch"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help="run only cases whose name contains this text")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--kernels-ab",
        action="store_true",
        help="compiled vs NumPy kernels of chainrule, in one process",
    )
    ap.add_argument("--seconds", type=float, default=30.0, help="duration of --kernels-ab")
    args = ap.parse_args()
    if args.kernels_ab:
        _kernels_ab(args.seconds)
        return
    if args.worker:
        _worker(args.worker, args.quick, args.only)
        return
    if args.profile:
        _profile()
        return
    rounds = 1 if args.quick else args.rounds
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"{os.cpu_count()} cpus, python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print("note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the worker processes")
    print(f"BLAS: {_blas_info()}")
    print(f"chainrule kernels: {_kernel_backend()}")
    la = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average before: {la} (other processes distort timings)")
    best: dict = {"chainrule": {}, "torch": {}}
    for r in range(rounds):
        for fw in ("chainrule", "torch"):
            for name, t in _run_worker(fw, args).items():
                best[fw][name] = min(best[fw].get(name, float("inf")), t)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    print("\n| case | chainrule | PyTorch | ratio |\n|---|---|---|---|")
    for name in best["chainrule"]:
        c, t = best["chainrule"][name], best["torch"][name]
        print(f"| {name} | {_fmt(c)} | {_fmt(t)} | {c / t:.2f}x |")


def _fmt(s: float) -> str:
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


if __name__ == "__main__":
    main()
