"""A CUDA device simulated on the CPU, for the device check on a machine without a GPU.

A tensor of the model says it is on `cuda:0` and holds real numbers on the CPU. Every operator that
reaches it is checked as CUDA's kernels check devices, then run on the CPU:

- operands on two devices fail with CUDA's own message ("Expected all tensors to be on the same
  device, but found at least two devices, cuda:0 and cpu!"); a 0-dim CPU tensor is taken as a scalar
  where CUDA takes one;
- a result is on the model's device when an operand is, or when `device=` names cuda
  (`torch.zeros_like(x)`, `torch.ones(n, device=x.device)`, `x.new_ones(n)`); `.cpu()`, `.to("cpu")`,
  `torch.tensor(...)` and every factory without a device give a plain CPU tensor, as on a GPU;
- `.numpy()` fails as on a GPU; `.item()`, `.tolist()` and data-dependent shapes (`x[x > 0]`)
  work, since the numbers are real;
- a random operator on the model needs a generator of the model (`torch.Generator(device=x.device)`
  gives one) and refuses a CPU generator, with CUDA's message; a CPU operator refuses the model's;
- in-place view operators (`x.t_()`, `x.unsqueeze_(0)`, `x.resize_(n)`) change the shape the tensor
  reports as well as its numbers.

So a function gets the same verdict here as on a GPU, unlike the `meta` device, which holds no
numbers and cannot run `.item()` or `.cpu().numpy()`.
"""
from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from ..encode import encode_value

#: The device a model tensor is on underneath. torch built without CUDA cannot make a tensor that is on
#: "cuda" pass through indexing or a device guard, so it is on "meta"; to the learner's Python code it
#: says cuda:0 (SHOWN), and device arguments naming CUDA are turned into this one before torch sees them.
DEVICE = torch.device("meta")
SHOWN = torch.device("cuda", 0)
MISMATCH = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
NUMPY = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host "
         "memory first.")

FORWARD_AD = ("forward-mode automatic differentiation (torch.func.jvp, torch.autograd.forward_ad) cannot run on "
              "the GPU this machine simulates; the device check needs a GPU machine for it")

#: Bound before any learner code runs: the learner's torch._C._DisableTorchDispatch is a watched one.
_NO_DISPATCH = torch._C._DisableTorchDispatch

GENERATOR_ON_CPU = "Expected a 'cuda' device type for generator but found 'cpu'"
GENERATOR_ON_MODEL = "Expected a 'cpu' device type for generator but found 'cuda'"

#: Operators that move data between devices: they take operands on both.
_COPIES = {"copy_", "_to_copy", "to", "_copy_from", "_copy_from_and_resize", "copy"}
#: Operators whose CUDA kernel refuses even a 0-dim CPU tensor (it is no TensorIterator scalar there).
_NO_CPU_SCALAR = {"logaddexp", "logaddexp2", "index_select", "gather", "scatter", "scatter_add", "take",
                  "masked_select", "cat", "stack", "mm", "matmul", "bmm",
                  "addmm", "dot", "mv", "outer", "embedding"}

#: Operators whose index tensors may stay on the CPU (CUDA moves them): the second argument.
_CPU_INDICES = {"index", "index_put", "index_put_", "_index_put_impl_", "_unsafe_index", "_unsafe_index_put"}


