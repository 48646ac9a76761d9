"""Commands on the theory of deep gradient products: the gradient across depth, initialisation, mean field,
the window of inputs that keep a gradient alive, and the spectrum of the input-output Jacobian."""
from __future__ import annotations

import argparse
import math

from ..quantities import STANDARD_NORMAL, exp_or_inf
from . import normalisation as normalised
from .command import PROG, Output, UsageError, command
from .options import (add_activation, add_params, add_residual, add_tied, architecture_of, finite_float, integer,
                      params_of, positive_int, width_list)
from .normalisation import add_norm
from .text import number, opt, quantity, sci, table, zscore


def _configure_gradient(p: argparse.ArgumentParser) -> None:
    add_activation(p)
    p.add_argument("--depth", type=integer, required=True, metavar="R", help="number of layers r (1 to 10**6)")
    p.add_argument("--weights", required=True, metavar="SPEC", help="weight distribution, e.g. 'normal(1, 0.5)'")
    p.add_argument("--x", type=finite_float, default=1.0, metavar="X", help="chain input y_0 (default 1)")
    p.add_argument("--bias", metavar="SPEC", help="bias distribution (default: no bias)")
    p.add_argument("--preact", default=STANDARD_NORMAL, metavar="SPEC",
                   help=f"pre-activation distribution of the independence approximation (default {STANDARD_NORMAL})")
    p.add_argument("--threshold", type=finite_float, default=1e-6, metavar="T",
                   help="report the first depth at which each quantity falls below T (default 1e-6)")
    add_tied(p)
    add_residual(p)
    add_params(p)


def _reach(depth: int | None, threshold: float, within: int | None = None) -> str:
    if depth is not None:
        return f"below {threshold:g} from r = {depth}"
    return f"not below {threshold:g} by r = {within}" if within else f"never below {threshold:g}"


@command("gradient", "the gradient product across depth: exact chain, crude bound, independence approximation",
         _configure_gradient)
def _gradient(args: argparse.Namespace) -> Output:
    from ..theory.gradient import gradient

    arch = architecture_of(args)
    if arch is not None and arch.kind == "recurrent":
        return _recurrent_gradient(gradient(args.act, args.depth, args.weights, x=args.x, bias=args.bias,
                                            threshold=args.threshold, params=params_of(args), architecture=arch))
    g = gradient(args.act, args.depth, args.weights, x=args.x, bias=args.bias, preact=args.preact,
                 threshold=args.threshold, params=params_of(args), architecture=arch)
    if arch is not None:
        return _residual_gradient_text(g)
    c, ind, r, t = g.exact_chain, g.independence, g.depth, g.threshold
    per = ind.per_layer
    b, m, ms, ty = per["bound"], per["mean"], per["mean_square"], per["typical"]
    reach, er = g.depth_to_threshold, g.depth_to_threshold["exact_chain"]

    def q(name: str, linear: bool = False) -> str:
        return quantity(c[name], 10, linear)

    def ratio(key: str, name: str) -> str:
        if c[name].withheld:
            return "x -: the exact value is not converged"
        v = g.ratios.get(key)
        return "x -" if v is None else f"x {v:.4g}"

    def exact_reach(key: str) -> str:
        why = reach.get("exact_chain_withheld", {}).get(key)
        return f"first depth below {t:g} unknown: {why}" if why else _reach(er[key], t, r)

    lm = c["log_mean"]
    sup, edphi, edphi2, elog = b["sup|phi'|"], m["E[phi'(v)]"], ms["E[phi'(v)^2]"], ty["E log|phi'(v)|"]
    elog_line = (f"  E log|prod|      = {q('log_mean', True)}" if lm.withheld else
                 f"  E log|prod|      = {q('log_mean', True)} over non-zero products; "
                 f"exp(E log|prod|) = {sci(exp_or_inf(lm.value), lm.value)}")
    lines = [f"{g.activation}: gradient prod_t w_t phi'(v_t) over r = {r} layers, weights {g.weights}, x = {g.x:g}, "
             + (f"bias {g.bias}" if g.bias else "no bias"),
             f"exact chain ({c.method}):",
             f"  E[prod]          = {q('mean')}  [{exact_reach('mean')}]",
             f"  E|prod|          = {q('mean_abs')}  [{exact_reach('mean_abs')}]",
             f"  E[prod^2]        = {q('mean_square')}  [{exact_reach('mean_square')}]",
             f"{elog_line}  [{exact_reach('typical')}]",
             f"  P(prod = 0)      = {q('zero_probability', True)}",
             f"crude bound  {ind.formulas['bound']} = ({b['E|w|']:.6g} * {sup:.6g})^{r} = "
             f"{sci(g.bound, ind.log_bound)}  [{_reach(reach['bound'], t)}]",
             f"independence approximation (v_t ~ {ind.preact}, independent of w_t; NOT this network), "
             "ratio to the exact chain:",
             f"  mean         {ind.formulas['mean']} = ({m['E[w]']:.6g} * {edphi:.6g})^{r} = "
             f"{sci(ind.mean, ind.log_mean_abs)}  ({ratio('mean', 'mean')})",
             f"  mean square  {ind.formulas['mean_square']} = ({ms['E[w^2]']:.6g} * {edphi2:.6g})^{r}"
             f" = {sci(ind.mean_square, ind.log_mean_square)}  ({ratio('mean_square', 'mean_square')})",
             f"  typical      {ind.formulas['typical']} = exp({r} * ({ty['E log|w|']:.6g} + "
             f"{elog:.6g})) = {sci(ind.typical, ind.log_typical)}  ({ratio('typical', 'log_mean')})",
             "assumptions:"]
    lines += [f"  - {a}" for a in g.assumptions]
    return Output("\n".join(lines), g.as_dict())


