"""DreamerV3's world-model and actor-critic losses, as NM512/dreamerv3-torch (``tools.py``:
``symlog``, ``symexp``, ``DiscDist``, ``OneHotDist``, ``RewardEMA``, ``lambda_return``;
``networks.py``: ``RSSM.get_dist``, ``RSSM.kl_loss``; ``models.py``: ``ImagBehavior``) and
sheeprl (``utils/distribution.py``: ``TwoHotEncodingDistribution``) write them, size-reduced.

The idioms: ``symlog(x) = torch.sign(x) * torch.log(torch.abs(x) + 1.0)`` and its inverse
``symexp``; the two-hot critic / reward head ``DiscDist`` over ``torch.linspace(low, high,
steps=K)`` buckets (``below = torch.sum((self.buckets <= x[..., None]).to(torch.int32),
dim=-1) - 1``, ``above = len(self.buckets) - torch.sum((self.buckets > x[..., None]).to(
torch.int32), dim=-1)``, ``torch.clip``, ``torch.where(equal, 1, torch.abs(self.buckets[below]
- x))``, ``F.one_hot(below, num_classes=K) * weight_below[..., None]``, ``log_pred = logits -
torch.logsumexp(logits, -1, keepdim=True)``, ``mean`` as ``transbwd(torch.sum(probs * buckets,
dim=-1, keepdim=True))``); sheeprl's variant (``(self.bins <= x).type(torch.int32).sum(dim=-1,
keepdim=True) - 1``, ``torch.minimum(above, torch.full_like(above, K - 1))``, ``torch.maximum(
below, torch.zeros_like(below))``, ``.squeeze(-2)``); the exponentially spaced bins of the JAX
original (``bins = symexp(torch.linspace(-R, R, K))``) located with ``torch.bucketize`` /
``torch.searchsorted(bins, x, right=True)`` and the two-hot target written by ``scatter_`` and
``scatter_add_``; ``OneHotDist`` (a ``OneHotCategorical`` subclass: unimix ``probs * (1.0 -
unimix_ratio) + unimix_ratio / probs.shape[-1]``, ``super().__init__(logits=torch.log(probs))``,
``mode`` as ``F.one_hot(torch.argmax(super().logits, axis=-1), ...)`` plus the straight-through
``super().logits - super().logits.detach()``, ``sample`` adding ``probs - probs.detach()``);
``torchd.independent.Independent(OneHotDist(logit, unimix_ratio=...), 1)`` states and the
free-bits KL (``kl_divergence`` of the posterior against the stop-gradient prior and back,
``torch.clip(rep_loss, min=free)``, ``dyn_scale * dyn_loss + rep_scale * rep_loss``);
``OneHotCategoricalStraightThrough(logits=...).rsample()`` for the actor; ``RewardEMA``
(``torch.quantile(input=flat_x, q=self.range)`` of ``torch.flatten(x.detach())``, the in-place
``ema_vals[:] = alpha * x_quantile + (1 - alpha) * ema_vals``, ``torch.clip(ema_vals[1] -
ema_vals[0], min=1.0)``); ``lambda_return`` (a reversed Python loop over time, ``torch.stack``
and ``torch.flip``); the actor loss ``-log_prob * (adv / scale).detach() - ent_coef *
entropy``; Adam with ``eps=1e-8`` and ``nn.utils.clip_grad_norm_``.

Changed: the encoder and decoder are MLPs over vectors; deterministic state 8, stochastic 3
groups x 4 classes, 15 buckets; imagination is a fixed random action sequence; the samples come
from the seeded global generator (``torch.manual_seed(0)`` in ``run``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

OBS, ACT, DETER, STOCH, DISC, HID, K = 6, 3, 8, 3, 4, 16, 15
T, B, HORIZON, STEPS = 5, 3, 4, 3
UNIMIX, FREE, DYN_SCALE, REP_SCALE = 0.01, 1.0, 0.5, 0.1


def symlog(torch: Any, x: Any) -> Any:
    return torch.sign(x) * torch.log(torch.abs(x) + 1.0)


def symexp(torch: Any, x: Any) -> Any:
    return torch.sign(x) * (torch.exp(torch.abs(x)) - 1.0)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def mlp(i: int, o: int) -> Any:
        return nn.Sequential(nn.Linear(i, HID), nn.LayerNorm(HID), nn.SiLU(), nn.Linear(HID, o))

    feat = DETER + STOCH * DISC
    return nn.ModuleDict(
        {
            "encoder": mlp(OBS, HID),
            "img_in": nn.Linear(STOCH * DISC + ACT, HID),
            "cell": nn.GRUCell(HID, DETER),
            "img_out": mlp(DETER, STOCH * DISC),
            "obs_out": mlp(DETER + HID, STOCH * DISC),
            "decoder": mlp(feat, OBS),
            "reward": mlp(feat, K),
            "cont": mlp(feat, 1),
            "actor": mlp(feat, ACT),
            "value": mlp(feat, K),
        }
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    torchd = torch.distributions

    class DiscDist:
        """dreamerv3-torch's two-hot distribution over linearly spaced symlog buckets."""

        def __init__(self, logits: Any, low: float = -20.0, high: float = 20.0) -> None:
            self.logits = logits
            self.probs = torch.softmax(logits, -1)
            self.buckets = torch.linspace(low, high, steps=logits.shape[-1])
            self.width = (self.buckets[-1] - self.buckets[0]) / logits.shape[-1]

        def mean(self) -> Any:
            _mean = self.probs * self.buckets
            return symexp(torch, torch.sum(_mean, dim=-1, keepdim=True))

        def mode(self) -> Any:
            _mode = self.probs * self.buckets
            return symexp(torch, torch.sum(_mode, dim=-1, keepdim=True))

        def log_prob(self, x: Any) -> Any:
            x = symlog(torch, x)
            below = torch.sum((self.buckets <= x[..., None]).to(torch.int32), dim=-1) - 1
            above = len(self.buckets) - torch.sum(
                (self.buckets > x[..., None]).to(torch.int32), dim=-1
            )
            below = torch.clip(below, 0, len(self.buckets) - 1)
            above = torch.clip(above, 0, len(self.buckets) - 1)
            equal = below == above
            dist_to_below = torch.where(equal, 1, torch.abs(self.buckets[below] - x))
            dist_to_above = torch.where(equal, 1, torch.abs(self.buckets[above] - x))
            total = dist_to_below + dist_to_above
            weight_below = dist_to_above / total
            weight_above = dist_to_below / total
            target = (
                F.one_hot(below, num_classes=len(self.buckets)) * weight_below[..., None]
                + F.one_hot(above, num_classes=len(self.buckets)) * weight_above[..., None]
            )
            log_pred = self.logits - torch.logsumexp(self.logits, -1, keepdim=True)
            target = target.squeeze(-2)
            return (target * log_pred).sum(-1)

    class TwoHotEncodingDistribution:
        """sheeprl's form: ``bins <= x`` counted with ``keepdim=True``."""

        def __init__(self, logits: Any, dims: int = 1, low: float = -20, high: float = 20):
            self.logits = logits
            self.probs = F.softmax(logits, dim=-1)
            self.dims = tuple([-x for x in range(1, dims + 1)])
            self.bins = torch.linspace(low, high, logits.shape[-1], device=logits.device)

        @property
        def mean(self) -> Any:
            return symexp(torch, (self.probs * self.bins).sum(dim=self.dims, keepdim=True))

        def log_prob(self, x: Any) -> Any:
            x = symlog(torch, x)
            below = (self.bins <= x).type(torch.int32).sum(dim=-1, keepdim=True) - 1
            above = below + 1
            above = torch.minimum(above, torch.full_like(above, len(self.bins) - 1))
            below = torch.maximum(below, torch.zeros_like(below))
            equal = below == above
            dist_to_below = torch.where(equal, 1, torch.abs(self.bins[below] - x))
            dist_to_above = torch.where(equal, 1, torch.abs(self.bins[above] - x))
            total = dist_to_below + dist_to_above
            weight_below = dist_to_above / total
            weight_above = dist_to_below / total
            target = (
                F.one_hot(below.long(), len(self.bins)) * weight_below[..., None]
                + F.one_hot(above.long(), len(self.bins)) * weight_above[..., None]
            ).squeeze(-2)
            log_pred = self.logits - torch.logsumexp(self.logits, dim=-1, keepdims=True)
            return (target * log_pred).sum(dim=self.dims)

    def twohot_exp_bins(x: Any, bins: Any) -> Any:
        """The JAX original's symexp-spaced bins, located by bucketize / searchsorted."""
        below = torch.bucketize(x, bins, right=True) - 1
        above_ss = torch.searchsorted(bins, x.unsqueeze(-1), right=True).squeeze(-1)
        assert torch.equal(below + 1, above_ss)
        below = below.clamp(0, len(bins) - 1)
        above = (below + 1).clamp(max=len(bins) - 1)
        lo, hi = bins[below], bins[above]
        span = torch.where(above == below, torch.ones_like(lo), hi - lo)
        w_above = ((x - lo) / span).clamp(0, 1)
        target = torch.zeros(*x.shape, len(bins), dtype=x.dtype)
        target.scatter_(-1, below.unsqueeze(-1), (1 - w_above).unsqueeze(-1))
        target.scatter_add_(-1, above.unsqueeze(-1), w_above.unsqueeze(-1))
        return target

    class OneHotDist(torchd.one_hot_categorical.OneHotCategorical):
        def __init__(self, logits: Any = None, probs: Any = None, unimix_ratio: float = 0.0):
            if logits is not None and unimix_ratio > 0.0:
                probs = F.softmax(logits, dim=-1)
                probs = probs * (1.0 - unimix_ratio) + unimix_ratio / probs.shape[-1]
                logits = torch.log(probs)
                super().__init__(logits=logits, probs=None)
            else:
                super().__init__(logits=logits, probs=probs)

        def mode(self) -> Any:
            _mode = F.one_hot(torch.argmax(super().logits, axis=-1), super().logits.shape[-1])
            return _mode.detach() + super().logits - super().logits.detach()

        def sample(self, sample_shape: Any = (), seed: Any = None) -> Any:
            if seed is not None:
                raise ValueError("need to check")
            sample = super().sample(sample_shape).detach()
            probs = super().probs
            while len(probs.shape) < len(sample.shape):
                probs = probs[None]
            sample += probs - probs.detach()
            return sample

    class RewardEMA:
        def __init__(self, alpha: float = 1e-2) -> None:
            self.alpha = alpha
            self.range = torch.tensor([0.05, 0.95])

        def __call__(self, x: Any, ema_vals: Any) -> tuple[Any, Any]:
            flat_x = torch.flatten(x.detach())
            x_quantile = torch.quantile(input=flat_x, q=self.range)
            ema_vals[:] = self.alpha * x_quantile + (1 - self.alpha) * ema_vals
            scale = torch.clip(ema_vals[1] - ema_vals[0], min=1.0)
            offset = ema_vals[0]
            return offset.detach(), scale.detach()

    def lambda_return(reward: Any, value: Any, pcont: Any, bootstrap: Any, lambda_: float):
        next_values = torch.cat([value[1:], bootstrap[None]], 0)
        inputs = reward + pcont * next_values * (1 - lambda_)
        outputs = []
        last = bootstrap
        for index in reversed(range(reward.shape[0])):
            last = inputs[index] + pcont[index] * lambda_ * last
            outputs.append(last)
        return torch.flip(torch.stack(outputs), [0])

    m = make_model(torch_like)
    load_numpy_state(torch_like, m, init)
    torch.manual_seed(0)

    def get_dist(logit: Any) -> Any:
        return torchd.independent.Independent(OneHotDist(logit, unimix_ratio=UNIMIX), 1)

    def img_step(stoch: Any, deter: Any, action: Any) -> tuple[Any, Any, Any]:
        x = F.silu(m["img_in"](torch.cat([stoch.flatten(-2), action], -1)))
        deter = m["cell"](x, deter)
        logit = m["img_out"](deter).reshape(*deter.shape[:-1], STOCH, DISC)
        return logit, deter, get_dist(logit).sample()

    def kl_loss(post: Any, prior: Any) -> tuple[Any, Any, Any]:
        kld = torchd.kl.kl_divergence
        rep_loss = value = kld(get_dist(post), get_dist(prior.detach()))
        dyn_loss = kld(get_dist(post.detach()), get_dist(prior))
        rep_loss = torch.clip(rep_loss, min=FREE)
        dyn_loss = torch.clip(dyn_loss, min=FREE)
        return DYN_SCALE * dyn_loss + REP_SCALE * rep_loss, value, dyn_loss

    wm = [m[k] for k in ("encoder", "img_in", "cell", "img_out", "obs_out", "decoder")]
    wm += [m["reward"], m["cont"]]
    wm_params = [p for mod in wm for p in mod.parameters()]
    wm_opt = torch.optim.Adam(wm_params, lr=3e-3, eps=1e-8)
    actor_opt = torch.optim.Adam(m["actor"].parameters(), lr=3e-3, eps=1e-5)
    value_opt = torch.optim.Adam(m["value"].parameters(), lr=3e-3, eps=1e-5)
    reward_ema = RewardEMA()
    ema_vals = torch.zeros((2,))
    exp_bins = symexp(torch, torch.linspace(-5.0, 5.0, K))
    rng = np.random.default_rng(3)
    values: list[float] = []
    for _ in range(STEPS):
        obs = as_tensor(torch, rng.standard_normal((T, B, OBS)) * 3)
        actions = F.one_hot(as_tensor(torch, rng.integers(0, ACT, (T, B))), ACT).float()
        actions = actions.to(torch.get_default_dtype())
        rewards = as_tensor(torch, rng.standard_normal((T, B)) * 10)
        cont = as_tensor(torch, (rng.uniform(size=(T, B)) > 0.2) * 1.0)
        embed = m["encoder"](symlog(torch, obs))
        deter = torch.zeros(B, DETER)
        stoch = torch.zeros(B, STOCH, DISC)
        feats, kls, kl_values, dyn_losses = [], [], [], []
        for t in range(T):
            prior_logit, deter, _ = img_step(stoch, deter, actions[t])
            post_logit = m["obs_out"](torch.cat([deter, embed[t]], -1))
            post_logit = post_logit.reshape(B, STOCH, DISC)
            stoch = get_dist(post_logit).sample()
            feats.append(torch.cat([deter, stoch.flatten(-2)], -1))
            kl, kl_value, dyn = kl_loss(post_logit, prior_logit)
            kls.append(kl)
            kl_values.append(kl_value)
            dyn_losses.append(dyn)
        feat = torch.stack(feats, 0)
        recon = -((m["decoder"](feat) - symlog(torch, obs)) ** 2).sum(-1)
        reward_dist = DiscDist(m["reward"](feat))
        reward_lp = reward_dist.log_prob(rewards.unsqueeze(-1))
        reward_lp2 = TwoHotEncodingDistribution(m["reward"](feat)).log_prob(rewards.unsqueeze(-1))
        cont_dist = torchd.independent.Independent(
            torchd.bernoulli.Bernoulli(logits=m["cont"](feat)), 1
        )
        cont_lp = cont_dist.log_prob(cont.unsqueeze(-1))
        exp_target = twohot_exp_bins(rewards, exp_bins)
        exp_loss = -(exp_target * F.log_softmax(m["reward"](feat), -1)).sum(-1)
        model_loss = (
            torch.stack(kls).mean() - recon.mean() - reward_lp.mean() - cont_lp.mean()
        ) + 0.1 * exp_loss.mean()
        wm_opt.zero_grad()
        model_loss.backward()
        torch.nn.utils.clip_grad_norm_(wm_params, 1000.0)
        wm_opt.step()
        values += [model_loss.item(), torch.stack(kl_values).mean().item()]
        values += [reward_lp2.mean().item(), reward_dist.mean().mean().item()]
        values.append(torch.stack(dyn_losses).mean().item())

        # imagination from the detached posterior features
        start = feat.detach().reshape(T * B, -1)
        deter_i = start[:, :DETER]
        stoch_i = start[:, DETER:].reshape(-1, STOCH, DISC)
        img_feats, logps, ents = [start], [], []
        for _h in range(HORIZON):
            f = img_feats[-1]
            policy = torchd.OneHotCategoricalStraightThrough(logits=m["actor"](f))
            action = policy.rsample()
            logps.append(policy.log_prob(action.detach()))
            ents.append(policy.entropy())
            _, deter_i, stoch_i = img_step(stoch_i, deter_i, action)
            img_feats.append(torch.cat([deter_i, stoch_i.flatten(-2)], -1))
        imag = torch.stack(img_feats, 0)
        reward = DiscDist(m["reward"](imag)).mode()
        pcont = torchd.Bernoulli(logits=m["cont"](imag)).mean * 0.99
        value = DiscDist(m["value"](imag)).mode()
        target = lambda_return(reward[1:], value[:-1], pcont[1:], value[-1], 0.95)
        weights = torch.cumprod(torch.cat([torch.ones_like(pcont[:1]), pcont[:-1]], 0), 0)
        offset, scale = reward_ema(target, ema_vals)
        normed_target = (target - offset) / scale
        normed_base = (value[:-1] - offset) / scale
        adv = normed_target - normed_base
        actor_target = torch.stack(logps).unsqueeze(-1) * adv.detach() + adv
        actor_loss = -weights[:-1].detach() * (actor_target + 3e-4 * torch.stack(ents)[..., None])
        actor_loss = actor_loss.mean()
        value_dist = DiscDist(m["value"](imag[:-1].detach()))
        value_loss = -(value_dist.log_prob(target.detach()) * weights[:-1, ..., 0].detach())
        value_loss = value_loss.mean()
        actor_opt.zero_grad()
        value_opt.zero_grad()
        wm_opt.zero_grad()
        (actor_loss + value_loss).backward()
        torch.nn.utils.clip_grad_norm_(m["actor"].parameters(), 100.0)
        torch.nn.utils.clip_grad_norm_(m["value"].parameters(), 100.0)
        actor_opt.step()
        value_opt.step()
        values += [actor_loss.item(), value_loss.item(), scale.item(), *ema_vals.tolist()]
    return values
