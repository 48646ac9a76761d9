r"""Monte Carlo of the residual chain: the layers of one block of chains, the product kept as mantissa × 2^E.

Post-activation branch: :math:`v_t = w_t y_{t-1} + b_t`, :math:`y_t = y_{t-1} + \alpha\varphi(v_t)`, factor
:math:`u_t = 1 + \alpha w_t\varphi'(v_t)`; pre-activation branch: :math:`y_t = y_{t-1} + \alpha(w_t\varphi(y_{t-1})
+ b_t)`, factor :math:`u_t = 1 + \alpha w_t\varphi'(y_{t-1})`. Each factor is split exactly by ``frexp`` into the
running product's mantissa and integer exponent (:class:`analytic.mc.chain._Product`), so no depth under- or
overflows and an exact zero stays zero. The random streams, blocks and their merging are those of
:mod:`analytic.mc.chain`, so the numbers do not depend on the number of threads.

>>> from analytic.architecture import residual
>>> from analytic.mc.chain import simulate_chain
>>> s = simulate_chain("identity", 3, "constant(1)", samples=100, architecture=residual(1))
>>> round(s.mean.value, 12)   # (1 + 1)^3, every chain alike
8.0
"""
from __future__ import annotations

import numpy as np


def residual_layers(s, kernel, rw, rb, prod, y: np.ndarray, broken: np.ndarray, bar_step, renorm: int,
                    rows: int) -> None:
    """Run the ``s.depth`` residual blocks of one block of chains (``s.residual`` = (alpha, branch)), multiplying
    every factor into ``prod``; ``broken`` marks chains whose forward pass overflowed."""
    alpha, branch = s.residual
    b = y.size
    v, ph, d, t, u = (np.empty(b) for _ in range(5))
    m, mant, ex, acc = prod.m, prod.mant, prod.exp, prod.acc
    rows = max(1, min(rows, s.chunk // b))
    done = 0
    while done < s.depth:
        k = min(rows, s.depth - done)
        W = s.weights.sample(rw, (k, b))
        B = s.bias.sample(rb, (k, b)) if s.bias is not None else None
        for row in range(k):
            w = W[row]
            if branch == "post":
                np.multiply(w, y, out=v)
                if B is not None:
                    np.add(v, B[row], out=v)
                kernel(v, ph, d, t)
                np.multiply(ph, alpha, out=ph)
            else:
                kernel(y, ph, d, t)
                np.multiply(w, ph, out=ph)
                if B is not None:
                    np.add(ph, B[row], out=ph)
                np.multiply(ph, alpha, out=ph)
            np.multiply(w, d, out=u)
            np.multiply(u, alpha, out=u)
            np.add(u, 1.0, out=u)
            np.add(y, ph, out=y)
            if not np.isfinite(np.add.reduce(y)):
                broken |= ~np.isfinite(y)
            np.frexp(u, out=(mant, ex))
            np.multiply(m, mant, out=m)
            np.add(acc, ex, out=acc)
            prod.layers += 1
            if prod.layers % renorm == 0:
                prod.renormalise()
        done += k
        bar_step(k * b)
    prod.renormalise()
