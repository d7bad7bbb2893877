"""How much of PyTorch's commonly used API chainrule has: a checked list, not a guess.

The list below is the PyTorch API that courses, tutorials and the official examples use most
(compiled by hand for this project from the names those programs call; the sequence and
distributed APIs are included). Each entry is a dotted path under ``torch``; the script
resolves the same path under ``chainrule`` and prints the coverage and what is missing.

With ``--full`` it also counts, namespace by namespace, every public name that the installed
PyTorch has (``dir(torch)``, ``torch.nn``, ``torch.nn.functional``, ``torch.linalg``,
``torch.special``, ``torch.optim``, ``torch.autograd``, ``Tensor`` methods), leaving out what
has no meaning without PyTorch's C++ backends (quantization, sparse layouts, cuDNN/MKL-DNN/
MIOpen/FBGEMM kernels, symbolic shapes, TorchScript internals): a wider, mechanical measure
next to the hand-picked list.

Usage:  python benchmarks/api_coverage.py [--missing] [--full]
"""

from __future__ import annotations

import argparse
import importlib

COMMON_API = """
tensor as_tensor from_numpy zeros ones full empty zeros_like ones_like full_like empty_like
rand randn randint randperm rand_like randn_like arange linspace eye manual_seed seed
cat stack split chunk reshape squeeze unsqueeze flatten transpose permute where gather
scatter masked_select index_select nonzero clamp clip abs exp log log1p sqrt rsqrt sin cos
tanh sigmoid relu sum mean std var max min argmax argmin topk sort argsort cumsum cumprod
prod norm matmul mm bmm einsum dot outer allclose isclose equal isnan isinf isfinite
no_grad enable_grad set_grad_enabled inference_mode is_grad_enabled save load device
float32 float64 float16 bfloat16 int64 int32 uint8 bool long float double get_default_dtype
set_default_dtype is_tensor numel tril triu diag diagonal multinomial meshgrid unique
repeat_interleave narrow flip roll logsumexp softmax log_softmax cdist trace lerp
nan_to_num atan2 sinh cosh floor ceil round sign maximum minimum tensordot kron
searchsorted bucketize histc bernoulli normal poisson finfo iinfo set_printoptions
use_deterministic_algorithms autocast compile Generator Tensor FloatTensor LongTensor
cuda.is_available cuda.device_count cuda.manual_seed cuda.manual_seed_all cuda.synchronize
backends.cudnn.benchmark backends.cudnn.deterministic backends.mps.is_available
autograd.grad autograd.backward autograd.Function autograd.gradcheck autograd.gradgradcheck
autograd.functional.jacobian autograd.functional.hessian autograd.detect_anomaly
func.grad func.vmap func.jacrev func.jacfwd func.functional_call func.hessian
linalg.norm linalg.vector_norm linalg.matrix_norm linalg.inv linalg.solve linalg.det
linalg.slogdet linalg.cholesky linalg.qr linalg.svd linalg.svdvals linalg.eigh
linalg.eigvalsh linalg.pinv linalg.lstsq linalg.matrix_power linalg.matrix_rank
linalg.cross amp.GradScaler amp.autocast
nn.Module nn.Parameter nn.Linear nn.Bilinear nn.Identity nn.Conv1d nn.Conv2d nn.Conv3d
nn.ConvTranspose2d nn.MaxPool1d nn.MaxPool2d nn.AvgPool2d nn.AdaptiveAvgPool2d
nn.AdaptiveAvgPool1d nn.AdaptiveMaxPool2d nn.BatchNorm1d nn.BatchNorm2d nn.LayerNorm
nn.GroupNorm nn.InstanceNorm2d nn.RMSNorm nn.Dropout nn.Dropout2d nn.Embedding
nn.EmbeddingBag nn.ReLU nn.LeakyReLU nn.PReLU nn.ELU nn.SELU nn.GELU nn.SiLU nn.Mish
nn.Sigmoid nn.Tanh nn.Softmax nn.LogSoftmax nn.Softplus nn.Hardtanh nn.Hardswish
nn.Flatten nn.Unflatten nn.Sequential nn.ModuleList nn.ModuleDict nn.ParameterList
nn.ParameterDict nn.Upsample nn.PixelShuffle nn.ZeroPad2d nn.ReflectionPad2d
nn.CrossEntropyLoss nn.NLLLoss nn.MSELoss nn.L1Loss nn.SmoothL1Loss nn.HuberLoss
nn.BCELoss nn.BCEWithLogitsLoss nn.KLDivLoss nn.CosineEmbeddingLoss nn.TripletMarginLoss
nn.MarginRankingLoss nn.CTCLoss nn.CosineSimilarity nn.PairwiseDistance
nn.RNN nn.LSTM nn.GRU nn.RNNCell nn.LSTMCell nn.GRUCell nn.MultiheadAttention
nn.Transformer nn.TransformerEncoder nn.TransformerEncoderLayer nn.TransformerDecoder
nn.TransformerDecoderLayer nn.LazyLinear nn.SyncBatchNorm nn.DataParallel
nn.parallel.DistributedDataParallel nn.init.xavier_uniform_ nn.init.xavier_normal_
nn.init.kaiming_uniform_ nn.init.kaiming_normal_ nn.init.normal_ nn.init.zeros_
nn.init.ones_ nn.init.constant_ nn.init.uniform_ nn.init.orthogonal_ nn.init.trunc_normal_
nn.utils.clip_grad_norm_ nn.utils.clip_grad_value_ nn.utils.parameters_to_vector
nn.utils.rnn.pad_sequence nn.utils.rnn.pack_padded_sequence
nn.utils.rnn.pad_packed_sequence nn.utils.parametrizations.weight_norm
nn.utils.parametrizations.spectral_norm
nn.functional.relu nn.functional.gelu nn.functional.silu nn.functional.softmax
nn.functional.log_softmax nn.functional.cross_entropy nn.functional.nll_loss
nn.functional.mse_loss nn.functional.l1_loss nn.functional.binary_cross_entropy
nn.functional.binary_cross_entropy_with_logits nn.functional.kl_div
nn.functional.dropout nn.functional.linear nn.functional.conv2d nn.functional.max_pool2d
nn.functional.avg_pool2d nn.functional.adaptive_avg_pool2d nn.functional.interpolate
nn.functional.pad nn.functional.one_hot nn.functional.normalize nn.functional.embedding
nn.functional.layer_norm nn.functional.batch_norm nn.functional.leaky_relu
nn.functional.elu nn.functional.softplus nn.functional.tanh nn.functional.sigmoid
nn.functional.scaled_dot_product_attention nn.functional.cosine_similarity
nn.functional.unfold nn.functional.fold nn.functional.grid_sample
nn.functional.pixel_shuffle nn.functional.gumbel_softmax
optim.SGD optim.Adam optim.AdamW optim.RMSprop optim.Adagrad optim.Adadelta optim.Adamax
optim.NAdam optim.RAdam optim.LBFGS optim.lr_scheduler.StepLR
optim.lr_scheduler.MultiStepLR optim.lr_scheduler.ExponentialLR
optim.lr_scheduler.CosineAnnealingLR optim.lr_scheduler.CosineAnnealingWarmRestarts
optim.lr_scheduler.ReduceLROnPlateau optim.lr_scheduler.OneCycleLR
optim.lr_scheduler.LambdaLR optim.lr_scheduler.LinearLR optim.lr_scheduler.CyclicLR
optim.lr_scheduler.SequentialLR optim.lr_scheduler.PolynomialLR optim.swa_utils.AveragedModel
utils.data.Dataset utils.data.DataLoader utils.data.TensorDataset utils.data.random_split
utils.data.Subset utils.data.ConcatDataset utils.data.IterableDataset
utils.data.RandomSampler utils.data.SequentialSampler utils.data.WeightedRandomSampler
utils.data.SubsetRandomSampler utils.data.BatchSampler utils.data.DistributedSampler
utils.data.get_worker_info utils.data.default_collate utils.tensorboard.SummaryWriter
distributed.init_process_group distributed.all_reduce distributed.get_rank
distributed.get_world_size distributed.barrier distributed.broadcast
Tensor.backward Tensor.detach Tensor.numpy Tensor.item Tensor.tolist Tensor.to Tensor.cpu
Tensor.cuda Tensor.float Tensor.long Tensor.int Tensor.double Tensor.half Tensor.bool
Tensor.view Tensor.view_as Tensor.reshape Tensor.size Tensor.dim Tensor.numel
Tensor.contiguous Tensor.clone Tensor.copy_ Tensor.zero_ Tensor.fill_ Tensor.normal_
Tensor.uniform_ Tensor.add_ Tensor.mul_ Tensor.sub_ Tensor.div_ Tensor.clamp_
Tensor.requires_grad_ Tensor.register_hook Tensor.retain_grad Tensor._data Tensor.grad
Tensor.shape Tensor.dtype Tensor.device Tensor.T Tensor.mT Tensor.expand Tensor.expand_as
Tensor.repeat Tensor.masked_fill Tensor.masked_fill_ Tensor.index_select Tensor.gather
Tensor.scatter_ Tensor.scatter_add_ Tensor.argmax Tensor.max Tensor.sum Tensor.mean
Tensor.std Tensor.pow Tensor.sqrt Tensor.exp Tensor.log Tensor.abs Tensor.softmax
Tensor.type Tensor.type_as Tensor.new_zeros Tensor.new_ones Tensor.new_tensor
Tensor.is_cuda Tensor.unfold Tensor.split Tensor.chunk Tensor.unbind Tensor.flip
Tensor.squeeze Tensor.unsqueeze Tensor.permute Tensor.transpose Tensor.flatten Tensor.topk
Tensor.sort Tensor.eq Tensor.ne Tensor.lt Tensor.gt Tensor.any Tensor.all Tensor.nonzero
Tensor.apply_ Tensor.element_size Tensor.is_leaf Tensor.grad_fn Tensor.__format__
"""


