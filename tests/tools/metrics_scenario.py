"""The metrics endpoint of a live server (PLANTMON_METRICS_ADDR): scraped before and after
real calls, a gateway batch that opens an alert, and an open watch; the counters must move
by exactly what was done.

Usage: metrics_scenario.py GRPC_PORT METRICS_PORT
"""

import re
import sys
import time
import urllib.error
import urllib.request

import grpc

from plantmon.v1 import alert_pb2, alert_pb2_grpc
from plantmon.v1 import device_pb2, device_pb2_grpc
from plantmon.v1 import plant_pb2, plant_pb2_grpc
from plantmon.v1 import telemetry_pb2, telemetry_pb2_grpc
from plantmon.v1 import user_pb2, user_pb2_grpc

GRPC_PORT, METRICS_PORT = int(sys.argv[1]), int(sys.argv[2])
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def scrape():
    """{(name, labels text): value} of one scrape, checking the format on the way."""
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10) as reply:
        if reply.status != 200 or not reply.headers["Content-Type"].startswith("text/plain"):
            fail(f"scrape answered {reply.status} {reply.headers['Content-Type']}")
        text = reply.read().decode()
    samples = {}
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP ") or not line:
            continue
        match = SAMPLE.match(line)
        if not match:
            fail(f"not a sample line: {line!r}")
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in typed and family not in typed:
            fail(f"{name} has no TYPE line")
        samples[(name, labels)] = value
    return samples


def value(samples, name, labels=""):
    return samples.get((name, labels), 0.0)


def expect_delta(before, after, name, labels, delta):
    moved = value(after, name, labels) - value(before, name, labels)
    if moved != delta:
        fail(f"{name}{labels} moved by {moved}, expected {delta}")
    print(f"{name}{labels}: +{moved:g}")


before = scrape()
for gauge, labels in [("plantmon_db_pool_connections", '{pool="calls",state="idle"}'),
                      ("plantmon_db_pool_connections", '{pool="calls",state="in_use"}'),
                      ("plantmon_calls_in_flight", ""), ("plantmon_calls_waiting", ""),
                      ("plantmon_open_streams", "")]:
    if (gauge, labels) not in before:
        fail(f"no {gauge}{labels} in the first scrape")

channel = grpc.insecure_channel(f"127.0.0.1:{GRPC_PORT}")
users = user_pb2_grpc.UserServiceStub(channel)
users.CreateUser(user_pb2.CreateUserRequest(
    user=user_pb2.User(email="ops@example.com", username="ops"), password="watching-the-graphs"))
token = users.Login(user_pb2.LoginRequest(login="ops", password="watching-the-graphs")).access_token
auth = [("authorization", "Bearer " + token)]
for _ in range(3):
    users.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=auth)
plants = plant_pb2_grpc.PlantServiceStub(channel)
try:
    plants.GetPlant(plant_pb2.GetPlantRequest(id=999999), metadata=auth)
    fail("GetPlant of a plant that does not exist succeeded")
except grpc.RpcError as error:
    if error.code() != grpc.StatusCode.NOT_FOUND:
        fail(f"GetPlant of a plant that does not exist: {error.code()}")

# A plant with a sensor and a rule, then one batch whose readings break the
# rule, recover and break it again: an alert opens and resolves, another
# opens; the user acknowledges that one, then resolves everything.
devices = device_pb2_grpc.DeviceServiceStub(channel)
sensor = next(t for t in devices.ListDeviceTypes(device_pb2.ListDeviceTypesRequest(),
                                                 metadata=auth).device_types
              if t.name == "SNZB-02")
device = devices.CreateDevice(device_pb2.CreateDeviceRequest(device=device_pb2.Device(
    device_type_id=sensor.id, unique_identifier="ops-thermo", device_name="Ops")), metadata=auth)
species = plants.ListPlantTypes(plant_pb2.ListPlantTypesRequest(name="Pothos"), metadata=auth)
plant = plants.CreatePlant(plant_pb2.CreatePlantRequest(plant=plant_pb2.Plant(
    plant_type_id=species.plant_types[0].id, plant_name="Ops pothos")), metadata=auth)
plants.CreatePlantDeviceAssignment(plant_pb2.CreatePlantDeviceAssignmentRequest(
    plant_device_assignment=plant_pb2.PlantDeviceAssignment(
        plant_id=plant.id, device_id=device.id, assignment_type="temperature")), metadata=auth)
