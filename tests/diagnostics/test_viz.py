"""cr.viz.draw_graph: DOT structure, rendering, and the graph CLI."""

from __future__ import annotations

import re
import shutil

import pytest

import chainrule as cr
from chainrule.cli import main

pytest.importorskip("graphviz")


def _edges(src: str) -> set:
    return set(re.findall(r"(\w+) -> (\w+)", src))


def _labels(src: str) -> dict:
    found = re.finditer(r'(\w+) \[label=(?:"([^"]*)"|(\w+))', src)
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in found}


def test_expression_graph_nodes_and_edges():
    ev = cr.explain.evaluate("(x1+x2)*x3-x4", {"x1": 5, "x2": 4, "x3": 3, "x4": 2})
    g = cr.viz.draw_graph(ev.output, inputs=ev.inputs)
    src = g.source
    labels = _labels(src)
    by_first = {v.split("\n")[0]: k for k, v in labels.items()}
    add, mul, sub = "AddBackward0", "MulBackward0", "SubBackward0"  # PyTorch's node names
    assert {"x1", "x2", "x3", "x4", add, mul, sub, "output"} <= set(by_first)
    edges = _edges(src)
    expect = {
        ("x1", add),
        ("x2", add),
        (add, mul),
        ("x3", mul),
        (mul, sub),
        ("x4", sub),
        (sub, "output"),
    }
    for a, b in expect:  # data-flow direction: input -> op -> output
        assert (by_first[a], by_first[b]) in edges
    assert len(edges) == len(expect)
    assert "= 25" in labels[by_first["output"]]


def test_parameters_shapes_and_grads():
    w = cr.nn.Parameter(cr.randn(3, 4))
    b = cr.nn.Parameter(cr.zeros(3))
    x = cr.randn(2, 4)
    out = ((x @ w.T) + b).relu().sum()
    g = cr.viz.draw_graph(out, params={"weight": w, "bias": b}, show_saved=True)
    labels = list(_labels(g.source).values())
    assert any(lbl.startswith("weight\n(3, 4)") for lbl in labels)
    assert any(lbl.startswith("bias\n(3,)") for lbl in labels)
    assert any(lbl.startswith("ReluBackward0\n(2, 3)") for lbl in labels)
    assert any("saved:" in lbl for lbl in labels)
    out.backward()
    g2 = cr.viz.draw_graph(out, params={"weight": w, "bias": b}, show_grads=True)
    assert "grad " in g2.source


def test_saved_shapes_inside_saved_tensors_hooks():
    """Values packed by saved_tensors_hooks still show their shapes (the same labels)."""
    w = cr.nn.Parameter(cr.randn(3, 4))
    x = cr.randn(2, 4)
    plain = cr.viz.draw_graph((x @ w.T).relu().sum(), show_saved=True).source
    with cr.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
        out = (x @ w.T).relu().sum()
    hooked = cr.viz.draw_graph(out, show_saved=True).source
    assert "saved: (2, 3)" in hooked
    assert sorted(_labels(hooked).values()) == sorted(_labels(plain).values())


def test_shared_leaf_drawn_once():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x + x.sin()
    src = cr.viz.draw_graph(y, inputs={"x": x}).source
    assert sum(1 for v in _labels(src).values() if v.startswith("x")) == 1


def test_no_graph_is_an_error():
    with pytest.raises(ValueError, match="grad_fn"):
        cr.viz.draw_graph(cr.tensor([1.0]))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
def test_render_svg(tmp_path):
    ev = cr.explain.evaluate("x1*x2+sin(x2)", {"x1": 2, "x2": 3})
    path = cr.viz.render(cr.viz.draw_graph(ev.output, inputs=ev.inputs), str(tmp_path / "g.svg"))
    with open(path) as fh:
        text = fh.read()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "Sin" in text
    assert "<svg" in cr.viz.draw_graph(ev.output)._repr_image_svg_xml()


def test_render_without_dot_says_how_to_install(monkeypatch, tmp_path):
    ev = cr.explain.evaluate("x1*x2", {"x1": 2, "x2": 3})
    g = cr.viz.draw_graph(ev.output)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.render(str(tmp_path / "g"), format="svg")


def test_cli_graph(capsys, tmp_path):
    assert main(["graph", "(x1+x2)*x3-x4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph") and "Mul" in out
    dot_file = tmp_path / "g.dot"
    assert main(["graph", "exp(w*x+b)", "--out", str(dot_file)]) == 0
    assert "Exp" in dot_file.read_text()
