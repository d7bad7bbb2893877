"""Worker entry point (run under mpirun): ``python suite.py PART [PART ...]``.

Parts: ``collectives`` (collectives.py), ``more`` (more.py), ``mlp`` (ddp.py), ``cnn``
(ddp_cnn.py). One launch runs several parts because starting MPI jobs dominates the test time.
Prints 'OK rank r' when every part passed on this rank; any failure raises and the abort hook
ends the whole job.
"""

import sys

import collectives
import ddp
import ddp_cnn
import more

import chainrule as cr
import chainrule.distributed as dist

PARTS = {
    "collectives": collectives.run,
    "more": more.run,
    "mlp": ddp.run,
    "cnn": ddp_cnn.run,
}


def main():
    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    n = sum(PARTS[part](rank, size) for part in sys.argv[1:])
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group()  # init again after destroy
    t = cr.ones(2)
    dist.all_reduce(t)
    assert (t._data == size).all()
    dist.destroy_process_group()
    print(f"OK rank {rank} ({n} checks)", flush=True)


if __name__ == "__main__":
    main()
