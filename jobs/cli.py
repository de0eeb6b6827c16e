"""`ona`: the command line of the pipeline (argparse: no extra dependency for a few verbs)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from jobs.lake_location import location, missing_local
from jobs.weeks import parse_week, parse_weeks


def _argument(parse):
    """An argparse type from a parser that raises ValueError: a bad value is a usage error
    (one line, exit 2), not a traceback."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def landing_problem(landing: Path) -> str | None:
    """Why a landing folder cannot be ingested (missing, or no file in any source folder)."""
    from jobs.source_kinds import LANDING_FOLDERS

    if not landing.is_dir():
        return f"no landing folder at {landing}"
    # Landed folders may be symlinks (a mounted export): followed, as the ingest does.
    if not any(files for folder in LANDING_FOLDERS.values()
               for _, _, files in os.walk(landing / folder, followlinks=True)):
        shown = ", ".join(f"{folder}/" for folder in LANDING_FOLDERS.values())
        return f"the landing folder {landing} holds no file under {shown}: nothing to ingest"
    return None


def _run(args: argparse.Namespace) -> int:
    from jobs import pipeline
    from jobs.privacy.pseudonym import MissingKeyError, WeakKeyError
    from jobs.stages.context import EmptyLakeError, NoInternalDomainsError
    from jobs.stages.silver import WeeksUnderAnotherKeyError

    landing = Path(args.landing) if args.landing else None
    problem = landing_problem(landing) if landing else None
    if problem:
        print(f"ona run: {problem}", file=sys.stderr)
        return 2
    try:
        summary = pipeline.run(landing, args.lake, args.weeks)
    except (MissingKeyError, WeakKeyError, NoInternalDomainsError, EmptyLakeError, WeeksUnderAnotherKeyError) as exc:
        print(f"ona run: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(summary.to_json())
    else:
        print_run_summary(summary)
    if summary.waiting_weeks:
        return 0 if len(summary.published_weeks) + len(summary.waiting_weeks) == len(summary.weeks) else 3
    return 0 if len(summary.published_weeks) == len(summary.weeks) else 3


def _keygen(args: argparse.Namespace) -> int:
    from jobs.privacy.pseudonym import generate_key

    key = generate_key()
    if args.out:
        out = Path(args.out)
        if out.exists():
            print(f"ona keygen: {out} exists; a key is never overwritten", file=sys.stderr)
            return 2
        # Created readable by its owner only, before the key is written into it.
        out.touch(mode=0o600)
        out.write_text(key + "\n")
        print(f"wrote a new 256-bit key to {out}")
    else:
        print(key)
    return 0


def _decide(args: argparse.Namespace) -> int:
    """`ona approve` / `ona reject`: a privacy officer's decision on a staged week."""
    from jobs.privacy import approval
    from jobs.spark import get_spark
    from jobs.weeks import label

    decide = approval.approve if args.verb == "approve" else approval.reject
    try:
        decide(get_spark(), args.lake, args.week, args.run)
    except approval.ApprovalError as exc:
        print(f"ona {args.verb}: {exc}", file=sys.stderr)
        return 2
    print(f"week {label(args.week)} from run {args.run}: {'published' if args.verb == 'approve' else 'rejected'}")
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"a port is a number from 1 to 65535, not {text!r}")
    return int(text)