def _recurrent_gradient(g) -> Output:
    """The tied chain's exact values with Pascanu's bound beside them (no independence approximation)."""
    c, p, r, t = g.exact_chain, g.pascanu, g.depth, g.threshold
    reach = g.depth_to_threshold

    def line(label: str, name: str, key: str | None, linear: bool = False) -> str:
        text = f"  {label:<16} = {quantity(c[name], 10, linear)}"
        if key is None:
            return text
        why = reach["exact_chain_withheld"].get(key)
        return text + (f"  [first depth below {t:g} unknown: {why}]" if why else
                       f"  [{_reach(reach['exact_chain'][key], t, r)}]")

    lines = [f"{g.activation}: gradient dh_T/dh_0 = prod_t w phi'(v_t) of the {g.architecture.describe()} over "
             f"T = {r} steps, weights {g.weights} (one w per sequence), x = h_0 = {g.x:g}",
             f"exact chain ({c.method}):",
             line("E[prod]", "mean", "mean"), line("E|prod|", "mean_abs", "mean_abs"),
             line("E[prod^2]", "mean_square", "mean_square"),
             line("E log|prod|", "log_mean", "typical", True) + " over non-zero products",
             line("P(prod = 0)", "zero_probability", None, True),
             f"Pascanu's bound  E|prod| <= E[(|w| sup|phi'|)^T] = {p.sup_dphi:.6g}^{r} E|w|^{r} = "
             f"{sci(p.bound, p.log_bound)}  (E[prod^2] <= {sci(p.mean_square_bound, p.log_mean_square_bound)})",
             f"  P(|w| sup|phi'| < 1) = {p.sufficient_probability:.10g}  (the weights for which the bound alone "
             "proves vanishing)",
             "independence approximation: omitted (not about this network)",
             "assumptions:"]
    lines += [f"  - {a}" for a in g.assumptions]
    return Output("\n".join(lines), g.as_dict())


