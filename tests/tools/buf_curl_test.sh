#!/usr/bin/env bash
# Explores a live server the way a person with `buf curl` would: everything
# through server reflection, nothing from local .proto files.
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
: "${PLANTMON_BUF:?tools/test passes the buf binary as PLANTMON_BUF}"
start_plantmon_server
url="http://127.0.0.1:$PLANTMON_PORT"
curl_grpc() { "$PLANTMON_BUF" curl --protocol grpc --http2-prior-knowledge "$@"; }

services=$(curl_grpc --list-services "$url")
for service in plantmon.v1.UserService plantmon.v1.DeviceService plantmon.v1.PlantService \
               plantmon.v1.AlertService plantmon.v1.TelemetryService grpc.health.v1.Health; do
  grep -qx "$service" <<<"$services" || fail "reflection does not list $service: $services"
done

methods=$(curl_grpc --list-methods "$url")
for method in plantmon.v1.UserService/Login plantmon.v1.DeviceService/RecordHeartbeat \
              plantmon.v1.PlantService/CreatePlantDeviceAssignment \
              plantmon.v1.AlertService/AcknowledgeAlerts plantmon.v1.TelemetryService/ListSensorData \
              grpc.health.v1.Health/Check grpc.health.v1.Health/Watch; do
  grep -qx "$method" <<<"$methods" || fail "reflection does not describe $method"
done
(( $(grep -c '^plantmon.v1.' <<<"$methods") >= 50 )) || fail "too few methods described: $methods"

health=$(curl_grpc "$url/grpc.health.v1.Health/Check")
grep -q '"SERVING"' <<<"$health" || fail "health: $health"

# Sign up, log in, and create a plant, with JSON built from reflected schemas.
curl_grpc -d '{"user": {"email": "explorer@example.com", "username": "explorer"}, "password": "exploring-plants"}' \
  "$url/plantmon.v1.UserService/CreateUser" >/dev/null
login=$(curl_grpc -d '{"login": "explorer", "password": "exploring-plants"}' "$url/plantmon.v1.UserService/Login")
token=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])' <<<"$login")
[[ -n "$token" ]] || fail "no token in $login"
auth=(-H "Authorization: Bearer $token")

species=$(curl_grpc "${auth[@]}" -d '{"name": "Monstera Deliciosa"}' "$url/plantmon.v1.PlantService/ListPlantTypes")
species_id=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["plantTypes"][0]["id"])' <<<"$species")
plant=$(curl_grpc "${auth[@]}" -d "{\"plant\": {\"plantTypeId\": \"$species_id\", \"plantName\": \"Explorer's Monstera\"}}" \
  "$url/plantmon.v1.PlantService/CreatePlant")
grep -q "Explorer's Monstera" <<<"$plant" || fail "create plant: $plant"
grep -q '"isHealthy": true' <<<"$plant" || fail "new plant is not healthy: $plant"

# Without the token the same call is refused with UNAUTHENTICATED.
if out=$(curl_grpc -d '{}' "$url/plantmon.v1.PlantService/ListPlants" 2>&1); then
  fail "ListPlants without a token succeeded: $out"
fi
grep -qi "unauthenticated" <<<"$out" || fail "expected unauthenticated: $out"
# Secrets never reach the server's log: not the password, the token, or an
# API key used for an upload.
key=$(curl_grpc "${auth[@]}" -d '{"name": "log check"}' "$url/plantmon.v1.UserService/CreateApiKey")
secret=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' <<<"$key")
curl_grpc -H "Authorization: Bearer $secret" -d '{"sensorData": {"deviceId": "1", "measurementValue": 1, "timestamp": "2026-01-01T00:00:00Z"}}' \
  "$url/plantmon.v1.TelemetryService/RecordReading" >/dev/null 2>&1 || true
grep -q "access method=/plantmon.v1.UserService/Login code=OK" "$PLANTMON_SERVER_LOG" || fail "no access log"
for secret_text in exploring-plants "$token" "$secret" "$POSTGRES_DB_PASSWORD"; do
  if grep -qF -- "$secret_text" "$PLANTMON_SERVER_LOG"; then fail "a secret reached the server log"; fi
done
# A server that cannot log in to the database says so without the password.
bad_log="$TEST_TMPDIR/bad-password.log"
POSTGRES_DB_PASSWORD=wrong-secret-password PLANTMON_LISTEN_ADDR=127.0.0.1:0 \
  timeout 3 "$runfiles/services/plantmon_server" >"$bad_log" 2>&1 || true
grep -q "cannot connect" "$bad_log" || fail "no connection error logged: $(cat "$bad_log")"
if grep -qF wrong-secret-password "$bad_log"; then fail "the database password reached the log"; fi
echo PASS
