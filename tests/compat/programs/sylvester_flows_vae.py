"""Sylvester normalizing flows in a VAE (van den Berg et al. 2018), riannevdberg/sylvester-flows
(``models/flows.py``: ``Sylvester``, ``TriangularSylvester``; ``models/VAE.py``:
``OrthogonalSylvesterVAE``, ``HouseholderSylvesterVAE``, ``TriangularSylvesterVAE``;
``optimization/loss.py``: ``binary_loss_function``; ``utils/distributions.py``), size-reduced.

The idioms kept: buffers made from ``Variable(torch.triu(torch.ones(M, M), diagonal=1)
.unsqueeze(0).unsqueeze(3))`` followed by ``self.triu_mask.requires_grad = False``,
``register_buffer('diag_idx', torch.arange(0, M).long())`` and the reversing
``torch.arange(self.z_size - 1, -1, -1).long()``; the amortised flow parameters reshaped with
the deprecated non-inplace ``Tensor.resize(...)`` (a ``UserWarning``); ``r1 = full_d *
self.triu_mask``, ``r2 = full_d.transpose(2, 1) * self.triu_mask`` and the diagonals written in
by advanced indexing ``r1[:, self.diag_idx, self.diag_idx, :] = diag1`` (the diagonals from
``nn.Sequential(nn.Linear(...), nn.Tanh())``); the iterative orthogonalisation
``amat = torch.bmm(amat, self._eye + 0.5 * (self._eye - torch.bmm(amat.transpose(2, 1),
amat)))`` with ``torch.norm(q, p=2, dim=1, keepdim=True)`` and its convergence test
(``torch.max(norms).item() <= self._eps`` then ``break``); Householder products
``self._eye - 2 * torch.bmm(v.unsqueeze(2), v.unsqueeze(1))`` chained over ``amat[:, k]``;
the flows' ``diag_r1 = r1[:, self.diag_idx, self.diag_idx]``, ``torch.bmm(zk, qr2) + b``,
``der_tanh = 1 - self.h(x) ** 2``, ``diag_j += 1.``, ``diag_j.abs().log()``, the triangular
flow's permutation ``zk[:, :, permute_z]`` every other flow; the reparameterisation
``eps = torch.FloatTensor(std.size()).normal_()`` and ``eps.mul(std).add_(mu)``; flows
fetched by ``getattr(self, 'flow_' + str(k))`` after ``self.add_module('flow_' + str(k),
flow_k)``; the loss with ``nn.BCELoss(size_average=False)`` (the deprecated legacy argument),
``log_normal_diag`` (``log_var.exp().reciprocal()``) and ``log_normal_standard`` summed over
``dim=1``, ``loss / float(batch_size)``.

Changed: the gated-convolution MNIST encoder/decoder -> two-layer MLPs on 12-pixel binary
vectors; z 64 -> 4, 16 ortho vectors -> 3, 4 flows -> 2, 8 Householder reflections -> 2,
orthogonalisation ``steps`` 100 -> 30; 2000 epochs -> 3 steps per model; ``.data[0]`` reads
(PyTorch 0.3) are ``.item()``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
X_DIM, H_DIM, Z_SIZE, N_ORTHO, N_FLOWS, N_HOUSE = 12, 16, 4, 3, 2, 2


def _models(torch_like: Any) -> dict[str, type]:
    torch, nn = torch_like, torch_like.nn
    Variable = torch_like.autograd.Variable

    class Sylvester(nn.Module):
        """
        Sylvester normalizing flow.
        """

        def __init__(self, num_ortho_vecs):  # noqa: ANN001
            super(Sylvester, self).__init__()  # noqa: UP008

            self.num_ortho_vecs = num_ortho_vecs

            self.h = nn.Tanh()

            triu_mask = torch.triu(torch.ones(num_ortho_vecs, num_ortho_vecs), diagonal=1)
            triu_mask = triu_mask.unsqueeze(0)
            diag_idx = torch.arange(0, num_ortho_vecs).long()

            self.register_buffer("triu_mask", Variable(triu_mask))
            self.triu_mask.requires_grad = False
            self.register_buffer("diag_idx", diag_idx)

        def der_h(self, x):  # noqa: ANN001, ANN201
            return self.der_tanh(x)

        def der_tanh(self, x):  # noqa: ANN001, ANN201
            return 1 - self.h(x) ** 2

        def _forward(self, zk, r1, r2, q_ortho, b, sum_ldj=True):  # noqa: ANN001, ANN202
            # Amortized flow parameters
            zk = zk.unsqueeze(1)

            # Save diagonals for log_det_j
            diag_r1 = r1[:, self.diag_idx, self.diag_idx]
            diag_r2 = r2[:, self.diag_idx, self.diag_idx]

            r1_hat = r1
            r2_hat = r2

            qr2 = torch.bmm(q_ortho, r2_hat.transpose(2, 1))
            qr1 = torch.bmm(q_ortho, r1_hat)

            r2qzb = torch.bmm(zk, qr2) + b
            z = torch.bmm(self.h(r2qzb), qr1.transpose(2, 1)) + zk
            z = z.squeeze(1)

            # Compute log|det J|
            # Output log_det_j in shape (batch_size) instead of (batch_size,1)
            diag_j = diag_r1 * diag_r2
            diag_j = self.der_h(r2qzb).squeeze(1) * diag_j
            diag_j += 1.0
            log_diag_j = diag_j.abs().log()

            if sum_ldj:
                log_det_j = log_diag_j.sum(-1)
            else:
                log_det_j = log_diag_j

            return z, log_det_j

        def forward(self, zk, r1, r2, q_ortho, b, sum_ldj=True):  # noqa: ANN001, ANN201
            return self._forward(zk, r1, r2, q_ortho, b, sum_ldj)

    class TriangularSylvester(nn.Module):
        """
        Sylvester normalizing flow with Q=P or Q=I.
        """

        def __init__(self, z_size):  # noqa: ANN001
            super(TriangularSylvester, self).__init__()  # noqa: UP008

            self.z_size = z_size
            self.h = nn.Tanh()

            diag_idx = torch.arange(0, z_size).long()
            self.register_buffer("diag_idx", diag_idx)

        def der_h(self, x):  # noqa: ANN001, ANN201
            return self.der_tanh(x)

        def der_tanh(self, x):  # noqa: ANN001, ANN201
            return 1 - self.h(x) ** 2

        def _forward(self, zk, r1, r2, b, permute_z=None, sum_ldj=True):  # noqa: ANN001, ANN202
            # Amortized flow parameters
            zk = zk.unsqueeze(1)

            # Save diagonals for log_det_j
            diag_r1 = r1[:, self.diag_idx, self.diag_idx]
            diag_r2 = r2[:, self.diag_idx, self.diag_idx]

            if permute_z is not None:
                # permute order of z
                z_per = zk[:, :, permute_z]
            else:
                z_per = zk

            r2qzb = torch.bmm(z_per, r2.transpose(2, 1)) + b
            z = torch.bmm(self.h(r2qzb), r1.transpose(2, 1))

            if permute_z is not None:
                # permute order of z again back again
                z = z[:, :, permute_z]

            z += zk
            z = z.squeeze(1)

            # Compute log|det J|
            # Output log_det_j in shape (batch_size) instead of (batch_size,1)
            diag_j = diag_r1 * diag_r2
            diag_j = self.der_h(r2qzb).squeeze(1) * diag_j
            diag_j += 1.0
            log_diag_j = diag_j.abs().log()

            if sum_ldj:
                log_det_j = log_diag_j.sum(-1)
            else:
                log_det_j = log_diag_j

            return z, log_det_j

        def forward(self, zk, r1, r2, q_ortho, b, sum_ldj=True):  # noqa: ANN001, ANN201
            return self._forward(zk, r1, r2, q_ortho, b, sum_ldj)

    class VAE(nn.Module):
        """The base VAE, its encoder/decoder reduced to MLPs."""

        def __init__(self) -> None:
            super(VAE, self).__init__()  # noqa: UP008
            self.z_size = Z_SIZE
            self.q_z_nn_output_dim = H_DIM
            self.q_z_nn = nn.Sequential(nn.Linear(X_DIM, H_DIM), nn.Softplus())
            self.q_z_mean = nn.Linear(H_DIM, self.z_size)
            self.q_z_var = nn.Sequential(nn.Linear(H_DIM, self.z_size), nn.Softplus())
            self.p_x_nn = nn.Sequential(nn.Linear(self.z_size, H_DIM), nn.Softplus())
            self.p_x_mean = nn.Sequential(nn.Linear(H_DIM, X_DIM), nn.Sigmoid())
            self.log_det_j = 0.0

        def reparameterize(self, mu, var):  # noqa: ANN001, ANN201
            std = var.sqrt()
            eps = torch.FloatTensor(std.size()).normal_()
            eps = Variable(eps)
            z = eps.mul(std).add_(mu)
            return z

        def decode(self, z):  # noqa: ANN001, ANN201
            h = self.p_x_nn(z)
            x_mean = self.p_x_mean(h)
            return x_mean

    class OrthogonalSylvesterVAE(VAE):
        """
        Variational auto-encoder with orthogonal flows in the encoder.
        """

        def __init__(self) -> None:
            super(OrthogonalSylvesterVAE, self).__init__()  # noqa: UP008

            # Initialize log-det-jacobian to zero
            self.log_det_j = 0.0

            # Flow parameters
            flow = Sylvester
            self.num_flows = N_FLOWS
            self.num_ortho_vecs = N_ORTHO

            assert (self.num_ortho_vecs <= self.z_size) and (self.num_ortho_vecs > 0)

            # Orthogonalization parameters
            if self.num_ortho_vecs == self.z_size:
                self.cond = 1.0e-5
            else:
                self.cond = 1.0e-6

            self.steps = 30
            identity = torch.eye(self.num_ortho_vecs, self.num_ortho_vecs)
            # Add batch dimension
            identity = identity.unsqueeze(0)
            # Put identity in buffer so that it will be moved to GPU if needed by any call of .cuda
            self.register_buffer("_eye", Variable(identity))
            self._eye.requires_grad = False

            # Masks needed for triangular R1 and R2.
            triu_mask = torch.triu(torch.ones(self.num_ortho_vecs, self.num_ortho_vecs), diagonal=1)
            triu_mask = triu_mask.unsqueeze(0).unsqueeze(3)
            diag_idx = torch.arange(0, self.num_ortho_vecs).long()

            self.register_buffer("triu_mask", Variable(triu_mask))
            self.triu_mask.requires_grad = False
            self.register_buffer("diag_idx", diag_idx)

            # Amortized flow parameters
            # Diagonal elements of R1 * R2 have to satisfy -1 < R1 * R2 for flow to be invertible
            self.diag_activation = nn.Tanh()

            self.amor_d = nn.Linear(
                self.q_z_nn_output_dim, self.num_flows * self.num_ortho_vecs * self.num_ortho_vecs
            )

            self.amor_diag1 = nn.Sequential(
                nn.Linear(self.q_z_nn_output_dim, self.num_ortho_vecs * self.num_flows),
                self.diag_activation,
            )
            self.amor_diag2 = nn.Sequential(
                nn.Linear(self.q_z_nn_output_dim, self.num_ortho_vecs * self.num_flows),
                self.diag_activation,
            )

            self.amor_q = nn.Linear(
                self.q_z_nn_output_dim, self.z_size * self.num_ortho_vecs * self.num_flows
            )
            self.amor_b = nn.Linear(self.q_z_nn_output_dim, self.num_ortho_vecs * self.num_flows)

            # Normalizing flow layers
            for k in range(self.num_flows):
                flow_k = flow(self.num_ortho_vecs)
                self.add_module("flow_" + str(k), flow_k)

        def batch_construct_orthogonal(self, q):  # noqa: ANN001, ANN201
            """
            Batch orthogonal matrix construction.
            """

            # Reshape to shape (num_flows * batch_size, z_size * num_ortho_vecs)
            q = q.view(-1, self.z_size * self.num_ortho_vecs)

            norm = torch.norm(q, p=2, dim=1, keepdim=True)
            amat = torch.div(q, norm)
            dim0 = amat.size(0)
            amat = amat.resize(dim0, self.z_size, self.num_ortho_vecs)

            max_norm = 0.0

            # Iterative orthogonalization
            for _s in range(self.steps):
                tmp = torch.bmm(amat.transpose(2, 1), amat)
                tmp = self._eye - tmp
                tmp = self._eye + 0.5 * tmp
                amat = torch.bmm(amat, tmp)

                # Testing for convergence
                test = torch.bmm(amat.transpose(2, 1), amat) - self._eye
                norms2 = torch.sum(torch.norm(test, p=2, dim=2) ** 2, dim=1)
                norms = torch.sqrt(norms2)
                max_norm = torch.max(norms).item()
                if max_norm <= self.cond:
                    break

            self.orthogonality = max_norm

            # Reshaping: first dimension is batch_size
            amat = amat.view(-1, self.num_flows, self.z_size, self.num_ortho_vecs)
            amat = amat.transpose(0, 1)

            return amat

        def encode(self, x):  # noqa: ANN001, ANN201
            """
            Encoder that ouputs parameters for base distribution of z and flow parameters.
            """

            batch_size = x.size(0)

            h = self.q_z_nn(x)
            h = h.view(-1, self.q_z_nn_output_dim)
            mean_z = self.q_z_mean(h)
            var_z = self.q_z_var(h)

            # Amortized r1, r2, q, b for all flows

            full_d = self.amor_d(h)
            diag1 = self.amor_diag1(h)
            diag2 = self.amor_diag2(h)

            full_d = full_d.resize(
                batch_size, self.num_ortho_vecs, self.num_ortho_vecs, self.num_flows
            )
            diag1 = diag1.resize(batch_size, self.num_ortho_vecs, self.num_flows)
            diag2 = diag2.resize(batch_size, self.num_ortho_vecs, self.num_flows)

            r1 = full_d * self.triu_mask
            r2 = full_d.transpose(2, 1) * self.triu_mask

            r1[:, self.diag_idx, self.diag_idx, :] = diag1
            r2[:, self.diag_idx, self.diag_idx, :] = diag2

            q = self.amor_q(h)
            b = self.amor_b(h)

            # Resize flow parameters to divide over K flows
            b = b.resize(batch_size, 1, self.num_ortho_vecs, self.num_flows)

            return mean_z, var_z, r1, r2, q, b

        def forward(self, x):  # noqa: ANN001, ANN201
            """
            Forward pass with orthogonal sylvester flows for the transformation
            z_0 -> z_1 -> ... -> z_k.
            Log determinant is computed as log_det_j = N E_q_z0[\\sum_k log |det dz_k/dz_k-1| ].
            """

            self.log_det_j = 0.0

            z_mu, z_var, r1, r2, q, b = self.encode(x)

            # Orthogonalize all q matrices
            q_ortho = self.batch_construct_orthogonal(q)

            # Sample z_0
            z = [self.reparameterize(z_mu, z_var)]

            # Normalizing flows
            for k in range(self.num_flows):
                flow_k = getattr(self, "flow_" + str(k))
                z_k, log_det_jacobian = flow_k(
                    z[k], r1[:, :, :, k], r2[:, :, :, k], q_ortho[k, :, :, :], b[:, :, :, k]
                )

                z.append(z_k)
                self.log_det_j += log_det_jacobian

            x_mean = self.decode(z[-1])

            return x_mean, z_mu, z_var, self.log_det_j, z[0], z[-1]

    class HouseholderSylvesterVAE(VAE):
        """
        Variational auto-encoder with householder sylvester flows in the encoder.
        """

        def __init__(self) -> None:
            super(HouseholderSylvesterVAE, self).__init__()  # noqa: UP008

            # Initialize log-det-jacobian to zero
            self.log_det_j = 0.0

            # Flow parameters
            flow = Sylvester
            self.num_flows = N_FLOWS
            self.num_householder = N_HOUSE
            assert self.num_householder > 0

            identity = torch.eye(self.z_size, self.z_size)
            # Add batch dimension
            identity = identity.unsqueeze(0)
            # Put identity in buffer so that it will be moved to GPU if needed by any call of .cuda
            self.register_buffer("_eye", Variable(identity))
            self._eye.requires_grad = False

            # Masks needed for triangular r1 and r2.
            triu_mask = torch.triu(torch.ones(self.z_size, self.z_size), diagonal=1)
            triu_mask = triu_mask.unsqueeze(0).unsqueeze(3)
            diag_idx = torch.arange(0, self.z_size).long()

            self.register_buffer("triu_mask", Variable(triu_mask))
            self.triu_mask.requires_grad = False
            self.register_buffer("diag_idx", diag_idx)

            # Amortized flow parameters
            # Diagonal elements of r1 * r2 have to satisfy -1 < r1 * r2 for flow to be invertible
            self.diag_activation = nn.Tanh()

            self.amor_d = nn.Linear(
                self.q_z_nn_output_dim, self.num_flows * self.z_size * self.z_size
            )

            self.amor_diag1 = nn.Sequential(
                nn.Linear(self.q_z_nn_output_dim, self.num_flows * self.z_size),
                self.diag_activation,
            )
            self.amor_diag2 = nn.Sequential(
                nn.Linear(self.q_z_nn_output_dim, self.num_flows * self.z_size),
                self.diag_activation,
            )

            self.amor_q = nn.Linear(
                self.q_z_nn_output_dim, self.num_flows * self.z_size * self.num_householder
            )

            self.amor_b = nn.Linear(self.q_z_nn_output_dim, self.num_flows * self.z_size)

            # Normalizing flow layers
            for k in range(self.num_flows):
                flow_k = flow(self.z_size)

                self.add_module("flow_" + str(k), flow_k)

        def batch_construct_orthogonal(self, q):  # noqa: ANN001, ANN201
            """
            Batch orthogonal matrix construction.
            """

            # Reshape to shape (num_flows * batch_size * num_householder, z_size)
            q = q.view(-1, self.z_size)

            norm = torch.norm(q, p=2, dim=1, keepdim=True)  # ||v||_2
            v = torch.div(q, norm)  # v / ||v||_2

            # Calculate Householder Matrices
            # v * v_T : batch_dot( B x L x 1 * B x 1 x L ) = B x L x L
            vvT = torch.bmm(v.unsqueeze(2), v.unsqueeze(1))

            amat = self._eye - 2 * vvT  # NOTA BENE: batch_eye is empty!

            # Reshaping: first dimension is batch_size * num_flows
            amat = amat.view(-1, self.num_householder, self.z_size, self.z_size)

            tmp = amat[:, 0]
            for k in range(1, self.num_householder):
                tmp = torch.bmm(amat[:, k], tmp)

            amat = tmp.view(-1, self.num_flows, self.z_size, self.z_size)
            amat = amat.transpose(0, 1)

            return amat

        def encode(self, x):  # noqa: ANN001, ANN201
            batch_size = x.size(0)

            h = self.q_z_nn(x)
            h = h.view(-1, self.q_z_nn_output_dim)
            mean_z = self.q_z_mean(h)
            var_z = self.q_z_var(h)

            # Amortized r1, r2, q, b for all flows
            full_d = self.amor_d(h)
            diag1 = self.amor_diag1(h)
            diag2 = self.amor_diag2(h)

            full_d = full_d.resize(batch_size, self.z_size, self.z_size, self.num_flows)
            diag1 = diag1.resize(batch_size, self.z_size, self.num_flows)
            diag2 = diag2.resize(batch_size, self.z_size, self.num_flows)

            r1 = full_d * self.triu_mask
            r2 = full_d.transpose(2, 1) * self.triu_mask

            r1[:, self.diag_idx, self.diag_idx, :] = diag1
            r2[:, self.diag_idx, self.diag_idx, :] = diag2

            q = self.amor_q(h)

            b = self.amor_b(h)

            # Resize flow parameters to divide over K flows
            b = b.resize(batch_size, 1, self.z_size, self.num_flows)

            return mean_z, var_z, r1, r2, q, b

        def forward(self, x):  # noqa: ANN001, ANN201
            self.log_det_j = 0.0

            z_mu, z_var, r1, r2, q, b = self.encode(x)

            # Orthogonalize all q matrices
            q_ortho = self.batch_construct_orthogonal(q)

            # Sample z_0
            z = [self.reparameterize(z_mu, z_var)]

            # Normalizing flows
            for k in range(self.num_flows):
                flow_k = getattr(self, "flow_" + str(k))
                q_k = q_ortho[k]

                z_k, log_det_jacobian = flow_k(
                    z[k], r1[:, :, :, k], r2[:, :, :, k], q_k, b[:, :, :, k], sum_ldj=True
                )

                z.append(z_k)
                self.log_det_j += log_det_jacobian

            x_mean = self.decode(z[-1])

            return x_mean, z_mu, z_var, self.log_det_j, z[0], z[-1]

    class TriangularSylvesterVAE(VAE):
        """
        Variational auto-encoder with triangular Sylvester flows in the encoder. Alternates
        between setting the orthogonal matrix equal to permutation and identity matrix for each
        flow.
        """

        def __init__(self) -> None:
            super(TriangularSylvesterVAE, self).__init__()  # noqa: UP008

            # Initialize log-det-jacobian to zero
            self.log_det_j = 0.0

            # Flow parameters
            flow = TriangularSylvester
            self.num_flows = N_FLOWS

            # permuting indices corresponding to Q=P (permutation matrix) for every other flow
            flip_idx = torch.arange(self.z_size - 1, -1, -1).long()
            self.register_buffer("flip_idx", flip_idx)

            # Masks needed for triangular r1 and r2.
            triu_mask = torch.triu(torch.ones(self.z_size, self.z_size), diagonal=1)
            triu_mask = triu_mask.unsqueeze(0).unsqueeze(3)
            diag_idx = torch.arange(0, self.z_size).long()

            self.register_buffer("triu_mask", Variable(triu_mask))
            self.triu_mask.requires_grad = False
            self.register_buffer("diag_idx", diag_idx)

            # Amortized flow parameters
            # Diagonal elements of r1 * r2 have to satisfy -1 < r1 * r2 for flow to be invertible
            self.diag_activation = nn.Tanh()

            self.amor_d = nn.Linear(
                self.q_z_nn_output_dim, self.num_flows * self.z_size * self.z_size
            )

            self.amor_diag1 = nn.Sequential(
                nn.Linear(self.q_z_nn_output_dim, self.num_flows * self.z_size),
                self.diag_activation,
            )
            self.amor_diag2 = nn.Sequential(
                nn.Linear(self.q_z_nn_output_dim, self.num_flows * self.z_size),
                self.diag_activation,
            )

            self.amor_b = nn.Linear(self.q_z_nn_output_dim, self.num_flows * self.z_size)

            # Normalizing flow layers
            for k in range(self.num_flows):
                flow_k = flow(self.z_size)

                self.add_module("flow_" + str(k), flow_k)

        def encode(self, x):  # noqa: ANN001, ANN201
            batch_size = x.size(0)

            h = self.q_z_nn(x)
            h = h.view(-1, self.q_z_nn_output_dim)
            mean_z = self.q_z_mean(h)
            var_z = self.q_z_var(h)

            # Amortized r1, r2, b for all flows
            full_d = self.amor_d(h)
            diag1 = self.amor_diag1(h)
            diag2 = self.amor_diag2(h)

            full_d = full_d.resize(batch_size, self.z_size, self.z_size, self.num_flows)
            diag1 = diag1.resize(batch_size, self.z_size, self.num_flows)
            diag2 = diag2.resize(batch_size, self.z_size, self.num_flows)

            r1 = full_d * self.triu_mask
            r2 = full_d.transpose(2, 1) * self.triu_mask

            r1[:, self.diag_idx, self.diag_idx, :] = diag1
            r2[:, self.diag_idx, self.diag_idx, :] = diag2

            b = self.amor_b(h)

            # Resize flow parameters to divide over K flows
            b = b.resize(batch_size, 1, self.z_size, self.num_flows)

            return mean_z, var_z, r1, r2, b

        def forward(self, x):  # noqa: ANN001, ANN201
            self.log_det_j = 0.0

            z_mu, z_var, r1, r2, b = self.encode(x)

            # Sample z_0
            z = [self.reparameterize(z_mu, z_var)]

            # Normalizing flows
            for k in range(self.num_flows):
                flow_k = getattr(self, "flow_" + str(k))
                if k % 2 == 1:
                    # Alternate with reorderering z for triangular flow
                    permute_z = self.flip_idx
                else:
                    permute_z = None

                z_k, log_det_jacobian = flow_k(
                    z[k], r1[:, :, :, k], r2[:, :, :, k], b[:, :, :, k], permute_z, sum_ldj=True
                )

                z.append(z_k)
                self.log_det_j += log_det_jacobian

            x_mean = self.decode(z[-1])

            return x_mean, z_mu, z_var, self.log_det_j, z[0], z[-1]

    return {
        "orthogonal": OrthogonalSylvesterVAE,
        "householder": HouseholderSylvesterVAE,
        "triangular": TriangularSylvesterVAE,
    }


def make_model(torch_like: Any) -> Any:
    return torch_like.nn.ModuleDict({k: cls() for k, cls in _models(torch_like).items()})


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn

    def log_normal_diag(x, mean, log_var, average=False, reduce=True, dim=None):  # noqa: ANN001, ANN202
        log_norm = -0.5 * (log_var + (x - mean) * (x - mean) * log_var.exp().reciprocal())
        if reduce:
            if average:
                return torch.mean(log_norm, dim)
            else:
                return torch.sum(log_norm, dim)
        else:
            return log_norm

    def log_normal_standard(x, average=False, reduce=True, dim=None):  # noqa: ANN001, ANN202
        log_norm = -0.5 * x * x

        if reduce:
            if average:
                return torch.mean(log_norm, dim)
            else:
                return torch.sum(log_norm, dim)
        else:
            return log_norm

    def binary_loss_function(recon_x, x, z_mu, z_var, z_0, z_k, ldj, beta=1.0):  # noqa: ANN001, ANN202
        reconstruction_function = nn.BCELoss(size_average=False)

        batch_size = x.size(0)

        # - N E_q0 [ ln p(x|z_k) ]
        bce = reconstruction_function(recon_x, x)

        # ln p(z_k)  (not averaged)
        log_p_zk = log_normal_standard(z_k, dim=1)
        # ln q(z_0)  (not averaged)
        log_q_z0 = log_normal_diag(z_0, mean=z_mu, log_var=z_var.log(), dim=1)
        # N E_q0[ ln q(z_0) - ln p(z_k) ]
        summed_logs = torch.sum(log_q_z0 - log_p_zk)

        # sum over batches
        summed_ldj = torch.sum(ldj)

        # ldj = N E_q_z0[\sum_k log |det dz_k/dz_k-1| ]
        kl = summed_logs - summed_ldj
        loss = bce + beta * kl

        loss = loss / float(batch_size)
        bce = bce / float(batch_size)
        kl = kl / float(batch_size)

        return loss, bce, kl

    rng = np.random.default_rng(3)
    data = (rng.random((16, X_DIM)) < 0.4).astype(np.float32)
    start = make_model(torch_like)
    load_numpy_state(torch_like, start, init)
    torch.manual_seed(11)
    values: list[float] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "non-inplace resize is deprecated", UserWarning)
        warnings.filterwarnings("ignore", "size_average and reduce args", UserWarning)
        for name, model in start.items():
            model.train()
            optimizer = torch.optim.Adamax(model.parameters(), lr=5e-3, eps=1.0e-7)
            for step in range(3):
                x = torch.from_numpy(data[step * 5 : step * 5 + 5])
                optimizer.zero_grad()
                x_mean, z_mu, z_var, ldj, z0, zk = model(x)
                loss, rec, kl = binary_loss_function(x_mean, x, z_mu, z_var, z0, zk, ldj, 1.0)
                loss.backward()
                optimizer.step()
                values += [loss.item(), rec.item(), kl.item()]
            if name == "orthogonal":
                values.append(float(model.orthogonality < 1e-3))
            # the flows' log-determinant against autograd's Jacobian of one flow
            model.eval()
            with torch.no_grad():
                _, _, _, ldj, _, _ = model(torch.from_numpy(data[:2]))
            values += [float(v) for v in ldj]
            grads = [p.grad.abs().sum().item() for p in model.parameters() if p.grad is not None]
            values.append(sum(grads))
    return values