class ModelTensor(torch.Tensor):
    """A tensor that says it is on cuda:0 and keeps its numbers in `inner`, a CPU tensor."""

    inner: torch.Tensor

    @staticmethod
    def __new__(cls, inner: torch.Tensor) -> "ModelTensor":
        made = torch.Tensor._make_wrapper_subclass(  # type: ignore[attr-defined]
            cls, inner.size(), strides=inner.stride(), storage_offset=inner.storage_offset(),
            dtype=inner.dtype, layout=inner.layout, device=DEVICE, requires_grad=inner.requires_grad)
        made.inner = inner
        return made

    __torch_function__ = torch._C._disabled_torch_function_impl

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return run_operator(func, args, kwargs or {})

    def __repr__(self, *, tensor_contents: Any = None) -> str:  # type: ignore[override]
        return repr(self.inner)[:-1] + ", device='cuda:0')"  # what the learner would see on a GPU

    def numpy(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        raise TypeError(NUMPY)

    def __array__(self, *args: Any, **kwargs: Any):
        raise TypeError(NUMPY)

    def tolist(self) -> Any:  # type: ignore[override]
        return self.inner.tolist()  # copies to the host, as on a GPU

    @property
    def is_meta(self) -> bool:  # type: ignore[override]
        """torch.nn.init returns early for meta tensors (trunc_normal_, orthogonal_, sparse_): a GPU's do not."""
        return False

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return SHOWN

    @property
    def is_cuda(self) -> bool:  # type: ignore[override]
        return True

    def get_device(self) -> int:  # type: ignore[override]
        return 0


_GENERATOR = torch.Generator
_MODEL_GENERATORS: "weakref.WeakValueDictionary[int, torch.Generator]" = weakref.WeakValueDictionary()


class ModelGenerator(_GENERATOR):
    """A generator of the simulated GPU: it draws on the CPU and says it is on the model's device.

    An operator sees a fresh Python object for the same generator, so the model knows its generators
    by the address of the generator underneath (`_cdata`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _MODEL_GENERATORS[self._cdata] = self

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return SHOWN


class _GeneratorClass(type(_GENERATOR)):  # type: ignore[misc]
    """torch.Generator as the learner sees it: asked for the model's device it makes a ModelGenerator
    (where torch would say the meta device has no generator); otherwise it is torch's own."""

    def __call__(cls, device: Any = "cpu") -> torch.Generator:
        on_model = _names_device(device, DEVICE.type) or (_MODEL_ACTIVE and _names_cuda(device))
        return ModelGenerator() if on_model else _GENERATOR(device)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, _GENERATOR)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _GENERATOR)


class Generator(_GENERATOR, metaclass=_GeneratorClass):
    __doc__ = _GENERATOR.__doc__


def install_generator_model() -> None:
    """Make torch.Generator the model-aware class before the learner's modules are imported, so an
    alias taken at import (`from torch import Generator`) is the same class."""
    torch.Generator = Generator  # type: ignore[misc]


def _check_generators(flat: list, on_model: bool) -> None:
    for value in flat:
        if isinstance(value, _GENERATOR):
            of_model = value._cdata in _MODEL_GENERATORS
            if on_model and not of_model:
                raise RuntimeError(GENERATOR_ON_CPU)
            if not on_model and of_model:
                raise RuntimeError(GENERATOR_ON_MODEL)


def _changes_metadata(func) -> bool:
    return torch.Tag.inplace_view in func.tags or func.overloadpacket.__name__ in ("resize_", "squeeze_")


def _names_device(device: Any, kind: str) -> bool:
    """Whether a device argument (a name, a torch.device) is of type `kind`; never raises."""
    if isinstance(device, bool) or not isinstance(device, (str, torch.device)):
        return False
    try:
        return torch.device(device).type == kind
    except (RuntimeError, TypeError, ValueError):
        return False


def _names_cuda(device: Any) -> bool:
    """`"cuda"`, `"cuda:0"`, `0`, `torch.device("cuda")`: a device argument naming CUDA."""
    if isinstance(device, int) and not isinstance(device, bool):
        return device >= 0  # an index names the accelerator, which is the GPU here (torch.device(0) would fail)
    return _names_device(device, "cuda")


def encode_shown(value: Any) -> dict[str, Any]:
    """`encode_value`, with a model tensor's device as the learner sees it (encode reads the real one, meta)."""
    record = encode_value(value)
    if isinstance(value, ModelTensor):
        record["device"] = str(SHOWN)
    return record


def _on_model(value: Any) -> Any:
    return DEVICE if _names_cuda(value) else value


def _is_cuda(device: Any) -> bool:
    try:
        return torch.device(device).type in ("cuda", DEVICE.type)
    except (RuntimeError, TypeError):
        return False


