"""The cases of tests/func/test_vmap_session44_survey.py: name -> (function of the library
and the inputs x (B, 4, 5) float64, y (B, 5) float64, z (B, 4) int64 in [0, 5), s (B, 3, 3)
positive definite; in_dims of those four; vmap's keywords). ``GAPS``: the cases chainrule
does not run yet (strict xfails), also in ``S``."""

from __future__ import annotations

__all__ = ["GAPS", "S"]

S = {
    "sum_dim_tuple_keepdim": (lambda m, x, y, z, s: x.sum((0, 1), keepdim=True), (0, 0, 0, 0), {}),
    "mean_neg_dim": (lambda m, x, y, z, s: x.mean(-1, keepdim=True) + y.mean(), (0, 0, 0, 0), {}),
    "amax_tuple": (lambda m, x, y, z, s: m.amax(x, (0, 1)), (1, 0, 0, 0), {}),
    "max_dim": (lambda m, x, y, z, s: x.max(1), (0, 0, 0, 0), {}),
    "min_dim_keepdim": (lambda m, x, y, z, s: x.min(0, keepdim=True), (2, 0, 0, 0), {}),
    "argmax_none": (lambda m, x, y, z, s: x.argmax(), (0, 0, 0, 0), {}),
    "argmin_dim": (lambda m, x, y, z, s: x.argmin(1, keepdim=True), (0, 0, 0, 0), {}),
    "var_tuple": (lambda m, x, y, z, s: x.var((0, 1), correction=0), (0, 0, 0, 0), {}),
    "std_mean": (lambda m, x, y, z, s: m.std_mean(x, 1), (0, 0, 0, 0), {}),
    "logsumexp": (lambda m, x, y, z, s: m.logsumexp(x, (0, 1)), (0, 0, 0, 0), {}),
    "prod_all": (lambda m, x, y, z, s: x.prod(), (0, 0, 0, 0), {}),
    "norm_dim": (lambda m, x, y, z, s: m.linalg.vector_norm(x, 3, dim=(0, 1)), (0, 0, 0, 0), {}),
    "all_any": (lambda m, x, y, z, s: ((x > 0).all(1), (y > 0).any()), (0, 0, 0, 0), {}),
    "where_batched_cond": (lambda m, x, y, z, s: m.where(y > 0, x, 0.0), (None, 0, 0, 0), {}),
    "where_cond_only": (lambda m, x, y, z, s: m.where(y > 0, x, x * 2), (None, 0, 0, 0), {}),
    "gather_batched_index": (lambda m, x, y, z, s: x.gather(1, z[:, None]), (0, 0, 0, 0), {}),
    "gather_index_only": (lambda m, x, y, z, s: x.gather(1, z[:, None]), (None, 0, 0, 0), {}),
    "scatter_batched_index": (
        lambda m, x, y, z, s: x.scatter(1, z[:, None], 7.0),
        (0, 0, 0, 0),
        {},
    ),
    "scatter_src_index": (
        lambda m, x, y, z, s: x.scatter(1, z[:, None], y[:4, None]),
        (None, 0, 0, 0),
        {},
    ),
    "scatter_add": (lambda m, x, y, z, s: x.scatter_add(1, z[:, None], x[:, :1]), (0, 0, 0, 0), {}),
    "index_add_batched_index": (
        lambda m, x, y, z, s: m.zeros(5, 5, dtype=m.float64).index_add(
            0, z, x[:, :5] if False else x[:, :5][:4]
        ),
        (0, 0, 0, 0),
        {},
    ),
    "index_select_batched_index": (lambda m, x, y, z, s: x.index_select(1, z), (0, 0, 0, 0), {}),
    "take_along_dim": (lambda m, x, y, z, s: m.take_along_dim(x, z[:, None], 1), (0, 0, 0, 0), {}),
    "advanced_index_batched": (lambda m, x, y, z, s: x[z % 4, z], (0, 0, 0, 0), {}),
    "linalg_solve": (lambda m, x, y, z, s: m.linalg.solve(s, y[:3]), (0, 0, 0, 0), {}),
    "linalg_solve_unbatched_A": (
        lambda m, x, y, z, s: m.linalg.solve(s, y[:3]),
        (0, 0, 0, None),
        {},
    ),
    "linalg_inv": (lambda m, x, y, z, s: m.linalg.inv(s), (0, 0, 0, 0), {}),
    "linalg_det": (lambda m, x, y, z, s: m.linalg.det(s) + y.sum(), (0, 0, 0, 0), {}),
    "linalg_slogdet": (lambda m, x, y, z, s: m.linalg.slogdet(s), (0, 0, 0, 0), {}),
    "linalg_cholesky": (lambda m, x, y, z, s: m.linalg.cholesky(s), (0, 0, 0, 0), {}),
    "linalg_qr": (lambda m, x, y, z, s: m.linalg.qr(x), (0, 0, 0, 0), {}),
    "linalg_eigh": (lambda m, x, y, z, s: m.linalg.eigh(s)[0], (0, 0, 0, 0), {}),
    "linalg_svdvals": (lambda m, x, y, z, s: m.linalg.svdvals(x), (1, 0, 0, 0), {}),
    "matmul_mixed": (lambda m, x, y, z, s: x @ y, (None, 0, 0, 0), {}),
    "conv2d_batched_weight": (
        lambda m, x, y, z, s: m.nn.functional.conv2d(x[None, None], s[None, None]),
        (0, 0, 0, 0),
        {},
    ),
    "conv2d_weight_only": (
        lambda m, x, y, z, s: m.nn.functional.conv2d(x[None, None], s[None, None], padding=1),
        (None, 0, 0, 0),
        {},
    ),
    "conv1d": (
        lambda m, x, y, z, s: m.nn.functional.conv1d(
            x[None], s[:, None, :].expand(3, 4, 3).contiguous()
        ),
        (0, 0, 0, 0),
        {},
    ),
    "embedding": (lambda m, x, y, z, s: m.nn.functional.embedding(z, x.T), (0, 0, 0, 0), {}),
    "embedding_index_only": (
        lambda m, x, y, z, s: m.nn.functional.embedding(z, x.T),
        (None, 0, 0, 0),
        {},
    ),
    "cross_entropy_batched_target": (
        lambda m, x, y, z, s: m.nn.functional.cross_entropy(x, z),
        (None, 0, 0, 0),
        {},
    ),
    "cross_entropy_both": (
        lambda m, x, y, z, s: m.nn.functional.cross_entropy(x, z, reduction="none"),
        (0, 0, 0, 0),
        {},
    ),
    "cross_entropy_smoothing": (
        lambda m, x, y, z, s: m.nn.functional.cross_entropy(x, z, label_smoothing=0.1),
        (0, 0, 0, 0),
        {},
    ),
    "nll_loss": (
        lambda m, x, y, z, s: m.nn.functional.nll_loss(x.log_softmax(1), z),
        (0, 0, 0, 0),
        {},
    ),
    "topk": (lambda m, x, y, z, s: x.topk(2, 1), (0, 0, 0, 0), {}),
    "topk_smallest": (lambda m, x, y, z, s: y.topk(3, largest=False), (0, 0, 0, 0), {}),
    "sort": (lambda m, x, y, z, s: x.sort(0, descending=True), (1, 0, 0, 0), {}),
    "argsort": (lambda m, x, y, z, s: x.argsort(-1), (0, 0, 0, 0), {}),
    "msort_kthvalue": (lambda m, x, y, z, s: y.kthvalue(2), (0, 0, 0, 0), {}),
    "cumsum": (lambda m, x, y, z, s: x.cumsum(1), (0, 0, 0, 0), {}),
    "cumprod": (lambda m, x, y, z, s: x.cumprod(0), (2, 0, 0, 0), {}),
    "cummax": (lambda m, x, y, z, s: x.cummax(1), (0, 0, 0, 0), {}),
    "logcumsumexp": (lambda m, x, y, z, s: x.logcumsumexp(1), (0, 0, 0, 0), {}),
    "unique": (lambda m, x, y, z, s: m.unique(z), (0, 0, 0, 0), {}),
    "nonzero": (lambda m, x, y, z, s: m.nonzero(z), (0, 0, 0, 0), {}),
    "masked_select": (lambda m, x, y, z, s: y[y > 0], (0, 0, 0, 0), {}),
    "item": (lambda m, x, y, z, s: y.sum().item(), (0, 0, 0, 0), {}),
    "chunk": (lambda m, x, y, z, s: x.chunk(2, 0), (0, 0, 0, 0), {}),
    "split_sizes": (lambda m, x, y, z, s: x.split([2, 3], 1), (1, 0, 0, 0), {}),
    "unbind": (lambda m, x, y, z, s: x.unbind(1), (0, 0, 0, 0), {}),
    "tensor_split": (lambda m, x, y, z, s: m.tensor_split(x, 3, 1), (0, 0, 0, 0), {}),
    "stack_cat_mixed": (lambda m, x, y, z, s: m.cat([x, y[None]], 0), (None, 0, 0, 0), {}),
    "flatten_unflatten": (
        lambda m, x, y, z, s: x.flatten().unflatten(0, (2, 10)),
        (0, 0, 0, 0),
        {},
    ),
    "diag_embed": (lambda m, x, y, z, s: m.diag_embed(y), (0, 0, 0, 0), {}),
    "tril_triu": (lambda m, x, y, z, s: m.tril(s) + m.triu(s, 1), (0, 0, 0, 0), {}),
    "outer_einsum": (lambda m, x, y, z, s: m.einsum("i,j->ij", y, y), (0, 0, 0, 0), {}),
    "clamp_tensor": (lambda m, x, y, z, s: x.clamp(min=y * 0, max=y + 1), (0, 0, 0, 0), {}),
    "softmax_dim0": (lambda m, x, y, z, s: x.softmax(0), (1, 0, 0, 0), {}),
    "layer_norm": (
        lambda m, x, y, z, s: m.nn.functional.layer_norm(x, (5,), y, y),
        (0, 0, 0, 0),
        {},
    ),
    "one_hot": (lambda m, x, y, z, s: m.nn.functional.one_hot(z, 5), (0, 0, 0, 0), {}),
    "pad_reflect": (
        lambda m, x, y, z, s: m.nn.functional.pad(x[None], (1, 2), mode="reflect"),
        (0, 0, 0, 0),
        {},
    ),
    "inplace_add_batched_into_unbatched": (lambda m, x, y, z, s: x.add_(y), (None, 0, 0, 0), {}),
    "inplace_mul_batched_self": (lambda m, x, y, z, s: (x * 1).mul_(y), (0, None, 0, 0), {}),
    "setitem_batched_value": (
        lambda m, x, y, z, s: (lambda t: (t.__setitem__(0, y), t)[1])(x.clone()),
        (None, 0, 0, 0),
        {},
    ),
    "setitem_batched_index": (
        lambda m, x, y, z, s: (lambda t: (t.__setitem__(z % 4, 0.0), t)[1])(x.clone()),
        (0, 0, 0, 0),
        {},
    ),
    "index_put_batched_index": (
        lambda m, x, y, z, s: x.index_put((z % 4,), y[:4, None].expand(4, 5)),
        (0, 0, 0, 0),
        {},
    ),
    "rand_error": (lambda m, x, y, z, s: x + m.rand(4, 5, dtype=m.float64), (0, 0, 0, 0), {}),
    "randn_like_error": (lambda m, x, y, z, s: m.randn_like(x), (0, 0, 0, 0), {}),
    "dropout_error": (lambda m, x, y, z, s: m.nn.functional.dropout(x, 0.5), (0, 0, 0, 0), {}),
    "bernoulli_same": (
        lambda m, x, y, z, s: m.bernoulli(m.full((4, 5), 0.5, dtype=m.float64)) + x,
        (0, 0, 0, 0),
        {"randomness": "same"},
    ),
    "bernoulli_batched_p_same": (
        lambda m, x, y, z, s: m.bernoulli(y.sigmoid()),
        (0, 0, 0, 0),
        {"randomness": "same"},
    ),
    "normal_same_shape": (
        lambda m, x, y, z, s: x + m.randn(4, 5, dtype=m.float64),
        (0, 0, 0, 0),
        {"randomness": "same"},
    ),
    "normal_different_shape": (
        lambda m, x, y, z, s: (x + m.randn(4, 5, dtype=m.float64)).shape,
        (0, 0, 0, 0),
        {"randomness": "different"},
    ),
}
S.update(
    {
        "normal_different_values": (
            lambda m, x, y, z, s: x + m.randn(4, 5, dtype=m.float64),
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "rand_like_different": (
            lambda m, x, y, z, s: m.rand_like(y) * y,
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "dropout_different": (
            lambda m, x, y, z, s: m.nn.functional.dropout(x, 0.5),
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "dropout_same": (
            lambda m, x, y, z, s: m.nn.functional.dropout(x, 0.5),
            (0, 0, 0, 0),
            {"randomness": "same"},
        ),
        "normal_inplace_different": (
            lambda m, x, y, z, s: (x * 1).normal_(),
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "normal_inplace_unbatched_different": (
            lambda m, x, y, z, s: m.zeros(3, dtype=m.float64).normal_() + y[:3],
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "constant_mask_index": (
            lambda m, x, y, z, s: x[:, m.tensor([True, False, True, True, False])],
            (0, 0, 0, 0),
            {},
        ),
        "masked_select_constant": (
            lambda m, x, y, z, s: m.masked_select(y, m.tensor([True, False, True, True, False])),
            (0, 0, 0, 0),
            {},
        ),
        "count_nonzero": (lambda m, x, y, z, s: m.count_nonzero(z, 0), (0, 0, 0, 0), {}),
        "tolist": (lambda m, x, y, z, s: m.tensor(y.tolist()), (0, 0, 0, 0), {}),
        "chunk_size_2": (lambda m, x, y, z, s: (x * y).sum(1), (0, 0, 0, 0), {"chunk_size": 2}),
        "chunk_size_random_same": (
            lambda m, x, y, z, s: y + m.rand(5, dtype=m.float64),
            (0, 0, 0, 0),
            {"chunk_size": 2, "randomness": "same"},
        ),
        "chunk_size_random_different": (
            lambda m, x, y, z, s: y + m.rand(5, dtype=m.float64),
            (0, 0, 0, 0),
            {"chunk_size": 1, "randomness": "different"},
        ),
        "nested_twice": (
            lambda m, x, y, z, s: m.func.vmap(lambda r, w: (r * w).sum() + r.max())(x, y[:4]),
            (0, 0, 0, 0),
            {},
        ),
        "nested_twice_in_dims": (
            lambda m, x, y, z, s: m.func.vmap(lambda r: m.outer(r, y), in_dims=1, out_dims=1)(x),
            (0, 0, 0, 0),
            {},
        ),
        "nested_grad": (
            lambda m, x, y, z, s: m.func.vmap(m.func.grad(lambda r: (r * y).sum() ** 2))(x),
            (0, 0, 0, 0),
            {},
        ),
        "out_of_place_on_unbatched_with_batched": (
            lambda m, x, y, z, s: m.zeros(5, dtype=m.float64).add(y),
            (0, 0, 0, 0),
            {},
        ),
        "copy_into_batched": (lambda m, x, y, z, s: (x * 0).copy_(y), (0, 0, 0, 0), {}),
        "copy_into_unbatched": (
            lambda m, x, y, z, s: m.zeros(5, dtype=m.float64).copy_(y),
            (0, 0, 0, 0),
            {},
        ),
        "argwhere": (lambda m, x, y, z, s: m.argwhere(y > 0), (0, 0, 0, 0), {}),
        "median_all": (lambda m, x, y, z, s: x.median(), (0, 0, 0, 0), {}),
        "mode": (lambda m, x, y, z, s: z.mode(1), (0, 0, 0, 0), {}),
        "histc": (lambda m, x, y, z, s: m.histc(y, 4, -2, 2), (0, 0, 0, 0), {}),
        "bincount": (lambda m, x, y, z, s: m.bincount(z), (0, 0, 0, 0), {}),
        "searchsorted_side": (
            lambda m, x, y, z, s: m.searchsorted(
                m.tensor([-1.0, 0.0, 1.0], dtype=m.float64), y, side="right"
            ),
            (0, 0, 0, 0),
            {},
        ),
        "roll_flat": (lambda m, x, y, z, s: x.roll(3), (0, 0, 0, 0), {}),
        "repeat_interleave": (lambda m, x, y, z, s: y.repeat_interleave(2), (0, 0, 0, 0), {}),
        "repeat_interleave_tensor": (
            lambda m, x, y, z, s: y.repeat_interleave(m.tensor([1, 2, 0, 1, 1])),
            (0, 0, 0, 0),
            {},
        ),
        "max_pool2d": (
            lambda m, x, y, z, s: m.nn.functional.max_pool2d(x[None], 2),
            (0, 0, 0, 0),
            {},
        ),
        "interpolate": (
            lambda m, x, y, z, s: m.nn.functional.interpolate(
                x[None], scale_factor=2, mode="linear"
            ),
            (0, 0, 0, 0),
            {},
        ),
        "batch_norm_eval": (
            lambda m, x, y, z, s: m.nn.functional.batch_norm(
                x[None], m.zeros(4, dtype=m.float64), m.ones(4, dtype=m.float64)
            ),
            (0, 0, 0, 0),
            {},
        ),
        "diff": (lambda m, x, y, z, s: m.diff(x, dim=1), (0, 0, 0, 0), {}),
        "kron": (lambda m, x, y, z, s: m.kron(s, s), (0, 0, 0, 0), {}),
        "cdist": (lambda m, x, y, z, s: m.cdist(x, x), (0, 0, 0, 0), {}),
        "polar_complex": (lambda m, x, y, z, s: m.polar(y.abs(), y).abs(), (0, 0, 0, 0), {}),
        "fft": (lambda m, x, y, z, s: m.fft.rfft(y).abs(), (0, 0, 0, 0), {}),
    }
)

S.update(
    {
        "nansum_tuple_keepdim": (
            lambda m, x, y, z, s: m.nansum(x, (0, 1), keepdim=True),
            (0, 0, 0, 0),
            {},
        ),
        "aminmax": (lambda m, x, y, z, s: m.aminmax(x, dim=1, keepdim=True), (0, 0, 0, 0), {}),
        "median_dim_keepdim": (lambda m, x, y, z, s: x.median(1, keepdim=True), (0, 0, 0, 0), {}),
        "quantile": (lambda m, x, y, z, s: m.quantile(y, 0.3), (0, 0, 0, 0), {}),
        "quantile_dim": (
            lambda m, x, y, z, s: m.quantile(
                x, m.tensor([0.2, 0.7], dtype=m.float64), dim=1, keepdim=True
            ),
            (0, 0, 0, 0),
            {},
        ),
        "std_dim_tuple": (lambda m, x, y, z, s: x.std((0, 1), keepdim=True), (0, 0, 0, 0), {}),
        "mean_dtype": (lambda m, x, y, z, s: z.float().mean((0,)), (0, 0, 0, 0), {}),
        "sum_int_dim_none_keepdim": (
            lambda m, x, y, z, s: z.sum(dim=None, keepdim=True),
            (0, 0, 0, 0),
            {},
        ),
        "randint_different": (
            lambda m, x, y, z, s: m.randint(0, 10, (4,)) + z,
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "randperm_different": (
            lambda m, x, y, z, s: m.randperm(5) + z[0],
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "multinomial_different": (
            lambda m, x, y, z, s: m.multinomial(y.softmax(0), 3),
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "normal_batched_mean": (
            lambda m, x, y, z, s: m.normal(y, 1.0),
            (0, 0, 0, 0),
            {"randomness": "different"},
        ),
        "normal_batched_mean_same": (
            lambda m, x, y, z, s: m.normal(y, 1.0),
            (0, 0, 0, 0),
            {"randomness": "same"},
        ),
        "rand_in_nested_error": (
            lambda m, x, y, z, s: m.func.vmap(lambda r: r + m.rand(()), randomness="different")(y),
            (0, 0, 0, 0),
            {},
        ),
        "rand_nested_same_different": (
            lambda m, x, y, z, s: m.func.vmap(
                lambda r: r + m.rand((), dtype=m.float64), randomness="different"
            )(y),
            (0, 0, 0, 0),
            {"randomness": "same"},
        ),
        "uniform_inplace_unbatched_same": (
            lambda m, x, y, z, s: m.zeros(5, dtype=m.float64).uniform_() + y,
            (0, 0, 0, 0),
            {"randomness": "same"},
        ),
        "where_scalar_batched_cond": (
            lambda m, x, y, z, s: m.where(z > 2, 1.0, 0.0),
            (0, 0, 0, 0),
            {},
        ),
        "where_all_batched_mixed_rank": (
            lambda m, x, y, z, s: m.where(y > 0, x, y),
            (0, 1, 0, 0),
            {},
        ),
        "scatter_reduce_batched_index": (
            lambda m, x, y, z, s: m.zeros(4, 5, dtype=m.float64).scatter_reduce(
                1, z[:, None], x[:, :1], "amax", include_self=False
            ),
            (0, 0, 0, 0),
            {},
        ),
        "index_copy_batched_index": (
            lambda m, x, y, z, s: m.zeros(6, 5, dtype=m.float64).index_copy(
                0, m.tensor([0, 2, 4, 5]), x
            ),
            (0, 0, 0, 0),
            {},
        ),
        "index_fill_batched_index": (
            lambda m, x, y, z, s: x.index_fill(1, z, -1.0),
            (0, 0, 0, 0),
            {},
        ),
        "gather_out_dims": (
            lambda m, x, y, z, s: x.gather(1, z[:, None]).squeeze(1),
            (0, 0, 0, 0),
            {"out_dims": 1},
        ),
        "linalg_matrix_power": (
            lambda m, x, y, z, s: m.linalg.matrix_power(s, 3),
            (0, 0, 0, 0),
            {},
        ),
        "linalg_pinv": (lambda m, x, y, z, s: m.linalg.pinv(x), (0, 0, 0, 0), {}),
        "linalg_norm_fro": (lambda m, x, y, z, s: m.linalg.norm(x), (0, 0, 0, 0), {}),
        "conv_transpose2d": (
            lambda m, x, y, z, s: m.nn.functional.conv_transpose2d(x[None, None], s[None, None]),
            (0, 0, 0, 0),
            {},
        ),
        "embedding_bag": (
            lambda m, x, y, z, s: m.nn.functional.embedding_bag(z[None], x.T),
            (0, 0, 0, 0),
            {},
        ),
        "binary_cross_entropy_batched_target": (
            lambda m, x, y, z, s: m.nn.functional.binary_cross_entropy(
                y.sigmoid(), (z[0] > 2).double().expand(5)
            ),
            (0, 0, 0, 0),
            {},
        ),
        "kl_div": (
            lambda m, x, y, z, s: m.nn.functional.kl_div(
                x.log_softmax(1), x.softmax(1), reduction="batchmean"
            ),
            (0, 0, 0, 0),
            {},
        ),
        "sort_stable": (lambda m, x, y, z, s: z.sort(stable=True), (0, 0, 0, 0), {}),
        "topk_dim0": (lambda m, x, y, z, s: x.topk(2, 0, sorted=True), (2, 0, 0, 0), {}),
        "cummin_neg": (lambda m, x, y, z, s: x.cummin(-1), (0, 0, 0, 0), {}),
        "cumsum_dtype": (lambda m, x, y, z, s: z.cumsum(0, dtype=m.float64), (0, 0, 0, 0), {}),
        "split_equal": (lambda m, x, y, z, s: y.split(2), (0, 0, 0, 0), {}),
        "unbind_out_dims": (lambda m, x, y, z, s: x.unbind(0), (1, 0, 0, 0), {"out_dims": 1}),
        "chunk_uneven": (lambda m, x, y, z, s: y.chunk(3), (0, 0, 0, 0), {}),
    }
)

# what chainrule does not run yet under vmap where torch does (strict: fails until fixed)
S["linalg_lstsq"] = (  # once per sample (func/_per_sample.py), as PyTorch's fallback
    lambda m, x, y, z, s: m.linalg.lstsq(s, y[:3, None]).solution,
    (0, 0, 0, 0),
    {},
)
GAPS: dict = {}
S.update(GAPS)
