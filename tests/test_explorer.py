"""The explorer page: its precomputed tables against the library's own routes, withheld values shown missing,
byte-identical pages, and the real page in a headless browser (Debian's chromium driven by selenium).

The trajectories q_l, chi_l and their product come from the explorer's Gauss-Legendre rule; here they are
recomputed independently by iterating :func:`analytic.gaussian_expectation` (closed forms or adaptive quadrature).
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import analytic
from analytic.output import explorer as E
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]
SMALL = E.ExplorerGrid(activations=("tanh", "relu", "gelu"), sigma_w2=(1.0, 2.0, 0.5), sigma_b2=(0.0, 0.1, 0.05),
                       depth=4)
#: Both routes carry quadrature errors near 1e-11 relative; a wrong formula or index is off by far more.
RTOL = 1e-8


def _iterate(act: str, sw: float, sb: float, depth: int) -> tuple[list[float], list[float]]:
    """q_0..q_depth and chi_0..chi_(depth-1) by analytic.gaussian_expectation, from q_0 = 1."""
    q, chi = [1.0], []
    for _ in range(depth):
        s = math.sqrt(q[-1])
        chi.append(sw * analytic.gaussian_expectation(act, "dphi2", 0.0, s).value)
        q.append(sw * analytic.gaussian_expectation(act, "phi2", 0.0, s).value + sb)
    return q, chi


@pytest.fixture(scope="module")
def small():
    return E.explorer_tables(SMALL)


@pytest.mark.parametrize("a,i,j", [(0, 1, 1), (1, 0, 2), (2, 2, 0), (2, 1, 2)])
def test_tables_equal_the_library_at_grid_points(small, a, i, j):
    act, sw, sb = SMALL.activations[a], SMALL.sw[i], SMALL.sb[j]
    m = analytic.mean_field(act, sw, sb)
    assert small.q_star[a, i, j] == m.q_star and small.chi1[a, i, j] == m.chi1
    assert f"χ₁ = {m.chi1:.6g}" in small.summary[a][i][j]
    q, chi = _iterate(act, sw, sb, SMALL.depth)
    np.testing.assert_allclose(small.q[a, i, j], q, rtol=RTOL)
    np.testing.assert_allclose(small.chi[a, i, j], chi, rtol=RTOL)
    np.testing.assert_allclose(small.gradient[a, i, j], np.concatenate([[1.0], np.cumprod(chi)]), rtol=RTOL)
    G = [sw * analytic.gaussian_expectation(act, "phi2", 0.0, math.sqrt(x)).value + sb for x in E.Q_PLOT]
    np.testing.assert_allclose(small.G[a, i, j], G, rtol=RTOL, atol=1e-15)
    assert small.withheld[a][i][j] == ""


def test_activation_panel_and_bounds(small):
    x = np.array(E.X_PLOT)
    np.testing.assert_allclose(small.phi[0], np.tanh(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(small.dphi[0], 1 - np.tanh(x) ** 2, rtol=1e-12, atol=1e-15)
    sup, inf, sup_text, inf_text = small.bounds[2]  # GELU: sup phi' = Phi(sqrt 2) + e^-1/sqrt(pi) at x = sqrt(2)
    assert sup == pytest.approx(0.5 * (1 + math.erf(1.0)) + math.exp(-1) / math.sqrt(math.pi), rel=1e-15)
    assert inf == pytest.approx(1 - sup, rel=1e-14) and "attained at x = sqrt(2)" in sup_text
    assert "not attained" in small.bounds[0][3] and "attained at x = 0" in small.bounds[0][2]  # tanh: inf 0 at ±oo


def test_the_trajectory_reaches_the_mean_field_fixed_point():
    """Deep enough, q_l and chi_l settle at mean_field's q* and chi_1 (found there by brentq, not by iterating)."""
    g = E.ExplorerGrid(activations=("tanh",), sigma_w2=(1.5, 1.5, 0.1), sigma_b2=(0.05, 0.05, 0.05), depth=120)
    t = E.explorer_tables(g)
    m = analytic.mean_field("tanh", 1.5, 0.05)
    assert t.q[0, 0, 0, -1] == pytest.approx(m.q_star, rel=1e-9)
    assert t.chi[0, 0, 0, -1] == pytest.approx(m.chi1, rel=1e-9)


def test_the_critical_points_are_the_library_s(small):
    for a, act in enumerate(SMALL.activations):
        want = [(p.sigma_w2, sb, p.stable) for sb in E._axis(0.0, 0.1, E.CRITICAL_STEP)
                for p in analytic.critical_points(act, sb)]
        assert list(small.critical[a]) == want
    assert (2.0, 0.0, True) in small.critical[1]  # ReLU: He, sigma_w^2 = 2 at sigma_b^2 = 0


