"""Command-line entry: ``python cli.py --help``. Ctrl-C while the command line loads ends with one line and
status 130, like Ctrl-C later (:func:`analytic.cli.main`)."""
import sys

try:
    from analytic.cli import main
except KeyboardInterrupt:
    if sys.stderr is not None:
        print("analytic: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main())
