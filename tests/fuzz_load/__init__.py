"""A seeded mutation fuzzer for everything ``cr.load`` / ``load_checkpoint`` read.

Valid files of each format (:mod:`.seeds`) are mutated (:mod:`.mutate` and the per-format
mutators) and loaded in a memory-limited subprocess with a wall-clock timeout
(:mod:`.child`, :mod:`.runner`): loading must succeed or raise a clear error naming the
file, never run code from it, allocate what it merely claims, or hang.
``python -m tests.fuzz_load.hunt COUNT SEED`` runs it by hand.
"""
