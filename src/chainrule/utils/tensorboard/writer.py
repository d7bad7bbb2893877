"""``SummaryWriter``: TensorBoard event files, as ``torch.utils.tensorboard`` writes them.

The records are TensorBoard's own protocol buffers written by TensorBoard's own event-file
writer (the ``tensorboard`` package, an optional extra: ``pip install "chainrule[tensorboard]"``),
so ``tensorboard --logdir runs`` reads them like PyTorch's. Images are PNG-encoded with Pillow.
"""

from __future__ import annotations

import io
import os
import socket
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._extras import RecordsMixin, _array
from ._graph import model_graph
from ._media import to_uint8

__all__ = ["SummaryWriter"]


def _tb() -> SimpleNamespace:
    """TensorBoard's protos and event writer (imported on first use: an optional extra)."""
    try:
        from google.protobuf import struct_pb2
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboard.plugins.custom_scalar import layout_pb2
        from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
        from tensorboard.plugins.mesh import plugin_data_pb2 as mesh_pb2
        from tensorboard.plugins.pr_curve import plugin_data_pb2 as pr_pb2
        from tensorboard.plugins.projector import projector_config_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(
            "cr.utils.tensorboard needs the optional package tensorboard: "
            'pip install "chainrule[tensorboard]" (or pip install tensorboard)'
        ) from e
    return SimpleNamespace(
        summary=summary_pb2,
        Event=Event,
        api=api_pb2,
        plugin=plugin_data_pb2,
        EventFileWriter=EventFileWriter,
        TensorProto=TensorProto,
        TensorShapeProto=TensorShapeProto,
        struct=struct_pb2,
        pr_plugin=pr_pb2.PrCurvePluginData,
        mesh_plugin=mesh_pb2.MeshPluginData,
        layout=layout_pb2,
        projector=projector_config_pb2.ProjectorConfig,
        projector_embedding=projector_config_pb2.EmbeddingInfo,
    )


def _scalar(x: Any, what: str) -> float:
    arr = _array(x)
    if arr.size != 1:
        raise ValueError(
            f"{what}: expected a scalar (a number or a one-element tensor), got shape "
            f"{tuple(arr.shape)}"
        )
    return float(arr.reshape(()))


