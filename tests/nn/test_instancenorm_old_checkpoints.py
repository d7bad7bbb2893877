"""InstanceNorm loading checkpoints from before PyTorch 0.4.0 (no version metadata, running
stats present) against torch: the keys dropped, the error text, ``strict=False`` too."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

import chainrule as cr


def load(
    lib, keys, meta, *, strict=True, cls="InstanceNorm1d", affine=False, track=False, nested=False
):
    """Load a state dict with ``keys`` (and ``_metadata`` ``meta``); return what happened:
    ("ok", missing, unexpected) or ("error", type, text), and the keys left in the dict."""
    layer = getattr(lib.nn, cls)(3, affine=affine, track_running_stats=track)
    model = lib.nn.Sequential(layer) if nested else layer
    prefix = "0." if nested else ""
    sd = OrderedDict(
        (prefix + k, lib.zeros(()) if k == "num_batches_tracked" else lib.ones(3)) for k in keys
    )
    if meta is not None:
        sd._metadata = meta
    try:
        res = model.load_state_dict(sd, strict=strict)
        out = ("ok", list(res.missing_keys), list(res.unexpected_keys))
    except RuntimeError as err:
        out = ("error", str(err))
    return out, list(sd)


STATS = ["running_mean", "running_var"]
CASES = [
    dict(keys=STATS, meta=None),
    dict(keys=STATS, meta=None, strict=False),
    dict(keys=["running_var"], meta=None, strict=False),
    dict(keys=[*STATS, "num_batches_tracked"], meta=None, strict=False),
    dict(keys=STATS, meta={"": {}}, strict=False),
    dict(keys=STATS, meta={"": {"version": 1}}, strict=False),  # versioned: plain unexpected
    dict(keys=STATS, meta=None, strict=False, cls="InstanceNorm3d", nested=True),
    dict(keys=STATS, meta={"0": {"version": 2}}, strict=False, nested=True),
    dict(keys=STATS, meta=None, track=True),  # tracked: loaded as usual
    dict(keys=["weight", "running_mean"], meta=None, affine=True, cls="InstanceNorm2d"),
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_old_checkpoint_matches_torch(case):
    assert load(cr, **case) == load(torch, **case)


def test_error_text_names_only_the_buffers_found():
    (kind, text), left = load(cr, ["running_var"], None, strict=False)
    assert kind == "error" and left == ["running_var"]  # the caller's dict is not changed
    assert 'buffer(s) "running_var" for InstanceNorm1d with track_running_stats=False' in text
    assert "running_mean" not in text
    (kind, text), _ = load(cr, STATS, None, cls="InstanceNorm2d")
    assert '"running_mean" and "running_var" for InstanceNorm2d' in text
    assert "Unexpected key(s)" not in text
