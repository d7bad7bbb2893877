"""A differential fuzzer for ``torch.utils.data``: seeded random data pipelines (datasets of
every kind and sample style, samplers, batch samplers, DataLoader options, invalid arguments)
run on torch and on chainrule and compared batch by batch (structure, types, dtypes, shapes,
values), with ``len()``, the errors' types and the random streams' states afterwards.

:mod:`.pipelines` holds the :class:`~.pipelines.Program` and :func:`~.pipelines.draw`,
:mod:`.pipeline_run` runs one with either library and compares (:func:`~.pipeline_run.check`),
:mod:`.hunt` is the long-hunt entry (``python -m tests.fuzz_data.hunt COUNT SEED``),
``test_random_pipelines.py`` the short CI run and ``test_found_cases.py`` the bugs it found.
"""
