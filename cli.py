"""Command-line entry: ``python cli.py --help``."""
from analytic.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
