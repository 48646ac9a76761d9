"""Signals: the figures command stops cleanly on SIGINT and SIGTERM, and its worker processes die with it even when
it is killed with SIGKILL: nothing is written into the output folder after the command has ended, and no
temporary file is left behind (except by SIGKILL of a worker itself, which no program can clean up after)."""
from __future__ import annotations

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