def resolve(root: object, path: str) -> bool:
    obj = root
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - any failure to resolve counts as missing
            return False
    return True


# Names with no meaning without PyTorch's C++ backends, left out of the --full count.
_BACKEND_ONLY = (
    "quantiz",
    "quantized",
    "q_",
    "qscheme",
    "int_repr",
    "dequantize",
    "fake_quantize",
    "sparse",
    "_coo",
    "_csr",
    "_csc",
    "_bsr",
    "_bsc",
    "indices",
    "values",
    "coalesce",
    "cudnn",
    "mkldnn",
    "miopen",
    "fbgemm",
    "sym_",
    "is_vulkan",
    "vulkan",
    "xpu",
    "ipu",
    "mtia",
    "maia",
    "xla",
    "hpu",
    "_copy",
    "autocast_",
    "autocast",
    "import_ir",
    "parse_",
    "jit",
    "fork",
    "wait",
    "merge_type",
    "unify_type",
    "classproperty",
    "compiled_with",
    "from_file",
    "storage",
    "nested",
    "to_padded",
    "pin_memory",
    "record_stream",
    "share_memory",
    "is_shared",
    "data_ptr",
    "untyped",
    "dim_order",
    "module_load",
    "is_meta",
    "is_distributed",
    "set_",
    "hash_tensor",
    "conv_tbc",
    "native_",
    "_batch_norm_impl",
    "batch_norm_",
    "segment_reduce",
    "dsmm",
    "hsmm",
    "hspmm",
    "smm",
    "spmm",
    "saddmm",
    "sspaddmm",
    "profiler",
    "get_device_module",
    "prepare_multiprocessing",
    "thread_safe",
    "grouped_mm",
    "scaled_mm",
    "scaled_grouped_mm",
    "ScalingType",
    "SwizzleType",
    "DType",
    "handle_torch_function",
    "has_torch_function",
    "boolean_dispatch",
    "assert_int_or_pair",
)


