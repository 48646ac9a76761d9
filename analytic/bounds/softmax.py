r"""Bounds on the softmax Jacobian :math:`J = \operatorname{diag}(s) - s s^\top`, proved by hand for every
size :math:`n \ge 2` (structured proof steps)."""
from __future__ import annotations

import sympy as sp

from .proof import Math, step
from .result import Extremum, SoftmaxJacobianBounds

__all__ = ["softmax_jacobian_bounds"]

SOFTMAX_JACOBIAN = Math(None, "J = diag(s) − s sᵀ", r"J = \operatorname{diag}(s) - s s^{\top}")


def softmax_jacobian_bounds() -> SoftmaxJacobianBounds:
    r"""Bounds on :math:`J = \partial s/\partial z = \operatorname{diag}(s) - s s^\top`, for every size :math:`n \ge 2`.

    :math:`0 < J_{ii} \le 1/4` (attained iff :math:`s_i = 1/2`), :math:`-1/4 \le J_{ij} < 0` for :math:`i \ne j`
    (attained only for :math:`n = 2`), and :math:`\|J\|_2 \le 1/2` (attained for :math:`n = 2`).

    >>> softmax_jacobian_bounds().spectral_norm.exact
    1/2
    """
    q, h = sp.Rational(1, 4), sp.Rational(1, 2)
    diag = Extremum(q, 0.25, 0.25, True, "s_i = 1/2 (z_i = log Σ_{j≠i} e^{z_j})")
    off = Extremum(-q, -0.25, -0.25, True, "n = 2, z_1 = z_2 (for n ≥ 3 approached as s → (1/2, 1/2, 0, …))")
    norm = Extremum(h, 0.5, 0.5, True, "n = 2, z_1 = z_2 (for n ≥ 3 approached as s → (1/2, 1/2, 0, …))")
    M = Math
    proof = (
        step("For finite z and n ≥ 2, every ", M(None, "s_k = e^{z_k}/Σ_j e^{z_j}", r"s_k = e^{z_k}/\sum_j e^{z_j}"),
             " lies in (0, 1) and ", M(None, "Σ_k s_k = 1", r"\sum_k s_k = 1"), "."),
        step("Diagonal: ", M(None, "∂s_i/∂z_i = s_i(1−s_i) = 1/4 − (s_i−1/2)² ∈ (0, 1/4]",
                             r"\partial s_i/\partial z_i = s_i(1-s_i) = \tfrac14 - (s_i-\tfrac12)^2 \in (0, \tfrac14]"),
             ", = 1/4 iff s_i = 1/2, which happens when ",
             M(None, "z_i = log Σ_{j≠i} e^{z_j}", r"z_i = \log \sum_{j\ne i} e^{z_j}"), " (any n ≥ 2)."),
        step("Off-diagonal (i ≠ j): ", M(None, "∂s_i/∂z_j = −s_i s_j < 0", r"\partial s_i/\partial z_j = -s_i s_j < 0"),
             ", and ", M(None, "s_i s_j ≤ ((s_i+s_j)/2)² ≤ 1/4", r"s_i s_j \le ((s_i+s_j)/2)^2 \le \tfrac14"),
             " because ", M(None, "s_i + s_j ≤ 1", r"s_i + s_j \le 1"), "; equality needs ",
             M(None, "s_i = s_j = 1/2", r"s_i = s_j = \tfrac12"), ", so all other ", M(None, "s_k = 0", "s_k = 0"),
             ": possible only for n = 2 (", M(None, "z_1 = z_2", "z_1 = z_2"), "); for n ≥ 3 the value ",
             M(None, "−1/4", r"-\tfrac14"), " is approached, not attained."),
        step("Spectral norm: J is symmetric and positive semi-definite, since ",
             M(None, "vᵀJv = Σ s_k v_k² − (Σ s_k v_k)² ≥ 0", r"v^{\top}Jv = \sum s_k v_k^2 - (\sum s_k v_k)^2 \ge 0"),
             " (Jensen, weights ", M(None, "s_k", "s_k"), " summing to 1); so ",
             M(None, "‖J‖₂ = λ_max(J)", r"\|J\|_2 = \lambda_{\max}(J)"), "."),
        step("Gershgorin: row i has centre ", M(None, "s_i − s_i²", "s_i - s_i^2"), " and radius ",
             M(None, "Σ_{j≠i} s_i s_j = s_i(1 − s_i)", r"\sum_{j\ne i} s_i s_j = s_i(1 - s_i)"),
             ", so every eigenvalue is ", M(None, "≤ max_i 2 s_i(1−s_i) ≤ 2 · 1/4 = 1/2",
                                              r"\le \max_i 2 s_i(1-s_i) \le 2 \cdot \tfrac14 = \tfrac12"),
             ". Hence ", M(None, "‖J‖₂ ≤ 1/2", r"\|J\|_2 \le \tfrac12"), "."),
        step("Sharp: for n = 2 and ", M(None, "z_1 = z_2", "z_1 = z_2"), ", ",
             M(None, "J = [[1/4, −1/4], [−1/4, 1/4]]",
               r"J = \left(\begin{smallmatrix} 1/4 & -1/4 \\ -1/4 & 1/4 \end{smallmatrix}\right)"),
             " has eigenvalues 0 and 1/2; for n ≥ 3, ", M(None, "z = (t, t, 0, …, 0)", r"z = (t, t, 0, \dots, 0)"),
             " with t → ∞ gives ", M(None, "‖J‖₂ → 1/2", r"\|J\|_2 \to \tfrac12"), "."),
        step("Not attained for n ≥ 3: ", M(None, "vᵀJv", r"v^{\top}Jv"), " is the variance of v under the weights s, "
             "and by Popoviciu's inequality it is ",
             M(None, "≤ (max v − min v)²/4 ≤ (v_max² + v_min²)/2 ≤ 1/2",
               r"\le (\max v - \min v)^2/4 \le (v_{\max}^2 + v_{\min}^2)/2 \le \tfrac12"),
             " for ", M(None, "‖v‖ = 1", r"\|v\| = 1"), ", with equality only when s puts weight 1/2 "
             "on each of two coordinates and 0 on the others, impossible for finite z when n ≥ 3."),
    )
    return SoftmaxJacobianBounds(diag, off, norm, proof)

