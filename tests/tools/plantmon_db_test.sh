#!/usr/bin/env bash
# End-to-end test of the database CLI against the PostgreSQL from tools/test:
# init, status, seed twice without duplicates, reset with and without --yes.
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
cli="$runfiles/tools/plantmon_db"
export POSTGRES_DB_NAME="plantmon_cli_test_$(unique_suffix)"

sql() { psql_admin -d "${2:-$POSTGRES_DB_NAME}" -c "$1"; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }

out=$("$cli" init)
[[ "$out" == *"created database"* ]] || fail "init did not create the database: $out"
[[ "$out" == *"applied 0001_initial_schema.sql"* ]] || fail "init did not migrate: $out"
[[ "$out" != *"$POSTGRES_DB_PASSWORD"* ]] || fail "init printed the password"

out=$("$cli" init)
[[ "$out" == *"found database"* && "$out" == *"schema is up to date"* ]] || fail "second init: $out"

out=$("$cli" status)
[[ "$out" == *"0 pending"* ]] || fail "status: $out"

"$cli" seed >/dev/null
counts() {
  sql "SELECT (SELECT count(*) FROM users) || ',' || (SELECT count(*) FROM manufacturers) || ',' ||
              (SELECT count(*) FROM device_types) || ',' || (SELECT count(*) FROM plant_types) || ',' ||
              (SELECT count(*) FROM devices) || ',' || (SELECT count(*) FROM plants) || ',' ||
              (SELECT count(*) FROM plant_device_assignments) || ',' ||
              (SELECT count(*) FROM alert_rules) || ',' || (SELECT count(*) FROM sensor_data) || ',' ||
              (SELECT count(*) FROM alerts) || ',' || (SELECT count(*) FROM alert_events)"
}
first=$(counts)
"$cli" seed >/dev/null
second=$(counts)
expect_eq "$second" "$first" "seeding twice changed the data"

IFS=, read -r users makers dtypes ptypes devices plants assignments rules readings alerts events <<<"$first"
expect_eq "$users" 1 "demo users"
(( makers >= 3 )) || fail "only $makers manufacturers"
(( ptypes >= 10 )) || fail "only $ptypes plant species"
(( dtypes >= 4 && devices >= 4 && plants >= 2 && assignments >= 4 && rules >= 2 )) || fail "thin demo data: $first"
# Seven days every ten minutes per sensor.
per_device=$(sql "SELECT min(c) FROM (SELECT count(*) c FROM sensor_data GROUP BY device_id) x")
(( per_device >= 7 * 24 * 6 )) || fail "only $per_device readings per device"
anomalies=$(sql "SELECT count(*) FROM sensor_data WHERE is_anomaly")
(( anomalies > 0 && anomalies < readings / 50 )) || fail "$anomalies anomalies of $readings"
span=$(sql "SELECT extract(epoch FROM max(\"timestamp\") - min(\"timestamp\"))::int / 3600 FROM sensor_data")
(( span >= 167 )) || fail "readings span only $span hours"
# The demo's alerts are the engine's (docs/telemetry.md, "Demo data"): some
# open, some resolved, each opened at a reading of its rule's parameter that
# broke the rule, every change an event, and plant health following them.
open_alerts=$(sql "SELECT count(*) FROM alerts WHERE status = 'active'")
resolved_alerts=$(sql "SELECT count(*) FROM alerts WHERE status = 'resolved'")
(( open_alerts >= 1 && resolved_alerts >= 1 )) || fail "demo alerts: $open_alerts open, $resolved_alerts resolved"
(( events >= alerts )) || fail "$events alert events for $alerts alerts"
expect_eq "$(sql "SELECT count(*) FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
                  WHERE NOT EXISTS (SELECT 1 FROM sensor_data s
                    JOIN plant_device_assignments pa ON pa.device_id = s.device_id AND pa.plant_id = a.plant_id
                    WHERE s.parameter_name = r.parameter_name AND s.\"timestamp\" = a.triggered_at
                      AND s.measurement_value = a.triggered_value
                      AND ((r.condition_operator = '<' AND s.measurement_value < r.threshold_value) OR
                           (r.condition_operator = '>' AND s.measurement_value > r.threshold_value)))")" 0 \
  "an alert that no reading raised"
