"""The ``simulate`` command: the Monte Carlo of one chain or wide network beside its analytic values."""
from __future__ import annotations

import argparse

from . import normalisation as normalised
from .command import PROG, Output, UsageError, command
from .normalisation import add_norm
from .options import add_activation, add_params, add_residual, add_tied, architecture_of, finite_float, integer, \
    params_of, positive_int
from .text import sci, table, zscore


def _configure_simulate(p: argparse.ArgumentParser) -> None:
    add_activation(p)
    p.add_argument("--depth", type=positive_int, required=True, metavar="R", help="number of layers r")
    p.add_argument("--weights", default=None, metavar="SPEC",
                   help="weight distribution, e.g. 'normal(1, 0.5)'; with --width n the spec's own scale is used "
                        "(he(n) = N(0, 2/n)); required without --norm")
    p.add_argument("--width", type=positive_int, default=1, metavar="N",
                   help="1 (default): the chain of one neuron per layer; N > 1: an MLP of width N")
    p.add_argument("--samples", type=positive_int, default=100_000, metavar="N", help="chains (default 100000)")
    p.add_argument("--seed", type=integer, default=0, help="random seed (default 0)")
    p.add_argument("--x", type=finite_float, default=1.0, metavar="X", help="chain input y_0 (default 1)")
    p.add_argument("--bias", metavar="SPEC", help="bias distribution (default: no bias)")
    p.add_argument("--preact", metavar="SPEC",
                   help="simulate the independence model: v_t drawn from SPEC, independent of the weights")
    p.add_argument("--batch", type=positive_int, default=None, metavar="B",
                   help="inputs per network (width > 1; default 64); with --norm batch the batch normalised over")
    p.add_argument("--networks", type=positive_int, default=8, metavar="K",
                   help="independent weight draws (width > 1; default 8)")
    add_tied(p)
    add_residual(p)
    add_params(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="threads for the chain (default: the cores available); the numbers do not depend on it")
    add_norm(p, batch=False)


@command("simulate", "Monte Carlo of the gradient product vs the analytic values, with z-scores", _configure_simulate)
def _simulate(args: argparse.Namespace) -> Output:
    from ..compare import simulate
    from ..mc import ChainSimulation

    if args.norm is not None:
        return normalised.simulate(args)
    if args.weights is None:
        raise UsageError(f"{PROG} simulate: the following arguments are required: --weights")
    s = simulate(args.act, args.depth, args.weights, width=args.width, samples=args.samples, seed=args.seed,
                 x=args.x, bias=args.bias, preact=args.preact, params=params_of(args),
                 progress=False if args.quiet else None, batch=64 if args.batch is None else args.batch,
                 networks=args.networks, threads=args.threads,
                 **({"architecture": arch} if (arch := architecture_of(args)) else {}))
    r = s.result
    lines = []
    if isinstance(r, ChainSimulation):
        where = f"v_t ~ {r.preact}, independent of w_t" if r.preact else \
            f"exact chain, x = {r.x:g}" + (f", bias {r.bias}" if r.bias else "")
        if r.architecture is not None:
            if r.architecture.kind == "recurrent":
                where = (f"recurrent, tied weights: one w per sequence, h_0 = {r.x:g}, "
                         + (f"inputs {r.bias}" if r.bias else "no inputs"))
            else:
                where = f"{r.architecture.describe()}, x = {r.x:g}" + (f", bias {r.bias}" if r.bias else "")
        lines += [f"{r.act}: depth {r.depth}, weights {r.weights}, {r.samples} chains ({where}), seed {r.seed}",
                  f"  E[prod]        = {sci(r.mean.value, r.mean.log_abs)} ± {sci(r.mean.stderr, r.mean.log_stderr)}",
                  f"  E|prod|        = {sci(r.mean_abs.value, r.mean_abs.log_abs)}"
                  f" ± {sci(r.mean_abs.stderr, r.mean_abs.log_stderr)}",
                  f"  E[prod^2]      = {sci(r.mean_square.value, r.mean_square.log_abs)}"
                  f" ± {sci(r.mean_square.stderr, r.mean_square.log_stderr)}",
                  f"  median |prod|  = {sci(r.median_abs.value, r.log_median_abs.value)}"
                  f" (log {r.log_median_abs.value:.6g} ± {r.log_median_abs.stderr:.2g})",
                  f"  E log|prod|    = {r.log_mean.value:.6g} ± {r.log_mean.stderr:.2g} (over non-zero products; "
                  f"sd {r.log_std:.4g})",
                  f"  zero products  = {r.zero_fraction.value:.6g} ± {r.zero_fraction.stderr:.2g}; effective "
                  f"sample size of the mean {r.ess:.3g}" + (f"; {r.nonfinite} overflowed" if r.nonfinite else "")]
        fw = r.framework_underflow
        if fw:
            lines.append("  what a float64 / float32 framework would see (not this chain): products underflowing to "
                         f"exactly 0 = {fw['float64'].value:.4g} ± {fw['float64'].stderr:.2g} (float64), "
                         f"{fw['float32'].value:.4g} ± {fw['float32'].stderr:.2g} (float32)")
    else:
        lines += [f"{r.act}: depth {r.depth}, width {r.width}, weights {r.weights} (sigma_w^2 = n E[w^2] = "
                  f"{r.sigma_w2:.6g}), {r.networks} networks x {r.batch} inputs, seed {r.seed}",
                  f"  slope of log E||dL/dy_l||^2 per layer = {r.slope.value:.6g} ± {r.slope.stderr:.2g}"
                  f" (typical: mean log, {r.slope_log.value:.6g} ± {r.slope_log.stderr:.2g})",
                  f"  q at the last layer {r.q[-1]:.6g}; dead units (phi' = 0 for the whole batch) "
                  f"{max(r.dead_unit_fraction):.4g} at most per layer; zero phi' {r.zero_dphi_fraction[-1]:.4g} "
                  "at the last layer"]
    if s.checks:
        twin = {c["statistic"]: c for c in s.analytic.get("independent_checks", [])}
        header = ["statistic", "analytic", "simulated", "stderr", "z", "agree"]
        if twin:
            header += ["indep. model", "z (indep.)"]
        rows = []
        for c in s.checks:
            row = [c.statistic + (" (<=)" if c.one_sided else ""),
                   "not converged" if c.withheld else sci(c.analytic, c.log_analytic),
                   sci(c.simulated, c.log_simulated), sci(c.stderr, c.log_stderr, 2),
                   "-" if c.withheld else zscore(c.z),
                   "-" if c.withheld else ("yes" if c.agree else "NO") + ("" if c.reliable else "?")]
            if twin:
                t = twin.get(c.statistic)
                row += ([sci(t["simulated"], t["log_abs_simulated"]), "-" if t["z"] is None else zscore(t["z"])]
                        if t else ["-", "-"])
            rows.append(row)
        lines += ["", table(rows, header)]
        lines += [f"  {c.statistic}: {c.note}" for c in s.checks if c.note]
        if any(not c.reliable for c in s.checks):
            lines.append("  ? = not decisive (the reason is in the verdict)")
    lines += [f"note: {n}" for n in s.notes]
    lines.append(f"verdict: {s.verdict}")
    return Output("\n".join(lines), s.as_dict())
