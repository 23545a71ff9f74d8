"""Bob's initialisers: mostly right, with the mistakes students typically make.

Each mistake is marked with a MISTAKE comment and costs only the checks of its own exercise
(Bob's kaiming and xavier use a private, correct fan helper, so his wrong fan_in_and_fan_out
costs that exercise alone).
"""
import math

import torch


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    # MISTAKE: returns a new tensor and leaves the given one as it was (in_place): model.weight
    # would keep its old values.
    return a + (b - a) * torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    # MISTAKE: ignores generator, so seeding one does not make the weights reproducible (generator).
    with torch.no_grad():
        return tensor.normal_(mean, std)


def zeros_(tensor):
    # MISTAKE: calls the routine the exercise asks for (forbid_function).
    return torch.nn.init.zeros_(tensor)


def ones_(tensor):
    with torch.no_grad():
        tensor.data.fill_(1.0)
    return tensor


def constant_(tensor, val):
    # MISTAKE: no torch.no_grad(), so filling a Parameter that requires grad raises (in_place, device).
    return tensor.fill_(val)


def fan_in_and_fan_out(tensor):
    # MISTAKE: ignores the receptive field of conv weights (exact), and returns nonsense instead
    # of raising ValueError for a 1-D tensor (too_few_dims: IndexError).
    return tensor.shape[1], tensor.shape[0]


def calculate_gain(nonlinearity, param=None):
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        # MISTAKE: a slope that is not a number (param="0.2") raises TypeError at slope**2, not
        # ValueError (unsupported).
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 0.75
    if nonlinearity in ("linear", "sigmoid", "tanh") or nonlinearity.startswith("conv"):
        # MISTAKE: tanh's gain is 5/3, not 1 (exact).
        return 1.0
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fans(tensor):
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _gain(nonlinearity, a):
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a**2))
    return {"relu": math.sqrt(2.0), "tanh": 5.0 / 3, "selu": 0.75}.get(nonlinearity, 1.0)


def kaiming_normal_(tensor, a=0.0, mode="fan_out", nonlinearity="leaky_relu", generator=None):
    # MISTAKE: fan_out as the default mode; torch's default is fan_in (distribution, conv).
    fan_in, fan_out = _fans(tensor)
    std = _gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    # MISTAKE: uses the std as the bound; U(-b, b) has std b/√3, so bound = √3 · std (distribution, conv).
    fan_in, fan_out = _fans(tensor)
    bound = _gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    # MISTAKE: misses the factor 2: std = gain · √(2 / (fan_in + fan_out)) (distribution, conv).
    fan_in, fan_out = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0.0, gain * math.sqrt(1.0 / (fan_in + fan_out)), generator=generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    # MISTAKE: draws one row and copies it into every row, so all units start equal and stay equal
    # (distribution: repeated values; conv).
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    row = torch.empty(tensor.shape[1:], dtype=tensor.dtype, device=tensor.device)
    row.uniform_(-bound, bound, generator=generator)
    with torch.no_grad():
        tensor.copy_(row.expand_as(tensor))
    return tensor
