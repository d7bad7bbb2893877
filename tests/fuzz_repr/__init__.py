"""A fuzzer for printing tensors: random tensors built in torch and chainrule from the same
data, printed with ``str``, ``repr``, ``format`` and f-strings (and inside lists, tuples
and dicts) under the same ``set_printoptions``, compared character for character.

:mod:`.cases` draws the cases, :mod:`.compare` builds, prints and compares them,
:mod:`.hunt` is the long hunt (``python -m tests.fuzz_repr.hunt COUNT SEED``)."""

__all__: list[str] = []
