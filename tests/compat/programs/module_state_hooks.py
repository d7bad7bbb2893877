"""``nn.Module`` state plumbing as library code uses it: the buffers, hooks and state-dict
surgery of quantisation wrappers, PEFT adapters, timm's ``checkpoint_filter_fn``, Hugging
Face's ``_load_state_dict_into_model`` and feature extractors, size-reduced around a small
encoder with a tied (shared) projection.

The idioms: ``register_buffer(..., persistent=False)`` (a rotary cache that ``state_dict()``
leaves out, while ``named_buffers()`` lists it) next to a persistent running statistic;
``register_state_dict_pre_hook`` (called with ``(module, prefix, keep_vars)``) and
``register_state_dict_post_hook`` (editing the dict in place, as adapters strip their keys);
``register_load_state_dict_pre_hook`` renaming legacy keys, and
``register_load_state_dict_post_hook`` clearing an expected missing key from
``incompatible_keys``; ``load_state_dict(strict=False)`` returning ``missing_keys`` /
``unexpected_keys`` (a ``NamedTuple``) and ``strict=True`` raising ``RuntimeError``;
``named_modules(remove_duplicate=False)`` and ``named_parameters(remove_duplicate=False)``
with the shared submodule; ``get_submodule`` / ``get_parameter`` / ``get_buffer`` by dotted
path; ``register_forward_pre_hook(with_kwargs=True)`` rewriting a keyword argument and
``register_forward_hook(with_kwargs=True, always_call=True)`` which still runs when forward
raises; ``model.apply(init_weights)`` with ``nn.init`` on a fresh model; ``requires_grad_(False)``
on a submodule (a frozen encoder, checked through the gradients that reach it);
``named_parameters(prefix=..., recurse=False)``; and a state dict round trip through
``io.BytesIO`` with ``torch.save`` / ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DIM, HIDDEN, OUT = 4, 6, 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Block(nn.Module):
        def __init__(self, proj: Any) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(DIM)
            self.proj = proj  # shared with the other block
            self.scale = nn.Parameter(torch.ones(DIM))
            self.register_buffer("calls", torch.zeros((), dtype=torch.long))
            inv_freq = 1.0 / (10.0 ** (torch.arange(0, DIM, 2).to(torch.get_default_dtype()) / DIM))
            self.register_buffer("inv_freq", inv_freq, persistent=False)

        def forward(self, x: Any, gate: float = 1.0) -> Any:
            self.calls += 1
            return x + gate * self.scale * torch.tanh(self.proj(self.norm(x)))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            shared = nn.Linear(DIM, DIM)
            self.blocks = nn.ModuleList([Block(shared), Block(shared)])
            self.head = nn.Sequential(nn.Linear(DIM, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, OUT))
            self.register_buffer("running_mean", torch.zeros(DIM))

        def forward(self, x: Any, gate: float = 1.0) -> Any:
            if self.training:
                with torch.no_grad():
                    self.running_mean.mul_(0.9).add_(0.1 * x.mean(0))
            for block in self.blocks:
                x = block(x, gate=gate)
            return self.head(x)

    return Encoder()


def names_and_lookups(torch: Any, model: Any) -> list[float]:
    out: list[float] = []
    state = model.state_dict()
    keys = list(state)
    assert "blocks.0.inv_freq" not in keys and "blocks.0.calls" in keys
    assert [n for n, _ in model.named_buffers()].count("blocks.1.inv_freq") == 1
    out += [len(keys), float("blocks.1.proj.weight" in keys), float("running_mean" in keys)]
    unique = [name for name, _ in model.named_modules()]
    every = [name for name, _ in model.named_modules(remove_duplicate=False)]
    assert "blocks.1.proj" in every and "blocks.1.proj" not in unique
    out += [len(unique), len(every), len(list(model.modules()))]
    params = [name for name, _ in model.named_parameters()]
    all_params = [name for name, _ in model.named_parameters(remove_duplicate=False)]
    out += [len(params), len(all_params), sum(p.numel() for p in model.parameters())]
    assert model.get_submodule("blocks.0.proj") is model.get_submodule("blocks.1.proj")
    assert model.get_parameter("head.2.bias") is model.head[2].bias
    assert model.get_buffer("blocks.1.inv_freq") is model.blocks[1].inv_freq
    out += model.get_buffer("blocks.0.inv_freq").tolist()
    local = dict(model.blocks[0].named_parameters(prefix="enc.block0", recurse=False))
    assert list(local) == ["enc.block0.scale"]
    out += [len(dict(model.head.named_parameters(prefix="h"))), len(local)]
    for missing in ("blocks.5", "head.3", "blocks.0.nope"):
        try:
            model.get_submodule(missing)
        except AttributeError:
            out.append(1.0)
    try:
        model.get_parameter("blocks.0.calls")  # a buffer, not a parameter
    except AttributeError:
        out.append(2.0)
    return out


def state_dict_hooks(torch: Any, model: Any) -> list[float]:
    out: list[float] = []
    seen: list[tuple[str, bool]] = []

    def pre_hook(module: Any, prefix: str, keep_vars: bool) -> None:
        seen.append((prefix, keep_vars))

    def strip_calls(module: Any, state_dict: dict, prefix: str, local_metadata: Any) -> None:
        for key in [k for k in state_dict if k.startswith(prefix) and k.endswith("calls")]:
            del state_dict[key]

    handles = [
        model.blocks[0].register_state_dict_pre_hook(pre_hook),
        model.register_state_dict_post_hook(strip_calls),
    ]
    stripped = model.state_dict(keep_vars=True)
    assert seen == [("blocks.0.", True)], seen
    assert not any(k.endswith("calls") for k in stripped)
    assert stripped["head.0.weight"] is model.head[0].weight  # keep_vars: the Parameters
    out += [len(stripped)]
    for handle in handles:
        handle.remove()
    out += [len(model.state_dict()), len(seen)]

    # a checkpoint from an older version: 'classifier.*' instead of 'head.2.*', an extra key,
    # and no 'running_mean'
    legacy = {k: v.clone() for k, v in model.state_dict().items() if k != "running_mean"}
    legacy["classifier.weight"] = legacy.pop("head.2.weight") * 2
    legacy["classifier.bias"] = legacy.pop("head.2.bias")
    legacy["pos_embed"] = torch.zeros(2)
    result = model.load_state_dict(legacy, strict=False)
    missing, unexpected = result
    out += [len(result.missing_keys), len(unexpected)]
    assert sorted(missing) == ["head.2.bias", "head.2.weight", "running_mean"], missing
    assert sorted(unexpected) == ["classifier.bias", "classifier.weight", "pos_embed"]
    try:
        model.load_state_dict(legacy)
    except RuntimeError as error:
        text = str(error)
        out += [float("Missing key(s)" in text), float("Unexpected key(s)" in text)]

    def rename_legacy(module: Any, state_dict: dict, prefix: str, *args: Any) -> None:
        for old, new in (
            ("classifier.weight", "head.2.weight"),
            ("classifier.bias", "head.2.bias"),
        ):
            if prefix + old in state_dict:
                state_dict[prefix + new] = state_dict.pop(prefix + old)

    def allow_missing_stats(module: Any, incompatible_keys: Any) -> None:
        if "running_mean" in incompatible_keys.missing_keys:
            incompatible_keys.missing_keys.remove("running_mean")
        for key in list(incompatible_keys.unexpected_keys):
            if key == "pos_embed":
                incompatible_keys.unexpected_keys.remove(key)

    model.register_load_state_dict_pre_hook(rename_legacy)
    model.register_load_state_dict_post_hook(allow_missing_stats)
    result = model.load_state_dict(legacy)  # strict, and passes thanks to the hooks
    out += [len(result.missing_keys), len(result.unexpected_keys)]
    out += model.head[2].weight.detach().flatten().tolist()[:6]
    return out


def forward_hooks(torch: Any, model: Any, x: Any) -> list[float]:
    out: list[float] = []
    log: list[str] = []

    def halve_gate(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        log.append(f"pre:{kwargs.get('gate')}")
        return args, {**kwargs, "gate": kwargs.get("gate", 1.0) * 0.5}

    def record(module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
        log.append(f"post:{kwargs.get('gate')}:{output is None}")
        return None if output is None else output * 1.0

    block = model.blocks[1]
    h_pre = block.register_forward_pre_hook(halve_gate, with_kwargs=True)
    h_post = block.register_forward_hook(record, with_kwargs=True, always_call=True)
    y_hooked = model(x, gate=1.0)
    out += y_hooked.detach().flatten().tolist()
    assert log == ["pre:1.0", "post:0.5:False"], log
    bad = torch.zeros(2, DIM + 1)
    try:
        block(bad, gate=1.0)
    except RuntimeError:
        out.append(1.0)
    assert log[-1] == "post:0.5:True", log  # always_call: the hook ran though forward raised
    h_pre.remove()
    h_post.remove()
    y_plain = model(x, gate=1.0)
    out += [float(torch.allclose(y_hooked, y_plain)), len(log)]
    out += [int(model.blocks[0].calls), int(model.blocks[1].calls)]
    return out


def init_and_freeze(torch: Any, x: Any, y: Any) -> list[float]:
    nn = torch.nn

    def init_weights(m: Any) -> None:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.constant_(m.bias, 0.01)

    model = make_model(torch)
    returned = model.apply(init_weights)
    assert returned is model
    out = [model.head[0].weight.sum().item(), model.blocks[0].norm.bias.sum().item()]
    model.blocks.requires_grad_(False)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(n.startswith("head.") for n in trainable), trainable
    out += [len(trainable)]
    optimizer = torch.optim.SGD((p for p in model.parameters() if p.requires_grad), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    assert model.blocks[0].proj.weight.grad is None
    out += [model.blocks[0].proj.weight.sum().item(), model.head[0].weight.sum().item()]
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(2)
    x = as_tensor(torch, rng.standard_normal((5, DIM)))
    y = as_tensor(torch, rng.standard_normal((5, OUT)))
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    out = names_and_lookups(torch, model)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    out += model.running_mean.tolist() + [int(model.blocks[0].calls)]

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    restored = make_model(torch)
    result = restored.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    model.eval()
    restored.eval()
    with torch.no_grad():
        out += [float(torch.equal(model(x), restored(x))), int(restored.blocks[1].calls)]
        out += restored.blocks[0].inv_freq.tolist()
    assert restored.blocks[0].proj is restored.blocks[1].proj
    out += state_dict_hooks(torch, model)
    out += forward_hooks(torch, restored, x)
    out += init_and_freeze(torch, x, y)
    return out
