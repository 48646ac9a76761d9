"""Plain-text rendering for the terminal: tables, numbers, SymPy expressions, docstrings without markup."""
from __future__ import annotations

import math
import re
from typing import Any


def table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned plain-text table."""
    cells = [header] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_LATEX_WORDS = {r"\sigma": "σ", r"\alpha": "α", r"\beta": "β", r"\lambda": "λ", r"\varphi": "φ", r"\Phi": "Φ",
                r"\pi": "π", r"\le": "≤", r"\ge": "≥", r"\pm": "±", r"\approx": "≈", r"\ne": "≠", r"\sum": "Σ",
                r"\top": "ᵀ", r"\left": "", r"\right": "", r"\tanh": "tanh", r"\log": "log", r"\sqrt": "√",
                r"\,": " "}


def _group(text: str) -> str:
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def plain(doc: str) -> str:
    """A docstring with its reST math markup turned into plain Unicode text for the terminal."""
    text = doc.replace(":math:", "").replace("`", "")
    text = re.sub(r"\^\{([^{}]*)\}", lambda m: "^" + _group(m.group(1)), text)
    text = re.sub(r"_\{([^{}]*)\}", lambda m: "_" + _group(m.group(1)), text)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", text)
    text = re.sub(r"\\operatorname\{([^{}]*)\}", r"\1", text)
    for word in sorted(_LATEX_WORDS, key=len, reverse=True):
        tail = r"(?![A-Za-z])" if word[-1].isalpha() else ""
        text = re.sub(re.escape(word) + tail, _LATEX_WORDS[word], text)
    return text.replace("{", "").replace("}", "")


def number(value: Any) -> str:
    """A SymPy or Python number as short text (``0.2``, not ``0.200000000000000``)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(value) if getattr(value, "is_Rational", False) else f"{f:.12g}"


def short(expr: Any) -> str:
    """A SymPy expression as text with its floating-point constants cut to 12 significant digits."""
    import sympy as sp

    if not isinstance(expr, sp.Basic):
        return str(expr)
    return str(expr.xreplace({f: sp.Float(f, 12) for f in expr.atoms(sp.Float)}))


def sci(value: float, log_abs: float = math.nan, digits: int = 6) -> str:
    """A float as text; where it underflowed to 0 (or overflowed) but its natural log is known, from the log."""
    if (value == 0 or math.isinf(value)) and math.isfinite(log_abs):
        exponent = math.floor(log_abs / math.log(10))
        mantissa = math.copysign(10 ** (log_abs / math.log(10) - exponent), value if value else 1.0)
        return f"{mantissa:.{digits}g}e{exponent:+d}"
    return f"{value:.{digits}g}"


def zscore(z: float) -> str:
    """A z-score with two decimals (three significant digits when huge)."""
    return f"{z:.2f}" if abs(z) < 1e4 else f"{z:.3g}"


def opt(value: float | None, digits: int = 10) -> str:
    """A float that may be missing (``-``)."""
    return "-" if value is None else f"{value:.{digits}g}"


def quantity(q: Any, digits: int = 10, linear: bool = False) -> str:
    """A :class:`~analytic.quantities.LogQuantity` as ``value ± error`` (``linear``: a plain number such as a log
    mean or a probability, printed with ``digits`` significant digits); a withheld one as ``not converged
    (reason)``, never as a number."""
    if q.withheld:
        return f"not converged ({q.reason})"
    if linear:
        return f"{q.value:.{digits}g} ± {q.error:.2g}"
    return f"{sci(q.value, q.log_abs if q.sign else -math.inf, digits)} ± {sci(q.error, q.log_error, 2)}"
