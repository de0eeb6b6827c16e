# Sourced by the infra scripts that start servers: stop one by the pid its start wrote.
# stop_pid_file FILE: SIGTERM, up to 10 s for it to end, then SIGKILL; the file goes.
stop_pid_file() {
  local pid_file=$1
  [ -f "$pid_file" ] || return 0
  local pid; pid=$(cat "$pid_file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}
