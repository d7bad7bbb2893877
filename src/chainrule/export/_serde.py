"""``cr.export.save`` / ``cr.export.load``: an :class:`ExportedProgram` as a ``.pt2`` zip
archive laid out as torch's (``archive/models/model.json``, ``archive/data/weights/``,
``archive/data/constants/`` with ``model_*_config.json``, ``archive/archive_format``...),
written with JSON and raw little-endian tensor bytes only.

Loading never unpickles (torch's pickled ``sample_inputs/model.pt`` is skipped: the loaded
program's ``example_inputs`` is None) and never allocates what the archive only claims:
each tensor's byte count, computed from its recorded sizes and dtype, must equal the
stored entry's size before the entry is read, and entries are read with that bound.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import zipfile
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..creation import empty
from ..creation_from_data import from_numpy
from ..nn.parameter import Parameter
from ..serialization.protocol import read_protocol
from ..utils._pytree import TreeSpec, tree_flatten
from ._serde_graph import (
    DTYPE_CODES,
    dtype_of_code,
    encode_arg,
    encode_node,
)
from .exported_program import ExportedProgram
from .graph_signature import (
    ConstantArgument,
    InputKind,
)

__all__ = ["save"]

_ROOT = "archive/"
_MAX_JSON = 256 << 20
_MAX_DIMS = 64
_SYMBOL = re.compile(r"^Symbol\('([A-Za-z_][A-Za-z0-9_]*)'")


# ------------------------------------------------------------ tensors
def _tensor_json(t: Tensor, sizes: Any = None) -> dict[str, Any]:
    name = str(t.dtype).rsplit(".", 1)[-1]
    if name not in DTYPE_CODES:
        raise NotImplementedError(f"chainrule.export.save: dtype {t.dtype} cannot be saved")
    shape = list(t.shape) if sizes is None else list(sizes)
    strides, acc = [], 1
    for s in reversed([int(x) for x in t.shape]):
        strides.insert(0, acc)
        acc *= max(s, 1)
    return {
        "dtype": DTYPE_CODES[name],
        "sizes": [_size_json(s, int(h)) for s, h in zip(shape, t.shape, strict=True)],
        "requires_grad": bool(t.requires_grad),
        "device": {"type": "cpu", "index": None},
        "strides": [{"as_int": s} for s in strides],
        "storage_offset": {"as_int": 0},
        "layout": 7,
    }


def _size_json(s: Any, hint: int) -> dict[str, Any]:
    if isinstance(s, int):
        return {"as_int": s}
    expr = f"Symbol('{s}', positive=True, integer=True)" if re.match(r"^s\d+$", s) else s
    return {"as_expr": {"expr_str": expr, "hint": {"as_int": hint}}}


def _tensor_bytes(t: Tensor) -> bytes:
    return (
        np.ascontiguousarray(t.detach().cpu().numpy())
        .astype(np.dtype(t.detach().numpy().dtype).newbyteorder("<"), copy=False)
        .tobytes()
    )


def _read_tensor(z: zipfile.ZipFile, path: str, meta: dict[str, Any]) -> Tensor:
    """The tensor stored at ``path``, checked against ``meta`` before it is read."""
    dtype = dtype_of_code(meta.get("dtype"))
    if meta.get("layout", 7) != 7:
        raise NotImplementedError(f"chainrule.export.load: {path}: only strided tensors load")
    sizes = [_int_size(s, path) for s in meta.get("sizes", [])]
    if len(sizes) > _MAX_DIMS:
        raise ValueError(f"chainrule.export.load: {path}: {len(sizes)} dimensions")
    np_dtype = empty(0, dtype=dtype).numpy().dtype
    nbytes = math.prod(sizes) * np_dtype.itemsize
    data = _read_entry(z, path, nbytes)  # sizes checked before anything is read
    expected_strides, acc = [], 1
    for s in reversed(sizes):
        expected_strides.insert(0, acc)
        acc *= max(s, 1)
    strides = [_int_size(s, path) for s in meta.get("strides", [])]
    offset = _int_size(meta.get("storage_offset", {"as_int": 0}), path)
    if (strides and strides != expected_strides and math.prod(sizes) > 1) or offset:
        raise NotImplementedError(
            f"chainrule.export.load: {path}: non-contiguous storage (strides {strides}, offset "
            f"{offset}) is not supported"
        )
    array = np.frombuffer(data, dtype=np_dtype.newbyteorder("<")).astype(np_dtype).reshape(sizes)
    return from_numpy(array.copy())


def _int_size(s: Any, path: str) -> int:
    v = s.get("as_int") if isinstance(s, dict) else None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"chainrule.export.load: {path}: invalid size {s!r}")
    return v


def _read_entry(z: zipfile.ZipFile, path: str, nbytes: int | None = None) -> bytes:
    """Entry ``path``, of exactly ``nbytes`` bytes when given (else at most the JSON cap),
    read without trusting the recorded size beyond that bound."""
    try:
        info = z.getinfo(path)
    except KeyError:
        raise ValueError(f"chainrule.export.load: the archive has no {path}") from None
    limit = _MAX_JSON if nbytes is None else nbytes
    if nbytes is not None and info.file_size != nbytes:
        raise ValueError(
            f"chainrule.export.load: {path} holds {info.file_size} bytes but its metadata "
            f"describes {nbytes}"
        )
    if info.file_size > limit:
        raise ValueError(f"chainrule.export.load: {path} is too large ({info.file_size} bytes)")
    stored = info.compress_size
    real = getattr(z, "start_dir", stored)  # the entries' data lies before the directory
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else 1100  # deflate's at most ~1032
    if stored > real or info.file_size > stored * ratio + 64:
        raise ValueError(
            f"chainrule.export.load: {path} claims {info.file_size} bytes from {stored} stored "
            f"in an archive of {real}: its sizes do not match the archive"
        )
    try:
        with z.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"chainrule.export.load: {path} cannot be read ({e})") from None
    if len(data) != info.file_size or len(data) > limit:
        raise ValueError(f"chainrule.export.load: {path}: its size does not match the archive")
    return data


# ------------------------------------------------------------ save
def _treespec_json(spec: TreeSpec) -> dict[str, Any]:
    if spec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    names = {tuple: "builtins.tuple", list: "builtins.list", dict: "builtins.dict"}
    if spec.type not in names:
        raise NotImplementedError(
            f"chainrule.export.save: outputs of type {spec.type} cannot be saved"
        )
    return {
        "type": names[spec.type],
        "context": json.dumps(list(spec.context) if spec.type is dict else None),
        "children_spec": [_treespec_json(c) for c in spec.children()],
    }


def save(
    ep: ExportedProgram,
    f: Any,
    *,
    extra_files: dict | None = None,
    opset_version: Any = None,
    pickle_protocol: int = 2,
) -> None:
    """``torch.export.save``: write ``ep`` to ``f`` (a path or a writable binary file) as a
    ``.pt2`` archive (see the module docstring). ``extra_files``/``opset_version`` raise
    NotImplementedError.

    ``pickle_protocol`` is, in PyTorch, the protocol of the one pickle it writes for such a
    program: the example inputs (``data/sample_inputs/model.pt``, by ``torch.save``), so it
    is checked as PyTorch's pickler checks it when the program has example inputs (not an
    int: TypeError; above 5: ValueError; 0 passes, though ``torch.export.load`` then fails
    on PyTorch's file). The archive written here stores those inputs as raw bytes and JSON
    instead of a pickle, so a valid protocol changes no byte of it."""
    if not isinstance(ep, ExportedProgram):
        raise TypeError(
            "The 'ep' parameter must be an instance of 'ExportedProgram', got "
            f"'{type(ep).__name__}' instead."
        )
    if ep.example_inputs is not None:  # PyTorch pickles them with it: its pickler's checks
        read_protocol("chainrule.export.save", pickle_protocol)
    if extra_files or opset_version:
        raise NotImplementedError(
            "chainrule.export.save: extra_files and opset_version are not supported"
        )
    kept = [e.fqn for e in ep.module_call_graph if e.fqn and e.signature is not None]
    if kept:
        raise NotImplementedError(
            "chainrule.export.save: a program with preserved module call signatures "
            f"(preserve_module_call_signature: {kept}) cannot be saved"
        )
    files: dict[str, bytes] = {}
    weights, consts = {}, {}
    for source, table, folder, stem in (
        (ep.state_dict, weights, "weights", "weight"),
        (ep.constants, consts, "constants", "tensor"),
    ):
        for i, (name, t) in enumerate(source.items()):
            files[f"data/{folder}/{stem}_{i}"] = _tensor_bytes(t)
            table[name] = {
                "path_name": f"{stem}_{i}",
                "is_param": isinstance(t, Parameter),
                "use_pickle": False,
                "tensor_meta": _tensor_json(t),
            }
    files["data/weights/model_weights_config.json"] = json.dumps({"config": weights}).encode()
    files["data/constants/model_constants_config.json"] = json.dumps({"config": consts}).encode()
    files["models/model.json"] = json.dumps(_model_json(ep)).encode()
    if ep.example_inputs is not None:
        sample = {}
        for i, v in enumerate(tree_flatten(ep.example_inputs)[0]):  # nested inputs: leaves
            if isinstance(v, Tensor):
                files[f"data/sample_inputs/input_{i}"] = _tensor_bytes(v)
                sample[str(i)] = {"path_name": f"input_{i}", "tensor_meta": _tensor_json(v)}
            else:
                sample[str(i)] = {"value": encode_arg(v)}
        files["data/sample_inputs/chainrule_inputs.json"] = json.dumps(sample).encode()
    files["archive_format"] = b"pt2"
    files["archive_version"] = b"0"
    files[".data/version"] = b"6\n"
    files["byteorder"] = b"little"
    files[".data/serialization_id"] = "".join(
        random.choice("0123456789") for _ in range(40)
    ).encode()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            _write_zip(fh, files)
    else:
        _write_zip(f, files)


def _write_zip(fh: Any, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(_ROOT + name, data)


def _model_json(ep: ExportedProgram) -> dict[str, Any]:
    graph = ep.graph
    tensor_values = {}
    nodes = []
    for node in graph.nodes:
        val = node.meta.get("val")
        if isinstance(val, Tensor):
            meta = node.meta.get("tensor_meta")
            tensor_values[node.name] = _tensor_json(val, meta.shape if meta is not None else None)
        elif "tensor_json" in node.meta:  # a loaded program: what its archive said
            tensor_values[node.name] = node.meta["tensor_json"]
        if node.op in ("call_function", "call_method"):
            nodes.append(encode_node(node))
        elif node.op in ("get_attr", "call_module"):
            what = type(ep.graph_module.get_submodule(node.target)).__name__
            raise NotImplementedError(
                f"chainrule.export.save: node {node.name} calls the layer {node.target} "
                f"({what}) as a whole; programs holding recurrent or attention layers cannot "
                "be saved"
            )
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    outputs = graph.output_node().args[0]
    specs = []
    for s in ep.graph_signature.input_specs:
        if s.kind is InputKind.PARAMETER:
            specs.append({"parameter": {"arg": {"name": s.arg.name}, "parameter_name": s.target}})
        elif s.kind is InputKind.BUFFER:
            specs.append(
                {
                    "buffer": {
                        "arg": {"name": s.arg.name},
                        "buffer_name": s.target,
                        "persistent": s.persistent,
                    }
                }
            )
        elif s.kind is InputKind.CONSTANT_TENSOR:
            specs.append(
                {"tensor_constant": {"arg": {"name": s.arg.name}, "tensor_constant_name": s.target}}
            )
        elif isinstance(s.arg, ConstantArgument):
            specs.append(
                {
                    "user_input": {
                        "arg": {
                            "as_constant": {"name": s.arg.name, "value": encode_arg(s.arg.value)}
                        }
                    }
                }
            )
        else:
            specs.append({"user_input": {"arg": {"as_tensor": {"name": s.arg.name}}}})
    out_specs = [{"user_output": {"arg": encode_arg(a)}} for a in outputs]
    spec = ep.call_spec
    return {
        "graph_module": {
            "graph": {
                "inputs": [{"as_tensor": {"name": n.name}} for n in placeholders],
                "outputs": [encode_arg(a) for a in outputs],
                "nodes": nodes,
                "tensor_values": tensor_values,
                "sym_int_values": {},
                "sym_bool_values": {},
                "is_single_tensor_return": False,
                "custom_obj_values": {},
                "sym_float_values": {},
            },
            "signature": {"input_specs": specs, "output_specs": out_specs},
            "module_call_graph": [
                {
                    "fqn": "",
                    "signature": {
                        "inputs": [],
                        "outputs": [],
                        "in_spec": json.dumps([1, _treespec_json(spec.in_spec)]),
                        "out_spec": json.dumps([1, _treespec_json(spec.out_spec)]),
                        "forward_arg_names": [
                            s.arg.name
                            for s in ep.graph_signature.input_specs
                            if s.kind is InputKind.USER_INPUT
                        ],
                    },
                },
                *({"fqn": e.fqn, "signature": None} for e in ep.module_call_graph if e.fqn),
            ],
            "metadata": {},
            "treespec_namedtuple_fields": {},
        },
        "opset_version": {"chainrule": 1},
        "range_constraints": {
            str(k): {"min_val": v.lower, "max_val": None if v.upper == math.inf else int(v.upper)}
            for k, v in ep.range_constraints.items()
        },
        "schema_version": {"major": 8, "minor": 20},
        "verifiers": [],
        "torch_version": "chainrule",
        "guards_code": [],
    }
