"""Serve the emulator until interrupted, to point `ona pull` at it by hand:

    .venv/bin/python -m tests.emulator.serve [--page-size 2]

prints the three AIRFLOW_CONN_ONA_* values to export (docs/pull.md, "Trying it offline").
"""

from __future__ import annotations

import argparse
import time

from tests.emulator import google, msgraph, slack  # noqa: F401 - registers the vendors' handlers
from tests.emulator.org import make_org
from tests.emulator.server import Emulator

VENDOR_MODULES = (msgraph, google, slack)


def start(page_size: int = 2, org=None) -> Emulator:
    emulator = Emulator(org or make_org(), page_size=page_size)
    emulator.start()
    return emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page-size", type=int, default=2)
    args = parser.parse_args()
    emulator = start(args.page_size)
    for vendor in ("msgraph", "google", "slack"):
        print(f"export AIRFLOW_CONN_ONA_{vendor.upper()}='{emulator.connection_json(vendor)}'")
    print(f"serving on {emulator.root}; Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
