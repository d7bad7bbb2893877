"""The result of :func:`chainrule.explain.backward`: a step-by-step account of a backward pass.

Rendered as lecture-style text (``str(e)``), a plain-text table (``e.table()``), Markdown
(``e.to_markdown()``) or a JSON-ready dict (``e.to_dict()`` / ``e.to_json()``). Large
tensors are summarised by shape, mean, std, min and max.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SMALL = 6  # tensors with at most this many elements are printed in full


def fmt(value: Any) -> str:
    """Format a value for text: a number, a short list, or a summary of a large tensor."""
    if value is None:
        return "?"
    arr = np.asarray(value, dtype=float) if not hasattr(value, "get") else np.asarray(value.get())
    if arr.size == 1:
        return _num(float(arr.reshape(())))
    if arr.size <= SMALL:
        return "[" + ", ".join(_num(float(v)) for v in arr.reshape(-1)) + "]"
    return (
        f"{tuple(arr.shape)} mean={_num(arr.mean())} std={_num(arr.std())} "
        f"min={_num(arr.min())} max={_num(arr.max())}"
    )


def jsonable(value: Any) -> Any:
    """A JSON-ready form: float, nested list (small) or a summary dict (large)."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.size == 1:
        return float(arr.reshape(()))
    if arr.size <= SMALL:
        return arr.tolist()
    return {
        "shape": list(arr.shape),
        "mean": float(arr.mean()),
        "std": float(arr.std()),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "norm": float(np.sqrt((arr * arr).sum())),
    }


def _num(v: float) -> str:
    v = float(v)
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


@dataclass
class InputStep:
    """What one op node sends to one of its inputs."""

    name: str
    value: Any  # the input's value, or None if the graph does not hold it
    local: Any  # d(node)/d(input) for elementwise ops; None for vector-Jacobian products
    downstream: Any  # U x L: the gradient sent to this input (summed to its shape)
    broadcast_summed: bool = False
    is_leaf: bool = False


@dataclass
class Step:
    """One op node visited by the backward pass."""

    index: int
    name: str  # label of the node's output (a, b, f, ...)
    op: str  # Add, Mul, ...
    node: str  # AddBackward, ...
    formula: str
    value: Any
    upstream: Any  # U = d(out)/d(this node's output), summed over paths
    upstream_paths: int
    elementwise: bool
    inputs: list[InputStep] = field(default_factory=list)


