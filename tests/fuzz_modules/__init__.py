"""A differential fuzzer for ``torch.nn`` modules' constructor arguments: seeded random
constructions of nn layers (linear, convolution, pooling, normalization, embedding,
recurrent, attention, dropout, resampling, folding, activation and loss modules) with
random valid and invalid constructor arguments, built in torch and chainrule and compared:
the error at construction (its type), parameter and buffer names, shapes, dtypes,
``requires_grad`` and initial zeros/ones, ``repr``/``extra_repr``, ``state_dict`` keys, and,
after copying torch's parameters into chainrule, outputs and input/parameter gradients on
random float64 inputs (train or eval mode) and the buffers after the forward.

:mod:`.case` holds the :class:`~.case.Case` and runs and compares it (a lazy module's
class, repr and state again after its first call), :mod:`.kinds_layers`, :mod:`.kinds_more`,
:mod:`.kinds_losses`, :mod:`.kinds_extra` and :mod:`.kinds_round2` (FractionalMaxPool,
CrossMapLRN2d, SyncBatchNorm, lazy modules, upsampling aliases, softmax dims,
TripletMarginWithDistanceLoss) draw the constructions, :mod:`.programs` gathers them
(``draw``/``check``), :mod:`.hunt` is the long hunt
(``python -m tests.fuzz_modules.hunt COUNT SEED [KIND ...]``), ``test_random_modules.py``
the short CI run and ``test_found_cases.py`` / ``test_found_cases_r2.py`` the bugs it found
(rounds 1 and 2), one minimal case each.
"""