def _residual_gradient_text(g) -> Output:
    """The text of ``gradient --residual``: the model named, the exact residual chain, the residual bound and
    independence approximation."""
    c, r, t, ind = g.exact_chain, g.depth, g.threshold, g.independence
    reach, er = g.depth_to_threshold, g.depth_to_threshold["exact_chain"]

    def q(name: str, linear: bool = False) -> str:
        return quantity(c[name], 10, linear)

    def exact_reach(key: str) -> str:
        why = reach.get("exact_chain_withheld", {}).get(key)
        return f"first depth below {t:g} unknown: {why}" if why else _reach(er[key], t, r)

    def ratio(key: str) -> str:
        if c[key].withheld:
            return "x -: the exact value is not converged"
        v = g.ratios.get(key)
        return "x -" if v is None else f"x {v:.4g}"

    lm = c["log_mean"]
    elog = (f"  E log|prod|      = {q('log_mean', True)}" if lm.withheld else
            f"  E log|prod|      = {q('log_mean', True)} over non-zero products; "
            f"exp(E log|prod|) = {sci(exp_or_inf(lm.value), lm.value)}")
    lines = [f"{g.activation}: {g.architecture.describe()}, alpha = {g.alpha:.6g} at r = {r}; gradient prod_t "
             f"(1 + alpha w_t phi'(.)) over r = {r} blocks, weights {g.weights}, x = {g.x:g}, "
             + (f"bias {g.bias}" if g.bias else "no bias"),
             f"exact residual chain ({c.method}):",
             f"  E[prod]          = {q('mean')}  [{exact_reach('mean')}]",
             f"  E|prod|          = {q('mean_abs')}  [{exact_reach('mean_abs')}]",
             f"  E[prod^2]        = {q('mean_square')}  [{exact_reach('mean_square')}]",
             f"{elog}  [{exact_reach('typical')}]",
             f"  P(prod = 0)      = {q('zero_probability', True)}",
             f"crude bound  E|prod| <= (1 + |alpha| E|w| sup|phi'|)^r = {sci(g.bound, g.log_bound)}",
             f"independence approximation (argument of phi' ~ {ind['preact']}, independent of w_t; NOT this "
             "network), ratio to the exact chain:",
             f"  mean         {ind['formulas']['mean']} = {ind['per_layer']['mean']:.6g}^{r} = "
             f"{sci(ind['mean'], ind['log_mean_abs'])}  ({ratio('mean')})",
             f"  mean square  {ind['formulas']['mean_square']} = {ind['per_layer']['mean_square']:.6g}^{r} = "
             f"{sci(ind['mean_square'], ind['log_mean_square'])}  ({ratio('mean_square')})",
             f"  typical      none: {ind['typical_reason']}",
             "assumptions:"]
    lines += [f"  - {a}" for a in g.assumptions]
    return Output("\n".join(lines), g.as_dict())


def _configure_init(p: argparse.ArgumentParser) -> None:
    add_activation(p)
    p.add_argument("--sigma-b2", dest="sigma_b2", type=finite_float, default=0.0, metavar="V",
                   help="bias variance sigma_b^2 (default 0)")
    add_params(p)


@command("init", "initialisation: chi_1 = 1 at a stable fixed point, variance preserving and linearised gains, "
                 "compared with calculate_gain", _configure_init)
