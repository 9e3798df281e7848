#!/usr/bin/env bash
# Failover drill: a primary and two standbys under pg_auto_failover
# (tools/cluster), one plantmon_server that knows them only as a host list, four
# gateways streaming and a client listing readings (from a standby while one is
# usable); the primary is killed with SIGKILL
# (keeper, postmaster and backends at once) and the monitor promotes a standby.
#
#   tools/fault/run_failover.sh           synchronous replication: every gateway must be
#                                         acknowledged again within 30 s, no acknowledged
#                                         reading may be lost
#   tools/fault/run_failover.sh --async   asynchronous replication: the same, except that
#                                         acknowledged readings lost are measured and reported
#   ... --stall-standbys SECONDS          the standbys stop receiving WAL that long before the
#                                         kill (tools/cluster kill-primary), as behind a slow link
#
# PLANTMON_DRILL_BIN: a directory with the built services/plantmon_server,
# tools/plantmon_db and tools/fault/ingest_under_fault (the test's runfiles);
# without it, this script bootstraps and builds them (-c opt).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)  # tools/
mode=sync
stall=0
while (($# > 0)); do
  case $1 in
    --async) mode=async ;;
    --stall-standbys) stall=${2:?--stall-standbys needs SECONDS}; shift ;;
    *) echo "usage: $0 [--async] [--stall-standbys SECONDS]" >&2; exit 2 ;;
  esac
  shift
done

if [[ -n "${PLANTMON_DRILL_BIN:-}" ]]; then
  BIN=$PLANTMON_DRILL_BIN
else
  cd "$here/.."
  tools/bootstrap
  bazel build -c opt //services:plantmon_server //tools:plantmon_db //tools/fault:all >/dev/null 2>&1 ||
    bazel build -c opt //services:plantmon_server //tools:plantmon_db //tools/fault:all
  BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
fi

# Under /tmp, not a test's TEST_TMPDIR: the cluster runs as the postgres user,
# which must reach its directories.
work=$(mktemp -d /tmp/plantmon-failover.XXXXXX)
chmod 755 "$work"
server_pid=""
cleanup() {
  # Every step, whatever the one before returned.
  set +e
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  "$here/cluster" stop "$work/cluster"
  rm -rf "$work"
}
trap cleanup EXIT

# The cluster's processes run as the postgres user, which may not enter the
# caller's directory (a test's runfiles).
cd "$work"
mkdir "$work/cluster"
cluster_args=()
[[ $mode == async ]] && cluster_args+=(--async)
echo "starting a pg_auto_failover monitor, a primary and two standbys ($mode replication)"
"$here/cluster" start "$work/cluster" "${cluster_args[@]}" >/dev/null
"$here/cluster" state "$work/cluster"
set -a
source "$work/cluster/cluster.env"
set +a
# Lists and aggregates go to whichever node is a standby (libpq's
# target_session_attrs=standby, docs/scaling.md "Read replicas"): the reader
# keeps reading through the failover, which promotes one of them.
export POSTGRES_DB_READ_HOSTS=$POSTGRES_DB_HOST
echo "POSTGRES_DB_HOST=$POSTGRES_DB_HOST POSTGRES_DB_READ_HOSTS=$POSTGRES_DB_READ_HOSTS"
export PLANTMON_BCRYPT_COST=10
source "$here/lib/postgres.sh"  # pg_free_port
export PLANTMON_METRICS_ADDR=127.0.0.1:$(pg_free_port)
"$BIN/tools/plantmon_db" init >/dev/null

: >"$work/server.log"
PLANTMON_LISTEN_ADDR=127.0.0.1:0 "$BIN/services/plantmon_server" >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/^plantmon: serving on port \([0-9]*\).*/\1/p' "$work/server.log")
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || { cat "$work/server.log" >&2; exit 1; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), PostgreSQL" \
  "$(psql --version | awk '{print $3}'), pg_autoctl $(pg_autoctl --version | sed -n 's/^pg_autoctl version //p');" \
  "monitor, nodes, server and drill on one host"
drill_args=(--port="$port" --fault_after_seconds=3 --max_recovery_seconds=30
  --fault_command="'$here/cluster' kill-primary '$work/cluster' --stall-standbys $stall")
[[ $mode == async ]] && drill_args+=(--acknowledged_loss=report)
primary_before=$("$here/cluster" wait-primary "$work/cluster" 10)
status=0
"$BIN/tools/fault/ingest_under_fault" "${drill_args[@]}" || status=$?
# The drill passes only if the fault happened: another node is primary now.
primary_after=$("$here/cluster" wait-primary "$work/cluster" 30 || true)
if [[ -z "$primary_after" || "$primary_after" == "$primary_before" ]]; then
  echo "FAIL: the primary on port $primary_before was not replaced (now: ${primary_after:-none})"
  status=1
fi
echo "reads by where they were answered (plantmon_lag_tolerant_reads_total):"
curl -s "http://$PLANTMON_METRICS_ADDR/metrics" | grep '^plantmon_lag_tolerant_reads_total' || true
echo "cluster after the drill:"
"$here/cluster" state "$work/cluster"
echo "server log (errors and health only):"
grep -v '^access ' "$work/server.log" | tail -n 20
exit "$status"