expect_eq "$(sql "SELECT count(*) FROM plants p WHERE p.is_healthy = EXISTS (SELECT 1 FROM alerts a
                  WHERE a.plant_id = p.id AND a.status = 'active' AND a.severity <> 'info')")" 0 \
  "plant health does not follow the demo alerts"
# A watering history at each species' interval, and last_watered following it.
waterings=$(sql "SELECT count(*) FROM watering_events")
(( waterings >= 3 * 3 )) || fail "only $waterings demo waterings"
expect_eq "$(sql "SELECT count(*) FROM plants p WHERE p.last_watered IS DISTINCT FROM
                  (SELECT max(watered_at) FROM watering_events w WHERE w.plant_id = p.id)")" 0 \
  "last_watered does not follow the demo waterings"
hash=$(sql "SELECT password_hash FROM users")
[[ "$hash" == '$2b$12$'* ]] || fail "demo password is not bcrypt cost 12: $hash"

"$cli" grant-admin demo@plantmon.dev | grep -q "now an administrator" || fail "grant-admin"
expect_eq "$(sql "SELECT is_admin FROM users WHERE email = 'demo@plantmon.dev'")" t "grant-admin did not set is_admin"
"$cli" revoke-admin demo@plantmon.dev >/dev/null
expect_eq "$(sql "SELECT is_admin FROM users WHERE email = 'demo@plantmon.dev'")" f "revoke-admin"
if "$cli" grant-admin nobody@example.com 2>/dev/null; then fail "grant-admin of an unknown email succeeded"; fi

# api-key: only the secret on stdout; a second key of the same name revokes the first.
key1=$("$cli" api-key demo@plantmon.dev "mqtt bridge")
[[ "$key1" == pmk_* && "$key1" != *$'\n'* ]] || fail "api-key printed: $key1"
key2=$("$cli" api-key demo@plantmon.dev "mqtt bridge")
[[ "$key2" == pmk_* && "$key2" != "$key1" ]] || fail "second api-key: $key2"
expect_eq "$(sql "SELECT count(*) FILTER (WHERE revoked_at IS NULL) || '/' || count(*) FROM api_keys
                  WHERE name = 'mqtt bridge' AND key_hash = sha256('$key2'::bytea)")" "1/1" "the new key"
expect_eq "$(sql "SELECT count(*) FROM api_keys WHERE name = 'mqtt bridge' AND revoked_at IS NULL")" 1 \
  "api-key left the earlier key of that name unrevoked"
if "$cli" api-key nobody@example.com x >/dev/null 2>&1; then fail "api-key of an unknown email succeeded"; fi

if "$cli" reset >/dev/null 2>&1; then fail "reset without --yes succeeded"; fi
expect_eq "$(sql 'SELECT count(*) FROM users')" 1 "reset without --yes deleted data"

"$cli" reset --yes >/dev/null
expect_eq "$(sql 'SELECT count(*) FROM users')" 0 "reset left users"
applied=$(sql 'SELECT count(*) FROM schema_migrations')
(( applied >= 2 )) || fail "reset did not migrate: $applied migrations applied"
[[ "$("$cli" status)" == *"$applied applied, 0 pending"* ]] || fail "status after reset"

if POSTGRES_DB_PORT=abc "$cli" status 2>err.txt; then fail "malformed port accepted"; fi
grep -q POSTGRES_DB_PORT err.txt || fail "malformed port error does not name the variable"

if "$cli" frobnicate 2>/dev/null; then fail "unknown command accepted"; fi
echo "PASS"
