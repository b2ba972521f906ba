#!/usr/bin/env bash
# Restart only the radosgw process of a cluster started by start.sh (the monitor and the OSD keep
# running, so memstore keeps its data): SIGKILL the gateway recorded in DATA_DIR/pids, start a new
# one with the same ceph.conf (same port), record its pid, and wait until it answers.
#   usage: bash ci/rgw/restart.sh [DATA_DIR]     (default: $RGW_DIR)
#   RGW_DOWN_SECONDS = how long to leave it down before starting it again (default 1)
set -euo pipefail
DIR=${1:-${RGW_DIR:-}}
[ -n "$DIR" ] && [ -f "$DIR/ceph.conf" ] || { echo "usage: restart.sh DATA_DIR (started by start.sh)" >&2; exit 2; }
DIR=$(cd "$DIR" && pwd -P)
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/ceph.conf"; }
pid=$(awk '$1 == "rgw.gw" { p = $2 } END { print p }' "$DIR/pids")
if [ -n "$pid" ] && ours "$pid"; then
  kill -KILL "$pid"
  for _ in $(seq 1 50); do ours "$pid" || break; sleep 0.1; done
  echo "[rgw] killed radosgw ($pid)" >&2
fi
sleep "${RGW_DOWN_SECONDS:-1}"
radosgw -n client.rgw.gw -c "$DIR/ceph.conf" -f </dev/null >>"$DIR/log/rgw.gw.out" 2>&1 &
echo "rgw.gw $!" >>"$DIR/pids"
endpoint=$(sed -n 's/^rgw frontends = beast endpoint=\([0-9.:]*\).*/http:\/\/\1/p' "$DIR/ceph.conf")
for _ in $(seq 1 600); do
  curl -sf -o /dev/null --max-time 2 "$endpoint/" && { echo "[rgw] radosgw back on $endpoint" >&2; exit 0; }
  kill -0 "$!" 2>/dev/null || { echo "[rgw] radosgw exited; see $DIR/log" >&2; exit 1; }
  sleep 0.1
done
echo "[rgw] radosgw did not answer within 60 s" >&2
exit 1
