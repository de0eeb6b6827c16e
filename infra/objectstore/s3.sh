#!/usr/bin/env bash
# An S3-compatible object store on localhost for tests and trials (moto's server):
#   infra/objectstore/s3.sh start RUN_DIR [BUCKET]   prints the endpoint, http://127.0.0.1:PORT
#   infra/objectstore/s3.sh stop RUN_DIR
# Port: ONA_S3_PORT (default 9000). The bucket (default "ona") is created at start. Any access
# key and secret are accepted. Data lives in the server's memory: stop loses it.
# The server's pid goes to RUN_DIR/s3.pid; stop kills it by that id.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
verb=${1:?usage: s3.sh start|stop RUN_DIR [BUCKET]}
run_dir=${2:?usage: s3.sh start|stop RUN_DIR [BUCKET]}
bucket=${3:-ona}
port=${ONA_S3_PORT:-9000}
venv=${ONA_S3_VENV:-$root/.cache/objectstore/venv}
endpoint="http://127.0.0.1:$port"

# shellcheck source=../pids.sh
. "$here/../pids.sh"

case "$verb" in
  start)
    mkdir -p "$run_dir"
    # The virtualenv is (re)built when requirements.txt changed.
    stamp=$(sha256sum "$here/requirements.txt" | cut -c1-16)
    if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
      rm -rf "$venv"
      "${PYTHON:-python3.11}" -m venv "$venv"
      "$venv/bin/pip" install -q --no-compile --disable-pip-version-check -r "$here/requirements.txt"
      echo "$stamp" > "$venv/.stamp"
    fi
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > "$run_dir/s3.log" 2>&1 &
    echo $! > "$run_dir/s3.pid"
    for _ in $(seq 150); do
      if curl -sf -o /dev/null "$endpoint/moto-api/"; then break; fi
      if ! kill -0 "$(cat "$run_dir/s3.pid")" 2>/dev/null; then
        echo "s3.sh: the emulator exited: $(tail -5 "$run_dir/s3.log")" >&2; rm -f "$run_dir/s3.pid"; exit 1
      fi
      sleep 0.2
    done
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$venv/bin/python" - "$endpoint" "$bucket" <<'PY'
import sys
import boto3
endpoint, bucket = sys.argv[1:3]
boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
PY
    echo "$endpoint"
    ;;
  stop) stop_pid_file "$run_dir/s3.pid" ;;
  *) echo "usage: s3.sh start|stop RUN_DIR [BUCKET]" >&2; exit 2 ;;
esac
