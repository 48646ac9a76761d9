"""``python -m analytic``: the command line (see :mod:`analytic.cli`)."""
from analytic.cli import main

raise SystemExit(main())