def _init(args: argparse.Namespace) -> Output:
    from ..theory.initialisation import initialisation

    i = initialisation(args.act, args.sigma_b2, params=params_of(args))
    lines = [f"{i.activation}: initialisation at sigma_b^2 = {i.sigma_b2:g}",
             "  criticality  chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] = 1 at a stable fixed point q* = sigma_w^2 "
             "E[phi(sqrt(q*) z)^2] + sigma_b^2"]
    if i.sigma_w2 is None:
        lines.append(f"  NONE         {i.method}")
        for p in i.critical_points:
            if not p.stable:
                away = ("the length map runs away from q* on either side" if p.kind == "unstable" else
                        "lengths just above q* = 0 move away from it" if p.edge else "not attracting")
                lines.append(f"  unstable     chi_1 = 1 at sigma_w^2 = {p.sigma_w2:.12g}, q* = {p.q_star:.12g}: slope "
                             f"G'(q*) = {p.slope:.6g} ({p.kind}), {away}")
        if i.stable_edge is not None:
            e = i.stable_edge
            lines.append(f"  stable from  sigma_b^2 > {e['sigma_b2']:.9g} ± {e['error']:.1g}: chi_1 = 1 at a stable "
                         f"fixed point (at the threshold q* = {e['q_star']:.6g}, sigma_w^2 = {e['sigma_w2']:.6g})")
    else:
        lines += [f"  sigma_w^2    {i.sigma_w2:.12g}  ({i.method})", f"  q*           {i.q_star:.12g}",
                  f"  chi_1        {i.chi1:.12g}", f"  gain         sqrt(sigma_w^2) = {i.gain:.12g}"]
    lines.append(f"  PyTorch      {i.comparison}")
    rows = [[c.name, "-" if c.gain is None else f"{c.gain:.10g}", c.formula,
             "-" if c.verdict is None else f"{c.verdict} ({c.relative_difference:.2%})", c.note]
            for c in i.conventions]
    lines += ["", table(rows, ["convention", "gain", "formula", f"vs calculate_gain ({i.torch_entry or 'none'})",
                               "note"]), ""]
    if i.alpha is not None:
        sl = i.selu
        sn = sl["self_normalising"]
        j = sn["jacobian"]
        lines += [f"  SELU         from {sl['conditions']}:",
                  f"    alpha  = {sl['alpha_exact']} = {sl['alpha_30']} (published {sl['published_alpha']!r}, "
                  f"difference {sl['alpha_difference']:.3g})",
                  f"    lambda = {sl['lambda_30']} (published {sl['published_lambda']!r}, "
                  f"difference {sl['lambda_difference']:.3g})",
                  f"    self-normalising fixed point (mu, nu) = ({sn['mu']:.3g}, {sn['nu']:.12g}) at sigma_w^2 = 1; "
                  f"Jacobian [[{j[0][0]:.6g}, {j[0][1]:.6g}], [{j[1][0]:.6g}, {j[1][1]:.6g}]], spectral norm "
                  f"{sn['spectral_norm']:.6g}"]
    lines.append("assumptions:")
    lines += [f"  - {a}" for a in i.assumptions]
    return Output("\n".join(lines), i.as_dict())


def _configure_meanfield(p: argparse.ArgumentParser) -> None:
    add_activation(p)
    p.add_argument("--sigma-w2", dest="sigma_w2", type=finite_float, default=None, metavar="V",
                   help="weight variance sigma_w^2 (W_ij ~ N(0, sigma_w^2/n)); required without --norm")
    p.add_argument("--sigma-b2", dest="sigma_b2", type=finite_float, default=None, metavar="V",
                   help="bias variance sigma_b^2; required without --norm")
    p.add_argument("--q0", type=finite_float, default=1.0, metavar="V", help="input length q_0 = |x|^2/n (default 1)")
    _configure_residual_meanfield(p)
    add_params(p)
    add_norm(p, batch=True)


@command("meanfield", "mean field: fixed points with stability, chi_1, correlation map c*, chi_c, depth scales, "
                      "phase", _configure_meanfield)
