"""`python -m demo` (what `make demo` runs): a synthetic organisation through the real DAGs.

The demo lives beside the production package, not in it: it generates data, reads the answers
back with delta-rs and, with --api, serves the API emulator of tests/emulator, none of which an
installed pipeline needs. Run it from a checkout of the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(PROJECT_ROOT / ".demo"), help="where landing/ and lake/ go")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api", action="store_true",
                        help="pull from a local emulator of Graph, Google and Slack instead of files")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="Airflow's, Spark's and our logs on the terminal (default: a file under $ONA_LOG_DIR)")
    args = parser.parse_args(argv)
    if not args.verbose:
        from rich.console import Console

        from jobs import progress

        progress.quiet_logs("demo")
        progress.show_stages(Console(stderr=True))
    if args.api:
        from demo.api import run_api_demo

        return run_api_demo(Path(args.dir))
    from demo.run import run_demo

    return run_demo(Path(args.dir), n_people=args.people, weeks=args.weeks, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
