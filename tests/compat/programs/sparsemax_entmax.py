"""Sparsemax and entmax as custom autograd Functions, as the ``entmax`` package
(deep-spin/entmax's ``activations.py`` and ``root_finding.py``) and dreamquark-ai/tabnet's
``pytorch_tabnet/sparsemax.py`` write them, then a small TabNet encoder (``tab_network.py``'s
``GBN``, ``AttentiveTransformer``, ``GLU_Block`` and ``TabNetEncoder``) trained a few steps,
size-reduced.

The idioms: ``_make_ix_like`` (``torch.arange(1, d + 1, device=X.device, dtype=X.dtype)``,
``view = [1] * X.dim(); view[0] = -1``, ``rho.view(view).transpose(0, dim)``) and
``_roll_last``'s ``X.permute(perm)``; the sparsemax threshold (``torch.sort(X, dim=dim,
descending=True)`` or ``torch.topk(X, k=k, dim=dim)``, ``topk.cumsum(dim) - 1``, ``support =
rhos * topk > topk_cumsum``, ``support.sum(dim=dim).unsqueeze(dim)``, ``tau =
topk_cumsum.gather(dim, support_size - 1)``, the in-place ``tau /= support_size.to(X.dtype)``)
and entmax-1.5's sort form (``Xsrt``, ``mean = Xsrt.cumsum(dim) / rho``, ``mean_sq``, ``ss``,
``delta_nz = torch.clamp(delta, 0)``, ``tau_star = tau.gather(dim, support_size - 1)``); the
partial-sort fallback for rows whose support reached ``k`` (``unsolved = (support_size ==
k).squeeze(dim)``, ``if torch.any(unsolved)``, ``_roll_last(tau, dim)[unsolved] = tau_``: a
boolean-mask write through a permuted view); ``Function``s whose ``forward``/``backward`` are
``@classmethod``s (entmax) or ``@staticmethod``s (TabNet, with the in-place ``input -=
max_val`` on its input), ``ctx.dim = dim``, ``ctx.save_for_backward(supp_size, output)``,
``grad_input[output == 0] = 0``, ``v_hat = grad_input.sum(dim=dim) /
supp_size.to(output.dtype).squeeze()``, ``torch.where(output != 0, grad_input - v_hat,
grad_input)``, entmax's ``dX -= q * gppr``, ``return grad_input, None, None``; the bisection
``EntmaxBisectFunction`` (``torch.tensor(alpha, dtype=X.dtype, device=X.device)``,
``alpha.expand(*alpha_shape)``, ``cls._gp(1, alpha)`` as ``1 ** (alpha - 1)``, ``dm /= 2``,
``torch.where(mask, tau_m, tau_lo)``, ``p_m /= p_m.sum(dim=dim).unsqueeze(dim=dim)``,
``ctx.needs_input_grad[1]`` for the gradient in ``alpha``, ``Y.new_zeros(1)``);
``torch.autograd.gradcheck`` of all three in float64; TabNet's ``GBN`` (``x.chunk(int(np.ceil(
x.shape[0] / self.virtual_batch_size)), 0)`` through one ``BatchNorm1d(momentum=0.02)``),
``initialize_non_glu`` / ``initialize_glu`` (``np.sqrt((input_dim + output_dim) /
np.sqrt(4 * input_dim))`` gains for ``torch.nn.init.xavier_normal_``), the GLU
(``torch.mul(x[:, : self.output_dim], torch.sigmoid(x[:, self.output_dim :]))``, ``scale =
torch.sqrt(torch.FloatTensor([0.5]).to(x.device))``), the attentive transformer's ``torch.mul(x,
priors)`` into the selector, the encoder's ``prior = torch.ones((bs, self.attention_dim)).to(
x.device)``, ``M_loss += torch.mean(torch.sum(torch.mul(M, torch.log(M + self.epsilon)),
dim=1))``, ``prior = torch.mul(self.gamma - M, prior)``, ``torch.matmul(M,
self.group_attention_matrix)``, ``ReLU()(out[:, : self.n_d])``, ``torch.sum(torch.stack(
steps_output, dim=0), dim=0)``; the loss ``F.cross_entropy(...) - lambda_sparse * M_loss``,
``clip_grad_norm_`` and Adam; the explainability masks ``torch.sum(M * step_importance.
unsqueeze(dim=1), dim=1)`` in ``model.eval()`` / ``torch.no_grad()``.

Changed: inputs from NumPy, 7 features, ``n_d = n_a = 4``, three decision steps, a virtual
batch of 5 over batches of 12, four training steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

FEATURES, N_D, N_A, N_STEPS, CLASSES, BATCH, VBS, STEPS = 7, 4, 4, 3, 3, 12, 5, 4


def _functions(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    Function = torch_like.autograd.Function

    def _make_ix_like(X: Any, dim: int) -> Any:
        d = X.size(dim)
        rho = torch.arange(1, d + 1, device=X.device, dtype=X.dtype)
        view = [1] * X.dim()
        view[0] = -1
        return rho.view(view).transpose(0, dim)

    def _roll_last(X: Any, dim: int) -> Any:
        if dim == -1:
            return X
        elif dim < 0:
            dim = X.dim() - dim
        perm = [i for i in range(X.dim()) if i != dim] + [dim]
        return X.permute(perm)

    def _sparsemax_threshold_and_support(X: Any, dim: int = -1, k: int | None = None):
        if k is None or k >= X.shape[dim]:  # do full sort
            topk, _ = torch.sort(X, dim=dim, descending=True)
        else:
            topk, _ = torch.topk(X, k=k, dim=dim)
        topk_cumsum = topk.cumsum(dim) - 1
        rhos = _make_ix_like(topk, dim)
        support = rhos * topk > topk_cumsum
        support_size = support.sum(dim=dim).unsqueeze(dim)
        tau = topk_cumsum.gather(dim, support_size - 1)
        tau /= support_size.to(X.dtype)
        if k is not None and k < X.shape[dim]:
            unsolved = (support_size == k).squeeze(dim)
            if torch.any(unsolved):
                in_ = _roll_last(X, dim)[unsolved]
                tau_, ss_ = _sparsemax_threshold_and_support(in_, dim=-1, k=2 * k)
                _roll_last(tau, dim)[unsolved] = tau_
                _roll_last(support_size, dim)[unsolved] = ss_
        return tau, support_size

    def _entmax_threshold_and_support(X: Any, dim: int = -1, k: int | None = None):
        if k is None or k >= X.shape[dim]:  # do full sort
            Xsrt, _ = torch.sort(X, dim=dim, descending=True)
        else:
            Xsrt, _ = torch.topk(X, k=k, dim=dim)
        rho = _make_ix_like(Xsrt, dim)
        mean = Xsrt.cumsum(dim) / rho
        mean_sq = (Xsrt**2).cumsum(dim) / rho
        ss = rho * (mean_sq - mean**2)
        delta = (1 - ss) / rho
        delta_nz = torch.clamp(delta, 0)
        tau = mean - torch.sqrt(delta_nz)
        support_size = (tau <= Xsrt).sum(dim).unsqueeze(dim)
        tau_star = tau.gather(dim, support_size - 1)
        if k is not None and k < X.shape[dim]:
            unsolved = (support_size == k).squeeze(dim)
            if torch.any(unsolved):
                X_ = _roll_last(X, dim)[unsolved]
                tau_, ss_ = _entmax_threshold_and_support(X_, dim=-1, k=2 * k)
                _roll_last(tau_star, dim)[unsolved] = tau_
                _roll_last(support_size, dim)[unsolved] = ss_
        return tau_star, support_size

    class SparsemaxFunction(Function):  # entmax.activations
        @classmethod
        def forward(cls, ctx: Any, X: Any, dim: int = -1, k: int | None = None) -> Any:
            ctx.dim = dim
            max_val, _ = X.max(dim=dim, keepdim=True)
            X = X - max_val  # same numerical stability trick as softmax
            tau, supp_size = _sparsemax_threshold_and_support(X, dim=dim, k=k)
            output = torch.clamp(X - tau, min=0)
            ctx.save_for_backward(supp_size, output)
            return output

        @classmethod
        def backward(cls, ctx: Any, grad_output: Any) -> tuple:
            supp_size, output = ctx.saved_tensors
            dim = ctx.dim
            grad_input = grad_output.clone()
            grad_input[output == 0] = 0
            v_hat = grad_input.sum(dim=dim) / supp_size.to(output.dtype).squeeze(dim)
            v_hat = v_hat.unsqueeze(dim)
            grad_input = torch.where(output != 0, grad_input - v_hat, grad_input)
            return grad_input, None, None

    class Entmax15Function(Function):
        @classmethod
        def forward(cls, ctx: Any, X: Any, dim: int = 0, k: int | None = None) -> Any:
            ctx.dim = dim
            max_val, _ = X.max(dim=dim, keepdim=True)
            X = X - max_val  # same numerical stability trick as for softmax
            X = X / 2  # divide by 2 to solve actual Entmax
            tau_star, _ = _entmax_threshold_and_support(X, dim=dim, k=k)
            Y = torch.clamp(X - tau_star, min=0) ** 2
            ctx.save_for_backward(Y)
            return Y

        @classmethod
        def backward(cls, ctx: Any, dY: Any) -> tuple:
            (Y,) = ctx.saved_tensors
            gppr = Y.sqrt()  # = 1 / g'' (Y)
            dX = dY * gppr
            q = dX.sum(ctx.dim) / gppr.sum(ctx.dim)
            q = q.unsqueeze(ctx.dim)
            dX -= q * gppr
            return dX, None, None

    class EntmaxBisectFunction(Function):  # entmax.root_finding
        @classmethod
        def _gp(cls, x: Any, alpha: Any) -> Any:
            return x ** (alpha - 1)

        @classmethod
        def _gp_inv(cls, y: Any, alpha: Any) -> Any:
            return y ** (1 / (alpha - 1))

        @classmethod
        def _p(cls, X: Any, alpha: Any) -> Any:
            return cls._gp_inv(torch.clamp(X, min=0), alpha)

        @classmethod
        def forward(
            cls,
            ctx: Any,
            X: Any,
            alpha: Any = 1.5,
            dim: int = -1,
            n_iter: int = 50,
            ensure_sum_one: bool = True,
        ) -> Any:
            if not isinstance(alpha, torch.Tensor):
                alpha = torch.tensor(alpha, dtype=X.dtype, device=X.device)
            alpha_shape = list(X.shape)
            alpha_shape[dim] = 1
            alpha = alpha.expand(*alpha_shape)
            ctx.alpha = alpha
            ctx.dim = dim
            d = X.shape[dim]
            X = X * (alpha - 1)
            max_val, _ = X.max(dim=dim, keepdim=True)
            tau_lo = max_val - cls._gp(1, alpha)
            tau_hi = max_val - cls._gp(1 / d, alpha)
            f_lo = cls._p(X - tau_lo, alpha).sum(dim) - 1
            dm = tau_hi - tau_lo
            for _it in range(n_iter):
                dm /= 2
                tau_m = tau_lo + dm
                p_m = cls._p(X - tau_m, alpha)
                f_m = p_m.sum(dim) - 1
                mask = (f_m * f_lo >= 0).unsqueeze(dim)
                tau_lo = torch.where(mask, tau_m, tau_lo)
            if ensure_sum_one:
                p_m /= p_m.sum(dim=dim).unsqueeze(dim=dim)
            ctx.save_for_backward(p_m)
            return p_m

        @classmethod
        def backward(cls, ctx: Any, dY: Any) -> tuple:
            (Y,) = ctx.saved_tensors
            gppr = torch.where(Y > 0, Y ** (2 - ctx.alpha), Y.new_zeros(1))
            dX = dY * gppr
            q = dX.sum(ctx.dim) / gppr.sum(ctx.dim)
            q = q.unsqueeze(ctx.dim)
            dX -= q * gppr
            d_alpha = None
            if ctx.needs_input_grad[1]:
                # alpha gradient computation
                # d_alpha = (partial_y / partial_alpha) * dY
                # NOTE: ensure alpha is not close to 1
                # since there is an indetermination
                # batch_size, _ = dY.shape
                # shannon terms
                S = torch.where(Y > 0, Y * torch.log(Y), Y.new_zeros(1))
                # shannon entropy
                ent = S.sum(ctx.dim).unsqueeze(ctx.dim)
                Y_skewed = gppr / gppr.sum(ctx.dim).unsqueeze(ctx.dim)
                d_alpha = dY * (Y - Y_skewed) / ((ctx.alpha - 1) ** 2)
                d_alpha -= dY * (S - Y_skewed * ent) / (ctx.alpha - 1)
                d_alpha = d_alpha.sum(ctx.dim).unsqueeze(ctx.dim)
            return dX, d_alpha, None, None, None

    class TabNetSparsemaxFunction(Function):  # pytorch_tabnet.sparsemax
        @staticmethod
        def forward(ctx: Any, input: Any, dim: int = -1) -> Any:
            ctx.dim = dim
            max_val, _ = input.max(dim=dim, keepdim=True)
            input -= max_val  # same numerical stability trick as for softmax
            tau, supp_size = TabNetSparsemaxFunction._threshold_and_support(input, dim=dim)
            output = torch.clamp(input - tau, min=0)
            ctx.save_for_backward(supp_size, output)
            return output

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple:
            supp_size, output = ctx.saved_tensors
            dim = ctx.dim
            grad_input = grad_output.clone()
            grad_input[output == 0] = 0
            v_hat = grad_input.sum(dim=dim) / supp_size.to(output.dtype).squeeze()
            v_hat = v_hat.unsqueeze(dim)
            grad_input = torch.where(output != 0, grad_input - v_hat, grad_input)
            return grad_input, None

        @staticmethod
        def _threshold_and_support(input: Any, dim: int = -1) -> tuple:
            input_srt, _ = torch.sort(input, descending=True, dim=dim)
            input_cumsum = input_srt.cumsum(dim) - 1
            rhos = _make_ix_like(input, dim)
            support = rhos * input_srt > input_cumsum
            support_size = support.sum(dim=dim).unsqueeze(dim)
            tau = input_cumsum.gather(dim, support_size - 1)
            tau /= support_size.to(input.dtype)
            return tau, support_size

    return {
        "sparsemax": SparsemaxFunction.apply,
        "entmax15": Entmax15Function.apply,
        "entmax_bisect": EntmaxBisectFunction.apply,
        "tabnet_sparsemax": TabNetSparsemaxFunction.apply,
    }


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    fns = _functions(torch)

    def initialize_non_glu(module: Any, input_dim: int, output_dim: int) -> None:
        gain_value = np.sqrt((input_dim + output_dim) / np.sqrt(4 * input_dim))
        torch.nn.init.xavier_normal_(module.weight, gain=gain_value)

    def initialize_glu(module: Any, input_dim: int, output_dim: int) -> None:
        gain_value = np.sqrt((input_dim + output_dim) / np.sqrt(input_dim))
        torch.nn.init.xavier_normal_(module.weight, gain=gain_value)

    class Sparsemax(nn.Module):
        def __init__(self, dim: int = -1) -> None:
            self.dim = dim
            super().__init__()

        def forward(self, input: Any) -> Any:
            return fns["tabnet_sparsemax"](input, self.dim)

    class Entmax15(nn.Module):
        def __init__(self, dim: int = -1, k: int | None = None) -> None:
            self.dim = dim
            self.k = k
            super().__init__()

        def forward(self, X: Any) -> Any:
            return fns["entmax15"](X, self.dim, self.k)

    class GBN(nn.Module):
        def __init__(self, input_dim: int, virtual_batch_size: int = 128, momentum: float = 0.01):
            super().__init__()
            self.input_dim = input_dim
            self.virtual_batch_size = virtual_batch_size
            self.bn = nn.BatchNorm1d(self.input_dim, momentum=momentum)

        def forward(self, x: Any) -> Any:
            chunks = x.chunk(int(np.ceil(x.shape[0] / self.virtual_batch_size)), 0)
            res = [self.bn(x_) for x_ in chunks]
            return torch.cat(res, dim=0)

    class AttentiveTransformer(nn.Module):
        def __init__(self, input_dim: int, group_dim: int, mask_type: str) -> None:
            super().__init__()
            self.fc = nn.Linear(input_dim, group_dim, bias=False)
            initialize_non_glu(self.fc, input_dim, group_dim)
            self.bn = GBN(group_dim, virtual_batch_size=VBS, momentum=0.02)
            if mask_type == "sparsemax":
                self.selector = Sparsemax(dim=-1)
            elif mask_type == "entmax":
                self.selector = Entmax15(dim=-1)
            else:
                raise NotImplementedError("Please choose either sparsemaxor entmax as masktype")

        def forward(self, priors: Any, processed_feat: Any) -> Any:
            x = self.fc(processed_feat)
            x = self.bn(x)
            x = torch.mul(x, priors)
            return self.selector(x)

    class GLU_Layer(nn.Module):
        def __init__(self, input_dim: int, output_dim: int) -> None:
            super().__init__()
            self.output_dim = output_dim
            self.fc = nn.Linear(input_dim, 2 * output_dim, bias=False)
            initialize_glu(self.fc, input_dim, 2 * output_dim)
            self.bn = GBN(2 * output_dim, virtual_batch_size=VBS, momentum=0.02)

        def forward(self, x: Any) -> Any:
            x = self.fc(x)
            x = self.bn(x)
            return torch.mul(x[:, : self.output_dim], torch.sigmoid(x[:, self.output_dim :]))

    class GLU_Block(nn.Module):
        def __init__(self, input_dim: int, output_dim: int, first: bool = False) -> None:
            super().__init__()
            self.first = first
            self.glu_layers = nn.ModuleList()
            self.glu_layers.append(GLU_Layer(input_dim, output_dim))
            self.glu_layers.append(GLU_Layer(output_dim, output_dim))

        def forward(self, x: Any) -> Any:
            scale = torch.sqrt(torch.FloatTensor([0.5]).to(x.device))
            if self.first:  # the first layer of the block has no scale multiplication
                x = self.glu_layers[0](x)
                layers_left = range(1, 2)
            else:
                layers_left = range(2)
            for glu_id in layers_left:
                x = torch.add(x, self.glu_layers[glu_id](x))
                x = x * scale
            return x

    class TabNetEncoder(nn.Module):
        def __init__(self, input_dim: int, mask_type: str = "sparsemax") -> None:
            super().__init__()
            self.input_dim = input_dim
            self.n_d, self.n_a, self.n_steps = N_D, N_A, N_STEPS
            self.gamma = 1.3
            self.epsilon = 1e-15
            self.attention_dim = input_dim
            self.register_buffer("group_attention_matrix", torch.eye(input_dim))
            self.initial_bn = nn.BatchNorm1d(self.input_dim, momentum=0.01)
            self.initial_splitter = GLU_Block(input_dim, N_D + N_A, first=True)
            self.feat_transformers = nn.ModuleList()
            self.att_transformers = nn.ModuleList()
            for step in range(N_STEPS):
                self.feat_transformers.append(GLU_Block(input_dim, N_D + N_A, first=True))
                kind = mask_type if step < N_STEPS - 1 else "entmax"
                self.att_transformers.append(AttentiveTransformer(N_A, self.attention_dim, kind))

        def forward(self, x: Any, prior: Any = None) -> tuple[list, Any]:
            x = self.initial_bn(x)
            bs = x.shape[0]  # batch size
            if prior is None:
                prior = torch.ones((bs, self.attention_dim)).to(x.device)
            M_loss = 0
            att = self.initial_splitter(x)[:, self.n_d :]
            steps_output = []
            for step in range(self.n_steps):
                M = self.att_transformers[step](prior, att)
                M_loss += torch.mean(torch.sum(torch.mul(M, torch.log(M + self.epsilon)), dim=1))
                # update prior
                prior = torch.mul(self.gamma - M, prior)
                # output
                M_feature_level = torch.matmul(M, self.group_attention_matrix)
                masked_x = torch.mul(M_feature_level, x)
                out = self.feat_transformers[step](masked_x)
                d = nn.ReLU()(out[:, : self.n_d])
                steps_output.append(d)
                # update attention
                att = out[:, self.n_d :]
            M_loss /= self.n_steps
            return steps_output, M_loss

        def forward_masks(self, x: Any) -> tuple[Any, dict]:
            x = self.initial_bn(x)
            bs = x.shape[0]
            prior = torch.ones((bs, self.attention_dim)).to(x.device)
            M_explain = torch.zeros(x.shape).to(x.device)
            att = self.initial_splitter(x)[:, self.n_d :]
            masks = {}
            for step in range(self.n_steps):
                M = self.att_transformers[step](prior, att)
                M_feature_level = torch.matmul(M, self.group_attention_matrix)
                masks[step] = M_feature_level
                prior = torch.mul(self.gamma - M, prior)
                masked_x = torch.mul(M_feature_level, x)
                out = self.feat_transformers[step](masked_x)
                d = nn.ReLU()(out[:, : self.n_d])
                step_importance = torch.sum(d, dim=1)
                M_explain += torch.mul(M_feature_level, step_importance.unsqueeze(dim=1))
                att = out[:, self.n_d :]
            return M_explain, masks

    class TabNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = TabNetEncoder(FEATURES)
            self.final_mapping = nn.Linear(N_D, CLASSES, bias=False)
            initialize_non_glu(self.final_mapping, N_D, CLASSES)

        def forward(self, x: Any) -> tuple[Any, Any]:
            steps_output, M_loss = self.encoder(x)
            res = torch.sum(torch.stack(steps_output, dim=0), dim=0)
            return self.final_mapping(res), M_loss

    del F
    return TabNet()


def function_facts(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """The four Functions' values, gradients and gradchecks on float64 inputs."""
    torch = torch_like
    fns = _functions(torch)
    X = as_tensor(torch, rng.standard_normal((4, 6)) * 2)
    values: list[float] = []
    for name, args in (
        ("sparsemax", (-1, None)),
        ("sparsemax", (0, None)),
        ("sparsemax", (-1, 2)),
        ("entmax15", (-1, None)),
        ("entmax15", (-1, 2)),
        ("entmax_bisect", (1.5, -1)),
    ):
        x = X.clone().requires_grad_(True)
        y = fns[name](x, *args)
        (y * torch.arange(6.0)).sum().backward()
        values += y.flatten().tolist() + x.grad.flatten().tolist()
        values += [
            float((y == 0).sum()),
            y.sum(dim=args[0] if name != "entmax_bisect" else -1)[0].item(),
        ]
    x3 = as_tensor(torch, rng.standard_normal((2, 5, 3)) * 2).requires_grad_(True)
    y3 = fns["sparsemax"](x3, 1, 2)  # the partial sort through a permuted view
    y3.pow(2).sum().backward()
    values += y3.flatten().tolist() + x3.grad.flatten().tolist()
    e15 = fns["entmax15"](X, -1, None)
    bis = fns["entmax_bisect"](X, 1.5, -1)
    values += [float((e15 - bis).abs().max().item() < 1e-10)]
    tab_in = X.clone()
    out = fns["tabnet_sparsemax"](tab_in, -1)  # writes into its input: ``input -= max_val``
    values += out.flatten().tolist() + [tab_in.max(dim=-1).values.abs().max().item()]

    xg = as_tensor(torch, rng.standard_normal((3, 5))).requires_grad_(True)
    xb = as_tensor(torch, rng.standard_normal((2, 3))).requires_grad_(True)
    alpha = as_tensor(torch, np.full((2, 1), 1.3)).requires_grad_(True)
    gradcheck = torch.autograd.gradcheck
    values += [
        float(gradcheck(fns["sparsemax"], (xg, -1, None), eps=1e-6, atol=1e-6)),
        float(gradcheck(fns["entmax15"], (xg, 0, None), eps=1e-6, atol=1e-6)),
        float(gradcheck(fns["entmax_bisect"], (xb, alpha, -1, 40, True), atol=1e-5)),
    ]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(13)
    values = function_facts(torch, rng)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    lambda_sparse = 1e-3
    x_all = as_tensor(torch, rng.standard_normal((BATCH * STEPS, FEATURES)))
    y_all = as_tensor(torch, rng.integers(0, CLASSES, BATCH * STEPS))
    model.train()
    for step in range(STEPS):
        X = x_all[step * BATCH : (step + 1) * BATCH]
        y = y_all[step * BATCH : (step + 1) * BATCH]
        for param in model.parameters():
            param.grad = None
        output, M_loss = model(X)
        loss = F.cross_entropy(output, y)
        loss = loss - lambda_sparse * M_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), M_loss.item()]
    values += model.encoder.initial_bn.running_mean.tolist()
    values += model.encoder.att_transformers[0].bn.bn.running_var.tolist()
    model.eval()
    with torch.no_grad():
        M_explain, masks = model.encoder.forward_masks(x_all[:BATCH])
        values += M_explain.sum(dim=0).tolist()
        values += [masks[0].sum(dim=1).mean().item(), float((masks[0] == 0).sum())]
        logits, _ = model(x_all[:BATCH])
        values += torch.softmax(logits, dim=1)[:, 0].tolist()
    return values
