"""Pyro's normalizing-flow transforms on ``torch.distributions`` (the "Normalizing Flows -
Introduction" tutorial, ``tutorial/source/normalizing_flows_i.ipynb``), with the classes it
uses written as Pyro writes them: ``pyro/distributions/torch_transform.py``
(``TransformModule``), ``pyro/distributions/transforms/affine_coupling.py``
(``AffineCoupling``, ``affine_coupling``), ``pyro/distributions/transforms/permute.py``
(``Permute``), ``pyro/nn/dense_nn.py`` (``ConditionalDenseNN``, ``DenseNN``),
``pyro/distributions/transforms/utils.py`` (``clamp_preserve_gradients``), size-reduced.

The idioms kept: ``TransformModule(torch.distributions.Transform, torch.nn.Module)`` (both
bases initialised through ``super().__init__(cache_size=1)``, ``__hash__`` taken from
``super(torch.nn.Module, self)``); class attributes ``bijective = True``, ``codomain =
constraints.real_vector`` and a domain declared with ``@constraints.dependent_property(
is_discrete=False)`` returning ``constraints.independent(constraints.real, -self.dim)``;
``_call`` / ``_inverse`` splitting with ``x.split([self.split_dim, x.size(self.dim) -
self.split_dim], dim=self.dim)`` and reshaping ``x1.reshape(x1.shape[: self.dim] + (-1,))``;
``log_abs_det_jacobian`` reusing the log-scale cached by the last call when ``x is x_old and y
is y_old`` for ``x_old, y_old = self._cached_x_y`` (the base class's one-entry cache), else
recomputing it, summed by ``torch.distributions.utils._sum_rightmost(log_scale,
self.event_dim)``; ``clamp_preserve_gradients`` (``x + (x.clamp(min, max) - x).detach()``);
``Permute`` (``volume_preserving = True``, ``codomain = domain`` aliasing the dependent
property, the inverse permutation as a ``torch.distributions.utils.lazy_property`` built by
``result[self.permutation] = torch.arange(...)``, ``x.index_select(self.dim,
self.permutation)``, a zero log-Jacobian ``torch.zeros(x.size()[: -self.event_dim],
dtype=x.dtype, layout=x.layout, device=x.device)``); ``DenseNN``'s parameter slices from
``torch.cumsum(torch.tensor(param_dims), dim=0)`` and ``starts = torch.cat((torch.zeros(1)
.type_as(ends), ends[:-1]))``, ``slice(s.item(), e.item())``, ``h[..., s]`` per slice; the
tutorial's ``dist.TransformedDistribution(base_dist, [transforms])`` over
``Normal(torch.zeros(d), torch.ones(d))``, ``loss = -flow_dist.log_prob(dataset).mean()`` with
``Adam`` on the transforms' parameters (a ``torch.nn.ModuleList``), ``flow_dist.clear_cache()``
each step, ``flow_dist.rsample(torch.Size([n]))`` and ``flow_dist.sample(...)``.

Changed: Pyro's ``dist.Normal`` / ``dist.TransformedDistribution`` are torch's (with the
event dimension made explicit by ``Independent(..., 1)``, which Pyro's ``to_event`` does) and
the ``clear_cache`` Pyro adds to ``TransformedDistribution`` is a subclass method resetting
each transform's ``_cached_x_y``; the spline coupling of the tutorial's first half -> the
affine coupling of its second; sklearn's two circles (2-d) -> a 4-d NumPy sample of two noisy
rings (64 points), so that each coupling's hypernetwork has two outputs per parameter;
hidden [20] -> [8]; 1000 steps -> 6.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"


def _pyro(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    constraints = torch_like.distributions.constraints
    _sum_rightmost = torch_like.distributions.utils._sum_rightmost
    lazy_property = torch_like.distributions.utils.lazy_property
    Transform = torch_like.distributions.Transform

    class TransformModule(torch.distributions.Transform, torch.nn.Module):
        """
        Transforms with learnable parameters such as normalizing flows should inherit from this
        class rather than `Transform` so they are also a subclass of `nn.Module` and inherit
        all the useful methods of that class.
        """

        def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
            super().__init__(*args, **kwargs)

        def __hash__(self) -> int:
            return super(torch.nn.Module, self).__hash__()

    def clamp_preserve_gradients(x, min, max):  # noqa: ANN001, ANN202, A002
        # This helper function clamps gradients but still passes through the gradient in
        # clamped regions
        return x + (x.clamp(min, max) - x).detach()

    class ConditionalDenseNN(torch.nn.Module):
        def __init__(self, input_dim, context_dim, hidden_dims, param_dims=[1, 1],  # noqa: B006
                     nonlinearity=torch.nn.ReLU()):  # noqa: ANN001, B008 # fmt: skip
            super().__init__()

            self.input_dim = input_dim
            self.context_dim = context_dim
            self.hidden_dims = hidden_dims
            self.param_dims = param_dims
            self.count_params = len(param_dims)
            self.output_multiplier = sum(param_dims)
            self.all_ones = (torch.tensor(param_dims) == 1).all().item()

            # Calculate the indices on the output corresponding to each parameter
            ends = torch.cumsum(torch.tensor(param_dims), dim=0)
            starts = torch.cat((torch.zeros(1).type_as(ends), ends[:-1]))
            self.param_slices = [slice(s.item(), e.item()) for s, e in zip(starts, ends)]

            # Create masked layers
            layers = [torch.nn.Linear(input_dim + context_dim, hidden_dims[0])]
            for i in range(1, len(hidden_dims)):
                layers.append(torch.nn.Linear(hidden_dims[i - 1], hidden_dims[i]))
            layers.append(torch.nn.Linear(hidden_dims[-1], self.output_multiplier))
            self.layers = torch.nn.ModuleList(layers)

            # Save the nonlinearity
            self.f = nonlinearity

        def forward(self, x, context):  # noqa: ANN001, ANN201
            # We must be able to broadcast the size of the context over the input
            context = context.expand(x.size()[:-1] + (context.size(-1),))

            x = torch.cat([context, x], dim=-1)
            return self._forward(x)

        def _forward(self, x):  # noqa: ANN001, ANN202
            """
            The forward method
            """
            h = x
            for layer in self.layers[:-1]:
                h = self.f(layer(h))
            h = self.layers[-1](h)

            # Shape the output, squeezing the parameter dimension if all ones
            if self.output_multiplier == 1:
                return h
            else:
                h = h.reshape(list(x.size()[:-1]) + [self.output_multiplier])

                # Squeeze dimension if all parameters are one dimensional
                if self.count_params == 1:
                    return h

                elif self.all_ones:
                    return torch.unbind(h, dim=-1)

                # If not all ones, then probably don't want to squeeze a single dimension
                # parameter
                else:
                    return tuple([h[..., s] for s in self.param_slices])

    class DenseNN(ConditionalDenseNN):
        def __init__(self, input_dim, hidden_dims, param_dims=[1, 1],  # noqa: B006
                     nonlinearity=torch.nn.ReLU()):  # noqa: ANN001, B008 # fmt: skip
            super(DenseNN, self).__init__(  # noqa: UP008
                input_dim, 0, hidden_dims, param_dims=param_dims, nonlinearity=nonlinearity
            )

        def forward(self, x):  # noqa: ANN001, ANN201
            return self._forward(x)

    class AffineCoupling(TransformModule):
        bijective = True

        def __init__(self, split_dim, hypernet, *, dim=-1, log_scale_min_clip=-5.0,
                     log_scale_max_clip=3.0):  # noqa: ANN001 # fmt: skip
            super().__init__(cache_size=1)
            if dim >= 0:
                raise ValueError("'dim' keyword argument must be negative")

            self.split_dim = split_dim
            self.nn = hypernet
            self.dim = dim
            self._cached_log_scale = None
            self.log_scale_min_clip = log_scale_min_clip
            self.log_scale_max_clip = log_scale_max_clip

        @constraints.dependent_property(is_discrete=False)
        def domain(self):  # noqa: ANN201
            return constraints.independent(constraints.real, -self.dim)

        @constraints.dependent_property(is_discrete=False)
        def codomain(self):  # noqa: ANN201
            return constraints.independent(constraints.real, -self.dim)

        def _call(self, x):  # noqa: ANN001, ANN202
            x1, x2 = x.split([self.split_dim, x.size(self.dim) - self.split_dim], dim=self.dim)

            # Now that we can split on an arbitrary dimension, we have do a bit of reshaping...
            mean, log_scale = self.nn(x1.reshape(x1.shape[: self.dim] + (-1,)))
            mean = mean.reshape(mean.shape[:-1] + x2.shape[self.dim :])
            log_scale = log_scale.reshape(log_scale.shape[:-1] + x2.shape[self.dim :])

            log_scale = clamp_preserve_gradients(
                log_scale, self.log_scale_min_clip, self.log_scale_max_clip
            )
            self._cached_log_scale = log_scale

            y1 = x1
            y2 = torch.exp(log_scale) * x2 + mean
            return torch.cat([y1, y2], dim=self.dim)

        def _inverse(self, y):  # noqa: ANN001, ANN202
            y1, y2 = y.split([self.split_dim, y.size(self.dim) - self.split_dim], dim=self.dim)
            x1 = y1

            # Now that we can split on an arbitrary dimension, we have do a bit of reshaping...
            mean, log_scale = self.nn(x1.reshape(x1.shape[: self.dim] + (-1,)))
            mean = mean.reshape(mean.shape[:-1] + y2.shape[self.dim :])
            log_scale = log_scale.reshape(log_scale.shape[:-1] + y2.shape[self.dim :])

            log_scale = clamp_preserve_gradients(
                log_scale, self.log_scale_min_clip, self.log_scale_max_clip
            )
            self._cached_log_scale = log_scale

            x2 = (y2 - mean) * torch.exp(-log_scale)
            return torch.cat([x1, x2], dim=self.dim)

        def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
            """
            Calculates the elementwise determinant of the log jacobian
            """
            x_old, y_old = self._cached_x_y
            if self._cached_log_scale is not None and x is x_old and y is y_old:
                log_scale = self._cached_log_scale
            else:
                x1, x2 = x.split([self.split_dim, x.size(self.dim) - self.split_dim], dim=self.dim)
                _, log_scale = self.nn(x1.reshape(x1.shape[: self.dim] + (-1,)))
                log_scale = log_scale.reshape(log_scale.shape[:-1] + x2.shape[self.dim :])
                log_scale = clamp_preserve_gradients(
                    log_scale, self.log_scale_min_clip, self.log_scale_max_clip
                )
            return _sum_rightmost(log_scale, self.event_dim)

    class Permute(Transform):
        bijective = True
        volume_preserving = True

        def __init__(self, permutation, *, dim=-1, cache_size=1):  # noqa: ANN001
            super().__init__(cache_size=cache_size)

            if dim >= 0:
                raise ValueError("'dim' keyword argument must be negative")

            self.permutation = permutation
            self.dim = dim

        @constraints.dependent_property(is_discrete=False)
        def domain(self):  # noqa: ANN201
            return constraints.independent(constraints.real, -self.dim)

        codomain = domain

        @lazy_property
        def inv_permutation(self):  # noqa: ANN201
            result = torch.empty_like(self.permutation, dtype=torch.long)
            result[self.permutation] = torch.arange(
                self.permutation.size(0), dtype=torch.long, device=self.permutation.device
            )
            return result

        def _call(self, x):  # noqa: ANN001, ANN202
            return x.index_select(self.dim, self.permutation)

        def _inverse(self, y):  # noqa: ANN001, ANN202
            return y.index_select(self.dim, self.inv_permutation)

        def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
            return torch.zeros(
                x.size()[: -self.event_dim], dtype=x.dtype, layout=x.layout, device=x.device
            )

    def affine_coupling(input_dim, hidden_dims=None, split_dim=None, dim=-1, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if not isinstance(input_dim, int):
            if len(input_dim) != -dim:
                raise ValueError("event shape {} must have same length as event_dim {}".format(  # noqa: UP032
                    input_dim, -dim))  # fmt: skip
            event_shape = input_dim
            extra_dims = reduce(operator.mul, event_shape[(dim + 1) :], 1)
        else:
            event_shape = [input_dim]
            extra_dims = 1
        event_shape = list(event_shape)

        if split_dim is None:
            split_dim = event_shape[dim] // 2
        if hidden_dims is None:
            hidden_dims = [10 * event_shape[dim] * extra_dims]

        hypernet = DenseNN(
            split_dim * extra_dims,
            hidden_dims,
            [
                (event_shape[dim] - split_dim) * extra_dims,
                (event_shape[dim] - split_dim) * extra_dims,
            ],
        )
        return AffineCoupling(split_dim, hypernet, dim=dim, **kwargs)

    class TransformedDistribution(torch.distributions.TransformedDistribution):
        def clear_cache(self) -> None:
            for t in self.transforms:
                t._cached_x_y = None, None

    return {
        "affine_coupling": affine_coupling,
        "Permute": Permute,
        "TransformedDistribution": TransformedDistribution,
    }


def make_model(torch_like: Any) -> Any:
    p = _pyro(torch_like)
    return torch_like.nn.ModuleList(
        [p["affine_coupling"](4, hidden_dims=[8]), p["affine_coupling"](4, hidden_dims=[8])]
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    dist = torch_like.distributions
    p = _pyro(torch_like)
    couplings = make_model(torch_like)
    load_numpy_state(torch_like, couplings, init)
    permute = p["Permute"](torch.tensor([2, 0, 3, 1]))

    rng = np.random.default_rng(6)
    angle = rng.uniform(0, 2 * np.pi, 64)
    radius = np.where(rng.random(64) < 0.5, 0.5, 1.0) + rng.normal(0, 0.05, 64)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    X = np.concatenate([X, X[::-1] * 0.5 + rng.normal(0, 0.05, X.shape)], 1)
    dataset = torch.tensor(X, dtype=torch.float)

    base_dist = dist.Independent(dist.Normal(torch.zeros(4), torch.ones(4)), 1)
    transforms = [couplings[0], permute, couplings[1]]
    flow_dist = p["TransformedDistribution"](base_dist, transforms)

    steps = 6
    optimizer = torch.optim.Adam(couplings.parameters(), lr=5e-3)
    values: list[float] = []
    for _step in range(steps):
        optimizer.zero_grad()
        loss = -flow_dist.log_prob(dataset).mean()
        loss.backward()
        optimizer.step()
        flow_dist.clear_cache()
        values.append(loss.item())

    # the cache: the inverse of a forward output is the very input, and the log-Jacobian then
    # reuses the cached log-scale
    torch.manual_seed(1)
    z = base_dist.sample(torch.Size([5]))
    y = couplings[0](z)
    values.append(float(couplings[0].inv(y) is z))
    values.append(couplings[0].log_abs_det_jacobian(z, y).sum().item())
    values.append(permute.inv_permutation.tolist() == [1, 3, 0, 2])
    values.append(float(hash(couplings[0]) == object.__hash__(couplings[0])))

    torch.manual_seed(2)
    x_flow = flow_dist.rsample(torch.Size([16]))
    values += [x_flow.sum().item(), flow_dist.log_prob(x_flow).mean().item()]
    x_flow.sum().backward()
    values.append(sum(q.grad.abs().sum().item() for q in couplings.parameters()))
    values.append(flow_dist.sample(torch.Size([4])).pow(2).sum().item())
    values.append(float(flow_dist.event_shape == torch.Size([4])))
    return values


def check(values: list[float]) -> None:
    assert values[6] == 1.0 and values[8] == 1.0 and values[9] == 1.0
