"""Converged or withheld: a value that missed its tolerance is None in Python, null with a reason in JSON,
"not converged (…)" in text, not drawn in the depth figure and not tabulated in the report."""
from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest

from analytic.theory.accuracy import SCHEDULE
from matplotlib.figure import Figure

import analytic.theory.chain as chain_module
import analytic.theory.gradient as gradient_module
from analytic.cli import main
from analytic.cli.text import sci
from analytic.core.calculus import resolve
from analytic.output import panels as PN
from analytic.output import plotting as P
from analytic.output.budget import QUICK
from analytic.output.panels import CHAIN_WEIGHTS, PREACT
from analytic.output.report import Report
from analytic.output.sections import MC_DEPTH, REPORT_DEPTHS, section
from analytic.quantities import NAMES, LogQuantity, QuantitySeries
from analytic.theory.chain import exact_chain
from analytic.theory.gradient import gradient, vetted

REAL_EXACT_CHAIN = chain_module.exact_chain


def _withhold_beyond(c, last: int):
    """The exact-chain result ``c`` with every quantity at depths > ``last`` marked not converged."""
    by = {}
    for q, s in c.by_depth.items():
        keep = np.arange(1, len(s) + 1) <= last
        by[q] = dataclasses.replace(s, converged=np.asarray(s.converged, bool) & keep)
    return dataclasses.replace(c, by_depth=by, quantities={q: by[q][-1] for q in c.quantities})


@pytest.fixture
def withheld_beyond(monkeypatch):
    """Make the exact chain withhold everything beyond a depth; returns the setter."""
    def cut(last: int) -> None:
        def fake(*args, **kwargs):
            return _withhold_beyond(REAL_EXACT_CHAIN(*args, **kwargs), last)

        monkeypatch.setattr(chain_module, "exact_chain", fake)
        monkeypatch.setattr(gradient_module, "exact_chain", fake)
        PN.gradient_panel.cache_clear()

    yield cut
    PN.gradient_panel.cache_clear()


# ---------------------------------------------------------------- the number type

def test_a_withheld_quantity_has_no_value_but_keeps_its_error_and_a_reason():
    q = LogQuantity.of(-0.25, 3e-9, converged=False)
    assert q.value is None and q.withheld and q.estimate == -0.25 and q.error == pytest.approx(3e-9)
    assert "3e-09" in q.reason
    d = q.as_dict()
    assert d["value"] is None and d["converged"] is False and d["error"] == pytest.approx(3e-9)
    assert d["reason"] == q.reason
    ok = LogQuantity.of(-0.25, 1e-17)
    assert ok.value == -0.25 and ok.as_dict()["reason"] is None and not ok.withheld
    assert q.withhold("because").reason == "because" and ok.withhold("because").value is None


def test_series_indexing_and_arrays_withhold_the_same_depths():
    s = QuantitySeries(np.log([1.0, 0.5, 0.25]), np.array([1, 1, -1]), np.log([1e-20, 1e-3, 1e-20]),
                       np.array([True, False, True]), np.log([1e-8, 5e-9, 2.5e-9]), "relative 1e-08")
    assert [q.value for q in s] == [1.0, None, -0.25]
    assert s[1].reason == "error 1e-03 exceeds the tolerance 5e-09 (relative 1e-08)"
    v = s.values
    assert v[0] == 1.0 and math.isnan(v[1]) and v[2] == -0.25
    assert list(s.estimates) == [1.0, 0.5, -0.25]


@pytest.mark.parametrize("act", ["gelu", "selu"])
def test_the_reason_names_the_tolerance_the_chain_itself_applied(act):
    """A reason quotes the error, and a limit only where the error exceeds it; the moments' limits (relative to the
    value, to E|prod| for E[prod]) are computed here from the tolerance and must reproduce the chain's own verdicts
    at every depth, so a reason never claims a tolerance the value met."""
    # the first two levels only, at a tolerance they cannot meet everywhere: some values are withheld
    c = vetted(exact_chain(act, 30, CHAIN_WEIGHTS, tolerance=1e-12, schedule=SCHEDULE[:2]))
    assert c.tolerance > 0 and any(c.by_depth[q].withheld.any() for q in NAMES)  # the premise: something withheld
    for q in NAMES:
        s = c.by_depth[q]
        for k in np.flatnonzero(s.withheld):
            m = re.fullmatch(r"error (\S+) (?:exceeds the tolerance (\S+) \((relative|absolute).*\)|misses the "
                             r"tolerance asked for.*)", s[k].reason)
            assert m, (q, k, s[k].reason)
            assert float(m.group(1)) == pytest.approx(math.exp(s.log_error[k]), rel=0.06)
            if m.group(2):
                assert float(m.group(1)) > float(m.group(2)), s[k].reason
        if q in ("log_mean", "zero_probability"):
            continue
        limit = math.log(c.tolerance) + np.asarray(c.by_depth["mean_abs" if q == "mean" else q].log_abs, float)
        exceeds = np.asarray(s.log_error, float) > limit
        assert np.array_equal(s.withheld, exceeds), q
        for k in np.flatnonzero(s.withheld):
            m = re.fullmatch(r"error (\S+) exceeds the tolerance (\S+) \(relative .*\)", s[k].reason)
            assert m and float(m.group(2)) == pytest.approx(math.exp(limit[k]), rel=0.06), (q, k, s[k].reason)


