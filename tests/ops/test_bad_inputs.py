"""Bad inputs for every op spec, compared with PyTorch (issue 9 §5, issue 10 item 7).

Every spec in op_specs.SPECS gets the systematic mutations of tests/ops/bad_inputs.py (int64
inputs, one rank too many or too few, an empty first dimension, a last input that does not
broadcast) and its own ``OpSpec.bad`` cases. For each, chainrule must do what PyTorch does:

* PyTorch raises -> chainrule raises an exception of a compatible type (an instance of
  PyTorch's class: ``ShapeError`` is both ``ValueError`` and ``RuntimeError``), whose message
  is PyTorch's first line word for word or names the op (CONTRIBUTING.md, "Error messages");
* PyTorch returns -> chainrule returns the same values, shapes and dtypes.

Where chainrule still differs, :data:`KNOWN` says how and why; the table is exact, so fixing
an op means deleting its line (the test fails until then).
"""

from __future__ import annotations

import pytest

from .bad_inputs import compare, mutations
from .known_bad_input_differences import KNOWN
from .op_specs import SPECS, OpSpec, make_inputs

CASES = [
    (spec, bad) for spec in SPECS for bad in mutations(spec, make_inputs(spec, spec.shapes[0]))
]

# Where the message names the op's own public name differently from the spec's name.
ALIASES = {
    "getitem": "index",
    "softmax0": "softmax",
    "cat0": "cat",
    "F_bce": "binary_cross_entropy",
    "F_sdpa": "scaled_dot_product_attention",
}


def op_names(spec: OpSpec) -> set:
    """Names a clear error message for ``spec`` may use: the spec's name, its parts, the
    PyTorch name it resolves to and a documented alias."""
    base = spec.name[2:] if spec.name.startswith("F_") else spec.name
    names = {base} | {part for part in base.split("_") if len(part) >= 3}
    if isinstance(spec.fn, str):
        names.add(spec.fn.split(".")[-1])
    names |= {alias for prefix, alias in ALIASES.items() if spec.name.startswith(prefix)}
    return names


def torch_words(torch_error: BaseException, cr_error: BaseException) -> bool:
    """Whether chainrule's message starts with PyTorch's first line, word for word: the
    project's rule where PyTorch has a message (its own words, which code matching on
    PyTorch's text relies on, even where they name no op)."""
    first = str(torch_error).split("\n")[0].strip()
    return bool(first) and str(cr_error).startswith(first)


def outcome_code(spec: OpSpec, bad) -> str:
    """ "same", or how chainrule differs from PyTorch on this bad input."""
    out = compare(spec, bad)
    if out.kind == "both_raise":
        if not isinstance(out.cr_error, type(out.torch_error)):
            return f"type:{type(out.torch_error).__name__}->{type(out.cr_error).__name__}"
        if torch_words(out.torch_error, out.cr_error):
            return "same"
        if not any(name in str(out.cr_error) for name in op_names(spec)):
            return "unnamed"
        return "same"
    if out.kind == "both_ok":
        return "same" if out.same_value else "value_differs"
    return out.kind


@pytest.mark.parametrize("spec,bad", CASES, ids=[f"{s.id}-{b.label}" for s, b in CASES])
def test_bad_input_raises_or_returns_like_torch(spec, bad):
    got = outcome_code(spec, bad)
    want = KNOWN.get((spec.id, bad.label), ("same", ""))[0]
    assert got == want, (
        f"{spec.id} with {bad.label} input: {got!r}, expected {want!r} -- "
        f"{compare(spec, bad).detail or compare(spec, bad).cr_error}. If chainrule now matches "
        "PyTorch, delete the entry from tests/ops/known_bad_input_differences.py"
    )


def test_known_differences_are_all_live_cases():
    ids = {(s.id, b.label) for s, b in CASES}
    assert set(KNOWN) <= ids, set(KNOWN) - ids
    assert all(reason for _, reason in KNOWN.values())
