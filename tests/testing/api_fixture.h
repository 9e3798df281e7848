#ifndef PLANTMON_TESTS_TESTING_API_FIXTURE_H_
#define PLANTMON_TESTS_TESTING_API_FIXTURE_H_

// A real server on port 0 over a fresh database, with real gRPC clients.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/server.h"
#include "tests/testing/test_database.h"

namespace plantmon::testing {

struct SignedInUser {
  v1::User user;
  std::string token;
};

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartSuite(/*access_log=*/true); }
  static void TearDownTestSuite();
  // Creates the database, starts the server and signs up admin_ (also used
  // by the handler fuzzer, which turns the access log off).
  static void StartSuite(bool access_log);
  // The same with options of the suite's own (say, webhook delivery on).
  static void StartSuite(bool access_log,
                         const std::function<void(services::ServerOptions&)>& adjust);
  // Stops the server and starts another on the same database and options.
  static void RestartServer();
  static void StopServer();

  // A context carrying `token` as `authorization: Bearer <token>`.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "");

  // Signs up `name` (name@example.com, password "password-<name>") and logs in.
  static SignedInUser SignUp(const std::string& name);
  // Signs up and grants administrator rights.
  static SignedInUser SignUpAdmin(const std::string& name);
  static std::string LoginToken(const std::string& login, const std::string& password);
  // True while `token` still signs its user in (not logged out, user not deleted).
  static bool TokenWorks(const std::string& token);

  // Catalogue entries made by an administrator, for tests of other resources.
  static v1::DeviceType MakeDeviceType(const std::string& name);
  // A sensor type that declares `measurements` (each with its own bounds,
  // or the catalogue's when it gives none), from a manufacturer of its own.
  static v1::DeviceType MakeDeviceTypeMeasuring(
      const std::string& name, const std::vector<v1::DeviceMeasurement>& measurements);
  // A measurement of `parameter`, bounded by [min, max] when given.
  static v1::DeviceMeasurement Measures(const std::string& parameter,
                                        std::optional<double> min = std::nullopt,
                                        std::optional<double> max = std::nullopt);
  static v1::PlantType MakePlantType(const std::string& name);
  static v1::Device MakeDevice(const SignedInUser& owner, int64_t device_type_id,
                               const std::string& unique_identifier);
  static v1::Plant MakePlant(const SignedInUser& owner, int64_t plant_type_id,
                             const std::string& name);
  // Assigns `device_id` to `plant_id` in `role` (soil_moisture, temperature, ...).
  static v1::PlantDeviceAssignment AssignDevice(const SignedInUser& owner, int64_t plant_id,
                                                int64_t device_id, const std::string& role);
  // A threshold rule "soil_moisture < `below`" named "Dry" on `plant_id`.
  static v1::AlertRule MakeDryRule(const SignedInUser& owner, int64_t plant_id, double below);
  // Sends `batch` on a StreamReadings stream of its own and returns its
  // acknowledgement; a test failure when the stream does not end OK.
  static v1::StreamReadingsResponse SendOneBatch(const SignedInUser& owner,
                                                 const v1::StreamReadingsRequest& batch);
  // Uploads `readings` as one UploadReadings batch and returns the answer; a
  // test failure when the call does not end OK.
  static v1::UploadReadingsResponse UploadOneBatch(
      const std::string& token, const std::vector<v1::IncomingReading>& readings);

  // Holds a device's row locked (FOR UPDATE) while it lives. A batch with
  // that device's readings waits in its COPY (the foreign key's check) once
  // it started storing (WaitForABlockedBatch), so that what its stream
  // sends meanwhile is read ahead and waits to be stored.
  class DeviceRowLock {
   public:
    explicit DeviceRowLock(int64_t device_id);
    void Release() { transaction_.commit(); }

   private:
    std::unique_ptr<pqxx::connection> connection_;
    pqxx::work transaction_;
  };
  // True once a batch waits on a lock in its COPY (within 10 s).
  static bool WaitForABlockedBatch();
  // How many transactions stored the device's readings.
  static int64_t TransactionsOf(int64_t device_id);
  // A counter or gauge sample of this process's metrics registry (the
  // server under test records into it), "name" or "name{labels}"; 0 before
  // it was first recorded (docs/operations.md).
  static double MetricSample(const std::string& name_and_labels);

  static TestDatabase* database_;
  static services::PlantmonServer* server_;
  static services::ServerOptions* options_;
  static std::shared_ptr<grpc::Channel> channel_;
  static std::unique_ptr<v1::UserService::Stub> users_;
  static std::unique_ptr<v1::DeviceService::Stub> devices_;
  static std::unique_ptr<v1::PlantService::Stub> plants_;
  static std::unique_ptr<v1::AlertService::Stub> alerts_;
  static std::unique_ptr<v1::TelemetryService::Stub> telemetry_;
  // An administrator signed up for the suite.
  static SignedInUser* admin_;
};

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_API_FIXTURE_H_
