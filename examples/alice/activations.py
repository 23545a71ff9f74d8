"""Alice's activations: correct, in a different style from the teacher's (masks, where, detached shifts)."""
import torch


def sigmoid(x):
    # Two safe halves: exp only ever sees a clamped, non-positive argument.
    positive = 1.0 / (1.0 + torch.exp(-x.clamp(min=0)))
    ex = torch.exp(x.clamp(max=0))
    negative = ex / (1.0 + ex)
    return torch.where(x >= 0, positive, negative)


def sigmoid_grad(x):
    s = sigmoid(x)
    return s - s * s


def neuron(x, w, b):
    return sigmoid(torch.matmul(x, w) + b)


def tanh(x):
    # tanh is a stretched, shifted sigmoid.
    return 2.0 * sigmoid(2.0 * x) - 1.0


def tanh_grad(x):
    return 1.0 - tanh(x).pow(2)


def relu(x):
    # Multiplying by the mask keeps relu's gradient at 0 at 0, as torch.relu's (clamp would give 1).
    return x * (x > 0)


def relu_grad(x):
    return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))


def leaky_relu(x, negative_slope=0.01):
    # torch.where of two Python numbers is float32: .to(x.dtype) keeps a float16 x float16
    return x * torch.where(x > 0, 1.0, negative_slope).to(x.dtype)


def leaky_relu_grad(x, negative_slope=0.01):
    g = torch.full_like(x, negative_slope)
    return g.masked_fill(x > 0, 1.0)


def prelu(x, weight):
    # Put the slopes on dimension 1 and let broadcasting do the rest.
    if x.dim() >= 2 and weight.numel() != 1:
        shape = [1] * x.dim()
        shape[1] = -1
        weight = weight.view(shape)
    elif weight.numel() == 1:
        weight = weight.view([])
    return torch.where(x > 0, x, weight * x)


def softmax(x, dim=-1):
    # The shift is a constant for autograd: softmax does not depend on it.
    shift = x.max(dim=dim, keepdim=True).values.detach()
    e = (x - shift).exp()
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    s = softmax(x, dim=0)
    return torch.diag_embed(s) - s[:, None] * s[None, :]
