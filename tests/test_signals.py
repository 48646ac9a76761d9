"""Signals: the figures command stops cleanly on SIGINT and SIGTERM, and its worker processes die with it even when
it is killed with SIGKILL: nothing is written into the output folder after the command has ended, and no
temporary file is left behind (except by SIGKILL of a worker itself, which no program can clean up after)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Seconds to wait for the first figure, and then for late writes after the command ended (not measurements).
START_SECONDS, SETTLE_SECONDS = 120, 4


def _start(out: Path) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "figures", "--out", str(out)], cwd=out.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    # a test runner started in the background ignores SIGINT, and children inherit that; a user's shell does not
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_first_file(proc: subprocess.Popen) -> None:
    line = proc.stderr.readline()  # "[1/N] name: s" once the first figure is written
    assert line.startswith(b"[1/"), line


def _snapshot(out: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in out.iterdir()} if out.exists() else {}


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_figures_stop_with_the_command(tmp_path, sig, code):
    out = tmp_path / "figures"
    proc = _start(out)
    try:
        _wait_for_first_file(proc)
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code
    ended = _snapshot(out)
    time.sleep(SETTLE_SECONDS)
    assert _snapshot(out) == ended, "files were written after the command ended"
    assert not [name for name in ended if name.endswith(".part")], ended
    err = proc.stderr.read().decode()
    assert "Traceback" not in err, err
    if sig != signal.SIGKILL:
        assert err.strip().splitlines()[-1] in ("analytic: interrupted", "analytic: terminated"), err


# ---------------------------------------------------------------- the sweep's local Dask cluster

SWEEP = ("sweep", "--act", "relu", "--sigma-w2", "1,2", "--depth", "3", "--samples", "100")


def _start_sweep(out: Path) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *SWEEP, "--out", str(out)], cwd=out.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=_default_sigint)


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def _ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
    return bool(ignored & (1 << (signal.SIGINT - 1)))


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] not in ("Z", "X"):
                return False
    return True


@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "analytic: interrupted"),
                                             (signal.SIGTERM, 143, "analytic: terminated")], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_local_cluster_starts_stops_the_sweep(tmp_path, sig, code, line):
    """The signal is sent as soon as the first worker process exists, while the cluster is still starting (no
    progress line yet): it is honoured once the cluster is up, the cluster is closed, nothing is written."""
    out = tmp_path / "sweep"
    proc = _start_sweep(out)
    kids: list[int] = []
    try:
        while proc.poll() is None and not kids:  # the hang guard is the communicate timeout below
            kids = _children(proc.pid)
            time.sleep(0.002)
        assert kids, "the sweep ended before its cluster started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=START_SECONDS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    assert "Traceback" not in err, err
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [line], err  # no progress line: no task ran
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))
    deadline = time.monotonic() + START_SECONDS  # a hang guard, not a measurement
    while not _gone(kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(kids), "worker processes outlived the command"


def test_the_workers_ignore_sigint_and_ctrl_c_stops_the_sweep(tmp_path):
    """Once the cluster is up (the first progress line), every worker ignores SIGINT, so a terminal's Ctrl-C to the
    whole group is handled by the command alone: one line, status 130."""
    out = tmp_path / "sweep"
    proc = _start_sweep(out)
    try:
        first = proc.stderr.readline()
        assert first.startswith(b"sweep: 0/"), first
        kids = _children(proc.pid)
        assert kids and all(_ignores_sigint(k) for k in kids)
        for pid in kids:  # as a terminal does: every process of the group
            os.kill(pid, signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=START_SECONDS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "analytic: interrupted", err
    assert not [p for p in out.rglob("*") if p.name.endswith(".part") or p.name.startswith("results")]