@dataclass
class Explanation:
    """A backward pass, step by step. ``gradients`` maps leaf names to d(out)/d(leaf)."""

    output_name: str
    output_value: Any
    steps: list[Step]
    gradients: dict
    paths: dict  # leaf name -> number of paths its gradient was summed over

    # ------------------------------------------------------------------ text
    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        grads = ", ".join(f"{k}={fmt(v)}" for k, v in self.gradients.items())
        return f"Explanation({len(self.steps)} steps; gradients: {grads})"

    def to_text(self) -> str:
        """Lecture-style walkthrough: forward values, then each backward step as L x U."""
        o = self.output_name
        lines = ["Forward pass (values):"]
        width = max([len(f"{s.name} = {s.formula}") for s in self.steps] + [1])
        for s in reversed(self.steps):
            lhs = f"{s.name} = {s.formula}"
            lines.append(f"  {lhs:<{width}}  = {fmt(s.value)}")
        lines.append("")
        lines.append(
            "Backward pass (reverse topological order; U = upstream gradient, L = local gradient):"
        )
        for s in self.steps:
            summed = f"  (sum of {s.upstream_paths} paths)" if s.upstream_paths > 1 else ""
            lines.append(
                f"[{s.index}] {s.name} = {s.formula}   ({s.node})   "
                f"U = d{o}/d{s.name} = {fmt(s.upstream)}{summed}"
            )
            for inp in s.inputs:
                target = f"d{o}/d{inp.name}"
                if inp.local is not None:
                    local = np.asarray(inp.local)
                    lines.append(
                        f"      {target} = L x U = d{s.name}/d{inp.name} x d{o}/d{s.name}"
                        f" = {fmt(local)} x {fmt(s.upstream)} = {fmt(inp.downstream)}"
                    )
                else:
                    lines.append(
                        f"      {target} = U . J (vector-Jacobian product of {s.op}; "
                        f"the Jacobian is never formed) = {fmt(inp.downstream)}"
                    )
                if inp.broadcast_summed:
                    lines.append(
                        f"        (summed over broadcast dimensions to {inp.name}'s shape)"
                    )
        lines.append("")
        lines.append("Gradients:")
        lines.extend(self._gradient_lines())
        return "\n".join(lines)

    def _gradient_lines(self) -> list[str]:
        o = self.output_name
        out = []
        parts = self._leaf_parts()
        for n, g in self.gradients.items():
            line = f"  d{o}/d{n} = {fmt(g)}"
            if self.paths.get(n, 1) > 1:
                terms = " + ".join(fmt(p) for p in parts[n])
                line += f"   (gradients from {self.paths[n]} paths summed: {terms})"
            out.append(line)
        return out

    def _leaf_parts(self) -> dict:
        parts: dict = {}
        for s in self.steps:
            for inp in s.inputs:
                if inp.is_leaf:
                    parts.setdefault(inp.name, []).append(inp.downstream)
        return parts

    def table(self) -> str:
        """A plain-text table: one row per (node, input) pair."""
        rows = self._rows()
        head = [
            "step",
            "node",
            "op",
            "input",
            "input value",
            "upstream U",
            "local L",
            "downstream U*L",
        ]
        widths = [
            max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
        ]
        sep = "  "
        out = [
            sep.join(h.ljust(w) for h, w in zip(head, widths)),
            sep.join("-" * w for w in widths),
        ]
        out += [sep.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        out.append("")
        out.extend(self._gradient_lines())
        return "\n".join(out)

    def to_markdown(self) -> str:
        """The table as Markdown, followed by the final gradients."""
        head = [
            "step",
            "node",
            "op",
            "input",
            "input value",
            "upstream U",
            "local L",
            "downstream U·L",
        ]
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self._rows():
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        out.append("")
        o = self.output_name
        for n, g in self.gradients.items():
            note = f" (sum of {self.paths[n]} paths)" if self.paths.get(n, 1) > 1 else ""
            out.append(f"- ∂{o}/∂{n} = {fmt(g)}{note}")
        return "\n".join(out)

    def _rows(self) -> list[list[str]]:
        rows = []
        for s in self.steps:
            up = fmt(s.upstream) + (f" (sum of {s.upstream_paths})" if s.upstream_paths > 1 else "")
            for j, inp in enumerate(s.inputs):
                first = j == 0
                local = fmt(inp.local) if inp.local is not None else f"VJP of {s.op}"
                rows.append(
                    [
                        str(s.index) if first else "",
                        f"{s.name} = {s.formula}" if first else "",
                        s.op if first else "",
                        inp.name,
                        fmt(inp.value),
                        up if first else "",
                        local,
                        fmt(inp.downstream),
                    ]
                )
        return rows

    # ------------------------------------------------------------------ data
    def to_dict(self) -> dict:
        """A JSON-ready structure of the whole explanation."""
        return {
            "output": {"name": self.output_name, "value": jsonable(self.output_value)},
            "steps": [
                {
                    "step": s.index,
                    "name": s.name,
                    "op": s.op,
                    "node": s.node,
                    "formula": s.formula,
                    "value": jsonable(s.value),
                    "upstream": jsonable(s.upstream),
                    "upstream_paths": s.upstream_paths,
                    "elementwise": s.elementwise,
                    "inputs": [
                        {
                            "name": i.name,
                            "value": jsonable(i.value),
                            "local": jsonable(i.local),
                            "downstream": jsonable(i.downstream),
                            "broadcast_summed": i.broadcast_summed,
                            "is_leaf": i.is_leaf,
                        }
                        for i in s.inputs
                    ],
                }
                for s in self.steps
            ],
            "gradients": {n: jsonable(g) for n, g in self.gradients.items()},
            "paths": dict(self.paths),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
