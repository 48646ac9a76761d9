r"""The activation catalogue: each activation declared once, as a SymPy formula.

Everything else (derivatives, NumPy functions, bounds, figures, the docs table) is derived from these records.
Formulas use the library's two special functions, :class:`~analytic.core.special.sigmoid` and
:class:`~analytic.core.special.softplus` (declared with the others in :mod:`analytic.core.special`), so derived
expressions stay readable and their NumPy forms finite for large :math:`|x|`.

Definitions and defaults follow ``torch.nn.functional``; at kinks, the ``Piecewise`` conditions are chosen so that
the derivative of the formula equals PyTorch's autograd value (ReLU′(0) = 0, ELU′(0) = α, hardtanh′(±1) = 0,
hard_swish′(−3) = −1/2, hard_swish′(3) = 3/2); each record's ``kinks`` reads these values off the conditions.
Where ``torch.nn.init.calculate_gain`` has an entry, the record carries it as PyTorch's table writes it.

>>> from analytic.core.activations import get
>>> get("relu").kinks[0].dphi
0
"""
from __future__ import annotations

import dataclasses

import sympy as sp

from .registry import X, Activation, Param, TorchGain, alias, aliases, catalogue, get, names, register
from .special import sigmoid, softplus

__all__ = ["get", "names", "aliases", "catalogue", "SELU_ALPHA", "SELU_SCALE"]


# Published SELU constants (Klambauer et al. 2017), to the digits of the paper's supplementary code.
SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 32)

_half = sp.S.Half
_zero = sp.S.Zero


def _p(name: str, default, doc: str, positive: bool = False) -> Param:
    return Param(name, sp.nsimplify(default) if not isinstance(default, sp.Float) else default, doc, positive)


_alpha = _p("alpha", 1, "scale of the negative branch", positive=True)
_beta = _p("beta", 1, "inverse temperature", positive=True)
_a, _slope, _c = (
    _p("a", sp.Rational(1, 4), "slope for x < 0 (PyTorch's PReLU initial value)"),
    _p("negative_slope", sp.Rational(1, 100), "slope for x < 0"),
    _p("c", 1, r"sum of the other components' exponentials, \sum_{j\ne i} e^{z_j}", positive=True),
)
alpha, beta, a, slope, c = (p.symbol for p in (_alpha, _beta, _a, _slope, _c))

register(Activation(
    "sigmoid", sigmoid(X), symbol=r"\sigma",
    figures=frozenset({"gradient_depth", "preactivation_law", "histogram"}),
    doc=r"Logistic sigmoid :math:`\sigma(x) = \frac{1}{1+e^{-x}}`, with :math:`\sigma' = \sigma(1-\sigma) \le 1/4`.",
    reference="torch.sigmoid",
    torch_gain=TorchGain("1")))
register(Activation(
    "tanh", sp.tanh(X), symbol=r"\tanh",
    figures=frozenset({"gradient_depth", "preactivation_law", "histogram"}),
    doc=r"Hyperbolic tangent :math:`\tanh x = 2\sigma(2x)-1`, with :math:`\tanh' = 1-\tanh^2 \le 1`.",
    reference="torch.tanh",
    torch_gain=TorchGain("5/3")))
register(Activation(
    "relu", sp.Piecewise((X, X > 0), (0, True)), symbol=r"\operatorname{ReLU}",
    figures=frozenset({"gradient_depth"}),
    doc=r"Rectified linear unit :math:`\max(x, 0)`; :math:`\operatorname{ReLU}'(0) = 0` by convention.",
    reference="Nair & Hinton 2010; torch.nn.functional.relu",
    torch_gain=TorchGain("sqrt(2)")))
register(Activation(
    "leaky_relu", sp.Piecewise((X, X > 0), (slope * X, True)), params=(_slope,),
    figures=frozenset({"gradient_depth"}),
    doc=r"Leaky ReLU :math:`x` for :math:`x>0`, :math:`s x` otherwise (:math:`s = 0.01`); derivative :math:`s` at 0.",
    reference="Maas et al. 2013; torch.nn.functional.leaky_relu",
    torch_gain=TorchGain("sqrt(2/(1 + a^2))", parameter="negative_slope")))
register(Activation(
    "prelu", sp.Piecewise((X, X > 0), (a * X, True)), params=(_a,),
    doc=r"Parametric ReLU :math:`x` for :math:`x>0`, :math:`a x` otherwise (learned :math:`a`, initially 1/4).",
    reference="He et al. 2015; torch.nn.functional.prelu"))
register(Activation(
    "elu", sp.Piecewise((X, X > 0), (alpha * (sp.exp(X) - 1), True)), params=(_alpha,),
    figures=frozenset({"gradient_depth"}),
    doc=r"Exponential linear unit :math:`x` for :math:`x>0`, :math:`\alpha(e^{x}-1)` otherwise; "
        r"derivative :math:`\alpha` at 0 (PyTorch).",
    reference="Clevert et al. 2016; torch.nn.functional.elu"))
_selu_alpha = Param("alpha", SELU_ALPHA, "published SELU alpha", positive=True)
_selu_scale = Param("scale", SELU_SCALE, "published SELU lambda", positive=True)
_sa, _sl = _selu_alpha.symbol, _selu_scale.symbol
register(Activation(
    "selu", sp.Piecewise((_sl * X, X > 0), (_sl * _sa * (sp.exp(X) - 1), True)), params=(_selu_alpha, _selu_scale),
    figures=frozenset({"gradient_depth"}),
    doc=r"Scaled ELU :math:`\lambda x` for :math:`x>0`, :math:`\lambda\alpha(e^{x}-1)` otherwise, with the published "
        r":math:`\alpha \approx 1.6733`, :math:`\lambda \approx 1.0507` that make N(0,1) a fixed point.",
    reference="Klambauer et al. 2017; torch.nn.functional.selu",
    torch_gain=TorchGain("3/4"), self_normalising=True))