# TorchScript, dispatcher and storage classes at torch's top level (C++ runtime types).
_CPP_CLASS_SUFFIXES = ("Storage", "Type", "Context", "Iterator", "Logger", "Error", "Exception")
_CPP_CLASSES = frozenset(
    "AggregationType AliasDb Argument ArgumentSpec BFloat16Tensor BenchmarkConfig "
    "BenchmarkExecutionStats Block BufferDict CallStack Capsule Code CompilationUnit "
    "CompleteArgumentSpec ConcreteModuleTypeBuilder DeepCopyMemoTable DispatchKey "
    "DispatchKeySet ErrorReport ExcludeDispatchKeyGuard ExecutionPlan FileCheck "
    "FunctionSchema Future Gradient Graph GraphExecutorState IODescriptor LiteScriptModule "
    "ModuleDict Node OperatorInfo ParameterDict PyTorchFileReader PyTorchFileWriter "
    "ScriptClass ScriptClassFunction ScriptDict ScriptFunction ScriptList ScriptMethod "
    "ScriptModule ScriptModuleSerializer ScriptObject ScriptObjectProperty StaticModule "
    "SymBool SymFloat SymInt Tag TracingState Use Value Event Stream GradScaler".split()
)


def _public(obj: object, callables_only: bool = True) -> list[str]:
    out = []
    for n in dir(obj):
        if n.startswith("_") or any(tag in n for tag in _BACKEND_ONLY):
            continue
        value = getattr(obj, n, None)
        if callables_only and not callable(value):
            continue
        if isinstance(value, type(importlib)):  # submodules
            continue
        module = getattr(value, "__module__", None) or "torch"
        if not module.startswith("torch"):  # typing / functools names a module imports
            continue
        if isinstance(value, type) and (
            module.startswith("torch._C")
            or n.endswith(_CPP_CLASS_SUFFIXES)
            or n in _CPP_CLASSES
            or (n == "Tensor" and obj.__name__ != "torch")  # torch.Tensor imported elsewhere
        ):  # TorchScript / C++ runtime classes
            continue
        out.append(n)
    return out


