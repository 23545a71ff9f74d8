"""Alice's initialisers: all correct, sampled with torch.rand / torch.randn and an affine map.

Another right way than the reference's tensor.uniform_ / tensor.normal_: draw standard samples
in the tensor's dtype and on its device from the generator, scale and shift them, and copy them
into the tensor without recording history.
"""
import math

import torch


def _fill(tensor, values):
    with torch.no_grad():
        tensor.copy_(values)
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    u = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    return _fill(tensor, a + (b - a) * u)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    z = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    return _fill(tensor, mean + std * z)


def zeros_(tensor):
    with torch.no_grad():
        tensor.zero_()
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


def constant_(tensor, val):
    with torch.no_grad():
        tensor[...] = val
    return tensor


def fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(f"fans need at least 2 dimensions, got a tensor of shape {tuple(tensor.shape)}")
    receptive = 1
    for size in tensor.shape[2:]:
        receptive *= size
    return tensor.size(1) * receptive, tensor.size(0) * receptive


GAINS = {"linear": 1, "conv1d": 1, "conv2d": 1, "conv3d": 1, "conv_transpose1d": 1, "conv_transpose2d": 1,
         "conv_transpose3d": 1, "sigmoid": 1, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0) / math.sqrt(1 + slope * slope)
    if nonlinearity not in GAINS:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    return GAINS[nonlinearity]


def _std(tensor, a, mode, nonlinearity):
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return normal_(tensor, 0.0, _std(tensor, a, mode, nonlinearity), generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    bound = math.sqrt(3.0) * _std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)
