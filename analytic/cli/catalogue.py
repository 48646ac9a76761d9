"""Commands on one activation's formula: the catalogue, derivatives, proved bounds."""
from __future__ import annotations

import argparse

from .command import Output, command
from .options import add_activation, add_params, finite_float, float_list, params_of
from .text import number, plain, short, table


@command("list", "the activation catalogue")
def _list(args: argparse.Namespace) -> Output:
    from ..core.activations import aliases, catalogue

    entries = [{"name": a.name, "params": {p.name: float(p.default) for p in a.params}, "formula": str(a.expr),
                "vector": a.vector, "aliases": aliases(a.name)} for a in catalogue()]
    rows = [[e["name"] + "".join(f" (= {n})" for n in e["aliases"]),
             ", ".join(f"{k}={v:g}" for k, v in e["params"].items()) or "-", e["formula"]] for e in entries]
    return Output(table(rows, ["name", "parameters", "phi(x)"]), {"activations": entries})


def _configure_derive(p: argparse.ArgumentParser) -> None:
    add_activation(p, example=True)
    add_params(p)
    p.add_argument("--at", type=float_list, default=[], metavar="X1,X2,...", help="points at which to evaluate")


@command("derive", "phi, phi', phi'' symbolically, and values at points", _configure_derive)
def _derive(args: argparse.Namespace) -> Output:
    from ..core.calculus import derive

    d = derive(args.act, params_of(args), args.at)
    data = d.as_dict()
    lines = [f"{d.name}: {plain(d.doc)}"]
    if d.params:
        lines.append("parameters: " + ", ".join(f"{k} = {number(v)}" for k, v in d.params.items()))
    lines += [f"  phi(x)   = {short(d.phi)}", f"  phi'(x)  = {short(d.dphi)}", f"  phi''(x) = {short(d.d2phi)}"]
    if d.vector:
        lines.append("  Jacobian of the full softmax: diag(s) - s s^T")
    for k in d.kinks:
        lines.append(f"  kink at x = {number(k.at)}: phi' taken as {number(k.dphi)} there (PyTorch's autograd value)")
    if d.at:
        rows = [[f"{x:g}", f"{p:.12g}", f"{q:.12g}"] for x, p, q in zip(d.at, d.phi_values, d.dphi_values)]
        lines += ["", table(rows, ["x", "phi(x)", "phi'(x)"])]
    return Output("\n".join(lines), data)


def _configure_bound(p: argparse.ArgumentParser) -> None:
    add_activation(p, example=True)
    p.add_argument("--of", choices=["dphi", "phi"], default="dphi", help="bound phi' (default) or phi (its range)")
    add_params(p)
    p.add_argument("--timeout", type=finite_float, default=10.0, metavar="S",
                   help="seconds SymPy may spend on critical points before the certified route takes over (default 10)")


def _extremum_line(label: str, e) -> str:
    value = str(e.exact) if e.exact is not None else "no closed form"
    enclosure = f"[{e.lower!r}, {e.upper!r}]"
    if e.attained:
        where = f"attained at x = {e.at}" if not e.at.startswith(("(", "[")) else f"attained on {e.at}"
    else:
        where = f"approached as x -> {e.at}, not attained"
    arg = f" (x in [{e.at_lower!r}, {e.at_upper!r}])" if e.at_lower is not None and e.exact is None else ""
    return f"  {label} = {value}  {enclosure}  {where}{arg}"


@command("bound", "proved sup and inf of phi' (or phi) with the proof", _configure_bound)
def _bound(args: argparse.Namespace) -> Output:
    from ..bounds import bound

    b = bound(args.act, of=args.of, params=params_of(args), timeout=args.timeout)
    f = "phi'" if b.of == "dphi" else "phi"
    scope = " over the points where phi is differentiable" if b.of == "dphi" else " (its range)"
    lines = [f"{b.name}: bounds of {f}(x){scope}"]
    if b.params:
        lines.append("parameters: " + ", ".join(f"{k} = {number(v)}" for k, v in b.params.items()))
    lines += [_extremum_line(f"sup {f}", b.sup), _extremum_line(f"inf {f}", b.inf), f"  method: {b.method}"]
    for k in b.kink_conventions:
        lines.append(f"  kink at x = {number(k.at)}: PyTorch's phi' there is {number(k.dphi)} (reported, not counted)")
    if b.jacobian is not None:
        j = b.jacobian
        lines += ["  softmax Jacobian, every n >= 2:",
                  f"    0 < ds_i/dz_i <= {j.diagonal.exact}; {j.off_diagonal.exact} <= ds_i/dz_j < 0 (i != j); "
                  f"||J||_2 <= {j.spectral_norm.exact}"]
    lines.append("proof:")
    lines += [f"  {i}. {step}" for i, step in enumerate(b.proof, 1)]
    return Output("\n".join(lines), b.as_dict())
