r"""Parameter sweeps: activation × :math:`\sigma_w^2` × :math:`\sigma_b^2` × depth × width, each point a seeded
Monte Carlo run beside the analytic numbers, run in-process or on a Dask cluster, resumable, gathered into one
table (CSV and JSON) with provenance.

The parts, in the order the data flows: :mod:`~analytic.sweep.spec` (the spec and its tasks),
:mod:`~analytic.sweep.tasks` (the row of one task), :mod:`~analytic.sweep.store` (task files, resuming, the
table), :mod:`~analytic.sweep.heatmap` (the critical lines and the heatmap grid) and
:mod:`~analytic.sweep.executors` (serial or Dask); :func:`run_sweep` here ties them together.

>>> spec = SweepSpec.from_mapping({"activations": ["relu"], "sigma_w2": [1.0, 2.0], "depth": 3, "samples": 100})
>>> [(t.index, t.sigma_w2, t.depth) for t in spec.tasks()]
[(0, 1.0, 3), (1, 2.0, 3)]
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ClusterError, SweepSpecError, canonical_callable, canonical_int, canonical_text, show_value
from ..core.files import atomic_write_text, canonical_path, output_folder
from .executors import Progress, local_cluster, run_dask, run_serial
from .heatmap import HeatmapData, critical_grid, critical_line, critical_point, heatmap_data, heatmap_file
from .spec import ENSEMBLES, KEYS, MAX_SPEC_BYTES, MAX_TASKS, MAX_VARIANCE, SweepSpec, Task, load_spec
from .store import (SweepResult, dump_table, load_results, read_critical, read_task, task_path, to_csv, versions,
                    write_critical, write_task)
from .tasks import CHAIN_INPUT, COLUMNS, PREACT, run_task

__all__ = ["CHAIN_INPUT", "COLUMNS", "ENSEMBLES", "KEYS", "MAX_SPEC_BYTES", "MAX_TASKS", "MAX_VARIANCE", "PREACT",
           "HeatmapData", "Progress", "SweepResult", "SweepSpec", "Task", "critical_line", "critical_point",
           "dump_table", "heatmap_data", "heatmap_file", "load_results", "load_spec", "local_cluster", "run_sweep",
           "run_task", "task_path", "to_csv", "versions"]


def run_sweep(spec: SweepSpec, out: str | os.PathLike | None = None, *, scheduler: str | None = None,
              serial: bool = False, n_workers: int = 2, progress: Progress | None = None) -> SweepResult:
    """Run every task of ``spec`` not already stored in ``out``, and assemble the table.

    ``serial=True`` runs the tasks one after another in this process (no Dask); otherwise on the Dask cluster at
    ``scheduler`` (``tcp://host:port``) or, by default, a ``distributed.LocalCluster`` of ``n_workers`` processes
    with one thread each, on loopback, without dashboard. ``progress(done, total)`` is called at the start and
    after every task. With ``out``, task rows are stored in ``out/tasks/`` as they finish, the critical lines in
    ``out/critical.json``, and ``results.csv`` and ``results.json`` are written at the end; none of them depends
    on ``serial``/``scheduler``.

    >>> spec = SweepSpec.from_mapping({"activations": ["relu"], "sigma_w2": [2.0], "depth": 2, "samples": 50})
    >>> run_sweep(spec, serial=True).rows[0]["chi1"]
    1.0
    """
    scheduler, n_workers = _check_run(spec, scheduler, serial, n_workers, progress)
    out_path = None if out is None else canonical_path("output folder", out)
    made = [] if out_path is None else [p for p in (out_path / "tasks", out_path) if not p.exists()]
    try:
        return _run_sweep(spec, out_path, scheduler, serial, n_workers, progress)
    except BaseException:
        for folder in made:  # a refused or failed run leaves no empty folders behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _check_run(spec: Any, scheduler: Any, serial: Any, n_workers: Any, progress: Any) -> tuple[str | None, int]:
    """Refuse bad arguments of :func:`run_sweep` before anything is created or connected."""
    if not isinstance(spec, SweepSpec):
        raise SweepSpecError(f"run_sweep needs a SweepSpec (see load_spec), got {type(spec).__name__}")
    if not isinstance(serial, (bool, np.bool_)):
        raise SweepSpecError(f"serial must be True or False, got {show_value(serial)}")
    canonical_callable("progress", progress)
    n_workers = canonical_int("n_workers", n_workers, 1, 256, SweepSpecError)
    if scheduler is not None:
        scheduler = canonical_text("scheduler", scheduler, error=ClusterError).strip()
        scheme, sep, where = scheduler.rpartition("://")
        host, colon, port = where.rpartition(":")
        if (sep and scheme != "tcp") or not colon or not host or not port.isascii() or not port.isdigit() \
                or not 0 < int(port) < 65536:
            raise ClusterError(f"scheduler address {show_value(scheduler)} is not supported: give tcp://host:port "
                               "(TLS and UCX need settings this command does not take)")
    return scheduler, n_workers


def _stored_rows(out_path: Path | None, spec_hash: str, tasks: list[Task]) -> dict[int, dict[str, Any]]:
    """The rows already in ``out_path/tasks/`` for this spec (creating the folders), by task index."""
    rows: dict[int, dict[str, Any]] = {}
    if out_path is None:
        return rows
    output_folder(out_path)
    output_folder(out_path / "tasks")
    for task in tasks:
        row = read_task(out_path, spec_hash, task.index)
        if row is not None and all(row[k] == getattr(task, k) for k in ("activation", "sigma_w2", "sigma_b2",
                                                                          "depth", "width")):
            rows[task.index] = row
    return rows


def _provenance(spec: SweepSpec) -> dict[str, Any]:
    """Where the numbers come from: versions, the spec and its hash, the seeding and the fixed settings."""
    return {"versions": versions(), "spec": spec.as_dict(), "spec_hash": spec.hash, "root_seed": spec.seed,
            "tasks": spec.n_tasks, "order": ["activations", "sigma_w2", "sigma_b2", "depth", "width"],
            "seeds": "numpy.random.SeedSequence(root_seed).spawn(tasks)[index]", "preact": PREACT,
            "chain_input": CHAIN_INPUT}


def _run_sweep(spec: SweepSpec, out_path: Path | None, scheduler: str | None, serial: bool, n_workers: int,
               progress: Progress | None) -> SweepResult:
    tasks = spec.tasks()
    total = len(tasks)
    spec_hash = spec.hash
    rows = _stored_rows(out_path, spec_hash, tasks)
    reused = len(rows)
    pending = [t for t in tasks if t.index not in rows]
    grid = critical_grid(spec.sigma_b2)
    critical = read_critical(out_path, spec_hash)
    points = [] if critical is not None else [(a, sb) for a in spec.activations for sb in grid]

    def started() -> None:  # once the tasks can run: no progress line before a failed connection
        if progress is not None:
            progress(len(rows), total)

    def done(row: dict[str, Any]) -> None:
        if out_path is not None:
            write_task(out_path, spec_hash, row)
        rows[row["index"]] = row
        if progress is not None:
            progress(len(rows), total)

    if serial or not pending:
        started()
        values = run_serial(pending, done, points)
    else:
        values = run_dask(pending, done, points, scheduler, n_workers, started)
    if critical is None:
        it = iter(values)
        critical = {a: {"sigma_b2": list(grid), "sigma_w2": [next(it) for _ in grid]} for a in spec.activations}
        if out_path is not None:
            write_critical(out_path, spec_hash, critical)
    ordered = tuple(rows[i] for i in range(total))
    result = SweepResult(spec, ordered, critical, _provenance(spec), computed=len(pending), reused=reused)
    if out_path is None:
        return result
    json_path, csv_path = out_path / "results.json", out_path / "results.csv"
    atomic_write_text(json_path, dump_table(result.table()))
    atomic_write_text(csv_path, to_csv(ordered))
    return SweepResult(spec, ordered, critical, result.provenance, len(pending), reused, (csv_path, json_path))
