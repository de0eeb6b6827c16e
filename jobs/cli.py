"""`ona`: the command line of the pipeline (argparse: no extra dependency for a few verbs)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from jobs.weeks import parse_weeks

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _run(args: argparse.Namespace) -> int:
    from jobs import pipeline

    weeks = parse_weeks(args.weeks) if args.weeks else None
    summary = pipeline.run(Path(args.landing) if args.landing else None, Path(args.lake), weeks)
    print(summary.to_json())
    return 0 if len(summary.published_weeks) == len(summary.weeks) else 3


def _pull(args: argparse.Namespace) -> int:
    from jobs.pull.http import PullError
    from jobs.pull.run import pull

    weeks = parse_weeks(args.weeks) if args.weeks else None
    vendors = [v.strip() for v in args.sources.split(",") if v.strip()] if args.sources else None
    try:
        summary = pull(Path(args.lake), vendors, weeks, landing=Path(args.landing) if args.landing else None)
    except PullError as exc:
        print(f"ona pull: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary.to_json())
    return 0


def _pseudonym(args: argparse.Namespace) -> int:
    from jobs.privacy.pseudonym import Pseudonymiser, canonical_address, load_key

    address = canonical_address(args.identifier)
    if address is None:
        print(f"not an address: {args.identifier!r}", file=sys.stderr)
        return 2
    domains = frozenset(d.strip().lower() for d in os.environ.get("ONA_INTERNAL_DOMAINS", "").split(",") if d.strip())
    print(Pseudonymiser(key=load_key(args.key_file), internal_domains=domains).person(address))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from jobs.demo.run import run_demo

    if args.api:
        from jobs.demo.api import run_api_demo

        return run_api_demo(Path(args.dir))
    return run_demo(Path(args.dir), n_people=args.people, weeks=args.weeks, seed=args.seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ona", description="Collaboration-network pipeline")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    run = verbs.add_parser("run", help="ingest a landing folder (if given), build, gate and publish weeks")
    run.add_argument("--landing", help="folder with email/, calendar/, chat/slack/, people/ (new files only)")
    run.add_argument("--lake", required=True, help="lake root (Delta tables)")
    run.add_argument("--weeks", help="2026-W10 or 2026-W10..2026-W12 (default: the weeks that new "
                     "records touched since the last build)")
    run.set_defaults(func=_run)

    pull = verbs.add_parser(
        "pull", help="pull the configured APIs incrementally into bronze",
        description="Exit codes: 0 done, 2 not configured, 4 authentication refused, "
                    "5 API unreachable (retries used up), 6 other API error.")
    pull.add_argument("--lake", required=True, help="lake root (cursors are kept there)")
    pull.add_argument("--sources", help="comma-separated: msgraph,google,slack (default: every configured one)")
    pull.add_argument("--weeks", help="bound what is fetched: 2026-W10 or 2026-W10..2026-W12 "
                      "(default: 8 weeks of history on the first pull, then changes since the cursors)")
    pull.add_argument("--landing", help="landing folder whose roster gives internal domains (optional)")
    pull.set_defaults(func=_pull)

    pseudonym = verbs.add_parser("pseudonym", help="print the pseudonym of an identifier")
    pseudonym.add_argument("identifier")
    pseudonym.add_argument("--key-file", help="key file (default: $ONA_PSEUDONYM_KEY or $ONA_PSEUDONYM_KEY_FILE)")
    pseudonym.set_defaults(func=_pseudonym)

    demo = verbs.add_parser("demo", help="generate a synthetic organisation and run the DAGs on it")
    demo.add_argument("--dir", default=str(PROJECT_ROOT / ".demo"), help="where landing/ and lake/ go")
    demo.add_argument("--people", type=int, default=300)
    demo.add_argument("--weeks", type=int, default=4)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--api", action="store_true",
                      help="pull from a local emulator of Graph, Google and Slack instead of files")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ona").setLevel(logging.INFO if args.verbose else logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
