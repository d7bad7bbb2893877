"""Moving code between files must not change the public namespace.

``public_names.json`` is a snapshot, taken before the layout clean-up of issue 10 (item 3),
of the public names of the namespaces users import: ``chainrule``, ``Tensor`` methods,
``nn.functional``, ``utils.data``, ``data`` and its subpackages, ``train`` and ``ops``.
Every one of them must still resolve. (A name may be added; none may disappear. Leaked
module-level helpers such as ``typing.Any`` were left out of the snapshot.)
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

import chainrule as cr

_SNAPSHOT = json.loads((Path(__file__).parent / "public_names.json").read_text())


def _namespace(name: str) -> object:
    return cr.Tensor if name == "chainrule.Tensor" else importlib.import_module(name)


@pytest.mark.parametrize("namespace", sorted(_SNAPSHOT))
def test_every_public_name_still_resolves(namespace: str) -> None:
    obj = _namespace(namespace)
    missing = [n for n in _SNAPSHOT[namespace] if not hasattr(obj, n)]
    assert not missing, f"{namespace} lost public names: {missing}"


def test_tensor_methods_and_functions_agree() -> None:
    # a name that is both ``cr.f`` and ``Tensor.f`` computes the same thing either way
    x = cr.tensor([[0.5, 1.5], [2.25, 3.0]], dtype=cr.float64)
    for name in (
        "floor",
        "ceil",
        "round",
        "trunc",
        "log2",
        "log10",
        "triu",
        "tril",
        "count_nonzero",
        "argsort",
    ):
        via_function = getattr(cr, name)(x)
        via_method = getattr(x, name)()
        assert cr.equal(via_function, via_method), name
    values, indices = x.sort(dim=1)
    assert cr.equal(values, cr.sort(x, dim=1).values)
    assert cr.equal(indices, cr.sort(x, dim=1).indices)
    top = x.topk(1, dim=1)
    assert cr.equal(top.values, cr.topk(x, 1, dim=1).values)


def test_data_ptr_is_the_array_address() -> None:
    x = cr.zeros(3)
    assert x.data_ptr() == x._data.ctypes.data
    assert x[1:].data_ptr() == x.data_ptr() + x.element_size()
