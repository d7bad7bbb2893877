"""``cr.backends``: PyTorch's backend switches (``cudnn``, ``cuda``, ``mha``, ``mps``,
``mkldnn``, ``openmp``, ``opt_einsum``, ``quantized``).

Scripts written for PyTorch set ``torch.backends.cudnn.benchmark = True`` and friends; here
those names exist with PyTorch's defaults and can be set and read back. chainrule computes
with NumPy (CPU) or CuPy (GPU) and uses neither cuDNN nor TF32 kernels, so these flags have
**no effect** on what chainrule computes: every op is deterministic already and runs in the
dtype you gave it. ``mps`` and ``mkldnn`` report False: chainrule has no Apple-GPU backend
and does not use oneDNN; ``openmp`` says whether its compiled kernels run on OpenMP.
``opt_einsum`` is the one that acts: it chooses the order in which ``cr.einsum`` contracts
three operands or more; ``mha.set_fastpath_enabled(False)`` turns off the transformer
encoder's mirrored fast path (zeros at padded positions); ``quantized.engine`` accepts the
engines whose arithmetic chainrule's quantized modules reproduce (x86, fbgemm).
"""

from __future__ import annotations

from . import cuda, cudnn, mha, mkldnn, mps, openmp, opt_einsum, quantized

__all__ = ["cuda", "cudnn", "mha", "mkldnn", "mps", "openmp", "opt_einsum", "quantized"]
