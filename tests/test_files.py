"""JSON-safe values: what the command line prints and the sweep stores, in strict JSON. Stored parts: given back only
under an equal key; the digests that go into the keys."""
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


def test_a_part_is_given_back_only_for_an_equal_key(tmp_path):
    from analytic.core.files import read_part, write_part

    key = {"name": "relu", "budget": {"grid": 201, "depths": (1, 2)}, "code": {"source": "abc"}}
    path = write_part(tmp_path / "part.json", key, {"lines": ["a", "ß ≤ 1"]})
    assert read_part(path, {"code": {"source": "abc"}, "budget": {"depths": [1, 2], "grid": 201}, "name": "relu"}) \
        == {"lines": ["a", "ß ≤ 1"]}                      # key order and tuple/list do not matter
    for other in ({**key, "name": "tanh"}, {**key, "budget": {"grid": 202, "depths": (1, 2)}},
                  {**key, "code": {"source": "abd"}}, {k: v for k, v in key.items() if k != "code"}):
        assert read_part(path, other) is None
    assert read_part(tmp_path / "missing.json", key) is None
    text = path.read_text()
    path.write_text(text[: len(text) // 2])                 # malformed
    assert read_part(path, key) is None
    path.write_text(json.dumps({"key": key}))             # no payload
    assert read_part(path, key) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.json"]  # no temporary file left


def test_file_and_source_digests(tmp_path):
    import hashlib

    from analytic.core.files import file_digest, source_digest

    (tmp_path / "a.py").write_bytes(b"x = 1\n")
    assert file_digest(tmp_path / "a.py") == hashlib.sha256(b"x = 1\n").hexdigest()
    assert file_digest(tmp_path / "missing") is None
    first = source_digest(tmp_path)
    (tmp_path / "notes.txt").write_text("not source")
    assert source_digest(tmp_path) == first                 # only Python sources count
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("")
    second = source_digest(tmp_path)
    assert second != first                                  # a new module
    (tmp_path / "sub" / "b.py").rename(tmp_path / "sub" / "c.py")
    third = source_digest(tmp_path)
    assert third not in (first, second)                     # a renamed module
    (tmp_path / "a.py").write_bytes(b"x = 2\n")
    assert source_digest(tmp_path) not in (first, second, third)  # an edited module
