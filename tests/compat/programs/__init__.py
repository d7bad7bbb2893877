"""Drop-in programs: each is written once against a module ``torch_like`` and run twice, under
chainrule and under PyTorch, by ``tests/compat/test_programs.py``."""
