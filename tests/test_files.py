"""JSON-safe values: what the command line prints and the sweep stores, in strict JSON."""
from __future__ import annotations

import json
import math

import numpy as np

from analytic.core.files import json_safe


def test_non_finite_floats_are_spelled_and_numpy_scalars_become_python():
    value = {"nan": math.nan, "inf": np.float64(np.inf), "neg": -math.inf, "n": np.int64(7), "f": np.float32(0.5),
             "flag": True, "none": None, "nested": ({"x": [float("nan"), 2]},), 3: "three"}
    safe = json_safe(value)
    assert safe == {"nan": None, "inf": "inf", "neg": "-inf", "n": 7, "f": 0.5, "flag": True, "none": None,
                    "nested": [{"x": [None, 2]}], "3": "three"}
    assert type(safe["n"]) is int and type(safe["f"]) is float and safe["flag"] is True
    json.dumps(safe, allow_nan=False)  # strict JSON
