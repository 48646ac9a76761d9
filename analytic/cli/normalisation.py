"""``meanfield ACT --norm batch --batch B`` / ``--norm layer`` and ``simulate ACT --norm ...``: the per-layer growth
lambda of the squared gradient norm in a wide network with BatchNorm or LayerNorm, and its simulation."""
from __future__ import annotations

import argparse

from .command import PROG, Output, UsageError
from .options import integer, params_of
from .text import quantity, table, zscore

NORM_CHOICES = ("batch", "layer")


def add_norm(p: argparse.ArgumentParser, batch: bool) -> None:
    """``--norm batch|layer`` (and ``--batch B`` where the command has none of its own)."""
    p.add_argument("--norm", choices=NORM_CHOICES, default=None,
                   help="a wide network with BatchNorm over a batch (--batch B) or LayerNorm: the per-layer growth "
                        "lambda of the squared gradient norm (sigma_w^2 cancels)")
    if batch:
        p.add_argument("--batch", type=integer, default=None, metavar="B",
                       help="with --norm batch: the batch size B >= 4")


def architecture_of(args: argparse.Namespace, command: str, batch_given: bool):
    """The ``normalised(...)`` record the options describe (a usage error when they do not fit together)."""
    from ..architecture import normalised

    if args.norm == "batch":
        if not batch_given:
            raise UsageError(f"{PROG} {command}: error: --norm batch needs --batch B (B >= 4)")
        return normalised("batch", args.batch)
    if batch_given:
        raise UsageError(f"{PROG} {command}: error: --batch needs --norm batch (LayerNorm takes no batch size)")
    return normalised("layer")


def _depth_line(name: str, q, what: str, reason: str | None) -> str:
    if q is None:
        return f"  {name:<12} not reported ({reason})"
    return f"  {name:<12} {quantity(q, 8, linear=True)}  ({what})"


def meanfield(args: argparse.Namespace) -> Output:
    """The ``meanfield --norm`` output."""
    from ..theory.normalisation import normalised_growth

    if args.sigma_b2 not in (None, 0.0):
        raise UsageError(f"{PROG} meanfield: error: --norm models networks without bias; drop --sigma-b2")
    arch = architecture_of(args, "meanfield", args.batch is not None)
    g = normalised_growth(args.act, arch, params_of(args))
    lines = [f"{g.activation}: {arch.describe()}, width n -> infinity",
             f"  lambda       {quantity(g.lam, 12, linear=True)}  (squared gradient norm per layer, "
             "back-propagated)",
             _depth_line("depth scale", g.growth.depth_scale, "1/ln lambda", g.growth.reason),
             _depth_line("depth 1e6", g.growth.growth_depth,
                         "layers over which the squared gradient norm grows by 1e6: ln 1e6/ln lambda",
                         g.growth.reason)]
    if g.limit is not None:
        lines.append(f"  B -> inf     {quantity(g.limit, 12, linear=True)}  (E[phi'(z)^2]/Var phi(z))")
    lines.append("assumptions:")
    lines += [f"  - {a}" for a in g.as_dict()["assumptions"]]
    return Output("\n".join(lines), g.as_dict())


def simulate(args: argparse.Namespace) -> Output:
    """The ``simulate --norm`` output."""
    from ..compare_normalised import compare_normalised

    unused = [flag for flag, value, default in (("--bias", args.bias, None), ("--preact", args.preact, None))
              if value != default]
    if unused:
        raise UsageError(f"{PROG} simulate: error: {', '.join(unused)} do not apply with --norm")
    if args.width < 2:
        raise UsageError(f"{PROG} simulate: error: --norm needs a wide network (--width N, N >= 2)")
    arch = architecture_of(args, "simulate", args.batch is not None)
    c = compare_normalised(args.act, arch, width=args.width, depth=args.depth, networks=args.networks,
                           seed=args.seed, params=params_of(args), threads=args.threads)
    r = c.result
    lines = [f"{c.act}: {arch.describe()}, width {r.width}, depth {r.depth}, {r.networks} networks x {r.batch} "
             f"inputs, seed {r.seed}",
             f"  rate      {quantity(r.rate, 6, linear=True)}  (mean ||g_(l-1)||^2/||g_l||^2 per layer, "
             f"layers {r.burn_in + 1}..{r.depth - r.burn_in})",
             f"  log rate  {quantity(r.log_rate, 6, linear=True)}  (mean ln of the ratio)",
             f"  lambda    {quantity(c.lam, 12, linear=True)}  (n -> infinity)"]
    rows = [[k.statistic, "not converged" if k.withheld else f"{k.analytic:.10g}", f"{k.simulated:.6g}",
             f"{k.stderr:.2g}", "-" if k.withheld else zscore(k.z),
             "-" if k.withheld else ("yes" if k.agree else "NO") + ("" if k.reliable else "?")] for k in c.checks]
    lines += ["", table(rows, ["statistic", "analytic", "simulated", "stderr", "z", "agree"])]
    lines += [f"  {k.statistic}: {k.note}" for k in c.checks if k.note]
    if any(not k.reliable for k in c.checks):
        lines.append("  ? = not decisive (the reason is in the verdict)")
    lines += [f"note: {n}" for n in c.notes]
    lines.append(f"verdict: {c.verdict}")
    return Output("\n".join(lines), c.as_dict())
