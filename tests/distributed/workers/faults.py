"""Worker (run under mpirun): rank 1 fails in the second epoch of a Trainer run; the job must
end, not hang, and rank 0's checkpoint of the first epoch must be usable for resuming.

``python faults.py MODE CHECKPOINT``. Modes: 'raise' (rank 1 raises: the abort hook ends the
job), 'kill' (rank 1 is killed by SIGKILL: the launcher ends the job), 'skip' (rank 1 stops
taking part and sleeps: rank 0 times out after 2 s with a clear error, then the abort hook
ends the job). The failure comes after the first step of epoch 2, so rank 0 has finished
writing the epoch-1 checkpoint.
"""

import datetime
import os
import signal
import sys
import time

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn as nn
from chainrule.nn.parallel import DistributedDataParallel as DDP
from chainrule.train import Callback, ModelCheckpoint, Trainer
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset


def model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def data():
    g = cr.Generator().manual_seed(1)
    return TensorDataset(cr.randn(16, 4, generator=g), cr.randint(0, 2, (16,), generator=g))


class Fail(Callback):
    def __init__(self, mode):
        self.mode = mode

    def on_batch_end(self, trainer, batch, logs):
        if trainer.epoch == 1 and dist.get_rank() == 1:
            if self.mode == "raise":
                raise ValueError("simulated failure on rank 1")
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)


def main():
    mode, checkpoint = sys.argv[1], sys.argv[2]
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
    ds = data()
    loader = DataLoader(ds, batch_size=4, sampler=DistributedSampler(ds, seed=0))
    ddp = DDP(model())
    trainer = Trainer(
        ddp,
        nn.CrossEntropyLoss(),
        cr.optim.SGD(ddp.parameters(), lr=0.1),
        callbacks=[ModelCheckpoint(checkpoint), Fail(mode)],
        verbose=False,
    )
    trainer.fit(loader, epochs=3)
    print(f"OK rank {dist.get_rank()}", flush=True)


if __name__ == "__main__":
    main()
