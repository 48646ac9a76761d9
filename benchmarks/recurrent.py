"""The tied (recurrent) chain at T = 50: exact values (or withheld, with the reason) beside Monte Carlo of 1e5
sequences, with z-scores, for sigmoid, tanh and ReLU under normal(0, 1) and normal(1, 0.5), without and with
inputs normal(0, 1). Run: ``python benchmarks/recurrent.py [--depth T] [--samples N] [--no-inputs]``."""
from __future__ import annotations

import argparse
import math

from analytic.architecture import recurrent
from analytic.compare import simulate


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.6g}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, default=50)
    p.add_argument("--samples", type=int, default=100_000)
    p.add_argument("--no-inputs", action="store_true", help="only the chains without inputs")
    args = p.parse_args()
    cases = [(act, law, inputs) for inputs in ([None] if args.no_inputs else [None, "normal(0, 1)"])
             for act in ("sigmoid", "tanh", "relu") for law in ("normal(0, 1)", "normal(1, 0.5)")]
    print("| act | weights | inputs | quantity | exact | error | MC | stderr | z | decisive |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for act, law, inputs in cases:
        s = simulate(act, args.depth, law, samples=args.samples, seed=0, architecture=recurrent(inputs),
                     progress=False)
        if not s.checks:
            print(f"| {act} | {law} | {inputs or '-'} | all | {'; '.join(s.notes)} | | | | | |")
            continue
        for c in s.checks:
            exact = "withheld" if c.withheld else _fmt(c.analytic)
            q = s.analytic.get(c.statistic)
            err = _fmt(q["error"]) if isinstance(q, dict) and not c.withheld else "-"
            reason = (q or {}).get("reason") if isinstance(q, dict) else None
            if c.withheld and reason:
                exact += f" ({reason})"
            z = "-" if c.withheld or math.isnan(c.z) else f"{c.z:.2f}"
            print(f"| {act} | {law} | {inputs or '-'} | {c.statistic} | {exact} | {err} | {_fmt(c.simulated)} | "
                  f"{_fmt(c.stderr)} | {z} | {'yes' if c.reliable else 'no: ' + c.reason} |", flush=True)
        print(f"| {act} | {law} | {inputs or '-'} | verdict | {s.verdict} | | | | | |", flush=True)


if __name__ == "__main__":
    main()