alerts = alert_pb2_grpc.AlertServiceStub(channel)
alerts.CreateAlertRule(alert_pb2.CreateAlertRuleRequest(alert_rule=alert_pb2.AlertRule(
    plant_id=plant.id, rule_name="Too hot", rule_type="threshold", parameter_name="temperature",
    condition_operator=">", threshold_value=30, is_active=True)), metadata=auth)
watch = alerts.WatchAlerts(alert_pb2.WatchAlertsRequest(), metadata=auth, timeout=30)
watch.initial_metadata()  # the watch is open
now = int(time.time())
batch = telemetry_pb2.UploadReadingsRequest(gateway_id="ops-gateway", sequence=1, readings=[
    telemetry_pb2.IncomingReading(device_id=device.id, measurement_value=v,
                                  timestamp={"seconds": now - 60 + i})
    for i, v in enumerate([21.0, 35.0, 22.0, 36.0])] + [
    telemetry_pb2.IncomingReading(unique_identifier="no-such-device", measurement_value=1.0,
                                  timestamp={"seconds": now - 10})])
ack = telemetry_pb2_grpc.TelemetryServiceStub(channel).UploadReadings(iter([batch]), metadata=auth)
if (ack.accepted_count, ack.rejected_count) != (4, 1):
    fail(f"upload: {ack}")
open_alerts = alerts.ListAlerts(alert_pb2.ListAlertsRequest(plant_id=plant.id, open_only=True),
                                metadata=auth).alerts
if len(open_alerts) != 1:
    fail(f"open alerts after the batch: {open_alerts}")
alerts.AcknowledgeAlert(alert_pb2.AcknowledgeAlertRequest(id=open_alerts[0].id), metadata=auth)
alerts.ResolveAlerts(alert_pb2.ResolveAlertsRequest(plant_id=plant.id), metadata=auth)
# The same batch again is a replay: stored nothing, counted nothing.
telemetry_pb2_grpc.TelemetryServiceStub(channel).UploadReadings(iter([batch]), metadata=auth)

after = scrape()
calls = "plantmon_rpc_calls_total"
expect_delta(before, after, calls, '{method="/plantmon.v1.UserService/GetCurrentUser",code="OK"}', 3)
expect_delta(before, after, calls, '{method="/plantmon.v1.PlantService/GetPlant",code="NOT_FOUND"}', 1)
expect_delta(before, after, calls, '{method="/plantmon.v1.TelemetryService/UploadReadings",code="OK"}', 2)
expect_delta(before, after, "plantmon_rpc_duration_seconds_count",
             '{method="/plantmon.v1.UserService/GetCurrentUser"}', 3)
inf = value(after, "plantmon_rpc_duration_seconds_bucket",
            '{method="/plantmon.v1.UserService/GetCurrentUser",le="+Inf"}')
if inf != value(after, "plantmon_rpc_duration_seconds_count",
                '{method="/plantmon.v1.UserService/GetCurrentUser"}'):
    fail("the +Inf bucket is not the count")
expect_delta(before, after, "plantmon_readings_ingested_total", "", 4)
expect_delta(before, after, "plantmon_readings_rejected_total", "", 1)
expect_delta(before, after, "plantmon_reading_batches_ingested_total", "", 1)
expect_delta(before, after, "plantmon_ingest_transactions_total", "", 1)
changes = "plantmon_alert_changes_total"
expect_delta(before, after, changes, '{change="opened",by="readings"}', 2)
expect_delta(before, after, changes, '{change="resolved",by="readings"}', 1)
expect_delta(before, after, changes, '{change="acknowledged",by="user"}', 1)
expect_delta(before, after, changes, '{change="resolved",by="user"}', 1)
# The uploads' streams give their slots back as the server finishes them,
# just after the client has its answer: wait for that.
deadline = time.monotonic() + 5
while value(after, "plantmon_open_streams") != 1:
    if time.monotonic() > deadline:
        fail(f"open streams with one watch open: {value(after, 'plantmon_open_streams')}")
    time.sleep(0.05)
    after = scrape()
watch.cancel()

try:
    urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/", timeout=10)
    fail("the metrics port served something other than /metrics")
except urllib.error.HTTPError as error:
    if error.code != 404:
        fail(f"/ on the metrics port answered {error.code}")
print("PASS (scenario)")