def _tf_bucket_limits() -> np.ndarray:
    """TensorFlow's default histogram edges: +-1e-12 * 1.1^k up to 1e20, and 0."""
    pos = [1e-12]
    while pos[-1] < 1e20:
        pos.append(pos[-1] * 1.1)
    pos = np.array(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


class SummaryWriter(RecordsMixin):
    """Write scalars, histograms, images, text, hyper-parameters, graphs, media, PR curves,
    meshes, tensors and embeddings for TensorBoard.

    Args:
        log_dir: the run directory (default ``runs/<date>_<host><comment>``).
        comment: appended to the default ``log_dir``.
        purge_step, max_queue, flush_secs, filename_suffix: as in PyTorch.
    """

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ):
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = (
            max_queue,
            flush_secs,
            filename_suffix,
        )
        self._writers: dict[str, Any] = {}
        self._embeddings: list = []  # add_embedding's projector config entries
        self._pb = _tb()
        self._writer(self.log_dir)  # create the directory and the first event file now
        if purge_step is not None:
            self._emit(
                self.log_dir,
                self._pb.Event(
                    wall_time=time.time(), step=int(purge_step), file_version="brain.Event:2"
                ),
            )

    # ------------------------------------------------------------------ plumbing
    def _writer(self, path: str):
        if path not in self._writers:
            os.makedirs(path, exist_ok=True)
            self._writers[path] = self._pb.EventFileWriter(
                path, self.max_queue, self.flush_secs, self.filename_suffix
            )
        return self._writers[path]

    def _emit(self, path: str, event: Any) -> None:
        self._writer(path).add_event(event)

    def _summary(self, value: Any, global_step: Any, walltime: Any, path: str | None = None):
        """One event of ``value`` (a ``Summary.Value`` or a list of them)."""
        summary_pb2, Event = self._pb.summary, self._pb.Event
        event = Event(
            summary=summary_pb2.Summary(value=value if isinstance(value, list) else [value]),
            wall_time=time.time() if walltime is None else float(walltime),
        )
        if global_step is not None:
            event.step = int(_scalar(global_step, "global_step"))
        self._emit(path or self.log_dir, event)

    def get_logdir(self) -> str:
        return self.log_dir

    # ------------------------------------------------------------------ records
    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: Any = None,
        walltime: Any = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """One point of the curve ``tag`` (``new_style``: stored as a tensor, as PyTorch)."""
        summary_pb2 = self._pb.summary
        v = _scalar(scalar_value, "add_scalar")
        if new_style:
            TensorProto = self._pb.TensorProto  # noqa: N806 - a proto class
            meta = summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
            )
            tensor = (
                TensorProto(double_val=[v], dtype="DT_DOUBLE")
                if double_precision
                else TensorProto(float_val=[v], dtype="DT_FLOAT")
            )
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
        else:
            value = summary_pb2.Summary.Value(tag=tag, simple_value=v)
        self._summary(value, global_step, walltime)

    def add_scalars(
        self, main_tag: str, tag_scalar_dict: dict, global_step: Any = None, walltime: Any = None
    ) -> None:
        """Several curves on one chart: each goes to the run ``<log_dir>/<main_tag>_<tag>``
        under the tag ``main_tag`` (PyTorch's layout), all with one wall time. As PyTorch's,
        it (re)opens the writer's own event file first, so after ``close()`` it starts new
        files there too."""
        summary_pb2 = self._pb.summary
        self._writer(self.log_dir)
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            self._summary(
                summary_pb2.Summary.Value(tag=main_tag, simple_value=_scalar(value, "add_scalars")),
                global_step,
                walltime,
                path,
            )

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: Any = None,
        bins: Any = "tensorflow",
        walltime: Any = None,
        max_bins: int | None = None,
    ) -> None:
        """A histogram of ``values`` (``bins``: ``'tensorflow'``, a NumPy bin rule or count)."""
        summary_pb2 = self._pb.summary
        arr = _array(values).astype(np.float64).ravel()
        if arr.size == 0:
            raise ValueError("add_histogram: the input has no element")
        if not np.isfinite(arr).all():
            raise ValueError("add_histogram: the values contain NaN or Inf")
        if isinstance(bins, str) and bins == "tensorflow":
            edges = _tf_bucket_limits()
            counts = np.bincount(
                np.searchsorted(edges, arr, side="left"), minlength=len(edges) + 1
            )[: len(edges)]
            keep = np.nonzero(counts)[0]
            lo, hi = max(keep[0] - 1, 0), min(keep[-1] + 2, len(edges))
            limits, counts = edges[lo:hi], counts[lo:hi]
        else:
            counts, edges = np.histogram(arr, bins=bins)
            limits = edges[1:]
        if max_bins is not None and len(counts) > max_bins:
            factor = -(-len(counts) // max_bins)
            pad = (-len(counts)) % factor
            counts = np.pad(counts, (0, pad)).reshape(-1, factor).sum(1)
            limits = np.pad(limits, (0, pad), mode="edge")[factor - 1 :: factor]
        hist = summary_pb2.HistogramProto(
            min=float(arr.min()),
            max=float(arr.max()),
            num=int(arr.size),
            sum=float(arr.sum()),
            sum_squares=float(np.dot(arr, arr)),
            bucket_limit=[float(x) for x in limits],
            bucket=[float(c) for c in counts],
        )
        self._summary(summary_pb2.Summary.Value(tag=tag, histo=hist), global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: Any = None,
        dataformats: str = "CHW",
    ) -> None:
        """An image: float values in [0, 1] or uint8 in [0, 255], laid out as ``dataformats``
        (``CHW``, ``HWC``, ``HW``) with 1, 3 or 4 channels; a 1-channel (grayscale) one is
        written as RGB, as PyTorch writes it."""
        summary_pb2 = self._pb.summary
        img = _array(img_tensor)
        fmt = dataformats.upper()
        if sorted(fmt) not in (sorted("CHW"), sorted("HW")) or img.ndim != len(fmt):
            raise ValueError(
                f"add_image: dataformats {dataformats!r} does not fit an image of "
                f"shape {tuple(img.shape)} (use CHW, HWC or HW)"
            )
        if fmt == "HW":
            img = img[:, :, None]
        else:
            img = np.transpose(img, [fmt.index(c) for c in "HWC"])
        if img.shape[2] not in (1, 3, 4):
            raise ValueError(f"add_image: expected 1, 3 or 4 channels, got {img.shape[2]}")
        img = to_uint8(img)  # as PyTorch: x * 255 in float32, clipped, truncated
        if img.shape[2] == 1:  # PyTorch writes a grayscale image as RGB
            img = np.repeat(img, 3, axis=2)
        png = _png(img)
        image = summary_pb2.Summary.Image(
            height=img.shape[0],
            width=img.shape[1],
            colorspace=img.shape[2],
            encoded_image_string=png,
        )
        self._summary(summary_pb2.Summary.Value(tag=tag, image=image), global_step, walltime)

    def add_text(
        self, tag: str, text_string: str, global_step: Any = None, walltime: Any = None
    ) -> None:
        """Markdown text, shown by TensorBoard's text plugin under ``<tag>/text_summary``."""
        summary_pb2 = self._pb.summary
        TensorProto, TensorShapeProto = self._pb.TensorProto, self._pb.TensorShapeProto  # noqa: N806
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text")
        )
        tensor = TensorProto(
            dtype="DT_STRING",
            string_val=[str(text_string).encode("utf-8")],
            tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
        )
        value = summary_pb2.Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tensor)
        self._summary(value, global_step, walltime)

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict | None = None,
        run_name: str | None = None,
        global_step: Any = None,
    ) -> None:
        """One trial of a hyper-parameter search: its settings and final metrics, in a run of
        its own (``<log_dir>/<run_name>``, default the current time), as PyTorch lays it out.

        Raises:
            TypeError: a dict argument is not a dict, or a value is not bool/int/float/str.
        """
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("add_hparams: hparam_dict and metric_dict should be dictionaries")
        summary_pb2, api_pb2, plugin_pb2 = self._pb.summary, self._pb.api, self._pb.plugin
        struct_pb2 = self._pb.struct

        infos, values = [], {}
        for k, v in hparam_dict.items():
            if isinstance(v, bool):
                values[k] = struct_pb2.Value(bool_value=v)
                kind = api_pb2.DATA_TYPE_BOOL
            elif isinstance(v, (int, float, np.integer, np.floating)):
                values[k] = struct_pb2.Value(number_value=float(v))
                kind = api_pb2.DATA_TYPE_FLOAT64
            elif isinstance(v, str):
                values[k] = struct_pb2.Value(string_value=v)
                kind = api_pb2.DATA_TYPE_STRING
            else:
                raise TypeError(
                    f"add_hparams: the value of hparam {k!r} must be bool, int, "
                    f"float or str, got {type(v).__name__}"
                )
            info = api_pb2.HParamInfo(name=k, type=kind)
            if hparam_domain_discrete and k in hparam_domain_discrete:
                lv = struct_pb2.ListValue()
                lv.extend(list(hparam_domain_discrete[k]))
                info.domain_discrete.CopyFrom(lv)
            infos.append(info)
        metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict]
        experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
        start = plugin_pb2.SessionStartInfo(start_time_secs=time.time())
        for k, v in values.items():
            start.hparams[k].CopyFrom(v)
        end = plugin_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
        self._writer(self.log_dir)  # (re)opened after close(), as PyTorch's
        path = os.path.join(self.log_dir, run_name or str(time.time()))
        for tag, content in (
            ("_hparams_/experiment", dict(experiment=experiment)),
            ("_hparams_/session_start_info", dict(session_start_info=start)),
            ("_hparams_/session_end_info", dict(session_end_info=end)),
        ):
            data = plugin_pb2.HParamsPluginData(version=0, **content).SerializeToString()
            meta = summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(
                    plugin_name="hparams", content=data
                )
            )
            self._summary(summary_pb2.Summary.Value(tag=tag, metadata=meta), None, None, path)
        for k, v in metric_dict.items():
            self._summary(
                summary_pb2.Summary.Value(tag=k, simple_value=_scalar(v, "add_hparams")),
                global_step,
                None,
                path,
            )

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """The model's graph for TensorBoard's Graphs tab (see :func:`._graph.model_graph`:
        one node per leaf-module call, in its scope, between ``input/...`` and
        ``output/output.N`` IO nodes), then a ``step1`` run metadata record, as PyTorch's.
        ``verbose`` prints the nodes (PyTorch prints its trace); ``use_strict_trace`` changes
        nothing (chainrule records module calls, it does not trace: there is nothing to make
        strict).

        Raises:
            TypeError: ``model`` is not an ``nn.Module``.
        """
        graph, metadata = model_graph(self._pb, model, input_to_model, verbose)
        Event = self._pb.Event  # noqa: N806 - a proto class
        self._emit(self.log_dir, Event(wall_time=time.time(), graph_def=graph))
        self._emit(self.log_dir, Event(wall_time=time.time(), tagged_run_metadata=metadata))

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> None:
        """Write everything queued to disk."""
        for w in self._writers.values():
            w.flush()

    def close(self) -> None:
        """Flush and close every event file; a later record opens new ones (as PyTorch)."""
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _png(img: np.ndarray) -> bytes:
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            "SummaryWriter.add_image needs Pillow to encode PNG: pip install pillow"
        ) from e

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[img.shape[2]]
    buf = io.BytesIO()
    Image.fromarray(img[:, :, 0] if mode == "L" else img, mode=mode).save(buf, format="PNG")
    return buf.getvalue()
