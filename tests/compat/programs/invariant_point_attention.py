"""AlphaFold2's Invariant Point Attention as lucidrains writes it
(``invariant_point_attention/invariant_point_attention.py`` and ``utils.py``, with the
quaternion helpers it takes from pytorch3d's ``transforms/rotation_conversions.py``),
size-reduced, with ``einops`` spelled out the way plain-PyTorch ports write it.

The idioms: ``point_weight_init_value = torch.log(torch.exp(torch.full((heads,), 1.)) - 1.)``
(the inverse softplus) as a ``nn.Parameter`` used through ``F.softplus``; the logit scales
``(num_attn_logits * scalar_key_dim) ** -0.5`` and ``((num_attn_logits * point_key_dim) * (9 /
2)) ** -0.5``; ``rearrange(t, 'b n (h d c) -> (b h) n d c', h = h, c = 3)`` as ``view`` /
``permute`` / ``reshape``; ``repeat(rotations, 'b n r1 r2 -> (b h) n r1 r2')`` and
``repeat(translations, 'b n c -> (b h) n () c')`` as ``expand`` + ``reshape``; the frame
application ``einsum('b n d c, b n c r -> b n d r', q_point, rotations) + translations`` and
its inverse with ``rotations.transpose(-1, -2)``; ``point_qk_diff = q_point[:, :, None] -
k_point[:, None]``, ``(point_qk_diff ** 2).sum(dim = (-1, -2))``; the pairwise bias
``nn.Sequential(nn.Linear(pairwise_repr_dim, heads), Rearrange('b ... h -> (b h) ...'))``;
the bool mask ``mask[:, :, None] * mask[:, None, :]`` (bool times bool), ``max_neg_value(t) =
-torch.finfo(t.dtype).max``, ``masked_fill(~mask, mask_value)``; the ``disable_tf32``
context manager (``torch.backends.cuda.matmul.allow_tf32`` saved, set False and restored) and
``autocast('cuda', enabled = False)`` around the value aggregation; ``torch.sqrt(torch.square(
results_points).sum(dim=-1) + eps)``; ``torch.cat((results_scalar, results_points,
results_points_norm, results_pairwise), dim = -1)``; the ``FeedForward`` built as a list of
layers into ``nn.Sequential(*layers)``; the post-norm ``IPABlock``; ``IPATransformer`` (a
zero-initialised ``nn.Linear(dim, 6)`` per layer via ``torch.nn.init.zeros_(linear.weight.
data)``, ``nn.ModuleList([ipa_block, linear])`` pairs, the identity quaternion ``torch.tensor([
1., 0., 0., 0.])`` repeated ``'d -> b n d'``, ``rotations.detach()``, ``F.pad(
quaternion_update, (1, 0), value = 1.)``, ``torch.linalg.norm(..., dim=-1, keepdim=True)``,
``einsum('b n c, b n c r -> b n r')``, ``predict_points``); and pytorch3d's
``quaternion_to_matrix`` (``torch.unbind(quaternions, -1)``, ``two_s = 2.0 / (quaternions *
quaternions).sum(-1)``, ``o.reshape(quaternions.shape[:-1] + (3, 3))``) and
``quaternion_multiply`` (``quaternion_raw_multiply``, ``standardize_quaternion``'s
``torch.where(quaternions[..., 0:1] < 0, -quaternions, quaternions)``).

Checked: the attention's output is invariant under a global rotation and translation of the
frames (to 1e-9), and the predicted points move with them (equivariance); then a few Adam steps
on a masked coordinate loss. Changed: dim 64 -> 8, 2 heads, key/value dims 4 / 2, depth 2,
two chains of 5 residues (one padded to 4).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DIM, HEADS, DEPTH, N = 8, 2, 2, 5


def _lib(torch_like: Any) -> dict[str, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    einsum = torch.einsum
    autocast = torch.amp.autocast

    def exists(val):
        return val is not None

    def default(val, d):
        return val if exists(val) else d

    def max_neg_value(t):
        return -torch.finfo(t.dtype).max

    @contextmanager
    def disable_tf32():
        orig_value = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        yield
        torch.backends.cuda.matmul.allow_tf32 = orig_value

    def quaternion_to_matrix(quaternions):
        r, i, j, k = torch.unbind(quaternions, -1)
        two_s = 2.0 / (quaternions * quaternions).sum(-1)
        o = torch.stack(
            (
                1 - two_s * (j * j + k * k),
                two_s * (i * j - k * r),
                two_s * (i * k + j * r),
                two_s * (i * j + k * r),
                1 - two_s * (i * i + k * k),
                two_s * (j * k - i * r),
                two_s * (i * k - j * r),
                two_s * (j * k + i * r),
                1 - two_s * (i * i + j * j),
            ),
            -1,
        )
        return o.reshape(quaternions.shape[:-1] + (3, 3))

    def quaternion_raw_multiply(a, b):
        aw, ax, ay, az = torch.unbind(a, -1)
        bw, bx, by, bz = torch.unbind(b, -1)
        ow = aw * bw - ax * bx - ay * by - az * bz
        ox = aw * bx + ax * bw + ay * bz - az * by
        oy = aw * by - ax * bz + ay * bw + az * bx
        oz = aw * bz + ax * by - ay * bx + az * bw
        return torch.stack((ow, ox, oy, oz), -1)

    def standardize_quaternion(quaternions):
        return torch.where(quaternions[..., 0:1] < 0, -quaternions, quaternions)

    def quaternion_multiply(a, b):
        ab = quaternion_raw_multiply(a, b)
        return standardize_quaternion(ab)

    def to_heads(t, h):  # rearrange(t, 'b n (h d) -> (b h) n d', h = h)
        b, n, hd = t.shape
        return t.view(b, n, h, hd // h).permute(0, 2, 1, 3).reshape(b * h, n, hd // h)

    def to_head_points(t, h):  # rearrange(t, 'b n (h d c) -> (b h) n d c', h = h, c = 3)
        b, n, hdc = t.shape
        d = hdc // (h * 3)
        return t.view(b, n, h, d, 3).permute(0, 2, 1, 3, 4).reshape(b * h, n, d, 3)

    def from_heads(t, h):  # rearrange(t, '(b h) n ... -> b n (h ...)', h = h)
        bh, n, *rest = t.shape
        t = t.view(bh // h, h, n, *rest).transpose(1, 2)
        return t.reshape(bh // h, n, -1)

    class Rearrange(nn.Module):  # 'b ... h -> (b h) ...'
        def forward(self, t):
            b, i, j, h = t.shape
            return t.permute(0, 3, 1, 2).reshape(b * h, i, j)

    class InvariantPointAttention(nn.Module):
        def __init__(self, *, dim, heads=8, scalar_key_dim=16, scalar_value_dim=16,
                     point_key_dim=4, point_value_dim=4, pairwise_repr_dim=None,
                     require_pairwise_repr=True, eps=1e-8):  # fmt: skip
            super().__init__()
            self.eps = eps
            self.heads = heads
            self.require_pairwise_repr = require_pairwise_repr
            # num attention contributions
            num_attn_logits = 3 if require_pairwise_repr else 2
            # qkv projection for scalar attention (normal)
            self.scalar_attn_logits_scale = (num_attn_logits * scalar_key_dim) ** -0.5
            self.to_scalar_q = nn.Linear(dim, scalar_key_dim * heads, bias=False)
            self.to_scalar_k = nn.Linear(dim, scalar_key_dim * heads, bias=False)
            self.to_scalar_v = nn.Linear(dim, scalar_value_dim * heads, bias=False)
            # qkv projection for point attention (coordinate and orientation aware)
            point_weight_init_value = torch.log(torch.exp(torch.full((heads,), 1.0)) - 1.0)
            self.point_weights = nn.Parameter(point_weight_init_value)
            self.point_attn_logits_scale = ((num_attn_logits * point_key_dim) * (9 / 2)) ** -0.5
            self.to_point_q = nn.Linear(dim, point_key_dim * heads * 3, bias=False)
            self.to_point_k = nn.Linear(dim, point_key_dim * heads * 3, bias=False)
            self.to_point_v = nn.Linear(dim, point_value_dim * heads * 3, bias=False)
            # pairwise representation projection to attention bias
            pairwise_repr_dim = default(pairwise_repr_dim, dim) if require_pairwise_repr else 0
            if require_pairwise_repr:
                self.pairwise_attn_logits_scale = num_attn_logits**-0.5
                self.to_pairwise_attn_bias = nn.Sequential(
                    nn.Linear(pairwise_repr_dim, heads), Rearrange()
                )
            # combine out - scalar dim + pairwise dim + point dim * (3 for coordinates in R3
            # and then 1 for norm)
            self.to_out = nn.Linear(
                heads * (scalar_value_dim + pairwise_repr_dim + point_value_dim * (3 + 1)), dim
            )

        def forward(self, single_repr, pairwise_repr=None, *, rotations, translations, mask=None):
            x, b, h, eps, require_pairwise_repr = (
                single_repr, single_repr.shape[0], self.heads, self.eps,
                self.require_pairwise_repr,
            )  # fmt: skip
            assert not (require_pairwise_repr and not exists(pairwise_repr)), (
                "pairwise representation must be given as second argument"
            )
            # get queries, keys, values for scalar and point (coordinate-aware) attention
            q_scalar, k_scalar, v_scalar = (
                self.to_scalar_q(x),
                self.to_scalar_k(x),
                self.to_scalar_v(x),
            )
            q_point, k_point, v_point = self.to_point_q(x), self.to_point_k(x), self.to_point_v(x)
            # split out heads
            q_scalar, k_scalar, v_scalar = map(
                lambda t: to_heads(t, h), (q_scalar, k_scalar, v_scalar)
            )
            q_point, k_point, v_point = map(
                lambda t: to_head_points(t, h), (q_point, k_point, v_point)
            )
            n = x.shape[1]
            rotations = rotations[:, None].expand(b, h, n, 3, 3).reshape(b * h, n, 3, 3)
            translations = translations[:, None].expand(b, h, n, 3).reshape(b * h, n, 1, 3)
            # rotate qkv points into global frame
            q_point = einsum("b n d c, b n c r -> b n d r", q_point, rotations) + translations
            k_point = einsum("b n d c, b n c r -> b n d r", k_point, rotations) + translations
            v_point = einsum("b n d c, b n c r -> b n d r", v_point, rotations) + translations
            # derive attn logits for scalar and pairwise
            attn_logits_scalar = (
                einsum("b i d, b j d -> b i j", q_scalar, k_scalar) * self.scalar_attn_logits_scale
            )
            if require_pairwise_repr:
                attn_logits_pairwise = (
                    self.to_pairwise_attn_bias(pairwise_repr) * self.pairwise_attn_logits_scale
                )
            # derive attn logits for point attention
            point_qk_diff = q_point[:, :, None] - k_point[:, None]
            point_dist = (point_qk_diff**2).sum(dim=(-1, -2))
            point_weights = F.softplus(self.point_weights)
            point_weights = point_weights.repeat(b)[:, None, None]  # 'h -> (b h) () ()'
            attn_logits_points = -0.5 * (point_dist * point_weights * self.point_attn_logits_scale)
            # combine attn logits
            attn_logits = attn_logits_scalar + attn_logits_points
            if require_pairwise_repr:
                attn_logits = attn_logits + attn_logits_pairwise
            # mask
            if exists(mask):
                mask = mask[:, :, None] * mask[:, None, :]
                mask = mask[:, None].expand(b, h, n, n).reshape(b * h, n, n)
                mask_value = max_neg_value(attn_logits)
                attn_logits = attn_logits.masked_fill(~mask, mask_value)
            # attention
            attn = attn_logits.softmax(dim=-1)
            with disable_tf32(), autocast("cuda", enabled=False):
                # disable TF32 for precision
                # aggregate values
                results_scalar = einsum("b i j, b j d -> b i d", attn, v_scalar)
                attn_with_heads = attn.view(b, h, n, n)  # '(b h) i j -> b h i j'
                # aggregate pairwise representation
                if require_pairwise_repr:
                    results_pairwise = einsum(
                        "b h i j, b i j d -> b h i d", attn_with_heads, pairwise_repr
                    )
                # aggregate point values
                results_points = einsum("b i j, b j d c -> b i d c", attn, v_point)
                # rotate aggregated point values back into local frame
                results_points = einsum(
                    "b n d c, b n c r -> b n d r",
                    results_points - translations,
                    rotations.transpose(-1, -2),
                )
                results_points_norm = torch.sqrt(torch.square(results_points).sum(dim=-1) + eps)
            # merge back heads
            results_scalar = from_heads(results_scalar, h)
            results_points = from_heads(results_points, h)
            results_points_norm = from_heads(results_points_norm, h)
            results = (results_scalar, results_points, results_points_norm)
            if require_pairwise_repr:
                results_pairwise = results_pairwise.transpose(1, 2).reshape(b, n, -1)
                results = (*results, results_pairwise)
            # concat results and project out
            results = torch.cat(results, dim=-1)
            return self.to_out(results)

    def FeedForward(dim, mult=1.0, num_layers=2, act=nn.ReLU):  # noqa: N802 (as in the repo)
        layers = []
        dim_hidden = int(dim * mult)
        for ind in range(num_layers):
            is_first = ind == 0
            is_last = ind == (num_layers - 1)
            dim_in = dim if is_first else dim_hidden
            dim_out = dim if is_last else dim_hidden
            layers.append(nn.Linear(dim_in, dim_out))
            if is_last:
                continue
            layers.append(act())
        return nn.Sequential(*layers)

    class IPABlock(nn.Module):
        def __init__(self, *, dim, ff_mult=1, ff_num_layers=3, post_norm=True,
                     post_attn_dropout=0.0, post_ff_dropout=0.0, **kwargs):  # fmt: skip
            super().__init__()
            self.post_norm = post_norm
            self.attn_norm = nn.LayerNorm(dim)
            self.attn = InvariantPointAttention(dim=dim, **kwargs)
            self.post_attn_dropout = nn.Dropout(post_attn_dropout)
            self.ff_norm = nn.LayerNorm(dim)
            self.ff = FeedForward(dim, mult=ff_mult, num_layers=ff_num_layers)
            self.post_ff_dropout = nn.Dropout(post_ff_dropout)

        def forward(self, x, **kwargs):
            post_norm = self.post_norm
            attn_input = x if post_norm else self.attn_norm(x)
            x = self.attn(attn_input, **kwargs) + x
            x = self.post_attn_dropout(x)
            x = self.attn_norm(x) if post_norm else x
            ff_input = x if post_norm else self.ff_norm(x)
            x = self.ff(ff_input) + x
            x = self.post_ff_dropout(x)
            x = self.ff_norm(x) if post_norm else x
            return x

    class IPATransformer(nn.Module):
        def __init__(self, *, dim, depth, num_tokens=None, predict_points=False,
                     detach_rotations=True, **kwargs):  # fmt: skip
            super().__init__()
            # using quaternion functions from pytorch3d
            self.quaternion_to_matrix = quaternion_to_matrix
            self.quaternion_multiply = quaternion_multiply
            # embedding
            self.token_emb = nn.Embedding(num_tokens, dim) if exists(num_tokens) else None
            # layers
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                ipa_block = IPABlock(dim=dim, **kwargs)
                # final prediction of quaternion update and translation update
                linear = nn.Linear(dim, 6)
                torch.nn.init.zeros_(linear.weight.data)
                torch.nn.init.zeros_(linear.bias.data)
                self.layers.append(nn.ModuleList([ipa_block, linear]))
            # whether to detach rotations or not, for stability during training
            self.detach_rotations = detach_rotations
            # output
            self.predict_points = predict_points
            if predict_points:
                self.to_points = nn.Linear(dim, 3)

        def forward(self, single_repr, *, translations=None, quaternions=None,
                    pairwise_repr=None, mask=None):  # fmt: skip
            x, device = single_repr, single_repr.device
            b, n, *_ = x.shape
            if exists(self.token_emb):
                x = self.token_emb(x)
            # if no initial quaternions passed in, start from identity
            if not exists(quaternions):
                quaternions = torch.tensor([1.0, 0.0, 0.0, 0.0], device=device)
                quaternions = quaternions.repeat(b, n, 1)  # repeat(..., 'd -> b n d')
            # if not translations passed in, start from identity
            if not exists(translations):
                translations = torch.zeros((b, n, 3), device=device)
            # go through the layers and apply invariant point attention and feedforward
            for block, to_update in self.layers:
                rotations = quaternion_to_matrix(quaternions)
                if self.detach_rotations:
                    rotations = rotations.detach()
                x = block(
                    x, pairwise_repr=pairwise_repr, rotations=rotations,
                    translations=translations, mask=mask,
                )  # fmt: skip
                # update quaternion and translation
                quaternion_update, translation_update = to_update(x).chunk(2, dim=-1)
                quaternion_update = F.pad(quaternion_update, (1, 0), value=1.0)
                quaternion_update = quaternion_update / torch.linalg.norm(
                    quaternion_update, dim=-1, keepdim=True
                )
                quaternions = quaternion_multiply(quaternions, quaternion_update)
                translations = translations + einsum(
                    "b n c, b n c r -> b n r", translation_update, rotations
                )
            if not self.predict_points:
                return x, translations, quaternions
            points_local = self.to_points(x)
            rotations = quaternion_to_matrix(quaternions)
            points_global = (
                einsum("b n c, b n c d -> b n d", points_local, rotations) + translations
            )
            return points_global

    return {
        "IPATransformer": IPATransformer,
        "InvariantPointAttention": InvariantPointAttention,
        "quaternion_to_matrix": quaternion_to_matrix,
    }


def make_model(torch_like: Any) -> Any:
    lib = _lib(torch_like)
    nn = torch_like.nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = lib["InvariantPointAttention"](
                dim=DIM, heads=HEADS, scalar_key_dim=4, scalar_value_dim=4, point_key_dim=2,
                point_value_dim=2,
            )  # fmt: skip
            self.model = lib["IPATransformer"](
                dim=DIM, depth=DEPTH, num_tokens=7, predict_points=True, heads=HEADS,
                scalar_key_dim=4, scalar_value_dim=4, point_key_dim=2, point_value_dim=2,
                require_pairwise_repr=False,
            )  # fmt: skip

    return Model()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    lib = _lib(torch_like)
    m = make_model(torch_like)
    load_numpy_state(torch_like, m, init)
    rng = np.random.default_rng(23)
    values: list[float] = []

    # invariance of one attention layer under a global rigid motion of the frames
    seq = as_tensor(torch_like, rng.standard_normal((2, N, DIM)))
    pairwise = as_tensor(torch_like, rng.standard_normal((2, N, N, DIM)))
    quats = as_tensor(torch_like, rng.standard_normal((2, N, 4)))
    trans = as_tensor(torch_like, rng.standard_normal((2, N, 3)))
    mask = torch.ones(2, N).bool()
    mask[1, -1] = False
    rotations = lib["quaternion_to_matrix"](quats)
    g_rot = lib["quaternion_to_matrix"](as_tensor(torch_like, rng.standard_normal(4)))
    g_trans = as_tensor(torch_like, rng.standard_normal(3))
    out = m.attn(seq, pairwise, rotations=rotations, translations=trans, mask=mask)
    out_moved = m.attn(
        seq, pairwise, rotations=rotations @ g_rot, translations=trans @ g_rot + g_trans, mask=mask
    )
    values += [out.sum().item(), float(torch.allclose(out, out_moved, atol=1e-9))]
    det = torch.linalg.det(rotations)
    values.append(float(torch.allclose(det, torch.ones_like(det))))

    # the transformer: equivariant points, then training on a coordinate loss
    tokens = as_tensor(torch_like, rng.integers(0, 7, (2, N)))
    points = m.model(tokens, translations=trans, quaternions=quats, mask=mask)
    moved_quats = as_tensor(torch_like, rng.standard_normal((1, 1, 4)))
    moved_quats = moved_quats / moved_quats.norm(dim=-1, keepdim=True)
    rot = lib["quaternion_to_matrix"](moved_quats)[0, 0]
    # frames moved by the global rotation: M(q * r) = M(q) @ M(r), translations t @ M(r)
    # (the zero-initialised updates keep each layer's frames moved alike)
    moved = m.model.quaternion_multiply(quats, moved_quats.expand(2, N, 4))
    points_moved = m.model(tokens, translations=trans @ rot, quaternions=moved, mask=mask)
    values += [points.sum().item(), float(torch.allclose(points @ rot, points_moved, atol=1e-9))]

    target = as_tensor(torch_like, rng.standard_normal((2, N, 3)))
    opt = torch.optim.Adam(m.model.parameters(), lr=1e-2)
    for _ in range(3):
        coords = m.model(tokens, translations=trans, quaternions=quats, mask=mask)
        loss = ((coords - target) ** 2).sum(-1)[mask].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    m.model.predict_points = False
    with torch.no_grad():
        x, translations, quaternions = m.model(tokens, mask=mask)
    values += [x.sum().item(), translations.abs().sum().item(), quaternions[..., 0].sum().item()]
    return values


def check(values: list[float]) -> None:
    # invariance of the attention, proper rotations, equivariance of the predicted points
    assert values[1] == 1.0 and values[2] == 1.0 and values[4] == 1.0, values[:5]
