"""The iteration of ``lobpcg`` (``linalg_lowrank_lobpcg.py``): torch's LOBPCG worker with
orthogonal basis selection (``method="ortho"``, ``torch/_lobpcg.py``) step for step, in NumPy
on each matrix of a batch. A helper module, not an op module: ``lobpcg`` is public through
``linalg_lowrank.py``.

Each step reduces the search basis ``S = [X, P, W]`` (Ritz vectors, previous directions,
B-orthonormalised residuals) by Rayleigh-Ritz; a pair is converged when its backward-stable
residual ``|r| / (|x| (|A| + |lambda| |B|))`` is below ``tol``; iteration stops when the
first k pairs are, or after ``niter`` steps (-1: no limit). As in torch, the first step
computes the residual with the eigenvalue estimates still zero.
"""

from __future__ import annotations

import numpy as np

from ..creation_random import randn
from ..linalg._common import LinAlgError

__all__ = ["run_ortho"]


def _symeig(a: np.ndarray, largest: bool | None = False) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of symmetric ``a`` (upper triangle read), ascending or, with ``largest``,
    descending (torch's ``_linalg_utils.symeig``)."""
    e, z = np.linalg.eigh(a, UPLO="U")
    if largest:
        e, z = e[::-1], z[:, ::-1]
    return e, z


class _Ortho:
    """torch's ``LOBPCG`` worker, ``method="ortho"``, for one matrix (NumPy arrays)."""

    def __init__(self, A, B, X, iparams: dict, fparams: dict, bparams: dict) -> None:  # noqa: N803
        self.A, self.B = A, B
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        m, n = iparams["m"], iparams["n"]
        self.X = X
        self.E = np.zeros((n,), dtype=X.dtype)
        self.R = np.zeros((m, n), dtype=X.dtype)
        self.S = np.zeros((m, 3 * n), dtype=X.dtype)
        self.ivars: dict[str, int] = {"istep": 0}
        self.fvars: dict[str, float] = {}

    def _b(self, x: np.ndarray) -> np.ndarray:
        return x if self.B is None else self.B @ x

    def run(self) -> None:
        self.update()
        while not (
            self.ivars["iterations_left"] == 0 or self.ivars["converged_count"] >= self.iparams["k"]
        ):
            self.update()

    def update(self) -> None:
        if self.ivars["istep"] == 0:
            x_norm = float(np.linalg.norm(self.X))
            ix_norm = _inverse(x_norm)
            self.fvars["A_norm"] = float(np.linalg.norm(self.A @ self.X)) * ix_norm
            self.fvars["B_norm"] = float(np.linalg.norm(self._b(self.X))) * ix_norm
            self.ivars["iterations_left"] = self.iparams["niter"]
            self.ivars["converged_count"] = 0
            self.ivars["converged_end"] = 0
        self._update_ortho()
        self.ivars["iterations_left"] -= 1
        self.ivars["istep"] += 1

    def update_residual(self) -> None:
        self.R = self.A @ self.X - self._b(self.X) * self.E

    def update_converged_count(self) -> int:
        """The number of leading pairs whose backward-stable residual is below ``tol``."""
        prev = self.ivars["converged_count"]
        e, x, r = self.E, self.X, self.R
        with np.errstate(divide="ignore", invalid="ignore"):
            rerr = np.linalg.norm(r, axis=0) / (
                np.linalg.norm(x, axis=0)
                * (self.fvars["A_norm"] + np.abs(e[: x.shape[-1]]) * self.fvars["B_norm"])
            )
        count = 0
        for ok in rerr < self.fparams["tol"]:
            if not ok:
                break  # later pairs count only after all earlier ones (strict ordering)
            count += 1
        if count < prev:
            raise RuntimeError(
                f"lobpcg: the number of converged eigenpairs (was {prev}, got {count}) "
                "cannot decrease"
            )
        self.ivars["converged_count"] = count
        return count

    def _update_ortho(self) -> None:
        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            ri = self._rayleigh_ritz_transform(self.X)
            mat = ri.T @ (self.X.T @ (self.A @ self.X)) @ ri
            _, z = _symeig(mat, largest)
            self.X = self.X @ (ri @ z)
            self.update_residual()  # with E still zero, as torch's first step
            np_ = 0
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            w = self._get_ortho(self.R, self.X)
        else:
            s_ = self.S[:, nc:ns]
            e_, z = _symeig(s_.T @ (self.A @ s_), largest)
            self.X[:, nc:] = s_ @ z[:, : n - nc]
            self.E[nc:] = e_[: n - nc]
            p = s_ @ (z[:, n - nc :] @ np.linalg.qr(z[: n - nc, n - nc :].T)[0])
            np_ = p.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            self.S[:, n : n + np_] = p
            w = self._get_ortho(self.R[:, nc:], self.S[:, : n + np_])
        ns = self.ivars["converged_end"] = n + np_ + w.shape[-1]
        self.S[:, n + np_ : ns] = w

    def _rayleigh_ritz_transform(self, s: np.ndarray) -> np.ndarray:
        """Ri with ``Ri^T S^T B S Ri = I`` (torch's ``_get_rayleigh_ritz_transform``)."""
        sbs = s.T @ self._b(s)
        d_row = np.diagonal(sbs) ** -0.5
        d_col = d_row.reshape(-1, 1)
        try:
            r = np.linalg.cholesky((sbs * d_row) * d_col).T  # upper R, R^T R = D SBS D
        except np.linalg.LinAlgError as err:
            raise LinAlgError(
                "lobpcg: the Rayleigh-Ritz basis is not positive-definite in B (is B "
                f"symmetric positive-definite and X of full rank?): {err}"
            ) from None
        return np.linalg.solve(r.T, np.diag(d_row).T).T  # X R = diag(d)

    def _get_svqb(self, u: np.ndarray, drop: bool, tau: float) -> np.ndarray:
        """B-orthonormal columns spanning ``u`` (Duersch's Algorithm 4, torch's svqb)."""
        if u.size == 0:
            return u
        ubu = u.T @ self._b(u)
        d = np.diagonal(ubu)
        nz = np.nonzero(np.abs(d) != 0.0)[0]
        if len(nz) < len(d):  # exact zero columns are dropped first
            u = u[:, nz]
            if u.size == 0:
                return u
            ubu = u.T @ self._b(u)
            d = np.diagonal(ubu)
        d_col = (d**-0.5).reshape(-1, 1)
        e, z = _symeig((ubu * d_col) * d_col.T)
        t = tau * np.abs(e).max()
        if drop:
            keep = np.nonzero(e > t)[0]
            e, z, d_col = e[keep], z[:, keep], d_col[keep]
        else:
            e = np.where(e < t, t, e)
        return (u * d_col.T) @ (z * e**-0.5)

    def _get_ortho(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """B-orthonormal columns from ``u``, B-orthogonal to ``v`` (Duersch's Algorithm 3,
        torch's ``_get_ortho``)."""
        m = self.iparams["m"]
        tau_ortho = self.fparams["ortho_tol"]
        tau_drop = self.fparams["ortho_tol_drop"]
        tau_replace = self.fparams["ortho_tol_replace"]
        use_drop = self.bparams["ortho_use_drop"]
        bv_norm = np.linalg.norm(self._b(v))
        bu = self._b(u)
        vbu = v.T @ bu
        for _ in range(self.iparams["ortho_i_max"]):
            u = u - v @ vbu
            drop, tau_svqb = False, tau_drop
            for _ in range(self.iparams["ortho_j_max"]):
                if use_drop:
                    u = self._get_svqb(u, drop, tau_svqb)
                    drop, tau_svqb = True, tau_replace
                else:
                    u = self._get_svqb(u, False, tau_replace)
                if u.size == 0:  # every column of u is B-collinear to v
                    return u
                bu = self._b(u)
                ubu = u.T @ bu
                r_norm = float(np.linalg.norm(ubu - np.eye(ubu.shape[-1], dtype=ubu.dtype)))
                bu_u = float(np.linalg.norm(bu) * np.linalg.norm(u))
                if r_norm * _inverse(bu_u) < tau_ortho:
                    break
            vbu = v.T @ bu
            rerr = float(np.linalg.norm(vbu)) * _inverse(float(bv_norm * np.linalg.norm(u)))
            if rerr < tau_ortho:
                break
            if m < u.shape[-1] + v.shape[-1]:
                raise ValueError(
                    f"lobpcg: Overdetermined shape of U: #B-cols(={m}) >= "
                    f"#U-cols(={u.shape[-1]}) + #V-cols(={v.shape[-1]}) must hold"
                )
        return u


def _inverse(x: float) -> float:
    if x == 0.0:
        raise ZeroDivisionError(
            "lobpcg: a zero norm in the iteration (A X = 0, a zero X or k = 0?)"
        )
    return 1.0 / x


def run_ortho(a, b, x, k, n, iparams, fparams, bparams):
    """E (*, k) and X (*, m, k) for a (batch of) matrices, one worker per matrix."""
    m = a.shape[-1]
    batch = a.shape[:-2]
    count = int(np.prod(batch)) if batch else 1
    a3 = a.reshape((count, m, m))
    b3 = b.reshape((count, m, m)) if b is not None else None
    x3 = None
    if x is not None and not batch:  # torch: a 2-d A takes X exactly (m, n)
        if x.shape != (m, n):
            raise AssertionError(
                f"lobpcg: X shape mismatch: got {tuple(x.shape)}, expected {(m, n)}"
            )
        x3 = x[None]
    elif x is not None:  # torch reshapes X to A's batch count
        try:
            x3 = x.reshape((count,) + x.shape[-2:])
        except ValueError:
            raise RuntimeError(
                f"lobpcg: X of shape {tuple(x.shape)} does not fit A's batch of {count} matrices "
                f"(expected X of shape {batch + (m, n)})"
            ) from None
    es = np.empty((count, k), dtype=a.dtype)
    xs = np.empty((count, m, k), dtype=a.dtype)
    for i in range(count):
        xi = randn(m, n, dtype=a.dtype)._data if x3 is None else x3[i]
        if xi.shape != (m, n):
            raise AssertionError(
                f"lobpcg: X shape mismatch: got {tuple(xi.shape)}, expected {(m, n)}"
            )
        worker = _Ortho(a3[i], None if b3 is None else b3[i], xi, iparams, fparams, bparams)
        worker.run()
        es[i], xs[i] = worker.E[:k], worker.X[:, :k]
    return es.reshape(batch + (k,)), xs.reshape(batch + (m, k))
