"""The distributed stack under a real MPI launcher (mpirun -n 2 and -n 3).

Each test starts a worker script in several processes and checks what they report; the
workers compare against NumPy references and single-process training themselves. Budget: a
launch costs ~2-4 s on this 2-core machine, so the workers bundle many checks each.
"""

import sys
import time

import chainrule as cr
from chainrule.train import Trainer
from chainrule.utils.data import DataLoader

from ._launch import WORKERS, check_ok, finish, needs_mpirun, run_workers, start_workers

pytestmark = needs_mpirun


def test_two_ranks_collectives_ddp_mlp_and_cnn():
    """Every collective vs NumPy; MLP + SGD and CNN + SyncBatchNorm + Adam under DDP vs one
    process with the global batch (see workers/)."""
    check_ok(run_workers(2, "suite.py", "collectives", "more", "mlp", "cnn"), 2)


def test_three_ranks_collectives_ddp_mlp_and_cnn():
    """The same on 3 ranks (oversubscribed on 2 cores)."""
    check_ok(run_workers(3, "suite.py", "collectives", "more", "mlp", "cnn"), 3)


FAULTS = {"raise": "simulated failure on rank 1", "kill": "signal 9", "skip": "timed out after 2 s"}


def test_failed_rank_ends_the_job_and_the_checkpoint_resumes(tmp_path):
    """Rank 1 raises / is killed / stops taking part in epoch 2: each job ends with a clear
    message well within the timeout instead of hanging (the three jobs run side by side), and
    the epoch-1 checkpoint written by rank 0 resumes, here in a single process."""
    start = time.monotonic()
    jobs = {
        mode: start_workers(2, "faults.py", mode, str(tmp_path / f"{mode}.safetensors"))
        for mode in FAULTS
    }
    for mode, proc in jobs.items():
        result = finish(proc, timeout=90)
        text = result.stdout + result.stderr
        assert result.returncode != 0, text
        assert FAULTS[mode] in text, text
        assert "OK rank" not in text, text
        if mode != "kill":
            assert "aborting all 2 ranks" in text, text
    elapsed = time.monotonic() - start
    assert elapsed < 60, f"took {elapsed:.1f} s to fail"

    sys.path.insert(0, str(WORKERS))
    try:
        import faults
    finally:
        sys.path.remove(str(WORKERS))
    for mode in FAULTS:
        net = faults.model()
        trainer = Trainer(
            net, cr.nn.CrossEntropyLoss(), cr.optim.SGD(net.parameters(), lr=0.1), verbose=False
        )
        loader = DataLoader(faults.data(), batch_size=8)
        trainer.fit(loader, epochs=3, resume_from=tmp_path / f"{mode}.safetensors")
        assert trainer.epoch == 3 and len(trainer.history.history["loss"]) == 3
