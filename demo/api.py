"""`python -m demo --api`: the pull path, offline. A local emulator of Microsoft Graph, Google
Workspace and Slack (the test suite's, tests/emulator/) serves a small fictional organisation;
`ona pull` runs twice against it (the second pass after a few changes: a new mail, a new
Slack reply, a cancelled meeting) and the touched weeks are built, gated and published.

The emulator ships with the repository's tests, so this demo runs from a clone (as `make demo`
does), not from an installed wheel.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from jobs.privacy.pseudonym import KEY_ENV, KEY_FILE_ENV, create_dev_key
from jobs.source_kinds import VENDORS, connection_id

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The emulated organisation lives in 2026-W14 and W15: the demo's "today" is the Thursday of
# W15, so that the default windows (8 weeks back on a first pull) reach its records.
DEMO_NOW = datetime(2026, 4, 9, 18, 0, tzinfo=timezone.utc)


def _emulator():
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    try:
        from tests.emulator import org as org_module
        from tests.emulator import serve
    except ImportError as exc:  # an installed package without the repository's tests/
        raise SystemExit(f"python -m demo --api needs the repository's tests/emulator ({exc})") from exc
    return serve, org_module


def _print_pass(name: str, summary) -> None:
    print(f"\n--- {name}: weeks touched {', '.join(summary.weeks) or 'none'}")
    for vendor, v in summary.vendors.items():
        print(f"  {vendor:8s} {v['requests']:4d} requests ({v['retries']} retried), {v['resyncs']} resyncs")
    for kind, s in summary.kinds.items():
        extra = f"  cancelled {s['cancelled']}" if s["cancelled"] else ""
        extra += f"  unjoined {s['unjoined']}" if s["unjoined"] else ""
        print(f"  {kind:20s} read {s['read']:3d}  accepted {s['accepted']:3d}  quarantined {s['quarantined']:2d}  "
              f"duplicates {s['duplicates']:2d}{extra}")


def run_api_demo(folder: Path) -> int:
    from jobs import pipeline
    from jobs.pull.run import pull

    serve, org_module = _emulator()
    folder = folder.resolve() / "api"
    lake = folder / "lake"
    if not os.environ.get(KEY_ENV) and not os.environ.get(KEY_FILE_ENV):
        key_file = folder.parent / "dev-pseudonym.key"
        create_dev_key(key_file)
        os.environ[KEY_FILE_ENV] = str(key_file)
        print(f"Using a local DEVELOPMENT pseudonym key ({key_file}); set {KEY_ENV} in production.")
    org = org_module.make_org()
    emulator = serve.start(page_size=2, org=org)
    # Every 7th request is rate limited: the pull waits as told and goes on.
    emulator.faults.rate_limit_every, emulator.faults.retry_after = 7, "0"
    for vendor in VENDORS:
        os.environ[f"AIRFLOW_CONN_{connection_id(vendor).upper()}"] = emulator.connection_json(vendor)
    print(f"Emulated Graph, Google and Slack on {emulator.root} ({len(org.people)} people)")
    try:
        first = pull(lake, now=DEMO_NOW)
        _print_pass("first pull", first)
        standup = next(m for m in org.meetings if m.occurrence_id == "standup-2")
        org.cancel_meeting(standup.occurrence_id)
        mail = org.emails[0]
        org.add_email(org_module.Email("<m6.demo@example.org>", "cat", ["ann"], [], mail.sent_at + timedelta(days=8),
                                       "Subject-Marker-Demo", "Body-Marker-Demo"))
        thread = org.channels[0]
        org.post(thread.id, org_module.ChatMessage("1775559600.000100", "dan", "Text-Marker-Demo <@U00000001>",
                                                   thread_ts=thread.messages[0].ts))
        second = pull(lake, now=DEMO_NOW)
        _print_pass("second pull (after a new mail, a thread reply and a cancelled meeting)", second)
    finally:
        emulator.stop()
    summary = pipeline.run(None, lake, now=DEMO_NOW)
    print(f"\nbuilt {', '.join(summary.weeks)}; published {', '.join(summary.published_weeks) or 'nothing'}")
    print(f"report: {summary.report}")
    return 0 if len(summary.published_weeks) == len(summary.weeks) else 3
