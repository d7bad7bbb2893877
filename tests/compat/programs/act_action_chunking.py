"""ACT, the Action Chunking Transformer behind ALOHA and LeRobot (tonyzhaozh/act,
``detr/models/detr_vae.py``, ``policy.py``, ``imitate_episodes.py``; LeRobot's
``policies/act/modeling_act.py``), without the image backbone: a CVAE over action chunks trained
on synthetic joint trajectories, then rolled out with temporal ensembling.

The idioms kept: the CVAE encoder input ``torch.cat([cls_embed, qpos_embed, action_embed],
axis=1)`` (``self.cls_embed.weight`` ``unsqueeze(0).repeat(bs, 1, 1)``), ``.permute(1, 0, 2)``
to sequence-first, the padding mask ``torch.cat([cls_joint_is_pad, is_pad], axis=1)`` with
``torch.full((bs, 2), False)``, a sinusoid table ``get_sinusoid_encoding_table`` registered as a
buffer and ``.clone().detach()``'d, ``nn.TransformerEncoder(..., enable_nested_tensor=False)``
with ``src_key_padding_mask``, ``latent_info = self.latent_proj(encoder_output[0])``, ``mu =
latent_info[:, :self.latent_dim]``, ``reparametrize`` (``std = logvar.div(2).exp()``, ``eps =
Variable(std.data.new(std.size()).normal_())``); the zero latent at inference
(``torch.zeros([bs, self.latent_dim], dtype=torch.float32).to(qpos.device)``); the decoder
``nn.TransformerDecoder`` over ``self.query_embed.weight`` queries (``tgt =
torch.zeros_like(query_embed)``); the loss ``F.l1_loss(actions, a_hat, reduction='none')``,
``(all_l1 * ~is_pad.unsqueeze(-1)).mean()`` plus ``kl_weight`` times ``kl_divergence``
(``klds = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())``, ``klds.sum(1).mean(0, True)``);
``AdamW`` with ``param_dicts`` built from ``named_parameters()``; the rollout's
``all_time_actions = torch.zeros([max_timesteps, max_timesteps+num_queries, state_dim])``,
``all_time_actions[[t], t:t+num_queries] = all_actions``, ``actions_populated =
torch.all(actions_for_curr_step != 0, axis=1)``, ``exp_weights = np.exp(-k *
np.arange(len(actions_for_curr_step)))``, ``torch.from_numpy(exp_weights).unsqueeze(dim=1)``.

Changed: no ResNet (the observation is the joint state only), hidden 16, 2 heads, one encoder and
one decoder layer, chunks of 4, 5 training steps, a 6-step rollout, dropout 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STATE_DIM, HIDDEN, LATENT, CHUNK, BATCH, STEPS, ROLLOUT = 3, 16, 4, 4, 5, 5, 6


def get_sinusoid_encoding_table(torch: Any, n_position: int, d_hid: int) -> Any:
    def get_position_angle_vec(position: int) -> list[float]:
        return [position / np.power(10000, 2 * (hid_j // 2) / d_hid) for hid_j in range(d_hid)]

    sinusoid_table = np.array([get_position_angle_vec(pos_i) for pos_i in range(n_position)])
    sinusoid_table[:, 0::2] = np.sin(sinusoid_table[:, 0::2])
    sinusoid_table[:, 1::2] = np.cos(sinusoid_table[:, 1::2])
    return torch.FloatTensor(sinusoid_table).unsqueeze(0)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def layer(kind: Any) -> Any:
        return kind(HIDDEN, nhead=2, dim_feedforward=32, dropout=0.0)

    class DETRVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_queries = CHUNK
            self.latent_dim = LATENT
            self.query_embed = nn.Embedding(CHUNK, HIDDEN)
            self.encoder = nn.TransformerEncoder(
                layer(nn.TransformerEncoderLayer), 1, enable_nested_tensor=False
            )
            self.transformer_encoder = nn.TransformerEncoder(
                layer(nn.TransformerEncoderLayer), 1, enable_nested_tensor=False
            )
            self.transformer_decoder = nn.TransformerDecoder(layer(nn.TransformerDecoderLayer), 1)
            self.cls_embed = nn.Embedding(1, HIDDEN)
            self.encoder_action_proj = nn.Linear(STATE_DIM, HIDDEN)
            self.encoder_joint_proj = nn.Linear(STATE_DIM, HIDDEN)
            self.latent_proj = nn.Linear(HIDDEN, self.latent_dim * 2)
            self.register_buffer(
                "pos_table", get_sinusoid_encoding_table(torch, 1 + 1 + CHUNK, HIDDEN)
            )
            self.latent_out_proj = nn.Linear(self.latent_dim, HIDDEN)
            self.input_proj_robot_state = nn.Linear(STATE_DIM, HIDDEN)
            self.action_head = nn.Linear(HIDDEN, STATE_DIM)
            self.is_pad_head = nn.Linear(HIDDEN, 1)

        def reparametrize(self, mu: Any, logvar: Any) -> Any:
            std = logvar.div(2).exp()
            eps = torch.autograd.Variable(std.data.new(std.size()).normal_())
            return mu + std * eps

        def forward(self, qpos: Any, actions: Any = None, is_pad: Any = None) -> Any:
            is_training = actions is not None
            bs, _ = qpos.shape
            if is_training:
                action_embed = self.encoder_action_proj(actions)
                qpos_embed = torch.unsqueeze(self.encoder_joint_proj(qpos), axis=1)
                cls_embed = self.cls_embed.weight
                cls_embed = torch.unsqueeze(cls_embed, axis=0).repeat(bs, 1, 1)
                encoder_input = torch.cat([cls_embed, qpos_embed, action_embed], axis=1)
                encoder_input = encoder_input.permute(1, 0, 2)
                cls_joint_is_pad = torch.full((bs, 2), False).to(qpos.device)
                is_pad = torch.cat([cls_joint_is_pad, is_pad], axis=1)
                pos_embed = self.pos_table.clone().detach().permute(1, 0, 2)
                encoder_output = self.encoder(
                    encoder_input + pos_embed, src_key_padding_mask=is_pad
                )
                encoder_output = encoder_output[0]
                latent_info = self.latent_proj(encoder_output)
                mu = latent_info[:, : self.latent_dim]
                logvar = latent_info[:, self.latent_dim :]
                latent_sample = self.reparametrize(mu, logvar)
                latent_input = self.latent_out_proj(latent_sample)
            else:
                mu = logvar = None
                latent_sample = torch.zeros([bs, self.latent_dim], dtype=torch.float32).to(
                    qpos.device
                )
                latent_input = self.latent_out_proj(latent_sample.to(qpos.dtype))
            src = torch.stack([latent_input, self.input_proj_robot_state(qpos)], dim=0)
            memory = self.transformer_encoder(src)
            query_embed = self.query_embed.weight.unsqueeze(1).repeat(1, bs, 1)
            tgt = torch.zeros_like(query_embed)
            hs = self.transformer_decoder(tgt + query_embed, memory).transpose(0, 1)
            return self.action_head(hs), self.is_pad_head(hs), [mu, logvar]

    return DETRVAE()


def kl_divergence(mu: Any, logvar: Any) -> tuple[Any, Any, Any]:
    batch_size = mu.size(0)
    assert batch_size != 0
    if mu.data.ndimension() == 4:
        mu = mu.view(mu.size(0), mu.size(1))
    klds = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    total_kld = klds.sum(1).mean(0, True)
    dimension_wise_kld = klds.mean(0)
    mean_kld = klds.mean(1).mean(0, True)
    return total_kld, dimension_wise_kld, mean_kld


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    param_dicts = [
        {"params": [p for n, p in model.named_parameters() if "encoder" not in n]},
        {"params": [p for n, p in model.named_parameters() if "encoder" in n], "lr": 1e-3},
    ]
    optimizer = torch.optim.AdamW(param_dicts, lr=3e-3, weight_decay=1e-4)
    rng = np.random.default_rng(21)
    torch.manual_seed(4)
    kl_weight = 10
    values: list[float] = []
    for _ in range(STEPS):
        phase = rng.uniform(0, 2 * np.pi, (BATCH, 1, STATE_DIM))
        traj = np.sin(phase + 0.3 * np.arange(CHUNK + 1)[None, :, None])
        qpos, actions = as_tensor(torch, traj[:, 0]), as_tensor(torch, traj[:, 1:])
        lengths = rng.integers(2, CHUNK + 1, BATCH)
        is_pad = as_tensor(torch, np.arange(CHUNK)[None, :] >= lengths[:, None])
        actions = actions * ~is_pad.unsqueeze(-1)
        a_hat, is_pad_hat, (mu, logvar) = model(qpos, actions, is_pad)
        total_kld, _, _ = kl_divergence(mu, logvar)
        all_l1 = F.l1_loss(actions, a_hat, reduction="none")
        l1 = (all_l1 * ~is_pad.unsqueeze(-1)).mean()
        loss = l1 + total_kld[0] * kl_weight
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [l1.item(), total_kld.item()]
    # rollout with temporal ensembling
    model.eval()
    max_timesteps, num_queries, k = ROLLOUT, CHUNK, 0.01
    all_time_actions = torch.zeros([max_timesteps, max_timesteps + num_queries, STATE_DIM])
    qpos = as_tensor(torch, np.sin(np.arange(STATE_DIM) * 1.0))[None]
    with torch.inference_mode():
        for t in range(max_timesteps):
            all_actions, _, _ = model(qpos)
            all_time_actions[[t], t : t + num_queries] = all_actions
            actions_for_curr_step = all_time_actions[:, t]
            actions_populated = torch.all(actions_for_curr_step != 0, axis=1)
            actions_for_curr_step = actions_for_curr_step[actions_populated]
            exp_weights = np.exp(-k * np.arange(len(actions_for_curr_step)))
            exp_weights = exp_weights / exp_weights.sum()
            exp_weights = torch.from_numpy(exp_weights).unsqueeze(dim=1)
            raw_action = (actions_for_curr_step * exp_weights).sum(dim=0, keepdim=True)
            qpos = 0.9 * qpos + 0.1 * raw_action
            values.append(raw_action.sum().item())
    return values
