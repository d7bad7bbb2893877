"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.metrics import (
    AverageMeter,
    MetricTracker,
    accuracy,
    confusion_matrix,
    top_k_accuracy,
)

LOGITS = np.array(
    [
        [2.0, 1.0, 0.1],  # pred 0, target 0: hit
        [0.5, 0.2, 0.9],  # pred 2, target 1: miss; 2nd best is 0
        [0.1, 3.0, 0.2],  # pred 1, target 1: hit
        [1.0, 0.3, 0.7],
    ]
)  # pred 0, target 2: miss; 2nd best is 2
TARGET = np.array([0, 1, 1, 2])


def test_accuracy_from_logits_and_labels():
    assert accuracy(cr.tensor(LOGITS), cr.tensor(TARGET)) == 0.5
    assert accuracy(np.array([0, 2, 1, 0]), TARGET) == 0.5
    assert math.isnan(accuracy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)))
    with pytest.raises(ValueError, match="3 predictions but 4 targets"):
        accuracy(LOGITS[:3], TARGET)


def test_top_k_accuracy():
    assert top_k_accuracy(LOGITS, TARGET, k=1) == 0.5
    assert top_k_accuracy(LOGITS, TARGET, k=2) == 0.75  # row 3's target is 2nd best
    assert top_k_accuracy(LOGITS, TARGET, k=3) == 1.0
    with pytest.raises(ValueError, match="k=4"):
        top_k_accuracy(LOGITS, TARGET, k=4)


def test_confusion_matrix():
    cm = confusion_matrix(LOGITS, TARGET)
    expected = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == 4 and np.trace(cm) == 2
    np.testing.assert_array_equal(
        confusion_matrix(np.array([1, 1]), np.array([0, 1]), num_classes=3),
        [[0, 1, 0], [0, 1, 0], [0, 0, 0]],
    )
    with pytest.raises(ValueError, match="labels must lie"):
        confusion_matrix(np.array([5]), np.array([0]), num_classes=3)


def test_average_meter_is_sample_weighted():
    m = AverageMeter("loss")
    assert math.isnan(m.avg)
    m.update(1.0, n=2)
    m.update(4.0, n=1)
    assert m.avg == 2.0 and m.count == 3 and m.val == 4.0


def test_metric_tracker_accumulates_over_batches():
    t = MetricTracker()
    t.update(1.0, LOGITS[:2], TARGET[:2])  # 1 of 2 correct
    t.update(3.0, LOGITS[2:], TARGET[2:])  # 1 of 2 correct
    assert t.result() == {"loss": 2.0, "acc": 0.5}
    reg = MetricTracker()
    reg.update(0.5, np.zeros((3, 1)), np.zeros((3, 1), dtype=np.float32))
    assert reg.result() == {"loss": 0.5}  # no accuracy for regression targets