register(Activation(
    "gelu", X / 2 * (1 + sp.erf(X / sp.sqrt(2))), symbol=r"\operatorname{GELU}",
    figures=frozenset({"gradient_depth"}),
    doc=r"Gaussian error linear unit :math:`x\Phi(x) = \frac{x}{2}\left(1+\operatorname{erf}(x/\sqrt2)\right)`.",
    reference="Hendrycks & Gimpel 2016; torch.nn.functional.gelu"))
register(Activation(
    "gelu_tanh", X / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (X + sp.Rational(44715, 10**6) * X**3))),
    doc=r"GELU, tanh approximation :math:`\frac{x}{2}\left(1+\tanh\left(\sqrt{2/\pi}(x+0.044715x^3)\right)\right)`.",
    reference="Hendrycks & Gimpel 2016; torch.nn.functional.gelu(approximate='tanh')"))
_swish = Activation(
    "swish", X * sigmoid(beta * X), params=(_beta,),
    doc=r"Swish :math:`x\,\sigma(\beta x)`; :math:`\beta = 1` gives SiLU.",
    reference="Ramachandran et al. 2017")
register(_swish)
register(dataclasses.replace(
    _swish, name="silu", expr=_swish.expr.subs(beta, 1), params=(), symbol=r"\operatorname{SiLU}",
    doc=r"Sigmoid linear unit :math:`x\,\sigma(x)` (swish with :math:`\beta = 1`).",
    reference="Elfwing et al. 2018; torch.nn.functional.silu"))
register(Activation(
    "mish", X * sp.tanh(softplus(X)),
    doc=r"Mish :math:`x\tanh(\operatorname{softplus}(x))`.",
    reference="Misra 2019; torch.nn.functional.mish"))
register(Activation(
    "softplus", softplus(beta * X) / beta, params=(_beta,),
    doc=r"Softplus :math:`\frac{1}{\beta}\log(1+e^{\beta x})`; its derivative :math:`\sigma(\beta x)` approaches 1 "
        r"but never reaches it. (PyTorch switches to :math:`x` above :math:`\beta x > 20`; we keep the exact formula.)",
    reference="Dugas et al. 2001; torch.nn.functional.softplus"))
register(Activation(
    "softsign", sp.Piecewise((X / (1 - X), X < 0), (X / (1 + X), True)),
    doc=r"Softsign :math:`\frac{x}{1+|x|}`, derivative :math:`\frac{1}{(1+|x|)^2}` (continuous at 0).",
    reference="Bergstra et al. 2009; torch.nn.functional.softsign"))
register(Activation(
    "hardtanh", sp.Piecewise((-1, X <= -1), (1, X >= 1), (X, True)),
    doc=r"Hard tanh: :math:`x` clipped to :math:`[-1, 1]`; derivative 0 at :math:`\pm1` (PyTorch).",
    reference="torch.nn.functional.hardtanh"))
register(Activation(
    "hard_sigmoid", sp.Piecewise((0, X <= -3), (1, X >= 3), (X / 6 + _half, True)),
    doc=r"Hard sigmoid :math:`\operatorname{relu6}(x+3)/6` (PyTorch's, not Keras's :math:`0.2x+0.5`).",
    reference="Howard et al. 2019; torch.nn.functional.hardsigmoid"))
register(Activation(
    "hard_swish", sp.Piecewise((0, X < -3), (X * (X + 3) / 6, X <= 3), (X, True)),
    doc=r"Hard swish :math:`x\,\operatorname{relu6}(x+3)/6`; PyTorch's derivative is :math:`x/3+1/2` on "
        r":math:`[-3, 3]`, so :math:`-1/2` at :math:`-3` and :math:`3/2` at 3.",
    reference="Howard et al. 2019; torch.nn.functional.hardswish"))
register(Activation(
    "logsigmoid", -softplus(-X), symbol=r"\log\sigma",
    doc=r"Log-sigmoid :math:`\log\sigma(x) = -\operatorname{softplus}(-x)`, smooth (no kink), with derivative "
        r":math:`\sigma(-x) = 1-\sigma(x)`, which approaches 1 as :math:`x \to -\infty` but never reaches it.",
    reference="torch.nn.functional.logsigmoid"))
register(Activation(
    "celu", sp.Piecewise((X, X > 0), (alpha * (sp.exp(X / alpha) - 1), True)), params=(_alpha,),
    doc=r"Continuously differentiable ELU :math:`x` for :math:`x>0`, :math:`\alpha(e^{x/\alpha}-1)` otherwise.",
    reference="Barron 2017; torch.nn.functional.celu"))
register(Activation(
    "identity", X,
    doc=r"Identity :math:`x`, the linear network baseline.",
    reference="torch.nn.Identity",
    torch_gain=TorchGain("1", note="linear")))
register(Activation(
    "softmax", sigmoid(X - sp.log(c)), params=(_c,), vector=True, symbol=r"s",
    doc=r"Softmax component :math:`s_i = e^{z_i}/\sum_j e^{z_j}` as a function of its own logit "
        r":math:`x = z_i`, with :math:`c = \sum_{j\ne i} e^{z_j}` held fixed: :math:`s_i = \sigma(x - \log c)`. "
        r"The full Jacobian is :math:`\operatorname{diag}(s) - s s^\top`.",
    reference="torch.nn.functional.softmax"))

# PyTorch's spellings of catalogue entries: assignments, not copies.
alias("hardswish", "hard_swish")
alias("hardsigmoid", "hard_sigmoid")
alias("linear", "identity")