def test_a_withheld_value_is_shown_missing(monkeypatch):
    """Rule levels that never agree leave q_l (l >= 1) withheld: NaN in the page's data and the reason printed; a
    mean field that refuses leaves q*, chi_1 missing with its reason, never a number."""
    from analytic.errors import ConvergenceError
    import analytic.theory.meanfield as mf

    real = mf.mean_field

    def refusing(act, sw, sb, *args, **kw):
        if act == "tanh" and sw == 1.5 and sb == 0.05:
            raise ConvergenceError("tanh: planted refusal")
        return real(act, sw, sb, *args, **kw)

    rule = E.length_moments

    def disagreeing(act, q, level=0):  # every level 1e-6 away from the next: the tolerance is never met
        V, W = rule(act, q, level)
        return V * (1 + 1e-6 * level), W * (1 + 1e-6 * level)

    monkeypatch.setattr(mf, "mean_field", refusing)
    monkeypatch.setattr(E, "length_moments", disagreeing)
    g = E.ExplorerGrid(activations=("tanh",), sigma_w2=(1.0, 2.0, 0.5), sigma_b2=(0.0, 0.05, 0.05), depth=3)
    t = E.explorer_tables(g)
    assert np.isnan(t.q[0, :, :, 1:]).all() and (t.q[0, :, :, 0] == 1.0).all()
    assert "q_l withheld from l = 1" in t.withheld[0][1][1]
    assert np.isnan(t.q_star[0, 1, 1]) and np.isnan(t.chi1[0, 1, 1]) and not np.isnan(t.chi1[0, 0, 1])
    assert "planted refusal" in t.withheld[0][1][1] and "q*, χ₁ withheld" in t.summary[0][1][1]
    store = E._store(t)
    k = 1 * len(g.sb) + 1
    assert np.isnan(store["q"][k * 4 + 1:k * 4 + 4]).all() and np.isnan(store["log10_chi1"][k])
    assert store["withheld"][k].startswith("<b>Withheld (not drawn):</b>")
    page = E.explorer_html(t)
    assert "planted refusal" in page


def test_two_runs_give_identical_bytes(tmp_path):
    """Two processes with different hash seeds and id styles, and a second page built in the same process, give the
    same bytes."""
    code = ("import sys; from analytic.output.explorer import ExplorerGrid, write_explorer, explorer_html, "
            "explorer_tables; g = ExplorerGrid(activations=('relu', 'tanh'), sigma_w2=(1.0, 2.0, 1.0), "
            "sigma_b2=(0.0, 0.1, 0.1), depth=3); write_explorer(sys.argv[1], g); "
            "t = explorer_tables(g); assert explorer_html(t) == explorer_html(t)")
    pages = []
    for seed, simple, name in (("1", "yes", "a"), ("2", "no", "b")):  # "no": Bokeh draws every id as a UUID
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT), "BOKEH_SIMPLE_IDS": simple}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, env=env, timeout=WALL_SECONDS)
        pages.append((tmp_path / name / E.PAGE).read_bytes())
    assert pages[0] == pages[1]
    assert b"p1001" not in pages[0]  # Bokeh's own counters are renumbered


# ---------------------------------------------------------------- the real page in a browser

#: (activation, sigma_w^2, sigma_b^2, depth) set through the widgets' Bokeh models.
POSITIONS = (("gelu", 2.0, 0.2, 12), ("relu", 1.2, 0.1, 20), ("sigmoid", 3.5, 0.0, 7))
WAIT = 300  # seconds: a hang guard on loading a 6 MB page on a busy machine, not a timing assertion


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "the browser test needs Debian's chromium and chromium-driver (apt-get install)"
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(arg)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                 "downloadThroughput": -1, "uploadThroughput": -1})
    return browser


def _js_data(browser, source: str, column: str) -> list:
    return browser.execute_script(
        f"return Array.from(Bokeh.documents[0].get_model_by_name('{source}').data['{column}'])")


def test_the_page_in_a_headless_browser(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "explore", "--out", str(tmp_path), "--json"],
                         capture_output=True, text=True, timeout=WALL_SECONDS, cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    page = Path(json.loads(out.stdout)["files"][0])
    assert page == tmp_path / "explorer.html" and page.stat().st_size < 10 * 2**20
    text = page.read_text(encoding="utf-8")
    # every script inline; the browser below is offline, so a page needing the network would log errors
    assert all(tag in ("<script>", '<script type="application/json" id="e3">')
               for tag in re.findall(r"<script\b[^>]*>", text))
    browser = _browser()
    try:
        browser.get(page.as_uri())
        ready = "try { return Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle } catch (e) { return false }"
        for _ in range(WAIT * 10):
            if browser.execute_script(ready):
                break
            time.sleep(0.1)
        assert browser.execute_script(ready), "the page did not finish loading"
        before = _js_data(browser, "q_source", "q")
        for act, sw, sb, depth in POSITIONS:
            browser.execute_script(
                "const d = Bokeh.documents[0];"
                f"d.get_model_by_name('activation').value = '{act}';"
                f"d.get_model_by_name('sigma_w2').value = {sw};"
                f"d.get_model_by_name('sigma_b2').value = {sb};"
                f"d.get_model_by_name('depth').value = {depth};")
            q = _js_data(browser, "q_source", "q")
            chi = _js_data(browser, "chi_source", "chi")
            grad = _js_data(browser, "gradient_source", "gradient")
            want_q, want_chi = _iterate(act, sw, sb, depth)
            np.testing.assert_allclose(q, want_q, rtol=RTOL)
            np.testing.assert_allclose(chi, want_chi, rtol=RTOL)
            np.testing.assert_allclose(grad, np.concatenate([[1.0], np.cumprod(want_chi)]), rtol=RTOL)
            m = analytic.mean_field(act, sw, sb)
            status = browser.execute_script("return Bokeh.documents[0].get_model_by_name('status').text")
            assert f"{act}, σ_w² = {sw:g}, σ_b² = {sb:g}" in status and f"χ₁ = {m.chi1:.6g}" in status
            point = (_js_data(browser, "point_source", "x"), _js_data(browser, "point_source", "y"))
            assert point == ([sw], [sb])
            phi = _js_data(browser, "activation_source", "dphi")
            np.testing.assert_allclose(phi, analytic.numpy_function(act, 1)(np.array(E.X_PLOT)), rtol=1e-14)
        assert q != before
        severe = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert not severe, severe
    finally:
        browser.quit()
