"""Tensor-valued records of ``SummaryWriter``: raw tensors, PR curves, meshes and the custom
scalars layout, encoded as ``torch.utils.tensorboard`` encodes them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

# numpy dtype name -> (TensorProto dtype, value field, how the values are stored)
_TENSOR_FIELDS = {
    "float32": ("DT_FLOAT", "float_val", None),
    "float64": ("DT_DOUBLE", "double_val", None),
    "float16": ("DT_HALF", "half_val", "f32bits"),
    "bfloat16": ("DT_BFLOAT16", "half_val", "f32bits"),
    "int8": ("DT_INT8", "int_val", None),
    "int16": ("DT_INT16", "int_val", None),
    "int32": ("DT_INT32", "int_val", None),
    "int64": ("DT_INT64", "int64_val", None),
    "uint8": ("DT_UINT8", "uint32_val", None),
    "bool": ("DT_BOOL", "bool_val", None),
    "complex64": ("DT_COMPLEX64", "scomplex_val", "complex"),
    "complex128": ("DT_COMPLEX128", "dcomplex_val", "complex"),
}


def tensor_proto(pb: Any, arr: np.ndarray) -> Any:
    """``arr`` as a TensorProto with its values in the typed field PyTorch uses (half and
    bfloat16 values as the bits of their float32 value, as PyTorch stores them)."""
    name = arr.dtype.name
    if name not in _TENSOR_FIELDS:
        raise NotImplementedError(f"add_tensor: tensors of dtype {name} are not supported")
    dtype, field, how = _TENSOR_FIELDS[name]
    flat = arr.ravel()
    if how == "f32bits":
        values = flat.astype(np.float32).view(np.int32).tolist()
    elif how == "complex":
        values = np.stack([flat.real, flat.imag], -1).ravel().tolist()
    else:
        values = flat.tolist()
    shape = pb.TensorShapeProto(dim=[pb.TensorShapeProto.Dim(size=int(s)) for s in arr.shape])
    return pb.TensorProto(dtype=dtype, tensor_shape=shape, **{field: values})


def tensor_value(pb: Any, tag: str, arr: np.ndarray) -> Any:
    summary_pb2 = pb.summary
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="tensor")
    )
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor_proto(pb, arr), metadata=meta)


def pr_curve_data(
    labels: np.ndarray, predictions: np.ndarray, num_thresholds: int, weights: Any
) -> np.ndarray:
    """(6, num_thresholds): TP, FP, TN, FN, precision, recall at thresholds ``i/(n-1)``."""
    labels = labels.ravel().astype(bool)
    predictions = predictions.ravel()
    if not np.issubdtype(predictions.dtype, np.floating):
        predictions = predictions.astype(np.float64)
    w = np.ones(predictions.shape) if weights is None else np.asarray(weights, np.float64).ravel()
    w = np.broadcast_to(w, predictions.shape)
    scale = predictions.dtype.type(num_thresholds - 1)  # in the predictions' precision
    buckets = np.floor(predictions * scale).astype(np.int64)
    buckets = np.clip(buckets, 0, num_thresholds - 1)
    tp_hist = np.bincount(buckets, weights=w * labels, minlength=num_thresholds)
    fp_hist = np.bincount(buckets, weights=w * ~labels, minlength=num_thresholds)
    tp = np.cumsum(tp_hist[::-1])[::-1]
    fp = np.cumsum(fp_hist[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return np.stack([tp, fp, tn, fn, precision, recall]).astype(np.float32)


def pr_curve_value(pb: Any, tag: str, data: np.ndarray, num_thresholds: int) -> Any:
    summary_pb2 = pb.summary
    content = pb.pr_plugin(version=0, num_thresholds=num_thresholds).SerializeToString()
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="pr_curves", content=content
        ),
    )
    tensor = tensor_proto(pb, np.asarray(data, np.float32))
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)


def mesh_values(pb: Any, tag: str, parts: dict[str, np.ndarray | None], config: Any) -> list:
    """One value per given part (``VERTEX``, ``FACE``, ``COLOR``), tagged ``<tag>_<PART>``,
    each with the mesh plugin's metadata (the parts present as a bit mask)."""
    summary_pb2, mesh = pb.summary, pb.mesh_plugin
    present = {k: v for k, v in parts.items() if v is not None}
    components = 0
    for k in present:
        components |= 1 << mesh.ContentType.Value(k)
    json_config = json.dumps(config if config is not None else {}, sort_keys=True)
    values = []
    for k, arr in present.items():
        content = mesh(
            version=0,
            name=tag,
            content_type=mesh.ContentType.Value(k),
            json_config=json_config,
            shape=[int(s) for s in arr.shape],
            components=components,
        ).SerializeToString()
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="mesh", content=content),
        )
        tensor = tensor_proto(pb, np.asarray(arr, np.float32))
        values.append(summary_pb2.Summary.Value(tag=f"{tag}_{k}", tensor=tensor, metadata=meta))
    return values


def custom_scalars_value(pb: Any, layout: dict) -> Any:
    """The ``custom_scalars__config__`` value of ``layout``: ``{category: {title: [kind,
    tags]}}``, kind ``'Margin'`` (three tags: value, lower, upper) or else a multiline chart."""
    summary_pb2, lp = pb.summary, pb.layout
    categories = []
    for category, charts in layout.items():
        chart_protos = []
        for title, (kind, tags) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                series = lp.MarginChartContent.Series(value=tags[0], lower=tags[1], upper=tags[2])
                chart = lp.Chart(title=title, margin=lp.MarginChartContent(series=[series]))
            else:
                chart = lp.Chart(title=title, multiline=lp.MultilineChartContent(tag=tags))
            chart_protos.append(chart)
        categories.append(lp.Category(title=category, chart=chart_protos))
    tensor = pb.TensorProto(
        dtype="DT_STRING",
        tensor_shape=pb.TensorShapeProto(),
        string_val=[lp.Layout(category=categories).SerializeToString()],
    )
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="custom_scalars"),
    )
    return summary_pb2.Summary.Value(tag="custom_scalars__config__", tensor=tensor, metadata=meta)
