r"""Structured proofs: a proof is a tuple of :class:`Step`, each a sequence of short prose and :class:`Math` parts.

A :class:`Math` part holds the SymPy object itself (an expression, a set, a number) together with its plain-text
form; the renderers print it as text (what the command line shows), as Markdown (``$…$``) or as LaTeX, the last
two through :func:`sympy.latex` — never by substituting characters of the text form. Prose may hold a few
typographic symbols (φ′, ≤, →, ∞); :func:`tex_prose` sets each of them in math mode and refuses to invent a
glyph for any other non-ASCII character.

>>> import sympy as sp
>>> s = step("φ′(x) = ", math(sp.Symbol("x") ** 2), ".")
>>> s.text()
'φ′(x) = x**2.'
>>> s.latex()
"$\\varphi'$(x) = $x^{2}$."
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Union

import sympy as sp

from ..errors import AnalyticError

__all__ = ["Math", "Step", "math", "step", "steps_text", "tex_prose", "tex_set", "TEX_SYMBOLS"]

#: Longest LaTeX of one inline math part before it is shown as its own display line (broken at its terms).
INLINE_TEX = 120
#: Longest line of a display that is broken at its terms (characters of LaTeX source, roughly 14 cm).
DISPLAY_TEX = 110


@dataclass(frozen=True)
class Math:
    """A mathematical object of a proof: ``value`` (a SymPy object, or None for a bare symbol), ``text`` (its
    plain-text form) and ``tex`` (its LaTeX; by default ``sympy.latex(value)``)."""

    value: object
    text: str
    tex: str

    def __str__(self) -> str:
        return self.text


Part = Union[str, Math]


def math(value: object, text: str | None = None, tex: str | None = None) -> Math:
    """A :class:`Math` part: ``text`` defaults to ``str(value)``, ``tex`` to :func:`sympy.latex` (sets through
    :func:`tex_set`, so unions and intervals may break across lines)."""
    if tex is None:
        tex = tex_set(value) if isinstance(value, sp.Set) else sp.latex(value)
    return Math(value, str(value) if text is None else text, tex)


@dataclass(frozen=True)
class Step:
    """One step of a proof: prose and :class:`Math` parts in reading order."""

    parts: tuple[Part, ...]

    def text(self) -> str:
        """Plain text (Unicode prose, SymPy's ``str`` forms), as the command line prints it."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def __str__(self) -> str:
        return self.text()

    def markdown(self) -> str:
        """Markdown with inline math ``$…$`` (LaTeX from SymPy)."""
        return "".join(p if isinstance(p, str) else f"${p.tex}$" for p in self.parts)

    def latex(self) -> str:
        """LaTeX for pdflatex: prose escaped with its symbols in math mode, each object from :func:`sympy.latex`;
        an object too long for a line is set as its own display, broken at its terms."""
        out = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(tex_prose(p))
            elif len(p.tex) > INLINE_TEX:
                out.append(display(p))
            else:
                out.append(f"${p.tex}$")
        return merge_math("".join(out))


def step(*parts: Part | sp.Basic) -> Step:
    """A :class:`Step` from prose strings and objects (SymPy objects become :func:`math` parts)."""
    return Step(tuple(p if isinstance(p, (str, Math)) else math(p) for p in parts))


def steps_text(steps: Iterable[Step | str]) -> tuple[str, ...]:
    """The plain-text form of each step (plain strings pass through)."""
    return tuple(s if isinstance(s, str) else s.text() for s in steps)


# ---------------------------------------------------------------- LaTeX of long objects

def display(p: Math) -> str:
    r"""A long object as a display: a sum broken before its terms into lines of at most :data:`DISPLAY_TEX`
    characters (``multlined``-style, with ``aligned``), anything else as one display line."""
    value = p.value
    if isinstance(value, sp.Add) and len(value.args) > 1:
        terms = [sp.latex(t) for t in sp.Add.make_args(value)]
        lines, line = [], ""
        for t in terms:
            piece = t if not line else (t if t.startswith("-") else f"+ {t}")
            if line and len(line) + len(piece) > DISPLAY_TEX:
                lines.append(line)
                line = piece
            else:
                line = f"{line} {piece}".strip()
        lines.append(line)
        if all(len(ln) <= 2 * DISPLAY_TEX for ln in lines):
            body = r" \\ &\quad ".join(lines)
            return r"\[ \begin{aligned} &" + body + r" \end{aligned} \]"
    if isinstance(value, sp.Set):
        return r"\[ \begin{aligned} &" + tex_set(value, breaks=r" \\ &\cup ") + r" \end{aligned} \]"
    return r"\[ " + p.tex + r" \]"


def tex_set(s: object, breaks: str = r" \cup \allowbreak ") -> str:
    r"""LaTeX of a set: intervals and finite sets by hand (so the proof's open/closed ends show as ( ) and [ ]),
    unions joined with ``breaks`` (a permitted line break by default); other sets abbreviated to their kind."""
    if isinstance(s, sp.Union):
        return breaks.join(tex_set(a) for a in s.args)
    if isinstance(s, sp.Interval):
        left = "(" if s.left_open else "["
        right = ")" if s.right_open else "]"
        return rf"{left}{sp.latex(s.start)}, {sp.latex(s.end)}{right}"
    if isinstance(s, sp.FiniteSet):
        return r",\allowbreak ".join(sp.latex(a) for a in s.args)
    if s is sp.S.EmptySet:
        return r"\emptyset"
    if isinstance(s, sp.Set):
        return r"\text{" + type(s).__name__ + "}"
    return sp.latex(s)


# ---------------------------------------------------------------- prose

#: Typographic symbols allowed in prose, each with its LaTeX (set in math mode).
TEX_SYMBOLS = {
    "σ": r"\sigma", "φ": r"\varphi", "χ": r"\chi", "λ": r"\lambda", "α": r"\alpha", "β": r"\beta",
    "π": r"\pi", "Φ": r"\Phi", "Σ": r"\Sigma", "∏": r"\prod", "∂": r"\partial", "′": r"'", "″": r"''",
    "‴": r"'''", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "∈": r"\in", "∞": r"\infty",
    "→": r"\to", "−": r"-", "·": r"\cdot", "×": r"\times", "±": r"\pm", "√": r"\surd", "∅": r"\emptyset",
    "∪": r"\cup", "‖": r"\|", "ᵀ": r"^{\top}", "²": r"^{2}", "³": r"^{3}", "₁": r"_{1}", "₂": r"_{2}",
    "⁻": r"^{-}", "¹": r"^{1}", "…": r"\dots", "ℝ": r"\mathbb{R}", "μ": r"\mu", "ξ": r"\xi", "τ": r"\tau",
    "<": "<", ">": ">", "|": "|", "ε": r"\varepsilon", "ℓ": r"\ell", "∑": r"\sum", "⊤": r"\top",
}
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}
_TEX_TEXT = {"–": "--", "—": "---", "’": "'", "‘": "`", "“": "``", "”": "''", "\u00a0": "~", "é": r"\'e",
             "ö": r"\"o", "ü": r"\"u", "ä": r"\"a", "◆": r"$\blacklozenge$", "○": r"$\circ$"}


