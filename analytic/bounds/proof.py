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
"$\\varphi'(x) = x^{2}$."
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Union

import sympy as sp

from ..errors import AnalyticError

__all__ = ["Math", "Step", "math", "step", "steps_text", "tex_expr", "tex_name", "tex_prose", "tex_set", "TEX_SYMBOLS"]

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
    """A :class:`Math` part: ``text`` defaults to ``str(value)``, ``tex`` to :func:`tex_expr` (sets through
    :func:`tex_set`, so unions and intervals may break across lines)."""
    if tex is None:
        tex = tex_set(value) if isinstance(value, sp.Set) else tex_expr(value)
    return Math(value, str(value) if text is None else text, tex)


#: Significant digits of a floating-point constant in LaTeX and Markdown (SELU's λ and α carry 34 in SymPy; the
#: text form, what the command line prints, keeps them all).
TEX_DIGITS = 10


def tex_expr(value: object) -> str:
    r"""LaTeX of a SymPy object: :func:`sympy.latex`, with every float shown to :data:`TEX_DIGITS` significant
    digits and every symbol whose name is a word set upright (``negative_slope`` → ``\mathrm{negative\_slope}``,
    not the subscripted :math:`negative_{slope}`; ``scale x`` → ``\mathrm{scale}\, x``, not :math:`scalex`).

    >>> selu_scale = sp.Float("1.0507009873554804934193349852946", 33)
    >>> print(tex_expr(sp.Symbol("negative_slope") * sp.Symbol("x") + selu_scale))
    \mathrm{negative\_slope}\, x + 1.050700987
    """
    if not isinstance(value, sp.Basic):
        return sp.latex(value)
    floats = value.atoms(sp.Float)
    if floats:
        value = value.xreplace({f: sp.Float(f, TEX_DIGITS) for f in floats})
    names = {s: tex_name(s.name) for s in value.free_symbols if isinstance(s, sp.Symbol)}
    tex = sp.latex(value, symbol_names={s: n for s, n in names.items() if n is not None})
    tex = re.sub(r"(\\mathrm\{[^{}]*\}) (?=[A-Za-z\\])", r"\1\\, ", tex)  # a thin space after a word ...
    return re.sub(r"(?<=[A-Za-z0-9]) (\\mathrm\{)", r"\\, \1", tex)  # ... and before it


def tex_name(name: str) -> str | None:
    r"""The LaTeX of a symbol called ``name`` when SymPy's would be wrong: a word (``scale``, ``negative_slope``)
    upright, with its underscores as underscores; ``None`` for a letter, a letter with a numeric index or a Greek
    letter's name, which SymPy sets right (``x``, ``x_0``, ``alpha``).

    >>> tex_name("negative_slope"), tex_name("alpha"), tex_name("x")
    ('\\mathrm{negative\\_slope}', None, None)
    """
    from sympy.printing.latex import greek_letters_set, other_symbols

    if re.fullmatch(r"[A-Za-z](_?[0-9]+)?", name) or name.lower() in greek_letters_set or name in other_symbols:
        return None
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


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
        r"""LaTeX for pdflatex: prose escaped, each object from :func:`tex_expr`; a formula written across prose and
        objects (``φ′(x) = `` *expr*, ``as x → −∞``) is set as one math run (:func:`math_runs`); an object too
        long for a line is set as its own display, broken at its terms, holding the formula it ends and the punctuation
        that follows it.

        >>> print(step("φ′(", sp.Integer(0), ") = ", sp.Rational(1, 4), " as x → −∞.").latex())
        $\varphi'(0) = \frac{1}{4}$ as $x \to -\infty$.
        """
        tokens: list[tuple[str, object]] = []
        for p in self.parts:
            if isinstance(p, str):
                tokens += _prose_tokens(p, tokens)
            elif len(p.tex) > INLINE_TEX:
                tokens.append(("display", p))
            else:
                tokens.append(("math", p.tex))
        return math_runs(tokens)


def step(*parts: Part | sp.Basic) -> Step:
    """A :class:`Step` from prose strings and objects (SymPy objects become :func:`math` parts)."""
    return Step(tuple(p if isinstance(p, (str, Math)) else math(p) for p in parts))


#: Letters that prose uses as variables (set in math mode); other words stay text.
PROSE_VARIABLES = frozenset("xtuvwyzPqr")
_PROSE_TOKEN = re.compile(r"\s+|[A-Za-z]+|[0-9]+(?:\.[0-9]+)?|.")


