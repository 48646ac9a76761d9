"""Commands that write documents into a folder: every figure, and the derivation report."""
from __future__ import annotations

import argparse
import sys

from .command import PROG, Output, command
from .options import act_key_value, act_params_of, folder, name_list

#: Exit statuses of the commands that write many parts, for their ``--help``.
STATUSES = ("exit status: 0 everything written; 1 some parts failed (each is named on stderr, the one-line summary "
            "comes last; every other part is written, and running the same command again makes only what is "
            "missing, reusing the finished parts kept under DIR/.parts); 2 bad input (nothing written)")


def _failed_line(command: str, failed, total: int) -> str:
    """The one-line summary of a run in which parts failed: how many, their names, the first reason."""
    from ..errors import one_line

    names = ", ".join(f.name for f in failed)
    return one_line(f"{PROG}: {command}: {len(failed)} of {total} parts failed ({names}); the rest is written, "
                    f"a rerun makes only these; first error: {failed[0].reason}")


def _configure_figures(p: argparse.ArgumentParser) -> None:
    p.epilog = STATUSES
    p.add_argument("--out", default="figures", type=folder, metavar="DIR",
                   help="output folder, created if missing (default: figures)")
    p.add_argument("--format", default="png", choices=["png", "svg", "pdf"], help="file format (default: png)")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="write only these figures (names or patterns such as 'activation_*'; default: all)")
    p.add_argument("--style", default="paper", choices=["paper", "slides"],
                   help="paper (default): 3.4 or 7 in wide, 8-9 pt text; slides: one 16:9 slide, 13.33 x 7.5 in, "
                        "12-16 pt text")
    p.add_argument("--act", type=name_list, default=None, metavar="A,B",
                   help="the activations drawn by the figures that show activations (the catalogue grid, depth, "
                        "pre-activation and histogram figures) and the activation_NAME figures written "
                        "(default: each figure's own)")
    p.add_argument("--param", action="append", type=act_key_value, metavar="ACT:K=V",
                   help="a parameter of one activation wherever it is drawn, e.g. leaky_relu:negative_slope=0.1 "
                        "(repeatable)")


@command("figures", "write every figure into a folder (byte-reproducible PNG, SVG or PDF)", _configure_figures)
def _figures(args: argparse.Namespace) -> Output:
    from ..output.figures import Failed, write_figures

    def progress(i: int, total: int, done) -> None:
        state = (f"failed: {done.reason}" if isinstance(done, Failed)
                 else "finished before, reused" if done.reused else f"{done.seconds:.1f} s")
        print(f"[{i}/{total}] {done.name}: {state}", file=sys.stderr, flush=True)

    files = write_figures(args.out, args.format, args.only, progress=progress, style_name=args.style,
                          acts=args.act, params=act_params_of(args) or None)
    if files.failed:
        print(_failed_line("figures", files.failed, len(files.written) + len(files.failed)), file=sys.stderr)
    return Output("\n".join(str(path) for path in files.paths), files.as_dict(), 1 if files.failed else 0)


def _configure_report(p: argparse.ArgumentParser) -> None:
    p.epilog = STATUSES
    p.add_argument("--out", default="report", type=folder, metavar="DIR",
                   help="output folder, created if missing (default: report)")
    p.add_argument("--act", nargs="+", default=None, metavar="NAME",
                   help="only these activations (catalogue names or formulas; default: the whole catalogue)")
    p.add_argument("--format", default="png", choices=("png", "pdf"),
                   help="figure format; pdf writes vector figures and, with pdflatex on the PATH, report.pdf")


@command("report", "write the derivation report (Markdown and LaTeX, with its figures) into a folder",
         _configure_report)
def _report(args: argparse.Namespace) -> Output:
    from ..output.report import write_report

    def progress(step: str) -> None:
        print(step, file=sys.stderr, flush=True)

    report = write_report(args.out, activations=args.act, progress=progress, format=args.format)
    if report.failed:
        print(_failed_line("report", report.failed, report.parts), file=sys.stderr)
    return Output("\n".join(str(path) for path in report.paths), report.as_dict(), 1 if report.failed else 0)


def _configure_explore(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="explorer", type=folder, metavar="DIR",
                   help="output folder, created if missing (default: explorer); the page is DIR/explorer.html")


@command("explore", "write one self-contained HTML page (offline, no server) with sliders over the mean field",
         _configure_explore)
def _explore(args: argparse.Namespace) -> Output:
    from ..output.explorer import write_explorer

    files = write_explorer(args.out)
    return Output("\n".join(str(path) for path in files.paths), files.as_dict())
