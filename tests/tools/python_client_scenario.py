"""A client in another language: stubs generated from proto/ at test time,
driving a live server through sign-up, login, a device, a plant, an
assignment, a reading, and the errors a Python caller would meet."""

import sys
import time

import grpc
from google.protobuf import field_mask_pb2

from plantmon.v1 import device_pb2, device_pb2_grpc
from plantmon.v1 import plant_pb2, plant_pb2_grpc
from plantmon.v1 import telemetry_pb2, telemetry_pb2_grpc
from plantmon.v1 import user_pb2, user_pb2_grpc


def expect_code(code, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except grpc.RpcError as error:
        assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
        return error
    raise AssertionError(f"expected {code}, the call succeeded")


def main(port):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    users = user_pb2_grpc.UserServiceStub(channel)
    devices = device_pb2_grpc.DeviceServiceStub(channel)
    plants = plant_pb2_grpc.PlantServiceStub(channel)
    telemetry = telemetry_pb2_grpc.TelemetryServiceStub(channel)

    created = users.CreateUser(user_pb2.CreateUserRequest(
        user=user_pb2.User(email="py@example.com", username="pythonista", first_name="Py"),
        password="snakes-and-ladders"))
    assert created.id > 0 and created.first_name == "Py"
    assert not created.HasField("last_name"), "unset optional fields stay unset"
    error = expect_code(grpc.StatusCode.ALREADY_EXISTS, users.CreateUser, user_pb2.CreateUserRequest(
        user=user_pb2.User(email="py@example.com", username="other"), password="snakes-and-ladders"))
    assert "email" in error.details()

    login = users.Login(user_pb2.LoginRequest(login="py@example.com", password="snakes-and-ladders"))
    auth = [("authorization", f"Bearer {login.access_token}")]
    assert users.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=auth).id == created.id
    expect_code(grpc.StatusCode.UNAUTHENTICATED, users.GetCurrentUser, user_pb2.GetCurrentUserRequest())

    types = devices.ListDeviceTypes(device_pb2.ListDeviceTypesRequest(), metadata=auth)
    sensor = next(t for t in types.device_types if t.name == "SNZB-02")
    assert [m.parameter_name for m in sensor.measurements] == \
        ["temperature", "humidity", "battery"], sensor.measurements
    device = devices.CreateDevice(device_pb2.CreateDeviceRequest(device=device_pb2.Device(
        device_type_id=sensor.id, unique_identifier="py-thermo-1", device_name="Py thermometer")),
        metadata=auth)
    species = plants.ListPlantTypes(plant_pb2.ListPlantTypesRequest(name="Pothos"), metadata=auth)
    plant = plants.CreatePlant(plant_pb2.CreatePlantRequest(plant=plant_pb2.Plant(
        plant_type_id=species.plant_types[0].id, plant_name="Desk pothos")), metadata=auth)
    plants.CreatePlantDeviceAssignment(plant_pb2.CreatePlantDeviceAssignmentRequest(
        plant_device_assignment=plant_pb2.PlantDeviceAssignment(
            plant_id=plant.id, device_id=device.id, assignment_type="temperature")), metadata=auth)

    now = int(time.time())
    reading = telemetry_pb2.SensorData(device_id=device.id, measurement_value=21.5, data_quality=98)
    reading.timestamp.seconds = now
    stored = telemetry.RecordReading(telemetry_pb2.RecordReadingRequest(sensor_data=reading),
                                     metadata=auth)
    assert stored.measurement_unit == "°C", stored.measurement_unit
    assert stored.parameter_name == "temperature", "unset: the type's primary measurement"
    listing = telemetry_pb2.ListSensorDataRequest(device_id=device.id)
    listing.start_time.seconds = now - 60
    listing.end_time.seconds = now + 60
    page = telemetry.ListSensorData(listing, metadata=auth)
    assert [r.measurement_value for r in page.sensor_data] == [21.5]

    # Uploads a client may retry carry an idempotency key (gateway_id and
    # sequence): the retry of a batch whose answer was lost stores nothing twice.
    def upload():
        batch = telemetry_pb2.UploadReadingsRequest(
            gateway_id="py-desk-client", sequence=1,
            readings=[telemetry_pb2.IncomingReading(device_id=device.id, measurement_value=22.0,
                                                    timestamp={"seconds": now - 30}),
                      telemetry_pb2.IncomingReading(device_id=device.id, measurement_value=48.0,
                                                    parameter_name="humidity",
                                                    timestamp={"seconds": now - 30})])
        return telemetry.UploadReadings(iter([batch]), metadata=auth)
    first, retry = upload(), upload()
    assert (first.accepted_count, retry.accepted_count, retry.duplicate_count) == (2, 0, 2), \
        (first, retry)
    page = telemetry.ListSensorData(listing, metadata=auth)
    assert sorted((r.parameter_name, r.measurement_value) for r in page.sensor_data) == \
        [("humidity", 48.0), ("temperature", 21.5), ("temperature", 22.0)], page

    update = plant_pb2.UpdatePlantRequest(plant=plant_pb2.Plant(id=plant.id, notes="Repotted"),
                                          update_mask=field_mask_pb2.FieldMask(paths=["notes"]))
    assert plants.UpdatePlant(update, metadata=auth).notes == "Repotted"
    bad_mask = plant_pb2.UpdatePlantRequest(plant=plant_pb2.Plant(id=plant.id),
                                            update_mask=field_mask_pb2.FieldMask(paths=["user_id"]))
    expect_code(grpc.StatusCode.INVALID_ARGUMENT, plants.UpdatePlant, bad_mask, metadata=auth)
    expect_code(grpc.StatusCode.NOT_FOUND, plants.GetPlant, plant_pb2.GetPlantRequest(id=999999),
                metadata=auth)
    expect_code(grpc.StatusCode.PERMISSION_DENIED, plants.CreatePlantType,
                plant_pb2.CreatePlantTypeRequest(plant_type=plant_pb2.PlantType(name="Py plant")),
                metadata=auth)
    print("python client scenario passed")


if __name__ == "__main__":
    main(int(sys.argv[1]))