def _serve(args: argparse.Namespace) -> int:
    """`ona serve`: the lake's BI tables over JDBC/ODBC until SIGINT or SIGTERM."""
    from jobs.serve import ServeError, serve

    try:
        serve(args.lake, args.host, args.port, announce=lambda line: print(line, flush=True))
    except ServeError as exc:
        print(f"ona serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _report(args: argparse.Namespace) -> int:
    """`ona report`: the weekly ONA report of a published week, from the BI zone only."""
    from jobs.spark import get_spark
    from jobs.weekly_report import NothingPublishedError, write_weekly_report

    lake = args.lake
    if missing_local(lake):
        print(f"ona report: no lake at {lake}", file=sys.stderr)
        return 2
    try:
        path = write_weekly_report(get_spark(), lake, args.week, Path(args.out) if args.out else None)
    except NothingPublishedError as exc:
        print(f"ona report: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _pull(args: argparse.Namespace) -> int:
    from jobs.pull.http import PullError
    from jobs.pull.run import pull

    vendors = [v.strip() for v in args.sources.split(",") if v.strip()] if args.sources else None
    try:
        summary = pull(args.lake, vendors, args.weeks, landing=Path(args.landing) if args.landing else None)
    except PullError as exc:
        print(f"ona pull: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary.to_json())
    return 0


def _pseudonym(args: argparse.Namespace) -> int:
    """The pseudonym the pipeline gives an address: same key, and the same internal domains
    (ONA_INTERNAL_DOMAINS, else the roster's and the pulled directories'), or a refusal."""
    from jobs.privacy.pseudonym import MissingKeyError, WeakKeyError, canonical_address
    from jobs.stages.context import NoInternalDomainsError, make_pseudonymiser

    address = canonical_address(args.identifier)
    if address is None:
        print(f"ona pseudonym: not an address: {args.identifier!r}", file=sys.stderr)
        return 2
    spark = None
    if args.lake and not os.environ.get("ONA_INTERNAL_DOMAINS", "").strip():
        from jobs.spark import get_spark

        spark = get_spark()  # the directories pulled into the lake name domains too
    try:
        pseudo = make_pseudonymiser(Path(args.landing) if args.landing else None, key_file=args.key_file,
                                    spark=spark, lake_root=args.lake)
    except (MissingKeyError, WeakKeyError, NoInternalDomainsError) as exc:
        print(f"ona pseudonym: {exc}", file=sys.stderr)
        return 2
    print(pseudo.person(address))
    return 0


def _erase(args: argparse.Namespace) -> int:
    """`ona erase`: addresses -> pseudonyms, then jobs.privacy.erase. Prints counts only: an
    address or a pseudonym on a terminal or in a job log would undo the erasure."""
    import json

    from jobs import pipeline
    from jobs.privacy.erase import erase
    from jobs.privacy.pseudonym import EXTERNAL_PREFIX, MissingKeyError, WeakKeyError
    from jobs.spark import get_spark
    from jobs.stages.context import NoInternalDomainsError, make_pseudonymiser

    lake = args.lake
    if missing_local(lake):
        print(f"ona erase: no lake at {lake}", file=sys.stderr)
        return 2
    spark = get_spark()
    try:
        # Without internal domains every address would look internal: it refuses.
        pseudo = make_pseudonymiser(None, key_file=args.key_file, spark=spark, lake_root=lake)
    except (MissingKeyError, WeakKeyError, NoInternalDomainsError) as exc:
        print(f"ona erase: {exc}; nothing erased", file=sys.stderr)
        return 2
    people, refused = set(), []
    for position, address in enumerate(args.addresses, 1):
        pseudonym = pseudo.person(address)
        if pseudonym is None:
            refused.append(f"address {position}: not a usable e-mail address")
        elif pseudonym.startswith(EXTERNAL_PREFIX):
            refused.append(f"address {position}: outside the internal domains; external participants "
                           "are kept only as their domain, never as a person")
        else:
            people.add(pseudonym)
    if refused:
        for line in refused:
            print(f"ona erase: {line}", file=sys.stderr)
        print("ona erase: nothing erased", file=sys.stderr)
        return 2
    # The weeks they were in are rebuilt by the weekly build's code.
    record = erase(spark, lake, people, reason=args.reason,
                   rebuild=lambda weeks: pipeline.build(None, lake, weeks, spark=spark))
    print(json.dumps(record.summary(), indent=2))
    return 3 if record.weeks_held else 0


def _retain(args: argparse.Namespace) -> int:
    import json

    from jobs.config import Settings
    from jobs.privacy.retention import apply_retention
    from jobs.spark import get_spark

    lake = args.lake
    if missing_local(lake):
        print(f"ona retain: no lake at {lake}", file=sys.stderr)
        return 2
    rows = apply_retention(get_spark(), lake, Settings.from_env().retention)
    print(json.dumps(rows, indent=2, default=str))
    return 0


class _Parser(argparse.ArgumentParser):
    """A usage error (a malformed --weeks, a missing option) is one line and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _lake_option(parser: argparse.ArgumentParser,
                 help: str = "lake root: a folder or a URL such as s3a://bucket/lake (Delta tables)") -> None:
    """The required --lake of a command, taken as jobs.lake_location.location takes a root."""
    parser.add_argument("--lake", type=location, required=True, help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ona", description="Collaboration-network pipeline",
        epilog="Configuration: the ONA_* variables, over an optional TOML file named by ONA_CONFIG "
               "(sections ties, privacy, retention, dp, graph, roles; keys as in jobs/config.py); see the README. "
               "A bad value stops every command with one line and exit 2.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log everything to the terminal (our INFO lines, Spark's and Airflow's logs); "
                             "without it they go to a file under $ONA_LOG_DIR (default ~/.cache/ona/logs)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    run = verbs.add_parser(
        "run", help="ingest a landing folder (if given), build, gate and publish weeks",
        description="Exit codes: 0 every week published (or waiting for approval), 2 refused before "
                    "reading anything (no key, a key weaker than 128 bits, no internal domains "
                    "known: no roster, no pulled directory and no ONA_INTERNAL_DOMAINS; a landing "
                    "folder that does not exist or holds no file; no --landing and a lake without "
                    "any ingest; a malformed --weeks or ONA_* setting), 3 a week was blocked by its "
                    "gates.")
    run.add_argument("--landing", help="folder with email/, calendar/, chat/slack/, people/ (new files only)")
    _lake_option(run)
    run.add_argument("--weeks", type=_argument(parse_weeks), help="2026-W10 or 2026-W10..2026-W12 (default: the weeks that new "
                     "records touched since the last build)")
    run.add_argument("--json", action="store_true", help="print the run summary as JSON instead of tables")
    run.set_defaults(func=_run)

    pull = verbs.add_parser(
        "pull", help="pull the configured APIs incrementally into bronze",
        description="Exit codes: 0 done, 2 not configured, 4 authentication refused, "
                    "5 API unreachable (retries used up), 6 other API error.")
    _lake_option(pull, "lake root, a folder or a URL (cursors are kept there)")
    pull.add_argument("--sources", help="comma-separated: msgraph,google,slack (default: every configured one)")
    pull.add_argument("--weeks", type=_argument(parse_weeks), help="bound what is fetched: 2026-W10 or 2026-W10..2026-W12 "
                      "(default: 8 weeks of history on the first pull, then changes since the cursors)")
    pull.add_argument("--landing", help="landing folder whose roster gives internal domains (optional)")
    pull.set_defaults(func=_pull)

    keygen = verbs.add_parser("keygen", help="print (or write with --out) a new pseudonym key: 64 hex digits")
    keygen.add_argument("--out", help="write the key to this new file (mode 0600) instead of printing it")
    keygen.set_defaults(func=_keygen)

    serve = verbs.add_parser(
        "serve", help="serve the lake's BI tables over JDBC/ODBC (Spark's Thrift server) until stopped",
        description="Registers every BI-visible table (gold/, quality/) as ona.<table>, run-tagged week "
                    "tables through quality/published_weeks; restricted tables are not reachable "
                    "(docs/bi.md). Prints one line when it accepts connections; newly published weeks "
                    "show without a restart. Stops on SIGINT or SIGTERM. No authentication: keep the "
                    "default host unless a proxy or firewall guards the port. Exit codes: 0 stopped, "
                    "2 refused (port in use, no BI table in the lake).")
    _lake_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_argument(_port), default=10000, help="port (default 10000)")
    serve.set_defaults(func=_serve)

    for verb, help_text in (("approve", "publish a staged week into gold (approval required)"),
                            ("reject", "discard a staged week; gold keeps its previous version")):
        decision = verbs.add_parser(verb, help=help_text, description=(
            "Exit codes: 0 done, 2 no waiting candidate of that week from that run. The run ids "
            "waiting are in the run's report and in quality/approvals."))
        _lake_option(decision)
        decision.add_argument("--week", required=True, type=_argument(parse_week), help="2026-W10")
        decision.add_argument("--run", required=True, help="the run id that staged the week")
        decision.set_defaults(func=_decide)

    report = verbs.add_parser(
        "report", help="write the weekly ONA report of a published week (one HTML page)",
        description="Writes <lake>/reports/<week>/index.html (or <out>/<week>/index.html) from the BI zone "
                    "only (gold/, quality/) and prints its path (docs/report.md). Exit codes: 0 written, "
                    "2 refused (a malformed --week, no lake, or the week is not published).")
    _lake_option(report)
    report.add_argument("--week", required=True, type=_argument(parse_week), help="2026-W10")
    report.add_argument("--out", help="folder to write <week>/index.html into (default: <lake>/reports)")
    report.set_defaults(func=_report)

    pseudonym = verbs.add_parser(
        "pseudonym", help="print the pseudonym of an identifier",
        description="Uses the pipeline's key and internal domains: ONA_INTERNAL_DOMAINS, else the roster "
                    "of --landing and the directories pulled into --lake. An outside address prints its "
                    "domain's pseudonym (x_...), as the lake holds it. Exit codes: 0 printed, 2 refused "
                    "(not an address, no key, no internal domain known).")
    pseudonym.add_argument("identifier")
    pseudonym.add_argument("--landing", help="landing folder whose roster names the internal domains")
    pseudonym.add_argument("--lake", type=location, help="lake whose pulled directories name the internal domains")
    pseudonym.add_argument("--key-file", help="key file (default: $ONA_PSEUDONYM_KEY or $ONA_PSEUDONYM_KEY_FILE)")
    pseudonym.set_defaults(func=_pseudonym)

    erase = verbs.add_parser(
        "erase", help="erase people (by address) from every table, week and history of the lake",
        description="Removes the rows about each person, their mentions elsewhere, rebuilds the weeks "
                    "they were in and purges every table's history (docs/privacy.md). Prints counts only. "
                    "Exit codes: 0 erased, 2 refused (an address unusable or external, no key, no known "
                    "internal domain, no lake): nothing erased, 3 erased, but the rebuild of a week they "
                    "were in was held back by its gates: its gold keeps the scrubbed previous version "
                    "(see the report).")
    _lake_option(erase)
    erase.add_argument("--reason", default="request", help='recorded in quality/erasures (default "request")')
    erase.add_argument("--key-file", help="key file (default: $ONA_PSEUDONYM_KEY or $ONA_PSEUDONYM_KEY_FILE)")
    erase.add_argument("addresses", nargs="+", metavar="ADDRESS", help="e-mail address of a person to erase")
    erase.set_defaults(func=_erase)

    retain = verbs.add_parser(
        "retain", help="delete rows older than the retention windows, then VACUUM",
        description="Windows from ONA_RETENTION_*_WEEKS and ONA_VACUUM_RETAIN_HOURS (docs/privacy.md); "
                    "prints one JSON object per table. Exit codes: 0 applied, 2 no lake.")
    _lake_option(retain)
    retain.set_defaults(func=_retain)
    return parser


def print_run_summary(summary) -> None:
    """`ona run`'s closing tables (stdout): records per source, then each week's outcome."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    sources = Table(title=f"run {summary.run_id} (key {summary.key_version})", title_justify="left")
    counts = ("read", "accepted", "quarantined", "duplicates", "files_ingested", "files_skipped")
    for column in ("source", "read", "accepted", "quarantined", "duplicates", "new files", "unchanged"):
        sources.add_column(column, justify="left" if column == "source" else "right")
    for name, s in summary.sources.items():
        sources.add_row(name, *("" if s.get(k) is None else str(s[k]) for k in counts))
    weeks = Table()
    for column in ("week", "outcome", "failed checks", "warnings"):
        weeks.add_column(column)
    for week in summary.weeks:
        gates = [g for g in summary.gates if g["week"] == week]
        failed = [f"{g['table']}: {c}" for g in gates for c in g["failed"]]
        outcome = ("published" if week in summary.published_weeks else
                   "waiting for approval" if week in summary.waiting_weeks else "[red]blocked[/red]")
        weeks.add_row(week, outcome, "\n".join(failed) or "0", str(sum(len(g["warnings"]) for g in gates)))
    if summary.sources:
        console.print(sources)
    if summary.weeks:
        console.print(weeks)
    else:
        console.print("no week to build: nothing new since the last build")
    console.print(f"report: {summary.report}", highlight=False, soft_wrap=True)
    from jobs.progress import log_file

    if log_file():  # where the rest of what the run said went (no -v)
        console.print(f"log: {log_file()}", highlight=False, soft_wrap=True)


def _logging(args: argparse.Namespace) -> None:
    """-v: everything on the terminal; otherwise a log file, and the stages shown (stderr)."""
    from rich.console import Console

    from jobs import progress

    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("ona").setLevel(logging.INFO)
        return
    progress.quiet_logs(args.verb)
    progress.show_stages(Console(stderr=True))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _logging(args)
    from jobs.cluster import ExecutorEnvError
    from jobs.config import Settings
    from jobs.java import JavaNotFoundError, choice
    from jobs.lake import LakeUnreachableError
    from jobs.spark import MissingJarsError, concurrent_actions, interpreted_below_rows

    try:  # a bad ONA_* value stops every command before it starts, in one line
        Settings.from_env()
        concurrent_actions()
        interpreted_below_rows()
        choice()
    except ValueError as exc:
        print(f"ona: bad configuration (ONA_CONFIG file or ONA_* variables): {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    # Raised as Spark starts, or when the lake's store cannot be reached: one line, exit 2.
    except (JavaNotFoundError, MissingJarsError, ExecutorEnvError, LakeUnreachableError) as exc:
        print(f"ona {args.verb}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
