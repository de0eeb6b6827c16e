#!/usr/bin/env bash
# Pack the Python environment Spark executors run the pipeline's Python tasks in:
#   infra/cluster/pack-env.sh [OUT]   (default .cache/cluster/ona-executor-env.tar.gz)
# It builds a virtualenv of executor-requirements.txt and packs it with venv-pack, Spark's
# documented way to ship Python packages (spark.archives). Point ONA_EXECUTOR_ENV at the archive
# (a local file, or a copy on hdfs:// or s3a://) and jobs/cluster.py ships it with every job.
# A venv-pack archive links to the Python it was built with (python3.11 here): the executors'
# machines need that interpreter at the same path (docs/deploy.md, "Executors").
# Rebuilt only when executor-requirements.txt or the Python changed. Prints the archive's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/.cache/cluster/ona-executor-env.tar.gz}
python=${PYTHON:-python3.11}
stamp="$out.stamp"
want="$(sha256sum "$here/executor-requirements.txt" | cut -c1-16) $("$python" -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')"
if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "executor environment up to date" >&2
  echo "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
"$python" -m venv "$build/env"
"$build/env/bin/pip" install -q --no-compile --disable-pip-version-check -r "$here/executor-requirements.txt"
rm -f "$out" "$stamp"
"$build/env/bin/venv-pack" -q -p "$build/env" -o "$out"
echo "$want" > "$stamp"
echo "executor environment packed ($(du -h "$out" | cut -f1))" >&2
echo "$out"