def full_report(show_missing: bool) -> None:
    """Namespace-by-namespace coverage of the installed PyTorch's public names."""
    import torch  # test-only dependency: this report needs it installed
    import torch.nn.attention  # noqa: F401 - submodules torch does not import itself
    import torch.profiler  # noqa: F401
    import torch.signal.windows  # noqa: F401
    import torch.utils.checkpoint  # noqa: F401
    import torch.utils.model_zoo  # noqa: F401

    import chainrule as cr

    pairs = [
        ("torch", torch, cr),
        ("torch.Tensor", torch.Tensor, cr.Tensor),
        ("torch.nn", torch.nn, cr.nn),
        ("torch.nn.functional", torch.nn.functional, cr.nn.functional),
        ("torch.nn.init", torch.nn.init, cr.nn.init),
        ("torch.nn.utils", torch.nn.utils, cr.nn.utils),
        ("torch.linalg", torch.linalg, cr.linalg),
        ("torch.special", torch.special, cr.special),
        ("torch.optim", torch.optim, cr.optim),
        ("torch.optim.lr_scheduler", torch.optim.lr_scheduler, cr.optim.lr_scheduler),
        ("torch.autograd", torch.autograd, cr.autograd),
        ("torch.autograd.forward_ad", torch.autograd.forward_ad, cr.autograd.forward_ad),
        ("torch.autograd.graph", torch.autograd.graph, cr.autograd.graph),
        ("torch.autograd.profiler", torch.autograd.profiler, cr.autograd.profiler),
        ("torch.profiler", torch.profiler, cr.profiler),
        ("torch.amp", torch.amp, cr.amp),
        ("torch.nn.attention", torch.nn.attention, cr.nn.attention),
        ("torch.func", torch.func, cr.func),
        ("torch.fft", torch.fft, cr.fft),
        ("torch.distributions", torch.distributions, cr.distributions),
        ("torch.testing", torch.testing, cr.testing),
        ("torch.utils.data", torch.utils.data, cr.utils.data),
        ("torch.utils.checkpoint", torch.utils.checkpoint, cr.utils.checkpoint),
        ("torch.nn.utils.rnn", torch.nn.utils.rnn, cr.nn.utils.rnn),
        ("torch.distributed", torch.distributed, cr.distributed),
        ("torch.multiprocessing", torch.multiprocessing, cr.multiprocessing),
        ("torch.hub", torch.hub, cr.hub),
        ("torch.utils.model_zoo", torch.utils.model_zoo, cr.utils.model_zoo),
        ("torch.jit", torch.jit, cr.jit),
        ("torch.library", torch.library, cr.library),
        ("torch.compiler", torch.compiler, cr.compiler),
        ("torch.cpu", torch.cpu, cr.cpu),
        ("torch.signal.windows", torch.signal.windows, cr.signal.windows),
    ]
    total = have_all = 0
    for label, tmod, cmod in pairs:
        names = _public(tmod)
        missing = [n for n in names if not hasattr(cmod, n)]
        have = len(names) - len(missing)
        total, have_all = total + len(names), have_all + have
        print(f"{label:28s} {have:4d} / {len(names):4d}")
        if show_missing and missing:
            print("    missing:", " ".join(missing))
    print(f"{'all':28s} {have_all:4d} / {total:4d} ({100 * have_all / total:.1f}%)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--missing", action="store_true", help="list the missing names")
    ap.add_argument("--full", action="store_true", help="also count every public torch name")
    args = ap.parse_args()
    import chainrule as cr

    names = COMMON_API.split()
    assert len(names) == len(set(names)), "duplicate entries"
    missing = []
    for name in names:
        if name.startswith(
            (
                "nn.",
                "optim.",
                "utils.",
                "distributed.",
                "func.",
                "linalg.",
                "amp.",
                "cuda.",
                "backends.",
                "autograd.",
            )
        ):
            top = name.split(".")[0]
            ok = resolve(importlib.import_module(f"chainrule.{top}"), name[len(top) + 1 :])
        else:
            ok = resolve(cr, name)
        if not ok:
            missing.append(name)
    have = len(names) - len(missing)
    share = 100 * have / len(names)
    print(f"chainrule has {have} of {len(names)} common PyTorch APIs ({share:.1f}%)")
    if args.missing or missing:
        print("missing:", " ".join(missing))
    if args.full:
        full_report(args.missing)


if __name__ == "__main__":
    main()
