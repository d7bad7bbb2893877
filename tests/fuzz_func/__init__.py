"""A differential fuzzer for ``torch.func``: seeded random compositions of function
transforms (vmap with in_dims/out_dims/chunk_size/randomness, nested; grad, grad_and_value,
vjp, jvp, jacrev, jacfwd, hessian, linearize) over small random functions (elementwise,
reductions, matmul, indexing, softmax/logsumexp, where, cat/stack, linear, conv1d), and
``functional_call`` / ``stack_module_state`` module programs, run on torch and on chainrule
and compared (values, shapes, dtypes, raising).

:mod:`.bodies` draws and runs the function bodies, :mod:`.programs` the transform programs,
:mod:`.modules` the module programs, :mod:`.hunt` is the long-hunt entry
(``python -m tests.fuzz_func.hunt COUNT SEED``), ``test_random_func_programs.py`` the short
CI run and ``test_found_cases.py`` the bugs it found, one minimal program each.
"""

__all__: list[str] = []
