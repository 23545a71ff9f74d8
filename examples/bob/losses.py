"""Bob's losses: one right, one wrong."""
import torch
import torch.nn.functional as F


def bce_loss(p, target):
    log_p = torch.log(p).clamp(min=-100)
    log_q = torch.log(1 - p).clamp(min=-100)
    # MISTAKE: sums instead of averaging (values).
    return -(target * log_p + (1 - target) * log_q).sum()


def cross_entropy(logits, target):
    # MISTAKE: calls the built-in it was asked to write (forbid).
    return F.cross_entropy(logits, target)
