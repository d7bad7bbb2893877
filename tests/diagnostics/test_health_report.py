"""``HealthReport`` is a list of findings with ``loss`` and ``recorder`` attributes, and it
compares as that list (issue 10, item 6: it used to be a ``@dataclass`` without fields, so
every report compared equal to every other)."""

from __future__ import annotations

from chainrule.diagnostics import Finding, HealthReport


def _finding(kind: str) -> Finding:
    return Finding(kind, None, "warning", f"{kind} found")


def test_reports_with_different_findings_differ():
    a = HealthReport([_finding("dead_relu")], recorder=None, loss=2.3)
    b = HealthReport([_finding("vanishing_gradients")], recorder=None, loss=2.3)
    empty = HealthReport([], recorder=None, loss=2.3)
    assert a != b and a != empty and b != empty
    assert a == HealthReport([_finding("dead_relu")], recorder=None, loss=0.1)  # the findings
    assert empty == [] and not empty


def test_report_is_the_list_of_its_findings():
    f = _finding("dead_relu")
    rep = HealthReport([f], recorder="rec", loss=1.5)
    assert list(rep) == [f] and len(rep) == 1 and rep[0] is f
    assert rep.kinds() == {"dead_relu"} and rep.loss == 1.5 and rep.recorder == "rec"
    assert str(rep).startswith("loss 1.5\nWARNING: dead_relu")
    assert repr(rep) == repr([f])
