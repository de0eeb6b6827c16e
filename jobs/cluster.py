"""What executors on a Spark cluster need that a local run has in its own process: the
project's Python code, the Python packages of its Python tasks, and the jars (docs/deploy.md).

- Code: the `jobs` and `schemas` packages, zipped once per content into the temp folder and
  shipped with `spark.submit.pyFiles`, so executors run exactly the driver's code.
- Packages: ONA_EXECUTOR_ENV names a packed environment (infra/cluster/pack-env.sh: igraph,
  numpy, scipy, pandas, pyarrow), shipped with `spark.archives` and unpacked by every executor
  as ./environment. Unset, executors run the driver's Python path (a cluster whose machines or
  image have the same virtualenv).
- Jars: jobs/spark.py lists them in `spark.jars` for every master; Spark serves them to
  executors from the driver.

Everything else a cluster needs (the S3A endpoint and credentials, executor sizes, the
driver's address) is Spark configuration: `spark-defaults.conf` in SPARK_CONF_DIR.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

EXECUTOR_ENV_VAR = "ONA_EXECUTOR_ENV"
# Where executors unpack the archive, relative to their working folder ("#environment").
ENV_ALIAS = "environment"
PACKAGES = ("jobs", "schemas")


class ExecutorEnvError(RuntimeError):
    pass


def is_cluster(master: str) -> bool:
    """A master other than local[...]: executors run in processes (and machines) of their own."""
    return not master.startswith("local")


def code_archive(folder: Path | None = None) -> Path:
    """A zip of the project's packages (Python sources only), named by its content: a rerun with
    the same code reuses it, a changed file makes a new one."""
    root = Path(__file__).resolve().parents[1]
    files = sorted(p for package in PACKAGES for p in (root / package).rglob("*.py")
                   if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    target = (folder or Path(tempfile.gettempdir())) / f"ona-code-{digest.hexdigest()[:16]}.zip"
    if not target.is_file():
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(root).as_posix())
        partial.replace(target)  # atomic: concurrent jobs never ship a half-written zip
    return target


def executor_conf() -> dict[str, str]:
    """The session settings that ship code and packages to a cluster's executors. With a packed
    environment, PYSPARK_PYTHON becomes its interpreter: PySpark reads it from the driver
    process's environment when the session starts, so this runs before the session exists."""
    conf = {"spark.submit.pyFiles": str(code_archive())}
    packed = os.environ.get(EXECUTOR_ENV_VAR, "").strip()
    if packed:
        if "://" not in packed and not Path(packed).is_file():
            raise ExecutorEnvError(f"{EXECUTOR_ENV_VAR}={packed}: no such archive "
                                   "(build one with infra/cluster/pack-env.sh)")
        conf["spark.archives"] = f"{packed}#{ENV_ALIAS}"
        os.environ["PYSPARK_PYTHON"] = f"./{ENV_ALIAS}/bin/python"
    return conf
