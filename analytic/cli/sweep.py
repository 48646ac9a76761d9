"""The ``sweep`` command: activations x initialisations (serial or on Dask, resumable), its table and heatmaps."""
from __future__ import annotations

import argparse
import sys

from .command import PROG, Output, UsageError, command
from .options import folder, positive_int
from .text import number, table


def _configure_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="?", metavar="SPEC",
                   help="TOML sweep spec (keys: activations, sigma_w2, sigma_b2, depth, width, samples, batch, "
                        "networks, seed, weights); the options below override its keys")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDR",
                       help="run on the Dask cluster at tcp://host:port (default: a local cluster of --workers "
                            "processes on this machine)")
    where.add_argument("--serial", action="store_true", help="run the tasks one by one in this process, without Dask")
    p.add_argument("--workers", type=positive_int, default=2, metavar="N",
                   help="worker processes of the local cluster (default 2)")
    p.add_argument("--out", default="sweep-out", type=folder, metavar="DIR",
                   help="output folder: tasks/, results.csv, results.json, heatmaps (default: sweep-out)")
    p.add_argument("--format", default="png", choices=["png", "svg", "pdf"], help="heatmap file format")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    for flag, key, meta in (("--act", "activations", "A,B"), ("--sigma-w2", "sigma_w2", "V,V|START:STOP:NUM"),
                            ("--sigma-b2", "sigma_b2", "V,V|START:STOP:NUM"), ("--depth", "depth", "L,L"),
                            ("--width", "width", "N,N"), ("--samples", "samples", "N"), ("--batch", "batch", "B"),
                            ("--networks", "networks", "K"), ("--seed", "seed", "S"),
                            ("--weights", "weights", "gaussian|orthogonal")):
        p.add_argument(flag, dest=f"spec_{key}", metavar=meta, help=f"sweep key {key}")


@command("sweep", "sweep activation x sigma_w^2 x sigma_b^2 x depth x width (Dask; resumable), table and heatmap",
         _configure_sweep)
def _sweep(args: argparse.Namespace) -> Output:
    import time
    from pathlib import Path

    from ..sweep import KEYS, heatmap_file, load_spec, run_sweep

    overrides = {key: getattr(args, f"spec_{key}") for key in KEYS}
    if args.spec is None and not any(overrides.values()):
        raise UsageError(f"{PROG} sweep: give a SPEC file or the sweep keys as options (--act, --sigma-w2, ...)")
    spec = load_spec(args.spec, overrides)
    started = time.perf_counter()
    tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
    step = max(1, spec.n_tasks // 20)

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        line = f"sweep: {done}/{total} tasks, {time.perf_counter() - started:.1f} s"
        if tty:
            print("\r" + line, end="\n" if done == total else "", file=sys.stderr, flush=True)
        elif done == total or done % step == 0:
            print(line, file=sys.stderr, flush=True)

    result = run_sweep(spec, args.out, scheduler=args.scheduler, serial=args.serial, n_workers=args.workers,
                       progress=progress)
    seconds = time.perf_counter() - started
    from ..output.network_plotting import sweep_heatmap
    from ..output.save import save
    from ..output.style import style

    depth = max(spec.depth)
    heatmaps = []
    for act in spec.activations:
        for width in spec.width:
            with style():
                fig = sweep_heatmap(result, activation=act, depth=depth, width=width)
            heatmaps.append(save(fig, Path(args.out) / heatmap_file(spec, act, width, args.format)))
    data = {**result.as_dict(), "heatmaps": [str(p) for p in heatmaps], "seconds": seconds}
    executor = ("nothing left to compute" if result.computed == 0 else "serial" if args.serial
                else f"Dask at {args.scheduler}" if args.scheduler else f"local Dask cluster, {args.workers} workers")
    lines = [f"{len(result.rows)} tasks ({result.computed} computed, {result.reused} reused from "
             f"{Path(args.out) / 'tasks'}) in {seconds:.1f} s, {executor}"]
    shown = result.rows[:12]
    rows = [[r["activation"], f"{r['sigma_w2']:.4g}", f"{r['sigma_b2']:.4g}", str(r["depth"]),
             "chain" if r["width"] == 1 else str(r["width"]),
             "-" if not isinstance(r["log_grad"], float) else f"{r['log_grad']:.4g} ± {r['log_grad_stderr']:.2g}",
             number(r["log_chi1_depth"]) if not isinstance(r["log_chi1_depth"], float)
             else f"{r['log_chi1_depth']:.4g}"] for r in shown]
    lines += ["", table(rows, ["act", "sigma_w2", "sigma_b2", "L", "width", "log_grad (MC)", "L ln chi1"])]
    if len(result.rows) > len(shown):
        lines.append(f"... {len(result.rows) - len(shown)} more rows in {result.files[0]}")
    lines += [""] + [str(p) for p in (*result.files, *heatmaps)]
    return Output("\n".join(lines), data)
