r"""The sweep's files: one task file per finished task (so a rerun resumes), the critical lines, the results
table as CSV and JSON, and the provenance of the numbers.

With an output folder, each finished task is written at once to ``OUT/tasks/<index>.json``
(temporary file + ``os.replace``) together with the spec's hash; a rerun skips every task whose file holds the
same hash, so an interrupted sweep loses at most the tasks in flight. ``results.csv`` and ``results.json`` are
assembled from the task files, atomically, and are byte-identical however the tasks were scheduled.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import OutputError
from ..core.files import atomic_write_text
from .spec import SweepSpec, is_int, is_number
from .tasks import COLUMNS


def task_path(out: str | os.PathLike, index: int) -> Path:
    """Where task ``index``'s row is stored: ``OUT/tasks/<index>.json``."""
    return Path(out) / "tasks" / f"{index}.json"


def write_task(out: Path, spec_hash: str, row: dict[str, Any]) -> None:
    """Store a finished task's row with the spec's hash, atomically."""
    text = json.dumps({"spec_hash": spec_hash, "row": row}, sort_keys=True, allow_nan=False)
    atomic_write_text(task_path(out, row["index"]), text + "\n")


def read_task(out: Path, spec_hash: str, index: int) -> dict[str, Any] | None:
    """The stored row of task ``index`` if its file exists, parses and carries ``spec_hash``; else ``None``."""
    try:
        data = json.loads(task_path(out, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("spec_hash") != spec_hash:
        return None
    row = data.get("row")
    if not isinstance(row, dict) or row.get("index") != index or set(row) != set(COLUMNS):
        return None
    return row if all(stored_value_ok(k, v) for k, v in row.items()) else None


_TEXT_COLUMNS = frozenset({"activation", "weights", "bias", "notes"})


def stored_value_ok(column: str, value: Any) -> bool:
    """A value of a stored task row as this module writes it: text in the text columns, a list of integers as the
    spawn key, else a finite number, "inf", "-inf" or null. A file edited by hand (NaN, a stray string) fails, and
    its task is computed again."""
    if column in _TEXT_COLUMNS:
        return value is None or isinstance(value, str)
    if column == "seed_spawn_key":
        return isinstance(value, list) and all(is_int(v) for v in value)
    if value is None or value in ("inf", "-inf"):
        return True
    return is_number(value) and math.isfinite(value)


def read_critical(out: Path | None, spec_hash: str) -> dict | None:
    """The critical lines stored in ``out/critical.json`` for this spec, or ``None``."""
    if out is None:
        return None
    try:
        data = json.loads((out / "critical.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("critical_line") if isinstance(data, dict) and data.get("spec_hash") == spec_hash else None


def write_critical(out: Path, spec_hash: str, critical: Mapping[str, Any]) -> None:
    """Store the critical lines in ``out/critical.json`` with the spec's hash, atomically."""
    atomic_write_text(out / "critical.json", json.dumps({"spec_hash": spec_hash, "critical_line": critical},
                                                        sort_keys=True, allow_nan=False) + "\n")


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the numbers depend on (``None`` when not installed)."""
    from importlib import metadata

    from .. import __version__

    out: dict[str, str | None] = {"analytic": __version__, "python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "sympy", "dask", "distributed"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: the spec, one row per task (sorted by index), provenance and the critical lines."""

    spec: SweepSpec
    rows: tuple[dict[str, Any], ...]
    critical: dict[str, dict[str, list]]
    provenance: dict[str, Any]
    computed: int
    reused: int
    files: tuple[Path, ...] = ()

    def table(self) -> dict[str, Any]:
        """The content of ``results.json``: provenance, columns, rows and the critical lines."""
        return {"provenance": self.provenance, "columns": list(COLUMNS), "rows": [dict(r) for r in self.rows],
                "critical_line": self.critical}

    def as_dict(self) -> dict[str, Any]:
        """JSON keys of the ``sweep`` command: ``tasks``, ``computed``, ``reused``, ``files``, ``provenance``,
        ``critical_line`` (the rows are in ``results.json``)."""
        return {"tasks": len(self.rows), "computed": self.computed, "reused": self.reused,
                "files": [str(p) for p in self.files], "provenance": self.provenance,
                "critical_line": self.critical}


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as CSV with the header :data:`COLUMNS`; floats in shortest round-trip form, ``None`` empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[k] is None else
                         " ".join(map(str, row[k])) if isinstance(row[k], list) else row[k] for k in COLUMNS])
    return buf.getvalue()


def dump_table(table: Mapping[str, Any]) -> str:
    """``results.json``'s text: one top-level key per line and one row per line (keys sorted; strict JSON)."""
    parts = []
    for key in sorted(table):
        value = table[key]
        if key == "rows":
            body = ",\n".join("  " + json.dumps(r, sort_keys=True, allow_nan=False) for r in value)
            parts.append(f' "rows": [\n{body}\n ]')
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value, sort_keys=True, allow_nan=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def load_results(out: str | os.PathLike) -> dict[str, Any]:
    """The table a finished sweep wrote into ``out`` (``results.json``)."""
    path = Path(out) / "results.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