def _meanfield(args: argparse.Namespace) -> Output:
    from ..theory.correlation import signal_propagation

    if args.norm is not None and args.residual is None:
        return normalised.meanfield(args)
    if args.norm == "batch":
        raise UsageError(f"{PROG} meanfield: --norm batch with --residual (BatchNorm inside a residual block) is not "
                         "modelled; --norm layer is")
    missing = [flag for flag, v in (("--sigma-w2", args.sigma_w2), ("--sigma-b2", args.sigma_b2)) if v is None]
    if missing:
        raise UsageError(f"{PROG} meanfield: the following arguments are required: {', '.join(missing)}")
    if args.batch is not None:
        raise UsageError(f"{PROG} meanfield: error: --batch needs --norm batch")
    if args.residual is not None:
        return _residual_meanfield(args)
    for name in ("branch", "depth", "c0"):
        if getattr(args, name) is not None:
            raise UsageError(f"{PROG} meanfield: --{name} needs --residual ALPHA")
    s = signal_propagation(args.act, args.sigma_w2, args.sigma_b2, params=params_of(args), q0=args.q0)
    m = s.mean_field
    rows = [[f"{f.q:.12g}", f"{f.slope:.10g}", f.kind, "yes" if f.reached else ""] for f in m.fixed_points]
    lines = [f"{s.activation}: mean field at sigma_w^2 = {m.sigma_w2:g}, sigma_b^2 = {m.sigma_b2:g}, q_0 = {m.q0:g}",
             "fixed points of q_l = sigma_w^2 E[phi(sqrt(q_(l-1)) z)^2] + sigma_b^2:",
             table(rows, ["q*", "slope dq_(l+1)/dq_l", "stability", "reached from q_0"]) if rows else "  none",
             f"  q*       {m.q_star:.12g}  ({m.status})",
             f"  chi_1    {m.chi1:.12g}  (gradient norm^2 per layer)",
             f"  c*       {opt(s.c_star, 12)} ± {s.c_star_error:.2g}",
             f"  chi_c    {opt(s.chi_c, 12)} ± {s.chi_c_error:.2g}",
             f"  xi_q     {opt(s.xi_q)}  (layers over which q_l settles: -1/ln slope at q*)",
             f"  xi_c     {opt(s.xi_c)}  (depth over which correlations propagate: -1/ln chi_c)",
             f"  phase    {s.phase}",
             "  depth    " + ("chi_1 = 0: gradients vanish" if m.chi1 == 0 else
                             "gradients neither shrink nor grow (chi_1 = 1)" if s.depth_1e6 is None else
                             f"gradients {'shrink' if m.chi1 < 1 else 'grow'} by 1e6 over {s.depth_1e6:.6g} layers"),
             "assumptions:"]
    lines += [f"  - {a}" for a in s.assumptions]
    return Output("\n".join(lines), s.as_dict())


