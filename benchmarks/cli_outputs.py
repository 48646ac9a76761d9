"""Snapshot the ``--json`` output of ``derive``, ``bound``, ``gradient`` and ``init`` for every catalogue entry,
or compare two snapshots.

A refactoring that should not change what users see is checked by a snapshot before and after::

    python benchmarks/cli_outputs.py write before/      # on the old tree
    python benchmarks/cli_outputs.py write after/       # on the new tree
    python benchmarks/cli_outputs.py compare before/ after/

``compare`` prints one line per JSON path whose value differs (numbers compared exactly) and a summary line,
and exits 1 when anything differs. Each command runs through the real entry point in a subprocess.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: command -> the options it runs with (``gradient`` on the user guide's example chain)
COMMANDS = {"derive": [], "bound": [], "gradient": ["--depth", "10", "--weights", "normal(1, 0.5)"], "init": []}


def _catalogue() -> list[str]:
    out = subprocess.run([sys.executable, "cli.py", "list", "--json"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    data = json.loads(out)
    rows = data["activations"] if isinstance(data, dict) and "activations" in data else data
    return [r["name"] if isinstance(r, dict) else r for r in rows]


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in _catalogue():
        for cmd, options in COMMANDS.items():
            run = subprocess.run([sys.executable, "cli.py", cmd, name, *options, "--json"], cwd=ROOT, capture_output=True,
                                 text=True)
            record = {"exit": run.returncode, "stdout": run.stdout if run.returncode else json.loads(run.stdout),
                      "stderr": run.stderr.strip()}
            (folder / f"{cmd}_{name}.json").write_text(json.dumps(record, sort_keys=True, indent=1) + "\n")
            print(f"{cmd:9s} {name:14s} exit {run.returncode}", flush=True)


def _diff(a, b, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: added")
            elif k not in b:
                out.append(f"{path}.{k}: removed")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:80]} -> {json.dumps(b)[:80]}")


def compare(before: Path, after: Path) -> int:
    lines: list[str] = []
    files = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    for name in files:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            lines.append(f"{name}: only in {'after' if not a.exists() else 'before'}")
            continue
        _diff(json.loads(a.read_text()), json.loads(b.read_text()), name[:-5], lines)
    print("\n".join(lines))
    print(f"{len(files)} outputs compared, {len(lines)} differences")
    return 1 if lines else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
