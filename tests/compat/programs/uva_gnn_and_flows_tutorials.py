"""The University of Amsterdam deep learning course tutorials (Phillip Lippe, "UvA DL
notebooks"): Tutorial 7, "Graph Neural Networks" (the hand-written ``GCNLayer`` and
``GATLayer``), and Tutorial 11, "Normalizing Flows for image modeling" (dequantization,
checkerboard / channel coupling layers with a gated conv net, squeeze flow), size-reduced.

Tutorial 7's idioms: ``GCNLayer``'s ``adj_matrix.sum(dim=-1, keepdims=True)`` (NumPy's
``keepdims`` spelling), ``torch.bmm(adj_matrix, node_feats)`` and the division by the
neighbour count; the notebook's fixed weights ``layer.projection.weight.data = torch.Tensor([[1.,
0.], [0., 1.]])`` and ``torch.Tensor([[[1, 1, 0, 0], ...]])`` adjacency;
``GATLayer``'s ``nn.Parameter(torch.Tensor(num_heads, 2 * c_out))`` (the uninitialised legacy
constructor) with ``nn.init.xavier_uniform_(self.a.data, gain=1.414)``,
``node_feats.view(batch_size, num_nodes, self.num_heads, -1)``, ``adj_matrix.nonzero(
as_tuple=False)``, the flat edge indices ``edges[:,0] * num_nodes + edges[:,1]``,
``torch.index_select(input=node_feats_flat, index=edge_indices_row, dim=0)`` by keyword,
``torch.einsum('bhc,hc->bh', a_input, self.a)``, ``attn_logits.new_zeros(adj_matrix.shape +
(self.num_heads,)).fill_(-9e15)``, the masked write ``attn_matrix[adj_matrix[...,None].repeat(1,
1,1,self.num_heads) == 1] = attn_logits.reshape(-1)`` inside the graph, ``F.softmax(attn_matrix,
dim=2)``, ``attn_probs.permute(0, 3, 1, 2)`` and ``torch.einsum('bijh,bjhc->bihc', attn_probs,
node_feats)`` with concatenated or averaged heads; then a node classifier of stacked layers
trained as ``NodeLevelGNN`` does (``optim.SGD(self.parameters(), lr=0.1, momentum=0.9,
weight_decay=2e-3)``, ``nn.CrossEntropyLoss`` on the masked nodes, accuracy
``(x[mask].argmax(dim=-1) == y[mask]).sum().float() / mask.sum()``).

Tutorial 11's: ``Dequantization`` (``z.to(torch.float32)``, ``z + noise.detach()``, ``ldj -=
np.log(self.quants) * np.prod(z.shape[1:])`` (a tensor updated in place with a NumPy scalar),
the inverse sigmoid ``torch.log(z) - torch.log(1-z)`` and its ``(-z-2*F.softplus(-z)).sum(
dim=[1,2,3])`` log-determinant, and the reverse ``torch.floor(z).clamp(min=0,
max=self.quants-1).to(torch.int32)``); ``create_checkerboard_mask`` (``torch.arange(h,
dtype=torch.int32)``, ``torch.meshgrid(x, y, indexing='ij')``, ``torch.fmod(xx + yy, 2)``) and
``create_channel_mask``; ``CouplingLayer`` (``register_buffer('mask', mask)``,
``nn_out.chunk(2, dim=1)``, ``self.scaling_factor.exp().view(1, -1, 1, 1)``, ``torch.tanh(s /
s_fac) * s_fac``, ``ldj += s.sum(dim=[1,2,3])`` / ``ldj -= ...``); ``ConcatELU``,
``LayerNormChannels`` (``x.var(dim=1, unbiased=False, keepdim=True)``), ``GatedConv`` and
``GatedConvNet`` (``self.nn[-1].weight.data.zero_()``); ``SqueezeFlow``'s reshape / permute
pairs; ``ImageFlow.encode`` / ``_get_likelihood`` (``torch.distributions.normal.Normal(
loc=0.0, scale=1.0)``, ``self.prior.log_prob(z).sum(dim=[1,2,3])``, the bits per dimension
``nll * np.log2(np.exp(1)) / np.prod(imgs.shape[1:])``) trained by ``optim.Adam`` with
``optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.99)``; and ``sample``'s reverse pass
checked to give back the quantised image.

Changed: Cora / MNIST are a toy graph and 4-level 4x4 NumPy images; ``torch.rand_like``'s
dequantization noise and ``torch.normal`` samples come from NumPy; the random initial
weights are loaded from NumPy; the flows use 2 coupling layers per scale and width 8; no
Lightning (its ``training_step`` is the loop body).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

DTYPE = "float32"  # the tutorials' default (Dequantization's ``z.to(torch.float32)`` needs it)
V, F_IN, HID, CLASSES = 10, 3, 4, 2
QUANTS, IMG, BATCH = 4, 4, 4


def init_state(tmp_path: Any) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    labels = np.array([0] * 5 + [1] * 5)
    adj = (rng.random((V, V)) < 0.2).astype(np.float64)
    adj[:5, :5] += rng.random((5, 5)) < 0.5
    adj[5:, 5:] += rng.random((5, 5)) < 0.5
    adj = np.minimum(np.maximum(adj, adj.T) + np.eye(V), 1.0)
    feats = rng.standard_normal((V, F_IN)) + labels[:, None]
    imgs = rng.integers(0, QUANTS, (8, 1, IMG, IMG))
    imgs[:, :, ::2] = np.minimum(imgs[:, :, ::2] + 1, QUANTS - 1)
    return {
        "adj": adj,
        "feats": feats,
        "labels": labels,
        "imgs": imgs,
        "noise": rng.random((40, 8, 1, IMG, IMG)),
        "z": rng.standard_normal(20000),
    }


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:  # noqa: C901 (two tutorials)
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    values: list[float] = []
    pos = [0]

    def numpy_like(p: Any, scale: float) -> Any:
        k = p.numel()
        out = init["z"][pos[0] : pos[0] + k].reshape(tuple(p.shape)) * scale
        pos[0] += k
        return torch.from_numpy(out).to(p.dtype)

    def numpy_weights(model: Any) -> None:
        with torch.no_grad():
            for _name, p in model.named_parameters():
                if p.dim() > 1 and float(p.abs().sum()) != 0.0:
                    p.copy_(numpy_like(p, (1.0 / p[0].numel()) ** 0.5))
                elif p.dim() == 1 and float(p.abs().sum()) != 0.0 and not bool((p == 1).all()):
                    p.copy_(numpy_like(p, 0.05))

    # ---- Tutorial 7 ------------------------------------------------------------------------------
    class GCNLayer(nn.Module):
        def __init__(self, c_in, c_out):
            super().__init__()
            self.projection = nn.Linear(c_in, c_out)

        def forward(self, node_feats, adj_matrix):
            # Num neighbours = number of incoming edges
            num_neighbours = adj_matrix.sum(dim=-1, keepdims=True)
            node_feats = self.projection(node_feats)
            node_feats = torch.bmm(adj_matrix, node_feats)
            node_feats = node_feats / num_neighbours
            return node_feats

    class GATLayer(nn.Module):
        def __init__(self, c_in, c_out, num_heads=1, concat_heads=True, alpha=0.2):
            super().__init__()
            self.num_heads = num_heads
            self.concat_heads = concat_heads
            if self.concat_heads:
                assert c_out % num_heads == 0, (
                    "Number of output features must be a multiple of the count of heads."
                )
                c_out = c_out // num_heads

            # Sub-modules and parameters needed in the layer
            self.projection = nn.Linear(c_in, c_out * num_heads)
            self.a = nn.Parameter(torch.Tensor(num_heads, 2 * c_out))  # One per head
            self.leakyrelu = nn.LeakyReLU(alpha)

            # Initialization from the original implementation
            nn.init.xavier_uniform_(self.projection.weight.data, gain=1.414)
            nn.init.xavier_uniform_(self.a.data, gain=1.414)

        def forward(self, node_feats, adj_matrix, print_attn_probs=False):
            batch_size, num_nodes = node_feats.size(0), node_feats.size(1)

            # Apply linear layer and sort nodes by head
            node_feats = self.projection(node_feats)
            node_feats = node_feats.view(batch_size, num_nodes, self.num_heads, -1)

            # We need to calculate the attention logits for every edge in the adjacency matrix
            # Doing this on all possible combinations of nodes is very expensive
            # => Create a tensor of [W*h_i||W*h_j] with i and j being the indices of all edges
            edges = adj_matrix.nonzero(
                as_tuple=False
            )  # Returns indices where the adjacency matrix is not 0 => edges
            node_feats_flat = node_feats.view(batch_size * num_nodes, self.num_heads, -1)
            edge_indices_row = edges[:, 0] * num_nodes + edges[:, 1]
            edge_indices_col = edges[:, 0] * num_nodes + edges[:, 2]
            a_input = torch.cat(
                [
                    torch.index_select(input=node_feats_flat, index=edge_indices_row, dim=0),
                    torch.index_select(input=node_feats_flat, index=edge_indices_col, dim=0),
                ],
                dim=-1,
            )  # Index select returns node_feats_flat indexed at the desired positions along dim=0

            # Calculate attention MLP output (independent for each head)
            attn_logits = torch.einsum("bhc,hc->bh", a_input, self.a)
            attn_logits = self.leakyrelu(attn_logits)

            # Map list of attention values back into a matrix
            attn_matrix = attn_logits.new_zeros(adj_matrix.shape + (self.num_heads,)).fill_(-9e15)
            attn_matrix[adj_matrix[..., None].repeat(1, 1, 1, self.num_heads) == 1] = (
                attn_logits.reshape(-1)
            )

            # Weighted average of attention
            attn_probs = F.softmax(attn_matrix, dim=2)
            if print_attn_probs:
                values.extend(attn_probs.permute(0, 3, 1, 2).flatten().tolist())
            node_feats = torch.einsum("bijh,bjhc->bihc", attn_probs, node_feats)

            # If heads should be concatenated, we can do this by reshaping. Otherwise, take mean
            if self.concat_heads:
                node_feats = node_feats.reshape(batch_size, num_nodes, -1)
            else:
                node_feats = node_feats.mean(dim=2)

            return node_feats

    node_feats = torch.arange(8, dtype=torch.float32).view(1, 4, 2)
    adj_matrix = torch.Tensor([[[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]])
    layer = GCNLayer(c_in=2, c_out=2)
    layer.projection.weight.data = torch.Tensor([[1.0, 0.0], [0.0, 1.0]])
    layer.projection.bias.data = torch.Tensor([0.0, 0.0])
    with torch.no_grad():
        out_feats = layer(node_feats, adj_matrix)
    values += out_feats.flatten().tolist()

    layer = GATLayer(2, 2, num_heads=2)
    layer.projection.weight.data = torch.Tensor([[1.0, 0.0], [0.0, 1.0]])
    layer.projection.bias.data = torch.Tensor([0.0, 0.0])
    layer.a.data = torch.Tensor([[-0.2, 0.3], [0.1, -0.1]])
    with torch.no_grad():
        out_feats = layer(node_feats, adj_matrix, print_attn_probs=True)
    values += out_feats.flatten().tolist()

    class GNNModel(nn.Module):
        def __init__(self, c_in, c_hidden, c_out, layer_name="GCN", num_heads=2):
            super().__init__()
            if layer_name == "GCN":
                layers = [
                    GCNLayer(c_in, c_hidden),
                    nn.ReLU(inplace=True),
                    GCNLayer(c_hidden, c_out),
                ]
            else:
                layers = [
                    GATLayer(c_in, c_hidden, num_heads=num_heads),
                    nn.ELU(inplace=True),
                    GATLayer(c_hidden, c_out, num_heads=num_heads, concat_heads=False),
                ]
            self.layers = nn.ModuleList(layers)

        def forward(self, x, adj):
            for layer in self.layers:
                x = layer(x, adj) if isinstance(layer, (GCNLayer, GATLayer)) else layer(x)
            return x

    x = torch.from_numpy(init["feats"]).float()[None]
    adj = torch.from_numpy(init["adj"]).float()[None]
    y = torch.from_numpy(init["labels"])
    train_mask = torch.tensor([True, True, False, True, False, True, False, True, True, False])
    for layer_name in ("GCN", "GAT"):
        model = GNNModel(F_IN, HID, CLASSES, layer_name=layer_name)
        numpy_weights(model)
        # NodeLevelGNN.configure_optimizers
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-3)
        loss_module = nn.CrossEntropyLoss()
        for _epoch in range(8):
            model.train()
            out = model(x, adj).squeeze(0)
            loss = loss_module(out[train_mask], y[train_mask])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        model.eval()
        with torch.no_grad():
            preds = model(x, adj).squeeze(0).argmax(dim=-1)
        values.append(
            (preds[~train_mask] == y[~train_mask]).sum().float().item() / (~train_mask).sum().item()
        )

    # ---- Tutorial 11 -----------------------------------------------------------------------------
    noise_iter = iter(init["noise"])

    class Dequantization(nn.Module):
        def __init__(self, alpha=1e-5, quants=256):
            super().__init__()
            self.alpha = alpha
            self.quants = quants

        def forward(self, z, ldj, reverse=False):
            if not reverse:
                z, ldj = self.dequant(z, ldj)
                z, ldj = self.sigmoid(z, ldj, reverse=True)
            else:
                z, ldj = self.sigmoid(z, ldj, reverse=False)
                z = z * self.quants
                ldj += np.log(self.quants) * np.prod(z.shape[1:])
                z = torch.floor(z).clamp(min=0, max=self.quants - 1).to(torch.int32)
            return z, ldj

        def sigmoid(self, z, ldj, reverse=False):
            # Applies an invertible sigmoid transformation
            if not reverse:
                ldj += (-z - 2 * F.softplus(-z)).sum(dim=[1, 2, 3])
                z = torch.sigmoid(z)
            else:
                z = z * (1 - self.alpha) + 0.5 * self.alpha  # Scale to prevent boundaries 0 and 1
                ldj += np.log(1 - self.alpha) * np.prod(z.shape[1:])
                ldj += (-torch.log(z) - torch.log(1 - z)).sum(dim=[1, 2, 3])
                z = torch.log(z) - torch.log(1 - z)
            return z, ldj

        def dequant(self, z, ldj):
            # Transform discrete values to continuous volumes
            z = z.to(torch.float32)
            noise = torch.from_numpy(next(noise_iter)[: z.shape[0]]).to(
                z.dtype
            )  # torch.rand_like(z)
            z = z + noise.detach()
            z = z / self.quants
            ldj -= np.log(self.quants) * np.prod(z.shape[1:])
            return z, ldj

    def create_checkerboard_mask(h, w, invert=False):
        x, y = torch.arange(h, dtype=torch.int32), torch.arange(w, dtype=torch.int32)
        xx, yy = torch.meshgrid(x, y, indexing="ij")
        mask = torch.fmod(xx + yy, 2)
        mask = mask.to(torch.float32).view(1, 1, h, w)
        if invert:
            mask = 1 - mask
        return mask

    def create_channel_mask(c_in, invert=False):
        mask = torch.cat(
            [
                torch.ones(c_in // 2, dtype=torch.float32),
                torch.zeros(c_in - c_in // 2, dtype=torch.float32),
            ]
        )
        mask = mask.view(1, c_in, 1, 1)
        if invert:
            mask = 1 - mask
        return mask

    class CouplingLayer(nn.Module):
        def __init__(self, network, mask, c_in):
            super().__init__()
            self.network = network
            self.scaling_factor = nn.Parameter(torch.zeros(c_in))
            # Register mask as buffer as it is a tensor which is not a parameter,
            # but should be stored in the modules state.
            self.register_buffer("mask", mask)

        def forward(self, z, ldj, reverse=False, orig_img=None):
            # Apply network to masked input
            z_in = z * self.mask
            if orig_img is None:
                nn_out = self.network(z_in)
            else:
                nn_out = self.network(torch.cat([z_in, orig_img], dim=1))
            s, t = nn_out.chunk(2, dim=1)

            # Stabilize scaling output
            s_fac = self.scaling_factor.exp().view(1, -1, 1, 1)
            s = torch.tanh(s / s_fac) * s_fac

            # Mask outputs (only transform the second part)
            s = s * (1 - self.mask)
            t = t * (1 - self.mask)

            # Affine transformation
            if not reverse:
                # Whether we first shift and then scale, or the other way round,
                # is a design choice, and usually does not have a big impact
                z = (z + t) * torch.exp(s)
                ldj += s.sum(dim=[1, 2, 3])
            else:
                z = (z * torch.exp(-s)) - t
                ldj -= s.sum(dim=[1, 2, 3])

            return z, ldj

    class ConcatELU(nn.Module):
        def forward(self, x):
            return torch.cat([F.elu(x), F.elu(-x)], dim=1)

    class LayerNormChannels(nn.Module):
        def __init__(self, c_in, eps=1e-5):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(1, c_in, 1, 1))
            self.beta = nn.Parameter(torch.zeros(1, c_in, 1, 1))
            self.eps = eps

        def forward(self, x):
            mean = x.mean(dim=1, keepdim=True)
            var = x.var(dim=1, unbiased=False, keepdim=True)
            y = (x - mean) / torch.sqrt(var + self.eps)
            y = y * self.gamma + self.beta
            return y

    class GatedConv(nn.Module):
        def __init__(self, c_in, c_hidden):
            super().__init__()
            self.net = nn.Sequential(
                ConcatELU(),
                nn.Conv2d(2 * c_in, c_hidden, kernel_size=3, padding=1),
                ConcatELU(),
                nn.Conv2d(2 * c_hidden, 2 * c_in, kernel_size=1),
            )

        def forward(self, x):
            out = self.net(x)
            val, gate = out.chunk(2, dim=1)
            return x + val * torch.sigmoid(gate)

    class GatedConvNet(nn.Module):
        def __init__(self, c_in, c_hidden=32, c_out=-1, num_layers=3):
            super().__init__()
            c_out = c_out if c_out > 0 else 2 * c_in
            layers = []
            layers += [nn.Conv2d(c_in, c_hidden, kernel_size=3, padding=1)]
            for _layer_index in range(num_layers):
                layers += [GatedConv(c_hidden, c_hidden), LayerNormChannels(c_hidden)]
            layers += [ConcatELU(), nn.Conv2d(2 * c_hidden, c_out, kernel_size=3, padding=1)]
            self.nn = nn.Sequential(*layers)

            self.nn[-1].weight.data.zero_()
            self.nn[-1].bias.data.zero_()

        def forward(self, x):
            return self.nn(x)

    class SqueezeFlow(nn.Module):
        def forward(self, z, ldj, reverse=False):
            B, C, H, W = z.shape
            if not reverse:
                # Forward direction: H x W x C => H/2 x W/2 x 4C
                z = z.reshape(B, C, H // 2, 2, W // 2, 2)
                z = z.permute(0, 1, 3, 5, 2, 4)
                z = z.reshape(B, 4 * C, H // 2, W // 2)
            else:
                # Reverse direction: H/2 x W/2 x 4C => H x W x C
                z = z.reshape(B, C // 4, 2, 2, H, W)
                z = z.permute(0, 1, 4, 2, 5, 3)
                z = z.reshape(B, C // 4, H * 2, W * 2)
            return z, ldj

    class ImageFlow(nn.Module):
        def __init__(self, flows, import_samples=8):
            super().__init__()
            self.flows = nn.ModuleList(flows)
            self.import_samples = import_samples
            # Create prior distribution for final latent space
            self.prior = torch.distributions.normal.Normal(loc=0.0, scale=1.0)

        def forward(self, imgs):
            # The forward function is only used for visualizing the graph
            return self._get_likelihood(imgs)

        def encode(self, imgs):
            # Given a batch of images, return the latent representation z and ldj of the
            # transformations
            z, ldj = imgs, torch.zeros(imgs.shape[0], device=self.device)
            for flow in self.flows:
                z, ldj = flow(z, ldj, reverse=False)
            return z, ldj

        def _get_likelihood(self, imgs, return_ll=False):
            z, ldj = self.encode(imgs)
            log_pz = self.prior.log_prob(z).sum(dim=[1, 2, 3])
            log_px = ldj + log_pz
            nll = -log_px
            # Calculating bits per dimension
            bpd = nll * np.log2(np.exp(1)) / np.prod(imgs.shape[1:])
            return bpd.mean() if not return_ll else log_px

        @torch.no_grad()
        def sample(self, z):
            ldj = torch.zeros(z.shape[0], device=self.device)
            for flow in reversed(self.flows):
                z, ldj = flow(z, ldj, reverse=True)
            return z

        @property
        def device(self):
            return self.prior.loc.device if torch.is_tensor(self.prior.loc) else torch.device("cpu")

    values += create_checkerboard_mask(IMG, IMG).flatten().tolist()
    values += create_channel_mask(4, invert=True).flatten().tolist()

    def create_simple_flow():
        flow_layers = [Dequantization(quants=QUANTS)]
        for i in range(2):
            flow_layers += [
                CouplingLayer(
                    network=GatedConvNet(c_in=1, c_hidden=8, num_layers=1),
                    mask=create_checkerboard_mask(h=IMG, w=IMG, invert=(i % 2 == 1)),
                    c_in=1,
                )
            ]
        flow_layers += [SqueezeFlow()]
        for i in range(2):
            flow_layers += [
                CouplingLayer(
                    network=GatedConvNet(c_in=4, c_hidden=8, num_layers=1),
                    mask=create_channel_mask(c_in=4, invert=(i % 2 == 1)),
                    c_in=4,
                )
            ]
        return ImageFlow(flow_layers)

    flow = create_simple_flow()
    numpy_weights(flow)
    with torch.no_grad():  # the zero-initialised last convs get small weights, as after training
        for m in flow.modules():
            if isinstance(m, GatedConvNet):
                m.nn[-1].weight.copy_(numpy_like(m.nn[-1].weight, 0.05))
    values.append(sum(p.numel() for p in flow.parameters()))
    imgs = torch.from_numpy(init["imgs"])
    optimizer = optim.Adam(flow.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.99)
    for _step in range(6):
        flow.train()
        loss = flow._get_likelihood(imgs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), float(loss.dtype == torch.float32)]
    flow.eval()
    with torch.no_grad():
        log_px = flow._get_likelihood(imgs, return_ll=True)
        values += log_px.tolist()
        z, ldj = flow.encode(imgs)
        values += [z.abs().sum().item(), ldj.sum().item()]
        recon = flow.sample(z)
    values += [float(recon.dtype == torch.int32), float(torch.equal(recon, imgs.to(torch.int32)))]
    values.append(scheduler.get_last_lr()[0])
    return values