def run_operator(func, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Check the operands' devices as CUDA would, run on the CPU, put the result on its device."""
    flat = pytree.tree_leaves((args, kwargs))
    on_model = any(isinstance(a, ModelTensor) for a in flat)
    name = func.overloadpacket.__name__
    if on_model and name not in _COPIES:
        operands = flat
        if name in _CPU_INDICES and len(args) > 1:  # x[cpu_index] works on a GPU: indices are moved
            indices = {id(t) for t in pytree.tree_leaves(args[1])}
            operands = [t for t in flat if id(t) not in indices]
        for t in operands:
            if isinstance(t, torch.Tensor) and not isinstance(t, ModelTensor):
                if t.dim() == 0 and name not in _NO_CPU_SCALAR:
                    continue  # a CPU scalar, as CUDA's element-wise kernels take one
                raise RuntimeError(MISMATCH)
    target = kwargs.get("device")
    if target is not None:
        to_model = _is_cuda(target)
        if to_model:
            kwargs = dict(kwargs, device=torch.device("cpu"))
    else:
        to_model = on_model
    _check_generators(flat, on_model or to_model)
    plain_args, plain_kwargs = pytree.tree_map_only(ModelTensor, lambda t: t.inner, (args, kwargs))
    out = func(*plain_args, **plain_kwargs)
    if args and isinstance(args[0], ModelTensor) and _changes_metadata(func):
        with _NO_DISPATCH():  # the same view change on the wrapper's own (meta) shape
            func(*args, **kwargs)
    originals = {id(t.inner): t for t in flat if isinstance(t, ModelTensor)}

    def place(value: Any) -> Any:
        if not isinstance(value, torch.Tensor):
            return value
        if id(value) in originals:  # an in-place operator returns its operand
            return originals[id(value)]
        return ModelTensor(value) if to_model else value

    return pytree.tree_map(place, out)


class _Operators(TorchDispatchMode):
    """Factories asked for the model's device make model tensors (torch.ones(n, device=x.device))."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return run_operator(func, args, kwargs or {})


_DATA_FACTORIES = (torch.tensor, torch.as_tensor, torch.asarray)


class _DataFactories(TorchFunctionMode):
    """torch.tensor(data, device=x.device) and x.new_tensor(data) build on the CPU without reaching the
    dispatcher: they are made here, on the CPU, and put on the model's device."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.device:  # a device object is only a name: torch.device("cuda") stays CUDA's
            return func(*args, **kwargs)
        if "device" in kwargs:
            kwargs = dict(kwargs, device=_on_model(kwargs["device"]))
        if func is torch.Tensor.to:
            args = tuple(_on_model(a) for a in args)
        elif func is torch.Tensor.cuda:
            return args[0].to(DEVICE)
        if getattr(func, "__name__", "") == "_make_dual":
            # forward-mode AD on a tensor subclass crashes torch 2.13 (a segmentation fault): refused here
            raise NotImplementedError(FORWARD_AD)
        if func in _DATA_FACTORIES and _is_cuda(kwargs.get("device")):
            return ModelTensor(func(*args, **dict(kwargs, device="cpu")))
        if func is torch.Tensor.new_tensor and args and isinstance(args[0], ModelTensor):
            device = kwargs.get("device")
            if device is None or _is_cuda(device):
                return ModelTensor(func(args[0].inner, *args[1:], **dict(kwargs, device="cpu")))
        return func(*args, **kwargs)


_MODEL_ACTIVE = False


class CudaModel:
    """While active, the learner's code runs against the simulated GPU."""

    def __enter__(self) -> "CudaModel":
        global _MODEL_ACTIVE
        self._modes = (_DataFactories(), _Operators())
        for mode in self._modes:
            mode.__enter__()
        self._was_active, _MODEL_ACTIVE = _MODEL_ACTIVE, True
        return self

    def __exit__(self, *exc: Any) -> None:
        global _MODEL_ACTIVE
        _MODEL_ACTIVE = self._was_active
        for mode in reversed(self._modes):
            mode.__exit__(*exc)


def to_model(value: Any) -> Any:
    """The argument as the function sees it on the simulated GPU."""
    return ModelTensor(value.detach().clone()) if isinstance(value, torch.Tensor) else value
