"""``SummaryWriter.add_graph``'s graph: a model's leaf-module calls as TensorBoard nodes.

PyTorch traces the model with ``torch.jit`` and shows its ATen operations inside the module
scopes (``aten::linear``); chainrule runs the model once with forward hooks on its leaf
modules and records one node per call, named by its scope as PyTorch names scopes
(``Model/Sequential[block_1]/Conv2d[0]/3``, ``op`` the module's class name), fed by the
nodes that produced its inputs, with the output shapes as ``_output_shapes``.
"""

from __future__ import annotations

import inspect
from typing import Any

from ...autograd.grad_mode import no_grad
from ...nn.module import Module

__all__ = ["model_graph"]


def model_graph(pb: Any, model: Any, input_to_model: Any, verbose: bool) -> tuple[Any, Any]:
    """``(GraphDef bytes, TaggedRunMetadata)`` for ``model`` run once on ``input_to_model``
    (a tensor or a tuple/list of them) in eval mode without gradients (its training mode is
    restored). ``pb`` holds the writer's proto classes; ``verbose`` prints the nodes.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    from tensorboard.compat.proto import (
        attr_value_pb2,
        graph_pb2,
        node_def_pb2,
        step_stats_pb2,
        versions_pb2,
    )
    from tensorboard.compat.proto.config_pb2 import RunMetadata
    from tensorboard.compat.proto.event_pb2 import TaggedRunMetadata

    if not isinstance(model, Module):
        raise TypeError(f"add_graph: model must be an nn.Module, got {type(model).__name__}")
    if input_to_model is None:
        inputs: tuple = ()
    elif isinstance(input_to_model, (tuple, list)):
        inputs = tuple(input_to_model)
    else:
        inputs = (input_to_model,)
    shape_proto = pb.TensorShapeProto

    def attrs(t: Any) -> dict:
        shapes = [
            shape_proto(dim=[shape_proto.Dim(size=int(d)) for d in x.shape])
            for x in (t if isinstance(t, (tuple, list)) else (t,))
            if hasattr(x, "shape")
        ]
        return {
            "_output_shapes": attr_value_pb2.AttrValue(
                list=attr_value_pb2.AttrValue.ListValue(shape=shapes)
            ),
            "attr": attr_value_pb2.AttrValue(s=b""),
        }

    nodes = []
    producer: dict[int, str] = {}
    try:  # the IO nodes are named after forward's parameters (input/x), as PyTorch's
        params = [
            p.name
            for p in inspect.signature(model.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    for i, x in enumerate(inputs):
        name = f"input/{params[i]}" if i < len(params) else f"input/input.{i + 1}"
        producer[id(x)] = name
        nodes.append(node_def_pb2.NodeDef(name=name, op="IO Node", **{"attr": attrs(x)}))
    scopes = {model: type(model).__name__}
    for mod_name, mod in model.named_modules():
        if mod is not model:
            parent, _, leaf = mod_name.rpartition(".")
            scopes[mod] = f"{scopes[model.get_submodule(parent)]}/{type(mod).__name__}[{leaf}]"
    last = [None]

    def hook(mod: Any, args: Any, out: Any) -> None:
        feeds = [producer[id(a)] for a in args if id(a) in producer]
        if not feeds and last[0] is not None:
            feeds = [last[0]]  # fed by a tensor op between modules
        name = f"{scopes[mod]}/{len(nodes)}"
        nodes.append(
            node_def_pb2.NodeDef(
                name=name, op=type(mod).__name__, input=feeds, **{"attr": attrs(out)}
            )
        )
        for o in out if isinstance(out, (tuple, list)) else (out,):
            producer[id(o)] = name
        last[0] = name

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if m is not model and not any(True for _ in m.children())
    ]
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for i, o in enumerate(out if isinstance(out, (tuple, list)) else (out,)):
        feeds = [producer[id(o)]] if id(o) in producer else ([last[0]] if last[0] else [])
        nodes.append(
            node_def_pb2.NodeDef(
                name=f"output/output.{i + 1}", op="IO Node", input=feeds, **{"attr": attrs(o)}
            )
        )
    graph = graph_pb2.GraphDef(node=nodes, versions=versions_pb2.VersionDef(producer=22))
    stats = RunMetadata(
        step_stats=step_stats_pb2.StepStats(
            dev_stats=[step_stats_pb2.DeviceStepStats(device="/device:CPU:0")]
        )
    )
    if verbose:
        for node in nodes:
            print(f"{node.name} = {node.op}({', '.join(node.input)})")
    metadata = TaggedRunMetadata(tag="step1", run_metadata=stats.SerializeToString())
    return graph.SerializeToString(), metadata
