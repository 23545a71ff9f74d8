"""The device check gives the verdict a GPU would give, on a machine without one.

The cases run on a GPU simulated on the CPU (grader.probes.cuda_model), never on the meta device
with "counted as passed": a result brought back to the CPU fails as it does on a GPU, and correct
code that needs the numbers (.item(), masks) passes as it does on a GPU.
"""
from __future__ import annotations

import pytest
import torch

from conftest import check_of
from grader.probes.cuda_model import CudaModel, ModelTensor, to_model

STABLE = """
import torch
def _sigmoid(x):
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
"""


@pytest.mark.parametrize("body", [
    "return torch.from_numpy(_sigmoid(x).cpu().numpy())",
    "return torch.tensor(_sigmoid(x).tolist(), dtype=x.dtype)",
    "return _sigmoid(x).cpu()",
])
def test_a_sigmoid_whose_result_is_always_on_the_cpu_fails_the_device_check(grade_files, body):
    result = grade_files({"activations.py": STABLE + "def sigmoid(x):\n    " + body + "\n"}, exercises=["sigmoid"])
    device = check_of(result, "sigmoid", "device")
    assert device.status == "failed"
    assert "on cpu" in device.feedback


def test_a_loss_rebuilt_from_item_fails_the_device_check(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def bce_loss(p, target):
            logs = target * torch.log(p).clamp_min(-100) + (1 - target) * torch.log(1 - p).clamp_min(-100)
            return torch.tensor(-logs.mean().item(), dtype=p.dtype, requires_grad=True)
    """}, exercises=["bce_loss"])
    assert check_of(result, "bce_loss", "device").status == "failed"


def test_code_that_turns_the_device_error_into_another_error_fails(grade_files):
    result = grade_files({"activations.py": STABLE + """
def sigmoid(x):
    try:
        return _sigmoid(x) * torch.ones(x.shape, dtype=x.dtype)
    except RuntimeError:
        raise ValueError("something else")
"""}, exercises=["sigmoid"])
    device = check_of(result, "sigmoid", "device")
    assert device.status == "failed" and "ValueError" in device.feedback


def test_correct_code_that_reads_numbers_passes_the_device_check(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def bce_loss(p, target):
            if float(p.min().item()) < 0:
                raise ValueError("p must be a probability")
            keep = p[p >= 0]  # a data-dependent shape
            logs = target * torch.log(p).clamp_min(-100) + (1 - target) * torch.log(1 - p).clamp_min(-100)
            return -logs.mean() + 0 * keep.sum()
    """}, exercises=["bce_loss"])
    assert check_of(result, "bce_loss", "device").status == "passed"


def test_the_model_checks_devices_as_cuda_does():
    x = to_model(torch.linspace(-1, 1, 6).reshape(2, 3))
    with CudaModel():
        assert isinstance(torch.zeros_like(x) + x, ModelTensor)
        assert isinstance(torch.ones(3, device=x.device) + x, ModelTensor)
        assert isinstance(x + torch.tensor(1.0), ModelTensor)  # a CPU scalar, as CUDA takes one
        assert isinstance(x[torch.arange(2), torch.zeros(2, dtype=torch.long)], ModelTensor)  # CPU indices move
        assert isinstance(x + torch.tensor([1.0, 2.0, 3.0], device=x.device), ModelTensor)
        assert not isinstance(x.cpu(), ModelTensor)
        assert x.sum().item() == pytest.approx(0.0, abs=1e-6)
        with pytest.raises(RuntimeError, match="same device"):
            torch.ones(2, 3) + x
        with pytest.raises(RuntimeError, match="same device"):
            x.gather(1, torch.zeros(2, 1, dtype=torch.long))
        with pytest.raises(TypeError, match="numpy"):
            x.numpy()


def test_the_model_refuses_a_cpu_generator_however_it_reaches_the_operator():
    from grader.probes.cuda_model import Generator
    x = to_model(torch.ones(3, 3))
    calls = {"positional (aten.poisson)": lambda g: torch.poisson(x, generator=g),
             "keyword (aten.uniform_)": lambda g: x.uniform_(generator=g),
             "a factory (torch.rand)": lambda g: torch.rand(3, generator=g, device=x.device),
             "trunc_normal_, which skips meta tensors": lambda g: torch.nn.init.trunc_normal_(x, generator=g),
             "orthogonal_, which skips meta tensors": lambda g: torch.nn.init.orthogonal_(x, generator=g)}
    for name, call in calls.items():
        with CudaModel(), pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator"):
            call(torch.Generator())
        with CudaModel():
            call(None)                                   # no generator of its own: fine on a GPU, fine here
            call(Generator(device=x.device).manual_seed(0))  # a generator of the tensor's device: fine too
            call(Generator(device=x.get_device()).manual_seed(0))  # … named by its index, as on a GPU
    with CudaModel(), pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator"):
        torch.ones(3).uniform_(generator=Generator(device=x.device))


def test_the_models_generator_class_is_torchs_for_everything_else():
    from grader.probes.cuda_model import Generator
    assert isinstance(torch.default_generator, Generator) and isinstance(Generator(), torch._C.Generator)
    assert type(Generator()) is torch._C.Generator and Generator(device="cpu").device == torch.device("cpu")
    one, two = Generator().manual_seed(5), torch._C.Generator().manual_seed(5)
    assert torch.equal(torch.rand(4, generator=one), torch.rand(4, generator=two))


@pytest.mark.parametrize("change", ["t_()", "unsqueeze_(0)", "unsqueeze_(0).squeeze_()", "resize_(6)", "transpose_(0, 1)",
                                    "as_strided_((3, 2), (1, 3))"])
def test_an_in_place_view_changes_the_shape_the_model_reports(change):
    plain, model = torch.arange(6.0).reshape(2, 3), to_model(torch.arange(6.0).reshape(2, 3))
    with CudaModel():
        eval(f"model.{change}")
        assert type(model) is ModelTensor
    eval(f"plain.{change}")
    assert model.shape == model.inner.shape == plain.shape
    assert model.stride() == model.inner.stride() == plain.stride()
    assert torch.equal(model.inner, plain)


@pytest.mark.parametrize("made_on", [
    'x.get_device() if x.is_cuda else "cpu"',
    '"cuda" if x.device.type == "cuda" else "cpu"',
    'torch.device("cuda", 0) if x.is_cuda else torch.device("cpu")',
    'str(x.device)',
])
def test_code_that_reads_what_a_gpu_tensor_says_of_itself_passes(grade_files, made_on):
    # right on a GPU (x.device is cuda:0, x.is_cuda, x.get_device() == 0): right on the simulated one too
    result = grade_files({"activations.py": f"""
        import torch
        def relu(x):
            zero = torch.zeros(x.shape, dtype=x.dtype, device={made_on})
            return torch.where(x > zero, x, zero)
    """}, exercises=["relu"])
    assert check_of(result, "relu", "device").status == "passed", check_of(result, "relu", "device").feedback


def test_a_model_tensor_says_what_a_gpu_tensor_says():
    x = to_model(torch.ones(2))
    assert (x.device, x.is_cuda, x.get_device(), x.is_meta) == (torch.device("cuda", 0), True, 0, False)
    with CudaModel():
        for made in (torch.zeros(2, device="cuda"), torch.zeros(2, device=0), torch.ones(2).to("cuda"),
                     torch.ones(2).cuda(), torch.ones(2).to(x.device), torch.ones(2, device=x.device)):
            assert type(made) is ModelTensor
        assert torch.device("cuda") == torch.device("cuda")  # a device object is only a name
        assert type(torch.ones(2).to("cpu")) is torch.Tensor
