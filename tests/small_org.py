"""One small synthetic organisation (60 people, 2 weeks), run once for the whole test session.
A build costs tens of seconds whatever its size, so the tests that start from this first run
(the pipeline's reruns, the erasure) get a copy of its landing and lake instead of running it
again. Copies hold everything the run left, every table version included (Delta tables hold
relative paths)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY = "f440d0c926b9728a93427bc6789cbf9798e99dc9049d3ef8691cbdd62395a16a"
# Settings that would change what the first run writes, or how it runs (the kill test compares a
# compiled rebuild with this interpreted run): unset for it.
UNSET = ("ONA_PSEUDONYM_KEY_FILE", "ONA_INTERNAL_DOMAINS", "ONA_REQUIRE_APPROVAL", "ONA_OPT_OUT_FILE", "ONA_DP",
         "ONA_INTERPRETED_BELOW_ROWS")


@dataclass(frozen=True)
class FirstRun:
    root: Path
    counts: dict  # what the generator wrote (demo/synthetic.py)
    summary: object  # the first run's RunSummary

    def copy_to(self, folder: Path) -> tuple[Path, Path]:
        """A landing and a lake of their own, as the first run left them."""
        for name in ("landing", "lake"):
            shutil.copytree(self.root / name, folder / name, symlinks=True)
        return folder / "landing", folder / "lake"


def first_run(spark, root: Path) -> FirstRun:
    from demo.synthetic import DemoSpec, write_landing
    from jobs import pipeline

    counts = write_landing(root / "landing", DemoSpec(n_people=60, weeks=2))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONA_PSEUDONYM_KEY", KEY)
        for name in UNSET:
            env.delenv(name, raising=False)
        summary = pipeline.run(root / "landing", root / "lake", spark=spark)
    return FirstRun(root=root, counts=counts, summary=summary)
