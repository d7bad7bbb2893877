"""AlphaFold 2's triangle multiplicative update (Algorithms 11 and 12), in OpenFold's form
(``openfold/model/triangular_multiplicative_update.py``) and lucidrains' ``alphafold2`` einsum
form, updating a tiny pair representation trained on a distogram loss.

OpenFold: ``TriangleMultiplicativeUpdate`` with ``mask = z.new_ones(z.shape[:-1])`` when no mask
is given, ``mask.unsqueeze(-1)``, ``layer_norm_in``, gated projections
``a = a * self.sigmoid(self.linear_a_g(z))``, ``a = a * self.linear_a_p(z)``, and
``_combine_projections`` through ``permute_final_dims`` (``tensor.permute(first_inds +
[zero_index + i for i in inds])``) and ``torch.matmul``, then ``layer_norm_out``, ``linear_z``
and the output gate ``sigmoid(linear_g(z))``; "gating" init is ``weight.fill_(0.0)`` /
``bias.fill_(1.0)`` under ``torch.no_grad()``. lucidrains' ``TriangleMultiplicativeModule``
writes the outgoing product as ``einsum('... i k d, ... j k d -> ... i j d', left, right)`` and
the incoming one as ``'... k j d, ... k i d -> ... i j d'``, masks with
``mask = rearrange(mask, 'b i j -> b i j ()')`` (``mask[..., None]``) and
``left = left * mask``, gates with ``.sigmoid()``, and sets the output gate with
``nn.init.constant_``. Both run on the same pair stack (residual ``z = z + update(z, mask)``,
outgoing then incoming), with a padded residue masked out; the distogram head symmetrises the
logits (``logits + logits.transpose(-2, -3)``) into ``F.cross_entropy`` over the valid pairs
(``pair_mask.bool()`` indexing). ``Adam`` with ``torch.nn.utils.clip_grad_norm_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

C_Z, C_HIDDEN, N_RES, N_BINS = 6, 4, 5, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def permute_final_dims(tensor: Any, inds: list[int]) -> Any:
        zero_index = -1 * len(inds)
        first_inds = list(range(len(tensor.shape[:zero_index])))
        return tensor.permute(first_inds + [zero_index + i for i in inds])

    class Linear(nn.Linear):
        """OpenFold's ``Linear`` with its ``init`` choice ("default" keeps torch's here)."""

        def __init__(
            self, in_dim: int, out_dim: int, bias: bool = True, init: str = "default"
        ) -> None:
            super().__init__(in_dim, out_dim, bias=bias)
            if bias:
                with torch.no_grad():
                    self.bias.fill_(0)
            with torch.no_grad():
                if init == "gating":
                    self.weight.fill_(0.0)
                    if bias:
                        self.bias.fill_(1.0)

    class TriangleMultiplicativeUpdate(nn.Module):
        def __init__(self, c_z: int, c_hidden: int, _outgoing: bool = True) -> None:
            super().__init__()
            self.c_z = c_z
            self.c_hidden = c_hidden
            self._outgoing = _outgoing
            self.linear_a_p = Linear(self.c_z, self.c_hidden)
            self.linear_a_g = Linear(self.c_z, self.c_hidden, init="gating")
            self.linear_b_p = Linear(self.c_z, self.c_hidden)
            self.linear_b_g = Linear(self.c_z, self.c_hidden, init="gating")
            self.linear_g = Linear(self.c_z, self.c_z, init="gating")
            self.linear_z = Linear(self.c_hidden, self.c_z)
            self.layer_norm_in = nn.LayerNorm(self.c_z)
            self.layer_norm_out = nn.LayerNorm(self.c_hidden)
            self.sigmoid = nn.Sigmoid()

        def _combine_projections(self, a: Any, b: Any) -> Any:
            if self._outgoing:
                a = permute_final_dims(a, [2, 0, 1])
                b = permute_final_dims(b, [2, 1, 0])
            else:
                a = permute_final_dims(a, [2, 1, 0])
                b = permute_final_dims(b, [2, 0, 1])
            p = torch.matmul(a, b)
            return permute_final_dims(p, [1, 2, 0])

        def forward(self, z: Any, mask: Any = None) -> Any:
            if mask is None:
                mask = z.new_ones(z.shape[:-1])
            mask = mask.unsqueeze(-1)
            z = self.layer_norm_in(z)
            a = mask
            a = a * self.sigmoid(self.linear_a_g(z))
            a = a * self.linear_a_p(z)
            b = mask
            b = b * self.sigmoid(self.linear_b_g(z))
            b = b * self.linear_b_p(z)
            x = self._combine_projections(a, b)
            del a, b
            x = self.layer_norm_out(x)
            x = self.linear_z(x)
            g = self.sigmoid(self.linear_g(z))
            x = x * g
            return x

    class TriangleMultiplicativeModule(nn.Module):
        """lucidrains/alphafold2 ``alphafold2_pytorch/alphafold2.py``."""

        def __init__(self, *, dim: int, hidden_dim: int | None = None, mix: str = "ingoing"):
            super().__init__()
            assert mix in {"ingoing", "outgoing"}, "mix must be either ingoing or outgoing"
            hidden_dim = hidden_dim if hidden_dim is not None else dim
            self.norm = nn.LayerNorm(dim)
            self.left_proj = nn.Linear(dim, hidden_dim)
            self.right_proj = nn.Linear(dim, hidden_dim)
            self.left_gate = nn.Linear(dim, hidden_dim)
            self.right_gate = nn.Linear(dim, hidden_dim)
            self.out_gate = nn.Linear(dim, hidden_dim)
            # initialize all gating to be identity
            for gate in (self.left_gate, self.right_gate, self.out_gate):
                nn.init.constant_(gate.weight, 0.0)
                nn.init.constant_(gate.bias, 1.0)
            if mix == "outgoing":
                self.mix_einsum_eq = "... i k d, ... j k d -> ... i j d"
            elif mix == "ingoing":
                self.mix_einsum_eq = "... k j d, ... k i d -> ... i j d"
            self.to_out_norm = nn.LayerNorm(hidden_dim)
            self.to_out = nn.Linear(hidden_dim, dim)

        def forward(self, x: Any, mask: Any = None) -> Any:
            assert x.shape[1] == x.shape[2], "feature map must be symmetrical"
            if mask is not None:
                mask = mask[..., None]  # rearrange(mask, 'b i j -> b i j ()')
            x = self.norm(x)
            left = self.left_proj(x)
            right = self.right_proj(x)
            if mask is not None:
                left = left * mask
                right = right * mask
            left_gate = self.left_gate(x).sigmoid()
            right_gate = self.right_gate(x).sigmoid()
            out_gate = self.out_gate(x).sigmoid()
            left = left * left_gate
            right = right * right_gate
            out = torch.einsum(self.mix_einsum_eq, left, right)
            out = self.to_out_norm(out)
            out = out * out_gate
            return self.to_out(out)

    class PairStack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pair_embed = nn.Linear(2 * 3 + 1, C_Z)
            self.tri_mul_out = TriangleMultiplicativeUpdate(C_Z, C_HIDDEN, _outgoing=True)
            self.tri_mul_in = TriangleMultiplicativeUpdate(C_Z, C_HIDDEN, _outgoing=False)
            self.outgoing = TriangleMultiplicativeModule(
                dim=C_Z, hidden_dim=C_HIDDEN, mix="outgoing"
            )
            self.ingoing = TriangleMultiplicativeModule(dim=C_Z, hidden_dim=C_HIDDEN, mix="ingoing")
            self.distogram = nn.Linear(C_Z, N_BINS)

        def forward(self, feats: Any, seq_mask: Any) -> tuple[Any, Any]:
            n = feats.shape[1]
            rel = torch.arange(n, dtype=feats.dtype)
            rel = (rel[None, :] - rel[:, None]).abs() / n
            pair = torch.cat(
                [
                    feats[:, :, None, :].expand(-1, -1, n, -1),
                    feats[:, None, :, :].expand(-1, n, -1, -1),
                    rel[None, :, :, None].expand(feats.shape[0], -1, -1, -1),
                ],
                dim=-1,
            )
            pair_mask = seq_mask[..., None] * seq_mask[..., None, :]
            z = self.pair_embed(pair)
            z = z + self.tri_mul_out(z, mask=pair_mask)
            z = z + self.tri_mul_in(z, mask=pair_mask)
            z = z + self.outgoing(z, mask=pair_mask)
            z = z + self.ingoing(z, mask=pair_mask)
            logits = self.distogram(z)
            logits = logits + logits.transpose(-2, -3)
            return F.log_softmax(logits, dim=-1), pair_mask

    return PairStack()


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coords = np.cumsum(rng.standard_normal((2, N_RES, 3)), axis=1)
    dist = np.linalg.norm(coords[:, :, None] - coords[:, None], axis=-1)
    bins = np.digitize(dist, [1.0, 2.0, 3.0])
    seq_mask = np.ones((2, N_RES))
    seq_mask[1, -1] = 0.0  # a padded residue
    return coords / 3.0, bins, seq_mask


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(37)
    feats, bins, seq_mask = _data(rng)
    feats, bins, seq_mask = (
        as_tensor(torch, feats),
        as_tensor(torch, bins),
        as_tensor(torch, seq_mask),
    )
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    values = []
    for _step in range(4):
        log_probs, pair_mask = model(feats, seq_mask)
        valid = pair_mask.bool()
        loss = F.nll_loss(log_probs[valid], bins[valid])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        values.append(loss.item())
    with torch.no_grad():
        log_probs, pair_mask = model(feats, seq_mask)
        values.append(
            F.cross_entropy(log_probs.permute(0, 3, 1, 2), bins, reduction="none")
            .mul(pair_mask)
            .sum()
            .item()
        )
        # the updates without a mask (OpenFold: z.new_ones; lucidrains: mask=None)
        z = model.pair_embed(torch.zeros(1, 3, 3, 7))
        values.extend(model.tri_mul_out(z).flatten()[:3].tolist())
        values.extend(model.ingoing(z).flatten()[:3].tolist())
    return values