def _prose_tokens(text: str, before: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Prose as (kind, LaTeX) tokens: ``math`` for the symbols of :data:`TEX_SYMBOLS`, ``=``, the variables of
    :data:`PROSE_VARIABLES`, a number after a math token, and a parenthesis that opens right after a math token
    (with its partner); ``space``; ``text`` (escaped, :func:`tex_prose`) for everything else."""
    out: list[tuple[str, object]] = []
    depth: list[bool] = []  # the parentheses still open (math or not), from the parts before this one
    for kind, tex in before:
        if tex == "(":
            depth.append(kind == "math")
        elif tex == ")" and depth:
            depth.pop()
    raw = ""  # the previous token of this prose
    for tok in _PROSE_TOKEN.findall(text):
        after_apostrophe, raw = raw == "'", tok
        last = (before + out)[-1][0] if before or out else ""
        previous = next((k for k, _ in reversed(before + out) if k != "space"), "")
        if tok.isspace():
            out.append(("space", " "))
        elif tok == "(":
            depth.append(last == "math")
            out.append(("math" if last == "math" else "text", "(" if last == "math" else tex_prose(tok)))
        elif tok == ")":
            is_math = depth.pop() if depth else False
            out.append(("math", ")") if is_math else ("text", ")"))
        elif tok in TEX_SYMBOLS and tok not in "<>|" or tok == "=":
            out.append(("math", TEX_SYMBOLS.get(tok, tok)))
        elif (tok in PROSE_VARIABLES and not after_apostrophe) or (tok[0].isdigit() and previous == "math"):
            out.append(("math", tok))
        else:
            out.append(("text", tex_prose(tok)))
    return out


def math_runs(tokens: list[tuple[str, object]]) -> str:
    """Join (kind, LaTeX) tokens: consecutive math tokens (and the spaces between them) as one ``$…$``, a display
    (:func:`display`) taking the math run just before it and the punctuation just after it."""
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        if run:
            out.append("$" + "".join(run).strip() + "$")
            run.clear()

    i = 0
    while i < len(tokens):
        kind, tex = tokens[i]
        if kind == "math":
            if run and re.search(r"\\[A-Za-z]+$", run[-1]) and re.match(r"[A-Za-z]", tex):
                run.append(" ")
            run.append(tex)
        elif kind == "space":
            if run and i + 1 < len(tokens) and tokens[i + 1][0] in ("math", "display"):
                run.append(" ")
            else:
                close()
                out.append(" ")
        elif kind == "display":
            before = "".join(run).strip()
            run.clear()
            after = ""
            if i + 1 < len(tokens) and tokens[i + 1][0] == "text" and tokens[i + 1][1] in (".", ",", ";", ":"):
                after, i = str(tokens[i + 1][1]), i + 1
            out.append(display(tex, before, after))
        else:
            close()
            out.append(str(tex))
        i += 1
    close()
    return merge_math("".join(out))


def steps_text(steps: Iterable[Step | str]) -> tuple[str, ...]:
    """The plain-text form of each step (plain strings pass through)."""
    return tuple(s if isinstance(s, str) else s.text() for s in steps)


# ---------------------------------------------------------------- LaTeX of long objects

def display(p: Math, before: str = "", after: str = "") -> str:
    r"""A long object as a display: a sum broken before its terms into lines of at most :data:`DISPLAY_TEX`
    characters (``multlined``-style, with ``aligned``), anything else as one display line; ``before`` (the start
    of the formula, such as ``\varphi'(x) =``) and ``after`` (its punctuation) are set in the same display."""
    value = p.value
    before = before + " " if before else ""
    after = r"\," + after if after else ""
    if isinstance(value, sp.Add) and len(value.args) > 1:
        terms = [tex_expr(t) for t in sp.Add.make_args(value)]
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
            return r"\[ \begin{aligned} &" + before + body + after + r" \end{aligned} \]"
    if isinstance(value, sp.Set):
        return (r"\[ \begin{aligned} &" + before + tex_set(value, breaks=r" \\ &\cup ") + after
                + r" \end{aligned} \]")
    return r"\[ " + before + p.tex + after + r" \]"


def tex_set(s: object, breaks: str = r" \cup \allowbreak ") -> str:
    r"""LaTeX of a set: intervals and finite sets by hand (so the proof's open/closed ends show as ( ) and [ ]),
    unions joined with ``breaks`` (a permitted line break by default); other sets abbreviated to their kind."""
    if isinstance(s, sp.Union):
        return breaks.join(tex_set(a) for a in s.args)
    if isinstance(s, sp.Interval):
        left = "(" if s.left_open else "["
        right = ")" if s.right_open else "]"
        return rf"{left}{tex_expr(s.start)}, {tex_expr(s.end)}{right}"
    if isinstance(s, sp.FiniteSet):
        return r",\allowbreak ".join(tex_expr(a) for a in s.args)
    if s is sp.S.EmptySet:
        return r"\emptyset"
    if isinstance(s, sp.Set):
        return r"\text{" + type(s).__name__ + "}"
    return tex_expr(s)


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