def _configure_residual_meanfield(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("residual network (mean field across depth)")
    g.add_argument("--residual", metavar="ALPHA", help="branch scale alpha: a number, 1/sqrt(r) or 1/r (at depth L); "
                   "with --norm layer, LayerNorm first in every block")
    g.add_argument("--branch", choices=("post", "pre"), help="post: x + alpha phi(Wx + b) (default); "
                   "pre: x + alpha (W phi(x) + b)")
    g.add_argument("--depth", type=positive_int, metavar="L", help="number of residual blocks (default 20)")
    g.add_argument("--c0", type=finite_float, metavar="C", help="correlation of the two inputs (default 0.5)")


#: Depths shown in the residual table (besides L).
_RESIDUAL_ROWS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def _residual_meanfield(args: argparse.Namespace) -> Output:
    from ..architecture import residual
    from ..theory.residual_meanfield import residual_mean_field

    r = residual_mean_field(args.act, args.sigma_w2, args.sigma_b2,
                            residual(args.residual, args.branch or "post", norm=args.norm),
                            depth=20 if args.depth is None else args.depth, q0=args.q0,
                            c0=0.5 if args.c0 is None else args.c0, params=params_of(args))
    L = r.depth
    rows = [[str(d), quantity(r.length[d - 1]), quantity(r.correlation[d - 1], linear=True),
             quantity(r.gradient_ratio[d - 1]), quantity(r.gradient_correlation[d - 1], linear=True)]
            for d in sorted({d for d in _RESIDUAL_ROWS if d < L} | {L})]
    lines = [f"{r.activation}: residual mean field at sigma_w^2 = {r.sigma_w2:g}, sigma_b^2 = {r.sigma_b2:g}, "
             f"q_0 = {r.q0:g}, c_0 = {r.c0:g}, depth L = {L}",
             f"  {r.architecture.describe()}; alpha = {r.alpha:.10g}",
             "  d blocks: p_d, c_d after d blocks from the input; gradient ratio E|dL/dx_(L-d)|^2 / E|dL/dx_L|^2 and "
             "gradient correlation of two inputs across the d blocks next to the output",
             table(rows, ["d", "length p_d", "correlation c_d", "gradient ratio", "gradient correlation"]),
             "growth as L -> oo:" if r.growth else "growth as L -> oo: no law derived for this activation and alpha"]
    lines += [f"  - {g.quantity}: {g.law}, {g.rate:.10g}{' (exact)' if g.exact else ''}; at L = {L}: "
              f"{opt(g.observed)}\n      {g.text}" for g in r.growth]
    lines.append(f"method: {r.method}")
    lines.append("assumptions:")
    lines += [f"  - {a}" for a in r.assumptions]
    return Output("\n".join(lines), r.as_dict())


def _configure_window(p: argparse.ArgumentParser) -> None:
    add_activation(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--w", type=finite_float, metavar="W", help="the weight w")
    which.add_argument("--widest", action="store_true", help="the |w| whose window is widest, and its width")
    p.add_argument("--b", type=finite_float, default=0.0, metavar="B", help="the bias b (default 0)")
    add_params(p)


def _endpoint(e) -> str:
    if e.exact is not None:
        return e.exact if len(e.exact) <= 60 else f"{e.value:.15g} (exact, {len(e.exact)} characters)"
    return f"[{e.lower:.15g}, {e.upper:.15g}]"


@command("window", "the inputs a with |w phi'(w a + b)| >= 1, proved (or the |w| with the widest such set)",
         _configure_window)
def _window(args: argparse.Namespace) -> Output:
    from ..theory.window import widest_window, window

    if args.widest:
        ww = widest_window(args.act, params=params_of(args))
        lines = [f"{ww.activation}: widest window of |w phi'(w a)| >= 1", f"  w      {ww.w:.10g}",
                 f"  width  {ww.width:.12g}", f"  note   {ww.note}"]
        if ww.window is not None:
            lines += [f"  a in   [{_endpoint(lo)}, {_endpoint(hi)}]" for lo, hi in ww.window.intervals]
        return Output("\n".join(lines), ww.as_dict())
    if args.w == 0:
        raise UsageError(f"{PROG} window: --w must be non-zero")
    win = window(args.act, args.w, args.b, params=params_of(args))
    lines = [f"{win.activation}: inputs a with |w phi'(w a + b)| >= 1 at w = {win.w:g}, b = {win.b:g} ({win.method})"]
    lines += [f"  a in [{_endpoint(lo)}, {_endpoint(hi)}]" + ("  (a single point: |w phi'| = 1 there exactly)"
                                                             if lo.exact is not None and lo.exact == hi.exact else "")
              for lo, hi in win.intervals] or ["  no such input"]
    lines += [f"  width {win.width:.15g}" + ("" if win.method == "exact" or math.isinf(win.width) else
                                             f" in [{win.width_lower:.15g}, {win.width_upper:.15g}]"), "proof:"]
    lines += [f"  - {step}" for step in win.proof]
    return Output("\n".join(lines), win.as_dict())


def _configure_spectrum(p: argparse.ArgumentParser) -> None:
    add_activation(p)
    p.add_argument("--depth", type=positive_int, required=True, metavar="L", help="number of layers L")
    p.add_argument("--sigma-w2", dest="sigma_w2", type=finite_float, required=True, metavar="V",
                   help="weight variance sigma_w^2 (Gaussian entries N(0, sigma_w^2/n); orthogonal: gain^2)")
    p.add_argument("--sigma-b2", dest="sigma_b2", type=finite_float, default=0.0, metavar="V",
                   help="bias variance sigma_b^2 (default 0)")
    p.add_argument("--weights", default="gaussian", metavar="gaussian|orthogonal",
                   help="weight ensemble (default gaussian)")
    p.add_argument("--width", type=width_list, metavar="N[,N...]",
                   help="finite width n (or n_0,...,n_L): exact finite-width law and a Monte Carlo spectrum")
    p.add_argument("--networks", type=positive_int, default=8, metavar="K", help="sampled networks (default 8)")
    p.add_argument("--seed", type=integer, default=0, help="random seed (default 0)")
    add_params(p)


@command("spectrum", "spectrum of J J^T (dynamical isometry): moments, density, exact finite-width laws",
         _configure_spectrum)
def _spectrum(args: argparse.Namespace) -> Output:
    from ..theory.spectrum import spectrum

    width = None if args.width is None else (args.width[0] if len(args.width) == 1 else args.width)
    s = spectrum(args.act, args.depth, args.sigma_w2, args.sigma_b2, args.weights, width, args.networks,
                 args.seed, params_of(args))
    m, d = s.moments, s.density
    lines = [f"{m.act}: depth {m.depth}, sigma_w^2 = {m.sigma_w2:g}, sigma_b^2 = {m.sigma_b2:g}, {m.weights} "
             f"weights; fixed point q* = {m.q_star:.6g}, chi_1 = {m.chi1:.6g}",
             f"  mu_1 = E[(sigma_w phi')^2] = {m.mu1:.6g}, mu_2 = E[(sigma_w phi')^4] = {m.mu2:.6g}",
             f"  large width: m1 = mu_1^L = {m.m1:.6g}, variance of the spectrum of J J^T = {m.variance:.6g}"
             f" (m1^2 L (mu_2/mu_1^2 - 1{' + 1' if m.weights == 'gaussian' else ''}))"]
    if d is not None and len(d.grid) > 1:
        lines.append(f"  density on [{d.grid[0]:.4g}, {d.grid[-1]:.4g}] ({len(d.grid)} points), atom at 0: "
                     f"{d.atom:.4g}; integrals of the density: mass + atom {d.mass + d.atom:.4f}, m1 {d.m1:.6g}, "
                     f"variance {d.variance:.6g}")
    cmp = s.comparison()
    if cmp:
        rows = [[k, f"{c['analytic']:.6g}", f"{c['simulated']:.6g}", f"{c['stderr']:.2g}", zscore(c["z"]),
                 f"{c['relative_gap']:+.3g}", "yes" if c["agree"] else "NO"] for k, c in cmp.items()]
        lines += ["", f"Monte Carlo: {s.mc.networks} networks of width {s.mc.width}, seed {s.mc.seed}",
                  table(rows, ["moment", "large width", "simulated", "stderr", "z", "rel. gap", "agree"])]
    fw = s.finite_width
    if fw:
        rows = [[k, number(fw[k]["exact"]), number(fw[k]["large_width"]), number(fw[k]["mean_field"])]
                for k in ("mean", "mean_square", "log_mean", "log_variance", "dead_probability", "median")]
        lines += ["", f"exact finite-width law of ||J u||^2, widths {', '.join(map(str, fw['widths']))}:",
                  table(rows, ["quantity", "exact", "large width (approx.)", "mean field"])]
        lines += [f"  - {n}" for n in fw["notes"]]
    elif s.finite_width_note:
        lines.append(f"finite width: {s.finite_width_note}")
    lines += [f"note: {n}" for n in s.notes]
    return Output("\n".join(lines), s.as_dict())
