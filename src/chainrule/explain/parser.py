"""A safe parser for small math expressions such as ``"(x1+x2)*x3-x4"``.

The text is parsed with Python's :mod:`ast` and only a whitelist of node types is
accepted: numbers, variable names, ``+ - * / **``, unary minus/plus and calls of a fixed set
of functions (``exp``, ``log``, ``sin`` ...). Nothing is ever passed to ``eval``; any other
construct (attributes, subscripts, lambdas, keyword arguments ...) is rejected with a
``ValueError`` that says what is allowed.

Evaluating the parsed expression with :func:`evaluate` builds a chainrule graph and names
every intermediate result ``a, b, c, ...`` in forward order (the output is ``f``), the way
the lectures label a computation graph.
"""

from __future__ import annotations

import ast
import math
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import dtypes, ops
from ..autograd.tensor import Tensor

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _functions() -> dict[str, Callable]:
    return {
        "exp": ops.exp,
        "log": ops.log,
        "sin": ops.sin,
        "cos": ops.cos,
        "tan": ops.tan,
        "tanh": ops.tanh,
        "sigmoid": ops.sigmoid,
        "relu": ops.relu,
        "sqrt": ops.sqrt,
        "abs": ops.abs,
        "log1p": ops.log1p,
        "expm1": ops.expm1,
        "softplus": ops.softplus,
        "square": ops.square,
        "erf": ops.erf,
    }


ALLOWED_FUNCTIONS = (
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "relu",
    "sqrt",
    "abs",
    "log1p",
    "expm1",
    "softplus",
    "square",
    "erf",
)