def test_a_limit_that_disagrees_with_the_chain_is_not_quoted():
    c = exact_chain("gelu", 30, CHAIN_WEIGHTS)
    lm = c.by_depth["log_mean"]
    assert (~lm.withheld).any()  # the premise: some depths meet the limit
    # every depth flagged withheld, also those whose error meets the documented limit: the limit is not quoted
    odd = dataclasses.replace(lm, converged=np.zeros(len(lm), bool))
    v = vetted(dataclasses.replace(c, by_depth={**c.by_depth, "log_mean": odd}))
    assert v.by_depth["log_mean"].log_limit is None
    assert all("misses the tolerance asked for" in q.reason for q in v.by_depth["log_mean"])
    assert v.by_depth["mean_abs"].log_limit is not None  # the other quantities keep theirs


# ---------------------------------------------------------------- gradient: Python, JSON, text

def test_gradient_withholds_values_ratios_and_depths(withheld_beyond):
    withheld_beyond(10)
    g = gradient("sigmoid", 20, "normal(1, 0.5)", threshold=1e-12)
    for q in NAMES:
        assert g.exact_chain[q].value is None and g.exact_chain[q].reason
        assert g.exact_chain.by_depth[q][9].value is not None  # depth 10 is still shown
    assert g.ratios == {"mean": None, "mean_square": None, "typical": None}
    # E[prod] of sigmoid falls below 1e-12 only after depth 10: not known once those depths are withheld
    assert g.depth_to_threshold["exact_chain"]["mean"] is None
    assert "r = 11" in g.depth_to_threshold["exact_chain_withheld"]["mean"]
    # ... while E[prod^2] is below it by depth 10, where it is converged
    assert g.depth_to_threshold["exact_chain"]["mean_square"] <= 10
    assert "mean_square" not in g.depth_to_threshold["exact_chain_withheld"]


