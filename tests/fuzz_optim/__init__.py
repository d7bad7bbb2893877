"""A differential fuzzer for ``torch.optim``: seeded random training loops (an optimizer of
every class with random per-group options and flags, random and missing gradients,
``zero_grad``, ``add_param_group`` and ``state_dict``/``load_state_dict`` mid-run, LR
schedulers stepped in random order, invalid options) run on torch and on chainrule and
compared after every step.

:mod:`.programs` draws and runs the programs (gathering :mod:`.program_data`,
:mod:`.program_options`, :mod:`.program_draw`, :mod:`.program_run` and
:mod:`.program_compare`), :mod:`.hunt` is the long-hunt entry
(``python -m tests.fuzz_optim.hunt COUNT SEED``), ``test_fuzz_optim.py`` the short CI run and
``test_found_cases.py`` the bugs it found, one minimal program each. :mod:`.swa` fuzzes
``optim.swa_utils`` (AveragedModel, SWALR, update_bn; ``python -m tests.fuzz_optim.swa
COUNT SEED``, CI ``test_fuzz_swa.py``).
"""