def parse(text: str) -> ast.expr:
    """Parse ``text`` and check that it uses only the allowed constructs.

    Raises:
        ValueError: on a syntax error or any construct outside the whitelist.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expression: expected a non-empty string such as '(x1+x2)*x3-x4'")
    if len(text) > 2000:
        raise ValueError(f"expression: too long ({len(text)} characters; at most 2000)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"expression: cannot parse {text!r}: {err.msg}") from None
    except (RecursionError, MemoryError, ValueError):  # deep nesting, over-long int literals
        raise ValueError(
            f"expression: cannot parse {text[:60]!r}...: it is nested too deeply "
            f"or holds a literal that is too long (at most {MAX_DEPTH} levels)"
        ) from None
    _check_size(tree.body)
    _check(tree.body, text)
    return tree.body


MAX_DEPTH = 400
MAX_OPS = 1000


def _check_size(root: ast.AST) -> None:
    """Reject trees deeper than ``MAX_DEPTH`` or with more than ``MAX_OPS`` operations
    (walked iteratively, so the check itself cannot overflow the stack)."""
    stack, ops = [(root, 1)], 0
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(
                f"expression: nested more than {MAX_DEPTH} levels deep; split it "
                "into smaller expressions"
            )
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)):
            ops += 1
            if ops > MAX_OPS:
                raise ValueError(
                    f"expression: more than {MAX_OPS} operations; the explainer "
                    "walks graphs of at most that size"
                )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(  # noqa: TRY004 - a disallowed construct, not a wrong type
                f"expression {text!r}: only numeric constants are allowed, got {node.value!r}"
            )
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:
            finite = False
        if not finite:
            raise ValueError(
                "expression: a numeric literal is too large for a float64 (at most about 1.8e308)"
            )
    elif isinstance(node, ast.Name):
        if node.id in ALLOWED_FUNCTIONS:
            raise ValueError(
                f"expression {text!r}: {node.id!r} is a function; call it as {node.id}(...)"
            )
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ValueError(
                f"expression {text!r}: operator {type(node.op).__name__} is not "
                "allowed; use + - * / **"
            )
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ValueError(  # noqa: TRY004
                f"expression {text!r}: only unary minus/plus are allowed"
            )
        _check(node.operand, text)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in ALLOWED_FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.dump(node.func)
            raise ValueError(
                f"expression {text!r}: function {name!r} is not allowed; allowed: "
                f"{', '.join(ALLOWED_FUNCTIONS)}"
            )
        if node.keywords or len(node.args) != 1:
            raise ValueError(
                f"expression {text!r}: {node.func.id}() takes exactly one positional argument"
            )
        _check(node.args[0], text)
    else:
        raise ValueError(  # noqa: TRY004
            f"expression {text!r}: {type(node).__name__} is not allowed; use "
            "numbers, variable names, + - * / **, unary minus and "
            f"{', '.join(ALLOWED_FUNCTIONS)}"
        )


def variables(text: str) -> list[str]:
    """The variable names used in ``text``, in order of first appearance in the source."""
    tree = parse(text)
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    pos: dict[str, tuple] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in funcs:
            key = (node.lineno, node.col_offset)
            if node.id not in pos or key < pos[node.id]:
                pos[node.id] = key
    return sorted(pos, key=lambda n: pos[n])


@dataclass
class Evaluated:
    """The result of :func:`evaluate`: output tensor plus the names of every value."""

    output: Any
    inputs: dict  # name -> leaf Tensor
    intermediates: dict  # name -> non-leaf Tensor (forward order; the output last)
    formulas: dict = field(default_factory=dict)  # name -> "x1 + x2"


def evaluate(text: str, values: dict[str, float], dtype: Any = None) -> Evaluated:
    """Build the graph of ``text`` at ``values`` (name -> number or array).

    Each variable becomes a leaf tensor with ``requires_grad=True``; each op's result is
    named ``a, b, c, ...`` in the order it is computed and the final result ``f``.

    Raises:
        ValueError: for a disallowed construct or a variable without a value.
    """
    tree = parse(text)
    names = variables(text)
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(
            f"expression {text!r}: no value for {', '.join(missing)}; pass them as "
            "--at " + ",".join(f"{n}=..." for n in names)
        )
    dtype = dtype or dtypes.float64
    inputs = {n: Tensor._new(values[n], dtype=dtype, requires_grad=True) for n in names}
    funcs = _functions()
    inter: dict = {}
    formulas: dict = {}
    labels = iter(_labels(set(names)))

    def name_of(v) -> str:
        for k, t in list(inputs.items()) + list(inter.items()):
            if t is v:
                return k
        return _fmt_const(v)

    def record(t, formula: str):
        label = next(labels)
        inter[label] = t
        formulas[label] = formula
        return t

    def ev(node: ast.AST):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return inputs[node.id]
        if isinstance(node, ast.UnaryOp):
            x = ev(node.operand)
            if isinstance(node.op, ast.UAdd):
                return x
            if not isinstance(x, Tensor):
                return -x
            return record(-x, f"-{name_of(x)}")
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            sym = _BINOPS[type(node.op)]
            if not isinstance(a, Tensor) and not isinstance(b, Tensor):
                return _const_op(sym, a, b)
            out = _apply(sym, a, b)
            return record(out, f"{name_of(a)} {sym} {name_of(b)}")
        if isinstance(node, ast.Call):
            x = ev(node.args[0])
            fn = funcs[node.func.id]
            if not isinstance(x, Tensor):
                x = Tensor._new(x, dtype=dtype)
                return fn(x).item()
            return record(fn(x), f"{node.func.id}({name_of(x)})")
        raise ValueError(f"expression: unexpected node {type(node).__name__}")  # pragma: no cover

    out = ev(tree)
    if not isinstance(out, Tensor) or not inter:
        raise ValueError(f"expression {text!r}: it has no operation on a variable to differentiate")
    # rename the output to f (the lectures' convention)
    last = list(inter)[-1]
    if "f" not in names:
        inter["f"] = inter.pop(last)
        formulas["f"] = formulas.pop(last)
    return Evaluated(out, inputs, inter, formulas)


def _labels(taken: set) -> list[str]:
    out = [c for c in string.ascii_lowercase if c not in taken and c != "f"]
    out += [f"a{i}" for i in range(1, 1000) if f"a{i}" not in taken]
    return out


def _apply(sym: str, a, b):
    fn = {"+": ops.add, "-": ops.sub, "*": ops.mul, "/": ops.div, "**": ops.pow}[sym]
    return fn(a, b)


def _const_op(sym: str, a: float, b: float) -> float:
    try:
        out = _const_op_unchecked(sym, a, b)
    except (OverflowError, ZeroDivisionError):
        out = float("inf")
    if isinstance(out, complex) or not math.isfinite(out):
        raise ValueError(
            f"expression: the constant sub-expression {_fmt_const(a)} {sym} "
            f"{_fmt_const(b)} is not a finite real number"
        )
    return out


def _const_op_unchecked(sym: str, a: float, b: float) -> float:
    if sym == "+":
        return a + b
    if sym == "-":
        return a - b
    if sym == "*":
        return a * b
    if sym == "/":
        if b == 0:
            raise ValueError("expression: division by zero in a constant sub-expression")
        return a / b
    return float(a) ** b


def _fmt_const(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


def parse_assignments(text: str) -> dict[str, float]:
    """Parse ``"x1=5,x2=4"`` into ``{"x1": 5.0, "x2": 4.0}``.

    Raises:
        ValueError: for a malformed item or a non-numeric value.
    """
    out: dict[str, float] = {}
    if not text:
        return out
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"--at: expected name=value, got {item!r} (e.g. x1=5,x2=4)")
        name, val = (s.strip() for s in item.split("=", 1))
        if not name.isidentifier():
            raise ValueError(f"--at: {name!r} is not a valid variable name")
        try:
            out[name] = float(val)
        except ValueError:
            raise ValueError(f"--at: value for {name!r} must be a number, got {val!r}") from None
    return out
