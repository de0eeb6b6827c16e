#!/usr/bin/env bash
# A Spark standalone cluster on localhost (one master, one worker), started from the classes of
# the pip pyspark distribution, so it runs the Spark version the pipeline was built with:
#   infra/cluster/standalone.sh start RUN_DIR   prints the master URL, spark://127.0.0.1:PORT
#   infra/cluster/standalone.sh stop RUN_DIR
# Ports: ONA_MASTER_PORT (7077), ONA_MASTER_UI_PORT (8080), ONA_WORKER_UI_PORT (8081).
# The worker offers ONA_WORKER_CORES (1) cores and ONA_WORKER_MEMORY (2g) to executors.
# Each JVM's pid goes to RUN_DIR/{master,worker}.pid (spark-class execs java, so the pid is the
# JVM's); stop kills them by those ids, the worker first (it ends its executors).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
verb=${1:?usage: standalone.sh start|stop RUN_DIR}
run_dir=${2:?usage: standalone.sh start|stop RUN_DIR}
python=${PYTHON:-$root/.venv/bin/python}
master_port=${ONA_MASTER_PORT:-7077}
master_ui=${ONA_MASTER_UI_PORT:-8080}
worker_ui=${ONA_WORKER_UI_PORT:-8081}
master_url="spark://127.0.0.1:$master_port"

# shellcheck source=../pids.sh
. "$here/../pids.sh"
stop_cluster() { stop_pid_file "$run_dir/worker.pid"; stop_pid_file "$run_dir/master.pid"; }

case "$verb" in
  start)
    mkdir -p "$run_dir/work"
    SPARK_HOME=$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
    JAVA_HOME=$("$python" -m jobs.java home)
    export SPARK_HOME JAVA_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_NO_DAEMONIZE=1
    # Folders of finished applications (jars, unpacked environment: ~200 MB each) go an hour later.
    export SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=3600"
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$master_port" --webui-port "$master_ui" > "$run_dir/master.log" 2>&1 &
    echo $! > "$run_dir/master.pid"
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores "${ONA_WORKER_CORES:-1}" --memory "${ONA_WORKER_MEMORY:-2g}" \
      --webui-port "$worker_ui" --work-dir "$run_dir/work" "$master_url" > "$run_dir/worker.log" 2>&1 &
    echo $! > "$run_dir/worker.pid"
    # Ready when the master lists the worker as alive.
    for _ in $(seq 300); do
      if curl -sf "http://127.0.0.1:$master_ui/json/" | grep -Eq '"aliveworkers" ?: ?1'; then
        echo "$master_url"
        exit 0
      fi
      for process in master worker; do
        if ! kill -0 "$(cat "$run_dir/$process.pid")" 2>/dev/null; then
          echo "standalone.sh: the $process exited: $(tail -5 "$run_dir/$process.log")" >&2
          stop_cluster; exit 1
        fi
      done
      sleep 0.2
    done
    echo "standalone.sh: no worker registered within 60 s (logs in $run_dir)" >&2
    stop_cluster; exit 1
    ;;
  stop) stop_cluster ;;
  *) echo "usage: standalone.sh start|stop RUN_DIR" >&2; exit 2 ;;
esac