def test_cli_gradient_prints_not_converged_instead_of_a_number(withheld_beyond, capsys):
    withheld_beyond(10)
    real = REAL_EXACT_CHAIN("sigmoid", 20, "normal(1, 0.5)")
    assert main(["gradient", "sigmoid", "--depth", "20", "--weights", "normal(1, 0.5)"]) == 0
    text = capsys.readouterr().out
    for label in ("E[prod]", "E|prod|", "E[prod^2]", "E log|prod|", "P(prod = 0)"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(label + " "))
        assert re.search(r"= not converged \(error .+\)", line), line
    for q in ("mean", "mean_abs", "mean_square"):  # the unvetted estimates appear nowhere
        e = real[q]
        assert sci(e.estimate, e.log_abs, 10) not in text and sci(e.estimate, e.log_abs) not in text, q
    assert f"{real['log_mean'].estimate:.10g}" not in text
    assert main(["gradient", "sigmoid", "--depth", "20", "--weights", "normal(1, 0.5)", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for q in NAMES:
        d = data["exact_chain"][q]
        assert d["value"] is None and d["converged"] is False and d["reason"].startswith("error ")
        assert d["error"] == pytest.approx(real[q].error)


def test_cli_gradient_converged_lines_carry_numbers(capsys):
    assert main(["gradient", "sigmoid", "--depth", "10", "--weights", "normal(1, 0.5)", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(data["exact_chain"][q]["reason"] is None for q in NAMES)
    assert data["exact_chain"]["mean"]["value"] == pytest.approx(1.120571837e-07, rel=1e-9)
    assert main(["gradient", "sigmoid", "--depth", "10", "--weights", "normal(1, 0.5)"]) == 0
    assert "= not converged" not in capsys.readouterr().out


# ---------------------------------------------------------------- figures

#: The exact chain's own lines (the exact median comes from analytic.theory.typical, which the fixture leaves alone).
EXACT_LABELS = {label for key, (label, _, _) in P.EXACT_STYLES.items() if key != "median"}


def test_depth_figure_draws_nothing_withheld_and_says_so(withheld_beyond):
    withheld_beyond(10)
    panel = PN.gradient_panel("gelu", QUICK)
    assert QUICK.max_depth > 10 and [line.key for line in panel.exact] == ["mean", "exp_log_mean", "median"]
    late = panel.depth > 10
    for line in panel.exact[:2]:  # the data handed to the plotting function
        assert np.all(line.withheld == late) and np.all(np.isnan(line.y[late]))
        assert np.all(np.isfinite(line.y[~late])), line.key
    ax = Figure().add_subplot()
    drawn = P.draw_gradient_depth(ax, panel)
    exact_lines = [ln for ln in ax.get_lines() if ln.get_label() in EXACT_LABELS]
    assert len(exact_lines) == 2
    for ln in exact_lines:  # the ink on the axes
        x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        assert np.all(np.isnan(y[x > 10])) and np.all(np.isfinite(y[x <= 10]))
    note = drawn["withheld_note"].get_text()
    assert note.startswith(P.WITHHELD_HEADING) and note.count(": $r > 10$") == 2


def test_the_drawing_hides_a_withheld_value_even_if_the_data_carries_it():
    depth = np.arange(1, 6)
    y = np.full(5, 0.5)
    withheld = depth > 3
    band = P.Band(np.array([1]), np.array([0.4]), np.array([0.3]), np.array([0.5]))
    panel = P.GradientPanel("t", depth, np.ones(5), (P.DepthLine("mean", y, withheld),), band, band)
    ax = Figure().add_subplot()
    out = P.draw_gradient_depth(ax, panel)
    assert np.all(np.isnan(out["mean"].get_ydata()[3:]))
    assert out["withheld_note"].get_text() == P.WITHHELD_HEADING + "\n" + P.EXACT_STYLES["mean"][1] + ": $r > 3$"
    assert P.withheld_note("m", depth, np.array([False, True, True, False, True])) == "m: $r$ = 2–3, 5"


def test_the_exp_log_mean_is_not_called_typical_and_the_median_has_its_own_colour():
    labels = {k: v[0] for k, v in P.EXACT_STYLES.items()}
    assert "typical" not in labels["exp_log_mean"] and "median" not in labels["exp_log_mean"]
    panel = PN.gradient_panel("sigmoid", QUICK)
    ax = Figure().add_subplot()
    out = P.draw_gradient_depth(ax, panel)
    assert "median" in out["mc_median"].get_label()
    assert out["mc_median"].get_markeredgecolor() != out["exp_log_mean"].get_color()
    assert out["mc_mean"].get_markeredgecolor() == out["mean"].get_color()  # one statistic, one colour


# ---------------------------------------------------------------- the report

@pytest.mark.parametrize("last", [10, 5])
def test_report_tables_leave_out_withheld_values(withheld_beyond, last):
    withheld_beyond(last)
    s = section(resolve("sigmoid"), QUICK)
    real = REAL_EXACT_CHAIN("sigmoid", max(REPORT_DEPTHS + (MC_DEPTH,)), CHAIN_WEIGHTS)
    for row in s.gradient:
        if row.depth > last:
            assert row.exact_mean is None and row.exact_mean_square is None and row.exact_typical is None
        else:
            assert row.exact_mean == pytest.approx(real.by_depth["mean"][row.depth - 1].value, rel=1e-12)
    assert any("withheld" in n and f"r = {min(d for d in REPORT_DEPTHS if d > last)}" in n for n in s.notes)
    md = Report((s,), CHAIN_WEIGHTS, PREACT, REPORT_DEPTHS, MC_DEPTH, QUICK.chains, QUICK.seed).markdown()
    tex = Report((s,), CHAIN_WEIGHTS, PREACT, REPORT_DEPTHS, MC_DEPTH, QUICK.chains, QUICK.seed).latex()
    for r in REPORT_DEPTHS:
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| {r} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert (cells[2:] == ["–", "–", "–"]) == (r > last), row
        tex_row = next(ln for ln in tex.splitlines() if ln.startswith(f"{r} & "))
        assert tex_row.endswith("& – & – & – \\\\") == (r > last), tex_row
        if r > last:  # the unvetted estimates are printed nowhere
            for q in ("mean", "mean_square"):
                assert f"{real.by_depth[q][r - 1].estimate:.6g}" not in md
    check = next(ln for ln in md.splitlines() if ln.startswith("| exact chain |"))
    if MC_DEPTH > last:
        assert check.split("|")[2].strip() == "–" and "| no |" in check
        assert any("Monte Carlo check of the exact chain" in n for n in s.notes)
    else:
        assert re.match(r"\| exact chain \| [0-9.e+-]+ \|", check)
