import torch


def log_sum_exp(x):
    top = x.max(dim=-1, keepdim=True).values
    return (top + torch.log(torch.exp(x - top).sum(dim=-1, keepdim=True))).squeeze(-1)
