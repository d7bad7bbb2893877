"""A small CNN with SyncBatchNorm + Adam under DDP equals one process with the global batch
(run by suite.py; the reference uses ordinary BatchNorm2d on the whole batch)."""

import numpy as np

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn.parallel import DistributedDataParallel as DDP

B = 3
STEPS = 3


def cnn():
    cr.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 3),
    ).double()


def run(rank, size):
    model = nn.SyncBatchNorm.convert_sync_batchnorm(cnn())
    assert isinstance(model[1], nn.SyncBatchNorm)
    ddp = DDP(model)
    reference = cnn()
    opt = cr.optim.Adam(ddp.parameters(), lr=1e-2)
    ref_opt = cr.optim.Adam(reference.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        rng = np.random.default_rng(step)
        x = cr.tensor(rng.standard_normal((size * B, 1, 8, 8)) * 2 + 1)
        y = cr.tensor(rng.integers(0, 3, size * B))
        opt.zero_grad()
        loss_fn(ddp(x[rank * B : (rank + 1) * B]), y[rank * B : (rank + 1) * B]).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(reference(x), y).backward()
        ref_opt.step()
    ours = dict(model.state_dict())
    for name, value in reference.state_dict().items():
        err = float(np.max(np.abs(ours[name]._data - value._data)))
        if err > 1e-9:
            raise AssertionError(
                f"CNN + SyncBatchNorm + Adam: {name} differs from the "
                f"single-process reference by {err:.3g}"
            )
    # Evaluation mode uses the (synchronised) running statistics: same outputs everywhere.
    ddp.eval()
    probe = cr.tensor(np.random.default_rng(9).standard_normal((2, 1, 8, 8)))
    with cr.no_grad():
        assert np.allclose(ddp(probe)._data, reference.eval()(probe)._data, atol=1e-9)
    return 2
