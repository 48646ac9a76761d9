"""The architecture record: construction, checks, the branch scale at depth, its words and its JSON."""
from __future__ import annotations

import math

import pytest

from analytic import ArgumentError, SpecError
from analytic.architecture import PLAIN, Architecture, canonical_architecture, normalised, recurrent, residual


def test_plain_is_the_default_and_is_plain():
    assert Architecture() == PLAIN
    assert PLAIN.is_plain and PLAIN.kind == "plain" and PLAIN.describe() == "plain"
    assert canonical_architecture(None) is PLAIN
    assert PLAIN.to_json() == {"kind": "plain"}


@pytest.mark.parametrize("alpha, depth, expected", [(1, 7, 1.0), (0.5, 3, 0.5), ("1/sqrt(r)", 25, 0.2),
                                                    (" 1 / sqrt( r ) ", 100, 0.1), ("1/r", 8, 0.125),
                                                    ("0.25", 9, 0.25)])
def test_alpha_at_depth(alpha, depth, expected):
    assert math.isclose(residual(alpha).alpha_at(depth), expected, rel_tol=0, abs_tol=1e-15)


def test_kinds_and_words():
    assert residual(1, "pre").kind == "residual" and not residual(1).is_plain
    assert residual(1, "pre").describe() == "residual (pre-activation branch, alpha = 1)"
    assert residual("1/r", norm="layer").describe() == "residual (post-activation branch, alpha = 1/r, LayerNorm first)"
    assert recurrent().describe() == "recurrent (tied weights, no inputs)"
    assert recurrent("uniform(-1, 1)").kind == "recurrent"
    assert normalised("layer").kind == "normalised"
    assert normalised("batch", 8).to_json() == {"kind": "normalised", "norm": "batch", "batch": 8}
    assert recurrent("normal(0, 1)").to_json() == {"kind": "recurrent", "inputs": "normal(0, 1)"}


@pytest.mark.parametrize("make", [
    lambda: residual("1/log(r)"), lambda: residual("x" * 1000), lambda: residual(math.nan),
    lambda: residual(1e300), lambda: residual(True), lambda: residual(1, "middle"),
    lambda: residual(1, norm="group"), lambda: normalised("batch"), lambda: normalised("batch", 1),
    lambda: normalised("layer", 8), lambda: residual(1, batch=8), lambda: canonical_architecture("residual"),
    lambda: PLAIN.alpha_at(3), lambda: residual(1).alpha_at(0)])
def test_bad_arguments_are_refused(make):
    with pytest.raises(ArgumentError):
        make()


def test_inputs_must_be_a_law_of_one_number():
    with pytest.raises(SpecError):
        recurrent("orthogonal(1)")
    with pytest.raises(SpecError):
        recurrent("normal(0")
