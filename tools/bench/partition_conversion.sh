#!/usr/bin/env bash
# Migration 0024 on a table with data: fills sensor_data (migrations 0001 to
# 0023 applied with psql) with MILLIONS million readings of 1,000 devices,
# then runs 0024's steps one at a time and prints how long each took. Steps 1
# to 3 run beside ingest; step 4 is the one that holds sensor_data against it.
#
#   tools/bench/partition_conversion.sh [MILLIONS]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
millions=${1:-10}
source tools/lib/postgres.sh
pg_throwaway_cluster shared_buffers=1GB max_wal_size=4GB
sql() { psql -X -q -h 127.0.0.1 -p "$port" -U bench -d postgres -v ON_ERROR_STOP=1 "$@"; }

for migration in migrations/00[01]*.sql migrations/002[0-3]_*.sql; do
  sql -f "$migration" >/dev/null 2>&1
done
sql -c "INSERT INTO users (id, email, username, password_hash) VALUES (1, 'a@b.c', 'a', 'h');
  INSERT INTO manufacturers (id, name) VALUES (1, 'm');
  INSERT INTO device_types (id, manufacturer_id, name, device_type) VALUES (1, 1, 'probe', 'sensor');
  INSERT INTO devices (id, user_id, device_type_id, unique_identifier, device_name)
    SELECT g, 1, 1, 'u' || g, 'd' || g FROM generate_series(1, 1000) g"
for i in $(seq 1 "$millions"); do
  sql -c "INSERT INTO sensor_data (device_id, measurement_value, \"timestamp\", parameter_name)
    SELECT 1 + g % 1000, g, now() - ($i * 1000000 + g) * interval '1 second', 'soil_moisture'
    FROM generate_series(1, 1000000) g"
done
sql -c "VACUUM ANALYZE sensor_data"
sql -At -c "SELECT 'readings: ' || count(*) || ', ' || pg_size_pretty(pg_total_relation_size('sensor_data'))
  || ' with indexes' FROM sensor_data"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); PostgreSQL $(psql --version | awk '{print $3}')"
python3 - "$port" <<'PY'
import subprocess, sys, time
port = sys.argv[1]
steps = open("migrations/0024_sensor_data_partitions.sql").read().split("\n-- plantmon:step\n")
for number, step in enumerate(steps, 1):
    started = time.monotonic()
    subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", port, "-U", "bench", "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-c", step], check=True)
    print(f"step {number}: {time.monotonic() - started:.3f} s", flush=True)
PY
