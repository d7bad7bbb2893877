"""``cr.onnx``: the part of ``torch.onnx`` that model code calls while it runs.

Models and libraries branch on ``torch.onnx.is_in_onnx_export()`` inside ``forward`` (mmcv's
``CornerPool``, YOLO and detection heads pick an export-friendly path when it is True). chainrule
has no ONNX exporter, so no forward ever runs inside an export and the answer is always False:
the eager path runs, as it does in PyTorch outside ``torch.onnx.export``.

Not provided: ``export`` and the symbolic-function registry (``register_custom_op_symbolic``,
``symbolic_opset*``), which only serve an exporter.
"""

from __future__ import annotations

__all__ = ["is_in_onnx_export"]


def is_in_onnx_export() -> bool:
    """False: chainrule has no ONNX export, so code never runs in the middle of one
    (``torch.onnx.is_in_onnx_export``)."""
    return False


_EXPORTER_ONLY = frozenset(
    {"export", "dynamo_export", "register_custom_op_symbolic", "unregister_custom_op_symbolic"}
)


def __getattr__(name: str) -> object:
    """The exporter's entry points name themselves as not implemented (instead of a bare
    AttributeError), so a script calling ``torch.onnx.export`` learns why it stops."""
    if name in _EXPORTER_ONLY:
        raise NotImplementedError(
            f"chainrule.onnx.{name}: chainrule has no ONNX exporter (only "
            "is_in_onnx_export is provided); cr.export.export gives a traced program instead"
        )
    raise AttributeError(f"module 'chainrule.onnx' has no attribute {name!r}")
