"""cr.models.summary counts attention's multiply-adds (Q K^T and P V) for the calling module."""

from __future__ import annotations

import chainrule as cr


def test_gpt_summary_counts_linear_and_attention_macs():
    model = cr.models.get_model(
        "gpt", vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128
    )
    s = cr.models.summary(model, (1, 64), dtype=cr.int64)
    per_token = 4 * (128 * 384 + 128 * 128 + 128 * 512 + 512 * 128) + 128 * 65
    attention = 4 * 4 * 64 * 64 * (32 + 32)  # layers * heads * L * S * (E + Ev)
    assert s.total_macs == 64 * per_token + attention
    assert s.total_params == model.num_parameters()


def test_multihead_attention_macs_include_the_projections_and_the_scores():
    mha = cr.nn.MultiheadAttention(16, 4, batch_first=True)
    model = cr.nn.Sequential()
    model.add_module("attn", mha)

    class SelfAttention(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    s = cr.models.summary(SelfAttention(), (2, 5, 16))
    projections = 2 * 5 * (3 * 16 * 16 + 16 * 16)
    scores = 2 * 4 * 5 * 5 * (4 + 4)
    assert s.total_macs == projections + scores
