"""sigma_w2_range: the sigma_w^2 interval keeping depth-L mean-field gradients within a factor k, against ReLU's
closed form chi1 = sigma_w^2/2 and, for tanh, against chi1 recomputed at the endpoints by mean_field."""
from __future__ import annotations


import pytest

import analytic


@pytest.mark.parametrize("depth,factor", [(1, 2.0), (10, 10.0), (50, 100.0)])
def test_relu_interval_is_the_closed_form(depth, factor):
    r = analytic.sigma_w2_range("relu", depth, factor=factor)
    low, high = 2 * factor ** (-1 / depth), 2 * factor ** (1 / depth)  # chi1 = sigma_w^2 / 2
    assert abs(r.low - low) <= max(r.low_error, 1e-14) and abs(r.high - high) <= max(r.high_error, 1e-14)
    assert r.low_error < 1e-6 and r.high_error < 1e-6 and r.critical == pytest.approx(2.0, abs=1e-12)


def test_tanh_endpoints_put_chi1_at_the_factor():
    depth, factor, sb = 12, 10.0, 0.1
    r = analytic.sigma_w2_range("tanh", depth, sigma_b2=sb, factor=factor)
    assert r.low < r.critical < r.high
    for s, sign, err in ((r.low, -1, r.low_error), (r.high, 1, r.high_error)):
        chi = analytic.mean_field("tanh", s, sb).chi1
        assert chi ** depth == pytest.approx(factor ** sign, rel=1e-7)
        # just inside and just outside the endpoint (by 100 errors) land on either side of the factor
        inside = analytic.mean_field("tanh", s - sign * 100 * err, sb).chi1 ** depth
        outside = analytic.mean_field("tanh", s + sign * 100 * err, sb).chi1 ** depth
        assert (inside - factor ** sign) * sign < 0 < (outside - factor ** sign) * sign


def test_display_names_the_mean_field_and_its_caveat():
    pd = pytest.importorskip("pandas")
    r = analytic.sigma_w2_range("relu", 10)
    assert repr(r).startswith("MeanFieldRange(") and len(repr(r)) <= 120
    page = r._repr_html_()
    assert "<table>" in page and "finite width" in page and "mean field" in page
    frame = r.to_frame()
    assert isinstance(frame, pd.DataFrame) and {"low", "high", "low_error", "high_error", "model"} <= set(frame)


def test_bad_input_is_refused():
    for kwargs in ({"depth": 0}, {"depth": 3, "factor": 1.0}, {"depth": 3, "sigma_b2": -1}):
        with pytest.raises(analytic.AnalyticError):
            analytic.sigma_w2_range("relu", **kwargs)
