"""A differential fuzzer for indexing: ``x[idx]``, ``x[idx] = v``, ``index_put_``, chains of
views written in place, and the dim-wise index ops, compared with torch on the same data.

:mod:`.cases` draws and runs the cases (gathering :mod:`.case_data`, :mod:`.case_draw`,
:mod:`.case_observe` and :mod:`.case_compare`), :mod:`.hunt` is the long-hunt entry
(``python -m tests.fuzz_indexing.hunt COUNT SEED``), ``test_fuzz_indexing.py`` the short CI
run and ``test_found_cases.py`` the bugs it found, one minimal case each.
:mod:`.cases_views` adds the dim-wise writes on views and mixed ``...``/None/mask indices
on 0-d and empty tensors (its own hunt, ``python -m tests.fuzz_indexing.cases_views COUNT
SEED``, and CI run, ``test_fuzz_views.py``).
"""
