"""VectorAdam: Adam whose second moment is taken per vector, not per coordinate.

For a parameter whose last dimension holds a vector (a translation, an axis-angle), Adam's
per-coordinate normalisation moves every coordinate by about the learning rate whatever the
size of its gradient, so a direction the image barely constrains (depth, out-of-plane
rotation) drifts as fast as a well-constrained one. Normalising by the vector's gradient norm
(Ling, Sharp and Jacobson, 2022) keeps the gradient's direction and makes the step
rotation-equivariant:

    m <- b1 m + (1 - b1) g                        g, m: [..., D]
    v <- b2 v + (1 - b2) |g|^2                    v: [..., 1]
    p <- p - lr * (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
"""

from __future__ import annotations

import torch


class VectorAdam(torch.optim.Optimizer):
    """Adam with the second moment per vector (the last dimension); parameter groups as Adam."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p[..., :1])
                state["step"] += 1
                k, g = state["step"], p.grad
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).add_((g * g).sum(-1, keepdim=True), alpha=1 - b2)
                m_hat = state["m"] / (1 - b1 ** k)
                v_hat = state["v"] / (1 - b2 ** k)
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


__all__ = ["VectorAdam"]
