"""Where chainrule's answer to a bad input still differs from PyTorch's, and why.

Read by tests/ops/test_bad_inputs.py, which asserts that this table is exact: a case that now
matches PyTorch fails until its line is deleted. Keys are ``(spec id, bad-input label)``;
values ``(outcome, reason)`` where outcome is one of ``type:<torch>-><chainrule>`` (both
raise, with incompatible exception classes), ``unnamed`` (chainrule's message does not name
the op), ``only_torch_raises``, ``only_cr_raises`` or ``value_differs``.
"""

from __future__ import annotations

__all__ = ["KNOWN"]

R_SPEC_COMPOSES = (
    "mlp_chain is a chain of ops, (x @ w + b).tanh().sum(1).sigmoid(): a bad input is "
    "refused by the op of the chain that meets it (add, sum), whose clear error names that "
    "op, not the chain, as in PyTorch"
)

KNOWN: dict = {
    ("mlp_chain", "mismatch"): ("unnamed", R_SPEC_COMPOSES),
    ("mlp_chain", "rank_minus_1"): ("unnamed", R_SPEC_COMPOSES),
}
