"""``SummaryWriter``'s media, curve, mesh, layout, tensor and embedding records
(``add_images``, ``add_figure``, ``add_pr_curve``, ``add_embedding``, ...), as PyTorch's."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import _embedding, _media, _records


def _array(x: Any) -> np.ndarray:
    """``x`` (a Tensor, a CuPy or NumPy array, a number) as a host NumPy array: what every
    record writes (``writer.py`` imports it from here)."""
    data = getattr(x, "_data", x)
    if hasattr(data, "get"):  # a CuPy array
        data = data.get()
    return np.asarray(data)


class RecordsMixin:
    """The records beyond scalars, histograms, text, hparams and graphs."""

    _pb: Any
    log_dir: str
    _embeddings: list
    _summary: Any  # SummaryWriter's: (value or values, global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: Any = None,
        dataformats: str = "NCHW",
    ) -> None:
        """A batch of images tiled into one, 8 a row (1 or 3 channels; floats in [0, 1] or
        ``uint8``), in TensorBoard's tensor image form."""
        hwc = _media.images_hwc(_array(img_tensor), dataformats)
        self._summary(_media.image_value(self._pb, tag, hwc), global_step, walltime)

    def add_figure(
        self,
        tag: str,
        figure: Any,
        global_step: Any = None,
        close: bool = True,
        walltime: Any = None,
    ) -> None:
        """A matplotlib figure (or a list of them, tiled as ``add_images``) rendered with Agg;
        ``close`` closes the figures afterwards."""
        figures = list(figure) if isinstance(figure, (list, tuple)) else [figure]
        chws = [_media.figure_chw(f) for f in figures]
        if close:
            for f in figures:
                _media.close_figure(f)
        if isinstance(figure, (list, tuple)):
            hwc = _media.images_hwc(np.stack(chws), "NCHW")
        else:
            hwc = _media.images_hwc(chws[0][None], "NCHW")
        self._summary(_media.image_value(self._pb, tag, hwc), global_step, walltime)

    def add_video(
        self,
        tag: str,
        vid_tensor: Any,
        global_step: Any = None,
        fps: Any = 4,
        walltime: Any = None,
    ) -> None:
        """An (N, T, C, H, W) batch of clips as an animated GIF (written by moviepy, as in
        PyTorch). Without moviepy it prints ``add_video needs package moviepy`` and writes an
        empty record under ``tag``, as PyTorch does."""
        frames = _media.video_frames(_array(vid_tensor))
        data = _media.gif(frames, fps)
        summary_pb2 = self._pb.summary
        if data is None:
            self._summary(summary_pb2.Summary.Value(tag=tag), global_step, walltime)
            return
        _, h, w, c = frames.shape
        image = summary_pb2.Summary.Image(
            height=h, width=w, colorspace=c, encoded_image_string=data
        )
        self._summary(summary_pb2.Summary.Value(tag=tag, image=image), global_step, walltime)

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: Any = None,
        sample_rate: int = 44100,
        walltime: Any = None,
    ) -> None:
        """A 1-D (after squeezing) mono clip in [-1, 1] as 16-bit WAV."""
        summary_pb2 = self._pb.summary
        data = _media.wav(_array(snd_tensor), sample_rate)
        audio = summary_pb2.Summary.Audio(
            sample_rate=sample_rate,
            num_channels=1,
            length_frames=(len(data) - 44) // 2,
            encoded_audio_string=data,
            content_type="audio/wav",
        )
        self._summary(summary_pb2.Summary.Value(tag=tag, audio=audio), global_step, walltime)

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: Any = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: Any = None,
    ) -> None:
        """A precision-recall curve of binary ``labels`` against ``predictions`` in [0, 1]
        (at most 127 thresholds, as PyTorch)."""
        n = min(int(num_thresholds), 127)
        w = None if weights is None else _array(weights)
        data = _records.pr_curve_data(_array(labels), _array(predictions), n, w)
        self._summary(_records.pr_curve_value(self._pb, tag, data, n), global_step, walltime)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: Any,
        false_positive_counts: Any,
        true_negative_counts: Any,
        false_negative_counts: Any,
        precision: Any,
        recall: Any,
        global_step: Any = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: Any = None,
    ) -> None:
        """A precision-recall curve from its precomputed rows (``weights`` is unused, as in
        PyTorch: it is there for the signature)."""
        n = min(int(num_thresholds), 127)
        rows = (
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
        )
        data = np.stack([_array(r).astype(np.float32).ravel() for r in rows])
        self._summary(_records.pr_curve_value(self._pb, tag, data, n), global_step, walltime)

    def add_mesh(
        self,
        tag: str,
        vertices: Any,
        colors: Any = None,
        faces: Any = None,
        config_dict: dict | None = None,
        global_step: Any = None,
        walltime: Any = None,
    ) -> None:
        """A 3-D mesh or point cloud for the mesh plugin: ``vertices`` (B, N, 3), optional
        ``colors`` (B, N, 3) and ``faces`` (B, F, 3); ``config_dict`` is the three.js config."""
        parts = {
            "VERTEX": _array(vertices),
            "FACE": None if faces is None else _array(faces),
            "COLOR": None if colors is None else _array(colors),
        }
        values = _records.mesh_values(self._pb, tag, parts, config_dict)
        self._summary(values, global_step, walltime)

    def add_custom_scalars(self, layout: dict) -> None:
        """The Custom Scalars dashboard's layout: ``{category: {title: ['Multiline', tags] or
        ['Margin', [value, lower, upper]]}}``."""
        self._summary(_records.custom_scalars_value(self._pb, layout), None, None)

    def add_custom_scalars_multilinechart(
        self, tags: list, category: str = "default", title: str = "untitled"
    ) -> None:
        """A custom-scalars layout of one multiline chart of ``tags``."""
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(
        self, tags: list, category: str = "default", title: str = "untitled"
    ) -> None:
        """A custom-scalars layout of one margin chart: ``tags`` = [value, lower, upper]."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_tensor(
        self, tag: str, tensor: Any, global_step: Any = None, walltime: Any = None
    ) -> None:
        """A raw tensor (plugin ``tensor``), its values in the TensorProto field of its dtype."""
        value = _records.tensor_value(self._pb, tag, _array(tensor))
        self._summary(value, global_step, walltime)

    def add_onnx_graph(self, prototxt: str) -> None:
        """PyTorch's ONNX-graph import. It needs the ``onnx`` package (raising
        ``ModuleNotFoundError`` without it, as PyTorch); the conversion itself is not
        implemented in chainrule.

        Raises:
            ModuleNotFoundError: onnx is not installed.
            NotImplementedError: onnx is installed.
        """
        try:
            import onnx  # noqa: F401
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(
                "add_onnx_graph needs the onnx package: pip install onnx", name="onnx"
            ) from e
        raise NotImplementedError(
            "add_onnx_graph: converting an ONNX model to a TensorBoard graph is not "
            "implemented in chainrule"
        )

    def add_embedding(
        self,
        mat: Any,
        metadata: Any = None,
        label_img: Any = None,
        global_step: Any = None,
        tag: str = "default",
        metadata_header: Any = None,
    ) -> None:
        """Embedding vectors for the projector: ``mat`` (N, D), per-point ``metadata`` (a
        list, or rows of columns under ``metadata_header``) and ``label_img`` (N, C, H, W).
        The files go to ``<log_dir>/<step:05d>/<tag>/`` and ``projector_config.pbtxt``."""
        arr = _array(mat)
        # PyTorch reaches the log dir through its file writer, which (re)opens an event file
        # (after close(), a new one), so the projector files sit next to one as in torch
        self._writer(self.log_dir)
        sub, path = _embedding.embedding_dir(self.log_dir, tag, global_step)
        if os.path.exists(path):
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(path)
        if arr.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        info = self._pb.projector_embedding(tensor_name=f"{tag}:{int(sub[:5]):05d}")
        if metadata is not None:
            if arr.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _embedding.write_metadata(path, metadata, metadata_header)
            info.metadata_path = f"{sub}/metadata.tsv"
        if label_img is not None:
            img = _array(label_img)
            if img.ndim != 4 or arr.shape[0] != img.shape[0]:
                if img.ndim == 4:
                    raise AssertionError("#images should equal with #data points")
                raise AssertionError(_media.GRID_ERROR)
            _embedding.write_sprite(path, img)
            info.sprite.image_path = f"{sub}/sprite.png"
            info.sprite.single_image_dim.extend([img.shape[3], img.shape[2]])
        _embedding.write_tensors(path, arr)
        info.tensor_path = f"{sub}/tensors.tsv"
        self._embeddings.append(info)
        _embedding.write_config(self._pb, self.log_dir, self._embeddings)
