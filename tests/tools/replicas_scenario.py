"""Two server processes on one database behind gRPC's client-side round_robin (issue 13).

Usage: replicas_scenario.py spread PORT_A PORT_B METRICS_A METRICS_B
       replicas_scenario.py survivor PORT_A PORT_B

spread: calls through one round_robin channel reach both servers (their metrics count
them); a watch on one server hears an alert that a batch sent through the other opened;
a logout through one ends the token on both. survivor: with server B stopped, every call
through the same kind of channel is answered by A.
"""

import re
import sys
import time
import urllib.request

import grpc

from plantmon.v1 import alert_pb2, alert_pb2_grpc
from plantmon.v1 import device_pb2, device_pb2_grpc
from plantmon.v1 import plant_pb2, plant_pb2_grpc
from plantmon.v1 import telemetry_pb2, telemetry_pb2_grpc
from plantmon.v1 import user_pb2, user_pb2_grpc

MODE = sys.argv[1]
PORT_A, PORT_B = int(sys.argv[2]), int(sys.argv[3])
CURRENT_USER = "/plantmon.v1.UserService/GetCurrentUser"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def round_robin_channel():
    # One target naming both servers; the client spreads calls over them.
    return grpc.insecure_channel(f"ipv4:127.0.0.1:{PORT_A},127.0.0.1:{PORT_B}",
                                 options=[("grpc.lb_policy_name", "round_robin")])


def calls_counted(metrics_port, method, code="OK"):
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    match = re.search(r'^plantmon_rpc_calls_total\{method="%s",code="%s"\} (\S+)$'
                      % (re.escape(method), code), text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def sign_in(users, name):
    users.CreateUser(user_pb2.CreateUserRequest(
        user=user_pb2.User(email=f"{name}@example.com", username=name), password="two-of-them"))
    token = users.Login(user_pb2.LoginRequest(login=name, password="two-of-them")).access_token
    return [("authorization", "Bearer " + token)]


def spread(metrics_a, metrics_b):
    channel = round_robin_channel()
    users = user_pb2_grpc.UserServiceStub(channel)
    auth = sign_in(users, "replicated")
    before = calls_counted(metrics_a, CURRENT_USER), calls_counted(metrics_b, CURRENT_USER)
    for _ in range(20):
        users.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=auth, timeout=10)
    after = calls_counted(metrics_a, CURRENT_USER), calls_counted(metrics_b, CURRENT_USER)
    on_a, on_b = after[0] - before[0], after[1] - before[1]
    print(f"20 calls through round_robin: {on_a:g} on server A, {on_b:g} on server B")
    if on_a + on_b != 20 or on_a < 5 or on_b < 5:
        fail("round_robin did not spread the calls over both servers")

    # A watch on A hears an alert opened by a batch sent to B.
    channel_a = grpc.insecure_channel(f"127.0.0.1:{PORT_A}")
    channel_b = grpc.insecure_channel(f"127.0.0.1:{PORT_B}")
    devices = device_pb2_grpc.DeviceServiceStub(channel)
    plants = plant_pb2_grpc.PlantServiceStub(channel)
    sensor = next(t for t in devices.ListDeviceTypes(device_pb2.ListDeviceTypesRequest(),
                                                     metadata=auth).device_types
                  if t.name == "SNZB-02")
    device = devices.CreateDevice(device_pb2.CreateDeviceRequest(device=device_pb2.Device(
        device_type_id=sensor.id, unique_identifier="replica-thermo", device_name="R")),
        metadata=auth)
    species = plants.ListPlantTypes(plant_pb2.ListPlantTypesRequest(name="Pothos"), metadata=auth)
    plant = plants.CreatePlant(plant_pb2.CreatePlantRequest(plant=plant_pb2.Plant(
        plant_type_id=species.plant_types[0].id, plant_name="Replicated pothos")), metadata=auth)
    plants.CreatePlantDeviceAssignment(plant_pb2.CreatePlantDeviceAssignmentRequest(
        plant_device_assignment=plant_pb2.PlantDeviceAssignment(
            plant_id=plant.id, device_id=device.id, assignment_type="temperature")),
        metadata=auth)
    alert_pb2_grpc.AlertServiceStub(channel).CreateAlertRule(alert_pb2.CreateAlertRuleRequest(
        alert_rule=alert_pb2.AlertRule(plant_id=plant.id, rule_name="Too hot",
                                       rule_type="threshold", parameter_name="temperature",
                                       condition_operator=">", threshold_value=30,
                                       is_active=True)), metadata=auth)
    watch = alert_pb2_grpc.AlertServiceStub(channel_a).WatchAlerts(
        alert_pb2.WatchAlertsRequest(), metadata=auth, timeout=20)
    watch.initial_metadata()
    batch = telemetry_pb2.UploadReadingsRequest(gateway_id="replica-gw", sequence=1, readings=[
        telemetry_pb2.IncomingReading(device_id=device.id, measurement_value=36.0,
                                      timestamp={"seconds": int(time.time()) - 5})])
    telemetry_pb2_grpc.TelemetryServiceStub(channel_b).UploadReadings(iter([batch]),
                                                                       metadata=auth)
    event = next(watch)
    if event.alert.plant_id != plant.id:
        fail(f"the watch on A heard {event}")
    watch.cancel()
    print("a watch on server A heard the alert a batch sent to server B opened")

    # A logout through A ends the token on B too, within a second.
    user_pb2_grpc.UserServiceStub(channel_a).Logout(user_pb2.LogoutRequest(), metadata=auth)
    deadline = time.monotonic() + 1.0
    stub_b = user_pb2_grpc.UserServiceStub(channel_b)
    while True:
        try:
            stub_b.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=auth, timeout=5)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                break
            raise
        if time.monotonic() > deadline:
            fail("a token logged out through A still worked on B after a second")
        time.sleep(0.02)
    for _ in range(10):
        try:
            users.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=auth, timeout=5)
            fail("a logged-out token worked through round_robin")
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                fail(f"a logged-out token through round_robin: {error.code()}")
    print("a logout through server A ended the token on both")


def survivor():
    channel = round_robin_channel()
    users = user_pb2_grpc.UserServiceStub(channel)
    auth = sign_in(users, "survivor")
    for _ in range(20):
        # wait_for_ready: a call picked before the client saw B go waits for A
        # rather than failing; none may fail.
        users.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=auth, timeout=10,
                             wait_for_ready=True)
    print("with server B stopped, 20 calls through round_robin were all answered by A")


if MODE == "spread":
    spread(int(sys.argv[4]), int(sys.argv[5]))
elif MODE == "survivor":
    survivor()
else:
    fail(f"unknown mode {MODE}")