class TexError(AnalyticError):
    """Text holding a character that has no LaTeX form here (it would print as a wrong glyph)."""


def tex_prose(text: str) -> str:
    """Prose as pdflatex source: specials escaped, every symbol of :data:`TEX_SYMBOLS` in math mode (adjacent
    symbols share one math run). Any other non-ASCII character raises :class:`TexError`, so a glyph is never
    silently replaced.

    >>> print(tex_prose("σ′ ≤ 1/4 at x_0"))
    $\\sigma'$ $\\le$ 1/4 at x\\_0
    """
    out = []
    for ch in text:
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch in TEX_SYMBOLS:
            out.append(f"${TEX_SYMBOLS[ch]}$")
        elif ch in _TEX_TEXT:
            out.append(_TEX_TEXT[ch])
        elif ord(ch) > 127:
            raise TexError(f"no LaTeX form for the character {ch!r} (U+{ord(ch):04X}) in {text[:60]!r}")
        else:
            out.append(ch)
    return merge_math("".join(out))


def merge_math(tex: str) -> str:
    r"""Join adjacent inline math runs (``$\le$$x$`` → ``$\le x$``), keeping a space before a letter so that a
    macro name does not run into it."""
    tex = re.sub(r"(?<!\\)\$\$(?=[A-Za-z0-9])", " ", tex)
    return re.sub(r"(?<!\\)\$\$", "", tex)
