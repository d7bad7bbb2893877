"""A differential fuzzer for ``torch.distributions``: seeded random cases (every family, random
batch shapes and broadcast parameters, edge values, float32/float64, ``validate_args`` on and
off) built in torch and chainrule and compared: moments, entropy, ``log_prob``/``cdf``/``icdf``
in and out of the support, shapes, support, ``expand``, samples (exactly, for the families
that consume the shared RNG stream alike), ``rsample`` and ``log_prob`` gradients,
``kl_divergence`` for the registered pairs (and its gradients; unregistered pairs must both
raise), values on the support's edges, ``expand`` (more dims, a bad shape), and errors.

:mod:`.families` draws parameters and builds each family, :mod:`.cases` runs and compares one
case, :mod:`.compare` holds the tolerances, :mod:`.hunt` is the long-hunt entry
(``python -m tests.fuzz_dist.hunt COUNT SEED [FAMILY ...]``), ``test_fuzz_smoke.py`` the short
CI run and ``test_found_cases.py`` the bugs it found; :mod:`.extra_checks` the support-edge,
expand and unregistered-KL checks; :mod:`.transforms` fuzzes transforms (``biject_to`` /
``transform_to`` of every constraint kind, composed and inverted scalar transforms, a Normal
through each), ``python -m tests.fuzz_dist.transforms COUNT SEED``, CI
``test_fuzz_transforms.py``.
"""
