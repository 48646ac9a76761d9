r"""Where a result that is not a number becomes a withheld one, with the reason.

A quadrature or a transfer operator fed an activation that grows too fast for the weight law's tails (:math:`e^{x^2}`
under Gaussian weights: :math:`E[\varphi'(v)^2]` is infinite) overflows into ``inf`` and ``nan``; a conditional
expectation given an event of probability 0 (:math:`E[\log|\prod| \mid \prod \ne 0]` when every product is 0) has no
value. None of these may reach the caller as a number. The theory modules pass what they assemble through here:

* :func:`checked_quantity` — a :class:`~analytic.quantities.LogQuantity` whose value or error is not a number
  (``nan``, a value of ``+inf`` from overflow, a sign outside {-1, 0, 1}) becomes withheld
  (``converged = False``, value and error unknown), with the reason;
* :func:`checked_chain` — every quantity of a :class:`~analytic.theory.chain.ChainExpectations` at the final depth
  and at each depth, with the reasons added to its notes;
* :func:`require_finite` — plain floats of a result that has no withheld form (a mean-field slope, a critical
  :math:`\sigma_w^2`): :class:`~analytic.errors.ConvergenceError` naming them and the reason.

>>> q, why = checked_quantity("mean", LogQuantity(float("nan"), 0, float("nan")))
>>> q.converged, why
(False, 'mean is not a number (an integral diverged or overflowed)')
"""
from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np

from ..errors import ConvergenceError
from ..quantities import LogQuantity, QuantitySeries

def withheld(reason: str) -> LogQuantity:
    """A quantity whose value and error are unknown (``converged = False``), carrying ``reason`` where
    :class:`~analytic.quantities.LogQuantity` has a field for it."""
    extra = {"reason": reason} if "reason" in {f.name for f in fields(LogQuantity)} else {}
    return LogQuantity(math.nan, 0, math.nan, converged=False, **extra)


def quantity_reason(name: str, q: LogQuantity, zero_probability: LogQuantity | None = None) -> str | None:
    """Why the quantity ``name`` has no value (``None`` when it has one): its value or error is not a number, or
    (for ``log_mean``, given ``zero_probability``) it is conditioned on an event of probability 0: P(∏ = 0) is 1
    exactly, or is 1 to the last bit and ``log_mean`` came out undefined."""
    if (name == "log_mean" and zero_probability is not None and zero_probability.sign == 1
            and zero_probability.log_abs == 0.0 and (math.isnan(q.log_abs) or zero_probability.log_error == -math.inf)):
        return "log_mean is undefined: every product is exactly 0, so there is no non-zero product to average over"
    if q.sign not in (-1, 0, 1) or math.isnan(q.log_abs) or (q.sign != 0 and q.log_abs == math.inf):
        return f"{name} is not a number (an integral diverged or overflowed)"
    if q.converged and math.isnan(q.log_error):
        return f"the error of {name} is not a number (an integral diverged or overflowed)"
    return None


def checked_quantity(name: str, q: LogQuantity, zero_probability: LogQuantity | None = None
                     ) -> tuple[LogQuantity, str | None]:
    """``(q, None)`` when ``q`` has a value, else ``(withheld(reason), reason)``."""
    why = quantity_reason(name, q, zero_probability)
    return (q, None) if why is None else (withheld(why), why)


def _checked_series(name: str, s: QuantitySeries, zero: QuantitySeries | None) -> tuple[QuantitySeries, bool]:
    """The series with every depth that has no value withheld; and whether any was."""
    log_abs, sign = np.asarray(s.log_abs, dtype=float), np.asarray(s.sign)
    log_error = np.asarray(s.log_error, dtype=float)
    converged = np.asarray(s.converged, dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = ~np.isin(sign, (-1, 0, 1)) | np.isnan(log_abs) | ((sign != 0) & (log_abs == np.inf)) | (
            converged & np.isnan(log_error))
        if name == "log_mean" and zero is not None:
            zl, zs, ze = (np.asarray(zero.log_abs, dtype=float), np.asarray(zero.sign),
                          np.asarray(zero.log_error, dtype=float))
            bad |= (zs == 1) & (zl == 0.0) & ((ze == -np.inf) | np.isnan(log_abs))
    if not bad.any():
        return s, False
    sign = np.where(bad | ~np.isin(sign, (-1, 0, 1)), 0, sign).astype(int)
    return replace(s, log_abs=np.where(bad, np.nan, log_abs), sign=sign, log_error=np.where(bad, np.nan, log_error),
                   converged=converged & ~bad), True


def checked_chain(chain):
    """``chain`` (a :class:`~analytic.theory.chain.ChainExpectations`) with every quantity that has no value withheld,
    at the final depth and at each depth, and the reasons in its notes."""
    quantities, reasons = {}, []
    zero = chain.quantities.get("zero_probability")
    for name, q in chain.quantities.items():
        quantities[name], why = checked_quantity(name, q, zero)
        if why:
            reasons.append(why)
    by_depth, at_some_depth = {}, []
    zero_series = chain.by_depth.get("zero_probability")
    for name, s in chain.by_depth.items():
        if isinstance(s, QuantitySeries):
            by_depth[name], bad = _checked_series(name, s, zero_series)
            if bad and name in quantities and not math.isnan(quantities[name].log_abs):
                at_some_depth.append(name)
        else:
            by_depth[name] = s
    if not reasons and not at_some_depth:
        return chain
    notes = tuple(f"withheld: {why}" for why in reasons)
    if at_some_depth:
        notes += (f"withheld at some depths (not a number there): {', '.join(at_some_depth)}",)
    return replace(chain, quantities=quantities, by_depth=by_depth, notes=tuple(chain.notes) + notes)


def require_finite(what: str, reason: str, **values: float) -> None:
    """:class:`~analytic.errors.ConvergenceError` when any of ``values`` is NaN: ``what`` has no value, for
    ``reason``. Infinities are left alone (a length map that grows without bound has q* = inf)."""
    bad = [k for k, v in values.items() if isinstance(v, float) and math.isnan(v)]
    if bad:
        raise ConvergenceError(f"{what}: {', '.join(bad)} not a number ({reason})")
