"""ParameterList / ParameterDict: PyTorch's names, state_dict layout and behaviour."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def _arrays(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s) for s in shapes]


class _Both:
    """The same model in both frameworks: a ParameterList and a ParameterDict of weights."""

    @staticmethod
    def build(lib, arrays, keys):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.ws = lib.nn.ParameterList(lib.nn.Parameter(lib.tensor(a)) for a in arrays)
                self.named = lib.nn.ParameterDict(
                    {k: lib.nn.Parameter(lib.tensor(a)) for k, a in zip(keys, arrays)}
                )

            def forward(self, x):
                for w in self.ws:
                    x = x @ w
                for w in self.named.values():
                    x = x @ w
                return (x**2).sum()

        return Net()


def test_state_dict_names_values_and_grads_match_torch():
    arrays = _arrays((3, 3), (3, 3))
    keys = ["zeta", "alpha"]  # a plain dict is inserted in sorted key order, as in torch
    mt, mc = _Both.build(torch, arrays, keys), _Both.build(cr, arrays, keys)
    assert list(mc.state_dict()) == list(mt.state_dict())
    assert [k for k, _ in mc.named_parameters()] == [k for k, _ in mt.named_parameters()]
    x = _arrays((2, 3))[0]
    lt, lc = mt(torch.tensor(x)), mc(cr.tensor(x))
    lt.backward()
    lc.backward()
    np.testing.assert_allclose(float(lc.data), lt.item(), rtol=1e-12)
    for (k, pt), (_, pc) in zip(mt.named_parameters(), mc.named_parameters()):
        np.testing.assert_allclose(pc.grad.data, pt.grad.numpy(), rtol=1e-12, err_msg=k)
    sd = {k: cr.tensor(v.numpy() * 2) for k, v in mt.state_dict().items()}
    mc.load_state_dict(sd)
    np.testing.assert_allclose(mc.ws[1].data, 2 * arrays[1])


def test_parameter_list_operations():
    pl = nn.ParameterList([cr.ones(2), nn.Parameter(cr.zeros(3))])
    assert isinstance(pl[0], nn.Parameter) and pl[0].requires_grad  # tensors are wrapped
    pl.append(cr.ones(4))
    pl.extend([cr.ones(5)])
    pl += [cr.ones(6)]
    assert len(pl) == 5 and [p.shape[0] for p in pl] == [2, 3, 4, 5, 6]
    assert pl[-1].shape == (6,)
    assert [p.shape[0] for p in pl[1:3]] == [3, 4] and isinstance(pl[1:3], nn.ParameterList)
    pl[0] = cr.full((7,), 2.0)
    assert pl[0].shape == (7,) and [k for k, _ in pl.named_parameters()][0] == "0"
    with pytest.raises(IndexError):
        pl[5]
    with pytest.raises(TypeError):
        pl.extend(cr.ones(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        pl(cr.ones(1))
    pl.append("not a tensor")  # stored as a plain attribute, not a parameter (torch too)
    assert pl[5] == "not a tensor" and len(list(pl.parameters())) == 5
    assert "(5): Object of type: str" in repr(pl)
    assert repr(pl).startswith("ParameterList(\n    (0): Parameter containing: [")


def test_parameter_dict_operations():
    pd = nn.ParameterDict(OrderedDict([("b", cr.ones(1)), ("a", cr.ones(2))]))
    assert list(pd) == ["b", "a"] and "a" in pd and len(pd) == 2
    pd.update([("c", cr.ones(3))])
    pd["d"] = nn.Parameter(cr.ones(4))
    assert list(pd.keys()) == ["b", "a", "c", "d"]
    assert pd.get("zz") is None and pd.setdefault("e", cr.ones(5)).shape == (5,)
    assert pd.pop("b").shape == (1,) and "b" not in pd
    k, v = pd.popitem()
    assert k == "e" and v.shape == (5,)
    merged = pd | nn.ParameterDict({"z": cr.ones(1)})
    assert list(merged) == ["a", "c", "d", "z"] and merged["a"] is pd["a"]
    pd |= {"y": cr.ones(1)}
    assert list(pd)[-1] == "y"
    assert [k for k, _ in pd.named_parameters()] == ["a", "c", "d", "y"]
    del pd["a"]
    with pytest.raises(KeyError):
        pd["a"]
    with pytest.raises(KeyError, match=r"\."):
        pd["a.b"] = cr.ones(1)
    with pytest.raises(KeyError, match="clashes"):
        pd["update"] = cr.ones(1)
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


def test_to_and_double_reach_contained_parameters():
    m = nn.Module()
    m.pl = nn.ParameterList([cr.ones(2, dtype=cr.float32)])
    m.pd = nn.ParameterDict({"w": cr.ones(2, dtype=cr.float32)})
    m.double()
    assert m.pl[0].dtype == np.float64 and m.pd["w"].dtype == np.float64
