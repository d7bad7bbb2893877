"""Where a ResNet-20 training step's memory goes: chainrule next to PyTorch.

Reports, for ResNet-20 (3x32x32, batch 64, float32; the workload of ``bench_cnn.py``):

* peak RSS growth of a training step over the process baseline (after imports, model and
  data), each framework in its own fresh process, as ``bench_cnn.py``'s worker measures it;
* chainrule's tracemalloc peak during one step (NumPy reports its array buffers to
  tracemalloc, so this is the arrays' own peak, without allocator slack or BLAS buffers);
* the arrays the graph holds at the end of forward (what backward will read), by op type,
  each buffer counted once: values passed to ``save_for_backward`` and any array a node
  keeps as an attribute. PyTorch's counterpart is measured with
  ``torch.autograd.graph.saved_tensors_hooks`` (each storage counted once), the minimum
  its kernels need (conv inputs, batch-norm inputs and statistics, ReLU results);
* the bytes held by the convolution workspace (:mod:`chainrule.ops._workspace`).

Usage:  python benchmarks/mem_profile.py [--steps 3] [--skip-torch]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tracemalloc

__all__ = ["saved_bytes_by_op", "torch_saved_bytes", "main"]

SHAPE, BATCH = (3, 32, 32), 64


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _arrays_in(value, out: list) -> None:
    """Collect the NumPy arrays in a saved value / node attribute (tensors, tuples)."""
    import numpy as np

    from chainrule.autograd.graph import SavedConstant, SavedInput, SavedOutput
    from chainrule.autograd.tensor import Tensor

    if isinstance(value, SavedInput):
        out.append(value.tensor._data)
    elif isinstance(value, SavedOutput):
        out.append(value.array)
    elif isinstance(value, SavedConstant):
        _arrays_in(value.value, out)
    elif isinstance(value, Tensor):
        out.append(value._data)
    elif isinstance(value, np.ndarray):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _arrays_in(v, out)


def saved_bytes_by_op(loss) -> tuple[dict, int]:
    """Bytes the graph behind ``loss`` keeps for backward, by node name; each memory
    buffer is counted once (for the first node, in the engine's order, that holds it).
    Parameters (leaves) are excluded: they exist with or without a graph."""
    from chainrule.autograd import graph
    from chainrule.autograd.saved import memory_root

    skip = set()
    for node in graph.walk(loss):
        for e in graph.input_edges(node):
            if e.leaf is not None:
                skip.add(id(memory_root(e.leaf._data)))
    seen: set = set()
    by_op: dict[str, list] = {}
    for node in graph.walk(loss):
        arrays: list = []
        for v in node.saved_values:
            _arrays_in(v, arrays)
        for k, v in vars(node).items():  # arrays a rule kept on ctx outside save_for_backward
            if k not in ("_saved", "_saved_values", "next_edges", "input_meta", "out"):
                _arrays_in(v, arrays)
        row = by_op.setdefault(node.name(), [0, 0])
        row[1] += 1
        for a in arrays:
            root = memory_root(a)
            if id(root) in seen or id(root) in skip:
                continue
            seen.add(id(root))
            row[0] += root.nbytes
    return {k: tuple(v) for k, v in by_op.items()}, sum(v[0] for v in by_op.values())


def torch_saved_bytes() -> tuple[dict, int]:
    """PyTorch's saved-for-backward bytes for the same model, by grad_fn name (each storage
    counted once; parameters excluded)."""
    import numpy as np
    import torch

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from bench_cnn import _torch_model

    torch.manual_seed(0)
    model = _torch_model("resnet20").train()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((BATCH,) + SHAPE).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, BATCH))
    seen: set = set()
    packed: list = []

    def pack(t):
        st = t.untyped_storage()
        if st.data_ptr() not in seen and st.data_ptr() not in params:
            seen.add(st.data_ptr())
            packed.append(st.nbytes())
        else:
            packed.append(0)
        return t

    by_op: dict[str, list] = {}
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    # attribute each packed tensor to its node: walk the graph and read _saved_* fields
    stack, visited = [loss.grad_fn], set()
    counted: set = set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in visited:
            continue
        visited.add(fn)
        row = by_op.setdefault(fn.name(), [0, 0])
        row[1] += 1
        for attr in dir(fn):
            if attr.startswith("_saved_"):
                v = getattr(fn, attr)
                for t in v if isinstance(v, (tuple, list)) else (v,):
                    if isinstance(t, torch.Tensor):
                        ptr = t.untyped_storage().data_ptr()
                        if ptr not in counted and ptr not in params:
                            counted.add(ptr)
                            row[0] += t.untyped_storage().nbytes()
        stack.extend(f for f, _ in fn.next_functions)
    return {k: tuple(v) for k, v in by_op.items()}, sum(packed)


def _cr_setup():
    import numpy as np

    import chainrule as cr

    cr.manual_seed(0)
    model = cr.models.get_model("resnet20", num_classes=10, in_channels=SHAPE[0]).train()
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((BATCH,) + SHAPE).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, BATCH))
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lossf = cr.nn.CrossEntropyLoss()
    return cr, model, x, y, opt, lossf


def _rss_worker(framework: str, steps: int, warm_jit: bool) -> dict:
    """Peak RSS growth of ``steps`` training steps (bench_cnn's measure) in a fresh process,
    and the process's absolute peak RSS. With ``warm_jit`` chainrule's compiled-kernel
    runtime is loaded before the baseline (bench_cnn's ``_load_jit_runtime``)."""
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from bench_cnn import worker

    res = worker(framework, "resnet20", "train", steps, warm_jit=warm_jit)
    res["abs_peak_mb"] = _maxrss_mb()
    return res


def _cr_report(steps: int) -> dict:
    cr, model, x, y, opt, lossf = _cr_setup()
    from chainrule.ops._workspace import workspace

    def step():
        opt.zero_grad()
        lossf(model(x), y).backward()
        opt.step()

    step()  # warm-up: momentum buffers, gradients, workspace
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    for _ in range(steps):
        step()
    peak = tracemalloc.get_traced_memory()[1] - base
    opt.zero_grad()
    tracemalloc.reset_peak()
    fwd_base = tracemalloc.get_traced_memory()[0]
    loss = lossf(model(x), y)
    fwd_live = tracemalloc.get_traced_memory()[0] - fwd_base
    tracemalloc.stop()
    by_op, total = saved_bytes_by_op(loss)
    ws = workspace()
    ws_bytes = sum(b.nbytes for b in ws._bordered.values())
    ws_bytes += ws._block.nbytes if ws._block is not None else 0
    return {
        "tracemalloc_step_peak_mb": peak / 2**20,
        "forward_live_mb": fwd_live / 2**20,
        "saved_by_op": by_op,
        "saved_total_mb": total / 2**20,
        "workspace_mb": ws_bytes / 2**20,
    }


def _table(title: str, by_op: dict, total: int) -> None:
    print(title)
    for name, (nbytes, count) in sorted(by_op.items(), key=lambda kv: -kv[1][0]):
        if nbytes:
            print(f"  {name:<32}{count:>5} nodes {nbytes / 2**20:9.2f} MB")
    print(f"  {'total':<44}{total / 2**20:9.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2, help="fresh processes per framework (RSS)")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fw, what = args.worker
        res = (
            _cr_report(args.steps)
            if what == "report"
            else _rss_worker(fw, args.steps, what == "rss-warm-jit")
        )
        print(json.dumps(res))
        return

    def run(fw: str, what: str) -> dict:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", fw, what, "--steps", str(args.steps)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    fws = ("cr",) if args.skip_torch else ("cr", "torch")
    runs = {
        (fw, what): [run(fw, what) for _ in range(args.reps)]
        for what in ("rss", "rss-warm-jit")
        for fw in fws
    }
    for what, key, title in (
        ("rss", "peak_mb", "peak RSS growth of a training step, JIT runtime counted in it"),
        ("rss-warm-jit", "peak_mb", "the same, JIT runtime loaded first (bench_cnn's measure)"),
        ("rss", "abs_peak_mb", "absolute peak RSS of the process"),
    ):
        peaks = {fw: min(r[key] for r in runs[fw, what]) for fw in fws}
        print(
            f"{title} (MB, min of {args.reps} processes): "
            + ", ".join(f"{fw} {p:.1f}" for fw, p in peaks.items())
            + (f"  ratio {peaks['cr'] / peaks['torch']:.2f}x" if "torch" in peaks else "")
        )
    rep = run("cr", "report")
    print(
        f"chainrule tracemalloc peak of a step: {rep['tracemalloc_step_peak_mb']:.1f} MB; "
        f"live after forward: {rep['forward_live_mb']:.1f} MB; conv workspace held: "
        f"{rep['workspace_mb']:.1f} MB"
    )
    _table(
        "chainrule saved for backward at the end of forward:",
        rep["saved_by_op"],
        int(rep["saved_total_mb"] * 2**20),
    )
    if not args.skip_torch:
        by_op, total = torch_saved_bytes()
        _table("PyTorch saved for backward at the end of forward:", by_op, total)


if __name__ == "__main__":
    main()
