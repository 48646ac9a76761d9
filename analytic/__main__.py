"""``python -m analytic``: the command line (see :mod:`analytic.cli`); Ctrl-C while it loads ends with one line
and status 130, like Ctrl-C later."""
import sys

try:
    from analytic.cli import main
except KeyboardInterrupt:
    if sys.stderr is not None:
        print("analytic: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
