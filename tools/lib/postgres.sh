# Shell helpers for a private PostgreSQL 15 cluster; sourced by tools/run and tools/test.
# initdb and postgres refuse to run as root, so as root the cluster belongs to the
# `postgres` system user (created by the postgresql package).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
pg_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# pg_init_cluster DATADIR SUPERUSER PASSWORD: creates the cluster unless it exists.
pg_init_cluster() {
  local datadir=$1 superuser=$2 password=$3
  if [[ -f "$datadir/PG_VERSION" ]]; then
    return 0
  fi
  mkdir -p "$datadir"
  chmod 700 "$datadir"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$datadir"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "$password" >"$pwfile"
  [[ $EUID -eq 0 ]] && chown postgres "$pwfile"
  pg_as_owner "$PG_BIN/initdb" --pgdata="$datadir" --username="$superuser" \
    --pwfile="$pwfile" --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    >"$datadir.initdb.log" 2>&1 || { cat "$datadir.initdb.log" >&2; rm -f "$pwfile"; return 1; }
  rm -f "$pwfile"
}

# pg_start_standby PRIMARY_PORT DATADIR PORT USER PASSWORD [settings...]: a hot
# standby of the cluster on 127.0.0.1:PRIMARY_PORT (USER may replicate), copied
# with pg_basebackup and streaming from it (-R writes primary_conninfo), started
# on 127.0.0.1:PORT with pg_start_cluster.
pg_start_standby() {
  local primary_port=$1 datadir=$2 port=$3 user=$4 password=$5
  shift 5
  mkdir -p "$datadir"
  chmod 700 "$datadir"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$datadir"
  pg_as_owner env PGPASSWORD="$password" "$PG_BIN/pg_basebackup" --host=127.0.0.1 \
    --port="$primary_port" --username="$user" --pgdata="$datadir" --write-recovery-conf \
    --wal-method=stream --checkpoint=fast >"$datadir.basebackup.log" 2>&1 ||
    { cat "$datadir.basebackup.log" >&2; return 1; }
  pg_start_cluster "$datadir" "$port" "$@"
}

# pg_start_cluster DATADIR PORT [extra postgres -c settings...]: starts it on 127.0.0.1:PORT, TCP only.
pg_start_cluster() {
  local datadir=$1 port=$2
  shift 2
  local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=''"
  local setting
  for setting in "$@"; do options="$options -c $setting"; done
  pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$datadir" --log="$datadir/server.log" \
    --options="$options" --wait --timeout=60 start >/dev/null
}

pg_stop_cluster() {
  local datadir=$1
  if [[ -f "$datadir/postmaster.pid" ]]; then
    pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$datadir" --mode=fast --wait stop >/dev/null 2>&1 || true
  fi
}

# For a benchmark that needs only PostgreSQL: a throwaway cluster (role and
# password "bench") in a new directory $work, listening on 127.0.0.1:$port,
# stopped and removed when the script exits. Arguments are settings for
# pg_start_cluster.
pg_throwaway_cluster() {
  work=$(mktemp -d /tmp/plantmon-bench.XXXXXX)
  chmod 755 "$work"
  trap 'pg_stop_cluster "$work/pg"; rm -rf "$work"' EXIT
  port=$(pg_free_port)
  pg_init_cluster "$work/pg" bench bench
  pg_start_cluster "$work/pg" "$port" "$@"
  export PGPASSWORD=bench
}
